/* quaywatch map: the communication map between assets (src/inventory/), from the store's edges.
 * Formats: dot (Graphviz: clusters per zone, or per VLAN without a site file) and json. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/emit.h"
#include "inventory/inventory.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch map [--db FILE] [--format dot|json]\n\n"
            "The communication map: one edge per pair of assets, protocol and server port, with\n"
            "packets, bytes, first and last time seen and the classes of operations seen on it\n"
            "(read, write, program, control, config, diagnostic, ...). dot output renders with\n"
            "Graphviz: quaywatch map --format dot | dot -Tsvg > map.svg\n\n"
            "exit codes: 0 ok, 2 usage error, 3 the store cannot be read\n");
}

/* The label of an asset: its name, else its first address, else its id. */
static const char *label(const struct qw_asset *a)
{
    if (a->hostname) return a->hostname;
    if (a->nips) return a->ips[0].ip;
    return a->id;
}

static void dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        if ((unsigned char)*s >= 0x20) fputc(*s, out);
    }
}

static void ops_text(uint32_t ops, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < 15; b++) {
        if (!(ops & (1u << b))) continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", qw_op_names[b]);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

/* Writes operations that change a controller in red, writes in orange, reads in grey. */
static const char *edge_colour(uint32_t ops)
{
    if (ops & (QW_OP_PROGRAM | QW_OP_STOP | QW_OP_START | QW_OP_RESTART | QW_OP_FIRMWARE |
               QW_OP_CONFIG))
        return "red3";
    if (ops & (QW_OP_WRITE | QW_OP_CONTROL)) return "darkorange2";
    return "gray40";
}

static void write_dot(const struct qw_inventory *inv, const struct qw_inv_edges *m)
{
    printf("digraph quaywatch {\n  graph [rankdir=LR, fontname=\"Helvetica\"];\n"
           "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [fontname=\"Helvetica\", fontsize=8];\n");
    /* clusters per VLAN of each asset's first address (zones come with the site file) */
    int vlans[4096];
    size_t nv = 0;
    for (size_t i = 0; i < inv->nassets; i++) {
        int v = inv->assets[i].nips ? inv->assets[i].ips[0].vlan : 0;
        bool seen = false;
        for (size_t k = 0; k < nv; k++) seen |= vlans[k] == v;
        if (!seen && nv < sizeof vlans / sizeof vlans[0]) vlans[nv++] = v;
    }
    for (size_t k = 0; k < nv; k++) {
        if (vlans[k])
            printf("  subgraph cluster_vlan%d {\n    label=\"VLAN %d\";\n", vlans[k], vlans[k]);
        for (size_t i = 0; i < inv->nassets; i++) {
            const struct qw_asset *a = &inv->assets[i];
            int v = a->nips ? a->ips[0].vlan : 0;
            if (v != vlans[k]) continue;
            bool linked = false;
            for (size_t e = 0; e < m->n && !linked; e++)
                linked = m->v[e].client == i || m->v[e].server == i;
            if (!linked) continue;
            printf("    a%zu [label=\"", i);
            dot_escape(stdout, label(a));
            printf("\\n");
            for (size_t r = 0; r < a->nroles; r++) printf("%s%s", r ? "," : "", a->roles[r].role);
            if (a->vendor) {
                printf("\\n");
                dot_escape(stdout, a->vendor);
            }
            printf("\"];\n");
        }
        if (vlans[k]) printf("  }\n");
    }
    for (size_t e = 0; e < m->n; e++) {
        const struct qw_inv_edge *x = &m->v[e];
        char ops[160];
        ops_text(x->ops, ops, sizeof ops);
        printf("  a%u -> a%u [label=\"%s/%u%s%s\", color=%s];\n", x->client, x->server,
               x->app[0] ? x->app : (x->l4proto == 6 ? "tcp" : "udp"), x->port,
               ops[0] ? "\\n" : "", ops, edge_colour(x->ops));
    }
    printf("}\n");
}

static void write_json(const struct qw_inventory *inv, const struct qw_inv_edges *m)
{
    static char buf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, stdout);
    char t[QW_TIME_STR_MAX];
    qw_json_obj_begin(&j, NULL);
    qw_json_arr_begin(&j, "edges");
    for (size_t e = 0; e < m->n; e++) {
        const struct qw_inv_edge *x = &m->v[e];
        qw_json_obj_begin(&j, NULL);
        qw_json_str(&j, "client", inv->assets[x->client].id);
        qw_json_str(&j, "server", inv->assets[x->server].id);
        qw_json_str(&j, "app_proto", x->app[0] ? x->app : "unknown");
        qw_json_str(&j, "transport", x->l4proto == 6 ? "tcp" : x->l4proto == 17 ? "udp" : "ip");
        qw_json_u64(&j, "port", (uint64_t)x->port);
        qw_json_u64(&j, "flows", x->flows);
        qw_json_u64(&j, "packets", x->pkts);
        qw_json_u64(&j, "bytes", x->bytes);
        qw_time_rfc3339(x->first_ns, t);
        qw_json_str(&j, "first_seen", t);
        qw_time_rfc3339(x->last_ns, t);
        qw_json_str(&j, "last_seen", t);
        qw_json_arr_begin(&j, "ops");
        for (unsigned b = 0; b < 15; b++)
            if (x->ops & (1u << b)) qw_json_str(&j, NULL, qw_op_names[b]);
        qw_json_arr_end(&j);
        qw_json_obj_end(&j);
    }
    qw_json_arr_end(&j);
    qw_json_obj_end(&j);
    qw_json_newline(&j);
    qw_json_flush(&j);
}

int qw_cmd_map(int argc, char **argv)
{
    const char *db_path = "quaywatch.db", *format = "dot";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(stdout);
            return QW_EXIT_OK;
        }
        const char **slot = strcmp(a, "--db") == 0       ? &db_path
                            : strcmp(a, "--format") == 0 ? &format
                                                         : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
            continue;
        }
        fprintf(stderr, "quaywatch map: %s '%s' (see --help)\n",
                slot ? "missing value after" : "unexpected argument", a);
        return QW_EXIT_USAGE;
    }
    bool dot = strcmp(format, "dot") == 0;
    if (!dot && strcmp(format, "json") != 0) {
        fprintf(stderr, "quaywatch map: --format must be dot or json\n");
        return QW_EXIT_USAGE;
    }
    struct qw_store store;
    char serr[512];
    if (!qw_store_open_existing(&store, db_path, serr, sizeof serr)) {
        fprintf(stderr, "quaywatch map: %s\n", serr);
        return QW_EXIT_INPUT;
    }
    sqlite3 *db = store.db;
    struct qw_inventory inv;
    char err[512] = "";
    struct qw_inv_edges m = {0};
    if (!qw_inventory_load(&inv, db, err, sizeof err)) {
        fprintf(stderr, "quaywatch map: %s: not a quaywatch store (%s)\n", db_path, err);
        sqlite3_close(db);
        return QW_EXIT_INPUT;
    }
    bool ok = qw_inventory_edges(&inv, db, &m);
    sqlite3_close(db);
    if (!ok) {
        fprintf(stderr, "quaywatch map: %s: cannot read the edges\n", db_path);
        qw_inventory_free(&inv);
        return QW_EXIT_INPUT;
    }
    if (dot)
        write_dot(&inv, &m);
    else
        write_json(&inv, &m);
    qw_inventory_edges_free(&m);
    qw_inventory_free(&inv);
    return QW_EXIT_OK;
}
