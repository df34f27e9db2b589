/* Link, network and transport decoding of one captured frame into a struct qw_packet.
 *
 * Supported link types (pcap LINKTYPE_/DLT_ values): Ethernet (1), BSD loopback/NULL (0),
 * OpenBSD loopback (108), raw IP (12, 14, 101, 228, 229), Linux cooked SLL (113) and SLL2 (276).
 * Over Ethernet: 802.1Q/802.1ad VLAN tags (QinQ), 802.3 LLC/SNAP, PPPoE session, MPLS.
 * Network: ARP, IPv4 (with fragment reassembly), IPv6 (extension headers and fragments), and
 * IP-in-IP / GRE tunnels, decoded down to the innermost packet. Transport: TCP, UDP, ICMP,
 * ICMPv6. Bad checksums are counted and never stop decoding. */
#ifndef QW_DECODE_DECODE_H
#define QW_DECODE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "util/counters.h"

#include "decode/frag.h"
#include "decode/packet.h"

struct qw_decode_stats {
    uint64_t packets, bytes;
    uint64_t ipv4, ipv6, arp, other_l2, non_ip;
    uint64_t tcp, udp, icmp, other_l4;
    uint64_t truncated;         /* a header cut short by the capture or a lying length */
    uint64_t malformed;         /* a header that breaks its spec (bad version, IHL < 5, ...) */
    uint64_t bad_ip_checksum, bad_tcp_checksum, bad_udp_checksum, bad_icmp_checksum;
    uint64_t unsupported_linktype;
    uint64_t tunnels;           /* packets decoded through an IP-in-IP or GRE tunnel */
};
QW_COUNTERS_ONLY(struct qw_decode_stats, 19); /* summed over engines (qw_counters_add) */

struct qw_decoder {
    struct qw_decode_stats stats;
    struct qw_frag_table frag;
    int linktype;
    /* Verify TCP and UDP checksums: true after qw_decoder_init, then the engine's setting
     * (qw_engine_setup_decoder). They cover every payload byte, which otherwise only the
     * parsers touch, and the result is a statistic: a segment with a bad checksum is analysed
     * all the same. IPv4 header and ICMP checksums are always checked. */
    bool verify_l4;
};

void qw_decoder_init(struct qw_decoder *d, int linktype);
void qw_decoder_free(struct qw_decoder *d);

/* Decode one frame. Always fills what it could decode; returns false when the frame carried
 * nothing usable past the link layer. */
bool qw_decode(struct qw_decoder *d, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
               uint64_t ts_ns, struct qw_packet *pkt);

/* Is the link type one we decode? */
bool qw_linktype_supported(int linktype);

/* Internet checksum (RFC 1071) over data, folded, starting from `sum`. */
uint32_t qw_csum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t qw_csum_fold(uint32_t sum);
/* The IP pseudo-header's sum for a checksum over `l4len` bytes of protocol p->l4_proto between
 * p's addresses (TCP, UDP, ICMPv6, VRRP 3: RFC 9293 s.3.1, RFC 8200 s.8.1), unfolded:
 * qw_csum_add goes on from it. */
uint32_t qw_csum_pseudo(const struct qw_packet *p, uint32_t l4len);

#endif
