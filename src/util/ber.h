/* ASN.1 BER/DER tag-length-value reader (ITU-T X.690 s.8.1) over attacker-controlled bytes.
 *
 * Shared by the parsers whose PDUs are ASN.1: MMS and GOOSE (IEC 61850), SNMP, and the
 * Kerberos/LDAP/X.509 parts of IT protocols. Only definite lengths of up to 4 length octets are
 * accepted (X.690 s.8.1.3); the indefinite form (0x80) is reported so a caller can refuse it.
 * Tag numbers above 2^28 are refused. Nothing is allocated; values point into the input. */
#ifndef QW_UTIL_BER_H
#define QW_UTIL_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

enum qw_ber_class {
    QW_BER_UNIVERSAL = 0,
    QW_BER_APPLICATION = 1,
    QW_BER_CONTEXT = 2,
    QW_BER_PRIVATE = 3,
};

enum qw_ber_status {
    QW_BER_OK = 0,
    QW_BER_TRUNCATED,  /* the input ends inside the identifier, the length or the value */
    QW_BER_INDEFINITE, /* indefinite length: not supported by these readers */
    QW_BER_BAD,        /* an identifier or length that X.690 does not allow here */
};

struct qw_ber_tlv {
    uint8_t cls;         /* qw_ber_class */
    bool constructed;
    uint32_t tag;        /* tag number within the class */
    const uint8_t *val;  /* the contents octets */
    size_t len;          /* their number (all present when the status is QW_BER_OK) */
    size_t hdr_len;      /* identifier + length octets */
};

/* Read one TLV at the cursor and move past it. On any status other than QW_BER_OK the cursor's
 * error flag is set and *t is undefined. */
enum qw_ber_status qw_ber_next(struct qw_cursor *c, struct qw_ber_tlv *t);

/* A cursor over a TLV's contents (for walking a constructed value). */
static inline struct qw_cursor qw_ber_contents(const struct qw_ber_tlv *t)
{
    return qw_cursor_make(t->val, t->len);
}

/* INTEGER contents (two's complement, X.690 s.8.3) as signed / unsigned 64-bit. False when the
 * value is empty or does not fit (an unsigned read of a negative value does not fit). */
bool qw_ber_int(const struct qw_ber_tlv *t, int64_t *out);
bool qw_ber_uint(const struct qw_ber_tlv *t, uint64_t *out);

/* OBJECT IDENTIFIER contents in dotted text ("1.3.6.1.2.1.1.1.0"), NUL-terminated. False when
 * malformed (X.690 s.8.19) or when `cap` is too small. */
bool qw_ber_oid_str(const struct qw_ber_tlv *t, char *out, size_t cap);

#endif
