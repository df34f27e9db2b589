/* The synthetic terminal's devices; see model.h and docs/synth.md.
 *
 * Addresses: fixed infrastructure sits at 10.Z.0.N. Scaled kinds each own a band of 32 third
 * octets in their zone; device i of a kind gets 10.Z.(band + i / 200).(11 + i % 200), so scale
 * 1024 (6144 workstations, the largest group) still fits inside its band and every address is
 * distinct and a valid host address. */
#include "synth/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/plc.h"
#include "synth/rng.h"

const uint8_t sy_mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t sy_mac_zero[6] = {0, 0, 0, 0, 0, 0};

enum {
    V_CISCO,
    V_MOXA,
    V_DELL_SRV,
    V_HP,
    V_DELL_PC,
    V_SCHNEIDER,
    V_SIEMENS,
    V_ROCKWELL,
    V_ROSEMOUNT,
    V_LENOVO,
    V_FORTINET,
    V_VMWARE,
    V_HIKVISION,
    V_AXIS,
    V_TPLINK,
    V_SEL,
    V_HMS,
    V_NONE,
};

/* OUIs from the IEEE registry (/usr/share/ieee-data/oui.txt). Identity strings are what such
 * controllers typically report; revision_new is the firmware after the scripted update. */
const struct sy_vendor sy_vendors[] = {
    [V_CISCO] = {"Cisco Systems, Inc", {0xf4, 0xbd, 0x9e}, 0, 0, 0, 0, 0, 0, 0},
    [V_MOXA] = {"MOXA TECHNOLOGIES CORP., LTD.", {0x00, 0x90, 0xe8}, 0, 0, 0, 0, 0, 0, 0},
    [V_DELL_SRV] = {"Dell Inc.", {0x6c, 0x2b, 0x59}, 0, 0, 0, 0, 0, 0, 0},
    [V_HP] = {"Hewlett Packard", {0x9c, 0x7b, 0xef}, 0, 0, 0, 0, 0, 0, 0},
    [V_DELL_PC] = {"Dell Inc.", {0xc8, 0xf7, 0x50}, 0, 0, 0, 0, 0, 0, 0},
    [V_SCHNEIDER] = {"Schneider Electric", {0x00, 0x11, 0x00}, "Schneider Electric", "BMEP584040",
                     "v3.20", "v3.30", "www.se.com", "Modicon M580", "BMEP584040"},
    [V_SIEMENS] = {"Siemens AG", {0x28, 0x63, 0x36}, "Siemens AG", "6ES7 215-1AG40-0XB0", "V4.5.2",
                   "V4.6.0", "www.siemens.com", "SIMATIC S7-1200", "CPU 1215C DC/DC/DC"},
    [V_ROCKWELL] = {"Rockwell Automation", {0x5c, 0x88, 0x16}, "Rockwell Automation",
                    "2080-LC50-24QBB", "21.011", "22.011", "www.rockwellautomation.com",
                    "Micro850", "Micro850 24pt"},
    [V_ROSEMOUNT] = {"Rosemount Inc.", {0x00, 0x26, 0x16}, "Emerson", "2410", "1.D3", "1.D4",
                     "www.emerson.com", "Rosemount 2410 Tank Hub", "2410"},
    [V_LENOVO] = {"Lenovo", {0x10, 0xc5, 0x95}, 0, 0, 0, 0, 0, 0, 0},
    [V_FORTINET] = {"Fortinet, Inc.", {0x08, 0x5b, 0x0e}, 0, 0, 0, 0, 0, 0, 0},
    [V_VMWARE] = {"VMware, Inc.", {0x00, 0x50, 0x56}, 0, 0, 0, 0, 0, 0, 0},
    [V_HIKVISION] = {"Hangzhou Hikvision Digital Technology Co.,Ltd.", {0x44, 0x47, 0xcc}, 0, 0, 0,
                     0, 0, 0, 0},
    [V_AXIS] = {"Axis Communications AB", {0xac, 0xcc, 0x8e}, 0, 0, 0, 0, 0, 0, 0},
    /* the crane router's unannounced replacement: a small-office VPN router */
    [V_TPLINK] = {"TP-LINK TECHNOLOGIES CO.,LTD.", {0xd0, 0x37, 0x45}, 0, 0, 0, 0, 0, 0, 0},
    /* the substation RTU (an automation controller speaking DNP3) */
    [V_SEL] = {"SCHWEITZER ENGINEERING LABORATORIES, INC.", {0x00, 0x30, 0xa7}, 0, 0, 0, 0, 0, 0,
               0},
    /* the crane vendor's remote-service router (HMS makes the Ewon boxes such vendors fit) */
    [V_HMS] = {"HMS Industrial Networks", {0x00, 0x30, 0x11}, 0, 0, 0, 0, 0, 0, 0},
    /* hosts on the internet: their MAC never reaches the capture (a locally administered one) */
    [V_NONE] = {"none", {0x02, 0x00, 0x00}, 0, 0, 0, 0, 0, 0, 0},
};

/* Scaled kinds: count at scale 1, zone, band (first third octet), name prefix, vendor. */
struct scaled {
    uint8_t kind, zone, band, vendor, ttl;
    uint16_t base;
    const char *prefix;
};

static const struct scaled scaled_kinds[] = {
    {SY_K_WORKSTATION, SY_Z_CORP, 1, V_DELL_PC, 128, 6, "corp-ws"},
    {SY_K_CRANE_PLC, SY_Z_CRANES, 1, V_SCHNEIDER, 64, 4, "sts-crane"},
    {SY_K_STRADDLE, SY_Z_CRANES, 40, V_SIEMENS, 64, 4, "straddle"},
    {SY_K_TANK_PLC, SY_Z_TANK, 1, V_ROCKWELL, 64, 3, "tank-plc"},
    {SY_K_GAUGE, SY_Z_TANK, 40, V_ROSEMOUNT, 64, 3, "tank-gauge"},
    {SY_K_CAMERA, SY_Z_CCTV, 1, V_AXIS, 64, 4, "cam"},
};

/* Fixed devices, in kind order (the model relies on each kind's devices being contiguous). */
struct fixed {
    uint8_t kind, zone, host, vendor, ttl;
    uint8_t c; /* third octet */
    const char *name;
};

static const struct fixed fixed_devs[] = {
    {SY_K_ROUTER, SY_Z_CORP, 1, V_CISCO, 255, 0, "core-rtr-vl10"},
    {SY_K_ROUTER, SY_Z_TOS, 1, V_CISCO, 255, 0, "core-rtr-vl20"},
    {SY_K_ROUTER, SY_Z_TANK, 1, V_CISCO, 255, 0, "core-rtr-vl40"},
    {SY_K_ROUTER, SY_Z_DMZ, 1, V_CISCO, 255, 0, "core-rtr-vl50"},
    {SY_K_ROUTER, SY_Z_CCTV, 1, V_CISCO, 255, 0, "core-rtr-vl60"},
    {SY_K_CRANE_ROUTER, SY_Z_CRANES, 1, V_MOXA, 64, 0, "crane-rtr"},
    {SY_K_CRANE_ROUTER, SY_Z_CRANES, 1, V_TPLINK, 64, 0, "crane-rtr2"}, /* the swap's new box */
    {SY_K_DHCP, SY_Z_CORP, 10, V_DELL_SRV, 128, 0, "dhcp01"},
    {SY_K_DNS, SY_Z_CORP, 11, V_DELL_SRV, 128, 0, "dns01"},
    {SY_K_DC, SY_Z_CORP, 12, V_HP, 128, 0, "dc01"},
    {SY_K_TOS_APP, SY_Z_TOS, 10, V_HP, 64, 0, "tos-app01"},
    {SY_K_TOS_APP, SY_Z_TOS, 11, V_HP, 64, 0, "tos-app02"},
    {SY_K_SCADA, SY_Z_TOS, 20, V_DELL_SRV, 128, 0, "scada01"},
    {SY_K_HISTORIAN, SY_Z_TOS, 30, V_HP, 128, 0, "historian01"},
    {SY_K_EWS, SY_Z_TANK, 50, V_DELL_PC, 128, 0, "tank-ews01"},
    {SY_K_LAPTOP, SY_Z_TANK, 100, V_LENOVO, 128, 200, "DESKTOP-7Q2K9FJ"},
    {SY_K_VPN_GW, SY_Z_DMZ, 2, V_FORTINET, 255, 0, "vpn-gw01"},
    {SY_K_JUMP, SY_Z_DMZ, 10, V_VMWARE, 64, 0, "jump01"},
    /* VPN clients were routed once by the VPN gateway: Windows' 128 less one. */
    {SY_K_VPN_CLIENT, SY_Z_DMZ, 21, V_FORTINET, 127, 8, "vendor-vpn-21"},
    {SY_K_VPN_CLIENT, SY_Z_DMZ, 23, V_FORTINET, 127, 8, "vendor-vpn-23"},
    {SY_K_NVR, SY_Z_CCTV, 10, V_HIKVISION, 64, 0, "nvr01"},
    {SY_K_RTU, SY_Z_TANK, 60, V_SEL, 64, 0, "power-rtu01"},
    {SY_K_SERVICE_BOX, SY_Z_CRANES, 20, V_HMS, 64, 0, "crane-rsb01"},
    /* the remote-service box's relay: a documentation address (RFC 5737), 13 hops away, seen
     * on the crane VLAN it talks to */
    {SY_K_OUTSIDE, SY_Z_CRANES, 0, V_NONE, 51, 0, "rsb-relay"}, /* address: SY_RELAY_IP */
};

#define BAND_WIDTH 32
#define PER_OCTET 200
#define NFIXED (sizeof fixed_devs / sizeof fixed_devs[0])
#define NSCALED (sizeof scaled_kinds / sizeof scaled_kinds[0])

static unsigned zone_octet(unsigned z)
{
    return 10 * (z + 1);
}

/* A bijection on 24 bits: distinct (kind, index) pairs give distinct NIC-specific halves. */
static uint32_t mac_tail(uint32_t kind, uint32_t index)
{
    uint32_t x = (kind << 16 | index) & 0xffffff;
    x = (x * 0x2545f5u) & 0xffffff; /* odd multiplier: invertible mod 2^24 */
    x ^= x >> 12;
    x = (x * 0x9e3779u + 0x5bd1e9u) & 0xffffff;
    x ^= x >> 11;
    return x;
}

static void set_mac(struct sy_dev *d, unsigned vendor, unsigned kind, unsigned index)
{
    uint32_t t = mac_tail(kind, index);
    memcpy(d->mac, sy_vendors[vendor].oui, 3);
    d->mac[3] = (uint8_t)(t >> 16);
    d->mac[4] = (uint8_t)(t >> 8);
    d->mac[5] = (uint8_t)t;
}

static void init_dev(struct sy_dev *d, unsigned kind, unsigned zone, uint32_t ip, unsigned vendor,
                     unsigned ttl, unsigned index)
{
    d->kind = (uint8_t)kind;
    d->zone = (uint8_t)zone;
    d->vlan = (uint16_t)zone_octet(zone);
    d->ip = ip;
    d->vendor = (uint8_t)vendor;
    d->ttl = (uint8_t)ttl;
    d->index = index;
    d->fw_update_at = UINT64_MAX;
    d->cpu_stop_at = UINT64_MAX;
    d->restart_at = UINT64_MAX;
    d->restart_up_at = UINT64_MAX;
    uint64_t h = sy_mix((uint64_t)kind << 32 | index);
    d->ipid = (uint16_t)h;
    d->eph = (uint16_t)(49152 + (h >> 16) % 12000);
    set_mac(d, vendor, kind, index);
}

int sy_model_build(struct sy_model *m, unsigned scale)
{
    memset(m, 0, sizeof *m);
    m->scale = scale;
    size_t n = NFIXED;
    for (size_t i = 0; i < NSCALED; i++) n += (size_t)scaled_kinds[i].base * scale;
    m->devs = calloc(n, sizeof *m->devs);
    if (!m->devs) return -1;

    /* Lay devices out grouped by kind, in enum order, so each group is one slice. */
    size_t at = 0;
    for (unsigned k = 0; k < SY_NKINDS; k++) {
        m->kind[k].dev = m->devs + at;
        for (size_t i = 0; i < NFIXED; i++) {
            const struct fixed *f = &fixed_devs[i];
            if (f->kind != k) continue;
            struct sy_dev *d = &m->devs[at++];
            uint32_t ip = k == SY_K_OUTSIDE ? SY_RELAY_IP
                                            : sy_ip4(10, zone_octet(f->zone), f->c, f->host);
            init_dev(d, k, f->zone, ip, f->vendor, f->ttl, (unsigned)m->kind[k].n);
            snprintf(d->name, sizeof d->name, "%s", f->name);
            if (k == SY_K_ROUTER || k == SY_K_VPN_CLIENT) /* one router, one VPN gateway MAC */
                set_mac(d, f->vendor, k == SY_K_ROUTER ? SY_K_ROUTER : SY_K_VPN_GW, 0);
            m->kind[k].n++;
        }
        for (size_t i = 0; i < NSCALED; i++) {
            const struct scaled *s = &scaled_kinds[i];
            if (s->kind != k) continue;
            size_t cnt = (size_t)s->base * scale;
            if (cnt > (size_t)BAND_WIDTH * PER_OCTET) {
                free(m->devs);
                m->devs = NULL;
                return -1;
            }
            for (size_t j = 0; j < cnt; j++) {
                struct sy_dev *d = &m->devs[at++];
                unsigned c = s->band + (unsigned)(j / PER_OCTET);
                unsigned h = 11 + (unsigned)(j % PER_OCTET);
                /* Cameras alternate between two vendors, as real estates grow by tender. */
                unsigned v = (k == SY_K_CAMERA && (j & 1)) ? V_HIKVISION : s->vendor;
                init_dev(d, k, s->zone, sy_ip4(10, zone_octet(s->zone), c, h), v, s->ttl,
                         (unsigned)j);
                snprintf(d->name, sizeof d->name, "%s%02zu", s->prefix, j + 1);
                if (k == SY_K_WORKSTATION)
                    snprintf(d->name, sizeof d->name, "CORP-WS%03zu", j + 1);
            }
            m->kind[k].n = cnt;
        }
    }
    m->ndev = at;

    for (size_t i = 0; i < m->kind[SY_K_ROUTER].n; i++) {
        struct sy_dev *r = sy_dev_of(m, SY_K_ROUTER, i);
        m->gw[r->zone] = r;
    }
    m->gw[SY_Z_CRANES] = sy_dev_of(m, SY_K_CRANE_ROUTER, 0);

    /* Modbus servers get a register image. */
    for (size_t i = 0; i < m->ndev; i++) {
        struct sy_dev *d = &m->devs[i];
        if (d->kind == SY_K_CRANE_PLC || d->kind == SY_K_STRADDLE || d->kind == SY_K_TANK_PLC ||
            d->kind == SY_K_GAUGE) {
            d->plc = sy_plc_new(d->kind, sy_mix(d->ip));
            if (!d->plc) {
                sy_model_free(m);
                return -1;
            }
        }
    }
    return 0;
}

void sy_model_free(struct sy_model *m)
{
    if (m->devs)
        for (size_t i = 0; i < m->ndev; i++) free(m->devs[i].plc);
    free(m->devs);
    m->devs = NULL;
    m->ndev = 0;
}

void sy_route(const struct sy_model *m, struct sy_dev *src, const struct sy_dev *dst,
              struct sy_l3 *out)
{
    /* a host on the internet enters through the gateway of the zone it talks to */
    out->smac = src->kind == SY_K_OUTSIDE ? m->gw[dst->zone]->mac : src->mac;
    out->vlan = src->kind == SY_K_OUTSIDE ? dst->vlan : src->vlan;
    out->sip = src->ip;
    out->dip = dst->ip;
    out->ttl = src->ttl;
    out->dscp_ecn = 0;
    out->ipid = src->ipid++;
    out->dmac = src->zone == dst->zone && dst->kind != SY_K_OUTSIDE ? dst->mac
                                                                     : m->gw[src->zone]->mac;
}

void sy_s7_serial(const struct sy_dev *d, char out[17])
{
    uint64_t h = sy_mix(0x5337 ^ (uint64_t)d->ip << 8);
    /* "S C-" + letter, digit, two letters + 8 digits: 16 characters, as on the CPU's label */
    snprintf(out, 17, "S C-%c%u%c%c%08u", 'A' + (int)(h % 26), (unsigned)(h / 26 % 10),
             'A' + (int)(h / 260 % 26), 'A' + (int)(h / 6760 % 26),
             (unsigned)((h >> 32) % 100000000u));
}

uint16_t sy_dev_eph(struct sy_dev *d)
{
    uint16_t p = d->eph;
    d->eph = (uint16_t)(p == 65535 ? 49152 : p + 1);
    return p;
}
