/* Unit tests for the VNC / RFB parser (src/proto/vnc.c).
 *
 * Handshakes follow RFC 6143 s.7.1-7.3 for versions 3.3, 3.7 and 3.8 (and Apple's 3.889);
 * client messages s.7.5. */
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

extern const struct qw_proto qw_proto_vnc;
#define PROTO qw_proto_vnc
#define FX_BUF_MAX 16384

#include "parser_fixture.h"

/* ---- PDU builders -------------------------------------------------------------------------- */

/* ServerInit ([RFB] s.7.3.2): width, height, PIXEL_FORMAT (32 bpp, depth 24), name. */
static void server_init(struct buf *b, const char *name, size_t nl)
{
    u16(b, 1024);
    u16(b, 768);
    static const uint8_t pf[16] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
    put(b, pf, sizeof pf);
    u32(b, (uint32_t)nl);
    put(b, name, nl);
}

/* Client messages ([RFB] s.7.5): each kind once, two key events, one clipboard text. */
static void client_messages(struct buf *b)
{
    static const uint8_t spf[20] = {0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0};
    put(b, spf, sizeof spf);
    u8(b, 2);
    u8(b, 0);
    u16(b, 3);
    u32(b, 0);
    u32(b, 5);
    u32(b, 0xFFFFFF21);
    static const uint8_t fbur[10] = {3, 1, 0, 0, 0, 0, 4, 0, 3, 0};
    put(b, fbur, sizeof fbur);
    static const uint8_t key[8] = {4, 1, 0, 0, 0, 0, 0, 0x61};
    put(b, key, sizeof key);
    put(b, key, sizeof key);
    static const uint8_t ptr[6] = {5, 1, 0, 10, 0, 20};
    put(b, ptr, sizeof ptr);
    static const uint8_t cut[8] = {6, 0, 0, 0, 0, 0, 0, 5};
    put(b, cut, sizeof cut);
    put(b, "hello", 5);
}

static const uint8_t challenge[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_vnc_auth_session(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t types[] = {2, 2, 16};
    feed(f, S2C, types, sizeof types);
    static const uint8_t sel = 2;
    feed(f, C2S, &sel, 1);
    feed(f, S2C, challenge, 16);
    feed(f, C2S, challenge, 16);
    static const uint8_t ok[4] = {0};
    feed(f, S2C, ok, 4);
    static const uint8_t shared = 1;
    feed(f, C2S, &shared, 1);
    struct buf si = {{0}, 0}, cm = {{0}, 0};
    server_init(&si, "Crane 7 HMI :0", 14);
    feed(f, S2C, si.b, si.n);
    client_messages(&cm);
    feed(f, C2S, cm.b, cm.n);
    static const uint8_t fbu[100] = {0};
    feed(f, S2C, fbu, sizeof fbu);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"request\":{\"version\":\"003.008\",\"security_type\":2,"
                   "\"security_type_name\":\"vnc_authentication\",\"shared\":true,\"messages\":"
                   "{\"set_pixel_format\":1,\"set_encodings\":1,\"framebuffer_update_request\":1,"
                   "\"key_event\":2,\"pointer_event\":1,\"client_cut_text\":1},"
                   "\"cut_text_bytes\":5,\"counted_bytes\":0}");
    JSON_HAS(f, 0, "\"response\":{\"version\":\"003.008\",\"security_types\":[{\"type\":2,"
                   "\"name\":\"vnc_authentication\"},{\"type\":16,\"name\":\"tight\"}],"
                   "\"security_result\":0,\"security_result_name\":\"ok\",\"width\":1024,"
                   "\"height\":768,\"bits_per_pixel\":32,\"depth\":24,\"desktop_name\":"
                   "\"Crane 7 HMI :0\",\"counted_bytes\":100}");
    assert_null(strstr(f->rec.txns[0].json, "hello"));
    assert_string_equal(qw_record_identity(&f->rec, true, "rfb_version"), "RFB 003.008");
    assert_string_equal(qw_record_identity(&f->rec, true, "vnc_desktop"), "Crane 7 HMI :0");
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ndevice_reports, 0); /* the password was accepted */
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t types[] = {2, 1, 2};
    static const uint8_t sel[] = {1};
    static const uint8_t ok[] = {0, 0, 0, 0};
    static const uint8_t ci[] = {0};
    struct buf si = {{0}, 0}, cm = {{0}, 0};
    server_init(&si, "tank farm", 9);
    client_messages(&cm);
    const struct msg conv[] = {
        {S2C, (const uint8_t *)"RFB 003.008\n", 12}, {C2S, (const uint8_t *)"RFB 003.008\n", 12},
        {S2C, types, sizeof types}, {C2S, sel, 1}, {S2C, ok, 4}, {C2S, ci, 1},
        {S2C, si.b, si.n}, {C2S, cm.b, cm.n},
    };
    check_every_split(f, conv, sizeof conv / sizeof conv[0]);
    JSON_HAS(f, 0, "\"security_type_name\":\"none\"");
    JSON_HAS(f, 0, "\"desktop_name\":\"tank farm\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "vnc.no_authentication"), 2);
    assert_false(f->rec.txns[0].txn.ops & QW_OP_AUTH);
}

static void test_v37_none_has_no_result(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.007\n");
    feed_str(f, C2S, "RFB 003.007\n");
    static const uint8_t types[] = {1, 1};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 1, ci = 0;
    feed(f, C2S, &sel, 1);
    feed(f, C2S, &ci, 1);
    struct buf si = {{0}, 0};
    server_init(&si, "x", 1);
    feed(f, S2C, si.b, si.n); /* straight after the choice: no SecurityResult before 3.8 */
    flow_end(f);
    JSON_HAS(f, 0, "\"desktop_name\":\"x\"");
    assert_null(strstr(f->rec.txns[0].json, "security_result"));
}

static void test_v33_server_chooses_and_fails(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.003\n");
    static const uint8_t t[] = {0, 0, 0, 2};
    feed(f, S2C, t, 4);
    feed(f, S2C, challenge, 16);
    feed(f, C2S, challenge, 16);
    static const uint8_t failed[] = {0, 0, 0, 1};
    feed(f, S2C, failed, 4);
    flow_end(f);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"security_type_chosen\":[{\"type\":2,\"name\":\"vnc_authentication\"}],"
                   "\"security_result\":1,\"security_result_name\":\"failed\"");
    assert_int_equal(f->rec.ndevice_reports, 1); /* 3.3: the result closes the attempt */
    assert_int_equal(f->rec.device_report.kind, QW_REPORT_LOGIN_FAILED);
}

static void test_v38_failure_reason(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t types[] = {1, 2};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 2;
    feed(f, C2S, &sel, 1);
    feed(f, S2C, challenge, 16);
    feed(f, C2S, challenge, 16);
    static const uint8_t failed[] = {0, 0, 0, 1, 0, 0, 0, 14, 'W', 'r', 'o', 'n', 'g', ' ',
                                     'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
    feed(f, S2C, failed, sizeof failed);
    flow_end(f);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"reason\":\"Wrong password\"");
    /* One refused login, RFB names no user ([RFB] s.7.1.3). */
    assert_int_equal(f->rec.ndevice_reports, 1);
    const struct qw_rec_device_report *r = &f->rec.device_report;
    assert_int_equal(r->kind, QW_REPORT_LOGIN_FAILED);
    assert_true(r->server);
    assert_string_equal(r->message_id, "rfb SecurityResult failed");
    assert_string_equal(r->user, "");
    assert_true(r->from_peer); /* the engine names the client */
}

static void test_none_failed_is_no_login(void **ts)
{
    struct fx *f = *ts;
    /* 3.8 sends a SecurityResult after type None too; a failure there checked no secret. */
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t types[] = {1, 1};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 1;
    feed(f, C2S, &sel, 1);
    static const uint8_t failed[] = {0, 0, 0, 1, 0, 0, 0, 2, 'n', 'o'};
    feed(f, S2C, failed, sizeof failed);
    flow_end(f);
    JSON_HAS(f, 0, "\"security_result_name\":\"failed\"");
    assert_int_equal(f->rec.ndevice_reports, 0);
}

static void test_connection_refused(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t refused[] = {0, 0, 0, 0, 26, 'T', 'o', 'o', ' ', 'm', 'a', 'n', 'y',
                                      ' ', 's', 'e', 'c', 'u', 'r', 'i', 't', 'y', ' ', 'f',
                                      'a', 'i', 'l', 'u', 'r', 'e', 's'};
    feed(f, S2C, refused, sizeof refused);
    flow_end(f);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"reason\":\"Too many security failures\"");
    JSON_HAS(f, 0, "\"connection_failed\":true");
    assert_int_equal(f->rec.ndevice_reports, 0); /* refused before any credentials */
}

static void test_undecoded_security_type(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t types[] = {1, 19};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 19;
    feed(f, C2S, &sel, 1);
    static const uint8_t tls[30] = {0, 2};
    feed(f, S2C, tls, sizeof tls);
    feed(f, C2S, tls, 20);
    flow_end(f);
    JSON_HAS(f, 0, "\"authentication\":\"vencrypt\",\"security_not_decoded\":true");
    JSON_HAS(f, 0, "\"counted_bytes\":20}");
    JSON_HAS(f, 0, "\"counted_bytes\":30}");
}

static void test_apple_desktop_name(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.889\n");
    feed_str(f, C2S, "RFB 003.889\n");
    static const uint8_t types[] = {1, 2};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 2;
    feed(f, C2S, &sel, 1);
    feed(f, S2C, challenge, 16);
    feed(f, C2S, challenge, 16);
    static const uint8_t ok[4] = {0}, ci = 1;
    feed(f, S2C, ok, 4);
    feed(f, C2S, &ci, 1);
    static const char name[] = "\0\0\0\0\0\x02\xbf\xfe\xe7\x03\xe0\0\0MacMini SSD";
    struct buf si = {{0}, 0};
    server_init(&si, name, sizeof name - 1);
    feed(f, S2C, si.b, si.n);
    flow_end(f);
    assert_string_equal(qw_record_identity(&f->rec, true, "vnc_desktop"), "MacMini SSD");
}

static void test_oversized_lengths(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB 003.008\n");
    static const uint8_t types[] = {1, 1};
    feed(f, S2C, types, 2);
    static const uint8_t sel = 1, ci = 0;
    feed(f, C2S, &sel, 1);
    static const uint8_t ok[4] = {0};
    feed(f, S2C, ok, 4);
    feed(f, C2S, &ci, 1);
    struct buf si = {{0}, 0};
    server_init(&si, "", 0);
    si.b[20] = 0x7f; /* name length 0x7f000000 */
    feed(f, S2C, si.b, si.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "vnc.invalid_length"), 1);
    /* A long clipboard text is counted and skipped as it streams; framing continues. */
    static const uint8_t cut[8] = {6, 0, 0, 0, 0, 0, 0x27, 0x10}; /* 10000 bytes */
    feed(f, C2S, cut, 8);
    static uint8_t text[10000];
    memset(text, 'z', sizeof text);
    feed(f, C2S, text, 3000);
    feed(f, C2S, text, 7000);
    static const uint8_t key[8] = {4, 1, 0, 0, 0, 0, 0, 0x61};
    feed(f, C2S, key, 8);
    /* SetEncodings with an absurd count ends the framing. */
    static const uint8_t enc[4] = {2, 0, 0xff, 0xff};
    feed(f, C2S, enc, 4);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "vnc.invalid_length"), 2);
    JSON_HAS(f, 0, "\"messages\":{\"key_event\":1,\"client_cut_text\":1,\"other\":1},"
                   "\"cut_text_bytes\":10000,\"counted_bytes\":4}");
}

static void test_bad_version(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    feed_str(f, C2S, "RFB x03.008\n");
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "vnc.invalid_version"), 1);
}

static void test_gap(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "RFB 003.008\n");
    PROTO.gap(&f->ctx, f->state, S2C);
    qw_pending_reset(&f->pend[S2C]);
    static const uint8_t junk[10] = {0};
    feed(f, S2C, junk, sizeof junk);
    flow_end(f);
    JSON_HAS(f, 0, "\"counted_bytes\":10}");
    JSON_HAS(f, 0, "\"framing_lost\":true");
}

static void test_probe(void **ts)
{
    (void)ts;
    for (int d = 0; d < 2; d++) {
        enum qw_dir dir = (enum qw_dir)d;
        assert_int_equal(PROTO.probe((const uint8_t *)"RFB 003.008\n", 12, dir), QW_PROBE_MATCH);
        assert_int_equal(PROTO.probe((const uint8_t *)"RFB 003.889\n", 12, dir), QW_PROBE_MATCH);
        assert_int_equal(PROTO.probe((const uint8_t *)"RFB 00", 6, dir), QW_PROBE_NEED_MORE);
        assert_int_equal(PROTO.probe((const uint8_t *)"RFB 3.8\n", 8, dir), QW_PROBE_NO);
        assert_int_equal(PROTO.probe((const uint8_t *)"RFB 003.008\r", 12, dir), QW_PROBE_NO);
        assert_int_equal(PROTO.probe((const uint8_t *)"RFX", 3, dir), QW_PROBE_NO);
        assert_int_equal(PROTO.probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, dir), QW_PROBE_NO);
        assert_int_equal(PROTO.probe((const uint8_t *)"SSH-2.0-x\r\n", 11, dir), QW_PROBE_NO);
        assert_int_equal(PROTO.probe((const uint8_t *)"\x16\x03\x01\x00", 4, dir), QW_PROBE_NO);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vnc_auth_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v37_none_has_no_result, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v33_server_chooses_and_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v38_failure_reason, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_undecoded_security_type, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_apple_desktop_name, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_lengths, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_none_failed_is_no_login, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
