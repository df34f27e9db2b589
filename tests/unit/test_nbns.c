/* Unit tests for the NetBIOS name service parser (src/proto/nbns.c).
 *
 * Messages are built following RFC 1002: s.4.1 first-level encoding of the 16-octet name
 * (15 characters padded with spaces, then the suffix), s.4.2.1 header with the B flag,
 * s.4.2.2 registration (question + additional NB record pointing at it), s.4.2.12-4.2.13 name
 * query and positive response, s.4.2.14 negative response, s.4.2.16 WACK, s.4.2.17-4.2.18 node
 * status request and response (name table, then statistics beginning with the unit id). */
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

extern const struct qw_proto qw_proto_nbns;
extern const struct qw_proto qw_proto_dns;

#define PROTO qw_proto_nbns
#define FX_TS_STEP 1000000u /* 1 ms per datagram */
#define FX_BUF_MAX 1024

#include "parser_fixture.h"

/* ---- Message builder ------------------------------------------------------------------------ */

#define F_R 0x8000u
#define F_AA 0x0400u
#define F_RD 0x0100u
#define F_B 0x0010u
#define OP(o) ((uint16_t)((o) << 11))
#define T_NB 0x0020u
#define T_NBSTAT 0x0021u
#define G 0x8000u

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

/* [1002] s.4.1: 15 characters padded with spaces, the suffix, two letters per octet. */
static void nbname(struct buf *b, const char *n, uint8_t suffix)
{
    uint8_t raw[16];
    memset(raw, ' ', 15);
    memcpy(raw, n, strlen(n));
    raw[15] = suffix;
    u8(b, 32);
    for (int i = 0; i < 16; i++) {
        u8(b, (uint8_t)('A' + (raw[i] >> 4)));
        u8(b, (uint8_t)('A' + (raw[i] & 15)));
    }
    u8(b, 0);
}

static void nb_question(struct buf *b, const char *n, uint8_t suffix, uint16_t type)
{
    nbname(b, n, suffix);
    u16(b, type);
    u16(b, 1);
}

/* An NB record for the name at offset 12 (a pointer), one address entry. */
static void nb_record_ptr(struct buf *b, uint16_t flags, const uint8_t a[4])
{
    u16(b, 0xC00C);
    u16(b, T_NB);
    u16(b, 1);
    u32(b, 300000);
    u16(b, 6);
    u16(b, flags);
    put(b, a, 4);
}

static const uint8_t ws_ip[4] = {192, 168, 1, 10};
static const uint8_t wins_ip[4] = {192, 168, 1, 2};

static void registration(struct buf *b, uint16_t id, const char *n, uint8_t suffix, bool group,
                         const uint8_t a[4])
{
    hdr(b, id, OP(5) | F_RD | F_B, 1, 0, 0, 1);
    nb_question(b, n, suffix, T_NB);
    nb_record_ptr(b, group ? G : 0, a);
}

static void name_query(struct buf *b, uint16_t id, const char *n, uint8_t suffix, bool bcast)
{
    hdr(b, id, (uint16_t)(F_RD | (bcast ? F_B : 0)), 1, 0, 0, 0);
    nb_question(b, n, suffix, T_NB);
}

static void positive_response(struct buf *b, uint16_t id, const char *n, uint8_t suffix,
                              const uint8_t a[4])
{
    hdr(b, id, F_R | F_AA | F_RD, 0, 1, 0, 0);
    nbname(b, n, suffix);
    u16(b, T_NB);
    u16(b, 1);
    u32(b, 300000);
    u16(b, 6);
    u16(b, 0x6000); /* H node, unique */
    put(b, a, 4);
}

static void node_status_response(struct buf *b, uint16_t id)
{
    static const struct {
        const char *n;
        uint8_t suffix;
        uint16_t flags;
    } table[] = {
        {"CRANE-HMI-04", 0x00, 0x0400}, {"TERMINAL", 0x00, 0x8400},
        {"CRANE-HMI-04", 0x20, 0x0400}, {"TERMINAL", 0x1E, 0x8400},
    };
    hdr(b, id, F_R | F_AA, 0, 1, 0, 0);
    u8(b, 32);
    u8(b, 'C');
    u8(b, 'K');
    for (int i = 0; i < 30; i++) u8(b, 'A'); /* "*" then NULs */
    u8(b, 0);
    u16(b, T_NBSTAT);
    u16(b, 1);
    u32(b, 0);
    size_t at = b->n;
    u16(b, 0);
    u8(b, 4);
    for (int i = 0; i < 4; i++) {
        uint8_t raw[16];
        memset(raw, ' ', 15);
        memcpy(raw, table[i].n, strlen(table[i].n));
        raw[15] = table[i].suffix;
        put(b, raw, 16);
        u16(b, table[i].flags);
    }
    static const uint8_t unit[6] = {0x00, 0x0e, 0x8c, 0x12, 0x34, 0x56};
    put(b, unit, 6);
    for (int i = 0; i < 40; i++) u8(b, 0); /* the rest of the statistics */
    size_t l = b->n - at - 2;
    b->b[at] = (uint8_t)(l >> 8);
    b->b[at + 1] = (uint8_t)l;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_broadcast_query(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.10", "192.168.1.255");
    name_query(&b, 0x8273, "PLC-GATEWAY", 0x20, true);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 1); /* broadcast: its answer is another flow */
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "query");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"request\":{\"function\":0,\"function_name\":\"query\",\"id\":33395,"
                   "\"flags\":272,\"response\":false,\"broadcast\":true,\"aa\":false,\"tc\":false,"
                   "\"rd\":true,\"ra\":false,\"questions\":[{\"name\":\"PLC-GATEWAY\",\"suffix\":32,"
                   "\"suffix_name\":\"file_server\",\"type\":32,\"type_name\":\"NB\",\"class\":1}]}");
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_unicast_query_positive_response(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.10", "192.168.1.2");
    name_query(&b, 0x10, "HISTORIAN", 0x20, false);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 0);
    /* the WINS server answers for another host: no identity for the server */
    fx_packet(f, "192.168.1.2", "192.168.1.10");
    positive_response(&b, 0x10, "HISTORIAN", 0x20, ws_ip);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request && f->rec.txns[0].txn.has_response);
    assert_false(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"answers\":[{\"name\":\"HISTORIAN\",\"suffix\":32,\"suffix_name\":"
                   "\"file_server\",\"type\":32,\"type_name\":\"NB\",\"class\":1,\"ttl\":300000,"
                   "\"addresses\":[{\"address\":\"192.168.1.10\",\"group\":false,"
                   "\"node_type\":\"h\"}]}]");
    assert_int_equal(f->rec.nidentities, 0);
    /* the owner answering for itself names itself */
    fx_packet(f, "192.168.1.10", "192.168.1.99");
    positive_response(&b, 0x11, "HISTORIAN", 0x20, ws_ip);
    DATAGRAM_BUF(f, S2C, &b);
    assert_true(has_fact(f, true, "netbios_name", "HISTORIAN"));
    assert_true(has_fact(f, true, "hostname", "HISTORIAN"));
}

static void test_negative_response_is_error(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    name_query(&b, 0x20, "NOSUCH", 0x00, false);
    DATAGRAM_BUF(f, C2S, &b);
    hdr(&b, 0x20, F_R | F_AA | F_RD | 3, 0, 1, 0, 0); /* NAM_ERR */
    nbname(&b, "NOSUCH", 0);
    u16(&b, T_NB);
    u16(&b, 1);
    u32(&b, 0);
    u16(&b, 0);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"rcode\":3,\"rcode_name\":\"nam_err\"");
}

static void test_registration_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.10", "192.168.1.255");
    registration(&b, 0x9301, "CRANE-HMI-04", 0x00, false, ws_ip);
    DATAGRAM_BUF(f, C2S, &b);
    registration(&b, 0x9302, "TERMINAL", 0x00, true, ws_ip);
    DATAGRAM_BUF(f, C2S, &b);
    registration(&b, 0x9303, "CRANE-HMI-04", 0x20, false, ws_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(f->rec.txns[0].txn.function, 5);
    assert_string_equal(f->rec.txns[0].txn.function_name, "registration");
    JSON_HAS(f, 1, "\"additionals\":[{\"name\":\"TERMINAL\",\"suffix\":0,\"suffix_name\":"
                   "\"domain_name\",\"type\":32,\"type_name\":\"NB\",\"class\":1,\"ttl\":300000,"
                   "\"addresses\":[{\"address\":\"192.168.1.10\",\"group\":true,\"node_type\":"
                   "\"b\"}]}]");
    assert_true(has_fact(f, false, "netbios_name", "CRANE-HMI-04"));
    assert_true(has_fact(f, false, "hostname", "CRANE-HMI-04"));
    assert_true(has_fact(f, false, "netbios_domain", "TERMINAL"));
    assert_int_equal(f->rec.nidentities, 3); /* <20> repeats the name */
    /* a registration for another address (a proxy) says nothing about the sender */
    registration(&b, 0x9304, "OTHER-PC", 0x00, false, wins_ip);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.nidentities, 3);
}

static void test_node_status(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.50", "192.168.1.10");
    hdr(&b, 0x4242, 0, 1, 0, 0, 0);
    u8(&b, 32);
    u8(&b, 'C');
    u8(&b, 'K');
    for (int i = 0; i < 30; i++) u8(&b, 'A');
    u8(&b, 0);
    u16(&b, T_NBSTAT);
    u16(&b, 1);
    DATAGRAM_BUF(f, C2S, &b);
    fx_packet(f, "192.168.1.10", "192.168.1.50");
    node_status_response(&b, 0x4242);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"questions\":[{\"name\":\"*\",\"suffix\":0,\"suffix_name\":\"workstation\","
                   "\"type\":33,\"type_name\":\"NBSTAT\",\"class\":1}]");
    JSON_HAS(f, 0, "\"num_names\":4,\"names\":[{\"name\":\"CRANE-HMI-04\",\"suffix\":0,"
                   "\"suffix_name\":\"workstation\",\"group\":false,\"active\":true,\"flags\":1024},"
                   "{\"name\":\"TERMINAL\",\"suffix\":0,\"suffix_name\":\"domain_name\","
                   "\"group\":true,\"active\":true,\"flags\":33792}");
    JSON_HAS(f, 0, "\"unit_id\":\"00:0e:8c:12:34:56\"");
    assert_true(has_fact(f, true, "netbios_name", "CRANE-HMI-04"));
    assert_true(has_fact(f, true, "hostname", "CRANE-HMI-04"));
    assert_true(has_fact(f, true, "netbios_domain", "TERMINAL"));
    assert_int_equal(f->rec.nidentities, 3);
}

static void test_wack_and_queue(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    fx_packet(f, "192.168.1.10", "192.168.1.2");
    hdr(&b, 0x77, OP(5) | F_RD, 1, 0, 0, 1); /* unicast registration with the WINS server */
    nb_question(&b, "CRANE-HMI-04", 0, T_NB);
    nb_record_ptr(&b, 0x2000, ws_ip);
    DATAGRAM_BUF(f, C2S, &b);
    fx_packet(f, "192.168.1.2", "192.168.1.10");
    hdr(&b, 0x77, F_R | OP(7) | F_AA, 0, 1, 0, 0); /* WACK: wait */
    nbname(&b, "CRANE-HMI-04", 0);
    u16(&b, T_NB);
    u16(&b, 1);
    u32(&b, 2);
    u16(&b, 2);
    u16(&b, 0x2810);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "wack");
    assert_false(f->rec.txns[0].txn.has_request);
    hdr(&b, 0x77, F_R | OP(5) | F_AA | F_RD, 0, 1, 0, 0); /* the final answer pairs */
    nbname(&b, "CRANE-HMI-04", 0);
    u16(&b, T_NB);
    u16(&b, 1);
    u32(&b, 300000);
    u16(&b, 6);
    u16(&b, 0x2000);
    put(&b, ws_ip, 4);
    DATAGRAM_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(f->rec.txns[1].txn.has_request);
    /* overflow */
    fx_packet(f, "192.168.1.10", "192.168.1.2");
    for (unsigned i = 0; i < 12; i++) {
        name_query(&b, (uint16_t)(0x100 + i), "X", 0, false);
        DATAGRAM_BUF(f, C2S, &b);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "nbns.request_queue_full"), 1);
    qw_proto_nbns.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 14);
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf b;
    registration(&b, 1, "CUT", 0, false, ws_ip);
    for (size_t cut = 0; cut < b.n; cut++) {
        f->rec.nanomalies = f->rec.ntxns = 0;
        qw_proto_nbns.datagram(&f->ctx, f->state, C2S, b.b, cut);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "nbns.malformed"), 1);
        assert_int_equal(f->rec.ntxns, cut >= 12 ? 1 : 0);
    }
    qw_proto_nbns.flow_end(&f->ctx, f->state);
    hdr(&b, 2, 0, 1, 0, 0, 0);
    u16(&b, 0xC00C); /* the question name points at itself */
    u16(&b, T_NB);
    u16(&b, 1);
    f->rec.nanomalies = 0;
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "nbns.compression_loop"), 1);
}

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_nbns.probe;
    struct buf b;
    name_query(&b, 1, "WPAD", 0, true);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_dns.probe(b.b, b.n, C2S), QW_PROBE_NO); /* not DNS's */
    registration(&b, 1, "PC", 0, false, ws_ip);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    node_status_response(&b, 1);
    assert_int_equal(probe(b.b, b.n, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(b.b, b.n - 1, S2C), QW_PROBE_NO);
    /* a DNS query is not NBNS */
    hdr(&b, 1, F_RD, 1, 0, 0, 0);
    u8(&b, 3);
    put(&b, "www", 3);
    u8(&b, 0);
    u16(&b, 1);
    u16(&b, 1);
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    /* a letter outside 'A'-'P' */
    name_query(&b, 1, "WPAD", 0, true);
    b.b[13] = 'Z';
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    name_query(&b, 1, "WPAD", 0, true);
    b.b[2] = 0x18; /* opcode 3 */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    name_query(&b, 1, "WPAD", 0, true);
    b.b[b.n - 1] = 2; /* class 2 */
    assert_int_equal(probe(b.b, b.n, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.0\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    uint8_t zeros[50] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_nbns.name, "nbns");
    assert_int_equal(qw_proto_nbns.ports[0], 137);
    assert_int_equal(qw_proto_nbns.transports, QW_TRANSPORT_UDP);
    assert_ptr_equal(qw_proto_by_name("nbns"), &qw_proto_nbns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_broadcast_query),
        FX_TEST(test_unicast_query_positive_response),
        FX_TEST(test_negative_response_is_error),
        FX_TEST(test_registration_identity),
        FX_TEST(test_node_status),
        FX_TEST(test_wack_and_queue),
        FX_TEST(test_malformed),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
