/* Unit tests for the store's checkpoint on the side (src/store/store.c): a run's batch is
 * copied from the write-ahead log into the store's file by a thread and connection of their own
 * while the run goes on reading the store, and nothing is lost or left half-copied. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int64_t count_hosts(sqlite3 *db)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM hosts", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void checkpoint_on_the_side(void **state)
{
    (void)state;
    char dir[] = "/tmp/qw-test-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], wal[140];
    snprintf(path, sizeof path, "%s/s.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct qw_store s;
    char err[256];
    assert_true(qw_store_open(&s, path, err, sizeof err));
    long before = file_size(path);
    assert_true(before > 0);

    /* a batch big enough to take many pages: it lands in the log, not yet in the file */
    assert_int_equal(sqlite3_exec(s.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(s.db, "INSERT INTO hosts (vlan, ip) VALUES (?1, ?2)", -1,
                                        &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 3000; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        sqlite3_bind_int(st, 1, i % 7);
        sqlite3_bind_text(st, 2, ip, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(file_size(path), before);
    assert_true(file_size(wal) > 0);

    /* copied on the side while this connection reads */
    qw_store_checkpoint_start(&s);
    assert_int_equal(count_hosts(s.db), 3000);
    qw_store_checkpoint_wait(&s);
    assert_false(s.ckpt_started);
    assert_true(file_size(path) > before + 3000 * 10);

    /* another connection finds nothing left to copy, and sees the whole batch */
    sqlite3 *other;
    assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    int nlog = -1, ncopied = -1;
    assert_int_equal(sqlite3_wal_checkpoint_v2(other, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
                                               &ncopied),
                     SQLITE_OK);
    assert_int_equal(nlog, ncopied); /* every frame of the log was already in the file */
    assert_int_equal(count_hosts(other), 3000);
    sqlite3_close(other);

    /* the next batch waits for a checkpoint under way; closing leaves no log behind */
    qw_store_checkpoint_start(&s);
    qw_store_close(&s);
    assert_int_equal(file_size(wal), -1);
    assert_true(qw_store_open(&s, path, err, sizeof err));
    assert_int_equal(count_hosts(s.db), 3000);
    qw_store_close(&s);
    unlink(path);
    rmdir(dir);
}

/* A store in memory has no file to copy into: nothing starts, and closing works. */
static void checkpoint_in_memory_is_nothing(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    qw_store_checkpoint_start(&s);
    assert_false(s.ckpt_started);
    qw_store_close(&s);
    assert_null(s.db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoint_on_the_side),
        cmocka_unit_test(checkpoint_in_memory_is_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
