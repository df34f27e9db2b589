/* NetBIOS Name Service parser (UDP 137).
 *
 * Specifications:
 *   [1001] RFC 1001 Protocol standard for a NetBIOS service on a TCP/UDP transport: concepts,
 *          s.14.1 the first-level encoding of names, s.15 name service (B, P, M nodes).
 *   [1002] RFC 1002 detailed specifications: s.4.1 first-level encoding (each of the 16 name
 *          octets, the 16th being the suffix, becomes two letters 'A' + high nibble, 'A' + low
 *          nibble: a 32-letter label, followed by the scope labels) and label compression as in
 *          DNS; s.4.2.1 the header; s.4.2.1.1 question (type NB 0x0020, NBSTAT 0x0021, class
 *          IN); s.4.2.1.3 resource records (types A, NS, NULL, NB, NBSTAT); s.4.2.2-4.2.9
 *          registration, release, refresh, name query requests; s.4.2.13-4.2.16 responses
 *          (positive, negative, redirect, WACK); s.4.2.17-4.2.18 node status request and
 *          response (NUM_NAMES, the name table with NAME_FLAGS, then the statistics whose first
 *          six octets are the unit id, usually the adapter's MAC address).
 *   Name suffixes (the 16th octet) follow Microsoft's usage ("NetBIOS suffixes", MS-NBTE):
 *   0x00 workstation / workgroup-domain (group), 0x20 file server, 0x1B domain master browser,
 *   0x1C domain controllers (group), 0x1D master browser, 0x1E browser elections (group).
 *
 * Header ([1002] s.4.2.1.1), big-endian: NAME_TRN_ID (2); flags (2): R(15) OPCODE(14-11)
 * AA(10) TC(9) RD(8) RA(7) 0 0 B(4) RCODE(3-0); QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT (2 each).
 * Opcodes: 0 query, 5 registration, 6 release, 7 WACK, 8 refresh (9 is the alternate refresh
 * code Windows sends; 15 the multi-homed registration of MS-NBTE).
 *
 * Transactions: one per request, paired with its response by NAME_TRN_ID (the response going
 * the other way) through a bounded queue. A broadcast request (B flag, or sent to a broadcast
 * MAC/address) is written at once: answers come unicast from the name owner, another flow. A
 * WACK is written on its own. A negative response (RCODE not 0) marks the transaction as an
 * error. A node status request asks a node who it is: operation `identify`.
 *
 * Identity, about the sender, when it speaks for itself:
 *   - a registration or refresh whose NB record's address is the sender's: unique names with
 *     suffix 0x00 or 0x20 give `netbios_name` and `hostname`; group names with suffix 0x00 or
 *     0x1E and the domain names 0x1B / 0x1C give `netbios_domain`;
 *   - a positive name query response whose NB address is the sender's (a WINS server answering
 *     for another host is not used): `netbios_name`, `hostname` for a unique 0x00 / 0x20 name;
 *   - a node status response (the node answers for itself): its name table, as above.
 *
 * Anomalies: `nbns.malformed` (detail), `nbns.compression_loop`, `nbns.request_queue_full`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/dns_wire.h"
#include "proto/proto.h"
#include "util/json.h"

#define NBNS_PORT 137           /* IANA "netbios-ns" */
#define NBNS_ENC_LEN 32         /* [1002] s.4.1: 16 octets, two letters each */
#define NBNS_NAME_LEN 16
#define NBNS_F_B 0x0010u        /* broadcast ([1002] s.4.2.1.1) */
#define NBNS_F_RESERVED 0x0060u /* the two zero bits of NM_FLAGS */
#define NBNS_T_A 0x0001u
#define NBNS_T_NS 0x0002u
#define NBNS_T_NULL 0x000Au
#define NBNS_T_NB 0x0020u
#define NBNS_T_NBSTAT 0x0021u
#define NBNS_C_IN 0x0001u
#define NBNS_G 0x8000u          /* NB_FLAGS / NAME_FLAGS group bit ([1002] s.4.2.1.3, 4.2.18) */
#define NBNS_ACT 0x0400u        /* NAME_FLAGS: active */
#define NBNS_OP_QUERY 0u
#define NBNS_OP_REGISTRATION 5u
#define NBNS_OP_RELEASE 6u
#define NBNS_OP_WACK 7u
#define NBNS_OP_REFRESH 8u
#define NBNS_OP_REFRESH_ALT 9u
#define NBNS_OP_MULTIHOMED 15u
#define NBNS_NODE_NAME_LEN 18   /* 16-octet name and NAME_FLAGS */
/* Name-table entries and NB addresses shown per record: a node registers a handful of names;
 * a group answer may list many member addresses. */
#define NBNS_TABLE_SHOWN 32
#define NBNS_ADDR_SHOWN 32

static const char *const nbns_opcodes[16] = {
    [NBNS_OP_QUERY] = "query",          [NBNS_OP_REGISTRATION] = "registration",
    [NBNS_OP_RELEASE] = "release",      [NBNS_OP_WACK] = "wack",
    [NBNS_OP_REFRESH] = "refresh",      [NBNS_OP_REFRESH_ALT] = "refresh",
    [NBNS_OP_MULTIHOMED] = "multihomed_registration",
};

/* [1002] s.4.2.6-4.2.8 negative response codes. */
static const char *const nbns_rcodes[8] = {
    [0] = "ok", [1] = "fmt_err", [2] = "srv_err", [3] = "nam_err",
    [4] = "imp_err", [5] = "rfs_err", [6] = "act_err", [7] = "cft_err",
};

static const char *nbns_type_name(uint16_t t)
{
    switch (t) {
    case NBNS_T_A: return "A";
    case NBNS_T_NS: return "NS";
    case NBNS_T_NULL: return "NULL";
    case NBNS_T_NB: return "NB";
    case NBNS_T_NBSTAT: return "NBSTAT";
    default: return "unknown";
    }
}

static const char *nbns_suffix_name(uint8_t s, bool group)
{
    switch (s) {
    case 0x00: return group ? "domain_name" : "workstation";
    case 0x03: return "messenger";
    case 0x06: return "ras_server";
    case 0x1B: return "domain_master_browser";
    case 0x1C: return "domain_controllers";
    case 0x1D: return "master_browser";
    case 0x1E: return "browser_elections";
    case 0x1F: return "netdde";
    case 0x20: return "file_server";
    case 0x21: return "ras_client";
    default: return NULL;
    }
}

/* ---- Names --------------------------------------------------------------------------------- */

struct nbns_name {
    char name[NBNS_NAME_LEN];  /* the 15 name octets, trailing spaces and NULs removed */
    size_t len;
    uint8_t suffix;
    const char *scope;         /* within `text`, after the first label; "" when none */
    size_t scope_len;
    char text[DNSW_NAME_TEXT_MAX];
};

/* Decode the 32 letters of a first-level encoded name ([1002] s.4.1). */
static bool nbns_decode_label(const char *enc, uint8_t out[NBNS_NAME_LEN])
{
    for (size_t i = 0; i < NBNS_NAME_LEN; i++) {
        char hi = enc[2 * i], lo = enc[2 * i + 1];
        if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P') return false;
        out[i] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
    }
    return true;
}

/* Read the name at *off; false (and *st set) when it is not a NetBIOS name. */
static bool nbns_read_name(const uint8_t *b, size_t len, size_t *off, struct nbns_name *n,
                           enum dnsw_status *st)
{
    size_t tl = 0;
    *st = dnsw_name(b, len, off, 0, n->text, &tl);
    if (*st != DNSW_OK) return false;
    if (tl < NBNS_ENC_LEN || (tl > NBNS_ENC_LEN && n->text[NBNS_ENC_LEN] != '.')) return false;
    uint8_t raw[NBNS_NAME_LEN];
    if (!nbns_decode_label(n->text, raw)) return false;
    n->suffix = raw[NBNS_NAME_LEN - 1];
    memcpy(n->name, raw, NBNS_NAME_LEN - 1);
    n->len = dnsw_trim(n->name, NBNS_NAME_LEN - 1);
    n->scope = tl > NBNS_ENC_LEN ? n->text + NBNS_ENC_LEN + 1 : "";
    n->scope_len = tl > NBNS_ENC_LEN ? tl - NBNS_ENC_LEN - 1 : 0;
    return true;
}

static void json_nb_name(struct qw_json *j, const struct nbns_name *n, bool group_known,
                         bool group)
{
    qw_json_strn(j, "name", n->name, n->len);
    qw_json_u64(j, "suffix", n->suffix);
    const char *sn = nbns_suffix_name(n->suffix, group_known && group);
    if (sn) qw_json_str(j, "suffix_name", sn);
    if (n->scope_len) qw_json_strn(j, "scope", n->scope, n->scope_len);
}

/* ---- Event record -------------------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void json_ip4(struct qw_json *j, const char *key, const uint8_t *p)
{
    struct qw_addr a;
    char s[46];
    qw_addr_from_v4(&a, p);
    qw_json_str(j, key, qw_addr_str(&a, s));
}

static void json_rdata(struct qw_json *j, const struct dnsw_msg *m, const struct dnsw_rr *rr)
{
    const uint8_t *p = m->b + rr->rdata_off;
    size_t l = rr->rdlen;
    if (rr->type == NBNS_T_NB && l % 6 == 0) {
        qw_json_arr_begin(j, "addresses");
        for (size_t i = 0; i + 6 <= l && i / 6 < NBNS_ADDR_SHOWN; i += 6) {
            uint16_t fl = rd16(p + i);
            qw_json_obj_begin(j, NULL);
            json_ip4(j, "address", p + i + 2);
            qw_json_bool(j, "group", (fl & NBNS_G) != 0);
            static const char *const ont[4] = {"b", "p", "m", "h"};
            qw_json_str(j, "node_type", ont[(fl >> 13) & 3u]);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        return;
    }
    if (rr->type == NBNS_T_NBSTAT && l >= 1 && l >= 1u + (size_t)p[0] * NBNS_NODE_NAME_LEN) {
        unsigned count = p[0];
        qw_json_u64(j, "num_names", count);
        qw_json_arr_begin(j, "names");
        for (unsigned i = 0; i < count && i < NBNS_TABLE_SHOWN; i++) {
            const uint8_t *e = p + 1 + (size_t)i * NBNS_NODE_NAME_LEN;
            uint16_t fl = rd16(e + NBNS_NAME_LEN);
            struct nbns_name nn;
            memcpy(nn.name, e, NBNS_NAME_LEN - 1);
            nn.len = dnsw_trim(nn.name, NBNS_NAME_LEN - 1);
            nn.suffix = e[NBNS_NAME_LEN - 1];
            nn.scope_len = 0;
            qw_json_obj_begin(j, NULL);
            json_nb_name(j, &nn, true, (fl & NBNS_G) != 0);
            qw_json_bool(j, "group", (fl & NBNS_G) != 0);
            qw_json_bool(j, "active", (fl & NBNS_ACT) != 0);
            qw_json_u64(j, "flags", fl);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        size_t stats = 1u + (size_t)count * NBNS_NODE_NAME_LEN;
        if (l - stats >= 6) {
            char mac[18];
            qw_json_str(j, "unit_id", qw_mac_str(p + stats, mac));
        }
        return;
    }
    if (rr->type == NBNS_T_A && l == 4) {
        json_ip4(j, "address", p);
        return;
    }
    qw_json_u64(j, "rdata_length", l);
    if (l) qw_json_hex(j, "rdata", p, l < DNSW_RDATA_HEX_MAX ? l : DNSW_RDATA_HEX_MAX);
}

static void json_section(struct qw_json *j, const char *key, const struct dnsw_msg *m,
                         uint8_t section)
{
    bool open = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section != section) continue;
        if (!open) qw_json_arr_begin(j, key);
        open = true;
        qw_json_obj_begin(j, NULL);
        struct nbns_name n;
        enum dnsw_status st;
        size_t off = rr->name_off;
        /* an NB record's flags say whether the name is a group name */
        bool group_known = rr->type == NBNS_T_NB && rr->rdlen >= 6;
        bool group = group_known && (rd16(m->b + rr->rdata_off) & NBNS_G) != 0;
        if (nbns_read_name(m->b, m->len, &off, &n, &st))
            json_nb_name(j, &n, group_known, group);
        else if (st == DNSW_OK)
            qw_json_str(j, "name", n.text); /* a plain DNS name (redirect records) */
        qw_json_u64(j, "type", rr->type);
        qw_json_str(j, "type_name", nbns_type_name(rr->type));
        qw_json_u64(j, "class", rr->klass);
        qw_json_u64(j, "ttl", rr->ttl);
        json_rdata(j, m, rr);
        qw_json_obj_end(j);
    }
    if (open) qw_json_arr_end(j);
}

static void nbns_json_side(struct qw_json *j, const char *key, const struct dnsw_msg *m)
{
    uint16_t f = m->h.flags;
    unsigned op = DNSW_OPCODE(f);
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", op);
    qw_json_str(j, "function_name", nbns_opcodes[op] ? nbns_opcodes[op] : "unknown");
    qw_json_u64(j, "id", m->h.id);
    qw_json_u64(j, "flags", f);
    qw_json_bool(j, "response", (f & DNSW_F_QR) != 0);
    qw_json_bool(j, "broadcast", (f & NBNS_F_B) != 0);
    qw_json_bool(j, "aa", (f & DNSW_F_AA) != 0);
    qw_json_bool(j, "tc", (f & DNSW_F_TC) != 0);
    qw_json_bool(j, "rd", (f & DNSW_F_RD) != 0);
    qw_json_bool(j, "ra", (f & DNSW_F_RA) != 0);
    if (f & DNSW_F_QR) {
        unsigned rc = DNSW_RCODE(f);
        qw_json_u64(j, "rcode", rc);
        qw_json_str(j, "rcode_name", rc < 8 && nbns_rcodes[rc] ? nbns_rcodes[rc] : "unknown");
    }
    if (m->nq) {
        qw_json_arr_begin(j, "questions");
        for (unsigned i = 0; i < m->nq; i++) {
            struct nbns_name n;
            enum dnsw_status st;
            size_t off = m->q[i].name_off;
            qw_json_obj_begin(j, NULL);
            if (nbns_read_name(m->b, m->len, &off, &n, &st)) json_nb_name(j, &n, false, false);
            qw_json_u64(j, "type", m->q[i].type);
            qw_json_str(j, "type_name", nbns_type_name(m->q[i].type));
            qw_json_u64(j, "class", m->q[i].klass);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    json_section(j, "answers", m, DNSW_SEC_ANSWER);
    json_section(j, "authorities", m, DNSW_SEC_AUTHORITY);
    json_section(j, "additionals", m, DNSW_SEC_ADDITIONAL);
    if (m->status != DNSW_OK) qw_json_str(j, "malformed", dnsw_status_text(m->status));
    qw_json_obj_end(j);
}

struct nbns_view {
    const struct dnsw_msg *req, *rsp;
};

static void nbns_write_json(struct qw_json *j, const void *arg)
{
    const struct nbns_view *v = arg;
    if (v->req) nbns_json_side(j, "request", v->req);
    if (v->rsp) nbns_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct nbns_state {
    struct dnsw_queue queue;
    struct dnsw_memo memo;
};

static bool nbns_asks_status(const struct dnsw_msg *m)
{
    return m->nq && m->q[0].type == NBNS_T_NBSTAT;
}

static void nbns_emit(struct qw_pctx *ctx, const struct dnsw_msg *req, uint64_t req_ns,
                      const struct dnsw_msg *rsp, uint64_t rsp_ns)
{
    const struct dnsw_msg *key = req ? req : rsp;
    struct nbns_view v = {req, rsp};
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = DNSW_OPCODE(key->h.flags);
    t.function_name = nbns_opcodes[t.function] ? nbns_opcodes[t.function] : "unknown";
    /* [1002] s.4.2.17: a node status request asks the node for its name table */
    if (nbns_asks_status(key) || (rsp && rsp->nrr && rsp->rr[0].type == NBNS_T_NBSTAT))
        t.ops = QW_OP_IDENTIFY;
    t.error = rsp && DNSW_RCODE(rsp->h.flags) != 0;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = nbns_write_json;
    t.arg = &v;
    qw_emit_txn(ctx, &t);
}

static void nbns_flush_slot(struct qw_pctx *ctx, struct nbns_state *st, struct dnsw_slot *s)
{
    struct dnsw_msg req;
    dnsw_slot_decode(s, &req);
    nbns_emit(ctx, &req, s->ts_ns, NULL, 0);
    dnsw_queue_release(&st->queue, s);
}

/* ---- Identity ------------------------------------------------------------------------------ */

static bool ip4_is(const struct qw_addr *a, const uint8_t *p)
{
    struct qw_addr x;
    qw_addr_from_v4(&x, p);
    return dnsw_addr_equal(a, &x);
}

/* The facts one name gives (see the banner). */
static void nbns_name_facts(struct qw_pctx *ctx, struct nbns_state *st, bool server,
                            const char *name, size_t len, uint8_t suffix, bool group)
{
    if (len == 0 || name[0] == '*') return; /* "*": the node-status wildcard */
    if (!group && (suffix == 0x00 || suffix == 0x20)) {
        dnsw_emit_identity_once(ctx, &st->memo, server, "netbios_name", name, len);
        dnsw_emit_identity_once(ctx, &st->memo, server, "hostname", name, len);
    } else if ((group && (suffix == 0x00 || suffix == 0x1E || suffix == 0x1C)) ||
               (!group && suffix == 0x1B)) {
        dnsw_emit_identity_once(ctx, &st->memo, server, "netbios_domain", name, len);
    }
}

/* NB records with the sender's address, in `section`, for the question's or record's name. */
static void nbns_nb_facts(struct qw_pctx *ctx, struct nbns_state *st, bool server,
                          const struct qw_addr *src, const struct dnsw_msg *m, uint8_t section)
{
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section != section || rr->type != NBNS_T_NB || rr->rdlen % 6) continue;
        struct nbns_name n;
        enum dnsw_status s;
        size_t off = rr->name_off;
        if (!nbns_read_name(m->b, m->len, &off, &n, &s)) continue;
        const uint8_t *p = m->b + rr->rdata_off;
        for (size_t k = 0; k + 6 <= rr->rdlen; k += 6) {
            if (!ip4_is(src, p + k + 2)) continue;
            nbns_name_facts(ctx, st, server, n.name, n.len, n.suffix,
                            (rd16(p + k) & NBNS_G) != 0);
            break;
        }
    }
}

static void nbns_identity(struct qw_pctx *ctx, struct nbns_state *st, enum qw_dir dir,
                          const struct dnsw_msg *m)
{
    const struct qw_addr *src = dnsw_pkt_src(ctx);
    if (!src || !qw_addr_is_v4(src) || dnsw_addr_is_unspecified(src)) return;
    bool server = dir == QW_DIR_TO_CLIENT; /* the sender's end */
    unsigned op = DNSW_OPCODE(m->h.flags);
    bool response = (m->h.flags & DNSW_F_QR) != 0;
    if (!response && (op == NBNS_OP_REGISTRATION || op == NBNS_OP_REFRESH ||
                      op == NBNS_OP_REFRESH_ALT || op == NBNS_OP_MULTIHOMED)) {
        nbns_nb_facts(ctx, st, server, src, m, DNSW_SEC_ADDITIONAL);
        return;
    }
    if (!response || op != NBNS_OP_QUERY || DNSW_RCODE(m->h.flags) != 0) return;
    nbns_nb_facts(ctx, st, server, src, m, DNSW_SEC_ANSWER);
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section != DNSW_SEC_ANSWER || rr->type != NBNS_T_NBSTAT || rr->rdlen < 1)
            continue;
        const uint8_t *p = m->b + rr->rdata_off;
        unsigned count = p[0];
        if (rr->rdlen < 1u + (size_t)count * NBNS_NODE_NAME_LEN) continue;
        for (unsigned k = 0; k < count; k++) {
            const uint8_t *e = p + 1 + (size_t)k * NBNS_NODE_NAME_LEN;
            char name[NBNS_NAME_LEN];
            memcpy(name, e, NBNS_NAME_LEN - 1);
            nbns_name_facts(ctx, st, server, name, dnsw_trim(name, NBNS_NAME_LEN - 1),
                            e[NBNS_NAME_LEN - 1], (rd16(e + NBNS_NAME_LEN) & NBNS_G) != 0);
        }
    }
}

/* ---- Messages ------------------------------------------------------------------------------ */

static void nbns_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct nbns_state *st = state;
    struct dnsw_msg m;
    if (!dnsw_decode_ex(data, len, &m, false)) {
        qw_emit_anomaly(ctx, "nbns.malformed", "shorter than the 12-byte header");
        return;
    }
    if (m.status == DNSW_LOOP)
        qw_emit_anomaly(ctx, "nbns.compression_loop", NULL);
    else if (m.status != DNSW_OK)
        qw_emit_anomaly(ctx, "nbns.malformed", dnsw_status_text(m.status));
    uint64_t now = qw_pctx_time(ctx);
    unsigned op = DNSW_OPCODE(m.h.flags);
    if (!(m.h.flags & DNSW_F_QR)) {
        if ((m.h.flags & NBNS_F_B) || dnsw_dst_is_group(ctx)) {
            nbns_emit(ctx, &m, now, NULL, 0);
        } else {
            for (size_t i = 0; i < DNSW_QUEUE_MAX; i++) {
                struct dnsw_slot *s = &st->queue.slot[i];
                if (s->used && s->dir == (uint8_t)dir && s->id == m.h.id)
                    nbns_flush_slot(ctx, st, s); /* a retransmission replaces it */
            }
            struct dnsw_slot *s = dnsw_queue_free_slot(&st->queue);
            if (!s) {
                if (!st->queue.full_reported)
                    qw_emit_anomaly(ctx, "nbns.request_queue_full", NULL);
                st->queue.full_reported = true;
                struct dnsw_slot *old = dnsw_queue_oldest(&st->queue);
                if (old) nbns_flush_slot(ctx, st, old);
                s = dnsw_queue_free_slot(&st->queue);
            }
            if (s) {
                dnsw_slot_store(s, &m, dir, now);
                s->used = true;
                st->queue.n++;
            }
        }
    } else {
        struct dnsw_slot *match = NULL;
        if (op != NBNS_OP_WACK)
            for (size_t i = 0; i < DNSW_QUEUE_MAX; i++) {
                struct dnsw_slot *s = &st->queue.slot[i];
                if (!s->used || s->dir == (uint8_t)dir || s->id != m.h.id) continue;
                if (!match || (int32_t)(s->seq - match->seq) < 0) match = s;
            }
        if (match) {
            struct dnsw_msg req;
            dnsw_slot_decode(match, &req);
            nbns_emit(ctx, &req, match->ts_ns, &m, now);
            dnsw_queue_release(&st->queue, match);
        } else {
            nbns_emit(ctx, NULL, 0, &m, now);
        }
    }
    nbns_identity(ctx, st, dir, &m);
}

static void nbns_flow_end(struct qw_pctx *ctx, void *state)
{
    struct nbns_state *st = state;
    struct dnsw_slot *s;
    while ((s = dnsw_queue_oldest(&st->queue)) != NULL) nbns_flush_slot(ctx, st, s);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* A known opcode, the two reserved flag bits clear, at most one question, a first name that is
 * a first-level encoded NetBIOS name with an NB/NBSTAT type (or, for records, the NULL/A/NS of
 * WACK and redirect responses) in class IN, and a message that parses to its last byte. */
static enum qw_probe_result nbns_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    struct dnsw_header h;
    if (!dnsw_header(data, len, &h)) return QW_PROBE_NO;
    unsigned op = DNSW_OPCODE(h.flags);
    if (!nbns_opcodes[op] || (h.flags & NBNS_F_RESERVED)) return QW_PROBE_NO;
    uint32_t rrs = (uint32_t)h.an + h.ns + h.ar;
    if (h.qd > 1 || h.qd + rrs == 0) return QW_PROBE_NO;
    if (!(h.flags & DNSW_F_QR) && h.qd != 1) return QW_PROBE_NO;
    struct dnsw_msg m;
    dnsw_decode_ex(data, len, &m, false);
    if (m.status != DNSW_OK || m.end != len) return QW_PROBE_NO;
    struct nbns_name n;
    enum dnsw_status st;
    size_t off = DNSW_HDR_LEN;
    if (!nbns_read_name(data, len, &off, &n, &st)) return QW_PROBE_NO;
    uint16_t type, klass;
    if (m.nq) {
        type = m.q[0].type;
        klass = m.q[0].klass;
        if (type != NBNS_T_NB && type != NBNS_T_NBSTAT) return QW_PROBE_NO;
    } else {
        if (!m.nrr) return QW_PROBE_NO;
        type = m.rr[0].type;
        klass = m.rr[0].klass;
        if (type != NBNS_T_NB && type != NBNS_T_NBSTAT && type != NBNS_T_NULL &&
            type != NBNS_T_A && type != NBNS_T_NS)
            return QW_PROBE_NO;
    }
    return klass == NBNS_C_IN ? QW_PROBE_MATCH : QW_PROBE_NO;
}

const struct qw_proto qw_proto_nbns = {
    .name = "nbns",
    .transports = QW_TRANSPORT_UDP,
    .ports = {NBNS_PORT, 0},
    .probe = nbns_probe,
    .state_size = sizeof(struct nbns_state),
    .datagram = nbns_datagram,
    .flow_end = nbns_flow_end,
};
