/* What analysis keeps from the traffic between two store batches: hosts, communication edges,
 * traffic per application protocol and per link-layer protocol, identity facts and anomaly
 * counts. Every table is bounded (QW_OBS_MAX_*); past a cap, updates are refused and counted.
 * The store folds these deltas in (store.c) and the tables are cleared for the next batch. */
#ifndef QW_ANALYSIS_OBSERVE_H
#define QW_ANALYSIS_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/packet.h"
#include "flow/flow.h"
#include "util/hmap.h"

#define QW_OBS_MAX_HOSTS 262144u
#define QW_OBS_MAX_EDGES 1048576u
#define QW_OBS_MAX_IDENTITIES 65536u
#define QW_OBS_MAX_BINDINGS 262144u
#define QW_OBS_MAX_EDGE_OPS 262144u
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
    uint64_t mac_ns; /* end of the flow that gave `mac`: the newest flow's MAC wins, whatever
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

struct qw_ident_key {
    struct qw_host_key host;
    char attr[QW_OBS_ATTR_MAX];
    char value[QW_OBS_VALUE_MAX];
};

struct qw_ident_val {
    uint64_t first_ns, last_ns, count;
    int16_t app;
};

/* An identity fact learnt from a link-layer frame (PROFINET DCP, LLDP...): about a MAC on a
 * VLAN, with no IP address to hang it on. */
struct qw_mac_ident_key {
    uint16_t vlan;
    uint8_t mac[6];
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

struct qw_observer {
    struct qw_hmap hosts, edges, edge_ops, identities, mac_identities, bindings, anomalies, l2;
    /* traffic per application protocol: index = registry index + 1; [0] = none detected */
    struct qw_traffic *app_traffic;
    size_t napp;
};

bool qw_obs_init(struct qw_observer *o);
void qw_obs_free(struct qw_observer *o);
void qw_obs_clear(struct qw_observer *o);

void qw_obs_flow_end(struct qw_observer *o, const struct qw_flow *f);
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
