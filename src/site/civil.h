/* Proleptic Gregorian calendar arithmetic on days since 1970-01-01, for the site file's times
 * and the time-zone helper. Plain integer math: no time zone, no global state. */
#ifndef QW_SITE_CIVIL_H
#define QW_SITE_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

bool qw_civil_leap(int64_t y);
unsigned qw_civil_month_days(int64_t y, unsigned m); /* m 1..12 */
int64_t qw_civil_days(int64_t y, unsigned m, unsigned d); /* days since 1970-01-01 */
void qw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 0 Sunday .. 6 Saturday */
unsigned qw_civil_weekday(int64_t days);
/* floor division for seconds -> days */
int64_t qw_floor_div(int64_t a, int64_t b);

#endif
