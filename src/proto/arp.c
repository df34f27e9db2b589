/* ARP (Address Resolution Protocol) link-layer parser.
 *
 * Specifications:
 *   [826]  RFC 826, An Ethernet Address Resolution Protocol (1982): packet format and the
 *          request/reply exchange.
 *   [5227] RFC 5227, IPv4 Address Conflict Detection (2008): s.1.1 ARP probe (sender IP
 *          0.0.0.0), s.2.3 ARP announcement (sender IP == target IP), s.2.4 ongoing conflict
 *          detection (two hardware addresses for one IP).
 *   [2390] RFC 2390, Inverse ARP (opcodes 8 and 9); [903] RFC 903, Reverse ARP (3 and 4);
 *   [IANA] IANA "Address Resolution Protocol (ARP) Parameters": opcodes and hardware types.
 *
 * ARP packet ([826], big-endian; the engine hands us the bytes after the ethertype 0x0806):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 hardware type (1 = Ethernet)
 *        2    2 protocol type (0x0800 = IPv4)
 *        4    1 hardware address length (6 for Ethernet)
 *        5    1 protocol address length (4 for IPv4)
 *        6    2 opcode (1 request, 2 reply, ...)
 *        8  hln sender hardware address (SHA)
 *         . pln sender protocol address (SPA)
 *         . hln target hardware address (THA)
 *         . pln target protocol address (TPA)
 *
 * Kinds of request ([5227]): a probe has SPA 0.0.0.0 (a host checking that an address is free);
 * an announcement is a request whose SPA equals its TPA and whose THA is zero (a host claiming
 * its address); any request or reply with SPA == TPA is called gratuitous (as tshark's
 * arp.isgratuitous does).
 *
 * Pairing: a request for TPA from SPA is answered by a reply whose SPA is that TPA and whose TPA
 * is the requester's SPA (a probe's defender answers to 0.0.0.0, which pairs the same way). The
 * outstanding requests live in a bounded table in the engine-wide state (ARP has no flow);
 * a request is reported unanswered when ARP_REPLY_TIMEOUT_NS passes without a reply (checked
 * whenever an ARP frame arrives), when the same request is repeated (a retry) or when the table
 * is full (the oldest goes). Gratuitous requests (announcements included) are reported at
 * once: nobody answers them.
 *
 * Conflicts ([5227] s.2.4): a bounded IP -> MAC table (per VLAN) remembers the last MAC that
 * claimed each IP as ARP sender and when. A different MAC claiming the same IP within
 * ARP_CONFLICT_WINDOW_NS raises `arp.ip_conflict`; after a longer silence the new MAC simply
 * takes the address over (a replaced device, a DHCP lease given to someone else). A reply whose
 * Ethernet source is not its SHA raises `arp.reply_mac_mismatch` (a spoofing sign; a proxy ARP
 * responder answers with its own MAC in both places, so it does not trip this).
 *
 * Identity: `ip` about the frame's source MAC (its claimed address), emitted when the table
 * learns a new binding or the owner of an address changes; never for probes, and never when the
 * Ethernet source and SHA differ (the claim would be attributed to the wrong interface). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "engine/pctx.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/hash.h"
#include "util/json.h"

/* ---- Limits, each with its reason ---------------------------------------------------------- */

#define ARP_ETHERTYPE 0x0806
#define ARP_HDR_LEN 8           /* fixed part before the addresses ([826]) */
#define ARP_HTYPE_ETHERNET 1    /* [IANA] hardware type */
#define ARP_PTYPE_IPV4 0x0800
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
/* Hosts answer within milliseconds; Linux retransmits an unanswered request after 1 s and
 * Windows after about 1 s too, so a request still unanswered after 3 s was not answered. */
#define ARP_REPLY_TIMEOUT_NS (3ull * 1000000000ull)
/* Two MACs claiming one address within a minute are both alive on the segment at once
 * ([5227] s.2.4 defends an address with at most one announcement per DEFEND_INTERVAL of 10 s;
 * hosts refresh their caches every 30-60 s, so an attacker and a victim both show up within a
 * minute). A longer silence before a new MAC appears is an ownership change, not a conflict. */
#define ARP_CONFLICT_WINDOW_NS (60ull * 1000000000ull)
/* Outstanding requests: a sweep of a /24 issues 254 at once; 64 keeps the state small and
 * still pairs every ordinary exchange (the oldest is reported unanswered when full). */
#define ARP_PENDING_MAX 64
/* IP -> MAC bindings: a set-associative table of 256 sets x 8 ways (2048 addresses, about
 * 40 KiB, once per engine). Plant segments are /24s with at most a few hundred hosts; past
 * that the least recently claimed address of a set is forgotten, so a conflict involving it is
 * missed (documented limit). The set is chosen by SipHash-1-3 with a fixed key, so output does
 * not depend on a random seed (DESIGN.md principle 7); an attacker who aims frames at one set
 * can only evict bindings there, which an ARP spoofer could defeat anyway. */
#define ARP_BIND_SETS 256
#define ARP_BIND_WAYS 8
/* Addresses that are not Ethernet/IPv4 are shown as hex up to this many bytes. */
#define ARP_HEX_MAX 32

static const char *const arp_op_names[] = {
    [1] = "request",       [2] = "reply",       [3] = "reverse_request", [4] = "reverse_reply",
    [5] = "drarp_request", [6] = "drarp_reply", [7] = "drarp_error",     [8] = "inarp_request",
    [9] = "inarp_reply",   [10] = "arp_nak",
};

static const char *arp_op_name(uint16_t op)
{
    const char *n = op < sizeof arp_op_names / sizeof arp_op_names[0] ? arp_op_names[op] : NULL;
    return n ? n : "unknown";
}

/* ---- Decoded packet ------------------------------------------------------------------------ */

struct arp_msg {
    uint16_t htype, ptype, op;
    uint8_t hlen, plen;
    bool ether_ipv4;  /* htype 1, ptype IPv4, 6/4: the addresses below are valid */
    uint8_t sha[6], tha[6], spa[4], tpa[4];
    /* Other address formats: the first ARP_HEX_MAX bytes of each, with their lengths. */
    uint8_t raw[4][ARP_HEX_MAX];
    uint8_t raw_len[4];
    bool gratuitous, probe, announcement;
    bool mac_mismatch;      /* Ethernet source differs from SHA */
    uint8_t ether_src[6];
};

/* Where the frame came from, kept with a queued request so that its record, written later,
 * carries its own envelope (addresses, VLAN) rather than the frame being parsed then. */
struct arp_origin {
    bool has_pkt;
    bool has_mac;
    uint8_t src_mac[6], dst_mac[6];
    uint8_t nvlan;
    uint16_t vlan[QW_MAX_VLANS];
};

struct arp_pending {
    bool used;
    uint16_t vlan;
    uint64_t ts_ns;
    uint32_t seq;
    struct arp_msg msg;
    struct arp_origin origin;
};

struct arp_binding {
    bool used;
    uint16_t vlan;
    uint8_t ip[4];
    uint8_t mac[6];
    uint64_t last_ns;
};

struct arp_view {
    const struct arp_msg *req, *rsp;
    uint16_t vlan;
};

struct arp_state {
    uint32_t next_seq;
    bool pending_full_reported;
    struct arp_pending pending[ARP_PENDING_MAX];
    struct arp_binding bind[ARP_BIND_SETS][ARP_BIND_WAYS];
    struct arp_view view;
};

/* ---- Decoding ------------------------------------------------------------------------------ */

static const uint8_t arp_zero4[4];

/* Decode one ARP packet. False when too short for its own declared lengths (anomaly raised). */
static bool arp_decode(struct qw_pctx *ctx, const uint8_t *data, size_t len, struct arp_msg *m)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(data, len);
    m->htype = qw_cur_be16(&c);
    m->ptype = qw_cur_be16(&c);
    m->hlen = qw_cur_u8(&c);
    m->plen = qw_cur_u8(&c);
    m->op = qw_cur_be16(&c);
    if (c.err) {
        qw_emit_anomaly(ctx, "arp.truncated", "header");
        return false;
    }
    if ((m->htype == ARP_HTYPE_ETHERNET && m->hlen != 6) ||
        (m->ptype == ARP_PTYPE_IPV4 && m->plen != 4))
        qw_emit_anomaly(ctx, "arp.invalid_address_length", NULL);
    const uint8_t *a[4];
    const size_t alen[4] = {m->hlen, m->plen, m->hlen, m->plen};
    for (int i = 0; i < 4; i++) a[i] = qw_cur_take(&c, alen[i]);
    if (c.err) {
        qw_emit_anomaly(ctx, "arp.truncated", "addresses");
        return false;
    }
    m->ether_ipv4 = m->htype == ARP_HTYPE_ETHERNET && m->ptype == ARP_PTYPE_IPV4 &&
                    m->hlen == 6 && m->plen == 4;
    if (m->ether_ipv4) {
        memcpy(m->sha, a[0], 6);
        memcpy(m->spa, a[1], 4);
        memcpy(m->tha, a[2], 6);
        memcpy(m->tpa, a[3], 4);
    } else {
        for (int i = 0; i < 4; i++) {
            m->raw_len[i] = (uint8_t)(alen[i] < ARP_HEX_MAX ? alen[i] : ARP_HEX_MAX);
            memcpy(m->raw[i], a[i], m->raw_len[i]);
        }
    }
    /* The three kinds are defined on IPv4 addresses of the request/reply opcodes. */
    if (m->ptype == ARP_PTYPE_IPV4 && m->plen == 4 &&
        (m->op == ARP_OP_REQUEST || m->op == ARP_OP_REPLY)) {
        bool spa_zero = memcmp(a[1], arp_zero4, 4) == 0;
        m->gratuitous = !spa_zero && memcmp(a[1], a[3], 4) == 0;
        m->probe = m->op == ARP_OP_REQUEST && spa_zero;
        /* [5227] s.2.3: an announcement is a probe-shaped request (target MAC zero) whose
         * sender and target IP are the announced address; older gratuitous requests (target
         * MAC broadcast, RFC 2002 s.4.6) are gratuitous but not announcements. */
        static const uint8_t zero6[6];
        m->announcement = m->op == ARP_OP_REQUEST && m->gratuitous &&
                          m->hlen == 6 && memcmp(a[2], zero6, 6) == 0;
    }
    return true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void arp_json_ip(struct qw_json *j, const char *key, const uint8_t ip[4])
{
    char b[16];
    snprintf(b, sizeof b, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
    qw_json_str(j, key, b);
}

static void arp_json_mac(struct qw_json *j, const char *key, const uint8_t mac[6])
{
    char b[18];
    qw_json_str(j, key, qw_mac_str(mac, b));
}

static void arp_json_side(struct qw_json *j, const char *key, const struct arp_msg *m)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "opcode", m->op);
    qw_json_str(j, "opcode_name", arp_op_name(m->op));
    if (m->ether_ipv4) {
        arp_json_mac(j, "sender_mac", m->sha);
        arp_json_ip(j, "sender_ip", m->spa);
        arp_json_mac(j, "target_mac", m->tha);
        arp_json_ip(j, "target_ip", m->tpa);
    } else {
        static const char *const names[4] = {"sender_hw", "sender_proto", "target_hw",
                                             "target_proto"};
        qw_json_u64(j, "hardware_type", m->htype);
        qw_json_u64(j, "protocol_type", m->ptype);
        qw_json_u64(j, "hardware_size", m->hlen);
        qw_json_u64(j, "protocol_size", m->plen);
        for (int i = 0; i < 4; i++) qw_json_hex(j, names[i], m->raw[i], m->raw_len[i]);
        if (m->hlen > ARP_HEX_MAX || m->plen > ARP_HEX_MAX) qw_json_bool(j, "addresses_cut", true);
    }
    if (m->gratuitous) qw_json_bool(j, "gratuitous", true);
    if (m->probe) qw_json_bool(j, "probe", true);
    if (m->announcement) qw_json_bool(j, "announcement", true);
    if (m->mac_mismatch) arp_json_mac(j, "ether_src", m->ether_src);
    qw_json_obj_end(j);
}

static void arp_write_json(struct qw_json *j, const void *arg)
{
    const struct arp_view *v = arg;
    if (v->req) arp_json_side(j, "request", v->req);
    if (v->rsp) arp_json_side(j, "response", v->rsp);
}

/* ---- Emission ------------------------------------------------------------------------------ */

static void arp_origin_save(struct arp_origin *o, const struct qw_packet *p)
{
    memset(o, 0, sizeof *o);
    if (!p) return;
    o->has_pkt = true;
    o->has_mac = p->has_mac;
    memcpy(o->src_mac, p->src_mac, 6);
    memcpy(o->dst_mac, p->dst_mac, 6);
    o->nvlan = p->nvlan;
    memcpy(o->vlan, p->vlan, sizeof o->vlan);
}

static void arp_emit(struct qw_pctx *ctx, struct arp_state *st, const struct arp_msg *req,
                     uint64_t req_ns, const struct arp_msg *rsp, uint64_t rsp_ns)
{
    const struct arp_msg *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->op;
    t.function_name = arp_op_name(key->op);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = arp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

/* Emit a record for a queued request (answered by `rsp`, or unanswered when it is NULL) under
 * the request's own frame envelope: the requester is the record's source, as the client is for
 * flows, and an unanswered request is written while another frame (or none) is being parsed.
 * The context is copied with the request's frame addresses put back (pctx.h; the report asks for
 * an emit call that takes them). */
static void arp_emit_pending(struct qw_pctx *ctx, struct arp_state *st, struct arp_pending *p,
                             const struct arp_msg *rsp, uint64_t rsp_ns)
{
    struct qw_packet saved;
    struct qw_pctx sub = *ctx;
    if (p->origin.has_pkt) {
        memset(&saved, 0, sizeof saved);
        saved.ts_ns = p->ts_ns;
        saved.has_mac = p->origin.has_mac;
        memcpy(saved.src_mac, p->origin.src_mac, 6);
        memcpy(saved.dst_mac, p->origin.dst_mac, 6);
        saved.nvlan = p->origin.nvlan;
        memcpy(saved.vlan, p->origin.vlan, sizeof saved.vlan);
        saved.ethertype = ARP_ETHERTYPE;
        saved.l3 = QW_L3_ARP;
        sub.pkt = &saved;
    } else {
        sub.pkt = NULL;
    }
    sub.ts_ns = p->ts_ns;
    arp_emit(&sub, st, &p->msg, p->ts_ns, rsp, rsp_ns);
    p->used = false;
}

static void arp_flush(struct qw_pctx *ctx, struct arp_state *st, struct arp_pending *p)
{
    arp_emit_pending(ctx, st, p, NULL, 0);
}

static struct arp_pending *arp_oldest(struct arp_state *st)
{
    struct arp_pending *best = NULL;
    for (size_t i = 0; i < ARP_PENDING_MAX; i++) {
        struct arp_pending *p = &st->pending[i];
        if (p->used && (!best || (int32_t)(p->seq - best->seq) < 0)) best = p;
    }
    return best;
}

/* Unanswered requests past the timeout, oldest first (deterministic order). */
static void arp_expire(struct qw_pctx *ctx, struct arp_state *st, uint64_t now)
{
    for (;;) {
        struct arp_pending *best = NULL;
        for (size_t i = 0; i < ARP_PENDING_MAX; i++) {
            struct arp_pending *p = &st->pending[i];
            if (!p->used || now < p->ts_ns || now - p->ts_ns < ARP_REPLY_TIMEOUT_NS) continue;
            if (!best || (int32_t)(p->seq - best->seq) < 0) best = p;
        }
        if (!best) return;
        arp_flush(ctx, st, best);
    }
}

/* A pending request that `m` (a request) repeats, or that `m` (a reply) answers. */
static struct arp_pending *arp_match(struct arp_state *st, uint16_t vlan, const uint8_t spa[4],
                                     const uint8_t tpa[4])
{
    for (size_t i = 0; i < ARP_PENDING_MAX; i++) {
        struct arp_pending *p = &st->pending[i];
        if (p->used && p->vlan == vlan && memcmp(p->msg.spa, spa, 4) == 0 &&
            memcmp(p->msg.tpa, tpa, 4) == 0)
            return p;
    }
    return NULL;
}

static void arp_queue(struct qw_pctx *ctx, struct arp_state *st, uint16_t vlan,
                      const struct arp_msg *m)
{
    struct arp_pending *slot = arp_match(st, vlan, m->spa, m->tpa);
    if (slot) arp_flush(ctx, st, slot); /* a retry: the earlier one went unanswered */
    slot = NULL;
    for (size_t i = 0; i < ARP_PENDING_MAX && !slot; i++)
        if (!st->pending[i].used) slot = &st->pending[i];
    if (!slot) {
        if (!st->pending_full_reported) qw_emit_anomaly(ctx, "arp.pending_table_full", NULL);
        st->pending_full_reported = true;
        slot = arp_oldest(st);
        arp_flush(ctx, st, slot);
    }
    slot->used = true;
    slot->vlan = vlan;
    slot->ts_ns = qw_pctx_time(ctx);
    slot->seq = st->next_seq++;
    slot->msg = *m;
    arp_origin_save(&slot->origin, qw_pctx_packet(ctx));
}

/* ---- Bindings and conflicts ---------------------------------------------------------------- */

static const struct qw_sipkey arp_bind_key = {0x61727062696e6431ull, 0x7177617277617463ull};

static bool arp_ip_is_host(const uint8_t ip[4])
{
    if (memcmp(ip, arp_zero4, 4) == 0) return false;
    if (ip[0] >= 224) return false; /* multicast, reserved, broadcast */
    return true;
}

/* Record that `mac` claims `ip`; raise a conflict when another MAC did so recently. Returns
 * true when the binding is new or changed owner (an identity fact to report). */
static bool arp_bind(struct qw_pctx *ctx, struct arp_state *st, uint16_t vlan,
                     const uint8_t ip[4], const uint8_t mac[6], uint64_t now)
{
    uint8_t key[6] = {(uint8_t)(vlan >> 8), (uint8_t)vlan, ip[0], ip[1], ip[2], ip[3]};
    struct arp_binding *set = st->bind[qw_siphash13(&arp_bind_key, key, sizeof key) %
                                       ARP_BIND_SETS];
    struct arp_binding *victim = &set[0];
    for (int w = 0; w < ARP_BIND_WAYS; w++) {
        struct arp_binding *b = &set[w];
        if (b->used && b->vlan == vlan && memcmp(b->ip, ip, 4) == 0) {
            if (memcmp(b->mac, mac, 6) == 0) {
                if (now > b->last_ns) b->last_ns = now;
                return false;
            }
            if (now >= b->last_ns && now - b->last_ns <= ARP_CONFLICT_WINDOW_NS) {
                char detail[96], m1[18], m2[18];
                snprintf(detail, sizeof detail, "%u.%u.%u.%u claimed by %s and %s", ip[0], ip[1],
                         ip[2], ip[3], qw_mac_str(b->mac, m1), qw_mac_str(mac, m2));
                qw_emit_anomaly(ctx, "arp.ip_conflict", detail);
            }
            memcpy(b->mac, mac, 6);
            b->last_ns = now;
            return true;
        }
        if (!b->used) {
            if (victim->used) victim = b;
        } else if (victim->used && b->last_ns < victim->last_ns) {
            victim = b;
        }
    }
    victim->used = true;
    victim->vlan = vlan;
    memcpy(victim->ip, ip, 4);
    memcpy(victim->mac, mac, 6);
    victim->last_ns = now;
    return true;
}

/* ---- Frame entry --------------------------------------------------------------------------- */

static void arp_frame(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                      size_t len)
{
    (void)ethertype;
    struct arp_state *st = state;
    uint64_t now = qw_pctx_time(ctx);
    arp_expire(ctx, st, now);

    struct arp_msg m;
    if (!arp_decode(ctx, data, len, &m)) return;
    const struct qw_packet *pkt = qw_pctx_packet(ctx);
    uint16_t vlan = pkt && pkt->nvlan ? pkt->vlan[pkt->nvlan - 1] : 0;
    if (pkt && pkt->has_mac && m.ether_ipv4 && memcmp(pkt->src_mac, m.sha, 6) != 0) {
        m.mac_mismatch = true;
        memcpy(m.ether_src, pkt->src_mac, 6);
        if (m.op == ARP_OP_REPLY) {
            char detail[64], a[18], b[18];
            snprintf(detail, sizeof detail, "ether source %s, sender %s",
                     qw_mac_str(pkt->src_mac, a), qw_mac_str(m.sha, b));
            qw_emit_anomaly(ctx, "arp.reply_mac_mismatch", detail);
        }
    }

    /* Bindings first, so a conflict is reported with the frame that causes it. */
    if (m.ether_ipv4 && (m.op == ARP_OP_REQUEST || m.op == ARP_OP_REPLY) &&
        arp_ip_is_host(m.spa)) {
        bool changed = arp_bind(ctx, st, vlan, m.spa, m.sha, now);
        if (changed && !m.mac_mismatch) {
            char ip[16];
            int n = snprintf(ip, sizeof ip, "%u.%u.%u.%u", m.spa[0], m.spa[1], m.spa[2], m.spa[3]);
            qw_emit_identity(ctx, false, "ip", ip, (size_t)n);
        }
    }

    if (!m.ether_ipv4 || (m.op != ARP_OP_REQUEST && m.op != ARP_OP_REPLY)) {
        /* Other address families and opcodes have no pairing here: one record each. */
        bool reply = m.op == ARP_OP_REPLY || m.op == 4 || m.op == 9;
        arp_emit(ctx, st, reply ? NULL : &m, now, reply ? &m : NULL, now);
        return;
    }
    if (m.op == ARP_OP_REQUEST) {
        if (m.gratuitous)
            arp_emit(ctx, st, &m, now, NULL, 0); /* nobody answers a gratuitous request */
        else
            arp_queue(ctx, st, vlan, &m);
        return;
    }
    struct arp_pending *p = arp_match(st, vlan, m.tpa, m.spa);
    if (p) {
        arp_emit_pending(ctx, st, p, &m, now);
    } else {
        arp_emit(ctx, st, NULL, 0, &m, now); /* unsolicited (gratuitous or spoofed) reply */
    }
}

/* Engine-wide state: called at the end of the capture, when the engine offers that for
 * link-layer parsers (see the report), to report the requests still waiting. */
static void arp_end(struct qw_pctx *ctx, void *state)
{
    struct arp_state *st = state;
    struct arp_pending *p;
    while ((p = arp_oldest(st)) != NULL) arp_flush(ctx, st, p);
}

const struct qw_proto qw_proto_arp = {
    .name = "arp",
    .transports = QW_TRANSPORT_ETHER,
    .ethertypes = {ARP_ETHERTYPE, 0},
    .state_size = sizeof(struct arp_state),
    .frame = arp_frame,
    .flow_end = arp_end,
};
