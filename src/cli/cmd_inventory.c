/* quaywatch inventory: the assets the store has seen (src/inventory/), one per device, with
 * where every fact came from. Formats: table (default), json (DESIGN.md "Inventory JSON"), csv. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "decode/packet.h"
#include "engine/emit.h"
#include "inventory/inventory.h"
#include "inventory/place.h"
#include "site/model.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch inventory [--db FILE] [--site FILE] [--format table|json|csv]\n"
            "                           [--role ROLE] [--vendor TEXT] [--zone ZONE]\n"
            "                           [--owner PARTY] [--rules]\n\n"
            "List every asset in the store: addresses grouped into devices (by MAC on a segment,\n"
            "by IP behind routers), with vendor, model, firmware, serial, names, roles and the\n"
            "services it offers and uses. Each fact names its source protocol and the first and\n"
            "last time it was seen (json). docs/inventory.md explains grouping and roles.\n\n"
            "  --db FILE       the store (default quaywatch.db)\n"
            "  --format F      table (default), json or csv\n"
            "  --role ROLE     only assets with this role (plc, router, camera, ...)\n"
            "  --vendor TEXT   only assets whose vendor contains TEXT (case-insensitive)\n"
            "  --site FILE     the site file: adds zone, owner (and the rule that decided),\n"
            "                  declared name, terminal function and criticality\n"
            "  --zone ZONE     only assets in this zone (needs --site; 'none' for unzoned)\n"
            "  --owner PARTY   only assets this party answers for (needs --site; 'none' for\n"
            "                  assets nobody owns)\n"
            "  --rules         print the role rule table and exit\n\n"
            "exit codes: 0 ok, 2 usage error, 3 the store cannot be read\n");
}

static void csv_field(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

struct filters {
    const char *role, *vendor, *zone, *owner;
};

static bool wanted(const struct qw_asset *a, const struct qw_asset_place *pl,
                   const struct filters *f)
{
    const char *role = f->role, *vendor = f->vendor;
    if (f->zone && strcmp(pl->zone ? pl->zone->id : "none", f->zone) != 0) return false;
    if (f->owner && strcmp(pl->owner.party ? pl->owner.party->id : "none", f->owner) != 0)
        return false;
    if (role) {
        bool has = false;
        for (size_t i = 0; i < a->nroles; i++) has |= strcmp(a->roles[i].role, role) == 0;
        if (!has) return false;
    }
    if (vendor && (!a->vendor || !strcasestr(a->vendor, vendor))) return false;
    return true;
}

/* "a; b; c" of one attribute's distinct values, newest last. */
static void join_values(const struct qw_asset *a, const char *attr, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->nfacts; i++) {
        if (strcmp(a->facts[i].attr, attr) != 0) continue;
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            dup |= strcmp(a->facts[k].attr, attr) == 0 &&
                   strcmp(a->facts[k].value, a->facts[i].value) == 0;
        if (dup) continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "; " : "", a->facts[i].value);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

static void join_ips(const struct qw_asset *a, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->nips; i++) {
        bool dup = false;
        for (size_t k = 0; k < i; k++) dup |= strcmp(a->ips[k].ip, a->ips[i].ip) == 0;
        if (dup) continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? " " : "", a->ips[i].ip);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

static void join_roles(const struct qw_asset *a, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->nroles; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", a->roles[i].role);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

static void str_or_null(struct qw_json *j, const char *key, const char *v)
{
    if (v)
        qw_json_str(j, key, v);
    else
        qw_json_null(j, key);
}

static void write_json_asset(struct qw_json *j, const struct qw_asset *a,
                             const struct qw_asset_place *pl, bool have_site)
{
    char t[QW_TIME_STR_MAX], m[18];
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "id", a->id);
    qw_json_arr_begin(j, "macs");
    for (size_t i = 0; i < a->nmacs; i++) {
        qw_json_obj_begin(j, NULL);
        qw_json_str(j, "mac", qw_mac_str(a->macs[i].mac, m));
        if (a->macs[i].oui_vendor[0]) qw_json_str(j, "oui_vendor", a->macs[i].oui_vendor);
        if (a->macs[i].local) qw_json_bool(j, "locally_administered", true);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    qw_json_arr_begin(j, "ips");
    for (size_t i = 0; i < a->nips; i++) {
        qw_json_obj_begin(j, NULL);
        qw_json_str(j, "ip", a->ips[i].ip);
        if (a->ips[i].vlan) qw_json_u64(j, "vlan", a->ips[i].vlan);
        qw_json_str(j, "via", a->ips[i].via);
        qw_json_str(j, "first_seen", qw_time_str((int64_t)a->ips[i].first_ns, t));
        qw_json_str(j, "last_seen", qw_time_str((int64_t)a->ips[i].last_ns, t));
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    qw_json_arr_begin(j, "hostnames");
    for (size_t i = 0; i < a->nfacts; i++) {
        const char *at = a->facts[i].attr;
        if (strcmp(at, "hostname") && strcmp(at, "name") && strcmp(at, "user_application_name"))
            continue;
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            dup |= strcmp(a->facts[k].value, a->facts[i].value) == 0 &&
                   (!strcmp(a->facts[k].attr, "hostname") || !strcmp(a->facts[k].attr, "name") ||
                    !strcmp(a->facts[k].attr, "user_application_name"));
        if (!dup) qw_json_str(j, NULL, a->facts[i].value);
    }
    qw_json_arr_end(j);
    if (a->vendor)
        qw_json_str(j, "vendor", a->vendor);
    else
        qw_json_null(j, "vendor");
    if (a->vendor_conflict) qw_json_bool(j, "vendor_conflict", true);
    const char *cur[3] = {a->model, a->firmware, a->serial};
    static const char *const keys[3] = {"model", "firmware", "serial"};
    for (int k = 0; k < 3; k++) {
        if (cur[k])
            qw_json_str(j, keys[k], cur[k]);
        else
            qw_json_null(j, keys[k]);
    }
    qw_json_arr_begin(j, "roles");
    for (size_t i = 0; i < a->nroles; i++) {
        qw_json_obj_begin(j, NULL);
        qw_json_str(j, "role", a->roles[i].role);
        qw_json_str(j, "confidence", a->roles[i].confidence);
        qw_json_str(j, "evidence", a->roles[i].evidence);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    if (a->forwarder) qw_json_bool(j, "forwards_for_others", true);
    str_or_null(j, "zone", pl->zone ? pl->zone->id : NULL);
    str_or_null(j, "owner", pl->owner.party ? pl->owner.party->id : NULL);
    if (have_site) {
        qw_json_str(j, "owner_rule", qw_site_owner_rule_name(pl->owner.rule));
        if (pl->owner.module) qw_json_str(j, "owner_module", pl->owner.module->name);
        if (pl->declared) qw_json_str(j, "declared_name", pl->declared->name);
        str_or_null(j, "function", pl->function);
        if (pl->criticality) qw_json_str(j, "criticality", pl->criticality);
        if (pl->zone) qw_json_u64(j, "security_level", pl->zone->security_level);
    }
    qw_json_arr_begin(j, "protocols");
    for (size_t i = 0; i < a->nservices; i++) {
        const struct qw_inv_service *s = &a->services[i];
        qw_json_obj_begin(j, NULL);
        qw_json_str(j, "app_proto", s->app[0] ? s->app : "unknown");
        qw_json_str(j, "transport", s->l4proto == 6 ? "tcp" : s->l4proto == 17 ? "udp" : "ip");
        qw_json_u64(j, "port", s->port);
        qw_json_str(j, "side", s->server ? "server" : "client");
        qw_json_u64(j, "peers", s->peers);
        qw_json_u64(j, "flows", s->flows);
        if (s->ops) {
            qw_json_arr_begin(j, "ops");
            for (unsigned b = 0; b < 15; b++)
                if (s->ops & (1u << b)) qw_json_str(j, NULL, qw_op_names[b]);
            qw_json_arr_end(j);
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    qw_json_str(j, "first_seen", qw_time_str((int64_t)a->first_ns, t));
    qw_json_str(j, "last_seen", qw_time_str((int64_t)a->last_ns, t));
    qw_json_u64(j, "bytes_sent", a->bytes_sent);
    qw_json_u64(j, "bytes_recv", a->bytes_recv);
    qw_json_arr_begin(j, "evidence");
    for (size_t i = 0; i < a->nfacts; i++) {
        const struct qw_inv_fact *f = &a->facts[i];
        qw_json_obj_begin(j, NULL);
        qw_json_str(j, "attribute", f->attr);
        qw_json_str(j, "value", f->value);
        qw_json_str(j, "source", f->source);
        qw_json_str(j, "first_seen", qw_time_str((int64_t)f->first_ns, t));
        qw_json_str(j, "last_seen", qw_time_str((int64_t)f->last_ns, t));
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    qw_json_obj_end(j);
}

int qw_cmd_inventory(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "table", *site_path = NULL;
    struct filters flt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(stdout);
            return QW_EXIT_OK;
        }
        if (strcmp(a, "--rules") == 0) {
            qw_inventory_print_rules(stdout);
            return QW_EXIT_OK;
        }
        const char **slot = strcmp(a, "--db") == 0       ? &db_path
                            : strcmp(a, "--format") == 0 ? &format
                            : strcmp(a, "--role") == 0   ? &flt.role
                            : strcmp(a, "--vendor") == 0 ? &flt.vendor
                            : strcmp(a, "--zone") == 0   ? &flt.zone
                            : strcmp(a, "--owner") == 0  ? &flt.owner
                            : strcmp(a, "--site") == 0   ? &site_path
                                                         : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
            continue;
        }
        fprintf(stderr, "quaywatch inventory: %s '%s' (see --help)\n",
                slot ? "missing value after" : "unexpected argument", a);
        return QW_EXIT_USAGE;
    }
    int fmt = strcmp(format, "table") == 0 ? 0 : strcmp(format, "json") == 0 ? 1
              : strcmp(format, "csv") == 0 ? 2 : -1;
    if (fmt < 0) {
        fprintf(stderr, "quaywatch inventory: --format must be table, json or csv\n");
        return QW_EXIT_USAGE;
    }
    if ((flt.zone || flt.owner) && !site_path) {
        fprintf(stderr, "quaywatch inventory: --zone and --owner need --site FILE\n");
        return QW_EXIT_USAGE;
    }
    struct qw_site *site = NULL;
    if (site_path && !(site = qw_cli_load_site(site_path))) return QW_EXIT_USAGE;
    struct qw_store store;
    char serr[512];
    if (!qw_store_open_existing(&store, db_path, serr, sizeof serr)) {
        fprintf(stderr, "quaywatch inventory: %s\n", serr);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    sqlite3 *db = store.db;
    struct qw_inventory inv;
    char err[512] = "";
    if (!qw_inventory_load(&inv, db, err, sizeof err)) {
        fprintf(stderr, "quaywatch inventory: %s: not a quaywatch store (%s)\n", db_path, err);
        sqlite3_close(db);
        qw_site_free(site);
        return QW_EXIT_INPUT;
    }
    sqlite3_close(db);

    static char jbuf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, jbuf, sizeof jbuf, stdout);
    char ips[256], roles[128], names[256], t0[QW_TIME_STR_MAX], t1[QW_TIME_STR_MAX], m[18];
    if (fmt == 0)
        printf("%-30s %-24s %-17s %-18s %-20s %-10s %-22s %-12s %-16s %s\n", "asset", "ips",
               "mac", "vendor", "model", "firmware", "roles", "zone", "owner", "names");
    else if (fmt == 1)
        qw_json_arr_begin(&j, NULL);
    else
        printf("id,ips,macs,vendor,model,firmware,serial,roles,hostnames,zone,owner,function,"
               "first_seen,last_seen\n");
    for (size_t i = 0; i < inv.nassets; i++) {
        const struct qw_asset *a = &inv.assets[i];
        struct qw_asset_place pl;
        qw_asset_place(site, a, &pl);
        if (!wanted(a, &pl, &flt)) continue;
        const char *zone = pl.zone ? pl.zone->id : "-";
        const char *owner = pl.owner.party ? pl.owner.party->id : site ? "NOBODY" : "-";
        join_ips(a, ips, sizeof ips);
        join_roles(a, roles, sizeof roles);
        join_values(a, "hostname", names, sizeof names);
        if (!names[0]) join_values(a, "name", names, sizeof names);
        const char *mac = a->nmacs ? qw_mac_str(a->macs[0].mac, m) : "-";
        if (fmt == 0) {
            printf("%-30s %-24s %-17s %-18.18s %-20.20s %-10.10s %-22s %-12s %-16s %s\n", a->id,
                   ips[0] ? ips : "-", mac, a->vendor ? a->vendor : "-",
                   a->model ? a->model : "-", a->firmware ? a->firmware : "-", roles, zone,
                   owner, names[0] ? names : "-");
        } else if (fmt == 1) {
            write_json_asset(&j, a, &pl, site != NULL);
        } else {
            char macs[160] = "";
            size_t n = 0;
            for (size_t k = 0; k < a->nmacs && n + 19 < sizeof macs; k++)
                n += (size_t)snprintf(macs + n, sizeof macs - n, "%s%s", k ? " " : "",
                                      qw_mac_str(a->macs[k].mac, m));
            const char *fields[] = {a->id,  ips,   macs,  a->vendor,   a->model,
                                    a->firmware, a->serial, roles, names, pl.zone ? zone : "",
                                    pl.owner.party ? owner : "", pl.function};
            for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
                csv_field(stdout, fields[k]);
                putchar(',');
            }
            printf("%s,%s\n", qw_time_str((int64_t)a->first_ns, t0), qw_time_str((int64_t)a->last_ns, t1));
        }
    }
    if (fmt == 1) {
        qw_json_arr_end(&j);
        qw_json_newline(&j);
        qw_json_flush(&j);
    }
    qw_inventory_free(&inv);
    qw_site_free(site);
    return QW_EXIT_OK;
}
