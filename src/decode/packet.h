/* One decoded packet: what the link, network and transport layers said.
 *
 * Pointers (payload, arp) point into the captured frame or into the fragment-reassembly buffer
 * and are valid only until the next packet is decoded. */
#ifndef QW_DECODE_PACKET_H
#define QW_DECODE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* IP address; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, RFC 4291 s.2.5.5.2) so one type and
 * one comparison serve both families. */
struct qw_addr {
    uint8_t b[16];
};

#define QW_MAX_VLANS 2 /* 802.1Q and one QinQ outer tag; deeper stacks keep the outer two */

enum qw_l3 {
    QW_L3_NONE = 0,
    QW_L3_IPV4,
    QW_L3_IPV6,
    QW_L3_ARP,
    QW_L3_OTHER, /* a link-layer protocol we count but do not decode (LLDP, STP, ...) */
};

struct qw_arp {
    uint16_t op; /* 1 request, 2 reply */
    uint8_t sha[6], tha[6];
    struct qw_addr spa, tpa;
};

struct qw_packet {
    uint64_t ts_ns;     /* capture time, ns since the epoch */
    uint32_t caplen;    /* bytes captured */
    uint32_t wirelen;   /* bytes on the wire */

    bool has_mac;
    uint8_t src_mac[6], dst_mac[6];
    uint8_t nvlan;
    uint16_t vlan[QW_MAX_VLANS]; /* outermost first */
    uint16_t ethertype;          /* of the network layer (after tags) */

    enum qw_l3 l3;
    struct qw_addr src_ip, dst_ip;
    uint8_t ttl;           /* or IPv6 hop limit */
    bool ip_reassembled;   /* datagram rebuilt from fragments */
    bool ip_fragment_held; /* a fragment that completes no datagram (stored, cut or refused) */

    uint8_t l4_proto;   /* IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...) */
    bool l4_ok;         /* transport header decoded */
    uint16_t sport, dport;
    uint8_t tcp_flags;  /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
    uint32_t seq, ack;
    uint16_t window;
    uint8_t icmp_type, icmp_code;

    /* Transport payload for IP; for ARP and other link-layer protocols, the bytes after the
     * ethertype (or SNAP protocol id), Ethernet padding included. */
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t l4_len;        /* transport header + payload: the bytes counted for flows */

    /* Set only when l3 is QW_L3_ARP: kept out of what qw_decode clears for every packet. */
    struct qw_arp arp;
};

#define QW_TCP_FIN 0x01
#define QW_TCP_SYN 0x02
#define QW_TCP_RST 0x04
#define QW_TCP_PSH 0x08
#define QW_TCP_ACK 0x10

static inline bool qw_addr_is_v4(const struct qw_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    for (int i = 0; i < 12; i++)
        if (a->b[i] != prefix[i]) return false;
    return true;
}

/* Text form (inet_ntop); buf must hold 46 bytes. Returns buf. */
char *qw_addr_str(const struct qw_addr *a, char *buf);
/* Parse dotted IPv4 or IPv6 text; false on junk. */
bool qw_addr_parse(const char *s, struct qw_addr *out);
void qw_addr_from_v4(struct qw_addr *a, const uint8_t v4[4]);
/* A MAC carried where an address is expected (the subject of a finding about a device known only
 * by its MAC): the six bytes last, under the discard-only prefix 100::/64 (RFC 6666), which no
 * host has as its address. (It was the unspecified prefix ::/80, which took ::1 and ::2 for
 * MACs.) The MAC of such an address is its bytes 10 to 15. */
void qw_addr_from_mac(struct qw_addr *a, const uint8_t mac[6]);
bool qw_addr_is_mac(const struct qw_addr *a);
/* Is this an address that only means something on its own network: a MAC pseudo-address, IPv4
 * private (RFC 1918), shared (RFC 6598), link-local, loopback, "this network", multicast or
 * broadcast; IPv6 unspecified, loopback, link-local, unique local (RFC 4193) or multicast?
 * Every other address is global: it may be anywhere on the internet. */
bool qw_addr_is_site_local(const struct qw_addr *a);
/* "aa:bb:cc:dd:ee:ff"; out must hold 18 bytes. Returns out. */
char *qw_mac_str(const uint8_t mac[6], char out[18]);

#endif
