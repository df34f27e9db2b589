#include "inventory/place.h"

#include <string.h>

void qw_asset_place(const struct qw_site *site, const struct qw_asset *a,
                    struct qw_asset_place *out)
{
    memset(out, 0, sizeof *out);
    if (!site) return;
    struct qw_addr ip;
    bool have_ip = a->nips && qw_addr_parse(a->ips[0].ip, &ip);
    const char *roles[8];
    size_t nroles = 0;
    for (size_t i = 0; i < a->nroles && nroles < 8; i++) roles[nroles++] = a->roles[i].role;
    struct qw_site_host h = {
        .ip = have_ip ? &ip : NULL,
        .mac = a->nmacs ? a->macs[0].mac : NULL,
        /* an interface without an address (a replaced router) still has its segment */
        .vlan = a->nips ? a->ips[0].vlan : a->nmacs ? a->macs[0].vlan : 0,
        .hostname = a->hostname,
        .roles = roles,
        .nroles = nroles,
    };
    out->owner = qw_site_owner_of(site, &h);
    out->zone = out->owner.zone;
    out->declared = out->owner.asset;
    if (out->declared && out->declared->function >= 0)
        out->function = qw_site_function_names[out->declared->function];
    else if (out->zone && out->zone->function >= 0)
        out->function = qw_site_function_names[out->zone->function];
    if (out->declared) out->criticality = qw_site_criticality_names[out->declared->criticality];
}
