/* Unit tests for the Beckhoff ADS/AMS parser (src/proto/ads.c): decoded values of every
 * command, pairing by invoke id in either direction, the operation classes of index groups and
 * WriteControl states per AMS port, identity (vendor, model, firmware, AMS NetIds), device
 * notifications, framing (several packets per segment, every split offset, oversized packets,
 * gaps, bad headers and lengths), the bounded queue, and the probe. */
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

extern const struct qw_proto qw_proto_ads;

#define PROTO qw_proto_ads
#define FX_BUF_MAX 8192

#include "parser_fixture.h"

/* The engineering host (NetId 10.0.0.5.1.1) and the controller (5.13.117.96.1.1). */
static const uint8_t CLI_ID[6] = {10, 0, 0, 5, 1, 1};
static const uint8_t PLC_ID[6] = {5, 13, 117, 96, 1, 1};
#define CLI_PORT 32905

enum { F_RSP = 0x0001, F_ADS = 0x0004, F_UDP = 0x0040 };

/* One AMS/TCP packet: the 6-byte AMS/TCP header, the 32-byte AMS header, the data. */
static void ams(struct buf *b, bool response, uint16_t plc_port, uint16_t cmd, uint16_t flags,
                uint32_t err, uint32_t invoke, const struct buf *data)
{
    size_t n = data ? data->n : 0;
    le16(b, 0);
    le32(b, (uint32_t)(32 + n));
    put(b, response ? CLI_ID : PLC_ID, 6);
    le16(b, response ? CLI_PORT : plc_port);
    put(b, response ? PLC_ID : CLI_ID, 6);
    le16(b, response ? plc_port : CLI_PORT);
    le16(b, cmd);
    le16(b, flags);
    le32(b, (uint32_t)n);
    le32(b, err);
    le32(b, invoke);
    if (n) put(b, data->b, n);
}

static void req(struct buf *b, uint16_t port, uint16_t cmd, uint32_t invoke, const struct buf *d)
{
    ams(b, false, port, cmd, F_ADS, 0, invoke, d);
}

static void rsp(struct buf *b, uint16_t port, uint16_t cmd, uint32_t invoke, const struct buf *d)
{
    ams(b, true, port, cmd, F_ADS | F_RSP, 0, invoke, d);
}

/* Command data. */
static struct buf d_igrp(uint32_t group, uint32_t offset, uint32_t length)
{
    struct buf d = {.n = 0};
    le32(&d, group);
    le32(&d, offset);
    le32(&d, length);
    return d;
}

static struct buf d_rw(uint32_t group, uint32_t offset, uint32_t rlen, const char *wdata,
                       size_t wlen)
{
    struct buf d = {.n = 0};
    le32(&d, group);
    le32(&d, offset);
    le32(&d, rlen);
    le32(&d, (uint32_t)wlen);
    put(&d, wdata, wlen);
    return d;
}

static struct buf d_u32s(int n, ...)
{
    struct buf d = {.n = 0};
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) le32(&d, va_arg(ap, uint32_t));
    va_end(ap);
    return d;
}

static struct buf d_control(uint16_t ads_state, uint16_t dev_state)
{
    struct buf d = {.n = 0};
    le16(&d, ads_state);
    le16(&d, dev_state);
    le32(&d, 0);
    return d;
}

static struct buf d_devinfo(uint8_t major, uint8_t minor, uint16_t build, const char *name)
{
    struct buf d = {.n = 0};
    le32(&d, 0);
    u8(&d, major);
    u8(&d, minor);
    le16(&d, build);
    char n16[16] = {0};
    memcpy(n16, name, strlen(name) < 16 ? strlen(name) : 16);
    put(&d, n16, 16);
    return d;
}

static struct buf d_state(uint32_t result, uint16_t ads_state, uint16_t dev_state)
{
    struct buf d = {.n = 0};
    le32(&d, result);
    le16(&d, ads_state);
    le16(&d, dev_state);
    return d;
}

/* A request and its answer (result 0), fed, then the transaction's record. */
static void exchange(struct fx *f, uint16_t port, uint16_t cmd, uint32_t invoke,
                     const struct buf *q, const struct buf *a)
{
    struct buf *b = buf_new();
    req(b, port, cmd, invoke, q);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    rsp(b, port, cmd, invoke, a);
    FEED_BUF(f, S2C, b);
    free(b);
}

static const struct buf RESULT0 = {.b = {0, 0, 0, 0}, .n = 4};

static void test_read_state_pair(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    req(b, 10000, 4, 5, NULL);
    assert_int_equal(b->n, 38);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    FEED_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 0);
    b->n = 0;
    struct buf d = d_state(0, 5, 2);
    rsp(b, 10000, 4, 5, &d);
    assert_int_equal(PROTO.probe(b->b, b->n, S2C), QW_PROBE_MATCH);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 4);
    assert_string_equal(t->function_name, "read_state");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_false(t->error);
    assert_int_equal(t->response_ns - t->request_ns, 1000);
    JSON_HAS(f, 0, "\"request\":{\"target_net_id\":\"5.13.117.96.1.1\",\"target_port\":10000,"
                   "\"source_net_id\":\"10.0.0.5.1.1\",\"source_port\":32905,\"function\":4,"
                   "\"function_name\":\"read_state\",\"state_flags\":4,\"response\":false,"
                   "\"data_length\":0,\"invoke_id\":5}");
    JSON_HAS(f, 0, "\"response\":{\"target_net_id\":\"10.0.0.5.1.1\",\"target_port\":32905,"
                   "\"source_net_id\":\"5.13.117.96.1.1\",\"source_port\":10000,\"function\":4,"
                   "\"function_name\":\"read_state\",\"state_flags\":5,\"response\":true,"
                   "\"data_length\":8,\"invoke_id\":5,\"result\":0,\"result_name\":\"no_error\","
                   "\"ads_state\":5,\"ads_state_name\":\"run\",\"device_state\":2}");
    assert_int_equal(f->rec.nanomalies, 0);
    identity_is(f, false, "ams_netid", "10.0.0.5.1.1");
    identity_is(f, true, "ams_netid", "5.13.117.96.1.1");
    /* The NetIds are facts once per end. */
    exchange(f, 10000, 4, 6, NULL, &d);
    assert_int_equal(count_identity(f, "ams_netid"), 2);
    free(b);
}

static void test_device_info_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf d = d_devinfo(3, 1, 4024, "Plc30 App");
    exchange(f, 851, 1, 77, NULL, &d);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"result\":0,\"result_name\":\"no_error\",\"major_version\":3,"
                   "\"minor_version\":1,\"version_build\":4024,\"device_name\":\"Plc30 App\"}");
    identity_is(f, true, "vendor", "Beckhoff");
    identity_is(f, true, "model", "Plc30 App");
    identity_is(f, true, "firmware", "3.1.4024");
    /* The I/O server of the same controller names itself: only the vendor, once. */
    d = d_devinfo(3, 1, 4022, "I/O Server");
    exchange(f, 300, 1, 78, NULL, &d);
    assert_int_equal(count_identity(f, "vendor"), 1);
    assert_int_equal(count_identity(f, "model"), 1);
    assert_int_equal(count_identity(f, "firmware"), 1);
    /* A name that says TwinCAT gives TwinCAT's version. */
    d = d_devinfo(3, 1, 4026, "TwinCAT PLC");
    exchange(f, 852, 1, 79, NULL, &d);
    assert_true(has_fact(f, true, "firmware", "TwinCAT 3.1.4026"));
    /* A router's error (AMS error code 6, no data): an error, no facts. */
    fx_clear_records(f);
    struct buf *b = buf_new();
    req(b, 900, 1, 80, NULL);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    ams(b, true, 900, 1, F_ADS | F_RSP, 6, 80, NULL);
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"data_length\":0,\"invoke_id\":80,\"error_code\":6,"
                   "\"error_name\":\"target_port_not_found\"}");
    assert_int_equal(count_identity(f, "model"), 0);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

struct control_case {
    uint16_t port, state, dev_state;
    uint32_t ops;
    const char *name;
};

static void test_write_control_ops(void **ts)
{
    struct fx *f = *ts;
    static const struct control_case cases[] = {
        {851, 6, 0, QW_OP_STOP, "stop"},
        {851, 5, 0, QW_OP_START, "run"},
        {801, 2, 0, QW_OP_RESTART, "reset"},
        {851, 15, 0, QW_OP_CONFIG, "config"},
        {10000, 16, 0, QW_OP_STOP | QW_OP_CONFIG, "reconfig"},
        {10000, 2, 0, QW_OP_RESTART, "reset"},
        {10000, 12, 1, QW_OP_RESTART, "shutdown"},
        {10000, 12, 0, QW_OP_STOP, "shutdown"},
        {500, 7, 0, QW_OP_CONFIG, "savecfg"},
        {851, 3, 0, QW_OP_CONTROL, "init"},
        {851, 99, 0, QW_OP_CONTROL, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_reset(f);
        struct buf d = d_control(cases[i].state, cases[i].dev_state);
        exchange(f, cases[i].port, 5, (uint32_t)i, &d, &RESULT0);
        const struct qw_txn *t = txn_at(f, 0);
        assert_string_equal(t->function_name, "write_control");
        if (t->ops != cases[i].ops) {
            print_error("case %zu: ops %#x, want %#x\n", i, t->ops, cases[i].ops);
            fail();
        }
        char want[96];
        snprintf(want, sizeof want, "\"ads_state_name\":\"%s\",\"device_state\":%u",
                 cases[i].name, cases[i].dev_state);
        JSON_HAS(f, 0, want);
        JSON_HAS(f, 0, "\"length\":0");
    }
}

struct igrp_case {
    uint16_t port, cmd;
    uint32_t group, offset;
    const char *text;
    uint32_t ops;
    const char *json;
};

static void test_index_group_ops(void **ts)
{
    struct fx *f = *ts;
    static const char boot[] = "C:\\TwinCAT\\3.1\\Boot\\Plc\\Port_851.app";
    static const struct igrp_case cases[] = {
        {851, 2, 0x4020, 0, "\x01\x02", QW_OP_READ, "\"index_group_name\":\"plc_memory\""},
        {851, 3, 0x4020, 4, "\x01\x02", QW_OP_WRITE, "\"index_offset\":4,\"length\":2"},
        {851, 3, 0xF005, 0x1234, "\x01", QW_OP_WRITE,
         "\"index_group\":61445,\"index_group_name\":\"symbol_value_by_handle\""},
        {851, 3, 0xF006, 0, "\x05\0\0\0", QW_OP_SESSION, "symbol_release_handle"},
        {851, 3, 0xF030, 0, "\x01", QW_OP_WRITE, "io_output_bytes"},
        {851, 3, 0x12345, 0, "\x01", QW_OP_WRITE, "\"index_group\":74565,\"index_offset\":0"},
        {851, 9, 0xF003, 0, "MAIN.bStart", QW_OP_READ,
         "\"read_length\":4,\"write_length\":11,\"symbol\":\"MAIN.bStart\""},
        {851, 9, 0xF081, 2, "\0\0\0\0", QW_OP_WRITE, "\"index_group_name\":\"sum_write\","
                                                    "\"index_offset\":2,\"sum_count\":2"},
        {851, 9, 0xF080, 3, "\0\0\0\0", QW_OP_READ, "\"sum_count\":3"},
        {851, 9, 0xF082, 3, "\0\0\0\0", QW_OP_READ, "sum_read_write"},
        /* The system service: fopen for reading, for writing, for writing the boot project
         * (by the path selector in the offset's high word, or by the path). */
        {10000, 9, 120, 0x00000011, "C:\\temp\\a.txt", QW_OP_FILE, "\"path\":\"C:\\\\temp"},
        {10000, 9, 120, 0x00010012, "C:\\temp\\a.txt", QW_OP_FILE, "file_fopen"},
        {10000, 9, 120, 0x00020012, "Port_851.app", QW_OP_FILE | QW_OP_PROGRAM, "Port_851"},
        {10000, 9, 120, 0x00010012, boot, QW_OP_FILE | QW_OP_PROGRAM, "Boot"},
        {10000, 9, 120, 0x00010011, boot, QW_OP_FILE, "Boot"},
        {10000, 3, 123, 1, "data", QW_OP_FILE, "file_fwrite"},
        {10000, 2, 122, 1, NULL, QW_OP_FILE | QW_OP_READ, "file_fread"},
        {10000, 9, 131, 0x10000, boot, QW_OP_FILE | QW_OP_PROGRAM, "file_delete"},
        {10000, 9, 200, 0, "Software\\Beckhoff", QW_OP_READ, "\"registry_key\":\"Software"},
        {10000, 3, 200, 0, "Software\\Beckhoff", QW_OP_CONFIG, "registry_hklm"},
        {10000, 9, 801, 0, "\0\0\0\0", QW_OP_CONFIG, "add_route"},
        {10000, 9, 500, 0, "cmd.exe", QW_OP_CONTROL, "\"path\":\"cmd.exe\""},
        {10000, 2, 700, 1, NULL, QW_OP_IDENTIFY, "system_info"},
        /* Port 10000's groups below 0x1000 mean nothing on a PLC port. */
        {851, 3, 123, 0, "\x01", QW_OP_WRITE, "\"index_group\":123,\"index_offset\":0"},
        {851, 6, 0xF100, 0, NULL, QW_OP_READ, "device_data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_reset(f);
        const struct igrp_case *c = &cases[i];
        /* a text starting with NUL stands for four zero bytes */
        size_t tl = !c->text ? 0 : c->text[0] ? strlen(c->text) : 4;
        struct buf d;
        if (c->cmd == 9) {
            d = d_rw(c->group, c->offset, 4, c->text, tl);
        } else if (c->cmd == 6) {
            d = d_igrp(c->group, c->offset, 4);
            for (int k = 0; k < 7; k++) le32(&d, k == 0 ? 4 : 0);
        } else {
            d = d_igrp(c->group, c->offset, c->cmd == 3 ? (uint32_t)tl : 8);
            if (c->cmd == 3) put(&d, c->text, tl);
        }
        struct buf a = d_u32s(2, 0u, 0u);
        exchange(f, c->port, c->cmd, 100 + (uint32_t)i, &d, c->cmd == 3 ? &RESULT0 : &a);
        const struct qw_txn *t = txn_at(f, 0);
        if (t->ops != c->ops) {
            print_error("case %zu: ops %#x, want %#x\n%s\n", i, t->ops, c->ops, json_of(f, 0));
            fail();
        }
        JSON_HAS(f, 0, c->json);
        if (f->rec.nanomalies) {
            print_error("case %zu: anomaly %s\n", i, f->rec.anomalies[0].name);
            fail();
        }
    }
}

static void test_error_result(void **ts)
{
    struct fx *f = *ts;
    struct buf d = d_rw(0xF003, 0, 4, "MAIN.nope", 9);
    struct buf a = d_u32s(2, 0x710u, 0u);
    exchange(f, 851, 9, 9, &d, &a);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"result\":1808,\"result_name\":\"symbol_not_found\",\"length\":0}");
    /* A result alone (4 bytes) is an answer too. */
    fx_clear_records(f);
    struct buf q = d_igrp(0x4020, 0, 2);
    struct buf r = d_u32s(1, 0x705u);
    exchange(f, 851, 2, 10, &q, &r);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"result\":1797,\"result_name\":\"invalid_size\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_notification_and_add(void **ts)
{
    struct fx *f = *ts;
    struct buf d = d_igrp(0x4020, 8, 2);
    le32(&d, 4); /* server on change */
    le32(&d, 100000);
    le32(&d, 50000);
    for (int k = 0; k < 4; k++) le32(&d, 0);
    struct buf a = d_u32s(2, 0u, 7u);
    exchange(f, 851, 6, 11, &d, &a);
    JSON_HAS(f, 0, "\"index_group\":16416,\"index_group_name\":\"plc_memory\",\"index_offset\":8,"
                   "\"length\":2,\"transmission_mode\":4,\"transmission_mode_name\":"
                   "\"server_on_change\",\"max_delay\":100000,\"cycle_time\":50000}");
    JSON_HAS(f, 0, "\"result\":0,\"result_name\":\"no_error\",\"handle\":7}");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    /* Two stamps: one sample, then two. The controller sends it as a request, unanswered. */
    struct buf n = {.n = 0};
    le32(&n, 0);
    le32(&n, 2);
    le64(&n, 0x01D2000000000000ull);
    le32(&n, 1);
    le32(&n, 7);
    le32(&n, 2);
    le16(&n, 0x1234);
    le64(&n, 0x01D2000000000001ull);
    le32(&n, 2);
    for (int s = 0; s < 2; s++) {
        le32(&n, 7);
        le32(&n, 1);
        u8(&n, (uint8_t)s);
    }
    struct buf *b = buf_new();
    ams(b, true, 851, 8, F_ADS, 0, 0, &n); /* from the controller, no response flag */
    FEED_BUF(f, S2C, b);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 1);
    assert_false(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->ops, 0);
    assert_string_equal(t->function_name, "device_notification");
    JSON_HAS(f, 1, "\"response\":{\"target_net_id\":\"10.0.0.5.1.1\"");
    JSON_HAS(f, 1, "\"stamps\":2,\"samples\":3}");
    /* Deleting the notification. */
    struct buf h = d_u32s(1, 7u);
    exchange(f, 851, 7, 12, &h, &RESULT0);
    JSON_HAS(f, 2, "\"handle\":7}");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_SESSION);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

/* A conversation of several packets, some in one segment, one larger than ADS_KEEP. */
static struct buf *conv_c2s, *conv_s2c;

static void build_conversation(void)
{
    conv_c2s = buf_new();
    conv_s2c = buf_new();
    struct buf q = d_igrp(0x4020, 0, 5000);
    req(conv_c2s, 851, 2, 1, &q);
    req(conv_c2s, 851, 1, 2, NULL);
    struct buf w = d_igrp(0xF005, 0x99, 2);
    put(&w, "\x01\x00", 2);
    req(conv_c2s, 851, 3, 3, &w);
    struct buf c = d_control(6, 0);
    req(conv_c2s, 851, 5, 4, &c);
    /* Answers: the big read (5000 bytes of data, beyond what is kept), then the rest. */
    struct buf *big = buf_new();
    le32(big, 0);
    le32(big, 5000);
    for (int i = 0; i < 5000; i++) u8(big, (uint8_t)i);
    rsp(conv_s2c, 851, 2, 1, big);
    free(big);
    struct buf di = d_devinfo(3, 1, 4024, "Plc30 App");
    rsp(conv_s2c, 851, 1, 2, &di);
    rsp(conv_s2c, 851, 3, 3, &RESULT0);
    rsp(conv_s2c, 851, 5, 4, &RESULT0);
}

static void check_conversation(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 4);
    assert_int_equal(f->rec.nanomalies, 0);
    const uint32_t want[4] = {QW_OP_READ, QW_OP_IDENTIFY, QW_OP_WRITE, QW_OP_STOP};
    for (size_t i = 0; i < 4; i++) {
        assert_true(txn_at(f, i)->has_request && txn_at(f, i)->has_response);
        assert_int_equal(txn_at(f, i)->ops, want[i]);
    }
    JSON_HAS(f, 0, "\"data_length\":5008,\"invoke_id\":1,\"result\":0,\"result_name\":"
                   "\"no_error\",\"length\":5000,\"data_cut\":true}");
    identity_is(f, true, "model", "Plc30 App");
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    build_conversation();
    struct msg m[] = {{C2S, conv_c2s->b, conv_c2s->n}, {S2C, conv_s2c->b, conv_s2c->n}};
    check_every_split_with(f, m, 2, check_conversation);
    free(conv_c2s);
    free(conv_s2c);
}

static void test_requests_both_ways(void **ts)
{
    struct fx *f = *ts;
    /* The controller asks the client's router (a request S2C), answered C2S; an answer from
     * the same side as a request does not pair with it. */
    struct buf *b = buf_new();
    ams(b, true, 851, 4, F_ADS, 0, 42, NULL); /* a request from the controller's side */
    FEED_BUF(f, S2C, b);
    b->n = 0;
    struct buf st = d_state(0, 5, 0);
    ams(b, false, 851, 4, F_ADS | F_RSP, 0, 42, &st);
    FEED_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request && txn_at(f, 0)->has_response);
    b->n = 0;
    req(b, 851, 4, 43, NULL);
    FEED_BUF(f, C2S, b);
    b->n = 0;
    ams(b, false, 851, 4, F_ADS | F_RSP, 0, 43, &st);
    FEED_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 1)->has_request);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(txn_at(f, 2)->has_response);
    free(b);
}

static void test_queue_bound(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    for (uint32_t i = 0; i < 17; i++) {
        b->n = 0;
        req(b, 851, 4, i, NULL);
        FEED_BUF(f, C2S, b);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"invoke_id\":0}");
    /* The same invoke id again: the earlier request went unanswered. */
    b->n = 0;
    req(b, 851, 4, 16, NULL);
    FEED_BUF(f, C2S, b);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"invoke_id\":16}");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 18); /* 0, the first 16, then 1-15 and the second 16 */
    for (size_t i = 0; i < 18; i++) assert_false(txn_at(f, i)->has_response);
    free(b);
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    /* Reserved bytes not zero: bad header, then the next packet is found again. */
    put(b, "\x01\x00\x20\x00\x00\x00", 6);
    put(b, "garbage-garbage-garbage-garbage-", 32);
    req(b, 851, 4, 1, NULL);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.bad_header"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"invoke_id\":1}");

    /* An AMS/TCP length below the AMS header. */
    fx_reset(f);
    b->n = 0;
    put(b, "\x00\x00\x10\x00\x00\x00", 6);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.invalid_length"), 1);

    /* A data length that is not the AMS/TCP length less 32; a Read request of 4 bytes. */
    fx_reset(f);
    b->n = 0;
    req(b, 851, 4, 2, NULL);
    b->b[26] = 9; /* data length 9, nothing follows */
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.invalid_length"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "data length");
    b->n = 0;
    struct buf four = d_u32s(1, 0x4020u);
    req(b, 851, 2, 3, &four);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.invalid_length"), 2);
    assert_string_equal(f->rec.anomalies[1].detail, "read");
    flow_end(f);
    JSON_LACKS(f, 1, "index_group"); /* fields cut off are left out, not shown as 0 */
    JSON_HAS(f, 1, "\"truncated\":true");

    /* An unknown command id, and state flags without the ADS command bit. */
    fx_reset(f);
    b->n = 0;
    req(b, 851, 12, 4, NULL);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.unknown_command"), 1);
    b->n = 0;
    ams(b, false, 851, 4, 0, 0, 5, NULL);
    FEED_BUF(f, C2S, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ads.bad_header"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->function, 12);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    free(b);
}

static void test_gap_resync(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = buf_new();
    struct buf q = d_igrp(0x4020, 0, 2);
    req(b, 851, 2, 1, &q);
    feed(f, C2S, b->b, 20); /* the rest of this packet is lost */
    f->proto->gap(&f->ctx, f->state, C2S);
    qw_pending_reset(&f->pend[C2S]);
    struct buf *c = buf_new();
    put(c, b->b + 30, b->n - 30); /* the segment after the gap starts inside the packet */
    req(c, 851, 2, 2, &q);
    FEED_BUF(f, C2S, c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"invoke_id\":2,");
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
    free(c);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct buf *b = buf_new();
    struct buf q = d_igrp(0x4020, 0, 2);
    req(b, 851, 2, 1, &q);
    for (size_t n = 0; n < 38; n++)
        assert_int_equal(PROTO.probe(b->b, n, C2S), QW_PROBE_NEED_MORE);
    /* Each field is judged as soon as it is here. */
    uint8_t bad_cmd[30];
    memcpy(bad_cmd, b->b, sizeof bad_cmd);
    bad_cmd[22] = 11;
    assert_int_equal(PROTO.probe(bad_cmd, 24, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe(bad_cmd, 23, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    /* Two packets: the second must be plausible too. */
    size_t one = b->n;
    req(b, 851, 4, 2, NULL);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    b->b[one] = 1;
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    b->n = one;
    struct { size_t at; uint8_t v; } bad[] = {
        {0, 1},    /* reserved */
        {2, 0x31}, /* AMS/TCP length no longer the data length + 32 */
        {22, 0},   /* command 0 (invalid) */
        {22, 10},  /* command 10 */
        {24, 0x00}, /* no ADS command flag */
        {24, 0x44}, /* the UDP flag on TCP */
        {25, 0x01}, /* an undefined flag */
        {26, 13},  /* data length */
        {30, 1},   /* an error code in a request */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t save = b->b[bad[i].at];
        b->b[bad[i].at] = bad[i].v;
        if (PROTO.probe(b->b, b->n, C2S) != QW_PROBE_NO) {
            print_error("case %zu claimed\n", i);
            fail();
        }
        b->b[bad[i].at] = save;
    }
    /* A Read request of the wrong size for its command. */
    b->n = 0;
    struct buf w = d_igrp(0x4020, 0, 2);
    le32(&w, 0);
    req(b, 851, 2, 1, &w);
    assert_int_equal(PROTO.probe(b->b, b->n, C2S), QW_PROBE_NO);
    /* Other protocols' first bytes. */
    static const char http[] = "GET / HTTP/1.1\r\nHost: plc\r\nAccept: */*\r\nUser: x\r\n\r\n";
    assert_int_equal(PROTO.probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const uint8_t modbus[] = {0, 0, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
    assert_int_equal(PROTO.probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03};
    assert_int_equal(PROTO.probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    uint8_t zeros[64] = {0};
    assert_int_equal(PROTO.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    free(b);
}

/* Every prefix of the client's stream, fed alone and ended: exactly the requests it holds
 * whole are reported (unanswered), with no anomaly. */
static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    build_conversation();
    size_t ends[8], nends = 0;
    for (size_t at = 0; at < conv_c2s->n; nends++) {
        const uint8_t *p = conv_c2s->b + at + 2;
        at += 6 + (size_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
        ends[nends] = at;
    }
    assert_int_equal(nends, 4);
    for (size_t n = 0; n <= conv_c2s->n; n++) {
        fx_reset(f);
        feed(f, C2S, conv_c2s->b, n);
        flow_end(f);
        size_t want = 0;
        while (want < nends && ends[want] <= n) want++;
        assert_int_equal(f->rec.ntxns, want);
        assert_int_equal(f->rec.nanomalies, 0);
    }
    free(conv_c2s);
    free(conv_s2c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_read_state_pair),    FX_TEST(test_device_info_identity),
        FX_TEST(test_write_control_ops),  FX_TEST(test_index_group_ops),
        FX_TEST(test_error_result),       FX_TEST(test_notification_and_add),
        FX_TEST(test_every_split),        FX_TEST(test_requests_both_ways),
        FX_TEST(test_queue_bound),        FX_TEST(test_malformed),
        FX_TEST(test_gap_resync),         FX_TEST(test_probe),
        FX_TEST(test_truncated_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
