/* The baseline as text: `baseline export` writes it, `baseline import` reads it back.
 *
 * Stable and sorted so that it diffs cleanly in git and a reviewer can sign it off: assets by
 * id, edges by client, server, port, transport, protocol; one asset per block, one edge per line;
 * every string double-quoted (YAML 1.2 s.7.3.1 escapes), so no value can change the structure.
 * Export, import, export gives the same bytes. Import goes through libyaml and reports every
 * mistake as FILE:LINE:COL like the site file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "baseline/baseline.h"
#include "engine/emit.h"

/* ---- export ------------------------------------------------------------------------------- */

static void quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A space- or comma-separated list as a YAML flow sequence of quoted strings. */
static void list(FILE *out, const char *items, char sep)
{
    fputc('[', out);
    const char *p = items;
    bool first = true;
    while (*p) {
        const char *e = strchr(p, sep);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            char item[QW_BL_TEXT];
            snprintf(item, sizeof item, "%.*s", (int)n, p);
            if (!first) fputs(", ", out);
            quoted(out, item);
            first = false;
        }
        p += n + (e ? 1 : 0);
    }
    fputc(']', out);
}

bool qw_baseline_export(const struct qw_baseline *bl, FILE *out)
{
    fputs("# quaywatch baseline: what this site looks like when it is normal.\n"
          "# Review it like code; `quaywatch baseline import FILE` loads it back.\n"
          "version: 1\n", out);
    fputs(bl->nassets ? "assets:\n" : "assets: []\n", out);
    for (size_t i = 0; i < bl->nassets; i++) {
        const struct qw_bl_asset *a = &bl->assets[i];
        fputs("  - id: ", out);
        quoted(out, a->id);
        fputs("\n    macs: ", out);
        list(out, a->macs, ' ');
        fputs("\n    ips: ", out);
        list(out, a->ips, ' ');
        const char *keys[4] = {"vendor", "model", "firmware", "serial"};
        const char *vals[4] = {a->vendor, a->model, a->firmware, a->serial};
        for (int k = 0; k < 4; k++) {
            fprintf(out, "\n    %s: ", keys[k]);
            quoted(out, vals[k]);
        }
        fputs("\n    roles: ", out);
        list(out, a->roles, ',');
        fputc('\n', out);
    }
    fputs(bl->nedges ? "edges:\n" : "edges: []\n", out);
    for (size_t i = 0; i < bl->nedges; i++) {
        const struct qw_bl_edge *e = &bl->edges[i];
        fputs("  - {client: ", out);
        quoted(out, e->client);
        fputs(", server: ", out);
        quoted(out, e->server);
        fputs(", proto: ", out);
        quoted(out, e->app);
        fprintf(out, ", transport: %s, port: %u, ops: [", e->transport, e->port);
        bool first = true;
        for (unsigned b = 0; b < 15; b++)
            if (e->ops & (1u << b)) {
                fprintf(out, "%s%s", first ? "" : ", ", qw_op_names[b]);
                first = false;
            }
        fputs("]}\n", out);
    }
    return !ferror(out);
}

/* ---- import ------------------------------------------------------------------------------- */

static bool grow(void *arr_ptr, size_t n, size_t *cap, size_t size)
{
    void **arr = arr_ptr;
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 32;
    void *p = realloc(*arr, nc * size);
    if (!p) return false;
    *arr = p;
    *cap = nc;
    return true;
}

struct reader {
    const char *path;
    yaml_parser_t p;
    yaml_event_t ev;
    bool have;
    int errors;
};

__attribute__((format(printf, 3, 4))) static void error_at(struct reader *r, yaml_mark_t m,
                                                           const char *fmt, ...)
{
    fprintf(stderr, "%s:%zu:%zu: ", r->path, m.line + 1, m.column + 1);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    r->errors++;
}

static bool next(struct reader *r)
{
    if (r->have) yaml_event_delete(&r->ev);
    r->have = false;
    if (!yaml_parser_parse(&r->p, &r->ev)) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", r->path, r->p.problem_mark.line + 1,
                r->p.problem_mark.column + 1, r->p.problem ? r->p.problem : "YAML syntax error");
        r->errors++;
        return false;
    }
    r->have = true;
    return true;
}

static const char *scalar(struct reader *r)
{
    return (const char *)r->ev.data.scalar.value;
}

/* Skip the value the current event starts (scalar, or a whole sequence/mapping). */
static bool skip_value(struct reader *r)
{
    int depth = 0;
    do {
        if (r->ev.type == YAML_SEQUENCE_START_EVENT || r->ev.type == YAML_MAPPING_START_EVENT)
            depth++;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT || r->ev.type == YAML_MAPPING_END_EVENT) depth--;
        if (depth == 0) return true;
    } while (next(r));
    return false;
}

/* A sequence of scalars, joined with `sep` into out. */
static bool read_list(struct reader *r, char sep, char *out, size_t cap, bool words)
{
    out[0] = '\0';
    if (r->ev.type != YAML_SEQUENCE_START_EVENT) {
        error_at(r, r->ev.start_mark, "expected a list");
        return skip_value(r);
    }
    size_t n = 0;
    while (next(r) && r->ev.type != YAML_SEQUENCE_END_EVENT) {
        if (r->ev.type != YAML_SCALAR_EVENT) {
            error_at(r, r->ev.start_mark, "expected a string in this list");
            if (!skip_value(r)) return false;
            continue;
        }
        const char *v = scalar(r);
        if (words && (strchr(v, ' ') || strchr(v, ','))) {
            error_at(r, r->ev.start_mark, "'%s' must not contain spaces or commas", v);
            continue;
        }
        int w = snprintf(out + n, cap - n, "%s%s", n ? (char[]){sep, 0} : "", v);
        if (w < 0 || (size_t)w >= cap - n) {
            error_at(r, r->ev.start_mark, "list too long");
            continue;
        }
        n += (size_t)w;
    }
    return r->have;
}

static bool read_text(struct reader *r, char *out, size_t cap)
{
    if (r->ev.type != YAML_SCALAR_EVENT) {
        error_at(r, r->ev.start_mark, "expected a string");
        return skip_value(r);
    }
    if (strlen(scalar(r)) >= cap) error_at(r, r->ev.start_mark, "value too long: '%s'", scalar(r));
    snprintf(out, cap, "%s", scalar(r));
    return true;
}

static bool read_asset(struct reader *r, struct qw_bl_asset *a)
{
    memset(a, 0, sizeof *a);
    yaml_mark_t start = r->ev.start_mark;
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        error_at(r, start, "an asset must be a mapping");
        return skip_value(r);
    }
    while (next(r) && r->ev.type != YAML_MAPPING_END_EVENT) {
        char key[32];
        yaml_mark_t km = r->ev.start_mark;
        snprintf(key, sizeof key, "%s", r->ev.type == YAML_SCALAR_EVENT ? scalar(r) : "");
        if (!next(r)) return false;
        bool ok = true;
        if (!strcmp(key, "id")) ok = read_text(r, a->id, sizeof a->id);
        else if (!strcmp(key, "macs")) ok = read_list(r, ' ', a->macs, sizeof a->macs, true);
        else if (!strcmp(key, "ips")) ok = read_list(r, ' ', a->ips, sizeof a->ips, true);
        else if (!strcmp(key, "vendor")) ok = read_text(r, a->vendor, sizeof a->vendor);
        else if (!strcmp(key, "model")) ok = read_text(r, a->model, sizeof a->model);
        else if (!strcmp(key, "firmware")) ok = read_text(r, a->firmware, sizeof a->firmware);
        else if (!strcmp(key, "serial")) ok = read_text(r, a->serial, sizeof a->serial);
        else if (!strcmp(key, "roles")) ok = read_list(r, ',', a->roles, sizeof a->roles, true);
        else {
            error_at(r, km, "unknown asset key '%s' (id, macs, ips, vendor, model, firmware, "
                            "serial, roles)", key);
            ok = skip_value(r);
        }
        if (!ok) return false;
    }
    if (!a->id[0]) error_at(r, start, "asset without an id");
    return r->have;
}

static bool read_edge(struct reader *r, struct qw_bl_edge *e)
{
    memset(e, 0, sizeof *e);
    yaml_mark_t start = r->ev.start_mark;
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        error_at(r, start, "an edge must be a mapping");
        return skip_value(r);
    }
    bool have_port = false;
    while (next(r) && r->ev.type != YAML_MAPPING_END_EVENT) {
        char key[32];
        yaml_mark_t km = r->ev.start_mark;
        snprintf(key, sizeof key, "%s", r->ev.type == YAML_SCALAR_EVENT ? scalar(r) : "");
        if (!next(r)) return false;
        bool ok = true;
        if (!strcmp(key, "client")) ok = read_text(r, e->client, sizeof e->client);
        else if (!strcmp(key, "server")) ok = read_text(r, e->server, sizeof e->server);
        else if (!strcmp(key, "proto")) ok = read_text(r, e->app, sizeof e->app);
        else if (!strcmp(key, "transport")) {
            ok = read_text(r, e->transport, sizeof e->transport);
            if (strcmp(e->transport, "tcp") && strcmp(e->transport, "udp") &&
                strcmp(e->transport, "ip"))
                error_at(r, r->ev.start_mark, "transport must be tcp, udp or ip, not '%s'",
                         e->transport);
        } else if (!strcmp(key, "port")) {
            char num[16];
            ok = read_text(r, num, sizeof num);
            char *end;
            long v = strtol(num, &end, 10);
            if (!num[0] || *end || v < 0 || v > 65535)
                error_at(r, r->ev.start_mark, "port must be 0..65535, not '%s'", num);
            e->port = (uint16_t)v;
            have_port = true;
        } else if (!strcmp(key, "ops")) {
            char ops[256];
            yaml_mark_t om = r->ev.start_mark;
            ok = read_list(r, ',', ops, sizeof ops, true);
            for (char *tok = strtok(ops, ","); tok; tok = strtok(NULL, ",")) {
                int bit = -1;
                for (int b = 0; b < 15; b++)
                    if (!strcmp(tok, qw_op_names[b])) bit = b;
                if (bit < 0)
                    error_at(r, om, "unknown operation class '%s'", tok);
                else
                    e->ops |= 1u << bit;
            }
        } else {
            error_at(r, km, "unknown edge key '%s' (client, server, proto, transport, port, ops)",
                     key);
            ok = skip_value(r);
        }
        if (!ok) return false;
    }
    if (!e->client[0] || !e->server[0] || !e->app[0] || !e->transport[0] || !have_port)
        error_at(r, start, "an edge needs client, server, proto, transport and port");
    return r->have;
}

static int cmp_asset(const void *x, const void *y)
{
    return strcmp(((const struct qw_bl_asset *)x)->id, ((const struct qw_bl_asset *)y)->id);
}

static int cmp_edge(const void *x, const void *y)
{
    const struct qw_bl_edge *a = x, *b = y;
    int r = strcmp(a->client, b->client);
    if (!r) r = strcmp(a->server, b->server);
    if (!r && a->port != b->port) r = a->port < b->port ? -1 : 1;
    if (!r) r = strcmp(a->transport, b->transport);
    if (!r) r = strcmp(a->app, b->app);
    return r;
}

bool qw_baseline_import(const char *path, struct qw_baseline *bl)
{
    memset(bl, 0, sizeof *bl);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "%s: cannot open\n", path);
        return false;
    }
    struct reader r = {.path = path};
    yaml_parser_initialize(&r.p);
    yaml_parser_set_input_file(&r.p, fp);
    size_t acap = 0, ecap = 0;
    bool version = false, top = false;
    /* stream start, document start, then the top-level mapping */
    while (next(&r)) {
        if (r.ev.type == YAML_MAPPING_START_EVENT) {
            top = true;
            break;
        }
        if (r.ev.type != YAML_STREAM_START_EVENT && r.ev.type != YAML_DOCUMENT_START_EVENT) {
            error_at(&r, r.ev.start_mark,
                     "a baseline file is a mapping with version, assets and edges");
            break;
        }
    }
    /* Each value handler leaves the current event on the value's last event. */
    while (top && next(&r) && r.ev.type != YAML_MAPPING_END_EVENT) {
        char key[32];
        yaml_mark_t km = r.ev.start_mark;
        snprintf(key, sizeof key, "%s", r.ev.type == YAML_SCALAR_EVENT ? scalar(&r) : "");
        if (!next(&r)) break;
        if (!strcmp(key, "version")) {
            version = true;
            if (r.ev.type != YAML_SCALAR_EVENT || strcmp(scalar(&r), "1") != 0)
                error_at(&r, r.ev.start_mark,
                         "unsupported baseline version (this quaywatch reads version 1)");
            if (!skip_value(&r)) break;
        } else if (!strcmp(key, "assets") || !strcmp(key, "edges")) {
            bool assets = key[0] == 'a';
            if (r.ev.type != YAML_SEQUENCE_START_EVENT) {
                error_at(&r, r.ev.start_mark, "'%s' must be a list", key);
                if (!skip_value(&r)) break;
                continue;
            }
            bool ok = true;
            while (ok && next(&r) && r.ev.type != YAML_SEQUENCE_END_EVENT) {
                if (assets) {
                    ok = grow(&bl->assets, bl->nassets, &acap, sizeof *bl->assets) &&
                         read_asset(&r, &bl->assets[bl->nassets++]);
                } else {
                    ok = grow(&bl->edges, bl->nedges, &ecap, sizeof *bl->edges) &&
                         read_edge(&r, &bl->edges[bl->nedges++]);
                }
            }
            if (!ok || !r.have) break;
        } else {
            error_at(&r, km, "unknown key '%s' (version, assets, edges)", key);
            if (!skip_value(&r)) break;
        }
    }
    if (top && !version && r.errors == 0) {
        yaml_mark_t m = {0, 0, 0};
        error_at(&r, m, "missing 'version: 1'");
    }
    if (bl->nassets > 1) qsort(bl->assets, bl->nassets, sizeof *bl->assets, cmp_asset);
    for (size_t i = 1; i < bl->nassets; i++)
        if (strcmp(bl->assets[i].id, bl->assets[i - 1].id) == 0) {
            fprintf(stderr, "%s: asset '%s' appears twice\n", path, bl->assets[i].id);
            r.errors++;
        }
    if (bl->nedges > 1) qsort(bl->edges, bl->nedges, sizeof *bl->edges, cmp_edge);
    if (r.have) yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.p);
    fclose(fp);
    if (r.errors) qw_baseline_free(bl);
    return r.errors == 0;
}
