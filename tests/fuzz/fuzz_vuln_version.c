/* Fuzz harness for version order and version sets (src/vuln/version.c) and for vendor and
 * model matching (src/vuln/product.c). Firmware strings come from packets and advisories from
 * outside: every byte is hostile. An input is split at its first newline (else in half) into
 * an expression and a firmware. Invariants: the order is reflexive and antisymmetric, and
 * transitive against a set of real versions; verdicts do not change between calls; a leaf
 * naming all versions is INSIDE for any firmware, and without a firmware nothing else is
 * INSIDE; vendor matching is symmetric. The replay driver feeds the payloads of the text-heavy
 * HTTP captures (and their mutations). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vuln/product.h"
#include "vuln/version.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "http";

static const char *const versions[] = {
    "", "0", "1", "1.0", "1.0 SP1", "1 beta", "V3.2.7", "V3.2.19", "15.2(8)E7", "11.A", "20.011",
    "Firmware__20.054_kit1", "V18.0 Update 1", "2.6-GA-01-23116", "x", "abc",
};

static const char *const leaves[] = {
    "vers:all/*", "vers:all/<V5.2.6", "vers:all/>=V5.4<V5.5 SP1", "< 15.0 SP1", "<= 3.7",
    ">= V2.3.0 < V2.3.4", "<=v15.28E7", ">FW19_up_to_and_including_FW26", "28  - 32",
    "2.00 | 2.03", ">=1.220|<=1.281", "All versions", "Firmware__20.011",
};

static int sign(int x) { return (x > 0) - (x < 0); }

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0'; /* an embedded NUL just ends the string early */
    return s;
}

static void check_order(const char *a, const char *b)
{
    if (qw_version_cmp(a, a) != 0 || qw_version_cmp(b, b) != 0) abort();
    int ab = sign(qw_version_cmp(a, b));
    if (ab != -sign(qw_version_cmp(b, a))) abort();
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
        int bc = sign(qw_version_cmp(b, versions[i])), ac = sign(qw_version_cmp(a, versions[i]));
        if (ab <= 0 && bc <= 0 && ac > 0) abort();
        if (ab == 0 && bc != ac) abort();
    }
}

static void check_verdicts(const char *expr, const char *fw)
{
    bool all = qw_vers_is_all(expr);
    for (int range = 0; range < 2; range++) {
        enum qw_vers_verdict v = qw_vers_contains(expr, range, fw);
        if (qw_vers_contains(expr, range, fw) != v) abort();
        if (all && v != QW_VERS_INSIDE) abort();
        enum qw_vers_verdict none = qw_vers_contains(expr, range, NULL);
        if (none == QW_VERS_INSIDE && !all) abort();
        if (qw_vers_contains(expr, range, "") != none) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t cut = nl ? (size_t)(nl - data) : size / 2;
    char *expr = dup_n(data, cut);
    char *fw = dup_n(data + cut + (nl ? 1 : 0), size - cut - (nl ? 1 : 0));

    check_order(expr, fw);
    check_verdicts(expr, fw);
    for (size_t i = 0; i < sizeof leaves / sizeof *leaves; i++) {
        check_verdicts(leaves[i], fw); /* real leaves against a hostile firmware */
        check_verdicts(expr, leaves[i]);
    }

    if (qw_vendor_same(expr, fw) != qw_vendor_same(fw, expr)) abort();
    const char *numbers[] = {fw, "6ES7315-2EH14-0AB0"};
    enum qw_product_match m = qw_product_match(expr, fw, numbers, 2);
    if (m != qw_product_match(expr, fw, numbers, 2)) abort();
    if (m == QW_PRODUCT_NAME && qw_product_match(expr, fw, NULL, 0) != QW_PRODUCT_NAME) abort();

    free(expr);
    free(fw);
    return 0;
}
