#include "flow/reasm.h"

#include <stdlib.h>
#include <string.h>

struct qw_seg {
    struct qw_seg *next;
    uint32_t seq, len;
    uint64_t ts_ns;
    uint32_t block;   /* bytes of the block, header included */
    int32_t cls;      /* pool size class, -1: allocated to measure */
    uint8_t data[];
};

/* Block sizes of the pool classes: small segments (a few PDUs), a typical MSS, a jumbo frame. */
static const uint32_t class_size[QW_REASM_CLASSES] = {QW_REASM_BLOCK_MIN, 2048, 9216};

/* Sequence-space comparisons (RFC 9293 s.3.4: modulo 2^32). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

void qw_reasm_init(struct qw_reasm *r, const struct qw_reasm_ops *ops, void *user, size_t memcap)
{
    memset(r, 0, sizeof *r);
    r->ops = *ops;
    r->user = user;
    r->memcap = memcap ? memcap : QW_REASM_MEMCAP_DEFAULT;
    r->flow_cap = QW_REASM_FLOW_CAP_DEFAULT;
    qw_stream_mem.cap = r->memcap; /* unparsed tails count against the same cap */
    qw_stream_mem.refused = 0;
    qw_stream_mem.peak = 0;
}

void qw_reasm_release(struct qw_reasm *r)
{
    for (int c = 0; c < QW_REASM_CLASSES; c++) {
        while (r->pool[c]) {
            struct qw_seg *s = r->pool[c];
            r->pool[c] = s->next;
            free(s);
        }
        r->pool_n[c] = 0;
    }
}

/* ---- segment blocks ------------------------------------------------------------------------ */

static size_t block_bytes(uint32_t len, int *cls)
{
    size_t need = sizeof(struct qw_seg) + len;
    for (int c = 0; c < QW_REASM_CLASSES; c++) {
        if (need <= class_size[c]) {
            *cls = c;
            return class_size[c];
        }
    }
    *cls = -1;
    return need;
}

/* A block of `bytes` (block_bytes() of the segment, its pool class `cls`). */
static struct qw_seg *seg_alloc(struct qw_reasm *r, size_t bytes, int cls)
{
    struct qw_seg *s;
    if (cls >= 0 && r->pool[cls]) {
        s = r->pool[cls];
        r->pool[cls] = s->next;
        r->pool_n[cls]--;
    } else {
        s = malloc(bytes);
        if (!s) return NULL;
    }
    s->block = (uint32_t)bytes;
    s->cls = cls;
    r->stats.mem_in_use += bytes;
    qw_stream_mem.ooo += bytes;
    if (r->stats.mem_in_use > r->stats.mem_peak) r->stats.mem_peak = r->stats.mem_in_use;
    return s;
}

static void seg_free(struct qw_reasm *r, struct qw_seg *s)
{
    r->stats.mem_in_use -= s->block;
    qw_stream_mem.ooo -= s->block;
    if (s->cls >= 0 && r->pool_n[s->cls] < QW_REASM_POOL_KEEP) {
        s->next = r->pool[s->cls];
        r->pool[s->cls] = s;
        r->pool_n[s->cls]++;
        return;
    }
    free(s);
}

/* ---- per-flow state ------------------------------------------------------------------------ */

struct qw_tcp_dir *qw_reasm_dirs(struct qw_flow *f)
{
    if (!f->tcp) f->tcp = calloc(2, sizeof *f->tcp);
    return f->tcp;
}

void qw_reasm_trim(struct qw_flow *f)
{
    struct qw_tcp_dir *t = f->tcp;
    if (!t) return;
    for (int d = 0; d < 2; d++)
        if (t[d].ooo || t[d].pending.cap || t[d].gaps) return;
    free(t);
    f->tcp = NULL;
}

bool qw_reasm_gaps(const struct qw_flow *f, uint64_t *gaps, uint64_t *gap_bytes)
{
    *gaps = *gap_bytes = 0;
    if (f->tcp) {
        *gaps = (uint64_t)f->tcp[0].gaps + f->tcp[1].gaps;
        *gap_bytes = f->tcp[0].gap_bytes + f->tcp[1].gap_bytes;
    }
    return f->seq[0].seq_known || f->seq[1].seq_known;
}

/* ---- reassembly ---------------------------------------------------------------------------- */

static void deliver(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, const uint8_t *data,
                    uint32_t len, uint64_t ts)
{
    f->seq[dir].next_seq += len;
    r->ops.data(r->user, f, dir, data, len, ts);
}

/* Release queued segments that are now in order. */
static void drain(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir)
{
    struct qw_tcp_seq *q = &f->seq[dir];
    while (f->tcp && f->tcp[dir].ooo && seq_leq(f->tcp[dir].ooo->seq, q->next_seq)) {
        struct qw_tcp_dir *d = &f->tcp[dir];
        struct qw_seg *s = d->ooo;
        d->ooo = s->next;
        d->ooo_count--;
        d->ooo_bytes -= s->len;
        r->stats.queued_bytes -= s->len;
        uint32_t end = s->seq + s->len;
        if (seq_lt(q->next_seq, end)) {
            uint32_t skip = q->next_seq - s->seq;
            deliver(r, f, dir, s->data + skip, s->len - skip, s->ts_ns);
        }
        seg_free(r, s);
    }
}

/* Declare the bytes up to `target` lost, tell the parser, and go on from there. */
static void gap_to(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, uint32_t target,
                   uint64_t ts)
{
    struct qw_tcp_seq *q = &f->seq[dir];
    uint32_t bytes = target - q->next_seq;
    struct qw_tcp_dir *d = qw_reasm_dirs(f);
    if (d) {
        d[dir].gaps++;
        d[dir].gap_bytes += bytes;
    }
    r->stats.gaps++;
    r->stats.gap_bytes += bytes;
    q->next_seq = target;
    r->ops.gap(r->user, f, dir, bytes, ts);
    drain(r, f, dir);
}

static bool insert_piece(struct qw_reasm *r, struct qw_tcp_dir *d, struct qw_seg **at,
                         uint32_t seq, const uint8_t *data, uint32_t len, uint64_t ts)
{
    if (d->ooo_count >= QW_REASM_DIR_MAX_SEGS || d->ooo_bytes + len > r->flow_cap / 2) {
        r->stats.flow_cap_hits++;
        return false;
    }
    int cls;
    size_t bytes = block_bytes(len, &cls);
    if (qw_stream_mem.pending + r->stats.mem_in_use + bytes > r->memcap) {
        r->stats.memcap_hits++;
        return false;
    }
    struct qw_seg *s = seg_alloc(r, bytes, cls);
    if (!s) return false;
    s->seq = seq;
    s->len = len;
    s->ts_ns = ts;
    memcpy(s->data, data, len);
    s->next = *at;
    *at = s;
    d->ooo_count++;
    d->ooo_bytes += len;
    r->stats.queued++;
    r->stats.queued_bytes += len;
    return true;
}

/* Queue bytes [seq, seq+len) ahead of the stream. The queue stays sorted and never holds a byte
 * twice: only the parts not already queued are stored, so the first arrival of every byte wins,
 * as for IP fragments. False when a limit refuses a part (parts stored so far stay queued). */
static bool enqueue(struct qw_reasm *r, struct qw_tcp_dir *d, uint32_t seq, const uint8_t *data,
                    uint32_t len, uint64_t ts)
{
    uint32_t end = seq + len;
    struct qw_seg **pp = &d->ooo;
    while (seq_lt(seq, end)) {
        while (*pp && seq_leq((*pp)->seq + (*pp)->len, seq)) pp = &(*pp)->next;
        struct qw_seg *x = *pp;
        if (x && seq_leq(x->seq, seq)) { /* the next bytes are queued already: keep those */
            uint32_t skip = x->seq + x->len - seq;
            if (skip > end - seq) skip = end - seq;
            if (memcmp(x->data + (seq - x->seq), data, skip) != 0) r->stats.overlaps++;
            data += skip;
            seq += skip;
            continue;
        }
        uint32_t piece_end = x && seq_lt(x->seq, end) ? x->seq : end;
        uint32_t n = piece_end - seq;
        if (!insert_piece(r, d, pp, seq, data, n, ts)) return false;
        pp = &(*pp)->next;
        data += n;
        seq = piece_end;
    }
    return true;
}

/* Put bytes [seq, seq+len) where they belong: drop what was already delivered, deliver what is
 * next, queue what is ahead. When the queue cannot take it (`may_queue` and limits), the hole
 * before it becomes a gap and the bytes are delivered after it. */
static void place(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, uint32_t seq,
                  const uint8_t *data, uint32_t len, uint64_t ts, bool may_queue)
{
    struct qw_tcp_seq *q = &f->seq[dir];
    uint32_t end = seq + len;
    if (seq_leq(end, q->next_seq)) {
        r->stats.retransmitted++;
        return;
    }
    if (seq_lt(seq, q->next_seq)) {
        uint32_t skip = q->next_seq - seq; /* overlap: keep what was delivered first */
        r->stats.overlaps++;
        data += skip;
        len -= skip;
        seq = q->next_seq;
    }
    if (seq == q->next_seq) {
        deliver(r, f, dir, data, len, ts);
        drain(r, f, dir);
        return;
    }
    if (may_queue && seq - q->next_seq <= QW_REASM_WINDOW) {
        struct qw_tcp_dir *d = qw_reasm_dirs(f);
        if (d && enqueue(r, &d[dir], seq, data, len, ts)) return;
    }
    /* Cannot hold it: give up on the hole before the first byte we do have, then retry. */
    const struct qw_seg *first = f->tcp ? f->tcp[dir].ooo : NULL;
    uint32_t target = first && seq_lt(first->seq, seq) ? first->seq : seq;
    gap_to(r, f, dir, target, ts);
    place(r, f, dir, seq, data, len, ts, target != seq);
}

void qw_reasm_packet(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir,
                     const struct qw_packet *p)
{
    /* An acknowledgement from this side for bytes the other side's queue is still missing
     * proves the capture lost them: skip the hole now instead of waiting for the limits. */
    if ((p->tcp_flags & QW_TCP_ACK) && f->tcp) {
        enum qw_dir od = (enum qw_dir)(dir ^ 1);
        const struct qw_tcp_seq *oq = &f->seq[od];
        /* every hole below the acknowledged byte is lost, not just the first */
        while (f->tcp && f->tcp[od].ooo && seq_lt(oq->next_seq, p->ack) &&
               seq_lt(oq->next_seq, f->tcp[od].ooo->seq) && seq_lt(f->tcp[od].ooo->seq, p->ack))
            gap_to(r, f, od, f->tcp[od].ooo->seq, p->ts_ns);
    }
    bool syn = p->tcp_flags & QW_TCP_SYN;
    struct qw_tcp_seq *q = &f->seq[dir];
    /* pure ACKs before any data or SYN in either direction */
    if (p->payload_len == 0 && !syn && !f->seq[0].seq_known && !f->seq[1].seq_known) return;
    r->stats.segments++;
    uint32_t seq = p->seq;
    if (syn) {
        if (!q->syn || q->isn != seq) { /* a retransmitted SYN must not rewind the stream */
            q->syn = true;
            q->isn = seq;
            q->next_seq = seq + 1;
            q->seq_known = true;
        }
        seq += 1; /* data in a SYN (TCP Fast Open) follows the SYN's sequence number */
    } else if (!q->seq_known) {
        q->isn = seq;
        q->next_seq = seq;
        q->seq_known = true;
    }
    if (p->tcp_flags & QW_TCP_FIN) q->fin = true;
    if (p->tcp_flags & QW_TCP_RST) q->rst = true;

    if (p->payload_len == 0) return;
    r->stats.in_order += seq == q->next_seq;
    place(r, f, dir, seq, p->payload, p->payload_len, p->ts_ns, true);
    qw_reasm_trim(f);
}

void qw_reasm_flush(struct qw_reasm *r, struct qw_flow *f, uint64_t ts_ns)
{
    for (int dir = 0; dir < 2; dir++)
        while (f->tcp && f->tcp[dir].ooo)
            gap_to(r, f, (enum qw_dir)dir, f->tcp[dir].ooo->seq, ts_ns);
}

void qw_reasm_free(struct qw_reasm *r, struct qw_flow *f)
{
    if (!f->tcp) return;
    for (int dir = 0; dir < 2; dir++) {
        struct qw_tcp_dir *d = &f->tcp[dir];
        while (d->ooo) {
            struct qw_seg *s = d->ooo;
            d->ooo = s->next;
            r->stats.queued_bytes -= s->len;
            seg_free(r, s);
        }
        qw_pending_free(&d->pending);
    }
    free(f->tcp);
    f->tcp = NULL;
}
