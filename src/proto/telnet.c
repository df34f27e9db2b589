/* Telnet: option negotiation, subnegotiation, the login dialogue and a session summary.
 *
 * Specifications:
 *   [TEL]   RFC 854, Telnet Protocol Specification: the NVT, IAC (255) and the commands SE 240,
 *           NOP 241, DM 242, BRK 243, IP 244, AO 245, AYT 246, EC 247, EL 248, GA 249, SB 250,
 *           WILL 251, WONT 252, DO 253, DONT 254; IAC IAC is a data byte 255; end of line is
 *           CR LF, a bare CR is CR NUL.
 *   [OPT]   RFC 855, option negotiation and subnegotiation (IAC SB option ... IAC SE).
 *   Options: RFC 856 binary (0), 857 echo (1), 858 suppress go ahead (3), 859 status (5), 860
 *           timing mark (6), 1091 terminal type (24; IS 0 / SEND 1), 1073 NAWS (31; width and
 *           height, 16 bits each), 1079 terminal speed (32), 1372 toggle flow control (33),
 *           1184 linemode (34), 1096 X display location (35), 1408 environment (36), 2941
 *           authentication (37), 2946 encryption (38; START 3 means the sender's data that
 *           follows is encrypted), 1572 new environment (39; IS 0 / INFO 2, VAR 0, VALUE 1,
 *           ESC 2, USERVAR 3), 2355 TN3270E (40), 2217 COM port control (44).
 *
 * Telnet has no framing: each direction is decoded byte by byte by a small state machine, so a
 * command or subnegotiation split over segments needs no buffering beyond it. The NVT text is
 * read for the login dialogue: the server's current line is watched for a login prompt
 * ("login:", "Username:", "User name:") or a password prompt ("Password:"); the client line
 * typed after a login prompt is the user name, the line typed after a password prompt is the
 * password, which is never kept: it raises telnet.cleartext_credentials naming the user. A
 * prompt is bound to a client line when the line's first character is typed, because in
 * character mode the server echoes each character into its current line. Lines typed after the
 * password are counted as commands; a new login prompt or a "login incorrect" style message
 * after a password counts a failed login, and is reported as one (qw_emit_device_report,
 * "telnet login failed", with the login typed): the detector counts guesses per source.
 *
 * The first non-empty server line before the first prompt is the banner (devices name
 * themselves there): identity fact `telnet_banner` about the server. One transaction per
 * connection, emitted when the flow ends. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits and codes ---------------------------------------------------------------------- */

#define TN_PORT 23            /* IANA "telnet" */
#define TN_IAC 255
#define TN_SE 240
#define TN_SB 250
#define TN_WILL 251
#define TN_DONT 254
#define TN_SB_MAX 64          /* subnegotiation bytes kept: names and sizes are short */
#define TN_LINE_MAX 128       /* server line watched for prompts; client line kept */
#define TN_BANNER_MAX 128
#define TN_USER_MAX 64
#define TN_TERM_MAX 40        /* RFC 1091 s.3: terminal type names are at most 40 chars */
/* Probe: text without any IAC is claimed only when it ends in a login prompt; such text
 * waits for more bytes up to this length. */
#define TN_PROBE_TEXT_MAX 512

/* Option names, index = option code (the IANA telnet options registry). */
static const char *const tn_opt_names[256] = {
    [0] = "binary", [1] = "echo", [2] = "reconnection", [3] = "suppress_go_ahead",
    [4] = "message_size", [5] = "status", [6] = "timing_mark", [7] = "rcte",
    [8] = "line_width", [9] = "page_size", [10] = "naocrd", [11] = "naohts", [12] = "naohtd",
    [13] = "naoffd", [14] = "naovts", [15] = "naovtd", [16] = "naolfd", [17] = "extend_ascii",
    [18] = "logout", [19] = "bm", [20] = "det", [21] = "supdup", [22] = "supdup_output",
    [23] = "send_location", [24] = "terminal_type", [25] = "end_of_record", [26] = "tuid",
    [27] = "outmrk", [28] = "ttyloc", [29] = "3270_regime", [30] = "x3_pad",
    [31] = "naws", [32] = "terminal_speed", [33] = "toggle_flow_control", [34] = "linemode",
    [35] = "x_display_location", [36] = "environment", [37] = "authentication",
    [38] = "encryption", [39] = "new_environment", [40] = "tn3270e", [41] = "xauth",
    [42] = "charset", [43] = "rsp", [44] = "com_port_control", [45] = "suppress_local_echo",
    [46] = "start_tls", [47] = "kermit", [48] = "send_url", [49] = "forward_x",
    [138] = "pragma_logon", [139] = "sspi_logon", [140] = "pragma_heartbeat",
    [255] = "extended_options_list",
};

/* Command names for IAC 240..254 ([TEL]). */
static const char *const tn_cmd_names[15] = {
    "se", "nop", "dm", "brk", "ip", "ao", "ayt", "ec", "el", "ga", "sb", "will", "wont", "do",
    "dont",
};

/* Prompts, matched case-insensitively at the end of the server's current line (trailing
 * spaces ignored). */
static const char *const tn_login_prompts[] = {"login:", "username:", "user name:", "user:",
                                               "login as:", "userid:", "user id:"};
static const char *const tn_pass_prompts[] = {"password:", "passcode:", "passwd:"};
/* Messages that follow a rejected password. */
static const char *const tn_fail_words[] = {"incorrect", "invalid", "failed", "denied",
                                            "bad password", "authentication fail"};

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum tn_rx {
    TN_RX_DATA = 0, TN_RX_IAC, TN_RX_OPT, TN_RX_SB_OPT, TN_RX_SB, TN_RX_SB_IAC, TN_RX_CR,
};

enum tn_prompt { TN_P_NONE = 0, TN_P_LOGIN, TN_P_PASSWORD };

enum tn_stage {
    TN_S_PRE = 0,   /* before any credentials */
    TN_S_USER,      /* a user name was typed */
    TN_S_PASS,      /* a password was typed: waiting for the outcome */
    TN_S_SESSION,   /* commands are being typed */
};

struct tn_side {
    uint8_t rx;           /* tn_rx */
    uint8_t verb;         /* the WILL..DONT being read */
    uint8_t sb_opt;
    uint8_t sb_len;
    bool sb_cut, seen, encrypted;
    bool bad_cmd_reported, bad_sb_reported; /* each anomaly once per direction */
    uint8_t sb[TN_SB_MAX];
    uint32_t iac_counts[15]; /* IAC 240..254 */
    uint8_t opts[4][32];     /* option bitsets for WILL, WONT, DO, DONT */
    uint64_t data_bytes, enc_bytes;
    uint64_t first_ns;
};

struct tn_state {
    struct tn_side side[2];
    /* Server's current line (since the last LF), for prompts. */
    uint8_t sline_len;
    char sline[TN_LINE_MAX];
    uint8_t prompt;        /* tn_prompt at the end of the server's current line */
    bool sline_dirty;      /* server text arrived since the prompt was last looked for */
    bool banner_done;
    uint8_t banner_len;
    char banner[TN_BANNER_MAX];
    /* Client's line being typed. */
    uint8_t cline_len;
    bool cline_started;
    uint8_t cline_prompt;  /* prompt in effect when the line's first character was typed */
    char cline[TN_USER_MAX];
    uint8_t stage;
    bool logged_in;
    uint8_t user_len;
    char user[TN_USER_MAX];
    uint8_t env_user_len;
    char env_user[TN_USER_MAX];
    uint8_t term_len;
    char term[TN_TERM_MAX + 1];
    uint8_t speed_len;
    char speed[32];
    bool naws_seen, env_attack_reported;
    uint16_t naws_w, naws_h;
    uint32_t login_prompts, password_prompts, passwords_sent, failed_logins, commands;
    bool emitted;
};

/* ---- Text ---------------------------------------------------------------------------------- */

static uint8_t tn_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool tn_ends_with(const char *s, size_t n, const char *suffix)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    size_t k = strlen(suffix);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++)
        if (tn_lower((uint8_t)s[n - k + i]) != (uint8_t)suffix[i]) return false;
    return true;
}

static bool tn_contains(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && tn_lower((uint8_t)s[i + j]) == (uint8_t)w[j]) j++;
        if (j == k) return true;
    }
    return false;
}

static uint8_t tn_prompt_of(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof tn_pass_prompts / sizeof tn_pass_prompts[0]; i++)
        if (tn_ends_with(s, n, tn_pass_prompts[i])) return TN_P_PASSWORD;
    for (size_t i = 0; i < sizeof tn_login_prompts / sizeof tn_login_prompts[0]; i++)
        if (tn_ends_with(s, n, tn_login_prompts[i])) return TN_P_LOGIN;
    return TN_P_NONE;
}

/* Trim spaces and control characters at both ends. */
static size_t tn_trim(const char *s, size_t n, size_t *start)
{
    size_t a = 0;
    while (a < n && (uint8_t)s[a] <= ' ') a++;
    while (n > a && (uint8_t)s[n - 1] <= ' ') n--;
    *start = a;
    return n - a;
}

static void tn_set_banner(struct qw_pctx *ctx, struct tn_state *st, const char *s, size_t n)
{
    size_t a;
    n = tn_trim(s, n, &a);
    if (n == 0 || st->banner_done) return;
    st->banner_done = true;
    if (n > TN_BANNER_MAX) n = TN_BANNER_MAX;
    memcpy(st->banner, s + a, n);
    st->banner_len = (uint8_t)n;
    qw_emit_identity(ctx, true, "telnet_banner", st->banner, n);
}

/* The server refused the password just typed: count it, and report it as a refused login
 * named by the login typed (or the one the client's environment gave). */
static void tn_login_failed(struct qw_pctx *ctx, struct tn_state *st)
{
    st->failed_logins++;
    const char *u = st->user_len ? st->user : st->env_user;
    size_t ul = st->user_len ? st->user_len : st->env_user_len;
    qw_emit_login_refused(ctx, true, "telnet login failed", u, ul);
}

static void tn_check_failure(struct qw_pctx *ctx, struct tn_state *st, const char *s, size_t n)
{
    if (st->stage != TN_S_PASS) return;
    for (size_t i = 0; i < sizeof tn_fail_words / sizeof tn_fail_words[0]; i++) {
        if (tn_contains(s, n, tn_fail_words[i])) {
            tn_login_failed(ctx, st);
            st->stage = TN_S_PRE;
            return;
        }
    }
}

/* A command prompt: the line ends in one of the usual shell or CLI prompt characters. */
static bool tn_shell_prompt(const char *s, size_t n)
{
    while (n > 0 && s[n - 1] == ' ') n--;
    if (n == 0) return false;
    char c = s[n - 1];
    return c == '$' || c == '#' || c == '>' || c == '%';
}

/* The server's current line changed: look for a prompt at its end. */
static void tn_server_prompt(struct qw_pctx *ctx, struct tn_state *st)
{
    if (!st->sline_dirty) return;
    st->sline_dirty = false;
    uint8_t p = tn_prompt_of(st->sline, st->sline_len);
    if (p == TN_P_NONE && st->stage == TN_S_PASS && tn_shell_prompt(st->sline, st->sline_len)) {
        /* A shell prompt right after the password: the login worked. */
        st->stage = TN_S_SESSION;
        st->logged_in = true;
    }
    if (p == st->prompt) return;
    st->prompt = p;
    if (p == TN_P_NONE) return;
    if (p == TN_P_LOGIN) {
        st->login_prompts++;
        /* A login prompt after a password: that login failed. */
        if (st->stage == TN_S_PASS) tn_login_failed(ctx, st);
        if (st->stage != TN_S_SESSION) st->stage = TN_S_PRE;
    } else {
        st->password_prompts++;
    }
    /* The banner is the first line of text before the first prompt; none when the prompt
     * itself comes first. */
    st->banner_done = true;
}

static void tn_server_text(struct qw_pctx *ctx, struct tn_state *st, uint8_t c)
{
    if (c == '\n') {
        size_t a;
        size_t n = tn_trim(st->sline, st->sline_len, &a);
        if (n && !st->banner_done) tn_set_banner(ctx, st, st->sline + a, n);
        tn_check_failure(ctx, st, st->sline, st->sline_len);
        st->sline_len = 0;
        st->prompt = TN_P_NONE;
        return;
    }
    if (c == '\r' || c == 0) return;
    st->sline_dirty = true;
    if (st->sline_len == TN_LINE_MAX) {
        /* Keep the newest half: prompts are at the end. */
        memmove(st->sline, st->sline + TN_LINE_MAX / 2, TN_LINE_MAX / 2);
        st->sline_len = TN_LINE_MAX / 2;
    }
    st->sline[st->sline_len++] = (char)c;
}

static void tn_client_line_done(struct qw_pctx *ctx, struct tn_state *st)
{
    if (!st->cline_started) return;
    st->cline_started = false;
    size_t a;
    size_t n = tn_trim(st->cline, st->cline_len, &a);
    switch (st->cline_prompt) {
    case TN_P_LOGIN:
        memcpy(st->user, st->cline + a, n);
        st->user_len = (uint8_t)n;
        qw_emit_session_user(ctx, "telnet_login", st->user, n);
        st->stage = TN_S_USER;
        break;
    case TN_P_PASSWORD: {
        char d[TN_USER_MAX + 8];
        const char *u = st->user_len ? st->user : st->env_user;
        size_t ul = st->user_len ? st->user_len : st->env_user_len;
        if (ul) snprintf(d, sizeof d, "user %.*s", (int)ul, u);
        else snprintf(d, sizeof d, "password only");
        qw_emit_anomaly(ctx, "telnet.cleartext_credentials", d);
        st->passwords_sent++;
        st->stage = TN_S_PASS;
        break;
    }
    default:
        if (st->stage == TN_S_PRE) break; /* typed before any login: not a session command */
        st->stage = TN_S_SESSION;
        st->logged_in = true;
        if (n) st->commands++;
        break;
    }
    st->cline_len = 0;
}

static void tn_client_text(struct qw_pctx *ctx, struct tn_state *st, uint8_t c)
{
    if (c == '\r' || c == '\n') {
        tn_client_line_done(ctx, st);
        return;
    }
    if (c == 0) return;
    if (!st->cline_started) {
        st->cline_started = true;
        st->cline_prompt = st->prompt;
        st->cline_len = 0;
        /* A typed answer leaves the prompt behind. */
        st->prompt = TN_P_NONE;
    }
    if (c == 0x08 || c == 0x7F) { /* backspace, delete */
        if (st->cline_len) st->cline_len--;
        return;
    }
    if (c < 0x20) return;
    /* The password line is never kept: only its end matters. */
    if (st->cline_prompt == TN_P_PASSWORD) return;
    if (st->cline_len < TN_USER_MAX) st->cline[st->cline_len++] = (char)c;
}

/* ---- Subnegotiation ------------------------------------------------------------------------ */

static size_t tn_copy_text(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    if (n > cap - 1) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* NEW-ENVIRON IS/INFO: VAR "USER" VALUE "name" (RFC 1572 s.3). */
static void tn_env_user(struct tn_state *st, const uint8_t *p, size_t n)
{
    size_t i = 1;
    while (i < n) {
        uint8_t type = p[i++];
        size_t s = i;
        while (i < n && p[i] > 3) i++;
        if ((type == 0 || type == 3) && i - s == 4 && memcmp(p + s, "USER", 4) == 0 && i < n &&
            p[i] == 1) {
            size_t v = ++i;
            while (i < n && p[i] > 3) i++;
            st->env_user_len = (uint8_t)tn_copy_text(st->env_user, sizeof st->env_user, p + v,
                                                     i - v);
            return;
        }
    }
}

static void tn_on_sb(struct qw_pctx *ctx, struct tn_state *st, struct tn_side *sd,
                     enum qw_dir dir)
{
    const uint8_t *p = sd->sb;
    size_t n = sd->sb_len;
    bool from_client = dir == QW_DIR_TO_SERVER;
    switch (sd->sb_opt) {
    case 24: /* terminal type IS name (RFC 1091) */
        if (from_client && n >= 1 && p[0] == 0)
            st->term_len = (uint8_t)tn_copy_text(st->term, sizeof st->term, p + 1, n - 1);
        break;
    case 31: /* NAWS: width, height (RFC 1073) */
        if (from_client && n >= 4) {
            st->naws_seen = true;
            st->naws_w = (uint16_t)(p[0] << 8 | p[1]);
            st->naws_h = (uint16_t)(p[2] << 8 | p[3]);
        }
        break;
    case 32: /* terminal speed IS "tx,rx" (RFC 1079) */
        if (from_client && n >= 1 && p[0] == 0)
            st->speed_len = (uint8_t)tn_copy_text(st->speed, sizeof st->speed, p + 1, n - 1);
        break;
    case 39: /* new environment IS / INFO (RFC 1572) */
        if (from_client && n >= 1 && (p[0] == 0 || p[0] == 2)) {
            tn_env_user(st, p, n);
            /* the login name the client hands over before any prompt; a typed login
             * later on the connection replaces it */
            qw_emit_session_user(ctx, "telnet_environment", st->env_user, st->env_user_len);
            /* A USER value starting with '-' becomes an option of login(1): "-f root" skips
             * the password on vulnerable telnetd (CVE-2007-0882). */
            if (st->env_user_len && st->env_user[0] == '-' && !st->env_attack_reported) {
                st->env_attack_reported = true;
                qw_emit_anomaly(ctx, "telnet.suspicious_environment", "USER starts with '-'");
            }
        }
        break;
    case 38: /* encryption START: what follows from this side is encrypted (RFC 2946 s.3) */
        if (n >= 1 && p[0] == 3) sd->encrypted = true;
        break;
    default: break;
    }
}

/* ---- Byte stream --------------------------------------------------------------------------- */

static void tn_data(struct qw_pctx *ctx, struct tn_state *st, enum qw_dir dir, uint8_t c)
{
    if (dir == QW_DIR_TO_CLIENT) {
        tn_server_text(ctx, st, c);
    } else {
        tn_client_text(ctx, st, c);
    }
}

static size_t tn_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct tn_state *st = state;
    struct tn_side *sd = &st->side[dir];
    if (!sd->seen) {
        sd->seen = true;
        sd->first_ns = qw_pctx_time(ctx);
    }
    size_t i = 0;
    while (i < len) {
        uint8_t c = data[i];
        bool again = false; /* read this byte again in the new state */
        if (sd->encrypted) {
            sd->enc_bytes += len - i;
            break;
        }
        switch (sd->rx) {
        case TN_RX_DATA:
            if (c == TN_IAC) {
                sd->rx = TN_RX_IAC;
                break;
            }
            sd->data_bytes++;
            tn_data(ctx, st, dir, c);
            /* [TEL]: CR is followed by LF or NUL; either ends the line once. */
            if (c == '\r') sd->rx = TN_RX_CR;
            break;
        case TN_RX_CR:
            sd->rx = TN_RX_DATA;
            if (c == '\n' || c == 0) {
                /* CR LF or CR NUL: the end of a server line (the client's line already
                 * ended at its CR). */
                if (dir == QW_DIR_TO_CLIENT) tn_data(ctx, st, dir, '\n');
                break;
            }
            again = true; /* not part of the end of line: read it again as data */
            break;
        case TN_RX_IAC:
            sd->rx = TN_RX_DATA;
            if (c == TN_IAC) { /* an escaped data byte 255 */
                sd->data_bytes++;
                tn_data(ctx, st, dir, c);
                break;
            }
            if (c >= TN_SE) sd->iac_counts[c - TN_SE]++;
            if (c >= TN_WILL && c <= TN_DONT) {
                sd->verb = c;
                sd->rx = TN_RX_OPT;
            } else if (c == TN_SB) {
                sd->rx = TN_RX_SB_OPT;
            } else if (c < TN_SE && !sd->bad_cmd_reported) {
                sd->bad_cmd_reported = true;
                qw_emit_anomaly(ctx, "telnet.invalid_command", NULL);
            }
            break;
        case TN_RX_OPT:
            sd->opts[sd->verb - TN_WILL][c >> 3] |= (uint8_t)(1u << (c & 7));
            sd->rx = TN_RX_DATA;
            break;
        case TN_RX_SB_OPT:
            sd->sb_opt = c;
            sd->sb_len = 0;
            sd->sb_cut = false;
            sd->rx = TN_RX_SB;
            break;
        case TN_RX_SB:
            if (c == TN_IAC) {
                sd->rx = TN_RX_SB_IAC;
                break;
            }
            if (sd->sb_len < TN_SB_MAX) sd->sb[sd->sb_len++] = c;
            else sd->sb_cut = true;
            break;
        case TN_RX_SB_IAC:
            if (c == TN_IAC) { /* escaped 255 inside the subnegotiation */
                if (sd->sb_len < TN_SB_MAX) sd->sb[sd->sb_len++] = c;
                sd->rx = TN_RX_SB;
            } else if (c == TN_SE) {
                sd->iac_counts[0]++;
                tn_on_sb(ctx, st, sd, dir);
                sd->rx = TN_RX_DATA;
            } else {
                /* [OPT]: only IAC SE ends a subnegotiation; take any other command as its
                 * end too, so a lost SE cannot swallow the rest of the session. */
                if (!sd->bad_sb_reported)
                    qw_emit_anomaly(ctx, "telnet.unterminated_subnegotiation",
                                    tn_opt_names[sd->sb_opt]);
                sd->bad_sb_reported = true;
                tn_on_sb(ctx, st, sd, dir);
                sd->rx = TN_RX_IAC;
                again = true;
            }
            break;
        default: sd->rx = TN_RX_DATA; break;
        }
        if (!again) i++;
    }
    if (dir == QW_DIR_TO_CLIENT) tn_server_prompt(ctx, st);
    return len;
}

static void tn_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct tn_state *st = state;
    st->side[dir].rx = TN_RX_DATA;
    if (dir == QW_DIR_TO_CLIENT) {
        st->sline_len = 0;
        st->prompt = TN_P_NONE;
    } else {
        st->cline_started = false;
        st->cline_len = 0;
    }
}

/* ---- Record -------------------------------------------------------------------------------- */

static void tn_json_opts(struct qw_json *j, const struct tn_side *sd)
{
    static const char *const verbs[4] = {"will", "wont", "do", "dont"};
    qw_json_obj_begin(j, "options");
    for (unsigned v = 0; v < 4; v++) {
        bool any = false;
        for (unsigned b = 0; b < 32; b++) any = any || sd->opts[v][b];
        if (!any) continue;
        qw_json_arr_begin(j, verbs[v]);
        for (unsigned o = 0; o < 256; o++) {
            if (!(sd->opts[v][o >> 3] & (1u << (o & 7)))) continue;
            if (tn_opt_names[o]) {
                qw_json_str(j, NULL, tn_opt_names[o]);
            } else {
                char b[16];
                snprintf(b, sizeof b, "option_%u", o);
                qw_json_str(j, NULL, b);
            }
        }
        qw_json_arr_end(j);
    }
    qw_json_obj_end(j);
    qw_json_obj_begin(j, "iac_counts");
    for (unsigned k = 0; k < 15; k++)
        if (sd->iac_counts[k]) qw_json_u64(j, tn_cmd_names[k], sd->iac_counts[k]);
    qw_json_obj_end(j);
}

static void tn_write_json(struct qw_json *j, const void *arg)
{
    const struct tn_state *st = arg;
    const struct tn_side *c = &st->side[QW_DIR_TO_SERVER], *s = &st->side[QW_DIR_TO_CLIENT];
    if (c->seen) {
        qw_json_obj_begin(j, "request");
        tn_json_opts(j, c);
        if (st->term_len) qw_json_str(j, "terminal_type", st->term);
        if (st->naws_seen) {
            qw_json_obj_begin(j, "window_size");
            qw_json_u64(j, "width", st->naws_w);
            qw_json_u64(j, "height", st->naws_h);
            qw_json_obj_end(j);
        }
        if (st->speed_len) qw_json_str(j, "terminal_speed", st->speed);
        if (st->env_user_len) qw_json_str(j, "environment_user", st->env_user);
        qw_json_u64(j, "data_bytes", c->data_bytes);
        if (c->encrypted) qw_json_u64(j, "encrypted_bytes", c->enc_bytes);
        qw_json_obj_end(j);
    }
    if (s->seen) {
        qw_json_obj_begin(j, "response");
        tn_json_opts(j, s);
        if (st->banner_len) qw_json_strn(j, "banner", st->banner, st->banner_len);
        qw_json_u64(j, "data_bytes", s->data_bytes);
        if (s->encrypted) qw_json_u64(j, "encrypted_bytes", s->enc_bytes);
        qw_json_obj_end(j);
    }
    qw_json_u64(j, "login_prompts", st->login_prompts);
    qw_json_u64(j, "password_prompts", st->password_prompts);
    if (st->user_len) qw_json_strn(j, "user", st->user, st->user_len);
    qw_json_u64(j, "passwords_sent", st->passwords_sent);
    qw_json_u64(j, "failed_logins", st->failed_logins);
    qw_json_bool(j, "logged_in", st->logged_in);
    qw_json_u64(j, "commands", st->commands);
}

static void tn_flow_end(struct qw_pctx *ctx, void *state)
{
    struct tn_state *st = state;
    const struct tn_side *c = &st->side[QW_DIR_TO_SERVER], *s = &st->side[QW_DIR_TO_CLIENT];
    if (st->emitted || (!c->seen && !s->seen)) return;
    st->emitted = true;
    struct qw_txn t = {0};
    t.has_request = c->seen;
    t.has_response = s->seen;
    t.function = 0;
    t.function_name = "session";
    t.ops = QW_OP_SESSION | (st->passwords_sent || st->user_len ? QW_OP_AUTH : 0u);
    t.error = st->failed_logins > 0 && !st->logged_in;
    t.request_ns = c->seen ? (c->first_ns ? c->first_ns : 1) : 0;
    t.response_ns = s->seen ? (s->first_ns ? s->first_ns : 1) : 0;
    t.write_json = tn_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static enum qw_probe_result tn_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (data[0] == TN_IAC) {
        /* A negotiation (IAC WILL/WONT/DO/DONT option) or a subnegotiation (IAC SB option). */
        if (len < 2) return QW_PROBE_NEED_MORE;
        if (data[1] < TN_SB) return QW_PROBE_NO;
        if (len < 3) return QW_PROBE_NEED_MORE;
        if (data[1] == TN_SB) {
            /* The subnegotiation must end in IAC SE within the probe's bytes. */
            for (size_t i = 3; i + 1 < len && i < 256; i++)
                if (data[i] == TN_IAC && data[i + 1] == TN_SE) return QW_PROBE_MATCH;
            return len < 256 ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
        }
        /* Several negotiations in a row are the usual opening; check the ones present. */
        for (size_t i = 0; i + 1 < len && i < 30; i += 3) {
            if (data[i] != TN_IAC) break;
            if (data[i + 1] < TN_SB) return QW_PROBE_NO;
            if (data[i + 1] == TN_SB) break;
        }
        return QW_PROBE_MATCH;
    }
    /* A server that opens with text and no negotiation: only a login prompt decides. */
    if (dir != QW_DIR_TO_CLIENT) return QW_PROBE_NO;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == TN_IAC) {
            /* Negotiation may follow the text: a command must follow the IAC. */
            if (i + 1 < len && data[i + 1] < TN_SE) return QW_PROBE_NO;
            break;
        }
        /* NVT text: printable ASCII, CR, LF, TAB, BEL, and NUL only after CR ([TEL]). */
        if (c == 0 && (i == 0 || data[i - 1] != '\r')) return QW_PROBE_NO;
        if (c < 0x20 && c != '\r' && c != '\n' && c != '\t' && c != 0 && c != 7) return QW_PROBE_NO;
        if (c >= 0x7F) return QW_PROBE_NO;
    }
    size_t n = len;
    const char *s = (const char *)data;
    size_t ls = n;
    while (ls > 0 && s[ls - 1] != '\n') ls--;
    if (tn_prompt_of(s + ls, n - ls) != TN_P_NONE) return QW_PROBE_MATCH;
    return len < TN_PROBE_TEXT_MAX ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
}

const struct qw_proto qw_proto_telnet = {
    .name = "telnet",
    .transports = QW_TRANSPORT_TCP,
    .ports = {TN_PORT, 0},
    .probe = tn_probe,
    .state_size = sizeof(struct tn_state),
    .parse = tn_parse,
    .gap = tn_gap,
    .flow_end = tn_flow_end,
};
