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
#include <string.h>

#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_bacnet;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "bacnet";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static uint8_t state_buf[1u << 15];
static bool ready;

/* The numbering of `function` in bacnet.c: everything stays below 1024 + 16 APDU types. */
#define FN_LIMIT (0x400u + 16u)

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_rec_txn *r = &rec.txns[i];
        const struct qw_txn *t = &r->txn;
        if (!t->has_request && !t->has_response) abort();
        if (t->function >= FN_LIMIT || !t->function_name) abort();
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (t->has_request && t->has_response && t->response_ns < t->request_ns) abort();
        if (r->json_overflow) abort(); /* a record's size is bounded by the parser's caps */
        if (t->ops >> 15) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (!rec.identities[i].attr[0] || !rec.identities[i].value[0]) abort();
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strncmp(rec.anomalies[i].name, "bacnet.", 7) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_bacnet.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_bacnet);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_bacnet.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_bacnet.probe(data, size, QW_DIR_TO_SERVER);
    (void)qw_proto_bacnet.probe(data, size, QW_DIR_TO_CLIENT);

    qw_proto_bacnet.datagram(&ctx, state_buf, QW_DIR_TO_SERVER, data, size);
    ctx.ts_ns++;
    qw_proto_bacnet.datagram(&ctx, state_buf, QW_DIR_TO_CLIENT, data, size);

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
        enum qw_dir dir = (rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
        qw_proto_bacnet.datagram(&ctx, state_buf, dir, data + off, n);
        off += n;
    }
    qw_proto_bacnet.flow_end(&ctx, state_buf);
    check();
    return 0;
}
