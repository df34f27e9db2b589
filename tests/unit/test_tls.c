/* Unit tests for the TLS parser (src/proto/tls.c), its fingerprints (tls_fingerprint.c) and its
 * certificate reader (tls_x509.c).
 *
 * Records, handshake messages and certificates are built by small encoders below ([TLS12]
 * s.6.2, s.7.4; X.690 DER) and fed through qw_stream_deliver as in the engine, into a recording
 * sink. JA4 is checked against the examples published in the FoxIO specification
 * (technical_details/JA4.md: t13d1516h2_8daaf6152771_e5627efa2ab1 and its no-signature-algorithm
 * variant ..._6d807ffa2a79), since tshark 4.0 does not compute JA4; JA3 values were computed
 * independently (Python hashlib over the JA3 text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "proto/proto.h"
#include "proto/tls_fingerprint.h"
#include "proto/tls_x509.h"

extern const struct qw_proto qw_proto_tls;

/* 2023-11-14T22:13:20Z: inside the validity of the test certificates below. */
#define T_NOW 1700000000000000000ull

#define PROTO qw_proto_tls
#define FX_TS_STEP 1000000u /* 1 ms per delivery */
#define FX_T0 T_NOW
#define FX_BUF_MAX 70000

#include "parser_fixture.h"

/* ---- Encoder ------------------------------------------------------------------------------- */

static void putb(struct buf *b, const struct buf *x) { put(b, x->b, x->n); }

/* Length-prefixed blocks: begin reserves the length, end fills it in. */
static size_t begin(struct buf *b, int width)
{
    size_t at = b->n;
    for (int i = 0; i < width; i++) u8(b, 0);
    return at;
}
static void end(struct buf *b, size_t at, int width)
{
    size_t len = b->n - at - (size_t)width;
    for (int i = width - 1; i >= 0; i--) {
        b->b[at + (size_t)i] = (uint8_t)len;
        len >>= 8;
    }
}

/* Handshake message ([TLS12] s.7.4): type, 24-bit length, body. */
static void hs_msg(struct buf *out, uint8_t type, const struct buf *body)
{
    u8(out, type);
    u24(out, (uint32_t)body->n);
    putb(out, body);
}

/* Records of `type` carrying `payload`, at most `frag` bytes each. */
static void records(struct buf *out, uint8_t type, const struct buf *payload, size_t frag)
{
    size_t off = 0;
    do {
        size_t k = payload->n - off < frag ? payload->n - off : frag;
        u8(out, type);
        u16(out, 0x0303);
        u16(out, (uint16_t)k);
        put(out, payload->b + off, k);
        off += k;
    } while (off < payload->n);
}

static void record_raw(struct buf *out, uint8_t type, const void *p, size_t n)
{
    u8(out, type);
    u16(out, 0x0303);
    u16(out, (uint16_t)n);
    put(out, p, n);
}

static const uint8_t ccs_body[] = {0x01};

struct ch_params {
    uint16_t version;
    const uint16_t *ciphers;
    size_t nciphers;
    const uint16_t *exts; /* extension types, in order; bodies follow from the type */
    size_t nexts;
    const char *sni;
    const char *const *alpn;
    const uint16_t *sigalgs;
    size_t nsigalgs;
    const uint16_t *versions;
    size_t nversions;
    const uint16_t *groups;
    size_t ngroups;
    uint8_t sid_len;
};

static void client_hello(struct buf *out, const struct ch_params *p)
{
    struct buf *b = buf_new();
    u16(b, p->version);
    for (int i = 0; i < 32; i++) u8(b, (uint8_t)i);
    u8(b, p->sid_len);
    for (int i = 0; i < p->sid_len; i++) u8(b, (uint8_t)(0xA0 + i));
    size_t at = begin(b, 2);
    for (size_t i = 0; i < p->nciphers; i++) u16(b, p->ciphers[i]);
    end(b, at, 2);
    u8(b, 1);
    u8(b, 0); /* null compression */
    size_t exts = begin(b, 2);
    for (size_t i = 0; i < p->nexts; i++) {
        u16(b, p->exts[i]);
        size_t e = begin(b, 2);
        switch (p->exts[i]) {
        case 0x0000: {
            size_t l = begin(b, 2);
            u8(b, 0);
            size_t h = begin(b, 2);
            put(b, p->sni, strlen(p->sni));
            end(b, h, 2);
            end(b, l, 2);
            break;
        }
        case 0x0010: {
            size_t l = begin(b, 2);
            for (size_t k = 0; p->alpn && p->alpn[k]; k++) {
                u8(b, (uint8_t)strlen(p->alpn[k]));
                put(b, p->alpn[k], strlen(p->alpn[k]));
            }
            end(b, l, 2);
            break;
        }
        case 0x000d: {
            size_t l = begin(b, 2);
            for (size_t k = 0; k < p->nsigalgs; k++) u16(b, p->sigalgs[k]);
            end(b, l, 2);
            break;
        }
        case 0x002b: {
            size_t l = begin(b, 1);
            for (size_t k = 0; k < p->nversions; k++) u16(b, p->versions[k]);
            end(b, l, 1);
            break;
        }
        case 0x000a: {
            size_t l = begin(b, 2);
            for (size_t k = 0; k < p->ngroups; k++) u16(b, p->groups[k]);
            end(b, l, 2);
            break;
        }
        case 0x000b:
            u8(b, 1);
            u8(b, 0);
            break;
        default: break; /* empty body */
        }
        end(b, e, 2);
    }
    end(b, exts, 2);
    hs_msg(out, 1, b);
    free(b);
}

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* ServerHello; `selected` 0 means no supported_versions extension. */
static void server_hello(struct buf *out, uint16_t version, uint16_t cipher, uint16_t selected,
                         const char *alpn, bool hrr, uint8_t sid_len)
{
    struct buf *b = buf_new();
    u16(b, version);
    if (hrr) put(b, hrr_random, 32);
    else
        for (int i = 0; i < 32; i++) u8(b, (uint8_t)(0x40 + i));
    u8(b, sid_len);
    for (int i = 0; i < sid_len; i++) u8(b, (uint8_t)(0xA0 + i));
    u16(b, cipher);
    u8(b, 0);
    size_t exts = begin(b, 2);
    if (selected) {
        u16(b, 0x002b);
        u16(b, 2);
        u16(b, selected);
        u16(b, 0x0033); /* key_share, body irrelevant here */
        u16(b, 0);
    } else {
        u16(b, 0xff01);
        u16(b, 1);
        u8(b, 0);
        u16(b, 0x0000); /* server_name acknowledgement: empty */
        u16(b, 0);
    }
    if (alpn) {
        u16(b, 0x0010);
        size_t e = begin(b, 2);
        size_t l = begin(b, 2);
        u8(b, (uint8_t)strlen(alpn));
        put(b, alpn, strlen(alpn));
        end(b, l, 2);
        end(b, e, 2);
    }
    end(b, exts, 2);
    hs_msg(out, 2, b);
    free(b);
}

/* ---- DER ----------------------------------------------------------------------------------- */

static void der(struct buf *out, uint8_t tag, const struct buf *content)
{
    u8(out, tag);
    size_t n = content->n;
    if (n < 0x80) u8(out, (uint8_t)n);
    else if (n < 0x100) {
        u8(out, 0x81);
        u8(out, (uint8_t)n);
    } else {
        u8(out, 0x82);
        u16(out, (uint16_t)n);
    }
    putb(out, content);
}

static void der_raw(struct buf *out, uint8_t tag, const void *p, size_t n)
{
    struct buf *c = buf_new();
    put(c, p, n);
    der(out, tag, c);
    free(c);
}

static void der_str(struct buf *out, uint8_t tag, const char *s)
{
    der_raw(out, tag, s, strlen(s));
}

static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t oid_o[] = {0x55, 0x04, 0x0A};
static const uint8_t oid_c[] = {0x55, 0x04, 0x06};
static const uint8_t oid_sha256rsa[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B};

static void rdn(struct buf *name, const uint8_t *oid, size_t oid_len, uint8_t tag,
                const void *v, size_t vlen)
{
    struct buf *atv = buf_new(), *seq = buf_new(), *set = buf_new();
    der_raw(atv, 0x06, oid, oid_len);
    der_raw(atv, tag, v, vlen);
    der(seq, 0x30, atv);
    der(set, 0x31, seq);
    putb(name, set);
    free(atv);
    free(seq);
    free(set);
}

/* Name: C=DE, O=o (UTF8String), CN=cn (UTF8String); NULL parts left out. */
static void name(struct buf *out, const char *cn, const char *o)
{
    struct buf *n = buf_new();
    rdn(n, oid_c, sizeof oid_c, 0x13, "DE", 2);
    if (o) rdn(n, oid_o, sizeof oid_o, 0x0C, o, strlen(o));
    if (cn) rdn(n, oid_cn, sizeof oid_cn, 0x0C, cn, strlen(cn));
    der(out, 0x30, n);
    free(n);
}

struct cert_params {
    const char *subject_cn, *subject_o, *issuer_cn, *issuer_o;
    const char *not_before, *not_after; /* UTCTime (13 chars) or GeneralizedTime (15) */
    size_t key_bytes;                   /* size of the public key BIT STRING */
};

static void time_der(struct buf *out, const char *t)
{
    der_str(out, strlen(t) == 13 ? 0x17 : 0x18, t);
}

static void certificate(struct buf *out, const struct cert_params *p)
{
    struct buf *tbs = buf_new(), *t = buf_new(), *alg = buf_new(), *algseq = buf_new(), *tmp = buf_new();
    static const uint8_t v3[] = {0x02, 0x01, 0x02};
    der_raw(t, 0xA0, v3, sizeof v3);
    static const uint8_t serial[] = {0x00, 0x9A, 0xBC, 0x01, 0x23};
    der_raw(t, 0x02, serial, sizeof serial);
    der_raw(alg, 0x06, oid_sha256rsa, sizeof oid_sha256rsa);
    der_raw(alg, 0x05, NULL, 0);
    der(algseq, 0x30, alg);
    putb(t, algseq);
    name(t, p->issuer_cn, p->issuer_o);
    time_der(tmp, p->not_before);
    time_der(tmp, p->not_after);
    der(t, 0x30, tmp);
    name(t, p->subject_cn, p->subject_o);
    tmp->n = 0;
    struct buf *spki = buf_new(), *key = buf_new();
    putb(spki, algseq);
    u8(key, 0);
    for (size_t i = 0; i < p->key_bytes; i++) u8(key, (uint8_t)i);
    der(spki, 0x03, key);
    der(t, 0x30, spki);
    der(tbs, 0x30, t);
    struct buf *c = buf_new();
    putb(c, tbs);
    putb(c, algseq);
    static const uint8_t sig[33] = {0};
    der_raw(c, 0x03, sig, sizeof sig);
    der(out, 0x30, c);
    free(tbs);
    free(t);
    free(alg);
    free(algseq);
    free(tmp);
    free(spki);
    free(key);
    free(c);
}

/* Certificate message ([TLS12] s.7.4.2) with the given DER certificates. */
static void certificate_msg(struct buf *out, const struct buf *const *certs, size_t n)
{
    struct buf *b = buf_new();
    size_t l = begin(b, 3);
    for (size_t i = 0; i < n; i++) {
        u24(b, (uint32_t)certs[i]->n);
        putb(b, certs[i]);
    }
    end(b, l, 3);
    hs_msg(out, 11, b);
    free(b);
}

static const struct cert_params plc_cert = {
    "SIMATIC-S7-1500.crane-07", "Siemens", "Terminal OT CA", "Port Authority",
    "200101000000Z", "301231235959Z", 64,
};

/* ---- The JA4 specification's example ClientHello ------------------------------------------ */

static const uint16_t spec_ciphers[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                        0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                        0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t spec_exts[] = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017,
                                     0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
                                     0xff01, 0x000b, 0x000a, 0x0015};
static const uint16_t spec_sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                        0x0805, 0x0501, 0x0806, 0x0601};
static const uint16_t v13_12[] = {0x0304, 0x0303};
static const uint16_t groups3[] = {0x001d, 0x0017, 0x0018};
static const char *const alpn_h2[] = {"h2", "http/1.1", NULL};

static struct ch_params spec_hello(void)
{
    struct ch_params p = {0};
    p.version = 0x0303;
    p.ciphers = spec_ciphers;
    p.nciphers = 15;
    p.exts = spec_exts;
    p.nexts = 16;
    p.sni = "plc-gw.terminal.example";
    p.alpn = alpn_h2;
    p.sigalgs = spec_sigalgs;
    p.nsigalgs = 8;
    p.versions = v13_12;
    p.nversions = 2;
    p.groups = groups3;
    p.ngroups = 3;
    p.sid_len = 32;
    return p;
}

#define SPEC_JA4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
#define SPEC_JA3 "c000e2caf3a25423f9de6c8a4b12a975"
#define SPEC_JA3_STR                                                                               \
    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,27-0-51-16-" \
    "17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"

/* ---- A complete TLS 1.2 conversation as a list of deliveries ------------------------------ */

struct conv {
    size_t n;
    struct msg m[16];
    struct buf *seg[16]; /* owned, the bytes of m[] */
};

static void conv_add(struct conv *c, enum qw_dir dir, struct buf *b)
{
    assert_true(c->n < 16);
    c->m[c->n] = (struct msg){dir, b->b, b->n};
    c->seg[c->n++] = b;
}

static void conv_free(struct conv *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->seg[i]);
    c->n = 0;
}

/* ClientHello | ServerHello, Certificate, ServerKeyExchange, ServerHelloDone | ClientKeyExchange,
 * CCS, Finished | NewSessionTicket, CCS, Finished | application data both ways. `frag` splits
 * the server's handshake flight into records of that size. */
static void tls12_conv(struct conv *c, size_t frag)
{
    struct ch_params p = spec_hello();
    struct buf *m = buf_new(), *r;

    client_hello(m, &p);
    r = buf_new();
    records(r, 22, m, 16384);
    conv_add(c, C2S, r);

    m->n = 0;
    server_hello(m, 0x0303, 0xc02f, 0, "h2", false, 0);
    struct buf *cert = buf_new(), *ca = buf_new();
    certificate(cert, &plc_cert);
    struct cert_params cap = {"Terminal OT CA",
                              "Port Authority",
                              "Terminal OT CA",
                              "Port Authority",
                              "20200101000000Z",
                              "20401231235959Z",
                              64};
    certificate(ca, &cap);
    const struct buf *chain[2] = {cert, ca};
    certificate_msg(m, chain, 2);
    struct buf *ske = buf_new();
    for (int i = 0; i < 100; i++) u8(ske, (uint8_t)i);
    hs_msg(m, 12, ske);
    ske->n = 0;
    hs_msg(m, 14, ske);
    r = buf_new();
    records(r, 22, m, frag);
    conv_add(c, S2C, r);

    m->n = 0;
    for (int i = 0; i < 66; i++) u8(ske, (uint8_t)i);
    hs_msg(m, 16, ske);
    r = buf_new();
    records(r, 22, m, 16384);
    record_raw(r, 20, ccs_body, 1);
    record_raw(r, 22, ske->b, 40); /* Finished, encrypted */
    conv_add(c, C2S, r);

    r = buf_new();
    m->n = 0;
    ske->n = 0;
    for (int i = 0; i < 20; i++) u8(ske, (uint8_t)i);
    hs_msg(m, 4, ske);
    records(r, 22, m, 16384);
    record_raw(r, 20, ccs_body, 1);
    record_raw(r, 22, ske->b, 40);
    conv_add(c, S2C, r);

    r = buf_new();
    record_raw(r, 23, ske->b, 60);
    conv_add(c, C2S, r);
    r = buf_new();
    record_raw(r, 23, ske->b, 60);
    conv_add(c, S2C, r);
    free(m);
    free(cert);
    free(ca);
    free(ske);
}

/* ---- Tests: fingerprints ------------------------------------------------------------------- */

static void fp_from_params(struct tls_fp_hello *h, const struct ch_params *p)
{
    memset(h, 0, sizeof *h);
    h->version = p->version;
    for (size_t i = 0; i < p->nciphers; i++) h->ciphers[h->nciphers++] = p->ciphers[i];
    for (size_t i = 0; i < p->nexts; i++) {
        h->exts[h->nexts++] = p->exts[i];
        if (p->exts[i] == 0) h->has_sni = true;
    }
    for (size_t i = 0; i < p->nsigalgs; i++) h->sigalgs[h->nsigalgs++] = p->sigalgs[i];
    for (size_t i = 0; i < p->nversions; i++) h->versions[h->nversions++] = p->versions[i];
    for (size_t i = 0; i < p->ngroups; i++) h->groups[h->ngroups++] = p->groups[i];
    h->formats[h->nformats++] = 0;
    if (p->alpn && p->alpn[0]) {
        h->has_alpn = true;
        h->alpn_first = (uint8_t)p->alpn[0][0];
        h->alpn_last = (uint8_t)p->alpn[0][strlen(p->alpn[0]) - 1];
    }
}

/* The published JA4 example, its "no signature algorithms" variant, GREASE and ALPN rules. */
static void test_ja4_spec_examples(void **ts)
{
    (void)ts;
    struct ch_params p = spec_hello();
    struct tls_fp_hello *h = calloc(1, sizeof *h);
    assert_non_null(h);
    char ja4[TLS_JA4_LEN];
    fp_from_params(h, &p);
    tls_ja4(h, ja4);
    assert_string_equal(ja4, SPEC_JA4);

    /* GREASE anywhere changes nothing ([JA4] "ignore GREASE values anywhere"). */
    h->ciphers[h->nciphers++] = 0x0a0a;
    h->exts[h->nexts++] = 0x1a1a;
    h->versions[h->nversions++] = 0x7a7a;
    h->sigalgs[h->nsigalgs++] = 0xfafa;
    tls_ja4(h, ja4);
    assert_string_equal(ja4, SPEC_JA4);

    /* Without signature algorithms the extension list is hashed alone, no '_'. */
    h->nsigalgs = 0;
    tls_ja4(h, ja4);
    assert_string_equal(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");

    /* No SNI, no ALPN, no supported_versions: 'i', "00", the legacy version. */
    fp_from_params(h, &p);
    h->has_sni = false;
    h->has_alpn = false;
    h->nversions = 0;
    tls_ja4(h, ja4);
    assert_memory_equal(ja4, "t12i151600_", 11);

    /* ALPN with a non-alphanumeric end: first and last hex digits of the value. */
    fp_from_params(h, &p);
    h->alpn_first = 'h';
    h->alpn_last = 0xFF;
    tls_ja4(h, ja4);
    assert_memory_equal(ja4 + 8, "6f_", 3);

    /* Empty lists hash to twelve zeros; counts are capped at 99. */
    memset(h, 0, sizeof *h);
    h->version = 0x0301;
    for (int i = 0; i < 120; i++) h->ciphers[h->nciphers++] = (uint16_t)(i + 1);
    tls_ja4(h, ja4);
    assert_memory_equal(ja4, "t10i990000_", 11);
    assert_string_equal(ja4 + 24, "000000000000");
    free(h);
}

static void test_ja3_text_and_hash(void **ts)
{
    (void)ts;
    struct ch_params p = spec_hello();
    struct tls_fp_hello *h = calloc(1, sizeof *h);
    assert_non_null(h);
    fp_from_params(h, &p);
    h->ciphers[h->nciphers++] = 0x2a2a; /* GREASE is left out of every list */
    h->groups[h->ngroups++] = 0x3a3a;
    char md5[TLS_MD5_HEX], str[512];
    size_t n = tls_ja3(h, md5, str, sizeof str);
    assert_string_equal(str, SPEC_JA3_STR);
    assert_int_equal(n, strlen(SPEC_JA3_STR));
    assert_string_equal(md5, SPEC_JA3);
    /* A display buffer too small cuts the text, never the hash. */
    char small[16];
    n = tls_ja3(h, md5, small, sizeof small);
    assert_int_equal(n, strlen(SPEC_JA3_STR));
    assert_int_equal(strlen(small), 15);
    assert_string_equal(md5, SPEC_JA3);

    static const uint16_t sexts[] = {0xff01, 0x0000, 0x0010};
    n = tls_ja3s(0x0303, 0xc02f, sexts, 3, md5, str, sizeof str);
    assert_string_equal(str, "771,49199,65281-0-16");
    assert_string_equal(md5, "7554747c64df99ef4b45f1b1172df217");
    free(h);
}

/* ---- Tests: X.509 -------------------------------------------------------------------------- */

static void test_x509_fields(void **ts)
{
    (void)ts;
    struct buf *c = buf_new();
    certificate(c, &plc_cert);
    struct tls_x509 x;
    assert_int_equal(tls_x509_parse(c->b, c->n, &x), TLS_X509_OK);
    assert_int_equal(x.version, 3);
    assert_string_equal(x.subject_cn.s, "SIMATIC-S7-1500.crane-07");
    assert_string_equal(x.subject_o.s, "Siemens");
    assert_string_equal(x.issuer_cn.s, "Terminal OT CA");
    assert_string_equal(x.issuer_o.s, "Port Authority");
    assert_int_equal(x.serial_len, 4); /* the DER sign octet is dropped */
    assert_memory_equal(x.serial, "\x9A\xBC\x01\x23", 4);
    assert_string_equal(x.not_before_str, "2020-01-01T00:00:00Z");
    assert_string_equal(x.not_after_str, "2030-12-31T23:59:59Z");
    assert_int_equal(x.not_before, 1577836800);
    assert_false(x.self_signed);

    /* Cut after the subject (a bounded buffer): the fields are still read. */
    /* signature BIT STRING (2 + 33), signature algorithm (15), subjectPublicKeyInfo
     * (2 + 15 + 2 + 65) */
    size_t subject_end = c->n - 35 - 15 - 84;
    assert_int_equal(tls_x509_parse(c->b, subject_end, &x), TLS_X509_OK);
    assert_string_equal(x.subject_cn.s, "SIMATIC-S7-1500.crane-07");
    /* Cut inside the issuer: truncated, serial known, no subject. */
    assert_int_equal(tls_x509_parse(c->b, 40, &x), TLS_X509_TRUNCATED);
    assert_int_equal(x.serial_len, 4);
    assert_false(x.has_subject);
    /* Every prefix is safe. */
    for (size_t k = 0; k <= c->n; k++) (void)tls_x509_parse(c->b, k, &x);
    /* A wrong outer tag is malformed. */
    c->b[0] = 0x31;
    assert_int_equal(tls_x509_parse(c->b, c->n, &x), TLS_X509_MALFORMED);
    free(c);
}

static void test_x509_times_and_strings(void **ts)
{
    (void)ts;
    /* RFC 5280 s.4.1.2.5.1: UTCTime 49 is 2049, 50 is 1950. */
    struct cert_params p = plc_cert;
    p.not_before = "500101000000Z";
    p.not_after = "491231235959Z";
    struct buf *c = buf_new();
    certificate(c, &p);
    struct tls_x509 x;
    assert_int_equal(tls_x509_parse(c->b, c->n, &x), TLS_X509_OK);
    assert_int_equal(x.not_before, -631152000);
    assert_int_equal(x.not_after, 2524607999);
    assert_string_equal(x.not_after_str, "2049-12-31T23:59:59Z");
    /* A month 13 is malformed. */
    c->n = 0;
    p.not_after = "491331235959Z";
    certificate(c, &p);
    assert_int_equal(tls_x509_parse(c->b, c->n, &x), TLS_X509_MALFORMED);

    assert_int_equal(tls_x509_epoch(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(tls_x509_epoch(2000, 3, 1, 0, 0, 0), 951868800);
    assert_int_equal(tls_x509_epoch(1600, 2, 29, 12, 0, 0), -11670955200LL);

    /* BMPString and TeletexString names become UTF-8; identical names are self-signed. */
    struct buf *n = buf_new(), *nm = buf_new(), *t = buf_new(), *tbs = buf_new(), *out = buf_new();
    static const uint8_t bmp[] = {0x00, 'H', 0x00, 'M', 0x00, 'I', 0x00, 0xE9}; /* "HMIé" */
    static const uint8_t t61[] = {'M', 0xFC, 'n', 'c', 'h', 'e', 'n'};           /* Latin-1 */
    rdn(n, oid_o, sizeof oid_o, 0x14, t61, sizeof t61);
    rdn(n, oid_cn, sizeof oid_cn, 0x1E, bmp, sizeof bmp);
    der(nm, 0x30, n);
    static const uint8_t serial[] = {0x02, 0x01, 0x07};
    put(t, serial, sizeof serial);
    static const uint8_t alg[] = {0x30, 0x03, 0x06, 0x01, 0x00};
    put(t, alg, sizeof alg);
    putb(t, nm);
    struct buf *v = buf_new();
    der_str(v, 0x18, "20231114221320Z");
    der_str(v, 0x18, "99991231235959Z");
    der(t, 0x30, v);
    putb(t, nm);
    der(tbs, 0x30, t);
    der(out, 0x30, tbs);
    assert_int_equal(tls_x509_parse(out->b, out->n, &x), TLS_X509_OK);
    assert_int_equal(x.version, 1);
    assert_string_equal(x.subject_cn.s, "HMI\xC3\xA9");
    assert_string_equal(x.subject_o.s, "M\xC3\xBCnchen");
    assert_true(x.self_signed);
    assert_string_equal(x.not_after_str, "9999-12-31T23:59:59Z");
    free(c);
    free(n);
    free(nm);
    free(t);
    free(tbs);
    free(out);
    free(v);
}

/* ---- Tests: parser ------------------------------------------------------------------------- */

static void check_tls12(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->function, 22);
    assert_string_equal(t->function_name, "handshake");
    assert_int_equal(t->ops, 0);
    assert_false(t->error);
    JSON_HAS(f, 0,
             "\"request\":{\"function\":22,\"function_name\":\"handshake\","
             "\"messages\":[\"client_hello\",\"client_key_exchange\"],\"version\":771,"
             "\"version_name\":\"TLS 1.2\",\"session_id_length\":32,"
             "\"cipher_suites_count\":15,\"extensions_count\":16,"
             "\"sni\":\"plc-gw.terminal.example\",\"alpn\":[\"h2\",\"http/1.1\"],"
             "\"supported_versions\":[\"TLS 1.3\",\"TLS 1.2\"],"
             "\"signature_algorithms_count\":8,\"supported_groups\":[29,23,24],"
             "\"ec_point_formats\":[0],\"ja3\":\"" SPEC_JA3 "\",\"ja3_string\":\"" SPEC_JA3_STR
             "\",\"ja4\":\"" SPEC_JA4 "\"}");
    JSON_HAS(f, 0, "\"response\":{\"function\":22,\"function_name\":\"handshake\","
                   "\"messages\":[\"server_hello\",\"certificate\",\"server_key_exchange\","
                   "\"server_hello_done\",\"new_session_ticket\"],\"version\":771,"
                   "\"version_name\":\"TLS 1.2\",\"cipher_suite\":49199,"
                   "\"cipher_suite_name\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\","
                   "\"compression\":0,\"extensions_count\":3,\"alpn\":\"h2\",");
    JSON_HAS(f, 0, "\"certificate\":{\"chain_length\":2,"
                   "\"subject_cn\":\"SIMATIC-S7-1500.crane-07\",\"subject_o\":\"Siemens\","
                   "\"issuer_cn\":\"Terminal OT CA\",\"issuer_o\":\"Port Authority\","
                   "\"serial\":\"9abc0123\",\"not_before\":\"2020-01-01T00:00:00Z\","
                   "\"not_after\":\"2030-12-31T23:59:59Z\",\"self_signed\":false,"
                   "\"x509_version\":3}}");
    JSON_HAS(f, 0, "\"encrypted\":true");
}

static void test_tls12_handshake(void **ts)
{
    struct fx *f = *ts;
    struct conv c = {0};
    tls12_conv(&c, 16384);
    run_conv(f, c.m, c.n, SIZE_MAX, 0);
    check_tls12(f);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->response_ns > t->request_ns);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_sni"), "plc-gw.terminal.example");
    assert_string_equal(qw_record_identity(&f->rec, false, "ja3"), SPEC_JA3);
    assert_string_equal(qw_record_identity(&f->rec, false, "ja4"), SPEC_JA4);
    assert_string_equal(qw_record_identity(&f->rec, true, "ja3s"),
                        "7554747c64df99ef4b45f1b1172df217");
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_cert_subject"),
                        "CN=SIMATIC-S7-1500.crane-07, O=Siemens");
    assert_int_equal(f->rec.nsession_users, 0); /* a server's certificate names no user */
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_cert_issuer"),
                        "CN=Terminal OT CA, O=Port Authority");
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_cert_not_after"),
                        "2030-12-31T23:59:59Z");
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_self_signed"), "false");
    conv_free(&c);
}

/* Every delivery cut at every byte gives the same record. */
static void check_tls12_clean(const struct fx *f)
{
    check_tls12(f);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_tls12_every_split(void **ts)
{
    struct fx *f = *ts;
    struct conv c = {0};
    tls12_conv(&c, 16384);
    check_every_split_with(f, c.m, c.n, check_tls12_clean);
    conv_free(&c);
}

/* Handshake messages split over many small records (and a record split over deliveries). */
static void test_messages_split_over_records(void **ts)
{
    struct fx *f = *ts;
    static const size_t frags[] = {1, 2, 3, 7, 100, 511};
    for (size_t i = 0; i < sizeof frags / sizeof frags[0]; i++) {
        fx_reset(f);
        struct conv c = {0};
        tls12_conv(&c, frags[i]);
        run_conv(f, c.m, c.n, 1, c.m[1].n / 2);
        check_tls12(f);
        assert_int_equal(f->rec.nanomalies, 0);
        conv_free(&c);
    }
}

/* The whole conversation in one delivery per direction, byte by byte for the server. */
static void test_byte_by_byte(void **ts)
{
    struct fx *f = *ts;
    struct conv c = {0};
    tls12_conv(&c, 300);
    for (size_t i = 0; i < c.n; i++) {
        if (c.m[i].dir == S2C) feed_bytewise(f, S2C, c.m[i].b, c.m[i].n);
        else feed(f, C2S, c.m[i].b, c.m[i].n);
    }
    flow_end(f);
    check_tls12(f);
    conv_free(&c);
}

static void tls13_client_hello(struct buf *out)
{
    static const uint16_t ciphers[] = {0x1301, 0x1302};
    static const uint16_t exts[] = {0x002b, 0x0033, 0x000a, 0x000d};
    struct ch_params p = {0};
    p.version = 0x0303;
    p.ciphers = ciphers;
    p.nciphers = 2;
    p.exts = exts;
    p.nexts = 4;
    p.versions = v13_12;
    p.nversions = 2;
    p.groups = groups3;
    p.ngroups = 3;
    p.sigalgs = spec_sigalgs;
    p.nsigalgs = 8;
    p.sid_len = 32;
    struct buf *m = buf_new();
    client_hello(m, &p);
    records(out, 22, m, 16384);
    free(m);
}

static void test_tls13_handshake(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new(), *m = buf_new();
    tls13_client_hello(b);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    server_hello(m, 0x0303, 0x1301, 0x0304, NULL, false, 32);
    records(b, 22, m, 16384);
    record_raw(b, 20, ccs_body, 1);  /* middlebox compatibility: a dummy */
    record_raw(b, 23, m->b, 200);    /* EncryptedExtensions.. Finished */
    FEED_BUF(f, S2C, b);
    b->n = 0;
    record_raw(b, 20, ccs_body, 1);
    record_raw(b, 23, m->b, 50);
    record_raw(b, 21, m->b, 19);     /* an encrypted-looking alert after encryption: counted */
    FEED_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"messages\":[\"client_hello\"]");
    JSON_HAS(f, 0, "\"response\":{\"function\":22,\"function_name\":\"handshake\","
                   "\"messages\":[\"server_hello\"],\"version\":772,\"version_name\":\"TLS 1.3\","
                   "\"legacy_version\":771,\"cipher_suite\":4865,"
                   "\"cipher_suite_name\":\"TLS_AES_128_GCM_SHA256\",\"compression\":0,"
                   "\"extensions_count\":2,\"ja3s\":\"f4febc55ea12b31ae17cfb7e614afda8\","
                   "\"ja3s_string\":\"771,4865,43-51\"}");
    JSON_LACKS(f, 0, "resumed"); /* TLS 1.3 always echoes the session id */
    JSON_HAS(f, 0, "\"encrypted\":true");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
    free(m);
}

static void test_hello_retry_request(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new(), *m = buf_new();
    tls13_client_hello(b);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    server_hello(m, 0x0303, 0x1301, 0x0304, NULL, true, 32);
    records(b, 22, m, 16384);
    record_raw(b, 20, ccs_body, 1);
    FEED_BUF(f, S2C, b);
    b->n = 0;
    record_raw(b, 20, ccs_body, 1); /* the client's compatibility CCS before its 2nd hello */
    tls13_client_hello(b);
    FEED_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 0); /* still one handshake */
    b->n = 0;
    m->n = 0;
    server_hello(m, 0x0303, 0x1301, 0x0304, NULL, false, 32);
    records(b, 22, m, 16384);
    record_raw(b, 23, m->b, 100);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"messages\":[\"client_hello\",\"client_hello\"]");
    JSON_HAS(f, 0, "\"messages\":[\"server_hello\",\"server_hello\"]");
    JSON_HAS(f, 0, "\"hello_retry\":true,\"encrypted\":true");
    JSON_LACKS(f, 0, "hello_retry_request"); /* the record shows the final ServerHello */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    free(b);
    free(m);
}

/* TLS 1.2 resumption: the server echoes the session id and goes straight to CCS. */
static void test_resumption(void **ts)
{
    struct fx *f = *ts;
    struct ch_params p = spec_hello();
    struct buf *b = buf_new(), *m = buf_new();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    b->n = m->n = 0;
    server_hello(m, 0x0303, 0xc02f, 0, NULL, false, 32);
    records(b, 22, m, 16384);
    record_raw(b, 20, ccs_body, 1);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"resumed\":true");
    JSON_HAS(f, 0, "\"encrypted\":true");
    free(b);
    free(m);
}

static void test_alert_fails_handshake(void **ts)
{
    struct fx *f = *ts;
    struct ch_params p = spec_hello();
    struct buf *b = buf_new(), *m = buf_new();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    static const uint8_t alert[] = {2, 40};
    b->n = 0;
    record_raw(b, 21, alert, 2);
    FEED_BUF(f, S2C, b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *h = &f->rec.txns[0].txn, *a = &f->rec.txns[1].txn;
    assert_true(h->has_request);
    assert_false(h->has_response);
    assert_true(h->error);
    JSON_HAS(f, 0, "\"encrypted\":false");
    assert_int_equal(a->function, 21);
    assert_string_equal(a->function_name, "alert");
    assert_true(a->error);
    assert_false(a->has_request);
    assert_true(a->has_response);
    JSON_HAS(f, 1, "{\"response\":{\"function\":21,\"function_name\":\"alert\",\"level\":2,"
                   "\"level_name\":\"fatal\",\"description\":40,"
                   "\"description_name\":\"handshake_failure\"}}");
    free(b);
    free(m);
}

static void test_certificate_anomalies(void **ts)
{
    struct fx *f = *ts;
    /* Self-signed, expired in 2019, sent in a TLS 1.0 session. */
    struct cert_params cp = {"EDS-408A", "Moxa", "EDS-408A", "Moxa", "090101000000Z",
                             "191231235959Z", 64};
    struct ch_params p = spec_hello();
    p.nversions = 0;
    struct buf *b = buf_new(), *m = buf_new(), *cert = buf_new();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    b->n = m->n = 0;
    server_hello(m, 0x0301, 0x002f, 0, NULL, false, 0);
    certificate(cert, &cp);
    const struct buf *chain[1] = {cert};
    certificate_msg(m, chain, 1);
    records(b, 22, m, 16384);
    FEED_BUF(f, S2C, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.weak_version"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.expired_certificate"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.self_signed_certificate"), 1);
    assert_int_equal(f->rec.nanomalies, 3);
    for (size_t i = 0; i < f->rec.nanomalies; i++) /* the server's certificate: its findings */
        assert_false(f->rec.anomalies[i].about_client);
    assert_string_equal(f->rec.anomalies[0].detail, "TLS 1.0");
    assert_string_equal(f->rec.anomalies[1].detail, "2019-12-31T23:59:59Z");
    assert_string_equal(f->rec.anomalies[2].detail, "EDS-408A");
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_self_signed"), "true");
    assert_string_equal(qw_record_identity(&f->rec, true, "tls_cert_subject"),
                        "CN=EDS-408A, O=Moxa");
    JSON_HAS(f, 0, "\"self_signed\":true");
    JSON_HAS(f, 0, "\"encrypted\":false");
    free(b);
    free(m);
    free(cert);
}

/* A client's expired self-signed certificate is the client's problem: its anomalies are about
 * the client, so findings name the laptop, not the server that checked it. */
static void test_client_certificate_anomalies(void **ts)
{
    struct fx *f = *ts;
    struct ch_params p = spec_hello();
    struct buf *b = buf_new(), *m = buf_new(), *cert = buf_new(), *e = buf_new();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    b->n = m->n = 0;
    server_hello(m, 0x0303, 0xc02f, 0, NULL, false, 0);
    hs_msg(m, 13, e); /* CertificateRequest */
    hs_msg(m, 14, e);
    records(b, 22, m, 16384);
    FEED_BUF(f, S2C, b);
    b->n = m->n = 0;
    struct cert_params cp = {"laptop-3", "Crane Vendor", "laptop-3", "Crane Vendor",
                             "170101000000Z", "191231235959Z", 64};
    certificate(cert, &cp);
    const struct buf *chain[1] = {cert};
    certificate_msg(m, chain, 1);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.expired_certificate"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.self_signed_certificate"), 1);
    assert_int_equal(f->rec.nanomalies, 2);
    assert_true(f->rec.anomalies[0].about_client);
    assert_true(f->rec.anomalies[1].about_client);
    free(b);
    free(m);
    free(cert);
    free(e);
}

/* A client certificate is a credential (auth); identities go to the client. */
static void test_client_certificate(void **ts)
{
    struct fx *f = *ts;
    struct ch_params p = spec_hello();
    struct buf *b = buf_new(), *m = buf_new(), *cert = buf_new();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    b->n = m->n = 0;
    server_hello(m, 0x0303, 0xc02f, 0, NULL, false, 0);
    struct buf *e = buf_new();
    hs_msg(m, 13, e); /* CertificateRequest (body irrelevant) */
    hs_msg(m, 14, e);
    records(b, 22, m, 16384);
    FEED_BUF(f, S2C, b);
    b->n = m->n = 0;
    struct cert_params cp = {"operator-7", NULL, "Terminal OT CA", "Port Authority",
                             "200101000000Z", "301231235959Z", 64};
    certificate(cert, &cp);
    const struct buf *chain[1] = {cert};
    certificate_msg(m, chain, 1);
    records(b, 22, m, 16384);
    record_raw(b, 20, ccs_body, 1);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    record_raw(b, 20, ccs_body, 1);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.ops, QW_OP_AUTH);
    assert_string_equal(qw_record_identity(&f->rec, false, "tls_cert_subject"), "CN=operator-7");
    assert_string_equal(f->rec.session_user, "operator-7");
    assert_string_equal(f->rec.session_user_source, "client_certificate");
    assert_null(qw_record_identity(&f->rec, true, "tls_cert_subject"));
    JSON_HAS(f, 0, "\"messages\":[\"client_hello\",\"certificate\"],");
    JSON_HAS(f, 0, "\"certificate\":{\"chain_length\":1,\"subject_cn\":\"operator-7\",");
    free(b);
    free(m);
    free(cert);
    free(e);
}

/* A Certificate message larger than the reassembly buffer: the first certificate is read
 * from the message's start. */
static void test_large_chain(void **ts)
{
    struct fx *f = *ts;
    struct cert_params big = plc_cert;
    big.key_bytes = 5000;
    struct buf *b = buf_new(), *m = buf_new(), *c1 = buf_new(), *c2 = buf_new();
    certificate(c1, &big);
    certificate(c2, &big);
    server_hello(m, 0x0303, 0xc02f, 0, NULL, false, 0);
    const struct buf *chain[2] = {c1, c2};
    certificate_msg(m, chain, 2);
    records(b, 22, m, 4000);
    FEED_BUF(f, S2C, b);
    /* the message spanned records: one buffer was borrowed and is back once it was read */
    assert_int_equal(f->rec.loans_taken, 1);
    assert_int_equal(f->rec.loans_out, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0,
             "\"certificate\":{\"chain_length\":1,\"subject_cn\":\"SIMATIC-S7-1500.crane-07\"");
    JSON_HAS(f, 0, "\"chain_cut\":true");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
    free(m);
    free(c1);
    free(c2);
}

/* Past the parser memory cap no buffer is lent: a message that spans records is counted, not
 * decoded, the handshake is still written, and nothing is misread. A message in one record
 * needs none. A buffer held when the flow ends is given back. */
static void test_no_loan(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new(), *m = buf_new(), *c1 = buf_new();
    certificate(c1, &plc_cert);
    server_hello(m, 0x0303, 0xc02f, 0, NULL, false, 0);
    const struct buf *chain[1] = {c1};
    certificate_msg(m, chain, 1);
    records(b, 22, m, 300); /* the certificate spans several records */
    for (size_t i = 0; i < QW_REC_LOANS; i++) f->rec.loan_used[i] = true; /* the cap */
    FEED_BUF(f, S2C, b);
    flow_end(f);
    assert_int_equal(f->rec.loans_taken, 0);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"messages\":[\"server_hello\",\"certificate\"]");
    assert_null(strstr(f->rec.txns[0].json, "subject_cn"));
    assert_null(qw_record_identity(&f->rec, true, "tls_cert_subject"));
    assert_int_equal(f->rec.nanomalies, 0);
    /* with buffers to lend, a flow that ends in the middle of the message gives its one back */
    fx_reset(f);
    b->n = 0;
    records(b, 22, m, 300);
    feed(f, S2C, b->b, b->n - 100);
    assert_int_equal(f->rec.loans_out, 1);
    flow_end(f);
    assert_int_equal(f->rec.loans_out, 0);
    free(b);
    free(m);
    free(c1);
}

static void test_malformed_inputs(void **ts)
{
    struct fx *f = *ts;
    struct ch_params p = spec_hello();
    struct buf *b = buf_new(), *m = buf_new();
    /* A cipher-suite length running past the message. */
    client_hello(m, &p);
    m->b[4 + 2 + 32 + 1 + 32] = 0xFF;
    records(b, 22, m, 16384);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.malformed_handshake"), 1);
    /* A record with an unknown content type, then a valid one: resynchronised. */
    b->n = 0;
    static const uint8_t junk[] = {0x63, 0x03, 0x03, 0x00, 0x02, 0xAA, 0xBB};
    put(b, junk, sizeof junk);
    static const uint8_t alert[] = {1, 0};
    record_raw(b, 21, alert, 2);
    FEED_BUF(f, S2C, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.malformed_record"), 1);
    flow_end(f);
    size_t alerts = 0;
    for (size_t i = 0; i < f->rec.ntxns; i++) alerts += f->rec.txns[i].txn.function == 21;
    assert_int_equal(alerts, 1);
    /* An oversized record length. */
    fx_reset(f);
    static const uint8_t huge[] = {0x16, 0x03, 0x01, 0xFF, 0xFF, 0x01};
    feed(f, C2S, huge, sizeof huge);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.malformed_record"), 1);
    /* Every truncation of a ClientHello record, then the flow ends: no crash, and no anomaly
     * for what is merely incomplete. */
    for (size_t k = 0; k < 60; k++) {
        fx_reset(f);
        b->n = m->n = 0;
        client_hello(m, &p);
        records(b, 22, m, 16384);
        feed(f, C2S, b->b, k);
        flow_end(f);
        assert_int_equal(f->rec.nanomalies, 0);
    }
    free(b);
    free(m);
}

/* After a lost segment the direction finds the next record boundary. */
static void test_gap_resync(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new(), *m = buf_new();
    tls13_client_hello(b);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    server_hello(m, 0x0303, 0x1301, 0x0304, NULL, false, 32);
    records(b, 22, m, 16384);
    FEED_BUF(f, S2C, b);
    qw_pending_reset(&f->pend[1]);
    qw_proto_tls.gap(&f->ctx, f->state, S2C);
    b->n = 0;
    for (int i = 0; i < 30; i++) u8(b, (uint8_t)(0x80 + i)); /* the tail of a lost record */
    record_raw(b, 23, m->b, 40);
    record_raw(b, 23, m->b, 40);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1); /* resynchronised on application data: written */
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
    free(m);
}

static void test_sslv2_compatible_hello(void **ts)
{
    struct fx *f = *ts;
    /* [TLS10] E.1: an SSL 3.0+ client hello in an SSL 2.0 record, two cipher specs. */
    static const uint8_t v2[] = {0x80, 0x1F, 0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10,
                                 0x00, 0x00, 0x2F, 0x00, 0x00, 0x35, 1,    2,    3,    4,    5,
                                 6,    7,    8,    9,    10,   11,   12,   13,   14,   15,   16};
    assert_int_equal(qw_proto_tls.probe(v2, sizeof v2, C2S), QW_PROBE_MATCH);
    for (size_t k = 0; k < 11; k++)
        assert_int_equal(qw_proto_tls.probe(v2, k, C2S), QW_PROBE_NEED_MORE);
    feed(f, C2S, v2, sizeof v2);
    struct buf *b = buf_new(), *m = buf_new();
    server_hello(m, 0x0301, 0x002f, 0, NULL, false, 0);
    records(b, 22, m, 16384);
    record_raw(b, 20, ccs_body, 1);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"request\":{\"function\":22,\"function_name\":\"handshake\","
                   "\"messages\":[\"sslv2_client_hello\"],\"version\":769,"
                   "\"version_name\":\"TLS 1.0\",\"sslv2_hello\":true,\"session_id_length\":0,"
                   "\"cipher_suites_count\":2}");
    JSON_HAS(f, 0, "\"cipher_suite_name\":\"TLS_RSA_WITH_AES_128_CBC_SHA\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "tls.weak_version"), 1);
    free(b);
    free(m);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct buf *b = buf_new(), *m = buf_new();
    struct ch_params p = spec_hello();
    client_hello(m, &p);
    records(b, 22, m, 16384);
    assert_int_equal(qw_proto_tls.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    for (size_t k = 0; k < 11; k++)
        assert_int_equal(qw_proto_tls.probe(b->b, k, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(qw_proto_tls.probe(b->b, 11, C2S), QW_PROBE_MATCH);
    b->n = m->n = 0;
    server_hello(m, 0x0303, 0x1301, 0x0304, NULL, false, 32);
    records(b, 22, m, 16384);
    assert_int_equal(qw_proto_tls.probe(b->b, b->n, S2C), QW_PROBE_MATCH);

    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06,
                                     0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};
    static const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x20, 0x00, 0x00};
    static const uint8_t bad_ver[] = {0x16, 0x03, 0x05, 0x00, 0x40, 0x01,
                                      0x00, 0x00, 0x3C, 0x03, 0x03};
    static const uint8_t cert_first[] = {0x16, 0x03, 0x03, 0x00, 0x40, 0x0B,
                                         0x00, 0x00, 0x3C, 0x00, 0x00};
    static const uint8_t short_hello[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01,
                                          0x00, 0x00, 0x05, 0x03, 0x03};
    static const uint8_t bad_hello_ver[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01,
                                            0x00, 0x00, 0x3C, 0x02, 0x00};
    static const uint8_t tpkt[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00};
    static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    static const uint8_t v2_server_hello[] = {0x80, 0x30, 0x04, 0x00, 0x01, 0x00, 0x02};
    assert_int_equal(qw_proto_tls.probe(http, sizeof http - 1, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(appdata, sizeof appdata, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(bad_ver, sizeof bad_ver, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(cert_first, sizeof cert_first, S2C), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(short_hello, sizeof short_hello, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(bad_hello_ver, sizeof bad_hello_ver, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(tpkt, sizeof tpkt, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(ssh, sizeof ssh - 1, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tls.probe(v2_server_hello, sizeof v2_server_hello, S2C), QW_PROBE_NO);
    free(b);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ja4_spec_examples),
        cmocka_unit_test(test_ja3_text_and_hash),
        cmocka_unit_test(test_x509_fields),
        cmocka_unit_test(test_x509_times_and_strings),
        cmocka_unit_test(test_probe),
        cmocka_unit_test_setup_teardown(test_tls12_handshake, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tls12_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_messages_split_over_records, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_byte_by_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tls13_handshake, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hello_retry_request, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_resumption, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alert_fails_handshake, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_certificate_anomalies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate_anomalies, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_large_chain, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_loan, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_inputs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gap_resync, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sslv2_compatible_hello, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
