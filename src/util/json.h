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

/* `key` is NULL for array elements and for the top-level value. */
void qw_json_obj_begin(struct qw_json *j, const char *key);
void qw_json_obj_end(struct qw_json *j);
void qw_json_arr_begin(struct qw_json *j, const char *key);
void qw_json_arr_end(struct qw_json *j);
void qw_json_str(struct qw_json *j, const char *key, const char *s);
void qw_json_strn(struct qw_json *j, const char *key, const void *s, size_t n);
void qw_json_hex(struct qw_json *j, const char *key, const void *data, size_t n);
void qw_json_u64(struct qw_json *j, const char *key, uint64_t v);
void qw_json_i64(struct qw_json *j, const char *key, int64_t v);
void qw_json_double(struct qw_json *j, const char *key, double v);
void qw_json_bool(struct qw_json *j, const char *key, bool v);
void qw_json_null(struct qw_json *j, const char *key);
/* Raw, already-valid JSON text (used for pre-rendered fragments). */
void qw_json_raw(struct qw_json *j, const char *key, const char *text, size_t n);
/* End the current line: writes '\n' (records are one per line). */
void qw_json_newline(struct qw_json *j);

#endif
