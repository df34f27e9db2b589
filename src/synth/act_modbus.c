/* Modbus/TCP conversations: the HMI's polling connections and short scripted sessions
 * (engineering workstation, jump host, vendor VPN, unknown laptop).
 *
 * One state machine serves both. A "cycle" is a list of request/response pairs sent back to
 * back; between cycles the client either acknowledges the last response with a delayed pure ACK
 * (when its next request is further away than its delayed-ACK timer, as real stacks do) or lets
 * the next request carry the acknowledgement. Connections close with a FIN from either side.
 *
 * A Siemens controller's Modbus server is a block of its user program: when its CPU is put in
 * STOP (the scripted S7 PLC STOP), the CPU closes the program's connections, and the HMI's
 * reconnection attempts are refused with RST|ACK every 10-20 s. */
#include <stdlib.h>
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
    ST_REQ,
    ST_RSP,
    ST_PACK,
    ST_FIN1,
    ST_FIN2,
    ST_LASTACK,
    ST_GARP,
    ST_RETRY_SYN, /* the server's CPU is stopped: nothing listens on 502 any more */
    ST_REFUSED,
};

#define STEP_BAD_READ 100 /* FC3 beyond the register window: answered with exception 2 */
#define MAX_CYCLE 6
#define UNIT_ID 1

struct mb_req {
    uint8_t fc;
    uint16_t addr, qty;
    uint16_t val[SY_PLC_MAX_REGS];
};

struct mb_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *cli, *srv;
    bool poll;
    uint8_t state, next_state;
    uint8_t closer; /* SY_C2S or SY_S2C: who sent the first FIN */
    uint16_t tid;
    uint8_t cycle[MAX_CYCLE];
    unsigned ncycle, ci;
    struct mb_req req;
    uint64_t cycle_start, next_at;
    /* polling */
    struct sy_mb_poll_opts po;
    uint64_t next_fc6, next_fc16, roam_at;
    bool exception_pending, maint_pending;
    /* sessions */
    struct sy_mb_session_opts so;
    unsigned si, ti;
    struct sy_dev *targets[]; /* copy of so.targets */
};

/* Server think time by kind: controllers answer in a few ms, straddle carriers over Wi-Fi and
 * gauge hubs (which poll their field bus first) take longer. */
static uint64_t server_latency(struct sy *sy, const struct sy_dev *s)
{
    switch (s->kind) {
    case SY_K_STRADDLE:
        return sy_jit(sy, 8 * SY_MS, 40 * SY_MS);
    case SY_K_GAUGE:
        return sy_jit(sy, 15 * SY_MS, 45 * SY_MS);
    default:
        return sy_jit(sy, 1500, 8 * SY_MS);
    }
}

static uint64_t ack_delay(const struct sy_dev *c)
{
    return sy_tcp_ack_delay(c);
}

static void plan_poll_cycle(struct sy *sy, struct mb_actor *x)
{
    const struct sy_plc *p = x->srv->plc;
    x->ncycle = x->ci = 0;
    if (x->exception_pending && sy->now >= x->po.exception_at) {
        x->cycle[x->ncycle++] = STEP_BAD_READ;
        x->exception_pending = false;
    } else {
        x->cycle[x->ncycle++] = SY_MB_READ_REGS;
    }
    if (p->ncoil) x->cycle[x->ncycle++] = SY_MB_READ_COILS;
    if (x->po.writes && p->sp_n) {
        if (sy->now >= x->next_fc6) {
            x->cycle[x->ncycle++] = SY_MB_WRITE1;
            x->next_fc6 = sy->now + sy_jit(sy, 90 * SY_SEC, 240 * SY_SEC);
        }
        if (sy->now >= x->next_fc16) {
            x->cycle[x->ncycle++] = SY_MB_WRITEN;
            x->next_fc16 = sy->now + sy_jit(sy, 150 * SY_SEC, 400 * SY_SEC);
        }
    }
    x->cycle_start = sy->now;
}

/* Builds the request for the current step into x->req and the frame payload. */
static size_t write_request(struct sy *sy, struct mb_actor *x, uint8_t *pl)
{
    struct sy_plc *p = x->srv->plc;
    struct mb_req *r = &x->req;
    uint16_t tid = ++x->tid;
    switch (x->cycle[x->ci]) {
    case SY_MB_READ_REGS:
        r->fc = SY_MB_FC_READ_HOLDING, r->addr = p->hr_base, r->qty = p->nhr;
        return sy_mb_read_req(pl, tid, UNIT_ID, r->fc, r->addr, r->qty);
    case STEP_BAD_READ:
        r->fc = SY_MB_FC_READ_HOLDING, r->addr = (uint16_t)(p->hr_base + 400), r->qty = 10;
        return sy_mb_read_req(pl, tid, UNIT_ID, r->fc, r->addr, r->qty);
    case SY_MB_READ_COILS:
        r->fc = SY_MB_FC_READ_COILS, r->addr = p->coil_base, r->qty = p->ncoil;
        return sy_mb_read_req(pl, tid, UNIT_ID, r->fc, r->addr, r->qty);
    case SY_MB_DEVID:
        r->fc = SY_MB_FC_MEI, r->addr = 0, r->qty = 0;
        return sy_mb_devid_req(pl, tid, UNIT_ID, 2, 0);
    case SY_MB_WRITE1:
        r->fc = SY_MB_FC_WRITE_SINGLE_REG;
        r->addr = (uint16_t)(p->sp_first + sy_range(&sy->rng, 0, p->sp_n - 1u));
        r->qty = 1;
        r->val[0] = sy_plc_setpoint_value(p, r->addr, sy_rand(&sy->rng));
        return sy_mb_write1(pl, tid, UNIT_ID, r->addr, r->val[0]);
    default: /* SY_MB_WRITEN */
        r->fc = SY_MB_FC_WRITE_MULTI_REGS, r->addr = p->sp_first, r->qty = p->sp_n;
        for (unsigned i = 0; i < r->qty; i++)
            r->val[i] = sy_plc_setpoint_value(p, (uint16_t)(r->addr + i), sy_rand(&sy->rng));
        return sy_mb_writen_req(pl, tid, UNIT_ID, r->addr, r->val, r->qty);
    }
}

static size_t write_response(struct sy *sy, struct mb_actor *x, uint8_t *pl)
{
    struct sy_plc *p = x->srv->plc;
    const struct mb_req *r = &x->req;
    uint16_t regs[SY_PLC_MAX_REGS];
    uint8_t bits[SY_PLC_MAX_REGS / 8 * 2 + 2];
    int ex = 0;
    switch (r->fc) {
    case SY_MB_FC_READ_HOLDING:
        ex = sy_plc_read_regs(p, sy->now, r->addr, r->qty, regs);
        if (!ex) return sy_mb_regs_rsp(pl, x->tid, UNIT_ID, r->fc, regs, r->qty);
        break;
    case SY_MB_FC_READ_COILS:
        ex = sy_plc_read_coils(p, sy->now, r->addr, r->qty, bits);
        if (!ex) return sy_mb_bits_rsp(pl, x->tid, UNIT_ID, r->fc, bits, r->qty);
        break;
    case SY_MB_FC_MEI: {
        const struct sy_dev *d = x->srv;
        const struct sy_vendor *v = &sy_vendors[d->vendor];
        bool updated = sy->now >= d->fw_update_at;
        if (updated && d->fw_ev && sy->ev[d->fw_ev].key == SY_NEVER) { /* first new answer */
            sy_ev_key(sy, d->fw_ev);
            sy_ev_touch(sy, d->fw_ev);
        }
        const char *objs[SY_MB_MAX_OBJS] = {
            v->mb_vendor, v->product_code, updated ? v->revision_new : v->revision,
            v->url, v->product, v->model, d->name};
        return sy_mb_devid_rsp(pl, x->tid, UNIT_ID, 2, objs, SY_MB_MAX_OBJS);
    }
    case SY_MB_FC_WRITE_SINGLE_REG:
        ex = sy_plc_write_regs(p, r->addr, 1, r->val);
        if (!ex) return sy_mb_write1(pl, x->tid, UNIT_ID, r->addr, r->val[0]);
        break;
    default:
        ex = sy_plc_write_regs(p, r->addr, r->qty, r->val);
        if (!ex) return sy_mb_writen_rsp(pl, x->tid, UNIT_ID, r->addr, r->qty);
        break;
    }
    sy_ev_key(sy, SY_EV_EXCEPTION); /* only the scripted bad read gets here */
    sy_ev_touch(sy, SY_EV_EXCEPTION);
    return sy_mb_exception(pl, x->tid, UNIT_ID, r->fc, (uint8_t)ex);
}

/* Schedules the client's next action at `at`, preceded by a delayed pure ACK if the client's
 * timer fires first. */
static void then(struct sy *sy, struct mb_actor *x, uint64_t at, uint8_t state)
{
    uint64_t d = ack_delay(x->cli);
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

static void after_cycle(struct sy *sy, struct mb_actor *x)
{
    if (x->poll) {
        uint64_t t = x->cycle_start + SY_SEC - 30 * SY_MS + sy_jit(sy, 0, 60 * SY_MS);
        if (t <= sy->now) t = sy->now + SY_MS;
        uint64_t close_at = SY_NEVER;
        if (x->maint_pending) close_at = x->po.maint_close;
        if (x->roam_at < close_at) close_at = x->roam_at;
        if (x->srv->cpu_stop_at != SY_NEVER) close_at = sy->now; /* CPU in STOP */
        if (close_at <= t) {
            x->closer = SY_S2C;
            then(sy, x, close_at > sy->now ? close_at : sy->now + SY_MS, ST_FIN1);
        } else {
            plan_poll_cycle(sy, x); /* planned now, sent at t: the plan only uses the clock */
            x->cycle_start = t;
            then(sy, x, t, ST_REQ);
        }
        return;
    }
    if (x->si < x->so.nsteps) {
        x->ncycle = 1;
        x->ci = 0;
        x->cycle[0] = x->so.steps[x->si++];
        then(sy, x, sy->now + sy_jit(sy, x->so.gap_lo, x->so.gap_hi), ST_REQ);
    } else {
        x->closer = SY_C2S;
        x->state = ST_FIN1;
        x->a.next = sy->now + sy_jit(sy, 2 * SY_MS, 30 * SY_MS);
    }
}

static void start_session(struct mb_actor *x, uint64_t at)
{
    x->srv = x->targets[x->ti];
    x->si = 0;
    x->state = x->cli->zone == x->srv->zone ? ST_ARP_REQ : ST_SYN;
    x->a.next = at;
}

static void after_close(struct sy *sy, struct mb_actor *x)
{
    if (x->poll) {
        if (x->srv->cpu_stop_at != SY_NEVER) {
            x->state = ST_RETRY_SYN;
            x->a.next = sy->now + sy_jit(sy, 3 * SY_SEC, 6 * SY_SEC);
        } else if (x->maint_pending && sy->now >= x->po.maint_close) {
            x->maint_pending = false;
            x->state = ST_GARP;
            x->a.next = x->po.maint_reboot > sy->now ? x->po.maint_reboot : sy->now + SY_SEC;
        } else {
            x->roam_at = x->po.roam_lo ? sy->now + sy_jit(sy, x->po.roam_lo, x->po.roam_hi)
                                       : SY_NEVER;
            x->state = ST_GARP;
            x->a.next = sy->now + sy_jit(sy, SY_SEC, 4 * SY_SEC);
        }
        return;
    }
    if (x->so.every_lo == 0) {
        x->a.next = SY_NEVER;
        return;
    }
    x->ti = (x->ti + 1) % x->so.ntargets;
    start_session(x, sy->now + sy_jit(sy, x->so.every_lo, x->so.every_hi));
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct mb_actor *x = (struct mb_actor *)a;
    struct sy_tcp *t = &x->t;
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
        sy_tcp_init(sy, t, x->cli, x->srv, SY_MB_PORT);
        x->tid = (uint16_t)sy_range(&sy->rng, 0, 0x3fff);
        sy_tcp_syn(sy, t);
        x->state = ST_SYNACK;
        a->next = sy->now + sy_jit(sy, 300, 2 * SY_MS);
        return;
    case ST_SYNACK:
        sy_tcp_synack(sy, t);
        x->state = ST_ACK;
        a->next = sy->now + sy_jit(sy, 100, 600);
        return;
    case ST_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        if (x->poll) {
            plan_poll_cycle(sy, x);
        } else {
            x->ncycle = 1;
            x->ci = 0;
            x->cycle[0] = x->so.steps[x->si++];
        }
        x->state = ST_REQ;
        a->next = sy->now + sy_jit(sy, 2 * SY_MS, 20 * SY_MS);
        return;
    case ST_REQ: {
        uint8_t *pl = sy_tcp_pl(sy);
        sy_tcp_data(sy, t, SY_C2S, write_request(sy, x, pl));
        x->state = ST_RSP;
        a->next = sy->now + server_latency(sy, x->srv);
        return;
    }
    case ST_RSP: {
        uint8_t *pl = sy_tcp_pl(sy);
        sy_tcp_data(sy, t, SY_S2C, write_response(sy, x, pl));
        if (++x->ci < x->ncycle) {
            x->state = ST_REQ;
            a->next = sy->now + sy_jit(sy, 300, 2 * SY_MS);
        } else {
            after_cycle(sy, x);
        }
        return;
    }
    case ST_PACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = x->next_state;
        a->next = x->next_at;
        return;
    case ST_FIN1:
        if (x->poll && x->srv->fw_ev && x->maint_pending) sy_ev_touch(sy, x->srv->fw_ev);
        sy_tcp_fin(sy, t, x->closer);
        x->state = ST_FIN2;
        a->next = sy->now + (x->closer == SY_C2S ? server_latency(sy, x->srv)
                                                 : sy_jit(sy, 200, 2 * SY_MS));
        return;
    case ST_FIN2:
        sy_tcp_fin(sy, t, !x->closer);
        x->state = ST_LASTACK;
        a->next = sy->now + sy_jit(sy, 100, 800);
        return;
    case ST_LASTACK:
        sy_tcp_ack(sy, t, x->closer);
        after_close(sy, x);
        return;
    case ST_GARP:
        if (x->srv->fw_ev && sy->now >= x->srv->fw_update_at) sy_ev_touch(sy, x->srv->fw_ev);
        sy_arp_announce(sy, x->srv);
        x->state = ST_SYN;
        a->next = sy->now + sy_jit(sy, 4 * SY_SEC, 8 * SY_SEC);
        return;
    case ST_RETRY_SYN:
        sy_tcp_init(sy, t, x->cli, x->srv, SY_MB_PORT);
        sy_tcp_syn(sy, t);
        x->state = ST_REFUSED;
        a->next = sy->now + server_latency(sy, x->srv);
        return;
    case ST_REFUSED:
        sy_tcp_refuse(sy, t);
        x->state = ST_RETRY_SYN;
        a->next = sy->now + sy_jit(sy, 10 * SY_SEC, 20 * SY_SEC);
        return;
    default:
        a->next = SY_NEVER;
        return;
    }
}

struct sy_actor *sy_mb_poll_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *srv,
                                  const struct sy_mb_poll_opts *o)
{
    struct mb_actor *x = sy_actor_new(sy, sizeof *x, fire, o->start);
    if (!x) return NULL;
    x->poll = true;
    x->cli = cli;
    x->srv = srv;
    x->po = *o;
    x->state = ST_SYN;
    x->next_fc6 = o->start + sy_jit(sy, 30 * SY_SEC, 200 * SY_SEC);
    x->next_fc16 = o->start + sy_jit(sy, 60 * SY_SEC, 300 * SY_SEC);
    x->roam_at = o->roam_lo ? o->start + sy_jit(sy, o->roam_lo, o->roam_hi) : SY_NEVER;
    x->exception_pending = o->exception_at != SY_NEVER;
    x->maint_pending = o->maint_close != SY_NEVER;
    return &x->a;
}

struct sy_actor *sy_mb_session_actor(struct sy *sy, struct sy_dev *cli,
                                     const struct sy_mb_session_opts *o)
{
    if (o->ntargets == 0 || o->nsteps == 0) return NULL;
    struct mb_actor *x =
        sy_actor_new(sy, sizeof *x + o->ntargets * sizeof x->targets[0], fire, o->start);
    if (!x) return NULL;
    x->cli = cli;
    x->so = *o;
    memcpy(x->targets, o->targets, o->ntargets * sizeof x->targets[0]);
    x->so.targets = NULL; /* use our copy */
    start_session(x, o->start);
    return &x->a;
}
