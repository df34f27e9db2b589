/* Fuzz harness for the EtherNet/IP parser (src/proto/enip.c, cip.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real EtherNet/IP it is), cut and sent each way as
 * its first byte says, then flow_end; the probe runs on it too. The whole input is also given
 * once as a UDP datagram (ListIdentity over UDP 44818) to a fresh state. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_enip;
#define FZ_PROTO qw_proto_enip

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "enip";

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        /* A CIP service (7 bits) or an encapsulation command (16 bits). */
        if (!fz_txn_ok(t) || t->function > 0xFFFF) abort();
        if (t->ops >> 15) abort(); /* only the qw_op bits */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();

    fz_reset();
    fz_datagram(QW_DIR_TO_CLIENT, data, size);
    fz_end();
    check();
    return 0;
}
