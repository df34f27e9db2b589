/* Unit tests for the PROFINET DCP parser (src/proto/profinet_dcp.c).
 *
 * Frames are corpus bytes where the corpus has them (Identify request and response) and
 * hand-built after IEC 61158-6-10 for the services it lacks (Get, Set, Hello, the control
 * blocks). They go to the parser's `frame` callback with ctx.pkt carrying the MACs, as the
 * engine does; one test runs a whole Ethernet frame through qw_decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/decode.h"
#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_profinet_dcp;

#define ETH_PN 0x8892

static const uint8_t MC[6] = {0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00};     /* DCP multicast */
static const uint8_t CTRL[6] = {0x00, 0xa0, 0x45, 0x6d, 0xd3, 0x43};   /* the requester */
static const uint8_t DEV1[6] = {0x00, 0x09, 0x91, 0x43, 0xe0, 0x67};
static const uint8_t DEV2[6] = {0x00, 0x1b, 0x1b, 0x02, 0x9a, 0xc3};

/* ---- Fixture ------------------------------------------------------------------------------ */

#define PROTO qw_proto_profinet_dcp
#define FX_TS_STEP 0 /* the tests move the clock themselves */

#include "parser_fixture.h"

static void frame_from(struct fx *f, const uint8_t src[6], const uint8_t dst[6], const uint8_t *b,
                       size_t n)
{
    fx_macs(f, src, dst);
    fx_frame(f, b, n);
}

#define FRAME(f, src, dst, arr) frame_from((f), (src), (dst), (arr), sizeof(arr))

static const char *identity(const struct fx *f, const char *attr)
{
    return qw_record_identity(&f->rec, false, attr);
}

/* ---- Frames -------------------------------------------------------------------------------- */

/* icsnpp_profinet_io_cm_mixed_2_dcp_dhcp.pcapng frame 438: Identify request, xid 1, filter
 * NameOfStation "versamax-pns11" (bytes after the Ethertype, Ethernet padding dropped). */
static const uint8_t ident_req[] = {
    0xfe, 0xfe, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x12, 0x02, 0x02, 0x00,
    0x0e, 0x76, 0x65, 0x72, 0x73, 0x61, 0x6d, 0x61, 0x78, 0x2d, 0x70, 0x6e, 0x73, 0x31, 0x31,
};

/* Same capture, frame 440: the device's Identify response. */
static const uint8_t ident_rsp[] = {
    0xfe, 0xff, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x02, 0x02, 0x00,
    0x10, 0x00, 0x00, 0x76, 0x65, 0x72, 0x73, 0x61, 0x6d, 0x61, 0x78, 0x2d, 0x70, 0x6e, 0x73,
    0x31, 0x31, 0x02, 0x05, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02,
    0x03, 0x02, 0x04, 0x06, 0x01, 0x02, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x49, 0x43, 0x32, 0x30,
    0x30, 0x50, 0x4e, 0x53, 0x30, 0x30, 0x31, 0x00, 0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x01,
    0x5a, 0x00, 0x03, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x0e,
    0x00, 0x01, 0xc0, 0xa8, 0x01, 0x02, 0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x01, 0x02, 0x06,
    0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
};

/* Set request (FrameID 0xFEFD), xid 0x1234: start transaction, NameOfStation "plc-7"
 * saved permanently, IP parameter 10.0.0.7/255.255.255.0 gw 10.0.0.1 (temporary), end
 * transaction. */
static const uint8_t set_req[] = {
    0xfe, 0xfd, 0x04, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x2a,
    0x05, 0x01, 0x00, 0x02, 0x00, 0x00,                               /* start transaction */
    0x02, 0x02, 0x00, 0x07, 0x00, 0x01, 'p', 'l', 'c', '-', '7', 0x00, /* name + pad */
    0x01, 0x02, 0x00, 0x0e, 0x00, 0x00, 10, 0, 0, 7, 255, 255, 255, 0, 10, 0, 0, 1,
    0x05, 0x02, 0x00, 0x02, 0x00, 0x00,                               /* end transaction */
};

/* Its answer: a Control/Response block per block set, all BlockError 0. */
static const uint8_t set_rsp[] = {
    0xfe, 0xfd, 0x04, 0x01, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x20,
    0x05, 0x04, 0x00, 0x03, 0x05, 0x01, 0x00, 0x00,
    0x05, 0x04, 0x00, 0x03, 0x02, 0x02, 0x00, 0x00,
    0x05, 0x04, 0x00, 0x03, 0x01, 0x02, 0x00, 0x00,
    0x05, 0x04, 0x00, 0x03, 0x05, 0x02, 0x00, 0x00,
};

/* ---- Identify ------------------------------------------------------------------------------ */

static void test_identify_request(void **ts)
{
    struct fx *f = *ts;
    FRAME(f, CTRL, MC, ident_req);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 5);
    assert_string_equal(t->function_name, "identify");
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 0, "{\"request\":{\"frame_id\":65278,\"function\":5,\"function_name\":\"identify\","
                   "\"service_type\":0,\"service_type_name\":\"request\",\"xid\":1,"
                   "\"response_delay\":1,\"data_length\":18,\"block_count\":1,\"blocks\":["
                   "{\"option\":2,\"suboption\":2,\"option_name\":\"device_properties\","
                   "\"name\":\"name_of_station\",\"length\":14,\"value\":\"versamax-pns11\"}]}}");
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.nidentities, 0); /* a filter says nothing about the sender */
}

static void test_identify_response_paired_and_identity(void **ts)
{
    struct fx *f = *ts;
    FRAME(f, CTRL, MC, ident_req);
    f->ctx.ts_ns += 1500000; /* 1.5 ms */
    FRAME(f, DEV1, CTRL, ident_rsp);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *t = txn_at(f, 1);
    assert_false(t->has_request);
    assert_true(t->has_response);
    assert_false(t->error);
    assert_int_equal(t->ops, QW_OP_IDENTIFY);
    JSON_HAS(f, 1, "\"service_type_name\":\"response_success\",\"xid\":1,\"data_length\":100,"
                   "\"block_count\":7");
    JSON_HAS(f, 1, "{\"option\":2,\"suboption\":3,\"option_name\":\"device_properties\","
                   "\"name\":\"device_id\",\"length\":6,\"block_info\":0,\"vendor_id\":\"0x015a\","
                   "\"device_id\":\"0x0003\",\"vendor\":\"GE Intelligent Platforms\"}");
    JSON_HAS(f, 1, "\"name\":\"ip_parameter\",\"length\":14,\"block_info\":1,\"ip_status\":\"set\","
                   "\"ip\":\"192.168.1.2\",\"netmask\":\"255.255.255.0\","
                   "\"gateway\":\"192.168.1.2\"}");
    JSON_HAS(f, 1, "\"name\":\"device_options\",\"length\":14,\"block_info\":0,\"options\":["
                   "{\"option\":1,\"suboption\":2,\"name\":\"ip_parameter\"},");
    JSON_HAS(f, 1, "\"name\":\"device_role\",\"length\":4,\"block_info\":0,\"role\":1,"
                   "\"roles\":[\"io_device\"]}");
    JSON_HAS(f, 1, "\"name\":\"type_of_station\",\"length\":13,\"block_info\":0,"
                   "\"value\":\"IC200PNS001\"}");
    JSON_HAS(f, 1, "\"latency_us\":1500,\"responder_number\":1}");
    /* identity of the responder (the frame's source) */
    assert_string_equal(identity(f, "name"), "versamax-pns11");
    assert_string_equal(identity(f, "model"), "IC200PNS001");
    assert_string_equal(identity(f, "vendor_id"), "0x015a");
    assert_string_equal(identity(f, "device_id"), "0x0003");
    assert_string_equal(identity(f, "vendor"), "GE Intelligent Platforms");
    assert_string_equal(identity(f, "device_role"), "io_device");
    assert_string_equal(identity(f, "ip"), "192.168.1.2");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_identify_many_responders(void **ts)
{
    struct fx *f = *ts;
    FRAME(f, CTRL, MC, ident_req);
    f->ctx.ts_ns += 1000000;
    FRAME(f, DEV1, CTRL, ident_rsp);
    f->ctx.ts_ns += 2000000;
    FRAME(f, DEV2, CTRL, ident_rsp);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 1, "\"latency_us\":1000,\"responder_number\":1");
    JSON_HAS(f, 2, "\"latency_us\":3000,\"responder_number\":2");
    /* an answer addressed to someone else is not paired with this request */
    FRAME(f, DEV2, DEV1, ident_rsp);
    JSON_LACKS(f, 3, "responder_number");
    /* nor one that comes after the response window (ResponseDelay 1 x 10 ms + 1 s) */
    f->ctx.ts_ns += 2000000000ull;
    FRAME(f, DEV1, CTRL, ident_rsp);
    JSON_LACKS(f, 4, "responder_number");
}

/* ---- Set ------------------------------------------------------------------------------------- */

static void test_set_name_and_ip_is_config(void **ts)
{
    struct fx *f = *ts;
    FRAME(f, CTRL, DEV1, set_req);
    f->ctx.ts_ns += 4000000;
    FRAME(f, DEV1, CTRL, set_rsp);
    assert_int_equal(f->rec.ntxns, 2);
    const struct qw_txn *rq = txn_at(f, 0), *rs = txn_at(f, 1);
    assert_string_equal(rq->function_name, "set");
    assert_int_equal(rq->ops, QW_OP_CONFIG);
    assert_int_equal(rs->ops, QW_OP_CONFIG);
    assert_false(rs->error);
    JSON_HAS(f, 0, "\"frame_id\":65277,\"function\":4,\"function_name\":\"set\","
                   "\"service_type\":0,\"service_type_name\":\"request\",\"xid\":4660");
    JSON_HAS(f, 0, "{\"option\":5,\"suboption\":1,\"option_name\":\"control\","
                   "\"name\":\"start_transaction\",\"length\":2,\"qualifier\":0}");
    JSON_HAS(f, 0, "{\"option\":2,\"suboption\":2,\"option_name\":\"device_properties\","
                   "\"name\":\"name_of_station\",\"length\":7,\"qualifier\":1,"
                   "\"permanent\":true,\"value\":\"plc-7\"}");
    JSON_HAS(f, 0, "\"name\":\"ip_parameter\",\"length\":14,\"qualifier\":0,\"permanent\":false,"
                   "\"ip\":\"10.0.0.7\",\"netmask\":\"255.255.255.0\",\"gateway\":\"10.0.0.1\"}");
    JSON_HAS(f, 0, "\"name\":\"end_transaction\"");
    JSON_HAS(f, 1, "{\"option\":5,\"suboption\":4,\"option_name\":\"control\",\"name\":\"response\","
                   "\"length\":3,\"response_option\":2,\"response_suboption\":2,"
                   "\"response_name\":\"name_of_station\",\"block_error\":0,"
                   "\"block_error_name\":\"ok\"}");
    JSON_HAS(f, 1, "\"latency_us\":4000,\"responder_number\":1");
    /* a Set says nothing about who the device is */
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_set_response_alone_takes_ops_from_blocks(void **ts)
{
    struct fx *f = *ts;
    FRAME(f, DEV1, CTRL, set_rsp); /* the request was not captured */
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_CONFIG);
    JSON_LACKS(f, 0, "responder_number");
}

static void test_set_block_error(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rsp[] = {0xfe, 0xfd, 0x04, 0x01, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
                                  0x00, 0x08, 0x05, 0x04, 0x00, 0x03, 0x01, 0x02, 0x06, 0x00};
    FRAME(f, DEV1, CTRL, rsp);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"response_name\":\"ip_parameter\",\"block_error\":6,"
                   "\"block_error_name\":\"set_not_possible_in_operation\"");
}

static void test_control_blocks_ops(void **ts)
{
    struct fx *f = *ts;
    /* Signal (flash the LED): qualifier 0, SignalValue 0x0100 */
    static const uint8_t signal[] = {0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 1, 0, 0, 0x00, 0x08,
                                     0x05, 0x03, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00};
    /* Factory reset */
    static const uint8_t freset[] = {0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 2, 0, 0, 0x00, 0x06,
                                     0x05, 0x05, 0x00, 0x02, 0x00, 0x00};
    /* Reset to factory, mode 2 (communication parameters): qualifier 0x0004 */
    static const uint8_t rtf[] = {0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 3, 0, 0, 0x00, 0x06,
                                  0x05, 0x06, 0x00, 0x02, 0x00, 0x04};
    FRAME(f, CTRL, DEV1, signal);
    FRAME(f, CTRL, DEV1, freset);
    FRAME(f, CTRL, DEV1, rtf);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_DIAGNOSTIC);
    JSON_HAS(f, 0, "\"name\":\"signal\",\"length\":4,\"qualifier\":0,\"signal_value\":256}");
    assert_int_equal(txn_at(f, 1)->ops, QW_OP_CONFIG | QW_OP_RESTART);
    JSON_HAS(f, 1, "\"name\":\"factory_reset\"");
    assert_int_equal(txn_at(f, 2)->ops, QW_OP_CONFIG | QW_OP_RESTART);
    JSON_HAS(f, 2, "\"name\":\"reset_to_factory\",\"length\":2,\"qualifier\":4,"
                   "\"reset_mode\":\"communication_parameter\"}");
}

/* ---- Get, Hello, errors -------------------------------------------------------------------- */

static void test_get_request_and_response(void **ts)
{
    struct fx *f = *ts;
    /* Get: NameOfStation, IP parameter (bare option/suboption pairs) */
    static const uint8_t get[] = {0xfe, 0xfd, 0x03, 0x00, 0, 0, 0, 7, 0, 0, 0x00, 0x04,
                                  0x02, 0x02, 0x01, 0x02};
    static const uint8_t rsp[] = {0xfe, 0xfd, 0x03, 0x01, 0, 0, 0, 7, 0, 0, 0x00, 0x0c,
                                  0x02, 0x02, 0x00, 0x07, 0x00, 0x00, 'i', 'o', '-', '1', 'x',
                                  0x00};
    FRAME(f, CTRL, DEV1, get);
    FRAME(f, DEV1, CTRL, rsp);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(txn_at(f, 0)->ops, QW_OP_READ);
    JSON_HAS(f, 0, "\"blocks\":[{\"option\":2,\"suboption\":2,\"option_name\":"
                   "\"device_properties\",\"name\":\"name_of_station\"},{\"option\":1,"
                   "\"suboption\":2,\"option_name\":\"ip\",\"name\":\"ip_parameter\"}]");
    JSON_HAS(f, 1, "\"value\":\"io-1x\"");
    assert_string_equal(identity(f, "name"), "io-1x");
}

static void test_hello_announces_identity(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t hello[] = {0xfe, 0xfc, 0x06, 0x00, 0, 0, 0, 0x42, 0, 0, 0x00, 0x14,
                                    0x02, 0x02, 0x00, 0x05, 0x00, 0x00, 'a', 'b', 'c', 0x00,
                                    0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x2a, 0x03, 0x13};
    FRAME(f, DEV2, MC, hello);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(txn_at(f, 0)->function_name, "hello");
    assert_int_equal(txn_at(f, 0)->ops, 0);
    assert_string_equal(identity(f, "name"), "abc");
    assert_string_equal(identity(f, "vendor"), "Siemens");
    assert_string_equal(identity(f, "device_id"), "0x0313");
}

static void test_unsupported_response(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t rsp[] = {0xfe, 0xfd, 0x03, 0x05, 0, 0, 0, 8, 0, 0, 0x00, 0x00};
    FRAME(f, DEV1, CTRL, rsp);
    assert_true(txn_at(f, 0)->error);
    JSON_HAS(f, 0, "\"service_type\":5,\"service_type_name\":\"response_unsupported\"");
}

/* ---- Robustness ---------------------------------------------------------------------------- */

static void test_cut_at_every_length(void **ts)
{
    struct fx *f = *ts;
    for (size_t cut = 0; cut <= sizeof ident_rsp; cut++) {
        fx_clear(f);
        frame_from(f, DEV1, CTRL, ident_rsp, cut);
        if (cut < 2) { /* not even a FrameID */
            assert_int_equal(f->rec.ntxns + f->rec.nanomalies, 0);
        } else if (cut < 12) {
            assert_int_equal(f->rec.ntxns, 0);
            assert_int_equal(qw_record_count_anomaly(&f->rec, "profinet_dcp.truncated"), 1);
        } else if (cut < sizeof ident_rsp) {
            assert_int_equal(f->rec.ntxns, 1);
            JSON_HAS(f, 0, "\"truncated\":true");
            assert_int_equal(qw_record_count_anomaly(&f->rec, "profinet_dcp.truncated"), 1);
        } else {
            assert_int_equal(f->rec.ntxns, 1);
            JSON_LACKS(f, 0, "truncated");
            assert_int_equal(f->rec.nanomalies, 0);
            assert_int_equal(f->rec.nidentities, 7);
        }
    }
}

static void test_block_length_past_data(void **ts)
{
    struct fx *f = *ts;
    uint8_t b[sizeof ident_req];
    memcpy(b, ident_req, sizeof b);
    b[15] = 0x40; /* block length 64 within DCPDataLength 18 */
    FRAME(f, CTRL, MC, b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "profinet_dcp.invalid_block_length"), 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"truncated\":true");
}

static void test_not_dcp_frames(void **ts)
{
    struct fx *f = *ts;
    /* cyclic RT data (FrameID 0x8000), an alarm (0xFC01) and PTCP (0xFF40): not DCP */
    static const uint8_t rt[] = {0x80, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t alarm[] = {0xfc, 0x01, 0x05, 0x00, 0, 0, 0, 1, 0, 0, 0, 0};
    static const uint8_t ptcp[] = {0xff, 0x40, 0, 0, 0, 0};
    FRAME(f, DEV1, CTRL, rt);
    FRAME(f, DEV1, CTRL, alarm);
    FRAME(f, DEV1, CTRL, ptcp);
    assert_int_equal(f->rec.ntxns + f->rec.nanomalies, 0);
    /* another Ethertype is ignored */
    fx_frame_as(f, 0x88CC, ident_req, sizeof ident_req);
    assert_int_equal(f->rec.ntxns, 0);
}

static void test_unknown_service(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t odd[] = {0xfe, 0xfd, 0x09, 0x00, 0, 0, 0, 1, 0, 0, 0x00, 0x00};
    FRAME(f, CTRL, DEV1, odd);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "profinet_dcp.unknown_service"), 1);
    assert_string_equal(txn_at(f, 0)->function_name, "unknown");
}

static void test_many_blocks_are_bounded(void **ts)
{
    struct fx *f = *ts;
    /* 40 all-selector filter blocks in one Identify request */
    uint8_t b[12 + 40 * 4] = {0xfe, 0xfe, 0x05, 0x00, 0, 0, 0, 1, 0, 1, 0x00, 40 * 4};
    for (int i = 0; i < 40; i++) {
        b[12 + 4 * i] = 0xff;
        b[13 + 4 * i] = 0xff;
    }
    FRAME(f, CTRL, MC, b);
    JSON_HAS(f, 0, "\"block_count\":40");
    JSON_HAS(f, 0, "\"blocks_truncated\":true");
    JSON_HAS(f, 0, "\"name\":\"all_selector\"");
}

static void test_decoded_frame(void **ts)
{
    struct fx *f = *ts;
    /* plant1_PROFINET-RT_dcp.pcap frame 1, VLAN-tagged here (VLAN 0, priority 6) */
    static const uint8_t fr[] = {
        0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x1b, 0x02, 0x9a, 0xc3, 0x81, 0x00,
        0xc0, 0x00, 0x88, 0x92, 0xfe, 0xfe, 0x05, 0x00, 0x03, 0x00, 0xbf, 0x9a, 0x00, 0x01,
        0x00, 0x0c, 0x02, 0x02, 0x00, 0x07, 0x73, 0x77, 0x69, 0x74, 0x63, 0x68, 0x33, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00};
    assert_int_equal(fx_frame_decoded(f, fr, sizeof fr)->ethertype, ETH_PN);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"xid\":50380698,\"response_delay\":1,\"data_length\":12");
    JSON_HAS(f, 0, "\"value\":\"switch3\"");
    assert_int_equal(f->rec.nanomalies, 0); /* the Ethernet padding is not a block */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_identify_request),
        FX_TEST(test_identify_response_paired_and_identity),
        FX_TEST(test_identify_many_responders),
        FX_TEST(test_set_name_and_ip_is_config),
        FX_TEST(test_set_response_alone_takes_ops_from_blocks),
        FX_TEST(test_set_block_error),
        FX_TEST(test_control_blocks_ops),
        FX_TEST(test_get_request_and_response),
        FX_TEST(test_hello_announces_identity),
        FX_TEST(test_unsupported_response),
        FX_TEST(test_cut_at_every_length),
        FX_TEST(test_block_length_past_data),
        FX_TEST(test_not_dcp_frames),
        FX_TEST(test_unknown_service),
        FX_TEST(test_many_blocks_are_bounded),
        FX_TEST(test_decoded_frame),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
