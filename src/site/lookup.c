/* Lookups in a loaded site, for analysis to call per flow: binary searches over the sorted
 * tables of validate.c, a VLAN table, short scans of modules, conduits of one zone pair and
 * change records. Nothing here allocates or writes. */
#include <string.h>
#include <strings.h>

#include "site/internal.h"
#include "site/tz.h"

const struct qw_site_party *qw_site_party_by_id(const struct qw_site *s, const char *id)
{
    size_t lo = 0, hi = s->nparties;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->index->parties[mid]->id, id);
        if (c == 0) return s->index->parties[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_zone *qw_site_zone_by_id(const struct qw_site *s, const char *id)
{
    size_t lo = 0, hi = s->nzones;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->index->zones[mid]->id, id);
        if (c == 0) return s->index->zones[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_zone *qw_site_zone_of(const struct qw_site *s, const struct qw_addr *ip,
                                           uint16_t vlan, enum qw_site_zone_rule *rule)
{
    const struct qw_site_index *ix = s->index;
    if (ip && ix->nranges) {
        /* the last block starting at or before ip; blocks are disjoint */
        size_t lo = 0, hi = ix->nranges;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (memcmp(ix->ranges[mid].lo.b, ip->b, 16) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && memcmp(ip->b, ix->ranges[lo - 1].hi.b, 16) <= 0) {
            if (rule) *rule = QW_ZONE_BY_CIDR;
            return ix->ranges[lo - 1].zone;
        }
    }
    /* A global address in no block is somewhere beyond a router: a SPAN shows it on the VLAN
     * of the router leg it crossed, which says nothing about where it is. */
    if (vlan > 0 && vlan < 4096 && ix->vlan_zone[vlan] && (!ip || qw_addr_is_site_local(ip))) {
        if (rule) *rule = QW_ZONE_BY_VLAN;
        return &s->zones[ix->vlan_zone[vlan] - 1];
    }
    if (rule) *rule = QW_ZONE_NONE;
    return NULL;
}

/* ---- assets ------------------------------------------------------------------------------- */

const struct qw_site_asset *qw_site_asset_by_ip(const struct qw_site *s, const struct qw_addr *ip)
{
    const struct qw_site_index *ix = s->index;
    size_t lo = 0, hi = ix->nby_ip;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(ix->by_ip[mid]->ip.b, ip->b, 16);
        if (c == 0) return ix->by_ip[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_asset *qw_site_asset_by_mac(const struct qw_site *s, const uint8_t mac[6])
{
    const struct qw_site_index *ix = s->index;
    size_t lo = 0, hi = ix->nby_mac;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(ix->by_mac[mid]->mac, mac, 6);
        if (c == 0) return ix->by_mac[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_asset *qw_site_asset_by_hostname(const struct qw_site *s, const char *host)
{
    const struct qw_site_index *ix = s->index;
    size_t lo = 0, hi = ix->nby_host;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(ix->by_host[mid]->hostname, host);
        if (c == 0) return ix->by_host[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_asset *qw_site_asset_by_name(const struct qw_site *s, const char *name)
{
    const struct qw_site_index *ix = s->index;
    size_t lo = 0, hi = s->nassets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->by_name[mid]->name, name);
        if (c == 0) return ix->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct qw_site_asset *qw_site_asset_of(const struct qw_site *s, const struct qw_site_host *h)
{
    const struct qw_site_asset *a = NULL;
    if (h->ip) a = qw_site_asset_by_ip(s, h->ip);
    if (!a && h->mac) a = qw_site_asset_by_mac(s, h->mac);
    if (!a && h->hostname) a = qw_site_asset_by_hostname(s, h->hostname);
    return a;
}

/* ---- owners ------------------------------------------------------------------------------- */

bool qw_site_module_matches(const struct qw_site_module *m, const struct qw_site_host *h,
                            const struct qw_site_asset *asset, const struct qw_site_zone *zone)
{
    /* selectors of one kind are alternatives; different kinds must all hold */
    bool role = !(m->kinds & (1u << QW_SEL_ROLE)), in_zone = !(m->kinds & (1u << QW_SEL_ZONE)),
         is_asset = !(m->kinds & (1u << QW_SEL_ASSET));
    for (uint32_t i = 0; i < m->nruns_on; i++) {
        const struct qw_site_selector *sel = &m->runs_on[i];
        switch (sel->kind) {
        case QW_SEL_ROLE:
            if (asset && asset->role && strcasecmp(asset->role, sel->role) == 0) role = true;
            for (size_t r = 0; h && r < h->nroles && !role; r++)
                if (h->roles[r] && strcasecmp(h->roles[r], sel->role) == 0) role = true;
            break;
        case QW_SEL_ZONE:
            if (zone && zone == sel->zone) in_zone = true;
            break;
        case QW_SEL_ASSET:
            if (asset && asset == sel->asset) is_asset = true;
            break;
        }
    }
    return role && in_zone && is_asset;
}

/* How precisely a module names its hosts: an asset beats a role, a role beats a zone. */
static unsigned specificity(const struct qw_site_module *m)
{
    return (m->kinds & (1u << QW_SEL_ASSET) ? 4u : 0u) + (m->kinds & (1u << QW_SEL_ROLE) ? 2u : 0u) +
           (m->kinds & (1u << QW_SEL_ZONE) ? 1u : 0u);
}

struct qw_site_owner qw_site_owner_of(const struct qw_site *s, const struct qw_site_host *h)
{
    struct qw_site_owner o = {0};
    o.asset = qw_site_asset_of(s, h);
    o.zone = qw_site_zone_of(s, h->ip, h->vlan, NULL);
    if (o.asset && o.asset->owner) {
        o.party = o.asset->owner;
        o.rule = QW_OWNER_ASSET;
        return o;
    }
    const struct qw_site_module *best = NULL;
    for (uint32_t i = 0; i < s->nmodules; i++) {
        const struct qw_site_module *m = &s->modules[i];
        if ((!best || specificity(m) > specificity(best)) &&
            qw_site_module_matches(m, h, o.asset, o.zone))
            best = m;
    }
    if (best) {
        o.party = best->owner;
        o.rule = QW_OWNER_MODULE;
        o.module = best;
    } else if (o.zone && o.zone->owner) {
        o.party = o.zone->owner;
        o.rule = QW_OWNER_ZONE;
    } else if (s->default_owner) {
        o.party = s->default_owner;
        o.rule = QW_OWNER_DEFAULT;
    }
    return o;
}

const char *qw_site_owner_rule_name(enum qw_site_owner_rule r)
{
    switch (r) {
    case QW_OWNER_ASSET: return "asset";
    case QW_OWNER_MODULE: return "module";
    case QW_OWNER_ZONE: return "zone";
    case QW_OWNER_DEFAULT: return "default";
    default: return "none";
    }
}

/* ---- conduits ----------------------------------------------------------------------------- */

static bool entry_matches(const struct qw_site_allow *a, const struct qw_site_flow *f,
                          bool *unverified)
{
    *unverified = false;
    bool port_ok = f->port >= a->port_lo && f->port <= a->port_hi;
    switch (a->kind) {
    case QW_ALLOW_ANY: return true;
    case QW_ALLOW_TRANSPORT:
        if (a->ipproto == 1) return f->ipproto == 1 || f->ipproto == 58;
        if (a->ipproto == 6 || a->ipproto == 17) return f->ipproto == a->ipproto && port_ok;
        return f->ipproto == a->ipproto;
    default: {
        unsigned t = qw_site_proto_transports(a->app);
        bool transport_ok = (f->ipproto == 6 && (t & QW_PT_TCP)) ||
                            (f->ipproto == 17 && (t & QW_PT_UDP));
        if (!transport_ok || !port_ok) return false;
        if (!f->app || !*f->app) {
            *unverified = true; /* no parser recognised the flow: the port has to do */
            return true;
        }
        return strcmp(f->app, qw_site_proto_name(a->app)) == 0;
    }
    }
}

struct qw_site_decision qw_site_conduit_check(const struct qw_site *s, const struct qw_site_flow *f)
{
    struct qw_site_decision d = {0};
    if (!f->from || !f->to) {
        d.verdict = QW_CONDUIT_UNZONED;
        return d;
    }
    if (f->from == f->to) {
        d.verdict = QW_CONDUIT_SAME_ZONE;
        return d;
    }
    /* the conduits of this (from, to) pair: the first one not before it, then a short run */
    const struct qw_site_conduit *const *c = s->index->conduits;
    size_t lo = 0, hi = s->nconduits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct qw_site_conduit *m = c[mid];
        if (m->from->index < f->from->index ||
            (m->from->index == f->from->index && m->to->index < f->to->index))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->nconduits || c[lo]->from != f->from || c[lo]->to != f->to) {
        d.verdict = QW_CONDUIT_NO_CONDUIT;
        return d;
    }
    uint32_t allowed = 0;
    for (size_t i = lo; i < s->nconduits && c[i]->from == f->from && c[i]->to == f->to; i++) {
        for (uint32_t j = 0; j < c[i]->nallow; j++) {
            bool unverified;
            if (!entry_matches(&c[i]->allow[j], f, &unverified)) continue;
            if (!d.conduit || (d.app_unverified && !unverified)) {
                d.conduit = c[i];
                d.entry = &c[i]->allow[j];
                d.app_unverified = unverified;
            }
            allowed |= c[i]->opclasses;
            break;
        }
    }
    if (!d.conduit) {
        d.verdict = QW_CONDUIT_PROTOCOL;
        d.conduit = c[lo];
        return d;
    }
    d.denied = qw_site_opclasses_of(f->ops) & ~allowed;
    d.verdict = d.denied ? QW_CONDUIT_OPERATION : QW_CONDUIT_ALLOWED;
    return d;
}

const char *qw_site_verdict_name(enum qw_site_verdict v)
{
    switch (v) {
    case QW_CONDUIT_SAME_ZONE: return "same_zone";
    case QW_CONDUIT_ALLOWED: return "allowed";
    case QW_CONDUIT_UNZONED: return "unzoned";
    case QW_CONDUIT_NO_CONDUIT: return "no_conduit";
    case QW_CONDUIT_PROTOCOL: return "protocol_not_allowed";
    case QW_CONDUIT_OPERATION: return "operation_not_allowed";
    }
    return "?";
}

/* ---- change records and windows ----------------------------------------------------------- */

size_t qw_site_changes_active(const struct qw_site *s, uint64_t t_ns,
                              const struct qw_site_zone *zone, const struct qw_site_asset *asset,
                              uint32_t kinds, const struct qw_site_change **out, size_t max)
{
    if (t_ns > (uint64_t)INT64_MAX) return 0;
    int64_t t = (int64_t)t_ns;
    size_t n = 0;
    for (uint32_t i = 0; i < s->nchanges; i++) {
        const struct qw_site_change *c = &s->changes[i];
        if (t < c->start_ns || t > c->end_ns || (kinds && !(c->expect & kinds))) continue;
        bool covered = false;
        for (uint32_t j = 0; j < c->nscope && !covered; j++) {
            const struct qw_site_selector *sel = &c->scope[j];
            covered = (sel->kind == QW_SEL_ZONE && zone && sel->zone == zone) ||
                      (sel->kind == QW_SEL_ASSET && asset && sel->asset == asset);
        }
        if (!covered) continue;
        if (n < max) out[n] = c;
        n++;
    }
    return n;
}

bool qw_site_window_contains(const struct qw_site_window *w, uint64_t t_ns)
{
    struct qw_local_time lt;
    qw_tz_local(w->tz, (int64_t)(t_ns / 1000000000u), &lt);
    return (w->days & (1u << lt.wday)) && lt.sec_of_day >= (int32_t)w->start_min * 60 &&
           lt.sec_of_day < (int32_t)w->end_min * 60;
}

bool qw_site_in_maintenance(const struct qw_site_zone *z, uint64_t t_ns)
{
    for (uint32_t i = 0; i < z->nmaintenance; i++)
        if (qw_site_window_contains(&z->maintenance[i], t_ns)) return true;
    return false;
}

bool qw_site_remote_window_open(const struct qw_site *s, uint64_t t_ns)
{
    if (s->remote.nwindows == 0) return true;
    for (uint32_t i = 0; i < s->remote.nwindows; i++)
        if (qw_site_window_contains(&s->remote.windows[i], t_ns)) return true;
    return false;
}

bool qw_site_is_jump_host(const struct qw_site *s, const struct qw_site_host *h)
{
    const struct qw_site_asset *a = qw_site_asset_of(s, h);
    for (uint32_t i = 0; i < s->remote.njump_hosts; i++) {
        const struct qw_site_jump_host *j = &s->remote.jump_hosts[i];
        if (j->asset && a == j->asset) return true;
        if (!j->by_asset && h->ip && memcmp(j->ip.b, h->ip->b, 16) == 0) return true;
    }
    return false;
}

bool qw_site_in_vpn_pool(const struct qw_site *s, const struct qw_addr *ip)
{
    for (uint32_t i = 0; ip && i < s->remote.nvpn_pools; i++)
        if (qw_addr_in_cidr(ip, &s->remote.vpn_pools[i])) return true;
    return false;
}

bool qw_site_remote_target(const struct qw_site *s, const struct qw_site_zone *z)
{
    for (uint32_t i = 0; z && i < s->remote.nzones; i++)
        if (s->remote.zones[i] == z) return true;
    return false;
}

bool qw_site_remote_party(const struct qw_site *s, const struct qw_site_party *p)
{
    for (uint32_t i = 0; p && i < s->remote.nparties; i++)
        if (s->remote.parties[i] == p) return true;
    return false;
}
