/* Unit tests for TCP stream reassembly (src/flow/reasm.c).
 *
 * The reassembler's ops record what it delivers, per direction, into byte buffers, and every gap
 * into a list (direction, byte count, and how many bytes had been delivered when it came). Tests
 * feed struct qw_packet values with the TCP fields set by hand to a zeroed struct qw_flow, and
 * compare the delivered streams with what a receiving TCP would have handed its application. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "flow/reasm.h"

#define C2S QW_DIR_TO_SERVER
#define S2C QW_DIR_TO_CLIENT
#define ACK QW_TCP_ACK
#define SYN QW_TCP_SYN
#define FIN QW_TCP_FIN

struct gap_rec {
    enum qw_dir dir;
    uint64_t bytes;
    size_t at; /* bytes delivered in that direction before the gap */
};

struct fx {
    struct qw_reasm r;
    struct qw_flow f;
    uint64_t now;
    uint8_t out[2][8192];
    size_t len[2];
    size_t calls[2];
    struct gap_rec gaps[1024];
    size_t ngaps;
};

static void on_data(void *user, struct qw_flow *f, enum qw_dir dir, const uint8_t *data,
                    size_t len, uint64_t ts_ns)
{
    struct fx *x = user;
    assert_ptr_equal(f, &x->f);
    assert_true(len > 0);
    assert_true(x->len[dir] + len <= sizeof x->out[dir]);
    memcpy(x->out[dir] + x->len[dir], data, len);
    x->len[dir] += len;
    x->calls[dir]++;
}

static void on_gap(void *user, struct qw_flow *f, enum qw_dir dir, uint64_t bytes, uint64_t ts_ns)
{
    struct fx *x = user;
    assert_true(x->ngaps < sizeof x->gaps / sizeof x->gaps[0]);
    x->gaps[x->ngaps++] = (struct gap_rec){dir, bytes, x->len[dir]};
}

static const struct qw_reasm_ops OPS = {on_data, on_gap};

static struct fx *fx_new(size_t memcap)
{
    struct fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    qw_reasm_init(&x->r, &OPS, x, memcap);
    x->f.key.proto = 6;
    return x;
}

static int setup(void **state)
{
    *state = fx_new(0);
    return 0;
}

/* Frees the flow's state and checks that no queued memory is left behind. */
static int teardown(void **state)
{
    struct fx *x = *state;
    qw_reasm_free(&x->r, &x->f);
    int ok = x->r.stats.mem_in_use == 0 && x->r.stats.queued_bytes == 0 && x->f.tcp == NULL;
    qw_reasm_release(&x->r);
    free(x);
    return ok ? 0 : -1;
}

/* One TCP packet: flags, sequence and acknowledgement numbers, and a text payload (NULL: none). */
static void seg(struct fx *x, enum qw_dir dir, uint8_t flags, uint32_t seq, uint32_t ack,
                const char *data)
{
    struct qw_packet p;
    memset(&p, 0, sizeof p);
    p.l4_proto = 6;
    p.l4_ok = true;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload = (const uint8_t *)data;
    p.payload_len = data ? (uint32_t)strlen(data) : 0;
    p.ts_ns = ++x->now;
    qw_reasm_packet(&x->r, &x->f, dir, &p);
}

static void assert_stream(const struct fx *x, enum qw_dir dir, const char *want)
{
    size_t n = strlen(want);
    if (x->len[dir] != n || memcmp(x->out[dir], want, n) != 0)
        fail_msg("dir %d: got \"%.*s\" (%zu bytes), want \"%s\"", (int)dir, (int)x->len[dir],
                 (const char *)x->out[dir], x->len[dir], want);
}

/* Client ISN 1000, server ISN 5000: the three-way handshake. */
static void handshake(struct fx *x)
{
    seg(x, C2S, SYN, 1000, 0, NULL);
    seg(x, S2C, SYN | ACK, 5000, 1001, NULL);
    seg(x, C2S, ACK, 1001, 5001, NULL);
}

/* ---- ordered delivery --------------------------------------------------------------------- */

/* After the handshake, in-order data of each direction is delivered at once, in order, into
 * its own stream; the SYN's sequence number is not data. */
static void in_order_after_syn(void **state)
{
    struct fx *x = *state;
    handshake(x);
    assert_int_equal(x->len[C2S] + x->len[S2C], 0);
    seg(x, C2S, ACK, 1001, 5001, "hello ");
    assert_stream(x, C2S, "hello ");
    seg(x, C2S, ACK, 1007, 5001, "world");
    seg(x, S2C, ACK, 5001, 1012, "reply");
    assert_stream(x, C2S, "hello world");
    assert_stream(x, S2C, "reply");
    assert_int_equal(x->ngaps, 0);
    assert_int_equal(x->r.stats.in_order, 3);
    assert_int_equal(x->r.stats.queued, 0);
    assert_true(x->f.seq[C2S].syn);
    assert_int_equal(x->f.seq[C2S].isn, 1000);
    assert_int_equal(x->f.seq[C2S].next_seq, 1012);
    assert_int_equal(x->f.seq[S2C].next_seq, 5006);
    seg(x, C2S, FIN | ACK, 1012, 5006, NULL);
    assert_true(x->f.seq[C2S].fin);
}

/* Retransmissions of delivered bytes (whole or part) are dropped and counted. */
static void retransmission_not_delivered_twice(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "hello ");
    seg(x, C2S, ACK, 1007, 5001, "world");
    seg(x, C2S, ACK, 1001, 5001, "hello ");
    seg(x, C2S, ACK, 1004, 5001, "lo wor");
    assert_stream(x, C2S, "hello world");
    assert_int_equal(x->r.stats.retransmitted, 2);
    assert_int_equal(x->calls[C2S], 2);
    /* a retransmission that also carries new bytes delivers only the new ones */
    seg(x, C2S, ACK, 1007, 5001, "world!!");
    assert_stream(x, C2S, "hello world!!");
}

/* Segments 3, 1, 2: 3 waits in the queue, 1 is delivered at once, 2 releases itself and 3. */
static void out_of_order_delivered_in_order(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1009, 5001, "CCCC");
    assert_int_equal(x->len[C2S], 0);
    assert_int_equal(x->r.stats.queued, 1);
    assert_true(x->r.stats.mem_in_use > 0);
    seg(x, C2S, ACK, 1001, 5001, "AAAA");
    assert_stream(x, C2S, "AAAA");
    seg(x, C2S, ACK, 1005, 5001, "BBBB");
    assert_stream(x, C2S, "AAAABBBBCCCC");
    assert_int_equal(x->ngaps, 0);
    assert_int_equal(x->r.stats.mem_in_use, 0);
    assert_true(x->f.tcp == NULL || x->f.tcp[C2S].ooo == NULL);
    assert_int_equal(x->f.seq[C2S].next_seq, 1013);
}

/* An overlapping segment with different bytes: what was delivered first stays, only the new
 * bytes past it are delivered. */
static void overlap_first_delivered_wins(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "AAAAAAAA");
    seg(x, C2S, ACK, 1005, 5001, "XXXXBBBB"); /* rewrites 1005..1008 */
    assert_stream(x, C2S, "AAAAAAAABBBB");
    assert_int_equal(x->r.stats.overlaps, 1);
}

/* Two queued segments that overlap each other with different bytes, both ahead of a hole: the
 * bytes that arrived first win, as for delivered data and for IP fragments (reasm.h: "for
 * overlapping bytes the first copy wins"). */
static void queued_overlap_first_arrival_wins(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1011, 5001, "aaaaaaaaaa"); /* 1011..1020, first */
    seg(x, C2S, ACK, 1006, 5001, "BBBBBBBBBB"); /* 1006..1015, rewrites 1011..1015 */
    seg(x, C2S, ACK, 1001, 5001, "hhhhh");      /* fills the hole */
    assert_stream(x, C2S, "hhhhhBBBBBaaaaaaaaaa");
}

/* ---- gaps --------------------------------------------------------------------------------- */

/* The capture lost 1005..1008; the server ACKs past it: the hole is reported as a 4-byte gap at
 * the right place, the queued data follows, and later data flows normally. */
static void ack_past_hole_declares_gap(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "AAAA");
    seg(x, C2S, ACK, 1009, 5001, "CCCC");
    assert_int_equal(x->ngaps, 0);
    seg(x, S2C, ACK, 5001, 1005, NULL); /* ACK up to the hole: proves nothing */
    assert_int_equal(x->ngaps, 0);
    seg(x, S2C, ACK, 5001, 1013, NULL); /* ACK past it */
    assert_int_equal(x->ngaps, 1);
    assert_int_equal(x->gaps[0].dir, C2S);
    assert_int_equal(x->gaps[0].bytes, 4);
    assert_int_equal(x->gaps[0].at, 4);
    assert_stream(x, C2S, "AAAACCCC");
    seg(x, C2S, ACK, 1013, 5001, "DDDD");
    assert_stream(x, C2S, "AAAACCCCDDDD");
    assert_int_equal(x->r.stats.gaps, 1);
    assert_int_equal(x->r.stats.gap_bytes, 4);
    assert_int_equal(x->f.tcp[C2S].gaps, 1);
    assert_int_equal(x->f.tcp[C2S].gap_bytes, 4);
    assert_int_equal(x->len[S2C], 0);
}

/* One ACK past two holes proves both lost: everything queued behind them is delivered, with
 * two gaps, without waiting for another ACK. */
static void ack_past_two_holes_declares_both(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "AAAA");
    seg(x, C2S, ACK, 1009, 5001, "CCCC"); /* hole 1005..1008 before it */
    seg(x, C2S, ACK, 1017, 5001, "EEEE"); /* hole 1013..1016 before it */
    seg(x, S2C, ACK, 5001, 1021, NULL);   /* acknowledges everything */
    assert_stream(x, C2S, "AAAACCCCEEEE");
    assert_int_equal(x->ngaps, 2);
    assert_int_equal(x->r.stats.gap_bytes, 8);
}

/* The flow ends with a hole: flush reports each gap and delivers what was queued behind it. */
static void flush_reports_gap_and_delivers(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "AAAA");
    seg(x, C2S, ACK, 1009, 5001, "CCCC");
    seg(x, C2S, ACK, 1019, 5001, "EEEE"); /* a 6-byte hole before it */
    seg(x, S2C, ACK, 5001, 1001, "late"); /* server data; its ACK proves nothing */
    assert_stream(x, C2S, "AAAA");
    qw_reasm_flush(&x->r, &x->f, x->now);
    assert_stream(x, C2S, "AAAACCCCEEEE");
    assert_stream(x, S2C, "late");
    assert_int_equal(x->ngaps, 2);
    assert_int_equal(x->gaps[0].bytes, 4);
    assert_int_equal(x->gaps[0].at, 4);
    assert_int_equal(x->gaps[1].bytes, 6);
    assert_int_equal(x->gaps[1].at, 8);
    assert_true(x->f.tcp == NULL || x->f.tcp[C2S].ooo == NULL);
    assert_int_equal(x->r.stats.mem_in_use, 0);
}

/* ---- pickup and sequence space ------------------------------------------------------------ */

/* No handshake seen: the direction starts at the first segment's sequence number, and bytes
 * before that point are not delivered. */
static void midstream_pickup(void **state)
{
    struct fx *x = *state;
    seg(x, S2C, ACK, 0x7000, 0x12345678, NULL); /* a pure ACK before any data: ignored */
    assert_false(x->f.seq[S2C].seq_known);
    assert_null(x->f.tcp);
    seg(x, C2S, ACK, 0x12345678, 0x7000, "first");
    seg(x, C2S, ACK, 0x1234567d, 0x7000, "-second");
    assert_stream(x, C2S, "first-second");
    assert_false(x->f.seq[C2S].syn);
    assert_true(x->f.seq[C2S].seq_known);
    assert_int_equal(x->f.seq[C2S].isn, 0x12345678);
    seg(x, C2S, ACK, 0x12345670, 0x7000, "earlier!"); /* ends where the pickup began */
    assert_stream(x, C2S, "first-second");
    assert_int_equal(x->ngaps, 0);
}

/* ISN 0xfffffff0: data runs across the 2^32 wrap, in order and out of order. */
static void sequence_wraparound(void **state)
{
    struct fx *x = *state;
    seg(x, C2S, SYN, 0xfffffff0u, 0, NULL);
    seg(x, C2S, ACK, 0xfffffff1u, 1, "01234567");         /* up to 0xfffffff8 */
    seg(x, C2S, ACK, 0xfffffff9u, 1, "89abcdefghijklmn"); /* crosses 0: up to 0x00000008 */
    seg(x, C2S, ACK, 0x00000011u, 1, "STUV");             /* ahead: queued */
    seg(x, C2S, ACK, 0x00000009u, 1, "opqrstuv");         /* fills 0x09..0x10 */
    assert_stream(x, C2S, "0123456789abcdefghijklmnopqrstuvSTUV");
    assert_int_equal(x->f.seq[C2S].next_seq, 0x15);
    seg(x, C2S, ACK, 0xfffffff9u, 1, "89ab"); /* before the wrap: a retransmission */
    assert_int_equal(x->len[C2S], 36);
    assert_int_equal(x->ngaps, 0);
}

/* Data in a SYN (TCP Fast Open) starts after the SYN's sequence number. */
static void syn_with_data(void **state)
{
    struct fx *x = *state;
    seg(x, C2S, SYN, 500, 0, "tfo");
    seg(x, C2S, ACK, 504, 1, "!");
    assert_stream(x, C2S, "tfo!");
    assert_int_equal(x->f.seq[C2S].next_seq, 505);
}

/* A duplicate of the SYN arriving after data (a late retransmission, or a SPAN port copying it
 * twice) must not rewind the stream: later data is delivered at once, with no false gap. */
static void duplicate_syn_after_data_does_not_rewind(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1001, 5001, "hello");
    seg(x, C2S, SYN, 1000, 0, NULL); /* same ISN */
    seg(x, C2S, ACK, 1006, 5001, "world");
    assert_stream(x, C2S, "helloworld");
    assert_int_equal(x->f.seq[C2S].next_seq, 1011);
    qw_reasm_flush(&x->r, &x->f, x->now);
    assert_int_equal(x->ngaps, 0);
    assert_stream(x, C2S, "helloworld");
}

/* ---- limits ------------------------------------------------------------------------------- */

/* 600 one-byte segments each behind a one-byte hole: the queue never holds more than
 * QW_REASM_DIR_MAX_SEGS; each segment past the limit turns the oldest hole into a gap and
 * releases what followed it. Flush then gaps the rest; every byte arrives once, in order. */
static void queue_segment_limit_declares_gap(void **state)
{
    struct fx *x = *state;
    enum { N = 600 };
    seg(x, C2S, SYN, 0, 0, NULL); /* next expected: 1 */
    char b[2] = {0, 0};
    for (uint32_t k = 0; k < N; k++) {
        b[0] = (char)('a' + k % 26);
        seg(x, C2S, ACK, 2 + 2 * k, 1, b); /* hole at 1 + 2k */
        assert_true(x->f.tcp[C2S].ooo_count <= QW_REASM_DIR_MAX_SEGS);
    }
    assert_int_equal(x->f.tcp[C2S].ooo_count, QW_REASM_DIR_MAX_SEGS);
    assert_int_equal(x->ngaps, N - QW_REASM_DIR_MAX_SEGS);
    assert_int_equal(x->len[C2S], N - QW_REASM_DIR_MAX_SEGS);
    assert_int_equal(x->r.stats.queued_bytes, QW_REASM_DIR_MAX_SEGS);
    assert_true(x->r.stats.mem_in_use >= QW_REASM_DIR_MAX_SEGS);
    for (size_t i = 0; i < x->ngaps; i++) {
        assert_int_equal(x->gaps[i].bytes, 1);
        assert_int_equal(x->gaps[i].at, i);
    }
    qw_reasm_flush(&x->r, &x->f, x->now);
    assert_int_equal(x->ngaps, N);
    assert_int_equal(x->len[C2S], N);
    for (uint32_t k = 0; k < N; k++) assert_int_equal(x->out[C2S][k], 'a' + k % 26);
    assert_int_equal(x->r.stats.mem_in_use, 0);
}

/* The global memory cap: a segment that would pass it is not queued (counted); the hole before
 * the queue becomes a gap instead, and all the data still arrives in order. */
static void memcap_declares_gap(void **state)
{
    struct fx *x = *state;
    qw_reasm_init(&x->r, &OPS, x, QW_REASM_BLOCK_MIN); /* one block for all flows */
    seg(x, C2S, SYN, 100, 0, NULL);
    seg(x, C2S, ACK, 101, 1, "AAAA");
    seg(x, C2S, ACK, 109, 1, "CCCC");     /* queued: one block */
    seg(x, C2S, ACK, 117, 1, "EEEEEEEE"); /* a second block would pass the cap */
    assert_int_equal(x->r.stats.memcap_hits, 1);
    assert_int_equal(x->r.stats.flow_cap_hits, 0);
    assert_int_equal(x->ngaps, 1);
    assert_int_equal(x->gaps[0].bytes, 4);
    assert_stream(x, C2S, "AAAACCCC");
    assert_true(x->r.stats.mem_peak <= QW_REASM_BLOCK_MIN);
    qw_reasm_flush(&x->r, &x->f, x->now);
    assert_stream(x, C2S, "AAAACCCCEEEEEEEE");
    assert_int_equal(x->ngaps, 2);
}

/* The per-flow cap: each direction queues at most flow_cap / 2 bytes out of order; a segment
 * past it is refused (counted apart from the global cap) and the hole before it becomes a
 * gap, while the other direction keeps its own share. */
static void flow_cap_declares_gap(void **state)
{
    struct fx *x = *state;
    x->r.flow_cap = 16; /* 8 bytes per direction */
    seg(x, C2S, SYN, 100, 0, NULL);
    seg(x, S2C, SYN | ACK, 500, 101, NULL);
    seg(x, C2S, ACK, 101, 501, "AAAA");
    seg(x, C2S, ACK, 109, 501, "CCCC");     /* queued: 4 of 8 */
    seg(x, S2C, ACK, 509, 105, "zzzzzzzz"); /* the other direction: 8 of its own 8 */
    assert_int_equal(x->r.stats.flow_cap_hits, 0);
    seg(x, C2S, ACK, 117, 501, "EEEEEEEE"); /* 4 + 8 > 8 */
    assert_int_equal(x->r.stats.flow_cap_hits, 1);
    assert_int_equal(x->r.stats.memcap_hits, 0);
    assert_int_equal(x->ngaps, 1);
    assert_int_equal(x->gaps[0].dir, C2S);
    assert_int_equal(x->gaps[0].bytes, 4);
    assert_stream(x, C2S, "AAAACCCC");
    assert_int_equal(x->f.tcp[S2C].ooo_bytes, 8);
    qw_reasm_flush(&x->r, &x->f, x->now);
    assert_stream(x, C2S, "AAAACCCCEEEEEEEE");
    assert_stream(x, S2C, "zzzzzzzz");
}

/* qw_reasm_free releases queued segments: the memory in use goes back to 0. */
static void free_releases_memory(void **state)
{
    struct fx *x = *state;
    handshake(x);
    seg(x, C2S, ACK, 1101, 5001, "queued one");
    seg(x, C2S, ACK, 1201, 5001, "queued two");
    seg(x, S2C, ACK, 5101, 1001, "queued three");
    assert_int_equal(x->r.stats.queued_bytes, 10 + 10 + 12);
    assert_true(x->r.stats.mem_in_use > 10 + 10 + 12); /* blocks include their headers */
    assert_int_equal(x->r.stats.mem_peak, x->r.stats.mem_in_use);
    qw_reasm_free(&x->r, &x->f);
    assert_int_equal(x->r.stats.mem_in_use, 0);
    assert_null(x->f.tcp);
    assert_int_equal(x->len[C2S] + x->len[S2C], 0); /* freeing delivers nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(in_order_after_syn, setup, teardown),
        cmocka_unit_test_setup_teardown(retransmission_not_delivered_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_order_delivered_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(overlap_first_delivered_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_overlap_first_arrival_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_past_hole_declares_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_past_two_holes_declares_both, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_reports_gap_and_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(midstream_pickup, setup, teardown),
        cmocka_unit_test_setup_teardown(sequence_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(syn_with_data, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_syn_after_data_does_not_rewind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(queue_segment_limit_declares_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(memcap_declares_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(flow_cap_declares_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(free_releases_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
