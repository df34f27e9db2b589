#include "util/digits.h"

const char qw_digits2[201] = "00010203040506070809101112131415161718192021222324"
                             "25262728293031323334353637383940414243444546474849"
                             "50515253545556575859606162636465666768697071727374"
                             "75767778798081828384858687888990919293949596979899";

const char qw_hex_digits[17] = "0123456789abcdef";

char *qw_hex_encode(char *out, const void *data, size_t n)
{
    const unsigned char *d = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = qw_hex_digits[d[i] >> 4];
        out[2 * i + 1] = qw_hex_digits[d[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}
