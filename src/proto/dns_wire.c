/* The DNS message format and helpers shared by the naming parsers: see dns_wire.h for the
 * specifications and the layouts. */
#include "proto/dns_wire.h"

#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "util/cursor.h"

/* ---- Names ---------------------------------------------------------------------------------- */

const char *dnsw_status_text(enum dnsw_status s)
{
    switch (s) {
    case DNSW_OK: return "ok";
    case DNSW_TRUNCATED: return "truncated";
    case DNSW_BAD_LABEL: return "extended label type";
    case DNSW_BAD_POINTER: return "compression pointer out of place";
    case DNSW_TOO_LONG: return "name longer than 255 octets";
    case DNSW_LOOP: return "compression loop";
    case DNSW_BAD_RDATA: return "rdata does not match its type";
    }
    return "unknown";
}

enum dnsw_status dnsw_name(const uint8_t *msg, size_t len, size_t *off, unsigned flags, char *out,
                           size_t *out_len)
{
    size_t pos = *off;
    size_t after = 0;    /* where the name ends in place, once a pointer was taken */
    bool jumped = false;
    size_t wire = 1;     /* octets of the expanded name: the root label counts one */
    size_t tl = 0;
    unsigned jumps = 0;
    size_t seen[DNSW_JUMPS_MAX];
    for (;;) {
        if (pos >= len) {
            /* A partial name (no root label) may end exactly with its buffer. */
            if ((flags & DNSW_NAME_PARTIAL_OK) && !jumped && pos == len) break;
            return DNSW_TRUNCATED;
        }
        uint8_t l = msg[pos];
        if ((l & 0xC0u) == 0xC0u) {
            if (flags & DNSW_NAME_NO_POINTERS) return DNSW_BAD_POINTER;
            if (len - pos < 2) return DNSW_TRUNCATED;
            size_t target = (size_t)(l & 0x3Fu) << 8 | msg[pos + 1];
            if (target >= len) return DNSW_BAD_POINTER;
            for (unsigned i = 0; i < jumps; i++)
                if (seen[i] == target) return DNSW_LOOP;
            if (jumps == DNSW_JUMPS_MAX) return DNSW_LOOP;
            seen[jumps++] = target;
            if (!jumped) after = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if (l & 0xC0u) return DNSW_BAD_LABEL;
        if (l == 0) {
            pos++;
            break;
        }
        wire += 1u + l;
        if (wire > DNSW_NAME_WIRE_MAX) return DNSW_TOO_LONG;
        if (len - pos - 1 < l) return DNSW_TRUNCATED;
        if (out) {
            if (tl) out[tl++] = '.';
            memcpy(out + tl, msg + pos + 1, l);
            tl += l;
        }
        pos += 1u + l;
    }
    if (out) out[tl] = '\0';
    if (out_len) *out_len = tl;
    *off = jumped ? after : pos;
    return DNSW_OK;
}

bool dnsw_header(const uint8_t *b, size_t len, struct dnsw_header *h)
{
    struct qw_cursor c = qw_cursor_make(b, len);
    h->id = qw_cur_be16(&c);
    h->flags = qw_cur_be16(&c);
    h->qd = qw_cur_be16(&c);
    h->an = qw_cur_be16(&c);
    h->ns = qw_cur_be16(&c);
    h->ar = qw_cur_be16(&c);
    return !c.err;
}

/* ---- RDATA layouts -------------------------------------------------------------------------- */

/* A name that must end exactly at `end` (it may point anywhere before, [1035] s.4.1.4). */
static bool rdata_name(const uint8_t *b, size_t len, size_t *pos, size_t end)
{
    size_t p = *pos;
    if (dnsw_name(b, len, &p, 0, NULL, NULL) != DNSW_OK || p > end) return false;
    *pos = p;
    return true;
}

/* Check the RDATA of the types we decode; unknown types are opaque and always fine. */
static bool rdata_ok(const uint8_t *b, size_t len, uint16_t type, size_t off, size_t n)
{
    size_t end = off + n, p = off;
    switch (type) {
    case DNSW_T_A: return n == 4;
    case DNSW_T_AAAA: return n == 16;
    case DNSW_T_NS:
    case DNSW_T_CNAME:
    case DNSW_T_PTR:
    case DNSW_T_DNAME: return rdata_name(b, len, &p, end) && p == end;
    case DNSW_T_MX:
        p += 2;
        return n >= 3 && rdata_name(b, len, &p, end) && p == end;
    case DNSW_T_SRV:
        p += 6;
        return n >= 7 && rdata_name(b, len, &p, end) && p == end;
    case DNSW_T_SOA:
        return rdata_name(b, len, &p, end) && rdata_name(b, len, &p, end) && end - p == 20;
    case DNSW_T_TXT:
        /* one or more <length><bytes> strings filling the RDATA ([1035] s.3.3.14) */
        if (n == 0) return false;
        while (p < end) {
            p += 1u + b[p];
            if (p > end) return false;
        }
        return true;
    case DNSW_T_OPT:
        /* {code(2), length(2), data} options filling the RDATA ([6891] s.6.1.2) */
        while (p < end) {
            if (end - p < 4) return false;
            size_t ol = (size_t)b[p + 2] << 8 | b[p + 3];
            p += 4;
            if (end - p < ol) return false;
            p += ol;
        }
        return true;
    default: return true;
    }
}

/* ---- Messages ------------------------------------------------------------------------------- */

bool dnsw_decode(const uint8_t *b, size_t len, struct dnsw_msg *m)
{
    return dnsw_decode_ex(b, len, m, true);
}

bool dnsw_decode_ex(const uint8_t *b, size_t len, struct dnsw_msg *m, bool check_rdata)
{
    if (len > 0xFFFFu) len = 0xFFFFu; /* offsets are 16-bit: no DNS message is longer */
    m->b = b;
    m->len = len;
    m->nq = m->nrr = 0;
    m->q_parsed = m->rr_parsed = 0;
    m->has_opt = m->edns_do = m->short_form = false;
    m->edns_udp_size = m->edns_options = 0;
    m->edns_ext_rcode = m->edns_version = 0;
    m->status = DNSW_OK;
    m->end = 0;
    if (!dnsw_header(b, len, &m->h)) {
        m->status = DNSW_TRUNCATED;
        return false;
    }
    size_t off = DNSW_HDR_LEN;
    m->end = off;
    for (uint32_t i = 0; i < m->h.qd; i++) {
        size_t name_off = off;
        enum dnsw_status st = dnsw_name(b, len, &off, 0, NULL, NULL);
        if (st == DNSW_OK && len - off < 4) st = DNSW_TRUNCATED;
        if (st != DNSW_OK) {
            m->status = st;
            return true;
        }
        struct qw_cursor c = qw_cursor_make(b + off, 4);
        uint16_t type = qw_cur_be16(&c), klass = qw_cur_be16(&c);
        off += 4;
        m->q_parsed++;
        m->end = off;
        if (m->nq < DNSW_Q_MAX) m->q[m->nq++] = (struct dnsw_q){(uint16_t)name_off, type, klass};
    }
    uint32_t total = (uint32_t)m->h.an + m->h.ns + m->h.ar;
    for (uint32_t i = 0; i < total; i++) {
        uint8_t section = i < m->h.an                    ? DNSW_SEC_ANSWER
                          : i < (uint32_t)m->h.an + m->h.ns ? DNSW_SEC_AUTHORITY
                                                          : DNSW_SEC_ADDITIONAL;
        size_t name_off = off;
        enum dnsw_status st = dnsw_name(b, len, &off, 0, NULL, NULL);
        if (st == DNSW_OK && len - off < 10) st = DNSW_TRUNCATED;
        if (st != DNSW_OK) {
            m->status = st;
            return true;
        }
        struct qw_cursor c = qw_cursor_make(b + off, 10);
        struct dnsw_rr rr = {0};
        rr.name_off = (uint16_t)name_off;
        rr.type = qw_cur_be16(&c);
        rr.klass = qw_cur_be16(&c);
        rr.ttl = qw_cur_be32(&c);
        rr.rdlen = qw_cur_be16(&c);
        rr.section = section;
        off += 10;
        if (len - off < rr.rdlen) {
            m->status = DNSW_TRUNCATED;
            return true;
        }
        rr.rdata_off = (uint16_t)off;
        rr.rdata_bad = check_rdata && !rdata_ok(b, len, rr.type, off, rr.rdlen);
        if (rr.rdata_bad && m->status == DNSW_OK) m->status = DNSW_BAD_RDATA;
        off += rr.rdlen;
        m->end = off;
        if (check_rdata && rr.type == DNSW_T_OPT && section == DNSW_SEC_ADDITIONAL &&
            !m->has_opt) {
            /* [6891] s.6.1.2-6.1.3: class = UDP payload size; TTL = extended RCODE (8 bits),
             * version (8), DO (1), Z (15). */
            m->has_opt = true;
            m->edns_udp_size = rr.klass;
            m->edns_ext_rcode = (uint8_t)(rr.ttl >> 24);
            m->edns_version = (uint8_t)(rr.ttl >> 16);
            m->edns_do = (rr.ttl & 0x8000u) != 0;
            if (!rr.rdata_bad)
                for (size_t p = rr.rdata_off; p + 4 <= (size_t)rr.rdata_off + rr.rdlen;
                     p += 4u + ((size_t)b[p + 2] << 8 | b[p + 3]))
                    m->edns_options++;
            continue;
        }
        m->rr_parsed++;
        if (m->nrr < DNSW_RR_MAX) m->rr[m->nrr++] = rr;
    }
    return true;
}

unsigned dnsw_rcode(const struct dnsw_msg *m)
{
    return (unsigned)m->edns_ext_rcode << 4 | DNSW_RCODE(m->h.flags);
}

/* ---- Code tables ---------------------------------------------------------------------------- */

struct dnsw_code_name {
    uint16_t code;
    const char *name;
};

/* IANA "Resource Record (RR) TYPEs": the types seen in practice. */
static const struct dnsw_code_name dnsw_types[] = {
    {1, "A"},        {2, "NS"},        {5, "CNAME"},    {6, "SOA"},      {10, "NULL"},
    {12, "PTR"},     {13, "HINFO"},    {15, "MX"},      {16, "TXT"},     {17, "RP"},
    {18, "AFSDB"},   {24, "SIG"},      {25, "KEY"},     {28, "AAAA"},    {29, "LOC"},
    {33, "SRV"},     {35, "NAPTR"},    {36, "KX"},      {37, "CERT"},    {39, "DNAME"},
    {41, "OPT"},     {42, "APL"},      {43, "DS"},      {44, "SSHFP"},   {45, "IPSECKEY"},
    {46, "RRSIG"},   {47, "NSEC"},     {48, "DNSKEY"},  {49, "DHCID"},   {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},  {53, "SMIMEA"},  {55, "HIP"},     {59, "CDS"},
    {60, "CDNSKEY"}, {61, "OPENPGPKEY"}, {62, "CSYNC"}, {63, "ZONEMD"},  {64, "SVCB"},
    {65, "HTTPS"},   {99, "SPF"},      {249, "TKEY"},   {250, "TSIG"},   {251, "IXFR"},
    {252, "AXFR"},   {253, "MAILB"},   {254, "MAILA"},  {255, "ANY"},    {256, "URI"},
    {257, "CAA"},    {32769, "DLV"},
};

const char *dnsw_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof dnsw_types / sizeof dnsw_types[0]; i++)
        if (dnsw_types[i].code == type) return dnsw_types[i].name;
    return NULL;
}

/* [1035] s.4.1.1, [2136] s.2.2, [8490] s.10.2, [6895] s.2.3 (16-23 need EDNS or TSIG). */
static const char *const dnsw_rcodes[] = {
    [0] = "noerror",   [1] = "formerr",  [2] = "servfail", [3] = "nxdomain", [4] = "notimp",
    [5] = "refused",   [6] = "yxdomain", [7] = "yxrrset",  [8] = "nxrrset",  [9] = "notauth",
    [10] = "notzone",  [11] = "dsotypeni", [16] = "badvers", [17] = "badkey", [18] = "badtime",
    [19] = "badmode",  [20] = "badname", [21] = "badalg",  [22] = "badtrunc", [23] = "badcookie",
};

const char *dnsw_rcode_name(unsigned rcode)
{
    const char *n = rcode < sizeof dnsw_rcodes / sizeof dnsw_rcodes[0] ? dnsw_rcodes[rcode] : NULL;
    return n ? n : "unknown";
}

static const char *const dnsw_opcodes[] = {
    [DNSW_OP_QUERY] = "query",   [DNSW_OP_IQUERY] = "iquery", [DNSW_OP_STATUS] = "status",
    [DNSW_OP_NOTIFY] = "notify", [DNSW_OP_UPDATE] = "update", [DNSW_OP_DSO] = "dso",
};

const char *dnsw_opcode_name(unsigned opcode)
{
    const char *n =
        opcode < sizeof dnsw_opcodes / sizeof dnsw_opcodes[0] ? dnsw_opcodes[opcode] : NULL;
    return n ? n : "unknown";
}

bool dnsw_name_equal(const uint8_t *b1, size_t len1, size_t off1, const uint8_t *b2, size_t len2,
                     size_t off2)
{
    char n1[DNSW_NAME_TEXT_MAX], n2[DNSW_NAME_TEXT_MAX];
    size_t l1 = 0, l2 = 0;
    if (dnsw_name(b1, len1, &off1, 0, n1, &l1) != DNSW_OK) return false;
    if (dnsw_name(b2, len2, &off2, 0, n2, &l2) != DNSW_OK) return false;
    if (l1 != l2) return false;
    for (size_t i = 0; i < l1; i++) {
        uint8_t a = (uint8_t)n1[i], c = (uint8_t)n2[i];
        if (a >= 'A' && a <= 'Z') a = (uint8_t)(a + 32);
        if (c >= 'A' && c <= 'Z') c = (uint8_t)(c + 32);
        if (a != c) return false;
    }
    return true;
}

/* ---- Event record --------------------------------------------------------------------------- */

static void json_name(struct qw_json *j, const char *key, const struct dnsw_msg *m, size_t off)
{
    char n[DNSW_NAME_TEXT_MAX];
    size_t l = 0;
    if (dnsw_name(m->b, m->len, &off, 0, n, &l) != DNSW_OK) {
        qw_json_null(j, key);
        return;
    }
    if (l == 0) qw_json_str(j, key, "."); /* the root */
    else qw_json_strn(j, key, n, l);
}

static void json_addr(struct qw_json *j, const char *key, const struct qw_addr *a)
{
    char s[46];
    qw_json_str(j, key, qw_addr_str(a, s));
}

static void json_rdata(struct qw_json *j, const struct dnsw_msg *m, const struct dnsw_rr *rr)
{
    const uint8_t *b = m->b;
    size_t off = rr->rdata_off;
    struct qw_addr a;
    if (rr->rdata_bad) {
        qw_json_bool(j, "rdata_malformed", true);
    } else {
        switch (rr->type) {
        case DNSW_T_A:
        case DNSW_T_AAAA:
            if (dnsw_rr_addr(m, rr, &a)) json_addr(j, "data", &a);
            return;
        case DNSW_T_NS:
        case DNSW_T_CNAME:
        case DNSW_T_PTR:
        case DNSW_T_DNAME: json_name(j, "data", m, off); return;
        case DNSW_T_MX:
            qw_json_u64(j, "preference", (uint64_t)b[off] << 8 | b[off + 1]);
            json_name(j, "data", m, off + 2);
            return;
        case DNSW_T_SRV: {
            struct qw_cursor c = qw_cursor_make(b + off, 6);
            qw_json_u64(j, "priority", qw_cur_be16(&c));
            qw_json_u64(j, "weight", qw_cur_be16(&c));
            qw_json_u64(j, "port", qw_cur_be16(&c));
            json_name(j, "data", m, off + 6);
            return;
        }
        case DNSW_T_SOA: {
            size_t p = off;
            json_name(j, "data", m, p);
            (void)dnsw_name(b, m->len, &p, 0, NULL, NULL);
            json_name(j, "rname", m, p);
            (void)dnsw_name(b, m->len, &p, 0, NULL, NULL);
            struct qw_cursor c = qw_cursor_make(b + p, (size_t)rr->rdata_off + rr->rdlen - p);
            qw_json_u64(j, "serial", qw_cur_be32(&c));
            qw_json_u64(j, "refresh", qw_cur_be32(&c));
            qw_json_u64(j, "retry", qw_cur_be32(&c));
            qw_json_u64(j, "expire", qw_cur_be32(&c));
            qw_json_u64(j, "minimum", qw_cur_be32(&c));
            return;
        }
        case DNSW_T_TXT: {
            size_t end = off + rr->rdlen, shown = 0, bytes = 0;
            bool cut = false;
            qw_json_arr_begin(j, "txt");
            for (size_t p = off; p < end; p += 1u + b[p]) {
                size_t n = b[p];
                if (shown == DNSW_TXT_STRINGS_MAX || bytes + n > DNSW_TXT_BYTES_MAX) {
                    cut = true;
                    break;
                }
                qw_json_strn(j, NULL, b + p + 1, n);
                shown++;
                bytes += n;
            }
            qw_json_arr_end(j);
            if (cut) qw_json_bool(j, "txt_truncated", true);
            return;
        }
        default: break;
        }
    }
    qw_json_u64(j, "rdata_length", rr->rdlen);
    size_t n = rr->rdlen < DNSW_RDATA_HEX_MAX ? rr->rdlen : DNSW_RDATA_HEX_MAX;
    if (n) qw_json_hex(j, "rdata", b + off, n);
    if (n < rr->rdlen) qw_json_bool(j, "rdata_truncated", true);
}

static void json_type(struct qw_json *j, uint16_t type)
{
    qw_json_u64(j, "type", type);
    const char *tn = dnsw_type_name(type);
    qw_json_str(j, "type_name", tn ? tn : "unknown");
}

static void json_section(struct qw_json *j, const char *key, const struct dnsw_msg *m,
                         uint8_t section, bool mdns)
{
    bool open = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section != section) continue;
        if (!open) qw_json_arr_begin(j, key);
        open = true;
        qw_json_obj_begin(j, NULL);
        json_name(j, "name", m, rr->name_off);
        json_type(j, rr->type);
        qw_json_u64(j, "class", mdns ? rr->klass & ~DNSW_C_MDNS_BIT : rr->klass);
        if (mdns && (rr->klass & DNSW_C_MDNS_BIT)) qw_json_bool(j, "cache_flush", true);
        qw_json_u64(j, "ttl", rr->ttl);
        json_rdata(j, m, rr);
        qw_json_obj_end(j);
    }
    if (open) qw_json_arr_end(j);
}

void dnsw_json_msg(struct qw_json *j, const char *key, const struct dnsw_msg *m,
                   enum dnsw_style style)
{
    uint16_t f = m->h.flags;
    unsigned op = DNSW_OPCODE(f);
    bool mdns = style == DNSW_STYLE_MDNS;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", op);
    qw_json_str(j, "function_name", dnsw_opcode_name(op));
    qw_json_u64(j, "id", m->h.id);
    qw_json_u64(j, "flags", f);
    qw_json_bool(j, "qr", (f & DNSW_F_QR) != 0);
    if (style == DNSW_STYLE_LLMNR) {
        /* RFC 4795 s.2.1.1: C (conflict) and T (tentative) sit where DNS has AA and RD */
        qw_json_bool(j, "conflict", (f & DNSW_F_AA) != 0);
        qw_json_bool(j, "tc", (f & DNSW_F_TC) != 0);
        qw_json_bool(j, "tentative", (f & DNSW_F_RD) != 0);
    } else {
        qw_json_bool(j, "aa", (f & DNSW_F_AA) != 0);
        qw_json_bool(j, "tc", (f & DNSW_F_TC) != 0);
        qw_json_bool(j, "rd", (f & DNSW_F_RD) != 0);
        qw_json_bool(j, "ra", (f & DNSW_F_RA) != 0);
        qw_json_bool(j, "ad", (f & DNSW_F_AD) != 0);
        qw_json_bool(j, "cd", (f & DNSW_F_CD) != 0);
        if (f & DNSW_F_Z) qw_json_bool(j, "z", true);
    }
    unsigned rc = dnsw_rcode(m);
    if ((f & DNSW_F_QR) || rc) {
        qw_json_u64(j, "rcode", rc);
        qw_json_str(j, "rcode_name", dnsw_rcode_name(rc));
    }
    qw_json_u64(j, "questions_count", m->h.qd);
    qw_json_u64(j, "answers_count", m->h.an);
    qw_json_u64(j, "authorities_count", m->h.ns);
    qw_json_u64(j, "additionals_count", m->h.ar);
    if (m->nq) {
        qw_json_arr_begin(j, "questions");
        for (unsigned i = 0; i < m->nq; i++) {
            const struct dnsw_q *q = &m->q[i];
            qw_json_obj_begin(j, NULL);
            json_name(j, "name", m, q->name_off);
            json_type(j, q->type);
            qw_json_u64(j, "class", mdns ? q->klass & ~DNSW_C_MDNS_BIT : q->klass);
            if (mdns && (q->klass & DNSW_C_MDNS_BIT)) qw_json_bool(j, "unicast_response", true);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    json_section(j, "answers", m, DNSW_SEC_ANSWER, mdns);
    json_section(j, "authorities", m, DNSW_SEC_AUTHORITY, mdns);
    json_section(j, "additionals", m, DNSW_SEC_ADDITIONAL, mdns);
    if (m->q_parsed > m->nq) qw_json_u64(j, "questions_omitted", m->q_parsed - m->nq);
    if (m->rr_parsed > m->nrr) qw_json_u64(j, "records_omitted", m->rr_parsed - m->nrr);
    if (m->has_opt) {
        qw_json_obj_begin(j, "edns");
        qw_json_u64(j, "udp_size", m->edns_udp_size);
        qw_json_u64(j, "version", m->edns_version);
        qw_json_bool(j, "do", m->edns_do);
        if (m->edns_options) qw_json_u64(j, "options", m->edns_options);
        qw_json_obj_end(j);
    }
    if (m->short_form) qw_json_bool(j, "records_not_kept", true);
    if (m->status != DNSW_OK && m->status != DNSW_BAD_RDATA) {
        qw_json_bool(j, "malformed", true);
        qw_json_str(j, "malformed_reason", dnsw_status_text(m->status));
    }
    qw_json_obj_end(j);
}

/* ---- Addresses ------------------------------------------------------------------------------ */

bool dnsw_rr_addr(const struct dnsw_msg *m, const struct dnsw_rr *rr, struct qw_addr *a)
{
    if (rr->rdata_bad) return false;
    if (rr->type == DNSW_T_A && rr->rdlen == 4) {
        qw_addr_from_v4(a, m->b + rr->rdata_off);
        return true;
    }
    if (rr->type == DNSW_T_AAAA && rr->rdlen == 16) {
        memcpy(a->b, m->b + rr->rdata_off, 16);
        return true;
    }
    return false;
}

static bool suffix_is(const char *name, size_t n, const char *suffix, size_t *stem)
{
    size_t sl = strlen(suffix);
    if (n < sl) return false;
    for (size_t i = 0; i < sl; i++) {
        char c = name[n - sl + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != suffix[i]) return false;
    }
    *stem = n - sl;
    return true;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool dnsw_reverse_addr(const char *name, size_t n, struct qw_addr *a)
{
    size_t stem;
    if (suffix_is(name, n, ".in-addr.arpa", &stem)) {
        /* four decimal labels, least significant first */
        uint8_t v4[4];
        size_t p = 0;
        for (int i = 3; i >= 0; i--) {
            unsigned v = 0, digits = 0;
            while (p < stem && name[p] != '.') {
                if (name[p] < '0' || name[p] > '9' || digits == 3) return false;
                v = v * 10 + (unsigned)(name[p] - '0');
                digits++;
                p++;
            }
            if (!digits || v > 255) return false;
            v4[i] = (uint8_t)v;
            if (i > 0) {
                if (p >= stem || name[p] != '.') return false;
                p++;
            }
        }
        if (p != stem) return false;
        qw_addr_from_v4(a, v4);
        return true;
    }
    if (suffix_is(name, n, ".ip6.arpa", &stem)) {
        /* 32 one-nibble labels, least significant first */
        if (stem != 63) return false;
        for (int i = 0; i < 32; i++) {
            int v = hex_nibble(name[2 * i]);
            if (v < 0 || (i < 31 && name[2 * i + 1] != '.')) return false;
            int byte = 15 - i / 2;
            if (i % 2 == 0) a->b[byte] = (uint8_t)v;
            else a->b[byte] = (uint8_t)(a->b[byte] | v << 4);
        }
        return true;
    }
    return false;
}

const struct qw_addr *dnsw_pkt_src(const struct qw_pctx *ctx)
{
    const struct qw_packet *p = qw_pctx_packet(ctx);
    return p && (p->l3 == QW_L3_IPV4 || p->l3 == QW_L3_IPV6) ? &p->src_ip : NULL;
}

const struct qw_addr *dnsw_pkt_dst(const struct qw_pctx *ctx)
{
    const struct qw_packet *p = qw_pctx_packet(ctx);
    return p && (p->l3 == QW_L3_IPV4 || p->l3 == QW_L3_IPV6) ? &p->dst_ip : NULL;
}

bool dnsw_dst_is_group(const struct qw_pctx *ctx)
{
    const struct qw_packet *p = qw_pctx_packet(ctx);
    if (!p) return false;
    if (p->has_mac && (p->dst_mac[0] & 1u)) return true; /* I/G bit: group address */
    const struct qw_addr *d = dnsw_pkt_dst(ctx);
    if (!d) return false;
    if (qw_addr_is_v4(d)) {
        const uint8_t *v4 = d->b + 12;
        if ((v4[0] & 0xF0u) == 0xE0u) return true; /* 224.0.0.0/4 */
        return v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255;
    }
    return d->b[0] == 0xFF; /* ff00::/8 */
}

bool dnsw_addr_is_unspecified(const struct qw_addr *a)
{
    static const struct qw_addr zero4 = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}};
    static const struct qw_addr zero6 = {{0}};
    return memcmp(a->b, zero4.b, 16) == 0 || memcmp(a->b, zero6.b, 16) == 0;
}

bool dnsw_addr_equal(const struct qw_addr *a, const struct qw_addr *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

/* ---- Identity memo -------------------------------------------------------------------------- */

/* FNV-1a: the memo only saves duplicate records, so a collision costs one missed repeat. */
static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

void dnsw_emit_identity_once(struct qw_pctx *ctx, struct dnsw_memo *memo, bool server,
                             const char *attr, const char *value, size_t len)
{
    if (!value || len == 0) return;
    uint32_t h = 2166136261u;
    uint8_t s = server ? 1 : 0;
    h = fnv1a(h, &s, 1);
    h = fnv1a(h, attr, strlen(attr) + 1);
    h = fnv1a(h, value, len);
    if (memo) {
        for (unsigned i = 0; i < memo->n; i++)
            if (memo->h[i] == h) return;
        memo->h[memo->next] = h;
        memo->next = (uint8_t)((memo->next + 1u) % DNSW_MEMO_MAX);
        if (memo->n < DNSW_MEMO_MAX) memo->n++;
    }
    qw_emit_identity(ctx, server, attr, value, len);
}

size_t dnsw_trim(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == '\0' || v[n - 1] == ' ')) n--;
    return n;
}

/* ---- Pairing queue -------------------------------------------------------------------------- */

struct dnsw_slot *dnsw_queue_oldest(struct dnsw_queue *q)
{
    struct dnsw_slot *best = NULL;
    for (size_t i = 0; i < DNSW_QUEUE_MAX; i++) {
        struct dnsw_slot *s = &q->slot[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

struct dnsw_slot *dnsw_queue_free_slot(struct dnsw_queue *q)
{
    for (size_t i = 0; i < DNSW_QUEUE_MAX; i++)
        if (!q->slot[i].used) {
            q->slot[i].seq = q->next_seq++;
            return &q->slot[i];
        }
    return NULL;
}

void dnsw_queue_release(struct dnsw_queue *q, struct dnsw_slot *s)
{
    if (!s->used) return;
    s->used = false;
    q->n--;
}

void dnsw_slot_store(struct dnsw_slot *s, const struct dnsw_msg *m, enum qw_dir dir, uint64_t ts)
{
    s->dir = (uint8_t)dir;
    s->id = m->h.id;
    s->ts_ns = ts;
    s->orig = m->h;
    s->has_opt = m->has_opt;
    s->edns_do = m->edns_do;
    s->edns_udp_size = m->edns_udp_size;
    s->edns_version = m->edns_version;
    if (m->len <= sizeof s->raw) {
        memcpy(s->raw, m->b, m->len);
        s->raw_len = (uint16_t)m->len;
        return;
    }
    /* Short form: the header and the first question, which always fit (a question is at most
     * a 255-octet name and 4 octets). Its name must lie in place: a compressed first name could
     * only point into the header. */
    size_t n = DNSW_HDR_LEN;
    if (m->nq) {
        size_t off = m->q[0].name_off;
        if (dnsw_name(m->b, m->len, &off, DNSW_NAME_NO_POINTERS, NULL, NULL) == DNSW_OK &&
            off + 4 <= m->len && off + 4 <= sizeof s->raw)
            n = off + 4;
    }
    memcpy(s->raw, m->b, n);
    /* counts now describe what was kept */
    s->raw[4] = 0;
    s->raw[5] = n > DNSW_HDR_LEN ? 1 : 0;
    memset(s->raw + 6, 0, 6);
    s->raw_len = (uint16_t)n;
}

void dnsw_slot_decode(const struct dnsw_slot *s, struct dnsw_msg *m)
{
    (void)dnsw_decode(s->raw, s->raw_len, m);
    if (m->h.qd != s->orig.qd || m->h.an != s->orig.an || m->h.ns != s->orig.ns ||
        m->h.ar != s->orig.ar) {
        m->short_form = true;
        m->h = s->orig;
        m->has_opt = s->has_opt;
        m->edns_do = s->edns_do;
        m->edns_udp_size = s->edns_udp_size;
        m->edns_version = s->edns_version;
    }
}
