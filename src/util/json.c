#include "util/json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void qw_json_init(struct qw_json *j, char *buf, size_t cap, FILE *out)
{
    memset(j, 0, sizeof *j);
    j->buf = buf;
    j->cap = cap;
    j->out = out;
    j->first[0] = true;
}

void qw_json_mem(struct qw_json *j, char *buf, size_t cap)
{
    qw_json_init(j, buf, cap, NULL);
}

void qw_json_flush(struct qw_json *j)
{
    if (!j->out || j->len == 0) return;
    if (fwrite(j->buf, 1, j->len, j->out) != j->len) j->io_err = true;
    j->len = 0;
}

bool qw_json_ok(const struct qw_json *j)
{
    return !j->io_err && !j->overflow && j->depth >= 0 && j->depth < QW_JSON_MAX_DEPTH;
}

static void put(struct qw_json *j, const char *s, size_t n)
{
    while (n > 0) {
        if (j->len == j->cap) {
            if (!j->out) {
                j->overflow = true;
                return;
            }
            if (j->shared_out && j->in_record && !j->out_locked) {
                flockfile(j->out); /* released when the record ends (qw_eventlog_end) */
                j->out_locked = true;
            }
            qw_json_flush(j);
        }
        size_t room = j->cap - j->len;
        size_t k = n < room ? n : room;
        memcpy(j->buf + j->len, s, k);
        j->len += k;
        s += k;
        n -= k;
    }
}

static void putc1(struct qw_json *j, char c)
{
    if (j->len < j->cap) {
        j->buf[j->len++] = c;
        return;
    }
    put(j, &c, 1);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not one.
 * Rejects overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629 s.4). */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

static void put_escaped(struct qw_json *j, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    putc1(j, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        /* copy runs of plain printable ASCII in one go */
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            put(j, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(j, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            switch (c) {
            case '\n': put(j, "\\n", 2); break;
            case '\r': put(j, "\\r", 2); break;
            case '\t': put(j, "\\t", 2); break;
            default: put(j, e, 6); break;
            }
            i++;
        } else {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k == 0) {
                put(j, "\\ufffd", 6); /* one replacement character per invalid byte */
                i++;
            } else {
                put(j, (const char *)s + i, k);
                i += k;
            }
        }
    }
    putc1(j, '"');
}

/* Separator and key before a value at the current level. */
static void member(struct qw_json *j, const char *key)
{
    if (!j->first[j->depth]) putc1(j, ',');
    j->first[j->depth] = false;
    if (key) {
        put_escaped(j, (const uint8_t *)key, strlen(key));
        putc1(j, ':');
    }
}

static void open_level(struct qw_json *j, const char *key, char c)
{
    member(j, key);
    putc1(j, c);
    if (j->depth + 1 >= QW_JSON_MAX_DEPTH) {
        j->overflow = true;
        return;
    }
    j->first[++j->depth] = true;
}

static void close_level(struct qw_json *j, char c)
{
    putc1(j, c);
    if (j->depth > 0) j->depth--;
}

void qw_json_obj_begin(struct qw_json *j, const char *key) { open_level(j, key, '{'); }
void qw_json_obj_end(struct qw_json *j) { close_level(j, '}'); }
void qw_json_arr_begin(struct qw_json *j, const char *key) { open_level(j, key, '['); }
void qw_json_arr_end(struct qw_json *j) { close_level(j, ']'); }

void qw_json_str(struct qw_json *j, const char *key, const char *s)
{
    if (!s) {
        qw_json_null(j, key);
        return;
    }
    member(j, key);
    put_escaped(j, (const uint8_t *)s, strlen(s));
}

void qw_json_strn(struct qw_json *j, const char *key, const void *s, size_t n)
{
    member(j, key);
    put_escaped(j, s, n);
}

void qw_json_hex(struct qw_json *j, const char *key, const void *data, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = data;
    member(j, key);
    putc1(j, '"');
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        put(j, e, 2);
    }
    putc1(j, '"');
}

void qw_json_u64(struct qw_json *j, const char *key, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    member(j, key);
    put(j, tmp + sizeof tmp - n, n);
}

void qw_json_i64(struct qw_json *j, const char *key, int64_t v)
{
    if (v >= 0) {
        qw_json_u64(j, key, (uint64_t)v);
        return;
    }
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    member(j, key);
    put(j, tmp, (size_t)n);
}

void qw_json_double(struct qw_json *j, const char *key, double v)
{
    if (!isfinite(v)) {
        qw_json_null(j, key); /* JSON has no NaN or infinity */
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.6g", v);
    member(j, key);
    put(j, tmp, (size_t)n);
}

void qw_json_bool(struct qw_json *j, const char *key, bool v)
{
    member(j, key);
    if (v)
        put(j, "true", 4);
    else
        put(j, "false", 5);
}

void qw_json_null(struct qw_json *j, const char *key)
{
    member(j, key);
    put(j, "null", 4);
}

void qw_json_raw(struct qw_json *j, const char *key, const char *text, size_t n)
{
    member(j, key);
    put(j, text, n);
}

void qw_json_newline(struct qw_json *j)
{
    putc1(j, '\n');
    j->depth = 0;
    j->first[0] = true;
}
