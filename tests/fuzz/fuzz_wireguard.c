/* Fuzz harness for the WireGuard parser (src/proto/wireguard.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end. Invariants: well-formed records with functions 1-4 and
 * their names, whole JSON objects, at most one transport summary (the last record), at most one
 * anomaly per reason (three), all named wireguard.invalid_message, and no identity fact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_wireguard;
#define FZ_PROTO qw_proto_wireguard

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "wireguard";

static const char *const wg_names[5] = {NULL, "handshake_initiation", "handshake_response",
                                        "cookie_reply", "transport_data"};

static void check(void)
{
    size_t summaries = 0;
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !fz_json_whole(&rec.txns[i])) abort();
        if (t->function < 1 || t->function > 4) abort();
        if (strcmp(t->function_name, wg_names[t->function]) != 0) abort();
        if (t->function == 4 && (++summaries > 1 || i != rec.ntxns - 1)) abort();
    }
    if (rec.nanomalies > 3 || rec.nidentities != 0) abort();
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strcmp(rec.anomalies[i].name, "wireguard.invalid_message") != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
