/* The inventory held against the advisories in the store: which assets an advisory names, and
 * whether their firmware is among the versions it says are affected (docs/vulnerabilities.md).
 *
 * For each asset with a vendor and a model: every advisory product of the same vendor
 * (product.h qw_vendor_same) that the model names (qw_product_match), and whose version set
 * holds the asset's firmware (version.h qw_vers_contains). What the advisory's vulnerabilities
 * say of that product decides: known_affected (or first_/last_affected) is a hit, affected
 * when the firmware is in the set, possibly affected when no firmware was seen or the set
 * cannot be read. A product whose set holds the firmware and that any imported document marks
 * fixed or known_not_affected for a CVE (a vendor's VEX) takes that CVE off the asset. One hit
 * per asset and advisory. */
#ifndef QW_VULN_MATCH_H
#define QW_VULN_MATCH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "inventory/inventory.h"

struct qw_vuln_hit {
    size_t asset;        /* index into the inventory's assets */
    char advisory[48];   /* tracking id, "ICSA-23-222-09" */
    char title[160];
    char product[160];   /* the product as the advisory names it (its leaf's name) */
    char versions[96];   /* the leaf's version set, "vers:all/<V3.2.19" */
    char model[QW_INV_VALUE_MAX]; /* the asset's model that named it */
    const char *basis;   /* "model_number" or "product_name" */
    bool affected;       /* the firmware is in the set (or every version is); else possibly */
    double cvss;         /* highest CVSS v3 base score of its CVEs, -1 when none is given */
    char cves[200];      /* "CVE-2022-4304, CVE-2023-0286", as many as fit, then "..." */
    size_t ncves;
    char fix[240];       /* the advisory's vendor fix for the product, else a mitigation */
    char url[160];       /* the advisory's own address */
};

struct qw_vuln_hits {
    struct qw_vuln_hit *v;
    size_t n, cap;
    size_t advisories; /* advisories in the store */
};

/* Match every asset of `inv` against the store's advisories, in asset then advisory order. False
 * with a message on a store error (a store without advisories is none: no hits). */
bool qw_vuln_match(sqlite3 *db, const struct qw_inventory *inv, struct qw_vuln_hits *out,
                   char *err, size_t errlen);
void qw_vuln_hits_free(struct qw_vuln_hits *h);

/* The severity word a hit deserves from its CVSS score (CVSS v3.1 s.5 ratings: 9.0 critical,
 * 7.0 high, 4.0 medium, below low; no score: medium): "critical", "high", ... */
const char *qw_vuln_cvss_rating(double cvss);

#endif
