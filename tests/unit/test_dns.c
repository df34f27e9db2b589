/* Unit tests for the DNS parser (src/proto/dns.c) and the shared wire reader (dns_wire.c).
 *
 * Messages are built by hand following RFC 1035 s.4.1 (header, question, resource records,
 * s.4.1.4 compression pointers) and RFC 6891 s.6.1 (OPT), and fed as UDP datagrams or as a TCP
 * stream with the two-byte length prefix (RFC 1035 s.4.2.2) through qw_stream_deliver, as the
 * engine does. A fake packet gives the flow ends' addresses for the identity rules. */
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
#include "engine/stream.h"
#include "proto/dns_wire.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dns;

#define PROTO qw_proto_dns
#define FX_TS_STEP 1000000u /* 1 ms per datagram or segment */
#define FX_BUF_MAX 4096

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

/* Labels of a dotted name, then the root label. */
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

static void ptr(struct buf *b, uint16_t off) { u16(b, (uint16_t)(0xC000u | off)); }

static void question(struct buf *b, const char *n, uint16_t type, uint16_t klass)
{
    name(b, n);
    u16(b, type);
    u16(b, klass);
}

/* After the owner name: type, class, TTL and a placeholder RDLENGTH; returns where it is. */
static size_t rr_begin(struct buf *b, uint16_t type, uint16_t klass, uint32_t ttl)
{
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

static void rr_a(struct buf *b, uint32_t ttl, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
    size_t at = rr_begin(b, DNSW_T_A, DNSW_C_IN, ttl);
    uint8_t a[4] = {a0, a1, a2, a3};
    put(b, a, 4);
    rr_end(b, at);
}

/* A standard query for `n`, type `t` (RD set). */
static void query(struct buf *b, uint16_t id, const char *n, uint16_t t)
{
    hdr(b, id, DNSW_F_RD, 1, 0, 0, 0);
    question(b, n, t, DNSW_C_IN);
}

/* The matching response: question copied, answers A records for `n` (pointer to it). */
static void answer_a(struct buf *b, uint16_t id, const char *n, unsigned count)
{
    hdr(b, id, DNSW_F_QR | DNSW_F_RD | DNSW_F_RA, 1, (uint16_t)count, 0, 0);
    question(b, n, DNSW_T_A, DNSW_C_IN);
    for (unsigned i = 0; i < count; i++) {
        ptr(b, DNSW_HDR_LEN);
        rr_a(b, 300, 10, 0, 0, (uint8_t)(1 + i));
    }
}

static void rcode_response(struct buf *b, uint16_t id, const char *n, unsigned rcode)
{
    hdr(b, id, (uint16_t)(DNSW_F_QR | DNSW_F_RD | DNSW_F_RA | rcode), 1, 0, 0, 0);
    question(b, n, DNSW_T_A, DNSW_C_IN);
}

/* ---- Fixture -------------------------------------------------------------------------------- */

/* A packet from `src` to `dst` (the engine's current packet), optionally to a group MAC. */
static void set_pkt(struct fx *f, const char *src, const char *dst, bool group_mac)
{
    fx_packet(f, src, dst);
    f->pkt.has_mac = true;
    f->pkt.src_mac[5] = 1;
    if (group_mac) memset(f->pkt.dst_mac, 0xFF, 6);
    else f->pkt.dst_mac[5] = 2;
}

/* The message with its TCP length prefix. */
static void framed(struct buf *out, const struct buf *msg)
{
    out->n = 0;
    u16(out, (uint16_t)msg->n);
    put(out, msg->b, msg->n);
}

/* ---- Transactions --------------------------------------------------------------------------- */

static void test_query_response_pair(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    query(&b, 0x1234, "plc1.terminal.example", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0); /* waits for its answer */
    answer_a(&b, 0x1234, "plc1.terminal.example", 2);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "query");
    assert_false(t->error);
    assert_int_equal(t->ops, 0);
    assert_int_equal(t->response_ns - t->request_ns, 1000000);
    JSON_HAS(f, 0, "\"request\":{\"function\":0,\"function_name\":\"query\",\"id\":4660,"
                   "\"flags\":256,\"qr\":false,\"aa\":false,\"tc\":false,\"rd\":true,");
    JSON_HAS(f, 0, "\"questions\":[{\"name\":\"plc1.terminal.example\",\"type\":1,"
                   "\"type_name\":\"A\",\"class\":1}]");
    JSON_HAS(f, 0, "\"response\":{\"function\":0,\"function_name\":\"query\",\"id\":4660,"
                   "\"flags\":33152,\"qr\":true");
    JSON_HAS(f, 0, "\"rcode\":0,\"rcode_name\":\"noerror\",\"questions_count\":1,"
                   "\"answers_count\":2,\"authorities_count\":0,\"additionals_count\":0");
    JSON_HAS(f, 0, "\"answers\":[{\"name\":\"plc1.terminal.example\",\"type\":1,\"type_name\":"
                   "\"A\",\"class\":1,\"ttl\":300,\"data\":\"10.0.0.1\"},{\"name\":"
                   "\"plc1.terminal.example\",\"type\":1,\"type_name\":\"A\",\"class\":1,"
                   "\"ttl\":300,\"data\":\"10.0.0.2\"}]");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_error_rcodes(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    static const struct {
        unsigned rc;
        const char *name;
    } cases[] = {{3, "nxdomain"}, {2, "servfail"}, {5, "refused"}, {1, "formerr"}};
    for (size_t i = 0; i < 4; i++) {
        query(&b, (uint16_t)(100 + i), "nosuch.example", DNSW_T_A);
        DATAGRAM_BUF(f, C2S, &b);
        rcode_response(&b, (uint16_t)(100 + i), "nosuch.example", cases[i].rc);
        DATAGRAM_BUF(f, S2C, &b);
        assert_int_equal(f->rec.ntxns, i + 1);
        assert_true(f->rec.txns[i].txn.error);
        char want[64];
        snprintf(want, sizeof want, "\"rcode\":%u,\"rcode_name\":\"%s\"", cases[i].rc,
                 cases[i].name);
        JSON_HAS(f, i, want);
    }
}

static void test_record_types(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    query(&b, 7, "example.org", 255);
    DATAGRAM_BUF(f, C2S, &b);
    hdr(&b, 7, DNSW_F_QR | DNSW_F_AA, 1, 9, 1, 0);
    question(&b, "example.org", 255, DNSW_C_IN);
    size_t at;
    /* AAAA */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_AAAA, DNSW_C_IN, 60);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    put(&b, v6, 16);
    rr_end(&b, at);
    /* CNAME www.example.org -> example.org */
    size_t www = b.n;
    u8(&b, 3);
    put(&b, "www", 3);
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_CNAME, DNSW_C_IN, 61);
    ptr(&b, 12);
    rr_end(&b, at);
    /* MX 10 mail.example.org */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_MX, DNSW_C_IN, 62);
    u16(&b, 10);
    u8(&b, 4);
    put(&b, "mail", 4);
    ptr(&b, 12);
    rr_end(&b, at);
    /* TXT two strings */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_TXT, DNSW_C_IN, 63);
    u8(&b, 5);
    put(&b, "v=abc", 5);
    u8(&b, 3);
    put(&b, "x=1", 3);
    rr_end(&b, at);
    /* SRV 1 2 502 www.example.org */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_SRV, DNSW_C_IN, 64);
    u16(&b, 1);
    u16(&b, 2);
    u16(&b, 502);
    ptr(&b, (uint16_t)www);
    rr_end(&b, at);
    /* NS */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_NS, DNSW_C_IN, 65);
    name(&b, "ns1.example.net");
    rr_end(&b, at);
    /* PTR (owner is a reverse name) */
    name(&b, "1.0.0.10.in-addr.arpa");
    at = rr_begin(&b, DNSW_T_PTR, DNSW_C_IN, 66);
    ptr(&b, (uint16_t)www);
    rr_end(&b, at);
    /* an opaque type (HINFO) */
    ptr(&b, 12);
    at = rr_begin(&b, 13, DNSW_C_IN, 67);
    u8(&b, 1);
    u8(&b, 'x');
    u8(&b, 1);
    u8(&b, 'y');
    rr_end(&b, at);
    /* CAA: unknown to the decoder, shown as hex */
    ptr(&b, 12);
    at = rr_begin(&b, 257, DNSW_C_IN, 68);
    u8(&b, 0);
    rr_end(&b, at);
    /* authority: SOA */
    ptr(&b, 12);
    at = rr_begin(&b, DNSW_T_SOA, DNSW_C_IN, 69);
    name(&b, "ns1.example.org");
    name(&b, "hostmaster.example.org");
    u32(&b, 2024010101);
    u32(&b, 7200);
    u32(&b, 3600);
    u32(&b, 1209600);
    u32(&b, 300);
    rr_end(&b, at);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"type_name\":\"AAAA\",\"class\":1,\"ttl\":60,\"data\":\"2001:db8::1\"");
    JSON_HAS(f, 0, "{\"name\":\"www.example.org\",\"type\":5,\"type_name\":\"CNAME\",\"class\":1,"
                   "\"ttl\":61,\"data\":\"example.org\"}");
    JSON_HAS(f, 0, "\"type_name\":\"MX\",\"class\":1,\"ttl\":62,\"preference\":10,"
                   "\"data\":\"mail.example.org\"");
    JSON_HAS(f, 0, "\"type_name\":\"TXT\",\"class\":1,\"ttl\":63,\"txt\":[\"v=abc\",\"x=1\"]");
    JSON_HAS(f, 0, "\"type_name\":\"SRV\",\"class\":1,\"ttl\":64,\"priority\":1,\"weight\":2,"
                   "\"port\":502,\"data\":\"www.example.org\"");
    JSON_HAS(f, 0, "\"type_name\":\"NS\",\"class\":1,\"ttl\":65,\"data\":\"ns1.example.net\"");
    JSON_HAS(f, 0, "{\"name\":\"1.0.0.10.in-addr.arpa\",\"type\":12,\"type_name\":\"PTR\","
                   "\"class\":1,\"ttl\":66,\"data\":\"www.example.org\"}");
    JSON_HAS(f, 0, "\"type_name\":\"HINFO\",\"class\":1,\"ttl\":67,\"rdata_length\":4,"
                   "\"rdata\":\"01780179\"");
    JSON_HAS(f, 0, "\"type\":257,\"type_name\":\"CAA\",\"class\":1,\"ttl\":68,"
                   "\"rdata_length\":1,\"rdata\":\"00\"");
    JSON_HAS(f, 0, "\"authorities\":[{\"name\":\"example.org\",\"type\":6,\"type_name\":\"SOA\","
                   "\"class\":1,\"ttl\":69,\"data\":\"ns1.example.org\",\"rname\":"
                   "\"hostmaster.example.org\",\"serial\":2024010101,\"refresh\":7200,"
                   "\"retry\":3600,\"expire\":1209600,\"minimum\":300}]");
}

static void test_edns(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    hdr(&b, 9, DNSW_F_RD, 1, 0, 0, 1);
    question(&b, "example.com", DNSW_T_A, DNSW_C_IN);
    u8(&b, 0); /* root owner */
    size_t at = rr_begin(&b, DNSW_T_OPT, 1232, 0x00008000u); /* DO */
    u16(&b, 10); /* COOKIE option, 8 bytes */
    u16(&b, 8);
    put(&b, "\1\2\3\4\5\6\7\10", 8);
    rr_end(&b, at);
    DATAGRAM_BUF(f, C2S, &b);
    /* BADVERS: extended rcode 1 in the OPT TTL, header rcode 0 -> 16 */
    hdr(&b, 9, DNSW_F_QR, 1, 0, 0, 1);
    question(&b, "example.com", DNSW_T_A, DNSW_C_IN);
    u8(&b, 0);
    at = rr_begin(&b, DNSW_T_OPT, 4096, 0x01000000u);
    rr_end(&b, at);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"edns\":{\"udp_size\":1232,\"version\":0,\"do\":true,\"options\":1}");
    JSON_HAS(f, 0, "\"rcode\":16,\"rcode_name\":\"badvers\"");
    JSON_HAS(f, 0, "\"edns\":{\"udp_size\":4096,\"version\":0,\"do\":false}");
    assert_null(strstr(f->rec.txns[0].json, "\"additionals\":")); /* OPT is not listed */
}

static void test_update_is_config(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    hdr(&b, 77, (uint16_t)(DNSW_OP_UPDATE << 11), 1, 0, 1, 0);
    question(&b, "terminal.example", DNSW_T_SOA, DNSW_C_IN);
    name(&b, "hmi3.terminal.example");
    rr_a(&b, 3600, 10, 20, 0, 33);
    DATAGRAM_BUF(f, C2S, &b);
    hdr(&b, 77, (uint16_t)(DNSW_F_QR | DNSW_OP_UPDATE << 11), 1, 0, 0, 0);
    question(&b, "terminal.example", DNSW_T_SOA, DNSW_C_IN);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.function, 5);
    assert_string_equal(f->rec.txns[0].txn.function_name, "update");
    assert_int_equal(f->rec.txns[0].txn.ops, QW_OP_CONFIG);
}

/* ---- Pairing -------------------------------------------------------------------------------- */

static void test_pairing_rules(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    query(&b, 1, "a.example", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    query(&b, 2, "b.example", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    /* same id, other question: not an answer to query 1 */
    answer_a(&b, 1, "c.example", 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(f->rec.txns[0].txn.has_request);
    /* case differs: still the same question ([1035] s.2.3.3) */
    answer_a(&b, 2, "B.EXAMPLE", 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(f->rec.txns[1].txn.has_request && f->rec.txns[1].txn.has_response);
    JSON_HAS(f, 1, "\"name\":\"b.example\"");
    /* a response travelling the same way as the query does not answer it */
    answer_a(&b, 1, "a.example", 1);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(f->rec.txns[2].txn.has_request);
    answer_a(&b, 1, "a.example", 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 4);
    assert_true(f->rec.txns[3].txn.has_request);
    JSON_HAS(f, 3, "\"request\":{\"function\":0,\"function_name\":\"query\",\"id\":1,");
}

static void test_retransmission_and_flow_end(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    query(&b, 5, "slow.example", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    DATAGRAM_BUF(f, C2S, &b); /* retransmitted: the first copy is reported unanswered */
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request);
    assert_false(f->rec.txns[0].txn.has_response);
    answer_a(&b, 5, "slow.example", 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(f->rec.txns[1].txn.has_response && f->rec.txns[1].txn.has_request);
    query(&b, 6, "never.example", DNSW_T_AAAA);
    DATAGRAM_BUF(f, C2S, &b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(f->rec.txns[2].txn.has_response);
    JSON_HAS(f, 2, "\"type_name\":\"AAAA\"");
}

static void test_queue_overflow(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    for (unsigned i = 0; i < DNSW_QUEUE_MAX + 3; i++) {
        char n[32];
        snprintf(n, sizeof n, "h%u.example", i);
        query(&b, (uint16_t)i, n, DNSW_T_A);
        DATAGRAM_BUF(f, C2S, &b);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"name\":\"h0.example\""); /* the oldest went first */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, DNSW_QUEUE_MAX + 3);
}

static void test_multicast_query_written_at_once(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    set_pkt(f, "10.0.0.5", "224.0.0.251", false);
    query(&b, 0, "printer.local", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(f->rec.txns[0].txn.has_response);
    set_pkt(f, "10.0.0.5", "10.0.0.255", true); /* subnet broadcast: the MAC says so */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 2);
}

/* A long query (padded with EDNS padding, RFC 7830) is kept in short form: header and question. */
static void test_long_query_short_form(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    hdr(&b, 40, DNSW_F_RD, 1, 0, 0, 1);
    question(&b, "padded.example", DNSW_T_A, DNSW_C_IN);
    u8(&b, 0);
    size_t at = rr_begin(&b, DNSW_T_OPT, 1232, 0);
    u16(&b, 12); /* PADDING */
    u16(&b, 400);
    for (int i = 0; i < 400; i++) u8(&b, 0);
    rr_end(&b, at);
    DATAGRAM_BUF(f, C2S, &b);
    answer_a(&b, 40, "padded.example", 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request);
    JSON_HAS(f, 0, "\"questions_count\":1,\"answers_count\":0,\"authorities_count\":0,"
                   "\"additionals_count\":1,\"questions\":[{\"name\":\"padded.example\"");
    JSON_HAS(f, 0, "\"edns\":{\"udp_size\":1232,\"version\":0,\"do\":false},"
                   "\"records_not_kept\":true");
}

/* ---- Malformed input ------------------------------------------------------------------------ */

static void test_compression_loop(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    hdr(&b, 3, DNSW_F_QR, 1, 1, 0, 0);
    question(&b, "x.example", DNSW_T_A, DNSW_C_IN);
    size_t self = b.n;
    ptr(&b, (uint16_t)self); /* a name that points at itself */
    rr_a(&b, 1, 1, 2, 3, 4);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.compression_loop"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"malformed\":true,\"malformed_reason\":\"compression loop\"");
    /* two names pointing at each other */
    hdr(&b, 4, DNSW_F_QR, 1, 0, 0, 0);
    u8(&b, 1);
    u8(&b, 'a');
    ptr(&b, 16); /* -> 'b' label below */
    u8(&b, 1);
    u8(&b, 'b');
    ptr(&b, 12);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.compression_loop"), 2);
}

static void test_truncated_and_bad_lengths(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    /* answer count promises a record that is not there */
    answer_a(&b, 11, "cut.example", 1);
    b.n -= 6;
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.malformed"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "truncated");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"malformed_reason\":\"truncated\"");
    JSON_HAS(f, 0, "\"questions\":[{\"name\":\"cut.example\""); /* what parsed is kept */
    /* RDLENGTH larger than the message */
    answer_a(&b, 12, "big.example", 1);
    b.b[b.n - 6] = 0xFF;
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.malformed"), 2);
    /* an A record whose RDATA is not 4 bytes */
    answer_a(&b, 13, "odd.example", 1);
    b.b[b.n - 5] = 3;
    b.n -= 1;
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.malformed"), 3);
    JSON_HAS(f, 2, "\"rdata_malformed\":true");
    /* shorter than a header */
    static const uint8_t three[] = {1, 2, 3};
    fx_datagram(f, S2C, three, sizeof three);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.malformed"), 4);
    assert_int_equal(f->rec.ntxns, 3);
    /* an extended label type (0x40) */
    hdr(&b, 14, DNSW_F_QR, 1, 0, 0, 0);
    u8(&b, 0x41);
    u8(&b, 'x');
    u8(&b, 0);
    u16(&b, 1);
    u16(&b, 1);
    DATAGRAM_BUF(f, S2C, &b);
    assert_string_equal(f->rec.anomalies[f->rec.nanomalies - 1].detail, "extended label type");
    /* bytes after the last record */
    answer_a(&b, 15, "tail.example", 0);
    u8(&b, 0);
    DATAGRAM_BUF(f, S2C, &b);
    assert_string_equal(f->rec.anomalies[f->rec.nanomalies - 1].detail,
                        "bytes after the last record");
}

/* Every prefix of a valid response is reported malformed (its counts promise more) and never
 * read out of bounds; the record of each still carries the header it had. */
static void test_every_truncation(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    answer_a(&b, 21, "trunc.example", 3);
    for (size_t cut = 0; cut < b.n; cut++) {
        size_t an = f->rec.nanomalies, tx = f->rec.ntxns;
        qw_proto_dns.datagram(&f->ctx, f->state, S2C, b.b, cut);
        assert_int_equal(f->rec.nanomalies, an + 1);
        assert_int_equal(f->rec.ntxns, tx + (cut >= DNSW_HDR_LEN ? 1 : 0));
    }
    f->rec.ntxns = f->rec.nanomalies = 0;
    qw_proto_dns.datagram(&f->ctx, f->state, S2C, b.b, b.n);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- TCP ------------------------------------------------------------------------------------ */

static void test_tcp_pair_and_two_in_one(void **ts)
{
    struct fx *f = *ts;
    struct buf q1, q2, r1, r2, s;
    query(&q1, 0x100, "one.example", DNSW_T_A);
    query(&q2, 0x101, "two.example", DNSW_T_A);
    answer_a(&r1, 0x100, "one.example", 1);
    answer_a(&r2, 0x101, "two.example", 2);
    struct buf both;
    framed(&s, &q1);
    both = s;
    framed(&s, &q2);
    put(&both, s.b, s.n);
    feed(f, C2S, both.b, both.n); /* two pipelined queries in one segment */
    framed(&s, &r2);              /* answered out of order ([7766] s.6.2.1) */
    both = s;
    framed(&s, &r1);
    put(&both, s.b, s.n);
    feed(f, S2C, both.b, both.n);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"name\":\"two.example\"");
    JSON_HAS(f, 1, "\"name\":\"one.example\"");
    assert_true(f->rec.txns[0].txn.has_request && f->rec.txns[1].txn.has_request);
}

/* The response cut at every byte offset across two deliveries gives the same record. */
static void test_tcp_every_split(void **ts)
{
    struct fx *f = *ts;
    struct buf q, r, fq, fr;
    query(&q, 0x200, "split.example", DNSW_T_A);
    answer_a(&r, 0x200, "split.example", 3);
    framed(&fq, &q);
    framed(&fr, &r);
    const struct msg conv[] = {{C2S, fq.b, fq.n}, {S2C, fr.b, fr.n}};
    check_every_split_with(f, conv, 2, check_one_clean_record);
}

static void test_tcp_bad_length_and_gap(void **ts)
{
    struct fx *f = *ts;
    struct buf q, s, all;
    query(&q, 0x300, "after.example", DNSW_T_A);
    framed(&s, &q);
    all.n = 0;
    u16(&all, 5); /* shorter than a header */
    put(&all, "xxxxx", 5);
    put(&all, s.b, s.n);
    feed(f, C2S, all.b, all.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dns.malformed"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "TCP length below the header size");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1); /* resynchronised on the query */
    JSON_HAS(f, 0, "\"name\":\"after.example\"");
    /* after a gap, the tail of a lost message is skipped up to the next one */
    f->rec.ntxns = f->rec.nanomalies = 0;
    qw_proto_dns.gap(&f->ctx, f->state, C2S);
    all.n = 0;
    put(&all, s.b + 7, s.n - 7);
    put(&all, s.b, s.n);
    feed(f, C2S, all.b, all.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Identity ------------------------------------------------------------------------------- */

static void test_identity_flow_ends_only(void **ts)
{
    struct fx *f = *ts;
    struct buf b, rsp;
    /* the client (10.0.0.7) looks up its own name: the answer names the client end */
    set_pkt(f, "10.0.0.7", "10.0.0.53", false);
    query(&b, 50, "hmi7.terminal.example", DNSW_T_A);
    DATAGRAM_BUF(f, C2S, &b);
    set_pkt(f, "10.0.0.53", "10.0.0.7", false);
    hdr(&rsp, 50, DNSW_F_QR | DNSW_F_RA, 1, 2, 0, 0);
    question(&rsp, "hmi7.terminal.example", DNSW_T_A, DNSW_C_IN);
    ptr(&rsp, 12);
    rr_a(&rsp, 60, 10, 0, 0, 7);
    ptr(&rsp, 12);
    rr_a(&rsp, 60, 10, 9, 9, 9); /* a third party: no fact */
    DATAGRAM_BUF(f, S2C, &rsp);
    assert_int_equal(f->rec.nidentities, 1);
    assert_false(f->rec.identities[0].server);
    assert_string_equal(f->rec.identities[0].attr, "dns_name");
    assert_string_equal(f->rec.identities[0].value, "hmi7.terminal.example");
    /* a PTR answer for the server's own address names the server end */
    set_pkt(f, "10.0.0.7", "10.0.0.53", false);
    query(&b, 51, "53.0.0.10.in-addr.arpa", DNSW_T_PTR);
    DATAGRAM_BUF(f, C2S, &b);
    set_pkt(f, "10.0.0.53", "10.0.0.7", false);
    hdr(&b, 51, DNSW_F_QR | DNSW_F_RA, 1, 1, 0, 0);
    question(&b, "53.0.0.10.in-addr.arpa", DNSW_T_PTR, DNSW_C_IN);
    ptr(&b, 12);
    size_t at = rr_begin(&b, DNSW_T_PTR, DNSW_C_IN, 60);
    name(&b, "dns1.terminal.example");
    rr_end(&b, at);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nidentities, 2);
    assert_true(f->rec.identities[1].server);
    assert_string_equal(f->rec.identities[1].value, "dns1.terminal.example");
    /* the same answer again: no second fact in this flow */
    DATAGRAM_BUF(f, S2C, &rsp);
    assert_int_equal(count_identity(f, "dns_name"), 2);
    /* without a packet (no addresses) nothing is attached */
    f->ctx.pkt = NULL;
    f->state = memset(f->state, 0, qw_proto_dns.state_size);
    DATAGRAM_BUF(f, S2C, &rsp);
    assert_int_equal(count_identity(f, "dns_name"), 2);
}

/* ---- Wire reader ---------------------------------------------------------------------------- */

static void test_wire_names(void **ts)
{
    (void)ts;
    char out[DNSW_NAME_TEXT_MAX];
    size_t n = 0, off = 0;
    /* 63-octet labels up to the 255-octet limit ([1035] s.3.1) */
    uint8_t big[300];
    size_t p = 0;
    for (int l = 0; l < 4; l++) {
        uint8_t len = l < 3 ? 63 : 61; /* 3 x 64 + 62 + root = 255 octets */
        big[p++] = len;
        memset(big + p, 'a' + l, len);
        p += len;
    }
    big[p++] = 0;
    assert_int_equal(p, 255);
    assert_int_equal(dnsw_name(big, p, &off, 0, out, &n), DNSW_OK);
    assert_int_equal(n, 3 * 64 + 61);
    assert_int_equal(off, 255);
    big[3 * 64] = 62; /* one more octet: 256 */
    big[3 * 64 + 1 + 61] = 'd';
    big[p] = 0;
    off = 0;
    assert_int_equal(dnsw_name(big, p + 1, &off, 0, out, &n), DNSW_TOO_LONG);
    /* the root name */
    static const uint8_t root[] = {0};
    off = 0;
    assert_int_equal(dnsw_name(root, 1, &off, 0, out, &n), DNSW_OK);
    assert_int_equal(n, 0);
    /* a partial name (no root label), allowed only when asked for */
    static const uint8_t partial[] = {3, 'h', 'm', 'i'};
    off = 0;
    assert_int_equal(dnsw_name(partial, 4, &off, 0, out, &n), DNSW_TRUNCATED);
    off = 0;
    assert_int_equal(dnsw_name(partial, 4, &off, DNSW_NAME_PARTIAL_OK, out, &n), DNSW_OK);
    assert_string_equal(out, "hmi");
    /* pointers where none are allowed, and out of the message */
    static const uint8_t p1[] = {0xC0, 0x00};
    off = 0;
    assert_int_equal(dnsw_name(p1, 2, &off, DNSW_NAME_NO_POINTERS, out, &n), DNSW_BAD_POINTER);
    static const uint8_t p2[] = {0xC0, 0x05};
    off = 0;
    assert_int_equal(dnsw_name(p2, 2, &off, 0, out, &n), DNSW_BAD_POINTER);
    /* a forward pointer is followed */
    static const uint8_t fwd[] = {0xC0, 0x02, 1, 'z', 0};
    off = 0;
    assert_int_equal(dnsw_name(fwd, sizeof fwd, &off, 0, out, &n), DNSW_OK);
    assert_string_equal(out, "z");
    assert_int_equal(off, 2);
}

static void test_wire_reverse(void **ts)
{
    (void)ts;
    struct qw_addr a, want;
    const char *v4 = "4.3.2.1.in-addr.arpa";
    assert_true(dnsw_reverse_addr(v4, strlen(v4), &a));
    assert_true(qw_addr_parse("1.2.3.4", &want));
    assert_memory_equal(a.b, want.b, 16);
    const char *v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.IP6.ARPA";
    assert_true(dnsw_reverse_addr(v6, strlen(v6), &a));
    assert_true(qw_addr_parse("2001:db8::1", &want));
    assert_memory_equal(a.b, want.b, 16);
    static const char *const bad[] = {"256.3.2.1.in-addr.arpa", "3.2.1.in-addr.arpa",
                                      "a.3.2.1.in-addr.arpa", "1.0.ip6.arpa", "example.com",
                                      "5.4.3.2.1.in-addr.arpa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(dnsw_reverse_addr(bad[i], strlen(bad[i]), &a));
}

/* ---- Probe ---------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_dns.probe;
    struct buf b, t;
    query(&b, 0xBEEF, "www.example.com", DNSW_T_A);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    framed(&t, &b);
    assert_int_equal(probe(t.b, t.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(t.b, 1, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(t.b, 2, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(t.b, 10, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(t.b, 20, C2S), QW_PROBE_NEED_MORE); /* question not complete */
    assert_int_equal(probe(t.b, t.n - 1, C2S), QW_PROBE_NEED_MORE); /* type/class cut */
    answer_a(&b, 0xBEEF, "www.example.com", 2);
    framed(&t, &b);
    /* a large response: its header and question decide before the records arrive */
    assert_int_equal(probe(t.b, 2 + 12 + 17 + 4, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(b.b, b.n - 1, S2C), QW_PROBE_NO); /* a datagram is whole */
    /* near misses */
    query(&b, 1, "x.example", DNSW_T_A);
    b.b[3] |= 0x40; /* Z bit */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    query(&b, 1, "x.example", DNSW_T_A);
    b.b[3] |= 0x03; /* rcode in a query */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    query(&b, 1, "x.example", DNSW_T_A);
    b.b[2] = (uint8_t)(3u << 3); /* opcode 3 is unassigned */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    hdr(&b, 1, 0, 2, 0, 0, 0); /* two questions */
    question(&b, "a.example", 1, 1);
    question(&b, "b.example", 1, 1);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    query(&b, 1, "x.example", DNSW_T_A);
    b.b[b.n - 1] = 7; /* class 7 */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    query(&b, 1, "x.example", 0); /* type 0 */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    /* an NBNS name query belongs to the nbns parser */
    hdr(&b, 1, 0x0110, 1, 0, 0, 0);
    u8(&b, 32);
    put(&b, "EOEFFDEJEMEJEDEFEOFDEFFCFGEFFCCA", 32);
    u8(&b, 0);
    u16(&b, 0x20);
    u16(&b, 1);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x2e, 0x01, 0x00, 0x00, 0x2a, 0x03,
                                  0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03,
                                     0x00, 0x00, 0x00, 0x0a};
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    uint8_t zeros[64] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(probe(junk, sizeof junk, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_dns.name, "dns");
    assert_int_equal(qw_proto_dns.ports[0], 53);
    assert_true(qw_proto_dns.transports & QW_TRANSPORT_UDP);
    assert_true(qw_proto_dns.transports & QW_TRANSPORT_TCP);
    assert_ptr_equal(qw_proto_by_name("dns"), &qw_proto_dns);
    assert_true(qw_proto_dns.state_size < 4096); /* a few KiB per flow */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_query_response_pair),
        FX_TEST(test_error_rcodes),
        FX_TEST(test_record_types),
        FX_TEST(test_edns),
        FX_TEST(test_update_is_config),
        FX_TEST(test_pairing_rules),
        FX_TEST(test_retransmission_and_flow_end),
        FX_TEST(test_queue_overflow),
        FX_TEST(test_multicast_query_written_at_once),
        FX_TEST(test_long_query_short_form),
        FX_TEST(test_compression_loop),
        FX_TEST(test_truncated_and_bad_lengths),
        FX_TEST(test_every_truncation),
        FX_TEST(test_tcp_pair_and_two_in_one),
        FX_TEST(test_tcp_every_split),
        FX_TEST(test_tcp_bad_length_and_gap),
        FX_TEST(test_identity_flow_ends_only),
        FX_TEST(test_wire_names),
        FX_TEST(test_wire_reverse),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
