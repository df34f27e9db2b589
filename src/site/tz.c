/* Time zones from TZif files (RFC 8536, "The Time Zone Information Format"); see tz.h.
 *
 * TZif layout (RFC 8536 s.3): a 44-byte header, a version-1 data block with 32-bit times and,
 * from version 2 on, a second header and data block with 64-bit times followed by a footer,
 * "\n" POSIX-TZ-string "\n", that gives local time after the last transition.
 *
 *   header  offset size  meaning
 *            0      4    magic "TZif"
 *            4      1    version: 0, '2', '3' or '4'
 *            5     15    unused
 *           20      4    isutcnt   (UT/local indicators)
 *           24      4    isstdcnt  (standard/wall indicators)
 *           28      4    leapcnt   (leap-second records)
 *           32      4    timecnt   (transitions)
 *           36      4    typecnt   (local time types, at least 1)
 *           40      4    charcnt   (bytes of designations)
 *   data    timecnt x T  transition times (T = 4 in v1, 8 in v2+), ascending
 *           timecnt x 1  type index of each transition
 *           typecnt x 6  local time type: i32 utoff (s east of UT), u8 isdst, u8 desigidx
 *           charcnt      designations
 *           leapcnt x (T + 4), isstdcnt x 1, isutcnt x 1
 *
 * Leap-second records are ignored: the "right/" zones would be off by the leap seconds. Before
 * the first transition, time type 0 applies (RFC 8536 s.3.2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site/civil.h"
#include "site/internal.h"
#include "site/tz.h"
#include "util/cursor.h"
#include "util/file.h"

/* A date of a POSIX TZ rule (POSIX.1-2017 s.8.3, TZ "rule"). */
struct rule_date {
    char kind;    /* 'J': Julian day 1..365 without Feb 29; 'n': day 0..365; 'M': Mm.w.d */
    int16_t day;  /* J, n */
    uint8_t m, w, d;
    int32_t time; /* seconds after local midnight (may be negative or past 24 h) */
};

struct qw_tz {
    char name[QW_TZ_NAME_MAX + 1];
    bool builtin;
    uint32_t ntrans, ntypes;
    const int64_t *trans;   /* UTC seconds, ascending */
    const uint8_t *ttype;   /* type of each transition */
    const int32_t *utoff;   /* per type */
    bool has_rule;          /* the footer gives local time after the last transition */
    bool rule_dst;          /* the rule has daylight time */
    int32_t std_off, dst_off;
    struct rule_date start, end;
};

static const int32_t utc_off[1] = {0};
static const struct qw_tz utc_zone = {.name = "UTC", .builtin = true, .ntypes = 1,
                                      .utoff = utc_off};

const struct qw_tz *qw_tz_utc(void)
{
    return &utc_zone;
}

const char *qw_tz_default_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

const char *qw_tz_name(const struct qw_tz *tz)
{
    return tz->name;
}

void qw_tz_free(struct qw_tz *tz)
{
    if (tz && !tz->builtin) free(tz);
}

/* ---- POSIX TZ strings --------------------------------------------------------------------- */

static bool parse_abbr(const char **pp)
{
    const char *p = *pp;
    if (*p == '<') {
        const char *q = strchr(p, '>');
        if (!q || q - p < 4) return false;
        *pp = q + 1;
        return true;
    }
    int n = 0;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) p++, n++;
    *pp = p;
    return n >= 3;
}

/* [+-]hh[:mm[:ss]] with hh 0..167 (RFC 8536 s.3.3.1 extension) -> seconds */
static bool parse_hms(const char **pp, int32_t *out)
{
    const char *p = *pp;
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    int32_t v[3] = {0, 0, 0};
    for (int part = 0; part < 3; part++) {
        if (part && *p != ':') break;
        if (part) p++;
        if (*p < '0' || *p > '9') return false;
        int32_t x = 0;
        for (int k = 0; k < 3 && *p >= '0' && *p <= '9'; k++) x = x * 10 + (*p++ - '0');
        v[part] = x;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59) return false;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *pp = p;
    return true;
}

static bool parse_num(const char **pp, int lo, int hi, int *out)
{
    const char *p = *pp;
    int v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < 4) v = v * 10 + (*p++ - '0'), n++;
    if (!n || v < lo || v > hi) return false;
    *out = v;
    *pp = p;
    return true;
}

static bool parse_date(const char **pp, struct rule_date *r)
{
    const char *p = *pp;
    int a, b, c;
    if (*p == 'J') {
        p++;
        if (!parse_num(&p, 1, 365, &a)) return false;
        r->kind = 'J';
        r->day = (int16_t)a;
    } else if (*p == 'M') {
        p++;
        if (!parse_num(&p, 1, 12, &a) || *p++ != '.' || !parse_num(&p, 1, 5, &b) ||
            *p++ != '.' || !parse_num(&p, 0, 6, &c))
            return false;
        r->kind = 'M';
        r->m = (uint8_t)a;
        r->w = (uint8_t)b;
        r->d = (uint8_t)c;
    } else {
        if (!parse_num(&p, 0, 365, &a)) return false;
        r->kind = 'n';
        r->day = (int16_t)a;
    }
    r->time = 2 * 3600; /* default 02:00:00 */
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, &r->time)) return false;
    }
    *pp = p;
    return true;
}

/* std offset [dst [offset] [,start[/time],end[/time]]] */
static bool parse_posix(struct qw_tz *tz, const char *s)
{
    const char *p = s;
    int32_t off;
    if (!parse_abbr(&p) || !parse_hms(&p, &off)) return false;
    tz->std_off = -off; /* POSIX offsets count west of Greenwich */
    tz->rule_dst = false;
    if (*p == 0) return true;
    if (!parse_abbr(&p)) return false;
    tz->dst_off = tz->std_off + 3600;
    if (*p && *p != ',') {
        if (!parse_hms(&p, &off)) return false;
        tz->dst_off = -off;
    }
    if (*p != ',') {
        /* no rule: POSIX leaves it to the implementation; use the US rule, as glibc does */
        tz->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
        tz->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
    } else {
        p++;
        if (!parse_date(&p, &tz->start) || *p++ != ',' || !parse_date(&p, &tz->end)) return false;
    }
    if (*p) return false;
    tz->rule_dst = true;
    return true;
}

/* Local day (since the epoch) of a rule date in year y. */
static int64_t rule_day(int64_t y, const struct rule_date *r)
{
    int64_t jan1 = qw_civil_days(y, 1, 1);
    if (r->kind == 'J') return jan1 + r->day - 1 + (qw_civil_leap(y) && r->day >= 60);
    if (r->kind == 'n') return jan1 + r->day;
    int64_t first = qw_civil_days(y, r->m, 1);
    int day = (int)((r->d + 7 - qw_civil_weekday(first)) % 7) + (r->w - 1) * 7;
    int mdays = (int)qw_civil_month_days(y, r->m);
    while (day >= mdays) day -= 7; /* week 5 means the last one */
    return first + day;
}

static int32_t rule_offset(const struct qw_tz *tz, int64_t t)
{
    if (!tz->rule_dst) return tz->std_off;
    int64_t y;
    unsigned m, d;
    qw_civil_from_days(qw_floor_div(t + tz->std_off, 86400), &y, &m, &d);
    /* DST starts at a local standard time and ends at a local daylight time */
    int64_t s = rule_day(y, &tz->start) * 86400 + tz->start.time - tz->std_off;
    int64_t e = rule_day(y, &tz->end) * 86400 + tz->end.time - tz->dst_off;
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? tz->dst_off : tz->std_off;
}

int32_t qw_tz_offset(const struct qw_tz *tz, int64_t t)
{
    if (tz->ntrans == 0) return tz->has_rule ? rule_offset(tz, t) : tz->utoff[0];
    if (t < tz->trans[0]) return tz->utoff[0];
    if (t >= tz->trans[tz->ntrans - 1]) {
        if (tz->has_rule) return rule_offset(tz, t);
        return tz->utoff[tz->ttype[tz->ntrans - 1]];
    }
    uint32_t lo = 0, hi = tz->ntrans - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->utoff[tz->ttype[lo]];
}

void qw_tz_local(const struct qw_tz *tz, int64_t utc, struct qw_local_time *out)
{
    out->offset = qw_tz_offset(tz, utc);
    int64_t t = utc + out->offset;
    out->days = qw_floor_div(t, 86400);
    out->sec_of_day = (int32_t)(t - out->days * 86400);
    out->wday = (uint8_t)qw_civil_weekday(out->days);
}

/* ---- TZif --------------------------------------------------------------------------------- */

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool read_header(struct qw_cursor *c, uint8_t *version, struct tzif_counts *n)
{
    const uint8_t *magic = qw_cur_take(c, 4);
    if (!magic || memcmp(magic, "TZif", 4) != 0) return false;
    *version = qw_cur_u8(c);
    qw_cur_skip(c, 15);
    n->isut = qw_cur_be32(c);
    n->isstd = qw_cur_be32(c);
    n->leap = qw_cur_be32(c);
    n->time = qw_cur_be32(c);
    n->type = qw_cur_be32(c);
    n->chars = qw_cur_be32(c);
    return !c->err && n->type >= 1 && n->type <= 256 && n->time <= QW_TZ_TRANSITIONS_MAX &&
           n->chars <= 65536 && n->leap <= 65536 && n->isut <= 256 && n->isstd <= 256;
}

static size_t block_size(const struct tzif_counts *n, size_t tsize)
{
    return n->time * tsize + n->time + n->type * 6u + n->chars + n->leap * (tsize + 4) +
           n->isstd + n->isut;
}

static struct qw_tz *parse_tzif(const uint8_t *buf, size_t len, const char *name)
{
    struct qw_cursor c = qw_cursor_make(buf, len);
    uint8_t version;
    struct tzif_counts n;
    if (!read_header(&c, &version, &n)) return NULL;
    size_t tsize = 4;
    if (version >= '2') {
        /* skip the version-1 block; use the 64-bit one */
        if (!qw_cur_skip(&c, block_size(&n, 4)) || !read_header(&c, &version, &n)) return NULL;
        tsize = 8;
    }
    if (!qw_cur_has(&c, block_size(&n, tsize))) return NULL;
    size_t size = sizeof(struct qw_tz) + n.time * (sizeof(int64_t) + 1) + n.type * sizeof(int32_t);
    struct qw_tz *tz = calloc(1, size);
    if (!tz) return NULL;
    int64_t *trans = (int64_t *)(tz + 1);
    int32_t *utoff = (int32_t *)(trans + n.time);
    uint8_t *ttype = (uint8_t *)(utoff + n.type);
    for (uint32_t i = 0; i < n.time; i++) {
        trans[i] = tsize == 8 ? (int64_t)qw_cur_be64(&c) : (int64_t)(int32_t)qw_cur_be32(&c);
        if (i && trans[i] <= trans[i - 1]) goto bad;
    }
    for (uint32_t i = 0; i < n.time; i++)
        if ((ttype[i] = qw_cur_u8(&c)) >= n.type) goto bad;
    for (uint32_t i = 0; i < n.type; i++) {
        utoff[i] = (int32_t)qw_cur_be32(&c);
        if (utoff[i] <= -25 * 3600 || utoff[i] >= 26 * 3600) goto bad; /* RFC 8536 s.3.2 */
        qw_cur_skip(&c, 2);
    }
    qw_cur_skip(&c, n.chars + n.leap * (tsize + 4) + n.isstd + n.isut);
    if (c.err) goto bad;
    tz->ntrans = n.time;
    tz->ntypes = n.type;
    tz->trans = trans;
    tz->ttype = ttype;
    tz->utoff = utoff;
    snprintf(tz->name, sizeof tz->name, "%s", name);
    /* footer: "\n" TZ "\n"; an empty or unreadable one leaves the last type in force */
    if (tsize == 8 && qw_cur_left(&c) >= 2 && *qw_cur_ptr(&c) == '\n') {
        const char *f = (const char *)qw_cur_ptr(&c) + 1;
        size_t left = qw_cur_left(&c) - 1;
        const char *nl = memchr(f, '\n', left);
        char rule[128];
        if (nl && (size_t)(nl - f) < sizeof rule && nl > f) {
            memcpy(rule, f, (size_t)(nl - f));
            rule[nl - f] = 0;
            tz->has_rule = parse_posix(tz, rule);
        }
    }
    return tz;
bad:
    free(tz);
    return NULL;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > QW_TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/') return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '/' || ch == '_' || ch == '-' || ch == '+';
        if (!ok) return false;
        if (ch == '/' && name[i + 1] == '/') return false;
    }
    /* no component may start with '.', so "." and ".." cannot appear */
    return true;
}

struct qw_tz *qw_tz_load(const char *tzdir, const char *name, char *why, size_t len)
{
    if (!tzdir) tzdir = qw_tz_default_dir();
    if (!valid_name(name)) {
        snprintf(why, len, "not a time-zone name");
        return NULL;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", tzdir, name) >= sizeof path) {
        snprintf(why, len, "not a time-zone name");
        return NULL;
    }
    size_t got;
    char *buf = qw_read_file(path, QW_TZ_FILE_MAX, &got);
    if (!buf) {
        if (errno != ENOENT && errno != ENOTDIR && errno != EINVAL && errno != EFBIG &&
            errno != ENOMEM)
            snprintf(why, len, "%s: %s", path, strerror(errno));
        else
            snprintf(why, len, "not in the time-zone database %s", tzdir);
        return NULL;
    }
    struct qw_tz *tz = parse_tzif((const uint8_t *)buf, got, name);
    free(buf);
    if (!tz) snprintf(why, len, "not in the time-zone database %s", tzdir);
    return tz;
}

const char *qw_tz_suggest(const char *tzdir, const char *name, char *buf, size_t len)
{
    /* tzdata.zi (zic input): zones are "Z NAME ...", links "L TARGET NAME" */
    if (!tzdir) tzdir = qw_tz_default_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/tzdata.zi", tzdir);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[512], best[QW_TZ_NAME_MAX + 1] = "";
    struct qw_suggest sg;
    qw_suggest_init(&sg, name);
    while (fgets(line, sizeof line, f)) {
        char a[QW_TZ_NAME_MAX + 1], b[QW_TZ_NAME_MAX + 1];
        const char *cand = NULL;
        if (line[0] == 'Z' && sscanf(line, "Z %127s", a) == 1)
            cand = a;
        else if (line[0] == 'L' && sscanf(line, "L %127s %127s", a, b) == 2)
            cand = b;
        if (!cand) continue;
        unsigned before = sg.dist;
        qw_suggest_try(&sg, cand);
        if (sg.dist < before) {
            snprintf(best, sizeof best, "%s", cand);
            sg.best = best;
        }
    }
    fclose(f);
    const char *b = qw_suggest_best(&sg);
    if (!b) return NULL;
    snprintf(buf, len, "%s", b);
    return buf;
}
