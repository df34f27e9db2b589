/* Fuzz harness for the DHCPv6 parser (src/proto/dhcpv6.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is one datagram (a corpus payload parses as the real DHCPv6 it is). It is
 * delivered to the server and then to the client, then with its message type (or, for a relay
 * message, the outer type) changed to the answer type (SOLICIT -> ADVERTISE, other client types
 * -> REPLY, RELAY-FORW -> RELAY-REPL) the other way, so requests meet answers with the same
 * transaction id; once more to a multicast destination. Packets carry IPv6 addresses taken from
 * the input, so the identity rules can fire. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcpv6;
#define FZ_PROTO qw_proto_dhcpv6

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "profinet"; /* the corpus capture with DHCPv6 */

static const char *const dhcpv6_attrs[] = {"hostname", "dhcp_vendor_class", "dhcpv6_duid",
                                           "dhcpv6_fingerprint", "ip", NULL};

/* The current packet: from a link-local address with the given interface id, to a unicast or
 * multicast address. */
static void set_pkt6(const uint8_t *src, bool group)
{
    memset(&pkt, 0, sizeof pkt);
    pkt.l3 = QW_L3_IPV6;
    pkt.src_ip.b[0] = 0xfe;
    pkt.src_ip.b[1] = 0x80;
    memcpy(pkt.src_ip.b + 8, src, 8);
    pkt.dst_ip.b[0] = group ? 0xff : 0xfd;
    pkt.dst_ip.b[15] = 2;
    ctx.pkt = &pkt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_dhcpv6.probe(data, size, QW_DIR_TO_SERVER);

    uint8_t host[8] = {0};
    memcpy(host, data, size < 8 ? size : 8);
    set_pkt6(host, false);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    fz_datagram_later(QW_DIR_TO_CLIENT, data, size);
    uint8_t *answer = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!answer) return 0;
    memcpy(answer, data, size);
    if (size) answer[0] = answer[0] == 1 ? 2 : answer[0] == 12 ? 13 : 7;
    fz_datagram_later(QW_DIR_TO_CLIENT, answer, size);
    free(answer);
    set_pkt6(host, true);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    fz_end();
    fz_check_records("dhcpv6.", 255, dhcpv6_attrs);
    return 0;
}
