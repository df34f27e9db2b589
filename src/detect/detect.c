/* Findings: aggregation, alert records and the per-flow and per-transaction rules
 * (docs/detections.md). Rules over the whole store are in finish.c. */
#include "detect/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/json.h"
#include "util/str.h"

struct alerted_val {
    uint8_t unused;
};

struct probe_key {
    struct qw_addr src, dst;
    uint16_t port;
    uint8_t pad[6];
    uint64_t epoch; /* scan window index */
};

struct scanner_val {
    uint64_t epoch;
    uint32_t hosts, ports_max;
    bool raised;
};

struct host_port_key { /* distinct ports per (src, dst) in a window */
    struct qw_addr src, dst;
    uint64_t epoch;
};

/* cred.guessing: failed logins to `device` from `from`, as the device answered on the wire
 * (`via` zero) or as its log to the collector `via` says. Each key's reports travel on one
 * address pair (source and device, or device and collector), so one engine counts them all. */
struct guess_key {
    struct qw_addr device, from, via;
};

struct guess_val {
    uint64_t ts[QW_DETECT_GUESS_FAILURES]; /* the last failures' times, a ring */
    uint64_t failures;                     /* all of them; the next goes to ts[failures % N] */
    char users[40];                        /* the first distinct user names tried, "a, b" */
};

bool qw_detect_init(struct qw_detector *d, const struct qw_detect_config *cfg)
{
    memset(d, 0, sizeof *d);
    if (cfg) d->cfg = *cfg;
    if (!d->cfg.scan_hosts) d->cfg.scan_hosts = QW_DETECT_SCAN_HOSTS_DEFAULT;
    if (!d->cfg.scan_ports) d->cfg.scan_ports = QW_DETECT_SCAN_PORTS_DEFAULT;
    if (!d->cfg.scan_window_ns) d->cfg.scan_window_ns = QW_DETECT_SCAN_WINDOW_DEFAULT;
    return qw_hmap_init(&d->findings, sizeof(struct qw_finding_key), sizeof(struct qw_finding),
                        QW_DETECT_MAX_FINDINGS) &&
           qw_hmap_init(&d->alerted, sizeof(struct qw_finding_key), sizeof(struct alerted_val),
                        QW_DETECT_MAX_FINDINGS) &&
           qw_hmap_init(&d->probes, sizeof(struct probe_key), sizeof(struct alerted_val),
                        QW_DETECT_MAX_PROBES) &&
           qw_hmap_init(&d->scanners, sizeof(struct host_port_key), sizeof(struct scanner_val),
                        QW_DETECT_MAX_PROBES) &&
           qw_hmap_init(&d->normal, sizeof(struct qw_detect_pair), sizeof(uint32_t),
                        QW_DETECT_MAX_PROBES) &&
           qw_hmap_init(&d->users, sizeof(uint64_t), sizeof(struct qw_session_user),
                        QW_DETECT_MAX_SESSION_USERS) &&
           qw_hmap_init(&d->guesses, sizeof(struct guess_key), sizeof(struct guess_val),
                        QW_DETECT_MAX_GUESSERS);
}

void qw_detect_free(struct qw_detector *d)
{
    free(d->sessions);
    d->sessions = NULL;
    free(d->address_users);
    d->address_users = NULL;
    free(d->logins);
    d->logins = NULL;
    free(d->probe_log);
    d->probe_log = NULL;
    d->nprobe_log = d->probe_log_cap = 0;
    qw_hmap_free(&d->findings);
    qw_hmap_free(&d->alerted);
    qw_hmap_free(&d->probes);
    qw_hmap_free(&d->scanners);
    qw_hmap_free(&d->normal);
    qw_hmap_free(&d->users);
    qw_hmap_free(&d->guesses);
}

/* The next free, zeroed record of one of the batch's bounded tables (sessions, address uses,
 * logins), allocated whole at its first use since most runs need none; NULL, counted as
 * refused, past `cap` (a commit empties them). */
static void *batch_slot(struct qw_detector *d, void **arr, size_t *n, size_t cap, size_t size)
{
    if (*n == cap) {
        d->dropped++;
        return NULL;
    }
    if (!*arr && !(*arr = malloc(cap * size))) return NULL;
    void *slot = (char *)*arr + *n * size;
    (*n)++;
    memset(slot, 0, size);
    return slot;
}

void qw_detect_clear(struct qw_detector *d)
{
    qw_hmap_clear(&d->findings);
    d->nsessions = 0;
    d->naddress_users = 0;
    d->nlogins = 0;
}

/* ---- raising a finding ------------------------------------------------------------------ */

static int eve_severity(uint8_t sev)
{
    /* EVE alert.severity: 1 is the most severe */
    return sev >= QW_SEV_HIGH ? 1 : sev == QW_SEV_MEDIUM ? 2 : 3;
}

/* An address as findings name it: a link-layer finding carries a MAC (qw_addr_from_mac),
 * written mac:xx:..., as the store writes it (persist.c). */
static const char *subject_str(const struct qw_addr *a, char buf[46])
{
    if (qw_addr_is_mac(a)) {
        char m[18];
        snprintf(buf, 46, "mac:%s", qw_mac_str(a->b + 10, m));
        return buf;
    }
    return qw_addr_str(a, buf);
}

/* The alert record: EVE's `alert` object plus quaywatch's fields (docs/events.md). */
static void alert_record(struct qw_eventlog *el, enum qw_rule rule, const struct qw_flow *f,
                         uint64_t ts_ns, const struct qw_finding *x,
                         const struct qw_finding_key *k)
{
    const struct qw_rule_info *ri = &qw_rules[rule];
    qw_eventlog_begin(el, ts_ns, "alert", f);
    struct qw_json *j = &el->j;
    qw_json_obj_begin(j, "alert");
    qw_json_str(j, "action", "allowed"); /* passive: nothing is ever blocked */
    qw_json_u64(j, "gid", 1);
    qw_json_u64(j, "signature_id", ri->id);
    qw_json_u64(j, "rev", 1);
    char sig[400];
    snprintf(sig, sizeof sig, "%s: %s", ri->name, x->message[0] ? x->message : ri->title);
    qw_json_str(j, "signature", sig);
    qw_json_str(j, "category", ri->category);
    qw_json_u64(j, "severity", (uint64_t)eve_severity(x->severity));
    qw_json_str(j, "rule", ri->name);
    qw_json_str(j, "severity_name", qw_severity_names[x->severity]);
    char a[46];
    qw_json_str(j, "asset", x->asset_id[0] ? x->asset_id : subject_str(&k->asset, a));
    static const struct qw_addr zero;
    if (x->peer_id[0])
        qw_json_str(j, "peer", x->peer_id);
    else if (memcmp(&k->peer, &zero, sizeof zero) != 0)
        qw_json_str(j, "peer", subject_str(&k->peer, a));
    if (x->owner[0])
        qw_json_str(j, "owner", x->owner);
    else
        qw_json_null(j, "owner");
    if (x->actor[0]) qw_json_str(j, "actor", x->actor);
    if (x->zone[0]) qw_json_str(j, "zone", x->zone);
    if (x->peer_zone[0]) qw_json_str(j, "peer_zone", x->peer_zone);
    qw_json_bool(j, "documented", x->documented);
    if (x->change_id[0]) qw_json_str(j, "change_id", x->change_id);
    if (x->maintenance) qw_json_bool(j, "maintenance_window", true);
    if (x->evidence[0]) qw_json_raw(j, "evidence", x->evidence, strlen(x->evidence));
    qw_json_obj_end(j);
    qw_eventlog_end(el);
}

/* CEF (ArcSight Common Event Format, rev 25): header fields escape | and \, extension values
 * escape = and \ and newlines. */
static size_t cef_put(char *out, size_t cap, size_t n, const char *s, bool header)
{
    for (; s && *s && n + 3 < cap; s++) {
        char c = *s;
        if (c == '\\' || (header && c == '|') || (!header && c == '=')) out[n++] = '\\';
        if (c == '\n' || c == '\r') {
            out[n++] = '\\';
            c = 'n';
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

static size_t cef_text(char *out, size_t cap, enum qw_rule rule, uint64_t ts_ns,
                       const struct qw_finding *x, const struct qw_finding_key *k)
{
    static const int cef_sev[5] = {1, 3, 5, 8, 10};
    const struct qw_rule_info *ri = &qw_rules[rule];
    size_t n = (size_t)snprintf(out, cap, "CEF:0|quaywatch|quaywatch|%s|%u|", QW_VERSION, ri->id);
    n = cef_put(out, cap, n, ri->name, true);
    n = cef_put(out, cap, n, ": ", true);
    n = cef_put(out, cap, n, x->message[0] ? x->message : ri->title, true);
    char a[46], p[46];
    static const struct qw_addr zero;
    bool peer = memcmp(&k->peer, &zero, sizeof zero) != 0;
    int w = snprintf(out + n, cap - n, "|%d|rt=%llu cat=%s dst=%s", cef_sev[x->severity],
                     (unsigned long long)(ts_ns / 1000000u), ri->category,
                     subject_str(&k->asset, a));
    if (w > 0 && (size_t)w < cap - n) n += (size_t)w;
    if (peer) {
        w = snprintf(out + n, cap - n, " src=%s", subject_str(&k->peer, p));
        if (w > 0 && (size_t)w < cap - n) n += (size_t)w;
    }
    const struct {
        const char *label, *value;
    } cs[] = {{"rule", ri->name}, {"owner", x->owner}, {"actor", x->actor},
              {"zone", x->zone},  {"changeId", x->change_id}, {"asset", x->asset_id}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        if (!cs[i].value[0]) continue;
        w = snprintf(out + n, cap - n, " cs%zuLabel=%s cs%zu=", i + 1, cs[i].label, i + 1);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
        n = cef_put(out, cap, n, cs[i].value, false);
    }
    w = snprintf(out + n, cap - n, " cn1Label=documented cn1=%d", x->documented ? 1 : 0);
    if (w > 0 && (size_t)w < cap - n) n += (size_t)w;
    return n;
}

static void write_alert(struct qw_detector *d, enum qw_rule rule, const struct qw_flow *f,
                        uint64_t ts_ns, const struct qw_finding *x, const struct qw_finding_key *k)
{
    d->alerts++;
    if (d->cfg.events) alert_record(d->cfg.events, rule, f, ts_ns, x, k);
    if (!d->cfg.syslog) return;
    static _Thread_local char json[6144], cef[4096]; /* one per worker thread */
    struct qw_eventlog mem;
    memset(&mem, 0, sizeof mem);
    qw_json_mem(&mem.j, json, sizeof json - 1);
    alert_record(&mem, rule, f, ts_ns, x, k);
    size_t jl = mem.j.overflow ? 0 : mem.j.len;
    while (jl && json[jl - 1] == '\n') jl--; /* a syslog message carries no line end */
    size_t cl = cef_text(cef, sizeof cef, rule, ts_ns, x, k);
    qw_syslog_send(d->cfg.syslog, ts_ns, x->severity, qw_rules[rule].name, json, jl, cef, cl);
}

static void finding_key(struct qw_finding_key *k, enum qw_rule rule, const struct qw_addr *asset,
                        const struct qw_addr *peer, const char *extra)
{
    memset(k, 0, sizeof *k);
    k->rule = (uint16_t)rule;
    if (asset) k->asset = *asset;
    if (peer) k->peer = *peer;
    if (extra) memcpy(k->extra, extra, strnlen(extra, sizeof k->extra - 1)); /* NUL: memset */
}

/* Writes a new finding's message and evidence into x (which holds the context already): only
 * for the finding's first occurrence in the batch, as a repeat only counts. */
typedef void (*describe_fn)(struct qw_finding *x, const void *arg);

static void raise_described(struct qw_detector *d, enum qw_rule rule, const struct qw_addr *asset,
                            const struct qw_addr *peer, const char *extra,
                            const struct qw_flow *f, uint64_t ts_ns,
                            const struct qw_finding *proto, describe_fn describe,
                            const void *arg)
{
    struct qw_finding_key k;
    finding_key(&k, rule, asset, peer, extra);
    bool fresh = false;
    struct qw_finding *x = qw_hmap_upsert(&d->findings, &k, &fresh);
    if (!x) {
        d->dropped++;
        return;
    }
    if (fresh) {
        if (proto) *x = *proto;
        else memset(x, 0, sizeof *x);
        if (describe) describe(x, arg);
        x->first_ns = x->last_ns = ts_ns;
        x->count = 0;
        if (f) x->flow_id = f->id;
    }
    x->count++;
    if (ts_ns < x->first_ns) x->first_ns = ts_ns;
    if (ts_ns > x->last_ns) x->last_ns = ts_ns;
    if (proto && proto->severity > x->severity) x->severity = proto->severity;
    bool first_alert = false;
    if (!qw_hmap_upsert(&d->alerted, &k, &first_alert)) {
        d->dropped++;
        first_alert = false;
    }
    if (first_alert && !(proto && proto->announced)) write_alert(d, rule, f, ts_ns, x, &k);
}

void qw_detect_raise(struct qw_detector *d, enum qw_rule rule, const struct qw_addr *asset,
                     const struct qw_addr *peer, const char *extra, const struct qw_flow *f,
                     uint64_t ts_ns, const struct qw_finding *proto)
{
    raise_described(d, rule, asset, peer, extra, f, ts_ns, proto, NULL, NULL);
}

/* ---- site context -------------------------------------------------------------------------- */

static uint16_t dir_vlan(const struct qw_flow *f, enum qw_dir dir)
{
    if (f->pkts[dir]) return f->dir_vlan[dir];
    return f->key.vlan[1] ? f->key.vlan[1] : f->key.vlan[0];
}

/* The site view of one end of a flow (client: dir TO_SERVER's sender). */
static void end_of(const struct qw_detector *d, const struct qw_flow *f, bool server,
                   struct qw_site_owner *o)
{
    memset(o, 0, sizeof *o);
    if (!d->cfg.site) return;
    enum qw_dir sender = server ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
    struct qw_site_host h = {
        .ip = server ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f),
        .mac = f->has_mac[sender] ? f->mac[sender] : NULL,
        .vlan = dir_vlan(f, sender),
    };
    *o = qw_site_owner_of(d->cfg.site, &h);
}

/* The site context of a finding about one end of a flow (`asset_is_server`: the server end,
 * as most rules are; else the client): owner and zone of that end, the other end's zone, and
 * whether a change record or a maintenance window covers it. */
static void fill_context_of(const struct qw_detector *d, const struct qw_flow *f,
                            struct qw_finding *x, uint64_t ts_ns, bool asset_is_server)
{
    struct qw_site_owner own, peer;
    end_of(d, f, asset_is_server, &own);
    end_of(d, f, !asset_is_server, &peer);
    if (own.party) snprintf(x->owner, sizeof x->owner, "%s", own.party->id);
    if (own.zone) snprintf(x->zone, sizeof x->zone, "%s", own.zone->id);
    if (peer.zone) snprintf(x->peer_zone, sizeof x->peer_zone, "%s", peer.zone->id);
    if (!d->cfg.site) return;
    /* Documented when an approved change record covers the device acted upon at that time;
     * its party is the actor. */
    const struct qw_site_change *rec = NULL;
    if (qw_site_changes_active(d->cfg.site, ts_ns, own.zone, own.asset, 0, &rec, 1) && rec) {
        x->documented = true;
        snprintf(x->change_id, sizeof x->change_id, "%s", rec->id);
        if (rec->by) snprintf(x->actor, sizeof x->actor, "%s", rec->by->id);
    }
    if (own.zone && qw_site_in_maintenance(own.zone, ts_ns)) x->maintenance = true;
}

static void fill_context(const struct qw_detector *d, const struct qw_flow *f,
                         struct qw_finding *x, uint64_t ts_ns)
{
    fill_context_of(d, f, x, ts_ns, true);
}

/* Severity follows operations: inside a maintenance window or a change record the same act is
 * less alarming, and the finding says which applied. */
static uint8_t adjusted(enum qw_rule rule, const struct qw_finding *x)
{
    int s = qw_rules[rule].severity;
    if (x->documented) s -= 2;
    else if (x->maintenance) s -= 1;
    return (uint8_t)(s < 0 ? 0 : s);
}

/* ---- baseline-normal operations ----------------------------------------------------------- */

bool qw_detect_is_normal(const struct qw_detector *d, const struct qw_addr *client,
                         const struct qw_addr *server, uint32_t ops)
{
    struct qw_detect_pair k;
    memset(&k, 0, sizeof k);
    k.client = *client;
    k.server = *server;
    const uint32_t *known = qw_hmap_get(&d->normal, &k);
    return known && (*known & ops) == ops;
}

void qw_detect_add_normal(struct qw_detector *d, const struct qw_addr *client,
                          const struct qw_addr *server, uint32_t ops)
{
    struct qw_detect_pair k;
    memset(&k, 0, sizeof k);
    k.client = *client;
    k.server = *server;
    bool fresh;
    uint32_t *v = qw_hmap_upsert(&d->normal, &k, &fresh);
    if (!v) return;
    if (fresh) *v = 0;
    *v |= ops;
    d->have_baseline = true;
}

/* ---- per transaction ----------------------------------------------------------------------- */

static void txn_evidence(char *out, size_t cap, const struct qw_proto *p, const struct qw_txn *t,
                         const struct qw_flow *f)
{
    struct qw_json j;
    qw_json_mem(&j, out, cap - 1);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "app_proto", p ? p->name : "");
    qw_json_u64(&j, "function", t->function);
    if (t->function_name) qw_json_str(&j, "function_name", t->function_name);
    qw_json_arr_begin(&j, "ops");
    for (unsigned b = 0; b < 15; b++)
        if (t->ops & (1u << b)) qw_json_str(&j, NULL, qw_op_names[b]);
    qw_json_arr_end(&j);
    if (t->error) qw_json_bool(&j, "error", true);
    if (f) { /* a link-layer transaction has no flow */
        qw_json_u64(&j, "flow_id", f->id);
        qw_json_u64(&j, "server_port", qw_flow_srv_port(f));
    }
    qw_json_obj_end(&j);
    out[j.overflow ? 0 : j.len] = '\0';
}

static const struct {
    uint32_t ops;
    enum qw_rule rule;
    const char *verb;
} txn_map[] = {
    {QW_OP_PROGRAM, QW_R_ICS_PROGRAM, "changed the logic of"},
    {QW_OP_STOP | QW_OP_START, QW_R_ICS_CPU_STATE, "changed the run state of"},
    {QW_OP_RESTART, QW_R_ICS_RESTART, "restarted"},
    {QW_OP_FIRMWARE, QW_R_ICS_FIRMWARE, "ran a firmware operation on"},
    {QW_OP_CONFIG, QW_R_ICS_CONFIG, "changed the configuration of"},
    {QW_OP_WRITE | QW_OP_CONTROL, QW_R_ICS_WRITE, "wrote to"},
    {QW_OP_IDENTIFY, QW_R_RECON_ICS_DISCOVERY, "asked the identity of"},
};

/* These rules are about industrial devices. The operation classes IT protocols carry (an FTP
 * upload, an SNMP set, an NTP control write, a DNS update, an FTP SYST) are what those protocols
 * do every day on servers and switches: the site vocabulary (src/site/vocab.c) says which
 * protocols are industrial, and a parser it does not name counts as one. */
static bool ics_protocol(struct qw_detector *d, const struct qw_proto *p)
{
    if (!p) return true;
    if (p != d->ics_last) {
        int i = qw_site_proto_find(p->name);
        d->ics_last = p;
        d->ics_last_is = i < 0 || qw_site_proto_industrial(i);
    }
    return d->ics_last_is;
}

/* An identity announcement carries the identify class but asks nothing: a BACnet device sends
 * I-Am (unconfirmed service 0, function 256) and I-Have (1, 257) to the broadcast address at
 * start-up and in answer to every Who-Is and Who-Has. */
static bool announcement(const struct qw_proto *p, const struct qw_txn *t)
{
    return p && strcmp(p->name, "bacnet") == 0 && (t->function == 256 || t->function == 257);
}

/* What a per-transaction finding says: its parties by IP address, or by MAC for a link-layer
 * frame (then srv and cli carry the MACs, qw_addr_from_mac, and the names are MAC text). */
struct txn_text {
    size_t i;
    const struct qw_proto *p;
    const struct qw_txn *t;
    const struct qw_flow *f; /* NULL for a frame */
    const struct qw_addr *srv, *cli;
};

static void txn_describe(struct qw_finding *x, const void *arg)
{
    const struct txn_text *c = arg;
    char s[46], k[46];
    const char *srv_name = c->f ? qw_addr_str(c->srv, s) : qw_mac_str(c->srv->b + 10, s);
    const char *cli_name = c->f ? qw_addr_str(c->cli, k) : qw_mac_str(c->cli->b + 10, k);
    snprintf(x->message, sizeof x->message, "%s %s %s with %s %s", cli_name, txn_map[c->i].verb,
             srv_name, c->p ? c->p->name : "?", c->t->function_name ? c->t->function_name : "");
    txn_evidence(x->evidence, sizeof x->evidence, c->p, c->t, c->f);
}

/* Raise one per-transaction finding; x holds the site context (owner, zone, documented). The
 * names, message and evidence are written only for its first occurrence in the batch: a repeat
 * (every write of an HMI's polling loop) only counts. */
static void txn_raise(struct qw_detector *d, const struct txn_text *c, uint64_t ts_ns,
                      struct qw_finding *x)
{
    enum qw_rule rule = txn_map[c->i].rule;
    x->severity = adjusted(rule, x);
    /* documented and undocumented occurrences are separate findings */
    char extra[32];
    snprintf(extra, sizeof extra, "%s%s%.20s", c->p ? c->p->name : "", x->documented ? ":" : "",
             x->change_id);
    raise_described(d, rule, c->srv, c->cli, extra, c->f, ts_ns, x, txn_describe, c);
}

void qw_detect_txn(struct qw_detector *d, const struct qw_flow *f, const struct qw_proto *p,
                   const struct qw_txn *t, uint64_t ts_ns)
{
    if (!t->ops || !t->has_request || !ics_protocol(d, p)) return;
    const struct qw_addr *srv = qw_flow_srv_ip(f), *cli = qw_flow_cli_ip(f);
    for (size_t i = 0; i < sizeof txn_map / sizeof txn_map[0]; i++) {
        if (!(t->ops & txn_map[i].ops)) continue;
        enum qw_rule rule = txn_map[i].rule;
        if (rule == QW_R_ICS_WRITE || rule == QW_R_RECON_ICS_DISCOVERY) {
            /* Writes and identity reads are everyday work for an HMI: only a host that the
             * baseline never saw doing it on this pair is news. Without a baseline a write
             * is still reported (once per pair); discovery needs one, or a broadcast. */
            bool bcast = (srv->b[15] == 255 && qw_addr_is_v4(srv)) ||
                         (qw_addr_is_v4(srv) && srv->b[12] >= 224);
            if (qw_detect_is_normal(d, cli, srv, t->ops & txn_map[i].ops)) continue;
            if (rule == QW_R_RECON_ICS_DISCOVERY &&
                (announcement(p, t) || (!bcast && !d->have_baseline)))
                continue;
        }
        struct qw_finding x;
        memset(&x, 0, sizeof x);
        fill_context(d, f, &x, ts_ns);
        struct txn_text c = {i, p, t, f, srv, cli};
        txn_raise(d, &c, ts_ns, &x);
    }
}

void qw_detect_frame_txn(struct qw_detector *d, const struct qw_packet *pkt,
                         const struct qw_proto *p, const struct qw_txn *t, uint64_t ts_ns)
{
    if (!t->ops || !t->has_request || !pkt || !pkt->has_mac || !ics_protocol(d, p)) return;
    /* the device acted upon is the frame's destination (unless it is a group address),
     * the actor its source; both as MACs (qw_addr_from_mac) */
    bool group = (pkt->dst_mac[0] & 1u) != 0;
    struct qw_addr srv, cli;
    qw_addr_from_mac(&srv, pkt->dst_mac);
    qw_addr_from_mac(&cli, pkt->src_mac);
    bool have_ctx = false;
    struct qw_finding ctx;
    memset(&ctx, 0, sizeof ctx);
    for (size_t i = 0; i < sizeof txn_map / sizeof txn_map[0]; i++) {
        if (!(t->ops & txn_map[i].ops)) continue;
        /* No discovery from frames: the transaction does not say what a PROFINET DCP
         * Identify asked for, and an Identify of one NameOfStation (multicast too) is what
         * every controller and device sends at start-up to resolve or check a name. */
        if (txn_map[i].rule == QW_R_RECON_ICS_DISCOVERY) continue;
        if (!have_ctx && d->cfg.site) {
            uint16_t vlan = pkt->nvlan ? pkt->vlan[pkt->nvlan - 1] : 0;
            struct qw_site_host sh = {.mac = pkt->dst_mac, .vlan = vlan};
            struct qw_site_host ch = {.mac = pkt->src_mac, .vlan = vlan};
            struct qw_site_owner so = group ? (struct qw_site_owner){0}
                                            : qw_site_owner_of(d->cfg.site, &sh);
            struct qw_site_owner co = qw_site_owner_of(d->cfg.site, &ch);
            if (so.party) snprintf(ctx.owner, sizeof ctx.owner, "%s", so.party->id);
            if (so.zone) snprintf(ctx.zone, sizeof ctx.zone, "%s", so.zone->id);
            if (co.zone) snprintf(ctx.peer_zone, sizeof ctx.peer_zone, "%s", co.zone->id);
            const struct qw_site_change *rec = NULL;
            if (!group &&
                qw_site_changes_active(d->cfg.site, ts_ns, so.zone, so.asset, 0, &rec, 1) &&
                rec) {
                ctx.documented = true;
                snprintf(ctx.change_id, sizeof ctx.change_id, "%s", rec->id);
                if (rec->by) snprintf(ctx.actor, sizeof ctx.actor, "%s", rec->by->id);
            }
            if (so.zone && qw_site_in_maintenance(so.zone, ts_ns)) ctx.maintenance = true;
        }
        have_ctx = true;
        struct qw_finding x = ctx;
        struct txn_text c = {i, p, t, NULL, &srv, &cli};
        txn_raise(d, &c, ts_ns, &x);
    }
}

/* ---- anomalies ------------------------------------------------------------------------------ */

void qw_detect_anomaly(struct qw_detector *d, const struct qw_flow *f, const struct qw_packet *pkt,
                       const char *name, const char *detail, bool about_client, uint64_t ts_ns)
{
    /* Parsers name clear-text credential sightings "<proto>.cleartext_*" (docs/events); weak
     * security is listed in rules.c; every other anomaly is malformed protocol data. */
    bool cred = strstr(name, ".cleartext") != NULL || strstr(name, ".plaintext") != NULL;
    bool arp = !strcmp(name, "arp.ip_conflict") || !strcmp(name, "arp.reply_mac_mismatch");
    int weak = qw_weakness_severity(name);
    enum qw_rule rule = cred ? QW_R_CRED_PLAINTEXT
                        : arp ? QW_R_NET_ARP_CONFLICT
                        : weak >= 0 ? QW_R_PROTO_WEAK_SECURITY
                                    : QW_R_PROTO_MALFORMED;
    struct qw_finding x;
    memset(&x, 0, sizeof x);
    struct qw_addr asset, peer, *pp = NULL;
    memset(&asset, 0, sizeof asset);
    if (f) {
        asset = about_client ? *qw_flow_cli_ip(f) : *qw_flow_srv_ip(f);
        peer = about_client ? *qw_flow_srv_ip(f) : *qw_flow_cli_ip(f);
        pp = &peer;
        fill_context_of(d, f, &x, ts_ns, !about_client);
    } else if (pkt && pkt->has_mac) {
        /* a link-layer frame: the sender's MAC (qw_addr_from_mac); its owner and zone from
         * the site by MAC and VLAN */
        qw_addr_from_mac(&asset, pkt->src_mac);
        if (d->cfg.site) {
            struct qw_site_host h = {.mac = pkt->src_mac,
                                     .vlan = pkt->nvlan ? pkt->vlan[pkt->nvlan - 1] : 0};
            if (pkt->l3 == QW_L3_ARP) h.ip = &pkt->arp.spa;
            struct qw_site_owner o = qw_site_owner_of(d->cfg.site, &h);
            if (o.party) snprintf(x.owner, sizeof x.owner, "%s", o.party->id);
            if (o.zone) snprintf(x.zone, sizeof x.zone, "%s", o.zone->id);
        }
    }
    x.severity = rule == QW_R_PROTO_WEAK_SECURITY ? (uint8_t)weak : qw_rules[rule].severity;
    snprintf(x.message, sizeof x.message, "%s%s%s", name, detail ? ": " : "", detail ? detail : "");
    struct qw_json j;
    qw_json_mem(&j, x.evidence, sizeof x.evidence - 1);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "anomaly", name);
    if (detail) qw_json_str(&j, "detail", detail);
    if (f) qw_json_u64(&j, "flow_id", f->id);
    qw_json_obj_end(&j);
    x.evidence[j.overflow ? 0 : j.len] = '\0';
    qw_detect_raise(d, rule, &asset, pp, name, f, ts_ns, &x);
}

/* ---- what devices report ------------------------------------------------------------------ */

/* The site context of a finding about what a device reported (asset: the end of `f` that sent
 * the report): the device's owner and zone; the peer is the address the report names (`from`,
 * NULL for none), with its zone, and whoever answers for that address is the actor unless a
 * change record documents it. The flow's other end (a log collector) is no party to it. */
static void fill_report_context(const struct qw_detector *d, const struct qw_flow *f,
                                const struct qw_device_report *c, const struct qw_addr *from,
                                uint64_t ts_ns, struct qw_finding *x)
{
    memset(x, 0, sizeof *x);
    fill_context_of(d, f, x, ts_ns, c->server);
    x->peer_zone[0] = '\0';
    if (!from || !d->cfg.site) return;
    struct qw_site_host h = {.ip = from, .vlan = dir_vlan(f, c->server ? QW_DIR_TO_CLIENT
                                                                        : QW_DIR_TO_SERVER)};
    struct qw_site_owner o = qw_site_owner_of(d->cfg.site, &h);
    if (o.zone) snprintf(x->peer_zone, sizeof x->peer_zone, "%s", o.zone->id);
    if (!x->documented && o.party) snprintf(x->actor, sizeof x->actor, "%s", o.party->id);
}

/* ---- password guessing ---------------------------------------------------------------------- */

/* Add a user name to the value's list unless it is there or the list is full. */
static void guess_note_user(struct guess_val *v, const char *user)
{
    if (!user[0]) return;
    size_t have = strnlen(v->users, sizeof v->users);
    for (const char *p = v->users; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == strlen(user) && memcmp(p, user, n) == 0) return;
        p = end ? end + 2 : NULL;
    }
    size_t need = strlen(user) + (have ? 2 : 0);
    if (have + need >= sizeof v->users) return;
    snprintf(v->users + have, sizeof v->users - have, "%s%s", have ? ", " : "", user);
}

/* The table is full: forget the counters whose last failure left the window before `now`. */
static void guess_prune(struct qw_detector *d, uint64_t now)
{
    uint32_t pos = 0;
    const void *k;
    void *v;
    while (qw_hmap_next(&d->guesses, &pos, &k, &v)) {
        const struct guess_val *g = v;
        uint64_t last = g->ts[(g->failures - 1) % QW_DETECT_GUESS_FAILURES];
        if (last + QW_DETECT_GUESS_WINDOW_NS >= now) continue;
        struct guess_key key = *(const struct guess_key *)k;
        /* the last entry moves into this place: look at this position again */
        if (qw_hmap_remove(&d->guesses, &key)) pos--;
    }
}

struct guess_text {
    const struct qw_proto *p;
    const struct qw_device_report *c; /* its `from` is the source */
    const struct qw_addr *asset;
    const struct guess_val *g;
    uint64_t span_ns;
    bool via_log;
    const struct qw_flow *f;
};

static void guess_describe(struct qw_finding *x, const void *arg)
{
    const struct guess_text *t = arg;
    char a[46], b[46];
    int n = snprintf(x->message, sizeof x->message,
                     "%u failed logins to %s from %s within %llu s (%s%s)",
                     QW_DETECT_GUESS_FAILURES, qw_addr_str(t->asset, a),
                     qw_addr_str(t->c->from, b), (unsigned long long)(t->span_ns / 1000000000ull),
                     t->via_log ? "its log: " : "", t->c->message_id);
    if (n > 0 && (size_t)n < sizeof x->message && t->g->users[0])
        snprintf(x->message + n, sizeof x->message - (size_t)n, ", users %s", t->g->users);
    struct qw_json j;
    qw_json_mem(&j, x->evidence, sizeof x->evidence - 1);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "app_proto", t->p ? t->p->name : "");
    qw_json_str(&j, "message_id", t->c->message_id);
    qw_json_bool(&j, "from_log", t->via_log);
    qw_json_u64(&j, "failures", QW_DETECT_GUESS_FAILURES);
    qw_json_u64(&j, "within_s", t->span_ns / 1000000000ull);
    if (t->g->users[0]) qw_json_str(&j, "users", t->g->users);
    qw_json_u64(&j, "flow_id", t->f->id);
    qw_json_obj_end(&j);
    x->evidence[j.overflow ? 0 : j.len] = '\0';
}

/* A failed login the device reported: count it for its source; the failure that makes
 * QW_DETECT_GUESS_FAILURES within the window raises cred.guessing (each later one inside the
 * window counts again). */
static void guess_failure(struct qw_detector *d, const struct qw_flow *f, const struct qw_proto *p,
                          const struct qw_device_report *c, const struct qw_addr *asset,
                          uint64_t ts_ns)
{
    if (!c->from || memcmp(c->from->b, asset->b, sizeof asset->b) == 0) return;
    struct guess_key key;
    memset(&key, 0, sizeof key);
    key.device = *asset;
    key.from = *c->from;
    /* the flow's other end: the source itself on the wire, the collector for a log */
    const struct qw_addr *other = c->server ? qw_flow_cli_ip(f) : qw_flow_srv_ip(f);
    bool via_log = memcmp(other->b, c->from->b, sizeof other->b) != 0;
    if (via_log) key.via = *other;
    /* sweeping a full table costs a pass over it: at most once a quarter window, so that a
     * flood of failures from new addresses is refused cheaply */
    if (d->guesses.count == QW_DETECT_MAX_GUESSERS &&
        (d->guesses_pruned_ns == 0 ||
         ts_ns >= d->guesses_pruned_ns + QW_DETECT_GUESS_WINDOW_NS / 4)) {
        d->guesses_pruned_ns = ts_ns;
        guess_prune(d, ts_ns);
    }
    struct guess_val *g = qw_hmap_upsert(&d->guesses, &key, NULL);
    if (!g) {
        d->dropped++;
        return;
    }
    char user[24] = "";
    if (c->user) qw_copy_printable(user, sizeof user, c->user, c->user_len);
    guess_note_user(g, user);
    g->ts[g->failures % QW_DETECT_GUESS_FAILURES] = ts_ns;
    g->failures++;
    if (g->failures < QW_DETECT_GUESS_FAILURES) return;
    /* the oldest of the last N is the one the next failure overwrites */
    uint64_t oldest = g->ts[g->failures % QW_DETECT_GUESS_FAILURES];
    uint64_t span = ts_ns > oldest ? ts_ns - oldest : 0; /* times may step back: no span */
    if (span > QW_DETECT_GUESS_WINDOW_NS) return;
    struct qw_finding x;
    fill_report_context(d, f, c, c->from, ts_ns, &x);
    x.severity = adjusted(QW_R_CRED_GUESSING, &x);
    /* the device's answers and each log stream apart, so that what one engine sees decides */
    char extra[32];
    if (via_log) {
        char v[46];
        snprintf(extra, sizeof extra, "log:%s", qw_addr_str(other, v));
    } else {
        snprintf(extra, sizeof extra, "wire");
    }
    struct guess_text t = {p, c, asset, g, span, via_log, f};
    raise_described(d, QW_R_CRED_GUESSING, asset, c->from, extra, f, ts_ns, &x, guess_describe,
                    &t);
}

/* ---- changes devices report --------------------------------------------------------------- */

/* What a device's own log says: the finding is about the device that sent the report; its
 * peer is the address the report says the change came from (the administrator's machine),
 * not the log collector the message went to. A change record covering the device documents
 * it; otherwise whoever the site says answers for that address is the actor. */
struct change_text {
    const struct qw_proto *p;
    const struct qw_device_report *c;
    const struct qw_addr *asset, *from; /* from: NULL when none, or the asset itself */
    const char *user; /* printable, "" when none */
    const struct qw_flow *f;
};

static void change_describe(struct qw_finding *x, const void *arg)
{
    const struct change_text *t = arg;
    char a[46], b[46];
    int n = snprintf(x->message, sizeof x->message, "%s reported %s (%s)",
                     qw_addr_str(t->asset, a),
                     t->c->kind == QW_REPORT_CONFIG ? "a configuration change" : "a restart",
                     t->c->message_id);
    if (n > 0 && (size_t)n < sizeof x->message && t->user[0])
        n += snprintf(x->message + n, sizeof x->message - (size_t)n, " by %s", t->user);
    if (n > 0 && (size_t)n < sizeof x->message && t->from)
        snprintf(x->message + n, sizeof x->message - (size_t)n, " from %s",
                 qw_addr_str(t->from, b));
    struct qw_json j;
    qw_json_mem(&j, x->evidence, sizeof x->evidence - 1);
    qw_json_obj_begin(&j, NULL);
    qw_json_str(&j, "app_proto", t->p ? t->p->name : "");
    qw_json_str(&j, "change", qw_device_report_names[t->c->kind]);
    qw_json_str(&j, "message_id", t->c->message_id);
    if (t->user[0]) qw_json_str(&j, "user", t->user);
    if (t->from) qw_json_str(&j, "from", qw_addr_str(t->from, b));
    qw_json_u64(&j, "flow_id", t->f->id);
    qw_json_obj_end(&j);
    x->evidence[j.overflow ? 0 : j.len] = '\0';
}

void qw_detect_device_report(struct qw_detector *d, const struct qw_flow *f,
                             const struct qw_proto *p, const struct qw_device_report *c,
                             uint64_t ts_ns)
{
    const struct qw_addr *asset = c->server ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f);
    if (c->kind == QW_REPORT_LOGIN_FAILED) {
        guess_failure(d, f, p, c, asset, ts_ns);
        return;
    }
    if (c->kind == QW_REPORT_LOGIN) {
        if (!c->from || !c->user) return; /* the ledger needs both */
        struct qw_device_login *l =
            batch_slot(d, (void **)&d->logins, &d->nlogins, QW_DETECT_MAX_LOGINS, sizeof *l);
        if (!l) return;
        l->device = *asset;
        l->from = *c->from;
        qw_copy_str(l->source, sizeof l->source, c->message_id);
        qw_copy_printable(l->name, sizeof l->name, c->user, c->user_len);
        l->ts_ns = ts_ns;
        return;
    }
    enum qw_rule rule =
        c->kind == QW_REPORT_CONFIG ? QW_R_NET_CONFIG_CHANGED : QW_R_NET_DEVICE_RESTARTED;
    const struct qw_addr *from =
        c->from && memcmp(c->from->b, asset->b, sizeof asset->b) != 0 ? c->from : NULL;
    struct qw_finding x;
    fill_report_context(d, f, c, from, ts_ns, &x);
    x.severity = adjusted(rule, &x);
    char user[64] = "";
    if (c->user) qw_copy_printable(user, sizeof user, c->user, c->user_len);
    /* one finding per device, source address and user; documented ones apart */
    char extra[32];
    snprintf(extra, sizeof extra, "%.20s%s%.10s", user, x.documented ? ":" : "", x.change_id);
    struct change_text t = {p, c, asset, from, user, f};
    raise_described(d, rule, asset, from, extra, f, ts_ns, &x, change_describe, &t);
}

/* ---- per flow ------------------------------------------------------------------------------ */

static bool is_unicast_host(const struct qw_addr *a)
{
    if (qw_addr_is_v4(a)) {
        const uint8_t *v = a->b + 12;
        return v[0] != 0 && v[0] < 224 && !(v[3] == 255);
    }
    return a->b[0] != 0xff;
}

/* Remote-access protocols by server port; the application name decides when a parser knew it.
 * `relayed`: a remote desktop whose controlled host dials out to the vendor's relay (TeamViewer,
 * AnyDesk), so the session into the host is a connection from it. */
static const struct remote_protocol {
    const char *app;
    uint8_t l4;
    uint16_t port;
    bool relayed;
} remote_protocols[] = {
    {"ssh", 6, 22, false},     {"telnet", 6, 23, false},       {"rdp", 6, 3389, false},
    {"vnc", 6, 5900, false},   {"vnc", 6, 5901, false},        {"vnc", 6, 5902, false},
    {"teamviewer", 6, 5938, true}, {"anydesk", 6, 7070, true}, {"rlogin", 6, 513, false},
    {"rsh", 6, 514, false},
};

static const struct remote_protocol *remote_proto(const struct qw_flow *f)
{
    const char *app = f->app ? f->app->name : NULL;
    for (size_t i = 0; i < sizeof remote_protocols / sizeof remote_protocols[0]; i++) {
        if (app && strcmp(app, remote_protocols[i].app) == 0) return &remote_protocols[i];
        if (!app && f->key.proto == remote_protocols[i].l4 &&
            qw_flow_srv_port(f) == remote_protocols[i].port)
            return &remote_protocols[i];
    }
    return NULL;
}

/* The VPNs remote.vpn_session names: `name` is the ledger's protocol and, where `parsed`, the
 * parser that recognises the VPN by its packets. */
enum { VPN_IKE, VPN_OPENVPN, VPN_WIREGUARD, VPN_ESP, VPN_KINDS };
static const struct vpn_kind {
    const char *name, *label;
    bool parsed;
} vpn_kinds[VPN_KINDS] = {
    [VPN_IKE] = {"ike", "IKE", true},
    [VPN_OPENVPN] = {"openvpn", "OpenVPN", true},
    [VPN_WIREGUARD] = {"wireguard", "WireGuard", true},
    [VPN_ESP] = {"esp", "ESP", false},
};

/* Which VPN a flow is, or NULL. By what its packets say where a parser can tell (the ike,
 * openvpn and wireguard parsers recognise every handshake, and WireGuard every packet, on any
 * port); by port only where the payload cannot: ESP (IP protocol 50, encrypted after its
 * 8-byte header), ESP in UDP 4500 (RFC 3948), and OpenVPN on 1194 whose handshake the capture
 * missed (its data packets alone do not identify it). A flow another parser recognised is
 * not a VPN whatever its port. `*by_port` says which. */
static const struct vpn_kind *vpn_of(const struct qw_flow *f, bool *by_port)
{
    *by_port = false;
    if (f->key.proto == 50) return &vpn_kinds[VPN_ESP];
    if (f->app) {
        for (size_t i = 0; i < VPN_KINDS; i++)
            if (vpn_kinds[i].parsed && strcmp(f->app->name, vpn_kinds[i].name) == 0)
                return &vpn_kinds[i];
        return NULL;
    }
    uint16_t port = qw_flow_srv_port(f);
    *by_port = true;
    if (f->key.proto == 17 && port == 4500) return &vpn_kinds[VPN_ESP];
    if ((f->key.proto == 17 || f->key.proto == 6) && port == 1194) return &vpn_kinds[VPN_OPENVPN];
    return NULL;
}

/* Who the flow's client named behind its session (qw_detect_session_user), or NULL. */
static const struct qw_session_user *user_of(const struct qw_detector *d, const struct qw_flow *f)
{
    return d->users.count ? qw_hmap_get(&d->users, &f->id) : NULL;
}

static void flow_evidence(const struct qw_detector *d, char *out, size_t cap,
                          const struct qw_flow *f, const char *what)
{
    const struct qw_session_user *u = user_of(d, f);
    struct qw_json j;
    qw_json_mem(&j, out, cap - 1);
    qw_json_obj_begin(&j, NULL);
    if (what) qw_json_str(&j, "reason", what);
    qw_json_str(&j, "app_proto", f->app ? f->app->name : "unknown");
    qw_json_u64(&j, "server_port", qw_flow_srv_port(f));
    qw_json_u64(&j, "ip_proto", f->key.proto);
    qw_json_u64(&j, "flow_id", f->id);
    qw_json_u64(&j, "packets", f->pkts[0] + f->pkts[1]);
    if (u) {
        qw_json_str(&j, "user", u->name);
        qw_json_str(&j, "user_source", u->source);
    }
    if (f->ops) {
        qw_json_arr_begin(&j, "ops");
        for (unsigned b = 0; b < 15; b++)
            if (f->ops & (1u << b)) qw_json_str(&j, NULL, qw_op_names[b]);
        qw_json_arr_end(&j);
    }
    qw_json_obj_end(&j);
    out[j.overflow ? 0 : j.len] = '\0';
}

/* ", user NAME" when the flow's client named who is behind the session, else "". */
static const char *user_suffix(const struct qw_detector *d, const struct qw_flow *f, char *buf,
                               size_t cap)
{
    const struct qw_session_user *u = user_of(d, f);
    if (!u) return "";
    snprintf(buf, cap, ", user %s", u->name);
    return buf;
}

static void policy_rules(struct qw_detector *d, const struct qw_flow *f)
{
    const struct qw_site *site = d->cfg.site;
    if (!site || !site->nzones) return;
    const struct qw_addr *srv = qw_flow_srv_ip(f), *cli = qw_flow_cli_ip(f);
    if (!is_unicast_host(srv) || !is_unicast_host(cli)) return;
    struct qw_site_flow sf = {
        .from = qw_site_zone_of(site, cli, dir_vlan(f, QW_DIR_TO_SERVER), NULL),
        .to = qw_site_zone_of(site, srv, dir_vlan(f, QW_DIR_TO_CLIENT), NULL),
        .ipproto = f->key.proto,
        .port = qw_flow_srv_port(f),
        .app = f->app ? f->app->name : NULL,
        .ops = f->ops,
    };
    struct qw_site_decision dec = qw_site_conduit_check(site, &sf);
    /* most flows are allowed: decide before building any finding (this runs per flow); two
     * hosts that are both in no zone (a site that declares its OT zones only) are nobody's
     * policy: policy.unknown_zone is about an unzoned host reaching a zoned one */
    if (dec.verdict == QW_CONDUIT_SAME_ZONE || dec.verdict == QW_CONDUIT_ALLOWED ||
        (!sf.from && !sf.to))
        return;
    char a[46], b[46];
    struct qw_finding x;
    memset(&x, 0, sizeof x);
    fill_context(d, f, &x, f->first_ns);
    if (dec.verdict == QW_CONDUIT_UNZONED) {
        /* the unzoned end is the finding's subject, whichever end opened the flow: its owner
         * if the site names one (declared asset, default owner), else the party that answers
         * for the zoned host it talks to; the zoned end's zone is the peer zone */
        bool srv_unzoned = sf.to == NULL;
        struct qw_site_owner uo, zo;
        end_of(d, f, srv_unzoned, &uo);
        end_of(d, f, !srv_unzoned, &zo);
        const struct qw_site_party *who = uo.party ? uo.party : zo.party;
        snprintf(x.owner, sizeof x.owner, "%s", who ? who->id : "");
        x.zone[0] = '\0';
        snprintf(x.peer_zone, sizeof x.peer_zone, "%s", zo.zone ? zo.zone->id : "");
        x.severity = qw_rules[QW_R_POLICY_UNKNOWN_ZONE].severity;
        snprintf(x.message, sizeof x.message, "%s is in no declared zone (talks with %s)",
                 qw_addr_str(srv_unzoned ? srv : cli, a), qw_addr_str(srv_unzoned ? cli : srv, b));
        flow_evidence(d, x.evidence, sizeof x.evidence, f, "unzoned");
        qw_detect_raise(d, QW_R_POLICY_UNKNOWN_ZONE, srv_unzoned ? srv : cli,
                        srv_unzoned ? cli : srv, NULL, f, f->first_ns, &x);
        return;
    }
    if (dec.verdict != QW_CONDUIT_NO_CONDUIT && dec.verdict != QW_CONDUIT_PROTOCOL &&
        dec.verdict != QW_CONDUIT_OPERATION)
        return;
    x.severity = adjusted(QW_R_POLICY_CONDUIT, &x);
    const char *why = dec.verdict == QW_CONDUIT_NO_CONDUIT ? "no conduit between the zones"
                      : dec.verdict == QW_CONDUIT_PROTOCOL ? "protocol not allowed by the conduit"
                                                           : "operation not allowed by the conduit";
    /* what was spoken: the application and its port, or for a portless protocol (ICMP, ESP,
     * GRE...) the IP protocol alone */
    char what[48], pb[8];
    if (f->key.proto == 6 || f->key.proto == 17)
        snprintf(what, sizeof what, "%s/%u", sf.app ? sf.app : "port", sf.port);
    else
        snprintf(what, sizeof what, "%s", qw_ip_proto_name(f->key.proto, pb));
    snprintf(x.message, sizeof x.message, "%s (%s) -> %s (%s) %s: %s", qw_addr_str(cli, a),
             sf.from->id, qw_addr_str(srv, b), sf.to->id, what, why);
    flow_evidence(d, x.evidence, sizeof x.evidence, f, qw_site_verdict_name(dec.verdict));
    qw_detect_raise(d, QW_R_POLICY_CONDUIT, srv, cli, qw_site_verdict_name(dec.verdict), f,
                    f->first_ns, &x);
}

static void ledger(struct qw_detector *d, const struct qw_flow *f, const char *proto,
                   bool via_jump, bool to_jump, bool in_window, bool into_target)
{
    struct qw_remote_session *s = batch_slot(d, (void **)&d->sessions, &d->nsessions,
                                             QW_DETECT_MAX_SESSIONS, sizeof *s);
    if (!s) return;
    s->client = *qw_flow_cli_ip(f);
    s->server = *qw_flow_srv_ip(f);
    snprintf(s->proto, sizeof s->proto, "%s", proto);
    s->via_jump_host = via_jump;
    s->to_jump_host = to_jump;
    s->in_window = in_window;
    s->into_target = into_target;
    s->start_ns = f->first_ns;
    s->end_ns = f->last_ns;
    s->pkts = f->pkts[0] + f->pkts[1];
    s->bytes = f->bytes[0] + f->bytes[1];
    s->flow_id = f->id;
    const struct qw_session_user *u = user_of(d, f);
    if (u) s->user = *u;
    if (!d->cfg.site) return;
    struct qw_site_owner so, co;
    end_of(d, f, true, &so);
    end_of(d, f, false, &co);
    if (so.zone) snprintf(s->target_zone, sizeof s->target_zone, "%s", so.zone->id);
    /* the party: an approved change record covering the target names it; else whoever answers
     * for the source (the VPN pool's owner, a declared vendor laptop...) */
    const struct qw_site_change *rec = NULL;
    if (qw_site_changes_active(d->cfg.site, f->first_ns, so.zone, so.asset, 0, &rec, 1) && rec &&
        rec->by)
        snprintf(s->party, sizeof s->party, "%s", rec->by->id);
    else if (co.party)
        snprintf(s->party, sizeof s->party, "%s", co.party->id);
}

/* Is this end of a flow inside a zone remote_access lists as a target? */
static bool in_target_zone(const struct qw_site *site, const struct qw_site_owner *o)
{
    return site && o->zone && qw_site_remote_target(site, o->zone);
}

/* Is this end of a VPN tunnel where the site's remote access is meant to end? Anywhere but
 * inside a remote-access target zone is; inside one, only a declared VPN gateway. */
static bool vpn_end_sanctioned(const struct qw_site *site, const struct qw_site_owner *o)
{
    if (!in_target_zone(site, o)) return true;
    return o->asset && o->asset->role && strcmp(o->asset->role, "vpn_gateway") == 0;
}

/* remote.unsanctioned_vpn: a tunnel with an end inside a target zone (a vendor's remote-service
 * box or a laptop dialling out, a VPN server on the plant network) carries remote access past
 * the VPN gateway, the jump host and the windows, and nothing inside it can be seen. The asset
 * is that end (the server's when both are); the actor, unless a change record names one, is
 * whoever answers for the end that opened the tunnel. */
static void unsanctioned_vpn(struct qw_detector *d, const struct qw_flow *f,
                             const struct vpn_kind *vpn, bool by_port,
                             const struct qw_site_owner *so, const struct qw_site_owner *co)
{
    const struct qw_site *site = d->cfg.site;
    bool srv_in = !vpn_end_sanctioned(site, so), cli_in = !vpn_end_sanctioned(site, co);
    if (!srv_in && !cli_in) return;
    const struct qw_addr *in = srv_in ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f);
    const struct qw_addr *out = srv_in ? qw_flow_cli_ip(f) : qw_flow_srv_ip(f);
    const struct qw_site_owner *in_end = srv_in ? so : co;
    struct qw_finding x;
    memset(&x, 0, sizeof x);
    fill_context_of(d, f, &x, f->first_ns, srv_in);
    if (!x.documented && co->party) snprintf(x.actor, sizeof x.actor, "%s", co->party->id);
    x.severity = qw_rules[QW_R_REMOTE_UNSANCTIONED_VPN].severity;
    char a[46], b[46];
    snprintf(x.message, sizeof x.message, "%s tunnel %s %s %s%s ends inside %s, not at a VPN "
             "gateway", vpn->label, qw_addr_str(in, a), srv_in ? "<-" : "->",
             qw_addr_str(out, b), by_port ? " (by port)" : "", in_end->zone->id);
    flow_evidence(d, x.evidence, sizeof x.evidence, f, by_port ? "vpn port" : "vpn");
    qw_detect_raise(d, QW_R_REMOTE_UNSANCTIONED_VPN, in, out, NULL, f, f->first_ns, &x);
}

static void remote_rules(struct qw_detector *d, const struct qw_flow *f)
{
    const struct qw_site *site = d->cfg.site;
    const struct qw_addr *srv = qw_flow_srv_ip(f), *cli = qw_flow_cli_ip(f);
    char a[46], b[46], ub[80];
    /* a connection that was never accepted is a probe, not a session */
    if (f->key.proto == 6 && f->tcp_state != QW_TCP_MIDSTREAM &&
        !(f->flags_seen[QW_DIR_TO_CLIENT] & QW_TCP_SYN))
        return;
    const struct remote_protocol *rproto = remote_proto(f);
    const char *rp = rproto ? rproto->app : NULL;
    bool vpn_by_port;
    const struct vpn_kind *vpn = vpn_of(f, &vpn_by_port);
    bool from_pool = site && qw_site_in_vpn_pool(site, cli);
    /* every rule below needs one of these: ordinary flows stop here (this runs per flow) */
    if (!rp && !vpn && !from_pool) return;
    struct qw_site_host ch = {.ip = cli}, sh = {.ip = srv};
    bool via_jump = site && qw_site_is_jump_host(site, &ch);
    struct qw_site_owner so, co;
    end_of(d, f, true, &so);
    end_of(d, f, false, &co);
    ledger(d, f, rp ? rp : vpn ? vpn->name : (f->app ? f->app->name : "ip"), via_jump,
           site && qw_site_is_jump_host(site, &sh),
           !site || qw_site_remote_window_open(site, f->first_ns), in_target_zone(site, &so));
    if (vpn) {
        struct qw_finding x;
        memset(&x, 0, sizeof x);
        fill_context(d, f, &x, f->first_ns);
        x.severity = qw_rules[QW_R_REMOTE_VPN].severity;
        snprintf(x.message, sizeof x.message, "%s VPN session %s -> %s%s%s", vpn->label,
                 qw_addr_str(cli, a), qw_addr_str(srv, b), vpn_by_port ? " (by port)" : "",
                 user_suffix(d, f, ub, sizeof ub));
        flow_evidence(d, x.evidence, sizeof x.evidence, f, vpn_by_port ? "vpn port" : "vpn");
        qw_detect_raise(d, QW_R_REMOTE_VPN, srv, cli, NULL, f, f->first_ns, &x);
    }
    if (!site || !site->remote.declared) return;
    if (vpn) unsanctioned_vpn(d, f, vpn, vpn_by_port, &so, &co);
    bool into_target = in_target_zone(site, &so) && so.zone != co.zone;
    /* a relayed remote desktop dialling out of a target zone is a session into its client */
    bool dials_out = !into_target && rproto && rproto->relayed && in_target_zone(site, &co) &&
                     co.zone != so.zone;
    if ((!into_target && !dials_out) || (!rp && !from_pool)) return;
    const struct qw_addr *in = dials_out ? cli : srv, *peer = dials_out ? srv : cli;
    const struct qw_site_zone *zone = dials_out ? co.zone : so.zone;
    struct qw_finding x;
    memset(&x, 0, sizeof x);
    fill_context_of(d, f, &x, f->first_ns, !dials_out);
    /* the party behind a relay is not on the wire; the source of a direct session is */
    if (!dials_out && co.party) snprintf(x.actor, sizeof x.actor, "%s", co.party->id);
    flow_evidence(d, x.evidence, sizeof x.evidence, f, rp ? rp : "vpn-pool");
    if (rp) {
        x.severity = qw_rules[QW_R_REMOTE_ACCESS].severity;
        if (dials_out)
            snprintf(x.message, sizeof x.message, "%s on %s (%s) keeps a line to its relay %s: "
                     "remote control from outside", rp, qw_addr_str(in, a), zone->id,
                     qw_addr_str(peer, b));
        else
            snprintf(x.message, sizeof x.message, "%s session %s -> %s (%s)%s%s", rp,
                     qw_addr_str(cli, a), qw_addr_str(srv, b), zone->id,
                     via_jump ? " from the jump host" : "", user_suffix(d, f, ub, sizeof ub));
        qw_detect_raise(d, QW_R_REMOTE_ACCESS, in, peer, rp, f, f->first_ns, &x);
    }
    if (!qw_site_remote_window_open(site, f->first_ns)) {
        x.severity = qw_rules[QW_R_REMOTE_OUTSIDE_WINDOW].severity;
        snprintf(x.message, sizeof x.message, "remote access %s %s %s (%s) outside the allowed "
                 "windows", qw_addr_str(peer, a), dials_out ? "via a relay to" : "->",
                 qw_addr_str(in, b), zone->id);
        qw_detect_raise(d, QW_R_REMOTE_OUTSIDE_WINDOW, in, peer, NULL, f, f->first_ns, &x);
    }
    if (!via_jump || dials_out) {
        x.severity = qw_rules[QW_R_REMOTE_BYPASS_JUMP].severity;
        snprintf(x.message, sizeof x.message, "%s reaches %s (%s) without a jump host%s",
                 qw_addr_str(peer, a), qw_addr_str(in, b), zone->id,
                 dials_out ? ", through a relay" : "");
        qw_detect_raise(d, QW_R_REMOTE_BYPASS_JUMP, in, peer, NULL, f, f->first_ns, &x);
    }
}

/* A TCP connection attempt that never carried data: a probe, as a scanner's are. */
static bool is_probe(const struct qw_flow *f)
{
    if (f->key.proto != 6) return false;
    if (!(f->flags_seen[QW_DIR_TO_SERVER] & QW_TCP_SYN)) return false;
    if (f->pkts[QW_DIR_TO_SERVER] > 3) return false;
    return f->tcp_state == QW_TCP_SYN_SENT || f->tcp_state == QW_TCP_RESET ||
           f->tcp_state == QW_TCP_SYN_RECV || f->pkts[QW_DIR_TO_CLIENT] == 0;
}

/* Count one probe in its scan window; raise recon.scan when the source crosses a threshold. */
static void scan_count(struct qw_detector *d, const struct qw_flow *f)
{
    const struct qw_addr *src = qw_flow_cli_ip(f), *dst = qw_flow_srv_ip(f);
    uint64_t epoch = f->first_ns / d->cfg.scan_window_ns;
    struct probe_key pk;
    memset(&pk, 0, sizeof pk);
    pk.src = *src;
    pk.dst = *dst;
    pk.port = qw_flow_srv_port(f);
    pk.epoch = epoch;
    bool fresh = false;
    if (!qw_hmap_upsert(&d->probes, &pk, &fresh) || !fresh) return;
    /* distinct ports on this host, and distinct hosts (port 0 entry per host) */
    struct host_port_key hk;
    memset(&hk, 0, sizeof hk);
    hk.src = *src;
    hk.dst = *dst;
    hk.epoch = epoch;
    struct scanner_val *hv = qw_hmap_upsert(&d->scanners, &hk, &fresh);
    if (!hv) return;
    if (fresh) memset(hv, 0, sizeof *hv);
    /* copy what is needed: the next upsert into the same map may move its entries */
    uint32_t host_ports = ++hv->ports_max;
    bool new_host = host_ports == 1;
    struct host_port_key sk;
    memset(&sk, 0, sizeof sk);
    sk.src = *src;
    sk.epoch = epoch; /* dst zero: the per-source total */
    struct scanner_val *sv = qw_hmap_upsert(&d->scanners, &sk, &fresh);
    if (!sv) return;
    if (fresh) memset(sv, 0, sizeof *sv);
    if (new_host) sv->hosts++;
    if (host_ports > sv->ports_max) sv->ports_max = host_ports;
    if (sv->raised || (sv->hosts < d->cfg.scan_hosts && sv->ports_max < d->cfg.scan_ports))
        return;
    sv->raised = true;
    struct qw_finding x;
    memset(&x, 0, sizeof x);
    fill_context(d, f, &x, f->first_ns);
    x.owner[0] = '\0'; /* the scanner is the subject: its owner, below */
    if (d->cfg.site) {
        struct qw_site_owner o;
        end_of(d, f, false, &o);
        if (o.party) snprintf(x.owner, sizeof x.owner, "%s", o.party->id);
        if (o.zone) snprintf(x.zone, sizeof x.zone, "%s", o.zone->id);
    }
    x.severity = qw_rules[QW_R_RECON_SCAN].severity;
    char a[46];
    bool sweep = sv->hosts >= d->cfg.scan_hosts;
    snprintf(x.message, sizeof x.message, "%s probed %u hosts, up to %u ports on one, in %llu s",
             qw_addr_str(src, a), sv->hosts, sv->ports_max,
             (unsigned long long)(d->cfg.scan_window_ns / 1000000000ull));
    snprintf(x.evidence, sizeof x.evidence,
             "{\"kind\":\"%s\",\"hosts\":%u,\"max_ports_per_host\":%u,\"window_s\":%llu}",
             sweep ? "host_sweep" : "port_scan", sv->hosts, sv->ports_max,
             (unsigned long long)(d->cfg.scan_window_ns / 1000000000ull));
    qw_detect_raise(d, QW_R_RECON_SCAN, src, NULL, sweep ? "sweep" : "ports", f, f->first_ns, &x);
}

/* Keep a probe for the next scan pass (bounded: past the cap it is counted as dropped). */
static void log_probe(struct qw_detector *d, const struct qw_flow *f)
{
    if (!is_probe(f)) return;
    if (d->nprobe_log == d->probe_log_cap) {
        size_t cap = d->probe_log_cap ? d->probe_log_cap * 2 : 256;
        if (cap > QW_DETECT_MAX_PROBE_LOG) cap = QW_DETECT_MAX_PROBE_LOG;
        struct qw_probe *n = cap > d->probe_log_cap ? realloc(d->probe_log, cap * sizeof *n) : NULL;
        if (!n) {
            d->dropped++;
            return;
        }
        d->probe_log = n;
        d->probe_log_cap = cap;
    }
    struct qw_probe *p = &d->probe_log[d->nprobe_log++];
    memset(p, 0, sizeof *p);
    p->key = f->key;
    p->first_ns = f->first_ns;
    p->id = f->id;
    p->client_is_a = f->client_is_a;
    for (int i = 0; i < 2; i++) {
        p->has_mac[i] = f->has_mac[i];
        p->seen[i] = f->pkts[i] != 0;
        p->dir_vlan[i] = f->dir_vlan[i];
        memcpy(p->mac[i], f->mac[i], 6);
    }
}

static int cmp_probe(const void *a, const void *b)
{
    const struct qw_probe *x = a, *y = b;
    if (x->first_ns != y->first_ns) return x->first_ns < y->first_ns ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

/* Windows two or more behind the newest can no longer grow: drop them when the maps fill up,
 * so a sensor that runs for months keeps detecting scans. */
static void prune_windows(struct qw_detector *d)
{
    if (d->probes.count < QW_DETECT_MAX_PROBES / 2 && d->scanners.count < QW_DETECT_MAX_PROBES / 2)
        return;
    uint64_t keep = d->scan_epoch_max > 0 ? d->scan_epoch_max - 1 : 0;
    struct qw_hmap maps[2] = {d->probes, d->scanners};
    size_t ksize[2] = {sizeof(struct probe_key), sizeof(struct host_port_key)};
    size_t vsize[2] = {sizeof(struct alerted_val), sizeof(struct scanner_val)};
    for (int m = 0; m < 2; m++) {
        struct qw_hmap fresh;
        if (!qw_hmap_init(&fresh, ksize[m], vsize[m], QW_DETECT_MAX_PROBES)) {
            qw_hmap_clear(&maps[m]); /* out of memory: start the windows again */
            continue;
        }
        uint32_t pos = 0;
        const void *k;
        void *v;
        while (qw_hmap_next(&maps[m], &pos, &k, &v)) {
            uint64_t epoch = m == 0 ? ((const struct probe_key *)k)->epoch
                                    : ((const struct host_port_key *)k)->epoch;
            if (epoch < keep) continue;
            void *nv = qw_hmap_upsert(&fresh, k, NULL);
            if (nv) memcpy(nv, v, vsize[m]);
        }
        qw_hmap_free(&maps[m]);
        maps[m] = fresh;
    }
    d->probes = maps[0];
    d->scanners = maps[1];
}

void qw_detect_scan_pass(struct qw_detector *into, struct qw_detector *const *all, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += all[i]->nprobe_log;
    if (total == 0) return;
    struct qw_probe *merged = malloc(total * sizeof *merged);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (merged && all[i]->nprobe_log) /* an engine with no probes has no log at all */
            memcpy(merged + k, all[i]->probe_log, all[i]->nprobe_log * sizeof *merged);
        k += all[i]->nprobe_log;
        all[i]->nprobe_log = 0;
    }
    if (!merged) {
        into->dropped += total;
        return;
    }
    qsort(merged, total, sizeof *merged, cmp_probe);
    for (size_t i = 0; i < total; i++) {
        const struct qw_probe *p = &merged[i];
        /* the flow as far as the rule and its alert record look at it */
        struct qw_flow f;
        memset(&f, 0, sizeof f);
        f.key = p->key;
        f.first_ns = f.last_ns = p->first_ns;
        f.id = p->id;
        f.client_is_a = p->client_is_a;
        for (int dir = 0; dir < 2; dir++) {
            f.has_mac[dir] = p->has_mac[dir];
            f.pkts[dir] = p->seen[dir] ? 1 : 0;
            f.dir_vlan[dir] = p->dir_vlan[dir];
            memcpy(f.mac[dir], p->mac[dir], 6);
        }
        uint64_t epoch = p->first_ns / into->cfg.scan_window_ns;
        if (epoch > into->scan_epoch_max) into->scan_epoch_max = epoch;
        scan_count(into, &f);
    }
    free(merged);
    prune_windows(into);
}

void qw_detect_session_user(struct qw_detector *d, const struct qw_flow *f, const char *source,
                            const char *value, size_t len)
{
    /* Only a flow the ledger may list at its end keeps a name (an NTLM user on every SMB
     * connection would fill the table for nothing). The last name wins: a Telnet user who
     * mistyped logs in again on the same connection. */
    bool by_port;
    if (!remote_proto(f) && !vpn_of(f, &by_port) &&
        !(d->cfg.site && qw_site_in_vpn_pool(d->cfg.site, qw_flow_cli_ip(f))))
        return;
    struct qw_session_user *u = qw_hmap_upsert(&d->users, &f->id, NULL);
    if (!u) { /* at the cap: the session is ledgered without its user */
        d->dropped++;
        return;
    }
    qw_copy_str(u->source, sizeof u->source, source);
    qw_copy_printable(u->name, sizeof u->name, value, len);
}

void qw_detect_address_user(struct qw_detector *d, const struct qw_addr *ip, const char *source,
                            const char *value, size_t len, bool ended, uint64_t ts_ns)
{
    struct qw_address_user *u = batch_slot(d, (void **)&d->address_users, &d->naddress_users,
                                           QW_DETECT_MAX_ADDRESS_USERS, sizeof *u);
    if (!u) return;
    u->ip = *ip;
    qw_copy_str(u->source, sizeof u->source, source);
    qw_copy_printable(u->name, sizeof u->name, value, len);
    u->ts_ns = ts_ns;
    u->ended = ended;
}

void qw_detect_flow_end(struct qw_detector *d, const struct qw_flow *f)
{
    policy_rules(d, f);
    remote_rules(d, f);
    log_probe(d, f);
    if (d->users.count) qw_hmap_remove(&d->users, &f->id);
}
