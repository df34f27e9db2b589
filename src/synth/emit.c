/* Send helpers; see emit.h. */
#include "synth/emit.h"

void sy_send_udp_tail(struct sy *sy, const struct sy_l3 *h, uint16_t sport, uint16_t dport,
                      size_t plen, size_t sum_len, uint64_t tail_sum)
{
    uint8_t *f = sy_out_frame(&sy->out);
    size_t n = sy_build_udp(f, h, sport, dport, plen, sum_len, tail_sum);
    sy_out_commit(&sy->out, sy->now, n);
}

void sy_send_udp(struct sy *sy, const struct sy_l3 *h, uint16_t sport, uint16_t dport,
                 size_t plen)
{
    sy_send_udp_tail(sy, h, sport, dport, plen, plen, 0);
}

void sy_udp_dev(struct sy *sy, struct sy_dev *src, const struct sy_dev *dst, uint16_t sport,
                uint16_t dport, size_t plen)
{
    struct sy_l3 h;
    sy_route(&sy->m, src, dst, &h);
    sy_send_udp(sy, &h, sport, dport, plen);
}

static void arp(struct sy *sy, uint16_t vlan, const uint8_t *eth_dst, const uint8_t *eth_src,
                uint16_t op, const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    uint8_t *f = sy_out_frame(&sy->out);
    size_t n = sy_build_arp(f, vlan, eth_dst, eth_src, op, sha, spa, tha, tpa);
    sy_out_commit(&sy->out, sy->now, n);
}

void sy_arp_request(struct sy *sy, struct sy_dev *who, uint32_t target_ip)
{
    arp(sy, who->vlan, sy_mac_bcast, who->mac, 1, who->mac, who->ip, sy_mac_zero, target_ip);
}

void sy_arp_reply(struct sy *sy, const struct sy_dev *owner, const struct sy_dev *asker)
{
    arp(sy, owner->vlan, asker->mac, owner->mac, 2, owner->mac, owner->ip, asker->mac, asker->ip);
}

void sy_arp_announce(struct sy *sy, const struct sy_dev *d)
{
    arp(sy, d->vlan, sy_mac_bcast, d->mac, 1, d->mac, d->ip, sy_mac_zero, d->ip);
}

void sy_arp_probe(struct sy *sy, const struct sy_dev *d)
{
    arp(sy, d->vlan, sy_mac_bcast, d->mac, 1, d->mac, 0, sy_mac_zero, d->ip);
}

const struct sy_dev *sy_next_hop(const struct sy *sy, const struct sy_dev *src,
                                 const struct sy_dev *dst)
{
    return src->zone == dst->zone && dst->kind != SY_K_OUTSIDE ? dst : sy->m.gw[src->zone];
}
