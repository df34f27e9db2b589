#include "flow/flow.h"

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
    t->buckets = calloc(nb, sizeof *t->buckets);
    t->buckets_any = calloc(nb, sizeof *t->buckets_any);
    if (!t->buckets || !t->buckets_any) return false;
    t->nbuckets = nb;
    t->cap = cap;
    t->timeouts = timeouts ? *timeouts : qw_flow_timeouts_default;
    qw_sipkey_random(&t->key);
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
    int c = memcmp(&p->src_ip, &p->dst_ip, sizeof p->src_ip);
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

static uint32_t bucket_of(const struct qw_flow_table *t, const struct qw_flow_key *k)
{
    return (uint32_t)qw_siphash13(&t->key, k, sizeof *k) & (t->nbuckets - 1);
}

static uint32_t bucket_any_of(const struct qw_flow_table *t, const struct qw_flow_key *k)
{
    struct qw_flow_key nv = *k;
    memset(nv.vlan, 0, sizeof nv.vlan);
    return (uint32_t)qw_siphash13(&t->key, &nv, sizeof nv) & (t->nbuckets - 1);
}

static bool same_but_vlan(const struct qw_flow_key *x, const struct qw_flow_key *y)
{
    return x->proto == y->proto && x->port_a == y->port_a && x->port_b == y->port_b &&
           memcmp(&x->a, &y->a, sizeof x->a) == 0 && memcmp(&x->b, &y->b, sizeof x->b) == 0;
}

struct qw_flow *qw_flow_lookup_any_vlan(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    for (struct qw_flow *f = t->buckets_any[bucket_any_of(t, k)]; f; f = f->hnext_any)
        if (same_but_vlan(&f->key, k)) return f;
    return NULL;
}

struct qw_flow *qw_flow_lookup(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    for (struct qw_flow *f = t->buckets[bucket_of(t, k)]; f; f = f->hnext)
        if (memcmp(&f->key, k, sizeof *k) == 0) return f;
    return NULL;
}

static void list_unlink(struct qw_flow_table *t, struct qw_flow *f)
{
    uint8_t c = f->tclass;
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        t->lists_head[c] = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        t->lists_tail[c] = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void list_append(struct qw_flow_table *t, struct qw_flow *f)
{
    uint8_t c = f->tclass;
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

struct qw_flow *qw_flow_insert(struct qw_flow_table *t, const struct qw_flow_key *k)
{
    if (t->stats.active >= t->cap) return NULL;
    struct qw_flow *f = pool_get(t);
    if (!f) return NULL;
    memset(f, 0, sizeof *f);
    f->key = *k;
    uint32_t b = bucket_of(t, k);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    uint32_t ba = bucket_any_of(t, k);
    f->hnext_any = t->buckets_any[ba];
    t->buckets_any[ba] = f;
    f->tclass = k->proto == 6 ? QW_TCLASS_TCP_NEW
                : k->proto == 17 ? QW_TCLASS_UDP
                                 : QW_TCLASS_OTHER;
    list_append(t, f);
    t->stats.created++;
    t->stats.active++;
    if (t->stats.active > t->stats.peak_active) t->stats.peak_active = t->stats.active;
    return f;
}

void qw_flow_remove(struct qw_flow_table *t, struct qw_flow *f)
{
    struct qw_flow **pp = &t->buckets[bucket_of(t, &f->key)];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    struct qw_flow **pa = &t->buckets_any[bucket_any_of(t, &f->key)];
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
    if (now_ns > f->last_ns) f->last_ns = now_ns;
    if (t->lists_tail[f->tclass] == f && f->tclass == tclass) return;
    list_unlink(t, f);
    f->tclass = tclass;
    list_append(t, f);
}

struct qw_flow *qw_flow_next_expired(struct qw_flow_table *t, uint64_t now_ns)
{
    for (int c = 0; c < QW_TCLASS_COUNT; c++) {
        struct qw_flow *f = t->lists_head[c];
        if (f && now_ns > f->last_ns + (uint64_t)t->timeouts.sec[c] * 1000000000ull) return f;
    }
    return NULL;
}

struct qw_flow *qw_flow_oldest(struct qw_flow_table *t)
{
    struct qw_flow *best = NULL;
    for (int c = 0; c < QW_TCLASS_COUNT; c++) {
        struct qw_flow *f = t->lists_head[c];
        if (f && (!best || f->last_ns < best->last_ns)) best = f;
    }
    return best;
}
