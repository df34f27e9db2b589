/* Unit tests for IPv4/IPv6 fragment reassembly (src/decode/frag.c), through the decoder (raw IP
 * link type 101) and through qw_frag_add directly where the exact bytes kept matter.
 *
 * A test datagram is first built whole, with a correct transport checksum, then cut into
 * fragments: after reassembly the decoder verifies that checksum over the rebuilt datagram, so
 * bad_udp_checksum/bad_tcp_checksum staying 0 proves the bytes came back in the right places. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "decode/decode.h"
#include "decode/frag.h"
#include "synth/frame.h" /* sy_put16, sy_put32 */

#define SEC 1000000000ull

/* ---- datagram builder --------------------------------------------------------------------- */

struct ends {
    int family; /* 4 or 6 */
    uint8_t src[16], dst[16];
};

static struct ends ends4(const char *src, const char *dst)
{
    struct ends e = {.family = 4};
    assert_int_equal(inet_pton(AF_INET, src, e.src), 1);
    assert_int_equal(inet_pton(AF_INET, dst, e.dst), 1);
    return e;
}

static struct ends ends6(const char *src, const char *dst)
{
    struct ends e = {.family = 6};
    assert_int_equal(inet_pton(AF_INET6, src, e.src), 1);
    assert_int_equal(inet_pton(AF_INET6, dst, e.dst), 1);
    return e;
}

/* Transport checksum over l4[0..len) with the pseudo-header of `e` (RFC 768, RFC 8200 s.8.1). */
static uint16_t l4_csum(const struct ends *e, uint8_t proto, const uint8_t *l4, uint32_t len)
{
    uint32_t sum;
    if (e->family == 4) {
        sum = qw_csum_add(0, e->src, 4);
        sum = qw_csum_add(sum, e->dst, 4);
        sum += proto;
        sum += len;
    } else {
        sum = qw_csum_add(0, e->src, 16);
        sum = qw_csum_add(sum, e->dst, 16);
        sum += len >> 16;
        sum += len & 0xffff;
        sum += proto;
    }
    return qw_csum_fold(qw_csum_add(sum, l4, len));
}

/* UDP datagram (header + data) with length and checksum; returns its length. */
static size_t make_udp(uint8_t *out, const struct ends *e, uint16_t sp, uint16_t dp,
                       const uint8_t *data, size_t n)
{
    sy_put16(out, sp);
    sy_put16(out + 2, dp);
    sy_put16(out + 4, (uint16_t)(8 + n));
    sy_put16(out + 6, 0);
    memcpy(out + 8, data, n);
    uint16_t c = l4_csum(e, 17, out, (uint32_t)(8 + n));
    sy_put16(out + 6, c ? c : 0xffff);
    return 8 + n;
}

/* TCP segment (20-byte header + data), PSH|ACK, with checksum; returns its length. */
static size_t make_tcp(uint8_t *out, const struct ends *e, uint16_t sp, uint16_t dp, uint32_t seq,
                       const uint8_t *data, size_t n)
{
    memset(out, 0, 20);
    sy_put16(out, sp);
    sy_put16(out + 2, dp);
    sy_put32(out + 4, seq);
    sy_put32(out + 8, 1);
    out[12] = 0x50;
    out[13] = 0x18;
    sy_put16(out + 14, 1024);
    memcpy(out + 20, data, n);
    sy_put16(out + 16, l4_csum(e, 6, out, (uint32_t)(20 + n)));
    return 20 + n;
}

/* One raw-IP fragment frame carrying piece = datagram[off, off+n). IPv4: 20-byte header with MF
 * and offset (RFC 791); IPv6: 40-byte header + fragment header (RFC 8200 s.4.5). */
static size_t make_frag(uint8_t *out, const struct ends *e, uint8_t proto, uint32_t id,
                        uint32_t off, bool more, const uint8_t *piece, size_t n)
{
    if (e->family == 4) {
        memset(out, 0, 20);
        out[0] = 0x45;
        sy_put16(out + 2, (uint16_t)(20 + n));
        sy_put16(out + 4, (uint16_t)id);
        sy_put16(out + 6, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
        out[8] = 64;
        out[9] = proto;
        memcpy(out + 12, e->src, 4);
        memcpy(out + 16, e->dst, 4);
        sy_put16(out + 10, qw_csum_fold(qw_csum_add(0, out, 20)));
        memcpy(out + 20, piece, n);
        return 20 + n;
    }
    sy_put32(out, 0x60000000);
    sy_put16(out + 4, (uint16_t)(8 + n));
    out[6] = 44;
    out[7] = 64;
    memcpy(out + 8, e->src, 16);
    memcpy(out + 24, e->dst, 16);
    out[40] = proto;
    out[41] = 0;
    sy_put16(out + 42, (uint16_t)((off / 8) << 3 | (more ? 1 : 0)));
    sy_put32(out + 44, id);
    memcpy(out + 48, piece, n);
    return 48 + n;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static struct qw_decoder *new_decoder(void)
{
    struct qw_decoder *d = calloc(1, sizeof *d);
    assert_non_null(d);
    qw_decoder_init(d, 101);
    return d;
}

static void free_decoder(struct qw_decoder *d)
{
    qw_decoder_free(d);
    free(d);
}

static int setup(void **state)
{
    *state = new_decoder();
    return 0;
}

static int teardown(void **state)
{
    free_decoder(*state);
    return 0;
}

/* Decode fragment `off/len` of `dgram` as a raw IP frame at time ts. */
static void feed(struct qw_decoder *d, const struct ends *e, uint8_t proto, uint32_t id,
                 const uint8_t *dgram, uint32_t off, uint32_t len, bool more, uint64_t ts,
                 struct qw_packet *p)
{
    uint8_t frame[1600];
    assert_true(len + 48 <= sizeof frame);
    size_t n = make_frag(frame, e, proto, id, off, more, dgram + off, len);
    qw_decode(d, frame, (uint32_t)n, (uint32_t)n, ts, p);
}

static const uint8_t TEXT40[40] = "fragmented datagram: forty bytes long!!";

/* The three fragments of a 48-byte UDP datagram: [0,16) [16,32) [32,48). */
static const uint32_t OFF3[3] = {0, 16, 32};

static void check_udp_done(const struct qw_decoder *d, const struct qw_packet *p, const char *src)
{
    char buf[46];
    assert_true(p->ip_reassembled);
    assert_false(p->ip_fragment_held);
    assert_true(p->l4_ok);
    assert_int_equal(p->l4_proto, 17);
    assert_string_equal(qw_addr_str(&p->src_ip, buf), src);
    assert_int_equal(p->sport, 20000);
    assert_int_equal(p->dport, 502);
    assert_int_equal(p->payload_len, sizeof TEXT40);
    assert_memory_equal(p->payload, TEXT40, sizeof TEXT40);
    assert_int_equal(d->stats.bad_udp_checksum, 0);
}

/* ---- reassembly order --------------------------------------------------------------------- */

/* In order, reversed and shuffled arrival all give back the original datagram; every fragment
 * before the last one is held and decodes no transport layer. */
static void ipv4_three_fragments_any_order(void **state)
{
    static const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    uint8_t dg[64];
    size_t n = make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    assert_int_equal(n, 48);
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        struct qw_decoder *d = new_decoder();
        struct qw_packet p;
        for (int k = 0; k < 3; k++) {
            int i = orders[o][k];
            feed(d, &e, 17, 77, dg, OFF3[i], 16, i < 2, SEC, &p);
            if (k < 2) {
                assert_true(p.ip_fragment_held);
                assert_false(p.ip_reassembled);
                assert_false(p.l4_ok);
                assert_int_equal(p.l3, QW_L3_IPV4);
            }
        }
        check_udp_done(d, &p, "10.0.0.1");
        assert_int_equal(d->frag.stats.fragments, 3);
        assert_int_equal(d->frag.stats.reassembled, 1);
        assert_int_equal(d->frag.stats.overlaps, 0);
        free_decoder(d);
    }
}

/* A TCP segment whose header is split across fragments (8 bytes in the first): ports, sequence
 * number, flags and payload all come from the rebuilt datagram. */
static void tcp_header_split_across_fragments(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends4("192.168.0.10", "192.168.0.20");
    static const uint8_t data[24] = "read holding registers!";
    uint8_t dg[64];
    size_t n = make_tcp(dg, &e, 40001, 502, 0x11223344, data, sizeof data);
    assert_int_equal(n, 44);
    struct qw_packet p;
    feed(d, &e, 6, 5, dg, 24, 20, false, SEC, &p);
    assert_true(p.ip_fragment_held);
    feed(d, &e, 6, 5, dg, 0, 8, true, SEC, &p);
    assert_true(p.ip_fragment_held);
    assert_false(p.l4_ok);
    feed(d, &e, 6, 5, dg, 8, 16, true, SEC, &p);
    assert_true(p.ip_reassembled);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 40001);
    assert_int_equal(p.dport, 502);
    assert_int_equal(p.seq, 0x11223344);
    assert_int_equal(p.tcp_flags, QW_TCP_PSH | QW_TCP_ACK);
    assert_int_equal(p.payload_len, sizeof data);
    assert_memory_equal(p.payload, data, sizeof data);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
}

/* A fragment received twice (same bytes) changes nothing and is not an overlap. */
static void duplicate_fragment_harmless(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    uint8_t dg[64];
    make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    struct qw_packet p;
    feed(d, &e, 17, 9, dg, 0, 16, true, SEC, &p);
    feed(d, &e, 17, 9, dg, 0, 16, true, SEC, &p);
    assert_true(p.ip_fragment_held);
    feed(d, &e, 17, 9, dg, 16, 16, true, SEC, &p);
    feed(d, &e, 17, 9, dg, 16, 16, true, SEC, &p);
    assert_false(p.ip_reassembled);
    feed(d, &e, 17, 9, dg, 32, 16, false, SEC, &p);
    check_udp_done(d, &p, "10.0.0.1");
    assert_int_equal(d->frag.stats.reassembled, 1);
    assert_int_equal(d->frag.stats.overlaps, 0);
}

/* Two datagrams with the same identification from different sources are kept apart even when
 * their fragments interleave. */
static void same_id_different_sources_kept_apart(void **state)
{
    struct qw_decoder *d = *state;
    struct ends a = ends4("10.0.0.1", "10.0.0.2"), b = ends4("10.0.0.3", "10.0.0.2");
    uint8_t dga[64], dgb[64];
    make_udp(dga, &a, 20000, 502, TEXT40, sizeof TEXT40);
    make_udp(dgb, &b, 20000, 502, TEXT40, sizeof TEXT40);
    struct qw_packet p;
    for (int i = 0; i < 2; i++) {
        feed(d, &a, 17, 42, dga, OFF3[i], 16, true, SEC, &p);
        feed(d, &b, 17, 42, dgb, OFF3[i], 16, true, SEC, &p);
        assert_true(p.ip_fragment_held);
    }
    feed(d, &b, 17, 42, dgb, 32, 16, false, SEC, &p);
    check_udp_done(d, &p, "10.0.0.3");
    feed(d, &a, 17, 42, dga, 32, 16, false, SEC, &p);
    check_udp_done(d, &p, "10.0.0.1");
    assert_int_equal(d->frag.stats.reassembled, 2);
}

/* ---- overlaps ----------------------------------------------------------------------------- */

static uint32_t add(struct qw_frag_table *t, uint32_t id, uint32_t off, bool more,
                    const void *data, uint32_t len, uint64_t ts)
{
    static struct qw_addr src, dst;
    qw_addr_parse("10.0.0.1", &src);
    qw_addr_parse("10.0.0.2", &dst);
    struct qw_frag_in in = {4, 17, id, &src, &dst, off, more, data, len, ts};
    return qw_frag_add(t, &in);
}

/* An overlapping fragment with different bytes: the bytes that arrived first are kept, and the
 * overlap is counted (RFC 5722's concern; the Ptacek-Newsham evasion). */
static void overlap_first_arrival_wins(void **state)
{
    struct qw_decoder *d = *state;
    struct qw_frag_table *t = &d->frag;
    assert_int_equal(add(t, 1, 0, true, "AAAAAAAAAAAAAAAA", 16, SEC), 0);
    assert_int_equal(add(t, 1, 8, true, "BBBBBBBBBBBBBBBB", 16, SEC), 0); /* rewrites [8,16) */
    assert_true(t->stats.overlaps > 0);
    assert_int_equal(add(t, 1, 24, false, "CCCCCCCC", 8, SEC), 32);
    assert_memory_equal(t->out, "AAAAAAAAAAAAAAAABBBBBBBBCCCCCCCC", 32);

    /* a later fragment that covers an earlier one completely changes none of its bytes */
    uint64_t before = t->stats.overlaps;
    assert_int_equal(add(t, 2, 8, true, "xxxxxxxx", 8, SEC), 0);
    assert_int_equal(add(t, 2, 0, false, "yyyyyyyyYYYYYYYYyyyy", 20, SEC), 20);
    assert_memory_equal(t->out, "yyyyyyyyxxxxxxxxyyyy", 20);
    assert_true(t->stats.overlaps > before);
}

/* Through the decoder: an overlapping middle fragment carrying a different UDP port and data
 * cannot change what the first fragment delivered. */
static void overlap_through_decoder(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    uint8_t dg[64], evil[64];
    make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    memset(evil, 'Z', sizeof evil);
    sy_put16(evil + 2, 4444); /* a different destination port */
    struct qw_packet p;
    feed(d, &e, 17, 3, dg, 0, 16, true, SEC, &p);
    feed(d, &e, 17, 3, evil, 0, 32, true, SEC, &p); /* overlaps [0,16), brings [16,32) */
    feed(d, &e, 17, 3, dg, 32, 16, false, SEC, &p);
    assert_true(p.ip_reassembled);
    assert_int_equal(p.dport, 502);
    assert_memory_equal(p.payload, TEXT40, 8);            /* bytes 8..15 of the datagram */
    assert_memory_equal(p.payload + 8, "ZZZZZZZZZZZZZZZZ", 16); /* the new bytes filled the hole */
    assert_true(d->frag.stats.overlaps > 0);
}

/* Two "last" fragments that disagree on the total length: the first one stays. */
static void conflicting_last_fragments(void **state)
{
    struct qw_decoder *d = *state;
    struct qw_frag_table *t = &d->frag;
    assert_int_equal(add(t, 4, 8, false, "end!", 4, SEC), 0);        /* total 12 */
    assert_int_equal(add(t, 4, 8, false, "longer end", 10, SEC), 0); /* total 18: ignored */
    assert_true(t->stats.overlaps > 0);
    assert_int_equal(add(t, 4, 0, true, "12345678", 8, SEC), 12);
    assert_memory_equal(t->out, "12345678end!", 12);
}

/* ---- limits ------------------------------------------------------------------------------- */

/* A datagram still incomplete QW_FRAG_TIMEOUT_NS of packet time after its first fragment is
 * expired: its late fragments cannot complete it. Before the timeout it completes. */
static void incomplete_datagram_expires(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    uint8_t dg[64];
    make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    struct qw_packet p;
    const uint64_t t0 = 100 * SEC;

    feed(d, &e, 17, 1, dg, 0, 16, true, t0, &p);
    feed(d, &e, 17, 1, dg, 16, 16, true, t0 + QW_FRAG_TIMEOUT_NS - 1, &p);
    feed(d, &e, 17, 1, dg, 32, 16, false, t0 + QW_FRAG_TIMEOUT_NS - 1, &p);
    assert_true(p.ip_reassembled);
    assert_int_equal(d->frag.stats.expired, 0);

    feed(d, &e, 17, 2, dg, 0, 16, true, t0, &p);
    feed(d, &e, 17, 2, dg, 16, 16, true, t0 + QW_FRAG_TIMEOUT_NS + 1, &p);
    assert_int_equal(d->frag.stats.expired, 1);
    feed(d, &e, 17, 2, dg, 32, 16, false, t0 + QW_FRAG_TIMEOUT_NS + 2, &p);
    assert_false(p.ip_reassembled);
    assert_true(p.ip_fragment_held);
    assert_int_equal(d->frag.stats.reassembled, 1);
}

/* More than QW_FRAG_SLOTS datagrams in progress: the oldest is evicted (counted), so it can no
 * longer complete; the newest still does. */
static void too_many_datagrams_evicts_oldest(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    uint8_t dg[64];
    make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    struct qw_packet p;
    for (uint32_t id = 0; id <= QW_FRAG_SLOTS; id++) /* 65 datagrams, one fragment each */
        feed(d, &e, 17, id, dg, 0, 16, true, SEC + id, &p);
    assert_int_equal(d->frag.stats.evicted, 1);

    /* id 0 was the oldest: its first fragment is gone */
    feed(d, &e, 17, 0, dg, 16, 16, true, 2 * SEC, &p);
    feed(d, &e, 17, 0, dg, 32, 16, false, 2 * SEC, &p);
    assert_false(p.ip_reassembled);

    /* the newest is intact */
    feed(d, &e, 17, QW_FRAG_SLOTS, dg, 16, 16, true, 2 * SEC, &p);
    feed(d, &e, 17, QW_FRAG_SLOTS, dg, 32, 16, false, 2 * SEC, &p);
    check_udp_done(d, &p, "10.0.0.1");
    assert_true(d->frag.stats.evicted >= 1);
    assert_int_equal(d->frag.stats.reassembled, 1);
}

/* offset + length past 65535 (the "ping of death" shape) is rejected as too_big and stores
 * nothing; exactly 65535 is allowed. A non-final fragment whose length is not a multiple of 8
 * is rejected too. */
static void oversized_fragment_rejected(void **state)
{
    struct qw_decoder *d = *state;
    struct qw_frag_table *t = &d->frag;
    static uint8_t zeros[64];

    assert_int_equal(add(t, 1, 65528, false, zeros, 8, SEC), 0); /* ends at 65536 */
    assert_int_equal(t->stats.too_big, 1);
    assert_int_equal(add(t, 2, 65528, false, zeros, 7, SEC), 0); /* ends at 65535: kept */
    assert_int_equal(t->stats.too_big, 1);
    assert_int_equal(add(t, 3, 0, true, zeros, 12, SEC), 0); /* 12 is not a multiple of 8 */
    assert_int_equal(t->stats.too_big, 2);
    int used = 0;
    for (int i = 0; i < QW_FRAG_SLOTS; i++) used += t->slots[i].used;
    assert_int_equal(used, 1); /* only the 65535-byte datagram is in progress */

    /* the same through the decoder: fragment offset field 0x1fff (65528) with 16 bytes */
    struct ends e = ends4("10.0.0.1", "10.0.0.2");
    struct qw_packet p;
    uint8_t frame[64];
    size_t n = make_frag(frame, &e, 17, 9, 65528, false, zeros, 16);
    qw_decode(d, frame, (uint32_t)n, (uint32_t)n, SEC, &p);
    assert_int_equal(t->stats.too_big, 3);
    assert_false(p.ip_reassembled);
    assert_false(p.l4_ok);
}

/* ---- IPv6 --------------------------------------------------------------------------------- */

/* IPv6 fragments (fragment header, RFC 8200 s.4.5) reassemble shuffled, with the IPv6 UDP
 * checksum verified over the result. */
static void ipv6_fragments_reassemble(void **state)
{
    struct qw_decoder *d = *state;
    struct ends e = ends6("2001:db8::10", "2001:db8::20");
    uint8_t dg[64];
    make_udp(dg, &e, 20000, 502, TEXT40, sizeof TEXT40);
    struct qw_packet p;
    static const int order[3] = {1, 2, 0};
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        feed(d, &e, 17, 0x01020304, dg, OFF3[i], 16, i < 2, SEC, &p);
        if (k < 2) {
            assert_true(p.ip_fragment_held);
            assert_int_equal(p.l3, QW_L3_IPV6);
        }
    }
    check_udp_done(d, &p, "2001:db8::10");
    assert_int_equal(d->frag.stats.reassembled, 1);
    assert_int_equal(d->stats.ipv6, 3); /* every fragment was counted as IPv6 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_three_fragments_any_order),
        cmocka_unit_test_setup_teardown(tcp_header_split_across_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_fragment_harmless, setup, teardown),
        cmocka_unit_test_setup_teardown(same_id_different_sources_kept_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(overlap_first_arrival_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(overlap_through_decoder, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicting_last_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(incomplete_datagram_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_datagrams_evicts_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_fragment_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(ipv6_fragments_reassemble, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
