/* The synthetic terminal's ground truth, written as JSON by `quaywatch synth --truth FILE`
 * after the run (docs/synth.md, "Ground truth"):
 *
 *   generator  the options of the run, its start and end;
 *   site       the facts of examples/terminal.yaml the judgements below rely on;
 *   devices    every device present in this capture: addresses, the vendor an inventory should
 *              name, the roles it may fairly be given from the traffic, its firmware, and, for
 *              the swapped crane router, both boxes with the time of the swap;
 *   events     every scripted event that happened: when (the frame a detector should raise on,
 *              and the first and last frame of the episode), who did it to whom, and the
 *              findings a detector should raise, documented by a change record or not. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "site/tz.h"
#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/model.h"
#include "synth/truth.h"
#include "util/json.h"
#include "util/timefmt.h"

/* Roles an inventory may derive for each kind from what the device does in the capture. The
 * first is the role the device really has. Several kinds are indistinguishable by traffic
 * alone (a historian polls nothing here and serves HTTP), so the fair answer is the generic one;
 * "unknown" is fair where only a parser this build may lack would tell (DNP3 for the RTU). */
static const char *const kind_roles[SY_NKINDS][3] = {
    [SY_K_ROUTER] = {"router", NULL},
    [SY_K_CRANE_ROUTER] = {"router", NULL},
    [SY_K_DHCP] = {"server", NULL},
    [SY_K_DNS] = {"server", NULL},
    [SY_K_DC] = {"server", NULL},
    [SY_K_WORKSTATION] = {"workstation", NULL},
    [SY_K_TOS_APP] = {"server", "hmi", NULL}, /* tos-app01 reads the crane PLCs */
    [SY_K_SCADA] = {"hmi", NULL},
    [SY_K_HISTORIAN] = {"historian", "server", NULL},
    [SY_K_CRANE_PLC] = {"plc", NULL},
    [SY_K_STRADDLE] = {"plc", NULL},
    [SY_K_TANK_PLC] = {"plc", NULL},
    [SY_K_GAUGE] = {"tank_gauge", NULL},
    [SY_K_EWS] = {"engineering_workstation", "hmi", NULL},
    /* it stops a CPU: an engineering tool's operation */
    [SY_K_LAPTOP] = {"workstation", "unknown", "engineering_workstation"},
    [SY_K_VPN_GW] = {"vpn_gateway", "router", "firewall"},
    [SY_K_JUMP] = {"jump_host", NULL},
    [SY_K_VPN_CLIENT] = {"workstation", "unknown", NULL},
    [SY_K_NVR] = {"server", NULL},
    [SY_K_CAMERA] = {"camera", NULL},
    [SY_K_RTU] = {"rtu", "unknown", NULL},
    [SY_K_SERVICE_BOX] = {"unknown", NULL},
    [SY_K_OUTSIDE] = {"vpn_gateway", NULL},
};

static const char *const kind_names[SY_NKINDS] = {
    "router", "crane_router", "dhcp", "dns", "domain_controller", "workstation", "tos_app",
    "scada", "historian", "crane_plc", "straddle_carrier", "tank_plc", "tank_gauge",
    "engineering_workstation", "laptop", "vpn_gateway", "jump_host", "vpn_client", "nvr",
    "camera", "rtu", "service_box", "outside",
};

/* ---- the site file's facts (examples/terminal.yaml) ---- */

#define CHG_1042_START 1795210320 /* 2026-11-20T21:32:00Z = 13:32 in Vancouver */
#define CHG_1042_END 1795210500   /* 2026-11-20T21:35:00Z */
#define REMOTE_TZ "America/Vancouver"
#define REMOTE_FROM (7 * 3600)
#define REMOTE_TO (18 * 3600)

enum { FINDING_MAX = 4 };

/* What each event is and what it should raise. Findings that depend on the time of the run
 * (the remote-access window) are added in event_findings(). */
static const struct {
    const char *id, *what;
    const char *findings[FINDING_MAX];
} ev_info[SY_NEV] = {
    [SY_EV_VENDOR_SSH] = {"vendor_ssh",
                          "vendor VPN client opens SSH to the jump host (the approved path)",
                          {NULL}},
    [SY_EV_JUMP_READ] = {"vendor_maintenance",
                         "jump01 reads sts-crane02 before and after its update (Modbus FC 43, 3, "
                         "1)",
                         {"comm.new_edge", "recon.ics_discovery"}},
    [SY_EV_FW_CRANE] = {"firmware_sts_crane02",
                        "sts-crane02 closes the HMI's connection, reboots and reports firmware "
                        "v3.30 instead of v3.20",
                        {"asset.identity_changed"}},
    [SY_EV_EXCEPTION] = {"modbus_exception",
                         "scada01 reads register 500 of tank-plc01: exception 02 (illegal data "
                         "address); the event log records the exception, no rule raises on "
                         "one refused read",
                         {NULL}},
    [SY_EV_ROUTER_SWAP] = {"router_swap",
                           "the crane router 10.30.0.1 is replaced by a TP-Link box: gratuitous "
                           "ARP from the new MAC, crane traffic uses it from then on",
                           {"asset.mac_changed"}},
    [SY_EV_FW_TANK] = {"firmware_tank_plc02",
                       "tank-plc02 closes the HMI's connection, reboots and reports firmware "
                       "22.011 instead of 21.011; no change record",
                       {"asset.identity_changed"}},
    [SY_EV_LAPTOP] = {"unknown_laptop",
                      "unknown Lenovo laptop on the tank-farm VLAN: DHCP through the relay, ARP, "
                      "DNS to dns01 (tank farm to corporate: no conduit), Modbus reads of "
                      "tank-plc01",
                      {"asset.new", "policy.conduit_violation"}},
    [SY_EV_SCAN] = {"port_scan", "the laptop SYN-scans TCP ports 1-1024 of tank-plc03",
                    {"recon.scan"}},
    [SY_EV_S7_STOP] = {"plc_stop",
                       "the laptop reads straddle02's module identification (SZL 0x0011) and "
                       "sends an S7comm PLC STOP (tank farm to cranes: no conduit)",
                       {"ics.cpu_state", "policy.conduit_violation", "recon.ics_discovery"}},
    [SY_EV_VENDOR_DIRECT] = {"vendor_direct",
                             "vendor VPN client connects straight to sts-crane03:502, bypassing "
                             "the jump host, and reads its identity",
                             {"remote.bypass_jump_host", "policy.conduit_violation",
                              "recon.ics_discovery"}},
    [SY_EV_SERVICE_VPN] = {"service_box_vpn",
                           "crane-rsb01, a remote-service router (HMS) nobody declared, comes up "
                           "on the crane VLAN and dials OpenVPN over TCP 443 to its relay "
                           "198.51.100.40: a TLS 1.2 handshake with certificates on both sides "
                           "(tls), then the tunnel kept up with keepalives and bursts",
                           {"remote.unsanctioned_vpn", "remote.vpn_session", "asset.new",
                            "policy.unknown_zone"}},
    [SY_EV_TELNET] = {"telnet_login",
                      "tank-ews01 logs into tank-gauge01 over Telnet: user name and password in "
                      "clear",
                      {"cred.plaintext"}},
    [SY_EV_EWS_WRITE] = {"cross_zone_write",
                         "tank-ews01 writes a register of sts-crane01 (Modbus FC 6; tank farm to "
                         "cranes: no conduit)",
                         {"ics.write", "policy.conduit_violation"}},
    [SY_EV_DNP3_RESTART] = {"dnp3_cold_restart",
                            "tank-ews01 sends a DNP3 cold restart to power-rtu01, which answers "
                            "with a time delay and goes away for about 20 s",
                            {"ics.restart"}},
    [SY_EV_DNP3_IIN_CLEAR] = {"dnp3_restart_ack",
                              "scada01 clears power-rtu01's IIN1.7 (device restart) with a DNP3 "
                              "write: a write on the read-only DNP3 conduit",
                              {"policy.conduit_violation", "ics.write"}},
    /* comm.new_edge: the session is new against any baseline of the terminal's normal days */
    [SY_EV_CORE_CONFIG] = {"core_router_config",
                           "the IT partner's administrator opens SSH from CORP-WS003 to the core "
                           "router and changes its configuration with no change record; the "
                           "router's log to historian01 says so (Cisco SYS-5-CONFIG_I, syslog)",
                           {"net.config_changed", "comm.new_edge"}},
    /* cred.guessing too once the fifth failure happened (write_event); comm.new_edge: SSH from
     * the laptop to the router is new against any baseline of the terminal's normal days */
    [SY_EV_ROUTER_GUESS] = {"router_password_guessing",
                            "the unknown laptop tries default user names and passwords on the "
                            "core router's SSH server (10.40.0.1), one connection each; the "
                            "router logs every failure to historian01 (Cisco "
                            "SEC_LOGIN-4-LOGIN_FAILED, syslog)",
                            {"comm.new_edge"}},
};

struct ctx {
    struct qw_json *j;
    const struct sy *sy;
    uint64_t start_unix;
    struct qw_tz *tz;
};

static void ip_str(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

static void mac_str(const uint8_t *m, char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void time_field(struct ctx *c, const char *key, uint64_t t_us)
{
    char s[QW_TIME_STR_MAX];
    qw_time_rfc3339((c->start_unix * SY_SEC + t_us) * 1000, s);
    qw_json_str(c->j, key, s);
}

/* Devices only the scripted events bring. */
static bool incident_only(const struct sy_dev *d)
{
    return d->kind == SY_K_LAPTOP || d->kind == SY_K_VPN_CLIENT ||
           d->kind == SY_K_SERVICE_BOX || d->kind == SY_K_OUTSIDE ||
           (d->kind == SY_K_CRANE_ROUTER && d->index == 1);
}

static void write_device(struct ctx *c, const struct sy_dev *d)
{
    struct qw_json *j = c->j;
    const struct sy_model *m = &c->sy->m;
    const struct sy_vendor *v = &sy_vendors[d->vendor];
    const struct sy_ev *swap = &c->sy->ev[SY_EV_ROUTER_SWAP];
    char ip[16], mac[18];
    ip_str(d->ip, ip);
    mac_str(d->mac, mac);
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "name", d->name);
    qw_json_str(j, "kind", kind_names[d->kind]);
    qw_json_str(j, "ip", ip);
    qw_json_u64(j, "vlan", d->vlan);
    /* VPN clients sit behind the gateway, hosts on the internet behind a zone's router: their
     * frames carry its MAC, not one of theirs */
    if (d->kind == SY_K_VPN_CLIENT || d->kind == SY_K_OUTSIDE) {
        qw_json_null(j, "mac");
        qw_json_null(j, "vendor");
    } else {
        qw_json_str(j, "mac", mac);
        qw_json_str(j, "vendor", v->mb_vendor ? v->mb_vendor : v->oui_name);
    }
    if (v->product) qw_json_str(j, "product", v->product);
    if (d->kind == SY_K_STRADDLE) {
        char serial[17];
        sy_s7_serial(d, serial);
        qw_json_str(j, "model", SY_S7_ORDER);
        qw_json_str(j, "serial", serial);
    } else if (v->product_code) {
        qw_json_str(j, "model", v->product_code);
    }
    if (v->revision) qw_json_str(j, "firmware", v->revision);
    if (v->revision && d->fw_ev && c->sy->ev[d->fw_ev].key != SY_NEVER) {
        qw_json_str(j, "firmware_after", v->revision_new);
        time_field(c, "firmware_reported_at", c->sy->ev[d->fw_ev].key);
    }
    if (d->kind == SY_K_CRANE_ROUTER && swap->start != SY_NEVER) {
        const struct sy_dev *other = sy_dev_of(m, SY_K_CRANE_ROUTER, d->index ? 0 : 1);
        char omac[18];
        mac_str(other->mac, omac);
        if (d->index == 0) {
            qw_json_str(j, "replaced_by", other->name);
            qw_json_str(j, "replaced_by_mac", omac);
            time_field(c, "until", swap->key);
        } else {
            qw_json_str(j, "replaces", other->name);
            qw_json_str(j, "previous_mac", omac);
            time_field(c, "from", swap->key);
        }
    }
    qw_json_arr_begin(j, "roles");
    for (int r = 0; r < 3 && kind_roles[d->kind][r]; r++)
        qw_json_str(j, NULL, kind_roles[d->kind][r]);
    /* the clean capture has no remote session: nothing shows that the jump host relays */
    if (d->kind == SY_K_JUMP && !c->sy->incidents) qw_json_str(j, NULL, "unknown");
    qw_json_arr_end(j);
    qw_json_obj_end(j);
}

static void endpoint(struct ctx *c, const char *key, const struct sy_dev *d)
{
    struct qw_json *j = c->j;
    char ip[16], mac[18];
    if (!d) {
        qw_json_null(j, key);
        return;
    }
    ip_str(d->ip, ip);
    qw_json_obj_begin(j, key);
    qw_json_str(j, "name", d->name);
    qw_json_str(j, "ip", ip);
    if (d->kind == SY_K_VPN_CLIENT || d->kind == SY_K_OUTSIDE) {
        qw_json_null(j, "mac");
    } else {
        mac_str(d->mac, mac);
        qw_json_str(j, "mac", mac);
    }
    qw_json_obj_end(j);
}

/* A certificate of the remote-service tunnel's handshake, its times as an analyser prints them
 * (whole seconds). */
static void certificate(struct ctx *c, const char *key, const struct sy_ovpn_cert *x)
{
    struct qw_json *j = c->j;
    qw_json_obj_begin(j, key);
    qw_json_str(j, "subject_cn", x->subject_cn);
    qw_json_str(j, "subject_o", x->subject_o);
    qw_json_str(j, "issuer_cn", x->issuer_cn);
    qw_json_str(j, "issuer_o", x->issuer_o);
    const struct {
        const char *key;
        uint64_t unix_s;
    } times[] = {{"not_before", x->not_before}, {"not_after", x->not_after}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char s[QW_TIME_STR_MAX];
        qw_time_rfc3339(times[i].unix_s * 1000000000u, s); /* "...T21:30:00.000000Z" */
        memcpy(s + 19, "Z", 2);
        qw_json_str(j, times[i].key, s);
    }
    qw_json_obj_end(j);
}

/* What the tunnel's TLS handshake shows: version, cipher suite, both certificates. */
static void tunnel_tls(struct ctx *c, const struct sy_dev *box)
{
    struct qw_json *j = c->j;
    struct sy_ovpn_cert server, client;
    sy_openvpn_certs(box, c->start_unix, &server, &client);
    qw_json_obj_begin(j, "tls");
    qw_json_str(j, "version", "TLS 1.2");
    qw_json_u64(j, "cipher_suite", SY_TLS_SUITE);
    qw_json_str(j, "cipher_suite_name", SY_TLS_SUITE_NAME);
    certificate(c, "server_certificate", &server);
    certificate(c, "client_certificate", &client);
    qw_json_obj_end(j);
}

/* The core router's report of the change (act_syslog.c), as a syslog parser reads it: who sent
 * it to whom, the vendor's message id, the user and the address it names. */
static void config_log(struct ctx *c, const struct sy_dev *from)
{
    struct qw_json *j = c->j;
    const struct sy_model *m = &c->sy->m;
    char ip[16], text[128];
    ip_str(from->ip, ip);
    qw_json_obj_begin(j, "syslog");
    endpoint(c, "sender", m->gw[SY_Z_TOS]);
    endpoint(c, "collector", sy_dev_of(m, SY_K_HISTORIAN, 0));
    qw_json_str(j, "message_id", "cisco SYS-5-CONFIG_I");
    qw_json_str(j, "user", SY_ITP_ADMIN);
    qw_json_str(j, "from", ip);
    snprintf(text, sizeof text, "%%SYS-5-CONFIG_I: Configured from console by %s on vty0 (%s)",
             SY_ITP_ADMIN, ip);
    qw_json_str(j, "message", text);
    qw_json_obj_end(j);
}

/* The core router's failed-login messages during the password guessing (act_ssh.c,
 * act_syslog.c), as a syslog parser and cred.guessing read them: who sent them to whom, the
 * message id, the address they name (the finding's peer), each failure's time and user, the
 * first distinct users and the seconds between the first and the fifth failure as the finding's
 * evidence gives them, and the finding's count (one for the fifth failure, one more for each
 * later one: the failures all fall within five minutes). */
static void guess_log(struct ctx *c, const struct sy_dev *from)
{
    struct qw_json *j = c->j;
    const struct sy_model *m = &c->sy->m;
    const struct sy_guess_log *g = &c->sy->guess;
    unsigned n = g->n < SY_GUESS_MAX ? g->n : SY_GUESS_MAX;
    char ip[16], users[64] = "";
    size_t ulen = 0;
    ip_str(from->ip, ip);
    for (unsigned i = 0; i < n && i < 5; i++) {
        bool seen = false;
        for (unsigned k = 0; k < i; k++) seen |= strcmp(g->user[k], g->user[i]) == 0;
        if (seen) continue;
        int w = snprintf(users + ulen, sizeof users - ulen, "%s%s", ulen ? ", " : "", g->user[i]);
        if (w < 0 || (size_t)w >= sizeof users - ulen) break;
        ulen += (size_t)w;
    }
    qw_json_obj_begin(j, "syslog");
    endpoint(c, "sender", m->gw[SY_Z_TOS]);
    endpoint(c, "collector", sy_dev_of(m, SY_K_HISTORIAN, 0));
    qw_json_str(j, "message_id", "cisco SEC_LOGIN-4-LOGIN_FAILED");
    qw_json_str(j, "from", ip);
    qw_json_u64(j, "failures", g->n);
    qw_json_arr_begin(j, "logins");
    for (unsigned i = 0; i < n; i++) {
        qw_json_obj_begin(j, NULL);
        time_field(c, "time", g->at[i]);
        qw_json_str(j, "user", g->user[i]);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
    if (n >= 5) {
        qw_json_str(j, "users", users);
        qw_json_u64(j, "within_s", (g->at[4] - g->at[0]) / SY_SEC);
        qw_json_u64(j, "count", n - 4);
    }
    qw_json_obj_end(j);
}

/* Inside the site's remote-access window (Mon-Fri 07:00-18:00 in Vancouver)? -1: unknown (no
 * time-zone database). */
static int in_remote_window(const struct ctx *c, uint64_t t_us)
{
    if (!c->tz) return -1;
    struct qw_local_time lt;
    qw_tz_local(c->tz, (int64_t)(c->start_unix + t_us / SY_SEC), &lt);
    return lt.wday >= 1 && lt.wday <= 5 && lt.sec_of_day >= REMOTE_FROM &&
           lt.sec_of_day < REMOTE_TO;
}

static void write_event(struct ctx *c, unsigned id)
{
    struct qw_json *j = c->j;
    const struct sy_ev *e = &c->sy->ev[id];
    uint64_t key = e->key != SY_NEVER ? e->key : e->start;
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "id", ev_info[id].id);
    qw_json_str(j, "what", ev_info[id].what);
    char frac[16];
    snprintf(frac, sizeof frac, "%u.%03u", e->permille / 1000, e->permille % 1000);
    qw_json_raw(j, "planned_fraction", frac, strlen(frac));
    time_field(c, "time", key);
    time_field(c, "start", e->start);
    time_field(c, "end", e->end);
    qw_json_u64(j, "frames", e->frames);
    endpoint(c, "source", e->src);
    endpoint(c, "target", e->dst);
    if (id == SY_EV_SCAN) {
        qw_json_u64(j, "ports", 1024);
        qw_json_u64(j, "first_port", 1);
        qw_json_u64(j, "last_port", 1024);
    }
    if (id == SY_EV_SERVICE_VPN) tunnel_tls(c, e->src);
    if (id == SY_EV_CORE_CONFIG) config_log(c, e->src);
    if (id == SY_EV_ROUTER_GUESS) guess_log(c, e->src);

    int window = -2; /* not a remote-access session */
    if (id == SY_EV_VENDOR_SSH || id == SY_EV_VENDOR_DIRECT) window = in_remote_window(c, key);
    qw_json_arr_begin(j, "findings");
    if (id == SY_EV_ROUTER_GUESS && c->sy->guess.n >= 5) qw_json_str(j, NULL, "cred.guessing");
    for (int k = 0; k < FINDING_MAX && ev_info[id].findings[k]; k++)
        qw_json_str(j, NULL, ev_info[id].findings[k]);
    if (window == 0) qw_json_str(j, NULL, "remote.outside_window");
    qw_json_arr_end(j);
    if (window == -1) qw_json_str(j, "remote_window", "unknown: no time-zone database");
    else if (window >= 0) qw_json_str(j, "remote_window", window ? "inside" : "outside");

    /* CHG-1042 covers sts-crane02's update and the jump host's new edge to it, inside its
     * window; nothing else is covered by a change record. */
    uint64_t unix_s = c->start_unix + key / SY_SEC;
    bool chg = (id == SY_EV_FW_CRANE || id == SY_EV_JUMP_READ) && unix_s >= CHG_1042_START &&
               unix_s <= CHG_1042_END;
    if (chg)
        qw_json_str(j, "documented_by", "CHG-1042");
    else
        qw_json_null(j, "documented_by");
    qw_json_obj_end(j);
}

static void write_site(struct ctx *c)
{
    struct qw_json *j = c->j;
    qw_json_obj_begin(j, "site");
    qw_json_str(j, "file", "examples/terminal.yaml");
    qw_json_str(j, "remote_access_window", "mon-fri 07:00-18:00 " REMOTE_TZ);
    qw_json_arr_begin(j, "jump_hosts");
    qw_json_str(j, NULL, "jump01");
    qw_json_arr_end(j);
    qw_json_arr_begin(j, "changes");
    qw_json_obj_begin(j, NULL);
    qw_json_str(j, "id", "CHG-1042");
    qw_json_str(j, "start", "2026-11-20T21:32:00Z");
    qw_json_str(j, "end", "2026-11-20T21:35:00Z");
    qw_json_arr_begin(j, "scope");
    qw_json_str(j, NULL, "asset:sts-crane02");
    qw_json_str(j, NULL, "asset:jump01");
    qw_json_arr_end(j);
    qw_json_arr_begin(j, "expect");
    qw_json_str(j, NULL, "asset.identity_changed");
    qw_json_str(j, NULL, "comm.new_edge");
    qw_json_arr_end(j);
    qw_json_obj_end(j);
    qw_json_arr_end(j);
    qw_json_obj_end(j);
}

int sy_truth_write(const struct sy *sy, const struct qw_synth_opts *o, const char *path,
                   char *err, size_t errlen)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot create %s", path);
        return -1;
    }
    char why[128];
    struct ctx c = {.sy = sy, .start_unix = o->start_unix};
    c.tz = qw_tz_load(NULL, REMOTE_TZ, why, sizeof why);
    static char buf[1 << 16];
    struct qw_json j;
    c.j = &j;
    qw_json_init(&j, buf, sizeof buf, fp);
    qw_json_obj_begin(&j, NULL);

    qw_json_obj_begin(&j, "generator");
    qw_json_u64(&j, "minutes", o->minutes);
    qw_json_u64(&j, "scale", o->scale);
    qw_json_u64(&j, "seed", o->seed);
    qw_json_bool(&j, "incidents", o->incidents);
    time_field(&c, "start", 0);
    time_field(&c, "end", sy->end);
    qw_json_obj_end(&j);
    write_site(&c);

    qw_json_arr_begin(&j, "devices");
    for (size_t i = 0; i < sy->m.ndev; i++) {
        const struct sy_dev *d = &sy->m.devs[i];
        if (!o->incidents && incident_only(d)) continue;
        write_device(&c, d);
    }
    qw_json_arr_end(&j);

    /* in time order of the frame a detector should raise on */
    unsigned order[SY_NEV], n = 0;
    for (unsigned id = 1; id < SY_NEV; id++)
        if (sy->ev[id].start != SY_NEVER) order[n++] = id;
    for (unsigned a = 1; a < n; a++)
        for (unsigned b = a; b > 0; b--) {
            const struct sy_ev *x = &sy->ev[order[b - 1]], *y = &sy->ev[order[b]];
            uint64_t kx = x->key != SY_NEVER ? x->key : x->start;
            uint64_t ky = y->key != SY_NEVER ? y->key : y->start;
            if (kx <= ky) break;
            unsigned t = order[b - 1];
            order[b - 1] = order[b];
            order[b] = t;
        }
    qw_json_arr_begin(&j, "events");
    for (unsigned i = 0; i < n; i++) write_event(&c, order[i]);
    qw_json_arr_end(&j);

    qw_json_obj_end(&j);
    qw_json_newline(&j);
    qw_json_flush(&j);
    qw_tz_free(c.tz);
    bool ok = qw_json_ok(&j);
    if (fclose(fp) != 0) ok = false;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s", path);
        unlink(path);
        return -1;
    }
    return 0;
}
