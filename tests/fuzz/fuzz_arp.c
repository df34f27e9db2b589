/* Fuzz harness for the ARP parser (src/proto/arp.c); see tests/fuzz/fuzz.h.
 *
 * The input is one Ethernet frame (the corpus frames are replayed as such). It is decoded with
 * qw_decode as the engine does, and when its ethertype (or SNAP protocol id) is 0x806 the
 * parser's `frame` is called with the decoded packet as context. The same bytes are then also
 * handed to `frame` directly as a payload with no packet (as in unit tests), so inputs that
 * are not valid Ethernet still reach the parser. The engine-wide state is kept across the two
 * calls of one input and cleared between inputs, and the end-of-capture callback runs last when
 * the parser has one. Invariants on what was emitted are checked after each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_arp;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "arp";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static uint8_t state_buf[1u << 17];
static bool ready;
static struct qw_decoder dec;

static const char *const allowed_attrs[] = {"ip"};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->function_name) abort();
        if (t->function > 0xFFFF || t->ops != 0) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof allowed_attrs / sizeof allowed_attrs[0]; k++)
            if (strcmp(rec.identities[i].attr, allowed_attrs[k]) == 0) ok = true;
        if (!ok || rec.identities[i].server) abort(); /* facts are about the frame's source */
    }
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strncmp(rec.anomalies[i].name, "arp.", sizeof "arp." - 1) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_arp.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_arp);
        qw_decoder_init(&dec, 1 /* LINKTYPE_ETHERNET */);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_arp.state_size);

    struct qw_packet p;
    ctx.ts_ns = 1000000000ull;
    qw_decode(&dec, data, (uint32_t)size, (uint32_t)size, ctx.ts_ns, &p);
    if (p.payload && p.ethertype == 0x806) {
        ctx.pkt = &p;
        qw_proto_arp.frame(&ctx, state_buf, p.ethertype, p.payload, p.payload_len);
        check();
    }
    ctx.pkt = NULL;
    ctx.ts_ns += 5000000000ull; /* past the ARP reply timeout, so expiry runs too */
    qw_proto_arp.frame(&ctx, state_buf, 0x806, data, size);
    if (qw_proto_arp.flow_end) qw_proto_arp.flow_end(&ctx, state_buf);
    check();
    return 0;
}
