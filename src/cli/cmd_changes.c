/* quaywatch changes: for every approved change record of the site file, what was expected and
 * seen, expected and missing, and seen inside its scope and window but not expected; then every
 * undocumented change with the party that owns the asset it touches (docs/baseline.md). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "baseline/verify.h"
#include "cli/cli.h"
#include "site/model.h"
#include "store/store.h"
#include "util/duration.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch changes --site FILE [--db FILE] [--format table|json]\n"
            "                         [--gone-after D]\n\n"
            "Holds what the traffic changed since the baseline (quaywatch baseline diff) against\n"
            "the site file's approved change records. For each record: the changes it documents\n"
            "(expected and seen), the kinds it expected but nothing showed (expected and\n"
            "missing), and changes inside its scope and window of kinds it did not expect (seen\n"
            "but not expected). Then every undocumented change, with the owner of the asset it\n"
            "touches.\n\n"
            "exit codes: 0 ok, 2 usage or site-file error, 3 the store cannot be read\n");
}

struct rec_report {
    size_t *seen, nseen;        /* indexes into the changes */
    size_t *unexpected, nunexp;
    uint32_t seen_kinds;
};

static void change_line(const struct qw_change *c)
{
    char t[QW_TIME_STR_MAX];
    printf("      %s %-24s %s", qw_time_str((int64_t)c->when_ns, t), qw_change_kind_names[c->kind], c->asset);
    if (c->attr[0]) printf(" %s %s -> %s", c->attr, c->old_value, c->new_value);
    else if (c->detail[0]) printf(" %s", c->detail);
    putchar('\n');
}

static void change_json(struct qw_json *j, const struct qw_change *c,
                        const struct qw_change_verdict *v)
{
    char t[QW_TIME_STR_MAX];
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "type", qw_change_kind_names[c->kind]);
    qw_json_str(j, "time", qw_time_str((int64_t)c->when_ns, t));
    qw_json_str(j, "asset", c->asset);
    if (c->peer[0]) qw_json_str(j, "peer", c->peer);
    if (c->attr[0]) qw_json_str(j, "attribute", c->attr);
    if (c->old_value[0]) qw_json_str(j, "old", c->old_value);
    if (c->new_value[0]) qw_json_str(j, "new", c->new_value);
    if (c->detail[0]) qw_json_str(j, "detail", c->detail);
    if (v) {
        if (v->owner)
            qw_json_str(j, "owner", v->owner->id);
        else
            qw_json_null(j, "owner");
        if (v->zone) qw_json_str(j, "zone", v->zone->id);
    }
    qw_json_obj_end(j);
}

int qw_cmd_changes(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "table", *site_path = NULL;
    uint64_t gone_ns = 24ull * 3600 * 1000000000ull;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return QW_EXIT_OK;
        }
        const char **slot = !strcmp(a, "--db")       ? &db_path
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--site")   ? &site_path
                                                     : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
            continue;
        }
        if (!strcmp(a, "--gone-after") && i + 1 < argc) {
            if (!qw_parse_duration(argv[++i], &gone_ns)) {
                fprintf(stderr, "quaywatch changes: --gone-after: '%s' is not a duration\n",
                        argv[i]);
                return QW_EXIT_USAGE;
            }
            continue;
        }
        fprintf(stderr, "quaywatch changes: unexpected argument '%s' (see --help)\n", a);
        return QW_EXIT_USAGE;
    }
    bool json = !strcmp(format, "json");
    if (!json && strcmp(format, "table")) {
        fprintf(stderr, "quaywatch changes: --format must be table or json\n");
        return QW_EXIT_USAGE;
    }
    if (!site_path) {
        fprintf(stderr, "quaywatch changes: --site FILE is required (the change records)\n");
        return QW_EXIT_USAGE;
    }
    struct qw_site *site = qw_cli_load_site(site_path);
    if (!site) return QW_EXIT_USAGE;
    struct qw_store store;
    char err[512] = "";
    if (!qw_store_open_existing(&store, db_path, err, sizeof err)) {
        fprintf(stderr, "quaywatch changes: %s\n", err);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    struct qw_baseline bl;
    struct qw_inventory inv;
    struct qw_changes ch = {0};
    int rc = QW_EXIT_OK;
    if (!qw_baseline_load(&bl, store.db, err, sizeof err) ||
        !qw_inventory_load(&inv, store.db, err, sizeof err)) {
        fprintf(stderr, "quaywatch changes: %s: %s\n", db_path, err);
        qw_store_close(&store);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    if (!qw_baseline_diff(&bl, &inv, store.db, qw_store_last_packet_ns(store.db), gone_ns, &ch))
        rc = QW_EXIT_FAILURE;
    struct qw_change_verdict *verdict = calloc(ch.n ? ch.n : 1, sizeof *verdict);
    struct rec_report *rep = calloc(site->nchanges ? site->nchanges : 1, sizeof *rep);
    for (size_t r = 0; rep && r < site->nchanges; r++) {
        rep[r].seen = calloc(ch.n ? ch.n : 1, sizeof *rep[r].seen);
        rep[r].unexpected = calloc(ch.n ? ch.n : 1, sizeof *rep[r].unexpected);
        if (!rep[r].seen || !rep[r].unexpected) rc = QW_EXIT_FAILURE;
    }
    if (!verdict || !rep) rc = QW_EXIT_FAILURE;
    for (size_t i = 0; rc == QW_EXIT_OK && i < ch.n; i++) {
        const struct qw_change *c = &ch.v[i];
        qw_change_verify(site, &inv, c, &verdict[i]);
        for (uint32_t r = 0; r < site->nchanges; r++) {
            const struct qw_site_change *rec = &site->changes[r];
            if (verdict[i].record == rec) {
                rep[r].seen[rep[r].nseen++] = i;
                rep[r].seen_kinds |= 1u << c->kind;
            } else if (!(rec->expect & (1u << c->kind)) && (int64_t)c->when_ns >= rec->start_ns &&
                       (int64_t)c->when_ns <= rec->end_ns &&
                       qw_change_in_scope(site, &inv, c, rec)) {
                rep[r].unexpected[rep[r].nunexp++] = i;
            }
        }
    }
    static char buf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    if (rc == QW_EXIT_OK && json) qw_json_obj_begin(&j, NULL), qw_json_arr_begin(&j, "records");
    size_t undocumented = 0;
    for (size_t i = 0; rc == QW_EXIT_OK && i < ch.n; i++) undocumented += verdict[i].record == NULL;
    if (rc == QW_EXIT_OK && !json)
        printf("%zu change%s since the baseline: %zu documented, %zu undocumented\n", ch.n,
               ch.n == 1 ? "" : "s", ch.n - undocumented, undocumented);
    for (uint32_t r = 0; rc == QW_EXIT_OK && r < site->nchanges; r++) {
        const struct qw_site_change *rec = &site->changes[r];
        char t0[QW_TIME_STR_MAX], t1[QW_TIME_STR_MAX];
        uint32_t missing = rec->expect & ~rep[r].seen_kinds;
        if (json) {
            qw_json_obj_begin(&j, NULL);
            qw_json_str(&j, "id", rec->id);
            if (rec->by) qw_json_str(&j, "by", rec->by->id);
            qw_json_str(&j, "start", qw_time_str((int64_t)(uint64_t)rec->start_ns, t0));
            qw_json_str(&j, "end", qw_time_str((int64_t)(uint64_t)rec->end_ns, t1));
            qw_json_arr_begin(&j, "expected");
            for (int k = 0; k < QW_CH_KIND_COUNT; k++)
                if (rec->expect & (1u << k)) qw_json_str(&j, NULL, qw_change_kind_names[k]);
            qw_json_arr_end(&j);
            qw_json_arr_begin(&j, "seen");
            for (size_t k = 0; k < rep[r].nseen; k++)
                change_json(&j, &ch.v[rep[r].seen[k]], &verdict[rep[r].seen[k]]);
            qw_json_arr_end(&j);
            qw_json_arr_begin(&j, "missing");
            for (int k = 0; k < QW_CH_KIND_COUNT; k++)
                if (missing & (1u << k)) qw_json_str(&j, NULL, qw_change_kind_names[k]);
            qw_json_arr_end(&j);
            qw_json_arr_begin(&j, "unexpected");
            for (size_t k = 0; k < rep[r].nunexp; k++)
                change_json(&j, &ch.v[rep[r].unexpected[k]], &verdict[rep[r].unexpected[k]]);
            qw_json_arr_end(&j);
            qw_json_obj_end(&j);
            continue;
        }
        printf("\n%s (%s, %s .. %s)%s%s\n", rec->id, rec->by ? rec->by->id : "?",
               qw_time_str((int64_t)(uint64_t)rec->start_ns, t0), qw_time_str((int64_t)(uint64_t)rec->end_ns, t1),
               rec->title ? ": " : "", rec->title ? rec->title : "");
        printf("  expected and seen (%zu):\n", rep[r].nseen);
        for (size_t k = 0; k < rep[r].nseen; k++) change_line(&ch.v[rep[r].seen[k]]);
        printf("  expected and missing:");
        if (!missing) printf(" none");
        for (int k = 0; k < QW_CH_KIND_COUNT; k++)
            if (missing & (1u << k)) printf(" %s", qw_change_kind_names[k]);
        printf("\n  seen in scope but not expected (%zu):\n", rep[r].nunexp);
        for (size_t k = 0; k < rep[r].nunexp; k++) change_line(&ch.v[rep[r].unexpected[k]]);
    }
    if (rc == QW_EXIT_OK && json) {
        qw_json_arr_end(&j);
        qw_json_arr_begin(&j, "undocumented");
        for (size_t i = 0; i < ch.n; i++)
            if (!verdict[i].record) change_json(&j, &ch.v[i], &verdict[i]);
        qw_json_arr_end(&j);
        qw_json_obj_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    } else if (rc == QW_EXIT_OK) {
        printf("\nundocumented (%zu):\n", undocumented);
        for (size_t i = 0; i < ch.n; i++) {
            if (verdict[i].record) continue;
            printf("  owner %-16s", verdict[i].owner ? verdict[i].owner->id : "NOBODY");
            change_line(&ch.v[i]);
        }
    }
    if (rc != QW_EXIT_OK) fprintf(stderr, "quaywatch changes: out of memory or store error\n");
    for (size_t r = 0; rep && r < site->nchanges; r++) {
        free(rep[r].seen);
        free(rep[r].unexpected);
    }
    free(rep);
    free(verdict);
    qw_changes_free(&ch);
    qw_inventory_free(&inv);
    qw_baseline_free(&bl);
    qw_store_close(&store);
    qw_site_free(site);
    return rc;
}
