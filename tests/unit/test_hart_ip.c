/* Unit tests for the HART-IP parser (src/proto/hart_ip.c).
 *
 * Streams are fed through qw_stream_deliver as the engine does (UDP through the datagram
 * callback), into a recording sink; decoded values are checked on the txn summary, the rendered
 * "hart_ip" JSON object and the identity facts. Messages are the bytes of the public captures in
 * the corpus where they exist (named), else built from HCF_SPEC-085/081/127 layouts. */
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

extern const struct qw_proto qw_proto_hart_ip;
#define P qw_proto_hart_ip
/* What garbage may leave pending: at most one candidate message (HIP_MSG_MAX). */
#define HIP_PEND_BOUND 8192

/* One packet time for every delivery: the tests check exact latencies. */
#define PROTO P
#define FX_TS_STEP 0u
#include "parser_fixture.h"

/* A token-passing message: header, then delimiter, address, command, byte count, body, and the
 * XOR check byte ([081]). `body` includes response code and status for ACK frames. */
static size_t mk_tp(uint8_t *out, uint8_t type, uint16_t seq, uint8_t delim, const uint8_t *addr,
                    size_t alen, uint8_t cmd, const uint8_t *body, size_t blen)
{
    size_t n = 8;
    out[n++] = delim;
    memcpy(out + n, addr, alen);
    n += alen;
    out[n++] = cmd;
    out[n++] = (uint8_t)blen;
    if (blen) memcpy(out + n, body, blen);
    n += blen;
    uint8_t x = 0;
    for (size_t i = 8; i < n; i++) x ^= out[i];
    out[n++] = x;
    out[0] = 1;
    out[1] = type;
    out[2] = 3;
    out[3] = 0;
    out[4] = (uint8_t)(seq >> 8);
    out[5] = (uint8_t)seq;
    out[6] = (uint8_t)(n >> 8);
    out[7] = (uint8_t)n;
    return n;
}

static const uint8_t long_addr[5] = {0xB9, 0xFD, 0x95, 0x26, 0x6F};

/* ---- Corpus messages ----------------------------------------------------------------------- */

/* icsnpp_hart-ip_all_messageIDs frames 4, 6, 8, 9, 16, 17 */
static const uint8_t sess_req[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0D,
                                   0x01, 0x00, 0x09, 0x27, 0xC0};
static const uint8_t sess_rsp[] = {0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0D,
                                   0x01, 0x00, 0x09, 0x27, 0xC0};
static const uint8_t ka_req[] = {0x01, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x08};
static const uint8_t ka_rsp[] = {0x01, 0x01, 0x02, 0x00, 0x00, 0x02, 0x00, 0x08};
static const uint8_t close_req[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x06, 0x00, 0x08};
static const uint8_t close_rsp[] = {0x01, 0x01, 0x01, 0x00, 0x00, 0x06, 0x00, 0x08};

/* icsnpp_hart-ip_publish_and_keepAlive frames 8 and 10: command 0 by polling address 0 */
static const uint8_t cmd0_req[] = {0x01, 0x00, 0x03, 0x00, 0x00, 0x01, 0x00, 0x0D,
                                   0x02, 0x80, 0x00, 0x00, 0x82};
static const uint8_t cmd0_rsp[] = {
    0x01, 0x01, 0x03, 0x00, 0x00, 0x01, 0x00, 0x25, 0x06, 0xC0, 0x00, 0x18, 0x00,
    0x10, 0xFE, 0xF9, 0xFD, 0x00, 0x07, 0x02, 0x32, 0x4E, 0x00, 0x95, 0x26, 0x6F,
    0x00, 0x03, 0x00, 0x01, 0x01, 0x00, 0xF9, 0x00, 0xF9, 0x41, 0xD3};
/* frames 12 and 14: command 20, read long tag */
static const uint8_t cmd20_req[] = {0x01, 0x00, 0x03, 0x00, 0x00, 0x02, 0x00, 0x11, 0x82,
                                    0xB9, 0xFD, 0x95, 0x26, 0x6F, 0x14, 0x00, 0x0E};
static const uint8_t cmd20_rsp[] = {
    0x01, 0x01, 0x03, 0x00, 0x00, 0x02, 0x00, 0x33, 0x86, 0xF9, 0xFD, 0x95, 0x26,
    0x6F, 0x14, 0x22, 0x00, 0x10, 0x62, 0x38, 0x2D, 0x32, 0x37, 0x2D, 0x65, 0x62,
    0x2D, 0x39, 0x35, 0x2D, 0x32, 0x36, 0x2D, 0x36, 0x66, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55};
/* icsnpp_hart-ip_all_messageIDs frames 12 and 13: direct PDU, command 54 */
static const uint8_t direct_req[] = {0x01, 0x00, 0x04, 0x00, 0x00, 0x04, 0x00, 0x0E,
                                     0x00, 0x00, 0x00, 0x36, 0x01, 0x00};
static const uint8_t direct_rsp[] = {
    0x01, 0x01, 0x04, 0x00, 0x00, 0x04, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x36, 0x1D, 0x00,
    0x00, 0x65, 0x43, 0x21, 0x4B, 0x46, 0xBB, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4E,
    0xFF, 0x40, 0x00, 0x43, 0x48, 0x00, 0x00, 0x00, 0xFA, 0x00, 0x00, 0x0C, 0x80, 0x00};

/* ---- Session messages ---------------------------------------------------------------------- */

static void test_session_initiate_pair(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 1000;
    FEED(f, C2S, sess_req);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 4000;
    FEED(f, S2C, sess_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "session_initiate");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_int_equal(t->request_ns, 1000);
    assert_int_equal(t->response_ns, 4000);
    assert_false(t->error);
    JSON_HAS(f, 0, "{\"request\":{\"version\":1,\"message_type\":0,\"message_type_name\":"
                   "\"request\",\"function\":0,\"function_name\":\"session_initiate\","
                   "\"status\":0,\"sequence_number\":1,\"byte_count\":13,\"host_type\":1,"
                   "\"host_type_name\":\"primary\",\"inactivity_close_timer_ms\":600000},");
    JSON_HAS(f, 0, "\"response\":{\"version\":1,\"message_type\":1,\"message_type_name\":"
                   "\"response\",\"function\":0,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_keep_alive_and_close(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, ka_req);
    FEED(f, S2C, ka_rsp);
    FEED(f, C2S, close_req);
    FEED(f, S2C, close_rsp);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "keep_alive");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"function\":2,\"function_name\":\"keep_alive\",\"status\":0,"
                   "\"sequence_number\":2,\"byte_count\":8}");
    assert_string_equal(txn_at(f, 1)->function_name, "session_close");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Token-passing PDUs -------------------------------------------------------------------- */

static void test_command0_identity(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, cmd0_req);
    FEED(f, S2C, cmd0_rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "token_passing_pdu");
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"byte_count\":13,\"delimiter\":2,\"frame_type\":\"STX\","
                   "\"polling_address\":0,\"primary_master\":true,\"burst_mode\":false,"
                   "\"command\":0,\"command_name\":\"read_unique_identifier\","
                   "\"command_byte_count\":0,\"checksum_valid\":true}");
    JSON_HAS(f, 0, "\"delimiter\":6,\"frame_type\":\"ACK\",\"polling_address\":0,"
                   "\"primary_master\":true,\"burst_mode\":true,\"command\":0,"
                   "\"command_name\":\"read_unique_identifier\",\"command_byte_count\":24,"
                   "\"response_code\":0,\"response_class\":\"success\",\"device_status\":16,"
                   "\"device_status_flags\":[\"more_status_available\"],"
                   "\"expanded_device_type\":63997,\"manufacturer_id\":249,"
                   "\"private_label\":249,\"device_id\":\"95266f\",\"universal_revision\":7,"
                   "\"device_revision\":2,\"software_revision\":50,\"hardware_revision\":9,"
                   "\"physical_signaling\":6,\"flags\":0,\"configuration_change_counter\":1,"
                   "\"device_profile\":65,\"checksum_valid\":true}");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor_id"), "249");
    assert_string_equal(qw_record_identity(&f->rec, true, "device_type"), "63997");
    assert_string_equal(qw_record_identity(&f->rec, true, "serial"), "9774703");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "50");
    assert_string_equal(qw_record_identity(&f->rec, true, "hardware"), "9");
    assert_null(qw_record_identity(&f->rec, false, "serial"));
}

static void test_long_tag_identity(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, cmd20_req);
    FEED(f, S2C, cmd20_rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"address\":\"39fd95266f\",\"primary_master\":true,\"burst_mode\":false,"
                   "\"command\":20,\"command_name\":\"read_long_tag\"");
    JSON_HAS(f, 0, "\"long_tag\":\"b8-27-eb-95-26-6f\",\"checksum_valid\":true}");
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "b8-27-eb-95-26-6f");
}

/* Packed ASCII "FT-101  " / "FLOW TRANSMIT   " ([127]): 4 characters per 3 octets. */
static size_t pack(const char *s, uint8_t *out)
{
    size_t n = strlen(s), k = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) w = w << 6 | ((uint8_t)s[i + j] & 0x3Fu);
        out[k++] = (uint8_t)(w >> 16);
        out[k++] = (uint8_t)(w >> 8);
        out[k++] = (uint8_t)w;
    }
    return k;
}

static void test_tag_descriptor_date_read_and_write(void **ts)
{
    struct fx *f = *ts;
    uint8_t body[2 + 21], req[64], rsp[64], wr[64], wrsp[64];
    body[0] = 0;    /* response code */
    body[1] = 0x40; /* configuration changed */
    pack("FT-101  ", body + 2);
    pack("FLOW TRANSMIT   ", body + 8);
    body[20] = 15;  /* day */
    body[21] = 3;   /* month */
    body[22] = 124; /* 2024 */
    size_t nq = mk_tp(req, 0, 7, 0x82, long_addr, 5, 13, NULL, 0);
    size_t ns = mk_tp(rsp, 1, 7, 0x86, long_addr, 5, 13, body, sizeof body);
    size_t nw = mk_tp(wr, 0, 8, 0x82, long_addr, 5, 18, body + 2, 21);
    uint8_t ok[2] = {0, 0};
    size_t nwr = mk_tp(wrsp, 1, 8, 0x86, long_addr, 5, 18, ok, 2);
    feed(f, C2S, req, nq);
    feed(f, S2C, rsp, ns);
    feed(f, C2S, wr, nw);
    feed(f, S2C, wrsp, nwr);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"device_status\":64,\"device_status_flags\":[\"configuration_changed\"],"
                   "\"tag\":\"FT-101\",\"descriptor\":\"FLOW TRANSMIT\",\"date\":\"2024-03-15\"");
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "FT-101");
    assert_string_equal(txn_at(f, 1)->function_name, "token_passing_pdu");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE | QW_OP_CONFIG);
    JSON_HAS(f, 1, "\"command\":18,\"command_name\":\"write_tag_descriptor_date\","
                   "\"command_byte_count\":21,\"tag\":\"FT-101\",\"descriptor\":\"FLOW TRANSMIT\"");
}

static void test_reset_and_polling_address(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[64];
    size_t n = mk_tp(b, 0, 9, 0x82, long_addr, 5, 42, NULL, 0);
    feed(f, C2S, b, n);
    uint8_t pa[2] = {5, 1};
    n = mk_tp(b, 0, 10, 0x82, long_addr, 5, 6, pa, 2);
    feed(f, C2S, b, n);
    uint8_t pv[7] = {0, 0, 0x07, 0x42, 0x28, 0x00, 0x00}; /* rc, status, units 7, 42.0 */
    n = mk_tp(b, 1, 11, 0x86, long_addr, 5, 1, pv, sizeof pv);
    feed(f, S2C, b, n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_RESTART);
    JSON_HAS(f, 1, "\"command\":42,\"command_name\":\"perform_device_reset\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE | QW_OP_CONFIG);
    JSON_HAS(f, 2, "\"command\":6,\"command_name\":\"write_polling_address\","
                   "\"command_byte_count\":2,\"polling_address\":5,\"loop_current_mode\":1");
    /* an answer without its request (sequence 11) came first */
    assert_false(txn_at(f, 0)->has_request);
    JSON_HAS(f, 0, "\"command\":1,\"command_name\":\"read_primary_variable\"");
    JSON_HAS(f, 0, "\"pv_units\":7,\"pv\":42,");
}

static void test_extended_command_and_bad_checksum(void **ts)
{
    struct fx *f = *ts;
    /* icsnpp_hart-ip_publish_and_keepAlive frames 103 and 105: command 31 carrying 543; the
     * answer's check byte is 0 where the XOR is 0x4a */
    static const uint8_t req[] = {0x01, 0x00, 0x03, 0x00, 0x00, 0x10, 0x00, 0x13, 0x82, 0xB9,
                                  0xFD, 0x95, 0x26, 0x6F, 0x1F, 0x02, 0x02, 0x1F, 0x1A};
    uint8_t rsp[87] = {0x01, 0x01, 0x03, 0x00, 0x00, 0x10, 0x00, 0x57, 0x86, 0xB9, 0xFD,
                       0x95, 0x26, 0x6F, 0x1F, 0x46, 0x00, 0x10, 0x02, 0x1F, 0x02, 0x02};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.bad_checksum"), 1);
    JSON_HAS(f, 0, "\"command\":543,\"command_name\":\"read_syslog_server_hostname_and_port\","
                   "\"extended_command\":true,\"command_byte_count\":2,\"checksum_valid\":true}");
    JSON_HAS(f, 0, "\"extended_command\":true,\"command_byte_count\":70,\"response_code\":0,");
    JSON_HAS(f, 0, "\"checksum_valid\":false}");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
}

static void test_response_codes(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[64];
    static const struct {
        uint8_t rc;
        bool error;
        const char *cls;
    } cases[] = {{2, true, "error"},     {8, false, "warning"}, {0x84, true, "communication_error"},
                 {64, true, "error"},    {31, false, "warning"}, {0, false, "success"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t body[2] = {cases[i].rc, 0};
        size_t n = mk_tp(b, 1, (uint16_t)(100 + i), 0x86, long_addr, 5, 35, body, 2);
        feed(f, S2C, b, n);
        assert_int_equal(txn_at(f, i)->error, cases[i].error);
        char want[64];
        snprintf(want, sizeof want, "\"response_class\":\"%s\"", cases[i].cls);
        JSON_HAS(f, i, want);
    }
    /* a communication error carries no device status flags */
    JSON_LACKS(f, 2, "device_status_flags");
}

static void test_error_and_nak_messages(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t err[] = {0x01, 0x03, 0x00, 0x0F, 0x00, 0x01, 0x00, 0x08};
    static const uint8_t nak[] = {0x01, 0x0F, 0x02, 0x00, 0x00, 0x02, 0x00, 0x08};
    FEED(f, C2S, sess_req);
    FEED(f, S2C, err); /* all sessions in use */
    FEED(f, C2S, ka_req);
    FEED(f, S2C, nak);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 0)->error);
    assert_true(txn_at(f, 0)->has_request);
    JSON_HAS(f, 0, "\"message_type\":3,\"message_type_name\":\"error\",\"function\":0,"
                   "\"function_name\":\"session_initiate\",\"status\":15,");
    assert_true(txn_at(f, 1)->error);
    JSON_HAS(f, 1, "\"message_type\":15,\"message_type_name\":\"nak\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_publish(void **ts)
{
    struct fx *f = *ts;
    /* icsnpp_hart-ip_publish_and_keepAlive frame 56: burst command 9 */
    static const uint8_t pub[] = {
        0x01, 0x02, 0x03, 0x00, 0x00, 0x01, 0x00, 0x30, 0x81, 0x40, 0xFD, 0x95, 0x26, 0x6F,
        0x09, 0x1F, 0x00, 0x10, 0x01, 0x00, 0x00, 0x4B, 0x46, 0x38, 0x6E, 0x3D, 0xC0, 0x01,
        0x00, 0x27, 0x42, 0xA7, 0xF4, 0x2C, 0x40, 0x02, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xA3, 0x9F, 0x5E, 0xC2, 0x85};
    FEED(f, S2C, pub);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "{\"response\":{\"version\":1,\"message_type\":2,\"message_type_name\":"
                   "\"publish\",\"function\":3,");
    JSON_HAS(f, 0, "\"frame_type\":\"BACK\",\"address\":\"00fd95266f\",\"primary_master\":"
                   "false,\"burst_mode\":true,\"command\":9,");
}

/* ---- Direct PDU and audit log -------------------------------------------------------------- */

static void test_direct_pdu(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, direct_req);
    FEED(f, S2C, direct_rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 4);
    assert_string_equal(txn_at(f, 0)->function_name, "direct_pdu");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"byte_count\":14,\"device_status\":0,\"extended_device_status\":0,"
                   "\"commands\":[{\"command\":54,\"command_name\":"
                   "\"read_device_variable_information\",\"command_byte_count\":1,"
                   "\"data\":\"00\"}]}");
    JSON_HAS(f, 0, "\"commands\":[{\"command\":54,\"command_name\":"
                   "\"read_device_variable_information\",\"command_byte_count\":29,"
                   "\"response_code\":0,\"response_class\":\"success\",\"data\":\"006543");
}

static void test_direct_pdu_several_commands(void **ts)
{
    struct fx *f = *ts;
    /* commands 42 (reset) and 38 (reset configuration changed flag) in one request */
    static const uint8_t req[] = {0x01, 0x00, 0x04, 0x00, 0x00, 0x09, 0x00, 0x10,
                                  0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x26, 0x00};
    FEED(f, C2S, req);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_RESTART | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"commands\":[{\"command\":42,\"command_name\":\"perform_device_reset\","
                   "\"command_byte_count\":0},{\"command\":38,\"command_name\":"
                   "\"reset_configuration_changed_flag\",\"command_byte_count\":0}]");
}

static void test_read_audit_log(void **ts)
{
    struct fx *f = *ts;
    /* icsnpp_hart-ip_all_messageIDs frame 14; a short answer with status 8 (a warning) */
    static const uint8_t req[] = {0x01, 0x00, 0x05, 0x00, 0x00, 0x05, 0x00, 0x0A, 0x00, 0xFF};
    static const uint8_t rsp[] = {0x01, 0x01, 0x05, 0x08, 0x00, 0x05, 0x00, 0x0E,
                                  0x00, 0x11, 0x64, 0xDF, 0x47, 0x85};
    FEED(f, C2S, req);
    FEED(f, S2C, rsp);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 5);
    assert_int_equal(t->ops, QW_OP_DIAGNOSTIC);
    assert_false(t->error); /* status 8: warning */
    JSON_HAS(f, 0, "\"function_name\":\"read_audit_log\",\"status\":0,\"sequence_number\":5,"
                   "\"byte_count\":10,\"start_record\":0,\"number_of_records\":255}");
    JSON_HAS(f, 0, "\"status\":8,\"sequence_number\":5,\"byte_count\":14,\"start_record\":0,"
                   "\"number_of_records\":17}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_secret_redacted(void **ts)
{
    struct fx *f = *ts;
    uint8_t body[2 + 2 + 8] = {0x02, 0x1D, 's', 'e', 'c', 'r', 'e', 't', 'p', 'w'}; /* 541 */
    uint8_t b[64];
    size_t n = mk_tp(b, 0, 3, 0x82, long_addr, 5, 31, body, 10);
    feed(f, C2S, b, n);
    flow_end(f);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_AUTH | QW_OP_CONFIG);
    JSON_HAS(f, 0, "\"command\":541,\"command_name\":\"write_client_pake_password\","
                   "\"extended_command\":true,\"command_byte_count\":10,\"data_redacted\":true");
    JSON_LACKS(f, 0, "736563"); /* "sec" in hex */
}

/* ---- Pairing ------------------------------------------------------------------------------- */

static void test_pairing_by_sequence_number(void **ts)
{
    struct fx *f = *ts;
    uint8_t q1[16], q2[16];
    memcpy(q1, ka_req, 8);
    memcpy(q2, ka_req, 8);
    q2[5] = 3;
    uint8_t r1[8], r2[8];
    memcpy(r1, ka_rsp, 8);
    memcpy(r2, ka_rsp, 8);
    r2[5] = 3;
    f->ctx.ts_ns = 10;
    feed(f, C2S, q1, 8);
    f->ctx.ts_ns = 20;
    feed(f, C2S, q2, 8);
    f->ctx.ts_ns = 30;
    feed(f, S2C, r2, 8);
    f->ctx.ts_ns = 40;
    feed(f, S2C, r1, 8);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"sequence_number\":3,");
    assert_int_equal(txn_at(f, 0)->request_ns, 20);
    assert_int_equal(txn_at(f, 0)->response_ns, 30);
    assert_int_equal(txn_at(f, 1)->request_ns, 10);
    assert_int_equal(txn_at(f, 1)->response_ns, 40);
}

static void test_unanswered_and_queue_full(void **ts)
{
    struct fx *f = *ts;
    uint8_t q[8];
    memcpy(q, ka_req, 8);
    for (unsigned i = 0; i < 9; i++) {
        q[5] = (uint8_t)(10 + i);
        f->ctx.ts_ns = 100 + i;
        feed(f, C2S, q, 8);
    }
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.request_queue_full"), 1);
    JSON_HAS(f, 0, "\"sequence_number\":10,");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 9);
    for (size_t i = 0; i < 9; i++) assert_false(txn_at(f, i)->has_response);
    JSON_HAS(f, 8, "\"sequence_number\":18,");
}

static void test_message_id_mismatch(void **ts)
{
    struct fx *f = *ts;
    uint8_t r[8];
    memcpy(r, close_rsp, 8);
    r[5] = 2; /* session close answer carrying the keep alive's number */
    FEED(f, C2S, ka_req);
    feed(f, S2C, r, 8);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.message_id_mismatch"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    /* Regression (fuzzer): a token-passing answer to a session request kept the request's
     * function but took the answer's command ops. The request decides. */
    uint8_t tp[sizeof cmd20_rsp];
    memcpy(tp, cmd20_rsp, sizeof tp);
    tp[5] = 0x01;
    FEED(f, C2S, sess_req);
    feed(f, S2C, tp, sizeof tp);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 1)->function, 0);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_SESSION);
}

/* ---- Framing ------------------------------------------------------------------------------- */

struct convo {
    uint8_t c2s[256], s2c[256];
    size_t nc, ns;
};

static void add(uint8_t *buf, size_t *n, const uint8_t *b, size_t len)
{
    memcpy(buf + *n, b, len);
    *n += len;
}

static void build_convo(struct convo *cv)
{
    memset(cv, 0, sizeof *cv);
    add(cv->c2s, &cv->nc, sess_req, sizeof sess_req);
    /* the two captures both used sequence number 1: command 0 gets 3 here */
    uint8_t q0[sizeof cmd0_req], r0[sizeof cmd0_rsp];
    memcpy(q0, cmd0_req, sizeof q0);
    memcpy(r0, cmd0_rsp, sizeof r0);
    q0[5] = r0[5] = 3;
    add(cv->c2s, &cv->nc, q0, sizeof q0);
    add(cv->c2s, &cv->nc, cmd20_req, sizeof cmd20_req);
    add(cv->c2s, &cv->nc, direct_req, sizeof direct_req);
    add(cv->s2c, &cv->ns, sess_rsp, sizeof sess_rsp);
    add(cv->s2c, &cv->ns, r0, sizeof r0);
    add(cv->s2c, &cv->ns, cmd20_rsp, sizeof cmd20_rsp);
    add(cv->s2c, &cv->ns, direct_rsp, sizeof direct_rsp);
}

static void check_convo(const struct fx *f)
{
    assert_int_equal(f->rec.nanomalies, 0);
    assert_true(has_fact(f, true, "serial", "9774703") || has_fact(f, false, "serial", "9774703"));
    assert_true(some_json_has(f, "\"function_name\":\"direct_pdu\""));
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    static struct convo cv;
    build_convo(&cv);
    const struct msg conv[] = {{C2S, cv.c2s, cv.nc}, {S2C, cv.s2c, cv.ns}};
    check_every_split_with(f, conv, 2, check_convo);
}

static void test_several_messages_one_chunk(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[sizeof ka_req + sizeof close_req];
    memcpy(b, ka_req, sizeof ka_req);
    memcpy(b + sizeof ka_req, close_req, sizeof close_req);
    FEED(f, C2S, b);
    assert_int_equal(f->pend[C2S].len, 0);
    uint8_t r[sizeof ka_rsp + sizeof close_rsp];
    memcpy(r, ka_rsp, sizeof ka_rsp);
    memcpy(r + sizeof ka_rsp, close_rsp, sizeof close_rsp);
    FEED(f, S2C, r);
    assert_int_equal(f->rec.ntxns, 2);
}

static void test_udp_datagrams(void **ts)
{
    struct fx *f = *ts;
    assert_true(P.transports & QW_TRANSPORT_UDP);
    P.datagram(&f->ctx, f->state, C2S, cmd0_req, sizeof cmd0_req);
    P.datagram(&f->ctx, f->state, S2C, cmd0_rsp, sizeof cmd0_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request && txn_at(f, 0)->has_response);
    /* a datagram cut short: nothing is kept for the next one */
    P.datagram(&f->ctx, f->state, C2S, cmd20_req, sizeof cmd20_req - 3);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.truncated_message"), 1);
    P.datagram(&f->ctx, f->state, C2S, ka_req, sizeof ka_req);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 1)->function_name, "keep_alive");
}

static void test_truncated_pdu(void **ts)
{
    struct fx *f = *ts;
    /* a frame that ends after its command number: no byte count, no check byte */
    static const uint8_t b[] = {0x01, 0x00, 0x03, 0x00, 0x00, 0x07, 0x00, 0x0F,
                                0x82, 0xB9, 0xFD, 0x95, 0x26, 0x6F, 0x0D};
    FEED(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.truncated_pdu"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"byte_count\":15,\"truncated\":true}");
}

static void test_pdu_byte_count_past_end(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t b[] = {0x01, 0x00, 0x03, 0x00, 0x00, 0x08, 0x00, 0x13, 0x82, 0xB9,
                                0xFD, 0x95, 0x26, 0x6F, 0x0D, 0x10, 0x01, 0x02, 0x03};
    FEED(f, C2S, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.truncated_pdu"), 1);
    JSON_HAS(f, 0, "\"command\":13,");
    JSON_HAS(f, 0, "\"truncated\":true");
}

static void test_invalid_header_resync(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[3 + sizeof ka_req] = {0x07, 0x00, 0x02};
    memcpy(b + 3, ka_req, sizeof ka_req);
    FEED(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.invalid_header"), 1);
    FEED(f, S2C, ka_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
    uint8_t bad[sizeof ka_req];
    memcpy(bad, ka_req, sizeof bad);
    bad[7] = 0x04; /* byte count below the header */
    FEED(f, C2S, bad);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "hart_ip.invalid_length"), 1);
}

static void test_garbage_does_not_stall(void **ts)
{
    struct fx *f = *ts;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37u + 11u);
    FEED(f, C2S, ka_req);
    FEED(f, C2S, junk);
    FEED(f, C2S, junk);
    assert_true(f->pend[C2S].len < HIP_PEND_BOUND);
    FEED(f, S2C, ka_rsp);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_gap_resyncs(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[5 + sizeof ka_req] = {0x26, 0x6F, 0x14, 0x00, 0x0E};
    memcpy(b + 5, ka_req, sizeof ka_req);
    P.gap(&f->ctx, f->state, C2S);
    FEED(f, C2S, b);
    FEED(f, S2C, ka_rsp);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = P.probe;
    assert_int_equal(probe(sess_req, sizeof sess_req, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(sess_rsp, sizeof sess_rsp, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(ka_req, sizeof ka_req, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(cmd0_req, sizeof cmd0_req, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(direct_req, sizeof direct_req, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(sess_req, 3, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(sess_req, 7, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(cmd0_req, 8, C2S), QW_PROBE_NEED_MORE); /* the frame type */

    static const char http[] = "GET / HTTP/1.1\r\nHost: gw\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03};
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11,
                                     0x03, 0x00, 0x6B, 0x00, 0x03};
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    static const uint8_t iec104[] = {0x68, 0x04, 0x07, 0x00, 0x00, 0x00};
    assert_int_equal(probe(iec104, sizeof iec104, C2S), QW_PROBE_NO);
    static const uint8_t zeros[16] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    /* a 01 00 00 .. prefix that is not HART-IP: DNS-like ids, counts */
    static const uint8_t dnsish[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00};
    assert_int_equal(probe(dnsish, sizeof dnsish, C2S), QW_PROBE_NO);

    /* an MS-SQL TDS batch (corpus mixed-plant/plant1_mb2..., port 1433): 01 01 reads as a
     * version 1 response, but a session initiate answer is 13 octets, not 256 */
    static const uint8_t tds[] = {0x01, 0x01, 0x00, 0xA4, 0x00, 0x00, 0x01, 0x00,
                                  0x73, 0x00, 0x65, 0x00, 0x6C, 0x00};
    assert_int_equal(probe(tds, sizeof tds, C2S), QW_PROBE_NO);
    /* an answer must carry an ACK frame, and the frame must fill the message */
    uint8_t ans[sizeof cmd20_rsp];
    memcpy(ans, cmd20_rsp, sizeof ans);
    ans[8] = 0x82;
    assert_int_equal(probe(ans, sizeof ans, S2C), QW_PROBE_NO);
    memcpy(ans, cmd20_rsp, sizeof ans);
    ans[15] = 0x21; /* frame byte count one short of the message */
    assert_int_equal(probe(ans, sizeof ans, S2C), QW_PROBE_NO);
    assert_int_equal(probe(cmd20_rsp, sizeof cmd20_rsp, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(direct_rsp, sizeof direct_rsp, S2C), QW_PROBE_MATCH);
    uint8_t dr[sizeof direct_rsp];
    memcpy(dr, direct_rsp, sizeof dr);
    dr[12] = 0x1C; /* the command's byte count no longer fills the message */
    assert_int_equal(probe(dr, sizeof dr, S2C), QW_PROBE_NO);
    /* Regression: a command byte count past the message's end made the walk step beyond it
     * (found on the TDS flow of corpus mixed-plant/plant1_mb2...: 01 01 04 ..). */
    static const uint8_t dr_long[] = {0x01, 0x01, 0x04, 0x6E, 0x00, 0x01, 0x00, 0x0E,
                                      0x00, 0x00, 0x00, 0x05, 0xFF, 0x49};
    assert_int_equal(probe(dr_long, sizeof dr_long, S2C), QW_PROBE_NO);

    uint8_t b[sizeof sess_req];
    memcpy(b, sess_req, sizeof b);
    b[0] = 3; /* version */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    memcpy(b, sess_req, sizeof b);
    b[1] = 4; /* message type */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    memcpy(b, sess_req, sizeof b);
    b[2] = 9; /* message id */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    memcpy(b, sess_req, sizeof b);
    b[3] = 1; /* a request with a status */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    memcpy(b, sess_req, sizeof b);
    b[7] = 12; /* session initiate is 13 octets */
    assert_int_equal(probe(b, sizeof b, C2S), QW_PROBE_NO);
    uint8_t tp[sizeof cmd0_req];
    memcpy(tp, cmd0_req, sizeof tp);
    tp[8] = 0x05; /* frame type 5 */
    assert_int_equal(probe(tp, sizeof tp, C2S), QW_PROBE_NO);
    /* what follows a complete message must be another header */
    uint8_t two[sizeof ka_req + 8];
    memcpy(two, ka_req, sizeof ka_req);
    memcpy(two + sizeof ka_req, "GARBAGE!", 8);
    assert_int_equal(probe(two, sizeof two, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(P.name, "hart_ip");
    assert_true(P.transports & QW_TRANSPORT_TCP);
    assert_true(P.transports & QW_TRANSPORT_UDP);
    assert_int_equal(P.ports[0], 5094);
    assert_non_null(P.parse);
    assert_non_null(P.datagram);
    assert_non_null(P.gap);
    assert_non_null(P.flow_end);
    assert_true(P.state_size > 0 && P.state_size < 16384);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_session_initiate_pair),
        T(test_keep_alive_and_close),
        T(test_command0_identity),
        T(test_long_tag_identity),
        T(test_tag_descriptor_date_read_and_write),
        T(test_reset_and_polling_address),
        T(test_extended_command_and_bad_checksum),
        T(test_response_codes),
        T(test_error_and_nak_messages),
        T(test_publish),
        T(test_direct_pdu),
        T(test_direct_pdu_several_commands),
        T(test_read_audit_log),
        T(test_secret_redacted),
        T(test_pairing_by_sequence_number),
        T(test_unanswered_and_queue_full),
        T(test_message_id_mismatch),
        T(test_split_at_every_offset),
        T(test_several_messages_one_chunk),
        T(test_udp_datagrams),
        T(test_truncated_pdu),
        T(test_pdu_byte_count_past_end),
        T(test_invalid_header_resync),
        T(test_garbage_does_not_stall),
        T(test_gap_resyncs),
        T(test_probe),
        T(test_descriptor),
    };
    return cmocka_run_group_tests_name("hart_ip", tests, NULL, NULL);
}
