/* Traffic actors: one state machine per conversation, each emitting one frame per firing.
 * Constructors allocate the actor, register it with the scheduler (which then owns it) and
 * return it, or NULL when memory runs out. All allocation happens here, before the run. */
#ifndef QW_SYNTH_ACTORS_H
#define QW_SYNTH_ACTORS_H

#include <stdbool.h>
#include <stdint.h>

#include "synth/emit.h"

/* Allocates a zeroed actor of `size` bytes starting at `start` and registers it. */
void *sy_actor_new(struct sy *sy, size_t size, sy_fire_fn fire, uint64_t start);

/* ---- act_arp.c ---- */
#define SY_ARP_MAX_NB 3 /* the gateway and up to two same-VLAN servers */
/* Resolves the device's neighbours (its gateway, looked up each time, and the same-VLAN servers
 * in nb) at `start` and every few minutes after; on the first round also announces itself
 * (gratuitous ARP) if `garp`, and lets its gateway resolve it if `gw_asks` (the router's first
 * delivery of routed traffic). */
struct sy_actor *sy_arp_actor(struct sy *sy, struct sy_dev *d, struct sy_dev *const *nb,
                              unsigned nnb, bool garp, bool gw_asks, uint64_t start);
/* Scripted: at `at`, `box` (same IP as its zone's gateway, another MAC) announces itself twice,
 * becomes the zone's gateway, and resolves every crane controller. */
struct sy_actor *sy_router_swap_actor(struct sy *sy, struct sy_dev *box, uint64_t at);

/* ---- act_modbus.c ---- */
/* Operations of a scripted Modbus session (resolved against the server's register map). */
enum sy_mb_step {
    SY_MB_READ_REGS,  /* FC3 over the whole holding-register window */
    SY_MB_READ_COILS, /* FC1 over all coils */
    SY_MB_DEVID,      /* FC43/14 regular identification */
    SY_MB_WRITE1,     /* FC6 to a setpoint */
    SY_MB_WRITEN,     /* FC16 over all setpoints */
};

/* The HMI's long-lived polling connection to one controller: FC3 (and FC1 where the device
 * has coils) about once a second, occasional FC6/FC16 setpoint writes. */
struct sy_mb_poll_opts {
    uint64_t start;
    uint64_t roam_lo, roam_hi;   /* >0: the server drops the connection this often (roaming) */
    uint64_t maint_close;        /* SY_NEVER, or when the server closes for a firmware update */
    uint64_t maint_reboot;       /* ... when it is back (gratuitous ARP), then the HMI reconnects */
    uint64_t exception_at;       /* SY_NEVER, or when one request addresses a missing register */
    bool writes;                 /* occasional FC6/FC16 */
};
struct sy_actor *sy_mb_poll_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *srv,
                                  const struct sy_mb_poll_opts *o);

/* A short session: connect, run `steps` spaced gap_lo..gap_hi apart, close. When `targets` has
 * more than one device the session repeats every every_lo..every_hi against the next target. */
struct sy_mb_session_opts {
    uint64_t start;
    const uint8_t *steps; /* enum sy_mb_step */
    unsigned nsteps;
    uint64_t gap_lo, gap_hi;
    struct sy_dev *const *targets;
    unsigned ntargets;
    uint64_t every_lo, every_hi; /* 0: run once */
};
struct sy_actor *sy_mb_session_actor(struct sy *sy, struct sy_dev *cli,
                                     const struct sy_mb_session_opts *o);

/* ---- act_dhcp.c ---- */
/* DHCP client life: DISCOVER/OFFER/REQUEST/ACK at boot (through the router's relay when the
 * client is not on the server's VLAN), ARP probe and announcement, renewals at T1. */
struct sy_actor *sy_dhcp_actor(struct sy *sy, struct sy_dev *c, const char *vendor_class,
                               bool known_client, uint64_t start);
#define SY_DHCP_LEASE_S 600 /* short, so renewals show in a 10-minute capture */

/* ---- act_it.c ---- */
struct sy_dns_name {
    const char *name;
    uint32_t addr; /* 0: NXDOMAIN */
};
struct sy_actor *sy_dns_actor(struct sy *sy, struct sy_dev *c, const struct sy_dns_name *names,
                              unsigned nnames, uint64_t gap_lo, uint64_t gap_hi, uint64_t start);
struct sy_actor *sy_ntp_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *srv, uint64_t start);
/* Short HTTP/1.1 requests from a workstation to the TOS web application servers. */
struct sy_actor *sy_http_actor(struct sy *sy, struct sy_dev *c, uint64_t start);
/* The HMI's keep-alive HTTP connection posting tag batches to the historian every 5 s. */
struct sy_actor *sy_historian_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *hist,
                                    uint64_t start);

/* ---- act_cctv.c ---- */
/* The NVR's RTSP session with one camera (OPTIONS, DESCRIBE, SETUP, PLAY, keep-alives) and the
 * camera's RTP/JPEG stream that the SETUP announces. */
struct sy_actor *sy_camera_actors(struct sy *sy, struct sy_dev *nvr, struct sy_dev *cam,
                                  uint64_t start);

/* ---- act_s7.c ---- */
enum sy_s7_step {
    SY_S7_SZL_MODULE,    /* read SZL 0x0011 (module identification) */
    SY_S7_SZL_COMPONENT, /* read SZL 0x001C (component identification) */
    SY_S7_READ_DB,       /* read variable: 16 octets of the status data block DB1 */
    SY_S7_STOP,          /* PLC STOP (function 0x29); the CPU goes to STOP */
};
#define SY_S7_TSAP_PG 0x0101 /* called TSAP: programming device, rack 0 slot 1 */
#define SY_S7_TSAP_OP 0x0201 /* called TSAP: operator panel / HMI, rack 0 slot 1 */
struct sy_s7_session_opts {
    uint64_t start;
    const uint8_t *steps; /* enum sy_s7_step; must outlive the actor */
    unsigned nsteps;
    uint16_t called_tsap;
    uint64_t gap_lo, gap_hi;     /* between steps */
    uint64_t every_lo, every_hi; /* 0: once; else the session repeats this often */
};
/* An S7comm session (TCP, COTP connect, setup communication, the steps, FIN). */
struct sy_actor *sy_s7_session_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *srv,
                                     const struct sy_s7_session_opts *o);

/* ---- act_dnp3.c ---- */
/* The master's polling connection to a DNP3 outstation (integrity and event polls). */
struct sy_actor *sy_dnp3_master_actor(struct sy *sy, struct sy_dev *master, struct sy_dev *rtu,
                                      uint64_t start);
/* Scripted: a one-off connection sending a cold restart (the outstation then restarts). */
struct sy_actor *sy_dnp3_cold_restart_actor(struct sy *sy, struct sy_dev *cli, struct sy_dev *rtu,
                                            uint64_t start);

/* ---- act_telnet.c ---- */
/* Scripted: a Telnet login with user name and password in clear, one command, exit. */
struct sy_actor *sy_telnet_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                 const char *user, const char *password, uint64_t start);

/* ---- act_scan.c ---- */
/* Scripted: a SYN scan of ports first..last of `s`, in random order. */
struct sy_actor *sy_scan_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                               uint16_t first_port, uint16_t last_port, uint64_t start);

/* ---- act_ssh.c ---- */
/* An interactive SSH session: banners, key exchange, then encrypted keystrokes and output.
 * The server announces server_banner (its identification string with CR LF; NULL: the jump
 * host's OpenSSH). */
#define SY_SSH_BANNER_OPENSSH "SSH-2.0-OpenSSH_7.4\r\n"
#define SY_SSH_BANNER_CISCO "SSH-2.0-Cisco-1.25\r\n" /* IOS and IOS-XE's own server */
struct sy_actor *sy_ssh_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s, uint64_t start,
                              uint64_t duration, const char *server_banner);
/* Scripted: `attempts` (at most SY_GUESS_MAX) SSH logins from `c` to Cisco's server on `s`,
 * each its own connection with one password that fails; the router's syslog actor `log` (from
 * sy_syslog_actor) logs each failure, recorded in sy->guess. Draws from `r` only, and numbers
 * the connections' IP datagrams and ports with counters of its own, so that no other frame
 * moves. */
struct sy_actor *sy_ssh_guess_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                    struct sy_actor *log, uint64_t start, unsigned attempts,
                                    struct sy_rng *r);

/* ---- act_syslog.c ---- */
/* A change the router's log reports (scripted): a vty login by `user` from `from`'s address,
 * then "Configured from console by USER on vty0 (ADDRESS)"; both messages count for event
 * `ev`, the second is the one a detector raises on. */
struct sy_syslog_change {
    uint64_t login_at, config_at;
    const char *user;
    const struct sy_dev *from;
    unsigned ev;
};
#define SY_ITP_ADMIN "itp.mhansen" /* the IT partner's administrator of the scripted change */
/* The router's log to `collector` (RFC 3164 over UDP, Cisco IOS style): routine messages from
 * `start` on, every 60-120 s, and the scripted change when chg is not NULL. Draws from the
 * run's log stream (sy->log_rng). */
struct sy_actor *sy_syslog_actor(struct sy *sy, struct sy_dev *rtr, struct sy_dev *collector,
                                 uint64_t start, const struct sy_syslog_change *chg);
/* Sends now, as the router's next message, %SEC_LOGIN-4-LOGIN_FAILED for a vty login by `user`
 * from `from`'s address on port 22. `log` must come from sy_syslog_actor; draws nothing. */
void sy_syslog_login_failed(struct sy *sy, struct sy_actor *log, const char *user,
                            const struct sy_dev *from);

/* ---- act_openvpn.c ---- */
/* Scripted: an OpenVPN tunnel over TCP 443 from `c` to `s`: hard resets, the control channel's
 * TLS 1.2 handshake with certificates on both sides, then data packets (keepalives, bursts) for
 * `duration`. */
struct sy_actor *sy_openvpn_tcp_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                      uint64_t start, uint64_t duration);
/* A certificate the tunnel's handshake shows (docs/synth.md). */
struct sy_ovpn_cert {
    const char *subject_cn, *subject_o, *issuer_cn, *issuer_o;
    uint64_t not_before, not_after; /* seconds since 1970 */
};
/* The relay's (server) and the box's (client) certificates in a capture that starts at
 * start_unix; the truth file repeats them. */
void sy_openvpn_certs(const struct sy_dev *box, uint64_t start_unix, struct sy_ovpn_cert *server,
                      struct sy_ovpn_cert *client);

#endif
