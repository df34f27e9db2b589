/* The generator's run context and the helpers actors use to put frames on the "wire".
 *
 * An actor writes its application payload straight into the next frame slot of the output
 * buffer (sy_udp_pl / sy_tcp_pl), then calls one send helper, which wraps the headers around it
 * and commits the record stamped with the current event time. */
#ifndef QW_SYNTH_EMIT_H
#define QW_SYNTH_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synth/frame.h"
#include "synth/model.h"
#include "synth/payload.h"
#include "synth/pcapout.h"
#include "synth/rng.h"
#include "synth/sched.h"

/* Scripted events (docs/synth.md, "Scripted events"), recorded while the capture is written so
 * that --truth can say exactly when each happened. */
enum sy_ev_id {
    SY_EV_NONE,
    SY_EV_VENDOR_SSH,     /* vendor VPN client -> jump01, SSH */
    SY_EV_JUMP_READ,      /* jump01 reads sts-crane02 (before and after its update) */
    SY_EV_FW_CRANE,       /* sts-crane02 firmware update, covered by CHG-1042 */
    SY_EV_EXCEPTION,      /* the one Modbus exception */
    SY_EV_ROUTER_SWAP,    /* crane router replaced by another box */
    SY_EV_FW_TANK,        /* tank-plc02 firmware update, no change record */
    SY_EV_LAPTOP,         /* unknown laptop on the tank-farm VLAN */
    SY_EV_SCAN,           /* laptop SYN-scans a tank PLC */
    SY_EV_S7_STOP,        /* laptop stops a straddle carrier's CPU (S7comm PLC STOP) */
    SY_EV_VENDOR_DIRECT,  /* vendor VPN client straight to sts-crane03 */
    SY_EV_SERVICE_VPN,    /* the crane vendor's remote-service box dials OpenVPN out */
    SY_EV_TELNET,         /* Telnet login to a tank gauge hub, password in clear */
    SY_EV_EWS_WRITE,      /* tank-ews01 writes a register of sts-crane01 */
    SY_EV_DNP3_RESTART,   /* tank-ews01 cold-restarts power-rtu01 (DNP3 function 13) */
    SY_EV_DNP3_IIN_CLEAR, /* scada01 clears the RTU's restart indication (DNP3 write) */
    SY_EV_CORE_CONFIG,    /* the IT partner reconfigures the core router; its log says so */
    SY_EV_ROUTER_GUESS,   /* the laptop guesses the core router's SSH password; its log says so */
    SY_NEV
};

struct sy_ev {
    uint64_t start, end; /* first and last frame of the event (SY_NEVER: did not happen) */
    uint64_t key;        /* the frame a detector should raise on (SY_NEVER: use start) */
    uint64_t frames;
    struct sy_dev *src, *dst; /* who does it to whom */
    unsigned permille;        /* planned time, per mille of the run */
};

/* The failed logins the core router logged during the password guessing (act_ssh.c), for the
 * truth: when each message was sent and the user name it names. */
#define SY_GUESS_MAX 8 /* attempts at most */
struct sy_guess_log {
    unsigned n;
    uint64_t at[SY_GUESS_MAX];
    const char *user[SY_GUESS_MAX];
};

struct sy {
    struct sy_out out;
    struct sy_model m;
    struct sy_rng rng;
    struct sy_pool pool;
    struct sy_sched sched;
    uint64_t now; /* time of the event being fired, microseconds since the capture start */
    uint64_t end; /* run length in microseconds */
    bool incidents; /* run the scripted events */
    struct sy_ev ev[SY_NEV];
    /* The core router's log and the scripted session that reconfigures it draw from this
     * stream (their actors' `rng`), so adding them left every other frame where it was. */
    struct sy_rng log_rng;
    /* The laptop's password guessing draws from a stream of its own for the same reason. */
    struct sy_rng guess_rng;
    struct sy_guess_log guess;
    uint64_t laptop_up; /* when the unknown laptop has its address (SY_NEVER: no laptop) */
};

/* Records that the frame just sent belongs to scripted event `id`. */
static inline void sy_ev_touch(struct sy *sy, unsigned id)
{
    struct sy_ev *e = &sy->ev[id];
    if (e->start == SY_NEVER) e->start = sy->now;
    e->end = sy->now;
    e->frames++;
}

/* Marks the frame about to be sent (or just sent) as the one a detector should raise on; the
 * first such frame wins. */
static inline void sy_ev_key(struct sy *sy, unsigned id)
{
    if (sy->ev[id].key == SY_NEVER) sy->ev[id].key = sy->now;
}

#define SY_MS 1000ull
#define SY_SEC 1000000ull

/* Random duration in [lo, hi] microseconds: the jitter every timer gets. */
static inline uint64_t sy_jit(struct sy *sy, uint64_t lo, uint64_t hi)
{
    return sy_range(&sy->rng, lo, hi);
}

static inline uint8_t *sy_udp_pl(struct sy *sy)
{
    return sy_out_frame(&sy->out) + SY_UDP_PL;
}

static inline uint8_t *sy_tcp_pl(struct sy *sy)
{
    return sy_out_frame(&sy->out) + SY_TCP_PL;
}

/* UDP datagram with explicit layer 2/3 fields; payload already at sy_udp_pl(). */
void sy_send_udp(struct sy *sy, const struct sy_l3 *h, uint16_t sport, uint16_t dport,
                 size_t plen);

/* Same, for a payload whose bytes from sum_len on came from the pool with sum tail_sum. */
void sy_send_udp_tail(struct sy *sy, const struct sy_l3 *h, uint16_t sport, uint16_t dport,
                      size_t plen, size_t sum_len, uint64_t tail_sum);

/* UDP datagram from one device to another, routed as sy_route() says. */
void sy_udp_dev(struct sy *sy, struct sy_dev *src, const struct sy_dev *dst, uint16_t sport,
                uint16_t dport, size_t plen);

/* ARP (RFC 826, RFC 5227): `who` asks for target_ip; `owner` answers `asker`; announcements
 * (gratuitous ARP: sender and target address both the device's own) and probes (sender address
 * 0.0.0.0) for address conflict detection. */
void sy_arp_request(struct sy *sy, struct sy_dev *who, uint32_t target_ip);
void sy_arp_reply(struct sy *sy, const struct sy_dev *owner, const struct sy_dev *asker);
void sy_arp_announce(struct sy *sy, const struct sy_dev *d);
void sy_arp_probe(struct sy *sy, const struct sy_dev *d);

/* The first hop a device uses towards `dst`: dst itself on the same VLAN, else its gateway. */
const struct sy_dev *sy_next_hop(const struct sy *sy, const struct sy_dev *src,
                                 const struct sy_dev *dst);

#endif
