/* Fuzz harness for the VRRP parser (src/proto/vrrp.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real advertisement it is), then cut into
 * datagrams as its first byte says, then flow_end; once with no packet (bytes alone) and once
 * over IPv6 with a TTL of 64. Invariants: every record an advertisement (function 1, request
 * only, no operation class) with a whole JSON object, every fact a vrrp_group about the sender,
 * every anomaly one of the parser's names and each reason at most once per flow (the clear-text
 * password once per virtual router, of which a flow follows 16). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_vrrp;
#define FZ_PROTO qw_proto_vrrp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "l2-misc";

static const char *const once_names[] = {"vrrp.invalid_length", "vrrp.bad_version",
                                         "vrrp.bad_type", "vrrp.bad_checksum",
                                         "vrrp.ttl_not_255"};
#define NONCE (sizeof once_names / sizeof once_names[0])

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !fz_json_whole(&rec.txns[i])) abort();
        if (t->function != 1 || strcmp(t->function_name, "advertisement") != 0) abort();
        if (!t->has_request || t->has_response || t->ops != 0) abort();
    }
    for (size_t i = 0; i < rec.nidentities; i++)
        if (rec.identities[i].server || strcmp(rec.identities[i].attr, "vrrp_group") != 0)
            abort();
    size_t seen[NONCE] = {0}, passwords = 0;
    for (size_t i = 0; i < rec.nanomalies; i++) {
        const char *name = rec.anomalies[i].name;
        if (!rec.anomalies[i].about_client) abort();
        if (strcmp(name, "vrrp.cleartext_password") == 0) {
            passwords++;
            continue;
        }
        size_t k = 0;
        while (k < NONCE && strcmp(name, once_names[k]) != 0) k++;
        if (k == NONCE || ++seen[k] > 1) abort();
    }
    if (passwords > 16) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    fz_reset();
    memset(&pkt, 0, sizeof pkt);
    pkt.l3 = QW_L3_IPV6;
    pkt.l4_proto = 112;
    pkt.ttl = 64;
    pkt.src_ip.b[0] = 0xfe;
    pkt.src_ip.b[1] = 0x80;
    pkt.dst_ip.b[0] = 0xff;
    ctx.pkt = &pkt;
    fz_datagram_cuts(data, size);
    check();
    ctx.pkt = NULL;
    return 0;
}
