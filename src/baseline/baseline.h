/* The baseline: what the site looked like when someone said "this is normal", and the typed
 * differences from it.
 *
 * It lives in the store (tables baseline_assets and baseline_edges, schema.c) and as text
 * (export/import, yaml.c) so that a person can review it and sign it off like code. Learning
 * (`analyze --learn`, `baseline accept`) copies the current inventory in; diffing compares the
 * current inventory (src/inventory/) with it and types every difference (docs/baseline.md). */
#ifndef QW_BASELINE_BASELINE_H
#define QW_BASELINE_BASELINE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inventory/inventory.h"

#define QW_BL_TEXT 128

struct qw_bl_asset {
    char id[64];
    char macs[160];  /* sorted, space-separated */
    char ips[256];   /* sorted, space-separated */
    char vendor[QW_BL_TEXT], model[QW_BL_TEXT], firmware[QW_BL_TEXT], serial[QW_BL_TEXT];
    char roles[128]; /* sorted, comma-separated */
    uint64_t learned_ns;
};

struct qw_bl_edge {
    char client[64], server[64];
    char app[24];
    char transport[4]; /* tcp, udp */
    uint16_t port;
    uint32_t ops;      /* qw_op bits accepted on this edge */
    uint64_t learned_ns;
};

struct qw_baseline {
    struct qw_bl_asset *assets;
    size_t nassets;
    struct qw_bl_edge *edges;
    size_t nedges;
};

/* Change kinds (issue vocabulary; docs/baseline.md). */
enum qw_change_kind {
    QW_CH_ASSET_NEW,
    QW_CH_ASSET_GONE,
    QW_CH_ASSET_MAC_CHANGED,
    QW_CH_ASSET_VENDOR_CHANGED,
    QW_CH_ASSET_IDENTITY_CHANGED,
    QW_CH_ASSET_ROLE_CHANGED,
    QW_CH_COMM_NEW_EDGE,
    QW_CH_COMM_NEW_PROTOCOL,
    QW_CH_COMM_NEW_OPERATION,
    QW_CH_KIND_COUNT
};

extern const char *const qw_change_kind_names[QW_CH_KIND_COUNT];
/* The kind named `name`, or -1. */
int qw_change_kind_parse(const char *name);

struct qw_change {
    enum qw_change_kind kind;
    char asset[64];          /* the asset it touches (for edges, the server end) */
    char peer[64];           /* edges: the client end */
    char attr[16];           /* identity changes: model, firmware or serial */
    char old_value[256], new_value[256];
    char detail[512];        /* edges: proto/transport/port and operations */
    char ip[46];             /* an address of the asset, for zone and owner lookups */
    uint64_t when_ns;        /* when the traffic first showed it */
    /* edges: what an accept folds in */
    struct qw_bl_edge edge;
};

struct qw_changes {
    struct qw_change *v;
    size_t n;
};

/* Load the baseline from the store (empty when never learned). */
bool qw_baseline_load(struct qw_baseline *bl, sqlite3 *db, char *err, size_t errlen);
void qw_baseline_free(struct qw_baseline *bl);
bool qw_baseline_empty(const struct qw_baseline *bl);

/* Typed differences between the inventory and the baseline. An asset not seen for `gone_ns`
 * before `now_ns` (the newest packet time in the store) is asset.gone. Sorted by time. */
bool qw_baseline_diff(const struct qw_baseline *bl, const struct qw_inventory *inv, sqlite3 *db,
                      uint64_t now_ns, uint64_t gone_ns, struct qw_changes *out);
void qw_changes_free(struct qw_changes *c);

/* Fold the whole inventory into the baseline (learn), or only the listed changes (accept).
 * One transaction; false with a message on error. */
bool qw_baseline_learn(sqlite3 *db, const struct qw_inventory *inv, char *err, size_t errlen);
bool qw_baseline_accept(sqlite3 *db, const struct qw_inventory *inv, const struct qw_changes *c,
                        char *err, size_t errlen);

/* Replace the store's baseline with `bl` (import). */
bool qw_baseline_store(sqlite3 *db, const struct qw_baseline *bl, char *err, size_t errlen);

/* Text form (yaml.c): stable, sorted, one fact per line where it can be. */
bool qw_baseline_export(const struct qw_baseline *bl, FILE *out);
/* Parse and validate a baseline file; errors are "FILE:LINE:COL: message" on stderr. */
bool qw_baseline_import(const char *path, struct qw_baseline *bl);

/* The newest packet time in the store (0 when empty). */
uint64_t qw_store_last_packet_ns(sqlite3 *db);

#endif
