/* Unit tests for the utility layer: the bounds-checked cursor (src/util/cursor.h), the JSON
 * writer (src/util/json.c), SipHash-2-4 (src/util/hash.c) and the capped hash map
 * (src/util/hmap.c).
 *
 * SipHash vectors are the reference implementation's vectors_sip64 table (key 00..0f, message
 * 00..n-1); the n=15 value is the worked example of the paper's Appendix A. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cursor.h"
#include "util/digits.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/hmap.h"
#include "util/json.h"
#include "util/str.h"
#include "util/timefmt.h"

/* ---- cursor ------------------------------------------------------------------------------- */

/* Each reader returns the documented byte order and advances by its width. */
static void cursor_reads_values_in_order(void **state)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    assert_int_equal(qw_cur_u8(&c), 0x01);
    assert_int_equal(qw_cur_be16(&c), 0x0203);
    assert_int_equal(qw_cur_be24(&c), 0x040506);
    assert_int_equal(qw_cur_be32(&c), 0x0708090a);
    assert_int_equal(qw_cur_le32(&c), 0x0e0d0c0b);
    assert_int_equal(qw_cur_le16(&c), 0x100f);
    assert_int_equal(c.off, 16);
    assert_int_equal(qw_cur_left(&c), 1);
    assert_true(qw_cur_has(&c, 1));
    assert_false(qw_cur_has(&c, 2));
    assert_int_equal(qw_cur_u8(&c), 0x11);
    assert_false(c.err); /* reading exactly to the end is not an error */
    assert_int_equal(qw_cur_left(&c), 0);
}

/* 64-bit readers compose two 32-bit reads in the right order. */
static void cursor_reads_64bit(void **state)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    assert_true(qw_cur_be64(&c) == 0x0102030405060708ull);
    assert_true(qw_cur_le64(&c) == 0x0807060504030201ull);
    assert_false(c.err);
}

/* A read past the end returns 0, sets err, and does not move; err then sticks, so even reads
 * that would fit return 0 and the copy helpers zero-fill or return NULL. */
static void cursor_error_is_sticky(void **state)
{
    static const uint8_t b[] = {0xaa, 0xbb, 0xcc};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    assert_int_equal(qw_cur_be32(&c), 0);
    assert_true(c.err);
    assert_int_equal(c.off, 0);
    assert_int_equal(qw_cur_left(&c), 0);
    assert_false(qw_cur_has(&c, 1));
    /* three bytes are still there, but the error is sticky */
    assert_int_equal(qw_cur_u8(&c), 0);
    assert_int_equal(qw_cur_be16(&c), 0);
    assert_int_equal(qw_cur_be24(&c), 0);
    assert_int_equal(qw_cur_le32(&c), 0);
    uint8_t dst[2] = {0x55, 0x55};
    assert_false(qw_cur_bytes(&c, dst, 2));
    assert_int_equal(dst[0], 0);
    assert_int_equal(dst[1], 0);
    assert_null(qw_cur_take(&c, 1));
    assert_false(qw_cur_skip(&c, 1));
    assert_int_equal(c.off, 0);
}

/* A read that ends one byte past the end fails; the successful reads before it keep values. */
static void cursor_error_after_partial_reads(void **state)
{
    static const uint8_t b[] = {0x12, 0x34, 0x56};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    assert_int_equal(qw_cur_be16(&c), 0x1234);
    assert_int_equal(qw_cur_be16(&c), 0); /* only one byte left */
    assert_true(c.err);
    assert_int_equal(qw_cur_u8(&c), 0);   /* 0x56 is never returned after the error */
    uint8_t one;
    assert_false(qw_cur_bytes(&c, &one, 1));
    assert_int_equal(one, 0);
}

/* qw_cur_take borrows in place; qw_cur_bytes copies. */
static void cursor_take_and_bytes(void **state)
{
    static const uint8_t b[] = {'a', 'b', 'c', 'd', 'e'};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    const uint8_t *p = qw_cur_take(&c, 2);
    assert_ptr_equal(p, b);
    uint8_t dst[3];
    assert_true(qw_cur_bytes(&c, dst, 3));
    assert_memory_equal(dst, "cde", 3);
    assert_null(qw_cur_take(&c, 1));
    assert_true(c.err);
}

/* A child cursor covers min(declared, remaining) bytes; the parent skips exactly that much, and
 * `short` tells whether the declared length was cut. The child's errors stay in the child. */
static void cursor_sub_bounded(void **state)
{
    static const uint8_t b[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct qw_cursor c = qw_cursor_make(b, sizeof b);
    qw_cur_skip(&c, 2);

    bool short_len = true;
    struct qw_cursor child = qw_cur_sub(&c, 5, &short_len);
    assert_false(short_len);
    assert_int_equal(child.len, 5);
    assert_ptr_equal(child.base, b + 2);
    assert_int_equal(c.off, 7); /* parent skipped the child's bytes */
    assert_int_equal(qw_cur_be32(&child), 0x02030405);
    assert_int_equal(qw_cur_be16(&child), 0); /* one byte left in the child */
    assert_true(child.err);
    assert_false(c.err);
    assert_int_equal(qw_cur_u8(&c), 7);

    /* a lying length: 100 declared, 2 remain */
    struct qw_cursor child2 = qw_cur_sub(&c, 100, &short_len);
    assert_true(short_len);
    assert_int_equal(child2.len, 2);
    assert_int_equal(qw_cur_left(&c), 0);
    assert_false(c.err); /* the parent is at its end, not past it */
    assert_int_equal(qw_cur_be16(&child2), 0x0809);

    /* a child of an errored parent is empty */
    qw_cur_u8(&c);
    assert_true(c.err);
    struct qw_cursor child3 = qw_cur_sub(&c, 4, &short_len);
    assert_true(short_len);
    assert_int_equal(child3.len, 0);
    assert_int_equal(qw_cur_u8(&child3), 0);
    assert_true(child3.err);

    /* short_out is optional */
    struct qw_cursor d = qw_cursor_make(b, sizeof b);
    struct qw_cursor child4 = qw_cur_sub(&d, 3, NULL);
    assert_int_equal(child4.len, 3);
    assert_int_equal(d.off, 3);
}

/* ---- JSON writer -------------------------------------------------------------------------- */

struct jbuf {
    struct qw_json j;
    char mem[4096];
    char text[4097];
};

/* The writer's memory buffer is not NUL-terminated: copy it out as a C string. */
static const char *jtext(struct jbuf *b)
{
    assert_true(b->j.len < sizeof b->text);
    memcpy(b->text, b->mem, b->j.len);
    b->text[b->j.len] = '\0';
    return b->text;
}

static struct jbuf *jnew(void)
{
    struct jbuf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    qw_json_mem(&b->j, b->mem, sizeof b->mem);
    return b;
}

/* Commas go between members at every level and never after '{' / '[' or before '}' / ']';
 * a newline ends a record and the next record starts without a comma. */
static void json_nesting_and_commas(void **state)
{
    struct jbuf *b = jnew();
    struct qw_json *j = &b->j;
    qw_json_obj_begin(j, NULL);
    qw_json_u64(j, "a", 1);
    qw_json_arr_begin(j, "b");
    qw_json_u64(j, NULL, 1);
    qw_json_u64(j, NULL, 2);
    qw_json_obj_begin(j, NULL);
    qw_json_bool(j, "c", true);
    qw_json_obj_end(j);
    qw_json_arr_begin(j, NULL);
    qw_json_arr_end(j);
    qw_json_arr_end(j);
    qw_json_obj_begin(j, "d");
    qw_json_obj_end(j);
    qw_json_null(j, "e");
    qw_json_bool(j, "f", false);
    qw_json_str(j, "g", NULL); /* a NULL string is null */
    qw_json_obj_end(j);
    qw_json_newline(j);
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "x", "y");
    qw_json_raw(j, "r", "[1,2]", 5);
    qw_json_obj_end(j);
    qw_json_newline(j);
    assert_true(qw_json_ok(j));
    assert_string_equal(jtext(b), "{\"a\":1,\"b\":[1,2,{\"c\":true},[]],\"d\":{},\"e\":null,"
                                  "\"f\":false,\"g\":null}\n{\"x\":\"y\",\"r\":[1,2]}\n");
    free(b);
}

/* A key that is not a literal is evaluated once (the writers are macros), measured when written,
 * and escaped when it needs it; a literal key is copied. */
static const char *count_call(int *calls, const char *key)
{
    ++*calls;
    return key;
}

static void json_key_evaluated_once(void **state)
{
    struct jbuf *b = jnew();
    (void)state;
    struct qw_json *j = &b->j;
    int calls = 0;
    char runtime[8] = "r\"k";
    qw_json_obj_begin(j, NULL);
    qw_json_u64(j, count_call(&calls, "a"), 1);
    qw_json_str(j, count_call(&calls, runtime), "v");
    qw_json_bool(j, "lit", true);
    qw_json_obj_end(j);
    assert_int_equal(calls, 2);
    assert_true(qw_json_ok(j));
    assert_string_equal(jtext(b), "{\"a\":1,\"r\\\"k\":\"v\",\"lit\":true}");
    free(b);
}

/* Quote, backslash and control characters are escaped, in values and in keys. */
static void json_escapes(void **state)
{
    struct jbuf *b = jnew();
    struct qw_json *j = &b->j;
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "k\"q", "say \"hi\" \\ back\nx\x01y\t\r\x1f\x7f");
    qw_json_strn(j, "nul", "a\0b", 3);
    qw_json_obj_end(j);
    assert_true(qw_json_ok(j));
    assert_string_equal(jtext(b), "{\"k\\\"q\":\"say \\\"hi\\\" \\\\ back\\nx\\u0001y\\t\\r\\u001f"
                                  "\x7f\",\"nul\":\"a\\u0000b\"}");
    free(b);
}

/* Valid UTF-8 of every length (2, 3, 4 bytes, including U+10FFFF and U+FFFD itself) is copied
 * byte for byte. */
static void json_valid_utf8_passes(void **state)
{
    static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf "
                            "\xef\xbf\xbd \xe0\xa0\x80 \xed\x9f\xbf";
    struct jbuf *b = jnew();
    qw_json_str(&b->j, NULL, s);
    char want[sizeof s + 2];
    snprintf(want, sizeof want, "\"%s\"", s);
    assert_string_equal(jtext(b), want);
    free(b);
}

/* Every byte of an invalid sequence becomes one \ufffd; the bytes around it are kept. */
static void json_invalid_utf8_replaced_per_byte(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"\xff", 1, "\"\\ufffd\""},
        {"\x80", 1, "\"\\ufffd\""},                          /* lone continuation byte */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},               /* overlong '/' */
        {"\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""},    /* overlong, 3 bytes */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},    /* UTF-16 surrogate D800 */
        {"\xe2\x82", 2, "\"\\ufffd\\ufffd\""},               /* truncated at the end */
        {"\xe2\x82" "A", 3, "\"\\ufffd\\ufffdA\""},          /* truncated before ASCII */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
        {"\xf5\x80", 2, "\"\\ufffd\\ufffd\""},
        {"a\xffz", 3, "\"a\\ufffdz\""},
        {"\xc3\xa9\xff\xc3\xa9", 5, "\"\xc3\xa9\\ufffd\xc3\xa9\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jbuf *b = jnew();
        qw_json_strn(&b->j, NULL, cases[i].in, cases[i].n);
        assert_true(qw_json_ok(&b->j));
        if (strcmp(jtext(b), cases[i].out) != 0)
            fail_msg("case %zu: got %s, want %s", i, b->text, cases[i].out);
        free(b);
    }
}

/* Numbers: the extremes of u64 and i64, and non-finite doubles as null. */
static void json_numbers(void **state)
{
    struct jbuf *b = jnew();
    struct qw_json *j = &b->j;
    qw_json_arr_begin(j, NULL);
    qw_json_u64(j, NULL, 0);
    qw_json_u64(j, NULL, UINT64_MAX);
    qw_json_i64(j, NULL, -42);
    qw_json_i64(j, NULL, INT64_MIN);
    qw_json_i64(j, NULL, 7);
    qw_json_double(j, NULL, NAN);
    qw_json_double(j, NULL, INFINITY);
    qw_json_double(j, NULL, -INFINITY);
    qw_json_double(j, NULL, 0.5);
    qw_json_hex(j, NULL, "\x00\xab\xff", 3);
    qw_json_arr_end(j);
    assert_true(qw_json_ok(j));
    assert_string_equal(jtext(b), "[0,18446744073709551615,-42,-9223372036854775808,7,null,null,"
                                  "null,0.5,\"00abff\"]");
    free(b);
}

/* qw_json_u16s writes what value-by-value calls write: every 16-bit value as a number, as
 * booleans, empty, after other members, and through the slow path of a nearly full memory
 * writer (what fits, then the overflow flag). */
static void json_u16_arrays(void **state)
{
    (void)state;
    static uint16_t all[65536];
    for (size_t i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    static char got[400000], want[400000];
    for (size_t start = 0; start < 65536; start += 500) {
        size_t n = 65536 - start < 500 ? 65536 - start : 500;
        struct qw_json a, b;
        qw_json_mem(&a, got, sizeof got);
        qw_json_mem(&b, want, sizeof want);
        for (int bits = 0; bits < 2; bits++) {
            qw_json_obj_begin(&a, NULL);
            qw_json_u64(&a, "before", 1);
            qw_json_u16s(&a, "values", all + start, n, bits);
            qw_json_u16s(&a, "none", all, 0, bits);
            qw_json_obj_end(&a);
            qw_json_obj_begin(&b, NULL);
            qw_json_u64(&b, "before", 1);
            qw_json_arr_begin(&b, "values");
            for (size_t i = 0; i < n; i++) {
                if (bits) qw_json_bool(&b, NULL, all[start + i] != 0);
                else qw_json_u64(&b, NULL, all[start + i]);
            }
            qw_json_arr_end(&b);
            qw_json_arr_begin(&b, "none");
            qw_json_arr_end(&b);
            qw_json_obj_end(&b);
        }
        assert_true(qw_json_ok(&a) && qw_json_ok(&b));
        assert_int_equal(a.len, b.len);
        assert_memory_equal(got, want, a.len);
    }
    /* too little room for the fast path: the values that fit, then overflow */
    char small[16];
    struct qw_json j;
    qw_json_mem(&j, small, sizeof small);
    static const uint16_t v[] = {1, 22, 333, 4444, 55555};
    qw_json_u16s(&j, NULL, v, 5, false);
    assert_true(j.overflow);
    assert_int_equal(j.len, sizeof small);
    assert_memory_equal(small, "[1,22,333,4444,5", 16);
}

/* Flow durations: qw_json_seconds(ns) writes what printf's "%.6g" writes for (double)ns / 1e9
 * (the event log's historical form), from the integer -- including values that round up to a
 * new power of ten, exact rounding ties (left to printf) and both exponent styles. */
static void json_seconds_match_printf(void **state)
{
    static const uint64_t fixed[] = {
        0, 1, 9, 10, 999, 1000, 59403, 100000, 999999, 1000000, 1234565, 1234575, 9999995,
        59403000, 999999500, 999999499, 1000000000, 1500000000, 2500000000ull,
        120000000000ull, 999999500000ull, 999999499999ull, 1000000000000000ull,
        9007199254740991ull, 9007199254740992ull, 18446744073709551615ull};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 200000; i++) {
        uint64_t ns;
        if (i < sizeof fixed / sizeof fixed[0]) {
            ns = fixed[i];
        } else {
            x ^= x << 13; /* xorshift: deterministic spread over every magnitude */
            x ^= x >> 7;
            x ^= x << 17;
            ns = x >> (x % 61);
            if (i % 3 == 0) ns = ns / 1000 * 1000 + 500; /* ties at the 6th digit */
        }
        char got[64], want[64];
        struct qw_json j;
        qw_json_mem(&j, got, sizeof got - 1);
        qw_json_seconds(&j, NULL, ns);
        got[j.len] = '\0';
        snprintf(want, sizeof want, "%.6g", (double)ns / 1e9);
        if (strcmp(got, want) != 0)
            fail_msg("ns=%llu: got %s want %s", (unsigned long long)ns, got, want);
    }
}

/* Timestamps: RFC 3339 with microseconds, as gmtime would give, over the whole range of
 * uint64_t nanoseconds (1970 .. 2554), leap days and year ends included. */
static void rfc3339_matches_gmtime(void **state)
{
    static const struct {
        uint64_t ns;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {951782400123456789ull, "2000-02-29T00:00:00.123456Z"},
        {1798761599999999999ull, "2026-12-31T23:59:59.999999Z"},
        {4107542400000000000ull, "2100-03-01T00:00:00.000000Z"},
        {18446744073709551615ull, "2554-07-21T23:34:33.709551Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[QW_TIME_STR_MAX];
        assert_int_equal(qw_time_rfc3339(cases[i].ns, t), 27);
        assert_string_equal(t, cases[i].want);
    }
}

/* A memory writer that runs out of room flags overflow, never writes past cap, and qw_json_ok
 * reports it; one that fits exactly is fine. */
static void json_memory_overflow_flagged(void **state)
{
    char mem[16];
    memset(mem, '#', sizeof mem);
    struct qw_json j;
    qw_json_mem(&j, mem, 8);
    qw_json_str(&j, "key", "a long value");
    assert_true(j.overflow);
    assert_false(qw_json_ok(&j));
    assert_true(j.len <= 8);
    assert_memory_equal(mem, "\"key\":\"a", 8);
    for (size_t i = 8; i < sizeof mem; i++) assert_int_equal(mem[i], '#');

    qw_json_mem(&j, mem, 7); /* "[1,23]" plus newline: exactly 7 bytes */
    qw_json_arr_begin(&j, NULL);
    qw_json_u64(&j, NULL, 1);
    qw_json_u64(&j, NULL, 23);
    qw_json_arr_end(&j);
    qw_json_newline(&j);
    assert_false(j.overflow);
    assert_true(qw_json_ok(&j));
    assert_memory_equal(mem, "[1,23]\n", 7);
    qw_json_u64(&j, NULL, 4); /* one byte more */
    assert_true(j.overflow);
}

/* A FILE writer with a tiny buffer flushes as it goes; the file holds the whole text. */
static void json_file_writer_flushes(void **state)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    char buf[4];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, f);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "name", "pump \"7\"");
    qw_json_u64(&j, "n", 1234567890);
    qw_json_obj_end(&j);
    qw_json_newline(&j);
    qw_json_flush(&j);
    assert_true(qw_json_ok(&j));
    char got[128] = {0};
    rewind(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    const char *want = "{\"name\":\"pump \\\"7\\\"\",\"n\":1234567890}\n";
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
}

/* ---- SipHash-2-4 -------------------------------------------------------------------------- */

/* The reference vectors for n = 0..16: covers an empty message, every tail length and one and
 * two full 8-byte blocks. */
static void siphash_reference_vectors(void **state)
{
    static const uint64_t want[17] = {
        0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
        0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
        0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
        0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
        0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
        0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull,
    };
    /* key bytes 00..0f, read little-endian as the paper specifies */
    const struct qw_sipkey key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    uint8_t msg[16];
    for (int i = 0; i < 16; i++) msg[i] = (uint8_t)i;
    assert_true(qw_siphash(&key, msg, 15) == 0xa129ca6149be45e5ull);
    assert_true(qw_siphash(&key, msg, 0) == 0x726fdb47dd0e0e31ull);
    for (size_t n = 0; n <= 16; n++)
        if (qw_siphash(&key, msg, n) != want[n])
            fail_msg("n=%zu: got %016llx want %016llx", n,
                     (unsigned long long)qw_siphash(&key, msg, n), (unsigned long long)want[n]);
}

/* Random table keys differ from one call to the next (the kernel's getrandom). */
static void table_random_keys_differ(void **state)
{
    struct qw_hkey a, b;
    qw_hkey_random(&a);
    qw_hkey_random(&b);
    assert_memory_not_equal(&a, &b, sizeof a);
}

/* The table hash: the same bytes under the same key give the same value; another key, one
 * changed byte or another length give another (64-bit values: a collision here is a bug). */
static void table_hash_keyed(void **state)
{
    struct qw_hkey a, b;
    qw_hkey_random(&a);
    qw_hkey_random(&b);
    uint8_t msg[64];
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)(i * 37);
    for (size_t n = 0; n <= 64; n++) {
        uint64_t h = qw_hash(&a, msg, n);
        assert_true(h == qw_hash(&a, msg, n));
        assert_true(h != qw_hash(&b, msg, n));
        if (n) {
            msg[n - 1] ^= 1;
            assert_true(h != qw_hash(&a, msg, n));
            msg[n - 1] ^= 1;
            assert_true(h != qw_hash(&a, msg, n - 1));
        }
    }
}

/* ---- hash map ----------------------------------------------------------------------------- */

/* upsert inserts zeroed, a second upsert of the same key returns the same value slot, get finds
 * it and misses other keys. */
static void hmap_insert_get_upsert(void **state)
{
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(uint32_t), sizeof(uint64_t), 100));
    uint32_t k = 7;
    bool added = false;
    uint64_t *v = qw_hmap_upsert(&m, &k, &added);
    assert_non_null(v);
    assert_true(added);
    assert_true(*v == 0);
    *v = 70;
    uint64_t *v2 = qw_hmap_upsert(&m, &k, &added);
    assert_false(added);
    assert_ptr_equal(v, v2);
    assert_true(*v2 == 70);
    uint64_t *g = qw_hmap_get(&m, &k);
    assert_ptr_equal(g, v);
    uint32_t other = 8;
    assert_null(qw_hmap_get(&m, &other));
    assert_int_equal(m.count, 1);
    qw_hmap_clear(&m);
    assert_int_equal(m.count, 0);
    assert_null(qw_hmap_get(&m, &k));
    qw_hmap_free(&m);
}

/* Removal against a model: a long random mix of inserts and removals over few keys (so probe
 * runs collide and wrap around the index) keeps every present key findable with its value,
 * every removed one gone, and the count right; iteration visits exactly the present keys. */
static void hmap_remove_matches_model(void **state)
{
    enum { KEYS = 300 };
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(uint32_t), sizeof(uint64_t), 200));
    static uint64_t model[KEYS]; /* 0: absent, else the value */
    memset(model, 0, sizeof model);
    uint32_t present = 0, rnd = 12345;
    for (int op = 0; op < 40000; op++) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t k = (rnd >> 8) % KEYS;
        if ((rnd >> 28) & 1) {
            assert_true(qw_hmap_remove(&m, &k) == (model[k] != 0));
            if (model[k]) present--;
            model[k] = 0;
        } else if (!model[k] && present < 200) {
            bool added = false;
            uint64_t *v = qw_hmap_upsert(&m, &k, &added);
            assert_non_null(v);
            assert_true(added);
            *v = (uint64_t)op + 1;
            model[k] = (uint64_t)op + 1;
            present++;
        }
        if (op % 97 == 0 || op > 39900) {
            assert_int_equal(m.count, present);
            for (uint32_t q = 0; q < KEYS; q++) {
                uint64_t *v = qw_hmap_get(&m, &q);
                if (model[q]) {
                    assert_non_null(v);
                    assert_true(*v == model[q]);
                } else {
                    assert_null(v);
                }
            }
            uint32_t pos = 0, seen = 0;
            const void *key;
            void *val;
            while (qw_hmap_next(&m, &pos, &key, &val)) {
                assert_true(model[*(const uint32_t *)key] == *(uint64_t *)val);
                seen++;
            }
            assert_int_equal(seen, present);
        }
    }
    assert_false(qw_hmap_remove(&m, &(uint32_t){KEYS + 1}));
    qw_hmap_free(&m);
}

struct key12 {
    uint32_t a, b, c; /* 12 bytes: not a multiple of the 8-byte slot padding */
};

/* Growing past the initial 64 slots (several doublings) keeps every key and its value. */
static void hmap_growth_keeps_values(void **state)
{
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(struct key12), sizeof(uint32_t), 100000));
    const uint32_t n = 3000;
    for (uint32_t i = 0; i < n; i++) {
        struct key12 k = {i, ~i, i * 2654435761u};
        bool added;
        uint32_t *v = qw_hmap_upsert(&m, &k, &added);
        assert_non_null(v);
        assert_true(added);
        *v = i * 3 + 1;
    }
    assert_int_equal(m.count, n);
    assert_true(m.cap > 64);
    assert_true((uint64_t)m.count * 4 <= (uint64_t)m.cap * 3); /* load stays under 3/4 */
    for (uint32_t i = 0; i < n; i++) {
        struct key12 k = {i, ~i, i * 2654435761u};
        uint32_t *v = qw_hmap_get(&m, &k);
        assert_non_null(v);
        assert_int_equal(*v, i * 3 + 1);
    }
    struct key12 miss = {n, ~n, n * 2654435761u};
    assert_null(qw_hmap_get(&m, &miss));
    assert_int_equal(m.refused, 0);
    qw_hmap_free(&m);
}

/* At the entry cap new keys are refused and counted; existing keys still update. */
static void hmap_cap_refuses_and_counts(void **state)
{
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(uint32_t), sizeof(uint32_t), 10));
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t *v = qw_hmap_upsert(&m, &i, NULL);
        assert_non_null(v);
        *v = i + 100;
    }
    uint32_t k = 10;
    bool added = false;
    assert_null(qw_hmap_upsert(&m, &k, &added));
    assert_int_equal(m.refused, 1);
    assert_int_equal(m.count, 10);
    assert_null(qw_hmap_get(&m, &k));
    k = 3;
    uint32_t *v = qw_hmap_upsert(&m, &k, &added);
    assert_non_null(v);
    assert_false(added);
    assert_int_equal(*v, 103);
    assert_int_equal(m.refused, 1);
    k = 11;
    assert_null(qw_hmap_upsert(&m, &k, NULL));
    assert_int_equal(m.refused, 2);
    qw_hmap_free(&m);
}

/* Iteration runs in insertion order, whatever the map's random key: the same traffic gives the
 * same order (and so the same store row order) on every run. */
static void hmap_iteration_in_insertion_order(void **state)
{
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(uint32_t), sizeof(uint32_t), 1000));
    for (uint32_t i = 0; i < 300; i++) {
        uint32_t k = (i * 2654435761u) ^ 0x5bd1e995u;
        uint32_t *v = qw_hmap_upsert(&m, &k, NULL);
        assert_non_null(v);
        *v = i;
    }
    uint32_t pos = 0, want = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&m, &pos, &kp, &vp)) {
        assert_int_equal(*(const uint32_t *)vp, want);
        assert_int_equal(*(const uint32_t *)kp, (want * 2654435761u) ^ 0x5bd1e995u);
        want++;
    }
    assert_int_equal(want, 300);
    qw_hmap_free(&m);
}

/* Iteration visits every entry exactly once, with its own value. */
static void hmap_iteration_visits_each_once(void **state)
{
    struct qw_hmap m;
    assert_true(qw_hmap_init(&m, sizeof(uint32_t), sizeof(uint32_t), 1000));
    enum { N = 200 };
    for (uint32_t i = 0; i < N; i++) {
        uint32_t key = i * 7919;
        uint32_t *v = qw_hmap_upsert(&m, &key, NULL);
        assert_non_null(v);
        *v = i;
    }
    int seen[N] = {0};
    uint32_t pos = 0, visits = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&m, &pos, &kp, &vp)) {
        uint32_t key, val;
        memcpy(&key, kp, sizeof key);
        memcpy(&val, vp, sizeof val);
        assert_true(val < N);
        assert_int_equal(key, val * 7919);
        seen[val]++;
        visits++;
    }
    assert_int_equal(visits, N);
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    qw_hmap_free(&m);
}

/* qw_fmt_u64 against printf for every number up to 100,000, each power of ten and its
 * neighbours, the largest value and a spread of others. */
static void fmt_u64_matches_printf(void **state)
{
    (void)state;
    char got[24], want[24];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < 100000 + 64 * 3 + 1000; i++) {
        uint64_t v;
        if (i <= 100000) {
            v = i;
        } else if (i <= 100000 + 64 * 3) {
            uint64_t k = (i - 100001) / 3, p = 1;
            for (uint64_t e = 0; e < k % 20; e++) p *= 10;
            v = p + (i - 100001) % 3 - 1;
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v = x >> (x & 63);
        }
        size_t n = qw_fmt_u64(got, v);
        got[n] = 0;
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        if (strcmp(got, want) != 0) fail_msg("%s != %s", got, want);
    }
    size_t n = qw_fmt_u64(got, UINT64_MAX);
    got[n] = 0;
    assert_string_equal(got, "18446744073709551615");
}

/* A whole small file: its bytes and a terminator; each way of failing says why in errno. */
static void read_file_whole_or_why(void **state)
{
    (void)state;
    char dir[] = "/tmp/qw-test-file-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("a,b\0c\n", 1, 6, fp), 6);
    fclose(fp);
    size_t len = 99;
    char *text = qw_read_file(path, 6, &len);
    assert_non_null(text);
    assert_int_equal(len, 6);
    assert_memory_equal(text, "a,b\0c\n", 6); /* a NUL inside is kept */
    assert_int_equal(text[6], '\0');
    free(text);
    assert_null(qw_read_file(path, 5, &len)); /* over the limit */
    assert_int_equal(errno, EFBIG);
    assert_int_equal(len, 0);
    assert_null(qw_read_file(dir, 1 << 20, &len)); /* a directory */
    assert_int_equal(errno, EINVAL);
    char missing[80];
    snprintf(missing, sizeof missing, "%s/none", dir);
    assert_null(qw_read_file(missing, 1 << 20, &len));
    assert_int_equal(errno, ENOENT);
    unlink(path);
    rmdir(dir);
}

/* Bounded copies: cut to the field and always terminated; the digit tables. */
static void copies_cut_and_terminate(void **state)
{
    (void)state;
    char f[6];
    memset(f, 'x', sizeof f);
    assert_int_equal(qw_copy_str(f, sizeof f, "abcdefgh"), 5);
    assert_string_equal(f, "abcde");
    assert_int_equal(qw_copy_str(f, sizeof f, "ab"), 2);
    assert_string_equal(f, "ab");
    assert_int_equal(qw_copy_bytes(f, sizeof f, "a\0bcdefg", 3), 3);
    assert_memory_equal(f, "a\0b\0", 4);
    char one[1] = {'x'};
    assert_int_equal(qw_copy_str(one, sizeof one, "abc"), 0);
    assert_int_equal(one[0], '\0');
    for (unsigned v = 0; v < 16; v++) {
        char want[3];
        snprintf(want, sizeof want, "%x", v);
        assert_int_equal(qw_hex_digits[v], want[0]);
    }
    assert_memory_equal(qw_digits2 + 2 * 7, "07", 2);
    assert_memory_equal(qw_digits2 + 2 * 99, "99", 2);
    /* bytes to hex: every byte value, terminated right after the digits */
    uint8_t all[256];
    for (unsigned v = 0; v < 256; v++) all[v] = (uint8_t)v;
    char hex[2 * sizeof all + 2];
    memset(hex, 'x', sizeof hex);
    assert_ptr_equal(qw_hex_encode(hex, all, sizeof all), hex);
    for (unsigned v = 0; v < 256; v++) {
        char want[3];
        snprintf(want, sizeof want, "%02x", v);
        assert_memory_equal(hex + 2 * v, want, 2);
    }
    assert_int_equal(hex[2 * sizeof all], '\0');
    assert_int_equal(hex[2 * sizeof all + 1], 'x');
    assert_string_equal(qw_hex_encode(hex, all, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fmt_u64_matches_printf),
        cmocka_unit_test(cursor_reads_values_in_order),
        cmocka_unit_test(cursor_reads_64bit),
        cmocka_unit_test(cursor_error_is_sticky),
        cmocka_unit_test(cursor_error_after_partial_reads),
        cmocka_unit_test(cursor_take_and_bytes),
        cmocka_unit_test(cursor_sub_bounded),
        cmocka_unit_test(json_nesting_and_commas),
        cmocka_unit_test(json_key_evaluated_once),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(json_valid_utf8_passes),
        cmocka_unit_test(json_invalid_utf8_replaced_per_byte),
        cmocka_unit_test(json_numbers),
        cmocka_unit_test(json_memory_overflow_flagged),
        cmocka_unit_test(json_u16_arrays),
        cmocka_unit_test(json_file_writer_flushes),
        cmocka_unit_test(json_seconds_match_printf),
        cmocka_unit_test(rfc3339_matches_gmtime),
        cmocka_unit_test(table_hash_keyed),
        cmocka_unit_test(hmap_iteration_in_insertion_order),
        cmocka_unit_test(siphash_reference_vectors),
        cmocka_unit_test(table_random_keys_differ),
        cmocka_unit_test(hmap_insert_get_upsert),
        cmocka_unit_test(hmap_remove_matches_model),
        cmocka_unit_test(hmap_growth_keeps_values),
        cmocka_unit_test(hmap_cap_refuses_and_counts),
        cmocka_unit_test(hmap_iteration_visits_each_once),
        cmocka_unit_test(read_file_whole_or_why),
        cmocka_unit_test(copies_cut_and_terminate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
