/* ARP traffic of one device (RFC 826; announcements per RFC 5227 section 2.3).
 *
 * Each round the device resolves its neighbours (its gateway and the same-VLAN servers it
 * talks to) and each neighbour answers. The gateway is looked up when the request goes out, so
 * after the scripted router swap the new box answers. The first round comes before the
 * device's first conversation, optionally starts with a gratuitous ARP (the device just booted),
 * and lets the gateway resolve the device too, as a router does before its first routed
 * delivery. Later rounds model cache expiry: every four to six minutes. */
#include "synth/actors.h"

enum { OP_GARP, OP_REQ, OP_REP, OP_GW_REQ, OP_GW_REP, OP_END };

struct arp_actor {
    struct sy_actor a;
    struct sy_dev *d;
    struct sy_dev *nb[SY_ARP_MAX_NB]; /* nb[0] unused: the gateway, looked up when needed */
    unsigned nnb, step;
    bool garp, gw_asks, first;
};

static struct sy_dev *neighbour(struct sy *sy, const struct arp_actor *x, unsigned i)
{
    return i == 0 ? sy->m.gw[x->d->zone] : x->nb[i];
}

static int op_at(const struct arp_actor *x, unsigned s, unsigned *i)
{
    if (x->first && x->garp) {
        if (s == 0) return OP_GARP;
        s--;
    }
    if (s < 2 * x->nnb) {
        *i = s / 2;
        return s % 2 ? OP_REP : OP_REQ;
    }
    s -= 2 * x->nnb;
    if (x->first && x->gw_asks) {
        if (s == 0) return OP_GW_REQ;
        if (s == 1) return OP_GW_REP;
    }
    return OP_END;
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct arp_actor *x = (struct arp_actor *)a;
    struct sy_dev *gw = sy->m.gw[x->d->zone];
    unsigned i = 0;
    int op = op_at(x, x->step, &i);
    switch (op) {
    case OP_GARP:
        sy_arp_announce(sy, x->d);
        break;
    case OP_REQ:
        sy_arp_request(sy, x->d, neighbour(sy, x, i)->ip);
        break;
    case OP_REP:
        sy_arp_reply(sy, neighbour(sy, x, i), x->d);
        break;
    case OP_GW_REQ:
        sy_arp_request(sy, gw, x->d->ip);
        break;
    case OP_GW_REP:
        sy_arp_reply(sy, x->d, gw);
        break;
    default:
        break;
    }
    int next = op_at(x, ++x->step, &i);
    if (next == OP_END) {
        x->step = 0;
        x->first = false;
        a->next = sy->now + sy_jit(sy, 240 * SY_SEC, 360 * SY_SEC);
    } else if (next == OP_REP || next == OP_GW_REP) {
        a->next = sy->now + sy_jit(sy, 150, 900); /* the answer */
    } else {
        a->next = sy->now + sy_jit(sy, 2 * SY_MS, 40 * SY_MS);
    }
}

struct sy_actor *sy_arp_actor(struct sy *sy, struct sy_dev *d, struct sy_dev *const *nb,
                              unsigned nnb, bool garp, bool gw_asks, uint64_t start)
{
    struct arp_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->d = d;
    if (nnb > SY_ARP_MAX_NB - 1) nnb = SY_ARP_MAX_NB - 1;
    for (unsigned i = 0; i < nnb; i++) x->nb[i + 1] = nb[i];
    x->nnb = nnb + 1;
    x->garp = garp;
    x->gw_asks = gw_asks;
    x->first = true;
    return &x->a;
}

/* ---- the scripted router swap ---- */

/* The replacement box announces the old gateway's address twice (gratuitous ARP, as routers
 * do when an interface comes up), becomes the zone's gateway, then resolves each controller of
 * the zone as it first delivers routed traffic to it. */
struct swap_actor {
    struct sy_actor a;
    struct sy_dev *box;
    size_t i;
    int step; /* 0, 1: announcements; 2: request for controller i; 3: its reply */
};

static struct sy_dev *zone_controller(struct sy *sy, size_t i)
{
    size_t nc = sy->m.kind[SY_K_CRANE_PLC].n;
    return i < nc ? sy_dev_of(&sy->m, SY_K_CRANE_PLC, i) : sy_dev_of(&sy->m, SY_K_STRADDLE, i - nc);
}

static void swap_fire(struct sy *sy, struct sy_actor *a)
{
    struct swap_actor *x = (struct swap_actor *)a;
    size_t n = sy->m.kind[SY_K_CRANE_PLC].n + sy->m.kind[SY_K_STRADDLE].n;
    switch (x->step) {
    case 0:
        sy_ev_key(sy, SY_EV_ROUTER_SWAP);
        sy_arp_announce(sy, x->box);
        sy->m.gw[x->box->zone] = x->box; /* from now on the zone's traffic goes to the new MAC */
        x->step = 1;
        a->next = sy->now + sy_jit(sy, 1 * SY_SEC, 2 * SY_SEC);
        return;
    case 1:
        sy_arp_announce(sy, x->box);
        x->step = 2;
        a->next = sy->now + sy_jit(sy, 20 * SY_MS, 200 * SY_MS);
        return;
    case 2:
        sy_arp_request(sy, x->box, zone_controller(sy, x->i)->ip);
        x->step = 3;
        a->next = sy->now + sy_jit(sy, 150, 900);
        return;
    default:
        sy_arp_reply(sy, zone_controller(sy, x->i), x->box);
        x->step = 2;
        a->next = ++x->i < n ? sy->now + sy_jit(sy, 1 * SY_MS, 6 * SY_MS) : SY_NEVER;
        return;
    }
}

struct sy_actor *sy_router_swap_actor(struct sy *sy, struct sy_dev *box, uint64_t at)
{
    struct swap_actor *x = sy_actor_new(sy, sizeof *x, swap_fire, at);
    if (!x) return NULL;
    x->box = box;
    x->a.ev = SY_EV_ROUTER_SWAP;
    return &x->a;
}
