/* The synthetic terminal: zones, devices, addresses, MAC addresses and identities.
 *
 * Everything here is a pure function of --scale (never of the seed), so the same device has the
 * same address and MAC in every capture; examples/terminal.yaml and docs/synth.md describe the
 * layout at scale 1. */
#ifndef QW_SYNTH_MODEL_H
#define QW_SYNTH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "synth/frame.h"

/* Zones: the VLAN id equals the second octet of the zone's 10.x.0.0/16. */
enum sy_zone {
    SY_Z_CORP,   /* 10.10/16 VLAN 10 */
    SY_Z_TOS,    /* 10.20/16 VLAN 20 */
    SY_Z_CRANES, /* 10.30/16 VLAN 30 */
    SY_Z_TANK,   /* 10.40/16 VLAN 40 */
    SY_Z_DMZ,    /* 10.50/16 VLAN 50 */
    SY_Z_CCTV,   /* 10.60/16 VLAN 60 */
    SY_NZONES
};

enum sy_kind {
    SY_K_ROUTER,       /* core router/L3 switch interface in one VLAN (one MAC for all) */
    SY_K_CRANE_ROUTER, /* the crane network's own router, gateway 10.30.0.1; index 1 is the
                        * box that replaces it in the scripted router swap (same IP) */
    SY_K_DHCP,
    SY_K_DNS,
    SY_K_DC,
    SY_K_WORKSTATION, /* scaled */
    SY_K_TOS_APP,
    SY_K_SCADA,
    SY_K_HISTORIAN,
    SY_K_CRANE_PLC, /* scaled; Modbus/TCP server */
    SY_K_STRADDLE,  /* scaled; Modbus/TCP server */
    SY_K_TANK_PLC,  /* scaled; Modbus/TCP server */
    SY_K_GAUGE,     /* scaled; Modbus/TCP server */
    SY_K_EWS,
    SY_K_LAPTOP, /* the unknown laptop of the scripted event */
    SY_K_VPN_GW,
    SY_K_JUMP,
    SY_K_VPN_CLIENT, /* addresses of the vendor VPN pool, behind the VPN gateway's MAC */
    SY_K_NVR,
    SY_K_CAMERA, /* scaled */
    /* Appended after the original kinds: a device's MAC derives from (kind, index), so the
     * kinds above keep the MAC addresses they always had. */
    SY_K_RTU, /* power-rtu01: DNP3 outstation of the terminal's substation */
    SY_K_SERVICE_BOX, /* crane-rsb01: the crane vendor's remote-service router (scripted) */
    SY_K_OUTSIDE,     /* a host on the internet; its frames are seen where they enter the
                       * terminal, from the gateway of the zone it talks to (sy_route) */
    SY_NKINDS
};

/* A vendor profile: the OUI of its MAC addresses and, for controllers, what the device answers
 * to Modbus Read Device Identification (function 43/14). */
struct sy_vendor {
    const char *oui_name; /* as registered with the IEEE, for docs */
    uint8_t oui[3];
    const char *mb_vendor, *product_code, *revision, *revision_new, *url, *product, *model;
};

struct sy_dev;

/* What the S7-1200 straddle-carrier controllers answer to SZL reads (S7comm server, TCP 102). */
#define SY_S7_ORDER "6ES7 215-1AG40-0XB0"
#define SY_S7_FW_MAJOR 4
#define SY_S7_FW_MINOR 5
#define SY_S7_FW_PATCH 2
#define SY_S7_HW_VERSION 1
#define SY_S7_MODULE_TYPE "CPU 1215C DC/DC/DC"

/* Serial number a Siemens CPU reports in SZL 0x001C index 5 ("S C-XXXXXXXX"), stable per
 * device (out must hold 17 bytes). */
void sy_s7_serial(const struct sy_dev *d, char out[17]);

struct sy_plc;

struct sy_dev {
    char name[24];
    uint8_t mac[6];
    uint8_t kind, zone, ttl, vendor;
    uint16_t vlan;
    uint16_t ipid; /* next IPv4 identification; one counter per host like most stacks */
    uint16_t eph;  /* next ephemeral TCP port */
    uint32_t ip;
    uint32_t index;         /* position within its kind */
    struct sy_plc *plc;     /* register image of a Modbus server, NULL otherwise */
    uint64_t fw_update_at;  /* from this time on it reports vendor.revision_new */
    uint8_t fw_ev;          /* scripted event (enum sy_ev_id) of that update, 0 none */
    uint64_t cpu_stop_at;   /* S7 CPU put in STOP at this time (SY_NEVER: runs) */
    uint64_t restart_at;    /* DNP3 outstation: cold restart begins (SY_NEVER: none) */
    uint64_t restart_up_at; /* ... and it is back on the network */
};

/* The one host on the internet (SY_K_OUTSIDE): the remote-service box's relay, at a
 * documentation address (RFC 5737) */
#define SY_RELAY_IP 0xc6336428u /* 198.51.100.40 */

struct sy_group {
    struct sy_dev *dev;
    size_t n;
};

struct sy_model {
    unsigned scale;
    struct sy_dev *devs;
    size_t ndev;
    struct sy_group kind[SY_NKINDS];
    struct sy_dev *gw[SY_NZONES]; /* each zone's default gateway */
};

extern const struct sy_vendor sy_vendors[];

int sy_model_build(struct sy_model *m, unsigned scale);
void sy_model_free(struct sy_model *m);

/* The i-th device of a kind (i must be below kind[k].n). */
static inline struct sy_dev *sy_dev_of(const struct sy_model *m, enum sy_kind k, size_t i)
{
    return &m->kind[k].dev[i];
}

/* Fills the layer 2/3 fields of a packet from src to dst as seen on the SPAN: tagged with the
 * sender's VLAN, addressed to dst's MAC on the same VLAN, else to the sender's gateway. Takes
 * the next IP identification from the sender. */
void sy_route(const struct sy_model *m, struct sy_dev *src, const struct sy_dev *dst,
              struct sy_l3 *out);

/* Allocates the sender's next ephemeral port (49152-65535, RFC 6335). */
uint16_t sy_dev_eph(struct sy_dev *d);

static inline uint32_t sy_ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

extern const uint8_t sy_mac_bcast[6];
extern const uint8_t sy_mac_zero[6];

#endif
