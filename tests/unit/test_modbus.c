/* Unit tests for the Modbus/TCP parser (src/proto/modbus.c).
 *
 * Streams are fed through qw_stream_deliver exactly as the engine does, into a recording sink;
 * decoded values are checked on the txn summary and on the rendered "modbus" JSON object. Byte
 * arrays follow the examples of the Modbus Application Protocol Specification V1.1b3 where it
 * has one (s.6.x), with an MBAP header in front. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_modbus;

#define PROTO qw_proto_modbus
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

/* ---- Spec example frames ------------------------------------------------------------------- */

/* FC 3, s.6.3: read holding registers 108-110 of unit 0x11 -> 555, 0, 100. */
static const uint8_t rd_hr_req[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11,
                                    0x03, 0x00, 0x6B, 0x00, 0x03};
static const uint8_t rd_hr_rsp[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x11, 0x03,
                                    0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64};

static void check_rd_hr_pair(const struct fx *f, size_t i)
{
    const struct qw_txn *t = txn_at(f, i);
    assert_true(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "read_holding_registers");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_false(t->error);
    JSON_HAS(f, i, "\"request\":{\"transaction_id\":1,\"unit_id\":17,\"function\":3,"
                   "\"function_name\":\"read_holding_registers\",\"address\":107,"
                   "\"quantity\":3}");
    JSON_HAS(f, i, "\"response\":{\"transaction_id\":1,\"unit_id\":17,\"function\":3,"
                   "\"function_name\":\"read_holding_registers\",\"byte_count\":6,"
                   "\"values\":[555,0,100]}");
}

/* ---- Decode paths -------------------------------------------------------------------------- */

static void test_read_holding_pair_and_latency(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 5000;
    FEED(f, C2S, rd_hr_req);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 7500;
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(txn_at(f, 0)->request_ns, 5000);
    assert_int_equal(txn_at(f, 0)->response_ns, 7500);
    assert_int_equal(f->rec.nanomalies, 0);
    /* Members of the modbus object only: the engine writes ops and latency itself. */
    JSON_LACKS(f, 0, "\"ops\"");
    JSON_LACKS(f, 0, "latency");
}

static void test_read_coils_bits(void **ts)
{
    struct fx *f = *ts;
    /* s.6.1: coils 20-38 -> CD 6B 05 */
    static const uint8_t req[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01,
                                  0x01, 0x00, 0x13, 0x00, 0x13};
    static const uint8_t rsp[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01,
                                  0x01, 0x03, 0xCD, 0x6B, 0x05};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read_coils");
    JSON_HAS(f, 0, "\"address\":19,\"quantity\":19}");
    /* 19 bits only: the padding bits of the last byte are not values. */
    JSON_HAS(f, 0, "\"byte_count\":3,\"values\":[true,false,true,true,false,false,true,true,"
                   "true,true,false,true,false,true,true,false,true,false,true]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_read_discrete_and_input_registers(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req2[] = {0, 2, 0, 0, 0, 6, 1, 0x02, 0x00, 0xC4, 0x00, 0x16};
    static const uint8_t rsp2[] = {0, 2, 0, 0, 0, 6, 1, 0x02, 0x03, 0xAC, 0xDB, 0x35};
    static const uint8_t req4[] = {0, 3, 0, 0, 0, 6, 1, 0x04, 0x00, 0x08, 0x00, 0x01};
    static const uint8_t rsp4[] = {0, 3, 0, 0, 0, 5, 1, 0x04, 0x02, 0x00, 0x0A};
    FEED(f, C2S, req2);
    FEED(f, S2C, rsp2);
    FEED(f, C2S, req4);
    FEED(f, S2C, rsp4);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "read_discrete_inputs");
    JSON_HAS(f, 0, "\"address\":196,\"quantity\":22");
    JSON_HAS(f, 0, "\"values\":[false,false,true,true,false,true,false,true,true,true,false,"
                   "true,true,false,true,true,true,false,true,false,true,true]");
    assert_string_equal(txn_at(f, 1)->function_name, "read_input_registers");
    JSON_HAS(f, 1, "\"values\":[10]");
}

static void test_write_single_coil_and_register(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t coil[] = {0, 9, 0, 0, 0, 6, 1, 0x05, 0x00, 0xAC, 0xFF, 0x00};
    static const uint8_t reg[] = {0, 10, 0, 0, 0, 6, 1, 0x06, 0x00, 0x01, 0x00, 0x03};
    FEED(f, C2S, coil);
    FEED(f, S2C, coil); /* the response is an echo */
    FEED(f, C2S, reg);
    FEED(f, S2C, reg);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "write_single_coil");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    JSON_HAS(f, 0, "\"request\":{\"transaction_id\":9,\"unit_id\":1,\"function\":5,"
                   "\"function_name\":\"write_single_coil\",\"address\":172,\"quantity\":1,"
                   "\"values\":[true]}");
    assert_string_equal(txn_at(f, 1)->function_name, "write_single_register");
    JSON_HAS(f, 1, "\"address\":1,\"quantity\":1,\"values\":[3]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_single_coil_invalid_value(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t coil[] = {0, 9, 0, 0, 0, 6, 1, 0x05, 0x00, 0xAC, 0x12, 0x34};
    FEED(f, C2S, coil);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_coil_value"), 1);
    JSON_HAS(f, 0, "\"raw_value\":4660");
    JSON_LACKS(f, 0, "\"values\"");
}

static void test_write_multiple_coils(void **ts)
{
    struct fx *f = *ts;
    /* s.6.11: 10 coils from 20: CD 01 */
    static const uint8_t req[] = {0, 4, 0, 0, 0, 9, 1, 0x0F, 0x00, 0x13, 0x00, 0x0A,
                                  0x02, 0xCD, 0x01};
    static const uint8_t rsp[] = {0, 4, 0, 0, 0, 6, 1, 0x0F, 0x00, 0x13, 0x00, 0x0A};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    JSON_HAS(f, 0, "\"address\":19,\"quantity\":10,\"byte_count\":2,\"values\":[true,false,"
                   "true,true,false,false,true,true,true,false]}");
    JSON_HAS(f, 0, "\"function_name\":\"write_multiple_coils\",\"address\":19,\"quantity\":10}}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_multiple_registers(void **ts)
{
    struct fx *f = *ts;
    /* s.6.12: registers 2-3 <- 0x000A 0x0102 */
    static const uint8_t req[] = {0, 5, 0, 0, 0, 11, 1, 0x10, 0x00, 0x01, 0x00, 0x02,
                                  0x04, 0x00, 0x0A, 0x01, 0x02};
    static const uint8_t rsp[] = {0, 5, 0, 0, 0, 6, 1, 0x10, 0x00, 0x01, 0x00, 0x02};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "write_multiple_registers");
    JSON_HAS(f, 0, "\"address\":1,\"quantity\":2,\"byte_count\":4,\"values\":[10,258]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_multiple_registers_bad_byte_count(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req[] = {0, 5, 0, 0, 0, 11, 1, 0x10, 0x00, 0x01, 0x00, 0x03,
                                  0x04, 0x00, 0x0A, 0x01, 0x02};
    FEED(f, C2S, req);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_byte_count"), 1);
    JSON_HAS(f, 0, "\"values\":[10,258]");
}

static void test_exception_response(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t exc[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x11, 0x83, 0x02};
    FEED(f, C2S, rd_hr_req);
    FEED(f, S2C, exc);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->error);
    assert_int_equal(t->function, 3); /* without the exception bit */
    assert_int_equal(t->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"response\":{\"transaction_id\":1,\"unit_id\":17,\"function\":3,"
                   "\"function_name\":\"read_holding_registers\",\"exception_code\":2,"
                   "\"exception_name\":\"illegal_data_address\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_exception_names(void **ts)
{
    struct fx *f = *ts;
    static const struct {
        uint8_t code;
        const char *name;
    } cases[] = {
        {1, "illegal_function"},       {2, "illegal_data_address"},
        {3, "illegal_data_value"},     {4, "server_device_failure"},
        {5, "acknowledge"},            {6, "server_device_busy"},
        {8, "memory_parity_error"},    {10, "gateway_path_unavailable"},
        {11, "gateway_target_device_failed_to_respond"}, {0x42, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[] = {0, (uint8_t)i, 0, 0, 0, 3, 1, 0x86, cases[i].code};
        FEED(f, S2C, b);
        char want[96];
        int w = snprintf(want, sizeof want, "\"exception_name\":\"%s\"", cases[i].name);
        assert_true(w > 0 && (size_t)w < sizeof want);
        JSON_HAS(f, i, want);
        assert_true(txn_at(f, i)->error);
        assert_false(txn_at(f, i)->has_request);
    }
}

static void test_diagnostics_subfunctions(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t restart[] = {0, 1, 0, 0, 0, 6, 1, 0x08, 0x00, 0x01, 0xFF, 0x00};
    static const uint8_t listen[] = {0, 2, 0, 0, 0, 6, 1, 0x08, 0x00, 0x04, 0x00, 0x00};
    static const uint8_t busmsg[] = {0, 3, 0, 0, 0, 6, 1, 0x08, 0x00, 0x0B, 0x01, 0x02};
    static const uint8_t unk[] = {0, 4, 0, 0, 0, 6, 1, 0x08, 0x00, 0x63, 0x00, 0x00};
    FEED(f, C2S, restart);
    FEED(f, S2C, restart);
    FEED(f, C2S, listen);
    FEED(f, C2S, busmsg);
    FEED(f, S2C, busmsg);
    FEED(f, C2S, unk);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    assert_string_equal(txn_at(f, 0)->function_name, "diagnostics");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_DIAGNOSTIC | QW_OP_RESTART);
    JSON_HAS(f, 0, "\"subfunction\":1,\"subfunction_name\":\"restart_communications_option\","
                   "\"data\":\"ff00\"");
    /* busmsg answered; listen (tid 2) and unk (tid 4) flushed at flow end, oldest first */
    JSON_HAS(f, 1, "\"subfunction\":11,\"subfunction_name\":\"return_bus_message_count\"");
    assert_true(txn_at(f, 1)->has_response);
    JSON_HAS(f, 2, "\"subfunction_name\":\"force_listen_only_mode\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_DIAGNOSTIC | QW_OP_CONFIG);
    JSON_HAS(f, 3, "\"subfunction\":99,\"subfunction_name\":\"unknown\"");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_DIAGNOSTIC);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_mask_write_register(void **ts)
{
    struct fx *f = *ts;
    /* s.6.16: register 5, AND 0x00F2, OR 0x0025 */
    static const uint8_t req[] = {0, 1, 0, 0, 0, 8, 1, 0x16, 0x00, 0x04,
                                  0x00, 0xF2, 0x00, 0x25};
    FEED(f, C2S, req);
    FEED(f, S2C, req);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "mask_write_register");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    JSON_HAS(f, 0, "\"address\":4,\"and_mask\":242,\"or_mask\":37}");
}

static void test_read_write_multiple_registers(void **ts)
{
    struct fx *f = *ts;
    /* s.6.17: read 6 from 4, write 3 from 15 <- 0x00FF x3 */
    static const uint8_t req[] = {0, 1, 0, 0, 0, 17, 1, 0x17, 0x00, 0x03, 0x00, 0x06, 0x00,
                                  0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF};
    static const uint8_t rsp[] = {0, 1, 0, 0, 0, 15, 1, 0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD,
                                  0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"read_address\":3,\"read_quantity\":6,\"write_address\":14,"
                   "\"write_quantity\":3,\"byte_count\":6,\"values\":[255,255,255]}");
    JSON_HAS(f, 0, "\"byte_count\":12,\"values\":[254,2765,1,3,13,255]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_read_fifo_queue(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req[] = {0, 1, 0, 0, 0, 4, 1, 0x18, 0x04, 0xDE};
    static const uint8_t rsp[] = {0, 1, 0, 0, 0, 10, 1, 0x18, 0x00, 0x06,
                                  0x00, 0x02, 0x01, 0xB8, 0x12, 0x84};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"function_name\":\"read_fifo_queue\",\"address\":1246}");
    JSON_HAS(f, 0, "\"byte_count\":6,\"fifo_count\":2,\"values\":[440,4740]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_file_records(void **ts)
{
    struct fx *f = *ts;
    /* s.6.14: two sub-requests (file 4 rec 1 len 2, file 3 rec 9 len 2) */
    static const uint8_t rd_req[] = {0, 1, 0, 0, 0, 17, 1, 0x14, 0x0E, 0x06, 0x00, 0x04, 0x00,
                                     0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02};
    static const uint8_t rd_rsp[] = {0, 1, 0, 0, 0, 15, 1, 0x14, 0x0C, 0x05, 0x06,
                                     0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00, 0x40};
    /* s.6.15: file 4 rec 7 <- 06AF 04BE 100D */
    static const uint8_t wr[] = {0, 2, 0, 0, 0, 16, 1, 0x15, 0x0D, 0x06, 0x00, 0x04, 0x00,
                                 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D};
    FEED(f, C2S, rd_req);
    FEED(f, S2C, rd_rsp);
    FEED(f, C2S, wr);
    FEED(f, S2C, wr);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_FILE);
    JSON_HAS(f, 0, "\"records\":[{\"file_number\":4,\"record_number\":1,\"record_length\":2},"
                   "{\"file_number\":3,\"record_number\":9,\"record_length\":2}]");
    JSON_HAS(f, 0, "\"records\":[{\"record_length\":2},{\"record_length\":2}],"
                   "\"values\":[3582,32,13261,64]");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE | QW_OP_FILE);
    JSON_HAS(f, 1, "\"records\":[{\"file_number\":4,\"record_number\":7,\"record_length\":3}],"
                   "\"values\":[1711,1214,4109]");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_event_counter_log_and_server_id(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t q11[] = {0, 1, 0, 0, 0, 2, 1, 0x0B};
    static const uint8_t r11[] = {0, 1, 0, 0, 0, 6, 1, 0x0B, 0xFF, 0xFF, 0x01, 0x08};
    static const uint8_t q12[] = {0, 2, 0, 0, 0, 2, 1, 0x0C};
    static const uint8_t r12[] = {0, 2, 0, 0, 0, 11, 1, 0x0C, 0x08, 0x00, 0x00,
                                  0x01, 0x08, 0x01, 0x21, 0x20, 0x00};
    static const uint8_t q17[] = {0, 3, 0, 0, 0, 2, 1, 0x11};
    static const uint8_t r17[] = {0, 3, 0, 0, 0, 6, 1, 0x11, 0x03, 0x2A, 0xFF, 0x41};
    FEED(f, C2S, q11);
    FEED(f, S2C, r11);
    FEED(f, C2S, q12);
    FEED(f, S2C, r12);
    FEED(f, C2S, q17);
    FEED(f, S2C, r17);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"function_name\":\"get_comm_event_counter\",\"status\":65535,"
                   "\"event_count\":264}");
    JSON_HAS(f, 1, "\"status\":0,\"event_count\":264,\"message_count\":289,\"byte_count\":8,"
                   "\"events\":\"2000\"}");
    assert_string_equal(txn_at(f, 2)->function_name, "report_server_id");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 2, "\"byte_count\":3,\"data\":\"2aff41\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* FC 43 / MEI 14 request for basic identification, and its response. */
static const uint8_t devid_req[] = {0x00, 0x21, 0x00, 0x00, 0x00, 0x05, 0xFF,
                                    0x2B, 0x0E, 0x01, 0x00};

static void test_read_device_identification(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rsp[] = {
        0x00, 0x21, 0x00, 0x00, 0x00, 0x3B, 0xFF, 0x2B, 0x0E, 0x01, 0x81, 0x00, 0x00, 0x05,
        0x00, 0x12, 'S', 'c', 'h', 'n', 'e', 'i', 'd', 'e', 'r', ' ', 'E', 'l', 'e', 'c',
        't', 'r', 'i', 'c', 0x01, 0x0C, 'B', 'M', 'X', ' ', 'P', '3', '4', ' ', '2', '0',
        '2', '0', 0x02, 0x04, 'v', '2', '.', '7', 0x04, 0x04, 'M', '3', '4', '0',
        0x05, 0x03, 'P', '3', '4'};
    FEED(f, C2S, devid_req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 43);
    assert_string_equal(t->function_name, "encapsulated_interface_transport");
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"request\":{\"transaction_id\":33,\"unit_id\":255,\"function\":43,"
                   "\"function_name\":\"encapsulated_interface_transport\",\"mei_type\":14,"
                   "\"mei_name\":\"read_device_identification\",\"read_device_id_code\":1,"
                   "\"object_id\":0}");
    JSON_HAS(f, 0, "\"read_device_id_code\":1,\"conformity_level\":129,\"more_follows\":false,"
                   "\"next_object_id\":0,\"number_of_objects\":5,\"objects\":["
                   "{\"id\":0,\"name\":\"vendor_name\",\"value\":\"Schneider Electric\"},"
                   "{\"id\":1,\"name\":\"product_code\",\"value\":\"BMX P34 2020\"},"
                   "{\"id\":2,\"name\":\"major_minor_revision\",\"value\":\"v2.7\"},"
                   "{\"id\":4,\"name\":\"product_name\",\"value\":\"M340\"},"
                   "{\"id\":5,\"name\":\"model_name\",\"value\":\"P34\"}]");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"), "Schneider Electric");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_code"), "BMX P34 2020");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "v2.7");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "P34");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_name"), "M340");
    assert_null(qw_record_identity(&f->rec, false, "vendor"));
}

static void test_device_id_model_falls_back_to_product_name(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rsp[] = {0x00, 0x21, 0x00, 0x00, 0x00, 0x13, 0xFF, 0x2B, 0x0E, 0x02,
                                  0x02, 0xFF, 0x80, 0x02, 0x04, 0x04, 'P', 'L', 'C', '1',
                                  0x80, 0x03, 'a', 'b', 'c'};
    FEED(f, C2S, devid_req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "PLC1");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_name"), "PLC1");
    assert_null(qw_record_identity(&f->rec, true, "vendor"));
    JSON_HAS(f, 0, "\"more_follows\":true,\"next_object_id\":128,\"number_of_objects\":2");
    JSON_HAS(f, 0, "{\"id\":128,\"name\":\"private\",\"value\":\"abc\"}");
}

static void test_canopen_mei(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req[] = {0, 1, 0, 0, 0, 6, 1, 0x2B, 0x0D, 0x01, 0x02, 0x03};
    FEED(f, C2S, req);
    flow_end(f);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"mei_type\":13,\"mei_name\":\"canopen_general_reference\","
                   "\"data\":\"010203\"");
}

static void test_umas(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t stop[] = {0, 1, 0, 0, 0, 4, 0, 0x5A, 0x01, 0x41};
    static const uint8_t stop_ok[] = {0, 1, 0, 0, 0, 4, 0, 0x5A, 0x01, 0xFE};
    static const uint8_t start[] = {0, 2, 0, 0, 0, 4, 0, 0x5A, 0x01, 0x40};
    static const uint8_t start_err[] = {0, 2, 0, 0, 0, 6, 0, 0x5A, 0x01, 0xFD, 0x01, 0x02};
    static const uint8_t dl[] = {0, 3, 0, 0, 0, 7, 0, 0x5A, 0x01, 0x34, 0xAA, 0xBB, 0xCC};
    static const uint8_t rdid[] = {0, 4, 0, 0, 0, 4, 0, 0x5A, 0x00, 0x02};
    static const uint8_t unk[] = {0, 5, 0, 0, 0, 4, 0, 0x5A, 0x00, 0x99};
    FEED(f, C2S, stop);
    FEED(f, S2C, stop_ok);
    FEED(f, C2S, start);
    FEED(f, S2C, start_err);
    FEED(f, C2S, dl);
    FEED(f, C2S, rdid);
    FEED(f, C2S, unk);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
    assert_string_equal(txn_at(f, 0)->function_name, "umas");
    assert_int_equal(txn_at(f, 0)->function, 90);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_STOP);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"umas_session_key\":1,\"subfunction\":65,\"subfunction_name\":\"stop_plc\"");
    JSON_HAS(f, 0, "\"umas_status\":254,\"umas_status_name\":\"ok\"");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_START);
    assert_true(txn_at(f, 1)->error);
    JSON_HAS(f, 1, "\"subfunction_name\":\"start_plc\"");
    JSON_HAS(f, 1, "\"umas_status\":253,\"umas_status_name\":\"error\",\"data\":\"0102\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 2, "\"subfunction_name\":\"download_block\",\"data\":\"aabbcc\"");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 3, "\"subfunction_name\":\"read_id\"");
    assert_int_equal(txn_at(f, 4)->ops, 0);
    JSON_HAS(f, 4, "\"subfunction\":153,\"subfunction_name\":\"unknown\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_umas_oversized_adu(void **ts)
{
    struct fx *f = *ts;
    /* Length 255: one byte past the spec bound, as real M340 UMAS traffic does. */
    uint8_t b[6 + 255] = {0, 7, 0, 0, 0, 0xFF, 0, 0x5A, 0x00, 0x0A};
    memset(b + 10, 0x54, sizeof b - 10);
    FEED(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.oversized_adu"), 1);
    JSON_HAS(f, 0, "\"subfunction_name\":\"repeat\"");
    JSON_HAS(f, 0, "\"data_truncated\":true");
}

static void test_unknown_function_not_anomaly(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req[] = {0, 1, 0, 0, 0, 4, 1, 0x41, 0x12, 0x34};
    static const uint8_t rsp[] = {0, 1, 0, 0, 0, 3, 1, 0xC1, 0x01};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(txn_at(f, 0)->function, 65);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    JSON_HAS(f, 0, "\"function\":65,\"function_name\":\"unknown\",\"data\":\"1234\"}");
    JSON_HAS(f, 0, "\"exception_name\":\"illegal_function\"");
}

static void test_truncated_pdu(void **ts)
{
    struct fx *f = *ts;
    /* FC 3 response claiming 6 bytes of values in a length that holds only 2 of them */
    static const uint8_t rsp[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x11, 0x03, 0x06,
                                  0x02, 0x2B};
    FEED(f, C2S, rd_hr_req);
    FEED(f, S2C, rsp);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.truncated_pdu"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"byte_count\":6,\"values\":[555],\"truncated\":true}");
    /* exception without its code */
    static const uint8_t exc[] = {0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x11, 0x83};
    FEED(f, S2C, exc);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.truncated_pdu"), 2);
    assert_true(txn_at(f, 1)->error);
    JSON_LACKS(f, 1, "exception_code"); /* never read: not shown as 0 */
    JSON_HAS(f, 1, "\"function_name\":\"read_holding_registers\",\"truncated\":true}");
    /* FC 43/14 response cut after the read device id code (corpus: a device echoing the
     * request, modbus-encapsulated-transport_fc43.pcap) */
    static const uint8_t devid_echo[] = {0x00, 0x21, 0x00, 0x00, 0x00, 0x05, 0xFF,
                                         0x2B, 0x0E, 0x01, 0x00};
    FEED(f, S2C, devid_echo);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.truncated_pdu"), 3);
    JSON_HAS(f, 2, "\"mei_type\":14,\"mei_name\":\"read_device_identification\","
                   "\"read_device_id_code\":1,\"truncated\":true}");
    JSON_LACKS(f, 2, "conformity_level");
    JSON_LACKS(f, 2, "objects");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_invalid_quantity(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t req[] = {0, 1, 0, 0, 0, 6, 1, 0x03, 0x00, 0x00, 0x00, 0x7E};
    FEED(f, C2S, req);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_quantity"), 1);
}

/* ---- Pairing and framing ------------------------------------------------------------------- */

static void test_two_adus_one_buffer(void **ts)
{
    struct fx *f = *ts;
    uint8_t reqs[2 * sizeof rd_hr_req], rsps[2 * sizeof rd_hr_rsp];
    memcpy(reqs, rd_hr_req, sizeof rd_hr_req);
    memcpy(reqs + sizeof rd_hr_req, rd_hr_req, sizeof rd_hr_req);
    reqs[sizeof rd_hr_req + 1] = 2; /* second transaction id */
    memcpy(rsps, rd_hr_rsp, sizeof rd_hr_rsp);
    memcpy(rsps + sizeof rd_hr_rsp, rd_hr_rsp, sizeof rd_hr_rsp);
    rsps[sizeof rd_hr_rsp + 1] = 2;
    FEED(f, C2S, reqs);
    assert_int_equal(f->pend[C2S].len, 0);
    FEED(f, S2C, rsps);
    assert_int_equal(f->rec.ntxns, 2);
    check_rd_hr_pair(f, 0);
    JSON_HAS(f, 1, "\"request\":{\"transaction_id\":2,");
    JSON_HAS(f, 1, "\"response\":{\"transaction_id\":2,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_pipelined_out_of_order(void **ts)
{
    struct fx *f = *ts;
    uint8_t r1[sizeof rd_hr_rsp], r2[sizeof rd_hr_rsp], q2[sizeof rd_hr_req];
    memcpy(q2, rd_hr_req, sizeof q2);
    q2[1] = 2;
    q2[8] = 0x01;
    q2[9] = 0x01; /* address 0x0101 */
    memcpy(r1, rd_hr_rsp, sizeof r1);
    memcpy(r2, rd_hr_rsp, sizeof r2);
    r2[1] = 2;
    f->ctx.ts_ns = 100;
    FEED(f, C2S, rd_hr_req);
    f->ctx.ts_ns = 200;
    FEED(f, C2S, q2);
    f->ctx.ts_ns = 300;
    FEED(f, S2C, r2);
    f->ctx.ts_ns = 400;
    FEED(f, S2C, r1);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"transaction_id\":2,\"unit_id\":17,\"function\":3,"
                   "\"function_name\":\"read_holding_registers\",\"address\":257");
    assert_int_equal(txn_at(f, 0)->request_ns, 200);
    assert_int_equal(txn_at(f, 0)->response_ns, 300);
    JSON_HAS(f, 1, "\"address\":107");
    assert_int_equal(txn_at(f, 1)->request_ns, 100);
    assert_int_equal(txn_at(f, 1)->response_ns, 400);
}

static void test_same_tid_other_unit_not_paired(void **ts)
{
    struct fx *f = *ts;
    uint8_t rsp[sizeof rd_hr_rsp];
    memcpy(rsp, rd_hr_rsp, sizeof rsp);
    rsp[6] = 0x12; /* other unit */
    FEED(f, C2S, rd_hr_req);
    FEED(f, S2C, rsp);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 0)->has_request);
    assert_true(txn_at(f, 1)->has_request);
    assert_false(txn_at(f, 1)->has_response);
}

static void test_split_in_two(void **ts)
{
    struct fx *f = *ts;
    feed(f, C2S, rd_hr_req, 5);
    feed(f, C2S, rd_hr_req + 5, sizeof rd_hr_req - 5);
    feed(f, S2C, rd_hr_rsp, 9);
    assert_int_equal(f->rec.ntxns, 0);
    feed(f, S2C, rd_hr_rsp + 9, sizeof rd_hr_rsp - 9);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_split_in_three(void **ts)
{
    struct fx *f = *ts;
    feed(f, C2S, rd_hr_req, 3);
    feed(f, C2S, rd_hr_req + 3, 4);
    feed(f, C2S, rd_hr_req + 7, sizeof rd_hr_req - 7);
    feed(f, S2C, rd_hr_rsp, 7);
    feed(f, S2C, rd_hr_rsp + 7, 1);
    assert_int_equal(f->rec.ntxns, 0);
    feed(f, S2C, rd_hr_rsp + 8, sizeof rd_hr_rsp - 8);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_byte_by_byte(void **ts)
{
    struct fx *f = *ts;
    for (size_t i = 0; i < sizeof rd_hr_req; i++) feed(f, C2S, rd_hr_req + i, 1);
    for (size_t i = 0; i < sizeof rd_hr_rsp; i++) {
        assert_int_equal(f->rec.ntxns, 0);
        feed(f, S2C, rd_hr_rsp + i, 1);
    }
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_adu_straddling_two_adus(void **ts)
{
    struct fx *f = *ts;
    /* second ADU split across the boundary of the first delivery */
    uint8_t two[2 * sizeof rd_hr_req];
    memcpy(two, rd_hr_req, sizeof rd_hr_req);
    memcpy(two + sizeof rd_hr_req, rd_hr_req, sizeof rd_hr_req);
    two[sizeof rd_hr_req + 1] = 2;
    feed(f, C2S, two, sizeof rd_hr_req + 5);
    feed(f, C2S, two + sizeof rd_hr_req + 5, sizeof two - sizeof rd_hr_req - 5);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"transaction_id\":2,");
}

static void test_invalid_length_resync(void **ts)
{
    struct fx *f = *ts;
    /* length 1 breaks the spec; garbage follows; then a valid request */
    uint8_t b[7 + 5 + sizeof rd_hr_req] = {0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0x11,
                                           0xDE, 0xAD, 0xBE, 0xEF, 0x42};
    memcpy(b + 12, rd_hr_req, sizeof rd_hr_req);
    FEED(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_length"), 1);
    assert_int_equal(f->pend[C2S].len, 0);
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(f->rec.nanomalies, 1);
}

static void test_invalid_length_resync_next_delivery(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t bad[] = {0x00, 0x09, 0x00, 0x00, 0x12, 0x34, 0x11, 0x03, 0x00};
    FEED(f, C2S, bad);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_length"), 1);
    FEED(f, C2S, rd_hr_req); /* a new segment starting with a valid header */
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_int_equal(f->rec.nanomalies, 1);
}

static void test_invalid_protocol_id(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[sizeof rd_hr_req * 2];
    memcpy(b, rd_hr_req, sizeof rd_hr_req);
    b[3] = 0x01; /* protocol id 1 */
    memcpy(b + sizeof rd_hr_req, rd_hr_req, sizeof rd_hr_req);
    FEED(f, C2S, b);
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.invalid_protocol_id"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
}

static void test_garbage_does_not_stall(void **ts)
{
    struct fx *f = *ts;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37u + 11u);
    junk[2] = 0x55;
    FEED(f, C2S, junk);
    FEED(f, C2S, junk);
    /* what is kept back is only a possible header, never the whole stream */
    assert_true(f->pend[C2S].len < 8);
    FEED(f, C2S, rd_hr_req);
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
}

static void test_gap_resyncs_without_anomaly(void **ts)
{
    struct fx *f = *ts;
    /* the tail of a lost request, then a full request */
    uint8_t b[4 + sizeof rd_hr_req] = {0x00, 0x6B, 0x00, 0x03};
    memcpy(b + 4, rd_hr_req, sizeof rd_hr_req);
    qw_proto_modbus.gap(&f->ctx, f->state, C2S);
    FEED(f, C2S, b);
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
}

static void test_gap_other_direction_untouched(void **ts)
{
    struct fx *f = *ts;
    feed(f, C2S, rd_hr_req, 5); /* partial request kept by the stream */
    qw_proto_modbus.gap(&f->ctx, f->state, S2C);
    feed(f, C2S, rd_hr_req + 5, sizeof rd_hr_req - 5);
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
}

static void test_queue_overflow(void **ts)
{
    struct fx *f = *ts;
    uint8_t q[sizeof rd_hr_req];
    memcpy(q, rd_hr_req, sizeof q);
    for (unsigned i = 0; i < 33; i++) {
        q[0] = 0;
        q[1] = (uint8_t)(100 + i);
        f->ctx.ts_ns = 1000 + i;
        FEED(f, C2S, q);
    }
    /* the 33rd request pushed out the oldest as unanswered */
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.request_queue_full"), 1);
    assert_true(txn_at(f, 0)->has_request);
    assert_false(txn_at(f, 0)->has_response);
    assert_int_equal(txn_at(f, 0)->request_ns, 1000);
    JSON_HAS(f, 0, "\"transaction_id\":100,");
    /* the rest still pair */
    uint8_t r[sizeof rd_hr_rsp];
    memcpy(r, rd_hr_rsp, sizeof r);
    r[1] = 132;
    FEED(f, S2C, r);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_request && txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"request\":{\"transaction_id\":132,");
    /* 31 outstanding now: one more fills the queue, the next evicts again (tid 101), but the
     * anomaly is raised once per flow */
    q[1] = 200;
    FEED(f, C2S, q);
    assert_int_equal(f->rec.ntxns, 2);
    q[1] = 201;
    FEED(f, C2S, q);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"transaction_id\":101,");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.request_queue_full"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3 + 32);
    JSON_HAS(f, 3, "\"transaction_id\":102,");
    JSON_HAS(f, 32, "\"transaction_id\":131,");
    JSON_HAS(f, 33, "\"transaction_id\":200,");
    JSON_HAS(f, 34, "\"transaction_id\":201,");
    for (size_t i = 2; i < f->rec.ntxns; i++) assert_false(txn_at(f, i)->has_response);
}

static void test_unanswered_flush_at_flow_end(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 42;
    FEED(f, C2S, rd_hr_req);
    assert_int_equal(f->rec.ntxns, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->request_ns, 42);
    assert_int_equal(t->response_ns, 0);
    JSON_HAS(f, 0, "{\"request\":{\"transaction_id\":1,");
    JSON_LACKS(f, 0, "\"response\"");
    flow_end(f); /* nothing left */
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_response_without_request(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 77;
    FEED(f, S2C, rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->request_ns, 0);
    assert_int_equal(t->response_ns, 77);
    assert_int_equal(t->function, 3);
    JSON_HAS(f, 0, "{\"response\":{\"transaction_id\":1,\"unit_id\":17,\"function\":3,"
                   "\"function_name\":\"read_holding_registers\",\"byte_count\":6,"
                   "\"values\":[555,0,100]}}");
}

static void test_exception_from_client_side_is_response(void **ts)
{
    struct fx *f = *ts;
    /* a PLC that opened the connection answers in the to-server direction */
    static const uint8_t exc[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x0A, 0x81, 0x06};
    FEED(f, C2S, exc);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_response);
    assert_false(txn_at(f, 0)->has_request);
    JSON_HAS(f, 0, "\"exception_name\":\"server_device_busy\"");
}

static void test_udp_datagrams(void **ts)
{
    struct fx *f = *ts;
    /* Modbus/UDP: the engine hands each datagram to parse() and keeps nothing */
    size_t used = qw_proto_modbus.parse(&f->ctx, f->state, C2S, rd_hr_req, sizeof rd_hr_req);
    assert_int_equal(used, sizeof rd_hr_req);
    used = qw_proto_modbus.parse(&f->ctx, f->state, S2C, rd_hr_rsp, sizeof rd_hr_rsp);
    assert_int_equal(used, sizeof rd_hr_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_rd_hr_pair(f, 0);
    assert_true(qw_proto_modbus.transports & QW_TRANSPORT_UDP);
}

static void test_values_capped(void **ts)
{
    struct fx *f = *ts;
    /* response-only FC 1 with 250 bytes of bits: 2000 coils, 125 shown */
    uint8_t b[9 + 250] = {0, 1, 0, 0, 0, 253, 1, 0x01, 250};
    memset(b + 9, 0xFF, 250);
    FEED(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const char *j = json_of(f, 0);
    size_t n = 0;
    for (const char *p = j; (p = strstr(p, "true")) != NULL; p += 4) n++;
    assert_int_equal(n, 125);
}

static void test_function_mismatch(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rsp[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x11, 0x04, 0x02,
                                  0x00, 0x01};
    FEED(f, C2S, rd_hr_req);
    FEED(f, S2C, rsp);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "modbus.function_mismatch"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"response\":{\"transaction_id\":1,\"unit_id\":17,\"function\":4,");
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_modbus.probe;
    assert_int_equal(probe(rd_hr_req, sizeof rd_hr_req, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(rd_hr_rsp, sizeof rd_hr_rsp, S2C), QW_PROBE_MATCH);
    /* a partial first ADU is enough once the function code is seen */
    assert_int_equal(probe(rd_hr_req, 8, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(rd_hr_req, 3, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(rd_hr_req, 7, C2S), QW_PROBE_NEED_MORE);

    static const char http[] = "GET / HTTP/1.1\r\nHost: plc\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const char text[] = "hello, this is not modbus at all";
    assert_int_equal(probe((const uint8_t *)text, sizeof text - 1, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03};
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);

    uint8_t b[sizeof rd_hr_req];
    memcpy(b, rd_hr_req, sizeof b);
    b[2] = 0x00;
    b[3] = 0x01; /* protocol id 1 */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    assert_int_equal(probe(b, 4, C2S), QW_PROBE_NO);
    memcpy(b, rd_hr_req, sizeof b);
    b[5] = 0x01; /* length 1 */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    b[4] = 0x10; /* length 0x1001 */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);

    /* exception: needs room for its code; a padded one (seen in the corpus) still matches */
    static const uint8_t exc[] = {0, 1, 0, 0, 0, 3, 1, 0x83, 0x02};
    assert_int_equal(probe(exc, sizeof exc, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(exc, sizeof exc, C2S), QW_PROBE_MATCH);
    static const uint8_t exc_long[] = {0, 1, 0, 0, 0, 4, 1, 0x83, 0x02, 0x00};
    assert_int_equal(probe(exc_long, sizeof exc_long, S2C), QW_PROBE_MATCH);
    static const uint8_t exc_short[] = {0, 1, 0, 0, 0, 2, 1, 0x83};
    assert_int_equal(probe(exc_short, sizeof exc_short, S2C), QW_PROBE_NO);

    /* function code 0 only on a whole ADU */
    static const uint8_t fc0[] = {0, 0, 0, 0, 0, 6, 1, 0x00, 0, 0, 0, 0};
    assert_int_equal(probe(fc0, sizeof fc0, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(fc0, 9, C2S), QW_PROBE_NEED_MORE);

    /* what follows a complete ADU must look like another header */
    uint8_t two[sizeof rd_hr_req + 6];
    memcpy(two, rd_hr_req, sizeof rd_hr_req);
    static const uint8_t text6[] = {'A', 'B', 'C', 'D', 'E', 'F'};
    memcpy(two + sizeof rd_hr_req, text6, sizeof text6);
    assert_int_equal(probe(two, sizeof two, C2S), QW_PROBE_NO);

    /* zero-filled buffers are not Modbus: length 0 */
    static const uint8_t zeros[16] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_modbus.name, "modbus");
    assert_true(qw_proto_modbus.transports & QW_TRANSPORT_TCP);
    assert_int_equal(qw_proto_modbus.ports[0], 502);
    assert_non_null(qw_proto_modbus.parse);
    assert_non_null(qw_proto_modbus.gap);
    assert_non_null(qw_proto_modbus.flow_end);
    assert_true(qw_proto_modbus.state_size > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_read_holding_pair_and_latency),
        FX_TEST(test_read_coils_bits),
        FX_TEST(test_read_discrete_and_input_registers),
        FX_TEST(test_write_single_coil_and_register),
        FX_TEST(test_write_single_coil_invalid_value),
        FX_TEST(test_write_multiple_coils),
        FX_TEST(test_write_multiple_registers),
        FX_TEST(test_write_multiple_registers_bad_byte_count),
        FX_TEST(test_exception_response),
        FX_TEST(test_exception_names),
        FX_TEST(test_diagnostics_subfunctions),
        FX_TEST(test_mask_write_register),
        FX_TEST(test_read_write_multiple_registers),
        FX_TEST(test_read_fifo_queue),
        FX_TEST(test_file_records),
        FX_TEST(test_event_counter_log_and_server_id),
        FX_TEST(test_read_device_identification),
        FX_TEST(test_device_id_model_falls_back_to_product_name),
        FX_TEST(test_canopen_mei),
        FX_TEST(test_umas),
        FX_TEST(test_umas_oversized_adu),
        FX_TEST(test_unknown_function_not_anomaly),
        FX_TEST(test_truncated_pdu),
        FX_TEST(test_invalid_quantity),
        FX_TEST(test_two_adus_one_buffer),
        FX_TEST(test_pipelined_out_of_order),
        FX_TEST(test_same_tid_other_unit_not_paired),
        FX_TEST(test_split_in_two),
        FX_TEST(test_split_in_three),
        FX_TEST(test_byte_by_byte),
        FX_TEST(test_adu_straddling_two_adus),
        FX_TEST(test_invalid_length_resync),
        FX_TEST(test_invalid_length_resync_next_delivery),
        FX_TEST(test_invalid_protocol_id),
        FX_TEST(test_garbage_does_not_stall),
        FX_TEST(test_gap_resyncs_without_anomaly),
        FX_TEST(test_gap_other_direction_untouched),
        FX_TEST(test_queue_overflow),
        FX_TEST(test_unanswered_flush_at_flow_end),
        FX_TEST(test_response_without_request),
        FX_TEST(test_exception_from_client_side_is_response),
        FX_TEST(test_udp_datagrams),
        FX_TEST(test_values_capped),
        FX_TEST(test_function_mismatch),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("modbus", tests, NULL, NULL);
}
