/* A TCP connection between two devices, kept consistent for analysers (RFC 9293).
 *
 * Every segment takes its sequence number from the sender's next sequence and acknowledges
 * everything the peer has sent so far; since frames are emitted in time order and never
 * dropped, the capture has no gaps, no unseen acknowledgements and no retransmissions, so
 * Wireshark's TCP analysis stays silent. Windows stay constant so no "window update" appears. */
#ifndef QW_SYNTH_TCP_H
#define QW_SYNTH_TCP_H

#include <stdint.h>

#include "synth/emit.h"

#define SY_C2S 0 /* client to server */
#define SY_S2C 1

struct sy_tcp {
    struct sy_dev *c, *s;
    uint16_t cport, sport;
    uint32_t cnxt, snxt; /* next sequence number each side will send */
    uint16_t cwin, swin;
};

/* Picks a fresh ephemeral port and initial sequence numbers; sends nothing. */
void sy_tcp_init(struct sy *sy, struct sy_tcp *t, struct sy_dev *c, struct sy_dev *s,
                 uint16_t port);

/* Sends one segment; the payload (plen bytes) is already at sy_tcp_pl(). */
void sy_tcp_send(struct sy *sy, struct sy_tcp *t, int dir, uint8_t flags, size_t plen);

/* Same, with payload bytes from sum_len on taken from the pool (their sum is tail_sum). */
void sy_tcp_send_tail(struct sy *sy, struct sy_tcp *t, int dir, uint8_t flags, size_t plen,
                      size_t sum_len, uint64_t tail_sum);

/* Handshake and teardown steps, for the common state machines. */
static inline void sy_tcp_syn(struct sy *sy, struct sy_tcp *t)
{
    sy_tcp_send(sy, t, SY_C2S, SY_TH_SYN, 0);
}
static inline void sy_tcp_synack(struct sy *sy, struct sy_tcp *t)
{
    sy_tcp_send(sy, t, SY_S2C, SY_TH_SYN | SY_TH_ACK, 0);
}
static inline void sy_tcp_ack(struct sy *sy, struct sy_tcp *t, int dir)
{
    sy_tcp_send(sy, t, dir, SY_TH_ACK, 0);
}
static inline void sy_tcp_fin(struct sy *sy, struct sy_tcp *t, int dir)
{
    sy_tcp_send(sy, t, dir, SY_TH_FIN | SY_TH_ACK, 0);
}
static inline void sy_tcp_data(struct sy *sy, struct sy_tcp *t, int dir, size_t plen)
{
    sy_tcp_send(sy, t, dir, SY_TH_PSH | SY_TH_ACK, plen);
}

/* The server refuses the client's SYN (no listener, RFC 9293 section 3.10.7.1): RST|ACK with
 * sequence 0 acknowledging the SYN. */
static inline void sy_tcp_refuse(struct sy *sy, struct sy_tcp *t)
{
    t->snxt = 0;
    sy_tcp_send(sy, t, SY_S2C, SY_TH_RST | SY_TH_ACK, 0);
}

/* Delayed-ACK timer of a host's stack: Windows 200 ms, Linux and embedded stacks 40 ms. */
static inline uint64_t sy_tcp_ack_delay(const struct sy_dev *d)
{
    return d->ttl >= 127 ? 200 * SY_MS : 40 * SY_MS;
}

#endif
