#include "util/timefmt.h"

#include <string.h>
#include <time.h>

#include "util/digits.h"

/* Proleptic Gregorian date of a day count since 1970-01-01 (days >= 0). The calendar repeats
 * every 400 years (146097 days); counting eras from 0000-03-01 puts the leap day at the end of
 * each year, so a year's day number maps to its month with one linear formula. */
static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
    uint64_t z = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
    uint64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                          /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                   /* March = 0 */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (unsigned)(era * 400 + yoe) + (*m <= 2);
}

size_t qw_time_rfc3339(uint64_t ns, char out[QW_TIME_STR_MAX])
{
    /* Event records write two or three of these each: digits from tables, no libc formatting.
     * A uint64_t of ns ends in 2554, so the year always has four digits. */
    uint64_t sec = ns / 1000000000ull;
    unsigned usec = (unsigned)(ns % 1000000000ull / 1000u);
    uint64_t day = sec / 86400;
    /* records come in time order, mostly within one day: the date part is kept per thread */
    static _Thread_local uint64_t cached_day = UINT64_MAX;
    static _Thread_local char cached_date[10];
    if (day != cached_day) {
        unsigned y, mo, d;
        civil(day, &y, &mo, &d);
        char *q = cached_date;
        memcpy(q, qw_digits2 + 2 * (y / 100), 2);
        memcpy(q + 2, qw_digits2 + 2 * (y % 100), 2);
        q[4] = '-';
        memcpy(q + 5, qw_digits2 + 2 * mo, 2);
        q[7] = '-';
        memcpy(q + 8, qw_digits2 + 2 * d, 2);
        cached_day = day;
    }
    unsigned sod = (unsigned)(sec % 86400);
    char *p = out;
    memcpy(p, cached_date, 10);
    p[10] = 'T';
    memcpy(p + 11, qw_digits2 + 2 * (sod / 3600), 2);
    p[13] = ':';
    memcpy(p + 14, qw_digits2 + 2 * (sod / 60 % 60), 2);
    p[16] = ':';
    memcpy(p + 17, qw_digits2 + 2 * (sod % 60), 2);
    p[19] = '.';
    memcpy(p + 20, qw_digits2 + 2 * (usec / 10000), 2);
    memcpy(p + 22, qw_digits2 + 2 * (usec / 100 % 100), 2);
    memcpy(p + 24, qw_digits2 + 2 * (usec % 100), 2);
    p[26] = 'Z';
    p[27] = '\0';
    return 27;
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
