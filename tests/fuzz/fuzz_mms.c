/* Fuzz harness for the MMS parser (src/proto/mms.c, src/proto/iso_session.c); see
 * tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the TPKT/COTP/session/MMS it is), cut and sent each
 * way as its first byte says, then flow_end; the probe runs on it too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_mms;
#define FZ_PROTO qw_proto_mms

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "iec61850";

/* Invariants every emitted transaction keeps: a function from the service table (0..82), a
 * PDU type (0x100 | 0..13) or an unconfirmed service (0x200 | tag), with a name. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        uint32_t fn = t->function;
        bool ok = fn <= 0xFFu || (fn >= 0x100u && fn <= 0x10Du) || (fn >= 0x200u && fn <= 0x2FFu);
        if (!ok) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
