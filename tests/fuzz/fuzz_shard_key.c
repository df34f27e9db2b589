/* Fuzz harness for the worker shard key (src/decode/shard_key.c): the capture thread reads it
 * from every raw frame before any decoding, so every byte is hostile. The input is one frame,
 * read under each supported link type; the invariants: the worker is in range for every worker
 * count, the answer does not change between calls, and a frame without IP goes to worker 0.
 * The replay driver feeds every frame of the whole corpus (and its mutations). */
#include <stdint.h>
#include <stdlib.h>

#include "decode/shard_key.h"
#include "fuzz.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = NULL; /* every folder */

static const int linktypes[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    for (size_t i = 0; i < sizeof linktypes / sizeof linktypes[0]; i++) {
        bool ip = false, again = true;
        uint64_t h = qw_shard_hash(linktypes[i], data, len, &ip);
        if (qw_shard_hash(linktypes[i], data, len, &again) != h || again != ip) abort();
        if (!ip && h != 0) abort();
        for (unsigned n = 1; n <= 8; n++) {
            unsigned w = qw_shard_of(linktypes[i], data, len, n, (uint32_t)(h >> 40) * n);
            if (w >= n) abort();
            if (!ip && w != 0) abort();
        }
    }
    return 0;
}
