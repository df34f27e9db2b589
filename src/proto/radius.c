/* RADIUS parser, UDP 1812/1813 (and the old 1645/1646), dynamic authorization on 3799.
 *
 * Specifications:
 *   [2865] RFC 2865 RADIUS: s.3 packet format, s.4 packet types, s.5 attributes (Length >= 3 for
 *          text and string, 6 for address and integer), s.5.44 attribute table.
 *   [2866] RFC 2866 RADIUS accounting: codes 4/5, Acct-Status-Type, Acct-Session-Id,
 *          Acct-Session-Time, octet and packet counters, Acct-Terminate-Cause.
 *   [2869] RFC 2869 extensions: Acct-Input/Output-Gigawords (the high 32 bits of the octet
 *          counters), EAP-Message (79), Message-Authenticator (80, always 16 bytes).
 *   [3162] RFC 3162 IPv6: NAS-IPv6-Address (95), Framed-IPv6-Prefix (97: reserved, prefix
 *          length, up to 16 prefix bytes).
 *   [3579] RFC 3579 EAP over RADIUS: s.3.2 a message with EAP-Message without a
 *          Message-Authenticator must be silently discarded.
 *   [5176] RFC 5176 dynamic authorization: Disconnect (40/41/42), CoA (43/44/45), Error-Cause.
 *   [5997] RFC 5997 Status-Server (12), answered by Access-Accept or Accounting-Response.
 *   BlastRADIUS (CVE-2024-3596, blastradius.fail) and the IETF draft deprecating insecure
 *   practices in RADIUS: without a Message-Authenticator nothing protects an Access-Request's
 *   attributes, and an attacker in the path can forge an Access-Accept from an Access-Reject by
 *   an MD5 chosen-prefix collision hidden in a Proxy-State; a Message-Authenticator in every
 *   Access-Request and every Access-Accept/Reject/Challenge (checked by the peer) prevents it.
 *
 * Message ([2865] s.3, big-endian):
 *
 *   offset size meaning
 *   ------ ---- -----------------------------------------------------------------------------
 *        0    1 code
 *        1    1 identifier (pairs a response with its request)
 *        2    2 length, 20..4096, the header included; octets past it are padding
 *        4   16 authenticator (random in Access-Request, a keyed MD5 elsewhere)
 *       20  ... attributes: type (1), length (1, >= 2, the two included), value
 *
 * Pairing: a request (1, 4, 12, 40, 43) waits in a bounded queue for the response of its
 * family with the same identifier, from the other direction (Access-Request: Accept, Reject,
 * Challenge; Accounting-Request: Accounting-Response; Status-Server: Access-Accept or
 * Accounting-Response; Disconnect-Request: ACK/NAK; CoA-Request: ACK/NAK). A request sent again
 * with the same identifier and authenticator is a retransmission and counted on the waiting one;
 * the same identifier with another authenticator is a new request, and the old one is written
 * unanswered. Responses with no request waiting are records of their own (the capture may have
 * started after the request).
 *
 * What is never written: User-Password, CHAP-Password, Tunnel-Password, ARAP-Password, State,
 * Class, Proxy-State, the authenticators and the Message-Authenticator's value: they are secrets
 * or derived from the shared secret. Only their presence is (in `attributes`). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define RAD_HDR_LEN 20
#define RAD_MAX_LEN 4096
#define RAD_AUTH_LEN 16
/* Outstanding requests per flow. A NAS may have up to 256 in flight on one socket, but a
 * monitor needs only the recent ones: older ones are written unanswered. */
#define RAD_QUEUE_MAX 8
#define RAD_TEXT_MAX 64     /* bytes kept of a text attribute */
#define RAD_REPLY_MAX 128   /* ... of Reply-Message */
#define RAD_TYPES_MAX 48    /* attribute types listed per message */
#define RAD_VENDORS_MAX 6   /* distinct vendor ids listed per message */
#define RAD_INVALID_MAX 4   /* radius.invalid_message anomalies per flow */

/* ---- Tables ---------------------------------------------------------------------------- */

enum rad_family { RAD_FAM_NONE, RAD_FAM_ACCESS, RAD_FAM_ACCT, RAD_FAM_STATUS, RAD_FAM_DISC,
                  RAD_FAM_COA };

struct rad_code {
    const char *name;
    uint8_t family;
    bool request;
    bool error; /* a negative answer */
};

/* Codes ([2865] s.4, [2866] s.4, [5997], [5176] s.3). */
static const struct rad_code rad_codes[256] = {
    [1] = {"access_request", RAD_FAM_ACCESS, true, false},
    [2] = {"access_accept", RAD_FAM_ACCESS, false, false},
    [3] = {"access_reject", RAD_FAM_ACCESS, false, true},
    [4] = {"accounting_request", RAD_FAM_ACCT, true, false},
    [5] = {"accounting_response", RAD_FAM_ACCT, false, false},
    [11] = {"access_challenge", RAD_FAM_ACCESS, false, false},
    [12] = {"status_server", RAD_FAM_STATUS, true, false},
    [40] = {"disconnect_request", RAD_FAM_DISC, true, false},
    [41] = {"disconnect_ack", RAD_FAM_DISC, false, false},
    [42] = {"disconnect_nak", RAD_FAM_DISC, false, true},
    [43] = {"coa_request", RAD_FAM_COA, true, false},
    [44] = {"coa_ack", RAD_FAM_COA, false, false},
    [45] = {"coa_nak", RAD_FAM_COA, false, true},
};

/* Operation classes per family. Disconnect and CoA are commands a server sends to the NAS to
 * end a user's session or change what it may do, acting on a live session: control + session.
 * Status-Server only asks whether the server is alive. */
static const uint32_t rad_family_ops[] = {
    [RAD_FAM_NONE] = 0,
    [RAD_FAM_ACCESS] = QW_OP_AUTH,
    [RAD_FAM_ACCT] = QW_OP_SESSION,
    [RAD_FAM_STATUS] = QW_OP_DIAGNOSTIC,
    [RAD_FAM_DISC] = QW_OP_CONTROL | QW_OP_SESSION,
    [RAD_FAM_COA] = QW_OP_CONTROL | QW_OP_SESSION,
};

/* How an attribute's value is formed, and so which lengths are valid ([2865] s.5). */
enum rad_kind {
    RK_UNKNOWN = 0, /* not checked */
    RK_TEXT,        /* text or string: 1..253 bytes */
    RK_SECRET,      /* string never written (State, Class, Proxy-State, tunnel password) */
    RK_ADDR,        /* IPv4 address: 4 */
    RK_INT,         /* 32-bit integer (also tagged integers): 4 */
    RK_IPV6,        /* IPv6 address: 16 */
    RK_PREFIX,      /* IPv6 prefix: 2..18 */
    RK_IFID,        /* interface id: 8 */
    RK_PASSWORD,    /* User-Password: 16..128, a multiple of 16 */
    RK_CHAP,        /* CHAP-Password: 17 */
    RK_MSGAUTH,     /* Message-Authenticator, ARAP-Password: 16 */
    RK_VSA,         /* Vendor-Specific: vendor id (4) and at least one byte */
};

struct rad_attr {
    const char *name;
    uint8_t kind;
};

/* Attribute types ([2865] s.5, [2866] s.5, [2867], [2868], [2869] s.5, [3162], [5176]). */
static const struct rad_attr rad_attrs[256] = {
    [1] = {"user_name", RK_TEXT},           [2] = {"user_password", RK_PASSWORD},
    [3] = {"chap_password", RK_CHAP},       [4] = {"nas_ip_address", RK_ADDR},
    [5] = {"nas_port", RK_INT},             [6] = {"service_type", RK_INT},
    [7] = {"framed_protocol", RK_INT},      [8] = {"framed_ip_address", RK_ADDR},
    [9] = {"framed_ip_netmask", RK_ADDR},   [10] = {"framed_routing", RK_INT},
    [11] = {"filter_id", RK_TEXT},          [12] = {"framed_mtu", RK_INT},
    [13] = {"framed_compression", RK_INT},  [14] = {"login_ip_host", RK_ADDR},
    [15] = {"login_service", RK_INT},       [16] = {"login_tcp_port", RK_INT},
    [18] = {"reply_message", RK_TEXT},      [19] = {"callback_number", RK_TEXT},
    [20] = {"callback_id", RK_TEXT},        [22] = {"framed_route", RK_TEXT},
    [23] = {"framed_ipx_network", RK_INT},  [24] = {"state", RK_SECRET},
    [25] = {"class", RK_SECRET},            [26] = {"vendor_specific", RK_VSA},
    [27] = {"session_timeout", RK_INT},     [28] = {"idle_timeout", RK_INT},
    [29] = {"termination_action", RK_INT},  [30] = {"called_station_id", RK_TEXT},
    [31] = {"calling_station_id", RK_TEXT}, [32] = {"nas_identifier", RK_TEXT},
    [33] = {"proxy_state", RK_SECRET},      [34] = {"login_lat_service", RK_TEXT},
    [35] = {"login_lat_node", RK_TEXT},     [36] = {"login_lat_group", RK_TEXT},
    [37] = {"framed_appletalk_link", RK_INT}, [38] = {"framed_appletalk_network", RK_INT},
    [39] = {"framed_appletalk_zone", RK_TEXT}, [40] = {"acct_status_type", RK_INT},
    [41] = {"acct_delay_time", RK_INT},     [42] = {"acct_input_octets", RK_INT},
    [43] = {"acct_output_octets", RK_INT},  [44] = {"acct_session_id", RK_TEXT},
    [45] = {"acct_authentic", RK_INT},      [46] = {"acct_session_time", RK_INT},
    [47] = {"acct_input_packets", RK_INT},  [48] = {"acct_output_packets", RK_INT},
    [49] = {"acct_terminate_cause", RK_INT}, [50] = {"acct_multi_session_id", RK_TEXT},
    [51] = {"acct_link_count", RK_INT},     [52] = {"acct_input_gigawords", RK_INT},
    [53] = {"acct_output_gigawords", RK_INT}, [55] = {"event_timestamp", RK_INT},
    [60] = {"chap_challenge", RK_TEXT},     [61] = {"nas_port_type", RK_INT},
    [62] = {"port_limit", RK_INT},          [63] = {"login_lat_port", RK_TEXT},
    [64] = {"tunnel_type", RK_INT},         [65] = {"tunnel_medium_type", RK_INT},
    [69] = {"tunnel_password", RK_SECRET},  [70] = {"arap_password", RK_MSGAUTH},
    [76] = {"prompt", RK_INT},              [77] = {"connect_info", RK_TEXT},
    [79] = {"eap_message", RK_TEXT},        [80] = {"message_authenticator", RK_MSGAUTH},
    [85] = {"acct_interim_interval", RK_INT}, [87] = {"nas_port_id", RK_TEXT},
    [88] = {"framed_pool", RK_TEXT},        [95] = {"nas_ipv6_address", RK_IPV6},
    [96] = {"framed_interface_id", RK_IFID}, [97] = {"framed_ipv6_prefix", RK_PREFIX},
    [98] = {"login_ipv6_host", RK_IPV6},    [99] = {"framed_ipv6_route", RK_TEXT},
    [100] = {"framed_ipv6_pool", RK_TEXT},  [101] = {"error_cause", RK_INT},
};

enum {
    RA_USER_NAME = 1, RA_USER_PASSWORD = 2, RA_CHAP_PASSWORD = 3, RA_NAS_IP = 4, RA_NAS_PORT = 5,
    RA_SERVICE_TYPE = 6, RA_FRAMED_IP = 8, RA_REPLY_MESSAGE = 18, RA_VSA = 26,
    RA_CALLED = 30, RA_CALLING = 31, RA_NAS_ID = 32, RA_ACCT_STATUS = 40, RA_IN_OCTETS = 42,
    RA_OUT_OCTETS = 43, RA_SESSION_ID = 44, RA_SESSION_TIME = 46, RA_IN_PACKETS = 47,
    RA_OUT_PACKETS = 48, RA_TERMINATE = 49, RA_IN_GIGA = 52, RA_OUT_GIGA = 53,
    RA_NAS_PORT_TYPE = 61, RA_EAP = 79, RA_MSG_AUTH = 80, RA_NAS_IPV6 = 95, RA_PREFIX6 = 97,
    RA_ERROR_CAUSE = 101,
};

/* Service-Type values ([2865] s.5.6, [5176] s.3.2, RFC 5607). */
static const char *const rad_service_types[] = {
    [1] = "login", [2] = "framed", [3] = "callback_login", [4] = "callback_framed",
    [5] = "outbound", [6] = "administrative", [7] = "nas_prompt", [8] = "authenticate_only",
    [9] = "callback_nas_prompt", [10] = "call_check", [11] = "callback_administrative",
    [17] = "authorize_only", [18] = "framed_management",
};

/* NAS-Port-Type values ([2865] s.5.41, RFC 3580, RFC 4603). */
static const char *const rad_port_types[] = {
    [0] = "async", [1] = "sync", [2] = "isdn_sync", [3] = "isdn_async_v120",
    [4] = "isdn_async_v110", [5] = "virtual", [6] = "piafs", [7] = "hdlc_clear_channel",
    [8] = "x25", [9] = "x75", [10] = "g3_fax", [11] = "sdsl", [12] = "adsl_cap",
    [13] = "adsl_dmt", [14] = "idsl", [15] = "ethernet", [16] = "xdsl", [17] = "cable",
    [18] = "wireless_other", [19] = "wireless_802_11", [20] = "token_ring", [21] = "fddi",
    [30] = "pppoa", [31] = "pppoeoa", [32] = "pppoeoe", [33] = "pppoeovlan", [34] = "pppoeoqinq",
};

/* Acct-Status-Type values ([2866] s.5.1, RFC 2867 s.4.1). */
static const char *const rad_status_types[] = {
    [1] = "start", [2] = "stop", [3] = "interim_update", [7] = "accounting_on",
    [8] = "accounting_off", [9] = "tunnel_start", [10] = "tunnel_stop", [11] = "tunnel_reject",
    [12] = "tunnel_link_start", [13] = "tunnel_link_stop", [14] = "tunnel_link_reject",
    [15] = "failed",
};

/* Acct-Terminate-Cause values ([2866] s.5.10, RFC 3580 s.3.22). */
static const char *const rad_terminate_causes[] = {
    [1] = "user_request", [2] = "lost_carrier", [3] = "lost_service", [4] = "idle_timeout",
    [5] = "session_timeout", [6] = "admin_reset", [7] = "admin_reboot", [8] = "port_error",
    [9] = "nas_error", [10] = "nas_request", [11] = "nas_reboot", [12] = "port_unneeded",
    [13] = "port_preempted", [14] = "port_suspended", [15] = "service_unavailable",
    [16] = "callback", [17] = "user_error", [18] = "host_request", [19] = "supplicant_restart",
    [20] = "reauthentication_failure", [21] = "port_reinitialized",
    [22] = "port_administratively_disabled",
};

/* Error-Cause values ([5176] s.3.6). */
struct rad_num_name {
    uint32_t v;
    const char *name;
};
static const struct rad_num_name rad_error_causes[] = {
    {201, "residual_session_context_removed"}, {202, "invalid_eap_packet"},
    {401, "unsupported_attribute"}, {402, "missing_attribute"},
    {403, "nas_identification_mismatch"}, {404, "invalid_request"},
    {405, "unsupported_service"}, {406, "unsupported_extension"},
    {407, "invalid_attribute_value"}, {501, "administratively_prohibited"},
    {502, "request_not_routable"}, {503, "session_context_not_found"},
    {504, "session_context_not_removable"}, {505, "other_proxy_processing_error"},
    {506, "resources_unavailable"}, {507, "request_initiated"},
    {508, "multiple_session_selection_unsupported"},
};

/* EAP codes (RFC 3748 s.4, RFC 6696) and method types (IANA EAP registry). */
static const char *const rad_eap_codes[] = {
    [1] = "request", [2] = "response", [3] = "success", [4] = "failure", [5] = "initiate",
    [6] = "finish",
};
static const char *const rad_eap_types[] = {
    [1] = "identity", [2] = "notification", [3] = "nak", [4] = "md5_challenge", [5] = "otp",
    [6] = "gtc", [13] = "tls", [17] = "leap", [18] = "sim", [21] = "ttls", [23] = "aka",
    [25] = "peap", [26] = "mschapv2", [43] = "fast", [47] = "psk", [49] = "ikev2",
    [50] = "aka_prime", [52] = "pwd", [55] = "teap", [254] = "expanded",
};

#define RAD_NAME(table, v) \
    ((v) < sizeof(table) / sizeof((table)[0]) && (table)[v] ? (table)[v] : "unknown")

static const char *rad_error_cause_name(uint32_t v)
{
    for (size_t i = 0; i < sizeof rad_error_causes / sizeof rad_error_causes[0]; i++)
        if (rad_error_causes[i].v == v) return rad_error_causes[i].name;
    return "unknown";
}

/* ---- Decoded message --------------------------------------------------------------------- */

struct rad_text {
    uint8_t len; /* bytes kept */
    bool cut;    /* the value was longer */
    char s[RAD_TEXT_MAX];
};

/* Which optional fields a message carried (bit per field). */
enum {
    RF_NAS_IP = 1u << 0, RF_NAS_IPV6 = 1u << 1, RF_NAS_PORT = 1u << 2,
    RF_PORT_TYPE = 1u << 3, RF_SERVICE = 1u << 4, RF_FRAMED_IP = 1u << 5,
    RF_PREFIX6 = 1u << 6, RF_STATUS = 1u << 7, RF_SESSION_TIME = 1u << 8,
    RF_IN_OCTETS = 1u << 9, RF_OUT_OCTETS = 1u << 10, RF_IN_PACKETS = 1u << 11,
    RF_OUT_PACKETS = 1u << 12, RF_TERMINATE = 1u << 13, RF_EAP = 1u << 14,
    RF_MSG_AUTH = 1u << 15, RF_PASSWORD = 1u << 16, RF_CHAP = 1u << 17,
    RF_ERROR_CAUSE = 1u << 18, RF_EAP_TYPE = 1u << 19,
};

struct rad_msg {
    uint8_t code, id;
    uint16_t length;  /* the header's Length */
    uint16_t padding; /* datagram bytes past Length */
    uint32_t have;    /* RF_* bits */
    bool malformed;   /* the attribute walk stopped early */
    uint8_t nas_ip[4], framed_ip[4], nas_ipv6[16], prefix6[16], prefix6_len;
    uint8_t eap_code, eap_type;
    uint32_t nas_port, port_type, service, status, session_time, terminate, error_cause;
    uint64_t in_octets, out_octets; /* with the gigawords ([2869] s.5.1) */
    uint32_t in_packets, out_packets;
    struct rad_text user_name, nas_id, calling, called, session_id;
    uint8_t reply_len;
    bool reply_cut;
    char reply[RAD_REPLY_MAX];
    uint16_t nattrs;
    uint8_t ntypes, nvendors;
    bool vendors_cut;
    uint8_t types[RAD_TYPES_MAX];
    uint32_t vendors[RAD_VENDORS_MAX];
};

/* What was wrong with a message, for radius.invalid_message. */
enum rad_fault {
    RAD_OK_MSG = 0,
    RAD_F_SHORT,        /* datagram shorter than the header */
    RAD_F_LENGTH,       /* Length outside 20..4096 or past the datagram */
    RAD_F_CODE,         /* unknown code */
    RAD_F_ATTR_HEADER,  /* the last attribute's type and length cut by Length */
    RAD_F_ATTR_SHORT,   /* attribute length below 2 */
    RAD_F_ATTR_PAST,    /* attribute running past Length */
    RAD_F_ATTR_INVALID, /* a value length (or prefix length) its type does not allow */
};

/* The first fault met while decoding, with the numbers that go with it. */
struct rad_problem {
    uint8_t fault;
    uint8_t type;  /* attribute type, or the code */
    unsigned a, b; /* lengths */
};

static void rad_problem(struct rad_problem *p, uint8_t fault, uint8_t type, unsigned a,
                        unsigned b)
{
    if (p->fault) return;
    p->fault = fault;
    p->type = type;
    p->a = a;
    p->b = b;
}

static const char *rad_attr_name(uint8_t type)
{
    return rad_attrs[type].name ? rad_attrs[type].name : "unknown";
}

/* The anomaly's detail, e.g. "attribute 8 (framed_ip_address) length 7 invalid for its type". */
static void rad_problem_text(const struct rad_problem *p, char *out, size_t cap)
{
    const char *n = rad_attr_name(p->type);
    switch (p->fault) {
    case RAD_F_SHORT:
        snprintf(out, cap, "datagram of %u bytes shorter than the header", p->a);
        break;
    case RAD_F_LENGTH: snprintf(out, cap, "length %u in a datagram of %u bytes", p->a, p->b); break;
    case RAD_F_CODE: snprintf(out, cap, "unknown code %u", p->type); break;
    case RAD_F_ATTR_HEADER:
        snprintf(out, cap, "attribute %u (%s) header cut by the length", p->type, n);
        break;
    case RAD_F_ATTR_SHORT:
        snprintf(out, cap, "attribute %u (%s) length %u below 2", p->type, n, p->a);
        break;
    case RAD_F_ATTR_PAST:
        snprintf(out, cap, "attribute %u (%s) length %u runs %u bytes past the end", p->type, n,
                 p->a, p->b);
        break;
    case RAD_F_ATTR_INVALID:
        snprintf(out, cap, "attribute %u (%s) length %u invalid for its type", p->type, n, p->a);
        break;
    default: snprintf(out, cap, "invalid"); break;
    }
}

static void rad_keep_text(struct rad_text *t, const uint8_t *v, size_t n)
{
    t->cut = n > RAD_TEXT_MAX;
    t->len = (uint8_t)(t->cut ? RAD_TEXT_MAX : n);
    memcpy(t->s, v, t->len);
}

static bool rad_value_len_ok(uint8_t kind, size_t n)
{
    switch (kind) {
    case RK_TEXT:
    case RK_SECRET: return n >= 1;
    case RK_ADDR:
    case RK_INT: return n == 4;
    case RK_IPV6: return n == 16;
    case RK_PREFIX: return n >= 2 && n <= 18;
    case RK_IFID: return n == 8;
    case RK_PASSWORD: return n >= 16 && n <= 128 && n % 16 == 0;
    case RK_CHAP: return n == 17;
    case RK_MSGAUTH: return n == 16;
    case RK_VSA: return n >= 5;
    default: return true;
    }
}

static uint32_t rad_be32(const uint8_t *v)
{
    return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

/* An integer attribute of a message: where it goes, its presence bit. */
static void rad_take_int(struct rad_msg *m, uint8_t type, uint32_t v)
{
    switch (type) {
    case RA_NAS_PORT: m->nas_port = v; m->have |= RF_NAS_PORT; break;
    case RA_SERVICE_TYPE: m->service = v; m->have |= RF_SERVICE; break;
    case RA_NAS_PORT_TYPE: m->port_type = v; m->have |= RF_PORT_TYPE; break;
    case RA_ACCT_STATUS: m->status = v; m->have |= RF_STATUS; break;
    case RA_SESSION_TIME: m->session_time = v; m->have |= RF_SESSION_TIME; break;
    case RA_TERMINATE: m->terminate = v; m->have |= RF_TERMINATE; break;
    case RA_ERROR_CAUSE: m->error_cause = v; m->have |= RF_ERROR_CAUSE; break;
    case RA_IN_PACKETS: m->in_packets = v; m->have |= RF_IN_PACKETS; break;
    case RA_OUT_PACKETS: m->out_packets = v; m->have |= RF_OUT_PACKETS; break;
    case RA_IN_OCTETS:
        m->in_octets = (m->in_octets & ~0xFFFFFFFFull) | v;
        m->have |= RF_IN_OCTETS;
        break;
    case RA_OUT_OCTETS:
        m->out_octets = (m->out_octets & ~0xFFFFFFFFull) | v;
        m->have |= RF_OUT_OCTETS;
        break;
    case RA_IN_GIGA: m->in_octets = (m->in_octets & 0xFFFFFFFFull) | (uint64_t)v << 32; break;
    case RA_OUT_GIGA: m->out_octets = (m->out_octets & 0xFFFFFFFFull) | (uint64_t)v << 32; break;
    default: break;
    }
}

/* The first EAP-Message's header (RFC 3748 s.4: code, identifier, length, type for request
 * and response). Later fragments of the same EAP packet are not decoded. */
static void rad_take_eap(struct rad_msg *m, const uint8_t *v, size_t n)
{
    if (m->have & RF_EAP) return;
    m->have |= RF_EAP;
    m->eap_code = v[0];
    if ((v[0] == 1 || v[0] == 2) && n >= 5) {
        m->eap_type = v[4];
        m->have |= RF_EAP_TYPE;
    }
}

static void rad_take_vendor(struct rad_msg *m, const uint8_t *v)
{
    uint32_t id = rad_be32(v);
    for (size_t i = 0; i < m->nvendors; i++)
        if (m->vendors[i] == id) return;
    if (m->nvendors == RAD_VENDORS_MAX) {
        m->vendors_cut = true;
        return;
    }
    m->vendors[m->nvendors++] = id;
}

/* One attribute whose length suits its type. */
static void rad_take_attr(struct rad_msg *m, uint8_t type, const uint8_t *v, size_t n)
{
    switch (type) {
    case RA_USER_NAME: rad_keep_text(&m->user_name, v, n); return;
    case RA_NAS_ID: rad_keep_text(&m->nas_id, v, n); return;
    case RA_CALLING: rad_keep_text(&m->calling, v, n); return;
    case RA_CALLED: rad_keep_text(&m->called, v, n); return;
    case RA_SESSION_ID: rad_keep_text(&m->session_id, v, n); return;
    case RA_REPLY_MESSAGE: {
        /* Several Reply-Messages are shown one after the other ([2865] s.5.18). */
        size_t room = RAD_REPLY_MAX - m->reply_len, k = n < room ? n : room;
        memcpy(m->reply + m->reply_len, v, k);
        m->reply_len = (uint8_t)(m->reply_len + k);
        m->reply_cut |= k < n;
        return;
    }
    case RA_NAS_IP: memcpy(m->nas_ip, v, 4); m->have |= RF_NAS_IP; return;
    case RA_FRAMED_IP: memcpy(m->framed_ip, v, 4); m->have |= RF_FRAMED_IP; return;
    case RA_NAS_IPV6: memcpy(m->nas_ipv6, v, 16); m->have |= RF_NAS_IPV6; return;
    case RA_PREFIX6:
        memset(m->prefix6, 0, 16);
        memcpy(m->prefix6, v + 2, n - 2);
        m->prefix6_len = v[1];
        m->have |= RF_PREFIX6;
        return;
    case RA_EAP: rad_take_eap(m, v, n); return;
    case RA_MSG_AUTH: m->have |= RF_MSG_AUTH; return;
    case RA_USER_PASSWORD: m->have |= RF_PASSWORD; return;
    case RA_CHAP_PASSWORD: m->have |= RF_CHAP; return;
    case RA_VSA: rad_take_vendor(m, v); return;
    default:
        if (rad_attrs[type].kind == RK_INT) rad_take_int(m, type, rad_be32(v));
        return;
    }
}

/* A value the checks by kind let through but that still makes no sense. */
static bool rad_value_ok(uint8_t type, const uint8_t *v, size_t n)
{
    if (type == RA_PREFIX6) /* prefix length at most 128, and its bytes present */
        return v[1] <= 128 && (size_t)(v[1] + 7) / 8 <= n - 2;
    return true;
}

/* The attributes between the header and Length. False when the walk could not reach Length
 * (an attribute shorter than 2 bytes or running past it). */
static bool rad_walk(struct rad_msg *m, const uint8_t *d, struct rad_problem *p)
{
    struct qw_cursor c = qw_cursor_make(d + RAD_HDR_LEN, (size_t)m->length - RAD_HDR_LEN);
    while (qw_cur_left(&c) > 0) {
        uint8_t type = qw_cur_u8(&c), alen = qw_cur_u8(&c);
        if (c.err || alen < 2) {
            rad_problem(p, c.err ? RAD_F_ATTR_HEADER : RAD_F_ATTR_SHORT, type, alen, 0);
            return false;
        }
        size_t left = qw_cur_left(&c);
        const uint8_t *v = qw_cur_take(&c, (size_t)alen - 2);
        if (!v) {
            rad_problem(p, RAD_F_ATTR_PAST, type, alen, (unsigned)((size_t)alen - 2 - left));
            return false;
        }
        size_t n = (size_t)alen - 2;
        m->nattrs++;
        if (m->ntypes < RAD_TYPES_MAX) m->types[m->ntypes++] = type;
        if (!rad_value_len_ok(rad_attrs[type].kind, n) || !rad_value_ok(type, v, n)) {
            rad_problem(p, RAD_F_ATTR_INVALID, type, alen, 0);
            continue;
        }
        rad_take_attr(m, type, v, n);
    }
    return true;
}

enum rad_decode { RAD_OK, RAD_BAD_HEADER, RAD_BAD_CODE };

/* Header checks ([2865] s.3): at least 20 bytes, Length 20..4096 and within the datagram (the
 * rest is padding), a known code. */
static enum rad_decode rad_decode(const uint8_t *d, size_t n, struct rad_msg *m,
                                  struct rad_problem *p)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(d, n);
    m->code = qw_cur_u8(&c);
    m->id = qw_cur_u8(&c);
    m->length = qw_cur_be16(&c);
    if (c.err || n < RAD_HDR_LEN) {
        rad_problem(p, RAD_F_SHORT, 0, (unsigned)n, 0);
        return RAD_BAD_HEADER;
    }
    if (m->length < RAD_HDR_LEN || m->length > RAD_MAX_LEN || m->length > n) {
        rad_problem(p, RAD_F_LENGTH, 0, m->length, n > 0xFFFFFFu ? 0xFFFFFFu : (unsigned)n);
        return RAD_BAD_HEADER;
    }
    if (!rad_codes[m->code].name) {
        rad_problem(p, RAD_F_CODE, m->code, 0, 0);
        return RAD_BAD_CODE;
    }
    m->padding = (uint16_t)(n - m->length > 0xFFFF ? 0xFFFF : n - m->length);
    m->malformed = !rad_walk(m, d, p);
    return RAD_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void rad_json_v4(struct qw_json *j, const char *key, const uint8_t a[4])
{
    char s[16];
    int n = snprintf(s, sizeof s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    qw_json_strn(j, key, s, (size_t)n);
}

static void rad_json_v6(struct qw_json *j, const char *key, const uint8_t a[16], int plen)
{
    char s[INET6_ADDRSTRLEN + 8];
    if (!inet_ntop(AF_INET6, a, s, INET6_ADDRSTRLEN)) return;
    size_t n = strlen(s);
    if (plen >= 0) n += (size_t)snprintf(s + n, sizeof s - n, "/%d", plen);
    qw_json_strn(j, key, s, n);
}

static void rad_json_text(struct qw_json *j, const char *key, const struct rad_text *t)
{
    if (t->len || t->cut) qw_json_strn(j, key, t->s, t->len);
}

/* A number and its name, e.g. "service_type":2,"service_type_name":"framed". */
static void rad_json_named(struct qw_json *j, const char *key, const char *name_key, uint32_t v,
                           const char *name)
{
    qw_json_u64(j, key, v);
    qw_json_str(j, name_key, name);
}

static void rad_json_numbers(struct qw_json *j, const struct rad_msg *m)
{
    if (m->have & RF_NAS_PORT) qw_json_u64(j, "nas_port", m->nas_port);
    if (m->have & RF_PORT_TYPE)
        rad_json_named(j, "nas_port_type", "nas_port_type_name", m->port_type,
                       RAD_NAME(rad_port_types, m->port_type));
    if (m->have & RF_SERVICE)
        rad_json_named(j, "service_type", "service_type_name", m->service,
                       RAD_NAME(rad_service_types, m->service));
    if (m->have & RF_STATUS)
        rad_json_named(j, "acct_status_type", "acct_status_type_name", m->status,
                       RAD_NAME(rad_status_types, m->status));
    if (m->have & RF_SESSION_TIME) qw_json_u64(j, "acct_session_time", m->session_time);
    if (m->have & RF_IN_OCTETS) qw_json_u64(j, "acct_input_octets", m->in_octets);
    if (m->have & RF_OUT_OCTETS) qw_json_u64(j, "acct_output_octets", m->out_octets);
    if (m->have & RF_IN_PACKETS) qw_json_u64(j, "acct_input_packets", m->in_packets);
    if (m->have & RF_OUT_PACKETS) qw_json_u64(j, "acct_output_packets", m->out_packets);
    if (m->have & RF_TERMINATE)
        rad_json_named(j, "acct_terminate_cause", "acct_terminate_cause_name", m->terminate,
                       RAD_NAME(rad_terminate_causes, m->terminate));
    if (m->have & RF_ERROR_CAUSE)
        rad_json_named(j, "error_cause", "error_cause_name", m->error_cause,
                       rad_error_cause_name(m->error_cause));
}

static void rad_json_eap(struct qw_json *j, const struct rad_msg *m)
{
    if (!(m->have & RF_EAP)) return;
    qw_json_obj_begin(j, "eap");
    qw_json_u64(j, "code", m->eap_code);
    qw_json_str(j, "code_name", RAD_NAME(rad_eap_codes, m->eap_code));
    if (m->have & RF_EAP_TYPE) {
        qw_json_u64(j, "type", m->eap_type);
        qw_json_str(j, "type_name", RAD_NAME(rad_eap_types, m->eap_type));
    }
    qw_json_obj_end(j);
}

static void rad_json_lists(struct qw_json *j, const struct rad_msg *m)
{
    if (m->nvendors) {
        qw_json_arr_begin(j, "vendor_ids");
        for (size_t i = 0; i < m->nvendors; i++) qw_json_u64(j, NULL, m->vendors[i]);
        qw_json_arr_end(j);
        if (m->vendors_cut) qw_json_bool(j, "vendor_ids_truncated", true);
    }
    qw_json_u64(j, "attribute_count", m->nattrs);
    if (m->ntypes) {
        qw_json_arr_begin(j, "attributes");
        for (size_t i = 0; i < m->ntypes; i++) qw_json_u64(j, NULL, m->types[i]);
        qw_json_arr_end(j);
    }
}

static void rad_json_side(struct qw_json *j, const char *key, const struct rad_msg *m,
                          unsigned retransmissions)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "code", m->code);
    qw_json_str(j, "code_name", rad_codes[m->code].name);
    qw_json_u64(j, "identifier", m->id);
    qw_json_u64(j, "length", m->length);
    if (m->padding) qw_json_u64(j, "padding", m->padding);
    rad_json_text(j, "user_name", &m->user_name);
    if (m->have & RF_NAS_IP) rad_json_v4(j, "nas_ip", m->nas_ip);
    if (m->have & RF_NAS_IPV6) rad_json_v6(j, "nas_ipv6", m->nas_ipv6, -1);
    rad_json_text(j, "nas_identifier", &m->nas_id);
    if (m->have & RF_FRAMED_IP) rad_json_v4(j, "framed_ip", m->framed_ip);
    if (m->have & RF_PREFIX6) rad_json_v6(j, "framed_ipv6_prefix", m->prefix6, m->prefix6_len);
    rad_json_text(j, "calling_station_id", &m->calling);
    rad_json_text(j, "called_station_id", &m->called);
    rad_json_text(j, "acct_session_id", &m->session_id);
    rad_json_numbers(j, m);
    if (m->reply_len || m->reply_cut) qw_json_strn(j, "reply_message", m->reply, m->reply_len);
    rad_json_eap(j, m);
    qw_json_bool(j, "message_authenticator", (m->have & RF_MSG_AUTH) != 0);
    rad_json_lists(j, m);
    if (retransmissions) qw_json_u64(j, "retransmissions", retransmissions);
    if (m->malformed) qw_json_bool(j, "malformed", true);
    qw_json_obj_end(j);
}

struct rad_view {
    const struct rad_msg *req, *rsp;
    unsigned retransmissions;
};

static void rad_write_json(struct qw_json *j, const void *arg)
{
    const struct rad_view *v = arg;
    if (v->req) rad_json_side(j, "request", v->req, v->retransmissions);
    if (v->rsp) rad_json_side(j, "response", v->rsp, 0);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct rad_slot {
    bool used;
    uint8_t dir;
    uint16_t retransmissions;
    uint32_t seq; /* order of arrival */
    uint64_t ts_ns;
    uint8_t authenticator[RAD_AUTH_LEN]; /* tells a retransmission from a new request */
    struct rad_msg msg;
};

/* Weak-security anomalies already reported on the flow, one bit per code. */
enum { RW_REQUEST = 1u << 0, RW_ACCEPT = 1u << 1, RW_REJECT = 1u << 2, RW_CHALLENGE = 1u << 3 };

struct rad_state {
    uint8_t weak_reported;
    uint8_t invalid_reported;
    bool nas_id_sent[2];
    uint32_t nas_id_hash[2]; /* the last hostname fact per end */
    uint32_t next_seq;
    struct rad_slot q[RAD_QUEUE_MAX];
};

/* Anomalies are about the packet's sender: the NAS for requests it sends without protection,
 * the server for its answers. */
static void rad_anomaly(struct qw_pctx *ctx, enum qw_dir dir, const char *name, const char *detail)
{
    if (dir == QW_DIR_TO_SERVER) qw_emit_anomaly_client(ctx, name, detail);
    else qw_emit_anomaly(ctx, name, detail);
}

static void rad_invalid(struct qw_pctx *ctx, struct rad_state *st, enum qw_dir dir,
                        const struct rad_problem *p)
{
    if (!p->fault || st->invalid_reported >= RAD_INVALID_MAX) return;
    st->invalid_reported++;
    char what[96];
    rad_problem_text(p, what, sizeof what);
    rad_anomaly(ctx, dir, "radius.invalid_message", what);
}

static void rad_emit(struct qw_pctx *ctx, const struct rad_slot *req, const struct rad_msg *rsp,
                     uint64_t rsp_ns)
{
    const struct rad_msg *key = req ? &req->msg : rsp;
    struct rad_view v = {req ? &req->msg : NULL, rsp, req ? req->retransmissions : 0};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->code;
    t.function_name = rad_codes[key->code].name;
    t.ops = rad_family_ops[rad_codes[key->code].family];
    t.error = rsp && rad_codes[rsp->code].error;
    t.request_ns = req ? req->ts_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = rad_write_json;
    t.arg = &v;
    qw_emit_txn(ctx, &t);
}

static struct rad_slot *rad_oldest(struct rad_state *st)
{
    struct rad_slot *best = NULL;
    for (size_t i = 0; i < RAD_QUEUE_MAX; i++)
        if (st->q[i].used && (!best || (int32_t)(st->q[i].seq - best->seq) < 0)) best = &st->q[i];
    return best;
}

static void rad_flush(struct qw_pctx *ctx, struct rad_slot *s)
{
    rad_emit(ctx, s, NULL, 0);
    s->used = false;
}

/* Queue a request; false when it is a retransmission of one waiting (counted on it). */
static bool rad_queue(struct qw_pctx *ctx, struct rad_state *st, enum qw_dir dir,
                      const struct rad_msg *m, const uint8_t *auth)
{
    struct rad_slot *s = NULL;
    for (size_t i = 0; i < RAD_QUEUE_MAX; i++) {
        struct rad_slot *q = &st->q[i];
        if (!q->used || q->msg.id != m->id || q->msg.code != m->code || q->dir != dir) continue;
        if (memcmp(q->authenticator, auth, RAD_AUTH_LEN) == 0) {
            if (q->retransmissions < UINT16_MAX) q->retransmissions++;
            return false;
        }
        rad_flush(ctx, q); /* the identifier reused: the earlier request went unanswered */
    }
    for (size_t i = 0; i < RAD_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        s = rad_oldest(st);
        rad_flush(ctx, s);
    }
    s->used = true;
    s->dir = (uint8_t)dir;
    s->retransmissions = 0;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    memcpy(s->authenticator, auth, RAD_AUTH_LEN);
    s->msg = *m;
    return true;
}

/* Does a response of code `rsp` answer a request of code `req`? */
static bool rad_answers(uint8_t req, uint8_t rsp)
{
    uint8_t fr = rad_codes[req].family, fs = rad_codes[rsp].family;
    if (fr == RAD_FAM_STATUS) return rsp == 2 || rsp == 5; /* [5997] s.3 */
    return fr == fs;
}

static struct rad_slot *rad_find(struct rad_state *st, enum qw_dir dir, const struct rad_msg *m)
{
    struct rad_slot *best = NULL;
    for (size_t i = 0; i < RAD_QUEUE_MAX; i++) {
        struct rad_slot *q = &st->q[i];
        if (q->used && q->dir != dir && q->msg.id == m->id && rad_answers(q->msg.code, m->code) &&
            (!best || (int32_t)(q->seq - best->seq) < 0))
            best = q;
    }
    return best;
}

static uint32_t rad_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* NAS-Identifier names the NAS, which sends Access- and Accounting-Requests: a hostname fact
 * about the packet's sender. (In Disconnect and CoA requests it names the receiver, so those
 * are left out.) Only printable text, whole, once per value. */
static void rad_identity(struct qw_pctx *ctx, struct rad_state *st, enum qw_dir dir,
                         const struct rad_msg *m)
{
    const struct rad_text *t = &m->nas_id;
    if ((m->code != 1 && m->code != 4) || !t->len || t->cut) return;
    for (size_t i = 0; i < t->len; i++)
        if ((uint8_t)t->s[i] <= 0x20 || (uint8_t)t->s[i] >= 0x7F) return;
    bool server = dir == QW_DIR_TO_CLIENT;
    uint32_t h = rad_hash(t->s, t->len);
    if (st->nas_id_sent[server] && st->nas_id_hash[server] == h) return;
    st->nas_id_sent[server] = true;
    st->nas_id_hash[server] = h;
    qw_emit_identity(ctx, server, "hostname", t->s, t->len);
}

/* Who holds a framed address ([2865] s.5.8; 255.255.255.254 and .255 ask the NAS or the user
 * to choose one, 0.0.0.0 is none): an Accounting-Request's Start or Interim-Update says
 * User-Name uses Framed-IP-Address from now on, a Stop that the use ended ([2866] s.5.1); an
 * Access-Accept's Framed-IP-Address is what the NAS gives the user it asked about. The
 * detector keeps these so the remote-access ledger can name who was behind a VPN pool
 * address (emit.h qw_emit_address_user). */
static void rad_address_user(struct qw_pctx *ctx, const struct rad_msg *user_from,
                             const struct rad_msg *addr_from, const char *source, bool ended)
{
    const uint8_t *a = addr_from->framed_ip;
    if (!(addr_from->have & RF_FRAMED_IP) || !user_from->user_name.len || user_from->user_name.cut)
        return;
    if ((a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0) ||
        (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] >= 254))
        return;
    struct qw_addr ip;
    qw_addr_from_v4(&ip, a);
    qw_emit_address_user(ctx, &ip, source, user_from->user_name.s, user_from->user_name.len,
                         ended);
}

static void rad_accounting_user(struct qw_pctx *ctx, const struct rad_msg *m)
{
    if (m->code != 4 || !(m->have & RF_STATUS)) return;
    if (m->status == 1 || m->status == 3) rad_address_user(ctx, m, m, "radius_accounting", false);
    else if (m->status == 2) rad_address_user(ctx, m, m, "radius_accounting", true);
}

/* BlastRADIUS: an Access-Request carrying a credential, or an Access-Accept/Reject/Challenge,
 * without a Message-Authenticator. Once per flow per code. */
static void rad_weak(struct qw_pctx *ctx, struct rad_state *st, enum qw_dir dir,
                     const struct rad_msg *m)
{
    if (m->malformed || (m->have & RF_MSG_AUTH)) return;
    uint8_t bit;
    const char *detail;
    switch (m->code) {
    case 1:
        if (!(m->have & (RF_PASSWORD | RF_CHAP | RF_EAP))) return;
        bit = RW_REQUEST;
        detail = m->have & RF_EAP ? "access_request with eap_message (invalid, RFC 3579)"
                 : m->have & RF_PASSWORD ? "access_request with user_password"
                                         : "access_request with chap_password";
        break;
    case 2: bit = RW_ACCEPT; detail = "access_accept"; break;
    case 3: bit = RW_REJECT; detail = "access_reject"; break;
    case 11: bit = RW_CHALLENGE; detail = "access_challenge"; break;
    default: return;
    }
    if (st->weak_reported & bit) return;
    st->weak_reported |= bit;
    rad_anomaly(ctx, dir, "radius.weak_no_message_authenticator", detail);
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void rad_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct rad_state *st = state;
    struct rad_msg msg, *m = &msg;
    struct rad_problem p = {0};
    if (rad_decode(data, len, m, &p) != RAD_OK) {
        rad_invalid(ctx, st, dir, &p);
        return;
    }
    rad_invalid(ctx, st, dir, &p);
    rad_weak(ctx, st, dir, m);
    if (rad_codes[m->code].request) {
        rad_identity(ctx, st, dir, m);
        if (rad_queue(ctx, st, dir, m, data + 4)) rad_accounting_user(ctx, m);
        return;
    }
    struct rad_slot *s = rad_find(st, dir, m);
    if (s && m->code == 2) rad_address_user(ctx, &s->msg, m, "radius_access", false);
    rad_emit(ctx, s, m, qw_pctx_time(ctx));
    if (s) s->used = false;
}

static void rad_flow_end(struct qw_pctx *ctx, void *state)
{
    struct rad_state *st = state;
    struct rad_slot *s;
    while ((s = rad_oldest(st)) != NULL) rad_flush(ctx, s);
}

/* Payload alone decides ([2865] s.3): a known code; Length 20..4096 and no more than the
 * datagram; the attributes walk exactly to Length, each of type 1-255 with a length of at
 * least 2 that suits its type (an address or integer of 4 bytes...). Requests carry at least
 * one attribute (the NAS's identity, Acct-Status-Type, the session to act on), and padding is
 * taken only after at least one attribute: a bare 20-byte header is matched only when it fills
 * the datagram exactly. */
static enum qw_probe_result rad_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    if (len < RAD_HDR_LEN) return QW_PROBE_NO;
    uint8_t code = data[0];
    size_t length = (size_t)data[2] << 8 | data[3];
    if (!rad_codes[code].name || length < RAD_HDR_LEN || length > RAD_MAX_LEN || length > len)
        return QW_PROBE_NO;
    if (length == RAD_HDR_LEN && (rad_codes[code].request || len != length)) return QW_PROBE_NO;
    struct qw_cursor c = qw_cursor_make(data + RAD_HDR_LEN, length - RAD_HDR_LEN);
    while (qw_cur_left(&c) > 0) {
        uint8_t type = qw_cur_u8(&c), alen = qw_cur_u8(&c);
        if (c.err || type == 0 || alen < 2) return QW_PROBE_NO;
        const uint8_t *v = qw_cur_take(&c, (size_t)alen - 2);
        if (c.err) return QW_PROBE_NO;
        if (!rad_value_len_ok(rad_attrs[type].kind, (size_t)alen - 2) ||
            (v && !rad_value_ok(type, v, (size_t)alen - 2)))
            return QW_PROBE_NO;
    }
    return QW_PROBE_MATCH;
}

const struct qw_proto qw_proto_radius = {
    .name = "radius",
    .transports = QW_TRANSPORT_UDP,
    .ports = {1812, 1813, 1645, 1646, 3799, 0},
    .probe = rad_probe,
    .state_size = sizeof(struct rad_state),
    .datagram = rad_datagram,
    .flow_end = rad_flow_end,
};
