/* Fuzz harness for the mDNS and LLMNR parsers (src/proto/mdns.c); see tests/fuzz/fuzz.h.
 *
 * The input is one message (a corpus payload parses as the real mDNS it is). For each of the two
 * parsers it is delivered from a sender whose IPv4 address is the input's last 4 bytes (so the
 * fuzzer can make records name the sender, and the identity rules run) to the multicast group,
 * then unicast, then with the QR bit flipped the other way (pairing), then through the IPv6
 * path with an address from the input's last 16 bytes. The probes run on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_mdns;
extern const struct qw_proto qw_proto_llmnr;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dns"; /* zeek_mdns.pcap */

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

static const char *const mdns_attrs[] = {"hostname", "mdns_service", NULL};

static void run(const struct qw_proto *p, const char *prefix, const uint8_t *data, size_t size)
{
    ctx.proto = p; /* the recorder was set up once; only the parser changes */
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, p->state_size);
    ctx.ts_ns = 1;
    (void)p->probe(data, size, QW_DIR_TO_SERVER);
    static const uint8_t zero[16] = {0};
    static const uint8_t group[4] = {224, 0, 0, 251}, peer[4] = {10, 0, 0, 1};
    const uint8_t *me = size >= 16 ? data + size - 16 : zero;
    set_pkt4(me + 12, group, true);
    ctx.ts_ns++;
    p->datagram(&ctx, state_buf, QW_DIR_TO_SERVER, data, size);
    set_pkt4(me + 12, peer, false);
    ctx.ts_ns++;
    p->datagram(&ctx, state_buf, QW_DIR_TO_SERVER, data, size);
    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return;
    memcpy(flipped, data, size);
    if (size > 2) flipped[2] ^= 0x80u;
    set_pkt4(peer, me + 12, false);
    ctx.ts_ns++;
    p->datagram(&ctx, state_buf, QW_DIR_TO_CLIENT, flipped, size);
    free(flipped);
    pkt.l3 = QW_L3_IPV6;
    memcpy(pkt.src_ip.b, me, 16);
    pkt.dst_ip.b[0] = 0xff;
    ctx.ts_ns++;
    p->datagram(&ctx, state_buf, QW_DIR_TO_CLIENT, data, size);
    p->flow_end(&ctx, state_buf);
    check(prefix, 15, mdns_attrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_mdns.state_size > sizeof state_buf) abort();
        if (qw_proto_llmnr.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_mdns);
        ready = true;
    }
    run(&qw_proto_mdns, "mdns.", data, size);
    run(&qw_proto_llmnr, "llmnr.", data, size);
    return 0;
}
