/* Structs made only of 64-bit counters (flow, reassembly, decoder and cap statistics), summed
 * over engines field by field without listing the fields: a counter added to such a struct is
 * summed too. Each struct so summed is checked by QW_COUNTERS_ONLY where it is declared. */
#ifndef QW_UTIL_COUNTERS_H
#define QW_UTIL_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* `type` holds `n` fields, all 64-bit counters (no padding, nothing else). */
#define QW_COUNTERS_ONLY(type, n) \
    _Static_assert(sizeof(type) == (n) * sizeof(uint64_t), #type " must be 64-bit counters only")

static inline void qw_counters_add(void *sum, const void *part, size_t size)
{
    uint8_t *s = sum;
    const uint8_t *p = part;
    for (size_t i = 0; i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) {
        uint64_t a, b;
        memcpy(&a, s + i, sizeof a);
        memcpy(&b, p + i, sizeof b);
        a += b;
        memcpy(s + i, &a, sizeof a);
    }
}

#endif
