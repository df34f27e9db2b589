/* Unit tests for the OpenVPN parser (src/proto/openvpn.c): the probe (each mode, UDP and TCP,
 * and what it must refuse), the mode worked out per flow, the hard reset exchange and soft reset
 * records, the summary's counts, the anomalies, TCP split invariance and resynchronisation after
 * a gap, and truncation at every length. Packets are built by hand from the wire format in the
 * parser's banner. */
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
#define FX_BUF_MAX 4096

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

/* A control packet: opcode | key id, session id, the wrapping's fields, acks (nacks ids, then
 * the remote session id), the message packet id (mpid < 0: none, as in an ACK) and `payload`
 * bytes. tls-crypt: acks, message id and payload are "encrypted" (filler of the same length);
 * wkc > 0 appends a wrapped client key of that length ending with its length. */
static void ctl(struct buf *b, struct wrap w, uint8_t opcode, uint8_t key, uint64_t sid,
                uint8_t nacks, uint64_t rsid, int64_t mpid, size_t payload, size_t wkc)
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
        size_t enc = 1 + (size_t)nacks * 4 + (nacks ? 8 : 0) + (mpid >= 0 ? 4 : 0) + payload;
        fill(b, enc, 0x5A);
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
    fill(b, payload, 0x16);
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
    JSON_HAS(f, 1, "{\"mode\":\"plain\",\"sessions\":1,\"key_ids\":[0],\"peer_id\":7,"
                   "\"reset_retransmits\":2,\"client\":{\"control_v1\":1,\"ack_v1\":1,"
                   "\"data_v1\":1,\"hard_reset_client_v2\":2,\"data_bytes\":50,\"session_id\":"
                   "\"1122334455667788\"},\"server\":{\"control_v1\":1,\"hard_reset_server_v2\":2,"
                   "\"data_v2\":2,\"data_bytes\":120,\"session_id\":\"99aabbccddeeff01\"}}");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_probe_each_mode),      FX_TEST(test_probe_refuses),
        FX_TEST(test_udp_plain_session),    FX_TEST(test_udp_modes_recorded),
        FX_TEST(test_soft_reset),           FX_TEST(test_new_session_flushes),
        FX_TEST(test_anomalies),            FX_TEST(test_truncated_every_length),
        FX_TEST(test_tcp_every_split),      FX_TEST(test_tcp_gap_and_zero_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
