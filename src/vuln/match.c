/* The inventory against the store's advisories (match.h). Runs once at the end of a run and on
 * `quaywatch advisories match`, never on the packet path: products are read once, grouped by
 * vendor, and each asset is compared only with the products of its own vendor. */
#include "vuln/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vuln/product.h"
#include "vuln/version.h"

#define MAX_MODEL_NUMBERS 32 /* of one leaf; Siemens lists at most a handful */

struct product {
    char *advisory, *pid, *vendor, *name, *versions, *full_name;
    char *models; /* the store's newline-joined model numbers, cut at the newlines once ... */
    const char *mn[MAX_MODEL_NUMBERS]; /* ... into these */
    size_t nmn;
    bool is_range;
};

struct catalogue {
    struct product *p;
    size_t n;
    /* products sorted by vendor: group g runs from start[g] to start[g + 1] */
    size_t *start;
    size_t ngroups;
    sqlite3_stmt *status, *advisory, *fix;
};

/* One thing an advisory says of an asset, before they are folded per advisory. */
struct candidate {
    const struct product *p;
    char cve[64];
    char model[QW_INV_VALUE_MAX];
    enum qw_product_match basis;
    bool affected;
    double cvss;
};

struct asset_work {
    struct candidate *c;
    size_t n, cap;
    char (*cleared)[64]; /* CVEs a document says do not touch this asset's firmware */
    size_t ncleared, cleared_cap;
};

static char *dup_col(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return strdup(t ? (const char *)t : "");
}

static void catalogue_free(struct catalogue *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct product *p = &c->p[i];
        free(p->advisory);
        free(p->pid);
        free(p->vendor);
        free(p->name);
        free(p->versions);
        free(p->models);
        free(p->full_name);
    }
    free(c->p);
    free(c->start);
    sqlite3_finalize(c->status);
    sqlite3_finalize(c->advisory);
    sqlite3_finalize(c->fix);
    memset(c, 0, sizeof *c);
}

static int by_vendor(const void *a, const void *b)
{
    const struct product *x = a, *y = b;
    int r = strcmp(x->vendor, y->vendor);
    if (r) return r;
    r = strcmp(x->advisory, y->advisory);
    return r ? r : strcmp(x->pid, y->pid);
}

/* Cut a product's model numbers (newline-joined in the store) into p->mn, in place. */
static void split_models(struct product *p)
{
    p->nmn = 0;
    for (char *t = p->models; *t && p->nmn < MAX_MODEL_NUMBERS;) {
        p->mn[p->nmn++] = t;
        char *nl = strchr(t, '\n');
        if (!nl) break;
        *nl = '\0';
        t = nl + 1;
    }
}

static bool catalogue_load(struct catalogue *c, sqlite3 *db, size_t *nadvisories)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM advisories", -1, &s, NULL) != SQLITE_OK)
        return false;
    if (sqlite3_step(s) == SQLITE_ROW) *nadvisories = (size_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    /* products of no vendor (full_product_names) cannot be matched: not read */
    if (sqlite3_prepare_v2(db, "SELECT advisory, product_id, vendor, product, versions, is_range,"
                               " model_numbers, full_name FROM advisory_products"
                               " WHERE vendor <> ''", -1, &s, NULL) != SQLITE_OK)
        return false;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (c->n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct product *np = realloc(c->p, nc * sizeof *np);
            if (!np) break;
            c->p = np;
            cap = nc;
        }
        struct product *p = &c->p[c->n++];
        p->advisory = dup_col(s, 0);
        p->pid = dup_col(s, 1);
        p->vendor = dup_col(s, 2);
        p->name = dup_col(s, 3);
        p->versions = dup_col(s, 4);
        p->is_range = sqlite3_column_int(s, 5) != 0;
        p->models = dup_col(s, 6);
        p->full_name = dup_col(s, 7);
        if (!p->advisory || !p->pid || !p->vendor || !p->name || !p->versions || !p->models ||
            !p->full_name) {
            rc = SQLITE_NOMEM;
            break;
        }
        split_models(p);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return false;
    if (c->n) qsort(c->p, c->n, sizeof *c->p, by_vendor);
    c->start = malloc((c->n + 1) * sizeof *c->start);
    if (!c->start) return false;
    for (size_t i = 0; i < c->n; i++)
        if (i == 0 || strcmp(c->p[i].vendor, c->p[i - 1].vendor) != 0) c->start[c->ngroups++] = i;
    c->start[c->ngroups] = c->n;
    return sqlite3_prepare_v2(db,
                              "SELECT s.cve, s.status, v.cvss FROM advisory_status s"
                              " LEFT JOIN advisory_vulns v ON v.advisory = s.advisory AND"
                              " v.cve = s.cve WHERE s.advisory = ?1 AND s.product_id = ?2"
                              " ORDER BY s.cve",
                              -1, &c->status, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db, "SELECT title, url FROM advisories WHERE id = ?1", -1,
                              &c->advisory, NULL) == SQLITE_OK &&
           /* the vendor's fix first, then a mitigation, then anything else it says */
           sqlite3_prepare_v2(db,
                              "SELECT details FROM advisory_remediations WHERE advisory = ?1"
                              " AND product_id = ?2 ORDER BY category <> 'vendor_fix',"
                              " category <> 'mitigation', cve, details LIMIT 1",
                              -1, &c->fix, NULL) == SQLITE_OK;
}

/* CSAF 2.0 s.3.2.3.9 product_status: which categories say the product is touched, and which
 * that it is not (fixed versions, a vendor's not-affected statement). Others (recommended,
 * under_investigation) decide nothing. */
static int status_kind(const char *status)
{
    static const char *const affected[] = {"known_affected", "first_affected", "last_affected"};
    static const char *const clear[] = {"known_not_affected", "fixed", "first_fixed"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(status, affected[i]) == 0) return 1;
        if (strcmp(status, clear[i]) == 0) return -1;
    }
    return 0;
}

static bool push_candidate(struct asset_work *w, const struct candidate *c)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        struct candidate *nv = realloc(w->c, nc * sizeof *nv);
        if (!nv) return false;
        w->c = nv;
        w->cap = nc;
    }
    w->c[w->n++] = *c;
    return true;
}

static bool push_cleared(struct asset_work *w, const char *cve)
{
    if (w->ncleared == w->cleared_cap) {
        size_t nc = w->cleared_cap ? w->cleared_cap * 2 : 8;
        char(*nv)[64] = realloc(w->cleared, nc * sizeof *nv);
        if (!nv) return false;
        w->cleared = nv;
        w->cleared_cap = nc;
    }
    snprintf(w->cleared[w->ncleared++], 64, "%s", cve);
    return true;
}

static bool is_cleared(const struct asset_work *w, const char *cve)
{
    for (size_t i = 0; i < w->ncleared; i++)
        if (strcmp(w->cleared[i], cve) == 0) return true;
    return false;
}

/* What the advisory says of one product the asset's model names. */
static bool product_says(struct catalogue *c, struct asset_work *w, const struct product *p,
                         const char *model, enum qw_product_match basis,
                         enum qw_vers_verdict verdict)
{
    sqlite3_stmt *s = c->status;
    sqlite3_bind_text(s, 1, p->advisory, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->pid, -1, SQLITE_STATIC);
    bool ok = true;
    int rc = SQLITE_ROW;
    while (ok && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *cve = (const char *)sqlite3_column_text(s, 0);
        const char *status = (const char *)sqlite3_column_text(s, 1);
        if (!cve || !status) continue;
        int kind = status_kind(status);
        if (kind < 0 && verdict == QW_VERS_INSIDE) ok = push_cleared(w, cve);
        if (kind <= 0) continue;
        struct candidate cand = {.p = p, .basis = basis, .affected = verdict == QW_VERS_INSIDE};
        cand.cvss = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 2);
        snprintf(cand.cve, sizeof cand.cve, "%s", cve);
        snprintf(cand.model, sizeof cand.model, "%s", model);
        ok = push_candidate(w, &cand);
    }
    sqlite3_reset(s);
    return ok && rc == SQLITE_DONE;
}

/* The products of one vendor group that the model names, and what they say. */
static bool compare_model(struct catalogue *c, struct asset_work *w, const struct qw_asset *a,
                          size_t group, const char *model)
{
    for (size_t i = c->start[group]; i < c->start[group + 1]; i++) {
        const struct product *p = &c->p[i];
        enum qw_product_match basis = qw_product_match(model, p->name, p->mn, p->nmn);
        if (basis == QW_PRODUCT_NONE) continue;
        enum qw_vers_verdict v = qw_vers_contains(p->versions, p->is_range, a->firmware);
        if (v == QW_VERS_OUTSIDE) continue;
        if (!product_says(c, w, p, model, basis, v)) return false;
    }
    return true;
}

static void append_cve(struct qw_vuln_hit *h, const char *cve)
{
    size_t len = strlen(h->cves);
    if (h->ncves++ && len + strlen(cve) + 6 >= sizeof h->cves) {
        if (!strstr(h->cves, "...")) snprintf(h->cves + len, sizeof h->cves - len, ", ...");
        return;
    }
    snprintf(h->cves + len, sizeof h->cves - len, "%s%s", len ? ", " : "", cve);
}

static void describe(struct catalogue *c, struct qw_vuln_hit *h, const struct product *p)
{
    sqlite3_stmt *s = c->advisory;
    sqlite3_bind_text(s, 1, p->advisory, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0), *u = sqlite3_column_text(s, 1);
        snprintf(h->title, sizeof h->title, "%s", t ? (const char *)t : "");
        snprintf(h->url, sizeof h->url, "%s", u ? (const char *)u : "");
    }
    sqlite3_reset(s);
    s = c->fix;
    sqlite3_bind_text(s, 1, p->advisory, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->pid, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(h->fix, sizeof h->fix, "%s", t ? (const char *)t : "");
    }
    sqlite3_reset(s);
}

static int by_advisory_cve(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    int r = strcmp(x->p->advisory, y->p->advisory);
    if (r) return r;
    if (x->affected != y->affected) return x->affected ? -1 : 1; /* affected first */
    r = strcmp(x->cve, y->cve);
    return r ? r : strcmp(x->p->pid, y->p->pid);
}

static bool push_hit(struct qw_vuln_hits *out, const struct qw_vuln_hit *h)
{
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 16;
        struct qw_vuln_hit *nv = realloc(out->v, nc * sizeof *nv);
        if (!nv) return false;
        out->v = nv;
        out->cap = nc;
    }
    out->v[out->n++] = *h;
    return true;
}

/* Fold one asset's candidates into one hit per advisory. */
static bool fold(struct catalogue *c, struct asset_work *w, size_t asset, struct qw_vuln_hits *out)
{
    if (w->n > 1) qsort(w->c, w->n, sizeof *w->c, by_advisory_cve);
    for (size_t i = 0; i < w->n;) {
        size_t end = i;
        while (end < w->n && strcmp(w->c[end].p->advisory, w->c[i].p->advisory) == 0) end++;
        struct qw_vuln_hit h;
        memset(&h, 0, sizeof h);
        h.cvss = -1;
        const struct candidate *lead = NULL;
        for (size_t k = i; k < end; k++) {
            const struct candidate *x = &w->c[k];
            if (is_cleared(w, x->cve)) continue;
            if (!lead) lead = x; /* sorted: an affected candidate leads when there is one */
            bool seen = false;
            for (size_t m = i; m < k && !seen; m++)
                seen = !is_cleared(w, w->c[m].cve) && strcmp(w->c[m].cve, x->cve) == 0;
            if (!seen) append_cve(&h, x->cve);
            if (x->cvss > h.cvss) h.cvss = x->cvss;
        }
        if (lead) {
            h.asset = asset;
            h.affected = lead->affected;
            h.basis = lead->basis == QW_PRODUCT_MODEL_NUMBER ? "model_number" : "product_name";
            snprintf(h.advisory, sizeof h.advisory, "%s", lead->p->advisory);
            snprintf(h.product, sizeof h.product, "%s", lead->p->full_name);
            snprintf(h.versions, sizeof h.versions, "%s", lead->p->versions);
            snprintf(h.model, sizeof h.model, "%s", lead->model);
            describe(c, &h, lead->p);
            if (!push_hit(out, &h)) return false;
        }
        i = end;
    }
    return true;
}

/* The identity facts that name a model (inventory/build.c current_values) */
static bool is_model_attr(const char *attr)
{
    return strcmp(attr, "model") == 0 || strcmp(attr, "product_name") == 0 ||
           strcmp(attr, "model_name") == 0;
}

bool qw_vuln_match(sqlite3 *db, const struct qw_inventory *inv, struct qw_vuln_hits *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct catalogue c;
    bool ok = catalogue_load(&c, db, &out->advisories);
    struct asset_work w = {0};
    for (size_t a = 0; ok && a < inv->nassets && c.n; a++) {
        const struct qw_asset *as = &inv->assets[a];
        if (!as->vendor || !as->vendor[0]) continue;
        w.n = w.ncleared = 0;
        for (size_t g = 0; ok && g < c.ngroups; g++) {
            if (!qw_vendor_same(as->vendor, c.p[c.start[g]].vendor)) continue;
            /* every model the asset was seen to report, not only the newest: an S7 CPU states
             * its order number and its type name, and either may be what an advisory lists */
            for (size_t f = 0; ok && f < as->nfacts; f++) {
                const struct qw_inv_fact *fa = &as->facts[f];
                if (!is_model_attr(fa->attr) || !fa->value[0]) continue;
                bool dup = false;
                for (size_t k = 0; k < f && !dup; k++)
                    dup = is_model_attr(as->facts[k].attr) &&
                          strcmp(as->facts[k].value, fa->value) == 0;
                if (!dup) ok = compare_model(&c, &w, as, g, fa->value);
            }
        }
        if (ok) ok = fold(&c, &w, a, out);
    }
    if (!ok) snprintf(err, errlen, "matching advisories: %s", sqlite3_errmsg(db));
    free(w.c);
    free(w.cleared);
    catalogue_free(&c);
    if (!ok) qw_vuln_hits_free(out);
    return ok;
}

void qw_vuln_hits_free(struct qw_vuln_hits *h)
{
    free(h->v);
    memset(h, 0, sizeof *h);
}

const char *qw_vuln_cvss_rating(double cvss)
{
    if (cvss < 0) return "medium";
    if (cvss >= 9.0) return "critical";
    if (cvss >= 7.0) return "high";
    if (cvss >= 4.0) return "medium";
    return "low";
}
