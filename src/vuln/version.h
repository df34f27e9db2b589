/* Firmware versions as vendors write them, and the version sets of CSAF 2.0 advisories.
 *
 * An advisory's product tree ends in leaves of two kinds: `product_version` names one version
 * ("Firmware__20.011", "v.32.011"), `product_version_range` a set, in the `vers:` scheme
 * ("vers:all/<V5.2.6", "vers:all/\*") or in the vendor's own words ("< 15.0 SP1", "<= 3.7",
 * ">= V2.3.0 < V2.3.4", "28  - 32", "2.00 | 2.03", "All versions with ... < 11").
 * docs/vulnerabilities.md lists the forms read and how. */
#ifndef QW_VULN_VERSION_H
#define QW_VULN_VERSION_H

#include <stdbool.h>

/* Order two versions: below 0 when a is older than b, 0 when the same, above 0 when newer.
 * Prefixes that say "version" (V, v., Firmware, FW...) are not part of the version; numbers
 * compare as numbers (V3.2.7 < V3.2.19), letters and suffixes after them as text. A total
 * order: antisymmetric and transitive for any two strings, so results never depend on which
 * side is asked first. */
int qw_version_cmp(const char *a, const char *b);

enum qw_vers_verdict {
    QW_VERS_OUTSIDE, /* the firmware is not one of the versions named */
    QW_VERS_INSIDE,  /* it is */
    QW_VERS_UNKNOWN, /* no firmware was seen, or the expression cannot be read */
};

/* Is `firmware` (as the inventory has it; NULL or "" when none was seen) among the versions a
 * leaf names? `expr` is the leaf's name, `is_range` true for product_version_range and false
 * for product_version. An expression that covers every version gives INSIDE without a
 * firmware. UNKNOWN, never a guess, when the leaf or the firmware cannot be read safely, when
 * the leaf adds a condition in words and the firmware is inside, and when the answer depends
 * on digits one side leaves out ("28 - 32" with 32.011, "<V2.2.3" with "V2.2"). */
enum qw_vers_verdict qw_vers_contains(const char *expr, bool is_range, const char *firmware);

/* True when the expression names every version: "vers:<scheme>/" and a star (written
 * "vers:all/\*" in these comments), or "All versions"; never for "vers:none/\*". */
bool qw_vers_is_all(const char *expr);

#endif
