/* quaywatch inventory: the hosts the store has seen, with their identity facts.
 * Formats: table (default), json (one array of objects), csv. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out, "usage: quaywatch inventory [--db FILE] [--format table|json|csv]\n\n"
                 "List every host in the store (one row per IP and VLAN) with its MAC address,\n"
                 "traffic, first and last time seen, and identity facts with their source.\n");
}

static void csv_field(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int qw_cmd_inventory(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "table";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            return QW_EXIT_OK;
        }
        if ((strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--format") == 0) && i + 1 < argc) {
            *(argv[i][2] == 'd' ? &db_path : &format) = argv[i + 1];
            i++;
            continue;
        }
        fprintf(stderr, "quaywatch inventory: unexpected argument '%s' (see --help)\n", argv[i]);
        return QW_EXIT_USAGE;
    }
    int fmt = strcmp(format, "table") == 0 ? 0 : strcmp(format, "json") == 0 ? 1
              : strcmp(format, "csv") == 0 ? 2 : -1;
    if (fmt < 0) {
        fprintf(stderr, "quaywatch inventory: --format must be table, json or csv\n");
        return QW_EXIT_USAGE;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "quaywatch inventory: %s: cannot open store: %s\n", db_path,
                sqlite3_errmsg(db));
        sqlite3_close(db);
        return QW_EXIT_INPUT;
    }
    const char *sql =
        "SELECT h.id, h.ip, h.vlan, h.mac, h.first_seen, h.last_seen,"
        " h.bytes_sent + h.bytes_recv, h.flows_client, h.flows_server,"
        " (SELECT group_concat(attr || '=' || value || ' [' || source || ']', '; ')"
        "  FROM identities i WHERE i.host_id = h.id) FROM hosts h ORDER BY h.vlan, h.ip";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "quaywatch inventory: %s: not a quaywatch store: %s\n", db_path,
                sqlite3_errmsg(db));
        sqlite3_close(db);
        return QW_EXIT_INPUT;
    }
    char jbuf[8192];
    struct qw_json j;
    qw_json_init(&j, jbuf, sizeof jbuf, stdout);
    if (fmt == 0)
        printf("%-25s %5s  %-17s %-27s %-27s %12s  %s\n", "ip", "vlan", "mac", "first_seen",
               "last_seen", "bytes", "identity");
    else if (fmt == 1)
        qw_json_arr_begin(&j, NULL);
    else
        printf("ip,vlan,mac,first_seen,last_seen,bytes,flows_client,flows_server,identity\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char t0[QW_TIME_STR_MAX] = "", t1[QW_TIME_STR_MAX] = "";
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            qw_time_rfc3339((uint64_t)sqlite3_column_int64(st, 4), t0);
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            qw_time_rfc3339((uint64_t)sqlite3_column_int64(st, 5), t1);
        if (fmt == 0) {
            printf("%-25s %5d  %-17s %-27s %-27s %12lld  %s\n", col(st, 1),
                   sqlite3_column_int(st, 2), *col(st, 3) ? col(st, 3) : "-", t0, t1,
                   (long long)sqlite3_column_int64(st, 6), col(st, 9));
        } else if (fmt == 1) {
            qw_json_obj_begin(&j, NULL);
            qw_json_u64(&j, "id", (uint64_t)sqlite3_column_int64(st, 0));
            qw_json_str(&j, "ip", col(st, 1));
            qw_json_u64(&j, "vlan", (uint64_t)sqlite3_column_int(st, 2));
            if (*col(st, 3)) qw_json_str(&j, "mac", col(st, 3));
            qw_json_str(&j, "first_seen", t0);
            qw_json_str(&j, "last_seen", t1);
            qw_json_u64(&j, "bytes", (uint64_t)sqlite3_column_int64(st, 6));
            qw_json_u64(&j, "flows_client", (uint64_t)sqlite3_column_int64(st, 7));
            qw_json_u64(&j, "flows_server", (uint64_t)sqlite3_column_int64(st, 8));
            qw_json_str(&j, "identity", col(st, 9));
            qw_json_obj_end(&j);
        } else {
            csv_field(stdout, col(st, 1));
            printf(",%d,", sqlite3_column_int(st, 2));
            csv_field(stdout, col(st, 3));
            printf(",%s,%s,%lld,%lld,%lld,", t0, t1, (long long)sqlite3_column_int64(st, 6),
                   (long long)sqlite3_column_int64(st, 7), (long long)sqlite3_column_int64(st, 8));
            csv_field(stdout, col(st, 9));
            putchar('\n');
        }
    }
    if (fmt == 1) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return QW_EXIT_OK;
}
