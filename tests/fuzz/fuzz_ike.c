/* Fuzz harness for the IKE parser (src/proto/ike.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end. A second pass gives the same bytes behind a NAT-T
 * non-ESP marker, so the UDP 4500 path (ESP and keepalive counting after a marked message) is
 * reached too. Invariants: well-formed transactions whose function is an exchange type (or 0,
 * the esp_in_udp summary), whole JSON objects, only ike.* anomalies, no identity facts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_ike;
#define FZ_PROTO qw_proto_ike

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "ike-esp";

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !fz_json_whole(&rec.txns[i])) abort();
        if (t->function != 0 && (t->function < 1 || t->function > 44)) abort();
        /* an error record names its error notify */
        if (t->error && !rec.txns[i].json_overflow && !strstr(rec.txns[i].json, "\"error\":true"))
            abort();
    }
    if (!fz_anomalies_prefixed("ike.") || rec.nidentities != 0) abort();
    /* invalid_* at most 4 per flow; each weak_* at most once */
    size_t invalid = 0;
    for (size_t i = 0; i < rec.nanomalies; i++) {
        invalid += strncmp(rec.anomalies[i].name, "ike.invalid_", 12) == 0;
        for (size_t k = i + 1; k < rec.nanomalies; k++)
            if (strncmp(rec.anomalies[i].name, "ike.weak_", 9) == 0 &&
                strcmp(rec.anomalies[i].name, rec.anomalies[k].name) == 0)
                abort();
    }
    if (invalid > 4) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    static uint8_t marked[70000];
    if (size + 4 <= sizeof marked) {
        memset(marked, 0, 4);
        memcpy(marked + 4, data, size);
        fz_begin(1);
        fz_datagram_cuts(marked, size + 4);
        /* then the raw input again on the same (now NAT-T) flow: counted as ESP or parsed */
        fz_datagram_later(QW_DIR_TO_CLIENT, data, size);
        fz_end();
        check();
    }
    return 0;
}
