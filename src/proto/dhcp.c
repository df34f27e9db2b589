/* DHCPv4 / BOOTP parser (UDP 67/68).
 *
 * Specifications:
 *   [2131] RFC 2131 Dynamic Host Configuration Protocol: s.2 message format (figure 1, table
 *          1), s.3.1 and s.3.2 the exchanges (DISCOVER -> OFFER, REQUEST -> ACK/NAK,
 *          INFORM -> ACK; DECLINE and RELEASE are not answered), s.4.1 relay agents (giaddr,
 *          hops) and the option-overload rule (options continue in `file`, then `sname`).
 *   [2132] RFC 2132 DHCP options: s.3.3 subnet mask (1), s.3.5 router (3), s.3.8 DNS servers
 *          (6), s.3.14 host name (12), s.3.17 domain name (15), s.8.4 vendor-specific (43),
 *          s.9.1 requested IP (50), s.9.2 lease time (51), s.9.3 overload (52), s.9.6 message
 *          type (53), s.9.7 server identifier (54), s.9.8 parameter request list (55), s.9.9
 *          message (56), s.9.10 maximum message size (57), s.9.11-9.12 T1/T2 (58/59), s.9.13
 *          vendor class identifier (60), s.9.14 client identifier (61).
 *   [1542] RFC 1542 s.4.1.1: relay agents discard requests whose hop count exceeds 16.
 *   [3046] RFC 3046 relay agent information (82): sub-options 1 circuit id, 2 remote id.
 *   [4702] RFC 4702 client FQDN (81): flags, two RCODE octets, the name (s.2.3: DNS wire
 *          form without compression when the E flag is set, ASCII otherwise).
 *   [3203] RFC 3203 FORCERENEW (9); [4388] RFC 4388 s.6.1 LEASEQUERY and its answers (10-13);
 *   [6926] RFC 6926 bulk leasequery (14-17); [7724] RFC 7724 active leasequery (16-18).
 *
 * Message layout ([2131] s.2, figure 1), big-endian:
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 op: 1 BOOTREQUEST (client or relay to server), 2 BOOTREPLY
 *        1    1 htype: hardware address type (1 = Ethernet)
 *        2    1 hlen: hardware address length (6 for Ethernet)
 *        3    1 hops: relay agents passed
 *        4    4 xid: transaction id chosen by the client
 *        8    2 secs: seconds since the client began
 *       10    2 flags: bit 15 = broadcast
 *       12    4 ciaddr: client address, when it has one
 *       16    4 yiaddr: "your" address, given by the server
 *       20    4 siaddr: next server (boot)
 *       24    4 giaddr: relay agent address
 *       28   16 chaddr: client hardware address (first hlen octets)
 *       44   64 sname: server host name, or options when overloaded
 *      108  128 file: boot file name, or options when overloaded
 *      236    4 magic cookie 99.130.83.99 ([2131] s.3)
 *      240    n options: {code, length, data}, 0 = pad, 255 = end ([2132] s.2)
 *
 * Transactions: a request and its reply pair by xid (and the reply types the request allows)
 * through a bounded queue of raw requests. Request and reply are told apart by `op`, not by the
 * flow direction: a relay talks to the server from port 67 to port 67. A reply pairs only with
 * a request that travelled the other way. A request sent to a broadcast or multicast address is
 * written at once: the server's reply comes from another address, so it is another flow
 * (pairing a broadcast DISCOVER with its OFFER needs state shared across flows, see the
 * report); so are DECLINE and RELEASE, which are never answered. Pairs are seen on relay flows
 * (relay <-> server) and unicast renewals. A message without option 53 is plain BOOTP
 * (function 0). No operation bits: DHCP configures hosts, but none of the qw_op classes
 * describes it (a rogue server is a detection for analysis, not a parser fact).
 *
 * Identity: the facts are about the DHCP client, which is named by chaddr, not by the IP
 * source (0.0.0.0 before it has an address, the relay when relayed). They are emitted on the
 * flow end that is the client, when one is:
 *   - a request whose source address is the client's: ciaddr equals the source (a renewal,
 *     an INFORM, a RELEASE), or, with no relay (giaddr 0), a non-zero source sent from chaddr
 *     itself: `hostname` (12, else the name of 81), `dhcp_vendor_class` (60),
 *     `dhcp_client_id` (61, hex), `dhcp_fingerprint` (55 as comma-separated decimals);
 *   - an ACK sent to yiaddr (the client's new address): `ip` = yiaddr, and `hostname` when
 *     the server names the client (12).
 * When the client is no end of the flow, the facts go to the address the message names
 * (qw_emit_identity_addr/_mac): a request from 0.0.0.0 sent from chaddr itself to chaddr's
 * MAC, a request whose ciaddr is not its source (forwarded by a relay agent) to ciaddr, an ACK
 * broadcast to a client (not to a relay) to chaddr's MAC, an ACK sent to the relay agent
 * (giaddr) to yiaddr. A relayed request without ciaddr names a client on another segment by a
 * MAC this sensor never sees: its facts go to yiaddr when the ACK that answers it comes back on
 * the same flow (a relay that sends from giaddr); a relay sending from another address puts
 * the two on different flows, possibly different engines, and the request gives no facts. A
 * BOOTP reply (no option 53) counts as an ACK.
 *
 * Anomalies: `dhcp.malformed` (detail: what broke), `dhcp.op_mismatch` (a server message type
 * in a BOOTREQUEST or the reverse), `dhcp.request_queue_full` (once per flow). */
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

/* ---- Layout and limits --------------------------------------------------------------------- */

#define DHCP_SERVER_PORT 67 /* IANA "bootps"; 68 "bootpc" is the client's */
#define DHCP_OFF_CIADDR 12
#define DHCP_OFF_YIADDR 16
#define DHCP_OFF_SIADDR 20
#define DHCP_OFF_GIADDR 24
#define DHCP_OFF_CHADDR 28
#define DHCP_CHADDR_LEN 16
#define DHCP_OFF_SNAME 44
#define DHCP_SNAME_LEN 64
#define DHCP_OFF_FILE 108
#define DHCP_FILE_LEN 128
#define DHCP_OFF_COOKIE 236
#define DHCP_OFF_OPTIONS 240
#define DHCP_FIXED_LEN DHCP_OFF_COOKIE /* the BOOTP part, without the cookie */
#define DHCP_OP_REQUEST 1
#define DHCP_OP_REPLY 2
#define DHCP_HOPS_MAX 16   /* [1542] s.4.1.1 */
#define DHCP_HTYPE_ETHER 1
#define DHCP_FLAG_BROADCAST 0x8000u
#define DHCP_OPT_PAD 0
#define DHCP_OPT_END 255
#define DHCP_OPT_OVERLOAD 52
#define DHCP_OPT_TYPE 53
#define DHCP_OVERLOAD_FILE 1u
#define DHCP_OVERLOAD_SNAME 2u
#define DHCP_FQDN_E 0x04u  /* [4702] s.2.1: the name is in DNS wire form */
#define DHCP_TYPE_MAX 18

/* Outstanding requests per flow. A relay flow carries several clients' exchanges at once, each
 * answered within milliseconds; past this the oldest is written unanswered. */
#define DHCP_QUEUE_MAX 8
/* Bytes kept per queued request: the 552-byte message every DHCP implementation must accept
 * ([2131] s.2: 236 + 4 + 312 octets of options) plus room for clients that send a little more.
 * A longer request is kept cut, and its record says so. The state is about 4.8 KiB. */
#define DHCP_RAW_MAX 576
/* Option codes listed in a record, in order. A message rarely carries more than 30. */
#define DHCP_CODES_MAX 64
/* Text of a comma-separated parameter request list: 255 codes of up to 3 digits and a comma. */
#define DHCP_PRL_TEXT_MAX (255 * 4 + 1)

/* ---- Message types ------------------------------------------------------------------------- */

enum dhcp_side { DHCP_SIDE_CLIENT = 1, DHCP_SIDE_SERVER = 2 };

struct dhcp_type {
    const char *name;
    uint8_t side;     /* who sends it */
    uint32_t answers; /* request types: bit per reply type that answers it */
};

#define B(t) (1u << (t))
/* [2131] s.3, [3203], [4388] s.6.1, [6926] s.6.2, [7724] s.6.1. */
static const struct dhcp_type dhcp_types[DHCP_TYPE_MAX + 1] = {
    [1] = {"discover", DHCP_SIDE_CLIENT, B(2) | B(5)}, /* ACK: rapid commit, RFC 4039 */
    [2] = {"offer", DHCP_SIDE_SERVER, 0},
    [3] = {"request", DHCP_SIDE_CLIENT, B(5) | B(6)},
    [4] = {"decline", DHCP_SIDE_CLIENT, 0},
    [5] = {"ack", DHCP_SIDE_SERVER, 0},
    [6] = {"nak", DHCP_SIDE_SERVER, 0},
    [7] = {"release", DHCP_SIDE_CLIENT, 0},
    [8] = {"inform", DHCP_SIDE_CLIENT, B(5)},
    [9] = {"forcerenew", DHCP_SIDE_SERVER, 0},
    [10] = {"leasequery", DHCP_SIDE_CLIENT, B(11) | B(12) | B(13)},
    [11] = {"leaseunassigned", DHCP_SIDE_SERVER, 0},
    [12] = {"leaseunknown", DHCP_SIDE_SERVER, 0},
    [13] = {"leaseactive", DHCP_SIDE_SERVER, 0},
    [14] = {"bulkleasequery", DHCP_SIDE_CLIENT, B(11) | B(13) | B(15) | B(17)},
    [15] = {"leasequerydone", DHCP_SIDE_SERVER, 0},
    [16] = {"activeleasequery", DHCP_SIDE_CLIENT, B(11) | B(13) | B(17)},
    [17] = {"leasequerystatus", DHCP_SIDE_SERVER, 0},
    [18] = {"tls", DHCP_SIDE_CLIENT | DHCP_SIDE_SERVER, 0},
};
#undef B

#define DHCP_FUNC_BOOTP 0 /* no option 53: plain BOOTP */

static const char *dhcp_type_name(int type)
{
    if (type < 0) return "bootp";
    if (type <= DHCP_TYPE_MAX && dhcp_types[type].name) return dhcp_types[type].name;
    return "unknown";
}

/* ---- Decoded message ----------------------------------------------------------------------- */

struct dhcp_ref {
    uint16_t off, len; /* first occurrence; a later one of the same code is listed, not read */
};

struct dhcp_msg {
    const uint8_t *b;
    size_t len;
    bool fixed_ok;   /* the 236-byte BOOTP part is there */
    bool cookie_ok;  /* and the DHCP magic cookie after it */
    bool cut;        /* a queued copy shortened to DHCP_RAW_MAX */
    const char *malformed; /* first structural problem, or NULL */
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    int type;        /* option 53, or -1 */
    uint8_t overload;
    bool ended;      /* an END option was seen */
    uint8_t ncodes;
    uint16_t codes_omitted;
    uint8_t codes[DHCP_CODES_MAX];
    uint8_t present[32];   /* bit per option code */
    /* Not cleared by dhcp_decode (only read where `present` says): */
    struct dhcp_ref opt[256];
};

static bool dhcp_has(const struct dhcp_msg *m, uint8_t code)
{
    return (m->present[code >> 3] >> (code & 7)) & 1u;
}

static void dhcp_bad(struct dhcp_msg *m, const char *why)
{
    if (!m->malformed) m->malformed = why;
}

/* Options in [start, end) ([2132] s.2). Stops at END. */
static void dhcp_walk(struct dhcp_msg *m, size_t start, size_t end)
{
    size_t p = start;
    while (p < end) {
        uint8_t code = m->b[p];
        if (code == DHCP_OPT_PAD) {
            p++;
            continue;
        }
        if (code == DHCP_OPT_END) {
            m->ended = true;
            return;
        }
        if (end - p < 2 || end - p - 2 < m->b[p + 1]) {
            if (!m->cut) dhcp_bad(m, "option overruns its field");
            return;
        }
        uint8_t l = m->b[p + 1];
        if (m->ncodes < DHCP_CODES_MAX) m->codes[m->ncodes++] = code;
        else m->codes_omitted++;
        if (!dhcp_has(m, code)) {
            m->present[code >> 3] = (uint8_t)(m->present[code >> 3] | 1u << (code & 7));
            m->opt[code] = (struct dhcp_ref){(uint16_t)(p + 2), l};
        }
        p += 2u + l;
    }
}

static void dhcp_decode(const uint8_t *b, size_t len, bool cut, struct dhcp_msg *m)
{
    if (len > 0xFFFFu) len = 0xFFFFu; /* offsets are 16-bit; a UDP payload is never longer */
    memset(m, 0, offsetof(struct dhcp_msg, opt));
    m->b = b;
    m->len = len;
    m->cut = cut;
    m->type = -1;
    struct qw_cursor c = qw_cursor_make(b, len);
    m->op = qw_cur_u8(&c);
    m->htype = qw_cur_u8(&c);
    m->hlen = qw_cur_u8(&c);
    m->hops = qw_cur_u8(&c);
    m->xid = qw_cur_be32(&c);
    m->secs = qw_cur_be16(&c);
    m->flags = qw_cur_be16(&c);
    m->fixed_ok = len >= DHCP_FIXED_LEN;
    if (!m->fixed_ok) {
        dhcp_bad(m, "shorter than the 236-byte BOOTP header");
        return;
    }
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    m->cookie_ok = len >= DHCP_OFF_OPTIONS && memcmp(b + DHCP_OFF_COOKIE, cookie, 4) == 0;
    if (!m->cookie_ok) return; /* BOOTP with a vendor area of its own ([2131] s.3) */
    dhcp_walk(m, DHCP_OFF_OPTIONS, len);
    if (dhcp_has(m, DHCP_OPT_OVERLOAD) && m->opt[DHCP_OPT_OVERLOAD].len == 1) {
        m->overload = b[m->opt[DHCP_OPT_OVERLOAD].off] & 3u;
        /* [2131] s.4.1: the options field first, then `file`, then `sname` */
        if (m->overload & DHCP_OVERLOAD_FILE)
            dhcp_walk(m, DHCP_OFF_FILE, DHCP_OFF_FILE + DHCP_FILE_LEN);
        if (m->overload & DHCP_OVERLOAD_SNAME)
            dhcp_walk(m, DHCP_OFF_SNAME, DHCP_OFF_SNAME + DHCP_SNAME_LEN);
    }
    if (dhcp_has(m, DHCP_OPT_TYPE)) {
        if (m->opt[DHCP_OPT_TYPE].len == 1) m->type = b[m->opt[DHCP_OPT_TYPE].off];
        else dhcp_bad(m, "message type option is not one octet");
    }
}

/* The reply or request nature of a message: its op, whatever the type says. */
static bool dhcp_is_reply(const struct dhcp_msg *m)
{
    return m->op == DHCP_OP_REPLY;
}

/* ---- Event record -------------------------------------------------------------------------- */

static void json_ip4(struct qw_json *j, const char *key, const uint8_t *p)
{
    char s[46];
    struct qw_addr a;
    qw_addr_from_v4(&a, p);
    qw_json_str(j, key, qw_addr_str(&a, s));
}

static void json_ip4_list(struct qw_json *j, const char *key, const struct dhcp_msg *m,
                          uint8_t code)
{
    const struct dhcp_ref *r = &m->opt[code];
    qw_json_arr_begin(j, key);
    for (size_t i = 0; i + 4 <= r->len; i += 4) json_ip4(j, NULL, m->b + r->off + i);
    qw_json_arr_end(j);
}

static void json_opt_str(struct qw_json *j, const char *key, const struct dhcp_msg *m,
                         uint8_t code)
{
    if (!dhcp_has(m, code)) return;
    const struct dhcp_ref *r = &m->opt[code];
    qw_json_strn(j, key, m->b + r->off, dnsw_trim((const char *)m->b + r->off, r->len));
}

static bool opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *v)
{
    if (!dhcp_has(m, code) || m->opt[code].len != 4) return false;
    const uint8_t *p = m->b + m->opt[code].off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return true;
}

static void json_fixed_str(struct qw_json *j, const char *key, const uint8_t *p, size_t n)
{
    const void *z = memchr(p, 0, n);
    size_t l = z ? (size_t)((const uint8_t *)z - p) : n;
    if (l) qw_json_strn(j, key, p, l);
}

/* The client FQDN's name ([4702] s.2.3), into buf; false when absent or unreadable. */
static bool dhcp_fqdn_name(const struct dhcp_msg *m, char *buf, size_t *n)
{
    if (!dhcp_has(m, 81) || m->opt[81].len < 3) return false;
    const uint8_t *p = m->b + m->opt[81].off;
    size_t l = m->opt[81].len - 3u;
    if (p[0] & DHCP_FQDN_E) {
        size_t off = 0;
        if (l == 0) return false;
        return dnsw_name(p + 3, l, &off, DNSW_NAME_NO_POINTERS | DNSW_NAME_PARTIAL_OK, buf, n) ==
                   DNSW_OK &&
               *n > 0;
    }
    *n = dnsw_trim((const char *)p + 3, l);
    memcpy(buf, p + 3, *n);
    buf[*n] = '\0';
    return *n > 0;
}

static void json_fqdn(struct qw_json *j, const struct dhcp_msg *m)
{
    if (!dhcp_has(m, 81) || m->opt[81].len < 3) return;
    const uint8_t *p = m->b + m->opt[81].off;
    char name[DNSW_NAME_TEXT_MAX];
    size_t n = 0;
    qw_json_obj_begin(j, "client_fqdn");
    qw_json_u64(j, "flags", p[0]);
    qw_json_u64(j, "rcode1", p[1]);
    qw_json_u64(j, "rcode2", p[2]);
    if (dhcp_fqdn_name(m, name, &n)) qw_json_strn(j, "name", name, n);
    qw_json_obj_end(j);
}

static void json_relay_agent(struct qw_json *j, const struct dhcp_msg *m)
{
    const struct dhcp_ref *r = &m->opt[82];
    qw_json_obj_begin(j, "relay_agent");
    qw_json_arr_begin(j, "suboptions");
    for (size_t p = 0; p + 2 <= r->len && p + 2u + m->b[r->off + p + 1] <= r->len;
         p += 2u + m->b[r->off + p + 1])
        qw_json_u64(j, NULL, m->b[r->off + p]);
    qw_json_arr_end(j);
    /* [3046] s.3.1-3.2: circuit id and remote id are opaque octets */
    for (size_t p = 0; p + 2 <= r->len && p + 2u + m->b[r->off + p + 1] <= r->len;
         p += 2u + m->b[r->off + p + 1]) {
        uint8_t sub = m->b[r->off + p], l = m->b[r->off + p + 1];
        if (sub == 1) qw_json_hex(j, "circuit_id", m->b + r->off + p + 2, l);
        if (sub == 2) qw_json_hex(j, "remote_id", m->b + r->off + p + 2, l);
    }
    qw_json_obj_end(j);
}

static void dhcp_json_side(struct qw_json *j, const char *key, const struct dhcp_msg *m)
{
    const uint8_t *b = m->b;
    char mac[18];
    uint32_t v;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", m->type < 0 ? DHCP_FUNC_BOOTP : (uint64_t)m->type);
    qw_json_str(j, "function_name", dhcp_type_name(m->type));
    qw_json_u64(j, "op", m->op);
    qw_json_u64(j, "xid", m->xid);
    if (!m->fixed_ok) {
        qw_json_bool(j, "truncated", true);
        qw_json_obj_end(j);
        return;
    }
    qw_json_u64(j, "htype", m->htype);
    qw_json_u64(j, "hops", m->hops);
    qw_json_u64(j, "secs", m->secs);
    qw_json_bool(j, "broadcast", (m->flags & DHCP_FLAG_BROADCAST) != 0);
    if (m->htype == DHCP_HTYPE_ETHER && m->hlen == 6)
        qw_json_str(j, "client_mac", qw_mac_str(b + DHCP_OFF_CHADDR, mac));
    else
        qw_json_hex(j, "chaddr", b + DHCP_OFF_CHADDR,
                    m->hlen < DHCP_CHADDR_LEN ? m->hlen : DHCP_CHADDR_LEN);
    json_ip4(j, "ciaddr", b + DHCP_OFF_CIADDR);
    json_ip4(j, "yiaddr", b + DHCP_OFF_YIADDR);
    json_ip4(j, "siaddr", b + DHCP_OFF_SIADDR);
    json_ip4(j, "giaddr", b + DHCP_OFF_GIADDR);
    if (!(m->overload & DHCP_OVERLOAD_SNAME))
        json_fixed_str(j, "sname", b + DHCP_OFF_SNAME, DHCP_SNAME_LEN);
    if (!(m->overload & DHCP_OVERLOAD_FILE))
        json_fixed_str(j, "file", b + DHCP_OFF_FILE, DHCP_FILE_LEN);
    if (!m->cookie_ok) {
        qw_json_bool(j, "dhcp_cookie", false);
        qw_json_obj_end(j);
        return;
    }
    qw_json_arr_begin(j, "options");
    for (unsigned i = 0; i < m->ncodes; i++) qw_json_u64(j, NULL, m->codes[i]);
    qw_json_arr_end(j);
    if (m->codes_omitted) qw_json_u64(j, "options_omitted", m->codes_omitted);
    if (m->overload) qw_json_u64(j, "option_overload", m->overload);
    json_opt_str(j, "hostname", m, 12);
    json_opt_str(j, "vendor_class", m, 60);
    if (dhcp_has(m, 61) && m->opt[61].len) {
        qw_json_u64(j, "client_id_type", b[m->opt[61].off]);
        qw_json_hex(j, "client_id", b + m->opt[61].off, m->opt[61].len);
    }
    if (dhcp_has(m, 55)) {
        qw_json_arr_begin(j, "parameter_request_list");
        for (size_t i = 0; i < m->opt[55].len; i++) qw_json_u64(j, NULL, b[m->opt[55].off + i]);
        qw_json_arr_end(j);
    }
    json_fqdn(j, m);
    if (dhcp_has(m, 50) && m->opt[50].len == 4) json_ip4(j, "requested_ip", b + m->opt[50].off);
    if (dhcp_has(m, 54) && m->opt[54].len == 4) json_ip4(j, "server_id", b + m->opt[54].off);
    if (opt_u32(m, 51, &v)) qw_json_u64(j, "lease_time", v);
    if (opt_u32(m, 58, &v)) qw_json_u64(j, "renewal_time", v);
    if (opt_u32(m, 59, &v)) qw_json_u64(j, "rebinding_time", v);
    if (dhcp_has(m, 1) && m->opt[1].len == 4) json_ip4(j, "subnet_mask", b + m->opt[1].off);
    if (dhcp_has(m, 3)) json_ip4_list(j, "routers", m, 3);
    if (dhcp_has(m, 6)) json_ip4_list(j, "dns_servers", m, 6);
    json_opt_str(j, "domain_name", m, 15);
    if (dhcp_has(m, 43)) qw_json_u64(j, "vendor_specific_length", m->opt[43].len);
    if (dhcp_has(m, 57) && m->opt[57].len == 2)
        qw_json_u64(j, "max_message_size", (uint64_t)b[m->opt[57].off] << 8 | b[m->opt[57].off + 1]);
    json_opt_str(j, "message", m, 56);
    if (dhcp_has(m, 82)) json_relay_agent(j, m);
    if (m->cut) qw_json_bool(j, "options_cut", true);
    if (m->malformed) qw_json_str(j, "malformed", m->malformed);
    qw_json_obj_end(j);
}

struct dhcp_view {
    const struct dhcp_msg *req, *rsp;
};

static void dhcp_write_json(struct qw_json *j, const void *arg)
{
    const struct dhcp_view *v = arg;
    if (v->req) dhcp_json_side(j, "request", v->req);
    if (v->rsp) dhcp_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct dhcp_slot {
    bool used, cut;
    uint8_t dir;
    int16_t type;
    uint16_t raw_len;
    uint32_t xid, seq;
    uint64_t ts_ns;
    uint8_t raw[DHCP_RAW_MAX];
};

struct dhcp_state {
    struct dhcp_slot queue[DHCP_QUEUE_MAX];
    uint32_t next_seq;
    bool queue_full_reported;
    struct dnsw_memo memo;
};

/* The two messages decoded during one datagram: the one just received, and a queued request
 * brought back to pair with it or to be written unanswered. */
struct dhcp_scratch {
    struct dhcp_msg live, stored;
};

static void dhcp_emit(struct qw_pctx *ctx, const struct dhcp_msg *req, uint64_t req_ns,
                      const struct dhcp_msg *rsp, uint64_t rsp_ns)
{
    const struct dhcp_msg *key = req ? req : rsp;
    struct dhcp_view v = {req, rsp};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->type < 0 ? DHCP_FUNC_BOOTP : (uint32_t)key->type;
    t.function_name = dhcp_type_name(key->type);
    t.error = rsp && rsp->type == 6; /* NAK */
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = dhcp_write_json;
    t.arg = &v;
    qw_emit_txn(ctx, &t);
}

static void dhcp_flush_slot(struct qw_pctx *ctx, struct dhcp_slot *s, struct dhcp_msg *scratch)
{
    dhcp_decode(s->raw, s->raw_len, s->cut, scratch);
    dhcp_emit(ctx, scratch, s->ts_ns, NULL, 0);
    s->used = false;
}

static struct dhcp_slot *dhcp_oldest(struct dhcp_state *st)
{
    struct dhcp_slot *best = NULL;
    for (size_t i = 0; i < DHCP_QUEUE_MAX; i++) {
        struct dhcp_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

/* Does reply type `rt` answer request type `qt`? BOOTP replies answer BOOTP requests. */
static bool dhcp_answers(int qt, int rt)
{
    if (qt < 0 || rt < 0) return qt < 0 && rt < 0;
    if (qt > DHCP_TYPE_MAX || rt > 31) return false;
    return (dhcp_types[qt].answers >> rt) & 1u;
}

static bool dhcp_expects_answer(int type)
{
    if (type < 0) return true;
    return type <= DHCP_TYPE_MAX && dhcp_types[type].answers != 0;
}

/* ---- Identity ------------------------------------------------------------------------------ */

static bool ip4_zero(const uint8_t *p)
{
    return !(p[0] | p[1] | p[2] | p[3]);
}

static bool addr_is_ip4(const struct qw_addr *a, const uint8_t *p)
{
    struct qw_addr x;
    qw_addr_from_v4(&x, p);
    return dnsw_addr_equal(a, &x);
}

/* Is the sender of this request the DHCP client itself (see the banner)? */
static bool dhcp_client_is_sender(const struct qw_pctx *ctx, const struct dhcp_msg *m)
{
    const struct qw_addr *src = dnsw_pkt_src(ctx);
    if (!src || dnsw_addr_is_unspecified(src) || !qw_addr_is_v4(src)) return false;
    const uint8_t *b = m->b;
    if (!ip4_zero(b + DHCP_OFF_CIADDR)) return addr_is_ip4(src, b + DHCP_OFF_CIADDR);
    if (!ip4_zero(b + DHCP_OFF_GIADDR)) return false;
    const struct qw_packet *p = qw_pctx_packet(ctx);
    return p && p->has_mac && m->htype == DHCP_HTYPE_ETHER && m->hlen == 6 &&
           memcmp(p->src_mac, b + DHCP_OFF_CHADDR, 6) == 0;
}

/* Where the client's facts land (see the banner): an end of the flow, else the address the
 * message names: ciaddr, or chaddr when the client has no address yet. */
struct dhcp_target {
    bool server;              /* the flow end, when ip and mac are both NULL */
    const struct qw_addr *ip; /* ciaddr of a relayed renewal */
    const uint8_t *mac;       /* chaddr of a client on this segment */
};

/* FNV-1a step, for the per-flow memo of facts about named addresses. */
static uint32_t dhcp_fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Once per flow per (target, attribute, value). The flow from 0.0.0.0:68 to the broadcast
 * address carries every client booting on the segment, so a named address is remembered with
 * the fact. */
static void dhcp_fact(struct qw_pctx *ctx, struct dhcp_state *st, const struct dhcp_target *t,
                      const char *attr, const char *v, size_t n)
{
    if (!t->ip && !t->mac) {
        dnsw_emit_identity_once(ctx, &st->memo, t->server, attr, v, n);
        return;
    }
    if (n == 0) return;
    uint32_t h = dhcp_fnv(2166136261u, t->ip ? (const void *)t->ip->b : (const void *)t->mac,
                          t->ip ? sizeof t->ip->b : 6);
    h = dhcp_fnv(dhcp_fnv(h, attr, strlen(attr) + 1), v, n);
    struct dnsw_memo *memo = &st->memo;
    for (unsigned i = 0; i < memo->n; i++)
        if (memo->h[i] == h) return;
    memo->h[memo->next] = h;
    memo->next = (uint8_t)((memo->next + 1u) % DNSW_MEMO_MAX);
    if (memo->n < DNSW_MEMO_MAX) memo->n++;
    if (t->ip)
        qw_emit_identity_addr(ctx, t->ip, attr, v, n);
    else
        qw_emit_identity_mac(ctx, t->mac, attr, v, n);
}

/* An Ethernet chaddr, or NULL. */
static const uint8_t *dhcp_chaddr(const struct dhcp_msg *m)
{
    return m->htype == DHCP_HTYPE_ETHER && m->hlen == 6 ? m->b + DHCP_OFF_CHADDR : NULL;
}

/* An ACK, or a BOOTP reply (no option 53), which assigns yiaddr the same way: the message that
 * gives chaddr an address. */
static bool dhcp_gives_address(const struct dhcp_msg *m)
{
    return m->cookie_ok && (m->type == 5 || m->type == -1) && !ip4_zero(m->b + DHCP_OFF_YIADDR);
}

/* What a client says about itself in a request (see the banner), about target t. */
static void dhcp_client_facts(struct qw_pctx *ctx, struct dhcp_state *st,
                              const struct dhcp_target *t, const struct dhcp_msg *m)
{
    const uint8_t *b = m->b;
    if (dhcp_has(m, 12)) {
        const char *v = (const char *)b + m->opt[12].off;
        dhcp_fact(ctx, st, t, "hostname", v, dnsw_trim(v, m->opt[12].len));
    } else {
        char name[DNSW_NAME_TEXT_MAX];
        size_t n = 0;
        if (dhcp_fqdn_name(m, name, &n)) dhcp_fact(ctx, st, t, "hostname", name, n);
    }
    if (dhcp_has(m, 60)) {
        const char *v = (const char *)b + m->opt[60].off;
        dhcp_fact(ctx, st, t, "dhcp_vendor_class", v, dnsw_trim(v, m->opt[60].len));
    }
    if (dhcp_has(m, 61) && m->opt[61].len) {
        char id[2 * 255 + 1];
        size_t n = m->opt[61].len;
        qw_hex_encode(id, b + m->opt[61].off, n);
        dhcp_fact(ctx, st, t, "dhcp_client_id", id, 2 * n);
    }
    if (dhcp_has(m, 55) && m->opt[55].len) {
        char prl[DHCP_PRL_TEXT_MAX];
        size_t n = 0;
        for (size_t i = 0; i < m->opt[55].len; i++)
            n += (size_t)snprintf(prl + n, sizeof prl - n, i ? ",%u" : "%u",
                                  (unsigned)b[m->opt[55].off + i]);
        dhcp_fact(ctx, st, t, "dhcp_fingerprint", prl, n);
    }
}

static void dhcp_identity_request(struct qw_pctx *ctx, struct dhcp_state *st, enum qw_dir dir,
                                  const struct dhcp_msg *m)
{
    if (!m->cookie_ok) return;
    const uint8_t *b = m->b;
    struct dhcp_target t = {dir == QW_DIR_TO_CLIENT, NULL, NULL}; /* the sender's end */
    struct qw_addr ciaddr;
    const struct qw_packet *p = qw_pctx_packet(ctx);
    const struct qw_addr *src = dnsw_pkt_src(ctx);
    const uint8_t *chaddr = dhcp_chaddr(m);
    if (dhcp_client_is_sender(ctx, m)) {
        /* the facts go to the flow end */
    } else if (!ip4_zero(b + DHCP_OFF_CIADDR)) {
        /* a client with an address, its request forwarded by a relay agent */
        qw_addr_from_v4(&ciaddr, b + DHCP_OFF_CIADDR);
        t.ip = &ciaddr;
    } else if (src && dnsw_addr_is_unspecified(src) && chaddr && p && p->has_mac &&
               memcmp(p->src_mac, chaddr, 6) == 0) {
        /* a client without an address yet, in its own frame */
        t.mac = chaddr;
    } else {
        /* relayed with no ciaddr: the client has no address yet and is only a MAC on another
         * segment; its facts wait for the ACK that names its address (dhcp_identity_relayed) */
        return;
    }
    dhcp_client_facts(ctx, st, &t, m);
}

/* A relayed request without ciaddr, answered by an ACK (or a BOOTP reply) that gives chaddr an
 * address: the request's facts are about yiaddr, the address the client holds from now on.
 * Both messages travel between the relay agent and the server, paired on their flow by xid;
 * the ACK must name the same client hardware address. */
static void dhcp_identity_relayed(struct qw_pctx *ctx, struct dhcp_state *st,
                                  const struct dhcp_msg *req, const struct dhcp_msg *ack)
{
    if (!req->cookie_ok || !dhcp_gives_address(ack)) return;
    const uint8_t *q = req->b, *a = ack->b;
    if (ip4_zero(q + DHCP_OFF_GIADDR) || !ip4_zero(q + DHCP_OFF_CIADDR)) return;
    if (req->hlen != ack->hlen || req->hlen > DHCP_CHADDR_LEN ||
        memcmp(q + DHCP_OFF_CHADDR, a + DHCP_OFF_CHADDR, req->hlen) != 0)
        return;
    struct qw_addr yiaddr;
    qw_addr_from_v4(&yiaddr, a + DHCP_OFF_YIADDR);
    struct dhcp_target t = {false, &yiaddr, NULL};
    dhcp_client_facts(ctx, st, &t, req);
}

/* An ACK (dhcp_gives_address) on its way to the client: the receiver, when it is sent to
 * yiaddr; yiaddr itself when it is sent to the relay agent
 * (giaddr), which passes it on to a client on another segment; else chaddr (a broadcast to a
 * client that cannot receive unicast yet). */
static void dhcp_identity_reply(struct qw_pctx *ctx, struct dhcp_state *st, enum qw_dir dir,
                                const struct dhcp_msg *m)
{
    const struct qw_addr *dst = dnsw_pkt_dst(ctx);
    if (!dst || !dhcp_gives_address(m)) return;
    struct dhcp_target t = {dir == QW_DIR_TO_SERVER, NULL, NULL}; /* the receiver's end */
    struct qw_addr a;
    qw_addr_from_v4(&a, m->b + DHCP_OFF_YIADDR);
    if (!addr_is_ip4(dst, m->b + DHCP_OFF_YIADDR)) {
        if (!ip4_zero(m->b + DHCP_OFF_GIADDR) && addr_is_ip4(dst, m->b + DHCP_OFF_GIADDR)) {
            t.ip = &a;
        } else {
            t.mac = dhcp_chaddr(m);
            if (!t.mac) return;
        }
    }
    if (!t.ip) { /* said of an address, the address is no news */
        char ip[46];
        qw_addr_str(&a, ip);
        dhcp_fact(ctx, st, &t, "ip", ip, strlen(ip));
    }
    if (dhcp_has(m, 12)) {
        const char *v = (const char *)m->b + m->opt[12].off;
        dhcp_fact(ctx, st, &t, "hostname", v, dnsw_trim(v, m->opt[12].len));
    }
}

/* ---- Messages ------------------------------------------------------------------------------ */

static void dhcp_on_request(struct qw_pctx *ctx, struct dhcp_state *st, enum qw_dir dir,
                            const uint8_t *data, size_t len, struct dhcp_scratch *sc)
{
    struct dhcp_msg *m = &sc->live;
    uint64_t now = qw_pctx_time(ctx);
    dhcp_identity_request(ctx, st, dir, m);
    if (dnsw_dst_is_group(ctx) || !dhcp_expects_answer(m->type)) {
        dhcp_emit(ctx, m, now, NULL, 0);
        return;
    }
    /* A retransmission (same xid, type and direction) replaces the earlier copy. */
    for (size_t i = 0; i < DHCP_QUEUE_MAX; i++) {
        struct dhcp_slot *s = &st->queue[i];
        if (s->used && s->dir == (uint8_t)dir && s->xid == m->xid && s->type == m->type)
            dhcp_flush_slot(ctx, s, &sc->stored);
    }
    struct dhcp_slot *s = NULL;
    for (size_t i = 0; i < DHCP_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "dhcp.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = dhcp_oldest(st);
        dhcp_flush_slot(ctx, s, &sc->stored);
    }
    size_t n = len < DHCP_RAW_MAX ? len : DHCP_RAW_MAX;
    memcpy(s->raw, data, n);
    s->raw_len = (uint16_t)n;
    s->cut = n < len;
    s->used = true;
    s->dir = (uint8_t)dir;
    s->type = (int16_t)m->type;
    s->xid = m->xid;
    s->seq = st->next_seq++;
    s->ts_ns = now;
}

static void dhcp_on_reply(struct qw_pctx *ctx, struct dhcp_state *st, enum qw_dir dir,
                          struct dhcp_scratch *sc)
{
    const struct dhcp_msg *m = &sc->live;
    struct dhcp_slot *match = NULL;
    for (size_t i = 0; i < DHCP_QUEUE_MAX; i++) {
        struct dhcp_slot *s = &st->queue[i];
        if (!s->used || s->dir == (uint8_t)dir || s->xid != m->xid) continue;
        if (!dhcp_answers(s->type, m->type)) continue;
        if (!match || (int32_t)(s->seq - match->seq) < 0) match = s;
    }
    if (match) {
        dhcp_decode(match->raw, match->raw_len, match->cut, &sc->stored);
        dhcp_emit(ctx, &sc->stored, match->ts_ns, m, qw_pctx_time(ctx));
        dhcp_identity_relayed(ctx, st, &sc->stored, m);
        match->used = false;
    } else {
        dhcp_emit(ctx, NULL, 0, m, qw_pctx_time(ctx));
    }
    dhcp_identity_reply(ctx, st, dir, m);
}

static void dhcp_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct dhcp_state *st = state;
    struct dhcp_scratch sc;
    struct dhcp_msg *m = &sc.live;
    dhcp_decode(data, len, false, m);
    if (len < 8) {
        qw_emit_anomaly(ctx, "dhcp.malformed", "shorter than the BOOTP header");
        return;
    }
    if (m->malformed) qw_emit_anomaly(ctx, "dhcp.malformed", m->malformed);
    if (m->type >= 0 && m->type <= DHCP_TYPE_MAX && dhcp_types[m->type].name) {
        uint8_t side = dhcp_types[m->type].side;
        uint8_t want = dhcp_is_reply(m) ? DHCP_SIDE_SERVER : DHCP_SIDE_CLIENT;
        if (!(side & want)) qw_emit_anomaly(ctx, "dhcp.op_mismatch", dhcp_type_name(m->type));
    }
    if (dhcp_is_reply(m))
        dhcp_on_reply(ctx, st, dir, &sc);
    else
        dhcp_on_request(ctx, st, dir, data, len, &sc);
}

static void dhcp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct dhcp_state *st = state;
    struct dhcp_msg m;
    struct dhcp_slot *s;
    while ((s = dhcp_oldest(st)) != NULL) dhcp_flush_slot(ctx, s, &m);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* The fixed header must be sane and end with the magic cookie, and the options must chain to
 * the end of the datagram (or to END) without overrunning. A datagram is whole, so a short one
 * is refused outright. */
static enum qw_probe_result dhcp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    if (len < DHCP_OFF_OPTIONS) return QW_PROBE_NO;
    uint8_t op = data[0], htype = data[1], hlen = data[2], hops = data[3];
    if (op != DHCP_OP_REQUEST && op != DHCP_OP_REPLY) return QW_PROBE_NO;
    if (htype == 0 || hlen > DHCP_CHADDR_LEN || hops > DHCP_HOPS_MAX) return QW_PROBE_NO;
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    if (memcmp(data + DHCP_OFF_COOKIE, cookie, 4) != 0) return QW_PROBE_NO;
    size_t p = DHCP_OFF_OPTIONS;
    while (p < len) {
        uint8_t code = data[p];
        if (code == DHCP_OPT_END) break;
        if (code == DHCP_OPT_PAD) {
            p++;
            continue;
        }
        if (len - p < 2 || len - p - 2 < data[p + 1]) return QW_PROBE_NO;
        if (code == DHCP_OPT_TYPE &&
            (data[p + 1] != 1 || data[p + 2] == 0 || data[p + 2] > DHCP_TYPE_MAX))
            return QW_PROBE_NO;
        p += 2u + data[p + 1];
    }
    return QW_PROBE_MATCH;
}

const struct qw_proto qw_proto_dhcp = {
    .name = "dhcp",
    .transports = QW_TRANSPORT_UDP,
    /* Only the server port: a reply from port 67 to port 68 then makes the server the flow's
     * server end (the engine's client guess prefers the side facing a hinted port). */
    .ports = {DHCP_SERVER_PORT, 0},
    .probe = dhcp_probe,
    .state_size = sizeof(struct dhcp_state),
    .datagram = dhcp_datagram,
    .flow_end = dhcp_flow_end,
};
