/* Unit tests for the DNP3 parser (src/proto/dnp3.c).
 *
 * Frames are built here from application fragments: transport headers, link headers and CRCs
 * (computed bit by bit, independently of the parser's table), so each test states the
 * application bytes it means (IEEE 1815-2012 clause 4) and checks the decoded values on the txn
 * summary and on the rendered "dnp3" JSON object. Streams go through qw_stream_deliver exactly
 * as in the engine. Master address 1, outstation address 10 unless a test says otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

extern const struct qw_proto qw_proto_dnp3;

#define MASTER 1
#define OUTSTATION 10

/* ---- Frame builder ------------------------------------------------------------------------- */

/* CRC-16/DNP, bit by bit (IEEE 1815-2012 clause 9): reflected polynomial 0xA6BC, init 0,
 * complemented, sent low octet first. */
static uint16_t crc_ref(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA6BC) : crc >> 1;
    }
    return (uint16_t)~crc;
}

struct buf {
    uint8_t b[8192];
    size_t n;
};

static void put(struct buf *o, uint8_t v)
{
    assert_true(o->n < sizeof o->b);
    o->b[o->n++] = v;
}

static void put_crc(struct buf *o, size_t from)
{
    uint16_t c = crc_ref(o->b + from, o->n - from);
    put(o, (uint8_t)(c & 0xFF));
    put(o, (uint8_t)(c >> 8));
}

/* One link frame: header, then user data in 16-octet CRC blocks. */
static void link_frame(struct buf *o, uint8_t ctrl, uint16_t dst, uint16_t src,
                       const uint8_t *user, size_t n)
{
    assert_true(n <= 250);
    size_t h = o->n;
    put(o, 0x05);
    put(o, 0x64);
    put(o, (uint8_t)(5 + n));
    put(o, ctrl);
    put(o, (uint8_t)(dst & 0xFF));
    put(o, (uint8_t)(dst >> 8));
    put(o, (uint8_t)(src & 0xFF));
    put(o, (uint8_t)(src >> 8));
    put_crc(o, h);
    for (size_t i = 0; i < n; i += 16) {
        size_t k = n - i < 16 ? n - i : 16;
        size_t s = o->n;
        for (size_t j = 0; j < k; j++) put(o, user[i + j]);
        put_crc(o, s);
    }
}

static uint8_t tseq; /* next transport sequence number */

/* An application fragment as link frames of up to 249 application octets each. */
static void fragment(struct buf *o, uint8_t ctrl, uint16_t dst, uint16_t src, const uint8_t *app,
                     size_t n)
{
    size_t off = 0;
    bool first = true;
    do {
        size_t k = n - off < 249 ? n - off : 249;
        uint8_t user[250];
        user[0] = (uint8_t)((first ? 0x40 : 0) | (off + k == n ? 0x80 : 0) | (tseq & 0x3F));
        tseq++;
        memcpy(user + 1, app + off, k);
        link_frame(o, ctrl, dst, src, user, k + 1);
        off += k;
        first = false;
    } while (off < n);
}

/* From the master (DIR, PRM, unconfirmed user data) and from the outstation (PRM only). */
#define REQ(o, ...)                                                                           \
    do {                                                                                      \
        static const uint8_t app_[] = {__VA_ARGS__};                                          \
        fragment((o), 0xC4, OUTSTATION, MASTER, app_, sizeof app_);                          \
    } while (0)
#define RSP(o, ...)                                                                           \
    do {                                                                                      \
        static const uint8_t app_[] = {__VA_ARGS__};                                          \
        fragment((o), 0x44, MASTER, OUTSTATION, app_, sizeof app_);                          \
    } while (0)

/* ---- Fixture ------------------------------------------------------------------------------- */

#define PROTO qw_proto_dnp3
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

static int dnp3_setup(void **ts)
{
    tseq = 0; /* every test numbers its transport segments from 0 */
    return fx_setup(ts);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, dnp3_setup, fx_teardown)

static size_t anomalies(const struct fx *f, const char *name)
{
    return qw_record_count_anomaly(&f->rec, name);
}

/* ---- Spec-shaped fragments ----------------------------------------------------------------- */

/* Class 0123 poll (read g60v2, v3, v4, v1, all) and its answer: g1v2 points 0-2 with flags,
 * g30v2 point 0 = 0x1234 with flag, IIN device restart + need time. */
static void build_poll(struct buf *req, struct buf *rsp)
{
    REQ(req, 0xC3, 0x01, 60, 2, 0x06, 60, 3, 0x06, 60, 4, 0x06, 60, 1, 0x06);
    RSP(rsp, 0xC3, 0x81, 0x90, 0x00,               /* seq 3, IIN1 0x90 */
        1, 2, 0x00, 0, 2, 0x81, 0x01, 0x81,        /* g1v2 0..2 */
        30, 2, 0x00, 0, 0, 0x01, 0x34, 0x12);      /* g30v2 0..0 */
}

static void check_poll(const struct fx *f, size_t i)
{
    const struct qw_txn *t = txn_at(f, i);
    assert_true(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "read");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_false(t->error);
    JSON_HAS(f, i, "\"request\":{\"function\":1,\"function_name\":\"read\",\"seq\":3,"
                   "\"fir\":true,\"fin\":true,\"con\":false,\"uns\":false,\"src\":1,\"dst\":10,"
                   "\"link_function\":4,\"link_function_name\":\"unconfirmed_user_data\","
                   "\"from_master\":true,\"primary\":true,\"segments\":1,\"length\":14,"
                   "\"object_count\":4,\"objects\":[{\"group\":60,\"variation\":2,"
                   "\"name\":\"class_data\",\"qualifier\":6,\"all\":true}");
    JSON_HAS(f, i, "\"response\":{\"function\":129,\"function_name\":\"response\",\"seq\":3,");
    JSON_HAS(f, i, "\"src\":10,\"dst\":1,");
    JSON_HAS(f, i, "\"from_master\":false");
    JSON_HAS(f, i, "\"iin\":36864,\"iin_flags\":[\"need_time\",\"device_restart\"],"
                   "\"object_count\":2,\"objects\":[{\"group\":1,\"variation\":2,"
                   "\"name\":\"binary_input\",\"qualifier\":0,\"start\":0,\"stop\":2},"
                   "{\"group\":30,\"variation\":2,\"name\":\"analog_input\",\"qualifier\":0,"
                   "\"start\":0,\"stop\":0}]}");
    JSON_LACKS(f, i, "objects_complete");
}

/* ---- Decode paths -------------------------------------------------------------------------- */

static void test_read_pair_and_latency(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    build_poll(&req, &rsp);
    f->ctx.ts_ns = 5000;
    FEED_BUF(f, C2S, &req);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 9000;
    FEED_BUF(f, S2C, &rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_poll(f, 0);
    assert_int_equal(txn_at(f, 0)->request_ns, 5000);
    assert_int_equal(txn_at(f, 0)->response_ns, 9000);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* The parser tells requests from responses by function code, not by TCP direction. */
static void test_outstation_is_tcp_client(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    build_poll(&req, &rsp);
    FEED_BUF(f, S2C, &req);
    FEED_BUF(f, C2S, &rsp);
    assert_int_equal(f->rec.ntxns, 1);
    check_poll(f, 0);
}

static void check_poll_alone(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 1);
    check_poll(f, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    build_poll(&req, &rsp);
    const struct msg conv[] = {{C2S, req.b, req.n}, {S2C, rsp.b, rsp.n}};
    check_every_split_with(f, conv, 2, check_poll_alone);
}

static void test_byte_by_byte(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    build_poll(&req, &rsp);
    feed_bytewise(f, C2S, req.b, req.n);
    feed_bytewise(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    check_poll(f, 0);
}

/* Several fragments in one chunk each way: a confirm and a write; the write's response and an
 * unsolicited response. */
static void test_several_frames_one_chunk(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    REQ(&req, 0xD0, 0x00);                                   /* confirm (UNS) seq 0 */
    REQ(&req, 0xC1, 0x02, 80, 1, 0x00, 7, 7, 0x00);           /* write IIN1.7 := 0 */
    RSP(&rsp, 0xC1, 0x81, 0x00, 0x00);
    RSP(&rsp, 0xF1, 0x82, 0x00, 0x00);
    FEED_BUF(f, C2S, &req);
    assert_int_equal(f->rec.ntxns, 1); /* the confirm expects nothing */
    FEED_BUF(f, S2C, &rsp);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(txn_at(f, 0)->function_name, "confirm");
    assert_false(txn_at(f, 0)->has_response);
    assert_int_equal(txn_at(f, 0)->ops, 0);
    JSON_HAS(f, 0, "\"uns\":true");
    assert_string_equal(txn_at(f, 1)->function_name, "write");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE);
    JSON_HAS(f, 1, "{\"group\":80,\"variation\":1,\"name\":\"internal_indications\","
                   "\"qualifier\":0,\"start\":7,\"stop\":7}");
    assert_true(txn_at(f, 1)->has_response);
    assert_string_equal(txn_at(f, 2)->function_name, "unsolicited_response");
    assert_false(txn_at(f, 2)->has_request);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_select_operate_crob(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0}, c = {0}, d = {0};
    /* g12v1, qualifier 0x28 (2-octet count, 2-octet index): index 7, latch on + close,
     * count 1, on 100 ms, off 200 ms. */
#define CROB_HDR 12, 1, 0x28, 1, 0, 7, 0, 0x43, 1, 100, 0, 0, 0, 200, 0, 0, 0
    REQ(&a, 0xC4, 0x03, CROB_HDR, 0x00);
    RSP(&b, 0xC4, 0x81, 0x00, 0x00, CROB_HDR, 0x00);
    REQ(&c, 0xC5, 0x04, CROB_HDR, 0x00);
    RSP(&d, 0xC5, 0x81, 0x00, 0x00, CROB_HDR, 0x02); /* status 2: no_select */
#undef CROB_HDR
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &d);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "select");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_CONTROL);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"controls\":[{\"variation\":1,\"index\":7,\"code\":67,"
                   "\"op_type\":\"latch_on\",\"tcc\":\"close\",\"clear\":false,"
                   "\"queue\":false,\"count\":1,\"on_time_ms\":100,\"off_time_ms\":200,"
                   "\"status\":0,\"status_name\":\"success\"}]");
    assert_string_equal(txn_at(f, 1)->function_name, "operate");
    assert_true(txn_at(f, 1)->error);
    JSON_HAS(f, 1, "\"status\":2,\"status_name\":\"no_select\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_direct_operate_analog_outputs(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    /* g41v1 index 3 = -5 (0x17, 1-octet count, 1-octet index), g41v3 index 4 = 1.5f */
    REQ(&a, 0xC0, 0x05, 41, 1, 0x17, 1, 3, 0xFB, 0xFF, 0xFF, 0xFF, 0x00,
        41, 3, 0x17, 1, 4, 0x00, 0x00, 0xC0, 0x3F, 0x00);
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "direct_operate");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_CONTROL);
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "\"point_count\":2,\"analog_outputs\":[{\"variation\":1,\"index\":3,"
                   "\"value\":-5,\"status\":0,\"status_name\":\"success\"},"
                   "{\"variation\":3,\"index\":4,\"value\":1.5,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_direct_operate_no_ack_emitted_at_once(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    REQ(&a, 0xC0, 0x06, 12, 1, 0x17, 1, 0, 0x01, 1, 0xE8, 0x03, 0, 0, 0, 0, 0, 0, 0x00);
    FEED_BUF(f, C2S, &a);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "direct_operate_no_ack");
    JSON_HAS(f, 0, "\"op_type\":\"pulse_on\",\"tcc\":\"nul\"");
    JSON_HAS(f, 0, "\"on_time_ms\":1000");
}

static void test_broadcast_not_queued(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    static const uint8_t app[] = {0xC0, 0x0D}; /* cold restart to all stations */
    fragment(&a, 0xC4, 0xFFFF, MASTER, app, sizeof app);
    FEED_BUF(f, C2S, &a);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "cold_restart");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_RESTART);
    JSON_HAS(f, 0, "\"dst\":65535");
}

static void test_unsolicited_and_confirm(void **ts)
{
    struct fx *f = *ts;
    struct buf u = {0}, c = {0};
    RSP(&u, 0xF5, 0x82, 0x02, 0x00, 2, 1, 0x17, 1, 4, 0x81); /* g2v1 index 4 */
    REQ(&c, 0xD5, 0x00);
    FEED_BUF(f, S2C, &u);
    FEED_BUF(f, C2S, &c);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->function, 130);
    assert_string_equal(t->function_name, "unsolicited_response");
    JSON_HAS(f, 0, "\"con\":true,\"uns\":true");
    JSON_HAS(f, 0, "\"iin_flags\":[\"class_1_events\"]");
    JSON_HAS(f, 0, "{\"group\":2,\"variation\":1,\"name\":\"binary_input_event\","
                   "\"qualifier\":23,\"count\":1}");
    assert_string_equal(txn_at(f, 1)->function_name, "confirm");
    JSON_HAS(f, 1, "\"seq\":5");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_iin_error_bits(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC6, 0x01, 99, 1, 0x06);                /* read an unknown group */
    RSP(&b, 0xC6, 0x81, 0x00, 0x02);                 /* IIN2.1 object unknown */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"iin\":2,\"iin_flags\":[\"object_unknown\"]");
    JSON_HAS(f, 0, "{\"group\":99,\"variation\":1,\"name\":\"unknown\",\"qualifier\":6,"
                   "\"all\":true}");
}

static void test_event_buffer_overflow_is_not_error(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC6, 0x01, 60, 2, 0x06);
    RSP(&b, 0xC6, 0x81, 0x42, 0x08); /* trouble + class 1; IIN2.3 overflow */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"iin_flags\":[\"class_1_events\",\"device_trouble\","
                   "\"event_buffer_overflow\"]");
}

/* A response of 600 application octets: three transport segments, one fragment. */
static void test_transport_reassembly(void **ts)
{
    struct fx *f = *ts;
    uint8_t app[600];
    size_t n = 0;
    app[n++] = 0xC7;
    app[n++] = 0x81;
    app[n++] = 0x00;
    app[n++] = 0x00;
    /* g30v1 (5 octets) points 0..118 = 595 octets; 4 + 5 + 595 = 604: use 117 points. */
    app[n++] = 30;
    app[n++] = 1;
    app[n++] = 0x00;
    app[n++] = 0;
    app[n++] = 116;
    for (int i = 0; i < 117 * 5 && n < sizeof app; i++) app[n++] = (uint8_t)i;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC7, 0x01, 30, 1, 0x06);
    fragment(&b, 0x44, MASTER, OUTSTATION, app, n);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"segments\":3,\"length\":594");
    JSON_HAS(f, 0, "\"start\":0,\"stop\":116}]");
    JSON_LACKS(f, 0, "objects_complete");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* A multi-fragment response: the first fragment answers the request, the next is its own. */
static void test_multi_fragment_response(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0}, c = {0};
    REQ(&a, 0xC2, 0x01, 60, 1, 0x06);
    RSP(&b, 0xA2, 0x81, 0x00, 0x00, 1, 2, 0x00, 0, 0, 0x01); /* FIR, CON, seq 2 */
    REQ(&a, 0xC2, 0x00);                                      /* confirm */
    RSP(&c, 0x43, 0x81, 0x00, 0x00, 1, 2, 0x00, 1, 1, 0x01); /* FIN, seq 3 */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    FEED_BUF(f, S2C, &c);
    assert_int_equal(f->rec.ntxns, 3);
    assert_true(txn_at(f, 0)->has_request); /* the confirm: request only */
    assert_int_equal(txn_at(f, 0)->function, 0);
    assert_true(txn_at(f, 1)->has_request); /* read + first fragment */
    assert_true(txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"fir\":true,\"fin\":false,\"con\":true");
    assert_false(txn_at(f, 2)->has_request); /* continuation */
    JSON_HAS(f, 2, "\"seq\":3,\"fir\":false,\"fin\":true");
}

static void test_lost_segment_discards_message(void **ts)
{
    struct fx *f = *ts;
    uint8_t app[400] = {0xC0, 0x81, 0x00, 0x00};
    struct buf b = {0};
    fragment(&b, 0x44, MASTER, OUTSTATION, app, sizeof app);
    /* Drop the first of the two frames (249 + 1 user octets -> 10 + 250 + 32 = 292 octets). */
    feed(f, S2C, b.b + 292, b.n - 292);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(anomalies(f, "dnp3.transport_out_of_sequence"), 1);
    /* And a sequence jump in the middle of a message. */
    struct buf c = {0};
    tseq = 10;
    fragment(&c, 0x44, MASTER, OUTSTATION, app, sizeof app);
    c.b[292 + 10] ^= 0x01; /* transport seq 11 -> 10: out of sequence (CRC fixed below) */
    uint16_t crc = crc_ref(c.b + 292 + 10, 16);
    c.b[292 + 26] = (uint8_t)(crc & 0xFF);
    c.b[292 + 27] = (uint8_t)(crc >> 8);
    FEED_BUF(f, S2C, &c);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(anomalies(f, "dnp3.transport_out_of_sequence"), 2);
}

static void test_new_first_segment_discards_partial(void **ts)
{
    struct fx *f = *ts;
    uint8_t app[400] = {0xC0, 0x81, 0x00, 0x00};
    struct buf b = {0}, c = {0};
    fragment(&b, 0x44, MASTER, OUTSTATION, app, sizeof app);
    feed(f, S2C, b.b, 292); /* first segment only */
    RSP(&c, 0xC1, 0x82, 0x00, 0x00);
    FEED_BUF(f, S2C, &c);
    assert_int_equal(anomalies(f, "dnp3.transport_incomplete"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 130);
}

static void test_bad_header_crc_resync(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC1, 0x17);             /* delay measure */
    a.b[8] ^= 0xFF;                  /* header CRC */
    REQ(&b, 0xC2, 0x18);             /* record current time */
    struct buf all = {0};
    memcpy(all.b, a.b, a.n);
    memcpy(all.b + a.n, b.b, b.n);
    all.n = a.n + b.n;
    FEED_BUF(f, C2S, &all);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.bad_header_crc"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "record_current_time");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
}

static void test_bad_data_crc_drops_frame(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC1, 0x0E);             /* warm restart */
    a.b[a.n - 1] ^= 0x01;            /* data block CRC */
    REQ(&b, 0xC2, 0x0D);             /* cold restart */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, C2S, &b);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.bad_data_crc"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "cold_restart");
}

static void test_bad_length_and_garbage(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t junk[] = {0x05, 0x64, 0x03, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   'G', 'E', 'T', ' ', 0x05, 0x05};
    struct buf b = {0}, all = {0};
    REQ(&b, 0xC3, 0x01, 60, 1, 0x06);
    memcpy(all.b, junk, sizeof junk);
    memcpy(all.b + sizeof junk, b.b, b.n);
    all.n = sizeof junk + b.n;
    FEED_BUF(f, C2S, &all);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.bad_length"), 1);
    assert_int_equal(f->rec.nanomalies, 1); /* one per resynchronisation */
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read");
}

/* Confirmed user data sent twice (its link ACK lost) is one segment, not a sequence error. */
static void test_link_retry_ignored(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    static const uint8_t app[] = {0xC5, 0x01, 60, 1, 0x06};
    fragment(&a, 0xF3, OUTSTATION, MASTER, app, sizeof app); /* DIR PRM FCB FCV, func 3 */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, C2S, &a);
    RSP(&b, 0xC5, 0x81, 0x00, 0x00);
    FEED_BUF(f, S2C, &b);
    flow_end(f);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"link_function\":3,\"link_function_name\":\"confirmed_user_data\"");
    assert_true(txn_at(f, 0)->has_response);
}

static void test_link_only_frames(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    link_frame(&a, 0xC9, OUTSTATION, MASTER, NULL, 0); /* request link status */
    link_frame(&a, 0x0B, MASTER, OUTSTATION, NULL, 0); /* link status */
    link_frame(&a, 0xC0, OUTSTATION, MASTER, NULL, 0); /* reset link states */
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(f->rec.nanomalies, 0);
    /* A secondary frame with user data is wrong. */
    static const uint8_t data[] = {0xC0, 0xC0, 0x01};
    struct buf b = {0};
    link_frame(&b, 0x00, MASTER, OUTSTATION, data, sizeof data);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(anomalies(f, "dnp3.unexpected_link_data"), 1);
}

static void test_fragment_too_long_still_reported(void **ts)
{
    struct fx *f = *ts;
    /* A write of nine 250-octet strings (g110v250): 2257 octets, over the 2048 kept. */
    static uint8_t app[2 + 5 + 9 * 250];
    size_t n = 0;
    app[n++] = 0xC4;
    app[n++] = 0x02;
    app[n++] = 110;
    app[n++] = 250;
    app[n++] = 0x00;
    app[n++] = 0;
    app[n++] = 8;
    memset(app + n, 'x', 9 * 250);
    n += 9 * 250;
    struct buf a = {0};
    fragment(&a, 0xC4, OUTSTATION, MASTER, app, n);
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.fragment_too_long"), 1);
    assert_int_equal(anomalies(f, "dnp3.truncated_object"), 0);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "write");
    JSON_HAS(f, 0, "\"length\":2257");
    JSON_HAS(f, 0, "\"objects_complete\":false,\"objects_stop\":\"fragment_truncated\"");
    JSON_HAS(f, 0, "\"truncated\":true");
}

static void test_truncated_object(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    /* g12v1 count 2 but one CROB's data only */
    REQ(&a, 0xC0, 0x05, 12, 1, 0x17, 2, 0, 0x03, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.truncated_object"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"point_count\":1");
    JSON_HAS(f, 0, "\"objects_complete\":false,\"objects_stop\":\"malformed\"");
}

static void test_oversized_count_and_range(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0}, c = {0};
    /* a 4-octet count of 4 billion analog outputs in 5 octets of data */
    REQ(&a, 0xC0, 0x05, 41, 2, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0);
    /* stop < start */
    REQ(&b, 0xC1, 0x02, 80, 1, 0x00, 7, 3, 0x00);
    /* packed bits: 65536 points need 8192 octets */
    REQ(&c, 0xC2, 0x02, 80, 1, 0x01, 0, 0, 0xFF, 0xFF, 0x00);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, C2S, &b);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(anomalies(f, "dnp3.truncated_object"), 2);
    assert_int_equal(anomalies(f, "dnp3.invalid_range"), 1);
    JSON_HAS(f, 0, "\"count\":4294967295");
}

static void test_unknown_object_stops_without_anomaly(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC0, 0x01, 60, 1, 0x06);
    RSP(&b, 0xC0, 0x81, 0x00, 0x00, 200, 1, 0x00, 0, 0, 0xAA, 0xBB, 30, 2, 0x00, 0, 0, 0, 0, 0);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"object_count\":1,\"objects\":[{\"group\":200,\"variation\":1,"
                   "\"name\":\"unknown\"");
    JSON_HAS(f, 0, "\"objects_complete\":false,\"objects_stop\":\"unknown_object_size\"");
}

static void test_invalid_qualifier(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    REQ(&a, 0xC0, 0x01, 1, 2, 0x0A, 60, 1, 0x06); /* range code 0xA is reserved */
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(anomalies(f, "dnp3.invalid_qualifier"), 1);
    JSON_HAS(f, 0, "\"object_count\":1");
}

static void test_device_attributes_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC1, 0x01, 0, 254, 0x06); /* all attributes */
    RSP(&b, 0xC1, 0x81, 0x00, 0x00,
        0, 252, 0x00, 0, 0, 1, 4, 'A', 'c', 'm', 'e',              /* vendor */
        0, 250, 0x00, 0, 0, 1, 6, 'R', 'T', 'U', '-', '9', ' ',    /* model, padded */
        0, 242, 0x00, 0, 0, 1, 3, '2', '.', '1',                   /* firmware */
        0, 248, 0x00, 0, 0, 1, 2, 'S', '7',                        /* serial */
        0, 240, 0x00, 0, 0, 2, 2, 0x00, 0x08,                      /* max tx fragment */
        0, 255, 0x00, 0, 0, 254, 2, 252, 0, 250, 0);               /* attribute list */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.nidentities, 4);
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"), "Acme");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "RTU-9");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "2.1");
    assert_string_equal(qw_record_identity(&f->rec, true, "serial"), "S7");
    JSON_HAS(f, 0, "\"object_count\":6");
    JSON_LACKS(f, 0, "objects_complete");
}

static void test_write_time_sets_timesync(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    /* g50v1, count 1: 0x018BCF000000 ms */
    REQ(&a, 0xC0, 0x02, 50, 1, 0x07, 1, 0x00, 0x00, 0x00, 0xCF, 0x8B, 0x01);
    RSP(&b, 0xC0, 0x81, 0x00, 0x00);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE | QW_OP_TIMESYNC);
    JSON_HAS(f, 0, "\"time_ms\":1699984965632");
}

/* Variation 0 names points without data, even inside a function whose objects carry data. */
static void test_freeze_at_time_variation_zero(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0};
    /* g50v2 time and interval (10 octets), then counters 0-15 (g20v0, no data), then g60v1. */
    REQ(&a, 0xC0, 0x0B, 50, 2, 0x07, 1, 0, 0, 0, 0, 0, 0, 0x10, 0x27, 0, 0,
        20, 0, 0x00, 0, 15, 60, 1, 0x06);
    FEED_BUF(f, C2S, &a);
    flow_end(f);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_string_equal(txn_at(f, 0)->function_name, "freeze_at_time");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    JSON_HAS(f, 0, "\"object_count\":3");
    JSON_HAS(f, 0, "{\"group\":20,\"variation\":0,\"name\":\"counter\",\"qualifier\":0,"
                   "\"start\":0,\"stop\":15}");
    JSON_LACKS(f, 0, "objects_complete");
}

static void test_delay_measure_response(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC0, 0x17);
    RSP(&b, 0xC0, 0x81, 0x00, 0x00, 52, 2, 0x07, 1, 0x2A, 0x00); /* g52v2 fine: 42 ms */
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_string_equal(txn_at(f, 0)->function_name, "delay_measure");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
    JSON_HAS(f, 0, "\"time_delay_ms\":42");
}

static void test_file_open_and_status(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    /* g70v3 file command, qualifier 0x5B, size 30: name at offset 26, 4 octets "a.db",
     * mode 1 (read), request id 7. */
    REQ(&a, 0xC9, 0x19, 70, 3, 0x5B, 1, 30, 0,
        26, 0, 4, 0,                  /* name offset, name size */
        0, 0, 0, 0, 0, 0,             /* created */
        0x24, 0x01,                   /* permissions */
        0, 0, 0, 0,                   /* authentication key */
        0, 0, 0, 0,                   /* file size */
        1, 0,                         /* mode: read */
        0, 1,                         /* max block size 256 */
        7, 0,                         /* request id */
        'a', '.', 'd', 'b');
    /* g70v4 status: handle 0x11223344, size 10, block 256, request id 7, status 3 */
    RSP(&b, 0xC9, 0x81, 0x00, 0x04, 70, 4, 0x5B, 1, 13, 0,
        0x44, 0x33, 0x22, 0x11, 10, 0, 0, 0, 0, 1, 7, 0, 3);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "open_file");
    assert_int_equal(t->ops, QW_OP_FILE);
    assert_true(t->error);
    JSON_HAS(f, 0, "\"files\":[{\"variation\":3,\"name\":\"a.db\",\"mode\":1,"
                   "\"mode_name\":\"read\",\"size\":0,\"request_id\":7}]");
    JSON_HAS(f, 0, "\"files\":[{\"variation\":4,\"handle\":287454020,\"size\":10,"
                   "\"request_id\":7,\"status\":3,\"status_name\":\"file_not_found\"}]");
    /* Reading a file block (g70v5 file transport: handle, block number) is a file transfer. */
    struct buf c = {0};
    REQ(&c, 0xCA, 0x01, 70, 5, 0x5B, 1, 8, 0, 0x44, 0x33, 0x22, 0x11, 2, 0, 0, 0x80);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_READ | QW_OP_FILE);
    JSON_HAS(f, 1, "\"files\":[{\"variation\":5,\"handle\":287454020,\"block\":2,"
                   "\"last_block\":true}]");
}

static void test_auth_error(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC2, 0x20, 120, 4, 0x07, 1, 1, 0);  /* session key status request, user 1 */
    /* 131 with g120v7: CSQ 5, user 1, association 2, error 1, time */
    RSP(&b, 0xC2, 0x83, 0x00, 0x00, 120, 7, 0x5B, 1, 15, 0,
        5, 0, 0, 0, 1, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "authenticate_request");
    assert_int_equal(t->ops, QW_OP_AUTH);
    assert_true(t->error);
    JSON_HAS(f, 0, "\"auth\":[{\"variation\":4,\"name\":\"session_key_status_request\","
                   "\"user\":1}]");
    JSON_HAS(f, 0, "\"auth\":[{\"variation\":7,\"name\":\"error\",\"csq\":5,\"user\":1,"
                   "\"association_id\":2,\"error_code\":1,"
                   "\"error_name\":\"authentication_failed\"}]");
}

static void test_function_table_ops(void **ts)
{
    struct fx *f = *ts;
    static const struct {
        uint8_t fc;
        const char *name;
        uint32_t ops;
    } cases[] = {
        {7, "immediate_freeze", QW_OP_WRITE},      {9, "freeze_and_clear", QW_OP_WRITE},
        {13, "cold_restart", QW_OP_RESTART},       {14, "warm_restart", QW_OP_RESTART},
        {16, "initialize_application", QW_OP_RESTART}, {17, "start_application", QW_OP_START},
        {18, "stop_application", QW_OP_STOP},      {20, "enable_unsolicited", QW_OP_SESSION},
        {21, "disable_unsolicited", QW_OP_SESSION}, {22, "assign_class", QW_OP_SESSION},
        {24, "record_current_time", QW_OP_TIMESYNC}, {27, "delete_file", QW_OP_FILE},
        {31, "activate_config", QW_OP_CONFIG},     {100, "unknown", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf a = {0};
        uint8_t app[2] = {(uint8_t)(0xC0 | (i & 0x0F)), cases[i].fc};
        fragment(&a, 0xC4, (uint16_t)(OUTSTATION + i), MASTER, app, sizeof app);
        FEED_BUF(f, C2S, &a);
    }
    flow_end(f);
    assert_int_equal(f->rec.ntxns, sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < f->rec.ntxns; i++) {
        const struct qw_txn *t = &f->rec.txns[i].txn;
        size_t k = 0;
        while (k < sizeof cases / sizeof cases[0] && cases[k].fc != t->function) k++;
        assert_true(k < sizeof cases / sizeof cases[0]);
        assert_string_equal(t->function_name, cases[k].name);
        assert_int_equal(t->ops, cases[k].ops);
    }
}

/* A new request to the same outstation reports the older one unanswered; other outstations'
 * requests wait for their answers. */
static void test_request_queue(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0}, c = {0}, d = {0};
    REQ(&a, 0xC1, 0x01, 60, 1, 0x06);
    static const uint8_t other[] = {0xC1, 0x01, 60, 2, 0x06};
    fragment(&b, 0xC4, 20, MASTER, other, sizeof other);
    REQ(&c, 0xC2, 0x01, 60, 1, 0x06);
    static const uint8_t other_rsp[] = {0xC1, 0x81, 0x00, 0x00};
    fragment(&d, 0x44, MASTER, 20, other_rsp, sizeof other_rsp);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, C2S, &b);
    FEED_BUF(f, C2S, &c);
    assert_int_equal(f->rec.ntxns, 1); /* the first read to 10, unanswered */
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "\"seq\":1");
    FEED_BUF(f, S2C, &d); /* answers outstation 20's request, seq 1 */
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"dst\":20");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"seq\":2");
    assert_false(txn_at(f, 2)->has_response);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    for (uint16_t i = 0; i < 6; i++) {
        struct buf a = {0};
        static const uint8_t app[] = {0xC0, 0x01, 60, 1, 0x06};
        fragment(&a, 0xC4, (uint16_t)(100 + i), MASTER, app, sizeof app);
        FEED_BUF(f, C2S, &a);
    }
    assert_int_equal(anomalies(f, "dnp3.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"dst\":100");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 6);
}

static void test_gap_discards_partial(void **ts)
{
    struct fx *f = *ts;
    uint8_t app[400] = {0xC0, 0x81, 0x00, 0x00};
    struct buf b = {0}, c = {0};
    fragment(&b, 0x44, MASTER, OUTSTATION, app, sizeof app);
    feed(f, S2C, b.b, 292 + 7); /* first frame and part of the second */
    qw_pending_reset(&f->pend[S2C]);
    qw_proto_dnp3.gap(&f->ctx, f->state, S2C);
    assert_int_equal(anomalies(f, "dnp3.transport_incomplete"), 1);
    RSP(&c, 0xC1, 0x82, 0x00, 0x00);
    FEED_BUF(f, S2C, &c);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 130);
    /* The gap's direction only: the other side still pairs. */
    assert_int_equal(f->rec.nanomalies, 1);
}

static void test_udp_datagrams(void **ts)
{
    struct fx *f = *ts;
    struct buf a = {0}, b = {0};
    REQ(&a, 0xC3, 0x01, 60, 1, 0x06);
    RSP(&b, 0xC3, 0x81, 0x00, 0x00);
    RSP(&b, 0xF0, 0x82, 0x00, 0x00); /* two frames in one datagram */
    qw_proto_dnp3.datagram(&f->ctx, f->state, C2S, a.b, a.n);
    qw_proto_dnp3.datagram(&f->ctx, f->state, S2C, b.b, b.n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 0)->has_request && txn_at(f, 0)->has_response);
    assert_int_equal(txn_at(f, 1)->function, 130);
    /* A datagram cut inside its frame. */
    struct buf c = {0};
    REQ(&c, 0xC4, 0x01, 60, 1, 0x06);
    qw_proto_dnp3.datagram(&f->ctx, f->state, C2S, c.b, c.n - 3);
    assert_int_equal(anomalies(f, "dnp3.truncated_frame"), 1);
    assert_int_equal(f->rec.ntxns, 2);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    struct buf a = {0};
    REQ(&a, 0xC0, 0x01, 60, 1, 0x06);
    assert_int_equal(qw_proto_dnp3.probe(a.b, a.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_dnp3.probe(a.b, 10, S2C), QW_PROBE_MATCH);
    for (size_t n = 0; n < 10; n++)
        assert_int_equal(qw_proto_dnp3.probe(a.b, n, C2S), QW_PROBE_NEED_MORE);
    struct buf l = {0};
    link_frame(&l, 0x0B, MASTER, OUTSTATION, NULL, 0); /* link status */
    assert_int_equal(qw_proto_dnp3.probe(l.b, l.n, S2C), QW_PROBE_MATCH);

    uint8_t bad[16];
    memcpy(bad, a.b, sizeof bad);
    bad[9] ^= 0x10; /* header CRC */
    assert_int_equal(qw_proto_dnp3.probe(bad, sizeof bad, C2S), QW_PROBE_NO);
    memcpy(bad, a.b, sizeof bad);
    bad[2] = 4; /* LEN below 5 */
    assert_int_equal(qw_proto_dnp3.probe(bad, 3, C2S), QW_PROBE_NO);
    /* An undefined link function (primary 5) with a right CRC. */
    struct buf u = {0};
    link_frame(&u, 0xC5, OUTSTATION, MASTER, NULL, 0);
    assert_int_equal(qw_proto_dnp3.probe(u.b, u.n, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(u.b, 4, C2S), QW_PROBE_NO);

    static const uint8_t modbus[] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1};
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03};
    static const uint8_t tpkt[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0, 0, 0, 1, 0};
    static const uint8_t zeros[16] = {0};
    static const uint8_t near[] = {0x05, 0x65, 0x05, 0xC4, 0, 0, 0, 0, 0, 0};
    assert_int_equal(qw_proto_dnp3.probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(http, sizeof http - 1, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(tpkt, sizeof tpkt, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_dnp3.probe(near, sizeof near, C2S), QW_PROBE_NO);
    /* 05 64 with a plausible header but a wrong CRC (chance alone) */
    static const uint8_t chance[] = {0x05, 0x64, 0x05, 0xC9, 1, 0, 2, 0, 0x00, 0x00};
    assert_int_equal(qw_proto_dnp3.probe(chance, sizeof chance, C2S), QW_PROBE_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_read_pair_and_latency),
        T(test_outstation_is_tcp_client),
        T(test_split_at_every_offset),
        T(test_byte_by_byte),
        T(test_several_frames_one_chunk),
        T(test_select_operate_crob),
        T(test_direct_operate_analog_outputs),
        T(test_direct_operate_no_ack_emitted_at_once),
        T(test_broadcast_not_queued),
        T(test_unsolicited_and_confirm),
        T(test_iin_error_bits),
        T(test_event_buffer_overflow_is_not_error),
        T(test_transport_reassembly),
        T(test_multi_fragment_response),
        T(test_lost_segment_discards_message),
        T(test_new_first_segment_discards_partial),
        T(test_bad_header_crc_resync),
        T(test_bad_data_crc_drops_frame),
        T(test_bad_length_and_garbage),
        T(test_link_retry_ignored),
        T(test_link_only_frames),
        T(test_fragment_too_long_still_reported),
        T(test_truncated_object),
        T(test_oversized_count_and_range),
        T(test_unknown_object_stops_without_anomaly),
        T(test_invalid_qualifier),
        T(test_device_attributes_identity),
        T(test_write_time_sets_timesync),
        T(test_freeze_at_time_variation_zero),
        T(test_delay_measure_response),
        T(test_file_open_and_status),
        T(test_auth_error),
        T(test_function_table_ops),
        T(test_request_queue),
        T(test_queue_full),
        T(test_gap_discards_partial),
        T(test_udp_datagrams),
        T(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
