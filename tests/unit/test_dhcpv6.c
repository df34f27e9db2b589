/* Unit tests for the DHCPv6 parser (src/proto/dhcpv6.c).
 *
 * Messages are built per RFC 8415 s.8 (msg-type, 3-byte transaction id, options) and s.9
 * (relay-forward / relay-reply with link and peer addresses and the relay-message option), with
 * DUIDs of s.11, IA_NA/IAADDR of s.21.4/21.6, the vendor class of s.21.16 and the client FQDN of
 * RFC 4704. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcpv6;

#define PROTO qw_proto_dhcpv6
#define FX_TS_STEP 1000000u /* 1 ms per datagram */
#define FX_BUF_MAX 2048

#include "parser_fixture.h"

/* ---- Message builder ------------------------------------------------------------------------ */

static void header(struct buf *b, uint8_t type, uint32_t xid)
{
    b->n = 0;
    u8(b, type);
    u8(b, (uint8_t)(xid >> 16));
    u8(b, (uint8_t)(xid >> 8));
    u8(b, (uint8_t)xid);
}

static void opt(struct buf *b, uint16_t code, const void *data, size_t len)
{
    u16(b, code);
    u16(b, (uint16_t)len);
    put(b, data, len);
}

/* DUID-LLT of 00:a0:45:6d:d3:44 ([8415] s.11.2), as the corpus capture has it. */
static const uint8_t duid_llt[14] = {0, 1, 0, 1, 0x18, 0xec, 0xed, 0x2c,
                                     0x00, 0xa0, 0x45, 0x6d, 0xd3, 0x44};
static const uint8_t server_duid[10] = {0, 3, 0, 1, 0x00, 0x0e, 0x8c, 0x11, 0x22, 0x33};

static void addr6(uint8_t out[16], const char *s)
{
    struct qw_addr a;
    assert_true(qw_addr_parse(s, &a));
    memcpy(out, a.b, 16);
}

/* A Windows SOLICIT: elapsed time, client id, IA_NA, FQDN "kw-VLIPC" (partial), vendor class
 * 311 "MSFT 5.0", option request 24,23,17,39. */
static void solicit(struct buf *b, uint32_t xid)
{
    header(b, 1, xid);
    uint8_t et[2] = {0, 0};
    opt(b, 8, et, 2);
    opt(b, 1, duid_llt, sizeof duid_llt);
    uint8_t ia[12] = {0x0e, 0x00, 0xa0, 0x45};
    opt(b, 3, ia, 12);
    uint8_t fqdn[10] = {0, 8, 'k', 'w', '-', 'V', 'L', 'I', 'P', 'C'};
    opt(b, 39, fqdn, sizeof fqdn);
    uint8_t vc[14] = {0, 0, 0x01, 0x37, 0, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0'};
    opt(b, 16, vc, sizeof vc);
    uint8_t oro[8] = {0, 24, 0, 23, 0, 17, 0, 39};
    opt(b, 6, oro, sizeof oro);
}

/* A REPLY with an IA_NA address and, optionally, a top-level status. */
static void reply(struct buf *b, uint32_t xid, const char *addr, uint32_t valid, int status)
{
    header(b, 7, xid);
    opt(b, 2, server_duid, sizeof server_duid);
    opt(b, 1, duid_llt, sizeof duid_llt);
    struct buf ia = {.n = 0};
    u32(&ia, 0x0e00a045);
    u32(&ia, 3600);
    u32(&ia, 5400);
    u16(&ia, 5);
    u16(&ia, 24);
    uint8_t a[16];
    addr6(a, addr);
    put(&ia, a, 16);
    u32(&ia, 7200);
    u32(&ia, valid);
    opt(b, 3, ia.b, ia.n);
    uint8_t dns[16];
    addr6(dns, "fd00::53");
    opt(b, 23, dns, 16);
    uint8_t dl[18] = {8, 't', 'e', 'r', 'm', 'i', 'n', 'a', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l',
                      'e', 0};
    opt(b, 24, dl, sizeof dl);
    if (status >= 0) {
        uint8_t st[6] = {0, (uint8_t)status, 'n', 'o', 'p', 'e'};
        opt(b, 13, st, sizeof st);
    }
}

/* Wrap `inner` in a relay message of `type` (12 or 13). */
static void relay(struct buf *out, uint8_t type, uint8_t hops, const struct buf *inner)
{
    struct buf in = *inner;
    out->n = 0;
    u8(out, type);
    u8(out, hops);
    uint8_t link[16], peer[16];
    addr6(link, "2001:db8:40::1");
    addr6(peer, "fe80::2a0:45ff:fe6d:d344");
    put(out, link, 16);
    put(out, peer, 16);
    uint8_t ifid[4] = {'e', 't', 'h', '1'};
    opt(out, 18, ifid, 4);
    opt(out, 9, in.b, in.n);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_solicit_multicast_and_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "fe80::14ea:3851:8243:3893", "ff02::1:2");
    solicit(&b, 0x317d40);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1); /* to the group: the answer is another flow */
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "solicit");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"request\":{\"function\":1,\"function_name\":\"solicit\","
                   "\"transaction_id\":3243328,\"options\":[8,1,3,39,16,6],"
                   "\"client_duid\":\"0001000118eced2c00a0456dd344\",\"client_duid_type\":1,"
                   "\"client_duid_type_name\":\"llt\",\"client_lladdr\":\"00:a0:45:6d:d3:44\","
                   "\"client_fqdn\":{\"flags\":0,\"name\":\"kw-VLIPC\"},\"vendor_class\":"
                   "{\"enterprise\":311,\"data\":[\"MSFT 5.0\"]},\"option_request\":"
                   "[24,23,17,39],\"elapsed_time_cs\":0,\"ia_na\":[{\"iaid\":234922053,"
                   "\"t1\":0,\"t2\":0}]}");
    assert_true(has_fact(f, false, "hostname", "kw-VLIPC"));
    assert_true(has_fact(f, false, "dhcp_vendor_class", "MSFT 5.0"));
    assert_true(has_fact(f, false, "dhcpv6_duid", "0001000118eced2c00a0456dd344"));
    assert_true(has_fact(f, false, "dhcpv6_fingerprint", "24,23,17,39"));
    assert_int_equal(f->rec.nidentities, 4);
    DATAGRAM_BUF(f, C2S, &b); /* retransmitted: same facts, not repeated */
    assert_int_equal(f->rec.nidentities, 4);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_unicast_request_reply(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "fe80::2a0:45ff:fe6d:d344", "fd00::547");
    header(&b, 3, 0xabcdef); /* REQUEST */
    opt(&b, 1, duid_llt, sizeof duid_llt);
    opt(&b, 2, server_duid, sizeof server_duid);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0);
    fx_packet(f, "fd00::547", "fe80::2a0:45ff:fe6d:d344");
    reply(&b, 0xabcdef, "2001:db8:40::1234", 7200, -1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_false(t->error);
    assert_string_equal(t->function_name, "request");
    JSON_HAS(f, 0, "\"response\":{\"function\":7,\"function_name\":\"reply\"");
    JSON_HAS(f, 0, "\"server_duid\":\"00030001000e8c112233\",\"server_duid_type\":3,"
                   "\"server_duid_type_name\":\"ll\",\"server_lladdr\":\"00:0e:8c:11:22:33\"");
    JSON_HAS(f, 0, "\"ia_na\":[{\"iaid\":234922053,\"t1\":3600,\"t2\":5400,\"addresses\":"
                   "[{\"address\":\"2001:db8:40::1234\",\"preferred_lifetime\":7200,"
                   "\"valid_lifetime\":7200}]}],\"dns_servers\":[\"fd00::53\"],"
                   "\"domain_list\":[\"terminal.example\"]");
    /* the reply goes to the client, the flow's client end */
    assert_true(has_fact(f, false, "ip", "2001:db8:40::1234"));
    /* a failed reply */
    fx_packet(f, "fe80::2a0:45ff:fe6d:d344", "fd00::547");
    header(&b, 5, 0x10); /* RENEW */
    opt(&b, 1, duid_llt, sizeof duid_llt);
    DATAGRAM_BUF(f, C2S, &b);
    fx_packet(f, "fd00::547", "fe80::2a0:45ff:fe6d:d344");
    reply(&b, 0x10, "2001:db8:40::99", 0, 3);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(f->rec.txns[1].txn.error);
    JSON_HAS(f, 1, "\"status_code\":3,\"status_name\":\"no_binding\",\"status_message\":\"nope\"");
    assert_false(has_fact(f, false, "ip", "2001:db8:40::99")); /* valid lifetime 0 */
}

static void test_relay_unwrapped_and_paired(void **ts)
{
    struct fx *f = *ts;
    struct buf in, b;
    fx_packet(f, "2001:db8:40::1", "2001:db8:10::547");
    solicit(&in, 0x42);
    relay(&b, 12, 0, &in);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0);
    fx_packet(f, "2001:db8:10::547", "2001:db8:40::1");
    header(&in, 2, 0x42); /* ADVERTISE */
    opt(&in, 2, server_duid, sizeof server_duid);
    opt(&in, 1, duid_llt, sizeof duid_llt);
    uint8_t pref = 255;
    opt(&in, 7, &pref, 1);
    relay(&b, 13, 0, &in);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 1);
    JSON_HAS(f, 0, "\"request\":{\"function\":1,\"function_name\":\"solicit\",\"relay\":"
                   "[{\"msg_type\":12,\"msg_type_name\":\"relay_forw\",\"hop_count\":0,"
                   "\"link_address\":\"2001:db8:40::1\",\"peer_address\":"
                   "\"fe80::2a0:45ff:fe6d:d344\",\"interface_id\":\"65746831\"}],"
                   "\"transaction_id\":66,");
    JSON_HAS(f, 0, "\"response\":{\"function\":2,\"function_name\":\"advertise\",\"relay\":"
                   "[{\"msg_type\":13,");
    JSON_HAS(f, 0, "\"preference\":255");
    assert_int_equal(f->rec.nidentities, 0); /* relayed: the client is not an end */
    /* two relay hops */
    struct buf hop1;
    relay(&hop1, 12, 0, &in);
    relay(&b, 12, 1, &hop1);
    DATAGRAM_BUF(f, C2S, &b);
    qw_proto_dhcpv6.flow_end(&f->ctx, f->state);
    JSON_HAS(f, 1, "\"relay\":[{\"msg_type\":12,\"msg_type_name\":\"relay_forw\",\"hop_count\":1");
    JSON_HAS(f, 1, "{\"msg_type\":12,\"msg_type_name\":\"relay_forw\",\"hop_count\":0");
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf b, in, deep;
    solicit(&b, 1);
    for (size_t cut = 1; cut < b.n; cut++) {
        f->rec.nanomalies = f->rec.ntxns = 0;
        qw_proto_dhcpv6.datagram(&f->ctx, f->state, C2S, b.b, cut);
        qw_proto_dhcpv6.flow_end(&f->ctx, f->state);
        assert_int_equal(f->rec.ntxns, 1);
        /* cut inside the header or an option: malformed; at an option boundary: a whole,
         * shorter message */
        size_t p = 4;
        bool boundary = cut == 4;
        while (p < cut) {
            p += 4u + (size_t)(b.b[p + 2] << 8 | b.b[p + 3]);
            if (p == cut) boundary = true;
        }
        assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcpv6.malformed"), boundary ? 0 : 1);
    }
    /* relays nested past the hop limit */
    solicit(&in, 2);
    deep = in;
    for (int i = 0; i < 10; i++) {
        relay(&b, 12, (uint8_t)i, &deep);
        deep = b;
    }
    f->rec.nanomalies = f->rec.ntxns = 0;
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcpv6.malformed"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "relay messages nested too deep");
    /* a relay message without its relay-message option */
    b.n = 0;
    u8(&b, 12);
    u8(&b, 0);
    for (int i = 0; i < 32; i++) u8(&b, 0);
    f->rec.nanomalies = 0;
    DATAGRAM_BUF(f, C2S, &b);
    assert_string_equal(f->rec.anomalies[0].detail, "relay message without a relay-message option");
}

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_dhcpv6.probe;
    struct buf b, in;
    solicit(&b, 1);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b.b, b.n - 1, C2S), QW_PROBE_NO);
    reply(&b, 1, "2001:db8::1", 1, -1);
    assert_int_equal(probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    solicit(&in, 1);
    relay(&b, 12, 0, &in);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    /* near misses */
    solicit(&b, 1);
    b.b[0] = 0; /* type 0 */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    solicit(&b, 1);
    b.b[0] = 60; /* unassigned type */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    header(&b, 1, 1); /* no client id, no option request */
    uint8_t et[2] = {0, 0};
    opt(&b, 8, et, 2);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    header(&b, 1, 1);
    uint8_t bad_duid[3] = {0, 9, 1}; /* DUID type 9 */
    opt(&b, 1, bad_duid, 3);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    static const uint8_t tiny[] = {1, 0, 0, 1, 0, 1, 0, 0}; /* an empty client id */
    assert_int_equal(probe(tiny, sizeof tiny, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    uint8_t zeros[100] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_dhcpv6.name, "dhcpv6");
    assert_int_equal(qw_proto_dhcpv6.ports[0], 547);
    assert_int_equal(qw_proto_dhcpv6.transports, QW_TRANSPORT_UDP);
    assert_ptr_equal(qw_proto_by_name("dhcpv6"), &qw_proto_dhcpv6);
    assert_true(qw_proto_dhcpv6.state_size < 6 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_solicit_multicast_and_identity),
        FX_TEST(test_unicast_request_reply),
        FX_TEST(test_relay_unwrapped_and_paired),
        FX_TEST(test_malformed),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
