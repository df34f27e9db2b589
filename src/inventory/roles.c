/* Roles from what an asset serves and asks for, as one table a reader can check and extend.
 *
 * Each rule names a role, a confidence and one condition on the asset: a protocol or port it
 * serves or uses (with the operation classes seen), a fact it reported, or the fact that it
 * forwards for other addresses. Every rule that holds adds its role once, with the evidence
 * that made it hold; an asset no rule matches is "unknown". The site file can declare a role
 * and a terminal function on top (docs/site-file.md). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/emit.h"
#include "inventory/inventory.h"

enum cond {
    SERVES,        /* serves app (or port when app is NULL) */
    USES,          /* is a client of app (or port) */
    USES_OPS,      /* is a client of an industrial protocol with any of `ops` */
    USES_MANY,     /* is a client of app towards at least `min` servers */
    FACT,          /* reported attr containing text (case-insensitive) */
    FORWARDS,      /* sends packets for addresses it does not own */
    MULTI_HOMED,   /* owns addresses in at least `min` VLANs */
    RELAYS,        /* is reached over a remote-access protocol and opens sessions onwards */
};

struct rule {
    const char *role, *confidence;
    enum cond cond;
    const char *app;   /* application protocol name (registry), or NULL with a port */
    uint16_t port;
    uint32_t ops;
    unsigned min;
    const char *attr, *text; /* FACT */
};

#define ICS_CHANGE (QW_OP_PROGRAM | QW_OP_STOP | QW_OP_START | QW_OP_FIRMWARE | QW_OP_CONFIG)

static const struct rule rules[] = {
    /* controllers: they serve an industrial protocol */
    {"plc", "high", SERVES, "s7comm", 0, 0, 0, NULL, NULL},
    {"plc", "high", SERVES, "s7comm_plus", 0, 0, 0, NULL, NULL},
    {"plc", "high", FACT, NULL, 0, 0, 0, "device_type", "programmable logic controller"},
    {"plc", "medium", SERVES, "modbus", 0, 0, 0, NULL, NULL},
    {"plc", "medium", SERVES, "enip", 0, 0, 0, NULL, NULL},
    {"plc", "medium", SERVES, "mms", 0, 0, 0, NULL, NULL},
    {"plc", "high", SERVES, "ads", 0, 0, 0, NULL, NULL},
    {"plc", "high", SERVES, "fins", 0, 0, 0, NULL, NULL},
    {"rtu", "high", SERVES, "dnp3", 0, 0, 0, NULL, NULL},
    {"rtu", "high", SERVES, "iec104", 0, 0, 0, NULL, NULL},
    {"opc_server", "high", SERVES, "opcua", 0, 0, 0, NULL, NULL},
    {"iot", "medium", SERVES, "bacnet", 0, 0, 0, NULL, NULL},
    {"tank_gauge", "high", SERVES, "atg", 0, 0, 0, NULL, NULL},
    {"tank_gauge", "high", FACT, NULL, 0, 0, 0, "model", "rosemount 2410"},
    {"tank_gauge", "high", FACT, NULL, 0, 0, 0, "model", "tankradar"},
    {"tank_gauge", "medium", FACT, NULL, 0, 0, 0, "product_name", "tank gauge"},
    {"tank_gauge", "high", FACT, NULL, 0, 0, 0, "product_name", "rosemount 2410"},
    {"tank_gauge", "medium", FACT, NULL, 0, 0, 0, "product_name", "tank hub"},
    {"iot", "medium", SERVES, "hart_ip", 0, 0, 0, NULL, NULL},
    /* who changes controllers, and who watches them */
    {"engineering_workstation", "high", USES_OPS, NULL, 0, ICS_CHANGE, 0, NULL, NULL},
    {"hmi", "medium", USES_MANY, "modbus", 0, 0, 2, NULL, NULL},
    {"hmi", "medium", USES_MANY, "s7comm", 0, 0, 2, NULL, NULL},
    {"hmi", "medium", USES_MANY, "enip", 0, 0, 2, NULL, NULL},
    {"hmi", "medium", USES_MANY, "opcua", 0, 0, 2, NULL, NULL},
    {"hmi", "medium", USES_MANY, "ads", 0, 0, 2, NULL, NULL},
    {"hmi", "medium", USES_MANY, "fins", 0, 0, 2, NULL, NULL},
    {"historian", "low", FACT, NULL, 0, 0, 0, "hostname", "histor"},
    /* network */
    {"router", "high", FORWARDS, NULL, 0, 0, 0, NULL, NULL},
    {"router", "high", MULTI_HOMED, NULL, 0, 0, 3, NULL, NULL},
    {"router", "high", FACT, NULL, 0, 0, 0, "vrrp_group", "vrid"},
    {"switch", "medium", FACT, NULL, 0, 0, 0, "capabilities", "bridge"},
    {"firewall", "medium", FACT, NULL, 0, 0, 0, "vendor", "fortinet"},
    {"firewall", "medium", FACT, NULL, 0, 0, 0, "vendor", "palo alto"},
    {"vpn_gateway", "high", SERVES, "ike", 0, 0, 0, NULL, NULL},
    {"vpn_gateway", "high", SERVES, "openvpn", 0, 0, 0, NULL, NULL},
    {"vpn_gateway", "high", SERVES, "wireguard", 0, 0, 0, NULL, NULL},
    /* by port only where packets cannot tell (as remote.vpn_session): ESP in UDP 4500, OpenVPN
     * whose handshake was missed; IKE on 500 and WireGuard on 51820 are always recognised */
    {"vpn_gateway", "medium", SERVES, NULL, 4500, 0, 0, NULL, NULL},
    {"vpn_gateway", "medium", SERVES, NULL, 1194, 0, 0, NULL, NULL},
    /* remote access: a host that is reached over a remote-access protocol and uses one */
    {"jump_host", "medium", RELAYS, NULL, 0, 0, 0, NULL, NULL},
    /* cameras and their recorders */
    {"camera", "high", SERVES, "rtsp", 554, 0, 0, NULL, NULL},
    {"camera", "low", FACT, NULL, 0, 0, 0, "vendor", "axis"},
    {"camera", "low", FACT, NULL, 0, 0, 0, "vendor", "hikvision"},
    {"server", "medium", USES_MANY, "rtsp", 554, 0, 2, NULL, NULL},
    /* IT services */
    {"server", "high", SERVES, "dns", 53, 0, 0, NULL, NULL},
    {"server", "high", SERVES, "dhcp", 67, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "http", 80, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, NULL, 8080, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "tls", 443, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "ntp", 123, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "smb", 445, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "ldap", 389, 0, 0, NULL, NULL},
    {"server", "medium", SERVES, "ssh", 22, 0, 0, NULL, NULL},
    {"printer", "high", SERVES, NULL, 9100, 0, 0, NULL, NULL},
    {"printer", "medium", SERVES, NULL, 631, 0, 0, NULL, NULL},
    {"iot", "low", USES, "mqtt", 1883, 0, 0, NULL, NULL},
    {"workstation", "medium", FACT, NULL, 0, 0, 0, "dhcp_vendor_class", "msft"},
    {"workstation", "low", USES, "dns", 53, 0, 0, NULL, NULL},
    {"workstation", "low", USES, "http", 80, 0, 0, NULL, NULL},
};

/* A specific role that explains the generic one. */
static const struct {
    const char *specific, *generic;
} overrides[] = {
    {"tank_gauge", "plc"},
    {"rtu", "plc"},
    {"camera", "server"},
    {"jump_host", "server"},
    {"engineering_workstation", "hmi"},
    {"engineering_workstation", "workstation"},
    {"hmi", "workstation"},
};

static bool service_match(const struct qw_inv_service *s, const struct rule *r)
{
    if (r->app && s->app[0]) return strcmp(s->app, r->app) == 0;
    if (r->port) return s->port == r->port;
    return r->app && strcmp(s->app, r->app) == 0;
}

static bool holds(const struct qw_asset *a, const struct rule *r, char *ev, size_t evlen)
{
    switch (r->cond) {
    case SERVES:
    case USES:
        for (size_t i = 0; i < a->nservices; i++) {
            const struct qw_inv_service *s = &a->services[i];
            if (s->server != (r->cond == SERVES) || !service_match(s, r)) continue;
            snprintf(ev, evlen, "%s %s (%s/%u) %s %u peer%s", r->cond == SERVES ? "serves" : "uses",
                     s->app[0] ? s->app : "port", s->l4proto == 6 ? "tcp" : "udp", s->port,
                     r->cond == SERVES ? "to" : "on", s->peers, s->peers == 1 ? "" : "s");
            return true;
        }
        return false;
    case USES_OPS:
        for (size_t i = 0; i < a->nservices; i++) {
            const struct qw_inv_service *s = &a->services[i];
            if (s->server || !(s->ops & r->ops)) continue;
            uint32_t hit = s->ops & r->ops;
            int b = 0;
            while (!(hit & (1u << b))) b++;
            snprintf(ev, evlen, "%s operations on %s (%s/%u)", qw_op_names[b],
                     s->app[0] ? s->app : "port", s->l4proto == 6 ? "tcp" : "udp", s->port);
            return true;
        }
        return false;
    case USES_MANY: {
        unsigned peers = 0;
        for (size_t i = 0; i < a->nservices; i++)
            if (!a->services[i].server && service_match(&a->services[i], r))
                peers += a->services[i].peers;
        if (peers < r->min) return false;
        snprintf(ev, evlen, "client of %s on %u servers", r->app ? r->app : "port", peers);
        return true;
    }
    case FACT:
        for (size_t i = 0; i < a->nfacts; i++) {
            const struct qw_inv_fact *f = &a->facts[i];
            if (strcmp(f->attr, r->attr) != 0 || !strcasestr(f->value, r->text)) continue;
            snprintf(ev, evlen, "%s \"%s\" (%s)", f->attr, f->value, f->source);
            return true;
        }
        return false;
    case FORWARDS:
        if (!a->forwarder) return false;
        snprintf(ev, evlen, "sends packets for addresses it does not claim in ARP");
        return true;
    case RELAYS: {
        static const char *const remote[] = {"ssh", "rdp", "vnc", "telnet", NULL};
        static const uint16_t remote_ports[] = {22, 3389, 5900, 23, 0};
        const struct qw_inv_service *in = NULL, *out = NULL;
        for (size_t i = 0; i < a->nservices; i++) {
            const struct qw_inv_service *s = &a->services[i];
            bool is_remote = false;
            for (int k = 0; remote[k]; k++)
                is_remote |= s->app[0] ? strcmp(s->app, remote[k]) == 0
                                       : s->port == remote_ports[k];
            bool ics = s->ops != 0 && !s->server;
            if (s->server && is_remote && !in) in = s;
            if (!s->server && (is_remote || ics) && !out) out = s;
        }
        if (!in || !out) return false;
        snprintf(ev, evlen, "reached over %s/%u, opens %s/%u sessions onwards",
                 in->app[0] ? in->app : "port", in->port, out->app[0] ? out->app : "port",
                 out->port);
        return true;
    }
    case MULTI_HOMED: {
        unsigned vlans = 0;
        for (size_t i = 0; i < a->nips; i++) {
            bool seen = false;
            for (size_t k = 0; k < i; k++) seen |= a->ips[k].vlan == a->ips[i].vlan;
            if (!seen) vlans++;
        }
        if (vlans < r->min) return false;
        snprintf(ev, evlen, "owns addresses in %u VLANs", vlans);
        return true;
    }
    }
    return false;
}

void qw_inventory_roles(struct qw_asset *a)
{
    a->nroles = 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        bool have = false;
        for (size_t k = 0; k < a->nroles; k++) have |= strcmp(a->roles[k].role, r->role) == 0;
        if (have || a->nroles == sizeof a->roles / sizeof a->roles[0]) continue;
        struct qw_inv_role *out = &a->roles[a->nroles];
        if (!holds(a, r, out->evidence, sizeof out->evidence)) continue;
        out->role = r->role;
        out->confidence = r->confidence;
        a->nroles++;
    }
    /* Low-confidence guesses give way to any firmer role, and a specific role replaces the
     * generic one it implies (a tank gauge serving Modbus is not also a "plc"). */
    bool firm = false;
    for (size_t k = 0; k < a->nroles; k++) firm |= strcmp(a->roles[k].confidence, "low") != 0;
    size_t w = 0;
    for (size_t k = 0; k < a->nroles; k++)
        if (!firm || strcmp(a->roles[k].confidence, "low") != 0) a->roles[w++] = a->roles[k];
    a->nroles = w;
    bool drop[sizeof a->roles / sizeof a->roles[0]] = {false};
    for (size_t k = 0; k < a->nroles; k++)
        for (size_t o = 0; o < sizeof overrides / sizeof overrides[0]; o++) {
            if (strcmp(a->roles[k].role, overrides[o].generic) != 0) continue;
            for (size_t m = 0; m < a->nroles; m++)
                drop[k] |= strcmp(a->roles[m].role, overrides[o].specific) == 0;
        }
    w = 0;
    for (size_t k = 0; k < a->nroles; k++)
        if (!drop[k]) a->roles[w++] = a->roles[k];
    a->nroles = w;
    if (a->nroles == 0) {
        a->roles[0].role = "unknown";
        a->roles[0].confidence = "low";
        snprintf(a->roles[0].evidence, sizeof a->roles[0].evidence, "no role rule matched");
        a->nroles = 1;
    }
}

void qw_inventory_print_rules(void *file)
{
    FILE *out = file;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        fprintf(out, "%-24s %-7s ", r->role, r->confidence);
        switch (r->cond) {
        case SERVES: fprintf(out, "serves %s", r->app ? r->app : ""); break;
        case USES: fprintf(out, "uses %s", r->app ? r->app : ""); break;
        case USES_OPS: fprintf(out, "uses an industrial protocol to program/stop/start/"
                                    "update firmware/configure"); break;
        case USES_MANY: fprintf(out, "client of %s on >= %u servers", r->app, r->min); break;
        case FACT: fprintf(out, "%s contains \"%s\"", r->attr, r->text); break;
        case FORWARDS: fprintf(out, "forwards packets for addresses behind it"); break;
        case MULTI_HOMED: fprintf(out, "owns addresses in >= %u VLANs", r->min); break;
        case RELAYS: fprintf(out, "serves ssh/rdp/vnc/telnet and opens remote or industrial "
                                  "sessions onwards"); break;
        }
        if (r->port && r->cond != USES_MANY) fprintf(out, " (port %u)", r->port);
        fputc('\n', out);
    }
}
