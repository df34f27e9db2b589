/* IEC 61850 GOOSE (Generic Object Oriented Substation Event) link-layer parser.
 *
 * Specifications:
 *   [8-1]  IEC 61850-8-1:2011 (Ed. 2), Specific communication service mapping to MMS and
 *          ISO/IEC 8802-3: Annex A (A.3 the Ethertype PDU header: APPID, Length, Reserved 1 with
 *          the Simulate bit, Reserved 2), clause 18.1 and the IECGoosePdu / GSEMngtPdu ASN.1
 *          (Annex A), clause 8.1.3 (the MMS Data encoding of allData; UtcTime in 8.1.3.7).
 *   [7-2]  IEC 61850-7-2:2010, clause 18 (GOOSE control block): stNum counts state changes,
 *          sqNum counts the retransmissions of one state and restarts on each change; a
 *          subscriber treats a message as lost once TimeAllowedtoLive has passed.
 *   [X690] ITU-T X.690 (BER), read through src/util/ber.h.
 *
 * Frame after the Ethertype 0x88B8 ([8-1] A.3):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 APPID
 *        2    2 Length: octets from APPID to the end of the APDU (8 + APDU length)
 *        4    2 Reserved 1: bit 15 = Simulate (Ed. 2), the rest reserved (IEC 62351-6 uses it)
 *        6    2 Reserved 2 (IEC 62351-6: CRC of the header)
 *        8    n APDU: goosePdu [APPLICATION 1] (0x61) or gseMngtPdu [APPLICATION 0] (0x60)
 *
 * goosePdu members, all context-specific: [0] gocbRef, [1] timeAllowedtoLive (ms), [2] datSet,
 * [3] goID (optional), [4] t (UtcTime), [5] stNum, [6] sqNum, [7] simulation/test, [8] confRev,
 * [9] ndsCom, [10] numDatSetEntries, [11] allData (SEQUENCE OF Data), [12] security (optional).
 *
 * GOOSE repeats the current state continuously (fast at first after a change, then every few
 * seconds), so one record per frame would drown the event log. Records are emitted per GOOSE
 * control block (gocbRef): on first sight, on every stNum change, and when confRev changes
 * without a stNum change (a reconfigured publisher). Frames in between are counted: each record
 * says how many frames of the block were accepted in all (`frames`) and since the previous
 * record (`retransmissions`). The last stNum/sqNum per gocbRef lives in a bounded table in the
 * engine-wide state (link-layer parsers have one state per engine, proto.h).
 *
 * Anomalies ([7-2] clause 18 semantics): stNum going backwards (replay or spoofing; a publisher
 * restart also does it), sqNum restarting without a stNum change, the same gocbRef from another
 * source MAC, a gap between two frames longer than the previous frame's timeAllowedtoLive, and
 * frames with simulation/test set (raised on the frames that make a record). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/proto.h"
#include "util/ber.h"
#include "util/cursor.h"
#include "util/json.h"
#include "util/timefmt.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define GS_ETHERTYPE 0x88B8u /* IEEE-registered GOOSE Ethertype ([8-1] A.3) */
#define GS_HDR_LEN 8         /* APPID + Length + Reserved 1 + Reserved 2 */
#define GS_SIMULATE_BIT 0x8000u /* Reserved 1, bit 15 ([8-1] Ed. 2 A.3) */
#define GS_TAG_MNGT 0        /* gseMngtPdu [APPLICATION 0] */
#define GS_TAG_GOOSE 1       /* goosePdu [APPLICATION 1] */
#define GS_UTC_LEN 8         /* UtcTime: seconds(4) fraction(3) quality(1), [8-1] 8.1.3.7 */

/* GOOSE control blocks tracked per engine. A substation bus carries tens to a few hundred
 * control blocks; past this the least recently seen one is forgotten (its next frame counts as a
 * first sight again). Each entry holds a full ObjectReference, so the table is about 45 KiB:
 * one per engine, not per flow. */
#define GS_TABLE_MAX 256
/* ObjectReference is VisibleString129 ([7-2] Ed. 2, 5.5.3); longer references are kept cut. */
#define GS_REF_MAX 129
/* allData entries described in a record; the count is always exact. */
#define GS_ENTRIES_MAX 32
/* String and octet values shown per allData entry. */
#define GS_VALUE_STR_MAX 64
#define GS_VALUE_HEX_MAX 32
/* A wrapping stNum/sqNum (both are INT32U) is not "going backwards": a drop from the top
 * quarter of the range into the bottom quarter is read as a wrap. */
#define GS_WRAP_HIGH 0xC0000000u
#define GS_WRAP_LOW 0x40000000u

/* ---- Protocol fact tables ------------------------------------------------------------------ */

/* MMS Data CHOICE tags used in allData ([8-1] 8.1.3 and the Data type of ISO 9506-2). */
static const char *const gs_data_types[] = {
    [1] = "array",         [2] = "structure",     [3] = "boolean",        [4] = "bit_string",
    [5] = "integer",       [6] = "unsigned",      [7] = "floating_point", [8] = "real",
    [9] = "octet_string",  [10] = "visible_string", [11] = "generalized_time",
    [12] = "binary_time",  [13] = "bcd",          [14] = "boolean_array", [15] = "obj_id",
    [16] = "mms_string",   [17] = "utc_time",
};

static const char *gs_data_type_name(uint32_t tag)
{
    const char *n = NULL;
    if (tag < sizeof gs_data_types / sizeof gs_data_types[0]) n = gs_data_types[tag];
    return n ? n : "unknown";
}

/* ---- Decoded PDU --------------------------------------------------------------------------- */

enum gs_field {
    GS_F_GOCBREF = 1u << 0,
    GS_F_TAL = 1u << 1,
    GS_F_DATSET = 1u << 2,
    GS_F_GOID = 1u << 3,
    GS_F_T = 1u << 4,
    GS_F_STNUM = 1u << 5,
    GS_F_SQNUM = 1u << 6,
    GS_F_SIM = 1u << 7,
    GS_F_CONFREV = 1u << 8,
    GS_F_NDSCOM = 1u << 9,
    GS_F_NUMENTRIES = 1u << 10,
    GS_F_ALLDATA = 1u << 11,
    GS_F_SECURITY = 1u << 12,
};

/* The members the standard makes mandatory (goID and security are OPTIONAL; simulation and
 * ndsCom have DEFAULT FALSE). */
#define GS_MANDATORY (GS_F_GOCBREF | GS_F_TAL | GS_F_DATSET | GS_F_T | GS_F_STNUM | GS_F_SQNUM | \
                      GS_F_CONFREV | GS_F_NUMENTRIES | GS_F_ALLDATA)

enum gs_value_kind { GS_V_NONE, GS_V_BOOL, GS_V_INT, GS_V_UINT, GS_V_DOUBLE, GS_V_STR,
                     GS_V_HEX, GS_V_TIME, GS_V_COUNT };

struct gs_entry_val {
    uint8_t tag;
    uint8_t kind; /* gs_value_kind */
    uint8_t bits_unused; /* bit-string padding */
    bool value_cut;      /* string or hex shown in part */
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double d;
        uint64_t ns; /* utc-time */
        uint32_t count; /* members of an array or structure */
    } v;
    const uint8_t *p; /* string/hex bytes, in the frame */
    uint16_t plen;
};

struct gs_pdu {
    uint16_t appid, length, reserved1, reserved2;
    uint8_t apdu_tag;  /* GS_TAG_GOOSE or GS_TAG_MNGT */
    uint32_t fields;   /* gs_field bits */
    bool truncated;    /* the frame ended before the APDU did */
    const uint8_t *gocb_ref, *dat_set, *go_id;
    uint16_t gocb_ref_len, dat_set_len, go_id_len;
    uint32_t tal_ms, st_num, sq_num, conf_rev, num_entries;
    bool simulation, nds_com;
    uint64_t t_ns;
    uint8_t t_quality;
    uint32_t ndata; /* allData entries present */
    uint8_t nlisted;
    bool data_cut;  /* allData ended inside an entry */
    struct gs_entry_val data[GS_ENTRIES_MAX];
};

/* ---- Engine-wide state --------------------------------------------------------------------- */

struct gs_cb {
    bool used;
    bool has_mac;
    bool simulation;
    uint8_t ref_len;
    uint32_t hash;  /* of the reference: a quick filter before the compare */
    uint32_t st_num, sq_num, conf_rev, tal_ms;
    uint8_t mac[6];
    uint64_t last_ns;
    uint64_t frames;          /* accepted since the block entered the table */
    uint64_t since_record;    /* frames since the last record */
    uint64_t duplicates;      /* of those, repeats of the same stNum and sqNum */
    char ref[GS_REF_MAX + 1]; /* NUL-terminated, for anomaly details */
};

struct gs_state {
    struct gs_cb cbs[GS_TABLE_MAX];
    struct gs_pdu pdu;   /* scratch for the frame being parsed */
    struct gs_view {
        const struct gs_pdu *pdu;
        const char *event;
        const struct gs_cb *cb;  /* NULL for GSE management */
        uint64_t retransmissions, duplicates;
        bool has_prev;
        uint32_t prev_st_num;
    } view;
};

/* FNV-1a: only a filter in front of memcmp over a fixed-size table, so an attacker who makes
 * hashes collide gains nothing but the compares the scan does anyway. */
static uint32_t gs_hash(const uint8_t *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

/* ---- Decoding ------------------------------------------------------------------------------ */

/* UtcTime ([8-1] 8.1.3.7): seconds since 1970 (4), fraction of a second in units of 2^-24 (3),
 * time quality (1). */
static bool gs_utc(const uint8_t *p, size_t n, uint64_t *ns, uint8_t *quality)
{
    if (n != GS_UTC_LEN) return false;
    uint64_t sec = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    uint64_t frac = (uint64_t)p[4] << 16 | (uint64_t)p[5] << 8 | p[6];
    *ns = sec * 1000000000ull + ((frac * 1000000000ull) >> 24);
    *quality = p[7];
    return true;
}

/* IEEE 754 value of a FloatingPoint ([8-1] 8.1.3.6: one octet of exponent width, then the
 * single (width 8) or double (width 11) precision value, big-endian). */
static bool gs_float(const uint8_t *p, size_t n, double *out)
{
    if (n == 5 && p[0] == 8) {
        uint32_t u = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        float f;
        memcpy(&f, &u, sizeof f);
        *out = f;
        return true;
    }
    if (n == 9 && p[0] == 11) {
        uint64_t u = 0;
        for (int i = 1; i < 9; i++) u = u << 8 | p[i];
        memcpy(out, &u, sizeof *out);
        return true;
    }
    return false;
}

static void gs_bytes_value(struct gs_entry_val *e, const struct qw_ber_tlv *t, uint8_t kind,
                           size_t max)
{
    e->kind = kind;
    e->p = t->val;
    e->plen = (uint16_t)(t->len < max ? t->len : max);
    e->value_cut = t->len > max;
}

/* One allData entry's summary (value kept for scalars, member count for constructed ones). */
static void gs_entry(struct gs_entry_val *e, const struct qw_ber_tlv *t)
{
    memset(e, 0, sizeof *e);
    e->tag = t->cls == QW_BER_CONTEXT && t->tag < 256 ? (uint8_t)t->tag : 0;
    if (t->cls != QW_BER_CONTEXT) return;
    switch (t->tag) {
    case 1:
    case 2: {
        struct qw_cursor c = qw_ber_contents(t);
        struct qw_ber_tlv m;
        uint32_t n = 0;
        while (qw_cur_left(&c) && qw_ber_next(&c, &m) == QW_BER_OK) n++;
        e->kind = GS_V_COUNT;
        e->v.count = n;
        break;
    }
    case 3:
        if (t->len == 1) {
            e->kind = GS_V_BOOL;
            e->v.b = t->val[0] != 0;
        }
        break;
    case 5:
        if (qw_ber_int(t, &e->v.i)) e->kind = GS_V_INT;
        break;
    case 6:
        if (qw_ber_uint(t, &e->v.u)) e->kind = GS_V_UINT;
        break;
    case 7:
        if (gs_float(t->val, t->len, &e->v.d)) e->kind = GS_V_DOUBLE;
        break;
    case 4:
    case 14:
        if (t->len >= 1 && t->val[0] < 8) {
            struct qw_ber_tlv rest = *t;
            rest.val++;
            rest.len--;
            gs_bytes_value(e, &rest, GS_V_HEX, GS_VALUE_HEX_MAX);
            e->bits_unused = t->val[0];
        }
        break;
    case 9:
        gs_bytes_value(e, t, GS_V_HEX, GS_VALUE_HEX_MAX);
        break;
    case 10:
    case 16:
        gs_bytes_value(e, t, GS_V_STR, GS_VALUE_STR_MAX);
        break;
    case 17: {
        uint8_t q;
        if (gs_utc(t->val, t->len, &e->v.ns, &q)) e->kind = GS_V_TIME;
        break;
    }
    default:
        break;
    }
}

static void gs_all_data(struct gs_pdu *p, const struct qw_cursor *contents, bool cut)
{
    struct qw_cursor c = *contents;
    while (qw_cur_left(&c)) {
        struct qw_ber_tlv t;
        if (qw_ber_next(&c, &t) != QW_BER_OK) {
            p->data_cut = true;
            return;
        }
        if (p->nlisted < GS_ENTRIES_MAX) gs_entry(&p->data[p->nlisted++], &t);
        p->ndata++;
    }
    if (cut) p->data_cut = true;
}

static bool gs_u32(const struct qw_ber_tlv *t, uint32_t *out)
{
    uint64_t v;
    if (!qw_ber_uint(t, &v) || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

static bool gs_bool(const struct qw_ber_tlv *t, bool *out)
{
    if (t->len != 1) return false;
    *out = t->val[0] != 0;
    return true;
}

/* Read the outer APDU header by hand: the frame may end inside the APDU (a capture cut short),
 * and the members that are there are still worth reading. Returns false when the header itself
 * is not a short- or long-form (at most 4 octets) definite length. */
static bool gs_apdu_header(struct qw_cursor *c, uint8_t *tag, size_t *len)
{
    uint8_t id = qw_cur_u8(c);
    uint8_t l0 = qw_cur_u8(c);
    if (c->err || (id & 0xE0u) != 0x60u || (id & 0x1Fu) == 0x1Fu) return false;
    *tag = id & 0x1Fu;
    if (l0 < 0x80) {
        *len = l0;
        return true;
    }
    unsigned n = l0 & 0x7Fu;
    if (n == 0 || n > 4) return false;
    size_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | qw_cur_u8(c);
    *len = v;
    return !c->err;
}

enum gs_result { GS_OK, GS_NOT_GOOSE, GS_MALFORMED };

/* Decode the goosePdu members. Members are matched by tag, so a field out of order is still
 * read; a BER error stops the walk (the members before it are kept). When the frame was cut,
 * the member the cut falls into is left to gs_cut_all_data. */
static enum gs_result gs_members(struct qw_pctx *ctx, struct gs_pdu *p, struct qw_cursor c,
                                 bool cut)
{
    while (qw_cur_left(&c)) {
        struct qw_ber_tlv t;
        enum qw_ber_status st = qw_ber_next(&c, &t);
        if (st == QW_BER_TRUNCATED && cut) return GS_OK;
        if (st != QW_BER_OK) {
            qw_emit_anomaly(ctx, "goose.malformed_ber", NULL);
            return GS_MALFORMED;
        }
        if (t.cls != QW_BER_CONTEXT) {
            qw_emit_anomaly(ctx, "goose.unexpected_member", NULL);
            return GS_MALFORMED;
        }
        uint32_t got = 0;
        bool bad = false;
        switch (t.tag) {
        case 0:
            p->gocb_ref = t.val;
            p->gocb_ref_len = (uint16_t)(t.len > UINT16_MAX ? UINT16_MAX : t.len);
            got = GS_F_GOCBREF;
            break;
        case 1: got = GS_F_TAL; bad = !gs_u32(&t, &p->tal_ms); break;
        case 2:
            p->dat_set = t.val;
            p->dat_set_len = (uint16_t)(t.len > UINT16_MAX ? UINT16_MAX : t.len);
            got = GS_F_DATSET;
            break;
        case 3:
            p->go_id = t.val;
            p->go_id_len = (uint16_t)(t.len > UINT16_MAX ? UINT16_MAX : t.len);
            got = GS_F_GOID;
            break;
        case 4: got = GS_F_T; bad = !gs_utc(t.val, t.len, &p->t_ns, &p->t_quality); break;
        case 5: got = GS_F_STNUM; bad = !gs_u32(&t, &p->st_num); break;
        case 6: got = GS_F_SQNUM; bad = !gs_u32(&t, &p->sq_num); break;
        case 7: got = GS_F_SIM; bad = !gs_bool(&t, &p->simulation); break;
        case 8: got = GS_F_CONFREV; bad = !gs_u32(&t, &p->conf_rev); break;
        case 9: got = GS_F_NDSCOM; bad = !gs_bool(&t, &p->nds_com); break;
        case 10: got = GS_F_NUMENTRIES; bad = !gs_u32(&t, &p->num_entries); break;
        case 11: {
            struct qw_cursor d = qw_ber_contents(&t);
            gs_all_data(p, &d, false);
            got = GS_F_ALLDATA;
            break;
        }
        case 12: got = GS_F_SECURITY; break;
        default: break; /* a later edition's member: skipped */
        }
        if (bad)
            qw_emit_anomaly(ctx, "goose.invalid_value", NULL);
        else
            p->fields |= got;
    }
    return GS_OK;
}

/* When the frame ends inside allData, qw_ber_next cannot return the cut SEQUENCE: open it by
 * hand and count the entries that are whole. */
static void gs_cut_all_data(struct gs_pdu *p, const uint8_t *b, size_t n)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    while (qw_cur_left(&c)) {
        size_t at = c.off;
        struct qw_ber_tlv t;
        if (qw_ber_next(&c, &t) == QW_BER_OK) continue;
        /* the cut member: if it is allData ([11] constructed, 0xAB), read its whole entries */
        struct qw_cursor h = qw_cursor_make(b + at, n - at);
        uint8_t id = qw_cur_u8(&h);
        uint8_t l0 = qw_cur_u8(&h);
        if (h.err || id != 0xABu) return;
        if (l0 & 0x80u) {
            unsigned k = l0 & 0x7Fu;
            if (k == 0 || k > 4 || !qw_cur_skip(&h, k)) return;
        }
        struct qw_cursor rest = qw_cursor_make(qw_cur_ptr(&h), qw_cur_left(&h));
        p->fields |= GS_F_ALLDATA;
        gs_all_data(p, &rest, true);
        return;
    }
}

static enum gs_result gs_decode(struct qw_pctx *ctx, struct gs_pdu *p, const uint8_t *data,
                                size_t len)
{
    memset(p, 0, offsetof(struct gs_pdu, data));
    struct qw_cursor c = qw_cursor_make(data, len);
    p->appid = qw_cur_be16(&c);
    p->length = qw_cur_be16(&c);
    p->reserved1 = qw_cur_be16(&c);
    p->reserved2 = qw_cur_be16(&c);
    if (c.err) {
        qw_emit_anomaly(ctx, "goose.truncated", "header");
        return GS_MALFORMED;
    }
    if (p->length < GS_HDR_LEN) {
        qw_emit_anomaly(ctx, "goose.invalid_length", NULL);
        return GS_MALFORMED;
    }
    /* The Length field bounds the APDU; bytes after it are Ethernet padding. */
    size_t declared = (size_t)p->length - GS_HDR_LEN;
    bool cut = declared > qw_cur_left(&c);
    struct qw_cursor apdu = qw_cur_sub(&c, declared, NULL);
    size_t apdu_len = 0;
    if (!gs_apdu_header(&apdu, &p->apdu_tag, &apdu_len)) {
        if (apdu.err) {
            qw_emit_anomaly(ctx, "goose.truncated", "apdu header");
            return GS_MALFORMED;
        }
        qw_emit_anomaly(ctx, "goose.invalid_pdu", NULL);
        return GS_NOT_GOOSE;
    }
    if (p->apdu_tag != GS_TAG_GOOSE && p->apdu_tag != GS_TAG_MNGT) {
        qw_emit_anomaly(ctx, "goose.invalid_pdu", NULL);
        return GS_NOT_GOOSE;
    }
    if (apdu_len > qw_cur_left(&apdu)) cut = true;
    struct qw_cursor body = qw_cur_sub(&apdu, apdu_len, NULL);
    if (cut) p->truncated = true;
    if (p->apdu_tag == GS_TAG_MNGT) return GS_OK;
    enum gs_result r = gs_members(ctx, p, body, cut);
    if (r == GS_OK && p->truncated && !(p->fields & GS_F_ALLDATA))
        gs_cut_all_data(p, qw_cur_ptr(&body), body.len);
    if (p->truncated) qw_emit_anomaly(ctx, "goose.truncated", "apdu");
    return r;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void gs_json_entry(struct qw_json *j, const struct gs_entry_val *e)
{
    char t[QW_TIME_STR_MAX];
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "type", gs_data_type_name(e->tag));
    switch (e->kind) {
    case GS_V_BOOL: qw_json_bool(j, "value", e->v.b); break;
    case GS_V_INT: qw_json_i64(j, "value", e->v.i); break;
    case GS_V_UINT: qw_json_u64(j, "value", e->v.u); break;
    case GS_V_DOUBLE: qw_json_double(j, "value", e->v.d); break;
    case GS_V_STR: qw_json_strn(j, "value", e->p, e->plen); break;
    case GS_V_HEX:
        qw_json_hex(j, "value", e->p, e->plen);
        if (e->tag == 4 || e->tag == 14) qw_json_u64(j, "unused_bits", e->bits_unused);
        break;
    case GS_V_TIME: qw_json_strn(j, "value", t, qw_time_rfc3339(e->v.ns, t)); break;
    case GS_V_COUNT: qw_json_u64(j, "count", e->v.count); break;
    default: break;
    }
    if (e->value_cut) qw_json_bool(j, "value_truncated", true);
    qw_json_obj_end(j);
}

static void gs_write_json(struct qw_json *j, const void *arg)
{
    const struct gs_view *v = arg;
    const struct gs_pdu *p = v->pdu;
    char t[QW_TIME_STR_MAX];
    qw_json_str(j, "event", v->event);
    qw_json_u64(j, "appid", p->appid);
    qw_json_u64(j, "length", p->length);
    qw_json_bool(j, "simulate_bit", (p->reserved1 & GS_SIMULATE_BIT) != 0);
    if (p->reserved1 & ~GS_SIMULATE_BIT) qw_json_u64(j, "reserved1", p->reserved1);
    if (p->reserved2) qw_json_u64(j, "reserved2", p->reserved2);
    if (p->apdu_tag == GS_TAG_MNGT) {
        qw_json_str(j, "pdu", "gse_management");
        if (p->truncated) qw_json_bool(j, "truncated", true);
        return;
    }
    qw_json_str(j, "pdu", "goose");
    uint32_t f = p->fields;
    if (f & GS_F_GOCBREF) qw_json_strn(j, "gocb_ref", p->gocb_ref, p->gocb_ref_len);
    if (f & GS_F_TAL) qw_json_u64(j, "time_allowed_to_live", p->tal_ms);
    if (f & GS_F_DATSET) qw_json_strn(j, "dat_set", p->dat_set, p->dat_set_len);
    if (f & GS_F_GOID) qw_json_strn(j, "go_id", p->go_id, p->go_id_len);
    if (f & GS_F_T) {
        qw_json_strn(j, "t", t, qw_time_rfc3339(p->t_ns, t));
        qw_json_u64(j, "t_quality", p->t_quality);
    }
    if (f & GS_F_STNUM) qw_json_u64(j, "st_num", p->st_num);
    if (f & GS_F_SQNUM) qw_json_u64(j, "sq_num", p->sq_num);
    qw_json_bool(j, "simulation", p->simulation);
    if (f & GS_F_CONFREV) qw_json_u64(j, "conf_rev", p->conf_rev);
    qw_json_bool(j, "nds_com", p->nds_com);
    if (f & GS_F_NUMENTRIES) qw_json_u64(j, "num_dat_set_entries", p->num_entries);
    if (f & GS_F_ALLDATA) {
        qw_json_obj_begin(j, "all_data");
        qw_json_u64(j, "count", p->ndata);
        qw_json_arr_begin(j, "entries");
        for (unsigned i = 0; i < p->nlisted; i++) gs_json_entry(j, &p->data[i]);
        qw_json_arr_end(j);
        if (p->ndata > p->nlisted) qw_json_bool(j, "entries_truncated", true);
        if (p->data_cut) qw_json_bool(j, "truncated", true);
        qw_json_obj_end(j);
    }
    if (f & GS_F_SECURITY) qw_json_bool(j, "security", true);
    if (v->has_prev) qw_json_u64(j, "previous_st_num", v->prev_st_num);
    if (v->cb) {
        qw_json_u64(j, "frames", v->cb->frames);
        qw_json_u64(j, "retransmissions", v->retransmissions);
        if (v->duplicates) qw_json_u64(j, "duplicates", v->duplicates);
    }
    if (p->truncated) qw_json_bool(j, "truncated", true);
}

/* Emit one record for the PDU in st->pdu; the caller has filled the counters in st->view. */
static void gs_emit(struct qw_pctx *ctx, struct gs_state *st, const char *event,
                    const struct gs_cb *cb)
{
    st->view.pdu = &st->pdu;
    st->view.event = event;
    st->view.cb = cb;
    struct qw_txn t = {0};
    t.function = st->pdu.apdu_tag;
    t.function_name = st->pdu.apdu_tag == GS_TAG_GOOSE ? "goose" : "gse_management";
    t.write_json = gs_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
}

/* ---- Per control block tracking ------------------------------------------------------------ */

static struct gs_cb *gs_lookup(struct gs_state *st, const uint8_t *ref, size_t n, uint32_t h)
{
    for (size_t i = 0; i < GS_TABLE_MAX; i++) {
        struct gs_cb *cb = &st->cbs[i];
        if (cb->used && cb->hash == h && cb->ref_len == n && memcmp(cb->ref, ref, n) == 0)
            return cb;
    }
    return NULL;
}

static struct gs_cb *gs_insert(struct gs_state *st, const uint8_t *ref, size_t n, uint32_t h)
{
    struct gs_cb *slot = NULL;
    for (size_t i = 0; i < GS_TABLE_MAX && !slot; i++)
        if (!st->cbs[i].used) slot = &st->cbs[i];
    if (!slot) { /* evict the least recently seen */
        slot = &st->cbs[0];
        for (size_t i = 1; i < GS_TABLE_MAX; i++)
            if (st->cbs[i].last_ns < slot->last_ns) slot = &st->cbs[i];
    }
    memset(slot, 0, sizeof *slot);
    slot->used = true;
    slot->hash = h;
    slot->ref_len = (uint8_t)n;
    memcpy(slot->ref, ref, n);
    return slot;
}

/* a < b, allowing for a counter that wrapped from the top of its range to the bottom */
static bool gs_backwards(uint32_t now, uint32_t before)
{
    if (now >= before) return false;
    return !(before >= GS_WRAP_HIGH && now < GS_WRAP_LOW);
}

static void gs_on_goose(struct qw_pctx *ctx, struct gs_state *st)
{
    struct gs_pdu *p = &st->pdu;
    const struct qw_packet *pkt = qw_pctx_packet(ctx);
    uint64_t now = qw_pctx_time(ctx);
    if (!(p->fields & GS_F_STNUM) || !(p->fields & GS_F_SQNUM)) {
        /* Without the counters there is no state to track: report the frame as it is. */
        gs_emit(ctx, st, "incomplete", NULL);
        return;
    }
    size_t n = p->gocb_ref_len < GS_REF_MAX ? p->gocb_ref_len : GS_REF_MAX;
    if (p->gocb_ref_len > GS_REF_MAX) qw_emit_anomaly(ctx, "goose.oversized_reference", NULL);
    if ((p->reserved1 & GS_SIMULATE_BIT) && !p->simulation)
        qw_emit_anomaly(ctx, "goose.simulate_bit_mismatch", NULL);

    uint32_t h = gs_hash(p->gocb_ref, n);
    struct gs_cb *cb = gs_lookup(st, p->gocb_ref, n, h);
    const char *event = NULL;
    bool sim_on = p->simulation;
    if (!cb) {
        cb = gs_insert(st, p->gocb_ref, n, h);
        event = "first_seen";
    } else {
        /* Anomaly details name the control block: cb->ref is NUL-terminated. */
        if (pkt && pkt->has_mac && cb->has_mac && memcmp(cb->mac, pkt->src_mac, 6) != 0)
            qw_emit_anomaly(ctx, "goose.source_changed", cb->ref);
        if (cb->tal_ms && now > cb->last_ns &&
            now - cb->last_ns > (uint64_t)cb->tal_ms * 1000000ull)
            qw_emit_anomaly(ctx, "goose.time_allowed_to_live_exceeded", cb->ref);
        if (p->st_num != cb->st_num) {
            event = "state_change";
            if (gs_backwards(p->st_num, cb->st_num))
                qw_emit_anomaly(ctx, "goose.st_num_backwards", cb->ref);
        } else {
            if (gs_backwards(p->sq_num, cb->sq_num))
                qw_emit_anomaly(ctx, "goose.sq_num_reset", cb->ref);
            else if (p->sq_num == cb->sq_num)
                cb->duplicates++;
            if ((p->fields & GS_F_CONFREV) && p->conf_rev != cb->conf_rev)
                event = "conf_rev_change";
        }
        /* a retransmission only raises `simulation` when the flag has just turned on */
        if (!event) sim_on = p->simulation && !cb->simulation;
    }
    if (sim_on) qw_emit_anomaly(ctx, "goose.simulation", cb->ref);
    cb->frames++;
    if (event) {
        st->view.retransmissions = cb->since_record;
        st->view.duplicates = cb->duplicates;
        st->view.has_prev = cb->frames > 1;
        st->view.prev_st_num = cb->st_num;
        cb->since_record = 0;
        cb->duplicates = 0;
    } else {
        cb->since_record++;
    }
    cb->st_num = p->st_num;
    cb->sq_num = p->sq_num;
    if (p->fields & GS_F_CONFREV) cb->conf_rev = p->conf_rev;
    cb->tal_ms = (p->fields & GS_F_TAL) ? p->tal_ms : 0;
    cb->simulation = p->simulation;
    cb->last_ns = now;
    if (pkt && pkt->has_mac) {
        memcpy(cb->mac, pkt->src_mac, 6);
        cb->has_mac = true;
    }
    if (event) gs_emit(ctx, st, event, cb);
}

static void gs_frame(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                     size_t len)
{
    struct gs_state *st = state;
    if (ethertype != GS_ETHERTYPE) return;
    if (gs_decode(ctx, &st->pdu, data, len) != GS_OK) return;
    if (st->pdu.apdu_tag == GS_TAG_MNGT) {
        gs_emit(ctx, st, "gse_management", NULL);
        return;
    }
    struct gs_pdu *p = &st->pdu;
    if (!(p->fields & GS_F_GOCBREF)) {
        qw_emit_anomaly(ctx, "goose.missing_field", "gocbRef");
        return;
    }
    if ((p->fields & GS_MANDATORY) != GS_MANDATORY && !p->truncated)
        qw_emit_anomaly(ctx, "goose.missing_field", NULL);
    gs_on_goose(ctx, st);
}

const struct qw_proto qw_proto_goose = {
    .name = "goose",
    .transports = QW_TRANSPORT_ETHER,
    .ethertypes = {GS_ETHERTYPE, 0},
    .state_size = sizeof(struct gs_state),
    .frame = gs_frame,
};
