/* Unit tests for the ARP parser (src/proto/arp.c): pairing and latency, unanswered requests,
 * gratuitous/probe/announcement kinds, IP conflicts and their time window, the spoofing sign,
 * identity facts, non-Ethernet address lengths and truncation at every length. Frames are
 * given to `frame` as the engine does, with a struct qw_packet carrying the Ethernet addresses
 * and VLAN as context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_arp;

#define PROTO qw_proto_arp
#define FX_TS_STEP 0 /* every frame names its time */

#include "parser_fixture.h"

#define SEC 1000000000ull

static const uint8_t MAC_A[6] = {0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03};
static const uint8_t MAC_B[6] = {0x00, 0x0e, 0x8c, 0x0a, 0x0b, 0x0c};
static const uint8_t MAC_C[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x66};
static const uint8_t ZERO6[6];

/* A frame at time t from MAC src (the packet's other fields as the test left them). */
static void frame_from(struct fx *f, uint64_t t, const uint8_t src[6], const uint8_t *b, size_t n)
{
    fx_macs(f, src, NULL);
    fx_frame_at(f, t, b, n);
}

/* Ethernet/IPv4 ARP packet (RFC 826) into out (28 bytes). */
static size_t arp_pkt(uint8_t *out, uint16_t op, const uint8_t sha[6], const char *spa,
                      const uint8_t tha[6], const char *tpa)
{
    uint8_t s[4], t[4];
    struct qw_addr a;
    assert_true(qw_addr_parse(spa, &a));
    memcpy(s, a.b + 12, 4);
    assert_true(qw_addr_parse(tpa, &a));
    memcpy(t, a.b + 12, 4);
    const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, (uint8_t)(op >> 8), (uint8_t)op};
    memcpy(out, hdr, 8);
    memcpy(out + 8, sha, 6);
    memcpy(out + 14, s, 4);
    memcpy(out + 18, tha, 6);
    memcpy(out + 24, t, 4);
    return 28;
}

static void test_request_reply_pair(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    frame_from(f, 10 * SEC, MAC_A, b, arp_pkt(b, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.1"));
    assert_int_equal(f->rec.ntxns, 0);
    frame_from(f, 10 * SEC + 250000, MAC_B, b, arp_pkt(b, 2, MAC_B, "10.0.0.1", MAC_A, "10.0.0.2"));
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "request");
    assert_int_equal(t->request_ns, 10 * SEC);
    assert_int_equal(t->response_ns, 10 * SEC + 250000);
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"request\":{\"opcode\":1,\"opcode_name\":\"request\",\"sender_mac\":"
                   "\"00:1b:1b:01:02:03\",\"sender_ip\":\"10.0.0.2\",\"target_mac\":"
                   "\"00:00:00:00:00:00\",\"target_ip\":\"10.0.0.1\"}");
    JSON_HAS(f, 0, "\"response\":{\"opcode\":2,\"opcode_name\":\"reply\",\"sender_mac\":"
                   "\"00:0e:8c:0a:0b:0c\",\"sender_ip\":\"10.0.0.1\"");
    /* Both senders' addresses are identity facts about their frame sources. */
    assert_int_equal(f->rec.nidentities, 2);
    assert_string_equal(f->rec.identities[0].attr, "ip");
    assert_string_equal(f->rec.identities[0].value, "10.0.0.2");
    assert_false(f->rec.identities[0].server);
    assert_string_equal(f->rec.identities[1].value, "10.0.0.1");
    assert_int_equal(f->rec.nanomalies, 0);
    /* The same binding again is no new fact. */
    frame_from(f, 20 * SEC, MAC_A, b, arp_pkt(b, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.1"));
    assert_int_equal(f->rec.nidentities, 2);
}

static void test_unanswered_timeout_retry_and_end(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    frame_from(f, 1 * SEC, MAC_A, b, arp_pkt(b, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.9"));
    /* A retry of the same request: the first is reported unanswered. */
    frame_from(f, 2 * SEC, MAC_A, b, arp_pkt(b, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.9"));
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request);
    assert_false(f->rec.txns[0].txn.has_response);
    assert_int_equal(f->rec.txns[0].txn.request_ns, 1 * SEC);
    /* Another frame more than 3 s later expires the retry. */
    frame_from(f, 6 * SEC, MAC_B, b, arp_pkt(b, 1, MAC_B, "10.0.0.1", ZERO6, "10.0.0.7"));
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.txns[1].txn.request_ns, 2 * SEC);
    /* The end of the capture reports what still waits. */
    qw_proto_arp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"target_ip\":\"10.0.0.7\"");
}

static void test_gratuitous_probe_announcement(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    frame_from(f, SEC, MAC_A, b, arp_pkt(b, 1, MAC_A, "10.0.0.5", ZERO6, "10.0.0.5"));
    assert_int_equal(f->rec.ntxns, 1); /* written at once */
    JSON_HAS(f, 0, "\"gratuitous\":true,\"announcement\":true");
    frame_from(f, SEC, MAC_B, b, arp_pkt(b, 1, MAC_B, "10.0.0.6", BCAST, "10.0.0.6"));
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"gratuitous\":true}"); /* old-style: broadcast target MAC, no announcement */
    frame_from(f, SEC, MAC_C, b, arp_pkt(b, 1, MAC_C, "0.0.0.0", ZERO6, "10.0.0.7"));
    assert_int_equal(f->rec.ntxns, 2); /* a probe waits for a defender */
    frame_from(f, SEC + 1000, MAC_B, b, arp_pkt(b, 2, MAC_B, "10.0.0.7", MAC_C, "0.0.0.0"));
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"probe\":true");
    assert_true(f->rec.txns[2].txn.has_response);
    /* Probes name no address: only the two senders with addresses are facts. */
    assert_null(qw_record_identity(&f->rec, false, "nonexistent"));
    for (size_t i = 0; i < f->rec.nidentities; i++)
        assert_string_not_equal(f->rec.identities[i].value, "0.0.0.0");
}

static void test_conflict_window(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    frame_from(f, 100 * SEC, MAC_A, b, arp_pkt(b, 2, MAC_A, "10.0.0.50", MAC_B, "10.0.0.1"));
    frame_from(f, 130 * SEC, MAC_C, b, arp_pkt(b, 2, MAC_C, "10.0.0.50", MAC_B, "10.0.0.1"));
    assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.ip_conflict"), 1);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "10.0.0.50 claimed by 00:1b:1b:01:02:03 and 02:00:00:00:00:66");
    /* Ten minutes later another MAC takes the address over: an ownership change only. */
    frame_from(f, 730 * SEC, MAC_B, b, arp_pkt(b, 2, MAC_B, "10.0.0.50", MAC_A, "10.0.0.1"));
    assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.ip_conflict"), 1);
    /* ... and each owner was reported as a fact when it claimed the address. */
    size_t n = 0;
    for (size_t i = 0; i < f->rec.nidentities; i++)
        if (strcmp(f->rec.identities[i].value, "10.0.0.50") == 0) n++;
    assert_int_equal(n, 3);
}

static void test_reply_mac_mismatch(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    frame_from(f, SEC, MAC_C, b, arp_pkt(b, 2, MAC_A, "10.0.0.1", MAC_B, "10.0.0.2"));
    assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.reply_mac_mismatch"), 1);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "ether source 02:00:00:00:00:66, sender 00:1b:1b:01:02:03");
    assert_int_equal(f->rec.nidentities, 0); /* not attributed to the wrong interface */
    JSON_HAS(f, 0, "\"ether_src\":\"02:00:00:00:00:66\"");
}

static void test_unusual_lengths_and_vlan_keying(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[8 + 2 * (8 + 4)] = {0, 6, 8, 0, 8, 4, 0, 1};
    memset(b + 8, 0xAB, sizeof b - 8);
    frame_from(f, SEC, MAC_A, b, sizeof b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.invalid_address_length"), 0);
    assert_int_equal(f->rec.ntxns, 1); /* hardware type 6 (IEEE 802) with 8-byte addresses */
    JSON_HAS(f, 0, "\"hardware_type\":6,\"protocol_type\":2048,\"hardware_size\":8");
    uint8_t e[8 + 2 * (7 + 4)] = {0, 1, 8, 0, 7, 4, 0, 1};
    frame_from(f, SEC, MAC_A, e, sizeof e);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.invalid_address_length"), 1);
    /* The same request on two VLANs is two requests. */
    uint8_t r[28];
    f->pkt.nvlan = 1;
    f->pkt.vlan[0] = 10;
    frame_from(f, 2 * SEC, MAC_A, r, arp_pkt(r, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.1"));
    f->pkt.vlan[0] = 20;
    frame_from(f, 2 * SEC, MAC_A, r, arp_pkt(r, 1, MAC_A, "10.0.0.2", ZERO6, "10.0.0.1"));
    size_t before = f->rec.ntxns;
    frame_from(f, 2 * SEC + 5, MAC_B, r, arp_pkt(r, 2, MAC_B, "10.0.0.1", MAC_A, "10.0.0.2"));
    assert_int_equal(f->rec.ntxns, before + 1);
    assert_true(f->rec.txns[before].txn.has_request); /* VLAN 20's request answered */
}

static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[28];
    arp_pkt(b, 2, MAC_A, "10.0.0.1", MAC_B, "10.0.0.2");
    for (size_t n = 0; n < sizeof b; n++) {
        fx_clear_records(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        frame_from(f, SEC, MAC_A, cut, n);
        free(cut);
        assert_int_equal(f->rec.ntxns, 0);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "arp.truncated"), 1);
    }
    f->rec.nanomalies = 0;
    frame_from(f, SEC, MAC_A, b, sizeof b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_request_reply_pair),       FX_TEST(test_unanswered_timeout_retry_and_end),
        FX_TEST(test_gratuitous_probe_announcement), FX_TEST(test_conflict_window),
        FX_TEST(test_reply_mac_mismatch),       FX_TEST(test_unusual_lengths_and_vlan_keying),
        FX_TEST(test_truncated_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
