/* Fuzz harness for the DHCPv6 parser (src/proto/dhcpv6.c); see tests/fuzz/fuzz.h.
 *
 * The whole input is one datagram (a corpus payload parses as the real DHCPv6 it is). It is
 * delivered to the server and then to the client, then with its message type (or, for a relay
 * message, the outer type) changed to the answer type (SOLICIT -> ADVERTISE, other client types
 * -> REPLY, RELAY-FORW -> RELAY-REPL) the other way, so requests meet answers with the same
 * transaction id; once more to a multicast destination. Packets carry IPv6 addresses taken from
 * the input, so the identity rules can fire. The probe runs on the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "fuzz.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcpv6;

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "profinet"; /* the corpus capture with DHCPv6 */

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

static const char *const dhcpv6_attrs[] = {"hostname", "dhcp_vendor_class", "dhcpv6_duid",
                                           "dhcpv6_fingerprint", "ip", NULL};

static void set_pkt6(const uint8_t *src, bool group)
{
    memset(&pkt, 0, sizeof pkt);
    pkt.l3 = QW_L3_IPV6;
    pkt.src_ip.b[0] = 0xfe;
    pkt.src_ip.b[1] = 0x80;
    memcpy(pkt.src_ip.b + 8, src, 8);
    pkt.dst_ip.b[0] = group ? 0xff : 0xfd;
    pkt.dst_ip.b[15] = 2;
    ctx.pkt = &pkt;
}

static void deliver(enum qw_dir dir, const uint8_t *p, size_t n)
{
    ctx.ts_ns++;
    qw_proto_dhcpv6.datagram(&ctx, state_buf, dir, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (qw_proto_dhcpv6.state_size > sizeof state_buf) abort();
        qw_record_sink_init(&rec, &ctx, &qw_proto_dhcpv6);
        ready = true;
    }
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    memset(state_buf, 0, qw_proto_dhcpv6.state_size);
    ctx.ts_ns = 1;

    (void)qw_proto_dhcpv6.probe(data, size, QW_DIR_TO_SERVER);

    uint8_t host[8] = {0};
    memcpy(host, data, size < 8 ? size : 8);
    set_pkt6(host, false);
    deliver(QW_DIR_TO_SERVER, data, size);
    deliver(QW_DIR_TO_CLIENT, data, size);

    uint8_t *answer = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!answer) return 0;
    memcpy(answer, data, size);
    if (size) answer[0] = answer[0] == 1 ? 2 : answer[0] == 12 ? 13 : 7;
    deliver(QW_DIR_TO_CLIENT, answer, size);
    free(answer);
    set_pkt6(host, true);
    deliver(QW_DIR_TO_SERVER, data, size);

    qw_proto_dhcpv6.flow_end(&ctx, state_buf);
    check("dhcpv6.", 255, dhcpv6_attrs);
    return 0;
}
