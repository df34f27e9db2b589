#include "proto/cotp.h"

#include <string.h>

enum qw_tpkt_status qw_tpkt_frame(const uint8_t *d, size_t len, size_t *pdu_len)
{
    if (len >= 1 && d[0] != 3) return QW_TPKT_BAD;
    if (len >= 2 && d[1] != 0) return QW_TPKT_BAD;
    if (len < QW_TPKT_HDR) return QW_TPKT_NEED_MORE;
    size_t n = (size_t)d[2] << 8 | d[3];
    if (n < QW_TPKT_HDR + 3) return QW_TPKT_BAD; /* room for the smallest COTP header (DT) */
    *pdu_len = n;
    return len >= n ? QW_TPKT_OK : QW_TPKT_NEED_MORE;
}

bool qw_cotp_parse(const uint8_t *p, size_t len, struct qw_cotp *out)
{
    memset(out, 0, sizeof *out);
    if (len < 2) return false;
    size_t li = p[0]; /* header length, the LI octet itself excluded */
    if (li < 1 || li == 255 || li + 1 > len) return false;
    uint8_t type = p[1] & 0xf0;
    out->type = type;
    out->data = p + li + 1;
    out->data_len = len - li - 1;
    switch (type) {
    case QW_COTP_DT:
    case QW_COTP_ED:
        /* class 0/1 layout: TPDU-NR with EOT in bit 8 (s.13.7.3) */
        if (li < 2) return false;
        out->eot = (p[2] & 0x80) != 0;
        return true;
    case QW_COTP_CR:
    case QW_COTP_CC:
    case QW_COTP_DR:
        /* DST-REF(2) SRC-REF(2) then class/option or reason(1), s.13.3-13.5 */
        if (li < 6) return false;
        out->dst_ref = (uint16_t)(p[2] << 8 | p[3]);
        out->src_ref = (uint16_t)(p[4] << 8 | p[5]);
        out->params = p + 7;
        out->params_len = li - 6;
        return true;
    case QW_COTP_DC:
        if (li < 5) return false;
        out->dst_ref = (uint16_t)(p[2] << 8 | p[3]);
        out->src_ref = (uint16_t)(p[4] << 8 | p[5]);
        return true;
    case QW_COTP_AK:
    case QW_COTP_EA:
    case QW_COTP_RJ:
    case QW_COTP_ER:
        return true;
    default:
        return false;
    }
}

const uint8_t *qw_cotp_param(const struct qw_cotp *c, uint8_t code, size_t *len)
{
    size_t off = 0;
    while (c->params && off + 2 <= c->params_len) {
        uint8_t pc = c->params[off], pl = c->params[off + 1];
        if (off + 2 + pl > c->params_len) return NULL;
        if (pc == code) {
            *len = pl;
            return c->params + off + 2;
        }
        off += 2u + pl;
    }
    return NULL;
}

const uint8_t *qw_cotp_assemble(struct qw_cotp_asm *a, uint8_t *buf, size_t cap,
                                const struct qw_cotp *dt, size_t *out_len, bool *overflowed)
{
    *overflowed = false;
    if (dt->eot && a->len == 0 && !a->overflow) { /* not split: no copy */
        *out_len = dt->data_len;
        return dt->data;
    }
    if (!a->overflow) {
        if (dt->data_len > cap - a->len) {
            a->overflow = true;
        } else {
            memcpy(buf + a->len, dt->data, dt->data_len);
            a->len += (uint32_t)dt->data_len;
        }
    }
    if (!dt->eot) return NULL;
    bool was_overflow = a->overflow;
    size_t n = a->len;
    a->len = 0;
    a->overflow = false;
    if (was_overflow) {
        *overflowed = true;
        return NULL;
    }
    *out_len = n;
    return buf;
}

enum qw_tpkt_status qw_tpkt_cotp_probe(const uint8_t *d, size_t len, struct qw_cotp *out)
{
    size_t n = 0;
    enum qw_tpkt_status s = qw_tpkt_frame(d, len, &n);
    if (s != QW_TPKT_OK) {
        /* a header that looks right but a COTP already visible and wrong is not ours */
        if (s == QW_TPKT_NEED_MORE && len >= QW_TPKT_HDR + 2 &&
            !qw_cotp_parse(d + QW_TPKT_HDR, len - QW_TPKT_HDR, out)) {
            size_t li = d[QW_TPKT_HDR];
            if (li + 1 <= len - QW_TPKT_HDR) return QW_TPKT_BAD;
        }
        return s;
    }
    return qw_cotp_parse(d + QW_TPKT_HDR, n - QW_TPKT_HDR, out) ? QW_TPKT_OK : QW_TPKT_BAD;
}
