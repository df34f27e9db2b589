#include "analysis/observe.h"

#include <stdlib.h>
#include <string.h>

static uint32_t quarter(uint32_t cap)
{
    return cap / 4 ? cap / 4 : 1;
}

bool qw_obs_init(struct qw_observer *o, const struct qw_obs_caps *caps)
{
    memset(o, 0, sizeof *o);
    uint32_t hosts = caps && caps->hosts ? caps->hosts : QW_OBS_MAX_HOSTS;
    uint32_t edges = caps && caps->edges ? caps->edges : QW_OBS_MAX_EDGES;
    o->napp = qw_protocol_count + 1;
    o->app_traffic = calloc(o->napp, sizeof *o->app_traffic);
    return o->app_traffic &&
           qw_hmap_init(&o->hosts, sizeof(struct qw_host_key), sizeof(struct qw_host_val),
                        hosts) &&
           qw_hmap_init(&o->edges, sizeof(struct qw_edge_key), sizeof(struct qw_edge_val),
                        edges) &&
           qw_hmap_init(&o->identities, sizeof(struct qw_ident_key),
                        sizeof(struct qw_ident_val), quarter(hosts)) &&
           qw_hmap_init(&o->mac_identities, sizeof(struct qw_mac_ident_key),
                        sizeof(struct qw_ident_val), quarter(hosts)) &&
           qw_hmap_init(&o->edge_ops, sizeof(struct qw_edge_op_key),
                        sizeof(struct qw_edge_op_val), quarter(edges)) &&
           qw_hmap_init(&o->bindings, sizeof(struct qw_binding_key),
                        sizeof(struct qw_binding_val), hosts) &&
           qw_hmap_init(&o->anomalies, sizeof(struct qw_anom_key), sizeof(struct qw_anom_val),
                        QW_OBS_MAX_ANOMALY_KINDS) &&
           qw_hmap_init(&o->l2, sizeof(struct qw_l2_key), sizeof(struct qw_traffic), 1024) &&
           qw_hmap_init(&o->flow_ends, sizeof(struct qw_fe_key), sizeof(struct qw_fe_val),
                        QW_OBS_FE_MAX);
}

uint64_t qw_obs_hosts_refused(const struct qw_observer *o)
{
    return o->hosts.refused + o->identities.refused + o->mac_identities.refused +
           o->bindings.refused;
}

uint64_t qw_obs_edges_refused(const struct qw_observer *o)
{
    return o->edges.refused + o->edge_ops.refused;
}

void qw_obs_free(struct qw_observer *o)
{
    qw_hmap_free(&o->hosts);
    qw_hmap_free(&o->edges);
    qw_hmap_free(&o->identities);
    qw_hmap_free(&o->mac_identities);
    qw_hmap_free(&o->bindings);
    qw_hmap_free(&o->edge_ops);
    qw_hmap_free(&o->anomalies);
    qw_hmap_free(&o->l2);
    qw_hmap_free(&o->flow_ends);
    free(o->app_traffic);
    o->app_traffic = NULL;
}

void qw_obs_clear(struct qw_observer *o)
{
    qw_hmap_clear(&o->hosts);
    qw_hmap_clear(&o->edges);
    qw_hmap_clear(&o->identities);
    qw_hmap_clear(&o->mac_identities);
    qw_hmap_clear(&o->bindings);
    qw_hmap_clear(&o->edge_ops);
    o->ops_gen++;
    qw_hmap_clear(&o->anomalies);
    qw_hmap_clear(&o->l2);
    memset(o->app_traffic, 0, o->napp * sizeof *o->app_traffic);
}

int16_t qw_obs_app_index(const struct qw_proto *p)
{
    if (!p) return -1;
    for (size_t i = 0; i < qw_protocol_count; i++)
        if (qw_protocols[i] == p) return (int16_t)i;
    return -1;
}

/* Registry index of the flow's parser: set by the engine when the parser starts. */
static int16_t app_of(const struct qw_flow *f)
{
    return f->app_slot ? (int16_t)(f->app_slot - 1) : qw_obs_app_index(f->app);
}

static void span(uint64_t *first, uint64_t *last, uint64_t a, uint64_t b)
{
    if (*first == 0 || a < *first) *first = a;
    if (b > *last) *last = b;
}

static void binding_update(struct qw_observer *o, uint16_t vlan, const struct qw_addr *ip,
                           const uint8_t *mac, enum qw_binding_source src, uint64_t first,
                           uint64_t last, uint64_t count)
{
    struct qw_binding_key k;
    memset(&k, 0, sizeof k);
    k.vlan = vlan;
    memcpy(k.mac, mac, 6);
    k.source = (uint8_t)src;
    k.ip = *ip;
    struct qw_binding_val *v = qw_hmap_upsert(&o->bindings, &k, NULL);
    if (!v) return;
    span(&v->first_ns, &v->last_ns, first, last);
    v->count += count;
}

/* A host's counters from `flows` flows it took part in (client or server side), and its MAC as
 * of packet time `at_ns` (kept only if no later observation set it). */
struct host_delta {
    uint64_t first_ns, last_ns;
    uint64_t pkts_sent, bytes_sent, pkts_recv, bytes_recv;
    uint64_t flows;
    bool client;
};

static void host_update(struct qw_observer *o, uint16_t vlan, const struct qw_addr *ip,
                        const uint8_t *mac, uint64_t at_ns, const struct host_delta *dl)
{
    struct qw_host_key k;
    memset(&k, 0, sizeof k);
    k.vlan = vlan;
    k.ip = *ip;
    struct qw_host_val *h = qw_hmap_upsert(&o->hosts, &k, NULL);
    if (!h) return;
    /* the newest observation's MAC wins, by packet time: engines of several workers see a
     * host's flows in different orders, the times are the same */
    if (mac && (!h->has_mac || at_ns >= h->mac_ns)) {
        memcpy(h->mac, mac, 6);
        h->has_mac = true;
        h->mac_ns = at_ns;
    }
    if (!dl) return;
    span(&h->first_ns, &h->last_ns, dl->first_ns, dl->last_ns);
    h->pkts_sent += dl->pkts_sent;
    h->bytes_sent += dl->bytes_sent;
    h->pkts_recv += dl->pkts_recv;
    h->bytes_recv += dl->bytes_recv;
    if (dl->client)
        h->flows_client += dl->flows;
    else
        h->flows_server += dl->flows;
}

static uint16_t flow_vlan(const struct qw_flow *f)
{
    /* The innermost tag names the segment (QinQ outer tags name the carrier). */
    return f->key.vlan[1] ? f->key.vlan[1] : f->key.vlan[0];
}

static void edge_key_of(const struct qw_flow *f, struct qw_edge_key *k)
{
    memset(k, 0, sizeof *k);
    k->vlan = flow_vlan(f);
    k->l4proto = f->key.proto;
    k->server_port = qw_flow_srv_port(f);
    k->app = app_of(f);
    k->client = *qw_flow_cli_ip(f);
    k->server = *qw_flow_srv_ip(f);
}

void qw_obs_ops(struct qw_observer *o, const struct qw_flow *f, uint32_t ops, uint64_t ts_ns)
{
    struct qw_edge_op_key k;
    memset(&k, 0, sizeof k);
    edge_key_of(f, &k.edge);
    for (unsigned b = 0; ops; b++, ops >>= 1) {
        if (!(ops & 1u)) continue;
        k.op = (uint8_t)b;
        struct qw_ops_memo *m =
            &o->ops_memo[(((uintptr_t)f >> 4) ^ ((uintptr_t)f >> 10) ^ b) % QW_OBS_OPS_MEMO];
        struct qw_edge_op_val *v;
        if (m->val && m->gen == o->ops_gen && m->count == o->edge_ops.count &&
            memcmp(&m->key, &k, sizeof k) == 0) {
            v = m->val;
        } else {
            v = qw_hmap_upsert(&o->edge_ops, &k, NULL);
            if (!v) return;
            m->key = k;
            m->val = v;
            m->count = o->edge_ops.count;
            m->gen = o->ops_gen;
        }
        span(&v->first_ns, &v->last_ns, ts_ns, ts_ns);
        v->count++;
    }
}

enum {
    FE_CLI_MAC = 1,  /* the client's MAC was seen */
    FE_SRV_MAC = 2,  /* the server's */
    FE_DST0 = 4,     /* packets to the server went to a MAC that is not the server's */
    FE_DST1 = 8,     /* packets to the client, likewise */
    FE_EDGE = 16,    /* the flow makes a communication edge */
};

void qw_obs_flow_end(struct qw_observer *o, const struct qw_flow *f)
{
    int16_t app = app_of(f);
    struct qw_traffic *t = &o->app_traffic[app + 1];
    t->flows++;
    t->pkts += f->pkts[0] + f->pkts[1];
    t->bytes += f->bytes[0] + f->bytes[1];

    struct qw_fe_key k;
    memset(&k, 0, sizeof k);
    k.cli = *qw_flow_cli_ip(f);
    k.srv = *qw_flow_srv_ip(f);
    /* each end on the VLAN its own packets carried (routed replies may use another one) */
    k.vlan = flow_vlan(f);
    k.srv_vlan = f->pkts[QW_DIR_TO_CLIENT] ? f->dir_vlan[QW_DIR_TO_CLIENT] : k.vlan;
    k.srv_port = qw_flow_srv_port(f);
    k.app = app;
    k.l4proto = f->key.proto;
    for (int d = 0; d < 2; d++) {
        if (!f->has_mac[d]) continue;
        k.flags |= d == 0 ? FE_CLI_MAC : FE_SRV_MAC;
        memcpy(k.mac[d], f->mac[d], 6);
        /* Where packets to each end were delivered: a MAC that receives packets for addresses
         * it never sends from is a gateway (routed traffic is often mirrored on the sender's
         * VLAN only, so a router may never appear as a source). Group addresses name no
         * gateway. */
        if (f->dst_mac[d][0] & 1) continue;
        if (f->has_mac[d ^ 1] && memcmp(f->dst_mac[d], f->mac[d ^ 1], 6) == 0) continue;
        k.flags |= d == 0 ? FE_DST0 : FE_DST1;
        memcpy(k.dst_mac[d], f->dst_mac[d], 6);
        k.dir_vlan[d] = f->dir_vlan[d];
    }
    /* A TCP connection the server never accepted (no SYN-ACK: refused with a RST, or a scan
     * probe left unanswered) is no communication: it makes no edge, so no service, role or
     * new-edge change comes from a port scan. Flows picked up mid-stream keep theirs. */
    if (!(f->key.proto == 6 && f->tcp_state != QW_TCP_MIDSTREAM &&
          !(f->flags_seen[QW_DIR_TO_CLIENT] & QW_TCP_SYN)))
        k.flags |= FE_EDGE;

    if (o->flow_ends.count >= o->flow_ends.max) qw_obs_settle(o);
    struct qw_fe_val *v = qw_hmap_upsert(&o->flow_ends, &k, NULL);
    if (!v) return;
    v->flows++;
    for (int d = 0; d < 2; d++) {
        v->pkts[d] += f->pkts[d];
        v->bytes[d] += f->bytes[d];
    }
    span(&v->first_ns, &v->last_ns, f->first_ns, f->last_ns);
    v->ops |= f->ops;
}

/* One folded record: what each of its flows did at its end, at once. */
static void settle_one(struct qw_observer *o, const struct qw_fe_key *k, const struct qw_fe_val *v)
{
    struct host_delta cli = {v->first_ns, v->last_ns, v->pkts[QW_DIR_TO_SERVER],
                             v->bytes[QW_DIR_TO_SERVER], v->pkts[QW_DIR_TO_CLIENT],
                             v->bytes[QW_DIR_TO_CLIENT], v->flows, true};
    struct host_delta srv = {v->first_ns, v->last_ns, v->pkts[QW_DIR_TO_CLIENT],
                             v->bytes[QW_DIR_TO_CLIENT], v->pkts[QW_DIR_TO_SERVER],
                             v->bytes[QW_DIR_TO_SERVER], v->flows, false};
    const uint8_t *cmac = k->flags & FE_CLI_MAC ? k->mac[0] : NULL;
    const uint8_t *smac = k->flags & FE_SRV_MAC ? k->mac[1] : NULL;
    host_update(o, k->vlan, &k->cli, cmac, v->last_ns, &cli);
    if (cmac) binding_update(o, k->vlan, &k->cli, cmac, QW_BIND_FLOW, v->first_ns, v->last_ns,
                             v->flows);
    host_update(o, k->srv_vlan, &k->srv, smac, v->last_ns, &srv);
    if (smac) binding_update(o, k->srv_vlan, &k->srv, smac, QW_BIND_FLOW, v->first_ns,
                             v->last_ns, v->flows);
    if (k->flags & FE_DST0)
        binding_update(o, k->dir_vlan[0], &k->srv, k->dst_mac[0], QW_BIND_DST, v->first_ns,
                       v->last_ns, v->flows);
    if (k->flags & FE_DST1)
        binding_update(o, k->dir_vlan[1], &k->cli, k->dst_mac[1], QW_BIND_DST, v->first_ns,
                       v->last_ns, v->flows);
    if (!(k->flags & FE_EDGE)) return;
    struct qw_edge_key ek;
    memset(&ek, 0, sizeof ek);
    ek.vlan = k->vlan;
    ek.l4proto = k->l4proto;
    ek.server_port = k->srv_port;
    ek.app = k->app;
    ek.client = k->cli;
    ek.server = k->srv;
    struct qw_edge_val *e = qw_hmap_upsert(&o->edges, &ek, NULL);
    if (!e) return;
    e->flows += v->flows;
    e->pkts += v->pkts[0] + v->pkts[1];
    e->bytes += v->bytes[0] + v->bytes[1];
    e->ops |= v->ops;
    span(&e->first_ns, &e->last_ns, v->first_ns, v->last_ns);
}

void qw_obs_settle(struct qw_observer *o)
{
    uint32_t pos = 0;
    const void *kp;
    void *vp;
    while (qw_hmap_next(&o->flow_ends, &pos, &kp, &vp)) settle_one(o, kp, vp);
    qw_hmap_clear(&o->flow_ends);
}

void qw_obs_packet_l2(struct qw_observer *o, const struct qw_packet *p)
{
    struct qw_l2_key k = {p->l3 == QW_L3_ARP ? 0x0806 : p->ethertype};
    struct qw_traffic *t = qw_hmap_upsert(&o->l2, &k, NULL);
    if (t) {
        t->pkts++;
        t->bytes += p->wirelen;
    }
    if (p->l3 == QW_L3_ARP && p->arp.op) {
        /* An ARP sender binds its IP to its MAC on this segment (RFC 826); 0.0.0.0 is a probe
         * (RFC 5227) and names no host. */
        static const uint8_t zero4[4];
        if (memcmp(p->arp.spa.b + 12, zero4, 4) == 0) return;
        uint16_t vlan = p->nvlan ? p->vlan[p->nvlan - 1] : 0;
        host_update(o, vlan, &p->arp.spa, p->arp.sha, p->ts_ns, NULL);
        binding_update(o, vlan, &p->arp.spa, p->arp.sha, QW_BIND_ARP, p->ts_ns, p->ts_ns, 1);
    }
}

/* One fact about the host (vlan, ip). */
static void ident_ip(struct qw_observer *o, uint16_t vlan, const struct qw_addr *ip, bool server,
                     const char *attr, const char *value, size_t len, int16_t app,
                     uint64_t ts_ns)
{
    struct qw_ident_key k;
    memset(&k, 0, sizeof k);
    k.host.vlan = vlan;
    k.host.ip = *ip;
    k.app = app;
    /* the fact needs its host in the same batch, even while the flow is still open */
    host_update(o, k.host.vlan, &k.host.ip, NULL, 0, NULL);
    strncpy(k.attr, attr, sizeof k.attr - 1);
    if (len > sizeof k.value - 1) len = sizeof k.value - 1;
    memcpy(k.value, value, len);
    struct qw_ident_val *v = qw_hmap_upsert(&o->identities, &k, NULL);
    if (!v) return;
    span(&v->first_ns, &v->last_ns, ts_ns, ts_ns);
    v->count++;
    v->app = app;
}

/* One fact about the interface (vlan, mac). */
static void ident_mac(struct qw_observer *o, uint16_t vlan, const uint8_t *mac, const char *attr,
                      const char *value, size_t len, int16_t app, uint64_t ts_ns)
{
    struct qw_mac_ident_key k;
    memset(&k, 0, sizeof k);
    k.vlan = vlan;
    memcpy(k.mac, mac, 6);
    k.app = app;
    strncpy(k.attr, attr, sizeof k.attr - 1);
    if (len > sizeof k.value - 1) len = sizeof k.value - 1;
    memcpy(k.value, value, len);
    struct qw_ident_val *v = qw_hmap_upsert(&o->mac_identities, &k, NULL);
    if (!v) return;
    span(&v->first_ns, &v->last_ns, ts_ns, ts_ns);
    v->count++;
    v->app = app;
}

void qw_obs_identity(struct qw_observer *o, const struct qw_flow *f, bool server,
                     const char *attr, const char *value, size_t len, uint64_t ts_ns)
{
    uint16_t vlan = server && f->pkts[QW_DIR_TO_CLIENT] ? f->dir_vlan[QW_DIR_TO_CLIENT]
                                                         : flow_vlan(f);
    ident_ip(o, vlan, server ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f), server, attr, value, len,
             qw_obs_app_index(f->app), ts_ns);
}

void qw_obs_identity_mac(struct qw_observer *o, const struct qw_packet *p, bool dest,
                         const char *attr, const char *value, size_t len,
                         const struct qw_proto *proto, uint64_t ts_ns)
{
    ident_mac(o, p->nvlan ? p->vlan[p->nvlan - 1] : 0, dest ? p->dst_mac : p->src_mac, attr,
              value, len, qw_obs_app_index(proto), ts_ns);
}

void qw_obs_identity_addr(struct qw_observer *o, const struct qw_flow *f,
                          const struct qw_packet *p, const struct qw_addr *ip, const uint8_t *mac,
                          const char *attr, const char *value, size_t len,
                          const struct qw_proto *proto, uint64_t ts_ns)
{
    /* the innermost tag names the segment, as for the flow's own ends */
    uint16_t vlan = f ? flow_vlan(f) : p && p->nvlan ? p->vlan[p->nvlan - 1] : 0;
    if (ip)
        ident_ip(o, vlan, ip, false, attr, value, len, qw_obs_app_index(proto), ts_ns);
    else if (mac)
        ident_mac(o, vlan, mac, attr, value, len, qw_obs_app_index(proto), ts_ns);
}

void qw_obs_anomaly(struct qw_observer *o, const char *name, uint64_t ts_ns)
{
    struct qw_anom_key k;
    memset(&k, 0, sizeof k);
    strncpy(k.name, name, sizeof k.name - 1);
    struct qw_anom_val *v = qw_hmap_upsert(&o->anomalies, &k, NULL);
    if (!v) return;
    v->count++;
    span(&v->first_ns, &v->last_ns, ts_ns, ts_ns);
}
