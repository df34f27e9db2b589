/* Fuzz harness for the CDP parser (src/proto/cdp.c); see tests/fuzz/fuzz.h.
 *
 * The input is one Ethernet frame, given to the parser twice by fz_frame_twice
 * (tests/fuzz/fuzz_parser.h): decoded, as the engine does, when its ethertype is the parser's,
 * then as raw bytes with no packet, so inputs that are not valid Ethernet still reach it.
 * Invariants on what was emitted are checked after each call. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_cdp;
#define FZ_PROTO qw_proto_cdp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "cdp";

static const char *const cdp_attrs[] = {"hostname", "model", "firmware", "description",
                                        "capabilities", "management_ip", "port_id", "vendor", NULL};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->function_name) abort();
        if (t->function != 1 && t->function != 2) abort();
    }
    if (!fz_identities_in(cdp_attrs) || !fz_anomalies_prefixed("cdp.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_frame_twice(data, size, check);
    return 0;
}
