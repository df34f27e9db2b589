/* CSAF 2.0 security advisories (OASIS CSAF 2.0, sections 3.1 and 4), read into the store.
 *
 * What is kept of a document: its tracking id, title, publisher, version and release date; one
 * row per leaf of its product tree (the vendor, product family and product name branches above
 * the leaf, the version set the leaf names, its model numbers); one row per vulnerability (CVE,
 * title, the highest CVSS v3 base score given for it); what the vulnerability's product_status
 * says of each product; the remediations. docs/vulnerabilities.md says how they are matched. */
#ifndef QW_VULN_CSAF_H
#define QW_VULN_CSAF_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what one document may bring: a document past them is refused whole, not cut. */
#define QW_CSAF_MAX_DEPTH 16        /* nesting of product tree branches (CISA: 3 or 4) */
#define QW_CSAF_MAX_PRODUCTS 100000 /* leaves of the product tree */
#define QW_CSAF_MAX_TEXT 4096       /* bytes kept of any one text; longer ones are cut */

struct qw_csaf_counts {
    size_t products, vulns, statuses, remediations;
};

struct qw_csaf_stmts; /* the prepared inserts, made once per import */

/* Prepare the inserts on `db` (schema 10 or later); NULL with a message on failure. */
struct qw_csaf_stmts *qw_csaf_prepare(sqlite3 *db, char *err, size_t errlen);
void qw_csaf_finalize(struct qw_csaf_stmts *st);

/* Put one parsed document into the store, replacing the rows of an advisory of the same id.
 * The caller holds the transaction: on false (a document that is not CSAF, or breaks the
 * bounds; err names the member, as in "vulnerabilities[2].product_status: not an object") the
 * caller rolls it back. `id_out` (may be NULL) receives the advisory's id. */
bool qw_csaf_import(struct qw_csaf_stmts *st, json_t *doc, const char *source, uint64_t now_ns,
                    struct qw_csaf_counts *counts, char *id_out, size_t id_cap, char *err,
                    size_t errlen);

#endif
