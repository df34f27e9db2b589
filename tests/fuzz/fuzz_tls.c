/* Fuzz harness for the TLS parser (src/proto/tls.c) and its certificate reader
 * (src/proto/tls_x509.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is the byte stream, so a corpus payload is parsed as the real traffic it is;
 * its first byte also picks how the stream is cut and which way it flows:
 *   bits 0-5  chunk size (1..64), varied per chunk by a small generator seeded from the input
 *   bits 6-7  0: the stream to the server, then the same bytes back to the client
 *             1: each chunk to the server and then to the client
 *             2: each chunk to a direction chosen by the generator
 *             3: as 0, with a gap (lost segment) in each direction halfway
 * Everything goes through qw_stream_deliver as in the engine, then flow_end; the recording sink
 * renders every transaction's JSON, which is checked to be one well-formed object. The input is
 * also handed to the X.509 reader as one DER certificate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "fuzz.h"
#include "proto/proto.h"
#include "proto/tls_x509.h"

extern const struct qw_proto qw_proto_tls;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "tls";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static _Alignas(16) uint8_t state_buf[1u << 15];
static bool ready;

static void deliver(enum qw_dir dir, struct qw_pending *pend, const uint8_t *p, size_t n)
{
    qw_stream_deliver(&ctx, &qw_proto_tls, state_buf, dir, &pend[dir], p, n);
}

static void gap(enum qw_dir dir, struct qw_pending *pend)
{
    qw_pending_reset(&pend[dir]);
    qw_proto_tls.gap(&ctx, state_buf, dir);
}

static bool attr_known(const char *a)
{
    static const char *const attrs[] = {"tls_sni", "ja3", "ja4", "ja3s", "tls_cert_subject",
                                        "tls_cert_issuer", "tls_cert_not_after", "tls_self_signed"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (strcmp(a, attrs[i]) == 0) return true;
    return false;
}

static void check_str(const struct tls_x509_str *s)
{
    if (s->len >= sizeof s->s || s->s[s->len] != '\0') abort();
}

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns && i < QW_REC_MAX; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->has_request && !t->has_response) abort();
        if (!t->function_name) abort();
        if (t->function != 21 && t->function != 22) abort(); /* alert, handshake */
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (t->ops & ~(uint32_t)QW_OP_AUTH) abort(); /* a client certificate at most */
        const char *j = rec.txns[i].json;
        if (!rec.txns[i].json_overflow && (j[0] != '{' || j[strlen(j) - 1] != '}')) abort();
    }
    for (size_t i = 0; i < rec.nanomalies && i < QW_REC_MAX; i++)
        if (strncmp(rec.anomalies[i].name, "tls.", sizeof "tls." - 1) != 0) abort();
    for (size_t i = 0; i < rec.nidentities && i < QW_REC_MAX; i++)
        if (!attr_known(rec.identities[i].attr)) abort(); /* values are bytes, NULs included */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_tls.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_tls);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_tls.state_size);
    ctx.ts_ns = 1700000000000000000ull;

    (void)qw_proto_tls.probe(data, size, QW_DIR_TO_SERVER);
    (void)qw_proto_tls.probe(data, size, QW_DIR_TO_CLIENT);

    struct tls_x509 x;
    enum tls_x509_status xs = tls_x509_parse(data, size, &x);
    if (xs != TLS_X509_OK && xs != TLS_X509_TRUNCATED && xs != TLS_X509_MALFORMED) abort();
    check_str(&x.subject_cn);
    check_str(&x.subject_o);
    check_str(&x.issuer_cn);
    check_str(&x.issuer_o);
    if (x.serial_len > sizeof x.serial) abort();
    if (x.has_validity && (strlen(x.not_after_str) != 20 || strlen(x.not_before_str) != 20))
        abort();

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
            case 2:
                deliver((rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend, data + off,
                        n);
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
    qw_proto_tls.flow_end(&ctx, state_buf);
    check();
    qw_pending_free(&pend[0]);
    qw_pending_free(&pend[1]);
    return 0;
}
