/* What the files of src/site share and nobody else needs: the arena, error reporting, the
 * loader's state and YAML helpers, value parsers and the lookup index. */
#ifndef QW_SITE_INTERNAL_H
#define QW_SITE_INTERNAL_H

#include <yaml.h>

#include "site/model.h"

/* ---- arena (arena.c): every string and array of one loaded site ---------------------------- */

struct qw_site_arena;
struct qw_site_arena *qw_arena_new(void);
/* Zeroed, 16-byte aligned; NULL when out of memory or n is absurd. */
void *qw_arena_alloc(struct qw_site_arena *a, size_t n);
void *qw_arena_array(struct qw_site_arena *a, size_t n, size_t size);
char *qw_arena_strndup(struct qw_site_arena *a, const char *s, size_t n);
void qw_arena_free(struct qw_site_arena *a);

/* ---- errors and suggestions (diag.c) ----------------------------------------------------- */

/* Add an error at a 1-based position (line 0: about the whole file). Returns false once the
 * list is full (QW_SITE_MAX_ERRORS), so callers can stop. */
bool qw_site_err(struct qw_site_errors *e, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void qw_site_errors_sort(struct qw_site_errors *e);

/* "Did you mean" by edit distance: feed candidates, then ask for the closest one that is close
 * enough for the word's length (NULL when none is). */
struct qw_suggest {
    const char *word;
    const char *best;
    unsigned dist;
};
void qw_suggest_init(struct qw_suggest *sg, const char *word);
void qw_suggest_try(struct qw_suggest *sg, const char *candidate);
const char *qw_suggest_best(const struct qw_suggest *sg);
/* " (did you mean 'X'?)" or "" into buf. */
const char *qw_suggest_text(const struct qw_suggest *sg, char *buf, size_t len);
unsigned qw_edit_distance(const char *a, const char *b);

/* ---- vocabularies (vocab.c) --------------------------------------------------------------- */

/* Exact lookup in a name table; -1 when absent (then fills sg with the table's names). */
int qw_vocab_find(const char *word, const char *const *names, size_t n, struct qw_suggest *sg);
extern const char *const qw_site_day_names[7]; /* index = tm_wday */
enum qw_proto_transport_bits { QW_PT_TCP = 1u, QW_PT_UDP = 2u };
unsigned qw_site_proto_transports(int index);
void qw_site_proto_suggest(struct qw_suggest *sg);

/* ---- value syntax (values.c) -------------------------------------------------------------- */

/* Each returns true on success; on failure writes a complete sentence fragment to why. */
bool qw_parse_id(const char *s, char *why, size_t len);
bool qw_parse_ip(const char *s, struct qw_addr *out);
bool qw_parse_cidr(const char *s, struct qw_site_cidr *out, char *why, size_t len);
bool qw_parse_mac(const char *s, uint8_t mac[6]);
bool qw_parse_uint(const char *s, uint32_t max, uint32_t *out);
bool qw_parse_allow(const char *s, struct qw_site_allow *out, char *why, size_t len);
/* "HH:MM", 00:00..23:59; "24:00" too when `end`. */
bool qw_parse_hhmm(const char *s, bool end, uint16_t *minutes);
/* RFC 3339 date-time with a UTC offset ("Z" or +HH:MM) -> ns since the epoch. */
bool qw_parse_rfc3339(const char *s, int64_t *ns, char *why, size_t len);
bool qw_addr_in_cidr(const struct qw_addr *a, const struct qw_site_cidr *c);
/* The CIDR as written, normalised: "10.30.0.0/16". */
char *qw_cidr_str(const struct qw_site_cidr *c, char out[64]);

/* ---- the loader (load.c, parse.c, validate.c) --------------------------------------------- */

struct qw_ld {
    yaml_document_t doc;
    struct qw_site_errors *err;
    struct qw_site *site;
    struct qw_site_arena *arena;
    struct qw_site_index *ix;
    const char *tzdir;
    bool oom;
};

/* One key a mapping may hold. `what` completes "missing key 'K' in a zone (WHAT)". */
struct qw_keyspec {
    const char *key;
    bool required;
    const char *what;
};

uint32_t qw_ld_line(const yaml_node_t *n);
uint32_t qw_ld_col(const yaml_node_t *n);
/* Errors at a node's start. */
bool qw_ld_err(struct qw_ld *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool qw_ld_full(const struct qw_ld *ld);
const char *qw_ld_kind(const yaml_node_t *n); /* "a list", "a mapping", "a single value" */

/* Check a mapping against its keys: it must be a mapping; unknown keys (with a suggestion),
 * duplicate keys, missing required keys and TODO placeholders are reported. vals[i] receives the
 * value of spec[i], NULL when absent or a placeholder. Returns false when n is not a mapping. */
bool qw_ld_map(struct qw_ld *ld, yaml_node_t *n, const char *where, const struct qw_keyspec *spec,
               size_t nspec, yaml_node_t **vals);
/* The items of a list value (`key` names it in messages); NULL (reported) when not a list. An
 * empty list gives a non-NULL pointer and *count 0. */
yaml_node_t **qw_ld_list(struct qw_ld *ld, yaml_node_t *n, const char *key, size_t *count);
/* A scalar's text as a NUL-terminated arena string; NULL (reported) when not a scalar, empty,
 * longer than max, holding a NUL, or the placeholder TODO. */
const char *qw_ld_text(struct qw_ld *ld, yaml_node_t *n, const char *key, size_t max);
/* An identifier (ids, names, roles): qw_parse_id's syntax. */
const char *qw_ld_id(struct qw_ld *ld, yaml_node_t *n, const char *key);

/* Arena array (n may be 0), reporting exhaustion. */
void *qw_ld_array(struct qw_ld *ld, size_t n, size_t size);
struct qw_site_pos qw_ld_pos(const yaml_node_t *n);
/* A word of a fixed vocabulary -> its index; -1 (reported, with a suggestion or the list) when
 * unknown. */
int qw_ld_vocab(struct qw_ld *ld, yaml_node_t *n, const char *key, const char *what,
                const char *const *names, size_t count);

/* Sections (parse.c: parties, zones, assets; policy.c: the rest), in dependency order. */
void qw_parse_parties(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_zones(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_assets(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_conduits(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_modules(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_changes(struct qw_ld *ld, yaml_node_t *n);
void qw_parse_remote(struct qw_ld *ld, yaml_node_t *n);
/* Windows (parse.c): a list of {days, start, end, tz}. */
const struct qw_site_window *qw_parse_windows(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                              uint32_t *count);
/* A time zone by name, loaded once per site (reported when unknown). */
const struct qw_tz *qw_ld_tz(struct qw_ld *ld, yaml_node_t *n, const char *key);

/* References by id (refs.c), reported as unknown (with a suggestion) at node n. */
const struct qw_site_party *qw_ld_party_ref(struct qw_ld *ld, yaml_node_t *n, const char *key);
const struct qw_site_zone *qw_ld_zone_ref(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                          const char *text);
const struct qw_site_asset *qw_ld_asset_ref(struct qw_ld *ld, yaml_node_t *n, const char *key,
                                            const char *text);
/* A declared asset by name, or NULL, without reporting. */
const struct qw_site_asset *qw_ld_find_asset(struct qw_ld *ld, const char *name);

/* ---- whole-file checks and the lookup index (validate.c) ---------------------------------- */

struct qw_zone_range {
    struct qw_addr lo, hi;
    const struct qw_site_zone *zone;
};

struct qw_site_index {
    const struct qw_site_party **parties; /* by id */
    const struct qw_site_zone **zones;    /* by id */
    struct qw_zone_range *ranges;         /* by lo; disjoint */
    size_t nranges;
    uint16_t vlan_zone[4096];             /* zone index + 1; 0: none */
    const struct qw_site_asset **by_name, **by_ip, **by_mac, **by_host;
    size_t nby_ip, nby_mac, nby_host;
    const struct qw_site_conduit **conduits; /* by (from, to, file order) */
    struct qw_tz **tzs;                      /* owned: freed with the site */
    size_t ntzs, captzs;
};

/* Sort and check one section after parsing it: duplicates (and for zones, overlapping CIDRs
 * and VLANs), then build its lookup tables. */
void qw_index_parties(struct qw_ld *ld);
void qw_index_zones(struct qw_ld *ld);
void qw_index_assets(struct qw_ld *ld);
void qw_index_conduits(struct qw_ld *ld);
void qw_check_modules(struct qw_ld *ld);
void qw_check_changes(struct qw_ld *ld);

#endif
