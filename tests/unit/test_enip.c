/* Unit tests for the EtherNet/IP parser (src/proto/enip.c) and its CIP layer (cip.c,
 * cip_tables.c).
 *
 * Messages are built byte by byte following the layouts of the CIP Networks Library Vol. 2
 * (encapsulation header s.2-3, CPF s.2-6) and Vol. 1 (message router request/response s.2-4,
 * Connection Manager s.3-5.6, EPATH Appendix C), fed through qw_stream_deliver exactly as the
 * engine does, into a recording sink; decoded values are checked on the txn summary, on the
 * rendered "enip" JSON object and on the identity facts. */
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
#include "proto/cip.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_enip;

#define PROTO qw_proto_enip
#define FX_TS_STEP 0 /* the tests set packet times themselves */
#define FX_BUF_MAX 4096

#include "parser_fixture.h"

/* ---- Message builders --------------------------------------------------------------------- */

static const uint8_t CTX_A[8] = {0xC0, 0xA8, 0x64, 0x1C, 0, 0, 0x48, 0x57};
static const uint8_t CTX_B[8] = {1, 2, 3, 4, 5, 6, 7, 8};
#define SESSION 0x12020100u

/* Encapsulation header + body. */
static void encap(struct buf *out, uint16_t cmd, uint32_t session, uint32_t status,
                  const uint8_t ctx[8], const struct buf *body)
{
    le16(out, cmd);
    le16(out, (uint16_t)(body ? body->n : 0));
    le32(out, session);
    le32(out, status);
    put(out, ctx, 8);
    le32(out, 0);
    if (body) put(out, body->b, body->n);
}

/* SendRRData: null address item + unconnected data item with `cip`. */
static void rr_data(struct buf *out, const uint8_t ctx[8], const struct buf *cip)
{
    struct buf body = {0};
    le32(&body, 0); /* interface handle: CIP */
    le16(&body, 5); /* timeout */
    le16(&body, 2);
    le16(&body, 0x0000);
    le16(&body, 0);
    le16(&body, 0x00B2);
    le16(&body, (uint16_t)cip->n);
    put(&body, cip->b, cip->n);
    encap(out, 0x006F, SESSION, 0, ctx, &body);
}

/* SendUnitData: connected address item + connected data item (sequence count + `cip`). */
static void unit_data(struct buf *out, uint32_t conn, uint16_t seq, const struct buf *cip)
{
    static const uint8_t zero[8] = {0};
    struct buf body = {0};
    le32(&body, 0);
    le16(&body, 0);
    le16(&body, 2);
    le16(&body, 0x00A1);
    le16(&body, 4);
    le32(&body, conn);
    le16(&body, 0x00B1);
    le16(&body, (uint16_t)(cip->n + 2));
    le16(&body, seq);
    put(&body, cip->b, cip->n);
    encap(out, 0x0070, SESSION, 0, zero, &body);
}

/* A CIP request: service, path (already padded), data. */
static void cip_req(struct buf *out, uint8_t svc, const uint8_t *path, size_t plen,
                    const uint8_t *data, size_t dlen)
{
    assert_true(plen % 2 == 0);
    u8(out, svc);
    u8(out, (uint8_t)(plen / 2));
    put(out, path, plen);
    if (dlen) put(out, data, dlen);
}

/* A CIP reply: service | 0x80, reserved, status, additional status words, data. */
static void cip_rsp(struct buf *out, uint8_t svc, uint8_t status, const uint16_t *ext,
                    size_t next, const uint8_t *data, size_t dlen)
{
    u8(out, (uint8_t)(svc | 0x80));
    u8(out, 0);
    u8(out, status);
    u8(out, (uint8_t)next);
    for (size_t i = 0; i < next; i++) le16(out, ext[i]);
    if (dlen) put(out, data, dlen);
}

/* Identity attributes 1-7 + state: Rockwell 1756-ENBT/A, rev 4.3, serial 0x00524d8e. */
static void identity_body(struct buf *b)
{
    le16(b, 1);      /* vendor */
    le16(b, 0x0C);   /* communications adapter */
    le16(b, 58);     /* product code */
    u8(b, 4);       /* major */
    u8(b, 3);       /* minor */
    le16(b, 0x0030); /* status */
    le32(b, 0x00524D8E);
    u8(b, 11);
    put(b, "1756-ENBT/A", 11);
    u8(b, 3); /* state */
}

static const uint8_t PATH_IDENTITY[] = {0x20, 0x01, 0x24, 0x01};
static const uint8_t PATH_CM[] = {0x20, 0x06, 0x24, 0x01};
static const uint8_t PATH_MR[] = {0x20, 0x02, 0x24, 0x01};

/* ---- Encapsulation commands --------------------------------------------------------------- */

static void list_identity_reply(struct buf *out, const uint8_t ctx[8])
{
    struct buf item = {0};
    le16(&item, 1);      /* encapsulation version */
    u8(&item, 0);       /* sin_family, big-endian 2 */
    u8(&item, 2);
    u8(&item, 0xAF);    /* sin_port 44818, big-endian */
    u8(&item, 0x12);
    u8(&item, 10);      /* sin_addr 10.1.1.164 */
    u8(&item, 1);
    u8(&item, 1);
    u8(&item, 164);
    for (int i = 0; i < 8; i++) u8(&item, 0);
    identity_body(&item);
    struct buf body = {0};
    le16(&body, 1);
    le16(&body, 0x000C);
    le16(&body, (uint16_t)item.n);
    put(&body, item.b, item.n);
    encap(out, 0x0063, 0, 0, ctx, &body);
}

static void test_list_identity_pair_and_facts(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    encap(&req, 0x0063, 0, 0, CTX_B, NULL);
    list_identity_reply(&rsp, CTX_B);
    f->ctx.ts_ns = 5000;
    feed(f, C2S, req.b, req.n);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 9000;
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0x63);
    assert_string_equal(t->function_name, "list_identity");
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    assert_int_equal(t->request_ns, 5000);
    assert_int_equal(t->response_ns, 9000);
    JSON_HAS(f, 0, "\"request\":{\"command\":99,\"command_name\":\"list_identity\",\"length\":0,"
                   "\"session_handle\":\"0x00000000\",\"status\":0,\"status_name\":\"success\","
                   "\"sender_context\":\"0102030405060708\"");
    JSON_HAS(f, 0, "\"identities\":[{\"encapsulation_version\":1,\"socket_ip\":\"10.1.1.164\","
                   "\"socket_port\":44818,\"vendor_id\":1,\"vendor\":\"Rockwell Automation/"
                   "Allen-Bradley\",\"device_type\":12,\"device_type_name\":"
                   "\"communications_adapter\",\"product_code\":58,\"revision\":\"4.3\","
                   "\"status\":48,\"serial\":\"0x00524d8e\",\"product_name\":\"1756-ENBT/A\","
                   "\"state\":3}]");
    /* Facts are about the replying device: the server end. */
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"),
                        "Rockwell Automation/Allen-Bradley");
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor_id"), "1");
    assert_string_equal(qw_record_identity(&f->rec, true, "serial"), "0x00524d8e");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "4.3");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "1756-ENBT/A");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_code"), "58");
    assert_string_equal(qw_record_identity(&f->rec, true, "device_type"),
                        "communications_adapter");
    assert_string_equal(qw_record_identity(&f->rec, true, "ip"), "10.1.1.164");
    assert_null(qw_record_identity(&f->rec, false, "vendor"));
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_register_session_and_list_services(void **ts)
{
    struct fx *f = *ts;
    struct buf body = {0}, req = {0}, rsp = {0};
    le16(&body, 1);
    le16(&body, 0);
    encap(&req, 0x0065, 0, 0, CTX_A, &body);
    encap(&rsp, 0x0065, 0x00000001, 0, CTX_A, &body);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "register_session");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"response\":{\"command\":101,\"command_name\":\"register_session\","
                   "\"length\":4,\"session_handle\":\"0x00000001\"");
    JSON_HAS(f, 0, "\"protocol_version\":1,\"session_options\":0");

    struct buf lreq = {0}, lrsp = {0}, lb = {0};
    encap(&lreq, 0x0004, 1, 0, CTX_B, NULL);
    le16(&lb, 1);
    le16(&lb, 0x0100);
    le16(&lb, 20);
    le16(&lb, 1);
    le16(&lb, 0x0120);
    put(&lb, "Communications\0\0", 16);
    encap(&lrsp, 0x0004, 1, 0, CTX_B, &lb);
    feed(f, C2S, lreq.b, lreq.n);
    feed(f, S2C, lrsp.b, lrsp.n);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"services\":[{\"version\":1,\"capability_flags\":288,\"cip_over_tcp\":true,"
                   "\"class01_over_udp\":true,\"name\":\"Communications\"}]");
}

static void test_no_reply_commands_emitted_at_once(void **ts)
{
    struct fx *f = *ts;
    struct buf unreg = {0}, nop = {0}, nb = {0};
    encap(&unreg, 0x0066, SESSION, 0, CTX_A, NULL);
    le32(&nb, 0xDEADBEEF);
    encap(&nop, 0x0000, SESSION, 0, CTX_A, &nb);
    feed(f, C2S, unreg.b, unreg.n);
    feed(f, C2S, nop.b, nop.n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "unregister_session");
    assert_true(txn_at(f, 0)->has_request && !txn_at(f, 0)->has_response);
    assert_string_equal(txn_at(f, 1)->function_name, "nop");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
}

/* ---- CIP over SendRRData ------------------------------------------------------------------ */

static void test_get_attributes_all_identity_direct(void **ts)
{
    struct fx *f = *ts;
    struct buf c1 = {0}, c2 = {0}, req = {0}, rsp = {0}, id = {0};
    cip_req(&c1, 0x01, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
    identity_body(&id);
    cip_rsp(&c2, 0x01, 0, NULL, 0, id.b, id.n - 1); /* Get_Attributes_All without state */
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x01);
    assert_string_equal(t->function_name, "get_attributes_all");
    assert_int_equal(t->ops, QW_OP_READ | QW_OP_IDENTIFY);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"function\":1,\"function_name\":\"get_attributes_all\",\"cip\":{"
                   "\"service\":1,\"service_name\":\"get_attributes_all\",\"path\":{\"class\":1,"
                   "\"class_name\":\"identity\",\"instance\":1},\"data_length\":0}");
    JSON_HAS(f, 0, "\"general_status\":0,\"general_status_name\":\"success\"");
    JSON_HAS(f, 0, "\"identity\":{\"vendor_id\":1,");
    JSON_HAS(f, 0, "\"items\":[{\"type\":0,\"type_name\":\"null_address\",\"length\":0},"
                   "{\"type\":178,\"type_name\":\"unconnected_data\",\"length\":6}]");
    assert_string_equal(qw_record_identity(&f->rec, true, "serial"), "0x00524d8e");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "1756-ENBT/A");
}

/* Unconnected Send to the Identity object of the module in backplane slot 2. */
static void ucsend_identity(struct buf *cip)
{
    struct buf emb = {0}, data = {0};
    cip_req(&emb, 0x01, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
    u8(&data, 0x07); /* priority/time tick */
    u8(&data, 0xE9); /* timeout ticks */
    le16(&data, (uint16_t)emb.n);
    put(&data, emb.b, emb.n);
    u8(&data, 1); /* route path: 1 word */
    u8(&data, 0);
    u8(&data, 0x01); /* port 1 (backplane) */
    u8(&data, 0x02); /* slot 2 */
    cip_req(cip, 0x52, PATH_CM, sizeof PATH_CM, data.b, data.n);
}

static void test_unconnected_send_unwrapped(void **ts)
{
    struct fx *f = *ts;
    struct buf c1 = {0}, c2 = {0}, req = {0}, rsp = {0}, id = {0};
    ucsend_identity(&c1);
    identity_body(&id);
    cip_rsp(&c2, 0x01, 0, NULL, 0, id.b, id.n - 1);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x01);
    assert_string_equal(t->function_name, "get_attributes_all");
    assert_int_equal(t->ops, QW_OP_READ | QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"cip\":{\"service\":82,\"service_name\":\"unconnected_send\",\"path\":{"
                   "\"class\":6,\"class_name\":\"connection_manager\",\"instance\":1},"
                   "\"priority_time_tick\":7,\"timeout_ticks\":233,\"route_path\":[{\"port\":1,"
                   "\"link\":2}],\"embedded\":{\"service\":1,\"service_name\":"
                   "\"get_attributes_all\",\"path\":{\"class\":1,");
    /* The reply is the embedded service's: it carries the identity, but of slot 2's module,
     * not of the device at the end of the flow: no identity facts. */
    JSON_HAS(f, 0, "\"response\":");
    JSON_HAS(f, 0, "\"identity\":{\"vendor_id\":1");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_unconnected_send_router_error(void **ts)
{
    struct fx *f = *ts;
    struct buf c1 = {0}, c2 = {0}, req = {0}, rsp = {0};
    ucsend_identity(&c1);
    static const uint16_t ext[] = {0x0204};
    static const uint8_t remaining[] = {0x01, 0x00};
    cip_rsp(&c2, 0x52, 0x01, ext, 1, remaining, sizeof remaining);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"response\":{\"command\":111");
    JSON_HAS(f, 0, "\"function\":82,\"function_name\":\"unconnected_send\",\"cip\":{\"service\":"
                   "82,\"service_name\":\"unconnected_send\",\"general_status\":1,"
                   "\"general_status_name\":\"connection_failure\",\"extended_status\":[516],"
                   "\"extended_status_name\":\"unconnected_request_timed_out\","
                   "\"remaining_path_size\":1}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void fwd_open_data(struct buf *d, bool large)
{
    u8(d, 0x0A);
    u8(d, 0x0E);
    le32(d, 0);          /* O->T id: the target chooses */
    le32(d, 0x20000002); /* T->O id */
    le16(d, 0x1234);     /* connection serial */
    le16(d, 1);          /* vendor */
    le32(d, 0x00C0FFEE); /* originator serial */
    u8(d, 3);           /* timeout multiplier */
    u8(d, 0);
    u8(d, 0);
    u8(d, 0);
    le32(d, 2000000);    /* O->T RPI 2 s */
    if (large) le32(d, 0x42000FA0); /* point to point, fixed, low... size 4000 */
    else le16(d, 0x43F4);           /* point to point, low priority, variable, 500 */
    le32(d, 2000000);
    if (large) le32(d, 0x42000FA0);
    else le16(d, 0x43F4);
    u8(d, 0xA3);        /* server, application trigger, class 3 */
    u8(d, 3);           /* connection path 3 words */
    u8(d, 0x01);        /* port 1 slot 0 */
    u8(d, 0x00);
    u8(d, 0x20);        /* message router */
    u8(d, 0x02);
    u8(d, 0x24);
    u8(d, 0x01);
}

static void test_forward_open_and_close(void **ts)
{
    struct fx *f = *ts;
    struct buf c1 = {0}, d1 = {0}, c2 = {0}, d2 = {0}, req = {0}, rsp = {0};
    fwd_open_data(&d1, false);
    cip_req(&c1, 0x54, PATH_CM, sizeof PATH_CM, d1.b, d1.n);
    le32(&d2, 0x80FE0017); /* O->T id chosen by the target */
    le32(&d2, 0x20000002);
    le16(&d2, 0x1234);
    le16(&d2, 1);
    le32(&d2, 0x00C0FFEE);
    le32(&d2, 2000000);
    le32(&d2, 2000000);
    u8(&d2, 0);
    u8(&d2, 0);
    cip_rsp(&c2, 0x54, 0, NULL, 0, d2.b, d2.n);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "forward_open");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"forward_open\":{\"priority_time_tick\":10,\"timeout_ticks\":14,"
                   "\"ot_connection_id\":\"0x00000000\",\"to_connection_id\":\"0x20000002\","
                   "\"connection_serial\":4660,\"vendor_id\":1,\"vendor\":\"Rockwell "
                   "Automation/Allen-Bradley\",\"originator_serial\":\"0x00c0ffee\","
                   "\"timeout_multiplier\":3,\"ot_rpi_us\":2000000,\"ot_connection_size\":500,"
                   "\"ot_connection_type\":\"point_to_point\",\"ot_priority\":\"low\","
                   "\"ot_fixed_size\":false,");
    JSON_HAS(f, 0, "\"transport_class\":3,\"trigger\":\"application\",\"direction\":\"server\","
                   "\"connection_path\":[{\"port\":1,\"link\":0},{\"class\":2,\"class_name\":"
                   "\"message_router\"},{\"instance\":1}]}");
    JSON_HAS(f, 0, "\"forward_open\":{\"ot_connection_id\":\"0x80fe0017\",\"to_connection_id\":"
                   "\"0x20000002\",\"connection_serial\":4660,");
    JSON_HAS(f, 0, "\"ot_api_us\":2000000,\"to_api_us\":2000000}");

    /* Large Forward Open: 32-bit connection parameters. */
    struct buf c3 = {0}, d3 = {0}, req3 = {0};
    fwd_open_data(&d3, true);
    cip_req(&c3, 0x5B, PATH_CM, sizeof PATH_CM, d3.b, d3.n);
    rr_data(&req3, CTX_B, &c3);
    feed(f, C2S, req3.b, req3.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 1)->function_name, "large_forward_open");
    JSON_HAS(f, 1, "\"large\":true");
    JSON_HAS(f, 1, "\"ot_connection_size\":4000,\"ot_connection_type\":\"point_to_point\"");

    /* Forward Close */
    fx_reset(f);
    struct buf c4 = {0}, d4 = {0}, req4 = {0};
    u8(&d4, 0x0A);
    u8(&d4, 0x0E);
    le16(&d4, 0x1234);
    le16(&d4, 1);
    le32(&d4, 0x00C0FFEE);
    u8(&d4, 1);
    u8(&d4, 0);
    u8(&d4, 0x01);
    u8(&d4, 0x00);
    cip_req(&c4, 0x4E, PATH_CM, sizeof PATH_CM, d4.b, d4.n);
    rr_data(&req4, CTX_A, &c4);
    feed(f, C2S, req4.b, req4.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "forward_close");
    JSON_HAS(f, 0, "\"forward_close\":{\"priority_time_tick\":10,\"timeout_ticks\":14,"
                   "\"connection_serial\":4660,\"vendor_id\":1,");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Connected messaging (SendUnitData) and Logix tags ------------------------------------ */

/* ANSI extended symbol segment for `name`, padded. */
static void sym(struct buf *p, const char *name)
{
    size_t n = strlen(name);
    u8(p, 0x91);
    u8(p, (uint8_t)n);
    put(p, name, n);
    if (n & 1u) u8(p, 0);
}

/* Read Tag Fragmented (0x52) sent through an Unconnected Send (also 0x52): a successful 0xD2
 * reply answers the embedded request, not the router. */
static void test_unconnected_send_of_read_fragmented(void **ts)
{
    struct fx *f = *ts;
    struct buf p = {0}, emb = {0}, data = {0}, c1 = {0}, c2 = {0}, req = {0}, rsp = {0};
    sym(&p, "Recipe");
    static const uint8_t frag[] = {0x0A, 0x00, 0x00, 0x00, 0x00, 0x00};
    cip_req(&emb, 0x52, p.b, p.n, frag, sizeof frag);
    u8(&data, 0x0A);
    u8(&data, 0x05);
    le16(&data, (uint16_t)emb.n);
    put(&data, emb.b, emb.n);
    if (emb.n & 1u) u8(&data, 0);
    u8(&data, 1);
    u8(&data, 0);
    u8(&data, 0x01);
    u8(&data, 0x00);
    cip_req(&c1, 0x52, PATH_CM, sizeof PATH_CM, data.b, data.n);
    static const uint8_t part[] = {0xC3, 0x00, 1, 0, 2, 0};
    cip_rsp(&c2, 0x52, 0x06, NULL, 0, part, sizeof part);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read_tag_fragmented");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"embedded\":{\"service\":82,\"service_name\":\"read_tag_fragmented\","
                   "\"path\":{\"symbol\":\"Recipe\"}");
    JSON_HAS(f, 0, "\"response\":");
    JSON_HAS(f, 0, "\"function\":82,\"function_name\":\"read_tag_fragmented\",\"cip\":{"
                   "\"service\":82,\"service_name\":\"read_tag_fragmented\",\"general_status\":6");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* Get_Attribute_List of Identity attributes 1-7 gives an identity like Get_Attributes_All. */
static void test_get_attribute_list_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf c1 = {0}, c2 = {0}, req = {0}, rsp = {0}, rd = {0}, qd = {0};
    le16(&qd, 7);
    for (uint16_t a = 1; a <= 7; a++) le16(&qd, a);
    cip_req(&c1, 0x03, PATH_IDENTITY, sizeof PATH_IDENTITY, qd.b, qd.n);
    le16(&rd, 7);
    le16(&rd, 1); le16(&rd, 0); le16(&rd, 1);
    le16(&rd, 2); le16(&rd, 0); le16(&rd, 0x0E);
    le16(&rd, 3); le16(&rd, 0); le16(&rd, 54);
    le16(&rd, 4); le16(&rd, 0); u8(&rd, 16); u8(&rd, 20);
    le16(&rd, 5); le16(&rd, 0); le16(&rd, 0x3060);
    le16(&rd, 6); le16(&rd, 0); le32(&rd, 0x0051823F);
    le16(&rd, 7); le16(&rd, 0); u8(&rd, 20); put(&rd, "1756-L61/B LOGIX5561", 20);
    cip_rsp(&c2, 0x03, 0, NULL, 0, rd.b, rd.n);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"identity\":{\"vendor_id\":1,\"vendor\":\"Rockwell Automation/Allen-Bradley\","
                   "\"device_type\":14,\"device_type_name\":\"programmable_logic_controller\","
                   "\"product_code\":54,\"revision\":\"16.20\",\"status\":12384,\"serial\":"
                   "\"0x0051823f\",\"product_name\":\"1756-L61/B LOGIX5561\"}");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "16.20");
    assert_string_equal(qw_record_identity(&f->rec, true, "device_type"),
                        "programmable_logic_controller");
}

static void test_msp_read_tags_over_connection(void **ts)
{
    struct fx *f = *ts;
    /* Two Read Tag requests in a Multiple Service Packet. */
    struct buf m1 = {0}, m2 = {0}, p1 = {0}, p2 = {0}, data = {0}, c1 = {0}, req = {0};
    sym(&p1, "Program:MainProgram");
    sym(&p1, "Level");
    u8(&p1, 0x28); /* element 3 */
    u8(&p1, 0x03);
    static const uint8_t one[] = {0x01, 0x00};
    cip_req(&m1, 0x4C, p1.b, p1.n, one, sizeof one);
    sym(&p2, "Pump_Speed");
    cip_req(&m2, 0x4C, p2.b, p2.n, one, sizeof one);
    le16(&data, 2);
    le16(&data, 6);
    le16(&data, (uint16_t)(6 + m1.n));
    put(&data, m1.b, m1.n);
    put(&data, m2.b, m2.n);
    cip_req(&c1, 0x0A, PATH_MR, sizeof PATH_MR, data.b, data.n);
    unit_data(&req, 0x00076B01, 7244, &c1);

    /* Reply: first OK with a DINT, second "path destination unknown". */
    struct buf r1 = {0}, r2 = {0}, rdata = {0}, c2 = {0}, rsp = {0};
    static const uint8_t dint[] = {0xC4, 0x00, 0x2A, 0x00, 0x00, 0x00};
    cip_rsp(&r1, 0x4C, 0, NULL, 0, dint, sizeof dint);
    cip_rsp(&r2, 0x4C, 0x05, NULL, 0, NULL, 0);
    le16(&rdata, 2);
    le16(&rdata, 6);
    le16(&rdata, (uint16_t)(6 + r1.n));
    put(&rdata, r1.b, r1.n);
    put(&rdata, r2.b, r2.n);
    cip_rsp(&c2, 0x0A, 0x1E, NULL, 0, rdata.b, rdata.n);
    unit_data(&rsp, 0x80FE0001, 7244, &c2);

    feed(f, C2S, req.b, req.n);
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x0A);
    assert_string_equal(t->function_name, "multiple_service_packet");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_true(t->error); /* 0x1E embedded service error */
    JSON_HAS(f, 0, "\"connection_id\":\"0x00076b01\",\"sequence\":7244");
    JSON_HAS(f, 0, "\"service_count\":2,\"services\":[{\"service\":76,\"service_name\":"
                   "\"read_tag\",\"path\":{\"symbol\":\"Program:MainProgram.Level[3]\"},"
                   "\"data_length\":2},{\"service\":76,\"service_name\":\"read_tag\",\"path\":"
                   "{\"symbol\":\"Pump_Speed\"},\"data_length\":2}]");
    JSON_HAS(f, 0, "\"general_status\":30,\"general_status_name\":\"embedded_service_error\"");
    JSON_HAS(f, 0, "{\"service\":76,\"service_name\":\"read_tag\",\"general_status\":5,"
                   "\"general_status_name\":\"path_destination_unknown\",\"data_length\":0}");
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_tag_services_by_class(void **ts)
{
    struct fx *f = *ts;
    struct buf p = {0};
    sym(&p, "Valve_Open");
    static const uint8_t wdata[] = {0xC1, 0x00, 0x01, 0x00, 0x01, 0x00};
    static const uint8_t frag[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    struct buf c1 = {0}, c2 = {0}, c3 = {0}, r1 = {0}, r2 = {0}, r3 = {0};
    cip_req(&c1, 0x4D, p.b, p.n, wdata, sizeof wdata);
    cip_req(&c2, 0x52, p.b, p.n, frag, sizeof frag); /* Read Tag Fragmented, not UC send */
    cip_req(&c3, 0x53, p.b, p.n, wdata, sizeof wdata);
    unit_data(&r1, 1, 1, &c1);
    unit_data(&r2, 1, 2, &c2);
    unit_data(&r3, 1, 3, &c3);
    feed(f, C2S, r1.b, r1.n);
    feed(f, C2S, r2.b, r2.n);
    feed(f, C2S, r3.b, r3.n);
    /* The read reply comes as partial transfer: not an error. */
    struct buf q = {0}, qr = {0};
    static const uint8_t part[] = {0xC4, 0x00, 1, 2, 3, 4};
    cip_rsp(&q, 0x52, 0x06, NULL, 0, part, sizeof part);
    unit_data(&qr, 2, 2, &q);
    feed(f, S2C, qr.b, qr.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(txn_at(f, 0)->function_name, "read_tag_fragmented");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    assert_true(txn_at(f, 0)->has_response);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"general_status_name\":\"partial_transfer\"");
    assert_string_equal(txn_at(f, 1)->function_name, "write_tag");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE);
    assert_string_equal(txn_at(f, 2)->function_name, "write_tag_fragmented");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE);
    JSON_HAS(f, 1, "\"path\":{\"symbol\":\"Valve_Open\"}");
}

/* Operation classes of the common services by class ([CIP1] A-3, cip_tables.c). */
static void test_ops_by_class(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t p_tcpip[] = {0x20, 0xF5, 0x24, 0x01, 0x30, 0x05};
    static const uint8_t p_asm[] = {0x20, 0x04, 0x24, 0x64, 0x30, 0x03};
    static const uint8_t p_clock[] = {0x20, 0x8B, 0x24, 0x01, 0x30, 0x05};
    static const uint8_t p_ctrl[] = {0x20, 0x8E, 0x24, 0x01};
    static const uint8_t ipcfg[] = {192, 168, 1, 10, 255, 255, 255, 0};
    struct {
        uint8_t svc;
        const uint8_t *path;
        size_t plen;
        const char *name;
        uint32_t ops;
    } cases[] = {
        {0x10, p_tcpip, sizeof p_tcpip, "set_attribute_single", QW_OP_CONFIG},
        {0x10, p_asm, sizeof p_asm, "set_attribute_single", QW_OP_WRITE},
        {0x10, p_clock, sizeof p_clock, "set_attribute_single", QW_OP_TIMESYNC},
        {0x0E, p_tcpip, sizeof p_tcpip, "get_attribute_single", QW_OP_READ},
        {0x05, PATH_IDENTITY, sizeof PATH_IDENTITY, "reset", QW_OP_RESTART},
        {0x06, p_ctrl, sizeof p_ctrl, "start", QW_OP_START},
        {0x07, p_ctrl, sizeof p_ctrl, "stop", QW_OP_STOP},
        {0x4C, p_ctrl, sizeof p_ctrl, "unknown", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf c = {0}, m = {0};
        cip_req(&c, cases[i].svc, cases[i].path, cases[i].plen, ipcfg, sizeof ipcfg);
        rr_data(&m, CTX_A, &c);
        feed(f, C2S, m.b, m.n);
        flow_end(f);
        assert_int_equal(f->rec.ntxns, i + 1);
        assert_string_equal(txn_at(f, i)->function_name, cases[i].name);
        assert_int_equal(txn_at(f, i)->ops, cases[i].ops);
    }
    JSON_HAS(f, 0, "\"path\":{\"class\":245,\"class_name\":\"tcpip_interface\",\"instance\":1,"
                   "\"attribute\":5}");
    JSON_HAS(f, 6, "\"class_name\":\"vendor_specific\"");
}

static void pccc_req(struct buf *c, uint8_t fnc, uint8_t mode)
{
    static const uint8_t p_pccc[] = {0x20, 0x67, 0x24, 0x01};
    struct buf d = {0};
    u8(&d, 7);
    le16(&d, 0x004D);
    le32(&d, 0x3D2B31E0);
    u8(&d, 0x0F);
    u8(&d, 0);
    le16(&d, 0xC64E);
    u8(&d, fnc);
    u8(&d, mode);
    cip_req(c, 0x4B, p_pccc, sizeof p_pccc, d.b, d.n);
}

static void test_pccc_mode_change_and_reads(void **ts)
{
    struct fx *f = *ts;
    struct buf c = {0}, m = {0}, r = {0}, rm = {0}, rd = {0};
    pccc_req(&c, 0x80, 0x01);
    unit_data(&m, 9, 100, &c);
    u8(&rd, 7);
    le16(&rd, 0x004D);
    le32(&rd, 0x3D2B31E0);
    u8(&rd, 0x4F);
    u8(&rd, 0x00);
    le16(&rd, 0xC64E);
    cip_rsp(&r, 0x4B, 0, NULL, 0, rd.b, rd.n);
    unit_data(&rm, 10, 100, &r);
    feed(f, C2S, m.b, m.n);
    feed(f, S2C, rm.b, rm.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "execute_pccc");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_STOP);
    JSON_HAS(f, 0, "\"pccc\":{\"requestor_vendor_id\":77,\"requestor_serial\":\"0x3d2b31e0\","
                   "\"command\":15,\"status\":0,\"transaction\":50766,\"function\":128,"
                   "\"function_name\":\"change_mode\",\"mode\":1,\"mode_name\":"
                   "\"remote_program\"}");
    JSON_HAS(f, 0, "\"pccc\":{\"requestor_vendor_id\":77,\"requestor_serial\":\"0x3d2b31e0\","
                   "\"command\":79,\"status\":0,\"transaction\":50766,\"function_name\":"
                   "\"change_mode\"}");

    struct buf c2 = {0}, m2 = {0}, c3 = {0}, m3 = {0};
    pccc_req(&c2, 0x80, 0x06);
    unit_data(&m2, 9, 101, &c2);
    pccc_req(&c3, 0xA2, 0x02);
    unit_data(&m3, 9, 102, &c3);
    feed(f, C2S, m2.b, m2.n);
    feed(f, C2S, m3.b, m3.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_START);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_READ);
    JSON_HAS(f, 2, "\"function_name\":\"protected_typed_logical_read_3_address_fields\"");
}

/* 16- and 32-bit logical segments, a port segment with an IP link address, an electronic key. */
static void test_path_formats(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t path[] = {
        0x21, 0x00, 0x6B, 0x00,             /* class 0x6B, 16-bit */
        0x26, 0x00, 0x78, 0x56, 0x34, 0x12, /* instance 0x12345678, 32-bit */
        0x31, 0x00, 0x2C, 0x01,             /* attribute 300, 16-bit */
    };
    struct buf c = {0}, m = {0};
    cip_req(&c, 0x0E, path, sizeof path, NULL, 0);
    rr_data(&m, CTX_A, &c);
    feed(f, C2S, m.b, m.n);
    static const uint8_t route[] = {
        0x12, 0x0B, '1', '0', '.', '0', '.', '0', '.', '1', '2', '3', '4', 0x00, /* port 2 */
        0x34, 0x04, 0x01, 0x00, 0x0E, 0x00, 0x36, 0x00, 0x90, 0x14,         /* key */
        0x20, 0x01, 0x24, 0x01,
    };
    struct buf c2 = {0}, m2 = {0};
    cip_req(&c2, 0x01, route, sizeof route, NULL, 0);
    rr_data(&m2, CTX_B, &c2);
    feed(f, C2S, m2.b, m2.n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"path\":{\"class\":107,\"class_name\":\"logix_symbol\",\"instance\":"
                   "305419896,\"attribute\":300}");
    JSON_HAS(f, 1, "\"segments\":[{\"port\":2,\"link\":\"10.0.0.1234\"},{\"electronic_key\":{"
                   "\"vendor_id\":1,\"device_type\":14,\"product_code\":54,\"compatibility\":"
                   "true,\"major_revision\":16,\"minor_revision\":20}},{\"class\":1,"
                   "\"class_name\":\"identity\"},{\"instance\":1}]");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Framing ------------------------------------------------------------------------------ */

/* A small conversation used by the split tests. */
static size_t conversation(uint8_t *out, size_t cap, size_t *req_len)
{
    struct buf c1 = {0}, c2 = {0}, req = {0}, rsp = {0}, id = {0};
    ucsend_identity(&c1);
    identity_body(&id);
    cip_rsp(&c2, 0x01, 0, NULL, 0, id.b, id.n - 1);
    rr_data(&req, CTX_A, &c1);
    rr_data(&rsp, CTX_A, &c2);
    assert_true(req.n + rsp.n <= cap);
    memcpy(out, req.b, req.n);
    memcpy(out + req.n, rsp.b, rsp.n);
    *req_len = req.n;
    return req.n + rsp.n;
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    uint8_t all[1024];
    size_t rl;
    size_t n = conversation(all, sizeof all, &rl);
    const struct msg conv[] = {{C2S, all, rl}, {S2C, all + rl, n - rl}};
    check_every_split_with(f, conv, 2, check_one_clean_record);
}

static void test_several_pdus_in_one_chunk(void **ts)
{
    struct fx *f = *ts;
    struct buf all = {0}, rsp = {0};
    for (int i = 0; i < 3; i++) {
        struct buf c = {0}, m = {0};
        cip_req(&c, 0x0E, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
        uint8_t ctx[8] = {(uint8_t)i};
        rr_data(&m, ctx, &c);
        put(&all, m.b, m.n);
    }
    feed(f, C2S, all.b, all.n);
    assert_int_equal(f->rec.ntxns, 0);
    /* Replies in reverse order pair by sender context. */
    for (int i = 2; i >= 0; i--) {
        struct buf c = {0}, m = {0};
        static const uint8_t v[] = {0x01, 0x00};
        cip_rsp(&c, 0x0E, 0, NULL, 0, v, sizeof v);
        uint8_t ctx[8] = {(uint8_t)i};
        rr_data(&m, ctx, &c);
        put(&rsp, m.b, m.n);
    }
    feed(f, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(txn_at(f, i)->has_request && txn_at(f, i)->has_response);
        char ctxhex[64];
        snprintf(ctxhex, sizeof ctxhex, "\"sender_context\":\"%02x00000000000000\"",
                 (unsigned)(2 - i));
        JSON_HAS(f, i, ctxhex);
    }
}

static void test_invalid_length_resyncs(void **ts)
{
    struct fx *f = *ts;
    struct buf all = {0}, c = {0}, m = {0};
    /* A header whose length exceeds 65511, then a real message. */
    static const uint8_t bad[24] = {0x6F, 0x00, 0xF0, 0xFF};
    put(&all, bad, sizeof bad);
    cip_req(&c, 0x0E, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
    rr_data(&m, CTX_A, &c);
    put(&all, m.b, m.n);
    feed(f, C2S, all.b, all.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.invalid_length"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "get_attribute_single");
}

static void test_truncated_and_inconsistent(void **ts)
{
    struct fx *f = *ts;
    /* CPF item longer than the message. */
    struct buf body = {0}, m = {0};
    le32(&body, 0);
    le16(&body, 0);
    le16(&body, 2);
    le16(&body, 0);
    le16(&body, 0);
    le16(&body, 0x00B2);
    le16(&body, 200);
    u8(&body, 0x0E);
    encap(&m, 0x006F, SESSION, 0, CTX_A, &body);
    feed(f, C2S, m.b, m.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.invalid_cpf"), 1);
    /* A CIP request whose path is cut short. */
    struct buf c = {0}, m2 = {0};
    u8(&c, 0x0E);
    u8(&c, 4); /* 8 bytes of path announced, 2 present */
    u8(&c, 0x20);
    u8(&c, 0x01);
    rr_data(&m2, CTX_B, &c);
    feed(f, C2S, m2.b, m2.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.cip_truncated"), 1);
    /* A reserved segment type in a path. */
    static const uint8_t badpath[] = {0xE0, 0x00};
    struct buf c3 = {0}, m3 = {0};
    cip_req(&c3, 0x0E, badpath, sizeof badpath, NULL, 0);
    rr_data(&m3, CTX_A, &c3);
    feed(f, C2S, m3.b, m3.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.invalid_path"), 1);
    /* An MSP whose offset points outside the packet. */
    struct buf d = {0}, c4 = {0}, m4 = {0};
    le16(&d, 1);
    le16(&d, 400);
    cip_req(&c4, 0x0A, PATH_MR, sizeof PATH_MR, d.b, d.n);
    rr_data(&m4, CTX_B, &c4);
    feed(f, C2S, m4.b, m4.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.msp_invalid_offset"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 0, "\"truncated\":true");
}

static void test_gap_resyncs(void **ts)
{
    struct fx *f = *ts;
    uint8_t all[1024];
    size_t rl;
    (void)conversation(all, sizeof all, &rl);
    feed(f, C2S, all, 10); /* part of a header, then a lost segment */
    qw_pending_reset(&f->pend[C2S]);
    qw_proto_enip.gap(&f->ctx, f->state, C2S);
    static const uint8_t junk[] = {0x11, 0x22, 0x33, 0x44, 0x55};
    feed(f, C2S, junk, sizeof junk);
    feed(f, C2S, all, rl);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "get_attributes_all");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_response_without_request_and_flush(void **ts)
{
    struct fx *f = *ts;
    struct buf c = {0}, m = {0};
    static const uint8_t v[] = {0x01, 0x00};
    cip_rsp(&c, 0x0E, 0, NULL, 0, v, sizeof v);
    rr_data(&m, CTX_A, &c);
    feed(f, S2C, m.b, m.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    assert_true(txn_at(f, 0)->has_response);
    assert_string_equal(txn_at(f, 0)->function_name, "get_attribute_single");
    JSON_LACKS(f, 0, "\"request\"");
    struct buf c2 = {0}, m2 = {0};
    cip_req(&c2, 0x0E, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
    rr_data(&m2, CTX_A, &c2);
    feed(f, C2S, m2.b, m2.n);
    assert_int_equal(f->rec.ntxns, 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_request);
    assert_false(txn_at(f, 1)->has_response);
}

static void test_queue_overflow(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 20; i++) {
        struct buf c = {0}, m = {0};
        cip_req(&c, 0x0E, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
        rr_data(&m, CTX_A, &c);
        feed(f, C2S, m.b, m.n);
    }
    assert_int_equal(f->rec.ntxns, 12);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.request_queue_full"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 20);
}

static void test_udp_list_identity(void **ts)
{
    struct fx *f = *ts;
    struct buf req = {0}, rsp = {0};
    encap(&req, 0x0063, 0, 0, CTX_B, NULL);
    list_identity_reply(&rsp, CTX_B);
    qw_proto_enip.datagram(&f->ctx, f->state, C2S, req.b, req.n);
    qw_proto_enip.datagram(&f->ctx, f->state, S2C, rsp.b, rsp.n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(qw_record_identity(&f->rec, true, "serial"), "0x00524d8e");
    /* A datagram cut inside a message. */
    qw_proto_enip.datagram(&f->ctx, f->state, S2C, rsp.b, rsp.n - 5);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "enip.truncated_pdu"), 1);
}

/* ---- Probe -------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_enip.probe;
    struct buf li = {0}, reg = {0}, rb = {0}, rr = {0}, c = {0};
    encap(&li, 0x0063, 0, 0, CTX_B, NULL);
    assert_int_equal(probe(li.b, li.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(li.b, 10, C2S), QW_PROBE_NEED_MORE);
    le16(&rb, 1);
    le16(&rb, 0);
    encap(&reg, 0x0065, 0, 0, CTX_A, &rb);
    assert_int_equal(probe(reg.b, reg.n, C2S), QW_PROBE_MATCH);
    cip_req(&c, 0x0E, PATH_IDENTITY, sizeof PATH_IDENTITY, NULL, 0);
    rr_data(&rr, CTX_A, &c);
    assert_int_equal(probe(rr.b, rr.n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(rr.b, 24, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(rr.b, 36, C2S), QW_PROBE_MATCH); /* first item header seen */

    static const char http[] = "GET / HTTP/1.1\r\nHost: plc\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03};
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11,
                                     0x03, 0x00, 0x6B, 0x00, 0x03};
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    static const uint8_t zeros[64] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO); /* a NOP: refused */

    uint8_t b[256];
    memcpy(b, rr.b, rr.n);
    b[20] = 1; /* options */
    assert_int_equal(probe(b, rr.n, C2S), QW_PROBE_NO);
    memcpy(b, rr.b, rr.n);
    b[8] = 0x42; /* unknown status */
    assert_int_equal(probe(b, rr.n, C2S), QW_PROBE_NO);
    memcpy(b, rr.b, rr.n);
    b[32] = 0x77; /* unknown item type */
    assert_int_equal(probe(b, rr.n, C2S), QW_PROBE_NO);
    memcpy(b, rr.b, rr.n);
    b[38] = 0x30; /* item length beyond the message */
    assert_int_equal(probe(b, rr.n, C2S), QW_PROBE_NO);
    memcpy(b, rr.b, rr.n);
    b[24] = 1; /* interface handle not CIP */
    assert_int_equal(probe(b, rr.n, C2S), QW_PROBE_NO);
    memcpy(b, reg.b, reg.n);
    b[24] = 2; /* RegisterSession version 2 */
    assert_int_equal(probe(b, reg.n, C2S), QW_PROBE_NO);
    memcpy(b, reg.b, reg.n);
    b[2] = 8; /* RegisterSession with length 8 */
    assert_int_equal(probe(b, reg.n, C2S), QW_PROBE_NO);
    static const uint8_t legacy[24] = {0x01};
    assert_int_equal(probe(legacy, sizeof legacy, C2S), QW_PROBE_NO);
}

/* ---- Tables ------------------------------------------------------------------------------- */

static void test_tables(void **ts)
{
    (void)ts;
    assert_true(cip_vendor_count() >= 60);
    assert_string_equal(cip_vendor_name(1), "Rockwell Automation/Allen-Bradley");
    assert_string_equal(cip_vendor_name(243), "Schneider Electric");
    assert_string_equal(cip_vendor_name(283), "Hilscher");
    assert_string_equal(cip_vendor_name(309), "ProSoft Technology");
    assert_string_equal(cip_vendor_name(562), "Phoenix Contact");
    assert_string_equal(cip_vendor_name(939), "Cisco Systems");
    assert_null(cip_vendor_name(0));
    assert_string_equal(cip_class_name(0xF5), "tcpip_interface");
    assert_string_equal(cip_class_name(0x9A), "vendor_specific");
    assert_null(cip_class_name(0x99999));
    assert_string_equal(cip_status_name(0x1E), "embedded_service_error");
    assert_null(cip_status_name(0xFF));
    assert_string_equal(cip_cm_ext_status_name(0x0100),
                        "connection_in_use_or_duplicate_forward_open");
    assert_string_equal(cip_device_type_name(0x0E), "programmable_logic_controller");
    struct cip_service_info s = cip_service_lookup(0x52, true, 0x06, false);
    assert_string_equal(s.name, "unconnected_send");
    s = cip_service_lookup(0x52, false, 0, true);
    assert_string_equal(s.name, "read_tag_fragmented");
    s = cip_service_lookup(0x4C, true, 0x37, false);
    assert_string_equal(s.name, "initiate_download");
    assert_int_equal(s.ops, QW_OP_FILE | QW_OP_PROGRAM);
    s = cip_service_lookup(0x08, true, 0x6B, false);
    assert_int_equal(s.ops, QW_OP_PROGRAM);
    s = cip_service_lookup(0x4C, true, 0x72, false);
    assert_null(s.name);
    /* the ends of the class-specific table and a miss between two of its entries */
    s = cip_service_lookup(0x4E, true, 0x06, false);
    assert_string_equal(s.name, "forward_close");
    s = cip_service_lookup(0x4C, true, 0xF6, false);
    assert_string_equal(s.name, "get_and_clear");
    s = cip_service_lookup(0x53, true, 0x06, false);
    assert_null(s.name);
    assert_true(cip_class_services_sorted());
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_enip.name, "enip");
    assert_int_equal(qw_proto_enip.ports[0], 44818);
    assert_true(qw_proto_enip.transports & QW_TRANSPORT_TCP);
    assert_true(qw_proto_enip.transports & QW_TRANSPORT_UDP);
    assert_non_null(qw_proto_enip.parse);
    assert_non_null(qw_proto_enip.datagram);
    assert_non_null(qw_proto_enip.gap);
    assert_non_null(qw_proto_enip.flow_end);
    /* Bounded per-flow state (see the banner of enip.c for the budget). */
    assert_true(qw_proto_enip.state_size < 16 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_list_identity_pair_and_facts),
        FX_TEST(test_register_session_and_list_services),
        FX_TEST(test_no_reply_commands_emitted_at_once),
        FX_TEST(test_get_attributes_all_identity_direct),
        FX_TEST(test_unconnected_send_unwrapped),
        FX_TEST(test_unconnected_send_router_error),
        FX_TEST(test_forward_open_and_close),
        FX_TEST(test_unconnected_send_of_read_fragmented),
        FX_TEST(test_get_attribute_list_identity),
        FX_TEST(test_msp_read_tags_over_connection),
        FX_TEST(test_tag_services_by_class),
        FX_TEST(test_ops_by_class),
        FX_TEST(test_pccc_mode_change_and_reads),
        FX_TEST(test_path_formats),
        FX_TEST(test_split_at_every_offset),
        FX_TEST(test_several_pdus_in_one_chunk),
        FX_TEST(test_invalid_length_resyncs),
        FX_TEST(test_truncated_and_inconsistent),
        FX_TEST(test_gap_resyncs),
        FX_TEST(test_response_without_request_and_flush),
        FX_TEST(test_queue_overflow),
        FX_TEST(test_udp_list_identity),
        FX_TEST(test_probe),
        FX_TEST(test_tables),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("enip", tests, NULL, NULL);
}
