/* Unit tests for the PROFINET IO context management parser (src/proto/pnio_cm.c): the I&M0
 * read and the identity it gives (in both NDR byte orders), MultipleWrite with a refused part,
 * Connect blocks and a negative status, Control and Release commands, pairing (a response
 * without its request, unanswered requests, the queue bound, retransmissions, other PDUs of a
 * call), fragments, fault PDUs, the probe, and malformed lengths: every truncation of a PDU,
 * oversized block, record and array lengths. The PDUs are built here from the field layouts of
 * C706 and IEC 61158-6-10. */
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

extern const struct qw_proto qw_proto_pnio_cm;

#define PROTO qw_proto_pnio_cm
#define FX_TS_STEP 0
#define FX_BUF_MAX 4096

#include "parser_fixture.h"

/* ---- Builders ------------------------------------------------------------------------------ */

enum { IF_DEVICE = 1, IF_CONTROLLER = 2 };
enum { PT_REQUEST = 0, PT_PING = 1, PT_RESPONSE = 2, PT_FAULT = 3 };
#define F1_LAST 0x02
#define F1_FRAG 0x04
#define F1_IDEMPOTENT 0x20

struct hdr {
    uint8_t ptype, flags1, iface, act;
    bool le;
    uint32_t seq;
    uint16_t opnum, frag;
};

static void o16(struct buf *b, bool le, uint16_t v)
{
    if (le) le16(b, v);
    else u16(b, v);
}

static void o32(struct buf *b, bool le, uint32_t v)
{
    if (le) le32(b, v);
    else u32(b, v);
}

/* A UUID given in canonical order, written as NDR does. */
static void ndr_uuid(struct buf *b, bool le, const uint8_t u[16])
{
    o32(b, le, (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
    o16(b, le, (uint16_t)(u[4] << 8 | u[5]));
    o16(b, le, (uint16_t)(u[6] << 8 | u[7]));
    put(b, u + 8, 8);
}

/* The 80-octet header and the body. */
static void pdu(struct buf *b, const struct hdr *h, const struct buf *body)
{
    static const uint8_t object[16] = {0xDE, 0xA0, 0, 0, 0x6C, 0x97, 0x11, 0xD1,
                                       0x82, 0x71, 0x00, 0x01, 0x00, 0x03, 0x00, 0x2A};
    uint8_t iface[16] = {0xDE, 0xA0, 0, h->iface, 0x6C, 0x97, 0x11, 0xD1,
                         0x82, 0x71, 0x00, 0xA0, 0x24, 0x42, 0xDF, 0x7D};
    uint8_t act[16];
    memset(act, h->act, sizeof act);
    b->n = 0;
    u8(b, 4);
    u8(b, h->ptype);
    u8(b, h->flags1);
    u8(b, 0);
    u8(b, h->le ? 0x10 : 0x00);
    u8(b, 0);
    u8(b, 0);
    u8(b, 0);
    ndr_uuid(b, h->le, object);
    ndr_uuid(b, h->le, iface);
    ndr_uuid(b, h->le, act);
    o32(b, h->le, 0);
    o32(b, h->le, 1);
    o32(b, h->le, h->seq);
    o16(b, h->le, h->opnum);
    o16(b, h->le, 0xFFFF);
    o16(b, h->le, 0xFFFF);
    o16(b, h->le, (uint16_t)(body ? body->n : 0));
    o16(b, h->le, h->frag);
    u8(b, 0);
    u8(b, 0);
    if (body) put(b, body->b, body->n);
}

/* NDR arguments: ArgsMaximum (request) or PNIOStatus (response), ArgsLength, the array header,
 * then the blocks. */
static void ndr_args(struct buf *body, bool le, uint32_t first, const struct buf *blocks)
{
    body->n = 0;
    o32(body, le, first);
    o32(body, le, (uint32_t)blocks->n);
    o32(body, le, first > 0xFFFF ? 4096 : (first ? first : 4096));
    o32(body, le, 0);
    o32(body, le, (uint32_t)blocks->n);
    put(body, blocks->b, blocks->n);
}

static size_t block_begin(struct buf *b, uint16_t type)
{
    size_t at = b->n;
    u16(b, type);
    u16(b, 0);
    u8(b, 1);
    u8(b, 0);
    return at;
}

static void block_end(struct buf *b, size_t at)
{
    uint16_t len = (uint16_t)(b->n - at - 4);
    b->b[at + 2] = (uint8_t)(len >> 8);
    b->b[at + 3] = (uint8_t)len;
}

static void zeros(struct buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++) u8(b, 0);
}

/* A record header of 64 octets ([6-10] IODReadReqHeader ... IODWriteResHeader). */
static void iod(struct buf *b, uint16_t type, uint16_t seq, uint16_t slot, uint16_t subslot,
                uint16_t index, uint32_t len, uint32_t status)
{
    size_t at = block_begin(b, type);
    u16(b, seq);
    for (int i = 0; i < 16; i++) u8(b, 0x11);
    u32(b, 0);
    u16(b, slot);
    u16(b, subslot);
    u16(b, 0);
    u16(b, index);
    u32(b, len);
    if (type == 0x8008 || type == 0x8009) {
        u16(b, 0);
        u16(b, 0);
    }
    if (type == 0x8008) u32(b, status);
    zeros(b, at + 64 - b->n);
    block_end(b, at);
}

static void padded(struct buf *b, const char *s, size_t n)
{
    size_t k = strlen(s);
    put(b, s, k);
    for (; k < n; k++) u8(b, ' ');
}

static void im0(struct buf *b, uint16_t vendor, const char *order, const char *serial)
{
    size_t at = block_begin(b, 0x0020);
    u16(b, vendor);
    padded(b, order, 20);
    padded(b, serial, 16);
    u16(b, 3);        /* hardware revision */
    u8(b, 'V');
    u8(b, 2);
    u8(b, 3);
    u8(b, 1);
    u16(b, 7);        /* revision counter */
    u16(b, 0xF600);   /* profile: generic device */
    u16(b, 4);
    u8(b, 1);
    u8(b, 1);
    u16(b, 0x001E);
    block_end(b, at);
}

/* A read of index `index` and its answer carrying `data`. */
static void read_call(struct buf *q, struct buf *r, bool le, uint8_t act, uint16_t index,
                      const struct buf *data)
{
    struct buf *blk = buf_new(), *body = buf_new();
    iod(blk, 0x0009, 5, 0, 1, index, 4096, 0);
    ndr_args(body, le, 4096, blk);
    struct hdr h = {PT_REQUEST, F1_IDEMPOTENT, IF_DEVICE, act, le, 7, 2, 0};
    pdu(q, &h, body);
    blk->n = 0;
    iod(blk, 0x8009, 5, 0, 1, index, (uint32_t)data->n, 0);
    put(blk, data->b, data->n);
    ndr_args(body, le, 0, blk);
    h.ptype = PT_RESPONSE;
    pdu(r, &h, body);
    free(blk);
    free(body);
}

/* ---- Reads and identity -------------------------------------------------------------------- */

static void check_im0(struct fx *f, bool le)
{
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    im0(data, 0x002A, "6ES7 151-8AB01-0AB0", "S C-X4U421302009");
    read_call(q, r, le, 0x42, 0xAFF0, data);
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_pnio_cm.probe(r->b, r->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    fx_datagram_at(f, 1000, C2S, q->b, q->n);
    assert_int_equal(f->rec.ntxns, 0);
    fx_datagram_at(f, 3000, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 2);
    assert_string_equal(t->function_name, "read");
    assert_int_equal(t->ops, QW_OP_READ | QW_OP_IDENTIFY);
    assert_false(t->error);
    assert_int_equal(t->response_ns - t->request_ns, 2000);
    JSON_HAS(f, 0, "\"opnum\":2,\"operation\":\"read\",\"interface\":\"device\","
                   "\"object_uuid\":\"dea00000-6c97-11d1-8271-00010003002a\","
                   "\"activity\":\"42424242-4242-4242-4242-424242424242\",\"sequence\":7,"
                   "\"api\":0,\"slot\":0,\"subslot\":1,\"index\":45040,\"index_name\":\"I&M0\"");
    JSON_HAS(f, 0, "\"im0\":{\"vendor_id\":42,\"vendor\":\"Siemens\","
                   "\"order_id\":\"6ES7 151-8AB01-0AB0\",\"serial_number\":\"S C-X4U421302009\","
                   "\"hardware_revision\":3,\"software_revision\":\"V2.3.1\","
                   "\"revision_counter\":7,\"profile_id\":62976,\"profile_specific_type\":4,"
                   "\"im_version\":\"1.1\",\"im_supported\":30}");
    JSON_HAS(f, 0, le ? "\"byte_order\":\"little_endian\"" : "\"byte_order\":\"big_endian\"");
    JSON_HAS(f, 0, "{\"type\":32,\"name\":\"I&M0\",\"length\":56,\"version\":\"1.0\"}");
    identity_is(f, true, "vendor_id", "0x002a");
    identity_is(f, true, "vendor", "Siemens");
    identity_is(f, true, "model", "6ES7 151-8AB01-0AB0");
    identity_is(f, true, "serial", "S C-X4U421302009");
    identity_is(f, true, "firmware", "V2.3.1");
    identity_is(f, true, "hardware", "3");
    assert_int_equal(count_identity_of(f, false, "model"), 0);
    /* The same answer again gives no new facts. */
    size_t facts = f->rec.nidentities;
    fx_datagram_at(f, 4000, C2S, q->b, q->n);
    q->b[64]++; /* another sequence number, in either byte order */
    r->b[64]++;
    fx_datagram_at(f, 5000, S2C, r->b, r->n);
    assert_int_equal(f->rec.nidentities, facts);
    free(q);
    free(r);
    free(data);
}

static void test_im0_read_little_endian(void **ts)
{
    check_im0(*ts, true);
}

static void test_im0_read_big_endian(void **ts)
{
    check_im0(*ts, false);
}

static void test_read_diagnosis_ops(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    size_t at = block_begin(data, 0x0010);
    zeros(data, 8);
    block_end(data, at);
    read_call(q, r, true, 1, 0x800C, data);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_DIAGNOSTIC);
    JSON_HAS(f, 0, "{\"type\":16,\"name\":\"DiagnosisData\",\"length\":10,\"version\":\"1.0\"}");
    assert_int_equal(f->rec.nidentities, 0);
    free(q);
    free(r);
    free(data);
}

/* ---- Writes -------------------------------------------------------------------------------- */

static void test_multiple_write_refused_part(void **ts)
{
    struct fx *f = *ts;
    struct buf *rec = buf_new(), *blk = buf_new(), *body = buf_new(), *q = buf_new(),
               *r = buf_new();
    /* Two parts: I&M1 (tag function and location, 54 octets of data) and a user index of 3
     * octets; the first is padded to 4 octets. */
    iod(rec, 0x0008, 1, 0, 1, 0xAFF1, 54, 0);
    size_t at = block_begin(rec, 0x0021);
    padded(rec, "crane 4 hoist", 32);
    padded(rec, "quay 2", 22);
    rec->n -= 6; /* the I&M1 block is 54 octets in all */
    block_end(rec, at);
    zeros(rec, 2);
    iod(rec, 0x0008, 2, 1, 1, 0x01FF, 3, 0);
    u8(rec, 1);
    u8(rec, 2);
    u8(rec, 3);
    iod(blk, 0x0008, 0, 0, 1, 0xE040, (uint32_t)rec->n, 0);
    put(blk, rec->b, rec->n);
    ndr_args(body, false, 4096, blk);
    struct hdr h = {PT_REQUEST, F1_IDEMPOTENT, IF_DEVICE, 9, false, 1, 3, 0};
    pdu(q, &h, body);
    blk->n = 0;
    iod(blk, 0x8008, 0, 0, 1, 0xE040, 128, 0);
    iod(blk, 0x8008, 1, 0, 1, 0xAFF1, 54, 0);
    iod(blk, 0x8008, 2, 1, 1, 0x01FF, 3, 0xDF80B600); /* write: PNIORW access denied */
    ndr_args(body, true, 0, blk);
    h.ptype = PT_RESPONSE;
    h.le = true;
    pdu(r, &h, body);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "write");
    assert_int_equal(t->ops, QW_OP_CONFIG);
    assert_true(t->error);
    JSON_HAS(f, 0, "\"index\":57408,\"index_name\":\"MultipleWrite\",\"request\"");
    JSON_HAS(f, 0, "\"index\":45041,\"index_name\":\"I&M1\",\"record_data_length\":54},"
                   "{\"type\":33,\"name\":\"I&M1\",\"length\":50,\"version\":\"1.0\"},"
                   "{\"type\":8,\"name\":\"IODWriteReqHeader\"");
    JSON_HAS(f, 0, "\"index\":511,\"index_name\":\"user specific\",\"record_data_length\":3,"
                   "\"additional_value1\":0,\"additional_value2\":0,\"status\":"
                   "{\"error_code\":223,\"error_decode\":128,\"error_code1\":182,"
                   "\"error_code2\":0,\"error_code_name\":\"write\",\"error_decode_name\":"
                   "\"pniorw\",\"error_code1_name\":\"access: access denied\"}");
    /* Without the refused part the call is no error. */
    fx_reset(f);
    blk->n = 0;
    iod(blk, 0x8008, 0, 0, 1, 0xE040, 64, 0);
    iod(blk, 0x8008, 1, 0, 1, 0xAFF1, 54, 0);
    ndr_args(body, true, 0, blk);
    pdu(r, &h, body);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    assert_false(txn_at(f, 0)->error);
    free(rec);
    free(blk);
    free(body);
    free(q);
    free(r);
}

/* ---- Connect, Control, Release ------------------------------------------------------------- */

static void connect_request(struct buf *q)
{
    struct buf *blk = buf_new(), *body = buf_new();
    size_t at = block_begin(blk, 0x0101);
    u16(blk, 1);
    for (int i = 0; i < 16; i++) u8(blk, (uint8_t)(0xA0 + i));
    u16(blk, 1);
    put(blk, "\x00\xa0\x45\x6d\xd3\x43", 6);
    zeros(blk, 16);
    u32(blk, 0x11);
    u16(blk, 100);
    u16(blk, 0x8892);
    u16(blk, 8);
    put(blk, "plc-sts4", 8);
    block_end(blk, at);
    at = block_begin(blk, 0x0102);
    u16(blk, 1);   /* input */
    u16(blk, 1);
    u16(blk, 0x8892);
    u32(blk, 1);
    u16(blk, 40);  /* data length */
    u16(blk, 0xC002);
    u16(blk, 32);
    u16(blk, 4);
    u16(blk, 1);
    u16(blk, 0);
    u32(blk, 0xFFFFFFFF);
    u16(blk, 3);
    u16(blk, 3);
    u16(blk, 0xC000);
    zeros(blk, 6);
    u16(blk, 0);  /* no APIs */
    block_end(blk, at);
    at = block_begin(blk, 0x0103);
    u16(blk, 1);
    u16(blk, 0x8892);
    u32(blk, 0);
    u16(blk, 100);
    u16(blk, 3);
    u16(blk, 1);
    u16(blk, 200);
    u16(blk, 0xC000);
    u16(blk, 0xA000);
    block_end(blk, at);
    /* Two APIs: slot 0 with one submodule (no data: one description), slot 1 with two
     * submodules, one with inputs and outputs (two descriptions). */
    at = block_begin(blk, 0x0104);
    u16(blk, 2);
    u32(blk, 0);
    u16(blk, 0);
    u32(blk, 0x10);
    u16(blk, 0);
    u16(blk, 1);
    u16(blk, 1);
    u32(blk, 1);
    u16(blk, 0);
    zeros(blk, 6);
    u32(blk, 0);
    u16(blk, 1);
    u32(blk, 0x20);
    u16(blk, 0);
    u16(blk, 2);
    u16(blk, 1);
    u32(blk, 2);
    u16(blk, 3);
    zeros(blk, 12);
    u16(blk, 2);
    u32(blk, 3);
    u16(blk, 1);
    zeros(blk, 6);
    block_end(blk, at);
    ndr_args(body, true, 4096, blk);
    struct hdr h = {PT_REQUEST, F1_IDEMPOTENT, IF_DEVICE, 3, true, 0, 0, 0};
    pdu(q, &h, body);
    free(blk);
    free(body);
}

static void test_connect_refused(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *blk = buf_new(), *body = buf_new();
    connect_request(q);
    ndr_args(body, true, 0xDB810104, blk); /* connect, PNIO, faulty AlarmCRBlockReq */
    struct hdr h = {PT_RESPONSE, F1_IDEMPOTENT, IF_DEVICE, 3, true, 0, 0, 0};
    pdu(r, &h, body);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "connect");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_true(t->error);
    JSON_HAS(f, 0, "{\"type\":257,\"name\":\"ARBlockReq\",\"length\":62,\"version\":\"1.0\","
                   "\"ar_type\":1,\"ar_type_name\":\"io_controller\","
                   "\"ar_uuid\":\"a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf\",\"session_key\":1,"
                   "\"cm_initiator_mac\":\"00:a0:45:6d:d3:43\",\"ar_properties\":17,"
                   "\"activity_timeout_factor\":100,\"udp_rt_port\":34962,"
                   "\"station_name\":\"plc-sts4\"}");
    JSON_HAS(f, 0, "\"iocr_type\":1,\"iocr_type_name\":\"input\",\"iocr_reference\":1,"
                   "\"frame_id\":49154,\"data_length\":40,\"send_clock_factor\":32,"
                   "\"reduction_ratio\":4,\"watchdog_factor\":3}");
    JSON_HAS(f, 0, "\"alarmcr_type\":1,\"local_alarm_reference\":1,"
                   "\"max_alarm_data_length\":200,\"rta_timeout_factor\":100,\"rta_retries\":3}");
    JSON_HAS(f, 0, "\"name\":\"ExpectedSubmoduleBlockReq\",\"length\":80,\"version\":\"1.0\","
                   "\"apis\":2,\"slots\":2,\"submodules\":3}");
    JSON_HAS(f, 0, "\"status\":{\"error_code\":219,\"error_decode\":129,\"error_code1\":1,"
                   "\"error_code2\":4,\"error_code_name\":\"connect\",\"error_decode_name\":"
                   "\"pnio\"},\"args_length\":0,\"blocks\":[]");
    free(q);
    free(r);
    free(blk);
    free(body);
}

static void control_call(struct buf *q, struct buf *r, uint8_t iface, uint16_t req_type,
                         uint16_t command, uint16_t opnum)
{
    struct buf *blk = buf_new(), *body = buf_new();
    for (int side = 0; side < 2; side++) {
        blk->n = 0;
        size_t at = block_begin(blk, (uint16_t)(req_type | (side ? 0x8000 : 0)));
        u16(blk, 0);
        for (int i = 0; i < 16; i++) u8(blk, 0x5A);
        u16(blk, 2);
        u16(blk, 0);
        u16(blk, side ? 0x0008 : command);
        u16(blk, 0);
        block_end(blk, at);
        ndr_args(body, true, side ? 0 : 4096, blk);
        struct hdr h = {side ? PT_RESPONSE : PT_REQUEST, 0, iface, 0x77, true, 2, opnum, 0};
        pdu(side ? r : q, &h, body);
    }
    free(blk);
    free(body);
}

static void test_control_and_release(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new();
    control_call(q, r, IF_DEVICE, 0x0110, 0x0001, 4);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    control_call(q, r, IF_CONTROLLER, 0x0112, 0x0002, 4);
    q->b[64]++; /* sequence 3 */
    r->b[64]++;
    fx_datagram_at(f, 3, C2S, q->b, q->n);
    fx_datagram_at(f, 4, S2C, r->b, r->n);
    control_call(q, r, IF_DEVICE, 0x0114, 0x0004, 1);
    fx_datagram_at(f, 5, C2S, q->b, q->n);
    fx_datagram_at(f, 6, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(f->rec.nanomalies, 0);
    for (size_t i = 0; i < 3; i++) assert_int_equal(txn_at(f, i)->ops, QW_OP_SESSION);
    assert_string_equal(txn_at(f, 0)->function_name, "control");
    assert_string_equal(txn_at(f, 2)->function_name, "release");
    JSON_HAS(f, 0, "\"name\":\"IODControlReq_PrmEnd\",\"length\":28,\"version\":\"1.0\","
                   "\"ar_uuid\":\"5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a\",\"session_key\":2,"
                   "\"control_command\":1,\"commands\":[\"prm_end\"]");
    JSON_HAS(f, 0, "\"name\":\"IODControlRes_PrmEnd\"");
    JSON_HAS(f, 0, "\"control_command\":8,\"commands\":[\"done\"]");
    JSON_HAS(f, 1, "\"interface\":\"controller\"");
    JSON_HAS(f, 1, "\"name\":\"IOXBlockReq_ApplicationReady\"");
    JSON_HAS(f, 1, "\"commands\":[\"application_ready\"]");
    JSON_HAS(f, 2, "\"name\":\"IODReleaseReq\"");
    JSON_HAS(f, 2, "\"commands\":[\"release\"]");
    free(q);
    free(r);
}

/* ---- Pairing ------------------------------------------------------------------------------- */

static void test_pairing_and_queue(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    im0(data, 0x00B0, "2700000", "123");
    read_call(q, r, true, 1, 0xAFF0, data);
    /* A response whose request went to another flow: a record of its own, at once. */
    fx_datagram_at(f, 1, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ | QW_OP_IDENTIFY);
    identity_is(f, true, "vendor", "Phoenix Contact");
    /* Five requests of different activities: the queue holds four, the oldest goes out. */
    for (uint8_t a = 10; a < 15; a++) {
        read_call(q, r, true, a, 0xAFF0, data);
        fx_datagram_at(f, 10 + a, C2S, q->b, q->n);
    }
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"activity\":\"0a0a0a0a-");
    assert_false(txn_at(f, 1)->has_response);
    /* A retransmission and a ping join the waiting call; its answer closes it. */
    fx_datagram_at(f, 30, C2S, q->b, q->n);
    struct buf *ping = buf_new();
    struct hdr h = {PT_PING, 0, IF_DEVICE, 14, true, 7, 2, 0};
    pdu(ping, &h, NULL);
    assert_int_equal(qw_proto_pnio_cm.probe(ping->b, ping->n, C2S), QW_PROBE_MATCH);
    fx_datagram_at(f, 31, C2S, ping->b, ping->n);
    fx_datagram_at(f, 32, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"retransmissions\":1,\"other_pdus\":{\"ping\":1}");
    assert_true(txn_at(f, 2)->has_request && txn_at(f, 2)->has_response);
    /* A ping of no waiting call is a record of its own, with no operation class. */
    h.act = 99;
    pdu(ping, &h, NULL);
    fx_datagram_at(f, 33, C2S, ping->b, ping->n);
    assert_int_equal(f->rec.ntxns, 4);
    assert_int_equal(txn_at(f, 3)->ops, 0);
    JSON_HAS(f, 3, "\"packet_type\":\"ping\"");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 7); /* the three unanswered reads */
    for (size_t i = 4; i < 7; i++) assert_false(txn_at(f, i)->has_response);
    free(q);
    free(r);
    free(data);
    free(ping);
}

/* The same activity and sequence number long after the waiting request is a new call (a
 * controller restarted with the numbers it had), not a retransmission. */
static void test_repeat_after_long_gap(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    read_call(q, r, true, 3, 0xF841, data);
    fx_datagram_at(f, 1000000000ull, C2S, q->b, q->n);
    fx_datagram_at(f, 2000000000ull, C2S, q->b, q->n);    /* 1 s later: retransmission */
    assert_int_equal(f->rec.ntxns, 0);
    fx_datagram_at(f, 200000000000ull, C2S, q->b, q->n);  /* 199 s later: a new call */
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "\"retransmissions\":1");
    fx_datagram_at(f, 200000001000ull, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->has_request && txn_at(f, 1)->has_response);
    JSON_LACKS(f, 1, "retransmissions");
    free(q);
    free(r);
    free(data);
}

static void test_fault(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new(), *body = buf_new();
    read_call(q, r, true, 5, 0xAFF0, data);
    le32(body, 0x1C010003); /* nca_s_op_rng_error */
    struct hdr h = {PT_FAULT, 0, IF_DEVICE, 5, true, 7, 2, 0};
    pdu(r, &h, body);
    assert_int_equal(qw_proto_pnio_cm.probe(r->b, r->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    fx_datagram_at(f, 2, S2C, r->b, r->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"response\":{\"packet_type\":\"fault\",\"flags\":[],"
                   "\"byte_order\":\"little_endian\",\"fault_status\":\"0x1c010003\"}");
    free(q);
    free(r);
    free(data);
    free(body);
}

/* ---- Fragments ----------------------------------------------------------------------------- */

static void test_fragments(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new(), *frag = buf_new(),
               *body = buf_new();
    /* A read response in three fragments: the I&M0 record is in the first. */
    im0(data, 0x002A, "6ES7 315-2EH14-0AB0", "S C-123");
    size_t at = block_begin(data, 0x0035); /* a block the first fragment cuts */
    zeros(data, 94);
    block_end(data, at);
    read_call(q, r, true, 8, 0xAFF0, data);
    const uint8_t *stub = r->b + 80;
    size_t n = r->n - 80, cut1 = 150, cut2 = 200;
    fx_datagram_at(f, 1, C2S, q->b, q->n);
    struct hdr h = {PT_RESPONSE, F1_FRAG, IF_DEVICE, 8, true, 7, 2, 0};
    body->n = 0;
    put(body, stub, cut1);
    pdu(frag, &h, body);
    assert_int_equal(qw_proto_pnio_cm.probe(frag->b, frag->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    fx_datagram_at(f, 2, S2C, frag->b, frag->n);
    assert_int_equal(f->rec.ntxns, 0); /* held for the next fragments */
    identity_is(f, true, "model", "6ES7 315-2EH14-0AB0");
    h.frag = 1;
    body->n = 0;
    put(body, stub + cut1, cut2 - cut1);
    pdu(frag, &h, body);
    fx_datagram_at(f, 3, S2C, frag->b, frag->n);
    fx_datagram_at(f, 4, S2C, frag->b, frag->n); /* a repeat */
    h.frag = 2;
    h.flags1 = F1_FRAG | F1_LAST;
    body->n = 0;
    put(body, stub + cut2, n - cut2);
    pdu(frag, &h, body);
    fx_datagram_at(f, 5, S2C, frag->b, frag->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"packet_type\":\"response\",\"flags\":[\"fragment\"],"
                   "\"byte_order\":\"little_endian\",\"fragments\":3,\"retransmissions\":1,");
    JSON_HAS(f, 0, "\"order_id\":\"6ES7 315-2EH14-0AB0\"");
    assert_true(txn_at(f, 0)->has_request);
    /* One more fragment after the last, and a gap in another call's fragments. */
    fx_datagram_at(f, 6, S2C, frag->b, frag->n);
    assert_int_equal(f->rec.ntxns, 2); /* its first fragment is gone: a record of its own */
    JSON_HAS(f, 1, "\"first_fragment\":2");
    h = (struct hdr){PT_REQUEST, F1_FRAG, IF_DEVICE, 9, true, 1, 3, 0};
    body->n = 0;
    put(body, stub, cut1);
    pdu(frag, &h, body);
    fx_datagram_at(f, 7, C2S, frag->b, frag->n);
    h.frag = 2;
    h.flags1 = F1_FRAG | F1_LAST;
    pdu(frag, &h, body);
    fx_datagram_at(f, 8, C2S, frag->b, frag->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "pnio_cm.invalid_fragment"), 1);
    h.frag = 3;
    pdu(frag, &h, body);
    fx_datagram_at(f, 9, C2S, frag->b, frag->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "pnio_cm.invalid_fragment"), 2);
    /* A fragment number on an unfragmented PDU. */
    h.flags1 = 0;
    pdu(frag, &h, body);
    assert_int_equal(qw_proto_pnio_cm.probe(frag->b, frag->n, C2S), QW_PROBE_NO);
    fx_datagram_at(f, 10, C2S, frag->b, frag->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "pnio_cm.invalid_fragment"), 4);
    flow_end(f);
    JSON_HAS(f, f->rec.ntxns - 1, "\"fragments\":2");
    free(q);
    free(r);
    free(data);
    free(frag);
    free(body);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    read_call(q, r, false, 1, 0xF840, data);
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n - 1, C2S), QW_PROBE_NO); /* body cut */
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, 79, C2S), QW_PROBE_NO);
    q->b[q->n++] = 0;
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO); /* a byte more */
    q->n--;
    q->b[0] = 5;
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO); /* version 5 */
    q->b[0] = 4;
    q->b[1] = 11;
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO); /* CO bind */
    q->b[1] = 0;
    q->b[4] = 0x20;
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO); /* drep */
    q->b[4] = 0x00;
    q->b[27] = 5; /* interface DEA00005: no PNIO interface */
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO);
    /* The endpoint mapper (E1AF8308-5D1F-11C9-91A4-08002B14A0FA) is not claimed. */
    static const uint8_t epm[16] = {0xE1, 0xAF, 0x83, 0x08, 0x5D, 0x1F, 0x11, 0xC9,
                                    0x91, 0xA4, 0x08, 0x00, 0x2B, 0x14, 0xA0, 0xFA};
    memcpy(q->b + 24, epm, 16);
    assert_int_equal(qw_proto_pnio_cm.probe(q->b, q->n, C2S), QW_PROBE_NO);
    static const char http[] = "GET /index.html HTTP/1.1\r\nHost: plc.example\r\nAccept: */*\r\n"
                               "User-Agent: quaywatch-test\r\nConnection: close\r\n\r\n";
    assert_int_equal(qw_proto_pnio_cm.probe((const uint8_t *)http, sizeof http - 1, C2S),
                     QW_PROBE_NO);
    uint8_t ntp[88] = {0x23};
    assert_int_equal(qw_proto_pnio_cm.probe(ntp, sizeof ntp, C2S), QW_PROBE_NO);
    free(q);
    free(r);
    free(data);
}

/* ---- Malformed ----------------------------------------------------------------------------- */

/* Every truncation of an I&M0 read response: no crash, the header cut is pnio_cm.truncated,
 * a cut body pnio_cm.invalid_length, and the identity only from the whole record. */
static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    im0(data, 0x002A, "6ES7 151-8AB01-0AB0", "S C-X4U421302009");
    read_call(q, r, true, 1, 0xAFF0, data);
    for (size_t n = 0; n < r->n; n++) {
        fx_clear(f);
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, r->b, n);
        assert_int_equal(qw_proto_pnio_cm.probe(cut, n, S2C), QW_PROBE_NO);
        fx_datagram_at(f, 1, S2C, cut, n);
        free(cut);
        if (n < 80) {
            assert_int_equal(f->rec.ntxns, 0);
            assert_int_equal(qw_record_count_anomaly(&f->rec, "pnio_cm.truncated"), 1);
            continue;
        }
        assert_int_equal(f->rec.ntxns, 1);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "pnio_cm.invalid_length"),
                         n < r->n ? 1 : 0);
        assert_true(f->rec.nanomalies >= 1);
        assert_int_equal(count_identity(f, "model"), 0);
    }
    free(q);
    free(r);
    free(data);
}

static void test_oversized_lengths(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = buf_new(), *r = buf_new(), *data = buf_new();
    im0(data, 0x002A, "6ES7", "1");
    read_call(q, r, true, 1, 0xAFF0, data);
    size_t rec_len_at = 80 + 20 + 6 + 2 + 16 + 4 + 2 + 2 + 2 + 2; /* RecordDataLength */
    size_t im0_len_at = 80 + 20 + 64 + 2;                         /* I&M0 BlockLength */
    size_t count_at = 80 + 16;                                     /* ActualCount */
    struct {
        size_t at, width;
        uint32_t value;
        const char *anomaly;
    } cases[] = {
        {rec_len_at, 4, 0x00010000, "pnio_cm.record_overrun"},
        {im0_len_at, 2, 0x0400, "pnio_cm.block_overrun"},
        {im0_len_at, 2, 0x0001, "pnio_cm.invalid_block_length"},
        {im0_len_at, 2, 0x0010, "pnio_cm.invalid_block_length"},
        {count_at, 4, 0xFFFFFFF0, "pnio_cm.invalid_length"},
        {74, 2, 0xFFFF, "pnio_cm.invalid_length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_reset(f);
        uint8_t save[4];
        memcpy(save, r->b + cases[i].at, 4);
        for (size_t k = 0; k < cases[i].width; k++) {
            unsigned shift = (unsigned)(cases[i].width - 1 - k) * 8;
            bool le_field = cases[i].at < 100; /* header and NDR: little endian here */
            size_t pos = le_field ? cases[i].at + (cases[i].width - 1 - k) : cases[i].at + k;
            r->b[pos] = (uint8_t)(cases[i].value >> shift);
        }
        fx_datagram_at(f, 1, S2C, r->b, r->n);
        if (qw_record_count_anomaly(&f->rec, cases[i].anomaly) < 1) {
            print_error("case %zu: no %s\n", i, cases[i].anomaly);
            fail();
        }
        assert_int_equal(f->rec.ntxns, 1);
        memcpy(r->b + cases[i].at, save, 4);
    }
    /* And the unchanged PDU has none. */
    fx_reset(f);
    fx_datagram_at(f, 1, S2C, r->b, r->n);
    assert_int_equal(f->rec.nanomalies, 0);
    free(q);
    free(r);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_im0_read_little_endian),
        FX_TEST(test_im0_read_big_endian),
        FX_TEST(test_read_diagnosis_ops),
        FX_TEST(test_multiple_write_refused_part),
        FX_TEST(test_connect_refused),
        FX_TEST(test_control_and_release),
        FX_TEST(test_pairing_and_queue),
        FX_TEST(test_repeat_after_long_gap),
        FX_TEST(test_fault),
        FX_TEST(test_fragments),
        FX_TEST(test_probe),
        FX_TEST(test_truncated_every_length),
        FX_TEST(test_oversized_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
