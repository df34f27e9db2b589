/* The site file's sections about what is allowed and agreed, from YAML nodes to model entries:
 * conduits, software modules, change records and remote access (docs/site-file.md). They
 * come after parties, zones and assets (parse.c), whose ids they name. */
#include <stdio.h>
#include <string.h>

#include "site/civil.h"
#include "site/internal.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- conduits ----------------------------------------------------------------------------- */

enum { C_FROM, C_TO, C_ALLOW, C_OPS, C_OWNER, C_DESC, C_COUNT };

static uint32_t opclasses(struct qw_ld *ld, yaml_node_t *n, const char *key, bool *ok)
{
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, key, &count);
    uint32_t bits = 0;
    if (!items) {
        *ok = false;
        return 0;
    }
    if (count == 0) {
        qw_ld_err(ld, n, "'%s' is empty: leave it out to allow every operation", key);
        *ok = false;
    }
    for (size_t i = 0; i < count; i++) {
        int c = qw_ld_vocab(ld, items[i], key, "operation class", qw_site_opclass_names,
                            QW_OPC_COUNT);
        if (c < 0)
            *ok = false;
        else
            bits |= 1u << c;
    }
    return bits;
}

void qw_parse_conduits(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[C_COUNT] = {
        [C_FROM] = {"from", true, "the id of the zone that opens the connections"},
        [C_TO] = {"to", true, "the id of the zone that answers them"},
        [C_ALLOW] = {"allow", true, "the protocols and ports allowed, e.g. [modbus/502, tcp/443]"},
        [C_OPS] = {"operations", false, "the operation classes allowed, e.g. [read]"},
        [C_OWNER] = {"owner", false, "the id of the party that answers for the conduit"},
        [C_DESC] = {"description", false, "a description"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "conduits", &count);
    if (!items) return;
    struct qw_site_conduit *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[C_COUNT];
        if (!qw_ld_map(ld, items[i], "a conduit", keys, C_COUNT, v)) continue;
        struct qw_site_conduit *c = &out[k];
        bool ok = true;
        c->from = v[C_FROM] ? qw_ld_zone_ref(ld, v[C_FROM], "from", NULL) : NULL;
        c->to = v[C_TO] ? qw_ld_zone_ref(ld, v[C_TO], "to", NULL) : NULL;
        if (c->from && c->from == c->to) {
            qw_ld_err(ld, v[C_TO],
                      "a conduit joins two different zones, not '%s' to itself (traffic inside "
                      "a zone needs no conduit)",
                      c->from->id);
            ok = false;
        }
        bool industrial = false;
        if (v[C_ALLOW]) {
            size_t na;
            yaml_node_t **al = qw_ld_list(ld, v[C_ALLOW], "allow", &na);
            struct qw_site_allow *allow = al ? qw_ld_array(ld, na, sizeof *allow) : NULL;
            uint32_t ka = 0;
            if (al && na == 0) {
                qw_ld_err(ld, v[C_ALLOW],
                          "'allow' is empty: list protocol/port entries such as modbus/502, or any");
                ok = false;
            }
            for (size_t j = 0; allow && j < na; j++) {
                const char *t = qw_ld_text(ld, al[j], "allow", 100);
                char why[200];
                if (!t) {
                    ok = false;
                    continue;
                }
                if (!qw_parse_allow(t, &allow[ka], why, sizeof why)) {
                    qw_ld_err(ld, al[j], "%s", why);
                    ok = false;
                    continue;
                }
                allow[ka].text = t;
                if (allow[ka].kind == QW_ALLOW_ANY ||
                    (allow[ka].kind == QW_ALLOW_APP && qw_site_proto_industrial(allow[ka].app)) ||
                    (allow[ka].kind == QW_ALLOW_TRANSPORT &&
                     (allow[ka].ipproto == 6 || allow[ka].ipproto == 17)))
                    industrial = true;
                ka++;
            }
            c->allow = allow;
            c->nallow = ka;
            if (!allow) ok = false;
        } else {
            ok = false;
        }
        c->opclasses = QW_OPC_ALL;
        if (v[C_OPS]) {
            c->has_operations = true;
            c->opclasses = opclasses(ld, v[C_OPS], "operations", &ok);
            if (ok && !industrial)
                qw_ld_err(ld, v[C_OPS],
                          "'operations' restricts industrial protocols, and 'allow' lists none");
        }
        if (v[C_OWNER]) c->owner = qw_ld_party_ref(ld, v[C_OWNER], "owner");
        c->description = qw_ld_text(ld, v[C_DESC], "description", QW_SITE_TEXT_MAX);
        if (!c->from || !c->to || !ok) continue;
        c->pos = qw_ld_pos(items[i]);
        c->index = k++;
    }
    ld->site->conduits = out;
    ld->site->nconduits = k;
}

/* ---- selectors: role:X, zone:Y, asset:NAME ------------------------------------------------ */

static bool selector(struct qw_ld *ld, yaml_node_t *n, const char *key, bool allow_role,
                     struct qw_site_selector *out)
{
    const char *t = qw_ld_text(ld, n, key, 200);
    if (!t) return false;
    const char *colon = strchr(t, ':');
    const char *val = colon ? colon + 1 : NULL;
    size_t kl = colon ? (size_t)(colon - t) : 0;
    char why[200];
    if (colon && kl == 4 && strncmp(t, "zone", 4) == 0) {
        out->kind = QW_SEL_ZONE;
        out->zone = qw_ld_zone_ref(ld, n, key, val);
        return out->zone != NULL;
    }
    if (colon && kl == 5 && strncmp(t, "asset", 5) == 0) {
        out->kind = QW_SEL_ASSET;
        out->asset = qw_ld_asset_ref(ld, n, key, val);
        return out->asset != NULL;
    }
    if (colon && kl == 4 && strncmp(t, "role", 4) == 0 && allow_role) {
        if (!qw_parse_id(val, why, sizeof why)) {
            qw_ld_err(ld, n, "%s", why);
            return false;
        }
        out->kind = QW_SEL_ROLE;
        out->role = val;
        return true;
    }
    if (allow_role)
        qw_ld_err(ld, n, "'%s' is not a selector: write role:ROLE, zone:ZONE or asset:NAME", t);
    else
        qw_ld_err(ld, n, "'%s' cannot be in '%s': write zone:ZONE or asset:NAME", t, key);
    return false;
}

static const struct qw_site_selector *selectors(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                                bool allow_role, uint32_t *nout, bool *ok)
{
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, key, &count);
    *nout = 0;
    if (!items) {
        *ok = false;
        return NULL;
    }
    if (count == 0) {
        qw_ld_err(ld, n, "'%s' is empty", key);
        *ok = false;
    }
    struct qw_site_selector *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return NULL;
    uint32_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (selector(ld, items[i], key, allow_role, &out[k]))
            k++;
        else
            *ok = false;
    }
    *nout = k;
    return out;
}

/* ---- modules ------------------------------------------------------------------------------ */

void qw_parse_modules(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[] = {
        {"name", true, "the module's unique name"},
        {"owner", true, "the id of the party that answers for the module"},
        {"runs_on", true, "where it runs: role:ROLE, zone:ZONE, asset:NAME"},
        {"description", false, "a description"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "modules", &count);
    if (!items) return;
    struct qw_site_module *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[NKEYS(keys)];
        if (!qw_ld_map(ld, items[i], "a module", keys, NKEYS(keys), v)) continue;
        struct qw_site_module *m = &out[k];
        bool ok = true;
        m->name = qw_ld_id(ld, v[0], "name");
        m->owner = v[1] ? qw_ld_party_ref(ld, v[1], "owner") : NULL;
        if (v[2]) m->runs_on = selectors(ld, v[2], "runs_on", true, &m->nruns_on, &ok);
        m->description = qw_ld_text(ld, v[3], "description", QW_SITE_TEXT_MAX);
        for (uint32_t j = 0; j < m->nruns_on; j++) m->kinds |= (uint8_t)(1u << m->runs_on[j].kind);
        if (!m->name || !m->owner || !m->runs_on || !ok) continue;
        m->pos = qw_ld_pos(v[0]);
        m->index = k++;
    }
    ld->site->modules = out;
    ld->site->nmodules = k;
}

/* ---- changes ------------------------------------------------------------------------------ */

enum { G_ID, G_BY, G_TITLE, G_WINDOW, G_SCOPE, G_EXPECT, G_COUNT };

static void fmt_ns(int64_t ns, char out[40])
{
    int64_t t = qw_floor_div(ns, 1000000000);
    int64_t days = qw_floor_div(t, 86400), sod = t - days * 86400;
    int64_t y;
    unsigned m, d;
    qw_civil_from_days(days, &y, &m, &d);
    snprintf(out, 40, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
             (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

void qw_parse_changes(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[G_COUNT] = {
        [G_ID] = {"id", true, "the change record's unique id, e.g. CHG-1042"},
        [G_BY] = {"by", true, "the id of the party that makes the change"},
        [G_TITLE] = {"title", false, "what the change is"},
        [G_WINDOW] = {"window", true, "{start: RFC 3339 time, end: RFC 3339 time}"},
        [G_SCOPE] = {"scope", true, "what it touches: zone:ZONE, asset:NAME"},
        [G_EXPECT] = {"expect", true, "the kinds of change it brings, e.g. [asset.identity_changed]"},
    };
    static const struct qw_keyspec window_keys[] = {
        {"start", true, "when the change window opens, RFC 3339 with offset"},
        {"end", true, "when it closes, RFC 3339 with offset"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "changes", &count);
    if (!items) return;
    struct qw_site_change *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[G_COUNT];
        if (!qw_ld_map(ld, items[i], "a change", keys, G_COUNT, v)) continue;
        struct qw_site_change *c = &out[k];
        bool ok = true;
        c->id = qw_ld_id(ld, v[G_ID], "id");
        c->by = v[G_BY] ? qw_ld_party_ref(ld, v[G_BY], "by") : NULL;
        c->title = qw_ld_text(ld, v[G_TITLE], "title", QW_SITE_TEXT_MAX);
        yaml_node_t *w[2];
        if (v[G_WINDOW] && qw_ld_map(ld, v[G_WINDOW], "'window'", window_keys, 2, w)) {
            char why[200];
            const char *s = qw_ld_text(ld, w[0], "start", 64), *e = qw_ld_text(ld, w[1], "end", 64);
            bool sok = s && qw_parse_rfc3339(s, &c->start_ns, why, sizeof why);
            if (s && !sok) qw_ld_err(ld, w[0], "%s", why);
            bool eok = e && qw_parse_rfc3339(e, &c->end_ns, why, sizeof why);
            if (e && !eok) qw_ld_err(ld, w[1], "%s", why);
            if (sok && eok && c->end_ns <= c->start_ns) {
                char a[40], b[40];
                fmt_ns(c->start_ns, a);
                fmt_ns(c->end_ns, b);
                if (c->end_ns == c->start_ns)
                    qw_ld_err(ld, w[1], "the change window ends when it starts (%s)", a);
                else
                    qw_ld_err(ld, w[1], "the change window ends (%s) before it starts (%s)", b, a);
                ok = false;
            }
            ok = ok && sok && eok;
        } else {
            ok = false;
        }
        if (v[G_SCOPE]) c->scope = selectors(ld, v[G_SCOPE], "scope", false, &c->nscope, &ok);
        if (v[G_EXPECT]) {
            size_t ne;
            yaml_node_t **ex = qw_ld_list(ld, v[G_EXPECT], "expect", &ne);
            if (ex && ne == 0) {
                qw_ld_err(ld, v[G_EXPECT], "'expect' is empty: list the kinds of change expected");
                ok = false;
            }
            for (size_t j = 0; ex && j < ne; j++) {
                int kind = qw_ld_vocab(ld, ex[j], "expect", "change kind",
                                       qw_site_change_kind_names, QW_CHG_COUNT);
                if (kind < 0)
                    ok = false;
                else
                    c->expect |= 1u << kind;
            }
            if (!ex) ok = false;
        }
        if (!c->id || !c->by || !c->scope || !c->expect || !ok) continue;
        c->pos = qw_ld_pos(v[G_ID]);
        c->index = k++;
    }
    ld->site->changes = out;
    ld->site->nchanges = k;
}

/* ---- remote access ------------------------------------------------------------------------ */

void qw_parse_remote(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[] = {
        {"jump_hosts", false, "the hosts remote sessions must pass through: IPs or asset names"},
        {"vpn_pools", false, "the address blocks of VPN clients, e.g. [10.50.8.0/24]"},
        {"windows", false, "the weekly windows remote access is allowed in"},
        {"parties", false, "the ids of the parties allowed remote access"},
        {"zones", false, "the ids of the zones remote sessions may reach"},
    };
    if (!n) return;
    struct qw_site_remote *r = &ld->site->remote;
    yaml_node_t *v[NKEYS(keys)];
    if (!qw_ld_map(ld, n, "remote_access", keys, NKEYS(keys), v)) return;
    r->declared = true;
    r->pos = qw_ld_pos(n);
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, v[0], "jump_hosts", &count);
    struct qw_site_jump_host *jh = items ? qw_ld_array(ld, count, sizeof *jh) : NULL;
    for (size_t i = 0; jh && i < count; i++) {
        const char *t = qw_ld_text(ld, items[i], "jump_hosts", 200);
        struct qw_site_jump_host *j = &jh[r->njump_hosts];
        if (!t) continue;
        if (qw_parse_ip(t, &j->ip)) {
            r->njump_hosts++;
            continue;
        }
        const struct qw_site_asset *a = qw_ld_find_asset(ld, t);
        if (!a) {
            qw_ld_err(ld, items[i],
                      "jump host '%s' is neither an IP address nor a declared asset's name", t);
            continue;
        }
        j->by_asset = true;
        j->asset = a;
        if (a->match == QW_MATCH_IP) j->ip = a->ip;
        r->njump_hosts++;
    }
    r->jump_hosts = jh;
    items = qw_ld_list(ld, v[1], "vpn_pools", &count);
    struct qw_site_cidr *pools = items ? qw_ld_array(ld, count, sizeof *pools) : NULL;
    for (size_t i = 0; pools && i < count; i++) {
        const char *t = qw_ld_text(ld, items[i], "vpn_pools", 100);
        char why[200];
        if (!t) continue;
        if (!qw_parse_cidr(t, &pools[r->nvpn_pools], why, sizeof why)) {
            qw_ld_err(ld, items[i], "%s", why);
            continue;
        }
        pools[r->nvpn_pools++].pos = qw_ld_pos(items[i]);
    }
    r->vpn_pools = pools;
    if (v[2]) r->windows = qw_parse_windows(ld, v[2], "windows", &r->nwindows);
    items = qw_ld_list(ld, v[3], "parties", &count);
    const struct qw_site_party **parties =
        items ? qw_ld_array(ld, count, sizeof *parties) : NULL;
    for (size_t i = 0; parties && i < count; i++) {
        const struct qw_site_party *p = qw_ld_party_ref(ld, items[i], "parties");
        if (p) parties[r->nparties++] = p;
    }
    r->parties = parties;
    items = qw_ld_list(ld, v[4], "zones", &count);
    const struct qw_site_zone **zones = items ? qw_ld_array(ld, count, sizeof *zones) : NULL;
    for (size_t i = 0; zones && i < count; i++) {
        const struct qw_site_zone *z = qw_ld_zone_ref(ld, items[i], "zones", NULL);
        if (z) zones[r->nzones++] = z;
    }
    r->zones = zones;
}
