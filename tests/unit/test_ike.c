/* Unit tests for the IKE parser (src/proto/ike.c), on hand-built messages: IKEv1 main mode and
 * aggressive mode (pairing, SA attributes, vendor ids, IDs, weakness anomalies judged on the
 * responder's selection), IKEv2 IKE_SA_INIT with a cookie round and IKE_AUTH, requests from
 * either side, NAT traversal on 4500 (marker, ESP-in-UDP and keepalive counts), the probe, and
 * truncated and oversized lengths at every offset. */
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

extern const struct qw_proto qw_proto_ike;

#define PROTO qw_proto_ike
#define FX_BUF_MAX 2048

#include "parser_fixture.h"

static const uint8_t ISPI[8] = {0xcf, 0x02, 0x32, 0x6f, 0x14, 0xa9, 0x5b, 0x93};
static const uint8_t RSPI[8] = {0x18, 0xa1, 0x09, 0xf8, 0x92, 0x19, 0xe8, 0xdf};
static const uint8_t ZERO[8] = {0};

/* ---- Message builder ----------------------------------------------------------------------- */

/* Start a message: optional NAT-T marker, then the 28-byte header (length patched by done()). */
static void hdr(struct buf *b, bool marker, const uint8_t *rspi, uint8_t np, uint8_t ver,
                uint8_t exch, uint8_t flags, uint32_t msgid)
{
    b->n = 0;
    if (marker) u32(b, 0);
    put(b, ISPI, 8);
    put(b, rspi, 8);
    u8(b, np);
    u8(b, ver);
    u8(b, exch);
    u8(b, flags);
    u32(b, msgid);
    u32(b, 0);
}

static void done(struct buf *b)
{
    size_t base = (b->n >= 4 && b->b[0] == 0 && b->b[1] == 0 && b->b[2] == 0 && b->b[3] == 0) ? 4 : 0;
    uint32_t len = (uint32_t)(b->n - base);
    b->b[base + 24] = (uint8_t)(len >> 24);
    b->b[base + 25] = (uint8_t)(len >> 16);
    b->b[base + 26] = (uint8_t)(len >> 8);
    b->b[base + 27] = (uint8_t)len;
}

/* A generic payload (or proposal / transform) header; its length is patched by end(). */
static size_t begin(struct buf *b, uint8_t next)
{
    size_t o = b->n;
    u8(b, next);
    u8(b, 0);
    u16(b, 0);
    return o;
}

static void end(struct buf *b, size_t o)
{
    size_t l = b->n - o;
    b->b[o + 2] = (uint8_t)(l >> 8);
    b->b[o + 3] = (uint8_t)l;
}

static void tv(struct buf *b, uint16_t type, uint16_t v)
{
    u16(b, (uint16_t)(0x8000 | type));
    u16(b, v);
}

/* IKEv1 phase-1 SA: one proposal, one KEY_IKE transform ([2409] App. A attributes). */
struct v1sa {
    uint16_t encr, key_len, hash, auth, group;
};

static void v1_sa(struct buf *b, uint8_t next, struct v1sa a)
{
    size_t sa = begin(b, next);
    u32(b, 1); /* DOI IPsec */
    u32(b, 1); /* SIT_IDENTITY_ONLY */
    size_t p = begin(b, 0);
    u8(b, 1); /* proposal 1 */
    u8(b, 1); /* ISAKMP */
    u8(b, 0); /* no SPI */
    u8(b, 1);
    size_t t = begin(b, 0);
    u8(b, 1); /* transform 1 */
    u8(b, 1); /* KEY_IKE */
    u16(b, 0);
    tv(b, 1, a.encr);
    if (a.key_len) tv(b, 14, a.key_len);
    tv(b, 2, a.hash);
    tv(b, 4, a.group);
    tv(b, 3, a.auth);
    tv(b, 11, 1); /* seconds */
    u16(b, 12);   /* life duration, TLV of 4 bytes */
    u16(b, 4);
    u32(b, 86400);
    end(b, t);
    end(b, p);
    end(b, sa);
}

static void raw_payload(struct buf *b, uint8_t next, const void *body, size_t n)
{
    size_t o = begin(b, next);
    put(b, body, n);
    end(b, o);
}

static const uint8_t VID_RFC3947[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                                        0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
static const uint8_t VID_DPD[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
static const uint8_t VID_OTHER[12] = {'v', 'e', 'n', 'd', 'o', 'r', '-', 'b', 'l', 'o', 'b', 0};

/* IKEv2 transforms ([7296] s.3.3.2): {type, id, key length}. */
struct v2xf {
    uint8_t type;
    uint16_t id, key_len;
};

static void v2_sa(struct buf *b, uint8_t next, const struct v2xf *x, size_t n)
{
    size_t sa = begin(b, next);
    size_t p = begin(b, 0);
    u8(b, 1);
    u8(b, 1); /* IKE */
    u8(b, 0);
    u8(b, (uint8_t)n);
    for (size_t i = 0; i < n; i++) {
        size_t t = begin(b, i + 1 < n ? 3 : 0);
        u8(b, x[i].type);
        u8(b, 0);
        u16(b, x[i].id);
        if (x[i].key_len) tv(b, 14, x[i].key_len);
        end(b, t);
    }
    end(b, p);
    end(b, sa);
}

static void v2_ke(struct buf *b, uint8_t next, uint16_t group)
{
    size_t o = begin(b, next);
    u16(b, group);
    u16(b, 0);
    for (int i = 0; i < 32; i++) u8(b, (uint8_t)i);
    end(b, o);
}

static void v2_notify(struct buf *b, uint8_t next, uint16_t type)
{
    size_t o = begin(b, next);
    u8(b, 0);
    u8(b, 0);
    u16(b, type);
    u32(b, 0xdeadbeef);
    end(b, o);
}

static void nonce(struct buf *b, uint8_t next)
{
    uint8_t n[16];
    memset(n, 0x5a, sizeof n);
    raw_payload(b, next, n, sizeof n);
}

/* ---- IKEv1 main mode ----------------------------------------------------------------------- */

static struct buf mm[6];

/* Main mode, 3DES / MD5 / MODP-1024 / PSK on both sides, then the encrypted messages 5 and 6. */
static void build_main_mode(void)
{
    struct v1sa weak = {5, 0, 1, 1, 2};
    hdr(&mm[0], false, ZERO, 1, 0x10, 2, 0, 0);
    v1_sa(&mm[0], 13, weak);
    raw_payload(&mm[0], 13, VID_RFC3947, 16);
    raw_payload(&mm[0], 0, VID_DPD, 16);
    done(&mm[0]);
    hdr(&mm[1], false, RSPI, 1, 0x10, 2, 0, 0);
    v1_sa(&mm[1], 13, weak);
    raw_payload(&mm[1], 0, VID_OTHER, sizeof VID_OTHER);
    done(&mm[1]);
    for (int k = 2; k < 4; k++) {
        hdr(&mm[k], false, RSPI, 4, 0x10, 2, 0, 0);
        uint8_t ke[96];
        memset(ke, k, sizeof ke);
        raw_payload(&mm[k], 10, ke, sizeof ke);
        nonce(&mm[k], 20);
        raw_payload(&mm[k], 20, ke, 20); /* NAT-D */
        raw_payload(&mm[k], 0, ke, 20);
        done(&mm[k]);
    }
    for (int k = 4; k < 6; k++) {
        hdr(&mm[k], false, RSPI, 5, 0x10, 2, 0x01, 0);
        for (int i = 0; i < 40; i++) u8(&mm[k], (uint8_t)(0x90 + i));
        done(&mm[k]);
    }
}

static void check_main_mode(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct qw_txn *t = txn_at(f, i);
        assert_true(t->has_request && t->has_response);
        assert_int_equal(t->function, 2);
        assert_string_equal(t->function_name, "identity_protection");
        assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
        assert_false(t->error);
    }
    JSON_HAS(f, 0, "\"version\":1,\"exchange_type\":2,\"exchange\":\"identity_protection\","
                   "\"initiator_spi\":\"cf02326f14a95b93\",\"responder_spi\":\"18a109f89219e8df\","
                   "\"message_id\":0,\"request\":{\"flags\":0,\"flag_names\":[],");
    JSON_HAS(f, 0, "\"payloads\":[\"sa\",\"vendor_id\",\"vendor_id\"],\"payload_types\":[1,13,13]");
    JSON_HAS(f, 0, "\"transforms\":[{\"number\":1,\"id\":1,\"encryption\":\"3des_cbc\","
                   "\"encryption_id\":5,\"hash\":\"md5\",\"hash_id\":1,"
                   "\"auth_method\":\"pre_shared_key\",\"auth_method_id\":1,"
                   "\"dh_group_name\":\"modp_1024\",\"dh_group\":2,"
                   "\"life\":[{\"type\":\"seconds\",\"duration\":86400}]}]");
    JSON_HAS(f, 0, "\"vendor_ids\":[{\"id\":\"4a131c81070358455c5728f20e95452f\","
                   "\"name\":\"rfc3947_nat_t\"},{\"id\":\"afcad71368a1f1c96b8696fc77570100\","
                   "\"name\":\"rfc3706_dpd\"}]");
    JSON_HAS(f, 0, "\"vendor_ids\":[{\"id\":\"76656e646f722d626c6f6200\"}]"); /* no name */
    JSON_HAS(f, 1, "\"payloads\":[\"ke\",\"nonce\",\"nat_d\",\"nat_d\"]");
    JSON_HAS(f, 2, "\"flags\":1,\"flag_names\":[\"encryption\"],\"length\":68,\"encrypted\":true,"
                   "\"payloads\":[]");
    /* Responder's choice: 3DES, MD5, MODP-1024; and IKEv1 itself. Once each. */
    assert_int_equal(f->rec.nanomalies, 4);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_encryption"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_integrity"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_dh_group"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_version"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_aggressive_mode"), 0);
}

static const char *anomaly_detail(const struct fx *f, const char *name)
{
    for (size_t i = 0; i < f->rec.nanomalies; i++)
        if (strcmp(f->rec.anomalies[i].name, name) == 0) return f->rec.anomalies[i].detail;
    return "(none)";
}

static void test_v1_main_mode(void **ts)
{
    struct fx *f = *ts;
    build_main_mode();
    for (int k = 0; k < 6; k++)
        assert_int_equal(qw_proto_ike.probe(mm[k].b, mm[k].n, k & 1 ? S2C : C2S), QW_PROBE_MATCH);
    for (int k = 0; k < 6; k++) DATAGRAM_BUF(f, k & 1 ? S2C : C2S, &mm[k]);
    flow_end(f);
    check_main_mode(f);
    assert_string_equal(anomaly_detail(f, "ike.weak_dh_group"), "modp_1024 (RFC 8247 SHOULD NOT)");
    assert_string_equal(anomaly_detail(f, "ike.weak_integrity"), "md5 (RFC 8247 MUST NOT)");
    assert_string_equal(anomaly_detail(f, "ike.weak_encryption"),
                        "3des_cbc (RFC 8221 SHOULD NOT, 64-bit block)");
    assert_int_equal(f->rec.nidentities, 0);
}

/* The initiator's offer alone is not judged: only the responder's selection is. */
static void test_v1_offer_alone_not_judged(void **ts)
{
    struct fx *f = *ts;
    build_main_mode();
    DATAGRAM_BUF(f, C2S, &mm[0]);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(txn_at(f, 0)->has_request);
    assert_false(txn_at(f, 0)->has_response);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- IKEv1 aggressive mode ----------------------------------------------------------------- */

static void test_v1_aggressive_psk(void **ts)
{
    struct fx *f = *ts;
    struct v1sa strong = {7, 256, 4, 1, 14}; /* AES-256, SHA2-256, MODP-2048, but PSK */
    struct buf a1, a2, a3;
    uint8_t ke[64];
    memset(ke, 7, sizeof ke);
    hdr(&a1, false, ZERO, 1, 0x10, 4, 0, 0);
    v1_sa(&a1, 4, strong);
    raw_payload(&a1, 10, ke, sizeof ke);
    nonce(&a1, 5);
    static const uint8_t id_fqdn[] = {2, 17, 0x01, 0xf4, 'v', 'p', 'n', '.', 'e', 'x', '.', 'o', 'r', 'g'};
    raw_payload(&a1, 0, id_fqdn, sizeof id_fqdn);
    done(&a1);
    hdr(&a2, false, RSPI, 1, 0x10, 4, 0, 0);
    v1_sa(&a2, 4, strong);
    raw_payload(&a2, 10, ke, sizeof ke);
    nonce(&a2, 5);
    static const uint8_t id_ip[] = {1, 0, 0, 0, 192, 0, 2, 7};
    raw_payload(&a2, 8, id_ip, sizeof id_ip);
    raw_payload(&a2, 0, ke, 20); /* HASH_R */
    done(&a2);
    hdr(&a3, false, RSPI, 8, 0x10, 4, 0, 0);
    raw_payload(&a3, 0, ke, 20); /* HASH_I */
    done(&a3);
    DATAGRAM_BUF(f, C2S, &a1);
    DATAGRAM_BUF(f, S2C, &a2);
    DATAGRAM_BUF(f, C2S, &a3);
    assert_int_equal(f->rec.ntxns, 2); /* the third message is a record at once */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 0)->function_name, "aggressive");
    assert_true(txn_at(f, 0)->has_request && txn_at(f, 0)->has_response);
    assert_true(txn_at(f, 1)->has_request && !txn_at(f, 1)->has_response);
    JSON_HAS(f, 0, "\"ids\":[{\"type\":\"fqdn\",\"type_id\":2,\"ip_protocol\":17,\"port\":500,"
                   "\"value\":\"vpn.ex.org\"}]");
    JSON_HAS(f, 0, "\"ids\":[{\"type\":\"ipv4_addr\",\"type_id\":1,\"value\":\"192.0.2.7\"}]");
    JSON_HAS(f, 0, "\"encryption\":\"aes_cbc\",\"encryption_id\":7,\"key_length\":256,"
                   "\"hash\":\"sha2_256\"");
    JSON_HAS(f, 1, "\"payloads\":[\"hash\"]");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_aggressive_mode"), 1);
    assert_string_equal(anomaly_detail(f, "ike.weak_aggressive_mode"),
                        "pre_shared_key (PSK hash sent in clear, crackable offline)");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_dh_group"), 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_encryption"), 0);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_integrity"), 0);
    assert_int_equal(f->rec.nanomalies, 2); /* and weak_version */
    assert_int_equal(f->rec.nidentities, 0);
    /* the initiator's FQDN names who opens the tunnel; the responder's address does not */
    assert_string_equal(f->rec.session_user, "vpn.ex.org");
    assert_string_equal(f->rec.session_user_source, "ike_id");
    assert_int_equal(f->rec.nsession_users, 1);
}

/* ---- IKEv2 --------------------------------------------------------------------------------- */

static const struct v2xf OFFER[] = {
    {1, 3, 0}, {1, 12, 256}, {2, 1, 0}, {2, 5, 0}, {3, 1, 0}, {3, 12, 0}, {4, 2, 0}, {4, 19, 0},
};

static void sa_init_request(struct buf *b, bool cookie)
{
    hdr(b, false, ZERO, cookie ? 41 : 33, 0x20, 34, 0x08, 0);
    if (cookie) v2_notify(b, 33, 16390);
    v2_sa(b, 34, OFFER, sizeof OFFER / sizeof OFFER[0]);
    v2_ke(b, 40, 19);
    nonce(b, 41);
    v2_notify(b, 0, 16388);
    done(b);
}

static void sa_init_response(struct buf *b, const struct v2xf *sel, size_t n, uint16_t ke)
{
    hdr(b, false, RSPI, 33, 0x20, 34, 0x20, 0);
    v2_sa(b, 34, sel, n);
    v2_ke(b, 40, ke);
    nonce(b, 43);
    raw_payload(b, 0, VID_OTHER, 8);
    done(b);
}

static void encrypted(struct buf *b, uint8_t exch, uint8_t flags, uint32_t msgid)
{
    hdr(b, false, RSPI, 46, 0x20, exch, flags, msgid);
    uint8_t body[48];
    memset(body, 0xEE, sizeof body);
    raw_payload(b, 35, body, sizeof body); /* the next payload names the first one inside */
    done(b);
}

static struct buf v2[6];

static void build_v2(void)
{
    static const struct v2xf sel[] = {{1, 12, 256}, {2, 5, 0}, {3, 12, 0}, {4, 19, 0}};
    sa_init_request(&v2[0], false);
    hdr(&v2[1], false, ZERO, 41, 0x20, 34, 0x20, 0); /* COOKIE, answer alone */
    v2_notify(&v2[1], 0, 16390);
    done(&v2[1]);
    sa_init_request(&v2[2], true);
    sa_init_response(&v2[3], sel, 4, 19);
    encrypted(&v2[4], 35, 0x08, 1);
    encrypted(&v2[5], 35, 0x20, 1);
}

static const struct msg *v2_conv(struct msg *m)
{
    for (int k = 0; k < 6; k++) m[k] = (struct msg){k & 1 ? S2C : C2S, v2[k].b, v2[k].n};
    return m;
}

static void test_v2_sa_init_auth(void **ts)
{
    struct fx *f = *ts;
    build_v2();
    struct msg m[6];
    v2_conv(m);
    for (int k = 0; k < 6; k++)
        assert_int_equal(qw_proto_ike.probe(m[k].b, m[k].n, m[k].dir), QW_PROBE_MATCH);
    for (int k = 0; k < 6; k++) fx_datagram(f, m[k].dir, m[k].b, m[k].n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(txn_at(f, 0)->function_name, "ike_sa_init");
    assert_string_equal(txn_at(f, 2)->function_name, "ike_auth");
    assert_int_equal(txn_at(f, 2)->function, 35);
    for (size_t i = 0; i < 3; i++) assert_true(txn_at(f, i)->has_request && txn_at(f, i)->has_response);
    JSON_HAS(f, 0, "\"response\":{\"flags\":32,\"flag_names\":[\"response\"],\"length\":40,"
                   "\"payloads\":[\"notify\"],\"payload_types\":[41],"
                   "\"notifies\":[{\"type\":16390,\"name\":\"cookie\"}],"
                   "\"direction\":\"to_client\"}");
    JSON_HAS(f, 0, "{\"type\":\"encr\",\"type_id\":1,\"id\":3,\"name\":\"3des\"},"
                   "{\"type\":\"encr\",\"type_id\":1,\"id\":12,\"name\":\"aes_cbc\",\"key_length\":256}");
    JSON_HAS(f, 0, "\"ke_dh_group_name\":\"ecp_256\",\"ke_dh_group\":19");
    JSON_HAS(f, 1, "\"responder_spi\":\"18a109f89219e8df\"");
    JSON_HAS(f, 1, "\"payloads\":[\"notify\",\"sa\",\"ke\",\"nonce\",\"notify\"]");
    JSON_HAS(f, 2, "\"request\":{\"flags\":8,\"flag_names\":[\"initiator\"],\"length\":80,"
                   "\"encrypted\":true,\"payloads\":[\"encrypted\"],\"payload_types\":[46],"
                   "\"direction\":\"to_server\"}");
    /* The offer held 3DES, MD5 and MODP-1024; the responder chose none of them. */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_v2_weak_selection(void **ts)
{
    struct fx *f = *ts;
    static const struct v2xf sel[] = {{1, 3, 0}, {2, 1, 0}, {3, 1, 0}, {4, 2, 0}};
    struct buf q, r;
    sa_init_request(&q, false);
    sa_init_response(&r, sel, 4, 2);
    DATAGRAM_BUF(f, C2S, &q);
    DATAGRAM_BUF(f, S2C, &r);
    DATAGRAM_BUF(f, C2S, &q); /* a second exchange on the flow: no repeat of the anomalies */
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 3);
    assert_string_equal(anomaly_detail(f, "ike.weak_encryption"),
                        "3des (RFC 8221 SHOULD NOT, 64-bit block)");
    assert_string_equal(anomaly_detail(f, "ike.weak_integrity"), "hmac_md5 (RFC 8247 MUST NOT)");
    assert_string_equal(anomaly_detail(f, "ike.weak_dh_group"), "modp_1024 (RFC 8247 SHOULD NOT)");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.weak_version"), 0);
    /* MODP-768 via the KE alone, and NULL encryption, on a fresh flow. */
    fx_reset(f);
    static const struct v2xf sel2[] = {{1, 11, 0}, {2, 5, 0}, {3, 12, 0}, {4, 14, 0}};
    sa_init_response(&r, sel2, 4, 1);
    DATAGRAM_BUF(f, S2C, &r);
    assert_string_equal(anomaly_detail(f, "ike.weak_dh_group"), "modp_768 (RFC 8247 MUST NOT)");
    assert_string_equal(anomaly_detail(f, "ike.weak_encryption"), "null (RFC 8247 MUST NOT)");
    assert_false(txn_at(f, 0)->has_request);
    /* RFC 5114's 2048-bit groups with small subgroups (23, 24): SHOULD NOT, the rest strong. */
    fx_reset(f);
    static const struct v2xf sel3[] = {{1, 20, 0}, {2, 5, 0}, {4, 24, 0}};
    sa_init_response(&r, sel3, 3, 24);
    DATAGRAM_BUF(f, S2C, &r);
    assert_int_equal(f->rec.nanomalies, 1);
    assert_string_equal(anomaly_detail(f, "ike.weak_dh_group"),
                        "modp_2048_s256 (RFC 8247 SHOULD NOT)");
}

/* Two requests in flight answered out of order; a request from the original responder (I and R
 * clear) answered by the original initiator (I and R set); an error notify. */
static void test_v2_windows_and_errors(void **ts)
{
    struct fx *f = *ts;
    struct buf a, b, ra, rb, dpd, dpdr, fail, failr;
    encrypted(&a, 36, 0x08, 2);
    encrypted(&b, 36, 0x08, 3);
    encrypted(&ra, 36, 0x20, 2);
    encrypted(&rb, 36, 0x20, 3);
    encrypted(&dpd, 37, 0x00, 0);
    encrypted(&dpdr, 37, 0x28, 0);
    DATAGRAM_BUF(f, C2S, &a);
    DATAGRAM_BUF(f, C2S, &b);
    DATAGRAM_BUF(f, S2C, &rb);
    DATAGRAM_BUF(f, S2C, &ra);
    DATAGRAM_BUF(f, S2C, &dpd);
    DATAGRAM_BUF(f, C2S, &dpdr);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"message_id\":3");
    JSON_HAS(f, 1, "\"message_id\":2");
    assert_string_equal(txn_at(f, 2)->function_name, "informational_v2");
    assert_true(txn_at(f, 2)->has_request && txn_at(f, 2)->has_response);
    JSON_HAS(f, 2, "\"request\":{\"flags\":0,");
    /* IKE_SA_INIT refused with NO_PROPOSAL_CHOSEN: an error record. */
    sa_init_request(&fail, false);
    hdr(&failr, false, ZERO, 41, 0x20, 34, 0x20, 0);
    v2_notify(&failr, 0, 14);
    done(&failr);
    DATAGRAM_BUF(f, C2S, &fail);
    DATAGRAM_BUF(f, S2C, &failr);
    assert_int_equal(f->rec.ntxns, 4);
    assert_true(txn_at(f, 3)->error);
    assert_false(txn_at(f, 2)->error);
    JSON_HAS(f, 3, "{\"type\":14,\"name\":\"no_proposal_chosen\",\"error\":true}");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 4);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- NAT traversal ------------------------------------------------------------------------- */

static void test_natt_marker_esp_keepalive(void **ts)
{
    struct fx *f = *ts;
    struct buf q, r;
    hdr(&q, true, RSPI, 8, 0x10, 32, 0x01, 0x635a2e6a); /* quick mode, encrypted */
    for (int i = 0; i < 36; i++) u8(&q, (uint8_t)i);
    done(&q);
    hdr(&r, true, RSPI, 8, 0x10, 32, 0x01, 0x635a2e6a);
    for (int i = 0; i < 36; i++) u8(&r, (uint8_t)(i + 1));
    done(&r);
    assert_int_equal(qw_proto_ike.probe(q.b, q.n, C2S), QW_PROBE_MATCH);
    static const uint8_t esp[24] = {0xf4, 0xdc, 0x0a, 0xe5, 0, 0, 0, 1, 0xAA, 0xBB};
    static const uint8_t keepalive[1] = {0xFF};
    assert_int_equal(qw_proto_ike.probe(esp, sizeof esp, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_ike.probe(keepalive, 1, C2S), QW_PROBE_NO);
    DATAGRAM_BUF(f, C2S, &q);
    DATAGRAM_BUF(f, S2C, &r);
    fx_datagram(f, C2S, esp, sizeof esp);
    fx_datagram(f, C2S, esp, sizeof esp);
    fx_datagram(f, S2C, esp, sizeof esp);
    fx_datagram(f, C2S, keepalive, 1);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"exchange\":\"quick_mode\"");
    JSON_HAS(f, 0, "\"message_id\":1666854506,\"request\":{\"flags\":1,\"flag_names\":[\"encryption\"],"
                   "\"length\":64,\"nat_t_marker\":true,\"encrypted\":true");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_string_equal(txn_at(f, 1)->function_name, "esp_in_udp");
    JSON_HAS(f, 1, "{\"esp_in_udp\":{\"packets_to_server\":2,\"packets_to_client\":1,"
                   "\"nat_keepalives\":1}}");
    assert_int_equal(f->rec.nanomalies, 1); /* weak_version: a responder cookie in IKEv1 */
    /* On a flow without the marker (UDP 500) an ESP-looking datagram is a bad IKE header. */
    fx_reset(f);
    build_main_mode();
    DATAGRAM_BUF(f, C2S, &mm[0]);
    fx_datagram(f, C2S, esp, sizeof esp);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_header"), 1);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe_refuses_others(void **ts)
{
    (void)ts;
    struct buf b;
    build_main_mode();
    b = mm[0];
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_MATCH);
    b.b[17] = 0x30; /* version 3 */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b.b[17] = 0x11; /* minor version 1 */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    b.b[18] = 34; /* a v2 exchange in a v1 header */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    b.b[19] = 0x08; /* a v2 flag in a v1 header */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    memset(b.b, 0, 8); /* zero initiator SPI */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    b.b[16] = 99; /* unknown first payload */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    b.b[23] = 1; /* main mode with a message id */
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO);
    b = mm[0];
    assert_int_equal(qw_proto_ike.probe(b.b, b.n - 1, C2S), QW_PROBE_NO); /* length > datagram */
    b.b[b.n++] = 0;
    assert_int_equal(qw_proto_ike.probe(b.b, b.n, C2S), QW_PROBE_NO); /* datagram > length */
    static const uint8_t ntp[48] = {0x23, 0, 6, 0xec};
    assert_int_equal(qw_proto_ike.probe(ntp, sizeof ntp, C2S), QW_PROBE_NO);
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 3, 'w',
                                  'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
                                  'm', 0, 0, 1, 0, 1};
    assert_int_equal(qw_proto_ike.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
    uint8_t zeros[64] = {0};
    assert_int_equal(qw_proto_ike.probe(zeros, sizeof zeros, C2S), QW_PROBE_NO);
    assert_int_equal(qw_proto_ike.probe(zeros, 0, C2S), QW_PROBE_NO);
}

/* ---- Truncated and oversized --------------------------------------------------------------- */

/* Every prefix of every message: never matched, never a crash; a cut header is no record and
 * one invalid_header; a cut body is a record marked malformed and an invalid_length. */
static void test_truncated_every_offset(void **ts)
{
    struct fx *f = *ts;
    build_main_mode();
    build_v2();
    const struct buf *all[] = {&mm[0], &mm[1], &mm[2], &mm[4], &v2[0], &v2[1], &v2[3], &v2[4]};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        for (size_t n = 0; n < all[k]->n; n++) {
            fx_clear(f);
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, all[k]->b, n);
            assert_int_equal(qw_proto_ike.probe(cut, n, C2S), QW_PROBE_NO);
            fx_datagram(f, C2S, cut, n);
            flow_end(f);
            free(cut);
            if (n < 28) {
                assert_int_equal(f->rec.ntxns, 0);
                assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_header"), 1);
            } else {
                assert_int_equal(f->rec.ntxns, 1);
                assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_length"), 1);
                JSON_HAS(f, 0, "\"malformed\":true");
            }
        }
    }
}

/* Lengths that lie: a payload longer than the message, a proposal longer than its SA, a
 * transform shorter than its header; the invalid anomalies stop at a few per flow. */
static void test_lying_lengths(void **ts)
{
    struct fx *f = *ts;
    build_main_mode();
    struct buf b = mm[0];
    b.b[28 + 2] = 0x0f; /* SA payload length 0x0f.. > message */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_payload"), 1);
    assert_string_equal(anomaly_detail(f, "ike.invalid_payload"), "sa");
    flow_end(f);
    JSON_HAS(f, 0, "\"malformed\":true");
    fx_reset(f);
    b = mm[0];
    b.b[28 + 12 + 3] = 0xF0; /* proposal length beyond the SA */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_payload"), 1);
    fx_reset(f);
    b = mm[0];
    b.b[28 + 12 + 8 + 3] = 5; /* transform length below its header */
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_payload"), 1);
    fx_reset(f);
    b = mm[0];
    b.b[28 + 3] = 2; /* payload length below the generic header */
    for (int i = 0; i < 10; i++) DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(f->rec.nanomalies, 4); /* capped */
    assert_int_equal(f->rec.ntxns, 9);      /* each a retransmission of the last */
    /* Header length larger than the datagram: the payloads present are still decoded. */
    fx_reset(f);
    b = mm[0];
    b.b[27] = (uint8_t)(b.b[27] + 8);
    DATAGRAM_BUF(f, C2S, &b);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ike.invalid_length"), 1);
    assert_string_equal(anomaly_detail(f, "ike.invalid_length"), "length beyond datagram");
    flow_end(f);
    JSON_HAS(f, 0, "\"payloads\":[\"sa\",\"vendor_id\",\"vendor_id\"]");
}

/* Cutting never changes what an uncut conversation gives (datagrams are whole; the fixture's
 * split check is for streams), so instead: the same conversation twice gives the same records,
 * and every request is answered once. */
static void test_conversation_repeatable(void **ts)
{
    struct fx *f = *ts;
    build_v2();
    struct msg m[6];
    v2_conv(m);
    char *a = malloc(DIGEST_MAX), *b = malloc(DIGEST_MAX);
    for (int round = 0; round < 2; round++) {
        fx_reset(f);
        for (int k = 0; k < 6; k++) fx_datagram(f, m[k].dir, m[k].b, m[k].n);
        flow_end(f);
        digest(f, round ? b : a, DIGEST_MAX);
    }
    assert_string_equal(a, b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_v1_main_mode),
        FX_TEST(test_v1_offer_alone_not_judged),
        FX_TEST(test_v1_aggressive_psk),
        FX_TEST(test_v2_sa_init_auth),
        FX_TEST(test_v2_weak_selection),
        FX_TEST(test_v2_windows_and_errors),
        FX_TEST(test_natt_marker_esp_keepalive),
        FX_TEST(test_probe_refuses_others),
        FX_TEST(test_truncated_every_offset),
        FX_TEST(test_lying_lengths),
        FX_TEST(test_conversation_repeatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
