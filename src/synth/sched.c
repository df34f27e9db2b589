/* Binary min-heap of actor keys; see sched.h. */
#include "synth/sched.h"

#include <stdlib.h>

#define INDEX_MASK ((UINT64_C(1) << SY_INDEX_BITS) - 1)

int sy_sched_init(struct sy_sched *s, size_t cap)
{
    s->n = s->nactors = 0;
    s->cap = cap;
    s->heap = malloc(cap * sizeof *s->heap);
    s->actors = malloc(cap * sizeof *s->actors);
    if (!s->heap || !s->actors || cap > SY_MAX_ACTORS) {
        sy_sched_free(s);
        return -1;
    }
    return 0;
}

void sy_sched_free(struct sy_sched *s)
{
    if (s->actors)
        for (size_t i = 0; i < s->nactors; i++) free(s->actors[i]);
    free(s->heap);
    free(s->actors);
    s->heap = NULL;
    s->actors = NULL;
    s->n = s->nactors = s->cap = 0;
}

static uint64_t key_of(uint64_t t, size_t idx)
{
    return t << SY_INDEX_BITS | idx;
}

static void sift_up(uint64_t *h, size_t i)
{
    uint64_t k = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= k) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = k;
}

static void sift_down(uint64_t *h, size_t n, size_t i)
{
    uint64_t k = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h[c + 1] < h[c]) c++;
        if (h[c] >= k) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = k;
}

int sy_sched_add(struct sy_sched *s, struct sy_actor *a)
{
    if (s->nactors >= s->cap) return -1;
    size_t idx = s->nactors++;
    s->actors[idx] = a;
    if (a->next == SY_NEVER || a->next >> SY_TIME_BITS) return 0; /* never fires */
    s->heap[s->n] = key_of(a->next, idx);
    sift_up(s->heap, s->n++);
    return 0;
}

struct sy_actor *sy_sched_peek(const struct sy_sched *s, uint64_t *t)
{
    if (s->n == 0) return NULL;
    *t = s->heap[0] >> SY_INDEX_BITS;
    return s->actors[s->heap[0] & INDEX_MASK];
}

void sy_sched_requeue_top(struct sy_sched *s)
{
    size_t idx = (size_t)(s->heap[0] & INDEX_MASK);
    uint64_t next = s->actors[idx]->next;
    if (next == SY_NEVER || next >> SY_TIME_BITS) {
        s->heap[0] = s->heap[--s->n];
        if (s->n == 0) return;
    } else {
        s->heap[0] = key_of(next, idx);
    }
    sift_down(s->heap, s->n, 0);
}
