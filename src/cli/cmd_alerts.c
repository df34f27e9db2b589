/* quaywatch alerts: the findings in the store (docs/detections.md), filtered and grouped, and
 * their state: open, acknowledged, resolved. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "detect/detect.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch alerts [--db FILE] [--owner PARTY] [--rule RULE]\n"
            "                        [--state open|acknowledged|resolved|all] [--format table|json]\n"
            "       quaywatch alerts ack ID... [--db FILE]\n"
            "       quaywatch alerts resolve ID... [--db FILE]\n\n"
            "Findings, one per rule, asset and peer, with severity, the party whose job it is to\n"
            "act (owner), the party that did it where known (actor), zone, documented or not\n"
            "(with the change record), count and first and last time. Default: open and\n"
            "acknowledged findings, most severe first. `ack` marks findings seen by a person;\n"
            "`resolve` closes them (one that happens again is opened again).\n\n"
            "exit codes: 0 ok, 2 usage error, 3 the store cannot be read\n");
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int set_state(sqlite3 *db, const char *state, int argc, char **argv, int first)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE findings SET state = ?1, state_changed ="
                           " CAST(strftime('%s','now') AS INTEGER) * 1000000000 WHERE id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return QW_EXIT_FAILURE;
    int rc = QW_EXIT_OK, n = 0;
    for (int i = first; i < argc; i++) {
        char *end;
        long long id = strtoll(argv[i], &end, 10);
        if (argv[i][0] == '-' || *end || id <= 0) {
            fprintf(stderr, "quaywatch alerts: '%s' is not a finding id\n", argv[i]);
            rc = QW_EXIT_USAGE;
            break;
        }
        sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = QW_EXIT_FAILURE;
        if (sqlite3_changes(db) == 0) {
            fprintf(stderr, "quaywatch alerts: no finding %lld\n", id);
            rc = QW_EXIT_USAGE;
        } else {
            n++;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (n) printf("%d finding%s %s\n", n, n == 1 ? "" : "s", state);
    return rc;
}

int qw_cmd_alerts(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "table", *owner = NULL, *rule = NULL;
    const char *state = NULL, *action = NULL;
    int first_id = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return QW_EXIT_OK;
        }
        if (i == 1 && (!strcmp(a, "ack") || !strcmp(a, "resolve"))) {
            action = a;
            first_id = i + 1;
            continue;
        }
        const char **slot = !strcmp(a, "--db")       ? &db_path
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--owner")  ? &owner
                            : !strcmp(a, "--rule")   ? &rule
                            : !strcmp(a, "--state")  ? &state
                                                     : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
            if (action) { /* ids end where options start */
                argv[i - 1] = argv[i] = (char *)"";
            }
            continue;
        }
        if (action && a[0] != '-') continue;
        fprintf(stderr, "quaywatch alerts: unexpected argument '%s' (see --help)\n", a);
        return QW_EXIT_USAGE;
    }
    bool json = !strcmp(format, "json");
    if (!json && strcmp(format, "table")) {
        fprintf(stderr, "quaywatch alerts: --format must be table or json\n");
        return QW_EXIT_USAGE;
    }
    if (state && strcmp(state, "open") && strcmp(state, "acknowledged") &&
        strcmp(state, "resolved") && strcmp(state, "all")) {
        fprintf(stderr, "quaywatch alerts: --state must be open, acknowledged, resolved or all\n");
        return QW_EXIT_USAGE;
    }
    if (rule && qw_rule_find(rule) < 0) {
        fprintf(stderr, "quaywatch alerts: unknown rule '%s' (docs/detections.md lists them)\n",
                rule);
        return QW_EXIT_USAGE;
    }
    struct qw_store store;
    char err[512];
    if (!qw_store_open_existing(&store, db_path, err, sizeof err)) {
        fprintf(stderr, "quaywatch alerts: %s\n", err);
        return QW_EXIT_INPUT;
    }
    sqlite3 *db = store.db;
    if (action) {
        int n = 0;
        for (int i = first_id; i < argc; i++) n += argv[i][0] != '\0';
        if (!n) {
            fprintf(stderr, "quaywatch alerts %s: give the ids of the findings\n", action);
            qw_store_close(&store);
            return QW_EXIT_USAGE;
        }
        /* options were blanked above; compact the ids */
        char **ids = calloc((size_t)n, sizeof *ids);
        int k = 0;
        for (int i = first_id; ids && i < argc; i++)
            if (argv[i][0]) ids[k++] = argv[i];
        int rc = ids ? set_state(db, !strcmp(action, "ack") ? "acknowledged" : "resolved", k, ids, 0)
                     : QW_EXIT_FAILURE;
        free(ids);
        qw_store_close(&store);
        return rc;
    }
    sqlite3_stmt *st;
    const char *sql =
        "SELECT id, rule, severity, asset, peer, owner, actor, zone, peer_zone, documented,"
        " change_id, maintenance, message, evidence, first_seen, last_seen, count, state, rule_id"
        " FROM findings WHERE (?1 IS NULL OR owner = ?1 OR (?1 = 'none' AND owner IS NULL))"
        " AND (?2 IS NULL OR rule = ?2)"
        " AND (CASE ?3 WHEN 'all' THEN 1 WHEN 'open' THEN state = 'open'"
        "  WHEN 'acknowledged' THEN state = 'acknowledged' WHEN 'resolved' THEN state = 'resolved'"
        "  ELSE state != 'resolved' END)"
        " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
        "  WHEN 'low' THEN 3 ELSE 4 END, owner, rule, last_seen DESC, id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "quaywatch alerts: %s: %s\n", db_path, sqlite3_errmsg(db));
        qw_store_close(&store);
        return QW_EXIT_INPUT;
    }
    if (owner) sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    if (rule) sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, state ? state : "active", -1, SQLITE_STATIC);
    static char buf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    if (json)
        qw_json_arr_begin(&j, NULL);
    else
        printf("%5s %-8s %-26s %-26s %-22s %-16s %-14s %6s  %s\n", "id", "severity", "rule",
               "asset", "peer", "owner", "documented", "count", "message");
    size_t n = 0;
    char t0[QW_TIME_STR_MAX], t1[QW_TIME_STR_MAX];
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        if (json) {
            qw_json_obj_begin(&j, NULL);
            qw_json_i64(&j, "id", sqlite3_column_int64(st, 0));
            qw_json_str(&j, "rule", col(st, 1));
            qw_json_i64(&j, "signature_id", sqlite3_column_int64(st, 18));
            qw_json_str(&j, "severity", col(st, 2));
            qw_json_str(&j, "asset", col(st, 3));
            if (*col(st, 4)) qw_json_str(&j, "peer", col(st, 4));
            if (*col(st, 5)) qw_json_str(&j, "owner", col(st, 5));
            else qw_json_null(&j, "owner");
            if (*col(st, 6)) qw_json_str(&j, "actor", col(st, 6));
            if (*col(st, 7)) qw_json_str(&j, "zone", col(st, 7));
            if (*col(st, 8)) qw_json_str(&j, "peer_zone", col(st, 8));
            qw_json_bool(&j, "documented", sqlite3_column_int(st, 9) != 0);
            if (*col(st, 10)) qw_json_str(&j, "change_id", col(st, 10));
            if (sqlite3_column_int(st, 11)) qw_json_bool(&j, "maintenance_window", true);
            qw_json_str(&j, "message", col(st, 12));
            if (*col(st, 13)) qw_json_raw(&j, "evidence", col(st, 13), strlen(col(st, 13)));
            qw_json_str(&j, "first_seen", qw_time_str((int64_t)sqlite3_column_int64(st, 14), t0));
            qw_json_str(&j, "last_seen", qw_time_str((int64_t)sqlite3_column_int64(st, 15), t1));
            qw_json_i64(&j, "count", sqlite3_column_int64(st, 16));
            qw_json_str(&j, "state", col(st, 17));
            qw_json_obj_end(&j);
        } else {
            char doc[40];
            snprintf(doc, sizeof doc, "%s", sqlite3_column_int(st, 9) ? col(st, 10) : "no");
            printf("%5lld %-8s %-26s %-26.26s %-22.22s %-16s %-14s %6lld  %s\n",
                   (long long)sqlite3_column_int64(st, 0), col(st, 2), col(st, 1), col(st, 3),
                   *col(st, 4) ? col(st, 4) : "-", *col(st, 5) ? col(st, 5) : "NOBODY", doc,
                   (long long)sqlite3_column_int64(st, 16), col(st, 12));
        }
    }
    sqlite3_finalize(st);
    if (json) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    } else {
        printf("%zu finding%s\n", n, n == 1 ? "" : "s");
    }
    qw_store_close(&store);
    return QW_EXIT_OK;
}
