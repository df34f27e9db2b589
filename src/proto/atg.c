/* Automatic tank gauge (ATG) parser: the Veeder-Root TLS-3xx/4xx serial interface protocol,
 * as carried over TCP (commonly port 10001) by tank gauges and the consoles that emulate them.
 *
 * Specifications:
 *   [VR] Veeder-Root Serial Interface Manual for TLS-300/350/350R, manual 576013-635 (and the
 *        TLS2 577013-767 and TLS-450 577013-950 manuals, which share the format):
 *        s.5 command message format: <SOH> [6-character RS-232 security code] function code
 *        (6 characters: 'i' inquiry / 's' set in computer format, 'I' / 'S' in display format,
 *        3-character function number, 2-digit tank or device number, 00 = all) [data field];
 *        an unrecognised command is answered <SOH>9999FF1B<ETX>.
 *        s.6.1 computer format response: <SOH> function code, YYMMDDHHmm, data, "&&", 4 hex
 *        digits of checksum, <ETX>; the checksum is the 16-bit two's complement of the sum of
 *        every octet from <SOH> through "&&", so that the sum plus the checksum is 0.
 *        s.6.2 display format response: <SOH> CR LF function code CR LF text <ETX>.
 *        s.6.3 ASCII floating point: 8 hex digits of an IEEE 754 single (big-endian).
 *        s.7 function codes (tables below); 201 in-tank inventory: per tank TT p ssss NN then NN
 *        floats (volume, TC volume, ullage, height, water, temperature, water volume); 113
 *        active alarms: four 20-character station header lines after the date; 902 system
 *        revision level: "SOFTWARE# nnnnnn-vvv-rrr".
 *
 * Framing: commands carry no terminator ([VR] s.5: the console reads them by length); clients
 * over TCP send one per segment, often followed by CR/LF. A command ends at CR, LF, ETX, the
 * next SOH, or when the console starts answering; its octets are kept in the flow state until
 * then. Responses end with ETX and are framed by the engine's pending buffer. Commands and
 * answers are strictly sequential, so a response pairs with the oldest outstanding command of
 * the same function code (the console echoes it). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/ascii.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define ATG_PORT 10001          /* the TCP port of serial-to-Ethernet ATG interfaces (hint) */
#define ATG_SOH 0x01
#define ATG_ETX 0x03            /* the default ETX; [VR] lets S53100 change it (not followed) */
#define ATG_FN_LEN 6            /* [VR] s.5: letter, 3-character function, 2-digit tank */
#define ATG_SECURITY_LEN 6      /* [VR] s.5 */
#define ATG_CHECKSUM_TAG_LEN 6  /* "&&" + 4 hex digits */
#define ATG_DATETIME_LEN 10     /* YYMMDDHHmm */
/* Longest command kept: the longest [VR] set commands (station headers, labels) are well under
 * 100 characters. A longer one is kept cut and flagged. */
#define ATG_CMD_MAX 128
/* Longest response: display-format history reports run to a few KiB. Past this without an ETX
 * the framing is taken as lost. */
#define ATG_RSP_MAX 32768
#define ATG_QUEUE_MAX 4         /* commands are strictly sequential ([VR] s.5) */
#define ATG_TANKS_MAX 32        /* tanks listed per 201 answer; more are counted */
#define ATG_FIELDS_NAMED 7      /* the 7 floats of 201 ([VR] function 201) */
#define ATG_TEXT_MAX 1024       /* display text and opaque data shown */

/* ---- Protocol fact tables ------------------------------------------------------------------ */

struct atg_func {
    const char *code;  /* 3 characters as sent */
    const char *name;
    uint32_t inquiry_ops, set_ops;
};

#define RD QW_OP_READ
#define CFG QW_OP_CONFIG

/* Function codes of [VR] s.7. An inquiry reads; a set changes the console's configuration,
 * except where the function says otherwise (clock, security code, reset). */
static const struct atg_func atg_funcs[] = {
    {"001", "system_reset", RD, QW_OP_RESTART},
    {"002", "clear_power_reset_flag", RD, QW_OP_WRITE},
    {"09E", "setup_password_log_in", QW_OP_AUTH, QW_OP_AUTH},
    {"101", "system_status_report", RD, CFG},
    {"102", "system_configuration_report", RD, CFG},
    {"111", "priority_alarm_history_report", RD, CFG},
    {"112", "non_priority_alarm_history_report", RD, CFG},
    {"113", "active_alarm_report", RD, CFG},
    {"114", "cleared_alarm_report", RD, CFG},
    {"201", "in_tank_inventory_report", RD, CFG},
    {"202", "in_tank_delivery_report", RD, CFG},
    {"203", "in_tank_leak_detect_report", RD, CFG},
    {"204", "in_tank_shift_inventory_report", RD, CFG},
    {"205", "in_tank_status_report", RD, CFG},
    {"206", "in_tank_alarm_history_report", RD, CFG},
    {"207", "in_tank_leak_test_history_report", RD, CFG},
    {"208", "in_tank_leak_test_results_report", RD, CFG},
    {"20D", "in_tank_stick_height_report", RD, CFG},
    {"401", "input_status_report", RD, CFG},
    {"406", "relay_status_report", RD, CFG},
    {"501", "time_of_day", QW_OP_TIMESYNC, QW_OP_TIMESYNC},
    {"504", "rs232_security_code", RD | QW_OP_AUTH, QW_OP_AUTH | CFG},
    {"602", "tank_product_label", RD, CFG},
    {"60D", "fixed_product_label", RD, CFG},
    {"628", "tank_maximum_volume_limit", RD, CFG},
    {"902", "system_revision_level_report", RD | QW_OP_IDENTIFY, CFG},
    {"905", "system_revision_level_report_ii", RD | QW_OP_IDENTIFY, CFG},
    {"A30", "tank_profile_and_full_volume", RD, CFG},
};

static const struct atg_func *atg_func_of(const uint8_t code[3])
{
    for (size_t i = 0; i < sizeof atg_funcs / sizeof atg_funcs[0]; i++)
        if (memcmp(atg_funcs[i].code, code, 3) == 0) return &atg_funcs[i];
    return NULL;
}

/* Names of the 201 floats ([VR] function 201). */
static const char *const atg_inv_fields[ATG_FIELDS_NAMED] = {
    "volume", "tc_volume", "ullage", "height", "water", "temperature", "water_volume",
};

/* ---- Character classes --------------------------------------------------------------------- */

static bool is_fn_char(uint8_t c) /* function numbers use digits and upper-case hex letters */
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static bool is_cmd_letter(uint8_t c)
{
    return c == 'i' || c == 's' || c == 'I' || c == 'S';
}

static bool is_printable(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* n hex digits at p into *out; false if any is not a hex digit. */
static bool hex_n(const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(p[i]);
        if (h < 0) return false;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return true;
}

/* A function code "xfffTT" at p (n available): letter, 3 function characters, 2 digits. */
static bool fn_code_ok(const uint8_t *p, size_t n)
{
    return n >= ATG_FN_LEN && is_cmd_letter(p[0]) && is_fn_char(p[1]) && is_fn_char(p[2]) &&
           is_fn_char(p[3]) && qw_is_digit(p[4]) && qw_is_digit(p[5]);
}

/* ---- Decoded messages ---------------------------------------------------------------------- */

struct atg_cmd {
    bool computer;           /* lower-case letter */
    bool set;                /* 's' / 'S' */
    bool security_code;      /* a security code preceded the function code */
    bool oversized;          /* longer than ATG_CMD_MAX: cut */
    uint8_t code[3];
    uint8_t tank;
    const uint8_t *data;     /* the data field after the tank number */
    size_t data_len;
};

struct atg_tank {
    uint8_t tank;
    uint8_t product;
    uint16_t status;
    uint8_t nfields;         /* as declared */
    uint8_t nvals;           /* decoded, at most ATG_FIELDS_NAMED */
    float vals[ATG_FIELDS_NAMED];
};

struct atg_rsp {
    bool computer, display, unrecognized, has_fn;
    bool set;
    uint8_t code[3];
    uint8_t tank;
    const uint8_t *datetime; /* YYMMDDHHmm, computer format */
    const uint8_t *body;     /* computer: data after the date; display: text after the echo */
    size_t body_len;
    bool has_checksum, checksum_ok;
    uint16_t checksum;
    bool truncated;          /* fields cut short */
    unsigned ntanks_total, ntanks;
    struct atg_tank tanks[ATG_TANKS_MAX];
};

/* The function name and ops of a command or response. */
static const char *atg_name(const uint8_t code[3])
{
    const struct atg_func *f = atg_func_of(code);
    return f ? f->name : "unknown";
}

static uint32_t atg_ops(const uint8_t code[3], bool set)
{
    const struct atg_func *f = atg_func_of(code);
    if (f) return set ? f->set_ops : f->inquiry_ops;
    if (set) return CFG;                                 /* [VR]: 's' functions set up the console */
    return code[0] == '9' ? QW_OP_DIAGNOSTIC : RD;       /* 9xx: diagnostic reports ([VR] s.7.4) */
}

static uint32_t atg_fn_value(const uint8_t code[3])
{
    uint32_t v = 0;
    hex_n(code, 3, &v); /* the characters are hex-ish by construction */
    return v;
}

/* Parse a command's octets (after SOH). False when it is not a [VR] command. */
static bool atg_parse_cmd(struct atg_cmd *c, const uint8_t *p, size_t n)
{
    memset(c, 0, sizeof *c);
    if (!fn_code_ok(p, n)) {
        /* A security code may come first ([VR] s.5): six printable characters. */
        if (n < ATG_SECURITY_LEN + ATG_FN_LEN) return false;
        for (size_t i = 0; i < ATG_SECURITY_LEN; i++)
            if (!is_printable(p[i])) return false;
        if (!fn_code_ok(p + ATG_SECURITY_LEN, n - ATG_SECURITY_LEN)) return false;
        c->security_code = true;
        p += ATG_SECURITY_LEN;
        n -= ATG_SECURITY_LEN;
    }
    c->computer = p[0] == 'i' || p[0] == 's';
    c->set = p[0] == 's' || p[0] == 'S';
    memcpy(c->code, p + 1, 3);
    c->tank = (uint8_t)((p[4] - '0') * 10 + (p[5] - '0'));
    c->data = p + ATG_FN_LEN;
    c->data_len = n - ATG_FN_LEN;
    return true;
}

/* 201 computer format body: TT p ssss NN then NN 8-digit floats, per tank. */
static void atg_parse_inventory(struct atg_rsp *r, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (n - off >= 9) {
        const uint8_t *t = p + off;
        uint32_t status, nf;
        if (!qw_is_digit(t[0]) || !qw_is_digit(t[1]) || !hex_n(t + 3, 4, &status) ||
            !hex_n(t + 7, 2, &nf)) {
            r->truncated = true;
            return;
        }
        size_t need = 9 + (size_t)nf * 8;
        if (n - off < need) {
            r->truncated = true;
            return;
        }
        r->ntanks_total++;
        if (r->ntanks < ATG_TANKS_MAX) {
            struct atg_tank *k = &r->tanks[r->ntanks++];
            memset(k, 0, sizeof *k);
            k->tank = (uint8_t)((t[0] - '0') * 10 + (t[1] - '0'));
            k->product = t[2];
            k->status = (uint16_t)status;
            k->nfields = (uint8_t)nf;
            for (uint32_t i = 0; i < nf && k->nvals < ATG_FIELDS_NAMED; i++) {
                uint32_t bits;
                if (!hex_n(t + 9 + i * 8, 8, &bits)) {
                    r->truncated = true;
                    break;
                }
                float f;
                memcpy(&f, &bits, sizeof f); /* [VR] s.6.3: IEEE 754 single precision */
                k->vals[k->nvals++] = f;
            }
        }
        off += need;
    }
    if (off < n) r->truncated = true;
}

/* Decode one response SOH..ETX (both included). Anomalies go to ctx unless NULL. */
static void atg_parse_rsp(struct atg_rsp *r, struct qw_pctx *ctx, const uint8_t *m, size_t n)
{
    memset(r, 0, offsetof(struct atg_rsp, tanks));
    const uint8_t *p = m + 1;
    size_t len = n - 2; /* between SOH and ETX */
    /* Checksum: "&&CCCC" before ETX, or the bare 4 digits of the 9999 answer ([VR] s.5). */
    size_t sum_end = 0, tag = 0;
    uint32_t ck = 0;
    if (len >= ATG_CHECKSUM_TAG_LEN && p[len - 6] == '&' && p[len - 5] == '&' &&
        hex_n(p + len - 4, 4, &ck)) {
        r->has_checksum = true;
        sum_end = len - 4; /* octets through "&&" */
        tag = ATG_CHECKSUM_TAG_LEN;
    } else if (len == 8 && memcmp(p, "9999", 4) == 0 && hex_n(p + 4, 4, &ck)) {
        r->has_checksum = true;
        sum_end = 4;
        tag = 4;
    }
    if (r->has_checksum) {
        uint32_t sum = ATG_SOH;
        for (size_t i = 0; i < sum_end; i++) sum += p[i];
        r->checksum = (uint16_t)ck;
        r->checksum_ok = ((sum + ck) & 0xFFFFu) == 0;
        if (!r->checksum_ok && ctx) qw_emit_anomaly(ctx, "atg.bad_checksum", NULL);
    }
    size_t content = len - tag;
    if (content >= 4 && memcmp(p, "9999", 4) == 0) {
        r->unrecognized = true; /* [VR] s.5: the console did not understand the command */
        return;
    }
    if (fn_code_ok(p, content) && (p[0] == 'i' || p[0] == 's')) {
        r->computer = r->has_fn = true;
        r->set = p[0] == 's';
        memcpy(r->code, p + 1, 3);
        r->tank = (uint8_t)((p[4] - '0') * 10 + (p[5] - '0'));
        const uint8_t *rest = p + ATG_FN_LEN;
        size_t rn = content - ATG_FN_LEN;
        if (rn >= ATG_DATETIME_LEN) {
            bool digits = true;
            for (size_t i = 0; i < ATG_DATETIME_LEN; i++) digits = digits && qw_is_digit(rest[i]);
            if (digits) {
                r->datetime = rest;
                rest += ATG_DATETIME_LEN;
                rn -= ATG_DATETIME_LEN;
            }
        }
        r->body = rest;
        r->body_len = rn;
        if (!r->has_checksum && ctx) qw_emit_anomaly(ctx, "atg.missing_checksum", NULL);
        if (memcmp(r->code, "201", 3) == 0 && r->datetime) {
            atg_parse_inventory(r, rest, rn);
            if (r->truncated && ctx) qw_emit_anomaly(ctx, "atg.truncated_response", "201");
        }
        return;
    }
    /* Display format: CR/LF, the echoed function code, CR/LF, text ([VR] s.6.2). */
    size_t i = 0;
    while (i < content && (p[i] == '\r' || p[i] == '\n')) i++;
    if (fn_code_ok(p + i, content - i) && (p[i] == 'I' || p[i] == 'S')) {
        r->display = r->has_fn = true;
        r->set = p[i] == 'S';
        memcpy(r->code, p + i + 1, 3);
        r->tank = (uint8_t)((p[i + 4] - '0') * 10 + (p[i + 5] - '0'));
        i += ATG_FN_LEN;
    }
    while (i < content && (p[i] == '\r' || p[i] == '\n')) i++;
    r->body = p + i;
    r->body_len = content - i;
    if (!r->has_fn && ctx) qw_emit_anomaly(ctx, "atg.invalid_response", NULL);
}

/* A single-precision value as JSON with 7 significant digits (what an IEEE single holds);
 * qw_json_double's 6 would turn 11049.25 into 11049.2. Not-a-number and infinities are null. */
static void json_float(struct qw_json *j, const char *key, double v)
{
    if (!isfinite(v)) {
        qw_json_null(j, key);
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.7g", v);
    qw_json_raw(j, key, buf, (size_t)n);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct atg_view {
    const struct atg_cmd *req;
    const struct atg_rsp *rsp;
};

static void json_code(struct qw_json *j, const uint8_t code[3], bool computer, bool set,
                      uint8_t tank)
{
    qw_json_str(j, "format", computer ? "computer" : "display");
    qw_json_str(j, "command_type", set ? "set" : "inquiry");
    qw_json_u64(j, "function", atg_fn_value(code));
    qw_json_strn(j, "function_code", code, 3);
    qw_json_str(j, "function_name", atg_name(code));
    qw_json_u64(j, "tank", tank);
}

/* Text trimmed of trailing blanks, at most ATG_TEXT_MAX octets. */
static void json_text(struct qw_json *j, const char *key, const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == 0))
        n--;
    if (n == 0) return;
    bool cut = n > ATG_TEXT_MAX;
    qw_json_strn(j, key, p, cut ? ATG_TEXT_MAX : n);
    if (cut) qw_json_bool(j, "text_truncated", true);
}

static void json_cmd(struct qw_json *j, const struct atg_cmd *c)
{
    qw_json_obj_begin(j, "request");
    json_code(j, c->code, c->computer, c->set, c->tank);
    if (c->security_code) qw_json_bool(j, "security_code", true); /* its value is not logged */
    uint32_t ops = atg_ops(c->code, c->set);
    if (c->data_len) {
        if (ops & QW_OP_AUTH) qw_json_bool(j, "data_redacted", true); /* passwords, codes */
        else json_text(j, "data", c->data, c->data_len);
    }
    if (c->oversized) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void json_datetime(struct qw_json *j, const uint8_t *d)
{
    char buf[24];
    snprintf(buf, sizeof buf, "20%.2s-%.2s-%.2sT%.2s:%.2s", (const char *)d,
             (const char *)d + 2, (const char *)d + 4, (const char *)d + 6, (const char *)d + 8);
    qw_json_str(j, "datetime", buf);
}

static void json_rsp(struct qw_json *j, const struct atg_rsp *r)
{
    qw_json_obj_begin(j, "response");
    if (r->has_fn) {
        json_code(j, r->code, r->computer, r->set, r->tank);
    } else {
        qw_json_str(j, "format", r->unrecognized ? "computer" : "display");
        qw_json_str(j, "function_name", "unknown");
    }
    if (r->unrecognized) qw_json_bool(j, "unrecognized", true);
    if (r->datetime) json_datetime(j, r->datetime);
    if (r->ntanks_total) {
        qw_json_arr_begin(j, "tanks");
        for (unsigned i = 0; i < r->ntanks; i++) {
            const struct atg_tank *k = &r->tanks[i];
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "tank", k->tank);
            qw_json_strn(j, "product", &k->product, 1);
            qw_json_u64(j, "status", k->status);
            for (unsigned v = 0; v < k->nvals; v++)
                json_float(j, atg_inv_fields[v], k->vals[v]);
            if (k->nfields > ATG_FIELDS_NAMED)
                qw_json_u64(j, "extra_fields", k->nfields - ATG_FIELDS_NAMED);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        if (r->ntanks_total > r->ntanks) qw_json_u64(j, "tanks_total", r->ntanks_total);
    } else if (r->body_len) {
        json_text(j, r->display ? "text" : "data", r->body, r->body_len);
    }
    if (r->has_checksum) {
        char ck[5];
        snprintf(ck, sizeof ck, "%04X", r->checksum);
        qw_json_str(j, "checksum", ck);
        qw_json_bool(j, "checksum_valid", r->checksum_ok);
    }
    if (r->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void atg_write_json(struct qw_json *j, const void *arg)
{
    const struct atg_view *v = arg;
    if (v->req) json_cmd(j, v->req);
    if (v->rsp) json_rsp(j, v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct atg_slot {
    bool used;
    bool oversized;
    uint8_t len;
    uint32_t order;
    uint64_t ts_ns;
    uint8_t text[ATG_CMD_MAX]; /* the command's octets after SOH */
};

struct atg_state {
    /* the command being received (client side) */
    bool cmd_open, cmd_oversized;
    uint8_t cmd_len;
    uint64_t cmd_ts;
    uint8_t cmd[ATG_CMD_MAX];
    bool junk_reported[2];   /* one anomaly per run of stray octets */
    bool resync_rsp;         /* a response lost its framing: skip to the next SOH */
    uint32_t next_order;
    struct atg_slot queue[ATG_QUEUE_MAX];
    struct atg_cmd req;      /* scratch records for the transaction being emitted */
    struct atg_rsp rsp;
    struct atg_view view;
};

static void atg_emit(struct qw_pctx *ctx, struct atg_state *st, const struct atg_cmd *req,
                     uint64_t req_ns, const struct atg_rsp *rsp, uint64_t rsp_ns)
{
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    if (req) {
        t.function = atg_fn_value(req->code);
        t.function_name = atg_name(req->code);
        t.ops = atg_ops(req->code, req->set);
    } else if (rsp->has_fn) {
        t.function = atg_fn_value(rsp->code);
        t.function_name = atg_name(rsp->code);
        t.ops = atg_ops(rsp->code, rsp->set);
    } else {
        t.function_name = "unknown";
    }
    t.error = rsp && rsp->unrecognized;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = atg_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = NULL;
    st->view.rsp = NULL;
}

static void atg_flush_slot(struct qw_pctx *ctx, struct atg_state *st, struct atg_slot *s)
{
    s->used = false;
    if (!atg_parse_cmd(&st->req, s->text, s->len)) return;
    st->req.oversized = s->oversized;
    atg_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
}

static struct atg_slot *atg_oldest(struct atg_state *st)
{
    struct atg_slot *best = NULL;
    for (size_t i = 0; i < ATG_QUEUE_MAX; i++) {
        struct atg_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
    }
    return best;
}

/* The command being received is complete: queue it for its answer. */
static void atg_close_cmd(struct qw_pctx *ctx, struct atg_state *st)
{
    if (!st->cmd_open) return;
    st->cmd_open = false;
    struct atg_cmd c;
    if (!atg_parse_cmd(&c, st->cmd, st->cmd_len)) {
        qw_emit_anomaly(ctx, "atg.invalid_command", NULL);
        return;
    }
    if (st->cmd_oversized) qw_emit_anomaly(ctx, "atg.oversized_command", NULL);
    struct atg_slot *s = NULL;
    for (size_t i = 0; i < ATG_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) { /* a command never answered: reported alone */
        s = atg_oldest(st);
        atg_flush_slot(ctx, st, s);
    }
    s->used = true;
    s->oversized = st->cmd_oversized;
    s->len = st->cmd_len;
    s->order = st->next_order++;
    s->ts_ns = st->cmd_ts;
    memcpy(s->text, st->cmd, st->cmd_len);
}

/* Commands (client to console). Everything is consumed: an open command is kept in the state. */
static size_t atg_parse_commands(struct qw_pctx *ctx, struct atg_state *st, const uint8_t *data,
                                 size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (b == ATG_SOH) {
            atg_close_cmd(ctx, st);
            st->cmd_open = true;
            st->cmd_oversized = false;
            st->cmd_len = 0;
            st->cmd_ts = qw_pctx_time(ctx);
            st->junk_reported[0] = false;
            continue;
        }
        if (b == '\r' || b == '\n' || b == ATG_ETX || b == 0) {
            atg_close_cmd(ctx, st);
            continue;
        }
        if (st->cmd_open) {
            if (st->cmd_len < ATG_CMD_MAX) st->cmd[st->cmd_len++] = b;
            else st->cmd_oversized = true;
            continue;
        }
        if (b != ' ' && b != '\t' && !st->junk_reported[0]) {
            qw_emit_anomaly(ctx, "atg.unexpected_data", "command direction");
            st->junk_reported[0] = true;
        }
    }
    return len;
}

/* The console's identity: its software revision (902) and station name (113). */
static void atg_identity(struct qw_pctx *ctx, const struct atg_rsp *r, bool server)
{
    /* Not from an answer that fails its checksum; display answers carry none ([VR] s.6.2). */
    if (!r->has_fn || (r->has_checksum && !r->checksum_ok)) return;
    const uint8_t *b = r->body;
    size_t n = r->body_len;
    if (memcmp(r->code, "902", 3) == 0 || memcmp(r->code, "905", 3) == 0) {
        static const char key[] = "SOFTWARE# ";
        for (size_t i = 0; i + sizeof key - 1 < n; i++) {
            if (memcmp(b + i, key, sizeof key - 1) != 0) continue;
            size_t s = i + sizeof key - 1, e = s;
            while (e < n && is_printable(b[e]) && b[e] != ' ' && !(e + 7 <= n &&
                                                                  memcmp(b + e, "CREATED", 7) == 0))
                e++;
            if (e > s) qw_emit_identity(ctx, server, "firmware", (const char *)b + s, e - s);
            return;
        }
    } else if (memcmp(r->code, "113", 3) == 0 && r->computer && r->datetime && n >= 20) {
        size_t k = 20; /* station header 1: 20 characters ([VR] function 113) */
        while (k > 0 && b[k - 1] == ' ') k--;
        bool ok = k > 0;
        for (size_t i = 0; i < k; i++) ok = ok && is_printable(b[i]);
        if (ok) qw_emit_identity(ctx, server, "name", (const char *)b, k);
    }
}

static void atg_on_response(struct qw_pctx *ctx, struct atg_state *st, enum qw_dir dir,
                            const uint8_t *m, size_t n)
{
    atg_close_cmd(ctx, st); /* the console answers: the command was complete */
    atg_parse_rsp(&st->rsp, ctx, m, n);
    const struct atg_rsp *r = &st->rsp;
    /* The oldest outstanding command of the same function and tank; else of the same
     * function; the 9999 answer goes to the oldest command. */
    struct atg_slot *best = NULL;
    for (int pass = 0; pass < 3 && !best; pass++) {
        for (size_t i = 0; i < ATG_QUEUE_MAX; i++) {
            struct atg_slot *s = &st->queue[i];
            if (!s->used) continue;
            struct atg_cmd c;
            if (!atg_parse_cmd(&c, s->text, s->len)) continue;
            bool same_fn = r->has_fn && memcmp(c.code, r->code, 3) == 0;
            bool ok = pass == 0   ? same_fn && c.tank == r->tank
                      : pass == 1 ? same_fn
                                  : r->unrecognized;
            if (ok && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
        }
    }
    if (best) {
        best->used = false;
        atg_parse_cmd(&st->req, best->text, best->len);
        st->req.oversized = best->oversized;
        atg_emit(ctx, st, &st->req, best->ts_ns, r, qw_pctx_time(ctx));
    } else {
        atg_emit(ctx, st, NULL, 0, r, qw_pctx_time(ctx));
    }
    atg_identity(ctx, r, dir == QW_DIR_TO_CLIENT);
}

/* Responses (console to client): SOH .. ETX, framed with the engine's pending buffer. */
static size_t atg_parse_responses(struct qw_pctx *ctx, struct atg_state *st, enum qw_dir dir,
                                  const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (data[off] != ATG_SOH) {
            uint8_t b = data[off];
            bool blank = b == '\r' || b == '\n' || b == ' ' || b == 0 || b == ATG_ETX;
            if (!blank && !st->resync_rsp && !st->junk_reported[1]) {
                qw_emit_anomaly(ctx, "atg.unexpected_data", "response direction");
                st->junk_reported[1] = true;
            }
            off++;
            continue;
        }
        st->resync_rsp = false;
        const uint8_t *etx = memchr(data + off + 1, ATG_ETX, len - off - 1);
        if (!etx) {
            if (len - off > ATG_RSP_MAX) {
                qw_emit_anomaly(ctx, "atg.unterminated_response", NULL);
                st->resync_rsp = true;
                off++;
                continue;
            }
            return off; /* wait for the rest */
        }
        /* A new SOH before the ETX: the earlier message was cut (lost ETX). */
        const uint8_t *soh = memchr(data + off + 1, ATG_SOH, (size_t)(etx - (data + off + 1)));
        if (soh) {
            qw_emit_anomaly(ctx, "atg.unterminated_response", NULL);
            off = (size_t)(soh - data);
            continue;
        }
        size_t n = (size_t)(etx - (data + off)) + 1;
        st->junk_reported[1] = false;
        atg_on_response(ctx, st, dir, data + off, n);
        off += n;
    }
    return off;
}

static size_t atg_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct atg_state *st = state;
    if (dir == QW_DIR_TO_SERVER) return atg_parse_commands(ctx, st, data, len);
    return atg_parse_responses(ctx, st, dir, data, len);
}

/* Probe ([VR] s.5): SOH, then i/I/s/S, three function characters, two tank digits, then
 * printable text, CR/LF, ETX or SOH only. A display-format answer (SOH CR LF I/S...) from the
 * console is accepted too. */
static enum qw_probe_result atg_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (data[0] != ATG_SOH) return QW_PROBE_NO;
    size_t i = 1;
    if (dir == QW_DIR_TO_CLIENT) {
        if (len > 1 && data[1] == '\r') {
            if (len > 2 && data[2] != '\n') return QW_PROBE_NO;
            i = 3;
        }
    }
    static const char want[ATG_FN_LEN] = {'L', 'F', 'F', 'F', 'D', 'D'}; /* letter, fn, digit */
    for (size_t k = 0; k < ATG_FN_LEN; k++, i++) {
        if (i >= len) return QW_PROBE_NEED_MORE;
        uint8_t c = data[i];
        bool ok = want[k] == 'L' ? is_cmd_letter(c) : want[k] == 'F' ? is_fn_char(c)
                                                                     : qw_is_digit(c);
        if (!ok) return QW_PROBE_NO;
    }
    for (; i < len && i < 256; i++) {
        uint8_t c = data[i];
        if (!is_printable(c) && c != '\r' && c != '\n' && c != ATG_ETX && c != ATG_SOH)
            return QW_PROBE_NO;
    }
    return QW_PROBE_MATCH;
}

static void atg_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    struct atg_state *st = state;
    if (dir == QW_DIR_TO_SERVER) {
        atg_close_cmd(ctx, st); /* what was received of it is all there will be */
        st->cmd_open = false;
    } else {
        st->resync_rsp = true;
    }
}

static void atg_flow_end(struct qw_pctx *ctx, void *state)
{
    struct atg_state *st = state;
    atg_close_cmd(ctx, st);
    struct atg_slot *s;
    while ((s = atg_oldest(st)) != NULL) atg_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_atg = {
    .name = "atg",
    .transports = QW_TRANSPORT_TCP,
    .ports = {ATG_PORT, 0},
    .probe = atg_probe,
    .state_size = sizeof(struct atg_state),
    .parse = atg_parse,
    .gap = atg_gap,
    .flow_end = atg_flow_end,
};
