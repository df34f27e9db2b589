/* TPKT (RFC 1006) and the ISO transport layer (COTP, ISO 8073 / X.224) as used on TCP port 102.
 *
 * Shared framing for the parsers that ride on it: S7comm, S7comm-plus and MMS (IEC 61850). Each
 * of them owns its flow state; this file only frames TPKTs, decodes the COTP header and
 * reassembles a TSDU that the sender split over several DT TPDUs (EOT bit clear). */
#ifndef QW_PROTO_COTP_H
#define QW_PROTO_COTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QW_TPKT_HDR 4

enum qw_tpkt_status {
    QW_TPKT_OK = 0,
    QW_TPKT_NEED_MORE, /* a valid header, but the TPKT is not all here yet */
    QW_TPKT_BAD,       /* not a TPKT: version is not 3, or the length is below 7 */
};

/* COTP TPDU codes (ISO 8073 s.13.1, high nibble of the type octet; CDT bits masked off). */
enum qw_cotp_type {
    QW_COTP_CR = 0xe0, /* connection request */
    QW_COTP_CC = 0xd0, /* connection confirm */
    QW_COTP_DR = 0x80, /* disconnect request */
    QW_COTP_DC = 0xc0, /* disconnect confirm */
    QW_COTP_DT = 0xf0, /* data */
    QW_COTP_ED = 0x10, /* expedited data */
    QW_COTP_AK = 0x60, /* data acknowledgement */
    QW_COTP_EA = 0x20, /* expedited data acknowledgement */
    QW_COTP_RJ = 0x50, /* reject */
    QW_COTP_ER = 0x70, /* TPDU error */
};

struct qw_cotp {
    uint8_t type;        /* qw_cotp_type */
    bool eot;            /* DT: last TPDU of the TSDU */
    uint16_t dst_ref, src_ref; /* CR/CC/DR/DC */
    const uint8_t *params;     /* CR/CC/DR: variable part (parameter code, length, value)* */
    size_t params_len;
    const uint8_t *data; /* user data after the COTP header */
    size_t data_len;
};

/* Frame the TPKT at `d`: on QW_TPKT_OK, *pdu_len is its whole length, header included. */
enum qw_tpkt_status qw_tpkt_frame(const uint8_t *d, size_t len, size_t *pdu_len);

/* Decode the COTP header of one TPKT's payload (the bytes after the 4-byte TPKT header). False
 * when the length indicator passes the payload or the type is unknown. */
bool qw_cotp_parse(const uint8_t *p, size_t len, struct qw_cotp *out);

/* A parameter of a CR/CC/DR variable part (e.g. 0xc1 calling TSAP, 0xc2 called TSAP, 0xc0 TPDU
 * size); NULL when absent or cut. */
const uint8_t *qw_cotp_param(const struct qw_cotp *c, uint8_t code, size_t *len);

/* Reassembly of a TSDU split over DT TPDUs, in a buffer the caller owns (inside its flow state,
 * one per direction). */
struct qw_cotp_asm {
    uint32_t len;
    bool overflow; /* the TSDU passed the buffer: the rest is dropped up to the next EOT */
};

/* Add one DT TPDU. Returns the complete TSDU (pointing at the DT's own data when it was not
 * split, else into `buf`) with *out_len set, or NULL while more TPDUs are expected or when the
 * TSDU overflowed `cap` (then *overflowed is set once, at its EOT). */
const uint8_t *qw_cotp_assemble(struct qw_cotp_asm *a, uint8_t *buf, size_t cap,
                                const struct qw_cotp *dt, size_t *out_len, bool *overflowed);

/* Probe helper: a TPKT header (version 3, reserved 0, length >= 7) and a COTP type known to
 * ISO 8073. Returns the COTP decoded from what is here when the TPKT is complete. */
enum qw_tpkt_status qw_tpkt_cotp_probe(const uint8_t *d, size_t len, struct qw_cotp *out);

#endif
