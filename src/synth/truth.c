/* The synthetic terminal's ground truth, for tests of the inventory: every device with its
 * addresses, the vendor an inventory should name and the roles it may fairly be given from the
 * traffic the synthesiser writes. Written as JSON by `quaywatch synth --truth FILE`. */
#include <stdio.h>
#include <string.h>

#include "synth/model.h"
#include "synth/synth.h"
#include "util/json.h"

/* Roles an inventory may derive for each kind from what the device does in the capture. The
 * first is the role the device really has. Several kinds are indistinguishable by traffic
 * alone (a historian polls nothing here and serves HTTP), so the fair answer is the generic one. */
static const char *const kind_roles[SY_NKINDS][3] = {
    [SY_K_ROUTER] = {"router", NULL},
    [SY_K_CRANE_ROUTER] = {"router", NULL},
    [SY_K_DHCP] = {"server", NULL},
    [SY_K_DNS] = {"server", NULL},
    [SY_K_DC] = {"server", NULL},
    [SY_K_WORKSTATION] = {"workstation", NULL},
    [SY_K_TOS_APP] = {"server", NULL},
    [SY_K_SCADA] = {"hmi", NULL},
    [SY_K_HISTORIAN] = {"historian", "server", NULL},
    [SY_K_CRANE_PLC] = {"plc", NULL},
    [SY_K_STRADDLE] = {"plc", NULL},
    [SY_K_TANK_PLC] = {"plc", NULL},
    [SY_K_GAUGE] = {"tank_gauge", NULL},
    [SY_K_EWS] = {"engineering_workstation", "hmi", NULL},
    [SY_K_LAPTOP] = {"workstation", "unknown", NULL},
    [SY_K_VPN_GW] = {"vpn_gateway", "router", "firewall"},
    [SY_K_JUMP] = {"jump_host", NULL},
    [SY_K_VPN_CLIENT] = {"workstation", "unknown", NULL},
    [SY_K_NVR] = {"server", NULL},
    [SY_K_CAMERA] = {"camera", NULL},
};

static const char *const kind_names[SY_NKINDS] = {
    "router", "crane_router", "dhcp", "dns", "domain_controller", "workstation", "tos_app",
    "scada", "historian", "crane_plc", "straddle_carrier", "tank_plc", "tank_gauge",
    "engineering_workstation", "laptop", "vpn_gateway", "jump_host", "vpn_client", "nvr",
    "camera",
};

int qw_synth_truth(unsigned scale, const char *path, char *err, size_t errlen)
{
    struct sy_model m;
    if (sy_model_build(&m, scale) != 0) {
        snprintf(err, errlen, "out of memory building the terminal model");
        return -1;
    }
    FILE *fp = fopen(path, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot create %s", path);
        sy_model_free(&m);
        return -1;
    }
    static char buf[1 << 16];
    struct qw_json j;
    qw_json_init(&j, buf, sizeof buf, fp);
    qw_json_arr_begin(&j, NULL);
    for (size_t i = 0; i < m.ndev; i++) {
        const struct sy_dev *d = &m.devs[i];
        const struct sy_vendor *v = &sy_vendors[d->vendor];
        char ip[16], mac[18];
        snprintf(ip, sizeof ip, "%u.%u.%u.%u", d->ip >> 24, d->ip >> 16 & 255, d->ip >> 8 & 255,
                 d->ip & 255);
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1],
                 d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
        qw_json_obj_begin(&j, NULL);
        qw_json_str(&j, "name", d->name);
        qw_json_str(&j, "kind", kind_names[d->kind]);
        qw_json_str(&j, "ip", ip);
        qw_json_u64(&j, "vlan", d->vlan);
        /* VPN clients sit behind the gateway: their frames carry its MAC, not one of theirs */
        if (d->kind == SY_K_VPN_CLIENT)
            qw_json_null(&j, "mac");
        else
            qw_json_str(&j, "mac", mac);
        if (d->kind == SY_K_VPN_CLIENT)
            qw_json_null(&j, "vendor");
        else
            qw_json_str(&j, "vendor", v->mb_vendor ? v->mb_vendor : v->oui_name);
        if (v->product) qw_json_str(&j, "product", v->product);
        qw_json_arr_begin(&j, "roles");
        for (int r = 0; r < 3 && kind_roles[d->kind][r]; r++)
            qw_json_str(&j, NULL, kind_roles[d->kind][r]);
        qw_json_arr_end(&j);
        qw_json_obj_end(&j);
    }
    qw_json_arr_end(&j);
    qw_json_newline(&j);
    qw_json_flush(&j);
    bool ok = qw_json_ok(&j) && fclose(fp) == 0;
    sy_model_free(&m);
    if (!ok) snprintf(err, errlen, "cannot write %s", path);
    return ok ? 0 : -1;
}
