/* TCP connection bookkeeping; see tcp.h. */
#include "synth/tcp.h"

/* Receive windows by kind of host (no window scaling is negotiated, so the field is the
 * window): small embedded stacks advertise a few kilobytes, PCs and servers 64 KB. */
static uint16_t window_of(const struct sy_dev *d)
{
    switch (d->kind) {
    case SY_K_CRANE_PLC:
    case SY_K_STRADDLE:
    case SY_K_TANK_PLC:
    case SY_K_GAUGE:
        return 8192;
    case SY_K_CAMERA:
    case SY_K_NVR:
    case SY_K_JUMP:
    case SY_K_TOS_APP:
        return 29200;
    default:
        return 64240;
    }
}

void sy_tcp_init(struct sy *sy, struct sy_tcp *t, struct sy_dev *c, struct sy_dev *s,
                 uint16_t port)
{
    t->c = c;
    t->s = s;
    t->cport = sy_dev_eph(c);
    t->sport = port;
    t->cnxt = (uint32_t)sy_rand(&sy->rng);
    t->snxt = (uint32_t)sy_rand(&sy->rng);
    t->cwin = window_of(c);
    t->swin = window_of(s);
}

void sy_tcp_send_tail(struct sy *sy, struct sy_tcp *t, int dir, uint8_t flags, size_t plen,
                      size_t sum_len, uint64_t tail_sum)
{
    struct sy_l3 h;
    uint8_t *f = sy_out_frame(&sy->out);
    size_t n;
    if (dir == SY_C2S) {
        sy_route(&sy->m, t->c, t->s, &h);
        n = sy_build_tcp(f, &h, t->cport, t->sport, t->cnxt, t->snxt, flags, t->cwin, plen,
                         sum_len, tail_sum);
        t->cnxt += (uint32_t)plen + ((flags & (SY_TH_SYN | SY_TH_FIN)) ? 1u : 0u);
    } else {
        sy_route(&sy->m, t->s, t->c, &h);
        n = sy_build_tcp(f, &h, t->sport, t->cport, t->snxt, t->cnxt, flags, t->swin, plen,
                         sum_len, tail_sum);
        t->snxt += (uint32_t)plen + ((flags & (SY_TH_SYN | SY_TH_FIN)) ? 1u : 0u);
    }
    sy_out_commit(&sy->out, sy->now, n);
}

void sy_tcp_send(struct sy *sy, struct sy_tcp *t, int dir, uint8_t flags, size_t plen)
{
    sy_tcp_send_tail(sy, t, dir, flags, plen, plen, 0);
}
