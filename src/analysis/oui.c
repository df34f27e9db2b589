#include "analysis/oui.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The first `c` in [s, end), or end. */
static const char *until(const char *s, const char *end, char c)
{
    const char *q = memchr(s, c, (size_t)(end - s));
    return q ? q : end;
}

/* `run` bytes more of a field: all counted in *len, as many copied to out as fit (cap - 1). */
static void field_add(char *out, size_t cap, size_t *n, size_t *len, const char *s, size_t run)
{
    size_t room = cap - 1 - *n;
    size_t take = run < room ? run : room;
    memcpy(out + *n, s, take);
    *n += take;
    *len += run;
}

/* One CSV field of the line [*p, end) (RFC 4180 quoting): unquoted into out (NUL-terminated,
 * truncated to cap), its full length returned, *p moved past the separator. */
static size_t csv_field(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0, len = 0;
    if (s < end && *s == '"') {
        for (s++;;) {
            const char *q = until(s, end, '"');
            field_add(out, cap, &n, &len, s, (size_t)(q - s));
            s = q;
            if (s == end) break; /* never closed: the line ends it */
            if (s + 1 < end && s[1] == '"') { /* an escaped quote */
                field_add(out, cap, &n, &len, "\"", 1);
                s += 2;
                continue;
            }
            /* the closing quote: what follows up to the separator is the field's too */
            const char *c = until(++s, end, ',');
            field_add(out, cap, &n, &len, s, (size_t)(c - s));
            s = c;
            break;
        }
    } else {
        const char *c = until(s, end, ',');
        field_add(out, cap, &n, &len, s, (size_t)(c - s));
        s = c;
    }
    if (s < end && *s == ',') s++;
    *p = s;
    out[n] = '\0';
    return len;
}

/* One registration line [line, end): Registry,Assignment,Organization Name,Organization
 * Address. False when out of memory (what was loaded so far stays). */
static bool load_line(struct qw_oui_db *db, const char *line, const char *end, size_t *cap)
{
    char reg[16], hex[16], org[256];
    if (end > line && end[-1] == '\r') end--;
    const char *p = line;
    csv_field(&p, end, reg, sizeof reg);
    size_t hl = csv_field(&p, end, hex, sizeof hex);
    csv_field(&p, end, org, sizeof org);
    size_t ol = strlen(org);
    int which = hl == 9 ? LEN36 : hl == 7 ? LEN28 : hl == 6 ? LEN24 : -1;
    if (which < 0 || ol == 0) return true;
    uint64_t v = 0;
    for (size_t i = 0; i < hl; i++) {
        int h = hexval(hex[i]);
        if (h < 0) return true;
        v = v << 4 | (uint64_t)h;
    }
    while (ol && org[ol - 1] == ' ') org[--ol] = '\0';
    if (ol == 0) return true;
    if (db->count[which] == cap[which]) {
        size_t nc = cap[which] ? cap[which] * 2 : 4096;
        struct qw_oui_entry *e = realloc(db->by_len[which], nc * sizeof *e);
        if (!e) return false;
        db->by_len[which] = e;
        cap[which] = nc;
    }
    struct qw_oui_entry *e = &db->by_len[which][db->count[which]];
    e->prefix = v << (48 - prefix_bits[which]);
    if (!arena_add(db, org, ol, &e->name_off)) return false;
    db->count[which]++;
    return true;
}

/* The bytes the registries are read through, a chunk at a time. Reading each file whole took
 * megabytes of fresh memory, and on virtual machines where a page fault costs microseconds that
 * was most of the load (bench/README.md); parsing from memory, not line by line through stdio,
 * is what keeps it fast. */
#define OUI_CHUNK (256u << 10)

/* One registry file, a line at a time after its header. A line longer than the chunk (none
 * is) is cut to it. False when the file cannot be opened or read. */
static bool load_file(struct qw_oui_db *db, const char *path, size_t *cap, char *buf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t have = 0;
    bool eof = false, header = true, skip = false, ok = true, room = true;
    while (room) {
        if (!eof) {
            ssize_t n = read(fd, buf + have, OUI_CHUNK - have);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) ok = false;
            if (n <= 0) eof = true;
            else have += (size_t)n;
        }
        const char *line = buf, *all = buf + have;
        while (line < all) {
            const char *nl = memchr(line, '\n', (size_t)(all - line));
            bool full = line == buf && have == OUI_CHUNK;
            if (!nl && !eof && !full) break; /* the rest of the line is still to be read */
            const char *end = nl ? nl : all;
            if (skip) { /* the tail of a line cut to the chunk */
                skip = !nl;
            } else if (header) { /* the column names */
                header = false;
            } else if (!load_line(db, line, end, cap)) {
                room = false;
                break;
            }
            if (!nl && full) skip = true;
            line = nl ? nl + 1 : all;
        }
        have = (size_t)(all - line);
        memmove(buf, line, have);
        if (eof && have == 0) break;
    }
    close(fd);
    return ok;
}

/* Stable LSD radix sort by prefix, a byte a pass over the bytes a block's prefix can set (the
 * bits below it are zero): qsort's comparisons were two fifths of loading the registries. */
static bool sort_entries(struct qw_oui_entry *e, size_t n, unsigned bits)
{
    struct qw_oui_entry *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return false;
    struct qw_oui_entry *src = e, *dst = tmp;
    for (unsigned shift = (48 - bits) / 8 * 8; shift < 48; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[((src[i].prefix >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++) dst[count[(src[i].prefix >> shift) & 0xff]++] = src[i];
        struct qw_oui_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != e) memcpy(e, src, n * sizeof *e);
    free(tmp);
    return true;
}

bool qw_oui_load(struct qw_oui_db *db, const char *dir, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    static const char *const files[] = {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"};
    size_t cap[3] = {0, 0, 0};
    char path[4096];
    char *buf = malloc(OUI_CHUNK);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory reading the IEEE registries", dir);
        return false;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (!load_file(db, path, cap, buf) && i == 0) {
            snprintf(err, errlen, "%s: cannot read the IEEE MA-L registry (package ieee-data)",
                     path);
            free(buf);
            qw_oui_free(db);
            return false;
        }
    }
    free(buf);
    for (int k = 0; k < 3; k++) {
        if (db->count[k] && !sort_entries(db->by_len[k], db->count[k], prefix_bits[k])) {
            snprintf(err, errlen, "%s: out of memory sorting the IEEE registries", dir);
            qw_oui_free(db);
            return false;
        }
    }
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

static struct qw_oui_db default_db;
static bool default_loaded;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void load_default(void)
{
    char err[256];
    default_loaded = qw_oui_load(&default_db, QW_OUI_DIR, err, sizeof err);
}

const struct qw_oui_db *qw_oui_default(void)
{
    pthread_once(&default_once, load_default); /* waits for a preload under way */
    return default_loaded ? &default_db : NULL;
}

static void *preload_main(void *arg)
{
    (void)arg;
    qw_oui_default();
    return NULL;
}

bool qw_oui_preload_start(pthread_t *thread)
{
    return pthread_create(thread, NULL, preload_main, NULL) == 0;
}
