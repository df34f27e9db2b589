/* Fuzz harness for the ARP parser (src/proto/arp.c); see tests/fuzz/fuzz.h.
 *
 * The input is one Ethernet frame, given to the parser twice by fz_frame_twice
 * (tests/fuzz/fuzz_parser.h): decoded, as the engine does, when its ethertype is the parser's,
 * then as raw bytes with no packet, so inputs that are not valid Ethernet still reach it.
 * Invariants on what was emitted are checked after each call. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_arp;
#define FZ_PROTO qw_proto_arp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "arp";

static const char *const arp_attrs[] = {"ip", NULL};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->function_name) abort();
        if (t->function > 0xFFFF || t->ops != 0) abort();
    }
    if (!fz_identities_in(arp_attrs) || !fz_anomalies_prefixed("arp.")) abort();
    for (size_t i = 0; i < rec.nidentities; i++)
        if (rec.identities[i].server) abort(); /* facts are about the frame's source */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_frame_twice(data, size, check);
    return 0;
}
