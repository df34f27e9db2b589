/* Durations on the command line and in files: a whole number with an optional unit, s (the
 * default), m, h or d, e.g. "90", "30m", "12h", "7d". */
#ifndef QW_UTIL_DURATION_H
#define QW_UTIL_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/* False on junk, a negative or fractional number, an unknown unit, or more than 100 years. */
bool qw_parse_duration(const char *s, uint64_t *ns);

#endif
