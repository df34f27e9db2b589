/* Random payload pool; see payload.h. */
#include "synth/payload.h"

#include <stdlib.h>
#include <string.h>

int sy_pool_init(struct sy_pool *p, uint64_t seed)
{
    p->bytes = malloc(SY_POOL_BYTES);
    p->prefix = malloc((SY_POOL_BYTES / 2 + 1) * sizeof *p->prefix);
    if (!p->bytes || !p->prefix) {
        sy_pool_free(p);
        return -1;
    }
    struct sy_rng r;
    sy_rng_seed(&r, seed ^ 0x706f6f6c); /* its own stream, independent of the event order */
    for (size_t i = 0; i < SY_POOL_BYTES; i += 8) {
        uint64_t v = sy_rand(&r);
        for (int k = 0; k < 8; k++) p->bytes[i + (size_t)k] = (uint8_t)(v >> (8 * k));
    }
    p->prefix[0] = 0;
    for (size_t w = 0; w < SY_POOL_BYTES / 2; w++)
        p->prefix[w + 1] = p->prefix[w] + ((uint32_t)p->bytes[2 * w] << 8 | p->bytes[2 * w + 1]);
    return 0;
}

void sy_pool_free(struct sy_pool *p)
{
    free(p->bytes);
    free(p->prefix);
    p->bytes = NULL;
    p->prefix = NULL;
}

uint64_t sy_pool_fill(const struct sy_pool *p, struct sy_rng *r, uint8_t *dst, size_t len)
{
    size_t words = len / 2;
    size_t start = (size_t)sy_range(r, 0, SY_POOL_BYTES / 2 - words); /* word index */
    memcpy(dst, p->bytes + 2 * start, 2 * words);
    return p->prefix[start + words] - p->prefix[start];
}
