/* WireGuard parser, UDP (51820 is the usual port, a hint only).
 *
 * Specification: J. A. Donenfeld, "WireGuard: Next Generation Kernel Network Tunnel", s.5.4
 * (message formats) and s.6 (timers: a handshake initiation is retried every 5 s, a session is
 * rekeyed every 2 minutes, a keepalive is an empty transport message). Every integer is
 * little-endian; every message starts with type (1) and three reserved bytes that are zero.
 *
 *   type length layout after the 4-byte header
 *   ---- ------ ---------------------------------------------------------------------------
 *      1    148 sender (4), ephemeral (32), static (32+16), timestamp (12+16), mac1, mac2
 *      2     92 sender (4), receiver (4), ephemeral (32), empty (0+16), mac1, mac2
 *      3     64 receiver (4), nonce (24), cookie (16+16)
 *      4   >=32 receiver (4), counter (8), packet (padded to 16) + tag (16)
 *
 * Everything but the indices, the counter and whether mac2 is set is encrypted or random:
 * there is no identity to read, and none is emitted.
 *
 * Records (`function` = message type):
 *   - a handshake initiation waits, keyed by its sender index, for the response whose receiver
 *     index is that index (from the other side): one record, function 1, with both; a response
 *     that answers nothing queued is a record of its own (function 2). When a response arrives,
 *     initiations still waiting from the same side are retries that went unanswered (a new
 *     index each 5 s): they are flushed first. Flow end flushes the rest. Queue of
 *     WG_QUEUE_MAX per flow; when full the oldest goes unanswered.
 *   - a cookie reply (the responder is under load) is a record of its own (function 3).
 *   - transport data is counted, never recorded per packet (a tunnel carries millions): packets,
 *     bytes, keepalives and the receiver indices seen, per direction, written as one summary
 *     record (function 4) when the flow ends.
 *
 * Anomaly `wireguard.invalid_message`: a message of a known type at the wrong length, non-zero
 * reserved bytes, or an unknown type, after the flow matched; once per flow for each of those
 * three reasons (the detail says which), the rest are only counted in the summary. Such a
 * message is dropped, as a WireGuard peer drops it.
 *
 * Transport messages are not always a multiple of 16 long: a peer pads the payload to 16 but
 * never past the tunnel MTU (a full 1420-byte packet makes a 1452-byte message). The probe asks
 * for the multiple of 16 (a full-MTU first packet is simply not the one that matches); the
 * parser accepts any transport message of at least 32 bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define WG_PORT 51820
#define WG_HDR_LEN 4
#define WG_MAC_LEN 16
#define WG_TAG_LEN 16
#define WG_PAD 16
#define WG_TRANSPORT_HDR 16 /* header, receiver, counter */
#define WG_KEEPALIVE_LEN (WG_TRANSPORT_HDR + WG_TAG_LEN)
/* Initiations waiting for their response: one in flight per side, plus retries every 5 s. */
#define WG_QUEUE_MAX 4
/* Receiver indices kept per direction for the summary: one per session (a rekey every 2
 * minutes makes a new one); the rest are counted. */
#define WG_RECEIVERS_MAX 8
#define WG_INDEX_TEXT 11 /* "0x" + 8 hex digits + NUL */

enum { WG_INITIATION = 1, WG_RESPONSE = 2, WG_COOKIE = 3, WG_TRANSPORT = 4, WG_TYPES };

struct wg_type {
    const char *name;
    uint16_t len;     /* exact length; 0 for transport data (at least WG_KEEPALIVE_LEN) */
    uint16_t mac_off; /* offset of mac1 (mac2 follows), 0 when the message has none */
    uint32_t ops;
};

/* Message types (whitepaper s.5.4). */
static const struct wg_type wg_types[WG_TYPES] = {
    [WG_INITIATION] = {"handshake_initiation", 148, 116, QW_OP_SESSION | QW_OP_AUTH},
    [WG_RESPONSE] = {"handshake_response", 92, 60, QW_OP_SESSION | QW_OP_AUTH},
    [WG_COOKIE] = {"cookie_reply", 64, 0, QW_OP_SESSION},
    [WG_TRANSPORT] = {"transport_data", 0, 0, 0},
};

/* Why a message is invalid: one anomaly per flow for each. */
enum wg_invalid { WG_BAD_LENGTH, WG_BAD_RESERVED, WG_BAD_TYPE, WG_INVALID_KINDS };

static const char *const wg_side[2] = {"client", "server"}; /* sender of QW_DIR_TO_SERVER, ... */

/* ---- Decoded message ----------------------------------------------------------------------- */

struct wg_msg {
    uint8_t type;
    uint32_t sender, receiver; /* whichever the type has */
    bool mac2;                 /* handshake: mac2 set, the sender was asked for a cookie */
};

static bool wg_nonzero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return true;
    return false;
}

/* The fields of a message already known to be of a valid type and length. */
static void wg_decode(const uint8_t *d, size_t n, struct wg_msg *m)
{
    struct qw_cursor c = qw_cursor_make(d, n);
    memset(m, 0, sizeof *m);
    m->type = qw_cur_u8(&c);
    qw_cur_skip(&c, 3);
    if (m->type == WG_INITIATION || m->type == WG_RESPONSE) m->sender = qw_cur_le32(&c);
    if (m->type != WG_INITIATION) m->receiver = qw_cur_le32(&c);
    uint16_t mac = m->type < WG_TYPES ? wg_types[m->type].mac_off : 0;
    if (mac) {
        struct qw_cursor mc = qw_cursor_make(d, n);
        qw_cur_skip(&mc, (size_t)mac + WG_MAC_LEN);
        const uint8_t *mac2 = qw_cur_take(&mc, WG_MAC_LEN);
        m->mac2 = mac2 && wg_nonzero(mac2, WG_MAC_LEN);
    }
}

/* The detail of an anomaly, into `why` of wg_check; nothing when it is NULL (the probe asks
 * for no text). */
#define WG_WHY(...)                                  \
    do {                                             \
        if (why) snprintf(why, cap, __VA_ARGS__);    \
    } while (0)

/* Why the message is not a valid WireGuard message, or -1 when it is; `why` (or NULL) gets the
 * detail. */
static int wg_check(const uint8_t *d, size_t n, char *why, size_t cap)
{
    struct qw_cursor c = qw_cursor_make(d, n);
    uint8_t type = qw_cur_u8(&c);
    const uint8_t *res = qw_cur_take(&c, 3);
    if (!res) {
        WG_WHY("message of %zu bytes, shorter than the 4-byte header", n);
        return WG_BAD_LENGTH;
    }
    if (type == 0 || type >= WG_TYPES) {
        WG_WHY("unknown message type %u", type);
        return WG_BAD_TYPE;
    }
    const struct wg_type *t = &wg_types[type];
    if (wg_nonzero(res, 3)) {
        WG_WHY("%s with reserved bytes %02x%02x%02x", t->name, res[0], res[1], res[2]);
        return WG_BAD_RESERVED;
    }
    if (t->len && n != t->len) {
        WG_WHY("%s of %zu bytes (%u expected)", t->name, n, t->len);
        return WG_BAD_LENGTH;
    }
    if (!t->len && n < WG_KEEPALIVE_LEN) {
        WG_WHY("%s of %zu bytes (at least %u)", t->name, n, WG_KEEPALIVE_LEN);
        return WG_BAD_LENGTH;
    }
    return -1;
}

static void wg_index_text(uint32_t v, char out[WG_INDEX_TEXT])
{
    snprintf(out, WG_INDEX_TEXT, "0x%08x", v);
}

static void wg_json_index(struct qw_json *j, const char *key, uint32_t v)
{
    char t[WG_INDEX_TEXT];
    wg_index_text(v, t);
    qw_json_str(j, key, t);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct wg_slot {
    bool used, cookie; /* cookie: a cookie reply answered it */
    uint8_t dir;
    uint32_t seq;
    uint32_t sender;
    bool mac2;
    uint64_t ts_ns;
};

struct wg_transport {
    uint64_t packets, bytes, keepalives;
    uint32_t receivers[WG_RECEIVERS_MAX];
    uint8_t nreceivers;
    bool receivers_more; /* more indices than kept */
};

struct wg_state {
    uint8_t reported; /* bit per enum wg_invalid: anomaly already emitted */
    uint32_t invalid; /* invalid messages dropped */
    uint32_t next_seq;
    struct wg_slot q[WG_QUEUE_MAX];
    struct wg_transport tr[2];
    uint64_t tr_first_ns, tr_last_ns;
};

/* What a record's JSON is written from. */
struct wg_view {
    uint8_t function;
    const struct wg_slot *init;   /* the initiation (function 1) */
    const struct wg_msg *msg;     /* the response (1, 2) or cookie reply (3) */
    uint8_t msg_dir;              /* direction of `msg` */
    bool cookie_answers_init;     /* function 3: its receiver is a queued initiation */
    const struct wg_state *st;    /* function 4 */
};

/* ---- JSON ---------------------------------------------------------------------------------- */

static void wg_json_transport_dir(struct qw_json *j, const char *key, const struct wg_transport *t)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "packets", t->packets);
    qw_json_u64(j, "bytes", t->bytes);
    qw_json_u64(j, "keepalives", t->keepalives);
    qw_json_arr_begin(j, "receivers");
    for (size_t i = 0; i < t->nreceivers; i++) {
        char s[WG_INDEX_TEXT];
        wg_index_text(t->receivers[i], s);
        qw_json_str(j, NULL, s);
    }
    qw_json_arr_end(j);
    if (t->receivers_more) qw_json_bool(j, "receivers_more", true);
    qw_json_obj_end(j);
}

static void wg_json_summary(struct qw_json *j, const struct wg_state *st)
{
    wg_json_transport_dir(j, "to_server", &st->tr[QW_DIR_TO_SERVER]);
    wg_json_transport_dir(j, "to_client", &st->tr[QW_DIR_TO_CLIENT]);
    qw_json_seconds(j, "duration", st->tr_last_ns - st->tr_first_ns);
    if (st->invalid) qw_json_u64(j, "invalid_messages", st->invalid);
}

static void wg_json_handshake(struct qw_json *j, const struct wg_view *v)
{
    /* The initiator sent the initiation; without one, the side the response went to. */
    uint8_t init_dir = v->init ? v->init->dir : (uint8_t)(v->msg_dir ^ 1u);
    qw_json_str(j, "initiator", wg_side[init_dir]);
    if (v->init) {
        qw_json_obj_begin(j, "initiation");
        wg_json_index(j, "sender", v->init->sender);
        qw_json_bool(j, "mac2", v->init->mac2);
        if (v->init->cookie) qw_json_bool(j, "cookie_reply", true);
        qw_json_obj_end(j);
    }
    if (v->msg) {
        qw_json_obj_begin(j, "response");
        wg_json_index(j, "sender", v->msg->sender);
        wg_json_index(j, "receiver", v->msg->receiver);
        qw_json_bool(j, "mac2", v->msg->mac2);
        qw_json_obj_end(j);
    }
}

static void wg_write_json(struct qw_json *j, const void *arg)
{
    const struct wg_view *v = arg;
    qw_json_str(j, "message", wg_types[v->function].name);
    switch (v->function) {
    case WG_INITIATION:
    case WG_RESPONSE: wg_json_handshake(j, v); break;
    case WG_COOKIE:
        qw_json_str(j, "sender", wg_side[v->msg_dir]);
        wg_json_index(j, "receiver", v->msg->receiver);
        if (v->cookie_answers_init) qw_json_str(j, "answers", "handshake_initiation");
        break;
    default: wg_json_summary(j, v->st); break;
    }
}

/* ---- Records ------------------------------------------------------------------------------- */

static void wg_emit(struct qw_pctx *ctx, const struct wg_view *v, uint64_t req_ns, uint64_t rsp_ns)
{
    struct qw_txn t = {0};
    t.has_request = req_ns != 0;
    t.has_response = rsp_ns != 0;
    t.function = v->function;
    t.function_name = wg_types[v->function].name;
    t.ops = wg_types[v->function].ops;
    t.request_ns = req_ns;
    t.response_ns = rsp_ns;
    t.write_json = wg_write_json;
    t.arg = v;
    qw_emit_txn(ctx, &t);
}

/* An initiation, answered by `rsp` (sent at rsp_ns in direction rsp_dir) or not. */
static void wg_emit_handshake(struct qw_pctx *ctx, const struct wg_slot *init,
                              const struct wg_msg *rsp, uint8_t rsp_dir, uint64_t rsp_ns)
{
    struct wg_view v = {.function = init ? WG_INITIATION : WG_RESPONSE, .init = init,
                        .msg = rsp, .msg_dir = rsp_dir};
    wg_emit(ctx, &v, init ? init->ts_ns : 0, rsp ? rsp_ns : 0);
}

static void wg_flush(struct qw_pctx *ctx, struct wg_slot *s)
{
    wg_emit_handshake(ctx, s, NULL, 0, 0);
    s->used = false;
}

static struct wg_slot *wg_oldest(struct wg_state *st, int dir)
{
    struct wg_slot *best = NULL;
    for (size_t i = 0; i < WG_QUEUE_MAX; i++) {
        struct wg_slot *s = &st->q[i];
        if (s->used && (dir < 0 || s->dir == dir) && (!best || (int32_t)(s->seq - best->seq) < 0))
            best = s;
    }
    return best;
}

static struct wg_slot *wg_find(struct wg_state *st, uint32_t sender, uint8_t from_dir)
{
    for (size_t i = 0; i < WG_QUEUE_MAX; i++)
        if (st->q[i].used && st->q[i].dir == from_dir && st->q[i].sender == sender) return &st->q[i];
    return NULL;
}

static void wg_on_initiation(struct qw_pctx *ctx, struct wg_state *st, uint8_t dir,
                             const struct wg_msg *m)
{
    struct wg_slot *s = wg_find(st, m->sender, dir);
    if (s) wg_flush(ctx, s); /* the same index again: the earlier went unanswered */
    for (size_t i = 0; i < WG_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        s = wg_oldest(st, -1);
        wg_flush(ctx, s);
    }
    *s = (struct wg_slot){.used = true, .dir = dir, .seq = st->next_seq++, .sender = m->sender,
                          .mac2 = m->mac2, .ts_ns = qw_pctx_time(ctx)};
}

static void wg_on_response(struct qw_pctx *ctx, struct wg_state *st, uint8_t dir,
                           const struct wg_msg *m)
{
    uint64_t now = qw_pctx_time(ctx);
    uint8_t init_dir = dir ^ 1u;
    struct wg_slot *s = wg_find(st, m->receiver, init_dir);
    if (!s) {
        wg_emit_handshake(ctx, NULL, m, dir, now);
        return;
    }
    /* Earlier initiations from that side are retries nobody answered. */
    struct wg_slot *old;
    while ((old = wg_oldest(st, init_dir)) != s) wg_flush(ctx, old);
    wg_emit_handshake(ctx, s, m, dir, now);
    s->used = false;
}

static void wg_on_cookie(struct qw_pctx *ctx, struct wg_state *st, uint8_t dir,
                         const struct wg_msg *m)
{
    struct wg_slot *s = wg_find(st, m->receiver, dir ^ 1u);
    if (s) s->cookie = true;
    struct wg_view v = {.function = WG_COOKIE, .msg = m, .msg_dir = dir,
                        .cookie_answers_init = s != NULL};
    wg_emit(ctx, &v, 0, qw_pctx_time(ctx));
}

static void wg_on_transport(struct qw_pctx *ctx, struct wg_state *st, uint8_t dir,
                            const struct wg_msg *m, size_t len)
{
    struct wg_transport *t = &st->tr[dir];
    uint64_t now = qw_pctx_time(ctx);
    if (!st->tr[0].packets && !st->tr[1].packets) st->tr_first_ns = now;
    st->tr_last_ns = now;
    t->packets++;
    t->bytes += len;
    if (len == WG_KEEPALIVE_LEN) t->keepalives++;
    for (size_t i = 0; i < t->nreceivers; i++)
        if (t->receivers[i] == m->receiver) return;
    if (t->nreceivers < WG_RECEIVERS_MAX) t->receivers[t->nreceivers++] = m->receiver;
    else t->receivers_more = true;
}

static void wg_invalid(struct qw_pctx *ctx, struct wg_state *st, int kind, const char *why)
{
    st->invalid++;
    if (st->reported & (1u << kind)) return;
    st->reported |= (uint8_t)(1u << kind);
    qw_emit_anomaly(ctx, "wireguard.invalid_message", why);
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void wg_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct wg_state *st = state;
    char why[96];
    int bad = wg_check(data, len, why, sizeof why);
    if (bad >= 0) {
        wg_invalid(ctx, st, bad, why);
        return;
    }
    struct wg_msg m;
    wg_decode(data, len, &m);
    uint8_t d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    switch (m.type) {
    case WG_INITIATION: wg_on_initiation(ctx, st, d, &m); break;
    case WG_RESPONSE: wg_on_response(ctx, st, d, &m); break;
    case WG_COOKIE: wg_on_cookie(ctx, st, d, &m); break;
    default: wg_on_transport(ctx, st, d, &m, len); break;
    }
}

static void wg_flow_end(struct qw_pctx *ctx, void *state)
{
    struct wg_state *st = state;
    struct wg_slot *s;
    while ((s = wg_oldest(st, -1)) != NULL) wg_flush(ctx, s);
    if (!st->tr[0].packets && !st->tr[1].packets) return;
    struct wg_view v = {.function = WG_TRANSPORT, .st = st};
    wg_emit(ctx, &v, st->tr_first_ns ? st->tr_first_ns : qw_pctx_time(ctx), 0);
}

/* Payload alone decides (whitepaper s.5.4): a known type with zero reserved bytes; handshake
 * and cookie messages at their exact lengths, transport data of at least 32 bytes padded to 16.
 * What is authenticated cannot be all zero (2^-128): mac1 of a handshake, the tag that ends a
 * cookie reply or transport message; that keeps zero-filled datagrams of other protocols out. */
static enum qw_probe_result wg_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    if (wg_check(data, len, NULL, 0) >= 0) return QW_PROBE_NO;
    struct qw_cursor c = qw_cursor_make(data, len);
    const struct wg_type *t = &wg_types[qw_cur_u8(&c)];
    if (!t->len && (len - WG_TRANSPORT_HDR) % WG_PAD != 0) return QW_PROBE_NO;
    c = qw_cursor_make(data, len);
    qw_cur_skip(&c, t->mac_off ? t->mac_off : len - WG_TAG_LEN);
    const uint8_t *auth = qw_cur_take(&c, WG_MAC_LEN);
    return auth && wg_nonzero(auth, WG_MAC_LEN) ? QW_PROBE_MATCH : QW_PROBE_NO;
}

const struct qw_proto qw_proto_wireguard = {
    .name = "wireguard",
    .transports = QW_TRANSPORT_UDP,
    .ports = {WG_PORT, 0},
    .probe = wg_probe,
    .state_size = sizeof(struct wg_state),
    .datagram = wg_datagram,
    .flow_end = wg_flow_end,
};
