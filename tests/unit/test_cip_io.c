/* Unit tests for the CIP class 0/1 implicit I/O parser (src/proto/cip_io.c).
 *
 * Datagrams follow [CIP2] s.2-6 / s.3-2: item count 2, sequenced address item 0x8002 (connection
 * id, sequence number), connected data item 0x00B1. Checked: the strict probe, aggregation into
 * one record per connection at flow end, sequence gaps, duplicates, reordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_cip_io;
extern const struct qw_proto qw_proto_enip;

#define PROTO qw_proto_cip_io
#define FX_TS_STEP 10000000u /* a 10 ms RPI */

#include "parser_fixture.h"

/* One class 1 datagram: `n` data bytes after the 16-bit CIP sequence count. */
static size_t io_packet(uint8_t *b, uint32_t conn, uint32_t seq, size_t n)
{
    size_t dlen = n + 2;
    uint8_t hdr[18] = {2, 0, 0x02, 0x80, 8, 0};
    memcpy(b, hdr, 6);
    for (int i = 0; i < 4; i++) b[6 + i] = (uint8_t)(conn >> (8 * i));
    for (int i = 0; i < 4; i++) b[10 + i] = (uint8_t)(seq >> (8 * i));
    b[14] = 0xB1;
    b[15] = 0x00;
    b[16] = (uint8_t)dlen;
    b[17] = (uint8_t)(dlen >> 8);
    b[18] = (uint8_t)seq;
    b[19] = (uint8_t)(seq >> 8);
    for (size_t i = 0; i < n; i++) b[20 + i] = (uint8_t)i;
    return 18 + dlen;
}

static void io_send(struct fx *f, enum qw_dir dir, uint32_t conn, uint32_t seq, size_t n)
{
    uint8_t b[600];
    size_t len = io_packet(b, conn, seq, n);
    fx_datagram(f, dir, b, len);
}

static void test_aggregates_per_connection(void **ts)
{
    struct fx *f = *ts;
    for (uint32_t s = 100; s < 150; s++) {
        io_send(f, QW_DIR_TO_SERVER, 0x004B0201, s, 4);
        io_send(f, QW_DIR_TO_CLIENT, 0x000E4003, 1000 + s, 8);
    }
    assert_int_equal(f->rec.ntxns, 0); /* nothing per packet */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 0xB1);
    assert_string_equal(t->function_name, "connected_data");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"request\":{\"function\":177,\"function_name\":\"connected_data\","
                   "\"connection_id\":\"0x004b0201\",\"direction\":\"to_server\",\"packets\":50,"
                   "\"bytes\":300,\"first_sequence\":100,\"last_sequence\":149,\"sequence_gaps\":0,"
                   "\"missing_packets\":0,\"duplicates\":0,\"reordered\":0,\"data_length_min\":6,"
                   "\"data_length_max\":6,\"duration_us\":");
    JSON_HAS(f, 0, "\"mean_interval_us\":20000}");
    JSON_HAS(f, 1, "\"connection_id\":\"0x000e4003\",\"direction\":\"to_client\",\"packets\":50");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_gaps_duplicates_reordering(void **ts)
{
    struct fx *f = *ts;
    static const uint32_t seqs[] = {10, 11, 12, 15, 15, 14, 16, 20, 0xFFFFFFF0u};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        io_send(f, QW_DIR_TO_SERVER, 7, seqs[i], 2 + i);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    /* 12 -> 15 misses 2, 16 -> 20 misses 3; 15 again is a duplicate; 14 comes late; the jump to
     * 0xFFFFFFF0 is backwards by signed distance: a reorder, not 4 billion lost packets. */
    JSON_HAS(f, 0, "\"packets\":9,");
    JSON_HAS(f, 0, "\"first_sequence\":10,\"last_sequence\":4294967280,\"sequence_gaps\":2,"
                   "\"missing_packets\":5,\"duplicates\":1,\"reordered\":2,"
                   "\"data_length_min\":4,\"data_length_max\":12");
}

static void test_wrap_and_restart(void **ts)
{
    struct fx *f = *ts;
    io_send(f, QW_DIR_TO_SERVER, 1, 0xFFFFFFFEu, 2);
    io_send(f, QW_DIR_TO_SERVER, 1, 0xFFFFFFFFu, 2);
    io_send(f, QW_DIR_TO_SERVER, 1, 0, 2); /* wraps: no gap */
    io_send(f, QW_DIR_TO_SERVER, 1, 5000000, 2); /* a new connection with the same id */
    flow_end(f);
    JSON_HAS(f, 0, "\"sequence_gaps\":0,\"missing_packets\":0,\"duplicates\":0,"
                   "\"reordered\":0,\"restarts\":1");
}

static void test_too_many_connections_counted(void **ts)
{
    struct fx *f = *ts;
    for (uint32_t c = 0; c < 40; c++) io_send(f, QW_DIR_TO_SERVER, c, 1, 2);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 32);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cip_io.too_many_connections"), 1);
}

static void test_probe_strict(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_cip_io.probe;
    uint8_t b[64];
    size_t n = io_packet(b, 0x10, 1, 6);
    assert_int_equal(probe(b, n, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    assert_int_equal(probe(b, n - 1, QW_DIR_TO_SERVER), QW_PROBE_NO); /* lengths must add up */
    assert_int_equal(probe(b, 10, QW_DIR_TO_SERVER), QW_PROBE_NO);
    uint8_t c[64];
    memcpy(c, b, n);
    c[0] = 3; /* item count */
    assert_int_equal(probe(c, n, QW_DIR_TO_SERVER), QW_PROBE_NO);
    memcpy(c, b, n);
    c[2] = 0xA1; /* connected address, not sequenced */
    c[3] = 0x00;
    assert_int_equal(probe(c, n, QW_DIR_TO_SERVER), QW_PROBE_NO);
    memcpy(c, b, n);
    c[4] = 4; /* address item length */
    assert_int_equal(probe(c, n, QW_DIR_TO_SERVER), QW_PROBE_NO);
    memcpy(c, b, n);
    c[14] = 0xB2; /* unconnected data item */
    assert_int_equal(probe(c, n, QW_DIR_TO_SERVER), QW_PROBE_NO);
    /* An EtherNet/IP encapsulation message is not I/O, and the other way round. */
    static const uint8_t li[24] = {0x63};
    assert_int_equal(probe(li, sizeof li, QW_DIR_TO_SERVER), QW_PROBE_NO);
    assert_int_equal(qw_proto_enip.probe(b, n, QW_DIR_TO_SERVER), QW_PROBE_NO);
    static const char dns[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www";
    assert_int_equal(probe((const uint8_t *)dns, sizeof dns - 1, QW_DIR_TO_SERVER),
                     QW_PROBE_NO);
}

static void test_invalid_datagram_after_match(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t junk[] = {1, 2, 3};
    qw_proto_cip_io.datagram(&f->ctx, f->state, QW_DIR_TO_SERVER, junk, sizeof junk);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cip_io.invalid_packet"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_aggregates_per_connection),
        FX_TEST(test_gaps_duplicates_reordering),
        FX_TEST(test_wrap_and_restart),
        FX_TEST(test_too_many_connections_counted),
        FX_TEST(test_probe_strict),
        FX_TEST(test_invalid_datagram_after_match),
    };
    return cmocka_run_group_tests_name("cip_io", tests, NULL, NULL);
}
