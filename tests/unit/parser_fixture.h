/* The fixture every stream-parser unit test shares: a parser's per-flow state, the recording
 * sink (src/engine/record_sink.h), and delivery through qw_stream_deliver exactly as the engine
 * delivers TCP bytes, so split PDUs behave as in production.
 *
 * Before including, define PROTO as the descriptor under test (e.g. qw_proto_ftp), and
 * optionally FX_TS_STEP, the packet-time step per delivery in ns (default 1000; 0 keeps one
 * time, for tests that check exact latencies). Include after <cmocka.h>.
 *
 * check_every_split() is the shared proof that a conversation cut at any byte offset of any
 * message gives exactly the records of the uncut one. */
#ifndef QW_TESTS_PARSER_FIXTURE_H
#define QW_TESTS_PARSER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "proto/proto.h"

#ifndef FX_TS_STEP
#define FX_TS_STEP 1000u
#endif

#define C2S QW_DIR_TO_SERVER
#define S2C QW_DIR_TO_CLIENT

struct fx {
    struct qw_record_sink rec;
    struct qw_pctx ctx;
    void *state;
    struct qw_pending pend[2];
};

/* A fresh flow: no pending bytes, no records, zeroed parser state, time 1 s. */
static inline void fx_reset(struct fx *f)
{
    qw_pending_free(&f->pend[0]);
    qw_pending_free(&f->pend[1]);
    qw_record_sink_init(&f->rec, &f->ctx, &PROTO);
    memset(f->state, 0, PROTO.state_size);
    f->ctx.ts_ns = 1000000000ull;
}

static inline int fx_setup(void **tstate)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->state = calloc(1, PROTO.state_size ? PROTO.state_size : 1);
    if (!f->state) return -1;
    fx_reset(f);
    *tstate = f;
    return 0;
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

static inline void feed(struct fx *f, enum qw_dir dir, const void *b, size_t n)
{
    f->ctx.ts_ns += FX_TS_STEP;
    size_t dropped = qw_stream_deliver(&f->ctx, &PROTO, f->state, dir, &f->pend[dir], b, n);
    assert_int_equal(dropped, 0);
}

#define FEED(f, dir, arr) feed((f), (dir), (arr), sizeof(arr))

static inline void feed_str(struct fx *f, enum qw_dir dir, const char *s)
{
    feed(f, dir, s, strlen(s));
}

static inline void flow_end(struct fx *f)
{
    PROTO.flow_end(&f->ctx, f->state);
}

static inline const char *json_of(const struct fx *f, size_t i)
{
    assert_true(i < f->rec.ntxns);
    return f->rec.txns[i].json;
}

static inline const struct qw_txn *txn_at(const struct fx *f, size_t i)
{
    assert_true(i < f->rec.ntxns);
    return &f->rec.txns[i].txn;
}

static inline void json_has_(const struct fx *f, size_t i, const char *needle, bool want,
                             const char *file, int line)
{
    if (i >= f->rec.ntxns) {
        print_error("no txn %zu (have %zu)\n", i, f->rec.ntxns);
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

/* Everything the parser emitted, as one string (for split-invariance checks). */
static inline void digest(const struct fx *f, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->rec.ntxns && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "T%u:%s|%u|%d|%s\n", f->rec.txns[i].txn.function,
                              f->rec.txns[i].txn.function_name, f->rec.txns[i].txn.ops,
                              f->rec.txns[i].txn.error, f->rec.txns[i].json);
    for (size_t i = 0; i < f->rec.nanomalies && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "A:%s:%s\n", f->rec.anomalies[i].name,
                              f->rec.anomalies[i].detail);
    for (size_t i = 0; i < f->rec.nidentities && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "I:%d:%s=%s\n", f->rec.identities[i].server,
                              f->rec.identities[i].attr, f->rec.identities[i].value);
}

struct msg {
    enum qw_dir dir;
    const uint8_t *b;
    size_t n;
};

/* Feed a conversation from scratch, message `split` cut at `at` (0: no cut), then end it. */
static inline void run_conv(struct fx *f, const struct msg *m, size_t n, size_t split, size_t at)
{
    fx_reset(f);
    for (size_t i = 0; i < n; i++) {
        if (i == split && at > 0 && at < m[i].n) {
            feed(f, m[i].dir, m[i].b, at);
            feed(f, m[i].dir, m[i].b + at, m[i].n - at);
        } else {
            feed(f, m[i].dir, m[i].b, m[i].n);
        }
    }
    flow_end(f);
}

#define DIGEST_MAX 65536

/* Every message cut at every offset gives the same records as the uncut conversation. */
static inline void check_every_split(struct fx *f, const struct msg *m, size_t n)
{
    char *ref = malloc(DIGEST_MAX), *got = malloc(DIGEST_MAX);
    assert_non_null(ref);
    assert_non_null(got);
    run_conv(f, m, n, SIZE_MAX, 0);
    digest(f, ref, DIGEST_MAX);
    assert_true(f->rec.ntxns > 0);
    for (size_t i = 0; i < n; i++) {
        for (size_t at = 1; at < m[i].n; at++) {
            run_conv(f, m, n, i, at);
            digest(f, got, DIGEST_MAX);
            if (strcmp(ref, got) != 0) {
                print_error("message %zu cut at %zu:\n%s\n--- vs uncut ---\n%s\n", i, at, got, ref);
                fail();
            }
        }
    }
    free(ref);
    free(got);
}

#endif
