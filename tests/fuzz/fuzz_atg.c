/* Fuzz harness for the ATG (Veeder-Root TLS serial protocol) parser (src/proto/atg.c); see
 * tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a captured payload is parsed as the real ATG traffic it is), cut and sent each way
 * as its first byte says, then flow_end; the probe runs on it too. Packet time advances by up to
 * 256 ns per chunk. The corpus has no ATG capture (pcaps/atg is absent, so the registered replay
 * test skips); tests/e2e/test_atg.sh replays the synthetic capture of atg_gen.py through this
 * harness. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_atg;
#define FZ_PROTO qw_proto_atg
#define FZ_TS_STEP(rng) (1 + (((rng) >> 8) & 0xFFu))

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "atg";

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        const char *j = rec.txns[i].json;
        if (!fz_txn_ok(t) || t->function > 0xFFF) abort(); /* 3 hex-ish characters */
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        /* Only commands that carry secrets are redacted. The member is matched with the
         * comma before it: inside a JSON string a quote is always escaped, so packet text
         * cannot fake it. */
        if (strstr(j, ",\"data_redacted\":true") && !(t->ops & QW_OP_AUTH)) abort();
        if (j[0] != '{' || !fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed("atg.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
