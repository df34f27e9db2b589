/* OPC UA binary parser: UA TCP (UA Connection Protocol) and UA Secure Conversation.
 *
 * Specifications:
 *   [P6] OPC 10000-6 (OPC UA Part 6: Mappings), v1.04/1.05:
 *        s.5.2.2  built-in types of the UA Binary encoding (String, ByteString, NodeId,
 *                 ExtensionObject, DiagnosticInfo, LocalizedText, arrays: Int32 length, -1 null);
 *        s.6.7.2  message chunks: message header, asymmetric and symmetric security headers,
 *                 sequence header, body, footer (padding and signature);
 *        s.6.7.3  MessageChunks and error handling (chunk types F/C/A, abort chunk body);
 *        s.6.7.4  establishing a SecureChannel (OPN/CLO; OPN messages are asymmetrically
 *                 signed and encrypted whenever the SecurityPolicy is not None);
 *        s.7.1.2  UA Connection Protocol messages (HEL, ACK, ERR, RHE).
 *   [P4] OPC 10000-4 (Part 4: Services): s.5.4 discovery (FindServers, GetEndpoints),
 *        s.5.5 SecureChannel, s.5.6 Session (CreateSession, ActivateSession with its
 *        UserIdentityToken, s.7.41), s.7.28/7.29 RequestHeader/ResponseHeader, s.7.39 StatusCode,
 *        s.7.10 EndpointDescription, s.7.1 ApplicationDescription.
 *   Numeric facts (service encoding ids, StatusCode names) live in opcua_tables.c.
 *
 * Message header, every chunk ([P6] s.7.1.2.2, s.6.7.2.2), little-endian:
 *
 *   offset size meaning
 *   ------ ---- ---------------------------------------------------------------------------
 *        0    3 message type: HEL ACK ERR RHE (connection protocol), OPN MSG CLO (secure conv.)
 *        3    1 chunk type: 'F' final, 'C' intermediate, 'A' abort (HEL/ACK/ERR/RHE: 'F' only)
 *        4    4 message size: the whole chunk, header included
 *   OPN/MSG/CLO then carry:
 *        8    4 secure channel id
 *   OPN: asymmetric security header: SecurityPolicyUri (String), SenderCertificate
 *        (ByteString), ReceiverCertificateThumbprint (ByteString);
 *   MSG/CLO: symmetric security header: TokenId (UInt32);
 *   then the sequence header (SequenceNumber, RequestId: UInt32 each) and the body: the NodeId
 *   of the message's binary encoding (e.g. 631 ReadRequest) followed by the structure.
 *
 * Security. The sequence header and body are encrypted when the channel's SecurityPolicy is not
 * None and its mode is SignAndEncrypt (and, for OPN, whenever the policy is not None). A passive
 * monitor that sees an encrypted OPN cannot learn the mode, so a MSG/CLO of a channel whose
 * policy is not None (or unknown: capture started after the OPN) is decoded only when its
 * cleartext is provably plain: the body starts with a namespace-0 service encoding id of the
 * right kind for the direction (request from the client, response to it). Ciphertext passes that
 * test with a probability of about 2^-27; failing it, the chunk is reported with its channel,
 * token, size and `encrypted`, and nothing of its ciphertext is decoded or shown.
 *
 * Chunks. A message split into C chunks is reassembled (body bytes concatenated, headers
 * dropped) into one bounded buffer shared by both directions (UA_BODY_MAX); the message is decoded
 * when its F chunk arrives. Past the bound, or when the buffer is busy with the other direction,
 * the service header is decoded from the first chunk alone and the record says
 * `body_truncated`. An A chunk ends the message: its body is an error StatusCode and a reason.
 * Chunks up to UA_WHOLE_MAX are parsed whole (the engine keeps a split chunk); larger ones are
 * decoded from their first UA_PREFIX bytes and the rest streams through (into the reassembly
 * buffer when it is in use).
 *
 * Pairing. Service requests are paired with responses by the sequence header's RequestId
 * through a bounded queue; HEL pairs with ACK or ERR. Which side is the OPC UA client is learnt
 * from the messages (HEL, request types): with reverse connect (RHE) the server opens the TCP
 * connection. Outcomes are kept apart as in the Modbus parser: a header that breaks the spec is
 * malformed (anomaly, resynchronisation on the next plausible header); a body that ends before
 * its fields is truncated (anomaly, the record is still written); an unknown service is
 * reported as "unknown", not as an anomaly. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/opcua_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its reason ---------------------------------------------------------- */

#define UA_PORT 4840            /* IANA "opcua-tcp" */
#define UA_HDR_LEN 8            /* message header ([P6] s.7.1.2.2) */
#define UA_HEL_MIN 32           /* header + 5 UInt32 + EndpointUrl length */
#define UA_ACK_LEN 28           /* header + 5 UInt32 */
#define UA_ERR_MIN 16           /* header + Error + Reason length */
#define UA_RHE_MIN 16           /* header + two String lengths */
#define UA_OPN_MIN 32           /* header + channel + 3 lengths of the asymmetric header + seq */
#define UA_SYM_MIN 24           /* header + channel + token + sequence header */
/* A chunk size no implementation negotiates: receive buffers are UInt32 but real stacks stay at
 * or below 16 MiB; a larger size is taken as a broken header. */
#define UA_CHUNK_MAX (16u * 1024u * 1024u)
/* Chunks up to this size are parsed once complete. Kept well below the engine's pending bound
 * (QW_STREAM_PENDING_MAX, 66 KiB) so a waiting chunk plus a large segment still fit. */
#define UA_WHOLE_MAX (32u * 1024u)
/* Larger chunks are decoded from this prefix (their headers and first fields) and streamed. */
#define UA_PREFIX (8u * 1024u)
/* Reassembly buffer for multi-chunk message bodies, shared by both directions: big enough for a
 * GetEndpoints or CreateSession response listing several endpoints with their certificates
 * (the minimum chunk size is 8192 bytes, [P6] s.7.1.2.3). */
#define UA_BODY_MAX (16u * 1024u)
/* Outstanding requests per flow: clients keep several Publish requests queued and may pipeline
 * reads. Past this the oldest is reported unanswered (anomaly once per flow). */
#define UA_QUEUE_MAX 32
/* Bytes of strings kept with a queued request (endpoint URL, session name, node ids...); each
 * string is cut at UA_KEEP_STR and the record says so. */
#define UA_POOL 320
#define UA_KEEP_STR 128
#define UA_HEL_URL_KEEP 256
/* Endpoints / servers listed per GetEndpoints / FindServers / CreateSession response. */
#define UA_ENDPOINTS_MAX 16
#define UA_SERVERS_MAX 8
/* DiagnosticInfo nests through InnerDiagnosticInfo; real stacks send one or two levels. */
#define UA_DIAG_DEPTH_MAX 8
/* EndpointUrl bound of the Hello message ([P6] s.7.1.2.3). */
#define UA_URL_MAX 4096
/* Sanity bound on a policy URI when probing: the standard ones are under 80 bytes. */
#define UA_POLICY_URI_MAX 255
/* Node ids and hex shown in JSON are cut at this many bytes. */
#define UA_NODE_STR_MAX 128

static const char UA_POLICY_NONE[] = "http://opcfoundation.org/UA/SecurityPolicy#None";
static const char UA_POLICY_PREFIX[] = "http://opcfoundation.org/UA/SecurityPolicy#";

/* ---- Message types ------------------------------------------------------------------------- */

enum ua_mtype { UA_HEL, UA_ACK, UA_ERR, UA_RHE, UA_OPN, UA_MSG, UA_CLO, UA_MTYPES };

struct ua_mtype_info {
    char tag[4];
    uint32_t min_size;
    bool final_only;  /* connection-protocol messages are never chunked */
    const char *name; /* function_name when no service is decoded */
};

static const struct ua_mtype_info ua_mtypes[UA_MTYPES] = {
    [UA_HEL] = {"HEL", UA_HEL_MIN, true, "Hello"},
    [UA_ACK] = {"ACK", UA_ACK_LEN, true, "Acknowledge"},
    [UA_ERR] = {"ERR", UA_ERR_MIN, true, "Error"},
    [UA_RHE] = {"RHE", UA_RHE_MIN, true, "ReverseHello"},
    [UA_OPN] = {"OPN", UA_OPN_MIN, false, "OpenSecureChannel"},
    [UA_MSG] = {"MSG", UA_SYM_MIN, false, "unknown"},
    [UA_CLO] = {"CLO", UA_SYM_MIN, false, "CloseSecureChannel"},
};

static int ua_mtype_of(const uint8_t *b)
{
    for (int i = 0; i < UA_MTYPES; i++)
        if (memcmp(b, ua_mtypes[i].tag, 3) == 0) return i;
    return -1;
}

static bool ua_chunk_ok(uint8_t c)
{
    return c == 'F' || c == 'C' || c == 'A';
}

/* Header check shared by probe, parse and resync. Needs UA_HDR_LEN bytes. */
static bool ua_header_ok(const uint8_t *b, int *mtype_out, uint32_t *size_out)
{
    int t = ua_mtype_of(b);
    if (t < 0 || !ua_chunk_ok(b[3])) return false;
    if (ua_mtypes[t].final_only && b[3] != 'F') return false;
    uint32_t size = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
                    (uint32_t)b[7] << 24;
    if (size < ua_mtypes[t].min_size || size > UA_CHUNK_MAX) return false;
    if (mtype_out) *mtype_out = t;
    if (size_out) *size_out = size;
    return true;
}

/* ---- Decoded message ----------------------------------------------------------------------- */

/* A String or ByteString value: bytes in the buffer being decoded, or in a request's pool. */
struct ua_ref {
    const uint8_t *p;
    uint32_t len;  /* bytes available at p */
    uint32_t full; /* length as sent (len < full when cut for keeping) */
    bool present;  /* false: null (length -1) or not decoded */
};

enum ua_nodeid_kind { UA_NID_NUMERIC, UA_NID_STRING, UA_NID_GUID, UA_NID_OPAQUE };

struct ua_nodeid {
    bool present;
    uint8_t kind;
    uint16_t ns;
    uint32_t num;
    struct ua_ref str; /* string, 16-byte guid or opaque bytes */
};

struct ua_appdesc {
    bool present;
    struct ua_ref uri, product, name;
    int32_t type; /* ApplicationType: 0 server, 1 client, 2 both, 3 discovery server */
};

struct ua_endpoint {
    struct ua_ref url, policy;
    struct ua_appdesc server;
    int32_t mode;
    uint8_t level;
    uint8_t token_types; /* bit per UserTokenType 0..3 */
    bool cert_present;
    uint32_t cert_len;
};

enum ua_field {
    UA_F_SEQ = 1u << 0,          /* sequence_number, request_id */
    UA_F_ASYM = 1u << 1,         /* OPN security header */
    UA_F_SERVICE = 1u << 2,      /* type id decoded */
    UA_F_HANDLE = 1u << 3,       /* request_handle */
    UA_F_RESULT = 1u << 4,       /* service_result */
    UA_F_HELLO = 1u << 5,        /* HEL/ACK buffer fields */
    UA_F_ERROR = 1u << 6,        /* ERR error + reason */
    UA_F_OPN_REQ = 1u << 7,
    UA_F_OPN_RSP = 1u << 8,
    UA_F_TOKEN = 1u << 9,        /* ActivateSession identity token */
    UA_F_OPS = 1u << 10,         /* operation count */
    UA_F_SERVER_CERT = 1u << 11, /* CreateSession response */
    UA_F_ENDPOINTS = 1u << 12,
    UA_F_SERVERS = 1u << 13,
    UA_F_ABORT = 1u << 14,
    UA_F_SYM = 1u << 15,         /* token id */
    UA_F_CHANNEL = 1u << 16,
};

struct ua_msg {
    uint8_t mtype;
    uint8_t chunk;         /* chunk type of the last chunk */
    bool encrypted, truncated, invalid, body_cut, incomplete, kept_cut;
    uint16_t chunks;
    uint32_t size;         /* bytes of all chunks */
    uint32_t fields;       /* ua_field bits */
    uint32_t channel_id, token_id, seq, request_id;
    /* OPN asymmetric header */
    struct ua_ref policy;
    bool security_none, cert_present, thumb_present;
    uint32_t cert_len;
    /* service */
    struct ua_nodeid type;
    const struct ua_service *svc;
    uint32_t request_handle, status;
    /* HEL / ACK / RHE / ERR / abort */
    uint32_t version, rbs, sbs, mms, mcc;
    struct ua_ref url, server_uri;
    uint32_t error;
    struct ua_ref reason;
    /* OPN bodies */
    uint32_t proto_version, req_type, sec_mode, lifetime, tok_channel, tok_id;
    /* ActivateSession */
    uint32_t token_type_id;
    struct ua_ref token_policy;
    bool user_name_present;
    uint32_t token_cert_len;
    /* CreateSession */
    struct ua_appdesc client;
    struct ua_ref session_name;
    uint32_t server_cert_len;
    /* Read/Write/Browse/Call */
    int32_t nops;
    struct ua_nodeid node, method;
    uint32_t attribute_id;
    /* GetEndpoints / CreateSession / FindServers responses (scratch arrays in the state) */
    int32_t nendpoints_declared, nservers_declared;
    uint8_t nendpoints, nservers;
    const struct ua_endpoint *endpoints;
    const struct ua_appdesc *servers;
};

struct ua_view {
    const struct ua_msg *req, *rsp;
};

struct ua_slot {
    bool used;
    uint32_t request_id;
    uint32_t seq; /* arrival order */
    uint64_t ts_ns;
    struct ua_msg msg;
    uint16_t pool_len;
    uint8_t pool[UA_POOL];
};

enum ua_policy_state { UA_POLICY_UNKNOWN, UA_POLICY_IS_NONE, UA_POLICY_SECURE };

/* A multi-chunk message (or a chunk larger than UA_WHOLE_MAX) being assembled, per direction. */
struct ua_asm {
    bool active;
    bool has_buf;      /* owns the shared body buffer */
    bool collect;      /* the rest of the current chunk is body: copy while streaming */
    bool final_chunk;  /* the current chunk ends the message */
    uint32_t skip;     /* bytes of the current chunk still to stream past */
    uint64_t ts_first;
    struct ua_msg msg; /* numeric facts so far (refs cleared) */
};

struct ua_state {
    bool resync[2];
    bool synced[2];          /* a valid chunk was seen this way: later junk is an anomaly */
    bool queue_full_reported;
    bool client_dir_known;
    uint8_t client_dir;      /* direction the OPC UA client sends in */
    uint8_t policy;          /* ua_policy_state of the channel */
    bool channel_known;
    uint32_t channel_id;
    bool ident_sent[2][3];   /* per sender side: application_uri, product_uri, name */
    /* Hello waiting for its Acknowledge */
    bool hel_used;
    uint64_t hel_ts;
    struct ua_msg hel;
    uint8_t hel_url[UA_HEL_URL_KEEP];
    uint32_t next_seq;
    uint8_t nqueued;
    struct ua_slot queue[UA_QUEUE_MAX];
    struct ua_asm as[2];
    bool buf_busy;           /* body[] holds one direction's message (ua_asm.has_buf) */
    uint32_t body_len;
    bool body_cut;
    struct ua_msg req, rsp;  /* scratch records */
    struct ua_view view;
    struct ua_endpoint endpoints[UA_ENDPOINTS_MAX];
    struct ua_appdesc servers[UA_SERVERS_MAX];
    uint8_t body[UA_BODY_MAX];
};

/* ---- UA Binary readers ([P6] s.5.2.2) ------------------------------------------------------ */

struct ua_dec {
    struct qw_cursor c;
    struct ua_msg *m;
    struct ua_state *st; /* scratch arrays for endpoints/servers; NULL: not decoded */
};

static void ua_invalid(struct ua_dec *d)
{
    d->m->invalid = true;
    d->c.err = true;
}

static int32_t ua_i32(struct qw_cursor *c)
{
    return (int32_t)qw_cur_le32(c);
}

/* String / ByteString: Int32 length (-1 null) and bytes. */
static void ua_string(struct ua_dec *d, struct ua_ref *r)
{
    memset(r, 0, sizeof *r);
    int32_t n = ua_i32(&d->c);
    if (d->c.err || n == -1) return;
    if (n < -1) {
        ua_invalid(d);
        return;
    }
    const uint8_t *p = qw_cur_take(&d->c, (size_t)n);
    if (!p) return;
    r->p = p;
    r->len = r->full = (uint32_t)n;
    r->present = true;
}

static void ua_skip_string(struct ua_dec *d)
{
    struct ua_ref r;
    ua_string(d, &r);
}

/* Array length: -1 (null) reads as 0; each element takes at least `min_elem` bytes, so a count
 * larger than the bytes left is broken rather than a reason to loop. */
static int32_t ua_array_len(struct ua_dec *d, size_t min_elem)
{
    int32_t n = ua_i32(&d->c);
    if (d->c.err) return 0;
    if (n == -1) return 0;
    if (n < -1) {
        ua_invalid(d);
        return 0;
    }
    if ((size_t)n > qw_cur_left(&d->c) / (min_elem ? min_elem : 1)) {
        d->c.err = true; /* cut short: the elements cannot all be there */
        return 0;
    }
    return n;
}

static void ua_skip_string_array(struct ua_dec *d)
{
    int32_t n = ua_array_len(d, 4);
    for (int32_t i = 0; i < n && !d->c.err; i++) ua_skip_string(d);
}

/* NodeId ([P6] s.5.2.2.9); the ExpandedNodeId flags (namespace URI, server index) are accepted
 * and skipped, as some encoders set them in ExtensionObject type ids. */
static void ua_nodeid(struct ua_dec *d, struct ua_nodeid *n)
{
    memset(n, 0, sizeof *n);
    uint8_t mask = qw_cur_u8(&d->c);
    if (d->c.err) return;
    switch (mask & 0x3Fu) {
    case 0x00: n->kind = UA_NID_NUMERIC; n->num = qw_cur_u8(&d->c); break;
    case 0x01:
        n->kind = UA_NID_NUMERIC;
        n->ns = qw_cur_u8(&d->c);
        n->num = qw_cur_le16(&d->c);
        break;
    case 0x02:
        n->kind = UA_NID_NUMERIC;
        n->ns = qw_cur_le16(&d->c);
        n->num = qw_cur_le32(&d->c);
        break;
    case 0x03:
        n->kind = UA_NID_STRING;
        n->ns = qw_cur_le16(&d->c);
        ua_string(d, &n->str);
        break;
    case 0x04: {
        n->kind = UA_NID_GUID;
        n->ns = qw_cur_le16(&d->c);
        const uint8_t *g = qw_cur_take(&d->c, 16);
        if (g) n->str = (struct ua_ref){g, 16, 16, true};
        break;
    }
    case 0x05:
        n->kind = UA_NID_OPAQUE;
        n->ns = qw_cur_le16(&d->c);
        ua_string(d, &n->str);
        break;
    default: ua_invalid(d); return;
    }
    if (mask & 0x80u) ua_skip_string(d);
    if (mask & 0x40u) qw_cur_skip(&d->c, 4);
    n->present = !d->c.err;
}

/* ExtensionObject ([P6] s.5.2.2.15): type id, encoding byte, body. `body` (optional) receives a
 * cursor over a binary body. */
static void ua_extobj(struct ua_dec *d, struct ua_nodeid *type, struct qw_cursor *body)
{
    struct ua_nodeid tmp;
    if (!type) type = &tmp;
    ua_nodeid(d, type);
    uint8_t enc = qw_cur_u8(&d->c);
    if (body) *body = qw_cursor_make(NULL, 0);
    if (d->c.err) return;
    if (enc == 0x00) return;
    if (enc == 0x01 || enc == 0x02) {
        struct ua_ref r;
        ua_string(d, &r);
        if (body && r.present && enc == 0x01) *body = qw_cursor_make(r.p, r.len);
        return;
    }
    ua_invalid(d);
}

/* DiagnosticInfo ([P6] s.5.2.2.12). */
static void ua_skip_diag(struct ua_dec *d, int depth)
{
    if (depth > UA_DIAG_DEPTH_MAX) {
        ua_invalid(d);
        return;
    }
    uint8_t mask = qw_cur_u8(&d->c);
    if (mask & 0x01u) qw_cur_skip(&d->c, 4); /* SymbolicId */
    if (mask & 0x02u) qw_cur_skip(&d->c, 4); /* NamespaceUri */
    if (mask & 0x08u) qw_cur_skip(&d->c, 4); /* Locale */
    if (mask & 0x04u) qw_cur_skip(&d->c, 4); /* LocalizedText */
    if (mask & 0x10u) ua_skip_string(d);     /* AdditionalInfo */
    if (mask & 0x20u) qw_cur_skip(&d->c, 4); /* InnerStatusCode */
    if ((mask & 0x40u) && !d->c.err) ua_skip_diag(d, depth + 1);
}

/* LocalizedText: mask, optional locale, optional text; only the text is kept. */
static void ua_loctext(struct ua_dec *d, struct ua_ref *text)
{
    memset(text, 0, sizeof *text);
    uint8_t mask = qw_cur_u8(&d->c);
    if (mask & 0x01u) ua_skip_string(d);
    if (mask & 0x02u) ua_string(d, text);
}

static void ua_appdesc(struct ua_dec *d, struct ua_appdesc *a)
{
    memset(a, 0, sizeof *a);
    ua_string(d, &a->uri);
    ua_string(d, &a->product);
    ua_loctext(d, &a->name);
    a->type = ua_i32(&d->c);
    ua_skip_string(d); /* GatewayServerUri */
    ua_skip_string(d); /* DiscoveryProfileUri */
    ua_skip_string_array(d); /* DiscoveryUrls */
    a->present = !d->c.err;
}

/* EndpointDescription ([P4] s.7.10). */
static void ua_endpoint(struct ua_dec *d, struct ua_endpoint *e)
{
    memset(e, 0, sizeof *e);
    ua_string(d, &e->url);
    ua_appdesc(d, &e->server);
    struct ua_ref cert;
    ua_string(d, &cert);
    e->cert_present = cert.present && cert.len > 0;
    e->cert_len = cert.len;
    e->mode = ua_i32(&d->c);
    ua_string(d, &e->policy);
    int32_t ntok = ua_array_len(d, 4 * 5);
    for (int32_t i = 0; i < ntok && !d->c.err; i++) {
        ua_skip_string(d); /* PolicyId */
        int32_t tt = ua_i32(&d->c);
        if (!d->c.err && tt >= 0 && tt < 4) e->token_types |= (uint8_t)(1u << tt);
        ua_skip_string(d); /* IssuedTokenType */
        ua_skip_string(d); /* IssuerEndpointUrl */
        ua_skip_string(d); /* SecurityPolicyUri */
    }
    ua_skip_string(d); /* TransportProfileUri */
    e->level = qw_cur_u8(&d->c);
}

static void ua_skip_signature(struct ua_dec *d)
{
    ua_skip_string(d); /* Algorithm */
    ua_skip_string(d); /* Signature */
}

/* RequestHeader ([P4] s.7.28). */
static void ua_request_header(struct ua_dec *d)
{
    struct ua_nodeid auth;
    ua_nodeid(d, &auth);
    qw_cur_skip(&d->c, 8); /* Timestamp */
    uint32_t handle = qw_cur_le32(&d->c);
    if (d->c.err) return;
    d->m->request_handle = handle;
    d->m->fields |= UA_F_HANDLE;
    qw_cur_skip(&d->c, 4); /* ReturnDiagnostics */
    ua_skip_string(d);     /* AuditEntryId */
    qw_cur_skip(&d->c, 4); /* TimeoutHint */
    ua_extobj(d, NULL, NULL);
}

/* ResponseHeader ([P4] s.7.29). */
static void ua_response_header(struct ua_dec *d)
{
    qw_cur_skip(&d->c, 8); /* Timestamp */
    uint32_t handle = qw_cur_le32(&d->c);
    uint32_t result = qw_cur_le32(&d->c);
    if (d->c.err) return;
    d->m->request_handle = handle;
    d->m->status = result;
    d->m->fields |= UA_F_HANDLE | UA_F_RESULT;
    ua_skip_diag(d, 0);
    ua_skip_string_array(d); /* StringTable */
    ua_extobj(d, NULL, NULL);
}

static void ua_endpoint_list(struct ua_dec *d)
{
    struct ua_msg *m = d->m;
    int32_t n = ua_array_len(d, 16);
    m->nendpoints_declared = n;
    m->fields |= UA_F_ENDPOINTS;
    for (int32_t i = 0; i < n && !d->c.err; i++) {
        struct ua_endpoint e;
        ua_endpoint(d, &e);
        if (d->c.err) break;
        if (d->st && m->nendpoints < UA_ENDPOINTS_MAX) {
            d->st->endpoints[m->nendpoints++] = e;
            m->endpoints = d->st->endpoints;
        }
    }
}

/* UserIdentityToken body ([P4] s.7.41): PolicyId first for every subtype. The password of a
 * UserNameIdentityToken is skipped unread. */
static void ua_identity_token(struct ua_dec *d)
{
    struct ua_msg *m = d->m;
    struct ua_nodeid type;
    struct qw_cursor body;
    ua_extobj(d, &type, &body);
    if (d->c.err || !type.present) return;
    m->fields |= UA_F_TOKEN;
    m->token_type_id = type.kind == UA_NID_NUMERIC && type.ns == 0 ? type.num : 0;
    struct ua_dec bd = {body, m, NULL};
    if (!body.base) return;
    ua_string(&bd, &m->token_policy);
    if (m->token_type_id == UA_ID_USERNAME_TOKEN) {
        struct ua_ref user;
        ua_string(&bd, &user);
        m->user_name_present = user.present && user.len > 0;
    } else if (m->token_type_id == UA_ID_X509_TOKEN) {
        struct ua_ref cert;
        ua_string(&bd, &cert);
        m->token_cert_len = cert.len;
    }
}

/* First element's node id of an operation array (Read, Write, Browse, Call). */
static void ua_ops_count(struct ua_dec *d, size_t min_elem)
{
    int32_t n = ua_array_len(d, min_elem);
    if (d->c.err) return;
    d->m->nops = n;
    d->m->fields |= UA_F_OPS;
}

/* The service body after its type id. Numeric-only decoding when d->st is NULL. */
static void ua_decode_service(struct ua_dec *d)
{
    struct ua_msg *m = d->m;
    if (!m->svc) return;
    if (m->svc->kind == UA_SVC_RESPONSE) ua_response_header(d);
    else ua_request_header(d);
    if (d->c.err) return;
    switch (m->type.num) {
    case UA_ID_OPN_REQ:
        m->proto_version = qw_cur_le32(&d->c);
        m->req_type = qw_cur_le32(&d->c);
        m->sec_mode = qw_cur_le32(&d->c);
        ua_skip_string(d); /* ClientNonce */
        m->lifetime = qw_cur_le32(&d->c);
        if (!d->c.err) m->fields |= UA_F_OPN_REQ;
        break;
    case UA_ID_OPN_RSP:
        m->proto_version = qw_cur_le32(&d->c);
        m->tok_channel = qw_cur_le32(&d->c);
        m->tok_id = qw_cur_le32(&d->c);
        qw_cur_skip(&d->c, 8); /* CreatedAt */
        m->lifetime = qw_cur_le32(&d->c);
        if (!d->c.err) m->fields |= UA_F_OPN_RSP;
        ua_skip_string(d); /* ServerNonce */
        break;
    case UA_ID_GET_ENDPOINTS_REQ:
    case UA_ID_FIND_SERVERS_REQ:
        ua_string(d, &m->url);
        break;
    case UA_ID_GET_ENDPOINTS_RSP: ua_endpoint_list(d); break;
    case UA_ID_FIND_SERVERS_RSP: {
        int32_t n = ua_array_len(d, 16);
        m->nservers_declared = n;
        m->fields |= UA_F_SERVERS;
        for (int32_t i = 0; i < n && !d->c.err; i++) {
            struct ua_appdesc a;
            ua_appdesc(d, &a);
            if (d->c.err) break;
            if (d->st && m->nservers < UA_SERVERS_MAX) {
                d->st->servers[m->nservers++] = a;
                m->servers = d->st->servers;
            }
        }
        break;
    }
    case UA_ID_CREATE_SESSION_REQ:
        ua_appdesc(d, &m->client);
        ua_skip_string(d); /* ServerUri */
        ua_string(d, &m->url);
        ua_string(d, &m->session_name);
        break;
    case UA_ID_CREATE_SESSION_RSP: {
        struct ua_nodeid sid, tok;
        ua_nodeid(d, &sid);
        ua_nodeid(d, &tok);
        qw_cur_skip(&d->c, 8); /* RevisedSessionTimeout */
        ua_skip_string(d);     /* ServerNonce */
        struct ua_ref cert;
        ua_string(d, &cert);
        if (d->c.err) break;
        m->fields |= UA_F_SERVER_CERT;
        m->server_cert_len = cert.present ? cert.len : 0;
        ua_endpoint_list(d);
        break;
    }
    case UA_ID_ACTIVATE_SESSION_REQ: {
        ua_skip_signature(d); /* ClientSignature */
        int32_t n = ua_array_len(d, 8);
        for (int32_t i = 0; i < n && !d->c.err; i++) {
            ua_skip_string(d); /* CertificateData */
            ua_skip_string(d); /* Signature */
        }
        ua_skip_string_array(d); /* LocaleIds */
        ua_identity_token(d);
        break;
    }
    case UA_ID_READ_REQ:
        qw_cur_skip(&d->c, 8 + 4); /* MaxAge, TimestampsToReturn */
        ua_ops_count(d, 1 + 4 + 4 + 6);
        if (m->nops > 0) {
            ua_nodeid(d, &m->node);
            m->attribute_id = qw_cur_le32(&d->c);
        }
        break;
    case UA_ID_WRITE_REQ:
        ua_ops_count(d, 1 + 4 + 4 + 1);
        if (m->nops > 0) {
            ua_nodeid(d, &m->node);
            m->attribute_id = qw_cur_le32(&d->c);
        }
        break;
    case UA_ID_BROWSE_REQ: {
        struct ua_nodeid view;
        ua_nodeid(d, &view);
        qw_cur_skip(&d->c, 8 + 4 + 4); /* Timestamp, ViewVersion, RequestedMaxReferencesPerNode */
        ua_ops_count(d, 1 + 4 + 1 + 1 + 4 + 4);
        if (m->nops > 0) ua_nodeid(d, &m->node);
        break;
    }
    case UA_ID_CALL_REQ:
        ua_ops_count(d, 1 + 1 + 4);
        if (m->nops > 0) {
            ua_nodeid(d, &m->node);   /* ObjectId */
            ua_nodeid(d, &m->method); /* MethodId */
        }
        break;
    default: break;
    }
}

/* Type id of the body, then the service. */
static void ua_decode_body(struct ua_dec *d)
{
    struct ua_msg *m = d->m;
    ua_nodeid(d, &m->type);
    if (d->c.err) {
        m->truncated = true;
        return;
    }
    m->fields |= UA_F_SERVICE;
    if (m->type.kind == UA_NID_NUMERIC && m->type.ns == 0) m->svc = ua_service_by_id(m->type.num);
    ua_decode_service(d);
    if (d->c.err) m->truncated = true;
}

/* ---- Identity and names -------------------------------------------------------------------- */

static const char *ua_mode_name(uint32_t mode)
{
    switch (mode) {
    case 0: return "invalid";
    case 1: return "none";
    case 2: return "sign";
    case 3: return "sign_and_encrypt";
    default: return "unknown";
    }
}

static const char *ua_token_name(uint32_t id)
{
    switch (id) {
    case UA_ID_ANONYMOUS_TOKEN: return "anonymous";
    case UA_ID_USERNAME_TOKEN: return "user_name";
    case UA_ID_X509_TOKEN: return "x509";
    case UA_ID_ISSUED_TOKEN: return "issued";
    default: return "unknown";
    }
}

static const char *ua_app_type_name(int32_t t)
{
    switch (t) {
    case 0: return "server";
    case 1: return "client";
    case 2: return "client_and_server";
    case 3: return "discovery_server";
    default: return "unknown";
    }
}

static const char *ua_token_type_names[4] = {"anonymous", "user_name", "certificate",
                                             "issued_token"};

static bool ua_ref_eq(const struct ua_ref *r, const char *s)
{
    size_t n = strlen(s);
    return r->present && r->full == n && r->len == n && memcmp(r->p, s, n) == 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static const char *ua_fn_name(const struct ua_msg *m);

static void ua_json_ref(struct qw_json *j, const char *key, const struct ua_ref *r)
{
    if (!r->present) return;
    qw_json_strn(j, key, r->p, r->len);
}

/* Standard text form of a NodeId ([P6] s.5.3.1.10): i=, s=, g=, b= (bytes as hex here). */
static void ua_nodeid_text(const struct ua_nodeid *n, char *out, size_t cap)
{
    size_t o = 0;
    int w = n->ns ? snprintf(out, cap, "ns=%u;", n->ns) : 0;
    if (w > 0) o = (size_t)w < cap ? (size_t)w : cap - 1;
    switch (n->kind) {
    case UA_NID_NUMERIC: snprintf(out + o, cap - o, "i=%u", n->num); return;
    case UA_NID_STRING: {
        size_t len = n->str.len;
        if (len > cap - o - 3) len = cap - o - 3;
        snprintf(out + o, cap - o, "s=%.*s", (int)len, n->str.present ? (const char *)n->str.p : "");
        return;
    }
    case UA_NID_GUID:
        if (n->str.len == 16) {
            const uint8_t *g = n->str.p;
            snprintf(out + o, cap - o,
                     "g=%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11],
                     g[12], g[13], g[14], g[15]);
            return;
        }
        snprintf(out + o, cap - o, "g=");
        return;
    default: {
        int k = snprintf(out + o, cap - o, "b=");
        size_t p = o + (k > 0 ? (size_t)k : 0);
        for (uint32_t i = 0; i < n->str.len && p + 3 < cap; i++, p += 2)
            snprintf(out + p, cap - p, "%02x", n->str.p[i]);
        return;
    }
    }
}

static void ua_json_nodeid(struct qw_json *j, const char *key, const struct ua_nodeid *n)
{
    if (!n->present) return;
    char buf[16 + 2 * UA_NODE_STR_MAX];
    ua_nodeid_text(n, buf, sizeof buf);
    qw_json_strn(j, key, buf, strlen(buf));
}

static void ua_json_status(struct qw_json *j, const char *key, const char *name_key,
                           uint32_t code)
{
    qw_json_u64(j, key, code);
    const char *n = ua_status_name(code);
    qw_json_str(j, name_key, n ? n : "unknown");
}

static void ua_json_appdesc(struct qw_json *j, const struct ua_appdesc *a)
{
    ua_json_ref(j, "application_uri", &a->uri);
    ua_json_ref(j, "product_uri", &a->product);
    ua_json_ref(j, "application_name", &a->name);
    qw_json_str(j, "application_type", ua_app_type_name(a->type));
}

static void ua_json_endpoints(struct qw_json *j, const struct ua_msg *m)
{
    qw_json_u64(j, "endpoints_count", m->nendpoints_declared > 0 ? (uint64_t)m->nendpoints_declared : 0);
    qw_json_arr_begin(j, "endpoints");
    for (unsigned i = 0; i < m->nendpoints; i++) {
        const struct ua_endpoint *e = &m->endpoints[i];
        qw_json_obj_begin(j, NULL);
        ua_json_ref(j, "endpoint_url", &e->url);
        qw_json_str(j, "security_mode", ua_mode_name((uint32_t)e->mode));
        ua_json_ref(j, "security_policy_uri", &e->policy);
        qw_json_u64(j, "security_level", e->level);
        qw_json_bool(j, "server_certificate_present", e->cert_present);
        qw_json_arr_begin(j, "user_token_types");
        for (unsigned t = 0; t < 4; t++)
            if (e->token_types & (1u << t)) qw_json_str(j, NULL, ua_token_type_names[t]);
        qw_json_arr_end(j);
        if (e->server.present) ua_json_appdesc(j, &e->server);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void ua_json_side(struct qw_json *j, const char *key, const struct ua_msg *m)
{
    uint32_t f = m->fields;
    qw_json_obj_begin(j, key);
    qw_json_str(j, "message_type", ua_mtypes[m->mtype].tag);
    char ct[2] = {(char)m->chunk, 0};
    qw_json_str(j, "chunk_type", ct);
    qw_json_u64(j, "message_size", m->size);
    if (m->chunks > 1) qw_json_u64(j, "chunks", m->chunks);
    if (f & UA_F_CHANNEL) qw_json_u64(j, "secure_channel_id", m->channel_id);
    if (f & UA_F_SYM) qw_json_u64(j, "token_id", m->token_id);
    if (f & UA_F_ASYM) {
        ua_json_ref(j, "security_policy_uri", &m->policy);
        qw_json_bool(j, "security_none", m->security_none);
        qw_json_bool(j, "sender_certificate_present", m->cert_present);
        if (m->cert_present) qw_json_u64(j, "sender_certificate_length", m->cert_len);
        qw_json_bool(j, "receiver_thumbprint_present", m->thumb_present);
    }
    if (m->encrypted) qw_json_bool(j, "encrypted", true);
    if (f & UA_F_SEQ) {
        qw_json_u64(j, "sequence_number", m->seq);
        qw_json_u64(j, "request_id", m->request_id);
    }
    if (f & UA_F_SERVICE) {
        bool numeric = m->type.kind == UA_NID_NUMERIC;
        qw_json_u64(j, "function", numeric ? m->type.num : 0);
        qw_json_str(j, "function_name", m->svc ? m->svc->type : "unknown");
        if (m->svc && m->svc->service) qw_json_str(j, "service", m->svc->service);
        if (!numeric || m->type.ns != 0) ua_json_nodeid(j, "service_node_id", &m->type);
    } else {
        qw_json_u64(j, "function", 0);
        qw_json_str(j, "function_name", ua_fn_name(m));
    }
    if (f & UA_F_HANDLE) qw_json_u64(j, "request_handle", m->request_handle);
    if (f & UA_F_RESULT) ua_json_status(j, "service_result", "service_result_name", m->status);
    if (f & UA_F_HELLO) {
        qw_json_u64(j, "protocol_version", m->version);
        qw_json_u64(j, "receive_buffer_size", m->rbs);
        qw_json_u64(j, "send_buffer_size", m->sbs);
        qw_json_u64(j, "max_message_size", m->mms);
        qw_json_u64(j, "max_chunk_count", m->mcc);
    }
    ua_json_ref(j, "server_uri", &m->server_uri);
    ua_json_ref(j, "endpoint_url", &m->url);
    if (f & UA_F_ERROR) {
        ua_json_status(j, "error", "error_name", m->error);
        ua_json_ref(j, "reason", &m->reason);
    }
    if (f & UA_F_OPN_REQ) {
        qw_json_u64(j, "client_protocol_version", m->proto_version);
        qw_json_str(j, "request_type", m->req_type == 0   ? "issue"
                                       : m->req_type == 1 ? "renew"
                                                          : "unknown");
        qw_json_str(j, "security_mode", ua_mode_name(m->sec_mode));
        qw_json_u64(j, "requested_lifetime", m->lifetime);
    }
    if (f & UA_F_OPN_RSP) {
        qw_json_u64(j, "server_protocol_version", m->proto_version);
        qw_json_u64(j, "security_token_channel_id", m->tok_channel);
        qw_json_u64(j, "security_token_id", m->tok_id);
        qw_json_u64(j, "revised_lifetime", m->lifetime);
    }
    if (m->client.present) {
        qw_json_obj_begin(j, "client_description");
        ua_json_appdesc(j, &m->client);
        qw_json_obj_end(j);
    }
    ua_json_ref(j, "session_name", &m->session_name);
    if (f & UA_F_TOKEN) {
        qw_json_str(j, "identity_token", ua_token_name(m->token_type_id));
        qw_json_u64(j, "identity_token_type_id", m->token_type_id);
        ua_json_ref(j, "identity_policy_id", &m->token_policy);
        if (m->token_type_id == UA_ID_USERNAME_TOKEN)
            qw_json_bool(j, "user_name_present", m->user_name_present);
        if (m->token_type_id == UA_ID_X509_TOKEN)
            qw_json_u64(j, "user_certificate_length", m->token_cert_len);
    }
    if (f & UA_F_SERVER_CERT) {
        qw_json_bool(j, "server_certificate_present", m->server_cert_len > 0);
        if (m->server_cert_len) qw_json_u64(j, "server_certificate_length", m->server_cert_len);
    }
    if (f & UA_F_OPS) {
        qw_json_u64(j, "operations", m->nops > 0 ? (uint64_t)m->nops : 0);
        ua_json_nodeid(j, m->method.present ? "object_id" : "first_node_id", &m->node);
        ua_json_nodeid(j, "method_id", &m->method);
        if (m->node.present && !m->method.present && m->attribute_id)
            qw_json_u64(j, "first_attribute_id", m->attribute_id);
    }
    if (f & UA_F_ENDPOINTS) ua_json_endpoints(j, m);
    if (f & UA_F_SERVERS) {
        qw_json_u64(j, "servers_count", m->nservers_declared > 0 ? (uint64_t)m->nservers_declared : 0);
        qw_json_arr_begin(j, "servers");
        for (unsigned i = 0; i < m->nservers; i++) {
            qw_json_obj_begin(j, NULL);
            ua_json_appdesc(j, &m->servers[i]);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (f & UA_F_ABORT) {
        qw_json_bool(j, "aborted", true);
        ua_json_status(j, "abort_error", "abort_error_name", m->error);
        ua_json_ref(j, "abort_reason", &m->reason);
    }
    if (m->kept_cut) qw_json_bool(j, "strings_cut", true);
    if (m->body_cut) qw_json_bool(j, "body_truncated", true);
    if (m->incomplete) qw_json_bool(j, "incomplete", true);
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void ua_write_json(struct qw_json *j, const void *arg)
{
    const struct ua_view *v = arg;
    if (v->req) ua_json_side(j, "request", v->req);
    if (v->rsp) ua_json_side(j, "response", v->rsp);
}

/* ---- Emission ------------------------------------------------------------------------------ */

static const char *ua_fn_name(const struct ua_msg *m)
{
    if (m->fields & UA_F_SERVICE) return m->svc ? m->svc->type : "unknown";
    if (m->mtype == UA_MSG && m->encrypted) return "encrypted";
    return ua_mtypes[m->mtype].name;
}

static uint32_t ua_fn_code(const struct ua_msg *m)
{
    return (m->fields & UA_F_SERVICE) && m->type.kind == UA_NID_NUMERIC ? m->type.num : 0;
}

static uint32_t ua_ops_of(const struct ua_msg *m)
{
    if (m->svc) return m->svc->ops;
    switch (m->mtype) {
    case UA_HEL:
    case UA_ACK:
    case UA_RHE:
    case UA_OPN:
    case UA_CLO: return QW_OP_SESSION;
    default: return 0;
    }
}

static bool ua_is_error(const struct ua_msg *m)
{
    if (m->mtype == UA_ERR || (m->fields & UA_F_ABORT)) return true;
    if (m->svc && m->type.num == UA_ID_SERVICE_FAULT) return true;
    return (m->fields & UA_F_RESULT) && (m->status & 0x80000000u);
}

static void ua_emit(struct qw_pctx *ctx, struct ua_state *st, const struct ua_msg *req,
                    uint64_t req_ns, const struct ua_msg *rsp, uint64_t rsp_ns)
{
    const struct ua_msg *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = ua_fn_code(key);
    t.function_name = ua_fn_name(key);
    t.ops = ua_ops_of(key);
    if (!t.ops && rsp) t.ops = ua_ops_of(rsp);
    t.error = rsp && ua_is_error(rsp);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = ua_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

/* Copy a ref into a slot's pool (cut at UA_KEEP_STR, or what is left of the pool). */
static void ua_keep(struct ua_slot *s, struct ua_msg *m, struct ua_ref *r)
{
    if (!r->present) return;
    size_t room = UA_POOL - s->pool_len;
    size_t n = r->len;
    if (n > UA_KEEP_STR) n = UA_KEEP_STR;
    if (n > room) n = room;
    if (n < r->len) m->kept_cut = true;
    memcpy(s->pool + s->pool_len, r->p, n);
    r->p = s->pool + s->pool_len;
    r->len = (uint32_t)n;
    s->pool_len = (uint16_t)(s->pool_len + n);
}

static void ua_keep_msg(struct ua_slot *s)
{
    struct ua_msg *m = &s->msg;
    s->pool_len = 0;
    m->kept_cut = false;
    ua_keep(s, m, &m->policy);
    ua_keep(s, m, &m->url);
    ua_keep(s, m, &m->session_name);
    ua_keep(s, m, &m->client.uri);
    ua_keep(s, m, &m->client.product);
    ua_keep(s, m, &m->client.name);
    ua_keep(s, m, &m->token_policy);
    ua_keep(s, m, &m->type.str);
    ua_keep(s, m, &m->node.str);
    ua_keep(s, m, &m->method.str);
    ua_keep(s, m, &m->server_uri);
    ua_keep(s, m, &m->reason);
    m->endpoints = NULL;
    m->servers = NULL;
    m->nendpoints = m->nservers = 0;
}

static struct ua_slot *ua_oldest(struct ua_state *st)
{
    struct ua_slot *best = NULL;
    for (size_t i = 0; i < UA_QUEUE_MAX; i++) {
        struct ua_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct ua_slot *ua_find(struct ua_state *st, uint32_t request_id)
{
    struct ua_slot *best = NULL;
    for (size_t i = 0; i < UA_QUEUE_MAX; i++) {
        struct ua_slot *s = &st->queue[i];
        if (!s->used || s->request_id != request_id) continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static void ua_flush_slot(struct qw_pctx *ctx, struct ua_state *st, struct ua_slot *s)
{
    ua_emit(ctx, st, &s->msg, s->ts_ns, NULL, 0);
    s->used = false;
    st->nqueued--;
}

static void ua_queue_request(struct qw_pctx *ctx, struct ua_state *st, const struct ua_msg *m,
                             uint64_t ts)
{
    struct ua_slot *old = st->nqueued >= UA_QUEUE_MAX ? ua_oldest(st) : NULL;
    if (old) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "opcua.request_queue_full", NULL);
        st->queue_full_reported = true;
        ua_flush_slot(ctx, st, old);
    }
    struct ua_slot *s = NULL;
    for (size_t i = 0; i < UA_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return; /* unreachable: a slot was freed above */
    s->used = true;
    s->request_id = m->request_id;
    s->seq = st->next_seq++;
    s->ts_ns = ts;
    s->msg = *m;
    ua_keep_msg(s);
    st->nqueued++;
}

/* Identity facts about the sender of `m` (sent in direction `dir`). */
static void ua_identity_app(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir,
                            const struct ua_appdesc *a)
{
    bool server = dir == QW_DIR_TO_CLIENT;
    static const char *const attrs[3] = {"application_uri", "product_uri", "name"};
    const struct ua_ref *vals[3] = {&a->uri, &a->product, &a->name};
    for (int i = 0; i < 3; i++) {
        if (st->ident_sent[server][i] || !vals[i]->present || vals[i]->len == 0) continue;
        qw_emit_identity(ctx, server, attrs[i], (const char *)vals[i]->p, vals[i]->len);
        st->ident_sent[server][i] = true;
    }
}

static void ua_identity(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir,
                        const struct ua_msg *m)
{
    if (m->client.present) ua_identity_app(ctx, st, dir, &m->client);
    /* The endpoints a server lists describe that server; FindServers may list other servers,
     * so it gives no identity. */
    for (unsigned i = 0; i < m->nendpoints; i++)
        if (m->endpoints[i].server.present) ua_identity_app(ctx, st, dir, &m->endpoints[i].server);
}

static bool ua_is_request(const struct ua_state *st, enum qw_dir dir, const struct ua_msg *m)
{
    if (m->mtype == UA_HEL || m->mtype == UA_CLO) return true;
    if (m->mtype == UA_ACK || m->mtype == UA_ERR || m->mtype == UA_RHE) return false;
    if (m->svc) return m->svc->kind == UA_SVC_REQUEST;
    if (st->client_dir_known) return dir == st->client_dir;
    return dir == QW_DIR_TO_SERVER;
}

static void ua_learn_client(struct ua_state *st, enum qw_dir dir, const struct ua_msg *m)
{
    if (st->client_dir_known) return;
    bool req;
    if (m->mtype == UA_HEL) req = true;
    else if (m->mtype == UA_ACK) req = false;
    else if (m->svc) req = m->svc->kind == UA_SVC_REQUEST;
    else return;
    st->client_dir = (uint8_t)(req ? dir : (dir ^ 1));
    st->client_dir_known = true;
}

/* A complete message, decoded. */
static void ua_on_message(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir,
                          struct ua_msg *m, uint64_t ts)
{
    ua_learn_client(st, dir, m);
    if (m->mtype == UA_OPN && (m->fields & UA_F_ASYM))
        st->policy = m->security_none ? UA_POLICY_IS_NONE : UA_POLICY_SECURE;
    if ((m->fields & UA_F_OPN_RSP) && !ua_is_error(m)) {
        st->channel_id = m->tok_channel;
        st->channel_known = true;
    } else if ((m->fields & UA_F_CHANNEL) && m->channel_id != 0 && !st->channel_known) {
        st->channel_id = m->channel_id;
        st->channel_known = true;
    }
    ua_identity(ctx, st, dir, m);

    if (m->mtype == UA_HEL) {
        if (st->hel_used) ua_emit(ctx, st, &st->hel, st->hel_ts, NULL, 0);
        st->hel = *m;
        size_t n = m->url.len < UA_HEL_URL_KEEP ? m->url.len : UA_HEL_URL_KEEP;
        if (m->url.present) memcpy(st->hel_url, m->url.p, n);
        st->hel.url.p = st->hel_url;
        st->hel.kept_cut = n < m->url.len;
        st->hel.url.len = (uint32_t)n;
        st->hel_used = true;
        st->hel_ts = ts;
        return;
    }
    if ((m->mtype == UA_ACK || m->mtype == UA_ERR) && st->hel_used) {
        st->hel_used = false;
        ua_emit(ctx, st, &st->hel, st->hel_ts, m, ts);
        return;
    }
    bool paired_kind = (m->fields & UA_F_SEQ) && (m->mtype == UA_OPN || m->mtype == UA_MSG);
    if (ua_is_request(st, dir, m)) {
        if (paired_kind) ua_queue_request(ctx, st, m, ts);
        else ua_emit(ctx, st, m, ts, NULL, 0);
        return;
    }
    struct ua_slot *s = paired_kind ? ua_find(st, m->request_id) : NULL;
    if (s) {
        if (s->msg.svc && m->svc && m->type.num != UA_ID_SERVICE_FAULT &&
            (!s->msg.svc->service || !m->svc->service ||
             strcmp(s->msg.svc->service, m->svc->service) != 0))
            qw_emit_anomaly(ctx, "opcua.service_mismatch", m->svc->type);
        ua_emit(ctx, st, &s->msg, s->ts_ns, m, ts);
        s->used = false;
        st->nqueued--;
    } else {
        ua_emit(ctx, st, NULL, 0, m, ts);
    }
}

static void ua_report_decode(struct qw_pctx *ctx, const struct ua_msg *m)
{
    if (m->invalid) qw_emit_anomaly(ctx, "opcua.invalid_encoding", ua_fn_name(m));
    else if (m->truncated) qw_emit_anomaly(ctx, "opcua.truncated_message", ua_fn_name(m));
}

/* ---- Chunk processing ---------------------------------------------------------------------- */

/* Is the cleartext of a symmetric chunk provable? `c` is at the sequence header. */
static bool ua_plain(const struct ua_state *st, enum qw_dir dir, struct qw_cursor c)
{
    qw_cur_skip(&c, 8);
    uint8_t mask = qw_cur_u8(&c);
    uint32_t id;
    if (mask == 0x01) {
        if (qw_cur_u8(&c) != 0) return false;
        id = qw_cur_le16(&c);
    } else if (mask == 0x02) {
        if (qw_cur_le16(&c) != 0) return false;
        id = qw_cur_le32(&c);
    } else {
        return false;
    }
    if (c.err) return false;
    const struct ua_service *s = ua_service_by_id(id);
    if (!s) return false;
    if (!st->client_dir_known) return true;
    bool req = s->kind == UA_SVC_REQUEST;
    return req == (dir == st->client_dir);
}

/* Header fields common to every chunk. `c` starts after the message header. Returns false when
 * the chunk's headers did not fit (a truncated chunk). */
static bool ua_chunk_headers(struct ua_state *st, enum qw_dir dir, struct qw_cursor *c,
                             struct ua_msg *m, const struct ua_asm *a)
{
    struct ua_dec d = {*c, m, NULL};
    m->channel_id = qw_cur_le32(&d.c);
    if (d.c.err) return false;
    m->fields |= UA_F_CHANNEL;
    if (m->mtype == UA_OPN) {
        ua_string(&d, &m->policy);
        struct ua_ref cert, thumb;
        ua_string(&d, &cert);
        ua_string(&d, &thumb);
        if (d.c.err) {
            *c = d.c;
            return false;
        }
        m->fields |= UA_F_ASYM;
        m->security_none = ua_ref_eq(&m->policy, UA_POLICY_NONE);
        m->cert_present = cert.present && cert.len > 0;
        m->cert_len = cert.len;
        m->thumb_present = thumb.present && thumb.len > 0;
        m->encrypted = !m->security_none;
    } else {
        m->token_id = qw_cur_le32(&d.c);
        if (d.c.err) return false;
        m->fields |= UA_F_SYM;
        /* A continuation chunk's body starts mid-structure: it is as plain as its first chunk. */
        if (a->active && a->msg.mtype == m->mtype) m->encrypted = a->msg.encrypted;
        else m->encrypted = st->policy != UA_POLICY_IS_NONE && !ua_plain(st, dir, d.c);
    }
    if (!m->encrypted) {
        m->seq = qw_cur_le32(&d.c);
        m->request_id = qw_cur_le32(&d.c);
        if (d.c.err) {
            *c = d.c;
            return false;
        }
        m->fields |= UA_F_SEQ;
    }
    *c = d.c;
    return true;
}

/* HEL / ACK / ERR / RHE: never chunked, decoded from the view. */
static void ua_conn_message(struct ua_dec *d)
{
    struct ua_msg *m = d->m;
    switch (m->mtype) {
    case UA_HEL:
    case UA_ACK:
        m->version = qw_cur_le32(&d->c);
        m->rbs = qw_cur_le32(&d->c);
        m->sbs = qw_cur_le32(&d->c);
        m->mms = qw_cur_le32(&d->c);
        m->mcc = qw_cur_le32(&d->c);
        if (!d->c.err) m->fields |= UA_F_HELLO;
        if (m->mtype == UA_HEL) {
            ua_string(d, &m->url);
            if (m->url.present && m->url.len > UA_URL_MAX) ua_invalid(d);
        }
        break;
    case UA_ERR:
        m->error = qw_cur_le32(&d->c);
        if (!d->c.err) m->fields |= UA_F_ERROR;
        ua_string(d, &m->reason);
        break;
    case UA_RHE:
        ua_string(d, &m->server_uri);
        ua_string(d, &m->url);
        break;
    default: break;
    }
    if (d->c.err && !m->invalid) m->truncated = true;
}

/* Keep only the numbers of a decoded first chunk (its refs point into a transient view). */
static void ua_drop_refs(struct ua_msg *m)
{
    struct ua_msg n = *m;
    memset(&n.policy, 0, sizeof n.policy);
    memset(&n.url, 0, sizeof n.url);
    memset(&n.server_uri, 0, sizeof n.server_uri);
    memset(&n.reason, 0, sizeof n.reason);
    memset(&n.token_policy, 0, sizeof n.token_policy);
    memset(&n.client, 0, sizeof n.client);
    memset(&n.session_name, 0, sizeof n.session_name);
    memset(&n.type.str, 0, sizeof n.type.str);
    memset(&n.node, 0, sizeof n.node);
    memset(&n.method, 0, sizeof n.method);
    n.endpoints = NULL;
    n.servers = NULL;
    n.nendpoints = n.nservers = 0;
    n.fields &= ~(uint32_t)(UA_F_ENDPOINTS | UA_F_SERVERS | UA_F_TOKEN | UA_F_OPS);
    *m = n;
}

static void ua_buf_append(struct ua_state *st, const uint8_t *p, size_t n)
{
    size_t room = UA_BODY_MAX - st->body_len;
    if (n > room) {
        st->body_cut = true;
        n = room;
    }
    memcpy(st->body + st->body_len, p, n);
    st->body_len += (uint32_t)n;
}

static void ua_buf_release(struct ua_state *st, struct ua_asm *a)
{
    if (a->has_buf) {
        st->buf_busy = false;
        st->body_len = 0;
        st->body_cut = false;
    }
    a->has_buf = false;
}

/* The message assembled in `a` is complete (or abandoned): decode and report it. */
static void ua_finish(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir, struct ua_asm *a,
                      bool incomplete)
{
    struct ua_msg *m = &st->rsp; /* scratch; the request path copies it into the queue */
    *m = a->msg;
    m->incomplete = incomplete;
    if (a->has_buf && !m->encrypted && (m->fields & UA_F_SEQ)) {
        /* Re-decode the whole reassembled body (the first chunk's numbers are replaced). */
        struct ua_msg keep = *m;
        m->fields &= UA_F_SEQ | UA_F_SYM | UA_F_CHANNEL | UA_F_ASYM | UA_F_ABORT;
        m->svc = NULL;
        m->truncated = m->invalid = false;
        struct ua_dec d = {qw_cursor_make(st->body, st->body_len), m, st};
        ua_decode_body(&d);
        m->body_cut = st->body_cut;
        if (m->body_cut || incomplete || (keep.fields & UA_F_ABORT)) m->truncated = false;
        else ua_report_decode(ctx, m);
        m->error = keep.error;
        m->reason = keep.reason;
    }
    ua_on_message(ctx, st, dir, m, qw_pctx_time(ctx));
    ua_buf_release(st, a);
    memset(&a->msg, 0, sizeof a->msg);
    a->active = a->collect = a->final_chunk = false;
}

/* One chunk (or the first `view_len` bytes of a chunk of `size` bytes). */
static void ua_chunk(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir, const uint8_t *p,
                     size_t view_len, uint32_t size, int mtype)
{
    unsigned di = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    struct ua_asm *a = &st->as[di];
    uint8_t ct = p[3];
    bool whole = view_len >= size;
    struct qw_cursor c = qw_cursor_make(p, whole ? size : view_len);
    qw_cur_skip(&c, UA_HDR_LEN);

    struct ua_msg m;
    memset(&m, 0, sizeof m);
    m.mtype = (uint8_t)mtype;
    m.chunk = ct;
    m.size = size;
    m.chunks = 1;

    if (ua_mtypes[mtype].final_only) {
        struct ua_dec d = {c, &m, st};
        ua_conn_message(&d);
        ua_report_decode(ctx, &m);
        ua_on_message(ctx, st, dir, &m, qw_pctx_time(ctx));
        a->skip = whole ? 0 : (uint32_t)(size - view_len);
        a->collect = a->final_chunk = false;
        return;
    }

    bool hdr_ok = ua_chunk_headers(st, dir, &c, &m, a);
    /* A chunk of another message while one is being assembled: the sender interleaved or
     * chunks were lost. Report the earlier one as incomplete. */
    if (a->active && (mtype != a->msg.mtype || m.encrypted != a->msg.encrypted ||
                      ((m.fields & UA_F_SEQ) && m.request_id != a->msg.request_id))) {
        qw_emit_anomaly(ctx, "opcua.interleaved_chunks", ua_mtypes[mtype].tag);
        ua_finish(ctx, st, dir, a, true);
    }
    if (!hdr_ok) {
        m.truncated = true;
        qw_emit_anomaly(ctx, "opcua.truncated_message", ua_mtypes[mtype].tag);
    }
    uint64_t now = qw_pctx_time(ctx);
    const uint8_t *body = qw_cur_ptr(&c);
    size_t body_view = qw_cur_left(&c);
    bool clear = hdr_ok && !m.encrypted;

    if (ct == 'A') {
        /* Abort: the body is Error (StatusCode) and Reason ([P6] s.6.7.3). */
        struct ua_dec d = {c, &m, NULL};
        uint32_t err = 0;
        struct ua_ref reason = {0};
        if (clear) {
            err = qw_cur_le32(&d.c);
            ua_string(&d, &reason);
        }
        struct ua_msg *dst = a->active ? &a->msg : &m;
        if (!a->active) a->ts_first = now;
        dst->chunk = 'A';
        if (a->active) {
            dst->chunks++;
            dst->size += size;
        }
        if (clear && !d.c.err) {
            dst->fields |= UA_F_ABORT;
            dst->error = err;
            dst->reason = reason;
        }
        if (!a->active) a->msg = m;
        a->active = true;
        ua_finish(ctx, st, dir, a, false);
        a->skip = whole ? 0 : (uint32_t)(size - view_len);
        return;
    }

    bool first = !a->active;
    if (ct == 'F' && first && whole) {
        /* The common case: a single-chunk message, decoded in place. */
        if (clear) {
            struct ua_dec d = {qw_cursor_make(body, body_view), &m, st};
            ua_decode_body(&d);
            ua_report_decode(ctx, &m);
        }
        ua_on_message(ctx, st, dir, &m, now);
        return;
    }
    if (first) {
        a->msg = m;
        a->ts_first = now;
        if (clear) {
            /* Numbers from the first chunk, in case the whole body is not kept. */
            struct ua_dec d = {qw_cursor_make(body, body_view), &a->msg, NULL};
            ua_decode_body(&d);
            a->msg.truncated = false;
            ua_drop_refs(&a->msg);
        }
    } else {
        a->msg.chunks++;
        a->msg.size += size;
        a->msg.chunk = ct;
    }

    /* Multi-chunk message, or a chunk larger than we hold at once: assemble. */
    a->active = true;
    if (first && clear && !st->buf_busy) {
        st->buf_busy = true;
        st->body_len = 0;
        st->body_cut = false;
        a->has_buf = true;
    } else if (first && clear) {
        a->msg.body_cut = true; /* the buffer serves the other direction */
    }
    if (a->has_buf) {
        if (clear) ua_buf_append(st, body, body_view);
        else st->body_cut = true;
    }
    a->final_chunk = ct == 'F';
    a->collect = a->has_buf && clear && !whole;
    a->skip = whole ? 0 : (uint32_t)(size - view_len);
    if (a->skip == 0 && a->final_chunk) ua_finish(ctx, st, dir, a, false);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* Does what follows a chunk ending at `end` look like another header (or nothing yet)? */
static bool ua_chain_ok(const uint8_t *b, size_t n, size_t end)
{
    if (end >= n) return true;
    size_t left = n - end;
    if (left < UA_HDR_LEN) {
        /* Compare the bytes there are with the message tags. */
        for (int t = 0; t < UA_MTYPES; t++) {
            size_t k = left < 3 ? left : 3;
            if (memcmp(b + end, ua_mtypes[t].tag, k) == 0 && (left < 4 || ua_chunk_ok(b[end + 3])))
                return true;
        }
        return false;
    }
    return ua_header_ok(b + end, NULL, NULL);
}

/* A resynchronisation candidate at b[0..n): a valid header, the known channel id for secure
 * conversation chunks, and (when the chunk is complete) a header or the end after it. */
static bool ua_plausible(const struct ua_state *st, const uint8_t *b, size_t n, bool *wait)
{
    int t;
    uint32_t size;
    *wait = false;
    if (!ua_header_ok(b, &t, &size)) return false;
    if (t >= UA_OPN && st->channel_known && n >= 12) {
        uint32_t ch = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
                      (uint32_t)b[11] << 24;
        if (ch != st->channel_id) return false;
    }
    if (size > n) {
        *wait = size <= UA_WHOLE_MAX;
        return !*wait;
    }
    return ua_chain_ok(b, n, size);
}

static enum qw_probe_result ua_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* reverse connect makes either side send first */
    size_t k = len < 3 ? len : 3;
    int t = -1;
    for (int i = 0; i < UA_MTYPES && t < 0; i++)
        if (memcmp(data, ua_mtypes[i].tag, k) == 0) t = i;
    if (t < 0) return QW_PROBE_NO;
    if (len < UA_HDR_LEN) {
        if (len >= 4 && !ua_chunk_ok(data[3])) return QW_PROBE_NO;
        return QW_PROBE_NEED_MORE;
    }
    uint32_t size;
    if (!ua_header_ok(data, &t, &size)) return QW_PROBE_NO;
    struct qw_cursor c = qw_cursor_make(data + UA_HDR_LEN, len - UA_HDR_LEN);
    switch (t) {
    case UA_HEL: {
        uint32_t ver = qw_cur_le32(&c);
        uint32_t rbs = qw_cur_le32(&c);
        uint32_t sbs = qw_cur_le32(&c);
        qw_cur_skip(&c, 8);
        int32_t ulen = ua_i32(&c);
        if (c.err) return QW_PROBE_NEED_MORE;
        /* Version 0 today; buffer sizes of at least 8192 ([P6] s.7.1.2.3), leniently 1024. */
        if (ver > 0xFF || rbs < 1024 || sbs < 1024) return QW_PROBE_NO;
        if (ulen < -1 || ulen > UA_URL_MAX || (ulen > 0 && (uint32_t)ulen > size - UA_HEL_MIN))
            return QW_PROBE_NO;
        break;
    }
    case UA_ACK: {
        uint32_t ver = qw_cur_le32(&c);
        uint32_t rbs = qw_cur_le32(&c);
        uint32_t sbs = qw_cur_le32(&c);
        if (c.err) return QW_PROBE_NEED_MORE;
        if (ver > 0xFF || rbs < 1024 || sbs < 1024) return QW_PROBE_NO;
        break;
    }
    case UA_ERR: {
        uint32_t code = qw_cur_le32(&c);
        if (c.err) return QW_PROBE_NEED_MORE;
        if ((code & 0xC0000000u) != 0x80000000u) return QW_PROBE_NO; /* an error is Bad */
        break;
    }
    case UA_OPN: {
        qw_cur_skip(&c, 4);
        int32_t plen = ua_i32(&c);
        if (c.err) return QW_PROBE_NEED_MORE;
        if (plen < 1 || plen > UA_POLICY_URI_MAX || (uint32_t)plen > size - UA_OPN_MIN)
            return QW_PROBE_NO;
        size_t have = qw_cur_left(&c);
        size_t want = sizeof UA_POLICY_PREFIX - 1;
        if ((size_t)plen < want) want = (size_t)plen;
        size_t cmp = have < want ? have : want;
        if (memcmp(qw_cur_ptr(&c), UA_POLICY_PREFIX, cmp) != 0) return QW_PROBE_NO;
        if (cmp < want) return QW_PROBE_NEED_MORE;
        break;
    }
    default: break;
    }
    if (size < len && !ua_chain_ok(data, len, size)) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

/* Stream the rest of a large chunk (into the reassembly buffer when collecting). */
static size_t ua_stream_skip(struct qw_pctx *ctx, struct ua_state *st, enum qw_dir dir,
                             const uint8_t *data, size_t len)
{
    struct ua_asm *a = &st->as[dir == QW_DIR_TO_CLIENT ? 1 : 0];
    size_t n = a->skip < len ? a->skip : len;
    if (a->collect) ua_buf_append(st, data, n);
    a->skip -= (uint32_t)n;
    if (a->skip == 0) {
        a->collect = false;
        if (a->final_chunk) ua_finish(ctx, st, dir, a, false);
    }
    return n;
}

static size_t ua_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct ua_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->as[d].skip) {
            off += ua_stream_skip(ctx, st, dir, data + off, len - off);
            continue;
        }
        if (st->resync[d]) {
            bool found = false, wait = false;
            for (; len - off >= UA_HDR_LEN; off++) {
                if (ua_plausible(st, data + off, len - off, &wait)) {
                    found = true;
                    break;
                }
                if (wait) return off; /* a candidate still arriving: look again then */
            }
            if (!found) return off; /* fewer than a header's bytes left: keep them */
            st->resync[d] = false;
        }
        if (len - off < UA_HDR_LEN) return off;
        int t;
        uint32_t size;
        if (!ua_header_ok(data + off, &t, &size)) {
            if (st->synced[d]) qw_emit_anomaly(ctx, "opcua.invalid_header", NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t avail = len - off;
        if (size <= UA_WHOLE_MAX) {
            if (avail < size) return off; /* the engine keeps the partial chunk */
            ua_chunk(ctx, st, dir, data + off, size, size, t);
            off += size;
        } else {
            size_t view = size < UA_PREFIX ? size : UA_PREFIX;
            if (avail < view) return off;
            size_t take = avail < size ? avail : size;
            ua_chunk(ctx, st, dir, data + off, take, size, t);
            off += take;
        }
        st->synced[d] = true;
    }
    return off;
}

static void ua_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    struct ua_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    struct ua_asm *a = &st->as[d];
    if (a->active) ua_finish(ctx, st, dir, a, true);
    a->skip = 0;
    a->collect = false;
    st->resync[d] = true;
}

static void ua_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ua_state *st = state;
    for (unsigned d = 0; d < 2; d++)
        if (st->as[d].active) ua_finish(ctx, st, d ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER,
                                        &st->as[d], true);
    if (st->hel_used) {
        st->hel_used = false;
        ua_emit(ctx, st, &st->hel, st->hel_ts, NULL, 0);
    }
    struct ua_slot *s;
    while ((s = ua_oldest(st)) != NULL) ua_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_opcua = {
    .name = "opcua",
    .transports = QW_TRANSPORT_TCP,
    .ports = {UA_PORT, 0},
    .probe = ua_probe,
    .state_size = sizeof(struct ua_state),
    .parse = ua_parse,
    .gap = ua_gap,
    .flow_end = ua_flow_end,
};
