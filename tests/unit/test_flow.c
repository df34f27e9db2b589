/* Unit tests for the flow table (src/flow/flow.c): key normalisation, hash lookup, the pool cap,
 * and the per-class idle lists that drive expiry and eviction. All times are packet time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/flow.h"

#define SEC 1000000000ull

/* Short timeouts so the expiry tests read easily. */
static const struct qw_flow_timeouts TEST_TIMEOUTS = {{
    [QW_TCLASS_TCP_NEW] = 10,
    [QW_TCLASS_TCP_ESTABLISHED] = 100,
    [QW_TCLASS_TCP_CLOSED] = 3,
    [QW_TCLASS_UDP] = 5,
    [QW_TCLASS_OTHER] = 7,
}};

static struct qw_packet pkt(const char *src, uint16_t sp, const char *dst, uint16_t dp,
                            uint8_t proto)
{
    struct qw_packet p;
    memset(&p, 0, sizeof p);
    assert_true(qw_addr_parse(src, &p.src_ip));
    assert_true(qw_addr_parse(dst, &p.dst_ip));
    p.sport = sp;
    p.dport = dp;
    p.l4_proto = proto;
    return p;
}

static struct qw_flow_key key_of(const char *src, uint16_t sp, const char *dst, uint16_t dp,
                                 uint8_t proto)
{
    struct qw_packet p = pkt(src, sp, dst, dp, proto);
    struct qw_flow_key k;
    bool from_a;
    qw_flow_key_from_packet(&p, &k, &from_a);
    return k;
}

static struct qw_flow_table *table(uint32_t cap)
{
    struct qw_flow_table *t = calloc(1, sizeof *t);
    assert_non_null(t);
    assert_true(qw_flow_table_init(t, cap, &TEST_TIMEOUTS));
    return t;
}

static void table_free(struct qw_flow_table *t)
{
    qw_flow_table_free(t);
    free(t);
}

/* ---- keys --------------------------------------------------------------------------------- */

/* Both directions of a conversation give the same key; from_a tells them apart; end a is the
 * lower address and each port stays with its address. */
static void key_normalised_both_directions(void **state)
{
    struct qw_packet fwd = pkt("192.168.1.10", 50000, "10.0.0.5", 502, 6);
    struct qw_packet rev = pkt("10.0.0.5", 502, "192.168.1.10", 50000, 6);
    struct qw_flow_key k1, k2;
    bool a1, a2;
    qw_flow_key_from_packet(&fwd, &k1, &a1);
    qw_flow_key_from_packet(&rev, &k2, &a2);
    assert_memory_equal(&k1, &k2, sizeof k1);
    assert_true(a1 != a2);
    char buf[46];
    assert_string_equal(qw_addr_str(&k1.a, buf), "10.0.0.5");
    assert_int_equal(k1.port_a, 502);
    assert_string_equal(qw_addr_str(&k1.b, buf), "192.168.1.10");
    assert_int_equal(k1.port_b, 50000);
    assert_int_equal(k1.proto, 6);
    assert_false(a1); /* 192.168.1.10 is end b */
    assert_true(a2);

    /* same address both ends (loopback): the ports decide */
    struct qw_packet l1 = pkt("127.0.0.1", 9000, "127.0.0.1", 80, 6);
    struct qw_packet l2 = pkt("127.0.0.1", 80, "127.0.0.1", 9000, 6);
    qw_flow_key_from_packet(&l1, &k1, &a1);
    qw_flow_key_from_packet(&l2, &k2, &a2);
    assert_memory_equal(&k1, &k2, sizeof k1);
    assert_true(a1 != a2);
    assert_int_equal(k1.port_a, 80);
    assert_int_equal(k1.port_b, 9000);
}

/* Ports only count for port protocols: ICMP's leftover sport/dport do not split flows. */
static void key_ignores_ports_without_transport_ports(void **state)
{
    struct qw_flow_key k1 = key_of("10.0.0.1", 1, "10.0.0.2", 2, 1);
    struct qw_flow_key k2 = key_of("10.0.0.2", 7, "10.0.0.1", 8, 1);
    assert_memory_equal(&k1, &k2, sizeof k1);
    assert_int_equal(k1.port_a, 0);
    assert_int_equal(k1.port_b, 0);
    struct qw_flow_key u1 = key_of("10.0.0.1", 1, "10.0.0.2", 2, 17);
    struct qw_flow_key u2 = key_of("10.0.0.1", 1, "10.0.0.2", 3, 17);
    assert_memory_not_equal(&u1, &u2, sizeof u1);
    struct qw_flow_key t1 = key_of("10.0.0.1", 1, "10.0.0.2", 2, 6);
    assert_memory_not_equal(&u1, &t1, sizeof u1); /* protocol is part of the key */
}

/* The same 5-tuple on two VLANs is two flows. */
static void vlan_separates_flows(void **state)
{
    struct qw_packet p = pkt("10.0.0.1", 1000, "10.0.0.2", 502, 6);
    struct qw_flow_key k10, k20, knone;
    bool a;
    p.nvlan = 1;
    p.vlan[0] = 10;
    qw_flow_key_from_packet(&p, &k10, &a);
    p.vlan[0] = 20;
    qw_flow_key_from_packet(&p, &k20, &a);
    p.nvlan = 0;
    qw_flow_key_from_packet(&p, &knone, &a);
    assert_int_equal(k10.vlan[0], 10);
    assert_int_equal(k20.vlan[0], 20);
    assert_int_equal(knone.vlan[0], 0);
    assert_memory_not_equal(&k10, &k20, sizeof k10);
    assert_memory_not_equal(&k10, &knone, sizeof k10);

    struct qw_flow_table *t = table(16);
    struct qw_flow *f10 = qw_flow_insert(t, &k10);
    struct qw_flow *f20 = qw_flow_insert(t, &k20);
    assert_non_null(f10);
    assert_non_null(f20);
    assert_ptr_not_equal(f10, f20);
    assert_ptr_equal(qw_flow_lookup(t, &k10), f10);
    assert_ptr_equal(qw_flow_lookup(t, &k20), f20);
    assert_null(qw_flow_lookup(t, &knone));
    table_free(t);
}

/* ---- table -------------------------------------------------------------------------------- */

/* Insert, look up (from either direction's key), remove; the counters follow. */
static void insert_lookup_remove(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow_key k = key_of("10.0.0.1", 1000, "10.0.0.2", 502, 6);
    struct qw_flow_key rk = key_of("10.0.0.2", 502, "10.0.0.1", 1000, 6);
    assert_null(qw_flow_lookup(t, &k));
    struct qw_flow *f = qw_flow_insert(t, &k);
    assert_non_null(f);
    assert_memory_equal(&f->key, &k, sizeof k);
    assert_int_equal(f->tclass, QW_TCLASS_TCP_NEW);
    assert_null(f->tcp);
    assert_ptr_equal(qw_flow_lookup(t, &k), f);
    assert_ptr_equal(qw_flow_lookup(t, &rk), f);
    assert_int_equal(t->stats.created, 1);
    assert_int_equal(t->stats.active, 1);

    struct qw_flow *u = qw_flow_insert(t, &(struct qw_flow_key){0});
    assert_non_null(u);
    assert_int_equal(u->tclass, QW_TCLASS_OTHER);
    struct qw_flow_key uk = key_of("10.0.0.1", 1000, "10.0.0.2", 502, 17);
    struct qw_flow *uf = qw_flow_insert(t, &uk);
    assert_int_equal(uf->tclass, QW_TCLASS_UDP);

    qw_flow_remove(t, f);
    assert_null(qw_flow_lookup(t, &k));
    assert_ptr_equal(qw_flow_lookup(t, &uk), uf);
    assert_int_equal(t->stats.active, 2);
    assert_int_equal(t->stats.ended, 1);
    assert_int_equal(t->stats.peak_active, 3);
    table_free(t);
}

/* The flow found or made last answers its own key without a lookup, never another key, and
 * never once removed: a removed flow's slot goes back to the pool, and a stale answer would
 * hand a packet to whatever flow takes the slot next. */
static void recent_flow_shortcut(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow_key a = key_of("10.0.0.1", 1000, "10.0.0.2", 502, 6);
    struct qw_flow_key ra = key_of("10.0.0.2", 502, "10.0.0.1", 1000, 6);
    struct qw_flow_key b = key_of("10.0.0.1", 1001, "10.0.0.2", 502, 6);
    assert_null(qw_flow_recent(t, &a));
    struct qw_flow *fa = qw_flow_insert(t, &a);
    assert_ptr_equal(qw_flow_recent(t, &a), fa);
    assert_ptr_equal(qw_flow_recent(t, &ra), fa); /* the other direction: the same key */
    assert_null(qw_flow_recent(t, &b));
    struct qw_flow *fb = qw_flow_insert(t, &b);
    assert_ptr_equal(qw_flow_recent(t, &b), fb);
    assert_null(qw_flow_recent(t, &a)); /* only the last one */
    assert_ptr_equal(qw_flow_lookup(t, &a), fa);
    assert_ptr_equal(qw_flow_recent(t, &a), fa); /* a lookup makes it the last */
    qw_flow_remove(t, fa);
    assert_null(qw_flow_recent(t, &a));
    assert_null(qw_flow_lookup(t, &a));
    qw_flow_remove(t, fb); /* not the last one: nothing to forget */
    assert_null(qw_flow_recent(t, &b));
    table_free(t);
}

/* The bucket arrays start small and double as flows come, up to the size the cap asks for;
 * through every doubling each flow is still found, removal still works, and a lookup on any
 * VLAN still answers with the newest flow of the 5-tuple, as it does in a table that began at
 * full size. */
static void buckets_grow_with_flows(void **state)
{
    enum { N = 20000 };
    struct qw_flow_table *t = table(N);
    assert_int_equal(t->nbuckets, QW_FLOW_BUCKETS_START);
    assert_int_equal(t->max_buckets, 32768);
    static struct qw_flow *fl[N];
    struct qw_flow_key k;
    memset(&k, 0, sizeof k);
    k.proto = 6;
    /* every 1000th flow shares its 5-tuple with the one before it, on another VLAN */
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = i % 1000 == 1 ? i - 1 : i;
        k.port_a = (uint16_t)v;
        k.port_b = (uint16_t)(v >> 16);
        k.vlan[0] = (uint16_t)(i % 1000 == 1 ? 20 : 10);
        fl[i] = qw_flow_insert(t, &k);
        assert_non_null(fl[i]);
    }
    assert_int_equal(t->nbuckets, 32768);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = i % 1000 == 1 ? i - 1 : i;
        k.port_a = (uint16_t)v;
        k.port_b = (uint16_t)(v >> 16);
        k.vlan[0] = (uint16_t)(i % 1000 == 1 ? 20 : 10);
        assert_ptr_equal(qw_flow_lookup(t, &k), fl[i]);
        k.vlan[0] = 30; /* no flow on this VLAN: the newest of the 5-tuple answers */
        struct qw_flow *any = qw_flow_lookup_any_vlan(t, &k);
        assert_ptr_equal(any, i % 1000 == 0 ? fl[i + 1] : fl[i]);
    }
    for (uint32_t i = 0; i < N; i += 3) qw_flow_remove(t, fl[i]);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = i % 1000 == 1 ? i - 1 : i;
        k.port_a = (uint16_t)v;
        k.port_b = (uint16_t)(v >> 16);
        k.vlan[0] = (uint16_t)(i % 1000 == 1 ? 20 : 10);
        assert_ptr_equal(qw_flow_lookup(t, &k), i % 3 ? fl[i] : NULL);
    }
    table_free(t);
}

/* Thousands of flows (hash chains certainly collide): every one is found, removing every other
 * one leaves exactly the rest, and the freed flows are reused. */
static void many_flows_chains(void **state)
{
    enum { N = 5000 };
    struct qw_flow_table *t = table(N);
    static struct qw_flow *fl[N];
    struct qw_flow_key k;
    memset(&k, 0, sizeof k);
    k.proto = 17;
    for (uint32_t i = 0; i < N; i++) {
        k.port_a = (uint16_t)i;
        k.port_b = (uint16_t)(i >> 16);
        fl[i] = qw_flow_insert(t, &k);
        assert_non_null(fl[i]);
        fl[i]->id = i;
    }
    assert_null(qw_flow_insert(t, &k)); /* at the cap */
    for (uint32_t i = 0; i < N; i += 2) qw_flow_remove(t, fl[i]);
    for (uint32_t i = 0; i < N; i++) {
        k.port_a = (uint16_t)i;
        k.port_b = (uint16_t)(i >> 16);
        struct qw_flow *f = qw_flow_lookup(t, &k);
        if (i % 2) {
            assert_ptr_equal(f, fl[i]);
            assert_int_equal(f->id, i);
        } else {
            assert_null(f);
        }
    }
    assert_int_equal(t->stats.active, N / 2);
    k.port_a = 0xffff;
    k.port_b = 0xffff;
    struct qw_flow *again = qw_flow_insert(t, &k);
    assert_non_null(again);
    assert_int_equal(again->id, 0); /* zeroed on reuse */
    table_free(t);
}

/* The pool cap: inserts fail at the cap and work again once a flow is removed. */
static void pool_cap_refuses_insert(void **state)
{
    struct qw_flow_table *t = table(4);
    struct qw_flow *f[4];
    for (uint16_t i = 0; i < 4; i++) {
        struct qw_flow_key k = key_of("10.0.0.1", (uint16_t)(1000 + i), "10.0.0.2", 502, 6);
        f[i] = qw_flow_insert(t, &k);
        assert_non_null(f[i]);
    }
    struct qw_flow_key k5 = key_of("10.0.0.1", 2000, "10.0.0.2", 502, 6);
    assert_null(qw_flow_insert(t, &k5));
    assert_int_equal(t->stats.active, 4);
    qw_flow_remove(t, f[1]);
    struct qw_flow *g = qw_flow_insert(t, &k5);
    assert_non_null(g);
    assert_ptr_equal(qw_flow_lookup(t, &k5), g);
    assert_null(qw_flow_insert(t, &(struct qw_flow_key){0}));
    table_free(t);
}

/* ---- idle lists --------------------------------------------------------------------------- */

/* A flow expires only once its class timeout has fully passed since its last activity. */
static void expiry_after_class_timeout(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow_key uk = key_of("10.0.0.1", 5000, "10.0.0.2", 161, 17);
    struct qw_flow *u = qw_flow_insert(t, &uk);
    qw_flow_touch(t, u, 100 * SEC, QW_TCLASS_UDP);
    assert_true(u->idle_ns == 100 * SEC);
    assert_null(qw_flow_next_expired(t, 100 * SEC));
    assert_null(qw_flow_next_expired(t, 105 * SEC)); /* exactly the timeout: not yet */
    assert_ptr_equal(qw_flow_next_expired(t, 105 * SEC + 1), u);

    struct qw_flow_key ik = key_of("10.0.0.1", 0, "10.0.0.3", 0, 1);
    struct qw_flow *ic = qw_flow_insert(t, &ik);
    qw_flow_touch(t, ic, 104 * SEC, QW_TCLASS_OTHER);
    qw_flow_remove(t, u);
    assert_null(qw_flow_next_expired(t, 111 * SEC));      /* OTHER: 7 s */
    assert_ptr_equal(qw_flow_next_expired(t, 111 * SEC + 1), ic);
    table_free(t);
}

/* Activity moves a flow to the tail of its list: the head is always the least recently active
 * of its class, and it is the one that expires. */
static void touch_reorders_within_class(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow *f1 = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 1});
    struct qw_flow *f2 = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 2});
    qw_flow_touch(t, f1, 1 * SEC, QW_TCLASS_UDP);
    qw_flow_touch(t, f2, 2 * SEC, QW_TCLASS_UDP);
    qw_flow_touch(t, f1, 3 * SEC, QW_TCLASS_UDP);
    assert_ptr_equal(t->lists_head[QW_TCLASS_UDP], f2);
    assert_ptr_equal(t->lists_tail[QW_TCLASS_UDP], f1);
    assert_ptr_equal(qw_flow_next_expired(t, 7 * SEC + 1), f2);
    qw_flow_remove(t, f2);
    assert_null(qw_flow_next_expired(t, 7 * SEC + 1));
    assert_ptr_equal(qw_flow_next_expired(t, 8 * SEC + 1), f1);
    table_free(t);
}

/* Touch with a new class moves the flow to that class's list: a handshake that completed is
 * held to the established timeout, not the new-connection one, and a closed one to its own. */
static void touch_moves_between_classes(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow_key k = key_of("10.0.0.1", 1000, "10.0.0.2", 502, 6);
    struct qw_flow *f = qw_flow_insert(t, &k);
    qw_flow_touch(t, f, 0, QW_TCLASS_TCP_NEW);
    assert_ptr_equal(t->lists_head[QW_TCLASS_TCP_NEW], f);
    qw_flow_touch(t, f, 1 * SEC, QW_TCLASS_TCP_ESTABLISHED);
    assert_int_equal(f->tclass, QW_TCLASS_TCP_ESTABLISHED);
    assert_null(t->lists_head[QW_TCLASS_TCP_NEW]);
    assert_null(t->lists_tail[QW_TCLASS_TCP_NEW]);
    assert_ptr_equal(t->lists_head[QW_TCLASS_TCP_ESTABLISHED], f);
    assert_null(qw_flow_next_expired(t, 12 * SEC)); /* would have expired as NEW */
    assert_null(qw_flow_next_expired(t, 101 * SEC));
    assert_ptr_equal(qw_flow_next_expired(t, 101 * SEC + 1), f);

    qw_flow_touch(t, f, 50 * SEC, QW_TCLASS_TCP_CLOSED);
    assert_null(t->lists_head[QW_TCLASS_TCP_ESTABLISHED]);
    assert_ptr_equal(qw_flow_next_expired(t, 53 * SEC + 1), f);

    /* a touch with an older timestamp does not move last activity back */
    qw_flow_touch(t, f, 10 * SEC, QW_TCLASS_TCP_CLOSED);
    assert_true(f->idle_ns == 50 * SEC);
    table_free(t);
}

/* The expiry floor (one comparison a packet): a flow appended with an earlier expiry than the
 * floor lowers it (a connection closing has a short timeout), and so does a new list head when
 * capture times went backwards; without either, these flows would expire late. */
static void expiry_floor_never_hides_an_expired_flow(void **state)
{
    struct qw_flow_table *t = table(16);
    struct qw_flow *a = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 1});
    qw_flow_touch(t, a, 0, QW_TCLASS_UDP);
    assert_null(qw_flow_next_expired(t, 1 * SEC)); /* floor: 5 s */
    qw_flow_touch(t, a, 4 * SEC, QW_TCLASS_UDP);
    assert_null(qw_flow_next_expired(t, 6 * SEC)); /* looked again: floor 9 s */
    struct qw_flow *c = qw_flow_insert(t, &(struct qw_flow_key){.proto = 6, .port_a = 2});
    qw_flow_touch(t, c, 5 * SEC + SEC / 2, QW_TCLASS_TCP_CLOSED); /* expires at 8.5 s */
    assert_ptr_equal(qw_flow_next_expired(t, 8 * SEC + SEC / 2 + 1), c);
    qw_flow_remove(t, c);
    assert_ptr_equal(qw_flow_next_expired(t, 9 * SEC + 1), a);
    qw_flow_remove(t, a);

    /* out of order: y, touched with an older time, sits behind x in the UDP list */
    struct qw_flow *x = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 3});
    struct qw_flow *y = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 4});
    qw_flow_touch(t, x, 10 * SEC, QW_TCLASS_UDP);
    qw_flow_touch(t, y, 8 * SEC, QW_TCLASS_UDP);
    assert_null(qw_flow_next_expired(t, 11 * SEC)); /* floor: x's 15 s */
    qw_flow_remove(t, x);                           /* y heads the list: expires at 13 s */
    assert_ptr_equal(qw_flow_next_expired(t, 13 * SEC + 1), y);
    table_free(t);
}

/* The eviction victim is the least recently active flow over all classes. */
static void oldest_is_least_recently_active(void **state)
{
    struct qw_flow_table *t = table(16);
    assert_null(qw_flow_oldest(t));
    struct qw_flow *tcp = qw_flow_insert(t, &(struct qw_flow_key){.proto = 6, .port_a = 1});
    struct qw_flow *udp = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 2});
    struct qw_flow *icmp = qw_flow_insert(t, &(struct qw_flow_key){.proto = 1, .port_a = 3});
    struct qw_flow *udp2 = qw_flow_insert(t, &(struct qw_flow_key){.proto = 17, .port_a = 4});
    qw_flow_touch(t, tcp, 30 * SEC, QW_TCLASS_TCP_ESTABLISHED);
    qw_flow_touch(t, udp, 10 * SEC, QW_TCLASS_UDP);
    qw_flow_touch(t, icmp, 20 * SEC, QW_TCLASS_OTHER);
    qw_flow_touch(t, udp2, 25 * SEC, QW_TCLASS_UDP);
    assert_ptr_equal(qw_flow_oldest(t), udp);
    qw_flow_touch(t, udp, 40 * SEC, QW_TCLASS_UDP);
    assert_ptr_equal(qw_flow_oldest(t), icmp);
    qw_flow_remove(t, icmp);
    assert_ptr_equal(qw_flow_oldest(t), udp2);
    table_free(t);
}

/* Orientation helpers: the client end follows client_is_a, and so does a packet's direction. */
static void orientation_helpers(void **state)
{
    struct qw_flow f;
    memset(&f, 0, sizeof f);
    f.key = key_of("192.168.1.10", 50000, "10.0.0.5", 502, 6); /* a = 10.0.0.5:502 */
    f.client_is_a = false;
    char buf[46];
    assert_string_equal(qw_addr_str(qw_flow_cli_ip(&f), buf), "192.168.1.10");
    assert_string_equal(qw_addr_str(qw_flow_srv_ip(&f), buf), "10.0.0.5");
    assert_int_equal(qw_flow_cli_port(&f), 50000);
    assert_int_equal(qw_flow_srv_port(&f), 502);
    assert_int_equal(qw_flow_dir(&f, false), QW_DIR_TO_SERVER);
    assert_int_equal(qw_flow_dir(&f, true), QW_DIR_TO_CLIENT);
    assert_string_equal(qw_tcp_state_name(QW_TCP_MIDSTREAM), "midstream");
    assert_string_equal(qw_flow_end_name(QW_END_EVICTED), "evicted");
    assert_string_equal(qw_tcp_state_name(200), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_normalised_both_directions),
        cmocka_unit_test(key_ignores_ports_without_transport_ports),
        cmocka_unit_test(vlan_separates_flows),
        cmocka_unit_test(insert_lookup_remove),
        cmocka_unit_test(recent_flow_shortcut),
        cmocka_unit_test(buckets_grow_with_flows),
        cmocka_unit_test(many_flows_chains),
        cmocka_unit_test(pool_cap_refuses_insert),
        cmocka_unit_test(expiry_after_class_timeout),
        cmocka_unit_test(touch_reorders_within_class),
        cmocka_unit_test(expiry_floor_never_hides_an_expired_flow),
        cmocka_unit_test(touch_moves_between_classes),
        cmocka_unit_test(oldest_is_least_recently_active),
        cmocka_unit_test(orientation_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
