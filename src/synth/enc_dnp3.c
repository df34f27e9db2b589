/* DNP3 over TCP (IEEE 1815-2012): the data link frame (clause 9: a 10-octet header block, then
 * the user data in blocks of up to 16 octets, every block followed by its CRC), the transport
 * header (clause 8: FIN, FIR and a 6-bit sequence number), and the application fragments of a
 * master polling an outstation (clause 4: request and response headers, internal indications,
 * object headers with range and count qualifiers). */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

#define LINK_START0 0x05
#define LINK_START1 0x64
#define LINK_DIR 0x80 /* set on frames from the master */
#define LINK_PRM 0x40 /* primary (initiating) station */
#define LINK_FC_UNCONFIRMED_USER_DATA 4
#define TP_FIN 0x80
#define TP_FIR 0x40
#define AC_FIR 0x80
#define AC_FIN 0x40
#define AC_CON 0x20

/* CRC-16/DNP (clause 9.2.7): generator x^16+x^13+x^12+x^11+x^10+x^8+x^6+x^5+x^2+1 (0x3D65),
 * processed least significant bit first (so the reflected constant 0xA6BC), initial value 0,
 * complemented; sent low octet first. Frames here are few, so the bitwise form is fast enough. */
uint16_t sy_dnp3_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa6bc) : crc >> 1;
    }
    return (uint16_t)~crc;
}

static void put_crc(uint8_t *p, const uint8_t *data, size_t n)
{
    uint16_t c = sy_dnp3_crc(data, n);
    p[0] = (uint8_t)c;
    p[1] = (uint8_t)(c >> 8);
}

size_t sy_dnp3_frame(uint8_t *b, bool from_master, uint16_t dst, uint16_t src, uint8_t tseq,
                     const uint8_t *app, size_t n)
{
    if (n > SY_DNP3_APP_MAX) n = SY_DNP3_APP_MAX;
    uint8_t user[1 + SY_DNP3_APP_MAX];
    user[0] = (uint8_t)(TP_FIN | TP_FIR | (tseq & 0x3f)); /* one segment per fragment */
    memcpy(user + 1, app, n);
    size_t un = n + 1;

    b[0] = LINK_START0;
    b[1] = LINK_START1;
    b[2] = (uint8_t)(5 + un); /* control, destination, source and the user data, no CRCs */
    b[3] = (uint8_t)((from_master ? LINK_DIR : 0) | LINK_PRM | LINK_FC_UNCONFIRMED_USER_DATA);
    b[4] = (uint8_t)dst, b[5] = (uint8_t)(dst >> 8); /* addresses little-endian */
    b[6] = (uint8_t)src, b[7] = (uint8_t)(src >> 8);
    put_crc(b + 8, b, 8);
    size_t at = 10;
    for (size_t off = 0; off < un; off += 16) {
        size_t k = un - off < 16 ? un - off : 16;
        memcpy(b + at, user + off, k);
        put_crc(b + at + k, user + off, k);
        at += k + 2;
    }
    return at;
}

/* ---- application layer ---- */

static size_t req_header(uint8_t *a, uint8_t seq, uint8_t fc)
{
    a[0] = (uint8_t)(AC_FIR | AC_FIN | (seq & 0x0f));
    a[1] = fc;
    return 2;
}

size_t sy_dnp3_read_classes(uint8_t *a, uint8_t seq, bool class0)
{
    size_t n = req_header(a, seq, SY_DNP3_FC_READ);
    /* class 1, 2, 3 event data (g60v2..v4), then class 0 static data (g60v1); qualifier 0x06:
     * no range, all objects */
    for (uint8_t v = 2; v <= 4; v++) a[n++] = 60, a[n++] = v, a[n++] = 0x06;
    if (class0) a[n++] = 60, a[n++] = 1, a[n++] = 0x06;
    return n;
}

size_t sy_dnp3_cold_restart(uint8_t *a, uint8_t seq)
{
    return req_header(a, seq, SY_DNP3_FC_COLD_RESTART);
}

size_t sy_dnp3_confirm(uint8_t *a, uint8_t seq)
{
    return req_header(a, seq, SY_DNP3_FC_CONFIRM);
}

size_t sy_dnp3_clear_restart(uint8_t *a, uint8_t seq)
{
    size_t n = req_header(a, seq, SY_DNP3_FC_WRITE);
    /* g80v1 internal indications, qualifier 0x00 (1-octet start and stop), index 7 (IIN1.7
     * DEVICE_RESTART), one packed bit: 0 */
    a[n++] = 80, a[n++] = 1, a[n++] = 0x00, a[n++] = 7, a[n++] = 7, a[n++] = 0x00;
    return n;
}

size_t sy_dnp3_response(uint8_t *a, uint8_t seq, bool con, uint16_t iin)
{
    a[0] = (uint8_t)(AC_FIR | AC_FIN | (con ? AC_CON : 0) | (seq & 0x0f));
    a[1] = SY_DNP3_FC_RESPONSE;
    a[2] = (uint8_t)(iin >> 8); /* IIN1 */
    a[3] = (uint8_t)iin;        /* IIN2 */
    return 4;
}

/* Object header with qualifier 0x00: 1-octet start and stop indexes. */
static size_t range_header(uint8_t *p, uint8_t g, uint8_t v, unsigned n)
{
    p[0] = g, p[1] = v, p[2] = 0x00, p[3] = 0, p[4] = (uint8_t)(n - 1);
    return 5;
}

size_t sy_dnp3_g1v2(uint8_t *p, const uint8_t *flags, unsigned n)
{
    size_t k = range_header(p, 1, 2, n);
    memcpy(p + k, flags, n);
    return k + n;
}

size_t sy_dnp3_g30v2(uint8_t *p, const int16_t *v, unsigned n)
{
    size_t k = range_header(p, 30, 2, n);
    for (unsigned i = 0; i < n; i++) {
        p[k++] = SY_DNP3_FLAG_ONLINE;
        p[k++] = (uint8_t)v[i];
        p[k++] = (uint8_t)((uint16_t)v[i] >> 8);
    }
    return k;
}

size_t sy_dnp3_g32v2(uint8_t *p, const uint8_t *idx, const int16_t *v, unsigned n)
{
    /* qualifier 0x17: 1-octet count, each object prefixed with a 1-octet index */
    size_t k = 0;
    p[k++] = 32, p[k++] = 2, p[k++] = 0x17, p[k++] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        p[k++] = idx[i];
        p[k++] = SY_DNP3_FLAG_ONLINE;
        p[k++] = (uint8_t)v[i];
        p[k++] = (uint8_t)((uint16_t)v[i] >> 8);
    }
    return k;
}

size_t sy_dnp3_g52v2(uint8_t *p, uint16_t ms)
{
    /* time delay fine, qualifier 0x07: 1-octet count, one object of 16 bits (milliseconds) */
    p[0] = 52, p[1] = 2, p[2] = 0x07, p[3] = 1;
    p[4] = (uint8_t)ms;
    p[5] = (uint8_t)(ms >> 8);
    return 6;
}
