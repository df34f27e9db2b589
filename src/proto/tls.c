/* TLS 1.0-1.3 and SSL 3.0 handshake parser; SSL 2.0 hellos are recognised.
 *
 * Specifications:
 *   [TLS13] RFC 8446: s.4 handshake messages (s.4.1.2 ClientHello, s.4.1.3 ServerHello and the
 *           HelloRetryRequest random), s.4.2.1 supported_versions, s.4.2.3
 *           signature_algorithms, s.5.1 record layer, s.5.2 record sizes, s.6 alerts, Appendix
 *           D.4 (middlebox compatibility: a dummy ChangeCipherSpec that changes nothing).
 *   [TLS12] RFC 5246: s.6.2 record layer (s.6.2.3: TLSCiphertext.length at most 2^14 + 2048),
 *           s.7.1 ChangeCipherSpec, s.7.2 alerts, s.7.4 handshake messages (s.7.4.2
 *           Certificate: a 24-bit list of 24-bit length-prefixed DER certificates).
 *   [TLS10] RFC 2246 and [SSL3] RFC 6101: the same record and handshake layout, versions
 *           0x0301 and 0x0300; [SSL3] Appendix E.1 / [TLS10] Appendix E.1: the SSL 2.0
 *           compatible CLIENT-HELLO.
 *   [SSL2]  draft-hickman-netscape-ssl-00 (SSL 2.0): s.1.2 record header (2 or 3 bytes),
 *           s.2.5-2.6 CLIENT-HELLO, SERVER-HELLO, CLIENT-MASTER-KEY.
 *   [EXT]   RFC 6066 s.3 server_name, RFC 7301 s.3.1 ALPN, RFC 8422 s.5.1.1-5.1.2
 *           supported_groups and ec_point_formats, RFC 8701 GREASE.
 *   [DEPR]  RFC 6176 (SSL 2.0 prohibited), RFC 7568 (SSL 3.0 deprecated), RFC 8996 (TLS 1.0
 *           and 1.1 deprecated): the versions reported by tls.weak_version.
 *   Fingerprints (JA3, JA3S, JA4) are in tls_fingerprint.c, certificates in tls_x509.c.
 *
 * Record header ([TLS12] s.6.2.1, [TLS13] s.5.1):
 *
 *   offset size meaning
 *   ------ ---- ---------------------------------------------------------------------------
 *        0    1 content type: 20 change_cipher_spec, 21 alert, 22 handshake,
 *               23 application_data, 24 heartbeat (RFC 6520)
 *        1    2 record version: 0x0300..0x0304 (TLS 1.3 writes 0x0303, or 0x0301 in a first
 *               ClientHello)
 *        3    2 length of the fragment that follows (at most 2^14 + 2048)
 *
 * Handshake message, carried in one or more handshake records and possibly several per record
 * ([TLS12] s.7.4, [TLS13] s.4): type (1), length (3), body.
 *
 * What is decoded. Plaintext handshake records are reassembled into messages; ClientHello,
 * ServerHello and (TLS 1.2 and older) the first certificate of each Certificate message are
 * decoded. A direction turns opaque after it sends ChangeCipherSpec (TLS 1.2 and older) or
 * application data: from then on its records are only counted and skipped without waiting for
 * their end. TLS 1.3 encrypts everything after the ServerHello and sends it as application data,
 * so its certificates are never seen; its ChangeCipherSpec records are dummies ([TLS13] D.4).
 *
 * One transaction per handshake: the client's side (ClientHello...) is the `request`, the
 * server's (ServerHello, Certificate...) the `response`. It is written when the server side
 * turns opaque (its ChangeCipherSpec or first encrypted record), when a fatal alert ends the
 * handshake, when a new ClientHello starts another one, or when the flow ends. Each plaintext
 * alert is a transaction of its own.
 *
 * Messages that span records are copied into one reassembly buffer shared by both directions
 * (TLS_HS_BUF): a handshake flight goes one way at a time, so the two directions never need it
 * together in valid traffic (when they do, the older message is counted but not decoded). The
 * buffer is borrowed from the engine (qw_loan_take) when such a message starts and given back
 * when it ends, so a TLS flow's state is about 3.5 KiB for its whole life, not 11.5; past the
 * parser memory cap no buffer is lent and the message is counted, not decoded. A message inside
 * a single record is decoded in place. Past the buffer only the message's start is kept, which is
 * enough for the first certificate of a long chain.
 *
 * After a gap the direction resynchronises on the next plausible record header whose record is
 * followed by another plausible header (or by the end of the data). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "proto/tls_embed.h"
#include "proto/tls_fingerprint.h"
#include "proto/tls_tables.h"
#include "proto/tls_x509.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define TLS_REC_HDR 5
#define TLS_REC_MAX (16384u + 2048u) /* [TLS12] s.6.2.3 */
#define TLS_HS_HDR 4
/* Reassembly buffer for messages that span records. ClientHellos are 0.2-2 KiB (post-quantum key
 * shares make them ~1.9 KiB), and the fields read from a certificate lie in its first KiB. */
#define TLS_HS_BUF 8192u
/* A hello longer than this is not a hello (the probe's bound: a ClientHello's extension block is
 * at most 2^16 - 1 bytes, [TLS13] s.4.1.2, and its other fields about 2^16 + 300). */
#define TLS_HELLO_MAX (1u << 17)
/* The shortest hello body, a ServerHello without extensions: version 2 + random 32 + session id
 * length 1 + cipher suite 2 + compression 1 (a ClientHello needs at least 41). */
#define TLS_HELLO_MIN 38
#define TLS_RANDOM_LEN 32
#define TLS_SESSION_ID_MAX 32   /* [TLS12] s.7.4.1.2 */

#define TLS_MSGS_MAX 16     /* handshake message types listed per side and handshake */
#define TLS_SNI_KEEP 256    /* DNS names are at most 253 bytes (RFC 1035 s.2.3.4) */
#define TLS_ALPN_KEEP 4     /* ALPN values listed */
#define TLS_ALPN_LEN 32     /* bytes kept of each (registered ids are at most 17) */
#define TLS_GROUPS_KEEP 16
#define TLS_VERSIONS_KEEP 8
#define TLS_FORMATS_KEEP 8
#define TLS_JA3_STR_KEEP 1024
#define TLS_JA3S_STR_KEEP 256
#define TLS_SH_EXTS_MAX 64  /* ServerHello extensions kept for JA3S */

/* SSL 2.0 ([SSL2] s.1.2, s.2.5). */
#define SSL2_MT_CLIENT_HELLO 1
#define SSL2_MT_CLIENT_MASTER_KEY 2
#define SSL2_MT_SERVER_HELLO 4
#define SSL2_CLIENT_HELLO_FIXED 9 /* type, version, three lengths */
#define SSL2_CHALLENGE_MIN 16
#define SSL2_CHALLENGE_MAX 32
#define SSL2_SESSION_ID_LEN 16
#define SSL2_CIPHER_SPEC_LEN 3
#define SSL2_X509_CERTIFICATE 1

enum tls_content {
    TLS_CT_CCS = 20,
    TLS_CT_ALERT = 21,
    TLS_CT_HANDSHAKE = 22,
    TLS_CT_APPDATA = 23,
    TLS_CT_HEARTBEAT = 24,
};

enum tls_hs_type {
    TLS_HS_CLIENT_HELLO = 1,
    TLS_HS_SERVER_HELLO = 2,
    TLS_HS_CERTIFICATE = 11,
};

enum tls_ext {
    TLS_EXT_SERVER_NAME = 0,
    TLS_EXT_SUPPORTED_GROUPS = 10,
    TLS_EXT_EC_POINT_FORMATS = 11,
    TLS_EXT_SIGNATURE_ALGORITHMS = 13,
    TLS_EXT_ALPN = 16,
    TLS_EXT_PRE_SHARED_KEY = 41,
    TLS_EXT_SUPPORTED_VERSIONS = 43,
};

#define TLS_ALERT_WARNING 1
#define TLS_ALERT_FATAL 2

/* [TLS13] s.4.1.3: the ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
static const uint8_t tls_hrr_random[TLS_RANDOM_LEN] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* ---- Decoded messages ---------------------------------------------------------------------- */

struct tls_client_hello {
    bool sslv2;        /* an SSL 2.0 (or 2.0-compatible) CLIENT-HELLO */
    bool truncated;    /* cut by the reassembly buffer or malformed: later fields may be absent */
    bool has_extensions;
    bool fingerprinted;
    bool ja3_str_cut;
    bool sni_cut;
    uint16_t version;
    uint8_t session_id_len;
    uint8_t session_id[TLS_SESSION_ID_MAX];
    uint16_t ciphers_count, extensions_count, sigalgs_count, groups_count, versions_count,
        formats_count, alpn_count;
    uint8_t ngroups, nversions, nformats, nalpn;
    uint16_t groups[TLS_GROUPS_KEEP];
    uint16_t versions[TLS_VERSIONS_KEEP];
    uint8_t formats[TLS_FORMATS_KEEP];
    uint8_t alpn_len[TLS_ALPN_KEEP];
    char alpn[TLS_ALPN_KEEP][TLS_ALPN_LEN];
    uint16_t sni_len;
    char sni[TLS_SNI_KEEP];
    char ja3[TLS_MD5_HEX];
    char ja4[TLS_JA4_LEN];
    char ja3_str[TLS_JA3_STR_KEEP];
};

struct tls_server_hello {
    bool sslv2;
    bool truncated;
    bool hrr;          /* this ServerHello is a HelloRetryRequest */
    bool resumed;      /* session id echoed (TLS <= 1.2) or pre_shared_key accepted (1.3) */
    bool has_selected; /* supported_versions extension present */
    bool sid_echo;     /* the client's non-empty session id came back */
    bool fingerprinted;
    bool ja3s_str_cut;
    uint16_t version, selected_version, cipher;
    uint8_t compression;
    uint16_t extensions_count;
    uint16_t ssl2_ciphers_count;
    uint8_t alpn_len;
    char alpn[TLS_ALPN_LEN];
    char ja3s[TLS_MD5_HEX];
    char ja3s_str[TLS_JA3S_STR_KEEP];
};

struct tls_cert_info {
    bool present;
    bool body_cut;  /* the Certificate message was longer than the reassembly buffer */
    enum tls_x509_status status;
    uint16_t chain_length; /* certificates in the message (those seen, when body_cut) */
    struct tls_x509 x;
};

struct tls_dir {
    bool opaque;     /* after ChangeCipherSpec or application data: records are skipped */
    bool resync;     /* looking for the next record header after a gap or a bad header */
    bool lost;       /* SSL 2.0 stream after a gap: no way to find a record boundary */
    uint32_t skip;   /* bytes of an opaque record still to pass */
    uint32_t feed;   /* embedded: bytes of the current handshake record still to decode */
    uint64_t records; /* records seen (an SSL 2.0 hello can only be the first) */
    /* Encrypted (or undecodable) records and their bytes. Counted for a per-flow summary that
     * the parser contract has no place for yet (docs/events/tls.md, Limits). */
    uint64_t opaque_records, opaque_bytes;
    /* handshake message reassembly */
    uint8_t hs_hdr[TLS_HS_HDR];
    uint8_t hs_hdr_have;
    uint32_t hs_len, hs_have;
    bool hs_buffering; /* this direction's message is being copied into tls_state.hs_buf */
    /* the current handshake's messages (low byte type, 0x100 set for SSL 2.0 types) */
    uint8_t nmsgs;
    bool msgs_more;
    uint16_t msgs[TLS_MSGS_MAX];
    uint64_t first_ns;
};

struct tls_alert_view {
    bool from_client;
    uint8_t level, desc;
};

struct tls_state {
    struct tls_dir d[2]; /* index 0: to the server, 1: to the client */
    bool cli_known;
    uint8_t cli;         /* direction index of the TLS client's bytes */
    bool tls13;          /* TLS 1.3 negotiated */
    bool sslv2_session;  /* the server answered in SSL 2.0: both directions use its records */
    bool hs_pending;     /* a handshake has something to write */
    bool have_ch, have_sh, hello_retry, failed, encrypted, client_auth;
    uint64_t ch_ns, sh_ns;
    struct tls_client_hello ch;
    struct tls_server_hello sh;
    struct tls_cert_info cert[2]; /* by sending direction */
    struct tls_alert_view alert;
    uint8_t hs_owner;    /* 1 + direction whose message is in hs_buf, 0 when free */
    uint32_t hs_buf_len;
    /* Run by another parser (tls_embed.h): records are decoded as they stream, transactions go
     * to embed_txn instead of the event log, SSL 2.0 framing is not looked for. */
    bool embedded;
    tls_embed_txn_fn *embed_txn;
    void *embed_arg;
    uint8_t *hs_buf;     /* TLS_HS_BUF bytes lent by the engine (qw_loan_take) while a message
                            spans records; NULL otherwise, so a flow does not carry 8 KiB for
                            its whole life */
};

_Static_assert(TLS_HS_BUF <= QW_LOAN_BYTES, "the handshake buffer is a loan");

_Static_assert(sizeof(struct tls_state) <= TLS_EMBED_STATE_SIZE,
               "TLS_EMBED_STATE_SIZE must hold struct tls_state");
_Static_assert(_Alignof(struct tls_state) <= _Alignof(max_align_t),
               "struct tls_embed's state buffer is aligned for max_align_t only");

/* ---- Small helpers ------------------------------------------------------------------------- */

static unsigned dir_idx(enum qw_dir dir)
{
    return dir == QW_DIR_TO_CLIENT ? 1u : 0u;
}

static unsigned client_idx(const struct tls_state *st)
{
    return st->cli_known ? st->cli : 0u;
}

static bool is_server_side(const struct tls_state *st, unsigned d)
{
    return d != client_idx(st);
}

static void learn_client(struct tls_state *st, unsigned d)
{
    if (st->cli_known) return;
    st->cli_known = true;
    st->cli = (uint8_t)d;
}

static uint64_t now_ns(const struct qw_pctx *ctx)
{
    return qw_pctx_time(ctx);
}

static bool owns_buf(const struct tls_state *st, unsigned d)
{
    return st->hs_owner == d + 1u;
}

/* Record one handshake message type for the current handshake. */
static void add_msg(struct qw_pctx *ctx, struct tls_state *st, unsigned d, uint16_t type)
{
    struct tls_dir *dd = &st->d[d];
    if (dd->nmsgs < TLS_MSGS_MAX) dd->msgs[dd->nmsgs++] = type;
    else dd->msgs_more = true;
    if (!dd->first_ns) dd->first_ns = now_ns(ctx) ? now_ns(ctx) : 1;
    st->hs_pending = true;
}

/* A transaction: to the event log, or to the embedding parser (tls_embed.h). */
static void emit_txn(struct qw_pctx *ctx, const struct tls_state *st, const struct qw_txn *t)
{
    if (st->embedded) {
        if (st->embed_txn) st->embed_txn(ctx, st->embed_arg, t);
        return;
    }
    qw_emit_txn(ctx, t);
}

/* Identity fact `attr` about the sender of direction d (d == 1: the flow's server end). */
static void identity(struct qw_pctx *ctx, unsigned d, const char *attr, const char *v, size_t n)
{
    if (n) qw_emit_identity(ctx, d == 1, attr, v, n);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_version(struct qw_json *j, const char *key, const char *name_key, uint16_t v)
{
    qw_json_u64(j, key, v);
    const char *n = tls_version_name(v);
    qw_json_str(j, name_key, n ? n : "unknown");
}

static void json_msgs(struct qw_json *j, const struct tls_dir *dd)
{
    qw_json_arr_begin(j, "messages");
    for (unsigned i = 0; i < dd->nmsgs; i++) {
        uint16_t m = dd->msgs[i];
        const char *n = (m & 0x100u) ? tls_sslv2_message_name((uint8_t)m)
                                     : tls_handshake_name((uint8_t)m);
        qw_json_str(j, NULL, n ? n : "unknown");
    }
    qw_json_arr_end(j);
    if (dd->msgs_more) qw_json_bool(j, "messages_more", true);
}

static void json_str(struct qw_json *j, const char *key, const struct tls_x509_str *s)
{
    if (s->len) qw_json_strn(j, key, s->s, s->len);
}

static void json_cert(struct qw_json *j, const struct tls_cert_info *c)
{
    const struct tls_x509 *x = &c->x;
    qw_json_obj_begin(j, "certificate");
    qw_json_u64(j, "chain_length", c->chain_length);
    if (c->chain_length) {
        json_str(j, "subject_cn", &x->subject_cn);
        json_str(j, "subject_o", &x->subject_o);
        json_str(j, "issuer_cn", &x->issuer_cn);
        json_str(j, "issuer_o", &x->issuer_o);
        if (x->serial_len) qw_json_hex(j, "serial", x->serial, x->serial_len);
        if (x->has_validity) {
            qw_json_str(j, "not_before", x->not_before_str);
            qw_json_str(j, "not_after", x->not_after_str);
        }
        if (x->has_subject) qw_json_bool(j, "self_signed", x->self_signed);
        if (x->version) qw_json_u64(j, "x509_version", x->version);
        if (c->status == TLS_X509_TRUNCATED) qw_json_bool(j, "truncated", true);
        if (c->status == TLS_X509_MALFORMED) qw_json_bool(j, "malformed", true);
    }
    if (c->body_cut) qw_json_bool(j, "chain_cut", true);
    qw_json_obj_end(j);
}

static void json_u16_list(struct qw_json *j, const char *key, const uint16_t *v, size_t n)
{
    qw_json_arr_begin(j, key);
    for (size_t i = 0; i < n; i++) qw_json_u64(j, NULL, v[i]);
    qw_json_arr_end(j);
}

static void json_client_hello(struct qw_json *j, const struct tls_client_hello *ch)
{
    json_version(j, "version", "version_name", ch->version);
    if (ch->sslv2) qw_json_bool(j, "sslv2_hello", true);
    qw_json_u64(j, "session_id_length", ch->session_id_len);
    qw_json_u64(j, "cipher_suites_count", ch->ciphers_count);
    if (!ch->sslv2) qw_json_u64(j, "extensions_count", ch->extensions_count);
    if (ch->sni_len) qw_json_strn(j, "sni", ch->sni, ch->sni_len);
    if (ch->nalpn) {
        qw_json_arr_begin(j, "alpn");
        for (unsigned i = 0; i < ch->nalpn; i++)
            qw_json_strn(j, NULL, ch->alpn[i], ch->alpn_len[i]);
        qw_json_arr_end(j);
    }
    if (ch->versions_count) {
        qw_json_arr_begin(j, "supported_versions");
        for (unsigned i = 0; i < ch->nversions; i++) {
            const char *n = tls_version_name(ch->versions[i]);
            if (n) qw_json_str(j, NULL, n);
            else qw_json_u64(j, NULL, ch->versions[i]);
        }
        qw_json_arr_end(j);
    }
    if (ch->sigalgs_count) qw_json_u64(j, "signature_algorithms_count", ch->sigalgs_count);
    if (ch->groups_count) json_u16_list(j, "supported_groups", ch->groups, ch->ngroups);
    if (ch->formats_count) {
        qw_json_arr_begin(j, "ec_point_formats");
        for (unsigned i = 0; i < ch->nformats; i++) qw_json_u64(j, NULL, ch->formats[i]);
        qw_json_arr_end(j);
    }
    if (ch->fingerprinted) {
        qw_json_str(j, "ja3", ch->ja3);
        qw_json_str(j, "ja3_string", ch->ja3_str);
        if (ch->ja3_str_cut) qw_json_bool(j, "ja3_string_cut", true);
        qw_json_str(j, "ja4", ch->ja4);
    }
    if (ch->truncated) qw_json_bool(j, "truncated", true);
}

static void json_server_hello(struct qw_json *j, const struct tls_server_hello *sh)
{
    uint16_t v = sh->has_selected ? sh->selected_version : sh->version;
    json_version(j, "version", "version_name", v);
    if (sh->has_selected) qw_json_u64(j, "legacy_version", sh->version);
    if (sh->sslv2) {
        qw_json_u64(j, "cipher_specs_count", sh->ssl2_ciphers_count);
    } else {
        qw_json_u64(j, "cipher_suite", sh->cipher);
        const char *cn = tls_cipher_name(sh->cipher);
        qw_json_str(j, "cipher_suite_name", cn ? cn : "unknown");
        qw_json_u64(j, "compression", sh->compression);
        qw_json_u64(j, "extensions_count", sh->extensions_count);
    }
    if (sh->alpn_len) qw_json_strn(j, "alpn", sh->alpn, sh->alpn_len);
    if (sh->hrr) qw_json_bool(j, "hello_retry_request", true);
    if (sh->resumed) qw_json_bool(j, "resumed", true);
    if (sh->fingerprinted) {
        qw_json_str(j, "ja3s", sh->ja3s);
        qw_json_str(j, "ja3s_string", sh->ja3s_str);
        if (sh->ja3s_str_cut) qw_json_bool(j, "ja3s_string_cut", true);
    }
    if (sh->truncated) qw_json_bool(j, "truncated", true);
}

static void json_side(struct qw_json *j, const char *key, const struct tls_state *st, unsigned d,
                      bool client)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", TLS_CT_HANDSHAKE);
    qw_json_str(j, "function_name", "handshake");
    json_msgs(j, &st->d[d]);
    if (client && st->have_ch) json_client_hello(j, &st->ch);
    if (!client && st->have_sh) json_server_hello(j, &st->sh);
    if (st->cert[d].present) json_cert(j, &st->cert[d]);
    qw_json_obj_end(j);
}

static void tls_write_handshake(struct qw_json *j, const void *arg)
{
    const struct tls_state *st = arg;
    unsigned c = client_idx(st);
    if (st->d[c].nmsgs || st->d[c].msgs_more) json_side(j, "request", st, c, true);
    if (st->d[c ^ 1u].nmsgs || st->d[c ^ 1u].msgs_more) json_side(j, "response", st, c ^ 1u, false);
    if (st->hello_retry) qw_json_bool(j, "hello_retry", true);
    qw_json_bool(j, "encrypted", st->encrypted);
}

static void tls_write_alert(struct qw_json *j, const void *arg)
{
    const struct tls_alert_view *a = arg;
    qw_json_obj_begin(j, a->from_client ? "request" : "response");
    qw_json_u64(j, "function", TLS_CT_ALERT);
    qw_json_str(j, "function_name", "alert");
    qw_json_u64(j, "level", a->level);
    qw_json_str(j, "level_name", a->level == TLS_ALERT_WARNING ? "warning"
                                 : a->level == TLS_ALERT_FATAL ? "fatal"
                                                               : "unknown");
    qw_json_u64(j, "description", a->desc);
    const char *n = tls_alert_name(a->desc);
    qw_json_str(j, "description_name", n ? n : "unknown");
    qw_json_obj_end(j);
}

/* ---- Emission ------------------------------------------------------------------------------ */

static void reset_handshake(struct tls_state *st)
{
    st->hs_pending = st->have_ch = st->have_sh = st->hello_retry = false;
    st->failed = st->encrypted = st->client_auth = false;
    st->ch_ns = st->sh_ns = 0;
    for (unsigned d = 0; d < 2; d++) {
        st->d[d].nmsgs = 0;
        st->d[d].msgs_more = false;
        st->d[d].first_ns = 0;
        st->cert[d].present = false;
    }
}

static void emit_handshake(struct qw_pctx *ctx, struct tls_state *st)
{
    if (!st->hs_pending) return;
    unsigned c = client_idx(st), s = c ^ 1u;
    struct qw_txn t = {0};
    t.has_request = st->d[c].nmsgs || st->d[c].msgs_more;
    t.has_response = st->d[s].nmsgs || st->d[s].msgs_more;
    t.function = TLS_CT_HANDSHAKE;
    t.function_name = "handshake";
    t.ops = st->client_auth ? QW_OP_AUTH : 0; /* a client certificate is a credential */
    t.error = st->failed;
    t.request_ns = t.has_request ? st->d[c].first_ns : 0;
    t.response_ns = t.has_response ? st->d[s].first_ns : 0;
    t.write_json = tls_write_handshake;
    t.arg = st;
    if (t.has_request || t.has_response) emit_txn(ctx, st, &t);
    reset_handshake(st);
}

/* The server side turned opaque: its handshake is over (or encrypted from here, TLS 1.3). */
static void server_went_opaque(struct qw_pctx *ctx, struct tls_state *st)
{
    if (!st->hs_pending) return;
    st->encrypted = true;
    emit_handshake(ctx, st);
}

/* ---- ClientHello --------------------------------------------------------------------------- */

/* Read a list of 16-bit values of `n` bytes: into fp[] (bounded by fp_cap, overflow flagged)
 * and the first `keep_cap` non-GREASE ones into keep[] (may be NULL). Returns the count. */
static uint16_t read_u16_list(struct qw_cursor *c, size_t n, uint16_t *fp, uint16_t *nfp,
                              size_t fp_cap, bool *overflow, uint16_t *keep, uint8_t *nkeep,
                              size_t keep_cap)
{
    uint16_t count = 0;
    for (size_t i = 0; i + 2 <= n; i += 2) {
        uint16_t v = qw_cur_be16(c);
        if (c->err) break;
        count++;
        if (*nfp < fp_cap) fp[(*nfp)++] = v;
        else *overflow = true;
        if (keep && !tls_is_grease(v) && *nkeep < keep_cap) keep[(*nkeep)++] = v;
    }
    return count;
}

/* Extension bodies of the ClientHello. Each gets a cursor bounded by its declared length; a
 * body that does not match its own inner lengths is malformed. */
static bool ch_ext_sni(struct qw_cursor *e, struct tls_client_hello *ch)
{
    uint16_t list = qw_cur_be16(e);
    struct qw_cursor l = qw_cur_sub(e, list, NULL);
    while (qw_cur_left(&l) > 0) {
        uint8_t type = qw_cur_u8(&l);
        uint16_t n = qw_cur_be16(&l);
        const uint8_t *name = qw_cur_take(&l, n);
        if (l.err) return false;
        if (type == 0 && !ch->sni_len && n) { /* host_name ([EXT] RFC 6066 s.3) */
            size_t k = n < sizeof ch->sni ? n : sizeof ch->sni;
            memcpy(ch->sni, name, k);
            ch->sni_len = (uint16_t)k;
            ch->sni_cut = k < n;
        }
    }
    return !e->err && !l.err && qw_cur_left(e) == 0 && list > 0;
}

static bool ch_ext_alpn(struct qw_cursor *e, struct tls_client_hello *ch, struct tls_fp_hello *fp)
{
    uint16_t list = qw_cur_be16(e);
    struct qw_cursor l = qw_cur_sub(e, list, NULL);
    while (qw_cur_left(&l) > 0) {
        uint8_t n = qw_cur_u8(&l);
        const uint8_t *p = qw_cur_take(&l, n);
        if (l.err || n == 0) return false; /* ProtocolName<1..2^8-1> ([EXT] RFC 7301 s.3.1) */
        if (!fp->has_alpn) {
            fp->has_alpn = true;
            fp->alpn_first = p[0];
            fp->alpn_last = p[n - 1];
        }
        ch->alpn_count++;
        if (ch->nalpn < TLS_ALPN_KEEP) {
            size_t k = n < TLS_ALPN_LEN ? n : TLS_ALPN_LEN;
            memcpy(ch->alpn[ch->nalpn], p, k);
            ch->alpn_len[ch->nalpn++] = (uint8_t)k;
        }
    }
    return !e->err && qw_cur_left(e) == 0;
}

/* Decode a ClientHello body into st->ch and fp. Returns false when malformed. */
static bool decode_client_hello(struct qw_cursor *c, struct tls_client_hello *ch,
                                struct tls_fp_hello *fp)
{
    ch->version = fp->version = qw_cur_be16(c);
    qw_cur_skip(c, TLS_RANDOM_LEN);
    uint8_t sid = qw_cur_u8(c);
    if (!c->err && sid > TLS_SESSION_ID_MAX) return false;
    if (!qw_cur_bytes(c, ch->session_id, sid)) return false;
    ch->session_id_len = sid;
    uint16_t cs = qw_cur_be16(c);
    if (c->err) return false;
    if (cs < 2 || cs % 2) return false; /* cipher_suites<2..2^16-2> */
    struct qw_cursor cc = qw_cur_sub(c, cs, NULL);
    ch->ciphers_count = read_u16_list(&cc, cs, fp->ciphers, &fp->nciphers, TLS_FP_CIPHERS_MAX,
                                      &fp->overflow, NULL, NULL, 0);
    if (cc.err || ch->ciphers_count != cs / 2) return false;
    uint8_t comp = qw_cur_u8(c);
    if (!qw_cur_skip(c, comp) || comp == 0) return false;
    if (qw_cur_left(c) == 0) return !c->err; /* no extensions ([TLS12] s.7.4.1.2) */
    ch->has_extensions = true;
    uint16_t total = qw_cur_be16(c);
    struct qw_cursor exts = qw_cur_sub(c, total, NULL);
    if (c->err) return false;
    while (qw_cur_left(&exts) > 0) {
        uint16_t type = qw_cur_be16(&exts);
        uint16_t n = qw_cur_be16(&exts);
        if (exts.err || !qw_cur_has(&exts, n)) return false;
        struct qw_cursor e = qw_cur_sub(&exts, n, NULL);
        ch->extensions_count++;
        if (fp->nexts < TLS_FP_EXTS_MAX) fp->exts[fp->nexts++] = type;
        else fp->overflow = true;
        bool ok = true;
        switch (type) {
        case TLS_EXT_SERVER_NAME:
            fp->has_sni = true;
            ok = ch_ext_sni(&e, ch);
            break;
        case TLS_EXT_ALPN: ok = ch_ext_alpn(&e, ch, fp); break;
        case TLS_EXT_SUPPORTED_VERSIONS: {
            uint8_t l = qw_cur_u8(&e);
            ch->versions_count = read_u16_list(&e, l, fp->versions, &fp->nversions,
                                               TLS_FP_VERSIONS_MAX, &fp->overflow, ch->versions,
                                               &ch->nversions, TLS_VERSIONS_KEEP);
            ok = !e.err && l % 2 == 0 && qw_cur_left(&e) == 0;
            break;
        }
        case TLS_EXT_SIGNATURE_ALGORITHMS: {
            uint16_t l = qw_cur_be16(&e);
            uint8_t unused = 0;
            ch->sigalgs_count = read_u16_list(&e, l, fp->sigalgs, &fp->nsigalgs,
                                              TLS_FP_LIST_MAX, &fp->overflow, NULL, &unused, 0);
            ok = !e.err && l % 2 == 0 && qw_cur_left(&e) == 0;
            break;
        }
        case TLS_EXT_SUPPORTED_GROUPS: {
            uint16_t l = qw_cur_be16(&e);
            ch->groups_count = read_u16_list(&e, l, fp->groups, &fp->ngroups, TLS_FP_LIST_MAX,
                                             &fp->overflow, ch->groups, &ch->ngroups,
                                             TLS_GROUPS_KEEP);
            ok = !e.err && l % 2 == 0 && qw_cur_left(&e) == 0;
            break;
        }
        case TLS_EXT_EC_POINT_FORMATS: {
            uint8_t l = qw_cur_u8(&e);
            for (unsigned i = 0; i < l; i++) {
                uint8_t v = qw_cur_u8(&e);
                if (e.err) break;
                ch->formats_count++;
                if (fp->nformats < TLS_FP_FORMATS_MAX) fp->formats[fp->nformats++] = v;
                else fp->overflow = true;
                if (ch->nformats < TLS_FORMATS_KEEP) ch->formats[ch->nformats++] = v;
            }
            ok = !e.err && qw_cur_left(&e) == 0;
            break;
        }
        default: break;
        }
        if (!ok) return false;
    }
    return !exts.err && !c->err && qw_cur_left(c) == 0;
}

static void on_client_hello(struct qw_pctx *ctx, struct tls_state *st, unsigned d,
                            const uint8_t *body, size_t n, bool cut)
{
    learn_client(st, d);
    struct tls_client_hello *ch = &st->ch;
    memset(ch, 0, sizeof *ch);
    st->have_ch = true;
    st->ch_ns = now_ns(ctx);
    struct tls_fp_hello fp;
    memset(&fp, 0, sizeof fp);
    struct qw_cursor c = qw_cursor_make(body, n);
    bool ok = decode_client_hello(&c, ch, &fp);
    if (!ok) {
        ch->truncated = true;
        if (!cut) qw_emit_anomaly(ctx, "tls.malformed_handshake", "client_hello");
    } else if (!fp.overflow) {
        size_t full = tls_ja3(&fp, ch->ja3, ch->ja3_str, sizeof ch->ja3_str);
        ch->ja3_str_cut = full >= sizeof ch->ja3_str;
        tls_ja4(&fp, ch->ja4);
        ch->fingerprinted = true;
    }
    /* The name the client asked for is a fact about the server it talks to. */
    if (ch->sni_len) identity(ctx, d ^ 1u, "tls_sni", ch->sni, ch->sni_len);
    if (ch->fingerprinted) {
        identity(ctx, d, "ja3", ch->ja3, strlen(ch->ja3));
        identity(ctx, d, "ja4", ch->ja4, strlen(ch->ja4));
    }
}

/* ---- ServerHello --------------------------------------------------------------------------- */

static bool decode_server_hello(struct qw_cursor *c, struct tls_server_hello *sh,
                                const struct tls_state *st, uint16_t *exts, size_t *nexts)
{
    sh->version = qw_cur_be16(c);
    const uint8_t *random = qw_cur_take(c, TLS_RANDOM_LEN);
    if (!random) return false; /* too short: what follows could not be read either */
    if (memcmp(random, tls_hrr_random, TLS_RANDOM_LEN) == 0) sh->hrr = true;
    uint8_t sid_len = qw_cur_u8(c);
    if (!c->err && sid_len > TLS_SESSION_ID_MAX) return false;
    const uint8_t *sid = qw_cur_take(c, sid_len);
    if (sid && sid_len && st->have_ch && st->ch.session_id_len == sid_len &&
        memcmp(sid, st->ch.session_id, sid_len) == 0)
        sh->sid_echo = true;
    sh->cipher = qw_cur_be16(c);
    sh->compression = qw_cur_u8(c);
    if (c->err) return false;
    if (qw_cur_left(c) == 0) return true;
    uint16_t total = qw_cur_be16(c);
    struct qw_cursor e = qw_cur_sub(c, total, NULL);
    if (c->err) return false;
    while (qw_cur_left(&e) > 0) {
        uint16_t type = qw_cur_be16(&e);
        uint16_t n = qw_cur_be16(&e);
        if (e.err || !qw_cur_has(&e, n)) return false;
        struct qw_cursor x = qw_cur_sub(&e, n, NULL);
        sh->extensions_count++;
        if (*nexts < TLS_SH_EXTS_MAX) exts[(*nexts)++] = type;
        switch (type) {
        case TLS_EXT_SUPPORTED_VERSIONS: /* ServerHello: one selected_version */
            sh->selected_version = qw_cur_be16(&x);
            if (x.err || n != 2) return false;
            sh->has_selected = true;
            break;
        case TLS_EXT_ALPN: {
            uint16_t list = qw_cur_be16(&x);
            uint8_t l = qw_cur_u8(&x);
            const uint8_t *p = qw_cur_take(&x, l);
            if (x.err || list != (uint16_t)(l + 1) || l == 0) return false;
            sh->alpn_len = (uint8_t)(l < TLS_ALPN_LEN ? l : TLS_ALPN_LEN);
            memcpy(sh->alpn, p, sh->alpn_len);
            break;
        }
        case TLS_EXT_PRE_SHARED_KEY:
            if (!sh->hrr) sh->resumed = true; /* [TLS13] s.4.2.11: the server accepted a PSK */
            break;
        default: break;
        }
    }
    return !c->err && qw_cur_left(c) == 0;
}

static void weak_version(struct qw_pctx *ctx, uint16_t v)
{
    /* [DEPR]: SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 must no longer be negotiated. */
    if (v == 0x0002 || (v >= 0x0300 && v <= 0x0302)) {
        const char *n = tls_version_name(v);
        qw_emit_anomaly(ctx, "tls.weak_version", n ? n : "unknown");
    }
}

static void on_server_hello(struct qw_pctx *ctx, struct tls_state *st, unsigned d,
                            const uint8_t *body, size_t n, bool cut)
{
    learn_client(st, d ^ 1u);
    struct tls_server_hello *sh = &st->sh;
    memset(sh, 0, sizeof *sh);
    st->have_sh = true;
    st->sh_ns = now_ns(ctx);
    uint16_t exts[TLS_SH_EXTS_MAX];
    size_t nexts = 0;
    struct qw_cursor c = qw_cursor_make(body, n);
    if (!decode_server_hello(&c, sh, st, exts, &nexts)) {
        sh->truncated = true;
        if (!cut) qw_emit_anomaly(ctx, "tls.malformed_handshake", "server_hello");
    } else if (nexts == sh->extensions_count) {
        size_t full = tls_ja3s(sh->version, sh->cipher, exts, nexts, sh->ja3s, sh->ja3s_str,
                               sizeof sh->ja3s_str);
        sh->ja3s_str_cut = full >= sizeof sh->ja3s_str;
        sh->fingerprinted = true;
        identity(ctx, d, "ja3s", sh->ja3s, strlen(sh->ja3s));
    }
    uint16_t v = sh->has_selected ? sh->selected_version : sh->version;
    if (v == 0x0304 || (v >> 8) == 0x7F) st->tls13 = true;
    /* [TLS12] s.7.4.1.3: echoing the offered session id resumes it. A TLS 1.3 server echoes it
     * always ([TLS13] s.4.1.3, legacy_session_id_echo); there a pre_shared_key says so. */
    if (sh->sid_echo && !st->tls13) sh->resumed = true;
    if (sh->hrr) {
        st->hello_retry = true;
        return; /* the real ServerHello follows the client's second ClientHello */
    }
    if (v >= 0x0300) weak_version(ctx, v); /* 0: the version itself was unreadable */
}

/* ---- Certificate --------------------------------------------------------------------------- */

static void cert_identity(struct qw_pctx *ctx, unsigned d, const char *attr,
                          const struct tls_x509_str *cn, const struct tls_x509_str *o)
{
    char buf[2 * TLS_X509_STR_MAX + 16];
    int n = 0;
    if (cn->len) n = snprintf(buf, sizeof buf, "CN=%.*s", (int)cn->len, cn->s);
    if (o->len)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%sO=%.*s", n ? ", " : "", (int)o->len,
                      o->s);
    identity(ctx, d, attr, buf, (size_t)n);
}

/* An anomaly of the certificate direction d sent: about the end that sent it, so an engineer's
 * expired client certificate is not blamed on the server that checks it. */
static void cert_anomaly(struct qw_pctx *ctx, unsigned d, const char *name, const char *detail)
{
    if (d == 0) qw_emit_anomaly_client(ctx, name, detail);
    else qw_emit_anomaly(ctx, name, detail);
}

/* Identity facts and anomalies of the first certificate sent by direction d. Validity is judged
 * at the packet's time, never the wall clock, so a replayed capture gives the same answer. */
static void cert_report(struct qw_pctx *ctx, unsigned d, const struct tls_cert_info *ci)
{
    const struct tls_x509 *x = &ci->x;
    if (ci->status == TLS_X509_MALFORMED) cert_anomaly(ctx, d, "tls.malformed_certificate", NULL);
    cert_identity(ctx, d, "tls_cert_subject", &x->subject_cn, &x->subject_o);
    /* the certificate a client authenticates with names who is behind the session (an
     * OpenVPN user, a device's identity): the ledger shows its common name */
    if (d == 0 && x->subject_cn.len)
        qw_emit_session_user(ctx, "client_certificate", x->subject_cn.s, x->subject_cn.len);
    cert_identity(ctx, d, "tls_cert_issuer", &x->issuer_cn, &x->issuer_o);
    if (x->has_validity) {
        identity(ctx, d, "tls_cert_not_after", x->not_after_str, strlen(x->not_after_str));
        int64_t now_s = (int64_t)(now_ns(ctx) / 1000000000u);
        if (x->not_after < now_s) cert_anomaly(ctx, d, "tls.expired_certificate", x->not_after_str);
        else if (x->not_before > now_s)
            cert_anomaly(ctx, d, "tls.certificate_not_yet_valid", x->not_before_str);
    }
    if (x->has_subject) {
        const char *ss = x->self_signed ? "true" : "false";
        identity(ctx, d, "tls_self_signed", ss, strlen(ss));
        if (x->self_signed)
            cert_anomaly(ctx, d, "tls.self_signed_certificate",
                         x->subject_cn.len ? x->subject_cn.s : NULL);
    }
}

static void on_certificate(struct qw_pctx *ctx, struct tls_state *st, unsigned d,
                           const uint8_t *body, size_t n, bool cut)
{
    if (st->tls13) return; /* [TLS13] s.4.4.2: encrypted; a plaintext one has another layout */
    struct tls_cert_info *ci = &st->cert[d];
    memset(ci, 0, sizeof *ci);
    ci->present = true;
    ci->body_cut = cut;
    struct qw_cursor c = qw_cursor_make(body, n);
    uint32_t list = qw_cur_be24(&c);
    struct qw_cursor l = qw_cur_sub(&c, list, NULL);
    if (c.err || (!cut && (list != qw_cur_left(&l) || qw_cur_left(&c) != 0))) {
        qw_emit_anomaly(ctx, "tls.malformed_handshake", "certificate");
        return;
    }
    bool first = true;
    while (qw_cur_left(&l) > 0) {
        uint32_t clen = qw_cur_be24(&l);
        bool short_cert = false;
        struct qw_cursor der = qw_cur_sub(&l, clen, &short_cert);
        if (l.err || (short_cert && !cut) || clen == 0) {
            if (!cut) qw_emit_anomaly(ctx, "tls.malformed_handshake", "certificate");
            break;
        }
        if (!short_cert) ci->chain_length++;
        if (first) {
            if (short_cert) ci->chain_length++; /* the first is reported even when cut */
            ci->status = tls_x509_parse(qw_cur_ptr(&der), qw_cur_left(&der), &ci->x);
            first = false;
        }
    }
    if (!ci->chain_length) return; /* an empty list: a client without a certificate */
    if (d == client_idx(st)) st->client_auth = true;
    cert_report(ctx, d, ci);
}

/* ---- Handshake layer ----------------------------------------------------------------------- */

/* One whole handshake message (`body` NULL: it could not be kept, count it only; `cut`: only
 * its first `n` bytes were kept). */
static void on_message(struct qw_pctx *ctx, struct tls_state *st, unsigned d, uint8_t type,
                       const uint8_t *body, size_t n, bool cut)
{
    /* A ClientHello while another handshake is outstanding starts a new handshake, except the
     * second ClientHello that answers a HelloRetryRequest ([TLS13] s.4.1.4). */
    if (type == TLS_HS_CLIENT_HELLO && st->hs_pending && !st->hello_retry) emit_handshake(ctx, st);
    add_msg(ctx, st, d, type);
    if (!body) return;
    switch (type) {
    case TLS_HS_CLIENT_HELLO: on_client_hello(ctx, st, d, body, n, cut); break;
    case TLS_HS_SERVER_HELLO: on_server_hello(ctx, st, d, body, n, cut); break;
    case TLS_HS_CERTIFICATE: on_certificate(ctx, st, d, body, n, cut); break;
    default: break;
    }
}

/* Give the handshake buffer back to the engine if no message holds it. Without a context (a gap
 * reported by an embedding parser) it stays until the next call that has one. */
static void hs_give_back(struct qw_pctx *ctx, struct tls_state *st)
{
    if (!ctx || !st->hs_buf || st->hs_owner) return;
    qw_loan_return(ctx, st->hs_buf);
    st->hs_buf = NULL;
}

/* Is direction d's message being copied into the borrowed buffer? */
static bool copying(const struct tls_state *st, unsigned d)
{
    return st->d[d].hs_buffering && owns_buf(st, d) && st->hs_buf;
}

static void hs_release(struct qw_pctx *ctx, struct tls_state *st, unsigned d)
{
    st->d[d].hs_buffering = false;
    if (owns_buf(st, d)) {
        st->hs_owner = 0;
        st->hs_buf_len = 0;
    }
    hs_give_back(ctx, st);
}

static void hs_reset(struct qw_pctx *ctx, struct tls_state *st, unsigned d)
{
    struct tls_dir *dd = &st->d[d];
    dd->hs_hdr_have = 0;
    dd->hs_len = dd->hs_have = 0;
    hs_release(ctx, st, d);
}

/* The fragment of one plaintext handshake record. */
static void hs_feed(struct qw_pctx *ctx, struct tls_state *st, unsigned d, const uint8_t *p,
                    size_t n)
{
    struct tls_dir *dd = &st->d[d];
    while (n > 0) {
        if (dd->hs_hdr_have < TLS_HS_HDR) {
            size_t take = TLS_HS_HDR - dd->hs_hdr_have;
            if (take > n) take = n;
            memcpy(dd->hs_hdr + dd->hs_hdr_have, p, take);
            dd->hs_hdr_have = (uint8_t)(dd->hs_hdr_have + take);
            p += take;
            n -= take;
            if (dd->hs_hdr_have < TLS_HS_HDR) return;
            dd->hs_len = (uint32_t)dd->hs_hdr[1] << 16 | (uint32_t)dd->hs_hdr[2] << 8 |
                         dd->hs_hdr[3];
            dd->hs_have = 0;
            if (dd->hs_len <= n) { /* whole message in this record: decode in place */
                on_message(ctx, st, d, dd->hs_hdr[0], p, dd->hs_len, false);
                p += dd->hs_len;
                n -= dd->hs_len;
                hs_reset(ctx, st, d);
                continue;
            }
            /* The message spans records: copy it into a borrowed buffer (without one, past the
             * parser memory cap, it is counted, not decoded). The other direction's unfinished
             * message, if any, loses the buffer (it will be counted, not decoded). */
            if (!st->hs_buf) st->hs_buf = qw_loan_take(ctx);
            if (st->hs_buf) {
                if (st->hs_owner && !owns_buf(st, d))
                    st->d[st->hs_owner - 1u].hs_buffering = false;
                st->hs_owner = (uint8_t)(d + 1u);
                st->hs_buf_len = 0;
                dd->hs_buffering = true;
            }
        }
        size_t take = dd->hs_len - dd->hs_have;
        if (take > n) take = n;
        if (copying(st, d)) {
            size_t room = TLS_HS_BUF - st->hs_buf_len;
            size_t k = take < room ? take : room;
            memcpy(st->hs_buf + st->hs_buf_len, p, k);
            st->hs_buf_len += (uint32_t)k;
        }
        dd->hs_have += (uint32_t)take;
        p += take;
        n -= take;
        if (dd->hs_have == dd->hs_len) {
            if (copying(st, d))
                on_message(ctx, st, d, dd->hs_hdr[0], st->hs_buf, st->hs_buf_len,
                           st->hs_buf_len < dd->hs_len);
            else
                on_message(ctx, st, d, dd->hs_hdr[0], NULL, dd->hs_len, true);
            hs_reset(ctx, st, d);
        }
    }
}

static void on_ccs(struct qw_pctx *ctx, struct tls_state *st, unsigned d)
{
    if (st->tls13) return; /* [TLS13] D.4: a compatibility record, nothing changes */
    st->d[d].opaque = true;
    hs_reset(ctx, st, d);
    if (is_server_side(st, d)) server_went_opaque(ctx, st);
}

static void on_alert(struct qw_pctx *ctx, struct tls_state *st, unsigned d, const uint8_t *p,
                     size_t n)
{
    if (n == 0 || n % 2) {
        /* Not a plaintext alert: a ChangeCipherSpec we did not see made it ciphertext. */
        st->d[d].opaque_records++;
        st->d[d].opaque_bytes += n;
        return;
    }
    for (size_t i = 0; i + 1 < n; i += 2) {
        struct tls_alert_view *a = &st->alert;
        a->from_client = d == client_idx(st);
        a->level = p[i];
        a->desc = p[i + 1];
        if (a->level == TLS_ALERT_FATAL && st->hs_pending) {
            st->failed = true;
            emit_handshake(ctx, st);
        }
        struct qw_txn t = {0};
        t.has_request = a->from_client;
        t.has_response = !a->from_client;
        t.function = TLS_CT_ALERT;
        t.function_name = "alert";
        t.error = a->level == TLS_ALERT_FATAL;
        uint64_t ts = now_ns(ctx) ? now_ns(ctx) : 1;
        t.request_ns = a->from_client ? ts : 0;
        t.response_ns = a->from_client ? 0 : ts;
        t.write_json = tls_write_alert;
        t.arg = a;
        emit_txn(ctx, st, &t);
        if (a->level != TLS_ALERT_WARNING && a->level != TLS_ALERT_FATAL)
            qw_emit_anomaly(ctx, "tls.malformed_alert", NULL);
    }
}

/* ---- SSL 2.0 ------------------------------------------------------------------------------- */

/* [SSL2] s.2.5 CLIENT-HELLO: type, version, cipher-specs length, session-id length, challenge
 * length, then the three fields. Also the form [TLS10] E.1 lets SSL 3.0+ clients send. */
static void on_v2_client_hello(struct qw_pctx *ctx, struct tls_state *st, unsigned d,
                               const uint8_t *p, size_t n)
{
    if (st->hs_pending && !st->hello_retry) emit_handshake(ctx, st);
    add_msg(ctx, st, d, 0x100u | SSL2_MT_CLIENT_HELLO);
    learn_client(st, d);
    struct tls_client_hello *ch = &st->ch;
    memset(ch, 0, sizeof *ch);
    st->have_ch = true;
    st->ch_ns = now_ns(ctx);
    ch->sslv2 = true;
    struct qw_cursor c = qw_cursor_make(p, n);
    qw_cur_skip(&c, 1);
    ch->version = qw_cur_be16(&c);
    uint16_t cs = qw_cur_be16(&c), sid = qw_cur_be16(&c), chal = qw_cur_be16(&c);
    if (c.err || cs % SSL2_CIPHER_SPEC_LEN || (sid != 0 && sid != SSL2_SESSION_ID_LEN) ||
        chal < SSL2_CHALLENGE_MIN || chal > SSL2_CHALLENGE_MAX ||
        qw_cur_left(&c) != (size_t)cs + sid + chal) {
        ch->truncated = true;
        qw_emit_anomaly(ctx, "tls.malformed_handshake", "sslv2_client_hello");
        return;
    }
    ch->ciphers_count = cs / SSL2_CIPHER_SPEC_LEN;
    ch->session_id_len = (uint8_t)sid;
}

/* [SSL2] s.2.6 SERVER-HELLO: type, session-id-hit, certificate type, version, certificate
 * length, cipher-specs length, connection-id length, then the certificate... */
static void on_v2_server_hello(struct qw_pctx *ctx, struct tls_state *st, unsigned d,
                               const uint8_t *p, size_t n)
{
    add_msg(ctx, st, d, 0x100u | SSL2_MT_SERVER_HELLO);
    learn_client(st, d ^ 1u);
    struct tls_server_hello *sh = &st->sh;
    memset(sh, 0, sizeof *sh);
    st->have_sh = true;
    st->sh_ns = now_ns(ctx);
    sh->sslv2 = true;
    struct qw_cursor c = qw_cursor_make(p, n);
    qw_cur_skip(&c, 1);
    sh->resumed = qw_cur_u8(&c) != 0;
    uint8_t cert_type = qw_cur_u8(&c);
    sh->version = qw_cur_be16(&c);
    uint16_t cert_len = qw_cur_be16(&c), cs = qw_cur_be16(&c), conn = qw_cur_be16(&c);
    const uint8_t *cert = qw_cur_take(&c, cert_len);
    if (c.err || cs % SSL2_CIPHER_SPEC_LEN ||
        qw_cur_left(&c) != (size_t)cs + conn) {
        sh->truncated = true;
        qw_emit_anomaly(ctx, "tls.malformed_handshake", "sslv2_server_hello");
        return;
    }
    sh->ssl2_ciphers_count = cs / SSL2_CIPHER_SPEC_LEN;
    st->sslv2_session = true;
    weak_version(ctx, 0x0002);
    if (cert_len && cert_type == SSL2_X509_CERTIFICATE) { /* one certificate, no chain */
        struct tls_cert_info *ci = &st->cert[d];
        memset(ci, 0, sizeof *ci);
        ci->present = true;
        ci->chain_length = 1;
        ci->status = tls_x509_parse(cert, cert_len, &ci->x);
        cert_report(ctx, d, ci);
    }
}

/* One SSL 2.0 record at `p`: returns the bytes used, 0 when incomplete. */
static size_t v2_record(struct qw_pctx *ctx, struct tls_state *st, unsigned d, const uint8_t *p,
                        size_t left)
{
    struct tls_dir *dd = &st->d[d];
    size_t hdr, len;
    if (left < 2) return 0;
    if (p[0] & 0x80u) { /* two-byte header, no padding */
        hdr = 2;
        len = (size_t)(p[0] & 0x7Fu) << 8 | p[1];
    } else { /* three-byte header: length, then a padding count */
        hdr = 3;
        len = (size_t)(p[0] & 0x3Fu) << 8 | p[1];
        if (left < 3) return 0;
    }
    dd->records++;
    if (dd->opaque || len == 0) {
        dd->opaque_records++;
        dd->opaque_bytes += len;
        dd->skip = (uint32_t)len;
        return hdr;
    }
    if (left < hdr + len) {
        dd->records--; /* counted again when complete */
        return 0;
    }
    const uint8_t *m = p + hdr;
    switch (m[0]) {
    case SSL2_MT_CLIENT_HELLO:
        if (hdr == 2) on_v2_client_hello(ctx, st, d, m, len);
        break;
    case SSL2_MT_SERVER_HELLO:
        on_v2_server_hello(ctx, st, d, m, len);
        dd->opaque = true; /* the server's next records are encrypted */
        break;
    case SSL2_MT_CLIENT_MASTER_KEY:
        add_msg(ctx, st, d, 0x100u | SSL2_MT_CLIENT_MASTER_KEY);
        dd->opaque = true;
        st->encrypted = true;
        emit_handshake(ctx, st);
        break;
    default: /* everything else in SSL 2.0 is sent encrypted */
        dd->opaque = true;
        dd->opaque_records++;
        dd->opaque_bytes += len;
        break;
    }
    return hdr + len;
}

/* SSL 2.0 framing: every record of an SSL 2.0 session, and a first record whose first byte has
 * the high bit set (TLS content types are 20-24). */
static bool v2_framed(const struct tls_state *st, unsigned d, uint8_t b0)
{
    if (st->embedded) return false; /* OpenVPN's TLS is 1.0 or later */
    return st->sslv2_session || ((b0 & 0x80u) && st->d[d].records == 0);
}

/* ---- Record layer -------------------------------------------------------------------------- */

static bool header_ok(uint8_t type, uint16_t version, uint16_t len)
{
    return type >= TLS_CT_CCS && type <= TLS_CT_HEARTBEAT && (version >> 8) == 3 &&
           (version & 0xFFu) <= 4 && len <= TLS_REC_MAX;
}

static bool header_at(const uint8_t *p, size_t n, size_t *len)
{
    if (n < TLS_REC_HDR) return false;
    uint16_t l = (uint16_t)(p[3] << 8 | p[4]);
    *len = l;
    return header_ok(p[0], (uint16_t)(p[1] << 8 | p[2]), l);
}

/* Could the bytes at `p` (fewer than 5 available) start a record header? */
static bool header_prefix_ok(const uint8_t *p, size_t n)
{
    if (n >= 1 && (p[0] < TLS_CT_CCS || p[0] > TLS_CT_HEARTBEAT)) return false;
    if (n >= 2 && p[1] != 3) return false;
    if (n >= 3 && p[2] > 4) return false;
    return true;
}

enum tls_sync { TLS_SYNC_FOUND, TLS_SYNC_WAIT };

/* Search for a record header whose record is followed by another plausible header or by the
 * end of the data; `*skip` receives the bytes before it. WAIT: keep the bytes from `*skip`.
 * `stream` (embedded): a header whose record runs past the data is taken at once, as nobody
 * holds the record for us to see what follows it. */
static enum tls_sync tls_resync(const uint8_t *b, size_t n, bool stream, size_t *skip)
{
    size_t i = 0;
    for (; n - i >= TLS_REC_HDR; i++) {
        size_t rlen;
        if (!header_at(b + i, n - i, &rlen)) continue;
        size_t end = i + TLS_REC_HDR + rlen;
        if (end > n && stream) {
            *skip = i;
            return TLS_SYNC_FOUND;
        }
        if (end > n) break; /* wait for the whole record before deciding */
        size_t after = n - end, dummy;
        if (after == 0 || (after < TLS_REC_HDR ? header_prefix_ok(b + end, after)
                                                : header_at(b + end, after, &dummy))) {
            *skip = i;
            return TLS_SYNC_FOUND;
        }
    }
    *skip = i;
    return TLS_SYNC_WAIT;
}

/* Embedded: a record that is not all there yet. A handshake record is decoded as its bytes
 * arrive (dd->feed); a short one of another type waits in the embedding's carry (true); a
 * longer one is passed (a ChangeCipherSpec still takes effect; no plaintext alert is that
 * long: counted as encrypted). */
static bool embedded_partial(struct qw_pctx *ctx, struct tls_state *st, unsigned d, uint8_t type,
                             uint16_t rlen)
{
    struct tls_dir *dd = &st->d[d];
    if (type != TLS_CT_HANDSHAKE && TLS_REC_HDR + (size_t)rlen <= TLS_EMBED_CARRY) return true;
    dd->records++;
    if (type == TLS_CT_HANDSHAKE) {
        dd->feed = rlen;
        return false;
    }
    if (type == TLS_CT_CCS) on_ccs(ctx, st, d);
    else {
        dd->opaque_records++;
        dd->opaque_bytes += rlen;
    }
    dd->skip = rlen;
    return false;
}

static size_t tls_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct tls_state *st = state;
    unsigned d = dir_idx(dir);
    struct tls_dir *dd = &st->d[d];
    size_t off = 0;
    while (off < len) {
        if (dd->skip) {
            size_t k = dd->skip < len - off ? dd->skip : len - off;
            dd->skip -= (uint32_t)k;
            off += k;
            continue;
        }
        if (dd->feed) { /* embedded: the rest of a handshake record, decoded as it arrives */
            size_t k = dd->feed < len - off ? dd->feed : len - off;
            dd->feed -= (uint32_t)k;
            hs_feed(ctx, st, d, data + off, k);
            off += k;
            continue;
        }
        if (dd->lost) return len;
        if (dd->resync) {
            size_t skip = 0;
            enum tls_sync r = tls_resync(data + off, len - off, st->embedded, &skip);
            off += skip;
            if (r == TLS_SYNC_WAIT) return off;
            dd->resync = false;
        }
        const uint8_t *rec = data + off;
        size_t left = len - off;
        if (v2_framed(st, d, rec[0])) {
            size_t used = v2_record(ctx, st, d, rec, left);
            if (!used) return off;
            off += used;
            continue;
        }
        if (left < TLS_REC_HDR) return off;
        uint8_t type = rec[0];
        uint16_t version = (uint16_t)(rec[1] << 8 | rec[2]);
        uint16_t rlen = (uint16_t)(rec[3] << 8 | rec[4]);
        if (!header_ok(type, version, rlen)) {
            qw_emit_anomaly(ctx, "tls.malformed_record", NULL);
            dd->resync = true;
            hs_reset(ctx, st, d);
            off += 1;
            continue;
        }
        if (dd->opaque || type == TLS_CT_APPDATA || type == TLS_CT_HEARTBEAT) {
            /* Counted and skipped as it streams past: no need to hold the record. */
            dd->records++;
            dd->opaque_records++;
            dd->opaque_bytes += rlen;
            if (type == TLS_CT_APPDATA && !dd->opaque) {
                dd->opaque = true;
                hs_reset(ctx, st, d);
                if (is_server_side(st, d)) server_went_opaque(ctx, st);
            }
            off += TLS_REC_HDR;
            dd->skip = rlen;
            continue;
        }
        if (left < TLS_REC_HDR + (size_t)rlen) {
            if (!st->embedded) return off; /* the engine keeps the partial record */
            if (embedded_partial(ctx, st, d, type, rlen)) return off; /* in the carry */
            off += TLS_REC_HDR;
            continue;
        }
        dd->records++;
        const uint8_t *body = rec + TLS_REC_HDR;
        switch (type) {
        case TLS_CT_HANDSHAKE: hs_feed(ctx, st, d, body, rlen); break;
        case TLS_CT_CCS: on_ccs(ctx, st, d); break;
        case TLS_CT_ALERT: on_alert(ctx, st, d, body, rlen); break;
        default: break;
        }
        off += TLS_REC_HDR + (size_t)rlen;
    }
    return off;
}

static void tls_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    struct tls_state *st = state;
    unsigned d = dir_idx(dir);
    struct tls_dir *dd = &st->d[d];
    dd->skip = dd->feed = 0;
    hs_reset(ctx, st, d);
    if (st->sslv2_session) dd->lost = true; /* SSL 2.0 records have no recognisable header */
    else dd->resync = true;
}

/* The handshake still outstanding is written, and a borrowed buffer given back whatever holds
 * it (the flow's state goes next). */
static void tls_end(struct qw_pctx *ctx, struct tls_state *st)
{
    emit_handshake(ctx, st);
    st->hs_owner = 0;
    st->d[0].hs_buffering = st->d[1].hs_buffering = false;
    hs_give_back(ctx, st);
}

static void tls_flow_end(struct qw_pctx *ctx, void *state)
{
    tls_end(ctx, state);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* [SSL2] CLIENT-HELLO in a two-byte-header record: every length must add up. */
static enum qw_probe_result probe_v2(const uint8_t *p, size_t n)
{
    if (n < 2) return QW_PROBE_NEED_MORE;
    size_t rlen = (size_t)(p[0] & 0x7Fu) << 8 | p[1];
    if (rlen < SSL2_CLIENT_HELLO_FIXED + SSL2_CIPHER_SPEC_LEN + SSL2_CHALLENGE_MIN)
        return QW_PROBE_NO;
    if (n < 3) return QW_PROBE_NEED_MORE;
    if (p[2] != SSL2_MT_CLIENT_HELLO) return QW_PROBE_NO;
    if (n < 5) return QW_PROBE_NEED_MORE;
    uint16_t v = (uint16_t)(p[3] << 8 | p[4]);
    if (v != 0x0002 && (v < 0x0300 || v > 0x0303)) return QW_PROBE_NO;
    if (n < 2 + SSL2_CLIENT_HELLO_FIXED) return QW_PROBE_NEED_MORE;
    size_t cs = (size_t)p[5] << 8 | p[6], sid = (size_t)p[7] << 8 | p[8],
           chal = (size_t)p[9] << 8 | p[10];
    if (cs == 0 || cs % SSL2_CIPHER_SPEC_LEN || (sid != 0 && sid != SSL2_SESSION_ID_LEN) ||
        chal < SSL2_CHALLENGE_MIN || chal > SSL2_CHALLENGE_MAX ||
        rlen != SSL2_CLIENT_HELLO_FIXED + cs + sid + chal)
        return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

static enum qw_probe_result tls_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* a ServerHello first is accepted too: the engine may see the server speak first */
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (data[0] & 0x80u) return probe_v2(data, len);
    if (data[0] != TLS_CT_HANDSHAKE) return QW_PROBE_NO;
    if (len >= 2 && data[1] != 3) return QW_PROBE_NO;
    if (len >= 3 && data[2] > 4) return QW_PROBE_NO;
    if (len < TLS_REC_HDR) return QW_PROBE_NEED_MORE;
    size_t rlen = (size_t)data[3] << 8 | data[4];
    if (rlen < TLS_HS_HDR || rlen > TLS_REC_MAX) return QW_PROBE_NO;
    if (len < TLS_REC_HDR + 1) return QW_PROBE_NEED_MORE;
    uint8_t type = data[5];
    if (type != TLS_HS_CLIENT_HELLO && type != TLS_HS_SERVER_HELLO) return QW_PROBE_NO;
    if (len < TLS_REC_HDR + TLS_HS_HDR) return QW_PROBE_NEED_MORE;
    size_t hlen = (size_t)data[6] << 16 | (size_t)data[7] << 8 | data[8];
    if (hlen < TLS_HELLO_MIN || hlen > TLS_HELLO_MAX) return QW_PROBE_NO;
    if (len < TLS_REC_HDR + TLS_HS_HDR + 2) return QW_PROBE_NEED_MORE;
    if (data[9] != 3 || data[10] > 4) return QW_PROBE_NO; /* the hello's own version */
    return QW_PROBE_MATCH;
}

const struct qw_proto qw_proto_tls = {
    .name = "tls",
    .transports = QW_TRANSPORT_TCP,
    /* HTTPS, its alternative port, OPC UA over TLS (4843), MQTT over TLS (8883), LDAPS, IMAPS,
     * POP3S, SMTPS (IANA service names registry). */
    .ports = {443, 8443, 4843, 8883, 636, 993, 995, 465},
    .probe = tls_probe,
    .state_size = sizeof(struct tls_state),
    .parse = tls_parse,
    .gap = tls_gap,
    .flow_end = tls_flow_end,
};

/* ---- Embedding (tls_embed.h) --------------------------------------------------------------- */

/* Bytes of a direction handed to tls_parse at once when a carry must go in front of them. */
#define TLS_EMBED_CHUNK 1024u

static struct tls_state *embed_state(struct tls_embed *e)
{
    return (struct tls_state *)(void *)&e->state;
}

void tls_embed_init(struct tls_embed *e, tls_embed_txn_fn *txn, void *arg)
{
    memset(e, 0, sizeof *e);
    struct tls_state *st = embed_state(e);
    st->embedded = true;
    st->embed_txn = txn;
    st->embed_arg = arg;
}

void tls_embed_feed(struct qw_pctx *ctx, struct tls_embed *e, enum qw_dir dir,
                    const uint8_t *data, size_t len)
{
    struct tls_state *st = embed_state(e);
    unsigned d = dir_idx(dir);
    uint8_t buf[TLS_EMBED_CARRY + TLS_EMBED_CHUNK];
    while (len > 0) {
        const uint8_t *p = data;
        size_t n = len;
        if (e->carry_len[d]) { /* what was left last time, then the new bytes */
            size_t have = e->carry_len[d], take = len < TLS_EMBED_CHUNK ? len : TLS_EMBED_CHUNK;
            memcpy(buf, e->carry[d], have);
            memcpy(buf + have, data, take);
            p = buf;
            n = have + take;
            data += take;
            len -= take;
        } else {
            data += len;
            len = 0;
        }
        size_t used = tls_parse(ctx, st, dir, p, n), rest = n - used;
        if (rest > TLS_EMBED_CARRY) { /* cannot happen when streaming; lose it if it does */
            tls_gap(ctx, st, dir);
            rest = 0;
        }
        if (rest) memcpy(e->carry[d], p + used, rest);
        e->carry_len[d] = (uint8_t)rest;
    }
}

void tls_embed_gap(struct tls_embed *e, enum qw_dir dir)
{
    e->carry_len[dir_idx(dir)] = 0;
    tls_gap(NULL, embed_state(e), dir);
}

void tls_embed_finish(struct qw_pctx *ctx, struct tls_embed *e)
{
    tls_end(ctx, embed_state(e));
}

void tls_embed_counts(const struct tls_embed *e, enum qw_dir dir, struct tls_embed_counts *out)
{
    const struct tls_state *st = (const struct tls_state *)(const void *)&e->state;
    const struct tls_dir *dd = &st->d[dir_idx(dir)];
    out->records = dd->records;
    out->encrypted_records = dd->opaque_records;
    out->encrypted_bytes = dd->opaque_bytes;
}
