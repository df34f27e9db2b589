/* S7comm over ISO-on-TCP: TPKT (RFC 1006 section 6), COTP class 0 connection request, confirm
 * and data TPDUs (ISO 8073 / ITU-T X.224 section 13), and the S7comm PDUs a SCADA driver and an
 * attacker's tool send to an S7-1200: setup communication, SZL reads (userdata, CPU functions),
 * read variable, PLC stop. Layouts are written out below, field by field. */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

/* ---- TPKT and COTP ---- */

#define TPKT_VERSION 3
#define COTP_CR 0xe0 /* connection request, credit 0 */
#define COTP_CC 0xd0 /* connection confirm */
#define COTP_DT 0xf0 /* data */
#define COTP_EOT 0x80
#define COTP_P_TPDU_SIZE 0xc0
#define COTP_P_CALLING 0xc1
#define COTP_P_CALLED 0xc2
#define COTP_TPDU_1024 0x0a /* 2^10 octets */

static void tpkt(uint8_t *b, size_t total)
{
    b[0] = TPKT_VERSION;
    b[1] = 0;
    sy_put16(b + 2, (uint16_t)total); /* includes these four octets */
}

/* CR and CC share a layout: LI, code, DST-REF, SRC-REF, class/options, then the parameters
 * TPDU size, calling TSAP, called TSAP. LI counts the octets after itself. */
static size_t cotp_connect(uint8_t *b, uint8_t code, uint16_t dst_ref, uint16_t src_ref,
                           uint16_t calling, uint16_t called)
{
    uint8_t *c = b + 4;
    c[1] = code;
    sy_put16(c + 2, dst_ref);
    sy_put16(c + 4, src_ref);
    c[6] = 0x00; /* class 0, no options */
    c[7] = COTP_P_TPDU_SIZE, c[8] = 1, c[9] = COTP_TPDU_1024;
    c[10] = COTP_P_CALLING, c[11] = 2;
    sy_put16(c + 12, calling);
    c[14] = COTP_P_CALLED, c[15] = 2;
    sy_put16(c + 16, called);
    c[0] = 17;
    tpkt(b, 4 + 18);
    return 4 + 18;
}

size_t sy_cotp_cr(uint8_t *b, uint16_t src_ref, uint16_t calling, uint16_t called)
{
    return cotp_connect(b, COTP_CR, 0, src_ref, calling, called);
}

size_t sy_cotp_cc(uint8_t *b, uint16_t dst_ref, uint16_t src_ref, uint16_t calling,
                  uint16_t called)
{
    return cotp_connect(b, COTP_CC, dst_ref, src_ref, calling, called);
}

/* TPKT + COTP DT (LI 2, code, EOT with TPDU number 0) around an S7 PDU of s7len octets that
 * already sits at b + SY_S7_OFF. */
static size_t dt(uint8_t *b, size_t s7len)
{
    b[4] = 2;
    b[5] = COTP_DT;
    b[6] = COTP_EOT;
    tpkt(b, SY_S7_OFF + s7len);
    return SY_S7_OFF + s7len;
}

/* ---- S7comm header ---- */

#define S7_ID 0x32
#define ROSCTR_JOB 1
#define ROSCTR_ACK_DATA 3
#define ROSCTR_USERDATA 7
#define FN_READ_VAR 0x04
#define FN_SETUP 0xf0
#define FN_PLC_STOP 0x29

/* Protocol id, ROSCTR, redundancy id (0), PDU reference, parameter and data lengths; ack-data
 * adds the error class and code. Returns the header length (10 or 12). */
static size_t s7_header(uint8_t *p, uint8_t rosctr, uint16_t ref, size_t plen, size_t dlen)
{
    p[0] = S7_ID;
    p[1] = rosctr;
    sy_put16(p + 2, 0);
    sy_put16(p + 4, ref);
    sy_put16(p + 6, (uint16_t)plen);
    sy_put16(p + 8, (uint16_t)dlen);
    if (rosctr != ROSCTR_ACK_DATA) return 10;
    p[10] = 0; /* error class: none */
    p[11] = 0;
    return 12;
}

size_t sy_s7_setup(uint8_t *b, bool ack, uint16_t ref, uint16_t pdu_len)
{
    uint8_t *p = b + SY_S7_OFF;
    size_t h = s7_header(p, ack ? ROSCTR_ACK_DATA : ROSCTR_JOB, ref, 8, 0);
    uint8_t *q = p + h;
    q[0] = FN_SETUP;
    q[1] = 0;         /* reserved */
    sy_put16(q + 2, 1); /* max parallel jobs, calling */
    sy_put16(q + 4, 1); /* max parallel jobs, called */
    sy_put16(q + 6, pdu_len);
    return dt(b, h + 8);
}

/* ---- userdata: SZL reads ---- */

#define UD_HEAD0 0x00 /* parameter head 00 01 12 */
#define UD_HEAD1 0x01
#define UD_HEAD2 0x12
#define UD_METHOD_REQ 0x11
#define UD_METHOD_RSP 0x12
#define UD_TYPE_REQ 0x4 /* high nibble of the type/group octet */
#define UD_TYPE_RSP 0x8
#define UD_GROUP_CPU 0x4
#define UD_SUB_READ_SZL 0x01
#define RET_OK 0xff
#define TS_OCTETS 0x09 /* data transport size: octet string, length in octets */
#define TS_BYTES 0x04  /* BYTE/WORD/DWORD, length in bits */

size_t sy_s7_szl_req(uint8_t *b, uint16_t ref, uint16_t id, uint16_t index)
{
    uint8_t *p = b + SY_S7_OFF;
    size_t h = s7_header(p, ROSCTR_USERDATA, ref, 8, 8);
    uint8_t *q = p + h;
    q[0] = UD_HEAD0, q[1] = UD_HEAD1, q[2] = UD_HEAD2;
    q[3] = 4; /* octets of parameter that follow */
    q[4] = UD_METHOD_REQ;
    q[5] = UD_TYPE_REQ << 4 | UD_GROUP_CPU;
    q[6] = UD_SUB_READ_SZL;
    q[7] = 0; /* sequence number */
    uint8_t *d = q + 8;
    d[0] = RET_OK;
    d[1] = TS_OCTETS;
    sy_put16(d + 2, 4);
    sy_put16(d + 4, id);
    sy_put16(d + 6, index);
    return dt(b, h + 16);
}

/* Response parameter (12 octets) and data header: return code, transport size, length, SZL id,
 * index, record length, record count. Returns where the records go. */
static uint8_t *szl_rsp_begin(uint8_t *b, uint16_t ref, uint8_t seq, uint16_t id, uint16_t index,
                              uint16_t reclen, uint16_t nrec, size_t *total)
{
    uint8_t *p = b + SY_S7_OFF;
    size_t dlen = 4 + 8 + (size_t)reclen * nrec;
    size_t h = s7_header(p, ROSCTR_USERDATA, ref, 12, dlen);
    uint8_t *q = p + h;
    q[0] = UD_HEAD0, q[1] = UD_HEAD1, q[2] = UD_HEAD2;
    q[3] = 8;
    q[4] = UD_METHOD_RSP;
    q[5] = UD_TYPE_RSP << 4 | UD_GROUP_CPU;
    q[6] = UD_SUB_READ_SZL;
    q[7] = seq;
    q[8] = 0; /* data unit reference */
    q[9] = 0; /* last data unit: yes */
    sy_put16(q + 10, 0); /* error code: none */
    uint8_t *d = q + 12;
    d[0] = RET_OK;
    d[1] = TS_OCTETS;
    sy_put16(d + 2, (uint16_t)(dlen - 4));
    sy_put16(d + 4, id);
    sy_put16(d + 6, index);
    sy_put16(d + 8, reclen);
    sy_put16(d + 10, nrec);
    *total = h + 12 + dlen;
    return d + 12;
}

/* Fixed-width text field, padded with `pad`. */
static void text_field(uint8_t *p, size_t width, const char *s, uint8_t pad)
{
    size_t n = strlen(s);
    if (n > width) n = width;
    memcpy(p, s, n);
    memset(p + n, pad, width - n);
}

/* SZL 0x0011 (module identification), all records: index 1 the module (order number, hardware
 * version), 6 the basic hardware, 7 the basic firmware (Ausbg 'V' and the major version, Ausbe
 * minor and patch). Each record: index, MlfB (20 characters), BGTyp, Ausbg, Ausbe. */
size_t sy_s7_szl11_rsp(uint8_t *b, uint16_t ref, uint8_t seq, const char *order, unsigned hw,
                       unsigned fw_major, unsigned fw_minor, unsigned fw_patch)
{
    static const uint16_t idx[3] = {0x0001, 0x0006, 0x0007};
    size_t total;
    uint8_t *r = szl_rsp_begin(b, ref, seq, 0x0011, 0x0000, 28, 3, &total);
    for (int i = 0; i < 3; i++, r += 28) {
        sy_put16(r, idx[i]);
        text_field(r + 2, 20, i == 2 ? "" : order, ' ');
        sy_put16(r + 22, 0); /* BGTyp */
        if (i == 2) {
            r[24] = 'V';
            r[25] = (uint8_t)fw_major;
            r[26] = (uint8_t)fw_minor;
            r[27] = (uint8_t)fw_patch;
        } else {
            sy_put16(r + 24, (uint16_t)hw);
            sy_put16(r + 26, i == 0 ? 1 : 0);
        }
    }
    return dt(b, total);
}

/* SZL 0x001C (component identification): records of an index and 32 octets of text. */
size_t sy_s7_szl1c_rsp(uint8_t *b, uint16_t ref, uint8_t seq, const uint16_t *idx,
                       const char *const *text, unsigned n)
{
    size_t total;
    uint8_t *r = szl_rsp_begin(b, ref, seq, 0x001c, 0x0000, 34, (uint16_t)n, &total);
    for (unsigned i = 0; i < n; i++, r += 34) {
        sy_put16(r, idx[i]);
        text_field(r + 2, 32, text[i], 0);
    }
    return dt(b, total);
}

/* ---- read variable ---- */

#define SYNTAX_S7ANY 0x10
#define TS_ITEM_BYTE 0x02
#define AREA_DB 0x84

size_t sy_s7_read_req(uint8_t *b, uint16_t ref, uint16_t db, uint32_t start, uint16_t nbytes)
{
    uint8_t *p = b + SY_S7_OFF;
    size_t h = s7_header(p, ROSCTR_JOB, ref, 14, 0);
    uint8_t *q = p + h;
    q[0] = FN_READ_VAR;
    q[1] = 1;    /* item count */
    q[2] = 0x12; /* variable specification */
    q[3] = 10;   /* length of the address that follows */
    q[4] = SYNTAX_S7ANY;
    q[5] = TS_ITEM_BYTE;
    sy_put16(q + 6, nbytes);
    sy_put16(q + 8, db);
    q[10] = AREA_DB;
    uint32_t bit = start * 8; /* byte and bit address */
    q[11] = (uint8_t)(bit >> 16);
    q[12] = (uint8_t)(bit >> 8);
    q[13] = (uint8_t)bit;
    return dt(b, h + 14);
}

size_t sy_s7_read_rsp(uint8_t *b, uint16_t ref, const uint8_t *data, uint16_t nbytes)
{
    uint8_t *p = b + SY_S7_OFF;
    size_t h = s7_header(p, ROSCTR_ACK_DATA, ref, 2, 4u + nbytes);
    uint8_t *q = p + h;
    q[0] = FN_READ_VAR;
    q[1] = 1;
    uint8_t *d = q + 2;
    d[0] = RET_OK;
    d[1] = TS_BYTES;
    sy_put16(d + 2, (uint16_t)(nbytes * 8));
    memcpy(d + 4, data, nbytes); /* the only item: no fill byte after it */
    return dt(b, h + 2 + 4 + nbytes);
}

/* ---- PLC stop ---- */

/* Job: function, five reserved octets, the length of the PI service name and the name
 * "P_PROGRAM"; ack-data: the function alone. */
size_t sy_s7_plc_stop(uint8_t *b, bool ack, uint16_t ref)
{
    static const char pi[] = "P_PROGRAM";
    uint8_t *p = b + SY_S7_OFF;
    if (ack) {
        size_t h = s7_header(p, ROSCTR_ACK_DATA, ref, 1, 0);
        p[h] = FN_PLC_STOP;
        return dt(b, h + 1);
    }
    size_t plen = 1 + 5 + 1 + (sizeof pi - 1);
    size_t h = s7_header(p, ROSCTR_JOB, ref, plen, 0);
    uint8_t *q = p + h;
    q[0] = FN_PLC_STOP;
    memset(q + 1, 0, 5);
    q[6] = (uint8_t)(sizeof pi - 1);
    memcpy(q + 7, pi, sizeof pi - 1);
    return dt(b, h + plen);
}
