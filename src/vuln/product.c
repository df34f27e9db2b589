/* Whether an inventory asset is the product an advisory names (product.h).
 *
 * A false match is a false vulnerability finding, worse than a miss: vendors match by whole
 * words only, and a model names a product only when it is distinctive (4 characters or more,
 * with a digit) and stands as a whole token of the product's name. docs/vulnerabilities.md,
 * "How products and versions are matched", gives the rules with real examples. Inputs may be
 * any bytes: ASCII letters and digits are read, every other byte is a separator (vendors) or
 * must match itself (models). */
#include "vuln/product.h"

#include <string.h>

#include "util/ascii.h"

/* ---- vendors ---- */

#define MAX_WORDS 12

/* A vendor name as words: lowercase ASCII letters and digits; the dots of abbreviations go
 * ("S.A." is "sa", "Co." is "co"), every other byte separates. */
struct words {
    const char *w[MAX_WORDS];
    size_t n[MAX_WORDS];
    size_t count;
    bool overflow;
};

/* Company forms, not names: dropped at the end of a name ("Siemens AG", "Mitsubishi Electric
 * Corporation", "Hirschmann Automation and Control GmbH", "GmbH & Co. KG"). */
static const char *const company_suffixes[] = {
    "ag",  "gmbh", "inc", "incorporated", "corp", "corporation", "co",  "company", "ltd",
    "limited", "llc", "se", "sa", "plc", "kg", "bv", "nv", "ab", "oy", "spa", "srl", "kk",
    "pty", "pte", "sas", "sarl", "and",
};

/* Words that name no company alone: a vendor reduced to one of them matches none by prefix
 * ("General" is not "General Electric", "Electric" not "Schneider Electric"). */
static const char *const generic_words[] = {
    "general", "electric", "national", "international", "american", "united", "advanced",
    "industrial", "industries", "automation", "systems", "technologies", "technology",
    "digital", "global", "energy", "power", "control", "controls", "software", "networks",
    "solutions", "group", "holdings", "the",
};

static bool word_eq(const char *a, size_t an, const char *b, size_t bn)
{
    /* words hold dots that do not count ("s.a" is "sa") */
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && a[i] == '.') i++;
        while (j < bn && b[j] == '.') j++;
        if (i == an || j == bn) return i == an && j == bn;
        if (qw_ascii_lower((unsigned char)a[i]) != qw_ascii_lower((unsigned char)b[j])) return false;
        i++, j++;
    }
}

static bool in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (word_eq(w, n, list[i], strlen(list[i]))) return true;
    return false;
}

#define IN_LIST(w, n, list) in_list(w, n, list, sizeof list / sizeof *list)

/* The words of [p, end), company suffixes dropped from the end. */
static void split_words(const char *p, const char *end, struct words *ws)
{
    ws->count = 0;
    ws->overflow = false;
    while (p < end) {
        while (p < end && !qw_is_alnum((unsigned char)*p)) p++;
        if (p >= end) break;
        const char *s = p;
        /* a dot followed by a letter or digit stays inside the word: "S.A.", "Co.KG" is two */
        while (p < end && (qw_is_alnum((unsigned char)*p) ||
                           (*p == '.' && p + 1 < end && qw_is_alnum((unsigned char)p[1]) &&
                            p - s == 1)))
            p++;
        if (ws->count == MAX_WORDS) {
            ws->overflow = true;
            return;
        }
        ws->w[ws->count] = s;
        ws->n[ws->count] = (size_t)(p - s);
        ws->count++;
    }
    while (ws->count > 0 &&
           IN_LIST(ws->w[ws->count - 1], ws->n[ws->count - 1], company_suffixes))
        ws->count--;
}

/* Names under which the same company appears, each with evidence: Allen-Bradley is Rockwell
 * Automation's brand (ICSA-20-072-03 files "Allen-Bradley Stratix 5950" under vendor "Rockwell
 * Automation"); ICSA-21-194-02, "Schneider Electric Modicon Controllers and Software", files
 * the Modicon M340 and M580 CPUs under vendor "Schneider Electric Software, LLC". */
static const struct {
    const char *name, *same_as;
} vendor_aliases[] = {
    {"allen bradley", "rockwell automation"},
    {"schneider electric software", "schneider electric"},
};

/* The words of an alias's canonical name, when `ws` is an alias. */
static void apply_alias(struct words *ws)
{
    for (size_t i = 0; i < sizeof vendor_aliases / sizeof *vendor_aliases; i++) {
        struct words a;
        const char *name = vendor_aliases[i].name;
        split_words(name, name + strlen(name), &a);
        if (a.count != ws->count) continue;
        bool same = true;
        for (size_t k = 0; k < a.count && same; k++)
            same = word_eq(a.w[k], a.n[k], ws->w[k], ws->n[k]);
        if (!same) continue;
        const char *to = vendor_aliases[i].same_as;
        split_words(to, to + strlen(to), ws);
        return;
    }
}

/* Equal, or one a whole-word prefix of the other that is more than a generic word. */
static bool words_same(const struct words *a, const struct words *b)
{
    if (a->count == 0 || b->count == 0 || a->overflow || b->overflow) return false;
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i < n; i++)
        if (!word_eq(a->w[i], a->n[i], b->w[i], b->n[i])) return false;
    if (a->count == b->count) return true;
    return !(n == 1 && IN_LIST(a->w[0], a->n[0], generic_words));
}

/* A vendor field may name several companies, one per comma: "ICONICS, Mitsubishi Electric",
 * "Hirschmann Automation and Control GmbH, Belden Inc."; parts that are only a company form
 * ("Schneider Electric Software, LLC") fall away. */
static const char *next_part(const char *p, const char *end, const char **part_end)
{
    const char *comma = memchr(p, ',', (size_t)(end - p));
    *part_end = comma ? comma : end;
    return comma ? comma + 1 : end;
}

bool qw_vendor_same(const char *inventory_vendor, const char *advisory_vendor)
{
    if (!inventory_vendor || !advisory_vendor) return false;
    const char *ie = inventory_vendor + strlen(inventory_vendor);
    const char *ae = advisory_vendor + strlen(advisory_vendor);
    for (const char *ip = inventory_vendor; ip < ie;) {
        const char *ipe;
        const char *inext = next_part(ip, ie, &ipe);
        struct words iw;
        split_words(ip, ipe, &iw);
        apply_alias(&iw);
        for (const char *ap = advisory_vendor; ap < ae;) {
            const char *ape;
            const char *anext = next_part(ap, ae, &ape);
            struct words aw;
            split_words(ap, ape, &aw);
            apply_alias(&aw);
            if (words_same(&iw, &aw)) return true;
            ap = anext;
        }
        ip = inext;
    }
    return false;
}

/* ---- models ---- */

/* U+25A1 WHITE SQUARE in UTF-8: Omron's one-character placeholder ("CP1L-EL20D □ - □"). */
static const char square[] = "\xe2\x96\xa1";

#define MAX_MODEL 128

/* The model without blanks, lowercase ("6ES7 315-2EH14-0AB0" -> "6es7315-2eh14-0ab0"); false
 * when empty or too long to be a model. */
static bool squeeze(const char *in, char *out, size_t *n)
{
    size_t k = 0;
    for (const char *p = in; *p; p++) {
        if (qw_is_space((unsigned char)*p)) continue;
        if (k + 1 >= MAX_MODEL) return false;
        out[k++] = (char)qw_ascii_lower((unsigned char)*p);
    }
    out[k] = '\0';
    *n = k;
    return k > 0;
}

/* "1756-ENBT/A": a catalogue number and its series, one letter after the last slash. */
static bool series_of(const char *m, size_t n, size_t *base, char *series)
{
    if (n < 3 || m[n - 2] != '/' || !qw_is_alpha((unsigned char)m[n - 1])) return false;
    *base = n - 2;
    *series = m[n - 1];
    return true;
}

/* Distinctive enough to be looked for in a name: 4 letters or digits or more, one a digit
 * ("PLC Server", "HMI RT OMS+" and "S71" are not; punctuation and other bytes do not count). */
static bool distinctive(const char *m, size_t n)
{
    size_t alnum = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        alnum += qw_is_alnum((unsigned char)m[i]);
        digits += qw_is_digit((unsigned char)m[i]);
    }
    return alnum >= 4 && digits > 0;
}

/* Characters that join a token of a name to its neighbour: "CP1L" is not a token of
 * "CP1L-EL20D", nor "1756-EN2T" of "1756-EN2TXT". */
static bool joins(unsigned char c) { return qw_is_alnum(c) || c == '-' || c == '_'; }

/* Does model m (squeezed) match the name at p, up to *endp? Blanks in the name do not count
 * ("6ES7 315-..." and "6ES7315-..."), □ stands for one letter or digit, * too. */
static bool match_at(const char *p, const char *end, const char *m, size_t n, const char **endp)
{
    size_t i = 0;
    while (i < n) {
        while (p < end && qw_is_space((unsigned char)*p)) p++;
        if (p >= end) return false;
        unsigned char mc = (unsigned char)m[i];
        if ((size_t)(end - p) >= 3 && memcmp(p, square, 3) == 0) {
            if (!qw_is_alnum(mc)) return false;
            p += 3;
        } else if (*p == '*') {
            if (!qw_is_alnum(mc)) return false;
            p++;
        } else if (qw_ascii_lower((unsigned char)*p) == mc) {
            p++;
        } else {
            return false;
        }
        i++;
    }
    *endp = p;
    return true;
}

/* The series a name gives right after a match ("1756-EN2T Series A", "1756-EN2T/B"), or 0. */
static char series_after(const char *p, const char *end)
{
    if (end - p >= 2 && p[0] == '/' && qw_is_alpha((unsigned char)p[1]) &&
        (end - p == 2 || !joins((unsigned char)p[2])))
        return (char)qw_ascii_lower((unsigned char)p[1]);
    const char *q = p;
    while (q < end && *q == ' ') q++;
    if (end - q >= 8 && (q[0] | 0x20) == 's' && strncmp(q + 1, "eries", 5) == 0 && q[6] == ' ' &&
        qw_is_alpha((unsigned char)q[7]) && (end - q == 8 || !joins((unsigned char)q[8])))
        return (char)qw_ascii_lower((unsigned char)q[7]);
    return 0;
}

/* Is model m a whole token of `name`? With `series`, a series the name gives must be it. */
static bool in_name(const char *name, const char *m, size_t n, char series)
{
    const char *end = name + strlen(name);
    for (const char *p = name; p < end; p++) {
        if (p > name && joins((unsigned char)p[-1])) continue;
        /* a placeholder in the name joins like the character it stands for */
        if (p - name >= 3 && memcmp(p - 3, square, 3) == 0) continue;
        const char *e;
        if (!match_at(p, end, m, n, &e)) continue;
        if (e < end && (joins((unsigned char)*e) || *e == '*')) continue;
        /* blanks around placeholders do not count: "CJ2H-CPU6 □ -EIP" is one token */
        const char *f = e;
        while (f < end && *f == ' ') f++;
        if (f < end && (*f == '-' || *f == '*' || (end - f >= 3 && memcmp(f, square, 3) == 0)))
            continue;
        if (e < end && *e == '.' && e + 1 < end && qw_is_alnum((unsigned char)e[1])) continue;
        if (series) {
            char named = series_after(e, end);
            if (named && named != series) continue;
        }
        return true;
    }
    return false;
}

enum qw_product_match qw_product_match(const char *asset_model, const char *product_name,
                                       const char *const *model_numbers, size_t nmodel_numbers)
{
    char m[MAX_MODEL], other[MAX_MODEL];
    size_t n, on, base = 0;
    char series = 0;
    if (!asset_model || !squeeze(asset_model, m, &n)) return QW_PRODUCT_NONE;
    bool has_series = series_of(m, n, &base, &series);
    for (size_t i = 0; model_numbers && i < nmodel_numbers; i++) {
        if (!model_numbers[i] || !squeeze(model_numbers[i], other, &on)) continue;
        if (on == n && memcmp(other, m, n) == 0) return QW_PRODUCT_MODEL_NUMBER;
        if (has_series && on == base && memcmp(other, m, base) == 0)
            return QW_PRODUCT_MODEL_NUMBER;
    }
    if (!product_name) return QW_PRODUCT_NONE;
    if (distinctive(m, n) && in_name(product_name, m, n, 0)) return QW_PRODUCT_NAME;
    if (has_series && distinctive(m, base) && in_name(product_name, m, base, series))
        return QW_PRODUCT_NAME;
    return QW_PRODUCT_NONE;
}
