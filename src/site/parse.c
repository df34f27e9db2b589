/* The site file's sections about the network and who is in it, from YAML nodes to model
 * entries: parties, zones (with their windows) and declared assets. docs/site-file.md describes
 * every key. load.c calls the sections in dependency order (parties, zones, assets, then
 * policy.c's), so that references resolve through the indexes of the sections before
 * (validate.c). An entry whose id is unusable is reported and left out. */
#include <stdio.h>
#include <string.h>

#include "site/internal.h"
#include "site/tz.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parties ------------------------------------------------------------------------------ */

void qw_parse_parties(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[] = {
        {"id", true, "the party's unique id, used by owner, by and parties"},
        {"name", true, "the party's name"},
        {"contact", false, "how to reach the party: an e-mail address, a phone number, a URL"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "parties", &count);
    if (!items) return;
    struct qw_site_party *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[NKEYS(keys)];
        if (!qw_ld_map(ld, items[i], "a party", keys, NKEYS(keys), v)) continue;
        struct qw_site_party *p = &out[k];
        p->id = qw_ld_id(ld, v[0], "id");
        p->name = qw_ld_text(ld, v[1], "name", QW_SITE_TEXT_MAX);
        p->contact = qw_ld_text(ld, v[2], "contact", QW_SITE_TEXT_MAX);
        if (!p->id) continue;
        p->pos = qw_ld_pos(v[0]);
        p->index = k++;
    }
    ld->site->parties = out;
    ld->site->nparties = k;
}

/* ---- windows ------------------------------------------------------------------------------ */

static void hhmm_str(uint16_t m, char out[8])
{
    snprintf(out, 8, "%02u:%02u", (unsigned)(m / 60) % 100, (unsigned)(m % 60));
}

const struct qw_site_window *qw_parse_windows(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                              uint32_t *nout)
{
    static const struct qw_keyspec keys[] = {
        {"days", false, "the days it applies, e.g. [mon, tue, wed, thu, fri]"},
        {"start", true, "the local time it opens, HH:MM"},
        {"end", true, "the local time it closes, HH:MM (24:00 for midnight)"},
        {"tz", false, "the IANA time zone of start and end"},
    };
    *nout = 0;
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, key, &count);
    if (!items) return NULL;
    struct qw_site_window *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return NULL;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[NKEYS(keys)];
        if (!qw_ld_map(ld, items[i], "a window", keys, NKEYS(keys), v)) continue;
        struct qw_site_window *w = &out[k];
        bool ok = true;
        w->days = 0x7f;
        if (v[0]) {
            size_t nd;
            yaml_node_t **days = qw_ld_list(ld, v[0], "days", &nd);
            if (!days) {
                ok = false;
            } else if (nd == 0) {
                qw_ld_err(ld, v[0], "'days' is empty (leave it out for every day)");
                ok = false;
            } else {
                w->days = 0;
                for (size_t d = 0; d < nd; d++) {
                    int day = qw_ld_vocab(ld, days[d], "days", "day", qw_site_day_names, 7);
                    if (day < 0)
                        ok = false;
                    else
                        w->days |= (uint8_t)(1u << day);
                }
            }
        }
        const char *s = qw_ld_text(ld, v[1], "start", 32), *e = qw_ld_text(ld, v[2], "end", 32);
        if (s && !qw_parse_hhmm(s, false, &w->start_min)) {
            qw_ld_err(ld, v[1], "'start' must be a time of day HH:MM (00:00 to 23:59), not '%s'", s);
            s = NULL;
        }
        if (e && !qw_parse_hhmm(e, true, &w->end_min)) {
            qw_ld_err(ld, v[2], "'end' must be a time of day HH:MM (00:00 to 24:00), not '%s'", e);
            e = NULL;
        }
        if (s && e && w->end_min <= w->start_min) {
            char a[8], b[8];
            hhmm_str(w->start_min, a);
            hhmm_str(w->end_min, b);
            if (w->end_min == w->start_min)
                qw_ld_err(ld, v[2], "the window ends when it starts (%s)", a);
            else
                qw_ld_err(ld, v[2],
                          "the window ends (%s) before it starts (%s): write a window that "
                          "crosses midnight as two",
                          b, a);
            ok = false;
        }
        w->tz = v[3] ? qw_ld_tz(ld, v[3], "tz") : ld->site->timezone;
        if (!s || !e || !w->tz || !ok) continue;
        w->pos = qw_ld_pos(items[i]);
        k++;
    }
    *nout = k;
    return out;
}

/* ---- zones -------------------------------------------------------------------------------- */

enum { Z_ID, Z_NAME, Z_CIDRS, Z_VLANS, Z_OWNER, Z_SL, Z_FUNCTION, Z_MAINT, Z_COUNT };

void qw_parse_zones(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[Z_COUNT] = {
        [Z_ID] = {"id", true, "the zone's unique id, used by conduits and selectors"},
        [Z_NAME] = {"name", false, "a description of the zone"},
        [Z_CIDRS] = {"cidrs", false, "the zone's address blocks, e.g. [10.30.0.0/16]"},
        [Z_VLANS] = {"vlans", false, "the zone's VLAN ids, e.g. [30]"},
        [Z_OWNER] = {"owner", false, "the id of the party that answers for the zone"},
        [Z_SL] = {"security_level", true, "the IEC 62443 target security level, 1 to 4"},
        [Z_FUNCTION] = {"function", false, "what the zone does, e.g. crane_plcs"},
        [Z_MAINT] = {"maintenance_windows", false, "the zone's weekly maintenance windows"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "zones", &count);
    if (!items) return;
    struct qw_site_zone *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    uint16_t *vlan_zone = ld->ix->vlan_zone;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[Z_COUNT];
        if (!qw_ld_map(ld, items[i], "a zone", keys, Z_COUNT, v)) continue;
        struct qw_site_zone *z = &out[k];
        z->id = qw_ld_id(ld, v[Z_ID], "id");
        z->name = qw_ld_text(ld, v[Z_NAME], "name", QW_SITE_TEXT_MAX);
        z->function = -1;
        if (v[Z_CIDRS]) {
            size_t nc;
            yaml_node_t **c = qw_ld_list(ld, v[Z_CIDRS], "cidrs", &nc);
            struct qw_site_cidr *cidrs = c ? qw_ld_array(ld, nc, sizeof *cidrs) : NULL;
            uint32_t kc = 0;
            for (size_t j = 0; cidrs && j < nc; j++) {
                const char *t = qw_ld_text(ld, c[j], "cidrs", 100);
                char why[200];
                if (!t) continue;
                if (!qw_parse_cidr(t, &cidrs[kc], why, sizeof why)) {
                    qw_ld_err(ld, c[j], "%s", why);
                    continue;
                }
                cidrs[kc++].pos = qw_ld_pos(c[j]);
            }
            z->cidrs = cidrs;
            z->ncidrs = kc;
        }
        if (v[Z_VLANS]) {
            size_t nv;
            yaml_node_t **vl = qw_ld_list(ld, v[Z_VLANS], "vlans", &nv);
            uint16_t *vlans = vl ? qw_ld_array(ld, nv, sizeof *vlans) : NULL;
            uint32_t kv = 0;
            for (size_t j = 0; vlans && j < nv; j++) {
                const char *t = qw_ld_text(ld, vl[j], "vlans", 20);
                uint32_t id;
                if (!t) continue;
                if (!qw_parse_uint(t, 100000, &id) || id < 1 || id > 4094) {
                    qw_ld_err(ld, vl[j], "VLAN id '%s' is not in 1..4094", t);
                    continue;
                }
                if (vlan_zone[id] && z->id) {
                    const struct qw_site_zone *o = &out[vlan_zone[id] - 1];
                    if (o == z)
                        qw_ld_err(ld, vl[j], "VLAN %u is listed twice in this zone", (unsigned)id);
                    else
                        qw_ld_err(ld, vl[j], "VLAN %u is already in zone '%s' (line %u)",
                                  (unsigned)id, o->id, (unsigned)o->pos.line);
                    continue;
                }
                if (z->id) vlan_zone[id] = (uint16_t)(k + 1);
                vlans[kv++] = (uint16_t)id;
            }
            z->vlans = vlans;
            z->nvlans = kv;
        }
        if (!v[Z_CIDRS] && !v[Z_VLANS])
            qw_ld_err(ld, items[i], "a zone needs 'cidrs', 'vlans' or both");
        if (v[Z_OWNER]) z->owner = qw_ld_party_ref(ld, v[Z_OWNER], "owner");
        if (v[Z_SL]) {
            const char *t = qw_ld_text(ld, v[Z_SL], "security_level", 20);
            uint32_t sl;
            if (t && (!qw_parse_uint(t, 4, &sl) || sl < 1))
                qw_ld_err(ld, v[Z_SL],
                          "'security_level' must be 1, 2, 3 or 4 (the IEC 62443 target level), "
                          "not '%s'", t);
            else if (t)
                z->security_level = (uint8_t)sl;
        }
        if (v[Z_FUNCTION])
            z->function = (int8_t)qw_ld_vocab(ld, v[Z_FUNCTION], "function", "function",
                                              qw_site_function_names, qw_site_function_count);
        if (v[Z_MAINT])
            z->maintenance = qw_parse_windows(ld, v[Z_MAINT], "maintenance_windows",
                                              &z->nmaintenance);
        if (!z->id) continue;
        z->pos = qw_ld_pos(v[Z_ID]);
        z->index = k++;
        if (k > 65000) {
            qw_ld_err(ld, n, "more than 65000 zones");
            break;
        }
    }
    ld->site->zones = out;
    ld->site->nzones = k;
}

/* ---- assets ------------------------------------------------------------------------------- */

enum { A_MATCH, A_NAME, A_OWNER, A_CRIT, A_FUNCTION, A_ROLE, A_DESC, A_COUNT };

void qw_parse_assets(struct qw_ld *ld, yaml_node_t *n)
{
    static const struct qw_keyspec keys[A_COUNT] = {
        [A_MATCH] = {"match", true, "what identifies the device: {ip: ...}, {mac: ...} or {name: ...}"},
        [A_NAME] = {"name", true, "the asset's unique name"},
        [A_OWNER] = {"owner", false, "the id of the party that answers for the asset"},
        [A_CRIT] = {"criticality", false, "low, medium, high or critical"},
        [A_FUNCTION] = {"function", false, "what the asset does, e.g. crane_plcs"},
        [A_ROLE] = {"role", false, "the asset's role, e.g. plc, hmi, router"},
        [A_DESC] = {"description", false, "a description"},
    };
    static const struct qw_keyspec match_keys[] = {
        {"ip", false, "the device's IP address"},
        {"mac", false, "the device's MAC address"},
        {"name", false, "the host name the device announces"},
    };
    size_t count;
    yaml_node_t **items = qw_ld_list(ld, n, "assets", &count);
    if (!items) return;
    struct qw_site_asset *out = qw_ld_array(ld, count, sizeof *out);
    if (!out) return;
    uint32_t k = 0;
    for (size_t i = 0; i < count && !qw_ld_full(ld); i++) {
        yaml_node_t *v[A_COUNT];
        if (!qw_ld_map(ld, items[i], "an asset", keys, A_COUNT, v)) continue;
        struct qw_site_asset *a = &out[k];
        bool ok = true;
        a->name = qw_ld_id(ld, v[A_NAME], "name");
        yaml_node_t *m[3];
        if (v[A_MATCH] && qw_ld_map(ld, v[A_MATCH], "'match'", match_keys, 3, m)) {
            int given = (m[0] != NULL) + (m[1] != NULL) + (m[2] != NULL);
            if (given != 1) {
                qw_ld_err(ld, v[A_MATCH], "'match' takes exactly one of ip, mac or name, not %s",
                          given ? "several" : "none");
                ok = false;
            } else if (m[0]) {
                const char *t = qw_ld_text(ld, m[0], "ip", 100);
                a->match = QW_MATCH_IP;
                if (t && !qw_parse_ip(t, &a->ip)) {
                    qw_ld_err(ld, m[0], "'%s' is not an IPv4 or IPv6 address", t);
                    ok = false;
                }
                ok = ok && t;
            } else if (m[1]) {
                const char *t = qw_ld_text(ld, m[1], "mac", 100);
                a->match = QW_MATCH_MAC;
                if (t && !qw_parse_mac(t, a->mac)) {
                    qw_ld_err(ld, m[1],
                              "'%s' is not a MAC address (six hex pairs: 00:1a:2b:3c:4d:5e)", t);
                    ok = false;
                }
                ok = ok && t;
            } else {
                a->match = QW_MATCH_NAME;
                a->hostname = qw_ld_text(ld, m[2], "name", 253);
                ok = a->hostname != NULL;
            }
        } else {
            ok = false;
        }
        if (v[A_OWNER]) a->owner = qw_ld_party_ref(ld, v[A_OWNER], "owner");
        a->criticality = QW_CRIT_MEDIUM;
        if (v[A_CRIT]) {
            int c = qw_ld_vocab(ld, v[A_CRIT], "criticality", "criticality",
                                qw_site_criticality_names, 5);
            if (c > 0) a->criticality = (uint8_t)c;
        }
        a->function = -1;
        if (v[A_FUNCTION])
            a->function = (int8_t)qw_ld_vocab(ld, v[A_FUNCTION], "function", "function",
                                              qw_site_function_names, qw_site_function_count);
        if (v[A_ROLE]) a->role = qw_ld_id(ld, v[A_ROLE], "role");
        a->description = qw_ld_text(ld, v[A_DESC], "description", QW_SITE_TEXT_MAX);
        if (!a->name || !ok) continue;
        a->pos = qw_ld_pos(v[A_NAME]);
        a->index = k++;
    }
    ld->site->assets = out;
    ld->site->nassets = k;
}
