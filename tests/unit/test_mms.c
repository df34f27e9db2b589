/* Unit tests for the MMS parser (src/proto/mms.c, src/proto/iso_session.c).
 *
 * Streams go through qw_stream_deliver exactly as the engine hands TCP bytes to a parser, into
 * a recording sink. The association is the corpus capture iti_mms_piccolo.pcap (CONNECT with
 * the AARQ/initiate-Request, ACCEPT, identify, status); other PDUs are built with a small BER
 * writer after ISO 9506-2 and wrapped in the same TPKT / COTP DT / session GIVE TOKENS + DATA
 * TRANSFER / presentation fully-encoded-data layers that IEC 61850 stacks send. */
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

extern const struct qw_proto qw_proto_mms;

#define PROTO qw_proto_mms
#define FX_TS_STEP 0 /* the tests set packet times themselves */
#define FX_BUF_MAX 12000

#include "parser_fixture.h"

/* ---- Builders ------------------------------------------------------------------------------ */

/* TLV; tags above 30 in the high-tag form. `id` is the class/constructed octet's high bits. */
static void tlv_id(struct buf *b, uint8_t cls_pc, uint32_t tag, const void *v, size_t n)
{
    if (tag < 31) {
        u8(b, (uint8_t)(cls_pc | tag));
    } else {
        u8(b, (uint8_t)(cls_pc | 0x1f));
        if (tag >= 128) u8(b, (uint8_t)(0x80 | (tag >> 7)));
        u8(b, (uint8_t)(tag & 0x7f));
    }
    if (n < 0x80) {
        u8(b, (uint8_t)n);
    } else if (n < 0x100) {
        u8(b, 0x81);
        u8(b, (uint8_t)n);
    } else {
        u8(b, 0x82);
        u8(b, (uint8_t)(n >> 8));
        u8(b, (uint8_t)n);
    }
    put(b, v, n);
}

#define CTX 0x80
#define CTXC 0xa0
#define UNIV 0x00
#define UNIVC 0x20

static void tlv_buf(struct buf *b, uint8_t cls_pc, uint32_t tag, const struct buf *inner)
{
    tlv_id(b, cls_pc, tag, inner->b, inner->n);
}

static void tlv_str(struct buf *b, uint8_t cls_pc, uint32_t tag, const char *s)
{
    tlv_id(b, cls_pc, tag, s, strlen(s));
}

static void tlv_int(struct buf *b, uint8_t cls_pc, uint32_t tag, uint32_t v)
{
    uint8_t tmp[5] = {0, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t i = 0;
    while (i < 4 && tmp[i] == 0 && !(tmp[i + 1] & 0x80)) i++;
    tlv_id(b, cls_pc, tag, tmp + i, 5 - i);
}

/* ObjectName domain-specific [1] {domainId, itemId} */
static void objname_dom(struct buf *b, const char *dom, const char *item)
{
    struct buf in = {0};
    tlv_str(&in, UNIV, 26, dom);
    tlv_str(&in, UNIV, 26, item);
    tlv_buf(b, CTXC, 1, &in);
}

/* VariableAccessSpecification listOfVariable [0] with domain-specific names */
static void var_list(struct buf *b, const char *const *names, size_t n)
{
    struct buf list = {0};
    for (size_t i = 0; i < n; i++) {
        const char *slash = strchr(names[i], '/');
        char dom[64];
        size_t dl = (size_t)(slash - names[i]);
        memcpy(dom, names[i], dl);
        dom[dl] = 0;
        struct buf on = {0}, spec = {0}, item = {0};
        objname_dom(&on, dom, slash + 1);
        tlv_buf(&spec, CTXC, 0, &on);          /* name [0] ObjectName */
        tlv_buf(&item, UNIVC, 16, &spec);      /* SEQUENCE */
        put(&list, item.b, item.n);
    }
    tlv_buf(b, CTXC, 0, &list);
}

/* Confirmed-RequestPDU / ResponsePDU */
static void confirmed(struct buf *out, uint32_t pdu_tag, uint32_t invoke, const struct buf *svc)
{
    struct buf in = {0};
    tlv_int(&in, UNIV, 2, invoke);
    put(&in, svc->b, svc->n);
    tlv_buf(out, CTXC, pdu_tag, &in);
}

/* TPKT + COTP DT + GIVE TOKENS + DATA TRANSFER + fully-encoded user data (context 3) */
static void wrap(struct buf *out, const struct buf *mms)
{
    struct buf pdv = {0}, in = {0}, fe = {0}, tsdu = {0};
    tlv_int(&pdv, UNIV, 2, 3);
    tlv_buf(&pdv, CTXC, 0, mms);
    tlv_buf(&in, UNIVC, 16, &pdv);
    tlv_buf(&fe, 0x60, 1, &in); /* [APPLICATION 1] */
    static const uint8_t ses[] = {0x01, 0x00, 0x01, 0x00};
    put(&tsdu, ses, sizeof ses);
    put(&tsdu, fe.b, fe.n);
    size_t len = 7 + tsdu.n;
    uint8_t hdr[7] = {3, 0, (uint8_t)(len >> 8), (uint8_t)len, 2, 0xf0, 0x80};
    put(out, hdr, sizeof hdr);
    put(out, tsdu.b, tsdu.n);
}

static void send(struct fx *f, enum qw_dir dir, const struct buf *mms)
{
    struct buf w = {0};
    wrap(&w, mms);
    feed(f, dir, w.b, w.n);
}

/* ---- Corpus association (iti_mms_piccolo.pcap) ------------------------------------------- */

static const uint8_t pic_connect[] = {
    0x03, 0x00, 0x00, 0xbf, 0x02, 0xf0, 0x80, 0x0d, 0xb6, 0x05, 0x06, 0x13, 0x01, 0x00, 0x16,
    0x01, 0x02, 0x14, 0x02, 0x00, 0x02, 0x33, 0x02, 0x00, 0x01, 0x34, 0x02, 0x00, 0x01, 0xc1,
    0xa0, 0x31, 0x81, 0x9d, 0xa0, 0x03, 0x80, 0x01, 0x01, 0xa2, 0x81, 0x95, 0x81, 0x04, 0x00,
    0x00, 0x00, 0x01, 0x82, 0x04, 0x00, 0x00, 0x00, 0x01, 0xa4, 0x23, 0x30, 0x0f, 0x02, 0x01,
    0x01, 0x06, 0x04, 0x52, 0x01, 0x00, 0x01, 0x30, 0x04, 0x06, 0x02, 0x51, 0x01, 0x30, 0x10,
    0x02, 0x01, 0x03, 0x06, 0x05, 0x28, 0xca, 0x22, 0x02, 0x01, 0x30, 0x04, 0x06, 0x02, 0x51,
    0x01, 0x61, 0x62, 0x30, 0x60, 0x02, 0x01, 0x01, 0xa0, 0x5b, 0x60, 0x59, 0xa1, 0x07, 0x06,
    0x05, 0x28, 0xca, 0x22, 0x02, 0x03, 0xa2, 0x07, 0x06, 0x05, 0x29, 0x01, 0x87, 0x67, 0x01,
    0xa3, 0x03, 0x02, 0x01, 0x0c, 0xa6, 0x06, 0x06, 0x04, 0x29, 0x01, 0x87, 0x67, 0xa7, 0x03,
    0x02, 0x01, 0x0c, 0xbe, 0x33, 0x28, 0x31, 0x06, 0x02, 0x51, 0x01, 0x02, 0x01, 0x03, 0xa0,
    0x28, 0xa8, 0x26, 0x80, 0x03, 0x00, 0xff, 0x00, 0x81, 0x01, 0x0a, 0x82, 0x01, 0x0a, 0x83,
    0x01, 0x05, 0xa4, 0x16, 0x80, 0x01, 0x01, 0x81, 0x03, 0x05, 0xf1, 0x00, 0x82, 0x0c, 0x03,
    0xee, 0x1c, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0x18,
};

static const uint8_t pic_accept[] = {
    0x03, 0x00, 0x00, 0x9e, 0x02, 0xf0, 0x80, 0x0e, 0x95, 0x05, 0x06, 0x13, 0x01, 0x00, 0x16,
    0x01, 0x02, 0x14, 0x02, 0x00, 0x02, 0xc1, 0x87, 0x31, 0x81, 0x84, 0xa0, 0x03, 0x80, 0x01,
    0x01, 0xa2, 0x7d, 0x83, 0x04, 0x00, 0x00, 0x00, 0x01, 0xa5, 0x12, 0x30, 0x07, 0x80, 0x01,
    0x00, 0x81, 0x02, 0x51, 0x01, 0x30, 0x07, 0x80, 0x01, 0x00, 0x81, 0x02, 0x51, 0x01, 0x61,
    0x61, 0x30, 0x5f, 0x02, 0x01, 0x01, 0xa0, 0x5a, 0x61, 0x58, 0xa1, 0x07, 0x06, 0x05, 0x28,
    0xca, 0x22, 0x02, 0x03, 0xa2, 0x03, 0x02, 0x01, 0x00, 0xa3, 0x05, 0xa1, 0x03, 0x02, 0x01,
    0x00, 0xa4, 0x07, 0x06, 0x05, 0x29, 0x01, 0x87, 0x67, 0x01, 0xa5, 0x03, 0x02, 0x01, 0x0c,
    0xbe, 0x33, 0x28, 0x31, 0x06, 0x02, 0x51, 0x01, 0x02, 0x01, 0x03, 0xa0, 0x28, 0xa9, 0x26,
    0x80, 0x03, 0x00, 0xc0, 0x00, 0x81, 0x01, 0x01, 0x82, 0x01, 0x01, 0x83, 0x01, 0x05, 0xa4,
    0x16, 0x80, 0x01, 0x01, 0x81, 0x03, 0x05, 0xe1, 0x00, 0x82, 0x0c, 0x03, 0xee, 0x1c, 0x00,
    0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x10,
};

static const uint8_t pic_identify_req[] = {0x03, 0x00, 0x00, 0x1b, 0x02, 0xf0, 0x80, 0x01, 0x00,
                                           0x01, 0x00, 0x61, 0x0e, 0x30, 0x0c, 0x02, 0x01, 0x03,
                                           0xa0, 0x07, 0xa0, 0x05, 0x02, 0x01, 0x01, 0x82, 0x00};

static const uint8_t pic_identify_rsp[] = {
    0x03, 0x00, 0x00, 0x3c, 0x02, 0xf0, 0x80, 0x01, 0x00, 0x01, 0x00, 0x61, 0x2f, 0x30, 0x2d,
    0x02, 0x01, 0x03, 0xa0, 0x28, 0xa1, 0x26, 0x02, 0x01, 0x01, 0xa2, 0x21, 0x80, 0x09, 0x49,
    0x4e, 0x46, 0x4f, 0x20, 0x54, 0x45, 0x43, 0x48, 0x81, 0x0d, 0x53, 0x36, 0x31, 0x38, 0x35,
    0x30, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x50, 0x43, 0x82, 0x05, 0x30, 0x2e, 0x30, 0x2e, 0x31,
};

static const uint8_t pic_status_req[] = {0x03, 0x00, 0x00, 0x1c, 0x02, 0xf0, 0x80, 0x01, 0x00,
                                         0x01, 0x00, 0x61, 0x0f, 0x30, 0x0d, 0x02, 0x01, 0x03,
                                         0xa0, 0x08, 0xa0, 0x06, 0x02, 0x01, 0x02, 0x80, 0x01,
                                         0x00};

/* ndpi_iso9506-1-mms.pcap frames 4 and 6: COTP CR and CC */
static const uint8_t cotp_cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x07, 0x78, 0x00,
                                  0xc1, 0x02, 0x00, 0x01, 0xc2, 0x02, 0x00, 0x01, 0xc0, 0x01, 0x0d};
static const uint8_t cotp_cc[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x07, 0x78, 0x34, 0x00, 0x00,
                                  0xc1, 0x02, 0x00, 0x01, 0xc2, 0x02, 0x00, 0x01, 0xc0, 0x01, 0x0a};

static void check_association(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 3);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_string_equal(t->function_name, "initiate");
    assert_int_equal(t->ops, QW_OP_SESSION);
    JSON_HAS(f, 0, "\"request\":{\"pdu_type\":\"initiate_request\",\"function\":264,"
                   "\"function_name\":\"initiate\",\"local_detail\":65280,"
                   "\"max_serv_outstanding_calling\":10,\"max_serv_outstanding_called\":10,"
                   "\"data_structure_nesting_level\":5,\"version\":1,\"parameter_cbb\":\"05f100\","
                   "\"services_supported\":\"03ee1c000004000000010118\"}");
    JSON_HAS(f, 0, "\"response\":{\"pdu_type\":\"initiate_response\",\"function\":264,"
                   "\"function_name\":\"initiate\",\"local_detail\":49152,");
    t = txn_at(f, 1);
    assert_string_equal(t->function_name, "identify");
    assert_int_equal(t->function, 2);
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 1, "\"response\":{\"pdu_type\":\"confirmed_response\",\"invoke_id\":1,"
                   "\"function\":2,\"function_name\":\"identify\",\"service\":2,"
                   "\"vendor_name\":\"INFO TECH\",\"model_name\":\"S61850 for PC\","
                   "\"revision\":\"0.0.1\"}");
    t = txn_at(f, 2); /* unanswered, flushed at the end */
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_string_equal(t->function_name, "status");
    assert_int_equal(t->ops, QW_OP_DIAGNOSTIC);
    assert_string_equal(qw_record_identity(&f->rec, true, "vendor"), "INFO TECH");
    assert_string_equal(qw_record_identity(&f->rec, true, "model"), "S61850 for PC");
    assert_string_equal(qw_record_identity(&f->rec, true, "firmware"), "0.0.1");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_association_and_identify(void **ts)
{
    struct fx *f = *ts;
    FEED(f, C2S, cotp_cr);
    FEED(f, S2C, cotp_cc);
    f->ctx.ts_ns = 1000;
    FEED(f, C2S, pic_connect);
    f->ctx.ts_ns = 43000;
    FEED(f, S2C, pic_accept);
    FEED(f, C2S, pic_identify_req);
    FEED(f, S2C, pic_identify_rsp);
    FEED(f, C2S, pic_status_req);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->request_ns, 1000);
    assert_int_equal(txn_at(f, 0)->response_ns, 43000);
    flow_end(f);
    check_association(f);
}

/* Every split of each direction's stream into two segments gives the same records. */
static void test_split_at_every_offset(void **ts)
{
    struct fx *f = *ts;
    struct buf c = {0}, s = {0};
    put(&c, cotp_cr, sizeof cotp_cr);
    put(&c, pic_connect, sizeof pic_connect);
    put(&s, cotp_cc, sizeof cotp_cc);
    put(&s, pic_accept, sizeof pic_accept);
    const struct msg conv[] = {
        {C2S, c.b, c.n},
        {S2C, s.b, s.n},
        {C2S, pic_identify_req, sizeof pic_identify_req},
        {S2C, pic_identify_rsp, sizeof pic_identify_rsp},
        {C2S, pic_status_req, sizeof pic_status_req},
    };
    check_every_split_with(f, conv, sizeof conv / sizeof conv[0], check_association);
}

static void test_several_pdus_in_one_chunk(void **ts)
{
    struct fx *f = *ts;
    struct buf all = {0};
    put(&all, pic_connect, sizeof pic_connect);
    put(&all, pic_identify_req, sizeof pic_identify_req);
    put(&all, pic_status_req, sizeof pic_status_req);
    feed(f, C2S, all.b, all.n);
    struct buf back = {0};
    put(&back, pic_accept, sizeof pic_accept);
    put(&back, pic_identify_rsp, sizeof pic_identify_rsp);
    feed(f, S2C, back.b, back.n);
    flow_end(f);
    check_association(f);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    struct buf b = {0};
    /* CR alone, or CR then a CONNECT: wait, then match */
    assert_int_equal(qw_proto_mms.probe(cotp_cr, sizeof cotp_cr, C2S), QW_PROBE_NEED_MORE);
    put(&b, cotp_cr, sizeof cotp_cr);
    put(&b, pic_connect, sizeof pic_connect);
    assert_int_equal(qw_proto_mms.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    /* every prefix of it is a valid prefix */
    for (size_t n = 0; n < sizeof cotp_cr + 8; n++)
        assert_int_equal(qw_proto_mms.probe(b.b, n, C2S), QW_PROBE_NEED_MORE);
    /* CC then ACCEPT, and a mid-stream DATA SPDU */
    struct buf s = {0};
    put(&s, cotp_cc, sizeof cotp_cc);
    put(&s, pic_accept, sizeof pic_accept);
    assert_int_equal(qw_proto_mms.probe(s.b, s.n, S2C), QW_PROBE_MATCH);
    assert_int_equal(qw_proto_mms.probe(pic_identify_req, sizeof pic_identify_req, C2S),
                     QW_PROBE_MATCH);
    /* MMS straight on COTP (corpus: iti_mms-killRequest.pcap frame 8) */
    static const uint8_t raw[] = {0x03, 0x00, 0x00, 0x2f, 0x02, 0xf0, 0x80, 0xa8, 0x26, 0x80,
                                  0x02, 0x00, 0x1f, 0x81, 0x01, 0x03, 0x82, 0x01, 0x03, 0x83,
                                  0x02, 0x08, 0x08, 0xa4, 0x16, 0x80, 0x01, 0x01, 0x81, 0x03,
                                  0x05, 0xe8, 0x00, 0x82, 0x0c, 0x03, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(qw_proto_mms.probe(raw, sizeof raw, C2S), QW_PROBE_MATCH);
    /* S7comm (0x32) and S7comm-plus (0x72) after the same CR: not ours */
    static const uint8_t s7[] = {0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0xf0, 0x00, 0x00,
                                 0x01, 0x00, 0x01, 0x01, 0xe0};
    static const uint8_t s7p[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0, 0x80, 0x72, 0x01, 0x00,
                                  0x00, 0x31};
    struct buf x = {0};
    put(&x, cotp_cr, sizeof cotp_cr);
    put(&x, s7, sizeof s7);
    assert_int_equal(qw_proto_mms.probe(x.b, x.n, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_mms.probe(s7p, sizeof s7p, C2S), QW_PROBE_NO);
    /* a partial S7comm DT is refused at once */
    assert_int_equal(qw_proto_mms.probe(s7, 10, C2S), QW_PROBE_NO);
    /* near misses: GIVE TOKENS with parameters, DT SPDU with no user data tag, CONNECT with
     * an unknown first parameter, TPKT version 2 */
    static const uint8_t gt_bad[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0, 0x80, 0x01, 0x00, 0x01,
                                     0x00, 0x30};
    static const uint8_t cn_bad[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0, 0x80, 0x0d, 0x03, 0x99,
                                     0x01, 0x00};
    static const uint8_t v2[] = {0x02, 0x00, 0x00, 0x0c, 0x02, 0xf0, 0x80, 0x01, 0x00, 0x01,
                                 0x00, 0x61};
    assert_int_equal(qw_proto_mms.probe(gt_bad, sizeof gt_bad, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_mms.probe(cn_bad, sizeof cn_bad, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_mms.probe(v2, sizeof v2, C2S), QW_PROBE_NO);
    /* other protocols */
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03};
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00,
                                     0x00, 0x01};
    assert_int_equal(qw_proto_mms.probe((const uint8_t *)http, sizeof http - 1, C2S),
                     QW_PROBE_NO);
    assert_int_equal(qw_proto_mms.probe(tls, sizeof tls, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_mms.probe(modbus, sizeof modbus, C2S), QW_PROBE_NO);
    uint8_t junk[256];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 73 + 5);
    assert_int_equal(qw_proto_mms.probe(junk, sizeof junk, C2S), QW_PROBE_NO);
}

/* ---- Services ------------------------------------------------------------------------------ */

static void test_read_write_and_iec61850_control(void **ts)
{
    struct fx *f = *ts;
    static const char *const rd[] = {"LD0/LLN0$ST$Mod$stVal", "LD0/MMXU1$MX$TotW$mag$f"};
    struct buf va = {0}, pdu = {0};
    var_list(&va, rd, 2);
    /* Read-Request ::= SEQUENCE { specificationWithResult [0], variableAccessSpecificatn [1] } */
    struct buf rq = {0}, wrapped = {0};
    tlv_buf(&wrapped, CTXC, 1, &va);
    tlv_buf(&rq, CTXC, 4, &wrapped);
    confirmed(&pdu, 0, 7, &rq);
    send(f, C2S, &pdu);
    /* response: listOfAccessResult [1]: a Data integer, a failure object-non-existent (10) */
    struct buf res = {0}, lar = {0}, rsp = {0}, rpdu = {0};
    uint8_t one = 1;
    tlv_id(&res, CTX, 5, &one, 1);
    uint8_t ten = 10;
    tlv_id(&res, CTX, 0, &ten, 1);
    tlv_buf(&lar, CTXC, 1, &res);
    tlv_buf(&rsp, CTXC, 4, &lar);
    confirmed(&rpdu, 1, 7, &rsp);
    send(f, S2C, &rpdu);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->ops, QW_OP_READ);
    assert_true(t->error); /* a DataAccessError result */
    JSON_HAS(f, 0, "\"variables\":[\"LD0/LLN0$ST$Mod$stVal\",\"LD0/MMXU1$MX$TotW$mag$f\"]");
    JSON_HAS(f, 0, "\"result_count\":2,\"failure_count\":1,\"failures\":[\"object_non_existent\"]");

    /* write to a control object (Oper): write + control */
    static const char *const wr[] = {"LD0/CSWI1$CO$Pos$Oper"};
    struct buf wva = {0}, data = {0}, lod = {0}, wsvc = {0}, wpdu = {0};
    var_list(&wva, wr, 1);
    uint8_t t1 = 1;
    tlv_id(&data, CTX, 3, &t1, 1);
    tlv_id(&data, CTX, 3, &t1, 1);
    tlv_buf(&lod, CTXC, 0, &data);
    put(&wva, lod.b, lod.n);
    tlv_buf(&wsvc, CTXC, 5, &wva);
    confirmed(&wpdu, 0, 8, &wsvc);
    send(f, C2S, &wpdu);
    struct buf ok = {0}, wr_rsp = {0}, wr_pdu = {0};
    tlv_id(&ok, CTX, 1, NULL, 0); /* success */
    tlv_buf(&wr_rsp, CTXC, 5, &ok);
    confirmed(&wr_pdu, 1, 8, &wr_rsp);
    send(f, S2C, &wr_pdu);
    assert_int_equal(f->rec.ntxns, 2);
    t = txn_at(f, 1);
    assert_string_equal(t->function_name, "write");
    assert_int_equal(t->ops, QW_OP_WRITE | QW_OP_CONTROL);
    assert_false(t->error);
    JSON_HAS(f, 1, "\"variables\":[\"LD0/CSWI1$CO$Pos$Oper\"],\"data_count\":2");
    JSON_HAS(f, 1, "\"result_count\":1,\"failure_count\":0");
    /* a settings write is config */
    static const char *const sp[] = {"LD0/PTOC1$SP$StrVal$setMag$f"};
    struct buf sva = {0}, ssvc = {0}, spdu = {0};
    var_list(&sva, sp, 1);
    put(&sva, lod.b, lod.n);
    tlv_buf(&ssvc, CTXC, 5, &sva);
    confirmed(&spdu, 0, 9, &ssvc);
    send(f, C2S, &spdu);
    flow_end(f);
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_WRITE | QW_OP_CONFIG);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_get_name_list(void **ts)
{
    struct fx *f = *ts;
    /* objectClass basicObjectClass named-variable (0), scope domain "LD0" */
    struct buf oc = {0}, sc = {0}, in = {0}, svc = {0}, pdu = {0};
    uint8_t zero = 0;
    tlv_id(&oc, CTX, 0, &zero, 1);
    tlv_buf(&in, CTXC, 0, &oc);
    tlv_str(&sc, CTX, 1, "LD0");
    tlv_buf(&in, CTXC, 1, &sc);
    tlv_str(&in, CTX, 2, "LLN0$ST");
    tlv_buf(&svc, CTXC, 1, &in);
    confirmed(&pdu, 0, 1, &svc);
    send(f, C2S, &pdu);
    struct buf ids = {0}, lst = {0}, rs = {0}, rpdu = {0};
    tlv_str(&ids, UNIV, 26, "LLN0");
    tlv_str(&ids, UNIV, 26, "LLN0$ST$Mod");
    tlv_buf(&lst, CTXC, 0, &ids);
    tlv_id(&lst, CTX, 1, &zero, 1); /* moreFollows FALSE */
    tlv_buf(&rs, CTXC, 1, &lst);
    confirmed(&rpdu, 1, 1, &rs);
    send(f, S2C, &rpdu);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"function_name\":\"get_name_list\",\"service\":1,\"object_class\":0,"
                   "\"object_class_name\":\"named_variable\",\"object_scope\":\"domain_specific\","
                   "\"domain\":\"LD0\",\"continue_after\":\"LLN0$ST\"}");
    JSON_HAS(f, 0, "\"identifiers\":[\"LLN0\",\"LLN0$ST$Mod\"],\"more_follows\":false");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
}

static void test_program_and_domain_services(void **ts)
{
    struct fx *f = *ts;
    struct {
        uint32_t tag;
        const char *name;
        uint32_t ops;
        const char *field;
    } cases[] = {
        {40, "start", QW_OP_START, "\"program_invocation\":\"PI1\""},
        {41, "stop", QW_OP_STOP, "\"program_invocation\":\"PI1\""},
        {42, "resume", QW_OP_START, "\"program_invocation\":\"PI1\""},
        {43, "reset", QW_OP_RESTART, "\"program_invocation\":\"PI1\""},
        {44, "kill", QW_OP_RESTART, "\"program_invocation\":\"PI1\""},
        {28, "terminate_download_sequence", QW_OP_PROGRAM, "\"domain\":\"PI1\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf in = {0}, svc = {0}, pdu = {0};
        tlv_str(&in, CTX, 0, "PI1");
        tlv_buf(&svc, CTXC, cases[i].tag, &in);
        confirmed(&pdu, 0, 100 + (uint32_t)i, &svc);
        send(f, C2S, &pdu);
        struct buf r = {0}, rp = {0};
        tlv_id(&r, CTX, cases[i].tag, NULL, 0); /* NULL response */
        confirmed(&rp, 1, 100 + (uint32_t)i, &r);
        send(f, S2C, &rp);
        assert_int_equal(f->rec.ntxns, i + 1);
        assert_string_equal(txn_at(f, i)->function_name, cases[i].name);
        assert_int_equal(txn_at(f, i)->function, cases[i].tag);
        assert_int_equal(txn_at(f, i)->ops, cases[i].ops);
        JSON_HAS(f, i, cases[i].field);
    }
    /* deleteDomain [36] IMPLICIT Identifier (high-tag primitive) */
    struct buf dd = {0}, pdu = {0};
    tlv_str(&dd, CTX, 36, "RECIPE");
    confirmed(&pdu, 0, 200, &dd);
    send(f, C2S, &pdu);
    /* initiateDownloadSequence (corpus iti_mms-initiateDownloadSequence.pcap frame 16) */
    static const uint8_t ids[] = {0x03, 0x00, 0x00, 0x32, 0x02, 0xf0, 0x80, 0xa0, 0x29, 0x02,
                                  0x01, 0x01, 0xba, 0x24, 0x80, 0x10, 0x44, 0x54, 0x4c, 0x6f,
                                  0x67, 0x46, 0x69, 0x6c, 0x65, 0x73, 0x44, 0x6f, 0x6d, 0x61,
                                  0x69, 0x6e, 0xa1, 0x0d, 0x1a, 0x0b, 0x4d, 0x75, 0x53, 0x65,
                                  0x63, 0x41, 0x43, 0x38, 0x30, 0x30, 0x4d, 0x82, 0x01, 0x00};
    FEED(f, C2S, ids);
    flow_end(f);
    size_t n = sizeof cases / sizeof cases[0];
    assert_int_equal(f->rec.ntxns, n + 2);
    assert_string_equal(txn_at(f, n)->function_name, "delete_domain");
    assert_int_equal(txn_at(f, n)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, n, "\"domain\":\"RECIPE\"");
    assert_string_equal(txn_at(f, n + 1)->function_name, "initiate_download_sequence");
    JSON_HAS(f, n + 1, "\"domain\":\"DTLogFilesDomain\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_file_services(void **ts)
{
    struct fx *f = *ts;
    /* fileOpen { fileName [0] {"COMTRADE", "rec1.cfg"}, initialPosition [1] 0 } */
    struct buf fn = {0}, in = {0}, svc = {0}, pdu = {0};
    tlv_str(&fn, UNIV, 25, "COMTRADE");
    tlv_str(&fn, UNIV, 25, "rec1.cfg");
    tlv_buf(&in, CTXC, 0, &fn);
    tlv_int(&in, CTX, 1, 0);
    tlv_buf(&svc, CTXC, 72, &in);
    confirmed(&pdu, 0, 5, &svc);
    send(f, C2S, &pdu);
    struct buf r = {0}, rs = {0}, rp = {0};
    tlv_int(&r, CTX, 0, 9); /* frsmID */
    tlv_buf(&rs, CTXC, 72, &r);
    confirmed(&rp, 1, 5, &rs);
    send(f, S2C, &rp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "file_open");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_FILE);
    JSON_HAS(f, 0, "\"files\":[\"COMTRADE/rec1.cfg\"],\"handle\":0");
    JSON_HAS(f, 0, "\"response\":{\"pdu_type\":\"confirmed_response\",\"invoke_id\":5,"
                   "\"function\":72,\"function_name\":\"file_open\",\"service\":72,\"handle\":9}");
    /* fileDelete [76] IMPLICIT FileName */
    struct buf del = {0}, dp = {0};
    tlv_buf(&del, CTXC, 76, &fn);
    confirmed(&dp, 0, 6, &del);
    send(f, C2S, &dp);
    flow_end(f);
    assert_string_equal(txn_at(f, 1)->function_name, "file_delete");
    JSON_HAS(f, 1, "\"files\":[\"COMTRADE/rec1.cfg\"]");
}

static void test_confirmed_error_and_reject(void **ts)
{
    struct fx *f = *ts;
    struct buf svc = {0}, pdu = {0};
    static const char *const v[] = {"LD0/LLN0$BR$rcb01"};
    struct buf va = {0}, in = {0};
    var_list(&va, v, 1);
    /* getVariableAccessAttributes: name [0] ObjectName */
    struct buf on = {0};
    objname_dom(&on, "LD0", "LLN0$BR$rcb01");
    tlv_buf(&in, CTXC, 0, &on);
    tlv_buf(&svc, CTXC, 6, &in);
    confirmed(&pdu, 0, 303731, &svc);
    send(f, C2S, &pdu);
    /* confirmed-ErrorPDU { invokeID [0], serviceError [2] { errorClass [0] { access [7] 2 },
     * additionalDescription [2] } } */
    struct buf ec = {0}, se = {0}, err = {0}, epdu = {0};
    uint8_t two = 2;
    tlv_id(&ec, CTX, 7, &two, 1);
    tlv_buf(&se, CTXC, 0, &ec);
    tlv_str(&se, CTX, 2, "no such object");
    tlv_int(&err, CTX, 0, 303731);
    tlv_buf(&err, CTXC, 2, &se);
    tlv_buf(&epdu, CTXC, 2, &err);
    send(f, S2C, &epdu);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->error);
    assert_string_equal(t->function_name, "get_variable_access_attributes");
    JSON_HAS(f, 0, "\"variables\":[\"LD0/LLN0$BR$rcb01\"]");
    JSON_HAS(f, 0, "\"response\":{\"pdu_type\":\"confirmed_error\",\"invoke_id\":303731,"
                   "\"function\":6,\"function_name\":\"get_variable_access_attributes\","
                   "\"error_class\":7,\"error_class_name\":\"access\",\"error_code\":2,"
                   "\"additional_description\":\"no such object\"");
    /* a request rejected by a RejectPDU { originalInvokeID [0], confirmed-requestPDU [1] 1 } */
    struct buf s2 = {0}, p2 = {0};
    tlv_id(&s2, CTX, 2, NULL, 0);
    confirmed(&p2, 0, 12, &s2);
    send(f, C2S, &p2);
    struct buf rj = {0}, rjp = {0};
    uint8_t one = 1;
    tlv_int(&rj, CTX, 0, 12);
    tlv_id(&rj, CTX, 1, &one, 1);
    tlv_buf(&rjp, CTXC, 4, &rj);
    send(f, S2C, &rjp);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 1)->error);
    assert_string_equal(txn_at(f, 1)->function_name, "identify");
    JSON_HAS(f, 1, "\"response\":{\"pdu_type\":\"reject\",\"original_invoke_id\":12,"
                   "\"function\":2,\"function_name\":\"identify\",\"reject_type\":"
                   "\"confirmed_request\",\"reject_code\":1");
}

static void test_information_report(void **ts)
{
    struct fx *f = *ts;
    /* unconfirmed informationReport, variableListName vmd "RPT", RptID first */
    struct buf vln = {0}, vls = {0}, res = {0}, lar = {0}, ir = {0}, svc = {0}, pdu = {0};
    tlv_str(&vln, CTX, 0, "RPT");
    tlv_buf(&vls, CTXC, 1, &vln);
    tlv_str(&res, CTX, 10, "LD0/LLN0$rcb_I02");
    uint8_t b = 1;
    tlv_id(&res, CTX, 3, &b, 1);
    tlv_buf(&lar, CTXC, 0, &res);
    put(&ir, vls.b, vls.n);
    put(&ir, lar.b, lar.n);
    tlv_buf(&svc, CTXC, 0, &ir);
    tlv_buf(&pdu, CTXC, 3, &svc);
    send(f, S2C, &pdu);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x200);
    assert_string_equal(t->function_name, "information_report");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "{\"request\":{\"pdu_type\":\"unconfirmed\",\"function\":512,"
                   "\"function_name\":\"information_report\",\"service\":0,"
                   "\"variable_lists\":[\"RPT\"],\"report_id\":\"LD0/LLN0$rcb_I02\","
                   "\"result_count\":2,\"failure_count\":0}}");
}

static void test_conclude_and_cancel(void **ts)
{
    struct fx *f = *ts;
    struct buf c = {0}, r = {0};
    tlv_id(&c, CTX, 11, NULL, 0);
    tlv_id(&r, CTX, 12, NULL, 0);
    send(f, C2S, &c);
    send(f, S2C, &r);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "conclude");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_SESSION);
    struct buf cr = {0}, cp = {0};
    uint8_t id = 7;
    tlv_id(&cr, CTX, 5, &id, 1);
    tlv_id(&cp, CTX, 6, &id, 1);
    send(f, C2S, &cr);
    send(f, S2C, &cp);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"request\":{\"pdu_type\":\"cancel_request\",\"invoke_id\":7,"
                   "\"function\":261,\"function_name\":\"cancel\"}");
    JSON_HAS(f, 1, "\"response\":{\"pdu_type\":\"cancel_response\",\"invoke_id\":7,");
}

static void test_requests_from_the_server_side(void **ts)
{
    struct fx *f = *ts;
    /* ICCP: the server asks the client too; invokeIDs are per requester */
    struct buf s = {0}, p1 = {0}, p2 = {0}, r1 = {0}, r2 = {0}, rs = {0};
    tlv_id(&s, CTX, 2, NULL, 0);
    confirmed(&p1, 0, 1, &s); /* client asks, invoke 1 */
    confirmed(&p2, 0, 1, &s); /* server asks, invoke 1 too */
    send(f, C2S, &p1);
    send(f, S2C, &p2);
    struct buf idr = {0};
    tlv_str(&idr, CTX, 0, "V");
    tlv_str(&idr, CTX, 1, "M");
    tlv_str(&idr, CTX, 2, "R");
    tlv_buf(&rs, CTXC, 2, &idr);
    confirmed(&r1, 1, 1, &rs);
    confirmed(&r2, 1, 1, &rs);
    f->ctx.ts_ns += 1000;
    send(f, C2S, &r2); /* the client answers the server */
    f->ctx.ts_ns += 1000;
    send(f, S2C, &r1); /* the server answers the client */
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->response_ns - txn_at(f, 0)->request_ns, 1000);
    assert_int_equal(txn_at(f, 1)->response_ns - txn_at(f, 1)->request_ns, 2000);
    /* the identity goes to whoever answered */
    assert_string_equal(f->rec.identities[0].value, "V");
    assert_false(f->rec.identities[0].server);
    assert_true(qw_record_identity(&f->rec, true, "vendor") != NULL);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Framing ------------------------------------------------------------------------------- */

static void test_tsdu_over_several_dt(void **ts)
{
    struct fx *f = *ts;
    /* the identify request split into DT TPDUs of 5, 5 and the rest octets */
    const uint8_t *tsdu = pic_identify_req + 7;
    size_t n = sizeof pic_identify_req - 7;
    size_t parts[3] = {5, 5, n - 10};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        uint8_t tp[64] = {3, 0, 0, (uint8_t)(7 + parts[i]), 2, 0xf0,
                          (uint8_t)(i == 2 ? 0x80 : 0x00)};
        memcpy(tp + 7, tsdu + at, parts[i]);
        at += parts[i];
        feed(f, C2S, tp, 7 + parts[i]);
    }
    FEED(f, S2C, pic_identify_rsp);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "identify");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_oversized_tsdu_keeps_its_start(void **ts)
{
    struct fx *f = *ts;
    /* a write of 200 variables (about 7 KiB, more than the 4 KiB reassembly buffer) sent as
     * DT TPDUs of 1000 octets */
    static const char *const names[] = {"LD0/GGIO1$SP$SPCSO1$setVal"};
    struct buf va = {0}, list = {0}, svc = {0}, pdu = {0}, w = {0};
    for (int i = 0; i < 200; i++) {
        struct buf one = {0};
        var_list(&one, names, 1);
        put(&list, one.b + 2, one.n - 2); /* the inner SEQUENCE only */
    }
    tlv_buf(&va, CTXC, 0, &list);
    struct buf data = {0}, lod = {0};
    uint8_t t1 = 1;
    tlv_id(&data, CTX, 3, &t1, 1);
    tlv_buf(&lod, CTXC, 0, &data);
    put(&va, lod.b, lod.n);
    tlv_buf(&svc, CTXC, 5, &va);
    confirmed(&pdu, 0, 77, &svc);
    assert_true(pdu.n > 6000);
    wrap(&w, &pdu);
    const uint8_t *tsdu = w.b + 7;
    size_t left = w.n - 7, at = 0;
    while (left) {
        size_t k = left < 1000 ? left : 1000;
        uint8_t tp[1007] = {3, 0, (uint8_t)((7 + k) >> 8), (uint8_t)(7 + k), 2, 0xf0,
                            (uint8_t)(k == left ? 0x80 : 0x00)};
        memcpy(tp + 7, tsdu + at, k);
        feed(f, C2S, tp, 7 + k);
        at += k;
        left -= k;
    }
    struct buf ok = {0}, wr = {0}, rp = {0};
    tlv_id(&ok, CTX, 1, NULL, 0);
    tlv_buf(&wr, CTXC, 5, &ok);
    confirmed(&rp, 1, 77, &wr);
    send(f, S2C, &rp);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_string_equal(t->function_name, "write");
    assert_int_equal(t->ops, QW_OP_WRITE | QW_OP_CONFIG);
    JSON_HAS(f, 0, "\"invoke_id\":77");
    JSON_HAS(f, 0, "\"variables\":[\"LD0/GGIO1$SP$SPCSO1$setVal\"");
    JSON_HAS(f, 0, "\"truncated\":true");
    JSON_LACKS(f, 0, "malformed");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_gap_and_bad_tpkt_resync(void **ts)
{
    struct fx *f = *ts;
    /* half an identify request, then a lost segment, then a whole one */
    feed(f, C2S, pic_identify_req, 12);
    qw_pending_reset(&f->pend[C2S]);
    qw_proto_mms.gap(&f->ctx, f->state, C2S);
    static const uint8_t tail[] = {0x01, 0x03, 0xa0, 0x07};
    FEED(f, C2S, tail);
    FEED(f, C2S, pic_status_req);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "status");
    /* a broken TPKT header: anomaly, then the next header is found */
    fx_reset(f);
    static const uint8_t bad[] = {0x03, 0x00, 0x00, 0x02, 0xde, 0xad};
    FEED(f, C2S, bad);
    FEED(f, C2S, pic_status_req);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.invalid_tpkt"), 1);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_malformed_layers(void **ts)
{
    struct fx *f = *ts;
    /* COTP length indicator past the TPKT */
    static const uint8_t cotp[] = {0x03, 0x00, 0x00, 0x08, 0x09, 0xf0, 0x80, 0x00};
    FEED(f, C2S, cotp);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.invalid_cotp"), 1);
    /* DATA SPDU whose presentation user data is not fully-encoded-data */
    static const uint8_t ppdu[] = {0x03, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0x80, 0x01, 0x00,
                                   0x01, 0x00, 0x62, 0x02, 0x30, 0x00};
    FEED(f, C2S, ppdu);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.invalid_ppdu"), 1);
    /* session LI past the TSDU */
    static const uint8_t spdu[] = {0x03, 0x00, 0x00, 0x0b, 0x02, 0xf0, 0x80, 0x0d, 0x40,
                                   0x05, 0x00};
    FEED(f, C2S, spdu);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.invalid_spdu"), 1);
    /* an MMS PDU with a length passing its presentation data value */
    struct buf bad = {0};
    static const uint8_t m[] = {0xa0, 0x10, 0x02, 0x01, 0x01};
    put(&bad, m, sizeof m);
    struct buf w = {0};
    wrap(&w, &bad);
    feed(f, C2S, w.b, w.n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.invalid_pdu"), 1);
    /* a confirmed request without its service */
    struct buf nos = {0}, in = {0};
    tlv_int(&in, UNIV, 2, 4);
    tlv_buf(&nos, CTXC, 0, &in);
    send(f, C2S, &nos);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.malformed_pdu"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"malformed\":true");
    assert_string_equal(txn_at(f, 0)->function_name, "confirmed_request");
}

/* Fuzzer regression: a confirmed request whose service is context tag 4151 (high-tag form
 * bf a0 37) must keep the function codes in their ranges. */
static void test_large_service_tag(void **ts)
{
    struct fx *f = *ts;
    struct buf svc = {0}, pdu = {0}, u = {0}, us = {0};
    tlv_str(&svc, CTXC, 4151, "x");
    confirmed(&pdu, 0, 12, &svc);
    send(f, C2S, &pdu);
    tlv_id(&us, CTXC, 300, NULL, 0);
    tlv_buf(&u, CTXC, 3, &us);
    send(f, S2C, &u);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->function, 0x200 | 0xFF);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
    JSON_HAS(f, 0, "\"service\":300");
    assert_int_equal(txn_at(f, 1)->function, 0x100);
    assert_string_equal(txn_at(f, 1)->function_name, "confirmed_request");
    JSON_HAS(f, 1, "\"invoke_id\":12,\"function\":256,\"function_name\":\"confirmed_request\","
                   "\"service\":4151");
}

/* Fuzzer regression: an ACCEPT whose CPA user data is cut inside a PDV by a presentation
 * length that passes the SPDU; a primitive member of the cut initiate-Response was read past
 * what was there (UBSan: null pointer + 0 in qw_ber_int). */
static void test_cut_primitive_in_accept(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t crash[] = {
        0x03, 0x00, 0x00, 0x92, 0x02, 0xf0, 0x80, 0x0e, 0x89, 0x05, 0x06, 0x13, 0x01, 0x00,
        0x16, 0x01, 0x02, 0x14, 0x02, 0x00, 0x02, 0xc1, 0x7b, 0x31, 0x79, 0xa0, 0x03, 0x80,
        0x01, 0x01, 0xa2, 0x72, 0x83, 0x04, 0x00, 0x00, 0x00, 0x01, 0xa5, 0x12, 0x30, 0x07,
        0x80, 0x01, 0x00, 0x81, 0x02, 0x51, 0x01, 0x30, 0x07, 0x80, 0x01, 0x00, 0x81, 0x02,
        0x51, 0x01, 0x88, 0x02, 0x06, 0x00, 0x61, 0x52, 0x30, 0x50, 0x02, 0x01, 0x01, 0xa0,
        0x4b, 0x61, 0x49, 0x80, 0x02, 0x07, 0x80, 0xa1, 0x07, 0x06, 0x05, 0x28, 0xca, 0x22,
        0x02, 0x03, 0xa2, 0x03, 0x02, 0x01, 0x00, 0xa3, 0x05, 0xa1, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0x02, 0x01, 0x00, 0xbe, 0x2e, 0x28, 0x2c, 0x02, 0x01, 0x03, 0xa0, 0x27, 0xa9,
        0x25, 0x80, 0x02, 0x7d, 0x00, 0x81, 0x01, 0x0a, 0x82, 0x01, 0x08, 0x83, 0x01, 0x05,
        0xa4, 0x16, 0x80, 0x01, 0x01, 0x81, 0x03, 0x05, 0xe1, 0x00, 0x82, 0x0c, 0x03, 0xee,
        0x08, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0xed, 0x18};
    FEED(f, S2C, crash);
    flow_end(f);
    assert_true(f->rec.nanomalies >= 1); /* the broken PPDU is reported, nothing read past */
}

static void test_queue_bounds_and_duplicates(void **ts)
{
    struct fx *f = *ts;
    struct buf s = {0};
    tlv_id(&s, CTX, 2, NULL, 0);
    for (uint32_t i = 0; i < 20; i++) {
        struct buf p = {0};
        confirmed(&p, 0, i, &s);
        send(f, C2S, &p);
    }
    /* 16 outstanding: the 4 oldest were reported unanswered */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 4);
    struct buf p = {0};
    confirmed(&p, 0, 19, &s); /* invokeID 19 again */
    send(f, C2S, &p);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "mms.duplicate_invoke_id"), 1);
    assert_int_equal(f->rec.ntxns, 5);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 21);
    for (size_t i = 0; i < f->rec.ntxns; i++) assert_false(txn_at(f, i)->has_response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_association_and_identify),
        FX_TEST(test_split_at_every_offset),
        FX_TEST(test_several_pdus_in_one_chunk),
        FX_TEST(test_probe),
        FX_TEST(test_read_write_and_iec61850_control),
        FX_TEST(test_get_name_list),
        FX_TEST(test_program_and_domain_services),
        FX_TEST(test_file_services),
        FX_TEST(test_confirmed_error_and_reject),
        FX_TEST(test_information_report),
        FX_TEST(test_conclude_and_cancel),
        FX_TEST(test_requests_from_the_server_side),
        FX_TEST(test_tsdu_over_several_dt),
        FX_TEST(test_oversized_tsdu_keeps_its_start),
        FX_TEST(test_gap_and_bad_tpkt_resync),
        FX_TEST(test_malformed_layers),
        FX_TEST(test_large_service_tag),
        FX_TEST(test_cut_primitive_in_accept),
        FX_TEST(test_queue_bounds_and_duplicates),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
