#include "baseline/verify.h"

#include <string.h>

#include "inventory/place.h"

static const struct qw_asset *find(const struct qw_inventory *inv, const char *id)
{
    return id[0] ? qw_inventory_find_id(inv, id) : NULL;
}

/* Zone and declared asset of one end: from the inventory, else (a gone asset) from its IP. */
static void place_of(const struct qw_site *site, const struct qw_inventory *inv, const char *id,
                     const char *ip, struct qw_asset_place *pl)
{
    const struct qw_asset *a = find(inv, id);
    if (a) {
        qw_asset_place(site, a, pl);
        return;
    }
    memset(pl, 0, sizeof *pl);
    struct qw_addr addr;
    if (ip && ip[0] && qw_addr_parse(ip, &addr)) {
        pl->zone = qw_site_zone_of(site, &addr, 0, NULL);
        pl->declared = qw_site_asset_by_ip(site, &addr);
        struct qw_site_host h = {.ip = &addr};
        pl->owner = qw_site_owner_of(site, &h);
    }
}

static bool is_edge(const struct qw_change *c)
{
    return c->kind == QW_CH_COMM_NEW_EDGE || c->kind == QW_CH_COMM_NEW_PROTOCOL ||
           c->kind == QW_CH_COMM_NEW_OPERATION;
}

static bool covers(const struct qw_site_change *rec, const struct qw_asset_place *pl)
{
    for (uint32_t i = 0; i < rec->nscope; i++) {
        const struct qw_site_selector *s = &rec->scope[i];
        if (s->kind == QW_SEL_ZONE && pl->zone == s->zone) return true;
        if (s->kind == QW_SEL_ASSET && pl->declared == s->asset) return true;
    }
    return false;
}

bool qw_change_in_scope(const struct qw_site *site, const struct qw_inventory *inv,
                        const struct qw_change *c, const struct qw_site_change *rec)
{
    struct qw_asset_place a, p;
    place_of(site, inv, c->asset, c->ip, &a);
    if (covers(rec, &a)) return true;
    if (!is_edge(c)) return false;
    place_of(site, inv, c->peer, NULL, &p);
    return covers(rec, &p);
}

void qw_change_verify(const struct qw_site *site, const struct qw_inventory *inv,
                      const struct qw_change *c, struct qw_change_verdict *out)
{
    memset(out, 0, sizeof *out);
    if (!site) return;
    struct qw_asset_place a, p;
    place_of(site, inv, c->asset, c->ip, &a);
    out->owner = a.owner.party;
    out->zone = a.zone;
    bool edge = is_edge(c);
    if (edge) {
        place_of(site, inv, c->peer, NULL, &p);
        out->peer_zone = p.zone;
    }
    /* the kinds of enum qw_change_kind and enum qw_site_change_kind are in the same order */
    uint32_t kind = 1u << c->kind;
    for (uint32_t i = 0; i < site->nchanges; i++) {
        const struct qw_site_change *rec = &site->changes[i];
        if (!(rec->expect & kind)) continue;
        if ((int64_t)c->when_ns < rec->start_ns || (int64_t)c->when_ns > rec->end_ns) continue;
        if (covers(rec, &a) || (edge && covers(rec, &p))) {
            out->record = rec;
            return;
        }
    }
}

/* The two vocabularies must stay in step (docs/baseline.md and docs/site-file.md). */
_Static_assert(QW_CH_KIND_COUNT == QW_CHG_COUNT, "change kinds differ from the site file's");
_Static_assert((1u << QW_CH_ASSET_NEW) == QW_CHG_ASSET_NEW, "asset.new");
_Static_assert((1u << QW_CH_ASSET_GONE) == QW_CHG_ASSET_GONE, "asset.gone");
_Static_assert((1u << QW_CH_ASSET_MAC_CHANGED) == QW_CHG_ASSET_MAC_CHANGED, "asset.mac_changed");
_Static_assert((1u << QW_CH_ASSET_VENDOR_CHANGED) == QW_CHG_ASSET_VENDOR_CHANGED, "vendor");
_Static_assert((1u << QW_CH_ASSET_IDENTITY_CHANGED) == QW_CHG_ASSET_IDENTITY_CHANGED, "identity");
_Static_assert((1u << QW_CH_ASSET_ROLE_CHANGED) == QW_CHG_ASSET_ROLE_CHANGED, "role");
_Static_assert((1u << QW_CH_COMM_NEW_EDGE) == QW_CHG_COMM_NEW_EDGE, "comm.new_edge");
_Static_assert((1u << QW_CH_COMM_NEW_PROTOCOL) == QW_CHG_COMM_NEW_PROTOCOL, "comm.new_protocol");
_Static_assert((1u << QW_CH_COMM_NEW_OPERATION) == QW_CHG_COMM_NEW_OPERATION, "new_operation");
