/* Fuzz harness for the DHCPv4 parser (src/proto/dhcp.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is one datagram (a corpus payload parses as the real DHCP it is). It is
 * delivered several ways, so that every path runs on it:
 *   1. to the server, then to the client: a request meets a reply with the same xid;
 *   2. with the op byte flipped (request <-> reply), the other way round;
 *   3. again with a broadcast destination (written at once, never queued);
 * each with a packet whose source is ciaddr and destination yiaddr and whose source MAC is
 * chaddr, so the identity rules (client is the sender, ACK to yiaddr) can fire. The last byte
 * of the input picks a unicast or broadcast first delivery. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcp;
#define FZ_PROTO qw_proto_dhcp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dhcp";

static const char *const dhcp_attrs[] = {"hostname", "dhcp_vendor_class", "dhcp_client_id",
                                         "dhcp_fingerprint", "ip", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_dhcp.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[4] = {0};
    const uint8_t *ci = size >= 16 ? data + 12 : zero, *yi = size >= 20 ? data + 16 : zero;
    bool group = size && (data[size - 1] & 1u);
    fz_set_pkt4(ci, yi, group);
    if (size >= 34) memcpy(pkt.src_mac, data + 28, 6);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    fz_set_pkt4(yi, ci, group);
    fz_datagram_later(QW_DIR_TO_CLIENT, data, size);

    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return 0;
    memcpy(flipped, data, size);
    if (size) flipped[0] = flipped[0] == 1 ? 2 : 1;
    fz_set_pkt4(yi, ci, false);
    fz_datagram_later(QW_DIR_TO_CLIENT, flipped, size);
    fz_set_pkt4(ci, yi, false);
    fz_datagram_later(QW_DIR_TO_SERVER, flipped, size);
    fz_set_pkt4(ci, yi, true);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    free(flipped);

    fz_end();
    fz_check_records("dhcp.", 255, dhcp_attrs);
    return 0;
}
