#include "decode/frag.h"

#include <stdlib.h>
#include <string.h>

#define BLOCKS (QW_FRAG_MAX_DATAGRAM / 8 + 1)

void qw_frag_init(struct qw_frag_table *t)
{
    t->slots = NULL;
    t->cap = QW_FRAG_SLOTS;
    memset(&t->stats, 0, sizeof t->stats);
}

void qw_frag_free(struct qw_frag_table *t)
{
    if (!t->slots) return;
    for (uint32_t i = 0; i < t->cap; i++) {
        free(t->slots[i].data);
        free(t->slots[i].covered);
    }
    free(t->slots);
    t->slots = NULL;
}

void qw_frag_set_cap(struct qw_frag_table *t, uint32_t cap)
{
    if (cap == 0) cap = QW_FRAG_SLOTS;
    if (cap > QW_FRAG_MAX_SLOTS) cap = QW_FRAG_MAX_SLOTS;
    if (cap == t->cap) return;
    if (t->slots)
        for (uint32_t i = 0; i < t->cap; i++) t->stats.evicted += t->slots[i].used;
    qw_frag_free(t);
    t->cap = cap;
}

static bool bit(const uint8_t *m, uint32_t i) { return m[i >> 3] & (1u << (i & 7)); }
static void set_bit(uint8_t *m, uint32_t i) { m[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static void release(struct qw_frag_slot *s)
{
    s->used = false;
}

static struct qw_frag_slot *find_or_claim(struct qw_frag_table *t, const struct qw_frag_in *in)
{
    if (!t->slots) {
        t->slots = calloc(t->cap, sizeof *t->slots);
        if (!t->slots) {
            t->stats.refused++;
            return NULL;
        }
    }
    struct qw_frag_slot *free_slot = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < t->cap; i++) {
        struct qw_frag_slot *s = &t->slots[i];
        if (s->used && in->ts_ns > s->first_ns + QW_FRAG_TIMEOUT_NS) {
            t->stats.expired++;
            release(s);
        }
        if (!s->used) {
            if (!free_slot) free_slot = s;
            continue;
        }
        if (s->id == in->id && s->proto == in->proto && s->family == in->family &&
            memcmp(&s->src, in->src, sizeof s->src) == 0 &&
            memcmp(&s->dst, in->dst, sizeof s->dst) == 0)
            return s;
        if (!oldest || s->first_ns < oldest->first_ns) oldest = s;
    }
    struct qw_frag_slot *s = free_slot;
    if (!s) {
        if (!oldest) return NULL; /* no slot at all (cap 0 is never set) */
        t->stats.evicted++;
        s = oldest;
    }
    if (!s->data) {
        s->data = malloc(QW_FRAG_MAX_DATAGRAM);
        s->covered = malloc(BLOCKS / 8 + 1);
        if (!s->data || !s->covered) {
            free(s->data);
            free(s->covered);
            s->data = s->covered = NULL;
            s->used = false;
            t->stats.refused++;
            return NULL;
        }
    }
    s->used = true;
    s->have_last = false;
    s->family = in->family;
    s->proto = in->proto;
    s->id = in->id;
    s->src = *in->src;
    s->dst = *in->dst;
    s->total = 0;
    s->first_ns = in->ts_ns;
    memset(s->covered, 0, BLOCKS / 8 + 1);
    return s;
}

uint32_t qw_frag_add(struct qw_frag_table *t, const struct qw_frag_in *in)
{
    t->stats.fragments++;
    uint64_t end = (uint64_t)in->offset + in->len;
    if (end > QW_FRAG_MAX_DATAGRAM || (in->more && in->len % 8 != 0)) {
        /* A datagram that would pass 64 KiB (the "ping of death" shape), or a non-final
         * fragment whose length is not a multiple of 8: both break RFC 791 / RFC 8200. */
        t->stats.too_big++;
        return 0;
    }
    struct qw_frag_slot *s = find_or_claim(t, in);
    if (!s) return 0;
    if (!in->more) {
        if (s->have_last && s->total != end) {
            t->stats.overlaps++; /* two different "last" fragments: keep the first */
        } else {
            s->have_last = true;
            s->total = (uint32_t)end;
        }
    }
    /* Copy only the 8-byte blocks not yet covered: the first arrival wins. */
    uint32_t first_block = in->offset / 8;
    uint32_t nblocks = (in->len + 7) / 8;
    for (uint32_t b = 0; b < nblocks; b++) {
        uint32_t blk = first_block + b;
        uint32_t off = blk * 8;
        uint32_t n = (uint32_t)(end - off < 8 ? end - off : 8);
        if (bit(s->covered, blk)) {
            if (memcmp(s->data + off, in->data + (off - in->offset), n) != 0)
                t->stats.overlaps++;
            continue;
        }
        memcpy(s->data + off, in->data + (off - in->offset), n);
        set_bit(s->covered, blk);
    }
    if (!s->have_last) return 0;
    uint32_t need = (s->total + 7) / 8;
    for (uint32_t b = 0; b < need; b++)
        if (!bit(s->covered, b)) return 0;
    memcpy(t->out, s->data, s->total);
    uint32_t total = s->total;
    t->stats.reassembled++;
    release(s);
    return total;
}
