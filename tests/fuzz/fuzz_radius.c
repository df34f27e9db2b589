/* Fuzz harness for the RADIUS parser (src/proto/radius.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end. Invariants on what was recorded: transactions named
 * by a known RADIUS code with the operation classes of its family, an error only on an
 * answered one, whole JSON objects; anomalies under "radius."; no identity fact but the NAS's
 * hostname; and what a flow may report at most (the few invalid_message, the four weak kinds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_radius;
#define FZ_PROTO qw_proto_radius

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "radius";

static const char *const radius_attrs[] = {"hostname", NULL};

static bool known_code(uint32_t c)
{
    return (c >= 1 && c <= 5) || c == 11 || c == 12 || (c >= 40 && c <= 45);
}

static void check(void)
{
    static const uint32_t ops = QW_OP_AUTH | QW_OP_SESSION | QW_OP_CONTROL | QW_OP_DIAGNOSTIC;
    fz_check_records("radius.", 45, radius_attrs);
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!known_code(t->function) || !t->function_name[0]) abort();
        if (!t->ops || (t->ops & ~ops)) abort();
        if (t->error && !t->has_response) abort();
    }
    if (qw_record_count_anomaly(&rec, "radius.invalid_message") > 4) abort();
    if (qw_record_count_anomaly(&rec, "radius.weak_no_message_authenticator") > 4) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
