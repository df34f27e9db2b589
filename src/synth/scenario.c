/* The terminal's traffic plan; see scenario.h and docs/synth.md.
 *
 * Times are fractions of the run (scripted events) or seconds from the start (boot), always
 * with seeded jitter. Boot order: infrastructure and controllers resolve their gateways in the
 * first seconds, the HMI connects to every controller from 5 s on, workstations boot over the
 * first two minutes through DHCP, cameras come up and the NVR starts pulling their streams. */
#include "synth/scenario.h"

#include <stdlib.h>

#include "synth/actors.h"

/* Scripted events, as fractions of the run (per mille); only with --incidents. */
#define EV_VENDOR_SSH 200        /* vendor connects via VPN to the jump host (25% long) */
#define EV_VENDOR_SSH_LEN 250
#define EV_JUMP_READ1 220        /* ... and from the jump host reads sts-crane02 */
#define EV_FW_CLOSE 330          /* sts-crane02 closes the HMI connection for its update */
#define EV_FW_UPDATE 340         /* ... reports the new firmware revision from here */
#define EV_FW_REBOOT 350         /* ... is back: gratuitous ARP, the HMI reconnects */
#define EV_JUMP_READ2 400        /* the vendor checks the new revision via the jump host */
#define EV_EXCEPTION 450         /* the HMI reads a missing register of tank-plc01 once */
#define EV_ROUTER_SWAP 520       /* the crane router is replaced by another box */
#define EV_CORE_CONFIG 530       /* the IT partner reconfigures the core router over SSH */
#define EV_TANK_FW_READ1 550     /* tank-ews01 reads tank-plc02's identity ... */
#define EV_TANK_FW_CLOSE 560     /* ... tank-plc02 closes the HMI connection ... */
#define EV_TANK_FW_UPDATE 570    /* ... runs new firmware from here ... */
#define EV_TANK_FW_REBOOT 580    /* ... is back ... */
#define EV_TANK_FW_READ2 600     /* ... and tank-ews01 reads the new revision */
#define EV_LAPTOP 620            /* unknown laptop on the tank-farm VLAN */
#define EV_ROUTER_GUESS 640      /* ... guesses the core router's SSH password */
#define EV_SCAN 680              /* ... SYN-scans tank-plc03 */
#define EV_S7_STOP 720           /* ... and stops straddle02's CPU */
#define EV_VENDOR_DIRECT 750     /* VPN client straight to sts-crane03, no jump host */
#define EV_SERVICE_VPN 770       /* the crane vendor's remote-service box dials OpenVPN out ... */
#define EV_SERVICE_VPN_LEN 150   /* ... and keeps the tunnel up this long */
#define EV_TELNET 800            /* tank-ews01 logs into tank-gauge01 over Telnet */
#define EV_EWS_WRITE 850         /* tank-farm engineering workstation writes sts-crane01 */
#define EV_DNP3_RESTART 900      /* tank-ews01 cold-restarts power-rtu01 */

#define SCAN_FIRST_PORT 1
#define SCAN_LAST_PORT 1024

static uint64_t at(const struct sy *sy, unsigned permille)
{
    return sy->end / 1000 * permille;
}

/* Declares who does scripted event `id` to whom and when it is planned. */
static void plan(struct sy *sy, unsigned id, struct sy_dev *src, struct sy_dev *dst,
                 unsigned permille)
{
    sy->ev[id].src = src;
    sy->ev[id].dst = dst;
    sy->ev[id].permille = permille;
}

/* Tags a freshly built actor's frames as part of event `id`; -1 when it is NULL. */
static int tag(struct sy_actor *a, unsigned id)
{
    if (!a) return -1;
    a->ev = id;
    return 0;
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
    return m->ndev * 5 + 128;
}

/* ARP actor resolving the gateway and up to two more neighbours (NULL entries are skipped). */
static struct sy_actor *arp_actor(struct sy *sy, struct sy_dev *d, struct sy_dev *n0,
                                  struct sy_dev *n1, bool garp, bool gw_asks, uint64_t start)
{
    struct sy_dev *nb[SY_ARP_MAX_NB] = {NULL};
    unsigned n = 0;
    if (n0) nb[n++] = n0;
    if (n1) nb[n++] = n1;
    return sy_arp_actor(sy, d, nb, n, garp, gw_asks, start);
}

static int arp(struct sy *sy, struct sy_dev *d, struct sy_dev *n0, struct sy_dev *n1,
               bool garp, bool gw_asks, uint64_t start)
{
    return arp_actor(sy, d, n0, n1, garp, gw_asks, start) ? 0 : -1;
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

/* The HMI polls every controller over Modbus/TCP, checks the straddle carriers over S7comm now
 * and then, and polls the substation RTU over DNP3. Scripted: sts-crane02's documented and
 * tank-plc02's undocumented firmware updates, tank-plc01's exception. Straddle carriers roam
 * between access points, which drops their connections. */
static int build_polling(struct sy *sy)
{
    struct sy_model *m = &sy->m;
    struct sy_dev *scada = sy_dev_of(m, SY_K_SCADA, 0);
    static const uint8_t kinds[] = {SY_K_CRANE_PLC, SY_K_STRADDLE, SY_K_TANK_PLC, SY_K_GAUGE};
    static const uint8_t s7_poll[] = {SY_S7_SZL_MODULE, SY_S7_SZL_COMPONENT, SY_S7_READ_DB};
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
            if (sy->incidents && d->kind == SY_K_CRANE_PLC && i == 1) {
                o.maint_close = at(sy, EV_FW_CLOSE) + sy_jit(sy, 0, 2 * SY_SEC);
                o.maint_reboot = at(sy, EV_FW_REBOOT) + sy_jit(sy, 0, 2 * SY_SEC);
                d->fw_update_at = at(sy, EV_FW_UPDATE);
                d->fw_ev = SY_EV_FW_CRANE;
            }
            if (sy->incidents && d->kind == SY_K_TANK_PLC && i == 1) {
                o.maint_close = at(sy, EV_TANK_FW_CLOSE) + sy_jit(sy, 0, 2 * SY_SEC);
                o.maint_reboot = at(sy, EV_TANK_FW_REBOOT) + sy_jit(sy, 0, 2 * SY_SEC);
                d->fw_update_at = at(sy, EV_TANK_FW_UPDATE);
                d->fw_ev = SY_EV_FW_TANK;
            }
            if (sy->incidents && d->kind == SY_K_TANK_PLC && i == 0) {
                o.exception_at = at(sy, EV_EXCEPTION) + sy_jit(sy, 0, 2 * SY_SEC);
                plan(sy, SY_EV_EXCEPTION, scada, d, EV_EXCEPTION);
            }
            if (!sy_mb_poll_actor(sy, scada, d, &o)) e = -1;
            if (d->kind == SY_K_STRADDLE) {
                struct sy_s7_session_opts so = {
                    .start = sy_jit(sy, 20 * SY_SEC, 60 * SY_SEC),
                    .steps = s7_poll,
                    .nsteps = N(s7_poll),
                    .called_tsap = SY_S7_TSAP_OP,
                    .gap_lo = 2 * SY_MS,
                    .gap_hi = 20 * SY_MS,
                    .every_lo = 45 * SY_SEC,
                    .every_hi = 90 * SY_SEC,
                };
                if (!sy_s7_session_actor(sy, scada, d, &so)) e = -1;
            }
        }
    }
    struct sy_dev *rtu = sy_dev_of(m, SY_K_RTU, 0);
    e |= arp(sy, rtu, NULL, NULL, false, true, sy_jit(sy, 100 * SY_MS, 3 * SY_SEC));
    if (!sy_dnp3_master_actor(sy, scada, rtu, 5 * SY_SEC + sy_jit(sy, 0, 10 * SY_SEC))) e = -1;

    /* The TOS's crane-management module reads each STS crane's positions and load for the
     * berth plan: one short connection every 10-20 s, to the next crane in turn. */
    static const uint8_t cms[] = {SY_MB_READ_REGS};
    struct sy_mb_session_opts o = {
        .start = sy_jit(sy, 10 * SY_SEC, 20 * SY_SEC),
        .steps = cms,
        .nsteps = 1,
        .every_lo = 10 * SY_SEC,
        .every_hi = 20 * SY_SEC,
    };
    size_t nc = m->kind[SY_K_CRANE_PLC].n;
    struct sy_dev **cranes = malloc(nc * sizeof *cranes);
    if (!cranes) return -1;
    for (size_t i = 0; i < nc; i++) cranes[i] = sy_dev_of(m, SY_K_CRANE_PLC, i);
    o.targets = cranes;
    o.ntargets = (unsigned)nc; /* the actor keeps its own copy */
    if (!sy_mb_session_actor(sy, sy_dev_of(m, SY_K_TOS_APP, 0), &o)) e = -1;
    free(cranes);
    return e;
}

static int session(struct sy *sy, struct sy_dev *cli, struct sy_dev *target, const uint8_t *steps,
                   unsigned nsteps, uint64_t start, unsigned ev)
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
    return tag(sy_mb_session_actor(sy, cli, &o), ev);
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
        .every_lo = 30 * SY_SEC, /* at scale 1, every device within the first 7 minutes */
        .every_hi = 75 * SY_SEC,
    };
    if (!sy_mb_session_actor(sy, ews, &o)) e = -1;
    free(targets);

    if (!sy->incidents) return e;

    /* Scripted: one write from the tank-farm EWS to a crane controller. */
    static const uint8_t write1[] = {SY_MB_WRITE1};
    struct sy_dev *crane1 = sy_dev_of(m, SY_K_CRANE_PLC, 0);
    plan(sy, SY_EV_EWS_WRITE, ews, crane1, EV_EWS_WRITE);
    e |= session(sy, ews, crane1, write1, N(write1),
                 at(sy, EV_EWS_WRITE) + sy_jit(sy, 0, 3 * SY_SEC), SY_EV_EWS_WRITE);

    /* Scripted: tank-plc02 gets new firmware, with no change record: the EWS reads its identity
     * before and after (the update itself is in build_polling). */
    static const uint8_t devid1[] = {SY_MB_DEVID};
    struct sy_dev *tank2 = sy_dev_of(m, SY_K_TANK_PLC, 1);
    plan(sy, SY_EV_FW_TANK, ews, tank2, EV_TANK_FW_UPDATE);
    e |= session(sy, ews, tank2, devid1, 1, at(sy, EV_TANK_FW_READ1) + sy_jit(sy, 0, 2 * SY_SEC),
                 SY_EV_FW_TANK);
    e |= session(sy, ews, tank2, devid1, 1, at(sy, EV_TANK_FW_READ2) + sy_jit(sy, 0, 2 * SY_SEC),
                 SY_EV_FW_TANK);

    /* Scripted: the EWS logs into a tank gauge hub's service console over Telnet. */
    struct sy_dev *gauge1 = sy_dev_of(m, SY_K_GAUGE, 0);
    plan(sy, SY_EV_TELNET, ews, gauge1, EV_TELNET);
    if (!sy_telnet_actor(sy, ews, gauge1, "service", "Rosemount2410",
                         at(sy, EV_TELNET) + sy_jit(sy, 0, 3 * SY_SEC)))
        e = -1;

    /* Scripted: the EWS cold-restarts the substation RTU over DNP3; scada01 then clears the
     * RTU's restart indication when it reconnects. */
    struct sy_dev *rtu = sy_dev_of(m, SY_K_RTU, 0);
    plan(sy, SY_EV_DNP3_RESTART, ews, rtu, EV_DNP3_RESTART);
    plan(sy, SY_EV_DNP3_IIN_CLEAR, sy_dev_of(m, SY_K_SCADA, 0), rtu, EV_DNP3_RESTART);
    uint64_t t_restart = at(sy, EV_DNP3_RESTART) + sy_jit(sy, 0, 3 * SY_SEC);
    if (!sy_dnp3_cold_restart_actor(sy, ews, rtu, t_restart)) e = -1;

    /* Scripted: an unknown laptop joins the tank-farm VLAN, reads a tank PLC, SYN-scans
     * another and stops a straddle carrier's CPU. */
    struct sy_dev *lap = sy_dev_of(m, SY_K_LAPTOP, 0);
    struct sy_dev *tank1 = sy_dev_of(m, SY_K_TANK_PLC, 0), *tank3 = sy_dev_of(m, SY_K_TANK_PLC, 2);
    struct sy_dev *straddle2 = sy_dev_of(m, SY_K_STRADDLE, 1);
    plan(sy, SY_EV_LAPTOP, lap, tank1, EV_LAPTOP);
    plan(sy, SY_EV_SCAN, lap, tank3, EV_SCAN);
    plan(sy, SY_EV_S7_STOP, lap, straddle2, EV_S7_STOP);
    uint64_t t0 = at(sy, EV_LAPTOP) + sy_jit(sy, 0, 3 * SY_SEC);
    sy->laptop_up = t0 + 3500 * SY_MS; /* its DHCP is done: see build_guessing */
    static const uint8_t reads[] = {SY_MB_READ_REGS, SY_MB_READ_REGS, SY_MB_READ_COILS,
                                    SY_MB_READ_REGS, SY_MB_READ_REGS, SY_MB_READ_REGS};
    e |= tag(sy_dhcp_actor(sy, lap, "MSFT 5.0", false, t0), SY_EV_LAPTOP);
    e |= tag(arp_actor(sy, lap, NULL, NULL, false, true, t0 + 3500 * SY_MS), SY_EV_LAPTOP);
    e |= tag(sy_dns_actor(sy, lap, laptop_names, N(laptop_names), 20 * SY_SEC, 60 * SY_SEC,
                          t0 + 4 * SY_SEC),
             SY_EV_LAPTOP);
    e |= session(sy, lap, tank1, reads, N(reads), t0 + 8 * SY_SEC + sy_jit(sy, 0, 4 * SY_SEC),
                 SY_EV_LAPTOP);
    if (!sy_scan_actor(sy, lap, tank3, SCAN_FIRST_PORT, SCAN_LAST_PORT,
                       at(sy, EV_SCAN) + sy_jit(sy, 0, 3 * SY_SEC)))
        e = -1;
    static const uint8_t stop[] = {SY_S7_SZL_MODULE, SY_S7_STOP};
    struct sy_s7_session_opts so = {
        .start = at(sy, EV_S7_STOP) + sy_jit(sy, 0, 3 * SY_SEC),
        .steps = stop,
        .nsteps = N(stop),
        .called_tsap = SY_S7_TSAP_PG,
        .gap_lo = 300 * SY_MS,
        .gap_hi = 1500 * SY_MS,
    };
    e |= tag(sy_s7_session_actor(sy, lap, straddle2, &so), SY_EV_S7_STOP);
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

    if (!sy->incidents) return e;

    /* Approved path: VPN -> jump host (SSH) -> crane controller (Modbus reads). */
    struct sy_dev *crane2 = sy_dev_of(m, SY_K_CRANE_PLC, 1);
    plan(sy, SY_EV_VENDOR_SSH, tech, jump, EV_VENDOR_SSH);
    plan(sy, SY_EV_JUMP_READ, jump, crane2, EV_JUMP_READ1);
    plan(sy, SY_EV_FW_CRANE, jump, crane2, EV_FW_UPDATE);
    uint64_t s0 = at(sy, EV_VENDOR_SSH) + sy_jit(sy, 0, 3 * SY_SEC);
    e |= tag(sy_ssh_actor(sy, tech, jump, s0, at(sy, EV_VENDOR_SSH_LEN), NULL), SY_EV_VENDOR_SSH);
    static const uint8_t check[] = {SY_MB_DEVID, SY_MB_READ_REGS, SY_MB_READ_REGS,
                                    SY_MB_READ_COILS};
    static const uint8_t verify[] = {SY_MB_DEVID, SY_MB_READ_REGS};
    e |= session(sy, jump, crane2, check, N(check),
                 at(sy, EV_JUMP_READ1) + sy_jit(sy, 0, 3 * SY_SEC), SY_EV_JUMP_READ);
    e |= session(sy, jump, crane2, verify, N(verify),
                 at(sy, EV_JUMP_READ2) + sy_jit(sy, 0, 3 * SY_SEC), SY_EV_JUMP_READ);

    /* Scripted: a VPN client goes straight to a crane controller. */
    static const uint8_t direct[] = {SY_MB_DEVID, SY_MB_READ_REGS, SY_MB_READ_REGS,
                                     SY_MB_READ_REGS, SY_MB_READ_COILS, SY_MB_READ_REGS};
    struct sy_dev *crane3 = sy_dev_of(m, SY_K_CRANE_PLC, 2);
    plan(sy, SY_EV_VENDOR_DIRECT, rogue, crane3, EV_VENDOR_DIRECT);
    e |= session(sy, rogue, crane3, direct, N(direct),
                 at(sy, EV_VENDOR_DIRECT) + sy_jit(sy, 0, 3 * SY_SEC), SY_EV_VENDOR_DIRECT);

    /* Scripted: the crane vendor's remote-service box, fitted without telling anyone, comes up
     * on the crane VLAN and dials its relay on the internet over OpenVPN on TCP 443. */
    struct sy_dev *rsb = sy_dev_of(m, SY_K_SERVICE_BOX, 0), *relay = sy_dev_of(m, SY_K_OUTSIDE, 0);
    plan(sy, SY_EV_SERVICE_VPN, rsb, relay, EV_SERVICE_VPN);
    uint64_t v0 = at(sy, EV_SERVICE_VPN) + sy_jit(sy, 0, 3 * SY_SEC);
    e |= tag(arp_actor(sy, rsb, NULL, NULL, true, false, v0), SY_EV_SERVICE_VPN);
    e |= tag(sy_openvpn_tcp_actor(sy, rsb, relay, v0 + sy_jit(sy, 2 * SY_SEC, 4 * SY_SEC),
                                  at(sy, EV_SERVICE_VPN_LEN)),
             SY_EV_SERVICE_VPN);

    /* Scripted: the crane router is swapped for another box answering for 10.30.0.1. */
    struct sy_dev *old_rtr = sy_dev_of(m, SY_K_CRANE_ROUTER, 0);
    struct sy_dev *new_rtr = sy_dev_of(m, SY_K_CRANE_ROUTER, 1);
    plan(sy, SY_EV_ROUTER_SWAP, new_rtr, old_rtr, EV_ROUTER_SWAP);
    if (!sy_router_swap_actor(sy, new_rtr, at(sy, EV_ROUTER_SWAP) + sy_jit(sy, 0, 3 * SY_SEC)))
        e = -1;
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

/* The core router logs to the historian, which collects the site's syslog, from its interface
 * on the TOS VLAN (`logging source-interface`), so the messages need no conduit. Scripted: the
 * IT partner, having swapped the crane router, also reconfigures the core router, with no
 * change record: an SSH session from a corporate workstation to the router's address on that
 * VLAN, and the router's own log saying who changed its configuration from where.
 *
 * Built last, and drawing from the log stream only (sy->log_rng): the actors before keep their
 * indices and the main stream its draws, so the rest of the capture is frame for frame what it
 * was without the log. */
static int build_logging(struct sy *sy, struct sy_actor **log)
{
    struct sy_model *m = &sy->m;
    struct sy_rng *r = &sy->log_rng;
    struct sy_dev *rtr_log = m->gw[SY_Z_TOS], *hist = sy_dev_of(m, SY_K_HISTORIAN, 0);
    uint64_t first = sy_range(r, 5 * SY_SEC, 40 * SY_SEC); /* learnt within the first 110 s */
    if (!sy->incidents) return (*log = sy_syslog_actor(sy, rtr_log, hist, first, NULL)) ? 0 : -1;

    struct sy_dev *ws = sy_dev_of(m, SY_K_WORKSTATION, 2), *rtr_corp = m->gw[SY_Z_CORP];
    plan(sy, SY_EV_CORE_CONFIG, ws, rtr_corp, EV_CORE_CONFIG);
    uint64_t s0 = at(sy, EV_CORE_CONFIG) + sy_range(r, 0, 3 * SY_SEC);
    struct sy_syslog_change chg = {
        .login_at = s0 + sy_range(r, 2 * SY_SEC, 4 * SY_SEC), /* after the key exchange */
        .config_at = s0 + sy_range(r, 15 * SY_SEC, 25 * SY_SEC), /* a few lines typed, `end` */
        .user = SY_ITP_ADMIN,
        .from = ws,
        .ev = SY_EV_CORE_CONFIG,
    };
    if (!(*log = sy_syslog_actor(sy, rtr_log, hist, first, &chg))) return -1;
    /* the session outlasts the change by a few seconds: `show run`, `exit` */
    struct sy_actor *ssh = sy_ssh_actor(sy, ws, rtr_corp, s0, 30 * SY_SEC, SY_SSH_BANNER_CISCO);
    if (!ssh) return -1;
    ssh->rng = r;
    return tag(ssh, SY_EV_CORE_CONFIG);
}

/* Scripted: the unknown laptop, between its Modbus reads and its port scan, tries default
 * passwords on the SSH server of its gateway, the core router (10.40.0.1), one connection per
 * try; the router logs each failure to historian01 from its TOS address (`log`).
 *
 * Built after the log, and drawing from a stream of its own (sy->guess_rng), with IP
 * identification and port counters of its own (act_ssh.c): every other frame of the capture
 * stays what it was, apart from the router's log messages after the first failure, whose
 * sequence numbers and IP identification count on from the failures'. */
static int build_guessing(struct sy *sy, struct sy_actor *log)
{
    if (!sy->incidents) return 0;
    struct sy_model *m = &sy->m;
    struct sy_rng *r = &sy->guess_rng;
    struct sy_dev *lap = sy_dev_of(m, SY_K_LAPTOP, 0), *rtr = m->gw[lap->zone];
    plan(sy, SY_EV_ROUTER_GUESS, lap, rtr, EV_ROUTER_GUESS);
    uint64_t s0 = at(sy, EV_ROUTER_GUESS) + sy_range(r, 0, 2 * SY_SEC);
    /* in a short run the fractions crowd together: never before the laptop has its address */
    if (sy->laptop_up != SY_NEVER && s0 < sy->laptop_up + 1 * SY_SEC)
        s0 = sy->laptop_up + 1 * SY_SEC;
    unsigned attempts = (unsigned)sy_range(r, 6, 7);
    return tag(sy_ssh_guess_actor(sy, lap, rtr, log, s0, attempts, r), SY_EV_ROUTER_GUESS);
}

int sy_scenario_build(struct sy *sy)
{
    struct sy_actor *log = NULL;
    if (build_corporate(sy) || build_tos(sy) || build_polling(sy) || build_tankfarm(sy) ||
        build_remote(sy) || build_cctv(sy) || build_logging(sy, &log) || build_guessing(sy, log))
        return -1;
    return 0;
}
