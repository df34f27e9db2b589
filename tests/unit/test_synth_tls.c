/* Unit tests for the synthetic capture's TLS and X.509 encoder (src/synth/enc_tls.c).
 *
 * The certificates are read back with quaywatch's own certificate reader (tls_x509.c) for the
 * names, validity, version and serial, and walked with the DER reader (util/ber.h) for what
 * that reader leaves out: canonical lengths, the RSA key, the extensions and the signature. The
 * flights go through the TLS parser (tls.c) as a TLS-over-TCP conversation. Every encoder is
 * also given every capacity short of what it needs, and must then write nothing past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/proto.h"
#include "proto/tls_x509.h"
#include "synth/enc.h"
#include "util/ber.h"

extern const struct qw_proto qw_proto_tls;

#define START_UNIX 1795210200ull /* 2026-11-20T21:30:00Z, synth's default start */
#define YEAR (365 * 86400ull)
#define PROTO qw_proto_tls
#define FX_T0 (START_UNIX * 1000000000ull) /* the handshake's time: inside the validity */

#include "parser_fixture.h"

#define CERT_MAX 2048
#define FLIGHT_MAX 4096

static const uint8_t ca_key_id[SY_X509_KEY_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                      11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

static struct sy_x509_spec relay_spec(void)
{
    return (struct sy_x509_spec){"Crane Vendor Remote Service CA",
                                 "Crane Vendor",
                                 "rsb-relay.crane-vendor.example",
                                 "Crane Vendor",
                                 START_UNIX - YEAR,
                                 START_UNIX - YEAR + 1826 * 86400ull,
                                 true,
                                 ca_key_id};
}

static size_t build(uint8_t *b, size_t cap, const struct sy_x509_spec *s, uint64_t seed)
{
    struct sy_rng r;
    sy_rng_seed(&r, seed);
    return sy_x509_cert(b, cap, s, &r);
}

/* ---- DER walking --------------------------------------------------------------------------- */

/* The i-th TLV of a constructed value. */
static struct qw_ber_tlv child(const struct qw_ber_tlv *parent, unsigned i)
{
    struct qw_cursor c = qw_ber_contents(parent);
    struct qw_ber_tlv t;
    for (unsigned k = 0; k <= i; k++) assert_int_equal(qw_ber_next(&c, &t), QW_BER_OK);
    return t;
}

static struct qw_ber_tlv whole(const uint8_t *der, size_t n)
{
    struct qw_cursor c = qw_cursor_make(der, n);
    struct qw_ber_tlv t;
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_OK);
    assert_int_equal(qw_cur_left(&c), 0);
    return t;
}

/* The TLV reached from the outer one by child indices: AT(der, n, 0, 6) is the
 * certificate's subjectPublicKeyInfo (tbsCertificate's 7th field). */
static struct qw_ber_tlv at_path(const uint8_t *der, size_t n, const unsigned *path,
                                 size_t depth)
{
    struct qw_ber_tlv t = whole(der, n);
    for (size_t i = 0; i < depth; i++) t = child(&t, path[i]);
    return t;
}

#define AT(der, n, ...)                                                                        \
    at_path((der), (n), (const unsigned[]){__VA_ARGS__},                                       \
            sizeof((const unsigned[]){__VA_ARGS__}) / sizeof(unsigned))

/* tbsCertificate's fields */
enum { TBS_VERSION, TBS_SERIAL, TBS_SIGNATURE, TBS_ISSUER, TBS_VALIDITY, TBS_SUBJECT, TBS_SPKI,
       TBS_EXTENSIONS };

static size_t minimal_header(size_t len)
{
    return len < 0x80 ? 2 : len <= 0xff ? 3 : 4;
}

/* Every TLV, constructed ones recursively, has the shortest length form and its contents hold
 * exactly its children. */
static void assert_canonical(const struct qw_ber_tlv *t)
{
    assert_int_equal(t->hdr_len, minimal_header(t->len));
    if (!t->constructed) return;
    struct qw_cursor c = qw_ber_contents(t);
    while (qw_cur_left(&c) > 0) {
        struct qw_ber_tlv k;
        assert_int_equal(qw_ber_next(&c, &k), QW_BER_OK);
        assert_canonical(&k);
    }
}

static void assert_oid(struct qw_ber_tlv t, const char *want)
{
    char s[64];
    assert_int_equal(t.tag, 6);
    assert_true(qw_ber_oid_str(&t, s, sizeof s));
    assert_string_equal(s, want);
}

/* ---- certificates -------------------------------------------------------------------------- */

static void test_certificate_read_back(void **state)
{
    (void)state;
    uint8_t der[CERT_MAX];
    struct sy_x509_spec s = relay_spec();
    size_t n = build(der, sizeof der, &s, 7);
    assert_true(n > 700 && n < 1100);
    struct tls_x509 x;
    assert_int_equal(tls_x509_parse(der, n, &x), TLS_X509_OK);
    assert_int_equal(x.version, 3);
    assert_string_equal(x.subject_cn.s, "rsb-relay.crane-vendor.example");
    assert_string_equal(x.subject_o.s, "Crane Vendor");
    assert_string_equal(x.issuer_cn.s, "Crane Vendor Remote Service CA");
    assert_string_equal(x.issuer_o.s, "Crane Vendor");
    assert_true(x.has_validity);
    assert_string_equal(x.not_before_str, "2025-11-20T21:30:00Z");
    assert_string_equal(x.not_after_str, "2030-11-20T21:30:00Z");
    assert_int_equal(x.not_before, (int64_t)(START_UNIX - YEAR));
    assert_int_equal(x.serial_len, 16);
    assert_true(x.serial[0] >= 0x01 && x.serial[0] <= 0x7f); /* positive, no zero octet */
    assert_false(x.self_signed);
}

static void test_certificate_der(void **state)
{
    (void)state;
    uint8_t der[CERT_MAX];
    struct sy_x509_spec s = relay_spec();
    size_t n = build(der, sizeof der, &s, 7);
    struct qw_ber_tlv cert = whole(der, n);
    assert_canonical(&cert);

    assert_oid(AT(der, n, 1, 0), "1.2.840.113549.1.1.11"); /* sha256WithRSAEncryption */
    assert_oid(AT(der, n, 0, TBS_SIGNATURE, 0), "1.2.840.113549.1.1.11");
    struct qw_ber_tlv sig = AT(der, n, 2);
    assert_int_equal(sig.tag, 3); /* BIT STRING: no unused bits, a 2048-bit signature */
    assert_int_equal(sig.len, 257);
    assert_int_equal(sig.val[0], 0);

    /* subjectPublicKeyInfo: rsaEncryption, RSAPublicKey { modulus, publicExponent } */
    assert_oid(AT(der, n, 0, TBS_SPKI, 0, 0), "1.2.840.113549.1.1.1");
    struct qw_ber_tlv bits = AT(der, n, 0, TBS_SPKI, 1);
    assert_int_equal(bits.val[0], 0);
    struct qw_ber_tlv modulus = AT(bits.val + 1, bits.len - 1, 0);
    struct qw_ber_tlv exponent = AT(bits.val + 1, bits.len - 1, 1);
    assert_int_equal(modulus.len, 257); /* a sign octet and 2048 bits */
    assert_int_equal(modulus.val[0], 0);
    assert_true(modulus.val[1] & 0x80);
    assert_true(modulus.val[256] & 1);
    uint64_t e;
    assert_true(qw_ber_uint(&exponent, &e));
    assert_int_equal(e, 65537);

    /* [3] extensions, in order; basicConstraints and keyUsage critical */
    struct qw_ber_tlv exts = AT(der, n, 0, TBS_EXTENSIONS);
    assert_int_equal(exts.cls, QW_BER_CONTEXT);
    assert_int_equal(exts.tag, 3);
    static const char *const want[] = {"2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.14",
                                       "2.5.29.35"};
    for (unsigned i = 0; i < 5; i++) {
        assert_oid(AT(der, n, 0, TBS_EXTENSIONS, 0, i, 0), want[i]);
        struct qw_ber_tlv second = AT(der, n, 0, TBS_EXTENSIONS, 0, i, 1);
        assert_int_equal(second.tag == 1, i < 2); /* BOOLEAN TRUE before the value */
    }
    /* keyUsage of a server: digitalSignature and keyEncipherment, 5 unused bits */
    assert_memory_equal(AT(der, n, 0, TBS_EXTENSIONS, 0, 1, 2).val, "\x03\x02\x05\xa0", 4);
    /* the authority key identifier is the one given */
    struct qw_ber_tlv aki = AT(der, n, 0, TBS_EXTENSIONS, 0, 4, 1);
    struct qw_ber_tlv key_id = AT(aki.val, aki.len, 0);
    assert_int_equal(key_id.cls, QW_BER_CONTEXT);
    assert_memory_equal(key_id.val, ca_key_id, sizeof ca_key_id);
}

static void test_client_certificate_usage(void **state)
{
    (void)state;
    uint8_t der[CERT_MAX];
    struct sy_x509_spec s = relay_spec();
    s.subject_cn = "crane-rsb01";
    s.server = false;
    size_t n = build(der, sizeof der, &s, 8);
    struct tls_x509 x;
    assert_int_equal(tls_x509_parse(der, n, &x), TLS_X509_OK);
    assert_string_equal(x.subject_cn.s, "crane-rsb01");
    /* digitalSignature only; extKeyUsage clientAuth */
    assert_memory_equal(AT(der, n, 0, TBS_EXTENSIONS, 0, 1, 2).val, "\x03\x02\x07\x80", 4);
    struct qw_ber_tlv eku = AT(der, n, 0, TBS_EXTENSIONS, 0, 2, 1);
    assert_oid(AT(eku.val, eku.len, 0), "1.3.6.1.5.5.7.3.2");
}

/* [X509] s.4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; the epoch itself. */
static void test_certificate_times(void **state)
{
    (void)state;
    uint8_t der[CERT_MAX];
    struct sy_x509_spec s = relay_spec();
    s.not_before = 0;
    s.not_after = 2524608000ull; /* 2050-01-01T00:00:00Z */
    size_t n = build(der, sizeof der, &s, 9);
    struct tls_x509 x;
    assert_int_equal(tls_x509_parse(der, n, &x), TLS_X509_OK);
    assert_string_equal(x.not_before_str, "1970-01-01T00:00:00Z");
    assert_string_equal(x.not_after_str, "2050-01-01T00:00:00Z");
    struct qw_ber_tlv nb = AT(der, n, 0, TBS_VALIDITY, 0), na = AT(der, n, 0, TBS_VALIDITY, 1);
    assert_int_equal(nb.tag, 23);
    assert_memory_equal(nb.val, "700101000000Z", 13);
    assert_int_equal(na.tag, 24);
    assert_memory_equal(na.val, "20500101000000Z", 15);
}

static void test_deterministic(void **state)
{
    (void)state;
    uint8_t a[CERT_MAX], b[CERT_MAX];
    struct sy_x509_spec s = relay_spec();
    size_t na = build(a, sizeof a, &s, 11), nb = build(b, sizeof b, &s, 11);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    nb = build(b, sizeof b, &s, 12);
    assert_true(na != nb || memcmp(a, b, na) != 0);
}

/* ---- capacity ------------------------------------------------------------------------------ */

enum { E_CERT, E_NAME, E_CLIENT_HELLO, E_SERVER_FLIGHT, E_CLIENT_FLIGHT, E_SERVER_FINISH,
       E_APP_DATA, E_COUNT };

static const uint8_t fake_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};

static size_t encode(int which, uint8_t *b, size_t cap)
{
    struct sy_rng r;
    sy_rng_seed(&r, 5);
    struct sy_x509_spec s = relay_spec();
    switch (which) {
    case E_CERT: return sy_x509_cert(b, cap, &s, &r);
    case E_NAME: return sy_x509_name(b, cap, s.issuer_cn, s.issuer_o);
    case E_CLIENT_HELLO: return sy_tls_client_hello(b, cap, &r);
    case E_SERVER_FLIGHT:
        return sy_tls_server_flight(b, cap, fake_cert, sizeof fake_cert, fake_cert,
                                    sizeof fake_cert, &r);
    case E_CLIENT_FLIGHT: return sy_tls_client_flight(b, cap, fake_cert, sizeof fake_cert, &r);
    case E_SERVER_FINISH: return sy_tls_server_finish(b, cap, &r);
    default: return sy_tls_app_data(b, cap, 3, 300, &r);
    }
}

static void test_capacity(void **state)
{
    (void)state;
    static uint8_t full[FLIGHT_MAX], b[FLIGHT_MAX + 1];
    for (int which = 0; which < E_COUNT; which++) {
        size_t n = encode(which, full, sizeof full);
        assert_true(n > 0 && n < sizeof full);
        for (size_t cap = 0; cap < n; cap++) {
            memset(b, 0xee, sizeof b);
            assert_int_equal(encode(which, b, cap), 0);
            for (size_t i = cap; i < sizeof b; i++)
                if (b[i] != 0xee)
                    fail_msg("encoder %d, capacity %zu: byte %zu written", which, cap, i);
        }
        memset(b, 0xee, sizeof b);
        assert_int_equal(encode(which, b, n), n);
        assert_memory_equal(b, full, n);
        assert_int_equal(b[n], 0xee);
    }
}

/* ---- the handshake through the TLS parser ---------------------------------------------------- */

static void test_handshake_read_by_tls_parser(void **ts)
{
    struct fx *f = *ts;
    static uint8_t relay[CERT_MAX], box[CERT_MAX], ca[256], flight[FLIGHT_MAX];
    struct sy_x509_spec s = relay_spec();
    size_t relay_len = build(relay, sizeof relay, &s, 21);
    s.subject_cn = "crane-rsb01";
    s.server = false;
    size_t box_len = build(box, sizeof box, &s, 22);
    size_t ca_len = sy_x509_name(ca, sizeof ca, s.issuer_cn, s.issuer_o);
    struct sy_rng r;
    sy_rng_seed(&r, 23);

    feed(f, C2S, flight, sy_tls_client_hello(flight, sizeof flight, &r));
    feed(f, S2C, flight,
         sy_tls_server_flight(flight, sizeof flight, relay, relay_len, ca, ca_len, &r));
    feed(f, C2S, flight, sy_tls_client_flight(flight, sizeof flight, box, box_len, &r));
    feed(f, S2C, flight, sy_tls_server_finish(flight, sizeof flight, &r));
    feed(f, C2S, flight, sy_tls_app_data(flight, sizeof flight, 1, 500, &r));
    feed(f, S2C, flight, sy_tls_app_data(flight, sizeof flight, 1, 300, &r));

    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"messages\":[\"client_hello\",\"certificate\",\"client_key_exchange\","
                   "\"certificate_verify\"],\"version\":771,");
    JSON_HAS(f, 0, "\"cipher_suites_count\":21,\"extensions_count\":6,");
    JSON_HAS(f, 0, "\"ja3_string\":\"771,49196-49200-");
    JSON_HAS(f, 0, ",65281-11-10-22-23-13,29-23-30-25-24,0-1-2\"");
    JSON_LACKS(f, 0, "\"sni\"");
    JSON_HAS(f, 0, "\"messages\":[\"server_hello\",\"certificate\",\"server_key_exchange\","
                   "\"certificate_request\",\"server_hello_done\"],\"version\":771,");
    JSON_HAS(f, 0, "\"cipher_suite\":49200,\"cipher_suite_name\":\"" SY_TLS_SUITE_NAME "\"");
    JSON_HAS(f, 0, "\"ja3s_string\":\"771,49200,65281-11-23\"");
    JSON_HAS(f, 0, "\"subject_cn\":\"crane-rsb01\",\"subject_o\":\"Crane Vendor\","
                   "\"issuer_cn\":\"Crane Vendor Remote Service CA\"");
    JSON_HAS(f, 0, "\"subject_cn\":\"rsb-relay.crane-vendor.example\"");
    JSON_HAS(f, 0, "\"encrypted\":true");
    identity_is(f, true, "tls_cert_subject", "CN=rsb-relay.crane-vendor.example, O=Crane Vendor");
    identity_is(f, false, "tls_cert_subject", "CN=crane-rsb01, O=Crane Vendor");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_read_back),
        cmocka_unit_test(test_certificate_der),
        cmocka_unit_test(test_client_certificate_usage),
        cmocka_unit_test(test_certificate_times),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_capacity),
        FX_TEST(test_handshake_read_by_tls_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
