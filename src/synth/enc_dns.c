/* DNS encoder (RFC 1035 section 4): 12-byte header, one question, at most one A answer whose
 * owner name is a compression pointer to the question (0xc00c). */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

/* Writes a dotted name as length-prefixed labels; labels are at most 63 bytes (RFC 1035 2.3.4)
 * and our names are short constants, so this never truncates. */
static size_t put_name(uint8_t *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        if (len > 63) len = 63;
        p[n++] = (uint8_t)len;
        memcpy(p + n, name, len);
        n += len;
        name += len;
        if (*name == '.') name++;
    }
    p[n++] = 0;
    return n;
}

static size_t header(uint8_t *b, uint16_t id, uint16_t flags, uint16_t an)
{
    sy_put16(b, id);
    sy_put16(b + 2, flags);
    sy_put16(b + 4, 1);
    sy_put16(b + 6, an);
    sy_put16(b + 8, 0);
    sy_put16(b + 10, 0);
    return 12;
}

size_t sy_dns_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = header(b, id, 0x0100, 0); /* standard query, recursion desired */
    n += put_name(b + n, name);
    sy_put16(b + n, qtype);
    sy_put16(b + n + 2, 1); /* class IN */
    return n + 4;
}

size_t sy_dns_response(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, uint32_t addr,
                       uint32_t ttl)
{
    /* QR, RD, RA; authoritative for our own zone; rcode 3 = NXDOMAIN */
    uint16_t flags = addr ? 0x8580 : 0x8583;
    size_t n = header(b, id, flags, addr ? 1 : 0);
    n += put_name(b + n, name);
    sy_put16(b + n, qtype);
    sy_put16(b + n + 2, 1);
    n += 4;
    if (addr) {
        sy_put16(b + n, 0xc00c);
        sy_put16(b + n + 2, SY_DNS_A);
        sy_put16(b + n + 4, 1);
        sy_put32(b + n + 6, ttl);
        sy_put16(b + n + 10, 4);
        sy_put32(b + n + 12, addr);
        n += 16;
    }
    return n;
}
