#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"

void qw_addr_from_v4(struct qw_addr *a, const uint8_t v4[4])
{
    memset(a->b, 0, 10);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

char *qw_addr_str(const struct qw_addr *a, char *buf)
{
    if (qw_addr_is_v4(a))
        inet_ntop(AF_INET, a->b + 12, buf, 46);
    else
        inet_ntop(AF_INET6, a->b, buf, 46);
    return buf;
}

bool qw_addr_parse(const char *s, struct qw_addr *out)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        qw_addr_from_v4(out, v4);
        return true;
    }
    return inet_pton(AF_INET6, s, out->b) == 1;
}

char *qw_mac_str(const uint8_t m[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return out;
}
