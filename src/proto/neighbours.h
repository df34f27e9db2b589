/* The neighbour table of the link-layer discovery protocols (LLDP, CDP): devices announce
 * themselves every few seconds, so each neighbour (a digest of who sent it) keeps the digest of
 * its last announcement, and a frame becomes a transaction only when it is new or its content
 * changed; repeats are counted. Bounded: past QW_NEIGH_MAX the least recently heard neighbour
 * is replaced and one anomaly says the table filled. */
#ifndef QW_PROTO_NEIGHBOURS_H
#define QW_PROTO_NEIGHBOURS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/pctx.h"

#define QW_NEIGH_MAX 256

struct qw_neigh {
    bool used;
    uint64_t key;     /* digest of the sender's identity (protocol-specific) */
    uint64_t content; /* digest of its last announcement */
    uint64_t last_ns;
    uint32_t frames, repeats;
};

struct qw_neigh_table {
    bool full_reported;
    struct qw_neigh e[QW_NEIGH_MAX];
};

/* A frame from neighbour `key` with content digest `content` at `now`: the neighbour's entry,
 * with *event "new" or "changed", or NULL when it repeats the last content (counted). Raises
 * `full_anomaly` once when an entry has to be replaced. */
struct qw_neigh *qw_neigh_see(struct qw_neigh_table *t, struct qw_pctx *ctx,
                              const char *full_anomaly, uint64_t key, uint64_t content,
                              uint64_t now, const char **event);

#endif
