/* References between sections: a party, zone or asset named by id, found by binary search in
 * the sorted tables of the sections indexed before (validate.c), and reported as unknown with
 * the closest existing id when there is none. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "site/internal.h"

/* ---- references --------------------------------------------------------------------------- */

/* Binary search in an array of entry pointers sorted by the string at `off`. */
static const void *find_sorted(const void *const *arr, size_t n, size_t off, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = *(const char *const *)((const char *)arr[mid] + off);
        int c = strcmp(k, key);
        if (c == 0) return arr[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_party *qw_ld_party_ref(struct qw_ld *ld, yaml_node_t *n, const char *key)
{
    const char *id = qw_ld_text(ld, n, key, 200);
    if (!id) return NULL;
    const struct qw_site_party *p =
        find_sorted((const void *const *)ld->ix->parties, ld->site->nparties,
                    offsetof(struct qw_site_party, id), id);
    if (!p) {
        struct qw_suggest sg;
        char hint[96];
        qw_suggest_init(&sg, id);
        for (size_t i = 0; i < ld->site->nparties; i++) qw_suggest_try(&sg, ld->site->parties[i].id);
        qw_ld_err(ld, n, "unknown party '%s' in '%s'%s", id, key,
                  ld->site->nparties ? qw_suggest_text(&sg, hint, sizeof hint)
                                     : " (the file declares no parties)");
    }
    return p;
}

const struct qw_site_zone *qw_ld_zone_ref(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                          const char *id)
{
    if (!id) id = qw_ld_text(ld, n, key, 200);
    if (!id) return NULL;
    const struct qw_site_zone *z =
        find_sorted((const void *const *)ld->ix->zones, ld->site->nzones,
                    offsetof(struct qw_site_zone, id), id);
    if (!z) {
        struct qw_suggest sg;
        char hint[96];
        qw_suggest_init(&sg, id);
        for (size_t i = 0; i < ld->site->nzones; i++) qw_suggest_try(&sg, ld->site->zones[i].id);
        qw_ld_err(ld, n, "unknown zone '%s' in '%s'%s", id, key,
                  ld->site->nzones ? qw_suggest_text(&sg, hint, sizeof hint)
                                   : " (the file declares no zones)");
    }
    return z;
}

const struct qw_site_asset *qw_ld_asset_ref(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                            const char *name)
{
    if (!name) name = qw_ld_text(ld, n, key, 200);
    if (!name) return NULL;
    const struct qw_site_asset *a =
        find_sorted((const void *const *)ld->ix->by_name, ld->site->nassets,
                    offsetof(struct qw_site_asset, name), name);
    if (!a) {
        struct qw_suggest sg;
        char hint[96];
        qw_suggest_init(&sg, name);
        for (size_t i = 0; i < ld->site->nassets; i++) qw_suggest_try(&sg, ld->site->assets[i].name);
        qw_ld_err(ld, n, "unknown asset '%s' in '%s'%s", name, key,
                  ld->site->nassets ? qw_suggest_text(&sg, hint, sizeof hint)
                                    : " (the file declares no assets)");
    }
    return a;
}

const struct qw_site_asset *qw_ld_find_asset(struct qw_ld *ld, const char *name)
{
    return find_sorted((const void *const *)ld->ix->by_name, ld->site->nassets,
                       offsetof(struct qw_site_asset, name), name);
}
