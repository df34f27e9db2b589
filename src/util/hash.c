#include "util/hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* SipHash reads its message as little-endian 64-bit words (paper, s.2). */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define SIPROUND                                                                               \
    do {                                                                                       \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                             \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                 \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                 \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                             \
    } while (0)

/* SipHash-c-d: c compression rounds per 8-byte block, d finalisation rounds. */
static inline uint64_t siphash_cd(const struct qw_sipkey *key, const void *data, size_t len,
                                  int c, int d)
{
    /* initialisation constants: "somepseudorandomlygeneratedbytes" (paper, s.2) */
    uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
    uint64_t v3 = 0x7465646279746573ull ^ key->k1;
    const uint8_t *p = data;
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t m = load_le64(p + i * 8);
        v3 ^= m;
        for (int r = 0; r < c; r++) SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    const uint8_t *tail = p + blocks * 8;
    for (size_t i = 0; i < (len & 7); i++) last |= (uint64_t)tail[i] << (8 * i);
    v3 ^= last;
    for (int r = 0; r < c; r++) SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++) SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t qw_siphash(const struct qw_sipkey *key, const void *data, size_t len)
{
    return siphash_cd(key, data, len, 2, 4);
}

uint64_t qw_siphash13(const struct qw_sipkey *key, const void *data, size_t len)
{
    return siphash_cd(key, data, len, 1, 3);
}

/* `n` random words from the kernel; without getrandom, words from the clock and an address,
 * spread by the hash's own mixer (bucket choice then stays hard to aim at, if not secret). */
static void random_words(uint64_t *w, size_t n)
{
    uint8_t buf[64];
    size_t bytes = n * 8 <= sizeof buf ? n * 8 : sizeof buf;
    if (getrandom(buf, bytes, GRND_NONBLOCK) == (ssize_t)bytes) {
        for (size_t i = 0; i < n; i++) w[i] = load_le64(buf + 8 * (i % 8));
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)w;
    for (size_t i = 0; i < n; i++) {
        s += 0x9e3779b97f4a7c15ull;
        w[i] = qw_hash_mix(s, s ^ 0xbf58476d1ce4e5b9ull) | 1;
    }
}

void qw_hkey_random(struct qw_hkey *key)
{
    random_words(key->k, sizeof key->k / sizeof key->k[0]);
}
