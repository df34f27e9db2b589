/* Buffered JSON writer.
 *
 * Writes straight into a caller-owned byte buffer that is flushed to a FILE when it fills, so a
 * record costs no allocation. Commas are managed by a small nesting stack. Strings from packets
 * are arbitrary bytes: valid UTF-8 is copied, control characters are escaped, and every byte of
 * an invalid UTF-8 sequence becomes U+FFFD, so the output is always valid JSON. */
#ifndef QW_UTIL_JSON_H
#define QW_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define QW_JSON_MAX_DEPTH 32 /* deeper nesting is a programming error, reported by json_ok() */

struct qw_json {
    char *buf;
    size_t len, cap;
    FILE *out;  /* NULL: the buffer is grown-free memory that must not overflow (see qw_json_mem) */
    bool io_err; /* a write to `out` failed */
    bool overflow; /* memory-only writer ran out of room */
    /* Several writers (one per worker) share `out`: a record is never split between flushes
     * without holding the FILE's lock until it ends (see qw_eventlog_open_shared). */
    bool shared_out, in_record, out_locked;
    int depth;
    bool first[QW_JSON_MAX_DEPTH]; /* no member written yet at this level */
};

/* Writer that flushes to `out` whenever `buf` (of `cap` bytes) fills. */
void qw_json_init(struct qw_json *j, char *buf, size_t cap, FILE *out);
/* Writer into a fixed memory buffer; output past cap sets `overflow` and is dropped. */
void qw_json_mem(struct qw_json *j, char *buf, size_t cap);
void qw_json_flush(struct qw_json *j);
bool qw_json_ok(const struct qw_json *j);

/* `key` is NULL for array elements and for the top-level value. The writers are macros over
 * the *_k functions, which take the key with its length (QW_JSON_KEY): a string literal that
 * needs no escaping is flagged QW_JSON_KEY_LITERAL when compiled and copied without a check;
 * any other key is checked and escaped when needed. Every argument is evaluated once. */
#define QW_JSON_KEY_LITERAL ((size_t)1 << (sizeof(size_t) * 8 - 1))

struct qw_json_key {
    const char *s;
    size_t len; /* strlen(s), | QW_JSON_KEY_LITERAL for a plain literal */
};

/* Inline, so that the length of a key known when compiled (a literal, or a parameter of an
 * inlined function given one) is folded. */
static inline struct qw_json_key qw_json_key_of(const char *key, size_t literal)
{
    return (struct qw_json_key){key, (key ? strlen(key) : 0) | literal};
}

/* Bytes a key must not hold to be copied as it is (JSON's quote, backslash and controls, and
 * anything that is not ASCII). */
#define QW_JSON_KEY_UNSAFE \
    "\"\\" \
    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10" \
    "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x80" \
    "\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90" \
    "\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0" \
    "\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0" \
    "\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0" \
    "\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0" \
    "\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0" \
    "\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0" \
    "\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff"

#if defined(__GNUC__) || defined(__clang__)
/* A literal key that needs no escaping. With optimisation the compiler folds the scan of a
 * literal away; for anything else __builtin_constant_p is false and the key is checked when
 * written. */
static inline bool qw_json_key_plain(const char *key)
{
    return key && !__builtin_strpbrk(key, QW_JSON_KEY_UNSAFE);
}

/* QW_JSON_KEY_LITERAL for a literal that needs no escaping, else 0; `key` is looked at only
 * when it is a constant (so never evaluated at run time). */
#define QW_JSON_LITERAL_FLAG(key) \
    (__builtin_constant_p(key) && qw_json_key_plain(key) ? QW_JSON_KEY_LITERAL : 0)
#else
#define QW_JSON_LITERAL_FLAG(key) ((size_t)0)
#endif
#define QW_JSON_KEY(key) qw_json_key_of((key), QW_JSON_LITERAL_FLAG(key))

void qw_json_obj_begin_k(struct qw_json *j, struct qw_json_key key);
void qw_json_obj_end(struct qw_json *j);
void qw_json_arr_begin_k(struct qw_json *j, struct qw_json_key key);
void qw_json_arr_end(struct qw_json *j);
void qw_json_str_k(struct qw_json *j, struct qw_json_key key, const char *s);
void qw_json_strn_k(struct qw_json *j, struct qw_json_key key, const void *s, size_t n);
void qw_json_hex_k(struct qw_json *j, struct qw_json_key key, const void *data, size_t n);
void qw_json_u64_k(struct qw_json *j, struct qw_json_key key, uint64_t v);
void qw_json_i64_k(struct qw_json *j, struct qw_json_key key, int64_t v);
void qw_json_double_k(struct qw_json *j, struct qw_json_key key, double v);
/* A duration of `ns` nanoseconds as seconds: the same text as qw_json_double(ns / 1e9). */
void qw_json_seconds_k(struct qw_json *j, struct qw_json_key key, uint64_t ns);
void qw_json_bool_k(struct qw_json *j, struct qw_json_key key, bool v);
/* A whole array of 16-bit values (`bits`: as booleans, true where non-zero) in one go: Modbus
 * register and coil values make most of the numbers an event log holds. */
void qw_json_u16s_k(struct qw_json *j, struct qw_json_key key, const uint16_t *v, size_t n,
                    bool bits);
void qw_json_null_k(struct qw_json *j, struct qw_json_key key);
/* Raw, already-valid JSON text (used for pre-rendered fragments). */
void qw_json_raw_k(struct qw_json *j, struct qw_json_key key, const char *text, size_t n);

#define qw_json_obj_begin(j, key) qw_json_obj_begin_k((j), QW_JSON_KEY(key))
#define qw_json_arr_begin(j, key) qw_json_arr_begin_k((j), QW_JSON_KEY(key))
#define qw_json_str(j, key, s) qw_json_str_k((j), QW_JSON_KEY(key), (s))
#define qw_json_strn(j, key, s, n) qw_json_strn_k((j), QW_JSON_KEY(key), (s), (n))
#define qw_json_hex(j, key, d, n) qw_json_hex_k((j), QW_JSON_KEY(key), (d), (n))
#define qw_json_u64(j, key, v) qw_json_u64_k((j), QW_JSON_KEY(key), (v))
#define qw_json_i64(j, key, v) qw_json_i64_k((j), QW_JSON_KEY(key), (v))
#define qw_json_double(j, key, v) qw_json_double_k((j), QW_JSON_KEY(key), (v))
#define qw_json_seconds(j, key, ns) qw_json_seconds_k((j), QW_JSON_KEY(key), (ns))
#define qw_json_bool(j, key, v) qw_json_bool_k((j), QW_JSON_KEY(key), (v))
#define qw_json_u16s(j, key, v, n, bits) \
    qw_json_u16s_k((j), QW_JSON_KEY(key), (v), (n), (bits))
#define qw_json_null(j, key) qw_json_null_k((j), QW_JSON_KEY(key))
#define qw_json_raw(j, key, text, n) qw_json_raw_k((j), QW_JSON_KEY(key), (text), (n))

/* End the current line: writes '\n' (records are one per line). */
void qw_json_newline(struct qw_json *j);

/* Decimal digits of v into out (at least 20 bytes); returns the length. */
size_t qw_fmt_u64(char *out, uint64_t v);
/* `ns` / 1e9 as "%.6g" writes it (qw_json_seconds) into out (at least 32 bytes). */
size_t qw_fmt_seconds(char *out, uint64_t ns);

/* Direct composition, for the records written most (flow records, envelopes): qw_json_room
 * gives room for `n` bytes at the end of the output (a file writer flushes first; a memory
 * writer without room flags the overflow and gives NULL); the caller writes whole members,
 * each with its leading comma unless it is the first of its object, and hands the end to
 * qw_json_done. Strings go through qw_json_put_str (escaped; 6 bytes of room per byte + 2). */
char *qw_json_room(struct qw_json *j, size_t n);
void qw_json_done(struct qw_json *j, char *end);
char *qw_json_put_str(char *p, const void *s, size_t n);
static inline char *qw_json_put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
/* A literal: its length is a constant, so the copy is a few moves. */
#define QW_JSON_PUT_LIT(p, lit) qw_json_put((p), (lit), sizeof(lit) - 1)
static inline char *qw_json_put_u64(char *p, uint64_t v)
{
    return p + qw_fmt_u64(p, v);
}

#endif
