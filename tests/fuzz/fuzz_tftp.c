/* Fuzz harness for the TFTP parser (src/proto/tftp.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end. Checked on what was recorded: well-formed
 * transactions (a request or a transfer, an error only with an answer), whole JSON objects,
 * only tftp.* anomalies and at most TFTP_ANOMALY_MAX (3) of them per flow, no identity facts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_tftp;
#define FZ_PROTO qw_proto_tftp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "tftp";

static void check(void)
{
    fz_check_strict("tftp.", 3);
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!(t->ops & QW_OP_FILE)) abort();
        if (t->function == 3 && strcmp(t->function_name, "transfer") != 0) abort();
    }
    if (rec.nanomalies > 3 || rec.nidentities != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The probe's answer is one of its four, and a whole message is never both a request and a
     * transfer's start. */
    enum qw_probe_result r = FZ_PROTO.probe(data, size, QW_DIR_TO_SERVER);
    if (r > QW_PROBE_MATCH_FROM_SERVER || r == QW_PROBE_NEED_MORE) abort();
    if (r == QW_PROBE_MATCH && size >= 2 && data[0] == 0 && data[1] != 1 && data[1] != 2) abort();
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
