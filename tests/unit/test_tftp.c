/* Unit tests for the TFTP parser (src/proto/tftp.c): requests with and without options, retries
 * and an ERROR paired on the request flow; read and write transfers (with and without OACK,
 * a short last block, a file that is an exact multiple of the block size, ERROR, retransmitted
 * blocks and duplicate ACKs, block-number roll-over); the probe's MATCH / MATCH_FROM_SERVER /
 * NO answers; every message cut at every length and oversized lengths. */
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

extern const struct qw_proto qw_proto_tftp;

#define PROTO qw_proto_tftp
#define FX_BUF_MAX 70000

#include "parser_fixture.h"

#define PROBE(m) qw_proto_tftp.probe((m)->b, (m)->n, C2S)

/* ---- Message builders ([1350] s.5, [2347]) ------------------------------------------------- */

static void cstr(struct buf *b, const char *s)
{
    put(b, s, strlen(s) + 1);
}

/* Option pairs from a NULL-terminated list name, value, name, value... */
static void pairs(struct buf *b, const char *const *kv)
{
    for (size_t i = 0; kv && kv[i]; i += 2) {
        cstr(b, kv[i]);
        cstr(b, kv[i + 1]);
    }
}

static struct buf *request(uint16_t op, const char *file, const char *mode, const char *const *kv)
{
    struct buf *b = buf_new();
    u16(b, op);
    cstr(b, file);
    cstr(b, mode);
    pairs(b, kv);
    return b;
}

static struct buf *data(uint16_t block, size_t n)
{
    struct buf *b = buf_new();
    u16(b, 3);
    u16(b, block);
    for (size_t i = 0; i < n; i++) u8(b, (uint8_t)(i * 7 + block));
    return b;
}

static struct buf *ack(uint16_t block)
{
    struct buf *b = buf_new();
    u16(b, 4);
    u16(b, block);
    return b;
}

static struct buf *error(uint16_t code, const char *msg)
{
    struct buf *b = buf_new();
    u16(b, 5);
    u16(b, code);
    cstr(b, msg);
    return b;
}

static struct buf *oack(const char *const *kv)
{
    struct buf *b = buf_new();
    u16(b, 6);
    pairs(b, kv);
    return b;
}

/* Deliver and free. */
static void send(struct fx *f, enum qw_dir dir, struct buf *b)
{
    DATAGRAM_BUF(f, dir, b);
    free(b);
}

static size_t invalid(const struct fx *f)
{
    return qw_record_count_anomaly(&f->rec, "tftp.invalid_message");
}

/* ---- Requests ------------------------------------------------------------------------------ */

static void test_rrq_plain(void **ts)
{
    struct fx *f = *ts;
    struct buf *q = request(1, "rfc1350.txt", "octet", NULL);
    assert_int_equal(PROBE(q), QW_PROBE_MATCH);
    send(f, C2S, q);
    assert_int_equal(f->rec.ntxns, 0); /* waits for a repeat or an ERROR */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_false(t->error);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "read_request");
    assert_int_equal(t->ops, QW_OP_FILE | QW_OP_READ);
    assert_string_equal(json_of(f, 0), "{\"request\":{\"opcode\":1,\"opcode_name\":\"read_request\","
                                       "\"filename\":\"rfc1350.txt\",\"mode\":\"octet\","
                                       "\"retries\":0}}");
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_wrq_options_retries_error(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"BLKSIZE", "1428", "tsize", "4096", "timeout", "5",
                                     "windowsize", "4", "multicast", "", NULL};
    struct buf *q = request(2, "cfg\\sw1 \"boot\".txt", "OcTeT", kv);
    assert_int_equal(PROBE(q), QW_PROBE_MATCH);
    DATAGRAM_BUF(f, C2S, q);
    DATAGRAM_BUF(f, C2S, q); /* no answer: the requester tries again, twice */
    DATAGRAM_BUF(f, C2S, q);
    send(f, S2C, error(2, "Access violation")); /* from port 69 */
    DATAGRAM_BUF(f, C2S, q);                     /* one more retry after the error */
    send(f, S2C, error(2, "Access violation"));  /* its answer: the first stands */
    free(q);
    assert_int_equal(f->rec.ntxns, 0);
    send(f, C2S, request(1, "other.bin", "netascii", NULL)); /* another request ends the first */
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 2);
    assert_string_equal(t->function_name, "write_request");
    assert_int_equal(t->ops, QW_OP_FILE | QW_OP_WRITE);
    assert_true(t->has_request && t->has_response && t->error);
    assert_int_equal(t->response_ns - t->request_ns, 3 * 1000); /* the first error answers */
    assert_string_equal(json_of(f, 0),
                        "{\"request\":{\"opcode\":2,\"opcode_name\":\"write_request\","
                        "\"filename\":\"cfg\\\\sw1 \\\"boot\\\".txt\",\"mode\":\"octet\","
                        "\"options\":{\"blksize\":1428,\"tsize\":4096,\"timeout\":5,"
                        "\"windowsize\":4},\"unknown_options\":[\"multicast\"],\"retries\":3},"
                        "\"response\":{\"opcode\":5,\"opcode_name\":\"error\",\"error_code\":2,"
                        "\"error_name\":\"access_violation\","
                        "\"error_message\":\"Access violation\"}}");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"filename\":\"other.bin\",\"mode\":\"netascii\",\"retries\":0}");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_FILE | QW_OP_READ);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_bad_requests_after_match(void **ts)
{
    struct fx *f = *ts;
    send(f, C2S, request(1, "a.bin", "octet", NULL));
    send(f, C2S, request(1, "b.bin", "binary", NULL)); /* unknown mode */
    struct buf *b = buf_new();
    u16(b, 2);
    put(b, "c.bin\0oct", 9); /* mode not terminated */
    send(f, C2S, b);
    static const char *const kv[] = {"blksize", "big", NULL};
    send(f, C2S, request(1, "d.bin", "octet", kv)); /* recorded, but its value is no number */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"filename\":\"a.bin\"");
    JSON_HAS(f, 1, "\"filename\":\"d.bin\"");
    JSON_LACKS(f, 1, "options");
    assert_int_equal(invalid(f), 3);
    assert_string_equal(f->rec.anomalies[0].detail, "unknown mode");
    assert_string_equal(f->rec.anomalies[1].detail, "unterminated request");
    assert_string_equal(f->rec.anomalies[2].detail, "option value not a number");
}

/* ---- Transfers ----------------------------------------------------------------------------- */

static void test_read_transfer(void **ts)
{
    struct fx *f = *ts;
    struct buf *d1 = data(1, 512);
    assert_int_equal(qw_proto_tftp.probe(d1->b, d1->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    /* The engine turned the flow round: the server's first block arrives to the client. */
    send(f, S2C, d1);
    send(f, C2S, ack(1));
    send(f, S2C, data(2, 512));
    send(f, C2S, ack(2));
    send(f, C2S, ack(2)); /* a duplicate ACK */
    send(f, S2C, data(2, 512)); /* the server sends block 2 again */
    send(f, S2C, data(3, 100)); /* short: the last */
    assert_int_equal(f->rec.ntxns, 0);
    send(f, C2S, ack(3)); /* acknowledged: complete, the record comes now */
    assert_int_equal(f->rec.ntxns, 1);
    send(f, C2S, ack(3)); /* the end repeated */
    send(f, S2C, data(3, 100));
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->function, 3);
    assert_string_equal(t->function_name, "transfer");
    assert_int_equal(t->ops, QW_OP_FILE | QW_OP_READ);
    assert_true(t->has_request && t->has_response);
    assert_false(t->error);
    assert_int_equal(t->request_ns, FX_T0 + 1000);
    assert_int_equal(t->response_ns, FX_T0 + 8000);
    assert_string_equal(json_of(f, 0),
                        "{\"transfer\":{\"direction\":\"read\",\"blocks\":3,\"bytes\":1124,"
                        "\"blksize\":512,\"windowsize\":1,\"complete\":true,"
                        "\"retransmitted_blocks\":1,\"duplicate_acks\":1,"
                        "\"first\":\"1970-01-01T00:00:01.000001Z\","
                        "\"last\":\"1970-01-01T00:00:01.000008Z\"}}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_transfer_oack(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"blksize", "1428", "tsize", "3000", NULL};
    struct buf *o = oack(kv);
    assert_int_equal(qw_proto_tftp.probe(o->b, o->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    send(f, S2C, o);
    send(f, C2S, data(1, 1428)); /* the requester sends: a write */
    send(f, S2C, ack(1));
    send(f, C2S, data(2, 1428));
    send(f, S2C, ack(2));
    send(f, C2S, data(3, 144));
    send(f, S2C, ack(3));
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_int_equal(t->ops, QW_OP_FILE | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"direction\":\"write\",\"blocks\":3,\"bytes\":3000,\"blksize\":1428,"
                   "\"windowsize\":1,\"options\":{\"blksize\":1428,\"tsize\":3000},"
                   "\"complete\":true,\"retransmitted_blocks\":0,\"duplicate_acks\":0,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_read_with_oack_window(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"blksize", "1024", "windowsize", "4", NULL};
    send(f, S2C, oack(kv));
    send(f, C2S, ack(0)); /* the requester accepts: a read */
    for (uint16_t b = 1; b <= 4; b++) send(f, S2C, data(b, 1024));
    send(f, C2S, ack(4));
    send(f, S2C, data(5, 1024));
    send(f, S2C, data(7, 1024)); /* block 6 lost from the capture: within the window */
    send(f, S2C, data(5, 1024)); /* the window again from block 5 */
    send(f, S2C, data(8, 10));
    send(f, C2S, ack(8));
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"direction\":\"read\",\"blocks\":8,\"bytes\":6154,\"blksize\":1024,"
                   "\"windowsize\":4,\"options\":{\"blksize\":1024,\"windowsize\":4},"
                   "\"complete\":true,\"retransmitted_blocks\":1,\"duplicate_acks\":0,"
                   "\"missing_blocks\":1,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_write_ack0_retransmission(void **ts)
{
    struct fx *f = *ts;
    struct buf *a0 = ack(0);
    assert_int_equal(qw_proto_tftp.probe(a0->b, a0->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    send(f, S2C, a0);
    send(f, C2S, data(1, 512));
    send(f, C2S, data(1, 512)); /* sent again before the ACK came */
    send(f, S2C, ack(1));
    flow_end(f); /* the capture ends mid-transfer */
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_FILE | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"direction\":\"write\",\"blocks\":1,\"bytes\":512,\"blksize\":512,"
                   "\"windowsize\":1,\"complete\":false,\"retransmitted_blocks\":1,"
                   "\"duplicate_acks\":0,");
}

static void test_exact_multiple_ends_with_empty_block(void **ts)
{
    struct fx *f = *ts;
    send(f, S2C, data(1, 512));
    send(f, C2S, ack(1));
    send(f, S2C, data(2, 512));
    send(f, C2S, ack(2));
    send(f, S2C, data(3, 0));
    assert_int_equal(f->rec.ntxns, 0);
    send(f, C2S, ack(3));
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"blocks\":3,\"bytes\":1024,\"blksize\":512,\"windowsize\":1,"
                   "\"complete\":true,");
}

static void test_unacknowledged_end_is_incomplete(void **ts)
{
    struct fx *f = *ts;
    send(f, S2C, data(1, 20));
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(txn_at(f, 0)->has_response); /* one message */
    JSON_HAS(f, 0, "\"blocks\":1,\"bytes\":20,");
    JSON_HAS(f, 0, "\"complete\":false");
}

static void test_error_transfer(void **ts)
{
    struct fx *f = *ts;
    struct buf *e = error(1, "File not found");
    assert_int_equal(qw_proto_tftp.probe(e->b, e->n, C2S), QW_PROBE_MATCH_FROM_SERVER);
    send(f, S2C, e);
    assert_int_equal(f->rec.ntxns, 1); /* an ERROR ends the transfer at once */
    send(f, S2C, error(1, "File not found"));
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->error && t->has_response);
    assert_int_equal(t->ops, QW_OP_FILE); /* which way is unknown */
    JSON_HAS(f, 0, "\"direction\":\"unknown\",\"blocks\":0,\"bytes\":0,");
    JSON_HAS(f, 0, "\"complete\":false,");
    JSON_HAS(f, 0, "\"error_code\":1,\"error_name\":\"file_not_found\","
                   "\"error_message\":\"File not found\",\"error_sender\":\"server\"}");
}

static void test_requester_refuses_oack(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"blksize", "65464", NULL};
    send(f, S2C, oack(kv));
    send(f, C2S, error(8, "blksize refused"));
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"blksize\":65464,");
    JSON_HAS(f, 0, "\"error_code\":8,\"error_name\":\"option_refused\","
                   "\"error_message\":\"blksize refused\",\"error_sender\":\"requester\"}");
}

/* A server that answers from port 69 itself: request and transfer on one flow. */
static void test_transfer_on_request_flow(void **ts)
{
    struct fx *f = *ts;
    send(f, C2S, request(1, "boot.img", "octet", NULL));
    send(f, S2C, data(1, 512));
    send(f, C2S, ack(1));
    send(f, S2C, data(2, 3));
    send(f, C2S, ack(2));
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"transfer\":{\"direction\":\"read\",\"blocks\":2,\"bytes\":515,");
    JSON_HAS(f, 1, "\"filename\":\"boot.img\"");
    JSON_LACKS(f, 1, "response");
}

/* 65538 blocks: the numbers roll over after 65535, to 0 (most senders) or to 1 (some). */
static void rollover(struct fx *f, uint16_t after_wrap, uint64_t want_blocks)
{
    struct buf *d = data(0, 512), *a = ack(0);
    uint16_t b = 1;
    for (uint32_t i = 0; i < 65537; i++) {
        d->b[2] = (uint8_t)(b >> 8);
        d->b[3] = (uint8_t)b;
        a->b[2] = d->b[2];
        a->b[3] = d->b[3];
        DATAGRAM_BUF(f, S2C, d);
        DATAGRAM_BUF(f, C2S, a);
        b = b == 0xFFFF ? after_wrap : (uint16_t)(b + 1);
    }
    free(d);
    free(a);
    send(f, S2C, data(b, 1));
    send(f, C2S, ack(b));
    assert_int_equal(f->rec.ntxns, 1);
    char want[128];
    snprintf(want, sizeof want, "\"blocks\":%llu,\"bytes\":%llu,", (unsigned long long)want_blocks,
             (unsigned long long)(65537ull * 512 + 1));
    JSON_HAS(f, 0, want);
    JSON_HAS(f, 0, "\"complete\":true,\"retransmitted_blocks\":0,\"duplicate_acks\":0,");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_rollover_to_zero(void **ts)
{
    rollover(*ts, 0, 65538);
}

static void test_rollover_to_one(void **ts)
{
    rollover(*ts, 1, 65538);
}

static void test_invalid_messages_counted_per_flow(void **ts)
{
    struct fx *f = *ts;
    send(f, S2C, data(1, 512));
    send(f, S2C, data(5, 512)); /* four ahead with a window of 1 */
    assert_int_equal(invalid(f), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "block out of sequence");
    struct buf *u = buf_new();
    u16(u, 9);
    u16(u, 1);
    send(f, S2C, u);
    assert_string_equal(f->rec.anomalies[1].detail, "unknown opcode");
    send(f, S2C, error(12, "what")); /* unknown code: still ends the transfer */
    assert_string_equal(f->rec.anomalies[2].detail, "unknown error code");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"blocks\":1,");
    JSON_HAS(f, 0, "\"error_code\":12,\"error_name\":\"unknown\"");
    for (int i = 0; i < 10; i++) send(f, C2S, request(1, "x", "bogus", NULL));
    assert_int_equal(invalid(f), 3); /* a few per flow, not one per packet */
}

static void test_data_from_both_ends(void **ts)
{
    struct fx *f = *ts;
    send(f, S2C, data(1, 512));
    send(f, C2S, data(2, 512));
    send(f, S2C, ack(1)); /* the data sender does not acknowledge */
    assert_int_equal(invalid(f), 2);
    assert_string_equal(f->rec.anomalies[0].detail, "data from both ends");
    assert_string_equal(f->rec.anomalies[1].detail, "ack from the data sender");
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void probe_is(struct buf *b, enum qw_probe_result want)
{
    enum qw_probe_result got = qw_proto_tftp.probe(b->b, b->n, C2S);
    free(b);
    assert_int_equal(got, want);
}

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    probe_is(data(7, 512), QW_PROBE_NO); /* a capture begun mid-transfer */
    probe_is(data(0, 512), QW_PROBE_NO);
    probe_is(ack(3), QW_PROBE_NO);
    struct buf *a = ack(0);
    u8(a, 0);
    probe_is(a, QW_PROBE_NO); /* ACK 0 must be exactly 4 bytes */
    probe_is(request(1, "a", "binary", NULL), QW_PROBE_NO);
    probe_is(request(1, "", "octet", NULL), QW_PROBE_NO); /* empty file name */
    probe_is(request(1, "a\tb", "octet", NULL), QW_PROBE_NO); /* not printable */
    probe_is(request(1, "a", "NETASCII", NULL), QW_PROBE_MATCH);
    probe_is(request(2, "a", "mail", NULL), QW_PROBE_MATCH);
    struct buf *t = request(1, "a", "octet", NULL);
    u8(t, 'x');
    probe_is(t, QW_PROBE_NO); /* bytes after the last string */
    static const char *const nonum[] = {"tsize", "x", NULL};
    probe_is(request(1, "a", "octet", nonum), QW_PROBE_NO);
    static const char *const unk[] = {"foo", "1", NULL};
    probe_is(request(1, "a", "octet", unk), QW_PROBE_MATCH); /* unknown names are allowed */
    probe_is(oack(unk), QW_PROBE_NO); /* ... but not in an OACK */
    probe_is(oack(nonum), QW_PROBE_NO);
    probe_is(oack(NULL), QW_PROBE_NO);
    static const char *const ok[] = {"TSize", "0", NULL};
    probe_is(oack(ok), QW_PROBE_MATCH_FROM_SERVER);
    probe_is(error(9, "x"), QW_PROBE_NO);
    probe_is(error(8, ""), QW_PROBE_MATCH_FROM_SERVER);
    struct buf *e = buf_new();
    u16(e, 5);
    u16(e, 1);
    put(e, "no nul", 6);
    probe_is(e, QW_PROBE_NO);
    struct buf *op = buf_new();
    u16(op, 7);
    u16(op, 1);
    probe_is(op, QW_PROBE_NO);
    /* The corpus's request with an empty name and stray NULs (ndpi_tftp.pcapng frame 1). */
    static const uint8_t ndpi1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'o', 'c', 't', 'e', 't', 0};
    assert_int_equal(qw_proto_tftp.probe(ndpi1, sizeof ndpi1, C2S), QW_PROBE_NO);
    static const uint8_t dns[] = {0x00, 0x03, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                  3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
    assert_int_equal(qw_proto_tftp.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
    static const uint8_t ntp[48] = {0x23};
    assert_int_equal(qw_proto_tftp.probe(ntp, sizeof ntp, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(qw_proto_tftp.probe((const uint8_t *)http, sizeof http - 1, C2S),
                     QW_PROBE_NO);
    static const uint8_t four_zero[4] = {0};
    assert_int_equal(qw_proto_tftp.probe(four_zero, 4, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_tftp.probe(four_zero, 0, C2S), QW_PROBE_NO);
}

/* ---- Cuts and lengths ---------------------------------------------------------------------- */

/* Every prefix of a message: the probe matches exactly the prefixes that are whole messages
 * (`whole` lists their lengths), the parser records a request for those only and names every
 * other prefix once as invalid. */
static void cut_everywhere(struct fx *f, struct buf *b, const size_t *whole, size_t nwhole,
                           enum qw_probe_result want)
{
    for (size_t n = 0; n <= b->n; n++) {
        bool is_whole = false;
        for (size_t k = 0; k < nwhole; k++) is_whole = is_whole || whole[k] == n;
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b->b, n);
        enum qw_probe_result r = qw_proto_tftp.probe(cut, n, C2S);
        if (r != (is_whole ? want : QW_PROBE_NO)) {
            print_error("cut at %zu: probe %d\n", n, (int)r);
            fail();
        }
        fx_reset(f);
        if (n) fx_datagram(f, C2S, cut, n); /* the engine gives no empty datagram */
        flow_end(f);
        free(cut);
        if (!n) continue;
        if (invalid(f) != (is_whole ? 0u : 1u)) {
            print_error("cut at %zu: %zu anomalies\n", n, invalid(f));
            fail();
        }
    }
}

static void test_request_cut_at_every_length(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"blksize", "1428", "tsize", "0", NULL};
    struct buf *q = request(1, "fw/crane.bin", "octet", kv);
    /* 2 + 13 + 6 = 21: end of mode; +8 +5 = 34, +6 +2 = 42: end of each pair. */
    const size_t whole[] = {21, 34, 42};
    assert_int_equal(q->n, 42);
    cut_everywhere(f, q, whole, 3, QW_PROBE_MATCH);
    for (size_t n = 1; n <= q->n; n++) { /* a record for every cut past the mode */
        fx_reset(f);
        fx_datagram(f, C2S, q->b, n);
        flow_end(f);
        assert_int_equal(f->rec.ntxns, n >= 21 ? 1 : 0);
    }
    free(q);
}

static void test_oack_and_error_cut_at_every_length(void **ts)
{
    struct fx *f = *ts;
    static const char *const kv[] = {"blksize", "1428", "windowsize", "8", NULL};
    struct buf *o = oack(kv);
    assert_int_equal(o->n, 28);
    /* Whole after one pair (15) and after both (28). A bare opcode would be an empty OACK,
     * well-formed to the parser though the probe wants an option: cuts start past it. */
    for (size_t n = 3; n <= o->n; n++) {
        bool whole = n == 15 || n == 28;
        assert_int_equal(qw_proto_tftp.probe(o->b, n, C2S),
                         whole ? QW_PROBE_MATCH_FROM_SERVER : QW_PROBE_NO);
        fx_reset(f);
        fx_datagram(f, S2C, o->b, n);
        flow_end(f);
        assert_int_equal(invalid(f), whole ? 0 : 1);
        assert_int_equal(f->rec.ntxns, 1); /* an OACK opens the transfer even when cut */
    }
    free(o);
    struct buf *e = error(3, "Disk full");
    const size_t ewhole[] = {14};
    cut_everywhere(f, e, ewhole, 1, QW_PROBE_MATCH_FROM_SERVER);
    free(e);
}

static void test_oversized(void **ts)
{
    struct fx *f = *ts;
    struct buf *big = data(1, 65464);
    assert_int_equal(PROBE(big), QW_PROBE_MATCH_FROM_SERVER);
    free(big);
    big = data(1, 65465); /* more than the largest blksize */
    assert_int_equal(PROBE(big), QW_PROBE_NO);
    send(f, S2C, big);
    assert_int_equal(invalid(f), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "data too long");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 0);

    char name[400];
    memset(name, 'n', sizeof name);
    name[255] = '\0';
    struct buf *q = request(1, name, "octet", NULL);
    assert_int_equal(PROBE(q), QW_PROBE_MATCH);
    free(q);
    name[255] = 'n';
    name[399] = '\0';
    q = request(1, name, "octet", NULL); /* 399 bytes: past the probe's bound */
    assert_int_equal(PROBE(q), QW_PROBE_NO);
    fx_reset(f);
    send(f, C2S, q); /* once matched, kept cut to 255 bytes */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"filename_cut\":true");
    name[255] = '\0';
    char want[420];
    snprintf(want, sizeof want, "\"filename\":\"%s\",", name);
    JSON_HAS(f, 0, want);

    /* Option names and values past their bounds, and more unknown names than are kept. */
    fx_reset(f);
    char longname[40];
    memset(longname, 'o', sizeof longname);
    longname[39] = '\0';
    const char *const kvlong[] = {longname, "1", NULL};
    q = request(1, "a", "octet", kvlong);
    assert_int_equal(PROBE(q), QW_PROBE_NO);
    send(f, C2S, q);
    static const char *const many[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL};
    send(f, C2S, request(1, "b", "octet", many));
    flow_end(f);
    assert_int_equal(invalid(f), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "bad option");
    JSON_HAS(f, 1, "\"unknown_options\":[\"a\",\"b\",\"c\",\"d\"],\"unknown_options_cut\":true");

    /* An OACK value out of its RFC range. */
    fx_reset(f);
    static const char *const tiny[] = {"blksize", "4", NULL};
    send(f, S2C, oack(tiny));
    assert_int_equal(invalid(f), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "option value out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_rrq_plain),
        FX_TEST(test_wrq_options_retries_error),
        FX_TEST(test_bad_requests_after_match),
        FX_TEST(test_read_transfer),
        FX_TEST(test_write_transfer_oack),
        FX_TEST(test_read_with_oack_window),
        FX_TEST(test_write_ack0_retransmission),
        FX_TEST(test_exact_multiple_ends_with_empty_block),
        FX_TEST(test_unacknowledged_end_is_incomplete),
        FX_TEST(test_error_transfer),
        FX_TEST(test_requester_refuses_oack),
        FX_TEST(test_transfer_on_request_flow),
        FX_TEST(test_rollover_to_zero),
        FX_TEST(test_rollover_to_one),
        FX_TEST(test_invalid_messages_counted_per_flow),
        FX_TEST(test_data_from_both_ends),
        FX_TEST(test_probe_refuses_others),
        FX_TEST(test_request_cut_at_every_length),
        FX_TEST(test_oack_and_error_cut_at_every_length),
        FX_TEST(test_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
