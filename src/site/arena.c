/* The arena of one loaded site: a list of chunks handed out front to back and freed together.
 * A site is loaded once, so nothing is ever freed on its own. */
#include <stdlib.h>
#include <string.h>

#include "site/internal.h"

#define ARENA_CHUNK (64u * 1024u) /* bytes per ordinary chunk; larger requests get their own */
#define ARENA_ALIGN 16u

struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct qw_site_arena {
    struct chunk *head;
};

struct qw_site_arena *qw_arena_new(void)
{
    return calloc(1, sizeof(struct qw_site_arena));
}

void *qw_arena_alloc(struct qw_site_arena *a, size_t n)
{
    if (!a || n > (size_t)1 << 30) return NULL;
    if (n == 0) n = 1;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->size = size;
        c->used = 0;
        if (a->head && need > ARENA_CHUNK) {
            /* a big block: keep filling the current chunk afterwards */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, n);
    return p;
}

void *qw_arena_array(struct qw_site_arena *a, size_t n, size_t size)
{
    if (size && n > ((size_t)1 << 30) / size) return NULL;
    return qw_arena_alloc(a, n * size);
}

char *qw_arena_strndup(struct qw_site_arena *a, const char *s, size_t n)
{
    char *p = qw_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n);
    return p;
}

void qw_arena_free(struct qw_site_arena *a)
{
    if (!a) return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}
