/* The worker shard key (src/decode/shard_key.c): both directions of a conversation, its
 * fragments and its VLAN-retagged replies land on one worker; frames without IP go to worker 0;
 * every encapsulation the decoder walks is walked; cut frames are refused, not read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "decode/decode.h"
#include "decode/shard_key.h"

enum { LT_ETH = 1, LT_RAW = 101, LT_SLL = 113, LT_SLL2 = 276, LT_NULL = 0 };

/* An Ethernet frame: `ntags` 802.1Q tags with `vid`, then IPv4 src -> dst (UDP header stub). */
static size_t eth_ipv4(uint8_t *f, int ntags, uint16_t vid, const uint8_t src[4],
                       const uint8_t dst[4], uint16_t frag)
{
    size_t n = 0;
    memset(f, 0, 128);
    memcpy(f, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb", 12);
    n = 12;
    for (int i = 0; i < ntags; i++) {
        f[n++] = 0x81, f[n++] = 0x00;
        f[n++] = (uint8_t)(vid >> 8), f[n++] = (uint8_t)vid;
    }
    f[n++] = 0x08, f[n++] = 0x00;
    uint8_t *ip = f + n;
    ip[0] = 0x45;
    ip[3] = 28;
    ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag;
    ip[8] = 64, ip[9] = 17;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    return n + 28;
}

static const uint8_t A[4] = {10, 30, 1, 11}, B[4] = {10, 30, 9, 200}, C[4] = {10, 40, 0, 60};

static void test_both_directions_and_vlans(void **state)
{
    (void)state;
    uint8_t f[128];
    bool ip;
    size_t n = eth_ipv4(f, 0, 0, A, B, 0);
    uint64_t ab = qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip);
    assert_true(ip);
    n = eth_ipv4(f, 0, 0, B, A, 0);
    assert_int_equal(qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip), ab);
    n = eth_ipv4(f, 2, 300, B, A, 0x2000); /* QinQ-tagged reply, a fragment: same pair */
    assert_int_equal(qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip), ab);
    n = eth_ipv4(f, 1, 20, A, C, 0); /* another pair: another hash */
    assert_int_not_equal(qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip), ab);
}

static void test_link_types_agree(void **state)
{
    (void)state;
    uint8_t f[128], g[160];
    bool ip;
    size_t n = eth_ipv4(f, 0, 0, A, B, 0);
    uint64_t h = qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip);
    /* raw IP */
    assert_int_equal(qw_shard_hash(LT_RAW, f + 14, (uint32_t)(n - 14), &ip), h);
    assert_true(ip);
    /* Linux cooked (SLL): 14 bytes then the protocol */
    memset(g, 0, sizeof g);
    g[14] = 0x08, g[15] = 0x00;
    memcpy(g + 16, f + 14, n - 14);
    assert_int_equal(qw_shard_hash(LT_SLL, g, (uint32_t)(n + 2), &ip), h);
    /* SLL2: protocol first, 20-byte header */
    memset(g, 0, sizeof g);
    g[0] = 0x08, g[1] = 0x00;
    memcpy(g + 20, f + 14, n - 14);
    assert_int_equal(qw_shard_hash(LT_SLL2, g, (uint32_t)(n + 6), &ip), h);
    /* BSD loopback: 4-byte family */
    memset(g, 0, sizeof g);
    g[0] = 2;
    memcpy(g + 4, f + 14, n - 14);
    assert_int_equal(qw_shard_hash(LT_NULL, g, (uint32_t)(n - 10), &ip), h);
    /* MPLS (one label, bottom of stack) and PPPoE session over Ethernet */
    memcpy(g, f, 12);
    g[12] = 0x88, g[13] = 0x47;
    g[14] = 0, g[15] = 0x01, g[16] = 0x01, g[17] = 64; /* S bit set */
    memcpy(g + 18, f + 14, n - 14);
    assert_int_equal(qw_shard_hash(LT_ETH, g, (uint32_t)(n + 4), &ip), h);
    memcpy(g, f, 12);
    g[12] = 0x88, g[13] = 0x64;
    memset(g + 14, 0, 6);
    g[20] = 0x00, g[21] = 0x21;
    memcpy(g + 22, f + 14, n - 14);
    assert_int_equal(qw_shard_hash(LT_ETH, g, (uint32_t)(n + 8), &ip), h);
}

static void test_ipv6_pair(void **state)
{
    (void)state;
    uint8_t f[14 + 40], r[14 + 40];
    memset(f, 0, sizeof f);
    f[12] = 0x86, f[13] = 0xdd;
    f[14] = 0x60;
    for (int i = 0; i < 16; i++) f[14 + 8 + i] = (uint8_t)(0x20 + i), f[14 + 24 + i] = (uint8_t)i;
    memcpy(r, f, sizeof f);
    memcpy(r + 14 + 8, f + 14 + 24, 16);
    memcpy(r + 14 + 24, f + 14 + 8, 16);
    bool ip;
    uint64_t h = qw_shard_hash(LT_ETH, f, sizeof f, &ip);
    assert_true(ip);
    assert_int_equal(qw_shard_hash(LT_ETH, r, sizeof r, &ip), h);
}

static void test_non_ip_and_cut_frames(void **state)
{
    (void)state;
    uint8_t f[128];
    bool ip;
    size_t n = eth_ipv4(f, 1, 5, A, B, 0);
    /* ARP: worker 0 whatever the count */
    f[16] = 0x08, f[17] = 0x06;
    assert_int_equal(qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip), 0);
    assert_false(ip);
    for (unsigned w = 1; w <= 8; w++) assert_int_equal(qw_shard_of(LT_ETH, f, (uint32_t)n, w, 0), 0);
    /* an IPv4 frame cut anywhere before the addresses end is not IP to the key */
    n = eth_ipv4(f, 1, 5, A, B, 0);
    for (size_t cut = 0; cut < 18 + 20; cut++) {
        qw_shard_hash(LT_ETH, f, (uint32_t)cut, &ip);
        assert_false(ip);
    }
    qw_shard_hash(LT_ETH, f, 18 + 20, &ip);
    assert_true(ip);
    /* a version nibble that lies */
    f[18] = 0x65;
    qw_shard_hash(LT_ETH, f, (uint32_t)n, &ip);
    assert_false(ip);
    /* unknown link type */
    qw_shard_hash(9999, f, (uint32_t)n, &ip);
    assert_false(ip);
}

static void test_spread(void **state)
{
    (void)state;
    /* 1000 host pairs of one subnet spread over 2 and 3 workers without starving any */
    uint8_t f[128];
    unsigned count2[2] = {0}, count3[3] = {0}, count2q[2] = {0};
    for (int i = 0; i < 1000; i++) {
        uint8_t s[4] = {10, 30, (uint8_t)(i / 250), (uint8_t)(i % 250 + 1)};
        uint8_t d[4] = {10, 30, 9, (uint8_t)(i % 7 + 1)};
        size_t n = eth_ipv4(f, 0, 0, s, d, 0);
        count2[qw_shard_of(LT_ETH, f, (uint32_t)n, 2, 1u << 31)]++; /* even */
        count3[qw_shard_of(LT_ETH, f, (uint32_t)n, 3, (uint32_t)((1ull << 32) / 3))]++;
        count2q[qw_shard_of(LT_ETH, f, (uint32_t)n, 2, 1u << 30)]++; /* a quarter for 0 */
    }
    for (int w = 0; w < 2; w++) assert_in_range(count2[w], 400, 600);
    for (int w = 0; w < 3; w++) assert_in_range(count3[w], 250, 420);
    assert_in_range(count2q[0], 180, 320);
    assert_in_range(count2q[1], 680, 820);
    /* share0 0 (three or more workers): worker 0 gets no IP pair at all */
    uint8_t g[128];
    size_t gn = eth_ipv4(g, 0, 0, A, B, 0);
    for (unsigned w = 2; w <= 8; w++) assert_int_not_equal(qw_shard_of(LT_ETH, g, (uint32_t)gn, w, 0), 0);
}

/* Raw IPv4 header at `f`: src -> dst, protocol, flags/offset; total covers `payload` bytes. */
static size_t ip4(uint8_t *f, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                  uint16_t frag, size_t payload)
{
    memset(f, 0, 20);
    f[0] = 0x45;
    f[2] = (uint8_t)((20 + payload) >> 8), f[3] = (uint8_t)(20 + payload);
    f[6] = (uint8_t)(frag >> 8), f[7] = (uint8_t)frag;
    f[8] = 64, f[9] = proto;
    memcpy(f + 12, src, 4);
    memcpy(f + 16, dst, 4);
    return 20;
}

/* Raw IPv6 header at `f`: addresses ::s and ::d under 2001:db8::/32, next header, payload. */
static size_t ip6(uint8_t *f, uint8_t s, uint8_t d, uint8_t next, size_t payload)
{
    memset(f, 0, 40);
    f[0] = 0x60;
    f[4] = (uint8_t)(payload >> 8), f[5] = (uint8_t)payload;
    f[6] = next, f[7] = 64;
    f[8] = 0x20, f[9] = 0x01, f[10] = 0x0d, f[11] = 0xb8, f[23] = s;
    f[24] = 0x20, f[25] = 0x01, f[26] = 0x0d, f[27] = 0xb8, f[39] = d;
    return 40;
}

static uint64_t raw_hash(const uint8_t *f, size_t n)
{
    bool ip = false;
    uint64_t h = qw_shard_hash(LT_RAW, f, (uint32_t)n, &ip);
    assert_true(ip);
    return h;
}

static void test_tunnels_by_inner_pair(void **state)
{
    (void)state;
    uint8_t f[256];
    /* the inner IPv6 pair alone, as the decoder would see it without the tunnel */
    size_t n = ip6(f, 2, 0x22, 17, 8);
    uint64_t inner = raw_hash(f, n + 8);
    n = ip6(f, 0x22, 2, 17, 8);
    assert_int_equal(raw_hash(f, n + 8), inner);

    /* 6in4 (protocol 41) mirrored on two legs with different outer pairs, both directions */
    n = ip4(f, A, B, 41, 0, 48);
    n += ip6(f + n, 2, 0x22, 17, 8);
    assert_int_equal(raw_hash(f, n + 8), inner);
    n = ip4(f, C, A, 41, 0, 48);
    n += ip6(f + n, 0x22, 2, 17, 8);
    assert_int_equal(raw_hash(f, n + 8), inner);
    /* another inner pair in the same tunnel: another hash */
    n = ip4(f, A, B, 41, 0, 48);
    n += ip6(f + n, 2, 0x23, 17, 8);
    assert_int_not_equal(raw_hash(f, n + 8), inner);

    /* IP-in-IP (4) and GRE (47, version 0, key present) around the same IPv4 pair */
    n = ip4(f, A, C, 17, 0, 8);
    uint64_t ab_inner = raw_hash(f, n + 8);
    n = ip4(f, B, C, 4, 0, 28);
    n += ip4(f + n, A, C, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), ab_inner);
    n = ip4(f, B, A, 47, 0, 36);
    memcpy(f + n, "\x20\x00\x08\x00\x00\x00\x00\x07", 8); /* key flag, IPv4, key 7 */
    n += 8;
    n += ip4(f + n, C, A, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), ab_inner);
    /* GRE carrying Ethernet (transparent bridging) with a VLAN tag */
    n = ip4(f, B, A, 47, 0, 4 + 18 + 28);
    memcpy(f + n, "\x00\x00\x65\x58", 4);
    n += 4;
    memset(f + n, 0x02, 12);
    memcpy(f + n + 12, "\x81\x00\x00\x0a\x08\x00", 6);
    n += 18;
    n += ip4(f + n, A, C, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), ab_inner);
    /* GRE version 1 (PPTP) is not descended into: the outer pair */
    n = ip4(f, B, A, 47, 0, 28);
    memcpy(f + n, "\x00\x01\x08\x00", 4);
    ip4(f + n + 4, A, C, 17, 0, 8);
    uint64_t ba = raw_hash(f, n + 32);
    n = ip4(f, A, B, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), ba);

    /* IPv4 inside IPv6, behind a hop-by-hop and an atomic fragment header */
    n = ip6(f, 9, 8, 0, 8 + 8 + 28);
    memcpy(f + n, "\x2c\x00\x00\x00\x00\x00\x00\x00", 8);     /* hop-by-hop -> fragment */
    memcpy(f + n + 8, "\x04\x00\x00\x00\x00\x00\x00\x01", 8); /* offset 0, no more: atomic */
    n += 16;
    n += ip4(f + n, C, A, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), ab_inner);
}

static void test_tunnels_fragments_damage_depth(void **state)
{
    (void)state;
    uint8_t f[256];
    size_t n = ip4(f, A, B, 17, 0, 8);
    uint64_t outer = raw_hash(f, n + 8);
    n = ip4(f, A, C, 17, 0, 8);
    uint64_t inner = raw_hash(f, n + 8);
    /* a fragmented tunnel datagram: every fragment by the outer pair, the first one too */
    n = ip4(f, A, B, 4, 0x2000, 28);
    n += ip4(f + n, A, C, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), outer);
    n = ip4(f, B, A, 4, 0x0003, 28);
    assert_int_equal(raw_hash(f, n + 28), outer);
    /* IPv6 outer with a real fragment header: the outer pair */
    n = ip6(f, 1, 2, 44, 8 + 28);
    uint64_t outer6;
    {
        uint8_t g[64];
        size_t m = ip6(g, 1, 2, 17, 8);
        outer6 = raw_hash(g, m + 8);
    }
    memcpy(f + n, "\x04\x00\x00\x01\x00\x00\x00\x01", 8); /* more fragments follow */
    ip4(f + n + 8, A, C, 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 36), outer6);
    /* damaged inner headers leave the outer pair, as the decoder leaves the outer addresses */
    n = ip4(f, A, B, 4, 0, 28);
    ip4(f + n, A, C, 17, 0, 8);
    f[n] = 0x43; /* header length 12 */
    assert_int_equal(raw_hash(f, n + 28), outer);
    f[n] = 0x65; /* version 6 where IPv4 was promised */
    assert_int_equal(raw_hash(f, n + 28), outer);
    for (size_t cut = n; cut < n + 20; cut++) assert_int_equal(raw_hash(f, cut), outer);
    /* five tunnels deep: the decoder stops at the fourth inner header, and so does the key */
    uint8_t hosts[6][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}, {10, 0, 0, 3},
                           {10, 0, 0, 4}, {10, 0, 0, 5}, {10, 0, 0, 6}};
    n = 0;
    for (int level = 0; level < 5; level++)
        n += ip4(f + n, hosts[level], hosts[level + 1], 4, 0, (size_t)(5 - level) * 20 + 8);
    n += ip4(f + n, hosts[5], hosts[0], 17, 0, 8);
    size_t m = ip4(f + 200, hosts[4], hosts[5], 17, 0, 8);
    assert_int_equal(raw_hash(f, n + 8), raw_hash(f + 200, m + 8));
    (void)inner;
}

/* The key reads headers on its own, ahead of the decoder: on every frame of the corpus, frames
 * the decoder gives the same address pair (either way round) must have the same key, or one
 * flow would be split between workers. Fragments are left out: their key is the outer pair by
 * design, while the decoder, once a datagram is whole, gives a tunnel's inner one. */
struct pair_key {
    uint8_t lo[16], hi[16];
    uint64_t hash;
    int linktype;
};

static int cmp_pair(const void *x, const void *y)
{
    const struct pair_key *a = x, *b = y;
    int r = memcmp(a->lo, b->lo, 32);
    return r ? r : (a->hash > b->hash) - (a->hash < b->hash);
}

static void corpus_key_follows_decoder(void **state)
{
    (void)state;
    const char *corpus = getenv("QW_CORPUS");
    if (!corpus) skip();
    char cmd[4200], path[4096];
    snprintf(cmd, sizeof cmd, "find '%s/pcaps' -type f | sort", corpus);
    FILE *list = popen(cmd, "r");
    assert_non_null(list);
    size_t n = 0, cap = 1 << 16;
    struct pair_key *keys = malloc(cap * sizeof *keys);
    assert_non_null(keys);
    while (fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(path, err);
        if (!p) continue;
        int lt = pcap_datalink(p);
        struct qw_decoder d;
        qw_decoder_init(&d, lt);
        struct pcap_pkthdr *h;
        const u_char *frame;
        while (pcap_next_ex(p, &h, &frame) == 1) {
            struct qw_packet pkt;
            qw_decode(&d, frame, h->caplen, h->len, 0, &pkt);
            if ((pkt.l3 != QW_L3_IPV4 && pkt.l3 != QW_L3_IPV6) || pkt.ip_reassembled ||
                pkt.ip_fragment_held)
                continue;
            bool ip;
            uint64_t hash = qw_shard_hash(lt, frame, h->caplen, &ip);
            assert_true(ip);
            if (n == cap) {
                cap *= 2;
                keys = realloc(keys, cap * sizeof *keys);
                assert_non_null(keys);
            }
            struct pair_key *k = &keys[n++];
            bool swap = memcmp(pkt.src_ip.b, pkt.dst_ip.b, 16) > 0;
            memcpy(k->lo, swap ? pkt.dst_ip.b : pkt.src_ip.b, 16);
            memcpy(k->hi, swap ? pkt.src_ip.b : pkt.dst_ip.b, 16);
            k->hash = hash;
            k->linktype = lt;
        }
        qw_decoder_free(&d);
        pcap_close(p);
    }
    pclose(list);
    if (n == 0) skip();
    qsort(keys, n, sizeof *keys, cmp_pair);
    size_t pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || memcmp(keys[i].lo, keys[i - 1].lo, 32) != 0) {
            pairs++;
            continue;
        }
        if (keys[i].hash != keys[i - 1].hash) {
            char a[46], b[46];
            struct qw_addr x, y;
            memcpy(x.b, keys[i].lo, 16);
            memcpy(y.b, keys[i].hi, 16);
            fail_msg("the pair %s %s has two keys", qw_addr_str(&x, a), qw_addr_str(&y, b));
        }
    }
    print_message("%zu IP frames, %zu address pairs: one key each\n", n, pairs);
    assert_true(pairs > 300);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions_and_vlans),
        cmocka_unit_test(test_link_types_agree),
        cmocka_unit_test(test_ipv6_pair),
        cmocka_unit_test(test_non_ip_and_cut_frames),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_tunnels_by_inner_pair),
        cmocka_unit_test(test_tunnels_fragments_damage_depth),
        cmocka_unit_test(corpus_key_follows_decoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
