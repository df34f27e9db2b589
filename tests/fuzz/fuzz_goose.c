/* Fuzz harness for the IEC 61850 GOOSE parser (src/proto/goose.c); see tests/fuzz/fuzz.h.
 *
 * The input is a whole Ethernet frame (the replay driver feeds every corpus frame of
 * pcaps/iec61850). It is decoded with qw_decode as the engine does; when it carries the GOOSE
 * Ethertype its payload goes to the parser, otherwise the raw input does (so the fuzzer reaches
 * the parser without having to find an Ethernet header). The frame is then sent twice more with
 * one octet changed and the clock moved on, so the per-control-block tracking (state change,
 * retransmission, sqNum reset, time allowed to live) runs on related frames. The engine-wide
 * state is cleared for each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_goose;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "iec61850";

#define ETH_GOOSE 0x88B8

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static void *state;
static uint8_t copy[70000];

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (t->function > 1 || !t->function_name) abort();
        if (t->has_request || t->has_response || t->ops) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strncmp(rec.anomalies[i].name, "goose.", 6) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state) {
        state = malloc(qw_proto_goose.state_size);
        if (!state) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_goose);
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state, 0, qw_proto_goose.state_size);
    ctx.ts_ns = 1000000000ull;

    struct qw_decoder d;
    struct qw_packet pkt;
    qw_decoder_init(&d, 1);
    qw_decode(&d, data, (uint32_t)size, (uint32_t)size, ctx.ts_ns, &pkt);
    const uint8_t *p = data;
    size_t n = size;
    ctx.pkt = NULL;
    if (pkt.ethertype == ETH_GOOSE && pkt.payload) {
        p = pkt.payload;
        n = pkt.payload_len;
        ctx.pkt = &pkt;
    }
    if (n > sizeof copy) n = sizeof copy;
    memcpy(copy, p, n);
    qw_proto_goose.frame(&ctx, state, ETH_GOOSE, copy, n);
    for (unsigned k = 1; k <= 2 && n > 0; k++) {
        copy[(k * 31u + size) % n] ^= (uint8_t)(k * 0x11u);
        ctx.ts_ns += k * 700000000ull;
        qw_proto_goose.frame(&ctx, state, ETH_GOOSE, copy, n);
    }
    qw_decoder_free(&d);
    check();
    return 0;
}
