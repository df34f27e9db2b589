/* DNS (unicast, UDP and TCP) parser, and the message handling shared with mDNS and LLMNR.
 *
 * Specifications:
 *   [1035] RFC 1035 s.4.1 message format, s.4.1.4 compression, s.4.2.1 UDP, s.4.2.2 TCP: each
 *          message is prefixed with a two-byte length field;
 *   [7766] RFC 7766 DNS transport over TCP: s.6.2.1 several queries may be pipelined on one
 *          connection and answered out of order, so responses pair by ID and question;
 *   [6891] RFC 6891 EDNS(0) OPT record; [2136] RFC 2136 UPDATE; [1996] RFC 1996 NOTIFY;
 *   [8490] RFC 8490 DSO. The wire format itself is read by dns_wire.c.
 *
 * TCP framing ([1035] s.4.2.2):
 *
 *   offset size meaning
 *   ------ ---- ----------------------------------------------------------------------
 *        0    2 length of the message that follows (big-endian)
 *        2    n the message, as over UDP
 *
 * One transaction per query: the query and its response pair by ID and first question (name
 * compared case-insensitively, type, class) through a bounded queue in the per-flow state; the
 * response must travel the other way. A query sent to a multicast or broadcast address is
 * written at once (its answers come from other addresses, hence other flows). Unanswered
 * queries are written when the flow ends, or when a retransmission (same ID and question, same
 * direction) replaces them. A response with RCODE other than NOERROR marks the transaction as
 * an error (NXDOMAIN, SERVFAIL, REFUSED...). UPDATE changes a zone's names: operation
 * `config`; other opcodes carry no operation bits.
 *
 * Identity: a DNS answer names an address, which is usually neither end of the flow (the client
 * asks about some third host). An A/AAAA answer whose address is one end of the flow, or a PTR
 * answer whose reverse name is one end's address, gives that end the fact `dns_name`. Facts
 * about third-party addresses need an engine call that does not exist yet (see the report). The
 * querier's own name is never known from its queries.
 *
 * Anomalies: `dns.malformed` (detail: what broke), `dns.compression_loop`,
 * `dns.request_queue_full` (once per flow). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/dns_wire.h"
#include "proto/proto.h"
#include "util/cursor.h"

#define DNS_PORT 53      /* IANA "domain" */
#define DNS_TCP_PREFIX 2 /* [1035] s.4.2.2 */

/* ---- Probe --------------------------------------------------------------------------------- */

/* Header flags and counts that a sender of `kind` can produce. */
static bool dnsf_header_ok(const struct dnsw_header *h, enum dnsf_kind kind)
{
    unsigned op = DNSW_OPCODE(h->flags), rc = DNSW_RCODE(h->flags);
    bool qr = (h->flags & DNSW_F_QR) != 0;
    uint32_t rrs = (uint32_t)h->an + h->ns + h->ar;
    switch (kind) {
    case DNSF_DNS:
        if (h->flags & DNSW_F_Z) return false; /* [1035] s.4.1.1: must be zero */
        if (op == 3 || op > DNSW_OP_DSO) return false;
        if (!qr && rc != 0) return false;
        switch (op) {
        case DNSW_OP_QUERY:
            /* a query asks one question and carries no answers; a response repeats it (or
             * drops it, e.g. some FORMERR answers and later messages of a zone transfer) */
            return qr ? h->qd <= 1 : h->qd == 1 && h->an == 0;
        case DNSW_OP_NOTIFY:
        case DNSW_OP_UPDATE: return h->qd == 1 || (qr && h->qd == 0); /* the zone section */
        case DNSW_OP_DSO: return h->qd == 0 && rrs == 0;              /* [8490] s.5.4 */
        default: return h->qd <= 1;
        }
    case DNSF_MDNS:
        /* RFC 6762 s.18.3 and s.18.11: opcode and rcode are zero in every mDNS message */
        if (op != 0 || rc != 0) return false;
        return qr ? rrs > 0 : h->qd > 0;
    case DNSF_LLMNR:
        /* RFC 4795 s.2.1.1: opcode 0, one question, Z bits zero; queries carry no records in
         * the answer and authority sections */
        if (op != 0 || (h->flags & 0x00F0u)) return false;
        if (h->qd != 1) return false;
        return qr || (rc == 0 && h->an == 0 && h->ns == 0);
    }
    return false;
}

static bool dnsf_question_ok(uint16_t type, uint16_t klass, enum dnsf_kind kind)
{
    if (type == 0) return false;
    if (kind == DNSF_MDNS) klass &= (uint16_t)~DNSW_C_MDNS_BIT;
    if (kind != DNSF_DNS) return klass == DNSW_C_IN || klass == DNSW_C_ANY;
    return klass == DNSW_C_IN || klass == DNSW_C_CH || klass == DNSW_C_HS ||
           klass == DNSW_C_NONE || klass == DNSW_C_ANY;
}

/* A NetBIOS name service question (RFC 1002 s.4.1: one 32-octet label of letters 'A'-'P', type
 * NB 0x20 or NBSTAT 0x21) is valid DNS too; it belongs to the nbns parser. */
static bool dnsf_looks_netbios(const uint8_t *b, size_t len, const struct dnsw_q *q)
{
    if (q->type != 0x20 && q->type != 0x21) return false;
    size_t o = q->name_off;
    if (len - o < 33 || b[o] != 32) return false;
    for (size_t i = 1; i <= 32; i++)
        if (b[o + i] < 'A' || b[o + i] > 'P') return false;
    return true;
}

/* Smallest message with these counts: a question is at least a root name and 4 octets, a
 * record a root name and 10 octets. */
static bool dnsf_counts_fit(const struct dnsw_header *h, size_t len)
{
    uint64_t min = DNSW_HDR_LEN + 5ull * h->qd + 11ull * ((uint64_t)h->an + h->ns + h->ar);
    return min <= len;
}

enum qw_probe_result dnsf_probe_message(const uint8_t *b, size_t len, enum dnsf_kind kind)
{
    struct dnsw_header h;
    if (!dnsw_header(b, len, &h)) return QW_PROBE_NO; /* a datagram is whole */
    if (!dnsf_header_ok(&h, kind) || !dnsf_counts_fit(&h, len)) return QW_PROBE_NO;
    struct dnsw_msg m;
    dnsw_decode(b, len, &m);
    if (m.status != DNSW_OK || m.end != len) return QW_PROBE_NO;
    for (unsigned i = 0; i < m.nq; i++)
        if (!dnsf_question_ok(m.q[i].type, m.q[i].klass, kind)) return QW_PROBE_NO;
    if (m.nq && dnsf_looks_netbios(b, len, &m.q[0])) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

/* DNS over TCP: a length prefix, then a message. Once the whole message is there it must pass
 * the full check; before that, the header and the first question must (large zone transfers
 * would otherwise exceed the engine's probe budget). */
static enum qw_probe_result dns_probe_tcp(const uint8_t *b, size_t len)
{
    struct qw_cursor c = qw_cursor_make(b, len);
    uint16_t mlen = qw_cur_be16(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (mlen < DNSW_HDR_LEN) return QW_PROBE_NO;
    size_t have = len - DNS_TCP_PREFIX;
    if (have >= mlen) return dnsf_probe_message(b + DNS_TCP_PREFIX, mlen, DNSF_DNS);
    struct dnsw_header h;
    if (!dnsw_header(b + DNS_TCP_PREFIX, have, &h)) return QW_PROBE_NEED_MORE;
    if (!dnsf_header_ok(&h, DNSF_DNS) || !dnsf_counts_fit(&h, mlen)) return QW_PROBE_NO;
    if (h.qd == 0) return QW_PROBE_NEED_MORE;
    size_t off = DNSW_HDR_LEN;
    const uint8_t *msg = b + DNS_TCP_PREFIX;
    enum dnsw_status st = dnsw_name(msg, have, &off, 0, NULL, NULL);
    if (st == DNSW_TRUNCATED || (st == DNSW_OK && have - off < 4)) return QW_PROBE_NEED_MORE;
    if (st != DNSW_OK) return QW_PROBE_NO;
    struct dnsw_q q = {DNSW_HDR_LEN, (uint16_t)(msg[off] << 8 | msg[off + 1]),
                       (uint16_t)(msg[off + 2] << 8 | msg[off + 3])};
    if (!dnsf_question_ok(q.type, q.klass, DNSF_DNS) || dnsf_looks_netbios(msg, have, &q))
        return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

/* The probe sees the first bytes of either transport: a UDP payload is one whole message, a
 * TCP stream starts with the length prefix. Either reading may match. */
static enum qw_probe_result dns_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    if (dnsf_probe_message(data, len, DNSF_DNS) == QW_PROBE_MATCH) return QW_PROBE_MATCH;
    return dns_probe_tcp(data, len);
}

/* ---- Transactions -------------------------------------------------------------------------- */

struct dnsf_view {
    const struct dnsw_msg *req, *rsp;
    enum dnsw_style style;
};

static void dnsf_write_json(struct qw_json *j, const void *arg)
{
    const struct dnsf_view *v = arg;
    if (v->req) dnsw_json_msg(j, "request", v->req, v->style);
    if (v->rsp) dnsw_json_msg(j, "response", v->rsp, v->style);
}

static void dnsf_emit(struct qw_pctx *ctx, const struct dnsf_proto *p, const struct dnsw_msg *req,
                      uint64_t req_ns, const struct dnsw_msg *rsp, uint64_t rsp_ns)
{
    const struct dnsw_msg *key = req ? req : rsp;
    struct dnsf_view v = {req, rsp, p->style};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = DNSW_OPCODE(key->h.flags);
    t.function_name = dnsw_opcode_name(t.function);
    /* [2136]: an UPDATE adds or deletes names in a zone */
    t.ops = t.function == DNSW_OP_UPDATE ? QW_OP_CONFIG : 0;
    t.error = rsp && dnsw_rcode(rsp) != 0;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = dnsf_write_json;
    t.arg = &v;
    qw_emit_txn(ctx, &t);
}

static void dnsf_flush_slot(struct qw_pctx *ctx, struct dnsf_state *st,
                            const struct dnsf_proto *p, struct dnsw_slot *s)
{
    struct dnsw_msg req;
    dnsw_slot_decode(s, &req);
    dnsf_emit(ctx, p, &req, s->ts_ns, NULL, 0);
    dnsw_queue_release(&st->queue, s);
}

void dnsf_flush(struct qw_pctx *ctx, struct dnsf_state *st, const struct dnsf_proto *p)
{
    struct dnsw_slot *s;
    while ((s = dnsw_queue_oldest(&st->queue)) != NULL) dnsf_flush_slot(ctx, st, p, s);
}

/* The first question of a stored query (always at the header's end), or false. */
static bool slot_question(const struct dnsw_slot *s, uint16_t *type, uint16_t *klass)
{
    if (s->orig.qd == 0) return false;
    size_t off = DNSW_HDR_LEN;
    if (dnsw_name(s->raw, s->raw_len, &off, 0, NULL, NULL) != DNSW_OK || s->raw_len - off < 4)
        return false;
    *type = (uint16_t)(s->raw[off] << 8 | s->raw[off + 1]);
    *klass = (uint16_t)(s->raw[off + 2] << 8 | s->raw[off + 3]);
    return true;
}

/* Does stored query s ask the first question of m? Two messages without questions match. */
static bool slot_same_question(const struct dnsw_slot *s, const struct dnsw_msg *m,
                               enum dnsw_style style)
{
    uint16_t type, klass;
    bool has = slot_question(s, &type, &klass);
    if (!has || m->nq == 0) return !has && m->nq == 0;
    uint16_t mask = style == DNSW_STYLE_MDNS ? (uint16_t)~DNSW_C_MDNS_BIT : 0xFFFFu;
    return type == m->q[0].type && (klass & mask) == (m->q[0].klass & mask) &&
           dnsw_name_equal(s->raw, s->raw_len, DNSW_HDR_LEN, m->b, m->len, m->q[0].name_off);
}

static void dnsf_on_query(struct qw_pctx *ctx, struct dnsf_state *st, const struct dnsf_proto *p,
                          enum qw_dir dir, const struct dnsw_msg *m)
{
    uint64_t now = qw_pctx_time(ctx);
    if (dnsw_dst_is_group(ctx)) {
        dnsf_emit(ctx, p, m, now, NULL, 0);
        return;
    }
    /* A retransmission replaces the earlier copy, which is reported unanswered. */
    for (size_t i = 0; i < DNSW_QUEUE_MAX; i++) {
        struct dnsw_slot *s = &st->queue.slot[i];
        if (s->used && s->dir == (uint8_t)dir && s->id == m->h.id &&
            slot_same_question(s, m, p->style))
            dnsf_flush_slot(ctx, st, p, s);
    }
    struct dnsw_slot *s = dnsw_queue_free_slot(&st->queue);
    if (!s) {
        if (!st->queue.full_reported) qw_emit_anomaly(ctx, p->anomaly_queue_full, NULL);
        st->queue.full_reported = true;
        struct dnsw_slot *old = dnsw_queue_oldest(&st->queue);
        if (old) dnsf_flush_slot(ctx, st, p, old);
        s = dnsw_queue_free_slot(&st->queue);
        if (!s) return; /* unreachable: a slot was just freed */
    }
    dnsw_slot_store(s, m, dir, now);
    s->used = true;
    st->queue.n++;
}

static void dnsf_on_response(struct qw_pctx *ctx, struct dnsf_state *st,
                             const struct dnsf_proto *p, enum qw_dir dir,
                             const struct dnsw_msg *m)
{
    struct dnsw_slot *match = NULL;
    for (size_t i = 0; i < DNSW_QUEUE_MAX; i++) {
        struct dnsw_slot *s = &st->queue.slot[i];
        if (!s->used || s->dir == (uint8_t)dir || s->id != m->h.id) continue;
        if (m->nq && !slot_same_question(s, m, p->style)) continue;
        if (!match || (int32_t)(s->seq - match->seq) < 0) match = s;
    }
    if (match) {
        struct dnsw_msg req;
        dnsw_slot_decode(match, &req);
        dnsf_emit(ctx, p, &req, match->ts_ns, m, qw_pctx_time(ctx));
        dnsw_queue_release(&st->queue, match);
    } else {
        dnsf_emit(ctx, p, NULL, 0, m, qw_pctx_time(ctx));
    }
    if (p->identity) p->identity(ctx, st, dir, m);
}

void dnsf_message(struct qw_pctx *ctx, struct dnsf_state *st, const struct dnsf_proto *p,
                  enum qw_dir dir, const uint8_t *b, size_t len)
{
    struct dnsw_msg m;
    if (!dnsw_decode(b, len, &m)) {
        qw_emit_anomaly(ctx, p->anomaly_malformed, "shorter than the 12-byte header");
        return;
    }
    if (m.status == DNSW_LOOP)
        qw_emit_anomaly(ctx, p->anomaly_loop, NULL);
    else if (m.status != DNSW_OK)
        qw_emit_anomaly(ctx, p->anomaly_malformed, dnsw_status_text(m.status));
    else if (m.end < len)
        qw_emit_anomaly(ctx, p->anomaly_malformed, "bytes after the last record");
    if (m.h.flags & DNSW_F_QR)
        dnsf_on_response(ctx, st, p, dir, &m);
    else
        dnsf_on_query(ctx, st, p, dir, &m);
}

/* ---- DNS identity -------------------------------------------------------------------------- */

/* `dns_name` for an end of the flow that an answer names (see the banner). */
static void dns_identity(struct qw_pctx *ctx, struct dnsf_state *st, enum qw_dir dir,
                         const struct dnsw_msg *m)
{
    const struct qw_addr *src = dnsw_pkt_src(ctx), *dst = dnsw_pkt_dst(ctx);
    if (!src || !dst) return;
    bool src_is_server = dir == QW_DIR_TO_CLIENT;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section != DNSW_SEC_ANSWER) continue;
        char owner[DNSW_NAME_TEXT_MAX], target[DNSW_NAME_TEXT_MAX];
        size_t ol = 0, tl = 0, off = rr->name_off;
        struct qw_addr a;
        if (dnsw_name(m->b, m->len, &off, 0, owner, &ol) != DNSW_OK) continue;
        const char *name = owner;
        size_t nl = ol;
        if (rr->type == DNSW_T_A || rr->type == DNSW_T_AAAA) {
            if (!dnsw_rr_addr(m, rr, &a)) continue;
        } else if (rr->type == DNSW_T_PTR && !rr->rdata_bad) {
            size_t t = rr->rdata_off;
            if (!dnsw_reverse_addr(owner, ol, &a) ||
                dnsw_name(m->b, m->len, &t, 0, target, &tl) != DNSW_OK)
                continue;
            name = target;
            nl = tl;
        } else {
            continue;
        }
        if (dnsw_addr_equal(&a, src))
            dnsw_emit_identity_once(ctx, &st->memo, src_is_server, "dns_name", name, nl);
        else if (dnsw_addr_equal(&a, dst))
            dnsw_emit_identity_once(ctx, &st->memo, !src_is_server, "dns_name", name, nl);
    }
}

static const struct dnsf_proto dns_family = {
    .kind = DNSF_DNS,
    .style = DNSW_STYLE_DNS,
    .anomaly_malformed = "dns.malformed",
    .anomaly_loop = "dns.compression_loop",
    .anomaly_queue_full = "dns.request_queue_full",
    .identity = dns_identity,
};

/* ---- Framing ------------------------------------------------------------------------------- */

/* After a gap: the first offset where a length prefix introduces a plausible message. WAIT
 * (false) means the bytes from *skip on might start one: keep them and look again later. */
static bool dns_resync(const uint8_t *b, size_t n, size_t *skip)
{
    size_t i = 0;
    for (; i < n; i++) {
        enum qw_probe_result r = dns_probe_tcp(b + i, n - i);
        if (r == QW_PROBE_MATCH) {
            *skip = i;
            return true;
        }
        if (r == QW_PROBE_NEED_MORE) break;
    }
    *skip = i;
    return false;
}

static size_t dns_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct dnsf_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            size_t skip = 0;
            bool found = dns_resync(data + off, len - off, &skip);
            off += skip;
            if (!found) return off;
            st->resync[d] = false;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        uint16_t mlen = qw_cur_be16(&c);
        if (c.err) return off;
        if (mlen < DNSW_HDR_LEN) {
            qw_emit_anomaly(ctx, dns_family.anomaly_malformed, "TCP length below the header size");
            st->resync[d] = true;
            off += 1;
            continue;
        }
        if (len - off - DNS_TCP_PREFIX < mlen) return off; /* the rest is still to come */
        dnsf_message(ctx, st, &dns_family, dir, data + off + DNS_TCP_PREFIX, mlen);
        off += DNS_TCP_PREFIX + (size_t)mlen;
    }
    return off;
}

static void dns_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    dnsf_message(ctx, state, &dns_family, dir, data, len);
}

static void dns_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct dnsf_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void dns_flow_end(struct qw_pctx *ctx, void *state)
{
    dnsf_flush(ctx, state, &dns_family);
}

const struct qw_proto qw_proto_dns = {
    .name = "dns",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {DNS_PORT, 0},
    .probe = dns_probe,
    .state_size = sizeof(struct dnsf_state),
    .parse = dns_parse,
    .datagram = dns_datagram,
    .gap = dns_gap,
    .flow_end = dns_flow_end,
};
