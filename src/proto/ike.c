/* IKE parser: ISAKMP / IKEv1 and IKEv2, UDP 500 and 4500 (NAT traversal).
 *
 * Specifications:
 *   [2408] RFC 2408 ISAKMP: s.3.1 header, s.3.2 generic payload header, s.3.4-3.6 SA, proposal
 *          and transform payloads, s.3.7 KE, s.3.8 ID, s.3.14 notify, s.3.16 vendor id.
 *   [2407] RFC 2407 IPsec DOI: s.4.2 situation, s.4.5 attributes, s.4.6.2 ID payload.
 *   [2409] RFC 2409 IKEv1: s.5 exchanges (main mode 6 messages, aggressive mode 3, quick mode
 *          3), Appendix A attribute classes and values.
 *   [7296] RFC 7296 IKEv2: s.3.1 header (flags I, V, R), s.3.2 payloads, s.3.3 SA / proposal /
 *          transform substructures, s.3.4 KE, s.3.10 notify, s.3.14 encrypted payload, s.2.2
 *          message ids (a response has the request's id and the R flag).
 *   [3947] RFC 3947 / [3948] RFC 3948 NAT traversal: on UDP 4500 an IKE message follows a
 *          4-byte zero non-ESP marker; ESP-in-UDP starts with its non-zero SPI; a 1-byte 0xFF
 *          datagram is a NAT keepalive.
 *   Algorithm verdicts: RFC 8247 (IKEv2), RFC 8221 (ESP), RFC 9395 (IKEv1 deprecated); the
 *   tables are in ike_tables.c.
 *
 * Header ([2408] s.3.1, [7296] s.3.1, big-endian, 28 bytes):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    8 initiator SPI (cookie), never zero
 *        8    8 responder SPI (zero in the first message of an exchange that creates the SA)
 *       16    1 next payload (type of the first payload)
 *       17    1 major version (4 bits) | minor version (4 bits): 0x10 IKEv1, 0x20 IKEv2
 *       18    1 exchange type
 *       19    1 flags: v1 E(ncryption) 0x01, C(ommit) 0x02, A(uthentication only) 0x04;
 *               v2 I(nitiator) 0x08, V(ersion) 0x10, R(esponse) 0x20
 *       20    4 message id
 *       24    4 length of the whole message, header included
 *
 * Payloads follow as a chain: next payload (1), critical bit / reserved (1), length (2, header
 * included), body. An IKEv1 message with the E flag is encrypted after the header; in IKEv2 the
 * Encrypted (SK, 46) or Encrypted Fragment (SKF, 53) payload holds the rest: neither is
 * decrypted, the record says "encrypted".
 *
 * Pairing. IKEv2 ([7296] s.2.2): a request (R clear) waits, keyed by initiator SPI, message id
 * and exchange type, for the response (R set) of the other party: the request's I flag is the
 * opposite of the response's. IKEv1 has no response flag; from [2409] s.5 every exchange is
 * started by one party and its messages alternate. So the first message seen of an exchange
 * (initiator SPI, message id, exchange type) names the exchange's initiator: its messages are
 * requests, each answered by the next message from the other side (main mode: 1+2, 3+4, 5+6).
 * The third message of aggressive and quick mode closes the exchange and is answered by none:
 * once an aggressive or quick mode exchange has had a reply, a further message from its
 * initiator is a record alone. Informational exchanges (v1 type 5) are one-way: a record alone.
 * A message from the exchange's responder with no request waiting (a retransmitted reply, or a
 * capture that starts mid-exchange) is a response-only record. Retransmitted requests flush the
 * earlier copy as unanswered.
 *
 * Weakness anomalies are judged on what the responder selected, once per flow each: the SA
 * payload of an IKEv2 response (IKE_SA_INIT; later ones are encrypted) and its KE group, and
 * the SA payload of an IKEv1 phase-1 message (message id 0) that carries a responder cookie
 * (main or aggressive mode message 2: the initiator's first message has a zero one). IKEv1
 * itself is `ike.weak_version` once the responder answers in it (a non-zero responder cookie):
 * RFC 9395 deprecates IKEv1, and an operator wants to see the VPNs that still use it.
 *
 * On a NAT-traversal flow (its IKE messages carry the non-ESP marker), datagrams without the
 * marker are ESP-in-UDP and 1-byte 0xFF datagrams keepalives: they are counted, and the counts
 * are one `esp_in_udp` record at the end of the flow.
 *
 * No identity facts: IKE IDs name a user or a tunnel endpoint's credential, not a device. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/emit.h"
#include "proto/ike_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define IKE_PORT 500
#define IKE_NATT_PORT 4500
#define IKE_HDR_LEN 28
#define IKE_MARKER_LEN 4

/* What one message keeps: enough for real SA offers (a few proposals of a few transforms). */
#define IKE_MAX_PAYLOADS 24
#define IKE_MAX_PROPOSALS 8
#define IKE_MAX_XFORMS 32
#define IKE_MAX_NOTIFIES 8
#define IKE_MAX_VIDS 8
#define IKE_VID_KEEP 20
#define IKE_MAX_IDS 2
#define IKE_ID_KEEP 64
#define IKE_MAX_LIFE 2
/* Requests in flight per flow (IKEv2 windows are small; IKEv1 runs a few quick modes). */
#define IKE_QUEUE_MAX 6
#define IKE_EXCH_MAX 8
#define IKE_INVALID_MAX 4 /* ike.invalid_* anomalies per flow */

/* Header flags ([2408] s.3.1, [7296] s.3.1). */
#define IKE_V1_ENCRYPTED 0x01
#define IKE_V2_INITIATOR 0x08
#define IKE_V2_RESPONSE 0x20
#define IKE_V1_FLAGS 0x07
#define IKE_V2_FLAGS 0x38

enum {
    IKE_V1_INFORMATIONAL = 5,
    IKE_V1_AGGRESSIVE = 4,
    IKE_V1_QUICK = 32,
    IKE_V1_PL_SA = 1, IKE_V1_PL_KE = 4, IKE_V1_PL_ID = 5, IKE_V1_PL_NOTIFY = 11,
    IKE_V1_PL_VID = 13,
    IKE_V2_PL_SA = 33, IKE_V2_PL_KE = 34, IKE_V2_PL_IDI = 35, IKE_V2_PL_IDR = 36,
    IKE_V2_PL_NOTIFY = 41, IKE_V2_PL_VID = 43, IKE_V2_PL_SK = 46, IKE_V2_PL_SKF = 53,
    IKE_PROTO_ISAKMP = 1,
    IKE_NOTIFY_ERROR_MAX = 16383, /* types below 16384 are errors ([2408] s.3.14.1, [7296]) */
};

/* IKEv1 attribute classes ([2409] App. A) and IPsec DOI attributes ([2407] s.4.5). */
enum {
    V1A_ENCR = 1, V1A_HASH = 2, V1A_AUTH = 3, V1A_GROUP = 4, V1A_LIFE_TYPE = 11,
    V1A_LIFE_DUR = 12, V1A_PRF = 13, V1A_KEY_LEN = 14,
    IPSA_LIFE_TYPE = 1, IPSA_LIFE_DUR = 2, IPSA_GROUP = 3, IPSA_AUTH = 5, IPSA_KEY_LEN = 6,
    V2A_KEY_LEN = 14,
};

/* Problems a message can have, as anomaly bits. */
enum {
    IKE_BAD_HEADER = 1u << 0,
    IKE_BAD_LENGTH = 1u << 1,
    IKE_BAD_PAYLOAD = 1u << 2,
};

/* Weakness anomalies, once per flow each. */
enum {
    IKE_WEAK_DH = 1u << 0,
    IKE_WEAK_ENCR = 1u << 1,
    IKE_WEAK_INTEG = 1u << 2,
    IKE_WEAK_AGGR = 1u << 3,
    IKE_WEAK_VERSION = 1u << 4,
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct ike_hdr {
    uint8_t ispi[8], rspi[8];
    uint8_t np, version, exch, flags;
    uint32_t msgid, length;
};

/* One transform. IKEv2: type and id (+ key length). IKEv1: transform number and id, and the
 * attributes of the phase-1 (ISAKMP) or phase-2 (IPsec DOI) transform; 0 means absent. */
struct ike_xform {
    uint8_t num, type;
    uint16_t id, key_len;
    uint16_t encr, hash, auth, group, prf; /* v1; for AH/ESP `hash` is the auth algorithm */
    uint8_t nlife;
    uint8_t life_type[IKE_MAX_LIFE];
    uint32_t life_dur[IKE_MAX_LIFE];
};

struct ike_prop {
    uint8_t num, proto, spi_len, first_xf, nxf;
    uint8_t spi[8];
};

struct ike_notify {
    uint16_t type;
    uint8_t proto;
};

struct ike_vid {
    uint16_t len;
    uint8_t b[IKE_VID_KEEP];
};

/* ID types that name someone, the same numbers in IKEv1 ([2407] s.4.6.2.1) and IKEv2
 * ([7296] s.3.5) */
#define IKE_ID_FQDN 2
#define IKE_ID_USER_FQDN 3
#define IKE_ID_KEY_ID 11

struct ike_id {
    uint8_t type, proto;
    uint16_t port, len; /* len: bytes of data kept in b */
    bool cut;
    uint8_t b[IKE_ID_KEEP];
};

struct ike_msg {
    struct ike_hdr h;
    uint32_t wire_len; /* bytes after the marker */
    uint8_t dir;       /* enum qw_dir it was sent in */
    bool nat_t, encrypted, truncated, has_sa, has_ke;
    uint16_t ke_group;
    uint8_t npl, nprop, nxf, nntf, nvid, nid;
    bool more_pl, more_prop, more_xf, more_ntf, more_vid;
    uint8_t pl[IKE_MAX_PAYLOADS];
    struct ike_prop prop[IKE_MAX_PROPOSALS];
    struct ike_xform xf[IKE_MAX_XFORMS];
    struct ike_notify ntf[IKE_MAX_NOTIFIES];
    struct ike_vid vid[IKE_MAX_VIDS];
    struct ike_id id[IKE_MAX_IDS];
};

static bool ike_v1(const struct ike_msg *m)
{
    return m->h.version == 0x10;
}

static uint8_t ike_major(const struct ike_hdr *h)
{
    return (uint8_t)(h->version >> 4);
}

static struct ike_table ike_exchanges_of(uint8_t version)
{
    return version == 0x10 ? ike_v1_exchanges : ike_v2_exchanges;
}

static struct ike_table ike_payloads_of(uint8_t version)
{
    return version == 0x10 ? ike_v1_payloads : ike_v2_payloads;
}

/* A 4-byte zero non-ESP marker ([3948] s.2.2) before the IKE header. */
static bool ike_has_marker(const uint8_t *d, size_t n)
{
    return n >= IKE_MARKER_LEN && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0;
}

static bool ike_header(struct qw_cursor *c, struct ike_hdr *h)
{
    qw_cur_bytes(c, h->ispi, 8);
    qw_cur_bytes(c, h->rspi, 8);
    h->np = qw_cur_u8(c);
    h->version = qw_cur_u8(c);
    h->exch = qw_cur_u8(c);
    h->flags = qw_cur_u8(c);
    h->msgid = qw_cur_be32(c);
    h->length = qw_cur_be32(c);
    return !c->err;
}

static bool ike_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

/* What is wrong with a header, or NULL: version 1.0 or 2.0, an exchange and a first payload
 * known for that version, no reserved flag, a non-zero initiator SPI. */
static const char *ike_header_problem(const struct ike_hdr *h)
{
    if (h->version != 0x10 && h->version != 0x20) return "version";
    if (ike_zero(h->ispi, 8)) return "zero initiator spi";
    if (!ike_code_name(ike_exchanges_of(h->version), h->exch)) return "exchange type";
    if (h->np != 0 && !ike_code_name(ike_payloads_of(h->version), h->np)) return "next payload";
    if (h->flags & ~(h->version == 0x10 ? IKE_V1_FLAGS : IKE_V2_FLAGS)) return "reserved flags";
    return NULL;
}

/* ---- Payload bodies ------------------------------------------------------------------------ */

/* One data attribute ([2408] s.3.3, [7296] s.3.3.5): AF bit set = 2-byte value (TV), else a
 * length and a value (TLV; values longer than 4 bytes are kept as 0xFFFFFFFF). */
static bool ike_attr(struct qw_cursor *c, uint16_t *type, uint32_t *val)
{
    uint16_t t = qw_cur_be16(c);
    *type = t & 0x7FFF;
    if (t & 0x8000) {
        *val = qw_cur_be16(c);
        return !c->err;
    }
    uint16_t l = qw_cur_be16(c);
    const uint8_t *p = qw_cur_take(c, l);
    if (!p) return false;
    *val = 0;
    if (l > 4) *val = 0xFFFFFFFFu;
    else
        for (uint16_t i = 0; i < l; i++) *val = *val << 8 | p[i];
    return true;
}

static void ike_life(struct ike_xform *x, bool is_type, uint32_t v)
{
    if (is_type) {
        if (x->nlife < IKE_MAX_LIFE) x->life_type[x->nlife++] = (uint8_t)v;
    } else if (x->nlife > 0) {
        x->life_dur[x->nlife - 1] = v;
    }
}

/* IKEv1 phase-1 transform attributes ([2409] App. A). */
static void ike_v1_isakmp_attr(struct ike_xform *x, uint16_t t, uint32_t v)
{
    switch (t) {
    case V1A_ENCR: x->encr = (uint16_t)v; break;
    case V1A_HASH: x->hash = (uint16_t)v; break;
    case V1A_AUTH: x->auth = (uint16_t)v; break;
    case V1A_GROUP: x->group = (uint16_t)v; break;
    case V1A_PRF: x->prf = (uint16_t)v; break;
    case V1A_KEY_LEN: x->key_len = (uint16_t)v; break;
    case V1A_LIFE_TYPE: ike_life(x, true, v); break;
    case V1A_LIFE_DUR: ike_life(x, false, v); break;
    default: break;
    }
}

/* IKEv1 phase-2 (AH, ESP, IPComp) transform attributes ([2407] s.4.5). */
static void ike_v1_ipsec_attr(struct ike_xform *x, uint16_t t, uint32_t v)
{
    switch (t) {
    case IPSA_GROUP: x->group = (uint16_t)v; break;
    case IPSA_AUTH: x->hash = (uint16_t)v; break;
    case IPSA_KEY_LEN: x->key_len = (uint16_t)v; break;
    case IPSA_LIFE_TYPE: ike_life(x, true, v); break;
    case IPSA_LIFE_DUR: ike_life(x, false, v); break;
    default: break;
    }
}

/* A transform's own header and attributes: v1 number, id (1 byte), 2 reserved; v2 type, 1
 * reserved, id (2 bytes). */
static bool ike_transform(struct qw_cursor *t, bool v1, uint8_t proto, struct ike_xform *x)
{
    memset(x, 0, sizeof *x);
    if (v1) {
        x->num = qw_cur_u8(t);
        x->id = qw_cur_u8(t);
        qw_cur_skip(t, 2);
    } else {
        x->type = qw_cur_u8(t);
        qw_cur_skip(t, 1);
        x->id = qw_cur_be16(t);
    }
    while (!t->err && qw_cur_left(t) > 0) {
        uint16_t at;
        uint32_t av;
        if (!ike_attr(t, &at, &av)) return false;
        if (!v1) {
            if (at == V2A_KEY_LEN) x->key_len = (uint16_t)av;
        } else if (proto == IKE_PROTO_ISAKMP) {
            ike_v1_isakmp_attr(x, at, av);
        } else {
            ike_v1_ipsec_attr(x, at, av);
        }
    }
    return !t->err;
}

/* The transforms of one proposal: each a generic header (last/next, reserved, length). */
static bool ike_transforms(struct qw_cursor *p, bool v1, struct ike_msg *m, struct ike_prop *pr)
{
    while (qw_cur_left(p) > 0) {
        uint8_t more = qw_cur_u8(p);
        qw_cur_skip(p, 1);
        uint16_t tlen = qw_cur_be16(p);
        if (p->err || tlen < 8 || (size_t)tlen - 4 > qw_cur_left(p)) return false;
        struct qw_cursor t = qw_cur_sub(p, (size_t)tlen - 4, NULL);
        struct ike_xform x;
        if (!ike_transform(&t, v1, pr ? pr->proto : 0, &x)) return false;
        if (pr && m->nxf < IKE_MAX_XFORMS) {
            m->xf[m->nxf++] = x;
            pr->nxf++;
        } else {
            m->more_xf = true;
        }
        if (more == 0) break;
    }
    return true;
}

/* Proposals ([2408] s.3.5, [7296] s.3.3.1): same layout in both versions. */
static bool ike_proposals(struct qw_cursor *b, bool v1, struct ike_msg *m)
{
    while (qw_cur_left(b) > 0) {
        uint8_t more = qw_cur_u8(b);
        qw_cur_skip(b, 1);
        uint16_t plen = qw_cur_be16(b);
        if (b->err || plen < 8 || (size_t)plen - 4 > qw_cur_left(b)) return false;
        struct qw_cursor p = qw_cur_sub(b, (size_t)plen - 4, NULL);
        struct ike_prop pr = {0};
        pr.num = qw_cur_u8(&p);
        pr.proto = qw_cur_u8(&p);
        pr.spi_len = qw_cur_u8(&p);
        qw_cur_skip(&p, 1); /* transform count: the chain's own ends are followed instead */
        const uint8_t *spi = qw_cur_take(&p, pr.spi_len);
        if (!spi) return false;
        memcpy(pr.spi, spi, pr.spi_len < 8 ? pr.spi_len : 8);
        pr.first_xf = m->nxf;
        struct ike_prop *slot = m->nprop < IKE_MAX_PROPOSALS ? &m->prop[m->nprop] : NULL;
        if (slot) *slot = pr;
        else m->more_prop = true;
        bool ok = ike_transforms(&p, v1, m, slot);
        if (slot) m->nprop++;
        if (!ok) return false;
        if (more == 0) break;
    }
    return true;
}

/* SA payload: v1 has DOI and situation first ([2407] s.4.6.1; only the IPsec DOI with
 * SIT_IDENTITY_ONLY has a known layout), v2 the proposals directly. */
static bool ike_sa(struct qw_cursor *b, bool v1, struct ike_msg *m)
{
    m->has_sa = true;
    if (v1) {
        uint32_t doi = qw_cur_be32(b), sit = qw_cur_be32(b);
        if (b->err) return false;
        if (doi != 1 || (sit & ~1u)) return true;
    }
    return ike_proposals(b, v1, m);
}

/* Notify: v1 DOI (4), protocol, SPI size, type ([2408] s.3.14); v2 protocol, SPI size, type. */
static bool ike_notify(struct qw_cursor *b, bool v1, struct ike_msg *m)
{
    if (v1) qw_cur_skip(b, 4);
    struct ike_notify n;
    n.proto = qw_cur_u8(b);
    qw_cur_skip(b, 1);
    n.type = qw_cur_be16(b);
    if (b->err) return false;
    if (m->nntf < IKE_MAX_NOTIFIES) m->ntf[m->nntf++] = n;
    else m->more_ntf = true;
    return true;
}

static void ike_vendor(struct qw_cursor *b, struct ike_msg *m)
{
    if (m->nvid >= IKE_MAX_VIDS) {
        m->more_vid = true;
        return;
    }
    struct ike_vid *v = &m->vid[m->nvid++];
    size_t n = qw_cur_left(b);
    v->len = (uint16_t)(n > IKE_VID_KEEP ? IKE_VID_KEEP : n);
    memcpy(v->b, qw_cur_ptr(b), v->len);
}

/* ID: v1 type, protocol, port ([2407] s.4.6.2); v2 type and 3 reserved bytes ([7296] s.3.5). */
static bool ike_ident(struct qw_cursor *b, bool v1, struct ike_msg *m)
{
    struct ike_id id = {0};
    id.type = qw_cur_u8(b);
    if (v1) {
        id.proto = qw_cur_u8(b);
        id.port = qw_cur_be16(b);
    } else {
        qw_cur_skip(b, 3);
    }
    if (b->err) return false;
    size_t n = qw_cur_left(b);
    id.cut = n > IKE_ID_KEEP;
    id.len = (uint16_t)(id.cut ? IKE_ID_KEEP : n);
    if (id.len) memcpy(id.b, qw_cur_ptr(b), id.len);
    if (m->nid < IKE_MAX_IDS) m->id[m->nid++] = id;
    return true;
}

/* One payload's body; false when it is malformed. */
static bool ike_payload(struct qw_cursor *b, uint8_t type, struct ike_msg *m)
{
    bool v1 = ike_v1(m);
    switch (type) {
    case IKE_V1_PL_SA:
    case IKE_V2_PL_SA: return ike_sa(b, v1, m);
    case IKE_V1_PL_NOTIFY:
    case IKE_V2_PL_NOTIFY: return ike_notify(b, v1, m);
    case IKE_V1_PL_VID:
    case IKE_V2_PL_VID: ike_vendor(b, m); return true;
    case IKE_V1_PL_ID:
    case IKE_V2_PL_IDI:
    case IKE_V2_PL_IDR: return ike_ident(b, v1, m);
    case IKE_V2_PL_KE:
        if (v1) return true;
        m->has_ke = true;
        m->ke_group = qw_cur_be16(b);
        return !b->err;
    default: return true;
    }
}

/* Payload numbers mean one thing per version: only the version's own are decoded. */
static bool ike_payload_of_version(uint8_t type, bool v1)
{
    return v1 ? type < 33 : type >= 33;
}

/* The payload chain; false when a payload header or body is malformed or cut. */
static bool ike_payload_chain(struct qw_cursor *c, struct ike_msg *m)
{
    bool v1 = ike_v1(m);
    uint8_t np = m->h.np;
    if (v1 && (m->h.flags & IKE_V1_ENCRYPTED)) {
        m->encrypted = true; /* everything after the header ([2408] s.3.1 E flag) */
        return true;
    }
    while (np != 0) {
        uint8_t next = qw_cur_u8(c);
        qw_cur_skip(c, 1);
        uint16_t plen = qw_cur_be16(c);
        if (c->err || plen < 4 || (size_t)plen - 4 > qw_cur_left(c)) return false;
        if (m->npl < IKE_MAX_PAYLOADS) m->pl[m->npl++] = np;
        else m->more_pl = true;
        struct qw_cursor b = qw_cur_sub(c, (size_t)plen - 4, NULL);
        if (!v1 && (np == IKE_V2_PL_SK || np == IKE_V2_PL_SKF)) {
            m->encrypted = true; /* its next payload names the first one inside ([7296] s.3.14) */
            return true;
        }
        if (ike_payload_of_version(np, v1) && !ike_payload(&b, np, m)) return false;
        np = next;
    }
    return true;
}

/* Decode one IKE message (after any marker) into m; returns IKE_BAD_* bits and sets *why for a
 * bad header. */
static unsigned ike_decode(const uint8_t *d, size_t n, bool marker, struct ike_msg *m,
                           const char **why)
{
    memset(m, 0, sizeof *m);
    m->nat_t = marker;
    m->wire_len = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
    struct qw_cursor c = qw_cursor_make(d, n);
    if (!ike_header(&c, &m->h)) {
        *why = "short header";
        return IKE_BAD_HEADER;
    }
    *why = ike_header_problem(&m->h);
    if (*why) return IKE_BAD_HEADER;
    unsigned bad = 0;
    if (m->h.length != n) bad |= IKE_BAD_LENGTH;
    size_t body = m->h.length >= IKE_HDR_LEN ? m->h.length - IKE_HDR_LEN : 0;
    struct qw_cursor b = qw_cur_sub(&c, body, NULL);
    if (!ike_payload_chain(&b, m)) bad |= IKE_BAD_PAYLOAD;
    m->truncated = bad != 0;
    return bad;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void ike_json_name(struct qw_json *j, const char *key, const char *name, uint32_t code)
{
    if (name) {
        qw_json_str(j, key, name);
        return;
    }
    char buf[24];
    int k = snprintf(buf, sizeof buf, "unknown_%u", code);
    qw_json_strn(j, key, buf, (size_t)k);
}

static const char *ike_algo_name(struct ike_algo_table t, uint32_t code)
{
    const struct ike_algo *a = ike_algo_find(t, code);
    return a ? a->name : NULL;
}

static void ike_json_flags(struct qw_json *j, const struct ike_msg *m)
{
    static const char *const v1_names[8] = {"encryption", "commit", "authentication_only"};
    static const char *const v2_names[8] = {[3] = "initiator", [4] = "version",
                                            [5] = "response"};
    const char *const *names = ike_v1(m) ? v1_names : v2_names;
    qw_json_u64(j, "flags", m->h.flags);
    qw_json_arr_begin(j, "flag_names");
    for (unsigned b = 0; b < 8; b++)
        if ((m->h.flags >> b & 1u) && names[b]) qw_json_str(j, NULL, names[b]);
    qw_json_arr_end(j);
}

static void ike_json_payloads(struct qw_json *j, const struct ike_msg *m)
{
    struct ike_table t = ike_payloads_of(m->h.version);
    qw_json_arr_begin(j, "payloads");
    for (size_t i = 0; i < m->npl; i++) ike_json_name(j, NULL, ike_code_name(t, m->pl[i]), m->pl[i]);
    qw_json_arr_end(j);
    qw_json_arr_begin(j, "payload_types");
    for (size_t i = 0; i < m->npl; i++) qw_json_u64(j, NULL, m->pl[i]);
    qw_json_arr_end(j);
}

static void ike_json_life(struct qw_json *j, const struct ike_xform *x)
{
    if (!x->nlife) return;
    qw_json_arr_begin(j, "life");
    for (size_t i = 0; i < x->nlife; i++) {
        qw_json_obj_begin(j, NULL);
        ike_json_name(j, "type", ike_code_name(ike_v1_life_types, x->life_type[i]),
                      x->life_type[i]);
        qw_json_u64(j, "duration", x->life_dur[i]);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void ike_json_algo(struct qw_json *j, const char *key, const char *id_key,
                          struct ike_algo_table t, uint16_t code)
{
    ike_json_name(j, key, ike_algo_name(t, code), code);
    qw_json_u64(j, id_key, code);
}

static void ike_json_v1_xform(struct qw_json *j, const struct ike_xform *x, uint8_t proto)
{
    qw_json_u64(j, "number", x->num);
    qw_json_u64(j, "id", x->id);
    if (proto == IKE_PROTO_ISAKMP) {
        if (x->encr) ike_json_algo(j, "encryption", "encryption_id", ike_v1_encr, x->encr);
        if (x->key_len) qw_json_u64(j, "key_length", x->key_len);
        if (x->hash) ike_json_algo(j, "hash", "hash_id", ike_v1_hash, x->hash);
        if (x->prf) qw_json_u64(j, "prf_id", x->prf);
        if (x->auth) {
            ike_json_name(j, "auth_method", ike_code_name(ike_v1_auth_methods, x->auth), x->auth);
            qw_json_u64(j, "auth_method_id", x->auth);
        }
    } else {
        if (x->key_len) qw_json_u64(j, "key_length", x->key_len);
        if (x->hash) qw_json_u64(j, "auth_algorithm_id", x->hash);
    }
    if (x->group) ike_json_algo(j, "dh_group_name", "dh_group", ike_dh_groups, x->group);
    ike_json_life(j, x);
}

static struct ike_algo_table ike_v2_algos_of(uint8_t type)
{
    switch (type) {
    case 1: return ike_v2_encr;
    case 2: return ike_v2_prf;
    case 3: return ike_v2_integ;
    case 4: return ike_dh_groups;
    default: return (struct ike_algo_table){NULL, 0};
    }
}

static void ike_json_v2_xform(struct qw_json *j, const struct ike_xform *x)
{
    ike_json_name(j, "type", ike_code_name(ike_v2_transform_types, x->type), x->type);
    qw_json_u64(j, "type_id", x->type);
    qw_json_u64(j, "id", x->id);
    const char *name = ike_algo_name(ike_v2_algos_of(x->type), x->id);
    if (x->type == 5) name = x->id == 0 ? "no_esn" : x->id == 1 ? "esn" : NULL;
    if (x->type >= 6 && x->type <= 12) name = ike_algo_name(ike_dh_groups, x->id);
    ike_json_name(j, "name", name, x->id);
    if (x->key_len) qw_json_u64(j, "key_length", x->key_len);
}

static void ike_json_proposals(struct qw_json *j, const struct ike_msg *m)
{
    qw_json_arr_begin(j, "proposals");
    for (size_t i = 0; i < m->nprop; i++) {
        const struct ike_prop *p = &m->prop[i];
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "number", p->num);
        ike_json_name(j, "protocol", ike_code_name(ike_protocols, p->proto), p->proto);
        if (p->spi_len) qw_json_hex(j, "spi", p->spi, p->spi_len < 8 ? p->spi_len : 8);
        qw_json_arr_begin(j, "transforms");
        for (size_t k = 0; k < p->nxf; k++) {
            qw_json_obj_begin(j, NULL);
            if (ike_v1(m)) ike_json_v1_xform(j, &m->xf[p->first_xf + k], p->proto);
            else ike_json_v2_xform(j, &m->xf[p->first_xf + k]);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void ike_json_notifies(struct qw_json *j, const struct ike_msg *m)
{
    struct ike_table t = ike_v1(m) ? ike_v1_notifies : ike_v2_notifies;
    qw_json_arr_begin(j, "notifies");
    for (size_t i = 0; i < m->nntf; i++) {
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "type", m->ntf[i].type);
        ike_json_name(j, "name", ike_code_name(t, m->ntf[i].type), m->ntf[i].type);
        if (m->ntf[i].type > 0 && m->ntf[i].type <= IKE_NOTIFY_ERROR_MAX)
            qw_json_bool(j, "error", true);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void ike_json_vids(struct qw_json *j, const struct ike_msg *m)
{
    qw_json_arr_begin(j, "vendor_ids");
    for (size_t i = 0; i < m->nvid; i++) {
        qw_json_obj_begin(j, NULL);
        qw_json_hex(j, "id", m->vid[i].b, m->vid[i].len);
        const char *name = ike_vendor_name(m->vid[i].b, m->vid[i].len);
        if (name) qw_json_str(j, "name", name);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

/* An ID's value as text where it is an address or a name ([2407] s.4.6.2.1), else hex. */
static void ike_json_id_value(struct qw_json *j, const struct ike_id *id)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], out[2 * INET6_ADDRSTRLEN + 2];
    int fam = 0;
    size_t alen = 0;
    switch (id->type) {
    case 1: case 4: case 7: fam = AF_INET; alen = 4; break;      /* address, subnet, range */
    case 5: case 6: case 8: fam = AF_INET6; alen = 16; break;
    case 2: case 3: qw_json_strn(j, "value", id->b, id->len); return; /* fqdn, user_fqdn */
    default: qw_json_hex(j, "value", id->b, id->len); return;
    }
    bool pair = id->type != 1 && id->type != 5;
    if (id->len != (pair ? 2 * alen : alen) || id->cut) {
        qw_json_hex(j, "value", id->b, id->len);
        return;
    }
    inet_ntop(fam, id->b, a, sizeof a);
    if (!pair) {
        qw_json_str(j, "value", a);
        return;
    }
    inet_ntop(fam, id->b + alen, b, sizeof b);
    bool subnet = id->type == 4 || id->type == 6;
    int k = snprintf(out, sizeof out, "%s%c%s", a, subnet ? '/' : '-', b);
    qw_json_strn(j, "value", out, (size_t)k);
}

static void ike_json_ids(struct qw_json *j, const struct ike_msg *m)
{
    struct ike_table t = ike_v1(m) ? ike_v1_id_types : ike_v2_id_types;
    qw_json_arr_begin(j, "ids");
    for (size_t i = 0; i < m->nid; i++) {
        const struct ike_id *id = &m->id[i];
        qw_json_obj_begin(j, NULL);
        ike_json_name(j, "type", ike_code_name(t, id->type), id->type);
        qw_json_u64(j, "type_id", id->type);
        if (ike_v1(m) && (id->proto || id->port)) {
            qw_json_u64(j, "ip_protocol", id->proto);
            qw_json_u64(j, "port", id->port);
        }
        ike_json_id_value(j, id);
        if (id->cut) qw_json_bool(j, "cut", true);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void ike_json_msg(struct qw_json *j, const char *key, const struct ike_msg *m)
{
    qw_json_obj_begin(j, key);
    ike_json_flags(j, m);
    qw_json_u64(j, "length", m->h.length);
    if (m->nat_t) qw_json_bool(j, "nat_t_marker", true);
    if (m->encrypted) qw_json_bool(j, "encrypted", true);
    ike_json_payloads(j, m);
    if (m->nprop) ike_json_proposals(j, m);
    if (m->has_ke) ike_json_algo(j, "ke_dh_group_name", "ke_dh_group", ike_dh_groups, m->ke_group);
    if (m->nntf) ike_json_notifies(j, m);
    if (m->nvid) ike_json_vids(j, m);
    if (m->nid) ike_json_ids(j, m);
    if (m->more_pl || m->more_prop || m->more_xf || m->more_ntf || m->more_vid)
        qw_json_bool(j, "lists_cut", true);
    if (m->truncated) qw_json_bool(j, "malformed", true);
    qw_json_str(j, "direction", m->dir == QW_DIR_TO_SERVER ? "to_server" : "to_client");
    qw_json_obj_end(j);
}

struct ike_view {
    const struct ike_msg *req, *rsp;
    uint64_t esp[2], keepalives; /* the esp_in_udp record */
};

static void ike_write_json(struct qw_json *j, const void *arg)
{
    const struct ike_view *v = arg;
    const struct ike_msg *k = v->req ? v->req : v->rsp;
    const struct ike_msg *last = v->rsp ? v->rsp : v->req;
    if (!k) {
        qw_json_obj_begin(j, "esp_in_udp");
        qw_json_u64(j, "packets_to_server", v->esp[0]);
        qw_json_u64(j, "packets_to_client", v->esp[1]);
        qw_json_u64(j, "nat_keepalives", v->keepalives);
        qw_json_obj_end(j);
        return;
    }
    qw_json_u64(j, "version", ike_major(&k->h));
    qw_json_u64(j, "exchange_type", k->h.exch);
    ike_json_name(j, "exchange", ike_code_name(ike_exchanges_of(k->h.version), k->h.exch),
                  k->h.exch);
    qw_json_hex(j, "initiator_spi", k->h.ispi, 8);
    qw_json_hex(j, "responder_spi", last->h.rspi, 8);
    qw_json_u64(j, "message_id", k->h.msgid);
    if (v->req) ike_json_msg(j, "request", v->req);
    if (v->rsp) ike_json_msg(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct ike_slot {
    bool used;
    uint8_t dir;
    uint32_t seq;
    uint64_t ts_ns;
    struct ike_msg msg;
};

/* An IKEv1 exchange seen on the flow: who started it, and whether it has been answered. */
struct ike_exch {
    bool used, answered;
    uint8_t init_dir, exch;
    uint8_t ispi[8];
    uint32_t msgid, seq;
};

struct ike_state {
    bool natt;
    uint8_t weak_done, invalid_n;
    uint32_t next_seq;
    uint64_t esp[2], keepalives, esp_first_ns;
    struct ike_slot q[IKE_QUEUE_MAX];
    struct ike_exch ex[IKE_EXCH_MAX];
    struct ike_msg cur;
    struct ike_view view;
};

static bool ike_msg_error(const struct ike_msg *m)
{
    for (size_t i = 0; m && i < m->nntf; i++)
        if (m->ntf[i].type > 0 && m->ntf[i].type <= IKE_NOTIFY_ERROR_MAX) return true;
    return false;
}

static void ike_emit(struct qw_pctx *ctx, struct ike_state *st, const struct ike_msg *req,
                     uint64_t req_ns, const struct ike_msg *rsp, uint64_t rsp_ns)
{
    const struct ike_msg *k = req ? req : rsp;
    const char *name = ike_code_name(ike_exchanges_of(k->h.version), k->h.exch);
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = k->h.exch;
    t.function_name = name ? name : "unknown";
    t.ops = QW_OP_SESSION | QW_OP_AUTH;
    t.error = ike_msg_error(req) || ike_msg_error(rsp);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = ike_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static bool ike_same_exchange(const struct ike_hdr *a, const struct ike_hdr *b)
{
    return a->version == b->version && a->exch == b->exch && a->msgid == b->msgid &&
           memcmp(a->ispi, b->ispi, 8) == 0;
}

static struct ike_slot *ike_oldest(struct ike_state *st)
{
    struct ike_slot *best = NULL;
    for (size_t i = 0; i < IKE_QUEUE_MAX; i++)
        if (st->q[i].used && (!best || (int32_t)(st->q[i].seq - best->seq) < 0)) best = &st->q[i];
    return best;
}

static void ike_flush(struct qw_pctx *ctx, struct ike_state *st, struct ike_slot *s)
{
    ike_emit(ctx, st, &s->msg, s->ts_ns, NULL, 0);
    s->used = false;
}

/* The request waiting for `m`'s reply: same exchange, sent the other way; in IKEv2 a request
 * (R clear) with the opposite I flag. */
static struct ike_slot *ike_find_request(struct ike_state *st, const struct ike_msg *m,
                                         enum qw_dir dir)
{
    for (size_t i = 0; i < IKE_QUEUE_MAX; i++) {
        struct ike_slot *s = &st->q[i];
        if (!s->used || s->dir == dir || !ike_same_exchange(&s->msg.h, &m->h)) continue;
        if (!ike_v1(m) && ((s->msg.h.flags ^ m->h.flags) & IKE_V2_INITIATOR) == 0) continue;
        return s;
    }
    return NULL;
}

static void ike_queue(struct qw_pctx *ctx, struct ike_state *st, enum qw_dir dir,
                      const struct ike_msg *m)
{
    struct ike_slot *s = NULL;
    for (size_t i = 0; i < IKE_QUEUE_MAX; i++) /* a retransmission: the earlier went unanswered */
        if (st->q[i].used && st->q[i].dir == dir && ike_same_exchange(&st->q[i].msg.h, &m->h))
            ike_flush(ctx, st, &st->q[i]);
    for (size_t i = 0; i < IKE_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        s = ike_oldest(st);
        ike_flush(ctx, st, s);
    }
    s->used = true;
    s->dir = (uint8_t)dir;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    s->msg = *m;
}

/* The reply `m` answers a waiting request, or is a record alone. Returns whether it paired. */
static bool ike_answer(struct qw_pctx *ctx, struct ike_state *st, enum qw_dir dir,
                       const struct ike_msg *m)
{
    struct ike_slot *s = ike_find_request(st, m, dir);
    if (s) {
        ike_emit(ctx, st, &s->msg, s->ts_ns, m, qw_pctx_time(ctx));
        s->used = false;
        return true;
    }
    ike_emit(ctx, st, NULL, 0, m, qw_pctx_time(ctx));
    return false;
}

/* The IKEv1 exchange `m` belongs to; a new one is started by `dir` (the oldest is forgotten
 * when the table is full). */
static struct ike_exch *ike_exchange(struct ike_state *st, const struct ike_msg *m,
                                     enum qw_dir dir)
{
    struct ike_exch *old = NULL;
    for (size_t i = 0; i < IKE_EXCH_MAX; i++) {
        struct ike_exch *x = &st->ex[i];
        if (x->used && x->exch == m->h.exch && x->msgid == m->h.msgid &&
            memcmp(x->ispi, m->h.ispi, 8) == 0)
            return x;
    }
    for (size_t i = 0; i < IKE_EXCH_MAX && !old; i++)
        if (!st->ex[i].used) old = &st->ex[i];
    if (!old) {
        old = &st->ex[0];
        for (size_t i = 1; i < IKE_EXCH_MAX; i++)
            if ((int32_t)(st->ex[i].seq - old->seq) < 0) old = &st->ex[i];
    }
    memset(old, 0, sizeof *old);
    old->used = true;
    old->init_dir = (uint8_t)dir;
    old->exch = m->h.exch;
    old->msgid = m->h.msgid;
    memcpy(old->ispi, m->h.ispi, 8);
    old->seq = st->next_seq++;
    return old;
}

static void ike_pair_v1(struct qw_pctx *ctx, struct ike_state *st, enum qw_dir dir,
                        const struct ike_msg *m)
{
    if (m->h.exch == IKE_V1_INFORMATIONAL) {
        ike_emit(ctx, st, m, qw_pctx_time(ctx), NULL, 0);
        return;
    }
    struct ike_exch *x = ike_exchange(st, m, dir);
    if (dir != x->init_dir) {
        if (ike_answer(ctx, st, dir, m)) x->answered = true;
        return;
    }
    bool three = m->h.exch == IKE_V1_AGGRESSIVE || m->h.exch == IKE_V1_QUICK;
    if (three && x->answered) {
        ike_emit(ctx, st, m, qw_pctx_time(ctx), NULL, 0); /* the closing third message */
        return;
    }
    ike_queue(ctx, st, dir, m);
}

static void ike_pair_v2(struct qw_pctx *ctx, struct ike_state *st, enum qw_dir dir,
                        const struct ike_msg *m)
{
    if (m->h.flags & IKE_V2_RESPONSE) ike_answer(ctx, st, dir, m);
    else ike_queue(ctx, st, dir, m);
}

/* ---- Anomalies ----------------------------------------------------------------------------- */

static void ike_invalid(struct qw_pctx *ctx, struct ike_state *st, const char *name,
                        const char *detail)
{
    if (st->invalid_n >= IKE_INVALID_MAX) return;
    st->invalid_n++;
    qw_emit_anomaly(ctx, name, detail);
}

static void ike_weak(struct qw_pctx *ctx, struct ike_state *st, unsigned bit, const char *name,
                     const char *algo, const char *why)
{
    if (st->weak_done & bit) return;
    st->weak_done |= (uint8_t)bit;
    char detail[160];
    snprintf(detail, sizeof detail, "%s (%s)", algo, why);
    qw_emit_anomaly(ctx, name, detail);
}

/* An algorithm the responder selected: an anomaly when its table marks it weak. */
static void ike_judge_algo(struct qw_pctx *ctx, struct ike_state *st, struct ike_algo_table t,
                           uint16_t code, unsigned bit, const char *name)
{
    const struct ike_algo *a = ike_algo_find(t, code);
    if (a && a->weak) ike_weak(ctx, st, bit, name, a->name, a->weak);
}

static void ike_judge_v2_xform(struct qw_pctx *ctx, struct ike_state *st,
                               const struct ike_xform *x)
{
    switch (x->type) {
    case 1: ike_judge_algo(ctx, st, ike_v2_encr, x->id, IKE_WEAK_ENCR, "ike.weak_encryption"); break;
    case 2: ike_judge_algo(ctx, st, ike_v2_prf, x->id, IKE_WEAK_INTEG, "ike.weak_integrity"); break;
    case 3: ike_judge_algo(ctx, st, ike_v2_integ, x->id, IKE_WEAK_INTEG, "ike.weak_integrity"); break;
    case 4: ike_judge_algo(ctx, st, ike_dh_groups, x->id, IKE_WEAK_DH, "ike.weak_dh_group"); break;
    default: break;
    }
}

static void ike_judge_v1_xform(struct qw_pctx *ctx, struct ike_state *st, const struct ike_msg *m,
                               const struct ike_xform *x)
{
    if (x->encr) ike_judge_algo(ctx, st, ike_v1_encr, x->encr, IKE_WEAK_ENCR, "ike.weak_encryption");
    if (x->hash) ike_judge_algo(ctx, st, ike_v1_hash, x->hash, IKE_WEAK_INTEG, "ike.weak_integrity");
    if (x->group) ike_judge_algo(ctx, st, ike_dh_groups, x->group, IKE_WEAK_DH, "ike.weak_dh_group");
    /* Aggressive mode with a pre-shared key: the responder's second message carries a hash
     * keyed by the PSK over values a passive observer sees, so the key can be guessed offline
     * (RFC 2409 s.5.4; the reason RFC 9395 s.2 gives against it). */
    if (m->h.exch == IKE_V1_AGGRESSIVE && ike_v1_auth_is_psk(x->auth)) {
        const char *auth = ike_code_name(ike_v1_auth_methods, x->auth);
        ike_weak(ctx, st, IKE_WEAK_AGGR, "ike.weak_aggressive_mode", auth,
                 "PSK hash sent in clear, crackable offline");
    }
}

/* Whether `m` carries the responder's selection (see the banner). */
static bool ike_is_selection(const struct ike_msg *m)
{
    if (!m->has_sa || m->encrypted || m->nprop == 0) return false;
    if (ike_v1(m)) return m->h.msgid == 0 && !ike_zero(m->h.rspi, 8);
    return (m->h.flags & IKE_V2_RESPONSE) != 0;
}

static void ike_judge(struct qw_pctx *ctx, struct ike_state *st, const struct ike_msg *m)
{
    if (ike_v1(m) && !ike_zero(m->h.rspi, 8))
        ike_weak(ctx, st, IKE_WEAK_VERSION, "ike.weak_version", "ikev1", "RFC 9395 deprecated");
    if (!ike_v1(m) && (m->h.flags & IKE_V2_RESPONSE) && m->has_ke)
        ike_judge_algo(ctx, st, ike_dh_groups, m->ke_group, IKE_WEAK_DH, "ike.weak_dh_group");
    if (!ike_is_selection(m)) return;
    const struct ike_prop *p = &m->prop[0]; /* a responder returns the one proposal it chose */
    for (size_t k = 0; k < p->nxf; k++) {
        const struct ike_xform *x = &m->xf[p->first_xf + k];
        if (!ike_v1(m)) ike_judge_v2_xform(ctx, st, x);
        else if (p->proto == IKE_PROTO_ISAKMP) ike_judge_v1_xform(ctx, st, m, x);
    }
}

/* An initiator's identity sent in clear names who opens the tunnel: IKEv1 aggressive mode's
 * first message carries it (main mode and IKEv2 send it encrypted, so nothing is seen there).
 * Only the types that name someone: an FQDN, a user FQDN (an e-mail address) or a key id (the
 * group name of many remote-access gateways), when it is text. */
static void ike_name_user(struct qw_pctx *ctx, const struct ike_msg *m)
{
    for (size_t i = 0; i < m->nid; i++) {
        const struct ike_id *id = &m->id[i];
        if (id->type != IKE_ID_FQDN && id->type != IKE_ID_USER_FQDN && id->type != IKE_ID_KEY_ID)
            continue;
        if (!id->len || id->cut) continue;
        bool text = true;
        for (size_t k = 0; k < id->len; k++)
            if (id->b[k] < 0x20 || id->b[k] > 0x7e) text = false;
        if (text) qw_emit_session_user(ctx, "ike_id", (const char *)id->b, id->len);
        return;
    }
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void ike_count_esp(struct qw_pctx *ctx, struct ike_state *st, enum qw_dir dir)
{
    if (!st->esp[0] && !st->esp[1] && !st->keepalives) st->esp_first_ns = qw_pctx_time(ctx);
    st->esp[dir]++;
}

static void ike_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct ike_state *st = state;
    if (len == 1 && data[0] == 0xFF) { /* NAT keepalive ([3948] s.2.3) */
        if (!st->esp[0] && !st->esp[1] && !st->keepalives) st->esp_first_ns = qw_pctx_time(ctx);
        st->keepalives++;
        return;
    }
    bool marker = ike_has_marker(data, len);
    if (marker) {
        st->natt = true;
    } else if (st->natt && len >= 8) { /* ESP header: SPI and sequence number ([3948] s.2.1) */
        ike_count_esp(ctx, st, dir);
        return;
    }
    size_t off = marker ? IKE_MARKER_LEN : 0;
    struct ike_msg *m = &st->cur;
    const char *why = NULL;
    unsigned bad = ike_decode(data + off, len - off, marker, m, &why);
    m->dir = (uint8_t)dir;
    if (bad & IKE_BAD_HEADER) {
        ike_invalid(ctx, st, "ike.invalid_header", why);
        return;
    }
    if (bad & IKE_BAD_LENGTH)
        ike_invalid(ctx, st, "ike.invalid_length",
                    m->h.length > len - off ? "length beyond datagram" : "datagram beyond length");
    if (bad & IKE_BAD_PAYLOAD) {
        uint8_t last = m->npl ? m->pl[m->npl - 1] : m->h.np;
        ike_invalid(ctx, st, "ike.invalid_payload", ike_code_name(ike_payloads_of(m->h.version), last));
    }
    ike_judge(ctx, st, m);
    if (dir == QW_DIR_TO_SERVER) ike_name_user(ctx, m);
    if (ike_v1(m)) ike_pair_v1(ctx, st, dir, m);
    else ike_pair_v2(ctx, st, dir, m);
}

static void ike_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ike_state *st = state;
    struct ike_slot *s;
    while ((s = ike_oldest(st)) != NULL) ike_flush(ctx, st, s);
    if (!st->esp[0] && !st->esp[1] && !st->keepalives) return;
    st->view.req = st->view.rsp = NULL;
    st->view.esp[0] = st->esp[0];
    st->view.esp[1] = st->esp[1];
    st->view.keepalives = st->keepalives;
    struct qw_txn t = {0};
    t.has_request = true;
    t.function = 0;
    t.function_name = "esp_in_udp";
    t.ops = QW_OP_SESSION;
    t.request_ns = st->esp_first_ns ? st->esp_first_ns : 1;
    t.write_json = ike_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
}

/* Payload alone decides: an optional non-ESP marker, then a 28-byte header with a non-zero
 * initiator SPI, version 1.0 or 2.0, an exchange type and first payload known for that
 * version, no reserved flag, a length equal to the datagram's, and the message id the exchange
 * requires (0 for IKEv1 main and aggressive mode and IKEv2 IKE_SA_INIT, non-zero for quick
 * mode). ESP-in-UDP is never claimed: its SPI and sequence number look like noise. */
static enum qw_probe_result ike_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    size_t off = ike_has_marker(data, len) ? IKE_MARKER_LEN : 0;
    if (len - off < IKE_HDR_LEN) return QW_PROBE_NO;
    struct qw_cursor c = qw_cursor_make(data + off, len - off);
    struct ike_hdr h;
    if (!ike_header(&c, &h) || ike_header_problem(&h)) return QW_PROBE_NO;
    if (h.length != len - off) return QW_PROBE_NO;
    bool phase1 = h.version == 0x10 && (h.exch == 2 || h.exch == IKE_V1_AGGRESSIVE);
    if ((phase1 || (h.version == 0x20 && h.exch == 34)) && h.msgid != 0) return QW_PROBE_NO;
    if (h.version == 0x10 && h.exch == IKE_V1_QUICK && h.msgid == 0) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

const struct qw_proto qw_proto_ike = {
    .name = "ike",
    .transports = QW_TRANSPORT_UDP,
    .ports = {IKE_PORT, IKE_NATT_PORT, 0},
    .probe = ike_probe,
    .state_size = sizeof(struct ike_state),
    .datagram = ike_datagram,
    .flow_end = ike_flow_end,
};
