/* ARP traffic of one device (RFC 826; announcements per RFC 5227 section 2.3).
 *
 * Each round the device resolves its neighbours (its gateway and the same-VLAN servers it
 * talks to) and each neighbour answers. The first round comes before the device's first
 * conversation, optionally starts with a gratuitous ARP (the device just booted), and lets the
 * gateway resolve the device too, as a router does before its first routed delivery. Later
 * rounds model cache expiry: every four to six minutes. */
#include "synth/actors.h"

enum { OP_GARP, OP_REQ, OP_REP, OP_GW_REQ, OP_GW_REP, OP_END };

struct arp_actor {
    struct sy_actor a;
    struct sy_dev *d;
    struct sy_dev *nb[SY_ARP_MAX_NB];
    unsigned nnb, step;
    bool garp, gw_asks, first;
};

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
        sy_arp_request(sy, x->d, x->nb[i]->ip);
        break;
    case OP_REP:
        sy_arp_reply(sy, x->nb[i], x->d);
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
    if (nnb > SY_ARP_MAX_NB) nnb = SY_ARP_MAX_NB;
    for (unsigned i = 0; i < nnb; i++) x->nb[i] = nb[i];
    x->nnb = nnb;
    x->garp = garp;
    x->gw_asks = gw_asks;
    x->first = true;
    return &x->a;
}
