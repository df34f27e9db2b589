/* Fuzz harness for the site-file loader (src/site: load.c, parse.c, validate.c, values.c, tz.c)
 * and the lookups on what it loads; see tests/fuzz/fuzz.h.
 *
 * The loader reads a buffer, so no corpus of site files is needed: every input is used twice.
 *   1. As the site file itself (libFuzzer's own search starts here).
 *   2. As an edit script applied to a built-in valid site file (SEED, below): 3 bytes per edit,
 *      [op][pos hi][pos lo], that delete, insert YAML tokens and site vocabulary, replace a byte
 *      or a word, duplicate, drop or swap lines, or truncate; three times, with 1, 3 and 24
 *      edits from byte 0, 1 and 2. So any bytes, even a binary packet payload,
 *      turn into a nearly valid site file that gets deep into the checks and, when it still
 *      loads, into the lookups.
 * The replay driver feeds the payloads of the DNP3 captures and its deterministic mutations of
 * them: binary bytes of varied values make varied edit scripts (about 6,500 inputs, of which
 * about a sixth of the edited files still load and reach the lookups). Text captures (syslog,
 * HTTP) were tried as well: their payloads all begin alike and make nearly identical scripts.
 *
 * Invariants: a failed load reports at least one error, sorted by position; a successful load
 * gives a model whose every CIDR block maps back to its zone, and whose lookups (zones, owners,
 * conduits, change records, windows) run over it without fault. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "fuzz.h"
#include "site/model.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "dnp3";

static const char SEED[] =
    "site: Fuzz terminal\n"
    "timezone: America/Vancouver\n"
    "default_owner: op\n"
    "parties:\n"
    "  - {id: op, name: Operator, contact: ot@t.example}\n"
    "  - {id: it, name: IT partner}\n"
    "  - {id: ven, name: Vendor}\n"
    "zones:\n"
    "  - {id: tos, cidrs: [10.20.0.0/16], vlans: [20], owner: op, security_level: 2, function: tos}\n"
    "  - id: cranes\n"
    "    cidrs: [10.30.0.0/16, \"2001:db8:30::/48\"]\n"
    "    vlans: [30, 31]\n"
    "    owner: ven\n"
    "    security_level: 3\n"
    "    maintenance_windows:\n"
    "      - {days: [sat, sun], start: \"02:00\", end: \"06:00\"}\n"
    "      - {start: \"23:00\", end: \"24:00\", tz: Europe/Berlin}\n"
    "  - {id: ra, cidrs: [10.50.0.0/24], vlans: [50], owner: it, security_level: 2}\n"
    "  - {id: vpn, cidrs: [10.50.8.0/24], security_level: 1}\n"
    "  - {id: l2, vlans: [99], security_level: 4}\n"
    "conduits:\n"
    "  - {from: tos, to: cranes, allow: [modbus/502, tcp/1024-2048], operations: [read, write], owner: ven}\n"
    "  - {from: ra, to: cranes, allow: [modbus/502], operations: [read, diagnostic]}\n"
    "  - {from: vpn, to: ra, allow: [ssh/22, icmp, ip/47]}\n"
    "  - {from: cranes, to: l2, allow: [any]}\n"
    "assets:\n"
    "  - {match: {ip: 10.30.1.12}, name: plc2, role: plc, criticality: critical, function: crane_plcs}\n"
    "  - {match: {ip: 10.50.0.10}, name: jump01, owner: it, criticality: high}\n"
    "  - {match: {mac: \"00:11:22:33:44:55\"}, name: nvr, owner: it}\n"
    "  - {match: {name: ws-1}, name: ws1}\n"
    "modules:\n"
    "  - {name: crane-ctl, owner: ven, runs_on: [role:plc, zone:cranes]}\n"
    "  - {name: hmi, owner: op, runs_on: [asset:plc2, asset:jump01]}\n"
    "changes:\n"
    "  - id: CHG-1\n"
    "    by: ven\n"
    "    window: {start: \"2026-11-20T13:32:00-08:00\", end: \"2026-11-20T21:35:00Z\"}\n"
    "    scope: [asset:plc2, zone:ra]\n"
    "    expect: [asset.identity_changed, comm.new_edge]\n"
    "remote_access:\n"
    "  jump_hosts: [jump01, 10.50.0.11]\n"
    "  vpn_pools: [10.50.8.0/24]\n"
    "  windows: [{days: [mon, tue, wed, thu, fri], start: \"07:00\", end: \"18:00\"}]\n"
    "  parties: [ven]\n"
    "  zones: [cranes]\n";

/* Tokens an edit may insert: YAML structure and the site file's own vocabulary. */
static const char *const TOKENS[] = {
    ": ", "- ", "[", "]", "{", "}", ", ", "\n", "  ", "# ", "&a ", "*a", "!!str ", "'", "\"",
    "? ", "<<: ", "---\n", "...\n", "%YAML 1.1\n", "\t", "\xff", "\xc3\xa9", "~", "null",
    "TODO", "zone:", "asset:", "role:", "zone:cranes", "asset:plc2", "10.0.0.0/8", "10.30.0.1/16",
    "::/0", "\"::ffff:0:0/96\"", "0.0.0.0/0", "4094", "4095", "0", "-1", "99999999999999999999",
    "24:00", "23:59", "America/Vancouver", "Etc/GMT+5", "Europe/Dublin", "../x", "modbus/502",
    "any", "tcp/1-65535", "udp/0", "read", "program", "asset.new", "comm.new_edge", "id: ",
    "owner: ", "security_level: ", "cidrs: [", "vlans: [", "allow: [", "operations: [",
    "zones:\n  - {id: z, vlans: [7], security_level: 1}\n", "window: {start: 2026-01-01T00:00:00Z, end: ",
    "2026-02-29T00:00:00Z", "1970-01-01T00:00:00+14:00", "days: [", "mon", "start: \"", "end: \"",
};
#define NTOKENS (sizeof TOKENS / sizeof TOKENS[0])
static const char REPLACE[] = ":-[]{},\n #&*!'\"?|>%@`\t0123456789abcxyz/.";

#define BUF_MAX 65536

struct buf {
    char b[BUF_MAX];
    size_t n;
};

static void insert(struct buf *x, size_t pos, const char *s, size_t len)
{
    if (pos > x->n || x->n + len > BUF_MAX) return;
    memmove(x->b + pos + len, x->b + pos, x->n - pos);
    memcpy(x->b + pos, s, len);
    x->n += len;
}

static void erase(struct buf *x, size_t pos, size_t len)
{
    if (pos >= x->n) return;
    if (len > x->n - pos) len = x->n - pos;
    memmove(x->b + pos, x->b + pos + len, x->n - pos - len);
    x->n -= len;
}

static void line_at(const struct buf *x, size_t pos, size_t *start, size_t *end)
{
    size_t s = pos, e = pos;
    while (s > 0 && x->b[s - 1] != '\n') s--;
    while (e < x->n && x->b[e] != '\n') e++;
    if (e < x->n) e++; /* with its newline */
    *start = s;
    *end = e;
}

/* Apply up to `max` edits of the input, from byte `skew` on, to SEED. */
static void edit(struct buf *x, const uint8_t *d, size_t n, size_t skew, size_t max)
{
    static char tmp[BUF_MAX];
    memcpy(x->b, SEED, sizeof SEED - 1);
    x->n = sizeof SEED - 1;
    for (size_t i = skew; i + 3 <= n && i < skew + 3 * max; i += 3) {
        uint8_t op = d[i];
        size_t pos = ((size_t)d[i + 1] << 8 | d[i + 2]) % (x->n + 1);
        size_t arg = op >> 4, s, e;
        switch (op & 15) {
        case 0:
        case 1: erase(x, pos, arg % 8 + 1); break;
        case 2:
        case 3:
        case 4:
        case 5: {
            const char *t = TOKENS[(arg * 5 + (op & 3) + d[i + 2]) % NTOKENS];
            insert(x, pos, t, strlen(t));
            break;
        }
        case 6:
        case 7:
            if (pos < x->n) x->b[pos] = REPLACE[(arg + d[i + 1]) % (sizeof REPLACE - 1)];
            break;
        case 8:
            line_at(x, pos, &s, &e);
            memcpy(tmp, x->b + s, e - s);
            insert(x, e, tmp, e - s);
            break;
        case 9:
            line_at(x, pos, &s, &e);
            erase(x, s, e - s);
            break;
        case 10: {
            line_at(x, pos, &s, &e);
            size_t s2, e2;
            if (e >= x->n) break;
            line_at(x, e, &s2, &e2);
            memcpy(tmp, x->b + s2, e2 - s2);
            erase(x, s2, e2 - s2);
            insert(x, s, tmp, e2 - s2);
            break;
        }
        case 11: insert(x, pos, "\n  - ", 5); break;
        case 12:
        case 13:
        case 14: {
            /* replace the word at pos (a value, a key) with a token */
            size_t a = pos, b = pos;
            while (a > 0 && strchr(" ,[{:\n", x->b[a - 1]) == NULL) a--;
            while (b < x->n && strchr(" ,]}:\n", x->b[b]) == NULL) b++;
            erase(x, a, b - a);
            const char *t = TOKENS[(arg + d[i + 1]) % NTOKENS];
            insert(x, a, t, strlen(t));
            break;
        }
        default:
            if (arg == 15) x->n = pos; /* truncate, rarely */
            break;
        }
    }
}

static const char *const IPS[] = {"10.20.0.20", "10.30.1.12", "10.30.255.255", "10.50.0.10",
                                  "10.50.8.21", "10.50.0.11", "2001:db8:30::5", "172.16.0.1",
                                  "0.0.0.0", "::"};
static const char *const APPS[] = {NULL, "modbus", "ssh", "dns"};

static void exercise(const struct qw_site *s)
{
    /* every block maps back to its zone */
    for (uint32_t z = 0; z < s->nzones; z++)
        for (uint32_t c = 0; c < s->zones[z].ncidrs; c++) {
            const struct qw_site_cidr *b = &s->zones[z].cidrs[c];
            if (qw_site_zone_of(s, &b->lo, 0, NULL) != &s->zones[z] ||
                qw_site_zone_of(s, &b->hi, 0, NULL) != &s->zones[z])
                abort();
        }
    for (uint32_t i = 0; i < s->nparties; i++)
        if (qw_site_party_by_id(s, s->parties[i].id) == NULL) abort();
    for (uint32_t i = 0; i < s->nassets; i++)
        if (qw_site_asset_by_name(s, s->assets[i].name) == NULL) abort();
    static const char *const roles[] = {"plc", "hmi"};
    static const uint64_t times[] = {1795735920000000000ull, 1795738000000000000ull, 0,
                                     4102444800000000000ull};
    for (size_t i = 0; i < sizeof IPS / sizeof IPS[0]; i++) {
        struct qw_addr a;
        if (!qw_addr_parse(IPS[i], &a)) abort();
        static const uint8_t mac[6] = {0, 0x11, 0x22, 0x33, 0x44, 0x55};
        struct qw_site_host h = {&a, mac, (uint16_t)(i * 10), "WS-1", roles, i % 3};
        struct qw_site_owner o = qw_site_owner_of(s, &h);
        if ((o.party == NULL) != (o.rule == QW_OWNER_NONE)) abort();
        (void)qw_site_is_jump_host(s, &h);
        (void)qw_site_in_vpn_pool(s, &a);
        const struct qw_site_change *out[2];
        for (size_t t = 0; t < sizeof times / sizeof times[0]; t++) {
            (void)qw_site_changes_active(s, times[t], o.zone, o.asset, 0, out, 2);
            (void)qw_site_remote_window_open(s, times[t]);
            if (o.zone) (void)qw_site_in_maintenance(o.zone, times[t]);
        }
    }
    uint32_t nz = s->nzones < 12 ? s->nzones : 12;
    for (uint32_t a = 0; a < nz; a++)
        for (uint32_t b = 0; b < nz; b++)
            for (size_t k = 0; k < sizeof APPS / sizeof APPS[0]; k++) {
                struct qw_site_flow f = {&s->zones[a], &s->zones[b], k & 1 ? 17 : 6,
                                         (uint16_t)(k ? 502 : 1500), APPS[k],
                                         (uint32_t)(0x7fff >> k)};
                struct qw_site_decision d = qw_site_conduit_check(s, &f);
                if ((d.verdict == QW_CONDUIT_ALLOWED) != (d.conduit && !d.denied &&
                                                          d.verdict != QW_CONDUIT_PROTOCOL))
                    abort();
            }
}

static void run(const char *text, size_t len)
{
    static struct qw_site_errors errs;
    struct qw_site *s = qw_site_load_buffer("fuzz.yaml", text, len, NULL, &errs);
    if (!s) {
        if (errs.n == 0) abort();
        for (size_t i = 1; i < errs.n; i++)
            if (errs.e[i].line < errs.e[i - 1].line) abort();
        return;
    }
    exercise(s);
    qw_site_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct buf x;
    run((const char *)data, size);
    /* one edit, a few, many: from shallow to deep damage */
    static const size_t depth[3] = {1, 3, 24};
    for (size_t v = 0; v < 3 && v < size; v++) {
        edit(&x, data, size, v, depth[v]);
        run(x.b, x.n);
    }
    return 0;
}
