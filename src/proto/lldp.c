/* LLDP (Link Layer Discovery Protocol) link-layer parser.
 *
 * Specifications:
 *   [AB]   IEEE Std 802.1AB-2016 (and -2009/-2005), Station and Media Access Control
 *          Connectivity Discovery: s.8.4 LLDPDU format, s.8.5.2-8.5.10 the basic TLVs (chassis
 *          id, port id, TTL, port description, system name, system description, system
 *          capabilities, management address), s.8.6 organizationally specific TLVs, s.9.2.7.1
 *          shutdown LLDPDU (TTL 0).
 *   [Q]    IEEE Std 802.1Q-2018 Annex D: 802.1 organizationally specific TLVs (OUI 00-80-C2).
 *   [3]    IEEE Std 802.3-2018 clause 79: 802.3 organizationally specific TLVs (OUI 00-12-0F).
 *   [MED]  ANSI/TIA-1057 (LLDP-MED, OUI 00-12-BB): s.10.2 TLVs, inventory TLVs 5-11.
 *   [PN]   IEC 61158-6-10 (PROFINET IO), LLDP extensions (OUI 00-0E-CF).
 *   [MUD]  RFC 8520 s.4: the MUD URL TLV (IANA OUI 00-00-5E, subtype 1).
 *   [IANA] IANA Address Family Numbers (network address subtypes): 1 IPv4, 2 IPv6, 6 802.
 *
 * An LLDPDU (the bytes after ethertype 0x88CC) is a sequence of TLVs ([AB] s.8.4):
 *
 *   bits  meaning
 *   ----  -------------------------------------------------------------------------------
 *   7     TLV type (0 End, 1 Chassis ID, 2 Port ID, 3 TTL, 4 Port Description, 5 System Name,
 *         6 System Description, 7 System Capabilities, 8 Management Address, 127 Org specific)
 *   9     TLV information string length (0..511)
 *   n*8   information string
 *
 * Chassis ID, Port ID and TTL must come first, in that order, each once; End closes the PDU
 * (Ethernet padding may follow). Chassis and port ids are a subtype byte and a value: a MAC
 * address is shown aa:bb:cc:dd:ee:ff, a network address as IPv4/IPv6 text, the rest as the
 * string sent.
 *
 * Records: LLDP repeats every 30 s (msgTxInterval), so one record per frame would bury the
 * log. A bounded neighbour table keyed by (VLAN, source MAC, chassis id, port id) keeps a
 * digest of each neighbour's last LLDPDU; a record is written when a neighbour is first seen or
 * its content changes (`event` "new" or "changed"), carrying `repeats`, the identical frames
 * folded since its previous record, and `frames`, all frames accepted from it. The PROFINET
 * measured-delay TLV ([PN] subtype 1) changes by nanoseconds between frames and is left out of
 * the digest; everything else (TTL included: a shutdown is a change) is in it.
 *
 * Identity facts are about the frame's source MAC (the sender), written with each record:
 * chassis_id, hostname (system name), description (system description), capabilities (the
 * enabled ones, comma-separated), management_ip, port_id, port_description, and the LLDP-MED
 * inventory (hardware, firmware, software, serial, vendor, model, asset_id). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/neighbours.h"
#include "proto/proto.h"
#include "util/ber.h"
#include "util/cursor.h"
#include "util/hash.h"
#include "util/json.h"

/* ---- Limits -------------------------------------------------------------------------------- */

#define LLDP_ETHERTYPE 0x88CC
#define LLDP_ID_MIN 2       /* subtype + at least one byte ([AB] s.8.5.2, 8.5.3) */
#define LLDP_ID_MAX 256     /* subtype + 255 ([AB] s.8.5.2.1) */
#define LLDP_MGMT_MAX 4     /* management addresses kept per frame (devices send 1-2) */
#define LLDP_ORG_MAX 24     /* org-specific TLVs listed per frame; more are counted */
#define LLDP_HEX_MAX 64     /* opaque bytes shown as hex */
/* Neighbours remembered for change detection: a monitor port sees the LLDP of the switch
 * ports and hosts of its segment (tens); 256 entries of 40 bytes is 10 KiB once per engine.
 * Past that the least recently heard neighbour is forgotten (its next frame is "new" again). */
/* The digest is taken over a copy of the LLDPDU less the excluded TLVs: an LLDPDU fits one
 * untagged frame (1500 bytes); a longer one (jumbo) is digested whole, without exclusions. */
#define LLDP_SCRATCH 1536

enum {
    LLDP_T_END = 0, LLDP_T_CHASSIS = 1, LLDP_T_PORT = 2, LLDP_T_TTL = 3, LLDP_T_PORT_DESC = 4,
    LLDP_T_SYS_NAME = 5, LLDP_T_SYS_DESC = 6, LLDP_T_CAPS = 7, LLDP_T_MGMT = 8, LLDP_T_ORG = 127,
};

#define OUI_8021 0x0080C2u
#define OUI_8023 0x00120Fu
#define OUI_MED 0x0012BBu
#define OUI_PNO 0x000ECFu
#define OUI_IANA 0x00005Eu

/* ---- Tables -------------------------------------------------------------------------------- */

static const char *const lldp_chassis_subtypes[] = {
    [1] = "chassis_component", [2] = "interface_alias", [3] = "port_component",
    [4] = "mac_address",       [5] = "network_address", [6] = "interface_name",
    [7] = "local",
};
static const char *const lldp_port_subtypes[] = {
    [1] = "interface_alias", [2] = "port_component",   [3] = "mac_address", [4] = "network_address",
    [5] = "interface_name",  [6] = "agent_circuit_id", [7] = "local",
};
/* System capabilities bits ([AB] s.8.5.8.1, Table 8-4). */
static const char *const lldp_cap_names[] = {
    "other", "repeater", "bridge", "wlan_access_point", "router", "telephone",
    "docsis_cable_device", "station_only", "c_vlan_component", "s_vlan_component",
    "two_port_mac_relay",
};
#define LLDP_NCAPS (sizeof lldp_cap_names / sizeof lldp_cap_names[0])

static const char *lldp_name(const char *const *t, size_t n, unsigned i)
{
    return i < n && t[i] ? t[i] : "unknown";
}
#define NAME(t, i) lldp_name((t), sizeof(t) / sizeof((t)[0]), (i))

struct lldp_org_name {
    uint32_t oui;
    const char *org;
    const char *sub[16];
};

/* Organisations and the subtypes we name ([Q] Annex D, [3] clause 79, [MED] s.10.2, [PN],
 * [MUD]); other organisations are shown by OUI. */
static const struct lldp_org_name lldp_orgs[] = {
    {OUI_8021, "ieee_802_1",
     {[1] = "port_vlan_id", [2] = "port_and_protocol_vlan_id", [3] = "vlan_name",
      [4] = "protocol_identity", [5] = "vid_usage_digest", [6] = "management_vid",
      [7] = "link_aggregation", [8] = "congestion_notification", [9] = "ets_configuration",
      [10] = "ets_recommendation", [11] = "pfc_configuration", [12] = "application_priority",
      [13] = "evb", [14] = "cdcp"}},
    {OUI_8023, "ieee_802_3",
     {[1] = "mac_phy_config_status", [2] = "power_via_mdi", [3] = "link_aggregation",
      [4] = "maximum_frame_size", [5] = "eee", [6] = "eee_fast_wake",
      [7] = "additional_ethernet_capabilities", [8] = "power_via_mdi_measurements"}},
    {OUI_MED, "tia_lldp_med",
     {[1] = "media_capabilities", [2] = "network_policy", [3] = "location_identification",
      [4] = "extended_power_via_mdi", [5] = "hardware_revision", [6] = "firmware_revision",
      [7] = "software_revision", [8] = "serial_number", [9] = "manufacturer_name",
      [10] = "model_name", [11] = "asset_id"}},
    {OUI_PNO, "profinet",
     {[1] = "measured_delay", [2] = "port_status", [3] = "alias", [4] = "mrp_port_status",
      [5] = "chassis_mac", [6] = "ptcp_status", [7] = "mau_type_extension",
      [8] = "mrp_interconnection_port_status"}},
    {OUI_IANA, "iana", {[1] = "mud_url"}},
    {0x00000Cu, "cisco", {0}},
    {0x000142u, "cisco", {0}},
    {0x00E02Bu, "extreme_networks", {0}},
    {0x00040Du, "avaya", {0}},
    {0x009069u, "juniper_networks", {0}},
};

static const struct lldp_org_name *lldp_org(uint32_t oui)
{
    for (size_t i = 0; i < sizeof lldp_orgs / sizeof lldp_orgs[0]; i++)
        if (lldp_orgs[i].oui == oui) return &lldp_orgs[i];
    return NULL;
}

/* LLDP-MED inventory subtypes and the identity attribute each one is ([MED] s.10.2.6). */
static const char *const lldp_med_identity[] = {
    [5] = "hardware", [6] = "firmware", [7] = "software", [8] = "serial",
    [9] = "vendor",   [10] = "model",   [11] = "asset_id",
};

/* ---- Decoded LLDPDU ------------------------------------------------------------------------ */

struct lldp_bytes {
    const uint8_t *p;
    uint16_t len;
};

struct lldp_mgmt {
    uint8_t subtype;     /* IANA address family */
    struct lldp_bytes addr;
    uint8_t if_subtype;
    uint32_t if_number;
    struct lldp_bytes oid;
};

struct lldp_org_tlv {
    uint32_t oui;
    uint8_t subtype;
    struct lldp_bytes info; /* after the OUI and subtype */
};

struct lldp_pdu {
    uint8_t chassis_subtype, port_subtype;
    struct lldp_bytes chassis, port;
    uint16_t ttl;
    struct lldp_bytes port_desc, sys_name, sys_desc;
    bool has_caps;
    uint16_t caps, caps_enabled;
    uint8_t nmgmt;
    struct lldp_mgmt mgmt[LLDP_MGMT_MAX];
    uint8_t norg;
    uint16_t norg_total;
    struct lldp_org_tlv org[LLDP_ORG_MAX];
    uint16_t ntlvs, unknown_tlvs;
};

struct lldp_view {
    const struct lldp_pdu *pdu;
    const char *event;
    uint32_t frames, repeats;
};

struct lldp_state {
    struct qw_neigh_table neigh;
    struct lldp_pdu pdu;
    struct lldp_view view;
    uint8_t scratch[LLDP_SCRATCH];
};

/* ---- Formatting helpers -------------------------------------------------------------------- */

/* Trailing NULs, spaces and line ends are padding, not part of a name. */
static size_t lldp_trim(const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n - 1] == 0 || p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    return n;
}

/* An IANA address family value as text into out (>= 46 bytes); false if not IPv4/IPv6/802. */
static bool lldp_addr_text(uint8_t family, const uint8_t *a, size_t n, char *out)
{
    struct qw_addr ad;
    if (family == 1 && n == 4) {
        qw_addr_from_v4(&ad, a);
        qw_addr_str(&ad, out);
        return true;
    }
    if (family == 2 && n == 16) {
        memcpy(ad.b, a, 16);
        qw_addr_str(&ad, out);
        return true;
    }
    if (family == 6 && n == 6) {
        qw_mac_str(a, out);
        return true;
    }
    return false;
}

/* Chassis or port id as shown and reported: MAC, network address, or the string. */
static size_t lldp_id_text(bool port, uint8_t subtype, struct lldp_bytes v, char *out, size_t cap)
{
    uint8_t mac_sub = port ? 3 : 4, net_sub = port ? 4 : 5;
    if (subtype == mac_sub && v.len == 6) return strlen(qw_mac_str(v.p, out));
    if (subtype == net_sub && v.len >= 1 && lldp_addr_text(v.p[0], v.p + 1, v.len - 1u, out))
        return strlen(out);
    size_t n = lldp_trim(v.p, v.len);
    if (n > cap) n = cap;
    memcpy(out, v.p, n);
    return n;
}

/* ---- Decoding ------------------------------------------------------------------------------ */

static struct lldp_bytes lldp_rest(struct qw_cursor *c)
{
    struct lldp_bytes b = {qw_cur_ptr(c), (uint16_t)qw_cur_left(c)};
    if (b.len == 0) b.p = NULL;
    return b;
}

static void lldp_decode_mgmt(struct qw_pctx *ctx, struct lldp_pdu *p, struct qw_cursor *c)
{
    uint8_t slen = qw_cur_u8(c);
    struct lldp_mgmt m = {0};
    m.subtype = qw_cur_u8(c);
    const uint8_t *a = slen >= 1 ? qw_cur_take(c, slen - 1u) : NULL;
    m.if_subtype = qw_cur_u8(c);
    m.if_number = qw_cur_be32(c);
    uint8_t olen = qw_cur_u8(c);
    const uint8_t *o = qw_cur_take(c, olen);
    /* [AB] s.8.5.9: address string 2..32 bytes (subtype included), OID at most 128. */
    if (c->err || slen < 2 || slen > 32 || olen > 128) {
        qw_emit_anomaly(ctx, "lldp.invalid_tlv", "management_address");
        return;
    }
    m.addr.p = a;
    m.addr.len = (uint16_t)(slen - 1u);
    m.oid.p = olen ? o : NULL;
    m.oid.len = olen;
    if (p->nmgmt < LLDP_MGMT_MAX) p->mgmt[p->nmgmt++] = m;
}

/* Decode the LLDPDU into p, and copy the bytes that enter the digest into scratch (`*dlen`).
 * False when the PDU is refused (no mandatory TLVs): nothing is recorded for it. */
static bool lldp_decode(struct qw_pctx *ctx, const uint8_t *data, size_t len, struct lldp_pdu *p,
                        uint8_t *scratch, size_t *dlen)
{
    memset(p, 0, sizeof *p);
    struct qw_cursor c = qw_cursor_make(data, len);
    size_t dl = 0;
    bool digest_whole = len > LLDP_SCRATCH;
    unsigned seen = 0; /* bit per basic TLV type already seen */
    bool end = false;
    while (!end && qw_cur_left(&c) > 0) {
        size_t start = c.off;
        uint16_t hdr = qw_cur_be16(&c);
        if (c.err) {
            qw_emit_anomaly(ctx, "lldp.truncated", "tlv header");
            break;
        }
        unsigned type = hdr >> 9, tlen = hdr & 0x1FFu;
        bool cut = false;
        struct qw_cursor v = qw_cur_sub(&c, tlen, &cut);
        if (cut) {
            qw_emit_anomaly(ctx, "lldp.truncated", "tlv value");
            break;
        }
        unsigned idx = p->ntlvs++;
        /* [AB] s.8.4: chassis id, port id and TTL are TLVs 1, 2 and 3, in that order. */
        if (idx < 3 && type != idx + 1u) {
            static const char *const expected[3] = {"chassis_id first", "port_id second",
                                                    "ttl third"};
            qw_emit_anomaly(ctx, "lldp.missing_mandatory_tlv", expected[idx]);
            return false;
        }
        bool exclude = false;
        /* Types 1-7 occur at most once; management addresses (8) may repeat ([AB] s.8.4). */
        if (type >= 1 && type <= 7) {
            if (seen & (1u << type)) qw_emit_anomaly(ctx, "lldp.duplicate_tlv", NULL);
            seen |= 1u << type;
        }
        switch (type) {
        case LLDP_T_END:
            if (tlen != 0) qw_emit_anomaly(ctx, "lldp.invalid_tlv", "end");
            end = true;
            break;
        case LLDP_T_CHASSIS:
        case LLDP_T_PORT:
            if (tlen < LLDP_ID_MIN || tlen > LLDP_ID_MAX) {
                qw_emit_anomaly(ctx, "lldp.invalid_tlv", type == 1 ? "chassis_id" : "port_id");
                return false;
            }
            if (type == LLDP_T_CHASSIS) {
                p->chassis_subtype = qw_cur_u8(&v);
                p->chassis = lldp_rest(&v);
            } else {
                p->port_subtype = qw_cur_u8(&v);
                p->port = lldp_rest(&v);
            }
            break;
        case LLDP_T_TTL:
            if (tlen < 2) {
                qw_emit_anomaly(ctx, "lldp.invalid_tlv", "ttl");
                return false;
            }
            p->ttl = qw_cur_be16(&v);
            break;
        case LLDP_T_PORT_DESC: p->port_desc = lldp_rest(&v); break;
        case LLDP_T_SYS_NAME: p->sys_name = lldp_rest(&v); break;
        case LLDP_T_SYS_DESC: p->sys_desc = lldp_rest(&v); break;
        case LLDP_T_CAPS:
            if (tlen != 4) {
                qw_emit_anomaly(ctx, "lldp.invalid_tlv", "system_capabilities");
                break;
            }
            p->has_caps = true;
            p->caps = qw_cur_be16(&v);
            p->caps_enabled = qw_cur_be16(&v);
            if (p->caps_enabled & ~p->caps)
                qw_emit_anomaly(ctx, "lldp.invalid_tlv", "capability enabled but not supported");
            break;
        case LLDP_T_MGMT: lldp_decode_mgmt(ctx, p, &v); break;
        case LLDP_T_ORG: {
            uint32_t oui = qw_cur_be24(&v);
            uint8_t sub = qw_cur_u8(&v);
            if (v.err) {
                qw_emit_anomaly(ctx, "lldp.invalid_tlv", "organizationally_specific");
                break;
            }
            p->norg_total++;
            exclude = oui == OUI_PNO && sub == 1; /* measured delay: see the banner */
            if (p->norg < LLDP_ORG_MAX)
                p->org[p->norg++] = (struct lldp_org_tlv){oui, sub, lldp_rest(&v)};
            break;
        }
        default: p->unknown_tlvs++; break;
        }
        if (!digest_whole && !exclude) {
            memcpy(scratch + dl, data + start, c.off - start);
            dl += c.off - start;
        }
    }
    if (p->ntlvs < 3) {
        qw_emit_anomaly(ctx, "lldp.missing_mandatory_tlv", NULL);
        return false;
    }
    if (!end) qw_emit_anomaly(ctx, "lldp.missing_end_tlv", NULL);
    *dlen = digest_whole ? (size_t)-1 : dl; /* -1: the caller digests `data` whole */
    return true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void lldp_json_id(struct qw_json *j, const char *key, bool port, uint8_t subtype,
                         struct lldp_bytes v)
{
    char out[LLDP_ID_MAX + 1];
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "subtype", subtype);
    qw_json_str(j, "subtype_name",
                port ? NAME(lldp_port_subtypes, subtype) : NAME(lldp_chassis_subtypes, subtype));
    size_t n = lldp_id_text(port, subtype, v, out, sizeof out - 1);
    qw_json_strn(j, "id", out, n);
    qw_json_obj_end(j);
}

static void lldp_json_caps(struct qw_json *j, const char *key, uint16_t bits)
{
    qw_json_arr_begin(j, key);
    for (unsigned b = 0; b < 16; b++)
        if (bits & (1u << b)) {
            if (b < LLDP_NCAPS) qw_json_str(j, NULL, lldp_cap_names[b]);
            else qw_json_u64(j, NULL, b);
        }
    qw_json_arr_end(j);
}

static void lldp_json_hex(struct qw_json *j, const char *key, struct lldp_bytes b)
{
    qw_json_hex(j, key, b.p, b.len > LLDP_HEX_MAX ? LLDP_HEX_MAX : b.len);
    if (b.len > LLDP_HEX_MAX) qw_json_bool(j, "data_cut", true);
}

/* Decoded members of the org TLVs we know; the rest is hex. Field layouts from [Q] Annex D,
 * [3] s.79.3, [MED] s.10.2, [PN], [MUD]. */
static void lldp_json_org_fields(struct qw_json *j, const struct lldp_org_tlv *o)
{
    struct qw_cursor c = qw_cursor_make(o->info.p, o->info.len);
    char buf[18];
    switch (o->oui << 8 | o->subtype) {
    case OUI_8021 << 8 | 1: {
        uint16_t pvid = qw_cur_be16(&c);
        if (!c.err) qw_json_u64(j, "port_vlan_id", pvid);
        return;
    }
    case OUI_8021 << 8 | 2: {
        uint8_t fl = qw_cur_u8(&c);
        uint16_t id = qw_cur_be16(&c);
        if (c.err) break;
        qw_json_u64(j, "flags", fl);
        qw_json_u64(j, "ppvid", id);
        return;
    }
    case OUI_8021 << 8 | 3: {
        uint16_t vid = qw_cur_be16(&c);
        uint8_t n = qw_cur_u8(&c);
        const uint8_t *name = qw_cur_take(&c, n);
        if (c.err) break;
        qw_json_u64(j, "vlan_id", vid);
        qw_json_strn(j, "vlan_name", name, lldp_trim(name, n));
        return;
    }
    case OUI_8023 << 8 | 1: {
        uint8_t an = qw_cur_u8(&c);
        uint16_t adv = qw_cur_be16(&c);
        uint16_t mau = qw_cur_be16(&c);
        if (c.err) break;
        qw_json_bool(j, "autoneg_supported", an & 1);
        qw_json_bool(j, "autoneg_enabled", (an >> 1) & 1);
        qw_json_u64(j, "pmd_advertised", adv);
        qw_json_u64(j, "operational_mau_type", mau);
        return;
    }
    case OUI_8023 << 8 | 4: {
        uint16_t mfs = qw_cur_be16(&c);
        if (!c.err) qw_json_u64(j, "maximum_frame_size", mfs);
        return;
    }
    case OUI_PNO << 8 | 2: {
        uint16_t rt2 = qw_cur_be16(&c), rt3 = qw_cur_be16(&c);
        if (c.err) break;
        qw_json_u64(j, "rtclass2_port_status", rt2);
        qw_json_u64(j, "rtclass3_port_status", rt3);
        return;
    }
    case OUI_PNO << 8 | 5: {
        const uint8_t *m = qw_cur_take(&c, 6);
        if (!c.err) qw_json_str(j, "chassis_mac", qw_mac_str(m, buf));
        return;
    }
    case OUI_IANA << 8 | 1:
        qw_json_strn(j, "mud_url", o->info.p, o->info.len);
        return;
    default:
        if (o->oui == OUI_MED && o->subtype >= 5 && o->subtype <= 11) {
            qw_json_strn(j, "value", o->info.p, lldp_trim(o->info.p, o->info.len));
            return;
        }
        break;
    }
    lldp_json_hex(j, "data", o->info);
}

static void lldp_json_org(struct qw_json *j, const struct lldp_org_tlv *o)
{
    char oui[9];
    snprintf(oui, sizeof oui, "%02x:%02x:%02x", (unsigned)(o->oui >> 16) & 0xFFu,
             (unsigned)(o->oui >> 8) & 0xFFu, (unsigned)o->oui & 0xFFu);
    const struct lldp_org_name *on = lldp_org(o->oui);
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "oui", oui);
    if (on) qw_json_str(j, "organization", on->org);
    qw_json_u64(j, "subtype", o->subtype);
    if (on && o->subtype < 16 && on->sub[o->subtype]) qw_json_str(j, "name", on->sub[o->subtype]);
    lldp_json_org_fields(j, o);
    qw_json_obj_end(j);
}

static void lldp_write_json(struct qw_json *j, const void *arg)
{
    const struct lldp_view *v = arg;
    const struct lldp_pdu *p = v->pdu;
    qw_json_str(j, "event", v->event);
    qw_json_u64(j, "frames", v->frames);
    qw_json_u64(j, "repeats", v->repeats);
    lldp_json_id(j, "chassis_id", false, p->chassis_subtype, p->chassis);
    lldp_json_id(j, "port_id", true, p->port_subtype, p->port);
    qw_json_u64(j, "ttl", p->ttl);
    if (p->ttl == 0) qw_json_bool(j, "shutdown", true);
    if (p->port_desc.p)
        qw_json_strn(j, "port_description", p->port_desc.p, lldp_trim(p->port_desc.p, p->port_desc.len));
    if (p->sys_name.p)
        qw_json_strn(j, "system_name", p->sys_name.p, lldp_trim(p->sys_name.p, p->sys_name.len));
    if (p->sys_desc.p)
        qw_json_strn(j, "system_description", p->sys_desc.p,
                     lldp_trim(p->sys_desc.p, p->sys_desc.len));
    if (p->has_caps) {
        qw_json_obj_begin(j, "capabilities");
        lldp_json_caps(j, "supported", p->caps);
        lldp_json_caps(j, "enabled", p->caps_enabled);
        qw_json_obj_end(j);
    }
    if (p->nmgmt) {
        qw_json_arr_begin(j, "management_addresses");
        for (unsigned i = 0; i < p->nmgmt; i++) {
            const struct lldp_mgmt *m = &p->mgmt[i];
            char a[46];
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "address_subtype", m->subtype);
            if (lldp_addr_text(m->subtype, m->addr.p, m->addr.len, a)) qw_json_str(j, "address", a);
            else lldp_json_hex(j, "address_hex", m->addr);
            qw_json_u64(j, "interface_subtype", m->if_subtype);
            qw_json_u64(j, "interface_number", m->if_number);
            if (m->oid.p) {
                char oid[160];
                struct qw_ber_tlv t = {0};
                t.val = m->oid.p;
                t.len = m->oid.len;
                if (qw_ber_oid_str(&t, oid, sizeof oid)) qw_json_str(j, "oid", oid);
                else lldp_json_hex(j, "oid_hex", m->oid);
            }
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (p->norg) {
        qw_json_arr_begin(j, "org_tlvs");
        for (unsigned i = 0; i < p->norg; i++) lldp_json_org(j, &p->org[i]);
        qw_json_arr_end(j);
        if (p->norg_total > p->norg) qw_json_u64(j, "org_tlvs_total", p->norg_total);
    }
    if (p->unknown_tlvs) qw_json_u64(j, "unknown_tlvs", p->unknown_tlvs);
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void lldp_ident(struct qw_pctx *ctx, const char *attr, const uint8_t *v, size_t n)
{
    n = lldp_trim(v, n);
    if (n) qw_emit_identity(ctx, false, attr, (const char *)v, n);
}

static void lldp_emit_identity(struct qw_pctx *ctx, const struct lldp_pdu *p)
{
    char buf[LLDP_ID_MAX + 1];
    size_t n = lldp_id_text(false, p->chassis_subtype, p->chassis, buf, sizeof buf - 1);
    if (n) qw_emit_identity(ctx, false, "chassis_id", buf, n);
    n = lldp_id_text(true, p->port_subtype, p->port, buf, sizeof buf - 1);
    if (n) qw_emit_identity(ctx, false, "port_id", buf, n);
    if (p->sys_name.p) lldp_ident(ctx, "hostname", p->sys_name.p, p->sys_name.len);
    if (p->sys_desc.p) lldp_ident(ctx, "description", p->sys_desc.p, p->sys_desc.len);
    if (p->port_desc.p) lldp_ident(ctx, "port_description", p->port_desc.p, p->port_desc.len);
    if (p->has_caps && p->caps_enabled) {
        size_t k = 0;
        for (unsigned b = 0; b < LLDP_NCAPS; b++) {
            if (!(p->caps_enabled & (1u << b))) continue;
            int w = snprintf(buf + k, sizeof buf - k, "%s%s", k ? "," : "", lldp_cap_names[b]);
            if (w > 0) k += (size_t)w;
        }
        if (k) qw_emit_identity(ctx, false, "capabilities", buf, k);
    }
    for (unsigned i = 0; i < p->nmgmt; i++) {
        const struct lldp_mgmt *m = &p->mgmt[i];
        if ((m->subtype == 1 || m->subtype == 2) && lldp_addr_text(m->subtype, m->addr.p, m->addr.len, buf))
            qw_emit_identity(ctx, false, "management_ip", buf, strlen(buf));
    }
    for (unsigned i = 0; i < p->norg; i++) {
        const struct lldp_org_tlv *o = &p->org[i];
        if (o->oui == OUI_MED && o->subtype < sizeof lldp_med_identity / sizeof lldp_med_identity[0] &&
            lldp_med_identity[o->subtype] && o->info.p)
            lldp_ident(ctx, lldp_med_identity[o->subtype], o->info.p, o->info.len);
    }
}

/* ---- Neighbour table ----------------------------------------------------------------------- */

/* Fixed keys: digests are compared, never written out, and must not vary between runs. */
static const struct qw_sipkey lldp_key_k = {0x6c6c64706e656967ull, 0x68626f75726b6579ull};
static const struct qw_sipkey lldp_content_k = {0x6c6c6470636f6e74ull, 0x656e746469676573ull};

static uint64_t lldp_neigh_key(const struct qw_packet *pkt, const struct lldp_pdu *p)
{
    uint8_t k[12 + 2 * LLDP_ID_MAX];
    size_t n = 0;
    memset(k, 0, 12);
    if (pkt) {
        uint16_t vlan = pkt->nvlan ? pkt->vlan[pkt->nvlan - 1] : 0;
        k[0] = (uint8_t)(vlan >> 8);
        k[1] = (uint8_t)vlan;
        if (pkt->has_mac) memcpy(k + 2, pkt->src_mac, 6);
    }
    n = 8;
    k[n++] = p->chassis_subtype;
    k[n++] = (uint8_t)p->chassis.len;
    if (p->chassis.len) memcpy(k + n, p->chassis.p, p->chassis.len);
    n += p->chassis.len;
    k[n++] = p->port_subtype;
    k[n++] = (uint8_t)p->port.len;
    if (p->port.len) memcpy(k + n, p->port.p, p->port.len);
    n += p->port.len;
    return qw_siphash(&lldp_key_k, k, n);
}

static void lldp_frame(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                       size_t len)
{
    (void)ethertype;
    struct lldp_state *st = state;
    size_t dlen = 0;
    if (!lldp_decode(ctx, data, len, &st->pdu, st->scratch, &dlen)) return;
    uint64_t content = dlen == (size_t)-1 ? qw_siphash(&lldp_content_k, data, len)
                                          : qw_siphash(&lldp_content_k, st->scratch, dlen);
    uint64_t key = lldp_neigh_key(qw_pctx_packet(ctx), &st->pdu);
    uint64_t now = qw_pctx_time(ctx);

    const char *event;
    struct qw_neigh *n = qw_neigh_see(&st->neigh, ctx, "lldp.neighbour_table_full", key, content,
                                      now, &event);
    if (!n) return; /* the same announcement again: counted */
    st->view = (struct lldp_view){&st->pdu, event, n->frames, n->repeats};
    n->repeats = 0;
    struct qw_txn t = {0};
    t.function = 0;
    t.function_name = st->pdu.ttl == 0 ? "shutdown" : "lldpdu";
    t.write_json = lldp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    lldp_emit_identity(ctx, &st->pdu);
}

const struct qw_proto qw_proto_lldp = {
    .name = "lldp",
    .transports = QW_TRANSPORT_ETHER,
    .ethertypes = {LLDP_ETHERTYPE, 0},
    .state_size = sizeof(struct lldp_state),
    .frame = lldp_frame,
};
