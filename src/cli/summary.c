/* The one-screen summary printed after `analyze` and `run`. Traffic figures are this run's; the
 * host and anomaly figures are the store's, which this run has just been folded into. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/session.h"
#include "inventory/inventory.h"
#include "inventory/place.h"
#include "util/counters.h"
#include "util/timefmt.h"

static void human_bytes(uint64_t b, char out[16])
{
    const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(out, 16, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void print_traffic(FILE *out, sqlite3 *db, int64_t run)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT kind, name, flows, packets, bytes FROM traffic WHERE run_id = ?1"
                      " ORDER BY bytes DESC, name LIMIT 15";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return;
    sqlite3_bind_int64(st, 1, run);
    fprintf(out, "\nTraffic by protocol          flows      packets        bytes\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char b[16], name[64];
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        snprintf(name, sizeof name, "%s%s", (const char *)sqlite3_column_text(st, 1),
                 kind && kind[0] == 'l' ? " (link)" : "");
        human_bytes((uint64_t)sqlite3_column_int64(st, 4), b);
        if (kind && kind[0] == 'l')
            fprintf(out, "  %-24s %7s %12" PRId64 " %12s\n", name, "-",
                    (int64_t)sqlite3_column_int64(st, 3), b);
        else
            fprintf(out, "  %-24s %7" PRId64 " %12" PRId64 " %12s\n", name,
                    (int64_t)sqlite3_column_int64(st, 2), (int64_t)sqlite3_column_int64(st, 3), b);
    }
    sqlite3_finalize(st);
}

static void print_talkers(FILE *out, sqlite3 *db)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT ip, vlan, coalesce(mac, '-'), bytes_sent, bytes_recv,"
                      " flows_client + flows_server FROM hosts"
                      " ORDER BY bytes_sent + bytes_recv DESC, ip LIMIT 8";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return;
    fprintf(out, "\nTop talkers                 vlan  mac                    sent    received  flows\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char s[16], r[16];
        human_bytes((uint64_t)sqlite3_column_int64(st, 3), s);
        human_bytes((uint64_t)sqlite3_column_int64(st, 4), r);
        fprintf(out, "  %-25s %5d  %-17s %10s %10s %6" PRId64 "\n", sqlite3_column_text(st, 0),
                sqlite3_column_int(st, 1), sqlite3_column_text(st, 2), s, r,
                (int64_t)sqlite3_column_int64(st, 5));
    }
    sqlite3_finalize(st);
}

/* Assets as the inventory groups them (docs/inventory.md), their roles, and with a site file
 * how many each party answers for (docs/site-file.md, "Responsibility"). */
static void print_assets(FILE *out, struct qw_session *s)
{
    if (!s->have_inv) {
        fprintf(out, "\nAssets: unavailable (the store could not be read)\n");
        return;
    }
    const struct qw_inventory *inv = &s->inv;
    size_t by_ip = 0, facts = 0;
    const char *roles[32];
    size_t role_n[32], nroles = 0;
    for (size_t i = 0; i < inv->nassets; i++) {
        const struct qw_asset *a = &inv->assets[i];
        by_ip += a->nmacs == 0;
        for (size_t f = 0; f < a->nfacts; f++) facts += strcmp(a->facts[f].source, "oui") != 0;
        for (size_t r = 0; r < a->nroles; r++) {
            size_t k = 0;
            while (k < nroles && strcmp(roles[k], a->roles[r].role) != 0) k++;
            if (k == nroles && nroles < 32) {
                roles[nroles] = a->roles[r].role;
                role_n[nroles++] = 0;
            }
            if (k < nroles) role_n[k]++;
        }
    }
    fprintf(out, "\nAssets in the store: %zu (%zu known by IP only), %zu identity facts\n  roles:",
            inv->nassets, by_ip, facts);
    for (size_t k = 0; k < nroles; k++) fprintf(out, " %s %zu%s", roles[k], role_n[k],
                                                k + 1 < nroles ? "," : "");
    fputc('\n', out);
    if (s->site) {
        const struct qw_site *site = s->site;
        size_t *per = calloc(site->nparties + 1, sizeof *per);
        size_t unzoned = 0;
        for (size_t i = 0; per && i < inv->nassets; i++) {
            struct qw_asset_place pl;
            qw_asset_place(site, &inv->assets[i], &pl);
            per[pl.owner.party ? pl.owner.party->index : site->nparties]++;
            unzoned += pl.zone == NULL;
        }
        fprintf(out, "  by party (%s):", site->file);
        for (uint32_t p = 0; per && p < site->nparties; p++)
            fprintf(out, " %s %zu,", site->parties[p].id, per[p]);
        fprintf(out, " nobody %zu; in no zone %zu\n", per ? per[site->nparties] : 0, unzoned);
        free(per);
    }
    if (s->opt.learn) fprintf(out, "  baseline: learnt %zu assets (--learn)\n", s->learnt_assets);
}

/* Findings by severity and by the party whose job it is to act (docs/detections.md). */
static void print_findings(FILE *out, struct qw_session *s)
{
    sqlite3 *db = s->store.db;
    int64_t open = scalar(db, "SELECT count(*) FROM findings WHERE state != 'resolved'");
    fprintf(out, "\nFindings: %" PRId64 " open (%" PRIu64 " alert records this run)", open,
            qw_shards_alerts(&s->shards));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT severity, count(*) FROM findings WHERE state != 'resolved'"
                               " GROUP BY severity ORDER BY CASE severity WHEN 'critical' THEN 0"
                               " WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3"
                               " ELSE 4 END", -1, &st, NULL) == SQLITE_OK) {
        const char *sep = ": ";
        while (sqlite3_step(st) == SQLITE_ROW) {
            fprintf(out, "%s%s %" PRId64, sep, sqlite3_column_text(st, 0),
                    (int64_t)sqlite3_column_int64(st, 1));
            sep = ", ";
        }
        sqlite3_finalize(st);
    }
    fputc('\n', out);
    /* grouped by owner: who has to act, with their most severe findings first */
    if (sqlite3_prepare_v2(db, "SELECT coalesce(f.owner, 'NOBODY') AS who, count(*),"
                               " sum(f.documented = 0), (SELECT group_concat(rule) FROM (SELECT"
                               " DISTINCT g.rule FROM findings g WHERE g.state != 'resolved' AND"
                               " coalesce(g.owner, 'NOBODY') = who ORDER BY g.rule)) FROM"
                               " findings f WHERE f.state != 'resolved' GROUP BY 1 ORDER BY 2"
                               " DESC, 1",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            fprintf(out, "  %-18s %4" PRId64 " (%" PRId64 " undocumented): %.90s\n",
                    sqlite3_column_text(st, 0), (int64_t)sqlite3_column_int64(st, 1),
                    (int64_t)sqlite3_column_int64(st, 2), sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
    }
    int64_t kinds = scalar(db, "SELECT count(*) FROM anomalies");
    if (kinds) fprintf(out, "  protocol anomalies: %" PRId64 " kinds\n", kinds);
    fprintf(out, "  details: quaywatch alerts --db %s\n", s->opt.db);
}

void qw_print_summary(FILE *out, struct qw_session *s, struct qw_source *srcs, size_t nsrcs)
{
    struct qw_engine_stats st;
    qw_shards_stats(&s->shards, &st);
    char b[16], t0[QW_TIME_STR_MAX], t1[QW_TIME_STR_MAX];
    human_bytes(st.bytes, b);
    qw_time_rfc3339(st.first_ns, t0);
    qw_time_rfc3339(st.last_ns, t1);
    fprintf(out, "quaywatch %s: %zu source%s, %" PRIu64 " packets, %s", s->run.command, nsrcs,
            nsrcs == 1 ? "" : "s", st.packets, b);
    if (st.packets)
        fprintf(out, ", %s .. %s (%.0f s)", t0, t1, (double)(st.last_ns - st.first_ns) / 1e9);
    if (s->shards.n > 1) fprintf(out, "; %u workers", s->shards.n);
    fputc('\n', out);

    sqlite3 *db = s->store.db;
    print_traffic(out, db, s->store.run_id);
    print_talkers(out, db);
    print_assets(out, s);
    print_findings(out, s);

    struct qw_flow_stats fst;
    struct qw_reasm_stats rst;
    qw_shards_flow_stats(&s->shards, &fst, &rst);
    const struct qw_flow_stats *fs = &fst;
    const struct qw_reasm_stats *rs = &rst;
    fprintf(out, "\nFlows: %" PRIu64 " (timed out %" PRIu64 ", evicted %" PRIu64
                 ", port reuse %" PRIu64 ", peak %" PRIu64 " at once); TCP gaps %" PRIu64
                 " (%" PRIu64 " bytes), out-of-order segments %" PRIu64 "\n",
            fs->created, fs->timed_out, fs->evicted, fs->reused, fs->peak_active, rs->gaps,
            rs->gap_bytes, rs->queued);
    struct qw_engine_limits lim = {0};
    for (unsigned w = 0; w < s->shards.n; w++) {
        struct qw_engine_limits x;
        qw_engine_limits(qw_shards_engine(&s->shards, w), &x);
        qw_counters_add(&lim, &x, sizeof lim);
    }
    /* what each memory cap refused or pushed out (docs/performance.md) */
    fprintf(out, "Caps: flows evicted %" PRIu64 "; TCP segments refused %" PRIu64 " (total), %" PRIu64
                 " (per flow), tails %" PRIu64 "; IP datagrams dropped %" PRIu64
                 "; flows without parser %" PRIu64 ", messages not put together %" PRIu64
                 "; host updates refused %" PRIu64 ", edge updates refused %" PRIu64
                 "; detection records refused %" PRIu64 "\n",
            lim.flows_evicted, lim.reasm_refused, lim.reasm_flow_refused, lim.stream_refused,
            lim.frag_evicted, lim.app_refused, lim.loans_refused, lim.assets_refused,
            lim.edges_refused, lim.detections_refused);
    struct qw_decode_stats d = {0};
    uint64_t frag = 0, reass = 0, overl = 0;
    for (unsigned w = 0; w < s->shards.n; w++)
        for (size_t i = 0; i < nsrcs && i < s->shards.nsources; i++) {
            const struct qw_decoder *dec = qw_shards_decoder(&s->shards, w, i);
            qw_counters_add(&d, &dec->stats, sizeof d);
            frag += dec->frag.stats.fragments;
            reass += dec->frag.stats.reassembled;
            overl += dec->frag.stats.overlaps;
        }
    fprintf(out, "Decode: truncated %" PRIu64 ", malformed %" PRIu64 ", bad checksums ip %" PRIu64,
            d.truncated, d.malformed, d.bad_ip_checksum);
    if (s->opt.verify_checksums)
        fprintf(out, " tcp %" PRIu64 " udp %" PRIu64, d.bad_tcp_checksum, d.bad_udp_checksum);
    else
        fprintf(out, " (tcp and udp not verified: --verify-checksums)");
    fprintf(out, "; IP fragments %" PRIu64 " (%" PRIu64 " datagrams rebuilt, %" PRIu64
                 " overlaps)\n", frag, reass, overl);
    if (s->opt.events)
    {
        uint64_t records = s->events.records;
        for (unsigned w = 0; s->shards.logs && w < s->shards.n; w++)
            records += s->shards.logs[w].records;
        fprintf(out, "Event log: %" PRIu64 " records written to %s\n", records, s->opt.events);
    }
    fprintf(out, "Store: %s\n", s->opt.db);
    /* where the time went: reading and analysing, then ending flows and storing (and learning) */
    double reading = s->t_packets_done - s->t_start, storing = s->t_stored - s->t_packets_done;
    if (s->t_start > 0 && reading >= 0 && storing >= 0)
        fprintf(out, "Time: %.2f s reading and analysing (%.2f Mpkt/s), %.2f s ending flows and "
                     "storing%s\n",
                reading, reading > 0 ? (double)st.packets / reading / 1e6 : 0.0, storing,
                s->shards.n > 1 ? " (all workers)" : "");
}
