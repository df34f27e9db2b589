#include "inventory/place.h"

#include <string.h>

/* A device with several addresses (a router has one per segment) may fall under a different
 * rule at each. The strongest decides: a declared asset over a module, over a zone, over the
 * site's default; on a tie, its first address (the lowest). Findings about one address take
 * that address's owner; this keeps the inventory's answer from depending on which address
 * happens to sort first when the site declares the device by another one. */
static int strength(const struct qw_site_owner *o)
{
    int r = 0;
    switch (o->rule) {
    case QW_OWNER_ASSET: r = 4; break;
    case QW_OWNER_MODULE: r = 3; break;
    case QW_OWNER_ZONE: r = 2; break;
    case QW_OWNER_DEFAULT: r = 1; break;
    case QW_OWNER_NONE: r = 0; break;
    }
    /* a declaration without an owner still names the device, its function and criticality */
    return r + (o->asset ? 8 : 0);
}

/* Addresses of one device looked at; a device with more (a NAT box) is placed by these. */
#define PLACE_MAX_IPS 64u

void qw_asset_place(const struct qw_site *site, const struct qw_asset *a,
                    struct qw_asset_place *out)
{
    memset(out, 0, sizeof *out);
    if (!site) return;
    const char *roles[8];
    size_t nroles = 0;
    for (size_t i = 0; i < a->nroles && nroles < 8; i++) roles[nroles++] = a->roles[i].role;
    size_t nips = a->nips < PLACE_MAX_IPS ? a->nips : PLACE_MAX_IPS;
    int best = -1;
    for (size_t i = 0; i < (nips ? nips : 1); i++) {
        struct qw_addr ip;
        bool have_ip = nips && qw_addr_parse(a->ips[i].ip, &ip);
        struct qw_site_host h = {
            .ip = have_ip ? &ip : NULL,
            .mac = a->nmacs ? a->macs[0].mac : NULL,
            /* an interface without an address (a replaced router) still has its segment */
            .vlan = nips ? a->ips[i].vlan : a->nmacs ? a->macs[0].vlan : 0,
            .hostname = a->hostname,
            .roles = roles,
            .nroles = nroles,
        };
        struct qw_site_owner o = qw_site_owner_of(site, &h);
        int s = strength(&o);
        if (s > best) {
            best = s;
            out->owner = o;
        }
    }
    out->zone = out->owner.zone;
    out->declared = out->owner.asset;
    if (out->declared && out->declared->function >= 0)
        out->function = qw_site_function_names[out->declared->function];
    else if (out->zone && out->zone->function >= 0)
        out->function = qw_site_function_names[out->zone->function];
    if (out->declared) out->criticality = qw_site_criticality_names[out->declared->criticality];
}
