/* Digits for formatting numbers. Decimal digit pairs: qw_digits2 + 2 * n is the two characters
 * of n (0..99), zero-padded; number and time formatting write two digits at a time from it. */
#ifndef QW_UTIL_DIGITS_H
#define QW_UTIL_DIGITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const char qw_digits2[201];
/* Lower-case hexadecimal digits: qw_hex_digits[v] for v in 0..15. */
extern const char qw_hex_digits[17];

/* `n` bytes as 2n lower-case hex digits and a NUL into out (room for 2n + 1); returns out. */
char *qw_hex_encode(char *out, const void *data, size_t n);

/* A byte of two binary-coded decimal digits (PLC clocks: S7 DATE_AND_TIME, Omron FINS): its
 * value 0..99, and whether both nibbles are decimal digits at all. */
static inline unsigned qw_bcd_value(uint8_t b)
{
    return (unsigned)(b >> 4) * 10u + (b & 0x0fu);
}

static inline bool qw_bcd_valid(uint8_t b)
{
    return (b >> 4) < 10 && (b & 0x0f) < 10;
}

#endif
