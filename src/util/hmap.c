#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

/* Slot layout: used flag padded to 8 bytes, key, value (each padded to 8). */
static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

bool qw_hmap_init(struct qw_hmap *m, size_t key_size, size_t val_size, uint32_t max)
{
    memset(m, 0, sizeof *m);
    m->key_size = key_size;
    m->val_size = val_size;
    m->stride = 8 + pad8(key_size) + pad8(val_size);
    m->max = max;
    m->cap = 64;
    m->slots = calloc(m->cap, m->stride);
    qw_sipkey_random(&m->key);
    return m->slots != NULL;
}

void qw_hmap_free(struct qw_hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

void qw_hmap_clear(struct qw_hmap *m)
{
    memset(m->slots, 0, (size_t)m->cap * m->stride);
    m->count = 0;
}

static uint8_t *slot(const struct qw_hmap *m, uint32_t i) { return m->slots + (size_t)i * m->stride; }

static uint32_t find(const struct qw_hmap *m, const void *key, bool *found)
{
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)qw_siphash13(&m->key, key, m->key_size) & mask;
    for (;;) {
        uint8_t *s = slot(m, i);
        if (!s[0]) {
            *found = false;
            return i;
        }
        if (memcmp(s + 8, key, m->key_size) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static bool grow(struct qw_hmap *m)
{
    uint32_t old_cap = m->cap;
    uint8_t *old = m->slots;
    uint8_t *n = calloc((size_t)old_cap * 2, m->stride);
    if (!n) return false;
    m->slots = n;
    m->cap = old_cap * 2;
    for (uint32_t i = 0; i < old_cap; i++) {
        uint8_t *s = old + (size_t)i * m->stride;
        if (!s[0]) continue;
        bool found;
        uint32_t j = find(m, s + 8, &found);
        memcpy(slot(m, j), s, m->stride);
    }
    free(old);
    return true;
}

void *qw_hmap_get(const struct qw_hmap *m, const void *key)
{
    bool found;
    uint32_t i = find(m, key, &found);
    return found ? slot(m, i) + 8 + pad8(m->key_size) : NULL;
}

void *qw_hmap_upsert(struct qw_hmap *m, const void *key, bool *added)
{
    bool found;
    uint32_t i = find(m, key, &found);
    if (added) *added = !found;
    if (found) return slot(m, i) + 8 + pad8(m->key_size);
    if (m->count >= m->max) {
        m->refused++;
        return NULL;
    }
    if ((m->count + 1) * 4 > m->cap * 3) { /* keep the load under 3/4 */
        if (!grow(m)) {
            m->refused++;
            return NULL;
        }
        i = find(m, key, &found);
    }
    uint8_t *s = slot(m, i);
    s[0] = 1;
    memcpy(s + 8, key, m->key_size);
    memset(s + 8 + pad8(m->key_size), 0, m->val_size);
    m->count++;
    return s + 8 + pad8(m->key_size);
}

bool qw_hmap_next(const struct qw_hmap *m, uint32_t *pos, const void **key, void **val)
{
    while (*pos < m->cap) {
        uint8_t *s = slot(m, (*pos)++);
        if (s[0]) {
            *key = s + 8;
            *val = s + 8 + pad8(m->key_size);
            return true;
        }
    }
    return false;
}
