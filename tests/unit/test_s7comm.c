/* Unit tests for the S7comm parser (src/proto/s7comm.c) and the port-102 framing it shares
 * with S7comm-plus (src/proto/s7comm_framing.c).
 *
 * Streams are fed through qw_stream_deliver as the engine does, into a recording sink; decoded
 * values are checked on the txn summary and on the rendered "s7comm" JSON object. PDUs are built
 * here from their documented layouts (the header, parameter and data formats in the banner of
 * s7comm.c), with values like those of the corpus captures. */
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

extern const struct qw_proto qw_proto_s7comm;

#define PROTO qw_proto_s7comm
#define FX_TS_STEP 0 /* the tests set packet times themselves */

#include "parser_fixture.h"

/* ---- PDU builders ------------------------------------------------------------------------- */

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

/* COTP connection request/confirm (ISO 8073 s.13.3/13.4) with TSAPs and TPDU size 1024. */
static const uint8_t cotp_cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00,
                                  0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a};
static const uint8_t cotp_cc[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x02, 0x00,
                                  0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02};

/* Append one DT TPDU carrying `n` bytes of user data. */
static void dt(struct wire *m, const uint8_t *p, size_t n, bool eot)
{
    size_t len = n + 7;
    uint8_t h[7] = {3, 0, (uint8_t)(len >> 8), (uint8_t)len, 2, 0xf0, eot ? 0x80 : 0x00};
    put(m, h, sizeof h);
    put(m, p, n);
}

/* An S7 PDU: header (12 bytes with error class/code for ack/ack_data), parameter, data. */
static size_t s7(uint8_t *out, uint8_t rosctr, uint16_t ref, const uint8_t *par, size_t pl,
                 const uint8_t *dat, size_t dl, uint8_t ecls, uint8_t ecode)
{
    size_t o = 0;
    out[o++] = 0x32;
    out[o++] = rosctr;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (uint8_t)(ref >> 8);
    out[o++] = (uint8_t)ref;
    out[o++] = (uint8_t)(pl >> 8);
    out[o++] = (uint8_t)pl;
    out[o++] = (uint8_t)(dl >> 8);
    out[o++] = (uint8_t)dl;
    if (rosctr == 2 || rosctr == 3) {
        out[o++] = ecls;
        out[o++] = ecode;
    }
    if (pl) memcpy(out + o, par, pl);
    o += pl;
    if (dl) memcpy(out + o, dat, dl);
    return o + dl;
}

/* Append an S7 PDU as one DT TPDU. */
static void pdu(struct wire *m, uint8_t rosctr, uint16_t ref, const uint8_t *par, size_t pl,
                const uint8_t *dat, size_t dl)
{
    uint8_t b[4096];
    size_t n = s7(b, rosctr, ref, par, pl, dat, dl, 0, 0);
    dt(m, b, n, true);
}

#define PDU(m, ros, ref, par, dat) pdu((m), (ros), (ref), (par), sizeof(par), (dat), sizeof(dat))
#define PDU_P(m, ros, ref, par) pdu((m), (ros), (ref), (par), sizeof(par), NULL, 0)

/* Setup communication [SNAP7]: max AmQ 1/1, PDU 480 asked, 240 granted. */
static const uint8_t setup_req[] = {0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0};
static const uint8_t setup_rsp[] = {0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xf0};

/* Userdata parameters: request (length 4) and response (length 8, last data unit, no error). */
static void ud_par_req(uint8_t *p, uint8_t group, uint8_t sub, uint8_t seq)
{
    const uint8_t h[] = {0x00, 0x01, 0x12, 0x04, 0x11, (uint8_t)(0x40 | group), sub, seq};
    memcpy(p, h, sizeof h);
}

static void ud_par_rsp(uint8_t *p, uint8_t group, uint8_t sub, uint8_t seq, uint8_t dur,
                       uint8_t more, uint16_t err)
{
    const uint8_t h[] = {0x00, 0x01, 0x12, 0x08, 0x12, (uint8_t)(0x80 | group), sub, seq,
                         dur, more, (uint8_t)(err >> 8), (uint8_t)err};
    memcpy(p, h, sizeof h);
}

/* ---- Connection setup and variable services ---------------------------------------------- */

static void handshake(struct fx *f)
{
    struct wire c = {0}, s = {0};
    put(&c, cotp_cr, sizeof cotp_cr);
    PDU_P(&c, 1, 0x0100, setup_req);
    put(&s, cotp_cc, sizeof cotp_cc);
    uint8_t b[64];
    size_t n = s7(b, 3, 0x0100, setup_rsp, sizeof setup_rsp, NULL, 0, 0, 0);
    dt(&s, b, n, true);
    f->ctx.ts_ns = 5000000;
    FEED_BUF(f, C2S, &c);
    f->ctx.ts_ns = 5003000;
    FEED_BUF(f, S2C, &s);
}

static void test_setup_communication(void **ts)
{
    struct fx *f = *ts;
    handshake(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 0xf0);
    assert_string_equal(t->function_name, "setup_communication");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_false(t->error);
    assert_int_equal(t->request_ns, 5000000);
    assert_int_equal(t->response_ns, 5003000);
    JSON_HAS(f, 0, "\"request\":{\"rosctr\":1,\"rosctr_name\":\"job\",\"pdu_reference\":256,"
                   "\"parameter_length\":8,\"data_length\":0,\"function\":240,"
                   "\"function_name\":\"setup_communication\",\"max_amq_calling\":1,"
                   "\"max_amq_called\":1,\"pdu_size\":480}");
    JSON_HAS(f, 0, "\"response\":{\"rosctr\":3,\"rosctr_name\":\"ack_data\",\"pdu_reference\":256,"
                   "\"parameter_length\":8,\"data_length\":0,\"error_class\":0,"
                   "\"error_class_name\":\"no_error\",\"error_code\":0,\"function\":240");
    JSON_HAS(f, 0, "\"pdu_size\":240}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* Read DB1.DBB4 (4 bytes) and MD16 (REAL): two S7ANY items. */
static const uint8_t read_req[] = {
    0x04, 0x02,                                                                   /* func, count */
    0x12, 0x0a, 0x10, 0x02, 0x00, 0x04, 0x00, 0x01, 0x84, 0x00, 0x00, 0x20,       /* DB1.DBB4 */
    0x12, 0x0a, 0x10, 0x08, 0x00, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x80,       /* MD16 */
};
static const uint8_t read_rsp_par[] = {0x04, 0x02};
static const uint8_t read_rsp_data[] = {0xff, 0x04, 0x00, 0x20, 0xde, 0xad, 0xbe, 0xef,
                                        0xff, 0x07, 0x00, 0x04, 0x42, 0xf6, 0xe9, 0x79};

static void test_read_var(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    PDU_P(&c, 1, 0x0200, read_req);
    uint8_t b[128];
    size_t n = s7(b, 3, 0x0200, read_rsp_par, sizeof read_rsp_par, read_rsp_data,
                  sizeof read_rsp_data, 0, 0);
    dt(&s, b, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read_var");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"item_count\":2,\"items\":[{\"syntax_id\":16,\"syntax_name\":\"s7any\","
                   "\"transport_size\":2,\"transport_size_name\":\"byte\",\"length\":4,\"db\":1,"
                   "\"area\":132,\"area_name\":\"data_blocks\",\"byte_address\":4,"
                   "\"bit_address\":0},{\"syntax_id\":16,\"syntax_name\":\"s7any\","
                   "\"transport_size\":8,\"transport_size_name\":\"real\",\"length\":1,\"db\":0,"
                   "\"area\":131,\"area_name\":\"flags\",\"byte_address\":16,\"bit_address\":0}]");
    JSON_HAS(f, 0, "\"results\":[{\"return_code\":255,\"return_name\":\"success\","
                   "\"transport_size\":4,\"transport_size_name\":\"byte_word_dword\","
                   "\"length\":32,\"value\":\"deadbeef\"},{\"return_code\":255,"
                   "\"return_name\":\"success\",\"transport_size\":7,"
                   "\"transport_size_name\":\"real\",\"length\":4,\"value\":\"42f6e979\"}]");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_read_var_item_error_and_fill_byte(void **ts)
{
    struct fx *f = *ts;
    /* 3 items: a 1-bit value (odd length: fill byte), a failed item, a word */
    static const uint8_t req[] = {
        0x04, 0x03,
        0x12, 0x0a, 0x10, 0x01, 0x00, 0x01, 0x00, 0x00, 0x81, 0x00, 0x00, 0x03, /* I0.3 */
        0x12, 0x0a, 0x10, 0x02, 0x00, 0x02, 0x00, 0x09, 0x84, 0x00, 0x00, 0x00, /* DB9.DBB0, 2 */
        0x12, 0x0a, 0x10, 0x04, 0x00, 0x01, 0x00, 0x00, 0x82, 0x00, 0x00, 0x10, /* QW2 */
    };
    static const uint8_t rsp_par[] = {0x04, 0x03};
    static const uint8_t rsp_data[] = {0xff, 0x03, 0x00, 0x01, 0x01, 0x00,
                                       0x0a, 0x00, 0x00, 0x00,
                                       0xff, 0x04, 0x00, 0x10, 0x12, 0x34};
    struct wire c = {0}, s = {0};
    PDU_P(&c, 1, 7, req);
    PDU(&s, 3, 7, rsp_par, rsp_data);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"area_name\":\"inputs\",\"byte_address\":0,\"bit_address\":3}");
    JSON_HAS(f, 0, "{\"return_code\":255,\"return_name\":\"success\",\"transport_size\":3,"
                   "\"transport_size_name\":\"bit\",\"length\":1,\"value\":\"01\"}");
    JSON_HAS(f, 0, "{\"return_code\":10,\"return_name\":\"object_does_not_exist\","
                   "\"transport_size\":0,\"transport_size_name\":\"null\",\"length\":0}");
    JSON_HAS(f, 0, "\"length\":16,\"value\":\"1234\"}]");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_var(void **ts)
{
    struct fx *f = *ts;
    /* write MD16 := REAL 0x42f6e979 */
    static const uint8_t par[] = {0x05, 0x01, 0x12, 0x0a, 0x10, 0x08, 0x00, 0x01,
                                  0x00, 0x00, 0x83, 0x00, 0x00, 0x80};
    static const uint8_t data[] = {0x00, 0x07, 0x00, 0x04, 0x42, 0xf6, 0xe9, 0x79};
    static const uint8_t rsp_par[] = {0x05, 0x01};
    static const uint8_t rsp_data[] = {0xff};
    struct wire c = {0}, s = {0};
    PDU(&c, 1, 0x1800, par, data);
    PDU(&s, 3, 0x1800, rsp_par, rsp_data);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "write_var");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_WRITE);
    assert_false(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"values\":[{\"transport_size\":7,\"transport_size_name\":\"real\","
                   "\"length\":4,\"value\":\"42f6e979\"}]");
    JSON_HAS(f, 0, "\"item_count\":1,\"results\":[{\"return_code\":255,"
                   "\"return_name\":\"success\"}]");
}

static void test_write_var_value_bounded_and_failed(void **ts)
{
    struct fx *f = *ts;
    /* a 20-byte value is shown as its first 16 bytes; the write is refused */
    uint8_t par[] = {0x05, 0x01, 0x12, 0x0a, 0x10, 0x02, 0x00, 0x14,
                     0x00, 0x05, 0x84, 0x00, 0x00, 0x00};
    uint8_t data[4 + 20] = {0x00, 0x04, 0x00, 0xa0};
    for (int i = 0; i < 20; i++) data[4 + i] = (uint8_t)i;
    static const uint8_t rsp_par[] = {0x05, 0x01};
    static const uint8_t rsp_data[] = {0x05};
    struct wire c = {0}, s = {0};
    PDU(&c, 1, 9, par, data);
    PDU(&s, 3, 9, rsp_par, rsp_data);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"length\":160,\"value\":\"000102030405060708090a0b0c0d0e0f\","
                   "\"value_truncated\":true}");
    JSON_HAS(f, 0, "\"return_code\":5,\"return_name\":\"address_out_of_range\"");
}

static void test_other_item_syntaxes(void **ts)
{
    struct fx *f = *ts;
    /* DBREAD with two areas, then an NCK item kept as hex */
    static const uint8_t par[] = {0x04, 0x02,
                                  0x12, 0x0c, 0xb0, 0x02, 0x04, 0x00, 0x01, 0x00, 0x10, 0x02,
                                  0x00, 0x02, 0x00, 0x20,
                                  0x12, 0x08, 0x82, 0x41, 0x00, 0x03, 0x00, 0x01, 0x7f, 0x01};
    struct wire c = {0};
    PDU_P(&c, 1, 3, par);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_response);
    JSON_HAS(f, 0, "{\"syntax_id\":176,\"syntax_name\":\"dbread\",\"areas\":[{\"length\":4,"
                   "\"db\":1,\"start\":16},{\"length\":2,\"db\":2,\"start\":32}]}");
    JSON_HAS(f, 0, "{\"syntax_id\":130,\"syntax_name\":\"nck\",\"spec\":\"41000300017f01\"}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Block transfer, PI services, stop ---------------------------------------------------- */

static void test_download_sequence(void **ts)
{
    struct fx *f = *ts;
    /* request download of DB1 to the passive file system: load memory 500, MC7 400 */
    static const uint8_t rq[] = {0x1a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
                                 '_', '0', 'A', '0', '0', '0', '0', '1', 'P', 0x0d,
                                 '1', '0', '0', '0', '5', '0', '0', '0', '0', '0', '4', '0', '0'};
    static const uint8_t rq_ack[] = {0x1a};
    /* then the PLC asks the programming device for the block: the job comes from the server */
    static const uint8_t blk[] = {0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
                                  '_', '0', 'A', '0', '0', '0', '0', '1', 'P'};
    static const uint8_t blk_ack[] = {0x1b, 0x01};
    static const uint8_t blk_data[] = {0x00, 0x04, 0x00, 0xfb, 0x70, 0x70, 0x01, 0x01};
    static const uint8_t end[] = {0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
                                  '_', '0', 'A', '0', '0', '0', '0', '1', 'P'};
    static const uint8_t end_ack[] = {0x1c};
    struct wire a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, g = {0};
    PDU_P(&a, 1, 0x0e00, rq);
    uint8_t raw[64];
    size_t n = s7(raw, 3, 0x0e00, rq_ack, sizeof rq_ack, NULL, 0, 0, 0);
    dt(&b, raw, n, true);
    PDU_P(&c, 1, 0x0100, blk);
    n = s7(raw, 3, 0x0100, blk_ack, sizeof blk_ack, blk_data, sizeof blk_data, 0, 0);
    dt(&d, raw, n, true);
    PDU_P(&e, 1, 0x0700, end);
    n = s7(raw, 3, 0x0700, end_ack, sizeof end_ack, NULL, 0, 0, 0);
    dt(&g, raw, n, true);
    FEED_BUF(f, C2S, &a);
    FEED_BUF(f, S2C, &b);
    FEED_BUF(f, S2C, &c); /* job from the PLC */
    FEED_BUF(f, C2S, &d); /* its answer from the programming device */
    FEED_BUF(f, S2C, &e);
    FEED_BUF(f, C2S, &g);
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(txn_at(f, i)->has_request && txn_at(f, i)->has_response);
        assert_int_equal(txn_at(f, i)->ops, QW_OP_PROGRAM);
    }
    assert_string_equal(txn_at(f, 0)->function_name, "request_download");
    JSON_HAS(f, 0, "\"filename\":\"_0A00001P\",\"block_type\":\"DB\",\"block_type_code\":\"0A\","
                   "\"block_number\":1,\"filesystem\":\"P\",\"load_memory_length\":500,"
                   "\"mc7_length\":400}");
    assert_string_equal(txn_at(f, 1)->function_name, "download_block");
    JSON_HAS(f, 1, "\"function_status\":1,\"more_data\":true,\"block_data_length\":4}");
    assert_string_equal(txn_at(f, 2)->function_name, "download_ended");
    JSON_HAS(f, 2, "\"transfer_error_code\":0,\"filename\":\"_0A00001P\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_upload_sequence(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t start[] = {0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
                                    '_', '0', '8', '0', '0', '0', '0', '1', 'A'};
    static const uint8_t start_ack[] = {0x1d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07,
                                        0x07, '0', '0', '0', '0', '2', '1', '6'};
    static const uint8_t up[] = {0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
    static const uint8_t up_ack[] = {0x1e, 0x00};
    static const uint8_t up_data[] = {0x00, 0x02, 0x00, 0xfb, 0x70, 0x70};
    static const uint8_t end[] = {0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
    static const uint8_t end_ack[] = {0x1f};
    struct wire c = {0}, s = {0};
    PDU_P(&c, 1, 1, start);
    PDU_P(&c, 1, 2, up);
    PDU_P(&c, 1, 3, end);
    uint8_t raw[64];
    size_t n = s7(raw, 3, 1, start_ack, sizeof start_ack, NULL, 0, 0, 0);
    dt(&s, raw, n, true);
    n = s7(raw, 3, 2, up_ack, sizeof up_ack, up_data, sizeof up_data, 0, 0);
    dt(&s, raw, n, true);
    n = s7(raw, 3, 3, end_ack, sizeof end_ack, NULL, 0, 0, 0);
    dt(&s, raw, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"function_name\":\"start_upload\",\"function_status\":0,\"upload_id\":0,"
                   "\"filename\":\"_0800001A\",\"block_type\":\"OB\",\"block_type_code\":\"08\","
                   "\"block_number\":1,\"filesystem\":\"A\"}");
    JSON_HAS(f, 0, "\"function_status\":0,\"upload_id\":7,\"block_length\":216}");
    JSON_HAS(f, 1, "\"function_name\":\"upload\",\"function_status\":0,\"upload_id\":7}");
    JSON_HAS(f, 1, "\"more_data\":false,\"block_data_length\":2}");
    JSON_HAS(f, 2, "\"function_name\":\"end_upload\",\"function_status\":0,"
                   "\"transfer_error_code\":0,\"upload_id\":7}");
    for (size_t i = 0; i < 3; i++) assert_int_equal(txn_at(f, i)->ops, QW_OP_PROGRAM);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* PI service parameter: 7 unknown bytes, block length, block, name length, name. */
static size_t pi_par(uint8_t *p, const char *arg, size_t alen, const char *name)
{
    size_t o = 0, nl = strlen(name);
    p[o++] = 0x28;
    const uint8_t fill[7] = {0, 0, 0, 0, 0, 0, 0xfd};
    memcpy(p + o, fill, 7);
    o += 7;
    p[o++] = (uint8_t)(alen >> 8);
    p[o++] = (uint8_t)alen;
    memcpy(p + o, arg, alen);
    o += alen;
    p[o++] = (uint8_t)nl;
    memcpy(p + o, name, nl);
    return o + nl;
}

static void pi_exchange(struct fx *f, uint16_t ref, const char *arg, size_t alen,
                        const char *name)
{
    uint8_t par[128], raw[160];
    size_t pl = pi_par(par, arg, alen, name);
    struct wire c = {0}, s = {0};
    pdu(&c, 1, ref, par, pl, NULL, 0);
    static const uint8_t ack[] = {0x28};
    size_t n = s7(raw, 3, ref, ack, 1, NULL, 0, 0, 0);
    dt(&s, raw, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
}

static void test_pi_services(void **ts)
{
    struct fx *f = *ts;
    pi_exchange(f, 1, "\x01\x00" "0A00001P", 10, "_INSE");
    pi_exchange(f, 2, "\x02\x00" "0B02000A" "0C00012B", 18, "_DELE");
    pi_exchange(f, 3, "", 0, "P_PROGRAM");
    pi_exchange(f, 4, "C ", 2, "P_PROGRAM");
    pi_exchange(f, 5, "EP", 2, "_MODU");
    pi_exchange(f, 6, "", 0, "_GARB");
    pi_exchange(f, 7, "", 0, "_XYZW");
    assert_int_equal(f->rec.ntxns, 7);
    JSON_HAS(f, 0, "\"pi_service\":\"_INSE\",\"pi_action\":\"insert_blocks\",\"blocks\":"
                   "[{\"block_type\":\"DB\",\"block_type_code\":\"0A\",\"block_number\":1,"
                   "\"filesystem\":\"P\"}]");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 1, "\"pi_action\":\"delete_blocks\",\"blocks\":[{\"block_type\":\"SDB\","
                   "\"block_type_code\":\"0B\",\"block_number\":2000,\"filesystem\":\"A\"},"
                   "{\"block_type\":\"FC\",\"block_type_code\":\"0C\",\"block_number\":12,"
                   "\"filesystem\":\"B\"}]");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 2, "\"pi_service\":\"P_PROGRAM\",\"pi_action\":\"start\"}");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_START);
    JSON_HAS(f, 3, "\"pi_action\":\"cold_restart\",\"pi_parameter\":\"C \"}");
    assert_int_equal(txn_at(f, 3)->ops, QW_OP_START | QW_OP_RESTART);
    JSON_HAS(f, 4, "\"pi_service\":\"_MODU\",\"pi_action\":\"copy_ram_to_rom\","
                   "\"pi_parameter\":\"EP\"}");
    assert_int_equal(txn_at(f, 4)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 5, "\"pi_action\":\"compress_memory\"");
    assert_int_equal(txn_at(f, 5)->ops, QW_OP_PROGRAM);
    JSON_HAS(f, 6, "\"pi_service\":\"_XYZW\",\"pi_action\":\"unknown\"");
    assert_int_equal(txn_at(f, 6)->ops, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_plc_stop(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t par[] = {0x29, 0, 0, 0, 0, 0, 0x09,
                                  'P', '_', 'P', 'R', 'O', 'G', 'R', 'A', 'M'};
    static const uint8_t ack[] = {0x29};
    struct wire c = {0}, s = {0};
    PDU_P(&c, 1, 0x3500, par);
    uint8_t raw[32];
    size_t n = s7(raw, 3, 0x3500, ack, 1, NULL, 0, 0, 0);
    dt(&s, raw, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->function, 0x29);
    assert_string_equal(txn_at(f, 0)->function_name, "plc_stop");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_STOP);
    JSON_HAS(f, 0, "\"function_name\":\"plc_stop\",\"pi_service\":\"P_PROGRAM\"}");
}

static void test_error_class_and_plain_ack(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t ack[] = {0x29};
    struct wire c = {0}, s = {0};
    static const uint8_t par[] = {0x29, 0, 0, 0, 0, 0, 0x09,
                                  'P', '_', 'P', 'R', 'O', 'G', 'R', 'A', 'M'};
    PDU_P(&c, 1, 1, par);
    PDU_P(&c, 1, 2, read_req);
    uint8_t raw[32];
    /* the stop is refused: error class 0x85, code 0x00 */
    size_t n = s7(raw, 3, 1, ack, 1, NULL, 0, 0x85, 0x00);
    dt(&s, raw, n, true);
    /* the read is answered by a plain ack (no parameter) with an access error */
    n = s7(raw, 2, 2, NULL, 0, NULL, 0, 0x87, 0x04);
    dt(&s, raw, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"error_class\":133,\"error_class_name\":\"error_on_supplies\","
                   "\"error_code\":0");
    assert_true(txn_at(f, 1)->error);
    assert_string_equal(txn_at(f, 1)->function_name, "read_var");
    JSON_HAS(f, 1, "\"response\":{\"rosctr\":2,\"rosctr_name\":\"ack\",\"pdu_reference\":2,"
                   "\"parameter_length\":0,\"data_length\":0,\"error_class\":135,"
                   "\"error_class_name\":\"access_error\",\"error_code\":4}");
}

/* ---- Userdata ------------------------------------------------------------------------------ */

static void szl_request(struct wire *m, uint16_t ref, uint16_t id, uint16_t index)
{
    uint8_t par[8];
    ud_par_req(par, 4, 1, 0);
    const uint8_t data[] = {0xff, 0x09, 0x00, 0x04, (uint8_t)(id >> 8), (uint8_t)id,
                            (uint8_t)(index >> 8), (uint8_t)index};
    pdu(m, 7, ref, par, sizeof par, data, sizeof data);
}

/* An SZL answer carrying `pay` (SZL header and records, or a continuation). */
static void szl_answer(struct wire *m, uint16_t ref, uint8_t seq, uint8_t more,
                       const uint8_t *pay, size_t n)
{
    uint8_t par[12], data[1024];
    ud_par_rsp(par, 4, 1, seq, more ? 5 : 0, more, 0);
    data[0] = 0xff;
    data[1] = 0x09;
    data[2] = (uint8_t)(n >> 8);
    data[3] = (uint8_t)n;
    memcpy(data + 4, pay, n);
    pdu(m, 7, ref, par, sizeof par, data, n + 4);
}

/* SZL 0x0011 index 0: records 1 (module), 6 (basic hardware), 7 (basic firmware V3.2.7). */
static size_t szl11(uint8_t *p)
{
    size_t o = 0;
    const uint8_t hdr[] = {0x00, 0x11, 0x00, 0x00, 0x00, 28, 0x00, 0x03};
    memcpy(p, hdr, sizeof hdr);
    o += sizeof hdr;
    const char *mlfb = "6ES7 315-2EH14-0AB0 ";
    const uint16_t idx[3] = {0x0001, 0x0006, 0x0007};
    for (int r = 0; r < 3; r++) {
        p[o++] = 0;
        p[o++] = (uint8_t)idx[r];
        memcpy(p + o, r == 2 ? "                    " : mlfb, 20);
        o += 20;
        p[o++] = 0xc0;
        p[o++] = 0x00;
        if (r == 2) {
            p[o++] = 'V';
            p[o++] = 3;
            p[o++] = 2;
            p[o++] = 7;
        } else {
            p[o++] = 0;
            p[o++] = 3;
            p[o++] = 0;
            p[o++] = 1;
        }
    }
    return o;
}

/* SZL 0x001C index 0: records 1-5, 7, 8, 9 (34 bytes each). */
static size_t szl1c(uint8_t *p)
{
    static const char *const text[] = {
        NULL, "S7300/ET200M station_1", "PLC_1", "", "Original Siemens Equipment",
        "S C-B1U393142011", NULL, "CPU 315-2 PN/DP", "MMC 4A1AC019",
    };
    size_t o = 8;
    uint16_t count = 0;
    for (uint16_t i = 1; i <= 9; i++) {
        if (i == 6) continue;
        p[o++] = 0;
        p[o++] = (uint8_t)i;
        memset(p + o, 0, 32);
        if (i == 9) {
            p[o] = 0x00;
            p[o + 1] = 0x2a; /* manufacturer id 42 */
        } else {
            memcpy(p + o, text[i], strlen(text[i]));
        }
        o += 32;
        count++;
    }
    const uint8_t hdr[] = {0x00, 0x1c, 0x00, 0x00, 0x00, 34, 0x00, (uint8_t)count};
    memcpy(p, hdr, sizeof hdr);
    return o;
}

static void test_szl_module_identification(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    szl_request(&c, 0x0300, 0x0011, 0x0000);
    uint8_t pay[256];
    size_t n = szl11(pay);
    szl_answer(&s, 0x0300, 1, 0, pay, n);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 0x1401);
    assert_string_equal(t->function_name, "read_szl");
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "\"function\":5121,\"function_name\":\"read_szl\",\"method\":17,\"type\":4,"
                   "\"type_name\":\"request\",\"function_group\":4,"
                   "\"function_group_name\":\"cpu_functions\",\"subfunction\":1,"
                   "\"subfunction_name\":\"read_szl\",\"sequence_number\":0,\"return_code\":255,"
                   "\"return_name\":\"success\",\"transport_size\":9,\"payload_length\":4,"
                   "\"szl_id\":17,\"szl_index\":0,\"szl_list_name\":\"module_identification\"}");
    JSON_HAS(f, 0, "\"data_unit_reference\":0,\"last_data_unit\":true,\"error_code\":0");
    JSON_HAS(f, 0, "\"szl_id\":17,\"szl_index\":0,\"szl_list_name\":\"module_identification\","
                   "\"szl_record_length\":28,\"szl_record_count\":3}");
    identity_is(f, true, "model", "6ES7 315-2EH14-0AB0");
    identity_is(f, true, "firmware", "V3.2.7");
    identity_is(f, true, "hardware", "3");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_szl_component_identification_fragmented(void **ts)
{
    struct fx *f = *ts;
    uint8_t pay[512];
    size_t n = szl1c(pay);
    size_t first = 200; /* the answer does not fit one PDU: two data units */
    struct wire c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0};
    szl_request(&c1, 0x1400, 0x001c, 0x0000);
    szl_answer(&s1, 0x1400, 2, 1, pay, first);
    /* continuation request: response-style parameter with the answer's sequence number, no data */
    uint8_t par[12];
    const uint8_t h[] = {0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00};
    memcpy(par, h, sizeof h);
    static const uint8_t nodata[] = {0x0a, 0x00, 0x00, 0x00};
    PDU(&c2, 7, 0x1500, par, nodata);
    szl_answer(&s2, 0x1500, 2, 0, pay + first, n - first);
    FEED_BUF(f, C2S, &c1);
    FEED_BUF(f, S2C, &s1);
    assert_int_equal(f->rec.nidentities, 0); /* not before the last data unit */
    FEED_BUF(f, C2S, &c2);
    FEED_BUF(f, S2C, &s2);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"last_data_unit\":false");
    JSON_HAS(f, 0, "\"szl_id\":28,\"szl_index\":0,\"szl_list_name\":\"component_identification\","
                   "\"szl_record_length\":34,\"szl_record_count\":8}");
    JSON_HAS(f, 1, "\"return_code\":10,\"return_name\":\"no_data\"");
    JSON_HAS(f, 1, "\"continuation\":true");
    JSON_LACKS(f, 1, "szl_id");
    identity_is(f, true, "system_name", "S7300/ET200M station_1");
    identity_is(f, true, "name", "PLC_1");
    identity_is(f, true, "copyright", "Original Siemens Equipment");
    identity_is(f, true, "serial", "S C-B1U393142011");
    identity_is(f, true, "product_name", "CPU 315-2 PN/DP");
    identity_is(f, true, "memory_card_serial", "MMC 4A1AC019");
    identity_is(f, true, "vendor_id", "42");
    assert_null(qw_record_identity(&f->rec, true, "plant_id")); /* empty: not emitted */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_szl_identity_once_per_flow(void **ts)
{
    struct fx *f = *ts;
    uint8_t pay[256];
    size_t n = szl11(pay);
    for (uint16_t i = 0; i < 3; i++) {
        struct wire c = {0}, s = {0};
        szl_request(&c, (uint16_t)(0x0300 + i), 0x0011, 0);
        szl_answer(&s, (uint16_t)(0x0300 + i), 1, 0, pay, n);
        FEED_BUF(f, C2S, &c);
        FEED_BUF(f, S2C, &s);
    }
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(f->rec.nidentities, 3); /* model, firmware, hardware: once */
}

static void test_szl_error_and_other_lists(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    szl_request(&c, 0x0c00, 0x0c91, 0x7fff);
    szl_request(&c, 0x0d00, 0x00a0, 0x0000);
    uint8_t par[12];
    ud_par_rsp(par, 4, 1, 1, 0, 0, 0xd402);
    static const uint8_t nodata[] = {0x0a, 0x00, 0x00, 0x00};
    PDU(&s, 7, 0x0c00, par, nodata);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_true(txn_at(f, 0)->error);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_DIAGNOSTIC);
    JSON_HAS(f, 0, "\"error_code\":54274,\"return_code\":10,"
                   "\"return_name\":\"object_does_not_exist\"");
    JSON_HAS(f, 0, "\"szl_id\":3217,\"szl_index\":32767,\"szl_list_name\":\"module_status\"");
    JSON_HAS(f, 1, "\"szl_list_name\":\"diagnostic_buffer\"");
    assert_false(txn_at(f, 1)->has_response);
}

static void test_clock_read_and_set(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    uint8_t par[12];
    static const uint8_t nodata[] = {0x0a, 0x00, 0x00, 0x00};
    ud_par_req(par, 7, 1, 0);
    pdu(&c, 7, 1, par, 8, nodata, sizeof nodata);
    static const uint8_t clock[] = {0xff, 0x09, 0x00, 0x0a, 0x00, 0x19, 0x14, 0x08,
                                    0x20, 0x11, 0x59, 0x43, 0x91, 0x24};
    ud_par_rsp(par, 7, 1, 1, 0, 0, 0);
    pdu(&s, 7, 1, par, 12, clock, sizeof clock);
    ud_par_req(par, 7, 2, 0);
    static const uint8_t set[] = {0xff, 0x09, 0x00, 0x0a, 0x00, 0x19, 0x99, 0x12,
                                  0x31, 0x23, 0x59, 0x59, 0x00, 0x07};
    pdu(&c, 7, 2, par, 8, set, sizeof set);
    ud_par_rsp(par, 7, 2, 1, 0, 0, 0);
    pdu(&s, 7, 2, par, 12, nodata, sizeof nodata);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "read_clock");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_TIMESYNC);
    JSON_HAS(f, 0, "\"clock\":\"2014-08-20T11:59:43.912\"");
    assert_string_equal(txn_at(f, 1)->function_name, "set_clock");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_TIMESYNC);
    JSON_HAS(f, 1, "\"clock\":\"1999-12-31T23:59:59.000\"");
    JSON_HAS(f, 1, "\"return_code\":10,\"return_name\":\"no_data\""); /* the answer: no error */
    assert_false(txn_at(f, 1)->error);
}

static void test_password_is_not_logged(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    uint8_t par[8];
    ud_par_req(par, 5, 1, 0);
    static const uint8_t pw[] = {0xff, 0x09, 0x00, 0x08, 0x21, 0x3a, 0x1b, 0x1d,
                                 0x6e, 0x68, 0x1b, 0x1d};
    pdu(&c, 7, 6, par, sizeof par, pw, sizeof pw);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_AUTH);
    assert_string_equal(txn_at(f, 0)->function_name, "plc_password");
    JSON_HAS(f, 0, "\"password_present\":true");
    JSON_LACKS(f, 0, "213a1b1d");
    JSON_LACKS(f, 0, "\"data\"");
}

static void test_pushes_are_unsolicited(void **ts)
{
    struct fx *f = *ts;
    struct wire s = {0};
    /* the CPU reports its new mode (STOP): parameter 01 00 10 10, type/group 00, mode 00 */
    static const uint8_t mode[] = {0x01, 0x00, 0x10, 0x10, 0x00, 0x00, 0x00, 0x00};
    PDU_P(&s, 7, 0, mode);
    /* a cyclic data push (group 2, subfunction 1) */
    static const uint8_t cyc_par[] = {0x00, 0x01, 0x12, 0x04, 0x11, 0x02, 0x01, 0x05};
    static const uint8_t cyc_data[] = {0xff, 0x09, 0x00, 0x02, 0x12, 0x34};
    PDU(&s, 7, 0, cyc_par, cyc_data);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 0);
    assert_false(t->has_request);
    assert_true(t->has_response);
    assert_int_equal(t->function, 0x1000);
    assert_string_equal(t->function_name, "mode_stop");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "\"type_name\":\"push\",\"function_group\":0,"
                   "\"function_group_name\":\"mode_transition\"");
    assert_string_equal(txn_at(f, 1)->function_name, "cyclic_transfer");
    JSON_HAS(f, 1, "\"data\":\"1234\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_block_functions(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    uint8_t par[8];
    ud_par_req(par, 3, 2, 0);
    static const uint8_t of_type[] = {0xff, 0x09, 0x00, 0x02, '0', 'E'};
    pdu(&c, 7, 1, par, sizeof par, of_type, sizeof of_type);
    ud_par_req(par, 3, 3, 0);
    static const uint8_t info[] = {0xff, 0x09, 0x00, 0x08, '0', 'A', '0', '0', '0', '4', '2', 'A'};
    pdu(&c, 7, 2, par, sizeof par, info, sizeof info);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"subfunction_name\":\"list_blocks_of_type\"");
    JSON_HAS(f, 0, "\"block_type\":\"FB\",\"block_type_code\":\"0E\"}");
    JSON_HAS(f, 1, "\"block_type\":\"DB\",\"block_type_code\":\"0A\",\"block_number\":42,"
                   "\"filesystem\":\"A\"}");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_READ);
}

static void test_programmer_commands(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    uint8_t par[8];
    static const uint8_t nodata[] = {0x0a, 0x00, 0x00, 0x00};
    ud_par_req(par, 1, 0x16, 0); /* flash LED */
    pdu(&c, 7, 1, par, sizeof par, nodata, sizeof nodata);
    ud_par_req(par, 1, 0x09, 0); /* force */
    pdu(&c, 7, 2, par, sizeof par, nodata, sizeof nodata);
    ud_par_req(par, 1, 0x0c, 0); /* memory reset */
    pdu(&c, 7, 3, par, sizeof par, nodata, sizeof nodata);
    ud_par_req(par, 1, 0x30, 0); /* unknown subfunction */
    pdu(&c, 7, 4, par, sizeof par, nodata, sizeof nodata);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    assert_string_equal(txn_at(f, 0)->function_name, "flash_led");
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_IDENTIFY);
    assert_string_equal(txn_at(f, 1)->function_name, "force");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_WRITE | QW_OP_CONTROL);
    assert_string_equal(txn_at(f, 2)->function_name, "memory_reset");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_PROGRAM | QW_OP_RESTART);
    assert_string_equal(txn_at(f, 3)->function_name, "unknown");
    assert_int_equal(txn_at(f, 3)->ops, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* One connection: CR + setup + read + write from the client, CC + answers from the server. */
static void conversation(struct wire *c, struct wire *s)
{
    put(c, cotp_cr, sizeof cotp_cr);
    PDU_P(c, 1, 0x0100, setup_req);
    PDU_P(c, 1, 0x0200, read_req);
    put(s, cotp_cc, sizeof cotp_cc);
    uint8_t raw[128];
    size_t n = s7(raw, 3, 0x0100, setup_rsp, sizeof setup_rsp, NULL, 0, 0, 0);
    dt(s, raw, n, true);
    n = s7(raw, 3, 0x0200, read_rsp_par, sizeof read_rsp_par, read_rsp_data,
           sizeof read_rsp_data, 0, 0);
    dt(s, raw, n, true);
}

static void check_conversation(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "setup_communication");
    assert_string_equal(txn_at(f, 1)->function_name, "read_var");
    JSON_HAS(f, 1, "\"value\":\"42f6e979\"");
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

static void test_several_pdus_in_one_chunk(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    conversation(&c, &s);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    check_conversation(f);
}

static void test_tsdu_over_several_dt(void **ts)
{
    struct fx *f = *ts;
    uint8_t raw[128];
    size_t n = s7(raw, 1, 0x0200, read_req, sizeof read_req, NULL, 0, 0, 0);
    struct wire c = {0}, s = {0};
    dt(&c, raw, 0, false); /* an empty first TPDU, as the S7comm-plus captures show */
    dt(&c, raw, 10, false);
    dt(&c, raw + 10, 7, false);
    dt(&c, raw + 17, n - 17, true);
    n = s7(raw, 3, 0x0200, read_rsp_par, sizeof read_rsp_par, read_rsp_data,
           sizeof read_rsp_data, 0, 0);
    dt(&s, raw, n, true);
    FEED_BUF(f, C2S, &c);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"item_count\":2,\"items\":[");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_oversized_tsdu(void **ts)
{
    struct fx *f = *ts;
    static uint8_t filler[1000];
    struct wire c = {0};
    for (int i = 0; i < 3; i++) dt(&c, filler, sizeof filler, false);
    dt(&c, filler, 10, true); /* 3010 bytes: past the 2048-byte TSDU buffer */
    PDU_P(&c, 1, 0x0100, setup_req);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.oversized_tsdu"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "setup_communication");
}

static void test_truncated_and_trailing(void **ts)
{
    struct fx *f = *ts;
    uint8_t raw[128];
    struct wire c = {0};
    /* header claims 8 bytes of data that are not there */
    size_t n = s7(raw, 1, 1, read_req, sizeof read_req, NULL, 0, 0, 0);
    raw[9] = 8;
    dt(&c, raw, n, true);
    /* two bytes after the PDU the header describes */
    n = s7(raw, 1, 2, setup_req, sizeof setup_req, NULL, 0, 0, 0);
    raw[n++] = 0xaa;
    raw[n++] = 0xbb;
    dt(&c, raw, n, true);
    /* item count passing the parameter */
    static const uint8_t bad_items[] = {0x04, 0x05, 0x12, 0x0a, 0x10, 0x02};
    PDU_P(&c, 1, 3, bad_items);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.truncated_pdu"), 2);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.trailing_data"), 1);
    JSON_HAS(f, 0, "\"truncated\":true");
    JSON_HAS(f, 2, "\"truncated\":true");
}

static void test_invalid_header_and_item(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    static const uint8_t not_s7[] = {0x33, 0x01, 0x00, 0x00};
    dt(&c, not_s7, sizeof not_s7, true);
    static const uint8_t bad_rosctr[] = {0x32, 0x05, 0, 0, 0, 1, 0, 0, 0, 0};
    dt(&c, bad_rosctr, sizeof bad_rosctr, true);
    static const uint8_t short_hdr[] = {0x32, 0x01, 0, 0, 0};
    dt(&c, short_hdr, sizeof short_hdr, true);
    static const uint8_t bad_spec[] = {0x04, 0x01, 0x11, 0x08, 0x10, 0x02, 0x00, 0x01,
                                       0x00, 0x01, 0x84, 0x00};
    PDU_P(&c, 1, 4, bad_spec);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.invalid_protocol_id"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.invalid_rosctr"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.truncated_pdu"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.invalid_item"), 2);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_garbage_resync(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    static const uint8_t junk[] = {0x47, 0x45, 0x54, 0x20, 0x2f, 0x03, 0x00, 0x00, 0x03};
    put(&c, junk, sizeof junk);
    PDU_P(&c, 1, 0x0100, setup_req);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.invalid_tpkt"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "setup_communication");
}

static void test_invalid_cotp_skipped(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    static const uint8_t bad[] = {0x03, 0x00, 0x00, 0x08, 0x02, 0x30, 0x80, 0x00}; /* type 3 */
    put(&c, bad, sizeof bad);
    PDU_P(&c, 1, 0x0100, setup_req);
    FEED_BUF(f, C2S, &c);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.invalid_cotp"), 1);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_gap_resyncs(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    PDU_P(&c, 1, 0x0100, setup_req);
    feed(f, C2S, c.b, 9); /* a cut TPKT, then the rest of it is lost */
    qw_pending_reset(&f->pend[C2S]);
    qw_proto_s7comm.gap(&f->ctx, f->state, C2S);
    struct wire d = {0};
    static const uint8_t tail[] = {0x80, 0x32, 0x01}; /* bytes of the lost PDU after the hole */
    put(&d, tail, sizeof tail);
    PDU_P(&d, 1, 0x0200, read_req);
    FEED_BUF(f, C2S, &d);
    flow_end(f);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "read_var");
}

static void test_queue_overflow_and_flow_end(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0};
    for (uint16_t i = 0; i < 10; i++) PDU_P(&c, 1, (uint16_t)(0x100 + i), read_req);
    FEED_BUF(f, C2S, &c);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2); /* the two oldest, unanswered */
    JSON_HAS(f, 0, "\"pdu_reference\":256");
    /* the answer to the newest still pairs */
    struct wire s = {0};
    PDU(&s, 3, 0x109, read_rsp_par, read_rsp_data);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 3);
    assert_true(txn_at(f, 2)->has_request && txn_at(f, 2)->has_response);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 10);
    for (size_t i = 3; i < 10; i++) assert_false(txn_at(f, i)->has_response);
}

static void test_response_without_request_and_mismatch(void **ts)
{
    struct fx *f = *ts;
    struct wire c = {0}, s = {0};
    PDU(&s, 3, 0x0900, read_rsp_par, read_rsp_data);
    FEED_BUF(f, S2C, &s);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_request);
    assert_string_equal(txn_at(f, 0)->function_name, "read_var");
    PDU_P(&c, 1, 0x0a00, setup_req);
    FEED_BUF(f, C2S, &c);
    struct wire s2 = {0};
    PDU(&s2, 3, 0x0a00, read_rsp_par, read_rsp_data);
    FEED_BUF(f, S2C, &s2);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "s7comm.function_mismatch"), 1);
    assert_string_equal(txn_at(f, 1)->function_name, "setup_communication");
}

/* ---- Probe --------------------------------------------------------------------------------- */

static enum qw_probe_result probe(const uint8_t *b, size_t n)
{
    return qw_proto_s7comm.probe(b, n, QW_DIR_TO_SERVER);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct wire m = {0};
    put(&m, cotp_cr, sizeof cotp_cr);
    assert_int_equal(probe(m.b, m.n), QW_PROBE_NEED_MORE); /* CR alone decides nothing */
    for (size_t i = 1; i < m.n; i++) assert_int_equal(probe(m.b, i), QW_PROBE_NEED_MORE);
    PDU_P(&m, 1, 0x0100, setup_req);
    assert_int_equal(probe(m.b, m.n), QW_PROBE_MATCH);
    /* the DT's S7 header already visible in a cut TPKT */
    assert_int_equal(probe(m.b, sizeof cotp_cr + 7 + 10), QW_PROBE_MATCH);
    assert_int_equal(probe(m.b, sizeof cotp_cr + 7 + 3), QW_PROBE_NEED_MORE);

    struct wire cc = {0};
    put(&cc, cotp_cc, sizeof cotp_cc);
    uint8_t raw[64];
    size_t n = s7(raw, 3, 1, setup_rsp, sizeof setup_rsp, NULL, 0, 0, 0);
    dt(&cc, raw, n, true);
    assert_int_equal(probe(cc.b, cc.n), QW_PROBE_MATCH);

    struct wire ud = {0};
    szl_request(&ud, 1, 0x11, 0);
    assert_int_equal(probe(ud.b, ud.n), QW_PROBE_MATCH); /* mid-stream pickup */

    /* near misses */
    struct wire mms = {0};
    put(&mms, cotp_cr, sizeof cotp_cr);
    static const uint8_t session_cn[] = {0x0d, 0xb2, 0x05, 0x06, 0x13, 0x01, 0x00, 0x16};
    dt(&mms, session_cn, sizeof session_cn, true);
    assert_int_equal(probe(mms.b, mms.n), QW_PROBE_NO);
    struct wire plus = {0};
    static const uint8_t s7p[] = {0x72, 0x01, 0x00, 0x00, 0x72, 0x01, 0x00, 0x00};
    dt(&plus, s7p, sizeof s7p, true);
    assert_int_equal(probe(plus.b, plus.n), QW_PROBE_NO);
    struct wire bad = {0};
    static const uint8_t bad_ros[] = {0x32, 0x04, 0, 0, 0, 1, 0, 0, 0, 0};
    dt(&bad, bad_ros, sizeof bad_ros, true);
    assert_int_equal(probe(bad.b, bad.n), QW_PROBE_NO);
    struct wire badlen = {0};
    n = s7(raw, 1, 1, setup_req, sizeof setup_req, NULL, 0, 0, 0);
    raw[7] = 20; /* lengths do not add up to the TSDU */
    dt(&badlen, raw, n, true);
    assert_int_equal(probe(badlen.b, badlen.n), QW_PROBE_NO);
    struct wire redid = {0};
    n = s7(raw, 1, 1, setup_req, sizeof setup_req, NULL, 0, 0, 0);
    raw[3] = 1;
    dt(&redid, raw, n, true);
    assert_int_equal(probe(redid.b, redid.n), QW_PROBE_NO);
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(probe(http, sizeof http - 1), QW_PROBE_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1};
    assert_int_equal(probe(tls, sizeof tls), QW_PROBE_NO);
    static const uint8_t modbus[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0, 0, 0, 1};
    assert_int_equal(probe(modbus, sizeof modbus), QW_PROBE_NO);
    static const uint8_t bad_cotp[] = {0x03, 0x00, 0x00, 0x0b, 0x06, 0x30, 0, 0, 0, 0, 0};
    assert_int_equal(probe(bad_cotp, sizeof bad_cotp), QW_PROBE_NO);
    static const uint8_t tpkt_short[] = {0x03, 0x00, 0x00, 0x05, 0x02};
    assert_int_equal(probe(tpkt_short, sizeof tpkt_short), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_s7comm.name, "s7comm");
    assert_int_equal(qw_proto_s7comm.transports, QW_TRANSPORT_TCP);
    assert_int_equal(qw_proto_s7comm.ports[0], 102);
    assert_non_null(qw_proto_s7comm.parse);
    assert_non_null(qw_proto_s7comm.gap);
    assert_non_null(qw_proto_s7comm.flow_end);
    assert_true(qw_proto_s7comm.state_size > 0);
    assert_true(qw_proto_s7comm.state_size < 16 * 1024);
    assert_ptr_equal(qw_proto_by_name("s7comm"), &qw_proto_s7comm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_setup_communication),
        FX_TEST(test_read_var),
        FX_TEST(test_read_var_item_error_and_fill_byte),
        FX_TEST(test_write_var),
        FX_TEST(test_write_var_value_bounded_and_failed),
        FX_TEST(test_other_item_syntaxes),
        FX_TEST(test_download_sequence),
        FX_TEST(test_upload_sequence),
        FX_TEST(test_pi_services),
        FX_TEST(test_plc_stop),
        FX_TEST(test_error_class_and_plain_ack),
        FX_TEST(test_szl_module_identification),
        FX_TEST(test_szl_component_identification_fragmented),
        FX_TEST(test_szl_identity_once_per_flow),
        FX_TEST(test_szl_error_and_other_lists),
        FX_TEST(test_clock_read_and_set),
        FX_TEST(test_password_is_not_logged),
        FX_TEST(test_pushes_are_unsolicited),
        FX_TEST(test_block_functions),
        FX_TEST(test_programmer_commands),
        FX_TEST(test_split_at_every_offset),
        FX_TEST(test_byte_by_byte),
        FX_TEST(test_several_pdus_in_one_chunk),
        FX_TEST(test_tsdu_over_several_dt),
        FX_TEST(test_oversized_tsdu),
        FX_TEST(test_truncated_and_trailing),
        FX_TEST(test_invalid_header_and_item),
        FX_TEST(test_garbage_resync),
        FX_TEST(test_invalid_cotp_skipped),
        FX_TEST(test_gap_resyncs),
        FX_TEST(test_queue_overflow_and_flow_end),
        FX_TEST(test_response_without_request_and_mismatch),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests_name("s7comm", tests, NULL, NULL);
}
