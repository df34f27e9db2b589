/* Fuzz harness for the OpenVPN parser (src/proto/openvpn.c); see tests/fuzz/fuzz.h.
 *
 * OpenVPN runs over both transports, so the input is used twice, each time on a fresh flow:
 *   UDP  fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, given whole as one datagram each
 *        way (a corpus payload is the real packet it is), then cut into datagrams as its first
 *        byte says;
 *   TCP  fz_stream: the input as the byte stream (a corpus TCP payload starts with its 2-byte
 *        length), cut and sent each way as its first byte says, with gaps in one cut mode.
 * Invariants: records are the hard reset exchange and soft resets (opcodes 1-3, 7, 8, 10) or
 * the summary (0), with both operation classes they must carry, whole JSON objects, anomalies
 * under "openvpn.", no identity facts, at most one summary per flow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_openvpn;
#define FZ_PROTO qw_proto_openvpn

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "openvpn";

static void check(void)
{
    size_t summaries = 0;
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !fz_json_whole(&rec.txns[i])) abort();
        switch (t->function) {
        case 0:
            summaries++;
            if (t->ops != QW_OP_SESSION || strcmp(t->function_name, "summary") != 0) abort();
            break;
        case 1: case 2: case 3: case 7: case 8: case 10:
            if (t->ops != (QW_OP_SESSION | QW_OP_AUTH)) abort();
            break;
        default:
            abort();
        }
    }
    if (summaries > 1 || rec.nanomalies > 4) abort();
    if (!fz_anomalies_prefixed("openvpn.") || rec.nidentities != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    fz_reset();
    fz_stream(data, size);
    check();
    return 0;
}
