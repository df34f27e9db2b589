/* ISO session, presentation and ACSE decoding, down to the MMS PDU (see iso_session.h).
 *
 * Specifications:
 *   [SES]  ISO 8327-1 / ITU-T X.225: s.8.2 SPDU structure (SI, LI of one octet or 0xFF and two
 *          octets, PI/PGI units with the same length rule), s.8.3 the SPDUs, s.7.9 and table 10
 *          (a category 0 SPDU such as GIVE TOKENS concatenated with DATA TRANSFER in one TSDU),
 *          PGI 193 User Data and PGI 194 Extended User Data.
 *   [PRES] ISO 8823-1 / ITU-T X.226 s.8.2: CP-type and CPA-PPDU (SET with mode-selector [0] and
 *          normal-mode-parameters [2]), CPR-PPDU, ARU-PPDU, and User-data: simply-encoded-data
 *          [APPLICATION 0] or fully-encoded-data [APPLICATION 1] = SEQUENCE OF PDV-list
 *          {transfer-syntax-name OPTIONAL, presentation-context-identifier,
 *          presentation-data-values: single-ASN1-type [0] | octet-aligned [1] | arbitrary [2]}.
 *   [ACSE] ISO 8650-1 / ITU-T X.227: AARQ [APPLICATION 0], AARE [1], RLRQ [2], RLRE [3],
 *          ABRT [4]; user-information [30] = Association-information, a SEQUENCE OF EXTERNAL
 *          (X.690 s.8.18) whose encoding is single-ASN1-type [0] or octet-aligned [1].
 *
 * MMS is told from ACSE by the tag class of a presentation data value: ACSE APDUs are
 * [APPLICATION n], MMS PDUs are context-specific ([0]..[13], ISO 9506-2 s.7). Both ride on the
 * same connection under different presentation contexts; reading the class needs no record of
 * the context list, so connections whose start the capture missed decode the same way. */
#include "proto/iso_session.h"

#include <string.h>

#define SES_LI_EXTENDED 0xFFu /* LI escape: two octets of length follow ([SES] s.8.2.5) */
#define SES_PGI_USER_DATA 193u
#define SES_PGI_EXTENDED_USER_DATA 194u

#define PRES_TAG_SIMPLY 0     /* [APPLICATION 0] simply-encoded-data */
#define PRES_TAG_FULLY 1      /* [APPLICATION 1] fully-encoded-data */
#define ACSE_TAG_USER_INFO 30 /* user-information [30] */

bool qw_iso_tlv(struct qw_cursor *c, struct qw_ber_tlv *t, struct qw_cursor *contents,
                bool *cut)
{
    struct qw_cursor probe = *c;
    enum qw_ber_status s = qw_ber_next(&probe, t);
    if (s == QW_BER_OK) {
        *c = probe;
        *contents = qw_ber_contents(t);
        *cut = false;
        return true;
    }
    if (s != QW_BER_TRUNCATED) return false;
    /* The header may be whole and only the value cut: read the header again by itself
     * (X.690 s.8.1.2 identifier, s.8.1.3 length), as qw_ber_next does. */
    struct qw_cursor h = *c;
    size_t start = h.off;
    uint8_t id = qw_cur_u8(&h);
    uint32_t tag = id & 0x1Fu;
    if (tag == 0x1Fu) {
        tag = 0;
        for (int i = 0;; i++) {
            uint8_t b = qw_cur_u8(&h);
            if (h.err || i == 4) return false;
            tag = tag << 7 | (b & 0x7Fu);
            if (!(b & 0x80u)) break;
        }
    }
    uint8_t l0 = qw_cur_u8(&h);
    if (h.err || l0 == 0x80u) return false;
    size_t len = l0;
    if (l0 & 0x80u) {
        unsigned n = l0 & 0x7Fu;
        if (n > 4) return false;
        len = 0;
        for (unsigned i = 0; i < n; i++) len = len << 8 | qw_cur_u8(&h);
        if (h.err) return false;
    }
    t->cls = id >> 6;
    t->constructed = (id & 0x20u) != 0;
    t->tag = tag;
    t->hdr_len = h.off - start;
    /* `len` counts the octets present, never the declared length: readers of primitive values
     * (qw_ber_int) read t->len octets from t->val. */
    size_t left = qw_cur_left(&h);
    t->len = left < len ? left : len;
    t->val = left ? qw_cur_ptr(&h) : NULL;
    *contents = qw_cursor_make(t->val, left);
    c->off = c->len; /* everything that is there belongs to this TLV */
    *cut = true;
    return true;
}

/* ---- Session ------------------------------------------------------------------------------- */

/* An SPDU or parameter length: one octet, or 0xFF and two octets ([SES] s.8.2.5). */
static size_t ses_len(struct qw_cursor *c)
{
    uint8_t l = qw_cur_u8(c);
    if (l != SES_LI_EXTENDED) return l;
    return qw_cur_be16(c);
}

/* The user data of an SPDU with a parameter field (CONNECT, ACCEPT, FINISH...): the value of
 * PGI 193 or 194 at the top level. 1 found, 0 absent, -1 parameter field malformed. */
static int ses_user_data(struct qw_cursor params, bool cut, struct qw_cursor *ud,
                         struct qw_iso_result *out)
{
    while (qw_cur_left(&params)) {
        uint8_t code = qw_cur_u8(&params);
        size_t n = ses_len(&params);
        if (params.err) return cut ? 0 : -1;
        bool short_val;
        struct qw_cursor v = qw_cur_sub(&params, n, &short_val);
        if (short_val && !cut) return -1;
        if (code != SES_PGI_USER_DATA && code != SES_PGI_EXTENDED_USER_DATA) continue;
        if (n == 0 && qw_cur_left(&params)) {
            /* Some stacks (corpus: iti_mms_iec61850_read.pcap, frame 10) declare an empty
             * User Data parameter and put the PPDU right after it, inside the SPDU. */
            out->lenient_user_data = true;
            *ud = params;
            return 1;
        }
        *ud = v;
        return 1;
    }
    return 0;
}

/* ---- Presentation and ACSE ----------------------------------------------------------------- */

/* From a PDV's value or an EXTERNAL's encoding, the encoded data: the contents of
 * single-ASN1-type [0] or of octet-aligned [1]. */
static bool pres_embedded(const struct qw_ber_tlv *t, const struct qw_cursor *contents,
                          const uint8_t **p, size_t *n)
{
    if (t->cls != QW_BER_CONTEXT || (t->tag != 0 && t->tag != 1)) return false;
    *p = qw_cur_left(contents) ? qw_cur_ptr(contents) : NULL;
    *n = qw_cur_left(contents);
    return *p != NULL;
}

/* ACSE APDU: the MMS PDU inside user-information's first EXTERNAL. */
static enum qw_iso_status acse_mms(const uint8_t *p, size_t n, bool cut,
                                   struct qw_iso_result *out)
{
    struct qw_cursor c = qw_cursor_make(p, n);
    struct qw_ber_tlv t;
    struct qw_cursor apdu;
    bool tcut;
    if (!qw_iso_tlv(&c, &t, &apdu, &tcut) || (tcut && !cut)) return QW_ISO_BAD_ACSE;
    if (t.cls != QW_BER_APPLICATION || !t.constructed || t.tag > QW_ACSE_ABRT)
        return QW_ISO_BAD_ACSE;
    out->acse = (int)t.tag;
    while (qw_cur_left(&apdu)) {
        struct qw_ber_tlv m;
        struct qw_cursor mc;
        bool mcut;
        if (!qw_iso_tlv(&apdu, &m, &mc, &mcut)) return tcut ? QW_ISO_NO_MMS : QW_ISO_BAD_ACSE;
        if (m.cls != QW_BER_CONTEXT || m.tag != ACSE_TAG_USER_INFO) continue;
        struct qw_ber_tlv ext;
        struct qw_cursor ec;
        bool ecut;
        if (!qw_iso_tlv(&mc, &ext, &ec, &ecut)) return mcut ? QW_ISO_NO_MMS : QW_ISO_BAD_ACSE;
        /* EXTERNAL is [UNIVERSAL 8]: direct-reference, indirect-reference, encoding */
        if (ext.cls != QW_BER_UNIVERSAL || ext.tag != 8) return QW_ISO_BAD_ACSE;
        while (qw_cur_left(&ec)) {
            struct qw_ber_tlv e;
            struct qw_cursor enc;
            bool encut;
            if (!qw_iso_tlv(&ec, &e, &enc, &encut)) return ecut ? QW_ISO_NO_MMS : QW_ISO_BAD_ACSE;
            if (e.cls == QW_BER_UNIVERSAL) continue; /* OID, INTEGER, ObjectDescriptor */
            if (!pres_embedded(&e, &enc, &out->mms, &out->mms_len)) return QW_ISO_UNSUPPORTED;
            out->cut = encut;
            return QW_ISO_OK;
        }
        return QW_ISO_NO_MMS;
    }
    return QW_ISO_NO_MMS; /* e.g. a release or abort without user information */
}

/* A presentation data value: an ACSE APDU or an MMS PDU, told apart by tag class. */
static enum qw_iso_status pres_value(const uint8_t *p, size_t n, bool cut,
                                     struct qw_iso_result *out)
{
    if (n == 0) return QW_ISO_BAD_PPDU;
    uint8_t cls = p[0] >> 6;
    if (cls == QW_BER_APPLICATION) return acse_mms(p, n, cut, out);
    if (cls != QW_BER_CONTEXT) return QW_ISO_UNSUPPORTED;
    out->mms = p;
    out->mms_len = n;
    out->cut = cut;
    return QW_ISO_OK;
}

/* User-data ([PRES] s.8.2): simply-encoded [APPLICATION 0] or fully-encoded [APPLICATION 1].
 * Of a fully-encoded list, the first PDV is decoded (MMS sends one per PPDU). */
static enum qw_iso_status pres_user_data(const struct qw_ber_tlv *t, struct qw_cursor ud,
                                         bool cut, struct qw_iso_result *out)
{
    if (t->cls != QW_BER_APPLICATION) return QW_ISO_BAD_PPDU;
    if (t->tag == PRES_TAG_SIMPLY)
        return pres_value(qw_cur_left(&ud) ? qw_cur_ptr(&ud) : NULL, qw_cur_left(&ud), cut, out);
    if (t->tag != PRES_TAG_FULLY || !t->constructed) return QW_ISO_BAD_PPDU;
    struct qw_ber_tlv pdv;
    struct qw_cursor pc;
    bool pcut;
    if (!qw_iso_tlv(&ud, &pdv, &pc, &pcut) || (pcut && !cut)) return QW_ISO_BAD_PPDU;
    if (pdv.cls != QW_BER_UNIVERSAL || pdv.tag != 16) return QW_ISO_BAD_PPDU; /* SEQUENCE */
    while (qw_cur_left(&pc)) {
        struct qw_ber_tlv m;
        struct qw_cursor mc;
        bool mcut;
        if (!qw_iso_tlv(&pc, &m, &mc, &mcut) || (mcut && !pcut)) return QW_ISO_BAD_PPDU;
        if (m.cls == QW_BER_UNIVERSAL) continue; /* transfer syntax OID, context identifier */
        const uint8_t *p;
        size_t n;
        if (m.cls == QW_BER_CONTEXT && m.tag == 2) return QW_ISO_UNSUPPORTED; /* arbitrary */
        if (!pres_embedded(&m, &mc, &p, &n)) return QW_ISO_BAD_PPDU;
        return pres_value(p, n, mcut, out);
    }
    return pcut ? QW_ISO_NO_MMS : QW_ISO_BAD_PPDU;
}

/* Find the User-data member among the members at `c` (CP/CPA normal-mode-parameters, CPR,
 * ARU): the first [APPLICATION 0] or [APPLICATION 1] element. */
static enum qw_iso_status pres_find_user_data(struct qw_cursor c, bool cut,
                                              struct qw_iso_result *out)
{
    while (qw_cur_left(&c)) {
        struct qw_ber_tlv m;
        struct qw_cursor mc;
        bool mcut;
        if (!qw_iso_tlv(&c, &m, &mc, &mcut) || (mcut && !cut)) return QW_ISO_BAD_PPDU;
        if (m.cls == QW_BER_APPLICATION &&
            (m.tag == PRES_TAG_SIMPLY || m.tag == PRES_TAG_FULLY))
            return pres_user_data(&m, mc, mcut, out);
    }
    return QW_ISO_NO_MMS;
}

/* The PPDU carried by an SPDU's user data. */
static enum qw_iso_status pres_ppdu(int spdu, struct qw_cursor c, bool cut,
                                    struct qw_iso_result *out)
{
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    if (!qw_cur_left(&c)) return QW_ISO_NO_MMS;
    if (!qw_iso_tlv(&c, &t, &tc, &tcut) || (tcut && !cut)) return QW_ISO_BAD_PPDU;
    switch (spdu) {
    case QW_SPDU_CONNECT:
    case QW_SPDU_ACCEPT: {
        /* CP-type / CPA-PPDU: SET { mode-selector [0], normal-mode-parameters [2] ... } */
        if (t.cls != QW_BER_UNIVERSAL || t.tag != 17) return QW_ISO_BAD_PPDU;
        while (qw_cur_left(&tc)) {
            struct qw_ber_tlv m;
            struct qw_cursor mc;
            bool mcut;
            if (!qw_iso_tlv(&tc, &m, &mc, &mcut) || (mcut && !tcut)) return QW_ISO_BAD_PPDU;
            if (m.cls == QW_BER_CONTEXT && m.tag == 2) return pres_find_user_data(mc, mcut, out);
        }
        return QW_ISO_NO_MMS; /* X.410 mode or no parameters */
    }
    case QW_SPDU_REFUSE:
        /* CPR-PPDU normal mode: SEQUENCE { ..., user-data } */
        if (t.cls != QW_BER_UNIVERSAL || t.tag != 16) return QW_ISO_NO_MMS;
        return pres_find_user_data(tc, tcut, out);
    case QW_SPDU_ABORT:
        /* ARU-PPDU normal mode: [0] IMPLICIT SEQUENCE { context list [0], user-data } */
        if (t.cls != QW_BER_CONTEXT || t.tag != 0) return QW_ISO_NO_MMS; /* ARP-PPDU */
        return pres_find_user_data(tc, tcut, out);
    default:
        /* DATA TRANSFER, FINISH, DISCONNECT: the User-data itself */
        return pres_user_data(&t, tc, tcut, out);
    }
}

enum qw_iso_status qw_iso_tsdu(const uint8_t *tsdu, size_t len, bool cut,
                               struct qw_iso_result *out)
{
    memset(out, 0, sizeof *out);
    out->acse = QW_ACSE_NONE;
    struct qw_cursor c = qw_cursor_make(tsdu, len);
    uint8_t si = qw_cur_u8(&c);
    if (c.err) return QW_ISO_BAD_SPDU;
    if (si >> 6 == QW_BER_CONTEXT) { /* a bare MMS PDU straight on COTP */
        out->spdu = QW_SPDU_RAW_MMS;
        out->mms = tsdu;
        out->mms_len = len;
        out->cut = cut;
        return QW_ISO_OK;
    }
    out->spdu = si;
    size_t li = ses_len(&c);
    if (c.err) return cut ? QW_ISO_NO_MMS : QW_ISO_BAD_SPDU;
    bool short_params;
    struct qw_cursor params = qw_cur_sub(&c, li, &short_params);
    if (short_params && !cut) return QW_ISO_BAD_SPDU;
    switch (si) {
    case QW_SPDU_DATA: {
        /* GIVE TOKENS (its parameters, if any, are the token item) then DATA TRANSFER, whose
         * user information is the rest of the TSDU. */
        if (!qw_cur_left(&c)) return QW_ISO_NO_MMS; /* a lone GIVE TOKENS */
        uint8_t si2 = qw_cur_u8(&c);
        size_t li2 = ses_len(&c);
        if (c.err) return cut ? QW_ISO_NO_MMS : QW_ISO_BAD_SPDU;
        if (si2 != QW_SPDU_DATA) return QW_ISO_UNSUPPORTED;
        if (!qw_cur_skip(&c, li2)) return cut ? QW_ISO_NO_MMS : QW_ISO_BAD_SPDU;
        return pres_ppdu(si, c, cut, out);
    }
    case QW_SPDU_CONNECT:
    case QW_SPDU_ACCEPT:
    case QW_SPDU_REFUSE:
    case QW_SPDU_FINISH:
    case QW_SPDU_DISCONNECT:
    case QW_SPDU_ABORT:
    case QW_SPDU_NOT_FINISHED: {
        /* The user data parameter comes last, so a cut parameter field cuts it too. */
        struct qw_cursor ud;
        int found = ses_user_data(params, short_params, &ud, out);
        if (found < 0) return QW_ISO_BAD_SPDU;
        if (found == 0) return QW_ISO_NO_MMS;
        return pres_ppdu(si, ud, short_params, out);
    }
    case QW_SPDU_ABORT_ACCEPT:
        return QW_ISO_NO_MMS;
    default:
        return QW_ISO_UNSUPPORTED;
    }
}

/* Parameter codes that open a CONNECT or ACCEPT parameter field ([SES] s.8.3.1, s.8.3.2):
 * PGI 1 connection identifier, PGI 5 connect/accept item, PI 16 token item, PI 19 protocol
 * options, PI 20 session user requirements, PI 21 TSDU maximum size, PI 22 version number,
 * PI 23 initial serial number, PI 26 token setting item, PI 51 calling SSEL, PI 52 called
 * SSEL, PI 60 data overflow, PGI 193 user data, PGI 194 extended user data. */
static bool ses_first_param_ok(uint8_t code)
{
    static const uint8_t ok[] = {1, 5, 16, 19, 20, 21, 22, 23, 26, 51, 52, 60, 193, 194};
    for (size_t i = 0; i < sizeof ok; i++)
        if (ok[i] == code) return true;
    return false;
}

int qw_iso_probe_tsdu(const uint8_t *p, size_t len, bool complete)
{
    if (len == 0) return 0;
    switch (p[0]) {
    case QW_SPDU_DATA:
        /* GIVE TOKENS with LI 0, DATA TRANSFER with LI 0, then a presentation User-data */
        if (len < 4) {
            static const uint8_t want[] = {1, 0, 1, 0};
            return memcmp(p, want, len) == 0 ? 0 : -1;
        }
        if (p[1] != 0 || p[2] != QW_SPDU_DATA || p[3] != 0) return -1;
        if (len > 4 && p[4] != 0x61 && p[4] != 0x40) return -1;
        return 1;
    case QW_SPDU_CONNECT:
    case QW_SPDU_ACCEPT: {
        struct qw_cursor c = qw_cursor_make(p + 1, len - 1);
        size_t li = ses_len(&c);
        if (c.err) return complete ? -1 : 0;
        if (complete && li > qw_cur_left(&c)) return -1;
        if (li == 0) return 1;
        uint8_t code = qw_cur_u8(&c);
        if (c.err) return complete ? -1 : 0;
        return ses_first_param_ok(code) ? 1 : -1;
    }
    default:
        break;
    }
    /* A bare MMS PDU: initiate, confirmed request/response or unconfirmed, with a BER header
     * that fits what follows and a plausible first member. */
    if (p[0] != 0xA0 && p[0] != 0xA1 && p[0] != 0xA3 && p[0] != 0xA8 && p[0] != 0xA9) return -1;
    struct qw_cursor c = qw_cursor_make(p, len);
    struct qw_ber_tlv t;
    struct qw_cursor in;
    bool cut;
    if (!qw_iso_tlv(&c, &t, &in, &cut)) return complete ? -1 : 0;
    if (complete && (cut || t.hdr_len + t.len != len)) return -1;
    if (!qw_cur_left(&in)) return cut ? 0 : -1;
    uint8_t first = qw_cur_ptr(&in)[0];
    switch (p[0]) {
    case 0xA0:
    case 0xA1: return first == 0x02 ? 1 : -1;                  /* invokeID INTEGER */
    case 0xA3: return first >= 0xA0 && first <= 0xA2 ? 1 : -1; /* unconfirmed service */
    default: return (first >= 0x80 && first <= 0x83) || first == 0xA4 ? 1 : -1;
    }
}
