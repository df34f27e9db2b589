/* `quaywatch synth` driver: builds the terminal model and its actors, then runs the event loop
 * that writes every frame in time order. See synth.h. */
#include "synth/synth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/actors.h"
#include "synth/emit.h"
#include "synth/scenario.h"
#include "synth/truth.h"

#define OUT_BUFFER (8u << 20) /* big writes; the kernel does the rest */

void *sy_actor_new(struct sy *sy, size_t size, sy_fire_fn fire, uint64_t start)
{
    struct sy_actor *a = calloc(1, size);
    if (!a) return NULL;
    a->fire = fire;
    a->next = start;
    a->ev = SY_EV_NONE;
    if (sy_sched_add(&sy->sched, a) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void run_events(struct sy *sy)
{
    uint64_t t;
    struct sy_actor *a;
    while ((a = sy_sched_peek(&sy->sched, &t)) != NULL && t < sy->end) {
        sy->now = t;
        uint64_t before = sy->out.packets;
        if (a->rng) {
            /* the actor's own stream stands in for the main one, which stays as it was */
            struct sy_rng main_rng = sy->rng;
            sy->rng = *a->rng;
            a->fire(sy, a);
            *a->rng = sy->rng;
            sy->rng = main_rng;
        } else {
            a->fire(sy, a);
        }
        if (a->ev && sy->out.packets != before) sy_ev_touch(sy, a->ev);
        if (a->next < t) a->next = t; /* time never runs backwards in the file */
        sy_sched_requeue_top(&sy->sched);
        if (sy->out.err) break;
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 0;
}

int qw_synth_parse_time(const char *s, uint64_t *unix_s)
{
    /* YYYY-MM-DDTHH:MM:SS then Z or +HH:MM / -HH:MM (RFC 3339 section 5.6, whole seconds) */
    unsigned y, mo, d, h, mi, se, oh = 0, om = 0;
    size_t n = strlen(s);
    if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    int sign = 0;
    if (n == 20 && (s[19] == 'Z' || s[19] == 'z')) {
        sign = 0;
    } else if (n == 25 && (s[19] == '+' || s[19] == '-') && !digits(s + 20, 2, &oh) &&
               s[22] == ':' && !digits(s + 23, 2, &om) && oh < 24 && om < 60) {
        sign = s[19] == '+' ? 1 : -1;
    } else {
        return -1;
    }
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
        mi > 59 || se > 59)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
                sign * (int64_t)(oh * 3600 + om * 60);
    if (t < 0 || t > (int64_t)QW_SYNTH_START_MAX) return -1;
    *unix_s = (uint64_t)t;
    return 0;
}

int qw_synth_run(const struct qw_synth_opts *o, const char *path, const char *truth,
                 struct qw_synth_stats *st, char *err, size_t errlen)
{
    if (o->minutes == 0 || o->minutes > QW_SYNTH_MAX_MINUTES || o->scale == 0 ||
        o->scale > QW_SYNTH_MAX_SCALE || o->start_unix > QW_SYNTH_START_MAX) {
        set_err(err, errlen, "minutes must be 1..%u, scale 1..%u and the start before 2100",
                QW_SYNTH_MAX_MINUTES, QW_SYNTH_MAX_SCALE);
        return -1;
    }
    struct sy *sy = calloc(1, sizeof *sy);
    if (!sy) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    sy_rng_seed(&sy->rng, o->seed);
    sy_rng_seed(&sy->log_rng, sy_mix(o->seed ^ 0x4c4f47u)); /* "LOG": any other constant would do */
    sy_rng_seed(&sy->guess_rng, sy_mix(o->seed ^ 0x475545u)); /* "GUE", likewise */
    sy->laptop_up = SY_NEVER;
    sy->end = (uint64_t)o->minutes * 60 * SY_SEC;
    sy->out.fd = -1;
    sy->incidents = o->incidents;
    for (unsigned i = 0; i < SY_NEV; i++)
        sy->ev[i].start = sy->ev[i].end = sy->ev[i].key = SY_NEVER;

    if (sy_model_build(&sy->m, o->scale) != 0 ||
        sy_sched_init(&sy->sched, sy_scenario_capacity(&sy->m)) != 0 ||
        sy_pool_init(&sy->pool, o->seed) != 0 || sy_scenario_build(sy) != 0) {
        set_err(err, errlen, "out of memory building the terminal model");
        goto done;
    }
    int e = sy_out_open(&sy->out, path, o->start_unix, OUT_BUFFER);
    if (e) {
        set_err(err, errlen, "cannot create %s: %s", path ? path : "the capture", strerror(e));
        goto done;
    }
    run_events(sy);
    uint64_t packets = sy->out.packets;
    /* The truth first: a failure to write it must not leave a capture behind either. */
    if (truth && sy_truth_write(sy, o, truth, err, errlen) != 0) goto done;
    e = sy_out_close(&sy->out);
    if (e) {
        set_err(err, errlen, "cannot write %s: %s", path, strerror(e));
        if (truth) unlink(truth);
        goto done;
    }
    if (st) {
        st->packets = packets;
        st->bytes = sy->out.bytes;
        st->devices = sy->m.ndev;
    }
    rc = 0;
done:
    if (rc != 0 && sy->out.buf) sy_out_abort(&sy->out);
    sy_sched_free(&sy->sched);
    sy_pool_free(&sy->pool);
    sy_model_free(&sy->m);
    free(sy);
    return rc;
}
