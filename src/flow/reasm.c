#include "flow/reasm.h"

#include <stdlib.h>
#include <string.h>

struct qw_seg {
    struct qw_seg *next;
    uint32_t seq, len;
    uint64_t ts_ns;
    uint8_t data[];
};

/* Sequence-space comparisons (RFC 9293 s.3.4: modulo 2^32). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

void qw_reasm_init(struct qw_reasm *r, const struct qw_reasm_ops *ops, void *user, size_t memcap)
{
    memset(r, 0, sizeof *r);
    r->ops = *ops;
    r->user = user;
    r->memcap = memcap ? memcap : QW_REASM_MEMCAP_DEFAULT;
}

static struct qw_tcp_dir *dir_state(struct qw_flow *f, enum qw_dir dir)
{
    if (!f->tcp) {
        f->tcp = calloc(2, sizeof *f->tcp);
        if (!f->tcp) return NULL;
    }
    return &f->tcp[dir];
}

static void deliver(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir,
                    struct qw_tcp_dir *d, const uint8_t *data, uint32_t len, uint64_t ts)
{
    d->next_seq += len;
    r->ops.data(r->user, f, dir, data, len, ts);
}

/* Release queued segments that are now in order. */
static void drain(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, struct qw_tcp_dir *d)
{
    while (d->ooo && seq_leq(d->ooo->seq, d->next_seq)) {
        struct qw_seg *s = d->ooo;
        d->ooo = s->next;
        d->ooo_count--;
        d->ooo_bytes -= s->len;
        r->stats.mem_in_use -= s->len;
        uint32_t end = s->seq + s->len;
        if (seq_lt(d->next_seq, end)) {
            uint32_t skip = d->next_seq - s->seq;
            deliver(r, f, dir, d, s->data + skip, s->len - skip, s->ts_ns);
        }
        free(s);
    }
}

/* Declare the bytes up to `target` lost, tell the parser, and go on from there. */
static void gap_to(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, struct qw_tcp_dir *d,
                   uint32_t target, uint64_t ts)
{
    uint32_t bytes = target - d->next_seq;
    d->gaps++;
    d->gap_bytes += bytes;
    r->stats.gaps++;
    r->stats.gap_bytes += bytes;
    d->next_seq = target;
    r->ops.gap(r->user, f, dir, bytes, ts);
    drain(r, f, dir, d);
}

static bool insert_piece(struct qw_reasm *r, struct qw_tcp_dir *d, struct qw_seg **at,
                         uint32_t seq, const uint8_t *data, uint32_t len, uint64_t ts)
{
    if (d->ooo_count >= QW_REASM_DIR_MAX_SEGS || d->ooo_bytes + len > QW_REASM_DIR_MAX_BYTES)
        return false;
    if (r->stats.mem_in_use + len > r->memcap) {
        r->stats.memcap_hits++;
        return false;
    }
    struct qw_seg *s = malloc(sizeof *s + len);
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
    r->stats.mem_in_use += len;
    if (r->stats.mem_in_use > r->stats.mem_peak) r->stats.mem_peak = r->stats.mem_in_use;
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
static void place(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir, struct qw_tcp_dir *d,
                  uint32_t seq, const uint8_t *data, uint32_t len, uint64_t ts, bool may_queue)
{
    uint32_t end = seq + len;
    if (seq_leq(end, d->next_seq)) {
        r->stats.retransmitted++;
        return;
    }
    if (seq_lt(seq, d->next_seq)) {
        uint32_t skip = d->next_seq - seq; /* overlap: keep what was delivered first */
        r->stats.overlaps++;
        data += skip;
        len -= skip;
        seq = d->next_seq;
    }
    if (seq == d->next_seq) {
        deliver(r, f, dir, d, data, len, ts);
        drain(r, f, dir, d);
        return;
    }
    if (may_queue && seq - d->next_seq <= QW_REASM_WINDOW && enqueue(r, d, seq, data, len, ts))
        return;
    /* Cannot hold it: give up on the hole before the first byte we do have, then retry. */
    uint32_t target = d->ooo && seq_lt(d->ooo->seq, seq) ? d->ooo->seq : seq;
    gap_to(r, f, dir, d, target, ts);
    place(r, f, dir, d, seq, data, len, ts, target != seq);
}

void qw_reasm_packet(struct qw_reasm *r, struct qw_flow *f, enum qw_dir dir,
                     const struct qw_packet *p)
{
    /* An acknowledgement from this side for bytes the other side's queue is still missing
     * proves the capture lost them: skip the hole now instead of waiting for the limits. */
    if ((p->tcp_flags & QW_TCP_ACK) && f->tcp) {
        struct qw_tcp_dir *o = &f->tcp[dir ^ 1];
        /* every hole below the acknowledged byte is lost, not just the first */
        while (o->ooo && seq_lt(o->next_seq, p->ack) && seq_lt(o->next_seq, o->ooo->seq) &&
               seq_lt(o->ooo->seq, p->ack))
            gap_to(r, f, (enum qw_dir)(dir ^ 1), o, o->ooo->seq, p->ts_ns);
    }
    bool syn = p->tcp_flags & QW_TCP_SYN;
    if (p->payload_len == 0 && !syn && f->tcp == NULL) return; /* pure ACKs before any data */
    struct qw_tcp_dir *d = dir_state(f, dir);
    if (!d) return;
    r->stats.segments++;
    uint32_t seq = p->seq;
    if (syn) {
        if (!d->syn || d->isn != seq) { /* a retransmitted SYN must not rewind the stream */
            d->syn = true;
            d->isn = seq;
            d->next_seq = seq + 1;
            d->seq_known = true;
        }
        seq += 1; /* data in a SYN (TCP Fast Open) follows the SYN's sequence number */
    } else if (!d->seq_known) {
        d->isn = seq;
        d->next_seq = seq;
        d->seq_known = true;
    }
    if (p->tcp_flags & QW_TCP_FIN) d->fin = true;
    if (p->tcp_flags & QW_TCP_RST) d->rst = true;

    if (p->payload_len == 0) return;
    r->stats.in_order += seq == d->next_seq;
    place(r, f, dir, d, seq, p->payload, p->payload_len, p->ts_ns, true);
}

void qw_reasm_flush(struct qw_reasm *r, struct qw_flow *f, uint64_t ts_ns)
{
    if (!f->tcp) return;
    for (int dir = 0; dir < 2; dir++) {
        struct qw_tcp_dir *d = &f->tcp[dir];
        while (d->ooo) gap_to(r, f, (enum qw_dir)dir, d, d->ooo->seq, ts_ns);
    }
}

void qw_reasm_free(struct qw_reasm *r, struct qw_flow *f)
{
    if (!f->tcp) return;
    for (int dir = 0; dir < 2; dir++) {
        struct qw_tcp_dir *d = &f->tcp[dir];
        while (d->ooo) {
            struct qw_seg *s = d->ooo;
            d->ooo = s->next;
            r->stats.mem_in_use -= s->len;
            free(s);
        }
        qw_pending_free(&d->pending);
    }
    free(f->tcp);
    f->tcp = NULL;
}
