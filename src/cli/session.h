/* What `analyze` and `run` share: options, the engine, the store, the event log, the site-file
 * check, batching into the store and the end-of-run summary. */
#ifndef QW_CLI_SESSION_H
#define QW_CLI_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "capture/source.h"
#include "engine/engine.h"
#include "engine/shards.h"
#include "inventory/inventory.h"
#include "site/model.h"
#include "store/store.h"

struct qw_session_opts {
    const char *db;      /* default "quaywatch.db" */
    const char *events;  /* NULL: no event log */
    const char *site;    /* NULL: no site file */
    uint32_t flow_cap;
    struct qw_flow_timeouts timeouts; /* zero entries: defaults */
    bool quiet;          /* no summary */
    bool learn;          /* fold the inventory into the baseline at the end */
    const char *syslog;  /* HOST:PORT for findings, NULL: none */
    bool syslog_tcp, syslog_cef;
    uint32_t workers;    /* --workers: engines on their own threads (0 or 1: one, no thread) */
    bool verify_checksums; /* --verify-checksums: count bad TCP/UDP checksums */
    /* memory caps (0: the engine's defaults; docs/performance.md) */
    uint32_t reasm_cap_mb, reasm_flow_cap_kb, frag_cap, asset_cap, edge_cap, app_cap_mb;
};

struct qw_session {
    struct qw_session_opts opt;
    struct qw_shards shards; /* the engines (one per worker) */
    bool have_shards;
    struct qw_eventlog events;
    bool have_events;
    struct qw_store store;
    struct qw_run_info run;
    char sources[1024];
    struct qw_site *site; /* the site file's model (NULL without --site); freed with the session */
    size_t learnt_assets; /* --learn: assets folded into the baseline */
    /* the store's inventory after the last batch: loaded once at the finish for the rules over
     * the whole store, learning and the summary (grouping a big store takes a while) */
    struct qw_inventory inv;
    bool have_inv;
    /* monotonic seconds: engines started, last packet handed out, everything stored */
    double t_start, t_packets_done, t_stored;
    struct qw_syslog syslog;
    bool have_syslog;
    pthread_t oui_thread; /* loading the MAC registries (qw_oui_preload_start) */
    bool have_oui_thread;
};

/* Parse an option shared by analyze and run at argv[*i]; returns 1 if consumed (advancing *i
 * past its value), 0 if not a shared option, -1 on a usage error (message printed). */
int qw_session_option(struct qw_session_opts *o, int argc, char **argv, int *i, const char *cmd);
extern const char qw_session_options_help[];

/* Load and check the site file named by --site (if any and not loaded yet) into s->site; every
 * error goes to stderr as FILE:LINE:COL: message. False when the file is invalid. */
bool qw_session_load_site(struct qw_session *s);
/* Open the store and event log, start the engines for sources of the given link types, fed as
 * `feed` says (engine/shards.h: pushed for live capture, pulled for files). Returns an exit code
 * (QW_EXIT_OK on success). The site file is loaded first (qw_session_load_site), so an invalid
 * one writes nothing (QW_EXIT_USAGE); callers check their inputs before calling. */
int qw_session_start(struct qw_session *s, const char *command, const int *linktypes,
                     size_t nsources, enum qw_feed feed);
/* Pulled feed: analyse every packet the source gives (qw_shards_run). False when the engines
 * could not be fed (out of memory, said on stderr): nothing was analysed. */
bool qw_session_run(struct qw_session *s, const struct qw_pull *src);
/* Pushed feed: one captured frame from source `src` (index into the link types given at
 * start). */
void qw_session_packet(struct qw_session *s, size_t src, const uint8_t *frame, uint32_t caplen,
                       uint32_t wirelen, uint64_t ts_ns);
/* Packets handed to the engines so far. */
uint64_t qw_session_packets(const struct qw_session *s);
/* Fold what the engine observed into the store as one batch, then clear it. */
bool qw_session_commit(struct qw_session *s, const char *status);
/* End the flows, commit, close the event log, print the summary. Returns false on failure. */
bool qw_session_finish(struct qw_session *s, const char *status, struct qw_source *srcs,
                       size_t nsrcs);
void qw_session_free(struct qw_session *s);

/* Strict unsigned parse of a whole string within [min, max]. */
bool qw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);


/* The one-screen summary (summary.c). */
void qw_print_summary(FILE *out, struct qw_session *s, struct qw_source *srcs, size_t nsrcs);

#endif
