/* Unit tests for the RADIUS parser (src/proto/radius.c): every code and its pairing (access,
 * accounting, Status-Server, Disconnect, CoA), retransmissions, reused identifiers, unanswered
 * and unsolicited messages, the decoded attributes, the NAS-Identifier hostname fact, the
 * BlastRADIUS and malformed-message anomalies, what is never written, the probe, and messages
 * cut at every byte offset, with oversized lengths and padding past Length. */
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

extern const struct qw_proto qw_proto_radius;

#define PROTO qw_proto_radius
#define FX_BUF_MAX 8192

#include "parser_fixture.h"

/* ---- Message builder ([2865] s.3) ---------------------------------------------------------- */

/* A header with the authenticator filled with `auth`; msg_end writes Length. */
static void msg_begin(struct buf *b, uint8_t code, uint8_t id, uint8_t auth)
{
    b->n = 0;
    u8(b, code);
    u8(b, id);
    u16(b, 0);
    for (int i = 0; i < 16; i++) u8(b, auth);
}

static void msg_end(struct buf *b)
{
    b->b[2] = (uint8_t)(b->n >> 8);
    b->b[3] = (uint8_t)b->n;
}

static void attr(struct buf *b, uint8_t type, const void *v, size_t n)
{
    u8(b, type);
    u8(b, (uint8_t)(n + 2));
    put(b, v, n);
}

static void attr_str(struct buf *b, uint8_t type, const char *s)
{
    attr(b, type, s, strlen(s));
}

static void attr_u32(struct buf *b, uint8_t type, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    attr(b, type, x, 4);
}

static void attr_ip(struct buf *b, uint8_t type, uint8_t a, uint8_t c, uint8_t d, uint8_t e)
{
    uint8_t x[4] = {a, c, d, e};
    attr(b, type, x, 4);
}

static void attr_msg_auth(struct buf *b)
{
    uint8_t ma[16];
    memset(ma, 0xA5, sizeof ma);
    attr(b, 80, ma, sizeof ma);
}

static void send(struct fx *f, enum qw_dir dir, const struct buf *b)
{
    assert_int_equal(PROTO.probe(b->b, b->n, dir), QW_PROBE_MATCH);
    DATAGRAM_BUF(f, dir, b);
}

/* An EAP-Response/Identity in an Access-Request with a Message-Authenticator. */
static void access_request_eap(struct buf *b, uint8_t id, uint8_t auth)
{
    static const uint8_t eap[] = {2, 0, 0, 9, 1, 'j', 'o', 'e', 'x'};
    msg_begin(b, 1, id, auth);
    attr_ip(b, 4, 10, 0, 0, 1);
    attr_str(b, 32, "vpn-gw01");
    attr_str(b, 1, "joe.vendor");
    attr_u32(b, 5, 7);
    attr_u32(b, 61, 5);
    attr_u32(b, 6, 2);
    attr_str(b, 31, "203.0.113.9");
    attr_str(b, 30, "10.0.0.1");
    attr(b, 79, eap, sizeof eap);
    attr_msg_auth(b);
    msg_end(b);
}

/* ---- Access ---------------------------------------------------------------------------------- */

static void test_access_challenge_then_accept(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    access_request_eap(b, 5, 0x11);
    send(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 0);
    /* Access-Challenge: EAP-Request/MD5, State (never written), Reply-Message. */
    static const uint8_t eap_md5[] = {1, 1, 0, 6, 4, 0};
    msg_begin(b, 11, 5, 0x22);
    attr(b, 79, eap_md5, sizeof eap_md5);
    attr_str(b, 24, "SECRETSTATE");
    attr_str(b, 18, "Hello \"joe\"\n");
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "access_request");
    assert_int_equal(t->ops, QW_OP_AUTH);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"request\":{\"code\":1,\"code_name\":\"access_request\",\"identifier\":5,"
                   "\"length\":");
    JSON_HAS(f, 0, "\"user_name\":\"joe.vendor\",\"nas_ip\":\"10.0.0.1\","
                   "\"nas_identifier\":\"vpn-gw01\",\"calling_station_id\":\"203.0.113.9\","
                   "\"called_station_id\":\"10.0.0.1\",\"nas_port\":7,\"nas_port_type\":5,"
                   "\"nas_port_type_name\":\"virtual\",\"service_type\":2,"
                   "\"service_type_name\":\"framed\",\"eap\":{\"code\":2,\"code_name\":\"response\","
                   "\"type\":1,\"type_name\":\"identity\"},\"message_authenticator\":true,"
                   "\"attribute_count\":10,\"attributes\":[4,32,1,5,61,6,31,30,79,80]}");
    JSON_HAS(f, 0, "\"response\":{\"code\":11,\"code_name\":\"access_challenge\",\"identifier\":5,");
    JSON_HAS(f, 0, "\"reply_message\":\"Hello \\\"joe\\\"\\n\",\"eap\":{\"code\":1,"
                   "\"code_name\":\"request\",\"type\":4,\"type_name\":\"md5_challenge\"}");
    JSON_LACKS(f, 0, "SECRETSTATE");
    JSON_LACKS(f, 0, "state");
    /* The NAS names itself: a hostname fact about the flow's client. */
    identity_is(f, false, "hostname", "vpn-gw01");
    assert_int_equal(count_identity(f, "hostname"), 1);
    /* Next round: Access-Accept with EAP-Success. */
    access_request_eap(b, 6, 0x33);
    send(f, C2S, b);
    static const uint8_t eap_ok[] = {3, 1, 0, 4};
    msg_begin(b, 2, 6, 0x44);
    attr_ip(b, 8, 192, 168, 77, 20);
    attr(b, 79, eap_ok, sizeof eap_ok);
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"response\":{\"code\":2,\"code_name\":\"access_accept\",\"identifier\":6,"
                   "\"length\":50,\"framed_ip\":\"192.168.77.20\",\"eap\":{\"code\":3,"
                   "\"code_name\":\"success\"},\"message_authenticator\":true");
    assert_int_equal(count_identity(f, "hostname"), 1); /* the same name is no new fact */
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_reject_is_error_and_weak_without_authenticator(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    uint8_t pw[16];
    memset(pw, 0x5C, sizeof pw);
    for (int round = 0; round < 2; round++) {
        msg_begin(b, 1, (uint8_t)(9 + round), (uint8_t)(0x50 + round));
        attr_str(b, 1, "operator");
        attr(b, 2, pw, sizeof pw);
        attr_ip(b, 4, 10, 1, 1, 1);
        msg_end(b);
        send(f, C2S, b);
        msg_begin(b, 3, (uint8_t)(9 + round), 0x60);
        attr_str(b, 18, "denied");
        msg_end(b);
        send(f, S2C, b);
    }
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 0)->error);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_AUTH);
    JSON_HAS(f, 0, "\"message_authenticator\":false");
    JSON_HAS(f, 0, "\"attributes\":[1,2,4]");
    JSON_LACKS(f, 0, "\\\\\\\\"); /* the password's bytes (0x5C) are nowhere */
    JSON_LACKS(f, 0, "password\":");
    /* Once per flow per code: one for the request (about the NAS that sent it), one for the
     * reject (about the server). */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.weak_no_message_authenticator"), 2);
    assert_string_equal(f->rec.anomalies[0].detail, "access_request with user_password");
    assert_true(f->rec.anomalies[0].about_client);
    assert_string_equal(f->rec.anomalies[1].detail, "access_reject");
    assert_false(f->rec.anomalies[1].about_client);
    /* An Accept without one is a kind of its own; a CHAP request adds nothing (same kind). */
    uint8_t chap[17];
    memset(chap, 1, sizeof chap);
    msg_begin(b, 1, 20, 0x70);
    attr_str(b, 1, "operator");
    attr(b, 3, chap, sizeof chap);
    attr_str(b, 32, "sw-core");
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 2, 20, 0x71);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.weak_no_message_authenticator"), 3);
    assert_string_equal(f->rec.anomalies[2].detail, "access_accept");
    assert_false(txn_at(f, 2)->error);
    JSON_HAS(f, 2, "\"response\":{\"code\":2,\"code_name\":\"access_accept\",\"identifier\":20,"
                   "\"length\":20,\"message_authenticator\":false,\"attribute_count\":0}");
    free(b);
}

static void test_weak_eap_chap_and_challenge(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    static const uint8_t eap[] = {2, 0, 0, 5, 1};
    msg_begin(b, 1, 1, 1);
    attr_str(b, 1, "u");
    attr(b, 79, eap, sizeof eap);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 11, 1, 2);
    attr(b, 79, eap, sizeof eap);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.weak_no_message_authenticator"), 2);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "access_request with eap_message (invalid, RFC 3579)");
    assert_string_equal(f->rec.anomalies[1].detail, "access_challenge");
    /* CHAP in a fresh flow. */
    fx_reset(f);
    uint8_t chap[17] = {0};
    msg_begin(b, 1, 1, 1);
    attr(b, 3, chap, sizeof chap);
    msg_end(b);
    send(f, C2S, b);
    assert_string_equal(f->rec.anomalies[0].detail, "access_request with chap_password");
    /* An Access-Request with only State (the second round of a challenge) and no credential is
     * not flagged; Accounting is not either. */
    fx_reset(f);
    msg_begin(b, 1, 2, 2);
    attr_str(b, 24, "st");
    attr_str(b, 32, "nas");
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 4, 3, 3);
    attr_u32(b, 40, 1);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 5, 3, 3);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

/* ---- Accounting ---------------------------------------------------------------------------- */

static void test_accounting_start_stop(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    msg_begin(b, 4, 40, 0x01);
    attr_u32(b, 40, 1);
    attr_str(b, 1, "vendor-eng");
    attr_ip(b, 8, 172, 16, 5, 9);
    attr_str(b, 44, "sess-0001");
    attr_ip(b, 4, 10, 9, 9, 1);
    attr_str(b, 32, "fw-edge");
    attr_u32(b, 61, 5);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 5, 40, 0x02);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 4);
    assert_string_equal(t->function_name, "accounting_request");
    assert_int_equal(t->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"request\":{\"code\":4,\"code_name\":\"accounting_request\",\"identifier\":40,"
                   "\"length\":");
    JSON_HAS(f, 0, "\"user_name\":\"vendor-eng\",\"nas_ip\":\"10.9.9.1\",\"nas_identifier\":"
                   "\"fw-edge\",\"framed_ip\":\"172.16.5.9\",\"acct_session_id\":\"sess-0001\","
                   "\"nas_port_type\":5,\"nas_port_type_name\":\"virtual\",\"acct_status_type\":1,"
                   "\"acct_status_type_name\":\"start\"");
    JSON_HAS(f, 0, "\"response\":{\"code\":5,\"code_name\":\"accounting_response\","
                   "\"identifier\":40,\"length\":20,\"message_authenticator\":false,"
                   "\"attribute_count\":0}");
    identity_is(f, false, "hostname", "fw-edge");
    /* Stop: counters with gigawords ([2869] s.5.1), session time, terminate cause. */
    msg_begin(b, 4, 41, 0x03);
    attr_u32(b, 40, 2);
    attr_str(b, 1, "vendor-eng");
    attr_ip(b, 8, 172, 16, 5, 9);
    attr_str(b, 44, "sess-0001");
    attr_u32(b, 46, 3600);
    attr_u32(b, 42, 1000);
    attr_u32(b, 52, 2);
    attr_u32(b, 53, 1);
    attr_u32(b, 43, 5);
    attr_u32(b, 47, 300);
    attr_u32(b, 48, 400);
    attr_u32(b, 49, 1);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 5, 41, 0x04);
    msg_end(b);
    send(f, S2C, b);
    JSON_HAS(f, 1, "\"framed_ip\":\"172.16.5.9\",\"acct_session_id\":\"sess-0001\","
                   "\"acct_status_type\":2,\"acct_status_type_name\":\"stop\","
                   "\"acct_session_time\":3600,\"acct_input_octets\":8589935592,"
                   "\"acct_output_octets\":4294967301,\"acct_input_packets\":300,"
                   "\"acct_output_packets\":400,\"acct_terminate_cause\":1,"
                   "\"acct_terminate_cause_name\":\"user_request\"");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

/* An Accounting-Request of `status` for `user` on 10.50.8.a, identifier id. */
static void acct(struct buf *b, uint8_t id, uint32_t status, const char *user, uint8_t a,
                 uint8_t auth)
{
    msg_begin(b, 4, id, auth);
    attr_u32(b, 40, status);
    if (user) attr_str(b, 1, user);
    attr_ip(b, 8, a == 0 ? 0 : 10, a == 0 ? 0 : 50, a == 0 ? 0 : 8, a);
    msg_end(b);
}

/* Who holds a framed address goes to the ledger (emit.h qw_emit_address_user): a Start or
 * Interim-Update begins a use, a Stop ends it, an Access-Accept's address is the asker's; a
 * retransmission is not handed over twice, and no user, an address that asks the NAS or the
 * user to choose (255.255.255.254/255), 0.0.0.0 or an Accounting-On give nothing. */
static void test_address_users(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    acct(b, 1, 1, "vendor-eng7", 23, 0x11);
    send(f, C2S, b);
    assert_int_equal(f->rec.naddress_users, 1);
    assert_string_equal(f->rec.address_user_ip, "10.50.8.23");
    assert_string_equal(f->rec.address_user, "vendor-eng7");
    assert_string_equal(f->rec.address_user_source, "radius_accounting");
    assert_false(f->rec.address_user_ended);
    send(f, C2S, b); /* the same request again: a retransmission */
    assert_int_equal(f->rec.naddress_users, 1);
    acct(b, 2, 3, "vendor-eng7", 23, 0x12); /* Interim-Update */
    send(f, C2S, b);
    assert_int_equal(f->rec.naddress_users, 2);
    assert_false(f->rec.address_user_ended);
    acct(b, 3, 2, "vendor-eng7", 23, 0x13); /* Stop */
    send(f, C2S, b);
    assert_int_equal(f->rec.naddress_users, 3);
    assert_true(f->rec.address_user_ended);
    acct(b, 4, 1, NULL, 24, 0x14);         /* no User-Name */
    send(f, C2S, b);
    acct(b, 5, 1, "x", 0, 0x15);           /* 0.0.0.0 */
    send(f, C2S, b);
    acct(b, 6, 7, "x", 25, 0x16);          /* Accounting-On */
    send(f, C2S, b);
    msg_begin(b, 4, 7, 0x17);              /* 255.255.255.254: the NAS chooses */
    attr_u32(b, 40, 1);
    attr_str(b, 1, "x");
    attr_ip(b, 8, 255, 255, 255, 254);
    msg_end(b);
    send(f, C2S, b);
    assert_int_equal(f->rec.naddress_users, 3);
    /* Access-Accept: the asker's User-Name, the answer's Framed-IP-Address */
    msg_begin(b, 1, 8, 0x18);
    attr_str(b, 1, "vendor-eng12");
    attr_msg_auth(b);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 2, 8, 0x19);
    attr_ip(b, 8, 10, 50, 8, 29);
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.naddress_users, 4);
    assert_string_equal(f->rec.address_user_ip, "10.50.8.29");
    assert_string_equal(f->rec.address_user, "vendor-eng12");
    assert_string_equal(f->rec.address_user_source, "radius_access");
    assert_false(f->rec.address_user_ended);
    free(b);
}

/* ---- Dynamic authorization and Status-Server ----------------------------------------------- */

static void test_disconnect_and_coa(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    /* The server tells the NAS to end a session; the NAS-Identifier names the receiver. */
    msg_begin(b, 40, 7, 0x10);
    attr_str(b, 1, "vendor-eng");
    attr_str(b, 44, "sess-0001");
    attr_str(b, 32, "fw-edge");
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 42, 7, 0x11);
    attr_u32(b, 101, 503);
    msg_end(b);
    send(f, S2C, b);
    msg_begin(b, 43, 8, 0x12);
    attr_str(b, 44, "sess-0002");
    attr_u32(b, 27, 600);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 44, 8, 0x13);
    msg_end(b);
    send(f, S2C, b);
    msg_begin(b, 40, 9, 0x14);
    attr_str(b, 44, "sess-0003");
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 41, 9, 0x15);
    msg_end(b);
    send(f, S2C, b);
    msg_begin(b, 43, 10, 0x16);
    attr_str(b, 44, "sess-0004");
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 45, 10, 0x17);
    attr_u32(b, 101, 401);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 4);
    static const uint32_t fn[] = {40, 43, 40, 43};
    static const bool err[] = {true, false, false, true};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(txn_at(f, i)->function, fn[i]);
        assert_int_equal(txn_at(f, i)->ops, QW_OP_CONTROL | QW_OP_SESSION);
        assert_int_equal(txn_at(f, i)->error, err[i]);
        assert_true(txn_at(f, i)->has_request && txn_at(f, i)->has_response);
    }
    assert_string_equal(txn_at(f, 0)->function_name, "disconnect_request");
    assert_string_equal(txn_at(f, 1)->function_name, "coa_request");
    JSON_HAS(f, 0, "\"response\":{\"code\":42,\"code_name\":\"disconnect_nak\",\"identifier\":7,"
                   "\"length\":26,\"error_cause\":503,"
                   "\"error_cause_name\":\"session_context_not_found\"");
    JSON_HAS(f, 1, "\"code_name\":\"coa_ack\"");
    JSON_HAS(f, 2, "\"code_name\":\"disconnect_ack\"");
    JSON_HAS(f, 3, "\"code_name\":\"coa_nak\"");
    JSON_HAS(f, 3, "\"error_cause\":401,\"error_cause_name\":\"unsupported_attribute\"");
    assert_int_equal(count_identity(f, "hostname"), 0);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_status_server(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    msg_begin(b, 12, 200, 0x01);
    attr_msg_auth(b);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 2, 200, 0x02);
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    msg_begin(b, 12, 201, 0x03);
    attr_msg_auth(b);
    msg_end(b);
    send(f, C2S, b);
    msg_begin(b, 5, 201, 0x04);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(txn_at(f, i)->function, 12);
        assert_string_equal(txn_at(f, i)->function_name, "status_server");
        assert_int_equal(txn_at(f, i)->ops, QW_OP_DIAGNOSTIC);
        assert_true(txn_at(f, i)->has_response);
    }
    free(b);
}

/* ---- Pairing ------------------------------------------------------------------------------- */

static void test_retransmission_and_reused_identifier(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    access_request_eap(b, 3, 0xAA);
    send(f, C2S, b);
    send(f, C2S, b); /* the same request again: a retransmission */
    send(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 0);
    msg_begin(b, 3, 3, 0x01);
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"retransmissions\":2}");
    assert_true(txn_at(f, 0)->has_response && txn_at(f, 0)->error);
    /* The same identifier with another authenticator: a new request; the first went
     * unanswered. */
    access_request_eap(b, 4, 0xB0);
    send(f, C2S, b);
    access_request_eap(b, 4, 0xB1);
    send(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_request && !txn_at(f, 1)->has_response);
    JSON_LACKS(f, 1, "retransmissions");
    msg_begin(b, 2, 4, 0x01);
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_true(txn_at(f, 2)->has_request && txn_at(f, 2)->has_response);
    /* A second answer to the same identifier has nothing to pair with: response-only. */
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 4);
    assert_false(txn_at(f, 3)->has_request);
    assert_int_equal(txn_at(f, 3)->function, 2);
    assert_string_equal(txn_at(f, 3)->function_name, "access_accept");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_AUTH);
    JSON_LACKS(f, 3, "\"request\"");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_family_and_direction_must_match(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    access_request_eap(b, 50, 1);
    send(f, C2S, b);
    msg_begin(b, 5, 50, 2); /* accounting response with the same identifier */
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    msg_begin(b, 11, 50, 3); /* a challenge from the requester's own side */
    attr_msg_auth(b);
    msg_end(b);
    send(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 1)->has_request);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_true(txn_at(f, 2)->has_request && !txn_at(f, 2)->has_response);
    assert_int_equal(txn_at(f, 2)->function, 1);
    free(b);
}

static void test_queue_bounded_and_flushed_in_order(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    for (uint8_t id = 0; id < 11; id++) {
        msg_begin(b, 4, id, id);
        attr_u32(b, 40, 3);
        msg_end(b);
        send(f, C2S, b);
    }
    /* 8 wait; the 3 oldest went out unanswered as the queue filled. */
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "\"identifier\":%zu,", i);
        JSON_HAS(f, i, want);
        assert_false(txn_at(f, i)->has_response);
    }
    msg_begin(b, 5, 9, 0);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 3, "\"request\":{\"code\":4,\"code_name\":\"accounting_request\",\"identifier\":9,");
    assert_true(txn_at(f, 3)->response_ns > txn_at(f, 3)->request_ns);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 11);
    static const unsigned order[] = {3, 4, 5, 6, 7, 8, 10};
    for (size_t i = 0; i < 7; i++) {
        char want[32];
        snprintf(want, sizeof want, "\"identifier\":%u,", order[i]);
        JSON_HAS(f, 4 + i, want);
        assert_false(txn_at(f, 4 + i)->has_response);
    }
    flow_end(f); /* nothing left */
    assert_int_equal(f->rec.ntxns, 11);
    free(b);
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void test_nas_identifier_fact(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    static const char *const names[] = {"nas-a", "nas-a", "nas-b", "bad name", "ctl\x01", ""};
    for (size_t i = 0; i < 6; i++) {
        msg_begin(b, 4, (uint8_t)i, (uint8_t)i);
        attr_u32(b, 40, 3);
        if (names[i][0]) attr_str(b, 32, names[i]);
        msg_end(b);
        send(f, C2S, b);
    }
    /* Once per value, printable names only. */
    assert_int_equal(count_identity_of(f, false, "hostname"), 2);
    assert_true(has_fact(f, false, "hostname", "nas-a"));
    assert_true(has_fact(f, false, "hostname", "nas-b"));
    assert_int_equal(count_identity_of(f, true, "hostname"), 0);
    /* A flow seen from the server's side first: the request comes to the client end, so the
     * fact is about the flow's server end, the NAS that sent it. */
    fx_reset(f);
    msg_begin(b, 1, 1, 1);
    attr_str(b, 32, "ap-17");
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    identity_is(f, true, "hostname", "ap-17");
    /* A response's NAS-Identifier is nobody's name. */
    fx_reset(f);
    msg_begin(b, 2, 1, 1);
    attr_str(b, 32, "ap-17");
    attr_msg_auth(b);
    msg_end(b);
    send(f, S2C, b);
    assert_int_equal(f->rec.nidentities, 0);
    free(b);
}

/* ---- Attributes ---------------------------------------------------------------------------- */

static void test_ipv6_vendor_lists_and_bounds(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    msg_begin(b, 4, 1, 1);
    attr_u32(b, 40, 3);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    attr(b, 95, v6, 16);
    static const uint8_t pfx[] = {0, 48, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x07};
    attr(b, 97, pfx, sizeof pfx);
    /* 8 vendor-specific attributes from 7 vendors: 6 listed (bounded), one repeated. */
    static const uint32_t vendors[] = {9, 311, 9, 14988, 2636, 3076, 25461, 12356};
    for (size_t i = 0; i < 8; i++) {
        uint8_t v[6] = {(uint8_t)(vendors[i] >> 24), (uint8_t)(vendors[i] >> 16),
                        (uint8_t)(vendors[i] >> 8), (uint8_t)vendors[i], 1, 0};
        attr(b, 26, v, sizeof v);
    }
    char long_name[200];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    attr_str(b, 1, long_name);
    for (int i = 0; i < 50; i++) attr_u32(b, 85, 60); /* Acct-Interim-Interval, 50 times */
    msg_end(b);
    send(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"nas_ipv6\":\"2001:db8::1\"");
    JSON_HAS(f, 0, "\"framed_ipv6_prefix\":\"2001:db8:7::/48\"");
    JSON_HAS(f, 0, "\"vendor_ids\":[9,311,14988,2636,3076,25461],\"vendor_ids_truncated\":true,"
                   "\"attribute_count\":62,\"attributes\":[40,95,97,26,26,26,26,26,26,26,26,1,85,");
    /* User-Name kept to 64 bytes; the attribute list to 48 types. */
    char want[80];
    snprintf(want, sizeof want, "\"user_name\":\"%.64s\",", long_name);
    JSON_HAS(f, 0, want);
    JSON_HAS(f, 0, "85,85,85,85]");
    const char *j = json_of(f, 0);
    const char *list = strstr(j, "\"attributes\":[");
    size_t commas = 0;
    for (const char *p = list; *p && *p != ']'; p++) commas += *p == ',';
    assert_int_equal(commas, 47);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_invalid_attribute_lengths(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    /* Each message has one attribute of a length its type does not allow: the message is
     * recorded without that value, and named in the anomaly. */
    static const struct {
        uint8_t type, len;
        const char *detail, *absent;
    } cases[] = {
        {4, 5, "attribute 4 (nas_ip_address) length 7 invalid for its type", "nas_ip"},
        {8, 6, "attribute 8 (framed_ip_address) length 8 invalid for its type", "framed_ip"},
        {80, 15, "attribute 80 (message_authenticator) length 17 invalid for its type", "x"},
        {5, 2, "attribute 5 (nas_port) length 4 invalid for its type", "nas_port"},
        {1, 0, "attribute 1 (user_name) length 2 invalid for its type", "user_name"},
        {95, 4, "attribute 95 (nas_ipv6_address) length 6 invalid for its type", "nas_ipv6"},
        {26, 4, "attribute 26 (vendor_specific) length 6 invalid for its type", "vendor_ids"},
        {2, 15, "attribute 2 (user_password) length 17 invalid for its type", "x"},
        {3, 16, "attribute 3 (chap_password) length 18 invalid for its type", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_reset(f);
        uint8_t v[32];
        memset(v, 0x41, sizeof v);
        msg_begin(b, 1, 1, 1);
        attr_str(b, 32, "nas");
        attr(b, cases[i].type, v, cases[i].len);
        attr_msg_auth(b);
        msg_end(b);
        /* The probe refuses it; once the flow matched, the parser records it. */
        assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
        DATAGRAM_BUF(f, C2S, b);
        flow_end(f);
        assert_int_equal(f->rec.ntxns, 1);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.invalid_message"), 1);
        assert_string_equal(f->rec.anomalies[0].detail, cases[i].detail);
        char absent[40];
        snprintf(absent, sizeof absent, "\"%s\":", cases[i].absent);
        JSON_LACKS(f, 0, absent);
        JSON_LACKS(f, 0, "malformed");
    }
    /* An IPv6 prefix longer than 128 bits, or with fewer bytes than its length needs. */
    static const uint8_t bad_pfx[][4] = {{0, 129, 0x20, 0x01}, {0, 64, 0x20, 0x01}};
    for (size_t i = 0; i < 2; i++) {
        fx_reset(f);
        msg_begin(b, 4, 1, 1);
        attr_u32(b, 40, 1);
        attr(b, 97, bad_pfx[i], 4);
        msg_end(b);
        DATAGRAM_BUF(f, C2S, b);
        flow_end(f);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.invalid_message"), 1);
        JSON_LACKS(f, 0, "framed_ipv6_prefix");
    }
    free(b);
}

static void test_attribute_walk_failures(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    /* Attribute length 1, then one running past Length, then a lone type byte at the end. */
    static const char *const details[] = {
        "attribute 1 (user_name) length 1 below 2",
        "attribute 1 (user_name) length 20 runs 14 bytes past the end",
        "attribute 31 (calling_station_id) header cut by the length",
    };
    for (size_t i = 0; i < 3; i++) {
        fx_reset(f);
        msg_begin(b, 4, 2, 2);
        attr_u32(b, 40, 1);
        attr_ip(b, 8, 10, 2, 3, 4);
        if (i == 2) {
            u8(b, 31);
        } else {
            u8(b, 1);
            u8(b, i == 0 ? 1 : 20);
            put(b, "abcd", 4);
        }
        msg_end(b);
        assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
        DATAGRAM_BUF(f, C2S, b);
        flow_end(f);
        assert_int_equal(f->rec.ntxns, 1);
        assert_string_equal(f->rec.anomalies[0].detail, details[i]);
        /* What came before is kept; the message is marked. */
        JSON_HAS(f, 0, "\"framed_ip\":\"10.2.3.4\"");
        JSON_HAS(f, 0, "\"malformed\":true");
    }
    /* A malformed Access-Request without a Message-Authenticator is not called weak: the walk
     * did not reach its end. */
    fx_reset(f);
    msg_begin(b, 1, 1, 1);
    uint8_t pw[16] = {0};
    attr(b, 2, pw, 16);
    u8(b, 80);
    u8(b, 40);
    msg_end(b);
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.weak_no_message_authenticator"), 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.invalid_message"), 1);
    free(b);
}

static void test_padding_past_length(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    msg_begin(b, 4, 3, 3);
    attr_u32(b, 40, 1);
    attr_str(b, 1, "pad");
    msg_end(b);
    size_t len = b->n;
    put(b, "\0\0\0\0\xff\xff\x01\x02", 8); /* octets past Length are padding ([2865] s.3) */
    send(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    char want[64];
    snprintf(want, sizeof want, "\"length\":%zu,\"padding\":8,\"user_name\":\"pad\"", len);
    JSON_HAS(f, 0, want);
    JSON_HAS(f, 0, "\"attribute_count\":2");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

/* ---- Header faults, cuts, oversized lengths ------------------------------------------------ */

static void test_cut_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    access_request_eap(b, 5, 0x11);
    uint8_t *cut = malloc(b->n);
    assert_non_null(cut);
    for (size_t n = 0; n < b->n; n++) {
        fx_reset(f);
        memcpy(cut, b->b, n);
        assert_int_equal(PROTO.probe(cut, n, C2S), QW_PROBE_NO);
        fx_datagram(f, C2S, cut, n);
        flow_end(f);
        /* Shorter than its Length: no record, one anomaly saying why. */
        assert_int_equal(f->rec.ntxns, 0);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.invalid_message"), 1);
        char want[96];
        if (n < 20) snprintf(want, sizeof want, "datagram of %zu bytes shorter than the header", n);
        else snprintf(want, sizeof want, "length %zu in a datagram of %zu bytes", b->n, n);
        assert_string_equal(f->rec.anomalies[0].detail, want);
    }
    free(cut);
    fx_reset(f);
    send(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

/* An Accounting-Request of exactly `total` bytes: Acct-Status-Type, then Reply-Messages. */
static void big_msg(struct buf *b, size_t total)
{
    static uint8_t text[253];
    memset(text, 'r', sizeof text);
    msg_begin(b, 4, 1, 1);
    attr_u32(b, 40, 3);
    while (total - b->n > 255 + 3) attr(b, 18, text, 253);
    attr(b, 18, text, total - b->n - 2);
    msg_end(b);
    assert_int_equal(b->n, total);
}

static void test_bad_headers_counted_a_few_times(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    msg_begin(b, 4, 1, 1);
    attr_u32(b, 40, 1);
    msg_end(b);
    b->b[3] = 19; /* Length below the header */
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    DATAGRAM_BUF(f, C2S, b);
    assert_string_equal(f->rec.anomalies[0].detail, "length 19 in a datagram of 26 bytes");
    struct buf *big = buf_new();
    big_msg(big, 4097); /* one byte over the maximum, whole in its datagram */
    assert_int_equal(PROTO.probe(big->b, big->n, C2S), QW_PROBE_NO);
    DATAGRAM_BUF(f, C2S, big);
    assert_string_equal(f->rec.anomalies[1].detail, "length 4097 in a datagram of 4097 bytes");
    b->b[2] = 0x10; /* Length 4122: too long, and past the datagram */
    b->b[3] = 26;
    DATAGRAM_BUF(f, C2S, b);
    assert_string_equal(f->rec.anomalies[2].detail, "length 4122 in a datagram of 26 bytes");
    b->b[2] = 0;
    b->b[0] = 6; /* no such code */
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    DATAGRAM_BUF(f, C2S, b);
    assert_string_equal(f->rec.anomalies[3].detail, "unknown code 6");
    DATAGRAM_BUF(f, C2S, b); /* a fifth: not reported, the flow has had its few */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "radius.invalid_message"), 4);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 0);
    /* The largest allowed, exactly 4096, is fine. */
    fx_reset(f);
    big_msg(big, 4096);
    send(f, C2S, big);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"length\":4096,");
    free(big);
    free(b);
}

/* ---- Probe ---------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    struct buf *b = buf_new();
    /* A bare 20-byte answer matches only when it fills the datagram. */
    msg_begin(b, 5, 1, 0x42);
    msg_end(b);
    assert_int_equal(PROTO.probe(b->b, 20, C2S), QW_PROBE_MATCH);
    u8(b, 0);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    /* A request needs an attribute. */
    msg_begin(b, 1, 1, 0x42);
    msg_end(b);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    /* Attribute type 0 is no RADIUS attribute. */
    msg_begin(b, 4, 1, 0);
    attr_u32(b, 0, 1);
    msg_end(b);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    b->b[20] = 40;
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    /* Every code matches, in either direction. */
    static const uint8_t codes[] = {1, 2, 3, 4, 5, 11, 12, 40, 41, 42, 43, 44, 45};
    for (size_t i = 0; i < sizeof codes; i++) {
        b->b[0] = codes[i];
        assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
        assert_int_equal(PROTO.probe(b->b, b->n, S2C), QW_PROBE_MATCH);
    }
    for (unsigned c = 0; c < 256; c++) {
        bool known = memchr(codes, (int)c, sizeof codes) != NULL;
        b->b[0] = (uint8_t)c;
        assert_int_equal(PROTO.probe(b->b, b->n, C2S), known ? QW_PROBE_MATCH : QW_PROBE_NO);
    }
    /* Other protocols' datagrams. */
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1, 0, 0, 0};
    assert_int_equal(PROTO.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
    uint8_t ntp[48] = {0x23};
    assert_int_equal(PROTO.probe(ntp, sizeof ntp, C2S), QW_PROBE_NO);
    static const uint8_t snmp[] = {0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b',
                                   'l', 'i', 'c', 0xa0, 0x19, 0x02, 0x04, 0, 0, 0, 1, 0x02};
    assert_int_equal(PROTO.probe(snmp, sizeof snmp, C2S), QW_PROBE_NO);
    uint8_t zeros[64] = {0};
    assert_int_equal(PROTO.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    zeros[0] = 1;
    zeros[3] = 64; /* a request of zeros: attribute type 0 */
    assert_int_equal(PROTO.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    free(b);
}

static void test_state_is_small(void **ts)
{
    (void)ts;
    assert_true(PROTO.state_size > 0 && PROTO.state_size < 8192);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_access_challenge_then_accept),
        FX_TEST(test_reject_is_error_and_weak_without_authenticator),
        FX_TEST(test_weak_eap_chap_and_challenge),
        FX_TEST(test_accounting_start_stop),
        FX_TEST(test_address_users),
        FX_TEST(test_disconnect_and_coa),
        FX_TEST(test_status_server),
        FX_TEST(test_retransmission_and_reused_identifier),
        FX_TEST(test_family_and_direction_must_match),
        FX_TEST(test_queue_bounded_and_flushed_in_order),
        FX_TEST(test_nas_identifier_fact),
        FX_TEST(test_ipv6_vendor_lists_and_bounds),
        FX_TEST(test_invalid_attribute_lengths),
        FX_TEST(test_attribute_walk_failures),
        FX_TEST(test_padding_past_length),
        FX_TEST(test_cut_at_every_offset),
        FX_TEST(test_bad_headers_counted_a_few_times),
        FX_TEST(test_probe),
        FX_TEST(test_state_is_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
