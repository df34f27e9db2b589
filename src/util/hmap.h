/* Open-addressing hash map of fixed-size keys and values, with a hard entry cap.
 *
 * Keys are compared as bytes (callers zero their padding) and hashed with a per-process SipHash
 * key. The table doubles until `max` entries; past that, inserts fail and are counted, so memory
 * stays bounded whatever the traffic. Iteration order is unspecified: callers that write output
 * sort or aggregate first. */
#ifndef QW_UTIL_HMAP_H
#define QW_UTIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hash.h"

struct qw_hmap {
    uint8_t *slots;
    size_t key_size, val_size, stride;
    uint32_t cap;   /* slots, a power of two */
    uint32_t count; /* entries in use */
    uint32_t max;   /* entry cap */
    uint64_t refused; /* inserts refused at the cap */
    struct qw_sipkey key;
};

bool qw_hmap_init(struct qw_hmap *m, size_t key_size, size_t val_size, uint32_t max);
void qw_hmap_free(struct qw_hmap *m);
void qw_hmap_clear(struct qw_hmap *m);
/* The value for key, or NULL. */
void *qw_hmap_get(const struct qw_hmap *m, const void *key);
/* The value for key, inserted zeroed if new (`*added` set); NULL at the cap. */
void *qw_hmap_upsert(struct qw_hmap *m, const void *key, bool *added);
/* Iterate: start with *pos = 0; returns false at the end. */
bool qw_hmap_next(const struct qw_hmap *m, uint32_t *pos, const void **key, void **val);

#endif
