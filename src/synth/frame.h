/* Frame builder: 802.1Q-tagged Ethernet, IPv4, UDP, TCP and ARP headers with their checksums.
 *
 * Pure functions over a caller-owned buffer, no state. The payload is written first at a fixed
 * offset (SY_UDP_PL / SY_TCP_PL), then the builder wraps headers around it, so no byte is copied
 * twice. Checksums follow RFC 1071 (one's complement sum of 16-bit big-endian words). */
#ifndef QW_SYNTH_FRAME_H
#define QW_SYNTH_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Layout of every frame we build (no IP or TCP options except on SYNs):
 *   0  6  destination MAC
 *   6  6  source MAC
 *  12  2  TPID 0x8100 (IEEE 802.1Q)
 *  14  2  TCI: priority 3 bits, DEI 1 bit, VLAN id 12 bits
 *  16  2  EtherType of the payload
 *  18 20  IPv4 header (RFC 791)
 *  38     UDP header (8) or TCP header (20, RFC 9293) */
#define SY_ETH_LEN 18
#define SY_IP_OFF 18
#define SY_L4_OFF 38
#define SY_UDP_PL (SY_L4_OFF + 8)
#define SY_TCP_PL (SY_L4_OFF + 20)
#define SY_FRAME_MIN 60 /* 64-byte minimum Ethernet frame less the 4-byte FCS, which SPANs strip */
#define SY_FRAME_MAX 1518 /* 1500-byte IP MTU + tagged Ethernet header; all payloads fit */
#define SY_MTU 1500
#define SY_TCP_MSS 1460

#define SY_ETHERTYPE_IPV4 0x0800
#define SY_ETHERTYPE_ARP 0x0806

/* TCP flags (RFC 9293 section 3.1). */
#define SY_TH_FIN 0x01
#define SY_TH_SYN 0x02
#define SY_TH_RST 0x04
#define SY_TH_PSH 0x08
#define SY_TH_ACK 0x10

/* Everything below layer 4 for one packet. MAC pointers must stay valid during the call. */
struct sy_l3 {
    const uint8_t *dmac, *smac;
    uint16_t vlan;
    uint32_t sip, dip; /* host byte order */
    uint8_t ttl;
    uint8_t dscp_ecn; /* the IPv4 TOS byte */
    uint16_t ipid;
};

/* Unfolded sum of the big-endian 16-bit words of p[0..len); an odd tail byte counts as the high
 * half of a word. Sums of adjacent even-length pieces can simply be added. */
uint64_t sy_sum16(const uint8_t *p, size_t len);

/* Folds a running sum to 16 bits and complements it: the value to store in a checksum field. */
uint16_t sy_csum_fold(uint64_t sum);

static inline void sy_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void sy_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Builds a UDP datagram around the payload already at f + SY_UDP_PL. The checksum covers
 * payload[0..sum_len) computed here plus `tail_sum`, the caller's precomputed sum of
 * payload[sum_len..plen) (pass sum_len = plen, tail_sum = 0 when there is none; sum_len must be
 * even otherwise). Returns the frame length. */
size_t sy_build_udp(uint8_t *f, const struct sy_l3 *h, uint16_t sport, uint16_t dport, size_t plen,
                    size_t sum_len, uint64_t tail_sum);

/* Builds a TCP segment around the payload at f + SY_TCP_PL. A SYN carries the options MSS and
 * SACK-permitted (and must have no payload). Checksum arguments as for sy_build_udp. */
size_t sy_build_tcp(uint8_t *f, const struct sy_l3 *h, uint16_t sport, uint16_t dport, uint32_t seq,
                    uint32_t ack, uint8_t flags, uint16_t win, size_t plen, size_t sum_len,
                    uint64_t tail_sum);

/* Builds an Ethernet/IPv4 ARP packet (RFC 826). eth_dst is the frame destination (broadcast for
 * requests); tha is the target hardware address field (zero in requests). */
size_t sy_build_arp(uint8_t *f, uint16_t vlan, const uint8_t eth_dst[6], const uint8_t eth_src[6],
                    uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                    uint32_t tpa);

#endif
