/* Fuzz harness for the PROFINET IO context management parser (src/proto/pnio_cm.c); see
 * tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real PDU it is), then cut into datagrams as
 * its first byte says, then flow_end. Then the input is replayed once more with its first 80
 * octets kept as a header and the rest as a body in datagrams of every fragment number, so
 * fragment and pairing paths are reached without the fuzzer having to find a whole header.
 * Invariants are checked on every emitted record: strict transactions (opnum functions, only
 * qw_op bits, whole JSON objects), anomalies under "pnio_cm.", identity facts from the I&M0
 * attributes only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_pnio_cm;
#define FZ_PROTO qw_proto_pnio_cm

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "profinet";

static const char *const pn_attrs[] = {"vendor_id", "vendor", "model", "serial", "firmware",
                                       "hardware", NULL};

static void check(void)
{
    /* function = the header's opnum, any 16-bit value */
    fz_check_strict("pnio_cm.", 0xFFFF);
    if (!fz_identities_in(pn_attrs)) abort();
}

/* The input's header with each later 64-octet piece of it as a fragment, numbered in turn,
 * alternating direction, the last one flagged last. */
static void fragments(const uint8_t *data, size_t size)
{
    static uint8_t pdu[80 + 64];
    if (size < 80) return;
    fz_begin(1);
    size_t off = 80;
    uint16_t num = 0;
    while (off <= size) {
        size_t n = size - off < 64 ? size - off : 64;
        memcpy(pdu, data, 80);
        memcpy(pdu + 80, data + off, n);
        bool le = (pdu[4] >> 4) == 1;
        pdu[2] = (uint8_t)(pdu[2] | 0x04u | (off + n >= size ? 0x02u : 0));
        pdu[le ? 74 : 75] = (uint8_t)n; /* body length */
        pdu[le ? 75 : 74] = 0;
        pdu[le ? 76 : 77] = (uint8_t)num;
        pdu[le ? 77 : 76] = (uint8_t)(num >> 8);
        fz_datagram_later(num & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pdu, 80 + n);
        num++;
        off += n;
        if (n == 0) break;
    }
    fz_end();
    check();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    fragments(data, size);
    return 0;
}
