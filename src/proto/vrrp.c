/* VRRP parser (IP protocol 112): the advertisements of routers that share a gateway address.
 *
 * Specifications:
 *   [2338] RFC 2338 VRRP version 2, s.5: the packet (below), s.5.3.4 priority (255 for the
 *          router that owns the virtual addresses, 0 for a master that stops), s.5.3.6
 *          authentication types (0 none, 1 simple text password, 2 IP authentication header).
 *   [3768] RFC 3768 VRRP version 2 again: authentication no longer used, the fields kept.
 *   [5798] RFC 5798 VRRP version 3 for IPv4 and IPv6, s.5.1: the packet (below), the checksum
 *          over a pseudo-header as for UDP, s.7.1 an advertisement whose TTL or hop limit is not
 *          255 must be dropped: it did not come from the link itself.
 *
 *   version 2                               version 3
 *   offset size                             offset size
 *        0    1 version (4 bits) | type      same
 *        1    1 virtual router id (VRID)     same
 *        2    1 priority                     same
 *        3    1 count of addresses (n)       same
 *        4    1 authentication type          4 bits reserved | 12 bits maximum
 *        5    1 advertisement interval (s)     advertisement interval (centiseconds)
 *        6    2 checksum (of the message)    checksum (with the pseudo-header)
 *        8 4n   IPv4 addresses               n IPv4 or n IPv6 addresses
 *   8+4n    8   authentication data          -
 *
 * Why it matters on a plant network: the routers of a VRRP group decide among themselves who
 * answers for the gateway address every device uses. An advertisement with a higher priority
 * takes the gateway over, so a box on the segment that speaks VRRP can put itself in the path
 * of all traffic leaving it. The records show who advertises which virtual router, at what
 * priority, and every change; the sender gets a `vrrp_group` fact (a router, for the
 * inventory). Version 2's simple text authentication puts the group's password on the wire:
 * `vrrp.cleartext_password` (about the sender; the password itself is never recorded).
 *
 * Routers advertise every second or so, so one record per packet would drown the event log
 * (as GOOSE repeats). A record is written when a virtual router is first seen on the flow and
 * whenever its advertisement changes (version, priority, addresses, authentication type,
 * interval); the identical advertisements in between are counted in the next record
 * (`repeated`), and at the flow's end one more record stands for the last of them. One
 * sender can advertise several virtual routers on one flow: each is followed apart, up to
 * VRRP_GROUPS_MAX (past it, counted in `groups_untracked` and recorded every time).
 *
 * Anomalies, once per flow each: vrrp.invalid_length, vrrp.bad_version, vrrp.bad_type,
 * vrrp.bad_checksum, vrrp.ttl_not_255, and vrrp.cleartext_password (once per virtual router). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define VRRP_IPPROTO 112
#define VRRP_HDR 8
#define VRRP_AUTH_DATA 8
#define VRRP_ADVERTISEMENT 1
#define VRRP_ADDRS_MAX 16   /* addresses a record lists (count says how many were sent) */
#define VRRP_GROUPS_MAX 16  /* virtual routers followed per flow */
#define VRRP_FACT_MAX 160

static const char *const vrrp_auth_names[3] = {"none", "simple_text", "ip_ah"};

/* ---- Decoded advertisement ---------------------------------------------------------------- */

struct vrrp_adv {
    uint8_t version, type, vrid, priority, count, auth_type;
    uint16_t interval; /* v2 seconds, v3 centiseconds */
    uint16_t checksum;
    int checksum_ok;   /* 1 valid, 0 invalid, -1 not checked (v3 without the addresses) */
    bool ipv6;         /* v3: the addresses are IPv6 */
    uint8_t naddrs;    /* kept in addrs: min(count, VRRP_ADDRS_MAX) */
    struct qw_addr addrs[VRRP_ADDRS_MAX];
    int ttl;           /* the IP TTL or hop limit, -1 when the packet is not known */
};

enum vrrp_invalid { VRRP_BAD_LENGTH, VRRP_BAD_VERSION, VRRP_BAD_TYPE, VRRP_INVALID_KINDS };
static const char *const vrrp_invalid_names[VRRP_INVALID_KINDS] = {
    "vrrp.invalid_length", "vrrp.bad_version", "vrrp.bad_type"};

/* The length of a message of `version` with `count` addresses, IPv6 ones for v3 when `ipv6`. */
static size_t vrrp_expected_len(uint8_t version, uint8_t count, bool ipv6)
{
    if (version == 2) return VRRP_HDR + 4u * count + VRRP_AUTH_DATA;
    return VRRP_HDR + (ipv6 ? 16u : 4u) * count;
}

/* Why these bytes are no VRRP advertisement (an enum vrrp_invalid), or -1 when they are one.
 * `family` is the packet's IP version (4 or 6), 0 when unknown (the probe): then a version 3
 * message may have the length of either address family. `*ipv6` says which it has (IPv4 when
 * both fit). */
static int vrrp_check(const uint8_t *d, size_t n, int family, bool *ipv6, char *why, size_t cap)
{
    *ipv6 = false;
    if (n < VRRP_HDR) {
        if (why) snprintf(why, cap, "%zu bytes, shorter than the 8-byte header", n);
        return VRRP_BAD_LENGTH;
    }
    uint8_t version = d[0] >> 4, type = d[0] & 0x0f, count = d[3];
    if (version != 2 && version != 3) {
        if (why) snprintf(why, cap, "version %u", version);
        return VRRP_BAD_VERSION;
    }
    if (type != VRRP_ADVERTISEMENT) {
        if (why) snprintf(why, cap, "type %u (1 is the only one)", type);
        return VRRP_BAD_TYPE;
    }
    if (family != 6 && n == vrrp_expected_len(version, count, false)) return -1;
    if (version == 3 && family != 4 && n == vrrp_expected_len(version, count, true)) {
        *ipv6 = true;
        return -1;
    }
    if (why)
        snprintf(why, cap, "version %u%s with %u addresses in %zu bytes", version,
                 family == 6 ? " over IPv6" : family == 4 ? " over IPv4" : "", count, n);
    return VRRP_BAD_LENGTH;
}

/* The IP version of the packet the message came in: 4, 6, or 0 when it is not known. */
static int vrrp_family(const struct qw_packet *p)
{
    return !p ? 0 : p->l3 == QW_L3_IPV4 ? 4 : p->l3 == QW_L3_IPV6 ? 6 : 0;
}

/* 1 when the checksum is right, 0 when not, -1 when it cannot be told: version 3's covers the
 * IP pseudo-header (RFC 5798 s.5.2.8), which needs the packet's addresses. */
static int vrrp_checksum_ok(const struct qw_packet *p, uint8_t version, const uint8_t *d,
                            size_t n)
{
    if (version == 2) return qw_csum_fold(qw_csum_add(0, d, n)) == 0;
    if (!vrrp_family(p)) return -1;
    return qw_csum_fold(qw_csum_add(qw_csum_pseudo(p, (uint32_t)n), d, n)) == 0;
}

/* The fields of a message vrrp_check accepted. */
static void vrrp_decode(struct qw_pctx *ctx, const uint8_t *d, size_t n, bool ipv6,
                        struct vrrp_adv *a)
{
    memset(a, 0, sizeof *a);
    struct qw_cursor c = qw_cursor_make(d, n);
    uint8_t vt = qw_cur_u8(&c);
    a->version = vt >> 4;
    a->type = vt & 0x0f;
    a->vrid = qw_cur_u8(&c);
    a->priority = qw_cur_u8(&c);
    a->count = qw_cur_u8(&c);
    if (a->version == 2) {
        a->auth_type = qw_cur_u8(&c);
        a->interval = qw_cur_u8(&c);
    } else {
        a->interval = qw_cur_be16(&c) & 0x0fff;
    }
    a->checksum = qw_cur_be16(&c);
    a->ipv6 = ipv6;
    for (unsigned i = 0; i < a->count; i++) {
        const uint8_t *b = qw_cur_take(&c, ipv6 ? 16 : 4);
        if (!b || a->naddrs >= VRRP_ADDRS_MAX) continue;
        if (ipv6)
            memcpy(a->addrs[a->naddrs].b, b, 16);
        else
            qw_addr_from_v4(&a->addrs[a->naddrs], b);
        a->naddrs++;
    }
    const struct qw_packet *p = qw_pctx_packet(ctx);
    a->ttl = vrrp_family(p) ? p->ttl : -1;
    a->checksum_ok = vrrp_checksum_ok(p, a->version, d, n);
}

/* Do two advertisements of one virtual router say the same (the checksum and TTL aside)? */
static bool vrrp_same(const struct vrrp_adv *a, const struct vrrp_adv *b)
{
    return a->priority == b->priority && a->count == b->count &&
           a->auth_type == b->auth_type && a->interval == b->interval && a->ipv6 == b->ipv6 &&
           a->naddrs == b->naddrs && memcmp(a->addrs, b->addrs, a->naddrs * sizeof *a->addrs) == 0;
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct vrrp_group {
    bool used, password_reported;
    uint64_t repeated;    /* advertisements identical to the last record's since it */
    struct vrrp_adv last; /* the newest advertisement: the record's, or the last of those */
    uint64_t last_ns;
};

struct vrrp_state {
    uint8_t reported; /* bit per anomaly kind (enum vrrp_invalid, then the two below) */
    uint64_t untracked; /* advertisements of virtual routers past VRRP_GROUPS_MAX */
    struct vrrp_group g[VRRP_GROUPS_MAX];
};

enum { VRRP_REPORTED_CHECKSUM = 1u << 4, VRRP_REPORTED_TTL = 1u << 5 };

/* ---- Records ------------------------------------------------------------------------------- */

struct vrrp_view {
    const struct vrrp_adv *a;
    uint64_t repeated;
    bool change; /* the virtual router was seen before with another advertisement */
    uint64_t untracked;
};

static void vrrp_write_json(struct qw_json *j, const void *arg)
{
    const struct vrrp_view *v = arg;
    const struct vrrp_adv *a = v->a;
    qw_json_u64(j, "version", a->version);
    qw_json_u64(j, "type", a->type);
    qw_json_str(j, "type_name", "advertisement");
    qw_json_u64(j, "vrid", a->vrid);
    qw_json_u64(j, "priority", a->priority);
    if (a->priority == 255) qw_json_str(j, "priority_meaning", "address_owner");
    if (a->priority == 0) qw_json_str(j, "priority_meaning", "master_stopping");
    qw_json_u64(j, "count", a->count);
    qw_json_arr_begin(j, "addresses");
    for (unsigned i = 0; i < a->naddrs; i++) {
        char s[46];
        qw_json_str(j, NULL, qw_addr_str(&a->addrs[i], s));
    }
    qw_json_arr_end(j);
    if (a->version == 2) {
        qw_json_u64(j, "auth_type", a->auth_type);
        if (a->auth_type < 3) qw_json_str(j, "auth_type_name", vrrp_auth_names[a->auth_type]);
        qw_json_u64(j, "advertisement_interval_s", a->interval);
    } else {
        qw_json_u64(j, "max_advertisement_interval_cs", a->interval);
    }
    if (a->checksum_ok >= 0) qw_json_bool(j, "checksum_valid", a->checksum_ok == 1);
    if (a->ttl >= 0) qw_json_u64(j, "ttl", (uint64_t)a->ttl);
    qw_json_u64(j, "repeated", v->repeated);
    if (v->change) qw_json_bool(j, "changed", true);
    if (v->untracked) qw_json_u64(j, "groups_untracked", v->untracked);
}

static void vrrp_emit(struct qw_pctx *ctx, const struct vrrp_view *v, uint64_t ts_ns)
{
    struct qw_txn t = {0};
    t.has_request = true;
    t.function = VRRP_ADVERTISEMENT;
    t.function_name = "advertisement";
    t.request_ns = ts_ns;
    t.write_json = vrrp_write_json;
    t.arg = v;
    qw_emit_txn(ctx, &t);
}

/* The sender's `vrrp_group` fact: "vrid 42 v2 priority 191: 10.4.42.1 10.4.42.2". */
static void vrrp_fact(struct qw_pctx *ctx, const struct vrrp_adv *a)
{
    char text[VRRP_FACT_MAX];
    int n = snprintf(text, sizeof text, "vrid %u v%u priority %u:", a->vrid, a->version,
                     a->priority);
    for (unsigned i = 0; i < a->naddrs && n > 0 && (size_t)n < sizeof text; i++) {
        char s[46];
        int k = snprintf(text + n, sizeof text - (size_t)n, " %s", qw_addr_str(&a->addrs[i], s));
        if (k < 0 || (size_t)(n + k) >= sizeof text) break; /* keep whole addresses only */
        n += k;
    }
    if (n > 0) qw_emit_identity(ctx, false, "vrrp_group", text, strlen(text));
}

static void vrrp_anomaly_once(struct qw_pctx *ctx, struct vrrp_state *st, unsigned bit,
                              const char *name, const char *detail)
{
    if (st->reported & bit) return;
    st->reported |= (uint8_t)bit;
    qw_emit_anomaly_client(ctx, name, detail);
}

/* The group of this virtual router (by version and VRID), a free one, or NULL when all are
 * taken. */
static struct vrrp_group *vrrp_group_of(struct vrrp_state *st, const struct vrrp_adv *a)
{
    struct vrrp_group *free_g = NULL;
    for (size_t i = 0; i < VRRP_GROUPS_MAX; i++) {
        struct vrrp_group *g = &st->g[i];
        if (g->used && g->last.version == a->version && g->last.vrid == a->vrid) return g;
        if (!g->used && !free_g) free_g = g;
    }
    return free_g;
}

static void vrrp_advertisement(struct qw_pctx *ctx, struct vrrp_state *st,
                               const struct vrrp_adv *a)
{
    char why[96];
    if (a->checksum_ok == 0) {
        snprintf(why, sizeof why, "virtual router %u, checksum 0x%04x", a->vrid, a->checksum);
        vrrp_anomaly_once(ctx, st, VRRP_REPORTED_CHECKSUM, "vrrp.bad_checksum", why);
    }
    if (a->ttl >= 0 && a->ttl != 255) {
        snprintf(why, sizeof why, "virtual router %u with TTL %d (not from the link)", a->vrid,
                 a->ttl);
        vrrp_anomaly_once(ctx, st, VRRP_REPORTED_TTL, "vrrp.ttl_not_255", why);
    }
    uint64_t now = qw_pctx_time(ctx);
    struct vrrp_group *g = vrrp_group_of(st, a);
    if (!g) {
        st->untracked++;
        struct vrrp_view v = {a, 0, false, st->untracked};
        vrrp_emit(ctx, &v, now);
        return;
    }
    bool same = g->used && vrrp_same(a, &g->last);
    struct vrrp_view v = {a, g->repeated, g->used, st->untracked};
    g->used = true;
    g->last = *a;
    g->last_ns = now;
    if (same) {
        g->repeated++;
        return;
    }
    g->repeated = 0;
    vrrp_emit(ctx, &v, now);
    vrrp_fact(ctx, a);
    if (a->version == 2 && a->auth_type == 1 && !g->password_reported) {
        g->password_reported = true;
        snprintf(why, sizeof why, "VRRPv2 simple text authentication, virtual router %u",
                 a->vrid);
        qw_emit_anomaly_client(ctx, "vrrp.cleartext_password", why);
    }
}

/* ---- Parser -------------------------------------------------------------------------------- */

static enum qw_probe_result vrrp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    bool ipv6;
    if (vrrp_check(data, len, 0, &ipv6, NULL, 0) >= 0) return QW_PROBE_NO;
    return data[3] > 0 ? QW_PROBE_MATCH : QW_PROBE_NO; /* a group has an address */
}

static void vrrp_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    (void)dir;
    struct vrrp_state *st = state;
    bool ipv6;
    char why[96];
    int bad = vrrp_check(data, len, vrrp_family(qw_pctx_packet(ctx)), &ipv6, why, sizeof why);
    if (bad >= 0) {
        vrrp_anomaly_once(ctx, st, 1u << bad, vrrp_invalid_names[bad], why);
        return;
    }
    struct vrrp_adv a;
    vrrp_decode(ctx, data, len, ipv6, &a);
    vrrp_advertisement(ctx, st, &a);
}

static void vrrp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct vrrp_state *st = state;
    for (size_t i = 0; i < VRRP_GROUPS_MAX; i++) {
        struct vrrp_group *g = &st->g[i];
        if (!g->used || g->repeated == 0) continue;
        /* the last identical advertisement stands for itself: `repeated` counts those between */
        struct vrrp_view v = {&g->last, g->repeated - 1, false, 0};
        vrrp_emit(ctx, &v, g->last_ns);
        g->repeated = 0;
    }
}

const struct qw_proto qw_proto_vrrp = {
    .name = "vrrp",
    .transports = QW_TRANSPORT_IP,
    .ipprotos = {VRRP_IPPROTO},
    .probe = vrrp_probe,
    .state_size = sizeof(struct vrrp_state),
    .datagram = vrrp_datagram,
    .flow_end = vrrp_flow_end,
};
