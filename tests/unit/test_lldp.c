/* Unit tests for the LLDP parser (src/proto/lldp.c): decoded TLVs (IEEE 802.1AB s.8.5), org
 * TLVs, identity facts, change-based records with repeat counts, the PROFINET delay exclusion,
 * refused PDUs and truncation at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_lldp;

#define PROTO qw_proto_lldp
#define FX_TS_STEP 0 /* every frame names its time */
#define FX_SRC_MAC {0x00, 0x1b, 0x1b, 0x02, 0xe6, 0x1f} /* one neighbour sends every frame */

#include "parser_fixture.h"

/* TLV writer: 7-bit type, 9-bit length. */
static size_t tlv(uint8_t *o, unsigned type, const void *v, size_t n)
{
    o[0] = (uint8_t)(type << 1 | (n >> 8));
    o[1] = (uint8_t)n;
    memcpy(o + 2, v, n);
    return 2 + n;
}

/* A SCALANCE-like LLDPDU; `name` is the system name, `delay` the PROFINET measured delay. */
static size_t build(uint8_t *o, const char *name, uint8_t delay, uint16_t ttl)
{
    size_t n = 0;
    n += tlv(o + n, 1, "\x04\x00\x1b\x1b\x02\xe6\x1e", 7);
    n += tlv(o + n, 2, "\x05" "port-001", 9);
    uint8_t t[2] = {(uint8_t)(ttl >> 8), (uint8_t)ttl};
    n += tlv(o + n, 3, t, 2);
    n += tlv(o + n, 4, "Port 1", 6);
    n += tlv(o + n, 5, name, strlen(name));
    n += tlv(o + n, 6, "Siemens, SIMATIC NET, SCALANCE X212-2, FW: V4.02", 48);
    n += tlv(o + n, 7, "\x00\x14\x00\x04", 4); /* bridge+router supported, bridge enabled */
    n += tlv(o + n, 8, "\x05\x01\x8d\x51\x00\xbe\x02\x00\x00\x00\x01\x00", 12);
    n += tlv(o + n, 127, "\x00\x80\xc2\x01\x01\xe8", 6);                  /* PVID 488 */
    n += tlv(o + n, 127, "\x00\x0e\xcf\x05\x00\x1b\x1b\x02\xe6\x1e", 10); /* chassis MAC */
    uint8_t d[8] = {0x00, 0x0e, 0xcf, 0x01, 0, 0, 0, delay};
    n += tlv(o + n, 127, d, 8);
    n += tlv(o + n, 0, "", 0);
    return n;
}

static void test_decode_and_identity(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    fx_frame_at(f, 1, b, build(b, "Switch1", 1, 120));
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "lldpdu");
    JSON_HAS(f, 0, "\"event\":\"new\",\"frames\":1,\"repeats\":0,\"chassis_id\":{\"subtype\":4,"
                   "\"subtype_name\":\"mac_address\",\"id\":\"00:1b:1b:02:e6:1e\"},\"port_id\":"
                   "{\"subtype\":5,\"subtype_name\":\"interface_name\",\"id\":\"port-001\"},"
                   "\"ttl\":120,\"port_description\":\"Port 1\",\"system_name\":\"Switch1\"");
    JSON_HAS(f, 0, "\"capabilities\":{\"supported\":[\"bridge\",\"router\"],\"enabled\":"
                   "[\"bridge\"]}");
    JSON_HAS(f, 0, "\"address\":\"141.81.0.190\",\"interface_subtype\":2,\"interface_number\":1");
    JSON_HAS(f, 0, "\"organization\":\"ieee_802_1\",\"subtype\":1,\"name\":\"port_vlan_id\","
                   "\"port_vlan_id\":488");
    JSON_HAS(f, 0, "\"name\":\"chassis_mac\",\"chassis_mac\":\"00:1b:1b:02:e6:1e\"");
    assert_string_equal(qw_record_identity(&f->rec, false, "chassis_id"), "00:1b:1b:02:e6:1e");
    assert_string_equal(qw_record_identity(&f->rec, false, "hostname"), "Switch1");
    assert_string_equal(qw_record_identity(&f->rec, false, "description"),
                        "Siemens, SIMATIC NET, SCALANCE X212-2, FW: V4.02");
    assert_string_equal(qw_record_identity(&f->rec, false, "capabilities"), "bridge");
    assert_string_equal(qw_record_identity(&f->rec, false, "management_ip"), "141.81.0.190");
    assert_string_equal(qw_record_identity(&f->rec, false, "port_id"), "port-001");
    assert_string_equal(qw_record_identity(&f->rec, false, "port_description"), "Port 1");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_repeats_and_changes(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t n = build(b, "Switch1", 1, 120);
    fx_frame_at(f, 1, b, n);
    fx_frame_at(f, 2, b, n);
    fx_frame_at(f, 3, b, n);
    /* The PROFINET measured delay varies between frames and is no change. */
    fx_frame_at(f, 4, b, build(b, "Switch1", 9, 120));
    assert_int_equal(f->rec.ntxns, 1);
    size_t nid = f->rec.nidentities;
    fx_frame_at(f, 5, b, build(b, "Switch1-renamed", 9, 120));
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"event\":\"changed\",\"frames\":5,\"repeats\":3");
    assert_true(f->rec.nidentities > nid); /* facts written again with the change */
    /* A shutdown (TTL 0) is a change too. */
    fx_frame_at(f, 6, b, build(b, "Switch1-renamed", 9, 0));
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(f->rec.txns[2].txn.function_name, "shutdown");
    JSON_HAS(f, 2, "\"shutdown\":true");
    /* The same chassis and port from another source MAC is another neighbour. */
    f->pkt.src_mac[5] ^= 1;
    fx_frame_at(f, 7, b, n);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 3, "\"event\":\"new\",\"frames\":1");
}

static void test_refused_and_malformed(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[64];
    size_t n = tlv(b, 127, "\x00\x12\x0f\x03\x01\x00\x00\x00\x00", 9);
    n += tlv(b + n, 0, "", 0);
    fx_frame_at(f, 1, b, n);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "lldp.missing_mandatory_tlv"), 1);
    /* A chassis id of one byte (subtype only) breaks s.8.5.2. */
    n = tlv(b, 1, "\x04", 1);
    fx_frame_at(f, 2, b, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "lldp.invalid_tlv"), 1);
    assert_int_equal(f->rec.ntxns, 0);
}

static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t full = build(b, "Switch1", 1, 120);
    for (size_t n = 0; n < full; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        fx_frame_at(f, 1, cut, n);
        free(cut);
        /* A record needs chassis, port and TTL whole (2 + 7 + 2 + 9 + 2 + 2 = 24 bytes). */
        assert_int_equal(f->rec.ntxns, n >= 24 ? 1u : 0u);
        assert_true(f->rec.nanomalies >= 1); /* cut TLV or missing End */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_decode_and_identity), FX_TEST(test_repeats_and_changes), FX_TEST(test_refused_and_malformed),
        FX_TEST(test_truncated_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
