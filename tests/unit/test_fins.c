/* Unit tests for the Omron FINS parser (src/proto/fins.c): UDP command/response pairing by SID
 * and command, decoded parameters (memory areas, RUN mode, program area, clock, files, forced
 * bits), the controller data read identity, FINS/TCP framing and the node address exchange,
 * every split offset of a TCP conversation, truncation at every length, lying and oversized
 * lengths, the anomalies and the probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_fins;

#define PROTO qw_proto_fins
#define FX_BUF_MAX 4096

#include "parser_fixture.h"

/* A FINS header ([W342] s.3): command (icf 0x80) or response (0xC0) between node 1 (the
 * tool) and node 10 (the PLC), service id `sid`, then the command code. */
static void hdr(struct buf *b, bool response, uint8_t sid, uint16_t cmd)
{
    u8(b, response ? 0xC0 : 0x80);
    u8(b, 0x00);
    u8(b, 0x02);
    if (response) {
        u8(b, 0), u8(b, 1), u8(b, 0); /* to the tool */
        u8(b, 0), u8(b, 10), u8(b, 0);
    } else {
        u8(b, 0), u8(b, 10), u8(b, 0); /* to the PLC's CPU unit */
        u8(b, 0), u8(b, 1), u8(b, 0);
    }
    u8(b, sid);
    u16(b, cmd);
}

static void rsp_hdr(struct buf *b, uint8_t sid, uint16_t cmd, uint16_t end)
{
    hdr(b, true, sid, cmd);
    u16(b, end);
}

static void text(struct buf *b, const char *s, size_t width)
{
    size_t n = strlen(s);
    put(b, s, n);
    for (; n < width; n++) u8(b, 0);
}

/* A FINS/TCP message around `frame` ([W421]). */
static void tcp_wrap(struct buf *out, uint32_t cmd, uint32_t err, const void *body, size_t n)
{
    put(out, "FINS", 4);
    u32(out, (uint32_t)(8 + n));
    u32(out, cmd);
    u32(out, err);
    put(out, body, n);
}

static void test_memory_read_pair(void **ts)
{
    struct fx *f = *ts;
    struct buf q = {0}, r = {0};
    hdr(&q, false, 7, 0x0101);
    u8(&q, 0x82), u16(&q, 100), u8(&q, 0), u16(&q, 2); /* DM100, 2 words */
    rsp_hdr(&r, 7, 0x0101, 0x0000);
    u16(&r, 0x1234), u16(&r, 0xABCD);
    assert_int_equal(qw_proto_fins.probe(q.b, q.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_fins.probe(r.b, r.n, S2C), QW_PROBE_MATCH_FROM_SERVER);
    DATAGRAM_BUF(f, C2S, &q);
    assert_int_equal(f->rec.ntxns, 0);
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0x0101);
    assert_string_equal(t->function_name, "memory_area_read");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"request\":{\"icf\":128,\"response_required\":true,\"gateway\":true,"
                   "\"gateway_count\":2,\"destination_network\":0,\"destination_node\":10,"
                   "\"destination_unit\":0,\"source_network\":0,\"source_node\":1,"
                   "\"source_unit\":0,\"service_id\":7,\"function\":257,"
                   "\"function_name\":\"memory_area_read\",\"data_length\":6,\"memory_area\":130,"
                   "\"memory_area_name\":\"DM\",\"memory_unit\":\"word\",\"address\":100,"
                   "\"bit\":0,\"items\":2}");
    JSON_HAS(f, 0, "\"end_code\":0,\"main_code\":0,\"sub_code\":0,"
                   "\"end_code_name\":\"normal_completion\",\"data_length\":4,"
                   "\"data\":\"1234abcd\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* The response comes from the other side only: the same bytes back in the command's direction
 * (a capture of one direction) are not its answer. A different SID or command is not either. */
static void test_pairing_rules(void **ts)
{
    struct fx *f = *ts;
    struct buf q = {0}, r_same = {0}, r_other = {0}, r_cmd = {0};
    hdr(&q, false, 9, 0x0402);
    rsp_hdr(&r_same, 9, 0x0402, 0);
    rsp_hdr(&r_other, 8, 0x0402, 0);
    rsp_hdr(&r_cmd, 9, 0x0401, 0);
    DATAGRAM_BUF(f, C2S, &q);
    DATAGRAM_BUF(f, C2S, &r_same);  /* same direction: a record of its own */
    DATAGRAM_BUF(f, S2C, &r_other); /* another SID */
    DATAGRAM_BUF(f, S2C, &r_cmd);   /* another command */
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 3; i++) assert_false(txn_at(f, i)->has_request);
    struct buf r = {0};
    rsp_hdr(&r, 9, 0x0402, 0x2201); /* "wrong mode (executing)": an error, not an anomaly */
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(f->rec.ntxns, 4);
    const struct qw_txn *t = txn_at(f, 3);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->ops, QW_OP_STOP);
    assert_true(t->error);
    JSON_HAS(f, 3, "\"end_code\":8705,\"main_code\":34,\"sub_code\":1,"
                   "\"end_code_name\":\"not_executable_in_current_mode\"");
    assert_int_equal(f->rec.nanomalies, 0);
    /* A command that asks for no response is a record at once. */
    struct buf nr = {0};
    hdr(&nr, false, 1, 0x0102);
    nr.b[0] = 0x81;
    u8(&nr, 0xB1), u16(&nr, 5), u8(&nr, 0), u16(&nr, 1), u16(&nr, 0xFFFF); /* W5 */
    DATAGRAM_BUF(f, C2S, &nr);
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_WRITE);
    JSON_HAS(f, 4, "\"response_required\":false");
    JSON_HAS(f, 4, "\"memory_area_name\":\"WR\",\"memory_unit\":\"word\",\"address\":5,"
                   "\"bit\":0,\"items\":1,\"data\":\"ffff\"");
}

static void test_run_stop_program(void **ts)
{
    struct fx *f = *ts;
    struct buf q = {0}, r = {0};
    hdr(&q, false, 1, 0x0401);
    u16(&q, 0xFFFF), u8(&q, 0x04); /* RUN mode */
    DATAGRAM_BUF(f, C2S, &q);
    rsp_hdr(&r, 1, 0x0401, 0);
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_START);
    JSON_HAS(f, 0, "\"program_number\":65535,\"mode\":4,\"mode_name\":\"run\"}");
    /* Program area write: a download. */
    struct buf w = {0};
    hdr(&w, false, 2, 0x0307);
    u16(&w, 0xFFFF), u32(&w, 0x100), u16(&w, 0x8004), u32(&w, 0xDEADBEEF);
    DATAGRAM_BUF(f, C2S, &w);
    struct buf wr = {0};
    rsp_hdr(&wr, 2, 0x0307, 0);
    u16(&wr, 0xFFFF), u32(&wr, 0x100), u16(&wr, 0x8004);
    DATAGRAM_BUF(f, S2C, &wr);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 1, "\"program_number\":65535,\"beginning_word\":256,\"bytes\":4,"
                   "\"last_block\":true,\"data\":\"deadbeef\"");
    /* Program area protect clear with the wrong password: a refused login, and the password in
     * clear is reported once per flow, never logged. */
    struct buf p = {0}, pr = {0};
    hdr(&p, false, 3, 0x0305);
    u16(&p, 0xFFFF), u8(&p, 0), u32(&p, 0), u32(&p, 0xFFFFFFFF), put(&p, "pass", 4);
    rsp_hdr(&pr, 3, 0x0305, 0x2602);
    DATAGRAM_BUF(f, C2S, &p);
    DATAGRAM_BUF(f, S2C, &pr);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.cleartext_password"), 1);
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_int_equal(f->rec.device_report.kind, QW_REPORT_LOGIN_FAILED);
    assert_true(f->rec.device_report.server && f->rec.device_report.from_peer);
    assert_string_equal(f->rec.device_report.message_id, "fins 2602");
    assert_true(txn_at(f, 2)->error);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_AUTH | QW_OP_CONFIG);
    JSON_HAS(f, 2, "\"password_redacted\":true");
    assert_false(some_json_has(f, "pass\""));
    assert_false(some_json_has(f, "70617373"));
}

static void test_controller_data_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf q = {0}, r = {0};
    hdr(&q, false, 5, 0x0501);
    u8(&q, 0x00);
    rsp_hdr(&r, 5, 0x0501, 0x0040); /* normal completion, non-fatal CPU error flag */
    text(&r, "CJ2M-CPU33  ", 20);
    text(&r, "02.01", 20);
    for (int i = 0; i < 52; i++) u8(&r, 0);
    DATAGRAM_BUF(f, C2S, &q);
    DATAGRAM_BUF(f, S2C, &r);
    JSON_HAS(f, 0, "\"data_code\":0}");
    JSON_HAS(f, 0, "\"non_fatal_cpu_error\":true,\"data_length\":92,\"model\":\"CJ2M-CPU33\","
                   "\"version\":\"02.01\"}");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_IDENTIFY);
    assert_false(txn_at(f, 0)->error); /* a CPU error flag is not a failed command */
    identity_is(f, true, "vendor", "Omron");
    identity_is(f, true, "model", "CJ2M-CPU33");
    identity_is(f, true, "firmware", "02.01");
    assert_int_equal(count_identity_of(f, false, "model"), 0);
    /* Once per flow; an answer with area data only (not text) names no model. */
    DATAGRAM_BUF(f, C2S, &q);
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(f->rec.nidentities, 3);
    fx_clear(f);
    struct buf a = {0};
    rsp_hdr(&a, 6, 0x0501, 0);
    for (int i = 0; i < 60; i++) u8(&a, (uint8_t)i);
    DATAGRAM_BUF(f, S2C, &a);
    JSON_LACKS(f, 0, "\"model\"");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_parameters(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    hdr(&b, false, 1, 0x0702); /* clock write: 2024-02-29 13:45:30, Thursday */
    u8(&b, 0x24), u8(&b, 0x02), u8(&b, 0x29), u8(&b, 0x13), u8(&b, 0x45), u8(&b, 0x30), u8(&b, 4);
    DATAGRAM_BUF(f, C2S, &b);
    b.n = 0;
    hdr(&b, false, 2, 0x2301); /* force-set CIO 0.01, release W3.15 */
    u16(&b, 2);
    u16(&b, 0x0001), u8(&b, 0x30), u16(&b, 0), u8(&b, 1);
    u16(&b, 0xFFFF), u8(&b, 0x31), u16(&b, 3), u8(&b, 15);
    DATAGRAM_BUF(f, C2S, &b);
    b.n = 0;
    hdr(&b, false, 3, 0x220C); /* program area file transfer from file into the PLC */
    u16(&b, 1), u16(&b, 0xFFFF), u32(&b, 0), u32(&b, 0x2000), u16(&b, 0x8000);
    text(&b, "AUTOEXE .OBJ", 12);
    DATAGRAM_BUF(f, C2S, &b);
    b.n = 0;
    hdr(&b, false, 4, 0x2203); /* single file write of a program file */
    u16(&b, 0x8000), u16(&b, 1);
    text(&b, "AUTOEXEC.OBJ", 12);
    u32(&b, 0), u16(&b, 4), u32(&b, 0);
    DATAGRAM_BUF(f, C2S, &b);
    b.n = 0;
    hdr(&b, false, 5, 0x0104); /* multiple read: DM0 and H10.02 */
    u8(&b, 0x82), u16(&b, 0), u8(&b, 0), u8(&b, 0x32), u16(&b, 10), u8(&b, 2);
    DATAGRAM_BUF(f, C2S, &b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
    JSON_HAS(f, 0, "\"clock\":\"2024-02-29T13:45:30\",\"day_of_week\":4");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC | QW_OP_CONFIG);
    JSON_HAS(f, 1, "\"forced\":[{\"specification\":1,\"specification_name\":\"force_set\","
                   "\"memory_area\":48,\"memory_area_name\":\"CIO\",\"memory_unit\":\"bit\","
                   "\"address\":0,\"bit\":1},{\"specification\":65535,\"specification_name\":"
                   "\"release\",\"memory_area\":49,\"memory_area_name\":\"WR\",\"memory_unit\":"
                   "\"bit\",\"address\":3,\"bit\":15}],\"items_total\":2");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE | QW_OP_CONTROL);
    JSON_HAS(f, 2, "\"program_number\":65535,\"beginning_word\":0,\"words\":8192,"
                   "\"parameter_code\":1,\"transfer\":\"from_file\",\"disk\":32768,"
                   "\"file_name\":\"AUTOEXE .OBJ\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_FILE | QW_OP_PROGRAM);
    JSON_HAS(f, 3, "\"parameter_code\":1,\"disk\":32768,\"file_name\":\"AUTOEXEC.OBJ\","
                   "\"file_position\":0,\"length\":4");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_FILE | QW_OP_PROGRAM);
    JSON_HAS(f, 4, "\"areas\":[{\"memory_area\":130,\"memory_area_name\":\"DM\","
                   "\"memory_unit\":\"word\",\"address\":0,\"bit\":0},{\"memory_area\":50,"
                   "\"memory_area_name\":\"HR\",\"memory_unit\":\"bit\",\"address\":10,"
                   "\"bit\":2}],\"items_total\":2");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* FINS/TCP: node address exchange, then a frame each way. */
static uint8_t tcp_node_req[20], tcp_node_rsp[24], tcp_cmd[64], tcp_rsp[160];
static size_t tcp_cmd_n, tcp_rsp_n;

static void build_tcp_conv(void)
{
    struct buf b = {0}, o = {0};
    u32(&b, 0);
    tcp_wrap(&o, 0, 0, b.b, b.n);
    memcpy(tcp_node_req, o.b, o.n);
    b.n = o.n = 0;
    u32(&b, 0xFB), u32(&b, 0xC8);
    tcp_wrap(&o, 1, 0, b.b, b.n);
    memcpy(tcp_node_rsp, o.b, o.n);
    b.n = o.n = 0;
    hdr(&b, false, 5, 0x0501);
    u8(&b, 0);
    tcp_wrap(&o, 2, 0, b.b, b.n);
    memcpy(tcp_cmd, o.b, o.n);
    tcp_cmd_n = o.n;
    b.n = o.n = 0;
    rsp_hdr(&b, 5, 0x0501, 0);
    text(&b, "CP1L-EL20DR-D\0\0\0    ", 20);
    text(&b, "01.00", 20);
    for (int i = 0; i < 52; i++) u8(&b, 0);
    tcp_wrap(&o, 2, 0, b.b, b.n);
    memcpy(tcp_rsp, o.b, o.n);
    tcp_rsp_n = o.n;
}

static void check_tcp_conv(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "node_address_exchange");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_true(t->has_request && t->has_response);
    JSON_HAS(f, 0, "\"response\":{\"tcp_command\":1,\"tcp_command_name\":"
                   "\"node_address_data_send_server\",\"tcp_error_code\":0,"
                   "\"tcp_error_name\":\"normal\",\"client_node\":251,\"server_node\":200}");
    assert_true(txn_at(f, 1)->has_request && txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"model\":\"CP1L-EL20DR-D\",\"version\":\"01.00\"");
    identity_is(f, true, "model", "CP1L-EL20DR-D");
}

static void test_tcp_every_split(void **ts)
{
    struct fx *f = *ts;
    build_tcp_conv();
    assert_int_equal(qw_proto_fins.probe(tcp_node_req, 20, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_fins.probe(tcp_node_req, 15, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(qw_proto_fins.probe(tcp_cmd, tcp_cmd_n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_fins.probe(tcp_rsp, tcp_rsp_n, S2C), QW_PROBE_MATCH);
    const struct msg conv[] = {
        {C2S, tcp_node_req, 20},
        {S2C, tcp_node_rsp, 24},
        {C2S, tcp_cmd, tcp_cmd_n},
        {S2C, tcp_rsp, tcp_rsp_n},
    };
    check_every_split_with(f, conv, 4, check_tcp_conv);
    /* Several messages in one delivery give the same records. */
    uint8_t all[512];
    memcpy(all, tcp_cmd, tcp_cmd_n);
    memcpy(all + tcp_cmd_n, tcp_cmd, tcp_cmd_n);
    fx_reset(f);
    feed(f, C2S, all, 2 * tcp_cmd_n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2); /* the repeat flushed the first unanswered */
}

/* FINS/TCP with a broken length: the parser reports it and finds the next magic. A node
 * address error is an anomaly and an error. */
static void test_tcp_bad_lengths_and_errors(void **ts)
{
    struct fx *f = *ts;
    build_tcp_conv();
    struct buf s = {0};
    put(&s, "FINS", 4);
    u32(&s, 0x7FFFFFFF); /* oversized */
    u32(&s, 2), u32(&s, 0);
    put(&s, tcp_cmd, tcp_cmd_n);
    FEED_BUF(f, C2S, &s);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.invalid_length"), 1);
    assert_int_equal(f->rec.ntxns, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1); /* the command after the broken header */
    fx_reset(f);
    s.n = 0;
    put(&s, "FINS", 4);
    u32(&s, 4); /* undersized */
    u32(&s, 2), u32(&s, 0);
    FEED_BUF(f, C2S, &s);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.invalid_length"), 1);
    fx_reset(f);
    struct buf b = {0}, o = {0};
    u32(&b, 0), u32(&b, 0);
    tcp_wrap(&o, 1, 0x20, b.b, b.n); /* all connections in use */
    FEED_BUF(f, S2C, &o);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.tcp_error"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "all_connections_in_use");
    assert_true(txn_at(f, 0)->error);
    /* A frame send whose frame is too short for a header. */
    fx_reset(f);
    o.n = 0;
    tcp_wrap(&o, 2, 0, "\x80\x00\x02", 3);
    FEED_BUF(f, C2S, &o);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.invalid_length"), 1);
}

static void test_bad_frames(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    hdr(&b, false, 1, 0x0101);
    u8(&b, 0x82), u16(&b, 0), u8(&b, 0), u16(&b, 1);
    struct buf bad = b;
    bad.b[0] |= 0x04; /* a reserved ICF bit */
    fx_datagram(f, C2S, bad.b, bad.n);
    bad = b;
    bad.b[1] = 1; /* RSV */
    fx_datagram(f, C2S, bad.b, bad.n);
    bad = b;
    bad.b[2] = 9; /* GCT */
    fx_datagram(f, C2S, bad.b, bad.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.bad_header"), 3);
    assert_int_equal(f->rec.ntxns, 0);
    bad = b;
    bad.b[10] = 0x7E; /* no such command */
    fx_datagram(f, C2S, bad.b, bad.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.unknown_command"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    assert_int_equal(txn_at(f, 0)->ops, 0);
    /* An oversized datagram is reported and still decoded. */
    fx_clear(f);
    struct buf *big = buf_new();
    hdr(big, false, 1, 0x0102);
    u8(big, 0x82), u16(big, 0), u8(big, 0), u16(big, 1100);
    for (int i = 0; i < 2200; i++) u8(big, 0x55);
    DATAGRAM_BUF(f, C2S, big);
    free(big);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.invalid_length"), 1);
    flow_end(f);
    JSON_HAS(f, 0, "\"items\":1100,\"data\":\"5555");
    JSON_HAS(f, 0, "\"data_truncated\":true");
}

/* Every prefix of a command: the probe refuses it below 12 bytes, the parser reports an
 * invalid length there and a truncated command where the parameters are cut. */
static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    hdr(&b, false, 1, 0x0105);
    u8(&b, 0x82), u16(&b, 1), u8(&b, 0), u8(&b, 0xB2), u16(&b, 2), u8(&b, 0), u16(&b, 3);
    for (size_t n = 0; n <= b.n; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b.b, n);
        enum qw_probe_result p = qw_proto_fins.probe(cut, n, C2S);
        fx_datagram(f, C2S, cut, n);
        flow_end(f);
        free(cut);
        if (n < 12) {
            assert_int_equal(p, QW_PROBE_NO);
            assert_int_equal(f->rec.ntxns, 0);
            assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.invalid_length"), 1);
        } else if (n < b.n) {
            assert_int_equal(f->rec.ntxns, 1);
            assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.truncated"), 1);
            JSON_HAS(f, 0, "\"truncated\":true");
        } else {
            assert_int_equal(f->rec.nanomalies, 0);
            JSON_HAS(f, 0, "\"destination_memory_area_name\":\"HR\",\"destination_address\":2,"
                           "\"destination_bit\":0,\"items\":3");
        }
    }
}

static void test_queue_bounded(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    for (unsigned i = 0; i < 40; i++) {
        b.n = 0;
        hdr(&b, false, (uint8_t)i, 0x0101);
        u8(&b, 0x82), u16(&b, (uint16_t)i), u8(&b, 0), u16(&b, 1);
        DATAGRAM_BUF(f, C2S, &b);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "fins.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 40 - 16);
    JSON_HAS(f, 0, "\"address\":0,"); /* the oldest first */
    /* The newest is still waiting and pairs. */
    b.n = 0;
    rsp_hdr(&b, 39, 0x0101, 0);
    u16(&b, 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_true(txn_at(f, f->rec.ntxns - 1)->has_request);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 40);
}

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    static const char http[] = "GET / HTTP/1.1\r\nHost: plc\r\n\r\n";
    assert_int_equal(qw_proto_fins.probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    /* Modbus/TCP read holding registers. */
    static const uint8_t mb[] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
    assert_int_equal(qw_proto_fins.probe(mb, sizeof mb, C2S), QW_PROBE_NO);
    /* DNS query: 0x12 0x34 flags 0x01 0x00 ... */
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
    assert_int_equal(qw_proto_fins.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
    /* A FINS-like header with an unknown command, a network address above 127, a response
     * with an unknown main code, and FINS/TCP with an unknown header command or length. */
    uint8_t fr[14] = {0x80, 0, 2, 0, 10, 0, 0, 1, 0, 1, 0x01, 0x01, 0, 0};
    assert_int_equal(qw_proto_fins.probe(fr, 12, C2S), QW_PROBE_MATCH);
    fr[11] = 0x09;
    assert_int_equal(qw_proto_fins.probe(fr, 12, C2S), QW_PROBE_NO);
    fr[11] = 0x01;
    fr[3] = 0x80;
    assert_int_equal(qw_proto_fins.probe(fr, 12, C2S), QW_PROBE_NO);
    fr[3] = 0;
    fr[0] = 0xC0;
    fr[12] = 0x50;
    assert_int_equal(qw_proto_fins.probe(fr, 14, C2S), QW_PROBE_NO);
    uint8_t t[20] = {'F', 'I', 'N', 'S', 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 0};
    assert_int_equal(qw_proto_fins.probe(t, 20, C2S), QW_PROBE_NO); /* command 4 */
    t[11] = 0;
    t[7] = 13;
    assert_int_equal(qw_proto_fins.probe(t, 20, C2S), QW_PROBE_NO); /* length */
    t[7] = 12;
    assert_int_equal(qw_proto_fins.probe(t, 20, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_fins.probe((const uint8_t *)"FIN", 3, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(qw_proto_fins.probe((const uint8_t *)"FIX", 3, C2S), QW_PROBE_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_memory_read_pair),
        FX_TEST(test_pairing_rules),
        FX_TEST(test_run_stop_program),
        FX_TEST(test_controller_data_identity),
        FX_TEST(test_parameters),
        FX_TEST(test_tcp_every_split),
        FX_TEST(test_tcp_bad_lengths_and_errors),
        FX_TEST(test_bad_frames),
        FX_TEST(test_truncated_every_length),
        FX_TEST(test_queue_bounded),
        FX_TEST(test_probe_refuses_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
