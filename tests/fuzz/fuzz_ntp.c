/* Fuzz harness for the NTP parser (src/proto/ntp.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is first probed and parsed as one datagram each way (a corpus payload is the
 * real message it is). Then its first byte picks a cut: bits 0-6 give a datagram size
 * (1..128), varied per datagram by a small generator seeded from the input, and bit 7 whether
 * the datagrams alternate direction (so requests meet responses) or all go to the server.
 * flow_end flushes what is left; invariants on every emitted record are checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_ntp;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "ntp";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static uint8_t state_buf[1u << 15];
static bool ready;

static const char *const allowed_attrs[] = {"ntp_stratum", "ntp_refid"};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->has_request && !t->has_response) abort();
        if (!t->function_name) abort();
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (t->function < 1 || t->function > 7) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof allowed_attrs / sizeof allowed_attrs[0]; k++)
            if (strcmp(rec.identities[i].attr, allowed_attrs[k]) == 0) ok = true;
        if (!ok) abort();
    }
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strncmp(rec.anomalies[i].name, "ntp.", sizeof "ntp." - 1) != 0) abort();
    
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_ntp.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_ntp);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_ntp.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_ntp.probe(data, size, QW_DIR_TO_SERVER);
    if (size) {
        qw_proto_ntp.datagram(&ctx, state_buf, QW_DIR_TO_SERVER, data, size);
        ctx.ts_ns++;
        qw_proto_ntp.datagram(&ctx, state_buf, QW_DIR_TO_CLIENT, data, size);
    }
    uint8_t ctl = size ? data[0] : 0;
    size_t base = (size_t)(ctl & 0x7Fu) + 1;
    bool alternate = ctl & 0x80u;
    uint32_t rng = 0x9E3779B9u ^ (uint32_t)size ^ ((uint32_t)ctl << 8);
    size_t off = 0;
    unsigned k = 0;
    while (off < size) {
        rng = rng * 1664525u + 1013904223u;
        size_t n = base + ((rng >> 24) % base);
        if (n > size - off) n = size - off;
        ctx.ts_ns++;
        (void)qw_proto_ntp.probe(data + off, n, QW_DIR_TO_SERVER);
        enum qw_dir dir = alternate && (k++ & 1u) ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
        qw_proto_ntp.datagram(&ctx, state_buf, dir, data + off, n);
        off += n;
    }
    qw_proto_ntp.flow_end(&ctx, state_buf);
    check();
    return 0;
}
