/* NTLMSSP decoding and the SPNEGO walk that finds it.
 *
 * Specifications:
 *   [NLMP]   MS-NLMP, NT LAN Manager Authentication Protocol (v20240423): s.2.2.1.1
 *            NEGOTIATE_MESSAGE, s.2.2.1.2 CHALLENGE_MESSAGE, s.2.2.1.3 AUTHENTICATE_MESSAGE,
 *            s.2.2.2.1 AV_PAIR (MsvAvEOL 0, MsvAvNbComputerName 1, MsvAvNbDomainName 2,
 *            MsvAvDnsComputerName 3, MsvAvDnsDomainName 4, MsvAvDnsTreeName 5, MsvAvFlags 6,
 *            MsvAvTimestamp 7, MsvAvSingleHost 8, MsvAvTargetName 9, MsvAvChannelBindings 10),
 *            s.2.2.2.5 NEGOTIATE flags (NTLMSSP_NEGOTIATE_UNICODE 0x1, NTLMSSP_NEGOTIATE_VERSION
 *            0x02000000), s.2.2.2.10 VERSION (major, minor, build, NTLM revision), s.3.3.1 (an
 *            NtChallengeResponse of 24 bytes is NTLM v1).
 *   [SPNEGO] RFC 4178 s.4.2 (NegotiationToken: [0] NegTokenInit with mechToken [2], [1]
 *            NegTokenResp with responseToken [2]) inside RFC 2743 s.3.1 InitialContextToken
 *            ([APPLICATION 0] with the mechanism OID 1.3.6.1.5.5.2).
 *   [KRB]    RFC 4121 s.4.1 (Kerberos GSS tokens: [APPLICATION 0] with OID 1.2.840.113554.1.2.2;
 *            Microsoft's legacy 1.2.840.48018.1.2.2).
 *
 * Message fields of variable length are "fields" of 8 bytes: Len (u16), MaxLen (u16),
 * BufferOffset (u32, from the start of the message), all little-endian. */
#include "proto/ntlmssp.h"

#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "util/ber.h"
#include "util/cursor.h"

#define NTLM_SIG "NTLMSSP\0"
#define NTLM_SIG_LEN 8
#define NTLM_FLAG_UNICODE 0x00000001u
#define NTLM_FLAG_VERSION 0x02000000u
#define NTLM_V1_RESPONSE_LEN 24 /* [NLMP] s.3.3.1 */
#define SPNEGO_DEPTH_MAX 6      /* nesting walked looking for the inner token */

/* OIDs in DER contents form. */
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_krb5_ms[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

size_t qw_utf16le_to_utf8(const uint8_t *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) return 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t c = (uint32_t)(s[i] | s[i + 1] << 8);
        if (c == 0) break;
        if (c >= 0xD800 && c <= 0xDBFF && i + 3 < n) {
            uint32_t lo = (uint32_t)(s[i + 2] | s[i + 3] << 8);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        size_t need = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (o + need >= cap) break;
        if (need == 1) {
            out[o++] = (char)c;
        } else if (need == 2) {
            out[o++] = (char)(0xC0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else if (need == 3) {
            out[o++] = (char)(0xE0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | c >> 18);
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

static void ntlm_set(struct qw_ntlm_str *d, const uint8_t *s, size_t n, bool unicode)
{
    if (unicode) {
        d->len = (uint8_t)qw_utf16le_to_utf8(s, n, d->s, sizeof d->s);
        return;
    }
    size_t k = n < sizeof d->s - 1 ? n : sizeof d->s - 1;
    memcpy(d->s, s, k);
    d->s[k] = '\0';
    d->len = (uint8_t)k;
}

/* One 8-byte field: the payload it names, or NULL (and `malformed`) when it points outside. */
static const uint8_t *ntlm_field(struct qw_cursor *c, const uint8_t *msg, size_t n,
                                 uint16_t *len, struct qw_ntlm *out)
{
    uint16_t l = qw_cur_le16(c);
    qw_cur_skip(c, 2);
    uint32_t off = qw_cur_le32(c);
    *len = l;
    if (c->err) return NULL;
    if (l == 0) return msg; /* empty: no bytes to read */
    if (off > n || l > n - off) {
        out->malformed = true;
        *len = 0;
        return NULL;
    }
    return msg + off;
}

static void ntlm_version(struct qw_cursor *c, struct qw_ntlm *out)
{
    out->ver_major = qw_cur_u8(c);
    out->ver_minor = qw_cur_u8(c);
    out->ver_build = qw_cur_le16(c);
    qw_cur_skip(c, 3);
    out->ver_revision = qw_cur_u8(c);
    out->has_version = !c->err && out->ver_major != 0;
}

/* The VERSION field sits at a fixed offset but only means something when the flag is set and
 * the payload does not start before it (old implementations omit it). */
static void ntlm_maybe_version(struct qw_cursor *c, struct qw_ntlm *out, size_t first_payload)
{
    if (!(out->flags & NTLM_FLAG_VERSION) || c->off + 8 > first_payload) return;
    ntlm_version(c, out);
}

static void ntlm_av_pairs(const uint8_t *p, size_t n, struct qw_ntlm *out)
{
    struct qw_cursor c = qw_cursor_make(p, n);
    while (qw_cur_left(&c) >= 4) {
        uint16_t id = qw_cur_le16(&c);
        uint16_t len = qw_cur_le16(&c);
        const uint8_t *v = qw_cur_take(&c, len);
        if (!v) {
            out->malformed = true;
            return;
        }
        switch (id) {
        case 0: return; /* MsvAvEOL */
        case 1: ntlm_set(&out->nb_computer, v, len, true); break;
        case 2: ntlm_set(&out->nb_domain, v, len, true); break;
        case 3: ntlm_set(&out->dns_computer, v, len, true); break;
        case 4: ntlm_set(&out->dns_domain, v, len, true); break;
        case 5: ntlm_set(&out->dns_tree, v, len, true); break;
        case 7: out->has_timestamp = true; break;
        default: break;
        }
    }
}

static size_t ntlm_min_off(size_t a, uint16_t len, const uint8_t *p, const uint8_t *msg)
{
    if (!p || len == 0) return a;
    size_t o = (size_t)(p - msg);
    return o < a ? o : a;
}

bool qw_ntlm_decode(const uint8_t *p, size_t n, struct qw_ntlm *out)
{
    memset(out, 0, sizeof *out);
    if (n < NTLM_SIG_LEN + 4 || memcmp(p, NTLM_SIG, NTLM_SIG_LEN) != 0) return false;
    struct qw_cursor c = qw_cursor_make(p, n);
    qw_cur_skip(&c, NTLM_SIG_LEN);
    uint32_t type = qw_cur_le32(&c);
    uint16_t l1, l2, l3, l4, l5, l6;
    const uint8_t *f1, *f2, *f3, *f4, *f5;
    size_t first = n;
    switch (type) {
    case QW_NTLM_NEGOTIATE:
        out->type = (uint8_t)type;
        out->flags = qw_cur_le32(&c);
        f1 = ntlm_field(&c, p, n, &l1, out); /* domain (OEM) */
        f2 = ntlm_field(&c, p, n, &l2, out); /* workstation (OEM) */
        first = ntlm_min_off(ntlm_min_off(first, l1, f1, p), l2, f2, p);
        ntlm_maybe_version(&c, out, first);
        if (f1 && l1) ntlm_set(&out->domain, f1, l1, false);
        if (f2 && l2) ntlm_set(&out->workstation, f2, l2, false);
        break;
    case QW_NTLM_CHALLENGE: {
        out->type = (uint8_t)type;
        f1 = ntlm_field(&c, p, n, &l1, out); /* target name */
        out->flags = qw_cur_le32(&c);
        qw_cur_skip(&c, 16); /* server challenge, reserved */
        f2 = ntlm_field(&c, p, n, &l2, out); /* target info */
        first = ntlm_min_off(ntlm_min_off(first, l1, f1, p), l2, f2, p);
        ntlm_maybe_version(&c, out, first);
        bool uni = (out->flags & NTLM_FLAG_UNICODE) != 0;
        if (f1 && l1) ntlm_set(&out->target_name, f1, l1, uni);
        if (f2 && l2) ntlm_av_pairs(f2, l2, out);
        break;
    }
    case QW_NTLM_AUTHENTICATE: {
        out->type = (uint8_t)type;
        f1 = ntlm_field(&c, p, n, &l1, out); /* LmChallengeResponse: length only */
        f2 = ntlm_field(&c, p, n, &l2, out); /* NtChallengeResponse: length only */
        f3 = ntlm_field(&c, p, n, &l3, out); /* domain */
        f4 = ntlm_field(&c, p, n, &l4, out); /* user */
        f5 = ntlm_field(&c, p, n, &l5, out); /* workstation */
        const uint8_t *f6 = ntlm_field(&c, p, n, &l6, out); /* session key: not kept */
        out->flags = qw_cur_le32(&c);
        first = ntlm_min_off(first, l1, f1, p);
        first = ntlm_min_off(first, l2, f2, p);
        first = ntlm_min_off(first, l3, f3, p);
        first = ntlm_min_off(first, l4, f4, p);
        first = ntlm_min_off(first, l5, f5, p);
        first = ntlm_min_off(first, l6, f6, p);
        ntlm_maybe_version(&c, out, first);
        out->lm_len = f1 ? l1 : 0;
        out->nt_len = f2 ? l2 : 0;
        bool uni = (out->flags & NTLM_FLAG_UNICODE) != 0;
        if (f3 && l3) ntlm_set(&out->domain, f3, l3, uni);
        if (f4 && l4) ntlm_set(&out->user, f4, l4, uni);
        if (f5 && l5) ntlm_set(&out->workstation, f5, l5, uni);
        break;
    }
    default: return false;
    }
    if (c.err) out->malformed = true;
    return true;
}

static bool oid_is(const struct qw_ber_tlv *t, const uint8_t *oid, size_t n)
{
    return t->cls == QW_BER_UNIVERSAL && t->tag == 6 && t->len == n && memcmp(t->val, oid, n) == 0;
}

/* Walk constructed values looking for an OCTET STRING that holds an NTLMSSP message or a
 * Kerberos token. */
static enum qw_auth_mech spnego_walk(const uint8_t *p, size_t n, int depth, const uint8_t **tok,
                                     size_t *tok_len)
{
    if (depth > SPNEGO_DEPTH_MAX) return QW_MECH_UNKNOWN;
    struct qw_cursor c = qw_cursor_make(p, n);
    enum qw_auth_mech found = QW_MECH_UNKNOWN;
    while (qw_cur_left(&c) > 0) {
        struct qw_ber_tlv t;
        if (qw_ber_next(&c, &t) != QW_BER_OK) break;
        if (!t.constructed && t.cls == QW_BER_UNIVERSAL && t.tag == 4) { /* OCTET STRING */
            if (t.len >= NTLM_SIG_LEN && memcmp(t.val, NTLM_SIG, NTLM_SIG_LEN) == 0) {
                *tok = t.val;
                *tok_len = t.len;
                return QW_MECH_NTLMSSP;
            }
            /* A GSS token inside: [APPLICATION 0] with the Kerberos OID. */
            struct qw_cursor k = qw_cursor_make(t.val, t.len);
            struct qw_ber_tlv a, o;
            if (qw_ber_next(&k, &a) == QW_BER_OK && a.cls == QW_BER_APPLICATION && a.tag == 0) {
                struct qw_cursor in = qw_ber_contents(&a);
                if (qw_ber_next(&in, &o) == QW_BER_OK &&
                    (oid_is(&o, oid_krb5, sizeof oid_krb5) ||
                     oid_is(&o, oid_krb5_ms, sizeof oid_krb5_ms)))
                    return QW_MECH_KERBEROS;
            }
            continue;
        }
        if (t.constructed) {
            enum qw_auth_mech m = spnego_walk(t.val, t.len, depth + 1, tok, tok_len);
            if (m == QW_MECH_NTLMSSP || m == QW_MECH_KERBEROS) return m;
        }
    }
    return found;
}

enum qw_auth_mech qw_auth_find(const uint8_t *blob, size_t n, const uint8_t **tok, size_t *tok_len)
{
    *tok = NULL;
    *tok_len = 0;
    if (n == 0) return QW_MECH_NONE;
    if (n >= NTLM_SIG_LEN && memcmp(blob, NTLM_SIG, NTLM_SIG_LEN) == 0) {
        *tok = blob;
        *tok_len = n;
        return QW_MECH_NTLMSSP;
    }
    struct qw_cursor c = qw_cursor_make(blob, n);
    struct qw_ber_tlv t;
    if (qw_ber_next(&c, &t) != QW_BER_OK) return QW_MECH_UNKNOWN;
    bool spnego = false;
    if (t.cls == QW_BER_APPLICATION && t.tag == 0 && t.constructed) {
        /* InitialContextToken: the mechanism OID comes first. */
        struct qw_cursor in = qw_ber_contents(&t);
        struct qw_ber_tlv o;
        if (qw_ber_next(&in, &o) != QW_BER_OK) return QW_MECH_UNKNOWN;
        if (oid_is(&o, oid_krb5, sizeof oid_krb5) || oid_is(&o, oid_krb5_ms, sizeof oid_krb5_ms))
            return QW_MECH_KERBEROS;
        if (!oid_is(&o, oid_spnego, sizeof oid_spnego)) return QW_MECH_UNKNOWN;
        spnego = true;
    } else if (t.cls == QW_BER_CONTEXT && (t.tag == 0 || t.tag == 1) && t.constructed) {
        spnego = true; /* a NegTokenInit/NegTokenResp without the wrapper (later legs) */
    }
    if (!spnego) return QW_MECH_UNKNOWN;
    enum qw_auth_mech m = spnego_walk(t.val, t.len, 0, tok, tok_len);
    return m == QW_MECH_UNKNOWN ? QW_MECH_SPNEGO : m;
}

const char *qw_auth_mech_name(enum qw_auth_mech m)
{
    switch (m) {
    case QW_MECH_NONE: return "none";
    case QW_MECH_NTLMSSP: return "ntlmssp";
    case QW_MECH_KERBEROS: return "kerberos";
    case QW_MECH_SPNEGO: return "spnego";
    default: return "unknown";
    }
}

const char *qw_ntlm_type_name(uint8_t type)
{
    switch (type) {
    case QW_NTLM_NEGOTIATE: return "negotiate";
    case QW_NTLM_CHALLENGE: return "challenge";
    case QW_NTLM_AUTHENTICATE: return "authenticate";
    default: return "unknown";
    }
}

bool qw_ntlm_os_version(const struct qw_ntlm *m, char *out, size_t cap)
{
    if (!m->has_version) return false;
    snprintf(out, cap, "Windows %u.%u build %u", m->ver_major, m->ver_minor, m->ver_build);
    return true;
}

static void json_name(struct qw_json *j, const char *key, const struct qw_ntlm_str *s)
{
    if (s->len) qw_json_strn(j, key, s->s, s->len);
}

void qw_ntlm_json(struct qw_json *j, const struct qw_ntlm *m)
{
    qw_json_str(j, "ntlm_message", qw_ntlm_type_name(m->type));
    char b[48];
    snprintf(b, sizeof b, "0x%08x", m->flags);
    qw_json_str(j, "ntlm_flags", b);
    if (qw_ntlm_os_version(m, b, sizeof b)) qw_json_str(j, "os_version", b);
    json_name(j, "target_name", &m->target_name);
    json_name(j, "netbios_computer", &m->nb_computer);
    json_name(j, "netbios_domain", &m->nb_domain);
    json_name(j, "dns_computer", &m->dns_computer);
    json_name(j, "dns_domain", &m->dns_domain);
    json_name(j, "dns_tree", &m->dns_tree);
    if (m->type == QW_NTLM_AUTHENTICATE) {
        qw_json_strn(j, "user", m->user.s, m->user.len);
        qw_json_strn(j, "domain", m->domain.s, m->domain.len);
        json_name(j, "workstation", &m->workstation);
        qw_json_bool(j, "anonymous", m->user.len == 0 && m->nt_len == 0);
        if (m->nt_len)
            qw_json_str(j, "ntlm_version", m->nt_len == NTLM_V1_RESPONSE_LEN ? "v1" : "v2");
    } else if (m->type == QW_NTLM_NEGOTIATE) {
        json_name(j, "domain", &m->domain);
        json_name(j, "workstation", &m->workstation);
    }
    if (m->malformed) qw_json_bool(j, "ntlm_malformed", true);
}

void qw_ntlm_emit_identity(struct qw_pctx *ctx, const struct qw_ntlm *m, bool sender_is_server,
                           const char *user_attr)
{
    char b[2 * QW_NTLM_NAME_MAX + 2];
    if (qw_ntlm_os_version(m, b, sizeof b))
        qw_emit_identity(ctx, sender_is_server, "os_version", b, strlen(b));
    if (m->type == QW_NTLM_CHALLENGE) {
        if (m->nb_computer.len)
            qw_emit_identity(ctx, sender_is_server, "netbios_name", m->nb_computer.s,
                             m->nb_computer.len);
        if (m->nb_domain.len)
            qw_emit_identity(ctx, sender_is_server, "netbios_domain", m->nb_domain.s,
                             m->nb_domain.len);
        if (m->dns_computer.len)
            qw_emit_identity(ctx, sender_is_server, "hostname", m->dns_computer.s,
                             m->dns_computer.len);
        if (m->dns_domain.len)
            qw_emit_identity(ctx, sender_is_server, "domain", m->dns_domain.s, m->dns_domain.len);
    } else if (m->type == QW_NTLM_AUTHENTICATE) {
        if (m->user.len) {
            int k = m->domain.len
                        ? snprintf(b, sizeof b, "%.*s\\%.*s", (int)m->domain.len, m->domain.s,
                                   (int)m->user.len, m->user.s)
                        : snprintf(b, sizeof b, "%.*s", (int)m->user.len, m->user.s);
            if (k > 0) {
                qw_emit_identity(ctx, sender_is_server, user_attr, b, strlen(b));
                /* the account a client logs on with is who is behind its session */
                if (!sender_is_server) qw_emit_session_user(ctx, "ntlm", b, strlen(b));
            }
        }
        if (m->workstation.len)
            qw_emit_identity(ctx, sender_is_server, "netbios_name", m->workstation.s,
                             m->workstation.len);
    }
}
