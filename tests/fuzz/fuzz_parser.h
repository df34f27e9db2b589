/* The driver every parser fuzz harness shares (see fuzz.h for the harness convention): the
 * parser's state, the recording sink (src/engine/record_sink.h), and delivery as the engine
 * delivers, so a harness is only what is particular to its protocol and the invariants it
 * checks on what was recorded.
 *
 * Before including, define FZ_PROTO as the descriptor under test (e.g. qw_proto_modbus), and
 * optionally FZ_TS_STEP(rng), the packet-time step before each chunk fz_stream delivers, given
 * the cut's generator (default 1 ns; a parser with timers wants larger, varied steps).
 *
 * The state lives in a heap block of exactly the parser's state_size, so the sanitizers see a
 * write past it; it is zeroed, and the records forgotten, for every flow (fz_begin, fz_reset).
 * The records live in `rec`, the context in `ctx`, the packet (for parsers that read
 * addresses) in `pkt`. */
#ifndef QW_TESTS_FUZZ_PARSER_H
#define QW_TESTS_FUZZ_PARSER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "fuzz.h"
#include "proto/proto.h"

#ifndef FZ_TS_STEP
#define FZ_TS_STEP(rng) 1u
#endif

static struct qw_record_sink rec;
static struct qw_pctx ctx;
static struct qw_packet pkt;
static void *state;
static const struct qw_proto *fz_p; /* the parser `state` belongs to */

/* ---- Flows --------------------------------------------------------------------------------- */

/* A fresh flow of parser p: no records, zeroed state; the time and packet are kept. */
static inline void fz_reset_for(const struct qw_proto *p)
{
    if (fz_p != p) {
        free(state);
        state = malloc(p->state_size ? p->state_size : 1);
        if (!state) abort();
        qw_record_sink_init(&rec, &ctx, p);
        fz_p = p;
    }
    /* Forgetting the records is enough: entries are rewritten whole when recorded. */
    rec.ntxns = rec.nanomalies = rec.nidentities = rec.dropped = 0;
    rec.ndevice_reports = 0;
    memset(state, 0, p->state_size);
}

static inline void fz_reset(void)
{
    fz_reset_for(&FZ_PROTO);
}

/* A fresh flow of parser p at time t0, with no packet. */
static inline void fz_begin_for(const struct qw_proto *p, uint64_t t0)
{
    fz_reset_for(p);
    ctx.ts_ns = t0;
    ctx.pkt = NULL;
}

static inline void fz_begin(uint64_t t0)
{
    fz_begin_for(&FZ_PROTO, t0);
}

/* ---- Delivery ------------------------------------------------------------------------------ */

/* TCP bytes of one direction, after what the parser left unconsumed in pend[dir]. */
static inline void fz_deliver(enum qw_dir dir, struct qw_pending *pend, const uint8_t *p,
                              size_t n)
{
    qw_stream_deliver(&ctx, fz_p, state, dir, &pend[dir], p, n);
}

/* A lost segment in direction dir. */
static inline void fz_gap(enum qw_dir dir, struct qw_pending *pend)
{
    qw_pending_reset(&pend[dir]);
    fz_p->gap(&ctx, state, dir);
}

/* One UDP datagram's payload. */
static inline void fz_datagram(enum qw_dir dir, const uint8_t *p, size_t n)
{
    fz_p->datagram(&ctx, state, dir, p, n);
}

/* One UDP datagram, the packet time 1 ns on. */
static inline void fz_datagram_later(enum qw_dir dir, const uint8_t *p, size_t n)
{
    ctx.ts_ns++;
    fz_datagram(dir, p, n);
}

/* The end of the flow (or of the capture, for link-layer parsers), when the parser has one. */
static inline void fz_end(void)
{
    if (fz_p->flow_end) fz_p->flow_end(&ctx, state);
}

/* The current packet: IPv4 addresses from the given input bytes (so the fuzzer can make them
 * match the addresses inside the message), unicast or to a group MAC. */
static inline void fz_set_pkt4(const uint8_t *src, const uint8_t *dst, bool group)
{
    memset(&pkt, 0, sizeof pkt);
    pkt.l3 = QW_L3_IPV4;
    qw_addr_from_v4(&pkt.src_ip, src);
    qw_addr_from_v4(&pkt.dst_ip, dst);
    pkt.has_mac = true;
    if (group) memset(pkt.dst_mac, 0xFF, 6);
    ctx.pkt = &pkt;
}

/* ---- Cuts ---------------------------------------------------------------------------------- */

/* How an input is cut into chunks: each of base..2*base-1 bytes, from a small generator. */
struct fz_cut {
    size_t base;
    uint32_t rng;
};

/* The size of the next chunk, at most `left`. */
static inline size_t fz_next(struct fz_cut *c, size_t left)
{
    c->rng = c->rng * 1664525u + 1013904223u;
    size_t n = c->base + ((c->rng >> 24) % c->base);
    return n < left ? n : left;
}

/* The input as TCP streams, as a stream harness takes it. The probe runs on the whole input
 * each way. The input is the byte stream (so a corpus payload is parsed as the real traffic
 * it is); its first byte also picks how the stream is cut and which way it flows:
 *   bits 0-5  chunk size (1..64), varied per chunk by the generator, seeded from the input
 *   bits 6-7  0: the stream to the server, then the same bytes back to the client
 *             1: each chunk to the server and then to the client (pairs every request)
 *             2: each chunk to a direction chosen by the generator
 *             3: as 0, with a gap (lost segment) in each direction halfway
 * Everything goes through qw_stream_deliver, as in the engine, then flow_end; the recording
 * sink renders every transaction's JSON. Returns the cut as it was left, for a further pass. */
static inline struct fz_cut fz_stream(const uint8_t *data, size_t size)
{
    (void)fz_p->probe(data, size, QW_DIR_TO_SERVER);
    (void)fz_p->probe(data, size, QW_DIR_TO_CLIENT);

    struct qw_pending pend[2] = {{0}, {0}};
    uint8_t ctl = size ? data[0] : 0;
    unsigned mode = ctl >> 6;
    struct fz_cut c = {(size_t)(ctl & 0x3Fu) + 1,
                       0x9E3779B9u ^ (uint32_t)size ^ ((uint32_t)ctl << 8)};

    for (unsigned pass = 0; pass < (mode == 0 || mode == 3 ? 2u : 1u); pass++) {
        size_t off = 0;
        while (off < size) {
            size_t n = fz_next(&c, size - off);
            ctx.ts_ns += FZ_TS_STEP(c.rng);
            switch (mode) {
            case 1:
                fz_deliver(QW_DIR_TO_SERVER, pend, data + off, n);
                fz_deliver(QW_DIR_TO_CLIENT, pend, data + off, n);
                break;
            case 2:
                fz_deliver((c.rng >> 16) & 1u ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend,
                           data + off, n);
                break;
            default:
                if (mode == 3 && off < size / 2 && off + n >= size / 2)
                    fz_gap(pass ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend);
                fz_deliver(pass ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pend, data + off, n);
                break;
            }
            off += n;
        }
    }
    fz_end();
    qw_pending_free(&pend[0]);
    qw_pending_free(&pend[1]);
    return c;
}

/* The chunks of cut c as UDP datagrams, 1 ns apart: directions alternating (the first to the
 * server) with `alternate`, all to the server otherwise; with `probe`, each is probed too. */
static inline void fz_datagrams(const uint8_t *data, size_t size, struct fz_cut *c,
                                bool alternate, bool probe)
{
    size_t off = 0;
    unsigned k = 0;
    while (off < size) {
        size_t n = fz_next(c, size - off);
        if (probe) (void)fz_p->probe(data + off, n, QW_DIR_TO_SERVER);
        enum qw_dir dir = alternate && (k++ & 1u) ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
        fz_datagram_later(dir, data + off, n);
        off += n;
    }
}

/* The input as a datagram harness takes it: probed, and given whole as one datagram each way
 * (a corpus payload is the real message it is); then its first byte picks a cut: bits 0-6 give
 * a datagram size (1..128), varied per datagram by the cut's generator, seeded from the input,
 * and bit 7 whether the datagrams alternate direction (so requests meet responses) or all go
 * to the server; each is probed too. Then flow_end. */
static inline void fz_datagram_cuts(const uint8_t *data, size_t size)
{
    (void)fz_p->probe(data, size, QW_DIR_TO_SERVER);
    if (size) {
        fz_datagram(QW_DIR_TO_SERVER, data, size);
        fz_datagram_later(QW_DIR_TO_CLIENT, data, size);
    }
    uint8_t ctl = size ? data[0] : 0;
    struct fz_cut c = {(size_t)(ctl & 0x7Fu) + 1,
                       0x9E3779B9u ^ (uint32_t)size ^ ((uint32_t)ctl << 8)};
    fz_datagrams(data, size, &c, ctl & 0x80u, true);
    fz_end();
}

/* ---- Frames -------------------------------------------------------------------------------- */

/* Decode the input as an Ethernet frame, as the engine does, into `pkt`. When it carries
 * `ethertype` (after VLAN tags, or as the SNAP protocol id), returns its payload with ctx.pkt
 * set to the packet; otherwise NULL, with ctx.pkt NULL. */
static inline const uint8_t *fz_decode_frame(const uint8_t *data, size_t size,
                                             uint16_t ethertype, size_t *len)
{
    static struct qw_decoder dec;
    static bool dec_ready;
    if (!dec_ready) {
        qw_decoder_init(&dec, 1 /* LINKTYPE_ETHERNET */);
        dec_ready = true;
    }
    qw_decode(&dec, data, (uint32_t)size, (uint32_t)size, ctx.ts_ns, &pkt);
    ctx.pkt = NULL;
    if (!pkt.payload || pkt.ethertype != ethertype) return NULL;
    ctx.pkt = &pkt;
    *len = pkt.payload_len;
    return pkt.payload;
}

/* The input as a link-layer parser is given it: decoded as the engine does, the payload when
 * the ethertype is the parser's (with ctx.pkt set to the packet), otherwise the raw input with
 * no packet (so the fuzzer reaches the parser without having to find an Ethernet header); in a
 * copy the harness may change, of at most 70000 bytes. */
static inline uint8_t *fz_frame_copy(const uint8_t *data, size_t size, size_t *len)
{
    static uint8_t copy[70000];
    size_t n;
    const uint8_t *p = fz_decode_frame(data, size, FZ_PROTO.ethertypes[0], &n);
    if (!p) {
        p = data;
        n = size;
    }
    if (n > sizeof copy) n = sizeof copy;
    memcpy(copy, p, n);
    *len = n;
    return copy;
}

/* The input as a link-layer harness takes it: one Ethernet frame (the corpus frames are
 * replayed as such), decoded as the engine does; when its ethertype is the parser's, the
 * payload goes to `frame` with the decoded packet as context, and check() runs. The same bytes
 * then go to `frame` directly as a payload with no packet (as in unit tests), 5 s later (past
 * reply timeouts, so expiry runs too), so inputs that are not valid Ethernet still reach the
 * parser. The engine-wide state is kept across the two calls and cleared between inputs; the
 * end-of-capture callback runs last, then check() again. */
static inline void fz_frame_twice(const uint8_t *data, size_t size, void (*check)(void))
{
    uint16_t ethertype = FZ_PROTO.ethertypes[0];
    fz_begin(1000000000ull);
    size_t n;
    const uint8_t *payload = fz_decode_frame(data, size, ethertype, &n);
    if (payload) {
        fz_p->frame(&ctx, state, ethertype, payload, n);
        check();
    }
    ctx.pkt = NULL;
    ctx.ts_ns += 5000000000ull;
    fz_p->frame(&ctx, state, ethertype, data, size);
    fz_end();
    check();
}

/* ---- Invariants ---------------------------------------------------------------------------- */

/* A transaction has a side and a name, and a time for each side it has. */
static inline bool fz_txn_ok(const struct qw_txn *t)
{
    return (t->has_request || t->has_response) && t->function_name &&
           t->has_request == (t->request_ns != 0) && t->has_response == (t->response_ns != 0);
}

/* The protocol object was written whole, as one JSON object (or cut off at the sink's cap). */
static inline bool fz_json_whole(const struct qw_rec_txn *r)
{
    return r->json_overflow || (r->json[0] == '{' && r->json[strlen(r->json) - 1] == '}');
}

/* Every anomaly is named in the parser's own namespace ("modbus."). */
static inline bool fz_anomalies_prefixed(const char *prefix)
{
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strncmp(rec.anomalies[i].name, prefix, strlen(prefix)) != 0) return false;
    return true;
}

/* Every identity fact has one of the attribute names in `attrs` (NULL-terminated). */
static inline bool fz_identities_in(const char *const *attrs)
{
    for (size_t i = 0; i < rec.nidentities; i++) {
        bool known = false;
        for (size_t k = 0; attrs[k]; k++)
            if (strcmp(rec.identities[i].attr, attrs[k]) == 0) known = true;
        if (!known) return false;
    }
    return true;
}

/* Every identity fact has an attribute name. */
static inline bool fz_identities_named(void)
{
    for (size_t i = 0; i < rec.nidentities; i++)
        if (!rec.identities[i].attr[0]) return false;
    return true;
}

/* Strict invariants (S7comm, S7comm-plus): well-formed transactions with a non-empty name,
 * functions up to function_max, only qw_op bits, an error only on an answered one, whole JSON
 * objects; anomalies under `prefix`; identity facts with a name and a value. */
static inline void fz_check_strict(const char *prefix, uint32_t function_max)
{
    const uint32_t known_ops = (1u << 15) - 1; /* the bits of enum qw_op */
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > function_max || !t->function_name[0]) abort();
        if (t->ops & ~known_ops) abort();
        if (t->error && !t->has_response) abort();
        if (!fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed(prefix)) abort();
    for (size_t i = 0; i < rec.nidentities; i++)
        if (!rec.identities[i].attr[0] || !rec.identities[i].value[0]) abort();
}

/* The invariants of the remote-access parsers (RDP, SSH, Telnet, VNC): at most one record per
 * connection, a "session" with the parser's function number, a JSON object unless cut off, and
 * identity facts with names. */
static inline void fz_check_session(uint32_t function)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        if (t->function != function || strcmp(t->function_name, "session") != 0) abort();
        if (rec.txns[i].json[0] != '{' && !rec.txns[i].json_overflow) abort();
    }
    if (rec.ntxns > 1) abort();
    if (!fz_identities_named()) abort();
}

/* The invariants of the name-service and address-assignment parsers (DNS, mDNS, LLMNR, NBNS,
 * DHCP, DHCPv6): well-formed transactions with functions up to function_max and only qw_op
 * bits, whole JSON objects, anomalies under `prefix`, identity facts from `attrs`. */
static inline void fz_check_records(const char *prefix, uint32_t function_max,
                                    const char *const *attrs)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > function_max) abort();
        if (t->ops >> 15) abort(); /* only the bits of enum qw_op */
        if (!fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed(prefix) || !fz_identities_in(attrs)) abort();
}

#endif
