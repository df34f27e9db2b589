/* Syslog parser: the messages devices send to a log collector, UDP 514 and TCP 514/601.
 *
 * (Not quaywatch's own syslog output, src/output/syslog*.c: this reads other devices' messages
 * off the wire. Every name here is static.)
 *
 * Specifications:
 *   [5424] RFC 5424 The Syslog Protocol: s.6 message format
 *          `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
 *          STRUCTURED-DATA [SP MSG]`, NILVALUE "-", field lengths (HOSTNAME 255, APP-NAME 48,
 *          PROCID 128, MSGID 32, SD-NAME 32), s.6.2.1 PRI (facility * 8 + severity, at most
 *          191) and the facility and severity tables, s.6.3 structured data (`[SD-ID
 *          *(SP NAME="VALUE")]`, where `"`, `\` and `]` are escaped by `\` in a value), s.6.4
 *          the UTF-8 BOM that starts a MSG in UTF-8.
 *   [3164] RFC 3164 The BSD syslog Protocol: s.4.1 `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]:
 *          MSG`, and what real senders do instead: no HOSTNAME, no timestamp, a year or
 *          milliseconds, ISO 8601 dates, and Cisco IOS's `<189>123: *Mar  1 00:01:02.345:
 *          %SYS-5-CONFIG_I: text` (sequence number, `*` or `.` for a clock that is not
 *          authoritative or not synchronised, `%FACILITY-SEVERITY-MNEMONIC`, optionally the
 *          sender's name (`logging origin-id`) and a `[syslog@9 s_sn="1"]` sequence element).
 *   [5426] RFC 5426 UDP transport: one message per datagram.
 *   [6587] RFC 6587 TCP transport: octet counting (`MSG-LEN SP SYSLOG-MSG`) or
 *          non-transparent framing (each message ended by LF; some senders end with NUL); one
 *          sender may mix the two.
 *   TLS (RFC 5425, 6514/tcp) is the TLS parser's.
 *
 * One transaction per message (request only): `function` is the severity (0-7), its name
 * from the table below. `ops` is 0: a message reports what happened on its sender and neither
 * reads nor changes the collector it is sent to, so it belongs to no operation class (the
 * `diagnostic` class is for a client reading a device's diagnostics); marking every message
 * would make each log line an operation a conduit must list.
 *
 * On TCP a message waits in the engine's tail until it is whole, up to SYSLOG_HOLD bytes;
 * a longer one is decoded from its first SYSLOG_HOLD bytes and the rest is skipped (counted
 * length, or up to the next LF). After a gap the direction resynchronises on the next
 * `<PRI>` (with its octet count when the stream used octet counting).
 *
 * Identity: HOSTNAME is the sender's own name: fact "hostname" about the sending end, when it
 * is a host name (letters, digits, '.', '-', '_', not an address literal), once per flow and
 * direction and again when it changes. APP-NAME and the text name software, not the device.
 *
 * Anomaly `syslog.invalid_message` (detail: which part), at most SYSLOG_ANOMALY_MAX per
 * flow: a PRI above 191 or without digits, an RFC 5424 header with a field missing or
 * malformed structured data, an octet count that is not a number or passes
 * SYSLOG_OCTET_MAX, bytes on a TCP stream that start no message. Syslog in clear text is what
 * OT networks use: no weak_* anomaly for it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "proto/syslog_reports.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits -------------------------------------------------------------------------------- */

#define SYSLOG_PORT 514          /* UDP [5426]; TCP by custom ([6587] s.3.3) */
#define SYSLOG_CONN_PORT 601     /* syslog-conn, the IANA TCP port */
#define SYSLOG_PRI_MAX 191       /* facility 23, severity 7 */
#define SYSLOG_TEXT_KEEP 256     /* message text written to the record */
#define SYSLOG_HOLD 2048u        /* a TCP message decoded whole up to this ([5426] s.3.2) */
#define SYSLOG_OCTET_MAX (1024u * 1024u) /* a larger octet count breaks the framing */
#define SYSLOG_COUNT_DIGITS 7    /* digits of an octet count up to SYSLOG_OCTET_MAX */
#define SYSLOG_SD_KEEP 8         /* structured-data element ids kept per message */
#define SYSLOG_ANOMALY_MAX 4     /* anomalies per flow */
#define SYSLOG_PROBE_TEXT 12     /* bytes after the PRI the probe wants printable */
/* Header field bounds ([5424] s.6): a longer token is not that field. */
#define SYSLOG_HOST_MAX 255
#define SYSLOG_APP_MAX 48
#define SYSLOG_PROCID_MAX 128
#define SYSLOG_MSGID_MAX 32
#define SYSLOG_SDNAME_MAX 32
#define SYSLOG_TS_MAX 48
#define SYSLOG_TAG_MAX 48        /* [3164] says 32; daemons send longer */
#define SYSLOG_SEQ_MAX 10        /* digits of a Cisco sequence number */
#define SYSLOG_CISCO_SCAN 96     /* how far into the text a %FAC-SEV-MNEMONIC is looked for */

/* ---- Tables -------------------------------------------------------------------------------- */

/* [5424] s.6.2.1 Table 1 (keywords as syslog.conf spells them). */
static const char *const syslog_facilities[24] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

/* [5424] s.6.2.1 Table 2. */
static const char *const syslog_severities[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *const syslog_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* ---- Decoded message ----------------------------------------------------------------------- */

enum sl_format { SL_RFC3164 = 0, SL_RFC5424 = 1 };

/* The RFC 5424 header part found missing or malformed. */
enum sl_part { SL_WHOLE = 0, SL_TIMESTAMP, SL_HOSTNAME, SL_APP, SL_PROCID, SL_MSGID, SL_SD };

static const char *const sl_part_names[] = {
    "", "timestamp", "hostname", "app_name", "procid", "msgid", "structured_data",
};

static const char *const sl_part_details[] = {
    "",
    "rfc5424 header: timestamp missing",
    "rfc5424 header: hostname missing",
    "rfc5424 header: app_name missing",
    "rfc5424 header: procid missing",
    "rfc5424 header: msgid missing",
    "rfc5424 header: structured data missing or malformed",
};

struct sl_msg {
    unsigned pri;
    uint8_t format;
    unsigned version;
    struct qw_log_span timestamp, hostname, app, procid, msgid, sequence, text;
    struct qw_log_span cisco_fac, cisco_sev, cisco_mnem;
    struct qw_log_span sd[SYSLOG_SD_KEEP];
    uint8_t nsd;
    bool sd_more, bom, cut; /* cut: a TCP message longer than SYSLOG_HOLD */
    bool cisco_xml;         /* the cisco_* spans come from Cisco's XML form */
    uint8_t bad;            /* sl_part the header lacks ([5424]), SL_WHOLE when whole */
    bool has_report;        /* the sender reports something of its own (syslog_reports.h) */
    struct qw_log_report report;
};

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum sl_mode {
    SL_MESSAGE = 0, /* at a message boundary */
    SL_SKIP_COUNT,  /* skipping the rest of an octet-counted message */
    SL_SKIP_LINE,   /* skipping up to the next LF (long line, or bytes that start nothing) */
    SL_RESYNC,      /* after a gap: looking for the next <PRI> */
};

struct sl_dir {
    uint8_t mode;
    bool counted;      /* the last message used octet counting */
    bool named;        /* a hostname fact was written for this direction */
    uint32_t skip;     /* SL_SKIP_COUNT: bytes left */
    uint64_t name_hash;
};

struct syslog_state {
    struct sl_dir d[2];
    uint8_t anomalies;
};

/* ---- Character classes --------------------------------------------------------------------- */

static bool sl_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool sl_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* PRINTUSASCII ([5424] s.6): what header tokens are made of. */
static bool sl_print(uint8_t c)
{
    return c > 32 && c < 127;
}

static bool sl_text(uint8_t c)
{
    return (c >= 32 && c < 127) || c == '\t';
}

static bool sl_tag_char(uint8_t c)
{
    return sl_alpha(c) || sl_digit(c) || c == '_' || c == '-' || c == '.' || c == '/' ||
           c == '@' || c == '(' || c == ')';
}

static bool sl_host_char(uint8_t c)
{
    return sl_alpha(c) || sl_digit(c) || c == '-' || c == '.' || c == '_';
}

static bool sl_upper_word(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || sl_digit(c) || c == '_';
}

/* ---- Small readers over a span ------------------------------------------------------------- */

/* Bytes at the cursor that satisfy `ok`, at most max+1 (so a caller can see "too long"). */
static size_t sl_run(const struct qw_cursor *c, bool (*ok)(uint8_t), size_t max)
{
    size_t left = qw_cur_left(c), n = 0;
    const uint8_t *p = qw_cur_ptr(c);
    while (n < left && n <= max && ok(p[n])) n++;
    return n;
}

static bool sl_peek_is(const struct qw_cursor *c, size_t at, uint8_t want)
{
    return qw_cur_left(c) > at && qw_cur_ptr(c)[at] == want;
}

static struct qw_log_span sl_take(struct qw_cursor *c, size_t n)
{
    struct qw_log_span s = {qw_cur_ptr(c), n};
    qw_cur_skip(c, n);
    return s;
}

/* `<PRI>`: 1-3 digits. Returns false when absent or malformed; *pri may pass 191. */
static bool sl_pri(struct qw_cursor *c, unsigned *pri)
{
    if (!sl_peek_is(c, 0, '<')) return false;
    size_t n = 0;
    unsigned v = 0;
    const uint8_t *p = qw_cur_ptr(c);
    size_t left = qw_cur_left(c);
    while (1 + n < left && n < 3 && sl_digit(p[1 + n])) v = v * 10 + (unsigned)(p[1 + n++] - '0');
    if (n == 0 || 1 + n >= left || p[1 + n] != '>') return false;
    qw_cur_skip(c, n + 2);
    *pri = v;
    return true;
}

/* ---- RFC 5424 ------------------------------------------------------------------------------ */

/* One header token and the SP after it; false (and the part marked in m->bad) when missing,
 * empty or longer than max: a token that ends the message leaves the next part missing. */
static bool sl_field(struct qw_cursor *c, struct qw_log_span *out, size_t max, enum sl_part part,
                     struct sl_msg *m)
{
    size_t n = sl_run(c, sl_print, max);
    if (n == 0 || n > max || !sl_peek_is(c, n, ' ')) {
        bool ends = n > 0 && n <= max && qw_cur_left(c) == n;
        if (ends) *out = sl_take(c, n);
        if (!m->bad) m->bad = (uint8_t)(ends ? part + 1 : part);
        return false;
    }
    *out = sl_take(c, n);
    qw_cur_skip(c, 1);
    return true;
}

/* A PARAM-VALUE's bytes up to its closing quote, escapes included ([5424] s.6.3.3). */
static bool sl_sd_value(struct qw_cursor *c)
{
    while (qw_cur_left(c) > 0) {
        uint8_t b = qw_cur_u8(c);
        if (b == '\\') {
            if (!qw_cur_skip(c, 1)) return false;
        } else if (b == '"') {
            return true;
        }
    }
    return false;
}

static bool sl_sd_name_char(uint8_t c)
{
    return sl_print(c) && c != '=' && c != ']' && c != '"';
}

/* One SD-ELEMENT `[SD-ID *(SP NAME="VALUE")]`; the id is kept when there is room. */
static bool sl_sd_element(struct qw_cursor *c, struct sl_msg *m)
{
    qw_cur_skip(c, 1); /* '[' */
    size_t n = sl_run(c, sl_sd_name_char, SYSLOG_SDNAME_MAX);
    if (n == 0 || n > SYSLOG_SDNAME_MAX) return false;
    struct qw_log_span id = sl_take(c, n);
    if (m->nsd < SYSLOG_SD_KEEP) m->sd[m->nsd++] = id;
    else m->sd_more = true;
    for (;;) {
        uint8_t b = qw_cur_u8(c);
        if (c->err) return false;
        if (b == ']') return true;
        if (b != ' ') return false;
        n = sl_run(c, sl_sd_name_char, SYSLOG_SDNAME_MAX);
        if (n == 0 || n > SYSLOG_SDNAME_MAX) return false;
        qw_cur_skip(c, n);
        if (qw_cur_u8(c) != '=' || qw_cur_u8(c) != '"' || c->err) return false;
        if (!sl_sd_value(c)) return false;
    }
}

/* STRUCTURED-DATA: NILVALUE or one or more elements. */
static bool sl_sd(struct qw_cursor *c, struct sl_msg *m)
{
    if (sl_peek_is(c, 0, '-')) return qw_cur_skip(c, 1);
    if (!sl_peek_is(c, 0, '[')) return false;
    while (sl_peek_is(c, 0, '['))
        if (!sl_sd_element(c, m)) return false;
    return true;
}

static void sl_decode_5424(struct qw_cursor *c, struct sl_msg *m)
{
    m->format = SL_RFC5424;
    m->version = (unsigned)(qw_cur_u8(c) - '0');
    qw_cur_skip(c, 1); /* SP, checked by the caller */
    if (!sl_field(c, &m->timestamp, SYSLOG_TS_MAX, SL_TIMESTAMP, m) ||
        !sl_field(c, &m->hostname, SYSLOG_HOST_MAX, SL_HOSTNAME, m) ||
        !sl_field(c, &m->app, SYSLOG_APP_MAX, SL_APP, m) ||
        !sl_field(c, &m->procid, SYSLOG_PROCID_MAX, SL_PROCID, m) ||
        !sl_field(c, &m->msgid, SYSLOG_MSGID_MAX, SL_MSGID, m))
        return;
    if (!sl_sd(c, m)) {
        m->bad = SL_SD;
        return;
    }
    if (qw_cur_left(c) == 0) return;
    if (qw_cur_u8(c) != ' ') {
        m->bad = SL_SD;
        return;
    }
    if (qw_cur_left(c) >= 3 && memcmp(qw_cur_ptr(c), "\xEF\xBB\xBF", 3) == 0) {
        m->bom = true;
        qw_cur_skip(c, 3);
    }
    m->text = sl_take(c, qw_cur_left(c));
}

/* ---- RFC 3164 and its variants ------------------------------------------------------------- */

static bool sl_month_at(const uint8_t *p, size_t left)
{
    if (left < 4 || p[3] != ' ') return false;
    for (size_t i = 0; i < 12; i++)
        if (memcmp(p, syslog_months[i], 3) == 0) return true;
    return false;
}

/* Digits at p: exactly n of them. */
static bool sl_digits_at(const uint8_t *p, size_t left, size_t n)
{
    if (left < n) return false;
    for (size_t i = 0; i < n; i++)
        if (!sl_digit(p[i])) return false;
    return true;
}

/* `hh:mm:ss` and an optional fraction; returns the length or 0. */
static size_t sl_clock_at(const uint8_t *p, size_t left)
{
    if (left < 8 || !sl_digits_at(p, left, 2) || p[2] != ':' || !sl_digits_at(p + 3, left - 3, 2) ||
        p[5] != ':' || !sl_digits_at(p + 6, left - 6, 2))
        return 0;
    size_t n = 8;
    if (n < left && p[n] == '.') {
        size_t k = 1;
        while (n + k < left && k <= 9 && sl_digit(p[n + k])) k++;
        if (k > 1) n += k;
    }
    return n;
}

/* A BSD timestamp: `Mmm dd hh:mm:ss` or `Mmm  d`, optionally a year before the clock, a
 * fraction, and a time-zone word ending in ':' (Cisco). Returns its length or 0. */
static size_t sl_bsd_time(const uint8_t *p, size_t left)
{
    if (!sl_month_at(p, left) || left < 7) return 0;
    size_t n = 4;
    if (p[n] == ' ' && sl_digit(p[n + 1])) n += 2;
    else if (sl_digit(p[n]) && sl_digit(p[n + 1])) n += 2;
    else if (sl_digit(p[n]) && p[n + 1] == ' ') n += 1;
    else return 0;
    if (n >= left || p[n] != ' ') return 0;
    n++;
    if (sl_digits_at(p + n, left - n, 4) && left - n > 4 && p[n + 4] == ' ') n += 5;
    size_t k = sl_clock_at(p + n, left - n);
    if (!k) return 0;
    n += k;
    /* " UTC:" and the like: a zone name Cisco shows before the colon */
    size_t z = 0;
    while (n + 1 + z < left && z < 5 && p[n + 1 + z] >= 'A' && p[n + 1 + z] <= 'Z') z++;
    if (z >= 2 && n + 1 + z < left && p[n] == ' ' && p[n + 1 + z] == ':') n += 1 + z;
    return n;
}

/* An ISO 8601 date and time: `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|+hh:mm|-hh:mm]`. */
static size_t sl_iso_time(const uint8_t *p, size_t left)
{
    if (left < 19 || !sl_digits_at(p, left, 4) || p[4] != '-' || !sl_digits_at(p + 5, 2, 2) ||
        p[7] != '-' || !sl_digits_at(p + 8, 2, 2) || (p[10] != 'T' && p[10] != ' '))
        return 0;
    size_t k = sl_clock_at(p + 11, left - 11);
    if (!k) return 0;
    size_t n = 11 + k;
    if (n < left && p[n] == 'Z') return n + 1;
    if (n + 6 <= left && (p[n] == '+' || p[n] == '-') && sl_digits_at(p + n + 1, 2, 2) &&
        p[n + 3] == ':' && sl_digits_at(p + n + 4, 2, 2))
        return n + 6;
    return n;
}

/* The timestamp at the cursor (a Cisco `*` or `.` included), its trailing ':' skipped, and
 * the SP after it. */
static bool sl_3164_time(struct qw_cursor *c, struct sl_msg *m)
{
    const uint8_t *p = qw_cur_ptr(c);
    size_t left = qw_cur_left(c), mark = (left && (p[0] == '*' || p[0] == '.')) ? 1 : 0;
    size_t n = sl_bsd_time(p + mark, left - mark);
    if (!n) n = sl_iso_time(p + mark, left - mark);
    if (!n) return false;
    m->timestamp = sl_take(c, mark + n);
    if (sl_peek_is(c, 0, ':')) qw_cur_skip(c, 1);
    if (sl_peek_is(c, 0, ' ')) qw_cur_skip(c, 1);
    return true;
}

/* `digits: `: a Cisco sequence number. */
static void sl_3164_sequence(struct qw_cursor *c, struct sl_msg *m)
{
    size_t n = sl_run(c, sl_digit, SYSLOG_SEQ_MAX);
    if (n == 0 || n > SYSLOG_SEQ_MAX || !sl_peek_is(c, n, ':') || !sl_peek_is(c, n + 1, ' '))
        return;
    m->sequence = sl_take(c, n);
    qw_cur_skip(c, 2);
}

/* After a Cisco sequence number: the sender's own name (`logging origin-id`) as `name: `,
 * and a `[syslog@9 s_sn="1"]: ` sequence element. */
static void sl_3164_cisco_origin(struct qw_cursor *c, struct sl_msg *m)
{
    size_t n = sl_run(c, sl_host_char, SYSLOG_HOST_MAX);
    if (n > 0 && n <= SYSLOG_HOST_MAX && sl_peek_is(c, n, ':') && sl_peek_is(c, n + 1, ' ')) {
        m->hostname = sl_take(c, n);
        qw_cur_skip(c, 2);
    }
    if (!sl_peek_is(c, 0, '[')) return;
    struct qw_cursor save = *c;
    struct sl_msg keep = *m;
    if (sl_sd_element(c, m) && sl_peek_is(c, 0, ':') && sl_peek_is(c, 1, ' ')) {
        qw_cur_skip(c, 2);
        return;
    }
    *c = save; /* not an element: it is text */
    *m = keep;
}

/* `TAG[pid]:` or `TAG:` (a tag starts with a letter); false, the cursor unmoved, otherwise. */
static bool sl_3164_tag(struct qw_cursor *c, struct sl_msg *m)
{
    size_t n = sl_run(c, sl_tag_char, SYSLOG_TAG_MAX);
    if (n == 0 || n > SYSLOG_TAG_MAX || !sl_alpha(qw_cur_ptr(c)[0])) return false;
    size_t at = n;
    struct qw_log_span pid = {NULL, 0};
    if (sl_peek_is(c, at, '[')) {
        size_t k = 0;
        const uint8_t *p = qw_cur_ptr(c) + at + 1;
        size_t left = qw_cur_left(c) - at - 1;
        while (k < left && k <= SYSLOG_PROCID_MAX && sl_print(p[k]) && p[k] != ']') k++;
        if (k == 0 || k > SYSLOG_PROCID_MAX || k >= left || p[k] != ']') return false;
        pid = (struct qw_log_span){p, k};
        at += k + 2;
    }
    if (sl_peek_is(c, at, ':')) at++;
    else if (!pid.p) return false;
    if (!sl_peek_is(c, at, ' ') && qw_cur_left(c) > at) return false;
    m->app = sl_take(c, n);
    m->procid = pid;
    qw_cur_skip(c, at - n);
    if (sl_peek_is(c, 0, ' ')) qw_cur_skip(c, 1);
    return true;
}

/* After the timestamp: HOSTNAME, unless the next token is a tag or a Cisco mnemonic. */
static void sl_3164_host(struct qw_cursor *c, struct sl_msg *m)
{
    if (sl_peek_is(c, 0, '%')) return;
    size_t n = sl_run(c, sl_print, SYSLOG_HOST_MAX);
    if (n == 0 || n > SYSLOG_HOST_MAX || !sl_peek_is(c, n, ' ')) return;
    const uint8_t *p = qw_cur_ptr(c);
    if (p[n - 1] == ':' || memchr(p, '[', n)) return; /* `tag:` or `tag[pid]` */
    struct qw_log_span h = sl_take(c, n);
    if (!m->hostname.p) m->hostname = h;
    qw_cur_skip(c, 1);
}

/* `%FACILITY-SEVERITY-MNEMONIC:` ([3164] variants, Cisco): at the start of the text or after
 * a space within its first SYSLOG_CISCO_SCAN bytes. The facility may hold '-' (sub-facility). */
static bool sl_cisco_at(const uint8_t *p, size_t left, struct sl_msg *m)
{
    size_t i = 1, sev = 0;
    while (i < left && (sl_upper_word(p[i]) || p[i] == '-')) {
        if (p[i] == '-' && i + 2 < left && p[i + 1] >= '0' && p[i + 1] <= '7' && p[i + 2] == '-')
            sev = i + 1;
        i++;
    }
    if (!sev || sev < 3 || i >= left || p[i] != ':' || i <= sev + 2) return false;
    m->cisco_fac = (struct qw_log_span){p + 1, sev - 2};
    m->cisco_sev = (struct qw_log_span){p + sev, 1};
    m->cisco_mnem = (struct qw_log_span){p + sev + 2, i - sev - 2};
    return true;
}

static void sl_cisco(struct sl_msg *m)
{
    const uint8_t *p = m->text.p;
    size_t n = m->text.n < SYSLOG_CISCO_SCAN ? m->text.n : SYSLOG_CISCO_SCAN;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '%' && (i == 0 || p[i - 1] == ' ') && sl_cisco_at(p + i, m->text.n - i, m))
            return;
    /* Cisco's XML form carries the same three in tags */
    m->cisco_xml = qw_log_cisco_xml(m->text, &m->cisco_fac, &m->cisco_sev, &m->cisco_mnem);
}

static void sl_decode_3164(struct qw_cursor *c, struct sl_msg *m)
{
    m->format = SL_RFC3164;
    while (sl_peek_is(c, 0, ' ')) qw_cur_skip(c, 1); /* some senders put a space first */
    sl_3164_sequence(c, m);
    if (m->sequence.p) sl_3164_cisco_origin(c, m);
    if (sl_3164_time(c, m)) sl_3164_host(c, m);
    if (!sl_peek_is(c, 0, '%')) sl_3164_tag(c, m);
    m->text = sl_take(c, qw_cur_left(c));
    sl_cisco(m);
}

/* ---- One message --------------------------------------------------------------------------- */

/* Decode one message (PRI included). False when it has no valid PRI. */
static bool sl_decode(const uint8_t *d, size_t n, struct sl_msg *m)
{
    memset(m, 0, sizeof *m);
    /* The end of a line (LF, CR LF, trailing NULs) is framing, not text. */
    while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r' || d[n - 1] == '\0')) n--;
    struct qw_cursor c = qw_cursor_make(d, n);
    if (!sl_pri(&c, &m->pri) || m->pri > SYSLOG_PRI_MAX) return false;
    const uint8_t *p = qw_cur_ptr(&c);
    size_t left = qw_cur_left(&c);
    if (left >= 2 && sl_digit(p[0]) && p[0] != '0' && p[1] == ' ' &&
        (left == 2 || p[2] == '-' || sl_digit(p[2])))
        sl_decode_5424(&c, m);
    else
        sl_decode_3164(&c, m);
    return true;
}

/* ---- Record -------------------------------------------------------------------------------- */

static void sl_json_span(struct qw_json *j, const char *key, struct qw_log_span s)
{
    if (s.p) qw_json_strn(j, key, s.p, s.n);
}

static void sl_write_json(struct qw_json *j, const void *arg)
{
    const struct sl_msg *m = arg;
    unsigned fac = m->pri >> 3, sev = m->pri & 7;
    qw_json_str(j, "format", m->format == SL_RFC5424 ? "rfc5424" : "rfc3164");
    qw_json_u64(j, "facility", fac);
    qw_json_str(j, "facility_name", syslog_facilities[fac]);
    qw_json_u64(j, "severity", sev);
    qw_json_str(j, "severity_name", syslog_severities[sev]);
    if (m->format == SL_RFC5424) qw_json_u64(j, "version", m->version);
    sl_json_span(j, "sequence", m->sequence);
    sl_json_span(j, "timestamp", m->timestamp);
    sl_json_span(j, "hostname", m->hostname);
    sl_json_span(j, "app_name", m->app);
    sl_json_span(j, "procid", m->procid);
    sl_json_span(j, "msgid", m->msgid);
    if (m->nsd) {
        qw_json_arr_begin(j, "sd_ids");
        for (size_t i = 0; i < m->nsd; i++) qw_json_strn(j, NULL, m->sd[i].p, m->sd[i].n);
        qw_json_arr_end(j);
        if (m->sd_more) qw_json_bool(j, "sd_ids_cut", true);
    }
    if (m->cisco_mnem.p) {
        qw_json_obj_begin(j, "cisco");
        sl_json_span(j, "facility", m->cisco_fac);
        sl_json_span(j, "severity", m->cisco_sev);
        sl_json_span(j, "mnemonic", m->cisco_mnem);
        qw_json_obj_end(j);
    }
    if (m->bom) qw_json_bool(j, "bom", true);
    if (m->text.p) {
        size_t keep = m->text.n < SYSLOG_TEXT_KEEP ? m->text.n : SYSLOG_TEXT_KEEP;
        qw_json_strn(j, "message", m->text.p, keep);
        qw_json_u64(j, "message_length", m->text.n);
        if (keep < m->text.n || m->cut) qw_json_bool(j, "message_cut", true);
    }
    if (m->bad) qw_json_str(j, "header_invalid", sl_part_names[m->bad]);
    if (m->has_report) {
        const struct qw_log_report *c = &m->report;
        /* a login is no change: its own object, which says whether it failed */
        bool login = c->kind == QW_REPORT_LOGIN || c->kind == QW_REPORT_LOGIN_FAILED;
        qw_json_obj_begin(j, login ? "login" : "change");
        if (!login) qw_json_str(j, "kind", qw_device_report_names[c->kind]);
        if (login) qw_json_bool(j, "failed", c->kind == QW_REPORT_LOGIN_FAILED);
        qw_json_str(j, "message_id", c->message_id);
        if (c->user.p) qw_json_strn(j, "user", c->user.p, c->user.n);
        char a[46];
        if (c->has_from) qw_json_str(j, "from", qw_addr_str(&c->from, a));
        qw_json_obj_end(j);
    }
}

/* ---- Facts and anomalies ------------------------------------------------------------------- */

static void sl_anomaly(struct qw_pctx *ctx, struct syslog_state *st, const char *detail)
{
    if (st->anomalies >= SYSLOG_ANOMALY_MAX) return;
    st->anomalies++;
    qw_emit_anomaly(ctx, "syslog.invalid_message", detail);
}

/* An IPv4 or IPv6 address literal, which names no host. */
static bool sl_address_literal(struct qw_log_span h)
{
    bool v4 = true, v6 = false;
    for (size_t i = 0; i < h.n; i++) {
        uint8_t b = h.p[i];
        if (b == ':') v6 = true;
        if (!sl_digit(b) && b != '.') v4 = false;
    }
    return v4 || v6;
}

/* A host name worth a fact: [A-Za-z0-9._-], starting with a letter or digit, with a letter
 * somewhere, and not an address literal. */
static bool sl_real_hostname(struct qw_log_span h)
{
    if (h.n == 0 || h.n > SYSLOG_HOST_MAX || (h.n == 1 && h.p[0] == '-')) return false;
    if (!sl_alpha(h.p[0]) && !sl_digit(h.p[0])) return false;
    bool letter = false;
    for (size_t i = 0; i < h.n; i++) {
        if (!sl_host_char(h.p[i])) return false;
        letter |= sl_alpha(h.p[i]);
    }
    return letter && !sl_address_literal(h);
}

static uint64_t sl_hash(struct qw_log_span s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < s.n; i++) h = (h ^ s.p[i]) * 1099511628211ull;
    return h;
}

static void sl_identity(struct qw_pctx *ctx, struct sl_dir *d, enum qw_dir dir,
                        const struct sl_msg *m)
{
    if (!sl_real_hostname(m->hostname)) return;
    uint64_t h = sl_hash(m->hostname);
    if (d->named && d->name_hash == h) return;
    d->named = true;
    d->name_hash = h;
    /* The sender of this message: the client for messages to the server. */
    qw_emit_identity(ctx, dir == QW_DIR_TO_CLIENT, "hostname", (const char *)m->hostname.p,
                     m->hostname.n);
}

/* One whole message (or its first SYSLOG_HOLD bytes when `cut`). */
static void sl_message(struct qw_pctx *ctx, struct syslog_state *st, enum qw_dir dir,
                       const uint8_t *data, size_t len, bool cut)
{
    struct sl_msg m;
    if (!sl_decode(data, len, &m)) {
        sl_anomaly(ctx, st, "pri: no digits or above 191");
        return;
    }
    m.cut = cut;
    if (m.bad) sl_anomaly(ctx, st, sl_part_details[m.bad]);
    struct qw_log_parts parts = {.cisco_fac = m.cisco_fac, .cisco_mnem = m.cisco_mnem,
                                 .cisco_xml = m.cisco_xml, .msgid = m.msgid, .app = m.app,
                                 .text = m.text};
    m.has_report = qw_log_report_find(&parts, &m.report);
    struct qw_txn t = {0};
    t.has_request = true;
    t.function = m.pri & 7;
    t.function_name = syslog_severities[m.pri & 7];
    t.ops = 0; /* see the banner */
    t.request_ns = qw_pctx_time(ctx);
    t.write_json = sl_write_json;
    t.arg = &m;
    qw_emit_txn(ctx, &t);
    sl_identity(ctx, &st->d[dir], dir, &m);
    if (m.has_report) {
        /* the sender reports it: the client for messages to the server */
        struct qw_device_report c = {
            .kind = m.report.kind,
            .server = dir == QW_DIR_TO_CLIENT,
            .message_id = m.report.message_id,
            .user = (const char *)m.report.user.p,
            .user_len = m.report.user.n,
            .from = m.report.has_from ? &m.report.from : NULL,
        };
        qw_emit_device_report(ctx, &c);
    }
}

/* ---- UDP ----------------------------------------------------------------------------------- */

static void syslog_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir,
                            const uint8_t *data, size_t len)
{
    sl_message(ctx, state, dir, data, len, false);
}

/* ---- TCP ----------------------------------------------------------------------------------- */

/* An octet count `MSG-LEN SP` at p ([6587] s.3.4.1). Returns bytes used by the count and SP,
 * 0 when more bytes are needed, or SIZE_MAX when it is not a valid count. */
static size_t sl_octet_count(const uint8_t *p, size_t len, uint32_t *count)
{
    size_t n = 0;
    uint32_t v = 0;
    while (n < len && n < SYSLOG_COUNT_DIGITS + 1 && sl_digit(p[n]))
        v = v * 10 + (uint32_t)(p[n++] - '0');
    if (n == len) return n > SYSLOG_COUNT_DIGITS ? SIZE_MAX : 0;
    if (n > SYSLOG_COUNT_DIGITS || p[n] != ' ' || p[0] == '0' || v > SYSLOG_OCTET_MAX)
        return SIZE_MAX;
    *count = v;
    return n + 1;
}

/* Where a message ends under non-transparent framing: the LF (or NUL) from p, or NULL. */
static const uint8_t *sl_line_end(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\n' || p[i] == '\0') return p + i;
    return NULL;
}

/* After a gap: the offset of the next `<PRI>` (backed up over `digits SP` when the stream
 * counts octets), or len when there is none. */
static size_t sl_resync(const struct sl_dir *d, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '<') continue;
        struct qw_cursor c = qw_cursor_make(p + i, len - i);
        unsigned pri;
        if (!sl_pri(&c, &pri) || pri > SYSLOG_PRI_MAX) continue;
        if (!d->counted) return i;
        size_t k = i;
        if (k == 0 || p[k - 1] != ' ') continue;
        k--;
        while (k > 0 && i - k <= SYSLOG_COUNT_DIGITS && sl_digit(p[k - 1])) k--;
        if (k < i - 1) return k;
    }
    return len;
}

/* Bytes taken by one step at a message boundary; 0 when more bytes are needed. */
static size_t sl_tcp_message(struct qw_pctx *ctx, struct syslog_state *st, enum qw_dir dir,
                             const uint8_t *p, size_t len)
{
    struct sl_dir *d = &st->d[dir];
    if (p[0] == '\n' || p[0] == '\r' || p[0] == '\0' || p[0] == ' ') return 1; /* between */
    if (sl_digit(p[0])) {
        uint32_t count = 0;
        size_t h = sl_octet_count(p, len, &count);
        if (h == 0) return 0;
        if (h == SIZE_MAX) {
            sl_anomaly(ctx, st, "octet count: not a number or above 1048576");
            d->mode = SL_SKIP_LINE;
            return 1;
        }
        d->counted = true;
        if (len - h >= count) {
            sl_message(ctx, st, dir, p + h, count, false);
            return h + count;
        }
        if (len - h < SYSLOG_HOLD) return 0;
        sl_message(ctx, st, dir, p + h, SYSLOG_HOLD, true);
        d->mode = SL_SKIP_COUNT;
        d->skip = count - SYSLOG_HOLD;
        return h + SYSLOG_HOLD;
    }
    if (p[0] == '<') {
        d->counted = false;
        const uint8_t *end = sl_line_end(p, len);
        if (end) {
            sl_message(ctx, st, dir, p, (size_t)(end - p), false);
            return (size_t)(end - p) + 1;
        }
        if (len < SYSLOG_HOLD) return 0;
        sl_message(ctx, st, dir, p, SYSLOG_HOLD, true);
        d->mode = SL_SKIP_LINE;
        return SYSLOG_HOLD;
    }
    sl_anomaly(ctx, st, "framing: bytes that start no message");
    d->mode = SL_SKIP_LINE;
    return 1;
}

static size_t syslog_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir,
                           const uint8_t *data, size_t len)
{
    struct syslog_state *st = state;
    struct sl_dir *d = &st->d[dir];
    size_t off = 0;
    while (off < len) {
        const uint8_t *p = data + off;
        size_t left = len - off, used;
        switch (d->mode) {
        case SL_SKIP_COUNT:
            used = d->skip < left ? d->skip : left;
            d->skip -= (uint32_t)used;
            if (d->skip == 0) d->mode = SL_MESSAGE;
            break;
        case SL_SKIP_LINE: {
            const uint8_t *end = sl_line_end(p, left);
            used = end ? (size_t)(end - p) + 1 : left;
            if (end) d->mode = SL_MESSAGE;
            break;
        }
        case SL_RESYNC:
            used = sl_resync(d, p, left);
            if (used < left) d->mode = SL_MESSAGE;
            /* keep a possible start cut by the segment: up to a count and a PRI */
            else if (left > SYSLOG_COUNT_DIGITS + 6) used = left - (SYSLOG_COUNT_DIGITS + 6);
            else return off;
            if (used == 0) continue;
            break;
        default:
            used = sl_tcp_message(ctx, st, dir, p, left);
            if (used == 0) return off;
            break;
        }
        off += used;
    }
    return off;
}

static void syslog_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct syslog_state *st = state;
    st->d[dir].mode = SL_RESYNC;
    st->d[dir].skip = 0;
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* `<PRI>` with PRI <= 191, then `1 ` and a timestamp or NILVALUE ([5424]), or printable text
 * that starts the way [3164] senders start (a month, a digit, `*`, `.`, a letter, `%`, a
 * space); the stream to a TCP server may first carry an octet count ([6587]). */
static enum qw_probe_result syslog_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    size_t off = 0;
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (sl_digit(data[0])) {
        uint32_t count = 0;
        if (dir != QW_DIR_TO_SERVER) return QW_PROBE_NO; /* the sender opens the connection */
        off = sl_octet_count(data, len, &count);
        if (off == 0) return QW_PROBE_NEED_MORE;
        if (off == SIZE_MAX || count < 5) return QW_PROBE_NO;
    }
    if (off >= len) return QW_PROBE_NEED_MORE;
    if (data[off] != '<') return QW_PROBE_NO;
    struct qw_cursor c = qw_cursor_make(data + off, len - off);
    unsigned pri;
    if (!sl_pri(&c, &pri)) {
        /* too short to tell (up to 3 digits and the end), or not a PRI */
        size_t k = 0;
        while (off + 1 + k < len && k < 3 && sl_digit(data[off + 1 + k])) k++;
        return off + 1 + k == len ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
    }
    if (pri > SYSLOG_PRI_MAX) return QW_PROBE_NO;
    const uint8_t *p = qw_cur_ptr(&c);
    size_t left = qw_cur_left(&c);
    if (left < 2) return QW_PROBE_NEED_MORE;
    if (p[0] == '1' && p[1] == ' ')
        return left < 3 ? QW_PROBE_NEED_MORE
                        : (p[2] == '-' || sl_digit(p[2])) ? QW_PROBE_MATCH : QW_PROBE_NO;
    if (!sl_alpha(p[0]) && !sl_digit(p[0]) && p[0] != '*' && p[0] != '.' && p[0] != '%' &&
        p[0] != ' ')
        return QW_PROBE_NO;
    size_t n = left < SYSLOG_PROBE_TEXT ? left : SYSLOG_PROBE_TEXT;
    for (size_t i = 0; i < n; i++) {
        if (sl_text(p[i])) continue;
        /* a short message may end in its line end, and nothing else after it */
        if (i < 2) return QW_PROBE_NO;
        size_t k = i;
        while (k < left && (p[k] == '\n' || p[k] == '\r' || p[k] == '\0')) k++;
        return k == left || p[k] == '<' ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    return left < 4 ? QW_PROBE_NEED_MORE : QW_PROBE_MATCH;
}

const struct qw_proto qw_proto_syslog = {
    .name = "syslog",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {SYSLOG_PORT, SYSLOG_CONN_PORT, 0},
    .probe = syslog_probe,
    .state_size = sizeof(struct syslog_state),
    .parse = syslog_parse,
    .datagram = syslog_datagram,
    .gap = syslog_gap,
    /* no flow_end: nothing is held here. A message still waiting for its LF or its last
     * counted bytes is in the engine's tail, dropped with the flow (docs/events/syslog.md). */
};
