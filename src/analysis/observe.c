#include "analysis/observe.h"

#include <stdlib.h>
#include <string.h>

bool qw_obs_init(struct qw_observer *o)
{
    memset(o, 0, sizeof *o);
    o->napp = qw_protocol_count + 1;
    o->app_traffic = calloc(o->napp, sizeof *o->app_traffic);
    return o->app_traffic &&
           qw_hmap_init(&o->hosts, sizeof(struct qw_host_key), sizeof(struct qw_host_val),
                        QW_OBS_MAX_HOSTS) &&
           qw_hmap_init(&o->edges, sizeof(struct qw_edge_key), sizeof(struct qw_edge_val),
                        QW_OBS_MAX_EDGES) &&
           qw_hmap_init(&o->identities, sizeof(struct qw_ident_key),
                        sizeof(struct qw_ident_val), QW_OBS_MAX_IDENTITIES) &&
           qw_hmap_init(&o->mac_identities, sizeof(struct qw_mac_ident_key),
                        sizeof(struct qw_ident_val), QW_OBS_MAX_IDENTITIES) &&
           qw_hmap_init(&o->edge_ops, sizeof(struct qw_edge_op_key),
                        sizeof(struct qw_edge_op_val), QW_OBS_MAX_EDGE_OPS) &&
           qw_hmap_init(&o->bindings, sizeof(struct qw_binding_key),
                        sizeof(struct qw_binding_val), QW_OBS_MAX_BINDINGS) &&
           qw_hmap_init(&o->anomalies, sizeof(struct qw_anom_key), sizeof(struct qw_anom_val),
                        QW_OBS_MAX_ANOMALY_KINDS) &&
           qw_hmap_init(&o->l2, sizeof(struct qw_l2_key), sizeof(struct qw_traffic), 1024);
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

static void span(uint64_t *first, uint64_t *last, uint64_t a, uint64_t b)
{
    if (*first == 0 || a < *first) *first = a;
    if (b > *last) *last = b;
}

static void binding_update(struct qw_observer *o, uint16_t vlan, const struct qw_addr *ip,
                           const uint8_t *mac, enum qw_binding_source src, uint64_t first,
                           uint64_t last)
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
    v->count++;
}

static void host_update(struct qw_observer *o, uint16_t vlan, const struct qw_addr *ip,
                        const uint8_t *mac, const struct qw_flow *f, bool client)
{
    struct qw_host_key k;
    memset(&k, 0, sizeof k);
    k.vlan = vlan;
    k.ip = *ip;
    struct qw_host_val *h = qw_hmap_upsert(&o->hosts, &k, NULL);
    if (!h) return;
    uint64_t at = f ? f->last_ns : 0;
    if (mac && (!h->has_mac || at > h->mac_ns ||
                (at == h->mac_ns && memcmp(mac, h->mac, 6) > 0))) {
        memcpy(h->mac, mac, 6);
        h->has_mac = true;
        h->mac_ns = at;
    }
    if (mac) {
        if (f) binding_update(o, vlan, ip, mac, QW_BIND_FLOW, f->first_ns, f->last_ns);
    }
    if (!f) return;
    span(&h->first_ns, &h->last_ns, f->first_ns, f->last_ns);
    enum qw_dir out = client ? QW_DIR_TO_SERVER : QW_DIR_TO_CLIENT;
    h->pkts_sent += f->pkts[out];
    h->bytes_sent += f->bytes[out];
    h->pkts_recv += f->pkts[out ^ 1];
    h->bytes_recv += f->bytes[out ^ 1];
    if (client)
        h->flows_client++;
    else
        h->flows_server++;
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
    k->app = qw_obs_app_index(f->app);
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
        struct qw_edge_op_val *v = qw_hmap_upsert(&o->edge_ops, &k, NULL);
        if (!v) return;
        span(&v->first_ns, &v->last_ns, ts_ns, ts_ns);
        v->count++;
    }
}

void qw_obs_flow_end(struct qw_observer *o, const struct qw_flow *f)
{
    int16_t app = qw_obs_app_index(f->app);
    struct qw_traffic *t = &o->app_traffic[app + 1];
    t->flows++;
    t->pkts += f->pkts[0] + f->pkts[1];
    t->bytes += f->bytes[0] + f->bytes[1];

    /* each end on the VLAN its own packets carried (routed replies may use another one) */
    uint16_t vlan = flow_vlan(f);
    uint16_t srv_vlan = f->pkts[QW_DIR_TO_CLIENT] ? f->dir_vlan[QW_DIR_TO_CLIENT] : vlan;
    host_update(o, vlan, qw_flow_cli_ip(f), f->has_mac[0] ? f->mac[0] : NULL, f, true);
    host_update(o, srv_vlan, qw_flow_srv_ip(f), f->has_mac[1] ? f->mac[1] : NULL, f, false);
    /* Where packets to each end were delivered: a MAC that receives packets for addresses it
     * never sends from is a gateway (routed traffic is often mirrored on the sender's VLAN
     * only, so a router may never appear as a source). Group addresses name no gateway. */
    for (int d = 0; d < 2; d++) {
        if (!f->has_mac[d] || (f->dst_mac[d][0] & 1)) continue;
        if (f->has_mac[d ^ 1] && memcmp(f->dst_mac[d], f->mac[d ^ 1], 6) == 0) continue;
        const struct qw_addr *to = d == QW_DIR_TO_SERVER ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f);
        uint16_t v = f->dir_vlan[d];
        binding_update(o, v, to, f->dst_mac[d], QW_BIND_DST, f->first_ns, f->last_ns);
    }

    /* A TCP connection the server never accepted (no SYN-ACK: refused with a RST, or a scan
     * probe left unanswered) is no communication: it makes no edge, so no service, role or
     * new-edge change comes from a port scan. Flows picked up mid-stream keep theirs. */
    if (f->key.proto == 6 && f->tcp_state != QW_TCP_MIDSTREAM &&
        !(f->flags_seen[QW_DIR_TO_CLIENT] & QW_TCP_SYN))
        return;
    struct qw_edge_key k;
    edge_key_of(f, &k);
    struct qw_edge_val *e = qw_hmap_upsert(&o->edges, &k, NULL);
    if (!e) return;
    e->flows++;
    e->pkts += f->pkts[0] + f->pkts[1];
    e->bytes += f->bytes[0] + f->bytes[1];
    e->ops |= f->ops;
    span(&e->first_ns, &e->last_ns, f->first_ns, f->last_ns);
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
        host_update(o, vlan, &p->arp.spa, p->arp.sha, NULL, true);
        binding_update(o, vlan, &p->arp.spa, p->arp.sha, QW_BIND_ARP, p->ts_ns, p->ts_ns);
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
    /* the fact needs its host in the same batch, even while the flow is still open */
    host_update(o, k.host.vlan, &k.host.ip, NULL, NULL, server);
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
