/* What a device reports about itself in its syslog messages (syslog_reports.h).
 *
 * Sources, each the vendor's own message reference:
 *   Cisco IOS / IOS-XE system messages: %SYS-5-CONFIG_I "Configured from {source} by
 *     {line | user on line} [(address)]", %SYS-5-CONFIG_P (configured programmatically),
 *     %PARSER-5-CFGLOG_LOGGEDCMD "User:{user}  logged command:{command}" (configuration change
 *     logger), %SYS-5-RELOAD "Reload requested by {who}. Reload Reason: {reason}",
 *     %SYS-5-RESTART "System restarted"; the XML form (`logging host ... xml`) carries the
 *     same facility, severity and mnemonic in tags, and the %s arguments as <arg id="N">.
 *   Cisco NX-OS: %VSHD-5-VSHD_SYSLOG_CONFIG_I "Configured from vty by {user} on
 *     {address}@{terminal}".
 *   Cisco ASA: %ASA-5-111010 "User '{user}', running '{application}' from IP {address},
 *     executed '{command}'" (a user made a configuration change).
 *   Junos: UI_COMMIT "User '{user}' requested '{operation}' operation", as the RFC 5424 MSGID
 *     or as `UI_COMMIT:` starting the text.
 *   FortiOS log ids 0100044546 (LOGID_EVENT_CONFIG_PATH, attribute configured) and
 *     0100044547 (LOGID_EVENT_CONFIG_OBJATTR, object attribute configured): key=value text
 *     with user="{user}" and ui="{interface}({address})".
 *   PAN-OS CONFIG log (syslog field order): FUTURE_USE, receive time, serial, type "CONFIG",
 *     subtype, FUTURE_USE, generated time, host (the administrator's machine), virtual system,
 *     command, admin, client, result, ...; only a result of "Succeeded" is a change.
 * Logins:
 *   Cisco IOS login enhancements: %SEC_LOGIN-5-LOGIN_SUCCESS "Login Success [user: {user}]
 *     [Source: {address}] [localport: {port}] at {time}".
 *   OpenSSH sshd (Linux jump hosts, HMIs, many embedded devices): "Accepted {method} for
 *     {user} from {address} port {port} {protocol}".
 *   FortiOS log id 0100032001 (LOG_ID_ADMIN_LOGIN_SUCC): user="{user}" ui="{how}({address})".
 * Failed logins (counted for cred.guessing; only with the address they came from):
 *   Cisco IOS %SEC_LOGIN-4-LOGIN_FAILED "Login failed [user: {user}] [Source: {address}]
 *     [localport: {port}] [Reason: {reason}] at {time}".
 *   OpenSSH "Failed {method} for [invalid user ]{user} from {address} port {port} {protocol}";
 *     not the method "none", which clients try first to learn the methods (no guess).
 *   FortiOS log id 0100032002 (LOG_ID_ADMIN_LOGIN_FAIL), fields as 0100032001.
 *   Junos SSHD_LOGIN_FAILED "Login failed for user '{user}' from host '{address}'".
 *   Cisco ASA %ASA-6-605004 "Login denied from {address}/{port} to {interface}:{address}/
 *     {service} for user "{user}"".
 * A message is recognised by its identifier, never by wording alone: the identifiers are what
 * the vendors promise to keep. Every read below is bounded by the span it reads. */
#include "proto/syslog_reports.h"

#include <string.h>

/* ---- Spans --------------------------------------------------------------------------------- */

#define LOG_ADDR_MAX 45  /* the longest IPv6 text form */
#define LOG_USER_MAX 64  /* a longer "user" is not one */

static const struct qw_log_span none = {NULL, 0};

static bool span_eq(struct qw_log_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_starts(struct qw_log_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n >= n && memcmp(s.p, lit, n) == 0;
}

static struct qw_log_span span_rest(struct qw_log_span s, size_t at)
{
    if (!s.p || at > s.n) return none;
    return (struct qw_log_span){s.p + at, s.n - at};
}

/* Offset of the first `needle` in s, or s.n when there is none. */
static size_t span_find(struct qw_log_span s, const char *needle)
{
    size_t n = strlen(needle);
    if (!s.p || n == 0 || s.n < n) return s.p ? s.n : 0;
    for (size_t i = 0; i + n <= s.n; i++)
        if (s.p[i] == (uint8_t)needle[0] && memcmp(s.p + i, needle, n) == 0) return i;
    return s.n;
}

/* What follows the first `needle`, or an absent span. */
static struct qw_log_span span_after(struct qw_log_span s, const char *needle)
{
    size_t at = span_find(s, needle);
    if (at >= s.n) return none;
    return span_rest(s, at + strlen(needle));
}

/* The start of s up to (not including) the first byte in `stops` or a control byte. */
static struct qw_log_span span_until(struct qw_log_span s, const char *stops)
{
    if (!s.p) return none;
    size_t i = 0;
    while (i < s.n && s.p[i] >= 32 && s.p[i] != 127 && !strchr(stops, s.p[i])) i++;
    return (struct qw_log_span){s.p, i};
}

static struct qw_log_span skip_spaces(struct qw_log_span s)
{
    size_t i = 0;
    while (s.p && i < s.n && s.p[i] == ' ') i++;
    return span_rest(s, i);
}

/* An IPv4 or IPv6 address in text form, nothing more. */
static bool span_addr(struct qw_log_span s, struct qw_addr *out)
{
    if (!s.p || s.n < 2 || s.n > LOG_ADDR_MAX) return false;
    char buf[LOG_ADDR_MAX + 1];
    for (size_t i = 0; i < s.n; i++) {
        uint8_t c = s.p[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != '.' && c != ':') return false;
        buf[i] = (char)c;
    }
    buf[s.n] = '\0';
    return qw_addr_parse(buf, out);
}

static void set_user(struct qw_log_report *out, struct qw_log_span u)
{
    if (u.p && u.n > 0 && u.n <= LOG_USER_MAX) out->user = u;
}

static void set_from(struct qw_log_report *out, struct qw_log_span a)
{
    out->has_from = span_addr(a, &out->from);
}

/* `(address)` at the start of s, spaces skipped. */
static void paren_from(struct qw_log_report *out, struct qw_log_span s)
{
    s = skip_spaces(s);
    if (!span_starts(s, "(")) return;
    struct qw_log_span in = span_until(span_rest(s, 1), ")");
    if (in.n < s.n - 1 && in.p[in.n] == ')') set_from(out, in);
}

/* ---- Who did it, per message kind ------------------------------------------------------------ */

enum who {
    WHO_NONE = 0,
    WHO_CISCO_BY,     /* "... by {line | user on line} [(address)]", NX-OS "on address@tty" */
    WHO_USER_COLON,   /* "User:{user} " */
    WHO_ASA,          /* "User '{user}', running '...' from IP {address}," */
    WHO_QUOTED_USER,  /* "User '{user}'" */
    WHO_FORTI,        /* user="{user}" ui="{interface}({address})" */
    WHO_PANOS,        /* CSV fields host and admin */
    WHO_CISCO_LOGIN,  /* "[user: {user}] [Source: {address}]" */
    WHO_OPENSSH,      /* "Accepted {method} for {user} from {address} port" */
    WHO_OPENSSH_FAIL, /* "Failed {method} for [invalid user ]{user} from {address} port" */
    WHO_JUNOS_LOGIN,  /* "for user '{user}' from host '{address}'" */
    WHO_ASA_DENIED,   /* "Login denied from {address}/{port} to ... for user "{user}"" */
};

/* Cisco's "by" part: `console`, `vty2 (10.34.195.36)`, `admin on vty0 (10.1.1.5)`, NX-OS
 * `admin on 10.1.1.1@pts/0`. A line name (console, vty0) is no user: only a word followed by
 * " on " is one. */
static void who_cisco_by(struct qw_log_report *out, struct qw_log_span by)
{
    struct qw_log_span first = span_until(by, " (");
    struct qw_log_span rest = span_rest(by, first.n);
    if (span_starts(rest, " on ")) {
        set_user(out, first);
        rest = span_rest(rest, 4);
        struct qw_log_span line = span_until(rest, " (@,;");
        set_from(out, line); /* NX-OS names the address where IOS names the line */
        rest = span_rest(rest, line.n);
    }
    if (!out->has_from) paren_from(out, rest);
}

/* The text of `<arg id="N">...</arg>` in Cisco's XML form. */
static struct qw_log_span xml_arg(struct qw_log_span text, const char *open)
{
    struct qw_log_span v = span_after(text, open);
    size_t end = span_find(v, "</arg>");
    if (!v.p || end >= v.n) return none;
    return (struct qw_log_span){v.p, end};
}

/* The value of key=value (optionally "quoted") where the key starts the text or follows a
 * space. */
static struct qw_log_span kv_value(struct qw_log_span text, const char *key)
{
    size_t kn = strlen(key);
    for (struct qw_log_span s = text; s.p && s.n > kn;) {
        size_t at = span_find(s, key);
        if (at + kn >= s.n) return none;
        bool start = (s.p + at == text.p) || s.p[at - 1] == ' ';
        if (start && s.p[at + kn] == '=') {
            struct qw_log_span v = span_rest(s, at + kn + 1);
            if (span_starts(v, "\"")) {
                struct qw_log_span q = span_until(span_rest(v, 1), "\"");
                /* an unclosed quote is no value */
                return q.n + 1 < v.n && v.p[q.n + 1] == '"' ? q : none;
            }
            return span_until(v, " ");
        }
        s = span_rest(s, at + 1);
    }
    return none;
}

/* Field `idx` (from 0) of a comma-separated line, or an absent span. */
static struct qw_log_span csv_field(struct qw_log_span text, unsigned idx)
{
    struct qw_log_span s = text;
    for (unsigned i = 0; i < idx; i++) {
        size_t at = span_find(s, ",");
        if (at >= s.n) return none;
        s = span_rest(s, at + 1);
    }
    return span_until(s, ",");
}

/* OpenSSH's "{user} from {address} port ..." (what follows " for "). */
static void who_openssh(struct qw_log_report *out, struct qw_log_span rest)
{
    struct qw_log_span u = span_until(rest, " ");
    rest = span_rest(rest, u.n);
    if (!span_starts(rest, " from ")) return; /* the user names nobody else's words */
    set_user(out, u);
    set_from(out, span_until(span_rest(rest, 6), " "));
}

static void find_who(enum who who, const struct qw_log_parts *m, bool xml_by,
                     struct qw_log_report *out)
{
    struct qw_log_span t = m->text;
    switch (who) {
    case WHO_NONE:
        break;
    case WHO_CISCO_BY:
        if (xml_by) who_cisco_by(out, xml_arg(t, "<arg id=\"1\">"));
        else who_cisco_by(out, span_after(t, " by "));
        break;
    case WHO_USER_COLON: {
        struct qw_log_span u = span_until(span_after(t, "User:"), " @");
        set_user(out, u);
        struct qw_log_span rest = span_rest(span_after(t, "User:"), u.n);
        if (span_starts(rest, "@")) set_from(out, span_until(span_rest(rest, 1), " ,;"));
        break;
    }
    case WHO_ASA:
        set_user(out, span_until(span_after(t, "User '"), "'"));
        set_from(out, span_until(span_after(t, " from IP "), " ,"));
        break;
    case WHO_QUOTED_USER:
        set_user(out, span_until(span_after(t, "User '"), "'"));
        break;
    case WHO_FORTI: {
        set_user(out, kv_value(t, "user"));
        struct qw_log_span ui = kv_value(t, "ui");
        size_t open = span_find(ui, "(");
        if (ui.p && open < ui.n) paren_from(out, span_rest(ui, open));
        break;
    }
    case WHO_PANOS:
        set_from(out, csv_field(t, 7));
        set_user(out, csv_field(t, 10));
        break;
    case WHO_CISCO_LOGIN:
        set_user(out, span_until(span_after(t, "[user: "), "]"));
        set_from(out, span_until(span_after(t, "[Source: "), "]"));
        break;
    case WHO_OPENSSH_FAIL:
        /* "none" is how a client learns the methods: no password was tried */
        if (span_starts(t, "Failed none ")) break;
        t = span_after(t, " for ");
        if (span_starts(t, "invalid user ")) t = span_rest(t, 13);
        who_openssh(out, t);
        break;
    case WHO_JUNOS_LOGIN:
        set_user(out, span_until(span_after(t, "for user '"), "'"));
        set_from(out, span_until(span_after(t, "from host '"), "'"));
        break;
    case WHO_ASA_DENIED:
        set_from(out, span_until(span_after(t, "Login denied from "), "/ "));
        set_user(out, span_until(span_after(t, " for user \""), "\""));
        break;
    case WHO_OPENSSH:
        who_openssh(out, span_after(t, " for "));
        break;
    }
}

/* ---- The table ----------------------------------------------------------------------------- */

enum match {
    BY_CISCO,  /* a = facility, b = mnemonic (the %FAC-SEV-MNEMONIC or XML form) */
    BY_MSGID,  /* a = RFC 5424 MSGID, or the text starting "a:" */
    BY_LOGID,  /* FortiOS key=value text whose logid is a */
    BY_PANOS,  /* PAN-OS CSV of type a */
    BY_APP,    /* APP-NAME or tag a, the text starting with b */
};

static const struct report_rule {
    const char *a, *b;
    const char *message_id;
    uint8_t match;    /* enum match */
    uint8_t kind;     /* enum qw_device_report_kind */
    uint8_t who;      /* enum who */
    bool xml_by;      /* in Cisco's XML form, <arg id="1"> is the "by" part */
} report_rules[] = {
    {"SYS", "CONFIG_I", "cisco SYS-5-CONFIG_I", BY_CISCO, QW_REPORT_CONFIG, WHO_CISCO_BY, true},
    {"SYS", "CONFIG_P", "cisco SYS-5-CONFIG_P", BY_CISCO, QW_REPORT_CONFIG, WHO_NONE, false},
    {"PARSER", "CFGLOG_LOGGEDCMD", "cisco PARSER-5-CFGLOG_LOGGEDCMD",
     BY_CISCO, QW_REPORT_CONFIG, WHO_USER_COLON, false},
    {"VSHD", "VSHD_SYSLOG_CONFIG_I", "cisco VSHD-5-VSHD_SYSLOG_CONFIG_I",
     BY_CISCO, QW_REPORT_CONFIG, WHO_CISCO_BY, false},
    {"ASA", "111010", "cisco ASA-5-111010", BY_CISCO, QW_REPORT_CONFIG, WHO_ASA, false},
    {"UI_COMMIT", NULL, "junos UI_COMMIT", BY_MSGID, QW_REPORT_CONFIG, WHO_QUOTED_USER, false},
    {"0100044546", NULL, "fortios 0100044546", BY_LOGID, QW_REPORT_CONFIG, WHO_FORTI, false},
    {"0100044547", NULL, "fortios 0100044547", BY_LOGID, QW_REPORT_CONFIG, WHO_FORTI, false},
    {"CONFIG", NULL, "pan-os CONFIG", BY_PANOS, QW_REPORT_CONFIG, WHO_PANOS, false},
    {"SYS", "RELOAD", "cisco SYS-5-RELOAD", BY_CISCO, QW_REPORT_RESTART, WHO_CISCO_BY, false},
    {"SYS", "RESTART", "cisco SYS-5-RESTART", BY_CISCO, QW_REPORT_RESTART, WHO_NONE, false},
    {"SEC_LOGIN", "LOGIN_SUCCESS", "cisco SEC_LOGIN-5-LOGIN_SUCCESS",
     BY_CISCO, QW_REPORT_LOGIN, WHO_CISCO_LOGIN, false},
    {"sshd", "Accepted ", "openssh Accepted", BY_APP, QW_REPORT_LOGIN, WHO_OPENSSH, false},
    {"0100032001", NULL, "fortios 0100032001", BY_LOGID, QW_REPORT_LOGIN, WHO_FORTI, false},
    {"SEC_LOGIN", "LOGIN_FAILED", "cisco SEC_LOGIN-4-LOGIN_FAILED",
     BY_CISCO, QW_REPORT_LOGIN_FAILED, WHO_CISCO_LOGIN, false},
    {"sshd", "Failed ", "openssh Failed", BY_APP, QW_REPORT_LOGIN_FAILED, WHO_OPENSSH_FAIL, false},
    {"0100032002", NULL, "fortios 0100032002",
     BY_LOGID, QW_REPORT_LOGIN_FAILED, WHO_FORTI, false},
    {"SSHD_LOGIN_FAILED", NULL, "junos SSHD_LOGIN_FAILED",
     BY_MSGID, QW_REPORT_LOGIN_FAILED, WHO_JUNOS_LOGIN, false},
    {"ASA", "605004", "cisco ASA-6-605004",
     BY_CISCO, QW_REPORT_LOGIN_FAILED, WHO_ASA_DENIED, false},
};

/* A PAN-OS log line: field 1 is a date `YYYY/MM/DD`. */
static bool panos_line(struct qw_log_span t)
{
    struct qw_log_span d = csv_field(t, 1);
    return d.n >= 10 && d.p[4] == '/' && d.p[7] == '/';
}

/* What several rows look at, found once per message. */
struct seen {
    bool have_logid;
    struct qw_log_span logid;
};

static bool rule_matches(const struct report_rule *r, const struct qw_log_parts *m,
                         struct seen *seen)
{
    switch (r->match) {
    case BY_CISCO:
        return span_eq(m->cisco_fac, r->a) && span_eq(m->cisco_mnem, r->b);
    case BY_MSGID: {
        if (span_eq(m->msgid, r->a)) return true;
        size_t n = strlen(r->a);
        return span_starts(m->text, r->a) && m->text.n > n && m->text.p[n] == ':';
    }
    case BY_LOGID:
        if (!seen->have_logid) {
            seen->logid = kv_value(m->text, "logid");
            seen->have_logid = true;
        }
        return span_eq(seen->logid, r->a);
    case BY_PANOS:
        return panos_line(m->text) && span_eq(csv_field(m->text, 3), r->a) &&
               span_eq(csv_field(m->text, 12), "Succeeded");
    case BY_APP:
        return span_eq(m->app, r->a) && span_starts(m->text, r->b);
    }
    return false;
}

bool qw_log_report_find(const struct qw_log_parts *m, struct qw_log_report *out)
{
    memset(out, 0, sizeof *out);
    if (!m->text.p && !m->cisco_mnem.p && !m->msgid.p) return false;
    struct seen seen = {0};
    for (size_t i = 0; i < sizeof report_rules / sizeof report_rules[0]; i++) {
        const struct report_rule *r = &report_rules[i];
        if (!rule_matches(r, m, &seen)) continue;
        /* Junos: a `commit check` validates the candidate and changes nothing */
        if (r->who == WHO_QUOTED_USER &&
            span_starts(span_after(m->text, "requested '"), "commit check"))
            return false;
        out->kind = (enum qw_device_report_kind)r->kind;
        out->message_id = r->message_id;
        if (!m->cisco_xml || r->xml_by) find_who((enum who)r->who, m, m->cisco_xml, out);
        /* a login is only worth its user and address (the ledger joins on both), a failed one
         * its address (failures are counted per source) */
        if (r->kind == QW_REPORT_LOGIN) return out->user.p && out->has_from;
        return r->kind != QW_REPORT_LOGIN_FAILED || out->has_from;
    }
    return false;
}

/* ---- Cisco's XML form ---------------------------------------------------------------------- */

static struct qw_log_span xml_tag(struct qw_log_span s, const char *open, const char *close)
{
    struct qw_log_span v = span_after(s, open);
    size_t end = span_find(v, close);
    if (!v.p || end >= v.n) return none;
    return (struct qw_log_span){v.p, end};
}

static bool upper_word(struct qw_log_span s, bool dash)
{
    if (!s.p || s.n == 0 || s.n > 48) return false;
    for (size_t i = 0; i < s.n; i++) {
        uint8_t c = s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-')))
            return false;
    }
    return true;
}

bool qw_log_cisco_xml(struct qw_log_span text, struct qw_log_span *fac, struct qw_log_span *sev,
                      struct qw_log_span *mnem)
{
    struct qw_log_span msg = span_after(text, "<ios-log-msg>");
    if (!msg.p) return false;
    struct qw_log_span f = xml_tag(msg, "<facility>", "</facility>");
    struct qw_log_span v = xml_tag(msg, "<severity>", "</severity>");
    struct qw_log_span n = xml_tag(msg, "<msg-id>", "</msg-id>");
    if (!upper_word(f, true) || !upper_word(n, false) || v.n != 1 || v.p[0] < '0' ||
        v.p[0] > '7')
        return false;
    *fac = f;
    *sev = v;
    *mnem = n;
    return true;
}
