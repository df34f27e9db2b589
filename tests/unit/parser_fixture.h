/* The fixture every parser unit test shares: a parser's per-flow state, the recording sink
 * (src/engine/record_sink.h), and delivery as the engine delivers: TCP bytes through
 * qw_stream_deliver (so split PDUs behave as in production), UDP payloads to `datagram`, and
 * link-layer frames to `frame` with a packet giving the frame's addresses.
 *
 * Include after <cmocka.h>, having defined PROTO as the descriptor under test (e.g.
 * qw_proto_ftp) and, as the test needs:
 *   FX_TS_STEP  the packet-time step before each delivery, in ns (default 1000; 0 keeps the
 *               time as the test sets it, for exact latencies)
 *   FX_T0       the packet time a flow starts at (default 1 s)
 *   FX_BUF_MAX  the capacity of the shared byte builder (struct buf, put, u8, u16...), which
 *               exists only when this is defined
 *   FX_SRC_MAC, FX_DST_MAC  6-byte initializers: the frames' addresses unless a test changes
 *               them (link-layer parsers)
 * A test of another parser than PROTO (LLMNR beside mDNS) sets up with fx_setup_proto; every
 * delivery goes to the fixture's own parser, f->proto.
 *
 * check_every_split() is the shared proof that a conversation cut at any byte offset of any
 * message, or fed one byte at a time, gives exactly the records of the uncut one. */
#ifndef QW_TESTS_PARSER_FIXTURE_H
#define QW_TESTS_PARSER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "proto/proto.h"

#ifndef FX_TS_STEP
#define FX_TS_STEP 1000u
#endif
#ifndef FX_T0
#define FX_T0 1000000000ull
#endif

#define C2S QW_DIR_TO_SERVER
#define S2C QW_DIR_TO_CLIENT

struct fx {
    struct qw_record_sink rec;
    struct qw_pctx ctx;
    const struct qw_proto *proto;
    void *state;
    struct qw_pending pend[2];
    /* The packet of the next delivery, for parsers that read its addresses (qw_pctx_packet):
     * fx_packet sets it for datagrams, fx_frame* for frames. Until then ctx.pkt is NULL, as
     * for a parser given bytes alone. */
    struct qw_packet pkt;
};

/* A fresh flow: no pending bytes, no records, no packet, zeroed parser state, time FX_T0. */
static inline void fx_reset(struct fx *f)
{
    qw_pending_free(&f->pend[0]);
    qw_pending_free(&f->pend[1]);
    qw_record_sink_init(&f->rec, &f->ctx, f->proto);
    memset(f->state, 0, f->proto->state_size);
    memset(&f->pkt, 0, sizeof f->pkt);
#ifdef FX_SRC_MAC
    static const uint8_t src_mac[6] = FX_SRC_MAC;
    memcpy(f->pkt.src_mac, src_mac, 6);
#endif
#ifdef FX_DST_MAC
    static const uint8_t dst_mac[6] = FX_DST_MAC;
    memcpy(f->pkt.dst_mac, dst_mac, 6);
#endif
    f->ctx.ts_ns = FX_T0;
}

static inline int fx_setup_proto(void **tstate, const struct qw_proto *proto)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->proto = proto;
    f->state = calloc(1, proto->state_size ? proto->state_size : 1);
    if (!f->state) {
        free(f);
        return -1;
    }
    fx_reset(f);
    *tstate = f;
    return 0;
}

static inline int fx_setup(void **tstate)
{
    return fx_setup_proto(tstate, &PROTO);
}

static inline int fx_teardown(void **tstate)
{
    struct fx *f = *tstate;
    qw_pending_free(&f->pend[0]);
    qw_pending_free(&f->pend[1]);
    free(f->state);
    free(f);
    return 0;
}

/* A test case with the fixture. */
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

/* ---- Byte builder (with FX_BUF_MAX) ------------------------------------------------------- */

#ifdef FX_BUF_MAX
/* A message under construction. */
struct buf {
    uint8_t b[FX_BUF_MAX];
    size_t n;
};

/* A zeroed builder on the heap, for the large ones. */
static inline struct buf *buf_new(void)
{
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    return b;
}

static inline void put(struct buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->b);
    if (n) memcpy(b->b + b->n, p, n);
    b->n += n;
}

static inline void u8(struct buf *b, uint8_t v)
{
    put(b, &v, 1);
}

/* Big-endian (network order) integers. */
static inline void u16(struct buf *b, uint16_t v)
{
    u8(b, (uint8_t)(v >> 8));
    u8(b, (uint8_t)v);
}

static inline void u24(struct buf *b, uint32_t v)
{
    u8(b, (uint8_t)(v >> 16));
    u16(b, (uint16_t)v);
}

static inline void u32(struct buf *b, uint32_t v)
{
    u16(b, (uint16_t)(v >> 16));
    u16(b, (uint16_t)v);
}

/* Little-endian integers. */
static inline void le16(struct buf *b, uint16_t v)
{
    u8(b, (uint8_t)v);
    u8(b, (uint8_t)(v >> 8));
}

static inline void le32(struct buf *b, uint32_t v)
{
    le16(b, (uint16_t)v);
    le16(b, (uint16_t)(v >> 16));
}

static inline void le64(struct buf *b, uint64_t v)
{
    le32(b, (uint32_t)v);
    le32(b, (uint32_t)(v >> 32));
}
#endif

/* ---- Delivery ------------------------------------------------------------------------------ */

/* TCP: bytes of one direction, after what the parser left unconsumed. */
static inline void feed(struct fx *f, enum qw_dir dir, const void *b, size_t n)
{
    f->ctx.ts_ns += FX_TS_STEP;
    size_t dropped = qw_stream_deliver(&f->ctx, f->proto, f->state, dir, &f->pend[dir], b, n);
    assert_int_equal(dropped, 0);
}

#define FEED(f, dir, arr) feed((f), (dir), (arr), sizeof(arr))
/* A string literal without its NUL. */
#define FEED_LIT(f, dir, lit) feed((f), (dir), (lit), sizeof(lit) - 1)
/* A message a test built: any struct with bytes `b` and length `n`. */
#define FEED_BUF(f, dir, buf) feed((f), (dir), (buf)->b, (buf)->n)

static inline void feed_str(struct fx *f, enum qw_dir dir, const char *s)
{
    feed(f, dir, s, strlen(s));
}

/* UDP: one datagram's payload, whole. */
static inline void fx_datagram(struct fx *f, enum qw_dir dir, const void *b, size_t n)
{
    f->ctx.ts_ns += FX_TS_STEP;
    f->proto->datagram(&f->ctx, f->state, dir, b, n);
}

#define DATAGRAM_BUF(f, dir, buf) fx_datagram((f), (dir), (buf)->b, (buf)->n)

/* UDP at packet time t. */
static inline void fx_datagram_at(struct fx *f, uint64_t t, enum qw_dir dir, const void *b,
                                  size_t n)
{
    f->ctx.ts_ns = t;
    f->proto->datagram(&f->ctx, f->state, dir, b, n);
}

/* The packet the next datagrams come in: IPv4 or IPv6 addresses as text, no MACs (a test
 * that needs them writes f->pkt after this). */
static inline void fx_packet(struct fx *f, const char *src, const char *dst)
{
    memset(&f->pkt, 0, sizeof f->pkt);
    assert_true(qw_addr_parse(src, &f->pkt.src_ip));
    assert_true(qw_addr_parse(dst, &f->pkt.dst_ip));
    f->pkt.l3 = qw_addr_is_v4(&f->pkt.src_ip) ? QW_L3_IPV4 : QW_L3_IPV6;
    f->ctx.pkt = &f->pkt;
}

/* Source and destination MACs of the frames that follow (NULL keeps one as it is). */
static inline void fx_macs(struct fx *f, const uint8_t *src, const uint8_t *dst)
{
    if (src) memcpy(f->pkt.src_mac, src, 6);
    if (dst) memcpy(f->pkt.dst_mac, dst, 6);
}

/* Link layer: `b` is the frame after `ethertype` (or the SNAP protocol id), sent from and to
 * the MACs of f->pkt (fx_macs) at the current time. */
static inline void fx_frame_now(struct fx *f, uint16_t ethertype, const void *b, size_t n)
{
    f->pkt.ts_ns = f->ctx.ts_ns;
    f->pkt.has_mac = true;
    f->pkt.ethertype = ethertype;
    f->ctx.pkt = &f->pkt;
    f->proto->frame(&f->ctx, f->state, ethertype, b, n);
}

static inline void fx_frame_as(struct fx *f, uint16_t ethertype, const void *b, size_t n)
{
    f->ctx.ts_ns += FX_TS_STEP;
    fx_frame_now(f, ethertype, b, n);
}

/* A frame of the parser's own (first) ethertype. */
static inline void fx_frame(struct fx *f, const void *b, size_t n)
{
    fx_frame_as(f, f->proto->ethertypes[0], b, n);
}

/* A frame of the parser's own ethertype at packet time t. */
static inline void fx_frame_at(struct fx *f, uint64_t t, const void *b, size_t n)
{
    f->ctx.ts_ns = t;
    fx_frame_now(f, f->proto->ethertypes[0], b, n);
}

/* A whole Ethernet frame, decoded as the engine decodes it: the bytes after its ethertype (or
 * SNAP protocol id) go to the parser, with the decoded packet. Returns that packet. */
static inline const struct qw_packet *fx_frame_decoded(struct fx *f, const void *frame, size_t n)
{
    struct qw_decoder d;
    qw_decoder_init(&d, 1 /* LINKTYPE_ETHERNET */);
    f->ctx.ts_ns += FX_TS_STEP;
    qw_decode(&d, frame, (uint32_t)n, (uint32_t)n, f->ctx.ts_ns, &f->pkt);
    f->ctx.pkt = &f->pkt;
    f->proto->frame(&f->ctx, f->state, f->pkt.ethertype, f->pkt.payload, f->pkt.payload_len);
    qw_decoder_free(&d);
    return &f->pkt;
}

/* The flow's end, as the engine gives it: to a parser that asks for it (flow_end is optional). */
static inline void flow_end(struct fx *f)
{
    if (f->proto->flow_end) f->proto->flow_end(&f->ctx, f->state);
}

/* Forget what was recorded (the records only). */
static inline void fx_clear_records(struct fx *f)
{
    f->rec.ntxns = f->rec.nanomalies = f->rec.nidentities = f->rec.dropped = 0;
    f->rec.ndevice_reports = 0;
}

/* Forget the parser state and what was recorded, keeping the time and the packet (for a loop
 * of independent deliveries, each from scratch). */
static inline void fx_clear(struct fx *f)
{
    memset(f->state, 0, f->proto->state_size);
    fx_clear_records(f);
}

/* ---- What was recorded --------------------------------------------------------------------- */

/* Transaction i's protocol object, which must have been written whole. */
static inline const char *json_of(const struct fx *f, size_t i)
{
    assert_true(i < f->rec.ntxns);
    assert_false(f->rec.txns[i].json_overflow);
    return f->rec.txns[i].json;
}

static inline const struct qw_txn *txn_at(const struct fx *f, size_t i)
{
    assert_true(i < f->rec.ntxns);
    return &f->rec.txns[i].txn;
}

/* A cut-off object could hide what JSON_LACKS looks for, or lose what JSON_HAS does: both
 * require the object whole. */
static inline void json_has_(const struct fx *f, size_t i, const char *needle, bool want,
                             const char *file, int line)
{
    if (i >= f->rec.ntxns) {
        print_error("no txn %zu (have %zu)\n", i, f->rec.ntxns);
        _fail(file, line);
    }
    if (f->rec.txns[i].json_overflow) {
        print_error("txn %zu json cut off: %s\n", i, f->rec.txns[i].json);
        _fail(file, line);
    }
    if ((strstr(f->rec.txns[i].json, needle) != NULL) != want) {
        print_error("txn %zu json %s\n  %s %s\n", i, f->rec.txns[i].json, want ? "lacks" : "has",
                    needle);
        _fail(file, line);
    }
}
#define JSON_HAS(f, i, s) json_has_((f), (i), (s), true, __FILE__, __LINE__)
#define JSON_LACKS(f, i, s) json_has_((f), (i), (s), false, __FILE__, __LINE__)

/* Whether any transaction's protocol object contains `needle`. */
static inline bool some_json_has(const struct fx *f, const char *needle)
{
    for (size_t i = 0; i < f->rec.ntxns; i++)
        if (strstr(f->rec.txns[i].json, needle)) return true;
    return false;
}

/* How many identity facts named attr were recorded, about either end. */
static inline size_t count_identity(const struct fx *f, const char *attr)
{
    size_t n = 0;
    for (size_t i = 0; i < f->rec.nidentities; i++)
        n += strcmp(f->rec.identities[i].attr, attr) == 0;
    return n;
}

/* How many identity facts named attr were recorded about the server (or the client) end. */
static inline size_t count_identity_of(const struct fx *f, bool server, const char *attr)
{
    size_t n = 0;
    for (size_t i = 0; i < f->rec.nidentities; i++)
        n += f->rec.identities[i].server == server && strcmp(f->rec.identities[i].attr, attr) == 0;
    return n;
}

/* Whether the fact attr=value was recorded about the server (or the client) end. */
static inline bool has_fact(const struct fx *f, bool server, const char *attr, const char *value)
{
    for (size_t i = 0; i < f->rec.nidentities; i++) {
        const struct qw_rec_identity *id = &f->rec.identities[i];
        if (id->server == server && strcmp(id->attr, attr) == 0 && strcmp(id->value, value) == 0)
            return true;
    }
    return false;
}

/* The first fact attr about that end is `want`. */
static inline void identity_is(const struct fx *f, bool server, const char *attr,
                               const char *want)
{
    const char *v = qw_record_identity(&f->rec, server, attr);
    if (!v || strcmp(v, want) != 0) {
        print_error("identity %s: %s, want %s\n", attr, v ? v : "(none)", want);
        fail();
    }
}

/* ---- Split invariance ---------------------------------------------------------------------- */

/* TCP: one byte per delivery. */
static inline void feed_bytewise(struct fx *f, enum qw_dir dir, const void *b, size_t n)
{
    for (size_t i = 0; i < n; i++) feed(f, dir, (const uint8_t *)b + i, 1);
}

/* Everything the parser emitted, as one string (for split-invariance checks); packet times
 * are left out, as a cut adds a delivery and so a time step. */
static inline void digest(const struct fx *f, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->rec.ntxns && o < cap; i++) {
        const struct qw_txn *t = &f->rec.txns[i].txn;
        o += (size_t)snprintf(out + o, cap - o, "T%u:%s|%u|%d|%d%d|%s\n", t->function,
                              t->function_name, t->ops, t->error, t->has_request,
                              t->has_response, f->rec.txns[i].json);
    }
    for (size_t i = 0; i < f->rec.nanomalies && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "A:%s:%s\n", f->rec.anomalies[i].name,
                              f->rec.anomalies[i].detail);
    for (size_t i = 0; i < f->rec.nidentities && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "I:%d:%s=%s\n", f->rec.identities[i].server,
                              f->rec.identities[i].attr, f->rec.identities[i].value);
}

/* One delivery of a conversation. */
struct msg {
    enum qw_dir dir;
    const uint8_t *b;
    size_t n;
};

/* run_conv's `split` for every message one byte per delivery. */
#define FX_BYTEWISE (SIZE_MAX - 1)

/* Feed a conversation from scratch, message `split` cut at `at` (0: no cut; with split ==
 * FX_BYTEWISE every message one byte per delivery), then end it. */
static inline void run_conv(struct fx *f, const struct msg *m, size_t n, size_t split, size_t at)
{
    fx_reset(f);
    for (size_t i = 0; i < n; i++) {
        if (split == FX_BYTEWISE) {
            feed_bytewise(f, m[i].dir, m[i].b, m[i].n);
        } else if (i == split && at > 0 && at < m[i].n) {
            feed(f, m[i].dir, m[i].b, at);
            feed(f, m[i].dir, m[i].b + at, m[i].n - at);
        } else {
            feed(f, m[i].dir, m[i].b, m[i].n);
        }
    }
    flow_end(f);
}

#define DIGEST_MAX 65536

/* Asserts decoded values after one run of a conversation. */
typedef void fx_check_fn(const struct fx *f);

/* An fx_check_fn: exactly one record, and no anomaly. */
static inline void check_one_clean_record(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* One run of check_every_split_with: its records must be the uncut run's, `ref`. */
static inline void split_run_(struct fx *f, const struct msg *m, size_t n, size_t split,
                              size_t at, const char *ref, char *got, fx_check_fn *check)
{
    run_conv(f, m, n, split, at);
    digest(f, got, DIGEST_MAX);
    if (strcmp(ref, got) != 0) {
        if (split == FX_BYTEWISE) print_error("byte by byte:\n");
        else print_error("message %zu cut at %zu:\n", split, at);
        print_error("%s\n--- vs uncut ---\n%s\n", got, ref);
        fail();
    }
    if (check) check(f);
}

/* Every message cut at every offset, and the whole conversation one byte per delivery, give
 * exactly the records of the uncut conversation. `check` (or NULL) asserts decoded values
 * after every run, the uncut one first. The fixture is left with the byte-wise run. */
static inline void check_every_split_with(struct fx *f, const struct msg *m, size_t n,
                                          fx_check_fn *check)
{
    char *ref = malloc(DIGEST_MAX), *got = malloc(DIGEST_MAX);
    assert_non_null(ref);
    assert_non_null(got);
    run_conv(f, m, n, SIZE_MAX, 0);
    digest(f, ref, DIGEST_MAX);
    assert_true(f->rec.ntxns > 0);
    if (check) check(f);
    for (size_t i = 0; i < n; i++)
        for (size_t at = 1; at < m[i].n; at++) split_run_(f, m, n, i, at, ref, got, check);
    split_run_(f, m, n, FX_BYTEWISE, 0, ref, got, check);
    free(ref);
    free(got);
}

static inline void check_every_split(struct fx *f, const struct msg *m, size_t n)
{
    check_every_split_with(f, m, n, NULL);
}

#endif
