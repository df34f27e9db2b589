/* Rules over the whole store, run once at the end of a run: every typed change since the
 * baseline (documented or not, with its owner), and assets nobody owns. Also the baseline's
 * normal operations, loaded at the start of a run for the per-transaction rules. */
#include <stdio.h>
#include <string.h>

#include "baseline/baseline.h"
#include "baseline/verify.h"
#include "detect/detect.h"
#include "inventory/inventory.h"
#include "inventory/place.h"
#include "util/json.h"
#include "vuln/match.h"

/* The address a finding about an inventory asset is keyed by: its first IP, else its MAC
 * (qw_addr_from_mac). */
static void asset_addr(const struct qw_asset *a, const char *ip_hint, struct qw_addr *out)
{
    memset(out, 0, sizeof *out);
    if (ip_hint && ip_hint[0] && qw_addr_parse(ip_hint, out)) return;
    if (a && a->nips && qw_addr_parse(a->ips[0].ip, out)) return;
    if (a && a->nmacs) qw_addr_from_mac(out, a->macs[0].mac);
}

static const struct qw_asset *find_asset(const struct qw_inventory *inv, const char *id)
{
    return qw_inventory_find_id(inv, id);
}

bool qw_detect_load_baseline(struct qw_detector *d, sqlite3 *db)
{
    struct qw_baseline bl;
    struct qw_inventory inv;
    char err[256];
    if (!qw_baseline_load(&bl, db, err, sizeof err)) return false;
    if (qw_baseline_empty(&bl)) {
        qw_baseline_free(&bl);
        return true;
    }
    if (!qw_inventory_load(&inv, db, err, sizeof err)) {
        qw_baseline_free(&bl);
        return false;
    }
    for (size_t e = 0; e < bl.nedges; e++) {
        const struct qw_asset *c = find_asset(&inv, bl.edges[e].client);
        const struct qw_asset *s = find_asset(&inv, bl.edges[e].server);
        for (size_t i = 0; c && s && i < c->nips; i++)
            for (size_t k = 0; k < s->nips; k++) {
                struct qw_addr ca, sa;
                if (qw_addr_parse(c->ips[i].ip, &ca) && qw_addr_parse(s->ips[k].ip, &sa))
                    qw_detect_add_normal(d, &ca, &sa, bl.edges[e].ops);
            }
    }
    d->have_baseline = true;
    qw_inventory_free(&inv);
    qw_baseline_free(&bl);
    return true;
}

static const enum qw_rule change_rule[QW_CH_KIND_COUNT] = {
    [QW_CH_ASSET_NEW] = QW_R_ASSET_NEW,
    [QW_CH_ASSET_GONE] = QW_R_ASSET_GONE,
    [QW_CH_ASSET_MAC_CHANGED] = QW_R_ASSET_MAC_CHANGED,
    [QW_CH_ASSET_VENDOR_CHANGED] = QW_R_ASSET_VENDOR_CHANGED,
    [QW_CH_ASSET_IDENTITY_CHANGED] = QW_R_ASSET_IDENTITY_CHANGED,
    [QW_CH_ASSET_ROLE_CHANGED] = QW_R_ASSET_ROLE_CHANGED,
    [QW_CH_COMM_NEW_EDGE] = QW_R_COMM_NEW_EDGE,
    [QW_CH_COMM_NEW_PROTOCOL] = QW_R_COMM_NEW_PROTOCOL,
    [QW_CH_COMM_NEW_OPERATION] = QW_R_COMM_NEW_OPERATION,
};

static void change_evidence(char *out, size_t cap, const struct qw_change *c)
{
    struct qw_json j;
    qw_json_mem(&j, out, cap - 1);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "change", qw_change_kind_names[c->kind]);
    if (c->attr[0]) qw_json_str(&j, "attribute", c->attr);
    if (c->old_value[0]) qw_json_str(&j, "old", c->old_value);
    if (c->new_value[0]) qw_json_str(&j, "new", c->new_value);
    if (c->detail[0]) qw_json_str(&j, "detail", c->detail);
    qw_json_obj_end(&j);
    out[j.overflow ? 0 : j.len] = '\0';
}

static void change_findings(struct qw_detector *d, sqlite3 *db, const struct qw_inventory *inv,
                            const struct qw_changes *ch)
{
    const struct qw_site *site = d->cfg.site;
    for (size_t i = 0; i < ch->n; i++) {
        const struct qw_change *c = &ch->v[i];
        enum qw_rule rule = change_rule[c->kind];
        struct qw_change_verdict v;
        qw_change_verify(site, inv, c, &v);
        struct qw_finding x;
        memset(&x, 0, sizeof x);
        x.stateful = true;
        snprintf(x.asset_id, sizeof x.asset_id, "%s", c->asset);
        snprintf(x.peer_id, sizeof x.peer_id, "%s", c->peer);
        if (v.owner) snprintf(x.owner, sizeof x.owner, "%s", v.owner->id);
        if (v.zone) snprintf(x.zone, sizeof x.zone, "%s", v.zone->id);
        if (v.peer_zone) snprintf(x.peer_zone, sizeof x.peer_zone, "%s", v.peer_zone->id);
        if (v.record) {
            x.documented = true;
            snprintf(x.change_id, sizeof x.change_id, "%s", v.record->id);
            if (v.record->by) snprintf(x.actor, sizeof x.actor, "%s", v.record->by->id);
        }
        int sev = qw_rules[rule].severity;
        /* a device appearing in, or swapped in, a zone with a security target is worse */
        if (!x.documented && v.zone && v.zone->security_level >= 3 && sev < QW_SEV_CRITICAL &&
            (rule == QW_R_ASSET_NEW || rule == QW_R_ASSET_MAC_CHANGED))
            sev++;
        if (x.documented) sev = QW_SEV_INFO;
        x.severity = (uint8_t)sev;
        if (c->attr[0])
            snprintf(x.message, sizeof x.message, "%s %s: %.40s -> %.40s", c->asset, c->attr,
                     c->old_value, c->new_value);
        else if (c->kind == QW_CH_ASSET_VENDOR_CHANGED || c->kind == QW_CH_ASSET_ROLE_CHANGED)
            snprintf(x.message, sizeof x.message, "%s %s: %.80s -> %.80s", c->asset,
                     c->kind == QW_CH_ASSET_VENDOR_CHANGED ? "vendor" : "roles", c->old_value,
                     c->new_value);
        else
            snprintf(x.message, sizeof x.message, "%s%s%s %.60s", c->asset,
                     c->peer[0] ? " from " : "", c->peer, c->detail);
        change_evidence(x.evidence, sizeof x.evidence, c);
        struct qw_addr asset, peer;
        asset_addr(find_asset(inv, c->asset), c->ip, &asset);
        const struct qw_asset *pa = find_asset(inv, c->peer);
        asset_addr(pa, NULL, &peer);
        char extra[32];
        snprintf(extra, sizeof extra, "%.31s", c->attr[0] ? c->attr : c->detail);
        /* a change stays a change until accepted: announce it once, not on every run */
        x.announced = qw_detect_known(db, rule, x.asset_id, x.peer_id, extra);
        qw_detect_raise(d, rule, &asset, c->peer[0] ? &peer : NULL, extra, NULL, c->when_ns, &x);
    }
}

static void unowned_findings(struct qw_detector *d, sqlite3 *db, const struct qw_inventory *inv)
{
    const struct qw_site *site = d->cfg.site;
    if (!site) return;
    for (size_t i = 0; i < inv->nassets; i++) {
        const struct qw_asset *a = &inv->assets[i];
        struct qw_asset_place pl;
        qw_asset_place(site, a, &pl);
        if (pl.owner.party) continue;
        struct qw_finding x;
        memset(&x, 0, sizeof x);
        x.stateful = true;
        snprintf(x.asset_id, sizeof x.asset_id, "%s", a->id);
        if (pl.zone) snprintf(x.zone, sizeof x.zone, "%s", pl.zone->id);
        /* an unowned device in an OT zone (a security target) is worse than one elsewhere */
        x.severity = pl.zone && pl.zone->security_level >= 2 ? QW_SEV_MEDIUM : QW_SEV_LOW;
        snprintf(x.message, sizeof x.message, "nobody answers for %s (%s)", a->id,
                 pl.zone ? pl.zone->id : "no zone");
        snprintf(x.evidence, sizeof x.evidence, "{\"owner_rule\":\"none\"}");
        struct qw_addr addr;
        asset_addr(a, NULL, &addr);
        x.announced = qw_detect_known(db, QW_R_POLICY_UNOWNED, x.asset_id, "", "");
        qw_detect_raise(d, QW_R_POLICY_UNOWNED, &addr, NULL, NULL, NULL, a->first_ns, &x);
    }
}

static enum qw_severity rating_severity(const char *rating)
{
    for (int s = QW_SEV_INFO; s <= QW_SEV_CRITICAL; s++)
        if (strcmp(qw_severity_names[s], rating) == 0) return (enum qw_severity)s;
    return QW_SEV_MEDIUM;
}

/* The evidence of a vuln.* finding; when the whole does not fit, without the model, firmware
 * and product's long name, which the message and the inventory also give. */
static void vuln_evidence(char *out, size_t cap, const struct qw_vuln_hit *h, const char *fw)
{
    struct qw_json j;
    for (int whole = 1; whole >= 0; whole--) {
        qw_json_mem(&j, out, cap - 1);
        qw_json_obj_begin(&j, NULL);
        qw_json_str(&j, "advisory", h->advisory);
        qw_json_str(&j, "cves", h->cves);
        if (h->cvss >= 0) qw_json_double(&j, "cvss", h->cvss);
        if (whole) qw_json_str(&j, "model", h->model);
        if (whole && fw) qw_json_str(&j, "firmware", fw);
        qw_json_str(&j, "versions", h->versions);
        qw_json_str(&j, "match", h->basis);
        if (whole) qw_json_str(&j, "product", h->product);
        qw_json_obj_end(&j);
        if (!j.overflow) break;
    }
    out[j.overflow ? 0 : j.len] = '\0';
}

/* Every asset the advisories in the store name (vuln/match.h): a state of the store, like an
 * unowned asset, announced once and kept until the firmware leaves the affected versions. */
static bool vuln_findings(struct qw_detector *d, sqlite3 *db, const struct qw_inventory *inv,
                          char *err, size_t errlen)
{
    struct qw_vuln_hits hits;
    if (!qw_vuln_match(db, inv, &hits, err, errlen)) return false;
    for (size_t i = 0; i < hits.n; i++) {
        const struct qw_vuln_hit *h = &hits.v[i];
        const struct qw_asset *a = &inv->assets[h->asset];
        enum qw_rule rule = h->affected ? QW_R_VULN_AFFECTED : QW_R_VULN_POSSIBLY_AFFECTED;
        struct qw_asset_place pl;
        qw_asset_place(d->cfg.site, a, &pl);
        struct qw_finding x;
        memset(&x, 0, sizeof x);
        x.stateful = true;
        snprintf(x.asset_id, sizeof x.asset_id, "%s", a->id);
        if (pl.owner.party) snprintf(x.owner, sizeof x.owner, "%s", pl.owner.party->id);
        if (pl.zone) snprintf(x.zone, sizeof x.zone, "%s", pl.zone->id);
        x.severity = (uint8_t)(h->affected ? rating_severity(qw_vuln_cvss_rating(h->cvss))
                                           : qw_rules[rule].severity);
        if (h->affected)
            snprintf(x.message, sizeof x.message, "%.63s (%.40s, firmware %.24s) is affected by %.40s: %.120s",
                     a->id, h->model, a->firmware ? a->firmware : "any", h->advisory, h->cves);
        else
            snprintf(x.message, sizeof x.message,
                     "%.63s (%.40s, firmware %.24s) may be affected by %.40s (affected: %.40s): %.60s",
                     a->id, h->model, a->firmware ? a->firmware : "not seen", h->advisory,
                     h->versions, h->cves);
        vuln_evidence(x.evidence, sizeof x.evidence, h, a->firmware);
        struct qw_addr addr;
        asset_addr(a, NULL, &addr);
        char extra[32];
        snprintf(extra, sizeof extra, "%.31s", h->advisory);
        x.announced = qw_detect_known(db, rule, x.asset_id, "", extra);
        qw_detect_raise(d, rule, &addr, NULL, extra, NULL, a->first_ns, &x);
    }
    qw_vuln_hits_free(&hits);
    return true;
}

bool qw_detect_finish(struct qw_detector *d, sqlite3 *db, const struct qw_inventory *inv,
                      char *err, size_t errlen)
{
    struct qw_baseline bl;
    if (!qw_baseline_load(&bl, db, err, errlen)) return false;
    bool ok = true;
    if (!qw_baseline_empty(&bl)) {
        struct qw_changes ch;
        uint64_t gone = 24ull * 3600 * 1000000000ull;
        ok = qw_baseline_diff(&bl, inv, db, qw_store_last_packet_ns(db), gone, &ch);
        if (ok) change_findings(d, db, inv, &ch);
        else snprintf(err, errlen, "comparing with the baseline failed");
        qw_changes_free(&ch);
    }
    unowned_findings(d, db, inv);
    if (ok) ok = vuln_findings(d, db, inv, err, errlen);
    qw_baseline_free(&bl);
    return ok;
}
