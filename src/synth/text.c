/* Bounded text appender; see text.h. */
#include "synth/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void sy_text_add(struct sy_text *t, const char *fmt, ...)
{
    if (t->len >= t->cap) {
        t->trunc = true;
        return;
    }
    /* vsnprintf writes a terminating NUL; the byte after the text is scratch space in the frame
     * area (cap is always below what the area holds), and is overwritten or ignored. */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len + 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->trunc = true;
        return;
    }
    if ((size_t)n > t->cap - t->len) {
        t->len = t->cap;
        t->trunc = true;
    } else {
        t->len += (size_t)n;
    }
}

void sy_text_date(struct sy_text *t, uint64_t unix_s)
{
    static const char *const wd[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t s = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&s, &tm)) return;
    sy_text_add(t, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7], tm.tm_mday,
                mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
