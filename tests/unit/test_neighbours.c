/* The LLDP/CDP neighbour table (src/proto/neighbours.c): new, changed and repeated
 * announcements, and a full table that replaces the least recently heard neighbour and says so
 * once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/record_sink.h"
#include "proto/neighbours.h"

static void test_new_changed_repeat(void **state)
{
    (void)state;
    static struct qw_neigh_table t;
    static struct qw_record_sink rec;
    struct qw_pctx ctx;
    qw_record_sink_init(&rec, &ctx, NULL);
    const char *ev = NULL;
    struct qw_neigh *n = qw_neigh_see(&t, &ctx, "x.full", 7, 100, 1, &ev);
    assert_non_null(n);
    assert_string_equal(ev, "new");
    assert_int_equal(n->frames, 1);
    assert_null(qw_neigh_see(&t, &ctx, "x.full", 7, 100, 2, &ev)); /* a repeat */
    assert_null(qw_neigh_see(&t, &ctx, "x.full", 7, 100, 3, &ev));
    assert_int_equal(n->repeats, 2);
    assert_int_equal(n->frames, 3);
    assert_ptr_equal(qw_neigh_see(&t, &ctx, "x.full", 7, 101, 4, &ev), n);
    assert_string_equal(ev, "changed");
    assert_int_equal(n->last_ns, 4);
    assert_int_equal(rec.nanomalies, 0);
}

static void test_full_table_replaces_least_recent(void **state)
{
    (void)state;
    static struct qw_neigh_table t;
    static struct qw_record_sink rec;
    struct qw_pctx ctx;
    qw_record_sink_init(&rec, &ctx, NULL);
    const char *ev = NULL;
    for (uint64_t k = 0; k < QW_NEIGH_MAX; k++)
        assert_non_null(qw_neigh_see(&t, &ctx, "x.full", k, 1, 10 + k, &ev));
    qw_neigh_see(&t, &ctx, "x.full", 0, 2, 1000, &ev); /* neighbour 0 heard again: newest */
    struct qw_neigh *n = qw_neigh_see(&t, &ctx, "x.full", 999, 1, 1001, &ev);
    assert_non_null(n);
    assert_string_equal(ev, "new");
    assert_int_equal(n->key, 999);
    assert_int_equal(qw_record_count_anomaly(&rec, "x.full"), 1);
    /* neighbour 1 (heard at 11) was replaced; 0 is still known */
    assert_non_null(qw_neigh_see(&t, &ctx, "x.full", 1, 1, 1002, &ev));
    assert_string_equal(ev, "new");
    assert_null(qw_neigh_see(&t, &ctx, "x.full", 0, 2, 1003, &ev));
    assert_int_equal(qw_record_count_anomaly(&rec, "x.full"), 1); /* said once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_changed_repeat),
        cmocka_unit_test(test_full_table_replaces_least_recent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
