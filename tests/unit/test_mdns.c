/* Unit tests for the mDNS and LLMNR parsers (src/proto/mdns.c).
 *
 * Messages follow RFC 6762 (mDNS: id 0, QU and cache-flush class bits, announcements as
 * responses with answers only), RFC 6763 (service instance PTR/SRV/TXT) and RFC 4795 (LLMNR:
 * C/TC/T flags, one question, unicast responses). A fake packet gives the sender's address,
 * which decides the identity facts. */
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
#include "proto/dns_wire.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_mdns;
extern const struct qw_proto qw_proto_llmnr;

#define PROTO qw_proto_mdns
#define FX_TS_STEP 1000000u /* 1 ms per datagram */
#define FX_BUF_MAX 2048

#include "parser_fixture.h"

/* ---- Message builder ------------------------------------------------------------------------ */

static void hdr(struct buf *b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                uint16_t ar)
{
    b->n = 0;
    u16(b, id);
    u16(b, flags);
    u16(b, qd);
    u16(b, an);
    u16(b, ns);
    u16(b, ar);
}

static void name(struct buf *b, const char *dotted)
{
    const char *p = dotted;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        u8(b, (uint8_t)l);
        put(b, p, l);
        p += l;
        if (*p == '.') p++;
    }
    u8(b, 0);
}

static size_t rr_begin(struct buf *b, const char *owner, uint16_t type, uint16_t klass,
                       uint32_t ttl)
{
    name(b, owner);
    u16(b, type);
    u16(b, klass);
    u32(b, ttl);
    size_t at = b->n;
    u16(b, 0);
    return at;
}

static void rr_end(struct buf *b, size_t at)
{
    size_t l = b->n - at - 2;
    b->b[at] = (uint8_t)(l >> 8);
    b->b[at + 1] = (uint8_t)l;
}

#define FLUSH_IN (DNSW_C_MDNS_BIT | DNSW_C_IN) /* cache-flush bit + IN ([6762] s.10.2) */

static void rr_a(struct buf *b, const char *owner, const uint8_t a[4])
{
    size_t at = rr_begin(b, owner, DNSW_T_A, FLUSH_IN, 120);
    put(b, a, 4);
    rr_end(b, at);
}

static void rr_name(struct buf *b, const char *owner, uint16_t type, const char *target)
{
    size_t at = rr_begin(b, owner, type, DNSW_C_IN, 4500);
    name(b, target);
    rr_end(b, at);
}

static void rr_srv(struct buf *b, const char *owner, uint16_t port, const char *target)
{
    size_t at = rr_begin(b, owner, DNSW_T_SRV, FLUSH_IN, 120);
    u16(b, 0);
    u16(b, 0);
    u16(b, port);
    name(b, target);
    rr_end(b, at);
}

static const uint8_t cam_ip[4] = {10, 30, 5, 21};
static const uint8_t other_ip[4] = {192, 168, 99, 1};

/* The announcement of an RTSP camera ([6762] s.8.3, [6763] s.4-6). */
static void camera_announcement(struct buf *b, const uint8_t addr[4])
{
    hdr(b, 0, DNSW_F_QR | DNSW_F_AA, 0, 5, 0, 0);
    rr_name(b, "_rtsp._tcp.local", DNSW_T_PTR, "Gate 3 Camera._rtsp._tcp.local");
    rr_srv(b, "Gate 3 Camera._rtsp._tcp.local", 554, "axis-gate3.local");
    size_t at = rr_begin(b, "Gate 3 Camera._rtsp._tcp.local", DNSW_T_TXT, FLUSH_IN, 4500);
    u8(b, 12);
    put(b, "path=/stream", 12);
    rr_end(b, at);
    rr_a(b, "axis-gate3.local", addr);
    rr_name(b, "21.5.30.10.in-addr.arpa", DNSW_T_PTR, "axis-gate3.local");
}

/* ---- Fixture -------------------------------------------------------------------------------- */

static int llmnr_setup(void **tstate)
{
    return fx_setup_proto(tstate, &qw_proto_llmnr);
}

/* ---- mDNS ----------------------------------------------------------------------------------- */

static void test_mdns_query_written_at_once(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "10.30.5.40", "224.0.0.251");
    hdr(&b, 0, 0, 2, 0, 0, 0);
    name(&b, "_ipp._tcp.local");
    u16(&b, DNSW_T_PTR);
    u16(&b, DNSW_C_IN);
    name(&b, "_rtsp._tcp.local");
    u16(&b, DNSW_T_PTR);
    u16(&b, DNSW_C_MDNS_BIT | DNSW_C_IN); /* QU question */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_string_equal(t->function_name, "query");
    JSON_HAS(f, 0, "\"questions\":[{\"name\":\"_ipp._tcp.local\",\"type\":12,\"type_name\":"
                   "\"PTR\",\"class\":1},{\"name\":\"_rtsp._tcp.local\",\"type\":12,"
                   "\"type_name\":\"PTR\",\"class\":1,\"unicast_response\":true}]");
    assert_int_equal(f->rec.nidentities, 0); /* a query says nothing about its sender */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_mdns_announcement_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    /* the camera opened the multicast flow: it is the flow's client end */
    fx_packet(f, "10.30.5.21", "224.0.0.251");
    camera_announcement(&b, cam_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_response);
    assert_false(f->rec.txns[0].txn.has_request);
    JSON_HAS(f, 0, "{\"name\":\"axis-gate3.local\",\"type\":1,\"type_name\":\"A\",\"class\":1,"
                   "\"cache_flush\":true,\"ttl\":120,\"data\":\"10.30.5.21\"}");
    JSON_HAS(f, 0, "\"type_name\":\"TXT\",\"class\":1,\"cache_flush\":true,\"ttl\":4500,"
                   "\"txt\":[\"path=/stream\"]");
    assert_true(has_fact(f, false, "hostname", "axis-gate3.local"));
    assert_true(has_fact(f, false, "mdns_service", "Gate 3 Camera._rtsp._tcp.local"));
    assert_int_equal(f->rec.nidentities, 2); /* PTR, SRV and the reverse name repeat the facts */
    /* repeated announcements: no new facts in this flow */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.nidentities, 2);
    /* the same host seen as the flow's server end (it answered a unicast query) */
    DATAGRAM_BUF(f, S2C, &b);
    assert_true(has_fact(f, true, "hostname", "axis-gate3.local"));
}

static void test_mdns_foreign_records_no_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    /* a proxy (another address) announcing the camera's records: facts about a third party */
    fx_packet(f, "10.30.5.99", "224.0.0.251");
    camera_announcement(&b, cam_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nidentities, 0);
    /* the sender's name bound to another of its interfaces: not the sender's address */
    fx_packet(f, "10.30.5.21", "224.0.0.251");
    hdr(&b, 0, DNSW_F_QR | DNSW_F_AA, 0, 1, 0, 0);
    rr_a(&b, "axis-gate3.local", other_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.nidentities, 0);
    /* without packet addresses nothing can be attached */
    f->ctx.pkt = NULL;
    camera_announcement(&b, cam_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.nidentities, 0);
}

/* open62541 announces A records under the service instance name: a service, not a hostname. */
static void test_mdns_service_named_a_record(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    static const uint8_t ip[4] = {192, 168, 224, 105};
    fx_packet(f, "192.168.224.105", "224.0.0.251");
    hdr(&b, 0, DNSW_F_QR | DNSW_F_AA, 0, 3, 0, 0);
    rr_a(&b, "Maui-16714", ip);
    rr_a(&b, "LDS-Maui-16714._opcua-tcp._tcp.local", ip);
    rr_name(&b, "_services._dns-sd._udp.local", DNSW_T_PTR, "_opcua-tcp._tcp.local");
    DATAGRAM_BUF(f, C2S, &b);
    assert_true(has_fact(f, false, "hostname", "Maui-16714"));
    assert_true(has_fact(f, false, "mdns_service", "LDS-Maui-16714._opcua-tcp._tcp.local"));
    assert_false(has_fact(f, false, "mdns_service", "_opcua-tcp._tcp.local"));
    assert_int_equal(f->rec.nidentities, 2);
}

static void test_mdns_ipv6_reverse(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "fd52::1", "ff02::fb");
    hdr(&b, 0, DNSW_F_QR | DNSW_F_AA, 0, 1, 0, 0);
    rr_name(&b, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.5.d.f.ip6.arpa",
            DNSW_T_PTR, "station9.local");
    DATAGRAM_BUF(f, C2S, &b);
    assert_true(has_fact(f, false, "hostname", "station9.local"));
}

static void test_mdns_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    camera_announcement(&b, cam_ip);
    for (size_t cut = 0; cut < b.n; cut++) {
        f->rec.nanomalies = f->rec.ntxns = 0; /* the recorder keeps QW_REC_MAX entries */
        qw_proto_mdns.datagram(&f->ctx, f->state, C2S, b.b, cut);
        assert_int_equal(f->rec.nanomalies, 1);
        assert_string_equal(f->rec.anomalies[0].name, "mdns.malformed");
        assert_int_equal(f->rec.ntxns, cut >= DNSW_HDR_LEN ? 1 : 0);
    }
    hdr(&b, 0, DNSW_F_QR, 0, 1, 0, 0);
    u16(&b, 0xC00C); /* points at itself */
    u16(&b, DNSW_T_A);
    u16(&b, 1);
    u32(&b, 1);
    u16(&b, 4);
    u32(&b, 0);
    f->rec.nanomalies = 0;
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mdns.compression_loop"), 1);
}

static void test_mdns_probe(void **ts)
{
    (void)ts;
    struct buf b;
    camera_announcement(&b, cam_ip);
    assert_int_equal(qw_proto_mdns.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_mdns.probe(b.b, b.n - 1, C2S), QW_PROBE_NO);
    b.b[3] = 0x03; /* rcode must be zero in mDNS ([6762] s.18.11) */
    assert_int_equal(qw_proto_mdns.probe(b.b, b.n, C2S), QW_PROBE_NO);
    hdr(&b, 0, (uint16_t)(2u << 11), 1, 0, 0, 0); /* opcode 2 */
    name(&b, "x.local");
    u16(&b, 1);
    u16(&b, 1);
    assert_int_equal(qw_proto_mdns.probe(b.b, b.n, C2S), QW_PROBE_NO);
    hdr(&b, 0, 0, 0, 0, 0, 0); /* nothing at all */
    assert_int_equal(qw_proto_mdns.probe(b.b, b.n, C2S), QW_PROBE_NO);
    static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n";
    assert_int_equal(qw_proto_mdns.probe((const uint8_t *)ssdp, sizeof ssdp - 1, C2S),
                     QW_PROBE_NO);
}

/* ---- LLMNR ---------------------------------------------------------------------------------- */

static void llmnr_query(struct buf *b, uint16_t id, const char *n, uint16_t type)
{
    hdr(b, id, 0, 1, 0, 0, 0);
    name(b, n);
    u16(b, type);
    u16(b, DNSW_C_IN);
}

static void llmnr_response(struct buf *b, uint16_t id, const char *n, const uint8_t a[4])
{
    hdr(b, id, DNSW_F_QR, 1, 1, 0, 0);
    name(b, n);
    u16(b, DNSW_T_A);
    u16(b, DNSW_C_IN);
    u16(b, 0xC00C);
    u16(b, DNSW_T_A);
    u16(b, DNSW_C_IN);
    u32(b, 30);
    u16(b, 4);
    put(b, a, 4);
}

static void test_llmnr_multicast_query(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.1", "224.0.0.252");
    llmnr_query(&b, 0x7788, "wpad", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request);
    JSON_HAS(f, 0, "\"request\":{\"function\":0,\"function_name\":\"query\",\"id\":30600,"
                   "\"flags\":0,\"qr\":false,\"conflict\":false,\"tc\":false,\"tentative\":false,");
    JSON_HAS(f, 0, "\"questions\":[{\"name\":\"wpad\",\"type\":1,\"type_name\":\"A\",\"class\":1}]");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_llmnr_unicast_pair_and_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    static const uint8_t hmi[4] = {192, 168, 1, 20};
    fx_packet(f, "192.168.1.5", "192.168.1.20");
    llmnr_query(&b, 0x1111, "HMI-20", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0);
    fx_packet(f, "192.168.1.20", "192.168.1.5");
    llmnr_response(&b, 0x1111, "HMI-20", hmi);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request && f->rec.txns[0].txn.has_response);
    JSON_HAS(f, 0, "\"answers\":[{\"name\":\"HMI-20\",\"type\":1,\"type_name\":\"A\",\"class\":1,"
                   "\"ttl\":30,\"data\":\"192.168.1.20\"}]");
    assert_true(has_fact(f, true, "hostname", "HMI-20"));
    assert_int_equal(f->rec.nidentities, 1);
    /* a responder giving another address: no fact */
    llmnr_response(&b, 0x2222, "PLC-9", other_ip);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nidentities, 1);
    /* an unanswered unicast query is written at flow end */
    fx_packet(f, "192.168.1.5", "192.168.1.20");
    llmnr_query(&b, 0x3333, "nobody", DNSW_T_AAAA);
    DATAGRAM_BUF(f, C2S, &b);
    qw_proto_llmnr.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(f->rec.txns[2].txn.has_response);
}

static void test_llmnr_probe(void **ts)
{
    (void)ts;
    struct buf b;
    llmnr_query(&b, 1, "kw-VLIPC", 255);
    assert_int_equal(qw_proto_llmnr.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    llmnr_response(&b, 1, "HMI-20", cam_ip);
    assert_int_equal(qw_proto_llmnr.probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    hdr(&b, 1, 0, 2, 0, 0, 0); /* QDCOUNT must be 1 ([4795] s.2.1.1) */
    name(&b, "a");
    u16(&b, 1);
    u16(&b, 1);
    name(&b, "b");
    u16(&b, 1);
    u16(&b, 1);
    assert_int_equal(qw_proto_llmnr.probe(b.b, b.n, C2S), QW_PROBE_NO);
    llmnr_query(&b, 1, "x", 1);
    b.b[3] = 0x10; /* a Z bit */
    assert_int_equal(qw_proto_llmnr.probe(b.b, b.n, C2S), QW_PROBE_NO);
    llmnr_query(&b, 1, "x", 1);
    b.b[2] = 0x08; /* opcode 1 */
    assert_int_equal(qw_proto_llmnr.probe(b.b, b.n, C2S), QW_PROBE_NO);
}

static void test_descriptors(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_mdns.name, "mdns");
    assert_int_equal(qw_proto_mdns.ports[0], 5353);
    assert_string_equal(qw_proto_llmnr.name, "llmnr");
    assert_int_equal(qw_proto_llmnr.ports[0], 5355);
    assert_int_equal(qw_proto_mdns.transports, QW_TRANSPORT_UDP);
    assert_int_equal(qw_proto_llmnr.transports, QW_TRANSPORT_UDP);
    assert_ptr_equal(qw_proto_by_name("mdns"), &qw_proto_mdns);
    assert_ptr_equal(qw_proto_by_name("llmnr"), &qw_proto_llmnr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_mdns_query_written_at_once),
        FX_TEST(test_mdns_announcement_identity),
        FX_TEST(test_mdns_foreign_records_no_identity),
        FX_TEST(test_mdns_service_named_a_record),
        FX_TEST(test_mdns_ipv6_reverse),
        FX_TEST(test_mdns_malformed),
        cmocka_unit_test(test_mdns_probe),
        cmocka_unit_test_setup_teardown(test_llmnr_multicast_query, llmnr_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_llmnr_unicast_pair_and_identity, llmnr_setup,
                                        fx_teardown),
        cmocka_unit_test(test_llmnr_probe),
        cmocka_unit_test(test_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
