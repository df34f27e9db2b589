/* X.509 certificate identity fields (specifications in tls_x509.h).
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 *   TBSCertificate ::= SEQUENCE {
 *       version        [0] EXPLICIT INTEGER DEFAULT v1,   -- 0 = v1, 1 = v2, 2 = v3
 *       serialNumber   INTEGER,
 *       signature      AlgorithmIdentifier,
 *       issuer         Name,
 *       validity       SEQUENCE { notBefore Time, notAfter Time },
 *       subject        Name,
 *       ... }                                              -- not read: key, extensions
 *   Name ::= SEQUENCE OF SET OF SEQUENCE { type OBJECT IDENTIFIER, value ANY }
 *   Time ::= CHOICE { UTCTime, GeneralizedTime }
 *
 * The two outer SEQUENCEs are opened by hand so that a certificate cut after its subject still
 * decodes; every inner TLV is read whole through util/ber.h. */
#include "proto/tls_x509.h"

#include <string.h>

#include "util/ber.h"
#include "util/cursor.h"

/* Universal tags ([DER] s.8, X.680 s.8.4). */
enum {
    TAG_INTEGER = 2,
    TAG_OID = 6,
    TAG_UTF8 = 12,
    TAG_SEQUENCE = 16,
    TAG_SET = 17,
    TAG_PRINTABLE = 19,
    TAG_TELETEX = 20,
    TAG_IA5 = 22,
    TAG_UTCTIME = 23,
    TAG_GENTIME = 24,
    TAG_VISIBLE = 26,
    TAG_UNIVERSAL_STR = 28,
    TAG_BMP = 30,
};

/* Attribute type OIDs, contents octets ([X520]: id-at = 2.5.4). */
static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t oid_o[] = {0x55, 0x04, 0x0A};

/* Open a SEQUENCE whose contents may run past the end of the input: the child cursor covers
 * what is present. [DER] s.8.1.3: definite length, at most 4 length octets here. */
static bool open_sequence(struct qw_cursor *c, struct qw_cursor *child, bool *cut)
{
    uint8_t id = qw_cur_u8(c);
    uint8_t l0 = qw_cur_u8(c);
    if (c->err || id != 0x30) return false;
    size_t len = l0;
    if (l0 & 0x80u) {
        unsigned n = l0 & 0x7Fu;
        if (n == 0 || n > 4) return false;
        len = 0;
        for (unsigned i = 0; i < n; i++) len = len << 8 | qw_cur_u8(c);
        if (c->err) return false;
    }
    *child = qw_cur_sub(c, len, cut);
    return true;
}

static bool is_universal(const struct qw_ber_tlv *t, uint32_t tag, bool constructed)
{
    return t->cls == QW_BER_UNIVERSAL && t->tag == tag && t->constructed == constructed;
}

/* ---- Strings ------------------------------------------------------------------------------- */

/* Append one code point as UTF-8 if it fits whole; false (and `cut`) when it does not. */
static bool put_cp(struct tls_x509_str *s, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if ((size_t)s->len + n > sizeof s->s - 1) {
        s->cut = true;
        return false;
    }
    memcpy(s->s + s->len, b, n);
    s->len = (uint8_t)(s->len + n);
    s->s[s->len] = '\0';
    return true;
}

/* A DirectoryString (or IA5String) value as UTF-8. UTF8String and the ASCII subsets are copied
 * as sent (the JSON writer replaces invalid UTF-8); TeletexString is read as Latin-1, which is
 * what issuing software puts in it in practice; BMPString is UCS-2 and UniversalString UCS-4,
 * both big-endian. Other tags leave the string empty. */
static void take_string(const struct qw_ber_tlv *t, struct tls_x509_str *s)
{
    s->len = 0;
    s->cut = false;
    s->s[0] = '\0';
    if (t->cls != QW_BER_UNIVERSAL || t->constructed) return;
    switch (t->tag) {
    case TAG_UTF8:
    case TAG_PRINTABLE:
    case TAG_IA5:
    case TAG_VISIBLE: {
        size_t n = t->len < sizeof s->s - 1 ? t->len : sizeof s->s - 1;
        if (n < t->len) {
            s->cut = true;
            while (n > 0 && (t->val[n] & 0xC0) == 0x80) n--; /* do not split a UTF-8 sequence */
        }
        memcpy(s->s, t->val, n);
        s->len = (uint8_t)n;
        s->s[n] = '\0';
        break;
    }
    case TAG_TELETEX:
        for (size_t i = 0; i < t->len; i++)
            if (!put_cp(s, t->val[i])) break;
        break;
    case TAG_BMP:
        for (size_t i = 0; i + 1 < t->len; i += 2)
            if (!put_cp(s, (uint32_t)t->val[i] << 8 | t->val[i + 1])) break;
        break;
    case TAG_UNIVERSAL_STR:
        for (size_t i = 0; i + 3 < t->len; i += 4)
            if (!put_cp(s, (uint32_t)t->val[i] << 24 | (uint32_t)t->val[i + 1] << 16 |
                               (uint32_t)t->val[i + 2] << 8 | t->val[i + 3]))
                break;
        break;
    default: break;
    }
}

/* ---- Name ---------------------------------------------------------------------------------- */

/* Walk a Name's contents and keep the first commonName and organizationName. */
static bool parse_name(const struct qw_ber_tlv *name, struct tls_x509_str *cn,
                       struct tls_x509_str *o)
{
    bool have_cn = false, have_o = false;
    struct qw_cursor rdns = qw_ber_contents(name);
    while (qw_cur_left(&rdns) > 0) {
        struct qw_ber_tlv set;
        if (qw_ber_next(&rdns, &set) != QW_BER_OK || !is_universal(&set, TAG_SET, true))
            return false;
        struct qw_cursor atvs = qw_ber_contents(&set);
        while (qw_cur_left(&atvs) > 0) {
            struct qw_ber_tlv atv, type, value;
            if (qw_ber_next(&atvs, &atv) != QW_BER_OK || !is_universal(&atv, TAG_SEQUENCE, true))
                return false;
            struct qw_cursor f = qw_ber_contents(&atv);
            if (qw_ber_next(&f, &type) != QW_BER_OK || !is_universal(&type, TAG_OID, false) ||
                qw_ber_next(&f, &value) != QW_BER_OK)
                return false;
            if (type.len == sizeof oid_cn && memcmp(type.val, oid_cn, sizeof oid_cn) == 0) {
                if (!have_cn) take_string(&value, cn);
                have_cn = true;
            } else if (type.len == sizeof oid_o && memcmp(type.val, oid_o, sizeof oid_o) == 0) {
                if (!have_o) take_string(&value, o);
                have_o = true;
            }
        }
    }
    return true;
}

/* ---- Time ---------------------------------------------------------------------------------- */

int64_t tls_x509_epoch(int year, int month, int day, int hour, int minute, int second)
{
    /* Days from 1970-01-01 of a proleptic Gregorian date: count in eras of 400 years starting
     * on 1 March, so the leap day falls at the end of each counted year. */
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                        /* 0..399 */
    int64_t mp = (month + 9) % 12;                                      /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;                         /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                /* 0..146096 */
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

static bool digits(const uint8_t *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* UTCTime "YYMMDDHHMM[SS]Z" or GeneralizedTime "YYYYMMDDHHMM[SS][.f*]Z". DER requires the
 * seconds and 'Z' ([DER] s.11.7-8); a missing seconds field is accepted, as issuing software
 * of the 1990s omitted it. Local-time offsets are refused. */
static bool parse_time(const struct qw_ber_tlv *t, int64_t *epoch, char out[TLS_X509_TIME_STR])
{
    if (t->cls != QW_BER_UNIVERSAL || t->constructed) return false;
    const uint8_t *p = t->val;
    size_t n = t->len;
    int year, mon, day, hour, min, sec = 0;
    size_t ylen;
    if (t->tag == TAG_UTCTIME) ylen = 2;
    else if (t->tag == TAG_GENTIME) ylen = 4;
    else return false;
    if (n < ylen + 8 + 1 || p[n - 1] != 'Z') return false;
    if (!digits(p, ylen, &year) || !digits(p + ylen, 2, &mon) || !digits(p + ylen + 2, 2, &day) ||
        !digits(p + ylen + 4, 2, &hour) || !digits(p + ylen + 6, 2, &min))
        return false;
    size_t rest = n - 1 - (ylen + 8); /* bytes between the minutes and the 'Z' */
    if (rest >= 2) {
        if (!digits(p + ylen + 8, 2, &sec)) return false;
        if (rest > 2) { /* fractional seconds: GeneralizedTime only, ".digits" */
            if (t->tag != TAG_GENTIME || p[ylen + 10] != '.' || rest == 3) return false;
            int frac;
            for (size_t i = ylen + 11; i < n - 1; i++)
                if (!digits(p + i, 1, &frac)) return false;
        }
    } else if (rest != 0) {
        return false;
    }
    if (ylen == 2) year += year >= 50 ? 1900 : 2000; /* [X509] s.4.1.2.5.1 */
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return false;
    *epoch = tls_x509_epoch(year, mon, day, hour, min, sec);
    /* "YYYY-MM-DDTHH:MM:SSZ": every field is range-checked above, the year has 4 digits. */
    const int fields[6] = {year, mon, day, hour, min, sec};
    static const char seps[6] = {'-', '-', 'T', ':', ':', 'Z'};
    char *o = out;
    for (int i = 0; i < 6; i++) {
        if (i == 0) {
            *o++ = (char)('0' + year / 1000);
            *o++ = (char)('0' + year / 100 % 10);
        }
        *o++ = (char)('0' + fields[i] / 10 % 10);
        *o++ = (char)('0' + fields[i] % 10);
        *o++ = seps[i];
    }
    *o = '\0';
    return true;
}

/* ---- Certificate --------------------------------------------------------------------------- */

/* The next TBS field: OK, or TRUNCATED when the (cut) input ends inside it. */
static enum tls_x509_status next_field(struct qw_cursor *c, struct qw_ber_tlv *t, bool cut)
{
    enum qw_ber_status s = qw_ber_next(c, t);
    if (s == QW_BER_OK) return TLS_X509_OK;
    return s == QW_BER_TRUNCATED && cut ? TLS_X509_TRUNCATED : TLS_X509_MALFORMED;
}

enum tls_x509_status tls_x509_parse(const uint8_t *der, size_t len, struct tls_x509 *out)
{
    memset(out, 0, sizeof *out);
    struct qw_cursor c = qw_cursor_make(der, len), cert, tbs;
    bool cert_cut = false, tbs_cut = false;
    if (!open_sequence(&c, &cert, &cert_cut))
        return c.err ? TLS_X509_TRUNCATED : TLS_X509_MALFORMED;
    if (!open_sequence(&cert, &tbs, &tbs_cut))
        return cert.err ? TLS_X509_TRUNCATED : TLS_X509_MALFORMED;
    bool cut = cert_cut || tbs_cut;

    struct qw_ber_tlv t;
    enum tls_x509_status st = next_field(&tbs, &t, cut);
    if (st != TLS_X509_OK) return st;
    out->version = 1;
    if (t.cls == QW_BER_CONTEXT && t.tag == 0 && t.constructed) {
        struct qw_cursor vc = qw_ber_contents(&t);
        struct qw_ber_tlv v;
        int64_t ver;
        if (qw_ber_next(&vc, &v) != QW_BER_OK || !is_universal(&v, TAG_INTEGER, false) ||
            !qw_ber_int(&v, &ver) || ver < 0 || ver > 2)
            return TLS_X509_MALFORMED;
        out->version = (uint8_t)(ver + 1);
        if ((st = next_field(&tbs, &t, cut)) != TLS_X509_OK) return st;
    }

    if (!is_universal(&t, TAG_INTEGER, false) || t.len == 0) return TLS_X509_MALFORMED;
    const uint8_t *sv = t.val;
    size_t sn = t.len;
    if (sn > 1 && sv[0] == 0x00 && (sv[1] & 0x80u)) { /* DER sign octet of a positive value */
        sv++;
        sn--;
    }
    out->serial_cut = sn > sizeof out->serial;
    out->serial_len = (uint8_t)(out->serial_cut ? sizeof out->serial : sn);
    memcpy(out->serial, sv, out->serial_len);

    if ((st = next_field(&tbs, &t, cut)) != TLS_X509_OK) return st; /* signature algorithm */
    if (!is_universal(&t, TAG_SEQUENCE, true)) return TLS_X509_MALFORMED;

    struct qw_ber_tlv issuer;
    if ((st = next_field(&tbs, &issuer, cut)) != TLS_X509_OK) return st;
    if (!is_universal(&issuer, TAG_SEQUENCE, true) ||
        !parse_name(&issuer, &out->issuer_cn, &out->issuer_o))
        return TLS_X509_MALFORMED;

    if ((st = next_field(&tbs, &t, cut)) != TLS_X509_OK) return st; /* validity */
    if (!is_universal(&t, TAG_SEQUENCE, true)) return TLS_X509_MALFORMED;
    struct qw_cursor vc = qw_ber_contents(&t);
    struct qw_ber_tlv nb, na;
    if (qw_ber_next(&vc, &nb) != QW_BER_OK || qw_ber_next(&vc, &na) != QW_BER_OK ||
        !parse_time(&nb, &out->not_before, out->not_before_str) ||
        !parse_time(&na, &out->not_after, out->not_after_str))
        return TLS_X509_MALFORMED;
    out->has_validity = true;

    struct qw_ber_tlv subject;
    if ((st = next_field(&tbs, &subject, cut)) != TLS_X509_OK) return st;
    if (!is_universal(&subject, TAG_SEQUENCE, true) ||
        !parse_name(&subject, &out->subject_cn, &out->subject_o))
        return TLS_X509_MALFORMED;
    out->has_subject = true;
    out->self_signed = subject.len == issuer.len &&
                       (subject.len == 0 || memcmp(subject.val, issuer.val, subject.len) == 0);
    return TLS_X509_OK;
}
