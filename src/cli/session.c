#include "cli/session.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/oui.h"
#include "baseline/baseline.h"
#include "cli/cli.h"
#include "inventory/inventory.h"
#include "util/timefmt.h"

const char qw_session_options_help[] =
    "  --db FILE        SQLite store to add to (default quaywatch.db)\n"
    "  --events FILE    write the JSON-lines event log to FILE ('-' for stdout)\n"
    "  --site FILE      site file (YAML); checked before anything is written\n"
    "  --flow-cap N     flows tracked at once before the oldest is evicted (default 1000000)\n"
    "  --flow-timeout CLASS=SECONDS\n"
    "                   idle timeout of a flow class: tcp-new (120), tcp-established (3600),\n"
    "                   tcp-closed (30), udp (180), other (60); repeatable\n"
    "  --learn          fold what this run saw into the baseline (docs/baseline.md)\n"
    "  --syslog HOST:PORT\n"
    "                   send every new finding to a syslog receiver (RFC 5424) as it happens\n"
    "  --syslog-proto udp|tcp   transport (default udp; tcp uses octet-counting framing)\n"
    "  --syslog-format json|cef the alert as the event log's JSON record (default) or CEF\n"
    "  --reasm-cap MB   TCP data held across flows: out-of-order segments and unparsed tails\n"
    "                   (default 128)\n"
    "  --reasm-flow-cap KB  out-of-order bytes queued per flow (default 512)\n"
    "  --frag-cap N     IP datagrams in reassembly at once (default 64)\n"
    "  --app-cap MB     parser state across flows; past it new flows get no parser (default 1024)\n"
    "  --asset-cap N    hosts per store batch and engine (default 262144)\n"
    "  --edge-cap N     communication edges per store batch and engine (default 1048576)\n"
    "  --workers N      analyse on N threads, flows shared out by address pair (default 1;\n"
    "                   results are the same as with one, docs/performance.md)\n"
    "  --verify-checksums  count TCP and UDP segments with a bad checksum in the summary\n"
    "                   (off: they cover every payload byte; such segments are analysed\n"
    "                   either way, docs/performance.md)\n"
    "  --quiet          no summary at the end\n";

bool qw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = (uint32_t)v;
    return true;
}

static const char *need_value(int argc, char **argv, int *i, const char *cmd)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "quaywatch %s: option %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int qw_session_option(struct qw_session_opts *o, int argc, char **argv, int *i, const char *cmd)
{
    const char *a = argv[*i];
    bool is_db = strcmp(a, "--db") == 0, is_events = strcmp(a, "--events") == 0;
    if (is_db || is_events || strcmp(a, "--site") == 0) {
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        if (is_db)
            o->db = v;
        else if (is_events)
            o->events = v;
        else
            o->site = v;
        return 1;
    }
    if (strcmp(a, "--flow-cap") == 0) {
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        if (!qw_parse_u32(v, 1024, 100000000, &o->flow_cap)) {
            fprintf(stderr, "quaywatch %s: --flow-cap: '%s' is not a number in 1024..100000000\n",
                    cmd, v);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--flow-timeout") == 0) {
        static const char *const classes[QW_TCLASS_COUNT] = {
            [QW_TCLASS_TCP_NEW] = "tcp-new", [QW_TCLASS_TCP_ESTABLISHED] = "tcp-established",
            [QW_TCLASS_TCP_CLOSED] = "tcp-closed", [QW_TCLASS_UDP] = "udp",
            [QW_TCLASS_OTHER] = "other"};
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        const char *eq = strchr(v, '=');
        for (int c = 0; eq && c < QW_TCLASS_COUNT; c++) {
            if (strlen(classes[c]) == (size_t)(eq - v) && strncmp(v, classes[c], (size_t)(eq - v)) == 0 &&
                qw_parse_u32(eq + 1, 1, 1000000000, &o->timeouts.sec[c]))
                return 1;
        }
        fprintf(stderr, "quaywatch %s: --flow-timeout: '%s' is not CLASS=SECONDS with CLASS one "
                        "of tcp-new, tcp-established, tcp-closed, udp, other\n", cmd, v);
        return -1;
    }
    static const struct {
        const char *name;
        size_t off;
        uint32_t min, max;
    } caps[] = {
        {"--reasm-cap", offsetof(struct qw_session_opts, reasm_cap_mb), 1, 65536},
        {"--reasm-flow-cap", offsetof(struct qw_session_opts, reasm_flow_cap_kb), 4, 1048576},
        {"--frag-cap", offsetof(struct qw_session_opts, frag_cap), 1, 1000000},
        {"--app-cap", offsetof(struct qw_session_opts, app_cap_mb), 1, 1048576},
        {"--asset-cap", offsetof(struct qw_session_opts, asset_cap), 16, 100000000},
        {"--edge-cap", offsetof(struct qw_session_opts, edge_cap), 16, 100000000},
    };
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        if (strcmp(a, caps[c].name) != 0) continue;
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        uint32_t *slot = (uint32_t *)((char *)o + caps[c].off);
        if (!qw_parse_u32(v, caps[c].min, caps[c].max, slot)) {
            fprintf(stderr, "quaywatch %s: %s: '%s' is not a number in %u..%u\n", cmd, a, v,
                    caps[c].min, caps[c].max);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--workers") == 0) {
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        if (!qw_parse_u32(v, 1, QW_WORKERS_MAX, &o->workers)) {
            fprintf(stderr, "quaywatch %s: --workers: '%s' is not a number in 1..%u\n", cmd, v,
                    QW_WORKERS_MAX);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
        o->quiet = true;
        return 1;
    }
    if (strcmp(a, "--learn") == 0) {
        o->learn = true;
        return 1;
    }
    if (strcmp(a, "--verify-checksums") == 0) {
        o->verify_checksums = true;
        return 1;
    }
    if (!strcmp(a, "--syslog") || !strcmp(a, "--syslog-proto") || !strcmp(a, "--syslog-format")) {
        const char *v = need_value(argc, argv, i, cmd);
        if (!v) return -1;
        if (!strcmp(a, "--syslog")) {
            o->syslog = v;
        } else if (!strcmp(a, "--syslog-proto")) {
            if (strcmp(v, "udp") && strcmp(v, "tcp")) {
                fprintf(stderr, "quaywatch %s: --syslog-proto must be udp or tcp\n", cmd);
                return -1;
            }
            o->syslog_tcp = !strcmp(v, "tcp");
        } else {
            if (strcmp(v, "json") && strcmp(v, "cef")) {
                fprintf(stderr, "quaywatch %s: --syslog-format must be json or cef\n", cmd);
                return -1;
            }
            o->syslog_cef = !strcmp(v, "cef");
        }
        return 1;
    }
    return 0;
}

/* ---- the site file ------------------------------------------------------------------------ */

static struct qw_site *load_site(const char *path)
{
    struct qw_site_errors *err = malloc(sizeof *err);
    if (!err) {
        fprintf(stderr, "%s: out of memory loading the site file\n", path);
        return NULL;
    }
    struct qw_site *site = qw_site_load_file(path, NULL, err);
    if (!site) qw_site_errors_print(err, stderr);
    free(err);
    return site;
}

bool qw_session_load_site(struct qw_session *s)
{
    if (!s->opt.site || s->site) return true;
    s->site = load_site(s->opt.site);
    return s->site != NULL;
}

static int start(struct qw_session *s, const char *command, const int *linktypes,
                 size_t nsources, enum qw_feed feed)
{
    if (!s->opt.db) s->opt.db = "quaywatch.db";
    char err[512];
    if (!qw_store_open(&s->store, s->opt.db, err, sizeof err)) {
        fprintf(stderr, "quaywatch %s: %s\n", command, err);
        return QW_EXIT_FAILURE;
    }
    if (s->opt.events) {
        if (!qw_eventlog_open(&s->events, s->opt.events)) {
            fprintf(stderr, "quaywatch %s: %s: cannot write event log: %s\n", command,
                    s->opt.events, strerror(errno));
            qw_store_close(&s->store);
            return QW_EXIT_FAILURE;
        }
        s->have_events = true;
    }
    if (s->opt.syslog) {
        if (!qw_syslog_open(&s->syslog, s->opt.syslog, s->opt.syslog_tcp,
                            s->opt.syslog_cef ? QW_SYSLOG_CEF : QW_SYSLOG_JSON, err, sizeof err)) {
            fprintf(stderr, "quaywatch %s: %s\n", command, err);
            if (s->have_events) qw_eventlog_close(&s->events);
            s->have_events = false;
            qw_store_close(&s->store);
            return QW_EXIT_FAILURE;
        }
        s->have_syslog = true;
    }
    struct qw_engine_config cfg = {.flow_cap = s->opt.flow_cap,
                                   .reasm_memcap = (size_t)s->opt.reasm_cap_mb << 20,
                                   .reasm_flow_cap = (size_t)s->opt.reasm_flow_cap_kb << 10,
                                   .frag_cap = s->opt.frag_cap,
                                   .app_memcap = (size_t)s->opt.app_cap_mb << 20,
                                   .asset_cap = s->opt.asset_cap,
                                   .edge_cap = s->opt.edge_cap,
                                   .timeouts = s->opt.timeouts,
                                   .events = s->have_events ? &s->events : NULL,
                                   .site = s->site,
                                   .syslog = s->have_syslog ? &s->syslog : NULL,
                                   .verify_checksums = s->opt.verify_checksums};
    if (!qw_shards_init(&s->shards, s->opt.workers, &cfg, linktypes, nsources, feed)) {
        fprintf(stderr, "quaywatch %s: cannot start %u engine%s (out of memory or threads)\n",
                command, s->opt.workers ? s->opt.workers : 1, s->opt.workers > 1 ? "s" : "");
        return QW_EXIT_FAILURE;
    }
    s->have_shards = true;
    /* the MAC registries are needed only for the inventory at the finish: load them now, on
     * the side, rather than then, when the run's last steps leave a core idle */
    s->have_oui_thread = qw_oui_preload_start(&s->oui_thread);
    s->t_start = qw_monotonic_seconds();
    /* what the baseline holds as normal quiets ics.write and discovery for known pairs */
    bool baseline_ok = true;
    for (unsigned i = 0; i < s->shards.n; i++)
        baseline_ok &= qw_detect_load_baseline(&qw_shards_engine(&s->shards, i)->detect,
                                               s->store.db);
    if (!baseline_ok)
        fprintf(stderr, "quaywatch %s: the baseline could not be read; detections run without "
                        "it\n", command);
    s->run.command = command;
    s->run.sources = s->sources;
    return QW_EXIT_OK;
}

int qw_session_start(struct qw_session *s, const char *command, const int *linktypes,
                     size_t nsources, enum qw_feed feed)
{
    if (!qw_session_load_site(s)) return QW_EXIT_USAGE;
    int rc = start(s, command, linktypes, nsources, feed);
    if (rc != QW_EXIT_OK) {
        /* callers return at once on failure: the site model goes with it */
        qw_site_free(s->site);
        s->site = NULL;
    }
    return rc;
}

void qw_session_packet(struct qw_session *s, size_t src, const uint8_t *frame, uint32_t caplen,
                       uint32_t wirelen, uint64_t ts_ns)
{
    qw_shards_packet(&s->shards, src, frame, caplen, wirelen, ts_ns);
}

bool qw_session_run(struct qw_session *s, const struct qw_pull *src)
{
    if (qw_shards_run(&s->shards, src)) return true;
    fprintf(stderr, "quaywatch %s: out of memory for the engines' batches\n", s->run.command);
    return false;
}

uint64_t qw_session_packets(const struct qw_session *s)
{
    return s->shards.dispatched;
}

bool qw_session_commit(struct qw_session *s, const char *status)
{
    struct qw_shards *sh = &s->shards;
    qw_shards_pause(sh); /* no-op after qw_shards_finish or with one worker */
    qw_shards_scan_pass(sh);
    struct qw_engine_stats st;
    qw_shards_stats(sh, &st);
    s->run.packets = st.packets;
    s->run.bytes = st.bytes;
    s->run.first_ns = st.first_ns;
    s->run.last_ns = st.last_ns;
    s->run.status = status;
    const struct qw_observer *obs[QW_WORKERS_MAX];
    const struct qw_detector *det[QW_WORKERS_MAX];
    for (unsigned i = 0; i < sh->n; i++) {
        /* flow ends are folded per conversation and spread into hosts and edges later:
         * settle them so this batch holds every flow that ended */
        qw_obs_settle(&qw_shards_engine(sh, i)->obs);
        obs[i] = &qw_shards_engine(sh, i)->obs;
        det[i] = &qw_shards_engine(sh, i)->detect;
    }
    char err[512];
    bool ok = qw_store_commit(&s->store, obs, det, sh->n, &s->run, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "quaywatch %s: %s (this batch was not stored)\n", s->run.command, err);
    } else {
        for (unsigned i = 0; i < sh->n; i++) {
            qw_obs_clear(&qw_shards_engine(sh, i)->obs);
            qw_detect_clear(&qw_shards_engine(sh, i)->detect);
        }
    }
    qw_shards_resume(sh);
    return ok;
}

static void join_oui_preload(struct qw_session *s)
{
    if (s->have_oui_thread) pthread_join(s->oui_thread, NULL);
    s->have_oui_thread = false;
}

bool qw_session_finish(struct qw_session *s, const char *status, struct qw_source *srcs,
                       size_t nsrcs)
{
    s->t_packets_done = qw_monotonic_seconds();
    qw_shards_finish(&s->shards);
    bool ok = qw_session_commit(s, status);
    if (ok) {
        /* Rules over the whole store (baseline changes, unowned assets) see this run's last
         * batch; their findings go in one more transaction. The batch is copied from the
         * write-ahead log into the store's file meanwhile, on the side. */
        qw_store_checkpoint_start(&s->store);
        char err[512] = "";
        join_oui_preload(s);
        s->have_inv = qw_inventory_load(&s->inv, s->store.db, err, sizeof err);
        ok = s->have_inv &&
             qw_detect_finish(&qw_shards_engine(&s->shards, 0)->detect, s->store.db, &s->inv,
                              err, sizeof err) &&
             qw_session_commit(s, status);
        if (err[0]) fprintf(stderr, "quaywatch %s: detections: %s\n", s->run.command, err);
    }
    if (!qw_shards_close_logs(&s->shards)) ok = false; /* workers' writers first */
    if (s->have_events && !qw_eventlog_close(&s->events)) {
        fprintf(stderr, "quaywatch %s: %s: writing the event log failed\n", s->run.command,
                s->opt.events);
        ok = false;
    }
    s->have_events = false;
    if (ok && s->opt.learn) {
        /* Learning reads the whole store, so it runs once, after the last batch. */
        char err[512] = "";
        ok = qw_baseline_learn(s->store.db, &s->inv, err, sizeof err);
        if (!ok) fprintf(stderr, "quaywatch %s: learning the baseline: %s\n", s->run.command, err);
        else s->learnt_assets = s->inv.nassets;
    }
    s->t_stored = qw_monotonic_seconds();
    /* the summary goes to stdout unless the event log is using it */
    bool events_on_stdout = s->opt.events && strcmp(s->opt.events, "-") == 0;
    if (ok && !s->opt.quiet) qw_print_summary(events_on_stdout ? stderr : stdout, s, srcs, nsrcs);
    if (s->have_inv) qw_inventory_free(&s->inv);
    s->have_inv = false;
    return ok;
}

void qw_session_free(struct qw_session *s)
{
    join_oui_preload(s);
    if (s->have_inv) qw_inventory_free(&s->inv);
    s->have_inv = false;
    if (s->have_shards) qw_shards_free(&s->shards); /* flushes workers' event-log writers */
    s->have_shards = false;
    if (s->have_events) qw_eventlog_close(&s->events);
    qw_store_close(&s->store);
    qw_site_free(s->site);
    s->site = NULL;
    if (s->have_syslog) qw_syslog_close(&s->syslog);
    s->have_syslog = false;
}
