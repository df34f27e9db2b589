/* Fuzz harness for the HART-IP parser (src/proto/hart_ip.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real HART-IP it is), cut and sent each way as its
 * first byte says, then flow_end; the probe runs on it too. Packet time advances by up to 256 ns
 * per chunk. Then, with a fresh state, the next chunks of the same cut go through the UDP
 * datagram callback, alternating directions. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_hart_ip;
#define FZ_PROTO qw_proto_hart_ip
#define FZ_TS_STEP(rng) (1 + (((rng) >> 8) & 0xFFu))

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "hart-ip";

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > 5) abort(); /* message ids 0-5 */
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        if (t->function <= 2 && (t->ops & ~(uint32_t)QW_OP_SESSION)) abort(); /* session */
        if (rec.txns[i].json[0] != '{' || !fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed("hart_ip.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    struct fz_cut cut = fz_stream(data, size);
    check();

    /* UDP: the same input as datagrams. */
    fz_reset();
    fz_datagrams(data, size, &cut, true, false);
    fz_end();
    check();
    return 0;
}
