#include "decode/shard_key.h"

#include <string.h>

#include "util/cursor.h"

/* Link types and ethertypes as in decode.c (the same values the decoder walks). */
enum {
    LT_NULL = 0, LT_EN10MB = 1, LT_RAW = 12, LT_RAW_OPENBSD = 14, LT_RAW_PCAP = 101,
    LT_LOOP = 108, LT_LINUX_SLL = 113, LT_IPV4 = 228, LT_IPV6 = 229, LT_LINUX_SLL2 = 276,
};
enum {
    ET_IPV4 = 0x0800, ET_IPV6 = 0x86dd, ET_VLAN = 0x8100, ET_QINQ = 0x88a8, ET_QINQ_OLD = 0x9100,
    ET_PPPOE = 0x8864, ET_MPLS = 0x8847, ET_MPLS_MC = 0x8848,
};

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

/* At an IP header (version from its first nibble when `type` is 0). */
static uint64_t ip_hash(struct qw_cursor *c, uint16_t type, bool *has_ip)
{
    const uint8_t *h = c->base + c->off;
    size_t left = c->len > c->off ? c->len - c->off : 0;
    if (c->err || left < 1) return 0;
    unsigned version = h[0] >> 4;
    if (type == 0) type = version == 4 ? ET_IPV4 : version == 6 ? ET_IPV6 : 0;
    if (type == ET_IPV4 && version == 4 && left >= 20) {
        *has_ip = true;
        uint32_t s, d;
        memcpy(&s, h + 12, 4);
        memcpy(&d, h + 16, 4);
        return pair_hash(s, d);
    }
    if (type == ET_IPV6 && version == 6 && left >= 40) {
        *has_ip = true;
        uint64_t s = load64(h + 8) ^ mix64(load64(h + 16));
        uint64_t d = load64(h + 24) ^ mix64(load64(h + 32));
        return pair_hash(s, d);
    }
    return 0;
}

/* After an ethertype: VLAN tags, LLC/SNAP, PPPoE and MPLS, as the decoder walks them. */
static uint64_t ethertype_hash(struct qw_cursor *c, uint16_t type, bool *has_ip)
{
    for (int n = 0; n < 8 && (type == ET_VLAN || type == ET_QINQ || type == ET_QINQ_OLD); n++) {
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
    if (type == ET_PPPOE) {
        qw_cur_skip(c, 6);
        uint16_t ppp = qw_cur_be16(c);
        type = ppp == 0x0021 ? ET_IPV4 : ppp == 0x0057 ? ET_IPV6 : 0;
        if (!type) return 0;
    } else if (type == ET_MPLS || type == ET_MPLS_MC) {
        for (int n = 0; n < 8; n++) {
            uint32_t lse = qw_cur_be32(c);
            if (c->err) return 0;
            if (lse & 0x100) return ip_hash(c, 0, has_ip);
        }
        return 0;
    }
    if (type != ET_IPV4 && type != ET_IPV6) return 0;
    return ip_hash(c, type, has_ip);
}

uint64_t qw_shard_hash(int linktype, const uint8_t *frame, uint32_t caplen, bool *has_ip)
{
    *has_ip = false;
    struct qw_cursor c = qw_cursor_make(frame, caplen);
    switch (linktype) {
    case LT_EN10MB:
        qw_cur_skip(&c, 12);
        return ethertype_hash(&c, qw_cur_be16(&c), has_ip);
    case LT_NULL:
    case LT_LOOP:
        qw_cur_skip(&c, 4); /* address family: the version nibble tells the same */
        return ip_hash(&c, 0, has_ip);
    case LT_RAW:
    case LT_RAW_OPENBSD:
    case LT_RAW_PCAP:
        return ip_hash(&c, 0, has_ip);
    case LT_IPV4:
        return ip_hash(&c, ET_IPV4, has_ip);
    case LT_IPV6:
        return ip_hash(&c, ET_IPV6, has_ip);
    case LT_LINUX_SLL:
        qw_cur_skip(&c, 14);
        return ethertype_hash(&c, qw_cur_be16(&c), has_ip);
    case LT_LINUX_SLL2: {
        uint16_t proto = qw_cur_be16(&c);
        qw_cur_skip(&c, 18);
        return ethertype_hash(&c, proto, has_ip);
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
