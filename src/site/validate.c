/* Whole-file checks that come from sorting, and the sorted tables that are the lookup index:
 * duplicate ids and names, zones whose CIDRs overlap, assets matched twice. Each section is
 * indexed right after it is parsed, so the sections after it can resolve references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "site/internal.h"

static int pos_cmp(struct qw_site_pos a, struct qw_site_pos b)
{
    if (a.line != b.line) return a.line < b.line ? -1 : 1;
    return a.col < b.col ? -1 : a.col > b.col;
}

static const void **pointers(struct qw_ld *ld, const void *base, size_t n, size_t size)
{
    const void **arr = qw_arena_array(ld->arena, n ? n : 1, sizeof *arr);
    if (!arr) {
        ld->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) arr[i] = (const char *)base + i * size;
    return arr;
}

static void sort(const void **arr, size_t n, int (*cmp)(const void *, const void *))
{
    if (arr && n > 1) qsort(arr, n, sizeof *arr, cmp);
}

#define PTR(T, p) (*(const T *const *)(p))

/* ---- parties ------------------------------------------------------------------------------ */

static int cmp_party(const void *a, const void *b)
{
    const struct qw_site_party *x = PTR(struct qw_site_party, a), *y = PTR(struct qw_site_party, b);
    int c = strcmp(x->id, y->id);
    return c ? c : pos_cmp(x->pos, y->pos);
}

void qw_index_parties(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->parties, s->nparties, sizeof *s->parties);
    if (!arr) return;
    sort(arr, s->nparties, cmp_party);
    for (size_t i = 1, first = 0; i < s->nparties; i++) {
        const struct qw_site_party *p = arr[i], *f = arr[first];
        if (strcmp(p->id, f->id) != 0) {
            first = i;
            continue;
        }
        qw_site_err(ld->err, p->pos.line, p->pos.col, "duplicate party id '%s' (first at line %u)",
                    p->id, (unsigned)f->pos.line);
    }
    ld->ix->parties = (const struct qw_site_party **)arr;
}

/* ---- zones -------------------------------------------------------------------------------- */

static int cmp_zone(const void *a, const void *b)
{
    const struct qw_site_zone *x = PTR(struct qw_site_zone, a), *y = PTR(struct qw_site_zone, b);
    int c = strcmp(x->id, y->id);
    return c ? c : pos_cmp(x->pos, y->pos);
}

struct range_src {
    struct qw_zone_range r;
    const struct qw_site_cidr *cidr;
};

static int cmp_range(const void *a, const void *b)
{
    const struct range_src *x = a, *y = b;
    int c = memcmp(x->r.lo.b, y->r.lo.b, 16);
    return c ? c : pos_cmp(x->cidr->pos, y->cidr->pos);
}

static void overlap(struct qw_ld *ld, const struct range_src *a, const struct range_src *b)
{
    /* report at the one written later, naming the other */
    if (pos_cmp(a->cidr->pos, b->cidr->pos) < 0) {
        const struct range_src *t = a;
        a = b;
        b = t;
    }
    char x[64], y[64];
    qw_cidr_str(a->cidr, x);
    qw_cidr_str(b->cidr, y);
    if (a->r.zone == b->r.zone)
        qw_site_err(ld->err, a->cidr->pos.line, a->cidr->pos.col,
                    "CIDR %s overlaps %s of the same zone (line %u)", x, y,
                    (unsigned)b->cidr->pos.line);
    else
        qw_site_err(ld->err, a->cidr->pos.line, a->cidr->pos.col,
                    "CIDR %s overlaps %s of zone '%s' (line %u): zones must not overlap", x, y,
                    b->r.zone->id, (unsigned)b->cidr->pos.line);
}

void qw_index_zones(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->zones, s->nzones, sizeof *s->zones);
    if (!arr) return;
    sort(arr, s->nzones, cmp_zone);
    for (size_t i = 1, first = 0; i < s->nzones; i++) {
        const struct qw_site_zone *z = arr[i], *f = arr[first];
        if (strcmp(z->id, f->id) != 0) {
            first = i;
            continue;
        }
        qw_site_err(ld->err, z->pos.line, z->pos.col, "duplicate zone id '%s' (first at line %u)",
                    z->id, (unsigned)f->pos.line);
    }
    ld->ix->zones = (const struct qw_site_zone **)arr;

    size_t n = 0;
    for (size_t i = 0; i < s->nzones; i++) n += s->zones[i].ncidrs;
    struct range_src *src = n ? malloc(n * sizeof *src) : NULL;
    struct qw_zone_range *ranges = qw_arena_array(ld->arena, n ? n : 1, sizeof *ranges);
    if ((n && !src) || !ranges) {
        free(src);
        ld->oom = true;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->nzones; i++)
        for (size_t j = 0; j < s->zones[i].ncidrs; j++) {
            const struct qw_site_cidr *c = &s->zones[i].cidrs[j];
            src[k++] = (struct range_src){{c->lo, c->hi, &s->zones[i]}, c};
        }
    if (n > 1) qsort(src, n, sizeof *src, cmp_range);
    /* sorted by start, a block overlaps an earlier one iff it starts before the furthest end
     * seen so far */
    size_t reach = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && memcmp(src[i].r.lo.b, src[reach].r.hi.b, 16) <= 0) overlap(ld, &src[i], &src[reach]);
        if (!i || memcmp(src[i].r.hi.b, src[reach].r.hi.b, 16) > 0) reach = i;
        ranges[i] = src[i].r;
    }
    free(src);
    ld->ix->ranges = ranges;
    ld->ix->nranges = n;
}

/* ---- assets ------------------------------------------------------------------------------- */

static int cmp_asset_name(const void *a, const void *b)
{
    const struct qw_site_asset *x = PTR(struct qw_site_asset, a), *y = PTR(struct qw_site_asset, b);
    int c = strcmp(x->name, y->name);
    return c ? c : pos_cmp(x->pos, y->pos);
}

static int cmp_asset_ip(const void *a, const void *b)
{
    const struct qw_site_asset *x = PTR(struct qw_site_asset, a), *y = PTR(struct qw_site_asset, b);
    int c = memcmp(x->ip.b, y->ip.b, 16);
    return c ? c : pos_cmp(x->pos, y->pos);
}

static int cmp_asset_mac(const void *a, const void *b)
{
    const struct qw_site_asset *x = PTR(struct qw_site_asset, a), *y = PTR(struct qw_site_asset, b);
    int c = memcmp(x->mac, y->mac, 6);
    return c ? c : pos_cmp(x->pos, y->pos);
}

static int cmp_asset_host(const void *a, const void *b)
{
    const struct qw_site_asset *x = PTR(struct qw_site_asset, a), *y = PTR(struct qw_site_asset, b);
    int c = strcasecmp(x->hostname, y->hostname);
    return c ? c : pos_cmp(x->pos, y->pos);
}

static bool same_key(const struct qw_site_asset *a, const struct qw_site_asset *b)
{
    switch (a->match) {
    case QW_MATCH_IP: return memcmp(a->ip.b, b->ip.b, 16) == 0;
    case QW_MATCH_MAC: return memcmp(a->mac, b->mac, 6) == 0;
    default: return strcasecmp(a->hostname, b->hostname) == 0;
    }
}

/* The assets matched by one kind of key, sorted, with keys matched twice reported. */
static const struct qw_site_asset **match_index(struct qw_ld *ld, uint8_t kind, size_t *count,
                                                int (*cmp)(const void *, const void *))
{
    const struct qw_site *s = ld->site;
    const struct qw_site_asset **arr = qw_arena_array(ld->arena, s->nassets ? s->nassets : 1,
                                                      sizeof *arr);
    *count = 0;
    if (!arr) {
        ld->oom = true;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->nassets; i++)
        if (s->assets[i].match == kind) arr[n++] = &s->assets[i];
    sort((const void **)arr, n, cmp);
    for (size_t i = 1, first = 0; i < n; i++) {
        const struct qw_site_asset *a = arr[i], *f = arr[first];
        if (!same_key(a, f)) {
            first = i;
            continue;
        }
        char what[80], mac[18];
        if (kind == QW_MATCH_IP) {
            char ip[46];
            snprintf(what, sizeof what, "ip %s", qw_addr_str(&a->ip, ip));
        } else if (kind == QW_MATCH_MAC) {
            snprintf(what, sizeof what, "mac %s", qw_mac_str(a->mac, mac));
        } else {
            snprintf(what, sizeof what, "name '%.60s'", a->hostname);
        }
        qw_site_err(ld->err, a->pos.line, a->pos.col,
                    "%s is already matched by asset '%s' (line %u)", what, f->name,
                    (unsigned)f->pos.line);
    }
    *count = n;
    return arr;
}

void qw_index_assets(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->assets, s->nassets, sizeof *s->assets);
    if (!arr) return;
    sort(arr, s->nassets, cmp_asset_name);
    for (size_t i = 1, first = 0; i < s->nassets; i++) {
        const struct qw_site_asset *a = arr[i], *f = arr[first];
        if (strcmp(a->name, f->name) != 0) {
            first = i;
            continue;
        }
        qw_site_err(ld->err, a->pos.line, a->pos.col,
                    "duplicate asset name '%s' (first at line %u)", a->name,
                    (unsigned)f->pos.line);
    }
    struct qw_site_index *ix = ld->ix;
    ix->by_name = (const struct qw_site_asset **)arr;
    ix->by_ip = match_index(ld, QW_MATCH_IP, &ix->nby_ip, cmp_asset_ip);
    ix->by_mac = match_index(ld, QW_MATCH_MAC, &ix->nby_mac, cmp_asset_mac);
    ix->by_host = match_index(ld, QW_MATCH_NAME, &ix->nby_host, cmp_asset_host);
}

/* ---- conduits, modules, changes ----------------------------------------------------------- */

static int cmp_conduit(const void *a, const void *b)
{
    const struct qw_site_conduit *x = PTR(struct qw_site_conduit, a),
                                 *y = PTR(struct qw_site_conduit, b);
    if (x->from->index != y->from->index) return x->from->index < y->from->index ? -1 : 1;
    if (x->to->index != y->to->index) return x->to->index < y->to->index ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void qw_index_conduits(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->conduits, s->nconduits, sizeof *s->conduits);
    if (!arr) return;
    sort(arr, s->nconduits, cmp_conduit);
    ld->ix->conduits = (const struct qw_site_conduit **)arr;
}

static int cmp_module(const void *a, const void *b)
{
    const struct qw_site_module *x = PTR(struct qw_site_module, a), *y = PTR(struct qw_site_module, b);
    int c = strcmp(x->name, y->name);
    return c ? c : pos_cmp(x->pos, y->pos);
}

void qw_check_modules(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->modules, s->nmodules, sizeof *s->modules);
    if (!arr) return;
    sort(arr, s->nmodules, cmp_module);
    for (size_t i = 1, first = 0; i < s->nmodules; i++) {
        const struct qw_site_module *m = arr[i], *f = arr[first];
        if (strcmp(m->name, f->name) != 0) {
            first = i;
            continue;
        }
        qw_site_err(ld->err, m->pos.line, m->pos.col,
                    "duplicate module name '%s' (first at line %u)", m->name,
                    (unsigned)f->pos.line);
    }
}

static int cmp_change(const void *a, const void *b)
{
    const struct qw_site_change *x = PTR(struct qw_site_change, a), *y = PTR(struct qw_site_change, b);
    int c = strcmp(x->id, y->id);
    return c ? c : pos_cmp(x->pos, y->pos);
}

void qw_check_changes(struct qw_ld *ld)
{
    const struct qw_site *s = ld->site;
    const void **arr = pointers(ld, s->changes, s->nchanges, sizeof *s->changes);
    if (!arr) return;
    sort(arr, s->nchanges, cmp_change);
    for (size_t i = 1, first = 0; i < s->nchanges; i++) {
        const struct qw_site_change *c = arr[i], *f = arr[first];
        if (strcmp(c->id, f->id) != 0) {
            first = i;
            continue;
        }
        qw_site_err(ld->err, c->pos.line, c->pos.col,
                    "duplicate change id '%s' (first at line %u)", c->id, (unsigned)f->pos.line);
    }
}
