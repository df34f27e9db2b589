/* Fuzz harness for the DNS parser (src/proto/dns.c) and the shared wire reader (dns_wire.c);
 * see tests/fuzz/fuzz.h.
 *
 * The input is one DNS message (a corpus payload parses as the real DNS it is), used three ways:
 *   UDP  delivered to the server, then with the QR bit flipped to the client (a query meets an
 *        answer with the same ID and question), then again to a broadcast address;
 *   TCP  the input as a byte stream, and the input behind its two-byte length prefix, each cut
 *        into chunks (first byte: bits 0-5 chunk size 1..64, bit 6 both directions, bit 7 a gap
 *        halfway), through qw_stream_deliver as in the engine (tests/fuzz/fuzz_parser.h).
 * Packets take their IPv4 addresses from the input's last 8 bytes, so an answer can name a flow
 * end and the identity rule runs. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_dns;
#define FZ_PROTO qw_proto_dns

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dns";

static const char *const dns_attrs[] = {"dns_name", NULL};

static void stream(const uint8_t *p, size_t n, uint8_t ctl)
{
    struct qw_pending pend[2] = {{0}, {0}};
    struct fz_cut cut = {(size_t)(ctl & 0x3Fu) + 1,
                         0x9E3779B9u ^ (uint32_t)n ^ ((uint32_t)ctl << 8)};
    size_t off = 0;
    while (off < n) {
        size_t k = fz_next(&cut, n - off);
        ctx.ts_ns++;
        if ((ctl & 0x80u) && off < n / 2 && off + k >= n / 2) fz_gap(QW_DIR_TO_SERVER, pend);
        fz_deliver(QW_DIR_TO_SERVER, pend, p + off, k);
        if (ctl & 0x40u) fz_deliver(QW_DIR_TO_CLIENT, pend, p + off, k);
        off += k;
    }
    qw_pending_free(&pend[0]);
    qw_pending_free(&pend[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    (void)qw_proto_dns.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[8] = {0};
    const uint8_t *ends = size >= 8 ? data + size - 8 : zero;
    fz_set_pkt4(ends, ends + 4, false);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return 0;
    memcpy(flipped, data, size);
    if (size > 2) flipped[2] ^= 0x80u;
    fz_set_pkt4(ends + 4, ends, false);
    fz_datagram_later(QW_DIR_TO_CLIENT, flipped, size);
    fz_set_pkt4(ends, ends + 4, true);
    fz_datagram_later(QW_DIR_TO_SERVER, data, size);
    free(flipped);
    fz_end();
    fz_check_records("dns.", 15, dns_attrs);

    /* TCP: a fresh flow */
    fz_reset();
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
    fz_end();
    fz_check_records("dns.", 15, dns_attrs);
    return 0;
}
