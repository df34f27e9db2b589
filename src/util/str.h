/* Bounded copies into fixed-size text fields. */
#ifndef QW_UTIL_STR_H
#define QW_UTIL_STR_H

#include <stddef.h>
#include <string.h>

/* `n` bytes of `src` into dst[cap] (cap >= 1) as a C string, cut to cap - 1; returns the bytes
 * copied. */
static inline size_t qw_copy_bytes(char *dst, size_t cap, const void *src, size_t n)
{
    if (n > cap - 1) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* The C string `src` into dst[cap], cut to fit; returns the bytes copied. */
static inline size_t qw_copy_str(char *dst, size_t cap, const char *src)
{
    return qw_copy_bytes(dst, cap, src, strnlen(src, cap - 1));
}

/* Like qw_copy_bytes for text from the wire that people will read: control bytes (and NULs)
 * become '?', so a name cannot break a table line or hide what follows it. */
static inline size_t qw_copy_printable(char *dst, size_t cap, const void *src, size_t n)
{
    n = qw_copy_bytes(dst, cap, src, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f) dst[i] = '?';
    return n;
}

#endif
