/* What the decoder (decode.c) and the shard key (shard_key.c) both walk, in one place: the link
 * types and ethertypes, how deep tunnels are followed, the GRE header and the IPv6
 * extension-header chain. The shard key must find the same flow addresses the decoder does
 * (both directions of a flow on one worker), so the two read these layers with the same code.
 * Every read goes through the cursor: the bytes are attacker-controlled. */
#ifndef QW_DECODE_LAYERS_H
#define QW_DECODE_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/cursor.h"

/* libpcap link types (DLT_/LINKTYPE_ values) quaywatch decodes */
enum {
    QW_LT_NULL = 0, QW_LT_EN10MB = 1, QW_LT_RAW = 12, QW_LT_RAW_OPENBSD = 14, QW_LT_RAW_PCAP = 101,
    QW_LT_LOOP = 108, QW_LT_LINUX_SLL = 113, QW_LT_IPV4 = 228, QW_LT_IPV6 = 229,
    QW_LT_LINUX_SLL2 = 276,
};

enum {
    QW_ETH_IPV4 = 0x0800, QW_ETH_ARP = 0x0806, QW_ETH_VLAN = 0x8100, QW_ETH_QINQ = 0x88a8,
    QW_ETH_QINQ_OLD = 0x9100, QW_ETH_IPV6 = 0x86dd, QW_ETH_PPPOE_SESSION = 0x8864,
    QW_ETH_MPLS = 0x8847, QW_ETH_MPLS_MC = 0x8848,
    QW_ETH_TEB = 0x6558, /* transparent Ethernet bridging, inside GRE */
};

/* Tunnels inside tunnels are followed this deep, no deeper (never recursing without end). */
#define QW_MAX_ENCAP_DEPTH 4

/* The GRE header at the cursor (RFC 2784/2890): flags/version(2) protocol(2)
 * [checksum+reserved(4)] [key(4)] [sequence(4)]. Returns the payload's protocol type with the
 * cursor at the payload, or 0 when the header is cut or not version 0 (only version 0 carries a
 * routable payload). */
uint16_t qw_gre_open(struct qw_cursor *c);

/* An IPv6 fragment header met while walking the extension headers. */
struct qw_ipv6_frag {
    bool present, more;
    uint32_t offset, id;
};

/* Walk the IPv6 extension headers (RFC 8200 s.4) that start `body`, the first one of type
 * `next`: hop-by-hop 0, routing 43, destination options 60, mobility 135, HIP 139 and shim6 140
 * take (len+1)*8 bytes, AH 51 (len+2)*4; a fragment header 44 ends the walk (what follows is
 * the fragmentable part) and fills *frag. At most 16 headers (a longer chain is hostile).
 * Returns the upper-layer protocol with `body` at its first byte; body->err when cut. */
uint8_t qw_ipv6_skip_ext(struct qw_cursor *body, uint8_t next, struct qw_ipv6_frag *frag);

#endif
