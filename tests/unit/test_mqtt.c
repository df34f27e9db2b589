/* Unit tests for the MQTT parser (src/proto/mqtt.c).
 *
 * Packets are built with a small encoder (fixed header with its variable-length remaining
 * length, [V311] s.2.2; UTF-8 strings with 2-byte lengths, s.1.5.3; version 5 properties,
 * [V5] s.2.2.2) and fed through qw_stream_deliver as in the engine, into a recording sink. */
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
#include "engine/stream.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_mqtt;

#define PROTO qw_proto_mqtt
#define FX_TS_STEP 0 /* the tests set packet times themselves */
#define FX_BUF_MAX 70000

#include "parser_fixture.h"

/* ---- Encoder ------------------------------------------------------------------------------- */

static void str(struct buf *b, const char *s)
{
    u16(b, (uint16_t)strlen(s));
    put(b, s, strlen(s));
}
static void varint(struct buf *b, uint32_t v)
{
    do {
        uint8_t d = v & 0x7Fu;
        v >>= 7;
        if (v) d |= 0x80u;
        u8(b, d);
    } while (v);
}

/* Fixed header + body. */
static void pkt(struct buf *out, uint8_t first, const struct buf *body)
{
    u8(out, first);
    varint(out, (uint32_t)body->n);
    put(out, body->b, body->n);
}

static void connect311(struct buf *out, const char *client, bool user)
{
    struct buf *b = buf_new();
    str(b, "MQTT");
    u8(b, 4);
    u8(b, (uint8_t)(0x02 | (user ? 0xC0 : 0)));
    u16(b, 60);
    str(b, client);
    if (user) {
        str(b, "crane-op");
        str(b, "hunter2secret");
    }
    pkt(out, 0x10, b);
    free(b);
}

static const uint8_t connack_ok[] = {0x20, 0x02, 0x00, 0x00};

/* ---- Fixture ------------------------------------------------------------------------------- */

/* What a test builds for each direction, until feed_buf sends it. */
static struct buf c2s_out, s2c_out;

static int mqtt_setup(void **tstate)
{
    c2s_out.n = s2c_out.n = 0;
    return fx_setup(tstate);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, mqtt_setup, fx_teardown)

static void feed_buf(struct fx *f, enum qw_dir dir, struct buf *b)
{
    feed(f, dir, b->b, b->n);
    b->n = 0;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_connect_connack_311(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 1000;
    connect311(&c2s_out, "sts-crane-07", true);
    feed_buf(f, C2S, &c2s_out);
    f->ctx.ts_ns = 4000;
    FEED(f, S2C, connack_ok);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "connect");
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    assert_false(t->error);
    assert_int_equal(t->request_ns, 1000);
    assert_int_equal(t->response_ns, 4000);
    JSON_HAS(f, 0, "\"request\":{\"function\":1,\"function_name\":\"connect\",\"flags\":0,"
                   "\"remaining_length\":49,\"protocol_name\":\"MQTT\",\"protocol_level\":4,"
                   "\"protocol_version\":\"3.1.1\",\"clean_session\":true,\"keep_alive\":60,"
                   "\"client_id\":\"sts-crane-07\",\"username_present\":true,"
                   "\"password_present\":true,\"will\":false}");
    JSON_HAS(f, 0, "\"response\":{\"function\":2,\"function_name\":\"connack\",\"flags\":0,"
                   "\"remaining_length\":2,\"session_present\":false,\"reason_code\":0,"
                   "\"reason_name\":\"accepted\"}");
    JSON_LACKS(f, 0, "hunter2");
    JSON_LACKS(f, 0, "crane-op");
    assert_string_equal(qw_record_identity(&f->rec, false, "mqtt_client_id"), "sts-crane-07");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_connect_31_refused(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    str(b, "MQIsdp");
    u8(b, 3);
    u8(b, 0x2E); /* will retain, will QoS 1, will flag, clean session */
    u16(b, 30);
    str(b, "rtg-12");
    str(b, "status/rtg-12");
    str(b, "offline");
    pkt(&c2s_out, 0x10, b);
    free(b);
    feed_buf(f, C2S, &c2s_out);
    static const uint8_t refused[] = {0x20, 0x02, 0x00, 0x05};
    FEED(f, S2C, refused);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"protocol_name\":\"MQIsdp\",\"protocol_level\":3,\"protocol_version\":\"3.1\","
                   "\"clean_session\":true,\"keep_alive\":30,\"client_id\":\"rtg-12\","
                   "\"username_present\":false,\"password_present\":false,\"will\":true,"
                   "\"will_qos\":1,\"will_retain\":true,\"will_topic\":\"status/rtg-12\"}");
    JSON_HAS(f, 0, "\"reason_code\":5,\"reason_name\":\"not_authorized\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* Version 5: properties everywhere, will properties, reason codes. */
static void connect5(struct buf *out)
{
    struct buf *b = buf_new(), *props = buf_new(), *wprops = buf_new();
    str(b, "MQTT");
    u8(b, 5);
    u8(b, 0xC6); /* user, password, will, clean start */
    u16(b, 20);
    u8(props, 0x11); /* session expiry */
    u8(props, 0);
    u8(props, 0);
    u8(props, 0x0E);
    u8(props, 0x10);
    u8(props, 0x26); /* user property */
    str(props, "site");
    str(props, "berth-3");
    u8(props, 0x15); /* authentication method */
    str(props, "SCRAM-SHA-1");
    varint(b, (uint32_t)props->n);
    put(b, props->b, props->n);
    str(b, "agv-3");
    u8(wprops, 0x18); /* will delay */
    u8(wprops, 0);
    u8(wprops, 0);
    u8(wprops, 0);
    u8(wprops, 5);
    varint(b, (uint32_t)wprops->n);
    put(b, wprops->b, wprops->n);
    str(b, "agv/3/lwt");
    str(b, "gone");
    str(b, "agv");
    str(b, "pw");
    pkt(out, 0x10, b);
    free(b);
    free(props);
    free(wprops);
}

static void test_v5_connect_and_refusal(void **ts)
{
    struct fx *f = *ts;
    connect5(&c2s_out);
    feed_buf(f, C2S, &c2s_out);
    struct buf *b = buf_new();
    u8(b, 0x00);
    u8(b, 0x86); /* bad user name or password */
    u8(b, 1 + 2 + 11); /* properties: one reason string */
    u8(b, 0x1F);
    str(b, "wrong creds");
    pkt(&s2c_out, 0x20, b);
    free(b);
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"protocol_level\":5,\"protocol_version\":\"5.0\",\"clean_session\":true,"
                   "\"keep_alive\":20,\"client_id\":\"agv-3\",\"username_present\":true,"
                   "\"password_present\":true,\"will\":true,\"will_qos\":0,\"will_retain\":false,"
                   "\"will_topic\":\"agv/3/lwt\",\"properties_count\":3,"
                   "\"user_properties_count\":1,\"session_expiry_interval\":3600,"
                   "\"authentication_method\":\"SCRAM-SHA-1\"}");
    JSON_HAS(f, 0, "\"reason_code\":134,\"reason_name\":\"bad_user_name_or_password\","
                   "\"properties_count\":1,\"reason_string\":\"wrong creds\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void publish(struct buf *out, uint8_t qos, bool retain, uint16_t pid, const char *topic,
                    size_t payload, bool v5)
{
    struct buf *b = buf_new();
    str(b, topic);
    if (qos) u16(b, pid);
    if (v5) {
        u8(b, 3);
        u8(b, 0x23); /* topic alias */
        u16(b, 4);
    }
    for (size_t i = 0; i < payload; i++) u8(b, (uint8_t)('a' + i % 26));
    pkt(out, (uint8_t)(0x30 | qos << 1 | (retain ? 1 : 0)), b);
    free(b);
}

static void ack(struct buf *out, uint8_t first, uint16_t pid)
{
    u8(out, first);
    u8(out, 2);
    u16(out, pid);
}

static void test_publish_qos0_1_2(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "tos-gw", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    f->ctx.ts_ns = 2000;
    publish(&c2s_out, 0, true, 0, "yard/block-A/stack", 12, false);
    publish(&c2s_out, 1, false, 7, "crane/7/setpoint", 4, false);
    publish(&c2s_out, 2, false, 8, "crane/7/mode", 2, false);
    feed_buf(f, C2S, &c2s_out);
    assert_int_equal(f->rec.ntxns, 2); /* connect, QoS 0 publish */
    f->ctx.ts_ns = 3000;
    ack(&s2c_out, 0x50, 8); /* PUBREC */
    ack(&s2c_out, 0x40, 7); /* PUBACK */
    feed_buf(f, S2C, &s2c_out);
    ack(&c2s_out, 0x62, 8); /* PUBREL */
    feed_buf(f, C2S, &c2s_out);
    f->ctx.ts_ns = 9000;
    ack(&s2c_out, 0x70, 8); /* PUBCOMP */
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 4);
    const struct qw_txn *t = txn_at(f, 1);
    assert_string_equal(t->function_name, "publish");
    assert_int_equal(t->ops, QW_OP_WRITE);
    assert_false(t->has_response);
    JSON_HAS(f, 1, "{\"request\":{\"function\":3,\"function_name\":\"publish\",\"flags\":1,"
                   "\"remaining_length\":32,\"topic\":\"yard/block-A/stack\",\"qos\":0,"
                   "\"retain\":true,\"dup\":false,\"payload_length\":12}}");
    JSON_HAS(f, 2, "\"packet_id\":7,\"topic\":\"crane/7/setpoint\",\"qos\":1");
    JSON_HAS(f, 2, "\"response\":{\"function\":4,\"function_name\":\"puback\",\"flags\":0,"
                   "\"remaining_length\":2,\"packet_id\":7}");
    t = txn_at(f, 3);
    assert_int_equal(t->request_ns, 2000);
    assert_int_equal(t->response_ns, 9000);
    JSON_HAS(f, 3, "\"topic\":\"crane/7/mode\",\"qos\":2");
    JSON_HAS(f, 3, "\"response\":{\"function\":5,\"function_name\":\"pubrec\"");
    JSON_HAS(f, 3, "\"release\":{\"function\":6,\"function_name\":\"pubrel\",\"flags\":2");
    JSON_HAS(f, 3, "\"complete\":{\"function\":7,\"function_name\":\"pubcomp\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_broker_publish_is_not_a_write(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "hmi", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    publish(&s2c_out, 1, false, 1, "alarms/berth-2", 3, false);
    feed_buf(f, S2C, &s2c_out);
    ack(&c2s_out, 0x40, 1);
    feed_buf(f, C2S, &c2s_out);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 1)->ops, 0);
    assert_true(txn_at(f, 1)->has_response);
}

static void subscribe(struct buf *out, uint16_t pid, bool v5)
{
    struct buf *b = buf_new();
    u16(b, pid);
    if (v5) u8(b, 0);
    str(b, "crane/+/status");
    u8(b, 1);
    str(b, "alarms/#");
    u8(b, v5 ? 0x26 : 2);
    pkt(out, 0x82, b);
    free(b);
}

static void test_subscribe_suback(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "hmi", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    subscribe(&c2s_out, 11, false);
    feed_buf(f, C2S, &c2s_out);
    static const uint8_t suback[] = {0x90, 0x04, 0x00, 0x0B, 0x01, 0x80};
    FEED(f, S2C, suback);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 1);
    assert_int_equal(t->function, 8);
    assert_int_equal(t->ops, QW_OP_READ);
    assert_true(t->error); /* one filter refused */
    JSON_HAS(f, 1, "\"packet_id\":11,\"filters_count\":2,\"filters\":[{\"topic\":\"crane/+/status\","
                   "\"qos\":1},{\"topic\":\"alarms/#\",\"qos\":2}]}");
    JSON_HAS(f, 1, "\"packet_id\":11,\"codes\":[{\"code\":1,\"name\":\"granted_qos_1\"},"
                   "{\"code\":128,\"name\":\"failure\"}]}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_v5_subscribe_unsubscribe_disconnect_auth(void **ts)
{
    struct fx *f = *ts;
    connect5(&c2s_out);
    feed_buf(f, C2S, &c2s_out);
    static const uint8_t connack5[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    FEED(f, S2C, connack5);
    subscribe(&c2s_out, 2, true);
    struct buf *b = buf_new();
    u16(b, 3);
    u8(b, 0);
    str(b, "crane/+/status");
    pkt(&c2s_out, 0xA2, b);
    feed_buf(f, C2S, &c2s_out);
    static const uint8_t suback[] = {0x90, 0x05, 0x00, 0x02, 0x00, 0x01, 0x9E};
    static const uint8_t unsuback[] = {0xB0, 0x04, 0x00, 0x03, 0x00, 0x11};
    FEED(f, S2C, suback);
    FEED(f, S2C, unsuback);
    static const uint8_t auth[] = {0xF0, 0x01, 0x19};
    static const uint8_t disc[] = {0xE0, 0x01, 0x04};
    FEED(f, C2S, auth);
    FEED(f, C2S, disc);
    free(b);
    assert_int_equal(f->rec.ntxns, 5);
    JSON_HAS(f, 1, "\"filters\":[{\"topic\":\"crane/+/status\",\"qos\":1,\"options\":1},"
                   "{\"topic\":\"alarms/#\",\"qos\":2,\"options\":38}]");
    JSON_HAS(f, 1, "\"codes\":[{\"code\":1,\"name\":\"granted_qos_1\"},{\"code\":158,"
                   "\"name\":\"shared_subscriptions_not_supported\"}]");
    assert_true(txn_at(f, 1)->error);
    JSON_HAS(f, 2, "\"function_name\":\"unsubscribe\"");
    JSON_HAS(f, 2, "\"codes\":[{\"code\":17,\"name\":\"no_subscription_existed\"}]");
    assert_false(txn_at(f, 2)->error);
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_AUTH);
    JSON_HAS(f, 3, "\"function\":15,\"function_name\":\"auth\",\"flags\":0,"
                   "\"remaining_length\":1,\"reason_code\":25,\"reason_name\":\"re_authenticate\"}");
    JSON_HAS(f, 4, "\"reason_code\":4,\"reason_name\":\"disconnect_with_will_message\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_ping_pairs(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t ping[] = {0xC0, 0x00}, pong[] = {0xD0, 0x00};
    connect311(&c2s_out, "x", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    f->ctx.ts_ns = 100;
    FEED(f, C2S, ping);
    f->ctx.ts_ns = 350;
    FEED(f, S2C, pong);
    FEED(f, C2S, ping);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 1)->function, 12);
    assert_true(txn_at(f, 1)->has_response);
    assert_int_equal(txn_at(f, 1)->response_ns - txn_at(f, 1)->request_ns, 250);
    assert_false(txn_at(f, 2)->has_response);
}

static void conversation(struct buf *c2s, struct buf *s2c)
{
    connect311(c2s, "sts-crane-07", true);
    put(s2c, connack_ok, sizeof connack_ok);
    subscribe(c2s, 1, false);
    static const uint8_t suback[] = {0x90, 0x04, 0x00, 0x01, 0x01, 0x02};
    put(s2c, suback, sizeof suback);
    publish(c2s, 1, false, 2, "crane/7/setpoint", 300, false);
    ack(s2c, 0x40, 2);
    publish(s2c, 0, false, 0, "crane/7/status", 20, false);
    static const uint8_t disc[] = {0xE0, 0x00};
    put(c2s, disc, sizeof disc);
}

static void check_five_clean_records(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct buf *c2s = buf_new(), *s2c = buf_new();
    conversation(c2s, s2c);
    const struct msg conv[] = {{C2S, c2s->b, c2s->n}, {S2C, s2c->b, s2c->n}};
    check_every_split_with(f, conv, 2, check_five_clean_records);
    free(c2s);
    free(s2c);
}

static void test_malformed_and_truncated(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "x", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    /* Remaining length with a fifth byte: broken header, then a valid PINGREQ is found. */
    static const uint8_t five[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0xC0, 0x00};
    FEED(f, C2S, five);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mqtt.invalid_header"), 1);
    /* SUBSCRIBE whose remaining length ends inside the topic filter. */
    static const uint8_t cut[] = {0x82, 0x06, 0x00, 0x05, 0x00, 0x08, 'a', 'b'};
    FEED(f, C2S, cut);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mqtt.truncated_packet"), 1);
    /* PUBLISH with QoS 3 is a broken header. */
    static const uint8_t qos3[] = {0x36, 0x03, 0x00, 0x01, 'x'};
    FEED(f, C2S, qos3);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mqtt.invalid_header"), 2);
    /* CONNECT with the reserved flag set is malformed but decoded. */
    struct buf *b = buf_new();
    str(b, "MQTT");
    u8(b, 4);
    u8(b, 0x03);
    u16(b, 10);
    str(b, "y");
    pkt(&c2s_out, 0x10, b);
    free(b);
    feed_buf(f, C2S, &c2s_out);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mqtt.malformed_packet"), 1);
    bool connect_invalid = false;
    for (size_t i = 0; i < f->rec.ntxns; i++)
        if (strstr(f->rec.txns[i].json, "\"client_id\":\"y\"") &&
            strstr(f->rec.txns[i].json, "\"invalid\":true"))
            connect_invalid = true;
    assert_true(connect_invalid);
    bool subscribe_truncated = false;
    for (size_t i = 0; i < f->rec.ntxns; i++)
        if (strstr(f->rec.txns[i].json, "\"function_name\":\"subscribe\"") &&
            strstr(f->rec.txns[i].json, "\"truncated\":true"))
            subscribe_truncated = true;
    assert_true(subscribe_truncated);
}

static void test_large_publish_streams(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "cam-1", false);
    feed_buf(f, C2S, &c2s_out);
    FEED(f, S2C, connack_ok);
    publish(&c2s_out, 0, false, 0, "cctv/gate-4/jpeg", 50000, false);
    static const uint8_t disc[] = {0xE0, 0x00};
    put(&c2s_out, disc, sizeof disc);
    for (size_t off = 0; off < c2s_out.n; off += 1448) {
        size_t n = c2s_out.n - off < 1448 ? c2s_out.n - off : 1448;
        feed(f, C2S, c2s_out.b + off, n);
    }
    c2s_out.n = 0;
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 1, "\"remaining_length\":50018,\"topic\":\"cctv/gate-4/jpeg\",\"qos\":0,"
                   "\"retain\":false,\"dup\":false,\"payload_length\":50000}");
    JSON_HAS(f, 2, "\"function_name\":\"disconnect\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_midstream_v5_learnt_from_connack(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    u8(b, 0);
    u8(b, 0);
    u8(b, (1 + 2 + 9) + (1 + 2)); /* assigned client id, receive maximum */
    u8(b, 0x12);
    str(b, "auto-1234");
    u8(b, 0x21);
    u16(b, 10);
    pkt(&s2c_out, 0x20, b);
    free(b);
    feed_buf(f, S2C, &s2c_out);
    publish(&c2s_out, 0, false, 0, "t", 5, true);
    feed_buf(f, C2S, &c2s_out);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"assigned_client_id\":\"auto-1234\"");
    assert_string_equal(qw_record_identity(&f->rec, false, "mqtt_client_id"), "auto-1234");
    JSON_HAS(f, 1, "\"payload_length\":5,\"properties_count\":1,\"topic_alias\":4}");
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    connect311(&c2s_out, "x", false);
    for (uint16_t i = 1; i <= 40; i++) publish(&c2s_out, 1, false, i, "a/b", 1, false);
    feed_buf(f, C2S, &c2s_out);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mqtt.request_queue_full"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 41);
}

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_mqtt.probe;
    struct buf *b = buf_new();
    connect311(b, "c", true);
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b->b, 1, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(b->b, 5, C2S), QW_PROBE_NEED_MORE);
    b->n = 0;
    connect5(b);
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    static const uint8_t c31[] = {0x10, 0x0C, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03};
    assert_int_equal(probe(c31, sizeof c31, C2S), QW_PROBE_MATCH);
    /* mid-connection starts */
    b->n = 0;
    publish(b, 1, false, 3, "crane/7/setpoint", 10, false);
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b->b, 10, C2S), QW_PROBE_NEED_MORE);
    static const uint8_t connack5[] = {0x20, 0x05, 0x00, 0x00, 0x02, 0x21, 0x00};
    assert_int_equal(probe(connack5, 1, S2C), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(connack5, sizeof connack5 - 1, S2C), QW_PROBE_NEED_MORE);
    static const uint8_t connack5b[] = {0x20, 0x05, 0x00, 0x00, 0x02, 0x21, 0x0A, 0x00};
    assert_int_equal(probe(connack5b, sizeof connack5b - 1, S2C), QW_PROBE_MATCH);
    static const uint8_t pings[] = {0xC0, 0x00, 0xC0, 0x00};
    assert_int_equal(probe(pings, 2, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(pings, 4, C2S), QW_PROBE_MATCH);
    /* near misses and other protocols */
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03};
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B};
    static const uint8_t opcua[] = {'H', 'E', 'L', 'F', 32, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t wrong_name[] = {0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02};
    static const uint8_t wrong_level[] = {0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x07, 0x02};
    static const uint8_t bad_flags[] = {0x21, 0x02, 0x00, 0x00};
    static const uint8_t ctl_topic[] = {0x30, 0x06, 0x00, 0x02, 0x01, 0x02, 'h', 'i'};
    static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    assert_int_equal(probe(opcua, sizeof opcua, C2S), QW_PROBE_NO);
    assert_int_equal(probe(wrong_name, sizeof wrong_name, C2S), QW_PROBE_NO);
    assert_int_equal(probe(wrong_level, sizeof wrong_level, C2S), QW_PROBE_NO);
    assert_int_equal(probe(bad_flags, sizeof bad_flags, S2C), QW_PROBE_NO);
    assert_int_equal(probe(ctl_topic, sizeof ctl_topic, C2S), QW_PROBE_NO);
    assert_int_equal(probe(ssh, sizeof ssh - 1, S2C), QW_PROBE_NO);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_connect_connack_311),
        T(test_connect_31_refused),
        T(test_v5_connect_and_refusal),
        T(test_publish_qos0_1_2),
        T(test_broker_publish_is_not_a_write),
        T(test_subscribe_suback),
        cmocka_unit_test_setup_teardown(test_v5_subscribe_unsubscribe_disconnect_auth, fx_setup,
                                        fx_teardown),
        T(test_ping_pairs),
        T(test_split_at_every_offset),
        T(test_malformed_and_truncated),
        T(test_large_publish_streams),
        cmocka_unit_test_setup_teardown(test_midstream_v5_learnt_from_connack, fx_setup,
                                        fx_teardown),
        T(test_queue_full),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
