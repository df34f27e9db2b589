/* TCP stream reassembly, per direction.
 *
 * In-order payload is handed on straight from the packet (no copy). Segments that arrive ahead
 * of the next expected byte are copied into a bounded queue and released when the hole fills.
 * Retransmitted bytes are dropped; for overlapping bytes the first copy wins (a later segment
 * cannot rewrite what a parser already saw). A hole is declared a gap -- reported, counted, and
 * skipped so the parser resynchronises -- when
 *   - the peer acknowledges bytes past the hole (the capture lost them: they will not come), or
 *   - the queue passes its per-flow or global limits, or
 *   - the flow ends with segments still queued.
 * A direction picked up mid-stream starts at the first sequence number seen.
 *
 * Memory: queued segments come from size-class pools owned by the reassembler (no allocation
 * per packet once warm). Limits: QW_REASM_WINDOW ahead of the stream, QW_REASM_DIR_MAX_SEGS
 * segments and flow_cap / 2 queued bytes per direction, and `memcap` bytes of memory for all
 * TCP data held on the engine's thread: queued segments and unparsed PDU tails (stream.h). */
#ifndef QW_FLOW_REASM_H
#define QW_FLOW_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "util/counters.h"

#include "decode/packet.h"
#include "flow/flow.h"

#define QW_REASM_WINDOW (1u << 20)              /* farthest ahead a segment may be queued (bytes) */
#define QW_REASM_DIR_MAX_SEGS 512u               /* queued out-of-order segments per direction */
#define QW_REASM_FLOW_CAP_DEFAULT (512u * 1024)  /* queued out-of-order bytes per flow; each
                                                  * direction holds at most half */
#define QW_REASM_DIR_MAX_BYTES (QW_REASM_FLOW_CAP_DEFAULT / 2)
#define QW_REASM_MEMCAP_DEFAULT (128u << 20)     /* memory for TCP data held across all flows:
                                                  * queued segments + unparsed tails */

/* Pool size classes of a queued segment's block (header included); larger ones are allocated
 * to measure. A class keeps at most QW_REASM_POOL_KEEP free blocks for reuse. */
#define QW_REASM_CLASSES 3
#define QW_REASM_BLOCK_MIN 256u /* the smallest class */
#define QW_REASM_POOL_KEEP 64u

struct qw_reasm_ops {
    void (*data)(void *user, struct qw_flow *f, enum qw_dir dir, const uint8_t *data, size_t len,
                 uint64_t ts_ns);
    void (*gap)(void *user, struct qw_flow *f, enum qw_dir dir, uint64_t bytes, uint64_t ts_ns);
};

struct qw_reasm_stats {
    uint64_t segments, in_order, retransmitted, overlaps, queued, gaps, gap_bytes;
    uint64_t memcap_hits;   /* segments refused at the global memory cap */
    uint64_t flow_cap_hits; /* segments refused at a per-direction limit (bytes or segments) */
    uint64_t queued_bytes;    /* payload bytes queued now */
    uint64_t mem_in_use, mem_peak; /* memory of queued segments (blocks, headers included) */
};
QW_COUNTERS_ONLY(struct qw_reasm_stats, 12); /* summed over engines (qw_counters_add) */

struct qw_reasm {
    struct qw_reasm_ops ops;
    void *user;
    size_t memcap;
    size_t flow_cap;
    struct qw_reasm_stats stats;
    struct qw_seg *pool[QW_REASM_CLASSES]; /* free blocks per size class */
    uint32_t pool_n[QW_REASM_CLASSES];
};

/* `memcap` 0: QW_REASM_MEMCAP_DEFAULT. The per-flow cap starts at QW_REASM_FLOW_CAP_DEFAULT
 * (set `flow_cap` after init to change it). */
void qw_reasm_init(struct qw_reasm *r, const struct qw_reasm_ops *ops, void *user,
                   size_t memcap);
/* Free the pooled blocks (every flow must have been freed first). */
void qw_reasm_release(struct qw_reasm *r);
/* A TCP packet of `f` in direction `dir` (flags, seq and payload from `p`). */
void qw_reasm_packet(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir,
                     const struct qw_packet *p);
/* Deliver what is still queued (with gaps) before the flow ends. */
void qw_reasm_flush(struct qw_reasm *r, struct qw_flow *f, uint64_t ts_ns);
/* Free the per-direction state (queue and pending application bytes). */
void qw_reasm_free(struct qw_reasm *r, struct qw_flow *f);
/* The flow's out-of-line TCP state, allocated if needed (NULL when out of memory). */
struct qw_tcp_dir *qw_reasm_dirs(struct qw_flow *f);
/* Free the out-of-line state when it holds nothing: no queue, no pending buffer, no gap. */
void qw_reasm_trim(struct qw_flow *f);
/* Whether the flow's TCP data was tracked (a segment with data or SYN was seen), and its gaps. */
bool qw_reasm_gaps(const struct qw_flow *f, uint64_t *gaps, uint64_t *gap_bytes);

#endif
