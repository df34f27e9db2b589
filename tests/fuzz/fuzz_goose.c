/* Fuzz harness for the IEC 61850 GOOSE parser (src/proto/goose.c); see tests/fuzz/fuzz.h.
 *
 * The input is a whole Ethernet frame (the replay driver feeds every corpus frame of
 * pcaps/iec61850). It is decoded as the engine does (fz_frame_copy, tests/fuzz/fuzz_parser.h);
 * when it carries the GOOSE Ethertype its payload goes to the parser, otherwise the raw input
 * does. The frame is then sent twice more with one octet changed and the clock moved on, so the
 * per-control-block tracking (state change, retransmission, sqNum reset, time allowed to live)
 * runs on related frames. The engine-wide state is cleared for each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_goose;
#define FZ_PROTO qw_proto_goose

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "iec61850";

#define ETH_GOOSE 0x88B8

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (t->function > 1 || !t->function_name) abort();
        if (t->has_request || t->has_response || t->ops) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
    if (!fz_anomalies_prefixed("goose.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1000000000ull);
    size_t n;
    uint8_t *copy = fz_frame_copy(data, size, &n);
    qw_proto_goose.frame(&ctx, state, ETH_GOOSE, copy, n);
    for (unsigned k = 1; k <= 2 && n > 0; k++) {
        copy[(k * 31u + size) % n] ^= (uint8_t)(k * 0x11u);
        ctx.ts_ns += k * 700000000ull;
        qw_proto_goose.frame(&ctx, state, ETH_GOOSE, copy, n);
    }
    check();
    return 0;
}
