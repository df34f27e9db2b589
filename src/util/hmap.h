/* Hash map of fixed-size keys and values, with a hard entry cap.
 *
 * Entries are stored densely in insertion order; an open-addressing index of 8-byte slots
 * (part of the key's hash + entry number) finds them. A lookup reads one index slot or a few,
 * then one entry, so the part that is searched stays small enough for the CPU caches, and
 * iteration runs in insertion order: the same traffic yields the same order on every run.
 * Keys are compared as bytes (callers zero their padding) and hashed with qw_hash under a
 * per-map random key. The map grows until `max` entries; past that, inserts fail and are
 * counted, so memory stays bounded whatever the traffic. A value pointer stays valid until the
 * next insertion into the same map. */
#ifndef QW_UTIL_HMAP_H
#define QW_UTIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hash.h"

struct qw_hmap {
    uint64_t *index;  /* cap slots: 0 empty, else hash tag << 32 | entry number + 1 */
    uint8_t *entries; /* count entries of `stride` bytes: key, value (each padded to 8) */
    size_t key_size, val_size, stride;
    uint32_t cap;     /* index slots, a power of two; load kept under 3/4 */
    uint32_t count;   /* entries in use */
    uint32_t ecap;    /* entries allocated */
    uint32_t max;     /* entry cap */
    uint64_t refused; /* inserts refused at the cap */
    struct qw_hkey key;
};

bool qw_hmap_init(struct qw_hmap *m, size_t key_size, size_t val_size, uint32_t max);
void qw_hmap_free(struct qw_hmap *m);
/* Forget every entry; the memory is kept for the next batch. */
void qw_hmap_clear(struct qw_hmap *m);
/* The value for key, or NULL. */
void *qw_hmap_get(const struct qw_hmap *m, const void *key);
/* The value for key, inserted zeroed if new (`*added` set); NULL at the cap. */
void *qw_hmap_upsert(struct qw_hmap *m, const void *key, bool *added);
/* Remove key if present (true when it was). The last entry moves into the gap, so a map that
 * has had removals no longer iterates in insertion order, and value pointers into it are stale. */
bool qw_hmap_remove(struct qw_hmap *m, const void *key);
/* Iterate in insertion order: start with *pos = 0; returns false at the end. */
bool qw_hmap_next(const struct qw_hmap *m, uint32_t *pos, const void **key, void **val);
/* Bytes the map holds (index and entries). */
size_t qw_hmap_bytes(const struct qw_hmap *m);

#endif
