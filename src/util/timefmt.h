/* Time formatting. All times inside quaywatch are packet times in ns since the epoch. */
#ifndef QW_UTIL_TIMEFMT_H
#define QW_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define QW_TIME_STR_MAX 32

/* RFC 3339 UTC with microseconds: 2026-11-20T21:30:00.123456Z. Returns the length. */
size_t qw_time_rfc3339(uint64_t ns, char out[QW_TIME_STR_MAX]);
/* The same as a string for listings: "" for 0 (never seen) and for negative store values. */
const char *qw_time_str(int64_t ns, char out[QW_TIME_STR_MAX]);

/* Seconds on the monotonic clock: only for progress lines and flush intervals, never for data. */
double qw_monotonic_seconds(void);

#endif
