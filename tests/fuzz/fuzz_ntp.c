/* Fuzz harness for the NTP parser (src/proto/ntp.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end; invariants on every emitted record are checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_ntp;
#define FZ_PROTO qw_proto_ntp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "ntp";

static const char *const ntp_attrs[] = {"ntp_stratum", "ntp_refid", NULL};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        if (t->function < 1 || t->function > 7) abort();
    }
    if (!fz_identities_in(ntp_attrs) || !fz_anomalies_prefixed("ntp.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
