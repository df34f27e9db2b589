/* Grouping the store's addresses into assets (the rules are in inventory.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis/oui.h"
#include "analysis/vendor.h"
#include "decode/packet.h"
#include "inventory/inventory.h"
#include "util/hmap.h"
#include "util/str.h"

/* Index of the assets being built by id, and of host rows by store id: the builder must stay
 * linear when a scan or a flood has put 100,000 addresses in the store. */
struct id_key {
    char id[64];
};
#define QW_INV_MAX_ASSETS (1u << 24)

/* Append one zeroed element to a growing array (capacity doubles at powers of two). */
static void *push(void *arr_ptr, size_t *n, size_t size)
{
    void **arr = arr_ptr;
    size_t cap = 1;
    while (cap < *n) cap *= 2;
    if (*n == 0 || *n == cap) {
        size_t nc = *n ? cap * 2 : 4;
        void *p = realloc(*arr, nc * size);
        if (!p) return NULL;
        *arr = p;
    }
    void *slot = (char *)*arr + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

/* A text column (NULL: empty) into dst[cap]. */
static void copy(char *dst, size_t cap, const unsigned char *src)
{
    qw_copy_str(dst, cap, src ? (const char *)src : "");
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return false;
    for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
    return true;
}

/* Addresses that name no device: unspecified (DHCP clients before a lease), limited broadcast,
 * multicast. A subnet's directed broadcast cannot be told from a host without the mask. */
bool qw_inventory_is_host_ip(const char *text)
{
    struct qw_addr a;
    if (!qw_addr_parse(text, &a)) return false;
    static const uint8_t zero[16];
    if (memcmp(a.b, zero, 16) == 0) return false;
    if (qw_addr_is_v4(&a)) {
        const uint8_t *v4 = a.b + 12;
        if (v4[0] == 0 || v4[0] >= 224) return false; /* 0/8, multicast, reserved, broadcast */
        return true;
    }
    return a.b[0] != 0xff; /* IPv6 multicast */
}

/* ---- what the store says ------------------------------------------------------------------ */

struct binding {
    int vlan;
    char ip[46];
    char mac[18];
    char kind; /* 'a' ARP claim, 'f' sender of the IP's packets, 'd' receiver of packets to it */
    uint64_t first_ns, last_ns;
};

struct mac_info {
    char mac[18];
    size_t arp_ips;      /* IPs it claims in ARP */
    size_t sent_foreign; /* IPs it sends packets for without an ARP claim */
    size_t recv_foreign; /* IPs it receives packets for but neither claims nor sends for */
    bool forwarder;
    long asset; /* index, -1 none yet */
};

struct host {
    int64_t id;
    int vlan;
    char ip[46];
    uint64_t first_ns, last_ns, bytes_sent, bytes_recv;
    long asset;
};

struct builder {
    sqlite3 *db;
    struct binding *binds; /* sorted by MAC, IP, kind */
    size_t nbinds;
    struct binding **binds_by_ip; /* the same, sorted by IP */
    struct mac_info *macs;
    size_t nmacs;
    struct host *hosts;
    size_t nhosts;
    struct qw_inventory *inv;
    size_t assets_cap;      /* inv->assets' room, reserved once the hosts and MACs are known */
    struct qw_hmap by_id;   /* asset id -> index (long) */
    struct qw_hmap host_ix; /* hosts.id (int64) -> index in hosts */
    long *parent; /* union-find over assets */
    char *err;
    size_t errlen;
};

static bool sql_fail(struct builder *b, const char *what)
{
    snprintf(b->err, b->errlen, "reading %s from the store: %s", what, sqlite3_errmsg(b->db));
    return false;
}

static int cmp_bind(const void *x, const void *y)
{
    const struct binding *a = x, *c = y;
    int r = strcmp(a->mac, c->mac);
    if (r) return r;
    r = strcmp(a->ip, c->ip);
    if (r) return r;
    return a->kind - c->kind; /* 'a' < 'd' < 'f' */
}

static int cmp_mac_info(const void *x, const void *y)
{
    return strcmp(((const struct mac_info *)x)->mac, ((const struct mac_info *)y)->mac);
}

static int cmp_bind_ip(const void *x, const void *y)
{
    const struct binding *a = *(struct binding *const *)x, *c = *(struct binding *const *)y;
    int r = strcmp(a->ip, c->ip);
    return r ? r : cmp_bind(a, c);
}

static struct mac_info *find_mac(struct builder *b, const char *mac)
{
    struct mac_info key;
    qw_copy_str(key.mac, sizeof key.mac, mac);
    if (b->nmacs == 0) return NULL; /* bsearch wants a non-null base even for no elements */
    return bsearch(&key, b->macs, b->nmacs, sizeof *b->macs, cmp_mac_info);
}

static bool load_bindings(struct builder *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT vlan, ip, mac, source, first_seen, last_seen FROM bindings"
                           " ORDER BY vlan, ip, mac, source",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(b, "bindings");
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct binding *x = push(&b->binds, &b->nbinds, sizeof *x);
        if (!x) break;
        x->vlan = sqlite3_column_int(st, 0);
        copy(x->ip, sizeof x->ip, sqlite3_column_text(st, 1));
        copy(x->mac, sizeof x->mac, sqlite3_column_text(st, 2));
        uint8_t mac[6];
        /* 0.0.0.0, broadcast, multicast; and a redundancy group's virtual MAC, which the master
         * router of the moment sends from and which ties no address to one device */
        if (!qw_inventory_is_host_ip(x->ip) ||
            (parse_mac(x->mac, mac) && qw_mac_is_virtual_router(mac))) {
            b->nbinds--;
            continue;
        }
        const char *src = (const char *)sqlite3_column_text(st, 3);
        x->kind = src && strcmp(src, "arp") == 0 ? 'a' : src && strcmp(src, "dst") == 0 ? 'd' : 'f';
        x->first_ns = (uint64_t)sqlite3_column_int64(st, 4);
        x->last_ns = (uint64_t)sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    if (b->nbinds) qsort(b->binds, b->nbinds, sizeof *b->binds, cmp_bind);
    b->binds_by_ip = malloc((b->nbinds ? b->nbinds : 1) * sizeof *b->binds_by_ip);
    if (!b->binds_by_ip) return false;
    for (size_t i = 0; i < b->nbinds; i++) b->binds_by_ip[i] = &b->binds[i];
    if (b->nbinds > 1) qsort(b->binds_by_ip, b->nbinds, sizeof *b->binds_by_ip, cmp_bind_ip);

    /* Per MAC: how many IPs ARP ties to it, and how many it sends or receives packets for
     * without ever claiming them (neither in ARP nor as their only sender). */
    for (size_t i = 0; i < b->nbinds;) {
        struct mac_info *m = push(&b->macs, &b->nmacs, sizeof *m);
        if (!m) return false;
        qw_copy_str(m->mac, sizeof m->mac, b->binds[i].mac);
        m->asset = -1;
        size_t j = i;
        while (j < b->nbinds && strcmp(b->binds[j].mac, m->mac) == 0) {
            size_t k = j;
            bool arp = false, sends = false;
            while (k < b->nbinds && strcmp(b->binds[k].mac, m->mac) == 0 &&
                   strcmp(b->binds[k].ip, b->binds[j].ip) == 0) {
                arp |= b->binds[k].kind == 'a';
                sends |= b->binds[k].kind == 'f';
                k++;
            }
            if (arp)
                m->arp_ips++;
            else if (sends)
                m->sent_foreign++;
            else
                m->recv_foreign++;
            j = k;
        }
        /* A host that changed its DHCP address sends for two IPs, one after the other; a
         * gateway receives for many, or sends for several besides an address it claims. */
        m->forwarder = m->recv_foreign >= 2 || m->sent_foreign >= 3 ||
                       (m->arp_ips >= 1 && m->sent_foreign >= 2);
        i = j;
    }
    return true;
}

/* The MAC that owns an IP: the newest ARP claim on the same VLAN, else on any VLAN, else the
 * newest non-forwarding sender of its packets. NULL: the IP stands alone. */
/* Index of the first binding of `ip` in binds_by_ip (nbinds when none). */
static size_t first_bind_of(struct builder *b, const char *ip)
{
    size_t lo = 0, hi = b->nbinds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->binds_by_ip[mid]->ip, ip) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *owner_mac(struct builder *b, const char *ip, int vlan)
{
    const struct binding *best = NULL;
    int best_rank = -1;
    for (size_t i = first_bind_of(b, ip); i < b->nbinds; i++) {
        const struct binding *x = b->binds_by_ip[i];
        if (strcmp(x->ip, ip) != 0) break;
        int rank;
        if (x->kind == 'd') continue; /* delivery names a gateway as often as the host */
        if (x->kind == 'a')
            rank = x->vlan == vlan ? 3 : 2;
        else {
            struct mac_info *m = find_mac(b, x->mac);
            if (!m || m->forwarder) continue;
            rank = x->vlan == vlan ? 1 : 0;
        }
        if (rank > best_rank || (rank == best_rank && x->last_ns > best->last_ns)) {
            best = x;
            best_rank = rank;
        }
    }
    return best ? best->mac : NULL;
}

/* ---- assets ------------------------------------------------------------------------------- */

static long asset_find(struct builder *b, const char *id)
{
    struct id_key k;
    memset(&k, 0, sizeof k);
    qw_copy_str(k.id, sizeof k.id, id);
    const long *ix = qw_hmap_get(&b->by_id, &k);
    return ix ? *ix : -1;
}

/* Room for `cap` assets. An asset is over a kilobyte and a fresh page costs a fault, so the
 * array is sized once from the hosts and MACs (each asset has at least one of them) rather
 * than doubled and copied as it fills. */
static bool reserve_assets(struct builder *b, size_t cap)
{
    if (cap < 16) cap = 16;
    if (cap <= b->assets_cap) return true;
    struct qw_asset *p = realloc(b->inv->assets, cap * sizeof *p);
    if (!p) return false;
    b->inv->assets = p;
    b->assets_cap = cap;
    return true;
}

static long asset_new(struct builder *b, const char *id)
{
    struct qw_inventory *inv = b->inv;
    if (inv->nassets == b->assets_cap && !reserve_assets(b, b->assets_cap * 2)) return -1;
    struct qw_asset *a = &inv->assets[inv->nassets++];
    memset(a, 0, sizeof *a);
    qw_copy_str(a->id, sizeof a->id, id);
    struct id_key k;
    memset(&k, 0, sizeof k);
    qw_copy_str(k.id, sizeof k.id, id);
    long *ix = qw_hmap_upsert(&b->by_id, &k, NULL);
    if (!ix) return -1;
    *ix = (long)(inv->nassets - 1);
    return *ix;
}

static long asset_for_mac(struct builder *b, const char *mac)
{
    struct mac_info *m = find_mac(b, mac);
    if (m && m->asset >= 0) return m->asset;
    char id[64];
    snprintf(id, sizeof id, "mac:%s", mac);
    if (!m) { /* a MAC known only from link-layer identity facts */
        long found = asset_find(b, id);
        if (found >= 0) return found;
    }
    long idx = asset_new(b, id);
    if (idx < 0) return -1;
    struct qw_asset *a = &b->inv->assets[idx];
    struct qw_inv_mac *im = push(&a->macs, &a->nmacs, sizeof *im);
    if (!im || !parse_mac(mac, im->mac)) return idx;
    im->local = qw_mac_is_local(im->mac);
    const char *oui = qw_oui_lookup(qw_oui_default(), im->mac);
    if (oui) qw_copy_str(im->oui_vendor, sizeof im->oui_vendor, oui);
    if (m) {
        m->asset = idx;
        a->forwarder = m->forwarder;
    }
    return idx;
}

static long asset_for_ip(struct builder *b, const char *ip)
{
    char id[64];
    snprintf(id, sizeof id, "ip:%s", ip);
    long found = asset_find(b, id);
    return found >= 0 ? found : asset_new(b, id);
}

static void span(uint64_t *first, uint64_t *last, uint64_t a, uint64_t z)
{
    if (a && (*first == 0 || a < *first)) *first = a;
    if (z > *last) *last = z;
}

static bool load_hosts(struct builder *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT id, vlan, ip, first_seen, last_seen, bytes_sent, bytes_recv"
                           " FROM hosts ORDER BY vlan, ip",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(b, "hosts");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char ip[sizeof b->hosts->ip];
        copy(ip, sizeof ip, sqlite3_column_text(st, 2));
        if (!qw_inventory_is_host_ip(ip)) continue; /* 0.0.0.0, broadcast, multicast */
        struct host *h = push(&b->hosts, &b->nhosts, sizeof *h);
        if (!h) break;
        h->id = sqlite3_column_int64(st, 0);
        h->vlan = sqlite3_column_int(st, 1);
        memcpy(h->ip, ip, sizeof ip);
        h->first_ns = (uint64_t)sqlite3_column_int64(st, 3);
        h->last_ns = (uint64_t)sqlite3_column_int64(st, 4);
        h->bytes_sent = (uint64_t)sqlite3_column_int64(st, 5);
        h->bytes_recv = (uint64_t)sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);

    for (size_t i = 0; i < b->nhosts; i++) {
        /* the analyser loses b->hosts through push()'s void **: qw_inventory_load frees it */
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
        size_t *ix = qw_hmap_upsert(&b->host_ix, &b->hosts[i].id, NULL);
        if (!ix) return false;
        *ix = i;
    }
    if (!reserve_assets(b, b->nhosts + b->nmacs)) return false;
    for (size_t i = 0; i < b->nhosts; i++) {
        struct host *h = &b->hosts[i];
        const char *mac = owner_mac(b, h->ip, h->vlan);
        h->asset = mac ? asset_for_mac(b, mac) : asset_for_ip(b, h->ip);
        if (h->asset < 0) return false;
        struct qw_asset *a = &b->inv->assets[h->asset];
        struct qw_inv_ip *ip = push(&a->ips, &a->nips, sizeof *ip);
        if (!ip) return false;
        qw_copy_str(ip->ip, sizeof ip->ip, h->ip);
        ip->vlan = (uint16_t)h->vlan;
        qw_copy_str(ip->via, sizeof ip->via, "ip");
        /* the IP's own time span is that of its bindings to this MAC, else of its traffic */
        ip->first_ns = h->first_ns;
        ip->last_ns = h->last_ns;
        for (size_t k = first_bind_of(b, h->ip); mac && k < b->nbinds; k++) {
            const struct binding *x = b->binds_by_ip[k];
            if (strcmp(x->ip, h->ip) != 0) break;
            if (strcmp(x->mac, mac) != 0) continue;
            if (x->kind == 'd') continue;
            if (x->kind == 'a' || strcmp(ip->via, "arp") != 0)
                qw_copy_str(ip->via, sizeof ip->via, x->kind == 'a' ? "arp" : "flow");
            span(&ip->first_ns, &ip->last_ns, x->first_ns, x->last_ns);
        }
        span(&a->first_ns, &a->last_ns, ip->first_ns, ip->last_ns);
        a->bytes_sent += h->bytes_sent;
        a->bytes_recv += h->bytes_recv;
    }
    /* Forwarders and other MACs that own no host row still are devices; their time span is
     * their bindings' (binds are sorted by MAC: one pass). */
    for (size_t k = 0; k < b->nbinds; k++) {
        struct mac_info *m = find_mac(b, b->binds[k].mac);
        if (!m) continue;
        bool owned_hosts = m->asset >= 0 && b->inv->assets[m->asset].nips > 0;
        if (owned_hosts) continue;
        long idx = asset_for_mac(b, m->mac);
        if (idx < 0) return false;
        struct qw_asset *a = &b->inv->assets[idx];
        span(&a->first_ns, &a->last_ns, b->binds[k].first_ns, b->binds[k].last_ns);
        if (a->nmacs && !a->macs[0].vlan) a->macs[0].vlan = (uint16_t)b->binds[k].vlan;
    }
    return true;
}

static bool add_fact(struct qw_asset *a, const char *attr, const unsigned char *value,
                     const unsigned char *source, uint64_t first, uint64_t last, uint64_t count)
{
    struct qw_inv_fact *f = push(&a->facts, &a->nfacts, sizeof *f);
    if (!f) return false;
    copy(f->attr, sizeof f->attr, (const unsigned char *)attr);
    copy(f->value, sizeof f->value, value);
    copy(f->source, sizeof f->source, source);
    f->first_ns = first;
    f->last_ns = last;
    f->count = count;
    span(&a->first_ns, &a->last_ns, first, last);
    return true;
}

static long host_asset(struct builder *b, int64_t host_id)
{
    const size_t *ix = qw_hmap_get(&b->host_ix, &host_id);
    return ix ? b->hosts[*ix].asset : -1;
}

static bool load_facts(struct builder *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db,
                           /* by address, not host id: ids follow insertion order, which
                            * follows hash-table layout and the number of workers */
                           "SELECT i.host_id, i.attr, i.value, i.source, i.first_seen,"
                           " i.last_seen, i.count FROM identities i JOIN hosts h ON h.id ="
                           " i.host_id ORDER BY h.vlan, h.ip, i.attr, i.first_seen, i.value,"
                           " i.source",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(b, "identities");
    while (sqlite3_step(st) == SQLITE_ROW) {
        long idx = host_asset(b, sqlite3_column_int64(st, 0));
        if (idx < 0) continue;
        if (!add_fact(&b->inv->assets[idx], (const char *)sqlite3_column_text(st, 1),
                      sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                      (uint64_t)sqlite3_column_int64(st, 4),
                      (uint64_t)sqlite3_column_int64(st, 5),
                      (uint64_t)sqlite3_column_int64(st, 6)))
            break;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(b->db,
                           "SELECT mac, attr, value, source, first_seen, last_seen, count"
                           " FROM mac_identities ORDER BY mac, attr, first_seen, value, source, vlan",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(b, "mac_identities");
    while (sqlite3_step(st) == SQLITE_ROW) {
        long idx = asset_for_mac(b, (const char *)sqlite3_column_text(st, 0));
        if (idx < 0) break;
        if (!add_fact(&b->inv->assets[idx], (const char *)sqlite3_column_text(st, 1),
                      sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                      (uint64_t)sqlite3_column_int64(st, 4),
                      (uint64_t)sqlite3_column_int64(st, 5),
                      (uint64_t)sqlite3_column_int64(st, 6)))
            break;
    }
    sqlite3_finalize(st);
    return true;
}

/* ---- several NICs, one device ------------------------------------------------------------- */

static long find_root(long *parent, long i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* A serial or chassis id proves identity only when it looks like one: placeholders such as
 * "0", "N/A" or "000000" are shared by many devices. */
static bool distinctive(const char *v)
{
    size_t n = strlen(v), same = 0, alnum = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == v[0]) same++;
        if ((v[i] >= '0' && v[i] <= '9') || ((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z'))
            alnum++;
    }
    return n >= 4 && same < n && alnum >= 4 && strcasecmp(v, "unknown") != 0 &&
           strcasecmp(v, "n/a") != 0;
}

static bool append_all(struct qw_asset *dst, struct qw_asset *src)
{
    for (size_t i = 0; i < src->nmacs; i++) {
        struct qw_inv_mac *m = push(&dst->macs, &dst->nmacs, sizeof *m);
        if (!m) return false;
        *m = src->macs[i];
    }
    for (size_t i = 0; i < src->nips; i++) {
        struct qw_inv_ip *x = push(&dst->ips, &dst->nips, sizeof *x);
        if (!x) return false;
        *x = src->ips[i];
    }
    for (size_t i = 0; i < src->nfacts; i++) {
        struct qw_inv_fact *f = push(&dst->facts, &dst->nfacts, sizeof *f);
        if (!f) return false;
        *f = src->facts[i];
    }
    span(&dst->first_ns, &dst->last_ns, src->first_ns, src->last_ns);
    dst->bytes_sent += src->bytes_sent;
    dst->bytes_recv += src->bytes_recv;
    dst->forwarder |= src->forwarder;
    return true;
}

/* A serial number or chassis id and the asset that carries it, for finding the assets that
 * share one. */
struct ident_ref {
    const struct qw_inv_fact *fact;
    long asset;
};

static int cmp_ident(const struct qw_inv_fact *a, const struct qw_inv_fact *c)
{
    int r = strcmp(a->attr, c->attr);
    return r ? r : strcmp(a->value, c->value);
}

static int cmp_ident_ref(const void *x, const void *y)
{
    const struct ident_ref *a = x, *c = y;
    int r = cmp_ident(a->fact, c->fact);
    return r ? r : (a->asset > c->asset) - (a->asset < c->asset);
}

static bool merge_devices(struct builder *b)
{
    struct qw_inventory *inv = b->inv;
    size_t n = inv->nassets;
    if (n == 0) return true;
    b->parent = malloc(n * sizeof *b->parent);
    if (!b->parent) return false;
    for (size_t i = 0; i < n; i++) b->parent[i] = (long)i;
    /* Sorted by (attribute, value), the assets that share a distinctive serial or chassis id
     * are neighbours: one pass joins them, the earliest asset as the root (pairwise comparing
     * was quadratic in the assets, a tenth of the finish of a large run). */
    size_t nrefs = 0;
    struct ident_ref *refs = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t fi = 0; fi < inv->assets[i].nfacts; fi++) {
            const struct qw_inv_fact *f = &inv->assets[i].facts[fi];
            if (strcmp(f->attr, "serial") && strcmp(f->attr, "chassis_id")) continue;
            struct ident_ref *r = push(&refs, &nrefs, sizeof *refs);
            if (!r) {
                free(refs);
                return false;
            }
            *r = (struct ident_ref){f, (long)i};
        }
    if (nrefs) qsort(refs, nrefs, sizeof *refs, cmp_ident_ref);
    for (size_t s = 0, e; s < nrefs; s = e) {
        for (e = s + 1; e < nrefs && cmp_ident(refs[s].fact, refs[e].fact) == 0;) e++;
        if (!distinctive(refs[s].fact->value)) continue;
        for (size_t k = s + 1; k < e; k++) {
            long ri = find_root(b->parent, refs[s].asset), rk = find_root(b->parent, refs[k].asset);
            if (ri < rk) b->parent[rk] = ri;
            else if (rk < ri) b->parent[ri] = rk;
        }
    }
    free(refs);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        long r = find_root(b->parent, (long)i);
        if (r != (long)i && !append_all(&inv->assets[r], &inv->assets[i])) return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (find_root(b->parent, (long)i) != (long)i) {
            free(inv->assets[i].macs);
            free(inv->assets[i].ips);
            free(inv->assets[i].facts);
            continue;
        }
        inv->assets[kept++] = inv->assets[i];
    }
    inv->nassets = kept;
    return true;
}

/* ---- services, current values, order ------------------------------------------------------ */

static const struct qw_inventory *sort_inv; /* qsort has no context argument */
static int cmp_by_id(const void *x, const void *y)
{
    return strcmp(sort_inv->assets[*(const uint32_t *)x].id,
                  sort_inv->assets[*(const uint32_t *)y].id);
}

static bool build_id_index(struct qw_inventory *inv)
{
    inv->by_id = malloc((inv->nassets ? inv->nassets : 1) * sizeof *inv->by_id);
    if (!inv->by_id) return false;
    for (size_t i = 0; i < inv->nassets; i++) inv->by_id[i] = (uint32_t)i;
    sort_inv = inv;
    if (inv->nassets > 1) qsort(inv->by_id, inv->nassets, sizeof *inv->by_id, cmp_by_id);
    sort_inv = NULL;
    return true;
}

const struct qw_asset *qw_inventory_find_id(const struct qw_inventory *inv, const char *id)
{
    size_t lo = 0, hi = inv->by_id ? inv->nassets : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(inv->assets[inv->by_id[mid]].id, id);
        if (r == 0) return &inv->assets[inv->by_id[mid]];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cmp_ipref(const void *x, const void *y)
{
    const struct qw_inv_ipref *a = x, *c = y;
    int r = strcmp(a->ip, c->ip);
    return r ? r : a->vlan - c->vlan;
}

static bool build_ip_index(struct qw_inventory *inv)
{
    size_t n = 0;
    for (size_t i = 0; i < inv->nassets; i++) n += inv->assets[i].nips;
    inv->by_ip = malloc((n ? n : 1) * sizeof *inv->by_ip);
    if (!inv->by_ip) return false;
    for (size_t i = 0; i < inv->nassets; i++)
        for (size_t k = 0; k < inv->assets[i].nips; k++) {
            struct qw_inv_ipref *r = &inv->by_ip[inv->nby_ip++];
            qw_copy_str(r->ip, sizeof r->ip, inv->assets[i].ips[k].ip);
            r->vlan = inv->assets[i].ips[k].vlan;
            r->asset = (uint32_t)i;
        }
    if (inv->nby_ip > 1) qsort(inv->by_ip, inv->nby_ip, sizeof *inv->by_ip, cmp_ipref);
    return true;
}

const struct qw_asset *qw_inventory_find_ip(const struct qw_inventory *inv, const char *ip,
                                            int vlan)
{
    /* first entry for the IP, then the one on the VLAN if there is one */
    size_t lo = 0, hi = inv->nby_ip;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(inv->by_ip[mid].ip, ip) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == inv->nby_ip || strcmp(inv->by_ip[lo].ip, ip) != 0) return NULL;
    for (size_t k = lo; vlan >= 0 && k < inv->nby_ip && strcmp(inv->by_ip[k].ip, ip) == 0; k++)
        if (inv->by_ip[k].vlan == vlan) return &inv->assets[inv->by_ip[k].asset];
    return &inv->assets[inv->by_ip[lo].asset];
}

static bool add_service(struct qw_asset *a, const char *app, int l4, int port, bool server,
                        uint32_t ops, uint64_t flows)
{
    for (size_t i = 0; i < a->nservices; i++) {
        struct qw_inv_service *s = &a->services[i];
        if (s->server == server && s->l4proto == l4 && s->port == port &&
            strcmp(s->app, app) == 0) {
            s->ops |= ops;
            s->peers++;
            s->flows += flows;
            return true;
        }
    }
    struct qw_inv_service *s = push(&a->services, &a->nservices, sizeof *s);
    if (!s) return false;
    qw_copy_str(s->app, sizeof s->app, app);
    s->l4proto = (uint8_t)l4;
    s->port = (uint16_t)port;
    s->server = server;
    s->ops = ops;
    s->peers = 1;
    s->flows = flows;
    return true;
}

static bool load_services(struct builder *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT vlan, client_ip, server_ip, proto, server_port, app_proto,"
                           " flows, ops FROM edges ORDER BY server_ip, server_port, client_ip, vlan,"
                           " proto, app_proto",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(b, "edges");
    while (sqlite3_step(st) == SQLITE_ROW) {
        int vlan = sqlite3_column_int(st, 0);
        const char *app = (const char *)sqlite3_column_text(st, 5);
        int l4 = sqlite3_column_int(st, 3), port = sqlite3_column_int(st, 4);
        uint64_t flows = (uint64_t)sqlite3_column_int64(st, 6);
        uint32_t ops = (uint32_t)sqlite3_column_int64(st, 7);
        struct qw_asset *c = (struct qw_asset *)qw_inventory_find_ip(
            b->inv, (const char *)sqlite3_column_text(st, 1), vlan);
        struct qw_asset *s = (struct qw_asset *)qw_inventory_find_ip(
            b->inv, (const char *)sqlite3_column_text(st, 2), -1);
        if (c && !add_service(c, app ? app : "", l4, port, false, ops, flows)) break;
        if (s && !add_service(s, app ? app : "", l4, port, true, ops, flows)) break;
    }
    sqlite3_finalize(st);
    return true;
}

static bool is_attr(const struct qw_inv_fact *f, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(f->attr, *names) == 0) return true;
    return false;
}

/* The current value of a kind: the newest fact of the first attribute in `names` (in order of
 * preference) that any protocol stated; the OUI registry only when no protocol did. The
 * preference keeps a device's model its model: an S7 CPU states both its order number
 * ("model", SZL 0x0011) and its type name ("product_name", SZL 0x001C), and which of the two
 * lists was read last says nothing about the device. */
static const char *newest(const struct qw_asset *a, const char *const *names)
{
    const struct qw_inv_fact *oui_best = NULL;
    for (; *names; names++) {
        const struct qw_inv_fact *best = NULL;
        for (size_t i = 0; i < a->nfacts; i++) {
            const struct qw_inv_fact *f = &a->facts[i];
            if (strcmp(f->attr, *names) != 0 || !f->value[0]) continue;
            if (strcmp(f->source, "oui") == 0) {
                if (!oui_best || f->last_ns > oui_best->last_ns) oui_best = f;
            } else if (!best || f->last_ns > best->last_ns) {
                best = f;
            }
        }
        if (best) return best->value;
    }
    return oui_best ? oui_best->value : NULL;
}

static void current_values(struct qw_asset *a)
{
    for (size_t i = 0; i < a->nmacs; i++) {
        if (!a->macs[i].oui_vendor[0]) continue;
        struct qw_inv_fact *f = push(&a->facts, &a->nfacts, sizeof *f);
        if (!f) break;
        snprintf(f->attr, sizeof f->attr, "vendor");
        qw_copy_str(f->value, sizeof f->value, a->macs[i].oui_vendor);
        snprintf(f->source, sizeof f->source, "oui");
        f->first_ns = a->first_ns;
        f->last_ns = a->last_ns;
    }
    static const char *const vendor[] = {"vendor", "vendor_name", NULL};
    static const char *const model[] = {"model", "product_name", "model_name", NULL};
    static const char *const firmware[] = {"firmware", "revision", NULL};
    static const char *const serial[] = {"serial", NULL};
    static const char *const hostname[] = {"hostname", "name", "user_application_name", NULL};
    const char *v = newest(a, vendor);
    if (v) {
        qw_vendor_normalize(v, strlen(v), a->vendor_buf, sizeof a->vendor_buf);
        a->vendor = a->vendor_buf;
        char other[QW_INV_VALUE_MAX];
        for (size_t i = 0; i < a->nfacts; i++)
            if (is_attr(&a->facts[i], vendor) && a->facts[i].value[0]) {
                qw_vendor_normalize(a->facts[i].value, strlen(a->facts[i].value), other,
                                    sizeof other);
                if (strcasecmp(other, a->vendor_buf) != 0) a->vendor_conflict = true;
            }
    }
    a->model = newest(a, model);
    a->firmware = newest(a, firmware);
    a->serial = newest(a, serial);
    a->hostname = newest(a, hostname);
}

static int addr_cmp_text(const char *x, const char *y)
{
    struct qw_addr a, c;
    bool pa = qw_addr_parse(x, &a), pc = qw_addr_parse(y, &c);
    if (pa && pc) return memcmp(a.b, c.b, sizeof a.b);
    return strcmp(x, y);
}

/* An asset with its first address parsed once, for sorting. */
struct asset_order {
    struct qw_addr ip;
    bool parsed;
    const struct qw_asset *a;
};

/* Assets in address order (numeric), MAC-only ones after, by MAC. */
static int cmp_asset(const void *x, const void *y)
{
    const struct asset_order *p = x, *q = y;
    const struct qw_asset *a = p->a, *c = q->a;
    if (a->nips && c->nips) {
        int r = p->parsed && q->parsed ? memcmp(p->ip.b, q->ip.b, sizeof p->ip.b)
                                       : strcmp(a->ips[0].ip, c->ips[0].ip);
        if (r) return r;
    } else if (a->nips != c->nips) {
        return a->nips ? -1 : 1;
    }
    return strcmp(a->id, c->id);
}

static bool sort_assets(struct qw_inventory *inv)
{
    size_t n = inv->nassets;
    if (n < 2) return true;
    struct asset_order *order = malloc(n * sizeof *order);
    size_t *from = malloc(n * sizeof *from);
    if (!order || !from) {
        free(order);
        free(from);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct qw_asset *a = &inv->assets[i];
        order[i].a = a;
        order[i].parsed = a->nips && qw_addr_parse(a->ips[0].ip, &order[i].ip);
    }
    qsort(order, n, sizeof *order, cmp_asset);
    for (size_t i = 0; i < n; i++) from[i] = (size_t)(order[i].a - inv->assets);
    free(order);
    /* Permute in place, a cycle at a time (position j takes the asset at from[j]), rather than
     * through a sorted copy: a second array of kilobyte assets is megabytes of fresh pages. */
    for (size_t i = 0; i < n; i++) {
        if (from[i] == i) continue;
        struct qw_asset held = inv->assets[i];
        size_t j = i;
        for (;;) {
            size_t k = from[j];
            from[j] = j; /* placed */
            if (k == i) {
                inv->assets[j] = held;
                break;
            }
            inv->assets[j] = inv->assets[k];
            j = k;
        }
    }
    free(from);
    return true;
}

static int cmp_ip(const void *x, const void *y)
{
    const struct qw_inv_ip *a = x, *c = y;
    int r = addr_cmp_text(a->ip, c->ip);
    return r ? r : a->vlan - c->vlan;
}

bool qw_inventory_load(struct qw_inventory *inv, sqlite3 *db, char *err, size_t errlen)
{
    memset(inv, 0, sizeof *inv);
    struct builder b = {.db = db, .inv = inv, .err = err, .errlen = errlen};
    bool ok = qw_hmap_init(&b.by_id, sizeof(struct id_key), sizeof(long), QW_INV_MAX_ASSETS) &&
              qw_hmap_init(&b.host_ix, sizeof(int64_t), sizeof(size_t), QW_INV_MAX_ASSETS) &&
              load_bindings(&b) && load_hosts(&b) && load_facts(&b) && merge_devices(&b);
    if (ok) {
        for (size_t i = 0; i < inv->nassets; i++)
            if (inv->assets[i].nips > 1)
                qsort(inv->assets[i].ips, inv->assets[i].nips, sizeof *inv->assets[i].ips, cmp_ip);
        ok = sort_assets(inv) && build_ip_index(inv) && build_id_index(inv) && load_services(&b);
    }
    if (ok) {
        for (size_t i = 0; i < inv->nassets; i++) {
            current_values(&inv->assets[i]);
            qw_inventory_roles(&inv->assets[i]);
        }
    } else if (!err[0]) {
        snprintf(err, errlen, "out of memory building the inventory");
    }
    qw_hmap_free(&b.by_id);
    qw_hmap_free(&b.host_ix);
    free(b.binds);
    free(b.binds_by_ip);
    free(b.macs);
    free(b.hosts);
    free(b.parent);
    if (!ok) qw_inventory_free(inv);
    return ok;
}

void qw_inventory_free(struct qw_inventory *inv)
{
    for (size_t i = 0; i < inv->nassets; i++) {
        free(inv->assets[i].macs);
        free(inv->assets[i].ips);
        free(inv->assets[i].facts);
        free(inv->assets[i].services);
    }
    free(inv->assets);
    free(inv->by_ip);
    free(inv->by_id);
    memset(inv, 0, sizeof *inv);
}
