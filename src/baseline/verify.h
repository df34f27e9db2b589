/* Change verification: is a change covered by an approved change record of the site file?
 * (docs/baseline.md, "Documented or undocumented") */
#ifndef QW_BASELINE_VERIFY_H
#define QW_BASELINE_VERIFY_H

#include "baseline/baseline.h"
#include "site/model.h"

struct qw_change_verdict {
    const struct qw_site_change *record; /* the record that documents it; NULL: undocumented */
    const struct qw_site_party *owner;   /* who answers for the asset it touches; NULL: nobody */
    const struct qw_site_zone *zone;     /* the touched asset's zone, NULL: none */
    const struct qw_site_zone *peer_zone; /* edges: the client's zone */
};

/* A change is documented when a change record's window contains its time, its scope covers the
 * touched asset (or, for edges, either end) by zone or by declared asset, and it expects the
 * change's kind. The first such record in file order documents it. */
void qw_change_verify(const struct qw_site *site, const struct qw_inventory *inv,
                      const struct qw_change *c, struct qw_change_verdict *out);

/* Is the change inside the record's scope (by zone or declared asset, either end for edges)? */
bool qw_change_in_scope(const struct qw_site *site, const struct qw_inventory *inv,
                        const struct qw_change *c, const struct qw_site_change *rec);

#endif
