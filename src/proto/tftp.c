/* TFTP (Trivial File Transfer Protocol) parser, UDP 69.
 *
 * Specifications:
 *   [1350] RFC 1350 TFTP revision 2: s.4 transfer identifiers (the requester's port and a NEW
 *          port the server chooses for the transfer), s.5 packets (opcodes 1 RRQ, 2 WRQ, 3 DATA,
 *          4 ACK, 5 ERROR; modes netascii, octet, mail, case-insensitive), s.6 normal
 *          termination (a DATA shorter than the block size ends the transfer, acknowledged like
 *          any other), appendix: error codes 0-7.
 *   [2347] RFC 2347 option extension: name/value pairs after the mode, opcode 6 OACK, error
 *          code 8 (option negotiation refused).
 *   [2348] RFC 2348 blksize (8..65464 bytes).
 *   [2349] RFC 2349 timeout (1..255 s) and tsize (transfer size in bytes).
 *   [7440] RFC 7440 windowsize (1..65535 blocks sent before an ACK).
 *
 * Packets (big-endian):
 *
 *   RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [ opt | 0 | value | 0 ]...
 *   DATA     | 03 | block (2) | data (0..blksize)
 *   ACK      | 04 | block (2)
 *   ERROR    | 05 | code (2) | message | 0
 *   OACK     | 06 | [ opt | 0 | value | 0 ]...
 *
 * Two flows make one TFTP exchange. The request goes from the requester's port to port 69 (the
 * request flow); the transfer then runs between the requester's port and a port the server
 * picks (the transfer flow), whose first datagram comes from the server: DATA block 1 (a read),
 * ACK block 0 (a write), OACK (options accepted) or ERROR. The probe answers
 * QW_PROBE_MATCH_FROM_SERVER for those, so the engine makes the TFTP server the transfer flow's
 * server: on both flows QW_DIR_TO_SERVER is the requester and QW_DIR_TO_CLIENT the TFTP server.
 *
 * Records: on the request flow, one per distinct RRQ/WRQ (identical repeats count as retries),
 * paired with an ERROR the server sends back from port 69; on the transfer flow, one summary
 * when the transfer ends (the short last DATA acknowledged, an ERROR, or the flow's end). A
 * server that runs the transfer from port 69 itself gives both records on the one flow. The
 * file name never reaches the transfer flow, and the two flows are not linked here.
 *
 * Block numbers are 16 bits. They are widened to a 64-bit count by their distance from the
 * last new block (within the window ahead is new, at or behind it a retransmission), so a file
 * of more than 65535 blocks keeps counting across the roll-over, whether the sender rolls over
 * to 0 or (as some do) to 1. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"
#include "util/str.h"
#include "util/timefmt.h"

#define TFTP_PORT 69
#define TFTP_DATA_MAX 65464u      /* the largest blksize [2348] */
#define TFTP_BLKSIZE_DEFAULT 512u /* [1350] s.6 */
#define TFTP_FILE_MAX 255u        /* probe bound on a file name, and what a record keeps */
#define TFTP_OPT_NAME_MAX 32u     /* option names longer than this are not options */
#define TFTP_OPT_VALUE_MAX 64u
#define TFTP_NUM_DIGITS_MAX 20u   /* a known option's value: decimal, fits in 64 bits */
#define TFTP_UNKNOWN_MAX 4u       /* unknown option names kept per request */
#define TFTP_ERRMSG_MAX 128u      /* error message bytes kept */
#define TFTP_REQ_KEEP 512u        /* request bytes kept to recognise a retransmission */
#define TFTP_ANOMALY_MAX 3u       /* tftp.invalid_message per flow */

enum tftp_opcode { TFTP_RRQ = 1, TFTP_WRQ, TFTP_DATA, TFTP_ACK, TFTP_ERROR, TFTP_OACK };

static const char *const tftp_opcode_names[7] = {
    [TFTP_RRQ] = "read_request", [TFTP_WRQ] = "write_request", [TFTP_DATA] = "data",
    [TFTP_ACK] = "ack",          [TFTP_ERROR] = "error",       [TFTP_OACK] = "option_ack",
};

/* [1350] appendix, [2347] code 8. */
static const char *const tftp_error_names[9] = {
    "not_defined",         "file_not_found", "access_violation",
    "disk_full",           "illegal_operation", "unknown_transfer_id",
    "file_exists",         "no_such_user",   "option_refused",
};

/* [1350] s.5; "mail" is obsolete but still a legal mode. */
static const char *const tftp_modes[3] = {"netascii", "octet", "mail"};

enum tftp_opt { TFTP_OPT_BLKSIZE, TFTP_OPT_TSIZE, TFTP_OPT_TIMEOUT, TFTP_OPT_WINDOWSIZE,
                TFTP_OPT_COUNT };

static const char *const tftp_opt_names[TFTP_OPT_COUNT] = {"blksize", "tsize", "timeout",
                                                           "windowsize"};

static const char *tftp_error_name(uint16_t code)
{
    return code < 9 ? tftp_error_names[code] : "unknown";
}

/* ---- Decoding ------------------------------------------------------------------------------ */

struct tftp_opts {
    bool has[TFTP_OPT_COUNT];
    uint64_t val[TFTP_OPT_COUNT];
    uint8_t nunknown;
    bool unknown_more; /* more unknown names than kept */
    uint8_t unknown_len[TFTP_UNKNOWN_MAX];
    char unknown[TFTP_UNKNOWN_MAX][TFTP_OPT_NAME_MAX];
};

struct tftp_msg {
    uint16_t opcode;
    const uint8_t *file, *mode;
    size_t file_len, mode_len;
    int mode_ix; /* index in tftp_modes, -1 unknown */
    struct tftp_opts opts;
    uint16_t block, err_code;
    size_t data_len;
    const uint8_t *err_msg;
    size_t err_msg_len;
    /* Why the message is not well-formed (NULL when it is); `usable` when it can still be
     * acted upon (an ERROR with an unknown code still ends a transfer). */
    const char *problem;
    bool usable;
    bool printable; /* file name, mode and options are printable ASCII (the probe wants it) */
};

/* A NUL-terminated string at the cursor: its bytes (without the NUL) and length; false when
 * the datagram ends first. */
static bool tftp_cstr(struct qw_cursor *c, const uint8_t **s, size_t *n)
{
    size_t left = qw_cur_left(c);
    const uint8_t *p = left ? qw_cur_ptr(c) : NULL;
    const uint8_t *nul = p ? memchr(p, 0, left) : NULL;
    if (!nul) return false;
    *s = p;
    *n = (size_t)(nul - p);
    qw_cur_skip(c, *n + 1);
    return true;
}

static bool tftp_is_printable(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E) return false;
    return true;
}

static bool tftp_ieq(const uint8_t *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k) return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = s[i] >= 'A' && s[i] <= 'Z' ? (uint8_t)(s[i] + 32) : s[i];
        if (a != (uint8_t)lit[i]) return false;
    }
    return true;
}

static int tftp_lookup(const uint8_t *s, size_t n, const char *const *table, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (tftp_ieq(s, n, table[i])) return (int)i;
    return -1;
}

/* A decimal value of 1..20 digits that fits in 64 bits. */
static bool tftp_number(const uint8_t *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > TFTP_NUM_DIGITS_MAX) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static void tftp_keep_unknown(struct tftp_opts *o, const uint8_t *name, size_t n)
{
    if (o->nunknown >= TFTP_UNKNOWN_MAX) {
        o->unknown_more = true;
        return;
    }
    size_t k = n < TFTP_OPT_NAME_MAX ? n : TFTP_OPT_NAME_MAX;
    memcpy(o->unknown[o->nunknown], name, k);
    o->unknown_len[o->nunknown++] = (uint8_t)k;
}

/* Option pairs up to the end of the datagram ([2347]). Known names need a decimal value; a
 * repeated known name keeps its first value. Unknown names are kept (bounded) unless
 * `known_only`, which makes them a problem (an OACK only carries what was asked). */
static void tftp_options(struct qw_cursor *c, struct tftp_msg *m, bool known_only)
{
    while (qw_cur_left(c) > 0) {
        const uint8_t *name, *val;
        size_t nlen, vlen;
        if (!tftp_cstr(c, &name, &nlen) || !tftp_cstr(c, &val, &vlen)) {
            m->problem = "unterminated option";
            return;
        }
        if (nlen == 0 || nlen > TFTP_OPT_NAME_MAX || vlen > TFTP_OPT_VALUE_MAX) {
            m->problem = "bad option";
            return;
        }
        if (!tftp_is_printable(name, nlen) || !tftp_is_printable(val, vlen)) m->printable = false;
        int k = tftp_lookup(name, nlen, tftp_opt_names, TFTP_OPT_COUNT);
        uint64_t v = 0;
        if (k < 0) {
            if (known_only) m->problem = "unknown option";
            tftp_keep_unknown(&m->opts, name, nlen);
        } else if (!tftp_number(val, vlen, &v)) {
            m->problem = "option value not a number";
        } else if (!m->opts.has[k]) {
            m->opts.has[k] = true;
            m->opts.val[k] = v;
        }
    }
}

static void tftp_decode_request(struct qw_cursor *c, struct tftp_msg *m)
{
    if (!tftp_cstr(c, &m->file, &m->file_len) || !tftp_cstr(c, &m->mode, &m->mode_len)) {
        m->problem = "unterminated request";
        return;
    }
    m->printable = tftp_is_printable(m->file, m->file_len) &&
                   tftp_is_printable(m->mode, m->mode_len);
    m->mode_ix = tftp_lookup(m->mode, m->mode_len, tftp_modes, 3);
    if (m->file_len == 0) {
        m->problem = "empty file name";
        return;
    }
    if (m->mode_ix < 0) {
        m->problem = "unknown mode";
        return;
    }
    m->usable = true;
    tftp_options(c, m, false);
}

static void tftp_decode_error(struct qw_cursor *c, struct tftp_msg *m)
{
    m->err_code = qw_cur_be16(c);
    if (c->err) {
        m->problem = "truncated error";
        return;
    }
    m->usable = true;
    if (!tftp_cstr(c, &m->err_msg, &m->err_msg_len)) {
        /* Still an error that ends the transfer: the message is what there is. */
        m->err_msg_len = qw_cur_left(c);
        m->err_msg = m->err_msg_len ? qw_cur_ptr(c) : NULL;
        m->problem = "unterminated error message";
        return;
    }
    m->printable = tftp_is_printable(m->err_msg, m->err_msg_len);
    if (m->err_code > 8) m->problem = "unknown error code";
    else if (qw_cur_left(c) > 0) m->problem = "bytes after error message";
}

/* Decode one datagram. m->problem says what is wrong with it (NULL: well-formed). */
static void tftp_decode(const uint8_t *d, size_t n, struct tftp_msg *m)
{
    memset(m, 0, sizeof *m);
    m->mode_ix = -1;
    m->printable = true;
    struct qw_cursor c = qw_cursor_make(d, n);
    m->opcode = qw_cur_be16(&c);
    if (c.err) {
        m->problem = "truncated";
        return;
    }
    switch (m->opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ: tftp_decode_request(&c, m); return;
    case TFTP_DATA:
    case TFTP_ACK:
        m->block = qw_cur_be16(&c);
        if (c.err) {
            m->problem = "truncated";
            return;
        }
        m->data_len = qw_cur_left(&c);
        m->usable = m->opcode == TFTP_ACK || m->data_len <= TFTP_DATA_MAX;
        if (!m->usable) m->problem = "data too long";
        return;
    case TFTP_ERROR: tftp_decode_error(&c, m); return;
    case TFTP_OACK:
        m->usable = true;
        tftp_options(&c, m, false);
        return;
    default: m->problem = "unknown opcode"; return;
    }
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* An OACK the probe believes: at least one option, every one known with a decimal value. */
static bool tftp_oack_ok(const uint8_t *d, size_t n)
{
    struct tftp_msg m;
    memset(&m, 0, sizeof m);
    m.printable = true;
    struct qw_cursor c = qw_cursor_make(d + 2, n - 2);
    tftp_options(&c, &m, true);
    bool any = false;
    for (int k = 0; k < TFTP_OPT_COUNT; k++) any = any || m.opts.has[k];
    return !m.problem && m.printable && any;
}

/* Payload alone decides, ports only order the candidates.
 *   Requests (MATCH): RRQ/WRQ with a printable file name of 1..255 bytes, a mode of netascii,
 *     octet or mail, then whole option pairs (known names with decimal values) and nothing else.
 *   A transfer's first datagram, which comes from the server's new port (MATCH_FROM_SERVER):
 *     DATA block 1 with at most 65464 bytes; ACK block 0 of exactly 4 bytes; an OACK of known
 *     options with decimal values; an ERROR with code 0..8 and a printable NUL-terminated
 *     message that ends the datagram.
 * DATA of a later block or any other ACK is a capture that began mid-transfer: NO, so the flow
 * is never turned round on a guess.
 *
 * ACK 0 is four fixed bytes (00 04 00 00) and so the weakest rule. It is accepted because it
 * is the only way a write's transfer flow starts (and the corpus has one), and because it
 * costs little: every parser that hints either port has probed before this one, and an
 * unhinted flow's first datagram must be exactly those four bytes, which no other protocol
 * quaywatch knows sends as a whole datagram (the full suite is run to keep it so). */
static enum qw_probe_result tftp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    struct tftp_msg m;
    if (len < 4) return QW_PROBE_NO;
    tftp_decode(data, len, &m);
    if (m.problem) return QW_PROBE_NO;
    switch (m.opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        return m.printable && m.file_len <= TFTP_FILE_MAX ? QW_PROBE_MATCH : QW_PROBE_NO;
    case TFTP_DATA: return m.block == 1 ? QW_PROBE_MATCH_FROM_SERVER : QW_PROBE_NO;
    case TFTP_ACK: return m.block == 0 && len == 4 ? QW_PROBE_MATCH_FROM_SERVER : QW_PROBE_NO;
    case TFTP_ERROR: return m.printable ? QW_PROBE_MATCH_FROM_SERVER : QW_PROBE_NO;
    case TFTP_OACK: return tftp_oack_ok(data, len) ? QW_PROBE_MATCH_FROM_SERVER : QW_PROBE_NO;
    default: return QW_PROBE_NO;
    }
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct tftp_error {
    bool seen;
    bool from_requester;
    uint16_t code;
    uint8_t msg_len;
    uint64_t ns;
    char msg[TFTP_ERRMSG_MAX];
};

/* The request waiting on the request flow for a repeat, an ERROR, another request or the end. */
struct tftp_request {
    bool used;
    uint8_t opcode, mode_ix;
    bool file_cut;
    uint16_t file_len;
    uint16_t raw_len;   /* bytes of `raw` in use */
    size_t len;         /* the request's whole length */
    uint32_t retries;
    uint64_t ns;
    struct tftp_opts opts;
    struct tftp_error err;
    char file[TFTP_FILE_MAX + 1];
    uint8_t raw[TFTP_REQ_KEEP];
};

enum tftp_direction { TFTP_DIR_UNKNOWN, TFTP_DIR_READ, TFTP_DIR_WRITE };
static const char *const tftp_direction_names[3] = {"unknown", "read", "write"};

struct tftp_transfer {
    bool active;        /* a transfer message was seen and no record written yet */
    bool emitted;       /* the record is written: later datagrams are the end's echoes */
    bool oack_seen;
    bool last_short;    /* the last new block was shorter than the block size: the final one */
    bool complete;      /* ... and it was acknowledged */
    bool acked_any;
    uint8_t direction;  /* enum tftp_direction */
    uint16_t wire_last; /* block number (on the wire) of the last new DATA block */
    uint16_t last_ack;
    uint32_t blksize, window;
    uint64_t blocks;    /* block positions passed, across roll-overs: the last block's number */
    uint64_t bytes, missing;
    size_t last_len;
    uint32_t retransmitted, dup_acks, messages;
    uint64_t first_ns, last_ns;
    struct tftp_opts opts; /* from the OACK */
    struct tftp_error err;
};

struct tftp_state {
    uint8_t anomalies;
    struct tftp_request req;
    struct tftp_transfer xfer;
};

static void tftp_invalid(struct qw_pctx *ctx, struct tftp_state *st, const char *detail)
{
    if (st->anomalies >= TFTP_ANOMALY_MAX) return;
    st->anomalies++;
    qw_emit_anomaly(ctx, "tftp.invalid_message", detail);
}

static uint64_t tftp_nonzero(uint64_t ns)
{
    return ns ? ns : 1;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void tftp_json_opts(struct qw_json *j, const struct tftp_opts *o)
{
    bool any = false;
    for (int k = 0; k < TFTP_OPT_COUNT; k++) any = any || o->has[k];
    if (any) {
        qw_json_obj_begin(j, "options");
        for (int k = 0; k < TFTP_OPT_COUNT; k++)
            if (o->has[k]) qw_json_u64(j, tftp_opt_names[k], o->val[k]);
        qw_json_obj_end(j);
    }
    if (o->nunknown) {
        qw_json_arr_begin(j, "unknown_options");
        for (unsigned i = 0; i < o->nunknown; i++)
            qw_json_strn(j, NULL, o->unknown[i], o->unknown_len[i]);
        qw_json_arr_end(j);
    }
    if (o->unknown_more) qw_json_bool(j, "unknown_options_cut", true);
}

static void tftp_json_error(struct qw_json *j, const struct tftp_error *e)
{
    qw_json_u64(j, "error_code", e->code);
    qw_json_str(j, "error_name", tftp_error_name(e->code));
    qw_json_strn(j, "error_message", e->msg, e->msg_len);
}

static void tftp_json_time(struct qw_json *j, const char *key, uint64_t ns)
{
    char t[QW_TIME_STR_MAX];
    size_t n = qw_time_rfc3339(ns, t);
    qw_json_strn(j, key, t, n);
}

static void tftp_write_request(struct qw_json *j, const void *arg)
{
    const struct tftp_request *r = arg;
    qw_json_obj_begin(j, "request");
    qw_json_u64(j, "opcode", r->opcode);
    qw_json_str(j, "opcode_name", tftp_opcode_names[r->opcode]);
    qw_json_strn(j, "filename", r->file, r->file_len);
    if (r->file_cut) qw_json_bool(j, "filename_cut", true);
    qw_json_str(j, "mode", tftp_modes[r->mode_ix]);
    tftp_json_opts(j, &r->opts);
    qw_json_u64(j, "retries", r->retries);
    qw_json_obj_end(j);
    if (r->err.seen) {
        qw_json_obj_begin(j, "response");
        qw_json_u64(j, "opcode", TFTP_ERROR);
        qw_json_str(j, "opcode_name", tftp_opcode_names[TFTP_ERROR]);
        tftp_json_error(j, &r->err);
        qw_json_obj_end(j);
    }
}

static void tftp_write_transfer(struct qw_json *j, const void *arg)
{
    const struct tftp_transfer *x = arg;
    qw_json_obj_begin(j, "transfer");
    qw_json_str(j, "direction", tftp_direction_names[x->direction]);
    qw_json_u64(j, "blocks", x->blocks);
    qw_json_u64(j, "bytes", x->bytes);
    qw_json_u64(j, "blksize", x->blksize);
    qw_json_u64(j, "windowsize", x->window);
    if (x->oack_seen) tftp_json_opts(j, &x->opts);
    qw_json_bool(j, "complete", x->complete);
    qw_json_u64(j, "retransmitted_blocks", x->retransmitted);
    qw_json_u64(j, "duplicate_acks", x->dup_acks);
    if (x->missing) qw_json_u64(j, "missing_blocks", x->missing);
    tftp_json_time(j, "first", x->first_ns);
    tftp_json_time(j, "last", x->last_ns);
    if (x->err.seen) {
        tftp_json_error(j, &x->err);
        qw_json_str(j, "error_sender", x->err.from_requester ? "requester" : "server");
    }
    qw_json_obj_end(j);
}

/* ---- Records ------------------------------------------------------------------------------- */

static uint32_t tftp_ops(uint8_t direction)
{
    if (direction == TFTP_DIR_READ) return QW_OP_FILE | QW_OP_READ;
    if (direction == TFTP_DIR_WRITE) return QW_OP_FILE | QW_OP_WRITE;
    return QW_OP_FILE;
}

static void tftp_flush_request(struct qw_pctx *ctx, struct tftp_state *st)
{
    struct tftp_request *r = &st->req;
    if (!r->used) return;
    struct qw_txn t = {0};
    t.has_request = true;
    t.request_ns = tftp_nonzero(r->ns);
    t.has_response = r->err.seen;
    t.response_ns = r->err.seen ? tftp_nonzero(r->err.ns) : 0;
    t.error = r->err.seen;
    t.function = r->opcode;
    t.function_name = tftp_opcode_names[r->opcode];
    t.ops = tftp_ops(r->opcode == TFTP_RRQ ? TFTP_DIR_READ : TFTP_DIR_WRITE);
    t.write_json = tftp_write_request;
    t.arg = r;
    qw_emit_txn(ctx, &t);
    r->used = false;
}

static void tftp_flush_transfer(struct qw_pctx *ctx, struct tftp_state *st)
{
    struct tftp_transfer *x = &st->xfer;
    if (!x->active) return;
    x->active = false;
    x->emitted = true;
    struct qw_txn t = {0};
    t.has_request = true;
    t.request_ns = tftp_nonzero(x->first_ns);
    t.has_response = x->messages > 1 || x->err.seen;
    t.response_ns = t.has_response ? tftp_nonzero(x->last_ns) : 0;
    t.error = x->err.seen;
    t.function = TFTP_DATA;
    t.function_name = "transfer";
    t.ops = tftp_ops(x->direction);
    t.write_json = tftp_write_transfer;
    t.arg = x;
    qw_emit_txn(ctx, &t);
}

/* ---- Requests ------------------------------------------------------------------------------ */

static bool tftp_same_request(const struct tftp_request *r, const uint8_t *d, size_t n)
{
    size_t k = n < TFTP_REQ_KEEP ? n : TFTP_REQ_KEEP;
    return r->used && r->len == n && r->raw_len == k && memcmp(r->raw, d, k) == 0;
}

/* A repeat of the waiting request is a retry; anything else ends the waiting one's record. */
static void tftp_on_request(struct qw_pctx *ctx, struct tftp_state *st, const struct tftp_msg *m,
                            const uint8_t *d, size_t n)
{
    struct tftp_request *r = &st->req;
    if (tftp_same_request(r, d, n)) {
        r->retries++;
        return;
    }
    tftp_flush_request(ctx, st);
    memset(r, 0, sizeof *r);
    r->used = true;
    r->opcode = (uint8_t)m->opcode;
    r->mode_ix = (uint8_t)m->mode_ix;
    r->file_len = (uint16_t)qw_copy_bytes(r->file, sizeof r->file, m->file, m->file_len);
    r->file_cut = m->file_len > r->file_len;
    r->opts = m->opts;
    r->len = n;
    r->raw_len = (uint16_t)(n < TFTP_REQ_KEEP ? n : TFTP_REQ_KEEP);
    memcpy(r->raw, d, r->raw_len);
    r->ns = qw_pctx_time(ctx);
}

/* ---- Transfers ----------------------------------------------------------------------------- */

static void tftp_xfer_touch(struct qw_pctx *ctx, struct tftp_transfer *x)
{
    uint64_t now = qw_pctx_time(ctx);
    if (!x->active) {
        x->active = true;
        x->first_ns = now;
        x->blksize = TFTP_BLKSIZE_DEFAULT;
        x->window = 1;
    }
    x->last_ns = now;
    x->messages++;
}

/* Who sends DATA says which way the file goes: the server (a read) or the requester (a write).
 * False when the message contradicts what the transfer already showed. */
static bool tftp_set_direction(struct tftp_transfer *x, enum tftp_direction d)
{
    if (x->direction == TFTP_DIR_UNKNOWN) x->direction = (uint8_t)d;
    return x->direction == d;
}

static void tftp_on_oack(struct qw_pctx *ctx, struct tftp_state *st, enum qw_dir dir,
                         const struct tftp_msg *m)
{
    struct tftp_transfer *x = &st->xfer;
    if (dir == QW_DIR_TO_SERVER) {
        tftp_invalid(ctx, st, "option ack from the requester");
        return;
    }
    tftp_xfer_touch(ctx, x);
    if (x->oack_seen) return; /* a retransmitted OACK */
    x->oack_seen = true;
    x->opts = m->opts;
    const struct tftp_opts *o = &m->opts;
    bool bad = false;
    if (o->has[TFTP_OPT_BLKSIZE]) {
        uint64_t b = o->val[TFTP_OPT_BLKSIZE];
        if (b >= 8 && b <= TFTP_DATA_MAX) x->blksize = (uint32_t)b;
        else bad = true;
    }
    if (o->has[TFTP_OPT_WINDOWSIZE]) {
        uint64_t w = o->val[TFTP_OPT_WINDOWSIZE];
        if (w >= 1 && w <= 65535) x->window = (uint32_t)w;
        else bad = true;
    }
    if (bad) tftp_invalid(ctx, st, "option value out of range");
}

/* A new DATA block `delta` positions after the last one. */
static void tftp_new_block(struct qw_pctx *ctx, struct tftp_state *st, const struct tftp_msg *m,
                           uint32_t delta)
{
    struct tftp_transfer *x = &st->xfer;
    if (x->last_short) {
        /* The block before looked final. Without an OACK on this flow it was a full block of a
         * size negotiated where we did not see it; with one, the sender broke the rules. */
        if (x->oack_seen) tftp_invalid(ctx, st, "data after the last block");
        else x->blksize = (uint32_t)x->last_len;
    }
    if (m->data_len > x->blksize) {
        /* Longer than the block size: a size negotiated out of sight, unless the OACK said. */
        if (x->oack_seen) tftp_invalid(ctx, st, "data longer than blksize");
        else x->blksize = (uint32_t)m->data_len;
    }
    x->missing += delta - 1;
    x->blocks += delta;
    x->bytes += m->data_len;
    x->wire_last = m->block;
    x->last_len = m->data_len;
    x->last_short = m->data_len < x->blksize;
}

static void tftp_on_data(struct qw_pctx *ctx, struct tftp_state *st, enum qw_dir dir,
                         const struct tftp_msg *m)
{
    struct tftp_transfer *x = &st->xfer;
    tftp_xfer_touch(ctx, x);
    if (!tftp_set_direction(x, dir == QW_DIR_TO_CLIENT ? TFTP_DIR_READ : TFTP_DIR_WRITE)) {
        tftp_invalid(ctx, st, "data from both ends");
        return;
    }
    int32_t delta = (int16_t)(uint16_t)(m->block - x->wire_last);
    /* After 65535 most senders go on with 0, some with 1: both are the next block. */
    if (x->blocks && x->wire_last == 0xFFFF && m->block == 1 && x->window < 2) delta = 1;
    if (delta >= 1 && (uint32_t)delta <= x->window) {
        tftp_new_block(ctx, st, m, (uint32_t)delta);
    } else if (x->blocks && delta <= 0 && (uint32_t)-delta <= x->window) {
        x->retransmitted++; /* the window is sent again from an earlier block */
    } else {
        tftp_invalid(ctx, st, "block out of sequence");
    }
}

static void tftp_on_ack(struct qw_pctx *ctx, struct tftp_state *st, enum qw_dir dir,
                        const struct tftp_msg *m)
{
    struct tftp_transfer *x = &st->xfer;
    tftp_xfer_touch(ctx, x);
    /* The receiver acknowledges: the requester in a read, the server in a write. */
    if (!tftp_set_direction(x, dir == QW_DIR_TO_SERVER ? TFTP_DIR_READ : TFTP_DIR_WRITE)) {
        tftp_invalid(ctx, st, "ack from the data sender");
        return;
    }
    if (x->acked_any && m->block == x->last_ack) x->dup_acks++;
    x->acked_any = true;
    x->last_ack = m->block;
    if (x->blocks && x->last_short && m->block == x->wire_last) {
        x->complete = true;
        tftp_flush_transfer(ctx, st);
    }
}

/* An ERROR answers the waiting request when the server sends it before any transfer message on
 * this flow (from port 69); otherwise it ends the transfer, whoever sends it. */
static void tftp_on_error(struct qw_pctx *ctx, struct tftp_state *st, enum qw_dir dir,
                          const struct tftp_msg *m)
{
    struct tftp_error *e;
    bool to_request = st->req.used && !st->xfer.active && dir == QW_DIR_TO_CLIENT;
    if (to_request) {
        e = &st->req.err;
        if (e->seen) return; /* the answer to a retry: the first one stands */
    } else {
        tftp_xfer_touch(ctx, &st->xfer);
        e = &st->xfer.err;
    }
    e->seen = true;
    e->from_requester = dir == QW_DIR_TO_SERVER;
    e->code = m->err_code;
    e->ns = qw_pctx_time(ctx);
    e->msg_len = (uint8_t)qw_copy_bytes(e->msg, sizeof e->msg, m->err_msg ? m->err_msg
                                        : (const uint8_t *)"", m->err_msg_len);
    if (!to_request) tftp_flush_transfer(ctx, st);
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void tftp_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct tftp_state *st = state;
    struct tftp_msg m;
    tftp_decode(data, len, &m);
    if (m.problem) tftp_invalid(ctx, st, m.problem);
    if (!m.usable) return;
    /* After the transfer's record, what still comes is its end repeated (the final ACK, the
     * last block sent again): nothing new to say. */
    if (st->xfer.emitted && m.opcode >= TFTP_DATA) return;
    switch (m.opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ: tftp_on_request(ctx, st, &m, data, len); return;
    case TFTP_DATA: tftp_on_data(ctx, st, dir, &m); return;
    case TFTP_ACK: tftp_on_ack(ctx, st, dir, &m); return;
    case TFTP_ERROR: tftp_on_error(ctx, st, dir, &m); return;
    case TFTP_OACK: tftp_on_oack(ctx, st, dir, &m); return;
    default: return;
    }
}

static void tftp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct tftp_state *st = state;
    tftp_flush_request(ctx, st);
    tftp_flush_transfer(ctx, st);
}

const struct qw_proto qw_proto_tftp = {
    .name = "tftp",
    .transports = QW_TRANSPORT_UDP,
    .ports = {TFTP_PORT, 0},
    .probe = tftp_probe,
    .state_size = sizeof(struct tftp_state),
    .datagram = tftp_datagram,
    .flow_end = tftp_flow_end,
};
