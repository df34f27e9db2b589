/* A DHCP client's life (RFC 2131 section 3.1 and 4.4.5): boot exchange, address conflict
 * detection (RFC 5227: one probe, then an announcement), renewal by unicast REQUEST at T1.
 *
 * Clients outside the server's VLAN are served through the router's DHCP relay (RFC 2131
 * section 4.1, RFC 1542): the router forwards the broadcast to the server with giaddr set to
 * its interface on the client's VLAN, and hands the server's answer back to the client. Each
 * of those hops is a separate frame on the SPAN, tagged with the VLAN it was sent on. */
#include "synth/actors.h"
#include "synth/enc.h"

enum {
    B_DISCOVER,
    B_RELAY_DISCOVER,
    B_OFFER,
    B_RELAY_OFFER,
    B_REQUEST,
    B_RELAY_REQUEST,
    B_ACK,
    B_RELAY_ACK,
    B_PROBE,
    B_ANNOUNCE,
    R_REQUEST,
    R_ACK,
};

#define PORT_SERVER 67
#define PORT_CLIENT 68

struct dhcp_actor {
    struct sy_actor a;
    struct sy_dev *c, *srv;
    struct sy_dev *relay_in;  /* router interface on the client's VLAN, NULL if not relayed */
    struct sy_dev *relay_out; /* router interface on the server's VLAN */
    const char *vendor_class;
    bool known;
    int step;
    uint32_t xid;
};

static void base_msg(const struct sy *sy, const struct dhcp_actor *x, struct sy_dhcp_msg *m,
                     int type)
{
    const struct sy_dev *gw = sy->m.gw[x->c->zone];
    *m = (struct sy_dhcp_msg){0};
    m->type = (uint8_t)type;
    m->xid = x->xid;
    m->chaddr = x->c->mac;
    if (type == SY_DHCP_OFFER || type == SY_DHCP_ACK) {
        m->yiaddr = x->c->ip;
        m->server_id = x->srv->ip;
        m->lease_s = SY_DHCP_LEASE_S;
        m->mask = 0xffff0000;
        m->router = gw->ip;
        m->dns = sy_dev_of(&sy->m, SY_K_DNS, 0)->ip;
        m->domain = x->c->zone == SY_Z_CORP ? "corp.terminal.example" : "terminal.example";
    } else {
        m->hostname = x->c->name;
        m->vendor_class = x->vendor_class;
    }
}

/* The client's broadcast from 0.0.0.0:68 to 255.255.255.255:67. */
static void client_broadcast(struct sy *sy, struct dhcp_actor *x, const struct sy_dhcp_msg *m)
{
    struct sy_l3 h = {sy_mac_bcast, x->c->mac, x->c->vlan, 0, 0xffffffffu, x->c->ttl, 0,
                      x->c->ipid++};
    size_t n = sy_dhcp_encode(sy_udp_pl(sy), m);
    sy_send_udp(sy, &h, PORT_CLIENT, PORT_SERVER, n);
}

static void send_dev(struct sy *sy, struct sy_dev *from, const struct sy_dev *to, uint16_t sp,
                     uint16_t dp, const struct sy_dhcp_msg *m)
{
    size_t n = sy_dhcp_encode(sy_udp_pl(sy), m);
    sy_udp_dev(sy, from, to, sp, dp, n);
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct dhcp_actor *x = (struct dhcp_actor *)a;
    struct sy_dhcp_msg m;
    bool relayed = x->relay_in != NULL;
    int s = x->step;
    switch (s) {
    case B_DISCOVER:
    case B_REQUEST:
        x->xid = s == B_DISCOVER ? (uint32_t)sy_rand(&sy->rng) : x->xid;
        base_msg(sy, x, &m, s == B_DISCOVER ? SY_DHCP_DISCOVER : SY_DHCP_REQUEST);
        if (s == B_REQUEST || x->known) m.requested_ip = x->c->ip;
        if (s == B_REQUEST) m.server_id = x->srv->ip;
        client_broadcast(sy, x, &m);
        break;
    case B_RELAY_DISCOVER:
    case B_RELAY_REQUEST:
        if (!relayed) break; /* never scheduled without a relay; keeps the invariant local */
        base_msg(sy, x, &m, s == B_RELAY_DISCOVER ? SY_DHCP_DISCOVER : SY_DHCP_REQUEST);
        m.requested_ip = s == B_RELAY_REQUEST || x->known ? x->c->ip : 0;
        if (s == B_RELAY_REQUEST) m.server_id = x->srv->ip;
        m.hops = 1;
        m.giaddr = x->relay_in->ip;
        send_dev(sy, x->relay_out, x->srv, PORT_SERVER, PORT_SERVER, &m);
        break;
    case B_OFFER:
    case B_ACK:
        base_msg(sy, x, &m, s == B_OFFER ? SY_DHCP_OFFER : SY_DHCP_ACK);
        if (relayed) {
            m.hops = 1;
            m.giaddr = x->relay_in->ip;
            send_dev(sy, x->srv, x->relay_in, PORT_SERVER, PORT_SERVER, &m);
        } else {
            send_dev(sy, x->srv, x->c, PORT_SERVER, PORT_CLIENT, &m);
        }
        break;
    case B_RELAY_OFFER:
    case B_RELAY_ACK:
        if (!relayed) break;
        base_msg(sy, x, &m, s == B_RELAY_OFFER ? SY_DHCP_OFFER : SY_DHCP_ACK);
        m.hops = 1;
        m.giaddr = x->relay_in->ip;
        send_dev(sy, x->relay_in, x->c, PORT_SERVER, PORT_CLIENT, &m);
        break;
    case B_PROBE:
        sy_arp_probe(sy, x->c);
        break;
    case B_ANNOUNCE:
        sy_arp_announce(sy, x->c);
        break;
    case R_REQUEST:
        x->xid = (uint32_t)sy_rand(&sy->rng);
        base_msg(sy, x, &m, SY_DHCP_REQUEST);
        m.ciaddr = x->c->ip;
        send_dev(sy, x->c, x->srv, PORT_CLIENT, PORT_SERVER, &m);
        break;
    default: /* R_ACK */
        base_msg(sy, x, &m, SY_DHCP_ACK);
        m.ciaddr = x->c->ip;
        send_dev(sy, x->srv, x->c, PORT_SERVER, PORT_CLIENT, &m);
        break;
    }

    /* Next step and when. */
    int n = s + 1;
    if (!relayed)
        while (n == B_RELAY_DISCOVER || n == B_RELAY_OFFER || n == B_RELAY_REQUEST ||
               n == B_RELAY_ACK)
            n++;
    uint64_t d;
    switch (n) {
    case B_RELAY_DISCOVER:
    case B_RELAY_OFFER:
    case B_RELAY_REQUEST:
    case B_RELAY_ACK:
        d = sy_jit(sy, 200, 1 * SY_MS); /* the relay forwards at once */
        break;
    case B_OFFER:
    case B_ACK:
    case R_ACK:
        d = sy_jit(sy, 1 * SY_MS, 6 * SY_MS);
        break;
    case B_REQUEST:
        d = sy_jit(sy, 5 * SY_MS, 40 * SY_MS);
        break;
    case B_PROBE:
        d = sy_jit(sy, 50 * SY_MS, 300 * SY_MS);
        break;
    case B_ANNOUNCE:
        d = sy_jit(sy, 1 * SY_SEC, 2 * SY_SEC); /* RFC 5227 ANNOUNCE_WAIT */
        break;
    case R_REQUEST:
        d = SY_DHCP_LEASE_S / 2 * SY_SEC - sy_jit(sy, 0, 10 * SY_SEC); /* T1, from the ACK */
        break;
    default: /* after a renewal ACK: the next renewal */
        n = R_REQUEST;
        d = SY_DHCP_LEASE_S / 2 * SY_SEC - sy_jit(sy, 0, 10 * SY_SEC);
        break;
    }
    x->step = n;
    a->next = sy->now + d;
}

struct sy_actor *sy_dhcp_actor(struct sy *sy, struct sy_dev *c, const char *vendor_class,
                               bool known_client, uint64_t start)
{
    struct dhcp_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->c = c;
    x->srv = sy_dev_of(&sy->m, SY_K_DHCP, 0);
    if (c->zone != x->srv->zone) {
        x->relay_in = sy->m.gw[c->zone];
        x->relay_out = sy->m.gw[x->srv->zone];
    }
    x->vendor_class = vendor_class;
    x->known = known_client;
    x->step = B_DISCOVER;
    return &x->a;
}
