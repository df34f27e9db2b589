/* Unit tests for frame decoding (src/decode/decode.c) over every supported link type.
 *
 * Frames are built byte by byte in the test with a small builder (below) that writes Ethernet,
 * 802.1Q, IPv4, IPv6, TCP, UDP and ICMP headers and fills lengths and checksums with
 * qw_csum_add/qw_csum_fold; qw_csum itself is first checked against a published header. The
 * tests check decoded values (addresses as text, ports, sequence numbers, flags, payload
 * position and length), and the stats counters for the error paths. */
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
#include "decode/layers.h"
#include "decode/packet.h"

/* ---- frame builder ------------------------------------------------------------------------ */

struct frame {
    uint8_t b[2048];
    size_t n;
};

static void put8(struct frame *f, uint8_t v)
{
    assert_true(f->n < sizeof f->b);
    f->b[f->n++] = v;
}
static void put16(struct frame *f, uint16_t v)
{
    put8(f, (uint8_t)(v >> 8));
    put8(f, (uint8_t)v);
}
static void put32(struct frame *f, uint32_t v)
{
    put16(f, (uint16_t)(v >> 16));
    put16(f, (uint16_t)v);
}
static void putn(struct frame *f, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) put8(f, ((const uint8_t *)p)[i]);
}
static void set16(struct frame *f, size_t at, uint16_t v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

static const uint8_t MAC_A[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a}; /* sender */
static const uint8_t MAC_B[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x0b}; /* receiver */

/* Ethernet II: dst(6) src(6) type(2). */
static void eth(struct frame *f, uint16_t type)
{
    putn(f, MAC_B, 6);
    putn(f, MAC_A, 6);
    put16(f, type);
}

/* 802.1Q tag body after a TPID: TCI(2) then the next type. */
static void vlan_tag(struct frame *f, uint8_t pcp, uint16_t vid, uint16_t next)
{
    put16(f, (uint16_t)(pcp << 13 | vid));
    put16(f, next);
}

static void v4(const char *s, uint8_t out[4]) { assert_int_equal(inet_pton(AF_INET, s, out), 1); }
static void v6(const char *s, uint8_t out[16]) { assert_int_equal(inet_pton(AF_INET6, s, out), 1); }

/* IPv4 header without options (RFC 791 s.3.1); ip4_end fills total length and checksum. */
static size_t ip4_begin(struct frame *f, uint8_t proto, const char *src, const char *dst,
                        uint16_t id, uint16_t flags_frag)
{
    size_t at = f->n;
    uint8_t a[4];
    put8(f, 0x45);
    put8(f, 0);
    put16(f, 0); /* total length, later */
    put16(f, id);
    put16(f, flags_frag);
    put8(f, 64); /* TTL */
    put8(f, proto);
    put16(f, 0); /* checksum, later */
    v4(src, a);
    putn(f, a, 4);
    v4(dst, a);
    putn(f, a, 4);
    return at;
}

static void ip4_fix_csum(struct frame *f, size_t at)
{
    size_t ihl = (size_t)(f->b[at] & 15) * 4;
    set16(f, at + 10, 0);
    set16(f, at + 10, qw_csum_fold(qw_csum_add(0, f->b + at, ihl)));
}

static void ip4_end(struct frame *f, size_t at)
{
    set16(f, at + 2, (uint16_t)(f->n - at));
    ip4_fix_csum(f, at);
}

/* IPv6 header (RFC 8200 s.3); ip6_end fills the payload length. */
static size_t ip6_begin(struct frame *f, uint8_t next, const char *src, const char *dst)
{
    size_t at = f->n;
    uint8_t a[16];
    put32(f, 0x60000000);
    put16(f, 0);
    put8(f, next);
    put8(f, 64); /* hop limit */
    v6(src, a);
    putn(f, a, 16);
    v6(dst, a);
    putn(f, a, 16);
    return at;
}

static void ip6_end(struct frame *f, size_t at) { set16(f, at + 4, (uint16_t)(f->n - at - 40)); }

/* TCP header without options (RFC 9293 s.3.1), window 8192. */
static size_t tcp_begin(struct frame *f, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
                        uint8_t flags)
{
    size_t at = f->n;
    put16(f, sp);
    put16(f, dp);
    put32(f, seq);
    put32(f, ack);
    put8(f, 0x50);
    put8(f, flags);
    put16(f, 8192);
    put16(f, 0);
    put16(f, 0);
    return at;
}

/* UDP header (RFC 768); l4_end fills length and checksum. */
static size_t udp_begin(struct frame *f, uint16_t sp, uint16_t dp)
{
    size_t at = f->n;
    put16(f, sp);
    put16(f, dp);
    put16(f, 0);
    put16(f, 0);
    return at;
}

/* Transport checksum (and UDP length) of the segment from l4 to the end of the frame, with the
 * pseudo-header of the IP header at ip (RFC 793 s.3.1, RFC 768, RFC 8200 s.8.1; ICMPv4 has none). */
static void l4_end(struct frame *f, size_t ip, size_t l4, uint8_t proto)
{
    uint32_t len = (uint32_t)(f->n - l4);
    size_t csum_at = proto == 6 ? 16 : proto == 17 ? 6 : 2;
    if (proto == 17) set16(f, l4 + 4, (uint16_t)len);
    set16(f, l4 + csum_at, 0);
    uint32_t sum = 0;
    if (proto != 1) {
        if ((f->b[ip] >> 4) == 4) {
            sum = qw_csum_add(0, f->b + ip + 12, 8);
            sum += proto;
            sum += len;
        } else {
            sum = qw_csum_add(0, f->b + ip + 8, 32);
            sum += len >> 16;
            sum += len & 0xffff;
            sum += proto;
        }
    }
    uint16_t c = qw_csum_fold(qw_csum_add(sum, f->b + l4, len));
    if (proto == 17 && c == 0) c = 0xffff;
    set16(f, l4 + csum_at, c);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static struct qw_decoder *new_decoder(int linktype)
{
    struct qw_decoder *d = calloc(1, sizeof *d); /* ~70 KiB: keep it off the stack */
    assert_non_null(d);
    qw_decoder_init(d, linktype);
    return d;
}

static void free_decoder(struct qw_decoder *d)
{
    qw_decoder_free(d);
    free(d);
}

static bool dec(struct qw_decoder *d, const struct frame *f, struct qw_packet *p)
{
    return qw_decode(d, f->b, (uint32_t)f->n, (uint32_t)f->n, 1700000000000000000ull, p);
}

#define assert_addr(a, text)                                                                   \
    do {                                                                                       \
        char buf_[46];                                                                         \
        assert_string_equal(qw_addr_str((a), buf_), (text));                                   \
    } while (0)

static const uint8_t MODBUS_REQ[12] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06,
                                       0x01, 0x03, 0x00, 0x00, 0x00, 0x0a};

/* Ethernet + IPv4 (192.168.1.10 -> 10.0.0.5) + TCP 50000 -> 502 + payload. */
static void build_eth_tcp(struct frame *f, const uint8_t *payload, size_t n)
{
    f->n = 0;
    eth(f, 0x0800);
    size_t ip = ip4_begin(f, 6, "192.168.1.10", "10.0.0.5", 0x1234, 0x4000);
    size_t l4 = tcp_begin(f, 50000, 502, 0x01020304, 0xa0b0c0d0, QW_TCP_PSH | QW_TCP_ACK);
    putn(f, payload, n);
    l4_end(f, ip, l4, 6);
    ip4_end(f, ip);
}

/* IPv4 + UDP 40000 -> 161 carrying payload, starting at the current end of f. */
static void ip4_udp(struct frame *f, const char *src, const char *dst, const char *payload)
{
    size_t ip = ip4_begin(f, 17, src, dst, 7, 0);
    size_t l4 = udp_begin(f, 40000, 161);
    putn(f, payload, strlen(payload));
    l4_end(f, ip, l4, 17);
    ip4_end(f, ip);
}

/* ---- checksum ----------------------------------------------------------------------------- */

/* The IPv4 header example used in many references (checksum b861): the builder's checksums rest
 * on qw_csum being right, so pin it to a value computed elsewhere. */
static void csum_reference_header(void **state)
{
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(qw_csum_fold(qw_csum_add(0, h, sizeof h)), 0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    assert_int_equal(qw_csum_fold(qw_csum_add(0, h, sizeof h)), 0); /* verifies to zero */
    /* an odd length pads the last byte with a zero low byte (RFC 1071) */
    const uint8_t odd[3] = {0x12, 0x34, 0x56};
    assert_int_equal(qw_csum_fold(qw_csum_add(0, odd, 3)), (uint16_t)~(0x1234 + 0x5600));
}

/* The summing loop (64-bit words, two carry counts) against RFC 1071 taken literally -- 16-bit
 * big-endian words, end-around carry -- for every length up to 300 at every alignment, and
 * for all-ones data, where carries are most frequent. */
static void csum_matches_rfc1071(void **state)
{
    static uint8_t buf[1600];
    uint32_t x = 12345;
    for (int fill = 0; fill < 2; fill++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = fill ? 0xff : (uint8_t)(x >> 16);
        }
        for (size_t len = 0; len <= 300; len++) {
            for (size_t off = 0; off < 8; off++) {
                uint32_t want = 0xfffe;
                for (size_t i = 0; i + 1 < len; i += 2)
                    want += (uint32_t)buf[off + i] << 8 | buf[off + i + 1];
                if (len & 1) want += (uint32_t)buf[off + len - 1] << 8;
                while (want >> 16) want = (want & 0xffff) + (want >> 16);
                uint32_t got = qw_csum_add(0xfffe, buf + off, len);
                if (got != want) fail_msg("len %zu off %zu: %04x != %04x", len, off, got, want);
            }
        }
        uint32_t big = 0;
        for (size_t i = 0; i + 1 < sizeof buf; i += 2) big += (uint32_t)buf[i] << 8 | buf[i + 1];
        while (big >> 16) big = (big & 0xffff) + (big >> 16);
        assert_int_equal(qw_csum_add(0, buf, sizeof buf), big);
    }
}

/* ---- Ethernet ----------------------------------------------------------------------------- */

/* Every layer of an Ethernet/IPv4/TCP frame, and the payload's place in the frame. */
static void eth_ipv4_tcp_values(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_true(p.has_mac);
    assert_memory_equal(p.src_mac, MAC_A, 6);
    assert_memory_equal(p.dst_mac, MAC_B, 6);
    assert_int_equal(p.nvlan, 0);
    assert_int_equal(p.ethertype, 0x0800);
    assert_int_equal(p.l3, QW_L3_IPV4);
    assert_addr(&p.src_ip, "192.168.1.10");
    assert_addr(&p.dst_ip, "10.0.0.5");
    assert_true(qw_addr_is_v4(&p.src_ip));
    assert_int_equal(p.ttl, 64);
    assert_int_equal(p.l4_proto, 6);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 50000);
    assert_int_equal(p.dport, 502);
    assert_int_equal(p.seq, 0x01020304);
    assert_int_equal(p.ack, 0xa0b0c0d0);
    assert_int_equal(p.tcp_flags, QW_TCP_PSH | QW_TCP_ACK);
    assert_int_equal(p.window, 8192);
    assert_ptr_equal(p.payload, f.b + 14 + 20 + 20);
    assert_int_equal(p.payload_len, sizeof MODBUS_REQ);
    assert_memory_equal(p.payload, MODBUS_REQ, sizeof MODBUS_REQ);
    assert_int_equal(p.l4_len, 20 + sizeof MODBUS_REQ);
    assert_false(p.ip_reassembled);
    assert_int_equal(d->stats.packets, 1);
    assert_int_equal(d->stats.bytes, f.n);
    assert_int_equal(d->stats.ipv4, 1);
    assert_int_equal(d->stats.tcp, 1);
    assert_int_equal(d->stats.bad_ip_checksum, 0);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    assert_int_equal(d->stats.truncated, 0);
    assert_int_equal(d->stats.malformed, 0);
    free_decoder(d);
}

/* A short packet padded to the 60-byte Ethernet minimum: the padding is not payload (the IP
 * total length wins) and does not spoil the TCP checksum. */
static void eth_padding_not_payload(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, (const uint8_t *)"ok", 2); /* 56 bytes */
    while (f.n < 60) put8(&f, 0xee);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_true(p.l4_ok);
    assert_int_equal(p.payload_len, 2);
    assert_memory_equal(p.payload, "ok", 2);
    assert_int_equal(p.l4_len, 22);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    assert_int_equal(d->stats.truncated, 0);

    /* the same for UDP: 14 + 20 + 8 + 1 = 43 bytes, padded to 60 */
    f.n = 0;
    eth(&f, 0x0800);
    ip4_udp(&f, "10.0.0.1", "10.0.0.2", "x");
    while (f.n < 60) put8(&f, 0);
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.payload_len, 1);
    assert_int_equal(p.payload[0], 'x');
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    free_decoder(d);
}

/* One 802.1Q tag: VID 30 recorded (PCP bits masked off), IPv4 under it decoded. */
static void vlan_single_tag(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x8100);
    vlan_tag(&f, 5, 30, 0x0800);
    ip4_udp(&f, "172.16.0.1", "172.16.0.2", "vlan");
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.nvlan, 1);
    assert_int_equal(p.vlan[0], 30);
    assert_int_equal(p.ethertype, 0x0800);
    assert_addr(&p.src_ip, "172.16.0.1");
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 161);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "vlan", 4);
    free_decoder(d);
}

/* QinQ: 802.1ad outer tag 100, 802.1Q inner tag 30, outermost first. */
static void vlan_qinq(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x88a8);
    vlan_tag(&f, 0, 100, 0x8100);
    vlan_tag(&f, 0, 30, 0x0800);
    ip4_udp(&f, "172.16.0.1", "172.16.0.2", "qinq");
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.nvlan, 2);
    assert_int_equal(p.vlan[0], 100);
    assert_int_equal(p.vlan[1], 30);
    assert_int_equal(p.l3, QW_L3_IPV4);
    assert_int_equal(p.dport, 161);
    assert_memory_equal(p.payload, "qinq", 4);
    free_decoder(d);
}

/* ARP request (RFC 826): who has 192.168.1.1, tell 192.168.1.10. */
static void arp_request(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[6] = {0};
    putn(&f, bcast, 6);
    putn(&f, MAC_A, 6);
    put16(&f, 0x0806);
    put16(&f, 1);      /* htype Ethernet */
    put16(&f, 0x0800); /* ptype IPv4 */
    put8(&f, 6);
    put8(&f, 4);
    put16(&f, 1); /* request */
    putn(&f, MAC_A, 6);
    putn(&f, "\xc0\xa8\x01\x0a", 4);
    putn(&f, zero, 6);
    putn(&f, "\xc0\xa8\x01\x01", 4);
    while (f.n < 60) put8(&f, 0);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.l3, QW_L3_ARP);
    assert_int_equal(p.ethertype, 0x0806);
    assert_int_equal(p.arp.op, 1);
    assert_memory_equal(p.arp.sha, MAC_A, 6);
    assert_memory_equal(p.arp.tha, zero, 6);
    assert_addr(&p.arp.spa, "192.168.1.10");
    assert_addr(&p.arp.tpa, "192.168.1.1");
    assert_memory_equal(p.dst_mac, bcast, 6);
    assert_int_equal(d->stats.arp, 1);
    free_decoder(d);
}

/* ---- IPv6 --------------------------------------------------------------------------------- */

/* Hop-by-hop (8 bytes) then destination options (16 bytes) then UDP: the extension headers
 * are walked by their lengths and the UDP ports and payload come from behind them. */
static void ipv6_extension_headers(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x86dd);
    size_t ip = ip6_begin(&f, 0, "fe80::1", "2001:db8::2");
    /* hop-by-hop: next 60, len 0 (8 bytes), PadN covering the remaining 6 */
    put8(&f, 60);
    put8(&f, 0);
    putn(&f, "\x01\x04\x00\x00\x00\x00", 6);
    /* destination options: next 17, len 1 (16 bytes), PadN covering the remaining 14 */
    put8(&f, 17);
    put8(&f, 1);
    put8(&f, 1);
    put8(&f, 12);
    for (int i = 0; i < 12; i++) put8(&f, 0);
    size_t l4 = udp_begin(&f, 5353, 20000);
    putn(&f, "abc", 3);
    l4_end(&f, ip, l4, 17);
    ip6_end(&f, ip);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.l3, QW_L3_IPV6);
    assert_int_equal(p.ethertype, 0x86dd);
    assert_addr(&p.src_ip, "fe80::1");
    assert_addr(&p.dst_ip, "2001:db8::2");
    assert_false(qw_addr_is_v4(&p.src_ip));
    assert_int_equal(p.ttl, 64);
    assert_int_equal(p.l4_proto, 17);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 5353);
    assert_int_equal(p.dport, 20000);
    assert_ptr_equal(p.payload, f.b + 14 + 40 + 8 + 16 + 8);
    assert_int_equal(p.payload_len, 3);
    assert_memory_equal(p.payload, "abc", 3);
    assert_int_equal(d->stats.ipv6, 1);
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    assert_int_equal(d->stats.truncated, 0);
    free_decoder(d);
}

/* Fragment header path: an atomic fragment (offset 0, M=0; RFC 6946) is decoded at once; the
 * first fragment of a real two-part datagram is held, and the second completes it. */
static void ipv6_fragment_header(void **state)
{
    struct qw_decoder *d = new_decoder(101);
    struct frame f = {.n = 0};
    size_t ip = ip6_begin(&f, 44, "2001:db8::1", "2001:db8::2");
    put8(&f, 17);
    put8(&f, 0);
    put16(&f, 0); /* offset 0, M=0 */
    put32(&f, 0xcafe);
    size_t l4 = udp_begin(&f, 1000, 2000);
    putn(&f, "atomic", 6);
    l4_end(&f, ip, l4, 17);
    ip6_end(&f, ip);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_false(p.ip_fragment_held);
    assert_false(p.ip_reassembled);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 1000);
    assert_int_equal(p.dport, 2000);
    assert_memory_equal(p.payload, "atomic", 6);
    assert_int_equal(d->stats.bad_udp_checksum, 0);

    /* the same UDP datagram with 16 bytes of data, in two fragments: [0,16) and [16,24) */
    struct frame whole = {.n = 0};
    size_t wip = ip6_begin(&whole, 17, "2001:db8::1", "2001:db8::2");
    size_t wl4 = udp_begin(&whole, 1000, 2000);
    putn(&whole, "0123456789abcdef", 16);
    l4_end(&whole, wip, wl4, 17);
    const uint8_t *udp = whole.b + 40; /* 24 bytes */
    for (int part = 0; part < 2; part++) {
        f.n = 0;
        ip = ip6_begin(&f, 44, "2001:db8::1", "2001:db8::2");
        put8(&f, 17);
        put8(&f, 0);
        /* offset (8-byte units) << 3 | M: part 0 at 0 with M=1, part 1 at 16 with M=0 */
        put16(&f, part == 0 ? 0x0001 : (uint16_t)((16 / 8) << 3));
        put32(&f, 0xbeef);
        putn(&f, udp + part * 16, part == 0 ? 16 : 8);
        ip6_end(&f, ip);
        assert_true(dec(d, &f, &p));
        if (part == 0) {
            assert_true(p.ip_fragment_held);
            assert_false(p.l4_ok);
        }
    }
    assert_true(p.ip_reassembled);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 1000);
    assert_int_equal(p.payload_len, 16);
    assert_memory_equal(p.payload, "0123456789abcdef", 16);
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    assert_int_equal(d->frag.stats.reassembled, 1);
    free_decoder(d);
}

/* ---- transport ---------------------------------------------------------------------------- */

/* The IP packet is longer than the UDP length says: the payload is cut to the UDP length, and
 * the checksum is verified over the UDP length only. */
static void udp_length_trims_payload(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x0800);
    size_t ip = ip4_begin(&f, 17, "10.0.0.1", "10.0.0.2", 1, 0);
    size_t l4 = udp_begin(&f, 47808, 47808);
    putn(&f, "\x81\x0b\x00\x08", 4); /* UDP length 12 */
    l4_end(&f, ip, l4, 17);
    putn(&f, "JUNKJU", 6); /* inside the IP packet but past the UDP length */
    ip4_end(&f, ip);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 47808);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "\x81\x0b\x00\x08", 4);
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    assert_int_equal(d->stats.malformed, 0);
    free_decoder(d);
}

/* ICMP echo request and port unreachable: type, code, payload after the 4-byte header. */
static void icmp_type_code(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x0800);
    size_t ip = ip4_begin(&f, 1, "10.0.0.1", "10.0.0.9", 2, 0);
    size_t l4 = f.n;
    put8(&f, 8);
    put8(&f, 0);
    put16(&f, 0);
    put16(&f, 0x0001); /* identifier */
    put16(&f, 0x0002); /* sequence */
    putn(&f, "ping", 4);
    l4_end(&f, ip, l4, 1);
    ip4_end(&f, ip);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.l4_proto, 1);
    assert_true(p.l4_ok);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.payload_len, 8);
    assert_memory_equal(p.payload, "\x00\x01\x00\x02ping", 8);
    assert_int_equal(d->stats.icmp, 1);
    assert_int_equal(d->stats.bad_icmp_checksum, 0);

    f.n = 0;
    eth(&f, 0x0800);
    ip = ip4_begin(&f, 1, "10.0.0.9", "10.0.0.1", 3, 0);
    l4 = f.n;
    put8(&f, 3);
    put8(&f, 3);
    put16(&f, 0);
    put32(&f, 0);
    l4_end(&f, ip, l4, 1);
    f.b[l4 + 2] ^= 0x01; /* corrupt the checksum */
    ip4_end(&f, ip);
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.icmp_type, 3);
    assert_int_equal(p.icmp_code, 3);
    assert_int_equal(d->stats.bad_icmp_checksum, 1);
    free_decoder(d);
}

/* A bad IPv4 header checksum is counted, and the packet is still decoded in full. */
static void bad_ip_checksum_counted_still_decoded(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    f.b[14 + 10] ^= 0x5a;
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(d->stats.bad_ip_checksum, 1);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    assert_addr(&p.src_ip, "192.168.1.10");
    assert_addr(&p.dst_ip, "10.0.0.5");
    assert_true(p.l4_ok);
    assert_int_equal(p.dport, 502);
    assert_int_equal(p.payload_len, sizeof MODBUS_REQ);
    free_decoder(d);
}

/* A bad TCP checksum (one payload byte changed) is counted; decoding goes on. */
static void bad_tcp_checksum_counted(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    f.b[f.n - 1] ^= 0x01;
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(d->stats.bad_tcp_checksum, 1);
    assert_int_equal(d->stats.bad_ip_checksum, 0);
    assert_true(p.l4_ok);
    assert_int_equal(p.seq, 0x01020304);
    assert_int_equal(p.payload[p.payload_len - 1], 0x0a ^ 0x01);
    free_decoder(d);
}

/* With TCP/UDP verification off (quaywatch's default, --verify-checksums turns it on) a bad
 * transport checksum is not counted and the segment decodes the same; the IPv4 header's
 * checksum is still checked. */
static void l4_checksums_unverified_when_off(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    d->verify_l4 = false;
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    f.b[f.n - 1] ^= 0x01;
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    assert_true(p.l4_ok);
    assert_int_equal(p.payload_len, sizeof MODBUS_REQ);
    assert_int_equal(p.payload[p.payload_len - 1], 0x0a ^ 0x01);

    f.n = 0;
    eth(&f, 0x0800);
    ip4_udp(&f, "10.0.0.1", "10.0.0.2", "public");
    f.b[f.n - 1] ^= 0x01;
    f.b[14 + 10] ^= 0x5a; /* and the IPv4 header checksum */
    assert_true(dec(d, &f, &p));
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    assert_int_equal(d->stats.bad_ip_checksum, 1);
    assert_int_equal(p.payload_len, 6);
    assert_memory_equal(p.payload, "publib", 6);
    free_decoder(d);
}

/* The capture cut the TCP header: truncated is counted, the IP layer is still there, and the
 * transport layer is not claimed. A cut inside the payload keeps the captured part. */
static void truncated_tcp_header(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    struct qw_packet p;
    /* 10 bytes of the TCP header captured */
    assert_true(qw_decode(d, f.b, 14 + 20 + 10, (uint32_t)f.n, 1, &p));
    assert_true(d->stats.truncated >= 1);
    assert_false(p.l4_ok);
    assert_int_equal(p.l3, QW_L3_IPV4);
    assert_addr(&p.src_ip, "192.168.1.10");
    assert_null(p.payload);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(d->stats.bad_tcp_checksum, 0); /* not verifiable, so not counted */

    /* 16 bytes: the fixed part the decoder reads is there, but the 20-byte header is not */
    uint64_t before = d->stats.truncated;
    assert_true(qw_decode(d, f.b, 14 + 20 + 16, (uint32_t)f.n, 1, &p));
    assert_true(d->stats.truncated > before);
    assert_false(p.l4_ok);

    /* header complete, payload cut after 5 bytes */
    assert_true(qw_decode(d, f.b, 14 + 20 + 20 + 5, (uint32_t)f.n, 1, &p));
    assert_true(p.l4_ok);
    assert_int_equal(p.payload_len, 5);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    free_decoder(d);
}

/* IHL below 5 breaks RFC 791: malformed, not decoded as IPv4. */
static void ipv4_ihl_below_5_malformed(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f;
    build_eth_tcp(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    f.b[14] = 0x44;
    ip4_fix_csum(&f, 14); /* with IHL 4 the "header" is 16 bytes */
    struct qw_packet p;
    assert_false(dec(d, &f, &p));
    assert_int_equal(d->stats.malformed, 1);
    assert_int_equal(d->stats.ipv4, 0);
    assert_int_not_equal(p.l3, QW_L3_IPV4);
    assert_false(p.l4_ok);

    f.b[14] = 0x65; /* version 6 in an IPv4 ethertype */
    assert_false(dec(d, &f, &p));
    assert_int_equal(d->stats.malformed, 2);
    free_decoder(d);
}

/* ---- other link types --------------------------------------------------------------------- */

/* BSD NULL: the address family in host order (either order is accepted); 30 is macOS AF_INET6.
 * OpenBSD LOOP (108): network order. */
static void bsd_null_and_loop(void **state)
{
    struct qw_packet p;
    struct frame f = {.n = 0};
    struct qw_decoder *d = new_decoder(0);
    putn(&f, "\x02\x00\x00\x00", 4); /* AF_INET, little-endian host */
    ip4_udp(&f, "127.0.0.1", "127.0.0.2", "le");
    assert_true(dec(d, &f, &p));
    assert_addr(&p.dst_ip, "127.0.0.2");
    assert_memory_equal(p.payload, "le", 2);
    assert_false(p.has_mac);

    f.n = 0;
    putn(&f, "\x00\x00\x00\x02", 4); /* AF_INET, big-endian host */
    ip4_udp(&f, "127.0.0.3", "127.0.0.4", "be");
    assert_true(dec(d, &f, &p));
    assert_addr(&p.src_ip, "127.0.0.3");

    f.n = 0;
    putn(&f, "\x1e\x00\x00\x00", 4); /* 30: AF_INET6 on macOS */
    size_t ip = ip6_begin(&f, 17, "::1", "fe80::2");
    size_t l4 = udp_begin(&f, 53, 5353);
    putn(&f, "v6", 2);
    l4_end(&f, ip, l4, 17);
    ip6_end(&f, ip);
    assert_true(dec(d, &f, &p));
    assert_int_equal(p.l3, QW_L3_IPV6);
    assert_addr(&p.src_ip, "::1");
    assert_addr(&p.dst_ip, "fe80::2");
    assert_int_equal(p.sport, 53);
    assert_int_equal(d->stats.bad_udp_checksum, 0);

    free_decoder(d);

    d = new_decoder(108);
    f.n = 0;
    putn(&f, "\x00\x00\x00\x02", 4);
    ip4_udp(&f, "10.9.8.7", "10.9.8.6", "loop");
    assert_true(dec(d, &f, &p));
    assert_addr(&p.src_ip, "10.9.8.7");
    assert_memory_equal(p.payload, "loop", 4);
    free_decoder(d);
}

/* A NULL frame of a non-IP address family is refused, and counted once as non-IP. */
static void null_non_ip_family_counted_once(void **state)
{
    struct qw_decoder *d = new_decoder(0);
    struct frame f = {.n = 0};
    putn(&f, "\x07\x00\x00\x00", 4); /* AF 7: not an IP family */
    ip4_udp(&f, "127.0.0.1", "127.0.0.2", "no");
    struct qw_packet p;
    assert_false(dec(d, &f, &p));
    assert_int_equal(p.l3, QW_L3_NONE);
    assert_int_equal(d->stats.packets, 1);
    uint64_t non_ip = d->stats.non_ip;
    free_decoder(d);
    assert_int_equal(non_ip, 1); /* one packet, one count */
}

/* Linux cooked capture v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2). */
static void linux_sll(void **state)
{
    struct qw_decoder *d = new_decoder(113);
    struct frame f = {.n = 0};
    put16(&f, 4); /* sent by us */
    put16(&f, 1); /* ARPHRD_ETHER */
    put16(&f, 6);
    putn(&f, MAC_A, 6);
    put16(&f, 0);
    put16(&f, 0x0800);
    ip4_udp(&f, "192.0.2.1", "192.0.2.2", "sll");
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_true(p.has_mac);
    assert_memory_equal(p.src_mac, MAC_A, 6);
    assert_addr(&p.src_ip, "192.0.2.1");
    assert_addr(&p.dst_ip, "192.0.2.2");
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 161);
    assert_memory_equal(p.payload, "sll", 3);
    free_decoder(d);
}

/* Linux cooked capture v2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1)
 * addr(8). */
static void linux_sll2(void **state)
{
    struct qw_decoder *d = new_decoder(276);
    struct frame f = {.n = 0};
    put16(&f, 0x0800);
    put16(&f, 0);
    put32(&f, 3);
    put16(&f, 1);
    put8(&f, 0);
    put8(&f, 6);
    putn(&f, MAC_A, 6);
    put16(&f, 0);
    ip4_udp(&f, "192.0.2.3", "192.0.2.4", "sll2");
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_true(p.has_mac);
    assert_memory_equal(p.src_mac, MAC_A, 6);
    assert_addr(&p.src_ip, "192.0.2.3");
    assert_addr(&p.dst_ip, "192.0.2.4");
    assert_int_equal(p.dport, 161);
    assert_memory_equal(p.payload, "sll2", 4);
    free_decoder(d);
}

/* Raw IP (12 and 101): the version nibble picks IPv4 or IPv6. */
static void raw_ip(void **state)
{
    const int types[] = {12, 101};
    for (size_t i = 0; i < 2; i++) {
        struct qw_decoder *d = new_decoder(types[i]);
        struct frame f = {.n = 0};
        ip4_udp(&f, "198.51.100.1", "198.51.100.2", "raw4");
        struct qw_packet p;
        assert_true(dec(d, &f, &p));
        assert_false(p.has_mac);
        assert_int_equal(p.l3, QW_L3_IPV4);
        assert_addr(&p.src_ip, "198.51.100.1");
        assert_memory_equal(p.payload, "raw4", 4);

        f.n = 0;
        size_t ip = ip6_begin(&f, 6, "2001:db8::a", "2001:db8::b");
        size_t l4 = tcp_begin(&f, 44818, 1024, 7, 9, QW_TCP_SYN);
        l4_end(&f, ip, l4, 6);
        ip6_end(&f, ip);
        assert_true(dec(d, &f, &p));
        assert_int_equal(p.l3, QW_L3_IPV6);
        assert_addr(&p.dst_ip, "2001:db8::b");
        assert_int_equal(p.sport, 44818);
        assert_int_equal(p.tcp_flags, QW_TCP_SYN);
        assert_int_equal(p.payload_len, 0);
        assert_int_equal(d->stats.bad_tcp_checksum, 0);
        free_decoder(d);
    }
}

/* ---- tunnels ------------------------------------------------------------------------------ */

/* IP-in-IP (protocol 4): the inner packet's addresses and ports are the packet's. */
static void ipip_tunnel_inner_decoded(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    struct frame f = {.n = 0};
    eth(&f, 0x0800);
    size_t outer = ip4_begin(&f, 4, "203.0.113.1", "203.0.113.2", 9, 0);
    size_t inner = ip4_begin(&f, 6, "10.1.1.1", "10.2.2.2", 10, 0);
    size_t l4 = tcp_begin(&f, 1234, 502, 100, 200, QW_TCP_ACK | QW_TCP_PSH);
    putn(&f, MODBUS_REQ, sizeof MODBUS_REQ);
    l4_end(&f, inner, l4, 6);
    ip4_end(&f, inner);
    ip4_end(&f, outer);
    struct qw_packet p;
    assert_true(dec(d, &f, &p));
    assert_addr(&p.src_ip, "10.1.1.1");
    assert_addr(&p.dst_ip, "10.2.2.2");
    assert_int_equal(p.l4_proto, 6);
    assert_true(p.l4_ok);
    assert_int_equal(p.sport, 1234);
    assert_int_equal(p.dport, 502);
    assert_int_equal(p.seq, 100);
    assert_memory_equal(p.payload, MODBUS_REQ, sizeof MODBUS_REQ);
    assert_int_equal(d->stats.tunnels, 1);
    assert_int_equal(d->stats.bad_tcp_checksum, 0);
    assert_memory_equal(p.src_mac, MAC_A, 6); /* the outer frame's addresses stay */
    free_decoder(d);
}

/* GRE (protocol 47) carrying IPv4, without and with the optional key field. */
static void gre_tunnel_inner_decoded(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    for (int with_key = 0; with_key < 2; with_key++) {
        struct frame f = {.n = 0};
        eth(&f, 0x0800);
        size_t outer = ip4_begin(&f, 47, "203.0.113.1", "203.0.113.2", 9, 0);
        put16(&f, with_key ? 0x2000 : 0x0000); /* flags/version: K bit */
        put16(&f, 0x0800);
        if (with_key) put32(&f, 0xdeadbeef);
        ip4_udp(&f, "10.3.3.3", "10.4.4.4", with_key ? "keyed" : "plain");
        ip4_end(&f, outer);
        struct qw_packet p;
        assert_true(dec(d, &f, &p));
        assert_addr(&p.src_ip, "10.3.3.3");
        assert_addr(&p.dst_ip, "10.4.4.4");
        assert_int_equal(p.l4_proto, 17);
        assert_int_equal(p.sport, 40000);
        assert_int_equal(p.dport, 161);
        assert_int_equal(p.payload_len, 5);
        assert_memory_equal(p.payload, with_key ? "keyed" : "plain", 5);
        assert_int_equal(d->stats.tunnels, (uint64_t)with_key + 1);
    }
    assert_int_equal(d->stats.bad_udp_checksum, 0);
    free_decoder(d);
}

/* IPv6 in IPv4 (protocol 41): the inner addresses are the packet's; an inner header that is not
 * IPv6 after all leaves the outer ones, as a damaged inner IPv4 header does. */
static void six_in_four_inner_or_outer(void **state)
{
    struct qw_decoder *d = new_decoder(1);
    for (int damaged = 0; damaged < 2; damaged++) {
        struct frame f = {.n = 0};
        eth(&f, 0x0800);
        size_t outer = ip4_begin(&f, 41, "203.0.113.1", "203.0.113.2", 9, 0);
        size_t inner = ip6_begin(&f, 17, "2001:db8::a", "2001:db8::b");
        put16(&f, 514), put16(&f, 514), put16(&f, 8), put16(&f, 0);
        ip6_end(&f, inner);
        ip4_end(&f, outer);
        if (damaged) f.b[inner] = 0x50; /* version 5 */
        struct qw_packet p;
        dec(d, &f, &p);
        if (damaged) {
            assert_addr(&p.src_ip, "203.0.113.1");
            assert_addr(&p.dst_ip, "203.0.113.2");
            assert_int_equal(d->stats.malformed, 1);
        } else {
            assert_int_equal(p.l3, QW_L3_IPV6);
            assert_addr(&p.src_ip, "2001:db8::a");
            assert_addr(&p.dst_ip, "2001:db8::b");
            assert_int_equal(p.dport, 514);
        }
    }
    free_decoder(d);
}

/* A MAC carried as an address (finding subjects) is told apart from every real address,
 * loopback ::1 and ::2 included (which once printed as MACs). */
static void mac_subjects_apart_from_addresses(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x00, 0x1d, 0x9c, 0x01, 0x02, 0x03};
    struct qw_addr a;
    qw_addr_from_mac(&a, mac);
    assert_true(qw_addr_is_mac(&a));
    assert_memory_equal(a.b + 10, mac, 6);
    assert_false(qw_addr_is_v4(&a));
    const char *real[] = {"::1", "::2", "::", "::ffff:10.1.2.3", "10.1.2.3", "fe80::1",
                          "2001:db8::1d:9c01:203", "::1d:9c01:203"};
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        assert_true(qw_addr_parse(real[i], &a));
        if (qw_addr_is_mac(&a)) fail_msg("%s taken for a MAC", real[i]);
    }
}

/* Site-local addresses (what a VLAN can claim) against global ones, at the edges of each
 * range. */
static void site_local_addresses(void **state)
{
    (void)state;
    const char *local[] = {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254",
                           "192.168.0.1", "100.64.0.1", "100.127.255.254", "169.254.1.1",
                           "127.0.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "::",
                           "::1", "fe80::1", "febf::1", "fc00::1", "fdff::1", "ff02::1"};
    const char *global[] = {"9.255.255.255", "11.0.0.1", "172.15.255.255", "172.32.0.1",
                            "192.167.1.1", "192.169.0.1", "100.63.255.255", "100.128.0.1",
                            "169.253.1.1", "198.51.100.40", "8.8.8.8", "223.255.255.255",
                            "2001:db8::1", "fec0::1", "fbff::1", "::2", "::ffff:0:0:1"};
    struct qw_addr a;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        assert_true(qw_addr_parse(local[i], &a));
        if (!qw_addr_is_site_local(&a)) fail_msg("%s taken for global", local[i]);
    }
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        assert_true(qw_addr_parse(global[i], &a));
        if (qw_addr_is_site_local(&a)) fail_msg("%s taken for site-local", global[i]);
    }
    static const uint8_t mac[6] = {0x00, 0x30, 0x11, 1, 2, 3};
    qw_addr_from_mac(&a, mac);
    assert_true(qw_addr_is_site_local(&a));
}

/* ---- robustness --------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13; /* xorshift64 */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

/* Random frames of every length 0..60 for every link type, each in a buffer of exactly its
 * length (so ASan sees any read past it). Half of them start with a plausible header for the
 * link type so the inner layers get exercised too. Whatever the decoder makes of them, payload
 * must lie inside the frame or the reassembly buffer. */
static void random_frames_never_crash(void **state)
{
    static const int types[] = {1, 0, 108, 12, 14, 101, 113, 276, 228, 229};
    static const uint8_t prefix_eth[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45};
    static const uint8_t prefix_vlan[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0, 30,
                                          0x86, 0xdd, 0x60};
    static const uint8_t prefix_null[] = {2, 0, 0, 0, 0x45};
    static const uint8_t prefix_raw6[] = {0x60, 0, 0, 0, 0, 8, 44};
    uint64_t calls = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        struct qw_decoder *d = new_decoder(types[t]);
        for (uint32_t len = 0; len <= 60; len++) {
            for (int iter = 0; iter < 64; iter++) {
                uint8_t *fr = malloc(len ? len : 1);
                assert_non_null(fr);
                for (uint32_t i = 0; i < len; i++) fr[i] = rnd8();
                if (iter & 1) {
                    const uint8_t *pre = NULL;
                    size_t pn = 0;
                    if (types[t] == 1) {
                        pre = (iter & 2) ? prefix_eth : prefix_vlan;
                        pn = (iter & 2) ? sizeof prefix_eth : sizeof prefix_vlan;
                    } else if (types[t] == 0 || types[t] == 108) {
                        pre = prefix_null;
                        pn = sizeof prefix_null;
                    } else {
                        pre = prefix_raw6;
                        pn = sizeof prefix_raw6;
                    }
                    memcpy(fr, pre, pn < len ? pn : len);
                }
                struct qw_packet p;
                qw_decode(d, fr, len, len, (uint64_t)iter * 1000000000ull, &p);
                calls++;
                if (p.payload) {
                    bool in_frame = p.payload >= fr && p.payload + p.payload_len <= fr + len;
                    bool in_frag = p.payload >= d->frag.out &&
                                   p.payload + p.payload_len <= d->frag.out + sizeof d->frag.out;
                    assert_true(in_frame || in_frag);
                }
                free(fr);
            }
        }
        assert_int_equal(d->stats.packets, 61 * 64);
        free_decoder(d);
    }
    assert_int_equal(calls, 10 * 61 * 64);
}

/* An unsupported link type is refused and counted. */
static void unsupported_linktype(void **state)
{
    assert_false(qw_linktype_supported(147));
    assert_true(qw_linktype_supported(276));
    struct qw_decoder *d = new_decoder(147);
    uint8_t b[4] = {0};
    struct qw_packet p;
    assert_false(qw_decode(d, b, 4, 4, 0, &p));
    assert_int_equal(d->stats.unsupported_linktype, 1);
    free_decoder(d);
}

/* The word-at-a-time checksum equals the plain RFC 1071 definition (16-bit big-endian words,
 * a trailing odd byte padded with zero) for every length, alignment and starting sum. */
static void checksum_matches_reference(void **state)
{
    (void)state;
    uint8_t buf[320];
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    memset(buf + 100, 0xff, 40); /* long runs of ones exercise the end-around carries */
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= 300; len++)
            for (uint32_t start = 0; start < 0x30000u; start += 0xffffu) {
                uint32_t ref = start;
                for (size_t i = 0; i + 1 < len; i += 2)
                    ref += (uint32_t)buf[off + i] << 8 | buf[off + i + 1];
                if (len & 1) ref += (uint32_t)buf[off + len - 1] << 8;
                while (ref >> 16) ref = (ref & 0xffff) + (ref >> 16);
                assert_int_equal(qw_csum_fold(qw_csum_add(start, buf + off, len)),
                                 qw_csum_fold(ref));
            }
}

/* The walks the decoder and the shard key share (decode/layers.c), on their own. */
static void gre_header_walk(void **state)
{
    (void)state;
    /* checksum, key and sequence present: 4 + 12 bytes of header, then the payload */
    static const uint8_t full[] = {0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 7,
                                   0, 0, 0, 9, 0x45};
    struct qw_cursor c = qw_cursor_make(full, sizeof full);
    assert_int_equal(qw_gre_open(&c), 0x0800);
    assert_int_equal(c.off, 16);
    /* version 1 (PPTP's enhanced GRE) carries no routable payload */
    static const uint8_t v1[] = {0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0};
    c = qw_cursor_make(v1, sizeof v1);
    assert_int_equal(qw_gre_open(&c), 0);
    /* a key announced but cut off */
    c = qw_cursor_make(full + 0, 6);
    assert_int_equal(qw_gre_open(&c), 0);
}

static void ipv6_extension_walk(void **state)
{
    (void)state;
    /* hop-by-hop (8 bytes), AH with len 1 ((1+2)*4 = 12 bytes), fragment (offset 185*8, M) */
    static const uint8_t chain[] = {
        51, 0, 0, 0, 0, 0, 0, 0,                      /* hop-by-hop -> AH */
        44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,          /* AH -> fragment */
        17, 0, 0x05, 0xc9, 0xde, 0xad, 0xbe, 0xef,    /* fragment -> UDP */
        0xaa};
    struct qw_cursor body = qw_cursor_make(chain, sizeof chain);
    struct qw_ipv6_frag fh;
    assert_int_equal(qw_ipv6_skip_ext(&body, 0, &fh), 17);
    assert_false(body.err);
    assert_int_equal(body.off, 28);
    assert_true(fh.present);
    assert_true(fh.more);
    assert_int_equal(fh.offset, 185 * 8);
    assert_int_equal(fh.id, 0xdeadbeef);
    /* no extension header: the protocol as given, nothing read */
    body = qw_cursor_make(chain, sizeof chain);
    assert_int_equal(qw_ipv6_skip_ext(&body, 6, &fh), 6);
    assert_int_equal(body.off, 0);
    assert_false(fh.present);
    /* the chain cut inside the AH header */
    body = qw_cursor_make(chain, 14);
    qw_ipv6_skip_ext(&body, 0, &fh);
    assert_true(body.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csum_reference_header),
        cmocka_unit_test(csum_matches_rfc1071),
        cmocka_unit_test(eth_ipv4_tcp_values),
        cmocka_unit_test(eth_padding_not_payload),
        cmocka_unit_test(vlan_single_tag),
        cmocka_unit_test(vlan_qinq),
        cmocka_unit_test(arp_request),
        cmocka_unit_test(ipv6_extension_headers),
        cmocka_unit_test(ipv6_fragment_header),
        cmocka_unit_test(udp_length_trims_payload),
        cmocka_unit_test(icmp_type_code),
        cmocka_unit_test(bad_ip_checksum_counted_still_decoded),
        cmocka_unit_test(bad_tcp_checksum_counted),
        cmocka_unit_test(l4_checksums_unverified_when_off),
        cmocka_unit_test(truncated_tcp_header),
        cmocka_unit_test(ipv4_ihl_below_5_malformed),
        cmocka_unit_test(bsd_null_and_loop),
        cmocka_unit_test(null_non_ip_family_counted_once),
        cmocka_unit_test(linux_sll),
        cmocka_unit_test(linux_sll2),
        cmocka_unit_test(raw_ip),
        cmocka_unit_test(ipip_tunnel_inner_decoded),
        cmocka_unit_test(gre_tunnel_inner_decoded),
        cmocka_unit_test(six_in_four_inner_or_outer),
        cmocka_unit_test(mac_subjects_apart_from_addresses),
        cmocka_unit_test(site_local_addresses),
        cmocka_unit_test(random_frames_never_crash),
        cmocka_unit_test(unsupported_linktype),
        cmocka_unit_test(checksum_matches_reference),
        cmocka_unit_test(gre_header_walk),
        cmocka_unit_test(ipv6_extension_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
