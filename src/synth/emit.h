/* The generator's run context and the helpers actors use to put frames on the "wire".
 *
 * An actor writes its application payload straight into the next frame slot of the output
 * buffer (sy_udp_pl / sy_tcp_pl), then calls one send helper, which wraps the headers around it
 * and commits the record stamped with the current event time. */
#ifndef QW_SYNTH_EMIT_H
#define QW_SYNTH_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "synth/frame.h"
#include "synth/model.h"
#include "synth/payload.h"
#include "synth/pcapout.h"
#include "synth/rng.h"
#include "synth/sched.h"

struct sy {
    struct sy_out out;
    struct sy_model m;
    struct sy_rng rng;
    struct sy_pool pool;
    struct sy_sched sched;
    uint64_t now; /* time of the event being fired, microseconds since the capture start */
    uint64_t end; /* run length in microseconds */
};

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
