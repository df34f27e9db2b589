/* TPKT/COTP stream walking for the port-102 parsers; see s7comm_framing.h.
 *
 * Specifications: RFC 1006 s.6 (TPKT: version 3, reserved 0, 16-bit length including the
 * 4-byte header); ISO 8073 / X.224 s.13 (TPDU layouts: LI, type, class 0 DT with the EOT bit,
 * s.13.7). The COTP decoding itself is src/proto/cotp.c. */
#include "proto/s7comm_framing.h"

#include "engine/emit.h"

enum sync_result { SYNC_NO, SYNC_YES, SYNC_WAIT };

/* Smallest LI per TPDU type for what this module relies on (ISO 8073 s.13): class 0 DT is
 * LI 2 (type, EOT/TPDU-NR); CR/CC/DR carry DST-REF, SRC-REF and one more octet (LI >= 6); DC
 * has the two references (LI >= 5); the others need only their type octet. */
static bool li_fits_type(uint8_t li, uint8_t type)
{
    switch (type) {
    case QW_COTP_DT:
    case QW_COTP_ED: return li == 2; /* class 0 and 1 only: that is what S7 and MMS use */
    case QW_COTP_CR:
    case QW_COTP_CC:
    case QW_COTP_DR: return li >= 6;
    case QW_COTP_DC: return li >= 5;
    case QW_COTP_AK:
    case QW_COTP_EA:
    case QW_COTP_RJ:
    case QW_COTP_ER: return li >= 1;
    default: return false;
    }
}

/* A plausible TPKT start at b: version 3, reserved 0, length >= 7, a COTP header whose LI fits
 * the TPKT and its type, and, once the TPKT is complete, either the end of the data or another
 * TPKT version/reserved pair after it. WAIT: too few bytes to tell. */
static enum sync_result plausible_tpkt(const uint8_t *b, size_t n)
{
    if (n < 1) return SYNC_WAIT;
    if (b[0] != 3) return SYNC_NO;
    if (n < 2) return SYNC_WAIT;
    if (b[1] != 0) return SYNC_NO;
    if (n < QW_TPKT_HDR + 2) return SYNC_WAIT;
    size_t tl = (size_t)b[2] << 8 | b[3];
    uint8_t li = b[QW_TPKT_HDR];
    uint8_t type = b[QW_TPKT_HDR + 1] & 0xf0;
    if (tl < QW_TPKT_HDR + 3) return SYNC_NO;
    if (li == 0 || li == 255 || (size_t)li + 1 > tl - QW_TPKT_HDR) return SYNC_NO;
    if (!li_fits_type(li, type)) return SYNC_NO;
    if (n < tl) return SYNC_WAIT;
    if (n > tl && b[tl] != 3) return SYNC_NO;
    if (n > tl + 1 && b[tl + 1] != 0) return SYNC_NO;
    return SYNC_YES;
}

/* Skip to the next plausible TPKT. `*skip` is the number of bytes to drop; false means none is
 * provable yet (keep the bytes from *skip on and look again with more data). */
static bool resync_scan(const uint8_t *b, size_t n, size_t *skip)
{
    size_t i = 0;
    for (; i < n; i++) {
        enum sync_result r = plausible_tpkt(b + i, n - i);
        if (r == SYNC_YES) {
            *skip = i;
            return true;
        }
        if (r == SYNC_WAIT) break;
    }
    *skip = i;
    return false;
}

static void drop_partial(struct qw_iso_stream *s)
{
    s->tsdu.len = 0;
    s->tsdu.overflow = false;
}

size_t qw_iso_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, struct qw_iso_stream *s,
                    uint8_t *buf, size_t cap, const struct qw_iso_ops *ops, const uint8_t *data,
                    size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (s->resync) {
            size_t skip = 0;
            bool found = resync_scan(data + off, len - off, &skip);
            off += skip;
            if (!found) return off;
            s->resync = false;
        }
        size_t n = 0;
        enum qw_tpkt_status st = qw_tpkt_frame(data + off, len - off, &n);
        if (st == QW_TPKT_NEED_MORE) return off; /* the engine keeps the cut TPKT */
        if (st == QW_TPKT_BAD) {
            qw_emit_anomaly(ctx, ops->invalid_tpkt, NULL);
            drop_partial(s); /* a TSDU cannot continue across broken framing */
            s->resync = true;
            off += 1;
            continue;
        }
        struct qw_cotp c;
        if (!qw_cotp_parse(data + off + QW_TPKT_HDR, n - QW_TPKT_HDR, &c)) {
            qw_emit_anomaly(ctx, ops->invalid_cotp, NULL);
        } else if (c.type == QW_COTP_DT) {
            size_t tl = 0;
            bool overflowed = false;
            const uint8_t *t = qw_cotp_assemble(&s->tsdu, buf, cap, &c, &tl, &overflowed);
            if (overflowed) qw_emit_anomaly(ctx, ops->oversized_tsdu, NULL);
            if (t) ops->tsdu(ctx, state, dir, t, tl);
        } else if (ops->control) {
            ops->control(ctx, state, dir, &c);
        }
        off += n;
    }
    return off;
}

void qw_iso_gap(struct qw_iso_stream *s)
{
    drop_partial(s);
    s->resync = true;
}

enum qw_probe_result qw_iso_probe_first_dt(const uint8_t *d, size_t len, const uint8_t **user,
                                           size_t *user_len, bool *eot, bool *complete)
{
    size_t off = 0;
    while (off < len) {
        struct qw_cotp c;
        enum qw_tpkt_status st = qw_tpkt_cotp_probe(d + off, len - off, &c);
        if (st == QW_TPKT_BAD) return QW_PROBE_NO;
        if (st == QW_TPKT_NEED_MORE) {
            /* A cut TPKT: decide on its DT's first bytes when they are visible already (a long
             * first PDU may not fit the probe budget). */
            if (len - off < QW_TPKT_HDR + 2) return QW_PROBE_NEED_MORE;
            if (!qw_cotp_parse(d + off + QW_TPKT_HDR, len - off - QW_TPKT_HDR, &c))
                return QW_PROBE_NEED_MORE; /* the COTP header is not all here yet */
            if (c.type != QW_COTP_DT || c.data_len == 0) return QW_PROBE_NEED_MORE;
            *user = c.data;
            *user_len = c.data_len;
            *eot = c.eot;
            *complete = false;
            return QW_PROBE_MATCH;
        }
        size_t n = 0;
        (void)qw_tpkt_frame(d + off, len - off, &n);
        if (c.type == QW_COTP_DT && c.data_len > 0) {
            *user = c.data;
            *user_len = c.data_len;
            *eot = c.eot;
            *complete = true;
            return QW_PROBE_MATCH;
        }
        off += n; /* CR, CC, an empty DT, ...: the protocol is decided by the first data */
    }
    return QW_PROBE_NEED_MORE;
}
