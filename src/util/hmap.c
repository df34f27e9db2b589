#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_MIN 64u

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

bool qw_hmap_init(struct qw_hmap *m, size_t key_size, size_t val_size, uint32_t max)
{
    memset(m, 0, sizeof *m);
    m->key_size = key_size;
    m->val_size = val_size;
    m->stride = pad8(key_size) + pad8(val_size);
    m->max = max;
    m->cap = INDEX_MIN;
    m->index = calloc(m->cap, sizeof *m->index);
    qw_hkey_random(&m->key);
    return m->index != NULL;
}

void qw_hmap_free(struct qw_hmap *m)
{
    free(m->index);
    free(m->entries);
    m->index = NULL;
    m->entries = NULL;
    m->cap = m->count = m->ecap = 0;
}

void qw_hmap_clear(struct qw_hmap *m)
{
    if (m->count) memset(m->index, 0, (size_t)m->cap * sizeof *m->index);
    m->count = 0;
}

size_t qw_hmap_bytes(const struct qw_hmap *m)
{
    return (size_t)m->cap * sizeof *m->index + (size_t)m->ecap * m->stride;
}

static uint8_t *entry(const struct qw_hmap *m, uint32_t e)
{
    return m->entries + (size_t)e * m->stride;
}

static uint64_t hash_of(const struct qw_hmap *m, const void *key)
{
    return qw_hash(&m->key, key, m->key_size);
}

/* The index slot of `key` (*found: its entry number in *e) or the empty slot where it goes. */
static uint32_t find(const struct qw_hmap *m, const void *key, uint64_t h, bool *found,
                     uint32_t *e)
{
    uint32_t mask = m->cap - 1, tag = (uint32_t)(h >> 32);
    uint32_t i = (uint32_t)h & mask;
    for (;;) {
        uint64_t s = m->index[i];
        if (!s) {
            *found = false;
            return i;
        }
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t n = (uint32_t)s - 1;
            if (memcmp(entry(m, n), key, m->key_size) == 0) {
                *found = true;
                *e = n;
                return i;
            }
        }
        i = (i + 1) & mask;
    }
}

/* Double the index and place every entry again (hashes are recomputed: growth is rare). */
static bool grow_index(struct qw_hmap *m)
{
    uint32_t cap = m->cap * 2;
    uint64_t *idx = calloc(cap, sizeof *idx);
    if (!idx) return false;
    uint32_t mask = cap - 1;
    for (uint32_t n = 0; n < m->count; n++) {
        uint64_t h = hash_of(m, entry(m, n));
        uint32_t i = (uint32_t)h & mask;
        while (idx[i]) i = (i + 1) & mask;
        idx[i] = (h >> 32) << 32 | (uint64_t)(n + 1);
    }
    free(m->index);
    m->index = idx;
    m->cap = cap;
    return true;
}

static bool grow_entries(struct qw_hmap *m)
{
    uint32_t ecap = m->ecap ? m->ecap * 2 : 32;
    if (ecap > m->max) ecap = m->max;
    uint8_t *en = realloc(m->entries, (size_t)ecap * m->stride);
    if (!en) return false;
    m->entries = en;
    m->ecap = ecap;
    return true;
}

void *qw_hmap_get(const struct qw_hmap *m, const void *key)
{
    if (!m->count) return NULL;
    bool found;
    uint32_t e = 0;
    find(m, key, hash_of(m, key), &found, &e);
    return found ? entry(m, e) + pad8(m->key_size) : NULL;
}

void *qw_hmap_upsert(struct qw_hmap *m, const void *key, bool *added)
{
    bool found;
    uint32_t e = 0;
    uint64_t h = hash_of(m, key);
    uint32_t i = find(m, key, h, &found, &e);
    if (added) *added = !found;
    if (found) return entry(m, e) + pad8(m->key_size);
    if (m->count >= m->max) {
        m->refused++;
        return NULL;
    }
    if (m->count == m->ecap && !grow_entries(m)) {
        m->refused++;
        return NULL;
    }
    if ((uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3) { /* keep the load under 3/4 */
        if (!grow_index(m)) {
            m->refused++;
            return NULL;
        }
        i = find(m, key, h, &found, &e);
    }
    e = m->count++;
    uint8_t *s = entry(m, e);
    memcpy(s, key, m->key_size);
    memset(s + pad8(m->key_size), 0, m->val_size);
    m->index[i] = (h >> 32) << 32 | (uint64_t)(e + 1);
    return s + pad8(m->key_size);
}

/* The index slot that points at entry e (it is there: every entry has one). */
static uint32_t slot_of_entry(const struct qw_hmap *m, uint32_t e)
{
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)hash_of(m, entry(m, e)) & mask;
    while ((uint32_t)m->index[i] != e + 1) i = (i + 1) & mask;
    return i;
}

bool qw_hmap_remove(struct qw_hmap *m, const void *key)
{
    if (!m->count) return false;
    bool found;
    uint32_t e = 0;
    uint32_t hole = find(m, key, hash_of(m, key), &found, &e);
    if (!found) return false;
    /* Linear probing cannot leave the slot empty when later slots of the run were placed past
     * it: shift back every one whose home slot lies at or before the hole (cyclically), so
     * each stays reachable from its home without tombstones. */
    uint32_t mask = m->cap - 1;
    for (uint32_t j = (hole + 1) & mask; m->index[j]; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)hash_of(m, entry(m, (uint32_t)m->index[j] - 1)) & mask;
        /* is home cyclically outside (hole, j]? then the entry at j may fill the hole */
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->index[hole] = m->index[j];
            hole = j;
        }
    }
    m->index[hole] = 0;
    /* keep entries dense: the last one takes the removed one's place */
    uint32_t last = m->count - 1;
    if (e != last) {
        uint32_t s = slot_of_entry(m, last);
        memcpy(entry(m, e), entry(m, last), m->stride);
        m->index[s] = (m->index[s] >> 32) << 32 | (uint64_t)(e + 1);
    }
    m->count--;
    return true;
}

bool qw_hmap_next(const struct qw_hmap *m, uint32_t *pos, const void **key, void **val)
{
    if (*pos >= m->count) return false;
    uint8_t *s = entry(m, (*pos)++);
    *key = s;
    *val = s + pad8(m->key_size);
    return true;
}
