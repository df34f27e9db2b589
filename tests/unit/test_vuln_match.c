/* Unit tests for advisories in the store: CSAF 2.0 documents read into it (src/vuln/csaf.c),
 * with the errors a bad one gets, and the inventory held against them (src/vuln/match.c):
 * affected, possibly affected, outside the versions, another vendor, and a vendor's
 * not-affected statement (VEX) that takes a CVE off a device. The documents are written here;
 * the real CISA advisories are tested end to end (tests/e2e/test_advisories.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory/inventory.h"
#include "store/store.h"
#include "vuln/csaf.h"
#include "vuln/match.h"

static const char ADVISORY[] =
    "{\"document\": {\"csaf_version\": \"2.0\", \"category\": \"csaf_security_advisory\","
    "  \"title\": \"Test advisory for S7 CPUs\", \"publisher\": {\"name\": \"Test CERT\"},"
    "  \"tracking\": {\"id\": \"TEST-0001\", \"version\": \"2\","
    "                \"current_release_date\": \"2026-01-02T00:00:00Z\"},"
    "  \"references\": [{\"category\": \"external\", \"url\": \"https://example.test/x\"},"
    "                   {\"category\": \"self\", \"url\": \"https://example.test/TEST-0001\"}]},"
    " \"product_tree\": {\"branches\": [{\"category\": \"vendor\", \"name\": \"Siemens\","
    "  \"branches\": ["
    "   {\"category\": \"product_name\", \"name\": \"S7-300 CPU 315-2 PN/DP\", \"branches\": ["
    "     {\"category\": \"product_version_range\", \"name\": \"vers:all/<V3.2.19\","
    "      \"product\": {\"product_id\": \"P1\", \"name\": \"S7-300 CPU 315-2 PN/DP\","
    "        \"product_identification_helper\": {\"model_numbers\": [\"6ES7315-2EH14-0AB0\"]}}}]},"
    "   {\"category\": \"product_name\", \"name\": \"ET 200S IM151-8 PN/DP CPU\", \"branches\": ["
    "     {\"category\": \"product_version_range\", \"name\": \"vers:all/<V3.2.19\","
    "      \"product\": {\"product_id\": \"P2\", \"name\": \"ET 200S IM151-8 PN/DP CPU\","
    "        \"product_identification_helper\": {\"model_numbers\": [\"6ES7151-8AB01-0AB0\"]}}}]},"
    "   {\"category\": \"product_name\", \"name\": \"S7-1500 CPU 1511-1 PN\", \"branches\": ["
    "     {\"category\": \"product_version_range\", \"name\": \"vers:all/*\","
    "      \"product\": {\"product_id\": \"P3\", \"name\": \"S7-1500 CPU 1511-1 PN\","
    "        \"product_identification_helper\": {\"model_numbers\": [\"6ES7511-1AK00-0AB0\"]}}}]}"
    "  ]}]},"
    " \"vulnerabilities\": ["
    "  {\"cve\": \"CVE-2000-0001\", \"title\": \"first\","
    "   \"scores\": [{\"products\": [\"P1\", \"P2\"], \"cvss_v3\": {\"baseScore\": 5.9,"
    "                 \"vectorString\": \"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N\"}},"
    "                {\"products\": [\"P3\"], \"cvss_v3\": {\"baseScore\": 7.5}}],"
    "   \"product_status\": {\"known_affected\": [\"P1\", \"P2\", \"P3\"]},"
    "   \"remediations\": ["
    "     {\"category\": \"mitigation\", \"details\": \"Limit access to port 102\","
    "      \"product_ids\": [\"P1\", \"P2\", \"P3\"]},"
    "     {\"category\": \"vendor_fix\", \"details\": \"Update to V3.2.19 or later\","
    "      \"product_ids\": [\"P1\", \"P2\"]}]},"
    "  {\"cve\": \"CVE-2000-0002\", \"title\": \"second\","
    "   \"product_status\": {\"known_affected\": [\"P3\"], \"fixed\": [\"P2\"]}}]}";

/* A vendor's statement that one firmware of the S7-1500 is not touched by the first CVE. */
static const char VEX[] =
    "{\"document\": {\"csaf_version\": \"2.0\", \"category\": \"csaf_vex\", \"title\": \"VEX\","
    "  \"publisher\": {\"name\": \"Test PSIRT\"},"
    "  \"tracking\": {\"id\": \"TEST-VEX-1\", \"version\": \"1\","
    "                \"current_release_date\": \"2026-02-01T00:00:00Z\"}},"
    " \"product_tree\": {\"branches\": [{\"category\": \"vendor\", \"name\": \"Siemens AG\","
    "  \"branches\": [{\"category\": \"product_name\", \"name\": \"S7-1500 CPU 1511-1 PN\","
    "   \"branches\": [{\"category\": \"product_version\", \"name\": \"V2.9.7\","
    "     \"product\": {\"product_id\": \"V1\", \"name\": \"S7-1500 CPU 1511-1 PN V2.9.7\","
    "      \"product_identification_helper\": {\"model_numbers\": [\"6ES7511-1AK00-0AB0\"]}}}]}]}]},"
    " \"vulnerabilities\": [{\"cve\": \"CVE-2000-0001\","
    "   \"product_status\": {\"known_not_affected\": [\"V1\"]}}]}";

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s\n", msg ? msg : "?");
        fail();
    }
}

/* Import `text` into the store; false with the message in err. */
static bool import(sqlite3 *db, const char *text, char *err, size_t errlen,
                   struct qw_csaf_counts *c)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc) {
        snprintf(err, errlen, "json: %s (line %d)", jerr.text, jerr.line);
        return false;
    }
    struct qw_csaf_stmts *st = qw_csaf_prepare(db, err, errlen);
    assert_non_null(st);
    char id[64];
    bool ok = qw_csaf_import(st, doc, "test.json", 1, c, id, sizeof id, err, errlen);
    qw_csaf_finalize(st);
    json_decref(doc);
    return ok;
}

static long long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void csaf_rows(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    struct qw_csaf_counts c;
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    assert_true(import(s.db, ADVISORY, err, sizeof err, &c));
    assert_int_equal(c.products, 3);
    assert_int_equal(c.vulns, 2);
    assert_int_equal(c.statuses, 5);
    assert_int_equal(c.remediations, 5);
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisories WHERE id = 'TEST-0001' AND"
                                 " title = 'Test advisory for S7 CPUs' AND"
                                 " publisher = 'Test CERT' AND version = '2' AND"
                                 " url = 'https://example.test/TEST-0001'"),
                     1);
    /* the path down to each leaf: vendor, product name, version set, model numbers */
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_products WHERE product_id = 'P1'"
                                 " AND vendor = 'Siemens' AND product = 'S7-300 CPU 315-2 PN/DP'"
                                 " AND versions = 'vers:all/<V3.2.19' AND is_range = 1 AND"
                                 " model_numbers = '6ES7315-2EH14-0AB0'"),
                     1);
    /* the highest of a CVE's scores */
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_vulns WHERE cve = 'CVE-2000-0001'"
                                 " AND cvss = 7.5"),
                     1);
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_vulns WHERE cve = 'CVE-2000-0002'"
                                 " AND cvss IS NULL"),
                     1);
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_status WHERE product_id = 'P2'"
                                 " AND status = 'fixed' AND cve = 'CVE-2000-0002'"),
                     1);
    /* imported again, it replaces itself: nothing doubles */
    assert_true(import(s.db, ADVISORY, err, sizeof err, &c));
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_products"), 3);
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_status"), 5);
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisory_remediations"), 5);
    qw_store_close(&s);
}

/* A document that is not CSAF, or breaks it, is refused with the member that is wrong. */
static void csaf_errors(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    struct qw_csaf_counts c;
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    static const struct {
        const char *doc, *message;
    } cases[] = {
        {"[1, 2]", "the top is not an object"},
        {"{\"vulnerabilities\": []}", "no \"document\" object"},
        {"{\"document\": {\"csaf_version\": \"1.2\", \"tracking\": {\"id\": \"X\"}},"
         " \"product_tree\": {}}",
         "document.csaf_version: 1.2, not 2.x"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {}}, \"product_tree\": {}}",
         "document.tracking.id: missing"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": 7}},"
         " \"product_tree\": {}}",
         "document.tracking.id: not a string"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": \"X\"}}}",
         "product_tree: missing"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": \"X\"}},"
         " \"product_tree\": {\"branches\": {}}}",
         "branches is not an array"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": \"X\"}},"
         " \"product_tree\": {\"branches\": [{\"category\": \"vendor\", \"name\": \"V\","
         " \"product\": {\"name\": \"no id\"}}]}}",
         "a product has no product_id"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": \"X\"}},"
         " \"product_tree\": {}, \"vulnerabilities\": [{\"cve\": \"C\","
         " \"product_status\": {\"known_affected\": \"P1\"}}]}",
         "vulnerabilities[0].product_status: known_affected is not an array"},
        {"{\"document\": {\"csaf_version\": \"2.0\", \"tracking\": {\"id\": \"X\"}},"
         " \"product_tree\": {}, \"vulnerabilities\": [{\"cve\": \"C\","
         " \"remediations\": [{\"category\": \"vendor_fix\", \"details\": 5}]}]}",
         "vulnerabilities[0].remediations[0].details: not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sqlite3_exec(s.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
        err[0] = '\0';
        assert_false(import(s.db, cases[i].doc, err, sizeof err, &c));
        if (!strstr(err, cases[i].message)) {
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, cases[i].message);
            fail();
        }
        exec_sql(s.db, "ROLLBACK");
    }
    /* branches nested past the bound: refused, not walked */
    char deep[4096];
    size_t n = (size_t)snprintf(deep, sizeof deep, "{\"document\": {\"csaf_version\": \"2.0\","
                                                   " \"tracking\": {\"id\": \"D\"}},"
                                                   " \"product_tree\": {\"branches\": ");
    for (int d = 0; d < QW_CSAF_MAX_DEPTH + 2; d++)
        n += (size_t)snprintf(deep + n, sizeof deep - n,
                              "[{\"category\": \"vendor\", \"name\": \"v\", \"branches\": ");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "[]");
    for (int d = 0; d < QW_CSAF_MAX_DEPTH + 2; d++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "}]");
    snprintf(deep + n, sizeof deep - n, "}}");
    exec_sql(s.db, "BEGIN");
    assert_false(import(s.db, deep, err, sizeof err, &c));
    assert_non_null(strstr(err, "nested deeper than 16"));
    exec_sql(s.db, "ROLLBACK"); /* the caller's part: the whole import or nothing */
    assert_int_equal(count(s.db, "SELECT count(*) FROM advisories"), 0);
    qw_store_close(&s);
}

static const struct qw_vuln_hit *hit(const struct qw_vuln_hits *h, const struct qw_inventory *inv,
                                     const char *asset, const char *advisory)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(inv->assets[h->v[i].asset].id, asset) == 0 &&
            strcmp(h->v[i].advisory, advisory) == 0)
            return &h->v[i];
    return NULL;
}

static void match_inventory(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    struct qw_csaf_counts c;
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    assert_true(import(s.db, ADVISORY, err, sizeof err, &c));
    assert_true(import(s.db, VEX, err, sizeof err, &c));
    exec_sql(s.db, "INSERT INTO hosts (id, vlan, ip, first_seen, last_seen) VALUES"
                   " (1, 0, '10.0.0.1', 1, 9), (2, 0, '10.0.0.2', 1, 9),"
                   " (3, 0, '10.0.0.3', 1, 9), (4, 0, '10.0.0.4', 1, 9),"
                   " (5, 0, '10.0.0.5', 1, 9), (6, 0, '10.0.0.6', 1, 9)");
    exec_sql(s.db, "INSERT INTO identities (host_id, attr, value, source, first_seen, last_seen,"
                   " count) VALUES"
                   /* in the affected versions */
                   " (1, 'vendor', 'Siemens', 's7comm', 1, 1, 1),"
                   " (1, 'model', '6ES7 315-2EH14-0AB0', 's7comm', 1, 1, 1),"
                   " (1, 'firmware', 'V3.2.7', 's7comm', 1, 1, 1),"
                   /* already updated */
                   " (2, 'vendor', 'Siemens', 's7comm', 1, 1, 1),"
                   " (2, 'model', '6ES7 151-8AB01-0AB0', 's7comm', 1, 1, 1),"
                   " (2, 'firmware', 'V3.2.19', 's7comm', 1, 1, 1),"
                   /* every version is affected: no firmware needed */
                   " (3, 'vendor', 'Siemens', 's7comm_plus', 1, 1, 1),"
                   " (3, 'model', '6ES7 511-1AK00-0AB0', 's7comm_plus', 1, 1, 1),"
                   /* the same order number from another vendor names nothing */
                   " (4, 'vendor', 'Rockwell Automation', 'enip', 1, 1, 1),"
                   " (4, 'model', '6ES7 315-2EH14-0AB0', 'enip', 1, 1, 1),"
                   /* the firmware the VEX clears of CVE-2000-0001 */
                   " (5, 'vendor', 'Siemens', 's7comm_plus', 1, 1, 1),"
                   " (5, 'model', '6ES7 511-1AK00-0AB0', 's7comm_plus', 1, 1, 1),"
                   " (5, 'firmware', 'V2.9.7', 's7comm_plus', 1, 1, 1),"
                   /* the model matches, the firmware was never seen */
                   " (6, 'vendor', 'Siemens', 's7comm', 1, 1, 1),"
                   " (6, 'model', '6ES7 315-2EH14-0AB0', 's7comm', 1, 1, 1)");
    struct qw_inventory inv;
    assert_true(qw_inventory_load(&inv, s.db, err, sizeof err));
    struct qw_vuln_hits h;
    assert_true(qw_vuln_match(s.db, &inv, &h, err, sizeof err));
    assert_int_equal(h.advisories, 2);

    const struct qw_vuln_hit *x = hit(&h, &inv, "ip:10.0.0.1", "TEST-0001");
    assert_non_null(x);
    assert_true(x->affected);
    assert_string_equal(x->cves, "CVE-2000-0001");
    assert_true(x->cvss > 7.4 && x->cvss < 7.6);
    assert_string_equal(x->basis, "model_number");
    assert_string_equal(x->model, "6ES7 315-2EH14-0AB0");
    assert_string_equal(x->versions, "vers:all/<V3.2.19");
    assert_string_equal(x->fix, "Update to V3.2.19 or later"); /* the vendor fix first */
    assert_string_equal(x->title, "Test advisory for S7 CPUs");
    assert_string_equal(x->url, "https://example.test/TEST-0001");

    assert_null(hit(&h, &inv, "ip:10.0.0.2", "TEST-0001"));

    x = hit(&h, &inv, "ip:10.0.0.3", "TEST-0001");
    assert_non_null(x);
    assert_true(x->affected);
    assert_string_equal(x->cves, "CVE-2000-0001, CVE-2000-0002");
    assert_int_equal(x->ncves, 2);
    assert_string_equal(x->fix, "Limit access to port 102");

    assert_null(hit(&h, &inv, "ip:10.0.0.4", "TEST-0001"));

    x = hit(&h, &inv, "ip:10.0.0.5", "TEST-0001");
    assert_non_null(x);
    assert_string_equal(x->cves, "CVE-2000-0002");
    assert_int_equal(x->ncves, 1);

    x = hit(&h, &inv, "ip:10.0.0.6", "TEST-0001");
    assert_non_null(x);
    assert_false(x->affected);
    assert_string_equal(x->cves, "CVE-2000-0001");

    /* the VEX names no vulnerability as affecting anything: it raises nothing of its own */
    for (size_t i = 0; i < h.n; i++) assert_string_equal(h.v[i].advisory, "TEST-0001");
    assert_int_equal(h.n, 4);
    qw_vuln_hits_free(&h);
    qw_inventory_free(&inv);
    qw_store_close(&s);
}

/* A store without advisories (or of an older schema) matches nothing and is no error. */
static void match_without_advisories(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    exec_sql(s.db, "INSERT INTO hosts (id, vlan, ip, first_seen, last_seen) VALUES"
                   " (1, 0, '10.0.0.1', 1, 9)");
    struct qw_inventory inv;
    assert_true(qw_inventory_load(&inv, s.db, err, sizeof err));
    struct qw_vuln_hits h;
    assert_true(qw_vuln_match(s.db, &inv, &h, err, sizeof err));
    assert_int_equal(h.n, 0);
    assert_int_equal(h.advisories, 0);
    qw_vuln_hits_free(&h);
    qw_inventory_free(&inv);
    qw_store_close(&s);
}

static void cvss_ratings(void **state)
{
    (void)state;
    assert_string_equal(qw_vuln_cvss_rating(9.8), "critical");
    assert_string_equal(qw_vuln_cvss_rating(9.0), "critical");
    assert_string_equal(qw_vuln_cvss_rating(8.9), "high");
    assert_string_equal(qw_vuln_cvss_rating(7.0), "high");
    assert_string_equal(qw_vuln_cvss_rating(6.9), "medium");
    assert_string_equal(qw_vuln_cvss_rating(4.0), "medium");
    assert_string_equal(qw_vuln_cvss_rating(3.9), "low");
    assert_string_equal(qw_vuln_cvss_rating(-1), "medium");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csaf_rows),
        cmocka_unit_test(csaf_errors),
        cmocka_unit_test(match_inventory),
        cmocka_unit_test(match_without_advisories),
        cmocka_unit_test(cvss_ratings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
