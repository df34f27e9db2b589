/* Detections: what was seen, turned into findings (docs/detections.md).
 *
 * The engine calls the hooks below as transactions, anomalies and flows complete; rules that
 * need the whole store (baseline changes, unowned assets) run once at the end of a run
 * (qw_detect_finish). A finding is aggregated per (rule, asset, peer): the first occurrence
 * writes an `alert` record to the event log, later ones only raise its count and last time, so
 * a Modbus write repeated every second is one finding with a count, never a flood. Findings go
 * to the store with the batch and keep a state (open, acknowledged, resolved) there. */
#ifndef QW_DETECT_DETECT_H
#define QW_DETECT_DETECT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "flow/flow.h"
#include "output/eventlog.h"
#include "output/syslog.h"
#include "site/model.h"
#include "util/hmap.h"

enum qw_severity {
    QW_SEV_INFO = 0,
    QW_SEV_LOW,
    QW_SEV_MEDIUM,
    QW_SEV_HIGH,
    QW_SEV_CRITICAL,
};
extern const char *const qw_severity_names[5];

/* The catalogue (rules.c): stable names and numeric ids, documented in docs/detections.md. */
enum qw_rule {
    QW_R_ASSET_NEW,
    QW_R_ASSET_GONE,
    QW_R_ASSET_MAC_CHANGED,
    QW_R_ASSET_VENDOR_CHANGED,
    QW_R_ASSET_IDENTITY_CHANGED,
    QW_R_ASSET_ROLE_CHANGED,
    QW_R_COMM_NEW_EDGE,
    QW_R_COMM_NEW_PROTOCOL,
    QW_R_COMM_NEW_OPERATION,
    QW_R_POLICY_CONDUIT,
    QW_R_POLICY_UNKNOWN_ZONE,
    QW_R_POLICY_UNOWNED,
    QW_R_REMOTE_ACCESS,
    QW_R_REMOTE_OUTSIDE_WINDOW,
    QW_R_REMOTE_BYPASS_JUMP,
    QW_R_REMOTE_VPN,
    QW_R_ICS_WRITE,
    QW_R_ICS_PROGRAM,
    QW_R_ICS_CPU_STATE,
    QW_R_ICS_RESTART,
    QW_R_ICS_FIRMWARE,
    QW_R_ICS_CONFIG,
    QW_R_RECON_SCAN,
    QW_R_RECON_ICS_DISCOVERY,
    QW_R_CRED_PLAINTEXT,
    QW_R_PROTO_MALFORMED,
    QW_R_NET_ARP_CONFLICT,
    QW_R_PROTO_WEAK_SECURITY,
    QW_R_REMOTE_UNSANCTIONED_VPN,
    QW_R_NET_CONFIG_CHANGED,
    QW_R_NET_DEVICE_RESTARTED,
    QW_R_CRED_GUESSING,
    QW_R_VULN_AFFECTED,
    QW_R_VULN_POSSIBLY_AFFECTED,
    QW_R_COUNT
};

struct qw_rule_info {
    const char *name;   /* alert.rule, e.g. "ics.cpu_state" */
    uint32_t id;        /* alert.signature_id */
    uint8_t severity;   /* default enum qw_severity */
    const char *category;
    const char *title;  /* one line: what it means */
};
extern const struct qw_rule_info qw_rules[QW_R_COUNT];
/* The rule named `name`, or -1. */
int qw_rule_find(const char *name);

/* A parser anomaly that reports weak or missing security rather than malformed data
 * (proto.weak_security): the severity its finding gets, or -1 when `name` is none. Listed in
 * rules.c; any other name with ".weak_" in it is one too, at low. */
int qw_weakness_severity(const char *anomaly);

struct qw_detect_config {
    const struct qw_site *site;       /* NULL: rules that need the site are off */
    struct qw_eventlog *events;       /* NULL: no alert records */
    struct qw_syslog *syslog;         /* NULL: no syslog delivery */
    uint32_t scan_hosts;              /* recon.scan: distinct hosts probed by one source ... */
    uint32_t scan_ports;              /* ... or distinct ports on one host ... */
    uint64_t scan_window_ns;          /* ... within this window */
};

#define QW_DETECT_SCAN_HOSTS_DEFAULT 16u
#define QW_DETECT_SCAN_PORTS_DEFAULT 24u
#define QW_DETECT_SCAN_WINDOW_DEFAULT (60ull * 1000000000ull)
#define QW_DETECT_MAX_FINDINGS 65536u
#define QW_DETECT_MAX_PROBES 262144u

struct qw_finding_key {
    uint16_t rule;
    uint8_t pad[6];
    struct qw_addr asset, peer; /* peer zero when none */
    char extra[32];             /* distinguishes findings of one rule on one pair (e.g. which
                                   anomaly, which change record) */
};

struct qw_finding {
    uint64_t first_ns, last_ns, count;
    uint64_t flow_id;
    uint8_t severity;
    bool documented;
    bool maintenance;           /* inside the zone's maintenance window */
    char owner[40], actor[40], zone[40], peer_zone[40], change_id[40];
    char asset_id[64], peer_id[64]; /* inventory ids, for store-level rules */
    char message[320];          /* one line for people */
    char evidence[384];         /* JSON object text: the decoded fields that triggered it */
    bool stateful;              /* a state of the store (a change, an unowned asset), not an
                                   event: its count is replaced, not added, run after run */
    bool announced;             /* an earlier run already wrote its alert record */
};

/* Who a flow's client named behind its session, held from the naming to the flow's end; empty
 * strings when it named nobody. */
struct qw_session_user {
    char source[24]; /* "rdp_cookie", "client_certificate", ... */
    char name[64];
};

/* One remote-access or VPN session for the ledger (`quaywatch sessions`). */
struct qw_remote_session {
    struct qw_addr client, server;
    char proto[16];          /* ssh, rdp, vnc, telnet, ..., vpn, or the app of a VPN-pool flow */
    char party[40];          /* who: the change record's party, else the source's owner */
    struct qw_session_user user; /* who the client named behind it (qw_emit_session_user) */
    char target_zone[40];
    bool via_jump_host, in_window, into_target;
    bool to_jump_host;       /* the session ends on a jump host (the approved first hop) */
    uint64_t start_ns, end_ns, pkts, bytes, flow_id;
};

/* Who the network's bookkeeping says uses an address from a moment on, or no more
 * (qw_emit_address_user: RADIUS accounting); the store keeps them, and the ledger names the
 * user for a session its address opened while held (cmd_sessions.c). */
struct qw_address_user {
    struct qw_addr ip;
    char source[24]; /* "radius_accounting", "radius_access" */
    char name[64];
    uint64_t ts_ns;
    bool ended; /* the use stops here */
};

/* Who logged in to a device from which address, as the device's own log says
 * (qw_emit_device_report, QW_REPORT_LOGIN); the store keeps them, and the ledger names the user
 * of a session from that address into that device that began shortly before (cmd_sessions.c). */
struct qw_device_login {
    struct qw_addr device, from;
    char source[40]; /* the vendor's message, "cisco SEC_LOGIN-5-LOGIN_SUCCESS" */
    char name[64];
    uint64_t ts_ns;
};

#define QW_DETECT_MAX_SESSIONS 4096u
/* Address uses held per batch (a store commit empties them); more are counted as dropped */
#define QW_DETECT_MAX_ADDRESS_USERS 4096u
/* Logins devices reported, held per batch */
#define QW_DETECT_MAX_LOGINS 4096u
/* cred.guessing: this many failed logins from one source address to one device, within the
 * window, raise it (docs/detections.md "Credentials and protocol health") */
#define QW_DETECT_GUESS_FAILURES 5u
#define QW_DETECT_GUESS_WINDOW_NS (300ull * 1000000000ull)
/* Failed-login counters kept at once (device, source, channel); when the table is full, the
 * ones whose last failure is older than the window are dropped, then new ones are refused */
#define QW_DETECT_MAX_GUESSERS 16384u
/* Flows open at once whose client has named a user (kept until the flow ends) */
#define QW_DETECT_MAX_SESSION_USERS 16384u

/* A (client, server) pair whose operations the baseline holds as normal. */
struct qw_detect_pair {
    struct qw_addr client, server;
};

/* recon.scan counts connection attempts across flows, and with `--workers` across engines: flow
 * ends log them here and qw_detect_scan_pass counts every engine's log together, in start-time
 * order, so one worker and several give the same findings. What the finding needs of the flow
 * (its addresses, ports, MACs and VLANs) is kept; nothing else of a probe matters. */
struct qw_probe {
    struct qw_flow_key key;
    uint64_t first_ns, id;
    bool client_is_a;
    bool has_mac[2];
    bool seen[2];          /* a packet went that way */
    uint16_t dir_vlan[2];
    uint8_t mac[2][6];
};

#define QW_DETECT_MAX_PROBE_LOG 131072u

struct qw_detector {
    struct qw_detect_config cfg;
    struct qw_hmap normal;   /* qw_detect_pair -> qw_op bits the baseline accepts */
    bool have_baseline;
    struct qw_hmap findings; /* this batch */
    struct qw_hmap probes;   /* recon.scan: (src, dst, port) seen in the current window */
    struct qw_hmap scanners; /* per source: window start, distinct hosts, ports */
    struct qw_hmap alerted;  /* findings already announced by an alert record (all batches) */
    struct qw_hmap users;    /* flow id -> struct qw_session_user, while the flow lasts */
    struct qw_hmap guesses;  /* cred.guessing: recent failed logins per device and source */
    uint64_t guesses_pruned_ns; /* when the full table was last swept (not again for a while) */
    struct qw_remote_session *sessions; /* this batch's finished sessions */
    size_t nsessions;
    struct qw_address_user *address_users; /* this batch's address uses */
    size_t naddress_users;
    struct qw_device_login *logins; /* this batch's logins devices reported */
    size_t nlogins;
    struct qw_probe *probe_log; /* this engine's probes since the last scan pass */
    size_t nprobe_log, probe_log_cap;
    uint64_t scan_epoch_max; /* newest scan window counted (old windows are pruned) */
    uint64_t alerts;         /* alert records written */
    /* records refused at a table's cap: findings, alerted findings, sessions, address uses,
     * logins, session users, probes (qw_engine_limits: detections_refused) */
    uint64_t dropped;
    /* the protocol last asked whether it is industrial, and the answer: transactions come in
     * runs of one protocol, and the site vocabulary is searched by name */
    const struct qw_proto *ics_last;
    bool ics_last_is;
};

bool qw_detect_init(struct qw_detector *d, const struct qw_detect_config *cfg);
void qw_detect_free(struct qw_detector *d);

/* Hooks from the engine. */
void qw_detect_txn(struct qw_detector *d, const struct qw_flow *f, const struct qw_proto *p,
                   const struct qw_txn *t, uint64_t ts_ns);
/* A transaction of a link-layer protocol (PROFINET DCP): no flow, the frame's MACs say who. */
void qw_detect_frame_txn(struct qw_detector *d, const struct qw_packet *pkt,
                         const struct qw_proto *p, const struct qw_txn *t, uint64_t ts_ns);
/* A parser anomaly: about the flow's server, or its client when `about_client` (emit.h), or a
 * link-layer frame's sender when there is no flow. */
void qw_detect_anomaly(struct qw_detector *d, const struct qw_flow *f, const struct qw_packet *pkt,
                       const char *name, const char *detail, bool about_client, uint64_t ts_ns);
void qw_detect_flow_end(struct qw_detector *d, const struct qw_flow *f);
/* The flow's client named who is behind the session (emit.h qw_emit_session_user). */
void qw_detect_session_user(struct qw_detector *d, const struct qw_flow *f, const char *source,
                            const char *value, size_t len);
/* A device reported something of its own (emit.h qw_emit_device_report): net.config_changed or
 * net.device_restarted about the end of `f` that sent the report; a login is kept for the
 * ledger; a failed login counts towards cred.guessing. */
void qw_detect_device_report(struct qw_detector *d, const struct qw_flow *f,
                             const struct qw_proto *p, const struct qw_device_report *c,
                             uint64_t ts_ns);
/* Who uses an address from ts_ns on, or no more (emit.h qw_emit_address_user). */
void qw_detect_address_user(struct qw_detector *d, const struct qw_addr *ip, const char *source,
                            const char *value, size_t len, bool ended, uint64_t ts_ns);

/* Count the probes logged by every detector in `all` (the engines of one run; `into` may be
 * one of them), oldest first, raising recon.scan into `into`; empties the logs. Callers run it
 * when no engine is working: at each store commit and every so many packets. */
void qw_detect_scan_pass(struct qw_detector *into, struct qw_detector *const *all, size_t n);

/* The baseline's operations per address pair (loaded at the start of a run from the store, see
 * qw_detect_load_baseline): ics.write and recon.ics_discovery stay quiet for them. */
void qw_detect_add_normal(struct qw_detector *d, const struct qw_addr *client,
                          const struct qw_addr *server, uint32_t ops);
bool qw_detect_is_normal(const struct qw_detector *d, const struct qw_addr *client,
                         const struct qw_addr *server, uint32_t ops);
bool qw_detect_load_baseline(struct qw_detector *d, sqlite3 *db);

/* Rules over the whole store (baseline changes, unowned assets), at the end of a run, given the
 * store's inventory as it stands after the run's last batch (the caller loads it once and uses
 * it again for learning and the summary). */
struct qw_inventory;
bool qw_detect_finish(struct qw_detector *d, sqlite3 *db, const struct qw_inventory *inv,
                      char *err, size_t errlen);

/* Raise (or count again) a finding; writes the alert record on its first occurrence in this
 * detector's life. `f` may be NULL. */
void qw_detect_raise(struct qw_detector *d, enum qw_rule rule, const struct qw_addr *asset,
                     const struct qw_addr *peer, const char *extra, const struct qw_flow *f,
                     uint64_t ts_ns, const struct qw_finding *proto);

/* Fold this batch's findings and sessions of `n` detectors (one per engine) into the store, in
 * time order (store.c calls it inside the batch transaction). */
bool qw_detect_store(const struct qw_detector *const *d, size_t n, sqlite3 *db);
/* Is this finding already in the store (persist.c)? */
bool qw_detect_known(sqlite3 *db, enum qw_rule rule, const char *asset, const char *peer,
                     const char *extra);
void qw_detect_clear(struct qw_detector *d);

#endif
