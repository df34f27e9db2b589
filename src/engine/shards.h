/* `--workers N`: N engines, engine 0 on the calling thread and one more thread per other engine.
 *
 * Each packet goes to the engine its IP address pair hashes to (decode/shard_key.h): both
 * directions of a flow, the fragments of a datagram and every flow between two hosts meet in one
 * engine, so each engine's flows, parsers and per-flow rules are exactly those of one engine over
 * the whole capture. What crosses engines is merged when they are paused: their observers and
 * findings fold into the store in one transaction (every store upsert is order-independent), and
 * recon.scan, the one rule that counts across flows, runs over every engine's probes at that
 * point.
 *
 * The packets reach the engines in one of two ways, chosen at the start:
 * - pushed (QW_FEED_PUSH, live capture): the capture thread hands each packet over with
 *   qw_shards_packet, through one single-producer single-consumer ring per worker (bytes copied
 *   once, no allocation, no lock on the packet path), and runs a smaller share of the address
 *   space on engine 0 itself, since reading is its work too;
 * - pulled (QW_FEED_PULL, capture files): qw_shards_run reads the source on whichever engine
 *   thread has run out of packets, in batches every engine takes its own share from (shards.c),
 *   so reading is shared out like any other work and the engines split the address space
 *   evenly.
 *
 * With one worker no thread is started: packets go straight to the engine. */
#ifndef QW_ENGINE_SHARDS_H
#define QW_ENGINE_SHARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define QW_WORKERS_MAX 64u
/* Packets between scan passes (qw_shards_packet and qw_shards_run run them): bounds the probe
 * logs on long captures. */
#define QW_SCAN_PASS_PACKETS (1u << 20)

struct qw_worker;

enum qw_feed { QW_FEED_PUSH, QW_FEED_PULL };

/* One packet a pulled source offers (qw_shards_run). Its frame is valid until the next call,
 * or, when `stable`, until the source's `release` has been called with a mark past `mark`. */
struct qw_offer {
    size_t src; /* which source (decoder) */
    const uint8_t *frame;
    uint32_t caplen, wirelen;
    uint64_t ts_ns;
    bool stable;   /* left in place: batches point at it instead of copying it */
    uint32_t span; /* stable: the source's bytes it keeps from reuse (counts toward a batch) */
    uint64_t mark; /* stable: the source's position after it (rising) */
};
/* The next packet of a pulled source into *p: 1, or 0 at the end. Called by one thread at a
 * time (any of the engine threads), never again after it returned 0. */
typedef int (*qw_shards_next_fn)(void *ctx, struct qw_offer *p);

/* A pulled source: `next`, and the hook its stable frames need, if it has any. */
struct qw_pull {
    qw_shards_next_fn next;
    void *ctx;
    /* every stable frame up to `mark` is done with (called in order, by any thread, with the
     * pool locked: it must not call back into it) */
    void (*release)(void *ctx, uint64_t mark);
};

struct qw_shards {
    unsigned n;                 /* workers (engines) */
    size_t nsources;            /* capture sources: each engine has one decoder per source */
    int *linktypes;             /* per source */
    struct qw_worker *w;        /* [n] */
    struct qw_eventlog *logs;   /* [n]: workers' writers onto the shared event log (n > 1) */
    bool threads;               /* n > 1: workers run on their own threads */
    enum qw_feed feed;
    bool paused, finished;
    uint64_t dispatched;        /* packets handed out */
    uint64_t now_ns;            /* newest packet time handed out (each engine's clock) */
    uint32_t share0;            /* engine 0's slice of the 32-bit hash space (see shards.c) */
    uint64_t next_scan;         /* `dispatched` at which the next scan pass is due */
    uint64_t scan_every;        /* packets between scan passes: QW_SCAN_PASS_PACKETS */
    /* pulled feed: the batch pool's shape (defaults in shards.c; tests make them small) */
    size_t batch_bytes;         /* frame bytes a batch takes before it is closed */
    unsigned batch_packets;     /* packets a batch takes at most */
    unsigned batch_slots;       /* batches in the pool: how far one engine may run ahead */
    unsigned batch_ahead;       /* batches a thread reads beyond its own when it can */
    /* pause/finish handshake */
    void *sync;                 /* struct shards_sync (shards.c) */
};

/* Start n engines with `cfg` (its event log, if any, is shared by all of them) over sources of
 * the given link types, fed as `feed` says. False (with nothing left to free) when out of memory
 * or threads. */
bool qw_shards_init(struct qw_shards *s, unsigned n, const struct qw_engine_config *cfg,
                    const int *linktypes, size_t nsources, enum qw_feed feed);
/* Pulled feed: analyse every packet the source gives, then end every flow (as
 * qw_shards_finish); scan passes fall due as with qw_shards_packet. Returns when every engine is
 * done; false (nothing analysed) when the batch pool cannot be had. */
bool qw_shards_run(struct qw_shards *s, const struct qw_pull *src);
/* The most bytes of a pulled source's stable frames (counted by their spans, each at most
 * `span_max`) that qw_shards_run holds at once: what a source must keep in place for it. */
size_t qw_shards_held_max(const struct qw_shards *s, size_t span_max);
/* Pushed feed: one captured frame from source `src`; when a scan pass falls due the workers are
 * paused for it. */
void qw_shards_packet(struct qw_shards *s, size_t src, const uint8_t *frame, uint32_t caplen,
                      uint32_t wirelen, uint64_t ts_ns);
/* Hand the packets held back for batching to the workers now (a live source went quiet). */
void qw_shards_flush(struct qw_shards *s);
/* Wait until every worker has handled all packets handed out so far and stopped; their engines
 * may then be read and cleared. qw_shards_resume lets them go on. */
void qw_shards_pause(struct qw_shards *s);
void qw_shards_resume(struct qw_shards *s);
/* Count the probes of every engine for recon.scan into engine 0 (workers must be paused). */
void qw_shards_scan_pass(struct qw_shards *s);
/* End every flow of every engine (end of capture or of a live run); workers stop. */
void qw_shards_finish(struct qw_shards *s);
void qw_shards_free(struct qw_shards *s);

struct qw_engine *qw_shards_engine(struct qw_shards *s, unsigned i);
const struct qw_decoder *qw_shards_decoder(const struct qw_shards *s, unsigned i, size_t src);

/* Sums over the engines: packets, bytes, times (first min, last max), records, anomalies. */
void qw_shards_stats(const struct qw_shards *s, struct qw_engine_stats *out);
void qw_shards_flow_stats(const struct qw_shards *s, struct qw_flow_stats *flows,
                          struct qw_reasm_stats *reasm);
uint64_t qw_shards_alerts(const struct qw_shards *s);
/* Flush the workers' event-log writers (before the shared file is closed); false on an error. */
bool qw_shards_close_logs(struct qw_shards *s);

#endif
