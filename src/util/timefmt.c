#include "util/timefmt.h"

#include <stdio.h>
#include <time.h>

size_t qw_time_rfc3339(uint64_t ns, char out[QW_TIME_STR_MAX])
{
    /* gmtime_r is the slow part; consecutive records mostly share a second. Per-thread cache. */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    time_t sec = (time_t)(ns / 1000000000ull);
    unsigned usec = (unsigned)(ns % 1000000000ull / 1000u);
    if (sec != cached_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = sec;
    }
    int n = snprintf(out, QW_TIME_STR_MAX, "%s.%06uZ", cached, usec);
    return n > 0 ? (size_t)n : 0;
}

double qw_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *qw_time_str(int64_t ns, char out[QW_TIME_STR_MAX])
{
    out[0] = '\0';
    if (ns > 0) qw_time_rfc3339((uint64_t)ns, out);
    return out;
}
