/* Fuzz harness for the Beckhoff ADS/AMS parser (src/proto/ads.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the AMS/TCP it is), cut and sent each way as its
 * first byte says, with a lost segment in one mode, then flow_end; the probe runs on it too.
 * Packet time advances by up to 256 ns per chunk. The seeds are the TCP payloads of the
 * corpus's other-ics captures (beckhoff_ads.pcapng among them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_ads;
#define FZ_PROTO qw_proto_ads
#define FZ_TS_STEP(rng) (1 + (((rng) >> 8) & 0xFFu))

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "other-ics";

static const char *const ads_attrs[] = {"ams_netid", "vendor", "model", "firmware", NULL};

/* Invariants: well-formed transactions with a 16-bit command id (strict checks), answers never
 * older than their requests, a DeviceNotification never with a request or an operation, and
 * the identity facts the parser documents. */
static void check(void)
{
    fz_check_strict("ads.", 0xFFFF);
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        if (!t->has_request && t->ops) abort();
        if (t->function == 8 && t->has_request && !t->has_response && t->ops) abort();
        if (strcmp(t->function_name, "unknown") == 0 && t->function < 10) abort();
    }
    if (!fz_identities_in(ads_attrs)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
