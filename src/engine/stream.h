/* Delivery of an ordered byte stream to a parser, keeping the unconsumed tail.
 *
 * A parser's `parse` returns how many bytes it consumed; what is left (a PDU cut by a segment
 * boundary) is kept here and handed back, followed by the next bytes, on the next delivery. The
 * engine uses this for every TCP direction; parser tests and fuzz harnesses use the same code, so
 * split PDUs behave identically in tests and in production. */
#ifndef QW_ENGINE_STREAM_H
#define QW_ENGINE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Largest unconsumed tail kept per direction (bytes). Sized for the largest PDU we reassemble
 * (OPC UA and EtherNet/IP messages up to 64 KiB, plus a header); past it the tail is dropped,
 * counted as a gap, and the parser resynchronises. */
#define QW_STREAM_PENDING_MAX (66u * 1024u)

struct qw_pending {
    uint8_t *buf;
    uint32_t len, cap;
};

/* Memory of the TCP data held on this thread (one engine per thread): pending tails here and
 * out-of-order segments queued by the reassembler (reasm.c), against one cap that the
 * reassembler sets (qw_reasm_init; SIZE_MAX until then, as in parser tests). A tail that would
 * pass the cap is dropped like one past QW_STREAM_PENDING_MAX, and counted. */
struct qw_stream_mem {
    size_t pending;   /* bytes allocated to pending buffers */
    size_t ooo;       /* bytes of queued out-of-order segments */
    size_t cap;
    size_t peak;      /* highest pending + ooo */
    uint64_t refused; /* tails (or probe bytes) dropped at the cap */
};
extern _Thread_local struct qw_stream_mem qw_stream_mem;

/* Hand `data` to the parser after any pending tail. Returns the number of bytes dropped because
 * the tail would pass QW_STREAM_PENDING_MAX (the parser's `gap` was called), 0 normally. */
size_t qw_stream_deliver(struct qw_pctx *ctx, const struct qw_proto *proto, void *state,
                         enum qw_dir dir, struct qw_pending *pend, const uint8_t *data,
                         size_t len);
/* Append bytes to the pending tail without parsing (used while probes ask for more bytes), up to
 * `limit` bytes in all; returns how many were kept. */
size_t qw_pending_append(struct qw_pending *pend, const uint8_t *data, size_t len, size_t limit);
/* Forget the pending tail (after a gap in the stream). */
void qw_pending_reset(struct qw_pending *pend);
void qw_pending_free(struct qw_pending *pend);

#endif
