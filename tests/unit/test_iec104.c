/* Unit tests for the IEC 60870-5-104 parser (src/proto/iec104.c).
 *
 * Streams are fed through qw_stream_deliver exactly as the engine does, into a recording sink;
 * decoded values are checked on the txn summary and on the rendered "iec104" JSON object. APDUs
 * are built from the layouts of IEC 60870-5-104 s.5 and IEC 60870-5-101 s.7.3; several are the
 * bytes of the public captures in the corpus (the frame is named). */
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

extern const struct qw_proto qw_proto_iec104;
#define P qw_proto_iec104

/* One packet time for every delivery: the tests check exact latencies. */
#define PROTO P
#define FX_TS_STEP 0u
#include "parser_fixture.h"

/* An I-format APDU around `asdu` with send/receive sequence numbers ([104] s.5.1). */
static size_t mk_i(uint8_t *out, uint16_t ns, uint16_t nr, const uint8_t *asdu, size_t alen)
{
    out[0] = 0x68;
    out[1] = (uint8_t)(4 + alen);
    out[2] = (uint8_t)(ns << 1);
    out[3] = (uint8_t)(ns >> 7);
    out[4] = (uint8_t)(nr << 1);
    out[5] = (uint8_t)(nr >> 7);
    memcpy(out + 6, asdu, alen);
    return 6 + alen;
}

static void feed_i(struct fx *f, enum qw_dir dir, uint16_t ns, uint16_t nr, const uint8_t *asdu,
                   size_t alen)
{
    uint8_t b[260];
    size_t n = mk_i(b, ns, nr, asdu, alen);
    feed(f, dir, b, n);
}
#define FEED_I(f, dir, ns, nr, arr) feed_i((f), (dir), (ns), (nr), (arr), sizeof(arr))

/* ---- Frames -------------------------------------------------------------------------------- */

static const uint8_t startdt_act[] = {0x68, 0x04, 0x07, 0x00, 0x00, 0x00};
static const uint8_t startdt_con[] = {0x68, 0x04, 0x0B, 0x00, 0x00, 0x00};
static const uint8_t testfr_act[] = {0x68, 0x04, 0x43, 0x00, 0x00, 0x00};
static const uint8_t testfr_con[] = {0x68, 0x04, 0x83, 0x00, 0x00, 0x00};
static const uint8_t stopdt_act[] = {0x68, 0x04, 0x13, 0x00, 0x00, 0x00};
static const uint8_t s_frame[] = {0x68, 0x04, 0x01, 0x00, 0x9C, 0x00}; /* N(R) 78 */

/* C_IC_NA_1 act, CA 37133, IOA 0, QOI 20 (corpus iti_JavaRMI_and_IEC_Misc frame 10). */
static const uint8_t ic_act[] = {0x68, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x64, 0x01,
                                 0x06, 0x01, 0x0D, 0x91, 0x00, 0x00, 0x00, 0x14};
/* The same with cause 7 and 10 from the station (frames 14 and 22; N(S) of the termination
 * made 3 so that it follows the data below without a hole). */
static const uint8_t ic_con[] = {0x68, 0x0E, 0x02, 0x00, 0x02, 0x00, 0x64, 0x01,
                                 0x07, 0x01, 0x0D, 0x91, 0x00, 0x00, 0x00, 0x14};
static const uint8_t ic_term[] = {0x68, 0x0E, 0x06, 0x00, 0x02, 0x00, 0x64, 0x01,
                                  0x0A, 0x01, 0x0D, 0x91, 0x00, 0x00, 0x00, 0x14};
/* M_SP_NA_1, SQ=1, 10 objects from IOA 10010, cause 20 (frame 17). */
static const uint8_t sp_inrogen[] = {0x68, 0x17, 0x04, 0x00, 0x02, 0x00, 0x01, 0x8A, 0x14,
                                     0x01, 0x0D, 0x91, 0x1A, 0x27, 0x00, 0x00, 0x80, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

/* ---- U-format ------------------------------------------------------------------------------ */

static void test_startdt_pair_and_latency(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 5000000;
    FEED(f, C2S, startdt_act);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 7000000;
    FEED(f, S2C, startdt_con);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 257);
    assert_string_equal(t->function_name, "STARTDT");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_int_equal(t->request_ns, 5000000);
    assert_int_equal(t->response_ns, 7000000);
    assert_false(t->error);
    JSON_HAS(f, 0, "{\"request\":{\"apdu_length\":4,\"format\":\"U\",\"function\":257,"
                   "\"function_name\":\"STARTDT\",\"u_function\":\"STARTDT_act\"},"
                   "\"response\":{\"apdu_length\":4,\"format\":\"U\",\"function\":257,"
                   "\"function_name\":\"STARTDT\",\"u_function\":\"STARTDT_con\"}}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_testfr_from_server_side(void **ts)
{
    struct fx *f = *ts;
    FEED(f, S2C, testfr_act);
    FEED(f, C2S, testfr_con);
    FEED(f, C2S, stopdt_act);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "TESTFR");
    assert_true(txn_at(f, 0)->has_request && txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "\"u_function\":\"TESTFR_act\"");
    JSON_HAS(f, 0, "\"u_function\":\"TESTFR_con\"");
    /* STOPDT never confirmed: flushed at flow end as a request alone */
    assert_string_equal(txn_at(f, 1)->function_name, "STOPDT");
    assert_false(txn_at(f, 1)->has_response);
}

static void test_u_con_same_direction_not_paired(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, testfr_act);
    FEED(f, C2S, testfr_con); /* a station does not confirm its own act */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 0)->has_request);
    assert_true(txn_at(f, 0)->has_response);
    assert_true(txn_at(f, 1)->has_request);
    assert_false(txn_at(f, 1)->has_response);
}

static void test_u_invalid_function(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t two_bits[] = {0x68, 0x04, 0x47, 0x00, 0x00, 0x00};
    FEED(f, C2S, two_bits);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 260);
    JSON_HAS(f, 0, "\"function_name\":\"U_INVALID\",\"u_function\":\"invalid\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.invalid_control"), 1);
}

static void test_s_frame(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, s_frame);
    FEED(f, S2C, s_frame);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->function, 256);
    assert_int_equal(txn_at(f, 0)->ops, 0);
    JSON_HAS(f, 0, "{\"request\":{\"apdu_length\":4,\"format\":\"S\",\"recv_seq\":78,"
                   "\"function\":256,\"function_name\":\"S_FRAME\"}}");
    JSON_HAS(f, 1, "{\"response\":{\"apdu_length\":4,\"format\":\"S\",\"recv_seq\":78,");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Commands ------------------------------------------------------------------------------ */

static void test_interrogation_with_termination(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 1000;
    FEED(f, C2S, ic_act);
    f->ctx.ts_ns = 3000;
    FEED(f, S2C, ic_con);
    assert_int_equal(f->rec.ntxns, 0); /* waits for its termination */
    f->ctx.ts_ns = 4000;
    FEED(f, S2C, sp_inrogen);
    assert_int_equal(f->rec.ntxns, 1); /* interrogated data: its own record */
    const struct qw_txn *d = txn_at(f, 0);
    assert_false(d->has_request);
    assert_int_equal(d->function, 1);
    assert_int_equal(d->ops, 0);
    JSON_HAS(f, 0, "{\"response\":{\"apdu_length\":23,\"format\":\"I\",\"send_seq\":2,"
                   "\"recv_seq\":1,\"function\":1,\"function_name\":\"M_SP_NA_1\",\"sq\":true,"
                   "\"num_objects\":10,\"cot\":20,\"cot_name\":\"inrogen\",\"negative\":false,"
                   "\"test\":false,\"originator\":1,\"common_address\":37133,"
                   "\"ioa\":[10010,10011,10012,10013,10014,10015,10016,10017,10018,10019]}}");
    f->ctx.ts_ns = 9000;
    FEED(f, S2C, ic_term);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 1);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 100);
    assert_string_equal(t->function_name, "C_IC_NA_1");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_int_equal(t->request_ns, 1000);
    assert_int_equal(t->response_ns, 3000);
    assert_false(t->error);
    JSON_HAS(f, 1, "\"request\":{\"apdu_length\":14,\"format\":\"I\",\"send_seq\":0,"
                   "\"recv_seq\":0,\"function\":100,\"function_name\":\"C_IC_NA_1\","
                   "\"sq\":false,\"num_objects\":1,\"cot\":6,\"cot_name\":\"act\","
                   "\"negative\":false,\"test\":false,\"originator\":1,"
                   "\"common_address\":37133,\"ioa\":[0],\"qoi\":20,\"qoi_name\":\"station\"}");
    JSON_HAS(f, 1, "\"response\":{\"apdu_length\":14,\"format\":\"I\",\"send_seq\":1,");
    JSON_HAS(f, 1, "\"cot\":7,\"cot_name\":\"actcon\"");
    JSON_HAS(f, 1, "\"termination\":{\"apdu_length\":14,\"format\":\"I\",\"send_seq\":3,");
    JSON_HAS(f, 1, "\"cot\":10,\"cot_name\":\"actterm\"");
    JSON_HAS(f, 1, "\"termination_latency_us\":8"); /* 8000 ns */
    assert_int_equal(f->rec.nanomalies, 0);
}

/* C_SC_NA_1 on IOA 4500 of CA 3 (corpus iti_090813_diverse frames 25-33): SCO 0x81 select on,
 * then 0x01 execute on. */
static const uint8_t sc_sel[] = {0x2D, 0x01, 0x06, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x81};
static const uint8_t sc_sel_con[] = {0x2D, 0x01, 0x07, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x81};
static const uint8_t sc_exe[] = {0x2D, 0x01, 0x06, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x01};
static const uint8_t sc_exe_con[] = {0x2D, 0x01, 0x07, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x01};
static const uint8_t sc_exe_term[] = {0x2D, 0x01, 0x0A, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x01};

static void test_select_before_operate(void **ts)
{
    struct fx *f = *ts;
    FEED_I(f, C2S, 22, 81, sc_sel);
    FEED_I(f, S2C, 81, 23, sc_sel_con);
    assert_int_equal(f->rec.ntxns, 1); /* a select expects no termination */
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 45);
    assert_string_equal(t->function_name, "C_SC_NA_1");
    assert_int_equal(t->ops, QW_OP_CONTROL);
    JSON_HAS(f, 0, "\"common_address\":3,\"ioa\":[4500],\"command\":\"on\",\"qualifier\":0,"
                   "\"select\":true}");
    JSON_LACKS(f, 0, "termination");
    FEED_I(f, C2S, 23, 82, sc_exe);
    FEED_I(f, S2C, 82, 24, sc_exe_con);
    assert_int_equal(f->rec.ntxns, 1);
    FEED_I(f, S2C, 83, 24, sc_exe_term);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"command\":\"on\",\"qualifier\":0,\"select\":false}");
    JSON_HAS(f, 1, "\"termination\":{");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_CONTROL);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_double_command_negative_confirmation(void **ts)
{
    struct fx *f = *ts;
    /* C_DC_NA_1 select on IOA 15000, DCO 0x82 (corpus iti_TestDissectIec104 frames 117-118) */
    static const uint8_t act[] = {0x2E, 0x01, 0x06, 0x01, 0x0D, 0x91, 0x98, 0x3A, 0x00, 0x82};
    static const uint8_t neg[] = {0x2E, 0x01, 0x47, 0x01, 0x0D, 0x91, 0x98, 0x3A, 0x00, 0x82};
    FEED_I(f, C2S, 1, 5, act);
    FEED_I(f, S2C, 5, 2, neg);
    assert_int_equal(f->rec.ntxns, 1); /* negative: no termination awaited */
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->error);
    assert_true(t->has_request && t->has_response);
    JSON_HAS(f, 0, "\"cot\":7,\"cot_name\":\"actcon\",\"negative\":true");
    JSON_HAS(f, 0, "\"command\":\"on\",\"qualifier\":0,\"select\":true");
}

static void test_double_and_step_command_states(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t dc_off[] = {0x2E, 0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x05};
    static const uint8_t dc_bad[] = {0x2E, 0x01, 0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80};
    static const uint8_t rc_up[] = {0x2F, 0x01, 0x06, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0E};
    static const uint8_t rc_down[] = {0x2F, 0x01, 0x06, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x81};
    FEED_I(f, C2S, 0, 0, dc_off);
    FEED_I(f, C2S, 1, 0, dc_bad);
    FEED_I(f, C2S, 2, 0, rc_up);
    FEED_I(f, C2S, 3, 0, rc_down);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 0, "\"command\":\"off\",\"qualifier\":1,\"select\":false");  /* short pulse */
    JSON_HAS(f, 1, "\"command\":\"not_permitted\",\"qualifier\":0,\"select\":true");
    assert_string_equal(txn_at(f, 2)->function_name, "C_RC_NA_1");
    JSON_HAS(f, 2, "\"command\":\"higher\",\"qualifier\":3,\"select\":false");
    JSON_HAS(f, 3, "\"command\":\"lower\",\"qualifier\":0,\"select\":true");
}

static void test_setpoints(void **ts)
{
    struct fx *f = *ts;
    /* C_SE_NC_1 -43.5 select (corpus iti_090813_diverse frame 63), C_SE_NA_1 0.5 execute,
     * C_SE_NB_1 -1234 execute with QL 3, C_SE_TC_1 123.0 with a time tag, C_BO_NA_1 */
    static const uint8_t nc[] = {0x32, 0x01, 0x06, 0x00, 0x03, 0x00, 0x9C, 0x13, 0x00,
                                 0x00, 0x00, 0x2E, 0xC2, 0x80};
    static const uint8_t na[] = {0x30, 0x01, 0x06, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00,
                                 0x00, 0x40, 0x00};
    static const uint8_t nb[] = {0x31, 0x01, 0x06, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
                                 0x2E, 0xFB, 0x03};
    static const uint8_t tc[] = {0x3F, 0x01, 0x06, 0x00, 0x03, 0x00, 0x9D, 0x13, 0x00, 0x00,
                                 0x00, 0xF6, 0x42, 0x00, 0xE8, 0x03, 0x18, 0x13, 0x0D, 0x08, 0x09};
    static const uint8_t bo[] = {0x33, 0x01, 0x06, 0x00, 0x03, 0x00, 0x05, 0x00, 0x00,
                                 0x78, 0x56, 0x34, 0x12};
    FEED_I(f, C2S, 0, 0, nc);
    FEED_I(f, C2S, 1, 0, na);
    FEED_I(f, C2S, 2, 0, nb);
    FEED_I(f, C2S, 3, 0, tc);
    FEED_I(f, C2S, 4, 0, bo);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
    JSON_HAS(f, 0, "\"ioa\":[5020],\"setpoint\":-43.5,\"qualifier\":0,\"select\":true}");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_CONTROL | QW_OP_WRITE);
    JSON_HAS(f, 1, "\"setpoint\":0.5,\"qualifier\":0,\"select\":false}");
    JSON_HAS(f, 2, "\"setpoint\":-1234,\"qualifier\":3,\"select\":false}");
    JSON_HAS(f, 3, "\"setpoint\":123,\"qualifier\":0,\"select\":false,"
                   "\"time\":\"2009-08-13T19:24:01.000\"}");
    JSON_HAS(f, 4, "\"bitstring\":305419896}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_clock_sync_and_reset_process(void **ts)
{
    struct fx *f = *ts;
    /* C_CS_NA_1 act/con (corpus iti_TestDissectIec104 frames 139-140) */
    static const uint8_t cs_act[] = {0x67, 0x01, 0x06, 0x04, 0x0D, 0x91, 0x00, 0x00, 0x00,
                                     0xC8, 0x32, 0x39, 0x08, 0x1D, 0x08, 0x08};
    static const uint8_t cs_con[] = {0x67, 0x01, 0x07, 0x04, 0x0D, 0x91, 0x00, 0x00, 0x00,
                                     0xC8, 0x32, 0x39, 0x08, 0x1D, 0x08, 0x08};
    static const uint8_t rp_act[] = {0x69, 0x01, 0x06, 0x00, 0x0D, 0x91, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t rp_con[] = {0x69, 0x01, 0x07, 0x00, 0x0D, 0x91, 0x00, 0x00, 0x00, 0x01};
    FEED_I(f, C2S, 6, 11, cs_act);
    FEED_I(f, S2C, 11, 7, cs_con);
    FEED_I(f, C2S, 7, 12, rp_act);
    FEED_I(f, S2C, 12, 8, rp_con);
    assert_int_equal(f->rec.ntxns, 2); /* neither waits for a termination */
    assert_int_equal(txn_at(f, 0)->function, 103);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
    JSON_HAS(f, 0, "\"ioa\":[0],\"time\":\"2008-08-29T08:57:13.000\"}");
    assert_int_equal(txn_at(f, 1)->function, 105);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_RESTART);
    JSON_HAS(f, 1, "\"qrp\":1,\"qrp_name\":\"general_reset\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_counter_interrogation_and_parameters(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t ci[] = {0x65, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x45};
    static const uint8_t pme[] = {0x6E, 0x01, 0x06, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00,
                                  0x00, 0x20, 0x41};
    static const uint8_t pmc[] = {0x70, 0x01, 0x06, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00,
                                  0x00, 0x00, 0x20, 0x41, 0xC1};
    static const uint8_t pac[] = {0x71, 0x01, 0x06, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x03};
    FEED_I(f, C2S, 0, 0, ci);
    FEED_I(f, C2S, 1, 0, pme);
    FEED_I(f, C2S, 2, 0, pmc);
    FEED_I(f, C2S, 3, 0, pac);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    assert_string_equal(txn_at(f, 0)->function_name, "C_CI_NA_1");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"rqt\":5,\"frz\":1}");
    assert_string_equal(txn_at(f, 1)->function_name, "P_ME_NA_1");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_CONFIG);
    JSON_HAS(f, 1, "\"parameter\":0.25,\"kpa\":1,\"lpc\":true,\"pop\":false}");
    JSON_HAS(f, 2, "\"parameter\":10,\"kpa\":1,\"lpc\":true,\"pop\":true}");
    assert_string_equal(txn_at(f, 3)->function_name, "P_AC_NA_1");
    JSON_HAS(f, 3, "\"qpa\":3}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_read_pairs_with_requested_data(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rd[] = {0x66, 0x01, 0x05, 0x00, 0x07, 0x00, 0x3F, 0x9C, 0x00};
    static const uint8_t data[] = {0x0B, 0x01, 0x05, 0x00, 0x07, 0x00, 0x3F, 0x9C,
                                   0x00, 0x02, 0x00, 0x00};
    FEED_I(f, C2S, 0, 0, rd);
    FEED_I(f, S2C, 0, 1, data);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 102);
    assert_int_equal(t->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"function_name\":\"C_RD_NA_1\",\"sq\":false,\"num_objects\":1,\"cot\":5,"
                   "\"cot_name\":\"req\"");
    JSON_HAS(f, 0, "\"response\":{\"apdu_length\":16,\"format\":\"I\",\"send_seq\":0,"
                   "\"recv_seq\":1,\"function\":11,\"function_name\":\"M_ME_NB_1\"");
    JSON_HAS(f, 0, "\"ioa\":[39999]}}");
}

static void test_unknown_ioa_error(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t act[] = {0x2D, 0x01, 0x06, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x01};
    static const uint8_t err[] = {0x2D, 0x01, 0x6F, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x01};
    FEED_I(f, C2S, 0, 0, act);
    FEED_I(f, S2C, 0, 1, err);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"cot\":47,\"cot_name\":\"unknown_ioa\",\"negative\":true");
}

static void test_deactivation(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t act[] = {0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x15};
    static const uint8_t con[] = {0x64, 0x01, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x15};
    static const uint8_t deact[] = {0x64, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x15};
    static const uint8_t dcon[] = {0x64, 0x01, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x15};
    FEED_I(f, C2S, 0, 0, act);
    FEED_I(f, S2C, 0, 1, con);
    FEED_I(f, C2S, 1, 1, deact); /* the running interrogation is finished without termination */
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"qoi\":21,\"qoi_name\":\"group_1\"");
    JSON_LACKS(f, 0, "termination");
    FEED_I(f, S2C, 1, 2, dcon);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"cot\":8,\"cot_name\":\"deact\"");
    JSON_HAS(f, 1, "\"cot\":9,\"cot_name\":\"deactcon\"");
}

static void test_command_termination_timeout(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 1000000000ull;
    FEED_I(f, C2S, 0, 0, sc_exe);
    FEED_I(f, S2C, 0, 1, sc_exe_con);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns += 29000000000ull;
    FEED(f, C2S, s_frame);
    assert_int_equal(f->rec.ntxns, 1); /* the S-frame only */
    f->ctx.ts_ns += 2000000000ull;
    FEED(f, C2S, s_frame);
    assert_int_equal(f->rec.ntxns, 3); /* 30 s passed: the command is reported first */
    const struct qw_txn *t = txn_at(f, 1);
    assert_int_equal(t->function, 45);
    assert_true(t->has_request && t->has_response);
    JSON_LACKS(f, 1, "termination");
    /* a late termination is then a record of its own */
    FEED_I(f, S2C, 1, 1, sc_exe_term);
    assert_int_equal(f->rec.ntxns, 4);
    assert_false(txn_at(f, 3)->has_request);
    JSON_HAS(f, 3, "{\"response\":{");
}

static void test_unanswered_flush_at_flow_end(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 42;
    FEED(f, C2S, ic_act);
    assert_int_equal(f->rec.ntxns, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
    assert_false(txn_at(f, 0)->has_response);
    assert_int_equal(txn_at(f, 0)->request_ns, 42);
    JSON_LACKS(f, 0, "\"response\"");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_confirmation_without_request(void **ts)
{
    struct fx *f = *ts;
    FEED(f, S2C, ic_con);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    assert_true(txn_at(f, 0)->has_response);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    uint8_t act[] = {0x2D, 0x01, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    for (unsigned i = 0; i < 17; i++) {
        act[6] = (uint8_t)i; /* a different IOA each time */
        f->ctx.ts_ns = 100 + i;
        FEED_I(f, C2S, (uint16_t)i, 0, act);
    }
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.request_queue_full"), 1);
    JSON_HAS(f, 0, "\"ioa\":[0]");
    assert_int_equal(txn_at(f, 0)->request_ns, 100);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 17);
    JSON_HAS(f, 16, "\"ioa\":[16]");
}

/* ---- Monitor data -------------------------------------------------------------------------- */

static void test_spontaneous_multi_object(void **ts)
{
    struct fx *f = *ts;
    /* M_ME_NC_1, 2 objects, periodic (corpus iti_090813_diverse frame 1) */
    static const uint8_t b[] = {0x68, 0x1A, 0x9A, 0x00, 0x28, 0x00, 0x0D, 0x02, 0x01, 0x00,
                                0x03, 0x00, 0x14, 0x05, 0x00, 0x00, 0x00, 0xF0, 0x41, 0x00,
                                0x15, 0x05, 0x00, 0x00, 0x00, 0x31, 0x44, 0x00};
    FEED(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_int_equal(t->function, 13);
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "{\"response\":{\"apdu_length\":26,\"format\":\"I\",\"send_seq\":77,"
                   "\"recv_seq\":20,\"function\":13,\"function_name\":\"M_ME_NC_1\","
                   "\"sq\":false,\"num_objects\":2,\"cot\":1,\"cot_name\":\"percyc\","
                   "\"negative\":false,\"test\":false,\"originator\":0,\"common_address\":3,"
                   "\"ioa\":[1300,1301]}}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_end_of_initialisation(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t ei[] = {0x68, 0x0E, 0x00, 0x00, 0x02, 0x00, 0x46, 0x01, 0x04, 0x00,
                                 0x0D, 0x91, 0x00, 0x00, 0x00, 0x82};
    FEED(f, S2C, ei);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"cot\":4,\"cot_name\":\"init\"");
    JSON_HAS(f, 0, "\"coi\":2,\"coi_name\":\"remote_reset\",\"after_parameter_change\":true}");
}

static void test_time_tagged_and_file_types(void **ts)
{
    struct fx *f = *ts;
    /* M_SP_TB_1 (corpus iti_090813_diverse frame 89): only the address is listed */
    static const uint8_t sp_tb[] = {0x1E, 0x01, 0x03, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
                                    0x01, 0xAA, 0xC2, 0x29, 0x10, 0x8D, 0x08, 0x09};
    /* F_DR_TA_1 directory entry: NOF, LOF, SOF, CP56 */
    static const uint8_t dir[] = {0x7E, 0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x01, 0x00, 0x10, 0x00, 0x00, 0x20, 0x00, 0x00,
                                  0x0A, 0x0B, 0x01, 0x05, 0x18};
    /* F_SG_NA_1 segment of 3 octets */
    static const uint8_t seg[] = {0x7D, 0x01, 0x0D, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x01, 0x00, 0x01, 0x03, 0xAA, 0xBB, 0xCC};
    FEED_I(f, S2C, 0, 0, sp_tb);
    FEED_I(f, S2C, 1, 0, dir);
    FEED_I(f, S2C, 2, 0, seg);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"function_name\":\"M_SP_TB_1\"");
    JSON_HAS(f, 0, "\"ioa\":[2]}}");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_FILE);
    assert_false(txn_at(f, 1)->has_request);
    JSON_HAS(f, 1, "\"function_name\":\"F_DR_TA_1\"");
    assert_string_equal(txn_at(f, 2)->function_name, "F_SG_NA_1");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_unknown_type_not_anomaly(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t priv[] = {0xC8, 0x02, 0x03, 0x00, 0x05, 0x00, 0x10, 0x20, 0x00,
                                   0x01, 0x02, 0x03, 0x04, 0x05};
    FEED_I(f, S2C, 0, 0, priv);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 200);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    JSON_HAS(f, 0, "\"function\":200,\"function_name\":\"unknown\"");
    JSON_HAS(f, 0, "\"ioa\":[8208],\"objects_undecoded\":true}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_invalid_time_shown_raw(void **ts)
{
    struct fx *f = *ts;
    /* year 109 (years since 1900): corpus iti_090813_diverse frame 9 */
    static const uint8_t b[] = {0x68, 0x15, 0x28, 0x00, 0x9C, 0x00, 0x3A, 0x01, 0x06, 0x00,
                                0x03, 0x00, 0x95, 0x11, 0x00, 0x81, 0x08, 0x00, 0x17, 0x13,
                                0x0D, 0x08, 0x6D};
    FEED(f, C2S, b);
    flow_end(f);
    JSON_HAS(f, 0, "\"select\":true,\"time_raw\":\"080017130d086d\"}");
    JSON_LACKS(f, 0, "\"time\":");
}

/* ---- Malformed input ----------------------------------------------------------------------- */

static void test_truncated_asdu(void **ts)
{
    struct fx *f = *ts;
    /* three M_SP_NA_1 objects declared, two present */
    static const uint8_t b[] = {0x01, 0x03, 0x03, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01,
                                0x02, 0x00, 0x00, 0x00};
    FEED_I(f, S2C, 0, 0, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.truncated_asdu"), 1);
    JSON_HAS(f, 0, "\"num_objects\":3");
    JSON_HAS(f, 0, "\"ioa\":[1,2],\"truncated\":true}");
}

static void test_length_mismatch(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t b[] = {0x01, 0x01, 0x03, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01,
                                0xEE, 0xEE};
    FEED_I(f, S2C, 0, 0, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.asdu_length_mismatch"), 1);
    JSON_HAS(f, 0, "\"ioa\":[1]}");
}

static void test_short_asdu_and_invalid_cot(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t shorty[] = {0x2D, 0x01, 0x06};
    static const uint8_t cot0[] = {0x2D, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01};
    FEED_I(f, C2S, 0, 0, shorty);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.short_asdu"), 1);
    JSON_HAS(f, 0, "\"function\":45,\"function_name\":\"C_SC_NA_1\",\"truncated\":true}");
    JSON_LACKS(f, 0, "\"cot\"");
    FEED_I(f, C2S, 1, 0, cot0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.invalid_cot"), 1);
}

static void test_invalid_length_resync(void **ts)
{
    struct fx *f = *ts;
    /* length 2 breaks the spec; garbage; then STARTDT act */
    uint8_t b[2 + 3 + sizeof startdt_act] = {0x68, 0x02, 0xDE, 0xAD, 0x68};
    memcpy(b + 5, startdt_act, sizeof startdt_act);
    FEED(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.invalid_length"), 1);
    assert_int_equal(f->pend[C2S].len, 0);
    FEED(f, S2C, startdt_con);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "STARTDT");
    assert_true(txn_at(f, 0)->has_request);
    assert_int_equal(f->rec.nanomalies, 1);
}

static void test_garbage_before_apdu(void **ts)
{
    struct fx *f = *ts;
    /* corpus iti_TestDissectIec104: "05 05 05 05 05 68 03 15 15 15 15" then TESTFR act */
    static const uint8_t junk[] = {0x05, 0x05, 0x05, 0x05, 0x05, 0x68, 0x03,
                                   0x15, 0x15, 0x15, 0x15};
    FEED(f, C2S, startdt_act);
    FEED(f, C2S, junk);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.invalid_start"), 1);
    FEED(f, C2S, testfr_act);
    FEED(f, S2C, testfr_con);
    FEED(f, S2C, startdt_con);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "TESTFR");
    assert_string_equal(txn_at(f, 1)->function_name, "STARTDT");
}

static void test_garbage_does_not_stall(void **ts)
{
    struct fx *f = *ts;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37u + 11u);
    FEED(f, C2S, startdt_act);
    FEED(f, C2S, junk);
    FEED(f, C2S, junk);
    assert_true(f->pend[C2S].len < 256); /* at most one candidate APDU is kept back */
    FEED(f, S2C, startdt_con);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_gap_resyncs(void **ts)
{
    struct fx *f = *ts;
    /* the tail of a lost APDU, then a whole one */
    uint8_t b[4 + sizeof ic_act] = {0x00, 0x00, 0x00, 0x14};
    memcpy(b + 4, ic_act, sizeof ic_act);
    P.gap(&f->ctx, f->state, C2S);
    FEED(f, C2S, b);
    FEED(f, S2C, ic_con);
    FEED(f, S2C, sp_inrogen);
    FEED(f, S2C, ic_term);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 1)->function_name, "C_IC_NA_1");
}

static void test_unexpected_send_seq(void **ts)
{
    struct fx *f = *ts;
    FEED_I(f, S2C, 5, 0, sc_exe_con);
    FEED_I(f, S2C, 6, 0, sc_exe_con);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.unexpected_send_seq"), 0);
    FEED_I(f, S2C, 9, 0, sc_exe_con); /* 7 and 8 never came */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.unexpected_send_seq"), 1);
    P.gap(&f->ctx, f->state, S2C);
    FEED_I(f, S2C, 20, 0, sc_exe_con); /* after a gap, no expectation */
    FEED_I(f, S2C, 21, 0, sc_exe_con);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.unexpected_send_seq"), 1);
    P.gap(&f->ctx, f->state, S2C);
    FEED_I(f, S2C, 32767, 0, sc_exe_con);
    FEED_I(f, S2C, 0, 0, sc_exe_con); /* wraps at 2^15 */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.unexpected_send_seq"), 1);
}

static void test_s_and_u_wrong_length(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t s_long[] = {0x68, 0x05, 0x01, 0x00, 0x02, 0x00, 0xFF};
    FEED(f, C2S, s_long);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "iec104.invalid_apdu_length"), 1);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* A conversation: STARTDT, interrogation with data and termination, a select-before-operate
 * command, an S-frame. Fed whole per direction, then cut at every offset: the records must be
 * the same. */
struct convo {
    uint8_t c2s[512], s2c[512];
    size_t nc, ns;
};

static void build_convo(struct convo *cv)
{
    memset(cv, 0, sizeof *cv);
    memcpy(cv->c2s, startdt_act, 6);
    cv->nc = 6;
    memcpy(cv->c2s + cv->nc, ic_act, sizeof ic_act);
    cv->nc += sizeof ic_act;
    cv->nc += mk_i(cv->c2s + cv->nc, 1, 5, sc_sel, sizeof sc_sel);
    memcpy(cv->c2s + cv->nc, s_frame, sizeof s_frame);
    cv->nc += sizeof s_frame;
    memcpy(cv->s2c, startdt_con, 6);
    cv->ns = 6;
    memcpy(cv->s2c + cv->ns, ic_con, sizeof ic_con);
    cv->ns += sizeof ic_con;
    memcpy(cv->s2c + cv->ns, sp_inrogen, sizeof sp_inrogen);
    cv->ns += sizeof sp_inrogen;
    memcpy(cv->s2c + cv->ns, ic_term, sizeof ic_term);
    cv->ns += sizeof ic_term;
    cv->ns += mk_i(cv->s2c + cv->ns, 4, 2, sc_sel_con, sizeof sc_sel_con);
}

static void check_convo(const struct fx *f)
{
    assert_int_equal(f->rec.nanomalies, 0);
    assert_true(some_json_has(f, "\"termination\""));
    assert_true(some_json_has(f, "\"function_name\":\"STARTDT\""));
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    static struct convo cv;
    build_convo(&cv);
    const struct msg conv[] = {{C2S, cv.c2s, cv.nc}, {S2C, cv.s2c, cv.ns}};
    check_every_split_with(f, conv, 2, check_convo);
}

static void test_byte_by_byte(void **ts)
{
    struct fx *f = *ts;
    for (size_t i = 0; i < sizeof ic_act; i++) feed(f, C2S, ic_act + i, 1);
    for (size_t i = 0; i < sizeof ic_con; i++) feed(f, S2C, ic_con + i, 1);
    for (size_t i = 0; i < sizeof sp_inrogen; i++) feed(f, S2C, sp_inrogen + i, 1);
    for (size_t i = 0; i < sizeof ic_term; i++) {
        assert_int_equal(f->rec.ntxns, 1);
        feed(f, S2C, ic_term + i, 1);
    }
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"ioa\":[10010,10011,");
    JSON_HAS(f, 1, "\"termination\":{");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_several_apdus_one_chunk(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[sizeof ic_con + sizeof sp_inrogen + sizeof ic_term];
    memcpy(b, ic_con, sizeof ic_con);
    memcpy(b + sizeof ic_con, sp_inrogen, sizeof sp_inrogen);
    memcpy(b + sizeof ic_con + sizeof sp_inrogen, ic_term, sizeof ic_term);
    FEED(f, C2S, ic_act);
    FEED(f, S2C, b);
    assert_int_equal(f->pend[S2C].len, 0);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->function, 1);
    assert_int_equal(txn_at(f, 1)->function, 100);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = P.probe;
    assert_int_equal(probe(startdt_act, sizeof startdt_act, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(testfr_con, sizeof testfr_con, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(s_frame, sizeof s_frame, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(ic_act, sizeof ic_act, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(ic_act, 9, C2S), QW_PROBE_MATCH); /* header through the cause */
    assert_int_equal(probe(ic_act, 1, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(ic_act, 5, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(ic_act, 8, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(startdt_act, 3, C2S), QW_PROBE_NEED_MORE);
    /* refused as soon as the first control octet rules the format out */
    assert_int_equal(probe((const uint8_t *)"\x68\x04\x0F", 3, C2S), QW_PROBE_NO);
    assert_int_equal(probe((const uint8_t *)"\x68\x05\x07", 3, C2S), QW_PROBE_NO);
    assert_int_equal(probe((const uint8_t *)"\x68\x04\x00", 3, C2S), QW_PROBE_NO);

    static const char http[] = "GET / HTTP/1.1\r\nHost: rtu\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const char hello[] = "hello world, this is text";
    assert_int_equal(probe((const uint8_t *)hello, sizeof hello - 1, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03};
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11,
                                     0x03, 0x00, 0x6B, 0x00, 0x03};
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    static const uint8_t zeros[16] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    /* Java RMI opens with "JRMI" (0x4A 0x52 0x4D 0x49) */
    static const uint8_t jrmi[] = {0x4A, 0x52, 0x4D, 0x49, 0x00, 0x02, 0x4B};
    assert_int_equal(probe(jrmi, sizeof jrmi, C2S), QW_PROBE_NO);

    /* near misses */
    static const uint8_t len3[] = {0x68, 0x03, 0x07, 0x00, 0x00, 0x00};
    assert_int_equal(probe(len3, sizeof len3, C2S), QW_PROBE_NO);
    static const uint8_t u_two[] = {0x68, 0x04, 0x0F, 0x00, 0x00, 0x00};
    assert_int_equal(probe(u_two, sizeof u_two, C2S), QW_PROBE_NO);
    static const uint8_t u_nz[] = {0x68, 0x04, 0x07, 0x00, 0x01, 0x00};
    assert_int_equal(probe(u_nz, sizeof u_nz, C2S), QW_PROBE_NO);
    static const uint8_t u_long[] = {0x68, 0x05, 0x07, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(probe(u_long, sizeof u_long, C2S), QW_PROBE_NO);
    static const uint8_t s_bad[] = {0x68, 0x04, 0x01, 0x05, 0x00, 0x00};
    assert_int_equal(probe(s_bad, sizeof s_bad, C2S), QW_PROBE_NO);
    static const uint8_t i_short[] = {0x68, 0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01};
    assert_int_equal(probe(i_short, sizeof i_short, C2S), QW_PROBE_NO);
    uint8_t i_badtype[sizeof ic_act];
    memcpy(i_badtype, ic_act, sizeof ic_act);
    i_badtype[6] = 0x5A; /* type 90: reserved */
    assert_int_equal(probe(i_badtype, sizeof i_badtype, C2S), QW_PROBE_NO);
    uint8_t i_cot0[sizeof ic_act];
    memcpy(i_cot0, ic_act, sizeof ic_act);
    i_cot0[8] = 0x00;
    assert_int_equal(probe(i_cot0, sizeof i_cot0, C2S), QW_PROBE_NO);
    /* what follows a complete first APDU must start another */
    uint8_t two[sizeof startdt_act + 4];
    memcpy(two, startdt_act, sizeof startdt_act);
    memcpy(two + sizeof startdt_act, "ABCD", 4);
    assert_int_equal(probe(two, sizeof two, C2S), QW_PROBE_NO);
    uint8_t two_ok[2 * sizeof startdt_act];
    memcpy(two_ok, startdt_act, sizeof startdt_act);
    memcpy(two_ok + sizeof startdt_act, testfr_act, sizeof testfr_act);
    assert_int_equal(probe(two_ok, sizeof two_ok, C2S), QW_PROBE_MATCH);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(P.name, "iec104");
    assert_true(P.transports & QW_TRANSPORT_TCP);
    assert_int_equal(P.ports[0], 2404);
    assert_non_null(P.parse);
    assert_non_null(P.gap);
    assert_non_null(P.flow_end);
    assert_true(P.state_size > 0 && P.state_size < 16384);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_startdt_pair_and_latency),
        T(test_testfr_from_server_side),
        T(test_u_con_same_direction_not_paired),
        T(test_u_invalid_function),
        T(test_s_frame),
        T(test_interrogation_with_termination),
        T(test_select_before_operate),
        T(test_double_command_negative_confirmation),
        T(test_double_and_step_command_states),
        T(test_setpoints),
        T(test_clock_sync_and_reset_process),
        T(test_counter_interrogation_and_parameters),
        T(test_read_pairs_with_requested_data),
        T(test_unknown_ioa_error),
        T(test_deactivation),
        T(test_command_termination_timeout),
        T(test_unanswered_flush_at_flow_end),
        T(test_confirmation_without_request),
        T(test_queue_full),
        T(test_spontaneous_multi_object),
        T(test_end_of_initialisation),
        T(test_time_tagged_and_file_types),
        T(test_unknown_type_not_anomaly),
        T(test_invalid_time_shown_raw),
        T(test_truncated_asdu),
        T(test_length_mismatch),
        T(test_short_asdu_and_invalid_cot),
        T(test_invalid_length_resync),
        T(test_garbage_before_apdu),
        T(test_garbage_does_not_stall),
        T(test_gap_resyncs),
        T(test_unexpected_send_seq),
        T(test_s_and_u_wrong_length),
        T(test_split_at_every_offset),
        T(test_byte_by_byte),
        T(test_several_apdus_one_chunk),
        T(test_probe),
        T(test_descriptor),
    };
    return cmocka_run_group_tests_name("iec104", tests, NULL, NULL);
}
