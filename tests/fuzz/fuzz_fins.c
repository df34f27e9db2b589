/* Fuzz harness for the Omron FINS parser (src/proto/fins.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h) as FINS/TCP: the whole input is
 * the byte stream, cut and sent each way as its first byte says, then flow_end; the probe runs
 * on it too. Then, with a fresh state, fz_datagram_cuts gives it as UDP datagrams (whole each
 * way, then cut), as FINS over UDP carries one frame per datagram. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_fins;
#define FZ_PROTO qw_proto_fins
#define FZ_TS_STEP(rng) (1 + (((rng) >> 8) & 0xFFu))

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "other-ics";

static const char *const fins_attrs[] = {"vendor", "model", "firmware", NULL};

static void check(void)
{
    fz_check_strict("fins.", 0xFFFF); /* MRC << 8 | SRC; 0 the node address exchange */
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        bool node = strcmp(t->function_name, "node_address_exchange") == 0;
        if (node && (t->function != 0 || t->ops != QW_OP_SESSION)) abort();
    }
    if (!fz_identities_in(fins_attrs)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();

    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
