/* Baseline storage, learning and the typed diff (baseline.h, docs/baseline.md). */
#include "baseline/baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/packet.h"
#include "engine/emit.h"

const char *const qw_change_kind_names[QW_CH_KIND_COUNT] = {
    "asset.new",          "asset.gone",         "asset.mac_changed",
    "asset.vendor_changed", "asset.identity_changed", "asset.role_changed",
    "comm.new_edge",      "comm.new_protocol",  "comm.new_operation",
};

int qw_change_kind_parse(const char *name)
{
    for (int i = 0; i < QW_CH_KIND_COUNT; i++)
        if (strcmp(name, qw_change_kind_names[i]) == 0) return i;
    return -1;
}

static void *grow(void *arr_ptr, size_t n, size_t *cap, size_t size)
{
    void **arr = arr_ptr;
    if (n < *cap) return *arr;
    size_t nc = *cap ? *cap * 2 : 32;
    void *p = realloc(*arr, nc * size);
    if (!p) return NULL;
    *arr = p;
    *cap = nc;
    return p;
}

static void text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* ---- the inventory's view of an asset, as the baseline keeps it ---------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct strings, sorted, joined with `sep`. */
static void join_sorted(const char **v, size_t n, char sep, char *out, size_t cap)
{
    qsort(v, n, sizeof *v, cmp_str);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(v[i], v[i - 1]) == 0) continue;
        int w = snprintf(out + len, cap - len, "%s%s", len ? (char[]){sep, 0} : "", v[i]);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
}

static void asset_view(const struct qw_asset *a, struct qw_bl_asset *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", a->id);
    const char *v[64];
    char macs[16][18];
    size_t n = 0;
    for (size_t i = 0; i < a->nmacs && n < 16; i++) v[n] = qw_mac_str(a->macs[i].mac, macs[n]), n++;
    join_sorted(v, n, ' ', out->macs, sizeof out->macs);
    n = 0;
    for (size_t i = 0; i < a->nips && n < 64; i++) v[n++] = a->ips[i].ip;
    join_sorted(v, n, ' ', out->ips, sizeof out->ips);
    snprintf(out->vendor, sizeof out->vendor, "%s", a->vendor ? a->vendor : "");
    snprintf(out->model, sizeof out->model, "%s", a->model ? a->model : "");
    snprintf(out->firmware, sizeof out->firmware, "%s", a->firmware ? a->firmware : "");
    snprintf(out->serial, sizeof out->serial, "%s", a->serial ? a->serial : "");
    n = 0;
    for (size_t i = 0; i < a->nroles && n < 64; i++)
        if (strcmp(a->roles[i].role, "unknown") != 0) v[n++] = a->roles[i].role;
    join_sorted(v, n, ',', out->roles, sizeof out->roles);
    out->learned_ns = a->last_ns;
}

static void edge_view(const struct qw_inventory *inv, const struct qw_inv_edge *e,
                      struct qw_bl_edge *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->client, sizeof out->client, "%s", inv->assets[e->client].id);
    snprintf(out->server, sizeof out->server, "%s", inv->assets[e->server].id);
    snprintf(out->app, sizeof out->app, "%s", e->app[0] ? e->app : "unknown");
    snprintf(out->transport, sizeof out->transport, "%s",
             e->l4proto == 6 ? "tcp" : e->l4proto == 17 ? "udp" : "ip");
    out->port = e->port;
    out->ops = e->ops;
    out->learned_ns = e->last_ns;
}

/* ---- store I/O ------------------------------------------------------------------------------ */

bool qw_baseline_load(struct qw_baseline *bl, sqlite3 *db, char *err, size_t errlen)
{
    memset(bl, 0, sizeof *bl);
    sqlite3_stmt *st;
    size_t cap = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, macs, ips, vendor, model, firmware, serial, roles, learned"
                           " FROM baseline_assets ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!grow(&bl->assets, bl->nassets, &cap, sizeof *bl->assets)) break;
        struct qw_bl_asset *a = &bl->assets[bl->nassets++];
        text(a->id, sizeof a->id, sqlite3_column_text(st, 0));
        text(a->macs, sizeof a->macs, sqlite3_column_text(st, 1));
        text(a->ips, sizeof a->ips, sqlite3_column_text(st, 2));
        text(a->vendor, sizeof a->vendor, sqlite3_column_text(st, 3));
        text(a->model, sizeof a->model, sqlite3_column_text(st, 4));
        text(a->firmware, sizeof a->firmware, sqlite3_column_text(st, 5));
        text(a->serial, sizeof a->serial, sqlite3_column_text(st, 6));
        text(a->roles, sizeof a->roles, sqlite3_column_text(st, 7));
        a->learned_ns = (uint64_t)sqlite3_column_int64(st, 8);
    }
    sqlite3_finalize(st);
    cap = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT client, server, app_proto, transport, port, ops, learned"
                           " FROM baseline_edges ORDER BY client, server, port, transport,"
                           " app_proto",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!grow(&bl->edges, bl->nedges, &cap, sizeof *bl->edges)) break;
        struct qw_bl_edge *e = &bl->edges[bl->nedges++];
        text(e->client, sizeof e->client, sqlite3_column_text(st, 0));
        text(e->server, sizeof e->server, sqlite3_column_text(st, 1));
        text(e->app, sizeof e->app, sqlite3_column_text(st, 2));
        text(e->transport, sizeof e->transport, sqlite3_column_text(st, 3));
        e->port = (uint16_t)sqlite3_column_int(st, 4);
        e->ops = (uint32_t)sqlite3_column_int64(st, 5);
        e->learned_ns = (uint64_t)sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    return true;
fail:
    snprintf(err, errlen, "reading the baseline: %s", sqlite3_errmsg(db));
    qw_baseline_free(bl);
    return false;
}

void qw_baseline_free(struct qw_baseline *bl)
{
    free(bl->assets);
    free(bl->edges);
    memset(bl, 0, sizeof *bl);
}

bool qw_baseline_empty(const struct qw_baseline *bl)
{
    return bl->nassets == 0 && bl->nedges == 0;
}

static bool put_asset(sqlite3 *db, const struct qw_bl_asset *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO baseline_assets (id, macs, ips, vendor, model,"
                           " firmware, serial, roles, learned) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    const char *v[8] = {a->id, a->macs, a->ips, a->vendor, a->model, a->firmware, a->serial,
                        a->roles};
    for (int i = 0; i < 8; i++) sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (int64_t)a->learned_ns);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok;
}

/* Insert an edge, or add its operations to the one the baseline has. */
static bool put_edge(sqlite3 *db, const struct qw_bl_edge *e, bool merge_ops)
{
    sqlite3_stmt *st;
    const char *sql =
        merge_ops ? "INSERT INTO baseline_edges (client, server, app_proto, transport, port, ops,"
                    " learned) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (client, server,"
                    " app_proto, transport, port) DO UPDATE SET ops = ops | excluded.ops,"
                    " learned = max(learned, excluded.learned)"
                  : "INSERT OR REPLACE INTO baseline_edges (client, server, app_proto, transport,"
                    " port, ops, learned) VALUES (?1,?2,?3,?4,?5,?6,?7)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return false;
    sqlite3_bind_text(st, 1, e->client, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->server, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, e->app, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->transport, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, e->port);
    sqlite3_bind_int64(st, 6, e->ops);
    sqlite3_bind_int64(st, 7, (int64_t)e->learned_ns);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok;
}

static bool exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static bool finish(sqlite3 *db, bool ok, char *err, size_t errlen)
{
    if (ok && exec(db, "COMMIT")) return true;
    snprintf(err, errlen, "writing the baseline: %s", sqlite3_errmsg(db));
    exec(db, "ROLLBACK");
    return false;
}

bool qw_baseline_learn(sqlite3 *db, const struct qw_inventory *inv, char *err, size_t errlen)
{
    struct qw_inv_edges edges;
    if (!qw_inventory_edges(inv, db, &edges)) {
        snprintf(err, errlen, "reading edges: %s", sqlite3_errmsg(db));
        return false;
    }
    bool ok = exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; ok && i < inv->nassets; i++) {
        struct qw_bl_asset a;
        asset_view(&inv->assets[i], &a);
        ok = put_asset(db, &a);
    }
    for (size_t i = 0; ok && i < edges.n; i++) {
        struct qw_bl_edge e;
        edge_view(inv, &edges.v[i], &e);
        ok = put_edge(db, &e, true);
    }
    qw_inventory_edges_free(&edges);
    return finish(db, ok, err, errlen);
}

bool qw_baseline_store(sqlite3 *db, const struct qw_baseline *bl, char *err, size_t errlen)
{
    bool ok = exec(db, "BEGIN IMMEDIATE") && exec(db, "DELETE FROM baseline_assets") &&
              exec(db, "DELETE FROM baseline_edges");
    for (size_t i = 0; ok && i < bl->nassets; i++) ok = put_asset(db, &bl->assets[i]);
    for (size_t i = 0; ok && i < bl->nedges; i++) ok = put_edge(db, &bl->edges[i], false);
    return finish(db, ok, err, errlen);
}

bool qw_baseline_accept(sqlite3 *db, const struct qw_inventory *inv, const struct qw_changes *c,
                        char *err, size_t errlen)
{
    bool ok = exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; ok && i < c->n; i++) {
        const struct qw_change *ch = &c->v[i];
        if (ch->kind == QW_CH_COMM_NEW_EDGE || ch->kind == QW_CH_COMM_NEW_PROTOCOL ||
            ch->kind == QW_CH_COMM_NEW_OPERATION) {
            ok = put_edge(db, &ch->edge, true);
            continue;
        }
        sqlite3_stmt *st;
        if (ch->kind == QW_CH_ASSET_GONE || ch->kind == QW_CH_ASSET_MAC_CHANGED) {
            /* the old asset leaves the baseline (for a MAC change, its successor comes in) */
            const char *old = ch->kind == QW_CH_ASSET_GONE ? ch->asset : ch->peer;
            ok = sqlite3_prepare_v2(db, "DELETE FROM baseline_assets WHERE id = ?1", -1, &st,
                                    NULL) == SQLITE_OK;
            if (!ok) break;
            sqlite3_bind_text(st, 1, old, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_finalize(st);
            if (ch->kind == QW_CH_ASSET_GONE) continue;
        }
        for (size_t k = 0; ok && k < inv->nassets; k++) {
            if (strcmp(inv->assets[k].id, ch->asset) != 0) continue;
            struct qw_bl_asset a;
            asset_view(&inv->assets[k], &a);
            ok = put_asset(db, &a);
        }
    }
    return finish(db, ok, err, errlen);
}

uint64_t qw_store_last_packet_ns(sqlite3 *db)
{
    sqlite3_stmt *st;
    uint64_t t = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(last_seen) FROM runs", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW) t = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return t;
}

/* ---- the diff ------------------------------------------------------------------------------- */

static struct qw_change *add(struct qw_changes *out, size_t *cap, enum qw_change_kind kind,
                             const char *asset, uint64_t when)
{
    if (!grow(&out->v, out->n, cap, sizeof *out->v)) return NULL;
    struct qw_change *c = &out->v[out->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    snprintf(c->asset, sizeof c->asset, "%s", asset);
    c->when_ns = when;
    return c;
}

/* Baseline assets are kept sorted by id (load orders them, import sorts them). */
static const struct qw_bl_asset *bl_asset(const struct qw_baseline *bl, const char *id)
{
    size_t lo = 0, hi = bl->nassets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(bl->assets[mid].id, id);
        if (r == 0) return &bl->assets[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct qw_asset *inv_asset(const struct qw_inventory *inv, const char *id)
{
    return qw_inventory_find_id(inv, id);
}

/* Does the space-separated list `list` hold `word`? */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' ||
                                                            p[n] == ','))
            return true;
    return false;
}

/* When the asset first reported `attr` = `value` (the change's time), else its first time. */
static uint64_t fact_time(const struct qw_asset *a, const char *const *attrs, const char *value)
{
    uint64_t t = 0;
    for (size_t i = 0; i < a->nfacts; i++) {
        const struct qw_inv_fact *f = &a->facts[i];
        bool match = false;
        for (int k = 0; attrs[k]; k++) match |= strcmp(f->attr, attrs[k]) == 0;
        if (!match || strcmp(f->value, value) != 0 || strcmp(f->source, "oui") == 0) continue;
        if (!t || f->first_ns < t) t = f->first_ns;
    }
    return t ? t : a->first_ns;
}

/* The value of attrs the asset reported last before `cur` first appeared, if that was after
 * `since` (the baseline's learning); NULL otherwise. */
static const char *previous_value(const struct qw_asset *a, const char *const *attrs,
                                  const char *cur, uint64_t since)
{
    uint64_t cur_first = fact_time(a, attrs, cur);
    const struct qw_inv_fact *best = NULL;
    for (size_t i = 0; i < a->nfacts; i++) {
        const struct qw_inv_fact *f = &a->facts[i];
        bool match = false;
        for (int k = 0; attrs[k]; k++) match |= strcmp(f->attr, attrs[k]) == 0;
        if (!match || strcmp(f->source, "oui") == 0 || strcmp(f->value, cur) == 0) continue;
        if (f->first_ns >= cur_first || f->last_ns < since) continue;
        if (!best || f->last_ns > best->last_ns) best = f;
    }
    return best ? best->value : NULL;
}

static const char *first_ip(const struct qw_asset *a)
{
    return a->nips ? a->ips[0].ip : "";
}

static void diff_identity(const struct qw_bl_asset *b, const struct qw_asset *a,
                          struct qw_changes *out, size_t *cap)
{
    struct qw_bl_asset now;
    asset_view(a, &now);
    static const char *const model[] = {"model", "product_name", "model_name", NULL};
    static const char *const firmware[] = {"firmware", "revision", NULL};
    static const char *const serial[] = {"serial", NULL};
    static const char *const vendor[] = {"vendor", "vendor_name", NULL};
    const struct {
        const char *attr, *old, *cur;
        const char *const *attrs;
    } ids[] = {
        {"model", b->model, now.model, model},
        {"firmware", b->firmware, now.firmware, firmware},
        {"serial", b->serial, now.serial, serial},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (!ids[i].cur[0]) continue;
        const char *old = ids[i].old;
        if (!old[0]) {
            /* The baseline never knew this value. A first value is news, not a change; but
             * if the device said something else after the baseline was learnt and then
             * changed, that is a change from what it said. */
            old = previous_value(a, ids[i].attrs, ids[i].cur, b->learned_ns);
            if (!old) continue;
        }
        if (strcmp(old, ids[i].cur) == 0) continue;
        struct qw_change *c = add(out, cap, QW_CH_ASSET_IDENTITY_CHANGED, a->id,
                                  fact_time(a, ids[i].attrs, ids[i].cur));
        if (!c) return;
        snprintf(c->attr, sizeof c->attr, "%s", ids[i].attr);
        snprintf(c->old_value, sizeof c->old_value, "%s", old);
        snprintf(c->new_value, sizeof c->new_value, "%s", ids[i].cur);
        snprintf(c->ip, sizeof c->ip, "%s", first_ip(a));
    }
    if (b->vendor[0] && now.vendor[0] && strcasecmp(b->vendor, now.vendor) != 0) {
        uint64_t t = a->vendor ? fact_time(a, vendor, a->vendor) : a->first_ns;
        struct qw_change *c = add(out, cap, QW_CH_ASSET_VENDOR_CHANGED, a->id, t);
        if (!c) return;
        snprintf(c->old_value, sizeof c->old_value, "%s", b->vendor);
        snprintf(c->new_value, sizeof c->new_value, "%s", now.vendor);
        snprintf(c->ip, sizeof c->ip, "%s", first_ip(a));
    }
    /* roles learnt where the baseline had none are news, not a change */
    if (strcmp(b->roles, now.roles) != 0 && now.roles[0] && b->roles[0]) {
        struct qw_change *c = add(out, cap, QW_CH_ASSET_ROLE_CHANGED, a->id, a->first_ns);
        if (!c) return;
        snprintf(c->old_value, sizeof c->old_value, "%s", b->roles);
        snprintf(c->new_value, sizeof c->new_value, "%s", now.roles);
        snprintf(c->ip, sizeof c->ip, "%s", first_ip(a));
    }
}

static void ops_words(uint32_t ops, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned b = 0; b < 15; b++) {
        if (!(ops & (1u << b))) continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", qw_op_names[b]);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

static void diff_edges(const struct qw_baseline *bl, const struct qw_inventory *inv,
                       const struct qw_inv_edges *edges, struct qw_changes *out, size_t *cap)
{
    for (size_t i = 0; i < edges->n; i++) {
        const struct qw_inv_edge *e = &edges->v[i];
        struct qw_bl_edge now;
        edge_view(inv, e, &now);
        const struct qw_bl_edge *same = NULL;
        bool pair_known = false;
        for (size_t k = 0; k < bl->nedges; k++) {
            const struct qw_bl_edge *b = &bl->edges[k];
            if (strcmp(b->client, now.client) || strcmp(b->server, now.server)) continue;
            pair_known = true;
            if (b->port == now.port && strcmp(b->transport, now.transport) == 0 &&
                strcmp(b->app, now.app) == 0)
                same = b;
        }
        char ops[160];
        const struct qw_asset *srv = &inv->assets[e->server];
        if (!same) {
            struct qw_change *c = add(out, cap,
                                      pair_known ? QW_CH_COMM_NEW_PROTOCOL : QW_CH_COMM_NEW_EDGE,
                                      now.server, e->first_ns);
            if (!c) return;
            snprintf(c->peer, sizeof c->peer, "%s", now.client);
            ops_words(now.ops, ops, sizeof ops);
            snprintf(c->detail, sizeof c->detail, "%s/%s/%u%s%s", now.app, now.transport,
                     now.port, ops[0] ? " ops " : "", ops);
            snprintf(c->ip, sizeof c->ip, "%s", first_ip(srv));
            c->edge = now;
            continue;
        }
        uint32_t fresh = now.ops & ~same->ops;
        for (unsigned b = 0; fresh && b < 15; b++) {
            if (!(fresh & (1u << b))) continue;
            uint64_t t = e->op_first_ns[b] ? e->op_first_ns[b] : e->first_ns;
            struct qw_change *c = add(out, cap, QW_CH_COMM_NEW_OPERATION, now.server, t);
            if (!c) return;
            snprintf(c->peer, sizeof c->peer, "%s", now.client);
            snprintf(c->detail, sizeof c->detail, "%s/%s/%u op %s", now.app, now.transport,
                     now.port, qw_op_names[b]);
            snprintf(c->new_value, sizeof c->new_value, "%s", qw_op_names[b]);
            snprintf(c->ip, sizeof c->ip, "%s", first_ip(srv));
            c->edge = *same;
            c->edge.ops |= 1u << b;
        }
    }
}

static int cmp_change(const void *x, const void *y)
{
    const struct qw_change *a = x, *b = y;
    if (a->when_ns != b->when_ns) return a->when_ns < b->when_ns ? -1 : 1;
    if (a->kind != b->kind) return (int)a->kind - (int)b->kind;
    int r = strcmp(a->asset, b->asset);
    return r ? r : strcmp(a->detail, b->detail);
}

bool qw_baseline_diff(const struct qw_baseline *bl, const struct qw_inventory *inv, sqlite3 *db,
                      uint64_t now_ns, uint64_t gone_ns, struct qw_changes *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    bool *replaced = calloc(bl->nassets ? bl->nassets : 1, sizeof *replaced);
    if (!replaced) return false;
    for (size_t i = 0; i < inv->nassets; i++) {
        const struct qw_asset *a = &inv->assets[i];
        const struct qw_bl_asset *b = bl_asset(bl, a->id);
        if (b) {
            diff_identity(b, a, out, &cap);
            continue;
        }
        /* New id. If one of its addresses belonged to a baseline asset that no longer holds
         * it, the device behind the address was swapped: a MAC change, not a new asset. */
        const struct qw_bl_asset *prev = NULL;
        const char *ip = NULL;
        uint64_t t = a->first_ns;
        for (size_t k = 0; k < a->nips && !prev; k++)
            for (size_t j = 0; j < bl->nassets; j++) {
                if (!has_word(bl->assets[j].ips, a->ips[k].ip)) continue;
                const struct qw_asset *still = inv_asset(inv, bl->assets[j].id);
                bool kept = false;
                for (size_t m = 0; still && m < still->nips; m++)
                    kept |= strcmp(still->ips[m].ip, a->ips[k].ip) == 0 &&
                            still->ips[m].last_ns >= a->ips[k].first_ns;
                if (kept) continue;
                prev = &bl->assets[j];
                replaced[j] = true;
                ip = a->ips[k].ip;
                t = a->ips[k].first_ns;
                break;
            }
        struct qw_change *c = add(out, &cap, prev ? QW_CH_ASSET_MAC_CHANGED : QW_CH_ASSET_NEW,
                                  a->id, t);
        if (!c) break;
        snprintf(c->ip, sizeof c->ip, "%s", ip ? ip : first_ip(a));
        struct qw_bl_asset now;
        asset_view(a, &now);
        snprintf(c->new_value, sizeof c->new_value, "%s", now.macs[0] ? now.macs : now.ips);
        if (prev) {
            snprintf(c->peer, sizeof c->peer, "%s", prev->id);
            snprintf(c->old_value, sizeof c->old_value, "%s", prev->macs);
            snprintf(c->detail, sizeof c->detail, "%s now answered by %s (vendor %s, was %s)",
                     ip, now.macs[0] ? now.macs : "no MAC", now.vendor[0] ? now.vendor : "?",
                     prev->vendor[0] ? prev->vendor : "?");
        } else {
            snprintf(c->detail, sizeof c->detail, "%s%s%s", now.vendor, now.vendor[0] ? " " : "",
                     now.roles);
        }
    }
    for (size_t j = 0; j < bl->nassets; j++) {
        if (replaced[j]) continue;
        const struct qw_asset *a = inv_asset(inv, bl->assets[j].id);
        uint64_t last = a ? a->last_ns : 0;
        if (a && (now_ns < gone_ns || last >= now_ns - gone_ns)) continue;
        struct qw_change *c = add(out, &cap, QW_CH_ASSET_GONE, bl->assets[j].id,
                                  a ? last + gone_ns : now_ns);
        if (!c) break;
        const char *sp = strchr(bl->assets[j].ips, ' ');
        size_t n = sp ? (size_t)(sp - bl->assets[j].ips) : strlen(bl->assets[j].ips);
        snprintf(c->ip, sizeof c->ip, "%.*s", (int)n, bl->assets[j].ips);
        snprintf(c->old_value, sizeof c->old_value, "%s", bl->assets[j].macs);
    }
    free(replaced);
    struct qw_inv_edges edges;
    if (!qw_inventory_edges(inv, db, &edges)) return false;
    diff_edges(bl, inv, &edges, out, &cap);
    qw_inventory_edges_free(&edges);
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_change);
    return true;
}

void qw_changes_free(struct qw_changes *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}
