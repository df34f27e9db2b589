/* The identity fields of an X.509 certificate, for the TLS parser.
 *
 * Specifications:
 *   [X509] RFC 5280: s.4.1 Certificate and TBSCertificate, s.4.1.2.2 serialNumber (at most 20
 *          octets), s.4.1.2.4 Name (RDNSequence of SETs of AttributeTypeAndValue; DirectoryString
 *          choices), s.4.1.2.5 Validity (UTCTime until 2049, GeneralizedTime after; s.4.1.2.5.1
 *          YY >= 50 means 19YY).
 *   [X520] ITU-T X.520 / RFC 4519 attribute types: commonName 2.5.4.3, organizationName
 *          2.5.4.10.
 *   [DER]  ITU-T X.690 s.8.1 (TLV), s.8.23.5-6 and s.11.7-8 (UTCTime, GeneralizedTime).
 *
 * Only the TBSCertificate fields up to the subject are read; they come before the public key and
 * the extensions, so a certificate whose end was cut off (a bounded reassembly buffer) still
 * yields them. Nothing is verified: a passive monitor has no trust store, and "self-signed" here
 * means only that the subject and issuer names are byte-for-byte equal. */
#ifndef QW_PROTO_TLS_X509_H
#define QW_PROTO_TLS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_X509_STR_MAX 128  /* name attribute values kept, as UTF-8 (longer ones are cut) */
#define TLS_X509_SERIAL_MAX 32 /* serial octets shown as hex: [X509] allows 20, some send 21+ */
#define TLS_X509_TIME_STR 21  /* "2026-11-20T21:30:00Z" + NUL */

struct tls_x509_str {
    uint8_t len;
    bool cut;
    char s[TLS_X509_STR_MAX];
};

enum tls_x509_status {
    TLS_X509_OK = 0,
    TLS_X509_TRUNCATED, /* the DER ends before the subject: partial fields only */
    TLS_X509_MALFORMED, /* a TLV or value that [X509] does not allow where it is */
};

struct tls_x509 {
    uint8_t version; /* 1..3 ([X509] s.4.1.2.1: the DER value plus one) */
    struct tls_x509_str subject_cn, subject_o, issuer_cn, issuer_o;
    uint8_t serial_len;
    bool serial_cut;
    uint8_t serial[TLS_X509_SERIAL_MAX];
    bool has_validity;
    int64_t not_before, not_after; /* seconds since the epoch, UTC */
    char not_before_str[TLS_X509_TIME_STR], not_after_str[TLS_X509_TIME_STR];
    bool has_subject;
    bool self_signed; /* subject and issuer DER are identical */
};

/* Decode what is present of one DER certificate. Fields decoded before a problem stay set. */
enum tls_x509_status tls_x509_parse(const uint8_t *der, size_t len, struct tls_x509 *out);

/* Seconds since the epoch of a UTC calendar time (proleptic Gregorian). */
int64_t tls_x509_epoch(int year, int month, int day, int hour, int minute, int second);

#endif
