/* Unit tests for the DHCPv4 parser (src/proto/dhcp.c).
 *
 * Messages are built per RFC 2131 s.2 (fixed BOOTP part, magic cookie) and RFC 2132 options,
 * with the relay agent option of RFC 3046 and the client FQDN of RFC 4702. A fake packet gives
 * the addresses and MACs that decide on which flow end an identity fact lands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_dhcp;
extern const struct qw_proto qw_proto_dns;

/* ---- Message builder ------------------------------------------------------------------------ */

struct wire {
    uint8_t b[1500];
    size_t n;
};

enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM };

static const uint8_t client_mac[6] = {0x00, 0x0e, 0x8c, 0xef, 0x75, 0xc5};

static void ip4(uint8_t *p, const char *s)
{
    struct qw_addr a;
    assert_true(qw_addr_parse(s, &a));
    memcpy(p, a.b + 12, 4);
}

/* The fixed part ([2131] s.2) and the cookie; options follow with opt(). */
static void bootp(struct wire *m, uint8_t op, uint32_t xid, const char *ciaddr,
                  const char *yiaddr, const char *giaddr)
{
    memset(m->b, 0, sizeof m->b);
    m->b[0] = op;
    m->b[1] = 1;
    m->b[2] = 6;
    m->b[3] = giaddr ? 1 : 0;
    m->b[4] = (uint8_t)(xid >> 24);
    m->b[5] = (uint8_t)(xid >> 16);
    m->b[6] = (uint8_t)(xid >> 8);
    m->b[7] = (uint8_t)xid;
    if (ciaddr) ip4(m->b + 12, ciaddr);
    if (yiaddr) ip4(m->b + 16, yiaddr);
    if (giaddr) ip4(m->b + 24, giaddr);
    memcpy(m->b + 28, client_mac, 6);
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    memcpy(m->b + 236, cookie, 4);
    m->n = 240;
}

static void opt(struct wire *m, uint8_t code, const void *data, size_t len)
{
    m->b[m->n++] = code;
    m->b[m->n++] = (uint8_t)len;
    memcpy(m->b + m->n, data, len);
    m->n += len;
}

static void opt_str(struct wire *m, uint8_t code, const char *s) { opt(m, code, s, strlen(s)); }
static void opt_u8(struct wire *m, uint8_t code, uint8_t v) { opt(m, code, &v, 1); }
static void opt_ip(struct wire *m, uint8_t code, const char *s)
{
    uint8_t a[4];
    ip4(a, s);
    opt(m, code, a, 4);
}
static void opt_u32(struct wire *m, uint8_t code, uint32_t v)
{
    uint8_t a[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    opt(m, code, a, 4);
}

/* END and pad to the 300-byte BOOTP minimum (RFC 1542 s.2.1). */
static void finish(struct wire *m)
{
    m->b[m->n++] = 255;
    if (m->n < 300) m->n = 300;
}

static const uint8_t prl[] = {1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252};

/* A Windows-like client message. */
static void client_msg(struct wire *m, uint8_t type, uint32_t xid, const char *ciaddr,
                       const char *giaddr)
{
    bootp(m, 1, xid, ciaddr, NULL, giaddr);
    opt_u8(m, 53, type);
    uint8_t cid[7] = {1};
    memcpy(cid + 1, client_mac, 6);
    opt(m, 61, cid, 7);
    opt_str(m, 12, "CRANE-HMI-04");
    opt_str(m, 60, "MSFT 5.0");
    opt(m, 55, prl, sizeof prl);
    finish(m);
}

static void server_msg(struct wire *m, uint8_t type, uint32_t xid, const char *yiaddr,
                       const char *giaddr)
{
    bootp(m, 2, xid, NULL, yiaddr, giaddr);
    opt_u8(m, 53, type);
    opt_ip(m, 54, "10.10.0.10");
    opt_u32(m, 51, 86400);
    opt_ip(m, 1, "255.255.0.0");
    uint8_t routers[8];
    ip4(routers, "10.40.0.1");
    ip4(routers + 4, "10.40.0.2");
    opt(m, 3, routers, 8);
    opt_ip(m, 6, "10.10.0.11");
    opt_str(m, 15, "terminal.example");
    finish(m);
}

/* ---- Fixture -------------------------------------------------------------------------------- */

#define PROTO qw_proto_dhcp
#define FX_TS_STEP 1000000u /* 1 ms per datagram */

#include "parser_fixture.h"

/* The packet carrying the next message; `from_client_mac` sets the source MAC to chaddr. */
static void set_pkt(struct fx *f, const char *src, const char *dst, bool from_client_mac)
{
    fx_packet(f, src, dst);
    f->pkt.has_mac = true;
    if (from_client_mac) memcpy(f->pkt.src_mac, client_mac, 6);
    else f->pkt.src_mac[5] = 0x99;
    if (strcmp(dst, "255.255.255.255") == 0) memset(f->pkt.dst_mac, 0xFF, 6);
    else f->pkt.dst_mac[5] = 0x42;
}

/* ---- Transactions --------------------------------------------------------------------------- */

/* A relay and the server (67 <-> 67): DISCOVER/OFFER and REQUEST/ACK pair on the flow. */
static void test_relay_exchange(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, DISCOVER, 0xe01cc718, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.ntxns, 0);
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, OFFER, 0xe01cc718, "10.40.1.14", "10.40.0.1");
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, DISCOVER);
    assert_string_equal(t->function_name, "discover");
    assert_int_equal(t->ops, 0);
    assert_false(t->error);
    assert_int_equal(t->response_ns - t->request_ns, 1000000);
    JSON_HAS(f, 0, "\"request\":{\"function\":1,\"function_name\":\"discover\",\"op\":1,"
                   "\"xid\":3759982360,\"htype\":1,\"hops\":1,\"secs\":0,\"broadcast\":false,"
                   "\"client_mac\":\"00:0e:8c:ef:75:c5\",\"ciaddr\":\"0.0.0.0\",\"yiaddr\":"
                   "\"0.0.0.0\",\"siaddr\":\"0.0.0.0\",\"giaddr\":\"10.40.0.1\",\"options\":"
                   "[53,61,12,60,55],\"hostname\":\"CRANE-HMI-04\",\"vendor_class\":\"MSFT 5.0\","
                   "\"client_id_type\":1,\"client_id\":\"01000e8cef75c5\","
                   "\"parameter_request_list\":[1,3,6,15,31,33,43,44,46,47,119,121,249,252]}");
    JSON_HAS(f, 0, "\"response\":{\"function\":2,\"function_name\":\"offer\",\"op\":2,");
    JSON_HAS(f, 0, "\"yiaddr\":\"10.40.1.14\"");
    JSON_HAS(f, 0, "\"options\":[53,54,51,1,3,6,15],\"server_id\":\"10.10.0.10\","
                   "\"lease_time\":86400,\"subnet_mask\":\"255.255.0.0\",\"routers\":"
                   "[\"10.40.0.1\",\"10.40.0.2\"],\"dns_servers\":[\"10.10.0.11\"],"
                   "\"domain_name\":\"terminal.example\"}");
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, REQUEST, 0xe01cc718, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, NAK, 0xe01cc718, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(f->rec.txns[1].txn.function_name, "request");
    assert_true(f->rec.txns[1].txn.error); /* NAK */
    /* relayed requests without ciaddr name a client on another segment by MAC only, and an
     * OFFER or a NAK gives it no address: no facts, about any address */
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.naddr_identities, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* A client on another segment boots through a relay: the ACK that answers its relayed REQUEST
 * names the address it now holds, and the request's facts are about that address. */
static void test_identity_relayed_boot(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, REQUEST, 0x51, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.naddr_identities, 0); /* no address yet */
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, ACK, 0x51, "10.40.1.14", "10.40.0.1");
    m.n = 240;
    opt_u8(&m, 53, ACK);
    opt_str(&m, 12, "crane-hmi-04"); /* the name the server gives it */
    finish(&m);
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nidentities, 0); /* neither end of the flow is the client */
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "hostname"), "CRANE-HMI-04");
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "dhcp_vendor_class"),
                        "MSFT 5.0");
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "dhcp_client_id"),
                        "01000e8cef75c5");
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "dhcp_fingerprint"),
                        "1,3,6,15,31,33,43,44,46,47,119,121,249,252");
    /* four from the request, the server's name for it; no "ip" fact about the address itself,
     * nothing about the relay agent or the server */
    assert_int_equal(f->rec.naddr_identities, 5);
    assert_null(qw_record_identity_at(&f->rec, "10.40.1.14", "ip"));
    assert_null(qw_record_identity_at(&f->rec, "10.40.0.1", "hostname"));
    assert_null(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c5", "hostname"));

    /* an ACK for another client hardware address with the same xid: not this client's */
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, REQUEST, 0x52, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, ACK, 0x52, "10.40.1.15", "10.40.0.1");
    m.b[33] ^= 1;
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 2);
    assert_null(qw_record_identity_at(&f->rec, "10.40.1.15", "hostname"));
    assert_int_equal(f->rec.naddr_identities, 5);

    /* a DISCOVER's OFFER proposes an address the client may not take: no facts */
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, DISCOVER, 0x53, NULL, "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, OFFER, 0x53, "10.40.1.16", "10.40.0.1");
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 3);
    assert_null(qw_record_identity_at(&f->rec, "10.40.1.16", "hostname"));
    assert_int_equal(f->rec.naddr_identities, 5);
}

static void test_broadcast_written_at_once(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    set_pkt(f, "0.0.0.0", "255.255.255.255", true);
    client_msg(&m, DISCOVER, 7, NULL, NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.ntxns, 1);
    assert_false(f->rec.txns[0].txn.has_response);
    /* the client has no address yet: its facts are about chaddr's MAC, not a flow end */
    assert_int_equal(f->rec.nidentities, 0);
    assert_string_equal(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c5", "hostname"),
                        "CRANE-HMI-04");
    assert_string_equal(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c5", "dhcp_vendor_class"),
                        "MSFT 5.0");
    assert_int_equal(f->rec.naddr_identities, 4);
    /* the OFFER, broadcast from the server, is its own record; an offer names nobody */
    set_pkt(f, "10.10.0.10", "255.255.255.255", false);
    server_msg(&m, OFFER, 7, "10.10.1.20", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.ntxns, 2);
    assert_false(f->rec.txns[1].txn.has_request);
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.naddr_identities, 4);
    /* the ACK broadcast to the client (not to a relay): about chaddr's MAC */
    server_msg(&m, ACK, 7, "10.10.1.20", NULL);
    m.n = 240;
    opt_u8(&m, 53, ACK);
    opt_str(&m, 12, "CRANE-HMI-04");
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.nidentities, 0);
    assert_string_equal(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c5", "ip"), "10.10.1.20");
    assert_int_equal(f->rec.naddr_identities, 5); /* the hostname was already said */
    /* the same DISCOVER again: not repeated on this flow */
    set_pkt(f, "0.0.0.0", "255.255.255.255", true);
    client_msg(&m, DISCOVER, 8, NULL, NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.naddr_identities, 5);
    /* another client on the same flow (0.0.0.0:68 -> broadcast) is another address */
    m.b[33] = 0xc6;
    f->pkt.src_mac[5] = 0xc6;
    DATAGRAM_BUF(f, C2S, &m);
    assert_string_equal(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c6", "hostname"),
                        "CRANE-HMI-04");
    assert_int_equal(f->rec.naddr_identities, 9);
    /* sent from 0.0.0.0 by another MAC than chaddr: not provably the client */
    m.b[33] = 0xc7;
    DATAGRAM_BUF(f, C2S, &m);
    assert_null(qw_record_identity_at(&f->rec, "00:0e:8c:ef:75:c7", "hostname"));
    assert_int_equal(f->rec.naddr_identities, 9);
}

/* A renewal forwarded by a relay agent (ciaddr set, the source is giaddr): about ciaddr. */
static void test_identity_relayed_renewal(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    set_pkt(f, "10.40.0.1", "10.10.0.10", false);
    client_msg(&m, REQUEST, 0x77, "10.40.1.14", "10.40.0.1");
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.nidentities, 0);
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "hostname"), "CRANE-HMI-04");
    assert_string_equal(qw_record_identity_at(&f->rec, "10.40.1.14", "dhcp_client_id"),
                        "01000e8cef75c5");
    /* the server's ACK back to the relay agent confirms ciaddr: nothing new (its facts came
     * with the request, and an address is no news about itself) */
    size_t before = f->rec.naddr_identities;
    set_pkt(f, "10.10.0.10", "10.40.0.1", false);
    server_msg(&m, ACK, 0x77, "10.40.1.14", "10.40.0.1");
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.naddr_identities, before);
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_unanswered_and_unanswerable(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    client_msg(&m, RELEASE, 9, "10.10.1.20", NULL); /* never answered: written at once */
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.ntxns, 1);
    client_msg(&m, DECLINE, 10, NULL, NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.ntxns, 2);
    client_msg(&m, INFORM, 11, "10.10.1.20", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    DATAGRAM_BUF(f, C2S, &m); /* retransmitted: the first is written unanswered */
    assert_int_equal(f->rec.ntxns, 3);
    server_msg(&m, OFFER, 11, NULL, NULL); /* an OFFER does not answer an INFORM */
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 4);
    assert_false(f->rec.txns[3].txn.has_request);
    server_msg(&m, ACK, 11, NULL, NULL);
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 5);
    assert_true(f->rec.txns[4].txn.has_request);
    assert_string_equal(f->rec.txns[4].txn.function_name, "inform");
    client_msg(&m, REQUEST, 12, "10.10.1.20", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    qw_proto_dhcp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 6);
    assert_false(f->rec.txns[5].txn.has_response);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    for (uint32_t i = 0; i < 11; i++) {
        client_msg(&m, DISCOVER, 100 + i, NULL, "10.40.0.1");
        DATAGRAM_BUF(f, C2S, &m);
    }
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcp.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"xid\":100,");
    qw_proto_dhcp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 11);
}

static void test_bootp_and_other_types(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    bootp(&m, 1, 0x57dc3bb2, NULL, NULL, NULL);
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    bootp(&m, 2, 0x57dc3bb2, NULL, "192.168.10.120", NULL);
    memcpy(m.b + 44, "bootsrv", 7);
    memcpy(m.b + 108, "ConLgxEIP", 9);
    finish(&m);
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.txns[0].txn.function, 0);
    assert_string_equal(f->rec.txns[0].txn.function_name, "bootp");
    JSON_HAS(f, 0, "\"sname\":\"bootsrv\",\"file\":\"ConLgxEIP\",\"options\":[]");
    /* leasequery ([4388]) and its answer */
    bootp(&m, 1, 1, NULL, NULL, "10.30.1.1");
    opt_u8(&m, 53, 10);
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    bootp(&m, 2, 1, "10.30.4.4", NULL, "10.30.1.1");
    opt_u8(&m, 53, 13);
    finish(&m);
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(f->rec.txns[1].txn.function_name, "leasequery");
    JSON_HAS(f, 1, "\"response\":{\"function\":13,\"function_name\":\"leaseactive\"");
    /* an unknown type is reported as such */
    bootp(&m, 2, 2, NULL, NULL, NULL);
    opt_u8(&m, 53, 99);
    finish(&m);
    DATAGRAM_BUF(f, S2C, &m);
    assert_string_equal(f->rec.txns[2].txn.function_name, "unknown");
    /* a server message type in a BOOTREQUEST */
    bootp(&m, 1, 3, NULL, NULL, NULL);
    opt_u8(&m, 53, ACK);
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcp.op_mismatch"), 1);
}

static void test_options_decoded(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    bootp(&m, 1, 0x068c4847, "62.12.173.123", NULL, "62.12.173.121");
    opt_u8(&m, 53, REQUEST);
    static const uint8_t fqdn_wire[] = {0x05, 0, 0, 11, 'r', 'a', 's', 'p', 'b', 'e', 'r', 'r',
                                        'y', 'p', 'i', 3, 'l', 'a', 'n', 0};
    opt(&m, 81, fqdn_wire, sizeof fqdn_wire);
    opt_ip(&m, 50, "62.12.173.123");
    uint8_t vs[5] = {1, 3, 'a', 'b', 'c'};
    opt(&m, 43, vs, sizeof vs);
    uint8_t ra[] = {1, 4, 0, 1, 0, 7, 2, 6, 0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8, 9, 1, 0};
    opt(&m, 82, ra, sizeof ra);
    uint8_t mms[2] = {0x05, 0xc0};
    opt(&m, 57, mms, 2);
    opt_str(&m, 56, "renewing");
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    qw_proto_dhcp.flow_end(&f->ctx, f->state);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"client_fqdn\":{\"flags\":5,\"rcode1\":0,\"rcode2\":0,"
                   "\"name\":\"raspberrypi.lan\"},\"requested_ip\":\"62.12.173.123\"");
    JSON_HAS(f, 0, "\"vendor_specific_length\":5,\"max_message_size\":1472,"
                   "\"message\":\"renewing\",\"relay_agent\":{\"suboptions\":[1,2,9],"
                   "\"circuit_id\":\"00010007\",\"remote_id\":\"b827ebb853c8\"}");
    /* the ASCII form of the FQDN (E flag clear), with a trailing NUL some clients send */
    bootp(&m, 1, 5, NULL, NULL, "10.0.0.1");
    opt_u8(&m, 53, DISCOVER);
    static const uint8_t fqdn_ascii[] = {0x01, 0xff, 0xff, 'h', 'm', 'i', '.', 'x', 0};
    opt(&m, 81, fqdn_ascii, sizeof fqdn_ascii);
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    qw_proto_dhcp.flow_end(&f->ctx, f->state);
    JSON_HAS(f, 1, "\"client_fqdn\":{\"flags\":1,\"rcode1\":255,\"rcode2\":255,\"name\":\"hmi.x\"}");
}

/* [2131] s.4.1: with option 52 the options go on in `file`, then `sname`. */
static void test_option_overload(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    bootp(&m, 2, 0x24593b3e, NULL, "10.100.0.50", NULL);
    opt_u8(&m, 53, ACK);
    opt_u8(&m, 52, 3);
    finish(&m);
    uint8_t *file = m.b + 108, *sname = m.b + 44;
    file[0] = 6; /* DNS servers */
    file[1] = 4;
    ip4(file + 2, "10.100.0.2");
    file[6] = 255;
    sname[0] = 15;
    sname[1] = 9;
    memcpy(sname + 2, "evil.corp", 9);
    sname[11] = 255;
    DATAGRAM_BUF(f, S2C, &m);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"options\":[53,52,6,15],\"option_overload\":3,");
    JSON_HAS(f, 0, "\"dns_servers\":[\"10.100.0.2\"],\"domain_name\":\"evil.corp\"");
    assert_null(strstr(f->rec.txns[0].json, "\"sname\""));
    assert_null(strstr(f->rec.txns[0].json, "\"file\""));
}

/* ---- Identity ------------------------------------------------------------------------------- */

static void test_identity_renewal_and_ack(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    /* a unicast renewal from the client's own address (the flow's client end) */
    set_pkt(f, "10.10.1.14", "10.10.0.10", true);
    client_msg(&m, REQUEST, 0x1234, "10.10.1.14", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_true(has_fact(f, false, "hostname", "CRANE-HMI-04"));
    assert_true(has_fact(f, false, "dhcp_vendor_class", "MSFT 5.0"));
    assert_true(has_fact(f, false, "dhcp_client_id", "01000e8cef75c5"));
    assert_true(has_fact(f, false, "dhcp_fingerprint", "1,3,6,15,31,33,43,44,46,47,119,121,249,252"));
    assert_int_equal(f->rec.nidentities, 4);
    /* the ACK goes to the client's address: it carries the client's `ip` */
    set_pkt(f, "10.10.0.10", "10.10.1.14", false);
    server_msg(&m, ACK, 0x1234, "10.10.1.14", NULL);
    DATAGRAM_BUF(f, S2C, &m);
    assert_true(has_fact(f, false, "ip", "10.10.1.14"));
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.has_request && f->rec.txns[0].txn.has_response);
    /* the same renewal again: the facts are not repeated in this flow */
    set_pkt(f, "10.10.1.14", "10.10.0.10", true);
    client_msg(&m, REQUEST, 0x1235, "10.10.1.14", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.nidentities, 5);
}

static void test_identity_server_named_hostname(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    /* the server (the flow's client end here) sends the ACK to yiaddr with a hostname */
    set_pkt(f, "192.168.10.105", "192.168.10.131", false);
    server_msg(&m, ACK, 0xabcd0014, "192.168.10.131", NULL);
    m.n = 240;
    opt_u8(&m, 53, ACK);
    opt_str(&m, 12, "KoyoDL405");
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    assert_true(has_fact(f, true, "ip", "192.168.10.131"));
    assert_true(has_fact(f, true, "hostname", "KoyoDL405"));
    /* an OFFER is only an offer: no facts */
    f->rec.nidentities = 0;
    memset(f->state, 0, qw_proto_dhcp.state_size);
    server_msg(&m, OFFER, 0xabcd0013, "192.168.10.131", NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.nidentities, 0);
    /* a client with a source address but sent through something else (MAC not chaddr) and no
     * ciaddr: not provably the client */
    set_pkt(f, "10.10.1.14", "10.10.0.10", false);
    client_msg(&m, DISCOVER, 1, NULL, NULL);
    DATAGRAM_BUF(f, C2S, &m);
    assert_int_equal(f->rec.nidentities, 0);
    /* ... and from chaddr itself it is */
    set_pkt(f, "10.10.1.14", "10.10.0.10", true);
    DATAGRAM_BUF(f, C2S, &m);
    assert_true(has_fact(f, false, "hostname", "CRANE-HMI-04"));
}

/* ---- Malformed input ------------------------------------------------------------------------ */

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct wire m;
    client_msg(&m, DISCOVER, 1, NULL, NULL);
    /* every cut: below the BOOTP header -> truncated; inside the options -> overrun or fine */
    size_t end_of_options = 240 + 3 + 9 + 14 + 10 + 2 + sizeof prl;
    for (size_t cut = 0; cut < end_of_options; cut++) {
        f->rec.nanomalies = f->rec.ntxns = 0;
        memset(f->state, 0, qw_proto_dhcp.state_size);
        qw_proto_dhcp.datagram(&f->ctx, f->state, C2S, m.b, cut);
        qw_proto_dhcp.flow_end(&f->ctx, f->state);
        if (cut < 8) {
            assert_int_equal(f->rec.ntxns, 0);
            assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcp.malformed"), 1);
        } else {
            assert_int_equal(f->rec.ntxns, 1);
        }
        if (cut >= 8 && cut < 236) {
            assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcp.malformed"), 1);
            JSON_HAS(f, 0, "\"truncated\":true");
        }
    }
    /* an option whose length runs past the message */
    f->rec.nanomalies = f->rec.ntxns = 0;
    bootp(&m, 1, 2, NULL, NULL, NULL);
    opt_u8(&m, 53, DISCOVER);
    m.b[m.n++] = 12;
    m.b[m.n++] = 200;
    m.b[m.n++] = 'x';
    DATAGRAM_BUF(f, C2S, &m);
    qw_proto_dhcp.flow_end(&f->ctx, f->state);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "dhcp.malformed"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "option overruns its field");
    JSON_HAS(f, 0, "\"malformed\":\"option overruns its field\"");
    /* a message type option of two octets */
    f->rec.nanomalies = 0;
    bootp(&m, 1, 3, NULL, NULL, NULL);
    uint8_t two[2] = {1, 1};
    opt(&m, 53, two, 2);
    finish(&m);
    DATAGRAM_BUF(f, C2S, &m);
    assert_string_equal(f->rec.anomalies[0].detail, "message type option is not one octet");
}

static void test_probe(void **ts)
{
    (void)ts;
    enum qw_probe_result (*probe)(const uint8_t *, size_t, enum qw_dir) = qw_proto_dhcp.probe;
    struct wire m;
    client_msg(&m, DISCOVER, 1, NULL, NULL);
    assert_int_equal(probe(m.b, m.n, C2S), QW_PROBE_MATCH);
    server_msg(&m, OFFER, 1, "10.0.0.9", NULL);
    assert_int_equal(probe(m.b, m.n, S2C), QW_PROBE_MATCH);
    assert_int_equal(probe(m.b, 239, S2C), QW_PROBE_NO); /* a datagram is whole */
    server_msg(&m, OFFER, 1, "10.0.0.9", NULL);
    m.b[239] = 0x64; /* cookie */
    assert_int_equal(probe(m.b, m.n, S2C), QW_PROBE_NO);
    server_msg(&m, OFFER, 1, "10.0.0.9", NULL);
    m.b[0] = 3; /* op */
    assert_int_equal(probe(m.b, m.n, S2C), QW_PROBE_NO);
    server_msg(&m, OFFER, 1, "10.0.0.9", NULL);
    m.b[3] = 17; /* hops past the limit of [1542] */
    assert_int_equal(probe(m.b, m.n, S2C), QW_PROBE_NO);
    server_msg(&m, OFFER, 1, "10.0.0.9", NULL);
    m.b[2] = 17; /* hlen */
    assert_int_equal(probe(m.b, m.n, S2C), QW_PROBE_NO);
    bootp(&m, 1, 1, NULL, NULL, NULL);
    opt_u8(&m, 53, 0); /* type 0 */
    finish(&m);
    assert_int_equal(probe(m.b, m.n, C2S), QW_PROBE_NO);
    bootp(&m, 1, 1, NULL, NULL, NULL);
    m.b[m.n++] = 12;
    m.b[m.n++] = 50; /* overruns */
    assert_int_equal(probe(m.b, m.n, C2S), QW_PROBE_NO);
    /* a DHCP message is not DNS */
    client_msg(&m, DISCOVER, 1, NULL, NULL);
    assert_int_equal(qw_proto_dns.probe(m.b, m.n, C2S), QW_PROBE_NO);
    static const char http[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(probe((const uint8_t *)http, sizeof http - 1, C2S), QW_PROBE_NO);
    uint8_t zeros[300] = {0};
    assert_int_equal(probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
}

static void test_descriptor(void **ts)
{
    (void)ts;
    assert_string_equal(qw_proto_dhcp.name, "dhcp");
    assert_int_equal(qw_proto_dhcp.ports[0], 67);
    assert_int_equal(qw_proto_dhcp.ports[1], 0);
    assert_int_equal(qw_proto_dhcp.transports, QW_TRANSPORT_UDP);
    assert_ptr_equal(qw_proto_by_name("dhcp"), &qw_proto_dhcp);
    assert_true(qw_proto_dhcp.state_size < 6 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_relay_exchange),
        FX_TEST(test_identity_relayed_boot),
        FX_TEST(test_broadcast_written_at_once),
        FX_TEST(test_unanswered_and_unanswerable),
        FX_TEST(test_queue_full),
        FX_TEST(test_bootp_and_other_types),
        FX_TEST(test_options_decoded),
        FX_TEST(test_option_overload),
        FX_TEST(test_identity_renewal_and_ack),
        FX_TEST(test_identity_server_named_hostname),
        FX_TEST(test_identity_relayed_renewal),
        FX_TEST(test_malformed),
        FX_TEST(test_probe),
        FX_TEST(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
