/* Unit tests for the SNMP parser (src/proto/snmp.c): request/response pairing with latency and
 * operation classes, identity from the system group, the community never leaving memory,
 * traps, getbulk, SNMPv3 recognition, the probe, and truncation at every length. Messages are
 * built with a small BER writer below (ITU-T X.690 definite lengths). */
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

extern const struct qw_proto qw_proto_snmp;

#define PROTO qw_proto_snmp
#define FX_TS_STEP 0 /* every datagram names its time */

#include "parser_fixture.h"

/* ---- BER writer ---------------------------------------------------------------------------- */

struct buf {
    uint8_t b[1024];
    size_t n;
};

static void put(struct buf *o, uint8_t tag, const void *v, size_t n)
{
    o->b[o->n++] = tag;
    if (n < 128) {
        o->b[o->n++] = (uint8_t)n;
    } else {
        o->b[o->n++] = 0x82;
        o->b[o->n++] = (uint8_t)(n >> 8);
        o->b[o->n++] = (uint8_t)n;
    }
    memcpy(o->b + o->n, v, n);
    o->n += n;
}

static void put_int(struct buf *o, uint32_t v)
{
    uint8_t t[5];
    size_t n = 0;
    t[n++] = 0;
    t[n++] = (uint8_t)(v >> 24);
    t[n++] = (uint8_t)(v >> 16);
    t[n++] = (uint8_t)(v >> 8);
    t[n++] = (uint8_t)v;
    size_t s = 0;
    while (s < 4 && t[s] == 0 && !(t[s + 1] & 0x80)) s++;
    put(o, 0x02, t + s, n - s);
}

static void wrap(struct buf *o, uint8_t tag, const struct buf *in)
{
    put(o, tag, in->b, in->n);
}

/* OID contents for "1.3.6.1.2.1.1.N.0". */
static void put_sys_oid(struct buf *o, uint8_t n)
{
    const uint8_t v[] = {0x2b, 6, 1, 2, 1, 1, n, 0};
    put(o, 0x06, v, sizeof v);
}

/* A v1/v2c message: version, community, PDU [tag] { id, err, idx, varbinds }. */
static size_t message(uint8_t *out, uint32_t version, const char *community, uint8_t pdu_tag,
                      uint32_t req_id, uint32_t err, const struct buf *vbs)
{
    struct buf pdu = {0}, body = {0}, msg = {0}, list = {0};
    put_int(&pdu, req_id);
    put_int(&pdu, err);
    put_int(&pdu, 0);
    wrap(&list, 0x30, vbs);
    memcpy(pdu.b + pdu.n, list.b, list.n);
    pdu.n += list.n;
    put_int(&body, version);
    put(&body, 0x04, community, strlen(community));
    wrap(&body, pdu_tag, &pdu);
    wrap(&msg, 0x30, &body);
    memcpy(out, msg.b, msg.n);
    return msg.n;
}

static void vb_null(struct buf *vbs, uint8_t sys)
{
    struct buf vb = {0};
    put_sys_oid(&vb, sys);
    put(&vb, 0x05, "", 0);
    wrap(vbs, 0x30, &vb);
}

static void vb_str(struct buf *vbs, uint8_t sys, const char *s)
{
    struct buf vb = {0};
    put_sys_oid(&vb, sys);
    put(&vb, 0x04, s, strlen(s));
    wrap(vbs, 0x30, &vb);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_get_response_identity(void **ts)
{
    struct fx *f = *ts;
    uint8_t req[512], rsp[512];
    struct buf q = {0}, r = {0};
    vb_null(&q, 5);
    vb_null(&q, 1);
    vb_str(&r, 5, "crane-plc-07");
    vb_str(&r, 1, "SIMATIC S7-1500 V2.9 ");
    size_t nq = message(req, 0, "public", 0xA0, 1234, 0, &q);
    size_t nr = message(rsp, 0, "public", 0xA2, 1234, 0, &r);
    assert_int_equal(qw_proto_snmp.probe(req, nq, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    fx_datagram_at(f, 1000, QW_DIR_TO_SERVER, req, nq);
    assert_int_equal(f->rec.ntxns, 0);
    fx_datagram_at(f, 4000, QW_DIR_TO_CLIENT, rsp, nr);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "get");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_int_equal(t->response_ns - t->request_ns, 3000);
    JSON_HAS(f, 0, "\"request\":{\"version\":1,\"function\":0,\"function_name\":\"get\","
                   "\"request_id\":1234,\"varbind_count\":2,\"varbinds\":[{\"oid\":"
                   "\"1.3.6.1.2.1.1.5.0\"},{\"oid\":\"1.3.6.1.2.1.1.1.0\"}]}");
    JSON_HAS(f, 0, "\"error_status\":0,\"error_status_name\":\"noError\",\"error_index\":0,"
                   "\"varbind_count\":2,\"varbinds\":[{\"oid\":\"1.3.6.1.2.1.1.5.0\",\"type\":"
                   "\"octet_string\",\"value\":\"crane-plc-07\"}");
    assert_string_equal(qw_record_identity(&f->rec, true, "hostname"), "crane-plc-07");
    assert_string_equal(qw_record_identity(&f->rec, true, "description"), "SIMATIC S7-1500 V2.9");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "snmp.cleartext_credentials"), 1);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "community of 6 characters, default community \"public\"");
}

static void test_secret_community_never_written(void **ts)
{
    struct fx *f = *ts;
    static const char secret[] = "Kr4n3-R3ad0nly";
    uint8_t m[512];
    struct buf q = {0}, r = {0};
    vb_null(&q, 6);
    vb_str(&r, 6, "Berth 4, tower 2");
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, m, message(m, 1, secret, 0xA1, 7, 0, &q));
    fx_datagram_at(f, 2, QW_DIR_TO_CLIENT, m, message(m, 1, secret, 0xA2, 7, 0, &r));
    fx_datagram_at(f, 3, QW_DIR_TO_SERVER, m, message(m, 1, secret, 0xA1, 8, 0, &q));
    assert_int_equal(qw_record_count_anomaly(&f->rec, "snmp.cleartext_credentials"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "community of 14 characters");
    qw_proto_snmp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 2);
    for (size_t i = 0; i < f->rec.ntxns; i++) assert_null(strstr(f->rec.txns[i].json, secret));
    for (size_t i = 0; i < f->rec.nanomalies; i++) assert_null(strstr(f->rec.anomalies[i].detail, secret));
    for (size_t i = 0; i < f->rec.nidentities; i++) assert_null(strstr(f->rec.identities[i].value, secret));
    assert_string_equal(qw_record_identity(&f->rec, true, "location"), "Berth 4, tower 2");
    JSON_HAS(f, 0, "\"version\":2,\"function\":1,\"function_name\":\"getnext\"");
}

static void test_set_is_write_config_strings_by_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t m[512];
    struct buf q = {0};
    vb_str(&q, 5, "new-name");
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, m, message(m, 1, "private", 0xA3, 9, 0, &q));
    fx_datagram_at(f, 2, QW_DIR_TO_CLIENT, m, message(m, 1, "private", 0xA2, 9, 17, &q));
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_int_equal(t->ops, QW_OP_WRITE | QW_OP_CONFIG);
    assert_true(t->error);
    JSON_HAS(f, 0, "\"request\":{\"version\":2,\"function\":3,\"function_name\":\"set\","
                   "\"request_id\":9,\"varbind_count\":1,\"varbinds\":[{\"oid\":"
                   "\"1.3.6.1.2.1.1.5.0\",\"type\":\"octet_string\",\"value_length\":8}]}");
    JSON_HAS(f, 0, "\"error_status\":17,\"error_status_name\":\"notWritable\"");
    assert_null(qw_record_identity(&f->rec, true, "hostname")); /* error responses say nothing */
}

static void test_sys_object_id_vendor(void **ts)
{
    struct fx *f = *ts;
    uint8_t m[512];
    struct buf q = {0}, r = {0}, vb = {0};
    vb_null(&q, 2);
    put_sys_oid(&vb, 2);
    const uint8_t oid4329[] = {0x2b, 6, 1, 4, 1, 0xa1, 0x69, 6, 1}; /* 4329 = 33 * 128 + 105 */
    put(&vb, 0x06, oid4329, sizeof oid4329);
    wrap(&r, 0x30, &vb);
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, m, message(m, 0, "public", 0xA0, 1, 0, &q));
    fx_datagram_at(f, 2, QW_DIR_TO_CLIENT, m, message(m, 0, "public", 0xA2, 1, 0, &r));
    assert_string_equal(qw_record_identity(&f->rec, true, "sys_object_id"), "1.3.6.1.4.1.4329.6.1");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"), "Siemens");
}

static void test_trap_and_getbulk(void **ts)
{
    struct fx *f = *ts;
    /* v1 trap from the Wireshark wiki sample (enterprise 1.3.6.1.4.1.4.1.2.21, linkDown). */
    static const uint8_t trap[] = {
        0x30, 0x38, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0xa4, 0x2b,
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x04, 0x01, 0x02, 0x15, 0x40, 0x04, 0x7f,
        0x00, 0x00, 0x01, 0x02, 0x01, 0x02, 0x02, 0x01, 0x00, 0x43, 0x01, 0x02, 0x30, 0x0f,
        0x30, 0x0d, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01,
        0x21};
    assert_int_equal(qw_proto_snmp.probe(trap, sizeof trap, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, trap, sizeof trap);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.function, 4);
    JSON_HAS(f, 0, "\"enterprise\":\"1.3.6.1.4.1.4.1.2.21\",\"agent_address\":\"127.0.0.1\","
                   "\"generic_trap\":2,\"generic_trap_name\":\"linkDown\",\"specific_trap\":0,"
                   "\"time_stamp\":2,\"varbind_count\":1,\"varbinds\":[{\"oid\":"
                   "\"1.3.6.1.2.1.2.1.0\",\"type\":\"integer\",\"value\":33}]");
    uint8_t m[512];
    struct buf q = {0};
    vb_null(&q, 5);
    size_t n = message(m, 1, "public", 0xA5, 77, 0, &q);
    fx_datagram_at(f, 2, QW_DIR_TO_SERVER, m, n);
    qw_proto_snmp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"function_name\":\"getbulk\",\"request_id\":77,\"non_repeaters\":0,"
                   "\"max_repetitions\":0");
}

static void test_v3_encrypted_pairs_by_msgid(void **ts)
{
    struct fx *f = *ts;
    struct buf gd = {0}, body = {0}, msg = {0};
    put_int(&gd, 4242);
    put_int(&gd, 65507);
    put(&gd, 0x04, "\x07", 1);
    put_int(&gd, 3);
    put_int(&body, 3);
    wrap(&body, 0x30, &gd);
    put(&body, 0x04, "\x30\x00", 2); /* security parameters: never read */
    put(&body, 0x04, "\xde\xad\xbe\xef", 4);
    wrap(&msg, 0x30, &body);
    assert_int_equal(qw_proto_snmp.probe(msg.b, msg.n, QW_DIR_TO_SERVER), QW_PROBE_MATCH);
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, msg.b, msg.n);
    fx_datagram_at(f, 2, QW_DIR_TO_CLIENT, msg.b, msg.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.function, 256);
    JSON_HAS(f, 0, "\"version\":3,\"function\":256,\"function_name\":\"encrypted\",\"msg_id\":4242,"
                   "\"msg_max_size\":65507,\"auth\":true,\"priv\":true,\"reportable\":true,"
                   "\"security_model\":3,\"encrypted\":true");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "snmp.cleartext_credentials"), 0);
}

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
    static const uint8_t ntp[48] = {0x23};
    static const uint8_t ldap[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03,
                                   0x04, 0x00, 0x80, 0x00}; /* LDAP bind: version 1, no OCTET STRING */
    static const uint8_t v2_bad_pdu[] = {0x30, 0x0b, 0x02, 0x01, 0x01, 0x04, 0x01, 'x',
                                         0x30, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(qw_proto_snmp.probe((const uint8_t *)http, sizeof http - 1, 0), QW_PROBE_NO);
    assert_int_equal(qw_proto_snmp.probe(tls, sizeof tls, 0), QW_PROBE_NO);
    assert_int_equal(qw_proto_snmp.probe(dns, sizeof dns, 0), QW_PROBE_NO);
    assert_int_equal(qw_proto_snmp.probe(ntp, sizeof ntp, 0), QW_PROBE_NO);
    assert_int_equal(qw_proto_snmp.probe(ldap, sizeof ldap, 0), QW_PROBE_NO);
    assert_int_equal(qw_proto_snmp.probe(v2_bad_pdu, sizeof v2_bad_pdu, 0), QW_PROBE_NO);
}

static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    uint8_t m[512];
    struct buf r = {0};
    vb_str(&r, 5, "crane-plc-07");
    size_t full = message(m, 0, "public", 0xA2, 5, 0, &r);
    for (size_t n = 0; n < full; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, m, n);
        assert_int_equal(qw_proto_snmp.probe(cut, n, QW_DIR_TO_CLIENT), QW_PROBE_NO);
        fx_datagram_at(f, 1, QW_DIR_TO_CLIENT, cut, n);
        free(cut);
        assert_true(f->rec.nanomalies >= 1);
        assert_int_equal(f->rec.nidentities, 0); /* a cut value is not a fact */
        /* a cut v1 message is no encrypted v3 one, whatever is left of it */
        for (size_t i = 0; i < f->rec.nanomalies; i++)
            if (strstr(f->rec.anomalies[i].detail, "encrypted"))
                fail_msg("cut at %zu: %s says %s", n, f->rec.anomalies[i].name,
                         f->rec.anomalies[i].detail);
    }
}

/* A v1 message whose PDU has a tag no SNMP PDU has (context 18, seen in the corpus): malformed,
 * no record, and the detail says there was no PDU, not that it was encrypted (only v3 can be). */
static void test_v1_without_pdu_is_not_encrypted(void **ts)
{
    struct fx *f = *ts;
    uint8_t m[512];
    struct buf r = {0};
    vb_str(&r, 5, "crane-plc-07");
    size_t n = message(m, 0, "public", 0xB2, 9, 0, &r);
    fx_datagram_at(f, 1, QW_DIR_TO_SERVER, m, n);
    assert_int_equal(f->rec.ntxns, 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "snmp.malformed"), 1);
    for (size_t i = 0; i < f->rec.nanomalies; i++)
        if (!strcmp(f->rec.anomalies[i].name, "snmp.malformed"))
            assert_string_equal(f->rec.anomalies[i].detail, "no PDU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_get_response_identity),  FX_TEST(test_secret_community_never_written),
        FX_TEST(test_set_is_write_config_strings_by_length), FX_TEST(test_sys_object_id_vendor),
        FX_TEST(test_trap_and_getbulk),       FX_TEST(test_v3_encrypted_pairs_by_msgid),
        FX_TEST(test_probe_refuses_others),   FX_TEST(test_truncated_every_length),
        FX_TEST(test_v1_without_pdu_is_not_encrypted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
