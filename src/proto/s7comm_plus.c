/* S7comm-plus (Siemens S7-1200/1500 "S7CommPlus", protocol id 0x72) over ISO-on-TCP, port 102.
 *
 * Siemens publishes nothing about this protocol. What is decoded here follows public
 * reverse-engineering work, checked byte by byte against the corpus captures:
 *   [RFC1006] TPKT, s.6; [X224] ISO 8073 COTP, s.13 (framing: s7comm_framing.c).
 *   [TW]  T. Wiens, S7comm-plus Wireshark plugin (sourceforge.net/projects/s7commwireshark) and
 *         the S7CommPlusDriver library (github.com/thomas-v2/S7CommPlusDriver): header, opcodes,
 *         function codes, protocol versions, the variable-length integer (VLQ) encoding, the
 *         value (PValue) and object encodings, and the ids ServerSessionVersion (306),
 *         ObjectVariableTypeName (233), ClassServerSession (287), theCPUexecUnit (52) and
 *         CPUexecUnit.operatingStateReq (2167, 1 = STOP, 3 = RUN).
 *   [BH]  Biham, Bitan, Carmel, Dankner, Malin, Wool, "Rogue7: Rogue Engineering-Station attacks
 *         on S7 Simatic PLCs", Black Hat USA 2019: session setup, the V3 integrity digest.
 *
 * Frame (big-endian):
 *
 *   offset size meaning
 *   ------ ---- -----------------------------------------------------------------------------
 *        0    1 protocol id 0x72
 *        1    1 version: 1 (session setup), 2, 3 (with integrity), 0xfe system event
 *        2    2 data length (the bytes between this header and the trailer)
 *        4    n data: V3 starts with a digest length (0x20) and the 32-byte digest (opaque)
 *      4+n    4 trailer 0x72, version, 0x0000 -- only on the last fragment of a PDU
 *
 *   data of a request  (opcode 0x31): opcode, reserved(2), function(2), reserved(2),
 *                                     sequence number(2), session id(4), transport flags(1), body
 *   data of a response (0x32, 0x02):  opcode, reserved(2), function(2), reserved(2),
 *                                     sequence number(2), transport flags(1), return value (VLQ)
 *   data of a notification (0x33):    opcode, subscription object id(4), body
 *
 * A PDU longer than the transport's TPDU size is split into several TSDUs, each with its own
 * header and only the last with the trailer; the first carries the opcode. The PDU is reported
 * from its first fragment (marked `fragmented`); the later fragments are skipped up to the one
 * with the trailer, their bytes are not decoded.
 *
 * Pairing: a response (0x32 or 0x02) answers the request with the same sequence number.
 * Identity: the server's CreateObject response to the session setup carries, in attribute
 * ServerSessionVersion (306, a struct), element 319: a WString "<n>;<order number>;<firmware>"
 * (corpus: "1;6ES7 214-1HE30-0XB0 ;V2.2", "1;6ES7 511-1AK00-0AB0;V1.0"). The client's
 * CreateObject request names the client in the session object's attributes 297 (application,
 * e.g. "SIMATIC NET PC Software") and 298 (station, e.g. "VORTEX_21032491"); those two ids are
 * not in [TW]'s published lists, their meaning is inferred from the corpus values.
 *
 * Operation classes: the Set functions write, the Get functions, Explore and GetLink read;
 * CreateObject of a ServerSession, DeleteObject of the session object and SetMultiVariables on
 * the session object (the client echoes ServerSessionVersion) are session management;
 * SetVariable of operatingStateReq on the CPU execution unit is a stop (1) or start (3); a
 * BeginSequence that creates a "DLTransaction" object opens a download: it, the CreateObject,
 * DeleteObject and Set requests inside it and the matching EndSequence are program operations.
 * Integrity digests and encrypted blobs (V3, legitimation) are opaque and not decoded. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/cotp.h"
#include "proto/proto.h"
#include "proto/s7comm_framing.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its reason ---------------------------------------------------------- */

#define SP_PORT 102
#define SP_PROTO_ID 0x72
#define SP_HDR_LEN 4
#define SP_TRAILER_LEN 4
/* Largest TSDU reassembled per direction: two class-0 TPDUs of the largest size ISO 8073 allows
 * (2048, s.13.3.4). S7comm-plus splits its own PDUs into TSDUs of about the negotiated TPDU size
 * (corpus: at most 1013 bytes with 1024-byte TPDUs); a longer TSDU is reported and dropped. */
#define SP_TSDU_MAX 4096
/* Outstanding requests per flow. TIA Portal pipelines up to 18 requests (corpus:
 * S7-1200-Uploading-OB1-TIAV12.pcap, sequence numbers 10-27 before the answers); past this the
 * oldest is reported unanswered (s7comm_plus.request_queue_full, once per flow). */
#define SP_QUEUE_MAX 32
/* Queued requests that carry names (session setup, BeginSequence): rare, one or two at a time;
 * when all are taken a further request is queued without its names. */
#define SP_TEXT_SLOTS 4
/* Strings kept per request for the record (object and client names): longer ones are cut. */
#define SP_NAME_MAX 48
/* Object walking: nesting depth and values visited per PDU, so hostile nesting costs little. */
#define SP_DEPTH_MAX 8
#define SP_WALK_BUDGET 512
/* The integrity digest of V3: its length byte is 32 (SHA-256 HMAC) [BH]. */
#define SP_DIGEST_LEN 32

#define SP_OP_REQUEST 0x31
#define SP_OP_RESPONSE 0x32
#define SP_OP_NOTIFICATION 0x33
#define SP_OP_RESPONSE2 0x02

#define SP_VER_1 0x01
#define SP_VER_2 0x02
#define SP_VER_3 0x03
#define SP_VER_SYSTEM_EVENT 0xfe
#define SP_VER_KEEPALIVE 0xff

#define SP_FN_CREATE_OBJECT 0x04ca
#define SP_FN_DELETE_OBJECT 0x04d4
#define SP_FN_SET_VARIABLE 0x04f2
#define SP_FN_SET_MULTI 0x0542
#define SP_FN_GET_MULTI 0x054c
#define SP_FN_BEGIN_SEQUENCE 0x0556
#define SP_FN_END_SEQUENCE 0x0560
#define SP_FN_SET_VAR_SUB 0x057c
#define SP_FN_EXPLORE 0x04bb
#define SP_FN_GET_VAR_SUB 0x0586

/* Ids [TW] */
#define SP_ID_OBJECT_NAME 233          /* ObjectVariableTypeName */
#define SP_ID_CLASS_SERVER_SESSION 287 /* ClassServerSession */
#define SP_ID_SESSION_VERSION 306      /* ServerSessionVersion */
#define SP_ID_SESSION_VERSION_TEXT 319 /* its WString element "<n>;<order no.>;<version>" */
#define SP_ID_CPU_EXEC_UNIT 52         /* NativeObjects.theCPUexecUnit */
#define SP_ID_SUBSCRIPTION_FIRST 1001  /* ClassSubscription ... */
#define SP_ID_SUBSCRIPTION_LAST 1082   /* ... SubscriptionFunctionClassId (subscription attrs) */
#define SP_ID_OPERATING_STATE_REQ 2167 /* CPUexecUnit.operatingStateReq */
#define SP_OPSTATE_STOP 1
#define SP_OPSTATE_RUN 3
/* Session object attributes seen in the corpus (meaning inferred from their values). */
#define SP_ID_CLIENT_VERSION 289    /* "1:::6.0::TCP/IP -> <network adapter>" */
#define SP_ID_CONNECTION_NAME 296   /* "S7_Verbindung_1", "Read Write" */
#define SP_ID_CLIENT_APP 297        /* "SIMATIC NET PC Software", "HMI RT OMS+" */
#define SP_ID_CLIENT_STATION 298    /* "VORTEX_21032491", "YourHost" */
#define SP_ID_SERVER_RELEASE 301    /* "OMSP.REL.5041.23" from an S7-1511 */

/* PValue datatypes and flags [TW] */
enum {
    DT_NULL = 0x00, DT_BOOL, DT_USINT, DT_UINT, DT_UDINT, DT_ULINT, DT_SINT, DT_INT, DT_DINT,
    DT_LINT, DT_BYTE, DT_WORD, DT_DWORD, DT_LWORD, DT_REAL, DT_LREAL, DT_TIMESTAMP,
    DT_TIMESPAN, DT_RID, DT_AID, DT_BLOB, DT_WSTRING, DT_VARIANT, DT_STRUCT,
};
#define VF_ARRAY 0x10
#define VF_ADDRESS_ARRAY 0x20
#define VF_SPARSE_ARRAY 0x40
/* Object element tags [TW] */
#define EL_START_OBJECT 0xa1
#define EL_TERM_OBJECT 0xa2
#define EL_ATTRIBUTE 0xa3
#define EL_RELATION 0xa4

/* ---- Protocol fact tables ------------------------------------------------------------------ */

struct sp_func {
    uint16_t code;
    const char *name;
    uint32_t ops; /* refined per request in sp_refine_ops */
};

/* Function codes [TW]. */
static const struct sp_func sp_funcs[] = {
    {0x04b1, "error", 0},
    {0x04bb, "explore", QW_OP_READ},
    {0x04ca, "create_object", 0},
    {0x04d4, "delete_object", 0},
    {0x04f2, "set_variable", QW_OP_WRITE},
    {0x04fc, "get_variable", QW_OP_READ},
    {0x0506, "add_link", QW_OP_CONFIG},
    {0x051a, "remove_link", QW_OP_CONFIG},
    {0x0524, "get_link", QW_OP_READ},
    {0x0542, "set_multi_variables", QW_OP_WRITE},
    {0x054c, "get_multi_variables", QW_OP_READ},
    {0x0556, "begin_sequence", 0},
    {0x0560, "end_sequence", 0},
    {0x056b, "invoke", QW_OP_CONTROL},
    {0x057c, "set_var_sub_streamed", QW_OP_WRITE},
    {0x0586, "get_var_sub_streamed", QW_OP_READ},
    {0x0590, "get_variables_address", QW_OP_READ},
    {0x059a, "abort", QW_OP_SESSION},
    {0x05a9, "error2", 0},
    {0x05b3, "init_ssl", QW_OP_SESSION | QW_OP_AUTH},
};

static const struct sp_func *sp_func_lookup(uint16_t code)
{
    for (size_t i = 0; i < sizeof sp_funcs / sizeof sp_funcs[0]; i++)
        if (sp_funcs[i].code == code) return &sp_funcs[i];
    return NULL;
}

static const char *sp_opcode_name(uint8_t op)
{
    switch (op) {
    case SP_OP_REQUEST: return "request";
    case SP_OP_RESPONSE: return "response";
    case SP_OP_NOTIFICATION: return "notification";
    case SP_OP_RESPONSE2: return "response2";
    default: return "unknown";
    }
}

static const char *sp_version_name(uint8_t v)
{
    switch (v) {
    case SP_VER_1: return "v1";
    case SP_VER_2: return "v2";
    case SP_VER_3: return "v3";
    case SP_VER_SYSTEM_EVENT: return "system_event";
    case SP_VER_KEEPALIVE: return "keep_alive";
    default: return "unknown";
    }
}

static bool sp_version_known(uint8_t v)
{
    return v == SP_VER_1 || v == SP_VER_2 || v == SP_VER_3 || v == SP_VER_SYSTEM_EVENT ||
           v == SP_VER_KEEPALIVE;
}

/* Return codes [TW] (the low 16 bits of the return value, signed): negative is an error. */
static const char *sp_return_name(int16_t code)
{
    switch (code) {
    case 0: return "ok";
    case 17: return "session_pre_legitimated";
    case 19: return "warning_partial_error";
    case 22: return "session_delegitimated";
    case -12: return "object_not_found";
    case -17: return "invalid_crc";
    case -134: return "multi_es_not_supported";
    case -255: return "invalid_lid";
    default: return code < 0 ? "error" : "unknown";
    }
}

/* ---- Variable-length integers [TW] --------------------------------------------------------- */

/* Unsigned: 7 bits per byte, high bit = more; the 5th (32-bit) or 9th (64-bit) byte holds 8. */
static uint64_t sp_vlq(struct qw_cursor *c, unsigned max_bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        uint8_t b = qw_cur_u8(c);
        if (c->err) return 0;
        if (i + 1 == max_bytes) return v << 8 | b;
        v = v << 7 | (b & 0x7fu);
        if (!(b & 0x80u)) break;
    }
    return v;
}

static uint32_t sp_vlq32(struct qw_cursor *c)
{
    return (uint32_t)sp_vlq(c, 5);
}

static uint64_t sp_vlq64(struct qw_cursor *c)
{
    return sp_vlq(c, 9);
}

/* Signed 32-bit: like the unsigned form, bit 6 of the first byte is the sign. */
static int64_t sp_svlq32(struct qw_cursor *c)
{
    uint8_t first = qw_cur_ptr(c) && qw_cur_left(c) ? qw_cur_ptr(c)[0] : 0;
    uint32_t v = (first & 0x40u) ? UINT32_MAX : 0;
    for (unsigned i = 0; i < 5; i++) {
        uint8_t b = qw_cur_u8(c);
        if (c->err) return 0;
        if (i == 4) {
            v = v << 8 | b;
            break;
        }
        v = v << 7 | (b & 0x7fu);
        if (!(b & 0x80u)) break;
    }
    return v > INT32_MAX ? -(int64_t)(UINT32_MAX - v) - 1 : (int64_t)v;
}

/* ---- Values and objects [TW] --------------------------------------------------------------- */

/* Called for each WString met: the object nesting level (0 = the first object), the attribute
 * holding it (or, inside a struct, the struct's attribute) and its own id. */
typedef void (*sp_visit_fn)(void *arg, unsigned obj_depth, uint32_t parent, uint32_t id,
                            const uint8_t *s, size_t n);

struct sp_walk {
    struct qw_cursor c;
    unsigned budget;
    sp_visit_fn visit;
    void *arg;
};

static bool sp_value(struct sp_walk *w, unsigned depth, unsigned obj_depth, uint32_t parent,
                     uint32_t id);

/* One element of the given datatype (no flags byte). */
static bool sp_scalar(struct sp_walk *w, uint8_t type, unsigned depth, unsigned obj_depth,
                      uint32_t parent, uint32_t id)
{
    struct qw_cursor *c = &w->c;
    if (w->budget == 0 || depth > SP_DEPTH_MAX) return false;
    w->budget--;
    switch (type) {
    case DT_NULL: return true;
    case DT_BOOL: case DT_USINT: case DT_SINT: case DT_BYTE: return qw_cur_skip(c, 1);
    case DT_UINT: case DT_INT: case DT_WORD: return qw_cur_skip(c, 2);
    case DT_DWORD: case DT_REAL: case DT_RID: return qw_cur_skip(c, 4);
    case DT_LWORD: case DT_LREAL: case DT_TIMESTAMP: return qw_cur_skip(c, 8);
    case DT_UDINT: case DT_DINT: case DT_AID: sp_vlq32(c); return !c->err;
    case DT_ULINT: case DT_LINT: case DT_TIMESPAN: sp_vlq64(c); return !c->err;
    case DT_BLOB: {
        sp_vlq32(c); /* blob root id */
        uint32_t n = sp_vlq32(c);
        return !c->err && qw_cur_skip(c, n);
    }
    case DT_WSTRING: {
        uint32_t n = sp_vlq32(c);
        const uint8_t *s = c->err ? NULL : qw_cur_take(c, n);
        if (!s) return false;
        if (w->visit) w->visit(w->arg, obj_depth, parent, id, s, n);
        return true;
    }
    case DT_STRUCT: {
        uint32_t sid = qw_cur_be32(c);
        if (c->err) return false;
        if ((sid > 0x90000000u && sid < 0x9fffffffu) || (sid > 0x02000000u && sid < 0x02ffffffu)) {
            /* packed system struct: interface timestamp, flags, byte count, bytes */
            qw_cur_skip(c, 8);
            uint32_t flags = sp_vlq32(c);
            uint32_t n = sp_vlq32(c);
            if (flags & 0x400u) n = sp_vlq32(c);
            return !c->err && qw_cur_skip(c, n);
        }
        for (;;) {
            uint32_t elem = sp_vlq32(c);
            if (c->err) return false;
            if (elem == 0) return true;
            if (!sp_value(w, depth + 1, obj_depth, id, elem)) return false;
        }
    }
    default: return false; /* Variant, S7String, unknown: the walk stops */
    }
}

/* A value: flags, datatype, then one element, an array or a sparse array. */
static bool sp_value(struct sp_walk *w, unsigned depth, unsigned obj_depth, uint32_t parent,
                     uint32_t id)
{
    struct qw_cursor *c = &w->c;
    uint8_t flags = qw_cur_u8(c);
    uint8_t type = qw_cur_u8(c);
    if (c->err) return false;
    if (flags & VF_SPARSE_ARRAY) {
        for (;;) {
            uint32_t key = sp_vlq32(c);
            if (c->err) return false;
            if (key == 0) return true;
            if (!sp_scalar(w, type, depth + 1, obj_depth, parent, id)) return false;
        }
    }
    if (flags & (VF_ARRAY | VF_ADDRESS_ARRAY)) {
        uint32_t n = sp_vlq32(c);
        if (c->err || type == DT_STRUCT || n > qw_cur_left(c)) return false;
        for (uint32_t i = 0; i < n; i++)
            if (!sp_scalar(w, type, depth + 1, obj_depth, parent, id)) return false;
        return true;
    }
    return sp_scalar(w, type, depth, obj_depth, parent, id);
}

/* The body of an object (after its 0xA1 tag): RID, class id, class flags, attribute id, then
 * attributes, relations and nested objects up to the terminating 0xA2. */
static bool sp_object(struct sp_walk *w, unsigned obj_depth, uint32_t *class_id)
{
    struct qw_cursor *c = &w->c;
    if (obj_depth > SP_DEPTH_MAX) return false;
    qw_cur_be32(c);
    uint32_t cls = sp_vlq32(c);
    sp_vlq32(c);
    sp_vlq32(c);
    if (c->err) return false;
    if (class_id) *class_id = cls;
    while (w->budget > 0) {
        w->budget--;
        uint8_t tag = qw_cur_u8(c);
        if (c->err) return false;
        switch (tag) {
        case EL_TERM_OBJECT: return true;
        case EL_ATTRIBUTE: {
            uint32_t id = sp_vlq32(c);
            if (c->err || !sp_value(w, 0, obj_depth, 0, id)) return false;
            break;
        }
        case EL_START_OBJECT:
            if (!sp_object(w, obj_depth + 1, NULL)) return false;
            break;
        case EL_RELATION:
            sp_vlq32(c);
            qw_cur_be32(c);
            if (c->err) return false;
            break;
        default: return false;
        }
    }
    return false;
}

/* ---- Decoded PDU --------------------------------------------------------------------------- */

enum sp_field {
    SF_OPCODE = 1u << 0,
    SF_FUNCTION = 1u << 1, /* function, sequence number, transport flags */
    SF_SESSION = 1u << 2,
    SF_RETURN = 1u << 3,
    SF_SUBSCRIPTION = 1u << 4,
    SF_OBJECT_ID = 1u << 5,
    SF_CLASS_ID = 1u << 6,
    SF_ITEM_COUNT = 1u << 7,
    SF_ADDRESS = 1u << 8,
    SF_OPSTATE = 1u << 9,
    SF_OBJECT_IDS = 1u << 10,
    SF_DIGEST = 1u << 11,
};

#define SP_OBJECT_IDS_MAX 4

struct sp_text {
    uint8_t len;
    bool cut;
    char s[SP_NAME_MAX];
};

/* Names found in the first object of a PDU. */
struct sp_texts {
    struct sp_text object_name; /* attribute 233 of the first object */
    struct sp_text session_version, server_release;
    struct sp_text client_version, connection_name, client_app, client_station;
};

/* Everything the record shows about one PDU, copied out of the packet so a request can wait in
 * the queue without its bytes. */
struct sp_pdu {
    uint32_t fields;
    uint32_t ops;
    bool response;
    bool error;
    bool truncated;
    bool fragmented;
    uint8_t version;
    uint16_t data_len;
    uint8_t opcode;
    uint16_t function;
    uint16_t seq;
    uint32_t session_id;
    uint8_t transport_flags;
    uint8_t digest_len;
    uint64_t return_value;
    uint32_t subscription_id;
    uint32_t object_id;
    uint32_t class_id;
    uint32_t item_count;
    uint32_t address;
    int64_t opstate;
    uint8_t nobject_ids;
    uint32_t object_ids[SP_OBJECT_IDS_MAX];
    struct sp_texts *tx; /* names, or NULL when the PDU has none (or they could not be kept) */
};

static bool sp_texts_any(const struct sp_texts *t)
{
    static const struct sp_texts none;
    return memcmp(t, &none, sizeof none) != 0;
}

static void sp_text_set(struct sp_text *t, const uint8_t *s, size_t n)
{
    if (t->len || t->cut) return; /* first one wins */
    t->cut = n > sizeof t->s;
    if (n > sizeof t->s) n = sizeof t->s;
    memcpy(t->s, s, n);
    t->len = (uint8_t)n;
}

static void sp_visit(void *arg, unsigned obj_depth, uint32_t parent, uint32_t id,
                     const uint8_t *s, size_t n)
{
    struct sp_texts *t = ((struct sp_pdu *)arg)->tx;
    if (obj_depth != 0 || !t) return; /* nested objects (subscription containers, ...) */
    if (parent == 0) {
        switch (id) {
        case SP_ID_OBJECT_NAME: sp_text_set(&t->object_name, s, n); break;
        case SP_ID_CLIENT_VERSION: sp_text_set(&t->client_version, s, n); break;
        case SP_ID_CONNECTION_NAME: sp_text_set(&t->connection_name, s, n); break;
        case SP_ID_CLIENT_APP: sp_text_set(&t->client_app, s, n); break;
        case SP_ID_CLIENT_STATION: sp_text_set(&t->client_station, s, n); break;
        case SP_ID_SERVER_RELEASE: sp_text_set(&t->server_release, s, n); break;
        default: break;
        }
    } else if (parent == SP_ID_SESSION_VERSION && id == SP_ID_SESSION_VERSION_TEXT) {
        sp_text_set(&t->session_version, s, n);
    }
}

static void sp_walk_object_at(struct sp_pdu *p, struct qw_cursor *c)
{
    struct sp_walk w = {*c, SP_WALK_BUDGET, sp_visit, p};
    uint32_t cls = 0;
    if (qw_cur_u8(&w.c) != EL_START_OBJECT || w.c.err) return;
    bool ok = sp_object(&w, 0, &cls);
    p->class_id = cls;
    p->fields |= SF_CLASS_ID;
    (void)ok; /* what was read before an undecodable value is kept */
}

/* The first object of a request whose body starts with a few fixed bytes (BeginSequence): the
 * first 0xA1 within `window` bytes that walks as an object. */
static void sp_find_object(struct sp_pdu *p, struct qw_cursor body, size_t window)
{
    for (size_t i = 0; i < window && i < qw_cur_left(&body); i++) {
        if (qw_cur_ptr(&body)[i] != EL_START_OBJECT) continue;
        struct qw_cursor c = qw_cursor_make(qw_cur_ptr(&body) + i, qw_cur_left(&body) - i);
        sp_walk_object_at(p, &c);
        return;
    }
}

/* Request bodies worth a field or two. */
static void sp_request_body(struct sp_pdu *p, struct qw_cursor *c)
{
    switch (p->function) {
    case SP_FN_CREATE_OBJECT: {
        /* request id(4), a value, 4 unknown bytes, then the object */
        qw_cur_be32(c);
        struct sp_walk w = {*c, SP_WALK_BUDGET, NULL, NULL};
        if (!sp_value(&w, 0, 0, 0, 0)) return;
        qw_cur_skip(&w.c, 4);
        if (!w.c.err) sp_walk_object_at(p, &w.c);
        return;
    }
    case SP_FN_DELETE_OBJECT:
    case SP_FN_EXPLORE:
    case SP_FN_GET_VAR_SUB:
        p->object_id = qw_cur_be32(c);
        if (!c->err) p->fields |= SF_OBJECT_ID;
        return;
    case SP_FN_SET_MULTI:
    case SP_FN_GET_MULTI:
        p->object_id = qw_cur_be32(c);
        p->item_count = sp_vlq32(c);
        if (!c->err) p->fields |= SF_OBJECT_ID | SF_ITEM_COUNT;
        return;
    case SP_FN_SET_VARIABLE: {
        /* object id(4), address count (1), address, value [TW] */
        p->object_id = qw_cur_be32(c);
        sp_vlq32(c);
        p->address = sp_vlq32(c);
        if (c->err) return;
        p->fields |= SF_OBJECT_ID | SF_ADDRESS;
        if (p->object_id == SP_ID_CPU_EXEC_UNIT && p->address == SP_ID_OPERATING_STATE_REQ) {
            uint8_t flags = qw_cur_u8(c);
            uint8_t type = qw_cur_u8(c);
            if (!c->err && flags == 0 && type == DT_DINT) {
                p->opstate = sp_svlq32(c);
                if (!c->err) p->fields |= SF_OPSTATE;
            }
        }
        return;
    }
    case SP_FN_BEGIN_SEQUENCE: sp_find_object(p, *c, 8); return;
    default: return;
    }
}

static void sp_response_body(struct sp_pdu *p, struct qw_cursor *c)
{
    if (p->function != SP_FN_CREATE_OBJECT) return;
    uint8_t n = qw_cur_u8(c);
    if (c->err) return;
    for (unsigned i = 0; i < n; i++) {
        uint32_t id = sp_vlq32(c);
        if (c->err) return;
        if (p->nobject_ids < SP_OBJECT_IDS_MAX) p->object_ids[p->nobject_ids++] = id;
    }
    p->fields |= SF_OBJECT_IDS;
    sp_walk_object_at(p, c);
}

/* Decode the first TSDU of a PDU into p, its names into tx. `more` tells that fragments
 * follow (no trailer). */
static bool sp_decode(struct sp_pdu *p, struct sp_texts *tx, struct qw_pctx *ctx,
                      const uint8_t *t, size_t n, bool more)
{
    memset(p, 0, sizeof *p);
    memset(tx, 0, sizeof *tx);
    p->tx = tx;
    struct qw_cursor c = qw_cursor_make(t, n);
    uint8_t id = qw_cur_u8(&c);
    p->version = qw_cur_u8(&c);
    p->data_len = qw_cur_be16(&c);
    if (c.err || id != SP_PROTO_ID) return false;
    p->fragmented = more;
    bool cut = false;
    struct qw_cursor d = qw_cur_sub(&c, p->data_len, &cut);
    if (p->version == SP_VER_3) {
        /* integrity part: digest length and digest, kept opaque */
        uint8_t dl = qw_cur_u8(&d);
        if (d.err || !qw_cur_skip(&d, dl)) {
            p->truncated = true;
            return true;
        }
        p->digest_len = dl;
        p->fields |= SF_DIGEST;
        if (dl != SP_DIGEST_LEN && ctx) qw_emit_anomaly(ctx, "s7comm_plus.unusual_digest", NULL);
    }
    if (p->version == SP_VER_SYSTEM_EVENT || p->version == SP_VER_KEEPALIVE) return true;
    p->opcode = qw_cur_u8(&d);
    if (d.err) {
        p->truncated = cut;
        return true;
    }
    p->fields |= SF_OPCODE;
    bool header_cut = false; /* a known opcode whose fixed fields are not all there */
    if (p->opcode == SP_OP_NOTIFICATION) {
        p->response = true;
        p->subscription_id = qw_cur_be32(&d);
        if (!d.err) p->fields |= SF_SUBSCRIPTION;
        header_cut = d.err;
    } else if (p->opcode == SP_OP_REQUEST || p->opcode == SP_OP_RESPONSE ||
               p->opcode == SP_OP_RESPONSE2) {
        p->response = p->opcode != SP_OP_REQUEST;
        qw_cur_skip(&d, 2);
        p->function = qw_cur_be16(&d);
        qw_cur_skip(&d, 2);
        p->seq = qw_cur_be16(&d);
        if (!p->response) {
            p->session_id = qw_cur_be32(&d);
            if (!d.err) p->fields |= SF_SESSION;
        }
        p->transport_flags = qw_cur_u8(&d);
        header_cut = d.err;
        if (!d.err) {
            p->fields |= SF_FUNCTION;
            const struct sp_func *f = sp_func_lookup(p->function);
            p->ops = f ? f->ops : 0;
            if (p->response) {
                p->return_value = sp_vlq64(&d);
                if (!d.err) {
                    p->fields |= SF_RETURN;
                    /* errors set the top bit and carry a negative code in the low 16 bits
                     * (corpus: 0x8020ab001bc8fff4, code -12 object not found) */
                    int16_t code = (int16_t)(uint16_t)(p->return_value & 0xffffu);
                    if ((p->return_value >> 63) || code < 0) p->error = true;
                    sp_response_body(p, &d);
                }
            } else {
                sp_request_body(p, &d);
            }
        }
    } else if (ctx) {
        qw_emit_anomaly(ctx, "s7comm_plus.unknown_opcode", NULL);
    }
    if (cut || header_cut) {
        p->truncated = true;
        if (ctx) qw_emit_anomaly(ctx, "s7comm_plus.truncated_pdu", sp_opcode_name(p->opcode));
    }
    return true;
}

static const char *sp_function_name(const struct sp_pdu *p)
{
    if (p->version == SP_VER_SYSTEM_EVENT) return "system_event";
    if (p->version == SP_VER_KEEPALIVE) return "keep_alive";
    if (p->opcode == SP_OP_NOTIFICATION) return "notification";
    if (!(p->fields & SF_FUNCTION)) return "unknown";
    const struct sp_func *f = sp_func_lookup(p->function);
    return f ? f->name : "unknown";
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct sp_view {
    const struct sp_pdu *req, *rsp;
};

static void json_text(struct qw_json *j, const char *key, const struct sp_text *t)
{
    if (!t->len) return;
    qw_json_strn(j, key, t->s, t->len);
}

static void sp_json_side(struct qw_json *j, const char *key, const struct sp_pdu *p)
{
    uint32_t f = p->fields;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "version", p->version);
    qw_json_str(j, "version_name", sp_version_name(p->version));
    qw_json_u64(j, "data_length", p->data_len);
    if (f & SF_DIGEST) qw_json_u64(j, "integrity_digest_length", p->digest_len);
    if (f & SF_OPCODE) {
        qw_json_u64(j, "opcode", p->opcode);
        qw_json_str(j, "opcode_name", sp_opcode_name(p->opcode));
    }
    if (f & SF_FUNCTION) {
        qw_json_u64(j, "function", p->function);
        qw_json_str(j, "function_name", sp_function_name(p));
        qw_json_u64(j, "sequence_number", p->seq);
        qw_json_u64(j, "transport_flags", p->transport_flags);
    } else {
        qw_json_str(j, "function_name", sp_function_name(p));
    }
    if (f & SF_SESSION) qw_json_u64(j, "session_id", p->session_id);
    if (f & SF_RETURN) {
        int16_t code = (int16_t)(uint16_t)(p->return_value & 0xffffu);
        /* as hex text: 64-bit values pass what a JSON double holds exactly */
        char hex[24];
        snprintf(hex, sizeof hex, "0x%016llx", (unsigned long long)p->return_value);
        qw_json_str(j, "return_value", hex);
        qw_json_i64(j, "return_code", code);
        qw_json_str(j, "return_name", sp_return_name(code));
    }
    if (f & SF_SUBSCRIPTION) qw_json_u64(j, "subscription_object_id", p->subscription_id);
    if (f & SF_OBJECT_ID) qw_json_u64(j, "object_id", p->object_id);
    if (f & SF_ITEM_COUNT) qw_json_u64(j, "item_count", p->item_count);
    if (f & SF_ADDRESS) qw_json_u64(j, "address", p->address);
    if (f & SF_OPSTATE) {
        qw_json_i64(j, "operating_state_request", p->opstate);
        qw_json_str(j, "operating_state_name", p->opstate == SP_OPSTATE_STOP  ? "stop"
                                               : p->opstate == SP_OPSTATE_RUN ? "run"
                                                                              : "unknown");
    }
    if (f & SF_OBJECT_IDS) {
        qw_json_arr_begin(j, "object_ids");
        for (unsigned i = 0; i < p->nobject_ids; i++) qw_json_u64(j, NULL, p->object_ids[i]);
        qw_json_arr_end(j);
    }
    if (f & SF_CLASS_ID) qw_json_u64(j, "class_id", p->class_id);
    if (p->tx) {
        json_text(j, "object_name", &p->tx->object_name);
        json_text(j, "server_session_version", &p->tx->session_version);
        json_text(j, "server_release", &p->tx->server_release);
        json_text(j, "client_version", &p->tx->client_version);
        json_text(j, "connection_name", &p->tx->connection_name);
        json_text(j, "client_application", &p->tx->client_app);
        json_text(j, "client_station", &p->tx->client_station);
    }
    if (p->fragmented) qw_json_bool(j, "fragmented", true);
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void sp_write_json(struct qw_json *j, const void *arg)
{
    const struct sp_view *v = arg;
    if (v->req) sp_json_side(j, "request", v->req);
    if (v->rsp) sp_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct sp_slot {
    bool used;
    uint8_t dir;
    uint32_t seq_order; /* arrival order */
    uint64_t ts_ns;
    struct sp_pdu pdu;
};

struct sp_state {
    struct qw_iso_stream iso[2];
    uint8_t tsdu[2][SP_TSDU_MAX];
    bool in_fragment[2];      /* the last TSDU of this direction had no trailer */
    uint32_t session_id;      /* from the CreateObject response of the session setup */
    bool download;            /* inside a BeginSequence "DLTransaction" */
    uint8_t sequence_depth;   /* BeginSequence requests not yet closed while in a download */
    bool queue_full_reported;
    uint32_t next_order;
    uint8_t nqueued;
    struct sp_slot queue[SP_QUEUE_MAX];
    struct sp_texts texts[SP_TEXT_SLOTS]; /* names of queued requests */
    bool texts_used[SP_TEXT_SLOTS];
    struct sp_pdu cur;      /* the PDU being decoded */
    struct sp_texts cur_tx; /* its names */
    struct sp_view view;
};

static void sp_emit(struct qw_pctx *ctx, struct sp_state *st, const struct sp_pdu *req,
                    uint64_t req_ns, const struct sp_pdu *rsp, uint64_t rsp_ns)
{
    const struct sp_pdu *key = req ? req : rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = (key->fields & SF_FUNCTION) ? key->function : 0;
    t.function_name = sp_function_name(key);
    t.ops = key->ops;
    t.error = rsp && rsp->error;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = sp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static struct sp_slot *sp_oldest(struct sp_state *st)
{
    struct sp_slot *best = NULL;
    for (size_t i = 0; i < SP_QUEUE_MAX; i++) {
        struct sp_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq_order - best->seq_order) < 0)) best = s;
    }
    return best;
}

static void sp_free_slot(struct sp_state *st, struct sp_slot *s)
{
    if (s->pdu.tx) st->texts_used[s->pdu.tx - st->texts] = false;
    s->pdu.tx = NULL;
    s->used = false;
    st->nqueued--;
}

static void sp_flush_slot(struct qw_pctx *ctx, struct sp_state *st, struct sp_slot *s)
{
    sp_emit(ctx, st, &s->pdu, s->ts_ns, NULL, 0);
    sp_free_slot(st, s);
}

/* Operation bits that depend on the flow: session objects, the download sequence, the CPU
 * operating state request. */
static void sp_refine_ops(struct sp_state *st, struct sp_pdu *p, const struct sp_texts *tx)
{
    switch (p->function) {
    case SP_FN_CREATE_OBJECT:
        if ((p->fields & SF_CLASS_ID) && p->class_id == SP_ID_CLASS_SERVER_SESSION)
            p->ops = QW_OP_SESSION;
        break;
    case SP_FN_DELETE_OBJECT:
        if ((p->fields & SF_OBJECT_ID) && st->session_id && p->object_id == st->session_id)
            p->ops = QW_OP_SESSION;
        break;
    case SP_FN_SET_MULTI:
        if ((p->fields & SF_OBJECT_ID) && st->session_id && p->object_id == st->session_id)
            p->ops = QW_OP_SESSION; /* attributes of the session object, not process data */
        break;
    case SP_FN_SET_VARIABLE:
        if (p->fields & SF_OPSTATE)
            p->ops = p->opstate == SP_OPSTATE_STOP  ? QW_OP_STOP
                     : p->opstate == SP_OPSTATE_RUN ? QW_OP_START
                                                    : QW_OP_WRITE;
        else if ((p->fields & SF_ADDRESS) && p->address >= SP_ID_SUBSCRIPTION_FIRST &&
                 p->address <= SP_ID_SUBSCRIPTION_LAST)
            p->ops = QW_OP_SESSION; /* a subscription's settings (credits, cycle), not data */
        break;
    case SP_FN_BEGIN_SEQUENCE:
        if (tx && tx->object_name.len == 13 && memcmp(tx->object_name.s, "DLTransaction", 13) == 0)
            st->download = true;
        if (st->download) st->sequence_depth++;
        break;
    case SP_FN_END_SEQUENCE:
        if (st->download && st->sequence_depth > 0) {
            p->ops |= QW_OP_PROGRAM;
            if (--st->sequence_depth == 0) st->download = false;
        }
        break;
    default: break;
    }
    if (st->download && p->function != SP_FN_END_SEQUENCE &&
        (p->function == SP_FN_BEGIN_SEQUENCE || p->function == SP_FN_CREATE_OBJECT ||
         p->function == SP_FN_DELETE_OBJECT || p->function == SP_FN_SET_MULTI ||
         p->function == SP_FN_SET_VARIABLE || p->function == SP_FN_SET_VAR_SUB))
        p->ops |= QW_OP_PROGRAM;
}

/* Identity values as sent, without padding (spaces, NULs) at either end; empty ones are not
 * facts. */
static void sp_identity(struct qw_pctx *ctx, bool server, const char *attr, const char *v,
                        size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == 0)) n--;
    while (n > 0 && (v[0] == ' ' || v[0] == 0)) {
        v++;
        n--;
    }
    if (n > 0) qw_emit_identity(ctx, server, attr, v, n);
}

static bool hostname_like(const struct sp_text *t)
{
    if (!t->len || t->cut) return false;
    for (unsigned i = 0; i < t->len; i++) {
        char ch = t->s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

static void sp_on_request(struct qw_pctx *ctx, struct sp_state *st, enum qw_dir dir,
                          const struct sp_pdu *p)
{
    if (st->nqueued >= SP_QUEUE_MAX) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "s7comm_plus.request_queue_full", NULL);
        st->queue_full_reported = true;
        struct sp_slot *old = sp_oldest(st);
        if (old) sp_flush_slot(ctx, st, old);
    }
    struct sp_slot *s = NULL;
    for (size_t i = 0; i < SP_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return;
    s->used = true;
    s->dir = (uint8_t)dir;
    s->seq_order = st->next_order++;
    s->ts_ns = qw_pctx_time(ctx);
    s->pdu = *p;
    s->pdu.tx = NULL;
    if (p->tx && sp_texts_any(p->tx)) {
        for (size_t i = 0; i < SP_TEXT_SLOTS && !s->pdu.tx; i++) {
            if (st->texts_used[i]) continue;
            st->texts_used[i] = true;
            st->texts[i] = *p->tx;
            s->pdu.tx = &st->texts[i];
        }
    }
    sp_refine_ops(st, &s->pdu, p->tx);
    st->nqueued++;
    /* the client of a session setup names itself */
    if (p->function == SP_FN_CREATE_OBJECT && p->tx) {
        bool server = dir == QW_DIR_TO_CLIENT;
        const struct sp_texts *t = p->tx;
        if (!t->client_app.cut)
            sp_identity(ctx, server, "product_name", t->client_app.s, t->client_app.len);
        if (hostname_like(&t->client_station))
            sp_identity(ctx, server, "hostname", t->client_station.s, t->client_station.len);
    }
}

/* "<n>;<order number>;<version>" from ServerSessionVersion. */
static void sp_server_identity(struct qw_pctx *ctx, bool server, const struct sp_text *t)
{
    const char *s = t->s;
    size_t n = t->len;
    const char *a = memchr(s, ';', n);
    if (!a || t->cut) return;
    const char *b = memchr(a + 1, ';', n - (size_t)(a + 1 - s));
    if (!b) return;
    sp_identity(ctx, server, "model", a + 1, (size_t)(b - (a + 1)));
    const char *e = memchr(b + 1, ';', (size_t)(s + n - (b + 1)));
    sp_identity(ctx, server, "firmware", b + 1, (size_t)((e ? e : s + n) - (b + 1)));
}

static void sp_on_response(struct qw_pctx *ctx, struct sp_state *st, enum qw_dir dir,
                           const struct sp_pdu *p)
{
    struct sp_slot *s = NULL;
    if (p->fields & SF_FUNCTION) {
        for (size_t i = 0; i < SP_QUEUE_MAX; i++) {
            struct sp_slot *q = &st->queue[i];
            if (!q->used || q->dir == (uint8_t)dir || q->pdu.seq != p->seq) continue;
            if (!s || (int32_t)(q->seq_order - s->seq_order) < 0) s = q;
        }
    }
    if (s && s->pdu.function != p->function)
        qw_emit_anomaly(ctx, "s7comm_plus.function_mismatch", sp_function_name(p));
    sp_emit(ctx, st, s ? &s->pdu : NULL, s ? s->ts_ns : 0, p, qw_pctx_time(ctx));
    if (s) sp_free_slot(st, s);
    if (p->function == SP_FN_CREATE_OBJECT && (p->fields & SF_OBJECT_IDS) && !p->error) {
        /* the session setup answer: the first object id is the session id */
        if (p->nobject_ids && p->version == SP_VER_1) st->session_id = p->object_ids[0];
        if (p->tx && p->tx->session_version.len)
            sp_server_identity(ctx, dir == QW_DIR_TO_CLIENT, &p->tx->session_version);
    }
}

static void sp_on_tsdu(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *t,
                       size_t n)
{
    struct sp_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    if (n < SP_HDR_LEN || t[0] != SP_PROTO_ID) {
        qw_emit_anomaly(ctx, "s7comm_plus.invalid_protocol_id", NULL);
        st->in_fragment[d] = false;
        return;
    }
    uint8_t version = t[1];
    size_t dlen = (size_t)t[2] << 8 | t[3];
    bool trailer = n == SP_HDR_LEN + dlen + SP_TRAILER_LEN && t[n - 4] == SP_PROTO_ID &&
                   t[n - 3] == version && t[n - 2] == 0 && t[n - 1] == 0;
    bool more = !trailer && n == SP_HDR_LEN + dlen;
    if (!trailer && !more)
        qw_emit_anomaly(ctx, "s7comm_plus.invalid_length", NULL);
    if (!sp_version_known(version)) qw_emit_anomaly(ctx, "s7comm_plus.unknown_version", NULL);
    if (st->in_fragment[d]) {
        /* a continuation fragment of the PDU already reported */
        st->in_fragment[d] = more;
        return;
    }
    st->in_fragment[d] = more;
    struct sp_pdu *p = &st->cur;
    if (!sp_decode(p, &st->cur_tx, ctx, t, n, more)) return;
    if ((p->fields & SF_FUNCTION) && !p->response) {
        sp_on_request(ctx, st, dir, p);
    } else if (p->fields & SF_FUNCTION) {
        sp_on_response(ctx, st, dir, p);
    } else {
        /* notifications, system events, keep-alives, unknown opcodes: no pairing; the side
         * follows the direction */
        if (dir == QW_DIR_TO_SERVER && p->opcode != SP_OP_NOTIFICATION)
            sp_emit(ctx, st, p, qw_pctx_time(ctx), NULL, 0);
        else
            sp_emit(ctx, st, NULL, 0, p, qw_pctx_time(ctx));
    }
}

static const struct qw_iso_ops sp_iso_ops = {
    .invalid_tpkt = "s7comm_plus.invalid_tpkt",
    .invalid_cotp = "s7comm_plus.invalid_cotp",
    .oversized_tsdu = "s7comm_plus.oversized_tsdu",
    .tsdu = sp_on_tsdu,
    .control = NULL,
};

/* ---- Descriptor callbacks ------------------------------------------------------------------ */

/* The first DT of the direction must start an S7comm-plus frame: 0x72, a known version and,
 * when that DT ends its TSDU, a data length that the TSDU matches (with or without trailer). */
static enum qw_probe_result sp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    const uint8_t *u = NULL;
    size_t n = 0;
    bool eot = false, complete = false;
    enum qw_probe_result r = qw_iso_probe_first_dt(data, len, &u, &n, &eot, &complete);
    if (r != QW_PROBE_MATCH) return r;
    if (u[0] != SP_PROTO_ID) return QW_PROBE_NO;
    if (n < SP_HDR_LEN) return complete ? QW_PROBE_NO : QW_PROBE_NEED_MORE;
    if (!sp_version_known(u[1])) return QW_PROBE_NO;
    size_t dlen = (size_t)u[2] << 8 | u[3];
    if (complete && eot && n != SP_HDR_LEN + dlen && n != SP_HDR_LEN + dlen + SP_TRAILER_LEN)
        return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

static size_t sp_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct sp_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    return qw_iso_parse(ctx, st, dir, &st->iso[d], st->tsdu[d], sizeof st->tsdu[d], &sp_iso_ops,
                        data, len);
}

static void sp_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct sp_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    qw_iso_gap(&st->iso[d]);
    st->in_fragment[d] = false;
}

static void sp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct sp_state *st = state;
    struct sp_slot *s;
    while ((s = sp_oldest(st)) != NULL) sp_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_s7comm_plus = {
    .name = "s7comm_plus",
    .transports = QW_TRANSPORT_TCP,
    .ports = {SP_PORT, 0},
    .probe = sp_probe,
    .state_size = sizeof(struct sp_state),
    .parse = sp_parse,
    .gap = sp_gap,
    .flow_end = sp_flow_end,
};
