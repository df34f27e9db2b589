/* Frame decoding. Header layouts are cited per function; every read goes through the cursor.
 *
 * Ethernet II: dst(6) src(6) type(2); type <= 1500 is an 802.3 length followed by LLC.
 * 802.1Q / 802.1ad tag (IEEE 802.1Q-2018 s.9.6): TCI(2: PCP 3, DEI 1, VID 12) type(2).
 * Linux SLL (LINKTYPE_LINUX_SLL): pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
 * Linux SLL2 (LINKTYPE_LINUX_SLL2): protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
 *   halen(1) addr(8).
 * BSD NULL: 4-byte address family in the capturing host's byte order; LOOP: network order. */
#include "decode/decode.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode/layers.h"
#include "util/cursor.h"

static void decode_network(struct qw_decoder *d, struct qw_cursor *c, uint16_t type,
                           struct qw_packet *p, int depth);
static void decode_ethernet(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p,
                            int depth);

bool qw_linktype_supported(int lt)
{
    switch (lt) {
    case QW_LT_NULL: case QW_LT_EN10MB: case QW_LT_RAW: case QW_LT_RAW_OPENBSD:
    case QW_LT_RAW_PCAP: case QW_LT_LOOP: case QW_LT_LINUX_SLL: case QW_LT_IPV4: case QW_LT_IPV6:
    case QW_LT_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

void qw_decoder_init(struct qw_decoder *d, int linktype)
{
    memset(&d->stats, 0, sizeof d->stats);
    qw_frag_init(&d->frag);
    d->linktype = linktype;
    d->verify_l4 = true;
}

void qw_decoder_free(struct qw_decoder *d)
{
    qw_frag_free(&d->frag);
}

/* The Internet checksum's one's complement sum (RFC 1071). One's complement addition is
 * associative and byte-order independent up to a final swap (RFC 1071 s.2(A), 2(B)), so the
 * bytes are summed as 64-bit words in host order. Two independent sums with their carries
 * counted apart (a carry out of 64 bits is worth 1 in one's complement: 2^64 = 1 mod 2^16-1)
 * keep the loop free of a long dependency chain; everything is folded to 16 bits at the end.
 * This is the hottest loop of the decoder (every byte of every TCP/UDP payload). */
uint32_t qw_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
    uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0;
#ifdef __SSE2__
    /* Long runs in vector registers (SSE2 is part of x86-64): each 32-bit word is widened into
     * a 64-bit lane, which cannot overflow (2^32 words would be 16 GiB), and 2^32 = 1 modulo
     * 2^16-1 as well, so the lanes join the scalar sums as they are. */
    if (len >= 64) {
        const __m128i zero = _mm_setzero_si128();
        __m128i a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (; len >= 32; data += 32, len -= 32) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)data);
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(data + 16));
            a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(v, zero));
            a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(v, zero));
            a2 = _mm_add_epi64(a2, _mm_unpacklo_epi32(w, zero));
            a3 = _mm_add_epi64(a3, _mm_unpackhi_epi32(w, zero));
        }
        uint64_t lanes[2];
        _mm_storeu_si128((__m128i *)(void *)lanes,
                         _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3)));
        s0 = lanes[0];
        s1 = lanes[1]; /* each under 2^48 for any packet: no carry yet */
    }
#endif
    for (; len >= 16; data += 16, len -= 16) {
        uint64_t a, b;
        memcpy(&a, data, 8);
        memcpy(&b, data + 8, 8);
        s0 += a;
        c0 += s0 < a;
        s1 += b;
        c1 += s1 < b;
    }
    if (len >= 8) {
        uint64_t a;
        memcpy(&a, data, 8);
        s0 += a;
        c0 += s0 < a;
        data += 8;
        len -= 8;
    }
    /* The last 0..7 bytes, word by word: a 16-bit word may sit in any lane of the sums, since
     * 2^16 = 1 modulo 2^16-1. Loads of their own size (no bytes assembled in memory, which
     * would stall the load that reads them back). */
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, data, 4);
        s1 += w;
        c1 += s1 < w;
        data += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, data, 2);
        s1 += w;
        c1 += s1 < w;
        data += 2;
        len -= 2;
    }
    if (len) { /* a last odd byte is the first half of a zero-padded 16-bit word */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint64_t w = data[0];
#else
        uint64_t w = (uint64_t)data[0] << 8;
#endif
        s1 += w;
        c1 += s1 < w;
    }
    uint64_t acc = s0 + s1;
    uint64_t carries = c0 + c1 + (acc < s0);
    acc += carries;
    acc += acc < carries;
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    uint16_t folded = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    folded = (uint16_t)(folded << 8 | folded >> 8);
#endif
    sum += folded;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

uint16_t qw_csum_fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Sum of the 16-bit big-endian words of an address (4 or 16 bytes). */
static uint32_t addr_words(const uint8_t *a, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i += 2) sum += (uint32_t)a[i] << 8 | a[i + 1];
    return sum;
}

uint32_t qw_csum_pseudo(const struct qw_packet *p, uint32_t l4len)
{
    if (qw_addr_is_v4(&p->src_ip))
        return addr_words(p->src_ip.b + 12, 4) + addr_words(p->dst_ip.b + 12, 4) + p->l4_proto +
               l4len;
    return addr_words(p->src_ip.b, 16) + addr_words(p->dst_ip.b, 16) + (l4len >> 16) +
           (l4len & 0xffff) + p->l4_proto;
}

/* TCP (RFC 9293 s.3.1): sport(2) dport(2) seq(4) ack(4) off/flags(2) win(2) sum(2) urg(2) opts.
 * UDP (RFC 768): sport(2) dport(2) len(2) sum(2).  ICMP/ICMPv6: type(1) code(1) sum(2).
 * `complete` says the whole L4 segment was captured, so its checksum can be verified. */
static void decode_transport(struct qw_decoder *d, const uint8_t *l4, uint32_t len, bool complete,
                             struct qw_packet *p)
{
    bool verify = complete && d->verify_l4;
    struct qw_cursor c = qw_cursor_make(l4, len);
    p->l4_len = len;
    switch (p->l4_proto) {
    case 6: {
        d->stats.tcp++;
        p->sport = qw_cur_be16(&c);
        p->dport = qw_cur_be16(&c);
        p->seq = qw_cur_be32(&c);
        p->ack = qw_cur_be32(&c);
        uint8_t off = qw_cur_u8(&c) >> 4;
        p->tcp_flags = qw_cur_u8(&c);
        p->window = qw_cur_be16(&c);
        if (c.err) {
            d->stats.truncated++;
            return;
        }
        if (off < 5) {
            d->stats.malformed++;
            return;
        }
        size_t hlen = (size_t)off * 4;
        if (hlen > len) {
            d->stats.truncated++;
            return;
        }
        p->l4_ok = true;
        p->payload = l4 + hlen;
        p->payload_len = len - (uint32_t)hlen;
        if (verify && qw_csum_fold(qw_csum_add(qw_csum_pseudo(p, len), l4, len)) != 0)
            d->stats.bad_tcp_checksum++;
        return;
    }
    case 17: {
        d->stats.udp++;
        p->sport = qw_cur_be16(&c);
        p->dport = qw_cur_be16(&c);
        uint16_t ulen = qw_cur_be16(&c);
        uint16_t sum = qw_cur_be16(&c);
        if (c.err) {
            d->stats.truncated++;
            return;
        }
        p->l4_ok = true;
        uint32_t plen = len - 8;
        if (ulen >= 8 && ulen <= len) {
            plen = ulen - 8u; /* trim link-layer padding */
        } else if (ulen < 8 && !(ulen == 0 && !qw_addr_is_v4(&p->src_ip))) {
            d->stats.malformed++; /* (0 is legal only for IPv6 jumbograms, RFC 2675) */
        } else if (ulen > len && complete) {
            d->stats.malformed++;
        }
        p->payload = l4 + 8;
        p->payload_len = plen;
        bool v4 = qw_addr_is_v4(&p->src_ip);
        if (verify && ulen >= 8 && ulen <= len && (sum != 0 || !v4) &&
            qw_csum_fold(qw_csum_add(qw_csum_pseudo(p, ulen), l4, ulen)) != 0)
            d->stats.bad_udp_checksum++;
        return;
    }
    case 1:
    case 58: {
        d->stats.icmp++;
        p->icmp_type = qw_cur_u8(&c);
        p->icmp_code = qw_cur_u8(&c);
        if (c.err) {
            d->stats.truncated++;
            return;
        }
        p->l4_ok = true;
        p->payload = l4 + (len >= 4 ? 4 : len);
        p->payload_len = len >= 4 ? len - 4 : 0;
        if (complete && len >= 4) {
            uint32_t sum = p->l4_proto == 58 ? qw_csum_pseudo(p, len) : 0;
            if (qw_csum_fold(qw_csum_add(sum, l4, len)) != 0) d->stats.bad_icmp_checksum++;
        }
        return;
    }
    default:
        d->stats.other_l4++;
        p->payload = l4;
        p->payload_len = len;
        return;
    }
}

/* Payload of an IP packet, after reassembly if needed: tunnels recurse, the rest is transport. */
static void decode_ip_payload(struct qw_decoder *d, const uint8_t *data, uint32_t len,
                              bool complete, struct qw_packet *p, int depth)
{
    if ((p->l4_proto == 4 || p->l4_proto == 41) && depth < QW_MAX_ENCAP_DEPTH) {
        /* IP-in-IP (RFC 2003) and IPv6-in-IPv4 (RFC 4213): the inner packet is what flows. */
        d->stats.tunnels++;
        struct qw_cursor c = qw_cursor_make(data, len);
        decode_network(d, &c, p->l4_proto == 4 ? QW_ETH_IPV4 : QW_ETH_IPV6, p, depth + 1);
        return;
    }
    if (p->l4_proto == 47 && depth < QW_MAX_ENCAP_DEPTH) {
        /* GRE: IPv4, IPv6 or Ethernet inside is what flows; anything else is GRE's own */
        struct qw_cursor c = qw_cursor_make(data, len);
        uint16_t type = qw_gre_open(&c);
        if (type == QW_ETH_IPV4 || type == QW_ETH_IPV6 || type == QW_ETH_TEB) {
            d->stats.tunnels++;
            if (type == QW_ETH_TEB)
                decode_ethernet(d, &c, p, depth + 1);
            else
                decode_network(d, &c, type, p, depth + 1);
            return;
        }
    }
    decode_transport(d, data, len, complete, p);
}

/* One IPv4 or IPv6 fragment: hand it to reassembly; when it completes a datagram, decode the
 * datagram's payload. A fragment cut by the capture cannot be reassembled and is dropped. */
static void decode_fragment(struct qw_decoder *d, const struct qw_frag_in *in, bool complete,
                            struct qw_packet *p, int depth)
{
    p->ip_fragment_held = true; /* no transport header in this packet on its own */
    if (!complete) return;
    uint32_t got = qw_frag_add(&d->frag, in);
    if (!got) return;
    p->ip_fragment_held = false;
    p->ip_reassembled = true;
    decode_ip_payload(d, d->frag.out, got, true, p, depth);
}

/* IPv4 (RFC 791 s.3.1): ver/ihl(1) tos(1) total(2) id(2) flags/frag(2) ttl(1) proto(1) sum(2)
 * src(4) dst(4) options. */
static void decode_ipv4(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p, int depth)
{
    const uint8_t *start = qw_cur_ptr(c);
    size_t avail = qw_cur_left(c);
    uint8_t vihl = qw_cur_u8(c);
    qw_cur_skip(c, 1);
    uint16_t total = qw_cur_be16(c);
    uint16_t id = qw_cur_be16(c);
    uint16_t frag = qw_cur_be16(c);
    uint8_t ttl = qw_cur_u8(c);
    uint8_t proto = qw_cur_u8(c);
    qw_cur_skip(c, 2);
    uint8_t src[4], dst[4];
    qw_cur_bytes(c, src, 4);
    qw_cur_bytes(c, dst, 4);
    if (c->err) {
        d->stats.truncated++;
        return;
    }
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4 || ihl < 20 || total < ihl) {
        d->stats.malformed++;
        return;
    }
    if (ihl > avail) {
        d->stats.truncated++;
        return;
    }
    d->stats.ipv4++;
    p->l3 = QW_L3_IPV4;
    qw_addr_from_v4(&p->src_ip, src);
    qw_addr_from_v4(&p->dst_ip, dst);
    p->ttl = ttl;
    p->l4_proto = proto;
    if (qw_csum_fold(qw_csum_add(0, start, ihl)) != 0) d->stats.bad_ip_checksum++;

    /* Trust the total length over the capture: trailing bytes are link padding. */
    bool complete = total <= avail;
    uint32_t len = (uint32_t)((complete ? total : avail) - ihl);
    const uint8_t *payload = start + ihl;
    if (!complete) d->stats.truncated++;

    bool more = frag & 0x2000;
    uint32_t offset = (uint32_t)(frag & 0x1fff) * 8;
    if (more || offset) {
        struct qw_frag_in in = {4, proto, id, &p->src_ip, &p->dst_ip, offset, more,
                                payload, len, p->ts_ns};
        decode_fragment(d, &in, complete, p, depth);
        return;
    }
    decode_ip_payload(d, payload, len, complete, p, depth);
}

/* IPv6 (RFC 8200 s.3): ver/class/flow(4) payload length(2) next header(1) hop limit(1) src(16)
 * dst(16), then extension headers (qw_ipv6_skip_ext). */
static void decode_ipv6(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p, int depth)
{
    uint32_t vcf = qw_cur_be32(c);
    uint16_t plen = qw_cur_be16(c);
    uint8_t next = qw_cur_u8(c);
    uint8_t hlim = qw_cur_u8(c);
    uint8_t src[16], dst[16];
    qw_cur_bytes(c, src, 16);
    qw_cur_bytes(c, dst, 16);
    if (c->err) {
        d->stats.truncated++;
        return;
    }
    if ((vcf >> 28) != 6) {
        d->stats.malformed++;
        return;
    }
    /* only now: a damaged header inside a tunnel leaves the outer addresses, as IPv4 does */
    memcpy(p->src_ip.b, src, 16);
    memcpy(p->dst_ip.b, dst, 16);
    d->stats.ipv6++;
    p->l3 = QW_L3_IPV6;
    p->ttl = hlim;
    size_t avail = qw_cur_left(c);
    bool complete = plen <= avail && plen != 0;
    struct qw_cursor body = qw_cur_sub(c, plen ? plen : avail, NULL);
    if (!complete && plen != 0) d->stats.truncated++;

    struct qw_ipv6_frag fh;
    next = qw_ipv6_skip_ext(&body, next, &fh);
    if (body.err) {
        d->stats.truncated++;
        return;
    }
    p->l4_proto = next;
    const uint8_t *payload = qw_cur_ptr(&body);
    uint32_t len = (uint32_t)qw_cur_left(&body);
    if (fh.present && (fh.more || fh.offset)) {
        struct qw_frag_in in = {6, next, fh.id, &p->src_ip, &p->dst_ip, fh.offset, fh.more,
                                payload, len, p->ts_ns};
        decode_fragment(d, &in, complete, p, depth);
        return;
    }
    decode_ip_payload(d, payload, len, complete, p, depth);
}

/* ARP for IPv4 over Ethernet (RFC 826): htype(2) ptype(2) hlen(1) plen(1) op(2) sha tpa ... */
static void decode_arp(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p)
{
    memset(&p->arp, 0, sizeof p->arp); /* not cleared with the rest of the packet */
    uint16_t htype = qw_cur_be16(c);
    uint16_t ptype = qw_cur_be16(c);
    uint8_t hlen = qw_cur_u8(c);
    uint8_t plen = qw_cur_u8(c);
    p->arp.op = qw_cur_be16(c);
    if (c->err) {
        d->stats.truncated++;
        return;
    }
    d->stats.arp++;
    p->l3 = QW_L3_ARP;
    if (htype != 1 || ptype != QW_ETH_IPV4 || hlen != 6 || plen != 4) return;
    uint8_t spa[4], tpa[4];
    qw_cur_bytes(c, p->arp.sha, 6);
    qw_cur_bytes(c, spa, 4);
    qw_cur_bytes(c, p->arp.tha, 6);
    qw_cur_bytes(c, tpa, 4);
    if (c->err) {
        d->stats.truncated++;
        p->arp.op = 0;
        return;
    }
    qw_addr_from_v4(&p->arp.spa, spa);
    qw_addr_from_v4(&p->arp.tpa, tpa);
}

static void decode_network(struct qw_decoder *d, struct qw_cursor *c, uint16_t type,
                           struct qw_packet *p, int depth)
{
    p->ethertype = type;
    switch (type) {
    case QW_ETH_IPV4: decode_ipv4(d, c, p, depth); return;
    case QW_ETH_IPV6: decode_ipv6(d, c, p, depth); return;
    default: break;
    }
    /* Link-layer parsers (ARP, LLDP, PROFINET DCP, GOOSE...) read the frame from here on. */
    p->payload = qw_cur_ptr(c);
    p->payload_len = (uint32_t)qw_cur_left(c);
    if (type == QW_ETH_ARP) {
        decode_arp(d, c, p);
        return;
    }
    d->stats.other_l2++;
    p->l3 = QW_L3_OTHER;
}

/* Guess the network protocol of a bare IP packet from its version nibble. */
static void decode_raw_ip(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p,
                          int depth)
{
    if (!qw_cur_has(c, 1)) {
        d->stats.truncated++;
        return;
    }
    uint8_t v = qw_cur_ptr(c)[0] >> 4;
    if (v == 4)
        decode_network(d, c, QW_ETH_IPV4, p, depth);
    else if (v == 6)
        decode_network(d, c, QW_ETH_IPV6, p, depth);
    else
        d->stats.malformed++;
}

/* Ethertype after VLAN tags, LLC/SNAP, PPPoE or MPLS. */
static void decode_ethertype(struct qw_decoder *d, struct qw_cursor *c, uint16_t type,
                             struct qw_packet *p, int depth)
{
    for (int n = 0; n < 8; n++) { /* bounded tag stack */
        if (type == QW_ETH_VLAN || type == QW_ETH_QINQ || type == QW_ETH_QINQ_OLD) {
            uint16_t tci = qw_cur_be16(c);
            type = qw_cur_be16(c);
            if (c->err) {
                d->stats.truncated++;
                return;
            }
            if (p->nvlan < QW_MAX_VLANS) p->vlan[p->nvlan++] = tci & 0x0fff;
            continue;
        }
        break;
    }
    if (type <= 1500) {
        /* 802.3 length + LLC (802.2): DSAP(1) SSAP(1) control(1); SNAP adds OUI(3) type(2). */
        uint8_t dsap = qw_cur_u8(c);
        uint8_t ssap = qw_cur_u8(c);
        uint8_t ctl = qw_cur_u8(c);
        if (!c->err && dsap == 0xaa && ssap == 0xaa && ctl == 0x03) {
            qw_cur_skip(c, 3);
            type = qw_cur_be16(c);
            if (!c->err) {
                decode_network(d, c, type, p, depth);
                return;
            }
        }
        d->stats.other_l2++;
        p->l3 = QW_L3_OTHER;
        p->ethertype = 0;
        return;
    }
    if (type == QW_ETH_PPPOE_SESSION) {
        /* PPPoE (RFC 2516 s.4): ver/type(1) code(1) session(2) length(2), then PPP protocol(2):
         * 0x0021 IPv4, 0x0057 IPv6 (RFC 1661, RFC 5072). */
        qw_cur_skip(c, 6);
        uint16_t ppp = qw_cur_be16(c);
        if (!c->err && ppp == 0x0021) {
            decode_network(d, c, QW_ETH_IPV4, p, depth);
            return;
        }
        if (!c->err && ppp == 0x0057) {
            decode_network(d, c, QW_ETH_IPV6, p, depth);
            return;
        }
    }
    if (type == QW_ETH_MPLS || type == QW_ETH_MPLS_MC) {
        /* MPLS label stack entries (RFC 3032): label(20) TC(3) S(1) TTL(8); IP follows S=1. */
        for (int n = 0; n < 8; n++) {
            uint32_t lse = qw_cur_be32(c);
            if (c->err) {
                d->stats.truncated++;
                return;
            }
            if (lse & 0x100) {
                decode_raw_ip(d, c, p, depth);
                return;
            }
        }
    }
    decode_network(d, c, type, p, depth);
}

static void decode_ethernet(struct qw_decoder *d, struct qw_cursor *c, struct qw_packet *p,
                            int depth)
{
    uint8_t dst[6], src[6];
    qw_cur_bytes(c, dst, 6);
    qw_cur_bytes(c, src, 6);
    uint16_t type = qw_cur_be16(c);
    if (c->err) {
        d->stats.truncated++;
        return;
    }
    if (depth == 0) { /* tunnelled frames do not replace the outer addresses */
        memcpy(p->dst_mac, dst, 6);
        memcpy(p->src_mac, src, 6);
        p->has_mac = true;
    }
    decode_ethertype(d, c, type, p, depth);
}

/* Clear the packet up to its payload fields, which qw_decode sets right after. A memset of this
 * size became `rep stos`, whose start-up cost was 2.6 % of a run; sixteen-byte stores are a few
 * cycles. The last store may run into the payload fields (set afterwards), never past them. */
_Static_assert(offsetof(struct qw_packet, payload) % 8 == 0 &&
                   (offsetof(struct qw_packet, payload) + 15) / 16 * 16 <=
                       offsetof(struct qw_packet, l4_len) + sizeof(uint32_t),
               "the cleared head must end within the fields qw_decode sets");
static inline void clear_head(struct qw_packet *p)
{
#ifdef __SSE2__
    char *b = (char *)p;
    const __m128i z = _mm_setzero_si128();
    for (size_t i = 0; i < offsetof(struct qw_packet, payload); i += 16)
        _mm_storeu_si128((__m128i *)(void *)(b + i), z);
#else
    memset(p, 0, offsetof(struct qw_packet, payload));
#endif
}

bool qw_decode(struct qw_decoder *d, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
               uint64_t ts_ns, struct qw_packet *p)
{
    clear_head(p);
    p->payload = NULL;
    p->payload_len = 0;
    p->l4_len = 0;
    p->ts_ns = ts_ns;
    p->caplen = caplen;
    p->wirelen = wirelen;
    d->stats.packets++;
    d->stats.bytes += wirelen;
    struct qw_cursor c = qw_cursor_make(frame, caplen);

    switch (d->linktype) {
    case QW_LT_EN10MB:
        decode_ethernet(d, &c, p, 0);
        break;
    case QW_LT_NULL:
    case QW_LT_LOOP: {
        uint32_t fam = d->linktype == QW_LT_LOOP ? qw_cur_be32(&c) : qw_cur_le32(&c);
        if (d->linktype == QW_LT_NULL && fam > 0xffff) fam = __builtin_bswap32(fam);
        if (c.err) {
            d->stats.truncated++;
            break;
        }
        /* AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD),
         * 30 (macOS): the values LINKTYPE_NULL captures carry. */
        if (fam == 2)
            decode_network(d, &c, QW_ETH_IPV4, p, 0);
        else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
            decode_network(d, &c, QW_ETH_IPV6, p, 0);
        break; /* any other family: counted as non-IP below */
    }
    case QW_LT_RAW:
    case QW_LT_RAW_OPENBSD:
    case QW_LT_RAW_PCAP:
        decode_raw_ip(d, &c, p, 0);
        break;
    case QW_LT_IPV4:
        decode_network(d, &c, QW_ETH_IPV4, p, 0);
        break;
    case QW_LT_IPV6:
        decode_network(d, &c, QW_ETH_IPV6, p, 0);
        break;
    case QW_LT_LINUX_SLL: {
        qw_cur_skip(&c, 2);
        uint16_t hatype = qw_cur_be16(&c);
        uint16_t halen = qw_cur_be16(&c);
        uint8_t addr[8];
        qw_cur_bytes(&c, addr, 8);
        uint16_t proto = qw_cur_be16(&c);
        if (c.err) {
            d->stats.truncated++;
            break;
        }
        if (hatype == 1 && halen == 6) {
            memcpy(p->src_mac, addr, 6);
            p->has_mac = true; /* SLL records only the sender's address */
        }
        decode_ethertype(d, &c, proto, p, 0);
        break;
    }
    case QW_LT_LINUX_SLL2: {
        uint16_t proto = qw_cur_be16(&c);
        qw_cur_skip(&c, 6);
        uint16_t hatype = qw_cur_be16(&c);
        qw_cur_skip(&c, 1);
        uint8_t halen = qw_cur_u8(&c);
        uint8_t addr[8];
        qw_cur_bytes(&c, addr, 8);
        if (c.err) {
            d->stats.truncated++;
            break;
        }
        if (hatype == 1 && halen == 6) {
            memcpy(p->src_mac, addr, 6);
            p->has_mac = true;
        }
        decode_ethertype(d, &c, proto, p, 0);
        break;
    }
    default:
        d->stats.unsupported_linktype++;
        return false;
    }
    if (p->l3 == QW_L3_NONE) d->stats.non_ip++;
    return p->l3 != QW_L3_NONE;
}
