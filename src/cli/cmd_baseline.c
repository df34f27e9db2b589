/* quaywatch baseline show|diff|accept|export|import (docs/baseline.md). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "baseline/verify.h"
#include "cli/cli.h"
#include "util/duration.h"
#include "engine/emit.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch baseline show   [--db FILE] [--format table|json]\n"
            "       quaywatch baseline diff   [--db FILE] [--site FILE] [--format table|json]\n"
            "                                 [--gone-after D]\n"
            "       quaywatch baseline accept [--db FILE] [--gone-after D] (--all | N...)\n"
            "       quaywatch baseline export [--db FILE] [-o FILE]\n"
            "       quaywatch baseline import [--db FILE] FILE\n\n"
            "The baseline is what the site looks like when it is normal: assets with their\n"
            "identity and roles, and edges with protocol, port and operation classes. Learn it\n"
            "with `analyze --learn` or `run --learn`; `diff` lists every typed change since\n"
            "(asset.new, asset.gone, asset.mac_changed, asset.vendor_changed,\n"
            "asset.identity_changed, asset.role_changed, comm.new_edge, comm.new_protocol,\n"
            "comm.new_operation), numbered; `accept` folds the numbered ones (or all) in.\n"
            "`export` writes it as sorted YAML to review and sign off like code; `import` loads\n"
            "one (checked: FILE:LINE:COL errors, exit 2).\n\n"
            "  --site FILE      mark each change documented (with the change record that\n"
            "                   covers it) or undocumented, with its owner\n"
            "  --gone-after D   an asset not seen for D before the newest packet is gone\n"
            "                   (e.g. 30m, 12h, 7d; default 24h)\n\n"
            "exit codes: 0 ok, 1 failure, 2 usage or file error, 3 the store cannot be read\n");
}

static void print_verdict_json(struct qw_json *j, const struct qw_change_verdict *v)
{
    qw_json_bool(j, "documented", v->record != NULL);
    if (v->record) {
        qw_json_str(j, "change_id", v->record->id);
        if (v->record->by) qw_json_str(j, "actor", v->record->by->id);
    }
    if (v->owner)
        qw_json_str(j, "owner", v->owner->id);
    else
        qw_json_null(j, "owner");
    if (v->zone) qw_json_str(j, "zone", v->zone->id);
    if (v->peer_zone) qw_json_str(j, "peer_zone", v->peer_zone->id);
}

static void print_change_json(struct qw_json *j, const struct qw_change *c, size_t index,
                              const struct qw_change_verdict *v)
{
    char t[QW_TIME_STR_MAX];
    qw_json_obj_begin(j, NULL);
    qw_json_u64(j, "n", index);
    qw_json_str(j, "type", qw_change_kind_names[c->kind]);
    qw_json_str(j, "time", qw_time_str((int64_t)c->when_ns, t));
    qw_json_str(j, "asset", c->asset);
    if (c->ip[0]) qw_json_str(j, "ip", c->ip);
    if (c->peer[0]) qw_json_str(j, c->kind == QW_CH_ASSET_MAC_CHANGED ? "previous" : "peer", c->peer);
    if (c->attr[0]) qw_json_str(j, "attribute", c->attr);
    if (c->old_value[0]) qw_json_str(j, "old", c->old_value);
    if (c->new_value[0]) qw_json_str(j, "new", c->new_value);
    if (c->detail[0]) qw_json_str(j, "detail", c->detail);
    if (v) print_verdict_json(j, v);
    qw_json_obj_end(j);
}

static void print_change_row(const struct qw_change *c, size_t index,
                             const struct qw_change_verdict *v)
{
    char t[QW_TIME_STR_MAX];
    printf("%4zu  %-27s %-24s %-30s ", index, qw_time_str((int64_t)c->when_ns, t), qw_change_kind_names[c->kind],
           c->asset);
    if (v && v->record)
        printf("[documented %s] ", v->record->id);
    else if (v)
        printf("[undocumented; owner %s] ", v->owner ? v->owner->id : "NOBODY");
    if (c->attr[0])
        printf("%s: %s -> %s\n", c->attr, c->old_value, c->new_value);
    else if (c->kind == QW_CH_ASSET_VENDOR_CHANGED || c->kind == QW_CH_ASSET_ROLE_CHANGED)
        printf("%s -> %s\n", c->old_value, c->new_value);
    else if (c->peer[0] && c->kind != QW_CH_ASSET_MAC_CHANGED)
        printf("from %s: %s\n", c->peer, c->detail);
    else
        printf("%s\n", c->detail[0] ? c->detail : c->old_value);
}

struct opts {
    const char *db, *format, *out, *site;
    uint64_t gone_ns;
    bool all;
    const char *args[256];
    int nargs;
};

static int parse(int argc, char **argv, struct opts *o)
{
    o->db = "quaywatch.db";
    o->format = "table";
    o->gone_ns = 24ull * 3600 * 1000000000ull;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return -1;
        }
        if (!strcmp(a, "--all")) {
            o->all = true;
            continue;
        }
        if (!strcmp(a, "--db") || !strcmp(a, "--format") || !strcmp(a, "-o") ||
            !strcmp(a, "--gone-after") || !strcmp(a, "--site")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "quaywatch baseline: missing value after '%s'\n", a);
                return QW_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--db")) o->db = v;
            else if (!strcmp(a, "--format")) o->format = v;
            else if (!strcmp(a, "-o")) o->out = v;
            else if (!strcmp(a, "--site")) o->site = v;
            else if (!qw_parse_duration(v, &o->gone_ns)) {
                fprintf(stderr, "quaywatch baseline: --gone-after: '%s' is not a duration "
                                "(e.g. 30m, 12h, 7d)\n", v);
                return QW_EXIT_USAGE;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "quaywatch baseline: unknown option '%s' (see --help)\n", a);
            return QW_EXIT_USAGE;
        }
        if (o->nargs == (int)(sizeof o->args / sizeof o->args[0])) {
            fprintf(stderr, "quaywatch baseline: too many arguments\n");
            return QW_EXIT_USAGE;
        }
        o->args[o->nargs++] = a;
    }
    if (strcmp(o->format, "table") && strcmp(o->format, "json")) {
        fprintf(stderr, "quaywatch baseline: --format must be table or json\n");
        return QW_EXIT_USAGE;
    }
    return 0;
}

/* `create`: import may start a store; every other action reads one that runs wrote. */
static sqlite3 *open_store(const char *path, bool create)
{
    struct qw_store s;
    char err[512];
    bool ok = create ? qw_store_open(&s, path, err, sizeof err)
                     : qw_store_open_existing(&s, path, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "quaywatch baseline: %s\n", err);
        return NULL;
    }
    return s.db;
}

static int show(sqlite3 *db, const struct opts *o)
{
    struct qw_baseline bl;
    char err[512];
    if (!qw_baseline_load(&bl, db, err, sizeof err)) {
        fprintf(stderr, "quaywatch baseline: %s: %s\n", o->db, err);
        return QW_EXIT_INPUT;
    }
    if (!strcmp(o->format, "json")) {
        static char buf[1 << 16];
        struct qw_json j;
        qw_json_init(&j, buf, sizeof buf, stdout);
        qw_json_obj_begin(&j, NULL);
        qw_json_arr_begin(&j, "assets");
        for (size_t i = 0; i < bl.nassets; i++) {
            const struct qw_bl_asset *a = &bl.assets[i];
            qw_json_obj_begin(&j, NULL);
            qw_json_str(&j, "id", a->id);
            qw_json_str(&j, "macs", a->macs);
            qw_json_str(&j, "ips", a->ips);
            qw_json_str(&j, "vendor", a->vendor);
            qw_json_str(&j, "model", a->model);
            qw_json_str(&j, "firmware", a->firmware);
            qw_json_str(&j, "serial", a->serial);
            qw_json_str(&j, "roles", a->roles);
            qw_json_obj_end(&j);
        }
        qw_json_arr_end(&j);
        qw_json_arr_begin(&j, "edges");
        for (size_t i = 0; i < bl.nedges; i++) {
            const struct qw_bl_edge *e = &bl.edges[i];
            qw_json_obj_begin(&j, NULL);
            qw_json_str(&j, "client", e->client);
            qw_json_str(&j, "server", e->server);
            qw_json_str(&j, "proto", e->app);
            qw_json_str(&j, "transport", e->transport);
            qw_json_u64(&j, "port", e->port);
            qw_json_arr_begin(&j, "ops");
            for (unsigned b = 0; b < 15; b++)
                if (e->ops & (1u << b)) qw_json_str(&j, NULL, qw_op_names[b]);
            qw_json_arr_end(&j);
            qw_json_obj_end(&j);
        }
        qw_json_arr_end(&j);
        qw_json_obj_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    } else {
        printf("baseline: %zu assets, %zu edges\n", bl.nassets, bl.nedges);
        for (size_t i = 0; i < bl.nassets; i++) {
            const struct qw_bl_asset *a = &bl.assets[i];
            printf("  %-30s %-20s %-18s %-16s %-10s %s\n", a->id, a->ips, a->vendor, a->model,
                   a->firmware, a->roles);
        }
    }
    qw_baseline_free(&bl);
    return QW_EXIT_OK;
}

/* Loads baseline + inventory and diffs them; the caller frees. */
static int compute(sqlite3 *db, const struct opts *o, struct qw_baseline *bl,
                   struct qw_inventory *inv, struct qw_changes *ch)
{
    char err[512] = "";
    if (!qw_baseline_load(bl, db, err, sizeof err) ||
        !qw_inventory_load(inv, db, err, sizeof err)) {
        fprintf(stderr, "quaywatch baseline: %s: %s\n", o->db, err);
        return QW_EXIT_INPUT;
    }
    if (!qw_baseline_diff(bl, inv, db, qw_store_last_packet_ns(db), o->gone_ns, ch)) {
        fprintf(stderr, "quaywatch baseline: %s: cannot compare: %s\n", o->db, sqlite3_errmsg(db));
        return QW_EXIT_FAILURE;
    }
    return QW_EXIT_OK;
}

struct qw_site *qw_cli_load_site(const char *path)
{
    struct qw_site_errors *errs = malloc(sizeof *errs);
    if (!errs) return NULL;
    struct qw_site *site = qw_site_load_file(path, NULL, errs);
    if (!site) qw_site_errors_print(errs, stderr);
    free(errs);
    return site;
}

static int diff(sqlite3 *db, const struct opts *o)
{
    struct qw_site *site = NULL;
    if (o->site && !(site = qw_cli_load_site(o->site))) return QW_EXIT_USAGE;
    struct qw_baseline bl;
    struct qw_inventory inv;
    struct qw_changes ch = {0};
    int rc = compute(db, o, &bl, &inv, &ch);
    if (rc != QW_EXIT_OK) {
        qw_site_free(site);
        return rc;
    }
    if (qw_baseline_empty(&bl))
        fprintf(stderr, "quaywatch baseline: no baseline learnt yet (analyze --learn, or "
                        "baseline import): everything is new\n");
    if (!strcmp(o->format, "json")) {
        static char buf[1 << 16];
        struct qw_json j;
        qw_json_init(&j, buf, sizeof buf, stdout);
        qw_json_arr_begin(&j, NULL);
        for (size_t i = 0; i < ch.n; i++) {
            struct qw_change_verdict v;
            qw_change_verify(site, &inv, &ch.v[i], &v);
            print_change_json(&j, &ch.v[i], i + 1, site ? &v : NULL);
        }
        qw_json_arr_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    } else {
        printf("%zu change%s since the baseline\n", ch.n, ch.n == 1 ? "" : "s");
        for (size_t i = 0; i < ch.n; i++) {
            struct qw_change_verdict v;
            qw_change_verify(site, &inv, &ch.v[i], &v);
            print_change_row(&ch.v[i], i + 1, site ? &v : NULL);
        }
    }
    qw_changes_free(&ch);
    qw_inventory_free(&inv);
    qw_baseline_free(&bl);
    qw_site_free(site);
    return QW_EXIT_OK;
}

static int accept(sqlite3 *db, const struct opts *o)
{
    if (!o->all && o->nargs == 0) {
        fprintf(stderr, "quaywatch baseline accept: give --all or the numbers of the changes "
                        "(from `baseline diff`)\n");
        return QW_EXIT_USAGE;
    }
    struct qw_baseline bl;
    struct qw_inventory inv;
    struct qw_changes ch = {0};
    int rc = compute(db, o, &bl, &inv, &ch);
    if (rc != QW_EXIT_OK) return rc;
    struct qw_changes pick = {0};
    pick.v = calloc(ch.n ? ch.n : 1, sizeof *pick.v);
    if (!pick.v) rc = QW_EXIT_FAILURE;
    for (size_t i = 0; rc == QW_EXIT_OK && o->all && i < ch.n; i++) pick.v[pick.n++] = ch.v[i];
    for (int k = 0; rc == QW_EXIT_OK && k < o->nargs; k++) {
        char *end;
        unsigned long n = strtoul(o->args[k], &end, 10);
        if (*end || n == 0 || n > ch.n) {
            fprintf(stderr, "quaywatch baseline accept: '%s' is not a change number (1..%zu)\n",
                    o->args[k], ch.n);
            rc = QW_EXIT_USAGE;
            break;
        }
        pick.v[pick.n++] = ch.v[n - 1];
    }
    char err[512];
    if (rc == QW_EXIT_OK && !qw_baseline_accept(db, &inv, &pick, err, sizeof err)) {
        fprintf(stderr, "quaywatch baseline: %s: %s\n", o->db, err);
        rc = QW_EXIT_FAILURE;
    }
    if (rc == QW_EXIT_OK) printf("accepted %zu change%s\n", pick.n, pick.n == 1 ? "" : "s");
    free(pick.v);
    qw_changes_free(&ch);
    qw_inventory_free(&inv);
    qw_baseline_free(&bl);
    return rc;
}

static int export_cmd(sqlite3 *db, const struct opts *o)
{
    struct qw_baseline bl;
    char err[512];
    if (!qw_baseline_load(&bl, db, err, sizeof err)) {
        fprintf(stderr, "quaywatch baseline: %s: %s\n", o->db, err);
        return QW_EXIT_INPUT;
    }
    FILE *out = stdout;
    char tmp[4096] = "";
    if (o->out) { /* write beside the target and rename: never a half-written file */
        snprintf(tmp, sizeof tmp, "%s.tmp", o->out);
        out = fopen(tmp, "w");
        if (!out) {
            fprintf(stderr, "quaywatch baseline: %s: cannot create\n", tmp);
            qw_baseline_free(&bl);
            return QW_EXIT_FAILURE;
        }
    }
    bool ok = qw_baseline_export(&bl, out);
    if (o->out) {
        ok = fclose(out) == 0 && ok && rename(tmp, o->out) == 0;
        if (!ok) remove(tmp);
    } else {
        ok = fflush(out) == 0 && ok;
    }
    qw_baseline_free(&bl);
    if (!ok) fprintf(stderr, "quaywatch baseline: cannot write the export\n");
    return ok ? QW_EXIT_OK : QW_EXIT_FAILURE;
}

static int import_cmd(const struct opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "quaywatch baseline import: give exactly one FILE\n");
        return QW_EXIT_USAGE;
    }
    struct qw_baseline bl;
    if (!qw_baseline_import(o->args[0], &bl)) return QW_EXIT_USAGE; /* nothing written */
    sqlite3 *db = open_store(o->db, true);
    int rc = QW_EXIT_OK;
    char err[512];
    if (!db) {
        rc = QW_EXIT_INPUT;
    } else if (!qw_baseline_store(db, &bl, err, sizeof err)) {
        fprintf(stderr, "quaywatch baseline: %s: %s\n", o->db, err);
        rc = QW_EXIT_FAILURE;
    } else {
        printf("imported %zu assets, %zu edges\n", bl.nassets, bl.nedges);
    }
    sqlite3_close(db);
    qw_baseline_free(&bl);
    return rc;
}

int qw_cmd_baseline(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? QW_EXIT_USAGE : QW_EXIT_OK;
    }
    const char *sub = argv[1];
    struct opts o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? QW_EXIT_OK : rc;
    if (!strcmp(sub, "import")) return import_cmd(&o);
    bool known = !strcmp(sub, "show") || !strcmp(sub, "diff") || !strcmp(sub, "accept") ||
                 !strcmp(sub, "export");
    if (!known) {
        fprintf(stderr, "quaywatch baseline: unknown action '%s' (show, diff, accept, export, "
                        "import)\n", sub);
        return QW_EXIT_USAGE;
    }
    if (o.nargs && strcmp(sub, "accept") != 0) {
        fprintf(stderr, "quaywatch baseline %s: unexpected argument '%s'\n", sub, o.args[0]);
        return QW_EXIT_USAGE;
    }
    sqlite3 *db = open_store(o.db, false);
    if (!db) return QW_EXIT_INPUT;
    if (!strcmp(sub, "show")) rc = show(db, &o);
    else if (!strcmp(sub, "diff")) rc = diff(db, &o);
    else if (!strcmp(sub, "accept")) rc = accept(db, &o);
    else rc = export_cmd(db, &o);
    sqlite3_close(db);
    return rc;
}
