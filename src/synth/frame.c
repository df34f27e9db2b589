/* Frame builder: see frame.h for the layout. Specifications: IEEE 802.1Q (tag), RFC 791 (IPv4),
 * RFC 768 (UDP), RFC 9293 (TCP), RFC 826 (ARP), RFC 1071 (Internet checksum). */
#include "synth/frame.h"

#include <string.h>

uint64_t sy_sum16(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
    size_t i = 0;
    /* Four words per round: the compiler keeps this in registers and it is the hottest loop
     * for payloads that are not taken from the precomputed pool. */
    for (; i + 8 <= len; i += 8) {
        s += ((uint32_t)p[i] << 8 | p[i + 1]) + ((uint32_t)p[i + 2] << 8 | p[i + 3]) +
             ((uint32_t)p[i + 4] << 8 | p[i + 5]) + ((uint32_t)p[i + 6] << 8 | p[i + 7]);
    }
    for (; i + 2 <= len; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len) s += (uint32_t)p[i] << 8;
    return s;
}

uint16_t sy_csum_fold(uint64_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t vlan,
                    uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    sy_put16(f + 12, 0x8100);
    sy_put16(f + 14, vlan & 0x0fff); /* priority 0, DEI 0 */
    sy_put16(f + 16, type);
}

/* IPv4 header at f + SY_IP_OFF, no options. DF is set: every modern stack sets it on TCP and on
 * the small UDP datagrams generated here, and nothing here is ever fragmented. */
static void put_ipv4(uint8_t *f, const struct sy_l3 *h, uint8_t proto, size_t l4len)
{
    uint8_t *ip = f + SY_IP_OFF;
    ip[0] = 0x45;
    ip[1] = h->dscp_ecn;
    sy_put16(ip + 2, (uint16_t)(20 + l4len));
    sy_put16(ip + 4, h->ipid);
    sy_put16(ip + 6, 0x4000);
    ip[8] = h->ttl;
    ip[9] = proto;
    sy_put16(ip + 10, 0);
    sy_put32(ip + 12, h->sip);
    sy_put32(ip + 16, h->dip);
    sy_put16(ip + 10, sy_csum_fold(sy_sum16(ip, 20)));
}

/* Sum of the pseudo-header that UDP and TCP checksums cover (RFC 768, RFC 9293 3.1). */
static uint64_t pseudo_sum(const struct sy_l3 *h, uint8_t proto, size_t l4len)
{
    return (h->sip >> 16) + (h->sip & 0xffff) + (h->dip >> 16) + (h->dip & 0xffff) + proto + l4len;
}

/* Zero-fills a short frame up to the Ethernet minimum; the IPv4 total length tells receivers
 * where the packet ends, so the padding is not part of it. */
static size_t pad(uint8_t *f, size_t len)
{
    if (len < SY_FRAME_MIN) {
        memset(f + len, 0, SY_FRAME_MIN - len);
        return SY_FRAME_MIN;
    }
    return len;
}

size_t sy_build_udp(uint8_t *f, const struct sy_l3 *h, uint16_t sport, uint16_t dport, size_t plen,
                    size_t sum_len, uint64_t tail_sum)
{
    size_t l4len = 8 + plen;
    uint8_t *u = f + SY_L4_OFF;
    put_eth(f, h->dmac, h->smac, h->vlan, SY_ETHERTYPE_IPV4);
    put_ipv4(f, h, 17, l4len);
    sy_put16(u, sport);
    sy_put16(u + 2, dport);
    sy_put16(u + 4, (uint16_t)l4len);
    sy_put16(u + 6, 0);
    uint64_t s = pseudo_sum(h, 17, l4len) + sy_sum16(u, 8 + sum_len) + tail_sum;
    uint16_t c = sy_csum_fold(s);
    sy_put16(u + 6, c ? c : 0xffff); /* RFC 768: a computed zero is sent as all ones */
    return pad(f, SY_L4_OFF + l4len);
}

size_t sy_build_tcp(uint8_t *f, const struct sy_l3 *h, uint16_t sport, uint16_t dport, uint32_t seq,
                    uint32_t ack, uint8_t flags, uint16_t win, size_t plen, size_t sum_len,
                    uint64_t tail_sum)
{
    uint8_t *t = f + SY_L4_OFF;
    size_t hlen = 20;
    if (flags & SY_TH_SYN) {
        /* Options (RFC 9293 3.2, RFC 2018): MSS 1460, NOP, NOP, SACK permitted. */
        static const uint8_t opts[8] = {2, 4, SY_TCP_MSS >> 8, SY_TCP_MSS & 0xff, 1, 1, 4, 2};
        memcpy(t + 20, opts, sizeof opts);
        hlen += sizeof opts;
        plen = 0;
        sum_len = 0;
        tail_sum = 0;
    }
    size_t l4len = hlen + plen;
    put_eth(f, h->dmac, h->smac, h->vlan, SY_ETHERTYPE_IPV4);
    put_ipv4(f, h, 6, l4len);
    sy_put16(t, sport);
    sy_put16(t + 2, dport);
    sy_put32(t + 4, seq);
    sy_put32(t + 8, (flags & SY_TH_ACK) ? ack : 0);
    t[12] = (uint8_t)((hlen / 4) << 4);
    t[13] = flags;
    sy_put16(t + 14, win);
    sy_put16(t + 16, 0);
    sy_put16(t + 18, 0); /* urgent pointer */
    uint64_t s = pseudo_sum(h, 6, l4len) + sy_sum16(t, hlen + sum_len) + tail_sum;
    sy_put16(t + 16, sy_csum_fold(s));
    return pad(f, SY_L4_OFF + l4len);
}

size_t sy_build_arp(uint8_t *f, uint16_t vlan, const uint8_t eth_dst[6], const uint8_t eth_src[6],
                    uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                    uint32_t tpa)
{
    uint8_t *a = f + SY_ETH_LEN;
    put_eth(f, eth_dst, eth_src, vlan, SY_ETHERTYPE_ARP);
    sy_put16(a, 1);      /* hardware type: Ethernet */
    sy_put16(a + 2, 0x0800); /* protocol type: IPv4 */
    a[4] = 6;
    a[5] = 4;
    sy_put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    sy_put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    sy_put32(a + 24, tpa);
    return pad(f, SY_ETH_LEN + 28);
}
