/* The SQLite store: what every run has learned, merged across runs.
 *
 * Versioned schema (PRAGMA user_version) with forward migrations (schema.c), WAL journal, and one
 * transaction per batch: a batch either lands whole or leaves the store as it was. */
#ifndef QW_STORE_STORE_H
#define QW_STORE_STORE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/observe.h"

struct qw_store {
    sqlite3 *db;
    int64_t run_id; /* row of the current run, 0 until the first batch */
    /* a checkpoint under way on a thread of its own (qw_store_checkpoint_start) */
    pthread_t ckpt_thread;
    bool ckpt_started;
    char *ckpt_path;
};

struct qw_run_info {
    const char *command; /* "analyze" or "run" */
    const char *sources; /* files or interface, comma-separated */
    uint64_t packets, bytes, first_ns, last_ns;
    const char *status;  /* "running", "ok", "input_error", "interrupted" */
    /* live capture: libpcap's counts at the stop (received, kernel and interface drops) */
    bool have_capture_counts;
    uint64_t received, dropped, ifdropped;
};

/* Open (creating if needed) and migrate. On failure, false with a message in err. */
bool qw_store_open(struct qw_store *s, const char *path, char *err, size_t errlen);
/* Fold one batch of observations into the store in a single transaction. */
struct qw_detector;
/* The observers and detectors of `n` engines (one per worker) go in one transaction with one run
 * row; `det` (may be NULL) adds their findings. */
bool qw_store_commit(struct qw_store *s, const struct qw_observer *const *obs,
                     const struct qw_detector *const *det, size_t n,
                     const struct qw_run_info *r, char *err, size_t errlen);
void qw_store_close(struct qw_store *s);
/* Start copying the write-ahead log into the database file (a passive checkpoint, with its two
 * fsyncs) from a connection and thread of their own, so that it overlaps what the caller does
 * next, reading the store among it: otherwise the whole log is copied when the store is closed,
 * on the thread that closes it. Nothing is lost if it cannot start or fails: the close copies
 * what is left. The next commit and the close wait for it. */
void qw_store_checkpoint_start(struct qw_store *s);
/* Wait for a checkpoint started by qw_store_checkpoint_start (none: returns at once). */
void qw_store_checkpoint_wait(struct qw_store *s);
/* As qw_store_open, for commands that read what runs wrote: a missing file is an error (never
 * created); an older schema is migrated. */
bool qw_store_open_existing(struct qw_store *s, const char *path, char *err, size_t errlen);

/* Schema (schema.c). */
extern const char *const qw_store_migrations[];
extern const int qw_store_schema_version;
bool qw_store_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
