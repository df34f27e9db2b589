/* `quaywatch synth` driver: builds the terminal model and its actors, then runs the event loop
 * that writes every frame in time order. See synth.h. */
#include "synth/synth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/actors.h"
#include "synth/emit.h"
#include "synth/scenario.h"

#define OUT_BUFFER (8u << 20) /* big writes; the kernel does the rest */

void *sy_actor_new(struct sy *sy, size_t size, sy_fire_fn fire, uint64_t start)
{
    struct sy_actor *a = calloc(1, size);
    if (!a) return NULL;
    a->fire = fire;
    a->next = start;
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
        a->fire(sy, a);
        if (a->next < t) a->next = t; /* time never runs backwards in the file */
        sy_sched_requeue_top(&sy->sched);
        if (sy->out.err) break;
    }
}

int qw_synth_run(const struct qw_synth_opts *o, const char *path, struct qw_synth_stats *st,
                 char *err, size_t errlen)
{
    if (o->minutes == 0 || o->minutes > QW_SYNTH_MAX_MINUTES || o->scale == 0 ||
        o->scale > QW_SYNTH_MAX_SCALE) {
        set_err(err, errlen, "minutes must be 1..%u and scale 1..%u", QW_SYNTH_MAX_MINUTES,
                QW_SYNTH_MAX_SCALE);
        return -1;
    }
    struct sy *sy = calloc(1, sizeof *sy);
    if (!sy) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    sy_rng_seed(&sy->rng, o->seed);
    sy->end = (uint64_t)o->minutes * 60 * SY_SEC;
    sy->out.fd = -1;

    if (sy_model_build(&sy->m, o->scale) != 0 ||
        sy_sched_init(&sy->sched, sy_scenario_capacity(&sy->m)) != 0 ||
        sy_pool_init(&sy->pool, o->seed) != 0 || sy_scenario_build(sy) != 0) {
        set_err(err, errlen, "out of memory building the terminal model");
        goto done;
    }
    int e = sy_out_open(&sy->out, path, QW_SYNTH_START_UNIX, OUT_BUFFER);
    if (e) {
        set_err(err, errlen, "cannot create %s: %s", path, strerror(e));
        goto done;
    }
    run_events(sy);
    uint64_t packets = sy->out.packets;
    e = sy_out_close(&sy->out);
    if (e) {
        set_err(err, errlen, "cannot write %s: %s", path, strerror(e));
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
