#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "engine/emit.h"
#include "proto/proto.h"

static bool set_err(struct qw_store *s, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "store: %s: %s", what, s->db ? sqlite3_errmsg(s->db) : "not open");
    return false;
}

bool qw_store_open_existing(struct qw_store *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (access(path, F_OK) != 0) {
        snprintf(err, errlen, "%s: no such store (analyze or run writes one)", path);
        return false;
    }
    return qw_store_open(s, path, err, errlen);
}

/* SQLite's memory statistics take a global mutex on every allocation; nothing reads them. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

bool qw_store_open(struct qw_store *s, const char *path, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    memset(s, 0, sizeof *s);
    /* One thread at a time uses the connection (the capture thread, with the workers paused
     * at a commit), so SQLite's own per-call mutexes are not needed. */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open store: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        qw_store_close(s);
        return false;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            " PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: not a usable SQLite store: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        qw_store_close(s);
        return false;
    }
    if (!qw_store_migrate(s->db, err, errlen)) {
        qw_store_close(s);
        return false;
    }
    return true;
}

static void *checkpoint_main(void *arg)
{
    const char *path = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK)
        /* the pragma reads the store's header first, so the connection finds the log */
        sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
    sqlite3_close(db); /* never the last connection: the store's own stays open meanwhile */
    return NULL;
}

void qw_store_checkpoint_start(struct qw_store *s)
{
    if (!s->db || s->ckpt_started) return;
    const char *path = sqlite3_db_filename(s->db, "main");
    if (!path || !path[0]) return; /* in memory or temporary: nothing to copy */
    s->ckpt_path = strdup(path);
    if (s->ckpt_path && pthread_create(&s->ckpt_thread, NULL, checkpoint_main, s->ckpt_path) == 0) {
        s->ckpt_started = true;
        return;
    }
    free(s->ckpt_path);
    s->ckpt_path = NULL;
}

void qw_store_checkpoint_wait(struct qw_store *s)
{
    if (!s->ckpt_started) return;
    pthread_join(s->ckpt_thread, NULL);
    s->ckpt_started = false;
    free(s->ckpt_path);
    s->ckpt_path = NULL;
}

void qw_store_close(struct qw_store *s)
{
    qw_store_checkpoint_wait(s);
    if (s->db) sqlite3_close(s->db);
    s->db = NULL;
}

static const char *app_name(int16_t app)
{
    return app >= 0 && (size_t)app < qw_protocol_count ? qw_protocols[app]->name : "";
}

/* Prepared statements of one batch. */
struct batch {
    sqlite3_stmt *host, *ident, *mac_ident, *binding, *edge, *edge_op, *traffic, *anomaly;
};

static const char sql_host[] =
    "INSERT INTO hosts (vlan, ip, mac, first_seen, last_seen, pkts_sent, bytes_sent, pkts_recv,"
    " bytes_recv, flows_client, flows_server) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
    " ON CONFLICT (vlan, ip) DO UPDATE SET mac = CASE WHEN excluded.mac IS NOT NULL AND"
    " (mac IS NULL OR coalesce(excluded.last_seen, 0) >= coalesce(last_seen, 0)) THEN excluded.mac"
    " ELSE mac END,"
    " first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen,"
    " first_seen)), last_seen = max(coalesce(last_seen, 0), coalesce(excluded.last_seen, 0)),"
    " pkts_sent = pkts_sent + excluded.pkts_sent, bytes_sent = bytes_sent + excluded.bytes_sent,"
    " pkts_recv = pkts_recv + excluded.pkts_recv, bytes_recv = bytes_recv + excluded.bytes_recv,"
    " flows_client = flows_client + excluded.flows_client,"
    " flows_server = flows_server + excluded.flows_server";
static const char sql_ident[] =
    "INSERT INTO identities (host_id, attr, value, source, first_seen, last_seen, count)"
    " VALUES ((SELECT id FROM hosts WHERE vlan = ?1 AND ip = ?2), ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (host_id, attr, value, source) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count";
static const char sql_mac_ident[] =
    "INSERT INTO mac_identities (vlan, mac, attr, value, source, first_seen, last_seen, count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (vlan, mac, attr, value, source) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count";
static const char sql_binding[] =
    "INSERT INTO bindings (vlan, ip, mac, source, first_seen, last_seen, count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (vlan, ip, mac, source) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count";
static const char sql_edge[] =
    "INSERT INTO edges (vlan, client_ip, server_ip, proto, server_port, app_proto, flows,"
    " packets, bytes, first_seen, last_seen, ops) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
    " ON CONFLICT (vlan, client_ip, server_ip, proto, server_port, app_proto) DO UPDATE SET"
    " flows = flows + excluded.flows, packets = packets + excluded.packets,"
    " bytes = bytes + excluded.bytes, first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen), ops = ops | excluded.ops";
static const char sql_edge_op[] =
    "INSERT INTO edge_ops (vlan, client_ip, server_ip, proto, server_port, app_proto, op,"
    " first_seen, last_seen, count) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
    " ON CONFLICT (vlan, client_ip, server_ip, proto, server_port, app_proto, op) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count";
static const char sql_traffic[] =
    "INSERT INTO traffic (run_id, kind, name, flows, packets, bytes) VALUES (?1,?2,?3,?4,?5,?6)"
    " ON CONFLICT (run_id, kind, name) DO UPDATE SET flows = flows + excluded.flows,"
    " packets = packets + excluded.packets, bytes = bytes + excluded.bytes";
static const char sql_anomaly[] =
    "INSERT INTO anomalies (name, count, first_seen, last_seen) VALUES (?1,?2,?3,?4)"
    " ON CONFLICT (name) DO UPDATE SET count = count + excluded.count,"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen)";

/* Run a bound upsert and make the statement ready for the next row. Text is bound with
 * SQLITE_STATIC throughout (no copy): every buffer bound lives until this call, which resets the
 * statement and drops the bindings. */
static bool step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static bool write_hosts(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->hosts, &pos, &kp, &vp)) {
        const struct qw_host_key *k = kp;
        const struct qw_host_val *h = vp;
        char ip[46], mac[18];
        sqlite3_bind_int(b->host, 1, k->vlan);
        sqlite3_bind_text(b->host, 2, qw_addr_str(&k->ip, ip), -1, SQLITE_STATIC);
        if (h->has_mac) {
            qw_mac_str(h->mac, mac);
            sqlite3_bind_text(b->host, 3, mac, -1, SQLITE_STATIC);
        }
        if (h->first_ns) sqlite3_bind_int64(b->host, 4, (int64_t)h->first_ns);
        if (h->last_ns) sqlite3_bind_int64(b->host, 5, (int64_t)h->last_ns);
        sqlite3_bind_int64(b->host, 6, (int64_t)h->pkts_sent);
        sqlite3_bind_int64(b->host, 7, (int64_t)h->bytes_sent);
        sqlite3_bind_int64(b->host, 8, (int64_t)h->pkts_recv);
        sqlite3_bind_int64(b->host, 9, (int64_t)h->bytes_recv);
        sqlite3_bind_int64(b->host, 10, (int64_t)h->flows_client);
        sqlite3_bind_int64(b->host, 11, (int64_t)h->flows_server);
        if (!step(b->host)) return false;
    }
    return true;
}

static bool write_identities(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->identities, &pos, &kp, &vp)) {
        const struct qw_ident_key *k = kp;
        const struct qw_ident_val *v = vp;
        char ip[46];
        sqlite3_bind_int(b->ident, 1, k->host.vlan);
        sqlite3_bind_text(b->ident, 2, qw_addr_str(&k->host.ip, ip), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->ident, 3, k->attr, -1, SQLITE_STATIC);
        /* values are packet bytes: stored as text up to the first NUL */
        sqlite3_bind_text(b->ident, 4, k->value, (int)strnlen(k->value, sizeof k->value),
                          SQLITE_STATIC);
        sqlite3_bind_text(b->ident, 5, app_name(v->app), -1, SQLITE_STATIC);
        sqlite3_bind_int64(b->ident, 6, (int64_t)v->first_ns);
        sqlite3_bind_int64(b->ident, 7, (int64_t)v->last_ns);
        sqlite3_bind_int64(b->ident, 8, (int64_t)v->count);
        if (!step(b->ident)) return false;
    }
    return true;
}

static bool write_mac_identities(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->mac_identities, &pos, &kp, &vp)) {
        const struct qw_mac_ident_key *k = kp;
        const struct qw_ident_val *v = vp;
        char mac[18];
        sqlite3_bind_int(b->mac_ident, 1, k->vlan);
        sqlite3_bind_text(b->mac_ident, 2, qw_mac_str(k->mac, mac), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->mac_ident, 3, k->attr, -1, SQLITE_STATIC);
        sqlite3_bind_text(b->mac_ident, 4, k->value, (int)strnlen(k->value, sizeof k->value),
                          SQLITE_STATIC);
        sqlite3_bind_text(b->mac_ident, 5, app_name(v->app), -1, SQLITE_STATIC);
        sqlite3_bind_int64(b->mac_ident, 6, (int64_t)v->first_ns);
        sqlite3_bind_int64(b->mac_ident, 7, (int64_t)v->last_ns);
        sqlite3_bind_int64(b->mac_ident, 8, (int64_t)v->count);
        if (!step(b->mac_ident)) return false;
    }
    return true;
}

static bool write_bindings(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->bindings, &pos, &kp, &vp)) {
        const struct qw_binding_key *k = kp;
        const struct qw_binding_val *v = vp;
        char ip[46], mac[18];
        sqlite3_bind_int(b->binding, 1, k->vlan);
        sqlite3_bind_text(b->binding, 2, qw_addr_str(&k->ip, ip), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->binding, 3, qw_mac_str(k->mac, mac), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->binding, 4,
                          k->source == QW_BIND_ARP    ? "arp"
                          : k->source == QW_BIND_DST ? "dst"
                                                      : "flow",
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(b->binding, 5, (int64_t)v->first_ns);
        sqlite3_bind_int64(b->binding, 6, (int64_t)v->last_ns);
        sqlite3_bind_int64(b->binding, 7, (int64_t)v->count);
        if (!step(b->binding)) return false;
    }
    return true;
}

static bool write_edges(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->edges, &pos, &kp, &vp)) {
        const struct qw_edge_key *k = kp;
        const struct qw_edge_val *e = vp;
        char c[46], sv[46];
        sqlite3_bind_int(b->edge, 1, k->vlan);
        sqlite3_bind_text(b->edge, 2, qw_addr_str(&k->client, c), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->edge, 3, qw_addr_str(&k->server, sv), -1, SQLITE_STATIC);
        sqlite3_bind_int(b->edge, 4, k->l4proto);
        sqlite3_bind_int(b->edge, 5, k->server_port);
        sqlite3_bind_text(b->edge, 6, app_name(k->app), -1, SQLITE_STATIC);
        sqlite3_bind_int64(b->edge, 7, (int64_t)e->flows);
        sqlite3_bind_int64(b->edge, 8, (int64_t)e->pkts);
        sqlite3_bind_int64(b->edge, 9, (int64_t)e->bytes);
        sqlite3_bind_int64(b->edge, 10, (int64_t)e->first_ns);
        sqlite3_bind_int64(b->edge, 11, (int64_t)e->last_ns);
        sqlite3_bind_int64(b->edge, 12, e->ops);
        if (!step(b->edge)) return false;
    }
    return true;
}

static bool write_edge_ops(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->edge_ops, &pos, &kp, &vp)) {
        const struct qw_edge_op_key *k = kp;
        const struct qw_edge_op_val *v = vp;
        char c[46], sv[46];
        sqlite3_bind_int(b->edge_op, 1, k->edge.vlan);
        sqlite3_bind_text(b->edge_op, 2, qw_addr_str(&k->edge.client, c), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->edge_op, 3, qw_addr_str(&k->edge.server, sv), -1, SQLITE_STATIC);
        sqlite3_bind_int(b->edge_op, 4, k->edge.l4proto);
        sqlite3_bind_int(b->edge_op, 5, k->edge.server_port);
        sqlite3_bind_text(b->edge_op, 6, app_name(k->edge.app), -1, SQLITE_STATIC);
        sqlite3_bind_text(b->edge_op, 7, k->op < 15 ? qw_op_names[k->op] : "?", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(b->edge_op, 8, (int64_t)v->first_ns);
        sqlite3_bind_int64(b->edge_op, 9, (int64_t)v->last_ns);
        sqlite3_bind_int64(b->edge_op, 10, (int64_t)v->count);
        if (!step(b->edge_op)) return false;
    }
    return true;
}

static const char *l2_name(uint16_t ethertype, char buf[24])
{
    switch (ethertype) {
    case 0x0806: return "arp";
    case 0x88cc: return "lldp";
    case 0x8892: return "profinet";
    case 0x88b8: return "goose";
    case 0x88ba: return "sv";
    case 0x8100: return "vlan";
    case 0x888e: return "eapol";
    case 0x88e3: return "mrp";
    case 0x88f7: return "ptp";
    case 0x8863: return "pppoe_discovery";
    case 0x0000: return "llc";
    default: snprintf(buf, 24, "ethertype_0x%04x", ethertype); return buf;
    }
}

static bool traffic_row(struct batch *b, int64_t run, const char *kind, const char *name,
                        const struct qw_traffic *t)
{
    sqlite3_bind_int64(b->traffic, 1, run);
    sqlite3_bind_text(b->traffic, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(b->traffic, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(b->traffic, 4, (int64_t)t->flows);
    sqlite3_bind_int64(b->traffic, 5, (int64_t)t->pkts);
    sqlite3_bind_int64(b->traffic, 6, (int64_t)t->bytes);
    return step(b->traffic);
}

static bool write_traffic(struct batch *b, const struct qw_observer *o, int64_t run)
{
    for (size_t i = 0; i < o->napp; i++) {
        const struct qw_traffic *t = &o->app_traffic[i];
        if (!t->flows) continue;
        if (!traffic_row(b, run, "app", i == 0 ? "unknown" : qw_protocols[i - 1]->name, t))
            return false;
    }
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->l2, &pos, &kp, &vp)) {
        char buf[24];
        const struct qw_l2_key *k = kp;
        if (!traffic_row(b, run, "l2", l2_name(k->ethertype, buf), vp)) return false;
    }
    return true;
}

static bool write_anomalies(struct batch *b, const struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->anomalies, &pos, &kp, &vp)) {
        const struct qw_anom_key *k = kp;
        const struct qw_anom_val *v = vp;
        sqlite3_bind_text(b->anomaly, 1, k->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(b->anomaly, 2, (int64_t)v->count);
        sqlite3_bind_int64(b->anomaly, 3, (int64_t)v->first_ns);
        sqlite3_bind_int64(b->anomaly, 4, (int64_t)v->last_ns);
        if (!step(b->anomaly)) return false;
    }
    return true;
}

static bool write_run(struct qw_store *s, const struct qw_run_info *r)
{
    sqlite3_stmt *st;
    const char *sql =
        s->run_id ? "UPDATE runs SET packets=?1, bytes=?2, first_seen=?3, last_seen=?4,"
                    " status=?5, received=?8, dropped=?9, ifdropped=?10 WHERE id=?6"
                  : "INSERT INTO runs (packets, bytes, first_seen, last_seen, status, command,"
                    " sources, received, dropped, ifdropped)"
                    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return false;
    sqlite3_bind_int64(st, 1, (int64_t)r->packets);
    sqlite3_bind_int64(st, 2, (int64_t)r->bytes);
    if (r->first_ns) sqlite3_bind_int64(st, 3, (int64_t)r->first_ns);
    if (r->last_ns) sqlite3_bind_int64(st, 4, (int64_t)r->last_ns);
    sqlite3_bind_text(st, 5, r->status, -1, SQLITE_STATIC);
    if (r->have_capture_counts) {
        sqlite3_bind_int64(st, 8, (int64_t)r->received);
        sqlite3_bind_int64(st, 9, (int64_t)r->dropped);
        sqlite3_bind_int64(st, 10, (int64_t)r->ifdropped);
    }
    if (s->run_id) {
        sqlite3_bind_int64(st, 6, s->run_id);
    } else {
        sqlite3_bind_text(st, 6, r->command, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, r->sources, -1, SQLITE_STATIC);
    }
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (ok && !s->run_id) s->run_id = sqlite3_last_insert_rowid(s->db);
    return ok;
}

/* One engine's observations and findings into the open transaction. */
static bool write_engine(struct batch *b, const struct qw_observer *o, int64_t run_id)
{
    return write_hosts(b, o) && write_identities(b, o) && write_mac_identities(b, o) &&
           write_bindings(b, o) && write_edge_ops(b, o) && write_edges(b, o) &&
           write_traffic(b, o, run_id) && write_anomalies(b, o);
}

bool qw_store_commit(struct qw_store *s, const struct qw_observer *const *obs,
                     const struct qw_detector *const *det, size_t n,
                     const struct qw_run_info *r, char *err, size_t errlen)
{
    struct batch b = {0};
    int64_t saved_run = s->run_id;
    qw_store_checkpoint_wait(s);
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return set_err(s, err, errlen, "begin");
    bool ok = sqlite3_prepare_v2(s->db, sql_host, -1, &b.host, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_ident, -1, &b.ident, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_mac_ident, -1, &b.mac_ident, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_binding, -1, &b.binding, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_edge, -1, &b.edge, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_edge_op, -1, &b.edge_op, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_traffic, -1, &b.traffic, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(s->db, sql_anomaly, -1, &b.anomaly, NULL) == SQLITE_OK &&
              write_run(s, r);
    /* every store upsert adds, takes the min/max or the newest value: the engines of several
     * workers fold into the same rows as one engine's observations would */
    for (size_t i = 0; ok && i < n; i++) ok = write_engine(&b, obs[i], s->run_id);
    ok = ok && (!det || qw_detect_store(det, n, s->db));
    if (!ok) set_err(s, err, errlen, "writing batch");
    sqlite3_finalize(b.host);
    sqlite3_finalize(b.ident);
    sqlite3_finalize(b.mac_ident);
    sqlite3_finalize(b.binding);
    sqlite3_finalize(b.edge);
    sqlite3_finalize(b.edge_op);
    sqlite3_finalize(b.traffic);
    sqlite3_finalize(b.anomaly);
    if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        ok = set_err(s, err, errlen, "commit");
    }
    if (!ok) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->run_id = saved_run; /* the run row went with the rollback */
    }
    return ok;
}
