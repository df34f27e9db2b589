/* DHCPv4 encoder. BOOTP fixed part (RFC 2131 section 2, figure 1):
 *   0 op  1 htype  2 hlen  3 hops  4 xid(4)  8 secs(2)  10 flags(2)  12 ciaddr  16 yiaddr
 *  20 siaddr  24 giaddr  28 chaddr(16)  44 sname(64)  108 file(128)  236 magic cookie 99.130.83.99
 * then options (RFC 2132) ending with 255, padded to the 300-byte BOOTP minimum most clients
 * and servers send (RFC 1542 section 2.1). */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

static size_t opt_u8(uint8_t *p, uint8_t code, uint8_t v)
{
    p[0] = code;
    p[1] = 1;
    p[2] = v;
    return 3;
}

static size_t opt_u32(uint8_t *p, uint8_t code, uint32_t v)
{
    p[0] = code;
    p[1] = 4;
    sy_put32(p + 2, v);
    return 6;
}

static size_t opt_str(uint8_t *p, uint8_t code, const char *s)
{
    size_t n = strlen(s);
    if (n > 255) n = 255;
    p[0] = code;
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    return 2 + n;
}

size_t sy_dhcp_encode(uint8_t *b, const struct sy_dhcp_msg *m)
{
    bool server = m->type == SY_DHCP_OFFER || m->type == SY_DHCP_ACK;
    memset(b, 0, 240);
    b[0] = server ? 2 : 1; /* BOOTREPLY / BOOTREQUEST */
    b[1] = 1;              /* Ethernet */
    b[2] = 6;
    b[3] = m->hops;
    sy_put32(b + 4, m->xid);
    sy_put16(b + 8, m->secs);
    sy_put32(b + 12, m->ciaddr);
    sy_put32(b + 16, m->yiaddr);
    sy_put32(b + 24, m->giaddr);
    memcpy(b + 28, m->chaddr, 6);
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    memcpy(b + 236, cookie, 4);

    size_t n = 240;
    n += opt_u8(b + n, 53, m->type);
    if (!server) {
        /* 61 client identifier: hardware type 1 + MAC, as Windows sends it */
        b[n] = 61;
        b[n + 1] = 7;
        b[n + 2] = 1;
        memcpy(b + n + 3, m->chaddr, 6);
        n += 9;
        if (m->requested_ip) n += opt_u32(b + n, 50, m->requested_ip);
        if (m->server_id) n += opt_u32(b + n, 54, m->server_id);
        if (m->hostname) n += opt_str(b + n, 12, m->hostname);
        if (m->vendor_class) n += opt_str(b + n, 60, m->vendor_class);
        /* 55 parameter request list: the set a Windows 10/11 client asks for */
        static const uint8_t prl[] = {1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252};
        b[n] = 55;
        b[n + 1] = sizeof prl;
        memcpy(b + n + 2, prl, sizeof prl);
        n += 2 + sizeof prl;
    } else {
        n += opt_u32(b + n, 54, m->server_id);
        n += opt_u32(b + n, 51, m->lease_s);
        n += opt_u32(b + n, 58, m->lease_s / 2);      /* T1 renewal */
        n += opt_u32(b + n, 59, m->lease_s / 8 * 7);  /* T2 rebinding */
        n += opt_u32(b + n, 1, m->mask);
        n += opt_u32(b + n, 3, m->router);
        n += opt_u32(b + n, 6, m->dns);
        if (m->domain) n += opt_str(b + n, 15, m->domain);
    }
    b[n++] = 255;
    if (n < 300) {
        memset(b + n, 0, 300 - n);
        n = 300;
    }
    return n;
}
