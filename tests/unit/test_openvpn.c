/* Unit tests for the OpenVPN parser (src/proto/openvpn.c): the probe (each mode, UDP and TCP,
 * and what it must refuse), the mode worked out per flow, the hard reset exchange and soft reset
 * records, the summary's counts, the anomalies, TCP split invariance and resynchronisation after
 * a gap, and truncation at every length. Then the TLS handshake of the control channel: decoded
 * values (certificates both ways, version, cipher suite, SNI, validity, self-signed, identity
 * facts), retransmitted, reordered and lost control packets, every TCP split, garbage and cut
 * TLS, tls-crypt (nothing read), renegotiation and alerts. Packets are built by hand from the
 * wire format in the parser's banner, TLS from RFC 5246 and certificates from RFC 5280. */
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

extern const struct qw_proto qw_proto_openvpn;

#define PROTO qw_proto_openvpn
#define FX_BUF_MAX 8192
#define FX_T0 1700000000000000000ull /* 2023-11-14T22:13:20Z: certificates are judged then */

#include "parser_fixture.h"

enum { PLAIN, AUTH, CRYPT };

#define SID_C 0x1122334455667788ull
#define SID_S 0x99aabbccddeeff01ull
#define NET_TIME 1700000000u /* 2023-11-14T22:13:20Z */

/* How a control packet is wrapped. */
struct wrap {
    int mode;
    uint8_t hmac_len;
};

static const struct wrap W_PLAIN = {PLAIN, 0}, W_AUTH20 = {AUTH, 20}, W_CRYPT = {CRYPT, 0};

static void u64(struct buf *b, uint64_t v)
{
    u32(b, (uint32_t)(v >> 32));
    u32(b, (uint32_t)v);
}

static void fill(struct buf *b, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) u8(b, (uint8_t)(v + i));
}

/* The payload ctl() puts in a plain or tls-auth control packet when given none: the start of
 * a TLS application data record that fills it (what the control channel carries once its TLS
 * session is up), so the TLS decoder reads it without complaint. */
static void app_data_payload(struct buf *b, size_t payload)
{
    size_t len = payload >= 5 ? payload - 5 : 0;
    const uint8_t hdr[5] = {0x17, 0x03, 0x03, (uint8_t)(len >> 8), (uint8_t)len};
    for (size_t i = 0; i < payload; i++) u8(b, i < 5 ? hdr[i] : (uint8_t)(0x16 + i));
}

/* A control packet: opcode | key id, session id, the wrapping's fields, acks (nacks ids, then
 * the remote session id), the message packet id (mpid < 0: none, as in an ACK) and the payload
 * `data` (n bytes; NULL: n bytes of app_data_payload). tls-crypt: acks, message id and payload
 * are "encrypted" (filler of the same length, then `data` as it is when given); wkc > 0 appends
 * a wrapped client key of that length ending with its length. */
static void ctl_data(struct buf *b, struct wrap w, uint8_t opcode, uint8_t key, uint64_t sid,
                     uint8_t nacks, uint64_t rsid, int64_t mpid, const uint8_t *data, size_t n,
                     size_t wkc)
{
    b->n = 0;
    u8(b, (uint8_t)(opcode << 3 | key));
    u64(b, sid);
    if (w.mode == AUTH) fill(b, w.hmac_len, 0xA1);
    if (w.mode != PLAIN) {
        u32(b, 1);
        u32(b, NET_TIME);
    }
    if (w.mode == CRYPT) {
        fill(b, 32, 0xC3);
        size_t enc = 1 + (size_t)nacks * 4 + (nacks ? 8 : 0) + (mpid >= 0 ? 4 : 0);
        fill(b, enc, 0x5A);
        if (data) put(b, data, n);
        else fill(b, n, 0x5A + (uint8_t)enc);
        if (wkc) {
            fill(b, wkc - 2, 0x77);
            u16(b, (uint16_t)wkc);
        }
        return;
    }
    u8(b, nacks);
    for (uint8_t i = 0; i < nacks; i++) u32(b, i);
    if (nacks) u64(b, rsid);
    if (mpid >= 0) u32(b, (uint32_t)mpid);
    if (data) put(b, data, n);
    else app_data_payload(b, n);
}

static void ctl(struct buf *b, struct wrap w, uint8_t opcode, uint8_t key, uint64_t sid,
                uint8_t nacks, uint64_t rsid, int64_t mpid, size_t payload, size_t wkc)
{
    ctl_data(b, w, opcode, key, sid, nacks, rsid, mpid, NULL, payload, wkc);
}

static void client_reset(struct buf *b, struct wrap w)
{
    ctl(b, w, 7, 0, SID_C, 0, 0, 0, 0, 0);
}

static void server_reset(struct buf *b, struct wrap w)
{
    ctl(b, w, 8, 0, SID_S, 1, SID_C, 0, 0, 0);
}

/* The TCP form: the 2-byte length first. */
static void tcp_wrap(struct buf *out, const struct buf *in)
{
    out->n = 0;
    u16(out, (uint16_t)in->n);
    put(out, in->b, in->n);
}

static enum qw_probe_result probe(const struct buf *b, enum qw_dir dir)
{
    return qw_proto_openvpn.probe(b->b, b->n, dir);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void probe_mode(struct wrap w)
{
    struct buf *b = buf_new(), *t = buf_new();
    client_reset(b, w);
    assert_int_equal(probe(b, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b, S2C), QW_PROBE_NO); /* a client reset from the server */
    tcp_wrap(t, b);
    assert_int_equal(probe(t, C2S), QW_PROBE_MATCH);
    for (size_t n = 0; n < t->n; n++) /* cut TCP: wait for the rest */
        assert_int_equal(qw_proto_openvpn.probe(t->b, n, C2S), QW_PROBE_NEED_MORE);
    server_reset(b, w);
    assert_int_equal(probe(b, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    tcp_wrap(t, b);
    assert_int_equal(probe(t, S2C), QW_PROBE_MATCH);
    free(b);
    free(t);
}

static void test_probe_each_mode(void **ts)
{
    (void)ts;
    probe_mode(W_PLAIN);
    for (uint8_t h = 16; h <= 64; h = h == 16 ? 20 : h == 20 ? 32 : 64) {
        struct wrap w = {AUTH, h};
        probe_mode(w);
        if (h == 64) break;
    }
    probe_mode(W_CRYPT);
    struct buf *b = buf_new();
    ctl(b, W_CRYPT, 10, 0, SID_C, 0, 0, 0, 6, 300); /* tls-crypt-v2 */
    assert_int_equal(probe(b, C2S), QW_PROBE_MATCH);
    struct buf *t = buf_new();
    tcp_wrap(t, b); /* over TCP its length is above 255: every cut waits for the rest */
    assert_true(t->b[0] != 0);
    for (size_t n = 0; n < t->n; n++)
        assert_int_equal(qw_proto_openvpn.probe(t->b, n, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(t, C2S), QW_PROBE_MATCH);
    free(t);
    ctl(b, W_PLAIN, 1, 0, SID_C, 0, 0, 0, 0, 0); /* key method 1 */
    assert_int_equal(probe(b, C2S), QW_PROBE_MATCH);
    free(b);
}

static void test_probe_refuses(void **ts)
{
    (void)ts;
    struct buf *b = buf_new(), *t = buf_new();
    /* key id other than 0 */
    ctl(b, W_PLAIN, 7, 1, SID_C, 0, 0, 0, 0, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    /* a client reset that acks something, or with a late message id, or a large payload */
    ctl(b, W_PLAIN, 7, 0, SID_C, 1, SID_S, 0, 0, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    ctl(b, W_PLAIN, 7, 0, SID_C, 0, 0, 5000, 0, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    ctl(b, W_PLAIN, 7, 0, SID_C, 0, 0, 0, 400, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    /* a server reset with more acks than the reliability layer sends */
    ctl(b, W_PLAIN, 8, 0, SID_S, 9, SID_C, 0, 0, 0);
    assert_int_equal(probe(b, S2C), QW_PROBE_NO);
    /* control, ACK and data packets never claim a flow */
    ctl(b, W_PLAIN, 4, 0, SID_C, 0, 0, 1, 100, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    ctl(b, W_PLAIN, 5, 0, SID_C, 1, SID_S, -1, 0, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    b->n = 0;
    u8(b, 9 << 3);
    u24(b, 5);
    fill(b, 100, 0);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    /* tls-auth with a zero replay id or a net time before 2001 */
    client_reset(b, W_AUTH20);
    b->b[1 + 8 + 20 + 3] = 0;
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    client_reset(b, W_AUTH20);
    memset(b->b + 1 + 8 + 20 + 4, 0, 4);
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    /* tls-v3 with a wrapped key length past the packet */
    ctl(b, W_CRYPT, 10, 0, SID_C, 0, 0, 0, 6, 300);
    b->b[b->n - 2] = 0x0F;
    assert_int_equal(probe(b, C2S), QW_PROBE_NO);
    /* TCP: a length that is not the packet's */
    client_reset(b, W_PLAIN);
    tcp_wrap(t, b);
    t->b[1]++; /* one byte more than there is: the parser would wait, the probe too */
    assert_int_equal(probe(t, C2S), QW_PROBE_NEED_MORE);
    t->b[1] -= 2; /* one byte less: the 14th is not part of it, and 13 bytes are no reset */
    assert_int_equal(probe(t, C2S), QW_PROBE_NO);
    /* other protocols' first bytes */
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(qw_proto_openvpn.probe((const uint8_t *)http, sizeof http - 1, C2S),
                     QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03,
                                  0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(qw_proto_openvpn.probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    free(b);
    free(t);
}

/* ---- Records ------------------------------------------------------------------------------- */

static void test_udp_plain_session(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    client_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, C2S, b);
    DATAGRAM_BUF(f, C2S, b); /* a retransmission */
    assert_int_equal(f->rec.ntxns, 0);
    server_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 7);
    assert_string_equal(t->function_name, "hard_reset_client_v2");
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    JSON_HAS(f, 0, "{\"mode\":\"plain\",\"request\":{\"opcode\":7,\"opcode_name\":"
                   "\"hard_reset_client_v2\",\"key_id\":0,\"session_id\":\"1122334455667788\","
                   "\"acks\":0,\"message_packet_id\":0},\"response\":{\"opcode\":8,\"opcode_name\":"
                   "\"hard_reset_server_v2\",\"key_id\":0,\"session_id\":\"99aabbccddeeff01\","
                   "\"acks\":1,\"remote_session_id\":\"1122334455667788\",\"message_packet_id\":0}}");
    DATAGRAM_BUF(f, S2C, b); /* the server's retransmission: no new record */
    ctl(b, W_PLAIN, 5, 0, SID_C, 1, SID_S, -1, 0, 0);
    DATAGRAM_BUF(f, C2S, b);
    ctl(b, W_PLAIN, 4, 0, SID_C, 0, 0, 1, 200, 0);
    DATAGRAM_BUF(f, C2S, b);
    ctl(b, W_PLAIN, 4, 0, SID_S, 1, SID_C, 1, 900, 0);
    DATAGRAM_BUF(f, S2C, b);
    b->n = 0;
    u8(b, 6 << 3);
    fill(b, 50, 1);
    DATAGRAM_BUF(f, C2S, b);
    b->n = 0;
    u8(b, 9 << 3);
    u24(b, 7);
    fill(b, 60, 1);
    DATAGRAM_BUF(f, S2C, b);
    DATAGRAM_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    t = txn_at(f, 1);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "summary");
    assert_true(t->has_request && t->has_response);
    /* the control payloads were application data records of the TLS session (key 0) */
    JSON_HAS(f, 1, "{\"mode\":\"plain\",\"sessions\":1,\"key_ids\":[0],\"peer_id\":7,"
                   "\"reset_retransmits\":2,\"client\":{\"control_v1\":1,\"ack_v1\":1,"
                   "\"data_v1\":1,\"hard_reset_client_v2\":2,\"data_bytes\":50,\"session_id\":"
                   "\"1122334455667788\",\"tls_bytes\":200,\"tls_records\":1,"
                   "\"tls_encrypted_records\":1},\"server\":{\"control_v1\":1,"
                   "\"hard_reset_server_v2\":2,\"data_v2\":2,\"data_bytes\":120,\"session_id\":"
                   "\"99aabbccddeeff01\",\"tls_bytes\":900,\"tls_records\":1,"
                   "\"tls_encrypted_records\":1}}");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_udp_modes_recorded(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    static const uint8_t sizes[] = {16, 20, 32, 64};
    char want[64];
    for (size_t i = 0; i < sizeof sizes; i++) {
        struct wrap w = {AUTH, sizes[i]};
        fx_reset(f);
        client_reset(b, w);
        DATAGRAM_BUF(f, C2S, b);
        server_reset(b, w);
        DATAGRAM_BUF(f, S2C, b);
        ctl(b, w, 5, 0, SID_C, 2, SID_S, -1, 0, 0); /* read in the flow's mode */
        DATAGRAM_BUF(f, C2S, b);
        flow_end(f);
        assert_int_equal(f->rec.ntxns, 2);
        snprintf(want, sizeof want, "{\"mode\":\"tls_auth\",\"hmac_length\":%u,", sizes[i]);
        JSON_HAS(f, 0, want);
        JSON_HAS(f, 0, "\"packet_id\":1,\"net_time\":\"2023-11-14T22:13:20.000000Z\",\"acks\":0,"
                       "\"message_packet_id\":0}");
        JSON_HAS(f, 1, want);
        assert_int_equal(f->rec.nanomalies, 0);
    }
    /* tls-crypt: acks hidden; the next server reset answers the client's */
    fx_reset(f);
    client_reset(b, W_CRYPT);
    DATAGRAM_BUF(f, C2S, b);
    server_reset(b, W_CRYPT);
    DATAGRAM_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "{\"mode\":\"tls_crypt\",\"request\":{\"opcode\":7,\"opcode_name\":"
                   "\"hard_reset_client_v2\",\"key_id\":0,\"session_id\":\"1122334455667788\","
                   "\"packet_id\":1,\"net_time\":\"2023-11-14T22:13:20.000000Z\","
                   "\"encrypted_length\":5},\"response\":{");
    JSON_HAS(f, 0, "\"encrypted_length\":17}}");
    /* tls-crypt-v2 */
    fx_reset(f);
    ctl(b, W_CRYPT, 10, 0, SID_C, 0, 0, 0, 6, 300);
    DATAGRAM_BUF(f, C2S, b);
    ctl(b, W_CRYPT, 11, 0, SID_C, 0, 0, 1, 100, 300);
    DATAGRAM_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 0)->has_response); /* unanswered */
    assert_int_equal(txn_at(f, 0)->function, 10);
    JSON_HAS(f, 0, "\"encrypted_length\":11,\"wrapped_key_length\":300}");
    JSON_HAS(f, 1, "\"client\":{\"hard_reset_client_v3\":1,\"control_wkc_v1\":1,");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_soft_reset(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    client_reset(b, W_AUTH20);
    DATAGRAM_BUF(f, C2S, b);
    server_reset(b, W_AUTH20);
    DATAGRAM_BUF(f, S2C, b);
    /* the server renegotiates key 1; the client answers; a retransmission is no new record */
    ctl(b, W_AUTH20, 3, 1, SID_S, 0, 0, 9, 0, 0);
    DATAGRAM_BUF(f, S2C, b);
    DATAGRAM_BUF(f, S2C, b);
    ctl(b, W_AUTH20, 3, 1, SID_C, 1, SID_S, 12, 0, 0);
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 1);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "soft_reset_v1");
    assert_true(t->has_request && t->has_response);
    JSON_HAS(f, 1, "\"request\":{\"opcode\":3,\"opcode_name\":\"soft_reset_v1\",\"key_id\":1,"
                   "\"session_id\":\"99aabbccddeeff01\"");
    JSON_HAS(f, 1, "\"response\":{\"opcode\":3,\"opcode_name\":\"soft_reset_v1\",\"key_id\":1,"
                   "\"session_id\":\"1122334455667788\"");
    /* key 2 from the client, never answered: flushed at flow end */
    ctl(b, W_AUTH20, 3, 2, SID_C, 0, 0, 20, 0, 0);
    DATAGRAM_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    assert_false(txn_at(f, 2)->has_response);
    JSON_HAS(f, 2, "\"key_id\":2");
    JSON_HAS(f, 3, "\"key_ids\":[0,1,2]");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_new_session_flushes(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    client_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, C2S, b);
    ctl(b, W_PLAIN, 7, 0, SID_C + 1, 0, 0, 0, 0, 0); /* the client gave up and starts anew */
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "\"session_id\":\"1122334455667788\"");
    /* a server reset for another session: the pending one is flushed, this is alone */
    ctl(b, W_PLAIN, 8, 0, SID_S, 1, 0x42, 0, 0, 0);
    DATAGRAM_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"session_id\":\"1122334455667789\"");
    assert_false(txn_at(f, 2)->has_request);
    assert_int_equal(txn_at(f, 2)->function, 8);
    free(b);
}

/* ---- Anomalies ----------------------------------------------------------------------------- */

static void test_anomalies(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    client_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, C2S, b);
    b->n = 0;
    u8(b, 20 << 3); /* opcode 20 */
    fill(b, 20, 0);
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "openvpn.invalid_opcode"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "opcode 20");
    ctl(b, W_PLAIN, 4, 0, SID_C, 12, SID_S, 1, 0, 0); /* 12 acks */
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "openvpn.invalid_control"), 1);
    b->n = 0;
    u8(b, 4 << 3);
    u32(b, 1); /* shorter than a session id */
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "openvpn.invalid_length"), 1);
    ctl(b, W_PLAIN, 8, 3, SID_S, 1, SID_C, 0, 0, 0); /* hard reset with key id 3 */
    DATAGRAM_BUF(f, S2C, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "openvpn.invalid_key_id"), 1);
    /* at most 4 per flow; the summary counts them all */
    for (int i = 0; i < 5; i++) DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.nanomalies, 4);
    flow_end(f);
    JSON_HAS(f, f->rec.ntxns - 1, "\"invalid\":9");
    free(b);
}

/* Every datagram cut at every length: no crash, only openvpn.invalid_* anomalies. */
static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    struct buf *full = buf_new();
    const struct wrap ws[] = {W_PLAIN, W_AUTH20, W_CRYPT};
    for (size_t w = 0; w < 3; w++) {
        for (int which = 0; which < 3; which++) {
            if (which == 0) ctl(full, ws[w], 4, 0, SID_C, 2, SID_S, 3, 40, 0);
            else if (which == 1) ctl(full, ws[w], 5, 0, SID_C, 2, SID_S, -1, 0, 0);
            else ctl(full, ws[w], 8, 0, SID_S, 1, SID_C, 0, 0, 0);
            for (size_t n = 0; n <= full->n; n++) {
                fx_reset(f);
                struct buf *b = buf_new();
                client_reset(b, ws[w]);
                DATAGRAM_BUF(f, C2S, b);
                fx_datagram(f, which == 2 ? S2C : C2S, full->b, n);
                flow_end(f);
                for (size_t k = 0; k < f->rec.nanomalies; k++)
                    assert_true(strncmp(f->rec.anomalies[k].name, "openvpn.invalid_", 16) == 0);
                if (n == full->n) assert_int_equal(f->rec.nanomalies, 0);
                free(b);
            }
        }
    }
    free(full);
}

/* ---- TCP ----------------------------------------------------------------------------------- */

/* A TCP conversation in mode w: resets, ACK, control, data, several packets in one delivery. */
static struct buf *conv_bufs;

static size_t build_tcp_conv(struct wrap w, struct msg *m)
{
    struct buf *b = buf_new();
    struct buf *o = conv_bufs;
    for (int i = 0; i < 5; i++) o[i].n = 0;
    client_reset(b, w);
    tcp_wrap(&o[0], b);
    server_reset(b, w);
    tcp_wrap(&o[1], b);
    struct buf *t = buf_new();
    ctl(b, w, 5, 0, SID_C, 1, SID_S, -1, 0, 0);
    tcp_wrap(t, b);
    put(&o[2], t->b, t->n);
    ctl(b, w, 4, 0, SID_C, 0, 0, 1, 120, 0);
    tcp_wrap(t, b);
    put(&o[2], t->b, t->n); /* two packets in one segment */
    ctl(b, w, 4, 0, SID_S, 1, SID_C, 1, 700, 0);
    tcp_wrap(t, b);
    put(&o[3], t->b, t->n);
    b->n = 0;
    u8(b, 6 << 3 | 0);
    fill(b, 33, 9);
    tcp_wrap(t, b);
    put(&o[4], t->b, t->n);
    put(&o[4], t->b, t->n);
    const enum qw_dir dirs[5] = {C2S, S2C, C2S, S2C, C2S};
    for (int i = 0; i < 5; i++) m[i] = (struct msg){dirs[i], o[i].b, o[i].n};
    free(b);
    free(t);
    return 5;
}

static const char *tcp_want_mode;

static void check_tcp(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_true(strstr(f->rec.txns[0].json, tcp_want_mode) == f->rec.txns[0].json + 1);
    assert_non_null(strstr(f->rec.txns[1].json, "\"client\":{\"control_v1\":1,\"ack_v1\":1,"
                                                "\"data_v1\":2,\"hard_reset_client_v2\":1,"
                                                "\"data_bytes\":66,"));
    assert_non_null(strstr(f->rec.txns[1].json, "\"server\":{\"control_v1\":1,"
                                                "\"hard_reset_server_v2\":1,\"session_id\""));
}

static void test_tcp_every_split(void **ts)
{
    struct fx *f = *ts;
    conv_bufs = calloc(5, sizeof *conv_bufs);
    assert_non_null(conv_bufs);
    struct msg m[5];
    const struct wrap ws[] = {W_PLAIN, {AUTH, 32}, W_CRYPT};
    const char *modes[] = {"\"mode\":\"plain\"", "\"mode\":\"tls_auth\",\"hmac_length\":32",
                           "\"mode\":\"tls_crypt\""};
    for (size_t i = 0; i < 3; i++) {
        size_t n = build_tcp_conv(ws[i], m);
        assert_int_equal(qw_proto_openvpn.probe(m[0].b, m[0].n, C2S), QW_PROBE_MATCH);
        tcp_want_mode = modes[i];
        check_every_split_with(f, m, n, check_tcp);
    }
    free(conv_bufs);
}

static void test_tcp_gap_and_zero_length(void **ts)
{
    struct fx *f = *ts;
    conv_bufs = calloc(5, sizeof *conv_bufs);
    assert_non_null(conv_bufs);
    struct msg m[5];
    build_tcp_conv(W_PLAIN, m);
    feed(f, C2S, m[0].b, m[0].n);
    feed(f, S2C, m[1].b, m[1].n);
    /* lose the middle of the client's segment: resync on the next control packet */
    feed(f, C2S, m[2].b, 7);
    qw_pending_reset(&f->pend[C2S]);
    f->proto->gap(&f->ctx, f->state, C2S);
    struct buf *b = buf_new(), *t = buf_new();
    put(b, "\x55\x66\x77", 3); /* the end of a lost packet */
    ctl(t, W_PLAIN, 4, 0, SID_C, 0, 0, 2, 30, 0);
    struct buf *w = buf_new();
    tcp_wrap(w, t);
    put(b, w->b, w->n);
    put(b, w->b, w->n);
    FEED_BUF(f, C2S, b);
    /* a zero length is an anomaly, then the stream resynchronises */
    b->n = 0;
    u16(b, 0);
    put(b, w->b, w->n);
    put(b, w->b, w->n);
    FEED_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "openvpn.invalid_length"), 1);
    assert_int_equal(f->rec.nanomalies, 1);
    JSON_HAS(f, f->rec.ntxns - 1, "\"client\":{\"control_v1\":4,\"hard_reset_client_v2\":1,");
    free(b);
    free(t);
    free(w);
    free(conv_bufs);
}

/* ---- TLS in the control channel ------------------------------------------------------------ */

/* A TLS 1.2 (or 1.0) handshake with certificates both ways, built from RFC 5246 and RFC 5280,
 * cut into control packets as OpenVPN sends it, delivered in order, retransmitted, reordered,
 * lost, over TCP at every split. */

/* Length-prefixed block of `width` bytes: open reserves it, close fills it in. */
static size_t open_len(struct buf *b, int width)
{
    size_t at = b->n;
    for (int i = 0; i < width; i++) u8(b, 0);
    return at;
}

static void close_len(struct buf *b, size_t at, int width)
{
    size_t len = b->n - at - (size_t)width;
    for (int i = width - 1; i >= 0; i--, len >>= 8) b->b[at + (size_t)i] = (uint8_t)len;
}

/* DER TLV with a definite length (short form, or 0x81/0x82). */
static void tlv(struct buf *out, uint8_t tag, const void *v, size_t n)
{
    u8(out, tag);
    if (n >= 0x100) {
        u8(out, 0x82);
        u16(out, (uint16_t)n);
    } else if (n >= 0x80) {
        u8(out, 0x81);
        u8(out, (uint8_t)n);
    } else {
        u8(out, (uint8_t)n);
    }
    put(out, v, n);
}

/* Wrap everything in b from `at` into a TLV of `tag`. */
static void wrap_from(struct buf *b, size_t at, uint8_t tag)
{
    struct buf *t = buf_new();
    put(t, b->b + at, b->n - at);
    b->n = at;
    tlv(b, tag, t->b, t->n);
    free(t);
}

/* Name: O (PrintableString) then CN (UTF8String), one attribute per RDN. */
static void x509_name(struct buf *b, const char *cn, const char *o)
{
    static const uint8_t oid_o[] = {0x55, 0x04, 0x0A}, oid_cn[] = {0x55, 0x04, 0x03};
    size_t name = b->n;
    const uint8_t *oids[2] = {oid_o, oid_cn};
    const char *vals[2] = {o, cn};
    const uint8_t tags[2] = {0x13, 0x0C};
    for (int i = 0; i < 2; i++) {
        size_t set = b->n;
        tlv(b, 0x06, oids[i], 3);
        tlv(b, tags[i], vals[i], strlen(vals[i]));
        wrap_from(b, set, 0x30);
        wrap_from(b, set, 0x31);
    }
    wrap_from(b, name, 0x30);
}

struct cert_spec {
    const char *cn, *o, *issuer_cn, *issuer_o;
    const char *not_before, *not_after; /* UTCTime */
    uint8_t serial;
};

/* A v3 certificate: TBSCertificate up to a dummy public key, a dummy signature. */
static void x509_cert(struct buf *out, const struct cert_spec *c)
{
    static const uint8_t v3[] = {0x02, 0x01, 0x02};
    static const uint8_t sha256rsa[] = {0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D,
                                        0x01, 0x01, 0x0B, 0x05, 0x00};
    struct buf *b = buf_new();
    tlv(b, 0xA0, v3, sizeof v3);
    tlv(b, 0x02, &c->serial, 1);
    tlv(b, 0x30, sha256rsa, sizeof sha256rsa);
    x509_name(b, c->issuer_cn, c->issuer_o);
    size_t val = b->n;
    tlv(b, 0x17, c->not_before, strlen(c->not_before));
    tlv(b, 0x17, c->not_after, strlen(c->not_after));
    wrap_from(b, val, 0x30);
    x509_name(b, c->cn, c->o);
    size_t spki = b->n;
    tlv(b, 0x30, sha256rsa, sizeof sha256rsa);
    uint8_t key[140] = {0};
    tlv(b, 0x03, key, sizeof key);
    wrap_from(b, spki, 0x30);
    wrap_from(b, 0, 0x30); /* TBSCertificate */
    tlv(b, 0x30, sha256rsa, sizeof sha256rsa);
    tlv(b, 0x03, key, 65);
    wrap_from(b, 0, 0x30);
    put(out, b->b, b->n);
    free(b);
}

/* Handshake message: type, 24-bit length, body. */
static void hs(struct buf *out, uint8_t type, const struct buf *body)
{
    u8(out, type);
    u24(out, (uint32_t)body->n);
    put(out, body->b, body->n);
}

static void record(struct buf *out, uint8_t type, uint16_t version, const struct buf *body)
{
    u8(out, type);
    u16(out, version);
    u16(out, (uint16_t)body->n);
    put(out, body->b, body->n);
}

static void tls_client_hello(struct buf *out, uint16_t version, const char *sni)
{
    struct buf *b = buf_new();
    u16(b, version);
    fill(b, 32, 0x30);
    u8(b, 0);
    static const uint16_t suites[] = {0xc030, 0xc02f, 0x009f, 0x0039, 0x00ff};
    u16(b, sizeof suites);
    for (size_t i = 0; i < sizeof suites / 2; i++) u16(b, suites[i]);
    u8(b, 1);
    u8(b, 0);
    size_t exts = open_len(b, 2);
    if (sni) {
        u16(b, 0); /* server_name */
        size_t e = open_len(b, 2), l = open_len(b, 2);
        u8(b, 0);
        u16(b, (uint16_t)strlen(sni));
        put(b, sni, strlen(sni));
        close_len(b, l, 2);
        close_len(b, e, 2);
    }
    u16(b, 0xff01); /* renegotiation_info, empty */
    u16(b, 1);
    u8(b, 0);
    close_len(b, exts, 2);
    hs(out, 1, b);
    free(b);
}

static void tls_server_hello(struct buf *out, uint16_t version, uint16_t suite)
{
    struct buf *b = buf_new();
    u16(b, version);
    fill(b, 32, 0x60);
    u8(b, 0);
    u16(b, suite);
    u8(b, 0);
    u16(b, 5);
    u16(b, 0xff01);
    u16(b, 1);
    u8(b, 0);
    hs(out, 2, b);
    free(b);
}

static void tls_certificates(struct buf *out, const struct cert_spec *const *certs, size_t n)
{
    struct buf *b = buf_new(), *der = buf_new();
    size_t list = open_len(b, 3);
    for (size_t i = 0; i < n; i++) {
        der->n = 0;
        x509_cert(der, certs[i]);
        u24(b, (uint32_t)der->n);
        put(b, der->b, der->n);
    }
    close_len(b, list, 3);
    hs(out, 11, b);
    free(b);
    free(der);
}

/* A handshake message of `n` filler bytes (key exchange, verify, request...). */
static void hs_filler(struct buf *out, uint8_t type, size_t n)
{
    struct buf *b = buf_new();
    fill(b, n, type);
    hs(out, type, b);
    free(b);
}

static const struct cert_spec srv_cert = {"vpn-gw.terminal.example", "Port Authority",
                                          "Terminal VPN CA", "Port Authority",
                                          "230101000000Z", "330101000000Z", 0x21};
static const struct cert_spec ca_cert = {"Terminal VPN CA", "Port Authority",
                                         "Terminal VPN CA", "Port Authority",
                                         "200101000000Z", "400101000000Z", 0x01};
static const struct cert_spec cli_cert = {"vendor-engineer-07", "Crane Vendor GmbH",
                                          "Terminal VPN CA", "Port Authority",
                                          "230601000000Z", "240601000000Z", 0x42};
/* self-signed, expired before FX_T0 */
static const struct cert_spec old_cert = {"OpenVPN Server", "Acme", "OpenVPN Server", "Acme",
                                          "100101000000Z", "200101000000Z", 0x07};

enum { FLIGHT_CH, FLIGHT_SH, FLIGHT_CC, FLIGHT_SF, FLIGHT_APP_C, FLIGHT_APP_S, FLIGHTS };

/* The TLS bytes of each flight of a handshake with client authentication. */
struct tls_conv {
    struct buf *flight[FLIGHTS];
};

static const enum qw_dir flight_dir[FLIGHTS] = {C2S, S2C, C2S, S2C, C2S, S2C};

static void tls_conv_build(struct tls_conv *t, uint16_t version, const struct cert_spec *server,
                           bool with_ca)
{
    struct buf *m = buf_new();
    for (int i = 0; i < FLIGHTS; i++) t->flight[i] = buf_new();
    tls_client_hello(m, version, "vpn-gw.terminal.example");
    record(t->flight[FLIGHT_CH], 22, 0x0301, m);
    m->n = 0;
    tls_server_hello(m, version, version == 0x0303 ? 0xc030 : 0x0039);
    const struct cert_spec *chain[2] = {server, &ca_cert};
    tls_certificates(m, chain, with_ca ? 2 : 1);
    hs_filler(m, 12, 300); /* ServerKeyExchange */
    hs_filler(m, 13, 20);  /* CertificateRequest */
    hs_filler(m, 14, 0);   /* ServerHelloDone */
    record(t->flight[FLIGHT_SH], 22, version, m);
    m->n = 0;
    const struct cert_spec *mine[1] = {&cli_cert};
    tls_certificates(m, mine, 1);
    hs_filler(m, 16, 66);  /* ClientKeyExchange */
    hs_filler(m, 15, 130); /* CertificateVerify */
    record(t->flight[FLIGHT_CC], 22, version, m);
    struct buf *x = buf_new();
    u8(x, 1);
    record(t->flight[FLIGHT_CC], 20, version, x);
    record(t->flight[FLIGHT_SF], 20, version, x);
    x->n = 0;
    fill(x, 40, 0xE0); /* Finished, encrypted */
    record(t->flight[FLIGHT_CC], 22, version, x);
    record(t->flight[FLIGHT_SF], 22, version, x);
    x->n = 0;
    fill(x, 200, 0xD0); /* key method 2 exchange, encrypted */
    record(t->flight[FLIGHT_APP_C], 23, version, x);
    record(t->flight[FLIGHT_APP_S], 23, version, x);
    free(m);
    free(x);
}

static void tls_conv_free(struct tls_conv *t)
{
    for (int i = 0; i < FLIGHTS; i++) free(t->flight[i]);
}

/* One OpenVPN packet of a conversation, as the client or the server sends it. */
struct opkt {
    enum qw_dir dir;
    int64_t mpid; /* -1: not a P_CONTROL_V1 */
    struct buf *b;
};

#define OPKT_MAX 128

struct oconv {
    size_t n;
    struct opkt p[OPKT_MAX];
};

static struct opkt *oconv_add(struct oconv *c, enum qw_dir dir, int64_t mpid)
{
    assert_true(c->n < OPKT_MAX);
    struct opkt *p = &c->p[c->n++];
    p->dir = dir;
    p->mpid = mpid;
    p->b = buf_new();
    return p;
}

static void oconv_free(struct oconv *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->p[i].b);
    c->n = 0;
}

/* The resets of key `key` (hard resets for 0, soft resets otherwise), then each flight of t cut
 * into control packets of at most `frag` payload bytes, numbered from 1 per direction. */
static void oconv_build(struct oconv *c, struct wrap w, uint8_t key, const struct tls_conv *t,
                        size_t frag)
{
    struct opkt *p = oconv_add(c, C2S, -1);
    if (key == 0) client_reset(p->b, w);
    else ctl(p->b, w, 3, key, SID_C, 0, 0, 0, 0, 0);
    p = oconv_add(c, S2C, -1);
    if (key == 0) server_reset(p->b, w);
    else ctl(p->b, w, 3, key, SID_S, 1, SID_C, 0, 0, 0);
    uint32_t next[2] = {1, 1};
    for (int f = 0; f < FLIGHTS; f++) {
        const struct buf *fl = t->flight[f];
        enum qw_dir d = flight_dir[f];
        for (size_t off = 0; off < fl->n; off += frag) {
            size_t k = fl->n - off < frag ? fl->n - off : frag;
            p = oconv_add(c, d, next[d]);
            ctl_data(p->b, w, 4, key, d == C2S ? SID_C : SID_S, 1, d == C2S ? SID_S : SID_C,
                     next[d]++, fl->b + off, k, 0);
            /* the peer acks it */
            p = oconv_add(c, d == C2S ? S2C : C2S, -1);
            ctl(p->b, w, 5, key, d == C2S ? SID_S : SID_C, 1, d == C2S ? SID_C : SID_S, -1, 0, 0);
        }
    }
}

/* UDP: every packet of c in the order given by `order` (indexes; n of them). */
static void deliver(struct fx *f, const struct oconv *c, const size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct opkt *p = &c->p[order ? order[i] : i];
        fx_datagram(f, p->dir, p->b->b, p->b->n);
    }
}

/* The index of the record whose function_name is `name` (the k-th such), or SIZE_MAX. */
static size_t rec_named(const struct fx *f, const char *name, size_t k)
{
    for (size_t i = 0; i < f->rec.ntxns; i++)
        if (strcmp(f->rec.txns[i].txn.function_name, name) == 0 && k-- == 0) return i;
    return SIZE_MAX;
}

/* What the handshake yields: the record, the facts, no anomaly. */
static void check_handshake(const struct fx *f)
{
    size_t i = rec_named(f, "tls_handshake", 0);
    assert_true(i != SIZE_MAX);
    const struct qw_txn *t = txn_at(f, i);
    assert_int_equal(t->function, 4);
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    assert_true(t->has_request && t->has_response);
    assert_false(t->error);
    JSON_HAS(f, i, "{\"mode\":\"tls_auth\",\"hmac_length\":20,\"key_id\":0,\"tls\":{"
                   "\"request\":{\"function\":22,\"function_name\":\"handshake\",\"messages\":["
                   "\"client_hello\",\"certificate\",\"client_key_exchange\","
                   "\"certificate_verify\"],\"version\":771,\"version_name\":\"TLS 1.2\",");
    JSON_HAS(f, i, "\"sni\":\"vpn-gw.terminal.example\"");
    JSON_HAS(f, i, "\"certificate\":{\"chain_length\":1,\"subject_cn\":\"vendor-engineer-07\","
                   "\"subject_o\":\"Crane Vendor GmbH\",\"issuer_cn\":\"Terminal VPN CA\","
                   "\"issuer_o\":\"Port Authority\",\"serial\":\"42\",\"not_before\":"
                   "\"2023-06-01T00:00:00Z\",\"not_after\":\"2024-06-01T00:00:00Z\","
                   "\"self_signed\":false,\"x509_version\":3}},\"response\":{\"function\":22,"
                   "\"function_name\":\"handshake\",\"messages\":[\"server_hello\",\"certificate\","
                   "\"server_key_exchange\",\"certificate_request\",\"server_hello_done\"],"
                   "\"version\":771,\"version_name\":\"TLS 1.2\",\"cipher_suite\":49200,"
                   "\"cipher_suite_name\":\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\",");
    JSON_HAS(f, i, "\"certificate\":{\"chain_length\":2,\"subject_cn\":\"vpn-gw.terminal.example\","
                   "\"subject_o\":\"Port Authority\",\"issuer_cn\":\"Terminal VPN CA\","
                   "\"issuer_o\":\"Port Authority\",\"serial\":\"21\",\"not_before\":"
                   "\"2023-01-01T00:00:00Z\",\"not_after\":\"2033-01-01T00:00:00Z\","
                   "\"self_signed\":false,\"x509_version\":3}},\"encrypted\":true}}");
    /* the inventory learns who is who: the concentrator's and the engineer's certificates */
    identity_is(f, true, "tls_cert_subject", "CN=vpn-gw.terminal.example, O=Port Authority");
    identity_is(f, true, "tls_cert_issuer", "CN=Terminal VPN CA, O=Port Authority");
    identity_is(f, true, "tls_cert_not_after", "2033-01-01T00:00:00Z");
    identity_is(f, true, "tls_self_signed", "false");
    identity_is(f, true, "tls_sni", "vpn-gw.terminal.example");
    identity_is(f, false, "tls_cert_subject", "CN=vendor-engineer-07, O=Crane Vendor GmbH");
    assert_string_equal(f->rec.session_user, "vendor-engineer-07"); /* who dialled in */
    /* the certificates spanned control packets: buffers were borrowed, and all given back */
    assert_true(f->rec.loans_taken > 0);
    assert_int_equal(f->rec.loans_out, 0);
    assert_string_equal(f->rec.session_user_source, "client_certificate");
    identity_is(f, false, "tls_cert_issuer", "CN=Terminal VPN CA, O=Port Authority");
    assert_int_equal(count_identity_of(f, false, "ja3"), 1);
    assert_int_equal(count_identity_of(f, true, "ja3s"), 1);
    assert_int_equal(f->rec.nanomalies, 0);
    /* no `tls` record of its own: every record is OpenVPN's */
    assert_int_equal(rec_named(f, "handshake", 0), SIZE_MAX);
}

static void test_tls_handshake_udp(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    static const size_t frags[] = {100, 1200};
    for (size_t k = 0; k < 2; k++) {
        struct oconv c = {0};
        oconv_build(&c, W_AUTH20, 0, &t, frags[k]);
        fx_reset(f);
        deliver(f, &c, NULL, c.n);
        flow_end(f);
        check_handshake(f);
        assert_int_equal(f->rec.ntxns, 3); /* reset exchange, handshake, summary */
        assert_string_equal(txn_at(f, 2)->function_name, "summary");
        JSON_HAS(f, 2, "\"tls_handshakes\":1,");
        char want[96];
        snprintf(want, sizeof want, "\"tls_bytes\":%zu,\"tls_records\":5,"
                                    "\"tls_encrypted_records\":2}",
                 t.flight[FLIGHT_CH]->n + t.flight[FLIGHT_CC]->n + t.flight[FLIGHT_APP_C]->n);
        JSON_HAS(f, 2, want);
        JSON_LACKS(f, 2, "control_retransmits");
        JSON_LACKS(f, 2, "control_reordered");
        JSON_LACKS(f, 2, "control_lost");
        oconv_free(&c);
    }
    tls_conv_free(&t);
}

/* The reliability layer's retransmissions and packets that overtake others: same handshake. */
static void test_tls_retransmit_reorder(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    struct oconv c = {0};
    oconv_build(&c, W_AUTH20, 0, &t, 100);
    fx_reset(f);
    deliver(f, &c, NULL, c.n);
    flow_end(f);
    size_t i = rec_named(f, "tls_handshake", 0);
    char *ref = strdup(json_of(f, i));
    assert_non_null(ref);

    /* each control packet twice, and its successor of the same direction before it */
    size_t order[3 * OPKT_MAX], n = 0, pending = SIZE_MAX;
    for (size_t k = 0; k < c.n; k++) {
        if (c.p[k].mpid < 0) {
            order[n++] = k;
            continue;
        }
        if (pending == SIZE_MAX) {
            pending = k; /* held back until the next control packet */
            continue;
        }
        if (c.p[k].dir != c.p[pending].dir) {
            order[n++] = pending;
            pending = k;
            continue;
        }
        order[n++] = k;       /* ahead of its turn: held */
        order[n++] = pending; /* the hole fills */
        order[n++] = k;       /* a retransmission of one read already */
        order[n++] = pending;
        pending = SIZE_MAX;
    }
    if (pending != SIZE_MAX) order[n++] = pending;
    fx_reset(f);
    deliver(f, &c, order, n);
    flow_end(f);
    check_handshake(f);
    assert_string_equal(json_of(f, rec_named(f, "tls_handshake", 0)), ref);
    size_t s = rec_named(f, "summary", 0);
    assert_true(some_json_has(f, "\"control_retransmits\":"));
    assert_true(some_json_has(f, "\"control_reordered\":"));
    JSON_LACKS(f, s, "control_lost");
    /* held payloads waited in borrowed buffers, every one given back */
    assert_true(f->rec.loans_taken > 0);
    assert_int_equal(f->rec.loans_out, 0);

    /* past the parser memory cap nothing is lent: a packet ahead of its turn is not held, the
     * ones before it become a gap, and the parser goes on */
    fx_reset(f);
    for (size_t k = 0; k < QW_REC_LOANS; k++) f->rec.loan_used[k] = true;
    deliver(f, &c, order, n);
    flow_end(f);
    assert_int_equal(f->rec.loans_taken, 0);
    s = rec_named(f, "summary", 0);
    assert_true(s != SIZE_MAX);
    JSON_HAS(f, s, "\"control_lost\":");
    JSON_LACKS(f, s, "control_reordered");
    free(ref);
    oconv_free(&c);
    tls_conv_free(&t);
}

/* A control packet the capture missed: held ones wait for it, then it is skipped (a gap) and
 * what follows is still read: the server's certificate came before the hole. */
static void test_tls_lost_packet(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    struct oconv c = {0};
    oconv_build(&c, W_AUTH20, 0, &t, 100);
    /* the last packet of the server's first flight: the end of its 304-byte ServerKeyExchange,
     * the CertificateRequest and the ServerHelloDone, after the certificates */
    int64_t lost = (int64_t)((t.flight[FLIGHT_SH]->n + 99) / 100);
    size_t order[OPKT_MAX], n = 0;
    for (size_t k = 0; k < c.n; k++)
        if (!(c.p[k].dir == S2C && c.p[k].mpid == lost)) order[n++] = k;
    fx_reset(f);
    deliver(f, &c, order, n);
    flow_end(f);
    size_t i = rec_named(f, "tls_handshake", 0);
    assert_true(i != SIZE_MAX);
    JSON_HAS(f, i, "\"subject_cn\":\"vpn-gw.terminal.example\"");
    JSON_HAS(f, i, "\"subject_cn\":\"vendor-engineer-07\"");
    size_t s = rec_named(f, "summary", 0);
    /* the 4 packets after it (Finished flight, key exchange) were held, in vain */
    JSON_HAS(f, s, "\"control_reordered\":4,\"control_lost\":1}");
    for (size_t k = 0; k < f->rec.nanomalies; k++) /* a gap is no anomaly */
        assert_true(strncmp(f->rec.anomalies[k].name, "openvpn.", 8) != 0);
    oconv_free(&c);
    tls_conv_free(&t);
}

/* Over TCP (plain mode, 100-byte fragments as OpenVPN 2.x sends them): every delivery cut at
 * every offset, and byte by byte, gives the same records: control packets split across
 * segments, and TLS records split across control packets. */
static void check_tcp_tls(const struct fx *f)
{
    size_t i = rec_named(f, "tls_handshake", 0);
    assert_true(i != SIZE_MAX);
    JSON_HAS(f, i, "{\"mode\":\"plain\",\"key_id\":0,\"tls\":{\"request\":");
    JSON_HAS(f, i, "\"subject_cn\":\"vendor-engineer-07\"");
    JSON_HAS(f, i, "\"subject_cn\":\"vpn-gw.terminal.example\"");
    JSON_HAS(f, i, "\"cipher_suite_name\":\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_tls_tcp_every_split(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, false);
    struct oconv c = {0};
    oconv_build(&c, W_PLAIN, 0, &t, 100);
    /* one delivery per run of packets in one direction, each packet with its TCP length */
    struct msg m[OPKT_MAX] = {{C2S, NULL, 0}};
    struct buf *seg[OPKT_MAX];
    size_t n = 0;
    struct buf *w = buf_new();
    for (size_t k = 0; k < c.n; k++) {
        if (n == 0 || m[n - 1].dir != c.p[k].dir) {
            seg[n] = buf_new();
            m[n].dir = c.p[k].dir;
            n++;
        }
        tcp_wrap(w, c.p[k].b);
        put(seg[n - 1], w->b, w->n);
        m[n - 1].b = seg[n - 1]->b;
        m[n - 1].n = seg[n - 1]->n;
    }
    check_every_split_with(f, m, n, check_tcp_tls);
    for (size_t k = 0; k < n; k++) free(seg[k]);
    free(w);
    oconv_free(&c);
    tls_conv_free(&t);
}

/* Garbage and cut TLS in the control channel: tls.c's anomalies, no crash, nothing invented. */
static void test_tls_garbage_and_truncated(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    /* not TLS at all */
    client_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, C2S, b);
    static const uint8_t junk[] = {0x00, 0xff, 0x13, 0x37, 0x42, 0x99, 0x01, 0x02, 0x03, 0x04};
    ctl_data(b, W_PLAIN, 4, 0, SID_C, 0, 0, 1, junk, sizeof junk, 0);
    DATAGRAM_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.malformed_record"), 1);
    assert_int_equal(rec_named(f, "tls_handshake", 0), SIZE_MAX);
    assert_int_equal(f->rec.nidentities, 0);

    /* a ClientHello whose lengths do not add up */
    fx_reset(f);
    struct buf *m = buf_new(), *r = buf_new();
    tls_client_hello(m, 0x0303, "x.example");
    m->b[4 + 2 + 32] = 40; /* session id length past its room */
    record(r, 22, 0x0301, m);
    client_reset(b, W_PLAIN);
    DATAGRAM_BUF(f, C2S, b);
    ctl_data(b, W_PLAIN, 4, 0, SID_C, 0, 0, 1, r->b, r->n, 0);
    DATAGRAM_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.malformed_handshake"), 1);
    size_t i = rec_named(f, "tls_handshake", 0);
    assert_true(i != SIZE_MAX);
    JSON_HAS(f, i, "\"truncated\":true");
    JSON_HAS(f, i, "\"encrypted\":false");

    /* the server's flight cut short inside its Certificate: the hello is read, no certificate */
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    for (size_t cut = 1; cut < 400; cut += 7) {
        fx_reset(f);
        client_reset(b, W_AUTH20);
        DATAGRAM_BUF(f, C2S, b);
        server_reset(b, W_AUTH20);
        DATAGRAM_BUF(f, S2C, b);
        ctl_data(b, W_AUTH20, 4, 0, SID_C, 0, 0, 1, t.flight[FLIGHT_CH]->b,
                 t.flight[FLIGHT_CH]->n, 0);
        DATAGRAM_BUF(f, C2S, b);
        ctl_data(b, W_AUTH20, 4, 0, SID_S, 0, 0, 1, t.flight[FLIGHT_SH]->b, cut, 0);
        DATAGRAM_BUF(f, S2C, b);
        flow_end(f);
        i = rec_named(f, "tls_handshake", 0);
        assert_true(i != SIZE_MAX);
        JSON_LACKS(f, i, "\"certificate\"");
        JSON_HAS(f, i, "\"encrypted\":false");
        assert_int_equal(count_identity(f, "tls_cert_subject"), 0);
        for (size_t k = 0; k < f->rec.nanomalies; k++)
            assert_true(strncmp(f->rec.anomalies[k].name, "tls.", 4) == 0);
    }
    tls_conv_free(&t);
    free(m);
    free(r);
    free(b);
}

/* tls-crypt: the control channel is encrypted; bytes that would read as a ClientHello in plain
 * mode are not fed to the decoder. */
static void test_tls_crypt_yields_nothing(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    struct oconv c = {0};
    oconv_build(&c, W_CRYPT, 0, &t, 100);
    deliver(f, &c, NULL, c.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2); /* reset exchange, summary */
    JSON_HAS(f, 0, "{\"mode\":\"tls_crypt\"");
    JSON_LACKS(f, 1, "tls_bytes");
    JSON_LACKS(f, 1, "tls_handshakes");
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.nanomalies, 0);
    oconv_free(&c);
    tls_conv_free(&t);
}

/* TLS 1.0 with a self-signed server certificate expired at the packet time: the anomalies TLS
 * raises on TCP, which the detector maps to proto.weak_security. */
static void test_tls_weak_expired_self_signed(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0301, &old_cert, false);
    struct oconv c = {0};
    oconv_build(&c, W_PLAIN, 0, &t, 1200);
    deliver(f, &c, NULL, c.n);
    flow_end(f);
    size_t i = rec_named(f, "tls_handshake", 0);
    assert_true(i != SIZE_MAX);
    JSON_HAS(f, i, "\"version_name\":\"TLS 1.0\",\"cipher_suite\":57,\"cipher_suite_name\":"
                   "\"TLS_DHE_RSA_WITH_AES_256_CBC_SHA\"");
    JSON_HAS(f, i, "\"subject_cn\":\"OpenVPN Server\",\"subject_o\":\"Acme\",\"issuer_cn\":"
                   "\"OpenVPN Server\",\"issuer_o\":\"Acme\",\"serial\":\"07\",\"not_before\":"
                   "\"2010-01-01T00:00:00Z\",\"not_after\":\"2020-01-01T00:00:00Z\","
                   "\"self_signed\":true");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.weak_version"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.expired_certificate"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.self_signed_certificate"), 1);
    assert_int_equal(f->rec.nanomalies, 3);
    identity_is(f, true, "tls_self_signed", "true");
    oconv_free(&c);
    tls_conv_free(&t);
}

/* A soft reset starts key 1's TLS session: its handshake is a record of its own; late key-0
 * control packets are not mixed into it. A fatal alert ends a handshake. */
static void test_tls_soft_reset_and_alert(void **ts)
{
    struct fx *f = *ts;
    struct tls_conv t;
    tls_conv_build(&t, 0x0303, &srv_cert, true);
    struct oconv c = {0}, c1 = {0};
    oconv_build(&c, W_AUTH20, 0, &t, 1200);
    oconv_build(&c1, W_AUTH20, 1, &t, 1200);
    deliver(f, &c, NULL, c.n);
    deliver(f, &c1, NULL, 2); /* both soft resets */
    struct buf *b = buf_new();
    ctl(b, W_AUTH20, 4, 0, SID_S, 0, 0, 50, 30, 0); /* key 0, late */
    DATAGRAM_BUF(f, S2C, b);
    deliver(f, &c1, NULL, c1.n); /* key 1's packets; its resets again (retransmissions) */
    /* key 2: the server refuses the client's certificate */
    ctl(b, W_AUTH20, 3, 2, SID_C, 0, 0, 0, 0, 0);
    DATAGRAM_BUF(f, C2S, b);
    ctl(b, W_AUTH20, 3, 2, SID_S, 1, SID_C, 0, 0, 0);
    DATAGRAM_BUF(f, S2C, b);
    ctl_data(b, W_AUTH20, 4, 2, SID_C, 0, 0, 1, t.flight[FLIGHT_CH]->b, t.flight[FLIGHT_CH]->n, 0);
    DATAGRAM_BUF(f, C2S, b);
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30}; /* unknown_ca */
    ctl_data(b, W_AUTH20, 4, 2, SID_S, 0, 0, 1, alert, sizeof alert, 0);
    DATAGRAM_BUF(f, S2C, b);
    flow_end(f);
    size_t h0 = rec_named(f, "tls_handshake", 0), h1 = rec_named(f, "tls_handshake", 1),
           h2 = rec_named(f, "tls_handshake", 2), a = rec_named(f, "tls_alert", 0);
    assert_true(h0 != SIZE_MAX && h1 != SIZE_MAX && h2 != SIZE_MAX && a != SIZE_MAX);
    assert_int_equal(rec_named(f, "tls_handshake", 3), SIZE_MAX);
    JSON_HAS(f, h0, "\"key_id\":0,\"tls\":");
    JSON_HAS(f, h1, "\"key_id\":1,\"tls\":");
    assert_string_equal(strstr(json_of(f, h0), "\"tls\":"), strstr(json_of(f, h1), "\"tls\":"));
    JSON_HAS(f, h2, "\"key_id\":2,\"tls\":{\"request\":{\"function\":22,");
    assert_true(txn_at(f, h2)->error);
    assert_true(h2 < a); /* the handshake the alert ends, then the alert */
    assert_int_equal(txn_at(f, a)->function, 4);
    assert_true(txn_at(f, a)->error);
    assert_true(txn_at(f, a)->has_response && !txn_at(f, a)->has_request);
    JSON_HAS(f, a, "{\"mode\":\"tls_auth\",\"hmac_length\":20,\"key_id\":2,\"tls\":{\"response\":"
                   "{\"function\":21,\"function_name\":\"alert\",\"level\":2,\"level_name\":"
                   "\"fatal\",\"description\":48,\"description_name\":\"unknown_ca\"}}}");
    JSON_HAS(f, rec_named(f, "summary", 0), "\"tls_handshakes\":3,");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
    oconv_free(&c);
    oconv_free(&c1);
    tls_conv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_probe_each_mode),      FX_TEST(test_probe_refuses),
        FX_TEST(test_udp_plain_session),    FX_TEST(test_udp_modes_recorded),
        FX_TEST(test_soft_reset),           FX_TEST(test_new_session_flushes),
        FX_TEST(test_anomalies),            FX_TEST(test_truncated_every_length),
        FX_TEST(test_tcp_every_split),      FX_TEST(test_tcp_gap_and_zero_length),
        FX_TEST(test_tls_handshake_udp),    FX_TEST(test_tls_retransmit_reorder),
        FX_TEST(test_tls_lost_packet),      FX_TEST(test_tls_tcp_every_split),
        FX_TEST(test_tls_garbage_and_truncated), FX_TEST(test_tls_crypt_yields_nothing),
        FX_TEST(test_tls_weak_expired_self_signed), FX_TEST(test_tls_soft_reset_and_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
