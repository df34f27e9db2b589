/* ASCII character classes that do not depend on the locale (ctype's do, and take int with
 * EOF): text from packets and from advisory files is bytes, and only ASCII letters and digits
 * ever count as such. */
#ifndef QW_UTIL_ASCII_H
#define QW_UTIL_ASCII_H

#include <stdbool.h>

static inline bool qw_is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool qw_is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool qw_is_alnum(unsigned char c) { return qw_is_digit(c) || qw_is_alpha(c); }
/* Space, tab, CR and LF. */
static inline bool qw_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
/* An ASCII letter in lower case; any other byte as it is. */
static inline unsigned char qw_ascii_lower(unsigned char c)
{
    return qw_is_alpha(c) ? (unsigned char)(c | 0x20) : c;
}

#endif
