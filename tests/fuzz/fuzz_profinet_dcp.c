/* Fuzz harness for the PROFINET DCP parser (src/proto/profinet_dcp.c); see tests/fuzz/fuzz.h.
 *
 * The input is a whole Ethernet frame (the replay driver feeds every corpus frame of
 * pcaps/profinet). It is decoded as the engine does (fz_frame_copy, tests/fuzz/fuzz_parser.h);
 * when it carries the PROFINET Ethertype its payload goes to the parser, otherwise the raw input
 * does. The same frame is then offered again as the answer to itself (ServiceType bit 0 set,
 * MACs swapped), so the Xid pairing runs. The engine-wide state is cleared for each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_profinet_dcp;
#define FZ_PROTO qw_proto_profinet_dcp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "profinet";

#define ETH_PN 0x8892

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > 255) abort();
        if (t->has_request == t->has_response) abort(); /* one PDU per record */
        if (t->has_request && t->error) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (rec.identities[i].server) abort(); /* always about the frame's source */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1000000000ull);
    size_t n;
    uint8_t *copy = fz_frame_copy(data, size, &n);
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
    check();
    return 0;
}
