/* A Telnet login with the password in clear (RFC 854 Telnet, RFC 855 option negotiation,
 * RFC 857 ECHO, RFC 858 SUPPRESS-GO-AHEAD, RFC 1091 TERMINAL-TYPE, RFC 1073 NAWS).
 *
 * The server offers to echo and to suppress go-ahead and asks for the terminal type and window
 * size; the client agrees, reports its window size and, when asked, its terminal type. Then,
 * in character-at-a-time mode, every keystroke is one segment: the server echoes the user name
 * and the commands but not the password. The session: banner, login prompt, user name,
 * password prompt, password, a command and its output, "exit", and the server closes. */
#include <string.h>

#include "synth/actors.h"
#include "synth/tcp.h"

#define TELNET_PORT 23
#define TEXT_CAP 1400 /* below the MSS: every server message is one segment */
#define IAC 255
#define DONT 254
#define DO 253
#define WONT 252
#define WILL 251
#define SB 250
#define SE 240
#define OPT_ECHO 1
#define OPT_SGA 3
#define OPT_TTYPE 24
#define OPT_NAWS 31
#define TTYPE_IS 0
#define TTYPE_SEND 1

/* The script: server output, or keystrokes typed by the user (echoed or not). */
enum { OP_SRV, OP_KEYS, OP_SECRET, OP_NEG_SRV, OP_NEG_CLI, OP_TTYPE_SEND, OP_TTYPE_IS, OP_END };

struct op {
    uint8_t kind;
    const char *text;
};

enum {
    T_ARP_REQ,
    T_ARP_REP,
    T_SYN,
    T_SYNACK,
    T_ACK,
    T_RUN,   /* the next op of the script */
    T_ECHO,  /* the server echoes a keystroke */
    T_CPACK, /* the client's delayed ACK */
    T_SACK,  /* the server's delayed ACK (password keys are not echoed) */
    T_SFIN,
    T_CFIN,
    T_LAST,
};

struct telnet_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    int state;
    unsigned op, ch;
    const char *user, *password;
    uint8_t echo_byte[2];
    unsigned echo_len;
};

/* The banner and prompts of a Rosemount 2410 tank hub's service console, as scripted here. */
static const struct op script[] = {
    {OP_NEG_SRV, NULL},
    {OP_NEG_CLI, NULL},
    {OP_TTYPE_SEND, NULL},
    {OP_TTYPE_IS, NULL},
    {OP_SRV, "\r\n2410 Tank Hub - service console\r\n\r\n%s login: "},
    {OP_KEYS, "%u\r\n"},
    {OP_SRV, "Password: "},
    {OP_SECRET, "%p\r\n"},
    {OP_SRV, "\r\nLast login: Thu Nov 19 06:12:44 2026 from 10.40.0.50\r\n%s> "},
    {OP_KEYS, "show tanks\r\n"},
    {OP_SRV, "TANK  LEVEL(mm)  TEMP(C)  STATUS\r\n"
             "T-101     8412     18.4  OK\r\n"
             "T-102    11020     19.1  OK\r\n"
             "T-103     2290     17.9  OK\r\n"
             "T-104    13377     18.8  HIGH\r\n%s> "},
    {OP_KEYS, "exit\r\n"},
    {OP_SRV, "logout\r\n"},
    {OP_END, NULL},
};

/* Expands %s (server name), %u (user), %p (password) into out, at most cap octets. */
static size_t expand(const struct telnet_actor *x, const char *f, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; *f; f++) {
        const char *ins = NULL;
        if (f[0] == '%' && f[1]) {
            ins = f[1] == 's' ? x->s->name : f[1] == 'u' ? x->user : x->password;
            f++;
        }
        if (ins) {
            size_t k = strlen(ins);
            if (k > cap - n) k = cap - n;
            memcpy(out + n, ins, k);
            n += k;
        } else if (n < cap) {
            out[n++] = (uint8_t)*f;
        }
    }
    return n;
}

/* The ch-th keystroke of a typed op (an expanded string, at most 64 characters). */
static int keystroke(const struct telnet_actor *x, const struct op *o, unsigned ch, uint8_t *k)
{
    uint8_t buf[64];
    size_t n = expand(x, o->text, buf, sizeof buf);
    if (ch >= n) return 0;
    /* CR LF is one key (Enter), sent as one segment */
    if (buf[ch] == '\r' && ch + 1 < n && buf[ch + 1] == '\n') {
        k[0] = '\r', k[1] = '\n';
        return 2;
    }
    k[0] = buf[ch];
    return 1;
}

static size_t negotiation(int kind, uint8_t *p)
{
    size_t n = 0;
    switch (kind) {
    case OP_NEG_SRV: {
        static const uint8_t b[] = {IAC, DO, OPT_TTYPE, IAC, WILL, OPT_ECHO,
                                    IAC, WILL, OPT_SGA, IAC, DO, OPT_NAWS};
        memcpy(p, b, n = sizeof b);
        break;
    }
    case OP_NEG_CLI: {
        /* agree to all four, then the window size: 120 columns, 30 rows */
        static const uint8_t b[] = {IAC, WILL, OPT_TTYPE, IAC, DO, OPT_ECHO, IAC, DO, OPT_SGA,
                                    IAC, WILL, OPT_NAWS, IAC, SB, OPT_NAWS, 0, 120, 0, 30,
                                    IAC, SE};
        memcpy(p, b, n = sizeof b);
        break;
    }
    case OP_TTYPE_SEND: {
        static const uint8_t b[] = {IAC, SB, OPT_TTYPE, TTYPE_SEND, IAC, SE};
        memcpy(p, b, n = sizeof b);
        break;
    }
    default: { /* OP_TTYPE_IS */
        static const uint8_t b[] = {IAC, SB, OPT_TTYPE, TTYPE_IS, 'A', 'N', 'S', 'I', IAC, SE};
        memcpy(p, b, n = sizeof b);
        break;
    }
    }
    return n;
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct telnet_actor *x = (struct telnet_actor *)a;
    struct sy_tcp *t = &x->t;
    const struct op *o = &script[x->op];
    uint8_t *pl;
    switch (x->state) {
    case T_ARP_REQ:
        sy_arp_request(sy, x->c, x->s->ip);
        x->state = T_ARP_REP;
        a->next = sy->now + sy_jit(sy, 200, 900);
        return;
    case T_ARP_REP:
        sy_arp_reply(sy, x->s, x->c);
        x->state = T_SYN;
        a->next = sy->now + sy_jit(sy, 100, 500);
        return;
    case T_SYN:
        sy_tcp_init(sy, t, x->c, x->s, TELNET_PORT);
        sy_tcp_syn(sy, t);
        x->state = T_SYNACK;
        a->next = sy->now + sy_jit(sy, 2 * SY_MS, 10 * SY_MS);
        return;
    case T_SYNACK:
        sy_tcp_synack(sy, t);
        x->state = T_ACK;
        a->next = sy->now + sy_jit(sy, 100, 600);
        return;
    case T_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = T_RUN;
        a->next = sy->now + sy_jit(sy, 5 * SY_MS, 30 * SY_MS);
        return;
    case T_RUN:
        pl = sy_tcp_pl(sy);
        switch (o->kind) {
        case OP_NEG_SRV:
        case OP_TTYPE_SEND:
        case OP_SRV: {
            size_t n = o->kind == OP_SRV ? expand(x, o->text, pl, TEXT_CAP)
                                         : negotiation(o->kind, pl);
            sy_tcp_data(sy, t, SY_S2C, n);
            x->op++;
            /* the user reads the prompt before typing; negotiation answers come at once */
            a->next = sy->now + (script[x->op].kind == OP_KEYS || script[x->op].kind == OP_SECRET
                                     ? sy_jit(sy, 600 * SY_MS, 2 * SY_SEC)
                                     : sy_jit(sy, 1 * SY_MS, 15 * SY_MS));
            if (script[x->op].kind == OP_END) {
                x->state = T_SFIN;
                a->next = sy->now + sy_jit(sy, 1 * SY_MS, 10 * SY_MS);
            }
            return;
        }
        case OP_NEG_CLI:
        case OP_TTYPE_IS:
            sy_tcp_data(sy, t, SY_C2S, negotiation(o->kind, pl));
            x->op++;
            a->next = sy->now + sy_jit(sy, 2 * SY_MS, 15 * SY_MS);
            return;
        default: { /* OP_KEYS, OP_SECRET: one keystroke */
            uint8_t k[2] = {'\r', '\n'};
            int n = keystroke(x, o, x->ch, k);
            if (n == 0) n = 2; /* a line without its Enter (none in the script): press it */
            memcpy(pl, k, (size_t)n);
            bool enter = k[0] == '\r';
            if (o->kind == OP_SECRET && enter) sy_ev_key(sy, x->a.ev); /* password submitted */
            sy_tcp_data(sy, t, SY_C2S, (size_t)n);
            x->ch += (unsigned)n;
            memcpy(x->echo_byte, k, (size_t)n);
            x->echo_len = (unsigned)n;
            if (o->kind == OP_KEYS || enter) { /* the password is not echoed, Enter is */
                x->state = T_ECHO;
                a->next = sy->now + sy_jit(sy, 1 * SY_MS, 6 * SY_MS);
            } else { /* no echo: the server's delayed ACK, then the next key */
                x->state = T_SACK;
                a->next = sy->now + sy_tcp_ack_delay(x->s) + sy_jit(sy, 0, 2 * SY_MS);
            }
            if (enter) {
                x->op++;
                x->ch = 0;
            }
            return;
        }
        }
    case T_ECHO: {
        pl = sy_tcp_pl(sy);
        memcpy(pl, x->echo_byte, x->echo_len);
        sy_tcp_data(sy, t, SY_S2C, x->echo_len);
        bool was_enter = x->echo_byte[0] == '\r';
        if (was_enter) { /* the server answers the line itself */
            x->state = T_RUN;
            a->next = sy->now + sy_jit(sy, 2 * SY_MS, 40 * SY_MS);
        } else { /* the next keystroke; the client's delayed ACK if the user is slow */
            uint64_t gap = sy_jit(sy, 80 * SY_MS, 320 * SY_MS);
            if (gap > sy_tcp_ack_delay(x->c) + SY_MS) {
                x->state = T_CPACK;
                a->next = sy->now + sy_tcp_ack_delay(x->c);
            } else {
                x->state = T_RUN;
                a->next = sy->now + gap;
            }
        }
        return;
    }
    case T_CPACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->state = T_RUN;
        a->next = sy->now + sy_jit(sy, 10 * SY_MS, 120 * SY_MS);
        return;
    case T_SACK:
        sy_tcp_ack(sy, t, SY_S2C);
        x->state = T_RUN;
        a->next = sy->now + sy_jit(sy, 50 * SY_MS, 220 * SY_MS);
        return;
    case T_SFIN:
        sy_tcp_fin(sy, t, SY_S2C);
        x->state = T_CFIN;
        a->next = sy->now + sy_jit(sy, 200, 2 * SY_MS);
        return;
    case T_CFIN:
        sy_tcp_fin(sy, t, SY_C2S);
        x->state = T_LAST;
        a->next = sy->now + sy_jit(sy, 1 * SY_MS, 8 * SY_MS);
        return;
    default:
        sy_tcp_ack(sy, t, SY_S2C);
        a->next = SY_NEVER;
        return;
    }
}

struct sy_actor *sy_telnet_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                 const char *user, const char *password, uint64_t start)
{
    struct telnet_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = s;
    x->user = user;
    x->password = password;
    x->state = c->zone == s->zone ? T_ARP_REQ : T_SYN;
    x->a.ev = SY_EV_TELNET;
    return &x->a;
}
