/* FTP control connection: commands paired with replies, logins, file operations, data ports.
 *
 * Specifications:
 *   [FTP]  RFC 959, File Transfer Protocol: s.4.1 commands (USER, PASS, ACCT, CWD, CDUP, SMNT,
 *          REIN, QUIT, PORT, PASV, TYPE, STRU, MODE, RETR, STOR, STOU, APPE, ALLO, REST, RNFR,
 *          RNTO, ABOR, DELE, RMD, MKD, PWD, LIST, NLST, SITE, SYST, STAT, HELP, NOOP), s.4.2
 *          replies (three digits, SP or "-" for a multi-line reply that ends with the same code
 *          and SP), s.5.3 command syntax (a 3-4 letter verb, SP, argument, CRLF), s.5.4
 *          command-reply sequences (the greeting 120/220/421 before any command; 1yz replies
 *          are preliminary, a final 2yz-5yz reply follows), s.4.1.1 PORT h1,h2,h3,h4,p1,p2,
 *          s.4.2.2 reply 227 "Entering Passive Mode (h1,h2,h3,h4,p1,p2)".
 *   [EXT]  RFC 2428 (EPRT |af|addr|port|, EPSV and reply 229 "(|||port|)"), RFC 3659 (SIZE,
 *          MDTM, MLST, MLSD, REST STREAM), RFC 2389 (FEAT, OPTS), RFC 775 (XMKD, XRMD, XPWD,
 *          XCWD, XCUP).
 *   [SEC]  RFC 2228 (AUTH, ADAT, PBSZ, PROT, CCC; reply 234 "security data exchange
 *          complete": the TLS handshake follows) and RFC 4217 (AUTH TLS).
 *
 * Commands are answered in order ([FTP] s.5.4), so a FIFO queue of outstanding commands pairs
 * each final reply with the oldest command; preliminary 1yz replies are kept with it. One
 * transaction per command. The password of PASS is never copied: the record says an argument
 * was sent, and an anomaly ftp.cleartext_credentials names the user it was sent for. After
 * AUTH is accepted (234) the connection is TLS: its bytes are counted only.
 *
 * Failed logins: a 530 "Not logged in" ([FTP] s.4.2.2) that answers PASS (the credentials) or
 * USER (the server refuses the user itself, s.5.4) is the device refusing a login; it is
 * reported once per attempt (qw_emit_device_report, "ftp 530") with the user of that USER, so
 * the detector can count guesses. A 530 to any other command (LIST before logging in) is not an
 * attempt, and neither is a 421, a closed connection, or a refused anonymous login (RFC 1635:
 * no secret was offered).
 *
 * Detection: a greeting that names FTP, or a reply code only FTP uses (331, 227, 150...), from
 * the server; or a verb only FTP uses from the client. USER, PASS, QUIT, RETR, LIST... are
 * shared with POP3 and a bare "220" with SMTP, so those alone wait for more (NEED_MORE). The
 * engine then may deliver a server reply before the client command it answers (the command sat
 * in the other direction's probe buffer): replies that arrive before the client said anything
 * are held and paired with the first commands. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define FTP_PORT 21            /* IANA "ftp" */
/* Longest line parsed whole. [FTP] sets no bound; servers cap commands at 512 bytes and
 * reply lines are short. A longer line is cut here (anomaly ftp.line_too_long). */
#define FTP_LINE_MAX 2048u
#define FTP_ARG_KEEP 128u      /* argument / reply text kept per transaction */
#define FTP_BANNER_MAX 128u    /* greeting text reported as identity */
/* Outstanding commands. Clients wait for each reply except around ABOR and pipelined
 * PORT/RETR pairs; past this the oldest is reported unanswered (ftp.command_queue_full). */
#define FTP_QUEUE_MAX 8
#define FTP_PRELIM_MAX 4       /* 1yz preliminary replies kept per command */
#define FTP_HELD_MAX 4         /* replies held until the client's first command */
#define FTP_IAC 0xFFu          /* Telnet escape in the control connection ([FTP] s.4.1.3) */

/* ---- Command table ([FTP] s.4.1, [EXT], [SEC]) --------------------------------------------- */

enum ftp_flag {
    FTP_F_ONLY = 1u << 0,   /* no other common text protocol (SMTP, POP3) uses this verb */
    FTP_F_SECRET = 1u << 1, /* the argument is a secret: never copied */
    FTP_F_PORT = 1u << 2,   /* argument is h1,h2,h3,h4,p1,p2 */
    FTP_F_EPRT = 1u << 3,   /* argument is |af|addr|port| */
    FTP_F_AUTH = 1u << 4,   /* AUTH: a 234 reply starts TLS */
    FTP_F_USER = 1u << 5,
    FTP_F_PASS = 1u << 6,   /* a password in clear: anomaly ftp.cleartext_credentials */
};

struct ftp_cmd {
    const char *verb;
    uint32_t ops;
    uint8_t flags;
};

/* `function` in the record is the index in this table (0 = a verb not listed). */
static const struct ftp_cmd ftp_cmds[] = {
    [0] = {"unknown", 0, 0},
    {"USER", QW_OP_AUTH, FTP_F_USER},
    {"PASS", QW_OP_AUTH, FTP_F_SECRET | FTP_F_PASS},
    {"ACCT", QW_OP_AUTH, FTP_F_ONLY | FTP_F_SECRET},
    {"AUTH", QW_OP_AUTH, FTP_F_AUTH},
    {"ADAT", QW_OP_AUTH, FTP_F_ONLY | FTP_F_SECRET},
    {"PBSZ", QW_OP_AUTH, FTP_F_ONLY},
    {"PROT", QW_OP_AUTH, FTP_F_ONLY},
    {"CCC", QW_OP_AUTH, FTP_F_ONLY},
    {"CWD", 0, FTP_F_ONLY},
    {"XCWD", 0, FTP_F_ONLY},
    {"CDUP", 0, FTP_F_ONLY},
    {"XCUP", 0, FTP_F_ONLY},
    {"SMNT", QW_OP_FILE, FTP_F_ONLY},
    {"REIN", QW_OP_SESSION, FTP_F_ONLY},
    {"QUIT", QW_OP_SESSION, 0},
    {"PORT", QW_OP_SESSION, FTP_F_ONLY | FTP_F_PORT},
    {"PASV", QW_OP_SESSION, FTP_F_ONLY},
    {"EPRT", QW_OP_SESSION, FTP_F_ONLY | FTP_F_EPRT},
    {"EPSV", QW_OP_SESSION, FTP_F_ONLY},
    {"TYPE", 0, FTP_F_ONLY},
    {"STRU", 0, FTP_F_ONLY},
    {"MODE", 0, FTP_F_ONLY},
    {"RETR", QW_OP_FILE, 0},
    {"STOR", QW_OP_FILE | QW_OP_WRITE, FTP_F_ONLY},
    {"STOU", QW_OP_FILE | QW_OP_WRITE, FTP_F_ONLY},
    {"APPE", QW_OP_FILE | QW_OP_WRITE, FTP_F_ONLY},
    {"ALLO", QW_OP_FILE, FTP_F_ONLY},
    {"REST", QW_OP_FILE, FTP_F_ONLY},
    {"RNFR", QW_OP_FILE, FTP_F_ONLY},
    {"RNTO", QW_OP_FILE, FTP_F_ONLY},
    {"ABOR", QW_OP_FILE, FTP_F_ONLY},
    {"DELE", QW_OP_FILE | QW_OP_WRITE, 0},
    {"RMD", QW_OP_FILE | QW_OP_WRITE, FTP_F_ONLY},
    {"XRMD", QW_OP_FILE | QW_OP_WRITE, FTP_F_ONLY},
    {"MKD", QW_OP_FILE, FTP_F_ONLY},
    {"XMKD", QW_OP_FILE, FTP_F_ONLY},
    {"PWD", 0, FTP_F_ONLY},
    {"XPWD", 0, FTP_F_ONLY},
    {"LIST", QW_OP_FILE, 0},
    {"NLST", QW_OP_FILE, FTP_F_ONLY},
    {"MLSD", QW_OP_FILE, FTP_F_ONLY},
    {"MLST", QW_OP_FILE, FTP_F_ONLY},
    {"SIZE", QW_OP_FILE, FTP_F_ONLY},
    {"MDTM", QW_OP_FILE, FTP_F_ONLY},
    {"SITE", QW_OP_FILE, FTP_F_ONLY},
    {"SYST", QW_OP_IDENTIFY, FTP_F_ONLY},
    {"FEAT", QW_OP_IDENTIFY, FTP_F_ONLY},
    {"OPTS", 0, FTP_F_ONLY},
    {"STAT", QW_OP_DIAGNOSTIC, 0},
    {"HELP", 0, 0},
    {"NOOP", 0, 0},
    {"HOST", QW_OP_SESSION, FTP_F_ONLY},
    {"CLNT", QW_OP_IDENTIFY, FTP_F_ONLY},
};
#define FTP_NCMDS (sizeof ftp_cmds / sizeof ftp_cmds[0])

/* Reply codes that SMTP and POP3 never send ([FTP] s.4.2.2 vs RFC 5321 s.4.2.3): a server
 * sending one is an FTP server. */
static const uint16_t ftp_only_codes[] = {110, 120, 125, 150, 212, 213, 215, 225, 226, 227,
                                          228, 229, 230, 232, 257, 331, 332, 350, 425, 426, 532};

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct ftp_reply {
    uint16_t code;
    uint16_t lines;
    uint8_t text_len;
    uint64_t ts_ns;
    char text[FTP_ARG_KEEP];
};

struct ftp_slot {
    uint8_t cmd;          /* index in ftp_cmds */
    bool login_refused;   /* a USER or PASS answered by 530 (shown in the record) */
    uint8_t user_len;     /* USER, PASS: the user the login is for (pipelined logins) */
    char user[64];
    uint8_t arg_len;
    bool arg_present, arg_cut;
    uint8_t nprelim;
    uint16_t prelim[FTP_PRELIM_MAX];
    char verb[5];         /* as sent, for unknown verbs */
    uint64_t ts_ns;
    char arg[FTP_ARG_KEEP];
};

struct ftp_state {
    bool greeting_done, client_started, encrypted, auth_pending, in_multi, skip_line[2];
    bool queue_full_reported;
    uint8_t head, count, nheld;
    char user[64];
    uint8_t user_len;
    struct ftp_slot queue[FTP_QUEUE_MAX];
    struct ftp_reply cur;              /* the reply being read (multi-line) */
    struct ftp_reply held[FTP_HELD_MAX];
    uint64_t enc_bytes[2];
    /* What the transaction being emitted shows (write_json argument). */
    const struct ftp_slot *v_cmd;
    const struct ftp_reply *v_rsp;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static bool ftp_upper(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

static uint8_t ftp_toupper(uint8_t c)
{
    return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Skip Telnet commands in front of a line ([FTP] s.4.1.3: ABOR is sent after IAC IP, IAC DM
 * "synch"): IAC x, IAC WILL/WONT/DO/DONT x. */
static size_t ftp_skip_iac(const uint8_t *l, size_t n)
{
    size_t i = 0;
    while (i + 1 < n && l[i] == FTP_IAC && l[i + 1] != FTP_IAC)
        i += (l[i + 1] >= 251 && l[i + 1] <= 254) ? 3 : 2;
    /* A DM byte that trails an urgent IAC may arrive alone. */
    while (i < n && l[i] == 0xF2) i++;
    return i < n ? i : n;
}

/* Verb of a command line: 3 or 4 letters followed by SP or the end ([FTP] s.5.3). Returns the
 * table index, 0 for an unlisted but well-formed verb, -1 when this is not a command line. */
static int ftp_verb(const uint8_t *l, size_t n, size_t *vlen)
{
    size_t i = 0;
    while (i < n && i < 5 && l[i] != ' ') i++;
    if (i < 3 || i > 4 || (i < n && l[i] != ' ')) return -1;
    char v[5] = {0};
    for (size_t k = 0; k < i; k++) {
        uint8_t c = ftp_toupper(l[k]);
        if (!ftp_upper(c)) return -1;
        v[k] = (char)c;
    }
    *vlen = i;
    for (size_t k = 1; k < FTP_NCMDS; k++)
        if (strcmp(ftp_cmds[k].verb, v) == 0) return (int)k;
    return 0;
}

static int ftp_reply_code(const uint8_t *l, size_t n)
{
    if (n < 3) return -1;
    for (int i = 0; i < 3; i++)
        if (l[i] < '0' || l[i] > '9') return -1;
    if (l[0] < '1' || l[0] > '5') return -1;
    if (n > 3 && l[3] != ' ' && l[3] != '-') return -1;
    return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

static bool ftp_code_only(int code)
{
    for (size_t i = 0; i < sizeof ftp_only_codes / sizeof ftp_only_codes[0]; i++)
        if (ftp_only_codes[i] == code) return true;
    return false;
}

static bool ftp_has_ci(const uint8_t *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && ftp_toupper(s[i + j]) == (uint8_t)w[j]) j++;
        if (j == k) return true;
    }
    return false;
}

/* Up to `max` decimal numbers separated by commas (PORT, 227): how many were read. */
static int ftp_numbers(const uint8_t *s, size_t n, unsigned *out, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        if (s[i] < '0' || s[i] > '9') return k;
        unsigned v = 0;
        size_t d = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && d < 4) {
            v = v * 10 + (unsigned)(s[i++] - '0');
            d++;
        }
        out[k++] = v;
        if (k < max) {
            if (i >= n || s[i] != ',') return k;
            i++;
        }
    }
    return k;
}

/* ---- Record -------------------------------------------------------------------------------- */

/* The data connection address of PORT/EPRT (request) or 227/229 (reply), if any. */
static bool ftp_port_arg(const char *a, size_t n, char *ip, size_t ipcap, unsigned *port)
{
    unsigned v[6];
    if (ftp_numbers((const uint8_t *)a, n, v, 6) == 6) {
        for (int i = 0; i < 6; i++)
            if (v[i] > 255) return false;
        snprintf(ip, ipcap, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
        *port = v[4] * 256 + v[5];
        return true;
    }
    return false;
}

/* EPRT |1|132.235.1.2|6275| or |2|1080::8:800:200C:417A|5282| ([EXT] RFC 2428 s.2); the
229 reply's "|||6446|" leaves the address out (need_ip false). */
static bool ftp_eprt_arg(const char *a, size_t n, bool need_ip, char *ip, size_t ipcap,
                         unsigned *port)
{
    if (n < 5) return false;
    char d = a[0];
    const char *f[4];
    size_t fl[4];
    size_t k = 0, start = 1;
    for (size_t i = 1; i < n && k < 4; i++) {
        if (a[i] != d) continue;
        f[k] = a + start;
        fl[k] = i - start;
        k++;
        start = i + 1;
    }
    if (k < 3 || (need_ip && fl[1] == 0) || fl[1] >= ipcap || fl[2] == 0 || fl[2] > 5) return false;
    memcpy(ip, f[1], fl[1]);
    ip[fl[1]] = '\0';
    unsigned p = 0;
    for (size_t i = 0; i < fl[2]; i++) {
        if (f[2][i] < '0' || f[2][i] > '9') return false;
        p = p * 10 + (unsigned)(f[2][i] - '0');
    }
    if (p > 65535) return false;
    *port = p;
    return true;
}

static void ftp_json_data_port(struct qw_json *j, const char *ip, unsigned port)
{
    qw_json_obj_begin(j, "data_connection");
    if (ip[0]) qw_json_str(j, "ip", ip);
    qw_json_u64(j, "port", port);
    qw_json_obj_end(j);
}

static void ftp_write_json(struct qw_json *j, const void *arg)
{
    const struct ftp_state *st = arg;
    const struct ftp_slot *q = st->v_cmd;
    const struct ftp_reply *r = st->v_rsp;
    char ip[64];
    unsigned port = 0;
    if (q) {
        const struct ftp_cmd *c = &ftp_cmds[q->cmd];
        qw_json_obj_begin(j, "request");
        qw_json_str(j, "command", q->cmd ? c->verb : q->verb);
        if (c->flags & FTP_F_SECRET) {
            qw_json_bool(j, "argument_present", q->arg_present);
        } else if (q->arg_present) {
            qw_json_strn(j, "argument", q->arg, q->arg_len);
            if (q->arg_cut) qw_json_bool(j, "argument_truncated", true);
        }
        ip[0] = '\0';
        if (((c->flags & FTP_F_PORT) && ftp_port_arg(q->arg, q->arg_len, ip, sizeof ip, &port)) ||
            ((c->flags & FTP_F_EPRT) &&
             ftp_eprt_arg(q->arg, q->arg_len, true, ip, sizeof ip, &port)))
            ftp_json_data_port(j, ip, port);
        if (q->nprelim) {
            qw_json_arr_begin(j, "preliminary_replies");
            for (unsigned i = 0; i < q->nprelim; i++) qw_json_u64(j, NULL, q->prelim[i]);
            qw_json_arr_end(j);
        }
        qw_json_obj_end(j);
    }
    if (r) {
        qw_json_obj_begin(j, "response");
        qw_json_u64(j, "code", r->code);
        qw_json_strn(j, "text", r->text, r->text_len);
        if (q && q->login_refused) qw_json_bool(j, "login_failed", true);
        if (r->lines > 1) qw_json_u64(j, "lines", r->lines);
        /* 227 (h1,h2,h3,h4,p1,p2) and 229 (|||port|): the passive data port. */
        const char *t = r->text;
        size_t tl = r->text_len;
        const char *par = memchr(t, '(', tl);
        ip[0] = '\0';
        if (r->code == 227) {
            size_t i = 0;
            while (i < tl && (t[i] < '0' || t[i] > '9')) i++;
            if (par) i = (size_t)(par - t) + 1;
            if (ftp_port_arg(t + i, tl - i, ip, sizeof ip, &port)) ftp_json_data_port(j, ip, port);
        } else if (r->code == 229 && par) {
            size_t i = (size_t)(par - t) + 1;
            if (ftp_eprt_arg(t + i, tl - i, false, ip, sizeof ip, &port))
                ftp_json_data_port(j, ip, port);
        }
        qw_json_obj_end(j);
    }
}

static void ftp_emit(struct qw_pctx *ctx, struct ftp_state *st, const struct ftp_slot *q,
                     const struct ftp_reply *r)
{
    struct qw_txn t = {0};
    t.has_request = q != NULL;
    t.has_response = r != NULL;
    t.function = q ? q->cmd : 0;
    t.function_name = q ? ftp_cmds[q->cmd].verb : "reply";
    t.ops = q ? ftp_cmds[q->cmd].ops : 0;
    t.error = r && r->code >= 400;
    t.request_ns = q ? (q->ts_ns ? q->ts_ns : 1) : 0;
    t.response_ns = r ? (r->ts_ns ? r->ts_ns : 1) : 0;
    st->v_cmd = q;
    st->v_rsp = r;
    t.write_json = ftp_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
    st->v_cmd = NULL;
    st->v_rsp = NULL;
}

static struct ftp_slot *ftp_oldest(struct ftp_state *st)
{
    return st->count ? &st->queue[st->head] : NULL;
}

static void ftp_pop(struct ftp_state *st)
{
    st->head = (uint8_t)((st->head + 1) % FTP_QUEUE_MAX);
    st->count--;
}

/* ---- Failed logins ------------------------------------------------------------------------- */

#define FTP_NOT_LOGGED_IN 530 /* [FTP] s.4.2.2 */

/* Anonymous FTP users (RFC 1635 s.2): their "password" is an e-mail address, not a secret, so a
 * server refusing them turns away a guest, not a guessed credential. */
static const char *const ftp_anonymous_users[] = {"anonymous", "ftp"};

static bool ftp_is_anonymous(const char *u, size_t n)
{
    for (size_t i = 0; i < sizeof ftp_anonymous_users / sizeof ftp_anonymous_users[0]; i++) {
        const char *a = ftp_anonymous_users[i];
        if (strlen(a) != n) continue;
        size_t k = 0;
        while (k < n && ftp_toupper((uint8_t)u[k]) == ftp_toupper((uint8_t)a[k])) k++;
        if (k == n) return true;
    }
    return false;
}

/* A USER or PASS refused with 530: one failed attempt, named by the USER it was for. */
static void ftp_check_refused(struct qw_pctx *ctx, struct ftp_slot *q, const struct ftp_reply *r)
{
    if (!q || r->code != FTP_NOT_LOGGED_IN) return;
    if (!(ftp_cmds[q->cmd].flags & (FTP_F_USER | FTP_F_PASS))) return;
    if (ftp_is_anonymous(q->user, q->user_len)) return;
    q->login_refused = true;
    qw_emit_login_refused(ctx, true, "ftp 530", q->user, q->user_len);
}

/* ---- Replies ------------------------------------------------------------------------------- */

static void ftp_on_reply(struct qw_pctx *ctx, struct ftp_state *st, const struct ftp_reply *r)
{
    /* The greeting ([FTP] s.5.4): 120 (then 220), 220, or 421 before any command. */
    if (!st->greeting_done && (r->code == 220 || r->code == 120 ||
                               (r->code == 421 && st->count == 0))) {
        if (r->code != 120) st->greeting_done = true;
        if (r->code == 220 && r->text_len) {
            size_t n = r->text_len < FTP_BANNER_MAX ? r->text_len : FTP_BANNER_MAX;
            qw_emit_identity(ctx, true, "ftp_banner", r->text, n);
        }
        return;
    }
    st->greeting_done = true;
    if (!st->client_started && st->count == 0) {
        /* Held until the client's first commands arrive (see the banner comment). */
        if (st->nheld < FTP_HELD_MAX) {
            st->held[st->nheld++] = *r;
            return;
        }
        ftp_emit(ctx, st, NULL, r);
        return;
    }
    struct ftp_slot *q = ftp_oldest(st);
    if (r->code < 200) {
        if (q && q->nprelim < FTP_PRELIM_MAX) q->prelim[q->nprelim++] = r->code;
        else if (!q) ftp_emit(ctx, st, NULL, r);
        return;
    }
    if (q && (ftp_cmds[q->cmd].flags & FTP_F_AUTH) && r->code == 234) st->encrypted = true;
    if (q && (ftp_cmds[q->cmd].flags & FTP_F_AUTH)) st->auth_pending = false;
    ftp_check_refused(ctx, q, r);
    ftp_emit(ctx, st, q, r);
    if (q) ftp_pop(st);
}

/* One server line (without CR LF). */
static void ftp_server_line(struct qw_pctx *ctx, struct ftp_state *st, const uint8_t *l,
                            size_t n)
{
    int code = ftp_reply_code(l, n);
    struct ftp_reply *r = &st->cur;
    if (st->in_multi) {
        r->lines++;
        /* The last line repeats the code followed by SP ([FTP] s.4.2). */
        if (code == r->code && (n == 3 || l[3] == ' ')) {
            st->in_multi = false;
            ftp_on_reply(ctx, st, r);
        }
        return;
    }
    if (code < 0) {
        qw_emit_anomaly(ctx, "ftp.invalid_reply", NULL);
        return;
    }
    memset(r, 0, sizeof *r);
    r->code = (uint16_t)code;
    r->lines = 1;
    r->ts_ns = qw_pctx_time(ctx);
    size_t tl = n > 4 ? n - 4 : 0;
    if (tl > FTP_ARG_KEEP) tl = FTP_ARG_KEEP;
    if (tl) memcpy(r->text, l + 4, tl);
    r->text_len = (uint8_t)tl;
    if (n > 3 && l[3] == '-') {
        st->in_multi = true;
        return;
    }
    ftp_on_reply(ctx, st, r);
}

/* ---- Commands ------------------------------------------------------------------------------ */

static void ftp_client_line(struct qw_pctx *ctx, struct ftp_state *st, const uint8_t *l,
                            size_t n)
{
    size_t s = ftp_skip_iac(l, n);
    l += s;
    n -= s;
    if (n == 0) return;
    size_t vlen = 0;
    int idx = ftp_verb(l, n, &vlen);
    if (idx < 0) {
        qw_emit_anomaly(ctx, "ftp.invalid_command", NULL);
        return;
    }
    const struct ftp_cmd *c = &ftp_cmds[idx];
    if (st->count == FTP_QUEUE_MAX) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "ftp.command_queue_full", NULL);
        st->queue_full_reported = true;
        ftp_emit(ctx, st, ftp_oldest(st), NULL);
        ftp_pop(st);
    }
    struct ftp_slot *q = &st->queue[(st->head + st->count) % FTP_QUEUE_MAX];
    memset(q, 0, sizeof *q);
    q->cmd = (uint8_t)idx;
    for (size_t k = 0; k < vlen && k + 1 < sizeof q->verb; k++) q->verb[k] = (char)ftp_toupper(l[k]);
    q->ts_ns = qw_pctx_time(ctx);
    const uint8_t *arg = l + vlen;
    size_t alen = n - vlen;
    if (alen > 0) { /* skip the SP */
        arg++;
        alen--;
    }
    q->arg_present = alen > 0;
    if (!(c->flags & FTP_F_SECRET)) {
        size_t k = alen < FTP_ARG_KEEP ? alen : FTP_ARG_KEEP;
        memcpy(q->arg, arg, k);
        q->arg_len = (uint8_t)k;
        q->arg_cut = k < alen;
    }
    st->count++;
    if (c->flags & FTP_F_USER) {
        size_t k = alen < sizeof st->user ? alen : sizeof st->user;
        memcpy(st->user, arg, k);
        st->user_len = (uint8_t)k;
    }
    if (c->flags & (FTP_F_USER | FTP_F_PASS)) {
        memcpy(q->user, st->user, st->user_len);
        q->user_len = st->user_len;
    }
    if (c->flags & FTP_F_AUTH) st->auth_pending = true;
    if (c->flags & FTP_F_PASS) {
        char d[80];
        snprintf(d, sizeof d, "user %.*s", (int)st->user_len, st->user);
        qw_emit_anomaly(ctx, "ftp.cleartext_credentials", st->user_len ? d : "user (none)");
    }
    /* Replies that arrived before this first command (see the banner comment) answer it. */
    if (!st->client_started) {
        st->client_started = true;
        for (unsigned i = 0; i < st->nheld; i++) ftp_on_reply(ctx, st, &st->held[i]);
        st->nheld = 0;
    }
}

/* ---- Framing ------------------------------------------------------------------------------- */

static size_t ftp_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct ftp_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    /* The client's TLS ClientHello (record type 22) after AUTH: the rest is encrypted. */
    if (!st->encrypted && st->auth_pending && d == 0 && len > 0 && data[0] == 0x16)
        st->encrypted = true;
    while (off < len) {
        if (st->encrypted) {
            st->enc_bytes[d] += len - off;
            return len;
        }
        const uint8_t *line = data + off;
        size_t avail = len - off;
        size_t scan = avail < FTP_LINE_MAX ? avail : FTP_LINE_MAX;
        const uint8_t *lf = memchr(line, '\n', scan);
        if (!lf) {
            if (avail < FTP_LINE_MAX) return off; /* wait for the rest of the line */
            if (!st->skip_line[d]) qw_emit_anomaly(ctx, "ftp.line_too_long", NULL);
            st->skip_line[d] = true;
            off += scan;
            continue;
        }
        size_t used = (size_t)(lf - line) + 1;
        size_t n = used - 1;
        if (n > 0 && line[n - 1] == '\r') n--;
        off += used;
        if (st->skip_line[d]) { /* the tail of a cut line */
            st->skip_line[d] = false;
            continue;
        }
        if (d == 1) ftp_server_line(ctx, st, line, n);
        else ftp_client_line(ctx, st, line, n);
    }
    return off;
}

static void ftp_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct ftp_state *st = state;
    /* Lines resynchronise by themselves; a reply cut by the gap is abandoned. */
    if (dir == QW_DIR_TO_CLIENT) st->in_multi = false;
    st->skip_line[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void ftp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ftp_state *st = state;
    for (unsigned i = 0; i < st->nheld; i++) ftp_emit(ctx, st, NULL, &st->held[i]);
    st->nheld = 0;
    while (st->count) {
        ftp_emit(ctx, st, ftp_oldest(st), NULL);
        ftp_pop(st);
    }
}

/* ---- Probe --------------------------------------------------------------------------------- */

static enum qw_probe_result ftp_probe_server(const uint8_t *data, size_t len)
{
    size_t off = 0;
    bool first = true;
    while (off < len) {
        const uint8_t *l = data + off;
        size_t avail = len - off;
        const uint8_t *lf = memchr(l, '\n', avail);
        size_t n = lf ? (size_t)(lf - l) : avail;
        if (!lf && n < 4) {
            if (!first) return QW_PROBE_NEED_MORE;
            /* Too short for the code and its separator: is it a prefix of one? */
            for (size_t i = 0; i < n; i++)
                if (l[i] < (i == 0 ? '1' : '0') || l[i] > (i == 0 ? '5' : '9')) return QW_PROBE_NO;
            return QW_PROBE_NEED_MORE;
        }
        int code = ftp_reply_code(l, n);
        if (first) {
            if (code < 0) return QW_PROBE_NO;
            if (code != 220 && code != 120 && code != 421 && !ftp_code_only(code))
                return QW_PROBE_NO;
        }
        if (code >= 0 && ftp_code_only(code)) return QW_PROBE_MATCH;
        if (first && (code == 220 || code == 120)) {
            if (ftp_has_ci(l, n, "SMTP") || ftp_has_ci(l, n, "POP3") ||
                ftp_has_ci(l, n, "IMAP"))
                return QW_PROBE_NO;
            if (ftp_has_ci(l, n, "FTP")) return QW_PROBE_MATCH;
        }
        if (!lf) return QW_PROBE_NEED_MORE;
        first = false;
        off += n + 1;
    }
    return QW_PROBE_NEED_MORE;
}

static enum qw_probe_result ftp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (dir == QW_DIR_TO_CLIENT) return ftp_probe_server(data, len);
    size_t s = ftp_skip_iac(data, len);
    const uint8_t *l = data + s;
    size_t avail = len - s;
    const uint8_t *lf = memchr(l, '\n', avail < 520 ? avail : 520);
    if (!lf) {
        /* A prefix of letters may still become a verb. */
        for (size_t i = 0; i < avail && i < 5; i++)
            if (!ftp_upper(ftp_toupper(l[i])) && !(i >= 3 && l[i] == ' ')) return QW_PROBE_NO;
        return avail < 520 ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
    }
    size_t n = (size_t)(lf - l);
    if (n > 0 && l[n - 1] == '\r') n--;
    for (size_t i = 0; i < n; i++)
        if (l[i] < 0x20 && l[i] != '\t') return QW_PROBE_NO;
    size_t vlen = 0;
    int idx = ftp_verb(l, n, &vlen);
    if (idx <= 0) return QW_PROBE_NO;
    const struct ftp_cmd *c = &ftp_cmds[idx];
    if (c->flags & FTP_F_AUTH) {
        /* FTP asks for TLS/SSL ([SEC] RFC 4217 s.4); SMTP's AUTH names a SASL mechanism. */
        const uint8_t *a = l + vlen;
        size_t al = n - vlen;
        if (al >= 4 && (ftp_has_ci(a, al, " TLS") || ftp_has_ci(a, al, " SSL")))
            return QW_PROBE_MATCH;
        return QW_PROBE_NO;
    }
    return (c->flags & FTP_F_ONLY) ? QW_PROBE_MATCH : QW_PROBE_NEED_MORE;
}

const struct qw_proto qw_proto_ftp = {
    .name = "ftp",
    .transports = QW_TRANSPORT_TCP,
    .ports = {FTP_PORT, 0},
    .probe = ftp_probe,
    .state_size = sizeof(struct ftp_state),
    .parse = ftp_parse,
    .gap = ftp_gap,
    .flow_end = ftp_flow_end,
};
