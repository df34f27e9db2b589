/* TCP stream reassembly, per direction.
 *
 * In-order payload is handed on straight from the packet (no copy). Segments that arrive ahead
 * of the next expected byte are copied into a bounded queue and released when the hole fills.
 * Retransmitted bytes are dropped; for overlapping bytes the first copy wins (a later segment
 * cannot rewrite what a parser already saw). A hole is declared a gap -- reported, counted, and
 * skipped so the parser resynchronises -- when
 *   - the peer acknowledges bytes past the hole (the capture lost them: they will not come), or
 *   - the queue passes its per-direction or global limits, or
 *   - the flow ends with segments still queued.
 * A direction picked up mid-stream starts at the first sequence number seen. */
#ifndef QW_FLOW_REASM_H
#define QW_FLOW_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"
#include "flow/flow.h"

#define QW_REASM_WINDOW (1u << 20)          /* farthest ahead a segment may be queued (bytes) */
#define QW_REASM_DIR_MAX_BYTES (256u * 1024) /* queued out-of-order bytes per direction */
#define QW_REASM_DIR_MAX_SEGS 512u           /* queued out-of-order segments per direction */
#define QW_REASM_MEMCAP_DEFAULT (64u << 20)  /* queued bytes across all flows */

struct qw_reasm_ops {
    void (*data)(void *user, struct qw_flow *f, enum qw_dir dir, const uint8_t *data, size_t len,
                 uint64_t ts_ns);
    void (*gap)(void *user, struct qw_flow *f, enum qw_dir dir, uint64_t bytes, uint64_t ts_ns);
};

struct qw_reasm_stats {
    uint64_t segments, in_order, retransmitted, overlaps, queued, gaps, gap_bytes, memcap_hits;
    size_t mem_in_use, mem_peak;
};

struct qw_reasm {
    struct qw_reasm_ops ops;
    void *user;
    size_t memcap;
    struct qw_reasm_stats stats;
};

void qw_reasm_init(struct qw_reasm *r, const struct qw_reasm_ops *ops, void *user,
                   size_t memcap);
/* A TCP packet of `f` in direction `dir` (flags, seq and payload from `p`). */
void qw_reasm_packet(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir,
                     const struct qw_packet *p);
/* Deliver what is still queued (with gaps) before the flow ends. */
void qw_reasm_flush(struct qw_reasm *r, struct qw_flow *f, uint64_t ts_ns);
/* Free the per-direction state (queue and pending application bytes). */
void qw_reasm_free(struct qw_reasm *r, struct qw_flow *f);

#endif
