/* quaywatch advisories: import security advisories (CSAF 2.0) into the store, list them, and
 * hold the inventory against them now (docs/vulnerabilities.md). Every `analyze` and `run`
 * also matches at its end and raises vuln.affected and vuln.possibly_affected findings. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "inventory/inventory.h"
#include "inventory/place.h"
#include "site/model.h"
#include "store/store.h"
#include "util/file.h"
#include "util/json.h"
#include "vuln/csaf.h"
#include "vuln/match.h"

/* Files one import may name, directories walked: a bound, not a limit anyone should meet
 * (CISA's whole ICS feed is about 3,000 documents). */
#define MAX_FILES 200000
#define MAX_DIR_DEPTH 16
/* The largest advisory file read: CISA's biggest CSAF document is about 2 MiB */
#define QW_CSAF_MAX_FILE (64u << 20)

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch advisories import [--db FILE] PATH...\n"
            "       quaywatch advisories list [--db FILE] [--format table|json]\n"
            "       quaywatch advisories match [--db FILE] [--site FILE] [--format table|json]\n\n"
            "import  read CSAF 2.0 advisories (files, or directories searched for *.json) into\n"
            "        the store, all in one transaction: one bad document and nothing is\n"
            "        imported. An advisory imported again (same tracking id) is replaced. In a\n"
            "        directory, JSON files that are not CSAF (NVD records, SBOMs) are skipped\n"
            "        and counted; a file named on the command line must be CSAF.\n"
            "list    the advisories in the store: id, release, products, vulnerabilities.\n"
            "match   the inventory's assets that the advisories name, now: affected (the\n"
            "        firmware is in the affected versions) or possibly affected (the model\n"
            "        matches, the firmware was not seen or the versions cannot be read), with\n"
            "        CVEs, CVSS, the fix and, with --site, the owner. Every analyze and run\n"
            "        raises the same as findings (vuln.affected, vuln.possibly_affected).\n\n"
            "  --db FILE      the store (default quaywatch.db)\n"
            "  --format F     table (default) or json\n"
            "  --site FILE    the site file, for the zone and owner of each asset (match)\n\n"
            "exit codes: 0 ok, 1 failure, 2 usage error, 3 an unreadable or invalid advisory or\n"
            "store\n");
}

/* --- import ------------------------------------------------------------------------------ */

struct input {
    char *path;
    bool named; /* given on the command line (must be CSAF), else found in a directory */
};

struct inputs {
    struct input *v;
    size_t n, cap;
};

static bool add_input(struct inputs *in, const char *path, bool named)
{
    if (in->n >= MAX_FILES) {
        fprintf(stderr, "quaywatch advisories: more than %d files to import\n", MAX_FILES);
        return false;
    }
    if (in->n == in->cap) {
        size_t nc = in->cap ? in->cap * 2 : 64;
        struct input *nv = realloc(in->v, nc * sizeof *nv);
        if (!nv) return false;
        in->v = nv;
        in->cap = nc;
    }
    in->v[in->n].path = strdup(path);
    in->v[in->n].named = named;
    return in->v[in->n++].path != NULL;
}

static bool has_json_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static bool walk_dir(struct inputs *in, const char *dir, int depth)
{
    if (depth > MAX_DIR_DEPTH) return true; /* deeper trees are not advisory feeds */
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            ok = walk_dir(in, path, depth + 1);
        else if (S_ISREG(st.st_mode) && has_json_suffix(e->d_name))
            ok = add_input(in, path, false);
    }
    closedir(d);
    return ok;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct input *)a)->path, ((const struct input *)b)->path);
}

/* A JSON document that does not claim to be CSAF at all (no document.csaf_version). */
static bool claims_csaf(json_t *doc)
{
    json_t *d = json_object_get(doc, "document");
    return json_is_object(d) && json_object_get(d, "csaf_version");
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int do_import(const char *db_path, char **paths, int npaths)
{
    struct inputs in = {0};
    int rc = QW_EXIT_OK;
    for (int i = 0; i < npaths && rc == QW_EXIT_OK; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            fprintf(stderr, "quaywatch advisories: %s: %s\n", paths[i], strerror(errno));
            rc = QW_EXIT_INPUT;
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = in.n;
            if (!walk_dir(&in, paths[i], 0)) rc = QW_EXIT_INPUT;
            /* a directory's files in name order, so the import is the same every time */
            if (in.n > before) qsort(in.v + before, in.n - before, sizeof *in.v, by_path);
        } else if (!S_ISREG(st.st_mode)) {
            /* a FIFO or a device would block the read or never end */
            fprintf(stderr, "quaywatch advisories: %s: not a regular file\n", paths[i]);
            rc = QW_EXIT_INPUT;
        } else if (!add_input(&in, paths[i], true)) {
            rc = QW_EXIT_FAILURE;
        }
    }
    struct qw_store s;
    char err[512];
    bool opened = false;
    if (rc == QW_EXIT_OK) {
        opened = qw_store_open(&s, db_path, err, sizeof err);
        if (!opened) {
            fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, err);
            rc = QW_EXIT_INPUT;
        }
    }
    struct qw_csaf_stmts *st = NULL;
    if (rc == QW_EXIT_OK) {
        if (sqlite3_exec(s.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            !(st = qw_csaf_prepare(s.db, err, sizeof err))) {
            fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path,
                    st ? err : sqlite3_errmsg(s.db));
            rc = QW_EXIT_FAILURE;
        }
    }
    size_t imported = 0, skipped = 0;
    struct qw_csaf_counts total = {0};
    uint64_t now = wall_ns();
    for (size_t i = 0; rc == QW_EXIT_OK && i < in.n; i++) {
        size_t len;
        char *text = qw_read_file(in.v[i].path, QW_CSAF_MAX_FILE, &len);
        if (!text) {
            fprintf(stderr, "quaywatch advisories: %s: %s\n", in.v[i].path,
                    errno == EFBIG ? "larger than 64 MiB, not an advisory" : strerror(errno));
            rc = QW_EXIT_INPUT;
            break;
        }
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, 0, &jerr);
        free(text);
        if (!doc) {
            if (jerr.line > 0)
                fprintf(stderr, "quaywatch advisories: %s:%d:%d: %s\n", in.v[i].path, jerr.line,
                        jerr.column, jerr.text);
            else
                fprintf(stderr, "quaywatch advisories: %s: %s\n", in.v[i].path, jerr.text);
            rc = QW_EXIT_INPUT;
            break;
        }
        if (!in.v[i].named && !claims_csaf(doc)) {
            skipped++;
            json_decref(doc);
            continue;
        }
        struct qw_csaf_counts c;
        char id[64];
        if (!qw_csaf_import(st, doc, in.v[i].path, now, &c, id, sizeof id, err, sizeof err)) {
            fprintf(stderr, "quaywatch advisories: %s: %s%s%s\n", in.v[i].path,
                    id[0] ? id : "", id[0] ? ": " : "", err);
            rc = QW_EXIT_INPUT;
        } else {
            imported++;
            total.products += c.products;
            total.vulns += c.vulns;
        }
        json_decref(doc);
    }
    qw_csaf_finalize(st);
    if (opened) {
        if (rc == QW_EXIT_OK && sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, sqlite3_errmsg(s.db));
            rc = QW_EXIT_FAILURE;
        }
        if (rc != QW_EXIT_OK) sqlite3_exec(s.db, "ROLLBACK", NULL, NULL, NULL);
        qw_store_close(&s);
    }
    if (rc == QW_EXIT_OK)
        printf("imported %zu advisories (%zu products, %zu vulnerabilities) into %s%s",
               imported, total.products, total.vulns, db_path, skipped ? "; " : "\n");
    if (rc == QW_EXIT_OK && skipped)
        printf("skipped %zu JSON files that are not CSAF\n", skipped);
    if (rc != QW_EXIT_OK && opened) fprintf(stderr, "quaywatch advisories: nothing imported\n");
    for (size_t i = 0; i < in.n; i++) free(in.v[i].path);
    free(in.v);
    return rc;
}

/* --- list -------------------------------------------------------------------------------- */

static int do_list(const char *db_path, bool json)
{
    struct qw_store s;
    char err[512];
    if (!qw_store_open_existing(&s, db_path, err, sizeof err)) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, err);
        return QW_EXIT_INPUT;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s.db,
                           "SELECT a.id, a.released, a.title, a.publisher,"
                           " (SELECT count(*) FROM advisory_products p WHERE p.advisory = a.id),"
                           " (SELECT count(*) FROM advisory_vulns v WHERE v.advisory = a.id),"
                           " (SELECT max(cvss) FROM advisory_vulns v WHERE v.advisory = a.id),"
                           " a.url FROM advisories a ORDER BY a.id",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, sqlite3_errmsg(s.db));
        qw_store_close(&s);
        return QW_EXIT_INPUT;
    }
    char buf[8192];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    if (json) qw_json_arr_begin(&j, NULL);
    else printf("%-18s %-10s %5s %5s %5s  %s\n", "ADVISORY", "RELEASED", "PRODS", "VULNS", "CVSS",
                "TITLE");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        const char *rel = (const char *)sqlite3_column_text(q, 1);
        const char *title = (const char *)sqlite3_column_text(q, 2);
        bool has_cvss = sqlite3_column_type(q, 6) != SQLITE_NULL;
        if (json) {
            qw_json_obj_begin(&j, NULL);
            qw_json_str(&j, "id", id);
            qw_json_str(&j, "released", rel);
            qw_json_str(&j, "title", title);
            qw_json_str(&j, "publisher", (const char *)sqlite3_column_text(q, 3));
            qw_json_u64(&j, "products", (uint64_t)sqlite3_column_int64(q, 4));
            qw_json_u64(&j, "vulnerabilities", (uint64_t)sqlite3_column_int64(q, 5));
            if (has_cvss) qw_json_double(&j, "max_cvss", sqlite3_column_double(q, 6));
            if (sqlite3_column_type(q, 7) != SQLITE_NULL)
                qw_json_str(&j, "url", (const char *)sqlite3_column_text(q, 7));
            qw_json_obj_end(&j);
        } else {
            char cv[8] = "-";
            if (has_cvss) snprintf(cv, sizeof cv, "%.1f", sqlite3_column_double(q, 6));
            printf("%-18s %-10.10s %5lld %5lld %5s  %s\n", id, rel ? rel : "",
                   (long long)sqlite3_column_int64(q, 4), (long long)sqlite3_column_int64(q, 5),
                   cv, title ? title : "");
        }
    }
    sqlite3_finalize(q);
    if (json) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
    }
    qw_json_flush(&j);
    qw_store_close(&s);
    return QW_EXIT_OK;
}

/* --- match ------------------------------------------------------------------------------- */

static int do_match(const char *db_path, const char *site_path, bool json)
{
    struct qw_site *site = NULL;
    if (site_path && !(site = qw_cli_load_site(site_path))) return QW_EXIT_USAGE;
    struct qw_store s;
    char err[512];
    if (!qw_store_open_existing(&s, db_path, err, sizeof err)) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, err);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    struct qw_inventory inv;
    struct qw_vuln_hits hits;
    int rc = QW_EXIT_OK;
    if (!qw_inventory_load(&inv, s.db, err, sizeof err)) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, err);
        qw_store_close(&s);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    if (!qw_vuln_match(s.db, &inv, &hits, err, sizeof err)) {
        fprintf(stderr, "quaywatch advisories: %s: %s\n", db_path, err);
        rc = QW_EXIT_INPUT;
    }
    char buf[8192];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    if (rc == QW_EXIT_OK && json) qw_json_arr_begin(&j, NULL);
    else if (rc == QW_EXIT_OK)
        printf("%-24s %-20s %-9s %-5s %-20s %-12s %s\n", "ASSET", "ADVISORY", "VERDICT", "CVSS",
               "MODEL", "FIRMWARE", "CVES");
    for (size_t i = 0; rc == QW_EXIT_OK && i < hits.n; i++) {
        const struct qw_vuln_hit *h = &hits.v[i];
        const struct qw_asset *a = &inv.assets[h->asset];
        struct qw_asset_place pl;
        qw_asset_place(site, a, &pl);
        const char *verdict = h->affected ? "affected" : "possibly";
        if (json) {
            qw_json_obj_begin(&j, NULL);
            qw_json_str(&j, "asset", a->id);
            if (a->nips) qw_json_str(&j, "ip", a->ips[0].ip);
            qw_json_str(&j, "vendor", a->vendor ? a->vendor : "");
            qw_json_str(&j, "model", h->model);
            if (a->firmware) qw_json_str(&j, "firmware", a->firmware);
            else qw_json_null(&j, "firmware");
            qw_json_str(&j, "advisory", h->advisory);
            qw_json_str(&j, "title", h->title);
            qw_json_str(&j, "verdict", h->affected ? "affected" : "possibly_affected");
            qw_json_str(&j, "product", h->product);
            qw_json_str(&j, "versions", h->versions);
            qw_json_str(&j, "match", h->basis);
            if (h->cvss >= 0) qw_json_double(&j, "cvss", h->cvss);
            else qw_json_null(&j, "cvss");
            qw_json_str(&j, "severity", qw_vuln_cvss_rating(h->cvss));
            qw_json_str(&j, "cves", h->cves);
            if (h->fix[0]) qw_json_str(&j, "fix", h->fix);
            if (h->url[0]) qw_json_str(&j, "url", h->url);
            if (site) {
                if (pl.zone) qw_json_str(&j, "zone", pl.zone->id);
                if (pl.owner.party) qw_json_str(&j, "owner", pl.owner.party->id);
                else qw_json_null(&j, "owner");
            }
            qw_json_obj_end(&j);
        } else {
            char cv[8] = "-";
            if (h->cvss >= 0) snprintf(cv, sizeof cv, "%.1f", h->cvss);
            printf("%-24s %-20s %-9s %-5s %-20.20s %-12.12s %s\n", a->id, h->advisory, verdict,
                   cv, h->model, a->firmware ? a->firmware : "-", h->cves);
            if (h->fix[0]) printf("%-24s   fix: %.160s\n", "", h->fix);
        }
    }
    if (rc == QW_EXIT_OK && json) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
    } else if (rc == QW_EXIT_OK) {
        printf("%zu matches against %zu advisories\n", hits.n, hits.advisories);
    }
    qw_json_flush(&j);
    qw_vuln_hits_free(&hits);
    qw_inventory_free(&inv);
    qw_store_close(&s);
    qw_site_free(site);
    return rc;
}

int qw_cmd_advisories(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? QW_EXIT_USAGE : QW_EXIT_OK;
    }
    const char *sub = argv[1], *db_path = "quaywatch.db", *format = "table", *site = NULL;
    char **paths = calloc((size_t)argc, sizeof *paths);
    int npaths = 0;
    if (!paths) return QW_EXIT_FAILURE;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--db")       ? &db_path
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--site")   ? &site
                                                     : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            free(paths);
            return QW_EXIT_OK;
        }
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "quaywatch advisories: option %s needs a value\n", a);
                free(paths);
                return QW_EXIT_USAGE;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "quaywatch advisories: unknown option '%s'\n", a);
            free(paths);
            return QW_EXIT_USAGE;
        } else {
            paths[npaths++] = argv[i];
        }
    }
    bool json = strcmp(format, "json") == 0;
    int rc = QW_EXIT_USAGE;
    if (!json && strcmp(format, "table") != 0)
        fprintf(stderr, "quaywatch advisories: --format: '%s' is not table or json\n", format);
    else if (!strcmp(sub, "import") && npaths == 0)
        fprintf(stderr, "quaywatch advisories import: name at least one file or directory\n");
    else if (!strcmp(sub, "import"))
        rc = do_import(db_path, paths, npaths);
    else if (npaths)
        fprintf(stderr, "quaywatch advisories %s: unexpected argument '%s'\n", sub, paths[0]);
    else if (!strcmp(sub, "list"))
        rc = do_list(db_path, json);
    else if (!strcmp(sub, "match"))
        rc = do_match(db_path, site, json);
    else
        fprintf(stderr, "quaywatch advisories: unknown subcommand '%s' (import, list, match)\n",
                sub);
    free(paths);
    return rc;
}
