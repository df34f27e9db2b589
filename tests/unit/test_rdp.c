/* Unit tests for the RDP parser (src/proto/rdp.c).
 *
 * PDUs are built from MS-RDPBCGR s.2.2.1.1-2.2.1.4 (X.224 CR/CC with RDP_NEG_REQ / RSP /
 * FAILURE, MCS Connect Initial and Response user data blocks), inside TPKT (RFC 1006). */
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

extern const struct qw_proto qw_proto_rdp;
#define PROTO qw_proto_rdp
#define FX_BUF_MAX 2048

#include "parser_fixture.h"

/* ---- PDU builders -------------------------------------------------------------------------- */

/* TPKT + X.224 CR or CC ([RDP] s.2.2.1.1, s.2.2.1.2) around `rdp` bytes. */
static void x224(struct buf *out, uint8_t code, const struct buf *rdp)
{
    size_t total = 4 + 7 + rdp->n;
    u8(out, 3);
    u8(out, 0);
    u8(out, (uint8_t)(total >> 8));
    u8(out, (uint8_t)total);
    u8(out, (uint8_t)(6 + rdp->n)); /* LI */
    u8(out, code);
    le16(out, 0);
    le16(out, 0x3412);
    u8(out, 0);
    put(out, rdp->b, rdp->n);
}

static void neg(struct buf *b, uint8_t type, uint8_t flags, uint32_t v)
{
    u8(b, type);
    u8(b, flags);
    le16(b, 8);
    le32(b, v);
}

/* TPKT + X.224 DT carrying `data`. */
static void dt(struct buf *out, const struct buf *data)
{
    size_t total = 4 + 3 + data->n;
    u8(out, 3);
    u8(out, 0);
    u8(out, (uint8_t)(total >> 8));
    u8(out, (uint8_t)total);
    u8(out, 2);
    u8(out, 0xF0);
    u8(out, 0x80);
    put(out, data->b, data->n);
}

/* An MCS Connect Initial: a BER prefix, the GCC "Duca" key, a two-byte PER length and a
 * TS_UD_CS_CORE block ([RDP] s.2.2.1.3.2). */
static void mcs_connect_initial(struct buf *out, const char *client_name)
{
    struct buf core = {{0}, 0};
    le16(&core, 0xC001);
    le16(&core, 0); /* length, patched below */
    le32(&core, 0x00080004);
    le16(&core, 1280);
    le16(&core, 1024);
    le16(&core, 0xCA01);
    le16(&core, 0xAA03);
    le32(&core, 0x00000407); /* German keyboard */
    le32(&core, 7601);
    uint8_t name[32] = {0};
    for (size_t i = 0; client_name[i] && i < 15; i++) name[2 * i] = (uint8_t)client_name[i];
    put(&core, name, sizeof name);
    le32(&core, 4); /* keyboard type */
    core.b[2] = (uint8_t)core.n;
    core.b[3] = (uint8_t)(core.n >> 8);
    struct buf d = {{0}, 0};
    static const uint8_t ber_prefix[] = {0x7f, 0x65, 0x82, 0x01, 0x00, 0x04, 0x01, 0x01, 0x04,
                                         0x01, 0x01, 0x01, 0x01, 0xff, 0x00, 0x05, 0x00, 0x14,
                                         0x7c, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0xc0, 0x00};
    put(&d, ber_prefix, sizeof ber_prefix);
    put(&d, "Duca", 4);
    u8(&d, (uint8_t)(0x80 | (core.n >> 8)));
    u8(&d, (uint8_t)core.n);
    put(&d, core.b, core.n);
    dt(out, &d);
}

static void mcs_connect_response(struct buf *out, uint32_t method, uint32_t level)
{
    struct buf blocks = {{0}, 0};
    le16(&blocks, 0x0C01);
    le16(&blocks, 8);
    le32(&blocks, 0x00080004);
    le16(&blocks, 0x0C02);
    le16(&blocks, 12);
    le32(&blocks, method);
    le32(&blocks, level);
    struct buf d = {{0}, 0};
    static const uint8_t prefix[] = {0x7f, 0x66, 0x81, 0x50, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00,
                                     0x30, 0x1a, 0x04, 0x81, 0x30, 0x00, 0x05, 0x00, 0x14, 0x7c,
                                     0x00, 0x01, 0x2a, 0x14, 0x76, 0x0a, 0x01, 0x01, 0x00, 0x01,
                                     0xc0, 0x00};
    put(&d, prefix, sizeof prefix);
    put(&d, "McDn", 4);
    u8(&d, (uint8_t)blocks.n);
    put(&d, blocks.b, blocks.n);
    dt(out, &d);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_nla_session(void **ts)
{
    struct fx *f = *ts;
    struct buf r = {{0}, 0}, cr = {{0}, 0}, s = {{0}, 0}, cc = {{0}, 0};
    put(&r, "Cookie: mstshash=operator\r\n", 27);
    neg(&r, 1, 0, 0x0B);
    x224(&cr, 0xE0, &r);
    neg(&s, 2, 0x1F, 2);
    x224(&cc, 0xD0, &s);
    feed(f, C2S, cr.b, cr.n);
    feed(f, S2C, cc.b, cc.n);
    static const uint8_t tls[40] = {0x16, 0x03, 0x01};
    feed(f, C2S, tls, sizeof tls);
    feed(f, S2C, tls, 30);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_string_equal(t->function_name, "session");
    assert_true(t->has_request && t->has_response);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"request\":{\"cookie\":\"mstshash=operator\",\"user\":\"operator\","
                   "\"requested_protocols\":[\"ssl\",\"hybrid\",\"hybrid_ex\"],"
                   "\"requested_protocols_value\":11}");
    JSON_HAS(f, 0, "\"response\":{\"selected_protocol\":\"hybrid\",\"selected_protocol_value\":2,"
                   "\"flags\":[\"extended_client_data_supported\",\"dynvc_gfx_protocol_supported\","
                   "\"negrsp_flag_reserved\",\"restricted_admin_mode_supported\","
                   "\"redirected_authentication_mode_supported\"]}");
    JSON_HAS(f, 0, "\"security\":\"hybrid\",\"counted_bytes_toserver\":40,"
                   "\"counted_bytes_toclient\":30");
    assert_string_equal(qw_record_identity(&f->rec, false, "rdp_cookie_user"), "operator");
    assert_string_equal(f->rec.session_user, "operator"); /* the ledger's user */
    assert_string_equal(f->rec.session_user_source, "rdp_cookie");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_tls_without_nla(void **ts)
{
    struct fx *f = *ts;
    struct buf r = {{0}, 0}, cr = {{0}, 0}, s = {{0}, 0}, cc = {{0}, 0};
    neg(&r, 1, 0, 0x03);
    x224(&cr, 0xE0, &r);
    neg(&s, 2, 0, 1);
    x224(&cc, 0xD0, &s);
    feed(f, C2S, cr.b, cr.n);
    feed(f, S2C, cc.b, cc.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.no_nla"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "TLS without NLA selected");
    JSON_HAS(f, 0, "\"security\":\"ssl\"");
}

static void standard_security_conv(struct buf *cr, struct buf *cc, struct buf *ci, struct buf *sr)
{
    struct buf r = {{0}, 0}, s = {{0}, 0};
    put(&r, "Cookie: mstshash=eng\r\n", 22);
    x224(cr, 0xE0, &r);
    x224(cc, 0xD0, &s); /* an old server: no RDP_NEG_RSP */
    mcs_connect_initial(ci, "ENG-WS01");
    mcs_connect_response(sr, 0x01, 2);
}

static void test_standard_security_clear_data(void **ts)
{
    struct fx *f = *ts;
    struct buf cr = {{0}, 0}, cc = {{0}, 0}, ci = {{0}, 0}, sr = {{0}, 0};
    standard_security_conv(&cr, &cc, &ci, &sr);
    feed(f, C2S, cr.b, cr.n);
    feed(f, S2C, cc.b, cc.n);
    feed(f, C2S, ci.b, ci.n);
    feed(f, S2C, sr.b, sr.n);
    static const uint8_t fastpath[10] = {0x44, 0x0a};
    feed(f, C2S, fastpath, sizeof fastpath);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.no_nla"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.weak_encryption"), 1);
    assert_string_equal(qw_record_identity(&f->rec, false, "hostname"), "ENG-WS01");
    JSON_HAS(f, 0, "\"client_core\":{\"client_name\":\"ENG-WS01\",\"client_build\":7601,"
                   "\"version\":\"0x00080004\",\"release\":\"5.0-8.1\",\"keyboard_layout\":"
                   "\"0x00000407\",\"desktop_width\":1280,\"desktop_height\":1024}");
    JSON_HAS(f, 0, "\"response\":{\"version\":\"0x00080004\",\"release\":\"5.0-8.1\","
                   "\"encryption_method\":[\"40bit\"],\"encryption_level\":\"client_compatible\"}");
    JSON_HAS(f, 0, "\"security\":\"rdp\",\"counted_bytes_toserver\":10,"
                   "\"counted_bytes_toclient\":0");
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    struct buf cr = {{0}, 0}, cc = {{0}, 0}, ci = {{0}, 0}, sr = {{0}, 0};
    standard_security_conv(&cr, &cc, &ci, &sr);
    const struct msg conv[] = {
        {C2S, cr.b, cr.n}, {S2C, cc.b, cc.n}, {C2S, ci.b, ci.n}, {S2C, sr.b, sr.n},
    };
    check_every_split(f, conv, sizeof conv / sizeof conv[0]);
    JSON_HAS(f, 0, "\"client_name\":\"ENG-WS01\"");
}

static void test_negotiation_failure(void **ts)
{
    struct fx *f = *ts;
    struct buf r = {{0}, 0}, cr = {{0}, 0}, s = {{0}, 0}, cc = {{0}, 0};
    put(&r, "Cookie: msts=3640205228.15629.0000\r\n", 36);
    neg(&r, 1, 0, 0x00);
    x224(&cr, 0xE0, &r);
    neg(&s, 3, 0, 5);
    x224(&cc, 0xD0, &s);
    /* both in one chunk each, and a second CR in the same chunk is ignored */
    uint8_t two[256];
    memcpy(two, cr.b, cr.n);
    memcpy(two + cr.n, cr.b, cr.n);
    feed(f, C2S, two, 2 * cr.n);
    feed(f, S2C, cc.b, cc.n);
    flow_end(f);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"routing_token\":\"msts=3640205228.15629.0000\"");
    JSON_HAS(f, 0, "\"response\":{\"failure_code\":5,\"failure_name\":"
                   "\"hybrid_required_by_server\"}");
    JSON_HAS(f, 0, "\"security\":\"none\"");
    assert_null(qw_record_identity(&f->rec, false, "rdp_cookie_user"));
    assert_int_equal(f->rec.nsession_users, 0); /* a routing token names no user */
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf r = {{0}, 0}, cr = {{0}, 0};
    put(&r, "Cookie: mstshash=x", 18); /* no CR LF */
    x224(&cr, 0xE0, &r);
    feed(f, C2S, cr.b, cr.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.invalid_cookie"), 1);
    struct buf s = {{0}, 0}, cc = {{0}, 0};
    u8(&s, 2);
    u8(&s, 0);
    le16(&s, 12); /* wrong length */
    le32(&s, 1);
    x224(&cc, 0xD0, &s);
    feed(f, S2C, cc.b, cc.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.invalid_negotiation"), 1);
    static const uint8_t badtpkt[] = {3, 0, 0, 2, 0, 0};
    fx_reset(f);
    feed(f, C2S, cr.b, cr.n);
    feed(f, C2S, badtpkt, sizeof badtpkt);
    /* a TPKT length below 7: reported, and the rest of the side is counted, not parsed */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "rdp.invalid_tpkt"), 1);
    flow_end(f);
    JSON_HAS(f, 0, "\"counted_bytes_toserver\":6");
}

static void test_oversized_user_data_block(void **ts)
{
    struct fx *f = *ts;
    struct buf cr = {{0}, 0}, r = {{0}, 0};
    put(&r, "Cookie: mstshash=a\r\n", 20);
    x224(&cr, 0xE0, &r);
    feed(f, C2S, cr.b, cr.n);
    struct buf d = {{0}, 0}, t = {{0}, 0};
    put(&d, "Duca", 4);
    u8(&d, 0x20);
    le16(&d, 0xC001);
    le16(&d, 0x4000); /* block longer than the data */
    le32(&d, 0x00080004);
    dt(&t, &d);
    feed(f, C2S, t.b, t.n);
    flow_end(f);
    assert_null(strstr(f->rec.txns[0].json, "client_core"));
}

static void test_probe(void **ts)
{
    (void)ts;
    struct buf r = {{0}, 0}, cookie = {{0}, 0}, negonly = {{0}, 0}, cc = {{0}, 0}, s = {{0}, 0};
    put(&r, "Cookie: mstshash=a\r\n", 20);
    x224(&cookie, 0xE0, &r);
    r.n = 0;
    neg(&r, 1, 0, 3);
    x224(&negonly, 0xE0, &r);
    neg(&s, 2, 0, 2);
    x224(&cc, 0xD0, &s);
    /* S7comm's and MMS's CRs carry TSAP parameters, no RDP negotiation. */
    static const uint8_t s7cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01,
                                   0x00, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02, 0xc0,
                                   0x01, 0x0a};
    static const uint8_t s7cc[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x02,
                                   0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02,
                                   0x01, 0x02};
    assert_int_equal(PROTO.probe(cookie.b, cookie.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROTO.probe(negonly.b, negonly.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROTO.probe(cc.b, cc.n, S2C), QW_PROBE_MATCH);
    assert_int_equal(PROTO.probe(cookie.b, 14, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROTO.probe(cookie.b, 3, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROTO.probe(s7cr, sizeof s7cr, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe(s7cr, 14, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe(s7cc, sizeof s7cc, S2C), QW_PROBE_NO);
    assert_int_equal(PROTO.probe(cookie.b, cookie.n, S2C), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"\x16\x03\x01\x00\x10", 5, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"SSH-2.0-x\r\n", 11, C2S), QW_PROBE_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nla_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tls_without_nla, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_standard_security_clear_data, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_negotiation_failure, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_user_data_block, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
