/* Syntax of the site file's values: ids, addresses, CIDRs, MACs, allow entries, times of day
 * and RFC 3339 date-times. Each parser says in plain words what is wrong. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "site/civil.h"
#include "site/internal.h"

bool qw_parse_id(const char *s, char *why, size_t len)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= QW_SITE_ID_MAX && isalnum((unsigned char)s[0]);
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-';
    if (!ok)
        snprintf(why, len,
                 "'%.80s' is not a valid id: use 1 to %d letters, digits, '.', '_' or '-', "
                 "starting with a letter or digit",
                 s, QW_SITE_ID_MAX);
    return ok;
}

bool qw_parse_ip(const char *s, struct qw_addr *out)
{
    return qw_addr_parse(s, out);
}

bool qw_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    if (!*s || strlen(s) > 10) return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max) return false;
    *out = (uint32_t)v;
    return true;
}

char *qw_cidr_str(const struct qw_site_cidr *c, char out[64])
{
    char ip[46];
    qw_addr_str(&c->lo, ip);
    snprintf(out, 64, "%s/%u", ip, (unsigned)c->prefix);
    return out;
}

bool qw_addr_in_cidr(const struct qw_addr *a, const struct qw_site_cidr *c)
{
    return memcmp(a->b, c->lo.b, 16) >= 0 && memcmp(a->b, c->hi.b, 16) <= 0;
}

bool qw_parse_cidr(const char *s, struct qw_site_cidr *out, char *why, size_t len)
{
    const char *slash = strchr(s, '/');
    char addr[64];
    if (!slash) {
        struct qw_addr a;
        if (qw_addr_parse(s, &a))
            snprintf(why, len, "'%s' has no prefix length (write %s/%d for one host)", s, s,
                     qw_addr_is_v4(&a) ? 32 : 128);
        else
            snprintf(why, len, "'%.80s' is not a CIDR block such as 10.30.0.0/16", s);
        return false;
    }
    size_t n = (size_t)(slash - s);
    if (n == 0 || n >= sizeof addr) {
        snprintf(why, len, "'%.80s' is not a CIDR block such as 10.30.0.0/16", s);
        return false;
    }
    memcpy(addr, s, n);
    addr[n] = 0;
    struct qw_addr a;
    if (!qw_addr_parse(addr, &a)) {
        snprintf(why, len, "'%.80s': '%s' is not an IPv4 or IPv6 address", s, addr);
        return false;
    }
    bool v4 = qw_addr_is_v4(&a) && strchr(addr, ':') == NULL;
    uint32_t prefix;
    if (!qw_parse_uint(slash + 1, 255, &prefix) || prefix > (v4 ? 32u : 128u)) {
        snprintf(why, len, "'%.80s': the prefix length must be 0..%d", s, v4 ? 32 : 128);
        return false;
    }
    unsigned bits = v4 ? prefix + 96 : prefix; /* IPv4-mapped: the /96 prefix is fixed */
    struct qw_addr lo = a, hi = a;
    for (unsigned i = 0; i < 128; i++) {
        if (i < bits) continue;
        lo.b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
        hi.b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    }
    out->lo = lo;
    out->hi = hi;
    out->prefix = (uint8_t)prefix;
    out->v4 = v4;
    if (memcmp(lo.b, a.b, 16) != 0) {
        char net[64];
        snprintf(why, len, "'%.80s' has host bits set (the network is %s)", s,
                 qw_cidr_str(out, net));
        return false;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool qw_parse_mac(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17) return false;
    char sep = s[2];
    if (sep != ':' && sep != '-') return false;
    for (int i = 0; i < 6; i++) {
        int h = hexval(s[3 * i]), l = hexval(s[3 * i + 1]);
        if (h < 0 || l < 0 || (i < 5 && s[3 * i + 2] != sep)) return false;
        mac[i] = (uint8_t)(h << 4 | l);
    }
    return true;
}

static bool parse_ports(const char *s, const char *entry, uint16_t *lo, uint16_t *hi, char *why,
                        size_t len)
{
    char buf[16];
    const char *dash = strchr(s, '-');
    uint32_t a, b;
    if (strlen(s) >= sizeof buf) goto bad;
    if (dash) {
        memcpy(buf, s, (size_t)(dash - s));
        buf[dash - s] = 0;
        if (!qw_parse_uint(buf, 65535, &a) || !qw_parse_uint(dash + 1, 65535, &b) || !a || !b)
            goto bad;
        if (b < a) {
            snprintf(why, len, "the port range in '%s' ends before it starts", entry);
            return false;
        }
    } else {
        if (!qw_parse_uint(s, 65535, &a) || !a) goto bad;
        b = a;
    }
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return true;
bad:
    snprintf(why, len, "bad port '%.20s' in '%s' (ports are 1..65535, a range is LOW-HIGH)", s,
             entry);
    return false;
}

bool qw_parse_allow(const char *s, struct qw_site_allow *out, char *why, size_t len)
{
    char name[32];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    memset(out, 0, sizeof *out);
    out->app = -1;
    out->port_lo = 0;
    out->port_hi = 65535;
    if (n == 0 || n >= sizeof name || strlen(s) > 64) {
        snprintf(why, len, "'%.64s' is not a protocol/port entry such as modbus/502 or tcp/443",
                 s);
        return false;
    }
    memcpy(name, s, n);
    name[n] = 0;
    const char *ports = slash ? slash + 1 : NULL;
    if (strcmp(name, "any") == 0 || strcmp(name, "icmp") == 0) {
        if (ports) {
            snprintf(why, len, "'%s' takes no port: write '%s' alone", name, name);
            return false;
        }
        out->kind = name[0] == 'a' ? QW_ALLOW_ANY : QW_ALLOW_TRANSPORT;
        out->ipproto = name[0] == 'a' ? 0 : 1;
        return true;
    }
    if (strcmp(name, "ip") == 0) {
        uint32_t p;
        if (!ports || !qw_parse_uint(ports, 255, &p)) {
            snprintf(why, len, "'%s': 'ip' takes an IP protocol number, ip/N with N 0..255", s);
            return false;
        }
        out->kind = QW_ALLOW_TRANSPORT;
        out->ipproto = (uint8_t)p;
        return true;
    }
    if (strcmp(name, "tcp") == 0 || strcmp(name, "udp") == 0) {
        out->kind = QW_ALLOW_TRANSPORT;
        out->ipproto = name[0] == 't' ? 6 : 17;
    } else {
        int app = qw_site_proto_find(name);
        if (app < 0) {
            struct qw_suggest sg;
            char hint[96];
            qw_suggest_init(&sg, name);
            qw_site_proto_suggest(&sg);
            snprintf(why, len, "unknown protocol '%s' in '%s'%s", name, s,
                     qw_suggest_text(&sg, hint, sizeof hint));
            return false;
        }
        out->kind = QW_ALLOW_APP;
        out->app = (int16_t)app;
    }
    if (ports && !parse_ports(ports, s, &out->port_lo, &out->port_hi, why, len)) return false;
    return true;
}

bool qw_parse_hhmm(const char *s, bool end, uint16_t *minutes)
{
    if (strlen(s) != 5 || s[2] != ':') return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && !isdigit((unsigned char)s[i])) return false;
    unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end))) return false;
    *minutes = (uint16_t)(h * 60 + m);
    return true;
}

/* n digits at s -> value; false if any is not a digit */
static bool digits(const char *s, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return true;
}

bool qw_parse_rfc3339(const char *s, int64_t *ns, char *why, size_t len)
{
    /* date-time = YYYY-MM-DD ("T" | "t" | " ") HH:MM:SS [.fraction] ("Z" | "z" | +HH:MM | -HH:MM) */
    unsigned y, mo, d, h, mi, sec;
    size_t n = strlen(s);
    if (n < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec)) {
        snprintf(why, len, "'%.64s' is not an RFC 3339 time such as 2026-11-20T22:00:00Z", s);
        return false;
    }
    if (y < 1970 || y > 2200) {
        snprintf(why, len, "'%.64s' is out of range (years 1970 to 2200)", s);
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > qw_civil_month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 60) {
        snprintf(why, len, "'%.64s' is not a valid date and time", s);
        return false;
    }
    const char *p = s + 19;
    int64_t frac_ns = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        int64_t scale = 100000000;
        while (isdigit((unsigned char)*p)) {
            if (nd < 9) frac_ns += (*p - '0') * scale;
            scale /= 10;
            nd++;
            p++;
        }
        if (nd == 0) {
            snprintf(why, len, "'%.64s': a '.' must be followed by digits", s);
            return false;
        }
    }
    int64_t off = 0;
    if (*p == 0) {
        snprintf(why, len, "'%.64s' has no UTC offset: end it with Z or +HH:MM", s);
        return false;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        unsigned oh, om;
        if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59) goto bad_off;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else {
        goto bad_off;
    }
    if (sec == 60) sec = 59; /* a leap second: the instant before is close enough for a window */
    int64_t t = qw_civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *ns = t * 1000000000 + frac_ns;
    return true;
bad_off:
    snprintf(why, len, "'%.64s' has a bad UTC offset: write Z or +HH:MM", s);
    return false;
}
