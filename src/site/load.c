/* Loading a site file: read it (bounded), build the YAML document with libyaml, walk it section
 * by section (parse.c) in dependency order, so that every reference can be resolved as it is
 * read, and return the model only when nothing was wrong.
 *
 * This file also holds the helpers every section uses to read the document: a mapping checked
 * against its allowed keys, lists, scalars, ids. Messages name the YAML node they are about;
 * libyaml's marks are 0-based, ours 1-based. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "site/internal.h"
#include "site/tz.h"

uint32_t qw_ld_line(const yaml_node_t *n)
{
    return (uint32_t)n->start_mark.line + 1;
}

uint32_t qw_ld_col(const yaml_node_t *n)
{
    return (uint32_t)n->start_mark.column + 1;
}

bool qw_ld_full(const struct qw_ld *ld)
{
    return ld->err->n >= QW_SITE_MAX_ERRORS || ld->oom;
}

bool qw_ld_err(struct qw_ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[QW_SITE_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qw_site_err(ld->err, n ? qw_ld_line(n) : 0, n ? qw_ld_col(n) : 0, "%s", msg);
}

const char *qw_ld_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "a single value";
    }
}

void *qw_ld_array(struct qw_ld *ld, size_t n, size_t size)
{
    void *p = qw_arena_array(ld->arena, n ? n : 1, size);
    if (!p) ld->oom = true;
    return p;
}

struct qw_site_pos qw_ld_pos(const yaml_node_t *n)
{
    return (struct qw_site_pos){qw_ld_line(n), qw_ld_col(n)};
}

/* A word from a fixed vocabulary; -1 (reported) when unknown. */
int qw_ld_vocab(struct qw_ld *ld, yaml_node_t *n, const char *key, const char *what,
                const char *const *names, size_t count)
{
    const char *s = qw_ld_text(ld, n, key, 100);
    if (!s) return -1;
    struct qw_suggest sg;
    int i = qw_vocab_find(s, names, count, &sg);
    if (i < 0) {
        char hint[200];
        if (!qw_suggest_best(&sg) && count <= 10) {
            /* a short vocabulary: list it */
            size_t len = (size_t)snprintf(hint, sizeof hint, " (one of");
            for (size_t j = 0, k = 0; j < count && len < sizeof hint; j++)
                if (names[j])
                    len += (size_t)snprintf(hint + len, sizeof hint - len, "%s %s",
                                            k++ ? "," : ":", names[j]);
            if (len < sizeof hint) snprintf(hint + len, sizeof hint - len, ")");
        } else if (!qw_suggest_best(&sg)) {
            snprintf(hint, sizeof hint, " (docs/site-file.md lists them)");
        } else {
            qw_suggest_text(&sg, hint, sizeof hint);
        }
        qw_ld_err(ld, n, "unknown %s '%s'%s", what, s, hint);
    }
    return i;
}

static yaml_node_t *node_at(struct qw_ld *ld, int index)
{
    return yaml_document_get_node(&ld->doc, index);
}

/* Printable, bounded copy of a key for messages. */
static const char *show(const yaml_node_t *k, char out[72])
{
    size_t n = k->data.scalar.length, j = 0;
    for (size_t i = 0; i < n && j < 64; i++) {
        unsigned char ch = k->data.scalar.value[i];
        out[j++] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
    }
    if (n > 64) out[j++] = '.', out[j++] = '.', out[j++] = '.';
    out[j] = 0;
    return out;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
    size_t len = strlen(s);
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           memcmp(n->data.scalar.value, s, len) == 0;
}

/* The marker `site draft` writes where a person must decide (docs/site-file.md). */
#define PLACEHOLDER "TODO"

bool qw_ld_map(struct qw_ld *ld, yaml_node_t *n, const char *where, const struct qw_keyspec *spec,
               size_t nspec, yaml_node_t **vals)
{
    yaml_node_t *seen[32] = {0};
    for (size_t i = 0; i < nspec; i++) vals[i] = NULL;
    if (!n || nspec > 32) return false;
    if (n->type != YAML_MAPPING_NODE) {
        qw_ld_err(ld, n, "%s must be a mapping (key: value), not %s", where, qw_ld_kind(n));
        return false;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top && !qw_ld_full(ld); p++) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        if (!k || !v) continue;
        if (k->type != YAML_SCALAR_NODE) {
            qw_ld_err(ld, k, "a key must be a plain word, not %s", qw_ld_kind(k));
            continue;
        }
        char key[72];
        size_t i = 0;
        while (i < nspec && !scalar_is(k, spec[i].key)) i++;
        if (i == nspec) {
            struct qw_suggest sg;
            char hint[96];
            qw_suggest_init(&sg, show(k, key));
            for (size_t j = 0; j < nspec; j++) qw_suggest_try(&sg, spec[j].key);
            qw_ld_err(ld, k, "unknown key '%s' in %s%s", key, where,
                      qw_suggest_text(&sg, hint, sizeof hint));
            continue;
        }
        if (seen[i]) {
            qw_ld_err(ld, k, "duplicate key '%s' (first at line %u)", spec[i].key,
                      (unsigned)qw_ld_line(seen[i]));
            continue;
        }
        seen[i] = k;
        if (scalar_is(v, PLACEHOLDER)) {
            qw_ld_err(ld, v, "placeholder TODO left in '%s': write %s", spec[i].key,
                      spec[i].what);
            continue;
        }
        vals[i] = v;
    }
    for (size_t i = 0; i < nspec && !qw_ld_full(ld); i++)
        if (spec[i].required && !seen[i])
            qw_ld_err(ld, n, "missing key '%s' in %s (%s)", spec[i].key, where, spec[i].what);
    return true;
}

yaml_node_t **qw_ld_list(struct qw_ld *ld, yaml_node_t *n, const char *key, size_t *count)
{
    *count = 0;
    if (!n) return NULL;
    if (n->type != YAML_SEQUENCE_NODE) {
        qw_ld_err(ld, n, "'%s' must be a list, not %s", key, qw_ld_kind(n));
        return NULL;
    }
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (len > QW_SITE_LIST_MAX) {
        qw_ld_err(ld, n, "'%s' has %zu entries, more than the %d allowed", key, len,
                  QW_SITE_LIST_MAX);
        return NULL;
    }
    yaml_node_t **items = qw_arena_array(ld->arena, len ? len : 1, sizeof *items);
    if (!items) {
        ld->oom = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *it = node_at(ld, n->data.sequence.items.start[i]);
        if (it) items[k++] = it;
    }
    *count = k;
    return items;
}

const char *qw_ld_text(struct qw_ld *ld, yaml_node_t *n, const char *key, size_t max)
{
    if (!n) return NULL;
    if (n->type != YAML_SCALAR_NODE) {
        qw_ld_err(ld, n, "'%s' must be a single value, not %s", key, qw_ld_kind(n));
        return NULL;
    }
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (len == 0 || (plain && (scalar_is(n, "~") || scalar_is(n, "null") ||
                               scalar_is(n, "Null") || scalar_is(n, "NULL")))) {
        qw_ld_err(ld, n, "'%s' is empty", key);
        return NULL;
    }
    if (memchr(v, 0, len)) {
        qw_ld_err(ld, n, "'%s' contains a NUL character", key);
        return NULL;
    }
    if (len > max) {
        qw_ld_err(ld, n, "'%s' is longer than %zu characters", key, max);
        return NULL;
    }
    if (scalar_is(n, PLACEHOLDER)) {
        qw_ld_err(ld, n, "placeholder TODO left in '%s'", key);
        return NULL;
    }
    char *s = qw_arena_strndup(ld->arena, v, len);
    if (!s) ld->oom = true;
    return s;
}

const char *qw_ld_id(struct qw_ld *ld, yaml_node_t *n, const char *key)
{
    const char *s = qw_ld_text(ld, n, key, 200);
    char why[200];
    if (s && !qw_parse_id(s, why, sizeof why)) {
        qw_ld_err(ld, n, "%s", why);
        return NULL;
    }
    return s;
}

const struct qw_tz *qw_ld_tz(struct qw_ld *ld, yaml_node_t *n, const char *key)
{
    const char *name = qw_ld_text(ld, n, key, QW_TZ_NAME_MAX);
    if (!name) return NULL;
    struct qw_site_index *ix = ld->ix;
    for (size_t i = 0; i < ix->ntzs; i++)
        if (strcmp(qw_tz_name(ix->tzs[i]), name) == 0) return ix->tzs[i];
    char why[256], hint[QW_TZ_NAME_MAX + 1];
    struct qw_tz *tz = qw_tz_load(ld->tzdir, name, why, sizeof why);
    if (!tz) {
        const char *dir = ld->tzdir ? ld->tzdir : qw_tz_default_dir();
        if (access(dir, R_OK | X_OK) != 0)
            qw_ld_err(ld, n, "unknown time zone '%s' (no time-zone database at %s: install tzdata)",
                      name, dir);
        else if (qw_tz_suggest(ld->tzdir, name, hint, sizeof hint))
            qw_ld_err(ld, n, "unknown time zone '%s' (did you mean '%s'?)", name, hint);
        else
            qw_ld_err(ld, n, "unknown time zone '%s' (names are like Europe/Rotterdam or UTC)",
                      name);
        return NULL;
    }
    if (ix->ntzs == ix->captzs) {
        size_t cap = ix->captzs ? ix->captzs * 2 : 8;
        struct qw_tz **t = realloc(ix->tzs, cap * sizeof *t);
        if (!t) {
            qw_tz_free(tz);
            ld->oom = true;
            return NULL;
        }
        ix->tzs = t;
        ix->captzs = cap;
    }
    ix->tzs[ix->ntzs++] = tz;
    return tz;
}

/* ---- the driver --------------------------------------------------------------------------- */

enum { K_SITE, K_DEFAULT_OWNER, K_TIMEZONE, K_PARTIES, K_ZONES, K_CONDUITS, K_ASSETS, K_MODULES,
       K_CHANGES, K_REMOTE, K_COUNT };

static const struct qw_keyspec top_keys[K_COUNT] = {
    [K_SITE] = {"site", true, "the site's name"},
    [K_DEFAULT_OWNER] = {"default_owner", false, "the id of the party that answers by default"},
    [K_TIMEZONE] = {"timezone", false, "an IANA time-zone name such as Europe/Rotterdam"},
    [K_PARTIES] = {"parties", false, "the list of parties"},
    [K_ZONES] = {"zones", false, "the list of zones"},
    [K_CONDUITS] = {"conduits", false, "the list of conduits"},
    [K_ASSETS] = {"assets", false, "the list of declared assets"},
    [K_MODULES] = {"modules", false, "the list of software modules"},
    [K_CHANGES] = {"changes", false, "the list of approved change records"},
    [K_REMOTE] = {"remote_access", false, "the remote-access rules"},
};

/* Line and column (1-based) of a byte offset, for reader errors that carry only an offset. */
static void offset_pos(const char *buf, size_t len, size_t off, uint32_t *line, uint32_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
            ++*col; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

static void syntax_error(struct qw_ld *ld, yaml_parser_t *p, const char *buf, size_t len)
{
    uint32_t line = (uint32_t)p->problem_mark.line + 1, col = (uint32_t)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) offset_pos(buf, len, p->problem_offset, &line, &col);
    if (p->error == YAML_MEMORY_ERROR) {
        qw_site_err(ld->err, 0, 0, "out of memory reading the site file");
        return;
    }
    if (p->context)
        qw_site_err(ld->err, line, col, "YAML syntax error: %s (%s at line %u)",
                    p->problem ? p->problem : "bad YAML", p->context,
                    (unsigned)p->context_mark.line + 1);
    else
        qw_site_err(ld->err, line, col, "YAML syntax error: %s",
                    p->problem ? p->problem : "bad YAML");
}

static void load_document(struct qw_ld *ld)
{
    struct qw_site *s = ld->site;
    yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
    if (!root) {
        qw_site_err(ld->err, 1, 1, "the site file is empty");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        qw_ld_err(ld, root, "the site file must be a mapping (key: value) at the top");
        return;
    }
    yaml_node_t *v[K_COUNT];
    qw_ld_map(ld, root, "the site file", top_keys, K_COUNT, v);
    s->name = qw_ld_text(ld, v[K_SITE], "site", QW_SITE_TEXT_MAX);
    s->timezone = qw_tz_utc();
    if (v[K_TIMEZONE]) {
        const struct qw_tz *tz = qw_ld_tz(ld, v[K_TIMEZONE], "timezone");
        if (tz) s->timezone = tz;
    }
    qw_parse_parties(ld, v[K_PARTIES]);
    qw_index_parties(ld);
    if (v[K_DEFAULT_OWNER]) s->default_owner = qw_ld_party_ref(ld, v[K_DEFAULT_OWNER], "default_owner");
    qw_parse_zones(ld, v[K_ZONES]);
    qw_index_zones(ld);
    qw_parse_assets(ld, v[K_ASSETS]);
    qw_index_assets(ld);
    qw_parse_conduits(ld, v[K_CONDUITS]);
    qw_index_conduits(ld);
    qw_parse_modules(ld, v[K_MODULES]);
    qw_check_modules(ld);
    qw_parse_changes(ld, v[K_CHANGES]);
    qw_check_changes(ld);
    qw_parse_remote(ld, v[K_REMOTE]);
}

void qw_site_free(struct qw_site *s)
{
    if (!s) return;
    if (s->index) {
        for (size_t i = 0; i < s->index->ntzs; i++) qw_tz_free(s->index->tzs[i]);
        free(s->index->tzs);
        free(s->index);
    }
    qw_arena_free(s->arena);
    free(s);
}

struct qw_site *qw_site_load_buffer(const char *name, const char *buf, size_t len,
                                    const struct qw_site_load_opts *opts,
                                    struct qw_site_errors *err)
{
    memset(err, 0, sizeof *err);
    err->file = name;
    struct qw_site *s = calloc(1, sizeof *s);
    struct qw_ld ld = {.err = err, .site = s, .tzdir = opts ? opts->tzdir : NULL};
    if (s) {
        s->arena = qw_arena_new();
        s->index = calloc(1, sizeof *s->index);
    }
    if (!s || !s->arena || !s->index) {
        qw_site_err(err, 0, 0, "out of memory loading the site file");
        qw_site_free(s);
        return NULL;
    }
    ld.arena = s->arena;
    ld.ix = s->index;
    s->file = qw_arena_strndup(s->arena, name, strlen(name));
    if (len > QW_SITE_FILE_MAX) {
        qw_site_err(err, 0, 0, "larger than %u MiB: not a site file", QW_SITE_FILE_MAX >> 20);
        qw_site_free(s);
        return NULL;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        qw_site_err(err, 0, 0, "out of memory loading the site file");
        qw_site_free(s);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        syntax_error(&ld, &parser, buf, len);
    } else {
        load_document(&ld);
        bool had_root = yaml_document_get_root_node(&ld.doc) != NULL;
        yaml_document_delete(&ld.doc);
        /* a second document would be silently ignored: say so instead */
        if (had_root && err->n == 0) {
            yaml_document_t next;
            if (!yaml_parser_load(&parser, &next)) {
                syntax_error(&ld, &parser, buf, len);
            } else {
                yaml_node_t *r = yaml_document_get_root_node(&next);
                if (r)
                    qw_site_err(err, (uint32_t)r->start_mark.line + 1,
                                (uint32_t)r->start_mark.column + 1,
                                "a second YAML document: a site file holds one");
                yaml_document_delete(&next);
            }
        }
    }
    yaml_parser_delete(&parser);
    if (ld.oom) qw_site_err(err, 0, 0, "out of memory loading the site file");
    qw_site_errors_sort(err);
    if (err->n || err->truncated) {
        qw_site_free(s);
        return NULL;
    }
    return s;
}

struct qw_site *qw_site_load_file(const char *path, const struct qw_site_load_opts *opts,
                                  struct qw_site_errors *err)
{
    memset(err, 0, sizeof *err);
    err->file = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        qw_site_err(err, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    bool too_big = false, ioerr = false;
    while (buf) {
        if (len == cap) {
            if (cap > QW_SITE_FILE_MAX) {
                too_big = true;
                break;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            ioerr = ferror(f) != 0;
            break;
        }
    }
    int saved = errno;
    fclose(f);
    struct qw_site *s = NULL;
    if (!buf)
        qw_site_err(err, 0, 0, "out of memory reading the site file");
    else if (ioerr)
        qw_site_err(err, 0, 0, "cannot read: %s", strerror(saved));
    else if (too_big || len > QW_SITE_FILE_MAX)
        qw_site_err(err, 0, 0, "larger than %u MiB: not a site file", QW_SITE_FILE_MAX >> 20);
    else
        s = qw_site_load_buffer(path, buf, len, opts, err);
    free(buf);
    return s;
}
