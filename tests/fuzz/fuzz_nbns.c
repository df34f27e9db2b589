/* Fuzz harness for the NetBIOS name service parser (src/proto/nbns.c); see tests/fuzz/fuzz.h.
 *
 * The input is one message (a corpus payload parses as the real NBNS it is). It is delivered
 * unicast to the server, with the R bit flipped back to the client (pairing by transaction id),
 * then with the B flag forced (written at once); the sender's IPv4 address is the input's last
 * 4 bytes, so NB records and name tables can name the sender and the identity rules run. The
 * probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_nbns;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "profinet"; /* registrations, queries (mixed_2 capture) */

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

static const char *const nbns_attrs[] = {"netbios_name", "netbios_domain", "hostname", NULL};

static void deliver(enum qw_dir dir, const uint8_t *p, size_t n)
{
    ctx.ts_ns++;
    qw_proto_nbns.datagram(&ctx, state_buf, dir, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_nbns.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_nbns);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_nbns.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_nbns.probe(data, size, QW_DIR_TO_SERVER);

    static const uint8_t zero[4] = {0}, other[4] = {192, 168, 1, 1};
    const uint8_t *me = size >= 4 ? data + size - 4 : zero;
    set_pkt4(me, other, false);
    deliver(QW_DIR_TO_SERVER, data, size);
    uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (size > 2) copy[2] ^= 0x80u;
    set_pkt4(other, me, false);
    deliver(QW_DIR_TO_CLIENT, copy, size);
    if (size > 3) copy[3] |= 0x10u;
    set_pkt4(me, other, false);
    deliver(QW_DIR_TO_SERVER, copy, size);
    free(copy);

    qw_proto_nbns.flow_end(&ctx, state_buf);
    check("nbns.", 15, nbns_attrs);
    return 0;
}
