/* How `--workers` feeds its engines (engine/shards.c). The pulled feed of capture files, with
 * batches made tiny (a few packets, one to three slots) so that slot reuse, reading ahead, the
 * scan-pass meeting and the end are crossed hundreds of times, and the pushed feed of live
 * capture, with a pass every 97 packets, are checked against one engine on the same stream:
 * every packet reaches the engine its address pair hashes to, the capture's clock reaches every
 * engine (flows time out alike), recon.scan counts probes spread over engines at the passes,
 * and the findings and flow counts are those of one engine. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/shard_key.h"
#include "engine/shards.h"
#include "synth/frame.h" /* sy_put16, sy_put32 */

#define SEC 1000000000ull
#define MAX_PKTS 12000
#define FRAME_LEN 60

struct stream {
    uint8_t frame[MAX_PKTS][FRAME_LEN];
    uint32_t len[MAX_PKTS];
    uint64_t ts[MAX_PKTS];
    size_t n, next;
    /* offering frames in place (stable), as a shared file reader does: the source's copy is
     * wiped once released, so an engine still reading it would decode garbage */
    bool in_place;
    uint8_t live[MAX_PKTS][FRAME_LEN];
    uint64_t span_sum[MAX_PKTS + 1]; /* spans of the stable frames before i */
    size_t held_max, held_peak;      /* what the pool says it may hold; the most it did */
    size_t wipe_at_next;             /* an unstable frame, valid until the next call */
    pthread_mutex_t mu;              /* releases come from any thread */
    size_t released;                 /* frames before this one are released */
};

#define SPAN(len) (16u + (len)) /* a frame's span: its bytes and a record header, as in a file */
#define NO_WIPE ((size_t)-1)

/* Ethernet + IPv4 + TCP (SYN) or UDP (4 payload bytes), MACs from the addresses. */
static void add_ip(struct stream *s, uint64_t ts, uint8_t proto, uint32_t src, uint32_t dst,
                   uint16_t sport, uint16_t dport)
{
    assert_true(s->n < MAX_PKTS);
    uint8_t *f = s->frame[s->n];
    memset(f, 0, FRAME_LEN);
    f[0] = 0x02;
    sy_put32(f + 2, dst);
    f[6] = 0x02;
    sy_put32(f + 8, src);
    sy_put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    size_t l4 = proto == 6 ? 20 : 12;
    ip[0] = 0x45;
    sy_put16(ip + 2, (uint16_t)(20 + l4));
    ip[8] = 64;
    ip[9] = proto;
    sy_put32(ip + 12, src);
    sy_put32(ip + 16, dst);
    uint8_t *t = ip + 20;
    sy_put16(t, sport);
    sy_put16(t + 2, dport);
    if (proto == 6) {
        sy_put32(t + 4, 1000);
        t[12] = 0x50;
        t[13] = 0x02; /* SYN */
        sy_put16(t + 14, 1024);
    } else {
        sy_put16(t + 4, 12);
        memcpy(t + 8, "ping", 4);
    }
    s->len[s->n] = (uint32_t)(14 + 20 + l4);
    s->ts[s->n++] = ts;
}

/* An ARP request: no IP, so engine 0's. */
static void add_arp(struct stream *s, uint64_t ts, uint32_t sender, uint32_t target)
{
    assert_true(s->n < MAX_PKTS);
    uint8_t *f = s->frame[s->n];
    memset(f, 0, FRAME_LEN);
    memset(f, 0xff, 6);
    f[6] = 0x02;
    sy_put32(f + 8, sender);
    sy_put16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    sy_put16(a, 1);
    sy_put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    sy_put16(a + 6, 1);
    memcpy(a + 8, f + 6, 6);
    sy_put32(a + 14, sender);
    sy_put32(a + 24, target);
    s->len[s->n] = 42;
    s->ts[s->n++] = ts;
}

/* A port sweep (64 hosts, one SYN each, unanswered) in the first half minute, among twenty
 * pairs exchanging a datagram each way every two seconds, all but one of which fall silent at
 * 200 s: their flows time out on the clock the last pair's packets move on, which an engine
 * without that pair learns only from the clock the batches carry to its end. And an ARP request
 * every 10 s. */
static struct stream *build_stream(void)
{
    struct stream *s = calloc(1, sizeof *s);
    assert_non_null(s);
    uint32_t scanner = 0x0a090909, net_a = 0x0a020000, net_b = 0x0a030000;
    unsigned swept = 0;
    for (uint64_t t = 0; t < 400 * SEC; t += 2 * SEC) {
        for (uint32_t i = 1; i <= 20; i++) {
            if (i != 1 && t >= 200 * SEC) continue;
            uint64_t at = t + i * (SEC / 50);
            add_ip(s, at, 17, net_a + i, net_b + i, (uint16_t)(40000 + i), 9999);
            add_ip(s, at + SEC / 100, 17, net_b + i, net_a + i, 9999, (uint16_t)(40000 + i));
        }
        for (int k = 0; k < 4 && swept < 64; k++, swept++)
            add_ip(s, t + SEC + (uint64_t)k * (SEC / 10), 6, scanner, 0x0a010000 + swept,
                   (uint16_t)(50000 + swept), 502);
        if (t % (10 * SEC) == 0) add_arp(s, t + SEC / 3, net_a + 1, net_a + 99);
    }
    return s;
}

/* In place, every fifth frame is handed out unstable, as a record wrapping around a reader's
 * ring is (never the last: the releases must reach the end). */
static bool unstable(const struct stream *s, size_t i)
{
    return i % 5 == 3 && i + 1 < s->n;
}

static int next_frame(void *ctx, struct qw_offer *p)
{
    struct stream *s = ctx;
    if (s->wipe_at_next != NO_WIPE) memset(s->live[s->wipe_at_next], 0xee, FRAME_LEN);
    s->wipe_at_next = NO_WIPE;
    if (s->next == s->n) return 0;
    size_t i = s->next++;
    *p = (struct qw_offer){.src = 0,
                           .frame = s->frame[i],
                           .caplen = s->len[i],
                           .wirelen = s->len[i],
                           .ts_ns = s->ts[i]};
    if (!s->in_place) return 1;
    p->frame = s->live[i];
    if (unstable(s, i)) {
        s->wipe_at_next = i;
        return 1;
    }
    p->stable = true;
    p->span = SPAN(s->len[i]);
    p->mark = i + 1;
    pthread_mutex_lock(&s->mu);
    size_t held = (size_t)(s->span_sum[i + 1] - s->span_sum[s->released]);
    if (held > s->held_peak) s->held_peak = held;
    pthread_mutex_unlock(&s->mu);
    return 1;
}

static void release_frames(void *ctx, uint64_t mark)
{
    struct stream *s = ctx;
    pthread_mutex_lock(&s->mu);
    for (; s->released < mark; s->released++) memset(s->live[s->released], 0xee, FRAME_LEN);
    pthread_mutex_unlock(&s->mu);
}

struct outcome {
    uint64_t packets, alerts, flows, timed_out, probes_left;
};

/* What n engines made of the stream, read back once they have ended (and freed then). */
static struct outcome outcome_of(struct qw_shards *s, struct stream *st, unsigned n)
{
    assert_int_equal(s->dispatched, st->n);
    assert_true(s->finished);

    /* every packet went to the engine its address pair hashes to */
    uint64_t expect[8] = {0};
    for (size_t i = 0; i < st->n; i++)
        expect[qw_shard_of(1, st->frame[i], st->len[i], n, s->share0)]++;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(qw_shards_engine(s, i)->stats.packets, expect[i]);
        if (n > 1 && st->n) assert_true(expect[i] > 0); /* the split is no accident */
    }

    struct outcome o = {0};
    for (unsigned i = 0; i < n; i++) o.probes_left += qw_shards_engine(s, i)->detect.nprobe_log;
    qw_shards_scan_pass(s); /* as the session's commit does after the end */
    struct qw_engine_stats es;
    qw_shards_stats(s, &es);
    struct qw_flow_stats fs;
    struct qw_reasm_stats rs;
    qw_shards_flow_stats(s, &fs, &rs);
    o.packets = es.packets;
    o.alerts = qw_shards_alerts(s);
    o.flows = fs.created;
    o.timed_out = fs.timed_out;
    qw_shards_free(s);
    return o;
}

static void start(struct qw_shards *s, unsigned n, enum qw_feed feed, uint64_t scan_every)
{
    struct qw_engine_config cfg = {0};
    const int ethernet = 1;
    assert_true(qw_shards_init(s, n, &cfg, &ethernet, 1, feed));
    if (scan_every) s->next_scan = s->scan_every = scan_every;
}

/* Pull the stream through n engines with the batch pool's shape (batch_bytes 0: the defaults);
 * `scan_every` 0 leaves the default (no pass before the end on a stream this short). */
static struct outcome run(struct stream *st, unsigned n, size_t batch_bytes, unsigned batch_packets,
                          unsigned slots, unsigned ahead, uint64_t scan_every)
{
    struct qw_shards s;
    start(&s, n, QW_FEED_PULL, scan_every);
    if (batch_bytes) {
        s.batch_bytes = batch_bytes;
        s.batch_packets = batch_packets;
        s.batch_slots = slots;
        s.batch_ahead = ahead;
    }
    st->next = 0;
    st->wipe_at_next = NO_WIPE;
    struct qw_pull pull = {.next = next_frame, .ctx = st};
    if (st->in_place) {
        memcpy(st->live, st->frame, sizeof st->live);
        for (size_t i = 0; i < st->n; i++)
            st->span_sum[i + 1] = st->span_sum[i] + (unstable(st, i) ? 0 : SPAN(st->len[i]));
        st->released = st->held_peak = 0;
        st->held_max = qw_shards_held_max(&s, SPAN(FRAME_LEN));
        pthread_mutex_init(&st->mu, NULL);
        pull.release = release_frames;
    }
    assert_true(qw_shards_run(&s, &pull));
    if (st->in_place) {
        assert_int_equal(st->released, st->n); /* every batch was given back */
        assert_true(st->held_peak <= st->held_max);
        pthread_mutex_destroy(&st->mu);
    }
    return outcome_of(&s, st, n);
}

/* Push the stream through n engines, as live capture does (rings, engine 0 on this thread). */
static struct outcome push(struct stream *st, unsigned n, uint64_t scan_every)
{
    struct qw_shards s;
    start(&s, n, QW_FEED_PUSH, scan_every);
    for (size_t i = 0; i < st->n; i++)
        qw_shards_packet(&s, 0, st->frame[i], st->len[i], st->len[i], st->ts[i]);
    qw_shards_finish(&s);
    return outcome_of(&s, st, n);
}

static void same_as_one(const struct outcome *one, const struct outcome *many)
{
    assert_int_equal(many->packets, one->packets);
    assert_int_equal(many->alerts, one->alerts);
    assert_int_equal(many->flows, one->flows);
    assert_int_equal(many->timed_out, one->timed_out);
}

/* run(...) with these engines and pool, expected to give what one engine gave. */
static struct outcome run_like(const struct outcome *one, struct stream *st, unsigned n,
                               size_t batch_bytes, unsigned batch_packets, unsigned slots,
                               unsigned ahead, uint64_t scan_every)
{
    struct outcome o = run(st, n, batch_bytes, batch_packets, slots, ahead, scan_every);
    same_as_one(one, &o);
    return o;
}

static void test_pulled_batches_match_one_engine(void **state)
{
    (void)state;
    struct stream *st = build_stream();
    struct outcome one = run(st, 1, 0, 0, 0, 0, 0);
    assert_int_equal(one.packets, st->n);
    assert_true(one.alerts > 0);    /* recon.scan on the sweep */
    assert_true(one.timed_out > 0); /* the pairs that fell silent */
    assert_true(one.flows > 40);

    run_like(&one, st, 2, 0, 0, 0, 0, 0);    /* default pool: the stream in a few batches */
    run_like(&one, st, 3, 256, 5, 3, 1, 0);  /* tiny batches over three slots, reading ahead */
    run_like(&one, st, 3, 64, 1, 1, 0, 0);   /* one slot: every engine in step with the reading */
    free(st);
}

static void test_scan_passes_meet_mid_stream(void **state)
{
    (void)state;
    struct stream *st = build_stream();
    /* without a pass before the end, the sweep's probes are still in the engines' logs */
    struct outcome late = run(st, 2, 512, 8, 4, 2, 0);
    assert_true(late.probes_left >= 64);
    /* a pass every 97 packets: the engines meet hundreds of times and the logs are counted
     * as they go, with the finding of one engine */
    struct outcome one = run(st, 1, 0, 0, 0, 0, 97);
    struct outcome two = run_like(&one, st, 2, 512, 8, 4, 2, 97);
    run_like(&one, st, 3, 300, 3, 2, 1, 97);
    assert_true(two.probes_left < 64);
    same_as_one(&late, &two);
    /* pushed through rings, the workers pause for each pass */
    struct outcome pushed = push(st, 3, 97);
    assert_true(pushed.probes_left < 64);
    same_as_one(&one, &pushed);
    free(st);
}

/* Frames offered in place, as a file whose records the reader holds (pcap_reader.h): batches
 * point at them, and the source wipes each one once the pool releases it. An early release
 * would send wiped frames to the engines (their counts and findings would differ); a late or
 * missing one would hold more than the pool says it may, or never reach the end. */
static void test_frames_in_place(void **state)
{
    (void)state;
    struct stream *st = build_stream();
    struct outcome one = run(st, 1, 0, 0, 0, 0, 97);
    st->in_place = true;
    /* tiny batches, few slots: releases and slot reuse hundreds of times; the budget is a few
     * frames' spans, so offers are carried over to the next batch */
    run_like(&one, st, 2, 200, 8, 3, 1, 97);
    run_like(&one, st, 3, 90, 4, 2, 2, 97);
    run_like(&one, st, 2, 10, 8, 2, 1, 97); /* budget below one frame's span: one a batch */
    run_like(&one, st, 2, 0, 0, 0, 0, 97);  /* the default pool */
    free(st);
}

static void test_empty_source(void **state)
{
    (void)state;
    struct stream *st = calloc(1, sizeof *st);
    assert_non_null(st);
    struct outcome o = run(st, 2, 128, 2, 2, 1, 0);
    assert_int_equal(o.packets, 0);
    assert_int_equal(o.flows, 0);
    free(st);
}

/* Started for pulling but never run (the input failed first, or the pool could not be had):
 * stopping must not hang. */
static void test_free_without_run(void **state)
{
    (void)state;
    struct qw_shards s;
    struct qw_engine_config cfg = {0};
    const int ethernet = 1;
    assert_true(qw_shards_init(&s, 3, &cfg, &ethernet, 1, QW_FEED_PULL));
    qw_shards_finish(&s);
    assert_true(s.finished);
    qw_shards_free(&s);
    assert_true(qw_shards_init(&s, 2, &cfg, &ethernet, 1, QW_FEED_PULL));
    qw_shards_free(&s);
    /* a run that cannot have its pool analyses nothing and leaves the workers to be stopped */
    struct stream *st = calloc(1, sizeof *st);
    assert_non_null(st);
    assert_true(qw_shards_init(&s, 2, &cfg, &ethernet, 1, QW_FEED_PULL));
    s.batch_slots = 0;
    struct qw_pull pull = {.next = next_frame, .ctx = st};
    assert_false(qw_shards_run(&s, &pull));
    assert_false(s.finished);
    qw_shards_finish(&s);
    assert_true(s.finished);
    qw_shards_free(&s);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pulled_batches_match_one_engine),
        cmocka_unit_test(test_scan_passes_meet_mid_stream),
        cmocka_unit_test(test_frames_in_place),
        cmocka_unit_test(test_empty_source),
        cmocka_unit_test(test_free_without_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
