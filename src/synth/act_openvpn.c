/* A remote-service box's OpenVPN tunnel over TCP 443 to its vendor's relay, the way such boxes
 * get out through a firewall that only lets web traffic pass.
 *
 * On the wire (draft-openvpn-protocol; over TCP every packet follows a 2-byte big-endian
 * length): the client's P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0: its session id, no
 * acks, message packet id 0), the server's P_CONTROL_HARD_RESET_SERVER_V2 (opcode 8: its own
 * session id, acking the client's packet 0 for the client's session, message packet id 0), the
 * client's P_ACK_V1 (opcode 5) for it, then P_DATA_V2 packets (opcode 9: peer id, encrypted
 * bytes) both ways: keepalive pings every 10 s and bursts while the vendor works through the
 * tunnel. The control channel's TLS handshake is left out: its records would need a real
 * certificate chain to be worth decoding, and without them the tunnel is still an OpenVPN
 * session to every analyser. Ends with a FIN from the box. */
#include <string.h>

#include "synth/actors.h"
#include "synth/tcp.h"

#define OVPN_TCP_PORT 443
#define OP_RESET_CLIENT_V2 7
#define OP_RESET_SERVER_V2 8
#define OP_ACK_V1 5
#define OP_DATA_V2 9
#define SID_LEN 8
#define PING_BYTES 40      /* a keepalive: tag, packet id and the 16-byte ping magic, encrypted */
#define PEER_ID 0x000001u  /* the server's first client */

enum {
    S_SYN,
    S_SYNACK,
    S_ACK,
    S_CRESET,
    S_SRESET,
    S_CACK,
    S_DATA,
    S_CFIN,
    S_SFIN,
    S_CLAST,
};

struct ovpn_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    int step;
    uint8_t sid[2][SID_LEN]; /* each side's session id */
    unsigned burst;          /* data packets still to send in this burst */
    uint64_t end;
};

static uint8_t op_byte(unsigned opcode)
{
    return (uint8_t)(opcode << 3); /* key id 0 */
}

/* A control packet in plain mode: opcode, session id, acks (of packet id 0 for the peer's
 * session when `ack`), then the message packet id 0 unless it is a bare ack. */
static void send_control(struct sy *sy, struct ovpn_actor *x, int dir, unsigned opcode, bool ack)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t n = 2;
    p[n++] = op_byte(opcode);
    memcpy(p + n, x->sid[dir], SID_LEN);
    n += SID_LEN;
    p[n++] = ack ? 1 : 0;
    if (ack) {
        memset(p + n, 0, 4); /* acked message packet id 0 */
        n += 4;
        memcpy(p + n, x->sid[!dir], SID_LEN);
        n += SID_LEN;
    }
    if (opcode != OP_ACK_V1) {
        memset(p + n, 0, 4); /* this message's packet id: the sender's first */
        n += 4;
    }
    p[0] = (uint8_t)((n - 2) >> 8);
    p[1] = (uint8_t)(n - 2);
    sy_tcp_data(sy, &x->t, dir, n);
}

/* A data packet: opcode 9, peer id, then `body` encrypted bytes (even, from the pool). */
static void send_data(struct sy *sy, struct ovpn_actor *x, int dir, size_t body)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t h = 6;
    p[0] = (uint8_t)((h - 2 + body) >> 8);
    p[1] = (uint8_t)(h - 2 + body);
    p[2] = op_byte(OP_DATA_V2);
    p[3] = (uint8_t)(PEER_ID >> 16);
    p[4] = (uint8_t)(PEER_ID >> 8);
    p[5] = (uint8_t)PEER_ID;
    uint64_t tail = sy_pool_fill(&sy->pool, &sy->rng, p + h, body);
    sy_tcp_send_tail(sy, &x->t, dir, SY_TH_PSH | SY_TH_ACK, h + body, h, tail);
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct ovpn_actor *x = (struct ovpn_actor *)a;
    struct sy_tcp *t = &x->t;
    uint64_t d = sy_jit(sy, 30 * SY_MS, 60 * SY_MS); /* a round trip to the relay */
    int next = x->step + 1;
    switch (x->step) {
    case S_SYN:
        sy_tcp_init(sy, t, x->c, x->s, OVPN_TCP_PORT);
        sy_tcp_syn(sy, t);
        break;
    case S_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case S_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 1 * SY_MS, 3 * SY_MS);
        break;
    case S_CRESET:
        send_control(sy, x, SY_C2S, OP_RESET_CLIENT_V2, false);
        break;
    case S_SRESET:
        send_control(sy, x, SY_S2C, OP_RESET_SERVER_V2, true);
        break;
    case S_CACK:
        send_control(sy, x, SY_C2S, OP_ACK_V1, true);
        d = sy_jit(sy, 200 * SY_MS, 900 * SY_MS);
        break;
    case S_DATA:
        if (sy->now >= x->end) {
            next = S_CFIN;
            d = sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
            break;
        }
        if (x->burst == 0 && sy_chance(&sy->rng, 1, 3))
            x->burst = (unsigned)sy_range(&sy->rng, 4, 24); /* the vendor works through it */
        if (x->burst) {
            x->burst--;
            int dir = sy_chance(&sy->rng, 2, 3) ? SY_S2C : SY_C2S;
            send_data(sy, x, dir, 2 * (size_t)sy_range(&sy->rng, 40, 660));
            d = x->burst ? sy_jit(sy, 5 * SY_MS, 80 * SY_MS) : sy_jit(sy, 2 * SY_SEC, 10 * SY_SEC);
        } else {
            send_data(sy, x, sy_chance(&sy->rng, 1, 2) ? SY_C2S : SY_S2C, PING_BYTES);
            d = sy_jit(sy, 9 * SY_SEC, 11 * SY_SEC);
        }
        next = S_DATA;
        break;
    case S_CFIN:
        sy_tcp_fin(sy, t, SY_C2S);
        break;
    case S_SFIN:
        sy_tcp_fin(sy, t, SY_S2C);
        break;
    default:
        sy_tcp_ack(sy, t, SY_C2S);
        a->next = SY_NEVER;
        return;
    }
    x->step = next;
    a->next = sy->now + d;
}

struct sy_actor *sy_openvpn_tcp_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                      uint64_t start, uint64_t duration)
{
    struct ovpn_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = s;
    x->end = start + duration;
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < SID_LEN; i++) x->sid[side][i] = (uint8_t)sy_rand(&sy->rng);
    return &x->a;
}
