/* Fuzz harness for advisories: the CSAF reader (src/vuln/csaf.c) and the matcher
 * (src/vuln/match.c) with the version and product rules it calls. Advisory files come from
 * outside, and the model and firmware they are held against come from packets: both are
 * hostile. Every input is used twice.
 *   1. As a JSON document, imported into an in-memory store (most inputs are not JSON and stop
 *      at the parser; libFuzzer's own search finds the structure).
 *   2. Cut at its NUL bytes (or in four) into a vendor, a model, a firmware and a version set:
 *      a well-formed advisory is built around them and imported, a device with that vendor,
 *      model and firmware is put in the store, and the two are matched.
 * The replay driver feeds the payloads of the HTTP captures (text, headers, versions).
 * Invariants: an import that fails leaves a message; a hit names an asset of the inventory, the
 * advisory that was imported, and one CVE. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inventory/inventory.h"
#include "store/store.h"
#include "vuln/csaf.h"
#include "vuln/match.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "http";

static struct qw_store store;
static bool opened;

static void reset(void)
{
    if (!opened) {
        char err[256];
        if (!qw_store_open(&store, ":memory:", err, sizeof err)) abort();
        opened = true;
    }
    static const char *const wipe =
        "DELETE FROM advisories; DELETE FROM advisory_products; DELETE FROM advisory_vulns;"
        " DELETE FROM advisory_status; DELETE FROM advisory_remediations;"
        " DELETE FROM identities; DELETE FROM hosts;";
    if (sqlite3_exec(store.db, wipe, NULL, NULL, NULL) != SQLITE_OK) abort();
}

static bool import(json_t *doc)
{
    char err[256] = "";
    struct qw_csaf_counts c;
    struct qw_csaf_stmts *st = qw_csaf_prepare(store.db, err, sizeof err);
    if (!st) abort();
    sqlite3_exec(store.db, "BEGIN", NULL, NULL, NULL);
    bool ok = qw_csaf_import(st, doc, "fuzz.json", 1, &c, NULL, 0, err, sizeof err);
    if (!ok && !err[0]) abort(); /* a refusal always says why */
    sqlite3_exec(store.db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    qw_csaf_finalize(st);
    return ok;
}

/* Four strings from the input: split at NUL bytes when there are three, else in four. */
static void split(const uint8_t *data, size_t size, char out[4][256])
{
    size_t start = 0, part = 0;
    size_t nuls = 0;
    for (size_t i = 0; i < size; i++) nuls += data[i] == 0;
    for (size_t i = 0; i <= size && part < 4; i++) {
        bool cut = nuls >= 3 ? (i == size || data[i] == 0)
                             : (i == size || (i > 0 && i % (size / 4 + 1) == 0));
        if (!cut) continue;
        size_t n = i - start;
        if (n > 255) n = 255;
        memcpy(out[part], data + start, n);
        out[part][n] = '\0';
        part++;
        start = i + (nuls >= 3 ? 1 : 0);
    }
    for (; part < 4; part++) out[part][0] = '\0';
}

static void built(const uint8_t *data, size_t size)
{
    char s[4][256];
    split(data, size, s);
    /* json_pack refuses strings that are not UTF-8: such bytes reach the matcher through the
     * inventory instead, which stores what packets said */
    json_t *doc = json_pack(
        "{s:{s:s, s:{s:s}, s:s}, s:{s:[{s:s, s:s, s:[{s:s, s:s, s:[{s:s, s:s, s:{s:s, s:s,"
        " s:{s:[s]}}}]}]}]}, s:[{s:s, s:{s:[s]}, s:[{s:{s:f}, s:[s]}]}]}",
        "document", "csaf_version", "2.0", "tracking", "id", "FUZZ-1", "title", "t",
        "product_tree", "branches", "category", "vendor", "name", s[0], "branches", "category",
        "product_name", "name", s[1], "branches", "category", "product_version_range", "name",
        s[3], "product", "product_id", "P1", "name", s[1], "product_identification_helper",
        "model_numbers", s[1], "vulnerabilities", "cve", "CVE-0000-0001", "product_status",
        "known_affected", "P1", "scores", "cvss_v3", "baseScore", 5.0, "products", "P1");
    if (!doc) return;
    bool ok = import(doc);
    json_decref(doc);
    if (!ok) return;
    sqlite3_stmt *st;
    if (sqlite3_exec(store.db, "INSERT INTO hosts (id, vlan, ip, first_seen, last_seen) VALUES"
                               " (1, 0, '10.0.0.1', 1, 2)", NULL, NULL, NULL) != SQLITE_OK)
        abort();
    static const char *const attrs[3] = {"vendor", "model", "firmware"};
    if (sqlite3_prepare_v2(store.db,
                           "INSERT INTO identities (host_id, attr, value, source, first_seen,"
                           " last_seen, count) VALUES (1, ?1, ?2, 'fuzz', 1, 1, 1)",
                           -1, &st, NULL) != SQLITE_OK)
        abort();
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_text(st, 1, attrs[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s[i], -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    struct qw_inventory inv;
    char err[256];
    if (!qw_inventory_load(&inv, store.db, err, sizeof err)) abort();
    struct qw_vuln_hits h;
    if (!qw_vuln_match(store.db, &inv, &h, err, sizeof err)) abort();
    for (size_t i = 0; i < h.n; i++) {
        if (h.v[i].asset >= inv.nassets) abort();
        if (strcmp(h.v[i].advisory, "FUZZ-1") != 0) abort();
        if (strcmp(h.v[i].cves, "CVE-0000-0001") != 0 || h.v[i].ncves != 1) abort();
    }
    qw_vuln_hits_free(&h);
    qw_inventory_free(&inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset();
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr);
    if (doc) {
        import(doc);
        json_decref(doc);
        reset();
    }
    built(data, size);
    return 0;
}
