/* Unit tests for the ATG parser (src/proto/atg.c): the Veeder-Root TLS-350 serial interface
 * protocol over TCP.
 *
 * Streams are fed through qw_stream_deliver as the engine does, into a recording sink; decoded
 * values are checked on the txn summary, the rendered "atg" JSON object, anomalies and identity
 * facts. Messages follow the formats of the Veeder-Root Serial Interface Manual 576013-635
 * (s.5 commands, s.6.1 computer format with its checksum, s.6.2 display format, function 201). */
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
#include "engine/stream.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_atg;

#define PROTO qw_proto_atg
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

/* A computer-format answer: SOH body && CCCC ETX, with the [VR] s.6.1 checksum (the two's
 * complement of the sum of SOH through "&&"). `corrupt` adds 1 to the checksum. */
static size_t computer(char *out, size_t cap, const char *body, int corrupt)
{
    int n = snprintf(out, cap, "\x01%s&&", body);
    assert_true(n > 0 && (size_t)n + 5 < cap);
    unsigned sum = 0;
    for (int i = 0; i < n; i++) sum += (uint8_t)out[i];
    unsigned ck = (0x10000u - (sum & 0xFFFFu) + (unsigned)corrupt) & 0xFFFFu;
    n += snprintf(out + n, cap - (size_t)n, "%04X\x03", ck);
    return (size_t)n;
}

/* 201 answer for two tanks: tank 1 product '1' status 0, 7 floats; tank 2 product '2' status
 * 0x0001 with 3 floats. 0x45FDDC00 = 8123.5, 0x45FB9200 = 8050.25, 0x45724800 = 3876.5,
 * 0x42630000 = 56.75, 0x3F000000 = 0.5, 0x42750000 = 61.25, 0x41400000 = 12. */
static const char inv_body[] =
    "i201002403151041"
    "011000007" "45FDDC00" "45FB9200" "45724800" "42630000" "3F000000" "42750000" "41400000"
    "022000103" "45834000" "4582E000" "45F3C000";

/* ---- Transactions -------------------------------------------------------------------------- */

static void test_computer_inventory(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    f->ctx.ts_ns = 1000;
    FEED_LIT(f, C2S, "\x01i20100");
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 301000;
    feed(f, S2C, rsp, n);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0x201);
    assert_string_equal(t->function_name, "in_tank_inventory_report");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_int_equal(t->request_ns, 1000);
    assert_int_equal(t->response_ns, 301000);
    assert_false(t->error);
    JSON_HAS(f, 0, "{\"request\":{\"format\":\"computer\",\"command_type\":\"inquiry\","
                   "\"function\":513,\"function_code\":\"201\",\"function_name\":"
                   "\"in_tank_inventory_report\",\"tank\":0},");
    JSON_HAS(f, 0, "\"datetime\":\"2024-03-15T10:41\",\"tanks\":[{\"tank\":1,\"product\":\"1\","
                   "\"status\":0,\"volume\":8123.5,\"tc_volume\":8050.25,\"ullage\":3876.5,"
                   "\"height\":56.75,\"water\":0.5,\"temperature\":61.25,\"water_volume\":12},"
                   "{\"tank\":2,\"product\":\"2\",\"status\":1,\"volume\":4200,"
                   "\"tc_volume\":4188,\"ullage\":7800}],");
    JSON_HAS(f, 0, "\"checksum_valid\":true}}");
}

static void test_display_inventory(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01I20100\r\n");
    FEED_LIT(f, S2C, "\x01\r\nI20100\r\nMAR 15, 2024 10:41 AM\r\n\r\nIN-TANK INVENTORY\r\n"
                     "  1  REGULAR   8123\r\n\r\n\x03");
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"request\":{\"format\":\"display\",\"command_type\":\"inquiry\"");
    JSON_HAS(f, 0, "\"response\":{\"format\":\"display\",\"command_type\":\"inquiry\","
                   "\"function\":513,\"function_code\":\"201\",\"function_name\":"
                   "\"in_tank_inventory_report\",\"tank\":0,\"text\":\"MAR 15, 2024 10:41 AM"
                   "\\r\\n\\r\\nIN-TANK INVENTORY\\r\\n  1  REGULAR   8123\"}");
    JSON_LACKS(f, 0, "checksum");
}

static void test_set_product_label(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01S60201SUPER UNLEADED\r\n");
    FEED_LIT(f, S2C, "\x01\r\nS60201\r\nTANK PRODUCT LABEL\r\n\x03");
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x602);
    assert_string_equal(t->function_name, "tank_product_label");
    assert_int_equal(t->ops, QW_OP_CONFIG);
    JSON_HAS(f, 0, "\"request\":{\"format\":\"display\",\"command_type\":\"set\","
                   "\"function\":1538,\"function_code\":\"602\",\"function_name\":"
                   "\"tank_product_label\",\"tank\":1,\"data\":\"SUPER UNLEADED\"}");
}

static void test_ops_by_function(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01s501002403151200\r\n"); /* set the clock */
    FEED_LIT(f, C2S, "\x01s00100\r\n");           /* system reset */
    FEED_LIT(f, C2S, "\x01i90200\r\n");           /* software revision */
    FEED_LIT(f, C2S, "\x01i95500\r\n");           /* an unnamed 9xx report */
    FEED_LIT(f, C2S, "\x01s7AB01X\r\n");          /* an unnamed set */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_RESTART);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_READ | QW_OP_IDENTIFY);
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_DIAGNOSTIC);
    assert_string_equal(txn_at(f, 3)->function_name, "unknown");
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_CONFIG);
    JSON_HAS(f, 4, "\"function\":1963,\"function_code\":\"7AB\",\"function_name\":\"unknown\"");
}

static void test_bad_checksum(void **ts)
{
    struct fx *f = *ts;
    char rsp[256];
    size_t n = computer(rsp, sizeof rsp, "i202002403151041" "0100", 1);
    FEED_LIT(f, C2S, "\x01i20200");
    feed(f, S2C, rsp, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.bad_checksum"), 1);
    JSON_HAS(f, 0, "\"data\":\"0100\",\"checksum\":");
    JSON_HAS(f, 0, "\"checksum_valid\":false}");
    assert_false(txn_at(f, 0)->error);
    /* the same answer, summed right */
    n = computer(rsp, sizeof rsp, "i202002403151041" "0100", 0);
    FEED_LIT(f, C2S, "\x01i20200");
    feed(f, S2C, rsp, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.bad_checksum"), 1);
    JSON_HAS(f, 1, "\"checksum_valid\":true}");
}

static void test_unrecognized_command(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01i99900");
    FEED_LIT(f, S2C, "\x01" "9999FF1B\x03"); /* [VR] s.5: FF1B is the checksum of <SOH>9999 */
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->error);
    assert_true(t->has_request);
    JSON_HAS(f, 0, "\"response\":{\"format\":\"computer\",\"function_name\":\"unknown\","
                   "\"unrecognized\":true,\"checksum\":\"FF1B\",\"checksum_valid\":true}");
}

static void test_pairing_in_order_and_by_function(void **ts)
{
    struct fx *f = *ts;
    char r1[512], r2[512];
    size_t n1 = computer(r1, sizeof r1, "i205002403151041" "0100", 0);
    size_t n2 = computer(r2, sizeof r2, inv_body, 0);
    /* two commands in one segment, no terminators: the SOH ends the first */
    FEED_LIT(f, C2S, "\x01i20100\x01i20500");
    assert_int_equal(f->rec.ntxns, 0);
    feed(f, S2C, r1, n1); /* 205 answered first */
    feed(f, S2C, r2, n2);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"function_code\":\"205\"");
    assert_true(txn_at(f, 0)->has_request);
    JSON_HAS(f, 1, "\"request\":{\"format\":\"computer\",\"command_type\":\"inquiry\","
                   "\"function\":513");
    assert_true(txn_at(f, 1)->has_request);
}

static void test_command_split_and_open_command(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    FEED_LIT(f, C2S, "\x01i2");
    FEED_LIT(f, C2S, "01");
    FEED_LIT(f, C2S, "00"); /* no terminator: the command stays open */
    assert_int_equal(f->pend[C2S].len, 0); /* kept in the parser state, not pending */
    feed(f, S2C, rsp, n); /* the answer closes it */
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
    JSON_HAS(f, 0, "\"function_code\":\"201\",\"function_name\":\"in_tank_inventory_report\","
                   "\"tank\":0}");
}

static void test_security_code(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01" "AB12CDi20500\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"function_code\":\"205\",\"function_name\":\"in_tank_status_report\","
                   "\"tank\":0,\"security_code\":true}");
    JSON_LACKS(f, 0, "AB12CD");
}

static void test_secrets_redacted(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01s50400NEWPW1\r\n");
    FEED_LIT(f, C2S, "\x01S09E00setuppassword\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_AUTH | QW_OP_CONFIG);
    JSON_HAS(f, 0, "\"data_redacted\":true");
    JSON_LACKS(f, 0, "NEWPW1");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_AUTH);
    JSON_LACKS(f, 1, "setuppassword");
}

static void test_response_without_command_and_unanswered(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    feed(f, S2C, rsp, n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    assert_int_equal(txn_at(f, 0)->function, 0x201);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    f->ctx.ts_ns = 77;
    FEED_LIT(f, C2S, "\x01i11300\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 1)->has_response);
    assert_int_equal(txn_at(f, 1)->request_ns, 77);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 5; i++) FEED_LIT(f, C2S, "\x01i10100\r\n");
    assert_int_equal(f->rec.ntxns, 1); /* the oldest reported unanswered */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
}

static void test_identity(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp,
                        "i902002403151041SOFTWARE# 346330-100-BCREATED - 20.01.15.10.30", 0);
    FEED_LIT(f, C2S, "\x01i90200");
    feed(f, S2C, rsp, n);
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "346330-100-B");
    n = computer(rsp, sizeof rsp,
                 "i113002403151041ACME FUEL DEPOT 7   1 HARBOUR ROAD      BERTH 4             "
                 "                    ",
                 0);
    FEED_LIT(f, C2S, "\x01i11300");
    feed(f, S2C, rsp, n);
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "ACME FUEL DEPOT 7");
    /* display format revision answer */
    FEED_LIT(f, C2S, "\x01I90200");
    FEED_LIT(f, S2C, "\x01\r\nI90200\r\n22-05-01 15:12\r\nSOFTWARE# 349783-001-AXM\r\n"
                     "CREATED - 01.05.17.15.11\r\n\x03");
    assert_int_equal(f->rec.nidentities, 3);
    assert_null(qw_record_identity(&f->rec, false, "firmware"));
}

static void test_identity_not_from_bad_checksum(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp,
                        "i902002403151041SOFTWARE# 346330-100-BCREATED - 20.01.15.10.30", 3);
    FEED_LIT(f, C2S, "\x01i90200");
    feed(f, S2C, rsp, n);
    assert_int_equal(f->rec.nidentities, 0);
}

/* ---- Malformed input ----------------------------------------------------------------------- */

static void test_invalid_command(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, "\x01hello\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.invalid_command"), 1);
    FEED_LIT(f, C2S, "stray text\r\n");
    FEED_LIT(f, C2S, "more stray text\r\n"); /* one anomaly per run of stray octets */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.unexpected_data"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 0);
}

static void test_oversized_command(void **ts)
{
    struct fx *f = *ts;
    char b[300];
    memset(b, 'X', sizeof b);
    memcpy(b, "\x01S60201", 7);
    feed(f, C2S, b, sizeof b);
    FEED_LIT(f, C2S, "\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.oversized_command"), 1);
    flow_end(f);
    JSON_HAS(f, 0, "\"truncated\":true}");
}

static void test_truncated_inventory(void **ts)
{
    struct fx *f = *ts;
    char rsp[256];
    /* declares 7 floats, carries 2 */
    size_t n = computer(rsp, sizeof rsp, "i201002403151041" "011000007" "45FDDC00" "45FB9200", 0);
    FEED_LIT(f, C2S, "\x01i20100");
    feed(f, S2C, rsp, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.truncated_response"), 1);
    JSON_HAS(f, 0, "\"truncated\":true}");
}

static void test_missing_checksum_and_invalid_response(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, S2C, "\x01i20100" "2403151041" "\x03");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.missing_checksum"), 1);
    FEED_LIT(f, S2C, "\x01garbage text\x03");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.invalid_response"), 1);
    assert_int_equal(f->rec.ntxns, 2);
}

static void test_lost_etx(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    FEED_LIT(f, C2S, "\x01i20100");
    FEED_LIT(f, S2C, "\x01i20100240315"); /* cut: a new SOH comes before any ETX */
    feed(f, S2C, rsp, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.unterminated_response"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"checksum_valid\":true}");
}

static void test_unterminated_response(void **ts)
{
    struct fx *f = *ts;
    static char big[40000];
    memset(big, 'A', sizeof big);
    big[0] = 0x01;
    feed(f, S2C, big, sizeof big);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "atg.unterminated_response"), 1);
    assert_true(f->pend[S2C].len < 2);
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    feed(f, S2C, rsp, n);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_response_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    static const char req[] = "\x01i20100";
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    const struct msg conv[] = {{C2S, (const uint8_t *)req, sizeof req - 1},
                               {S2C, (const uint8_t *)rsp, n}};
    check_every_split_with(f, conv, 2, check_one_clean_record);
    /* Nothing is written before the response is whole. */
    for (size_t cut = 1; cut < n; cut++) {
        fx_reset(f);
        FEED_LIT(f, C2S, req);
        feed(f, S2C, rsp, cut);
        assert_int_equal(f->rec.ntxns, 0);
    }
}

static void test_several_responses_one_chunk(void **ts)
{
    struct fx *f = *ts;
    char a[512], b[512], both[1024];
    size_t na = computer(a, sizeof a, inv_body, 0);
    size_t nb = computer(b, sizeof b, "i205002403151041" "0100", 0);
    memcpy(both, a, na);
    memcpy(both + na, "\r\n", 2);
    memcpy(both + na + 2, b, nb);
    FEED_LIT(f, C2S, "\x01i20100\r\n\x01i20500\r\n");
    feed(f, S2C, both, na + 2 + nb);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->pend[S2C].len, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_gap(void **ts)
{
    struct fx *f = *ts;
    char rsp[512];
    size_t n = computer(rsp, sizeof rsp, inv_body, 0);
    FEED_LIT(f, C2S, "\x01i20100");
    PROTO.gap(&f->ctx, f->state, S2C);
    feed(f, S2C, rsp + 20, n - 20); /* the tail of a lost answer: skipped quietly */
    assert_int_equal(f->rec.nanomalies, 0);
    feed(f, S2C, rsp, n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static enum qw_probe_result probe_s(const char *s, size_t n, enum qw_dir d)
{
    return PROTO.probe((const uint8_t *)s, n, d);
}
#define PROBE(lit, d) probe_s((lit), sizeof(lit) - 1, (d))

static void test_probe(void **ts)
{
    (void)ts;
    assert_int_equal(PROBE("\x01i20100", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01I20100\r\n", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01S60201REGULAR\r\n", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01s60D01\x01i20100", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01i20100240315104101&&ABCD\x03", S2C), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01\r\nI20100\r\nMAR 15\r\n\x03", S2C), QW_PROBE_MATCH);
    assert_int_equal(PROBE("\x01", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("\x01i2", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("\x01i2010", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("\x01\r\n", S2C), QW_PROBE_NEED_MORE);

    assert_int_equal(PROBE("\x01x20100", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("\x01i2G100", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("\x01i201AB", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("\x01i20a00", C2S), QW_PROBE_NO); /* lower-case hex letter */
    assert_int_equal(PROBE("\x01i20100\xff\xfe", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("\x01\r\nI20100", C2S), QW_PROBE_NO); /* display answers come back */
    assert_int_equal(PROBE("i20100", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("GET / HTTP/1.1\r\n\r\n", C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03};
    assert_int_equal(PROTO.probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    static const uint8_t hart[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0D,
                                   0x01, 0x00, 0x09, 0x27, 0xC0};
    assert_int_equal(PROTO.probe(hart, sizeof hart, C2S), QW_PROBE_NO);
    static const uint8_t iec104[] = {0x68, 0x04, 0x07, 0x00, 0x00, 0x00};
    assert_int_equal(PROTO.probe(iec104, sizeof iec104, C2S), QW_PROBE_NO);
    static const uint8_t zeros[16] = {0};
    assert_int_equal(PROTO.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(PROTO.name, "atg");
    assert_true(PROTO.transports & QW_TRANSPORT_TCP);
    assert_int_equal(PROTO.ports[0], 10001);
    assert_non_null(PROTO.parse);
    assert_non_null(PROTO.gap);
    assert_non_null(PROTO.flow_end);
    assert_true(PROTO.state_size > 0 && PROTO.state_size < 16384);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_computer_inventory),
        FX_TEST(test_display_inventory),
        FX_TEST(test_set_product_label),
        FX_TEST(test_ops_by_function),
        FX_TEST(test_bad_checksum),
        FX_TEST(test_unrecognized_command),
        FX_TEST(test_pairing_in_order_and_by_function),
        FX_TEST(test_command_split_and_open_command),
        FX_TEST(test_security_code),
        FX_TEST(test_secrets_redacted),
        FX_TEST(test_response_without_command_and_unanswered),
        FX_TEST(test_queue_full),
        FX_TEST(test_identity),
        FX_TEST(test_identity_not_from_bad_checksum),
        FX_TEST(test_invalid_command),
        FX_TEST(test_oversized_command),
        FX_TEST(test_truncated_inventory),
        FX_TEST(test_missing_checksum_and_invalid_response),
        FX_TEST(test_lost_etx),
        FX_TEST(test_unterminated_response),
        FX_TEST(test_response_split_at_every_offset),
        FX_TEST(test_several_responses_one_chunk),
        FX_TEST(test_gap),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("atg", tests, NULL, NULL);
}
