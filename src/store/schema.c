/* Store schema, as forward migrations. Migration N takes the schema from version N to N+1;
 * never edit a released migration, add a new one. Times are ns since the epoch (packet time). */
#include <stdio.h>

#include "store/store.h"

const char *const qw_store_migrations[] = {
    /* 0 -> 1: runs, hosts, identity facts, communication edges, traffic, anomalies */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY, command TEXT NOT NULL, sources TEXT NOT NULL,"
    "  packets INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    "  first_seen INTEGER, last_seen INTEGER, status TEXT NOT NULL);"
    "CREATE TABLE hosts ("
    "  id INTEGER PRIMARY KEY, vlan INTEGER NOT NULL, ip TEXT NOT NULL, mac TEXT,"
    "  first_seen INTEGER, last_seen INTEGER,"
    "  pkts_sent INTEGER NOT NULL DEFAULT 0, bytes_sent INTEGER NOT NULL DEFAULT 0,"
    "  pkts_recv INTEGER NOT NULL DEFAULT 0, bytes_recv INTEGER NOT NULL DEFAULT 0,"
    "  flows_client INTEGER NOT NULL DEFAULT 0, flows_server INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (vlan, ip));"
    "CREATE TABLE identities ("
    "  host_id INTEGER NOT NULL REFERENCES hosts(id), attr TEXT NOT NULL, value TEXT NOT NULL,"
    "  source TEXT NOT NULL, first_seen INTEGER, last_seen INTEGER,"
    "  count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (host_id, attr, value, source));"
    "CREATE TABLE edges ("
    "  vlan INTEGER NOT NULL, client_ip TEXT NOT NULL, server_ip TEXT NOT NULL,"
    "  proto INTEGER NOT NULL, server_port INTEGER NOT NULL, app_proto TEXT NOT NULL,"
    "  flows INTEGER NOT NULL DEFAULT 0, packets INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0, first_seen INTEGER, last_seen INTEGER,"
    "  ops INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (vlan, client_ip, server_ip, proto, server_port, app_proto));"
    "CREATE TABLE traffic ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id), kind TEXT NOT NULL, name TEXT NOT NULL,"
    "  flows INTEGER NOT NULL DEFAULT 0, packets INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, kind, name));"
    "CREATE TABLE anomalies ("
    "  name TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0,"
    "  first_seen INTEGER, last_seen INTEGER);",
    /* 1 -> 2: identity facts from link-layer frames (PROFINET DCP, LLDP...), keyed by MAC */
    "CREATE TABLE mac_identities ("
    "  vlan INTEGER NOT NULL, mac TEXT NOT NULL, attr TEXT NOT NULL, value TEXT NOT NULL,"
    "  source TEXT NOT NULL, first_seen INTEGER, last_seen INTEGER,"
    "  count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (vlan, mac, attr, value, source));",
    /* 2 -> 3: IP-to-MAC bindings (ARP senders, link-layer sources of flows) for grouping
     * addresses into assets */
    "CREATE TABLE bindings ("
    "  vlan INTEGER NOT NULL, ip TEXT NOT NULL, mac TEXT NOT NULL, source TEXT NOT NULL,"
    "  first_seen INTEGER, last_seen INTEGER, count INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (vlan, ip, mac, source));",
    /* 3 -> 4: operation classes per edge with their times; the baseline (docs/baseline.md) */
    "CREATE TABLE edge_ops ("
    "  vlan INTEGER NOT NULL, client_ip TEXT NOT NULL, server_ip TEXT NOT NULL,"
    "  proto INTEGER NOT NULL, server_port INTEGER NOT NULL, app_proto TEXT NOT NULL,"
    "  op TEXT NOT NULL, first_seen INTEGER, last_seen INTEGER,"
    "  count INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (vlan, client_ip, server_ip, proto, server_port, app_proto, op));"
    "CREATE TABLE baseline_assets ("
    "  id TEXT PRIMARY KEY, macs TEXT NOT NULL, ips TEXT NOT NULL, vendor TEXT NOT NULL,"
    "  model TEXT NOT NULL, firmware TEXT NOT NULL, serial TEXT NOT NULL, roles TEXT NOT NULL,"
    "  learned INTEGER NOT NULL);"
    "CREATE TABLE baseline_edges ("
    "  client TEXT NOT NULL, server TEXT NOT NULL, app_proto TEXT NOT NULL,"
    "  transport TEXT NOT NULL, port INTEGER NOT NULL, ops INTEGER NOT NULL,"
    "  learned INTEGER NOT NULL, PRIMARY KEY (client, server, app_proto, transport, port));",
    /* 4 -> 5: findings (docs/detections.md), aggregated per rule, asset, peer and detail */
    "CREATE TABLE findings ("
    "  id INTEGER PRIMARY KEY, rule TEXT NOT NULL, rule_id INTEGER NOT NULL,"
    "  asset TEXT NOT NULL, peer TEXT NOT NULL, extra TEXT NOT NULL, severity TEXT NOT NULL,"
    "  owner TEXT, actor TEXT, zone TEXT, peer_zone TEXT,"
    "  documented INTEGER NOT NULL DEFAULT 0, change_id TEXT,"
    "  maintenance INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL, evidence TEXT,"
    "  flow_id INTEGER, first_seen INTEGER, last_seen INTEGER,"
    "  count INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'open',"
    "  state_changed INTEGER, UNIQUE (rule, asset, peer, extra));"
    /* the remote-access ledger (docs/detections.md, "Remote-access ledger") */
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY, proto TEXT NOT NULL, client_ip TEXT NOT NULL,"
    "  server_ip TEXT NOT NULL, party TEXT, target_zone TEXT,"
    "  via_jump_host INTEGER NOT NULL, in_window INTEGER NOT NULL,"
    "  into_target INTEGER NOT NULL, start_ns INTEGER, end_ns INTEGER,"
    "  packets INTEGER, bytes INTEGER, flow_id INTEGER, path TEXT NOT NULL);",
    /* 5 -> 6: a live run's capture counts as libpcap gives them at the stop (NULL for files):
     * packets that reached the capture socket, those the kernel's ring dropped, those the
     * interface dropped */
    "ALTER TABLE runs ADD COLUMN received INTEGER;"
    "ALTER TABLE runs ADD COLUMN dropped INTEGER;"
    "ALTER TABLE runs ADD COLUMN ifdropped INTEGER;",
    /* 6 -> 7: who the client named behind a session (an RDP cookie's user, a Telnet login, a
     * client certificate's subject, an IKE identity) and which of those it was */
    "ALTER TABLE sessions ADD COLUMN user TEXT; ALTER TABLE sessions ADD COLUMN user_source TEXT;",
    /* 7 -> 8: who the network's bookkeeping (RADIUS accounting) says uses an address from a
     * moment on (ended 0) or no more (ended 1); the ledger names the user of a session its
     * address opened meanwhile */
    "CREATE TABLE address_users ("
    "  ip TEXT NOT NULL, ts_ns INTEGER NOT NULL, ended INTEGER NOT NULL, user TEXT NOT NULL,"
    "  source TEXT NOT NULL, PRIMARY KEY (ip, ts_ns, ended, user, source));",
    /* 8 -> 9: who a device's own log says logged in to it, from which address; the ledger
     * names the user of the session from that address into it that began just before */
    "CREATE TABLE device_logins ("
    "  device_ip TEXT NOT NULL, from_ip TEXT NOT NULL, ts_ns INTEGER NOT NULL,"
    "  user TEXT NOT NULL, source TEXT NOT NULL,"
    /* the ledger looks logins up by source address and time (cmd_sessions.c) */
    "  PRIMARY KEY (from_ip, ts_ns, device_ip, user, source));",
    /* 9 -> 10: security advisories (CSAF 2.0, `quaywatch advisories import`), the products
     * they name, their vulnerabilities and what each says of each product; matched against the
     * inventory (docs/vulnerabilities.md). An advisory imported again replaces its rows. */
    "CREATE TABLE advisories ("
    "  id TEXT PRIMARY KEY, title TEXT NOT NULL, publisher TEXT NOT NULL,"
    "  version TEXT NOT NULL, released TEXT NOT NULL, url TEXT, source TEXT NOT NULL,"
    "  imported_ns INTEGER NOT NULL);"
    /* one row per leaf of the product tree: vendor, product and the version set it names */
    "CREATE TABLE advisory_products ("
    "  advisory TEXT NOT NULL, product_id TEXT NOT NULL, vendor TEXT NOT NULL,"
    "  product TEXT NOT NULL, versions TEXT NOT NULL, is_range INTEGER NOT NULL,"
    "  model_numbers TEXT NOT NULL, full_name TEXT NOT NULL,"
    "  PRIMARY KEY (advisory, product_id));"
    "CREATE TABLE advisory_vulns ("
    "  advisory TEXT NOT NULL, cve TEXT NOT NULL, title TEXT NOT NULL, cvss REAL,"
    "  vector TEXT, PRIMARY KEY (advisory, cve));"
    /* status is the CSAF product_status category (known_affected, fixed, ...) */
    "CREATE TABLE advisory_status ("
    "  advisory TEXT NOT NULL, cve TEXT NOT NULL, product_id TEXT NOT NULL,"
    "  status TEXT NOT NULL, PRIMARY KEY (advisory, cve, product_id, status));"
    "CREATE TABLE advisory_remediations ("
    "  advisory TEXT NOT NULL, cve TEXT NOT NULL, product_id TEXT NOT NULL,"
    "  category TEXT NOT NULL, details TEXT NOT NULL, url TEXT,"
    "  PRIMARY KEY (advisory, cve, product_id, category, details));",
};
const int qw_store_schema_version = sizeof qw_store_migrations / sizeof qw_store_migrations[0];

bool qw_store_migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) goto sqlerr;
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > qw_store_schema_version) {
        snprintf(err, errlen,
                 "store schema version %d is newer than this quaywatch understands (%d)", version,
                 qw_store_schema_version);
        return false;
    }
    for (int v = version; v < qw_store_schema_version; v++) {
        char pragma[40];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto sqlerr;
        if (sqlite3_exec(db, qw_store_migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "store migration to version %d failed: %s", v + 1,
                     sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto sqlerr;
    }
    return true;
sqlerr:
    snprintf(err, errlen, "store: %s", sqlite3_errmsg(db));
    return false;
}
