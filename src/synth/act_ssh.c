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
static void send_encrypted(struct sy *sy, struct sy_tcp *t, int dir, unsigned blocks)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t h = sy_ssh_etm_len(p, blocks);
    size_t body = 16u * blocks + SY_SSH_MAC_LEN;
    uint64_t tail = sy_pool_fill(&sy->pool, &sy->rng, p + h, body);
    sy_tcp_send_tail(sy, t, dir, SY_TH_PSH | SY_TH_ACK, h + body, h, tail);
}

static void send_text(struct sy *sy, struct sy_tcp *t, int dir, const char *s, size_t n)
{
    uint8_t *p = sy_tcp_pl(sy);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)s[i];
    sy_tcp_data(sy, t, dir, n);
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
        send_text(sy, t, SY_S2C, x->server_banner, strlen(x->server_banner));
        break;
    case S_CBANNER:
        send_text(sy, t, SY_C2S, client_banner, sizeof client_banner - 1);
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
        send_encrypted(sy, t, SY_C2S, (unsigned)sy_range(&sy->rng, 1, 4));
        x->out_left = (unsigned)sy_range(&sy->rng, 1, 2);
        d = sy_jit(sy, 1 * SY_MS, 10 * SY_MS);
        break;
    case S_SDATA:
        send_encrypted(sy, t, SY_S2C, (unsigned)sy_range(&sy->rng, 1, 60));
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

/* ---- password guessing against a router's own SSH server ------------------------------------
 *
 * A guessing tool opens one connection per user name and password pair, as libssh-based tools
 * do: TCP, banners, KEXINIT both ways, curve25519, NEWKEYS, then encrypted: the client's
 * SERVICE_REQUEST ("ssh-userauth"), the server's SERVICE_ACCEPT, the client's USERAUTH_REQUEST
 * (method "password"), the router's USERAUTH_FAILURE; the router logs the failure to its
 * collector and closes the connection (FIN from the server), the client closes too. The next
 * attempt follows a few seconds later. */

enum {
    G_SYN,
    G_SYNACK,
    G_ACK,
    G_SBANNER,
    G_CBANNER,
    G_CKEX,
    G_SKEX,
    G_CECDH,
    G_SECDH,
    G_SNEWKEYS,
    G_CNEWKEYS,
    G_CSERVICE,
    G_SSERVICE,
    G_CAUTH,
    G_LOG,
    G_SFAIL,
    G_SFIN,
    G_CFIN,
    G_SLAST,
};

/* The user names the tool tries, one per attempt, in its list's order (default accounts of
 * network gear). Every distinct name comes within the first five attempts, so the users a
 * detector names when the fifth failure raises it are all there are. */
static const char *const guess_user[SY_GUESS_MAX] = {"admin", "cisco", "admin", "root",
                                                     "admin", "cisco", "root", "admin"};

struct guess_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    struct sy_actor *log; /* the router's syslog actor (act_syslog.c) */
    unsigned attempt, attempts;
    int step;
    /* The connections' own IP identification and port counters, swapped in while the actor
     * fires: stacks that number IP datagrams per connection (RFC 6864) make this plausible,
     * and it is what leaves the laptop's and the router's other frames byte for byte as they
     * were before the attempts were added. */
    uint16_t c_ipid, s_ipid, c_eph;
};

/* Encrypted length in 16-byte blocks of a payload of n bytes (RFC 4253 section 6: padding
 * length byte, payload, at least 4 bytes of padding; etm leaves the length in clear). */
static unsigned etm_blocks(size_t n)
{
    return (unsigned)((1 + n + 4 + 15) / 16);
}

static void swap16(uint16_t *a, uint16_t *b)
{
    uint16_t t = *a;
    *a = *b;
    *b = t;
}

static void guess_swap_ids(struct guess_actor *x)
{
    swap16(&x->c->ipid, &x->c_ipid);
    swap16(&x->s->ipid, &x->s_ipid);
    swap16(&x->c->eph, &x->c_eph);
}

static void guess_step(struct sy *sy, struct guess_actor *x)
{
    static const char client_banner[] = "SSH-2.0-libssh_0.10.6\r\n";
    /* "publickey,keyboard-interactive,password", partial success false */
    static const size_t failure_len = 1 + 4 + 39 + 1;
    struct sy_tcp *t = &x->t;
    const char *user = guess_user[x->attempt % SY_GUESS_MAX];
    uint64_t d = sy_jit(sy, 200, 2 * SY_MS);
    int next = x->step + 1;
    switch (x->step) {
    case G_SYN:
        sy_tcp_init(sy, t, x->c, x->s, SSH_PORT);
        sy_tcp_syn(sy, t);
        break;
    case G_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case G_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 1 * SY_MS, 4 * SY_MS);
        break;
    case G_SBANNER:
        send_text(sy, t, SY_S2C, SY_SSH_BANNER_CISCO, sizeof SY_SSH_BANNER_CISCO - 1);
        break;
    case G_CBANNER:
        send_text(sy, t, SY_C2S, client_banner, sizeof client_banner - 1);
        break;
    case G_CKEX:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, false));
        break;
    case G_SKEX:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, true));
        break;
    case G_CECDH:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_ecdh_init(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 20 * SY_MS, 80 * SY_MS); /* a router's CPU signs slowly */
        break;
    case G_SECDH:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_ecdh_reply(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 50, 200);
        break;
    case G_SNEWKEYS:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        break;
    case G_CNEWKEYS:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
        break;
    case G_CSERVICE: /* SERVICE_REQUEST "ssh-userauth" */
        send_encrypted(sy, t, SY_C2S, etm_blocks(1 + 4 + 12));
        break;
    case G_SSERVICE: /* SERVICE_ACCEPT "ssh-userauth" */
        send_encrypted(sy, t, SY_S2C, etm_blocks(1 + 4 + 12));
        break;
    case G_CAUTH: {
        /* USERAUTH_REQUEST: user, "ssh-connection", "password", FALSE, the password (6-12
         * characters from the tool's list) */
        size_t n = 1 + (4 + strlen(user)) + (4 + 14) + (4 + 8) + 1 + 4 + sy_range(&sy->rng, 6, 12);
        send_encrypted(sy, t, SY_C2S, etm_blocks(n));
        d = sy_jit(sy, 40 * SY_MS, 250 * SY_MS); /* the router checks the password */
        break;
    }
    case G_LOG: {
        struct sy_guess_log *g = &sy->guess;
        sy_syslog_login_failed(sy, x->log, user, x->c);
        if (g->n < SY_GUESS_MAX) {
            g->at[g->n] = sy->now;
            g->user[g->n] = user;
        }
        /* the fifth failure within five minutes is the one a detector raises on */
        if (++g->n == 5) sy_ev_key(sy, x->a.ev);
        d = sy_jit(sy, 100, 1 * SY_MS);
        break;
    }
    case G_SFAIL:
        send_encrypted(sy, t, SY_S2C, etm_blocks(failure_len));
        d = sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
        break;
    case G_SFIN: /* one try per connection: the router closes */
        sy_tcp_fin(sy, t, SY_S2C);
        break;
    case G_CFIN:
        sy_tcp_fin(sy, t, SY_C2S);
        break;
    default: /* G_SLAST */
        sy_tcp_ack(sy, t, SY_S2C);
        if (++x->attempt >= x->attempts) {
            x->a.next = SY_NEVER;
            return;
        }
        next = G_SYN;
        d = sy_jit(sy, 1500 * SY_MS, 3 * SY_SEC); /* the tool's pause between tries */
        break;
    }
    x->step = next;
    x->a.next = sy->now + d;
}

static void guess_fire(struct sy *sy, struct sy_actor *a)
{
    struct guess_actor *x = (struct guess_actor *)a;
    guess_swap_ids(x);
    guess_step(sy, x);
    guess_swap_ids(x);
}

struct sy_actor *sy_ssh_guess_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                    struct sy_actor *log, uint64_t start, unsigned attempts,
                                    struct sy_rng *r)
{
    struct guess_actor *x = sy_actor_new(sy, sizeof *x, guess_fire, start);
    if (!x) return NULL;
    x->a.rng = r;
    x->c = c;
    x->s = s;
    x->log = log;
    x->attempts = attempts;
    x->c_ipid = (uint16_t)sy_rand(r);
    x->s_ipid = (uint16_t)sy_rand(r);
    x->c_eph = (uint16_t)sy_range(r, 49152, 65535 - SY_GUESS_MAX);
    return &x->a;
}
