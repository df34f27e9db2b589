/* Fuzz harness for the DNS parser (src/proto/dns.c) and the shared wire reader (dns_wire.c);
 * see tests/fuzz/fuzz.h.
 *
 * The input is one DNS message (a corpus payload parses as the real DNS it is), used three ways:
 *   UDP  delivered to the server, then with the QR bit flipped to the client (a query meets an
 *        answer with the same ID and question), then again to a broadcast address;
 *   TCP  the input as a byte stream, and the input behind its two-byte length prefix, each cut
 *        into chunks (first byte: bits 0-5 chunk size 1..64, bit 6 both directions, bit 7 a gap
 *        halfway), through qw_stream_deliver as in the engine.
 * Packets take their IPv4 addresses from the input's last 8 bytes, so an answer can name a flow
 * end and the identity rule runs. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dns;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dns";

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static _Alignas(16) uint8_t state_buf[1u << 15];
static struct qw_packet pkt;
static bool ready;

/* Invariants every emitted record keeps. */
static void check(const char *prefix, uint32_t function_max, const char *const *attrs)
{
    for (size_t i = 0; i < rec.ntxns && i < QW_REC_MAX; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!t->has_request && !t->has_response) abort();
        if (!t->function_name || t->function > function_max) abort();
        if (t->has_request != (t->request_ns != 0)) abort();
        if (t->has_response != (t->response_ns != 0)) abort();
        if (t->ops >> 15) abort(); /* only the bits of enum qw_op */
        const char *j = rec.txns[i].json;
        if (!rec.txns[i].json_overflow && (j[0] != '{' || j[strlen(j) - 1] != '}')) abort();
    }
    for (size_t i = 0; i < rec.nanomalies && i < QW_REC_MAX; i++)
        if (strncmp(rec.anomalies[i].name, prefix, strlen(prefix)) != 0) abort();
    for (size_t i = 0; i < rec.nidentities && i < QW_REC_MAX; i++) {
        bool known = false;
        for (size_t k = 0; attrs[k]; k++)
            if (strcmp(rec.identities[i].attr, attrs[k]) == 0) known = true;
        if (!known) abort();
    }
}

/* The current packet: IPv4 addresses from the given input bytes (so the fuzzer can make them
 * match the addresses inside the message), unicast or broadcast. */
static inline void set_pkt4(const uint8_t *src, const uint8_t *dst, bool group)
{
    memset(&pkt, 0, sizeof pkt);
    pkt.l3 = QW_L3_IPV4;
    qw_addr_from_v4(&pkt.src_ip, src);
    qw_addr_from_v4(&pkt.dst_ip, dst);
    pkt.has_mac = true;
    if (group) memset(pkt.dst_mac, 0xFF, 6);
    ctx.pkt = &pkt;
}

static const char *const dns_attrs[] = {"dns_name", NULL};

static void udp(enum qw_dir dir, const uint8_t *p, size_t n)
{
    ctx.ts_ns++;
    qw_proto_dns.datagram(&ctx, state_buf, dir, p, n);
}

static void stream(const uint8_t *p, size_t n, uint8_t ctl)
{
    struct qw_pending pend[2] = {{0}, {0}};
    size_t base = (size_t)(ctl & 0x3Fu) + 1;
    uint32_t rng = 0x9E3779B9u ^ (uint32_t)n ^ ((uint32_t)ctl << 8);
    size_t off = 0;
    while (off < n) {
        rng = rng * 1664525u + 1013904223u;
        size_t k = base + ((rng >> 24) % base);
        if (k > n - off) k = n - off;
        ctx.ts_ns++;
        if ((ctl & 0x80u) && off < n / 2 && off + k >= n / 2) {
            qw_pending_reset(&pend[0]);
            qw_proto_dns.gap(&ctx, state_buf, QW_DIR_TO_SERVER);
        }
        qw_stream_deliver(&ctx, &qw_proto_dns, state_buf, QW_DIR_TO_SERVER, &pend[0], p + off, k);
        if (ctl & 0x40u)
            qw_stream_deliver(&ctx, &qw_proto_dns, state_buf, QW_DIR_TO_CLIENT, &pend[1], p + off,
                              k);
        off += k;
    }
    qw_pending_free(&pend[0]);
    qw_pending_free(&pend[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_dns.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_dns);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_dns.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_dns.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[8] = {0};
    const uint8_t *ends = size >= 8 ? data + size - 8 : zero;
    set_pkt4(ends, ends + 4, false);
    udp(QW_DIR_TO_SERVER, data, size);
    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return 0;
    memcpy(flipped, data, size);
    if (size > 2) flipped[2] ^= 0x80u;
    set_pkt4(ends + 4, ends, false);
    udp(QW_DIR_TO_CLIENT, flipped, size);
    set_pkt4(ends, ends + 4, true);
    udp(QW_DIR_TO_SERVER, data, size);
    free(flipped);
    qw_proto_dns.flow_end(&ctx, state_buf);
    check("dns.", 15, dns_attrs);

    /* TCP: a fresh flow */
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_dns.state_size);
    ctx.pkt = NULL;
    uint8_t ctl = size ? data[0] : 0;
    stream(data, size, ctl);
    if (size <= 0xFFFFu) {
        uint8_t *framed = malloc(size + 2);
        if (!framed) return 0;
        framed[0] = (uint8_t)(size >> 8);
        framed[1] = (uint8_t)size;
        memcpy(framed + 2, data, size);
        stream(framed, size + 2, ctl);
        free(framed);
    }
    qw_proto_dns.flow_end(&ctx, state_buf);
    check("dns.", 15, dns_attrs);
    return 0;
}
