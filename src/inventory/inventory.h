/* The asset inventory: addresses grouped into devices, with where every fact came from.
 *
 * Built from the store (what every run has observed, merged across runs), never on the packet
 * path: `qw_inventory_load` reads hosts, IP-to-MAC bindings, identity facts and edges, groups
 * them into assets and derives vendor, identity and roles. See docs/inventory.md.
 *
 * Grouping (build.c):
 *   - A MAC address is one network interface. Every IP that ARP binds to it, and every IP whose
 *     packets it sends, belongs to its asset (several IPs on one NIC, a DHCP address change),
 *     unless the MAC forwards for others.
 *   - A MAC forwards (a router, firewall or VPN gateway) when it sends packets for two or more
 *     IP addresses that it never claims in ARP. Those addresses are hosts behind it: each becomes
 *     an asset of its own, keyed by IP, and is never merged into the router.
 *   - The same MAC on several VLANs is one interface on a trunk: one asset.
 *   - Addresses with no MAC (routed, or captures without a link layer) are assets keyed by IP.
 *   - Assets that report the same serial number or LLDP chassis id are one device with several
 *     NICs and are merged.
 *   - Locally administered MACs (randomised or software-assigned) claim no OUI vendor. */
#ifndef QW_INVENTORY_INVENTORY_H
#define QW_INVENTORY_INVENTORY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QW_INV_VALUE_MAX 128

/* One fact with its provenance: which protocol said it, first and last packet time. */
struct qw_inv_fact {
    char attr[24];
    char value[QW_INV_VALUE_MAX];
    char source[24]; /* protocol name, "oui", "arp" */
    uint64_t first_ns, last_ns, count;
};

struct qw_inv_ip {
    char ip[46];
    uint16_t vlan;
    uint64_t first_ns, last_ns;
    char via[8]; /* how it was tied to the asset: "arp", "flow", "ip" (no MAC) */
};

struct qw_inv_mac {
    uint8_t mac[6];
    bool local; /* locally administered */
    uint16_t vlan; /* the VLAN it was first bound on (0: untagged or unknown) */
    char oui_vendor[QW_INV_VALUE_MAX];
};

struct qw_inv_role {
    const char *role;
    const char *confidence; /* "high", "medium", "low" */
    char evidence[160];
};

/* What an asset serves and uses, from the communication edges. */
struct qw_inv_service {
    char app[24];       /* application protocol, "" when none was recognised */
    uint8_t l4proto;    /* 6 TCP, 17 UDP */
    uint16_t port;      /* server port */
    bool server;        /* the asset serves it (else it is a client of it) */
    uint32_t ops;       /* qw_op bits seen on those edges */
    uint32_t peers;     /* distinct peers */
    uint64_t flows;
};

struct qw_asset {
    char id[64]; /* stable: "mac:aa:bb:cc:dd:ee:ff" or "ip:10.0.0.1" */
    bool forwarder; /* routes, filters or tunnels for addresses behind it */
    struct qw_inv_mac *macs;
    size_t nmacs;
    struct qw_inv_ip *ips;
    size_t nips;
    struct qw_inv_fact *facts; /* identity facts, OUI vendors included (source "oui") */
    size_t nfacts;
    struct qw_inv_service *services;
    size_t nservices;
    struct qw_inv_role roles[6];
    size_t nroles;
    uint64_t first_ns, last_ns;
    uint64_t bytes_sent, bytes_recv;
    /* Current values: the newest fact of each kind (NULL when none), vendor normalised. */
    const char *vendor, *model, *firmware, *serial, *hostname;
    bool vendor_conflict; /* sources name different vendors (all are kept in facts) */
    char vendor_buf[QW_INV_VALUE_MAX];
};

struct qw_inv_ipref {
    char ip[46];
    uint16_t vlan;
    uint32_t asset;
};

struct qw_inventory {
    struct qw_asset *assets;
    size_t nassets;
    struct qw_inv_ipref *by_ip; /* every (ip, vlan) of every asset, sorted: lookups */
    size_t nby_ip;
    uint32_t *by_id;            /* asset indexes sorted by id */
};

/* The asset with this id, or NULL (binary search). */
const struct qw_asset *qw_inventory_find_id(const struct qw_inventory *inv, const char *id);

/* Read the store and build the inventory. False with a message in err on a store error. */
bool qw_inventory_load(struct qw_inventory *inv, sqlite3 *db, char *err, size_t errlen);
void qw_inventory_free(struct qw_inventory *inv);

/* False for addresses that name no device (0.0.0.0, broadcast, multicast). */
bool qw_inventory_is_host_ip(const char *ip);

/* The asset holding an IP (text form), or NULL. `vlan` < 0 matches any VLAN. */
const struct qw_asset *qw_inventory_find_ip(const struct qw_inventory *inv, const char *ip,
                                            int vlan);

/* Communication between assets (edges.c): the store's address-level edges folded onto the
 * assets at each end, one per (client, server, application protocol, transport, port). */
struct qw_inv_edge {
    uint32_t client, server; /* asset indexes */
    char app[24];
    uint8_t l4proto;
    uint16_t port;
    uint64_t flows, pkts, bytes, first_ns, last_ns;
    uint32_t ops;
    uint64_t op_first_ns[15]; /* when each operation class was first seen (0: never) */
};

struct qw_inv_edges {
    struct qw_inv_edge *v;
    size_t n;
};

/* Sorted by client, server, port, transport, protocol. Broadcast/multicast peers are no assets
 * and are left out. False on a store error. */
bool qw_inventory_edges(const struct qw_inventory *inv, sqlite3 *db, struct qw_inv_edges *out);
void qw_inventory_edges_free(struct qw_inv_edges *e);

/* Roles (roles.c): fills a->roles from the rule table. */
void qw_inventory_roles(struct qw_asset *a);
/* The rule table, for docs and --help: one line per rule. */
void qw_inventory_print_rules(void *file);

#endif
