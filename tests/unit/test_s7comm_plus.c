/* Unit tests for the S7comm-plus parser (src/proto/s7comm_plus.c).
 *
 * Streams go through qw_stream_deliver as in the engine, into a recording sink. Frames are built
 * here from the layouts in the banner of s7comm_plus.c (header, request/response data, the VLQ,
 * value and object encodings), with the values of the corpus session setups (S7-1200
 * 6ES7 214-1HE30-0XB0 firmware V2.2, TIA Portal on "VORTEX_21032491"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

extern const struct qw_proto qw_proto_s7comm_plus;

#define PROTO qw_proto_s7comm_plus
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

/* ---- Builders ------------------------------------------------------------------------------ */

struct wire {
    uint8_t b[8192];
    size_t n;
};

static void put(struct wire *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof m->b);
    if (n) memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put8(struct wire *m, uint8_t v)
{
    put(m, &v, 1);
}

static void put16(struct wire *m, uint16_t v)
{
    put8(m, (uint8_t)(v >> 8));
    put8(m, (uint8_t)v);
}

static void put32(struct wire *m, uint32_t v)
{
    put16(m, (uint16_t)(v >> 16));
    put16(m, (uint16_t)v);
}

/* Unsigned VLQ as S7comm-plus writes it: 7 bits per byte, most significant first. */
static void vlq(struct wire *m, uint32_t v)
{
    uint8_t tmp[5];
    int n = 0;
    do {
        tmp[n++] = (uint8_t)(v & 0x7f);
        v >>= 7;
    } while (v && n < 4);
    for (int i = n - 1; i >= 0; i--) put8(m, (uint8_t)(tmp[i] | (i ? 0x80 : 0)));
}

/* WString value (flags 0, datatype 0x15, VLQ length, bytes) */
static void wstring(struct wire *m, const char *s)
{
    put8(m, 0x00);
    put8(m, 0x15);
    vlq(m, (uint32_t)strlen(s));
    put(m, s, strlen(s));
}

static void attr_wstring(struct wire *m, uint32_t id, const char *s)
{
    put8(m, 0xa3);
    vlq(m, id);
    wstring(m, s);
}

static void obj_start(struct wire *m, uint32_t rid, uint32_t cls)
{
    put8(m, 0xa1);
    put32(m, rid);
    vlq(m, cls);
    vlq(m, 0);
    vlq(m, 0);
}

static const uint8_t cotp_cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00,
                                  0xc1, 0x02, 0x06, 0x00, 0xc2, 0x02, 0x06, 0x00, 0xc0, 0x01, 0x0a};
static const uint8_t cotp_cc[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x02, 0x00,
                                  0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x06, 0x00, 0xc2, 0x02, 0x06, 0x00};

/* Wrap one S7comm-plus frame (header, data, optional trailer) in a DT TPDU. */
static void frame(struct wire *out, uint8_t version, const struct wire *data, bool trailer)
{
    size_t n = 4 + data->n + (trailer ? 4 : 0);
    size_t tl = n + 7;
    const uint8_t h[] = {3, 0, (uint8_t)(tl >> 8), (uint8_t)tl, 2, 0xf0, 0x80,
                         0x72, version, (uint8_t)(data->n >> 8), (uint8_t)data->n};
    put(out, h, sizeof h);
    put(out, data->b, data->n);
    if (trailer) {
        const uint8_t t[] = {0x72, version, 0, 0};
        put(out, t, sizeof t);
    }
}

static void req_head(struct wire *d, uint16_t fn, uint16_t seq, uint32_t session, uint8_t flags)
{
    put8(d, 0x31);
    put16(d, 0);
    put16(d, fn);
    put16(d, 0);
    put16(d, seq);
    put32(d, session);
    put8(d, flags);
}

static void rsp_head(struct wire *d, uint8_t opcode, uint16_t fn, uint16_t seq, uint32_t ret)
{
    put8(d, opcode);
    put16(d, 0);
    put16(d, fn);
    put16(d, 0);
    put16(d, seq);
    put8(d, 0x34);
    vlq(d, ret);
}

/* A request or response whose body is `body_n` bytes of `body`. */
static void simple_req(struct wire *out, uint8_t ver, uint16_t fn, uint16_t seq,
                       const uint8_t *body, size_t body_n)
{
    struct wire d = {0};
    req_head(&d, fn, seq, 0x3c0, 0x34);
    put(&d, body, body_n);
    put32(&d, 0);
    frame(out, ver, &d, true);
}

static void simple_rsp(struct wire *out, uint8_t ver, uint16_t fn, uint16_t seq, uint32_t ret)
{
    struct wire d = {0};
    rsp_head(&d, 0x32, fn, seq, ret);
    put32(&d, 0);
    frame(out, ver, &d, true);
}

/* The session setup of the corpus (S7-1200-Uploading-OB1-TIAV12.pcap), rebuilt. */
static void session_setup(struct wire *c, struct wire *s)
{
    put(c, cotp_cr, sizeof cotp_cr);
    struct wire d = {0};
    req_head(&d, 0x04ca, 1, 288, 0x36);
    put32(&d, 285);       /* ObjectServerSessionContainer */
    put8(&d, 0x00);       /* UDInt 0 */
    put8(&d, 0x04);
    vlq(&d, 0);
    put32(&d, 0);
    obj_start(&d, 211, 287); /* GetNewRIDOnServer, ClassServerSession */
    attr_wstring(&d, 233, "ServerSession_2DC6D2");
    attr_wstring(&d, 289, "1:::6.0::TCP/IP -> Atheros AR8121/AR8113/...");
    attr_wstring(&d, 296, "");
    attr_wstring(&d, 297, "TIA Portal");
    attr_wstring(&d, 298, "VORTEX_21032491");
    put8(&d, 0xa3); /* 299: UDInt 1 */
    vlq(&d, 299);
    put8(&d, 0x00);
    put8(&d, 0x04);
    vlq(&d, 1);
    obj_start(&d, 211, 255); /* a nested subscription container: its name is not ours */
    attr_wstring(&d, 233, "SubscriptionContainer");
    put8(&d, 0xa2);
    put8(&d, 0xa2);
    put32(&d, 0);
    frame(c, 0x01, &d, true);

    put(s, cotp_cc, sizeof cotp_cc);
    struct wire r = {0};
    rsp_head(&r, 0x32, 0x04ca, 1, 17);
    put8(&r, 2);
    vlq(&r, 960);
    vlq(&r, 903);
    obj_start(&r, 288, 287);
    attr_wstring(&r, 233, "");
    put8(&r, 0xa3); /* ServerSessionVersion: struct 314 { 315: UDInt, 319: WString, 320 } */
    vlq(&r, 306);
    put8(&r, 0x00);
    put8(&r, 0x17);
    put32(&r, 314);
    vlq(&r, 315);
    put8(&r, 0x00);
    put8(&r, 0x04);
    vlq(&r, 256);
    vlq(&r, 319);
    wstring(&r, "1;6ES7 214-1HE30-0XB0 ;V2.2");
    vlq(&r, 320);
    wstring(&r, "2;793");
    vlq(&r, 321);
    put8(&r, 0x00);
    put8(&r, 0x03);
    put16(&r, 3);
    put8(&r, 0x00); /* end of struct */
    put8(&r, 0xa2);
    put32(&r, 0);
    frame(s, 0x01, &r, true);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_session_setup(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    session_setup(&c, &s);
    f->ctx.ts_ns = 2000000;
    feed(f, C2S, c.b, c.n);
    f->ctx.ts_ns = 2050000;
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0x04ca);
    assert_string_equal(t->function_name, "create_object");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_false(t->error);
    assert_int_equal(t->response_ns - t->request_ns, 50000);
    JSON_HAS(f, 0, "\"request\":{\"version\":1,\"version_name\":\"v1\",\"data_length\":");
    JSON_HAS(f, 0, "\"opcode\":49,\"opcode_name\":\"request\",\"function\":1226,"
                   "\"function_name\":\"create_object\",\"sequence_number\":1,"
                   "\"transport_flags\":54,\"session_id\":288,\"class_id\":287,"
                   "\"object_name\":\"ServerSession_2DC6D2\","
                   "\"client_version\":\"1:::6.0::TCP/IP -> Atheros AR8121/AR8113/...\","
                   "\"client_application\":\"TIA Portal\","
                   "\"client_station\":\"VORTEX_21032491\"}");
    JSON_HAS(f, 0, "\"opcode\":50,\"opcode_name\":\"response\",\"function\":1226,"
                   "\"function_name\":\"create_object\",\"sequence_number\":1,"
                   "\"transport_flags\":52,\"return_value\":\"0x0000000000000011\","
                   "\"return_code\":17,\"return_name\":\"session_pre_legitimated\","
                   "\"object_ids\":[960,903],\"class_id\":287,"
                   "\"server_session_version\":\"1;6ES7 214-1HE30-0XB0 ;V2.2\"}");
    identity_is(f, true, "model", "6ES7 214-1HE30-0XB0");
    identity_is(f, true, "firmware", "V2.2");
    identity_is(f, false, "product_name", "TIA Portal");
    identity_is(f, false, "hostname", "VORTEX_21032491");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_session_objects_and_variables(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    session_setup(&c, &s);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    struct wire c2 = {0}, s2 = {0};
    /* SetMultiVariables on the session object (the version echo): session management */
    static const uint8_t smv_session[] = {0x00, 0x00, 0x03, 0xc0, 0x01, 0x01, 0x82, 0x32};
    simple_req(&c2, 2, 0x0542, 2, smv_session, sizeof smv_session);
    simple_rsp(&s2, 2, 0x0542, 2, 0);
    /* SetMultiVariables on a data block: a write */
    static const uint8_t smv_db[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x8a, 0x0e};
    simple_req(&c2, 2, 0x0542, 3, smv_db, sizeof smv_db);
    simple_rsp(&s2, 2, 0x0542, 3, 0);
    /* GetMultiVariables: a read of 3 items */
    static const uint8_t gmv[] = {0x00, 0x00, 0x00, 0x20, 0x03, 0x03, 0x91, 0x3d};
    simple_req(&c2, 2, 0x054c, 4, gmv, sizeof gmv);
    simple_rsp(&s2, 2, 0x054c, 4, 0);
    /* DeleteObject of the session: session management */
    static const uint8_t del[] = {0x00, 0x00, 0x03, 0xc0};
    simple_req(&c2, 2, 0x04d4, 5, del, sizeof del);
    simple_rsp(&s2, 2, 0x04d4, 5, 0);
    feed(f, C2S, c2.b, c2.n);
    feed(f, S2C, s2.b, s2.n);
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_SESSION);
    JSON_HAS(f, 1, "\"object_id\":960,\"item_count\":1");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE);
    assert_string_equal(txn_at(f, 3)->function_name, "get_multi_variables");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_READ);
    JSON_HAS(f, 3, "\"object_id\":32,\"item_count\":3");
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_SESSION);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* SetVariable: object id, address count 1, address, value. */
static void set_variable(struct wire *c, uint16_t seq, uint32_t obj, uint32_t addr, uint8_t dtype,
                         const uint8_t *val, size_t n)
{
    struct wire b = {0};
    put32(&b, obj);
    vlq(&b, 1);
    vlq(&b, addr);
    put8(&b, 0x00);
    put8(&b, dtype);
    put(&b, val, n);
    simple_req(c, 2, 0x04f2, seq, b.b, b.n);
}

static void test_set_variable_operating_state(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    static const uint8_t stop[] = {0x01}, run[] = {0x03}, neg[] = {0x7f}, credit[] = {0x00, 0x06};
    static const uint8_t dword[] = {0, 0, 0, 1};
    set_variable(&c, 1, 52, 2167, 0x08, stop, 1);
    set_variable(&c, 2, 52, 2167, 0x08, run, 1);
    set_variable(&c, 3, 52, 2167, 0x08, neg, 1);
    set_variable(&c, 4, 0x1000006a, 1053, 0x07, credit, 2);
    set_variable(&c, 5, 0x7000000a, 2711, 0x0c, dword, 4);
    for (uint16_t i = 1; i <= 5; i++) {
        struct wire d = {0};
        rsp_head(&d, i == 4 ? 0x02 : 0x32, 0x04f2, i, 0);
        put32(&d, 0);
        frame(&s, 2, &d, true);
    }
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_STOP);
    JSON_HAS(f, 0, "\"object_id\":52,\"address\":2167,\"operating_state_request\":1,"
                   "\"operating_state_name\":\"stop\"");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_START);
    JSON_HAS(f, 1, "\"operating_state_request\":3,\"operating_state_name\":\"run\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE);
    JSON_HAS(f, 2, "\"operating_state_request\":-1,\"operating_state_name\":\"unknown\"");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_SESSION); /* subscription credit */
    JSON_HAS(f, 3, "\"opcode\":2,\"opcode_name\":\"response2\"");
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_WRITE);
    JSON_HAS(f, 4, "\"object_id\":1879048202,\"address\":2711");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_download_sequence(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    /* BeginSequence with a "DLTransaction" object opens a download */
    struct wire b = {0};
    const uint8_t pre[] = {0x02, 0x00, 0x01, 0x00};
    put(&b, pre, sizeof pre);
    obj_start(&b, 0x7fffc001, 1700);
    attr_wstring(&b, 233, "DLTransaction");
    put8(&b, 0xa2);
    simple_req(&c, 2, 0x0556, 37, b.b, b.n);
    static const uint8_t nested[] = {0x04, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03};
    simple_req(&c, 2, 0x0556, 38, nested, sizeof nested);
    struct wire ob = {0};
    put32(&ob, 0);
    put8(&ob, 0x00);
    put8(&ob, 0x00);
    put32(&ob, 0);
    obj_start(&ob, 0x8a320001, 2647);
    attr_wstring(&ob, 233, "Main");
    put8(&ob, 0xa2);
    simple_req(&c, 2, 0x04ca, 39, ob.b, ob.n);
    simple_req(&c, 2, 0x0560, 40, NULL, 0);
    simple_req(&c, 2, 0x0560, 41, NULL, 0);
    /* after the download: an ordinary CreateObject */
    simple_req(&c, 2, 0x04ca, 42, ob.b, ob.n);
    const uint16_t fns[] = {0x0556, 0x0556, 0x04ca, 0x0560, 0x0560, 0x04ca};
    for (uint16_t i = 0; i < 6; i++) simple_rsp(&s, 2, fns[i], (uint16_t)(37 + i), 0);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 6);
    JSON_HAS(f, 0, "\"class_id\":1700,\"object_name\":\"DLTransaction\"");
    for (size_t i = 0; i < 5; i++) assert_int_equal(txn_at(f, i)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 2, "\"class_id\":2647,\"object_name\":\"Main\"");
    assert_int_equal(txn_at(f, 5)->ops, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_fragmented_pdu(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    /* a CreateObject request in three TSDUs: the first has the header, only the last the
     * trailer */
    struct wire d1 = {0}, d2 = {0}, d3 = {0};
    req_head(&d1, 0x04ca, 39, 960, 0x34);
    for (int i = 0; i < 40; i++) put8(&d1, (uint8_t)i);
    for (int i = 0; i < 30; i++) put8(&d2, 0x31); /* would look like a request opcode */
    for (int i = 0; i < 10; i++) put8(&d3, 0x32);
    frame(&c, 2, &d1, false);
    frame(&c, 2, &d2, false);
    frame(&c, 2, &d3, true);
    simple_req(&c, 2, 0x054c, 40, (const uint8_t *)"\0\0\0\0\1\1", 6);
    simple_rsp(&s, 2, 0x04ca, 39, 0);
    simple_rsp(&s, 2, 0x054c, 40, 0);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "create_object");
    JSON_HAS(f, 0, "\"fragmented\":true");
    assert_true(txn_at(f, 0)->has_response);
    assert_string_equal(txn_at(f, 1)->function_name, "get_multi_variables");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_v3_integrity_and_notification(void **ts)
{
    struct fx *f = *ts;
    struct wire s = {0}, c = {0};
    struct wire d = {0};
    put8(&d, 0x20);
    for (int i = 0; i < 32; i++) put8(&d, (uint8_t)(0xa0 + i));
    put8(&d, 0x33);         /* notification */
    put32(&d, 0x70000e51);  /* subscription object */
    const uint8_t rest[] = {0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x92};
    put(&d, rest, sizeof rest);
    frame(&s, 3, &d, true);
    struct wire q = {0};
    put8(&q, 0x20);
    for (int i = 0; i < 32; i++) put8(&q, 0x55);
    req_head(&q, 0x054c, 0x831d, 0x70000e4d, 0x34);
    put32(&q, 0);
    frame(&c, 3, &q, true);
    struct wire r = {0};
    put8(&r, 0x20);
    for (int i = 0; i < 32; i++) put8(&r, 0x66);
    rsp_head(&r, 0x32, 0x054c, 0x831d, 0);
    put32(&r, 0);
    frame(&s, 3, &r, true);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "notification");
    JSON_HAS(f, 0, "\"version\":3,\"version_name\":\"v3\",\"data_length\":45,"
                   "\"integrity_digest_length\":32,\"opcode\":51,\"opcode_name\":\"notification\","
                   "\"function_name\":\"notification\",\"subscription_object_id\":1879051857}");
    assert_true(txn_at(f, 1)->has_request && txn_at(f, 1)->has_response);
    JSON_HAS(f, 1, "\"sequence_number\":33565");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_error_return_value(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x01};
    simple_req(&c, 2, 0x054c, 9, body, sizeof body);
    struct wire d = {0};
    rsp_head(&d, 0x32, 0x054c, 9, 0);
    d.n--; /* replace the one-byte return value with 0x8020ab001bc8fff4 (9-byte VLQ) */
    const uint8_t ret[] = {0xc0, 0x88, 0x95, 0xb0, 0x80, 0xef, 0x91, 0xff, 0xf4};
    put(&d, ret, sizeof ret);
    put32(&d, 0);
    frame(&s, 2, &d, true);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"return_value\":\"0x8020ab001bc8fff4\",\"return_code\":-12,"
                   "\"return_name\":\"object_not_found\"");
}

static void conversation(struct wire *c, struct wire *s)
{
    session_setup(c, s);
    static const uint8_t gmv[] = {0x00, 0x00, 0x00, 0x20, 0x03, 0x03};
    simple_req(c, 2, 0x054c, 2, gmv, sizeof gmv);
    simple_rsp(s, 2, 0x054c, 2, 0);
}

static void check_conversation(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "create_object");
    JSON_HAS(f, 0, "\"server_session_version\":\"1;6ES7 214-1HE30-0XB0 ;V2.2\"");
    assert_string_equal(txn_at(f, 1)->function_name, "get_multi_variables");
    assert_true(txn_at(f, 1)->has_response);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    conversation(&c, &s);
    const struct msg conv[] = {{C2S, c.b, c.n}, {S2C, s.b, s.n}};
    check_every_split_with(f, conv, 2, check_conversation);
}

static void test_byte_by_byte(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    conversation(&c, &s);
    feed_bytewise(f, C2S, c.b, c.n);
    feed_bytewise(f, S2C, s.b, s.n);
    check_conversation(f);
}

static void test_malformed_frames(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    /* data length passing the TSDU */
    const uint8_t long_len[] = {0x03, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0x80,
                                0x72, 0x02, 0x00, 0x40, 0x31, 0x00, 0x00, 0x05};
    put(&c, long_len, sizeof long_len);
    /* unknown version */
    struct wire d = {0};
    req_head(&d, 0x054c, 1, 1, 0x34);
    frame(&c, 0x09, &d, true);
    /* request header cut short (the frame is complete) */
    struct wire e = {0};
    const uint8_t cut[] = {0x31, 0x00, 0x00, 0x05};
    put(&e, cut, sizeof cut);
    frame(&c, 2, &e, true);
    /* S7comm on an S7comm-plus flow, and an unknown opcode */
    const uint8_t s7[] = {0x03, 0x00, 0x00, 0x11, 0x02, 0xf0, 0x80, 0x32, 0x01, 0, 0, 0, 1, 0, 0,
                          0, 0};
    put(&c, s7, sizeof s7);
    struct wire g = {0};
    put8(&g, 0x44);
    frame(&c, 2, &g, true);
    feed(f, C2S, c.b, c.n);
    PROTO.flow_end(&f->ctx, f->state);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.invalid_length"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.unknown_version"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.truncated_pdu"), 2);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.invalid_protocol_id"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.unknown_opcode"), 1);
}

static void test_hostile_objects(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    /* deeply nested objects and structs, a huge array count, a sparse array without end */
    struct wire d = {0};
    req_head(&d, 0x04ca, 1, 288, 0x36);
    put32(&d, 285);
    put8(&d, 0x00);
    put8(&d, 0x04);
    vlq(&d, 0);
    put32(&d, 0);
    for (int i = 0; i < 20; i++) obj_start(&d, 1, 287);
    put8(&d, 0xa3);
    vlq(&d, 306);
    put8(&d, 0x10);
    put8(&d, 0x02);
    vlq(&d, 0x0fffffff);
    frame(&c, 1, &d, true);
    struct wire e = {0};
    req_head(&e, 0x04ca, 2, 288, 0x36);
    put32(&e, 285);
    put8(&e, 0x40);
    put8(&e, 0x15);
    for (int i = 0; i < 200; i++) {
        put8(&e, 0x01);
        put8(&e, 0x00);
    }
    frame(&c, 1, &e, true);
    feed(f, C2S, c.b, c.n);
    PROTO.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 2);
}

static void test_gap_resyncs(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    struct wire d1 = {0};
    req_head(&d1, 0x04ca, 1, 960, 0x34);
    frame(&c, 2, &d1, false); /* a first fragment, then its continuation is lost */
    feed(f, C2S, c.b, c.n);
    qw_pending_reset(&f->pend[C2S]);
    PROTO.gap(&f->ctx, f->state, C2S);
    struct wire c2 = {0};
    static const uint8_t gmv[] = {0x00, 0x00, 0x00, 0x20, 0x03, 0x03};
    simple_req(&c2, 2, 0x054c, 2, gmv, sizeof gmv);
    feed(f, C2S, c2.b, c2.n);
    PROTO.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 1)->function_name, "get_multi_variables");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_queue_overflow(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x20, 0x01, 0x01};
    for (uint16_t i = 0; i < 34; i++) simple_req(&c, 2, 0x054c, (uint16_t)(100 + i), body, 6);
    feed(f, C2S, c.b, c.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"sequence_number\":100");
    struct wire s = {0};
    simple_rsp(&s, 2, 0x054c, 133, 0);
    feed(f, S2C, s.b, s.n);
    assert_true(txn_at(f, 2)->has_request && txn_at(f, 2)->has_response);
    PROTO.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 34);
}

static void test_unpaired_and_mismatch(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    simple_rsp(&s, 2, 0x054c, 7, 0); /* no request */
    simple_req(&c, 2, 0x054c, 8, (const uint8_t *)"\0\0\0\0\1\1", 6);
    struct wire s2 = {0};
    simple_rsp(&s2, 2, 0x0542, 8, 0); /* answers 8 with another function */
    feed(f, S2C, s.b, s.n);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s2.b, s2.n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(txn_at(f, 0)->has_request);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm_plus.function_mismatch"), 1);
}

static enum qw_probe_result probe(const uint8_t *b, size_t n)
{
    return PROTO.probe(b, n, QW_DIR_TO_SERVER);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct wire c = {0}, s = {0};
    session_setup(&c, &s);
    assert_int_equal(probe(c.b, sizeof cotp_cr), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(c.b, sizeof cotp_cr + 9), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(c.b, sizeof cotp_cr + 11), QW_PROBE_MATCH); /* header visible */
    assert_int_equal(probe(c.b, c.n), QW_PROBE_MATCH);
    assert_int_equal(probe(s.b, s.n), QW_PROBE_MATCH);
    struct wire frag = {0}, d = {0};
    req_head(&d, 0x04ca, 39, 960, 0x34);
    frame(&frag, 2, &d, false); /* a first fragment: no trailer */
    assert_int_equal(probe(frag.b, frag.n), QW_PROBE_MATCH);
    /* near misses */
    struct wire s7 = {0};
    put(&s7, cotp_cr, sizeof cotp_cr);
    const uint8_t job[] = {0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0, 0, 1, 0,
                           0, 8, 0, 0, 0xf0, 0, 0, 1, 0, 1, 1, 0xe0};
    put(&s7, job, sizeof job);
    assert_int_equal(probe(s7.b, s7.n), QW_PROBE_NO);
    const uint8_t mms[] = {0x03, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0x80, 0x0d, 0xb2, 0x05, 0x06,
                           0x13, 0x01, 0x00, 0x16};
    assert_int_equal(probe(mms, sizeof mms), QW_PROBE_NO);
    struct wire badver = {0}, e = {0};
    req_head(&e, 0x054c, 1, 1, 0x34);
    frame(&badver, 0x07, &e, true);
    assert_int_equal(probe(badver.b, badver.n), QW_PROBE_NO);
    const uint8_t badlen[] = {0x03, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0x80, 0x72, 0x02, 0x00, 0x09,
                              0x31, 0x00, 0x00, 0x05};
    assert_int_equal(probe(badlen, sizeof badlen), QW_PROBE_NO);
    static const uint8_t http[] = "POST /api HTTP/1.1\r\n\r\n";
    assert_int_equal(probe(http, sizeof http - 1), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x03, 0x00, 0x30, 0x01};
    assert_int_equal(probe(tls, sizeof tls), QW_PROBE_NO);
    static const uint8_t zeros[16] = {0};
    assert_int_equal(probe(zeros, sizeof zeros), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(PROTO.name, "s7comm_plus");
    assert_int_equal(PROTO.transports, QW_TRANSPORT_TCP);
    assert_int_equal(PROTO.ports[0], 102);
    assert_non_null(PROTO.parse);
    assert_non_null(PROTO.gap);
    assert_non_null(PROTO.flow_end);
    assert_true(PROTO.state_size > 0 && PROTO.state_size < 16 * 1024);
    assert_ptr_equal(qw_proto_by_name("s7comm_plus"), &PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_session_setup),
        FX_TEST(test_session_objects_and_variables),
        FX_TEST(test_set_variable_operating_state),
        FX_TEST(test_download_sequence),
        FX_TEST(test_fragmented_pdu),
        FX_TEST(test_v3_integrity_and_notification),
        FX_TEST(test_error_return_value),
        FX_TEST(test_split_at_every_offset),
        FX_TEST(test_byte_by_byte),
        FX_TEST(test_malformed_frames),
        FX_TEST(test_hostile_objects),
        FX_TEST(test_gap_resyncs),
        FX_TEST(test_queue_overflow),
        FX_TEST(test_unpaired_and_mismatch),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("s7comm_plus", tests, NULL, NULL);
}
