/* A TCP SYN ("half-open") port scan, as nmap -sS sends it: one source port for the whole scan,
 * a fresh sequence number and a 1024-octet window per probe, the ports in random order. The
 * target's stack answers a closed port with RST|ACK (sequence 0, acknowledging the SYN) and an
 * open one with SYN|ACK, which the scanner's own kernel, knowing no such connection, resets
 * (RFC 9293 section 3.10.7.1). One probe is answered before the next goes out, so the scan of
 * 1024 ports takes about a second and 2049 frames. */
#include <stdlib.h>

#include "synth/actors.h"
#include "synth/plc.h"
#include "synth/tcp.h"

enum { SC_ARP_REQ, SC_ARP_REP, SC_SYN, SC_REPLY, SC_RST };

struct scan_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    uint16_t sport;
    unsigned i, n;
    int state;
    uint16_t ports[]; /* the scan order */
};

/* Ports the target listens on: Modbus on every controller, S7 on the Siemens ones. */
static bool is_open(const struct sy_dev *s, uint16_t port)
{
    return (s->plc && port == 502) || (s->kind == SY_K_STRADDLE && port == 102);
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct scan_actor *x = (struct scan_actor *)a;
    struct sy_tcp *t = &x->t;
    switch (x->state) {
    case SC_ARP_REQ:
        sy_arp_request(sy, x->c, x->s->ip);
        x->state = SC_ARP_REP;
        a->next = sy->now + sy_jit(sy, 200, 900);
        return;
    case SC_ARP_REP:
        sy_arp_reply(sy, x->s, x->c);
        x->state = SC_SYN;
        a->next = sy->now + sy_jit(sy, 5 * SY_MS, 40 * SY_MS);
        return;
    case SC_SYN:
        if (x->i == 0) sy_ev_key(sy, SY_EV_SCAN);
        t->c = x->c;
        t->s = x->s;
        t->cport = x->sport;
        t->sport = x->ports[x->i];
        t->cnxt = (uint32_t)sy_rand(&sy->rng);
        t->snxt = (uint32_t)sy_rand(&sy->rng);
        t->cwin = 1024;
        t->swin = 8192;
        sy_tcp_syn(sy, t);
        x->state = SC_REPLY;
        a->next = sy->now + sy_jit(sy, 150, 600);
        return;
    case SC_REPLY:
        if (is_open(x->s, t->sport)) {
            sy_tcp_synack(sy, t);
            x->state = SC_RST;
            a->next = sy->now + sy_jit(sy, 30, 120);
            return;
        }
        t->swin = 0;
        sy_tcp_refuse(sy, t);
        break;
    default: /* SC_RST: the scanner's kernel resets the half-open connection */
        t->cwin = 0;
        sy_tcp_send(sy, t, SY_C2S, SY_TH_RST, 0);
        break;
    }
    x->state = SC_SYN;
    a->next = ++x->i < x->n ? sy->now + sy_jit(sy, 100, 800) : SY_NEVER;
}

struct sy_actor *sy_scan_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                               uint16_t first_port, uint16_t last_port, uint64_t start)
{
    unsigned n = (unsigned)(last_port - first_port) + 1u;
    struct scan_actor *x = sy_actor_new(sy, sizeof *x + n * sizeof x->ports[0], fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = s;
    x->n = n;
    x->sport = (uint16_t)sy_range(&sy->rng, 32768, 60999);
    for (unsigned i = 0; i < n; i++) x->ports[i] = (uint16_t)(first_port + i);
    for (unsigned i = n - 1; i > 0; i--) { /* Fisher-Yates */
        unsigned j = (unsigned)sy_range(&sy->rng, 0, i);
        uint16_t p = x->ports[i];
        x->ports[i] = x->ports[j];
        x->ports[j] = p;
    }
    x->state = c->zone == s->zone ? SC_ARP_REQ : SC_SYN;
    x->a.ev = SY_EV_SCAN;
    return &x->a;
}
