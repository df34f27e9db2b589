#include "decode/shard_key.h"

#include <string.h>

#include "decode/layers.h"
#include "util/cursor.h"

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Order the two addresses, so that both directions hash alike, then mix. */
static uint64_t pair_hash(uint64_t a, uint64_t b)
{
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    return mix64(lo ^ mix64(hi + 0x9e3779b97f4a7c15ull));
}

static uint64_t ethertype_hash(struct qw_cursor *c, uint16_t type, bool *has_ip, int depth);
static uint64_t ip_hash(struct qw_cursor *c, uint16_t type, bool *has_ip, int depth);

/* The IP payload of a tunnel the decoder descends into (IP-in-IP 4, IPv6-in-IPv4 41, GRE 47 with
 * version 0 and an IPv4, IPv6 or Ethernet payload): the inner packet's hash, or 0 with *has_ip
 * untouched when `proto` is no such tunnel or the inner packet has no usable IP header, in which
 * case the decoder, too, keeps the outer addresses. */
static uint64_t tunnel_hash(const uint8_t *payload, size_t len, uint8_t proto, bool *has_ip,
                            int depth)
{
    if (depth >= QW_MAX_ENCAP_DEPTH) return 0;
    struct qw_cursor c = qw_cursor_make(payload, len);
    bool inner = false;
    uint64_t h = 0;
    if (proto == 4 || proto == 41) {
        h = ip_hash(&c, proto == 4 ? QW_ETH_IPV4 : QW_ETH_IPV6, &inner, depth + 1);
    } else if (proto == 47) {
        uint16_t type = qw_gre_open(&c);
        if (type == QW_ETH_TEB) {
            qw_cur_skip(&c, 12); /* the inner Ethernet addresses */
            h = ethertype_hash(&c, qw_cur_be16(&c), &inner, depth + 1);
        } else if (type == QW_ETH_IPV4 || type == QW_ETH_IPV6) {
            h = ip_hash(&c, type, &inner, depth + 1);
        }
    }
    if (!inner) return 0;
    *has_ip = true;
    return h;
}

/* At an IP header (version from its first nibble when `type` is 0): the pair of the innermost
 * header the decoder would take the flow's addresses from. A tunnel is followed only when the
 * outer datagram is not a fragment, as every fragment of one datagram must land together and
 * only the first carries the inner header; a tunnelled flow whose datagrams are fragmented only
 * sometimes is the one case this splits (docs/performance.md). */
static uint64_t ip_hash(struct qw_cursor *c, uint16_t type, bool *has_ip, int depth)
{
    const uint8_t *h = c->base + c->off;
    size_t left = c->len > c->off ? c->len - c->off : 0;
    if (c->err || left < 1) return 0;
    unsigned version = h[0] >> 4;
    if (type == 0) type = version == 4 ? QW_ETH_IPV4 : version == 6 ? QW_ETH_IPV6 : 0;
    if (type == QW_ETH_IPV4 && version == 4 && left >= 20) {
        size_t ihl = (size_t)(h[0] & 0x0f) * 4, total = (size_t)h[2] << 8 | h[3];
        /* the decoder takes no addresses from a header it finds malformed or cut */
        if (depth > 0 && (ihl < 20 || total < ihl || ihl > left)) return 0;
        *has_ip = true;
        uint32_t s, d;
        memcpy(&s, h + 12, 4);
        memcpy(&d, h + 16, 4);
        bool fragment = (h[6] & 0x3f) != 0 || h[7] != 0; /* more fragments, or an offset */
        if (!fragment && ihl >= 20 && ihl <= left) {
            size_t end = total < left ? total : left;
            if (end < ihl) end = ihl;
            bool inner = false;
            uint64_t t = tunnel_hash(h + ihl, end - ihl, h[9], &inner, depth);
            if (inner) return t;
        }
        return pair_hash(s, d);
    }
    if (type == QW_ETH_IPV6 && version == 6 && left >= 40) {
        *has_ip = true;
        uint64_t s = load64(h + 8) ^ mix64(load64(h + 16));
        uint64_t d = load64(h + 24) ^ mix64(load64(h + 32));
        uint64_t outer = pair_hash(s, d);
        /* the extension headers, as the decoder walks them */
        size_t plen = (size_t)h[4] << 8 | h[5];
        size_t blen = plen && plen < left - 40 ? plen : left - 40;
        struct qw_cursor body = qw_cursor_make(h + 40, blen);
        struct qw_ipv6_frag fh;
        uint8_t next = qw_ipv6_skip_ext(&body, h[6], &fh);
        /* cut, or a fragment with an offset or more to come: the outer pair */
        if (body.err || (fh.present && (fh.offset || fh.more))) return outer;
        bool inner = false;
        uint64_t t = tunnel_hash(body.base + body.off, body.len - body.off, next, &inner, depth);
        return inner ? t : outer;
    }
    return 0;
}

/* After an ethertype: VLAN tags, LLC/SNAP, PPPoE and MPLS, as the decoder walks them. */
static uint64_t ethertype_hash(struct qw_cursor *c, uint16_t type, bool *has_ip, int depth)
{
    for (int n = 0; n < 8 && (type == QW_ETH_VLAN || type == QW_ETH_QINQ || type == QW_ETH_QINQ_OLD); n++) {
        qw_cur_skip(c, 2);
        type = qw_cur_be16(c);
    }
    if (c->err) return 0;
    if (type <= 1500) { /* 802.3 length: only LLC/SNAP can carry IP */
        uint8_t dsap = qw_cur_u8(c), ssap = qw_cur_u8(c), ctl = qw_cur_u8(c);
        if (c->err || dsap != 0xaa || ssap != 0xaa || ctl != 0x03) return 0;
        qw_cur_skip(c, 3);
        type = qw_cur_be16(c);
    }
    if (type == QW_ETH_PPPOE_SESSION) {
        qw_cur_skip(c, 6);
        uint16_t ppp = qw_cur_be16(c);
        type = ppp == 0x0021 ? QW_ETH_IPV4 : ppp == 0x0057 ? QW_ETH_IPV6 : 0;
        if (!type) return 0;
    } else if (type == QW_ETH_MPLS || type == QW_ETH_MPLS_MC) {
        for (int n = 0; n < 8; n++) {
            uint32_t lse = qw_cur_be32(c);
            if (c->err) return 0;
            if (lse & 0x100) return ip_hash(c, 0, has_ip, depth);
        }
        return 0;
    }
    if (type != QW_ETH_IPV4 && type != QW_ETH_IPV6) return 0;
    return ip_hash(c, type, has_ip, depth);
}

uint64_t qw_shard_hash(int linktype, const uint8_t *frame, uint32_t caplen, bool *has_ip)
{
    *has_ip = false;
    struct qw_cursor c = qw_cursor_make(frame, caplen);
    switch (linktype) {
    case QW_LT_EN10MB:
        qw_cur_skip(&c, 12);
        return ethertype_hash(&c, qw_cur_be16(&c), has_ip, 0);
    case QW_LT_NULL:
    case QW_LT_LOOP:
        qw_cur_skip(&c, 4); /* address family: the version nibble tells the same */
        return ip_hash(&c, 0, has_ip, 0);
    case QW_LT_RAW:
    case QW_LT_RAW_OPENBSD:
    case QW_LT_RAW_PCAP:
        return ip_hash(&c, 0, has_ip, 0);
    case QW_LT_IPV4:
        return ip_hash(&c, QW_ETH_IPV4, has_ip, 0);
    case QW_LT_IPV6:
        return ip_hash(&c, QW_ETH_IPV6, has_ip, 0);
    case QW_LT_LINUX_SLL:
        qw_cur_skip(&c, 14);
        return ethertype_hash(&c, qw_cur_be16(&c), has_ip, 0);
    case QW_LT_LINUX_SLL2: {
        uint16_t proto = qw_cur_be16(&c);
        qw_cur_skip(&c, 18);
        return ethertype_hash(&c, proto, has_ip, 0);
    }
    default:
        return 0;
    }
}

unsigned qw_shard_of(int linktype, const uint8_t *frame, uint32_t caplen, unsigned nworkers,
                     uint32_t share0)
{
    if (nworkers <= 1) return 0;
    bool ip;
    uint64_t h = qw_shard_hash(linktype, frame, caplen, &ip);
    if (!ip) return 0;
    uint64_t u = h >> 32; /* uniform in [0, 2^32) */
    if (u < share0) return 0;
    uint64_t span = (1ull << 32) - share0;
    return 1 + (unsigned)(((u - share0) * (uint64_t)(nworkers - 1)) / span);
}
