/* Firmware versions and the version sets of CSAF advisories (version.h).
 *
 * Two layers. qw_version_cmp orders any two strings (a total order, so a range check never
 * depends on which side is asked first). qw_vers_contains reads a leaf's expression into a list
 * of (comparator, version) constraints, refuses what it cannot read safely (UNKNOWN, never a
 * guess: a false match is a false finding) and runs the containment algorithm of the vers spec
 * over that list. docs/vulnerabilities.md, "How products and versions are matched", lists every
 * form with a real example. Every input byte may come from a packet: no allocation, no
 * recursion, every loop bounded by the input's length. */
#include "vuln/version.h"

#include <stddef.h>
#include <string.h>

#include "util/ascii.h"

/* Characters are ASCII only (util/ascii.h): any other byte is a separator, never part of a
 * token. */


/* Case-insensitive: does [p, end) start with `word`? */
static bool starts_with(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n) return false;
    for (size_t i = 0; i < n; i++)
        if (qw_ascii_lower((unsigned char)p[i]) != (unsigned char)word[i]) return false;
    return true;
}

/* Is [p, p+n) exactly `word`, case-insensitively? */
static bool word_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && starts_with(p, p + n, word);
}

/* ---- prefixes that say "version" ---- */

/* Longest first, so "version" is not read as "v" + "ersion". "R" (Honeywell R520.2, Rockwell
 * CCW R21) and "SV" (Schneider SV2.6) are release and software-version marks of the same kind. */
static const char *const version_prefixes[] = {
    "firmware", "version", "ver", "fw", "sv", "v", "r",
};

/* Separators allowed between a prefix and its number: "Firmware__20.011", "v.32.011". */
static bool is_prefix_sep(unsigned char c)
{
    return c == '.' || c == '_' || c == ' ' || c == '-' || c == ':';
}

/* [p, end) after any version prefixes, when they lead to a digit ("Version v1.0" -> "1.0");
 * p itself otherwise. A prefix is only a prefix before a number: "VX.223" keeps its V. */
static const char *skip_prefixes(const char *p, const char *end)
{
    const char *q = p;
    for (int depth = 0; depth < 3; depth++) { /* "Version v1.0": at most a few in a row */
        size_t len = 0;
        for (size_t i = 0; i < sizeof version_prefixes / sizeof *version_prefixes; i++)
            if (starts_with(q, end, version_prefixes[i])) {
                len = strlen(version_prefixes[i]);
                break;
            }
        if (len == 0 || (q + len < end && qw_is_alpha((unsigned char)q[len]))) return p;
        const char *r = q + len;
        while (r < end && is_prefix_sep((unsigned char)*r)) r++;
        if (r < end && qw_is_digit((unsigned char)*r)) return r;
        q = r;
    }
    return p;
}

/* ---- tokens ---- */

enum tok_kind { TOK_END, TOK_NUM, TOK_ALPHA };

struct tok {
    enum tok_kind kind;
    const char *p; /* a number without its leading zeros (n == 0 for zero) */
    size_t n;
};

/* Words that mark a pre-release: older than the version without them ("1.0 beta" < "1.0"). */
static const char *const prerelease_words[] = {"alpha", "beta", "rc", "pre", "preview", "dev"};

/* Spellings of one suffix: "Upd4" is "Update 4". */
static const struct {
    const char *word, *same_as;
} suffix_synonyms[] = {
    {"upd", "update"},
    {"hotfix", "hf"},
};

static bool is_prerelease(const struct tok *t)
{
    for (size_t i = 0; i < sizeof prerelease_words / sizeof *prerelease_words; i++)
        if (word_is(t->p, t->n, prerelease_words[i])) return true;
    return false;
}

/* The word a suffix compares as: itself, or the spelling its synonyms share. */
static void suffix_word(const struct tok *t, const char **p, size_t *n)
{
    for (size_t i = 0; i < sizeof suffix_synonyms / sizeof *suffix_synonyms; i++)
        if (word_is(t->p, t->n, suffix_synonyms[i].word)) {
            *p = suffix_synonyms[i].same_as;
            *n = strlen(*p);
            return;
        }
    *p = t->p;
    *n = t->n;
}

/* A lexer over one version string. `canonical` drops the zero components that do not change a
 * version: trailing ones ("1.0.0" = "1") and those before a suffix ("15.0 SP1" = "15 SP1"). A
 * run of zeros is scanned once and then replayed from a counter, so the work stays linear. */
struct lexer {
    const char *p, *end;
    bool canonical;
    size_t zeros; /* zero components still to return */
};

static void lexer_init(struct lexer *lx, const char *p, size_t n, bool canonical)
{
    const char *end = p + n;
    while (p < end && !qw_is_alnum((unsigned char)*p)) p++;
    lx->p = skip_prefixes(p, end);
    lx->end = end;
    lx->canonical = canonical;
    lx->zeros = 0;
}

/* The token at q (alnum), without advancing anything but *q. */
static struct tok read_tok(const char **q, const char *end)
{
    struct tok t;
    const char *s = *q;
    if (qw_is_digit((unsigned char)*s)) {
        while (*q < end && qw_is_digit((unsigned char)**q)) (*q)++;
        while (s < *q && *s == '0') s++;
        t.kind = TOK_NUM;
    } else {
        while (*q < end && qw_is_alpha((unsigned char)**q)) (*q)++;
        t.kind = TOK_ALPHA;
    }
    t.p = s;
    t.n = (size_t)(*q - s);
    return t;
}

static const char *skip_seps(const char *q, const char *end)
{
    while (q < end && !qw_is_alnum((unsigned char)*q)) q++;
    return q;
}

static struct tok next_tok(struct lexer *lx)
{
    static const struct tok zero = {TOK_NUM, "", 0};
    if (lx->zeros) {
        lx->zeros--;
        return zero;
    }
    lx->p = skip_seps(lx->p, lx->end);
    if (lx->p >= lx->end) return (struct tok){TOK_END, lx->p, 0};
    struct tok t = read_tok(&lx->p, lx->end);
    if (!lx->canonical || t.kind != TOK_NUM || t.n != 0) return t;
    /* a zero: count the run, and keep it only when a non-zero number follows */
    size_t run = 1;
    const char *q = lx->p;
    for (;;) {
        q = skip_seps(q, lx->end);
        if (q >= lx->end) break;
        const char *save = q;
        struct tok u = read_tok(&q, lx->end);
        if (u.kind == TOK_NUM && u.n == 0) {
            run++;
            continue;
        }
        q = save;
        if (u.kind == TOK_NUM) { /* "1.0.0.5": keep the zeros */
            lx->p = q;
            lx->zeros = run - 1;
            return zero;
        }
        break; /* a suffix follows: the zeros go */
    }
    lx->p = q;
    return next_tok(lx); /* one level only: the zeros are behind us */
}

/* Element order: pre-release word < end of version < other word < number. Zero components are
 * only ever inside the canonical sequence before a non-zero number, so they sort as numbers. */
static int tok_class(const struct tok *t)
{
    if (t->kind == TOK_END) return 1;
    if (t->kind == TOK_NUM) return 3;
    return is_prerelease(t) ? 0 : 2;
}

static int num_cmp(const struct tok *a, const struct tok *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    int c = memcmp(a->p, b->p, a->n);
    return (c > 0) - (c < 0);
}

static int word_cmp(const struct tok *a, const struct tok *b)
{
    const char *ap, *bp;
    size_t an, bn;
    suffix_word(a, &ap, &an);
    suffix_word(b, &bp, &bn);
    for (size_t i = 0; i < an && i < bn; i++) {
        unsigned char x = qw_ascii_lower((unsigned char)ap[i]), y = qw_ascii_lower((unsigned char)bp[i]);
        if (x != y) return x < y ? -1 : 1;
    }
    return (an > bn) - (an < bn);
}

static int tok_cmp(const struct tok *a, const struct tok *b)
{
    int ca = tok_class(a), cb = tok_class(b);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (a->kind == TOK_NUM) return num_cmp(a, b);
    if (a->kind == TOK_ALPHA) return word_cmp(a, b);
    return 0;
}

static int span_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    struct lexer la, lb;
    lexer_init(&la, a, an, true);
    lexer_init(&lb, b, bn, true);
    for (;;) {
        struct tok x = next_tok(&la), y = next_tok(&lb);
        int c = tok_cmp(&x, &y);
        if (c) return c;
        if (x.kind == TOK_END && y.kind == TOK_END) return 0;
    }
}

int qw_version_cmp(const char *a, const char *b)
{
    if (!a) a = "";
    if (!b) b = "";
    return span_cmp(a, strlen(a), b, strlen(b));
}

/* Same family: the version with fewer components, read as written, is the start of the other
 * and the other goes on with a further number ("32" and "32.011", "V2.2" and "2.2.3"). A bound
 * written "32" may then mean all of 32.x, and a firmware reported as "2.2" any 2.2.x: where
 * that changes the answer, the answer is UNKNOWN. A suffix is no new component: "15.0" and
 * "15.0 SP1" are two versions, not a family. */
static bool same_family(const char *a, size_t an, const char *b, size_t bn)
{
    struct lexer la, lb;
    lexer_init(&la, a, an, false);
    lexer_init(&lb, b, bn, false);
    enum tok_kind last = TOK_END;
    for (;;) {
        struct tok x = next_tok(&la), y = next_tok(&lb);
        if (x.kind == TOK_END && y.kind == TOK_END) return false; /* equal as written */
        if (x.kind == TOK_END || y.kind == TOK_END) {
            const struct tok *more = x.kind == TOK_END ? &y : &x;
            return last == TOK_NUM && more->kind == TOK_NUM;
        }
        if (x.kind != y.kind || tok_cmp(&x, &y) != 0) return false;
        last = x.kind;
    }
}

/* ---- reading a version inside an expression ---- */

/* Words a version goes on with after a space or underscore ("V17 Update 6", "V16_Update_7",
 * "R520.2_TCU4_HF2", "1.4.0_build221212"); any other word ends the version ("_only_if_..."). */
static const char *const suffix_words[] = {
    "sp", "update", "upd", "hf", "hotfix", "hotfixrev", "mp", "sr", "p", "uc", "build",
    "kit", "tcu", "ga", "feature", "pack", "fp", "patch", "rev", "alpha", "beta", "rc",
};

static bool is_suffix_word(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof suffix_words / sizeof *suffix_words; i++)
        if (word_is(p, n, suffix_words[i])) return true;
    return false;
}

/* Separators inside a version: "15.2(8)E7", "15.2{7}E2", "2.6-GA-01", "V5.5 SP1". */
static bool is_inner_sep(unsigned char c)
{
    return c == '.' || c == '-' || c == '_' || c == ' ' || c == '(' || c == ')' || c == '{' ||
           c == '}' || c == '+';
}

static bool only_x(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (qw_ascii_lower((unsigned char)p[i]) != 'x') return false;
    return n > 0;
}

/* Length of the version at p (0 when none starts there: a version starts with a digit, after
 * its prefixes). Letters belong to it when they are a suffix word, or when they stick to the
 * number before them ("15.28E7", "1.295H", "V23Q4", "12.2(25)SEB4"), or one letter after a
 * dot ("11.A"). `*wild` is set by a placeholder ("6.x", "R15x", "2.001.x"). */
static size_t version_len(const char *p, const char *end, bool *wild)
{
    const char *q = skip_prefixes(p, end);
    if (q >= end || !qw_is_digit((unsigned char)*q)) return 0;
    const char *done = q;
    enum tok_kind prev = TOK_END;
    bool prev_suffix_word = false;
    while (q < end) {
        unsigned char c = (unsigned char)*q;
        if (qw_is_digit(c)) {
            while (q < end && qw_is_digit((unsigned char)*q)) q++;
            prev = TOK_NUM;
            done = q;
            continue;
        }
        if (qw_is_alpha(c)) {
            const char *s = q;
            while (q < end && qw_is_alpha((unsigned char)*q)) q++;
            size_t n = (size_t)(q - s);
            unsigned char before = (unsigned char)s[-1];
            bool stuck = (qw_is_digit(before) || before == ')' || before == '}') && n <= 3;
            bool dotted = before == '.' && n == 1 && prev == TOK_NUM;
            bool word = is_suffix_word(s, n);
            if (!stuck && !dotted && !word) break;
            if (only_x(s, n)) *wild = true;
            prev = TOK_ALPHA;
            prev_suffix_word = word;
            done = q;
            continue;
        }
        if (!is_inner_sep(c)) break;
        const char *s = q;
        bool blank = true;
        while (q < end && is_inner_sep((unsigned char)*q)) {
            if (*q != ' ' && *q != '_') blank = false;
            q++;
        }
        if (q >= end || !qw_is_alnum((unsigned char)*q)) break;
        bool has_blank = false;
        for (const char *t = s; t < q; t++) has_blank |= *t == ' ' || *t == '_';
        if (has_blank) {
            /* across a blank only a suffix word, or the number of one ("Update 6") */
            if (!blank) break;
            if (qw_is_digit((unsigned char)*q)) {
                if (!(prev == TOK_ALPHA && prev_suffix_word)) break;
            } else {
                const char *e = q;
                while (e < end && qw_is_alpha((unsigned char)*e)) e++;
                if (!is_suffix_word(q, (size_t)(e - q))) break;
            }
        }
    }
    return (size_t)(done - p);
}

/* ---- expressions ---- */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

#define MAX_CONSTRAINTS 16
#define MAX_EXPR 512 /* the longest real leaf is 130 bytes */
#define FIX_LEN 48

struct constraint {
    enum op op;
    const char *v;
    size_t n;
    char fix[FIX_LEN]; /* the bound with a Cisco train's brackets put back */
};

struct range {
    struct constraint c[MAX_CONSTRAINTS];
    size_t n;
    bool conditional; /* a condition in words follows ("_only_if_the_basic_authentication...") */
};

static bool is_lesser(enum op op) { return op == OP_LT || op == OP_LE; }
static bool is_greater(enum op op) { return op == OP_GT || op == OP_GE; }

/* The comparator at *p, if any (">=" before ">"). "==" and "=" are equality. */
static bool read_op(const char **p, const char *end, enum op *op)
{
    static const struct {
        const char *text;
        enum op op;
    } ops[] = {{">=", OP_GE}, {"<=", OP_LE}, {"!=", OP_NE}, {"==", OP_EQ},
               {"<", OP_LT},  {">", OP_GT},  {"=", OP_EQ}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (starts_with(*p, end, ops[i].text)) {
            *p += strlen(ops[i].text);
            *op = ops[i].op;
            return true;
        }
    return false;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (qw_is_space((unsigned char)*p) || *p == '_' || *p == '"')) p++;
    return p;
}

/* WAGO writes "FW19_up_to_and_including_FW26". */
static bool read_up_to(const char **p, const char *end)
{
    static const char *const words[] = {"up", "to", "and", "including"};
    const char *q = *p;
    for (size_t i = 0; i < 4; i++) {
        q = skip_blanks(q, end);
        if (!starts_with(q, end, words[i])) return false;
        q += strlen(words[i]);
        if (q < end && qw_is_alnum((unsigned char)*q)) return false;
    }
    *p = q;
    return true;
}

static bool add(struct range *r, enum op op, const char *v, size_t n)
{
    if (r->n >= MAX_CONSTRAINTS) return false;
    r->c[r->n].op = op;
    r->c[r->n].v = v;
    r->c[r->n].n = n;
    r->n++;
    return true;
}

/* The words after a version, up to the end of its constraint: a condition we cannot check.
 * Readable only as words: a digit or a comparator in it is another bound we would miss
 * ("<V33.017_V34.014_...", "... and Function State (FS) <= 10"). */
static bool read_condition(const char *p, const char *end, struct range *r)
{
    for (const char *q = p; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (qw_is_digit(c) || c == '<' || c == '>' || c == '=' || c == '*' || c == '%' || c >= 0x80)
            return false;
        if (qw_is_alpha(c)) {
            const char *e = q;
            while (e < end && qw_is_alpha((unsigned char)*e)) e++;
            if (only_x(q, (size_t)(e - q))) return false; /* a placeholder: "16XXXXXXXXX." */
            q = e - 1;
        }
    }
    r->conditional = true;
    return true;
}

/* One constraint segment (between pipes): "<V5.2.6", ">= V2.3.0 < V2.3.4" (bounds in a row
 * are all required), "28  - 32" (both ends included), "2.00", ">FW19_up_to_and_including_FW26",
 * with optional words of condition after the last version. */
static bool read_segment(const char *p, const char *end, bool comparators, struct range *r)
{
    bool first = true;
    enum op op = OP_EQ;
    p = skip_blanks(p, end);
    for (;;) {
        bool has_op = read_op(&p, end, &op);
        if (has_op && !comparators) return false;
        if (!has_op && !first && op != OP_LE) return false;
        p = skip_blanks(p, end);
        bool wild = false;
        size_t n = version_len(p, end, &wild);
        if (n == 0 || wild) return false;
        if (!add(r, has_op || !first ? op : OP_EQ, p, n)) return false;
        const char *after = p + n;
        p = skip_blanks(after, end);
        if (p >= end) return true;
        first = false;
        const char *q = p;
        enum op next;
        if (comparators && read_op(&q, end, &next)) continue; /* another bound, no pipe */
        if (comparators && p > after && read_up_to(&p, end)) {
            op = OP_LE;
            continue;
        }
        if (*p == '-' && r->n == 1 && r->c[0].op == OP_EQ) { /* "A - B": A <= v <= B */
            r->c[0].op = OP_GE;
            p = skip_blanks(p + 1, end);
            op = OP_LE;
            n = version_len(p, end, &wild);
            if (n == 0 || wild || !add(r, OP_LE, p, n)) return false;
            return skip_blanks(p + n, end) == end;
        }
        if (p == after) return false; /* words stuck to the version: "16XXXXXXXXX." */
        return read_condition(p, end, r);
    }
}

/* "All versions < V15.1 Update 8": the words add nothing before a comparator. */
static const char *skip_all_versions(const char *p, const char *end)
{
    const char *q = p;
    if (!starts_with(q, end, "all")) return p;
    q = skip_blanks(q + 3, end);
    if (!starts_with(q, end, "versions") && !starts_with(q, end, "version")) return p;
    q += starts_with(q, end, "versions") ? 8 : 7;
    q = skip_blanks(q, end);
    const char *t = q;
    enum op op;
    return read_op(&t, end, &op) ? q : p;
}

static bool read_scheme_ok(const char *p, size_t n)
{
    /* CISA writes "all" for a generic order; the spec's generic schemes read the same way.
     * Other schemes (npm, deb...) have orders of their own that we do not implement. */
    static const char *const schemes[] = {"all", "generic", "intdot", "semver"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) /* lowercase, per the spec */
        if (strlen(schemes[i]) == n && memcmp(p, schemes[i], n) == 0) return true;
    return false;
}

/* Read `expr` (copied into buf, MAX_EXPR bytes) into r. False: unreadable. */
static bool parse(const char *expr, bool is_range, struct range *r, char *buf)
{
    size_t len = strlen(expr);
    if (len >= MAX_EXPR) return false;
    const char *p = expr, *end = expr + len;
    while (p < end && qw_is_space((unsigned char)*p)) p++;
    while (end > p && qw_is_space((unsigned char)end[-1])) end--;
    r->n = 0;
    r->conditional = false;
    if (end - p >= 5 && memcmp(p, "vers:", 5) == 0) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (!slash || !read_scheme_ok(p + 5, (size_t)(slash - p - 5))) return false;
        /* the spec removes spaces and tabs first */
        size_t k = 0;
        for (const char *q = slash + 1; q < end; q++)
            if (*q != ' ' && *q != '\t') buf[k++] = *q;
        p = buf;
        end = buf + k;
        if (memchr(p, '*', k) || memchr(p, '%', k)) return false; /* a lone star is "all" */
    } else {
        memcpy(buf, p, (size_t)(end - p));
        end = buf + (end - p);
        p = buf;
        if (is_range) p = skip_all_versions(p, end);
    }
    while (p < end) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *seg_end = bar ? bar : end;
        const char *s = skip_blanks(p, seg_end);
        if (s < seg_end && !read_segment(s, seg_end, is_range, r)) return false;
        p = bar ? bar + 1 : end;
    }
    return r->n > 0;
}

/* The spec's rules for a list of constraints, on the order as written: versions ascending and
 * unique (we do not re-sort: a list that is not ascending by our order, ">= 1.31 | <= 1.4",
 * was written with another order in mind); ignoring "!=", "=" is followed by "=", ">" or ">="
 * only; ignoring "=" and "!=" too, lesser and greater comparators alternate. */
static bool valid(const struct range *r)
{
    for (size_t i = 1; i < r->n; i++)
        if (span_cmp(r->c[i - 1].v, r->c[i - 1].n, r->c[i].v, r->c[i].n) >= 0) return false;
    enum op prev = OP_NE;
    bool have = false;
    for (size_t i = 0; i < r->n; i++) {
        enum op op = r->c[i].op;
        if (op == OP_NE) continue;
        if (have && prev == OP_EQ && is_lesser(op)) return false;
        prev = op;
        have = true;
    }
    have = false;
    for (size_t i = 0; i < r->n; i++) {
        enum op op = r->c[i].op;
        if (op == OP_NE || op == OP_EQ) continue;
        if (have && is_lesser(prev) == is_lesser(op)) return false;
        prev = op;
        have = true;
    }
    return true;
}

/* Stratix advisories write Cisco IOS 15.2(8)E7 as "15.28E7". With a firmware in the bracket
 * form (one-digit minor, as every IOS 12.x and 15.x train has), put the brackets back:
 * "15.28E7" -> "15.2(8)E7". Bounds already bracketed are left alone. */
static bool cisco_brackets(const char *fw, size_t fn)
{
    const char *end = fw + fn, *q = skip_prefixes(fw, end);
    while (q < end && qw_is_digit((unsigned char)*q)) q++;
    return end - q >= 3 && q[0] == '.' && qw_is_digit((unsigned char)q[1]) && q[2] == '(';
}

static void unbracket(struct constraint *c)
{
    const char *end = c->v + c->n, *q = skip_prefixes(c->v, end);
    if (memchr(c->v, '(', c->n) || memchr(c->v, '{', c->n) || c->n + 3 > FIX_LEN) return;
    const char *major = q;
    while (q < end && qw_is_digit((unsigned char)*q)) q++;
    if (q == major || end - q < 3 || q[0] != '.' || !qw_is_digit((unsigned char)q[1])) return;
    const char *minor = q + 1, *rel = q + 2, *e = rel;
    while (e < end && qw_is_digit((unsigned char)*e)) e++;
    if (e == rel || e >= end || !qw_is_alpha((unsigned char)*e)) return;
    size_t k = 0;
    memcpy(c->fix + k, major, (size_t)(minor - major)), k += (size_t)(minor - major);
    c->fix[k++] = *minor;
    c->fix[k++] = '(';
    memcpy(c->fix + k, rel, (size_t)(e - rel)), k += (size_t)(e - rel);
    c->fix[k++] = ')';
    memcpy(c->fix + k, e, (size_t)(end - e)), k += (size_t)(end - e);
    c->v = c->fix;
    c->n = k;
}

/* Firmware against one bound; `family` compares a family as equal (same_family). */
static int fw_cmp(const char *fw, size_t fn, const struct constraint *c, bool family)
{
    if (family && same_family(fw, fn, c->v, c->n)) return 0;
    return span_cmp(fw, fn, c->v, c->n);
}

/* The spec's containment check over valid, ascending constraints. A single lesser or greater
 * constraint is both the first and the last of its list. */
static bool contains(const struct range *r, const char *fw, size_t fn, bool family)
{
    int cmp[MAX_CONSTRAINTS];
    for (size_t i = 0; i < r->n; i++) cmp[i] = fw_cmp(fw, fn, &r->c[i], family);
    for (size_t i = 0; i < r->n; i++) {
        enum op op = r->c[i].op;
        if (cmp[i] == 0 && (op == OP_EQ || op == OP_LE || op == OP_GE)) return true;
    }
    for (size_t i = 0; i < r->n; i++)
        if (cmp[i] == 0 && r->c[i].op == OP_NE) return false;
    size_t idx[MAX_CONSTRAINTS], m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].op != OP_EQ && r->c[i].op != OP_NE) idx[m++] = i;
    if (m == 0) return false;
    if (is_lesser(r->c[idx[0]].op) && cmp[idx[0]] < 0) return true;
    if (is_greater(r->c[idx[m - 1]].op) && cmp[idx[m - 1]] > 0) return true;
    for (size_t k = 0; k + 1 < m; k++) {
        size_t a = idx[k], b = idx[k + 1];
        if (is_greater(r->c[a].op) && is_lesser(r->c[b].op) && cmp[a] > 0 && cmp[b] < 0)
            return true;
    }
    return false;
}

/* The firmware's version: all of it, or in a description ("Cisco IOS Software, ... Version
 * 12.2(25)SEB4, RELEASE SOFTWARE (fc1)") the version after the word "Version". It must be read
 * whole (a version and nothing after it but separators); else there is none. */
static bool firmware_version(const char *fw, const char **vp, size_t *vn)
{
    const char *p = fw, *end = fw + strlen(fw);
    for (const char *q = p; q + 8 < end; q++)
        if (starts_with(q, end, "version ") && (q == p || !qw_is_alnum((unsigned char)q[-1]))) {
            const char *s = q + 8;
            while (s < end && *s == ' ') s++;
            if (s < end && qw_is_digit((unsigned char)*s)) {
                const char *e = s;
                while (e < end && *e != ',' && !qw_is_space((unsigned char)*e)) e++;
                p = s;
                end = e;
                break;
            }
        }
    while (p < end && qw_is_space((unsigned char)*p)) p++;
    while (end > p && (qw_is_space((unsigned char)end[-1]) || end[-1] == '_' || end[-1] == '.'))
        end--;
    bool wild = false;
    size_t n = version_len(p, end, &wild);
    if (n == 0 || wild || p + n != end) return false;
    *vp = p;
    *vn = n;
    return true;
}

bool qw_vers_is_all(const char *expr)
{
    if (!expr) return false;
    const char *p = expr, *end = expr + strlen(expr);
    while (p < end && qw_is_space((unsigned char)*p)) p++;
    while (end > p && qw_is_space((unsigned char)end[-1])) end--;
    if (end - p >= 5 && memcmp(p, "vers:", 5) == 0) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (!slash || slash == p + 5 || word_is(p + 5, (size_t)(slash - p - 5), "none"))
            return false;
        for (const char *q = p + 5; q < slash; q++)
            if (!qw_is_alnum((unsigned char)*q) && *q != '-' && *q != '.') return false;
        const char *q = slash + 1;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        if (q >= end || *q != '*') return false;
        q++;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        return q == end;
    }
    if (!starts_with(p, end, "all")) return false;
    const char *q = p + 3;
    if (q >= end || (*q != ' ' && *q != '_')) return false;
    while (q < end && (*q == ' ' || *q == '_')) q++;
    if (starts_with(q, end, "versions")) q += 8;
    else if (starts_with(q, end, "version")) q += 7;
    else return false;
    return q == end;
}

enum qw_vers_verdict qw_vers_contains(const char *expr, bool is_range, const char *firmware)
{
    if (!expr) return QW_VERS_UNKNOWN;
    if (qw_vers_is_all(expr)) return QW_VERS_INSIDE;
    {
        const char *p = expr;
        while (qw_is_space((unsigned char)*p)) p++;
        if (strncmp(p, "vers:none/", 10) == 0) return QW_VERS_OUTSIDE; /* the empty set */
    }
    const char *fv;
    size_t fn;
    if (!firmware || !firmware_version(firmware, &fv, &fn)) return QW_VERS_UNKNOWN;
    char buf[MAX_EXPR];
    struct range r;
    if (!parse(expr, is_range, &r, buf)) return QW_VERS_UNKNOWN;
    if (cisco_brackets(fv, fn))
        for (size_t i = 0; i < r.n; i++) unbracket(&r.c[i]);
    if (!valid(&r)) return QW_VERS_UNKNOWN;
    bool strict = contains(&r, fv, fn, false), family = contains(&r, fv, fn, true);
    if (strict != family) return QW_VERS_UNKNOWN;
    if (!strict) return QW_VERS_OUTSIDE;
    return r.conditional ? QW_VERS_UNKNOWN : QW_VERS_INSIDE;
}
