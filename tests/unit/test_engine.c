/* The per-packet pipeline's flow decisions, checked through the engine with crafted frames:
 * eviction at the flow cap, idle timeouts, TCP port reuse versus a retransmitted SYN, routed
 * conversations whose two directions a mirror shows on different VLANs, and the parser memory
 * cap (states, and buffers lent to parsers). Each case reads the engine's counters and the
 * flow records of its event log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"

#define SEC 1000000000ull

struct rig {
    struct qw_engine e;
    struct qw_decoder d;
    struct qw_eventlog log;
    char path[64];
};

/* `cfg` may be NULL; its event log is the rig's. */
static void rig_start_cfg(struct rig *r, const struct qw_engine_config *cfg)
{
    memset(r, 0, sizeof *r);
    strcpy(r->path, "/tmp/qw_test_engine_XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(qw_eventlog_open(&r->log, r->path));
    struct qw_engine_config c = {0};
    if (cfg) c = *cfg;
    c.events = &r->log;
    assert_true(qw_engine_init(&r->e, &c));
    qw_decoder_init(&r->d, 1 /* Ethernet */);
    qw_engine_setup_decoder(&r->e, &r->d);
}

static void rig_start(struct rig *r, uint32_t flow_cap)
{
    struct qw_engine_config cfg = {.flow_cap = flow_cap};
    rig_start_cfg(r, &cfg);
}

/* Ends the run and returns the event log's text (caller frees). */
static char *rig_finish(struct rig *r)
{
    qw_engine_finish(&r->e);
    assert_true(qw_eventlog_close(&r->log));
    FILE *fp = fopen(r->path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    unlink(r->path);
    qw_engine_free(&r->e);
    qw_decoder_free(&r->d);
    return text;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Ethernet [+ 802.1Q] + IPv4 + TCP or UDP with `n` bytes of payload. Checksums are left 0:
 * the decoder counts them as bad and goes on, which is all these cases need. */
static void send_data(struct rig *r, uint64_t t, uint16_t vlan, uint8_t proto, uint32_t src,
                      uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags, uint32_t seq,
                      const uint8_t *data, size_t n)
{
    uint8_t f[256];
    assert_true(n <= 160);
    size_t o = 0;
    memset(f, 0, sizeof f);
    f[5] = 1;  /* dst MAC 00..01 */
    f[11] = 2; /* src MAC 00..02 */
    o = 12;
    if (vlan) {
        f[o++] = 0x81; f[o++] = 0x00; f[o++] = (uint8_t)(vlan >> 8); f[o++] = (uint8_t)vlan;
    }
    f[o++] = 0x08; f[o++] = 0x00;
    size_t ip = o, l4len = proto == 6 ? 20 : 8;
    f[ip] = 0x45;
    f[ip + 3] = (uint8_t)(20 + l4len + n);
    f[ip + 8] = 64;
    f[ip + 9] = proto;
    for (int i = 0; i < 4; i++) {
        f[ip + 12 + i] = (uint8_t)(src >> (24 - 8 * i));
        f[ip + 16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    size_t l4 = ip + 20;
    f[l4] = (uint8_t)(sport >> 8); f[l4 + 1] = (uint8_t)sport;
    f[l4 + 2] = (uint8_t)(dport >> 8); f[l4 + 3] = (uint8_t)dport;
    if (proto == 6) {
        for (int i = 0; i < 4; i++) f[l4 + 4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        f[l4 + 12] = 0x50;
        f[l4 + 13] = flags;
    } else {
        f[l4 + 5] = (uint8_t)(8 + n);
    }
    if (n) memcpy(f + l4 + l4len, data, n);
    size_t len = l4 + l4len + n;
    qw_engine_packet(&r->e, &r->d, f, (uint32_t)len, (uint32_t)len, t);
}

static void send(struct rig *r, uint64_t t, uint16_t vlan, uint8_t proto, uint32_t src,
                 uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags, uint32_t seq)
{
    send_data(r, t, vlan, proto, src, sport, dst, dport, flags, seq, NULL, 0);
}

/* The one flow the engine holds. */
static struct qw_flow *only_flow(struct rig *r)
{
    assert_int_equal(r->e.flows.stats.active, 1);
    for (int c = 0; c < QW_TCLASS_COUNT; c++)
        if (r->e.flows.lists_head[c]) return r->e.flows.lists_head[c];
    fail_msg("no flow");
    return NULL;
}

#define A 0x0a140014u /* 10.20.0.20 */
#define B 0x0a1e010bu /* 10.30.1.11 */

/* Modbus/TCP read holding registers 0..0 of unit 1, transaction 1, and its answer (42). */
static const uint8_t MB_REQ[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00,
                                 0x00, 0x01};
static const uint8_t MB_RSP[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x01, 0x03, 0x02, 0x00,
                                 0x2a};

/* A handshake, one Modbus transaction, and the client's ACK: the flow then idles. */
static void modbus_session(struct rig *r, uint64_t t)
{
    send(r, t, 0, 6, A, 40000, B, 502, QW_TCP_SYN, 1000);
    send(r, t + 100, 0, 6, B, 502, A, 40000, QW_TCP_SYN | QW_TCP_ACK, 9000);
    send(r, t + 200, 0, 6, A, 40000, B, 502, QW_TCP_ACK, 1001);
    send_data(r, t + 300, 0, 6, A, 40000, B, 502, QW_TCP_ACK | QW_TCP_PSH, 1001, MB_REQ,
              sizeof MB_REQ);
    send_data(r, t + 400, 0, 6, B, 502, A, 40000, QW_TCP_ACK | QW_TCP_PSH, 9001, MB_RSP,
              sizeof MB_RSP);
    send(r, t + 500, 0, 6, A, 40000, B, 502, QW_TCP_ACK, 1013);
}

/* Past the cap the least recently active flow is ended as "evicted", and no more than the cap
 * is ever tracked. */
static void test_eviction_at_cap(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 16);
    for (uint16_t i = 0; i < 40; i++) send(&r, (i + 1) * SEC, 0, 17, A, 1000 + i, B, 53, 0, 0);
    assert_int_equal(r.e.flows.stats.evicted, 24);
    assert_int_equal(r.e.flows.stats.peak_active, 16);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"flow\""), 40);
    assert_int_equal(count(log, "\"reason\":\"evicted\""), 24);
    /* the oldest go first: the first flow (port 1000) was evicted, the last (1039) was not */
    assert_non_null(strstr(log, "\"src_port\":1000,\"dest_ip\":\"10.30.1.11\",\"dest_port\":53"));
    const char *last = strstr(log, "\"src_port\":1039,");
    assert_non_null(last);
    assert_non_null(strstr(last, "\"reason\":\"capture_end\""));
    free(log);
}

/* A UDP flow idle past its class timeout (180 s) ends as "timeout"; the same 5-tuple later is a
 * new flow. Flows still active at the end end as "capture_end". */
static void test_idle_timeout(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    send(&r, 1 * SEC, 0, 17, A, 5000, B, 47808, 0, 0);
    send(&r, 2 * SEC, 0, 17, B, 47808, A, 5000, 0, 0);
    send(&r, 100 * SEC, 0, 17, A, 6000, B, 47808, 0, 0); /* keeps time moving, 98 s idle */
    assert_int_equal(r.e.flows.stats.timed_out, 0);
    send(&r, 183 * SEC, 0, 17, A, 6001, B, 47808, 0, 0); /* first flow idle 181 s */
    assert_int_equal(r.e.flows.stats.timed_out, 1);
    send(&r, 190 * SEC, 0, 17, A, 5000, B, 47808, 0, 0); /* same tuple again: a new flow */
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"src_port\":5000,"), 2);
    assert_int_equal(count(log, "\"reason\":\"timeout\""), 1);
    assert_int_equal(count(log, "\"reason\":\"capture_end\""), 3);
    free(log);
}

/* The capture's clock goes back an hour (a capture host stepping its clock): a flow whose
 * packets come after the jump is one flow, aged by the clock, not ended at each packet because
 * its packet times lag the newest time seen; its start and end are its own packets' times. It
 * still times out by the clock: 181 s after the clock moves past it. */
static void test_clock_going_back(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    send(&r, 4000 * SEC, 0, 17, A, 7000, B, 47808, 0, 0);
    for (uint64_t i = 0; i < 5; i++) send(&r, (100 + i) * SEC, 0, 17, A, 5000, B, 47808, 0, 0);
    assert_int_equal(r.e.flows.stats.timed_out, 0);
    send(&r, 4100 * SEC, 0, 17, A, 7001, B, 47808, 0, 0); /* the clock moves on, 96 s */
    assert_int_equal(r.e.flows.stats.timed_out, 0);
    send(&r, 4182 * SEC, 0, 17, A, 7002, B, 47808, 0, 0); /* the clock 182 s past its jump */
    assert_int_equal(r.e.flows.stats.timed_out, 2);        /* it and the first 7000 flow */
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"src_port\":5000,"), 1);
    const char *f = strstr(log, "\"src_port\":5000,");
    assert_non_null(f);
    assert_non_null(strstr(f, "\"pkts_toserver\":5,"));
    assert_non_null(strstr(f, "\"start\":\"1970-01-01T00:01:40.000000Z\""));
    assert_non_null(strstr(f, "\"end\":\"1970-01-01T00:01:44.000000Z\""));
    free(log);
}

/* A TFTP transfer starts with the server's first block from a port it chose (both ports free):
 * the parser's probe says the sender is the server, and the engine turns the flow round, so
 * the requester is the client and the TFTP server's new port the service. */
static void test_answer_first_turns_flow(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    uint8_t data[4 + 100] = {0, 3, 0, 1}; /* DATA block 1, 100 bytes: the whole file */
    uint8_t ack[4] = {0, 4, 0, 1};
    send_data(&r, 1 * SEC, 0, 17, B, 3445, A, 50618, 0, 0, data, sizeof data);
    send_data(&r, 1 * SEC + 1000, 0, 17, A, 50618, B, 3445, 0, 0, ack, sizeof ack);
    char *log = rig_finish(&r);
    const char *f = strstr(log, "\"event_type\":\"flow\"");
    assert_non_null(f);
    assert_non_null(strstr(f, "\"src_ip\":\"10.20.0.20\",\"src_port\":50618,"
                              "\"dest_ip\":\"10.30.1.11\",\"dest_port\":3445"));
    assert_non_null(strstr(f, "\"app_proto\":\"tftp\""));
    assert_non_null(strstr(f, "\"pkts_toserver\":1,\"pkts_toclient\":1,\"bytes_toserver\":46,"));
    /* the transfer record: the server sent the data, a read */
    assert_non_null(strstr(log, "\"direction\":\"read\""));
    free(log);
}

/* A bare SYN with a new initial sequence number on the same ports starts a new flow; the same
 * SYN retransmitted (after a RST, as a client retries) stays in the flow it opened. */
static void test_port_reuse_and_syn_retransmit(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    send(&r, 1 * SEC, 0, 6, A, 40000, B, 502, QW_TCP_SYN, 1000);
    send(&r, 1 * SEC + 1000, 0, 6, B, 502, A, 40000, QW_TCP_RST | QW_TCP_ACK, 0);
    send(&r, 2 * SEC, 0, 6, A, 40000, B, 502, QW_TCP_SYN, 1000); /* retry, same ISN */
    send(&r, 3 * SEC, 0, 6, A, 40000, B, 502, QW_TCP_SYN, 1000);
    assert_int_equal(r.e.flows.stats.created, 1);
    send(&r, 10 * SEC, 0, 6, A, 40000, B, 502, QW_TCP_SYN, 777777); /* a new connection */
    assert_int_equal(r.e.flows.stats.created, 2);
    assert_int_equal(r.e.flows.stats.reused, 1);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"flow\""), 2);
    assert_non_null(strstr(log, "\"pkts_toserver\":3,\"pkts_toclient\":1"));
    assert_non_null(strstr(log, "\"reason\":\"port_reuse\""));
    free(log);
}

/* A routed conversation mirrored from a trunk: the request carries the client zone's VLAN, the
 * reply the server zone's. It is one flow with both directions. A bare SYN with the same
 * 5-tuple on yet another VLAN is a different conversation (equal addresses reused in separate
 * VLANs are common in OT) and gets its own flow. */
static void test_routed_reply_on_other_vlan(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    send(&r, 1 * SEC, 20, 6, A, 40000, B, 502, QW_TCP_SYN, 1000);
    send(&r, 1 * SEC + 500, 30, 6, B, 502, A, 40000, QW_TCP_SYN | QW_TCP_ACK, 9000);
    send(&r, 1 * SEC + 900, 20, 6, A, 40000, B, 502, QW_TCP_ACK, 1001);
    send(&r, 1 * SEC + 1500, 30, 6, B, 502, A, 40000, QW_TCP_ACK, 9001);
    assert_int_equal(r.e.flows.stats.created, 1);
    send(&r, 2 * SEC, 40, 6, A, 40000, B, 502, QW_TCP_SYN, 5555);
    assert_int_equal(r.e.flows.stats.created, 2);
    /* a non-SYN packet on a third VLAN, in a direction the flow already saw on VLAN 20, does not
     * join it either */
    send(&r, 3 * SEC, 50, 6, A, 40000, B, 502, QW_TCP_ACK, 1001);
    assert_int_equal(r.e.flows.stats.created, 3);
    char *log = rig_finish(&r);
    assert_non_null(strstr(log, "\"vlan\":[20],\"ether\":{\"src_mac\":\"00:00:00:00:00:02\","
                                "\"dest_mac\":\"00:00:00:00:00:02\"},\"flow\":{\"pkts_toserver\":2,"
                                "\"pkts_toclient\":2"));
    assert_non_null(strstr(log, "\"tcp_state\":\"established\""));
    assert_int_equal(count(log, "\"vlan\":[40]"), 1);
    assert_int_equal(count(log, "\"vlan\":[50]"), 1);
    free(log);
}

/* A link-layer frame reaches the parser registered for its ethertype (PROFINET DCP), with no
 * flow: its records carry the frame's MACs and VLAN, and its identity facts are about the
 * sender's MAC (asset.mac), as the contract says (proto.h). */
static void test_link_layer_frame_dispatch(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    uint8_t f[128];
    memset(f, 0, sizeof f);
    static const uint8_t dst[6] = {0x00, 0x0e, 0xcf, 0x00, 0x00, 0x01};
    static const uint8_t src[6] = {0x28, 0x63, 0x36, 0x00, 0x00, 0x02};
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    size_t o = 12;
    f[o++] = 0x81; f[o++] = 0x00; f[o++] = 0x00; f[o++] = 30; /* VLAN 30 */
    f[o++] = 0x88; f[o++] = 0x92;                             /* PROFINET */
    f[o++] = 0xfe; f[o++] = 0xff;                             /* DCP identify response */
    f[o++] = 5;                                               /* service Identify */
    f[o++] = 1;                                               /* response, success */
    f[o++] = 0; f[o++] = 0; f[o++] = 0x12; f[o++] = 0x34;     /* xid */
    f[o++] = 0; f[o++] = 0;                                   /* reserved */
    f[o++] = 0; f[o++] = 12;                                  /* DCP data length */
    f[o++] = 2; f[o++] = 2;                                   /* device, name of station */
    f[o++] = 0; f[o++] = 7;                                   /* block length: info + name */
    f[o++] = 0; f[o++] = 0;                                   /* block info */
    memcpy(f + o, "plc-1", 5);
    o += 5 + 1;                                               /* padded to an even length */
    size_t len = o < 60 ? 60 : o;
    qw_engine_packet(&r.e, &r.d, f, (uint32_t)len, (uint32_t)len, 5 * SEC);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"profinet_dcp\""), 1);
    assert_non_null(strstr(log, "\"ether\":{\"src_mac\":\"28:63:36:00:00:02\""));
    assert_non_null(strstr(log, "\"vlan\":[30]"));
    assert_non_null(strstr(log, "\"asset\":{\"mac\":\"28:63:36:00:00:02\""));
    assert_non_null(strstr(log, "plc-1"));
    assert_null(strstr(log, "\"flow_id\""));
    free(log);
}

/* Modbus over UDP goes through the datagram callback: one datagram, one transaction. */
static void test_udp_datagram_dispatch(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    uint8_t f[128];
    memset(f, 0, sizeof f);
    f[5] = 1;
    f[11] = 2;
    size_t o = 12;
    f[o++] = 0x08; f[o++] = 0x00;
    size_t ip = o;
    static const uint8_t pdu[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, /* MBAP, unit 1 */
                                  0x03, 0x00, 0x10, 0x00, 0x02};           /* read 2 at 16 */
    f[ip] = 0x45;
    f[ip + 3] = (uint8_t)(20 + 8 + sizeof pdu);
    f[ip + 8] = 64;
    f[ip + 9] = 17;
    f[ip + 12] = 10; f[ip + 13] = 20; f[ip + 15] = 20;
    f[ip + 16] = 10; f[ip + 17] = 30; f[ip + 18] = 1; f[ip + 19] = 11;
    size_t l4 = ip + 20;
    f[l4] = 0xc3; f[l4 + 1] = 0x50; /* 50000 */
    f[l4 + 2] = 0x01; f[l4 + 3] = 0xf6; /* 502 */
    f[l4 + 5] = (uint8_t)(8 + sizeof pdu);
    memcpy(f + l4 + 8, pdu, sizeof pdu);
    size_t len = l4 + 8 + sizeof pdu;
    qw_engine_packet(&r.e, &r.d, f, (uint32_t)len, (uint32_t)len, 5 * SEC);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"modbus\""), 1);
    assert_non_null(strstr(log, "\"app_proto\":\"modbus\""));
    assert_non_null(strstr(log, "\"proto\":\"UDP\""));
    free(log);
}

/* The idle flow state is a design bound: a TCP flow with its parser decided and nothing
 * buffered costs its struct qw_flow (at most 256 bytes) and its parser's state, nothing else.
 * A PDU cut in two is held out of line only until its second part arrives. */
static void test_idle_flow_state(void **state)
{
    (void)state;
    assert_true(sizeof(struct qw_flow) <= 256);
    struct rig r;
    rig_start(&r, 0);
    modbus_session(&r, SEC);
    struct qw_flow *f = only_flow(&r);
    assert_non_null(f->app);
    assert_string_equal(f->app->name, "modbus");
    assert_null(f->tcp); /* no out-of-line TCP state */
    assert_int_equal(r.e.stats.app_mem, f->app->state_size);
    assert_int_equal(qw_stream_mem.pending + qw_stream_mem.ooo, 0);

    /* the next request in two segments: its head waits out of line, then is released */
    send_data(&r, 2 * SEC, 0, 6, A, 40000, B, 502, QW_TCP_ACK, 1013, MB_REQ, 5);
    assert_non_null(f->tcp);
    assert_int_equal(f->tcp[QW_DIR_TO_SERVER].pending.len, 5);
    assert_true(qw_stream_mem.pending > 0);
    send_data(&r, 2 * SEC + 10, 0, 6, A, 40000, B, 502, QW_TCP_ACK, 1018, MB_REQ + 5,
              sizeof MB_REQ - 5);
    assert_null(f->tcp);
    assert_int_equal(qw_stream_mem.pending, 0);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"modbus\""), 2);
    assert_int_equal(r.e.stats.app_mem, 0);
    free(log);
}

/* app_memcap: a flow whose parser state would pass the cap goes without a parser (counted); the
 * flow itself is still tracked and recorded. */
static void test_app_memcap_refuses_parser(void **state)
{
    (void)state;
    struct rig r;
    struct qw_engine_config cfg = {.app_memcap = 16};
    rig_start_cfg(&r, &cfg);
    modbus_session(&r, SEC);
    struct qw_flow *f = only_flow(&r);
    assert_null(f->app);
    assert_int_equal(r.e.stats.app_refused, 1);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.app_refused, 1);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"event_type\":\"modbus\""), 0);
    assert_int_equal(count(log, "\"event_type\":\"flow\""), 1);
    free(log);
}

/* A TLS ClientHello naming "crane7.plc" (server_name) whose handshake message spans two
 * records, each in its own TCP segment: the parser borrows a buffer from the engine
 * (qw_loan_take) between them. Sends it on A:40001 -> B:443. */
static void split_client_hello(struct rig *r, uint64_t t)
{
    static const uint8_t hello[] = {
        0x01, 0x00, 0x00, 0x3e,                         /* ClientHello, 62 bytes */
        0x03, 0x03,                                     /* client_version TLS 1.2 */
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* random */
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
        0x00,                                           /* no session id */
        0x00, 0x02, 0x00, 0x2f,                         /* one suite */
        0x01, 0x00,                                     /* null compression */
        0x00, 0x13,                                     /* extensions, 19 bytes */
        0x00, 0x00, 0x00, 0x0f, 0x00, 0x0d, 0x00, 0x00, 0x0a, /* server_name, host_name */
        'c', 'r', 'a', 'n', 'e', '7', '.', 'p', 'l', 'c'};
    _Static_assert(sizeof hello == 66, "header and 62 bytes");
    enum { FIRST = 24 };
    uint8_t rec[5 + sizeof hello] = {0x16, 0x03, 0x01, 0x00, FIRST};
    send(r, t, 0, 6, A, 40001, B, 443, QW_TCP_SYN, 5000);
    send(r, t + 100, 0, 6, B, 443, A, 40001, QW_TCP_SYN | QW_TCP_ACK, 7000);
    send(r, t + 200, 0, 6, A, 40001, B, 443, QW_TCP_ACK, 5001);
    memcpy(rec + 5, hello, FIRST);
    send_data(r, t + 300, 0, 6, A, 40001, B, 443, QW_TCP_ACK | QW_TCP_PSH, 5001, rec,
              5 + FIRST);
    size_t rest = sizeof hello - FIRST;
    rec[4] = (uint8_t)rest;
    memcpy(rec + 5, hello + FIRST, rest);
    send_data(r, t + 400, 0, 6, A, 40001, B, 443, QW_TCP_ACK | QW_TCP_PSH, 5001 + 5 + FIRST,
              rec, 5 + rest);
}

/* Buffers lent to parsers (qw_loan_take) count against app_memcap while lent and come back
 * when the message is whole: the ClientHello split over two records is decoded from the loan,
 * and the engine holds only the parser's state between messages, nothing after the flow. */
static void test_loan_lent_and_returned(void **state)
{
    (void)state;
    const struct qw_proto *tls = qw_proto_by_name("tls");
    assert_non_null(tls);
    struct rig r;
    rig_start(&r, 1024);
    split_client_hello(&r, SEC);
    /* the message is whole: the loan is back, the state stays with the flow */
    assert_int_equal(r.e.stats.app_mem, tls->state_size);
    assert_int_equal(r.e.stats.app_mem_peak, tls->state_size + QW_LOAN_BYTES);
    assert_int_equal(r.e.stats.loans_refused, 0);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "\"sni\":\"crane7.plc\""), 1);
    assert_int_equal(r.e.stats.app_mem, 0);
    free(log);
}

/* Past app_memcap the buffer is refused (counted, in the limits too): the message is counted
 * but not decoded, and nothing breaks. */
static void test_loan_refused_at_cap(void **state)
{
    (void)state;
    const struct qw_proto *tls = qw_proto_by_name("tls");
    assert_non_null(tls);
    struct rig r;
    struct qw_engine_config cfg = {.flow_cap = 1024, .app_memcap = tls->state_size + 64};
    rig_start_cfg(&r, &cfg);
    split_client_hello(&r, SEC);
    assert_int_equal(r.e.stats.loans_refused, 1);
    assert_int_equal(r.e.stats.app_mem_peak, tls->state_size);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.loans_refused, 1);
    char *log = rig_finish(&r);
    assert_int_equal(count(log, "crane7.plc"), 0);
    assert_int_equal(count(log, "\"event_type\":\"flow\""), 1);
    assert_int_equal(r.e.stats.app_mem, 0);
    free(log);
}

/* asset_cap and edge_cap bound the analysis tables: with room for 4 hosts and 4 edges, 10
 * UDP conversations of distinct clients to one server keep 4 hosts and 4 edges, and the rest
 * is refused and counted. */
static void test_asset_and_edge_caps(void **state)
{
    (void)state;
    struct rig r;
    struct qw_engine_config cfg = {.asset_cap = 4, .edge_cap = 4};
    rig_start_cfg(&r, &cfg);
    for (uint32_t i = 0; i < 10; i++) {
        send(&r, (i + 1) * SEC, 0, 17, A + i, 5000, B, 47808, 0, 0);
        send(&r, (i + 1) * SEC + 10, 0, 17, B, 47808, A + i, 5000, 0, 0);
    }
    qw_engine_finish(&r.e);
    assert_int_equal(r.e.obs.hosts.count, 4);
    assert_int_equal(r.e.obs.edges.count, 4);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_true(lim.assets_refused >= 7); /* 11 hosts seen, 4 kept */
    assert_int_equal(lim.edges_refused, 6);
    free(rig_finish(&r));
}

/* The detector's tables are fixed too: past QW_DETECT_MAX_ADDRESS_USERS address uses in one
 * batch, the next is refused and counted in the engine's limits, never silently lost; a store
 * commit's clear makes room again. */
static void test_detector_caps_counted(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    struct qw_addr ip;
    const uint8_t v4[4] = {10, 50, 8, 23};
    qw_addr_from_v4(&ip, v4);
    for (unsigned i = 0; i <= QW_DETECT_MAX_ADDRESS_USERS; i++)
        qw_detect_address_user(&r.e.detect, &ip, "radius_accounting", "eng", 3, false, i);
    assert_int_equal(r.e.detect.naddress_users, QW_DETECT_MAX_ADDRESS_USERS);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.detections_refused, 1);
    qw_detect_clear(&r.e.detect);
    qw_detect_address_user(&r.e.detect, &ip, "radius_accounting", "eng", 3, true, 1);
    assert_int_equal(r.e.detect.naddress_users, 1);
    assert_true(r.e.detect.address_users[0].ended);
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.detections_refused, 1);
    free(rig_finish(&r));
}

/* cred.guessing's counters are bounded: with the table full, a failure after every counter's
 * window has passed drops the stale ones and is counted; one while they are all fresh is
 * refused and counted as refused. Five failures from one source inside the window raise the
 * finding, the sixth counts again. */
static void test_guess_counters_bounded(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, 0);
    struct qw_flow f;
    memset(&f, 0, sizeof f);
    const uint8_t dev[4] = {10, 30, 0, 1};
    qw_addr_from_v4(&f.key.b, dev);
    f.client_is_a = true; /* the device is the server: failures read on the wire */
    struct qw_addr from;
    struct qw_device_report c = {.kind = QW_REPORT_LOGIN_FAILED, .server = true,
                                 .message_id = "ftp 530", .from = &from};
    for (uint32_t i = 0; i < QW_DETECT_MAX_GUESSERS; i++) {
        const uint8_t v4[4] = {10, 20, (uint8_t)(i >> 8), (uint8_t)i};
        qw_addr_from_v4(&from, v4);
        f.key.a = from;
        qw_detect_device_report(&r.e.detect, &f, NULL, &c, 10 * SEC);
    }
    assert_int_equal(r.e.detect.guesses.count, QW_DETECT_MAX_GUESSERS);
    const uint8_t late[4] = {10, 21, 0, 1};
    qw_addr_from_v4(&from, late);
    f.key.a = from;
    qw_detect_device_report(&r.e.detect, &f, NULL, &c, 11 * SEC);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.detections_refused, 1); /* all fresh: refused */
    uint64_t t = 10 * SEC + QW_DETECT_GUESS_WINDOW_NS + SEC;
    for (int k = 0; k < 6; k++) qw_detect_device_report(&r.e.detect, &f, NULL, &c, t + k * SEC);
    assert_int_equal(r.e.detect.guesses.count, 1); /* the stale ones were dropped */
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.detections_refused, 1);
    assert_int_equal(r.e.detect.findings.count, 1);
    uint32_t pos = 0;
    const void *k;
    void *v;
    assert_true(qw_hmap_next(&r.e.detect.findings, &pos, &k, &v));
    const struct qw_finding *x = v;
    assert_int_equal(x->count, 2);
    assert_string_equal(x->message, "5 failed logins to 10.30.0.1 from 10.21.0.1 within 4 s "
                                    "(ftp 530)");
    free(rig_finish(&r));
}

/* frag_cap reaches each capture source's decoder: with room for 2 datagrams, the first
 * fragments of 3 evict the oldest, counted in the engine's stats. */
static void test_frag_cap_applied(void **state)
{
    (void)state;
    struct rig r;
    struct qw_engine_config cfg = {.frag_cap = 2};
    rig_start_cfg(&r, &cfg);
    for (uint16_t id = 1; id <= 3; id++) {
        uint8_t f[80];
        memset(f, 0, sizeof f);
        f[5] = 1;
        f[11] = 2;
        f[12] = 0x08;
        size_t ip = 14;
        f[ip] = 0x45;
        f[ip + 3] = 20 + 16;
        f[ip + 5] = (uint8_t)id;
        f[ip + 6] = 0x20; /* more fragments, offset 0 */
        f[ip + 8] = 64;
        f[ip + 9] = 17;
        f[ip + 12] = 10; f[ip + 15] = 1;
        f[ip + 16] = 10; f[ip + 19] = 2;
        qw_engine_packet(&r.e, &r.d, f, ip + 36, ip + 36, id * SEC);
    }
    assert_int_equal(r.d.frag.cap, 2);
    assert_int_equal(r.e.stats.frag_evicted, 1);
    struct qw_engine_limits lim;
    qw_engine_limits(&r.e, &lim);
    assert_int_equal(lim.frag_evicted, 1);
    free(rig_finish(&r));
}

/* The registry's contract with the event log (which copies parser names into JSON unescaped)
 * and with the probe index: names are short identifiers, unique, and the parsers fit. */
static void test_registry_names(void **state)
{
    (void)state;
    assert_true(qw_protocol_count > 0 && qw_protocol_count <= QW_PROTOCOLS_MAX);
    for (size_t i = 0; i < qw_protocol_count; i++) {
        const char *n = qw_protocols[i]->name;
        size_t len = strlen(n);
        if (len == 0 || len > QW_PROTO_NAME_MAX) fail_msg("parser %zu: name length %zu", i, len);
        for (size_t k = 0; k < len; k++)
            if (!((n[k] >= 'a' && n[k] <= 'z') || (n[k] >= '0' && n[k] <= '9') || n[k] == '_'))
                fail_msg("parser name '%s' is not [a-z0-9_]", n);
        for (size_t k = 0; k < i; k++)
            if (strcmp(qw_protocols[k]->name, n) == 0) fail_msg("parser name '%s' twice", n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_flow_state),
        cmocka_unit_test(test_app_memcap_refuses_parser),
        cmocka_unit_test(test_loan_lent_and_returned),
        cmocka_unit_test(test_loan_refused_at_cap),
        cmocka_unit_test(test_asset_and_edge_caps),
        cmocka_unit_test(test_detector_caps_counted),
        cmocka_unit_test(test_guess_counters_bounded),
        cmocka_unit_test(test_frag_cap_applied),
        cmocka_unit_test(test_eviction_at_cap),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_clock_going_back),
        cmocka_unit_test(test_answer_first_turns_flow),
        cmocka_unit_test(test_port_reuse_and_syn_retransmit),
        cmocka_unit_test(test_routed_reply_on_other_vlan),
        cmocka_unit_test(test_link_layer_frame_dispatch),
        cmocka_unit_test(test_udp_datagram_dispatch),
        cmocka_unit_test(test_registry_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
