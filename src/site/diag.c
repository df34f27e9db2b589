/* Error list of a site load and "did you mean" suggestions by edit distance. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "site/internal.h"

bool qw_site_err(struct qw_site_errors *e, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (e->n >= QW_SITE_MAX_ERRORS) {
        e->truncated = true;
        return false;
    }
    struct qw_site_error *x = &e->e[e->n++];
    if (e->n == QW_SITE_MAX_ERRORS) e->truncated = true; /* the checker stops here */
    x->line = line;
    x->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
    return e->n < QW_SITE_MAX_ERRORS;
}

void qw_site_errors_sort(struct qw_site_errors *e)
{
    /* insertion sort: stable, and the list is short */
    for (size_t i = 1; i < e->n; i++) {
        struct qw_site_error t = e->e[i];
        size_t j = i;
        while (j > 0 && (e->e[j - 1].line > t.line ||
                         (e->e[j - 1].line == t.line && e->e[j - 1].col > t.col))) {
            e->e[j] = e->e[j - 1];
            j--;
        }
        e->e[j] = t;
    }
}

size_t qw_site_error_format(const struct qw_site_errors *e, size_t i, char *buf, size_t len)
{
    const struct qw_site_error *x = &e->e[i];
    int n = x->line ? snprintf(buf, len, "%s:%u:%u: %s", e->file, (unsigned)x->line,
                               (unsigned)x->col, x->msg)
                    : snprintf(buf, len, "%s: %s", e->file, x->msg);
    if (n < 0) return 0;
    return (size_t)n < len ? (size_t)n : (len ? len - 1 : 0);
}

void qw_site_errors_print(const struct qw_site_errors *e, FILE *out)
{
    char line[QW_SITE_ERR_MSG + 4200];
    for (size_t i = 0; i < e->n; i++) {
        qw_site_error_format(e, i, line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    if (e->truncated)
        fprintf(out, "%s: stopped after %d errors (there may be more): fix these first\n",
                e->file, QW_SITE_MAX_ERRORS);
}

/* ---- suggestions -------------------------------------------------------------------------- */

#define WORD_MAX 64 /* longer words get no suggestion */

unsigned qw_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > WORD_MAX || lb > WORD_MAX) return 1000;
    unsigned row[WORD_MAX + 1], prev[WORD_MAX + 1];
    for (size_t j = 0; j <= lb; j++) prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                          tolower((unsigned char)b[j - 1]));
            unsigned del = prev[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, row, (lb + 1) * sizeof row[0]);
    }
    return prev[lb];
}

void qw_suggest_init(struct qw_suggest *sg, const char *word)
{
    sg->word = word;
    sg->best = NULL;
    sg->dist = ~0u;
}

static bool prefix_of(const char *p, const char *s)
{
    size_t n = strlen(p);
    return n >= 3 && strncasecmp(p, s, n) == 0;
}

void qw_suggest_try(struct qw_suggest *sg, const char *cand)
{
    if (!cand || !sg->word) return;
    unsigned d = qw_edit_distance(sg->word, cand);
    /* "monday" for "mon", "zone" for "zones": one letter's worth */
    if (d > 1 && (prefix_of(sg->word, cand) || prefix_of(cand, sg->word))) d = 1;
    if (d < sg->dist) {
        sg->dist = d;
        sg->best = cand;
    }
}

const char *qw_suggest_best(const struct qw_suggest *sg)
{
    if (!sg->best || !sg->word) return NULL;
    size_t n = strlen(sg->word);
    unsigned limit = n <= 2 ? 0 : n <= 4 ? 1 : n <= 8 ? 2 : 3;
    return sg->dist <= limit ? sg->best : NULL;
}

const char *qw_suggest_text(const struct qw_suggest *sg, char *buf, size_t len)
{
    const char *b = qw_suggest_best(sg);
    if (b)
        snprintf(buf, len, " (did you mean '%s'?)", b);
    else if (len)
        buf[0] = 0;
    return buf;
}
