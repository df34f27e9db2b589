/* Seeded pseudo-random numbers for the synthetic capture generator.
 *
 * xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64: fast, small state, and the
 * same sequence on every platform, which is what makes `quaywatch synth` byte-reproducible. Not
 * for cryptography; nothing here needs to be unpredictable, only repeatable. */
#ifndef QW_SYNTH_RNG_H
#define QW_SYNTH_RNG_H

#include <stddef.h>
#include <stdint.h>

struct sy_rng {
    uint64_t s[4];
};

static inline uint64_t sy_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void sy_rng_seed(struct sy_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = sy_splitmix64(&x);
}

static inline uint64_t sy_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t sy_rand(struct sy_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = sy_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sy_rotl(s[3], 45);
    return out;
}

/* Uniform-enough integer in [lo, hi] (inclusive) for spans below 2^32: the multiply-shift
 * mapping has a bias of at most span/2^32, irrelevant for jitter and choices. */
static inline uint64_t sy_range(struct sy_rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    uint64_t x = sy_rand(r) >> 32;
    return lo + ((x * span) >> 32);
}

/* True with probability num/den. */
static inline int sy_chance(struct sy_rng *r, uint32_t num, uint32_t den)
{
    return sy_range(r, 0, den - 1) < num;
}

/* n random bytes, one draw each (its top byte). */
static inline void sy_rand_bytes(struct sy_rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(sy_rand(r) >> 56);
}

/* Mixes a value into a well-spread 64-bit hash; used for per-device constants that must not
 * depend on the seed (MAC addresses, ephemeral port bases). */
static inline uint64_t sy_mix(uint64_t v)
{
    return sy_splitmix64(&v);
}

#endif
