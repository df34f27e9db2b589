/* Fuzz harness for the mDNS and LLMNR parsers (src/proto/mdns.c); see tests/fuzz/fuzz.h.
 *
 * The input is one message (a corpus payload parses as the real mDNS it is). For each of the two
 * parsers it is delivered from a sender whose IPv4 address is the input's last 4 bytes (so the
 * fuzzer can make records name the sender, and the identity rules run) to the multicast group,
 * then unicast, then with the QR bit flipped the other way (pairing), then through the IPv6
 * path with an address from the input's last 16 bytes. The probes run on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_mdns;
extern const struct qw_proto qw_proto_llmnr;
#define FZ_PROTO qw_proto_mdns

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dns"; /* zeek_mdns.pcap */

static const char *const mdns_attrs[] = {"hostname", "mdns_service", NULL};

static void run(const struct qw_proto *p, const char *prefix, const uint8_t *data, size_t size)
{
    fz_begin_for(p, 1);
    (void)p->probe(data, size, QW_DIR_TO_SERVER);
    static const uint8_t zero[16] = {0};
    static const uint8_t group[4] = {224, 0, 0, 251}, peer[4] = {10, 0, 0, 1};
    const uint8_t *me = size >= 16 ? data + size - 16 : zero;
    fz_set_pkt4(me + 12, group, true);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    fz_set_pkt4(me + 12, peer, false);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return;
    memcpy(flipped, data, size);
    if (size > 2) flipped[2] ^= 0x80u;
    fz_set_pkt4(peer, me + 12, false);
    fz_datagram_later(QW_DIR_TO_CLIENT, flipped, size);
    free(flipped);
    pkt.l3 = QW_L3_IPV6;
    memcpy(pkt.src_ip.b, me, 16);
    pkt.dst_ip.b[0] = 0xff;
    fz_datagram_later(QW_DIR_TO_CLIENT, data, size);
    fz_end();
    fz_check_records(prefix, 15, mdns_attrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(&qw_proto_mdns, "mdns.", data, size);
    run(&qw_proto_llmnr, "llmnr.", data, size);
    return 0;
}
