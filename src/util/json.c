#include "util/json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "util/digits.h"

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

/* A flush forced by a full buffer. Writers sharing their file (one per worker) must not let
 * another writer's records in between the parts of a record: the first such flush inside a
 * record takes the FILE's lock, released when the record ends (qw_eventlog_end). */
static void flush_midway(struct qw_json *j)
{
    if (j->shared_out && j->in_record && !j->out_locked) {
        flockfile(j->out);
        j->out_locked = true;
    }
    qw_json_flush(j);
}

bool qw_json_ok(const struct qw_json *j)
{
    return !j->io_err && !j->overflow && j->depth >= 0 && j->depth < QW_JSON_MAX_DEPTH;
}

/* ---- output ----------------------------------------------------------------------------------
 * Writers ask for room for the longest text they may produce and write straight into the
 * buffer; only when a memory writer runs out of room do they take the byte-by-byte path, which
 * stores what fits and flags the overflow. */

static void put_slow(struct qw_json *j, const char *s, size_t n)
{
    if (!j->buf) { /* a writer without a buffer holds nothing */
        if (n) j->overflow = true;
        return;
    }
    while (n > 0) {
        if (j->len == j->cap) {
            if (!j->out) {
                j->overflow = true;
                return;
            }
            flush_midway(j);
        }
        size_t room = j->cap - j->len;
        size_t k = n < room ? n : room;
        memcpy(j->buf + j->len, s, k);
        j->len += k;
        s += k;
        n -= k;
    }
}

static inline void put(struct qw_json *j, const char *s, size_t n)
{
    if (j->buf && j->cap - j->len >= n) {
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        return;
    }
    put_slow(j, s, n);
}

static inline void putc1(struct qw_json *j, char c)
{
    if (j->buf && j->len < j->cap) {
        j->buf[j->len++] = c;
        return;
    }
    put_slow(j, &c, 1);
}

/* Room for `n` more bytes at the end of the buffer (a file writer flushes first), or NULL. */
static inline char *room(struct qw_json *j, size_t n)
{
    if (!j->buf) return NULL;
    if (j->cap - j->len >= n) return j->buf + j->len;
    if (j->out && n <= j->cap) {
        flush_midway(j);
        return j->buf + j->len;
    }
    return NULL;
}

/* ---- strings --------------------------------------------------------------------------------- */

/* Bytes copied as they are: printable ASCII but the quote and the backslash. */
static const uint8_t plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* controls */
    0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22 '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c '\\' */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), /* not ASCII */
#undef R16
};

/* Eight bytes that are all plain (SWAR: a byte below 0x20, at or above 0x80, equal to '"' or to
 * '\\' sets its top bit in the test). */
static inline bool word_plain(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t bad = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w;
    return (bad & high) == 0;
}

/* All `n` bytes plain: eight at a time (the last word may overlap the one before). */
static inline bool bytes_plain(const char *s, size_t n)
{
    if (n < 8) {
        uint8_t ok = 1;
        for (size_t i = 0; i < n; i++) ok &= plain[(uint8_t)s[i]];
        return ok;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (!word_plain(w)) return false;
    }
    uint64_t w;
    memcpy(&w, s + n - 8, 8);
    return word_plain(w);
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

/* The escaped form of the byte(s) at s[i] that are not plain: writes at most 6 bytes per input
 * byte into `out`; returns the bytes written and sets *used to the input bytes taken. */
static size_t escape_one(const uint8_t *s, size_t i, size_t n, char *out, size_t *used)
{
    uint8_t c = s[i];
    *used = 1;
    switch (c) {
    case '"': out[0] = '\\'; out[1] = '"'; return 2;
    case '\\': out[0] = '\\'; out[1] = '\\'; return 2;
    case '\n': out[0] = '\\'; out[1] = 'n'; return 2;
    case '\r': out[0] = '\\'; out[1] = 'r'; return 2;
    case '\t': out[0] = '\\'; out[1] = 't'; return 2;
    default: break;
    }
    if (c < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = qw_hex_digits[c >> 4];
        out[5] = qw_hex_digits[c & 15];
        return 6;
    }
    size_t k = utf8_seq_len(s + i, n - i);
    if (k == 0) {
        memcpy(out, "\\ufffd", 6); /* one replacement character per invalid byte */
        return 6;
    }
    memcpy(out, s + i, k);
    *used = k;
    return k;
}

static void put_escaped_slow(struct qw_json *j, const uint8_t *s, size_t n)
{
    putc1(j, '"');
    for (size_t i = 0; i < n;) {
        if (plain[s[i]]) {
            size_t run = i;
            while (run < n && plain[s[run]]) run++;
            put(j, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        char e[6];
        size_t used;
        size_t w = escape_one(s, i, n, e, &used);
        put(j, e, w);
        i += used;
    }
    putc1(j, '"');
}

/* Strings from packets are arbitrary bytes: valid UTF-8 is copied, control characters are
 * escaped, every byte of an invalid sequence becomes U+FFFD. Writes the quoted string at p
 * (room for 6 * n + 2 bytes) and returns its end. */
char *qw_json_put_str(char *p, const void *str, size_t n)
{
    const uint8_t *s = str;
    *p++ = '"';
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (word_plain(w)) {
                memcpy(p, s + i, 8);
                p += 8;
                i += 8;
                continue;
            }
        }
        if (plain[s[i]]) {
            *p++ = (char)s[i++];
            continue;
        }
        size_t used;
        p += escape_one(s, i, n, p, &used);
        i += used;
    }
    *p++ = '"';
    return p;
}

static void put_escaped(struct qw_json *j, const uint8_t *s, size_t n)
{
    char *p = n <= (SIZE_MAX - 2) / 6 ? room(j, 6 * n + 2) : NULL;
    if (!p) {
        put_escaped_slow(j, s, n);
        return;
    }
    j->len += (size_t)(qw_json_put_str(p, s, n) - p);
}

char *qw_json_room(struct qw_json *j, size_t n)
{
    char *p = room(j, n);
    if (!p) j->overflow = true;
    return p;
}

void qw_json_done(struct qw_json *j, char *end)
{
    j->len = (size_t)(end - j->buf);
    j->first[j->depth] = false;
}

/* Separator and key before a value at the current level. */
static inline __attribute__((always_inline)) void member(struct qw_json *j,
                                                         struct qw_json_key k)
{
    bool comma = !j->first[j->depth];
    j->first[j->depth] = false;
    const char *key = k.s;
    if (!key) {
        if (comma) putc1(j, ',');
        return;
    }
    bool literal = k.len & QW_JSON_KEY_LITERAL;
    size_t klen = k.len & ~QW_JSON_KEY_LITERAL;
    char *p = klen <= 256 && (literal || bytes_plain(key, klen)) ? room(j, klen + 4) : NULL;
    if (p) {
        char *q = p;
        if (comma) *q++ = ',';
        *q++ = '"';
        memcpy(q, key, klen);
        q += klen;
        *q++ = '"';
        *q++ = ':';
        j->len += (size_t)(q - p);
        return;
    }
    if (comma) putc1(j, ',');
    put_escaped(j, (const uint8_t *)key, klen);
    putc1(j, ':');
}

/* ---- structure ------------------------------------------------------------------------------- */

static void open_level(struct qw_json *j, struct qw_json_key key, char c)
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

void qw_json_obj_begin_k(struct qw_json *j, struct qw_json_key key)
{
    open_level(j, key, '{');
}
void qw_json_obj_end(struct qw_json *j) { close_level(j, '}'); }
void qw_json_arr_begin_k(struct qw_json *j, struct qw_json_key key)
{
    open_level(j, key, '[');
}
void qw_json_arr_end(struct qw_json *j) { close_level(j, ']'); }

/* ---- values ---------------------------------------------------------------------------------- */

void qw_json_str_k(struct qw_json *j, struct qw_json_key key, const char *s)
{
    if (!s) {
        qw_json_null_k(j, key);
        return;
    }
    member(j, key);
    put_escaped(j, (const uint8_t *)s, strlen(s));
}

void qw_json_strn_k(struct qw_json *j, struct qw_json_key key, const void *s, size_t n)
{
    member(j, key);
    put_escaped(j, s, n);
}

void qw_json_hex_k(struct qw_json *j, struct qw_json_key key, const void *data, size_t n)
{
    const uint8_t *d = data;
    member(j, key);
    char *p = n <= (SIZE_MAX - 2) / 2 ? room(j, 2 * n + 2) : NULL;
    if (p) {
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
            *p++ = qw_hex_digits[d[i] >> 4];
            *p++ = qw_hex_digits[d[i] & 15];
        }
        *p = '"';
        j->len += 2 * n + 2;
        return;
    }
    putc1(j, '"');
    for (size_t i = 0; i < n; i++) {
        char e[2] = {qw_hex_digits[d[i] >> 4], qw_hex_digits[d[i] & 15]};
        put(j, e, 2);
    }
    putc1(j, '"');
}

/* The digits are written in place from the last one back, once their count is known: no
 * scratch copy, whose variable-length memcpy was a library call per number (register values
 * make most of a Modbus record). */
size_t qw_fmt_u64(char *out, uint64_t v)
{
    size_t n = 1;
    for (uint64_t t = v; t >= 10; t /= 10) n++;
    size_t i = n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        out[i] = qw_digits2[2 * r];
        out[i + 1] = qw_digits2[2 * r + 1];
    }
    if (v >= 10) {
        out[0] = qw_digits2[2 * v];
        out[1] = qw_digits2[2 * v + 1];
    } else {
        out[0] = (char)('0' + v);
    }
    return n;
}

void qw_json_u64_k(struct qw_json *j, struct qw_json_key key, uint64_t v)
{
    member(j, key);
    char *p = room(j, 20);
    if (p) {
        j->len += qw_fmt_u64(p, v);
        return;
    }
    char tmp[20];
    put(j, tmp, qw_fmt_u64(tmp, v));
}

void qw_json_i64_k(struct qw_json *j, struct qw_json_key key, int64_t v)
{
    if (v >= 0) {
        qw_json_u64_k(j, key, (uint64_t)v);
        return;
    }
    char tmp[21];
    tmp[0] = '-';
    size_t n = 1 + qw_fmt_u64(tmp + 1, 0 - (uint64_t)v);
    member(j, key);
    put(j, tmp, n);
}

void qw_json_double_k(struct qw_json *j, struct qw_json_key key, double v)
{
    if (!isfinite(v)) {
        qw_json_null_k(j, key); /* JSON has no NaN or infinity */
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.6g", v);
    member(j, key);
    put(j, tmp, (size_t)n);
}

/* `ns` / 1e9 as printf's "%.6g" writes the double (double)ns / 1e9, from the integer: the
 * double is within half a unit in its last place of the exact quotient, less than 1 ns while
 * ns < 2^53, and a rounding boundary of six significant digits of a whole number of ns with
 * more than six digits is itself a whole number of ns, so both round the same way -- unless
 * the quotient sits exactly on a boundary, where printf decides from the double's own value:
 * then (and past 2^53) the text comes from printf. Returns the length, or 0 for those cases. */
static size_t fmt_seconds_exact(char *out, uint64_t ns)
{
    if (ns == 0) {
        out[0] = '0';
        return 1;
    }
    if (ns >= (1ull << 53)) return 0;
    static const uint64_t pow10[] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull,
                                     1000000ull, 10000000ull, 100000000ull, 1000000000ull,
                                     10000000000ull, 100000000000ull, 1000000000000ull,
                                     10000000000000ull, 100000000000000ull,
                                     1000000000000000ull, 10000000000000000ull};
    int digits = 1;
    while (digits < 17 && ns >= pow10[digits]) digits++;
    uint64_t q = ns;
    int e = -9; /* value = q * 10^e seconds */
    if (digits > 6) {
        uint64_t p = pow10[digits - 6], rem = ns % p, half = p / 2;
        if (rem == half) return 0;
        q = ns / p + (rem > half);
        e += digits - 6;
        if (q == 1000000) {
            q = 100000;
            e++;
        }
    }
    while (q % 10 == 0) { /* %g drops trailing zeros */
        q /= 10;
        e++;
    }
    char d[20];
    int len = (int)qw_fmt_u64(d, q);
    int x = len - 1 + e; /* decimal exponent of the leading digit */
    size_t n = 0;
    if (x < -4 || x >= 6) { /* style e: d.ddddde+XX */
        out[n++] = d[0];
        if (len > 1) {
            out[n++] = '.';
            memcpy(out + n, d + 1, (size_t)len - 1);
            n += (size_t)len - 1;
        }
        out[n++] = 'e';
        out[n++] = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100) out[n++] = (char)('0' + ax / 100);
        memcpy(out + n, qw_digits2 + 2 * (ax % 100), 2);
        return n + 2;
    }
    int point = len + e; /* digits before the decimal point */
    if (point <= 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int k = 0; k < -point; k++) out[n++] = '0';
        memcpy(out + n, d, (size_t)len);
        return n + (size_t)len;
    }
    if (point >= len) {
        memcpy(out, d, (size_t)len);
        n = (size_t)len;
        for (int k = len; k < point; k++) out[n++] = '0';
        return n;
    }
    memcpy(out, d, (size_t)point);
    out[point] = '.';
    memcpy(out + point + 1, d + point, (size_t)(len - point));
    return (size_t)len + 1;
}

size_t qw_fmt_seconds(char *out, uint64_t ns)
{
    size_t n = fmt_seconds_exact(out, ns);
    if (n) return n;
    int k = snprintf(out, 32, "%.6g", (double)ns / 1e9);
    return k > 0 ? (size_t)k : 0;
}

void qw_json_seconds_k(struct qw_json *j, struct qw_json_key key, uint64_t ns)
{
    char tmp[32];
    size_t n = qw_fmt_seconds(tmp, ns);
    member(j, key);
    put(j, tmp, n);
}

void qw_json_bool_k(struct qw_json *j, struct qw_json_key key, bool v)
{
    member(j, key);
    if (v)
        put(j, "true", 4);
    else
        put(j, "false", 5);
}

/* One value of qw_json_u16s: a number, or a boolean (non-zero: true). At most 5 bytes. */
static size_t u16_text(char *out, uint16_t v, bool bits)
{
    if (!bits) return qw_fmt_u64(out, v);
    memcpy(out, v ? "true" : "false", v ? 4 : 5);
    return v ? 4 : 5;
}

void qw_json_u16s_k(struct qw_json *j, struct qw_json_key key, const uint16_t *v, size_t n,
                    bool bits)
{
    member(j, key);
    /* "65535," or "false," at most per value, and the brackets */
    char *p = n <= j->cap / 8 ? room(j, 6 * n + 2) : NULL;
    if (!p) { /* a memory writer short of room, or a huge array: value by value */
        putc1(j, '[');
        for (size_t i = 0; i < n; i++) {
            char tmp[20];
            if (i) putc1(j, ',');
            put(j, tmp, u16_text(tmp, v[i], bits));
        }
        putc1(j, ']');
        return;
    }
    char *q = p;
    *q++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i) *q++ = ',';
        q += u16_text(q, v[i], bits);
    }
    *q++ = ']';
    j->len += (size_t)(q - p);
}

void qw_json_null_k(struct qw_json *j, struct qw_json_key key)
{
    member(j, key);
    put(j, "null", 4);
}

void qw_json_raw_k(struct qw_json *j, struct qw_json_key key, const char *text, size_t n)
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
