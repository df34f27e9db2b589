/* Unit tests for the CDP parser (src/proto/cdp.c): decoded TLVs, the firmware line, identity
 * facts, the checksum (RFC 1071 with Cisco's odd-length forms), change-based records and
 * truncation at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/decode.h"
#include "decode/packet.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_cdp;

#define PROTO qw_proto_cdp
#define FX_TS_STEP 0 /* every frame names its time */
#define FX_SRC_MAC {0x00, 0x19, 0x06, 0xea, 0xb8, 0x85} /* one neighbour sends every frame */

#include "parser_fixture.h"

static size_t tlv(uint8_t *o, uint16_t type, const void *v, size_t n)
{
    o[0] = (uint8_t)(type >> 8);
    o[1] = (uint8_t)type;
    o[2] = (uint8_t)((n + 4) >> 8);
    o[3] = (uint8_t)(n + 4);
    memcpy(o + 4, v, n);
    return n + 4;
}

static const char VERSION[] = "Cisco Internetwork Operating System Software \n"
                              "IOS (tm) C2950 Software (C2950-I6K2L2Q4-M), Version 12.1(22)EA14, "
                              "RELEASE SOFTWARE (fc1)\nCopyright (c) 1986-2010 by cisco Systems";

/* A CDP v2 PDU with a valid checksum; `pad` appends a last TLV making the length odd. */
static size_t build(uint8_t *o, const char *device, bool odd_tail)
{
    size_t n = 4;
    o[0] = 2;
    o[1] = 180;
    o[2] = o[3] = 0;
    n += tlv(o + n, 0x01, device, strlen(device));
    n += tlv(o + n, 0x02, "\x00\x00\x00\x01\x01\x01\xcc\x00\x04\xc0\xa8\x00\x01", 13);
    n += tlv(o + n, 0x03, "GigabitEthernet0/5", 18);
    n += tlv(o + n, 0x04, "\x00\x00\x00\x28", 4);
    n += tlv(o + n, 0x05, VERSION, sizeof VERSION - 1);
    n += tlv(o + n, 0x06, "cisco WS-C3560G-24PS", 20);
    n += tlv(o + n, 0x09, "Lab", 3);
    n += tlv(o + n, 0x0A, "\x00\x01", 2);
    n += tlv(o + n, 0x0B, "\x01", 1);
    if (odd_tail) n += tlv(o + n, 0x16, "\x00\x00\x00\x01\x01\x01\xcc\x00\x04\xc0\xa8\x00\xfd", 13);
    if (n % 2 == 0) {
        uint16_t c = qw_csum_fold(qw_csum_add(0, o, n));
        o[2] = (uint8_t)(c >> 8);
        o[3] = (uint8_t)c;
    } else { /* Cisco's form: the last byte as a signed low half (src/proto/cdp.c) */
        uint8_t last = o[n - 1];
        uint32_t s = qw_csum_add(0, o, n - 1) + (last & 0x80 ? (0xFF00u | last) - 1u : last);
        uint16_t c = qw_csum_fold(s);
        o[2] = (uint8_t)(c >> 8);
        o[3] = (uint8_t)c;
    }
    return n;
}

static void test_decode_and_identity(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t n = build(b, "Switch", false);
    assert_int_equal(n % 2, 0);
    fx_frame_at(f, 1, b, n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.function, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"version\":2,\"ttl\":180,\"checksum_ok\":true,\"device_id\":\"Switch\","
                   "\"port_id\":\"GigabitEthernet0/5\",\"platform\":\"cisco WS-C3560G-24PS\"");
    JSON_HAS(f, 0, "\"firmware\":\"IOS (tm) C2950 Software (C2950-I6K2L2Q4-M), Version "
                   "12.1(22)EA14, RELEASE SOFTWARE (fc1)\",\"capabilities\":[\"switch\",\"igmp\"],"
                   "\"addresses\":[\"192.168.0.1\"],\"vtp_management_domain\":\"Lab\","
                   "\"native_vlan\":1,\"duplex\":\"full\"");
    assert_string_equal(qw_record_identity(&f->rec, false, "vendor"), "Cisco");
    assert_string_equal(qw_record_identity(&f->rec, false, "hostname"), "Switch");
    assert_string_equal(qw_record_identity(&f->rec, false, "model"), "cisco WS-C3560G-24PS");
    assert_string_equal(qw_record_identity(&f->rec, false, "firmware"),
                        "IOS (tm) C2950 Software (C2950-I6K2L2Q4-M), Version 12.1(22)EA14, "
                        "RELEASE SOFTWARE (fc1)");
    assert_string_equal(qw_record_identity(&f->rec, false, "description"), VERSION);
    assert_string_equal(qw_record_identity(&f->rec, false, "capabilities"), "switch,igmp");
    assert_string_equal(qw_record_identity(&f->rec, false, "management_ip"), "192.168.0.1");
    assert_string_equal(qw_record_identity(&f->rec, false, "port_id"), "GigabitEthernet0/5");
}

static void test_checksum_forms(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t n = build(b, "Sw", true);
    assert_int_equal(n % 2, 1);
    fx_frame_at(f, 1, b, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cdp.bad_checksum"), 0);
    JSON_HAS(f, 0, "\"checksum_ok\":true");
    JSON_HAS(f, 0, "\"management_addresses\":[\"192.168.0.253\"]");
    /* The management address TLV wins over the addresses TLV. */
    assert_string_equal(qw_record_identity(&f->rec, false, "management_ip"), "192.168.0.253");
    b[10] ^= 0x20; /* damage a device id byte */
    fx_frame_at(f, 2, b, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cdp.bad_checksum"), 1);
    /* Ethernet padding after the last TLV is not part of the PDU. */
    n = build(b, "Switch", false);
    memset(b + n, 0, 3);
    fx_frame_at(f, 3, b, n + 3);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cdp.bad_checksum"), 1);
}

static void test_repeats_and_version(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t n = build(b, "Switch", false);
    fx_frame_at(f, 1, b, n);
    fx_frame_at(f, 2, b, n);
    fx_frame_at(f, 3, b, n);
    assert_int_equal(f->rec.ntxns, 1);
    b[0] = 1; /* the same neighbour now speaks CDP v1 (checksum recomputed) */
    b[2] = b[3] = 0;
    uint16_t c = qw_csum_fold(qw_csum_add(0, b, n));
    b[2] = (uint8_t)(c >> 8);
    b[3] = (uint8_t)c;
    fx_frame_at(f, 4, b, n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(f->rec.txns[1].txn.function_name, "cdp_v1");
    JSON_HAS(f, 1, "\"event\":\"changed\",\"frames\":4,\"repeats\":2,\"version\":1");
    b[0] = 3;
    fx_frame_at(f, 5, b, n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "cdp.unsupported_version"), 1);
}

static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[512];
    size_t full = build(b, "Switch", false);
    for (size_t n = 0; n < full; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        fx_frame_at(f, 1, cut, n);
        free(cut);
        assert_int_equal(f->rec.ntxns, n >= 4 ? 1u : 0u);
        assert_true(f->rec.nanomalies >= 1); /* truncated header/TLV or bad checksum */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_decode_and_identity), FX_TEST(test_checksum_forms), FX_TEST(test_repeats_and_version),
        FX_TEST(test_truncated_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
