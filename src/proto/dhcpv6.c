/* DHCPv6 parser (UDP 546/547).
 *
 * Specifications:
 *   [8415] RFC 8415 Dynamic Host Configuration Protocol for IPv6: s.7.3 message types, s.8
 *          client/server message format, s.9 relay agent/server message format, s.11 DUIDs
 *          (s.11.2 DUID-LLT, s.11.3 DUID-EN, s.11.4 DUID-LL, s.11.5 DUID-UUID from RFC 6355),
 *          s.16 which options each message carries, s.21 options: 21.2 client identifier (1),
 *          21.3 server identifier (2), 21.4 IA_NA (3), 21.5 IA_TA (4), 21.6 IA address (5),
 *          21.7 option request (6), 21.8 preference (7), 21.9 elapsed time (8), 21.10 relay
 *          message (9), 21.13 status code (13), 21.14 rapid commit (14), 21.16 vendor class
 *          (16), 21.17 vendor-specific information (17), 21.18 interface-id (18), 21.21 IA_PD
 *          (25), 21.22 IA prefix (26).
 *   [3646] RFC 3646 DNS recursive name servers (23) and domain search list (24).
 *   [4704] RFC 4704 client FQDN (39): a flags octet then a DNS wire-format name, which may be
 *          partial (no root label).
 *   [4649] RFC 4649 relay agent remote-id (37); [5007] RFC 5007 leasequery (14-15);
 *   [5460] RFC 5460 bulk leasequery (16-17); [7341] RFC 7341 DHCPv4-over-DHCPv6 (20-21).
 *
 * Client/server message ([8415] s.8):     Relay message ([8415] s.9):
 *   offset size meaning                     offset size meaning
 *        0    1 msg-type                         0    1 msg-type 12 RELAY-FORW, 13 RELAY-REPL
 *        1    3 transaction-id                   1    1 hop-count
 *        4    n options                          2   16 link-address
 *                                               18   16 peer-address
 *                                               34    n options (9 holds the relayed message)
 * Option: code (2), length (2), data. Relay messages are unwrapped (nested relays too, up to
 * D6_RELAY_MAX) and the record describes the innermost message, with the relay hops listed.
 *
 * Transactions: a client message and the server's answer pair by transaction id (SOLICIT with
 * ADVERTISE, or REPLY under rapid commit; REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE and
 * INFORMATION-REQUEST with REPLY; LEASEQUERY with LEASEQUERY-REPLY; DHCPV4-QUERY with
 * DHCPV4-RESPONSE). Clients send to ff02::1:2 and servers answer from their own address, so
 * multicast messages are written at once (the answer is another flow); relay flows and unicast
 * exchanges pair. A REPLY whose status code (top level or in an IA) is not Success marks the
 * transaction as an error. No operation bits (see dhcp.c).
 *
 * Identity: a client sends from its own link-local address, so a client message that is not
 * relayed names its sender: `hostname` (39), `dhcp_vendor_class` (16, the first data string;
 * the enterprise number is in the record), `dhcpv6_duid` (client identifier, hex) and
 * `dhcpv6_fingerprint` (option request codes, comma-separated). A REPLY that is not relayed goes
 * to the client: `ip` for each IA_NA address with a non-zero valid lifetime, and `hostname`
 * when the server names the client (39). Relayed messages name the client only by DUID: not
 * emitted (see the report).
 *
 * Anomalies: `dhcpv6.malformed` (detail), `dhcpv6.request_queue_full` (once per flow). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/dns_wire.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/digits.h"
#include "util/json.h"

#define D6_SERVER_PORT 547 /* [8415] s.7.2: servers and relay agents listen on 547, clients 546 */
#define D6_HDR_LEN 4
#define D6_RELAY_HDR_LEN 34
#define D6_RELAY_FORW 12
#define D6_RELAY_REPL 13
#define D6_TYPE_MAX 37
/* Relay hops unwrapped. [8415] s.7.6 HOP_COUNT_LIMIT is 8; deeper nesting is malformed. */
#define D6_RELAY_MAX 8
/* Option codes listed per message, and option codes whose first occurrence is indexed (every
 * code assigned by IANA is below 256 today). */
#define D6_CODES_MAX 64
#define D6_OPT_INDEX 256
/* IA_NA/IA_TA/IA_PD containers and the addresses or prefixes listed in a record. */
#define D6_IA_MAX 8
#define D6_ADDR_MAX 16
/* Queued client messages: raw bytes up to D6_RAW_MAX (a SOLICIT with the usual options is about
 * 100 bytes; a relayed one a few hundred). 8 slots: a relay carries several exchanges at once.
 * The state is about 4.3 KiB. */
#define D6_QUEUE_MAX 8
#define D6_RAW_MAX 512
/* Option request list text: up to 255 two-byte codes shown as at most 5 digits and a comma. */
#define D6_ORO_TEXT_MAX (255 * 6 + 1)

enum d6_opt {
    D6_O_CLIENTID = 1,
    D6_O_SERVERID = 2,
    D6_O_IA_NA = 3,
    D6_O_IA_TA = 4,
    D6_O_IAADDR = 5,
    D6_O_ORO = 6,
    D6_O_PREFERENCE = 7,
    D6_O_ELAPSED = 8,
    D6_O_RELAY_MSG = 9,
    D6_O_STATUS = 13,
    D6_O_RAPID_COMMIT = 14,
    D6_O_USER_CLASS = 15,
    D6_O_VENDOR_CLASS = 16,
    D6_O_VENDOR_OPTS = 17,
    D6_O_INTERFACE_ID = 18,
    D6_O_DNS_SERVERS = 23,
    D6_O_DOMAIN_LIST = 24,
    D6_O_IA_PD = 25,
    D6_O_IAPREFIX = 26,
    D6_O_REMOTE_ID = 37,
    D6_O_CLIENT_FQDN = 39,
};

enum d6_role { D6_OTHER = 0, D6_CLIENT, D6_SERVER };

struct d6_type {
    const char *name;
    uint8_t role;
    uint64_t answers; /* client types: bit per type that answers */
};

#define B(t) (1ull << (t))
/* [8415] s.7.3 and the IANA "DHCPv6 Message Types" registry. */
static const struct d6_type d6_types[D6_TYPE_MAX + 1] = {
    [1] = {"solicit", D6_CLIENT, B(2) | B(7)},
    [2] = {"advertise", D6_SERVER, 0},
    [3] = {"request", D6_CLIENT, B(7)},
    [4] = {"confirm", D6_CLIENT, B(7)},
    [5] = {"renew", D6_CLIENT, B(7)},
    [6] = {"rebind", D6_CLIENT, B(7)},
    [7] = {"reply", D6_SERVER, 0},
    [8] = {"release", D6_CLIENT, B(7)},
    [9] = {"decline", D6_CLIENT, B(7)},
    [10] = {"reconfigure", D6_SERVER, 0},
    [11] = {"information_request", D6_CLIENT, B(7)},
    [12] = {"relay_forw", D6_OTHER, 0},
    [13] = {"relay_repl", D6_OTHER, 0},
    [14] = {"leasequery", D6_CLIENT, B(15)},
    [15] = {"leasequery_reply", D6_SERVER, 0},
    [16] = {"leasequery_done", D6_SERVER, 0},
    [17] = {"leasequery_data", D6_SERVER, 0},
    [18] = {"reconfigure_request", D6_OTHER, 0},
    [19] = {"reconfigure_reply", D6_OTHER, 0},
    [20] = {"dhcpv4_query", D6_CLIENT, B(21)},
    [21] = {"dhcpv4_response", D6_SERVER, 0},
    [22] = {"activeleasequery", D6_OTHER, 0},
    [23] = {"starttls", D6_OTHER, 0},
    [24] = {"bndupd", D6_OTHER, 0},
    [25] = {"bndreply", D6_OTHER, 0},
    [26] = {"poolreq", D6_OTHER, 0},
    [27] = {"poolresp", D6_OTHER, 0},
    [28] = {"updreq", D6_OTHER, 0},
    [29] = {"updreqall", D6_OTHER, 0},
    [30] = {"upddone", D6_OTHER, 0},
    [31] = {"connect", D6_OTHER, 0},
    [32] = {"connectreply", D6_OTHER, 0},
    [33] = {"disconnect", D6_OTHER, 0},
    [34] = {"state", D6_OTHER, 0},
    [35] = {"contact", D6_OTHER, 0},
    [36] = {"addr_reg_inform", D6_CLIENT, B(37)},
    [37] = {"addr_reg_reply", D6_SERVER, 0},
};
#undef B

static const char *d6_type_name(unsigned t)
{
    return t <= D6_TYPE_MAX && d6_types[t].name ? d6_types[t].name : "unknown";
}

/* [8415] s.21.13 status codes (and RFC 5007 s.4.1.3.4 for leasequery). */
static const char *const d6_status_names[] = {
    [0] = "success",         [1] = "unspec_fail",   [2] = "no_addrs_avail",
    [3] = "no_binding",      [4] = "not_on_link",   [5] = "use_multicast",
    [6] = "no_prefix_avail", [7] = "unknown_query_type", [8] = "malformed_query",
    [9] = "not_configured",  [10] = "not_allowed",
};

/* [8415] s.11.1 DUID types (4: RFC 6355). */
static const char *const d6_duid_names[] = {
    [1] = "llt", [2] = "en", [3] = "ll", [4] = "uuid",
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct d6_ref {
    uint16_t off, len;
};

struct d6_relay {
    uint8_t type, hops;
    uint16_t link_off, peer_off;
    struct d6_ref interface_id, remote_id;
    bool has_interface_id, has_remote_id;
};

struct d6_ia {
    uint16_t code; /* IA_NA, IA_TA or IA_PD */
    uint16_t off;  /* of the IA option's data (IAID...) */
    uint16_t len;
    bool has_status;
    uint16_t status;
};

struct d6_addr {
    uint16_t off;  /* of the IAADDR / IAPREFIX option data */
    uint8_t ia;    /* index in ia[] */
    bool prefix;
};

struct d6_msg {
    const uint8_t *b;
    size_t len;
    const char *malformed;
    uint8_t nrelay;
    struct d6_relay relay[D6_RELAY_MAX];
    bool has_inner;         /* a client/server message was found */
    uint8_t type;           /* of the innermost message */
    uint32_t xid;
    uint8_t ncodes;
    uint16_t codes_omitted;
    uint16_t codes[D6_CODES_MAX];
    uint8_t present[D6_OPT_INDEX / 8];
    uint8_t nia, naddr;
    /* Not cleared by d6_decode (only read where `present`, nia and naddr say): */
    struct d6_ref opt[D6_OPT_INDEX];
    struct d6_ia ia[D6_IA_MAX];
    struct d6_addr addr[D6_ADDR_MAX];
};

static bool d6_has(const struct d6_msg *m, unsigned code)
{
    return code < D6_OPT_INDEX && ((m->present[code >> 3] >> (code & 7)) & 1u);
}

static void d6_bad(struct d6_msg *m, const char *why)
{
    if (!m->malformed) m->malformed = why;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk the options inside an IA, in [start, end) after its fixed IAID/T1/T2 part. */
static void d6_walk_ia(struct d6_msg *m, uint8_t ia_index, size_t start, size_t end)
{
    struct d6_ia *ia = &m->ia[ia_index];
    size_t p = start;
    while (p < end) {
        if (end - p < 4) {
            d6_bad(m, "IA option header cut");
            return;
        }
        uint16_t code = rd16(m->b + p), l = rd16(m->b + p + 2);
        p += 4;
        if (end - p < l) {
            d6_bad(m, "IA option overruns");
            return;
        }
        if ((code == D6_O_IAADDR && l >= 24) || (code == D6_O_IAPREFIX && l >= 25)) {
            if (m->naddr < D6_ADDR_MAX)
                m->addr[m->naddr++] = (struct d6_addr){(uint16_t)p, ia_index,
                                                        code == D6_O_IAPREFIX};
        } else if (code == D6_O_STATUS && l >= 2 && !ia->has_status) {
            ia->has_status = true;
            ia->status = rd16(m->b + p);
        } else if (code == D6_O_IAADDR || code == D6_O_IAPREFIX) {
            d6_bad(m, "IA address option too short");
        }
        p += l;
    }
}

/* Options of the innermost message in [start, end). */
static void d6_walk(struct d6_msg *m, size_t start, size_t end)
{
    size_t p = start;
    while (p < end) {
        if (end - p < 4) {
            d6_bad(m, "option header cut");
            return;
        }
        uint16_t code = rd16(m->b + p), l = rd16(m->b + p + 2);
        p += 4;
        if (end - p < l) {
            d6_bad(m, "option overruns the message");
            return;
        }
        if (m->ncodes < D6_CODES_MAX) m->codes[m->ncodes++] = code;
        else m->codes_omitted++;
        if (code < D6_OPT_INDEX && !d6_has(m, code)) {
            m->present[code >> 3] = (uint8_t)(m->present[code >> 3] | 1u << (code & 7));
            m->opt[code] = (struct d6_ref){(uint16_t)p, l};
        }
        size_t fixed = code == D6_O_IA_NA || code == D6_O_IA_PD ? 12u
                       : code == D6_O_IA_TA                     ? 4u
                                                                : 0u;
        if (fixed) {
            if (l < fixed) {
                d6_bad(m, "IA option too short");
            } else if (m->nia < D6_IA_MAX) {
                uint8_t k = m->nia++;
                m->ia[k] = (struct d6_ia){code, (uint16_t)p, l, false, 0};
                d6_walk_ia(m, k, p + fixed, p + l);
            }
        }
        p += l;
    }
}

/* Decode, unwrapping relay messages. */
static void d6_decode(const uint8_t *b, size_t len, struct d6_msg *m)
{
    if (len > 0xFFFFu) len = 0xFFFFu; /* offsets are 16-bit; a UDP payload is never longer */
    memset(m, 0, offsetof(struct d6_msg, opt));
    m->b = b;
    m->len = len;
    size_t start = 0, end = len;
    for (;;) {
        if (end - start < 1) {
            d6_bad(m, "empty relayed message");
            return;
        }
        uint8_t type = b[start];
        if (type != D6_RELAY_FORW && type != D6_RELAY_REPL) break;
        if (m->nrelay == D6_RELAY_MAX) {
            d6_bad(m, "relay messages nested too deep");
            return;
        }
        if (end - start < D6_RELAY_HDR_LEN) {
            d6_bad(m, "relay header cut");
            return;
        }
        struct d6_relay *r = &m->relay[m->nrelay++];
        r->type = type;
        r->hops = b[start + 1];
        r->link_off = (uint16_t)(start + 2);
        r->peer_off = (uint16_t)(start + 18);
        /* find the relay-message option; note interface-id and remote-id */
        size_t p = start + D6_RELAY_HDR_LEN, inner = 0, inner_len = 0;
        bool found = false;
        while (p < end) {
            if (end - p < 4 || end - p - 4 < rd16(b + p + 2)) {
                d6_bad(m, "relay option overruns");
                return;
            }
            uint16_t code = rd16(b + p), l = rd16(b + p + 2);
            if (code == D6_O_RELAY_MSG && !found) {
                found = true;
                inner = p + 4;
                inner_len = l;
            } else if (code == D6_O_INTERFACE_ID && !r->has_interface_id) {
                r->has_interface_id = true;
                r->interface_id = (struct d6_ref){(uint16_t)(p + 4), l};
            } else if (code == D6_O_REMOTE_ID && !r->has_remote_id) {
                r->has_remote_id = true;
                r->remote_id = (struct d6_ref){(uint16_t)(p + 4), l};
            }
            p += 4u + l;
        }
        if (!found) {
            d6_bad(m, "relay message without a relay-message option");
            return;
        }
        start = inner;
        end = inner + inner_len;
    }
    if (end - start < D6_HDR_LEN) {
        d6_bad(m, "shorter than the 4-byte header");
        return;
    }
    m->has_inner = true;
    m->type = b[start];
    m->xid = (uint32_t)b[start + 1] << 16 | (uint32_t)b[start + 2] << 8 | b[start + 3];
    d6_walk(m, start + D6_HDR_LEN, end);
}

static enum d6_role d6_role_of(const struct d6_msg *m)
{
    if (!m->has_inner || m->type > D6_TYPE_MAX) return D6_OTHER;
    return (enum d6_role)d6_types[m->type].role;
}

/* A status other than Success at the top level or in any IA. */
static bool d6_failed(const struct d6_msg *m)
{
    if (d6_has(m, D6_O_STATUS) && m->opt[D6_O_STATUS].len >= 2 &&
        rd16(m->b + m->opt[D6_O_STATUS].off) != 0)
        return true;
    for (unsigned i = 0; i < m->nia; i++)
        if (m->ia[i].has_status && m->ia[i].status != 0) return true;
    return false;
}

/* ---- Event record -------------------------------------------------------------------------- */

static void json_ip6(struct qw_json *j, const char *key, const uint8_t *p)
{
    struct qw_addr a;
    char s[46];
    memcpy(a.b, p, 16);
    qw_json_str(j, key, qw_addr_str(&a, s));
}

static void json_duid(struct qw_json *j, const char *prefix, const struct d6_msg *m,
                      unsigned code)
{
    if (!d6_has(m, code)) return;
    const struct d6_ref *r = &m->opt[code];
    char key[32];
    snprintf(key, sizeof key, "%s_duid", prefix);
    qw_json_hex(j, key, m->b + r->off, r->len);
    if (r->len < 2) return;
    uint16_t type = rd16(m->b + r->off);
    snprintf(key, sizeof key, "%s_duid_type", prefix);
    qw_json_u64(j, key, type);
    const char *tn = type < sizeof d6_duid_names / sizeof d6_duid_names[0] ? d6_duid_names[type]
                                                                           : NULL;
    snprintf(key, sizeof key, "%s_duid_type_name", prefix);
    qw_json_str(j, key, tn ? tn : "unknown");
    /* DUID-LLT: type, hw type, time, address; DUID-LL: type, hw type, address */
    size_t at = type == 1 ? 8 : type == 3 ? 4 : 0;
    if (at && r->len == at + 6 && rd16(m->b + r->off + 2) == 1) {
        char mac[18];
        snprintf(key, sizeof key, "%s_lladdr", prefix);
        qw_json_str(j, key, qw_mac_str(m->b + r->off + at, mac));
    }
}

/* The FQDN option's name ([4704] s.4: flags, then a name that may be partial). */
static bool d6_fqdn_name(const struct d6_msg *m, char *buf, size_t *n)
{
    if (!d6_has(m, D6_O_CLIENT_FQDN) || m->opt[D6_O_CLIENT_FQDN].len < 2) return false;
    const uint8_t *p = m->b + m->opt[D6_O_CLIENT_FQDN].off + 1;
    size_t off = 0, l = m->opt[D6_O_CLIENT_FQDN].len - 1u;
    return dnsw_name(p, l, &off, DNSW_NAME_NO_POINTERS | DNSW_NAME_PARTIAL_OK, buf, n) ==
               DNSW_OK &&
           *n > 0;
}

/* The first vendor-class-data string ([8415] s.21.16: enterprise, then length-prefixed). */
static bool d6_vendor_class(const struct d6_msg *m, uint32_t *enterprise, const uint8_t **data,
                            size_t *n)
{
    if (!d6_has(m, D6_O_VENDOR_CLASS) || m->opt[D6_O_VENDOR_CLASS].len < 6) return false;
    const uint8_t *p = m->b + m->opt[D6_O_VENDOR_CLASS].off;
    size_t l = m->opt[D6_O_VENDOR_CLASS].len;
    *enterprise = rd32(p);
    size_t dl = rd16(p + 4);
    if (dl > l - 6) return false;
    *data = p + 6;
    *n = dl;
    return true;
}

static void json_vendor_class(struct qw_json *j, const struct d6_msg *m)
{
    if (!d6_has(m, D6_O_VENDOR_CLASS) || m->opt[D6_O_VENDOR_CLASS].len < 4) return;
    const uint8_t *p = m->b + m->opt[D6_O_VENDOR_CLASS].off;
    size_t l = m->opt[D6_O_VENDOR_CLASS].len;
    qw_json_obj_begin(j, "vendor_class");
    qw_json_u64(j, "enterprise", rd32(p));
    qw_json_arr_begin(j, "data");
    for (size_t q = 4; q + 2 <= l && rd16(p + q) <= l - q - 2; q += 2u + rd16(p + q))
        qw_json_strn(j, NULL, p + q + 2, rd16(p + q));
    qw_json_arr_end(j);
    qw_json_obj_end(j);
}

static void json_ia(struct qw_json *j, const struct d6_msg *m)
{
    static const char *const keys[] = {[D6_O_IA_NA] = "ia_na", [D6_O_IA_TA] = "ia_ta"};
    for (int pass = 0; pass < 3; pass++) {
        uint16_t want = pass == 0 ? D6_O_IA_NA : pass == 1 ? D6_O_IA_TA : D6_O_IA_PD;
        bool open = false;
        for (unsigned i = 0; i < m->nia; i++) {
            const struct d6_ia *ia = &m->ia[i];
            if (ia->code != want) continue;
            if (!open) qw_json_arr_begin(j, want == D6_O_IA_PD ? "ia_pd" : keys[want]);
            open = true;
            const uint8_t *p = m->b + ia->off;
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "iaid", rd32(p));
            if (want != D6_O_IA_TA) {
                qw_json_u64(j, "t1", rd32(p + 4));
                qw_json_u64(j, "t2", rd32(p + 8));
            }
            if (ia->has_status) qw_json_u64(j, "status_code", ia->status);
            bool aopen = false;
            for (unsigned k = 0; k < m->naddr; k++) {
                const struct d6_addr *a = &m->addr[k];
                if (a->ia != i) continue;
                if (!aopen) qw_json_arr_begin(j, a->prefix ? "prefixes" : "addresses");
                aopen = true;
                const uint8_t *q = m->b + a->off;
                qw_json_obj_begin(j, NULL);
                if (a->prefix) {
                    json_ip6(j, "prefix", q + 9);
                    qw_json_u64(j, "prefix_length", q[8]);
                    qw_json_u64(j, "preferred_lifetime", rd32(q));
                    qw_json_u64(j, "valid_lifetime", rd32(q + 4));
                } else {
                    json_ip6(j, "address", q);
                    qw_json_u64(j, "preferred_lifetime", rd32(q + 16));
                    qw_json_u64(j, "valid_lifetime", rd32(q + 20));
                }
                qw_json_obj_end(j);
            }
            if (aopen) qw_json_arr_end(j);
            qw_json_obj_end(j);
        }
        if (open) qw_json_arr_end(j);
    }
}

static void d6_json_side(struct qw_json *j, const char *key, const struct d6_msg *m)
{
    const uint8_t *b = m->b;
    qw_json_obj_begin(j, key);
    unsigned fn = m->has_inner ? m->type : (m->nrelay ? m->relay[m->nrelay - 1].type : 0);
    qw_json_u64(j, "function", fn);
    qw_json_str(j, "function_name", d6_type_name(fn));
    if (m->nrelay) {
        qw_json_arr_begin(j, "relay");
        for (unsigned i = 0; i < m->nrelay; i++) {
            const struct d6_relay *r = &m->relay[i];
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "msg_type", r->type);
            qw_json_str(j, "msg_type_name", d6_type_name(r->type));
            qw_json_u64(j, "hop_count", r->hops);
            json_ip6(j, "link_address", b + r->link_off);
            json_ip6(j, "peer_address", b + r->peer_off);
            if (r->has_interface_id)
                qw_json_hex(j, "interface_id", b + r->interface_id.off, r->interface_id.len);
            if (r->has_remote_id)
                qw_json_hex(j, "remote_id", b + r->remote_id.off, r->remote_id.len);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (m->has_inner) {
        qw_json_u64(j, "transaction_id", m->xid);
        qw_json_arr_begin(j, "options");
        for (unsigned i = 0; i < m->ncodes; i++) qw_json_u64(j, NULL, m->codes[i]);
        qw_json_arr_end(j);
        if (m->codes_omitted) qw_json_u64(j, "options_omitted", m->codes_omitted);
        json_duid(j, "client", m, D6_O_CLIENTID);
        json_duid(j, "server", m, D6_O_SERVERID);
        char name[DNSW_NAME_TEXT_MAX];
        size_t n = 0;
        if (d6_has(m, D6_O_CLIENT_FQDN) && m->opt[D6_O_CLIENT_FQDN].len >= 1) {
            qw_json_obj_begin(j, "client_fqdn");
            qw_json_u64(j, "flags", b[m->opt[D6_O_CLIENT_FQDN].off]);
            if (d6_fqdn_name(m, name, &n)) qw_json_strn(j, "name", name, n);
            qw_json_obj_end(j);
        }
        json_vendor_class(j, m);
        if (d6_has(m, D6_O_VENDOR_OPTS) && m->opt[D6_O_VENDOR_OPTS].len >= 4) {
            qw_json_u64(j, "vendor_opts_enterprise", rd32(b + m->opt[D6_O_VENDOR_OPTS].off));
            qw_json_u64(j, "vendor_opts_length", m->opt[D6_O_VENDOR_OPTS].len - 4u);
        }
        if (d6_has(m, D6_O_ORO)) {
            qw_json_arr_begin(j, "option_request");
            for (size_t i = 0; i + 2 <= m->opt[D6_O_ORO].len; i += 2)
                qw_json_u64(j, NULL, rd16(b + m->opt[D6_O_ORO].off + i));
            qw_json_arr_end(j);
        }
        if (d6_has(m, D6_O_ELAPSED) && m->opt[D6_O_ELAPSED].len == 2)
            qw_json_u64(j, "elapsed_time_cs", rd16(b + m->opt[D6_O_ELAPSED].off));
        if (d6_has(m, D6_O_PREFERENCE) && m->opt[D6_O_PREFERENCE].len == 1)
            qw_json_u64(j, "preference", b[m->opt[D6_O_PREFERENCE].off]);
        if (d6_has(m, D6_O_RAPID_COMMIT)) qw_json_bool(j, "rapid_commit", true);
        json_ia(j, m);
        if (d6_has(m, D6_O_STATUS) && m->opt[D6_O_STATUS].len >= 2) {
            const struct d6_ref *r = &m->opt[D6_O_STATUS];
            uint16_t sc = rd16(b + r->off);
            qw_json_u64(j, "status_code", sc);
            const char *sn = sc < sizeof d6_status_names / sizeof d6_status_names[0]
                                 ? d6_status_names[sc]
                                 : NULL;
            qw_json_str(j, "status_name", sn ? sn : "unknown");
            if (r->len > 2) qw_json_strn(j, "status_message", b + r->off + 2, r->len - 2u);
        }
        if (d6_has(m, D6_O_DNS_SERVERS)) {
            qw_json_arr_begin(j, "dns_servers");
            for (size_t i = 0; i + 16 <= m->opt[D6_O_DNS_SERVERS].len; i += 16)
                json_ip6(j, NULL, b + m->opt[D6_O_DNS_SERVERS].off + i);
            qw_json_arr_end(j);
        }
        if (d6_has(m, D6_O_DOMAIN_LIST)) {
            const uint8_t *p = b + m->opt[D6_O_DOMAIN_LIST].off;
            size_t l = m->opt[D6_O_DOMAIN_LIST].len, off = 0;
            qw_json_arr_begin(j, "domain_list");
            while (off < l && dnsw_name(p, l, &off, DNSW_NAME_NO_POINTERS, name, &n) == DNSW_OK)
                qw_json_strn(j, NULL, name, n);
            qw_json_arr_end(j);
        }
    }
    if (m->malformed) qw_json_str(j, "malformed", m->malformed);
    qw_json_obj_end(j);
}

struct d6_view {
    const struct d6_msg *req, *rsp;
};

static void d6_write_json(struct qw_json *j, const void *arg)
{
    const struct d6_view *v = arg;
    if (v->req) d6_json_side(j, "request", v->req);
    if (v->rsp) d6_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct d6_slot {
    bool used, cut;
    uint8_t dir, type;
    uint16_t raw_len;
    uint32_t xid, seq;
    uint64_t ts_ns;
    uint8_t raw[D6_RAW_MAX];
};

struct d6_state {
    struct d6_slot queue[D6_QUEUE_MAX];
    uint32_t next_seq;
    bool queue_full_reported;
    struct dnsw_memo memo;
};

/* The message just received and a queued one brought back. */
struct d6_scratch {
    struct d6_msg live, stored;
};

static void d6_emit(struct qw_pctx *ctx, const struct d6_msg *req, uint64_t req_ns,
                    const struct d6_msg *rsp, uint64_t rsp_ns)
{
    const struct d6_msg *key = req ? req : rsp;
    struct d6_view v = {req, rsp};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->has_inner ? key->type : (key->nrelay ? key->relay[key->nrelay - 1].type : 0);
    t.function_name = d6_type_name(t.function);
    t.error = rsp && d6_failed(rsp);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = d6_write_json;
    t.arg = &v;
    qw_emit_txn(ctx, &t);
}

static void d6_flush_slot(struct qw_pctx *ctx, struct d6_slot *s, struct d6_msg *scratch)
{
    d6_decode(s->raw, s->raw_len, scratch);
    if (s->cut) scratch->malformed = NULL; /* the cut is ours, not the sender's */
    d6_emit(ctx, scratch, s->ts_ns, NULL, 0);
    s->used = false;
}

static struct d6_slot *d6_oldest(struct d6_state *st)
{
    struct d6_slot *best = NULL;
    for (size_t i = 0; i < D6_QUEUE_MAX; i++) {
        struct d6_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void d6_identity_client(struct qw_pctx *ctx, struct d6_state *st, enum qw_dir dir,
                               const struct d6_msg *m)
{
    const struct qw_addr *src = dnsw_pkt_src(ctx);
    if (m->nrelay || !src || dnsw_addr_is_unspecified(src)) return;
    bool server = dir == QW_DIR_TO_CLIENT; /* the sender's end */
    const uint8_t *b = m->b;
    char name[DNSW_NAME_TEXT_MAX];
    size_t n = 0;
    if (d6_fqdn_name(m, name, &n))
        dnsw_emit_identity_once(ctx, &st->memo, server, "hostname", name, n);
    uint32_t ent;
    const uint8_t *vc;
    if (d6_vendor_class(m, &ent, &vc, &n))
        dnsw_emit_identity_once(ctx, &st->memo, server, "dhcp_vendor_class", (const char *)vc,
                                dnsw_trim((const char *)vc, n));
    if (d6_has(m, D6_O_CLIENTID) && m->opt[D6_O_CLIENTID].len) {
        char id[2 * 130 + 1]; /* [8415] s.11.1: a DUID is at most 130 octets */
        size_t l = m->opt[D6_O_CLIENTID].len;
        if (l > 130) l = 130;
        qw_hex_encode(id, b + m->opt[D6_O_CLIENTID].off, l);
        dnsw_emit_identity_once(ctx, &st->memo, server, "dhcpv6_duid", id, 2 * l);
    }
    if (d6_has(m, D6_O_ORO) && m->opt[D6_O_ORO].len >= 2) {
        char oro[D6_ORO_TEXT_MAX];
        size_t k = 0;
        for (size_t i = 0; i + 2 <= m->opt[D6_O_ORO].len && i < 2 * 255; i += 2)
            k += (size_t)snprintf(oro + k, sizeof oro - k, i ? ",%u" : "%u",
                                  (unsigned)rd16(b + m->opt[D6_O_ORO].off + i));
        dnsw_emit_identity_once(ctx, &st->memo, server, "dhcpv6_fingerprint", oro, k);
    }
}

static void d6_identity_reply(struct qw_pctx *ctx, struct d6_state *st, enum qw_dir dir,
                              const struct d6_msg *m)
{
    if (m->nrelay || m->type != 7 || !dnsw_pkt_dst(ctx) || dnsw_dst_is_group(ctx)) return;
    bool server = dir == QW_DIR_TO_SERVER; /* the receiver's end */
    for (unsigned i = 0; i < m->naddr; i++) {
        const struct d6_addr *a = &m->addr[i];
        if (a->prefix || m->ia[a->ia].code != D6_O_IA_NA) continue;
        if (rd32(m->b + a->off + 20) == 0) continue; /* valid lifetime 0: given back */
        struct qw_addr x;
        char s[46];
        memcpy(x.b, m->b + a->off, 16);
        qw_addr_str(&x, s);
        dnsw_emit_identity_once(ctx, &st->memo, server, "ip", s, strlen(s));
    }
    char name[DNSW_NAME_TEXT_MAX];
    size_t n = 0;
    if (d6_fqdn_name(m, name, &n))
        dnsw_emit_identity_once(ctx, &st->memo, server, "hostname", name, n);
}

/* ---- Messages ------------------------------------------------------------------------------ */

static bool d6_answers(uint8_t qt, uint8_t rt)
{
    return qt <= D6_TYPE_MAX && rt < 64 && ((d6_types[qt].answers >> rt) & 1u);
}

static void d6_on_client(struct qw_pctx *ctx, struct d6_state *st, enum qw_dir dir,
                         const uint8_t *data, size_t len, struct d6_scratch *sc)
{
    const struct d6_msg *m = &sc->live;
    uint64_t now = qw_pctx_time(ctx);
    d6_identity_client(ctx, st, dir, m);
    if (dnsw_dst_is_group(ctx)) {
        d6_emit(ctx, m, now, NULL, 0);
        return;
    }
    for (size_t i = 0; i < D6_QUEUE_MAX; i++) {
        struct d6_slot *s = &st->queue[i];
        if (s->used && s->dir == (uint8_t)dir && s->xid == m->xid && s->type == m->type)
            d6_flush_slot(ctx, s, &sc->stored);
    }
    struct d6_slot *s = NULL;
    for (size_t i = 0; i < D6_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "dhcpv6.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = d6_oldest(st);
        d6_flush_slot(ctx, s, &sc->stored);
    }
    size_t n = len < D6_RAW_MAX ? len : D6_RAW_MAX;
    memcpy(s->raw, data, n);
    s->raw_len = (uint16_t)n;
    s->cut = n < len;
    s->used = true;
    s->dir = (uint8_t)dir;
    s->type = m->type;
    s->xid = m->xid;
    s->seq = st->next_seq++;
    s->ts_ns = now;
}

static void d6_on_server(struct qw_pctx *ctx, struct d6_state *st, enum qw_dir dir,
                         struct d6_scratch *sc)
{
    const struct d6_msg *m = &sc->live;
    struct d6_slot *match = NULL;
    for (size_t i = 0; i < D6_QUEUE_MAX; i++) {
        struct d6_slot *s = &st->queue[i];
        if (!s->used || s->dir == (uint8_t)dir || s->xid != m->xid) continue;
        if (!d6_answers(s->type, m->type)) continue;
        if (!match || (int32_t)(s->seq - match->seq) < 0) match = s;
    }
    if (match) {
        d6_decode(match->raw, match->raw_len, &sc->stored);
        if (match->cut) sc->stored.malformed = NULL;
        d6_emit(ctx, &sc->stored, match->ts_ns, m, qw_pctx_time(ctx));
        match->used = false;
    } else {
        d6_emit(ctx, NULL, 0, m, qw_pctx_time(ctx));
    }
    d6_identity_reply(ctx, st, dir, m);
}

static void d6_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct d6_state *st = state;
    struct d6_scratch sc;
    d6_decode(data, len, &sc.live);
    if (len == 0) return;
    if (sc.live.malformed) qw_emit_anomaly(ctx, "dhcpv6.malformed", sc.live.malformed);
    switch (d6_role_of(&sc.live)) {
    case D6_CLIENT: d6_on_client(ctx, st, dir, data, len, &sc); break;
    case D6_SERVER: d6_on_server(ctx, st, dir, &sc); break;
    default: d6_emit(ctx, &sc.live, qw_pctx_time(ctx), NULL, 0); break;
    }
}

static void d6_flow_end(struct qw_pctx *ctx, void *state)
{
    struct d6_state *st = state;
    struct d6_msg m;
    struct d6_slot *s;
    while ((s = d6_oldest(st)) != NULL) d6_flush_slot(ctx, s, &m);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* A DUID: a known type and at least one octet after it ([8415] s.11.1: at most 130 octets). */
static bool d6_duid_ok(const uint8_t *p, size_t l)
{
    if (l < 3 || l > 130) return false;
    uint16_t t = rd16(p);
    return t >= 1 && t <= 4;
}

/* Options that fill [start, end) exactly; true when every one is in place. Reports whether a
 * client/server identifier or an option request (the options [8415] s.16 makes mandatory in
 * nearly every message) is present and well formed, and where the relay-message option is. */
static bool d6_probe_options(const uint8_t *b, size_t start, size_t end, bool *anchored,
                             size_t *relay_msg, size_t *relay_len)
{
    size_t p = start;
    while (p < end) {
        if (end - p < 4) return false;
        uint16_t code = rd16(b + p), l = rd16(b + p + 2);
        if (code == 0 || end - p - 4 < l) return false;
        const uint8_t *d = b + p + 4;
        if (code == D6_O_CLIENTID || code == D6_O_SERVERID) {
            if (!d6_duid_ok(d, l)) return false;
            *anchored = true;
        } else if (code == D6_O_ORO) {
            if (l == 0 || l % 2) return false;
            *anchored = true;
        } else if (code == D6_O_ELAPSED && l != 2) {
            return false;
        } else if (code == D6_O_RELAY_MSG && relay_msg) {
            *relay_msg = p + 4;
            *relay_len = l;
        }
        p += 4u + l;
    }
    return true;
}

static enum qw_probe_result d6_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    size_t start = 0, end = len;
    for (unsigned depth = 0; depth <= D6_RELAY_MAX; depth++) {
        if (end - start < D6_HDR_LEN + 4) return QW_PROBE_NO;
        uint8_t type = data[start];
        if (type == 0 || type > D6_TYPE_MAX) return QW_PROBE_NO;
        bool anchored = false;
        if (type == D6_RELAY_FORW || type == D6_RELAY_REPL) {
            if (end - start < D6_RELAY_HDR_LEN + 4) return QW_PROBE_NO;
            size_t inner = 0, inner_len = 0;
            if (!d6_probe_options(data, start + D6_RELAY_HDR_LEN, end, &anchored, &inner,
                                  &inner_len) ||
                inner == 0)
                return QW_PROBE_NO;
            start = inner;
            end = inner + inner_len;
            continue;
        }
        if (!d6_probe_options(data, start + D6_HDR_LEN, end, &anchored, NULL, NULL))
            return QW_PROBE_NO;
        return anchored ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    return QW_PROBE_NO;
}

const struct qw_proto qw_proto_dhcpv6 = {
    .name = "dhcpv6",
    .transports = QW_TRANSPORT_UDP,
    .ports = {D6_SERVER_PORT, 0},
    .probe = d6_probe,
    .state_size = sizeof(struct d6_state),
    .datagram = d6_datagram,
    .flow_end = d6_flow_end,
};
