/* The site model: what the operator declares about a site in the site file (YAML), as
 * documented in docs/site-file.md. Parties, zones (by CIDR and/or VLAN), conduits between zones,
 * declared assets, the contractual software modules, approved change records and the rules of
 * remote access.
 *
 * A site is loaded once (load.c), checked as a whole (validate.c) and then only read: the
 * lookups (lookup.c) are what analysis calls per flow, and none of them allocates. Every string
 * and array of a loaded site lives in one arena freed by qw_site_free(). A site file with any
 * error gives no model at all, only the list of errors. */
#ifndef QW_SITE_MODEL_H
#define QW_SITE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/packet.h" /* struct qw_addr: IPv4 kept IPv4-mapped */

/* ---- limits ------------------------------------------------------------------------------- */

#define QW_SITE_FILE_MAX (16u << 20) /* bytes of YAML read: a large terminal is well under 1 MiB */
#define QW_SITE_MAX_ERRORS 50        /* errors kept; the checker stops looking after that */
#define QW_SITE_ERR_MSG 320          /* one message, without the FILE:LINE:COL prefix */
#define QW_SITE_ID_MAX 63            /* ids, names, roles: 1..63 characters of [A-Za-z0-9._-] */
#define QW_SITE_TEXT_MAX 500         /* free text: site name, party name, contact, titles */
#define QW_SITE_LIST_MAX 100000      /* entries of any one list (zones, assets, cidrs, ...) */

/* ---- errors ------------------------------------------------------------------------------- */

struct qw_site_error {
    uint32_t line, col; /* 1-based; line 0 means the message is about the whole file */
    char msg[QW_SITE_ERR_MSG];
};

/* What a load found wrong, sorted by position once the load returns. */
struct qw_site_errors {
    const char *file; /* the name used in messages */
    size_t n;         /* kept in e[] */
    bool truncated;   /* the list is full (QW_SITE_MAX_ERRORS): the checker stopped there */
    struct qw_site_error e[QW_SITE_MAX_ERRORS];
};

/* "FILE:LINE:COL: message" (or "FILE: message") of error i into buf; returns its length. */
size_t qw_site_error_format(const struct qw_site_errors *e, size_t i, char *buf, size_t len);
/* Every error, one line each, then a line saying the list was cut if it was. */
void qw_site_errors_print(const struct qw_site_errors *e, FILE *out);

/* ---- the model ---------------------------------------------------------------------------- */

struct qw_tz; /* a time zone from the system database (tz.h) */

struct qw_site_pos {
    uint32_t line, col; /* where the entry starts in the file, 1-based */
};

struct qw_site_party {
    const char *id, *name, *contact; /* contact may be NULL */
    struct qw_site_pos pos;
    uint32_t index;
};

/* An address block; IPv4 blocks are stored IPv4-mapped, so lo..hi is one 128-bit range. */
struct qw_site_cidr {
    struct qw_addr lo, hi;
    uint8_t prefix; /* as written: 0..32 for IPv4, 0..128 for IPv6 */
    bool v4;
    struct qw_site_pos pos;
};

/* A weekly window in a time zone: on the listed days, from start to end (local time). */
struct qw_site_window {
    uint8_t days;               /* bit d = day d, 0 Sunday .. 6 Saturday (struct tm's tm_wday) */
    uint16_t start_min, end_min; /* minutes after local midnight; start < end <= 1440 */
    const struct qw_tz *tz;
    struct qw_site_pos pos;
};

struct qw_site_zone {
    const char *id, *name;          /* name may be NULL */
    const struct qw_site_cidr *cidrs;
    uint32_t ncidrs;
    const uint16_t *vlans;
    uint32_t nvlans;
    const struct qw_site_party *owner; /* NULL: not declared */
    uint8_t security_level;            /* IEC 62443 target level, 1..4 */
    int8_t function;                   /* index in qw_site_function_names, -1 none */
    const struct qw_site_window *maintenance;
    uint32_t nmaintenance;
    struct qw_site_pos pos;
    uint32_t index;
};

/* Operation classes of conduit `operations`. Parsers tag every transaction with enum qw_op bits
 * (engine/emit.h); qw_site_opclasses_of() folds those into these classes. */
enum qw_site_opclass {
    QW_OPC_READ = 1u << 0,
    QW_OPC_WRITE = 1u << 1,
    QW_OPC_PROGRAM = 1u << 2,
    QW_OPC_CONTROL = 1u << 3,
    QW_OPC_CONFIG = 1u << 4,
    QW_OPC_DIAGNOSTIC = 1u << 5,
};
#define QW_OPC_COUNT 6
#define QW_OPC_ALL 0x3fu

/* One entry of a conduit's `allow` list. */
enum qw_site_allow_kind {
    QW_ALLOW_ANY,       /* any */
    QW_ALLOW_TRANSPORT, /* tcp[/PORTS], udp[/PORTS], icmp, ip/N */
    QW_ALLOW_APP,       /* an application protocol, e.g. modbus[/PORTS] */
};

struct qw_site_allow {
    uint8_t kind;      /* enum qw_site_allow_kind */
    uint8_t ipproto;   /* TRANSPORT: 6 tcp, 17 udp, 1 icmp (ICMPv6 too), or N of ip/N */
    int16_t app;       /* APP: protocol index (qw_site_proto_name) */
    uint16_t port_lo, port_hi; /* server ports; 0..65535 when none was written */
    const char *text;  /* as written */
};

struct qw_site_conduit {
    const struct qw_site_zone *from, *to; /* from = the zone of the side that opens the flow */
    const struct qw_site_allow *allow;
    uint32_t nallow;
    uint32_t opclasses;  /* allowed enum qw_site_opclass bits; QW_OPC_ALL without `operations` */
    bool has_operations;
    const struct qw_site_party *owner; /* may be NULL */
    const char *description;           /* may be NULL */
    struct qw_site_pos pos;
    uint32_t index;
};

enum qw_site_match { QW_MATCH_IP, QW_MATCH_MAC, QW_MATCH_NAME };
enum qw_site_criticality { QW_CRIT_LOW = 1, QW_CRIT_MEDIUM, QW_CRIT_HIGH, QW_CRIT_CRITICAL };

struct qw_site_asset {
    uint8_t match;        /* enum qw_site_match: which of ip, mac, hostname identifies it */
    struct qw_addr ip;
    uint8_t mac[6];
    const char *hostname; /* QW_MATCH_NAME: the name the device gives itself (DHCP, DNS, ...) */
    const char *name;     /* the declared name, unique, referenced as asset:NAME */
    const struct qw_site_party *owner; /* may be NULL */
    uint8_t criticality;  /* enum qw_site_criticality; medium when not written */
    int8_t function;      /* index in qw_site_function_names, -1 none */
    const char *role;     /* may be NULL */
    const char *description;
    struct qw_site_pos pos;
    uint32_t index;
};

/* A selector of modules' runs_on and changes' scope. */
enum qw_site_sel_kind { QW_SEL_ROLE, QW_SEL_ZONE, QW_SEL_ASSET };

struct qw_site_selector {
    uint8_t kind; /* enum qw_site_sel_kind */
    const char *role;
    const struct qw_site_zone *zone;
    const struct qw_site_asset *asset;
};

struct qw_site_module {
    const char *name, *description;
    const struct qw_site_party *owner;
    const struct qw_site_selector *runs_on;
    uint32_t nruns_on;
    uint8_t kinds; /* bit (1 << enum qw_site_sel_kind) for each kind of selector present */
    struct qw_site_pos pos;
    uint32_t index;
};

/* Change kinds a change record may `expect`; the detections of the same names use them. */
enum qw_site_change_kind {
    QW_CHG_ASSET_NEW = 1u << 0,
    QW_CHG_ASSET_GONE = 1u << 1,
    QW_CHG_ASSET_MAC_CHANGED = 1u << 2,
    QW_CHG_ASSET_VENDOR_CHANGED = 1u << 3,
    QW_CHG_ASSET_IDENTITY_CHANGED = 1u << 4,
    QW_CHG_ASSET_ROLE_CHANGED = 1u << 5,
    QW_CHG_COMM_NEW_EDGE = 1u << 6,
    QW_CHG_COMM_NEW_PROTOCOL = 1u << 7,
    QW_CHG_COMM_NEW_OPERATION = 1u << 8,
};
#define QW_CHG_COUNT 9

struct qw_site_change {
    const char *id, *title; /* title may be NULL */
    const struct qw_site_party *by;
    int64_t start_ns, end_ns; /* ns since the epoch, start < end; the window includes both */
    const struct qw_site_selector *scope; /* QW_SEL_ZONE or QW_SEL_ASSET */
    uint32_t nscope;
    uint32_t expect; /* enum qw_site_change_kind bits */
    struct qw_site_pos pos;
    uint32_t index;
};

struct qw_site_jump_host {
    bool by_asset;        /* written as an asset name */
    struct qw_addr ip;    /* !by_asset, or the asset is matched by IP */
    const struct qw_site_asset *asset;
};

struct qw_site_remote {
    bool declared; /* the file has a remote_access section */
    const struct qw_site_jump_host *jump_hosts;
    uint32_t njump_hosts;
    const struct qw_site_cidr *vpn_pools;
    uint32_t nvpn_pools;
    const struct qw_site_window *windows; /* none: no time restriction */
    uint32_t nwindows;
    const struct qw_site_party *const *parties;
    uint32_t nparties;
    const struct qw_site_zone *const *zones; /* target zones */
    uint32_t nzones;
    struct qw_site_pos pos;
};

struct qw_site_index; /* lookup tables (index.c) */
struct qw_site_arena;

struct qw_site {
    const char *file, *name;
    const struct qw_site_party *default_owner; /* may be NULL */
    const struct qw_tz *timezone;              /* default of windows; UTC when not written */
    const struct qw_site_party *parties;
    uint32_t nparties;
    const struct qw_site_zone *zones;
    uint32_t nzones;
    const struct qw_site_conduit *conduits;
    uint32_t nconduits;
    const struct qw_site_asset *assets;
    uint32_t nassets;
    const struct qw_site_module *modules;
    uint32_t nmodules;
    const struct qw_site_change *changes;
    uint32_t nchanges;
    struct qw_site_remote remote;
    struct qw_site_index *index;
    struct qw_site_arena *arena;
};

/* ---- loading ------------------------------------------------------------------------------ */

struct qw_site_load_opts {
    const char *tzdir; /* time-zone database; NULL: $TZDIR, else /usr/share/zoneinfo */
};

/* Read, parse and check a site file. Returns the model, or NULL with the errors in *err (which
 * the call fills in whole; opts may be NULL). */
struct qw_site *qw_site_load_file(const char *path, const struct qw_site_load_opts *opts,
                                  struct qw_site_errors *err);
/* The same from a buffer (need not be NUL-terminated); `name` is used in messages. */
struct qw_site *qw_site_load_buffer(const char *name, const char *buf, size_t len,
                                    const struct qw_site_load_opts *opts,
                                    struct qw_site_errors *err);
void qw_site_free(struct qw_site *s);

/* ---- lookups (lookup.c): no allocation, safe to call per flow ----------------------------- */

const struct qw_site_party *qw_site_party_by_id(const struct qw_site *s, const char *id);
const struct qw_site_zone *qw_site_zone_by_id(const struct qw_site *s, const char *id);

enum qw_site_zone_rule { QW_ZONE_NONE, QW_ZONE_BY_CIDR, QW_ZONE_BY_VLAN };

/* The zone of a host seen with address `ip` (NULL: none) on VLAN `vlan` (0: untagged). The CIDR
 * that contains the address decides (zones never overlap, so it is also the longest prefix);
 * only an address in no zone's CIDRs falls back to the zone that lists the VLAN. `rule` (may be
 * NULL) says which decided. */
const struct qw_site_zone *qw_site_zone_of(const struct qw_site *s, const struct qw_addr *ip,
                                           uint16_t vlan, enum qw_site_zone_rule *rule);

/* Declared assets by what identifies them. Hostnames compare case-insensitively. */
const struct qw_site_asset *qw_site_asset_by_ip(const struct qw_site *s, const struct qw_addr *ip);
const struct qw_site_asset *qw_site_asset_by_mac(const struct qw_site *s, const uint8_t mac[6]);
const struct qw_site_asset *qw_site_asset_by_hostname(const struct qw_site *s, const char *host);
const struct qw_site_asset *qw_site_asset_by_name(const struct qw_site *s, const char *name);

/* A host as analysis knows it; any member may be absent (NULL or 0). */
struct qw_site_host {
    const struct qw_addr *ip;
    const uint8_t *mac;       /* 6 bytes */
    uint16_t vlan;
    const char *hostname;
    const char *const *roles; /* roles inferred from traffic */
    size_t nroles;
};

/* The declared asset a host is: by IP, else MAC, else hostname. */
const struct qw_site_asset *qw_site_asset_of(const struct qw_site *s, const struct qw_site_host *h);

enum qw_site_owner_rule {
    QW_OWNER_NONE,    /* nobody: no rule applies and the site has no default_owner */
    QW_OWNER_ASSET,   /* the declared asset's owner */
    QW_OWNER_MODULE,  /* the owner of a module whose runs_on matches the host */
    QW_OWNER_ZONE,    /* the owner of the host's zone */
    QW_OWNER_DEFAULT, /* the site's default_owner */
};

struct qw_site_owner {
    const struct qw_site_party *party;       /* NULL with QW_OWNER_NONE */
    enum qw_site_owner_rule rule;
    const struct qw_site_asset *asset;       /* the declared asset, if any (whatever the rule) */
    const struct qw_site_module *module;     /* QW_OWNER_MODULE */
    const struct qw_site_zone *zone;         /* the host's zone, if any */
};

/* Who answers for a host: the declared asset's owner, then the most specific module that runs
 * on it, then its zone's owner, then the site default. */
struct qw_site_owner qw_site_owner_of(const struct qw_site *s, const struct qw_site_host *h);
const char *qw_site_owner_rule_name(enum qw_site_owner_rule r);

/* Does a module's runs_on select this host (asset and zone as found for it, may be NULL)? */
bool qw_site_module_matches(const struct qw_site_module *m, const struct qw_site_host *h,
                            const struct qw_site_asset *asset, const struct qw_site_zone *zone);

/* A flow between two zones, as the conduit check sees it. */
struct qw_site_flow {
    const struct qw_site_zone *from, *to; /* zones of the client and the server; NULL: none */
    uint8_t ipproto;                      /* 6 TCP, 17 UDP, 1/58 ICMP, ... */
    uint16_t port;                        /* server port (0 for protocols without ports) */
    const char *app;                      /* identified application protocol, NULL: none */
    uint32_t ops;                         /* enum qw_op bits seen (engine/emit.h) */
};

enum qw_site_verdict {
    QW_CONDUIT_SAME_ZONE,  /* both ends in one zone: conduits do not apply */
    QW_CONDUIT_ALLOWED,    /* a conduit allows the protocol, port and every operation class */
    QW_CONDUIT_UNZONED,    /* an end is in no zone: conduits cannot decide */
    QW_CONDUIT_NO_CONDUIT, /* no conduit joins the two zones in this direction */
    QW_CONDUIT_PROTOCOL,   /* conduits exist, none allows this protocol/port */
    QW_CONDUIT_OPERATION,  /* the protocol is allowed, some operation classes are not */
};

struct qw_site_decision {
    enum qw_site_verdict verdict;
    const struct qw_site_conduit *conduit; /* ALLOWED, OPERATION: the first conduit that
                                              allows the protocol; PROTOCOL: the first conduit
                                              between the zones */
    const struct qw_site_allow *entry;     /* the allow entry that matched, if any */
    uint32_t denied;        /* OPERATION: the enum qw_site_opclass bits no conduit allows */
    bool app_unverified;    /* matched an application entry by port alone: the flow's
                               protocol was not identified */
};

struct qw_site_decision qw_site_conduit_check(const struct qw_site *s,
                                              const struct qw_site_flow *f);
const char *qw_site_verdict_name(enum qw_site_verdict v);

/* Change records whose window contains t_ns and whose scope covers the zone or the asset (either
 * may be NULL), restricted to those expecting one of `kinds` (0: any). Writes up to `max` of
 * them to out in file order; returns how many there are in all. */
size_t qw_site_changes_active(const struct qw_site *s, uint64_t t_ns,
                              const struct qw_site_zone *zone, const struct qw_site_asset *asset,
                              uint32_t kinds, const struct qw_site_change **out, size_t max);

/* Is the time inside the weekly window (in the window's time zone)? */
bool qw_site_window_contains(const struct qw_site_window *w, uint64_t t_ns);
/* Inside one of the zone's maintenance windows? (false when it has none) */
bool qw_site_in_maintenance(const struct qw_site_zone *z, uint64_t t_ns);
/* Inside one of remote_access's windows? (true when it lists none: no time restriction) */
bool qw_site_remote_window_open(const struct qw_site *s, uint64_t t_ns);
bool qw_site_is_jump_host(const struct qw_site *s, const struct qw_site_host *h);
bool qw_site_in_vpn_pool(const struct qw_site *s, const struct qw_addr *ip);
bool qw_site_remote_target(const struct qw_site *s, const struct qw_site_zone *z);
bool qw_site_remote_party(const struct qw_site *s, const struct qw_site_party *p);

/* ---- vocabularies (vocab.c) --------------------------------------------------------------- */

extern const char *const qw_site_function_names[];
extern const size_t qw_site_function_count;
extern const char *const qw_site_opclass_names[QW_OPC_COUNT];
extern const char *const qw_site_change_kind_names[QW_CHG_COUNT];
extern const char *const qw_site_criticality_names[5]; /* [0] unused */

/* enum qw_op bits -> enum qw_site_opclass bits. Session and authentication steps belong to no
 * class. */
uint32_t qw_site_opclasses_of(uint32_t qw_ops);

/* Application protocols known to the site file: the built-in list and every registered parser.
 * Index -1: unknown. */
int qw_site_proto_find(const char *name);
const char *qw_site_proto_name(int index);
/* Does the protocol carry operation classes worth a conduit's `operations` and the ics.*
 * detections (Modbus, S7, DNP3...), as opposed to IT protocols (HTTP, SNMP, FTP, ARP...)? */
bool qw_site_proto_industrial(int index);

#endif
