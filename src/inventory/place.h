/* Where an asset stands in the declared site (docs/site-file.md): its zone, its owner and the
 * rule that decided, the declared asset it is, its terminal function and criticality. */
#ifndef QW_INVENTORY_PLACE_H
#define QW_INVENTORY_PLACE_H

#include "inventory/inventory.h"
#include "site/model.h"

struct qw_asset_place {
    const struct qw_site_zone *zone;         /* NULL: in no zone */
    struct qw_site_owner owner;              /* owner.party NULL: nobody answers for it */
    const struct qw_site_asset *declared;    /* NULL: not declared */
    const char *function;                    /* declared asset's, else its zone's; NULL none */
    const char *criticality;                 /* declared, else NULL */
};

/* `site` may be NULL: everything NULL. */
void qw_asset_place(const struct qw_site *site, const struct qw_asset *a,
                    struct qw_asset_place *out);

#endif
