#include "util/duration.h"

bool qw_parse_duration(const char *s, uint64_t *ns)
{
    if (!s || *s < '0' || *s > '9') return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > 3153600000ull) return false; /* 100 years in seconds */
    }
    uint64_t unit;
    switch (*s) {
    case '\0':
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return false;
    }
    if (*s && s[1]) return false;
    if (v * unit > 3153600000ull) return false;
    *ns = v * unit * 1000000000ull;
    return true;
}
