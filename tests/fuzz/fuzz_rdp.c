/* Fuzz harness for the RDP parser (src/proto/rdp.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real RDP it is), cut and sent each way as its
 * first byte says, then flow_end; the probe runs on it too. The record is the connection's one
 * session record (fz_check_session). */
#include <stdint.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_rdp;
#define FZ_PROTO qw_proto_rdp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "rdp";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    fz_check_session(0xE0);
    return 0;
}
