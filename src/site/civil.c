/* Calendar arithmetic (civil.h). Days are counted in 400-year eras of 146097 days, with years
 * starting on March 1 so that the leap day is the last day of a year: month lengths then follow
 * the pattern 31 30 31 30 31 31 30 31 30 31 31 28/29, and day-of-year = (153 * m + 2) / 5. */
#include "site/civil.h"

bool qw_civil_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned qw_civil_month_days(int64_t y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    return m == 2 && qw_civil_leap(y) ? 29 : len[m - 1];
}

int64_t qw_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t qw_civil_days(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;                                  /* January and February end the March year */
    int64_t era = qw_floor_div(y, 400);
    int64_t yoe = y - era * 400;                  /* 0..399 */
    int64_t mp = m > 2 ? m - 3 : m + 9;           /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;     /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;           /* 719468: days from 0000-03-01 to 1970-01-01 */
}

void qw_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = qw_floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                   /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);            /* 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                                 /* 0..11, March = 0 */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

unsigned qw_civil_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (4) */
    int64_t w = (days + 4) % 7;
    return (unsigned)(w < 0 ? w + 7 : w);
}
