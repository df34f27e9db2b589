/* Unit tests for the WireGuard parser (src/proto/wireguard.c): handshake pairing by index
 * (either side initiating, retries, a bounded queue, answers out of nowhere), cookie replies,
 * the transport summary written at flow end, invalid messages and their anomalies (once per
 * reason and flow), the probe, and every message cut at every length or made too long. The
 * messages are built here from the whitepaper's layouts (s.5.4). */
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

extern const struct qw_proto qw_proto_wireguard;

#define PROTO qw_proto_wireguard
#define FX_TS_STEP 0 /* every datagram names its time */
#define FX_BUF_MAX 2048

#include "parser_fixture.h"

#define MS 1000000ull /* ns */

/* `n` bytes that are not zero (keys, MACs, ciphertext: random on the wire). */
static void fill(struct buf *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) u8(b, (uint8_t)(seed + i * 7 + 1) | 1u);
}

static void header(struct buf *b, uint8_t type)
{
    b->n = 0;
    u8(b, type);
    u8(b, 0);
    u8(b, 0);
    u8(b, 0);
}

/* The 32 bytes of mac1 and mac2 (mac2 zero unless the sender holds a cookie). */
static void macs(struct buf *b, bool mac2)
{
    fill(b, 16, 0x40);
    if (mac2) fill(b, 16, 0x50);
    else put(b, (uint8_t[16]){0}, 16);
}

/* Type 1, 148 bytes: sender, ephemeral, encrypted static and timestamp, mac1, mac2. */
static void initiation(struct buf *b, uint32_t sender, bool mac2)
{
    header(b, 1);
    le32(b, sender);
    fill(b, 32 + 48 + 28, 0x10);
    macs(b, mac2);
    assert_int_equal(b->n, 148);
}

/* Type 2, 92 bytes: sender, receiver, ephemeral, encrypted nothing, mac1, mac2. */
static void response(struct buf *b, uint32_t sender, uint32_t receiver, bool mac2)
{
    header(b, 2);
    le32(b, sender);
    le32(b, receiver);
    fill(b, 32 + 16, 0x20);
    macs(b, mac2);
    assert_int_equal(b->n, 92);
}

/* Type 3, 64 bytes: receiver, nonce, encrypted cookie. */
static void cookie(struct buf *b, uint32_t receiver)
{
    header(b, 3);
    le32(b, receiver);
    fill(b, 24 + 32, 0x30);
    assert_int_equal(b->n, 64);
}

/* Type 4: receiver, counter, `payload` bytes of ciphertext (already padded) and the tag. */
static void transport(struct buf *b, uint32_t receiver, uint64_t counter, size_t payload)
{
    header(b, 4);
    le32(b, receiver);
    le64(b, counter);
    fill(b, payload + 16, 0x60);
}

static void at(struct fx *f, uint64_t t, enum qw_dir dir, const struct buf *b)
{
    fx_datagram_at(f, t, dir, b->b, b->n);
}

static const struct qw_txn *txn(const struct fx *f, size_t i)
{
    return txn_at(f, i);
}

static void test_handshake_pair(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    initiation(&b, 0x1a2b3c4d, false);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    at(f, 10 * MS, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0);
    response(&b, 0x00c0ffee, 0x1a2b3c4d, false);
    assert_int_equal(PROTO.probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    at(f, 13 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "handshake_initiation");
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    assert_int_equal(t->response_ns - t->request_ns, 3 * MS);
    assert_string_equal(json_of(f, 0),
                        "{\"message\":\"handshake_initiation\",\"initiator\":\"client\","
                        "\"initiation\":{\"sender\":\"0x1a2b3c4d\",\"mac2\":false},"
                        "\"response\":{\"sender\":\"0x00c0ffee\",\"receiver\":\"0x1a2b3c4d\","
                        "\"mac2\":false}}");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1); /* nothing waiting, no transport data */
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.nidentities, 0);
}

/* The flow's client is whoever the sensor saw first: here the responder. */
static void test_server_initiates(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    transport(&b, 0x11111111, 7, 16); /* the old session's data, first seen */
    at(f, 1 * MS, C2S, &b);
    initiation(&b, 0xdeadbeef, false);
    at(f, 2 * MS, S2C, &b);
    /* A response from the same side as the initiation answers nothing. */
    response(&b, 0x22222222, 0xdeadbeef, false);
    at(f, 3 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn(f, 0)->function, 2);
    JSON_HAS(f, 0, "\"initiator\":\"client\"");
    response(&b, 0x33333333, 0xdeadbeef, true);
    at(f, 4 * MS, C2S, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn(f, 1)->function, 1);
    assert_string_equal(json_of(f, 1),
                        "{\"message\":\"handshake_initiation\",\"initiator\":\"server\","
                        "\"initiation\":{\"sender\":\"0xdeadbeef\",\"mac2\":false},"
                        "\"response\":{\"sender\":\"0x33333333\",\"receiver\":\"0xdeadbeef\","
                        "\"mac2\":true}}");
}

/* Retries every 5 s with a new index; the answer to the third flushes the first two. */
static void test_retries_then_answer(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    for (uint32_t i = 0; i < 3; i++) {
        initiation(&b, 0x100 + i, false);
        at(f, (1 + 5000 * (uint64_t)i) * MS, C2S, &b);
    }
    assert_int_equal(f->rec.ntxns, 0);
    response(&b, 0x900, 0x102, false);
    at(f, 10010 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 2; i++) {
        assert_true(txn(f, i)->has_request && !txn(f, i)->has_response);
        assert_int_equal(txn(f, i)->request_ns, (1 + 5000 * i) * MS);
        assert_int_equal(txn(f, i)->function, 1);
    }
    JSON_HAS(f, 0, "\"sender\":\"0x00000100\"");
    JSON_LACKS(f, 0, "\"response\"");
    JSON_HAS(f, 1, "\"sender\":\"0x00000101\"");
    assert_true(txn(f, 2)->has_request && txn(f, 2)->has_response);
    assert_int_equal(txn(f, 2)->response_ns - txn(f, 2)->request_ns, 9 * MS);
    JSON_HAS(f, 2, "\"receiver\":\"0x00000102\"");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
}

/* The queue holds 4: the fifth initiation flushes the oldest, flow end the rest, in order. */
static void test_queue_bounded(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    for (uint32_t i = 0; i < 6; i++) {
        initiation(&b, 0xa0 + i, false);
        at(f, (1 + i) * MS, i == 5 ? S2C : C2S, &b);
    }
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"sender\":\"0x000000a0\"");
    JSON_HAS(f, 1, "\"sender\":\"0x000000a1\"");
    /* The same index again: the earlier one went unanswered. */
    initiation(&b, 0xa3, false);
    at(f, 9 * MS, C2S, &b);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"sender\":\"0x000000a3\"");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 7);
    static const char *const order[] = {"0x000000a2", "0x000000a4", "0x000000a5", "0x000000a3"};
    for (size_t i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"sender\":\"%s\"", order[i]);
        JSON_HAS(f, 3 + i, want);
        assert_false(txn(f, 3 + i)->has_response);
    }
    JSON_HAS(f, 5, "\"initiator\":\"server\"");
}

/* Under load the responder answers with a cookie; the retry carries mac2 and is answered. */
static void test_cookie_reply(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    initiation(&b, 0x0abc0001, false);
    at(f, 1 * MS, C2S, &b);
    cookie(&b, 0x0abc0001);
    assert_int_equal(PROTO.probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    at(f, 2 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn(f, 0);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "cookie_reply");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_true(t->has_response && !t->has_request);
    assert_string_equal(json_of(f, 0), "{\"message\":\"cookie_reply\",\"sender\":\"server\","
                                       "\"receiver\":\"0x0abc0001\","
                                       "\"answers\":\"handshake_initiation\"}");
    initiation(&b, 0x0abc0002, true);
    at(f, 5001 * MS, C2S, &b);
    response(&b, 0x0def0001, 0x0abc0002, false);
    at(f, 5002 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(json_of(f, 1),
                        "{\"message\":\"handshake_initiation\",\"initiator\":\"client\","
                        "\"initiation\":{\"sender\":\"0x0abc0001\",\"mac2\":false,"
                        "\"cookie_reply\":true}}");
    JSON_HAS(f, 2, "\"initiation\":{\"sender\":\"0x0abc0002\",\"mac2\":true}");
    /* A cookie for nothing queued is still a record. */
    cookie(&b, 0x77777777);
    at(f, 6000 * MS, C2S, &b);
    assert_string_equal(json_of(f, 3), "{\"message\":\"cookie_reply\",\"sender\":\"client\","
                                       "\"receiver\":\"0x77777777\"}");
}

/* Transport data: no record per packet; one summary at flow end, per direction. */
static void test_transport_summary(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    transport(&b, 0x8e6e3305, 0, 96);
    assert_int_equal(b.n, 128);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    at(f, 1000 * MS, C2S, &b);
    transport(&b, 0x8e6e3305, 1, 0); /* keepalive */
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    at(f, 1100 * MS, C2S, &b);
    /* A full tunnel MTU (1420) is not padded to 16: 1452 bytes, counted all the same. */
    transport(&b, 0x768bd016, 0, 1420);
    assert_int_equal(b.n, 1452);
    assert_int_equal(PROTO.probe(b.b, b.n, S2C), QW_PROBE_NO);
    at(f, 1200 * MS, S2C, &b);
    transport(&b, 0x00000001, 0, 16); /* after a rekey */
    at(f, 3500 * MS, S2C, &b);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(f->rec.nanomalies, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn(f, 0);
    assert_int_equal(t->function, 4);
    assert_string_equal(t->function_name, "transport_data");
    assert_int_equal(t->ops, 0);
    assert_true(t->has_request && !t->has_response);
    assert_int_equal(t->request_ns, 1000 * MS);
    assert_string_equal(json_of(f, 0),
                        "{\"message\":\"transport_data\","
                        "\"to_server\":{\"packets\":2,\"bytes\":160,\"keepalives\":1,"
                        "\"receivers\":[\"0x8e6e3305\"]},"
                        "\"to_client\":{\"packets\":2,\"bytes\":1500,\"keepalives\":0,"
                        "\"receivers\":[\"0x768bd016\",\"0x00000001\"]},"
                        "\"duration\":2.5}");
}

static void test_receivers_bounded(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    for (uint32_t i = 0; i < 20; i++) {
        transport(&b, 0x1000 + i % 10, i, 0);
        at(f, (1 + i) * MS, C2S, &b);
    }
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"to_server\":{\"packets\":20,\"bytes\":640,\"keepalives\":20,\"receivers\":["
                   "\"0x00001000\",\"0x00001001\",\"0x00001002\",\"0x00001003\",\"0x00001004\","
                   "\"0x00001005\",\"0x00001006\",\"0x00001007\"],\"receivers_more\":true}");
    JSON_HAS(f, 0, "\"to_client\":{\"packets\":0,\"bytes\":0,\"keepalives\":0,\"receivers\":[]}");
}

/* Invalid messages: dropped, one anomaly per reason and flow, counted in the summary. */
static void test_invalid_messages(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    transport(&b, 5, 0, 0);
    at(f, 1 * MS, C2S, &b);
    initiation(&b, 1, false);
    b.n = 147;
    at(f, 2 * MS, C2S, &b);
    at(f, 3 * MS, C2S, &b); /* the same again: counted, not reported */
    response(&b, 2, 1, false);
    b.b[2] = 1;
    at(f, 4 * MS, S2C, &b);
    cookie(&b, 3);
    b.b[0] = 5;
    at(f, 5 * MS, S2C, &b);
    b.b[0] = 0;
    at(f, 6 * MS, S2C, &b);
    transport(&b, 5, 1, 0);
    b.n = 31;
    at(f, 7 * MS, C2S, &b);
    at(f, 8 * MS, C2S, &(struct buf){.b = {4, 0, 0}, .n = 3});
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "wireguard.invalid_message"), 3);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "handshake_initiation of 147 bytes (148 expected)");
    assert_string_equal(f->rec.anomalies[1].detail, "handshake_response with reserved bytes 000100");
    assert_string_equal(f->rec.anomalies[2].detail, "unknown message type 5");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"to_server\":{\"packets\":1,\"bytes\":32,\"keepalives\":1,");
    JSON_HAS(f, 0, "\"invalid_messages\":7}");
}

static void test_short_transport_detail(void **ts)
{
    struct fx *f = *ts;
    struct buf b = {0};
    transport(&b, 5, 0, 0);
    b.n = 20;
    at(f, 1 * MS, C2S, &b);
    assert_int_equal(f->rec.nanomalies, 1);
    assert_string_equal(f->rec.anomalies[0].detail, "transport_data of 20 bytes (at least 32)");
    fx_clear(f);
    at(f, 2 * MS, C2S, &(struct buf){.b = {1, 0}, .n = 2});
    assert_string_equal(f->rec.anomalies[0].detail,
                        "message of 2 bytes, shorter than the 4-byte header");
}

/* Every message cut at every length, and one byte too long: never a record, one anomaly. */
static void test_cut_and_oversized(void **ts)
{
    struct fx *f = *ts;
    struct buf *m = buf_new();
    for (uint8_t type = 1; type <= 4; type++) {
        switch (type) {
        case 1: initiation(m, 0x1234, false); break;
        case 2: response(m, 0x1234, 0x5678, false); break;
        case 3: cookie(m, 0x1234); break;
        default: transport(m, 0x1234, 9, 0); break;
        }
        size_t full = m->n;
        for (size_t n = 0; n <= full + 1; n++) {
            if (n == full) continue;
            fx_clear(f);
            m->n = n;
            if (n > full) m->b[full] = 0xAB;
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, m->b, n);
            bool valid = type == 4 && n > full; /* transport data may be longer */
            assert_int_equal(PROTO.probe(cut, n, C2S), QW_PROBE_NO);
            fx_datagram_at(f, 1 * MS, C2S, cut, n);
            free(cut);
            flow_end(f);
            if (n == 0) {
                assert_int_equal(f->rec.nanomalies, 1);
                assert_int_equal(f->rec.ntxns, 0);
                continue;
            }
            assert_int_equal(f->rec.ntxns, valid ? 1 : 0);
            assert_int_equal(f->rec.nanomalies, valid ? 0 : 1);
        }
        m->n = full;
        assert_int_equal(PROTO.probe(m->b, m->n, C2S), QW_PROBE_MATCH);
    }
    free(m);
}

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    struct buf b = {0};
    initiation(&b, 1, false);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    b.b[3] = 1;
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* reserved */
    b.b[3] = 0;
    memset(b.b + 116, 0, 16);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* mac1 zero */
    b.b[0] = 0;
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* type 0 */
    b.b[0] = 5;
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* type 5 */
    transport(&b, 1, 1, 32);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    memset(b.b + b.n - 16, 0, 16);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* tag zero */
    transport(&b, 1, 1, 33);
    assert_int_equal(PROTO.probe(b.b, b.n, C2S), QW_PROBE_NO); /* not padded to 16 */
    /* Zero-filled datagrams of the right lengths. */
    static const uint8_t zeros[148] = {1};
    assert_int_equal(PROTO.probe(zeros, 148, C2S), QW_PROBE_NO);
    static const uint8_t zeros4[64] = {4};
    assert_int_equal(PROTO.probe(zeros4, 64, C2S), QW_PROBE_NO);
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
    assert_int_equal(PROTO.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
    uint8_t ntp[48] = {0x23};
    assert_int_equal(PROTO.probe(ntp, sizeof ntp, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.1\r\nHost: plc.example\r\nAccept: */*\r\n\r\n";
    assert_int_equal(PROTO.probe((const uint8_t *)http, 32, C2S), QW_PROBE_NO);
    /* OpenVPN P_DATA_V2 (opcode 9, key 0) and an IKE header that start with 01..04. */
    uint8_t ovpn[64];
    memset(ovpn, 0x5a, sizeof ovpn);
    ovpn[0] = 0x48;
    assert_int_equal(PROTO.probe(ovpn, sizeof ovpn, C2S), QW_PROBE_NO);
    uint8_t ike[64];
    memset(ike, 0x33, sizeof ike);
    ike[0] = 0x04;
    assert_int_equal(PROTO.probe(ike, sizeof ike, C2S), QW_PROBE_NO); /* reserved bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_handshake_pair),        FX_TEST(test_server_initiates),
        FX_TEST(test_retries_then_answer),   FX_TEST(test_queue_bounded),
        FX_TEST(test_cookie_reply),          FX_TEST(test_transport_summary),
        FX_TEST(test_receivers_bounded),     FX_TEST(test_invalid_messages),
        FX_TEST(test_short_transport_detail), FX_TEST(test_cut_and_oversized),
        FX_TEST(test_probe_refuses_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
