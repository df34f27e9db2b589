/* SipHash (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012).
 *
 * Tables keyed by attacker-chosen values (flow 5-tuples, addresses) use it with a per-process
 * random key, so nobody can aim traffic at one bucket. Outputs never depend on the key: anything
 * written out is ordered by time or sorted, not by hash order. */
#ifndef QW_UTIL_HASH_H
#define QW_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

struct qw_sipkey {
    uint64_t k0, k1;
};

uint64_t qw_siphash(const struct qw_sipkey *key, const void *data, size_t len);
/* SipHash-1-3: the same construction with one compression and three finalisation rounds, about
 * twice as fast on short keys. Hash tables on the packet path use it (as Rust's and Python's do):
 * with a secret random key it still keeps bucket choice out of an attacker's reach; flow ids,
 * which are written out, keep SipHash-2-4. */
uint64_t qw_siphash13(const struct qw_sipkey *key, const void *data, size_t len);
/* A random key from the kernel (getrandom); falls back to a time-based key if unavailable. */
void qw_sipkey_random(struct qw_sipkey *key);

#endif
