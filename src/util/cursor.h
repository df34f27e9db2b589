/* Bounds-checked reader over attacker-controlled bytes.
 *
 * Every packet byte is read through a cursor. A read past the end returns 0 (or leaves the
 * output zeroed), and sets a sticky error flag: the caller checks `err` once after a group of
 * reads instead of before each one. No code casts packet bytes to structs. */
#ifndef QW_UTIL_CURSOR_H
#define QW_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct qw_cursor {
    const uint8_t *base;
    size_t len; /* bytes readable from base */
    size_t off; /* next byte to read */
    bool err;   /* sticky: set by the first read past the end */
};

static inline struct qw_cursor qw_cursor_make(const uint8_t *base, size_t len)
{
    struct qw_cursor c = {base, len, 0, false};
    return c;
}

static inline size_t qw_cur_left(const struct qw_cursor *c)
{
    return c->err ? 0 : c->len - c->off;
}

static inline bool qw_cur_has(const struct qw_cursor *c, size_t n)
{
    return !c->err && c->len - c->off >= n;
}

/* Pointer to the next byte; valid only when qw_cur_left() > 0. */
static inline const uint8_t *qw_cur_ptr(const struct qw_cursor *c)
{
    return c->base + c->off;
}

static inline bool qw_cur_need(struct qw_cursor *c, size_t n)
{
    if (c->err || c->len - c->off < n) {
        c->err = true;
        return false;
    }
    return true;
}

static inline uint8_t qw_cur_u8(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 1)) return 0;
    return c->base[c->off++];
}

static inline uint16_t qw_cur_be16(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 2)) return 0;
    const uint8_t *p = c->base + c->off;
    c->off += 2;
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint16_t qw_cur_le16(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 2)) return 0;
    const uint8_t *p = c->base + c->off;
    c->off += 2;
    return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

static inline uint32_t qw_cur_be24(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 3)) return 0;
    const uint8_t *p = c->base + c->off;
    c->off += 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t qw_cur_be32(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 4)) return 0;
    const uint8_t *p = c->base + c->off;
    c->off += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t qw_cur_le32(struct qw_cursor *c)
{
    if (!qw_cur_need(c, 4)) return 0;
    const uint8_t *p = c->base + c->off;
    c->off += 4;
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t qw_cur_be64(struct qw_cursor *c)
{
    uint64_t hi = qw_cur_be32(c);
    uint64_t lo = qw_cur_be32(c);
    return hi << 32 | lo;
}

static inline uint64_t qw_cur_le64(struct qw_cursor *c)
{
    uint64_t lo = qw_cur_le32(c);
    uint64_t hi = qw_cur_le32(c);
    return hi << 32 | lo;
}

/* Copy n bytes out; on a short read the destination is zero-filled. */
static inline bool qw_cur_bytes(struct qw_cursor *c, void *dst, size_t n)
{
    if (!qw_cur_need(c, n)) {
        memset(dst, 0, n);
        return false;
    }
    memcpy(dst, c->base + c->off, n);
    c->off += n;
    return true;
}

/* Borrow n bytes in place (no copy); NULL on a short read. */
static inline const uint8_t *qw_cur_take(struct qw_cursor *c, size_t n)
{
    if (!qw_cur_need(c, n)) return NULL;
    const uint8_t *p = c->base + c->off;
    c->off += n;
    return p;
}

static inline bool qw_cur_skip(struct qw_cursor *c, size_t n)
{
    if (!qw_cur_need(c, n)) return false;
    c->off += n;
    return true;
}

/* A child cursor over a declared length: bounded by min(declared, remaining). The parent
 * skips the part the child covers, so a lying length field cannot move the parent past the
 * end. `*short_out` (optional) tells whether the declared length was cut. */
static inline struct qw_cursor qw_cur_sub(struct qw_cursor *c, size_t declared, bool *short_out)
{
    size_t left = qw_cur_left(c);
    size_t n = declared < left ? declared : left;
    struct qw_cursor child = qw_cursor_make(c->err ? NULL : c->base + c->off, n);
    child.err = c->err; /* a child of a failed cursor fails too: nothing to read from it */
    if (!c->err) c->off += n;
    if (short_out) *short_out = n < declared;
    return child;
}

#endif
