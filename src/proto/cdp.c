/* CDP (Cisco Discovery Protocol, versions 1 and 2) link-layer parser.
 *
 * Specifications: CDP is Cisco's; there is no RFC. The layout follows Cisco's public
 * descriptions ("Cisco Discovery Protocol Configuration Guide", and the TLV list of the CDP MIB,
 * CISCO-CDP-MIB cdpCacheTable columns) and the public analyses in open dissectors, checked
 * against the corpus captures:
 *   [CDP]  frames are LLC/SNAP with OUI 00-00-0C and protocol id 0x2000 to 01-00-0C-CC-CC-CC;
 *          the engine hands us the bytes after the SNAP protocol id.
 *   [1071] RFC 1071: the checksum is the Internet checksum over the whole CDP PDU.
 *
 * CDP PDU:
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 version (1 or 2)
 *        1    1 TTL in seconds (hold time, typically 180)
 *        2    2 checksum (Internet checksum of the PDU with this field as sent)
 *        4  ... TLVs: type (2), length (2, including these 4 bytes), value
 *
 * TLVs decoded: 0x01 device id, 0x02 addresses, 0x03 port id, 0x04 capabilities, 0x05
 * software version, 0x06 platform, 0x07 IP prefixes, 0x08 protocol hello, 0x09 VTP management
 * domain, 0x0A native VLAN, 0x0B duplex, 0x0E/0x0F VoIP VLAN reply/query, 0x10 power, 0x11 MTU,
 * 0x12 trust bitmap, 0x13 untrusted port CoS, 0x14 system name, 0x15 system object id, 0x16
 * management addresses, 0x17 location, 0x19/0x1A power requested/available. An address is a
 * protocol type (1 NLPID, 2 802.2), a protocol (NLPID 0xCC is IPv4; the 802.2 header
 * AA-AA-03-00-00-00-86-DD is IPv6) and the address bytes.
 *
 * Checksum: RFC 1071 over the PDU. For an odd length Cisco's implementation does not pad the
 * last byte as the high half of a word: it adds the byte alone as the low half, and as a
 * signed char when its top bit is set, i.e. -128..-1 in one's complement (0xFF00 | byte) - 1
 * (verified on the corpus: cdp_v2.pcap ends in 0xFD and carries the checksum of that form).
 * The standard and both Cisco forms are accepted; a PDU none of them verifies raises
 * `cdp.bad_checksum`. Bytes after the last complete TLV that cannot hold a TLV header
 * (Ethernet padding, a frame check sequence) are not part of the PDU.
 *
 * Records follow LLDP's rule (lldp.c): one record when a neighbour (VLAN, source MAC, device
 * id, port id) is first seen or its PDU changes, with `repeats` and `frames`; bounded table.
 * Identity (about the frame's source): hostname (device id), model (platform), firmware (the
 * software version line that names the version, see cdp_firmware), description (the whole
 * software version, bounded), capabilities, management_ip, port_id, vendor "Cisco". */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/neighbours.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/hash.h"
#include "util/json.h"

#define CDP_SNAP_PID 0x2000
#define CDP_HDR_LEN 4
#define CDP_TLV_HDR 4
#define CDP_ADDR_MAX 4       /* addresses kept per TLV (devices list one or two) */
#define CDP_DESC_MAX 512     /* software version bytes reported as `description` */
#define CDP_TEXT_MAX 512     /* any string in a record is cut here */
#define CDP_HEX_MAX 64
/* Neighbours remembered for change detection; see lldp.c for the sizing. */

enum {
    CDP_T_DEVICE_ID = 0x01, CDP_T_ADDRESSES = 0x02, CDP_T_PORT_ID = 0x03, CDP_T_CAPS = 0x04,
    CDP_T_VERSION = 0x05, CDP_T_PLATFORM = 0x06, CDP_T_PREFIXES = 0x07, CDP_T_HELLO = 0x08,
    CDP_T_VTP = 0x09, CDP_T_NATIVE_VLAN = 0x0A, CDP_T_DUPLEX = 0x0B, CDP_T_VOIP_REPLY = 0x0E,
    CDP_T_VOIP_QUERY = 0x0F, CDP_T_POWER = 0x10, CDP_T_MTU = 0x11, CDP_T_TRUST = 0x12,
    CDP_T_COS = 0x13, CDP_T_SYS_NAME = 0x14, CDP_T_SYS_OID = 0x15, CDP_T_MGMT = 0x16,
    CDP_T_LOCATION = 0x17,
};

static const char *const cdp_tlv_names[] = {
    [0x01] = "device_id",      [0x02] = "addresses",        [0x03] = "port_id",
    [0x04] = "capabilities",   [0x05] = "software_version", [0x06] = "platform",
    [0x07] = "ip_prefixes",    [0x08] = "protocol_hello",   [0x09] = "vtp_management_domain",
    [0x0A] = "native_vlan",    [0x0B] = "duplex",           [0x0E] = "voip_vlan_reply",
    [0x0F] = "voip_vlan_query", [0x10] = "power",           [0x11] = "mtu",
    [0x12] = "trust_bitmap",   [0x13] = "untrusted_port_cos", [0x14] = "system_name",
    [0x15] = "system_object_id", [0x16] = "management_addresses", [0x17] = "location",
    [0x19] = "power_requested", [0x1A] = "power_available",
};

/* Capability bits (CISCO-CDP-MIB cdpCacheCapabilities). */
static const char *const cdp_cap_names[] = {
    "router", "transparent_bridge", "source_route_bridge", "switch", "host", "igmp",
    "repeater", "voip_phone", "remotely_managed", "cvta", "two_port_mac_relay",
};
#define CDP_NCAPS (sizeof cdp_cap_names / sizeof cdp_cap_names[0])

struct cdp_bytes {
    const uint8_t *p;
    uint16_t len;
};

struct cdp_addr {
    uint8_t family; /* 4 IPv4, 6 IPv6, 0 other */
    uint8_t ptype;
    struct cdp_bytes proto, addr;
};

struct cdp_addrs {
    uint32_t declared;
    uint8_t n;
    struct cdp_addr a[CDP_ADDR_MAX];
};

struct cdp_pdu {
    uint8_t version, ttl;
    uint16_t checksum;
    bool checksum_ok;
    struct cdp_bytes device_id, port_id, version_text, platform, vtp, sys_name, location;
    bool has_caps, has_native_vlan, has_duplex, has_mtu;
    uint32_t caps, mtu;
    uint16_t native_vlan;
    uint8_t duplex;
    struct cdp_addrs addrs, mgmt;
    uint16_t ntlvs, unknown_tlvs;
    size_t pdu_len;
};

struct cdp_view {
    const struct cdp_pdu *pdu;
    const char *event;
    uint32_t frames, repeats;
};

struct cdp_state {
    struct qw_neigh_table neigh;
    struct cdp_pdu pdu;
    struct cdp_view view;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static size_t cdp_trim(const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n - 1] == 0 || p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '\n' ||
                     p[n - 1] == '\t'))
        n--;
    return n;
}

static struct cdp_bytes cdp_rest(struct qw_cursor *c)
{
    struct cdp_bytes b = {qw_cur_left(c) ? qw_cur_ptr(c) : NULL, (uint16_t)qw_cur_left(c)};
    return b;
}

static bool cdp_addr_text(const struct cdp_addr *a, char out[46])
{
    struct qw_addr ad;
    if (a->family == 4 && a->addr.len == 4) {
        qw_addr_from_v4(&ad, a->addr.p);
    } else if (a->family == 6 && a->addr.len == 16) {
        memcpy(ad.b, a->addr.p, 16);
    } else {
        return false;
    }
    qw_addr_str(&ad, out);
    return true;
}

/* Address list TLV: count (4), then per address: protocol type (1), protocol length (1),
 * protocol, address length (2), address. */
static bool cdp_decode_addrs(struct cdp_addrs *out, struct qw_cursor *c)
{
    static const uint8_t ipv6_snap[8] = {0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x86, 0xDD};
    memset(out, 0, sizeof *out);
    out->declared = qw_cur_be32(c);
    for (uint32_t i = 0; i < out->declared && !c->err; i++) {
        struct cdp_addr a = {0};
        a.ptype = qw_cur_u8(c);
        uint8_t pl = qw_cur_u8(c);
        a.proto.p = qw_cur_take(c, pl);
        a.proto.len = pl;
        uint16_t al = qw_cur_be16(c);
        a.addr.p = qw_cur_take(c, al);
        a.addr.len = al;
        if (c->err) break;
        if (a.ptype == 1 && pl == 1 && a.proto.p[0] == 0xCC) a.family = 4;
        else if (a.ptype == 2 && pl == 8 && memcmp(a.proto.p, ipv6_snap, 8) == 0) a.family = 6;
        if (out->n < CDP_ADDR_MAX) out->a[out->n++] = a;
    }
    return !c->err && qw_cur_left(c) == 0;
}

/* RFC 1071 over the PDU with the odd-length variants described in the banner. */
static bool cdp_checksum_ok(const uint8_t *d, size_t n)
{
    if (n % 2 == 0) return qw_csum_fold(qw_csum_add(0, d, n)) == 0;
    uint32_t even = qw_csum_add(0, d, n - 1);
    uint8_t last = d[n - 1];
    const uint32_t forms[3] = {(uint32_t)last << 8, last, (0xFF00u | last) - 1u};
    for (int i = 0; i < 3; i++) {
        if (i == 2 && !(last & 0x80)) break;
        if (qw_csum_fold(even + forms[i]) == 0) return true;
    }
    return false;
}

/* ---- Decoding ------------------------------------------------------------------------------ */

static bool cdp_decode(struct qw_pctx *ctx, const uint8_t *data, size_t len, struct cdp_pdu *p)
{
    memset(p, 0, sizeof *p);
    struct qw_cursor c = qw_cursor_make(data, len);
    p->version = qw_cur_u8(&c);
    p->ttl = qw_cur_u8(&c);
    p->checksum = qw_cur_be16(&c);
    if (c.err) {
        qw_emit_anomaly(ctx, "cdp.truncated", "header");
        return false;
    }
    if (p->version != 1 && p->version != 2) {
        qw_emit_anomaly(ctx, "cdp.unsupported_version", NULL);
        return false;
    }
    size_t end = CDP_HDR_LEN;
    while (qw_cur_left(&c) >= CDP_TLV_HDR) {
        uint16_t type = qw_cur_be16(&c);
        uint16_t tlen = qw_cur_be16(&c);
        if (tlen < CDP_TLV_HDR) {
            qw_emit_anomaly(ctx, "cdp.invalid_tlv_length", NULL);
            break;
        }
        bool cut = false;
        struct qw_cursor v = qw_cur_sub(&c, tlen - CDP_TLV_HDR, &cut);
        if (cut) {
            qw_emit_anomaly(ctx, "cdp.truncated", "tlv value");
            break;
        }
        end = c.off;
        p->ntlvs++;
        bool bad = false;
        switch (type) {
        case CDP_T_DEVICE_ID: p->device_id = cdp_rest(&v); break;
        case CDP_T_PORT_ID: p->port_id = cdp_rest(&v); break;
        case CDP_T_VERSION: p->version_text = cdp_rest(&v); break;
        case CDP_T_PLATFORM: p->platform = cdp_rest(&v); break;
        case CDP_T_VTP: p->vtp = cdp_rest(&v); break;
        case CDP_T_SYS_NAME: p->sys_name = cdp_rest(&v); break;
        case CDP_T_LOCATION: p->location = cdp_rest(&v); break;
        case CDP_T_ADDRESSES: bad = !cdp_decode_addrs(&p->addrs, &v); break;
        case CDP_T_MGMT: bad = !cdp_decode_addrs(&p->mgmt, &v); break;
        case CDP_T_CAPS:
            p->caps = qw_cur_be32(&v);
            bad = v.err;
            p->has_caps = !bad;
            break;
        case CDP_T_NATIVE_VLAN:
            p->native_vlan = qw_cur_be16(&v);
            bad = v.err;
            p->has_native_vlan = !bad;
            break;
        case CDP_T_DUPLEX:
            p->duplex = qw_cur_u8(&v);
            bad = v.err;
            p->has_duplex = !bad;
            break;
        case CDP_T_MTU:
            p->mtu = qw_cur_be32(&v);
            bad = v.err;
            p->has_mtu = !bad;
            break;
        default:
            if (type >= sizeof cdp_tlv_names / sizeof cdp_tlv_names[0] || !cdp_tlv_names[type])
                p->unknown_tlvs++;
            break;
        }
        if (bad) {
            const char *n = type < sizeof cdp_tlv_names / sizeof cdp_tlv_names[0]
                                ? cdp_tlv_names[type] : NULL;
            qw_emit_anomaly(ctx, "cdp.invalid_tlv", n);
        }
    }
    p->pdu_len = end;
    p->checksum_ok = cdp_checksum_ok(data, end);
    if (!p->checksum_ok) qw_emit_anomaly(ctx, "cdp.bad_checksum", NULL);
    if (!p->device_id.p) qw_emit_anomaly(ctx, "cdp.missing_device_id", NULL);
    return true;
}

/* The firmware line of the software version: the first line that names a "Version" (older IOS
 * open with a banner line, "Cisco Internetwork Operating System Software", and give the version
 * on the second), else the first non-empty line; trimmed. */
static struct cdp_bytes cdp_firmware(struct cdp_bytes v)
{
    struct cdp_bytes first = {NULL, 0};
    size_t i = 0;
    while (i < v.len) {
        size_t s = i;
        while (i < v.len && v.p[i] != '\n' && v.p[i] != '\r' && v.p[i] != 0) i++;
        size_t e = i;
        while (s < e && (v.p[s] == ' ' || v.p[s] == '\t')) s++;
        size_t n = cdp_trim(v.p + s, e - s);
        if (n) {
            struct cdp_bytes line = {v.p + s, (uint16_t)n};
            if (!first.p) first = line;
            for (size_t k = 0; k + 7 <= n; k++)
                if (memcmp(line.p + k, "Version", 7) == 0) return line;
        }
        i++;
    }
    return first;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void cdp_json_text(struct qw_json *j, const char *key, struct cdp_bytes b)
{
    if (!b.p) return;
    size_t n = cdp_trim(b.p, b.len);
    qw_json_strn(j, key, b.p, n > CDP_TEXT_MAX ? CDP_TEXT_MAX : n);
}

static void cdp_json_addrs(struct qw_json *j, const char *key, const struct cdp_addrs *a)
{
    qw_json_arr_begin(j, key);
    for (unsigned i = 0; i < a->n; i++) {
        char t[46];
        if (cdp_addr_text(&a->a[i], t)) {
            qw_json_str(j, NULL, t);
        } else {
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "protocol_type", a->a[i].ptype);
            qw_json_hex(j, "protocol", a->a[i].proto.p, a->a[i].proto.len);
            qw_json_hex(j, "address", a->a[i].addr.p,
                        a->a[i].addr.len > CDP_HEX_MAX ? CDP_HEX_MAX : a->a[i].addr.len);
            qw_json_obj_end(j);
        }
    }
    qw_json_arr_end(j);
}

static void cdp_write_json(struct qw_json *j, const void *arg)
{
    const struct cdp_view *v = arg;
    const struct cdp_pdu *p = v->pdu;
    qw_json_str(j, "event", v->event);
    qw_json_u64(j, "frames", v->frames);
    qw_json_u64(j, "repeats", v->repeats);
    qw_json_u64(j, "version", p->version);
    qw_json_u64(j, "ttl", p->ttl);
    qw_json_bool(j, "checksum_ok", p->checksum_ok);
    cdp_json_text(j, "device_id", p->device_id);
    cdp_json_text(j, "port_id", p->port_id);
    cdp_json_text(j, "platform", p->platform);
    if (p->version_text.p) {
        cdp_json_text(j, "software_version", p->version_text);
        cdp_json_text(j, "firmware", cdp_firmware(p->version_text));
    }
    if (p->has_caps) {
        qw_json_arr_begin(j, "capabilities");
        for (unsigned b = 0; b < 32; b++)
            if (p->caps & (1u << b)) {
                if (b < CDP_NCAPS) qw_json_str(j, NULL, cdp_cap_names[b]);
                else qw_json_u64(j, NULL, b);
            }
        qw_json_arr_end(j);
    }
    if (p->addrs.declared) cdp_json_addrs(j, "addresses", &p->addrs);
    if (p->mgmt.declared) cdp_json_addrs(j, "management_addresses", &p->mgmt);
    cdp_json_text(j, "vtp_management_domain", p->vtp);
    if (p->has_native_vlan) qw_json_u64(j, "native_vlan", p->native_vlan);
    if (p->has_duplex) qw_json_str(j, "duplex", p->duplex ? "full" : "half");
    if (p->has_mtu) qw_json_u64(j, "mtu", p->mtu);
    cdp_json_text(j, "system_name", p->sys_name);
    cdp_json_text(j, "location", p->location);
    if (p->unknown_tlvs) qw_json_u64(j, "unknown_tlvs", p->unknown_tlvs);
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void cdp_ident(struct qw_pctx *ctx, const char *attr, struct cdp_bytes b, size_t max)
{
    if (!b.p) return;
    size_t n = cdp_trim(b.p, b.len);
    if (n > max) n = max;
    if (n) qw_emit_identity(ctx, false, attr, (const char *)b.p, n);
}

static void cdp_emit_identity(struct qw_pctx *ctx, const struct cdp_pdu *p)
{
    qw_emit_identity(ctx, false, "vendor", "Cisco", 5);
    cdp_ident(ctx, "hostname", p->device_id, CDP_TEXT_MAX);
    cdp_ident(ctx, "model", p->platform, CDP_TEXT_MAX);
    if (p->version_text.p) {
        cdp_ident(ctx, "firmware", cdp_firmware(p->version_text), CDP_TEXT_MAX);
        cdp_ident(ctx, "description", p->version_text, CDP_DESC_MAX);
    }
    cdp_ident(ctx, "port_id", p->port_id, CDP_TEXT_MAX);
    if (p->has_caps && p->caps) {
        char buf[256];
        size_t k = 0;
        for (unsigned b = 0; b < CDP_NCAPS; b++) {
            if (!(p->caps & (1u << b))) continue;
            int w = snprintf(buf + k, sizeof buf - k, "%s%s", k ? "," : "", cdp_cap_names[b]);
            if (w > 0) k += (size_t)w;
        }
        if (k) qw_emit_identity(ctx, false, "capabilities", buf, k);
    }
    /* The management address TLV names the address to manage the device by; CDP v1 and
     * older v2 stacks send only the addresses TLV, whose first address serves then. */
    const struct cdp_addrs *src = p->mgmt.n ? &p->mgmt : &p->addrs;
    for (unsigned i = 0; i < src->n; i++) {
        char t[46];
        if (cdp_addr_text(&src->a[i], t))
            qw_emit_identity(ctx, false, "management_ip", t, strlen(t));
    }
}

/* ---- Neighbour table ----------------------------------------------------------------------- */

static const struct qw_sipkey cdp_key_k = {0x6364706e65696768ull, 0x626f75726b657921ull};
static const struct qw_sipkey cdp_content_k = {0x636470636f6e7465ull, 0x6e74646967657374ull};

static uint64_t cdp_neigh_key(const struct qw_packet *pkt, const struct cdp_pdu *p)
{
    uint8_t k[8 + 2 * (2 + 255)]; /* VLAN, MAC, then each id: length and up to 255 bytes */
    size_t n = 8, dl = p->device_id.len, pl = p->port_id.len;
    memset(k, 0, 8);
    if (pkt) {
        uint16_t vlan = pkt->nvlan ? pkt->vlan[pkt->nvlan - 1] : 0;
        k[0] = (uint8_t)(vlan >> 8);
        k[1] = (uint8_t)vlan;
        if (pkt->has_mac) memcpy(k + 2, pkt->src_mac, 6);
    }
    /* Ids longer than 255 bytes are keyed on their first 255 and their length. */
    if (dl > 255) dl = 255;
    if (pl > 255) pl = 255;
    k[n++] = (uint8_t)(p->device_id.len >> 8);
    k[n++] = (uint8_t)p->device_id.len;
    if (dl) memcpy(k + n, p->device_id.p, dl);
    n += dl;
    k[n++] = (uint8_t)(p->port_id.len >> 8);
    k[n++] = (uint8_t)p->port_id.len;
    if (pl) memcpy(k + n, p->port_id.p, pl);
    n += pl;
    return qw_siphash(&cdp_key_k, k, n);
}

static void cdp_frame(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                      size_t len)
{
    (void)ethertype;
    struct cdp_state *st = state;
    if (!cdp_decode(ctx, data, len, &st->pdu)) return;
    uint64_t content = qw_siphash(&cdp_content_k, data, st->pdu.pdu_len);
    uint64_t key = cdp_neigh_key(qw_pctx_packet(ctx), &st->pdu);
    uint64_t now = qw_pctx_time(ctx);
    const char *event;
    struct qw_neigh *n = qw_neigh_see(&st->neigh, ctx, "cdp.neighbour_table_full", key, content,
                                      now, &event);
    if (!n) return; /* the same announcement again: counted */
    st->view = (struct cdp_view){&st->pdu, event, n->frames, n->repeats};
    n->repeats = 0;
    struct qw_txn t = {0};
    t.function = st->pdu.version;
    t.function_name = st->pdu.version == 1 ? "cdp_v1" : "cdp_v2";
    t.write_json = cdp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    cdp_emit_identity(ctx, &st->pdu);
}

const struct qw_proto qw_proto_cdp = {
    .name = "cdp",
    .transports = QW_TRANSPORT_ETHER,
    .ethertypes = {CDP_SNAP_PID, 0},
    .state_size = sizeof(struct cdp_state),
    .frame = cdp_frame,
};
