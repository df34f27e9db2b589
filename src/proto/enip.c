/* EtherNet/IP encapsulation parser (TCP and UDP port 44818), carrying CIP (cip.c).
 *
 * Specifications:
 *   [CIP2] The CIP Networks Library, Volume 2: EtherNet/IP Adaptation of CIP (ODVA, PUB00002):
 *          s.2-3 encapsulation header, s.2-3.2 status codes, s.2-4 commands (NOP 0x00,
 *          ListServices 0x04, ListIdentity 0x63, ListInterfaces 0x64, RegisterSession 0x65,
 *          UnRegisterSession 0x66, SendRRData 0x6F, SendUnitData 0x70, IndicateStatus 0x72,
 *          Cancel 0x73), s.2-4.3 the CIP Identity item, s.2-6 Common Packet Format (CPF) and
 *          its item types, s.3-2.1 the connected data item's sequence count.
 *   [CIP1] Volume 1 for the CIP messages inside (see cip.h).
 *
 * Encapsulation header, little-endian ([CIP2] s.2-3.1):
 *
 *   offset size meaning
 *   ------ ---- --------------------------------------------------------------------------
 *        0    2 command
 *        2    2 length: bytes of command-specific data after this 24-byte header
 *        4    4 session handle (from RegisterSession)
 *        8    4 status (0 in requests)
 *       12    8 sender context: chosen by the sender of a request, echoed in its reply
 *       20    4 options (must be 0)
 *       24    n command-specific data
 *
 * SendRRData (unconnected, UCMM) and SendUnitData (connected, class 3) data: interface handle
 * (4, 0 = CIP), timeout (2), then a CPF: item count (2) and items of type (2), length (2), data.
 * The usual pair is a null address item (0x0000) with an unconnected data item (0x00B2) holding
 * a CIP request or reply, or a connected address item (0x00A1, the connection id) with a
 * connected data item (0x00B1) whose first two bytes are the CIP sequence count.
 *
 * Requests are told from replies by the CIP reply bit when CIP is carried, else by command
 * (a ListIdentity/ListServices/ListInterfaces request has no data) and direction. Pairing
 * ([CIP2] s.2-3.1: the target echoes the sender context): a reply matches the oldest outstanding
 * request of the same command and sender context; SendUnitData pairs by the CIP sequence count,
 * which the target echoes on its connection. NOP, UnRegisterSession, IndicateStatus and Cancel
 * have no reply and are reported at once.
 *
 * Outstanding requests are kept as their decoded encapsulation fields plus their CIP bytes (up to
 * ENIP_CIP_KEEP); both sides are decoded into scratch records when the transaction is emitted.
 * Per-flow state is about 11.5 KiB: 8 queued requests of up to 512 CIP bytes each, and two decoded
 * CIP sides of 48 messages (a Logix Multiple Service Packet carries up to ~30 tag requests). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/cip.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/digits.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define ENIP_PORT 44818u        /* IANA "EtherNet-IP-2" ([CIP2] s.2-2) */
#define ENIP_HDR_LEN 24u        /* [CIP2] s.2-3.1 */
#define ENIP_LEN_MAX 65511u     /* 65535 - 24: a message fits a 16-bit total ([CIP2] s.2-3.1) */
#define ENIP_CPF_MIN 8u         /* interface handle + timeout + item count */
#define ENIP_ITEMS_KEPT 4       /* CPF items described per message (2 normal, 4 with sockaddrs) */
#define ENIP_ITEMS_MAX 16       /* more items than this is not a real message (probe) */
#define ENIP_QUEUE_MAX 8        /* outstanding requests: a session rarely pipelines more */
/* CIP bytes kept per outstanding request. The largest standard unconnected message is 504 bytes
 * ([CIP1] s.3-5.6.3, and the 511-byte standard connection size); Large Forward Open connections
 * carry up to ~4000 and are kept cut: the record then says `cip_stored_cut`. */
#define ENIP_CIP_KEEP 512u
#define ENIP_IDENTITIES_MAX 8   /* CIP Identity items rendered per ListIdentity reply */
#define ENIP_REGISTER_VERSION 1u /* RegisterSession protocol version ([CIP2] s.2-4.4) */

/* Commands ([CIP2] s.2-3.1 table 2-3.2). */
#define CMD_NOP 0x0000u
#define CMD_LIST_SERVICES 0x0004u
#define CMD_LIST_IDENTITY 0x0063u
#define CMD_LIST_INTERFACES 0x0064u
#define CMD_REGISTER_SESSION 0x0065u
#define CMD_UNREGISTER_SESSION 0x0066u
#define CMD_SEND_RR_DATA 0x006Fu
#define CMD_SEND_UNIT_DATA 0x0070u
#define CMD_INDICATE_STATUS 0x0072u
#define CMD_CANCEL 0x0073u

/* CPF item types ([CIP2] s.2-6.3 table 2-6.3). */
#define ITEM_NULL 0x0000u
#define ITEM_IDENTITY 0x000Cu
#define ITEM_CONNECTED_ADDRESS 0x00A1u
#define ITEM_CONNECTED_DATA 0x00B1u
#define ITEM_UNCONNECTED_DATA 0x00B2u
#define ITEM_LIST_SERVICES 0x0100u
#define ITEM_SEQUENCED_ADDRESS 0x8002u

struct enip_command {
    uint16_t code;
    const char *name;
    uint32_t ops;
    bool no_reply; /* [CIP2]: no reply is sent to these */
};

static const struct enip_command enip_commands[] = {
    {CMD_NOP, "nop", 0, true},
    {CMD_LIST_SERVICES, "list_services", QW_OP_IDENTIFY, false},
    {CMD_LIST_IDENTITY, "list_identity", QW_OP_IDENTIFY, false},
    {CMD_LIST_INTERFACES, "list_interfaces", QW_OP_IDENTIFY, false},
    {CMD_REGISTER_SESSION, "register_session", QW_OP_SESSION, false},
    {CMD_UNREGISTER_SESSION, "unregister_session", QW_OP_SESSION, true},
    {CMD_SEND_RR_DATA, "send_rr_data", 0, false},
    {CMD_SEND_UNIT_DATA, "send_unit_data", 0, false},
    {CMD_INDICATE_STATUS, "indicate_status", 0, true},
    {CMD_CANCEL, "cancel", 0, true},
};

static const struct enip_command *enip_command(uint16_t code)
{
    for (size_t i = 0; i < sizeof enip_commands / sizeof enip_commands[0]; i++)
        if (enip_commands[i].code == code) return &enip_commands[i];
    return NULL;
}

/* Encapsulation status codes ([CIP2] s.2-3.2 table 2-3.3). */
static const char *enip_status_name(uint32_t s)
{
    switch (s) {
    case 0x0000: return "success";
    case 0x0001: return "invalid_or_unsupported_command";
    case 0x0002: return "insufficient_memory";
    case 0x0003: return "incorrect_data";
    case 0x0064: return "invalid_session_handle";
    case 0x0065: return "invalid_length";
    case 0x0069: return "unsupported_protocol_version";
    default: return NULL;
    }
}

static const char *item_name(uint16_t t)
{
    switch (t) {
    case ITEM_NULL: return "null_address";
    case ITEM_IDENTITY: return "cip_identity";
    case 0x0086: return "cip_security_information";
    case 0x0087: return "enip_capability";
    case ITEM_CONNECTED_ADDRESS: return "connected_address";
    case ITEM_CONNECTED_DATA: return "connected_data";
    case ITEM_UNCONNECTED_DATA: return "unconnected_data";
    case ITEM_LIST_SERVICES: return "list_services_response";
    case 0x8000: return "sockaddr_info_ot";
    case 0x8001: return "sockaddr_info_to";
    case ITEM_SEQUENCED_ADDRESS: return "sequenced_address";
    default: return NULL;
    }
}

/* ---- One encapsulation message ------------------------------------------------------------- */

struct enip_item {
    uint16_t type, len;
};

struct enip_info {
    uint16_t command, length;
    uint32_t session, status, options;
    uint8_t context[8];
    bool reply;
    bool truncated;      /* a field was cut by the declared length */
    bool cip_stored_cut; /* request kept in the queue with its CIP bytes cut at ENIP_CIP_KEEP */
    bool has_cpf;
    uint32_t iface;
    uint16_t timeout;
    uint16_t nitems;
    struct enip_item items[ENIP_ITEMS_KEPT];
    bool has_conn_id, has_seq, has_encap_seq;
    uint32_t conn_id, encap_seq;
    uint16_t seq;
    bool has_register;
    uint16_t version, reg_options;
};

/* Where the parts of a message are, in the bytes being parsed. */
struct enip_pdu {
    struct enip_info info;
    const uint8_t *body; /* command-specific data */
    size_t body_len;
    const uint8_t *cip;  /* CIP message, or NULL */
    size_t cip_len;
    size_t cpf_items_off; /* offset in body of the first CPF item (list replies) */
    uint16_t cpf_count;
};

/* Read the command-specific data of SendRRData/SendUnitData and the list replies. */
static void read_cpf(struct qw_pctx *ctx, struct enip_pdu *p, bool with_handle)
{
    struct enip_info *in = &p->info;
    struct qw_cursor c = qw_cursor_make(p->body, p->body_len);
    if (with_handle) {
        in->iface = qw_cur_le32(&c);
        in->timeout = qw_cur_le16(&c);
    }
    uint16_t count = qw_cur_le16(&c);
    if (c.err) {
        in->truncated = true;
        if (ctx) qw_emit_anomaly(ctx, "enip.invalid_cpf", "cut before the item count");
        return;
    }
    in->has_cpf = with_handle;
    in->nitems = count;
    p->cpf_count = count;
    p->cpf_items_off = c.off;
    for (unsigned i = 0; i < count; i++) {
        uint16_t type = qw_cur_le16(&c);
        uint16_t len = qw_cur_le16(&c);
        const uint8_t *data = qw_cur_take(&c, len);
        if (c.err) {
            in->truncated = true;
            if (ctx) qw_emit_anomaly(ctx, "enip.invalid_cpf", "item beyond the message");
            return;
        }
        if (i < ENIP_ITEMS_KEPT) in->items[i] = (struct enip_item){type, len};
        struct qw_cursor ic = qw_cursor_make(data, len);
        switch (type) {
        case ITEM_CONNECTED_ADDRESS:
            in->conn_id = qw_cur_le32(&ic);
            in->has_conn_id = !ic.err;
            break;
        case ITEM_SEQUENCED_ADDRESS:
            in->conn_id = qw_cur_le32(&ic);
            in->encap_seq = qw_cur_le32(&ic);
            in->has_conn_id = in->has_encap_seq = !ic.err;
            break;
        case ITEM_CONNECTED_DATA:
            in->seq = qw_cur_le16(&ic);
            in->has_seq = !ic.err;
            if (!p->cip && !ic.err && qw_cur_left(&ic) > 0) {
                p->cip = qw_cur_ptr(&ic);
                p->cip_len = qw_cur_left(&ic);
            }
            break;
        case ITEM_UNCONNECTED_DATA:
            if (!p->cip && len > 0) {
                p->cip = data;
                p->cip_len = len;
            }
            break;
        default:
            break;
        }
    }
    if (with_handle && qw_cur_left(&c) > 0 && ctx)
        qw_emit_anomaly(ctx, "enip.trailing_data", NULL);
}

/* Parse header and body of one complete message (`n` = 24 + length bytes). */
static void pdu_read(struct qw_pctx *ctx, struct enip_pdu *p, const uint8_t *b, size_t n,
                     enum qw_dir dir)
{
    memset(p, 0, sizeof *p);
    struct enip_info *in = &p->info;
    struct qw_cursor c = qw_cursor_make(b, n);
    in->command = qw_cur_le16(&c);
    in->length = qw_cur_le16(&c);
    in->session = qw_cur_le32(&c);
    in->status = qw_cur_le32(&c);
    qw_cur_bytes(&c, in->context, sizeof in->context);
    in->options = qw_cur_le32(&c);
    p->body = qw_cur_ptr(&c);
    p->body_len = qw_cur_left(&c);
    if (in->options != 0 && ctx) qw_emit_anomaly(ctx, "enip.invalid_options", NULL);
    switch (in->command) {
    case CMD_SEND_RR_DATA:
    case CMD_SEND_UNIT_DATA:
        read_cpf(ctx, p, true);
        if (p->cip) in->reply = (p->cip[0] & CIP_REPLY_BIT) != 0;
        else in->reply = dir == QW_DIR_TO_CLIENT || in->status != 0;
        break;
    case CMD_LIST_IDENTITY:
    case CMD_LIST_SERVICES:
    case CMD_LIST_INTERFACES:
        /* Requests carry no data ([CIP2] s.2-4.2, 2-4.3, 2-4.6). */
        in->reply = in->length > 0 || in->status != 0;
        if (in->reply && in->length > 0) read_cpf(ctx, p, false);
        break;
    case CMD_REGISTER_SESSION: {
        in->reply = dir == QW_DIR_TO_CLIENT || in->status != 0;
        struct qw_cursor r = qw_cursor_make(p->body, p->body_len);
        in->version = qw_cur_le16(&r);
        in->reg_options = qw_cur_le16(&r);
        in->has_register = !r.err;
        if (r.err && in->status == 0 && ctx)
            qw_emit_anomaly(ctx, "enip.invalid_length", "register_session");
        else if (!r.err && in->version != ENIP_REGISTER_VERSION && ctx)
            qw_emit_anomaly(ctx, "enip.unsupported_version", NULL);
        break;
    }
    default:
        in->reply = dir == QW_DIR_TO_CLIENT;
        break;
    }
}

/* ---- Transactions -------------------------------------------------------------------------- */

struct enip_side_view {
    const struct enip_info *info;
    const struct cip_side *cip; /* NULL when no CIP */
    const uint8_t *body;        /* reply body for list replies, else NULL */
    size_t body_len;
    uint16_t cpf_count;
    size_t cpf_items_off;
};

struct enip_view {
    struct enip_side_view req, rsp;
    bool has_req, has_rsp;
};

struct enip_slot {
    bool used;
    uint32_t seq; /* arrival order */
    uint64_t ts_ns;
    struct enip_info info;
    uint16_t cip_len;
    uint8_t cip[ENIP_CIP_KEEP];
};

struct enip_state {
    bool resync[2];
    bool queue_full_reported;
    bool udp; /* datagrams: broadcast ListIdentity requests are never answered in their flow */
    uint32_t next_seq;
    uint8_t nqueued;
    struct enip_slot queue[ENIP_QUEUE_MAX];
    struct enip_info rsp_info; /* scratch: a reply being emitted */
    struct cip_side req_cip, rsp_cip;
    struct enip_view view;
};

static const char *cmd_name(uint16_t code)
{
    const struct enip_command *c = enip_command(code);
    return c ? c->name : "unknown";
}

static void json_hex32(struct qw_json *j, const char *key, uint32_t v)
{
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) buf[2 + i] = qw_hex_digits[(v >> (28 - 4 * i)) & 0xf];
    buf[10] = 0;
    qw_json_str(j, key, buf); /* as "0x%08x" */
}

/* ListIdentity reply items ([CIP2] s.2-4.3.2): encapsulation version, socket address
 * (big-endian sin_family, sin_port, sin_addr, 8 zero bytes), then the Identity attributes. */
static void json_list_reply(struct qw_json *j, const struct enip_side_view *v)
{
    struct qw_cursor c = qw_cursor_make(v->body, v->body_len);
    qw_cur_skip(&c, v->cpf_items_off);
    bool ids = v->info->command == CMD_LIST_IDENTITY;
    bool svc = v->info->command == CMD_LIST_SERVICES;
    if (!ids && !svc) return;
    qw_json_arr_begin(j, ids ? "identities" : "services");
    for (unsigned i = 0; i < v->cpf_count && i < ENIP_IDENTITIES_MAX; i++) {
        uint16_t type = qw_cur_le16(&c);
        uint16_t len = qw_cur_le16(&c);
        const uint8_t *data = qw_cur_take(&c, len);
        if (c.err) break;
        struct qw_cursor ic = qw_cursor_make(data, len);
        if (ids && type == ITEM_IDENTITY) {
            uint16_t ver = qw_cur_le16(&ic);
            qw_cur_skip(&ic, 2); /* sin_family */
            uint16_t port = qw_cur_be16(&ic);
            uint8_t ip[4];
            qw_cur_bytes(&ic, ip, 4);
            qw_cur_skip(&ic, 8);
            struct cip_identity id;
            if (!cip_read_identity(&ic, data, &id, true)) continue;
            char sa[32];
            snprintf(sa, sizeof sa, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "encapsulation_version", ver);
            qw_json_str(j, "socket_ip", sa);
            qw_json_u64(j, "socket_port", port);
            cip_write_identity_json(j, &id, data);
            qw_json_obj_end(j);
        } else if (svc && type == ITEM_LIST_SERVICES) {
            uint16_t ver = qw_cur_le16(&ic);
            uint16_t flags = qw_cur_le16(&ic);
            size_t nl = qw_cur_left(&ic) < 16 ? qw_cur_left(&ic) : 16;
            const uint8_t *name = qw_cur_ptr(&ic);
            size_t k = 0;
            while (k < nl && name[k]) k++;
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "version", ver);
            qw_json_u64(j, "capability_flags", flags);
            qw_json_bool(j, "cip_over_tcp", (flags & 0x0020u) != 0);
            qw_json_bool(j, "class01_over_udp", (flags & 0x0100u) != 0);
            qw_json_strn(j, "name", name, k);
            qw_json_obj_end(j);
        }
    }
    qw_json_arr_end(j);
}

static void json_side(struct qw_json *j, const char *key, const struct enip_side_view *v)
{
    const struct enip_info *in = v->info;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "command", in->command);
    qw_json_str(j, "command_name", cmd_name(in->command));
    qw_json_u64(j, "length", in->length);
    json_hex32(j, "session_handle", in->session);
    qw_json_u64(j, "status", in->status);
    const char *sn = enip_status_name(in->status);
    qw_json_str(j, "status_name", sn ? sn : "unknown");
    qw_json_hex(j, "sender_context", in->context, sizeof in->context);
    if (in->options) qw_json_u64(j, "options", in->options);
    if (in->has_cpf) {
        qw_json_u64(j, "interface_handle", in->iface);
        qw_json_u64(j, "timeout", in->timeout);
    }
    if (in->nitems > 0) {
        qw_json_arr_begin(j, "items");
        for (unsigned i = 0; i < in->nitems && i < ENIP_ITEMS_KEPT; i++) {
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "type", in->items[i].type);
            const char *tn = item_name(in->items[i].type);
            qw_json_str(j, "type_name", tn ? tn : "unknown");
            qw_json_u64(j, "length", in->items[i].len);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (in->has_conn_id) json_hex32(j, "connection_id", in->conn_id);
    if (in->has_encap_seq) qw_json_u64(j, "encapsulation_sequence", in->encap_seq);
    if (in->has_seq) qw_json_u64(j, "sequence", in->seq);
    if (in->has_register) {
        qw_json_u64(j, "protocol_version", in->version);
        qw_json_u64(j, "session_options", in->reg_options);
    }
    uint8_t e = v->cip ? cip_effective(v->cip) : CIP_NONE;
    if (e != CIP_NONE) {
        const struct cip_msg *m = &v->cip->msgs[e];
        qw_json_u64(j, "function", m->service);
        qw_json_str(j, "function_name", m->name ? m->name : "unknown");
        cip_write_json(j, "cip", v->cip);
        if (v->cip->msgs_dropped)
            qw_json_u64(j, "cip_messages_not_described", v->cip->msgs_dropped);
    } else {
        qw_json_u64(j, "function", in->command);
        qw_json_str(j, "function_name", cmd_name(in->command));
    }
    if (v->body && in->reply) json_list_reply(j, v);
    if (in->cip_stored_cut) qw_json_bool(j, "cip_stored_cut", true);
    if (in->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void enip_write_json(struct qw_json *j, const void *arg)
{
    const struct enip_view *v = arg;
    if (v->has_req) json_side(j, "request", &v->req);
    if (v->has_rsp) json_side(j, "response", &v->rsp);
}

/* Function code, name and ops of one side: the CIP service when CIP is carried, else the
 * encapsulation command. */
static void side_function(const struct enip_side_view *v, uint32_t *fn, const char **name,
                          uint32_t *ops)
{
    uint8_t e = v->cip ? cip_effective(v->cip) : CIP_NONE;
    if (e != CIP_NONE) {
        *fn = v->cip->msgs[e].service;
        *name = v->cip->msgs[e].name ? v->cip->msgs[e].name : "unknown";
        *ops = cip_ops(v->cip, e);
        return;
    }
    const struct enip_command *c = enip_command(v->info->command);
    *fn = v->info->command;
    *name = c ? c->name : "unknown";
    *ops = c ? c->ops : 0;
}

static void enip_emit(struct qw_pctx *ctx, struct enip_state *st, bool has_req, uint64_t req_ns,
                      bool has_rsp, uint64_t rsp_ns)
{
    struct qw_txn t = {0};
    const struct enip_side_view *key = has_req ? &st->view.req : &st->view.rsp;
    side_function(key, &t.function, &t.function_name, &t.ops);
    st->view.has_req = has_req;
    st->view.has_rsp = has_rsp;
    t.has_request = has_req;
    t.has_response = has_rsp;
    if (has_rsp) {
        t.error = st->view.rsp.info->status != 0 ||
                  (st->view.rsp.cip && cip_error(st->view.rsp.cip));
    }
    t.request_ns = has_req ? req_ns : 0;
    t.response_ns = has_rsp ? rsp_ns : 0;
    t.write_json = enip_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
}

/* Rebuild a queued request's view (silently: its anomalies were reported when it arrived). */
static void slot_view(struct enip_state *st, const struct enip_slot *s)
{
    st->view.req.info = &s->info;
    st->view.req.cip = NULL;
    if (s->cip_len > 0) {
        cip_decode_request(&st->req_cip, s->cip, s->cip_len, NULL);
        st->view.req.cip = &st->req_cip;
    }
}

static void flush_slot(struct qw_pctx *ctx, struct enip_state *st, struct enip_slot *s)
{
    slot_view(st, s);
    enip_emit(ctx, st, true, s->ts_ns, false, 0);
    s->used = false;
    st->nqueued--;
}

static struct enip_slot *oldest(struct enip_state *st)
{
    struct enip_slot *best = NULL;
    for (size_t i = 0; i < ENIP_QUEUE_MAX; i++) {
        struct enip_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct enip_slot *find_request(struct enip_state *st, const struct enip_info *rsp)
{
    struct enip_slot *best = NULL;
    for (size_t i = 0; i < ENIP_QUEUE_MAX; i++) {
        struct enip_slot *s = &st->queue[i];
        if (!s->used || s->info.command != rsp->command) continue;
        if (rsp->command == CMD_SEND_UNIT_DATA && rsp->has_seq) {
            if (!s->info.has_seq || s->info.seq != rsp->seq) continue;
        } else if (memcmp(s->info.context, rsp->context, sizeof rsp->context) != 0) {
            continue;
        }
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static void on_request(struct qw_pctx *ctx, struct enip_state *st, const struct enip_pdu *p)
{
    /* Decode now for the anomalies; the record is rebuilt from the slot when emitted. */
    if (p->cip) cip_decode_request(&st->req_cip, p->cip, p->cip_len, ctx);
    const struct enip_command *c = enip_command(p->info.command);
    if (c && c->no_reply) {
        st->view.req.info = &p->info;
        st->view.req.cip = p->cip ? &st->req_cip : NULL;
        enip_emit(ctx, st, true, qw_pctx_time(ctx), false, 0);
        return;
    }
    struct enip_slot *old = st->nqueued >= ENIP_QUEUE_MAX ? oldest(st) : NULL;
    if (old) {
        /* Raised once per flow: with one direction missing (asymmetric SPAN) every request
         * would otherwise raise it. */
        if (!st->queue_full_reported && !st->udp)
            qw_emit_anomaly(ctx, "enip.request_queue_full", NULL);
        st->queue_full_reported = true;
        flush_slot(ctx, st, old);
    }
    struct enip_slot *s = NULL;
    for (size_t i = 0; i < ENIP_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return;
    s->used = true;
    s->info = p->info;
    size_t n = p->cip ? p->cip_len : 0;
    if (n > ENIP_CIP_KEEP) {
        n = ENIP_CIP_KEEP;
        s->info.cip_stored_cut = true;
    }
    if (n) memcpy(s->cip, p->cip, n);
    s->cip_len = (uint16_t)n;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    st->nqueued++;
}

static void on_reply(struct qw_pctx *ctx, struct enip_state *st, enum qw_dir dir,
                     const struct enip_pdu *p)
{
    struct enip_slot *s = find_request(st, &p->info);
    if (s) slot_view(st, s);
    const struct cip_side *req_cip = s ? st->view.req.cip : NULL;
    st->rsp_info = p->info;
    st->view.rsp.info = &st->rsp_info;
    st->view.rsp.cip = NULL;
    if (p->cip) {
        cip_decode_response(&st->rsp_cip, p->cip, p->cip_len, req_cip, ctx);
        st->view.rsp.cip = &st->rsp_cip;
    }
    if (p->info.command == CMD_LIST_IDENTITY || p->info.command == CMD_LIST_SERVICES) {
        st->view.rsp.body = p->body;
        st->view.rsp.body_len = p->body_len;
        st->view.rsp.cpf_count = p->cpf_count;
        st->view.rsp.cpf_items_off = p->cpf_items_off;
    }
    bool server = dir == QW_DIR_TO_CLIENT; /* the reply's sender */
    /* Identity facts: a Get_Attributes_All reply from the Identity object describes the device
     * at the end of this flow only when the request was not routed on (Unconnected Send with a
     * route, or a connection whose path we did not see): then it describes another module. */
    bool id_here = st->view.rsp.cip && st->rsp_cip.id_msg != CIP_NONE && req_cip &&
                   !req_cip->routed && p->info.command == CMD_SEND_RR_DATA;
    struct cip_identity id = st->rsp_cip.id;
    enip_emit(ctx, st, s != NULL, s ? s->ts_ns : 0, true, qw_pctx_time(ctx));
    if (s) {
        s->used = false;
        st->nqueued--;
    }
    if (id_here) cip_emit_identity(ctx, server, &id, p->cip, NULL);
    if (p->info.command == CMD_LIST_IDENTITY && p->body) {
        struct qw_cursor c = qw_cursor_make(p->body, p->body_len);
        qw_cur_skip(&c, p->cpf_items_off);
        for (unsigned i = 0; i < p->cpf_count && i < ENIP_IDENTITIES_MAX; i++) {
            uint16_t type = qw_cur_le16(&c);
            uint16_t len = qw_cur_le16(&c);
            const uint8_t *data = qw_cur_take(&c, len);
            if (c.err) break;
            if (type != ITEM_IDENTITY) continue;
            struct qw_cursor ic = qw_cursor_make(data, len);
            qw_cur_skip(&ic, 2 + 2 + 2); /* version, sin_family, sin_port */
            uint8_t ip[4];
            qw_cur_bytes(&ic, ip, 4);
            qw_cur_skip(&ic, 8);
            if (cip_read_identity(&ic, data, &id, true))
                cip_emit_identity(ctx, server, &id, data, ip);
            else
                qw_emit_anomaly(ctx, "enip.invalid_cpf", "identity item");
        }
    }
}

static void on_pdu(struct qw_pctx *ctx, struct enip_state *st, enum qw_dir dir,
                   const uint8_t *b, size_t n)
{
    struct enip_pdu p;
    pdu_read(ctx, &p, b, n, dir);
    if (p.info.reply) on_reply(ctx, st, dir, &p);
    else on_request(ctx, st, &p);
}

/* ---- Framing, probe, resynchronisation ----------------------------------------------------- */

static bool status_known(uint32_t s)
{
    return enip_status_name(s) != NULL;
}

/* How strictly a header is checked: the probe and resync must not claim other protocols'
 * bytes; once a flow is known to be EtherNet/IP, parse accepts any command with a sane length. */
static enum qw_probe_result check_header(const uint8_t *data, size_t len)
{
    struct qw_cursor c = qw_cursor_make(data, len);
    uint16_t cmd = qw_cur_le16(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    const struct enip_command *ec = enip_command(cmd);
    /* NOP is refused as a first message: 24 zero bytes would be a valid NOP. */
    if (!ec || cmd == CMD_NOP) return QW_PROBE_NO;
    uint16_t alen = qw_cur_le16(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (alen > ENIP_LEN_MAX) return QW_PROBE_NO;
    switch (cmd) {
    case CMD_REGISTER_SESSION:
        if (alen != 4) return QW_PROBE_NO;
        break;
    case CMD_UNREGISTER_SESSION:
        if (alen != 0) return QW_PROBE_NO;
        break;
    case CMD_SEND_RR_DATA:
    case CMD_SEND_UNIT_DATA:
        if (alen < ENIP_CPF_MIN + 4) return QW_PROBE_NO; /* at least one item header */
        break;
    case CMD_LIST_IDENTITY:
    case CMD_LIST_SERVICES:
    case CMD_LIST_INTERFACES:
        if (alen == 1) return QW_PROBE_NO;
        break;
    default:
        break;
    }
    qw_cur_skip(&c, 4);
    uint32_t status = qw_cur_le32(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (!status_known(status)) return QW_PROBE_NO;
    qw_cur_skip(&c, 8);
    uint32_t options = qw_cur_le32(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (options != 0) return QW_PROBE_NO;

    /* Command-specific data, as far as it is there. */
    size_t end = ENIP_HDR_LEN + (size_t)alen;
    size_t have = len < end ? len : end;
    struct qw_cursor b = qw_cursor_make(data + ENIP_HDR_LEN, have - ENIP_HDR_LEN);
    switch (cmd) {
    case CMD_REGISTER_SESSION: {
        uint16_t ver = qw_cur_le16(&b);
        if (b.err) return QW_PROBE_NEED_MORE;
        return ver == ENIP_REGISTER_VERSION || status != 0 ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    case CMD_SEND_RR_DATA:
    case CMD_SEND_UNIT_DATA: {
        uint32_t iface = qw_cur_le32(&b);
        qw_cur_skip(&b, 2);
        uint16_t count = qw_cur_le16(&b);
        if (b.err) return QW_PROBE_NEED_MORE;
        if (iface != 0 || count == 0 || count > ENIP_ITEMS_MAX) return QW_PROBE_NO;
        size_t used = ENIP_CPF_MIN;
        for (unsigned i = 0; i < count; i++) {
            uint16_t type = qw_cur_le16(&b);
            uint16_t ilen = qw_cur_le16(&b);
            if (b.err) return i > 0 ? QW_PROBE_MATCH : QW_PROBE_NEED_MORE;
            if (!item_name(type)) return QW_PROBE_NO;
            used += 4u + ilen;
            if (used > alen) return QW_PROBE_NO;
            if (!qw_cur_skip(&b, ilen)) return QW_PROBE_MATCH; /* consistent so far */
        }
        return used == alen ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    case CMD_LIST_IDENTITY:
    case CMD_LIST_SERVICES:
    case CMD_LIST_INTERFACES: {
        if (alen == 0) return QW_PROBE_MATCH; /* a request */
        uint16_t count = qw_cur_le16(&b);
        if (b.err) return QW_PROBE_NEED_MORE;
        if (count > ENIP_ITEMS_MAX) return QW_PROBE_NO;
        if (count == 0) return alen == 2 ? QW_PROBE_MATCH : QW_PROBE_NO;
        uint16_t type = qw_cur_le16(&b);
        uint16_t ilen = qw_cur_le16(&b);
        if (b.err) return QW_PROBE_NEED_MORE;
        if (!item_name(type) || 2u + 4u + ilen > alen) return QW_PROBE_NO;
        return QW_PROBE_MATCH;
    }
    default:
        return len >= ENIP_HDR_LEN ? QW_PROBE_MATCH : QW_PROBE_NEED_MORE;
    }
}

static enum qw_probe_result enip_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    return check_header(data, len);
}

enum enip_sync { SYNC_FOUND, SYNC_WAIT };

/* Search for the next message boundary after a gap or a broken header: the first offset whose
 * bytes pass the probe's checks. WAIT keeps the bytes from `*skip` for the next delivery. */
static enum enip_sync resync(const uint8_t *b, size_t n, size_t *skip)
{
    size_t i = 0;
    for (; i < n; i++) {
        enum qw_probe_result r = check_header(b + i, n - i);
        if (r == QW_PROBE_MATCH) {
            *skip = i;
            return SYNC_FOUND;
        }
        if (r == QW_PROBE_NEED_MORE && n - i < ENIP_HDR_LEN + ENIP_CPF_MIN + 4) break;
    }
    *skip = i;
    return SYNC_WAIT;
}

static size_t enip_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct enip_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            size_t skip = 0;
            enum enip_sync r = resync(data + off, len - off, &skip);
            off += skip;
            if (r == SYNC_WAIT) return off;
            st->resync[d] = false;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        qw_cur_skip(&c, 2);
        uint16_t alen = qw_cur_le16(&c);
        if (c.err || len - off < ENIP_HDR_LEN) return off; /* header not complete yet */
        if (alen > ENIP_LEN_MAX) {
            qw_emit_anomaly(ctx, "enip.invalid_length", NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t n = ENIP_HDR_LEN + (size_t)alen;
        if (len - off < n) return off; /* partial message: the engine keeps it */
        on_pdu(ctx, st, dir, data + off, n);
        off += n;
    }
    return off;
}

/* Over UDP (ListIdentity, ListServices) each datagram holds whole messages ([CIP2] s.2-2). */
static void enip_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct enip_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    st->udp = true;
    st->resync[d] = false;
    size_t used = enip_parse(ctx, state, dir, data, len);
    if (used < len) qw_emit_anomaly(ctx, "enip.truncated_pdu", NULL);
    st->resync[d] = false;
}

static void enip_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct enip_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void enip_flow_end(struct qw_pctx *ctx, void *state)
{
    struct enip_state *st = state;
    struct enip_slot *s;
    while ((s = oldest(st)) != NULL) flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_enip = {
    .name = "enip",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {ENIP_PORT, 0},
    .probe = enip_probe,
    .state_size = sizeof(struct enip_state),
    .parse = enip_parse,
    .datagram = enip_datagram,
    .gap = enip_gap,
    .flow_end = enip_flow_end,
};
