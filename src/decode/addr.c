#include <arpa/inet.h>
#include <string.h>

#include "decode/packet.h"
#include "util/digits.h"

void qw_addr_from_v4(struct qw_addr *a, const uint8_t v4[4])
{
    memset(a->b, 0, 10);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

void qw_addr_from_mac(struct qw_addr *a, const uint8_t mac[6])
{
    memset(a->b, 0, 10);
    a->b[0] = 0x01;
    memcpy(a->b + 10, mac, 6);
}

bool qw_addr_is_mac(const struct qw_addr *a)
{
    static const uint8_t prefix[10] = {0x01};
    return memcmp(a->b, prefix, 10) == 0;
}

static bool is_v4_mapped(const struct qw_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, prefix, 12) == 0;
}

bool qw_addr_is_site_local(const struct qw_addr *a)
{
    if (qw_addr_is_mac(a)) return true;
    const uint8_t *b = a->b;
    if (is_v4_mapped(a)) {
        const uint8_t *v = b + 12;
        return v[0] == 10 || v[0] == 127 || v[0] == 0 || v[0] >= 224 ||
               (v[0] == 172 && (v[1] & 0xf0) == 16) || (v[0] == 192 && v[1] == 168) ||
               (v[0] == 169 && v[1] == 254) || (v[0] == 100 && (v[1] & 0xc0) == 64);
    }
    static const uint8_t zero[15] = {0};
    if (memcmp(b, zero, 15) == 0 && b[15] <= 1) return true; /* :: and ::1 */
    return b[0] == 0xff || (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

/* Decimal text of one IPv4 octet; returns the length. */
static size_t octet(char *p, unsigned v)
{
    if (v >= 100) {
        p[0] = (char)('0' + v / 100);
        p[1] = (char)('0' + v / 10 % 10);
        p[2] = (char)('0' + v % 10);
        return 3;
    }
    if (v >= 10) {
        p[0] = (char)('0' + v / 10);
        p[1] = (char)('0' + v % 10);
        return 2;
    }
    p[0] = (char)('0' + v);
    return 1;
}

/* Every event record writes two of these: IPv4 (dotted decimal, as inet_ntop writes it) is
 * written here; IPv6, with its zero-run compression rules, is left to inet_ntop. */
char *qw_addr_str(const struct qw_addr *a, char *buf)
{
    if (qw_addr_is_v4(a)) {
        size_t n = 0;
        for (int i = 12; i < 16; i++) {
            n += octet(buf + n, a->b[i]);
            buf[n++] = '.';
        }
        buf[n - 1] = '\0';
    } else {
        inet_ntop(AF_INET6, a->b, buf, 46);
    }
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
    for (int i = 0; i < 6; i++) {
        out[3 * i] = qw_hex_digits[m[i] >> 4];
        out[3 * i + 1] = qw_hex_digits[m[i] & 15];
        out[3 * i + 2] = ':';
    }
    out[17] = '\0';
    return out;
}
