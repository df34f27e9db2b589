#include "decode/layers.h"

#include <string.h>

uint16_t qw_gre_open(struct qw_cursor *c)
{
    uint16_t fv = qw_cur_be16(c);
    uint16_t type = qw_cur_be16(c);
    if (c->err || (fv & 0x7) != 0) return 0;
    if (fv & 0x8000) qw_cur_skip(c, 4); /* checksum and reserved */
    if (fv & 0x2000) qw_cur_skip(c, 4); /* key */
    if (fv & 0x1000) qw_cur_skip(c, 4); /* sequence number */
    return c->err ? 0 : type;
}

uint8_t qw_ipv6_skip_ext(struct qw_cursor *body, uint8_t next, struct qw_ipv6_frag *frag)
{
    memset(frag, 0, sizeof *frag);
    for (int n = 0; n < 16; n++) {
        if (next == 0 || next == 43 || next == 60 || next == 135 || next == 139 || next == 140 ||
            next == 51) {
            uint8_t nh = qw_cur_u8(body);
            uint8_t hl = qw_cur_u8(body);
            qw_cur_skip(body, next == 51 ? (size_t)hl * 4 + 6 : (size_t)hl * 8 + 6);
            next = nh;
        } else if (next == 44) {
            /* fragment header: next(1) reserved(1) offset/res/M(2) identification(4) */
            uint8_t nh = qw_cur_u8(body);
            qw_cur_skip(body, 1);
            uint16_t om = qw_cur_be16(body);
            frag->id = qw_cur_be32(body);
            frag->offset = (uint32_t)(om >> 3) * 8;
            frag->more = om & 1;
            frag->present = true;
            return nh;
        } else {
            return next;
        }
        if (body->err) return next;
    }
    return next;
}
