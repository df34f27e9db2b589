/* Fuzz harness for the DNP3 parser (src/proto/dnp3.c); see tests/fuzz/fuzz.h.
 *
 * Every link frame carries CRCs (a header CRC and one per 16 octets of data), so mutated bytes
 * would almost never get past the link layer. Most modes therefore first "repair" the input: at
 * each 05 64 start with a plausible length the CRCs are recomputed in a copy, so the transport
 * and application layers see the mutations. The whole input is the byte stream; the mode and
 * the chunk size come from a hash of the input (corpus payloads all begin with 0x05):
 *   mode 0  raw bytes (CRCs as sent): to the server, then the same bytes to the client
 *   mode 1  repaired: to the server, then to the client
 *   mode 2  repaired: each chunk to a direction chosen by a generator, with a gap (lost
 *           segment) halfway
 *   mode 3  repaired: each chunk is one UDP datagram, directions alternating
 * Everything goes through qw_stream_deliver (or the datagram callback) as in the engine
 * (tests/fuzz/fuzz_parser.h), then flow_end; the recording sink renders every transaction's
 * JSON. The probe runs on the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dnp3_tables.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dnp3;
#define FZ_PROTO qw_proto_dnp3

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dnp3";

static uint8_t repaired[70000];

/* Recompute the CRCs of every plausible frame in `b` (in place). */
static void repair(uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i + 10 <= n) {
        if (b[i] != 0x05 || b[i + 1] != 0x64 || b[i + 2] < 5) {
            i++;
            continue;
        }
        uint16_t c = qw_dnp3_crc(b + i, 8);
        b[i + 8] = (uint8_t)(c & 0xFF);
        b[i + 9] = (uint8_t)(c >> 8);
        size_t user = (size_t)b[i + 2] - 5, pos = i + 10;
        while (user > 0) {
            size_t k = user < 16 ? user : 16;
            if (pos + k + 2 > n) break;
            c = qw_dnp3_crc(b + pos, k);
            b[pos + k] = (uint8_t)(c & 0xFF);
            b[pos + k + 1] = (uint8_t)(c >> 8);
            pos += k + 2;
            user -= k;
        }
        i = pos > i ? pos : i + 1;
    }
}

/* Invariants every emitted transaction keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > 255) abort();
        bool response_code = t->function >= 129 && t->function <= 131;
        /* The txn's function is the request's when there is one, and a request is never a
         * response function; a lone response is always one. */
        if (t->has_request == response_code) abort();
        if (t->error && !t->has_response) abort();
        if (rec.txns[i].json[0] != '{') abort();
    }
    if (!fz_anomalies_prefixed("dnp3.")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_dnp3.probe(data, size, QW_DIR_TO_SERVER);
    (void)qw_proto_dnp3.probe(data, size, QW_DIR_TO_CLIENT);

    uint32_t h = 2166136261u; /* FNV-1a of a few octets and the size */
    for (size_t i = 0; i < size && i < 16; i++) h = (h ^ data[i]) * 16777619u;
    h = (h ^ (uint32_t)size) * 16777619u;
    unsigned mode = h & 3u;
    struct fz_cut cut = {((h >> 2) & 0x3Fu) + 1, h ^ 0x9E3779B9u};

    const uint8_t *in = data;
    if (size > sizeof repaired) size = sizeof repaired;
    if (mode != 0) {
        memcpy(repaired, data, size);
        repair(repaired, size);
        in = repaired;
    }

    if (mode == 3) {
        fz_datagrams(in, size, &cut, true, false);
    } else {
        struct qw_pending pend[2] = {{0}, {0}};
        for (unsigned pass = 0; pass < (mode <= 1 ? 2u : 1u); pass++) {
            size_t off = 0;
            while (off < size) {
                size_t n = fz_next(&cut, size - off);
                ctx.ts_ns++;
                enum qw_dir dir = pass ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
                if (mode == 2) {
                    dir = (cut.rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
                    if (off < size / 2 && off + n >= size / 2) fz_gap(dir, pend);
                }
                fz_deliver(dir, pend, in + off, n);
                off += n;
            }
        }
        qw_pending_free(&pend[0]);
        qw_pending_free(&pend[1]);
    }
    fz_end();
    check();
    return 0;
}
