/* Unit tests for the IEC 61850 GOOSE parser (src/proto/goose.c).
 *
 * Frames are built with a small BER writer (or taken from the corpus where noted) and handed to
 * the parser's `frame` callback as the engine does, with ctx.pkt set to a packet that carries
 * the frame's MACs; one test decodes a whole Ethernet frame with qw_decode. Decoded values are
 * checked on the rendered "goose" JSON object, the anomalies and the per-gocbRef counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/decode.h"
#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_goose;

#define ETH_GOOSE 0x88B8

/* ---- Fixture ------------------------------------------------------------------------------ */

#define PROTO qw_proto_goose
#define FX_TS_STEP 0 /* the tests move the clock themselves */
#define FX_SRC_MAC {0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77}
#define FX_DST_MAC {0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01}
#define FX_BUF_MAX 1024

#include "parser_fixture.h"

/* ---- Frame builder ------------------------------------------------------------------------ */

/* TLV with a definite length (short or 1/2-octet long form). */
static void tlv(struct buf *b, uint8_t tag, const void *v, size_t n)
{
    u8(b, tag);
    if (n < 0x80) {
        u8(b, (uint8_t)n);
    } else if (n < 0x100) {
        u8(b, 0x81);
        u8(b, (uint8_t)n);
    } else {
        u8(b, 0x82);
        u8(b, (uint8_t)(n >> 8));
        u8(b, (uint8_t)n);
    }
    put(b, v, n);
}

static void tlv_u32(struct buf *b, uint8_t tag, uint32_t v)
{
    uint8_t x[5];
    size_t n = 0;
    /* minimal two's complement of a non-negative value */
    uint8_t tmp[5] = {0, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t i = 0;
    while (i < 4 && tmp[i] == 0 && !(tmp[i + 1] & 0x80)) i++;
    for (; i < 5; i++) x[n++] = tmp[i];
    tlv(b, tag, x, n);
}

static void tlv_str(struct buf *b, uint8_t tag, const char *s)
{
    tlv(b, tag, s, strlen(s));
}

struct gs_in {
    const char *ref, *datset, *goid;
    uint32_t tal, st, sq, conf, entries;
    bool sim, nds, s_bit;
    uint16_t appid;
};

static const struct gs_in DEF = {"IED1LD0/LLN0$GO$gcb01", "IED1LD0/LLN0$DS1", "GO1", 2000, 1,
                                 0, 1, 2, false, false, false, 0x0001};

/* A GOOSE frame (after the Ethertype): header + goosePdu with 2 allData entries (a boolean and
 * an INT32). */
static size_t build(uint8_t *out, size_t cap, const struct gs_in *in)
{
    struct buf pdu = {0}, data = {0}, apdu = {0};
    static const uint8_t t[8] = {0x38, 0x6e, 0xbb, 0xf3, 0x42, 0x17, 0x28, 0x0a};
    uint8_t one = 1, zero = 0;
    tlv_str(&pdu, 0x80, in->ref);
    tlv_u32(&pdu, 0x81, in->tal);
    tlv_str(&pdu, 0x82, in->datset);
    if (in->goid) tlv_str(&pdu, 0x83, in->goid);
    tlv(&pdu, 0x84, t, sizeof t);
    tlv_u32(&pdu, 0x85, in->st);
    tlv_u32(&pdu, 0x86, in->sq);
    tlv(&pdu, 0x87, in->sim ? &one : &zero, 1);
    tlv_u32(&pdu, 0x88, in->conf);
    tlv(&pdu, 0x89, in->nds ? &one : &zero, 1);
    tlv_u32(&pdu, 0x8a, in->entries);
    tlv(&data, 0x83, &one, 1);
    static const uint8_t i32[] = {0xff, 0x85};
    tlv(&data, 0x85, i32, sizeof i32);
    tlv(&pdu, 0xab, data.b, data.n);
    tlv(&apdu, 0x61, pdu.b, pdu.n);
    size_t len = 8 + apdu.n;
    assert_true(len <= cap);
    out[0] = (uint8_t)(in->appid >> 8);
    out[1] = (uint8_t)in->appid;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    out[4] = in->s_bit ? 0x80 : 0;
    out[5] = out[6] = out[7] = 0;
    memcpy(out + 8, apdu.b, apdu.n);
    return len;
}

static void send(struct fx *f, const struct gs_in *in)
{
    uint8_t fr[512];
    size_t n = build(fr, sizeof fr, in);
    fx_frame(f, fr, n);
}

/* ---- Corpus frame -------------------------------------------------------------------------- */

/* goose_all_data_primitives.pcap frame 1 after the Ethertype: every Data type of allData. */
static const uint8_t all_types[] = {
    0x00, 0x01, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x61, 0x81, 0x95, 0x80, 0x1a, 0x47, 0x45,
    0x44, 0x65, 0x76, 0x69, 0x63, 0x65, 0x46, 0x36, 0x35, 0x30, 0x2f, 0x4c, 0x4c, 0x4e, 0x30,
    0x24, 0x47, 0x4f, 0x24, 0x67, 0x63, 0x62, 0x30, 0x31, 0x81, 0x03, 0x00, 0x9c, 0x40, 0x82,
    0x18, 0x47, 0x45, 0x44, 0x65, 0x76, 0x69, 0x63, 0x65, 0x46, 0x36, 0x35, 0x30, 0x2f, 0x4c,
    0x4c, 0x4e, 0x30, 0x24, 0x47, 0x4f, 0x4f, 0x53, 0x45, 0x31, 0x83, 0x0b, 0x46, 0x36, 0x35,
    0x30, 0x5f, 0x47, 0x4f, 0x4f, 0x53, 0x45, 0x31, 0x84, 0x08, 0x65, 0x43, 0x00, 0x00, 0x40,
    0x00, 0x00, 0x00, 0x85, 0x01, 0x01, 0x86, 0x01, 0x14, 0x87, 0x01, 0x00, 0x88, 0x01, 0x01,
    0x89, 0x01, 0x00, 0x8a, 0x01, 0x0c, 0xab, 0x2f, 0x83, 0x01, 0x01, 0x84, 0x02, 0x07, 0x80,
    0x85, 0x01, 0xff, 0x86, 0x02, 0x01, 0xf4, 0x87, 0x05, 0x08, 0x3f, 0x80, 0x00, 0x00, 0x89,
    0x03, 0xde, 0xad, 0xbe, 0x8a, 0x02, 0x4f, 0x4b, 0x88, 0x01, 0x00, 0x8d, 0x01, 0x12, 0x8e,
    0x02, 0x07, 0x80, 0x8f, 0x02, 0x2b, 0x01, 0x90, 0x01, 0x4d,
};

static void test_corpus_all_data_types(void **ts)
{
    struct fx *f = *ts;
    fx_frame(f, all_types, sizeof all_types);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "goose");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"event\":\"first_seen\",\"appid\":1,\"length\":160,\"simulate_bit\":false");
    JSON_HAS(f, 0, "\"gocb_ref\":\"GEDeviceF650/LLN0$GO$gcb01\",\"time_allowed_to_live\":40000,"
                   "\"dat_set\":\"GEDeviceF650/LLN0$GOOSE1\",\"go_id\":\"F650_GOOSE1\","
                   "\"t\":\"2023-11-02T01:48:48.250000Z\",\"t_quality\":0,\"st_num\":1,"
                   "\"sq_num\":20,\"simulation\":false,\"conf_rev\":1,\"nds_com\":false,"
                   "\"num_dat_set_entries\":12");
    JSON_HAS(f, 0, "\"all_data\":{\"count\":12,\"entries\":["
                   "{\"type\":\"boolean\",\"value\":true},"
                   "{\"type\":\"bit_string\",\"value\":\"80\",\"unused_bits\":7},"
                   "{\"type\":\"integer\",\"value\":-1},"
                   "{\"type\":\"unsigned\",\"value\":500},"
                   "{\"type\":\"floating_point\",\"value\":1},"
                   "{\"type\":\"octet_string\",\"value\":\"deadbe\"},"
                   "{\"type\":\"visible_string\",\"value\":\"OK\"},"
                   "{\"type\":\"real\"},{\"type\":\"bcd\"},"
                   "{\"type\":\"boolean_array\",\"value\":\"80\",\"unused_bits\":7},"
                   "{\"type\":\"obj_id\"},{\"type\":\"mms_string\",\"value\":\"M\"}]}");
    JSON_HAS(f, 0, "\"frames\":1,\"retransmissions\":0");
    JSON_LACKS(f, 0, "truncated");
}

/* ---- State tracking ------------------------------------------------------------------------ */

static void test_retransmissions_and_state_change(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    send(f, &in); /* first sight */
    in.sq = 1;
    f->ctx.ts_ns += 2000000;
    send(f, &in);
    in.sq = 2;
    f->ctx.ts_ns += 4000000;
    send(f, &in);
    in.sq = 2; /* the same frame again (PRP duplicate / mirror) */
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 1);
    in.st = 2;
    in.sq = 0;
    f->ctx.ts_ns += 1000000;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"event\":\"state_change\"");
    JSON_HAS(f, 1, "\"st_num\":2,\"sq_num\":0");
    JSON_HAS(f, 1, "\"previous_st_num\":1,\"frames\":5,\"retransmissions\":3,\"duplicates\":1");
    JSON_HAS(f, 1, "\"all_data\":{\"count\":2,\"entries\":[{\"type\":\"boolean\",\"value\":true},"
                   "{\"type\":\"integer\",\"value\":-123}]}");
    assert_int_equal(f->rec.nanomalies, 0);
    /* the next state's counters start again */
    in.sq = 1;
    send(f, &in);
    in.st = 3;
    in.sq = 0;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"previous_st_num\":2,\"frames\":7,\"retransmissions\":1}");
}

static void test_st_num_backwards_is_flagged(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    in.st = 10;
    send(f, &in);
    in.st = 9;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.st_num_backwards"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, DEF.ref);
    /* a wrap from the top of the range is not "backwards" */
    in.st = 0xFFFFFFF0u;
    send(f, &in);
    in.st = 1;
    send(f, &in);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.st_num_backwards"), 1);
    assert_int_equal(f->rec.ntxns, 4);
}

static void test_sq_num_reset_without_state_change(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    in.sq = 10;
    send(f, &in);
    in.sq = 11;
    send(f, &in);
    in.sq = 1; /* restart, stNum unchanged (corpus: GOOSE_sample.pcap frame 4) */
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.sq_num_reset"), 1);
}

static void test_simulation_flag(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    send(f, &in);
    in.sq = 1;
    in.sim = true; /* turns on in a retransmission: flagged once */
    send(f, &in);
    in.sq = 2;
    send(f, &in);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.simulation"), 1);
    in.st = 2; /* a state change while simulating: flagged with its record */
    in.sq = 0;
    send(f, &in);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.simulation"), 2);
    JSON_HAS(f, 1, "\"simulation\":true");
    /* Simulate bit in Reserved 1 without the simulation attribute */
    struct gs_in other = DEF;
    other.ref = "IED2LD0/LLN0$GO$gcb01";
    other.s_bit = true;
    send(f, &other);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.simulate_bit_mismatch"), 1);
    JSON_HAS(f, 2, "\"simulate_bit\":true");
}

static void test_conf_rev_change_makes_a_record(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    send(f, &in);
    in.sq = 1;
    in.conf = 2;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"event\":\"conf_rev_change\"");
    JSON_HAS(f, 1, "\"conf_rev\":2");
}

static void test_source_change_and_time_to_live(void **ts)
{
    struct fx *f = *ts;
    struct gs_in in = DEF;
    in.tal = 100; /* ms */
    send(f, &in);
    f->pkt.src_mac[5] ^= 0x55; /* someone else publishes the same control block */
    f->ctx.ts_ns += 50000000;  /* within timeAllowedtoLive */
    in.sq = 1;
    send(f, &in);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.source_changed"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.time_allowed_to_live_exceeded"), 0);
    f->ctx.ts_ns += 500000000; /* 500 ms of silence */
    in.sq = 2;
    send(f, &in);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.time_allowed_to_live_exceeded"), 1);
}

static void test_blocks_are_tracked_apart(void **ts)
{
    struct fx *f = *ts;
    struct gs_in a = DEF, b = DEF;
    b.ref = "IED9LD0/LLN0$GO$gcb02";
    b.st = 100;
    send(f, &a);
    send(f, &b);
    a.sq = 1;
    send(f, &a);
    b.sq = 1;
    send(f, &b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_table_eviction(void **ts)
{
    struct fx *f = *ts;
    char ref[64];
    struct gs_in in = DEF;
    in.ref = ref;
    /* more control blocks than the table holds: each is a first sight, nothing breaks */
    for (unsigned i = 0; i < 300; i++) {
        snprintf(ref, sizeof ref, "IED%uLD0/LLN0$GO$gcb", i);
        f->ctx.ts_ns += 1000;
        f->rec.ntxns = 0; /* the recorder holds 256 */
        send(f, &in);
        assert_int_equal(f->rec.ntxns, 1);
    }
    /* the oldest was evicted: it is new again */
    snprintf(ref, sizeof ref, "IED%uLD0/LLN0$GO$gcb", 0u);
    f->rec.ntxns = 0;
    in.sq = 1;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"event\":\"first_seen\"");
    /* the most recent is still known: a retransmission makes no record */
    snprintf(ref, sizeof ref, "IED%uLD0/LLN0$GO$gcb", 299u);
    f->rec.ntxns = 0;
    send(f, &in);
    assert_int_equal(f->rec.ntxns, 0);
}

/* ---- Malformed and truncated --------------------------------------------------------------- */

static void test_truncated_at_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t fr[512];
    size_t n = build(fr, sizeof fr, &DEF);
    /* offset where the gocbRef value ends: header(8) + 61 LL + 80 LL + ref */
    size_t ref_end = 8 + 2 + 2 + strlen(DEF.ref);
    for (size_t cut = 0; cut <= n; cut++) {
        fx_clear(f);
        fx_frame(f, fr, cut);
        if (cut == n) {
            assert_int_equal(f->rec.ntxns, 1);
            assert_int_equal(f->rec.nanomalies, 0);
            JSON_LACKS(f, 0, "truncated");
            continue;
        }
        assert_true(f->rec.nanomalies >= 1);
        if (cut < 8) {
            assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.truncated"), 1);
            assert_int_equal(f->rec.ntxns, 0);
            continue;
        }
        if (cut < ref_end) {
            assert_int_equal(f->rec.ntxns, 0);
            continue;
        }
        /* the gocbRef is whole: a record marked truncated ("incomplete" while stNum or sqNum
         * is missing) */
        assert_int_equal(f->rec.ntxns, 1);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.truncated"), 1);
        JSON_HAS(f, 0, "\"truncated\":true");
        JSON_HAS(f, 0, "\"gocb_ref\":\"IED1LD0/LLN0$GO$gcb01\"");
    }
}

static void test_length_field(void **ts)
{
    struct fx *f = *ts;
    uint8_t fr[512];
    size_t n = build(fr, sizeof fr, &DEF);
    fr[2] = 0;
    fr[3] = 7; /* below the header */
    fx_frame(f, fr, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.invalid_length"), 1);
    assert_int_equal(f->rec.ntxns, 0);
    /* Ethernet padding after the declared length is ignored */
    n = build(fr, sizeof fr, &DEF);
    memset(fr + n, 0, 20);
    fx_frame(f, fr, n + 20);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_LACKS(f, 0, "truncated");
    /* a length past the frame: truncated */
    fr[2] = 0x01;
    fr[3] = 0xff;
    memset(f->state, 0, qw_proto_goose.state_size);
    fx_frame(f, fr, n);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"truncated\":true");
}

static void test_not_goose(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t seq[] = {0, 1, 0, 12, 0, 0, 0, 0, 0x30, 0x02, 0x05, 0x00};
    fx_frame(f, seq, sizeof seq);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.invalid_pdu"), 1);
    /* corpus goose_malformed_asn1.pcap: [UNIVERSAL 26] where gocbRef belongs */
    static const uint8_t bad[] = {0, 1, 0, 14, 0, 0, 0, 0, 0x61, 0x04, 0x1f, 0x1a, 0x01, 0x41};
    fx_frame(f, bad, sizeof bad);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.unexpected_member"), 1);
    /* another Ethertype is not looked at */
    uint8_t fr[512];
    size_t n = build(fr, sizeof fr, &DEF);
    fx_frame_as(f, 0x88BA, fr, n);
    assert_int_equal(f->rec.ntxns, 0);
    /* garbage */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    fx_frame(f, junk, sizeof junk);
    assert_int_equal(f->rec.ntxns, 0);
}

static void test_missing_mandatory_member(void **ts)
{
    struct fx *f = *ts;
    /* gocbRef, stNum and sqNum only */
    struct buf pdu = {0}, apdu = {0};
    tlv_str(&pdu, 0x80, "X/LLN0$GO$g");
    tlv_u32(&pdu, 0x85, 1);
    tlv_u32(&pdu, 0x86, 0);
    tlv(&apdu, 0x61, pdu.b, pdu.n);
    uint8_t fr[128] = {0, 1, 0, (uint8_t)(8 + apdu.n), 0, 0, 0, 0};
    memcpy(fr + 8, apdu.b, apdu.n);
    fx_frame(f, fr, 8 + apdu.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "goose.missing_field"), 1);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_gse_management(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t mngt[] = {0, 1, 0, 12, 0, 0, 0, 0, 0x60, 0x02, 0xa0, 0x00};
    fx_frame(f, mngt, sizeof mngt);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "gse_management");
    JSON_HAS(f, 0, "\"pdu\":\"gse_management\"");
}

/* ---- Through the decoder ------------------------------------------------------------------- */

static void test_decoded_vlan_frame(void **ts)
{
    struct fx *f = *ts;
    uint8_t fr[600] = {0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01, 0x00, 0xa0, 0xf4, 0x08,
                       0x2f, 0x77, 0x81, 0x00, 0x80, 0x05, 0x88, 0xb8};
    size_t n = 18 + build(fr + 18, sizeof fr - 18, &DEF);
    const struct qw_packet *p = fx_frame_decoded(f, fr, n);
    assert_int_equal(p->ethertype, ETH_GOOSE);
    assert_int_equal(p->nvlan, 1);
    assert_int_equal(p->vlan[0], 5);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"gocb_ref\":\"IED1LD0/LLN0$GO$gcb01\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_corpus_all_data_types),
        FX_TEST(test_retransmissions_and_state_change),
        FX_TEST(test_st_num_backwards_is_flagged),
        FX_TEST(test_sq_num_reset_without_state_change),
        FX_TEST(test_simulation_flag),
        FX_TEST(test_conf_rev_change_makes_a_record),
        FX_TEST(test_source_change_and_time_to_live),
        FX_TEST(test_blocks_are_tracked_apart),
        FX_TEST(test_table_eviction),
        FX_TEST(test_truncated_at_every_length),
        FX_TEST(test_length_field),
        FX_TEST(test_not_goose),
        FX_TEST(test_missing_mandatory_member),
        FX_TEST(test_gse_management),
        FX_TEST(test_decoded_vlan_frame),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
