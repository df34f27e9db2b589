/* Edges between assets, from the store's address-level edges and per-operation times. */
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "inventory/inventory.h"

static int cmp_edge(const void *x, const void *y)
{
    const struct qw_inv_edge *a = x, *b = y;
    if (a->client != b->client) return a->client < b->client ? -1 : 1;
    if (a->server != b->server) return a->server < b->server ? -1 : 1;
    if (a->port != b->port) return a->port < b->port ? -1 : 1;
    if (a->l4proto != b->l4proto) return a->l4proto < b->l4proto ? -1 : 1;
    return strcmp(a->app, b->app);
}

/* Linear probing would do; a sorted insert keeps it simple and the output ordered. */
static struct qw_inv_edge *edge_for(struct qw_inv_edges *e, size_t *cap,
                                    const struct qw_inv_edge *key)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_edge(&e->v[mid], key);
        if (r == 0) return &e->v[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (e->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct qw_inv_edge *p = realloc(e->v, nc * sizeof *p);
        if (!p) return NULL;
        e->v = p;
        *cap = nc;
    }
    memmove(&e->v[lo + 1], &e->v[lo], (e->n - lo) * sizeof *e->v);
    e->n++;
    e->v[lo] = *key;
    return &e->v[lo];
}

static bool resolve(const struct qw_inventory *inv, sqlite3_stmt *st, struct qw_inv_edge *key)
{
    int vlan = sqlite3_column_int(st, 0);
    const struct qw_asset *c =
        qw_inventory_find_ip(inv, (const char *)sqlite3_column_text(st, 1), vlan);
    const struct qw_asset *s = qw_inventory_find_ip(inv, (const char *)sqlite3_column_text(st, 2), -1);
    if (!c || !s) return false;
    memset(key, 0, sizeof *key);
    key->client = (uint32_t)(c - inv->assets);
    key->server = (uint32_t)(s - inv->assets);
    const unsigned char *app = sqlite3_column_text(st, 5);
    strncpy(key->app, app ? (const char *)app : "", sizeof key->app - 1);
    key->l4proto = (uint8_t)sqlite3_column_int(st, 3);
    key->port = (uint16_t)sqlite3_column_int(st, 4);
    return true;
}

bool qw_inventory_edges(const struct qw_inventory *inv, sqlite3 *db, struct qw_inv_edges *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT vlan, client_ip, server_ip, proto, server_port, app_proto,"
                           " flows, packets, bytes, first_seen, last_seen, ops FROM edges ORDER BY vlan,"
                           " client_ip, server_ip, proto, server_port, app_proto",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    struct qw_inv_edge key;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!resolve(inv, st, &key)) continue;
        struct qw_inv_edge *x = edge_for(out, &cap, &key);
        if (!x) break;
        x->flows += (uint64_t)sqlite3_column_int64(st, 6);
        x->pkts += (uint64_t)sqlite3_column_int64(st, 7);
        x->bytes += (uint64_t)sqlite3_column_int64(st, 8);
        uint64_t f = (uint64_t)sqlite3_column_int64(st, 9), l = (uint64_t)sqlite3_column_int64(st, 10);
        if (f && (!x->first_ns || f < x->first_ns)) x->first_ns = f;
        if (l > x->last_ns) x->last_ns = l;
        x->ops |= (uint32_t)sqlite3_column_int64(st, 11);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT vlan, client_ip, server_ip, proto, server_port, app_proto, op,"
                           " first_seen FROM edge_ops ORDER BY vlan, client_ip, server_ip, proto,"
                           " server_port, app_proto, op",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!resolve(inv, st, &key)) continue;
        struct qw_inv_edge *x = edge_for(out, &cap, &key);
        if (!x) break;
        const char *op = (const char *)sqlite3_column_text(st, 6);
        uint64_t f = (uint64_t)sqlite3_column_int64(st, 7);
        for (unsigned b = 0; op && b < 15; b++) {
            if (strcmp(op, qw_op_names[b]) != 0) continue;
            x->ops |= 1u << b;
            if (f && (!x->op_first_ns[b] || f < x->op_first_ns[b])) x->op_first_ns[b] = f;
        }
    }
    sqlite3_finalize(st);
    return true;
}

void qw_inventory_edges_free(struct qw_inv_edges *e)
{
    free(e->v);
    memset(e, 0, sizeof *e);
}
