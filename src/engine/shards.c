#include "engine/shards.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/shard_key.h"
#include "detect/detect.h"
#include "util/counters.h"

/* ---- the ring: one producer (capture thread), one consumer (a worker) ------------------------
 *
 * Records are laid end to end in a power-of-two byte buffer: a header, then the frame's bytes,
 * padded to 8. A record never wraps: when it does not fit before the end, the producer marks the
 * rest of the buffer as padding (or leaves fewer than a header's bytes, which the consumer skips
 * on its own). Positions only grow; `pos & mask` is the offset. The producer publishes its
 * position every PUBLISH_EVERY records and whenever it must wait, so the two cores share one
 * cache line per batch, not per packet. An empty or full ring makes its side spin briefly, then
 * sleep on a condition variable the other side signals only when it sees the sleeper's flag. */

#define RING_BYTES (8u << 20)
#define PUBLISH_EVERY 128u
#define SPINS 2000

enum rec_kind { REC_PACKET = 1, REC_PAD, REC_PAUSE, REC_FINISH };

struct rec_hdr {
    uint32_t kind;
    uint32_t src;
    uint32_t caplen, wirelen;
    uint64_t ts_ns;
    uint64_t now_ns; /* the newest packet time handed out so far: the capture's clock */
};

#define HDR_BYTES ((size_t)sizeof(struct rec_hdr))

struct ring {
    uint8_t *buf;
    size_t cap, mask;
    _Atomic size_t tail; /* published by the producer */
    _Atomic size_t head; /* published by the consumer */
    _Atomic int consumer_sleeping, producer_sleeping;
    pthread_mutex_t mu;
    pthread_cond_t data, room;
    /* producer side only */
    size_t ptail, known_head;
    unsigned unpublished;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static bool ring_init(struct ring *r)
{
    memset(r, 0, sizeof *r);
    r->buf = malloc(RING_BYTES);
    if (!r->buf) return false;
    r->cap = RING_BYTES;
    r->mask = RING_BYTES - 1;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->consumer_sleeping, 0);
    atomic_init(&r->producer_sleeping, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->data, NULL);
    pthread_cond_init(&r->room, NULL);
    return true;
}

static void ring_free(struct ring *r)
{
    if (!r->buf) return;
    free(r->buf);
    r->buf = NULL;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->data);
    pthread_cond_destroy(&r->room);
}

static void ring_publish(struct ring *r)
{
    r->unpublished = 0;
    atomic_store(&r->tail, r->ptail); /* sequentially consistent: pairs with the sleeper's flag */
    if (atomic_load(&r->consumer_sleeping)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_signal(&r->data);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Wait until `need` bytes are free after the producer's position. */
static void ring_wait_room(struct ring *r, size_t need)
{
    if (r->ptail - r->known_head + need <= r->cap) return;
    ring_publish(r); /* the consumer may be waiting for what we hold back */
    for (int i = 0; i < SPINS; i++) {
        r->known_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (r->ptail - r->known_head + need <= r->cap) return;
        cpu_relax();
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->producer_sleeping, 1);
    for (;;) {
        r->known_head = atomic_load(&r->head);
        if (r->ptail - r->known_head + need <= r->cap) break;
        pthread_cond_wait(&r->room, &r->mu);
    }
    atomic_store(&r->producer_sleeping, 0);
    pthread_mutex_unlock(&r->mu);
}

/* Reserve a contiguous record of `len` payload bytes; returns where its header goes. */
static uint8_t *ring_reserve(struct ring *r, size_t len, size_t *total)
{
    size_t t = (HDR_BYTES + len + 7) & ~(size_t)7;
    size_t off = r->ptail & r->mask, rem = r->cap - off;
    size_t need = t <= rem ? t : rem + t;
    ring_wait_room(r, need);
    if (t > rem) {
        if (rem >= HDR_BYTES) {
            struct rec_hdr pad = {.kind = REC_PAD};
            memcpy(r->buf + off, &pad, sizeof pad);
        }
        r->ptail += rem;
    }
    *total = t;
    return r->buf + (r->ptail & r->mask);
}

static void ring_commit(struct ring *r, size_t total, bool publish_now)
{
    r->ptail += total;
    if (publish_now || ++r->unpublished >= PUBLISH_EVERY) ring_publish(r);
}

static void ring_push_control(struct ring *r, enum rec_kind kind, uint64_t now_ns)
{
    size_t total;
    uint8_t *at = ring_reserve(r, 0, &total);
    struct rec_hdr h = {.kind = (uint32_t)kind, .now_ns = now_ns};
    memcpy(at, &h, sizeof h);
    ring_commit(r, total, true);
}

/* ---- workers ------------------------------------------------------------------------------- */

struct qw_worker {
    struct qw_engine engine;
    struct qw_decoder *dec; /* one per source: link types differ, fragments are per engine */
    struct ring ring;
    pthread_t thread;
    bool started, engine_ok;
    unsigned index;
    struct qw_shards *owner;
};

struct batch_pool;

struct shards_sync {
    pthread_mutex_t mu;
    pthread_cond_t arrived_cv, release_cv;
    unsigned arrived;
    uint64_t generation;
    /* pulled feed: the workers wait here for qw_shards_run's pool, or for the word to quit */
    struct batch_pool *pool;
    bool quit;
};

static void worker_pause(struct qw_worker *w)
{
    struct shards_sync *y = w->owner->sync;
    pthread_mutex_lock(&y->mu);
    uint64_t gen = y->generation;
    y->arrived++;
    pthread_cond_signal(&y->arrived_cv);
    while (y->generation == gen) pthread_cond_wait(&y->release_cv, &y->mu);
    pthread_mutex_unlock(&y->mu);
}

/* Wait for records beyond `pos`; returns the producer's published position. */
static size_t worker_wait_data(struct ring *r, size_t pos)
{
    for (int i = 0; i < SPINS; i++) {
        size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (t != pos) return t;
        cpu_relax();
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->consumer_sleeping, 1);
    size_t t;
    while ((t = atomic_load(&r->tail)) == pos) pthread_cond_wait(&r->data, &r->mu);
    atomic_store(&r->consumer_sleeping, 0);
    pthread_mutex_unlock(&r->mu);
    return t;
}

static void worker_release(struct ring *r, size_t pos)
{
    atomic_store(&r->head, pos);
    if (atomic_load(&r->producer_sleeping)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_signal(&r->room);
        pthread_mutex_unlock(&r->mu);
    }
}

static void *worker_main(void *arg)
{
    struct qw_worker *w = arg;
    struct ring *r = &w->ring;
    size_t pos = 0;
    qw_engine_attach_thread(&w->engine);
    for (;;) {
        size_t end = worker_wait_data(r, pos);
        while (pos != end) {
            size_t off = pos & r->mask, rem = r->cap - off;
            if (rem < HDR_BYTES) {
                pos += rem;
                continue;
            }
            struct rec_hdr h;
            memcpy(&h, r->buf + off, sizeof h);
            if (h.kind == REC_PAD) {
                pos += rem;
                continue;
            }
            size_t total = (HDR_BYTES + h.caplen + 7) & ~(size_t)7;
            qw_engine_clock(&w->engine, h.now_ns);
            if (h.kind == REC_PACKET) {
                qw_engine_packet(&w->engine, &w->dec[h.src], r->buf + off + HDR_BYTES, h.caplen,
                                 h.wirelen, h.ts_ns);
                pos += total;
                continue;
            }
            pos += total;
            worker_release(r, pos);
            if (h.kind == REC_PAUSE) {
                worker_pause(w);
            } else { /* REC_FINISH */
                qw_engine_finish(&w->engine);
                return NULL;
            }
        }
        worker_release(r, pos);
    }
}

/* Wait for every worker thread to return. */
static void join_workers(struct qw_shards *s)
{
    for (unsigned i = 1; i < s->n; i++) {
        if (!s->w[i].started) continue;
        pthread_join(s->w[i].thread, NULL);
        s->w[i].started = false;
    }
}

/* Tell workers still waiting for qw_shards_run's batches to quit, and join them. */
static void stop_batch_workers(struct qw_shards *s)
{
    struct shards_sync *y = s->sync;
    pthread_mutex_lock(&y->mu);
    y->quit = true;
    pthread_cond_broadcast(&y->release_cv);
    pthread_mutex_unlock(&y->mu);
    join_workers(s);
}

/* recon.scan over every engine's probes, counted into engine 0's (every engine stopped). */
static void scan_pass_engines(struct qw_shards *s)
{
    if (s->n == 0 || s->n > QW_WORKERS_MAX) return; /* never started */
    struct qw_detector *all[QW_WORKERS_MAX];
    for (unsigned i = 0; i < s->n; i++) all[i] = &s->w[i].engine.detect;
    qw_detect_scan_pass(all[0], all, s->n);
}

/* ---- the pulled feed: reading shared by every engine thread -----------------------------------
 *
 * Reading a capture file is work like any other, so it is not tied to one thread: packets go in
 * batches into a pool of slots (copied, or pointed at where a source that holds its records in
 * place read them: qw_offer.stable), and the engine thread that runs out of packets reads
 * the next batch, for every engine. A batch lists each engine's packets in capture order; every
 * engine takes its own from every batch, in order, and a slot is filled again once every engine
 * is done with it. So the thread that is ahead does the reading, which evens out the engines'
 * uneven shares of the traffic as long as the pool holds the difference. Per-engine lists keep
 * an engine to its own packets' entries, and threads read a few batches ahead while they can,
 * so one that catches up with the reading does not wait on every batch (both measured:
 * bench/README.md). A batch ends at a scan pass, and the engines meet there to run it as they
 * would at a pause. */

#define BATCH_BYTES_DEFAULT (256u << 10)
#define BATCH_PACKETS_DEFAULT 4096u
#define BATCH_SLOTS_DEFAULT 32u
/* Batches a thread reads beyond its own before going on (when no one else is reading): without
 * them an engine that catches up with the reading waits for each batch as it is read. */
#define BATCH_AHEAD_DEFAULT 16u
/* A pulled frame longer than this is cut to it, with one engine as with several (libpcap hands
 * out no longer frame for a link type quaywatch decodes). */
#define FRAME_MAX 262144u

struct batch_pkt {
    const uint8_t *frame; /* in the batch's bytes, or in place in the source (stable) */
    uint32_t caplen, wirelen, src;
    uint64_t ts_ns;
    uint64_t now_ns; /* the capture's clock at it: the newest time read so far */
};

struct batch {
    uint8_t *bytes;
    struct batch_pkt *pkts; /* engine i's packets from pkts + i * batch_packets */
    uint32_t *npkts;        /* [engine] */
    uint32_t total;
    bool scan_after, last;
    uint64_t end_ns; /* the capture's clock after it */
    uint64_t mark;   /* the source's mark after its last stable frame, or 0 */
    /* under the pool's mutex */
    uint64_t published; /* the batch's sequence number + 1 once filled */
    unsigned pending;   /* engines not yet done with it */
};

struct batch_pool {
    struct qw_shards *s;
    struct qw_pull src;
    struct batch *slot;
    unsigned nslots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t filled; /* batches filled so far (under mu) */
    bool filling;    /* a thread is reading (under mu) */
    bool ended;      /* the source said it had no more (the reading thread's) */
    /* the reading thread's: an offer that would have taken its batch past its budget, kept for
     * the next (still valid: the source has not been called since) */
    struct qw_offer carried;
    bool have_carried;
    /* the engines' meeting after a batch that ends at a scan pass (under mu) */
    unsigned at_scan;
    uint64_t scan_gen;
};

/* Read the next batch into `b` (one thread at a time: the pool's `filling` flag). A batch takes
 * frames until their bytes (copies, or the spans of the stable frames it points at) reach the
 * budget; an offer that would go past it starts the next batch instead, so a batch never holds
 * more than the budget or one frame of the source's bytes (qw_shards_held_max). */
static void batch_fill(struct batch_pool *p, struct batch *b)
{
    struct qw_shards *s = p->s;
    size_t used = 0, copied = 0;
    memset(b->npkts, 0, s->n * sizeof *b->npkts);
    b->total = 0;
    b->mark = 0;
    b->scan_after = false;
    b->last = p->ended && !p->have_carried;
    while (!b->last && b->total < s->batch_packets) {
        struct qw_offer o;
        if (p->have_carried) {
            o = p->carried;
            p->have_carried = false;
        } else if (p->src.next(p->src.ctx, &o) <= 0) {
            p->ended = b->last = true;
            break;
        }
        uint32_t caplen = o.caplen > FRAME_MAX ? FRAME_MAX : o.caplen;
        size_t copy = ((size_t)caplen + 7) & ~(size_t)7; /* a copy's room, 8-byte aligned */
        size_t cost = o.stable ? o.span : copy;
        if (b->total > 0 && used + cost > s->batch_bytes) {
            p->carried = o;
            p->have_carried = true;
            break;
        }
        unsigned e = qw_shard_of(s->linktypes[o.src], o.frame, caplen, s->n, s->share0);
        if (o.ts_ns > s->now_ns) s->now_ns = o.ts_ns;
        const uint8_t *frame = o.frame;
        if (o.stable) {
            b->mark = o.mark;
        } else {
            memcpy(b->bytes + copied, o.frame, caplen);
            frame = b->bytes + copied;
            copied += copy;
        }
        used += cost;
        b->pkts[(size_t)e * s->batch_packets + b->npkts[e]++] =
            (struct batch_pkt){.frame = frame,
                               .caplen = caplen,
                               .wirelen = o.wirelen,
                               .src = (uint32_t)o.src,
                               .ts_ns = o.ts_ns,
                               .now_ns = s->now_ns};
        b->total++;
        if (++s->dispatched >= s->next_scan) {
            b->scan_after = true;
            s->next_scan = s->dispatched + s->scan_every;
        }
        if (b->scan_after || used >= s->batch_bytes) break;
    }
    b->end_ns = s->now_ns;
}

/* Fill batch k into its free slot b and publish it (entered and left holding p->mu). */
static void fill_locked(struct batch_pool *p, struct batch *b, uint64_t k)
{
    p->filling = true;
    pthread_mutex_unlock(&p->mu);
    batch_fill(p, b);
    pthread_mutex_lock(&p->mu);
    p->filling = false;
    p->filled = k + 1;
    b->published = k + 1;
    b->pending = p->s->n;
    pthread_cond_broadcast(&p->cv);
}

/* The batch with sequence number k, once it is there: read by this thread when it is the next
 * to read, its slot is free and no other thread is reading. */
static struct batch *batch_get(struct batch_pool *p, uint64_t k)
{
    struct batch *b = &p->slot[k % p->nslots];
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (b->published == k + 1) break;
        if (!p->filling && p->filled == k && b->pending == 0) {
            fill_locked(p, b, k);
            break;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

/* After batch k: keep batch_ahead more read, when no one else is reading and there is room. */
static void batch_read_ahead(struct batch_pool *p, uint64_t k)
{
    pthread_mutex_lock(&p->mu);
    while (!p->filling && !p->ended && p->filled <= k + p->s->batch_ahead) {
        struct batch *b = &p->slot[p->filled % p->nslots];
        if (b->pending != 0) break;
        fill_locked(p, b, p->filled);
    }
    pthread_mutex_unlock(&p->mu);
}

static void batch_done(struct batch_pool *p, struct batch *b)
{
    pthread_mutex_lock(&p->mu);
    if (--b->pending == 0) {
        /* every engine is past it: the source may reuse what its frames point at, before the
         * slot is filled again (so the source never holds more than qw_shards_held_max) */
        if (b->mark && p->src.release) p->src.release(p->src.ctx, b->mark);
        pthread_cond_broadcast(&p->cv); /* a reader may wait for the slot */
    }
    pthread_mutex_unlock(&p->mu);
}

/* Every engine has handled every packet up to a scan pass: engine 0's thread runs it while the
 * others wait, as at a pause. */
static void batch_scan_meet(struct batch_pool *p, unsigned me)
{
    struct qw_shards *s = p->s;
    pthread_mutex_lock(&p->mu);
    if (me != 0) {
        uint64_t gen = p->scan_gen;
        p->at_scan++;
        pthread_cond_broadcast(&p->cv);
        while (p->scan_gen == gen) pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    while (p->at_scan < s->n - 1) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    scan_pass_engines(s); /* the reading, maybe ahead of here, keeps its own schedule */
    pthread_mutex_lock(&p->mu);
    p->at_scan = 0;
    p->scan_gen++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* One engine's run over every batch: its own packets, each after the clock of the capture so
 * far (the newest time of every engine's packets up to it, as the rings carry it), then the end
 * of every flow. */
static void batch_engine_run(struct batch_pool *p, unsigned me)
{
    struct qw_worker *w = &p->s->w[me];
    uint64_t clock = 0;
    for (uint64_t k = 0;; k++) {
        struct batch *b = batch_get(p, k);
        const struct batch_pkt *mine = b->pkts + (size_t)me * p->s->batch_packets;
        for (uint32_t i = 0; i < b->npkts[me]; i++) {
            const struct batch_pkt *d = &mine[i];
            qw_engine_clock(&w->engine, d->now_ns);
            qw_engine_packet(&w->engine, &w->dec[d->src], d->frame, d->caplen, d->wirelen,
                             d->ts_ns);
        }
        bool scan = b->scan_after, last = b->last;
        clock = b->end_ns;
        batch_done(p, b);
        if (!last && !scan) batch_read_ahead(p, k);
        if (scan) batch_scan_meet(p, me);
        if (last) break;
    }
    qw_engine_clock(&w->engine, clock);
    qw_engine_finish(&w->engine);
}

static void *batch_worker_main(void *arg)
{
    struct qw_worker *w = arg;
    struct shards_sync *y = w->owner->sync;
    qw_engine_attach_thread(&w->engine);
    pthread_mutex_lock(&y->mu);
    while (!y->pool && !y->quit) pthread_cond_wait(&y->release_cv, &y->mu);
    struct batch_pool *p = y->quit ? NULL : y->pool;
    pthread_mutex_unlock(&y->mu);
    if (p) batch_engine_run(p, w->index);
    return NULL;
}

static void batch_pool_free(struct batch_pool *p)
{
    for (unsigned i = 0; p->slot && i < p->nslots; i++) {
        free(p->slot[i].bytes);
        free(p->slot[i].pkts);
        free(p->slot[i].npkts);
    }
    free(p->slot);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static bool batch_pool_init(struct batch_pool *p, struct qw_shards *s)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (s->batch_bytes == 0 || s->batch_packets == 0 || s->batch_slots == 0) return false;
    p->nslots = s->batch_slots;
    p->slot = calloc(p->nslots, sizeof *p->slot);
    if (!p->slot) return false;
    for (unsigned i = 0; i < p->nslots; i++) {
        /* copies stay within the budget, or are one frame (batch_fill) */
        p->slot[i].bytes = malloc((s->batch_bytes > FRAME_MAX ? s->batch_bytes : FRAME_MAX) + 8);
        p->slot[i].pkts = malloc((size_t)s->n * s->batch_packets * sizeof *p->slot[i].pkts);
        p->slot[i].npkts = calloc(s->n, sizeof *p->slot[i].npkts);
        if (!p->slot[i].bytes || !p->slot[i].pkts || !p->slot[i].npkts) return false;
    }
    return true;
}

/* One engine, no thread: the packets straight to it. */
static void run_single(struct qw_shards *s, const struct qw_pull *src)
{
    struct qw_offer o;
    while (src->next(src->ctx, &o) > 0)
        qw_shards_packet(s, o.src, o.frame, o.caplen > FRAME_MAX ? FRAME_MAX : o.caplen,
                         o.wirelen, o.ts_ns);
    qw_engine_finish(&s->w[0].engine);
}

size_t qw_shards_held_max(const struct qw_shards *s, size_t span_max)
{
    /* each slot's batch (its budget, or one frame past it), and the offer carried over */
    return (size_t)s->batch_slots * (s->batch_bytes > span_max ? s->batch_bytes : span_max) +
           span_max;
}

bool qw_shards_run(struct qw_shards *s, const struct qw_pull *src)
{
    if (s->feed != QW_FEED_PULL || s->finished) return false;
    if (s->n == 1) {
        run_single(s, src);
        s->finished = true;
        return true;
    }
    struct batch_pool p;
    if (!batch_pool_init(&p, s)) {
        batch_pool_free(&p);
        return false; /* the workers stay waiting: qw_shards_finish or _free stops them */
    }
    p.src = *src;
    struct shards_sync *y = s->sync;
    pthread_mutex_lock(&y->mu);
    y->pool = &p;
    pthread_cond_broadcast(&y->release_cv);
    pthread_mutex_unlock(&y->mu);
    batch_engine_run(&p, 0);
    join_workers(s);
    y->pool = NULL;
    batch_pool_free(&p);
    s->finished = true;
    return true;
}

/* ---- the set ------------------------------------------------------------------------------- */

struct qw_engine *qw_shards_engine(struct qw_shards *s, unsigned i)
{
    return &s->w[i].engine;
}

const struct qw_decoder *qw_shards_decoder(const struct qw_shards *s, unsigned i, size_t src)
{
    return &s->w[i].dec[src];
}

static uint64_t share(uint64_t total, unsigned n)
{
    return total ? (total + n - 1) / n : 0;
}

bool qw_shards_init(struct qw_shards *s, unsigned n, const struct qw_engine_config *cfg,
                    const int *linktypes, size_t nsources, enum qw_feed feed)
{
    memset(s, 0, sizeof *s);
    if (n == 0) n = 1;
    if (n > QW_WORKERS_MAX || nsources == 0) return false;
    s->n = n;
    s->nsources = nsources;
    s->threads = n > 1;
    s->feed = feed;
    s->scan_every = QW_SCAN_PASS_PACKETS;
    s->next_scan = s->scan_every;
    s->batch_bytes = BATCH_BYTES_DEFAULT;
    s->batch_packets = BATCH_PACKETS_DEFAULT;
    s->batch_slots = BATCH_SLOTS_DEFAULT;
    s->batch_ahead = BATCH_AHEAD_DEFAULT;
    if (feed == QW_FEED_PULL) {
        /* every thread reads its turn: equal slices */
        s->share0 = (uint32_t)((1ull << 32) / n);
    } else {
        /* Engine 0's share of the address space. The capture thread also reads and hands out
         * every packet (R); with A the whole analysis, the threads finish together when
         * R + s0 A = (1 - s0) A / (n - 1), so s0 = (1 - (n - 1) R/A) / n. Writing the event
         * log makes A about twice as big, so R/A depends on it: measured on the benchmark
         * capture (bench/README.md), two workers do best with a tenth without the event log
         * and a quarter with it. From three workers on engine 0 keeps only the frames without
         * IP. */
        uint64_t slice0 = cfg->events ? (1ull << 32) / 4 : (1ull << 32) / 10;
        s->share0 = n == 2 ? (uint32_t)slice0 : 0;
    }
    s->linktypes = malloc(nsources * sizeof *s->linktypes);
    s->w = calloc(n, sizeof *s->w);
    struct shards_sync *y = calloc(1, sizeof *y);
    s->sync = y;
    if (!s->linktypes || !s->w || !y) goto fail;
    memcpy(s->linktypes, linktypes, nsources * sizeof *s->linktypes);
    pthread_mutex_init(&y->mu, NULL);
    pthread_cond_init(&y->arrived_cv, NULL);
    pthread_cond_init(&y->release_cv, NULL);
    if (s->threads && cfg->events) {
        s->logs = calloc(n, sizeof *s->logs);
        if (!s->logs) goto fail;
        for (unsigned i = 0; i < n; i++)
            if (!qw_eventlog_open_shared(&s->logs[i], cfg->events)) goto fail;
    }
    for (unsigned i = 0; i < n; i++) {
        struct qw_worker *w = &s->w[i];
        w->index = i;
        w->owner = s;
        struct qw_engine_config c = *cfg;
        if (s->logs) c.events = &s->logs[i];
        /* the caps bound the whole sensor: each engine holds its share */
        c.flow_cap = (uint32_t)share(cfg->flow_cap ? cfg->flow_cap : QW_FLOW_CAP_DEFAULT, n);
        if (c.flow_cap < 1024) c.flow_cap = 1024;
        c.reasm_memcap = (size_t)share(cfg->reasm_memcap ? cfg->reasm_memcap
                                                         : QW_REASM_MEMCAP_DEFAULT, n);
        c.app_memcap = (size_t)share(cfg->app_memcap ? cfg->app_memcap : QW_APP_MEMCAP_DEFAULT, n);
        w->dec = calloc(nsources, sizeof *w->dec);
        if (!w->dec) goto fail;
        for (size_t k = 0; k < nsources; k++) qw_decoder_init(&w->dec[k], linktypes[k]);
        if (!qw_engine_init(&w->engine, &c)) goto fail;
        w->engine_ok = true;
        for (size_t k = 0; k < nsources; k++) qw_engine_setup_decoder(&w->engine, &w->dec[k]);
        if (s->threads && feed == QW_FEED_PUSH && i > 0 && !ring_init(&w->ring)) goto fail;
    }
    qw_engine_attach_thread(&s->w[0].engine); /* engine 0 runs on the capture thread */
    for (unsigned i = 1; s->threads && i < n; i++) {
        struct qw_worker *w = &s->w[i];
        if (pthread_create(&w->thread, NULL, feed == QW_FEED_PUSH ? worker_main : batch_worker_main,
                           w) != 0)
            goto fail;
        w->started = true;
        char name[16];
        snprintf(name, sizeof name, "qw-worker-%hhu", (unsigned char)i);
        pthread_setname_np(w->thread, name);
    }
    return true;
fail:
    qw_shards_free(s);
    return false;
}

/* One frame to its engine: straight to engine 0 on this thread, or through a worker's ring. */
static void hand_out(struct qw_shards *s, size_t src, const uint8_t *frame, uint32_t caplen,
                     uint32_t wirelen, uint64_t ts_ns)
{
    s->dispatched++;
    if (ts_ns > s->now_ns) s->now_ns = ts_ns;
    if (!s->threads) {
        qw_engine_packet(&s->w[0].engine, &s->w[0].dec[src], frame, caplen, wirelen, ts_ns);
        return;
    }
    unsigned i = qw_shard_of(s->linktypes[src], frame, caplen, s->n, s->share0);
    if (i == 0) { /* the capture thread's own engine */
        qw_engine_clock(&s->w[0].engine, s->now_ns);
        qw_engine_packet(&s->w[0].engine, &s->w[0].dec[src], frame, caplen, wirelen, ts_ns);
        return;
    }
    struct ring *r = &s->w[i].ring;
    size_t total;
    uint8_t *at = ring_reserve(r, caplen, &total);
    struct rec_hdr h = {REC_PACKET, (uint32_t)src, caplen, wirelen, ts_ns, s->now_ns};
    memcpy(at, &h, sizeof h);
    memcpy(at + HDR_BYTES, frame, caplen);
    ring_commit(r, total, false);
}

void qw_shards_packet(struct qw_shards *s, size_t src, const uint8_t *frame, uint32_t caplen,
                      uint32_t wirelen, uint64_t ts_ns)
{
    hand_out(s, src, frame, caplen, wirelen, ts_ns);
    if (s->dispatched >= s->next_scan) { /* recon.scan counts across engines: see shards.h */
        qw_shards_pause(s);
        qw_shards_scan_pass(s);
        qw_shards_resume(s);
    }
}

/* Workers fed through rings (not by qw_shards_run's batches). */
static bool pushing(const struct qw_shards *s)
{
    return s->threads && s->feed == QW_FEED_PUSH;
}

void qw_shards_flush(struct qw_shards *s)
{
    for (unsigned i = 1; pushing(s) && i < s->n; i++)
        if (s->w[i].ring.unpublished) ring_publish(&s->w[i].ring);
}

void qw_shards_pause(struct qw_shards *s)
{
    if (!pushing(s) || s->paused || s->finished) return;
    for (unsigned i = 1; i < s->n; i++) ring_push_control(&s->w[i].ring, REC_PAUSE, s->now_ns);
    struct shards_sync *y = s->sync;
    pthread_mutex_lock(&y->mu);
    while (y->arrived < s->n - 1) pthread_cond_wait(&y->arrived_cv, &y->mu);
    pthread_mutex_unlock(&y->mu);
    s->paused = true;
}

void qw_shards_resume(struct qw_shards *s)
{
    if (!s->paused) return;
    struct shards_sync *y = s->sync;
    pthread_mutex_lock(&y->mu);
    y->arrived = 0;
    y->generation++;
    pthread_cond_broadcast(&y->release_cv);
    pthread_mutex_unlock(&y->mu);
    s->paused = false;
}

void qw_shards_scan_pass(struct qw_shards *s)
{
    scan_pass_engines(s);
    s->next_scan = s->dispatched + s->scan_every;
}

void qw_shards_finish(struct qw_shards *s)
{
    if (s->finished) return;
    if (!s->threads) {
        qw_engine_finish(&s->w[0].engine);
    } else if (s->feed == QW_FEED_PULL) { /* qw_shards_run never ran: no engine saw a packet */
        stop_batch_workers(s);
        for (unsigned i = 0; i < s->n; i++) qw_engine_finish(&s->w[i].engine);
    } else {
        qw_shards_resume(s);
        for (unsigned i = 1; i < s->n; i++) ring_push_control(&s->w[i].ring, REC_FINISH, s->now_ns);
        qw_engine_clock(&s->w[0].engine, s->now_ns);
        qw_engine_finish(&s->w[0].engine); /* while the workers end theirs */
        join_workers(s);
    }
    s->finished = true;
}

bool qw_shards_close_logs(struct qw_shards *s)
{
    bool ok = true;
    for (unsigned i = 0; s->logs && i < s->n; i++)
        if (s->logs[i].fp && !qw_eventlog_close(&s->logs[i])) ok = false;
    return ok;
}

void qw_shards_free(struct qw_shards *s)
{
    if (s->feed == QW_FEED_PULL) {
        /* those qw_shards_run did not take (nothing left to join after it) */
        if (s->w && s->threads && s->sync) stop_batch_workers(s);
    } else if (s->w && s->threads && !s->finished) {
        /* workers still running (failed start or early exit): stop them without analysis */
        for (unsigned i = 0; i < s->n; i++) {
            if (!s->w[i].started) continue;
            qw_shards_resume(s);
            ring_push_control(&s->w[i].ring, REC_FINISH, s->now_ns);
            pthread_join(s->w[i].thread, NULL);
            s->w[i].started = false;
        }
    }
    for (unsigned i = 0; s->w && i < s->n; i++) {
        struct qw_worker *w = &s->w[i];
        if (w->engine_ok) qw_engine_free(&w->engine);
        for (size_t k = 0; w->dec && k < s->nsources; k++) qw_decoder_free(&w->dec[k]);
        free(w->dec);
        ring_free(&w->ring);
    }
    qw_shards_close_logs(s);
    free(s->logs);
    free(s->w);
    free(s->linktypes);
    struct shards_sync *y = s->sync;
    if (y) {
        pthread_mutex_destroy(&y->mu);
        pthread_cond_destroy(&y->arrived_cv);
        pthread_cond_destroy(&y->release_cv);
        free(y);
    }
    memset(s, 0, sizeof *s);
}

void qw_shards_stats(const struct qw_shards *s, struct qw_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < s->n; i++) {
        const struct qw_engine_stats *e = &s->w[i].engine.stats;
        out->packets += e->packets;
        out->bytes += e->bytes;
        out->no_flow += e->no_flow;
        out->records += e->records;
        out->anomalies += e->anomalies;
        if (e->first_ns && (!out->first_ns || e->first_ns < out->first_ns))
            out->first_ns = e->first_ns;
        if (e->last_ns > out->last_ns) out->last_ns = e->last_ns;
    }
}

void qw_shards_flow_stats(const struct qw_shards *s, struct qw_flow_stats *flows,
                          struct qw_reasm_stats *reasm)
{
    memset(flows, 0, sizeof *flows);
    memset(reasm, 0, sizeof *reasm);
    /* every field summed; the peaks so become upper bounds (engines peak at other times) */
    for (unsigned i = 0; i < s->n; i++) {
        qw_counters_add(flows, &s->w[i].engine.flows.stats, sizeof *flows);
        qw_counters_add(reasm, &s->w[i].engine.reasm.stats, sizeof *reasm);
    }
}

uint64_t qw_shards_alerts(const struct qw_shards *s)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < s->n; i++) n += s->w[i].engine.detect.alerts;
    return n;
}
