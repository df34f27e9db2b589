#include "analysis/oui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LEN36, LEN28, LEN24 };
static const unsigned prefix_bits[3] = {36, 28, 24};

static bool arena_add(struct qw_oui_db *db, const char *s, size_t n, uint32_t *off)
{
    if (db->names_len + n + 1 > db->names_cap) {
        size_t cap = db->names_cap ? db->names_cap * 2 : 1u << 20;
        while (cap < db->names_len + n + 1) cap *= 2;
        char *p = realloc(db->names, cap);
        if (!p) return false;
        db->names = p;
        db->names_cap = cap;
    }
    *off = (uint32_t)db->names_len;
    memcpy(db->names + db->names_len, s, n);
    db->names[db->names_len + n] = '\0';
    db->names_len += n + 1;
    return true;
}

/* One CSV field starting at *p (RFC 4180 quoting); returns its length after unquoting into
 * out (NUL-terminated, truncated to cap) and moves *p past the separator. */
static size_t csv_field(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    bool quoted = *s == '"';
    if (quoted) s++;
    while (*s && *s != '\n' && *s != '\r') {
        if (quoted && *s == '"') {
            if (s[1] == '"') {
                s++;
            } else {
                quoted = false;
                s++;
                continue;
            }
        } else if (!quoted && *s == ',') {
            break;
        }
        if (n + 1 < cap) out[n++] = *s;
        s++;
    }
    if (*s == ',') s++;
    *p = s;
    out[n] = '\0';
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Registry,Assignment,Organization Name,Organization Address */
static bool load_file(struct qw_oui_db *db, const char *path, size_t *cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return false;
    char line[1024], reg[16], hex[16], org[256];
    bool header = true;
    while (fgets(line, sizeof line, fp)) {
        if (header) { /* the column names */
            header = false;
            continue;
        }
        const char *p = line;
        csv_field(&p, reg, sizeof reg);
        size_t hl = csv_field(&p, hex, sizeof hex);
        size_t ol = csv_field(&p, org, sizeof org);
        int which = hl == 9 ? LEN36 : hl == 7 ? LEN28 : hl == 6 ? LEN24 : -1;
        if (which < 0 || ol == 0) continue;
        uint64_t v = 0;
        bool ok = true;
        for (size_t i = 0; i < hl; i++) {
            int h = hexval(hex[i]);
            if (h < 0) ok = false;
            v = v << 4 | (uint64_t)(h < 0 ? 0 : h);
        }
        if (!ok) continue;
        while (ol && org[ol - 1] == ' ') org[--ol] = '\0';
        if (ol == 0) continue;
        if (db->count[which] == cap[which]) {
            size_t nc = cap[which] ? cap[which] * 2 : 4096;
            struct qw_oui_entry *e = realloc(db->by_len[which], nc * sizeof *e);
            if (!e) break;
            db->by_len[which] = e;
            cap[which] = nc;
        }
        struct qw_oui_entry *e = &db->by_len[which][db->count[which]];
        e->prefix = v << (48 - prefix_bits[which]);
        if (!arena_add(db, org, ol, &e->name_off)) break;
        db->count[which]++;
    }
    fclose(fp);
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct qw_oui_entry *x = a, *y = b;
    return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

bool qw_oui_load(struct qw_oui_db *db, const char *dir, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    static const char *const files[] = {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"};
    size_t cap[3] = {0, 0, 0};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (!load_file(db, path, cap) && i == 0) {
            snprintf(err, errlen, "%s: cannot read the IEEE MA-L registry (package ieee-data)",
                     path);
            qw_oui_free(db);
            return false;
        }
    }
    for (int k = 0; k < 3; k++)
        if (db->count[k]) qsort(db->by_len[k], db->count[k], sizeof *db->by_len[k], cmp_entry);
    return true;
}

void qw_oui_free(struct qw_oui_db *db)
{
    for (int k = 0; k < 3; k++) free(db->by_len[k]);
    free(db->names);
    memset(db, 0, sizeof *db);
}

const char *qw_oui_lookup(const struct qw_oui_db *db, const uint8_t mac[6])
{
    if (!db || (mac[0] & 0x03)) return NULL; /* locally administered or group address */
    uint64_t m = 0;
    for (int i = 0; i < 6; i++) m = m << 8 | mac[i];
    for (int k = 0; k < 3; k++) {
        uint64_t key = m >> (48 - prefix_bits[k]) << (48 - prefix_bits[k]);
        size_t lo = 0, hi = db->count[k];
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            uint64_t p = db->by_len[k][mid].prefix;
            if (p == key) {
                /* A block registered as "Private" hides its owner, and the MA-L ranges the
                 * IEEE carves into MA-M/MA-S blocks name the registry, not a maker. */
                const char *name = db->names + db->by_len[k][mid].name_off;
                if (strcmp(name, "Private") == 0 ||
                    strcmp(name, "IEEE Registration Authority") == 0)
                    return NULL;
                return name;
            }
            if (p < key)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}

const struct qw_oui_db *qw_oui_default(void)
{
    static struct qw_oui_db db;
    static int state; /* 0 not tried, 1 loaded, -1 unavailable */
    if (state == 0) {
        char err[256];
        state = qw_oui_load(&db, QW_OUI_DIR, err, sizeof err) ? 1 : -1;
    }
    return state == 1 ? &db : NULL;
}
