/* TLS 1.2 handshake and X.509 certificate encoder (declarations and scope in enc.h).
 *
 * Specifications:
 *   [TLS12]  RFC 5246: s.6.2 records, s.7.4 handshake messages, s.7.1 ChangeCipherSpec;
 *            RFC 5288 (AES-GCM suites: 8-byte explicit nonce, 16-byte tag);
 *   [ECC]    RFC 8422: s.5.1 supported_groups and ec_point_formats, s.5.4 ServerKeyExchange,
 *            s.5.7 ClientKeyExchange (x25519: a 32-byte point);
 *   [EXT]    RFC 5746 renegotiation_info, RFC 7627 extended_master_secret, RFC 7366
 *            encrypt_then_mac, RFC 8446 s.4.2.3 signature scheme numbers;
 *   [X509]   RFC 5280: s.4.1 Certificate, s.4.1.2.5 Validity (UTCTime through 2049,
 *            GeneralizedTime from 2050), s.4.2.1 the extensions written here;
 *   [DER]    ITU-T X.690 s.8 and s.10 (definite lengths in the fewest octets).
 *
 * One writer serves both encodings: bytes go into the caller's buffer only while they fit, and
 * a length is filled in when its block closes. TLS vectors have fixed-width lengths; a DER
 * block starts with the one-octet length form and moves its contents on when it needs a longer
 * one, so every length is minimal as DER demands and the writer never holds more bytes than
 * the finished encoding: whatever fits exactly is written. */
#include <string.h>

#include "synth/enc.h"
#include "util/timefmt.h"

/* ---- the writer ---------------------------------------------------------------------------- */

struct wr {
    uint8_t *b;
    size_t cap, n;
    bool full; /* something did not fit: the result is void */
};

static uint8_t *room(struct wr *w, size_t n)
{
    if (w->full || n > w->cap - w->n) {
        w->full = true;
        return NULL;
    }
    uint8_t *p = w->b + w->n;
    w->n += n;
    return p;
}

static void put(struct wr *w, const void *p, size_t n)
{
    uint8_t *d = room(w, n);
    if (d && n) memcpy(d, p, n);
}

static void put_u8(struct wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put_u16(struct wr *w, unsigned v)
{
    put_u8(w, v >> 8);
    put_u8(w, v);
}

static void put_random(struct wr *w, size_t n, struct sy_rng *r)
{
    uint8_t *d = room(w, n);
    if (d) sy_rand_bytes(r, d, n);
}

static size_t done(const struct wr *w)
{
    return w->full ? 0 : w->n;
}

/* A TLS vector: a big-endian length of `width` octets in front of what follows. */
static size_t vec_open(struct wr *w, unsigned width)
{
    size_t at = w->n;
    room(w, width);
    return at;
}

static void vec_close(struct wr *w, size_t at, unsigned width)
{
    if (w->full) return;
    size_t len = w->n - at - width;
    for (unsigned i = width; i-- > 0; len >>= 8) w->b[at + i] = (uint8_t)len;
}

/* ---- DER ----------------------------------------------------------------------------------- */

enum {
    DER_BOOLEAN = 0x01,
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_OCTET_STRING = 0x04,
    DER_NULL = 0x05,
    DER_OID = 0x06,
    DER_UTF8 = 0x0c,
    DER_UTCTIME = 0x17,
    DER_GENTIME = 0x18,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
    DER_EXPLICIT_0 = 0xa0, /* [0] constructed: the certificate's version */
    DER_EXPLICIT_3 = 0xa3, /* [3] constructed: its extensions */
    DER_IMPLICIT_0 = 0x80, /* [0] primitive: AuthorityKeyIdentifier.keyIdentifier */
};

/* Object identifiers, contents octets (X.690 s.8.19). */
static const uint8_t oid_sha256_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
static const uint8_t oid_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};                 /* 2.5.4.3 */
static const uint8_t oid_o[] = {0x55, 0x04, 0x0a};                  /* 2.5.4.10 */
static const uint8_t oid_subject_key_id[] = {0x55, 0x1d, 0x0e};     /* 2.5.29.14 */
static const uint8_t oid_key_usage[] = {0x55, 0x1d, 0x0f};          /* 2.5.29.15 */
static const uint8_t oid_basic_constraints[] = {0x55, 0x1d, 0x13};  /* 2.5.29.19 */
static const uint8_t oid_authority_key_id[] = {0x55, 0x1d, 0x23};   /* 2.5.29.35 */
static const uint8_t oid_ext_key_usage[] = {0x55, 0x1d, 0x25};      /* 2.5.29.37 */
static const uint8_t oid_server_auth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const uint8_t oid_client_auth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};

/* keyUsage bits ([X509] s.4.2.1.3) as a DER BIT STRING's first octet and its unused bits. */
#define KU_DIGITAL_SIGNATURE 0x80
#define KU_KEY_ENCIPHERMENT 0x20

#define RSA_MODULUS_LEN 256 /* RSA-2048 */
#define RSA_EXPONENT 65537u
#define SERIAL_LEN 16

static size_t der_open(struct wr *w, uint8_t tag)
{
    size_t at = w->n;
    put_u8(w, tag);
    room(w, 1); /* the short length form; der_close makes room for a longer one */
    return at;
}

static void der_close(struct wr *w, size_t at)
{
    if (w->full) return;
    size_t body = at + 2, len = w->n - body;
    uint8_t hdr[3];
    size_t h;
    if (len < 0x80) {
        hdr[0] = (uint8_t)len;
        h = 1;
    } else if (len <= 0xff) {
        hdr[0] = 0x81;
        hdr[1] = (uint8_t)len;
        h = 2;
    } else if (len <= 0xffff) {
        hdr[0] = 0x82;
        hdr[1] = (uint8_t)(len >> 8);
        hdr[2] = (uint8_t)len;
        h = 3;
    } else {
        w->full = true; /* nothing here comes near 64 KiB */
        return;
    }
    if (h > 1 && !room(w, h - 1)) return;
    memmove(w->b + at + 1 + h, w->b + body, len);
    memcpy(w->b + at + 1, hdr, h);
}

static void der_prim(struct wr *w, uint8_t tag, const void *p, size_t n)
{
    size_t at = der_open(w, tag);
    put(w, p, n);
    der_close(w, at);
}

static void der_oid(struct wr *w, const uint8_t *oid, size_t n)
{
    der_prim(w, DER_OID, oid, n);
}

#define DER_OID(w, oid) der_oid((w), (oid), sizeof(oid))

/* A non-negative INTEGER from big-endian magnitude octets (no leading zero octets given): a
 * zero octet goes in front when the top bit is set, so the value stays positive. */
static void der_uint(struct wr *w, const uint8_t *mag, size_t n)
{
    size_t at = der_open(w, DER_INTEGER);
    if (n == 0 || (mag[0] & 0x80)) put_u8(w, 0);
    put(w, mag, n);
    der_close(w, at);
}

static void der_small_uint(struct wr *w, uint32_t v)
{
    uint8_t mag[4];
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
        if (n || (v >> shift) & 0xff || shift == 0) mag[n++] = (uint8_t)(v >> shift);
    der_uint(w, mag, n);
}

/* AlgorithmIdentifier with NULL parameters (RFC 4055 s.5 for RSA). */
static void der_algorithm(struct wr *w, const uint8_t *oid, size_t n)
{
    size_t seq = der_open(w, DER_SEQUENCE);
    der_oid(w, oid, n);
    der_prim(w, DER_NULL, NULL, 0);
    der_close(w, seq);
}

/* [X509] s.4.1.2.4: one RelativeDistinguishedName per attribute, organisation first. */
static void der_name(struct wr *w, const char *cn, const char *o)
{
    const struct {
        const uint8_t *oid;
        size_t oid_len;
        const char *value;
    } rdns[] = {{oid_o, sizeof oid_o, o}, {oid_cn, sizeof oid_cn, cn}};
    size_t name = der_open(w, DER_SEQUENCE);
    for (size_t i = 0; i < sizeof rdns / sizeof rdns[0]; i++) {
        size_t set = der_open(w, DER_SET), atv = der_open(w, DER_SEQUENCE);
        der_oid(w, rdns[i].oid, rdns[i].oid_len);
        der_prim(w, DER_UTF8, rdns[i].value, strlen(rdns[i].value));
        der_close(w, atv);
        der_close(w, set);
    }
    der_close(w, name);
}

/* [X509] s.4.1.2.5: UTCTime YYMMDDHHMMSSZ for 1950-2049, else GeneralizedTime YYYYMMDDHHMMSSZ. */
static void der_time(struct wr *w, uint64_t unix_s)
{
    char iso[QW_TIME_STR_MAX]; /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
    qw_time_rfc3339(unix_s * 1000000000u, iso);
    static const uint8_t from[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    char t[sizeof from + 1];
    for (size_t i = 0; i < sizeof from; i++) t[i] = iso[from[i]];
    t[sizeof from] = 'Z';
    unsigned year = (unsigned)(t[0] - '0') * 1000 + (unsigned)(t[1] - '0') * 100 +
                    (unsigned)(t[2] - '0') * 10 + (unsigned)(t[3] - '0');
    if (year >= 1950 && year < 2050)
        der_prim(w, DER_UTCTIME, t + 2, sizeof t - 2);
    else
        der_prim(w, DER_GENTIME, t, sizeof t);
}

/* BIT STRING of whole octets: no unused bits. */
static size_t bit_string_open(struct wr *w)
{
    size_t at = der_open(w, DER_BIT_STRING);
    put_u8(w, 0);
    return at;
}

static void der_rsa_public_key(struct wr *w, struct sy_rng *r)
{
    size_t spki = der_open(w, DER_SEQUENCE);
    der_algorithm(w, oid_rsa, sizeof oid_rsa);
    size_t bits = bit_string_open(w), key = der_open(w, DER_SEQUENCE);
    uint8_t modulus[RSA_MODULUS_LEN];
    sy_rand_bytes(r, modulus, sizeof modulus);
    modulus[0] |= 0x80;                   /* a full 2048 bits */
    modulus[RSA_MODULUS_LEN - 1] |= 0x01; /* a product of two odd primes is odd */
    der_uint(w, modulus, sizeof modulus);
    der_small_uint(w, RSA_EXPONENT);
    der_close(w, key);
    der_close(w, bits);
    der_close(w, spki);
}

/* Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING };
 * the caller writes the value's DER between open and close. */
static size_t ext_open(struct wr *w, const uint8_t *oid, size_t n, bool critical, size_t *value)
{
    size_t ext = der_open(w, DER_SEQUENCE);
    der_oid(w, oid, n);
    if (critical) der_prim(w, DER_BOOLEAN, "\xff", 1);
    *value = der_open(w, DER_OCTET_STRING);
    return ext;
}

static void ext_close(struct wr *w, size_t ext, size_t value)
{
    der_close(w, value);
    der_close(w, ext);
}

static void der_extensions(struct wr *w, const struct sy_x509_spec *s, struct sy_rng *r)
{
    size_t tagged = der_open(w, DER_EXPLICIT_3), list = der_open(w, DER_SEQUENCE), v, e;

    e = ext_open(w, oid_basic_constraints, sizeof oid_basic_constraints, true, &v);
    der_close(w, der_open(w, DER_SEQUENCE)); /* cA FALSE is the default: an empty SEQUENCE */
    ext_close(w, e, v);

    /* a TLS server with RSA may also be sent a key to decrypt; a client only signs */
    uint8_t usage = KU_DIGITAL_SIGNATURE | (s->server ? KU_KEY_ENCIPHERMENT : 0);
    uint8_t unused = 0;
    while (!(usage >> unused & 1)) unused++; /* DER: trailing zero bits are left out */
    e = ext_open(w, oid_key_usage, sizeof oid_key_usage, true, &v);
    der_prim(w, DER_BIT_STRING, (uint8_t[]){unused, usage}, 2);
    ext_close(w, e, v);

    e = ext_open(w, oid_ext_key_usage, sizeof oid_ext_key_usage, false, &v);
    size_t purposes = der_open(w, DER_SEQUENCE);
    if (s->server) DER_OID(w, oid_server_auth);
    else DER_OID(w, oid_client_auth);
    der_close(w, purposes);
    ext_close(w, e, v);

    e = ext_open(w, oid_subject_key_id, sizeof oid_subject_key_id, false, &v);
    size_t id = der_open(w, DER_OCTET_STRING);
    put_random(w, SY_X509_KEY_ID_LEN, r);
    der_close(w, id);
    ext_close(w, e, v);

    e = ext_open(w, oid_authority_key_id, sizeof oid_authority_key_id, false, &v);
    size_t aki = der_open(w, DER_SEQUENCE);
    der_prim(w, DER_IMPLICIT_0, s->issuer_key_id, SY_X509_KEY_ID_LEN);
    der_close(w, aki);
    ext_close(w, e, v);

    der_close(w, list);
    der_close(w, tagged);
}

static void der_tbs_certificate(struct wr *w, const struct sy_x509_spec *s, struct sy_rng *r)
{
    size_t tbs = der_open(w, DER_SEQUENCE);
    size_t version = der_open(w, DER_EXPLICIT_0);
    der_small_uint(w, 2); /* v3 */
    der_close(w, version);
    uint8_t serial[SERIAL_LEN];
    sy_rand_bytes(r, serial, sizeof serial);
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x01); /* positive, no superfluous zero octet */
    der_uint(w, serial, sizeof serial);
    der_algorithm(w, oid_sha256_rsa, sizeof oid_sha256_rsa);
    der_name(w, s->issuer_cn, s->issuer_o);
    size_t validity = der_open(w, DER_SEQUENCE);
    der_time(w, s->not_before);
    der_time(w, s->not_after);
    der_close(w, validity);
    der_name(w, s->subject_cn, s->subject_o);
    der_rsa_public_key(w, r);
    der_extensions(w, s, r);
    der_close(w, tbs);
}

size_t sy_x509_cert(uint8_t *b, size_t cap, const struct sy_x509_spec *s, struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    size_t cert = der_open(&w, DER_SEQUENCE);
    der_tbs_certificate(&w, s, r);
    der_algorithm(&w, oid_sha256_rsa, sizeof oid_sha256_rsa);
    size_t sig = bit_string_open(&w);
    put_random(&w, RSA_MODULUS_LEN, r);
    der_close(&w, sig);
    der_close(&w, cert);
    return done(&w);
}

size_t sy_x509_name(uint8_t *b, size_t cap, const char *cn, const char *o)
{
    struct wr w = {b, cap, 0, false};
    der_name(&w, cn, o);
    return done(&w);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

enum { REC_CHANGE_CIPHER_SPEC = 20, REC_HANDSHAKE = 22, REC_APPLICATION_DATA = 23 };

enum {
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_CERTIFICATE = 11,
    HS_SERVER_KEY_EXCHANGE = 12,
    HS_CERTIFICATE_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14,
    HS_CERTIFICATE_VERIFY = 15,
    HS_CLIENT_KEY_EXCHANGE = 16,
};

enum {
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_ENCRYPT_THEN_MAC = 22,
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_RENEGOTIATION_INFO = 0xff01,
};

/* The ClientHello's record says TLS 1.0, as OpenSSL's does, for servers that refuse a record
 * version above their own ([TLS12] Appendix E.1); everything after says TLS 1.2. */
#define TLS_1_0 0x0301
#define TLS_1_2 0x0303
#define TLS_RANDOM_LEN 32
#define GCM_NONCE_LEN 8 /* RFC 5288 s.3: the explicit part of the nonce */
#define GCM_TAG_LEN 16
#define FINISHED_LEN 16 /* the message's 4-byte header and 12 bytes of verify_data */
#define X25519_POINT_LEN 32
#define NAMED_CURVE 3 /* [ECC] ECCurveType named_curve */
#define GROUP_X25519 0x001d
#define SIG_RSA_PSS_RSAE_SHA256 0x0804 /* what an RSA key signs with when the peer offers it */
#define CCS_MESSAGE 1

/* The client's suites: the TLS 1.2 part of OpenSSL 1.1.1's list under OpenVPN's default
 * tls-cipher (no export, low or medium ciphers, no static (EC)DH, DSS, PSK, SRP or RSA key
 * transport), in OpenSSL's order. */
static const uint16_t client_suites[] = {
    0xc02c, /* ECDHE-ECDSA-AES256-GCM-SHA384 */
    0xc030, /* ECDHE-RSA-AES256-GCM-SHA384 */
    0x009f, /* DHE-RSA-AES256-GCM-SHA384 */
    0xcca9, /* ECDHE-ECDSA-CHACHA20-POLY1305 */
    0xcca8, /* ECDHE-RSA-CHACHA20-POLY1305 */
    0xccaa, /* DHE-RSA-CHACHA20-POLY1305 */
    0xc02b, /* ECDHE-ECDSA-AES128-GCM-SHA256 */
    0xc02f, /* ECDHE-RSA-AES128-GCM-SHA256 */
    0x009e, /* DHE-RSA-AES128-GCM-SHA256 */
    0xc024, /* ECDHE-ECDSA-AES256-SHA384 */
    0xc028, /* ECDHE-RSA-AES256-SHA384 */
    0x006b, /* DHE-RSA-AES256-SHA256 */
    0xc023, /* ECDHE-ECDSA-AES128-SHA256 */
    0xc027, /* ECDHE-RSA-AES128-SHA256 */
    0x0067, /* DHE-RSA-AES128-SHA256 */
    0xc00a, /* ECDHE-ECDSA-AES256-SHA */
    0xc014, /* ECDHE-RSA-AES256-SHA */
    0x0039, /* DHE-RSA-AES256-SHA */
    0xc009, /* ECDHE-ECDSA-AES128-SHA */
    0xc013, /* ECDHE-RSA-AES128-SHA */
    0x0033, /* DHE-RSA-AES128-SHA */
};

static const uint16_t groups[] = {
    GROUP_X25519, 0x0017 /* secp256r1 */, 0x001e /* x448 */, 0x0019 /* secp521r1 */,
    0x0018 /* secp384r1 */,
};

/* uncompressed, ansiX962_compressed_prime, ansiX962_compressed_char2 */
static const uint8_t point_formats[] = {0, 1, 2};

/* Signature schemes ([EXT] RFC 8446 numbers), in the ClientHello and the CertificateRequest. */
static const uint16_t sig_schemes[] = {
    0x0403, 0x0503, 0x0603, /* ecdsa_secp256r1_sha256, secp384r1_sha384, secp521r1_sha512 */
    0x0807, 0x0808,         /* ed25519, ed448 */
    0x0809, 0x080a, 0x080b, /* rsa_pss_pss_sha256, sha384, sha512 */
    0x0804, 0x0805, 0x0806, /* rsa_pss_rsae_sha256, sha384, sha512 */
    0x0401, 0x0501, 0x0601, /* rsa_pkcs1_sha256, sha384, sha512 */
};

/* ClientCertificateType: rsa_sign, ecdsa_sign */
static const uint8_t client_cert_types[] = {1, 64};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void put_u16_vec(struct wr *w, unsigned width, const uint16_t *v, size_t n)
{
    size_t at = vec_open(w, width);
    for (size_t i = 0; i < n; i++) put_u16(w, v[i]);
    vec_close(w, at, width);
}

static void put_u8_vec(struct wr *w, const uint8_t *v, size_t n)
{
    size_t at = vec_open(w, 1);
    put(w, v, n);
    vec_close(w, at, 1);
}

/* A record whose fragment the caller writes between open and close ([TLS12] s.6.2.1). */
static size_t record_open(struct wr *w, unsigned type, unsigned version)
{
    put_u8(w, type);
    put_u16(w, version);
    return vec_open(w, 2);
}

static void record_close(struct wr *w, size_t at)
{
    vec_close(w, at, 2);
}

/* One handshake message in a record of its own ([TLS12] s.7.4). */
struct msg {
    size_t record, body;
};

static struct msg msg_open(struct wr *w, unsigned type, unsigned record_version)
{
    struct msg m;
    m.record = record_open(w, REC_HANDSHAKE, record_version);
    put_u8(w, type);
    m.body = vec_open(w, 3);
    return m;
}

static void msg_close(struct wr *w, struct msg m)
{
    vec_close(w, m.body, 3);
    record_close(w, m.record);
}

/* An extension whose data the caller writes between open and close. */
static size_t ext_data_open(struct wr *w, unsigned type)
{
    put_u16(w, type);
    return vec_open(w, 2);
}

static void ext_data_close(struct wr *w, size_t at)
{
    vec_close(w, at, 2);
}

static void empty_extension(struct wr *w, unsigned type)
{
    ext_data_close(w, ext_data_open(w, type));
}

/* [EXT] RFC 5746 s.3.2: an initial handshake's renegotiated_connection is empty. */
static void renegotiation_info(struct wr *w)
{
    size_t e = ext_data_open(w, EXT_RENEGOTIATION_INFO);
    put_u8_vec(w, NULL, 0);
    ext_data_close(w, e);
}

static void ec_point_formats(struct wr *w)
{
    size_t e = ext_data_open(w, EXT_EC_POINT_FORMATS);
    put_u8_vec(w, point_formats, N(point_formats));
    ext_data_close(w, e);
}

static void u16_list_extension(struct wr *w, unsigned type, const uint16_t *v, size_t n)
{
    size_t e = ext_data_open(w, type);
    put_u16_vec(w, 2, v, n);
    ext_data_close(w, e);
}

/* An AES-256-GCM protected record: explicit nonce (the sequence number, as OpenSSL writes it),
 * ciphertext as long as the plaintext, tag ([TLS12] s.6.2.3.3, RFC 5288). */
static void encrypted_record(struct wr *w, unsigned type, uint64_t seq, size_t plain_len,
                             struct sy_rng *r)
{
    size_t rec = record_open(w, type, TLS_1_2);
    for (unsigned i = GCM_NONCE_LEN; i-- > 0;) put_u8(w, (unsigned)(seq >> (8 * i)));
    put_random(w, plain_len + GCM_TAG_LEN, r);
    record_close(w, rec);
}

static void certificate_message(struct wr *w, const uint8_t *cert, size_t cert_len)
{
    struct msg m = msg_open(w, HS_CERTIFICATE, TLS_1_2);
    size_t list = vec_open(w, 3), one = vec_open(w, 3);
    put(w, cert, cert_len);
    vec_close(w, one, 3);
    vec_close(w, list, 3);
    msg_close(w, m);
}

/* A digitally-signed struct ([TLS12] s.4.7): scheme, then an RSA-2048 signature. */
static void signature(struct wr *w, struct sy_rng *r)
{
    put_u16(w, SIG_RSA_PSS_RSAE_SHA256);
    size_t at = vec_open(w, 2);
    put_random(w, RSA_MODULUS_LEN, r);
    vec_close(w, at, 2);
}

static void change_cipher_spec_and_finished(struct wr *w, struct sy_rng *r)
{
    size_t ccs = record_open(w, REC_CHANGE_CIPHER_SPEC, TLS_1_2);
    put_u8(w, CCS_MESSAGE);
    record_close(w, ccs);
    encrypted_record(w, REC_HANDSHAKE, 0, FINISHED_LEN, r);
}

size_t sy_tls_client_hello(uint8_t *b, size_t cap, struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    struct msg m = msg_open(&w, HS_CLIENT_HELLO, TLS_1_0);
    put_u16(&w, TLS_1_2);
    put_random(&w, TLS_RANDOM_LEN, r);
    put_u8_vec(&w, NULL, 0); /* no session to resume */
    put_u16_vec(&w, 2, client_suites, N(client_suites));
    put_u8_vec(&w, (const uint8_t[]){0}, 1); /* null compression only */
    size_t exts = vec_open(&w, 2);           /* no server_name: OpenVPN sends none */
    renegotiation_info(&w);
    ec_point_formats(&w);
    u16_list_extension(&w, EXT_SUPPORTED_GROUPS, groups, N(groups));
    empty_extension(&w, EXT_ENCRYPT_THEN_MAC);
    empty_extension(&w, EXT_EXTENDED_MASTER_SECRET);
    u16_list_extension(&w, EXT_SIGNATURE_ALGORITHMS, sig_schemes, N(sig_schemes));
    vec_close(&w, exts, 2);
    msg_close(&w, m);
    return done(&w);
}

static void server_hello(struct wr *w, struct sy_rng *r)
{
    struct msg m = msg_open(w, HS_SERVER_HELLO, TLS_1_2);
    put_u16(w, TLS_1_2);
    put_random(w, TLS_RANDOM_LEN, r);
    put_u8_vec(w, NULL, 0); /* OpenVPN turns the session cache off: nothing to resume later */
    put_u16(w, SY_TLS_SUITE);
    put_u8(w, 0); /* null compression */
    size_t exts = vec_open(w, 2);
    renegotiation_info(w);
    ec_point_formats(w);
    empty_extension(w, EXT_EXTENDED_MASTER_SECRET);
    vec_close(w, exts, 2);
    msg_close(w, m);
}

/* [ECC] s.5.4: the server's ephemeral x25519 key, signed with its certificate's key. */
static void server_key_exchange(struct wr *w, struct sy_rng *r)
{
    struct msg m = msg_open(w, HS_SERVER_KEY_EXCHANGE, TLS_1_2);
    put_u8(w, NAMED_CURVE);
    put_u16(w, GROUP_X25519);
    size_t point = vec_open(w, 1);
    put_random(w, X25519_POINT_LEN, r);
    vec_close(w, point, 1);
    signature(w, r);
    msg_close(w, m);
}

/* [TLS12] s.7.4.4: certificate types, signature schemes, the acceptable CAs' Names. */
static void certificate_request(struct wr *w, const uint8_t *ca_name, size_t ca_name_len)
{
    struct msg m = msg_open(w, HS_CERTIFICATE_REQUEST, TLS_1_2);
    put_u8_vec(w, client_cert_types, N(client_cert_types));
    put_u16_vec(w, 2, sig_schemes, N(sig_schemes));
    size_t cas = vec_open(w, 2), one = vec_open(w, 2);
    put(w, ca_name, ca_name_len);
    vec_close(w, one, 2);
    vec_close(w, cas, 2);
    msg_close(w, m);
}

size_t sy_tls_server_flight(uint8_t *b, size_t cap, const uint8_t *cert, size_t cert_len,
                            const uint8_t *ca_name, size_t ca_name_len, struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    server_hello(&w, r);
    certificate_message(&w, cert, cert_len);
    server_key_exchange(&w, r);
    certificate_request(&w, ca_name, ca_name_len);
    msg_close(&w, msg_open(&w, HS_SERVER_HELLO_DONE, TLS_1_2));
    return done(&w);
}

size_t sy_tls_client_flight(uint8_t *b, size_t cap, const uint8_t *cert, size_t cert_len,
                            struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    certificate_message(&w, cert, cert_len);
    struct msg m = msg_open(&w, HS_CLIENT_KEY_EXCHANGE, TLS_1_2); /* [ECC] s.5.7 */
    size_t point = vec_open(&w, 1);
    put_random(&w, X25519_POINT_LEN, r);
    vec_close(&w, point, 1);
    msg_close(&w, m);
    m = msg_open(&w, HS_CERTIFICATE_VERIFY, TLS_1_2); /* [TLS12] s.7.4.8 */
    signature(&w, r);
    msg_close(&w, m);
    change_cipher_spec_and_finished(&w, r);
    return done(&w);
}

size_t sy_tls_server_finish(uint8_t *b, size_t cap, struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    change_cipher_spec_and_finished(&w, r);
    return done(&w);
}

size_t sy_tls_app_data(uint8_t *b, size_t cap, uint64_t seq, size_t plain_len,
                       struct sy_rng *r)
{
    struct wr w = {b, cap, 0, false};
    encrypted_record(&w, REC_APPLICATION_DATA, seq, plain_len, r);
    return done(&w);
}
