/* JA3, JA3S and JA4 fingerprints (definitions and sources in tls_fingerprint.h). */
#include "proto/tls_fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include "util/digits.h"

#define JA4_HASH_HEX 12 /* [JA4]: hashes are cut to their first 12 hex digits */

/* ---- JA3 text: streamed into MD5, copied into a bounded display buffer -------------------- */

struct ja3_text {
    struct md5_ctx md5;
    char *str;
    size_t cap, len; /* len counts the whole text, also past cap */
};

static void ja3_put(struct ja3_text *t, const char *s, size_t n)
{
    md5_update(&t->md5, n, (const uint8_t *)s);
    if (t->cap && t->len < t->cap - 1) {
        size_t room = t->cap - 1 - t->len;
        memcpy(t->str + t->len, s, n < room ? n : room);
    }
    t->len += n;
}

static void ja3_num(struct ja3_text *t, unsigned v)
{
    char b[8];
    int n = snprintf(b, sizeof b, "%u", v);
    ja3_put(t, b, (size_t)n);
}

/* One '-'-joined field of 16-bit values with GREASE left out. */
static void ja3_list16(struct ja3_text *t, const uint16_t *v, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (tls_is_grease(v[i])) continue;
        if (!first) ja3_put(t, "-", 1);
        ja3_num(t, v[i]);
        first = false;
    }
}

static void ja3_begin(struct ja3_text *t, char *str, size_t cap)
{
    md5_init(&t->md5);
    t->str = str;
    t->cap = cap;
    t->len = 0;
}

static size_t ja3_end(struct ja3_text *t, char md5hex[TLS_MD5_HEX])
{
    uint8_t d[MD5_DIGEST_SIZE];
    md5_digest(&t->md5, sizeof d, d);
    qw_hex_encode(md5hex, d, sizeof d);
    if (t->cap) t->str[t->len < t->cap - 1 ? t->len : t->cap - 1] = '\0';
    return t->len;
}

size_t tls_ja3(const struct tls_fp_hello *h, char md5hex[TLS_MD5_HEX], char *str, size_t cap)
{
    struct ja3_text t;
    ja3_begin(&t, str, cap);
    ja3_num(&t, h->version);
    ja3_put(&t, ",", 1);
    ja3_list16(&t, h->ciphers, h->nciphers);
    ja3_put(&t, ",", 1);
    ja3_list16(&t, h->exts, h->nexts);
    ja3_put(&t, ",", 1);
    ja3_list16(&t, h->groups, h->ngroups);
    ja3_put(&t, ",", 1);
    for (size_t i = 0; i < h->nformats; i++) { /* 8-bit values: GREASE does not apply */
        if (i) ja3_put(&t, "-", 1);
        ja3_num(&t, h->formats[i]);
    }
    return ja3_end(&t, md5hex);
}

size_t tls_ja3s(uint16_t version, uint16_t cipher, const uint16_t *exts, size_t nexts,
                char md5hex[TLS_MD5_HEX], char *str, size_t cap)
{
    struct ja3_text t;
    ja3_begin(&t, str, cap);
    ja3_num(&t, version);
    ja3_put(&t, ",", 1);
    ja3_num(&t, cipher);
    ja3_put(&t, ",", 1);
    ja3_list16(&t, exts, nexts);
    return ja3_end(&t, md5hex);
}

/* ---- JA4 ---------------------------------------------------------------------------------- */

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* Append "xxxx" (4 lower-case hex digits) items, comma-joined, to a SHA-256. Sorted 16-bit
 * values in numeric order are also in the hex-text order [JA4] asks for, since every item has
 * exactly four digits. */
static void sha_list(struct sha256_ctx *s, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char b[5] = {qw_hex_digits[v[i] >> 12], qw_hex_digits[(v[i] >> 8) & 15],
                     qw_hex_digits[(v[i] >> 4) & 15], qw_hex_digits[v[i] & 15], ','};
        sha256_update(s, i + 1 < n ? 5 : 4, (const uint8_t *)b);
    }
}

static void sha_trunc(struct sha256_ctx *s, char out[JA4_HASH_HEX + 1])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    char full[2 * SHA256_DIGEST_SIZE + 1];
    sha256_digest(s, sizeof d, d);
    qw_hex_encode(full, d, sizeof d);
    memcpy(out, full, JA4_HASH_HEX);
    out[JA4_HASH_HEX] = '\0';
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xFEFF: return "d1";
    case 0xFEFD: return "d2";
    case 0xFEFC: return "d3";
    default: return "00";
    }
}

static bool ascii_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Copy the non-GREASE values of `in` into `out` (same capacity), return their number. */
static size_t drop_grease(const uint16_t *in, size_t n, uint16_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!tls_is_grease(in[i])) out[k++] = in[i];
    return k;
}

void tls_ja4(const struct tls_fp_hello *h, char out[TLS_JA4_LEN])
{
    /* a: version from supported_versions when the extension was sent (its highest value). */
    uint16_t version = h->version;
    if (h->nversions) {
        version = 0;
        for (size_t i = 0; i < h->nversions; i++)
            if (!tls_is_grease(h->versions[i]) && h->versions[i] > version)
                version = h->versions[i];
    }
    uint16_t ciphers[TLS_FP_CIPHERS_MAX], exts[TLS_FP_EXTS_MAX], sigalgs[TLS_FP_LIST_MAX];
    size_t nc = drop_grease(h->ciphers, h->nciphers, ciphers);
    size_t ne_all = drop_grease(h->exts, h->nexts, exts);
    size_t ns = drop_grease(h->sigalgs, h->nsigalgs, sigalgs);

    char alpn[3] = "00";
    if (h->has_alpn) {
        if (ascii_alnum(h->alpn_first) && ascii_alnum(h->alpn_last)) {
            alpn[0] = (char)h->alpn_first;
            alpn[1] = (char)h->alpn_last;
        } else {
            alpn[0] = qw_hex_digits[h->alpn_first >> 4];
            alpn[1] = qw_hex_digits[h->alpn_last & 0x0F];
        }
    }

    /* b: sorted ciphers. */
    char b[JA4_HASH_HEX + 1] = "000000000000";
    if (nc) {
        qsort(ciphers, nc, sizeof ciphers[0], cmp_u16);
        struct sha256_ctx s;
        sha256_init(&s);
        sha_list(&s, ciphers, nc);
        sha_trunc(&s, b);
    }

    /* c: sorted extensions without SNI and ALPN, then the signature algorithms as sent. */
    size_t ne = 0;
    for (size_t i = 0; i < ne_all; i++)
        if (exts[i] != 0x0000 && exts[i] != 0x0010) exts[ne++] = exts[i];
    char c[JA4_HASH_HEX + 1] = "000000000000";
    if (ne) {
        qsort(exts, ne, sizeof exts[0], cmp_u16);
        struct sha256_ctx s;
        sha256_init(&s);
        sha_list(&s, exts, ne);
        if (ns) {
            sha256_update(&s, 1, (const uint8_t *)"_");
            sha_list(&s, sigalgs, ns);
        }
        sha_trunc(&s, c);
    }

    snprintf(out, TLS_JA4_LEN, "t%s%c%02u%02u%s_%s_%s", ja4_version(version),
             h->has_sni ? 'd' : 'i', (unsigned)(nc > 99 ? 99 : nc),
             (unsigned)(ne_all > 99 ? 99 : ne_all), alpn, b, c);
}
