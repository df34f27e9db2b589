/* Beckhoff ADS over AMS/TCP (TwinCAT's Automation Device Specification), TCP 48898.
 *
 * Specification: Beckhoff Information System, "TwinCAT ADS": the AMS/TCP header, the AMS
 * header, the ten ADS commands with their request and response data, ADS states, return codes,
 * index groups and AMS port numbers (tables and their sources in ads_tables.c).
 *
 * One AMS/TCP packet (every integer little-endian):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 reserved (0)
 *        2    4 length of what follows (the AMS header and the data)
 *        6    6 target AMS NetId            12   2 target AMS port
 *       14    6 source AMS NetId            20   2 source AMS port
 *       22    2 command id (1-9)            24   2 state flags (0x0001 response, 0x0002 no
 *                                                   return, 0x0004 ADS command, 0x0008 system,
 *                                                   0x0010 high priority, 0x0020 timestamp,
 *                                                   0x0040 UDP, 0x0080 init, 0x8000 broadcast)
 *       26    4 data length                 30   4 error code (AMS level; 0 in requests)
 *       34    4 invoke id (chosen by the requester, echoed in the response)
 *       38  ... command data
 *
 * Command data: Read (index group, index offset, length) / response (result, length, data);
 * Write (group, offset, length, data) / (result); ReadState () / (result, ADS state, device
 * state); WriteControl (ADS state, device state, length, data) / (result); ReadDeviceInfo () /
 * (result, major, minor, build (2), device name (16)); AddDeviceNotification (group, offset,
 * length, transmission mode, max delay, cycle time, 16 reserved) / (result, handle);
 * DeleteDeviceNotification (handle) / (result); DeviceNotification (length, stamps, then per
 * stamp a FILETIME and a sample count, per sample a handle, a size and the data), no response;
 * ReadWrite (group, offset, read length, write length, data) / (result, length, data).
 *
 * Either end may send requests (an AMS connection joins two routers), so a response pairs with
 * the request of the same command and invoke id from the other direction, through a bounded
 * queue. A DeviceNotification is a record of its own with a response only. A message longer
 * than ADS_KEEP bytes is decoded from its first ADS_KEEP bytes and the rest is skipped, so a
 * large read costs no buffer. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/ads_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define ADS_TCP_PORT 48898   /* IANA "ads" / Beckhoff AMS/TCP */
#define AMS_TCP_HDR 6
#define AMS_HDR 32
#define AMS_ALL_HDR (AMS_TCP_HDR + AMS_HDR)
/* The largest AMS packet accepted. ADS puts no small bound on it (a symbol upload reads
 * megabytes); past this a length field is taken as broken framing. */
#define ADS_FRAME_MAX (64u * 1024u * 1024u)
/* Bytes of a message decoded: both headers, the fixed fields of every command, a symbol name
 * or file path, and the first stamps of a notification. */
#define ADS_KEEP 2048u
/* Outstanding requests per flow: TwinCAT's router pipelines a few per port; an HMI polling
 * through one connection seldom has more than a handful in flight. */
#define ADS_QUEUE_MAX 16
#define ADS_TEXT_MAX 128     /* symbol name, path or registry key kept per request */

enum {
    AMS_FLAG_RESPONSE = 0x0001,
    AMS_FLAG_ADS = 0x0004,
    AMS_FLAG_UDP = 0x0040,
    /* response, no return, ADS, system, high priority, timestamp added, init, broadcast */
    AMS_FLAGS_TCP_KNOWN = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0020 | 0x0080 | 0x8000,
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct ads_msg {
    uint8_t target_netid[6], source_netid[6];
    uint16_t target_port, source_port, cmd, flags;
    uint32_t cbdata, errcode, invoke;
    bool response;
    bool has_group, has_length, has_rw, has_result, has_state, has_version, has_handle;
    bool has_notif, has_stamps;
    uint32_t group, offset, length, read_length, write_length, result, handle;
    uint16_t ads_state, dev_state;
    uint8_t major, minor;
    uint16_t build;
    uint8_t name_len;
    char name[16];
    uint32_t transmode, max_delay, cycle_time, stamps, samples;
    uint8_t text_kind, text_len;
    char text[ADS_TEXT_MAX];
    bool truncated; /* the data ended before the command's fields */
    bool cut;       /* longer than ADS_KEEP: only its start was decoded */
};

static const char *ads_cmd_name(uint16_t cmd)
{
    return cmd < ADS_CMD_COUNT ? ads_cmds[cmd].name : "unknown";
}

/* Whether `cbdata` bytes of data fit command `cmd` ([ADS spec] data of each command). An
 * answer may also be a result alone (4 bytes), or nothing at all when the AMS header carries
 * an error code (a router's "target port not found"). */
static bool ads_size_ok(uint16_t cmd, bool response, uint32_t cbdata, uint32_t errcode)
{
    if (cmd >= ADS_CMD_COUNT) return true;
    const struct ads_cmd_info *c = &ads_cmds[cmd];
    uint32_t min = response ? c->rsp_min : c->req_min;
    uint32_t exact = response ? c->rsp_exact : c->req_exact;
    if (response && (cbdata == 4 || (errcode != 0 && cbdata == 0))) return true;
    return exact == 0xFFFFFFFFu ? cbdata >= min : cbdata == exact;
}

/* Text of a request's write data: up to the first NUL, at most ADS_TEXT_MAX bytes. */
static void dec_text(struct ads_msg *m, struct qw_cursor *c, uint32_t declared, uint8_t kind)
{
    struct qw_cursor t = qw_cur_sub(c, declared, NULL);
    size_t n = qw_cur_left(&t);
    const uint8_t *p = qw_cur_ptr(&t);
    if (!n || kind == ADS_TEXT_NONE) return;
    const uint8_t *nul = memchr(p, 0, n);
    if (nul) n = (size_t)(nul - p);
    if (n > ADS_TEXT_MAX) n = ADS_TEXT_MAX;
    memcpy(m->text, p, n);
    m->text_len = (uint8_t)n;
    m->text_kind = kind;
}

static uint8_t text_kind_of(const struct ads_msg *m)
{
    const struct ads_igrp *g = ads_igrp_of(m->target_port, m->group);
    return g ? (uint8_t)g->text : ADS_TEXT_NONE;
}

/* A DeviceNotification's stamps and samples, counted as far as the kept bytes go. */
static void dec_notification(struct ads_msg *m, struct qw_cursor *c)
{
    qw_cur_le32(c); /* length of the stamps */
    m->stamps = qw_cur_le32(c);
    if (c->err) return;
    m->has_stamps = true;
    for (uint32_t s = 0; s < m->stamps && qw_cur_has(c, 12); s++) {
        qw_cur_skip(c, 8); /* FILETIME */
        uint32_t n = qw_cur_le32(c);
        for (uint32_t k = 0; k < n && qw_cur_has(c, 8); k++) {
            qw_cur_le32(c); /* handle */
            uint32_t size = qw_cur_le32(c);
            m->samples++;
            if (!qw_cur_skip(c, size)) return;
        }
    }
}

static void dec_request(struct ads_msg *m, struct qw_cursor *c)
{
    switch (m->cmd) {
    case ADS_CMD_READ:
    case ADS_CMD_WRITE:
    case ADS_CMD_ADD_NOTIFICATION:
        m->group = qw_cur_le32(c);
        m->offset = qw_cur_le32(c);
        m->length = qw_cur_le32(c);
        m->has_group = m->has_length = !c->err;
        if (m->cmd == ADS_CMD_WRITE && !c->err) dec_text(m, c, m->length, text_kind_of(m));
        if (m->cmd == ADS_CMD_ADD_NOTIFICATION) {
            m->transmode = qw_cur_le32(c);
            m->max_delay = qw_cur_le32(c);
            m->cycle_time = qw_cur_le32(c);
            m->has_notif = !c->err;
        }
        break;
    case ADS_CMD_READ_WRITE:
        m->group = qw_cur_le32(c);
        m->offset = qw_cur_le32(c);
        m->read_length = qw_cur_le32(c);
        m->write_length = qw_cur_le32(c);
        m->has_group = m->has_rw = !c->err;
        if (!c->err) dec_text(m, c, m->write_length, text_kind_of(m));
        break;
    case ADS_CMD_WRITE_CONTROL:
        m->ads_state = qw_cur_le16(c);
        m->dev_state = qw_cur_le16(c);
        m->length = qw_cur_le32(c);
        m->has_state = m->has_length = !c->err;
        break;
    case ADS_CMD_DELETE_NOTIFICATION:
        m->handle = qw_cur_le32(c);
        m->has_handle = !c->err;
        break;
    case ADS_CMD_NOTIFICATION: dec_notification(m, c); break;
    default: return; /* ReadDeviceInfo, ReadState: no data */
    }
}

static void dec_response(struct ads_msg *m, struct qw_cursor *c)
{
    if (m->cmd == ADS_CMD_NOTIFICATION || m->cmd == ADS_CMD_INVALID || m->cmd >= ADS_CMD_COUNT)
        return;
    m->result = qw_cur_le32(c);
    m->has_result = !c->err;
    if (c->err) return;
    if (m->result != 0) { /* an error answer may stop after its result, or give a length 0 */
        if ((m->cmd == ADS_CMD_READ || m->cmd == ADS_CMD_READ_WRITE) && qw_cur_has(c, 4)) {
            m->length = qw_cur_le32(c);
            m->has_length = true;
        }
        return;
    }
    switch (m->cmd) {
    case ADS_CMD_READ_DEVICE_INFO:
        m->major = qw_cur_u8(c);
        m->minor = qw_cur_u8(c);
        m->build = qw_cur_le16(c);
        qw_cur_bytes(c, m->name, sizeof m->name);
        if (c->err) return;
        m->has_version = true;
        while (m->name_len < sizeof m->name && m->name[m->name_len]) m->name_len++;
        break;
    case ADS_CMD_READ:
    case ADS_CMD_READ_WRITE:
        m->length = qw_cur_le32(c);
        m->has_length = !c->err;
        break;
    case ADS_CMD_READ_STATE:
        m->ads_state = qw_cur_le16(c);
        m->dev_state = qw_cur_le16(c);
        m->has_state = !c->err;
        break;
    case ADS_CMD_ADD_NOTIFICATION:
        m->handle = qw_cur_le32(c);
        m->has_handle = !c->err;
        break;
    default: break;
    }
}

/* Both headers and the command data of one AMS packet; `b` holds `n` bytes of it (at most
 * ADS_KEEP), `frame_len` is its AMS/TCP length. */
static void ads_decode(struct ads_msg *m, const uint8_t *b, size_t n, uint32_t frame_len)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(b, n);
    qw_cur_skip(&c, AMS_TCP_HDR);
    qw_cur_bytes(&c, m->target_netid, 6);
    m->target_port = qw_cur_le16(&c);
    qw_cur_bytes(&c, m->source_netid, 6);
    m->source_port = qw_cur_le16(&c);
    m->cmd = qw_cur_le16(&c);
    m->flags = qw_cur_le16(&c);
    m->cbdata = qw_cur_le32(&c);
    m->errcode = qw_cur_le32(&c);
    m->invoke = qw_cur_le32(&c);
    m->response = (m->flags & AMS_FLAG_RESPONSE) != 0;
    m->cut = (size_t)frame_len + AMS_TCP_HDR > n;
    /* The data is what the packet holds after the header, as the data length says. */
    struct qw_cursor d = qw_cur_sub(&c, m->cbdata, NULL);
    if (m->response) dec_response(m, &d);
    else dec_request(m, &d);
    bool expect = !(m->response && m->errcode != 0 && m->cbdata == 0);
    m->truncated = d.err && expect && !m->cut;
}

/* ---- Operation classes --------------------------------------------------------------------- */

/* WriteControl: what the new ADS state does to the runtime behind the target port. The system
 * service (10000) is TwinCAT itself: RESET restarts it in run mode, RECONFIG/CONFIG restart it
 * in config mode (every PLC and the I/O stop), SHUTDOWN shuts the controller down (device
 * state 1: reboots it). A PLC runtime (800-899), the NC or another server: RUN starts it, STOP
 * stops it, RESET resets it (a cold reset of a PLC). */
static uint32_t write_control_ops(uint16_t port, uint16_t state, uint16_t dev_state)
{
    bool system = port == ADS_PORT_SYSTEM_SERVICE;
    switch (state) {
    case ADS_STATE_RUN:
    case ADS_STATE_START: return QW_OP_START;
    case ADS_STATE_STOP: return QW_OP_STOP;
    case ADS_STATE_RESET: return QW_OP_RESTART;
    case ADS_STATE_CONFIG:
    case ADS_STATE_RECONFIG: return system ? QW_OP_STOP | QW_OP_CONFIG : QW_OP_CONFIG;
    case ADS_STATE_SAVECFG:
    case ADS_STATE_LOADCFG: return QW_OP_CONFIG;
    case ADS_STATE_SHUTDOWN: return system && dev_state == 1 ? QW_OP_RESTART : QW_OP_STOP;
    default: return QW_OP_CONTROL;
    }
}

static bool is_sep(char c)
{
    return c == '\\' || c == '/';
}

/* The path names a directory called Boot, in any case (TwinCAT 3: C:/TwinCAT/3.1/Boot/Plc). */
static bool has_boot_dir(const struct ads_msg *m)
{
    static const char boot[4] = {'b', 'o', 'o', 't'};
    size_t n = m->text_len;
    for (size_t i = 0; i + 5 <= n; i++) {
        if (!is_sep(m->text[i])) continue;
        size_t k = 0;
        while (k < 4 && (m->text[i + 1 + k] | 0x20) == boot[k]) k++;
        if (k == 4 && (i + 5 == n || is_sep(m->text[i + 5]))) return true;
    }
    return false;
}

/* A system-service file request that writes into TwinCAT's boot directory (the boot project
 * the runtime loads at start): fopen (120) for write, append or update with the boot-project or
 * boot path selected in the index offset's high word (2, 3, 4), or any writing file request
 * whose path names a Boot directory. */
static bool writes_boot(const struct ads_msg *m, uint32_t ops)
{
    if (m->target_port != ADS_PORT_SYSTEM_SERVICE || !(ops & QW_OP_FILE)) return false;
    if (m->group == ADS_IG_SYS_FOPEN) {
        bool writing = (m->offset & 0x0Eu) != 0; /* write 2, append 4, plus 8 */
        uint32_t path = m->offset >> 16;
        return writing && ((path >= 2 && path <= 4) || has_boot_dir(m));
    }
    return !(ops & QW_OP_READ) && m->text_kind == ADS_TEXT_PATH && has_boot_dir(m);
}

static uint32_t ads_ops(const struct ads_msg *m)
{
    if (m->cmd >= ADS_CMD_COUNT) return 0;
    uint32_t ops = ads_cmds[m->cmd].ops;
    const struct ads_igrp *g = m->has_group ? ads_igrp_of(m->target_port, m->group) : NULL;
    switch (m->cmd) {
    case ADS_CMD_READ:
    case ADS_CMD_READ_WRITE:
    case ADS_CMD_ADD_NOTIFICATION:
        if (g) ops = g->read_ops;
        break;
    case ADS_CMD_WRITE:
        if (g) ops = g->write_ops;
        break;
    case ADS_CMD_WRITE_CONTROL:
        return m->has_state ? write_control_ops(m->target_port, m->ads_state, m->dev_state)
                            : QW_OP_CONTROL;
    default: return ops;
    }
    if (m->cmd != ADS_CMD_ADD_NOTIFICATION && writes_boot(m, ops)) ops |= QW_OP_PROGRAM;
    return ops;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_netid(struct qw_json *j, const char *key, const uint8_t id[6])
{
    char s[24];
    int n = snprintf(s, sizeof s, "%u.%u.%u.%u.%u.%u", id[0], id[1], id[2], id[3], id[4], id[5]);
    qw_json_strn(j, key, s, (size_t)n);
}

static void json_code(struct qw_json *j, const char *key, const char *name_key, uint32_t code)
{
    qw_json_u64(j, key, code);
    const char *name = ads_error_name(code);
    qw_json_str(j, name_key, name ? name : "unknown");
}

static void json_header(struct qw_json *j, const struct ads_msg *m)
{
    json_netid(j, "target_net_id", m->target_netid);
    qw_json_u64(j, "target_port", m->target_port);
    json_netid(j, "source_net_id", m->source_netid);
    qw_json_u64(j, "source_port", m->source_port);
    qw_json_u64(j, "function", m->cmd);
    qw_json_str(j, "function_name", ads_cmd_name(m->cmd));
    qw_json_u64(j, "state_flags", m->flags);
    qw_json_bool(j, "response", m->response);
    qw_json_u64(j, "data_length", m->cbdata);
    qw_json_u64(j, "invoke_id", m->invoke);
    if (m->errcode) json_code(j, "error_code", "error_name", m->errcode);
}

static const char *const ads_text_keys[] = {NULL, "symbol", "path", "registry_key"};

static void json_group(struct qw_json *j, const struct ads_msg *m)
{
    qw_json_u64(j, "index_group", m->group);
    const struct ads_igrp *g = ads_igrp_of(m->target_port, m->group);
    if (g) qw_json_str(j, "index_group_name", g->name);
    qw_json_u64(j, "index_offset", m->offset);
    if (m->group >= ADS_IG_SUM_FIRST && m->group <= ADS_IG_SUM_LAST)
        qw_json_u64(j, "sum_count", m->offset); /* the offset counts the sub-commands */
}

static void json_state(struct qw_json *j, const struct ads_msg *m)
{
    qw_json_u64(j, "ads_state", m->ads_state);
    const char *s = ads_state_name(m->ads_state);
    qw_json_str(j, "ads_state_name", s ? s : "unknown");
    qw_json_u64(j, "device_state", m->dev_state);
}

static void json_msg(struct qw_json *j, const char *key, const struct ads_msg *m)
{
    qw_json_obj_begin(j, key);
    json_header(j, m);
    if (m->has_result) json_code(j, "result", "result_name", m->result);
    if (m->has_group) json_group(j, m);
    if (m->has_length) qw_json_u64(j, "length", m->length);
    if (m->has_rw) {
        qw_json_u64(j, "read_length", m->read_length);
        qw_json_u64(j, "write_length", m->write_length);
    }
    if (m->text_kind && m->text_kind < 4)
        qw_json_strn(j, ads_text_keys[m->text_kind], m->text, m->text_len);
    if (m->has_state) json_state(j, m);
    if (m->has_notif) {
        qw_json_u64(j, "transmission_mode", m->transmode);
        const char *t = ads_transmode_name(m->transmode);
        qw_json_str(j, "transmission_mode_name", t ? t : "unknown");
        qw_json_u64(j, "max_delay", m->max_delay);
        qw_json_u64(j, "cycle_time", m->cycle_time);
    }
    if (m->has_handle) qw_json_u64(j, "handle", m->handle);
    if (m->has_version) {
        qw_json_u64(j, "major_version", m->major);
        qw_json_u64(j, "minor_version", m->minor);
        qw_json_u64(j, "version_build", m->build);
        qw_json_strn(j, "device_name", m->name, m->name_len);
    }
    if (m->has_stamps) {
        qw_json_u64(j, "stamps", m->stamps);
        qw_json_u64(j, "samples", m->samples);
    }
    if (m->cut) qw_json_bool(j, "data_cut", true);
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

struct ads_view {
    const struct ads_msg *req, *rsp;
};

static void ads_write_json(struct qw_json *j, const void *arg)
{
    const struct ads_view *v = arg;
    if (v->req) json_msg(j, "request", v->req);
    if (v->rsp) json_msg(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct ads_slot {
    bool used;
    uint8_t dir;
    uint32_t order;
    uint64_t ts_ns;
    struct ads_msg msg;
};

struct ads_state {
    uint32_t skip[2];   /* bytes of an oversized packet still to drop, per direction */
    bool resync[2];
    bool queue_full_reported;
    bool netid_sent[2]; /* [0] client end, [1] server end */
    bool vendor_sent[2];
    uint8_t netid[2][6];
    uint32_t next_order;
    struct ads_slot q[ADS_QUEUE_MAX];
    struct ads_msg cur;
    struct ads_view view;
};

static void ads_emit(struct qw_pctx *ctx, struct ads_state *st, const struct ads_msg *req,
                     uint64_t req_ns, const struct ads_msg *rsp, uint64_t rsp_ns)
{
    const struct ads_msg *key = req ? req : rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->cmd;
    t.function_name = ads_cmd_name(key->cmd);
    t.ops = req ? ads_ops(req) : 0; /* an answer alone does not say what was asked */
    t.error = rsp && (rsp->errcode != 0 || (rsp->has_result && rsp->result != 0));
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = ads_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static struct ads_slot *ads_oldest(struct ads_state *st)
{
    struct ads_slot *best = NULL;
    for (size_t i = 0; i < ADS_QUEUE_MAX; i++) {
        struct ads_slot *s = &st->q[i];
        if (s->used && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
    }
    return best;
}

static void ads_flush_slot(struct qw_pctx *ctx, struct ads_state *st, struct ads_slot *s)
{
    s->used = false;
    ads_emit(ctx, st, &s->msg, s->ts_ns, NULL, 0);
}

static struct ads_slot *ads_find(struct ads_state *st, uint8_t dir, const struct ads_msg *m)
{
    for (size_t i = 0; i < ADS_QUEUE_MAX; i++) {
        struct ads_slot *s = &st->q[i];
        if (s->used && s->dir == dir && s->msg.cmd == m->cmd && s->msg.invoke == m->invoke)
            return s;
    }
    return NULL;
}

static void ads_queue(struct qw_pctx *ctx, struct ads_state *st, uint8_t d,
                      const struct ads_msg *m)
{
    struct ads_slot *s = ads_find(st, d, m);
    if (s) /* the invoke id came round again: the earlier request went unanswered */
        ads_flush_slot(ctx, st, s);
    for (size_t i = 0; i < ADS_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "ads.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = ads_oldest(st);
        ads_flush_slot(ctx, st, s);
    }
    s->used = true;
    s->dir = d;
    s->order = st->next_order++;
    s->ts_ns = qw_pctx_time(ctx);
    s->msg = *m;
}

/* ---- Identity ------------------------------------------------------------------------------ */

/* The sender's AMS NetId, once per end unless it changes. */
static void ads_netid_fact(struct qw_pctx *ctx, struct ads_state *st, bool server,
                           const struct ads_msg *m)
{
    unsigned e = server ? 1 : 0;
    if (st->netid_sent[e] && memcmp(st->netid[e], m->source_netid, 6) == 0) return;
    st->netid_sent[e] = true;
    memcpy(st->netid[e], m->source_netid, 6);
    const uint8_t *id = m->source_netid;
    char s[24];
    int n = snprintf(s, sizeof s, "%u.%u.%u.%u.%u.%u", id[0], id[1], id[2], id[3], id[4], id[5]);
    qw_emit_identity(ctx, server, "ams_netid", s, (size_t)n);
}

static bool name_says_twincat(const struct ads_msg *m)
{
    static const char tc[] = "twincat";
    for (size_t i = 0; i + 7 <= m->name_len; i++) {
        size_t k = 0;
        while (k < 7 && (m->name[i + k] | 0x20) == tc[k]) k++;
        if (k == 7) return true;
    }
    return false;
}

/* A successful ReadDeviceInfo answer: the vendor, and from a PLC runtime (ports 800-899) the
 * model (the ADS device name) and firmware (its version, TwinCAT's own for a TwinCAT runtime).
 * The I/O server, NC and others of the same controller answer with their own names and builds:
 * taking them too would make the model change with every server asked. */
static void ads_device_facts(struct qw_pctx *ctx, struct ads_state *st, bool server,
                             const struct ads_msg *m)
{
    static const char vendor[] = "Beckhoff";
    if (!st->vendor_sent[server ? 1 : 0])
        qw_emit_identity(ctx, server, "vendor", vendor, sizeof vendor - 1);
    st->vendor_sent[server ? 1 : 0] = true;
    if (!ads_port_is_plc(m->source_port)) return;
    if (m->name_len) qw_emit_identity(ctx, server, "model", m->name, m->name_len);
    char v[48];
    int n = snprintf(v, sizeof v, "%s%u.%u.%u", name_says_twincat(m) ? "TwinCAT " : "",
                     m->major, m->minor, m->build);
    qw_emit_identity(ctx, server, "firmware", v, (size_t)n);
}

/* ---- Messages ------------------------------------------------------------------------------ */

static void ads_check(struct qw_pctx *ctx, const struct ads_msg *m, uint32_t frame_len)
{
    if (m->cbdata != frame_len - AMS_HDR)
        qw_emit_anomaly(ctx, "ads.invalid_length", "data length");
    else if (!ads_size_ok(m->cmd, m->response, m->cbdata, m->errcode) || m->truncated)
        qw_emit_anomaly(ctx, "ads.invalid_length", ads_cmd_name(m->cmd));
    if (m->cmd == ADS_CMD_INVALID || m->cmd >= ADS_CMD_COUNT)
        qw_emit_anomaly(ctx, "ads.unknown_command", NULL);
    if (!(m->flags & AMS_FLAG_ADS) || (m->flags & ~(uint32_t)AMS_FLAGS_TCP_KNOWN))
        qw_emit_anomaly(ctx, "ads.bad_header", "state flags");
}

static void ads_on_message(struct qw_pctx *ctx, struct ads_state *st, enum qw_dir dir,
                           const uint8_t *b, size_t n, uint32_t frame_len)
{
    uint8_t d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    uint64_t now = qw_pctx_time(ctx);
    struct ads_msg *m = &st->cur;
    ads_decode(m, b, n, frame_len);
    ads_check(ctx, m, frame_len);
    ads_netid_fact(ctx, st, d == 1, m);
    if (!m->response) {
        if (m->cmd == ADS_CMD_NOTIFICATION) ads_emit(ctx, st, NULL, 0, m, now);
        else ads_queue(ctx, st, d, m);
        return;
    }
    struct ads_slot *s = ads_find(st, (uint8_t)(1 - d), m);
    if (s) {
        s->used = false;
        ads_emit(ctx, st, &s->msg, s->ts_ns, m, now);
    } else {
        ads_emit(ctx, st, NULL, 0, m, now);
    }
    if (m->cmd == ADS_CMD_READ_DEVICE_INFO && m->has_version && m->errcode == 0)
        ads_device_facts(ctx, st, d == 1, m);
}

/* ---- Framing ------------------------------------------------------------------------------- */

enum ads_check { ADS_NO, ADS_MORE, ADS_YES };

static uint32_t rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A plausible AMS/TCP packet start at `b` (n bytes of it here): reserved 0, a length of at
 * least the AMS header, a command id 1-9, the ADS command flag set and no flag TCP does not
 * use, a data length of the AMS/TCP length less the header, sized as the command's data. */
static enum ads_check ads_plausible(const uint8_t *b, size_t n)
{
    if ((n >= 1 && b[0] != 0) || (n >= 2 && b[1] != 0)) return ADS_NO;
    /* Each field is judged as soon as it is here, so a short first segment of another
     * protocol is refused without waiting for 38 bytes. */
    uint32_t len = n >= 6 ? rd_le32(b + 2) : AMS_HDR;
    if (len < AMS_HDR || len > ADS_FRAME_MAX) return ADS_NO;
    uint16_t cmd = n >= 24 ? rd_le16(b + 22) : ADS_CMD_READ;
    if (cmd == ADS_CMD_INVALID || cmd >= ADS_CMD_COUNT) return ADS_NO;
    uint16_t flags = n >= 26 ? rd_le16(b + 24) : AMS_FLAG_ADS;
    if (!(flags & AMS_FLAG_ADS) || (flags & ~(uint32_t)AMS_FLAGS_TCP_KNOWN)) return ADS_NO;
    if (n >= 30 && rd_le32(b + 26) != len - AMS_HDR) return ADS_NO;
    if (n < AMS_ALL_HDR) return ADS_MORE;
    uint32_t cbdata = len - AMS_HDR, errcode = rd_le32(b + 30);
    bool response = flags & AMS_FLAG_RESPONSE;
    if (!response && errcode != 0) return ADS_NO;
    return ads_size_ok(cmd, response, cbdata, errcode) ? ADS_YES : ADS_NO;
}

static enum ads_check ads_chain(const uint8_t *b, size_t n)
{
    enum ads_check r = ads_plausible(b, n);
    if (r != ADS_YES) return r;
    size_t end = AMS_TCP_HDR + (size_t)rd_le32(b + 2);
    return end >= n ? ADS_YES : (ads_plausible(b + end, n - end) == ADS_NO ? ADS_NO : ADS_YES);
}

/* Search forward for the next packet start whose successor (when here) is plausible too;
 * *skip is where to continue: the start found, or the first candidate still incomplete. */
static bool ads_resync(const uint8_t *b, size_t n, size_t *skip)
{
    for (size_t i = 0; i < n; i++) {
        enum ads_check r = ads_chain(b + i, n - i);
        if (r == ADS_NO) continue;
        *skip = i;
        return r == ADS_YES;
    }
    *skip = n;
    return false;
}

static size_t ads_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct ads_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->skip[d]) {
            size_t n = len - off < st->skip[d] ? len - off : st->skip[d];
            st->skip[d] -= (uint32_t)n;
            off += n;
            continue;
        }
        if (st->resync[d]) {
            size_t skip = 0;
            bool found = ads_resync(data + off, len - off, &skip);
            off += skip;
            if (!found) return off;
            st->resync[d] = false;
        }
        if (len - off < AMS_TCP_HDR) return off;
        uint16_t reserved = rd_le16(data + off);
        uint32_t frame_len = rd_le32(data + off + 2);
        if (reserved != 0 || frame_len < AMS_HDR || frame_len > ADS_FRAME_MAX) {
            qw_emit_anomaly(ctx, reserved != 0 ? "ads.bad_header" : "ads.invalid_length",
                            "AMS/TCP header");
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t total = AMS_TCP_HDR + (size_t)frame_len;
        size_t want = total < ADS_KEEP ? total : ADS_KEEP;
        if (len - off < want) return off; /* the engine keeps the partial packet */
        ads_on_message(ctx, st, dir, data + off, want, frame_len);
        off += want;
        st->skip[d] = (uint32_t)(total - want);
    }
    return off;
}

static void ads_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct ads_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    st->skip[d] = 0;
    st->resync[d] = true;
}

static void ads_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ads_state *st = state;
    struct ads_slot *s;
    while ((s = ads_oldest(st)) != NULL) ads_flush_slot(ctx, st, s);
}

/* Either end may speak first (an AMS connection joins two routers); the first packet and,
 * when it is all here, the start of the next must be plausible (ads_plausible). */
static enum qw_probe_result ads_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    switch (ads_chain(data, len)) {
    case ADS_YES: return QW_PROBE_MATCH;
    case ADS_MORE: return QW_PROBE_NEED_MORE;
    default: return QW_PROBE_NO;
    }
}

const struct qw_proto qw_proto_ads = {
    .name = "ads",
    .transports = QW_TRANSPORT_TCP,
    .ports = {ADS_TCP_PORT, 0},
    .probe = ads_probe,
    .state_size = sizeof(struct ads_state),
    .parse = ads_parse,
    .gap = ads_gap,
    .flow_end = ads_flow_end,
};
