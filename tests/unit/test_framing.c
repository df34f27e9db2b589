/* Unit tests for shared framing helpers: the ASN.1 BER reader (src/util/ber.c) and TPKT/COTP
 * (src/proto/cotp.c). Vectors are built by hand from X.690 and RFC 1006 / ISO 8073. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/cotp.h"
#include "util/ber.h"

/* A SEQUENCE holding an INTEGER, an OID and a high-tag context value; long-form length. */
static void ber_walks_nested_values(void **state)
{
    (void)state;
    static const uint8_t b[] = {
        0x30, 0x81, 0x11,                               /* SEQUENCE, long-form length 17 */
        0x02, 0x02, 0xff, 0x7f,                         /* INTEGER -129 */
        0x06, 0x06, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, /* OID 1.3.6.1.2.1.1 */
        0x9f, 0x81, 0x00, 0x01, 0x05,                   /* [context 128] 0x05 */
    };
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    struct qw_ber_tlv seq, t;
    assert_int_equal(qw_ber_next(&c, &seq), QW_BER_OK);
    assert_true(seq.constructed);
    assert_int_equal(seq.tag, 16);
    assert_int_equal(seq.len, 17);
    assert_int_equal(seq.hdr_len, 3);
    struct qw_cursor in = qw_ber_contents(&seq);
    assert_int_equal(qw_ber_next(&in, &t), QW_BER_OK);
    int64_t v;
    uint64_t u;
    assert_true(qw_ber_int(&t, &v));
    assert_int_equal(v, -129);
    assert_false(qw_ber_uint(&t, &u)); /* negative */
    assert_int_equal(qw_ber_next(&in, &t), QW_BER_OK);
    char oid[64];
    assert_true(qw_ber_oid_str(&t, oid, sizeof oid));
    assert_string_equal(oid, "1.3.6.1.2.1.1");
    assert_false(qw_ber_oid_str(&t, oid, 8)); /* too small */
    assert_int_equal(qw_ber_next(&in, &t), QW_BER_OK);
    assert_int_equal(t.cls, QW_BER_CONTEXT);
    assert_int_equal(t.tag, 128);
    assert_true(qw_ber_uint(&t, &u));
    assert_int_equal(u, 5);
    assert_int_equal(qw_cur_left(&in), 0);
}

static void ber_refuses_bad_lengths(void **state)
{
    (void)state;
    static const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    static const uint8_t too_long[] = {0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t cut[] = {0x04, 0x05, 0x41, 0x42};
    static const uint8_t huge[] = {0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x41};
    struct qw_ber_tlv t;
    struct qw_cursor c = qw_cursor_make(indefinite, sizeof indefinite);
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_INDEFINITE);
    assert_true(c.err);
    c = qw_cursor_make(too_long, sizeof too_long);
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_BAD);
    c = qw_cursor_make(cut, sizeof cut);
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_TRUNCATED);
    c = qw_cursor_make(huge, sizeof huge);
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_TRUNCATED);
    c = qw_cursor_make(cut, 1);
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_TRUNCATED);
}

static void ber_uint_keeps_leading_zero(void **state)
{
    (void)state;
    static const uint8_t b[] = {0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    struct qw_ber_tlv t;
    assert_int_equal(qw_ber_next(&c, &t), QW_BER_OK);
    uint64_t u;
    assert_true(qw_ber_uint(&t, &u));
    assert_true(u == UINT64_MAX);
    int64_t v;
    assert_false(qw_ber_int(&t, &v)); /* 9 octets */
}

/* A COTP connection request with calling/called TSAPs, then a DT split in two TPDUs. */
static void cotp_cr_params_and_dt_reassembly(void **state)
{
    (void)state;
    static const uint8_t cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00,
                                 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00,
                                 0xc2, 0x02, 0x01, 0x02};
    size_t n = 0;
    assert_int_equal(qw_tpkt_frame(cr, sizeof cr, &n), QW_TPKT_OK);
    assert_int_equal(n, sizeof cr);
    assert_int_equal(qw_tpkt_frame(cr, 10, &n), QW_TPKT_NEED_MORE);
    struct qw_cotp c;
    assert_true(qw_cotp_parse(cr + 4, n - 4, &c));
    assert_int_equal(c.type, QW_COTP_CR);
    assert_int_equal(c.src_ref, 1);
    size_t pl = 0;
    const uint8_t *called = qw_cotp_param(&c, 0xc2, &pl);
    assert_non_null(called);
    assert_int_equal(pl, 2);
    assert_int_equal(called[1], 0x02);
    assert_null(qw_cotp_param(&c, 0xc5, &pl));
    assert_int_equal(qw_tpkt_cotp_probe(cr, sizeof cr, &c), QW_TPKT_OK);

    static const uint8_t dt1[] = {0x02, 0xf0, 0x00, 0x32, 0x01};
    static const uint8_t dt2[] = {0x02, 0xf0, 0x80, 0x00, 0x00};
    uint8_t buf[8];
    struct qw_cotp_asm a = {0};
    size_t out = 0;
    bool of = false;
    assert_true(qw_cotp_parse(dt1, sizeof dt1, &c));
    assert_false(c.eot);
    assert_null(qw_cotp_assemble(&a, buf, sizeof buf, &c, &out, &of));
    assert_true(qw_cotp_parse(dt2, sizeof dt2, &c));
    assert_true(c.eot);
    const uint8_t *tsdu = qw_cotp_assemble(&a, buf, sizeof buf, &c, &out, &of);
    assert_non_null(tsdu);
    assert_int_equal(out, 4);
    assert_memory_equal(tsdu, "\x32\x01\x00\x00", 4);
    /* a TSDU larger than the buffer is dropped whole and reported once */
    uint8_t small[3];
    assert_true(qw_cotp_parse(dt1, sizeof dt1, &c));
    assert_null(qw_cotp_assemble(&a, small, sizeof small, &c, &out, &of));
    assert_true(qw_cotp_parse(dt1, sizeof dt1, &c));
    assert_null(qw_cotp_assemble(&a, small, sizeof small, &c, &out, &of));
    assert_false(of);
    assert_true(qw_cotp_parse(dt2, sizeof dt2, &c));
    assert_null(qw_cotp_assemble(&a, small, sizeof small, &c, &out, &of));
    assert_true(of);
    assert_int_equal(a.len, 0);
}

static void tpkt_refuses_non_tpkt(void **state)
{
    (void)state;
    static const uint8_t http[] = "GET / HTTP/1.1\r\n";
    static const uint8_t short_len[] = {0x03, 0x00, 0x00, 0x05, 0x02, 0xf0, 0x80};
    static const uint8_t bad_cotp[] = {0x03, 0x00, 0x00, 0x07, 0x02, 0x30, 0x80};
    size_t n;
    struct qw_cotp c;
    assert_int_equal(qw_tpkt_frame(http, sizeof http - 1, &n), QW_TPKT_BAD);
    assert_int_equal(qw_tpkt_frame(short_len, sizeof short_len, &n), QW_TPKT_BAD);
    assert_int_equal(qw_tpkt_cotp_probe(bad_cotp, sizeof bad_cotp, &c), QW_TPKT_BAD);
    assert_false(qw_cotp_parse(bad_cotp + 4, 1, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ber_walks_nested_values),
        cmocka_unit_test(ber_refuses_bad_lengths),
        cmocka_unit_test(ber_uint_keeps_leading_zero),
        cmocka_unit_test(cotp_cr_params_and_dt_reassembly),
        cmocka_unit_test(tpkt_refuses_non_tpkt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
