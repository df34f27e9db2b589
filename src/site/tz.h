/* Time zones from the system's time-zone database (Debian's tzdata, /usr/share/zoneinfo),
 * read from their TZif files (RFC 8536) into read-only objects.
 *
 * Why not localtime_r: it answers only for the process-wide TZ, so a window in another zone
 * would need setenv("TZ") + tzset(), which races with every other thread that reads local
 * time. A loaded qw_tz is plain data: converting a time is a binary search over its
 * transitions, or, past the last one, its POSIX TZ rule (the file's footer), thread-safe and
 * without allocation. */
#ifndef QW_SITE_TZ_H
#define QW_SITE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QW_TZ_NAME_MAX 127
#define QW_TZ_FILE_MAX (1u << 20)   /* largest TZif file read (real ones are under 4 KiB) */
#define QW_TZ_TRANSITIONS_MAX 20000 /* real zones have at most a few hundred */

struct qw_tz;

/* The directory of the database: $TZDIR when set, else /usr/share/zoneinfo. */
const char *qw_tz_default_dir(void);
/* Load zone `name` (e.g. "America/Vancouver") from tzdir (NULL: the default). On failure NULL,
 * with the reason in why. */
struct qw_tz *qw_tz_load(const char *tzdir, const char *name, char *why, size_t len);
/* UTC, built in: needs no database. */
const struct qw_tz *qw_tz_utc(void);
void qw_tz_free(struct qw_tz *tz);
const char *qw_tz_name(const struct qw_tz *tz);

/* Offset of local time from UTC, in seconds east, at `utc` (seconds since the epoch). */
int32_t qw_tz_offset(const struct qw_tz *tz, int64_t utc);

struct qw_local_time {
    int64_t days;       /* local days since 1970-01-01 */
    int32_t sec_of_day; /* 0..86399 */
    uint8_t wday;       /* 0 Sunday .. 6 Saturday */
    int32_t offset;     /* seconds east of UTC */
};
void qw_tz_local(const struct qw_tz *tz, int64_t utc, struct qw_local_time *out);

/* Closest known zone name to a misspelt one (from the database's tzdata.zi), or NULL. */
const char *qw_tz_suggest(const char *tzdir, const char *name, char *buf, size_t len);

#endif
