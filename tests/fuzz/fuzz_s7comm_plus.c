/* Fuzz harness for the S7comm-plus parser (src/proto/s7comm_plus.c) and the TPKT/COTP framing it
 * shares (src/proto/s7comm_framing.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (a corpus payload starts with a TPKT, so it is parsed as the S7comm-plus it is), cut and
 * sent each way as its first byte says, then flow_end; the probe runs on it too. Invariants:
 * every transaction has a side and a name, function codes fit 16 bits, operation bits are
 * known ones, anomalies and identities are well formed. */
#include <stdint.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_s7comm_plus;
#define FZ_PROTO qw_proto_s7comm_plus

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "s7comm-plus";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    fz_check_strict("s7comm_plus.", 0xffffu);
    return 0;
}
