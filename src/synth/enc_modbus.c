/* Modbus/TCP encoder. MBAP header (Messaging on TCP/IP v1.0b, 3.1.3):
 *   0 2 transaction id   2 2 protocol id (0)   4 2 length of unit id + PDU   6 1 unit id
 * followed by the PDU (function code + data, Application Protocol v1.1b3 section 6). */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

static size_t mbap(uint8_t *b, uint16_t tid, uint8_t unit, size_t pdu_len)
{
    sy_put16(b, tid);
    sy_put16(b + 2, 0);
    sy_put16(b + 4, (uint16_t)(pdu_len + 1));
    b[6] = unit;
    return 7 + pdu_len;
}

size_t sy_mb_read_req(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr,
                      uint16_t qty)
{
    uint8_t *p = b + 7;
    p[0] = fc;
    sy_put16(p + 1, addr);
    sy_put16(p + 3, qty);
    return mbap(b, tid, unit, 5);
}

size_t sy_mb_regs_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint16_t *v,
                      uint16_t qty)
{
    uint8_t *p = b + 7;
    p[0] = fc;
    p[1] = (uint8_t)(2 * qty);
    for (unsigned i = 0; i < qty; i++) sy_put16(p + 2 + (size_t)2 * i, v[i]);
    return mbap(b, tid, unit, 2 + 2 * (size_t)qty);
}

size_t sy_mb_bits_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint8_t *bits,
                      uint16_t qty)
{
    uint8_t *p = b + 7;
    size_t nb = (qty + 7u) / 8u;
    p[0] = fc;
    p[1] = (uint8_t)nb;
    memcpy(p + 2, bits, nb);
    return mbap(b, tid, unit, 2 + nb);
}

size_t sy_mb_write1(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t val)
{
    uint8_t *p = b + 7;
    p[0] = SY_MB_FC_WRITE_SINGLE_REG;
    sy_put16(p + 1, addr);
    sy_put16(p + 3, val);
    return mbap(b, tid, unit, 5);
}

size_t sy_mb_writen_req(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, const uint16_t *v,
                        uint16_t qty)
{
    uint8_t *p = b + 7;
    p[0] = SY_MB_FC_WRITE_MULTI_REGS;
    sy_put16(p + 1, addr);
    sy_put16(p + 3, qty);
    p[5] = (uint8_t)(2 * qty);
    for (unsigned i = 0; i < qty; i++) sy_put16(p + 6 + (size_t)2 * i, v[i]);
    return mbap(b, tid, unit, 6 + 2 * (size_t)qty);
}

size_t sy_mb_writen_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty)
{
    uint8_t *p = b + 7;
    p[0] = SY_MB_FC_WRITE_MULTI_REGS;
    sy_put16(p + 1, addr);
    sy_put16(p + 3, qty);
    return mbap(b, tid, unit, 5);
}

size_t sy_mb_devid_req(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t first_obj)
{
    uint8_t *p = b + 7;
    p[0] = SY_MB_FC_MEI;
    p[1] = SY_MB_MEI_DEVID;
    p[2] = code;
    p[3] = first_obj;
    return mbap(b, tid, unit, 4);
}

/* Response (6.21): MEI type, ReadDevId code, conformity level, more follows, next object id,
 * number of objects, then (id, length, value) per object. Conformity 0x82 = regular
 * identification, stream and individual access. */
size_t sy_mb_devid_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t code,
                       const char *const *objs, unsigned nobj)
{
    uint8_t *p = b + 7;
    size_t n = 0;
    p[n++] = SY_MB_FC_MEI;
    p[n++] = SY_MB_MEI_DEVID;
    p[n++] = code;
    p[n++] = 0x82;
    p[n++] = 0x00; /* everything fits in one response */
    p[n++] = 0x00;
    size_t count_at = n++;
    unsigned cnt = 0;
    for (unsigned i = 0; i < nobj && i < SY_MB_MAX_OBJS; i++) {
        if (!objs[i]) continue;
        size_t len = strlen(objs[i]);
        if (len > 64) len = 64;
        p[n++] = (uint8_t)i;
        p[n++] = (uint8_t)len;
        memcpy(p + n, objs[i], len);
        n += len;
        cnt++;
    }
    p[count_at] = (uint8_t)cnt;
    return mbap(b, tid, unit, n);
}

size_t sy_mb_exception(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, uint8_t code)
{
    uint8_t *p = b + 7;
    p[0] = (uint8_t)(fc | 0x80);
    p[1] = code;
    return mbap(b, tid, unit, 2);
}
