/* Unit tests for the VRRP parser (src/proto/vrrp.c): version 2 and 3 advertisements decoded
 * (over IPv4 and IPv6, checksums with and without the pseudo-header), identical
 * advertisements folded into the next record and the flow's last, several virtual routers on
 * one flow and their bound, the sender's vrrp_group fact, the clear-text password of version 2
 * (never recorded), a TTL other than 255, invalid messages (once per reason), every message
 * cut short, and the probe. The messages are built here from RFC 3768 s.5 and RFC 5798 s.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_vrrp;

#define PROTO qw_proto_vrrp
#define FX_BUF_MAX 1024

#include "parser_fixture.h"

/* RFC 1071 over the buffer, after `pre` bytes of pseudo-header, into bytes 6-7. */
static void set_checksum(struct buf *b, const uint8_t *pre, size_t npre)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < npre; i += 2) sum += (uint32_t)(pre[i] << 8 | pre[i + 1]);
    b->b[6] = b->b[7] = 0;
    for (size_t i = 0; i < b->n; i += 2)
        sum += (uint32_t)(b->b[i] << 8 | (i + 1 < b->n ? b->b[i + 1] : 0));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    b->b[6] = (uint8_t)(c >> 8);
    b->b[7] = (uint8_t)c;
}

/* Version 2: VRID, priority, `n` addresses 10.4.<vrid>.1.., authentication type and data. */
static void v2(struct buf *b, uint8_t vrid, uint8_t prio, uint8_t n, uint8_t auth,
               const char *password)
{
    b->n = 0;
    u8(b, 0x21);
    u8(b, vrid);
    u8(b, prio);
    u8(b, n);
    u8(b, auth);
    u8(b, 1); /* advertisement interval, s */
    u16(b, 0);
    for (uint8_t i = 0; i < n; i++) {
        u8(b, 10);
        u8(b, 4);
        u8(b, vrid);
        u8(b, (uint8_t)(i + 1));
    }
    uint8_t data[8] = {0};
    if (password) memcpy(data, password, strlen(password) < 8 ? strlen(password) : 8);
    put(b, data, 8);
    set_checksum(b, NULL, 0);
}

/* Version 3 over IPv4 from 10.0.0.2 to 224.0.0.18, one address 10.4.<vrid>.1. */
static void v3_ipv4(struct buf *b, uint8_t vrid, uint8_t prio, uint16_t interval_cs)
{
    b->n = 0;
    u8(b, 0x31);
    u8(b, vrid);
    u8(b, prio);
    u8(b, 1);
    u16(b, interval_cs);
    u16(b, 0);
    put(b, (uint8_t[]){10, 4, vrid, 1}, 4);
    uint8_t pseudo[12] = {10, 0, 0, 2, 224, 0, 0, 18, 0, 112, 0, (uint8_t)b->n};
    set_checksum(b, pseudo, sizeof pseudo);
}

/* Version 3 over IPv6 from fe80::2 to ff02::12, addresses fe80::1 and 2001:db8::1. */
static void v3_ipv6(struct buf *b, uint8_t vrid)
{
    b->n = 0;
    u8(b, 0x31);
    u8(b, vrid);
    u8(b, 100);
    u8(b, 2);
    u16(b, 100);
    u16(b, 0);
    uint8_t a1[16] = {0xfe, 0x80, [15] = 1}, a2[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    put(b, a1, 16);
    put(b, a2, 16);
    uint8_t pseudo[40] = {0xfe, 0x80, [15] = 2, [16] = 0xff, [17] = 0x02, [31] = 0x12};
    pseudo[35] = (uint8_t)b->n;
    pseudo[39] = 112;
    set_checksum(b, pseudo, sizeof pseudo);
}

/* The packet VRRP comes in (IP protocol 112: the version 3 checksum's pseudo-header). */
static void vrrp_packet(struct fx *f, const char *src, const char *dst, uint8_t ttl)
{
    fx_packet(f, src, dst);
    f->pkt.l4_proto = 112;
    f->pkt.ttl = ttl;
}

static void ipv4_packet(struct fx *f, uint8_t ttl)
{
    vrrp_packet(f, "10.0.0.2", "224.0.0.18", ttl);
}

static size_t anomalies_named(const struct fx *f, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < f->rec.nanomalies; i++)
        if (strcmp(f->rec.anomalies[i].name, name) == 0) n++;
    return n;
}

static void test_v2_decoded(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    v2(b, 42, 191, 3, 1, "s3cret!");
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "advertisement");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"version\":2,\"type\":1,\"type_name\":\"advertisement\",\"vrid\":42,"
                   "\"priority\":191,\"count\":3,"
                   "\"addresses\":[\"10.4.42.1\",\"10.4.42.2\",\"10.4.42.3\"],"
                   "\"auth_type\":1,\"auth_type_name\":\"simple_text\","
                   "\"advertisement_interval_s\":1,\"checksum_valid\":true,\"ttl\":255,"
                   "\"repeated\":0");
    JSON_LACKS(f, 0, "s3cret");
    JSON_LACKS(f, 0, "changed");
    /* the password is named, never shown, and the finding is about the sender */
    assert_int_equal(f->rec.nanomalies, 1);
    assert_string_equal(f->rec.anomalies[0].name, "vrrp.cleartext_password");
    assert_true(f->rec.anomalies[0].about_client);
    assert_null(strstr(f->rec.anomalies[0].detail, "s3cret"));
    assert_int_equal(f->rec.nidentities, 1);
    assert_false(f->rec.identities[0].server);
    assert_string_equal(f->rec.identities[0].attr, "vrrp_group");
    assert_string_equal(f->rec.identities[0].value,
                        "vrid 42 v2 priority 191: 10.4.42.1 10.4.42.2 10.4.42.3");
    /* no authentication: no anomaly; the owner's and the resigning master's priorities */
    fx_clear(f);
    v2(b, 7, 255, 1, 0, NULL);
    DATAGRAM_BUF(f, C2S, b);
    v2(b, 8, 0, 1, 0, NULL);
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"priority\":255,\"priority_meaning\":\"address_owner\"");
    JSON_HAS(f, 0, "\"auth_type_name\":\"none\"");
    JSON_HAS(f, 1, "\"priority\":0,\"priority_meaning\":\"master_stopping\"");
    /* a record lists the first 16 addresses; the count says how many were sent */
    v2(b, 50, 100, 20, 0, NULL);
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 2, "\"count\":20");
    JSON_HAS(f, 2, "\"10.4.50.16\"]");
    JSON_LACKS(f, 2, "10.4.50.17");
    free(b);
}

/* Identical advertisements are counted into the next record; at the flow's end the last of
 * them is a record of its own. Each advertisement is counted once over all records. */
static void test_repeats_folded(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    v2(b, 42, 100, 1, 0, NULL);
    for (int i = 0; i < 5; i++) DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 1);
    v2(b, 42, 250, 1, 0, NULL); /* a higher priority: it wants the gateway */
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"priority\":250");
    JSON_HAS(f, 1, "\"repeated\":4,\"changed\":true");
    assert_int_equal(f->rec.nidentities, 2); /* the fact follows the change */
    assert_string_equal(f->rec.identities[1].value, "vrid 42 v2 priority 250: 10.4.42.1");
    DATAGRAM_BUF(f, C2S, b);
    DATAGRAM_BUF(f, C2S, b);
    uint64_t last = f->ctx.ts_ns;
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"priority\":250");
    JSON_HAS(f, 2, "\"repeated\":1");
    assert_int_equal(txn_at(f, 2)->request_ns, last);
    /* nothing more to say at a second end */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    free(b);
}

/* Several virtual routers on one flow are followed apart, up to 16; past them each
 * advertisement is a record that says so. */
static void test_groups(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    for (int round = 0; round < 2; round++)
        for (uint8_t vrid = 1; vrid <= 17; vrid++) {
            v2(b, vrid, 100, 1, 0, NULL);
            DATAGRAM_BUF(f, C2S, b);
        }
    assert_int_equal(f->rec.ntxns, 16 + 2); /* 16 first sightings, VRID 17 twice */
    JSON_HAS(f, 16, "\"vrid\":17");
    JSON_HAS(f, 16, "\"groups_untracked\":1");
    JSON_HAS(f, 17, "\"groups_untracked\":2");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 18 + 16);
    free(b);
}

static void test_v3(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    v3_ipv4(b, 44, 200, 100);
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 0, "\"version\":3,\"type\":1,\"type_name\":\"advertisement\",\"vrid\":44,"
                   "\"priority\":200,\"count\":1,\"addresses\":[\"10.4.44.1\"],"
                   "\"max_advertisement_interval_cs\":100,\"checksum_valid\":true");
    JSON_LACKS(f, 0, "auth_type");
    assert_int_equal(f->rec.nanomalies, 0);
    /* a wrong checksum: said in the record, one anomaly */
    v3_ipv4(b, 45, 200, 100);
    b->b[7] ^= 0x55;
    DATAGRAM_BUF(f, C2S, b);
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 1, "\"checksum_valid\":false");
    assert_int_equal(anomalies_named(f, "vrrp.bad_checksum"), 1);
    /* IPv6: 16-byte addresses, the pseudo-header with the IPv6 addresses */
    fx_clear(f);
    vrrp_packet(f, "fe80::2", "ff02::12", 255);
    v3_ipv6(b, 9);
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 0, "\"vrid\":9,\"priority\":100,\"count\":2,"
                   "\"addresses\":[\"fe80::1\",\"2001:db8::1\"],"
                   "\"max_advertisement_interval_cs\":100,\"checksum_valid\":true");
    /* without the packet (bytes alone) the version 3 checksum cannot be checked */
    fx_clear(f);
    f->ctx.pkt = NULL;
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 0, "\"addresses\":[\"fe80::1\",\"2001:db8::1\"]");
    JSON_LACKS(f, 0, "checksum_valid");
    JSON_LACKS(f, 0, "ttl");
    free(b);
}

/* RFC 5798 s.7.1: an advertisement with a TTL other than 255 was routed to the segment. */
static void test_ttl(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 64);
    v2(b, 42, 100, 1, 0, NULL);
    DATAGRAM_BUF(f, C2S, b);
    DATAGRAM_BUF(f, C2S, b);
    JSON_HAS(f, 0, "\"ttl\":64");
    assert_int_equal(anomalies_named(f, "vrrp.ttl_not_255"), 1);
    assert_true(f->rec.anomalies[0].about_client);
    free(b);
}

static void test_invalid(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    v2(b, 42, 100, 2, 0, NULL);
    DATAGRAM_BUF(f, C2S, b);
    fx_clear_records(f);
    uint8_t m[64];
    memcpy(m, b->b, b->n);
    m[0] = 0x41; /* version 4 */
    fx_datagram(f, C2S, m, b->n);
    fx_datagram(f, C2S, m, b->n);
    m[0] = 0x22; /* type 2 */
    fx_datagram(f, C2S, m, b->n);
    m[0] = 0x21;
    fx_datagram(f, C2S, m, b->n - 1); /* one byte short */
    fx_datagram(f, C2S, m, b->n + 4); /* room for an address the count does not have */
    fx_datagram(f, C2S, m, 7);
    m[0] = 0x31; /* version 3 over IPv6 with IPv4-sized addresses */
    vrrp_packet(f, "fe80::2", "ff02::12", 255);
    fx_datagram(f, C2S, m, 8 + 2 * 4);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(f->rec.nanomalies, 3);
    assert_int_equal(anomalies_named(f, "vrrp.bad_version"), 1);
    assert_int_equal(anomalies_named(f, "vrrp.bad_type"), 1);
    assert_int_equal(anomalies_named(f, "vrrp.invalid_length"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "version 4");
    /* the group seen before is still the same: its repeat is counted, not recorded */
    ipv4_packet(f, 255);
    DATAGRAM_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 0);
    free(b);
}

/* Every message cut at every length is refused whole: no record, no fact, nothing read past
 * the cut (the sanitizers watch). */
static void test_every_cut(void **state)
{
    struct fx *f = *state;
    struct buf *b = buf_new();
    ipv4_packet(f, 255);
    for (int kind = 0; kind < 3; kind++) {
        if (kind == 0) v2(b, 42, 191, 3, 1, "pw");
        if (kind == 1) v3_ipv4(b, 3, 100, 100);
        if (kind == 2) {
            vrrp_packet(f, "fe80::2", "ff02::12", 255);
            v3_ipv6(b, 9);
        }
        for (size_t cut = 0; cut < b->n; cut++) {
            fx_clear(f);
            uint8_t *m = malloc(cut ? cut : 1);
            memcpy(m, b->b, cut);
            fx_datagram(f, C2S, m, cut);
            free(m);
            assert_int_equal(f->rec.ntxns, 0);
            assert_int_equal(f->rec.nidentities, 0);
            /* bytes alone cannot tell two IPv6 addresses cut to 16 bytes from version 3
             * over IPv4 with two addresses; the datagram, with its packet, can */
            bool v4_sized = kind == 2 && cut == 8 + 4u * b->b[3];
            assert_int_equal(PROTO.probe(b->b, cut, C2S), v4_sized ? QW_PROBE_MATCH : QW_PROBE_NO);
        }
        assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    }
    free(b);
}

static void test_probe(void **state)
{
    (void)state;
    uint8_t m[16] = {0x21, 1, 100, 0, 0, 1, 0, 0}; /* no address: no group */
    assert_int_equal(PROTO.probe(m, 16, C2S), QW_PROBE_NO);
    /* OpenBSD CARP shares protocol 112 and version 2: 36 bytes with an authentication length
     * of 7 where VRRP counts addresses */
    uint8_t carp[36] = {0x21, 1, 0, 7, 1, 1};
    assert_int_equal(PROTO.probe(carp, sizeof carp, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.ipprotos[0], 112);
    assert_true(PROTO.transports == QW_TRANSPORT_IP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_v2_decoded), FX_TEST(test_repeats_folded), FX_TEST(test_groups),
        FX_TEST(test_v3),         FX_TEST(test_ttl),            FX_TEST(test_invalid),
        FX_TEST(test_every_cut),  FX_TEST(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
