/* TLS client and server fingerprints: JA3, JA3S and JA4.
 *
 * Definitions implemented:
 *   [JA3]  Salesforce JA3 (github.com/salesforce/ja3, README): the ClientHello's
 *          "SSLVersion,Cipher,SSLExtension,EllipticCurve,EllipticCurvePointFormat", every field
 *          a '-'-joined list of decimal values in wire order, GREASE values (RFC 8701) left out,
 *          an empty list an empty field; the fingerprint is the MD5 of that text. JA3S is
 *          "SSLVersion,Cipher,SSLExtension" of the ServerHello, hashed the same way.
 *   [JA4]  FoxIO JA4 (github.com/FoxIO-LLC/ja4, technical_details/JA4.md): a_b_c where
 *          a = 't' (TLS over TCP), two version characters (highest non-GREASE value of
 *              supported_versions, else the legacy version: 13 12 11 10 s3 s2, "00" unknown),
 *              'd' when the SNI extension is present else 'i', the cipher count and the
 *              extension count (two digits each, GREASE left out, capped at 99; SNI and ALPN are
 *              counted), and the first and last characters of the first ALPN value ("00" without
 *              ALPN; when either is not an ASCII letter or digit, the first and last characters
 *              of the value's hex form instead);
 *          b = the first 12 hex digits of SHA-256 over the sorted cipher list (4 lower-case hex
 *              digits each, comma-joined), "000000000000" when empty;
 *          c = the same over the sorted extension list without SNI (0000) and ALPN (0010),
 *              followed, when signature algorithms were sent, by '_' and the signature
 *              algorithms in wire order; "000000000000" when the extension list is empty.
 *
 * The parser fills a struct tls_fp_hello from the message; the lists are bounded and a hello
 * that overflows them gets no fingerprint (`overflow`), never a wrong one. */
#ifndef QW_PROTO_TLS_FINGERPRINT_H
#define QW_PROTO_TLS_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* List bounds. The largest ClientHellos seen in practice (scanners offering every suite an
 * OpenSSL build knows) carry about 350 cipher suites and 30 extensions. */
#define TLS_FP_CIPHERS_MAX 512
#define TLS_FP_EXTS_MAX 128
#define TLS_FP_LIST_MAX 128 /* supported groups, signature algorithms */
#define TLS_FP_VERSIONS_MAX 32
#define TLS_FP_FORMATS_MAX 32

#define TLS_MD5_HEX 33 /* 32 hex digits + NUL */
#define TLS_JA4_LEN 37 /* "t13d1516h2_8daaf6152771_e5627efa2ab1" + NUL */

struct tls_fp_hello {
    uint16_t version; /* legacy_version of the hello */
    uint16_t nciphers, nexts, ngroups, nsigalgs, nversions, nformats;
    bool overflow;        /* a list was longer than its bound: no fingerprint */
    bool has_sni;
    bool has_alpn;        /* at least one ALPN value */
    uint8_t alpn_first;   /* first and last byte of the first ALPN value */
    uint8_t alpn_last;
    uint16_t ciphers[TLS_FP_CIPHERS_MAX];
    uint16_t exts[TLS_FP_EXTS_MAX];
    uint16_t groups[TLS_FP_LIST_MAX];
    uint16_t sigalgs[TLS_FP_LIST_MAX];
    uint16_t versions[TLS_FP_VERSIONS_MAX];
    uint8_t formats[TLS_FP_FORMATS_MAX];
};

/* RFC 8701 s.2: GREASE values are 0x0A0A, 0x1A1A, ..., 0xFAFA. */
static inline bool tls_is_grease(uint16_t v)
{
    return (v & 0x0F0Fu) == 0x0A0Au && (v >> 8) == (v & 0xFFu);
}

/* JA3 of a ClientHello: the MD5 in `md5hex`, and the text into `str` (cut at `cap` - 1 bytes,
 * NUL-terminated; the MD5 always covers the whole text). Returns the whole text's length. */
size_t tls_ja3(const struct tls_fp_hello *h, char md5hex[TLS_MD5_HEX], char *str, size_t cap);

/* JA3S of a ServerHello from its version, cipher suite and extension types in wire order. */
size_t tls_ja3s(uint16_t version, uint16_t cipher, const uint16_t *exts, size_t nexts,
                char md5hex[TLS_MD5_HEX], char *str, size_t cap);

/* JA4 of a ClientHello over TCP. */
void tls_ja4(const struct tls_fp_hello *h, char out[TLS_JA4_LEN]);

#endif
