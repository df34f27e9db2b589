#include "engine/stream.h"

#include <stdlib.h>
#include <string.h>

_Thread_local struct qw_stream_mem qw_stream_mem = {.cap = SIZE_MAX};

/* Smallest buffer: most tails are a PDU header or a few hundred bytes. */
#define PENDING_MIN 256u

void qw_pending_reset(struct qw_pending *pend)
{
    pend->len = 0;
}

void qw_pending_free(struct qw_pending *pend)
{
    qw_stream_mem.pending -= pend->cap;
    free(pend->buf);
    pend->buf = NULL;
    pend->len = pend->cap = 0;
}

/* Make room for `need` bytes in total. Growth is geometric from PENDING_MIN so a flow costs
 * memory only while it actually holds a split PDU (the engine frees an emptied buffer). */
static bool reserve(struct qw_pending *pend, size_t need)
{
    if (need <= pend->cap) return true;
    if (need > QW_STREAM_PENDING_MAX) return false;
    size_t cap = pend->cap ? pend->cap : PENDING_MIN;
    while (cap < need) cap *= 2;
    if (cap > QW_STREAM_PENDING_MAX) cap = QW_STREAM_PENDING_MAX;
    struct qw_stream_mem *m = &qw_stream_mem;
    size_t held = m->pending + m->ooo;
    if (held + (cap - pend->cap) > m->cap) {
        m->refused++;
        return false;
    }
    uint8_t *nb = realloc(pend->buf, cap);
    if (!nb) return false;
    m->pending += cap - pend->cap;
    if (held + (cap - pend->cap) > m->peak) m->peak = held + (cap - pend->cap);
    pend->buf = nb;
    pend->cap = (uint32_t)cap;
    return true;
}

size_t qw_pending_append(struct qw_pending *pend, const uint8_t *data, size_t len, size_t limit)
{
    if (limit > QW_STREAM_PENDING_MAX) limit = QW_STREAM_PENDING_MAX;
    if (pend->len >= limit) return 0;
    if (len > limit - pend->len) len = limit - pend->len;
    if (len == 0 || !reserve(pend, (size_t)pend->len + len)) return 0;
    memcpy(pend->buf + pend->len, data, len);
    pend->len += (uint32_t)len;
    return len;
}

static size_t drop_and_gap(struct qw_pctx *ctx, const struct qw_proto *proto, void *state,
                           enum qw_dir dir, struct qw_pending *pend, size_t dropped)
{
    pend->len = 0;
    if (proto->gap) proto->gap(ctx, state, dir);
    return dropped;
}

size_t qw_stream_deliver(struct qw_pctx *ctx, const struct qw_proto *proto, void *state,
                         enum qw_dir dir, struct qw_pending *pend, const uint8_t *data,
                         size_t len)
{
    size_t dropped = 0;
    if (pend->len > 0) {
        if (!reserve(pend, (size_t)pend->len + len)) {
            dropped = drop_and_gap(ctx, proto, state, dir, pend, pend->len);
        } else {
            if (len) memcpy(pend->buf + pend->len, data, len);
            pend->len += (uint32_t)len;
            size_t used = proto->parse(ctx, state, dir, pend->buf, pend->len);
            if (used > pend->len) used = pend->len;
            memmove(pend->buf, pend->buf + used, pend->len - used);
            pend->len -= (uint32_t)used;
            return 0;
        }
    }
    if (len == 0) return dropped;
    /* Fast path: nothing pending, parse straight from the packet. */
    size_t used = proto->parse(ctx, state, dir, data, len);
    if (used > len) used = len;
    size_t rest = len - used;
    if (rest == 0) return dropped;
    if (!reserve(pend, rest)) return dropped + drop_and_gap(ctx, proto, state, dir, pend, rest);
    memcpy(pend->buf, data + used, rest);
    pend->len = (uint32_t)rest;
    return dropped;
}
