/* Findings in the store: one row per (rule, asset, peer, extra), its count and times merged
 * run after run, its state (open, acknowledged, resolved) kept. A resolved finding that happens
 * again is open again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"

static const char sql_finding[] =
    "INSERT INTO findings (rule, rule_id, asset, peer, extra, severity, owner, actor, zone,"
    " peer_zone, documented, change_id, maintenance, message, evidence, flow_id, first_seen,"
    " last_seen, count) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
    "?19) ON CONFLICT (rule, asset, peer, extra) DO UPDATE SET"
    " severity = excluded.severity, owner = excluded.owner, actor = excluded.actor,"
    " zone = excluded.zone, peer_zone = excluded.peer_zone, documented = excluded.documented,"
    " change_id = excluded.change_id, maintenance = excluded.maintenance,"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen),"
    " count = CASE WHEN ?20 THEN excluded.count ELSE count + excluded.count END,"
    " state = CASE WHEN state = 'resolved' AND excluded.last_seen > last_seen THEN 'open'"
    " ELSE state END";

/* How a finding names its subject in the store: the inventory id when a store-level rule gave
 * one, else the MAC it carries (qw_addr_from_mac), else the address; none for the unspecified
 * address (a finding with no peer). */
static const char *subject(const char *id, const struct qw_addr *a, char *buf, size_t cap)
{
    if (id[0]) return id;
    static const uint8_t zero16[16];
    if (memcmp(a->b, zero16, 16) == 0) return "";
    if (qw_addr_is_mac(a)) {
        const uint8_t *m = a->b + 10;
        snprintf(buf, cap, "mac:%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                 m[5]);
        return buf;
    }
    return qw_addr_str(a, buf);
}

static bool store_sessions(const struct qw_detector *const *d, size_t n, sqlite3 *db);
static bool store_address_users(const struct qw_detector *const *d, size_t n, sqlite3 *db);
static bool store_logins(const struct qw_detector *const *d, size_t n, sqlite3 *db);

/* Rows go in in time order, whatever engine or hash slot a finding sat in: store ids are the
 * same run after run and with any number of workers. */
struct finding_ref {
    const struct qw_finding_key *k;
    const struct qw_finding *x;
};

static int cmp_finding(const void *a, const void *b)
{
    const struct finding_ref *p = a, *q = b;
    if (p->x->first_ns != q->x->first_ns) return p->x->first_ns < q->x->first_ns ? -1 : 1;
    return memcmp(p->k, q->k, sizeof *p->k);
}

static int cmp_session(const void *a, const void *b)
{
    const struct qw_remote_session *p = *(const struct qw_remote_session *const *)a;
    const struct qw_remote_session *q = *(const struct qw_remote_session *const *)b;
    if (p->start_ns != q->start_ns) return p->start_ns < q->start_ns ? -1 : 1;
    if (p->flow_id != q->flow_id) return p->flow_id < q->flow_id ? -1 : 1;
    return 0;
}

/* Text is bound with SQLITE_STATIC (no copy) here: every buffer bound lives until the step
 * that uses it has run and the statement is reset. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && v[0])
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

bool qw_detect_store(const struct qw_detector *const *d, size_t n, sqlite3 *db)
{
    if (!d || n == 0) return true;
    if (!store_sessions(d, n, db) || !store_address_users(d, n, db) || !store_logins(d, n, db))
        return false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += d[i]->findings.count;
    if (total == 0) return true;
    struct finding_ref *refs = malloc(total * sizeof *refs);
    if (!refs) return false;
    size_t nrefs = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = 0;
        const void *kp;
        void *vp;
        while (nrefs < total && qw_hmap_next(&d[i]->findings, &pos, &kp, &vp))
            refs[nrefs++] = (struct finding_ref){kp, vp};
    }
    qsort(refs, nrefs, sizeof *refs, cmp_finding);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql_finding, -1, &st, NULL) != SQLITE_OK) {
        free(refs);
        return false;
    }
    bool ok = true;
    for (size_t r = 0; ok && r < nrefs; r++) {
        const struct qw_finding_key *k = refs[r].k;
        const struct qw_finding *x = refs[r].x;
        char a[64], p[64];
        sqlite3_bind_text(st, 1, qw_rules[k->rule].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, qw_rules[k->rule].id);
        sqlite3_bind_text(st, 3, subject(x->asset_id, &k->asset, a, sizeof a), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, subject(x->peer_id, &k->peer, p, sizeof p), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 5, k->extra, (int)strnlen(k->extra, sizeof k->extra),
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 6, qw_severity_names[x->severity], -1, SQLITE_STATIC);
        bind_text(st, 7, x->owner);
        bind_text(st, 8, x->actor);
        bind_text(st, 9, x->zone);
        bind_text(st, 10, x->peer_zone);
        sqlite3_bind_int(st, 11, x->documented);
        bind_text(st, 12, x->change_id);
        sqlite3_bind_int(st, 13, x->maintenance);
        sqlite3_bind_text(st, 14, x->message, -1, SQLITE_STATIC);
        bind_text(st, 15, x->evidence);
        sqlite3_bind_int64(st, 16, (int64_t)x->flow_id);
        sqlite3_bind_int64(st, 17, (int64_t)x->first_ns);
        sqlite3_bind_int64(st, 18, (int64_t)x->last_ns);
        sqlite3_bind_int64(st, 19, (int64_t)x->count);
        sqlite3_bind_int(st, 20, x->stateful);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    free(refs);
    return ok;
}

static bool store_sessions(const struct qw_detector *const *d, size_t n, sqlite3 *db)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += d[i]->nsessions;
    if (!total) return true;
    const struct qw_remote_session **all = malloc(total * sizeof *all);
    if (!all) return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d[i]->nsessions; j++) all[k++] = &d[i]->sessions[j];
    qsort(all, total, sizeof *all, cmp_session);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO sessions (proto, client_ip, server_ip, party, target_zone,"
                           " via_jump_host, in_window, into_target, start_ns, end_ns, packets,"
                           " bytes, flow_id, path, user, user_source) VALUES (?1,?2,?3,?4,?5,?6,"
                           "?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
                           -1, &st, NULL) != SQLITE_OK) {
        free(all);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < total; i++) {
        const struct qw_remote_session *s = all[i];
        char c[46], v[46];
        sqlite3_bind_text(st, 1, s->proto, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, qw_addr_str(&s->client, c), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, qw_addr_str(&s->server, v), -1, SQLITE_STATIC);
        bind_text(st, 4, s->party);
        bind_text(st, 5, s->target_zone);
        sqlite3_bind_int(st, 6, s->via_jump_host);
        sqlite3_bind_int(st, 7, s->in_window);
        sqlite3_bind_int(st, 8, s->into_target);
        sqlite3_bind_int64(st, 9, (int64_t)s->start_ns);
        sqlite3_bind_int64(st, 10, (int64_t)s->end_ns);
        sqlite3_bind_int64(st, 11, (int64_t)s->pkts);
        sqlite3_bind_int64(st, 12, (int64_t)s->bytes);
        sqlite3_bind_int64(st, 13, (int64_t)s->flow_id);
        sqlite3_bind_text(st, 14, s->to_jump_host    ? "to jump host"
                                  : s->via_jump_host ? "via jump host"
                                                     : "direct",
                          -1, SQLITE_STATIC);
        bind_text(st, 15, s->user.name);
        bind_text(st, 16, s->user.source);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(all);
    return ok;
}

/* Address uses go in as they came; the key drops a message the NAS sent twice at once. Order
 * does not matter to the table, so engines' lists are taken as they are. */
static bool store_address_users(const struct qw_detector *const *d, size_t n, sqlite3 *db)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += d[i]->naddress_users;
    if (!total) return true;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO address_users (ip, ts_ns, ended, user, source)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t j = 0; ok && j < d[i]->naddress_users; j++) {
            const struct qw_address_user *u = &d[i]->address_users[j];
            char a[46];
            sqlite3_bind_text(st, 1, qw_addr_str(&u->ip, a), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (int64_t)u->ts_ns);
            sqlite3_bind_int(st, 3, u->ended);
            sqlite3_bind_text(st, 4, u->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, u->source, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_reset(st);
        }
    }
    sqlite3_finalize(st);
    return ok;
}

/* Logins devices reported, as they came (the key drops a message sent twice at once). */
static bool store_logins(const struct qw_detector *const *d, size_t n, sqlite3 *db)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += d[i]->nlogins;
    if (!total) return true;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO device_logins (device_ip, from_ip, ts_ns, user,"
                           " source) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t j = 0; ok && j < d[i]->nlogins; j++) {
            const struct qw_device_login *l = &d[i]->logins[j];
            char a[46], b[46];
            sqlite3_bind_text(st, 1, qw_addr_str(&l->device, a), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, qw_addr_str(&l->from, b), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (int64_t)l->ts_ns);
            sqlite3_bind_text(st, 4, l->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, l->source, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_reset(st);
        }
    }
    sqlite3_finalize(st);
    return ok;
}

bool qw_detect_known(sqlite3 *db, enum qw_rule rule, const char *asset, const char *peer,
                     const char *extra)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM findings WHERE rule = ?1 AND asset = ?2 AND"
                               " peer = ?3 AND extra = ?4", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, qw_rules[rule].name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, asset, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, peer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, extra, -1, SQLITE_STATIC);
    bool known = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return known;
}
