/* Unit tests for the NTP parser (src/proto/ntp.c): client/server pairing by origin timestamp,
 * server identity (stratum, reference id), control (mode 6) and private (mode 7) requests with
 * their anomalies, the probe, and truncation at every length. */
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

extern const struct qw_proto qw_proto_ntp;

#define PROTO qw_proto_ntp
#define FX_TS_STEP 0 /* every datagram names its time */

#include "parser_fixture.h"

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* A 48-byte header ([5905] s.7.3). */
static void header(uint8_t *b, uint8_t vn, uint8_t mode, uint8_t stratum, const char *refid,
                   uint64_t org, uint64_t xmt)
{
    memset(b, 0, 48);
    b[0] = (uint8_t)(vn << 3 | mode);
    b[1] = stratum;
    b[2] = 6;
    b[3] = (uint8_t)-20;
    memcpy(b + 12, refid, 4);
    be64(b + 24, org);
    be64(b + 40, xmt);
}

/* 2024-01-01T00:00:00Z in NTP era 0 seconds: 1704067200 + 2208988800. */
#define T2024 ((uint64_t)(1704067200ull + 2208988800ull) << 32)

static void test_client_server_gps(void **ts)
{
    struct fx *f = *ts;
    uint8_t q[48], r[48];
    header(q, 4, 3, 0, "\0\0\0\0", 0, T2024 + 0x80000000ull);
    header(r, 4, 4, 1, "GPS\0", T2024 + 0x80000000ull, T2024 + 0x90000000ull);
    assert_int_equal(qw_proto_ntp.probe(q, 48, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_ntp.probe(r, 48, QW_DIR_TO_CLIENT), QW_PROBE_MATCH);
    fx_datagram_at(f, 1000, QW_DIR_TO_SERVER, q, 48);
    assert_int_equal(f->rec.ntxns, 0);
    fx_datagram_at(f, 1800, QW_DIR_TO_CLIENT, r, 48);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "client");
    assert_int_equal(t->ops, QW_OP_TIMESYNC);
    assert_int_equal(t->response_ns - t->request_ns, 800);
    JSON_HAS(f, 0, "\"response\":{\"version\":4,\"mode\":4,\"mode_name\":\"server\","
                   "\"leap_indicator\":0,\"stratum\":1,\"poll\":6,\"precision\":-20,"
                   "\"root_delay\":0,\"root_dispersion\":0,\"reference_id\":\"GPS\","
                   "\"origin_time\":\"2024-01-01T00:00:00.500000Z\"");
    assert_string_equal(qw_record_identity(&f->rec, true, "ntp_stratum"), "1");
    assert_string_equal(qw_record_identity(&f->rec, true, "ntp_refid"), "GPS");
    /* The same answer again is no new fact; an unanswered request is flushed at flow end. */
    fx_datagram_at(f, 3000, QW_DIR_TO_SERVER, q, 48);
    fx_datagram_at(f, 3100, QW_DIR_TO_CLIENT, r, 48);
    assert_int_equal(f->rec.nidentities, 2);
    header(q, 4, 3, 0, "\0\0\0\0", 0, T2024 + 5);
    fx_datagram_at(f, 4000, QW_DIR_TO_SERVER, q, 48);
    qw_proto_ntp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(f->rec.txns[2].txn.has_response);
}

static void test_secondary_refid_is_ipv4(void **ts)
{
    struct fx *f = *ts;
    uint8_t r[48];
    header(r, 3, 4, 3, "\xc0\xa8\x01\x0a", 1, 2);
    fx_datagram_at(f, 1, QW_DIR_TO_CLIENT, r, 48); /* unsolicited: a record of its own */
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(f->rec.txns[0].txn.has_request);
    assert_string_equal(qw_record_identity(&f->rec, true, "ntp_refid"), "192.168.1.10");
}

static void test_mode7_monlist_and_mode6(void **ts)
{
    struct fx *f = *ts;
    /* ntpdc monlist: R=0 M=0 VN=2 mode 7, seq 0, implementation 3, request 42. */
    uint8_t m7[8] = {0x17, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(qw_proto_ntp.probe(m7, sizeof m7, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, m7, sizeof m7);
    fx_datagram_at(f, 2, QW_DIR_TO_SERVER, m7, sizeof m7);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ntp.mode7_request"), 1); /* once per flow */
    assert_string_equal(f->rec.anomalies[0].detail, "mon_getlist_1");
    uint8_t m7r[8] = {0x97, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00, 0x00};
    fx_datagram_at(f, 3, QW_DIR_TO_CLIENT, m7r, sizeof m7r);
    assert_int_equal(f->rec.ntxns, 2); /* the repeat flushed the first request */
    JSON_HAS(f, 1, "\"request_code\":42,\"request_name\":\"mon_getlist_1\",\"implementation\":3,"
                   "\"response\":true");
    assert_int_equal(f->rec.txns[1].txn.ops, QW_OP_DIAGNOSTIC);
    /* ntpq readvar: mode 6 opcode 2, sequence 68. */
    uint8_t m6[12] = {0x16, 0x02, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t m6r[16] = {0x16, 0x82, 0x00, 0x44, 0x06, 0x18, 0, 0, 0, 0, 0, 4, 'a', '=', '1', 0};
    assert_int_equal(qw_proto_ntp.probe(m6, sizeof m6, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    fx_datagram_at(f, 4, QW_DIR_TO_SERVER, m6, sizeof m6);
    fx_datagram_at(f, 5, QW_DIR_TO_CLIENT, m6r, sizeof m6r);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ntp.mode6_request"), 1);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"opcode\":2,\"opcode_name\":\"read_variables\",\"response\":true,"
                   "\"sequence\":68,\"status\":1560,\"association_id\":0,\"offset\":0,\"count\":4");
}

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    uint8_t b[68];
    header(b, 4, 3, 0, "\0\0\0\0", 0, 1);
    assert_int_equal(qw_proto_ntp.probe(b, 47, 0), QW_PROBE_NO);   /* short */
    assert_int_equal(qw_proto_ntp.probe(b, 49, 0), QW_PROBE_NO);   /* odd trailer */
    assert_int_equal(qw_proto_ntp.probe(b, 68, 0), QW_PROBE_MATCH); /* key id + SHA-1 MAC */
    b[0] = (uint8_t)(5 << 3 | 3);
    assert_int_equal(qw_proto_ntp.probe(b, 48, 0), QW_PROBE_NO);   /* version 5 */
    b[0] = (uint8_t)(4 << 3 | 0);
    assert_int_equal(qw_proto_ntp.probe(b, 48, 0), QW_PROBE_NO);   /* mode 0 */
    b[0] = (uint8_t)(4 << 3 | 4);
    b[1] = 17;
    assert_int_equal(qw_proto_ntp.probe(b, 48, 0), QW_PROBE_NO);   /* stratum 17 */
    static const char http[] = "GET /index.html HTTP/1.1\r\nHost: plc.example\r\nAccept: */*\r\n";
    assert_int_equal(qw_proto_ntp.probe((const uint8_t *)http, 48, 0), QW_PROBE_NO);
    static const uint8_t snmp[] = {0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b', 'l',
                                   'i', 'c', 0xa0, 0x19};
    assert_int_equal(qw_proto_ntp.probe(snmp, sizeof snmp, 0), QW_PROBE_NO);
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
    assert_int_equal(qw_proto_ntp.probe(dns, sizeof dns, 0), QW_PROBE_NO);
}

static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[48];
    header(b, 4, 4, 1, "PPS\0", 1, 2);
    for (size_t n = 0; n < 48; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        assert_int_equal(qw_proto_ntp.probe(cut, n, QW_DIR_TO_CLIENT), QW_PROBE_NO);
        fx_datagram_at(f, 1, QW_DIR_TO_CLIENT, cut, n);
        free(cut);
        assert_int_equal(f->rec.ntxns, 0);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "ntp.truncated"), 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_client_server_gps),
        FX_TEST(test_secondary_refid_is_ipv4),
        FX_TEST(test_mode7_monlist_and_mode6),
        FX_TEST(test_probe_refuses_others),
        FX_TEST(test_truncated_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
