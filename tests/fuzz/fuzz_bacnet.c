/* Fuzz harness for the BACnet/IP parser (src/proto/bacnet.c); see tests/fuzz/fuzz.h.
 *
 * BACnet/IP is one BVLL message per UDP datagram. The input is used three ways, so that a
 * corpus payload is parsed as the real datagram it is and a mutated one reaches the pairing,
 * segmentation and reassembly state across datagrams:
 *   1. the probe, both directions;
 *   2. the whole input as one datagram to the server, then the same to the client;
 *   3. the input cut into datagrams where it holds BVLL headers (X'81', function, length: the
 *      length, at least 4, is the datagram), the rest as one last datagram, each sent in a
 *      direction chosen by a small generator seeded from the input, with the packet time moving
 *      on, as if a capture were replayed.
 * Then flow_end. Every transaction's JSON is rendered by the recording sink; the invariants below
 * are checked on what was recorded. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_bacnet;
#define FZ_PROTO qw_proto_bacnet

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "bacnet";

/* The numbering of `function` in bacnet.c: everything stays below 1024 + 16 APDU types. */
#define FN_LIMIT (0x400u + 16u)

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_rec_txn *r = &rec.txns[i];
        const struct qw_txn *t = &r->txn;
        if (!fz_txn_ok(t) || t->function >= FN_LIMIT) abort();
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        if (r->json_overflow) abort(); /* a record's size is bounded by the parser's caps */
        if (t->ops >> 15) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (!rec.identities[i].attr[0] || !rec.identities[i].value[0]) abort();
    if (!fz_anomalies_prefixed("bacnet.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_bacnet.probe(data, size, QW_DIR_TO_SERVER);
    (void)qw_proto_bacnet.probe(data, size, QW_DIR_TO_CLIENT);

    fz_datagram(QW_DIR_TO_SERVER, data, size);
    ctx.ts_ns++;
    fz_datagram(QW_DIR_TO_CLIENT, data, size);

    uint32_t rng = 0x9E3779B9u ^ (uint32_t)size;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off;
        if (data[off] == 0x81 && n >= 4) {
            size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
            if (len < 4) len = 4;
            if (len < n) n = len;
        }
        rng = rng * 1664525u + 1013904223u;
        ctx.ts_ns += 1 + (rng >> 28);
        fz_datagram((rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, data + off, n);
        off += n;
    }
    fz_end();
    check();
    return 0;
}
