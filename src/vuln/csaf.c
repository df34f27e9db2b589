/* CSAF 2.0 documents into the store's advisory tables (csaf.h).
 *
 * The product tree (CSAF 2.0 s.3.1.3, s.4.2 "product_tree") is walked depth first: each branch
 * has a category and a name, and a leaf carries a `product` (product_id, name, and optionally
 * product_identification_helper.model_numbers). Of the path down to a leaf we keep the vendor,
 * the product_name (else product_family) and the version: the deepest product_version_range
 * (a set) or product_version, service_pack or patch_level (one version). Products listed in
 * full_product_names have no branches, hence no vendor and no version: kept, never matched.
 * Relationships (a product installed on another) are not read. */
#include "vuln/csaf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_DELETE_ADV,
    ST_DELETE_PRODUCTS,
    ST_DELETE_VULNS,
    ST_DELETE_STATUS,
    ST_DELETE_REMEDIATIONS,
    ST_ADVISORY,
    ST_PRODUCT,
    ST_VULN,
    ST_STATUS,
    ST_REMEDIATION,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_DELETE_ADV] = "DELETE FROM advisories WHERE id = ?1",
    [ST_DELETE_PRODUCTS] = "DELETE FROM advisory_products WHERE advisory = ?1",
    [ST_DELETE_VULNS] = "DELETE FROM advisory_vulns WHERE advisory = ?1",
    [ST_DELETE_STATUS] = "DELETE FROM advisory_status WHERE advisory = ?1",
    [ST_DELETE_REMEDIATIONS] = "DELETE FROM advisory_remediations WHERE advisory = ?1",
    [ST_ADVISORY] = "INSERT INTO advisories (id, title, publisher, version, released, url, source,"
                    " imported_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* a product id given twice in one tree keeps its first leaf */
    [ST_PRODUCT] = "INSERT OR IGNORE INTO advisory_products (advisory, product_id, vendor,"
                   " product, versions, is_range, model_numbers, full_name)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_VULN] = "INSERT INTO advisory_vulns (advisory, cve, title, cvss, vector)"
                " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (advisory, cve) DO UPDATE SET"
                " cvss = max(coalesce(cvss, 0), coalesce(excluded.cvss, 0))",
    [ST_STATUS] = "INSERT OR IGNORE INTO advisory_status (advisory, cve, product_id, status)"
                  " VALUES (?1, ?2, ?3, ?4)",
    [ST_REMEDIATION] = "INSERT OR IGNORE INTO advisory_remediations (advisory, cve, product_id,"
                       " category, details, url) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

struct qw_csaf_stmts {
    sqlite3 *db;
    sqlite3_stmt *s[ST_COUNT];
};

struct qw_csaf_stmts *qw_csaf_prepare(sqlite3 *db, char *err, size_t errlen)
{
    struct qw_csaf_stmts *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->db = db;
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v2(db, stmt_sql[i], -1, &st->s[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "store: %s", sqlite3_errmsg(db));
            qw_csaf_finalize(st);
            return NULL;
        }
    return st;
}

void qw_csaf_finalize(struct qw_csaf_stmts *st)
{
    if (!st) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(st->s[i]);
    free(st);
}

/* One document's import: where it goes and what went wrong. */
struct import {
    struct qw_csaf_stmts *st;
    const char *id;
    struct qw_csaf_counts *counts;
    char *err;
    size_t errlen;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static bool fail(struct import *im, const char *fmt, ...)
{
    if (im->failed) return false; /* the first failure is the one reported */
    im->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->err, im->errlen, fmt, ap);
    va_end(ap);
    return false;
}

static void bind_text(sqlite3_stmt *s, int col, const char *v)
{
    if (!v) {
        sqlite3_bind_null(s, col);
        return;
    }
    size_t n = strlen(v);
    if (n > QW_CSAF_MAX_TEXT) n = QW_CSAF_MAX_TEXT;
    sqlite3_bind_text(s, col, v, (int)n, SQLITE_TRANSIENT);
}

static bool step(struct import *im, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE) return true;
    return fail(im, "store: %s", sqlite3_errmsg(im->st->db));
}

/* A member that must be a string when present: NULL when absent, an error when another type. */
static const char *opt_str(struct import *im, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        char path[160];
        snprintf(path, sizeof path, "%s.%s", where, key);
        fail(im, "%s: not a string", path);
        return NULL;
    }
    return json_string_value(v);
}

/* --- product tree ------------------------------------------------------------------------ */

/* What the path down to a leaf says. */
struct tree_path {
    const char *vendor, *family, *product, *version;
    bool is_range;
};

static bool is_version_category(const char *c, bool *is_range)
{
    if (strcmp(c, "product_version_range") == 0) {
        *is_range = true;
        return true;
    }
    *is_range = false;
    return strcmp(c, "product_version") == 0 || strcmp(c, "service_pack") == 0 ||
           strcmp(c, "patch_level") == 0;
}

/* Model numbers joined by newlines (the store's model_numbers column). */
static void model_numbers(struct import *im, json_t *product, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *helper = json_object_get(product, "product_identification_helper");
    json_t *mn = helper ? json_object_get(helper, "model_numbers") : NULL;
    if (!json_is_array(mn)) return;
    size_t len = 0, i;
    json_t *v;
    json_array_foreach(mn, i, v)
    {
        if (!json_is_string(v)) {
            fail(im, "product_tree: model_numbers holds a value that is not a string");
            return;
        }
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (len + n + 2 > cap) break; /* keep what fits; the rest is rare and long */
        if (len) out[len++] = '\n';
        memcpy(out + len, s, n);
        len += n;
        out[len] = '\0';
    }
}

static bool add_leaf(struct import *im, json_t *product, const struct tree_path *p)
{
    if (!json_is_object(product)) return fail(im, "product_tree: a product is not an object");
    const char *pid = opt_str(im, product, "product_id", "product_tree.product");
    const char *name = opt_str(im, product, "name", "product_tree.product");
    if (im->failed) return false;
    if (!pid) return fail(im, "product_tree: a product has no product_id");
    if (++im->counts->products > QW_CSAF_MAX_PRODUCTS)
        return fail(im, "product_tree: more than %d products", QW_CSAF_MAX_PRODUCTS);
    char models[1024];
    model_numbers(im, product, models, sizeof models);
    if (im->failed) return false;
    const char *prod = p->product ? p->product : p->family ? p->family : name ? name : "";
    sqlite3_stmt *s = im->st->s[ST_PRODUCT];
    bind_text(s, 1, im->id);
    bind_text(s, 2, pid);
    bind_text(s, 3, p->vendor ? p->vendor : "");
    bind_text(s, 4, prod);
    bind_text(s, 5, p->version ? p->version : "");
    sqlite3_bind_int(s, 6, p->is_range);
    bind_text(s, 7, models);
    bind_text(s, 8, name ? name : prod);
    return step(im, s);
}

static bool walk_branches(struct import *im, json_t *branches, struct tree_path path, int depth)
{
    if (!json_is_array(branches))
        return fail(im, "product_tree: branches is not an array");
    if (depth >= QW_CSAF_MAX_DEPTH)
        return fail(im, "product_tree: branches nested deeper than %d levels", QW_CSAF_MAX_DEPTH);
    size_t i;
    json_t *b;
    json_array_foreach(branches, i, b)
    {
        if (!json_is_object(b)) return fail(im, "product_tree: a branch is not an object");
        const char *cat = opt_str(im, b, "category", "product_tree.branch");
        const char *name = opt_str(im, b, "name", "product_tree.branch");
        if (im->failed) return false;
        if (!cat || !name)
            return fail(im, "product_tree: a branch without category or name");
        struct tree_path p = path;
        bool range;
        if (strcmp(cat, "vendor") == 0)
            p.vendor = name;
        else if (strcmp(cat, "product_family") == 0)
            p.family = name;
        else if (strcmp(cat, "product_name") == 0)
            p.product = name;
        else if (is_version_category(cat, &range)) {
            p.version = name;
            p.is_range = range;
        }
        json_t *product = json_object_get(b, "product");
        if (product && !add_leaf(im, product, &p)) return false;
        json_t *sub = json_object_get(b, "branches");
        if (sub && !walk_branches(im, sub, p, depth + 1)) return false;
    }
    return true;
}

static bool read_product_tree(struct import *im, json_t *tree)
{
    if (!json_is_object(tree)) return fail(im, "product_tree: not an object");
    json_t *branches = json_object_get(tree, "branches");
    struct tree_path none = {0};
    if (branches && !walk_branches(im, branches, none, 0)) return false;
    json_t *full = json_object_get(tree, "full_product_names");
    if (full) {
        if (!json_is_array(full))
            return fail(im, "product_tree.full_product_names: not an array");
        size_t i;
        json_t *p;
        json_array_foreach(full, i, p) if (!add_leaf(im, p, &none)) return false;
    }
    return true;
}

/* --- vulnerabilities ------------------------------------------------------------------- */

/* The CVSS v3 base score given to the vulnerability (the highest of its scores), or -1. */
static double best_score(json_t *v, const char **vector)
{
    double best = -1;
    json_t *scores = json_object_get(v, "scores");
    size_t i;
    json_t *s;
    *vector = NULL;
    if (!json_is_array(scores)) return best;
    json_array_foreach(scores, i, s)
    {
        json_t *c = json_object_get(s, "cvss_v3");
        json_t *bs = c ? json_object_get(c, "baseScore") : NULL;
        if (!json_is_number(bs)) continue;
        double x = json_number_value(bs);
        if (x < 0 || x > 10) continue; /* not a CVSS score: ignored, not trusted */
        if (x > best) {
            best = x;
            json_t *vs = json_object_get(c, "vectorString");
            *vector = json_is_string(vs) ? json_string_value(vs) : NULL;
        }
    }
    return best;
}

static bool read_status(struct import *im, json_t *v, const char *cve, const char *where)
{
    json_t *ps = json_object_get(v, "product_status");
    if (!ps) return true;
    if (!json_is_object(ps)) return fail(im, "%s.product_status: not an object", where);
    const char *status;
    json_t *ids;
    json_object_foreach(ps, status, ids)
    {
        if (!json_is_array(ids))
            return fail(im, "%s.product_status: %s is not an array", where, status);
        size_t i;
        json_t *pid;
        json_array_foreach(ids, i, pid)
        {
            if (!json_is_string(pid))
                return fail(im, "%s.product_status: %s holds a value that is not a string", where,
                            status);
            sqlite3_stmt *s = im->st->s[ST_STATUS];
            bind_text(s, 1, im->id);
            bind_text(s, 2, cve);
            bind_text(s, 3, json_string_value(pid));
            bind_text(s, 4, status);
            if (!step(im, s)) return false;
            im->counts->statuses++;
        }
    }
    return true;
}

static bool read_remediations(struct import *im, json_t *v, const char *cve, const char *where)
{
    json_t *rs = json_object_get(v, "remediations");
    if (!rs) return true;
    if (!json_is_array(rs)) return fail(im, "%s.remediations: not an array", where);
    size_t i;
    json_t *r;
    json_array_foreach(rs, i, r)
    {
        char rwhere[96];
        snprintf(rwhere, sizeof rwhere, "%s.remediations[%zu]", where, i);
        if (!json_is_object(r)) return fail(im, "%s: not an object", rwhere);
        const char *cat = opt_str(im, r, "category", rwhere);
        const char *details = opt_str(im, r, "details", rwhere);
        const char *url = opt_str(im, r, "url", rwhere);
        if (im->failed) return false;
        json_t *pids = json_object_get(r, "product_ids");
        if (!cat || !details || !json_is_array(pids)) continue; /* names no product: nothing to say */
        size_t k;
        json_t *pid;
        json_array_foreach(pids, k, pid)
        {
            if (!json_is_string(pid)) continue;
            sqlite3_stmt *s = im->st->s[ST_REMEDIATION];
            bind_text(s, 1, im->id);
            bind_text(s, 2, cve);
            bind_text(s, 3, json_string_value(pid));
            bind_text(s, 4, cat);
            bind_text(s, 5, details);
            bind_text(s, 6, url);
            if (!step(im, s)) return false;
            im->counts->remediations++;
        }
    }
    return true;
}

static bool read_vulnerabilities(struct import *im, json_t *vulns)
{
    if (!vulns) return true;
    if (!json_is_array(vulns)) return fail(im, "vulnerabilities: not an array");
    size_t i;
    json_t *v;
    json_array_foreach(vulns, i, v)
    {
        char where[48], anon[48];
        snprintf(where, sizeof where, "vulnerabilities[%zu]", i);
        if (!json_is_object(v)) return fail(im, "%s: not an object", where);
        const char *cve = opt_str(im, v, "cve", where);
        const char *title = opt_str(im, v, "title", where);
        if (im->failed) return false;
        if (!cve) {
            /* CSAF allows a vulnerability without a CVE (ids name it instead): it keeps its
             * place in the document as its name */
            snprintf(anon, sizeof anon, "%s#%zu", im->id, i + 1);
            cve = anon;
        }
        const char *vector;
        double score = best_score(v, &vector);
        sqlite3_stmt *s = im->st->s[ST_VULN];
        bind_text(s, 1, im->id);
        bind_text(s, 2, cve);
        bind_text(s, 3, title ? title : "");
        if (score >= 0)
            sqlite3_bind_double(s, 4, score);
        else
            sqlite3_bind_null(s, 4);
        bind_text(s, 5, vector);
        if (!step(im, s)) return false;
        im->counts->vulns++;
        if (!read_status(im, v, cve, where) || !read_remediations(im, v, cve, where)) return false;
    }
    return true;
}

/* --- the document ---------------------------------------------------------------------- */

static const char *self_url(json_t *document)
{
    json_t *refs = json_object_get(document, "references");
    size_t i;
    json_t *r;
    if (!json_is_array(refs)) return NULL;
    json_array_foreach(refs, i, r)
    {
        json_t *cat = json_object_get(r, "category"), *url = json_object_get(r, "url");
        if (json_is_string(cat) && strcmp(json_string_value(cat), "self") == 0 &&
            json_is_string(url))
            return json_string_value(url);
    }
    return NULL;
}

static bool delete_rows(struct import *im)
{
    for (int k = ST_DELETE_ADV; k <= ST_DELETE_REMEDIATIONS; k++) {
        bind_text(im->st->s[k], 1, im->id);
        if (!step(im, im->st->s[k])) return false;
    }
    return true;
}

bool qw_csaf_import(struct qw_csaf_stmts *st, json_t *doc, const char *source, uint64_t now_ns,
                    struct qw_csaf_counts *counts, char *id_out, size_t id_cap, char *err,
                    size_t errlen)
{
    struct import im = {.st = st, .counts = counts, .err = err, .errlen = errlen};
    memset(counts, 0, sizeof *counts);
    if (id_out && id_cap) id_out[0] = '\0';
    if (!json_is_object(doc)) return fail(&im, "not a CSAF document: the top is not an object");
    json_t *document = json_object_get(doc, "document");
    if (!json_is_object(document))
        return fail(&im, "not a CSAF document: no \"document\" object");
    const char *csaf_version = opt_str(&im, document, "csaf_version", "document");
    const char *title = opt_str(&im, document, "title", "document");
    json_t *publisher = json_object_get(document, "publisher");
    json_t *tracking = json_object_get(document, "tracking");
    if (im.failed) return false;
    if (!csaf_version || strncmp(csaf_version, "2.", 2) != 0)
        return fail(&im, "document.csaf_version: %s, not 2.x", csaf_version ? csaf_version : "missing");
    if (!json_is_object(tracking))
        return fail(&im, "document.tracking: missing or not an object");
    const char *id = opt_str(&im, tracking, "id", "document.tracking");
    const char *version = opt_str(&im, tracking, "version", "document.tracking");
    const char *released = opt_str(&im, tracking, "current_release_date", "document.tracking");
    const char *pub = json_is_object(publisher) ? opt_str(&im, publisher, "name", "document.publisher") : NULL;
    if (im.failed) return false;
    if (!id || !id[0]) return fail(&im, "document.tracking.id: missing");
    im.id = id;
    if (id_out && id_cap) snprintf(id_out, id_cap, "%s", id);
    json_t *tree = json_object_get(doc, "product_tree");
    if (!tree) return fail(&im, "product_tree: missing (an advisory that names no product)");
    if (!delete_rows(&im)) return false;
    sqlite3_stmt *s = st->s[ST_ADVISORY];
    bind_text(s, 1, id);
    bind_text(s, 2, title ? title : "");
    bind_text(s, 3, pub ? pub : "");
    bind_text(s, 4, version ? version : "");
    bind_text(s, 5, released ? released : "");
    bind_text(s, 6, self_url(document));
    bind_text(s, 7, source);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)now_ns);
    if (!step(&im, s)) return false;
    return read_product_tree(&im, tree) && read_vulnerabilities(&im, json_object_get(doc, "vulnerabilities"));
}
