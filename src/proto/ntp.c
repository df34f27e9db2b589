/* NTP (Network Time Protocol) parser, UDP 123.
 *
 * Specifications:
 *   [5905] RFC 5905 NTPv4: s.7.3 packet header, s.7.3 modes (1 symmetric active, 2 symmetric
 *          passive, 3 client, 4 server, 5 broadcast), s.7.4 kiss codes, s.7.5 extension fields,
 *          s.8 on-wire protocol (a reply's origin timestamp is the request's transmit
 *          timestamp), Figure 12 reference identifiers for stratum 1.
 *   [9327] RFC 9327 NTP control messages (mode 6): header, opcodes.
 *   [1305] RFC 1305 NTPv3 (versions 1-3 share the header); mode 7 is ntpd's private mode: the
 *          header (response bit, more bit, version, mode, auth bit, sequence, implementation,
 *          request code, error, item count and size) and the request codes follow the ntpd
 *          reference implementation's published ntp_request.h, as documented in the ntpdc(1)
 *          manual and CVE-2013-5211 (monlist, request codes 20 and 42).
 *
 * Header for modes 1-5 ([5905] s.7.3, big-endian):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 LI (2 bits) | VN (3 bits) | mode (3 bits)
 *        1    1 stratum (0 unspecified / kiss-o'-death, 1 primary, 2-15 secondary, 16 unsynced)
 *        2    1 poll (log2 seconds, signed)
 *        3    1 precision (log2 seconds, signed)
 *        4    4 root delay (16.16), 8 root dispersion (16.16)
 *       12    4 reference id (stratum 0/1: four ASCII characters; else an IPv4 address or, for
 *               IPv6 peers, the first 4 bytes of an MD5 of the address)
 *       16    8 reference, 24 origin, 32 receive, 40 transmit timestamps (32.32 since 1900)
 *       48  ... extension fields ([5905] s.7.5), key id + MAC (4 + 16 or 20)
 *
 * Mode 6 ([9327]): byte 1 = R (response) | E (error) | M (more) | opcode (5 bits); sequence
 * (2), status (2), association id (2), offset (2), count (2), data. Mode 7: byte 0 = R | M |
 * VN | mode, byte 1 = A (auth) | sequence (7 bits), implementation (1), request code (1),
 * error (4 bits) | item count (12), MBZ (4) | item size (12), data.
 *
 * Pairing: a client (3) or symmetric active (1) packet waits, keyed by its transmit timestamp,
 * for the server (4) or symmetric passive (2) packet whose origin timestamp equals it. Mode 6
 * pairs request and response by sequence number (a long response comes in several fragments:
 * the first is paired, the others are records of their own); mode 7 by request code and
 * sequence. Broadcasts are records of their own.
 *
 * Anomalies: `ntp.mode7_request` (ntpd private mode: monlist is the classic amplification and
 * reconnaissance request) and `ntp.mode6_request` (control queries read a server's peers and
 * configuration), each once per flow with the request named.
 *
 * Identity about the server end (the sender of modes 2, 4, 5): ntp_stratum and ntp_refid
 * (a stratum-1 reference such as GPS or PPS names the clock behind the server). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"
#include "util/timefmt.h"

#define NTP_PORT 123
#define NTP_HDR_LEN 48
#define NTP_CTL_HDR 12
#define NTP_PRIV_HDR 8
#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 ([5905] s.6) */
/* Outstanding requests per flow: a client has one in flight per server; ntpq/ntpdc a few. */
#define NTP_QUEUE_MAX 8

enum { NTP_SYM_ACTIVE = 1, NTP_SYM_PASSIVE, NTP_CLIENT, NTP_SERVER, NTP_BROADCAST, NTP_CONTROL,
       NTP_PRIVATE };

static const char *const ntp_modes[8] = {
    "reserved",  "symmetric_active", "symmetric_passive", "client",
    "server",    "broadcast",        "control",           "private",
};

struct ntp_code {
    const char *name;
    uint32_t ops;
};

/* Mode 6 opcodes ([9327] s.3, ntpd's extensions 8-12). */
static const struct ntp_code ntp_ctl_ops[32] = {
    [1] = {"read_status", QW_OP_DIAGNOSTIC},
    [2] = {"read_variables", QW_OP_DIAGNOSTIC},
    [3] = {"write_variables", QW_OP_CONFIG},
    [4] = {"read_clock_variables", QW_OP_DIAGNOSTIC},
    [5] = {"write_clock_variables", QW_OP_CONFIG},
    [6] = {"set_trap", QW_OP_CONFIG},
    [7] = {"async_message", 0},
    [8] = {"configure", QW_OP_CONFIG},
    [9] = {"save_config", QW_OP_CONFIG},
    [10] = {"read_mru", QW_OP_DIAGNOSTIC},
    [11] = {"read_ordered_list", QW_OP_DIAGNOSTIC},
    [12] = {"request_nonce", QW_OP_SESSION},
    [31] = {"unset_trap", QW_OP_CONFIG},
};

/* Mode 7 request codes (ntpd ntp_request.h, see the banner). */
static const struct ntp_code ntp_priv_codes[64] = {
    [0] = {"peer_list", QW_OP_DIAGNOSTIC},       [1] = {"peer_list_sum", QW_OP_DIAGNOSTIC},
    [2] = {"peer_info", QW_OP_DIAGNOSTIC},       [3] = {"peer_stats", QW_OP_DIAGNOSTIC},
    [4] = {"sys_info", QW_OP_DIAGNOSTIC},        [5] = {"sys_stats", QW_OP_DIAGNOSTIC},
    [6] = {"io_stats", QW_OP_DIAGNOSTIC},        [7] = {"mem_stats", QW_OP_DIAGNOSTIC},
    [8] = {"loop_info", QW_OP_DIAGNOSTIC},       [9] = {"timer_stats", QW_OP_DIAGNOSTIC},
    [10] = {"config", QW_OP_CONFIG},             [11] = {"unconfig", QW_OP_CONFIG},
    [12] = {"set_sys_flag", QW_OP_CONFIG},       [13] = {"clr_sys_flag", QW_OP_CONFIG},
    [14] = {"monitor", QW_OP_CONFIG},            [15] = {"nomonitor", QW_OP_CONFIG},
    [16] = {"get_restrict", QW_OP_DIAGNOSTIC},   [17] = {"resaddflags", QW_OP_CONFIG},
    [18] = {"ressubflags", QW_OP_CONFIG},        [19] = {"unrestrict", QW_OP_CONFIG},
    [20] = {"mon_getlist", QW_OP_DIAGNOSTIC},    [21] = {"reset_stats", QW_OP_CONFIG},
    [22] = {"reset_peer", QW_OP_CONFIG},         [23] = {"reread_keys", QW_OP_CONFIG},
    [26] = {"trustkey", QW_OP_CONFIG},           [27] = {"untrustkey", QW_OP_CONFIG},
    [28] = {"authinfo", QW_OP_DIAGNOSTIC},       [29] = {"traps", QW_OP_DIAGNOSTIC},
    [30] = {"add_trap", QW_OP_CONFIG},           [31] = {"clr_trap", QW_OP_CONFIG},
    [32] = {"request_key", QW_OP_CONFIG},        [33] = {"control_key", QW_OP_CONFIG},
    [34] = {"get_ctlstats", QW_OP_DIAGNOSTIC},   [35] = {"get_leapinfo", QW_OP_DIAGNOSTIC},
    [36] = {"get_clockinfo", QW_OP_DIAGNOSTIC},  [37] = {"set_clkfudge", QW_OP_CONFIG},
    [38] = {"get_kernel", QW_OP_DIAGNOSTIC},     [39] = {"get_clkbuginfo", QW_OP_DIAGNOSTIC},
    [42] = {"mon_getlist_1", QW_OP_DIAGNOSTIC},
};

static const char *ntp_code_name(const struct ntp_code *t, size_t n, unsigned i)
{
    return i < n && t[i].name ? t[i].name : "unknown";
}

/* ---- Decoded packet ------------------------------------------------------------------------ */

struct ntp_msg {
    uint8_t li, vn, mode;
    /* modes 1-5 */
    uint8_t stratum;
    int8_t poll, precision;
    uint32_t root_delay, root_dispersion;
    uint8_t refid[4];
    uint64_t ref_ts, org_ts, rec_ts, xmt_ts;
    uint16_t ext_len; /* bytes after the 48-byte header */
    /* mode 6 / 7 */
    bool response, error, more, auth;
    uint8_t opcode;      /* mode 6 */
    uint16_t sequence, status, assoc_id, offset, count;
    uint8_t impl, req_code, err_code; /* mode 7 */
    uint16_t nitems, item_size;
    bool truncated;
};

static bool ntp_decode(const uint8_t *d, size_t n, struct ntp_msg *m)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(d, n);
    uint8_t b0 = qw_cur_u8(&c);
    if (c.err) return false;
    m->mode = b0 & 7;
    m->vn = (b0 >> 3) & 7;
    m->li = b0 >> 6;
    if (m->mode == NTP_CONTROL) {
        uint8_t b1 = qw_cur_u8(&c);
        m->response = b1 & 0x80;
        m->error = b1 & 0x40;
        m->more = b1 & 0x20;
        m->opcode = b1 & 0x1F;
        m->sequence = qw_cur_be16(&c);
        m->status = qw_cur_be16(&c);
        m->assoc_id = qw_cur_be16(&c);
        m->offset = qw_cur_be16(&c);
        m->count = qw_cur_be16(&c);
        m->truncated = c.err || qw_cur_left(&c) < m->count;
        return !c.err;
    }
    if (m->mode == NTP_PRIVATE) {
        m->response = b0 & 0x80;
        m->more = b0 & 0x40;
        m->li = 0;
        uint8_t b1 = qw_cur_u8(&c);
        m->auth = b1 & 0x80;
        m->sequence = b1 & 0x7F;
        m->impl = qw_cur_u8(&c);
        m->req_code = qw_cur_u8(&c);
        uint16_t e = qw_cur_be16(&c), s = qw_cur_be16(&c);
        m->err_code = (uint8_t)(e >> 12);
        m->nitems = e & 0xFFF;
        m->item_size = s & 0xFFF;
        m->truncated = c.err || qw_cur_left(&c) < (size_t)m->nitems * m->item_size;
        return !c.err;
    }
    m->stratum = qw_cur_u8(&c);
    m->poll = (int8_t)qw_cur_u8(&c);
    m->precision = (int8_t)qw_cur_u8(&c);
    m->root_delay = qw_cur_be32(&c);
    m->root_dispersion = qw_cur_be32(&c);
    qw_cur_bytes(&c, m->refid, 4);
    m->ref_ts = qw_cur_be64(&c);
    m->org_ts = qw_cur_be64(&c);
    m->rec_ts = qw_cur_be64(&c);
    m->xmt_ts = qw_cur_be64(&c);
    if (c.err) {
        m->truncated = true;
        return false;
    }
    m->ext_len = (uint16_t)(qw_cur_left(&c) > 0xFFFF ? 0xFFFF : qw_cur_left(&c));
    return true;
}

static uint32_t ntp_function(const struct ntp_msg *m)
{
    return m->mode;
}

static uint32_t ntp_ops(const struct ntp_msg *m)
{
    if (m->mode == NTP_CONTROL) return m->opcode < 32 ? ntp_ctl_ops[m->opcode].ops : 0;
    if (m->mode == NTP_PRIVATE) return m->req_code < 64 ? ntp_priv_codes[m->req_code].ops : 0;
    return m->mode ? QW_OP_TIMESYNC : 0;
}

/* Reference id as text: ASCII for stratum 0 (kiss code) and 1 (clock source), else IPv4. */
static size_t ntp_refid_text(const struct ntp_msg *m, char out[16])
{
    if (m->stratum <= 1) {
        size_t n = 0;
        for (; n < 4 && m->refid[n] >= 0x20 && m->refid[n] < 0x7F; n++) out[n] = (char)m->refid[n];
        for (size_t k = n; k < 4; k++)
            if (m->refid[k] != 0) return (size_t)snprintf(out, 16, "%02x%02x%02x%02x", m->refid[0],
                                                          m->refid[1], m->refid[2], m->refid[3]);
        out[n] = '\0';
        return n;
    }
    return (size_t)snprintf(out, 16, "%u.%u.%u.%u", m->refid[0], m->refid[1], m->refid[2],
                            m->refid[3]);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void ntp_json_ts(struct qw_json *j, const char *key, uint64_t ts)
{
    uint64_t sec = ts >> 32;
    if (ts == 0) return;
    /* Era 0 ends in 2036; an era-0 value before 1970 is taken to be era 1 ([5905] s.6). */
    uint64_t unix_s = sec >= NTP_UNIX_OFFSET ? sec - NTP_UNIX_OFFSET : sec + (1ull << 32) - NTP_UNIX_OFFSET;
    uint64_t ns = unix_s * 1000000000ull + (((ts & 0xFFFFFFFFull) * 1000000000ull) >> 32);
    char t[QW_TIME_STR_MAX];
    size_t n = qw_time_rfc3339(ns, t);
    qw_json_strn(j, key, t, n);
}

static void ntp_json_side(struct qw_json *j, const char *key, const struct ntp_msg *m)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "version", m->vn);
    qw_json_u64(j, "mode", m->mode);
    qw_json_str(j, "mode_name", ntp_modes[m->mode]);
    if (m->mode == NTP_CONTROL) {
        qw_json_u64(j, "opcode", m->opcode);
        qw_json_str(j, "opcode_name", ntp_code_name(ntp_ctl_ops, 32, m->opcode));
        qw_json_bool(j, "response", m->response);
        if (m->error) qw_json_bool(j, "error", true);
        if (m->more) qw_json_bool(j, "more", true);
        qw_json_u64(j, "sequence", m->sequence);
        qw_json_u64(j, "status", m->status);
        qw_json_u64(j, "association_id", m->assoc_id);
        qw_json_u64(j, "offset", m->offset);
        qw_json_u64(j, "count", m->count);
    } else if (m->mode == NTP_PRIVATE) {
        qw_json_u64(j, "request_code", m->req_code);
        qw_json_str(j, "request_name", ntp_code_name(ntp_priv_codes, 64, m->req_code));
        qw_json_u64(j, "implementation", m->impl);
        qw_json_bool(j, "response", m->response);
        if (m->more) qw_json_bool(j, "more", true);
        if (m->auth) qw_json_bool(j, "auth", true);
        qw_json_u64(j, "sequence", m->sequence);
        if (m->err_code) qw_json_u64(j, "error_code", m->err_code);
        qw_json_u64(j, "items", m->nitems);
        qw_json_u64(j, "item_size", m->item_size);
    } else {
        char ref[16];
        qw_json_u64(j, "leap_indicator", m->li);
        qw_json_u64(j, "stratum", m->stratum);
        qw_json_i64(j, "poll", m->poll);
        qw_json_i64(j, "precision", m->precision);
        qw_json_double(j, "root_delay", (double)m->root_delay / 65536.0);
        qw_json_double(j, "root_dispersion", (double)m->root_dispersion / 65536.0);
        size_t n = ntp_refid_text(m, ref);
        qw_json_strn(j, "reference_id", ref, n);
        ntp_json_ts(j, "reference_time", m->ref_ts);
        ntp_json_ts(j, "origin_time", m->org_ts);
        ntp_json_ts(j, "receive_time", m->rec_ts);
        ntp_json_ts(j, "transmit_time", m->xmt_ts);
        if (m->ext_len) qw_json_u64(j, "trailer_length", m->ext_len);
    }
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

struct ntp_view {
    const struct ntp_msg *req, *rsp;
};

static void ntp_write_json(struct qw_json *j, const void *arg)
{
    const struct ntp_view *v = arg;
    if (v->req) ntp_json_side(j, "request", v->req);
    if (v->rsp) ntp_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct ntp_slot {
    bool used;
    uint64_t key;  /* transmit timestamp; mode 6: sequence; mode 7: code << 8 | sequence */
    uint8_t mode;
    uint32_t seq;
    uint64_t ts_ns;
    struct ntp_msg msg;
};

struct ntp_state {
    bool mode6_reported, mode7_reported, ident_sent[2];
    uint8_t last_stratum[2];
    uint8_t last_refid[2][4];
    uint32_t next_seq;
    struct ntp_slot q[NTP_QUEUE_MAX];
    struct ntp_view view;
};

static void ntp_emit(struct qw_pctx *ctx, struct ntp_state *st, const struct ntp_msg *req,
                     uint64_t req_ns, const struct ntp_msg *rsp, uint64_t rsp_ns)
{
    const struct ntp_msg *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = ntp_function(key);
    t.function_name = ntp_modes[key->mode];
    t.ops = ntp_ops(key);
    t.error = rsp && ((rsp->mode == NTP_CONTROL && rsp->error) ||
                      (rsp->mode == NTP_PRIVATE && rsp->err_code) ||
                      (rsp->mode <= NTP_BROADCAST && rsp->stratum == 0 && rsp->mode != NTP_CLIENT));
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = ntp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static struct ntp_slot *ntp_oldest(struct ntp_state *st)
{
    struct ntp_slot *best = NULL;
    for (size_t i = 0; i < NTP_QUEUE_MAX; i++)
        if (st->q[i].used && (!best || (int32_t)(st->q[i].seq - best->seq) < 0)) best = &st->q[i];
    return best;
}

static void ntp_flush(struct qw_pctx *ctx, struct ntp_state *st, struct ntp_slot *s)
{
    ntp_emit(ctx, st, &s->msg, s->ts_ns, NULL, 0);
    s->used = false;
}

static void ntp_queue(struct qw_pctx *ctx, struct ntp_state *st, uint64_t key,
                      const struct ntp_msg *m)
{
    struct ntp_slot *s = NULL;
    for (size_t i = 0; i < NTP_QUEUE_MAX; i++)
        if (st->q[i].used && st->q[i].key == key && st->q[i].mode == m->mode)
            ntp_flush(ctx, st, &st->q[i]); /* a repeat: the earlier went unanswered */
    for (size_t i = 0; i < NTP_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        s = ntp_oldest(st);
        ntp_flush(ctx, st, s);
    }
    s->used = true;
    s->key = key;
    s->mode = m->mode;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    s->msg = *m;
}

static struct ntp_slot *ntp_find(struct ntp_state *st, uint8_t mode, uint64_t key)
{
    for (size_t i = 0; i < NTP_QUEUE_MAX; i++)
        if (st->q[i].used && st->q[i].mode == mode && st->q[i].key == key) return &st->q[i];
    return NULL;
}

static void ntp_identity(struct qw_pctx *ctx, struct ntp_state *st, const struct ntp_msg *m,
                         bool server)
{
    unsigned s = server ? 1 : 0;
    if (st->ident_sent[s] && st->last_stratum[s] == m->stratum &&
        memcmp(st->last_refid[s], m->refid, 4) == 0)
        return;
    if (m->stratum == 0) return; /* unsynchronised or kiss-o'-death: no clock to report */
    st->ident_sent[s] = true;
    st->last_stratum[s] = m->stratum;
    memcpy(st->last_refid[s], m->refid, 4);
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%u", m->stratum);
    qw_emit_identity(ctx, server, "ntp_stratum", buf, (size_t)n);
    size_t r = ntp_refid_text(m, buf);
    if (r) qw_emit_identity(ctx, server, "ntp_refid", buf, r);
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void ntp_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct ntp_state *st = state;
    struct ntp_msg m;
    if (!ntp_decode(data, len, &m)) {
        qw_emit_anomaly(ctx, "ntp.truncated", NULL);
        return;
    }
    if (m.mode == 0 || m.vn == 0 || m.vn > 4) {
        qw_emit_anomaly(ctx, "ntp.invalid_header", m.mode == 0 ? "mode 0" : "version");
        return;
    }
    if (m.truncated) qw_emit_anomaly(ctx, "ntp.truncated", ntp_modes[m.mode]);
    uint64_t now = qw_pctx_time(ctx);
    switch (m.mode) {
    case NTP_SYM_ACTIVE:
    case NTP_CLIENT:
        ntp_queue(ctx, st, m.xmt_ts, &m);
        return;
    case NTP_SYM_PASSIVE:
    case NTP_SERVER: {
        struct ntp_slot *s = ntp_find(st, m.mode == NTP_SERVER ? NTP_CLIENT : NTP_SYM_ACTIVE,
                                      m.org_ts);
        if (s) {
            ntp_emit(ctx, st, &s->msg, s->ts_ns, &m, now);
            s->used = false;
        } else {
            ntp_emit(ctx, st, NULL, 0, &m, now);
        }
        ntp_identity(ctx, st, &m, dir == QW_DIR_TO_CLIENT);
        return;
    }
    case NTP_BROADCAST:
        ntp_emit(ctx, st, &m, now, NULL, 0);
        ntp_identity(ctx, st, &m, dir == QW_DIR_TO_CLIENT);
        return;
    case NTP_CONTROL:
    case NTP_PRIVATE: {
        uint64_t key = m.mode == NTP_CONTROL ? m.sequence : (uint64_t)m.req_code << 8 | m.sequence;
        if (!m.response) {
            bool *rep = m.mode == NTP_CONTROL ? &st->mode6_reported : &st->mode7_reported;
            if (!*rep)
                qw_emit_anomaly(ctx, m.mode == NTP_CONTROL ? "ntp.mode6_request" : "ntp.mode7_request",
                                m.mode == NTP_CONTROL ? ntp_code_name(ntp_ctl_ops, 32, m.opcode)
                                                      : ntp_code_name(ntp_priv_codes, 64, m.req_code));
            *rep = true;
            ntp_queue(ctx, st, key, &m);
            return;
        }
        struct ntp_slot *s = ntp_find(st, m.mode, key);
        if (s) {
            ntp_emit(ctx, st, &s->msg, s->ts_ns, &m, now);
            s->used = false;
        } else {
            ntp_emit(ctx, st, NULL, 0, &m, now); /* a later fragment, or unsolicited */
        }
        return;
    }
    default: return;
    }
}

static void ntp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ntp_state *st = state;
    struct ntp_slot *s;
    while ((s = ntp_oldest(st)) != NULL) ntp_flush(ctx, st, s);
}

/* Payload alone decides ([5905] s.7.3, [9327], mode 7 header): version 1-4; modes 1-5 need the
 * 48-byte header with a stratum of at most 16, a poll interval and precision in the ranges
 * implementations send, and a length that is the header plus key id and MAC (4 + 16/20) or
 * whole 4-byte-aligned extension fields; mode 6 a 12-byte header whose count fits; mode 7 a
 * known implementation number and items that fit. */
static enum qw_probe_result ntp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    struct ntp_msg m;
    if (len == 0 || !ntp_decode(data, len, &m)) return QW_PROBE_NO;
    if (m.vn < 1 || m.vn > 4 || m.mode == 0) return QW_PROBE_NO;
    if (m.mode == NTP_CONTROL) {
        if (len < NTP_CTL_HDR || m.truncated || m.count > 468) return QW_PROBE_NO;
        size_t body = ((size_t)NTP_CTL_HDR + m.count + 3u) & ~(size_t)3;
        return len <= body + 4 + 20 ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    if (m.mode == NTP_PRIVATE) {
        if (len < NTP_PRIV_HDR || (m.impl != 0 && m.impl != 2 && m.impl != 3)) return QW_PROBE_NO;
        return m.truncated || m.item_size > 500 ? QW_PROBE_NO : QW_PROBE_MATCH;
    }
    if (m.stratum > 16 || m.poll < -7 || m.poll > 17 || m.precision < -32 || m.precision > 4)
        return QW_PROBE_NO;
    size_t extra = len - NTP_HDR_LEN;
    if (extra == 0 || extra == 4 || extra == 20 || extra == 24) return QW_PROBE_MATCH;
    /* Extension fields: type (2), length (2, a multiple of 4, at least 16), value. */
    return extra >= 16 && extra % 4 == 0 ? QW_PROBE_MATCH : QW_PROBE_NO;
}

const struct qw_proto qw_proto_ntp = {
    .name = "ntp",
    .transports = QW_TRANSPORT_UDP,
    .ports = {NTP_PORT, 0},
    .probe = ntp_probe,
    .state_size = sizeof(struct ntp_state),
    .datagram = ntp_datagram,
    .flow_end = ntp_flow_end,
};
