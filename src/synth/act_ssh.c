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

/* The opening every connection here makes: TCP, banners, KEXINIT both ways, curve25519,
 * NEWKEYS; each actor's own steps follow from O_DONE. */
enum {
    O_SYN,
    O_SYNACK,
    O_ACK,
    O_SBANNER,
    O_CBANNER,
    O_CKEX,
    O_SKEX,
    O_CECDH,
    O_SECDH,
    O_SNEWKEYS,
    O_CNEWKEYS,
    O_DONE,
};

/* What differs between the actors' openings: the banners (with their CR LF) and how long the
 * server takes to sign the key exchange and the client to start once the keys are new. */
struct ssh_opening {
    const char *client_banner, *server_banner;
    uint64_t sign_min, sign_max, start_min, start_max;
};

enum {
    S_CDATA = O_DONE,
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

/* Opening step `step` of connection t from c to s; returns the delay to the next step (`d`,
 * drawn by the caller, unless the step has its own). */
static uint64_t opening_step(struct sy *sy, struct sy_tcp *t, struct sy_dev *c, struct sy_dev *s,
                             int step, const struct ssh_opening *o, uint64_t d)
{
    switch (step) {
    case O_SYN:
        sy_tcp_init(sy, t, c, s, SSH_PORT);
        sy_tcp_syn(sy, t);
        break;
    case O_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case O_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 1 * SY_MS, 4 * SY_MS);
        break;
    case O_SBANNER:
        send_text(sy, t, SY_S2C, o->server_banner, strlen(o->server_banner));
        break;
    case O_CBANNER:
        send_text(sy, t, SY_C2S, o->client_banner, strlen(o->client_banner));
        break;
    case O_CKEX:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, false));
        break;
    case O_SKEX:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_kexinit(sy_tcp_pl(sy), &sy->rng, true));
        break;
    case O_CECDH:
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_ecdh_init(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, o->sign_min, o->sign_max); /* the server's key agreement and signature */
        break;
    case O_SECDH:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_ecdh_reply(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, 50, 200);
        break;
    case O_SNEWKEYS:
        sy_tcp_data(sy, t, SY_S2C, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        break;
    default: /* O_CNEWKEYS */
        sy_tcp_data(sy, t, SY_C2S, sy_ssh_newkeys(sy_tcp_pl(sy), &sy->rng));
        d = sy_jit(sy, o->start_min, o->start_max);
        break;
    }
    return d;
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct ssh_actor *x = (struct ssh_actor *)a;
    struct sy_tcp *t = &x->t;
    uint64_t d = sy_jit(sy, 200, 2 * SY_MS);
    if (x->step < O_DONE) {
        const struct ssh_opening o = {"SSH-2.0-PuTTY_Release_0.81\r\n", x->server_banner,
                                      2 * SY_MS, 6 * SY_MS, 5 * SY_MS, 30 * SY_MS};
        a->next = sy->now + opening_step(sy, t, x->c, x->s, x->step, &o, d);
        x->step++;
        return;
    }
    int next = x->step + 1;
    switch (x->step) {
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
    G_CSERVICE = O_DONE,
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
    /* "publickey,keyboard-interactive,password", partial success false */
    static const size_t failure_len = 1 + 4 + 39 + 1;
    struct sy_tcp *t = &x->t;
    const char *user = guess_user[x->attempt % SY_GUESS_MAX];
    uint64_t d = sy_jit(sy, 200, 2 * SY_MS);
    if (x->step < O_DONE) {
        /* a router's CPU signs slowly */
        static const struct ssh_opening o = {"SSH-2.0-libssh_0.10.6\r\n", SY_SSH_BANNER_CISCO,
                                             20 * SY_MS, 80 * SY_MS, 1 * SY_MS, 5 * SY_MS};
        x->a.next = sy->now + opening_step(sy, t, x->c, x->s, x->step, &o, d);
        x->step++;
        return;
    }
    int next = x->step + 1;
    switch (x->step) {
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
        next = O_SYN;
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
