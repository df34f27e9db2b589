/* Fuzz harness for the FTP parser (src/proto/ftp.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is the byte stream (so a corpus payload is parsed as the real FTP it is);
 * its first byte also picks how the stream is cut and which way it flows:
 *   bits 0-5  chunk size (1..64), varied per chunk by a small generator seeded from the input
 *   bits 6-7  0: the stream to the server, then the same bytes back to the client
 *             1: each chunk to the server and then to the client (pairs every request)
 *             2: each chunk to a direction chosen by the generator
 *             3: as 0, with a gap (lost segment) in each direction halfway
 * Everything goes through qw_stream_deliver, as in the engine, then flow_end; the recording sink
 * renders every transaction's JSON. The probe runs on the input as well. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_ftp;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "ftp";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static uint8_t state_buf[1u << 15];
static bool ready;

static void deliver(enum qw_dir dir, struct qw_pending *pend, const uint8_t *p, size_t n)
{
    qw_stream_deliver(&ctx, &qw_proto_ftp, state_buf, dir, &pend[dir], p, n);
}

static void gap(enum qw_dir dir, struct qw_pending *pend)
{
    qw_pending_reset(&pend[dir]);
    qw_proto_ftp.gap(&ctx, state_buf, dir);
}

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->has_request && !t->has_response) abort();
        if (!t->function_name) abort();
        if (t->function > 64) abort();
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (rec.txns[i].json[0] != '{' && !rec.txns[i].json_overflow) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (!rec.identities[i].attr[0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_ftp.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_ftp);
        ready = true;
    }
    /* Reset the recorder cheaply: entries are rewritten whole when recorded. */
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_ftp.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_ftp.probe(data, size, QW_DIR_TO_SERVER);
    (void)qw_proto_ftp.probe(data, size, QW_DIR_TO_CLIENT);

    struct qw_pending pend[2] = {{0}, {0}};
    uint8_t ctl = size ? data[0] : 0;
    unsigned mode = ctl >> 6;
    size_t base = (size_t)(ctl & 0x3Fu) + 1;
    uint32_t rng = 0x9E3779B9u ^ (uint32_t)size ^ ((uint32_t)ctl << 8);

    for (unsigned pass = 0; pass < (mode == 0 || mode == 3 ? 2u : 1u); pass++) {
        size_t off = 0;
        while (off < size) {
            rng = rng * 1664525u + 1013904223u;
            size_t n = base + ((rng >> 24) % base);
            if (n > size - off) n = size - off;
            ctx.ts_ns++;
            switch (mode) {
            case 1:
                deliver(QW_DIR_TO_SERVER, pend, data + off, n);
                deliver(QW_DIR_TO_CLIENT, pend, data + off, n);
                break;
            case 2: deliver((rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend,
                            data + off, n);
                break;
            default:
                if (mode == 3 && off < size / 2 && off + n >= size / 2)
                    gap(pass ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend);
                deliver(pass ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend, data + off, n);
                break;
            }
            off += n;
        }
    }
    qw_proto_ftp.flow_end(&ctx, state_buf);
    check();
    qw_pending_free(&pend[0]);
    qw_pending_free(&pend[1]);
    return 0;
}
