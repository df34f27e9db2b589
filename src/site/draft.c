/* `quaywatch site draft` (draft.h): propose zones and conduits from the store.
 *
 * Zones. Hosts are grouped into /24 subnets (IPv6: /64). Each subnet belongs to the VLAN on which
 * most of its hosts sent frames with their own MAC address: a mirror may show an address on
 * another VLAN too (a routed conversation, a DHCP relay), but a host sends on its own. Subnets
 * of one VLAN make one zone "vlan-N"; untagged subnets are a zone each ("net-10-1-2"); a VLAN
 * none of whose subnets it keeps still gets a VLAN-only zone. Multicast, broadcast, loopback,
 * unspecified and link-local addresses belong to no zone, nor do global ones (neither private,
 * shared nor unique local: qw_addr_is_site_local): a host on the internet sends through its
 * router's MAC on the router leg's VLAN and would look like a member of it; a plant numbered
 * from public space writes its blocks itself.
 *
 * Conduits. Every edge (client, server, protocol, port) whose ends fall in two different zones
 * becomes an allow entry of the conduit from the client's zone to the server's: the application
 * protocol and port when a parser recognised it (modbus/502), else the transport and port
 * (tcp/8080), with the operation classes of the operations seen (engine/emit.h enum qw_op bits
 * in edges.ops). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "site/draft.h"
#include "site/internal.h"
#include "util/timefmt.h"

#define DRAFT_ENTRIES_MAX 48 /* allow entries written per conduit; the rest are counted */

struct subnet {
    struct qw_addr net; /* the /24 or /64 */
    uint16_t vlan;      /* chosen */
    uint32_t hosts;
    int zone;           /* index in zones[] */
};

/* one (subnet, vlan) observation */
struct vote {
    struct qw_addr net;
    uint16_t vlan;
    uint32_t votes, hosts;
};

struct zone {
    char id[48];
    uint16_t vlan; /* 0: untagged */
    uint32_t hosts, nsubnets;
};

struct conduit {
    int from, to;
    uint64_t flows;
    uint32_t opclasses;
    bool industrial;
    char *entries[DRAFT_ENTRIES_MAX];
    uint32_t nentries, more;
};

struct draft {
    struct vote *votes;
    size_t nvotes, capvotes;
    struct subnet *subnets;
    size_t nsubnets;
    struct zone *zones;
    size_t nzones;
    struct conduit *conduits;
    size_t nconduits, capconduits;
    uint64_t hosts, edges, first_ns, last_ns;
};

static bool usable(const struct qw_addr *a)
{
    /* a global address seen on a VLAN is usually a host beyond its router (see the file's
     * comment) */
    if (!qw_addr_is_site_local(a)) return false;
    if (qw_addr_is_v4(a)) {
        uint8_t o = a->b[12];
        return o != 0 && o != 127 && o < 224 && !(o == 169 && a->b[13] == 254);
    }
    static const uint8_t zero[16];
    if (a->b[0] == 0xff) return false;                                /* multicast */
    if (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) return false;    /* link-local */
    if (memcmp(a->b, zero, 15) == 0 && a->b[15] <= 1) return false;   /* :: and ::1 */
    return true;
}

static struct qw_addr subnet_of(const struct qw_addr *a)
{
    struct qw_addr n = *a;
    if (qw_addr_is_v4(a))
        n.b[15] = 0; /* /24 */
    else
        memset(n.b + 8, 0, 8); /* /64 */
    return n;
}

static int cmp_vote(const void *pa, const void *pb)
{
    const struct vote *a = pa, *b = pb;
    int c = memcmp(a->net.b, b->net.b, 16);
    return c ? c : (a->vlan > b->vlan) - (a->vlan < b->vlan);
}

static int cmp_subnet(const void *pa, const void *pb)
{
    const struct subnet *a = pa, *b = pb;
    return memcmp(a->net.b, b->net.b, 16);
}

static int cmp_subnet_zone(const void *pa, const void *pb)
{
    const struct subnet *a = pa, *b = pb;
    /* VLAN zones first by VLAN, then untagged subnets by address */
    if ((a->vlan == 0) != (b->vlan == 0)) return a->vlan == 0 ? 1 : -1;
    if (a->vlan != b->vlan) return a->vlan < b->vlan ? -1 : 1;
    return memcmp(a->net.b, b->net.b, 16);
}

static const struct subnet *find_subnet(const struct draft *d, const struct qw_addr *ip)
{
    struct subnet key = {.net = subnet_of(ip)};
    return d->nsubnets ? bsearch(&key, d->subnets, d->nsubnets, sizeof key, cmp_subnet) : NULL;
}

static bool read_hosts(sqlite3 *db, struct draft *d, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT vlan, ip, mac IS NOT NULL AND pkts_sent > 0 FROM hosts",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "not a quaywatch store: %s", sqlite3_errmsg(db));
        return false;
    }
    bool ok = true;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *ip = sqlite3_column_text(st, 1);
        struct qw_addr a;
        int vlan = sqlite3_column_int(st, 0);
        if (!ip || !qw_addr_parse((const char *)ip, &a) || !usable(&a) || vlan < 0 || vlan > 4094)
            continue;
        d->hosts++;
        if (d->nvotes == d->capvotes) {
            size_t cap = d->capvotes ? d->capvotes * 2 : 256;
            struct vote *v = realloc(d->votes, cap * sizeof *v);
            if (!v) {
                ok = false;
                break;
            }
            d->votes = v;
            d->capvotes = cap;
        }
        d->votes[d->nvotes++] = (struct vote){subnet_of(&a), (uint16_t)vlan,
                                              (uint32_t)sqlite3_column_int(st, 2), 1};
    }
    sqlite3_finalize(st);
    if (!ok) snprintf(err, errlen, "out of memory reading the hosts");
    return ok;
}

/* Give each subnet its VLAN, then make the zones. */
static bool make_zones(struct draft *d)
{
    if (d->nvotes > 1) qsort(d->votes, d->nvotes, sizeof *d->votes, cmp_vote);
    d->subnets = calloc(d->nvotes ? d->nvotes : 1, sizeof *d->subnets);
    /* at most one zone per subnet plus one per VLAN */
    d->zones = calloc(d->nvotes * 2 + 1, sizeof *d->zones);
    if (!d->subnets || !d->zones) return false;
    bool vlan_seen[4096] = {false}, vlan_kept[4096] = {false};
    for (size_t i = 0; i < d->nvotes;) {
        /* one subnet: its (vlan) runs, summed */
        size_t j = i;
        struct subnet best = {.net = d->votes[i].net};
        uint32_t best_votes = 0, best_hosts = 0;
        bool have = false;
        while (j < d->nvotes && memcmp(d->votes[j].net.b, best.net.b, 16) == 0) {
            uint16_t vlan = d->votes[j].vlan;
            uint32_t votes = 0, hosts = 0;
            while (j < d->nvotes && memcmp(d->votes[j].net.b, best.net.b, 16) == 0 &&
                   d->votes[j].vlan == vlan) {
                votes += d->votes[j].votes;
                hosts += d->votes[j].hosts;
                j++;
            }
            vlan_seen[vlan] = true;
            if (!have || votes > best_votes || (votes == best_votes && hosts > best_hosts)) {
                best.vlan = vlan;
                best_votes = votes;
                best_hosts = hosts;
                have = true;
            }
        }
        best.hosts = best_hosts;
        d->subnets[d->nsubnets++] = best;
        vlan_kept[best.vlan] = true;
        i = j;
    }
    /* zones in a stable order: VLANs ascending, then untagged subnets */
    if (d->nsubnets > 1) qsort(d->subnets, d->nsubnets, sizeof *d->subnets, cmp_subnet_zone);
    for (size_t i = 0; i < d->nsubnets; i++) {
        struct subnet *s = &d->subnets[i];
        struct zone *z = d->nzones ? &d->zones[d->nzones - 1] : NULL;
        if (!z || s->vlan == 0 || z->vlan != s->vlan) {
            z = &d->zones[d->nzones++];
            z->vlan = s->vlan;
            if (s->vlan) {
                snprintf(z->id, sizeof z->id, "vlan-%u", (unsigned)s->vlan);
            } else if (qw_addr_is_v4(&s->net)) {
                snprintf(z->id, sizeof z->id, "net-%u-%u-%u", s->net.b[12], s->net.b[13],
                         s->net.b[14]);
            } else {
                snprintf(z->id, sizeof z->id, "net6-%x-%x-%x-%x", s->net.b[0] << 8 | s->net.b[1],
                         s->net.b[2] << 8 | s->net.b[3], s->net.b[4] << 8 | s->net.b[5],
                         s->net.b[6] << 8 | s->net.b[7]);
            }
        }
        s->zone = (int)(z - d->zones);
        z->hosts += s->hosts;
        z->nsubnets++;
    }
    for (unsigned v = 1; v < 4095; v++)
        if (vlan_seen[v] && !vlan_kept[v]) {
            struct zone *z = &d->zones[d->nzones++];
            z->vlan = (uint16_t)v;
            snprintf(z->id, sizeof z->id, "vlan-%u", v);
        }
    /* back to address order for lookups */
    if (d->nsubnets > 1) qsort(d->subnets, d->nsubnets, sizeof *d->subnets, cmp_subnet);
    return true;
}

static struct conduit *conduit_for(struct draft *d, int from, int to)
{
    for (size_t i = 0; i < d->nconduits; i++)
        if (d->conduits[i].from == from && d->conduits[i].to == to) return &d->conduits[i];
    if (d->nconduits == d->capconduits) {
        size_t cap = d->capconduits ? d->capconduits * 2 : 16;
        struct conduit *c = realloc(d->conduits, cap * sizeof *c);
        if (!c) return NULL;
        d->conduits = c;
        d->capconduits = cap;
    }
    struct conduit *c = &d->conduits[d->nconduits++];
    memset(c, 0, sizeof *c);
    c->from = from;
    c->to = to;
    return c;
}

static bool add_entry(struct conduit *c, const char *text)
{
    for (uint32_t i = 0; i < c->nentries; i++)
        if (strcmp(c->entries[i], text) == 0) return true;
    if (c->nentries == DRAFT_ENTRIES_MAX) {
        c->more++;
        return true;
    }
    c->entries[c->nentries] = strdup(text);
    if (!c->entries[c->nentries]) return false;
    c->nentries++;
    return true;
}

static bool read_edges(sqlite3 *db, struct draft *d, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT client_ip, server_ip, proto, server_port, app_proto, ops, flows"
                           " FROM edges ORDER BY client_ip, server_ip, proto, server_port",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "not a quaywatch store: %s", sqlite3_errmsg(db));
        return false;
    }
    bool ok = true;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const char *cip = (const char *)sqlite3_column_text(st, 0);
        const char *sip = (const char *)sqlite3_column_text(st, 1);
        const char *app = (const char *)sqlite3_column_text(st, 4);
        int proto = sqlite3_column_int(st, 2), port = sqlite3_column_int(st, 3);
        struct qw_addr ca, sa;
        d->edges++;
        if (!cip || !sip || !qw_addr_parse(cip, &ca) || !qw_addr_parse(sip, &sa) ||
            !usable(&ca) || !usable(&sa))
            continue;
        const struct subnet *cs = find_subnet(d, &ca), *ss = find_subnet(d, &sa);
        if (!cs || !ss || cs->zone == ss->zone) continue;
        struct conduit *c = conduit_for(d, cs->zone, ss->zone);
        if (!c) {
            ok = false;
            break;
        }
        c->flows += (uint64_t)sqlite3_column_int64(st, 6);
        char text[64];
        int index = app && *app ? qw_site_proto_find(app) : -1;
        bool ported = port > 0 && port <= 65535;
        if (index >= 0 && (proto == 6 || proto == 17)) {
            snprintf(text, sizeof text, ported ? "%s/%d" : "%s", app, port);
            if (qw_site_proto_industrial(index)) {
                c->industrial = true;
                c->opclasses |= qw_site_opclasses_of((uint32_t)sqlite3_column_int64(st, 5));
            }
        } else if (proto == 6 || proto == 17) {
            snprintf(text, sizeof text, ported ? "%s/%d" : "%s", proto == 6 ? "tcp" : "udp", port);
        } else if (proto == 1 || proto == 58) {
            snprintf(text, sizeof text, "icmp");
        } else if (proto >= 0 && proto <= 255) {
            snprintf(text, sizeof text, "ip/%d", proto);
        } else {
            continue;
        }
        ok = add_entry(c, text);
    }
    sqlite3_finalize(st);
    if (!ok) snprintf(err, errlen, "out of memory reading the edges");
    return ok;
}

static void read_times(sqlite3 *db, struct draft *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT min(first_seen), max(last_seen) FROM runs", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        d->first_ns = (uint64_t)sqlite3_column_int64(st, 0);
        d->last_ns = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
}

/* ---- output ------------------------------------------------------------------------------- */

static const char *ip_yaml(const struct qw_addr *a, unsigned prefix, char out[64])
{
    char ip[46];
    qw_addr_str(a, ip);
    /* IPv6 has colons: quote it so that no YAML reader takes it for a key */
    snprintf(out, 64, qw_addr_is_v4(a) ? "%s/%u" : "\"%s/%u\"", ip, prefix);
    return out;
}

static void write_header(FILE *out, const struct draft *d, const char *db_path)
{
    char a[QW_TIME_STR_MAX] = "?", b[QW_TIME_STR_MAX] = "?";
    if (d->first_ns) qw_time_rfc3339(d->first_ns, a);
    if (d->last_ns) qw_time_rfc3339(d->last_ns, b);
    fprintf(out,
            "# Site file drafted by `quaywatch site draft` from the store %s:\n"
            "# %llu hosts and %llu communication edges, seen from %s to %s.\n"
            "#\n"
            "# It is a starting point, not a policy. Before using it:\n"
            "#   1. Replace every TODO (`quaywatch site check` lists those left): the site's "
            "name,\n"
            "#      the parties, who owns each zone and conduit, and each zone's IEC 62443 "
            "target\n"
            "#      security level (1 to 4).\n"
            "#   2. Rename the zones to say what they are (and the conduits that name them), and "
            "give\n"
            "#      each a `function` (docs/site-file.md lists them).\n"
            "#   3. Review the conduits: they allow exactly what was seen, including what should "
            "not\n"
            "#      happen. Remove those entries; narrow `operations` where only reads are "
            "needed.\n"
            "#   4. Declare the assets that matter, the software modules and who answers for "
            "them,\n"
            "#      approved changes and the remote-access rules (docs/site-file.md).\n"
            "# Then check it: quaywatch site check FILE\n\n",
            db_path, (unsigned long long)d->hosts, (unsigned long long)d->edges, a, b);
    fprintf(out, "site: TODO  # the site's name\n"
                 "# timezone: Europe/Rotterdam  # IANA time zone of windows that name none "
                 "(default UTC)\n"
                 "default_owner: TODO  # the party that answers for what nothing else "
                 "assigns\n\n"
                 "parties:\n"
                 "  # One entry per party that answers for part of the site: the terminal "
                 "operator, its IT\n"
                 "  # partner, each automation vendor. The ids are what `owner` and `by` name.\n"
                 "  - {id: TODO, name: TODO, contact: TODO}\n\n");
}

static void write_zones(FILE *out, const struct draft *d)
{
    fprintf(out, "zones:\n");
    if (!d->nzones) fprintf(out, "  []  # the store has seen no host\n");
    for (size_t z = 0; z < d->nzones; z++) {
        const struct zone *zn = &d->zones[z];
        char buf[64];
        if (zn->vlan)
            fprintf(out, "  # VLAN %u: %u host%s", (unsigned)zn->vlan, (unsigned)zn->hosts,
                    zn->hosts == 1 ? "" : "s");
        else
            fprintf(out, "  # untagged: %u host%s", (unsigned)zn->hosts, zn->hosts == 1 ? "" : "s");
        fprintf(out, zn->nsubnets ? " in %u subnet%s\n" : ", and no subnet of its own\n",
                (unsigned)zn->nsubnets, zn->nsubnets == 1 ? "" : "s");
        fprintf(out, "  - id: %s\n", zn->id);
        if (zn->vlan) fprintf(out, "    vlans: [%u]\n", (unsigned)zn->vlan);
        if (zn->nsubnets) {
            fprintf(out, "    cidrs: [");
            bool first = true;
            for (size_t i = 0; i < d->nsubnets; i++) {
                if (d->subnets[i].zone != (int)z) continue;
                fprintf(out, "%s%s", first ? "" : ", ",
                        ip_yaml(&d->subnets[i].net, qw_addr_is_v4(&d->subnets[i].net) ? 24 : 64,
                                buf));
                first = false;
            }
            fprintf(out, "]\n");
        }
        fprintf(out, "    owner: TODO  # the party that answers for the zone\n"
                     "    security_level: TODO  # IEC 62443 target security level, 1 to 4\n"
                     "    # function: TODO  # what the zone does, e.g. crane_plcs "
                     "(docs/site-file.md)\n");
    }
    fprintf(out, "\n");
}

static int cmp_conduit(const void *pa, const void *pb)
{
    const struct conduit *a = pa, *b = pb;
    if (a->from != b->from) return a->from < b->from ? -1 : 1;
    return (a->to > b->to) - (a->to < b->to);
}

static void write_conduits(FILE *out, struct draft *d)
{
    if (d->nconduits > 1) qsort(d->conduits, d->nconduits, sizeof *d->conduits, cmp_conduit);
    fprintf(out, "# The only flows allowed between zones, from the zone that opens the connection.\n"
                 "conduits:\n");
    if (!d->nconduits) fprintf(out, "  []  # no flow between two zones was seen\n");
    for (size_t i = 0; i < d->nconduits; i++) {
        const struct conduit *c = &d->conduits[i];
        fprintf(out, "  # seen: %llu flow%s\n", (unsigned long long)c->flows,
                c->flows == 1 ? "" : "s");
        fprintf(out, "  - from: %s\n    to: %s\n    allow: [", d->zones[c->from].id,
                d->zones[c->to].id);
        for (uint32_t j = 0; j < c->nentries; j++)
            fprintf(out, "%s%s", j ? ", " : "", c->entries[j]);
        fprintf(out, "]\n");
        if (c->more)
            fprintf(out, "    # and %u more protocol/port pairs: widen an entry to a range "
                         "(tcp/1024-65535) or list them\n",
                    (unsigned)c->more);
        if (c->industrial && c->opclasses) {
            fprintf(out, "    operations: [");
            bool first = true;
            for (unsigned b = 0; b < QW_OPC_COUNT; b++)
                if (c->opclasses & (1u << b)) {
                    fprintf(out, "%s%s", first ? "" : ", ", qw_site_opclass_names[b]);
                    first = false;
                }
            fprintf(out, "]  # the operation classes seen\n");
        }
        fprintf(out, "    owner: TODO  # the party that answers for the conduit\n");
    }
    fprintf(out,
            "\n# Still to declare (docs/site-file.md):\n"
            "# assets:         the devices that matter, e.g.\n"
            "#   - {match: {ip: 10.30.0.1}, name: crane-router, owner: it-partner, "
            "criticality: high}\n"
            "# modules:        the contractual list of software modules and who answers for "
            "them\n"
            "# changes:        approved change records\n"
            "# remote_access:  jump hosts, VPN pools, windows, parties and target zones\n");
}

static void draft_free(struct draft *d)
{
    for (size_t i = 0; i < d->nconduits; i++)
        for (uint32_t j = 0; j < d->conduits[i].nentries; j++) free(d->conduits[i].entries[j]);
    free(d->conduits);
    free(d->votes);
    free(d->subnets);
    free(d->zones);
}

enum qw_draft_status qw_site_draft(const char *db_path, FILE *out, char *err, size_t errlen)
{
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open store: %s", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return QW_DRAFT_BAD_STORE;
    }
    struct draft d = {0};
    enum qw_draft_status rc = QW_DRAFT_OK;
    char why[256];
    if (!read_hosts(db, &d, why, sizeof why)) {
        rc = strstr(why, "store") ? QW_DRAFT_BAD_STORE : QW_DRAFT_FAILED;
    } else if (!make_zones(&d)) {
        snprintf(why, sizeof why, "out of memory");
        rc = QW_DRAFT_FAILED;
    } else if (!read_edges(db, &d, why, sizeof why)) {
        rc = strstr(why, "store") ? QW_DRAFT_BAD_STORE : QW_DRAFT_FAILED;
    }
    if (rc == QW_DRAFT_OK) {
        read_times(db, &d);
        write_header(out, &d, db_path);
        write_zones(out, &d);
        write_conduits(out, &d);
        if (fflush(out) != 0 || ferror(out)) {
            snprintf(why, sizeof why, "writing the draft failed");
            rc = QW_DRAFT_FAILED;
        }
    }
    if (rc != QW_DRAFT_OK) snprintf(err, errlen, "%s: %s", db_path, why);
    draft_free(&d);
    sqlite3_close(db);
    return rc;
}
