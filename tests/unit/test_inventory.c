/* Unit tests for the inventory's building blocks: the IEEE registry lookup (src/analysis/oui.c,
 * against Debian's ieee-data files and a made-up registry), vendor-name normalisation
 * (src/analysis/vendor.c), the address filter of the asset builder, the virtual router MACs it
 * groups no address by, and which fact becomes an asset's current value. The grouping itself is
 * tested end to end against the synthetic terminal's ground truth
 * (tests/e2e/test_inventory_synth.sh). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/oui.h"
#include "analysis/vendor.h"
#include "inventory/inventory.h"
#include "store/store.h"

/* The registry loaded on a thread of its own (as a session does at its start) while this one
 * asks for it: qw_oui_default waits for the load under way, and both get the same registry. */
static void oui_preload_shared(void **state)
{
    (void)state;
    if (access(QW_OUI_DIR "/oui.csv", R_OK) != 0) skip();
    pthread_t t;
    assert_true(qw_oui_preload_start(&t));
    const struct qw_oui_db *db = qw_oui_default();
    assert_non_null(db);
    static const uint8_t schneider[6] = {0x00, 0x11, 0x00, 0x12, 0x34, 0x56};
    assert_string_equal(qw_oui_lookup(db, schneider), "Schneider Electric");
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_ptr_equal(qw_oui_default(), db);
}

static void oui_longest_prefix_wins(void **state)
{
    (void)state;
    if (access(QW_OUI_DIR "/oui.csv", R_OK) != 0) skip();
    const struct qw_oui_db *db = qw_oui_default();
    assert_non_null(db);
    static const uint8_t schneider[6] = {0x00, 0x11, 0x00, 0x12, 0x34, 0x56};
    assert_string_equal(qw_oui_lookup(db, schneider), "Schneider Electric");
    /* 70:B3:D5 is the IEEE's own MA-L, carved into MA-S blocks: F2:F belongs to TELEPLATFORMS */
    static const uint8_t mas[6] = {0x70, 0xb3, 0xd5, 0xf2, 0xf0, 0x01};
    assert_string_equal(qw_oui_lookup(db, mas), "TELEPLATFORMS");
    /* an MA-M block (28 bits) inside another registry-owned MA-L */
    static const uint8_t mam[6] = {0xc0, 0x9b, 0xf4, 0x60, 0x00, 0x01};
    assert_string_equal(qw_oui_lookup(db, mam), "LTD Delovoy Office");
    /* the registry's own name is no vendor */
    static const uint8_t registry[6] = {0xc0, 0x9b, 0xf4, 0xff, 0xff, 0xf0};
    const char *r = qw_oui_lookup(db, registry);
    assert_true(r == NULL || strcmp(r, "IEEE Registration Authority") != 0);
    /* locally administered (randomised) and group addresses claim no vendor */
    static const uint8_t local[6] = {0x02, 0x11, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t group[6] = {0x01, 0x11, 0x00, 0x12, 0x34, 0x56};
    assert_null(qw_oui_lookup(db, local));
    assert_null(qw_oui_lookup(db, group));
    assert_true(qw_mac_is_local(local));
    assert_false(qw_mac_is_local(schneider));
}

/* The virtual MACs of VRRP (RFC 5798 s.7.3) and HSRP versions 1 and 2, and their neighbours
 * in the same blocks that are ordinary addresses. */
static void virtual_router_macs(void **state)
{
    (void)state;
    static const uint8_t yes[][6] = {
        {0x00, 0x00, 0x5e, 0x00, 0x01, 0x2a}, /* VRRP IPv4, VRID 42 */
        {0x00, 0x00, 0x5e, 0x00, 0x02, 0x2d}, /* VRRP IPv6, VRID 45 */
        {0x00, 0x00, 0x0c, 0x07, 0xac, 0x01}, /* HSRP v1, group 1 */
        {0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x0a}, /* HSRP v2, group 10 */
        {0x00, 0x00, 0x0c, 0x9f, 0xff, 0xff}, /* HSRP v2, group 4095 */
    };
    static const uint8_t no[][6] = {
        {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}, /* IANA's documentation block */
        {0x00, 0x00, 0x5e, 0x01, 0x01, 0x2a},
        {0x00, 0x00, 0x0c, 0x07, 0xab, 0x01}, /* Cisco, not HSRP */
        {0x00, 0x00, 0x0c, 0x9f, 0xe0, 0x01},
        {0x00, 0x11, 0x00, 0x12, 0x34, 0x56},
        {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, /* the multicast MAC of 224.0.0.18 */
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(qw_mac_is_virtual_router(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(qw_mac_is_virtual_router(no[i]));
}

static void oui_missing_registry_is_an_error(void **state)
{
    (void)state;
    struct qw_oui_db db;
    char err[256];
    assert_false(qw_oui_load(&db, "/nonexistent", err, sizeof err));
    assert_non_null(strstr(err, "ieee-data"));
}

/* The CSV as the registries write it, and its odd corners: quoted names with commas and
 * doubled quotes, CRLF line ends, trailing blanks, a last line without its newline, rows whose
 * assignment is not 6, 7 or 9 hex digits or whose name is empty (skipped), and blocks out of
 * order (sorted on load). */
static FILE *create_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    return fp;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    FILE *fp = create_in(dir, name);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* The registries written into `dir`, and the directory itself, gone. */
static void remove_registries(const char *dir)
{
    static const char *const names[] = {"oui.csv", "mam.csv", "oui36.csv"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_true(unlink(path) == 0 || errno == ENOENT);
    }
    assert_int_equal(rmdir(dir), 0);
}

static void oui_csv_corners(void **state)
{
    (void)state;
    char dir[] = "/tmp/qw-oui-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "oui.csv",
               "Registry,Assignment,Organization Name,Organization Address\r\n"
               "MA-L,00A0F8,\"Zebra, Inc.\",\"1 Main St, Lincolnshire IL US\"\r\n"
               "MA-L,000F3D,\"The \"\"Quoted\"\" Works\",Addr\r\n"
               "MA-L,00000A,Trailing Blanks   ,Addr\n"
               "MA-L,0000ZZ,Bad Hex,Addr\n"
               "MA-L,00001,Five Digits,Addr\n"
               "MA-L,000001,,Addr\n"
               "MA-L,000002,   ,Addr\n"
               "MA-L,000003,\"No newline at the end\",Addr");
    write_file(dir, "mam.csv",
               "Registry,Assignment,Organization Name,Organization Address\n"
               "MA-M,00A0F81,Block Maker,Addr\n");
    write_file(dir, "oui36.csv",
               "Registry,Assignment,Organization Name,Organization Address\n"
               "MA-S,00A0F8123,Small Block,Addr\n");
    struct qw_oui_db db;
    char err[256];
    assert_true(qw_oui_load(&db, dir, err, sizeof err));
    assert_int_equal(db.count[0], 1); /* 36-bit */
    assert_int_equal(db.count[1], 1); /* 28-bit */
    assert_int_equal(db.count[2], 4); /* 24-bit: 00A0F8, 000F3D, 00000A, 000003 */
    for (size_t i = 1; i < db.count[2]; i++)
        assert_true(db.by_len[2][i - 1].prefix < db.by_len[2][i].prefix);
    static const uint8_t zebra[6] = {0x00, 0xa0, 0xf8, 0x00, 0x00, 0x01};
    static const uint8_t mam[6] = {0x00, 0xa0, 0xf8, 0x1f, 0x00, 0x01};
    static const uint8_t mas[6] = {0x00, 0xa0, 0xf8, 0x12, 0x30, 0x01};
    static const uint8_t quoted[6] = {0x00, 0x0f, 0x3d, 0x01, 0x02, 0x03};
    static const uint8_t blanks[6] = {0x00, 0x00, 0x0a, 0x01, 0x02, 0x03};
    static const uint8_t last[6] = {0x00, 0x00, 0x03, 0x01, 0x02, 0x03};
    static const uint8_t empty[6] = {0x00, 0x00, 0x01, 0x01, 0x02, 0x03};
    assert_string_equal(qw_oui_lookup(&db, zebra), "Zebra, Inc.");
    assert_string_equal(qw_oui_lookup(&db, mam), "Block Maker");
    assert_string_equal(qw_oui_lookup(&db, mas), "Small Block");
    assert_string_equal(qw_oui_lookup(&db, quoted), "The \"Quoted\" Works");
    assert_string_equal(qw_oui_lookup(&db, blanks), "Trailing Blanks");
    assert_string_equal(qw_oui_lookup(&db, last), "No newline at the end");
    assert_null(qw_oui_lookup(&db, empty));
    qw_oui_free(&db);
    remove_registries(dir);
}

/* The registries are read a chunk (256 KiB) at a time: lines that straddle a chunk's end load
 * whole, and a line longer than a chunk is cut without losing the line after it. */
static void oui_lines_across_chunks(void **state)
{
    (void)state;
    char dir[] = "/tmp/qw-oui-XXXXXX";
    assert_non_null(mkdtemp(dir));
    FILE *fp = create_in(dir, "oui.csv");
    fputs("Registry,Assignment,Organization Name,Organization Address\n", fp);
    for (unsigned i = 0; i < 20000; i++) /* over a MiB: several chunk ends mid-line */
        fprintf(fp, "MA-L,%06X,\"Maker %u, Ltd\",\"%u Quay Road, Harbour Town\"\n", i, i, i);
    /* longer than a chunk, and what lies past the chunk's end looks like a line of its own:
     * it is the long line's tail, not a registration */
    fputs("MA-L,ACCDEF,", fp);
    for (unsigned i = 0; i < (256u << 10) - 12; i++) fputc('x', fp);
    fputs("MA-L,ACCE00,Not A Line,Addr\nMA-L,ACCDF0,After The Long One,Addr\n", fp);
    assert_int_equal(fclose(fp), 0);
    struct qw_oui_db db;
    char err[256];
    assert_true(qw_oui_load(&db, dir, err, sizeof err));
    assert_int_equal(db.count[2], 20002);
    char want[64];
    for (unsigned i = 0; i < 20000; i++) {
        const uint8_t mac[6] = {(uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1, 2, 3};
        snprintf(want, sizeof want, "Maker %u, Ltd", i);
        assert_string_equal(qw_oui_lookup(&db, mac), want);
    }
    static const uint8_t longname[6] = {0xac, 0xcd, 0xef, 0x01, 0x02, 0x03};
    const char *name = qw_oui_lookup(&db, longname);
    assert_non_null(name);
    assert_int_equal(strlen(name), 255); /* cut to the name field's room */
    assert_int_equal(strspn(name, "x"), 255);
    static const uint8_t after[6] = {0xac, 0xcd, 0xf0, 0x01, 0x02, 0x03};
    assert_string_equal(qw_oui_lookup(&db, after), "After The Long One");
    static const uint8_t tail[6] = {0xac, 0xce, 0x00, 0x01, 0x02, 0x03};
    assert_null(qw_oui_lookup(&db, tail));
    qw_oui_free(&db);
    remove_registries(dir);
}

static void norm(const char *in, const char *want)
{
    char out[128];
    size_t n = qw_vendor_normalize(in, strlen(in), out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void vendor_names_normalised(void **state)
{
    (void)state;
    norm("SIEMENS AG", "Siemens");
    norm("Siemens Industry, Inc.", "Siemens");
    norm("  Schneider   Electric  ", "Schneider Electric");
    norm("Allen-Bradley Company", "Rockwell Automation");
    norm("Hangzhou Hikvision Digital Technology Co.,Ltd.", "Hikvision");
    norm("Rosemount Inc.", "Emerson");
    norm("MOXA TECHNOLOGIES CORP., LTD.", "Moxa");
    norm("Axis Communications AB", "Axis Communications");
    norm("Acme Widgets GmbH & Co. KG", "Acme Widgets");
    norm("Abbott Laboratories", "Abbott Laboratories"); /* not ABB: word boundary */
    norm("GE Intelligent Platforms", "GE");
    norm("Gemalto", "Gemalto");
    /* brands and registry spellings of one maker (BACnet vendor ids, device strings, OUIs) */
    norm("Alerton / Honeywell", "Honeywell");
    norm("ALERTON TECHNOLOGIES, INC.", "Honeywell");
    norm("JCI", "Johnson Controls");
    norm("Johnson Controls, Inc.", "Johnson Controls");
    norm("Lithonia Lighting", "Acuity Brands");
    norm("Acuity Brands Lighting, Inc.", "Acuity Brands");
    norm("", "");
    /* NUL padding from a fixed-width field */
    char out[32];
    assert_int_equal(qw_vendor_normalize("Dell Inc.\0\0\0", 12, out, sizeof out), 4);
    assert_string_equal(out, "Dell");
}

static void host_addresses_only(void **state)
{
    (void)state;
    assert_true(qw_inventory_is_host_ip("10.1.2.3"));
    assert_true(qw_inventory_is_host_ip("fe80::1"));
    assert_false(qw_inventory_is_host_ip("0.0.0.0"));
    assert_false(qw_inventory_is_host_ip("255.255.255.255"));
    assert_false(qw_inventory_is_host_ip("239.192.0.1"));
    assert_false(qw_inventory_is_host_ip("ff02::1"));
    assert_false(qw_inventory_is_host_ip("::"));
    assert_false(qw_inventory_is_host_ip("not an address"));
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        print_error("%s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        fail();
    }
}

/* The current model is the newest `model` fact; a product name stands in only when no protocol
 * states a model (an S7 CPU states its order number and its type name, and which SZL list was
 * read last says nothing). Within one attribute the newest value wins (a firmware update). */
static void current_values_prefer_model(void **state)
{
    (void)state;
    struct qw_store s;
    char err[256];
    assert_true(qw_store_open(&s, ":memory:", err, sizeof err));
    exec_sql(s.db, "INSERT INTO hosts (id, vlan, ip, first_seen, last_seen) VALUES"
                   " (1, 0, '10.0.0.1', 1, 9), (2, 0, '10.0.0.2', 1, 9)");
    exec_sql(s.db, "INSERT INTO identities (host_id, attr, value, source, first_seen, last_seen,"
                   " count) VALUES"
                   " (1, 'model', '6ES7 315-2EH14-0AB0', 's7comm', 1, 1, 1),"
                   " (1, 'product_name', 'CPU 315-2 PN/DP', 's7comm', 5, 5, 1),"
                   " (1, 'firmware', 'V3.2.7', 's7comm', 1, 1, 1),"
                   " (1, 'firmware', 'V3.2.8', 's7comm', 7, 7, 1),"
                   " (2, 'product_name', 'CPU 1214C DC/DC/DC', 's7comm_plus', 2, 2, 1)");
    struct qw_inventory inv;
    assert_true(qw_inventory_load(&inv, s.db, err, sizeof err));
    const struct qw_asset *a = qw_inventory_find_id(&inv, "ip:10.0.0.1");
    assert_non_null(a);
    assert_string_equal(a->model, "6ES7 315-2EH14-0AB0");
    assert_string_equal(a->firmware, "V3.2.8");
    a = qw_inventory_find_id(&inv, "ip:10.0.0.2");
    assert_non_null(a);
    assert_string_equal(a->model, "CPU 1214C DC/DC/DC");
    assert_null(a->firmware);
    qw_inventory_free(&inv);
    qw_store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oui_preload_shared), /* first: the preload makes the one load */
        cmocka_unit_test(oui_longest_prefix_wins),
        cmocka_unit_test(oui_missing_registry_is_an_error),
        cmocka_unit_test(virtual_router_macs),
        cmocka_unit_test(oui_csv_corners),
        cmocka_unit_test(oui_lines_across_chunks),
        cmocka_unit_test(vendor_names_normalised),
        cmocka_unit_test(host_addresses_only),
        cmocka_unit_test(current_values_prefer_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
