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

struct shards_sync {
    pthread_mutex_t mu;
    pthread_cond_t arrived_cv, release_cv;
    unsigned arrived;
    uint64_t generation;
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
                    const int *linktypes, size_t nsources)
{
    memset(s, 0, sizeof *s);
    if (n == 0) n = 1;
    if (n > QW_WORKERS_MAX || nsources == 0) return false;
    s->n = n;
    s->nsources = nsources;
    s->threads = n > 1;
    s->next_scan = QW_SCAN_PASS_PACKETS;
    /* Engine 0's share of the address space. The capture thread also reads and hands out every
     * packet (R); with A the whole analysis, the threads finish together when
     * R + s0 A = (1 - s0) A / (n - 1), so s0 = (1 - (n - 1) R/A) / n. Writing the event log
     * makes A about twice as big, so R/A depends on it: measured on the benchmark capture
     * (bench/README.md), two workers do best with a tenth without the event log and a quarter
     * with it. From three workers on engine 0 keeps only the frames without IP. */
    uint64_t slice0 = cfg->events ? (1ull << 32) / 4 : (1ull << 32) / 10;
    s->share0 = n == 2 ? (uint32_t)slice0 : 0;
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
        if (s->threads && i > 0 && !ring_init(&w->ring)) goto fail;
    }
    qw_engine_attach_thread(&s->w[0].engine); /* engine 0 runs on the capture thread */
    for (unsigned i = 1; s->threads && i < n; i++) {
        struct qw_worker *w = &s->w[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) goto fail;
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

void qw_shards_packet(struct qw_shards *s, size_t src, const uint8_t *frame, uint32_t caplen,
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

void qw_shards_flush(struct qw_shards *s)
{
    for (unsigned i = 1; s->threads && i < s->n; i++)
        if (s->w[i].ring.unpublished) ring_publish(&s->w[i].ring);
}

void qw_shards_pause(struct qw_shards *s)
{
    if (!s->threads || s->paused || s->finished) return;
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
    if (s->n == 0) return; /* never started */
    struct qw_detector *all[QW_WORKERS_MAX];
    for (unsigned i = 0; i < s->n; i++) all[i] = &s->w[i].engine.detect;
    qw_detect_scan_pass(all[0], all, s->n);
    s->next_scan = s->dispatched + QW_SCAN_PASS_PACKETS;
}

bool qw_shards_scan_due(const struct qw_shards *s)
{
    return s->dispatched >= s->next_scan;
}

void qw_shards_finish(struct qw_shards *s)
{
    if (s->finished) return;
    if (!s->threads) {
        qw_engine_finish(&s->w[0].engine);
    } else {
        qw_shards_resume(s);
        for (unsigned i = 1; i < s->n; i++) ring_push_control(&s->w[i].ring, REC_FINISH, s->now_ns);
        qw_engine_clock(&s->w[0].engine, s->now_ns);
        qw_engine_finish(&s->w[0].engine); /* while the workers end theirs */
        for (unsigned i = 1; i < s->n; i++) {
            if (!s->w[i].started) continue;
            pthread_join(s->w[i].thread, NULL);
            s->w[i].started = false;
        }
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
    if (s->w && s->threads && !s->finished) {
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
