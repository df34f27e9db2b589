/* `--workers N`: N engines, engine 0 on the capture thread and one more thread per other engine.
 *
 * The capture thread reads packets and hands each to the engine its IP address pair hashes to
 * (decode/shard_key.h), running engine 0's share itself (a smaller one, since reading is its
 * work too: N threads keep N cores busy, none left idle waiting on a reader): both directions of a flow, the fragments of a datagram and every flow
 * between two hosts meet in one engine, so each engine's flows, parsers and per-flow rules are
 * exactly those of one engine over the whole capture. Packets travel through one single-producer
 * single-consumer ring per worker (bytes copied once, no allocation, no lock on the packet path).
 * What crosses engines is merged when the workers are paused: their observers and findings fold
 * into the store in one transaction (every store upsert is order-independent), and recon.scan,
 * the one rule that counts across flows, runs over every engine's probes at that point.
 *
 * With one worker no thread is started: packets go straight to the engine, as before. */
#ifndef QW_ENGINE_SHARDS_H
#define QW_ENGINE_SHARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define QW_WORKERS_MAX 64u
/* Packets between scan passes (qw_shards_scan_due): bounds the probe logs on long captures. */
#define QW_SCAN_PASS_PACKETS (1u << 20)

struct qw_worker;

struct qw_shards {
    unsigned n;                 /* workers (engines) */
    size_t nsources;            /* capture sources: each engine has one decoder per source */
    int *linktypes;             /* per source */
    struct qw_worker *w;        /* [n] */
    struct qw_eventlog *logs;   /* [n]: workers' writers onto the shared event log (n > 1) */
    bool threads;               /* n > 1: workers run on their own threads */
    bool paused, finished;
    uint64_t dispatched;        /* packets handed out */
    uint64_t now_ns;            /* newest packet time handed out (each engine's clock) */
    uint32_t share0;            /* engine 0's slice of the 32-bit hash space (see shards.c) */
    uint64_t next_scan;         /* `dispatched` at which the next scan pass is due */
    /* pause/finish handshake */
    void *sync;                 /* struct shards_sync (shards.c) */
};

/* Start n engines with `cfg` (its event log, if any, is shared by all of them) over sources of
 * the given link types. False (with nothing left to free) when out of memory or threads. */
bool qw_shards_init(struct qw_shards *s, unsigned n, const struct qw_engine_config *cfg,
                    const int *linktypes, size_t nsources);
/* One captured frame from source `src`. */
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
/* Is a scan pass due (every QW_SCAN_PASS_PACKETS packets)? */
bool qw_shards_scan_due(const struct qw_shards *s);
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
