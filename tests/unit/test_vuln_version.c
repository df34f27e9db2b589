/* Version order and version sets (src/vuln/version.c) on the forms of the real CSAF leaves
 * (tests/data/vuln/leaves.py lists them): the order on real pairs and its laws on a set of
 * strings, each vers: and vendor form read or refused, and hostile inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vuln/version.h"

#define IN QW_VERS_INSIDE
#define OUT QW_VERS_OUTSIDE
#define UNK QW_VERS_UNKNOWN

static int sign(int x) { return (x > 0) - (x < 0); }

static void cmp_is(const char *a, const char *b, int want)
{
    int got = sign(qw_version_cmp(a, b)), back = sign(qw_version_cmp(b, a));
    if (got != want || back != -want)
        fail_msg("cmp(\"%s\", \"%s\") = %d (reverse %d), want %d", a, b, got, back, want);
}

static void test_cmp_real_pairs(void **state)
{
    (void)state;
    cmp_is("V3.2.7", "V3.2.19", -1);         /* numbers as numbers */
    cmp_is("15.0", "15.0 SP1", -1);          /* a service pack comes after */
    cmp_is("15.2(8)E7", "15.2(8)E8", -1);    /* Cisco rebuilds */
    cmp_is("15.2(8)E7", "15.2(10)E1", -1);   /* the release in brackets is a number */
    cmp_is("12.2(25)SEB4", "12.2(25)SEB4", 0);
    cmp_is("11.A", "11.B", -1);              /* Veeder-Root letters */
    cmp_is("11.0", "11.A", -1);              /* a letter comes after the version without it */
    cmp_is("Firmware__20.011", "20.011", 0); /* prefixes are not the version */
    cmp_is("v.32.011", "32.011", 0);
    cmp_is("Version v1.0", "1", 0);
    cmp_is("FW19", "19", 0);
    cmp_is("R520.2", "520.2", 0);
    cmp_is("SV2.6", "V2.6", 0);
    cmp_is("01.00", "1.0", 0); /* leading and trailing zeros */
    cmp_is("1.0", "1", 0);
    cmp_is("5.1.0.4400", "5.1.0.4401", -1);
    cmp_is("20.011", "20.11", 0);
    cmp_is("1.0.5", "1.5", -1);
    cmp_is("1.0.0.5", "1.0.5", -1); /* zeros inside count, each one */
    cmp_is("0.0.0.1", "0.0.1", -1);
    cmp_is("V15.0 SP1", "15 SP1", 0); /* a zero before a suffix adds nothing */
    cmp_is("V6.0 SP9 Upd4", "V6.0 SP9 Update 4", 0);
    cmp_is("<V16_Update_7", "V16 Update 7", 0);
    cmp_is("V16 Update 7", "V16 Update 10", -1);
    cmp_is("1.0 beta", "1.0", -1); /* a pre-release comes before */
    cmp_is("1.0 beta", "0.9", 1);
    cmp_is("1.04E", "1.04", 1);
    cmp_is("1.295H", "1.295I", -1);
    cmp_is("V2.3.1-1", "V2.3.1", 1);
    cmp_is("99999999999999999999999.1", "99999999999999999999998.2", 1); /* no overflow */
    cmp_is("", "", 0);
    cmp_is("", "0", 0);
    cmp_is("abc", "ABC", 0);
}

/* Antisymmetry, reflexivity and transitivity over every pair and triple of a set mixing real
 * versions, suffixes, prefixes and junk. */
static void test_cmp_laws(void **state)
{
    (void)state;
    static const char *const v[] = {
        "", "0", "0.0", "1", "1.0", "01.00", "1.0.0.5", "1.0a", "1a", "1.a", "1 SP1", "1.0 SP1",
        "1 beta", "1.0 rc1", "1.1", "1.10", "1.9", "2", "V2", "v.2", "Firmware__2.0", "2.0.1",
        "2 SP1", "2 Update 1", "2 Upd1", "2 HF1", "2.A", "2.B", "2.a", "15.2(8)E7", "15.28E7",
        "15.2(8)E", "15.2(8)", "15.2(10)E1", "x", "X.1", "abc", "ABC1", "...", "V", "Version",
        "vers:all/*", "20.054_kit1", "20.054", "20.54", "1.295H", "1.295",
        "\xff\xfe" "1", "1\xff" "2",
        "11.A", "11", "11.0.1", "11.0 SP1", "0 beta", "alpha", "0.0.1",
    };
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(qw_version_cmp(v[i], v[i]), 0);
        for (size_t j = 0; j < n; j++) {
            int ij = sign(qw_version_cmp(v[i], v[j])), ji = sign(qw_version_cmp(v[j], v[i]));
            if (ij != -ji) fail_msg("not antisymmetric: \"%s\" \"%s\"", v[i], v[j]);
            for (size_t k = 0; k < n; k++) {
                int jk = sign(qw_version_cmp(v[j], v[k])), ik = sign(qw_version_cmp(v[i], v[k]));
                if (ij <= 0 && jk <= 0 && ik > 0)
                    fail_msg("not transitive: \"%s\" <= \"%s\" <= \"%s\"", v[i], v[j], v[k]);
                if (ij == 0 && jk == 0 && ik != 0)
                    fail_msg("equality not transitive: \"%s\" \"%s\" \"%s\"", v[i], v[j], v[k]);
            }
        }
    }
}

struct row {
    const char *expr;
    bool range;
    const char *fw;
    enum qw_vers_verdict want;
};

static const char *verdict_name(enum qw_vers_verdict v)
{
    return v == IN ? "INSIDE" : v == OUT ? "OUTSIDE" : "UNKNOWN";
}

static void check_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum qw_vers_verdict got = qw_vers_contains(rows[i].expr, rows[i].range, rows[i].fw);
        if (got != rows[i].want)
            fail_msg("\"%s\" (%s) with firmware \"%s\": %s, want %s", rows[i].expr,
                     rows[i].range ? "range" : "version", rows[i].fw ? rows[i].fw : "(none)",
                     verdict_name(got), verdict_name(rows[i].want));
    }
}

#define CHECK(rows) check_rows(rows, sizeof rows / sizeof *rows)

/* The vers: scheme: one bound, bounds in pipes, the star, the spec's validity rules. */
static void test_vers_scheme(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"vers:all/*", true, NULL, IN}, /* all versions: no firmware needed */
        {"vers:all/*", true, "", IN},
        {"vers:all/*", false, "V1.0", IN}, /* 21 product_version leaves say it too */
        {" vers:all/ * ", true, "1", IN},
        {"vers:none/*", true, "1.0", OUT}, /* the empty set */
        {"vers:all/<V5.2.6", true, "V3.2.7", IN},
        {"vers:all/<V5.2.6", true, "V5.2.6", OUT},
        {"vers:all/<V5.2.6", true, "V5.2.19", OUT},
        {"vers:all/<V5.2.6", true, "5.2.5", IN},
        {"vers:all/<V5.2.6", true, NULL, UNK},
        {"vers:all/<V5.2.6", true, "", UNK},
        {"vers:all/<V5.2.6", true, "   ", UNK},
        {"vers:all/>=V11.5.1|<V11.6.2", true, "V11.5.1", IN},
        {"vers:all/>=V11.5.1|<V11.6.2", true, "V11.6.1", IN},
        {"vers:all/>=V11.5.1|<V11.6.2", true, "V11.6.2", OUT},
        {"vers:all/>=V11.5.1|<V11.6.2", true, "V11.4", OUT},
        {"vers:all/>=V5.4<V5.5 SP1", true, "V5.5", IN}, /* two bounds without a pipe */
        {"vers:all/>=V5.4<V5.5 SP1", true, "V5.5 SP1", OUT},
        {"vers:all/>=V5.4<V5.5 SP1", true, "V5.3", OUT},
        {"vers:all/>=V7.80", true, "V9.0", IN},
        {"vers:all/>=V7.80", true, "V7.8", OUT}, /* components are integers: 8 < 80 */
        {"vers:all/>=V7.80", true, "V7.79", OUT},
        {"vers:all/<V18.0 UPD 1 SR 1", true, "V18.0 Update 1", IN}, /* spaces go, per the spec */
        {"vers:all/<V18.0 UPD 1 SR 1", true, "V18.0 Update 1 SR 1", OUT},
        {"vers:all/<V20.2 HotfixRev14", true, "V20.2 HotfixRev13", IN},
        {"vers:all/<V23Q3", true, "V23Q2", IN},
        {"vers:all/<V14.2023-08-23", true, "V14.2023-08-22", IN},
        {"vers:generic/1.2.3|>=2.0.0|<5.0.0", true, "1.2.3", IN}, /* the spec's example */
        {"vers:generic/1.2.3|>=2.0.0|<5.0.0", true, "1.2.4", OUT},
        {"vers:generic/1.2.3|>=2.0.0|<5.0.0", true, "4.9", IN},
        {"vers:generic/1.2.3|>=2.0.0|<5.0.0", true, "5.0", OUT},
        {"vers:generic/>=1.0|!=1.5|<2.0", true, "1.5", OUT},
        {"vers:generic/>=1.0|!=1.5|<2.0", true, "1.6", IN},
        {"vers:generic/<1.0|>2.0", true, "0.5", IN},
        {"vers:generic/<1.0|>2.0", true, "1.5", OUT},
        {"vers:generic/<1.0|>2.0", true, "2.5", IN},
        {"vers:generic/||<1.0||", true, "0.5", IN}, /* empty constraints are ignored */
        {"vers:npm/<1.0", true, "0.5", UNK},     /* an order we do not implement */
        {"vers:all/<VX.223.0 Update 2", true, "V223.0", UNK}, /* a placeholder major */
        {"vers:all/<CPCI85 V05", true, "V04", UNK},           /* words before the version */
        {"vers:all/*_installed_on_CP200_devices", true, "1.0", UNK},
        {"vers:all/*_installed_on_CP200_devices", true, NULL, UNK},
        {"vers:all/*|<1", true, "1.0", UNK}, /* the star is alone or invalid */
        {"vers:all/<2.0|<3.0", true, "1.0", UNK}, /* two lessers in a row: invalid */
        {"vers:all/>=3|<2", true, "2.5", UNK},    /* not ascending */
        {"vers:all/1.0|1.0", true, "1.0", UNK},   /* a version twice */
        {"vers:all/<1%2e0", true, "0.5", UNK},    /* quoted characters are not decoded */
        {"vers:all/", true, "1.0", UNK},
        {"vers:", true, "1.0", UNK},
        {"vers:all", true, "1.0", UNK},
        {"vers:ALL/<1", true, "0.5", UNK}, /* the scheme is lowercase */
    };
    CHECK(rows);
}

/* The vendor forms of the corpus, quoted from the leaves. */
static void test_vendor_forms(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"< 15.0 SP1", true, "15.0", IN},
        {"< 15.0 SP1", true, "15.0 SP1", OUT},
        {"< 15.0 SP1", true, "14.2", IN},
        {"<= 3.7", true, "3.7", IN},
        {"<= 3.7", true, "3.6.9", IN},
        {"<= 3.7", true, "3.8", OUT},
        {"<= 3.7", true, "3.7.1", UNK}, /* "3.7" may name the 3.7 family */
        {">= V2.3.0 < V2.3.4", true, "V2.3.3", IN},
        {">= V2.3.0 < V2.3.4", true, "V2.3.4", OUT},
        {">= V2.3.0 < V2.3.4", true, "V2.2.9", OUT},
        {">=V10.0.0<V10.0.2", true, "10.0.1", IN},
        {"All Versions >= 1.16.4 < 1.17.2", true, "1.17.1", IN},
        {"All versions >= V6.1 < V6.1 HF2", true, "V6.1 HF1", IN},
        {"All versions >= V6.1 < V6.1 HF2", true, "V6.1 HF2", OUT},
        {"All versions < V15.1 Update 8", true, "V15.1 Update 7", IN},
        {"All versions < V23Q4", true, "V23Q3", IN},
        {"<11.A", true, "11.0", IN},
        {"<11.A", true, "11.B", OUT},
        {"<V3.2_SP2", true, "V3.2 SP1", IN},
        {"<V16_Update_7", true, "V16 Update 6", IN},
        {"<V16_Update_7", true, "V17", OUT},
        {"<V9.1_SP2_UC04", true, "V9.1 SP2 UC03", IN},
        {"<R520.2_TCU4_HF2", true, "R520.2 TCU4 HF1", IN},
        {"< R520.2", true, "R510.1", IN},
        {"< SV2.6", true, "SV2.5", IN},
        {"<=1.4.0_build221212", true, "1.4.0 build221211", IN},
        {"<=3.8.0_Feature_Pack_1", true, "3.8.0", IN},
        {"<=2.6-GA-01-23116", true, "2.6-GA-01-23115", IN},
        {"<=firmware_05", true, "04", IN},
        {"<=1.006_", true, "1.006", IN},
        {"<=1.01B", true, "1.01A", IN},
        {"<= 1.295H", true, "1.295I", OUT},
        {"<V2.3.1-1", true, "V2.3.0", IN},
        {"<V2.3.1-1", true, "V2.3.1", UNK}, /* 2.3.1 may be 2.3.1-2 */
        {">FW19_up_to_and_including_FW26", true, "FW20", IN},
        {">FW19_up_to_and_including_FW26", true, "19", OUT},
        {">FW19_up_to_and_including_FW26", true, "26", IN},
        {">FW19_up_to_and_including_FW26", true, "27", OUT},
        {"2.00 | 2.03", true, "2.03", IN},
        {"2.00 | 2.03", true, "2.02", OUT},
        {"8.001|8.002|9.001", true, "9.1", IN},
        {">=1.220|<=1.281", true, "1.250", IN},
        {">=1.220|<=1.281", true, "1.282", OUT},
        {">=13.0.0 | <= 13.0.2 | 13.1.0", true, "13.1.0", IN},
        {">=13.0.0 | <= 13.0.2 | 13.1.0", true, "13.0.5", OUT},
        {">v33.011|<v33.015", true, "v33.012", IN},
        {">=\"05\"|<=\"07\"", true, "06", IN},
        {">=\"05\"|<=\"07\"", true, "08", OUT},
        {"V1.10.1", true, "V1.10.1", IN}, /* a plain version in a range slot */
        {"V1.10.1", true, "V1.10.2", OUT},
        {"Firmware__20.011", false, "20.011", IN},
        {"Firmware__20.011", false, "20.012", OUT},
        {"Firmware__20.054_kit1", false, "20.054 kit1", IN},
        {"v.32.011", false, "32.011", IN},
        {"v.32.011", false, "V32.011", IN},
        {"15.0 SP1", false, "15.0 SP1", IN},
        {"Version v1.0", false, "1.0", IN},
        {"28  - 32", false, "28", IN},
        {"28  - 32", false, "30.011", IN},
        {"28  - 32", false, "27.5", OUT},
        {"28  - 32", false, "33", OUT},
        {"28  - 32", false, "32.011", UNK}, /* "32" may mean all of 32.x */
        {"01.14.000 -01.47.000", false, "1.20", IN},
        {"01.14.000 -01.47.000", false, "1.48", OUT},
        {"V34.011", false, "34", UNK}, /* a firmware less precise than the leaf */
        {"<V2.2.3", true, "V2.2", UNK},
        {"<V2.2.3", true, "V2.1", IN},
        {"All versions", true, NULL, IN},
        {"all versions", true, "1", IN},
        /* Cisco IOS in Stratix advisories loses its brackets: 15.2(8)E7 is "15.28E7" */
        {"<=v15.28E7", true, "15.2(8)E7", IN},
        {"<=v15.28E7", true, "15.2(8)E8", OUT},
        {"<=v15.28E7", true, "15.2(7)E9", IN},
        {"<=v15.28E7", true,
         "Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(25)SEB4, "
         "RELEASE SOFTWARE (fc1)",
         IN},
        {"<=15.28E5", true, "Cisco IOS Software, Version 15.2(8)E6, RELEASE SOFTWARE", OUT},
        {"<15.2{7}E2", true, "15.2(7)E1", IN},
    };
    CHECK(rows);
}

/* What is refused: words we cannot check, placeholders, lists that are not ranges. */
static void test_unknown_forms(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"All versions with Function State (FS) < 11", true, "1.0", UNK},
        {"All versions <= V2.5.0 and Function State (FS) <= 11", true, "2.0", UNK},
        {"All versions <= V2.5.0 and Function State (FS) <= 11", true, "3.0", UNK},
        {"All BIOS versions < V1.0.212N", true, "1.0", UNK},
        {"All versions with Fortinet NGFW", true, "7.0", UNK},
        {"All_versions_with_installed_WebRH", true, NULL, UNK},
        {"All versions < CPCI85 V05.11", true, "V05.10", UNK},
        {"<V33.017_V34.014_V35.013_V36.011", true, "34.011", UNK},
        {"<v36.011_v35.013_v34.014", true, "34.011", UNK},
        {"<V8.89_installed_on_CP100_devices", true, "8.0", UNK},
        {"<V4.00_Utilizes_Wibu-Systems_CodeMeter_7.60c", true, "3.0", UNK},
        {">=V3.2.3_<V3.3.0_only_when_manufactured_between_LQN231003..._and_LQN231215...", true,
         "3.2.5", UNK},
        {">=3.05F_Packaged_with_MC_Works64_4.03D", true, "3.10", UNK},
        {"<V4.95_SP3_in_connection_with_using_Create_MyConfig_CMC_<=V4.8_SP1_HF6", true, "4.0",
         UNK},
        /* a condition in words: inside is a guess, outside is not */
        {"<V10.12.2_only_if_the_basic_authentication_mechanism_is_used_by_the_application", true,
         "10.1", UNK},
        {"<V10.12.2_only_if_the_basic_authentication_mechanism_is_used_by_the_application", true,
         "10.13", OUT},
        {"< 3.3 SP1 3.x", true, "3.0", UNK},
        {">= 6.x | <= 10.x", true, "7", UNK},
        {">=v2.001.x", true, "2.1", UNK},
        {"<= R7x", true, "7", UNK},
        {"R15x", false, "15", UNK},
        {"1.265B -1.285X", false, "1.270", UNK},
        {"16XXXXXXXXX.", true, "16", UNK},
        {"16XXXXXXXXX.", true, "17", UNK},
        {"13.0  | < 13.0.1", true, "12", UNK}, /* "=" then "<": invalid per the spec */
        {"5.011  | < 8.011", true, "4.0", UNK},
        {">= 1.31 | <= 1.4", true, "1.35", UNK}, /* written for another order */
        {"0 < 8.0.1", true, "5", UNK},
        {"3.3 SP2 (part of SPR1 2023.0)", true, "3.3 SP2", UNK},
        {"<IP8", true, "7", UNK},
        {"<MP4", true, "3", UNK},
        {"<Hotfix-145271", true, "1", UNK},
        {"<=A8", true, "A7", UNK},
        {"<= HiOS 07.0.02", true, "07.0.01", UNK},
        {"<= Serial Numbers 2310****", true, "1", UNK},
        {"<=The_first_5_digits_of_serial_No._\"26041\"", true, "26040", UNK},
        {">=Generations_1|<=5", true, "3", UNK},
        {"H5692448 | G104 | G842 | comcode 150047415", true, "104", UNK},
        {"NE843_S comcode 150042936", true, "1", UNK},
        {"and  5.028", false, "5.028", UNK},
        {"Corefix 14", false, "14", UNK},
        {"1783-SAD2T2SBK9", false, "1783", UNK},
        {"<1.0", false, "0.5", UNK}, /* a product_version names one version, no comparator */
        {"2022", true, "2022", IN},
        {"<1.0", true, "junk", UNK}, /* a firmware that is no version */
        {"<1.0", true, "0.5 (beta build)", UNK},
        {"<1.0", true, "6.x", UNK},
        {"", true, "1.0", UNK},
        {"|||", true, "1.0", UNK},
        {"<", true, "1.0", UNK},
        {">=", true, "1.0", UNK},
        {NULL, true, "1.0", UNK},
    };
    CHECK(rows);
}

static void test_is_all(void **state)
{
    (void)state;
    assert_true(qw_vers_is_all("vers:all/*"));
    assert_true(qw_vers_is_all("vers:deb/*"));
    assert_true(qw_vers_is_all(" vers:all/ * "));
    assert_true(qw_vers_is_all("All versions"));
    assert_true(qw_vers_is_all("all versions"));
    assert_true(qw_vers_is_all("ALL_VERSIONS"));
    assert_false(qw_vers_is_all("vers:none/*"));
    assert_false(qw_vers_is_all("vers:all/*_installed_on_CP200_devices"));
    assert_false(qw_vers_is_all("vers:all/<V5.2.6"));
    assert_false(qw_vers_is_all("vers:/*"));
    assert_false(qw_vers_is_all("All versions with Function State (FS) < 11"));
    assert_false(qw_vers_is_all("All_versions_with_installed_WebRH"));
    assert_false(qw_vers_is_all("Allversions"));
    assert_false(qw_vers_is_all(""));
    assert_false(qw_vers_is_all(NULL));
}

/* Long and non-UTF-8 inputs: bounded work, no read past the end (ASan), sane answers. */
static void test_hostile(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = "0."[i % 2];
    big[n] = '\0';
    assert_int_equal(qw_version_cmp(big, "0"), 0); /* a million zeros, in linear time */
    big[n - 1] = '1';
    assert_true(qw_version_cmp(big, "0") > 0);
    assert_int_equal(qw_vers_contains("vers:all/<V5.2.6", true, big), IN);
    assert_int_equal(qw_vers_contains(big, true, "1.0"), UNK); /* too long to be a leaf */
    memset(big, '9', n);
    assert_true(qw_version_cmp(big, "1") > 0);
    memset(big, '|', n);
    assert_int_equal(qw_vers_contains("<1", true, big), UNK);
    free(big);
    assert_int_equal(qw_vers_contains("<1.0", true, "0.\xff"), UNK);
    assert_int_equal(qw_vers_contains("<1.\xff", true, "0.5"), UNK);
    assert_int_equal(qw_vers_contains("vers:all/<2\xc3\xa9", true, "1"), UNK);
    char many[200] = "";
    for (int i = 1; i <= 20; i++) snprintf(many + strlen(many), 10, "%d|", i);
    assert_int_equal(qw_vers_contains(many, true, "3"), UNK); /* more constraints than kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmp_real_pairs), cmocka_unit_test(test_cmp_laws),
        cmocka_unit_test(test_vers_scheme),    cmocka_unit_test(test_vendor_forms),
        cmocka_unit_test(test_unknown_forms),  cmocka_unit_test(test_is_all),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
