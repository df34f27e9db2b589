/* Fuzz harness for the IEC 60870-5-104 parser (src/proto/iec104.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real IEC 104 it is), cut and sent each way as its
 * first byte says, then flow_end; the probe runs on it too. Packet time advances by up to 16 s
 * per chunk (also chosen by the cut's generator), so the pending timeout that reports
 * unconfirmed commands is exercised. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_iec104;
#define FZ_PROTO qw_proto_iec104
#define FZ_TS_STEP(rng) (1 + (uint64_t)(((rng) >> 8) & 0xFu) * 1000000000ull)

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "iec104";

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > 260) abort(); /* type ids, then APCI codes */
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        if (t->function >= 256 && t->ops & ~(uint32_t)QW_OP_SESSION) abort();
        if (rec.txns[i].json[0] != '{' || !fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed("iec104.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
