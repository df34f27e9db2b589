/* Unit tests for the OPC UA binary parser (src/proto/opcua.c).
 *
 * Messages are built with a small UA Binary encoder below (OPC 10000-6 s.5.2.2 layouts: Int32
 * string lengths, FourByte NodeIds, RequestHeader/ResponseHeader of OPC 10000-4 s.7.28/7.29) and
 * fed through qw_stream_deliver exactly as the engine does, into a recording sink. Decoded values
 * are checked on the txn summary and on the rendered "opcua" JSON object. */
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
#include "proto/opcua_tables.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_opcua;

#define PROTO qw_proto_opcua
#define FX_TS_STEP 0 /* the tests set packet times themselves */
#define FX_BUF_MAX 70000

#include "parser_fixture.h"

/* ---- Encoder ------------------------------------------------------------------------------- */

static void str(struct buf *b, const char *s)
{
    if (!s) {
        le32(b, 0xFFFFFFFFu);
        return;
    }
    le32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}
static void bytes(struct buf *b, size_t n, uint8_t fill)
{
    le32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) u8(b, fill);
}
/* FourByte NodeId (ns < 256, id < 65536). */
static void nid4(struct buf *b, uint8_t ns, uint16_t id)
{
    u8(b, 0x01);
    u8(b, ns);
    le16(b, id);
}
static void nid_str(struct buf *b, uint16_t ns, const char *s)
{
    u8(b, 0x03);
    le16(b, ns);
    str(b, s);
}
static void req_header(struct buf *b, uint32_t handle)
{
    u8(b, 0x00); /* AuthenticationToken: TwoByte 0 */
    u8(b, 0x00);
    le64(b, 0x01D7954A2B3C4D5Eull); /* Timestamp */
    le32(b, handle);
    le32(b, 0);        /* ReturnDiagnostics */
    str(b, NULL);     /* AuditEntryId */
    le32(b, 10000);    /* TimeoutHint */
    u8(b, 0x00);      /* AdditionalHeader: null ExtensionObject */
    u8(b, 0x00);
    u8(b, 0x00);
}
static void rsp_header(struct buf *b, uint32_t handle, uint32_t result)
{
    le64(b, 0x01D7954A2B3C4D5Eull);
    le32(b, handle);
    le32(b, result);
    u8(b, 0x00);          /* ServiceDiagnostics: empty */
    le32(b, 0xFFFFFFFFu);  /* StringTable: null */
    u8(b, 0x00);
    u8(b, 0x00);
    u8(b, 0x00);
}
static void appdesc(struct buf *b, const char *uri, const char *product, const char *name,
                    uint32_t type)
{
    str(b, uri);
    str(b, product);
    u8(b, 0x02); /* LocalizedText: text only */
    str(b, name);
    le32(b, type);
    str(b, NULL);
    str(b, NULL);
    le32(b, 0xFFFFFFFFu);
}

/* Wrap `body` (type id + structure) in a chunk. */
static void msg_chunk(struct buf *out, const char *type, char chunk, uint32_t channel,
                      uint32_t token, uint32_t seq, uint32_t reqid, const struct buf *body)
{
    size_t size = 8 + 4 + 4 + 8 + body->n;
    put(out, type, 3);
    u8(out, (uint8_t)chunk);
    le32(out, (uint32_t)size);
    le32(out, channel);
    le32(out, token);
    le32(out, seq);
    le32(out, reqid);
    put(out, body->b, body->n);
}

static void opn_chunk(struct buf *out, uint32_t channel, const char *policy, size_t cert,
                      size_t thumb, uint32_t seq, uint32_t reqid, const struct buf *body)
{
    struct buf *h = calloc(1, sizeof *h);
    assert_non_null(h);
    str(h, policy);
    if (cert) bytes(h, cert, 0x30);
    else str(h, NULL);
    if (thumb) bytes(h, thumb, 0xAB);
    else str(h, NULL);
    le32(h, seq);
    le32(h, reqid);
    put(h, body->b, body->n);
    put(out, "OPNF", 4);
    le32(out, (uint32_t)(8 + 4 + h->n));
    le32(out, channel);
    put(out, h->b, h->n);
    free(h);
}

static void hel(struct buf *out, const char *url)
{
    put(out, "HELF", 4);
    le32(out, (uint32_t)(8 + 20 + 4 + strlen(url)));
    le32(out, 0);
    le32(out, 65535);
    le32(out, 65535);
    le32(out, 0);
    le32(out, 0);
    str(out, url);
}

static void ack(struct buf *out)
{
    put(out, "ACKF", 4);
    le32(out, 28);
    le32(out, 0);
    le32(out, 8192);
    le32(out, 8192);
    le32(out, 16777216);
    le32(out, 64);
}

static const char NONE[] = "http://opcfoundation.org/UA/SecurityPolicy#None";
static const char B256[] = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";

static void opn_req_body(struct buf *b, uint32_t mode)
{
    nid4(b, 0, UA_ID_OPN_REQ);
    req_header(b, 0);
    le32(b, 0);      /* ClientProtocolVersion */
    le32(b, 0);      /* Issue */
    le32(b, mode);
    str(b, NULL);   /* ClientNonce */
    le32(b, 600000);
}

static void opn_rsp_body(struct buf *b, uint32_t channel)
{
    nid4(b, 0, UA_ID_OPN_RSP);
    rsp_header(b, 0, 0);
    le32(b, 0);
    le32(b, channel);
    le32(b, 7);      /* TokenId */
    le64(b, 0x01D7954A2B3C4D5Eull);
    le32(b, 600000);
    str(b, NULL);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

/* What a test builds for each direction, until feed_buf sends it. */
static struct buf c2s_out, s2c_out;

static int opcua_setup(void **tstate)
{
    c2s_out.n = s2c_out.n = 0;
    return fx_setup(tstate);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, opcua_setup, fx_teardown)

static void feed_buf(struct fx *f, enum qw_dir dir, struct buf *b)
{
    feed(f, dir, b->b, b->n);
    b->n = 0;
}

/* Secure channel 5 opened with policy None: HEL/ACK, OPN pair. Leaves 2 records. */
static void open_none(struct fx *f)
{
    struct buf *body = calloc(1, sizeof *body);
    assert_non_null(body);
    hel(&c2s_out, "opc.tcp://plc1:4840");
    feed_buf(f, C2S, &c2s_out);
    ack(&s2c_out);
    feed_buf(f, S2C, &s2c_out);
    opn_req_body(body, 1);
    opn_chunk(&c2s_out, 0, NONE, 0, 0, 1, 1, body);
    feed_buf(f, C2S, &c2s_out);
    body->n = 0;
    opn_rsp_body(body, 5);
    opn_chunk(&s2c_out, 5, NONE, 0, 0, 1, 1, body);
    feed_buf(f, S2C, &s2c_out);
    free(body);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_hello_ack_and_open_none(void **ts)
{
    struct fx *f = *ts;
    f->ctx.ts_ns = 1000;
    hel(&c2s_out, "opc.tcp://plc1:4840");
    feed_buf(f, C2S, &c2s_out);
    assert_int_equal(f->rec.ntxns, 0);
    f->ctx.ts_ns = 3000;
    ack(&s2c_out);
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0);
    assert_string_equal(t->function_name, "Hello");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_int_equal(t->request_ns, 1000);
    assert_int_equal(t->response_ns, 3000);
    JSON_HAS(f, 0, "\"request\":{\"message_type\":\"HEL\",\"chunk_type\":\"F\",\"message_size\":51,"
                   "\"function\":0,\"function_name\":\"Hello\",\"protocol_version\":0,"
                   "\"receive_buffer_size\":65535,\"send_buffer_size\":65535,"
                   "\"max_message_size\":0,\"max_chunk_count\":0,"
                   "\"endpoint_url\":\"opc.tcp://plc1:4840\"}");
    JSON_HAS(f, 0, "\"response\":{\"message_type\":\"ACK\",\"chunk_type\":\"F\",\"message_size\":28,"
                   "\"function\":0,\"function_name\":\"Acknowledge\",\"protocol_version\":0,"
                   "\"receive_buffer_size\":8192,\"send_buffer_size\":8192,"
                   "\"max_message_size\":16777216,\"max_chunk_count\":64}");

    struct buf *body = calloc(1, sizeof *body);
    assert_non_null(body);
    opn_req_body(body, 1);
    opn_chunk(&c2s_out, 0, NONE, 0, 0, 1, 1, body);
    feed_buf(f, C2S, &c2s_out);
    body->n = 0;
    opn_rsp_body(body, 5);
    opn_chunk(&s2c_out, 5, NONE, 0, 0, 1, 1, body);
    feed_buf(f, S2C, &s2c_out);
    free(body);
    assert_int_equal(f->rec.ntxns, 2);
    t = txn_at(f, 1);
    assert_int_equal(t->function, 446);
    assert_string_equal(t->function_name, "OpenSecureChannelRequest");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_false(t->error);
    JSON_HAS(f, 1, "\"secure_channel_id\":0,\"security_policy_uri\":"
                   "\"http://opcfoundation.org/UA/SecurityPolicy#None\",\"security_none\":true,"
                   "\"sender_certificate_present\":false,\"receiver_thumbprint_present\":false,"
                   "\"sequence_number\":1,\"request_id\":1,\"function\":446,"
                   "\"function_name\":\"OpenSecureChannelRequest\",\"service\":\"OpenSecureChannel\","
                   "\"request_handle\":0,\"client_protocol_version\":0,\"request_type\":\"issue\","
                   "\"security_mode\":\"none\",\"requested_lifetime\":600000}");
    JSON_HAS(f, 1, "\"function\":449,\"function_name\":\"OpenSecureChannelResponse\","
                   "\"service\":\"OpenSecureChannel\",\"request_handle\":0,\"service_result\":0,"
                   "\"service_result_name\":\"Good\",\"server_protocol_version\":0,"
                   "\"security_token_channel_id\":5,\"security_token_id\":7,"
                   "\"revised_lifetime\":600000}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void read_pair(struct buf *c2s, struct buf *s2c, uint32_t reqid)
{
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    nid4(b, 0, 631);
    req_header(b, 42);
    le64(b, 0);      /* MaxAge */
    le32(b, 2);      /* TimestampsToReturn */
    le32(b, 2);      /* two ReadValueIds */
    nid_str(b, 2, "Crane1.Hoist.Speed");
    le32(b, 13);     /* Value */
    str(b, NULL);
    le16(b, 0);
    str(b, NULL);
    nid4(b, 0, 2258);
    le32(b, 13);
    str(b, NULL);
    le16(b, 0);
    str(b, NULL);
    msg_chunk(c2s, "MSG", 'F', 5, 7, 2 + reqid, reqid, b);
    b->n = 0;
    nid4(b, 0, 634);
    rsp_header(b, 42, 0);
    le32(b, 0);      /* Results: empty */
    le32(b, 0xFFFFFFFFu);
    msg_chunk(s2c, "MSG", 'F', 5, 7, 2 + reqid, reqid, b);
    free(b);
}

static void test_read_pair_latency_and_fields(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    read_pair(&c2s_out, &s2c_out, 9);
    f->ctx.ts_ns = 5000;
    feed_buf(f, C2S, &c2s_out);
    f->ctx.ts_ns = 7500;
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 3);
    const struct qw_txn *t = txn_at(f, 2);
    assert_int_equal(t->function, 631);
    assert_string_equal(t->function_name, "ReadRequest");
    assert_int_equal(t->ops, QW_OP_READ);
    assert_int_equal(t->request_ns, 5000);
    assert_int_equal(t->response_ns, 7500);
    JSON_HAS(f, 2, "\"request\":{\"message_type\":\"MSG\",\"chunk_type\":\"F\",");
    JSON_HAS(f, 2, "\"secure_channel_id\":5,\"token_id\":7,\"sequence_number\":11,"
                   "\"request_id\":9,\"function\":631,\"function_name\":\"ReadRequest\","
                   "\"service\":\"Read\",\"request_handle\":42,\"operations\":2,"
                   "\"first_node_id\":\"ns=2;s=Crane1.Hoist.Speed\",\"first_attribute_id\":13}");
    JSON_HAS(f, 2, "\"function\":634,\"function_name\":\"ReadResponse\",\"service\":\"Read\","
                   "\"request_handle\":42,\"service_result\":0,\"service_result_name\":\"Good\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_service_ops_table(void **ts)
{
    (void)ts;
    static const struct {
        uint32_t id;
        const char *type;
        uint32_t ops;
    } cases[] = {
        {631, "ReadRequest", QW_OP_READ},      {673, "WriteRequest", QW_OP_WRITE},
        {700, "HistoryUpdateRequest", QW_OP_WRITE}, {712, "CallRequest", QW_OP_CONTROL},
        {488, "AddNodesRequest", QW_OP_CONFIG}, {500, "DeleteNodesRequest", QW_OP_CONFIG},
        {494, "AddReferencesRequest", QW_OP_CONFIG}, {527, "BrowseRequest", QW_OP_READ},
        {664, "HistoryReadRequest", QW_OP_READ}, {461, "CreateSessionRequest", QW_OP_SESSION},
        {467, "ActivateSessionRequest", QW_OP_SESSION | QW_OP_AUTH},
        {473, "CloseSessionRequest", QW_OP_SESSION}, {428, "GetEndpointsRequest", QW_OP_IDENTIFY},
        {422, "FindServersRequest", QW_OP_IDENTIFY}, {787, "CreateSubscriptionRequest", QW_OP_READ},
        {751, "CreateMonitoredItemsRequest", QW_OP_READ}, {826, "PublishRequest", QW_OP_READ},
        {397, "ServiceFault", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ua_service *s = ua_service_by_id(cases[i].id);
        assert_non_null(s);
        assert_string_equal(s->type, cases[i].type);
        assert_int_equal(s->ops, cases[i].ops);
    }
    assert_null(ua_service_by_id(632));
    /* Sorted for the binary search, requests and responses alternate kinds. */
    for (size_t i = 1; i < ua_service_count(); i++)
        assert_true(ua_service_at(i - 1)->id < ua_service_at(i)->id);
    assert_string_equal(ua_status_name(0x801F0000u), "BadUserAccessDenied");
    assert_string_equal(ua_status_name(0x80340000u | 0x0400u), "BadNodeIdUnknown");
    assert_null(ua_status_name(0x8FFF0000u));
}

static void test_write_call_addnodes_fault(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    /* Write of one value */
    nid4(b, 0, 673);
    req_header(b, 1);
    le32(b, 1);
    nid_str(b, 3, "Tank7.Valve.Open");
    le32(b, 13);
    str(b, NULL);
    u8(b, 0x01); /* DataValue with a Variant */
    u8(b, 0x01); /* Boolean */
    u8(b, 0x01);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 3, 3, b);
    feed_buf(f, C2S, &c2s_out);
    b->n = 0;
    nid4(b, 0, UA_ID_SERVICE_FAULT);
    rsp_header(b, 1, 0x801F0000u);
    msg_chunk(&s2c_out, "MSG", 'F', 5, 7, 3, 3, b);
    feed_buf(f, S2C, &s2c_out);
    /* Call of a method */
    b->n = 0;
    nid4(b, 0, 712);
    req_header(b, 2);
    le32(b, 1);
    nid4(b, 2, 5001);   /* ObjectId */
    nid4(b, 2, 5002);   /* MethodId */
    le32(b, 0);          /* no arguments */
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 4, 4, b);
    feed_buf(f, C2S, &c2s_out);
    b->n = 0;
    nid4(b, 0, 488);
    req_header(b, 3);
    le32(b, 0);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 5, 5, b);
    feed_buf(f, C2S, &c2s_out);
    free(b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 5);
    const struct qw_txn *t = txn_at(f, 2);
    assert_string_equal(t->function_name, "WriteRequest");
    assert_int_equal(t->ops, QW_OP_WRITE);
    assert_true(t->error);
    JSON_HAS(f, 2, "\"operations\":1,\"first_node_id\":\"ns=3;s=Tank7.Valve.Open\"");
    JSON_HAS(f, 2, "\"function\":397,\"function_name\":\"ServiceFault\",\"request_handle\":1,"
                   "\"service_result\":2149515264,\"service_result_name\":\"BadUserAccessDenied\"");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_CONTROL);
    JSON_HAS(f, 3, "\"operations\":1,\"object_id\":\"ns=2;i=5001\",\"method_id\":\"ns=2;i=5002\"");
    assert_false(txn_at(f, 3)->has_response);
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_CONFIG);
    assert_string_equal(txn_at(f, 4)->function_name, "AddNodesRequest");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void activate(struct buf *out, uint32_t token_type, uint32_t reqid)
{
    struct buf *b = calloc(1, sizeof *b);
    struct buf *tok = calloc(1, sizeof *tok);
    assert_non_null(b);
    assert_non_null(tok);
    nid4(b, 0, 467);
    req_header(b, 4);
    str(b, NULL);        /* ClientSignature.Algorithm */
    str(b, NULL);        /* ClientSignature.Signature */
    le32(b, 0);           /* ClientSoftwareCertificates */
    le32(b, 1);           /* LocaleIds */
    str(b, "en");
    str(tok, "username_basic256");
    if (token_type == UA_ID_USERNAME_TOKEN) {
        str(tok, "operator");
        str(tok, "s3cretPassw0rd");
        str(tok, NULL);
    }
    nid4(b, 0, (uint16_t)token_type);
    u8(b, 0x01);
    le32(b, (uint32_t)tok->n);
    put(b, tok->b, tok->n);
    str(b, NULL);        /* UserTokenSignature */
    str(b, NULL);
    msg_chunk(out, "MSG", 'F', 5, 7, 10 + reqid, reqid, b);
    free(b);
    free(tok);
}

static void test_activate_session_tokens(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    activate(&c2s_out, UA_ID_USERNAME_TOKEN, 20);
    activate(&c2s_out, UA_ID_ANONYMOUS_TOKEN, 21);
    activate(&c2s_out, UA_ID_X509_TOKEN, 22);
    activate(&c2s_out, UA_ID_ISSUED_TOKEN, 23);
    feed_buf(f, C2S, &c2s_out);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 6);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_SESSION | QW_OP_AUTH);
    JSON_HAS(f, 2, "\"identity_token\":\"user_name\",\"identity_token_type_id\":324,"
                   "\"identity_policy_id\":\"username_basic256\",\"user_name_present\":true}");
    JSON_LACKS(f, 2, "s3cret");
    JSON_LACKS(f, 2, "operator");
    JSON_HAS(f, 3, "\"identity_token\":\"anonymous\",\"identity_token_type_id\":321");
    JSON_HAS(f, 4, "\"identity_token\":\"x509\",\"identity_token_type_id\":327");
    JSON_HAS(f, 5, "\"identity_token\":\"issued\",\"identity_token_type_id\":940");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void endpoint(struct buf *b, const char *url, uint32_t mode, const char *policy)
{
    str(b, url);
    appdesc(b, "urn:plc1:server", "urn:vendor:product", "Crane PLC Server", 0);
    bytes(b, 300, 0x30); /* ServerCertificate */
    le32(b, mode);
    str(b, policy);
    le32(b, 2);           /* UserIdentityTokens */
    str(b, "anon");
    le32(b, 0);
    str(b, NULL);
    str(b, NULL);
    str(b, NULL);
    str(b, "user");
    le32(b, 1);
    str(b, NULL);
    str(b, NULL);
    str(b, B256);
    str(b, "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary");
    u8(b, mode == 3 ? 100 : 0);
}

static void get_endpoints_response(struct buf *b, uint32_t n)
{
    nid4(b, 0, UA_ID_GET_ENDPOINTS_RSP);
    rsp_header(b, 1, 0);
    le32(b, n);
    for (uint32_t i = 0; i < n; i++)
        endpoint(b, "opc.tcp://plc1:4840", i % 2 ? 3 : 1, i % 2 ? B256 : NONE);
}

static void test_get_endpoints_identity(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    nid4(b, 0, UA_ID_GET_ENDPOINTS_REQ);
    req_header(b, 1);
    str(b, "opc.tcp://plc1:4840");
    le32(b, 0);
    le32(b, 0);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 2, 2, b);
    feed_buf(f, C2S, &c2s_out);
    b->n = 0;
    get_endpoints_response(b, 2);
    msg_chunk(&s2c_out, "MSG", 'F', 5, 7, 2, 2, b);
    feed_buf(f, S2C, &s2c_out);
    free(b);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 2, "\"function\":428,\"function_name\":\"GetEndpointsRequest\","
                   "\"service\":\"GetEndpoints\",\"request_handle\":1,"
                   "\"endpoint_url\":\"opc.tcp://plc1:4840\"}");
    JSON_HAS(f, 2, "\"endpoints_count\":2,\"endpoints\":[{\"endpoint_url\":\"opc.tcp://plc1:4840\","
                   "\"security_mode\":\"none\",\"security_policy_uri\":"
                   "\"http://opcfoundation.org/UA/SecurityPolicy#None\",\"security_level\":0,"
                   "\"server_certificate_present\":true,\"user_token_types\":[\"anonymous\","
                   "\"user_name\"],\"application_uri\":\"urn:plc1:server\",\"product_uri\":"
                   "\"urn:vendor:product\",\"application_name\":\"Crane PLC Server\","
                   "\"application_type\":\"server\"},{");
    JSON_HAS(f, 2, "\"security_mode\":\"sign_and_encrypt\",\"security_policy_uri\":"
                   "\"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256\","
                   "\"security_level\":100");
    assert_string_equal(qw_record_identity(&f->rec, true, "application_uri"), "urn:plc1:server");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_uri"), "urn:vendor:product");
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "Crane PLC Server");
    assert_null(qw_record_identity(&f->rec, false, "name"));
    assert_int_equal(f->rec.nidentities, 3); /* once per attribute, not per endpoint */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_create_session_pair(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    nid4(b, 0, UA_ID_CREATE_SESSION_REQ);
    req_header(b, 1);
    appdesc(b, "urn:hmi1:client", "urn:scada:hmi", "Terminal HMI", 1);
    str(b, NULL);
    str(b, "opc.tcp://plc1:4840");
    str(b, "Session-1");
    bytes(b, 32, 0x11);
    bytes(b, 500, 0x30);
    le64(b, 0);
    le32(b, 0);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 2, 2, b);
    feed_buf(f, C2S, &c2s_out);
    b->n = 0;
    nid4(b, 0, UA_ID_CREATE_SESSION_RSP);
    rsp_header(b, 1, 0);
    nid4(b, 1, 77);
    u8(b, 0x04);  /* Guid AuthenticationToken */
    le16(b, 1);
    for (int i = 0; i < 16; i++) u8(b, (uint8_t)i);
    le64(b, 0);
    bytes(b, 32, 0x22);
    bytes(b, 900, 0x30);
    le32(b, 1);
    endpoint(b, "opc.tcp://plc1:4840", 1, NONE);
    le32(b, 0);
    str(b, NULL);
    str(b, NULL);
    le32(b, 0);
    msg_chunk(&s2c_out, "MSG", 'F', 5, 7, 2, 2, b);
    feed_buf(f, S2C, &s2c_out);
    free(b);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"endpoint_url\":\"opc.tcp://plc1:4840\",\"client_description\":{"
                   "\"application_uri\":\"urn:hmi1:client\",\"product_uri\":\"urn:scada:hmi\","
                   "\"application_name\":\"Terminal HMI\",\"application_type\":\"client\"},"
                   "\"session_name\":\"Session-1\"}");
    JSON_HAS(f, 2, "\"server_certificate_present\":true,\"server_certificate_length\":900,"
                   "\"endpoints_count\":1");
    assert_string_equal(qw_record_identity(&f->rec, false, "product_uri"), "urn:scada:hmi");
    assert_string_equal(qw_record_identity(&f->rec, true, "product_uri"), "urn:vendor:product");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_error_message_pairs_with_hello(void **ts)
{
    struct fx *f = *ts;
    hel(&c2s_out, "opc.tcp://plc1:4840/wrong");
    feed_buf(f, C2S, &c2s_out);
    put(&s2c_out, "ERRF", 4);
    le32(&s2c_out, 8 + 4 + 4 + 11);
    le32(&s2c_out, 0x80830000u);
    str(&s2c_out, "bad url 123");
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"response\":{\"message_type\":\"ERR\",\"chunk_type\":\"F\",\"message_size\":27,"
                   "\"function\":0,\"function_name\":\"Error\",\"error\":2156068864,"
                   "\"error_name\":\"BadTcpEndpointUrlInvalid\",\"reason\":\"bad url 123\"}");
}

/* A channel with a secure policy: OPN is encrypted, MSG chunks are either ciphertext or (mode
 * Sign) plain, and only the latter are decoded. */
static void test_encrypted_and_signed_channels(void **ts)
{
    struct fx *f = *ts;
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    for (int i = 0; i < 80; i++) u8(b, (uint8_t)(i * 37 + 11)); /* "ciphertext" */
    opn_chunk(&c2s_out, 0, B256, 1200, 20, 0x5A5A5A5A, 0xA5A5A5A5, b);
    feed_buf(f, C2S, &c2s_out);
    opn_chunk(&s2c_out, 9, B256, 1100, 20, 0x11111111, 0x22222222, b);
    feed_buf(f, S2C, &s2c_out);
    /* Encrypted MSG: type id bytes are noise */
    msg_chunk(&c2s_out, "MSG", 'F', 9, 1, 0x01020304, 0x05060708, b);
    feed_buf(f, C2S, &c2s_out);
    /* Signed-only MSG: plain body followed by a signature */
    b->n = 0;
    nid4(b, 0, 631);
    req_header(b, 5);
    le64(b, 0);
    le32(b, 0);
    le32(b, 0);
    for (int i = 0; i < 32; i++) u8(b, 0xEE); /* signature */
    msg_chunk(&c2s_out, "MSG", 'F', 9, 1, 51, 2, b);
    feed_buf(f, C2S, &c2s_out);
    free(b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 0, "\"secure_channel_id\":0,\"security_policy_uri\":"
                   "\"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256\","
                   "\"security_none\":false,\"sender_certificate_present\":true,"
                   "\"sender_certificate_length\":1200,\"receiver_thumbprint_present\":true,"
                   "\"encrypted\":true,\"function\":0,\"function_name\":\"OpenSecureChannel\"}");
    JSON_LACKS(f, 0, "sequence_number");
    assert_true(txn_at(f, 1)->has_response);
    assert_false(txn_at(f, 1)->has_request);
    assert_string_equal(txn_at(f, 2)->function_name, "encrypted");
    assert_int_equal(txn_at(f, 2)->ops, 0);
    JSON_HAS(f, 2, "\"secure_channel_id\":9,\"token_id\":1,\"encrypted\":true,\"function\":0,"
                   "\"function_name\":\"encrypted\"}");
    JSON_LACKS(f, 2, "request_id");
    assert_string_equal(txn_at(f, 3)->function_name, "ReadRequest");
    JSON_HAS(f, 3, "\"sequence_number\":51,\"request_id\":2,\"function\":631");
    JSON_LACKS(f, 3, "encrypted");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* The conversation used by the split tests. */
static void conversation(struct buf *c2s, struct buf *s2c)
{
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    hel(c2s, "opc.tcp://plc1:4840");
    ack(s2c);
    opn_req_body(b, 1);
    opn_chunk(c2s, 0, NONE, 0, 0, 1, 1, b);
    b->n = 0;
    opn_rsp_body(b, 5);
    opn_chunk(s2c, 5, NONE, 0, 0, 1, 1, b);
    read_pair(c2s, s2c, 2);
    activate(c2s, UA_ID_USERNAME_TOKEN, 3); /* never answered */
    b->n = 0;
    nid4(b, 0, UA_ID_GET_ENDPOINTS_REQ);
    req_header(b, 1);
    str(b, "opc.tcp://plc1:4840");
    le32(b, 0);
    le32(b, 0);
    msg_chunk(c2s, "MSG", 'F', 5, 7, 6, 4, b);
    b->n = 0;
    get_endpoints_response(b, 1);
    msg_chunk(s2c, "MSG", 'F', 5, 7, 3, 4, b);
    free(b);
}

static void check_five_clean_records(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct buf *c2s = calloc(1, sizeof *c2s), *s2c = calloc(1, sizeof *s2c);
    assert_non_null(c2s);
    assert_non_null(s2c);
    conversation(c2s, s2c);
    const struct msg conv[] = {{C2S, c2s->b, c2s->n}, {S2C, s2c->b, s2c->n}};
    check_every_split_with(f, conv, 2, check_five_clean_records);
    free(c2s);
    free(s2c);
}

static void test_multi_chunk_reassembly(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b), *body = calloc(1, sizeof *body);
    assert_non_null(b);
    assert_non_null(body);
    nid4(b, 0, UA_ID_GET_ENDPOINTS_REQ);
    req_header(b, 1);
    str(b, NULL);
    le32(b, 0);
    le32(b, 0);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 2, 2, b);
    feed_buf(f, C2S, &c2s_out);
    get_endpoints_response(body, 3);
    /* Three chunks: C, C, F, each with its own headers. */
    size_t third = body->n / 3;
    for (int k = 0; k < 3; k++) {
        b->n = 0;
        size_t from = (size_t)k * third, to = k == 2 ? body->n : from + third;
        put(b, body->b + from, to - from);
        msg_chunk(&s2c_out, "MSG", k == 2 ? 'F' : 'C', 5, 7, (uint32_t)(2 + k), 2, b);
    }
    feed_buf(f, S2C, &s2c_out);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"message_size\":");
    JSON_HAS(f, 2, "\"chunks\":3,");
    JSON_HAS(f, 2, "\"endpoints_count\":3,\"endpoints\":[{");
    JSON_LACKS(f, 2, "body_truncated");
    assert_string_equal(qw_record_identity(&f->rec, true, "name"), "Crane PLC Server");
    /* An aborted message: C then A with error and reason. */
    b->n = 0;
    nid4(b, 0, 631);
    req_header(b, 9);
    msg_chunk(&c2s_out, "MSG", 'C', 5, 7, 10, 10, b);
    b->n = 0;
    le32(b, 0x80B80000u);
    str(b, "too large");
    msg_chunk(&c2s_out, "MSG", 'A', 5, 7, 11, 10, b);
    feed_buf(f, C2S, &c2s_out);
    free(b);
    free(body);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 3, "\"chunk_type\":\"A\"");
    JSON_HAS(f, 3, "\"chunks\":2,");
    JSON_HAS(f, 3, "\"function\":631,\"function_name\":\"ReadRequest\"");
    JSON_HAS(f, 3, "\"aborted\":true,\"abort_error\":2159542272,"
                   "\"abort_error_name\":\"BadRequestTooLarge\",\"abort_reason\":\"too large\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_several_messages_in_one_segment(void **ts)
{
    struct fx *f = *ts;
    struct buf *c2s = calloc(1, sizeof *c2s), *s2c = calloc(1, sizeof *s2c);
    assert_non_null(c2s);
    assert_non_null(s2c);
    conversation(c2s, s2c);
    feed(f, C2S, c2s->b, c2s->n);
    feed(f, S2C, s2c->b, s2c->n);
    flow_end(f);
    free(c2s);
    free(s2c);
    assert_int_equal(f->rec.ntxns, 5);
    assert_string_equal(txn_at(f, 0)->function_name, "Hello");
    assert_string_equal(txn_at(f, 1)->function_name, "OpenSecureChannelRequest");
    assert_string_equal(txn_at(f, 2)->function_name, "ReadRequest");
    assert_true(txn_at(f, 2)->has_response);
    assert_string_equal(txn_at(f, 3)->function_name, "GetEndpointsRequest");
    assert_true(txn_at(f, 3)->has_response);
    assert_string_equal(txn_at(f, 4)->function_name, "ActivateSessionRequest");
    assert_false(txn_at(f, 4)->has_response); /* flushed at flow end */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_response_of_another_service(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    activate(&c2s_out, UA_ID_ANONYMOUS_TOKEN, 3);
    feed_buf(f, C2S, &c2s_out);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    get_endpoints_response(b, 1);
    msg_chunk(&s2c_out, "MSG", 'F', 5, 7, 3, 3, b);
    feed_buf(f, S2C, &s2c_out);
    free(b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "opcua.service_mismatch"), 1);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(txn_at(f, 2)->function_name, "ActivateSessionRequest");
}

static void test_truncated_and_invalid(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    /* ReadRequest whose body ends inside its RequestHeader */
    nid4(b, 0, 631);
    u8(b, 0x00);
    u8(b, 0x00);
    le32(b, 1);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 2, 2, b);
    /* String with length -5 */
    b->n = 0;
    nid4(b, 0, UA_ID_GET_ENDPOINTS_REQ);
    req_header(b, 1);
    le32(b, 0xFFFFFFFBu);
    msg_chunk(&c2s_out, "MSG", 'F', 5, 7, 3, 3, b);
    feed_buf(f, C2S, &c2s_out);
    free(b);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "opcua.truncated_message"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "opcua.invalid_encoding"), 1);
    assert_int_equal(f->rec.ntxns, 4);
    JSON_HAS(f, 2, "\"function_name\":\"ReadRequest\",\"service\":\"Read\",\"truncated\":true}");
    JSON_LACKS(f, 2, "request_handle");
    JSON_HAS(f, 3, "\"request_handle\":1,\"truncated\":true}");
}

static void test_invalid_header_resync_and_gap(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *c2s = calloc(1, sizeof *c2s), *s2c = calloc(1, sizeof *s2c);
    assert_non_null(c2s);
    assert_non_null(s2c);
    /* Junk, then a valid request */
    put(&c2s_out, "XYZF\x10\x00\x00\x00junkjunk", 16);
    read_pair(c2s, s2c, 4);
    put(&c2s_out, c2s->b, c2s->n);
    feed_buf(f, C2S, &c2s_out);
    feed(f, S2C, s2c->b, s2c->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "opcua.invalid_header"), 1);
    assert_int_equal(f->rec.ntxns, 3);
    assert_true(txn_at(f, 2)->has_response);
    /* A gap in the middle of a chunk: the next chunk is found again. */
    c2s->n = s2c->n = 0;
    read_pair(c2s, s2c, 5);
    feed(f, C2S, c2s->b, 30);
    f->pend[C2S].len = 0; /* the engine drops the pending tail on a gap */
    qw_proto_opcua.gap(&f->ctx, f->state, C2S);
    size_t second = c2s->n;
    read_pair(c2s, s2c, 6);
    feed(f, C2S, c2s->b + 40, c2s->n - 40); /* resumes inside request 5, then request 6 */
    feed(f, S2C, s2c->b, s2c->n);
    (void)second;
    flow_end(f);
    free(c2s);
    free(s2c);
    /* request 6 paired; the response to 5 arrives alone */
    int paired6 = 0, alone5 = 0;
    for (size_t i = 3; i < f->rec.ntxns; i++) {
        const char *j = f->rec.txns[i].json;
        if (strstr(j, "\"request_id\":6") && f->rec.txns[i].txn.has_request &&
            f->rec.txns[i].txn.has_response)
            paired6++;
        if (strstr(j, "\"request_id\":5") && !f->rec.txns[i].txn.has_request) alone5++;
    }
    assert_int_equal(paired6, 1);
    assert_int_equal(alone5, 1);
}

static void test_oversized_chunk_streams(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    /* A 40 KB Read response (larger than the chunk size parsed whole) then a small one. */
    nid4(b, 0, 634);
    rsp_header(b, 3, 0);
    le32(b, 1);
    for (int i = 0; i < 40000; i++) u8(b, 0x55);
    msg_chunk(&s2c_out, "MSG", 'F', 5, 7, 2, 2, b);
    size_t big = s2c_out.n;
    read_pair(&c2s_out, &s2c_out, 3);
    feed_buf(f, C2S, &c2s_out);
    for (size_t off = 0; off < s2c_out.n; off += 1460) {
        size_t n = s2c_out.n - off < 1460 ? s2c_out.n - off : 1460;
        feed(f, S2C, s2c_out.b + off, n);
    }
    s2c_out.n = 0;
    free(b);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    char want[64];
    snprintf(want, sizeof want, "\"message_size\":%zu,", big);
    JSON_HAS(f, 2, want);
    JSON_HAS(f, 2, "\"function\":634,\"function_name\":\"ReadResponse\"");
    assert_true(txn_at(f, 3)->has_request && txn_at(f, 3)->has_response);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    open_none(f);
    struct buf *c2s = calloc(1, sizeof *c2s), *s2c = calloc(1, sizeof *s2c);
    assert_non_null(c2s);
    assert_non_null(s2c);
    for (uint32_t i = 0; i < 40; i++) read_pair(c2s, s2c, 100 + i);
    feed(f, C2S, c2s->b, c2s->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "opcua.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2 + 8);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2 + 40);
    free(c2s);
    free(s2c);
}

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_opcua.probe;
    struct buf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    hel(b, "opc.tcp://plc1:4840");
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b->b, 2, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(b->b, 7, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(probe(b->b, 20, C2S), QW_PROBE_NEED_MORE);
    b->n = 0;
    ack(b);
    assert_int_equal(probe(b->b, b->n, S2C), QW_PROBE_MATCH);
    struct buf *body = calloc(1, sizeof *body);
    assert_non_null(body);
    opn_req_body(body, 1);
    b->n = 0;
    opn_chunk(b, 0, NONE, 0, 0, 1, 1, body);
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(probe(b->b, 30, C2S), QW_PROBE_NEED_MORE);
    b->n = 0;
    read_pair(b, body, 3); /* mid-connection start */
    assert_int_equal(probe(b->b, b->n, C2S), QW_PROBE_MATCH);
    free(body);

    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03};
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B};
    static const uint8_t mqtt[] = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02};
    static const uint8_t helx[] = {'H', 'E', 'L', 'X', 32, 0, 0, 0};
    static const uint8_t hel_small[] = {'H', 'E', 'L', 'F', 20, 0, 0, 0};
    static const uint8_t hel_chunk[] = {'H', 'E', 'L', 'C', 40, 0, 0, 0};
    static const uint8_t msg_huge[] = {'M', 'S', 'G', 'F', 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t text[] = "MSGF is a word followed by text";
    static const uint8_t err_good[] = {'E', 'R', 'R', 'F', 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t opn_nopolicy[] = {'O', 'P', 'N', 'F', 60, 0, 0, 0, 0, 0, 0, 0,
                                           5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    assert_int_equal(probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    assert_int_equal(probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    assert_int_equal(probe(mqtt, sizeof mqtt, C2S), QW_PROBE_NO);
    assert_int_equal(probe(helx, sizeof helx, C2S), QW_PROBE_NO);
    assert_int_equal(probe(hel_small, sizeof hel_small, C2S), QW_PROBE_NO);
    assert_int_equal(probe(hel_chunk, sizeof hel_chunk, C2S), QW_PROBE_NO);
    assert_int_equal(probe(msg_huge, sizeof msg_huge, C2S), QW_PROBE_NO);
    assert_int_equal(probe(text, sizeof text - 1, C2S), QW_PROBE_NO);
    assert_int_equal(probe(err_good, sizeof err_good, S2C), QW_PROBE_NO);
    assert_int_equal(probe(opn_nopolicy, sizeof opn_nopolicy, C2S), QW_PROBE_NO);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 73 + 5);
    assert_int_equal(probe(junk, sizeof junk, C2S), QW_PROBE_NO);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hello_ack_and_open_none),
        T(test_read_pair_latency_and_fields),
        cmocka_unit_test(test_service_ops_table),
        T(test_write_call_addnodes_fault),
        T(test_activate_session_tokens),
        T(test_get_endpoints_identity),
        T(test_create_session_pair),
        T(test_error_message_pairs_with_hello),
        T(test_encrypted_and_signed_channels),
        T(test_split_at_every_offset),
        T(test_multi_chunk_reassembly),
        T(test_several_messages_in_one_segment),
        T(test_response_of_another_service),
        T(test_truncated_and_invalid),
        T(test_invalid_header_resync_and_gap),
        T(test_oversized_chunk_streams),
        T(test_queue_full),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
