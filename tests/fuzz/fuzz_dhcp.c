/* Fuzz harness for the DHCPv4 parser (src/proto/dhcp.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is one datagram (a corpus payload parses as the real DHCP it is). It is
 * delivered several ways, so that every path runs on it:
 *   1. to the server, then to the client: a request meets a reply with the same xid;
 *   2. with the op byte flipped (request <-> reply), the other way round;
 *   3. again with a broadcast destination (written at once, never queued);
 * each with a packet whose source is ciaddr and destination yiaddr and whose source MAC is
 * chaddr, so the identity rules (client is the sender, ACK to yiaddr) can fire. The last byte
 * of the input picks a unicast or broadcast first delivery. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcp;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dhcp";

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

static const char *const dhcp_attrs[] = {"hostname", "dhcp_vendor_class", "dhcp_client_id",
                                         "dhcp_fingerprint", "ip", NULL};

static void deliver(enum qw_dir dir, const uint8_t *p, size_t n)
{
    ctx.ts_ns++;
    qw_proto_dhcp.datagram(&ctx, state_buf, dir, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_dhcp.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_dhcp);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_dhcp.state_size);
    ctx.ts_ns = 1;
    ctx.pkt = NULL;

    (void)qw_proto_dhcp.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[4] = {0};
    const uint8_t *ci = size >= 16 ? data + 12 : zero, *yi = size >= 20 ? data + 16 : zero;
    bool group = size && (data[size - 1] & 1u);
    set_pkt4(ci, yi, group);
    if (size >= 34) memcpy(pkt.src_mac, data + 28, 6);
    deliver(QW_DIR_TO_SERVER, data, size);
    set_pkt4(yi, ci, group);
    deliver(QW_DIR_TO_CLIENT, data, size);

    uint8_t *flipped = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!flipped) return 0;
    memcpy(flipped, data, size);
    if (size) flipped[0] = flipped[0] == 1 ? 2 : 1;
    set_pkt4(yi, ci, false);
    deliver(QW_DIR_TO_CLIENT, flipped, size);
    set_pkt4(ci, yi, false);
    deliver(QW_DIR_TO_SERVER, flipped, size);
    set_pkt4(ci, yi, true);
    deliver(QW_DIR_TO_SERVER, data, size);
    free(flipped);

    qw_proto_dhcp.flow_end(&ctx, state_buf);
    check("dhcp.", 255, dhcp_attrs);
    return 0;
}
