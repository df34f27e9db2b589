/* The observer's operations per edge (qw_obs_ops, src/analysis/observe.c) and the memo that
 * lets a transaction on a flow that just had one skip hashing: counts and times must be those
 * of plain upserts whatever the interleaving of flows, insertions between two calls and a
 * cleared batch in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/observe.h"
#include "decode/packet.h"
#include "engine/emit.h"
#include "flow/flow.h"

static struct qw_flow *flow(struct qw_flow_table *t, const char *cli, const char *srv,
                            uint16_t port)
{
    struct qw_packet p;
    memset(&p, 0, sizeof p);
    assert_true(qw_addr_parse(cli, &p.src_ip));
    assert_true(qw_addr_parse(srv, &p.dst_ip));
    p.l3 = QW_L3_IPV4;
    p.l4_proto = 6;
    p.sport = 40000;
    p.dport = port;
    struct qw_flow_key k;
    bool from_a;
    qw_flow_key_from_packet(&p, &k, &from_a);
    struct qw_flow *f = qw_flow_insert(t, &k);
    assert_non_null(f);
    f->client_is_a = from_a; /* the packet's source opened it, as the engine decides */
    return f;
}

/* The count, first and last time of the (edge of f, op) entry; 0 count when absent. */
static uint64_t op_count(const struct qw_observer *o, const struct qw_flow *f, unsigned op,
                         uint64_t *first, uint64_t *last)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    size_t seen = 0;
    uint64_t count = 0;
    while (qw_hmap_next(&o->edge_ops, &pos, &kp, &vp)) {
        const struct qw_edge_op_key *k = kp;
        const struct qw_edge_op_val *v = vp;
        if (k->op != op || k->edge.server_port != qw_flow_srv_port(f)) continue;
        seen++;
        count = v->count;
        *first = v->first_ns;
        *last = v->last_ns;
    }
    assert_true(seen <= 1); /* one entry per (edge, op), never a second one */
    return count;
}

static void counts_match_plain_upserts(void **state)
{
    (void)state;
    struct qw_flow_table t;
    assert_true(qw_flow_table_init(&t, 1024, NULL));
    struct qw_observer *o = calloc(1, sizeof *o);
    assert_non_null(o);
    assert_true(qw_obs_init(o, NULL));
    struct qw_flow *a = flow(&t, "10.0.0.1", "10.0.0.2", 502);
    struct qw_flow *b = flow(&t, "10.0.0.1", "10.0.0.3", 503);
    uint64_t first, last;

    /* a polling loop on a, then b in between (an insertion), then a again, with two ops */
    for (uint64_t i = 1; i <= 5; i++) qw_obs_ops(o, a, QW_OP_READ, i);
    qw_obs_ops(o, b, QW_OP_WRITE, 6);
    qw_obs_ops(o, a, QW_OP_READ | QW_OP_WRITE, 7);
    qw_obs_ops(o, b, QW_OP_WRITE, 8);
    assert_int_equal(op_count(o, a, 0, &first, &last), 6);
    assert_int_equal(first, 1);
    assert_int_equal(last, 7);
    assert_int_equal(op_count(o, a, 1, &first, &last), 1);
    assert_int_equal(op_count(o, b, 1, &first, &last), 2);
    assert_int_equal(first, 6);
    assert_int_equal(last, 8);
    assert_int_equal(o->edge_ops.count, 3);

    /* a batch stored and cleared: the memo must not write into the old entries */
    qw_obs_clear(o);
    assert_int_equal(o->edge_ops.count, 0);
    qw_obs_ops(o, a, QW_OP_READ, 20);
    qw_obs_ops(o, a, QW_OP_READ, 21);
    assert_int_equal(o->edge_ops.count, 1);
    assert_int_equal(op_count(o, a, 0, &first, &last), 2);
    assert_int_equal(first, 20);
    assert_int_equal(last, 21);

    /* a new batch that has as many entries as when a's memo was made: the memo is void */
    qw_obs_clear(o);
    struct qw_flow *d = flow(&t, "10.0.0.1", "10.0.0.4", 505);
    qw_obs_ops(o, d, QW_OP_WRITE, 22); /* one entry again, as when a's memo was made */
    qw_obs_ops(o, a, QW_OP_READ, 23);
    qw_obs_ops(o, b, QW_OP_WRITE, 24);
    assert_int_equal(op_count(o, a, 0, &first, &last), 1);
    assert_int_equal(op_count(o, d, 1, &first, &last), 1);
    assert_int_equal(op_count(o, b, 1, &first, &last), 1);

    /* many insertions between two calls (the entries move as the map grows) */
    for (uint16_t port = 1000; port < 1200; port++) {
        struct qw_flow *g = flow(&t, "10.0.1.1", "10.0.1.2", port);
        qw_obs_ops(o, g, QW_OP_READ, 25);
        qw_flow_remove(&t, g);
    }
    qw_obs_ops(o, a, QW_OP_READ, 26);
    assert_int_equal(op_count(o, a, 0, &first, &last), 2);
    assert_int_equal(last, 26);

    /* the same flow memory reused by another conversation: a new entry, not a's */
    qw_flow_remove(&t, a);
    struct qw_flow *c = flow(&t, "10.0.0.9", "10.0.0.2", 504);
    size_t before = o->edge_ops.count;
    qw_obs_ops(o, c, QW_OP_READ, 30);
    assert_int_equal(o->edge_ops.count, before + 1);
    assert_int_equal(op_count(o, c, 0, &first, &last), 1);
    assert_int_equal(first, 30);

    qw_obs_free(o);
    free(o);
    qw_flow_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_match_plain_upserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
