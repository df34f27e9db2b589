/* DNP3 over TCP with the substation RTU power-rtu01 (IEEE 1815-2012; encoders in enc_dnp3.c).
 *
 * The master (scada01) keeps one connection to the outstation: an integrity poll (class 1, 2,
 * 3 and 0) when it connects and every five minutes, a class 1/2/3 event poll every five
 * seconds. Responses carry the static data (16 binary inputs with flags, 8 analog inputs of 16
 * bits with flags) or the analog change events since the last poll; a response with events
 * asks for an application confirm, which the master sends at once.
 *
 * Scripted: an engineering workstation sends a cold restart (function 13); the outstation
 * answers with the time it needs (time delay fine, g52v2), closes the master's connection and
 * is gone until it comes back with a gratuitous ARP. The master reconnects; the first response
 * has IIN1.7 (device restart) set, and the master clears it by writing g80v1 index 7. */
#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/tcp.h"

enum {
    ST_ARP_REQ,
    ST_ARP_REP,
    ST_SYN,
    ST_SYNACK,
    ST_ACK,
    ST_REQ,
    ST_RSP,
    ST_CONFIRM,
    ST_SACK,
    ST_PACK,
    ST_FIN1,
    ST_FIN2,
    ST_LASTACK,
    ST_GARP,
};

enum { Q_INTEGRITY, Q_EVENTS, Q_CLEAR_RESTART, Q_COLD_RESTART };

#define RTU_ADDR 10
#define NBIN 16
#define NANA 8
#define EVENT_POLL_US (5 * SY_SEC)
#define INTEGRITY_US (300 * SY_SEC)
#define RESTART_MS 20000 /* what the outstation says a cold restart takes */

struct dnp3_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *cli, *srv;
    bool poll;       /* the master's polling connection; else the one-off cold restart */
    uint16_t maddr;  /* the master's link address */
    uint8_t state, next_state;
    uint8_t q;       /* what the pending request is */
    uint8_t aseq, mtseq, otseq;
    bool con;        /* the last response asked for a confirm */
    bool restarted;  /* the outstation's IIN1.7 is set */
    uint64_t next_integrity, next_at;
};

/* Analog inputs of the substation: bus voltages (0.01 kV), feeder currents (A), active power
 * (kW), frequency (0.01 Hz), transformer temperature (0.1 C). */
static const struct {
    int16_t base, swing;
    uint16_t period_s;
} analogs[NANA] = {
    {1100, 15, 700}, {1098, 15, 760}, {420, 180, 900}, {385, 160, 1100},
    {310, 140, 1300}, {7900, 2600, 1500}, {6000, 3, 97}, {560, 90, 3600},
};

static int16_t analog(const struct sy *sy, unsigned i)
{
    uint64_t per = (uint64_t)analogs[i].period_s * SY_SEC, half = per / 2;
    uint64_t pos = (sy->now + i * 7919 * SY_MS) % per;
    int64_t tri = (int64_t)(pos < half ? pos : per - pos) * 2 * analogs[i].swing / (int64_t)half;
    return (int16_t)(analogs[i].base - analogs[i].swing + tri);
}

static uint64_t latency(struct sy *sy)
{
    return sy_jit(sy, 3 * SY_MS, 15 * SY_MS);
}

static void then(struct sy *sy, struct dnp3_actor *x, uint64_t at, uint8_t state)
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

static void send(struct sy *sy, struct dnp3_actor *x, int dir, const uint8_t *app, size_t n)
{
    bool m = dir == SY_C2S;
    uint8_t tseq = m ? x->mtseq++ : x->otseq++;
    size_t len = sy_dnp3_frame(sy_tcp_pl(sy), m, m ? RTU_ADDR : x->maddr,
                               m ? x->maddr : RTU_ADDR, tseq, app, n);
    sy_tcp_data(sy, &x->t, dir, len);
}

static void request(struct sy *sy, struct dnp3_actor *x)
{
    uint8_t app[32];
    size_t n;
    x->aseq = (uint8_t)((x->aseq + 1) & 0x0f);
    switch (x->q) {
    case Q_INTEGRITY:
        n = sy_dnp3_read_classes(app, x->aseq, true);
        break;
    case Q_EVENTS:
        n = sy_dnp3_read_classes(app, x->aseq, false);
        break;
    case Q_CLEAR_RESTART:
        sy_ev_key(sy, SY_EV_DNP3_IIN_CLEAR);
        sy_ev_touch(sy, SY_EV_DNP3_IIN_CLEAR);
        n = sy_dnp3_clear_restart(app, x->aseq);
        break;
    default:
        if (x->a.ev) sy_ev_key(sy, x->a.ev);
        n = sy_dnp3_cold_restart(app, x->aseq);
        break;
    }
    send(sy, x, SY_C2S, app, n);
}

static void response(struct sy *sy, struct dnp3_actor *x)
{
    uint8_t app[SY_DNP3_APP_MAX];
    size_t n;
    uint16_t iin = x->restarted ? SY_DNP3_IIN_DEVICE_RESTART : 0;
    x->con = false;
    switch (x->q) {
    case Q_INTEGRITY: {
        uint8_t flags[NBIN];
        int16_t v[NANA];
        uint64_t h = sy_mix(x->srv->ip ^ (sy->now / (600 * SY_SEC)) << 20);
        for (unsigned i = 0; i < NBIN; i++) /* breakers and alarms: mostly steady */
            flags[i] = (uint8_t)(SY_DNP3_FLAG_ONLINE |
                                 (((h >> i) & 1) || i < 6 ? SY_DNP3_FLAG_STATE : 0));
        for (unsigned i = 0; i < NANA; i++) v[i] = analog(sy, i);
        n = sy_dnp3_response(app, x->aseq, false, iin);
        n += sy_dnp3_g1v2(app + n, flags, NBIN);
        n += sy_dnp3_g30v2(app + n, v, NANA);
        break;
    }
    case Q_EVENTS: {
        /* analog changes past their deadband since the last poll: none most of the time */
        unsigned ne = sy_chance(&sy->rng, 2, 5) ? (unsigned)sy_range(&sy->rng, 1, 3) : 0;
        uint8_t idx[3];
        int16_t v[3];
        for (unsigned i = 0; i < ne; i++) {
            idx[i] = (uint8_t)sy_range(&sy->rng, 0, NANA - 1);
            v[i] = analog(sy, idx[i]);
        }
        x->con = ne > 0;
        n = sy_dnp3_response(app, x->aseq, x->con, iin);
        if (ne) n += sy_dnp3_g32v2(app + n, idx, v, ne);
        break;
    }
    case Q_CLEAR_RESTART:
        x->restarted = false;
        x->srv->restart_up_at = SY_NEVER;
        sy_ev_touch(sy, SY_EV_DNP3_IIN_CLEAR);
        n = sy_dnp3_response(app, x->aseq, false, 0);
        break;
    default:
        n = sy_dnp3_response(app, x->aseq, false, iin);
        n += sy_dnp3_g52v2(app + n, RESTART_MS);
        x->srv->restart_at = sy->now + sy_jit(sy, 200 * SY_MS, 800 * SY_MS);
        x->srv->restart_up_at = sy->now + RESTART_MS * SY_MS + sy_jit(sy, 0, 3 * SY_SEC);
        break;
    }
    send(sy, x, SY_S2C, app, n);
}

/* The master's next request after a completed exchange. */
static void plan_next(struct sy *sy, struct dnp3_actor *x)
{
    if (!x->poll) {
        x->state = ST_FIN1;
        x->a.next = sy->now + sy_jit(sy, 2 * SY_MS, 30 * SY_MS);
        return;
    }
    if (x->restarted) {
        x->q = Q_CLEAR_RESTART;
        x->state = ST_REQ;
        x->a.next = sy->now + sy_jit(sy, 5 * SY_MS, 40 * SY_MS);
        return;
    }
    uint64_t at = sy->now + EVENT_POLL_US - 100 * SY_MS + sy_jit(sy, 0, 200 * SY_MS);
    x->q = at >= x->next_integrity ? Q_INTEGRITY : Q_EVENTS;
    then(sy, x, at, ST_REQ);
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct dnp3_actor *x = (struct dnp3_actor *)a;
    struct sy_tcp *t = &x->t;
    uint8_t app[8];
    switch (x->state) {
    case ST_ARP_REQ: /* a client on the outstation's VLAN resolves it first */
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
        sy_tcp_init(sy, t, x->cli, x->srv, SY_DNP3_PORT);
        x->mtseq = (uint8_t)sy_range(&sy->rng, 0, 63);
        x->otseq = (uint8_t)sy_range(&sy->rng, 0, 63);
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
            x->q = Q_INTEGRITY;
            x->restarted = x->srv->restart_up_at <= sy->now;
        } else {
            x->q = Q_COLD_RESTART;
        }
        x->state = ST_REQ;
        a->next = sy->now + sy_jit(sy, 2 * SY_MS, 20 * SY_MS);
        return;
    case ST_REQ:
        if (x->poll && x->srv->restart_at <= sy->now) {
            /* the outstation restarts: its stack closes the connection first */
            sy_ev_touch(sy, SY_EV_DNP3_RESTART);
            sy_tcp_fin(sy, t, SY_S2C);
            x->state = ST_FIN2;
            a->next = sy->now + sy_jit(sy, 200, 2 * SY_MS);
            return;
        }
        if (x->q == Q_INTEGRITY) x->next_integrity = sy->now + INTEGRITY_US;
        request(sy, x);
        x->state = ST_RSP;
        a->next = sy->now + latency(sy);
        return;
    case ST_RSP:
        response(sy, x);
        if (x->con) {
            x->state = ST_CONFIRM;
            a->next = sy->now + sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
        } else {
            plan_next(sy, x);
        }
        return;
    case ST_CONFIRM:
        send(sy, x, SY_C2S, app, sy_dnp3_confirm(app, x->aseq));
        x->state = ST_SACK;
        a->next = sy->now + sy_tcp_ack_delay(x->srv) + sy_jit(sy, 0, 2 * SY_MS);
        return;
    case ST_SACK:
        sy_tcp_ack(sy, t, SY_S2C);
        x->state = ST_REQ;
        x->q = Q_EVENTS;
        {
            uint64_t at = sy->now + EVENT_POLL_US - 300 * SY_MS + sy_jit(sy, 0, 200 * SY_MS);
            if (at >= x->next_integrity) x->q = Q_INTEGRITY;
            a->next = at;
        }
        return;
    case ST_PACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = x->next_state;
        a->next = x->next_at;
        return;
    case ST_FIN1: /* the one-off session: the workstation closes */
        sy_tcp_fin(sy, t, SY_C2S);
        x->state = ST_FIN2;
        a->next = sy->now + latency(sy);
        return;
    case ST_FIN2:
        sy_tcp_fin(sy, t, x->poll ? SY_C2S : SY_S2C);
        x->state = ST_LASTACK;
        a->next = sy->now + sy_jit(sy, 100, 800);
        return;
    case ST_LASTACK:
        sy_tcp_ack(sy, t, x->poll ? SY_S2C : SY_C2S);
        if (!x->poll) {
            a->next = SY_NEVER;
            return;
        }
        x->state = ST_GARP;
        a->next = x->srv->restart_up_at > sy->now ? x->srv->restart_up_at : sy->now + SY_SEC;
        return;
    default: /* ST_GARP: the outstation is back */
        sy_ev_touch(sy, SY_EV_DNP3_RESTART);
        sy_arp_announce(sy, x->srv);
        x->srv->restart_at = SY_NEVER;
        x->state = ST_SYN;
        a->next = sy->now + sy_jit(sy, 2 * SY_SEC, 6 * SY_SEC);
        return;
    }
}

static struct dnp3_actor *make(struct sy *sy, struct sy_dev *cli, struct sy_dev *rtu,
                               uint16_t maddr, uint64_t start)
{
    struct dnp3_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->cli = cli;
    x->srv = rtu;
    x->maddr = maddr;
    x->aseq = (uint8_t)sy_range(&sy->rng, 0, 15);
    x->state = cli->zone == rtu->zone ? ST_ARP_REQ : ST_SYN;
    return x;
}

struct sy_actor *sy_dnp3_master_actor(struct sy *sy, struct sy_dev *master, struct sy_dev *rtu,
                                      uint64_t start)
{
    struct dnp3_actor *x = make(sy, master, rtu, 1, start);
    if (!x) return NULL;
    x->poll = true;
    return &x->a;
}

struct sy_actor *sy_dnp3_cold_restart_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *rtu,
                                            uint64_t start)
{
    struct dnp3_actor *x = make(sy, cli, rtu, 2, start);
    if (!x) return NULL;
    x->a.ev = SY_EV_DNP3_RESTART;
    return &x->a;
}
