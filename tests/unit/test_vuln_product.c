/* Vendor and model matching (src/vuln/product.c) on the names of the CSAF corpus and of the
 * inventory: company forms, aliases and false friends for vendors; order numbers, catalogue
 * numbers with a series, Omron placeholders and generic names for models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vuln/product.h"

static void same(const char *a, const char *b, bool want)
{
    if (qw_vendor_same(a, b) != want)
        fail_msg("vendor \"%s\" ~ \"%s\": %s, want %s", a ? a : "(null)", b ? b : "(null)",
                 want ? "different" : "same", want ? "same" : "different");
}

static void test_vendor_same(void **state)
{
    (void)state;
    same("Siemens", "Siemens", true);
    same("Siemens AG", "Siemens", true);
    same("SIEMENS AG", "siemens", true);
    same("Mitsubishi Electric", "Mitsubishi Electric Corporation", true);
    same("Mitsubishi Electric", " Mitsubishi Electric", true); /* blanks in the corpus */
    same("Mitsubishi Electric", "Mitsubishi Electric\xc2\xa0", true); /* and a no-break space */
    same("Mitsubishi Electric", "Mitsubishi Electric India", true);
    same("Mitsubishi Electric", "ICONICS, Mitsubishi Electric", true); /* two companies */
    same("ICONICS", "ICONICS, Mitsubishi Electric", true);
    same("Hirschmann Automation and Control GmbH", "Hirschmann Automation and Control GmbH, "
                                                   "Belden Inc.", true);
    same("Belden", "Hirschmann Automation and Control GmbH, Belden Inc.", true);
    same("Hirschmann", "Hirschmann Automation and Control GmbH, Belden Inc.", true);
    same("Rockwell Automation", "Rockwell Automation ", true);
    same("Rockwell Automation, Inc.", "Rockwell Automation", true);
    same("Allen-Bradley", "Rockwell Automation", true); /* aliases */
    same("Schneider Electric", "Schneider Electric Software, LLC", true);
    same("Schneider Electric SE", "Schneider Electric", true);
    same("Cisco Systems, Inc", "Cisco", true);
    same("Phoenix Contact GmbH & Co. KG", "Phoenix Contact", true);
    same("Moxa Inc.", "Moxa", true);
    same("Omron Corporation", "Omron", true);
    same("Beckhoff Automation GmbH & Co. KG", "Beckhoff", true);
    same("GE", "GE Digital", true);
    same("Veeder-Root", "Veeder Root", true);
    same("Nestle S.A.", "Nestle", true);
    /* false friends */
    same("GE", "GEA", false);
    same("GEA Group", "GE Digital", false);
    same("GE Digital", "GE Vernova", false);
    same("ABB", "Abbott", false);
    same("Mitsubishi Electric", "Mitsubishi Heavy Industries", false);
    same("Schneider Electric", "Schneider Kreuznach", false);
    same("Siemens", "Siemens Healthineers", true); /* a prefix: the same group, accepted */
    same("Electric", "Schneider Electric", false);
    same("General", "General Electric", false); /* a generic word alone is no company */
    same("Automation", "Rockwell Automation", false);
    same("Hitachi", "Hitachi Energy", true);
    same("Omron", "Omnron", false);
    same("Inc.", "Inc.", false); /* nothing but a company form */
    same("AG", "Siemens AG", false);
    same("", "", false);
    same("Siemens", "", false);
    same(NULL, "Siemens", false);
    same("Siemens", NULL, false);
    same("Allen", "Allen-Bradley", false); /* the alias is the whole name */
    same("Bradley", "Allen-Bradley", false);
    same("Rockwell", "Allen-Bradley", true); /* through the alias */
}

static void model(const char *asset, const char *name, const char *const *mn, size_t n,
                  enum qw_product_match want)
{
    enum qw_product_match got = qw_product_match(asset, name, mn, n);
    if (got != want)
        fail_msg("model \"%s\" in \"%s\": %d, want %d", asset ? asset : "(null)",
                 name ? name : "(null)", got, want);
}

#define NONE QW_PRODUCT_NONE
#define BY_NUMBER QW_PRODUCT_MODEL_NUMBER
#define BY_NAME QW_PRODUCT_NAME

static void test_model_numbers(void **state)
{
    (void)state;
    static const char *const scalance[] = {"6GK5204-2BB10-2AA3"};
    static const char *const cpu[] = {"6ES7315-2AH14-0AB0", "6ES7315-2EH14-0AB0"};
    static const char *const enbt[] = {"1756-ENBT"};
    model("6GK5204-2BB10-2AA3", "SCALANCE X204-2", scalance, 1, BY_NUMBER);
    model("6gk5204-2bb10-2aa3", "SCALANCE X204-2", scalance, 1, BY_NUMBER);
    model("6ES7 315-2EH14-0AB0", "SIMATIC S7-300 CPU 315-2 PN/DP", cpu, 2, BY_NUMBER);
    model("6ES7 315-2EH14-0AB1", "SIMATIC S7-300 CPU 315-2 PN/DP", cpu, 2, NONE);
    model("6ES7315-2EH14", "SIMATIC S7-300 CPU 315-2 PN/DP", cpu, 2, NONE); /* no prefixes */
    model("1756-ENBT/A", "1756-ENBT", enbt, 1, BY_NUMBER); /* the series is not the product */
    model("1756-ENBT/A", "ControlLogix", NULL, 0, NONE);
    static const char *const with_null[] = {NULL, "", "6GK5204-2BB10-2AA3"};
    model("6GK5204-2BB10-2AA3", NULL, with_null, 3, BY_NUMBER);
}

static void test_model_in_name(void **state)
{
    (void)state;
    /* an order number in the name, written without the space the inventory has */
    model("6ES7 315-2EH14-0AB0", "SIMATIC S7-300 CPU 315-2 PN/DP (6ES7315-2EH14-0AB0)", NULL, 0,
          BY_NAME);
    model("6GK5204-2BB10-2AA3", "SCALANCE X204-2 (6GK5204-2BB10-2AA3)", NULL, 0, BY_NAME);
    /* catalogue numbers: the series off, and a series the name gives must be ours */
    model("1756-EN2T/A", "1756-EN2T Series A", NULL, 0, BY_NAME);
    model("1756-EN2T/B", "1756-EN2T Series A", NULL, 0, NONE);
    model("1756-EN2T/D", "1756-EN2T", NULL, 0, BY_NAME);
    model("1756-EN2T/A", "1756-EN2TXT Series A", NULL, 0, NONE);
    model("1756-EN2T/A", "1756-EN2T/A", NULL, 0, BY_NAME);
    model("1756-EN2T/A", "1756-EN2T/B", NULL, 0, NONE);
    model("1756-EN2T", "1756-EN2TR Series A", NULL, 0, NONE);
    model("1756-ENBT/A", "ControlLogix 1756-ENBT communication module", NULL, 0, BY_NAME);
    /* Omron placeholders: one character each, blanks around them do not count */
    model("CP1L-EL20DR-D", "CP1L-EL20D \xe2\x96\xa1 - \xe2\x96\xa1", NULL, 0, BY_NAME);
    model("CP1L-EL20DR-D", "CP1L-EL20D \xe2\x96\xa1", NULL, 0, NONE);
    model("CJ2H-CPU64", "CJ2H-CPU6 \xe2\x96\xa1", NULL, 0, BY_NAME);
    model("CJ2H-CPU64", "CJ2H-CPU6 \xe2\x96\xa1 -EIP", NULL, 0, NONE);
    model("CJ2H-CPU64-EIP", "CJ2H-CPU6 \xe2\x96\xa1 -EIP", NULL, 0, BY_NAME);
    model("CJ2H-CPU64-EIP", "CJ2H-CPU6 \xe2\x96\xa1", NULL, 0, NONE);
    model("CJ1G-CPU45P", "CJ1G-CPU \xe2\x96\xa1 \xe2\x96\xa1 P", NULL, 0, BY_NAME);
    /* a placeholder is a letter or a digit, not "-" */
    model("CJ1G-CPU4-P", "CJ1G-CPU \xe2\x96\xa1 \xe2\x96\xa1 P", NULL, 0, NONE);
    model("CP1E-E20SDR-A", "CP1E-E \xe2\x96\xa1 \xe2\x96\xa1 D \xe2\x96\xa1 - \xe2\x96\xa1", NULL,
          0, NONE); /* "20S" is three characters for two placeholders */
    model("CP1E-E20DR-A", "CP1E-E \xe2\x96\xa1 \xe2\x96\xa1 D \xe2\x96\xa1 - \xe2\x96\xa1", NULL,
          0, BY_NAME);
    /* whole tokens only */
    model("CP1L", "CP1L-EL20D", NULL, 0, NONE);
    model("S7-1200", "SIMATIC S7-1200 CPU family (incl. SIPLUS variants)", NULL, 0, BY_NAME);
    model("S7-1200", "SIMATIC S7-1200F", NULL, 0, NONE);
    model("S7-120", "SIMATIC S7-1200", NULL, 0, NONE);
    model("X204-2", "SCALANCE X204-2LD", NULL, 0, NONE);
    model("FC922", "Cerberus PRO UL Compact Panel FC922/924", NULL, 0, BY_NAME);
    model("V2.1", "Product V2.1.3", NULL, 0, NONE);
    /* generic or short models name nothing */
    model("PLC Server", "Rockwell Automation PLC Server", NULL, 0, NONE);
    model("SIMATIC NET PC Software", "SIMATIC NET PC Software V16", NULL, 0, NONE);
    model("HMI RT OMS+", "SIMATIC WinCC HMI RT OMS+", NULL, 0, NONE);
    model("S71", "S71 controller", NULL, 0, NONE);
    model("CPU", "CPU 1516", NULL, 0, NONE);
    model("", "CPU 1516", NULL, 0, NONE);
    model("   ", "CPU 1516", NULL, 0, NONE);
    model(NULL, "CPU 1516", NULL, 0, NONE);
    model("1516", NULL, NULL, 0, NONE);
}

static void test_hostile(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    assert_true(qw_vendor_same(big, big)); /* one long word: read once, linear */
    for (size_t i = 0; i < n; i++) big[i] = "ab "[i % 3];
    assert_false(qw_vendor_same(big, "ab")); /* more words than any vendor has */
    memset(big, '1', n);
    assert_int_equal(qw_product_match(big, big, NULL, 0), QW_PRODUCT_NONE); /* too long */
    assert_int_equal(qw_product_match("1A2B", big, NULL, 0), QW_PRODUCT_NONE);
    for (size_t i = 0; i + 3 <= n; i += 3) memcpy(big + i, "\xe2\x96\xa1", 3);
    big[n - n % 3] = '\0';
    assert_int_equal(qw_product_match("1A2B", big, NULL, 0), QW_PRODUCT_NONE); /* not whole */
    assert_int_equal(qw_product_match("1A2B", "\xe2\x96", NULL, 0), QW_PRODUCT_NONE);
    assert_int_equal(qw_product_match("1A2B", "1A2\xe2\x96", NULL, 0), QW_PRODUCT_NONE);
    assert_int_equal(qw_product_match("\xff\xfe" "12", "x \xff\xfe" "12 y", NULL, 0),
                     QW_PRODUCT_NONE); /* four bytes, two of them letters or digits */
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendor_same),
        cmocka_unit_test(test_model_numbers),
        cmocka_unit_test(test_model_in_name),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
