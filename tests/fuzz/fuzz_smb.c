/* Fuzz harness for the SMB parser (src/proto/smb.c, with src/proto/ntlmssp.c); see
 * tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real SMB it is), cut and sent each way as its
 * first byte says, then flow_end; the probe runs on it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_smb;
#define FZ_PROTO qw_proto_smb

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "mixed-plant"; /* the corpus SMB (TCP 139) nearest at hand */

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        /* SMB2 commands are 16 bits: only named ones are known to be in range. */
        if (strcmp(t->function_name, "unknown") != 0 && t->function > 0x1FF) abort();
        if (rec.txns[i].json[0] != '{' && !rec.txns[i].json_overflow) abort();
    }
    if (!fz_identities_named()) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
