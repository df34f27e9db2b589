/* MQTT 3.1, 3.1.1 and 5.0 parser.
 *
 * Specifications:
 *   [V31]  MQTT V3.1 Protocol Specification (IBM/Eurotech, 2010): protocol name "MQIsdp",
 *          level 3; s.2 fixed header, s.3 messages.
 *   [V311] MQTT Version 3.1.1, OASIS Standard (2014): s.2.2 fixed header and the remaining
 *          length (at most 4 bytes, s.2.2.3), s.2.2.2 flags per packet type, s.3.1-3.14 control
 *          packets, s.3.2.2.3 CONNACK return codes, s.3.9.3 SUBACK return codes.
 *   [V5]   MQTT Version 5.0, OASIS Standard (2019): s.2.1.4 remaining length, s.2.2.2
 *          properties (variable byte integer length, s.2.2.2.2 the property table), s.2.4 reason
 *          codes, s.3.1-3.15 control packets (AUTH is new).
 *
 * Fixed header ([V311] s.2.2, [V5] s.2.1.1):
 *
 *   offset size meaning
 *   ------ ---- ---------------------------------------------------------------------------
 *        0    1 bits 7-4 packet type (1 CONNECT .. 14 DISCONNECT, 15 AUTH in v5), bits 3-0
 *               flags: PUBLISH DUP(3) QoS(2-1) RETAIN(0); PUBREL/SUBSCRIBE/UNSUBSCRIBE 0010;
 *               every other type 0000
 *        1  1-4 remaining length: base-128 digits, low first, bit 7 = more (max 268,435,455)
 *
 * The protocol level of CONNECT (3, 4 or 5) decides for the whole connection whether the
 * version 5 fields (properties, reason codes) are present. A capture that starts after the
 * CONNECT learns version 5 from a CONNACK longer than the 2 bytes of [V311] s.3.2; otherwise
 * it parses as 3.1.1.
 *
 * Pairing: CONNECT with CONNACK (one outstanding), SUBSCRIBE/SUBACK and UNSUBSCRIBE/UNSUBACK by
 * packet identifier, PINGREQ/PINGRESP in order, and a QoS 1 PUBLISH with its PUBACK or a QoS 2
 * PUBLISH with PUBREC, PUBREL and PUBCOMP by (sender, packet identifier): packet identifiers
 * are chosen independently by each side ([V311] s.2.3.1). A QoS 0 PUBLISH is its own record.
 *
 * Credentials: the CONNECT password is never copied or logged; only its presence is recorded.
 * The user name is recorded as present or not, never as text. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits -------------------------------------------------------------------------------- */

#define MQ_PORT 1883               /* IANA "mqtt" (8883 is MQTT over TLS: not ours) */
#define MQ_RL_BYTES_MAX 4          /* [V311] s.2.2.3 */
#define MQ_RL_MAX 268435455u       /* largest 4-byte remaining length */
/* Packets up to this size are parsed once complete (bounded well below the engine's 66 KiB
 * pending limit); larger ones (images, firmware over MQTT) are decoded from their first
 * MQ_PREFIX bytes, which hold every header field, and the payload streams past. */
#define MQ_WHOLE_MAX (32u * 1024u)
#define MQ_PREFIX (8u * 1024u)
/* Outstanding SUBSCRIBE/UNSUBSCRIBE and QoS 1/2 PUBLISH per flow; a client may have up to its
 * Receive Maximum (v5) in flight, brokers typically allow 10-20. Past this the oldest is
 * reported unanswered. */
#define MQ_QUEUE_MAX 32
#define MQ_PING_MAX 4              /* PINGREQs awaiting PINGRESP */
#define MQ_FILTERS_MAX 16          /* topic filters (or SUBACK codes) listed per packet */
#define MQ_POOL 384                /* bytes of topic text kept with a queued packet */
#define MQ_KEEP_STR 160            /* each kept string is cut here (the record says so) */

enum mq_type {
    MQ_CONNECT = 1, MQ_CONNACK, MQ_PUBLISH, MQ_PUBACK, MQ_PUBREC, MQ_PUBREL, MQ_PUBCOMP,
    MQ_SUBSCRIBE, MQ_SUBACK, MQ_UNSUBSCRIBE, MQ_UNSUBACK, MQ_PINGREQ, MQ_PINGRESP,
    MQ_DISCONNECT, MQ_AUTH,
};

struct mq_type_info {
    const char *name;
    uint8_t flags;    /* required flag bits; 0xFF: PUBLISH (any but QoS 3) */
    uint32_t ops;     /* as a request (client to broker) */
};

static const struct mq_type_info mq_types[16] = {
    [MQ_CONNECT] = {"connect", 0x0, QW_OP_SESSION},
    [MQ_CONNACK] = {"connack", 0x0, QW_OP_SESSION},
    [MQ_PUBLISH] = {"publish", 0xFF, QW_OP_WRITE},
    [MQ_PUBACK] = {"puback", 0x0, 0},
    [MQ_PUBREC] = {"pubrec", 0x0, 0},
    [MQ_PUBREL] = {"pubrel", 0x2, 0},
    [MQ_PUBCOMP] = {"pubcomp", 0x0, 0},
    [MQ_SUBSCRIBE] = {"subscribe", 0x2, QW_OP_READ},
    [MQ_SUBACK] = {"suback", 0x0, QW_OP_READ},
    [MQ_UNSUBSCRIBE] = {"unsubscribe", 0x2, QW_OP_READ},
    [MQ_UNSUBACK] = {"unsuback", 0x0, QW_OP_READ},
    [MQ_PINGREQ] = {"pingreq", 0x0, QW_OP_SESSION},
    [MQ_PINGRESP] = {"pingresp", 0x0, QW_OP_SESSION},
    [MQ_DISCONNECT] = {"disconnect", 0x0, QW_OP_SESSION},
    [MQ_AUTH] = {"auth", 0x0, QW_OP_AUTH},
};

/* CONNACK return codes of 3.1 and 3.1.1 ([V311] s.3.2.2.3). */
static const char *const mq_connack3_names[] = {
    [0] = "accepted",
    [1] = "unacceptable_protocol_version",
    [2] = "identifier_rejected",
    [3] = "server_unavailable",
    [4] = "bad_user_name_or_password",
    [5] = "not_authorized",
};

/* Version 5 reason codes ([V5] s.2.4). 0x00 is named per packet type (mq_reason_name). */
static const char *const mq_reason_names[256] = {
    [0x01] = "granted_qos_1",
    [0x02] = "granted_qos_2",
    [0x04] = "disconnect_with_will_message",
    [0x10] = "no_matching_subscribers",
    [0x11] = "no_subscription_existed",
    [0x18] = "continue_authentication",
    [0x19] = "re_authenticate",
    [0x80] = "unspecified_error",
    [0x81] = "malformed_packet",
    [0x82] = "protocol_error",
    [0x83] = "implementation_specific_error",
    [0x84] = "unsupported_protocol_version",
    [0x85] = "client_identifier_not_valid",
    [0x86] = "bad_user_name_or_password",
    [0x87] = "not_authorized",
    [0x88] = "server_unavailable",
    [0x89] = "server_busy",
    [0x8A] = "banned",
    [0x8B] = "server_shutting_down",
    [0x8C] = "bad_authentication_method",
    [0x8D] = "keep_alive_timeout",
    [0x8E] = "session_taken_over",
    [0x8F] = "topic_filter_invalid",
    [0x90] = "topic_name_invalid",
    [0x91] = "packet_identifier_in_use",
    [0x92] = "packet_identifier_not_found",
    [0x93] = "receive_maximum_exceeded",
    [0x94] = "topic_alias_invalid",
    [0x95] = "packet_too_large",
    [0x96] = "message_rate_too_high",
    [0x97] = "quota_exceeded",
    [0x98] = "administrative_action",
    [0x99] = "payload_format_invalid",
    [0x9A] = "retain_not_supported",
    [0x9B] = "qos_not_supported",
    [0x9C] = "use_another_server",
    [0x9D] = "server_moved",
    [0x9E] = "shared_subscriptions_not_supported",
    [0x9F] = "connection_rate_exceeded",
    [0xA0] = "maximum_connect_time",
    [0xA1] = "subscription_identifiers_not_supported",
    [0xA2] = "wildcard_subscriptions_not_supported",
};

/* Property value types ([V5] s.2.2.2.2). */
enum mq_ptype { MQ_P_NONE, MQ_P_BYTE, MQ_P_U16, MQ_P_U32, MQ_P_VARINT, MQ_P_STR, MQ_P_BIN,
                MQ_P_PAIR };

static const uint8_t mq_prop_types[0x2B] = {
    [0x01] = MQ_P_BYTE,   /* payload format indicator */
    [0x02] = MQ_P_U32,    /* message expiry interval */
    [0x03] = MQ_P_STR,    /* content type */
    [0x08] = MQ_P_STR,    /* response topic */
    [0x09] = MQ_P_BIN,    /* correlation data */
    [0x0B] = MQ_P_VARINT, /* subscription identifier */
    [0x11] = MQ_P_U32,    /* session expiry interval */
    [0x12] = MQ_P_STR,    /* assigned client identifier */
    [0x13] = MQ_P_U16,    /* server keep alive */
    [0x15] = MQ_P_STR,    /* authentication method */
    [0x16] = MQ_P_BIN,    /* authentication data */
    [0x17] = MQ_P_BYTE,   /* request problem information */
    [0x18] = MQ_P_U32,    /* will delay interval */
    [0x19] = MQ_P_BYTE,   /* request response information */
    [0x1A] = MQ_P_STR,    /* response information */
    [0x1C] = MQ_P_STR,    /* server reference */
    [0x1F] = MQ_P_STR,    /* reason string */
    [0x21] = MQ_P_U16,    /* receive maximum */
    [0x22] = MQ_P_U16,    /* topic alias maximum */
    [0x23] = MQ_P_U16,    /* topic alias */
    [0x24] = MQ_P_BYTE,   /* maximum QoS */
    [0x25] = MQ_P_BYTE,   /* retain available */
    [0x26] = MQ_P_PAIR,   /* user property */
    [0x27] = MQ_P_U32,    /* maximum packet size */
    [0x28] = MQ_P_BYTE,   /* wildcard subscription available */
    [0x29] = MQ_P_BYTE,   /* subscription identifier available */
    [0x2A] = MQ_P_BYTE,   /* shared subscription available */
};

#define MQ_PROP_CONTENT_TYPE 0x03
#define MQ_PROP_RESPONSE_TOPIC 0x08
#define MQ_PROP_SESSION_EXPIRY 0x11
#define MQ_PROP_ASSIGNED_ID 0x12
#define MQ_PROP_AUTH_METHOD 0x15
#define MQ_PROP_REASON_STRING 0x1F
#define MQ_PROP_TOPIC_ALIAS 0x23
#define MQ_PROP_USER 0x26

/* ---- Decoded packet ------------------------------------------------------------------------ */

struct mq_ref {
    const uint8_t *p;
    uint16_t len;
    uint16_t full;
    bool present;
};

struct mq_filter {
    struct mq_ref topic;
    uint8_t options; /* SUBSCRIBE: requested QoS (bits 0-1) and v5 options */
};

enum mq_field {
    MQ_F_PID = 1u << 0,
    MQ_F_REASON = 1u << 1,     /* v5 reason code, or 3.x CONNACK return code */
    MQ_F_CONNECT = 1u << 2,
    MQ_F_CONNACK = 1u << 3,
    MQ_F_PUBLISH = 1u << 4,
    MQ_F_FILTERS = 1u << 5,
    MQ_F_CODES = 1u << 6,
    MQ_F_PROPS = 1u << 7,
};

struct mq_pkt {
    uint8_t type, flags;
    uint32_t rl;             /* remaining length */
    uint32_t fields;
    bool truncated, invalid, kept_cut;
    uint16_t pid;
    uint8_t reason;
    /* CONNECT */
    struct mq_ref proto_name, client_id, will_topic;
    uint8_t level, connect_flags;
    uint16_t keep_alive;
    /* CONNACK */
    bool session_present;
    /* PUBLISH */
    struct mq_ref topic;
    uint32_t payload_len;
    /* SUBSCRIBE / UNSUBSCRIBE / SUBACK / UNSUBACK */
    uint16_t nitems;         /* filters or codes in the packet */
    uint8_t nkept;
    struct mq_filter filters[MQ_FILTERS_MAX];
    uint8_t codes[MQ_FILTERS_MAX];
    /* v5 properties */
    uint16_t nprops, nuser_props;
    uint32_t session_expiry;
    bool has_session_expiry;
    uint16_t topic_alias;
    struct mq_ref content_type, response_topic, assigned_id, auth_method, reason_string;
};

struct mq_view {
    const struct mq_pkt *req, *rsp, *rel, *comp;
};

/* The numbers of an intermediate QoS 2 packet (PUBREC, PUBREL): all its record shows. */
struct mq_mini {
    uint8_t type, flags, reason;
    uint16_t pid, nprops;
    uint32_t rl, fields;
};

struct mq_slot {
    bool used;
    uint8_t dir;        /* direction of the request */
    uint8_t type;       /* PUBLISH, SUBSCRIBE, UNSUBSCRIBE */
    uint8_t stage;      /* PUBLISH QoS 2: 0 sent, 1 PUBREC seen, 2 PUBREL seen */
    uint16_t pid;
    uint32_t seq;
    uint64_t ts_ns;
    struct mq_pkt req;
    struct mq_mini rec, rel; /* QoS 2 intermediate packets */
    uint16_t pool_len;
    uint8_t pool[MQ_POOL];
};

struct mq_state {
    uint8_t version;          /* 0 unknown, else the CONNECT protocol level (3, 4, 5) */
    bool resync[2];
    bool synced[2];
    uint32_t skip[2];         /* payload bytes of a large packet still to pass */
    bool queue_full_reported;
    bool conn_used;
    uint8_t conn_dir;
    uint64_t conn_ts;
    struct mq_slot conn;      /* CONNECT awaiting CONNACK */
    uint8_t nping;
    uint64_t ping_ts[MQ_PING_MAX];
    uint32_t next_seq;
    uint8_t nqueued;
    struct mq_slot queue[MQ_QUEUE_MAX];
    struct mq_pkt scratch;
    struct mq_pkt xrec, xrel; /* mq_mini expanded for writing */
    struct mq_view view;
};

/* ---- Readers ------------------------------------------------------------------------------- */

struct mq_dec {
    struct qw_cursor c;
    struct mq_pkt *p;
    uint8_t version;
};

static void mq_invalid(struct mq_dec *d)
{
    d->p->invalid = true;
    d->c.err = true;
}

/* UTF-8 string or binary data: 2-byte big-endian length and bytes ([V311] s.1.5.3). */
static void mq_str(struct mq_dec *d, struct mq_ref *r)
{
    memset(r, 0, sizeof *r);
    uint16_t n = qw_cur_be16(&d->c);
    const uint8_t *p = qw_cur_take(&d->c, n);
    if (!p) return;
    *r = (struct mq_ref){p, n, n, true};
}

/* Variable byte integer, at most 4 bytes ([V5] s.1.5.5). */
static uint32_t mq_varint(struct qw_cursor *c, bool *bad)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < MQ_RL_BYTES_MAX; i++) {
        uint8_t b = qw_cur_u8(c);
        if (c->err) return 0;
        v |= (uint32_t)(b & 0x7Fu) << (7 * i);
        if (!(b & 0x80u)) return v;
    }
    if (bad) *bad = true;
    c->err = true;
    return 0;
}

/* Version 5 properties: length, then identifier/value pairs. Unknown identifiers make the rest
 * unreadable: the property block is skipped by its length and the packet marked invalid. */
static void mq_props(struct mq_dec *d)
{
    if (d->version != 5) return;
    bool bad = false;
    uint32_t len = mq_varint(&d->c, &bad);
    if (bad) {
        mq_invalid(d);
        return;
    }
    if (d->c.err) return;
    bool cut = false;
    struct qw_cursor pc = qw_cur_sub(&d->c, len, &cut);
    if (cut) d->c.err = true;
    struct mq_pkt *p = d->p;
    p->fields |= MQ_F_PROPS;
    struct mq_dec pd = {pc, p, 5};
    while (qw_cur_left(&pd.c) > 0) {
        uint32_t id = mq_varint(&pd.c, &bad);
        if (pd.c.err) break;
        uint8_t t = id < sizeof mq_prop_types ? mq_prop_types[id] : MQ_P_NONE;
        struct mq_ref r;
        uint32_t v = 0;
        switch (t) {
        case MQ_P_BYTE: v = qw_cur_u8(&pd.c); break;
        case MQ_P_U16: v = qw_cur_be16(&pd.c); break;
        case MQ_P_U32: v = qw_cur_be32(&pd.c); break;
        case MQ_P_VARINT: v = mq_varint(&pd.c, &bad); break;
        case MQ_P_STR:
        case MQ_P_BIN: mq_str(&pd, &r); break;
        case MQ_P_PAIR:
            mq_str(&pd, &r);
            mq_str(&pd, &r);
            break;
        default:
            p->invalid = true;
            return;
        }
        if (pd.c.err) break;
        p->nprops++;
        switch (id) {
        case MQ_PROP_CONTENT_TYPE: p->content_type = r; break;
        case MQ_PROP_RESPONSE_TOPIC: p->response_topic = r; break;
        case MQ_PROP_ASSIGNED_ID: p->assigned_id = r; break;
        case MQ_PROP_AUTH_METHOD: p->auth_method = r; break;
        case MQ_PROP_REASON_STRING: p->reason_string = r; break;
        case MQ_PROP_TOPIC_ALIAS: p->topic_alias = (uint16_t)v; break;
        case MQ_PROP_USER: p->nuser_props++; break;
        case MQ_PROP_SESSION_EXPIRY:
            p->session_expiry = v;
            p->has_session_expiry = true;
            break;
        default: break;
        }
    }
    if (pd.c.err) {
        if (bad) p->invalid = true;
        else d->c.err = true; /* a property ran past its block */
    }
}

static uint8_t mq_qos(const struct mq_pkt *p)
{
    return (uint8_t)((p->flags >> 1) & 3u);
}

/* Decode the variable header and payload of one packet (the bytes after the fixed header;
 * `whole` false when only a prefix of a large packet is there). */
static void mq_decode(struct mq_pkt *p, uint8_t version, const uint8_t *b, size_t n, bool whole)
{
    struct mq_dec d = {qw_cursor_make(b, n), p, version};
    switch (p->type) {
    case MQ_CONNECT: {
        mq_str(&d, &p->proto_name);
        p->level = qw_cur_u8(&d.c);
        p->connect_flags = qw_cur_u8(&d.c);
        p->keep_alive = qw_cur_be16(&d.c);
        if (d.c.err) break;
        p->fields |= MQ_F_CONNECT;
        if (p->connect_flags & 0x01u) p->invalid = true; /* reserved bit ([V311] s.3.1.2.3) */
        d.version = p->level; /* this packet is read with the level it declares */
        mq_props(&d);
        mq_str(&d, &p->client_id);
        if (p->connect_flags & 0x04u) {
            if (d.version == 5) {
                struct mq_pkt will; /* will properties: parsed to be skipped */
                memset(&will, 0, sizeof will);
                struct mq_dec wd = {d.c, &will, 5};
                mq_props(&wd);
                d.c = wd.c;
                if (will.invalid) p->invalid = true;
            }
            mq_str(&d, &p->will_topic);
            struct mq_ref msg;
            mq_str(&d, &msg);
        }
        struct mq_ref skip;
        if (p->connect_flags & 0x80u) mq_str(&d, &skip); /* user name: presence only */
        if (p->connect_flags & 0x40u) mq_str(&d, &skip); /* password: skipped unread */
        break;
    }
    case MQ_CONNACK:
        p->session_present = qw_cur_u8(&d.c) & 0x01u;
        p->reason = qw_cur_u8(&d.c);
        if (d.c.err) break;
        p->fields |= MQ_F_CONNACK | MQ_F_REASON;
        mq_props(&d);
        break;
    case MQ_PUBLISH:
        mq_str(&d, &p->topic);
        if (mq_qos(p) > 0) {
            p->pid = qw_cur_be16(&d.c);
            if (!d.c.err) p->fields |= MQ_F_PID;
        }
        mq_props(&d);
        if (d.c.err) break;
        p->fields |= MQ_F_PUBLISH;
        p->payload_len = p->rl - (uint32_t)d.c.off;
        return; /* the payload is opaque application data */
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
    case MQ_UNSUBACK:
    case MQ_SUBACK:
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE:
        p->pid = qw_cur_be16(&d.c);
        if (d.c.err) break;
        p->fields |= MQ_F_PID;
        if (p->type <= MQ_PUBCOMP) {
            /* v5: reason code and properties, both optional ([V5] s.3.4.2.1) */
            if (version == 5 && qw_cur_left(&d.c) > 0) {
                p->reason = qw_cur_u8(&d.c);
                p->fields |= MQ_F_REASON;
                if (qw_cur_left(&d.c) > 0) mq_props(&d);
            }
            break;
        }
        if (p->type == MQ_SUBACK || p->type == MQ_UNSUBACK) {
            mq_props(&d);
            if (d.c.err || (p->type == MQ_UNSUBACK && version != 5)) break;
            p->fields |= MQ_F_CODES;
            while (qw_cur_left(&d.c) > 0) {
                uint8_t code = qw_cur_u8(&d.c);
                if (p->nkept < MQ_FILTERS_MAX) p->codes[p->nkept++] = code;
                p->nitems++;
            }
            break;
        }
        mq_props(&d);
        if (d.c.err) break;
        p->fields |= MQ_F_FILTERS;
        while (qw_cur_left(&d.c) > 0) {
            struct mq_filter f = {0};
            mq_str(&d, &f.topic);
            if (p->type == MQ_SUBSCRIBE) f.options = qw_cur_u8(&d.c);
            if (d.c.err) break;
            if (p->nkept < MQ_FILTERS_MAX) p->filters[p->nkept++] = f;
            p->nitems++;
        }
        if (p->nitems == 0 && !d.c.err) p->invalid = true; /* at least one ([V311] s.3.8.3) */
        break;
    case MQ_DISCONNECT:
    case MQ_AUTH:
        if (version == 5 && qw_cur_left(&d.c) > 0) {
            p->reason = qw_cur_u8(&d.c);
            p->fields |= MQ_F_REASON;
            if (qw_cur_left(&d.c) > 0) mq_props(&d);
        }
        break;
    default: break;
    }
    /* Running out of a large packet's prefix view is not truncation. */
    if (d.c.err && !p->invalid && whole) p->truncated = true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static const char *mq_reason_name(const struct mq_pkt *p, uint8_t version)
{
    uint8_t code = p->reason;
    if (p->type == MQ_CONNACK && version != 5) {
        if (code < sizeof mq_connack3_names / sizeof mq_connack3_names[0])
            return mq_connack3_names[code];
        return "unknown";
    }
    if (code == 0) {
        switch (p->type) {
        case MQ_DISCONNECT: return "normal_disconnection";
        case MQ_SUBACK: return "granted_qos_0";
        default: return "success";
        }
    }
    return mq_reason_names[code] ? mq_reason_names[code] : "unknown";
}

static const char *mq_suback_name(uint8_t code, uint8_t version)
{
    if (code <= 2 || version == 5) {
        struct mq_pkt t = {.type = MQ_SUBACK, .reason = code};
        return mq_reason_name(&t, 5);
    }
    return code == 0x80 ? "failure" : "unknown";
}

static void mq_json_ref(struct qw_json *j, const char *key, const struct mq_ref *r)
{
    if (r->present) qw_json_strn(j, key, r->p, r->len);
}

struct mq_json_arg {
    const struct mq_view *v;
    uint8_t version;
};

static void mq_json_pkt(struct qw_json *j, const char *key, const struct mq_pkt *p,
                        uint8_t version)
{
    uint32_t f = p->fields;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", p->type);
    qw_json_str(j, "function_name", mq_types[p->type].name ? mq_types[p->type].name : "reserved");
    qw_json_u64(j, "flags", p->flags);
    qw_json_u64(j, "remaining_length", p->rl);
    if (f & MQ_F_PID) qw_json_u64(j, "packet_id", p->pid);
    if (f & MQ_F_CONNECT) {
        mq_json_ref(j, "protocol_name", &p->proto_name);
        qw_json_u64(j, "protocol_level", p->level);
        qw_json_str(j, "protocol_version", p->level == 3   ? "3.1"
                                           : p->level == 4 ? "3.1.1"
                                           : p->level == 5 ? "5.0"
                                                           : "unknown");
        qw_json_bool(j, "clean_session", (p->connect_flags & 0x02u) != 0);
        qw_json_u64(j, "keep_alive", p->keep_alive);
        mq_json_ref(j, "client_id", &p->client_id);
        qw_json_bool(j, "username_present", (p->connect_flags & 0x80u) != 0);
        qw_json_bool(j, "password_present", (p->connect_flags & 0x40u) != 0);
        bool will = (p->connect_flags & 0x04u) != 0;
        qw_json_bool(j, "will", will);
        if (will) {
            qw_json_u64(j, "will_qos", (p->connect_flags >> 3) & 3u);
            qw_json_bool(j, "will_retain", (p->connect_flags & 0x20u) != 0);
            mq_json_ref(j, "will_topic", &p->will_topic);
        }
    }
    if (f & MQ_F_CONNACK) qw_json_bool(j, "session_present", p->session_present);
    if (f & MQ_F_REASON) {
        qw_json_u64(j, "reason_code", p->reason);
        qw_json_str(j, "reason_name", mq_reason_name(p, version));
    }
    if (p->type == MQ_PUBLISH) {
        mq_json_ref(j, "topic", &p->topic);
        qw_json_u64(j, "qos", mq_qos(p));
        qw_json_bool(j, "retain", (p->flags & 0x01u) != 0);
        qw_json_bool(j, "dup", (p->flags & 0x08u) != 0);
        if (f & MQ_F_PUBLISH) qw_json_u64(j, "payload_length", p->payload_len);
    }
    if (f & MQ_F_FILTERS) {
        qw_json_u64(j, "filters_count", p->nitems);
        qw_json_arr_begin(j, "filters");
        for (unsigned i = 0; i < p->nkept; i++) {
            qw_json_obj_begin(j, NULL);
            mq_json_ref(j, "topic", &p->filters[i].topic);
            if (p->type == MQ_SUBSCRIBE) {
                qw_json_u64(j, "qos", p->filters[i].options & 3u);
                if (version == 5) qw_json_u64(j, "options", p->filters[i].options);
            }
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (f & MQ_F_CODES) {
        qw_json_arr_begin(j, "codes");
        for (unsigned i = 0; i < p->nkept; i++) {
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "code", p->codes[i]);
            if (p->type == MQ_SUBACK) qw_json_str(j, "name", mq_suback_name(p->codes[i], version));
            else {
                struct mq_pkt t = {.type = MQ_UNSUBACK, .reason = p->codes[i]};
                qw_json_str(j, "name", mq_reason_name(&t, 5));
            }
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (f & MQ_F_PROPS) {
        qw_json_u64(j, "properties_count", p->nprops);
        if (p->nuser_props) qw_json_u64(j, "user_properties_count", p->nuser_props);
        if (p->has_session_expiry) qw_json_u64(j, "session_expiry_interval", p->session_expiry);
        if (p->topic_alias) qw_json_u64(j, "topic_alias", p->topic_alias);
        mq_json_ref(j, "content_type", &p->content_type);
        mq_json_ref(j, "response_topic", &p->response_topic);
        mq_json_ref(j, "assigned_client_id", &p->assigned_id);
        mq_json_ref(j, "authentication_method", &p->auth_method);
        mq_json_ref(j, "reason_string", &p->reason_string);
    }
    if (p->kept_cut) qw_json_bool(j, "strings_cut", true);
    if (p->truncated) qw_json_bool(j, "truncated", true);
    if (p->invalid) qw_json_bool(j, "invalid", true);
    qw_json_obj_end(j);
}

static void mq_write_json(struct qw_json *j, const void *arg)
{
    const struct mq_json_arg *a = arg;
    if (a->v->req) mq_json_pkt(j, "request", a->v->req, a->version);
    if (a->v->rsp) mq_json_pkt(j, "response", a->v->rsp, a->version);
    if (a->v->rel) mq_json_pkt(j, "release", a->v->rel, a->version);
    if (a->v->comp) mq_json_pkt(j, "complete", a->v->comp, a->version);
}

/* ---- Emission and pairing ------------------------------------------------------------------ */

static bool mq_is_error(const struct mq_pkt *p, uint8_t version)
{
    if (!p) return false;
    if (p->type == MQ_CONNACK) return p->reason != 0;
    if ((p->fields & MQ_F_REASON) && p->reason >= 0x80) return true;
    if (p->type == MQ_SUBACK)
        for (unsigned i = 0; i < p->nkept; i++)
            if (p->codes[i] >= 0x80) return true;
    if (p->type == MQ_UNSUBACK && version == 5)
        for (unsigned i = 0; i < p->nkept; i++)
            if (p->codes[i] >= 0x80) return true;
    return false;
}

static uint32_t mq_ops(const struct mq_pkt *p, bool from_client)
{
    uint32_t ops = mq_types[p->type].ops;
    if (p->type == MQ_PUBLISH && !from_client) ops = 0; /* the broker delivering a message */
    if (p->type == MQ_CONNECT && (p->connect_flags & 0x80u)) ops |= QW_OP_AUTH;
    return ops;
}

/* `key_from_client`: the first packet of the record (request, else response) was sent by the
 * MQTT client. */
static void mq_emit(struct qw_pctx *ctx, struct mq_state *st, const struct mq_pkt *req,
                    uint64_t req_ns, bool key_from_client, const struct mq_pkt *rsp,
                    uint64_t rsp_ns, const struct mq_pkt *rel, const struct mq_pkt *comp)
{
    const struct mq_pkt *key = req ? req : rsp;
    st->view = (struct mq_view){req, rsp, rel, comp};
    struct mq_json_arg arg = {&st->view, st->version};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL || comp != NULL;
    t.function = key->type;
    t.function_name = mq_types[key->type].name ? mq_types[key->type].name : "reserved";
    t.ops = mq_ops(key, key_from_client);
    t.error = mq_is_error(rsp, st->version) || mq_is_error(comp, st->version) ||
              mq_is_error(rel, st->version);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = comp ? rsp_ns : rsp ? rsp_ns : 0;
    t.write_json = mq_write_json;
    t.arg = &arg;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
}

static void mq_keep(struct mq_slot *s, struct mq_pkt *p, struct mq_ref *r)
{
    if (!r->present) return;
    size_t room = MQ_POOL - s->pool_len;
    size_t n = r->len;
    if (n > MQ_KEEP_STR) n = MQ_KEEP_STR;
    if (n > room) n = room;
    if (n < r->len) p->kept_cut = true;
    memcpy(s->pool + s->pool_len, r->p, n);
    r->p = s->pool + s->pool_len;
    r->len = (uint16_t)n;
    s->pool_len = (uint16_t)(s->pool_len + n);
}

static void mq_slot_fill(struct mq_slot *s, const struct mq_pkt *p)
{
    s->req = *p;
    s->pool_len = 0;
    struct mq_pkt *q = &s->req;
    mq_keep(s, q, &q->proto_name);
    mq_keep(s, q, &q->client_id);
    mq_keep(s, q, &q->topic);
    mq_keep(s, q, &q->will_topic);
    for (unsigned i = 0; i < q->nkept; i++) mq_keep(s, q, &q->filters[i].topic);
    mq_keep(s, q, &q->content_type);
    mq_keep(s, q, &q->response_topic);
    mq_keep(s, q, &q->auth_method);
    mq_keep(s, q, &q->reason_string);
    memset(&q->assigned_id, 0, sizeof q->assigned_id);
}

static struct mq_slot *mq_oldest(struct mq_state *st)
{
    struct mq_slot *best = NULL;
    for (size_t i = 0; i < MQ_QUEUE_MAX; i++) {
        struct mq_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct mq_slot *mq_find(struct mq_state *st, uint8_t req_dir, uint8_t type, uint16_t pid)
{
    struct mq_slot *best = NULL;
    for (size_t i = 0; i < MQ_QUEUE_MAX; i++) {
        struct mq_slot *s = &st->queue[i];
        if (!s->used || s->dir != req_dir || s->type != type || s->pid != pid) continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static bool mq_from_client(const struct mq_state *st, uint8_t dir)
{
    /* The side that sent CONNECT is the MQTT client; before one is seen conn_dir is zero,
     * i.e. the TCP client. */
    return dir == st->conn_dir;
}

static struct mq_mini mq_shrink(const struct mq_pkt *p)
{
    struct mq_mini m = {p->type, p->flags, p->reason, p->pid, p->nprops, p->rl,
                        p->fields & (MQ_F_PID | MQ_F_REASON | MQ_F_PROPS)};
    return m;
}

static const struct mq_pkt *mq_expand(struct mq_pkt *out, const struct mq_mini *m)
{
    memset(out, 0, sizeof *out);
    out->type = m->type;
    out->flags = m->flags;
    out->reason = m->reason;
    out->pid = m->pid;
    out->nprops = m->nprops;
    out->rl = m->rl;
    out->fields = m->fields;
    return out;
}

static void mq_flush_slot(struct qw_pctx *ctx, struct mq_state *st, struct mq_slot *s)
{
    const struct mq_pkt *rec = s->stage >= 1 ? mq_expand(&st->xrec, &s->rec) : NULL;
    const struct mq_pkt *rel = s->stage >= 2 ? mq_expand(&st->xrel, &s->rel) : NULL;
    mq_emit(ctx, st, &s->req, s->ts_ns, mq_from_client(st, s->dir), rec, s->ts_ns, rel, NULL);
    s->used = false;
    st->nqueued--;
}

static void mq_queue(struct qw_pctx *ctx, struct mq_state *st, uint8_t dir, const struct mq_pkt *p)
{
    struct mq_slot *old = st->nqueued >= MQ_QUEUE_MAX ? mq_oldest(st) : NULL;
    if (old) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "mqtt.request_queue_full", NULL);
        st->queue_full_reported = true;
        mq_flush_slot(ctx, st, old);
    }
    struct mq_slot *s = NULL;
    for (size_t i = 0; i < MQ_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return;
    s->used = true;
    s->dir = dir;
    s->type = p->type;
    s->stage = 0;
    s->pid = p->pid;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    mq_slot_fill(s, p);
    st->nqueued++;
}

/* Report the oldest outstanding PINGREQ without its answer. */
static void mq_ping_unanswered(struct qw_pctx *ctx, struct mq_state *st)
{
    struct mq_pkt q = {.type = MQ_PINGREQ};
    mq_emit(ctx, st, &q, st->ping_ts[0], true, NULL, 0, NULL, NULL);
    memmove(st->ping_ts, st->ping_ts + 1, sizeof st->ping_ts[0] * (MQ_PING_MAX - 1));
    st->nping--;
}

static void mq_on_packet(struct qw_pctx *ctx, struct mq_state *st, uint8_t dir, struct mq_pkt *p)
{
    uint64_t now = qw_pctx_time(ctx);
    uint8_t other = dir ^ 1u;
    switch (p->type) {
    case MQ_CONNECT:
        if (p->fields & MQ_F_CONNECT) {
            if (p->level >= 3 && p->level <= 5) st->version = p->level;
            if (p->client_id.present && p->client_id.len > 0)
                qw_emit_identity(ctx, dir == QW_DIR_TO_CLIENT, "mqtt_client_id",
                                 (const char *)p->client_id.p, p->client_id.len);
        }
        if (st->conn_used) mq_emit(ctx, st, &st->conn.req, st->conn_ts, true, NULL, 0, NULL, NULL);
        mq_slot_fill(&st->conn, p);
        st->conn_used = true;
        st->conn_dir = dir;
        st->conn_ts = now;
        return;
    case MQ_CONNACK:
        if (st->conn_used) {
            st->conn_used = false;
            mq_emit(ctx, st, &st->conn.req, st->conn_ts, true, p, now, NULL, NULL);
        } else {
            mq_emit(ctx, st, NULL, 0, mq_from_client(st, dir), p, now, NULL, NULL);
        }
        if ((p->fields & MQ_F_PROPS) && p->assigned_id.present && p->assigned_id.len > 0)
            qw_emit_identity(ctx, dir != QW_DIR_TO_CLIENT, "mqtt_client_id",
                             (const char *)p->assigned_id.p, p->assigned_id.len);
        return;
    case MQ_PUBLISH:
        if (mq_qos(p) == 0 || !(p->fields & MQ_F_PID))
            mq_emit(ctx, st, p, now, mq_from_client(st, dir), NULL, 0, NULL, NULL);
        else
            mq_queue(ctx, st, dir, p);
        return;
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE:
        if (p->fields & MQ_F_PID) mq_queue(ctx, st, dir, p);
        else mq_emit(ctx, st, p, now, mq_from_client(st, dir), NULL, 0, NULL, NULL);
        return;
    case MQ_PINGREQ:
        if (st->nping == MQ_PING_MAX) mq_ping_unanswered(ctx, st); /* the oldest never was */
        st->ping_ts[st->nping++] = now;
        return;
    case MQ_PINGRESP:
        if (st->nping > 0) {
            struct mq_pkt q = {.type = MQ_PINGREQ};
            uint64_t ts = st->ping_ts[0];
            memmove(st->ping_ts, st->ping_ts + 1, sizeof st->ping_ts[0] * (MQ_PING_MAX - 1));
            st->nping--;
            mq_emit(ctx, st, &q, ts, true, p, now, NULL, NULL);
        } else {
            mq_emit(ctx, st, NULL, 0, false, p, now, NULL, NULL);
        }
        return;
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBCOMP:
    case MQ_SUBACK:
    case MQ_UNSUBACK: {
        uint8_t want = p->type == MQ_SUBACK     ? MQ_SUBSCRIBE
                       : p->type == MQ_UNSUBACK ? MQ_UNSUBSCRIBE
                                                : MQ_PUBLISH;
        struct mq_slot *s = (p->fields & MQ_F_PID) ? mq_find(st, other, want, p->pid) : NULL;
        if (s && want == MQ_PUBLISH) {
            uint8_t qos = mq_qos(&s->req);
            bool fits = (p->type == MQ_PUBACK && qos == 1) ||
                        (p->type == MQ_PUBREC && qos == 2 && s->stage == 0) ||
                        (p->type == MQ_PUBCOMP && qos == 2 && s->stage >= 1);
            if (!fits) s = NULL;
        }
        if (!s) {
            mq_emit(ctx, st, NULL, 0, mq_from_client(st, dir), p, now, NULL, NULL);
            return;
        }
        if (p->type == MQ_PUBREC && !mq_is_error(p, st->version)) {
            s->rec = mq_shrink(p);
            s->stage = 1;
            return;
        }
        const struct mq_pkt *rec = s->stage >= 1 ? mq_expand(&st->xrec, &s->rec) : NULL;
        const struct mq_pkt *rel = s->stage >= 2 ? mq_expand(&st->xrel, &s->rel) : NULL;
        if (p->type == MQ_PUBCOMP)
            mq_emit(ctx, st, &s->req, s->ts_ns, mq_from_client(st, s->dir), rec, now, rel, p);
        else
            mq_emit(ctx, st, &s->req, s->ts_ns, mq_from_client(st, s->dir), p, now, NULL, NULL);
        s->used = false;
        st->nqueued--;
        return;
    }
    case MQ_PUBREL: {
        struct mq_slot *s = (p->fields & MQ_F_PID) ? mq_find(st, dir, MQ_PUBLISH, p->pid) : NULL;
        if (s && s->stage == 1) {
            s->rel = mq_shrink(p);
            s->stage = 2;
            return;
        }
        mq_emit(ctx, st, p, now, mq_from_client(st, dir), NULL, 0, NULL, NULL);
        return;
    }
    default:
        /* DISCONNECT, AUTH and reserved types: their own record */
        mq_emit(ctx, st, p, now, mq_from_client(st, dir), NULL, 0, NULL, NULL);
        return;
    }
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* Fixed-header check shared by probe, parse and resync. Returns the header length (2..5), 0
 * when the bytes are not a valid header, or -1 when more bytes are needed to tell. */
static int mq_header(const uint8_t *b, size_t n, uint8_t version, uint32_t *rl_out)
{
    if (n < 1) return -1;
    uint8_t type = b[0] >> 4, flags = b[0] & 0x0Fu;
    if (type == 0 || (type == MQ_AUTH && version != 0 && version != 5)) return 0;
    uint8_t want = mq_types[type].flags;
    if (want == 0xFF) {
        if (((flags >> 1) & 3u) == 3u) return 0; /* QoS 3 is malformed */
    } else if (flags != want) {
        return 0;
    }
    uint32_t rl = 0;
    for (unsigned i = 0; i < MQ_RL_BYTES_MAX; i++) {
        if (n < 2 + i) return -1;
        uint8_t d = b[1 + i];
        rl |= (uint32_t)(d & 0x7Fu) << (7 * i);
        if (!(d & 0x80u)) {
            if (rl_out) *rl_out = rl;
            return (int)(2 + i);
        }
    }
    return 0; /* a fifth length byte */
}

/* Structural check of a complete packet, stricter than mq_decode (for probing and resync):
 * exact lengths where the spec fixes them, valid reason codes, and a topic of visible text. */
static bool mq_strict(const uint8_t *b, size_t hl, uint32_t rl, bool *v5)
{
    uint8_t type = b[0] >> 4;
    struct qw_cursor c = qw_cursor_make(b + hl, rl);
    switch (type) {
    case MQ_CONNACK: {
        uint8_t fl = qw_cur_u8(&c);
        uint8_t rc = qw_cur_u8(&c);
        if (c.err || (fl & 0xFEu)) return false;
        if (rl == 2) return rc <= 5 || mq_reason_names[rc] != NULL;
        bool bad = false;
        uint32_t plen = mq_varint(&c, &bad);
        if (c.err || plen != qw_cur_left(&c)) return false;
        if (rc != 0 && !mq_reason_names[rc]) return false;
        if (v5) *v5 = true;
        return true;
    }
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
    case MQ_UNSUBACK:
        return rl >= 2;
    case MQ_PINGREQ:
    case MQ_PINGRESP: return rl == 0;
    case MQ_DISCONNECT: return rl == 0 || (rl >= 1 && (b[hl] == 0 || mq_reason_names[b[hl]]));
    case MQ_PUBLISH:
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE: {
        if (type != MQ_PUBLISH) qw_cur_skip(&c, 2);
        uint16_t tl = qw_cur_be16(&c);
        const uint8_t *t = qw_cur_take(&c, tl);
        if (!t || tl == 0) return false;
        for (uint16_t i = 0; i < tl; i++)
            if (t[i] < 0x20 || t[i] == 0x7F) return false;
        return true;
    }
    default: return true;
    }
}

static enum qw_probe_result mq_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    uint32_t rl = 0;
    int hl = mq_header(data, len, 0, &rl);
    if (hl == 0) return QW_PROBE_NO;
    if (hl < 0) return QW_PROBE_NEED_MORE;
    uint8_t type = data[0] >> 4;
    if (type == MQ_CONNECT) {
        /* Protocol name "MQTT" (levels 4, 5) or "MQIsdp" (level 3). */
        static const uint8_t mqtt[] = {0, 4, 'M', 'Q', 'T', 'T'};
        static const uint8_t mqisdp[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p'};
        const uint8_t *v = data + hl;
        size_t have = len - (size_t)hl;
        bool m4 = memcmp(v, mqtt, have < sizeof mqtt ? have : sizeof mqtt) == 0;
        bool m3 = memcmp(v, mqisdp, have < sizeof mqisdp ? have : sizeof mqisdp) == 0;
        if (!m4 && !m3) return QW_PROBE_NO;
        size_t lvl_at = m4 ? sizeof mqtt : sizeof mqisdp;
        if (have <= lvl_at) return QW_PROBE_NEED_MORE;
        uint8_t level = v[lvl_at];
        if (m4 && level != 4 && level != 5) return QW_PROBE_NO;
        if (m3 && level != 3) return QW_PROBE_NO;
        return QW_PROBE_MATCH;
    }
    /* A capture that starts mid-connection: accept a PUBLISH/SUBSCRIBE with a visible topic, a
     * version 5 CONNACK whose property length adds up, or two packets in a row that each pass
     * the strict check. */
    size_t off = 0;
    unsigned good = 0;
    while (off < len) {
        rl = 0;
        hl = mq_header(data + off, len - off, 0, &rl);
        if (hl == 0) return QW_PROBE_NO;
        if (hl < 0) break;
        uint8_t t = data[off] >> 4;
        size_t end = off + (size_t)hl + rl;
        if (end > len) {
            /* Incomplete: decide on the topic once it is visible. */
            if (good == 0 && (t == MQ_PUBLISH || t == MQ_SUBSCRIBE || t == MQ_UNSUBSCRIBE)) {
                size_t vis = len - off - (size_t)hl;
                struct qw_cursor c = qw_cursor_make(data + off + hl, vis);
                if (t != MQ_PUBLISH) qw_cur_skip(&c, 2);
                uint16_t tl = qw_cur_be16(&c);
                if (!c.err && qw_cur_left(&c) >= tl) {
                    if (tl > rl) return QW_PROBE_NO;
                    return mq_strict(data + off, (size_t)hl, (uint32_t)vis, NULL)
                               ? QW_PROBE_MATCH
                               : QW_PROBE_NO;
                }
            }
            break;
        }
        bool v5 = false;
        if (!mq_strict(data + off, (size_t)hl, rl, &v5)) return QW_PROBE_NO;
        if (v5 || t == MQ_PUBLISH || t == MQ_SUBSCRIBE || t == MQ_UNSUBSCRIBE) return QW_PROBE_MATCH;
        if (++good >= 2) return QW_PROBE_MATCH;
        off = end;
    }
    return QW_PROBE_NEED_MORE;
}

static bool mq_plausible(const struct mq_state *st, const uint8_t *b, size_t n, bool *wait)
{
    uint32_t rl = 0;
    *wait = false;
    int hl = mq_header(b, n, st->version, &rl);
    if (hl == 0) return false;
    if (hl < 0) {
        *wait = true;
        return false;
    }
    size_t end = (size_t)hl + rl;
    if (end > n) {
        *wait = end <= MQ_WHOLE_MAX;
        return !*wait;
    }
    if (!mq_strict(b, (size_t)hl, rl, NULL)) return false;
    if (end == n) return true;
    uint32_t rl2;
    int h2 = mq_header(b + end, n - end, st->version, &rl2);
    return h2 != 0;
}

static void mq_packet(struct qw_pctx *ctx, struct mq_state *st, uint8_t dir, const uint8_t *b,
                      size_t hl, uint32_t rl, size_t view)
{
    struct mq_pkt *p = &st->scratch;
    memset(p, 0, sizeof *p);
    p->type = b[0] >> 4;
    p->flags = b[0] & 0x0Fu;
    p->rl = rl;
    bool whole = view >= hl + rl;
    uint8_t version = st->version;
    /* A CONNACK longer than 2 bytes exists only in version 5 ([V5] s.3.2.2.3). */
    if (version == 0 && p->type == MQ_CONNACK && rl > 2) version = st->version = 5;
    mq_decode(p, version, b + hl, (whole ? hl + rl : view) - hl, whole);
    if (p->invalid) qw_emit_anomaly(ctx, "mqtt.malformed_packet", mq_types[p->type].name);
    else if (p->truncated) qw_emit_anomaly(ctx, "mqtt.truncated_packet", mq_types[p->type].name);
    mq_on_packet(ctx, st, dir, p);
}

static size_t mq_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct mq_state *st = state;
    uint8_t d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->skip[d]) {
            size_t n = st->skip[d] < len - off ? st->skip[d] : len - off;
            st->skip[d] -= (uint32_t)n;
            off += n;
            continue;
        }
        if (st->resync[d]) {
            bool found = false, wait = false;
            for (; off < len; off++) {
                if (mq_plausible(st, data + off, len - off, &wait)) {
                    found = true;
                    break;
                }
                if (wait) return off;
            }
            if (!found) return off;
            st->resync[d] = false;
        }
        uint32_t rl = 0;
        int hl = mq_header(data + off, len - off, st->version, &rl);
        if (hl < 0) return off;
        if (hl == 0) {
            if (st->synced[d]) qw_emit_anomaly(ctx, "mqtt.invalid_header", NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t total = (size_t)hl + rl;
        size_t avail = len - off;
        if (total <= MQ_WHOLE_MAX) {
            if (avail < total) return off;
            mq_packet(ctx, st, d, data + off, (size_t)hl, rl, total);
            off += total;
        } else {
            size_t view = total < MQ_PREFIX ? total : MQ_PREFIX;
            if (avail < view) return off;
            size_t take = avail < total ? avail : total;
            mq_packet(ctx, st, d, data + off, (size_t)hl, rl, take);
            st->skip[d] = (uint32_t)(total - take);
            off += take;
        }
        st->synced[d] = true;
    }
    return off;
}

static void mq_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct mq_state *st = state;
    uint8_t d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    st->skip[d] = 0;
    st->resync[d] = true;
}

static void mq_flow_end(struct qw_pctx *ctx, void *state)
{
    struct mq_state *st = state;
    if (st->conn_used) {
        st->conn_used = false;
        mq_emit(ctx, st, &st->conn.req, st->conn_ts, true, NULL, 0, NULL, NULL);
    }
    while (st->nping > 0) mq_ping_unanswered(ctx, st);
    struct mq_slot *s;
    while ((s = mq_oldest(st)) != NULL) mq_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_mqtt = {
    .name = "mqtt",
    .transports = QW_TRANSPORT_TCP,
    .ports = {MQ_PORT, 0},
    .probe = mq_probe,
    .state_size = sizeof(struct mq_state),
    .parse = mq_parse,
    .gap = mq_gap,
    .flow_end = mq_flow_end,
};
