/* The OSI upper layers between COTP and MMS: ISO 8327-1 session SPDUs, ISO 8823-1 presentation
 * PPDUs and the ISO 8650-1 ACSE APDUs that carry the MMS initiate exchange, decoded just enough
 * to find the MMS PDU in a TSDU. Used by src/proto/mms.c.
 *
 * Nothing is allocated and nothing is kept: every pointer in the result points into the TSDU.
 * A TSDU may be cut (only its first part was kept, see mms.c): the readers then use what is
 * there and say so. */
#ifndef QW_PROTO_ISO_SESSION_H
#define QW_PROTO_ISO_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ber.h"
#include "util/cursor.h"

/* Session SPDU identifiers (ISO 8327-1 / X.225 s.8.3, the SI octet). DATA TRANSFER and GIVE
 * TOKENS share the value 1; a DT SPDU is always preceded by a category 0 SPDU in its TSDU. */
enum qw_spdu {
    QW_SPDU_NONE = 0,
    QW_SPDU_DATA = 1,        /* GIVE TOKENS (cat. 0) + DATA TRANSFER (cat. 2) */
    QW_SPDU_NOT_FINISHED = 8,
    QW_SPDU_FINISH = 9,
    QW_SPDU_DISCONNECT = 10,
    QW_SPDU_REFUSE = 12,
    QW_SPDU_CONNECT = 13,
    QW_SPDU_ACCEPT = 14,
    QW_SPDU_ABORT = 25,
    QW_SPDU_ABORT_ACCEPT = 26,
    QW_SPDU_RAW_MMS = 0x100, /* no session layer: the TSDU is an MMS PDU (seen in test tools) */
};

/* ACSE APDUs (ISO 8650-1 / X.227: [APPLICATION n]). */
enum qw_acse {
    QW_ACSE_NONE = -1,
    QW_ACSE_AARQ = 0,
    QW_ACSE_AARE = 1,
    QW_ACSE_RLRQ = 2,
    QW_ACSE_RLRE = 3,
    QW_ACSE_ABRT = 4,
};

/* Why a TSDU gave no MMS PDU; the caller turns the malformed ones into anomalies. */
enum qw_iso_status {
    QW_ISO_OK = 0,          /* `mms` is set */
    QW_ISO_NO_MMS,          /* a well-formed SPDU without MMS (e.g. ACSE release, abort) */
    QW_ISO_BAD_SPDU,        /* session layer broken */
    QW_ISO_BAD_PPDU,        /* presentation layer broken */
    QW_ISO_BAD_ACSE,        /* ACSE broken */
    QW_ISO_UNSUPPORTED,     /* an SPDU or encoding we do not decode (counted, not malformed) */
};

struct qw_iso_result {
    int spdu;                /* qw_spdu of the first SPDU */
    int acse;                /* qw_acse, or QW_ACSE_NONE */
    bool cut;                /* the TSDU was cut: `mms` may be cut too */
    bool lenient_user_data;  /* a session User Data parameter declared 0 octets but the data
                              * followed inside the SPDU (accepted; reported as an anomaly) */
    const uint8_t *mms;      /* the MMS PDU (its first octets when cut) */
    size_t mms_len;
};

/* Decode the upper layers of one TSDU. */
enum qw_iso_status qw_iso_tsdu(const uint8_t *tsdu, size_t len, bool cut,
                               struct qw_iso_result *out);

/* Probe helper: do the first octets of a TSDU look like an ISO session SPDU that MMS uses
 * (CONNECT, ACCEPT, GIVE TOKENS + DATA TRANSFER) or a bare MMS PDU? -1 no, 0 need more, 1 yes. */
int qw_iso_probe_tsdu(const uint8_t *p, size_t len, bool complete);

/* BER with tolerance for a cut input: read the TLV at `c` like qw_ber_next, but when only its
 * value is cut, still return its header, a cursor over the contents that are present and
 * *cut = true (the parent cursor is then at its end; t->len is then the number of octets
 * present, not the declared length). False when even the identifier or the length is
 * incomplete or invalid. */
bool qw_iso_tlv(struct qw_cursor *c, struct qw_ber_tlv *t, struct qw_cursor *contents,
                bool *cut);

#endif
