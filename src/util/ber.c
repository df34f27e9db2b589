#include "util/ber.h"

#include <stdio.h>

enum qw_ber_status qw_ber_next(struct qw_cursor *c, struct qw_ber_tlv *t)
{
    size_t start = c->off;
    uint8_t id = qw_cur_u8(c);
    if (c->err) return QW_BER_TRUNCATED;
    t->cls = id >> 6;
    t->constructed = (id & 0x20) != 0;
    t->tag = id & 0x1f;
    if (t->tag == 0x1f) { /* high tag number form: base-128 digits, s.8.1.2.4 */
        uint32_t tag = 0;
        for (int i = 0;; i++) {
            uint8_t b = qw_cur_u8(c);
            if (c->err) return QW_BER_TRUNCATED;
            if ((i == 0 && b == 0x80) || i == 4) { /* leading zero digit, or past 2^28 */
                c->err = true;
                return QW_BER_BAD;
            }
            tag = (tag << 7) | (b & 0x7f);
            if (!(b & 0x80)) break;
        }
        t->tag = tag;
    }
    uint8_t l0 = qw_cur_u8(c);
    if (c->err) return QW_BER_TRUNCATED;
    size_t len = l0;
    if (l0 == 0x80) {
        c->err = true;
        return QW_BER_INDEFINITE;
    }
    if (l0 & 0x80) { /* long form, s.8.1.3.5; 0xff is reserved */
        unsigned n = l0 & 0x7f;
        if (n > 4) {
            c->err = true;
            return QW_BER_BAD;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++) len = (len << 8) | qw_cur_u8(c);
        if (c->err) return QW_BER_TRUNCATED;
    }
    t->hdr_len = c->off - start;
    t->len = len;
    t->val = qw_cur_take(c, len);
    if (!t->val && len) return QW_BER_TRUNCATED;
    if (!t->val) t->val = c->base ? c->base + c->off : NULL;
    return QW_BER_OK;
}

bool qw_ber_int(const struct qw_ber_tlv *t, int64_t *out)
{
    if (t->len == 0 || t->len > 8) return false;
    uint64_t v = (t->val[0] & 0x80) ? ~(uint64_t)0 : 0; /* sign extension */
    for (size_t i = 0; i < t->len; i++) v = (v << 8) | t->val[i];
    *out = (int64_t)v;
    return true;
}

bool qw_ber_uint(const struct qw_ber_tlv *t, uint64_t *out)
{
    if (t->len == 0 || (t->val[0] & 0x80)) return false;
    size_t i = 0;
    while (i < t->len - 1 && t->val[i] == 0) i++; /* a leading 0x00 keeps a value positive */
    if (t->len - i > 8) return false;
    uint64_t v = 0;
    for (; i < t->len; i++) v = (v << 8) | t->val[i];
    *out = v;
    return true;
}

bool qw_ber_oid_str(const struct qw_ber_tlv *t, char *out, size_t cap)
{
    if (t->len == 0 || cap == 0) return false;
    size_t pos = 0;
    uint64_t arc = 0;
    bool first = true;
    for (size_t i = 0; i < t->len; i++) {
        uint8_t b = t->val[i];
        if (arc == 0 && b == 0x80) return false; /* non-minimal encoding, s.8.19.2 */
        if (arc > (UINT64_MAX >> 7)) return false;
        arc = (arc << 7) | (b & 0x7f);
        if (b & 0x80) {
            if (i + 1 == t->len) return false; /* last subidentifier unfinished */
            continue;
        }
        int n;
        if (first) { /* the first subidentifier packs two arcs, s.8.19.4 */
            unsigned x = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            n = snprintf(out + pos, cap - pos, "%u.%llu", x,
                         (unsigned long long)(arc - 40ull * x));
            first = false;
        } else {
            n = snprintf(out + pos, cap - pos, ".%llu", (unsigned long long)arc);
        }
        if (n < 0 || (size_t)n >= cap - pos) return false;
        pos += (size_t)n;
        arc = 0;
    }
    return true;
}
