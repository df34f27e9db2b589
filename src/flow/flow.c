#include "flow/flow.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Defaults: see the enum in flow.h. UDP gets 3 minutes: DNP3/BACnet polling over UDP repeats
 * well inside that; closed TCP lingers 30 s for the late ACKs and retransmitted FINs. */
const struct qw_flow_timeouts qw_flow_timeouts_default = {{
    [QW_TCLASS_TCP_NEW] = 120,
    [QW_TCLASS_TCP_ESTABLISHED] = 3600,
    [QW_TCLASS_TCP_CLOSED] = 30,
    [QW_TCLASS_UDP] = 180,
    [QW_TCLASS_OTHER] = 60,
}};

#define FLOWS_PER_SLAB 4096u

const char *qw_tcp_state_name(uint8_t s)
{
    static const char *const names[] = {
        [QW_TCP_NONE] = "none",          [QW_TCP_SYN_SENT] = "syn_sent",
        [QW_TCP_SYN_RECV] = "syn_recv",  [QW_TCP_ESTABLISHED] = "established",
        [QW_TCP_MIDSTREAM] = "midstream", [QW_TCP_FIN_WAIT] = "fin_wait",
        [QW_TCP_CLOSED] = "closed",      [QW_TCP_RESET] = "reset",
    };
    return s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *qw_flow_end_name(uint8_t r)
{
    static const char *const names[] = {
        [QW_END_TIMEOUT] = "timeout", [QW_END_CAPTURE] = "capture_end",
        [QW_END_EVICTED] = "evicted", [QW_END_REUSED] = "port_reuse",
    };
    return r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

bool qw_flow_table_init(struct qw_flow_table *t, uint32_t cap,
                        const struct qw_flow_timeouts *timeouts)
{
    memset(t, 0, sizeof *t);
    if (cap == 0) cap = QW_FLOW_CAP_DEFAULT;
    uint32_t nb = 1024;
    while (nb < cap && nb < (1u << 30)) nb <<= 1; /* load factor <= 1 */
    t->max_buckets = nb;
    /* The arrays start small and double with the flows (flow_table_grow): sized for the cap
     * at once (8 MiB each for a million flows), a site with a few thousand flows spread them
     * over every page, and each lookup missed the cache and the TLB. */
    t->nbuckets = nb < QW_FLOW_BUCKETS_START ? nb : QW_FLOW_BUCKETS_START;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->buckets_any = calloc(t->nbuckets, sizeof *t->buckets_any);
    if (!t->buckets || !t->buckets_any) return false;
    t->cap = cap;
    t->timeouts = timeouts ? *timeouts : qw_flow_timeouts_default;
    qw_hkey_random(&t->key);
    t->slab_cap = cap / FLOWS_PER_SLAB + 1;
    t->slabs = calloc(t->slab_cap, sizeof *t->slabs);
    return t->slabs != NULL;
}

void qw_flow_table_free(struct qw_flow_table *t)
{
    for (uint32_t i = 0; i < t->nslabs; i++) free(t->slabs[i]);
    free(t->slabs);
    free(t->buckets);
    free(t->buckets_any);
    memset(t, 0, sizeof *t);
}

/* memcmp order of two addresses, from two big-endian word comparisons. */
static int addr_cmp(const struct qw_addr *x, const struct qw_addr *y)
{
    for (int off = 0; off < 16; off += 8) {
        uint64_t a, b;
        memcpy(&a, x->b + off, 8);
        memcpy(&b, y->b + off, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        a = __builtin_bswap64(a);
        b = __builtin_bswap64(b);
#endif
        if (a != b) return a < b ? -1 : 1;
    }
    return 0;
}

void qw_flow_key_from_packet(const struct qw_packet *p, struct qw_flow_key *k, bool *from_a)
{
    memset(k, 0, sizeof *k);
    k->proto = p->l4_proto;
    for (int i = 0; i < p->nvlan; i++) k->vlan[i] = p->vlan[i];
    uint16_t sp = 0, dp = 0;
    if (p->l4_proto == 6 || p->l4_proto == 17 || p->l4_proto == 132) {
        sp = p->sport;
        dp = p->dport;
    }
    int c = addr_cmp(&p->src_ip, &p->dst_ip);
    bool src_first = c < 0 || (c == 0 && sp <= dp);
    if (src_first) {
        k->a = p->src_ip;
        k->b = p->dst_ip;
        k->port_a = sp;
        k->port_b = dp;
    } else {
        k->a = p->dst_ip;
        k->b = p->src_ip;
        k->port_a = dp;
        k->port_b = sp;
    }
    *from_a = src_first;
}

/* The key's words: both addresses, then ports + protocol (VLAN tags apart). */
static inline uint64_t key_word(const struct qw_flow_key *k, size_t off)
{
    return qw_hash_load64((const uint8_t *)k + off);
}

/* Two independent products over the addresses, combined with ports and protocol: the hash of
 * the 5-tuple; the VLAN tags are folded in last, so the two hashes cost one product more than
 * one. */
struct qw_flow_hash qw_flow_hash_key(const struct qw_flow_table *t, const struct qw_flow_key *k)
{
    const uint64_t *key = t->key.k;
    uint64_t pp = (uint64_t)k->port_a | (uint64_t)k->port_b << 16 | (uint64_t)k->proto << 32;
    uint64_t h1 = qw_hash_mix(key_word(k, offsetof(struct qw_flow_key, a)) ^ key[0],
                              key_word(k, offsetof(struct qw_flow_key, a) + 8) ^ key[1]);
    uint64_t h2 = qw_hash_mix(key_word(k, offsetof(struct qw_flow_key, b)) ^ key[2],
                              key_word(k, offsetof(struct qw_flow_key, b) + 8) ^ key[3]);
    uint64_t ha = qw_hash_mix(h1 ^ pp ^ key[1], h2 ^ key[0]);
    uint64_t vl = (uint64_t)k->vlan[0] | (uint64_t)k->vlan[1] << 16;
    uint64_t h = qw_hash_mix(ha ^ vl ^ key[2], key[3] | 1);
    return (struct qw_flow_hash){(uint32_t)h, (uint32_t)ha};
}

/* Keys are compared word by word: both addresses, then ports + VLAN tags, then protocol (the
 * padding is always zero: qw_flow_key_from_packet clears the key). */
static inline bool same_addrs(const struct qw_flow_key *x, const struct qw_flow_key *y)
{
    uint64_t d = 0;
    for (size_t off = 0; off < 32; off += 8) d |= key_word(x, off) ^ key_word(y, off);
    return d == 0;
}

static inline bool same_key(const struct qw_flow_key *x, const struct qw_flow_key *y)
{
    return same_addrs(x, y) && key_word(x, 32) == key_word(y, 32) &&
           x->proto == y->proto;
}

static bool same_but_vlan(const struct qw_flow_key *x, const struct qw_flow_key *y)
{
    return x->proto == y->proto && x->port_a == y->port_a && x->port_b == y->port_b &&
           same_addrs(x, y);
}

struct qw_flow *qw_flow_lookup_any_vlan_hashed(struct qw_flow_table *t,
                                               const struct qw_flow_key *k,
                                               struct qw_flow_hash hv)
{
    for (struct qw_flow *f = t->buckets_any[hv.h_any & (t->nbuckets - 1)]; f; f = f->hnext_any)
        if (f->hash_any == hv.h_any && same_but_vlan(&f->key, k)) return f;
    return NULL;
}

struct qw_flow *qw_flow_lookup_hashed(struct qw_flow_table *t, const struct qw_flow_key *k,
                                      struct qw_flow_hash hv)
{
    for (struct qw_flow *f = t->buckets[hv.h & (t->nbuckets - 1)]; f; f = f->hnext)
        if (f->hash == hv.h && same_key(&f->key, k)) return t->recent = f;
    return NULL;
}

struct qw_flow *qw_flow_lookup_any_vlan(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    return qw_flow_lookup_any_vlan_hashed(t, k, qw_flow_hash_key(t, k));
}

struct qw_flow *qw_flow_lookup(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    return qw_flow_lookup_hashed(t, k, qw_flow_hash_key(t, k));
}

static uint64_t expiry_of(const struct qw_flow_table *t, const struct qw_flow *f)
{
    return f->idle_ns + (uint64_t)t->timeouts.sec[f->tclass] * 1000000000ull;
}

static void list_unlink(struct qw_flow_table *t, struct qw_flow *f)
{
    uint8_t c = f->tclass;
    if (f->lprev) {
        f->lprev->lnext = f->lnext;
    } else {
        t->lists_head[c] = f->lnext;
        /* a new head: the floor stays at or below every head's expiry, as next_expired looks
         * at heads only (a list is out of order only when capture times go backwards) */
        if (f->lnext && expiry_of(t, f->lnext) < t->expiry_floor_ns)
            t->expiry_floor_ns = expiry_of(t, f->lnext);
    }
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        t->lists_tail[c] = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void list_append(struct qw_flow_table *t, struct qw_flow *f)
{
    uint8_t c = f->tclass;
    uint64_t e = expiry_of(t, f);
    if (e < t->expiry_floor_ns) t->expiry_floor_ns = e;
    f->lnext = NULL;
    f->lprev = t->lists_tail[c];
    if (t->lists_tail[c])
        t->lists_tail[c]->lnext = f;
    else
        t->lists_head[c] = f;
    t->lists_tail[c] = f;
}

static struct qw_flow *pool_get(struct qw_flow_table *t)
{
    if (t->free_list) {
        struct qw_flow *f = t->free_list;
        t->free_list = f->hnext;
        return f;
    }
    if (t->stats.active >= t->cap) return NULL;
    if (t->nslabs >= t->slab_cap) return NULL;
    /* Grow by one slab: memory follows the number of flows actually seen, up to the cap. */
    struct qw_flow *slab = calloc(FLOWS_PER_SLAB, sizeof *slab);
    if (!slab) {
        t->stats.alloc_failed++;
        return NULL;
    }
    t->slabs[t->nslabs++] = slab;
    for (uint32_t i = 1; i < FLOWS_PER_SLAB; i++) {
        slab[i].hnext = t->free_list;
        t->free_list = &slab[i];
    }
    return &slab[0];
}

/* Move one chain of the old array into the two chains of the doubled one it splits into,
 * keeping the flows' order (newest first): lookup_any_vlan answers with the first flow of a
 * chain that matches, and must answer the same however big the table has grown. */
static void split_chain(struct qw_flow *f, struct qw_flow **lo, struct qw_flow **hi,
                        uint32_t old_n, bool any)
{
    struct qw_flow **tail[2] = {lo, hi};
    *lo = *hi = NULL;
    while (f) {
        struct qw_flow *next = any ? f->hnext_any : f->hnext;
        int side = ((any ? f->hash_any : f->hash) & old_n) != 0;
        *tail[side] = f;
        if (any) {
            f->hnext_any = NULL;
            tail[side] = &f->hnext_any;
        } else {
            f->hnext = NULL;
            tail[side] = &f->hnext;
        }
        f = next;
    }
}

/* Double the bucket arrays; false (and the table as it was, with longer chains) when the
 * memory is not there. */
static bool flow_table_grow(struct qw_flow_table *t)
{
    uint32_t old_n = t->nbuckets, n = old_n * 2;
    struct qw_flow **b = calloc(n, sizeof *b), **ba = calloc(n, sizeof *ba);
    if (!b || !ba) {
        free(b);
        free(ba);
        return false;
    }
    for (uint32_t i = 0; i < old_n; i++) {
        split_chain(t->buckets[i], &b[i], &b[i + old_n], old_n, false);
        split_chain(t->buckets_any[i], &ba[i], &ba[i + old_n], old_n, true);
    }
    free(t->buckets);
    free(t->buckets_any);
    t->buckets = b;
    t->buckets_any = ba;
    t->nbuckets = n;
    return true;
}

struct qw_flow *qw_flow_insert_hashed(struct qw_flow_table *t, const struct qw_flow_key *k,
                                      struct qw_flow_hash hv)
{
    if (t->stats.active >= t->cap) return NULL;
    if (t->stats.active >= t->nbuckets && t->nbuckets < t->max_buckets) flow_table_grow(t);
    struct qw_flow *f = pool_get(t);
    if (!f) return NULL;
    memset(f, 0, sizeof *f);
    f->key = *k;
    f->hash = hv.h;
    f->hash_any = hv.h_any;
    uint32_t b = hv.h & (t->nbuckets - 1);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    uint32_t ba = hv.h_any & (t->nbuckets - 1);
    f->hnext_any = t->buckets_any[ba];
    t->buckets_any[ba] = f;
    f->tclass = k->proto == 6 ? QW_TCLASS_TCP_NEW
                : k->proto == 17 ? QW_TCLASS_UDP
                                 : QW_TCLASS_OTHER;
    list_append(t, f);
    t->stats.created++;
    t->stats.active++;
    if (t->stats.active > t->stats.peak_active) t->stats.peak_active = t->stats.active;
    t->recent = f;
    return f;
}

struct qw_flow *qw_flow_insert(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    return qw_flow_insert_hashed(t, k, qw_flow_hash_key(t, k));
}

void qw_flow_remove(struct qw_flow_table *t, struct qw_flow *f)
{
    if (t->recent == f) t->recent = NULL;
    struct qw_flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    struct qw_flow **pa = &t->buckets_any[f->hash_any & (t->nbuckets - 1)];
    while (*pa && *pa != f) pa = &(*pa)->hnext_any;
    if (*pa) *pa = f->hnext_any;
    list_unlink(t, f);
    t->stats.active--;
    t->stats.ended++;
    f->hnext = t->free_list;
    t->free_list = f;
}

void qw_flow_touch(struct qw_flow_table *t, struct qw_flow *f, uint64_t now_ns, uint8_t tclass)
{
    if (now_ns > f->idle_ns) f->idle_ns = now_ns;
    if (t->lists_tail[f->tclass] == f && f->tclass == tclass) return;
    list_unlink(t, f);
    f->tclass = tclass;
    list_append(t, f);
}

struct qw_flow *qw_flow_next_expired(struct qw_flow_table *t, uint64_t now_ns)
{
    if (now_ns <= t->expiry_floor_ns) return NULL;
    uint64_t floor = UINT64_MAX;
    for (int c = 0; c < QW_TCLASS_COUNT; c++) {
        struct qw_flow *f = t->lists_head[c];
        if (!f) continue;
        if (qw_flow_is_expired(t, f, now_ns)) return f;
        if (expiry_of(t, f) < floor) floor = expiry_of(t, f);
    }
    t->expiry_floor_ns = floor; /* each list is in expiry order: its head expires first */
    return NULL;
}

bool qw_flow_is_expired(const struct qw_flow_table *t, const struct qw_flow *f, uint64_t now_ns)
{
    return now_ns > expiry_of(t, f);
}

struct qw_flow *qw_flow_oldest(struct qw_flow_table *t)
{
    struct qw_flow *best = NULL;
    for (int c = 0; c < QW_TCLASS_COUNT; c++) {
        struct qw_flow *f = t->lists_head[c];
        if (f && (!best || f->idle_ns < best->idle_ns)) best = f;
    }
    return best;
}
