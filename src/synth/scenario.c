/* The terminal's traffic plan; see scenario.h and docs/synth.md.
 *
 * Times are fractions of the run (scripted events) or seconds from the start (boot), always
 * with seeded jitter. Boot order: infrastructure and controllers resolve their gateways in the
 * first seconds, the HMI connects to every controller from 5 s on, workstations boot over the
 * first two minutes through DHCP, cameras come up and the NVR starts pulling their streams. */
#include "synth/scenario.h"

#include <stdlib.h>

#include "synth/actors.h"

/* Scripted events, as fractions of the run (per mille). */
#define EV_VENDOR_SSH 200        /* vendor connects via VPN to the jump host (25% long) */
#define EV_VENDOR_SSH_LEN 250
#define EV_JUMP_READ1 220        /* ... and from the jump host reads sts-crane02 */
#define EV_FW_CLOSE 330          /* sts-crane02 closes the HMI connection for its update */
#define EV_FW_UPDATE 340         /* ... reports the new firmware revision from here */
#define EV_FW_REBOOT 350         /* ... is back: gratuitous ARP, the HMI reconnects */
#define EV_JUMP_READ2 400        /* the vendor checks the new revision via the jump host */
#define EV_EXCEPTION 450         /* the HMI reads a missing register of tank-plc01 once */
#define EV_LAPTOP 620            /* unknown laptop on the tank-farm VLAN */
#define EV_VENDOR_DIRECT 750     /* VPN client straight to sts-crane03, no jump host */
#define EV_EWS_WRITE 850         /* tank-farm engineering workstation writes sts-crane01 */

static uint64_t at(const struct sy *sy, unsigned permille)
{
    return sy->end / 1000 * permille;
}

static const struct sy_dns_name corp_names[] = {
    {"tos.terminal.example", 0x0a14000a},
    {"berthplan.tos.terminal.example", 0x0a14000b},
    {"historian.tos.terminal.example", 0x0a14001e},
    {"dc01.corp.terminal.example", 0x0a0a000c},
    {"mail.terminal.example", 0xc0000219}, /* 192.0.2.25, outside the site */
    {"wpad.corp.terminal.example", 0},
};

static const struct sy_dns_name tos_names[] = {
    {"historian.tos.terminal.example", 0x0a14001e},
    {"scada01.tos.terminal.example", 0x0a140014},
    {"time.corp.terminal.example", 0x0a0a000c},
    {"tos.terminal.example", 0x0a14000a},
    {"licence.vendor.example", 0xc6336414}, /* 198.51.100.20 */
};

static const struct sy_dns_name laptop_names[] = {
    {"wpad.terminal.example", 0},
    {"tank-plc01.tankfarm.terminal.example", 0x0a28010b},
    {"update.vendor.example", 0xc6336415},
};

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

size_t sy_scenario_capacity(const struct sy_model *m)
{
    return m->ndev * 5 + 64;
}

/* ARP actor with up to three neighbours (NULL entries are skipped). */
static int arp(struct sy *sy, struct sy_dev *d, struct sy_dev *n0, struct sy_dev *n1,
               bool garp, bool gw_asks, uint64_t start)
{
    struct sy_dev *nb[SY_ARP_MAX_NB];
    unsigned n = 0;
    nb[n++] = sy->m.gw[d->zone];
    if (n0) nb[n++] = n0;
    if (n1) nb[n++] = n1;
    return sy_arp_actor(sy, d, nb, n, garp, gw_asks, start) ? 0 : -1;
}

static int build_corporate(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *dns = sy_dev_of(m, SY_K_DNS, 0), *dc = sy_dev_of(m, SY_K_DC, 0);
    int e = 0;
    struct sy_dev *dhcp = sy_dev_of(m, SY_K_DHCP, 0);
    e |= arp(sy, dhcp, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));
    e |= arp(sy, dns, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));
    e |= arp(sy, dc, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));
    uint64_t window = sy->end / 4 < 120 * SY_SEC ? sy->end / 4 : 120 * SY_SEC;
    for (size_t i = 0; i < m->kind[SY_K_WORKSTATION].n && !e; i++) {
        struct sy_dev *w = sy_dev_of(m, SY_K_WORKSTATION, i);
        uint64_t boot = SY_SEC + sy_jit(sy, 0, window);
        uint64_t up = boot + 3500 * SY_MS; /* DHCP and address checks are done by then */
        if (!sy_dhcp_actor(sy, w, "MSFT 5.0", true, boot)) e = -1;
        e |= arp(sy, w, dns, dc, false, true, up);
        if (!sy_dns_actor(sy, w, corp_names, N(corp_names), 20 * SY_SEC, 90 * SY_SEC,
                          up + sy_jit(sy, 500 * SY_MS, 3 * SY_SEC)))
            e = -1;
        if (!sy_ntp_actor(sy, w, dc, up + sy_jit(sy, 1 * SY_SEC, 15 * SY_SEC))) e = -1;
        if (!sy_http_actor(sy, w, up + sy_jit(sy, 5 * SY_SEC, 40 * SY_SEC))) e = -1;
    }
    return e;
}

static int build_tos(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *scada = sy_dev_of(m, SY_K_SCADA, 0), *hist = sy_dev_of(m, SY_K_HISTORIAN, 0);
    int e = 0;
    for (size_t i = 0; i < m->kind[SY_K_TOS_APP].n; i++) {
        struct sy_dev *d = sy_dev_of(m, SY_K_TOS_APP, i);
        e |= arp(sy, d, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));
        if (!sy_dns_actor(sy, d, tos_names, N(tos_names), 30 * SY_SEC, 120 * SY_SEC,
                          sy_jit(sy, 3 * SY_SEC, 10 * SY_SEC)))
            e = -1;
    }
    e |= arp(sy, scada, hist, NULL, false, true, sy_jit(sy, 50 * SY_MS, 1 * SY_SEC));
    e |= arp(sy, hist, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 1 * SY_SEC));
    if (!sy_dns_actor(sy, scada, tos_names, N(tos_names), 30 * SY_SEC, 120 * SY_SEC,
                      sy_jit(sy, 2500 * SY_MS, 4 * SY_SEC)))
        e = -1;
    if (!sy_dns_actor(sy, hist, tos_names, N(tos_names), 30 * SY_SEC, 120 * SY_SEC,
                      sy_jit(sy, 3 * SY_SEC, 10 * SY_SEC)))
        e = -1;
    if (!sy_historian_actor(sy, scada, hist, sy_jit(sy, 3 * SY_SEC, 5 * SY_SEC))) e = -1;
    return e;
}

/* The HMI polls every controller; scripted: sts-crane02's firmware update, tank-plc01's
 * exception, straddle carriers roaming between access points. */
static int build_polling(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *scada = sy_dev_of(m, SY_K_SCADA, 0);
    static const uint8_t kinds[] = {SY_K_CRANE_PLC, SY_K_STRADDLE, SY_K_TANK_PLC, SY_K_GAUGE};
    int e = 0;
    for (size_t k = 0; k < sizeof kinds; k++) {
        for (size_t i = 0; i < m->kind[kinds[k]].n && !e; i++) {
            struct sy_dev *d = sy_dev_of(m, kinds[k], i);
            e |= arp(sy, d, NULL, NULL, d->kind == SY_K_STRADDLE, true,
                     sy_jit(sy, 100 * SY_MS, 3 * SY_SEC));
            struct sy_mb_poll_opts o = {
                .start = 5 * SY_SEC + sy_jit(sy, 0, 10 * SY_SEC),
                .maint_close = SY_NEVER,
                .maint_reboot = SY_NEVER,
                .exception_at = SY_NEVER,
                .writes = d->kind != SY_K_GAUGE,
            };
            if (d->kind == SY_K_STRADDLE) o.roam_lo = 150 * SY_SEC, o.roam_hi = 300 * SY_SEC;
            if (d->kind == SY_K_CRANE_PLC && i == 1) {
                o.maint_close = at(sy, EV_FW_CLOSE) + sy_jit(sy, 0, 2 * SY_SEC);
                o.maint_reboot = at(sy, EV_FW_REBOOT) + sy_jit(sy, 0, 2 * SY_SEC);
                d->fw_update_at = at(sy, EV_FW_UPDATE);
            }
            if (d->kind == SY_K_TANK_PLC && i == 0)
                o.exception_at = at(sy, EV_EXCEPTION) + sy_jit(sy, 0, 2 * SY_SEC);
            if (!sy_mb_poll_actor(sy, scada, d, &o)) e = -1;
        }
    }
    return e;
}

static int session(struct sy *sy, struct sy_dev *cli, struct sy_dev *target, const uint8_t *steps,
                   unsigned nsteps, uint64_t start)
{
    struct sy_dev *t[1] = {target};
    struct sy_mb_session_opts o = {
        .start = start,
        .steps = steps,
        .nsteps = nsteps,
        .gap_lo = 1 * SY_SEC,
        .gap_hi = 4 * SY_SEC,
        .targets = t,
        .ntargets = 1,
    };
    return sy_mb_session_actor(sy, cli, &o) ? 0 : -1;
}

static int build_tankfarm(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *ews = sy_dev_of(m, SY_K_EWS, 0);
    int e = arp(sy, ews, NULL, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));

    /* The engineering workstation reads the identity of every tank-farm controller in turn. */
    size_t nt = m->kind[SY_K_TANK_PLC].n + m->kind[SY_K_GAUGE].n;
    struct sy_dev **targets = malloc(nt * sizeof *targets);
    if (!targets) return -1;
    for (size_t i = 0; i < nt; i++)
        targets[i] = i < m->kind[SY_K_TANK_PLC].n
                         ? sy_dev_of(m, SY_K_TANK_PLC, i)
                         : sy_dev_of(m, SY_K_GAUGE, i - m->kind[SY_K_TANK_PLC].n);
    static const uint8_t devid[] = {SY_MB_DEVID};
    struct sy_mb_session_opts o = {
        .start = sy_jit(sy, 20 * SY_SEC, 40 * SY_SEC),
        .steps = devid,
        .nsteps = 1,
        .targets = targets,
        .ntargets = (unsigned)nt,
        .every_lo = 60 * SY_SEC,
        .every_hi = 150 * SY_SEC,
    };
    if (!sy_mb_session_actor(sy, ews, &o)) e = -1;
    free(targets);

    /* Scripted: one write from the tank-farm EWS to a crane controller. */
    static const uint8_t write1[] = {SY_MB_WRITE1};
    e |= session(sy, ews, sy_dev_of(m, SY_K_CRANE_PLC, 0), write1, N(write1),
                 at(sy, EV_EWS_WRITE) + sy_jit(sy, 0, 3 * SY_SEC));

    /* Scripted: an unknown laptop joins the tank-farm VLAN and reads a tank PLC. */
    struct sy_dev *lap = sy_dev_of(m, SY_K_LAPTOP, 0);
    uint64_t t0 = at(sy, EV_LAPTOP) + sy_jit(sy, 0, 3 * SY_SEC);
    static const uint8_t reads[] = {SY_MB_READ_REGS, SY_MB_READ_REGS, SY_MB_READ_COILS,
                                    SY_MB_READ_REGS, SY_MB_READ_REGS, SY_MB_READ_REGS};
    if (!sy_dhcp_actor(sy, lap, "MSFT 5.0", false, t0)) e = -1;
    e |= arp(sy, lap, NULL, NULL, false, true, t0 + 3500 * SY_MS);
    if (!sy_dns_actor(sy, lap, laptop_names, N(laptop_names), 20 * SY_SEC, 60 * SY_SEC,
                      t0 + 4 * SY_SEC))
        e = -1;
    e |= session(sy, lap, sy_dev_of(m, SY_K_TANK_PLC, 0), reads, N(reads),
                 t0 + 8 * SY_SEC + sy_jit(sy, 0, 4 * SY_SEC));
    return e;
}

static int build_remote(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *vpn = sy_dev_of(m, SY_K_VPN_GW, 0), *jump = sy_dev_of(m, SY_K_JUMP, 0);
    struct sy_dev *tech = sy_dev_of(m, SY_K_VPN_CLIENT, 0);
    struct sy_dev *rogue = sy_dev_of(m, SY_K_VPN_CLIENT, 1);
    int e = 0;
    e |= arp(sy, vpn, jump, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));
    e |= arp(sy, jump, vpn, NULL, false, true, sy_jit(sy, 50 * SY_MS, 2 * SY_SEC));

    /* Approved path: VPN -> jump host (SSH) -> crane controller (Modbus reads). */
    uint64_t s0 = at(sy, EV_VENDOR_SSH) + sy_jit(sy, 0, 3 * SY_SEC);
    if (!sy_ssh_actor(sy, tech, jump, s0, at(sy, EV_VENDOR_SSH_LEN))) e = -1;
    static const uint8_t check[] = {SY_MB_DEVID, SY_MB_READ_REGS, SY_MB_READ_REGS,
                                    SY_MB_READ_COILS};
    static const uint8_t verify[] = {SY_MB_DEVID, SY_MB_READ_REGS};
    struct sy_dev *crane2 = sy_dev_of(m, SY_K_CRANE_PLC, 1);
    e |= session(sy, jump, crane2, check, N(check),
                 at(sy, EV_JUMP_READ1) + sy_jit(sy, 0, 3 * SY_SEC));
    e |= session(sy, jump, crane2, verify, N(verify),
                 at(sy, EV_JUMP_READ2) + sy_jit(sy, 0, 3 * SY_SEC));

    /* Scripted: a VPN client goes straight to a crane controller. */
    static const uint8_t direct[] = {SY_MB_DEVID, SY_MB_READ_REGS, SY_MB_READ_REGS,
                                     SY_MB_READ_REGS, SY_MB_READ_COILS, SY_MB_READ_REGS};
    e |= session(sy, rogue, sy_dev_of(m, SY_K_CRANE_PLC, 2), direct, N(direct),
                 at(sy, EV_VENDOR_DIRECT) + sy_jit(sy, 0, 3 * SY_SEC));
    return e;
}

static int build_cctv(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *nvr = sy_dev_of(m, SY_K_NVR, 0);
    int e = arp(sy, nvr, NULL, NULL, false, false, sy_jit(sy, 50 * SY_MS, 1 * SY_SEC));
    for (size_t i = 0; i < m->kind[SY_K_CAMERA].n && !e; i++) {
        struct sy_dev *c = sy_dev_of(m, SY_K_CAMERA, i);
        uint64_t boot = sy_jit(sy, 200 * SY_MS, 5 * SY_SEC);
        e |= arp(sy, c, nvr, NULL, true, false, boot);
        if (!sy_camera_actors(sy, nvr, c, boot + sy_jit(sy, 1 * SY_SEC, 4 * SY_SEC))) e = -1;
    }
    return e;
}

int sy_scenario_build(struct sy *sy)
{
    if (build_corporate(sy) || build_tos(sy) || build_polling(sy) || build_tankfarm(sy) ||
        build_remote(sy) || build_cctv(sy))
        return -1;
    return 0;
}
