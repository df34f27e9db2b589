/* What analysis keeps from the traffic between two store batches: hosts, communication edges,
 * traffic per application protocol and per link-layer protocol, identity facts and anomaly
 * counts. Every table is bounded; past a cap, updates are refused and counted (each map's
 * `refused`). Two caps are set (struct qw_obs_caps), the others follow them: identities and
 * MAC identities a quarter of the host cap, bindings the host cap, edge operations a quarter
 * of the edge cap. The store folds these deltas in (store.c) and the tables are cleared for
 * the next batch. */
#ifndef QW_ANALYSIS_OBSERVE_H
#define QW_ANALYSIS_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/packet.h"
#include "flow/flow.h"
#include "util/hmap.h"

#define QW_OBS_MAX_HOSTS 262144u   /* default host (asset) cap per batch */
#define QW_OBS_MAX_EDGES 1048576u  /* default edge cap per batch */
#define QW_OBS_MAX_ANOMALY_KINDS 4096u
#define QW_OBS_ATTR_MAX 24
#define QW_OBS_VALUE_MAX 120

struct qw_host_key {
    uint16_t vlan;
    uint8_t pad[6];
    struct qw_addr ip;
};

struct qw_host_val {
    uint8_t mac[6];
    bool has_mac;
    uint64_t mac_ns; /* packet time of the observation that gave `mac`: the newest wins, whatever
                        order flows end in (engines of several workers end them differently) */
    uint64_t first_ns, last_ns;
    uint64_t pkts_sent, bytes_sent, pkts_recv, bytes_recv;
    uint64_t flows_client, flows_server;
};

struct qw_edge_key {
    uint16_t vlan;
    uint8_t l4proto;
    uint8_t pad;
    uint16_t server_port;
    int16_t app; /* index in qw_protocols, -1 none */
    struct qw_addr client, server;
};

struct qw_edge_val {
    uint64_t flows, pkts, bytes, first_ns, last_ns;
    uint32_t ops;
};

/* One operation class seen on one edge: when it was first and last used, how often. The
 * baseline types a new operation on a known edge with this time (docs/baseline.md). */
struct qw_edge_op_key {
    struct qw_edge_key edge;
    uint8_t op; /* bit number in enum qw_op */
    uint8_t pad[7];
};

struct qw_edge_op_val {
    uint64_t first_ns, last_ns, count;
};

/* The source parser is part of the key, as it is of the store's row: the same value learnt
 * from DHCP and from ARP is two facts, however the packets are spread over engines. */
struct qw_ident_key {
    struct qw_host_key host;
    int16_t app;
    char attr[QW_OBS_ATTR_MAX];
    char value[QW_OBS_VALUE_MAX];
};

struct qw_ident_val {
    uint64_t first_ns, last_ns, count;
    int16_t app; /* the key's, for the readers of values */
};

/* An identity fact learnt from a link-layer frame (PROFINET DCP, LLDP...): about a MAC on a
 * VLAN, with no IP address to hang it on. */
struct qw_mac_ident_key {
    uint16_t vlan;
    uint8_t mac[6];
    int16_t app;
    char attr[QW_OBS_ATTR_MAX];
    char value[QW_OBS_VALUE_MAX];
};

/* An IP address seen with a MAC address: the ARP sender fields (the MAC owns the IP on that
 * segment), or the link-layer source of packets from the IP (the MAC is the IP's host or, for
 * routed traffic, its last router). The inventory groups addresses into assets from these. */
enum qw_binding_source {
    QW_BIND_ARP = 1,
    QW_BIND_FLOW = 2,
    QW_BIND_DST = 3, /* the destination MAC of packets to the IP: the IP's host, or the
                      * gateway that forwards to it */
};

struct qw_binding_key {
    uint16_t vlan;
    uint8_t mac[6];
    uint8_t source; /* qw_binding_source */
    uint8_t pad[7];
    struct qw_addr ip;
};

struct qw_binding_val {
    uint64_t first_ns, last_ns, count;
};

struct qw_anom_key {
    char name[48];
};

struct qw_anom_val {
    uint64_t count, first_ns, last_ns;
};

struct qw_traffic {
    uint64_t flows, pkts, bytes;
};

struct qw_l2_key {
    uint16_t ethertype;
};

/* Flow ends are folded first into one record per (client, server, VLANs, MACs, port, parser,
 * edge or not): flows that differ only by client port and time -- most of them -- cost one
 * table update instead of five or six. qw_obs_settle spreads these records into hosts,
 * bindings and edges; the result is the one per-flow updates give (sums, minimum and maximum
 * times, and for a host's MAC the one of the latest observation, by packet time). */
struct qw_fe_key {
    struct qw_addr cli, srv;
    uint16_t vlan, srv_vlan;  /* the client's and the server's host VLAN */
    uint16_t dir_vlan[2];     /* VLAN each direction was first seen on (gateway bindings) */
    uint16_t srv_port;
    int16_t app;
    uint8_t l4proto;
    uint8_t flags;            /* FE_* (observe.c) */
    uint8_t mac[2][6];        /* client, server: when seen */
    uint8_t dst_mac[2][6];    /* per direction: when it names a gateway binding */
};

struct qw_fe_val {
    uint64_t flows;
    uint64_t pkts[2], bytes[2]; /* [QW_DIR_TO_SERVER], [QW_DIR_TO_CLIENT] */
    uint64_t first_ns, last_ns;
    uint32_t ops;
};

#define QW_OBS_FE_MAX 16384u        /* folded flow-end records before they are settled */
#define QW_OBS_SETTLE_NS (60ull * 1000000000ull) /* packet time between settles (engine.c) */

struct qw_obs_caps {
    uint32_t hosts; /* 0: QW_OBS_MAX_HOSTS */
    uint32_t edges; /* 0: QW_OBS_MAX_EDGES */
};

/* qw_obs_ops' memo of a recent (edge, operation) entry: a transaction on a flow that just had one
 * (a polling loop) skips hashing its key. The value pointer is good while the edge_ops map has
 * had no insertion (its count unchanged) since, within one batch (generation). */
#define QW_OBS_OPS_MEMO 64
struct qw_ops_memo {
    struct qw_edge_op_key key;
    struct qw_edge_op_val *val;
    uint32_t count, gen;
};

struct qw_observer {
    struct qw_hmap hosts, edges, edge_ops, identities, mac_identities, bindings, anomalies, l2;
    struct qw_ops_memo ops_memo[QW_OBS_OPS_MEMO];
    uint32_t ops_gen;         /* bumped when edge_ops is cleared: older memos are void */
    struct qw_hmap flow_ends; /* folded flow ends, not yet settled (kept across batches) */
    /* traffic per application protocol: index = registry index + 1; [0] = none detected */
    struct qw_traffic *app_traffic;
    size_t napp;
};

/* `caps` NULL: the defaults. */
bool qw_obs_init(struct qw_observer *o, const struct qw_obs_caps *caps);
/* Updates refused at the host-side caps (hosts, identities, bindings) and the edge-side ones
 * (edges, edge operations). */
uint64_t qw_obs_hosts_refused(const struct qw_observer *o);
uint64_t qw_obs_edges_refused(const struct qw_observer *o);
void qw_obs_free(struct qw_observer *o);
/* Forget what was stored (folded flow ends not yet settled are kept). */
void qw_obs_clear(struct qw_observer *o);

void qw_obs_flow_end(struct qw_observer *o, const struct qw_flow *f);
/* Spread the folded flow ends into hosts, bindings and edges. The engine settles at the end of
 * a capture, every QW_OBS_SETTLE_NS of packet time, and when the fold table is full; a store
 * batch should settle first (flow ends not yet settled go into the next batch). */
void qw_obs_settle(struct qw_observer *o);
void qw_obs_packet_l2(struct qw_observer *o, const struct qw_packet *p);
void qw_obs_identity(struct qw_observer *o, const struct qw_flow *f, bool server,
                     const char *attr, const char *value, size_t len, uint64_t ts_ns);
/* From a link-layer frame: about its source MAC (`dest` false) or destination MAC. */
void qw_obs_identity_mac(struct qw_observer *o, const struct qw_packet *p, bool dest,
                         const char *attr, const char *value, size_t len,
                         const struct qw_proto *proto, uint64_t ts_ns);
/* About an address the message names (qw_emit_identity_addr/_mac): the IP `ip` on the flow's
 * VLAN, or the MAC `mac` on the packet's (one of the two is NULL). `f` or `p` may be NULL. */
void qw_obs_identity_addr(struct qw_observer *o, const struct qw_flow *f,
                          const struct qw_packet *p, const struct qw_addr *ip, const uint8_t *mac,
                          const char *attr, const char *value, size_t len,
                          const struct qw_proto *proto, uint64_t ts_ns);
/* Operations (qw_op bits) of one transaction on flow f, at ts. */
void qw_obs_ops(struct qw_observer *o, const struct qw_flow *f, uint32_t ops, uint64_t ts_ns);
void qw_obs_anomaly(struct qw_observer *o, const char *name, uint64_t ts_ns);

/* Registry index of a parser, or -1. */
int16_t qw_obs_app_index(const struct qw_proto *p);

#endif
