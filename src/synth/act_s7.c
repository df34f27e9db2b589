/* S7comm sessions with the S7-1200 straddle-carrier controllers (ISO-on-TCP, port 102).
 *
 * One state machine: TCP handshake, COTP connection request and confirm (calling TSAP 0x0100,
 * called TSAP by connection type: 0x02xx OP for the SCADA driver, 0x01xx PG for an engineering
 * tool), S7 setup communication (the client asks for a 480-octet PDU, the S7-1200 grants 240),
 * then each step as a request and its answer, then a FIN from the client. The SCADA driver
 * repeats the session now and then (module identification, component identification, a status
 * data block); the scripted attacker's session reads the module identification and sends PLC
 * STOP, after which the CPU is in STOP (its Modbus server, part of the user program, closes). */
#include <string.h>

#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/plc.h"
#include "synth/tcp.h"

enum {
    ST_ARP_REQ,
    ST_ARP_REP,
    ST_SYN,
    ST_SYNACK,
    ST_ACK,
    ST_CR,
    ST_CC,
    ST_SETUP,
    ST_SETUP_ACK,
    ST_REQ,
    ST_RSP,
    ST_PACK,
    ST_FIN1,
    ST_FIN2,
    ST_LASTACK,
};

#define TSAP_CALLING 0x0100
#define STATUS_DB 1
#define STATUS_LEN 16

struct s7_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *cli, *srv;
    struct sy_s7_session_opts o;
    uint8_t state, next_state;
    unsigned si;
    uint16_t ref, cref, sref;
    uint8_t szl_seq;
    uint64_t next_at;
};

static uint64_t latency(struct sy *sy, const struct sy_dev *s)
{
    return s->kind == SY_K_STRADDLE ? sy_jit(sy, 8 * SY_MS, 40 * SY_MS)
                                    : sy_jit(sy, 1500, 8 * SY_MS);
}

/* As in act_modbus.c: a pure ACK from the client when its next segment is further away than
 * its delayed-ACK timer. */
static void then(struct sy *sy, struct s7_actor *x, uint64_t at, uint8_t state)
{
    uint64_t d = sy_tcp_ack_delay(x->cli);
    if (at > sy->now + d + SY_MS) {
        x->next_at = at;
        x->next_state = state;
        x->state = ST_PACK;
        x->a.next = sy->now + d + sy_jit(sy, 0, 2 * SY_MS);
    } else {
        x->state = state;
        x->a.next = at;
    }
}

static size_t request(struct sy *sy, struct s7_actor *x, uint8_t *pl)
{
    uint16_t ref = ++x->ref;
    switch (x->o.steps[x->si]) {
    case SY_S7_SZL_MODULE:
        return sy_s7_szl_req(pl, ref, 0x0011, 0x0000);
    case SY_S7_SZL_COMPONENT:
        return sy_s7_szl_req(pl, ref, 0x001c, 0x0000);
    case SY_S7_READ_DB:
        return sy_s7_read_req(pl, ref, STATUS_DB, 0, STATUS_LEN);
    default: /* SY_S7_STOP */
        if (x->a.ev) sy_ev_key(sy, x->a.ev);
        return sy_s7_plc_stop(pl, false, ref);
    }
}

static size_t response(struct sy *sy, struct s7_actor *x, uint8_t *pl)
{
    const struct sy_dev *d = x->srv;
    switch (x->o.steps[x->si]) {
    case SY_S7_SZL_MODULE:
        return sy_s7_szl11_rsp(pl, x->ref, ++x->szl_seq, SY_S7_ORDER, SY_S7_HW_VERSION,
                               SY_S7_FW_MAJOR, SY_S7_FW_MINOR, SY_S7_FW_PATCH);
    case SY_S7_SZL_COMPONENT: {
        char serial[17];
        sy_s7_serial(d, serial);
        static const uint16_t idx[] = {1, 2, 3, 4, 5, 7};
        const char *text[] = {d->name, d->name, "YARD STRADDLE CARRIERS",
                              "Original Siemens Equipment", serial, SY_S7_MODULE_TYPE};
        return sy_s7_szl1c_rsp(pl, x->ref, ++x->szl_seq, idx, text, 6);
    }
    case SY_S7_READ_DB: {
        /* the carrier's status block: the same process values its Modbus registers show */
        uint16_t regs[STATUS_LEN / 2] = {0};
        uint8_t data[STATUS_LEN];
        uint64_t t = d->cpu_stop_at < sy->now ? d->cpu_stop_at : sy->now; /* STOP freezes it */
        if (d->plc) sy_plc_read_regs(d->plc, t, d->plc->hr_base, STATUS_LEN / 2, regs);
        for (unsigned i = 0; i < STATUS_LEN / 2; i++) sy_put16(data + 2 * i, regs[i]);
        return sy_s7_read_rsp(pl, x->ref, data, STATUS_LEN);
    }
    default:
        x->srv->cpu_stop_at = sy->now; /* RUN -> STOP */
        return sy_s7_plc_stop(pl, true, x->ref);
    }
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct s7_actor *x = (struct s7_actor *)a;
    struct sy_tcp *t = &x->t;
    uint8_t *pl;
    switch (x->state) {
    case ST_ARP_REQ:
        sy_arp_request(sy, x->cli, x->srv->ip);
        x->state = ST_ARP_REP;
        a->next = sy->now + sy_jit(sy, 200, 900);
        return;
    case ST_ARP_REP:
        sy_arp_reply(sy, x->srv, x->cli);
        x->state = ST_SYN;
        a->next = sy->now + sy_jit(sy, 100, 500);
        return;
    case ST_SYN:
        sy_tcp_init(sy, t, x->cli, x->srv, SY_S7_PORT);
        sy_tcp_syn(sy, t);
        x->state = ST_SYNACK;
        a->next = sy->now + latency(sy, x->srv) / 4 + 200;
        return;
    case ST_SYNACK:
        sy_tcp_synack(sy, t);
        x->state = ST_ACK;
        a->next = sy->now + sy_jit(sy, 100, 600);
        return;
    case ST_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = ST_CR;
        a->next = sy->now + sy_jit(sy, 200, 2 * SY_MS);
        return;
    case ST_CR:
        x->cref = (uint16_t)sy_range(&sy->rng, 1, 0xffff);
        sy_tcp_data(sy, t, SY_C2S, sy_cotp_cr(sy_tcp_pl(sy), x->cref, TSAP_CALLING,
                                              x->o.called_tsap));
        x->state = ST_CC;
        a->next = sy->now + latency(sy, x->srv);
        return;
    case ST_CC:
        x->sref = (uint16_t)sy_range(&sy->rng, 1, 0xffff);
        sy_tcp_data(sy, t, SY_S2C, sy_cotp_cc(sy_tcp_pl(sy), x->cref, x->sref, TSAP_CALLING,
                                              x->o.called_tsap));
        x->state = ST_SETUP;
        a->next = sy->now + sy_jit(sy, 300, 3 * SY_MS);
        return;
    case ST_SETUP:
        x->ref = (uint16_t)sy_range(&sy->rng, 0x100, 0x7fff);
        sy_tcp_data(sy, t, SY_C2S, sy_s7_setup(sy_tcp_pl(sy), false, ++x->ref, SY_S7_PDU_REQ));
        x->state = ST_SETUP_ACK;
        a->next = sy->now + latency(sy, x->srv);
        return;
    case ST_SETUP_ACK:
        sy_tcp_data(sy, t, SY_S2C, sy_s7_setup(sy_tcp_pl(sy), true, x->ref, SY_S7_PDU_1200));
        x->si = 0;
        x->state = ST_REQ;
        a->next = sy->now + sy_jit(sy, 300, 3 * SY_MS);
        return;
    case ST_REQ:
        pl = sy_tcp_pl(sy);
        sy_tcp_data(sy, t, SY_C2S, request(sy, x, pl));
        x->state = ST_RSP;
        a->next = sy->now + latency(sy, x->srv);
        return;
    case ST_RSP:
        pl = sy_tcp_pl(sy);
        sy_tcp_data(sy, t, SY_S2C, response(sy, x, pl));
        if (++x->si < x->o.nsteps) {
            then(sy, x, sy->now + sy_jit(sy, x->o.gap_lo, x->o.gap_hi), ST_REQ);
        } else {
            x->state = ST_FIN1;
            a->next = sy->now + sy_jit(sy, 2 * SY_MS, 30 * SY_MS);
        }
        return;
    case ST_PACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = x->next_state;
        a->next = x->next_at;
        return;
    case ST_FIN1:
        sy_tcp_fin(sy, t, SY_C2S);
        x->state = ST_FIN2;
        a->next = sy->now + latency(sy, x->srv) / 4 + 200;
        return;
    case ST_FIN2:
        sy_tcp_fin(sy, t, SY_S2C);
        x->state = ST_LASTACK;
        a->next = sy->now + sy_jit(sy, 100, 800);
        return;
    default: /* ST_LASTACK */
        sy_tcp_ack(sy, t, SY_C2S);
        if (x->o.every_lo == 0) {
            a->next = SY_NEVER;
            return;
        }
        x->state = x->cli->zone == x->srv->zone ? ST_ARP_REQ : ST_SYN;
        a->next = sy->now + sy_jit(sy, x->o.every_lo, x->o.every_hi);
        return;
    }
}

struct sy_actor *sy_s7_session_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *srv,
                                     const struct sy_s7_session_opts *o)
{
    if (o->nsteps == 0) return NULL;
    struct s7_actor *x = sy_actor_new(sy, sizeof *x, fire, o->start);
    if (!x) return NULL;
    x->cli = cli;
    x->srv = srv;
    x->o = *o;
    x->szl_seq = (uint8_t)sy_range(&sy->rng, 0, 200);
    x->state = cli->zone == srv->zone ? ST_ARP_REQ : ST_SYN;
    return &x->a;
}
