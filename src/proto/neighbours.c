#include "proto/neighbours.h"

#include <string.h>

#include "engine/emit.h"

struct qw_neigh *qw_neigh_see(struct qw_neigh_table *t, struct qw_pctx *ctx,
                              const char *full_anomaly, uint64_t key, uint64_t content,
                              uint64_t now, const char **event)
{
    struct qw_neigh *n = NULL, *victim = NULL;
    for (size_t i = 0; i < QW_NEIGH_MAX && !n; i++) {
        struct qw_neigh *e = &t->e[i];
        if (e->used && e->key == key) n = e;
        else if (!victim || (victim->used && (!e->used || e->last_ns < victim->last_ns)))
            victim = e; /* the first free entry, else the least recently heard */
    }
    if (n) {
        n->frames++;
        n->last_ns = now;
        if (n->content == content) {
            n->repeats++;
            return NULL;
        }
        *event = "changed";
    } else {
        if (victim->used && !t->full_reported) {
            qw_emit_anomaly(ctx, full_anomaly, NULL);
            t->full_reported = true;
        }
        n = victim;
        memset(n, 0, sizeof *n);
        n->used = true;
        n->key = key;
        n->frames = 1;
        n->last_ns = now;
        *event = "new";
    }
    n->content = content;
    return n;
}
