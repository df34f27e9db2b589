/* Pool of random bytes with precomputed checksum prefix sums.
 *
 * Camera video and SSH ciphertext are bulk random bytes; generating them and summing them for
 * the UDP/TCP checksum on every packet would dominate the run time of large captures. Instead
 * the bytes come from one seeded pool, and the sum of any even-offset, even-length slice is the
 * difference of two prefix sums: one memcpy and two loads per packet. */
#ifndef QW_SYNTH_PAYLOAD_H
#define QW_SYNTH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "synth/rng.h"

#define SY_POOL_BYTES (1u << 20)

struct sy_pool {
    uint8_t *bytes;   /* SY_POOL_BYTES random bytes */
    uint64_t *prefix; /* prefix[i] = sum of the first i big-endian 16-bit words */
};

int sy_pool_init(struct sy_pool *p, uint64_t seed);
void sy_pool_free(struct sy_pool *p);

/* Copies `len` random bytes (len even, at most SY_POOL_BYTES / 2) to dst and returns their
 * checksum sum, valid when dst sits at an even offset from the start of the checksummed area. */
uint64_t sy_pool_fill(const struct sy_pool *p, struct sy_rng *r, uint8_t *dst, size_t len);

#endif
