/* Unit tests for the BACnet/IP parser (src/proto/bacnet.c).
 *
 * Datagrams are built by hand, byte by byte, following the encodings of ANSI/ASHRAE 135-2020
 * (Annex J BVLL, clause 6.2 NPDU, clause 20 APDU and tags) and fed to the parser's datagram
 * callback into a recording sink; decoded values are checked on the txn summary, on the rendered
 * "bacnet" JSON object and on the identity facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/bacnet_tables.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_bacnet;

/* ---- Fixture ------------------------------------------------------------------------------ */

#define PROTO qw_proto_bacnet
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

/* A datagram under construction. */
struct pk {
    uint8_t b[8192];
    size_t n;
};

static void put(struct pk *p, const uint8_t *b, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, b, n);
    p->n += n;
}

#define PUT(p, ...)                                                                                \
    do {                                                                                           \
        const uint8_t put_bytes_[] = {__VA_ARGS__};                                                \
        put((p), put_bytes_, sizeof put_bytes_);                                                   \
    } while (0)

/* BVLL header with a placeholder length; finish() writes it. */
static void bvll(struct pk *p, uint8_t function)
{
    p->n = 0;
    PUT(p, 0x81, function, 0x00, 0x00);
}

static void finish(struct pk *p)
{
    p->b[2] = (uint8_t)(p->n >> 8);
    p->b[3] = (uint8_t)p->n;
}

/* A character string, application tag 7, with the extended length form when needed. */
static void app_string(struct pk *p, uint8_t charset, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n <= 4) {
        uint8_t t = (uint8_t)(0x70 | n);
        put(p, &t, 1);
    } else {
        uint8_t t[2] = {0x75, (uint8_t)n};
        put(p, t, 2);
    }
    put(p, &charset, 1);
    put(p, (const uint8_t *)s, n - 1);
}

/* ---- Common PDUs ---------------------------------------------------------------------------- */

/* ReadProperty request, invoke `inv`, device,`inst` and `prop` (< 256). */
static void rp_request(struct pk *p, uint8_t inv, uint32_t inst, uint8_t prop)
{
    bvll(p, 0x0A);
    PUT(p, 0x01, 0x04); /* NPDU: version 1, expecting reply */
    PUT(p, 0x00, 0x05, 0x00, 0x0C); /* confirmed request: max 1476, invoke, readProperty */
    uint8_t oid[5] = {0x0C, 0x02, (uint8_t)(inst >> 16), (uint8_t)(inst >> 8), (uint8_t)inst};
    put(p, oid, 5);
    uint8_t pr[2] = {0x19, prop};
    put(p, pr, 2);
    p->b[8] = inv;
    finish(p);
}

/* ReadProperty-ACK carrying a character string value. */
static void rp_ack_string(struct pk *p, uint8_t inv, uint32_t inst, uint8_t prop, uint8_t charset,
                          const char *s)
{
    bvll(p, 0x0A);
    PUT(p, 0x01, 0x00);
    PUT(p, 0x30, 0x00, 0x0C); /* complex ACK, invoke, readProperty */
    p->b[7] = inv;
    uint8_t oid[5] = {0x0C, 0x02, (uint8_t)(inst >> 16), (uint8_t)(inst >> 8), (uint8_t)inst};
    put(p, oid, 5);
    uint8_t pr[2] = {0x19, prop};
    put(p, pr, 2);
    PUT(p, 0x3E);
    app_string(p, charset, s);
    PUT(p, 0x3F);
    finish(p);
}

/* I-Am from device `inst`, vendor `vid`, broadcast; `snet` adds a source network. */
static void i_am(struct pk *p, uint32_t inst, uint16_t vid, bool snet)
{
    bvll(p, 0x0B);
    if (snet)
        PUT(p, 0x01, 0x08, 0x00, 0x05, 0x01, 0x0A); /* SNET 5, SADR 0a */
    else
        PUT(p, 0x01, 0x00);
    PUT(p, 0x10, 0x00); /* unconfirmed request, i-Am */
    uint8_t oid[5] = {0xC4, 0x02, (uint8_t)(inst >> 16), (uint8_t)(inst >> 8), (uint8_t)inst};
    put(p, oid, 5);
    PUT(p, 0x22, 0x05, 0xC4, 0x91, 0x03); /* max APDU 1476, no-segmentation */
    uint8_t v[3] = {0x22, (uint8_t)(vid >> 8), (uint8_t)vid};
    put(p, v, 3);
    finish(p);
}

/* ---- Confirmed services -----------------------------------------------------------------------
 */

static void test_read_property_pair_identity_latency(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    rp_request(&p, 7, 4194303, 121);
    f->ctx.ts_ns = 5000000;
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 0);
    rp_ack_string(&p, 7, 4194303, 121, 0, "Acme Controls  ");
    f->ctx.ts_ns = 5250000;
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 12);
    assert_string_equal(t->function_name, "read_property");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_false(t->error);
    assert_int_equal(t->request_ns, 5000000);
    assert_int_equal(t->response_ns, 5250000);
    JSON_HAS(f, 0,
             "\"request\":{\"function\":12,\"function_name\":\"read_property\","
             "\"bvlc_function\":10,\"bvlc_function_name\":\"original_unicast_npdu\","
             "\"npdu_control\":4,\"network_priority\":\"normal\",\"expecting_reply\":true,"
             "\"apdu_type\":0,\"apdu_type_name\":\"confirmed_request\",\"invoke_id\":7,"
             "\"service\":12,\"segmented\":false,\"segmented_response_accepted\":false,"
             "\"max_segments\":0,\"max_apdu\":1476,\"object_type\":8,"
             "\"object_type_name\":\"device\",\"object_instance\":4194303,\"property\":121,"
             "\"property_name\":\"vendor_name\"}");
    /* the value as sent, padding trimmed */
    JSON_HAS(f, 0,
             "\"apdu_type_name\":\"complex_ack\",\"invoke_id\":7,\"service\":12,"
             "\"segmented\":false,\"object_type\":8,\"object_type_name\":\"device\","
             "\"object_instance\":4194303,\"property\":121,\"property_name\":\"vendor_name\","
             "\"value_type\":\"character_string\",\"value\":\"Acme Controls\"}");
    JSON_LACKS(f, 0, "\"ops\"");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"), "Acme Controls");
    assert_int_equal(count_identity_of(f, false, "vendor"), 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_identity_properties_and_charsets(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* model-name in UCS-2, firmware in ISO 8859-1, object-name, location, description, and
     * application-software-version in UTF-8 */
    static const struct {
        uint8_t prop, charset;
        const char *sent, *attr, *want;
    } cases[] = {
        {70, 4,
         "\0M\0X\0-\0"
         "1",
         "model", "MX-1"},
        {44, 5, "v2\xB5", "firmware", "v2\xC2\xB5"},
        {77, 0, "AHU-3 controller", "name", "AHU-3 controller"},
        {58, 0, "Quay 4, crane 2", "location", "Quay 4, crane 2"},
        {28, 0, "Reefer rack", "description", "Reefer rack"},
        {12, 0, "app 7.1", "software_version", "app 7.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rp_request(&p, (uint8_t)i, 77, cases[i].prop);
        DATAGRAM_BUF(f, C2S, &p);
        if (cases[i].charset == 4) {
            /* UCS-2 has NULs: build the ACK by hand */
            bvll(&p, 0x0A);
            PUT(&p, 0x01, 0x00, 0x30, 0x00, 0x0C, 0x0C, 0x02, 0x00, 0x00, 0x4D, 0x19, 70, 0x3E);
            p.b[7] = (uint8_t)i;
            PUT(&p, 0x75, 11, 0x04, 0x00, 'M', 0x00, 'X', 0x00, '-', 0x00, '1', 0x00, ' ');
            PUT(&p, 0x3F);
            finish(&p);
        } else {
            rp_ack_string(&p, (uint8_t)i, 77, cases[i].prop, cases[i].charset, cases[i].sent);
        }
        DATAGRAM_BUF(f, S2C, &p);
        const char *got = qw_record_identity(&f->rec, true, cases[i].attr);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
    }
    assert_int_equal(f->rec.ntxns, 6);
    assert_int_equal(f->rec.nanomalies, 0);
    /* a device object read with the wildcard instance does not give a device_instance */
    assert_null(qw_record_identity(&f->rec, true, "device_instance"));
}

static void test_identity_only_for_device_objects(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* object-name of analog-input 3: a value, not an identity */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x09, 0x0C, 0x0C, 0x00, 0x00, 0x00, 0x03, 0x19, 77);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x30, 0x09, 0x0C, 0x0C, 0x00, 0x00, 0x00, 0x03, 0x19, 77, 0x3E);
    app_string(&p, 0, "Zone temp");
    PUT(&p, 0x3F);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0,
             "\"object_type_name\":\"analog_input\",\"object_instance\":3,\"property\":77,"
             "\"property_name\":\"object_name\",\"value_type\":\"character_string\","
             "\"value\":\"Zone temp\"");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_write_property_real_priority(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* analog-value 5 present-value <- 21.5 at priority 8 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x02, 0x65, 0x11, 0x0F, 0x0C, 0x00, 0x80, 0x00, 0x05, 0x19, 0x55, 0x3E,
        0x44, 0x41, 0xAC, 0x00, 0x00, 0x3F, 0x49, 0x08);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x20, 0x11, 0x0F); /* simple ACK */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "write_property");
    assert_int_equal(t->ops, QW_OP_WRITE);
    JSON_HAS(f, 0,
             "\"invoke_id\":17,\"service\":15,\"segmented\":false,"
             "\"segmented_response_accepted\":true,\"max_segments\":64,\"max_apdu\":1476,"
             "\"object_type\":2,\"object_type_name\":\"analog_value\",\"object_instance\":5,"
             "\"property\":85,\"property_name\":\"present_value\",\"value_type\":\"real\","
             "\"value\":\"21.5\",\"priority\":8}");
    JSON_HAS(f, 0, "\"response\":{\"function\":15,\"function_name\":\"write_property\"");
    JSON_HAS(f, 0, "\"apdu_type\":2,\"apdu_type_name\":\"simple_ack\",\"invoke_id\":17");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_value_renderings(void **ts)
{
    struct fx *f = *ts;
    static const struct {
        uint8_t value[16];
        size_t n;
        const char *want;
    } cases[] = {
        {{0x00}, 1, "\"value_type\":\"null\",\"value\":\"null\""},
        {{0x11}, 1, "\"value_type\":\"boolean\",\"value\":\"true\""},
        {{0x21, 0x2A}, 2, "\"value_type\":\"unsigned\",\"value\":\"42\""},
        {{0x31, 0xFE}, 2, "\"value_type\":\"signed\",\"value\":\"-2\""},
        {{0x55, 0x08, 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18},
         10,
         "\"value_type\":\"double\",\"value\":\"3.14159265358979\""},
        {{0x62, 0xDE, 0xAD}, 3, "\"value_type\":\"octet_string\",\"value\":\"dead\""},
        {{0x82, 0x05, 0xA0}, 3, "\"value_type\":\"bit_string\",\"value\":\"101\""},
        {{0x91, 0x01}, 2, "\"value_type\":\"enumerated\",\"value\":\"1\""},
        {{0xA4, 0x7C, 0x0B, 0x14, 0xFF}, 5, "\"value_type\":\"date\",\"value\":\"2024-11-20\""},
        {{0xA4, 0xFF, 0xFF, 0x01, 0xFF}, 5, "\"value_type\":\"date\",\"value\":\"*-*-01\""},
        {{0xB4, 0x17, 0x05, 0x3B, 0x00}, 5, "\"value_type\":\"time\",\"value\":\"23:05:59.00\""},
        {{0xC4, 0x01, 0x00, 0x00, 0x01},
         5,
         "\"value_type\":\"object_identifier\",\"value\":\"binary_output:1\""},
    };
    struct pk p;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bvll(&p, 0x0A);
        PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0F, 0x0C, 0x01, 0x00, 0x00, 0x01, 0x19, 0x55, 0x3E);
        put(&p, cases[i].value, cases[i].n);
        PUT(&p, 0x3F);
        finish(&p);
        p.b[8] = (uint8_t)i;
        DATAGRAM_BUF(f, C2S, &p);
    }
    flow_end(f);
    assert_int_equal(f->rec.ntxns, sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) JSON_HAS(f, i, cases[i].want);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_rpm_request_and_ack_identity(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* device,9: vendor-name, model-name, vendor-identifier; analog-input 1: present-value */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x21, 0x0E, 0x0C, 0x02, 0x00, 0x00, 0x09, 0x1E, 0x09, 0x79,
        0x09, 0x46, 0x09, 0x78, 0x1F, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x1E, 0x09, 0x55, 0x1F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x30, 0x21, 0x0E, 0x0C, 0x02, 0x00, 0x00, 0x09, 0x1E);
    PUT(&p, 0x29, 0x79, 0x4E);
    app_string(&p, 0, "Delta Controls Inc.");
    PUT(&p, 0x4F, 0x29, 0x46, 0x4E);
    app_string(&p, 0, "eBCON");
    PUT(&p, 0x4F, 0x29, 0x78, 0x4E, 0x21, 0x08, 0x4F);
    PUT(&p, 0x1F, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x1E, 0x29, 0x55);
    PUT(&p, 0x5E, 0x91, 0x02, 0x91, 0x20, 0x5F); /* access error: property, unknown-property */
    PUT(&p, 0x1F);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read_property_multiple");
    JSON_HAS(f, 0,
             "\"object_type_name\":\"device\",\"object_instance\":9,\"property\":121,"
             "\"property_name\":\"vendor_name\",\"objects\":2,\"properties\":4}");
    JSON_HAS(f, 0,
             "\"property_name\":\"vendor_name\",\"value_type\":\"character_string\","
             "\"value\":\"Delta Controls Inc.\",\"objects\":2,\"results\":4,\"errors\":1}");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "eBCON");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor_id"), "8");
    /* the device's own vendor-name and the name our table gives vendor id 8 */
    assert_int_equal(count_identity_of(f, true, "vendor"), 2);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_wpm_request(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* binary-output 2: present-value <- active (enumerated 1) at priority 8; out-of-service */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x22, 0x10, 0x0C, 0x01, 0x00, 0x00, 0x02, 0x1E, 0x09, 0x55,
        0x2E, 0x91, 0x01, 0x2F, 0x39, 0x08, 0x09, 0x51, 0x2E, 0x10, 0x2F, 0x1F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0,
             "\"object_type_name\":\"binary_output\",\"object_instance\":2,\"property\":85,"
             "\"property_name\":\"present_value\",\"value_type\":\"enumerated\","
             "\"value\":\"1\",\"priority\":8,\"objects\":1,\"properties\":2}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_reinitialize_and_dcc(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* ReinitializeDevice warmstart with a password */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x31, 0x14, 0x09, 0x01, 0x1D, 0x04, 0x00, 'p', 'w', 'd');
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* ReinitializeDevice startbackup, no password */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x32, 0x14, 0x09, 0x02);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* DeviceCommunicationControl: 30 minutes, disable-initiation */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x33, 0x11, 0x09, 0x1E, 0x19, 0x02);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_RESTART);
    JSON_HAS(f, 0,
             "\"reinitialized_state\":1,\"reinitialized_state_name\":\"warmstart\","
             "\"password_present\":true");
    JSON_LACKS(f, 0, "pwd");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_FILE | QW_OP_READ);
    JSON_HAS(f, 1, "\"reinitialized_state_name\":\"startbackup\",\"password_present\":false");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_CONFIG);
    JSON_HAS(f, 2,
             "\"enable_disable\":2,\"enable_disable_name\":\"disable_initiation\","
             "\"duration_minutes\":30,\"password_present\":false");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_atomic_file_and_private_transfer(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* AtomicReadFile file,2 stream from 0, 512 octets */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x40, 0x06, 0xC4, 0x02, 0x80, 0x00, 0x02, 0x0E, 0x31, 0x00,
        0x22, 0x02, 0x00, 0x0F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x30, 0x40, 0x06, 0x11, 0x0E, 0x31, 0x00, 0x63, 'a', 'b', 'c', 0x0F);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    /* AtomicWriteFile file,2 record access from record 4, 1 record */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x41, 0x07, 0xC4, 0x02, 0x80, 0x00, 0x02, 0x1E, 0x31, 0x04,
        0x21, 0x01, 0x62, 0x01, 0x02, 0x1F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* ConfirmedPrivateTransfer vendor 7 service 3 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x42, 0x12, 0x09, 0x07, 0x19, 0x03, 0x2E, 0x21, 0x01, 0x2F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_FILE);
    JSON_HAS(f, 0,
             "\"object_type_name\":\"file\",\"object_instance\":2,\"file_access\":\"stream\","
             "\"file_start_position\":0,\"octet_count\":512}");
    JSON_HAS(f, 0,
             "\"end_of_file\":true,\"file_access\":\"stream\",\"file_start_position\":0,"
             "\"octet_count\":3}");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE | QW_OP_FILE);
    JSON_HAS(f, 1, "\"file_access\":\"record\",\"file_start_record\":4,\"record_count\":1");
    assert_int_equal(txn_at(f, 2)->ops, 0);
    JSON_HAS(f, 2,
             "\"vendor_id\":7,\"vendor_name\":\"Siemens Schweiz (Landis & Staefa)\","
             "\"service_number\":3");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_subscribe_cov_and_notifications(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* SubscribeCOV process 18, analog-input 10, confirmed, 300 s */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x50, 0x05, 0x09, 0x12, 0x1C, 0x00, 0x00, 0x00, 0x0A, 0x29,
        0x01, 0x3A, 0x01, 0x2C);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* UnconfirmedCOVNotification from device 4: analog-input 10 present-value 7.0, flags */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x10, 0x02, 0x09, 0x12, 0x1C, 0x02, 0x00, 0x00, 0x04, 0x2C, 0x00, 0x00,
        0x00, 0x0A, 0x39, 0x3C, 0x4E, 0x09, 0x55, 0x2E, 0x44, 0x40, 0xE0, 0x00, 0x00, 0x2F, 0x09,
        0x6F, 0x2E, 0x82, 0x04, 0x00, 0x2F, 0x4F);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    /* the notification is emitted as it arrives, the subscription at flow end */
    JSON_HAS(f, 0, "\"function\":258,\"function_name\":\"unconfirmed_cov_notification\"");
    JSON_HAS(f, 0,
             "\"device_instance\":4,\"object_type\":0,\"object_type_name\":\"analog_input\","
             "\"object_instance\":10,\"property\":85,\"property_name\":\"present_value\","
             "\"value_type\":\"real\",\"value\":\"7\",\"value_count\":2,\"process_id\":18,"
             "\"time_remaining\":60");
    assert_int_equal(txn_at(f, 0)->ops, 0);
    assert_string_equal(txn_at(f, 1)->function_name, "subscribe_cov");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_READ);
    JSON_HAS(f, 1,
             "\"object_instance\":10,\"process_id\":18,"
             "\"issue_confirmed_notifications\":true,\"lifetime\":300");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_create_delete_object_and_ack_alarm(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* CreateObject analog-value (type only), object-name "AV new" */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x60, 0x0A, 0x0E, 0x09, 0x02, 0x0F, 0x1E, 0x09, 0x4D, 0x2E);
    app_string(&p, 0, "AV new");
    PUT(&p, 0x2F, 0x1F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x30, 0x60, 0x0A, 0xC4, 0x00, 0x80, 0x00, 0x07);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    /* DeleteObject analog-value 7 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x61, 0x0B, 0xC4, 0x00, 0x80, 0x00, 0x07);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* AcknowledgeAlarm process 1, binary-input 3, offnormal, then the rest */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x62, 0x00, 0x09, 0x01, 0x1C, 0x00, 0xC0, 0x00, 0x03, 0x29,
        0x02, 0x3E, 0x19, 0x05, 0x3F, 0x4D, 0x02, 0x00, 'x', 0x5E, 0x19, 0x06, 0x5F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_CONFIG);
    JSON_HAS(f, 0,
             "\"object_type_name\":\"analog_value\",\"object_instance\":4194303,"
             "\"objects\":1,\"properties\":1}");
    JSON_HAS(f, 0,
             "\"complex_ack\",\"invoke_id\":96,\"service\":10,\"segmented\":false,"
             "\"object_type\":2,\"object_type_name\":\"analog_value\",\"object_instance\":7}");
    assert_string_equal(txn_at(f, 1)->function_name, "delete_object");
    assert_string_equal(txn_at(f, 2)->function_name, "acknowledge_alarm");
    JSON_HAS(f, 2,
             "\"object_type_name\":\"binary_input\",\"object_instance\":3,\"process_id\":1,"
             "\"event_state_acknowledged\":2");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Errors, rejects, aborts -------------------------------------------------------------------
 */

static void test_error_reject_abort(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    rp_request(&p, 1, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x50, 0x01, 0x0C, 0x91, 0x01, 0x91, 0x1F); /* object / unknown-object */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    rp_request(&p, 2, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x60, 0x02, 0x09); /* reject: unrecognized-service */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    rp_request(&p, 3, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x70, 0x03, 0x04); /* abort from the client: segmentation-not-supported */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* a complex error: CreateObject-Error wraps the error in [0] */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x04, 0x0A, 0x0E, 0x09, 0x02, 0x0F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x50, 0x04, 0x0A, 0x0E, 0x91, 0x01, 0x91, 0x04, 0x0F, 0x19, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 4);
    for (size_t i = 0; i < 4; i++) assert_true(txn_at(f, i)->error);
    assert_int_equal(txn_at(f, 0)->function, 12);
    JSON_HAS(f, 0,
             "\"apdu_type_name\":\"error\",\"invoke_id\":1,\"service\":12,\"error_class\":1,"
             "\"error_class_name\":\"object\",\"error_code\":31,"
             "\"error_code_name\":\"unknown_object\"}");
    /* a reject names no service: the record takes its request's, without a "service" member */
    assert_int_equal(txn_at(f, 1)->function, 12);
    JSON_HAS(f, 1, "\"response\":{\"function\":12,\"function_name\":\"read_property\"");
    JSON_HAS(f, 1,
             "\"apdu_type_name\":\"reject\",\"invoke_id\":2,\"reject_reason\":9,"
             "\"reject_reason_name\":\"unrecognized_service\"}");
    JSON_HAS(f, 2,
             "\"apdu_type_name\":\"abort\",\"invoke_id\":3,\"abort_reason\":4,"
             "\"abort_reason_name\":\"segmentation_not_supported\",\"sent_by_server\":false");
    JSON_HAS(f, 3,
             "\"error_class_name\":\"object\",\"error_code\":4,"
             "\"error_code_name\":\"dynamic_creation_not_supported\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_unpaired_responses(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x60, 0x09, 0x41); /* reject, proprietary reason 65 */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x71, 0x0A, 0x00); /* abort from a server */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x20, 0x0B, 0x0F); /* simple ACK to a write we did not see */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->function, 0x406);
    assert_string_equal(txn_at(f, 0)->function_name, "reject");
    JSON_HAS(f, 0, "\"reject_reason\":65,\"reject_reason_name\":\"proprietary\"");
    assert_int_equal(txn_at(f, 1)->function, 0x407);
    JSON_HAS(f, 1, "\"abort_reason_name\":\"other\",\"sent_by_server\":true");
    assert_false(txn_at(f, 2)->has_request);
    assert_int_equal(txn_at(f, 2)->function, 15);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_service_mismatch(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    rp_request(&p, 4, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x20, 0x04, 0x0F); /* a simple ACK for writeProperty */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.service_mismatch"), 1);
}

/* ---- Pairing ------------------------------------------------------------------------------------
 */

static void test_routed_pairing_by_address(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* two requests with invoke id 5 through a router, to MS/TP stations 0x0A and 0x0B */
    for (uint8_t mac = 0x0A; mac <= 0x0B; mac++) {
        bvll(&p, 0x0A);
        PUT(&p, 0x01, 0x24, 0x00, 0x07, 0x01, 0x00, 0xFF, 0x00, 0x05, 0x05, 0x0C, 0x0C, 0x02, 0x00,
            0x00, 0x01, 0x19, 0x4D);
        p.b[9] = mac;
        finish(&p);
        f->ctx.ts_ns += 1000;
        DATAGRAM_BUF(f, C2S, &p);
    }
    /* the answer of 0x0B comes first: it pairs with the second request */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x08, 0x00, 0x07, 0x01, 0x0B, 0x30, 0x05, 0x0C, 0x0C, 0x02, 0x00, 0x00, 0x01,
        0x19, 0x4D, 0x3E);
    app_string(&p, 0, "station B");
    PUT(&p, 0x3F);
    finish(&p);
    f->ctx.ts_ns += 1000;
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"dnet\":7,\"dadr\":\"0b\",\"hop_count\":255");
    JSON_HAS(f, 0, "\"snet\":7,\"sadr\":\"0b\"");
    assert_int_equal(txn_at(f, 0)->response_ns - txn_at(f, 0)->request_ns, 1000);
    /* routed: the fact is about station B behind the router, not the router's IP address */
    assert_int_equal(f->rec.nidentities, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"dadr\":\"0a\"");
    assert_false(txn_at(f, 1)->has_response);
}

static void test_retry_same_invoke_id(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    rp_request(&p, 9, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    DATAGRAM_BUF(f, C2S, &p); /* the client's retry after its APDU timeout */
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_response);
    rp_ack_string(&p, 9, 5, 85, 0, "x");
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_request && txn_at(f, 1)->has_response);
}

static void test_requests_both_ways(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* B/IP peers are clients and servers at once: the same invoke id each way */
    rp_request(&p, 1, 5, 85);
    DATAGRAM_BUF(f, C2S, &p);
    rp_request(&p, 1, 6, 85);
    DATAGRAM_BUF(f, S2C, &p);
    rp_ack_string(&p, 1, 6, 85, 0, "from the client end");
    DATAGRAM_BUF(f, C2S, &p);
    rp_ack_string(&p, 1, 5, 85, 0, "from the server end");
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"object_instance\":6");
    JSON_HAS(f, 0, "\"value\":\"from the client end\"");
    JSON_HAS(f, 1, "\"object_instance\":5");
    JSON_HAS(f, 1, "\"value\":\"from the server end\"");
}

static void test_queue_overflow(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    for (unsigned i = 0; i < 20; i++) {
        rp_request(&p, (uint8_t)i, 5, 85);
        DATAGRAM_BUF(f, C2S, &p);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 4); /* 16 kept, the 4 oldest reported unanswered */
    JSON_HAS(f, 0, "\"invoke_id\":0,");
    JSON_HAS(f, 3, "\"invoke_id\":3,");
    rp_ack_string(&p, 19, 5, 85, 0, "x");
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 5);
    assert_true(txn_at(f, 4)->has_request);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 20);
}

/* ---- Segmentation ------------------------------------------------------------------------------
 */

/* A ReadPropertyMultiple-ACK about device 300 with identity strings, long enough to segment. */
static size_t rpm_ack_params(uint8_t *out, size_t cap)
{
    struct pk p;
    p.n = 0;
    PUT(&p, 0x0C, 0x02, 0x00, 0x01, 0x2C, 0x1E);
    PUT(&p, 0x29, 0x79, 0x4E);
    app_string(&p, 0, "Reliable Controls Corporation");
    PUT(&p, 0x4F, 0x29, 0x46, 0x4E);
    app_string(&p, 0, "MACH-ProWebSys with a long model designation");
    PUT(&p, 0x4F, 0x29, 0x2C, 0x4E);
    app_string(&p, 0, "firmware 8.12.3 build 20240601");
    PUT(&p, 0x4F, 0x29, 0x4D, 0x4E);
    app_string(&p, 0, "Reefer stack controller 7");
    PUT(&p, 0x4F, 0x1F);
    assert_true(p.n <= cap);
    memcpy(out, p.b, p.n);
    return p.n;
}

/* Segment `seq` of a ComplexACK (invoke 0x33, RPM), params [off, off + n). */
static void complex_ack_segment(struct pk *p, uint8_t seq, bool more, const uint8_t *params,
                                size_t n)
{
    bvll(p, 0x0A);
    PUT(p, 0x01, 0x00);
    uint8_t h[5] = {(uint8_t)(0x38 | (more ? 0x04 : 0)), 0x33, seq, 0x02, 0x0E};
    put(p, h, 5);
    put(p, params, n);
    finish(p);
}

static void segment_ack(struct pk *p, bool from_server, uint8_t seq)
{
    bvll(p, 0x0A);
    PUT(p, 0x01, 0x00);
    uint8_t h[4] = {(uint8_t)(0x40 | (from_server ? 1 : 0)), 0x33, seq, 0x02};
    put(p, h, 4);
    finish(p);
}

static void rpm_request_device(struct pk *p)
{
    bvll(p, 0x0A);
    PUT(p, 0x01, 0x04, 0x02, 0x05, 0x33, 0x0E, 0x0C, 0x02, 0x00, 0x01, 0x2C, 0x1E, 0x09, 0x08,
        0x1F);
    finish(p);
}

static void test_segmented_complex_ack_reassembled(void **ts)
{
    struct fx *f = *ts;
    uint8_t params[512];
    size_t n = rpm_ack_params(params, sizeof params);
    struct pk p;
    rpm_request_device(&p);
    f->ctx.ts_ns = 1000;
    DATAGRAM_BUF(f, C2S, &p);
    size_t cut1 = n / 3, cut2 = 2 * n / 3;
    f->ctx.ts_ns = 2000;
    complex_ack_segment(&p, 0, true, params, cut1);
    DATAGRAM_BUF(f, S2C, &p);
    f->ctx.ts_ns = 3000;
    complex_ack_segment(&p, 1, true, params + cut1, cut2 - cut1);
    DATAGRAM_BUF(f, S2C, &p);
    segment_ack(&p, false, 1);
    DATAGRAM_BUF(f, C2S, &p);
    complex_ack_segment(&p, 2, false, params + cut2, n - cut2);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 0); /* waits for the final SegmentACK */
    segment_ack(&p, false, 2);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->response_ns - t->request_ns, 1000); /* to the first segment */
    JSON_HAS(f, 0,
             "\"segmented\":true,\"more_follows\":false,\"segments\":3,"
             "\"reassembly\":\"complete\",\"object_type\":8");
    JSON_HAS(f, 0, "\"objects\":1,\"results\":4,\"errors\":0}");
    JSON_HAS(f, 0, "\"segment_acks\":2");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"),
                        "MACH-ProWebSys with a long model designation");
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "Reefer stack controller 7");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"),
                        "firmware 8.12.3 build 20240601");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_segmented_missing_segment(void **ts)
{
    struct fx *f = *ts;
    uint8_t params[512];
    size_t n = rpm_ack_params(params, sizeof params);
    struct pk p;
    rpm_request_device(&p);
    DATAGRAM_BUF(f, C2S, &p);
    size_t cut1 = n / 3, cut2 = 2 * n / 3;
    complex_ack_segment(&p, 0, true, params, cut1);
    DATAGRAM_BUF(f, S2C, &p);
    /* segment 1 lost */
    complex_ack_segment(&p, 2, false, params + cut2, n - cut2);
    DATAGRAM_BUF(f, S2C, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"segments\":2,\"reassembly\":\"partial\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.missing_segment"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.truncated_apdu"), 0);
    /* the vendor name lies in the first segment and is still found */
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"),
                        "Reliable Controls Corporation");
}

static void test_segmented_request_acked_by_server(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* WritePropertyMultiple in two segments: analog-value 1 and 2 present-value */
    static const uint8_t params[] = {0x0C, 0x00, 0x80, 0x00, 0x01, 0x1E, 0x09, 0x55,
                                     0x2E, 0x44, 0x3F, 0x80, 0x00, 0x00, 0x2F, 0x1F,
                                     0x0C, 0x00, 0x80, 0x00, 0x02, 0x1E, 0x09, 0x55,
                                     0x2E, 0x44, 0x40, 0x00, 0x00, 0x00, 0x2F, 0x1F};
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x0E, 0x65, 0x44, 0x00, 0x02, 0x10); /* SEG, MOR, SA; seq 0, window 2 */
    put(&p, params, 10);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x41, 0x44, 0x00, 0x02); /* SegmentACK from the server */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x0A, 0x65, 0x44, 0x01, 0x02, 0x10); /* SEG, last */
    put(&p, params + 10, sizeof params - 10);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x41, 0x44, 0x01, 0x02);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x20, 0x44, 0x10);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0,
             "\"segmented\":true,\"more_follows\":false,\"segmented_response_accepted\":true,"
             "\"max_segments\":64,\"max_apdu\":1476,\"segments\":2,"
             "\"reassembly\":\"complete\",\"object_type\":2");
    JSON_HAS(f, 0, "\"value_type\":\"real\",\"value\":\"1\"");
    JSON_LACKS(f, 0, "\"priority\""); /* none in this request */
    JSON_HAS(f, 0, "\"objects\":2,\"properties\":2}");
    JSON_HAS(f, 0, "\"segment_acks\":2");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* A message split into two segments at every octet gives the same record and facts: the
 * datagram counterpart of a stream cut at every offset. */
static void test_segmented_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    uint8_t params[512];
    size_t n = rpm_ack_params(params, sizeof params);
    char want[QW_REC_JSON_MAX];
    struct pk p;
    for (size_t cut = 0; cut <= n; cut++) {
        fx_clear(f);
        rpm_request_device(&p);
        DATAGRAM_BUF(f, C2S, &p);
        complex_ack_segment(&p, 0, true, params, cut);
        DATAGRAM_BUF(f, S2C, &p);
        complex_ack_segment(&p, 1, false, params + cut, n - cut);
        DATAGRAM_BUF(f, S2C, &p);
        segment_ack(&p, false, 1);
        DATAGRAM_BUF(f, C2S, &p);
        assert_int_equal(f->rec.ntxns, 1);
        assert_int_equal(f->rec.nanomalies, 0);
        assert_int_equal(f->rec.nidentities, 4);
        assert_string_equal(qw_record_identity(&f->rec, true, "vendor"),
                            "Reliable Controls Corporation");
        assert_string_equal(qw_record_identity(&f->rec, true, "name"), "Reefer stack controller 7");
        if (cut == 0) {
            JSON_HAS(f, 0, "\"segments\":2,\"reassembly\":\"complete\"");
            strcpy(want, json_of(f, 0));
        } else {
            assert_string_equal(json_of(f, 0), want);
        }
    }
}

static void test_segmented_duplicate_abort_concurrent(void **ts)
{
    struct fx *f = *ts;
    uint8_t params[512];
    size_t n = rpm_ack_params(params, sizeof params);
    size_t half = n / 2;
    struct pk p;
    /* the first segment sent twice (the server's retry): counted, reassembly unharmed */
    rpm_request_device(&p);
    DATAGRAM_BUF(f, C2S, &p);
    complex_ack_segment(&p, 0, true, params, half);
    DATAGRAM_BUF(f, S2C, &p);
    DATAGRAM_BUF(f, S2C, &p);
    complex_ack_segment(&p, 1, false, params + half, n - half);
    DATAGRAM_BUF(f, S2C, &p);
    segment_ack(&p, false, 1);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"segments\":3,\"reassembly\":\"complete\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.missing_segment"), 0);

    /* the client aborts after the first segment */
    rpm_request_device(&p);
    DATAGRAM_BUF(f, C2S, &p);
    complex_ack_segment(&p, 0, true, params, half);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x70, 0x33, 0x01); /* abort, buffer-overflow, from the client */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"apdu_type_name\":\"abort\"");
    JSON_HAS(f, 1, "\"partial_response_segments\":1");
    assert_true(txn_at(f, 1)->error);

    /* two segmented answers at once (invoke 0x33 and 0x34): the second is not reassembled */
    rpm_request_device(&p);
    DATAGRAM_BUF(f, C2S, &p);
    p.b[8] = 0x34;
    DATAGRAM_BUF(f, C2S, &p);
    complex_ack_segment(&p, 0, true, params, half);
    DATAGRAM_BUF(f, S2C, &p);
    complex_ack_segment(&p, 0, true, params, half);
    p.b[7] = 0x34;
    DATAGRAM_BUF(f, S2C, &p);
    complex_ack_segment(&p, 1, false, params + half, n - half);
    p.b[7] = 0x34;
    DATAGRAM_BUF(f, S2C, &p);
    complex_ack_segment(&p, 1, false, params + half, n - half);
    DATAGRAM_BUF(f, S2C, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 2,
             "\"invoke_id\":52,\"service\":14,\"segmented\":true,"
             "\"more_follows\":false,\"segments\":2,\"reassembly\":\"not_decoded\"}");
    JSON_HAS(f, 3, "\"invoke_id\":51,");
    JSON_HAS(f, 3, "\"segments\":2,\"reassembly\":\"complete\"");
}

/* ---- Unconfirmed services ----------------------------------------------------------------------
 */

static void test_i_am_identity_once_per_flow(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    i_am(&p, 1201, 36, false);
    DATAGRAM_BUF(f, C2S, &p);
    DATAGRAM_BUF(f, C2S, &p); /* the periodic repeat */
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->function, 0x100);
    assert_string_equal(txn_at(f, 0)->function_name, "i_am");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0,
             "\"service\":0,\"device_instance\":1201,\"object_type\":8,"
             "\"object_type_name\":\"device\",\"object_instance\":1201,"
             "\"max_apdu_accepted\":1476,\"segmentation_supported\":3,"
             "\"segmentation_supported_name\":\"no_segmentation\",\"vendor_id\":36,"
             "\"vendor_name\":\"Tridium\"}");
    assert_int_equal(f->rec.nidentities, 3);
    assert_string_equal(qw_record_identity(&f->rec, false, "device_instance"), "1201");
    assert_string_equal(qw_record_identity(&f->rec, false, "vendor_id"), "36");
    assert_string_equal(qw_record_identity(&f->rec, false, "vendor"), "Tridium");
    /* the same facts from the other end are facts about another device */
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.nidentities, 6);
    assert_string_equal(qw_record_identity(&f->rec, true, "device_instance"), "1201");
}

/* Routed (SNET): no facts. Forwarded by a BBMD: facts about the original source. */
static void test_i_am_routed_or_forwarded_identity(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    i_am(&p, 55, 5, true);
    DATAGRAM_BUF(f, C2S, &p);
    JSON_HAS(f, 0, "\"snet\":5,\"sadr\":\"0a\"");
    /* Forwarded-NPDU from a BBMD: the original source is in the BVLL header */
    struct pk q;
    i_am(&q, 56, 5, false);
    bvll(&p, 0x04);
    PUT(&p, 0xC0, 0xA8, 0x01, 0x02, 0xBA, 0xC0);
    put(&p, q.b + 4, q.n - 4);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1,
             "\"bvlc_function\":4,\"bvlc_function_name\":\"forwarded_npdu\","
             "\"forwarded_from\":\"192.168.1.2:47808\"");
    JSON_HAS(f, 1, "\"device_instance\":56");
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.naddr_identities, 3);
    assert_string_equal(qw_record_identity_at(&f->rec, "192.168.1.2", "device_instance"), "56");
    assert_string_equal(qw_record_identity_at(&f->rec, "192.168.1.2", "vendor"),
                        "Johnson Controls");
    /* the BBMD forwards the periodic repeat: said once per flow and original source */
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.naddr_identities, 3);
    assert_int_equal(f->rec.nanomalies, 0);
    /* an unconfigured device (wildcard instance) gives its vendor, not an instance */
    i_am(&p, 4194303, 260, false);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.nidentities, 2);
    assert_null(qw_record_identity(&f->rec, false, "device_instance"));
    assert_string_equal(qw_record_identity(&f->rec, false, "vendor"),
                        "BACnet Stack at SourceForge");
}

static void test_who_is_who_has_i_have(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x20, 0xFF, 0xFF, 0x00, 0xFF, 0x10, 0x08, 0x09, 0x64, 0x1A, 0x03, 0xE8);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x07, 0x3D, 0x06, 0x00, 'P', 'u', 'm', 'p', '1');
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x01, 0xC4, 0x02, 0x00, 0x00, 0x07, 0xC4, 0x01, 0x40, 0x00, 0x01,
        0x75, 0x06, 0x00, 'P', 'u', 'm', 'p', '1');
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->function, 0x108);
    JSON_HAS(f, 0, "\"dnet\":65535,\"dadr\":\"\",\"hop_count\":255");
    JSON_HAS(f, 0, "\"device_instance_low\":100,\"device_instance_high\":1000");
    JSON_HAS(f, 1, "\"function_name\":\"who_has\"");
    JSON_HAS(f, 1, "\"object_name\":\"Pump1\"");
    JSON_HAS(f, 2,
             "\"device_instance\":7,\"object_type\":5,\"object_type_name\":\"binary_value\","
             "\"object_instance\":1,\"object_name\":\"Pump1\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_time_synchronization_and_write_group(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x09, 0xA4, 0x7C, 0x0B, 0x14, 0x03, 0xB4, 0x15, 0x1E, 0x06, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x0A, 0x09, 0x05, 0x19, 0x08, 0x2E, 0x09, 0x01, 0x44, 0x42, 0x48,
        0x00, 0x00, 0x09, 0x02, 0x10, 0x2F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
    JSON_HAS(f, 0, "\"function\":265,\"function_name\":\"utc_time_synchronization\"");
    JSON_HAS(f, 0, "\"time\":\"2024-11-20 21:30:06.00\"");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE);
    JSON_HAS(f, 1, "\"value_count\":2,\"priority\":8,\"group_number\":5");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Network layer messages ---------------------------------------------------------------------
 */

static void test_network_layer_messages(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x80, 0x00, 0x00, 0x07); /* Who-Is-Router-To-Network 7 */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x80, 0x01, 0x00, 0x07, 0x00, 0x08); /* I-Am-Router-To-Network 7, 8 */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x80, 0x06, 0x00); /* Initialize-Routing-Table, no ports: a query */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x80, 0x06, 0x01, 0x00, 0x09, 0x02, 0x00); /* one port: rewrites the table */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x80, 0x03, 0x01, 0x00, 0x09); /* Reject-Message-To-Network */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x80, 0x13, 0x00, 0x2A, 0x01); /* Network-Number-Is 42, configured */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x80, 0x90, 0x01, 0x04, 0xAB); /* proprietary, vendor 260 */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 7);
    assert_int_equal(txn_at(f, 0)->function, 0x200);
    JSON_HAS(f, 0,
             "\"network_message\":0,\"network_message_name\":\"who_is_router_to_network\","
             "\"networks\":[7]");
    JSON_HAS(f, 1, "\"network_message_name\":\"i_am_router_to_network\",\"networks\":[7,8]");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_READ);
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_CONFIG);
    JSON_HAS(f, 3, "\"networks\":[9]");
    assert_true(txn_at(f, 4)->error);
    JSON_HAS(f, 4,
             "\"networks\":[9],\"reject_reason\":1,\"reject_reason_name\":\"unknown_network\"");
    JSON_HAS(f, 5, "\"network_number\":42,\"network_number_configured\":true");
    assert_string_equal(txn_at(f, 6)->function_name, "proprietary");
    JSON_HAS(f, 6,
             "\"network_message\":144,\"network_message_name\":\"proprietary\","
             "\"network_vendor_id\":260");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- BVLL control messages --------------------------------------------------------------------
 */

static void test_bvll_register_and_tables(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x05);
    PUT(&p, 0x00, 0x3C); /* Register-Foreign-Device, TTL 60 s */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x00);
    PUT(&p, 0x00, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x02); /* Read-BDT */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x03);
    PUT(&p, 10, 0, 0, 1, 0xBA, 0xC0, 255, 255, 255, 255, 10, 0, 1, 1, 0xBA, 0xC0, 255, 255, 255, 0);
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    bvll(&p, 0x08);
    PUT(&p, 10, 0, 0, 9, 0xBA, 0xC0); /* Delete-FDT-Entry */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x00);
    PUT(&p, 0x00, 0x50); /* its NAK */
    finish(&p);
    DATAGRAM_BUF(f, S2C, &p);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 0)->function, 0x305);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0,
             "\"request\":{\"function\":773,\"function_name\":\"register_foreign_device\","
             "\"bvlc_function\":5,\"bvlc_function_name\":\"register_foreign_device\","
             "\"ttl\":60}");
    JSON_HAS(f, 0, "\"result\":0,\"result_name\":\"successful_completion\"");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_READ);
    JSON_HAS(f, 1,
             "\"entries\":2,\"bdt\":[{\"address\":\"10.0.0.1:47808\","
             "\"mask\":\"255.255.255.255\"},{\"address\":\"10.0.1.1:47808\","
             "\"mask\":\"255.255.255.0\"}]");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_CONFIG);
    assert_true(txn_at(f, 2)->error);
    JSON_HAS(f, 2, "\"address\":\"10.0.0.9:47808\"");
    JSON_HAS(f, 2, "\"result_name\":\"delete_foreign_device_table_entry_nak\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Malformed and truncated input
 * --------------------------------------------------------------- */

static void test_truncated_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    uint8_t params[512];
    size_t n = rpm_ack_params(params, sizeof params);
    struct pk full;
    bvll(&full, 0x0A);
    PUT(&full, 0x01, 0x00, 0x30, 0x33, 0x0E);
    put(&full, params, n);
    finish(&full);
    for (size_t cut = 0; cut < full.n; cut++) {
        fx_clear(f);
        fx_datagram(f, S2C, full.b, cut);
        /* the BVLC length says more than the datagram holds: always reported */
        assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.truncated_bvll"), 1);
        if (cut >= 4) {
            assert_int_equal(f->rec.ntxns, 1);
            JSON_HAS(f, 0, "\"truncated\":true");
        } else {
            assert_int_equal(f->rec.ntxns, 0);
        }
        flow_end(f);
    }
    /* whole: no anomaly */
    fx_clear(f);
    fx_datagram(f, S2C, full.b, full.n);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_LACKS(f, 0, "truncated");
}

static void test_length_fields(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    rp_request(&p, 1, 5, 85);
    /* BVLC length below the header */
    p.b[2] = 0;
    p.b[3] = 3;
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_bvlc_length"), 1);
    /* BVLC length beyond the datagram (oversized) */
    rp_request(&p, 2, 5, 85);
    p.b[3] = 0xF0;
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.truncated_bvll"), 1);
    /* bytes after the BVLC length: the message is decoded, the rest reported */
    rp_request(&p, 3, 5, 85);
    PUT(&p, 0xDE, 0xAD);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.trailing_data"), 1);
    /* Register-Foreign-Device with a length its function does not have */
    bvll(&p, 0x05);
    PUT(&p, 0x00, 0x3C, 0x00, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_bvlc_length"), 2);
    /* extended length form of a tag pointing past the end */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x04, 0x0F, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x19, 0x55, 0x3E,
        0x75, 0xFE, 0xFF, 0xFF, 0x00, 'a', 0x3F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.truncated_apdu"), 1);
    flow_end(f);
    /* recorded: requests 2, 3 and 4 and the Register-Foreign-Device; the first datagram had no
     * usable BVLL header */
    assert_int_equal(f->rec.ntxns, 4);
}

static void test_invalid_encodings(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    /* NPDU version 2 */
    bvll(&p, 0x0A);
    PUT(&p, 0x02, 0x00, 0x10, 0x08);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_npdu_version"), 1);
    /* reserved control bits, DNET 0 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x60, 0x00, 0x00, 0x00, 0xFF, 0x10, 0x08);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.npdu_reserved_bits"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_npdu_address"), 1);
    /* an application tag with LVT 6 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0F, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x19, 0x55, 0x3E,
        0x46, 0x00, 0x3F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_tag"), 1);
    /* reserved APDU type 9 */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x00, 0x90, 0x01);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_apdu_type"), 1);
    /* Who-Is with a low limit only, and trailing bytes after an I-Am */
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x08, 0x09, 0x05);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.truncated_apdu"), 1);
    i_am(&p, 1, 1, false);
    PUT(&p, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.trailing_data"), 1);
    /* deep nesting is refused, not recursed into */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x02, 0x0F, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x19, 0x55, 0x3E);
    for (int i = 0; i < 200; i++) PUT(&p, 0x0E);
    PUT(&p, 0x3F);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "bacnet.invalid_tag"), 2);
}

static void test_unknown_codes_not_anomalies(void **ts)
{
    struct fx *f = *ts;
    struct pk p;
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x01, 0x60, 0x01, 0x02); /* confirmed service 96 */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x00, 0x10, 0x30); /* unconfirmed service 48 */
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    bvll(&p, 0x0D); /* BVLC function 13 (not defined) */
    PUT(&p, 0x00);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    /* ReadProperty of a proprietary object type and property */
    bvll(&p, 0x0A);
    PUT(&p, 0x01, 0x04, 0x00, 0x05, 0x02, 0x0C, 0x0C, 0x20, 0x00, 0x00, 0x01, 0x1A, 0x02, 0x58);
    finish(&p);
    DATAGRAM_BUF(f, C2S, &p);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    /* emitted as they come; the confirmed requests, unanswered, at flow end */
    assert_int_equal(txn_at(f, 0)->function, 0x130);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    assert_int_equal(txn_at(f, 1)->function, 0x30D);
    assert_string_equal(txn_at(f, 1)->function_name, "unknown");
    assert_string_equal(txn_at(f, 2)->function_name, "unknown");
    assert_int_equal(txn_at(f, 2)->function, 96);
    assert_string_equal(txn_at(f, 3)->function_name, "read_property");
    JSON_HAS(f, 3,
             "\"object_type\":128,\"object_type_name\":\"proprietary\",\"object_instance\":1,"
             "\"property\":600,\"property_name\":\"proprietary\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Probe
 * --------------------------------------------------------------------------------------- */

static enum qw_probe_result probe(const struct pk *p)
{
    return qw_proto_bacnet.probe(p->b, p->n, C2S);
}

static enum qw_probe_result probe_bytes(const void *b, size_t n)
{
    return qw_proto_bacnet.probe(b, n, C2S);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct pk p;
    rp_request(&p, 1, 5, 85);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);
    i_am(&p, 5, 5, true);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);
    bvll(&p, 0x00);
    PUT(&p, 0x00, 0x30);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);
    bvll(&p, 0x05);
    PUT(&p, 0x00, 0x3C);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x80, 0x00);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);
    struct pk q;
    i_am(&q, 56, 5, false);
    bvll(&p, 0x04);
    PUT(&p, 0xC0, 0xA8, 0x01, 0x02, 0xBA, 0xC0);
    put(&p, q.b + 4, q.n - 4);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_MATCH);

    /* near misses */
    rp_request(&p, 1, 5, 85);
    p.b[0] = 0x82; /* BACnet/IPv6 */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    rp_request(&p, 1, 5, 85);
    p.b[3]++; /* length not the datagram's */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    rp_request(&p, 1, 5, 85);
    p.b[4] = 0x02; /* NPDU version */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    rp_request(&p, 1, 5, 85);
    p.b[5] = 0x44; /* reserved control bit */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    rp_request(&p, 1, 5, 85);
    p.b[6] = 0x90; /* APDU type 9 */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    rp_request(&p, 1, 5, 85);
    p.b[1] = 0x0D; /* unknown BVLC function */
    assert_int_equal(probe(&p), QW_PROBE_NO);
    bvll(&p, 0x05);
    PUT(&p, 0x00, 0x3C, 0x00);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_NO); /* Register-FD is 6 octets */
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x80, 0x40); /* reserved network message type */
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_NO);
    bvll(&p, 0x0B);
    PUT(&p, 0x01, 0x08, 0x00, 0x05, 0x00, 0x10, 0x08); /* SLEN 0 */
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_NO);
    bvll(&p, 0x0C);
    PUT(&p, 1, 2, 3, 4, 5, 6, 7, 8);
    finish(&p);
    assert_int_equal(probe(&p), QW_PROBE_NO); /* Secure-BVLL: nothing to check */
    assert_int_equal(probe_bytes("\x81\x0a\x00", 3), QW_PROBE_NO);
    assert_int_equal(probe_bytes("", 0), QW_PROBE_NO);

    /* other protocols */
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(probe_bytes(http, sizeof http - 1), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03};
    assert_int_equal(probe_bytes(tls, sizeof tls), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06,
                                     0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
    assert_int_equal(probe_bytes(modbus, sizeof modbus), QW_PROBE_NO);
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x01, 'a',  0x00, 0x00, 0x01, 0x00, 0x01};
    assert_int_equal(probe_bytes(dns, sizeof dns), QW_PROBE_NO);
    /* NTP client request: LI 0, version 4, mode 3 */
    uint8_t ntp[48] = {0x23};
    assert_int_equal(probe_bytes(ntp, sizeof ntp), QW_PROBE_NO);
    uint8_t garbage[64];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(probe_bytes(garbage, sizeof garbage), QW_PROBE_NO);
    static const uint8_t zeros[16] = {0};
    assert_int_equal(probe_bytes(zeros, sizeof zeros), QW_PROBE_NO);
}

static void test_tables(void **ts)
{
    (void)ts;
    assert_string_equal(bn_object_type_name(8), "device");
    assert_string_equal(bn_object_type_name(56), "network_port");
    assert_null(bn_object_type_name(128));
    assert_string_equal(bn_property_name(85), "present_value");
    assert_string_equal(bn_property_name(121), "vendor_name");
    assert_string_equal(bn_property_name(372), "serial_number");
    assert_null(bn_property_name(18));
    assert_null(bn_property_name(4194303));
    assert_string_equal(bn_error_class_name(7), "communication");
    assert_string_equal(bn_error_code_name(32), "unknown_property");
    assert_string_equal(bn_reject_reason_name(9), "unrecognized_service");
    assert_string_equal(bn_abort_reason_name(11), "apdu_too_long");
    assert_string_equal(bn_vendor_name(5), "Johnson Controls");
    assert_string_equal(bn_vendor_name(24), "Automated Logic");
    assert_null(bn_vendor_name(13));
    assert_null(bn_vendor_name(100000));
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_bacnet.name, "bacnet");
    assert_int_equal(qw_proto_bacnet.transports, QW_TRANSPORT_UDP);
    assert_int_equal(qw_proto_bacnet.ports[0], 47808);
    assert_non_null(qw_proto_bacnet.datagram);
    assert_non_null(qw_proto_bacnet.flow_end);
    assert_null(qw_proto_bacnet.parse);
    assert_true(qw_proto_bacnet.state_size > 0);
    assert_true(qw_proto_bacnet.state_size < 16 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_read_property_pair_identity_latency),
        FX_TEST(test_identity_properties_and_charsets),
        FX_TEST(test_identity_only_for_device_objects),
        FX_TEST(test_write_property_real_priority),
        FX_TEST(test_value_renderings),
        FX_TEST(test_rpm_request_and_ack_identity),
        FX_TEST(test_wpm_request),
        FX_TEST(test_reinitialize_and_dcc),
        FX_TEST(test_atomic_file_and_private_transfer),
        FX_TEST(test_subscribe_cov_and_notifications),
        FX_TEST(test_create_delete_object_and_ack_alarm),
        FX_TEST(test_error_reject_abort),
        FX_TEST(test_unpaired_responses),
        FX_TEST(test_service_mismatch),
        FX_TEST(test_routed_pairing_by_address),
        FX_TEST(test_retry_same_invoke_id),
        FX_TEST(test_requests_both_ways),
        FX_TEST(test_queue_overflow),
        FX_TEST(test_segmented_complex_ack_reassembled),
        FX_TEST(test_segmented_missing_segment),
        FX_TEST(test_segmented_request_acked_by_server),
        FX_TEST(test_segmented_split_at_every_offset),
        FX_TEST(test_segmented_duplicate_abort_concurrent),
        FX_TEST(test_i_am_identity_once_per_flow),
        FX_TEST(test_i_am_routed_or_forwarded_identity),
        FX_TEST(test_who_is_who_has_i_have),
        FX_TEST(test_time_synchronization_and_write_group),
        FX_TEST(test_network_layer_messages),
        FX_TEST(test_bvll_register_and_tables),
        FX_TEST(test_truncated_at_every_offset),
        FX_TEST(test_length_fields),
        FX_TEST(test_invalid_encodings),
        FX_TEST(test_unknown_codes_not_anomalies),
        FX_TEST(test_probe),
        FX_TEST(test_tables),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("bacnet", tests, NULL, NULL);
}
