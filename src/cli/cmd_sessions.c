/* quaywatch sessions: the remote-access ledger. Every remote-access or VPN session (and every
 * flow from a VPN pool into a remote-access target zone) with its party, its user (named by
 * its client: RDP cookie, Telnet login, client certificate, IKE identity; else by the target's
 * own log of the login; else by RADIUS accounting of its source), source, path (through
 * a jump host or not), start, end, approval (inside a window or not), and what was done in OT
 * zones while it lasted: the operations of industrial protocols (write, program, firmware,
 * config, stop, start, restart, control) by the session's source or, for a session into a jump
 * host, by the jump host. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "site/model.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch sessions [--db FILE] [--format table|json]\n\n"
            "The remote-access ledger: every SSH, RDP, VNC, Telnet, TeamViewer, AnyDesk or VPN\n"
            "session, and every flow from a VPN pool into a remote-access target zone, with its\n"
            "party, the user its client named (RDP cookie, Telnet login, client certificate,\n"
            "IKE identity, NTLM), else the target's own log of the login, else RADIUS\n"
            "accounting of the source address, path (via a jump host or not), start and end,\n"
            "approval (inside the allowed windows or not) and the industrial operations done\n"
            "while it lasted.\n"
            "The site file given to analyze/run decides parties, windows and jump hosts.\n\n"
            "exit codes: 0 ok, 2 usage error, 3 the store cannot be read\n");
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* The sessions, each with its user: the name the client gave on the wire; else the account
 * the target device's own log says logged in from the session's source (the first such login
 * in the session's first minute, and before its end; the log may come from another address of
 * the target, one its MAC answered ARP for, as a router logs from one interface); else the
 * user the network's bookkeeping (RADIUS accounting) gave the source address to: the newest
 * such use that began no later than a minute after the session (accounting often follows the
 * first packets) with no end of a use of that address between the two. Logins are found by
 * source and time (the table's key) before the device is compared, so the ARP comparison runs
 * only for the few logins of the session's source in its first minute. */
static const char sessions_sql[] =
    "SELECT s.id, s.proto, s.client_ip, s.server_ip, s.party, s.target_zone, s.via_jump_host,"
    " s.in_window, s.into_target, s.start_ns, s.end_ns, s.packets, s.bytes, s.path,"
    " COALESCE(s.user, l.user, a.user), CASE WHEN s.user IS NOT NULL THEN s.user_source"
    " WHEN l.user IS NOT NULL THEN 'device_log' ELSE a.source END, s.flow_id FROM sessions s"
    " LEFT JOIN device_logins l ON l.rowid = (SELECT g.rowid FROM device_logins g WHERE"
    " g.from_ip = s.client_ip AND g.ts_ns >= s.start_ns AND"
    " g.ts_ns <= MIN(s.start_ns + 60000000000, s.end_ns + 5000000000) AND"
    " (g.device_ip = s.server_ip OR EXISTS (SELECT 1 FROM bindings b1 JOIN bindings b2 ON"
    " b2.mac = b1.mac AND b2.source = 'arp' WHERE b1.ip = s.server_ip AND b1.source = 'arp'"
    " AND b2.ip = g.device_ip)) ORDER BY g.ts_ns LIMIT 1)"
    " LEFT JOIN address_users a ON a.rowid = (SELECT b.rowid FROM"
    " address_users b WHERE b.ip = s.client_ip AND b.ended = 0 AND b.ts_ns <= s.start_ns +"
    " 60000000000 AND NOT EXISTS (SELECT 1 FROM address_users c WHERE c.ip = b.ip AND"
    " c.ended = 1 AND c.ts_ns > b.ts_ns AND c.ts_ns < s.start_ns) ORDER BY b.ts_ns DESC LIMIT 1)"
    " ORDER BY s.start_ns, s.id";

/* The industrial operations done by the source (or the jump host it reached) while the
 * session lasted, per device and protocol. */
static const char activity_sql[] =
    "SELECT server_ip, app_proto, server_port, group_concat(op), sum(n) FROM (SELECT server_ip,"
    " app_proto, server_port, op, sum(count) AS n FROM edge_ops WHERE client_ip IN (?1, ?2)"
    " AND first_seen <= ?4 AND last_seen >= ?3 AND op NOT IN ('session','auth')"
    " GROUP BY server_ip, app_proto, server_port, op ORDER BY server_ip, app_proto, server_port,"
    " op) GROUP BY server_ip, app_proto, server_port ORDER BY server_ip, app_proto, server_port";

int qw_cmd_sessions(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "table";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help(stdout);
            return QW_EXIT_OK;
        }
        if ((!strcmp(argv[i], "--db") || !strcmp(argv[i], "--format")) && i + 1 < argc) {
            *(!strcmp(argv[i], "--db") ? &db_path : &format) = argv[i + 1];
            i++;
            continue;
        }
        fprintf(stderr, "quaywatch sessions: unexpected argument '%s' (see --help)\n", argv[i]);
        return QW_EXIT_USAGE;
    }
    bool json = !strcmp(format, "json");
    if (!json && strcmp(format, "table")) {
        fprintf(stderr, "quaywatch sessions: --format must be table or json\n");
        return QW_EXIT_USAGE;
    }
    struct qw_store store;
    char err[512];
    if (!qw_store_open_existing(&store, db_path, err, sizeof err)) {
        fprintf(stderr, "quaywatch sessions: %s\n", err);
        return QW_EXIT_INPUT;
    }
    sqlite3 *db = store.db;
    sqlite3_stmt *st, *act;
    if (sqlite3_prepare_v2(db, sessions_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, activity_sql, -1, &act, NULL) != SQLITE_OK) {
        fprintf(stderr, "quaywatch sessions: %s: %s\n", db_path, sqlite3_errmsg(db));
        qw_store_close(&store);
        return QW_EXIT_INPUT;
    }
    static char buf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    if (json)
        qw_json_arr_begin(&j, NULL);
    else
        printf("%-27s %-27s %-8s %-15s %-15s %-16s %-20s %-14s %-9s %s\n", "start", "end",
               "proto", "source", "target", "party", "user", "path", "in window",
               "activity in OT zones");
    size_t n = 0;
    char t0[QW_TIME_STR_MAX], t1[QW_TIME_STR_MAX];
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        int64_t start = sqlite3_column_int64(st, 9), end = sqlite3_column_int64(st, 10);
        bool via_jump = sqlite3_column_int(st, 6), in_window = sqlite3_column_int(st, 7);
        qw_time_rfc3339((uint64_t)start, t0);
        qw_time_rfc3339((uint64_t)end, t1);
        /* the source acts itself; a session into a jump host acts through it (any other
         * target's own traffic, a router's clock or a PLC's peers, is not the session's) */
        bool to_jump = !strcmp(col(st, 13), "to jump host");
        sqlite3_bind_text(act, 1, col(st, 2), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(act, 2, col(st, to_jump ? 3 : 2), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(act, 3, start);
        sqlite3_bind_int64(act, 4, end);
        if (json) {
            qw_json_obj_begin(&j, NULL);
            qw_json_i64(&j, "id", sqlite3_column_int64(st, 0));
            qw_json_str(&j, "proto", col(st, 1));
            qw_json_str(&j, "source", col(st, 2));
            qw_json_str(&j, "target", col(st, 3));
            if (*col(st, 4)) qw_json_str(&j, "party", col(st, 4));
            else qw_json_null(&j, "party");
            if (*col(st, 5)) qw_json_str(&j, "target_zone", col(st, 5));
            if (*col(st, 14)) {
                qw_json_str(&j, "user", col(st, 14));
                qw_json_str(&j, "user_source", col(st, 15));
            } else {
                qw_json_null(&j, "user");
            }
            qw_json_str(&j, "path", col(st, 13));
            qw_json_bool(&j, "via_jump_host", via_jump);
            qw_json_bool(&j, "in_window", in_window);
            qw_json_bool(&j, "into_target_zone", sqlite3_column_int(st, 8) != 0);
            qw_json_str(&j, "start", t0);
            qw_json_str(&j, "end", t1);
            qw_json_i64(&j, "packets", sqlite3_column_int64(st, 11));
            qw_json_i64(&j, "bytes", sqlite3_column_int64(st, 12));
            /* the flow's id in the event log: its records say what the session did */
            qw_json_i64(&j, "flow_id", sqlite3_column_int64(st, 16));
            qw_json_arr_begin(&j, "activity");
        } else {
            printf("%-27s %-27s %-8s %-15s %-15s %-16s %-20s %-14s %-9s", t0, t1, col(st, 1),
                   col(st, 2), col(st, 3), *col(st, 4) ? col(st, 4) : "?",
                   *col(st, 14) ? col(st, 14) : "-", col(st, 13), in_window ? "yes" : "NO");
        }
        bool any = false;
        while (sqlite3_step(act) == SQLITE_ROW) {
            /* industrial operations only: a protocol the site vocabulary names and does not
             * call industrial (NTP, DNS, SMB) is everyday IT, as for the ics.* rules */
            int pi = qw_site_proto_find(col(act, 1));
            if (pi >= 0 && !qw_site_proto_industrial(pi)) continue;
            if (json) {
                qw_json_obj_begin(&j, NULL);
                qw_json_str(&j, "device", col(act, 0));
                qw_json_str(&j, "app_proto", col(act, 1));
                qw_json_i64(&j, "port", sqlite3_column_int64(act, 2));
                qw_json_str(&j, "ops", col(act, 3));
                qw_json_i64(&j, "transactions", sqlite3_column_int64(act, 4));
                qw_json_obj_end(&j);
            } else {
                printf("%s %s %s/%lld (%s)", any ? ";" : "", col(act, 0), col(act, 1),
                       (long long)sqlite3_column_int64(act, 2), col(act, 3));
            }
            any = true;
        }
        sqlite3_reset(act);
        if (json) {
            qw_json_arr_end(&j);
            qw_json_obj_end(&j);
        } else {
            printf("%s\n", any ? "" : " -");
        }
    }
    sqlite3_finalize(act);
    sqlite3_finalize(st);
    if (json) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    } else {
        printf("%zu session%s\n", n, n == 1 ? "" : "s");
    }
    qw_store_close(&store);
    return QW_EXIT_OK;
}
