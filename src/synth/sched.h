/* Event scheduler: a binary min-heap of actors ordered by their next frame time.
 *
 * Every piece of traffic is an actor, a small state machine that emits at most one frame each
 * time it fires and then says when it fires next. The heap interleaves all actors into one
 * time-ordered packet stream. Keys pack (time << 24 | actor index) into one integer, so ties
 * are broken by actor index and the order, and hence the output file, is fully deterministic. */
#ifndef QW_SYNTH_SCHED_H
#define QW_SYNTH_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct sy;
struct sy_actor;
struct sy_rng;
typedef void (*sy_fire_fn)(struct sy *sy, struct sy_actor *a);

#define SY_NEVER UINT64_MAX
#define SY_TIME_BITS 40 /* microseconds: 12.7 days, above the longest run we accept */
#define SY_INDEX_BITS 24
#define SY_MAX_ACTORS (1u << SY_INDEX_BITS)

/* Embedded as the first member of every actor. fire() must set `next` (absolute microseconds
 * since the start of the capture, not earlier than the current time) or SY_NEVER to retire. */
struct sy_actor {
    sy_fire_fn fire;
    uint64_t next;
    uint32_t ev; /* scripted event (enum sy_ev_id) every frame of this actor belongs to, 0 none */
    /* NULL: the actor draws from the run's main random stream. Else a stream of its own, which
     * the run puts in place of the main one while the actor fires: traffic added this way
     * (the core router's log, synth.c) moves no frame of the rest of the capture. */
    struct sy_rng *rng;
};

struct sy_sched {
    uint64_t *heap; /* keys */
    struct sy_actor **actors; /* by index */
    size_t n, nactors, cap;
};

int sy_sched_init(struct sy_sched *s, size_t cap);
void sy_sched_free(struct sy_sched *s);

/* Registers an actor (allocated with malloc; the scheduler frees it) with its first fire time
 * in a->next. Returns -1 when full. */
int sy_sched_add(struct sy_sched *s, struct sy_actor *a);

/* The actor due first and its time; NULL when none remain. */
struct sy_actor *sy_sched_peek(const struct sy_sched *s, uint64_t *t);

/* Re-files the actor returned by peek after it fired, using its new `next`. */
void sy_sched_requeue_top(struct sy_sched *s);

#endif
