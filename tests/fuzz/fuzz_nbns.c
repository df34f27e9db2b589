/* Fuzz harness for the NetBIOS name service parser (src/proto/nbns.c); see tests/fuzz/fuzz.h.
 *
 * The input is one message (a corpus payload parses as the real NBNS it is). It is delivered
 * unicast to the server, with the R bit flipped back to the client (pairing by transaction id),
 * then with the B flag forced (written at once); the sender's IPv4 address is the input's last
 * 4 bytes, so NB records and name tables can name the sender and the identity rules run. The
 * probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_nbns;
#define FZ_PROTO qw_proto_nbns

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "profinet"; /* registrations, queries (mixed_2 capture) */

static const char *const nbns_attrs[] = {"netbios_name", "netbios_domain", "hostname", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_nbns.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[4] = {0}, other[4] = {192, 168, 1, 1};
    const uint8_t *me = size >= 4 ? data + size - 4 : zero;
    fz_set_pkt4(me, other, false);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (size > 2) copy[2] ^= 0x80u;
    fz_set_pkt4(other, me, false);
    fz_datagram_later(QW_DIR_TO_CLIENT, copy, size);
    if (size > 3) copy[3] |= 0x10u;
    fz_set_pkt4(me, other, false);
    fz_datagram_later(QW_DIR_TO_SERVER, copy, size);
    free(copy);
    fz_end();
    fz_check_records("nbns.", 15, nbns_attrs);
    return 0;
}
