/* Fuzz harness for the PROFINET DCP parser (src/proto/profinet_dcp.c); see tests/fuzz/fuzz.h.
 *
 * The input is a whole Ethernet frame (the replay driver feeds every corpus frame of
 * pcaps/profinet). It is decoded with qw_decode as the engine does; when it carries the
 * PROFINET Ethertype its payload goes to the parser, otherwise the raw input does. The same
 * frame is then offered again as the answer to itself (ServiceType bit 0 set, MACs swapped), so
 * the Xid pairing runs. The engine-wide state is cleared for each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_profinet_dcp;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "profinet";

#define ETH_PN 0x8892

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static void *state;
static uint8_t copy[70000];

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (t->function > 255 || !t->function_name) abort();
        if (t->has_request == t->has_response) abort(); /* one PDU per record */
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (t->has_request && t->error) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (rec.identities[i].server) abort(); /* always about the frame's source */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state) {
        state = malloc(qw_proto_profinet_dcp.state_size);
        if (!state) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_profinet_dcp);
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state, 0, qw_proto_profinet_dcp.state_size);
    ctx.ts_ns = 1000000000ull;

    struct qw_decoder d;
    struct qw_packet pkt;
    qw_decoder_init(&d, 1);
    qw_decode(&d, data, (uint32_t)size, (uint32_t)size, ctx.ts_ns, &pkt);
    const uint8_t *p = data;
    size_t n = size;
    ctx.pkt = NULL;
    if (pkt.ethertype == ETH_PN && pkt.payload) {
        p = pkt.payload;
        n = pkt.payload_len;
        ctx.pkt = &pkt;
    }
    if (n > sizeof copy) n = sizeof copy;
    memcpy(copy, p, n);
    qw_proto_profinet_dcp.frame(&ctx, state, ETH_PN, copy, n);
    if (n > 3) {
        copy[3] |= 0x01; /* the answer */
        if (ctx.pkt) {
            uint8_t m[6];
            memcpy(m, pkt.src_mac, 6);
            memcpy(pkt.src_mac, pkt.dst_mac, 6);
            memcpy(pkt.dst_mac, m, 6);
        }
        ctx.ts_ns += 5000000;
        qw_proto_profinet_dcp.frame(&ctx, state, ETH_PN, copy, n);
    }
    qw_decoder_free(&d);
    check();
    return 0;
}
