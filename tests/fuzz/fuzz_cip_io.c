/* Fuzz harness for the CIP class 0/1 implicit I/O parser (src/proto/cip_io.c); see
 * tests/fuzz/fuzz.h.
 *
 * The input is cut into datagrams: each starts with a length byte (0: the rest of the input)
 * whose top bit picks the direction. The probe runs on every datagram (it must never claim one
 * whose lengths do not add up), and every datagram is delivered, probed or not, as the engine
 * would after a match. flow_end writes the per-connection records, which must be few: at most one
 * per tracked connection, never one per packet. A corpus payload (a whole datagram) is replayed
 * as one datagram by its first byte being taken as a length only when it fits. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_cip_io;
#define FZ_PROTO qw_proto_cip_io

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "enip";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);

    /* The input itself as one datagram (how the corpus replay feeds real I/O packets). */
    if (qw_proto_cip_io.probe(data, size, QW_DIR_TO_SERVER) == QW_PROBE_MATCH) {
        if (size < 18) abort();
        uint16_t dlen = (uint16_t)(data[16] | data[17] << 8);
        if ((size_t)18 + dlen != size) abort();
    }
    fz_datagram(QW_DIR_TO_SERVER, data, size);

    size_t off = 0, packets = 1;
    while (off < size) {
        uint8_t hdr = data[off++];
        size_t n = hdr & 0x7Fu;
        if (n == 0 || n > size - off) n = size - off;
        enum qw_dir dir = (hdr & 0x80u) ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
        (void)qw_proto_cip_io.probe(data + off, n, dir);
        ctx.ts_ns += 1000;
        fz_datagram(dir, data + off, n);
        off += n;
        packets++;
    }
    fz_end();
    if (rec.ntxns > packets) abort(); /* aggregated: never more records than packets */
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->has_request || t->has_response || !t->function_name) abort();
        if (t->request_ns == 0) abort();
    }
    return 0;
}
