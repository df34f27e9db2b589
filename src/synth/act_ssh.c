/* An interactive SSH session (RFC 4253): version exchange, KEXINIT both ways, curve25519 key
 * exchange, NEWKEYS, then encrypted packets (framing in enc_ssh.c): short client packets
 * (keystrokes, commands) each answered by one or two server packets (echo, output), the client
 * acknowledging output with a delayed pure ACK while the operator reads and types. Ends with a
 * FIN from the client. */
#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/tcp.h"

#include <string.h>

#define SSH_PORT 22

enum {
    S_SYN,
    S_SYNACK,
    S_ACK,
    S_SBANNER,
    S_CBANNER,
    S_CKEX,
    S_SKEX,
    S_CECDH,
    S_SECDH,
    S_SNEWKEYS,
    S_CNEWKEYS,
    S_CDATA,
    S_SDATA,
    S_CPACK,
    S_CFIN,
    S_SFIN,
    S_CLAST,
};

struct ssh_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    int step;
    unsigned out_left; /* server packets still to send for this command */
    uint64_t end;
    const char *server_banner; /* with its CR LF */
};

/* One encrypted packet of `blocks` cipher blocks: clear length, ciphertext, MAC. */
static void send_encrypted(struct sy *sy, struct ssh_actor *x, int dir, unsigned blocks)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t h = sy_ssh_etm_len(p, blocks);
    size_t body = 16u * blocks + SY_SSH_MAC_LEN;
    uint64_t tail = sy_pool_fill(&sy->pool, &sy->rng, p + h, body);
    sy_tcp_send_tail(sy, &x->t, dir, SY_TH_PSH | SY_TH_ACK, h + body, h, tail);
}

static void send_text(struct sy *sy, struct ssh_actor *x, int dir, const char *s, size_t n)
{
    uint8_t *p = sy_tcp_pl(sy);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)s[i];
    sy_tcp_data(sy, &x->t, dir, n);
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    static const char client_banner[] = "SSH-2.0-PuTTY_Release_0.81\r\n";
    struct ssh_actor *x = (struct ssh_actor *)a;
    struct sy_tcp *t = &x->t;
    uint64_t d = sy_jit(sy, 200, 2 * SY_MS);
    int next = x->step + 1;
    switch (x->step) {
    case S_SYN:
        sy_tcp_init(sy, t, x->c, x->s, SSH_PORT);
        sy_tcp_syn(sy, t);
        break;
    case S_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case S_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 1 * SY_MS, 4 * SY_MS);
        break;
    case S_SBANNER:
        send_text(sy, x, SY_S2C, x->server_banner, strlen(x->server_banner));
        break;
    case S_CBANNER:
        send_text(sy, x, SY_C2S, client_banner, sizeof client_banner - 1);
        break;
    case S_CKEX:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, false));
        break;
    case S_SKEX:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, true));
        break;
    case S_CECDH:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_ecdh_init(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 2 * SY_MS, 6 * SY_MS); /* the server's key agreement and signature */
        break;
    case S_SECDH:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_ecdh_reply(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 50, 200);
        break;
    case S_SNEWKEYS:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        break;
    case S_CNEWKEYS:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 5 * SY_MS, 30 * SY_MS);
        break;
    case S_CDATA:
        send_encrypted(sy, x, SY_C2S, (unsigned)sy_range(&sy->rng, 1, 4));
        x->out_left = (unsigned)sy_range(&sy->rng, 1, 2);
        d = sy_jit(sy, 1 * SY_MS, 10 * SY_MS);
        break;
    case S_SDATA:
        send_encrypted(sy, x, SY_S2C, (unsigned)sy_range(&sy->rng, 1, 60));
        if (--x->out_left > 0) {
            next = S_SDATA;
            d = sy_jit(sy, 100, 3 * SY_MS);
        } else {
            d = 200 * SY_MS; /* the Windows client's delayed ACK */
        }
        break;
    case S_CPACK:
        sy_tcp_ack(sy, t, SY_C2S);
        next = sy->now >= x->end ? S_CFIN : S_CDATA;
        d = sy_jit(sy, 300 * SY_MS, 8 * SY_SEC); /* reading, thinking, typing */
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

struct sy_actor *sy_ssh_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s, uint64_t start,
                              uint64_t duration, const char *server_banner)
{
    struct ssh_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = s;
    x->end = start + duration;
    x->server_banner = server_banner ? server_banner : SY_SSH_BANNER_OPENSSH;
    return &x->a;
}
