/* Hashing.
 *
 * SipHash (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012) is kept for values
 * that are written out and must be the same on every run (flow ids, with a fixed key) and for
 * parsers' content digests.
 *
 * In-memory hash tables (the flow table, the analysis maps) use qw_hash: a keyed multiply-mix
 * hash, several times cheaper than SipHash-1-3 on the 16-200 byte keys they hold. Each table
 * draws its key from the kernel at start-up, so which bucket a key lands in cannot be chosen
 * from the wire. Outputs never depend on the key: anything written out is ordered by time or
 * sorted, never by bucket order. */
#ifndef QW_UTIL_HASH_H
#define QW_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct qw_sipkey {
    uint64_t k0, k1;
};

uint64_t qw_siphash(const struct qw_sipkey *key, const void *data, size_t len);
/* SipHash-1-3: one compression and three finalisation rounds, about twice as fast on short
 * keys; for tables with a fixed key whose bucket choice should still be well spread. */
uint64_t qw_siphash13(const struct qw_sipkey *key, const void *data, size_t len);
/* Key of qw_hash: random per table (qw_hkey_random: from the kernel's getrandom, or from the
 * clock and an address when that fails). */
struct qw_hkey {
    uint64_t k[4];
};
void qw_hkey_random(struct qw_hkey *key);

/* Folded 64x64->128-bit product: every output bit depends on every input bit of both factors,
 * which is what spreads keys over buckets. */
static inline uint64_t qw_hash_mix(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

/* Host byte order: hash values never leave the process. */
static inline uint64_t qw_hash_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t qw_hash_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Hash of `len` bytes under `key`. Inline so that a constant `len` unrolls: table keys are
 * fixed-size structs. The length is mixed in, so the overlapping tail reads below cannot make
 * two lengths collide systematically. */
static inline uint64_t qw_hash(const struct qw_hkey *key, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t n = len;
    uint64_t h = key->k[0] ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull);
    while (n > 16) {
        h = qw_hash_mix(qw_hash_load64(p) ^ key->k[1], qw_hash_load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = qw_hash_load64(p);
        b = qw_hash_load64(p + n - 8);
    } else if (n >= 4) {
        a = qw_hash_load32(p);
        b = qw_hash_load32(p + n - 4);
    } else if (n > 0) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
    }
    h = qw_hash_mix(a ^ key->k[2], b ^ h);
    return qw_hash_mix(h ^ key->k[3], key->k[1] ^ (uint64_t)len);
}

#endif
