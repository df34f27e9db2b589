/* RDP connection setup: X.224 negotiation, the clear GCC conference data, then byte counts.
 *
 * Specifications:
 *   [RDP]  MS-RDPBCGR, Remote Desktop Protocol: Basic Connectivity and Graphics Remoting
 *          (v20240423): s.1.3.1.1 connection sequence; s.2.2.1.1 Client X.224 Connection
 *          Request PDU (routingToken or cookie "Cookie: mstshash=IDENTIFIER" ended by CR LF,
 *          then rdpNegReq); s.2.2.1.1.1 RDP_NEG_REQ (type 0x01, flags, length 8,
 *          requestedProtocols); s.2.2.1.1.2 RDP_NEG_CORRELATION_INFO; s.2.2.1.2 Server X.224
 *          Connection Confirm PDU with s.2.2.1.2.1 RDP_NEG_RSP (type 0x02, selectedProtocol) or
 *          s.2.2.1.2.2 RDP_NEG_FAILURE (type 0x03, failureCode); s.2.2.1.3 Client MCS
 *          Connect Initial PDU with GCC Conference Create Request (the "Duca" H.221 key) and
 *          s.2.2.1.3.1 TS_UD_HEADER blocks: s.2.2.1.3.2 TS_UD_CS_CORE (version, desktop size,
 *          keyboard layout, clientBuild, clientName); s.2.2.1.4 Server MCS Connect Response
 *          ("McDn") with s.2.2.1.4.2 TS_UD_SC_CORE and s.2.2.1.4.3 TS_UD_SC_SEC1
 *          (encryptionMethod, encryptionLevel); s.5.3 standard RDP security, s.5.4 enhanced
 *          security (TLS, CredSSP).
 *   [TPKT] RFC 1006 and ISO 8073 (X.224) framing, through src/proto/cotp.h.
 *   [PER]  ITU-T X.691 length determinants (the GCC user data length before the blocks).
 *
 * Flow of one connection: the client sends the CR, the server the CC. When the server selects
 * TLS, CredSSP (NLA), RDSTLS or Azure AD authentication, a TLS handshake follows at once and
 * everything after the CC is counted only. With standard RDP security (selected protocol 0, or
 * no RDP_NEG_RSP from an old server) the MCS Connect Initial and Connect Response still travel
 * in clear: the client's computer name, build and keyboard and the server's encryption method
 * and level are read from them; everything after is RC4-encrypted and counted.
 *
 * One transaction per connection, emitted when the flow ends. Identity: the cookie's user name
 * (`rdp_cookie_user`) and the client core data's computer name (`hostname`) about the client.
 * Anomaly rdp.no_nla when the server selects standard RDP security or TLS without Network
 * Level Authentication; rdp.weak_encryption for 40/56-bit or no RC4 encryption. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/cotp.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits and codes ---------------------------------------------------------------------- */

#define RDP_PORT 3389          /* IANA "ms-wbt-server" */
#define RDP_COOKIE_MAX 128     /* routing token / cookie text kept ("mstshash=" + name) */
#define RDP_NAME_MAX 32        /* clientName: 32 bytes of UTF-16LE ([RDP] s.2.2.1.3.2) */
/* The MCS Connect Initial and Response are the first DT TPDUs after the CR/CC; a few DT TPDUs
 * are inspected for them before the side is only counted. */
#define RDP_DT_LOOK 4

#define RDP_NEG_REQ 0x01
#define RDP_NEG_RSP 0x02
#define RDP_NEG_FAILURE 0x03
#define RDP_NEG_LEN 8
#define RDP_CORRELATION_PRESENT 0x08 /* RDP_NEG_REQ flag */
#define RDP_CORRELATION_TYPE 0x06
#define RDP_CORRELATION_LEN 36

/* requestedProtocols / selectedProtocol values ([RDP] s.2.2.1.1.1). */
#define RDP_PROTO_RDP 0x0u
#define RDP_PROTO_SSL 0x1u
#define RDP_PROTO_HYBRID 0x2u
#define RDP_PROTO_RDSTLS 0x4u
#define RDP_PROTO_HYBRID_EX 0x8u
#define RDP_PROTO_RDSAAD 0x10u

/* User data block types ([RDP] s.2.2.1.3.1). */
#define RDP_CS_CORE 0xC001u
#define RDP_SC_CORE 0x0C01u
#define RDP_SC_SECURITY 0x0C02u

struct rdp_bit {
    uint32_t bit;
    const char *name;
};

static const struct rdp_bit rdp_protocols[] = {
    {RDP_PROTO_SSL, "ssl"},           {RDP_PROTO_HYBRID, "hybrid"},
    {RDP_PROTO_RDSTLS, "rdstls"},     {RDP_PROTO_HYBRID_EX, "hybrid_ex"},
    {RDP_PROTO_RDSAAD, "rdsaad"},
};

static const struct rdp_bit rdp_req_flags[] = {
    {0x01, "restricted_admin_mode_required"},
    {0x02, "redirected_authentication_mode_required"},
    {0x08, "correlation_info_present"},
};

static const struct rdp_bit rdp_rsp_flags[] = {
    {0x01, "extended_client_data_supported"},
    {0x02, "dynvc_gfx_protocol_supported"},
    {0x04, "negrsp_flag_reserved"},
    {0x08, "restricted_admin_mode_supported"},
    {0x10, "redirected_authentication_mode_supported"},
};

/* failureCode ([RDP] s.2.2.1.2.2). */
static const char *const rdp_failures[] = {
    [1] = "ssl_required_by_server",
    [2] = "ssl_not_allowed_by_server",
    [3] = "ssl_cert_not_on_server",
    [4] = "inconsistent_flags",
    [5] = "hybrid_required_by_server",
    [6] = "ssl_with_user_auth_required_by_server",
};

/* TS_UD_CS_CORE / TS_UD_SC_CORE version values ([RDP] s.2.2.1.3.2), 0x0008xxxx. */
static const char *const rdp_versions[] = {
    [1] = "4.0",   [4] = "5.0-8.1", [5] = "10.0",  [6] = "10.1",  [7] = "10.2",
    [8] = "10.3",  [9] = "10.4",    [10] = "10.5", [11] = "10.6", [12] = "10.7",
    [13] = "10.8", [14] = "10.9",   [15] = "10.10", [16] = "10.11", [17] = "10.12",
};

/* encryptionMethod bits and encryptionLevel values ([RDP] s.2.2.1.4.3). */
static const struct rdp_bit rdp_enc_methods[] = {
    {0x01, "40bit"}, {0x02, "128bit"}, {0x08, "56bit"}, {0x10, "fips"},
};
static const char *const rdp_enc_levels[] = {
    [0] = "none", [1] = "low", [2] = "client_compatible", [3] = "high", [4] = "fips",
};

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum rdp_phase {
    RDP_PH_X224 = 0, /* TPKTs: CR/CC, then DT TPDUs with the MCS connect PDUs */
    RDP_PH_COUNT,    /* TLS / encrypted / unframed: bytes counted only */
};

struct rdp_side {
    uint8_t phase;
    bool seen, lost;
    uint8_t dt_seen;
    uint64_t first_ns;
    uint64_t counted_bytes;
};

struct rdp_state {
    struct rdp_side side[2];
    bool cr_seen, cc_seen, emitted;
    /* CR */
    bool is_cookie, neg_req_seen;
    uint8_t cookie_len, req_flags;
    char cookie[RDP_COOKIE_MAX];
    uint32_t requested;
    /* CC */
    bool neg_rsp_seen, neg_failure_seen;
    uint8_t rsp_flags;
    uint32_t selected, failure;
    /* MCS connect data */
    bool cs_core_seen, sc_core_seen, sc_sec_seen;
    uint32_t client_version, client_build, keyboard_layout;
    uint16_t desktop_w, desktop_h;
    uint8_t client_name_len;
    char client_name[RDP_NAME_MAX * 3 / 2 + 1]; /* UTF-16 BMP text as UTF-8, at most 3 bytes each */
    uint32_t server_version, enc_method, enc_level;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static void rdp_json_bits(struct qw_json *j, const char *key, uint32_t v,
                          const struct rdp_bit *t, size_t n)
{
    qw_json_arr_begin(j, key);
    for (size_t i = 0; i < n; i++)
        if (v & t[i].bit) qw_json_str(j, NULL, t[i].name);
    qw_json_arr_end(j);
}

static void rdp_json_version(struct qw_json *j, uint32_t v)
{
    char b[16];
    snprintf(b, sizeof b, "0x%08x", v);
    qw_json_str(j, "version", b);
    uint32_t lo = v & 0xFFFFu;
    const char *r = (v >> 16) == 8 && lo < sizeof rdp_versions / sizeof rdp_versions[0]
                        ? rdp_versions[lo] : NULL;
    qw_json_str(j, "release", r ? r : "unknown");
}

static const char *rdp_protocol_name(uint32_t p)
{
    if (p == RDP_PROTO_RDP) return "rdp";
    for (size_t i = 0; i < sizeof rdp_protocols / sizeof rdp_protocols[0]; i++)
        if (rdp_protocols[i].bit == p) return rdp_protocols[i].name;
    return "unknown";
}

/* Is `p` the start of an RDP_NEG_REQ (8 bytes, or more with correlation info)? */
static bool rdp_neg_req_ok(const uint8_t *p, size_t n)
{
    if (n < RDP_NEG_LEN || p[0] != RDP_NEG_REQ) return false;
    uint16_t l = (uint16_t)(p[2] | p[3] << 8);
    return l == RDP_NEG_LEN;
}

/* UTF-16LE (BMP only; surrogates become U+FFFD) to UTF-8, stopping at NUL. */
static size_t rdp_utf16(const uint8_t *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned c = (unsigned)(s[i] | s[i + 1] << 8);
        if (c == 0) break;
        if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
        if (c < 0x80) {
            if (o + 1 >= cap) break;
            out[o++] = (char)c;
        } else if (c < 0x800) {
            if (o + 2 >= cap) break;
            out[o++] = (char)(0xC0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            if (o + 3 >= cap) break;
            out[o++] = (char)(0xE0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

/* ---- X.224 CR / CC ------------------------------------------------------------------------- */

/* The bytes after the CR's fixed part, up to the end of the TPKT: MS-RDPBCGR puts the cookie
 * and RDP_NEG_REQ there (inside the LI as a rule, some clients outside it). */
static void rdp_on_cr(struct qw_pctx *ctx, struct rdp_state *st, const uint8_t *p, size_t n)
{
    st->cr_seen = true;
    struct qw_cursor c = qw_cursor_make(p, n);
    if (n >= 7 && memcmp(p, "Cookie:", 7) == 0) {
        const uint8_t *crlf = NULL;
        for (size_t i = 0; i + 1 < n; i++)
            if (p[i] == '\r' && p[i + 1] == '\n') {
                crlf = p + i;
                break;
            }
        if (!crlf) {
            qw_emit_anomaly(ctx, "rdp.invalid_cookie", "no CR LF");
            return;
        }
        size_t tl = (size_t)(crlf - p) - 7;
        const uint8_t *t = p + 7;
        while (tl && *t == ' ') t++, tl--;
        size_t kl = tl < RDP_COOKIE_MAX - 1 ? tl : RDP_COOKIE_MAX - 1;
        memcpy(st->cookie, t, kl);
        st->cookie[kl] = '\0';
        st->cookie_len = (uint8_t)kl;
        st->is_cookie = true;
        /* "mstshash=IDENTIFIER": the user name the client typed, as mstsc cuts it. A routing
         * token ("msts=...") names a session-broker target instead. */
        if (tl > 9 && memcmp(t, "mstshash=", 9) == 0) {
            size_t ul = tl - 9;
            while (ul && t[9 + ul - 1] == ' ') ul--;
            if (ul) {
                qw_emit_identity(ctx, false, "rdp_cookie_user", (const char *)t + 9, ul);
                qw_emit_session_user(ctx, "rdp_cookie", (const char *)t + 9, ul);
            }
        }
        qw_cur_skip(&c, (size_t)(crlf - p) + 2);
    }
    if (qw_cur_left(&c) == 0) return;
    const uint8_t *q = qw_cur_ptr(&c);
    if (!rdp_neg_req_ok(q, qw_cur_left(&c))) {
        qw_emit_anomaly(ctx, "rdp.invalid_negotiation", "request");
        return;
    }
    qw_cur_skip(&c, 1);
    st->req_flags = qw_cur_u8(&c);
    qw_cur_skip(&c, 2);
    st->requested = qw_cur_le32(&c);
    st->neg_req_seen = !c.err;
}

static void rdp_on_cc(struct qw_pctx *ctx, struct rdp_state *st, const uint8_t *p, size_t n)
{
    st->cc_seen = true;
    struct qw_cursor c = qw_cursor_make(p, n);
    if (n == 0) {
        /* No RDP_NEG_RSP: a server older than RDP 5.2 runs standard RDP security. */
        qw_emit_anomaly(ctx, "rdp.no_nla", "standard RDP security (no negotiation)");
        return;
    }
    uint8_t type = qw_cur_u8(&c);
    uint8_t flags = qw_cur_u8(&c);
    uint16_t len = qw_cur_le16(&c);
    uint32_t v = qw_cur_le32(&c);
    if (c.err || len != RDP_NEG_LEN || (type != RDP_NEG_RSP && type != RDP_NEG_FAILURE)) {
        qw_emit_anomaly(ctx, "rdp.invalid_negotiation", "response");
        return;
    }
    if (type == RDP_NEG_FAILURE) {
        st->neg_failure_seen = true;
        st->failure = v;
        return;
    }
    st->neg_rsp_seen = true;
    st->rsp_flags = flags;
    st->selected = v;
    if (v == RDP_PROTO_RDP)
        qw_emit_anomaly(ctx, "rdp.no_nla", "standard RDP security selected");
    else if (v == RDP_PROTO_SSL)
        qw_emit_anomaly(ctx, "rdp.no_nla", "TLS without NLA selected");
}

/* ---- MCS connect user data ----------------------------------------------------------------- */

/* Find the GCC user data blocks after the H.221 key ("Duca" client, "McDn" server) and its
 * PER length determinant ([PER] s.11.9: one byte, or two with bit 8 set). */
static bool rdp_find_blocks(const uint8_t *p, size_t n, const char *key, struct qw_cursor *out)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(p + i, key, 4) != 0) continue;
        struct qw_cursor c = qw_cursor_make(p + i + 4, n - i - 4);
        uint8_t b = qw_cur_u8(&c);
        size_t l = b;
        if (b & 0x80) l = (size_t)(b & 0x7F) << 8 | qw_cur_u8(&c);
        if (c.err) return false;
        *out = qw_cur_sub(&c, l, NULL);
        return true;
    }
    return false;
}

static void rdp_on_cs_core(struct qw_pctx *ctx, struct rdp_state *st, struct qw_cursor *c)
{
    st->client_version = qw_cur_le32(c);
    st->desktop_w = qw_cur_le16(c);
    st->desktop_h = qw_cur_le16(c);
    qw_cur_skip(c, 4); /* colorDepth, SASSequence */
    st->keyboard_layout = qw_cur_le32(c);
    st->client_build = qw_cur_le32(c);
    const uint8_t *name = qw_cur_take(c, RDP_NAME_MAX);
    if (c->err || !name) return;
    st->cs_core_seen = true;
    st->client_name_len = (uint8_t)rdp_utf16(name, RDP_NAME_MAX, st->client_name,
                                             sizeof st->client_name);
    size_t nl = st->client_name_len;
    while (nl && st->client_name[nl - 1] == ' ') nl--;
    if (nl) qw_emit_identity(ctx, false, "hostname", st->client_name, nl);
}

/* True when the PDU was the side's MCS connect PDU. */
static bool rdp_on_mcs(struct qw_pctx *ctx, struct rdp_state *st, enum qw_dir dir,
                       const uint8_t *p, size_t n)
{
    bool client = dir == QW_DIR_TO_SERVER;
    struct qw_cursor blocks;
    if (!rdp_find_blocks(p, n, client ? "Duca" : "McDn", &blocks)) return false;
    while (qw_cur_left(&blocks) >= 4) {
        uint16_t type = qw_cur_le16(&blocks);
        uint16_t len = qw_cur_le16(&blocks);
        if (len < 4) {
            qw_emit_anomaly(ctx, "rdp.invalid_user_data", NULL);
            return true;
        }
        bool cut = false;
        struct qw_cursor b = qw_cur_sub(&blocks, (size_t)len - 4, &cut);
        if (client && type == RDP_CS_CORE) {
            rdp_on_cs_core(ctx, st, &b);
        } else if (!client && type == RDP_SC_CORE) {
            /* clientRequestedProtocols and later fields are optional (RDP 5.x servers). */
            st->server_version = qw_cur_le32(&b);
            st->sc_core_seen = !b.err;
        } else if (!client && type == RDP_SC_SECURITY) {
            st->enc_method = qw_cur_le32(&b);
            st->enc_level = qw_cur_le32(&b);
            if (!b.err) {
                st->sc_sec_seen = true;
                /* RC4 with 40 or 56-bit keys, or none at all ([RDP] s.5.3.1). */
                if (st->enc_method == 0 || st->enc_level == 0)
                    qw_emit_anomaly(ctx, "rdp.weak_encryption", "no encryption");
                else if (!(st->enc_method & 0x12u))
                    qw_emit_anomaly(ctx, "rdp.weak_encryption", "40/56-bit RC4");
            }
        }
        if (cut) break;
    }
    return true;
}

/* ---- Framing ------------------------------------------------------------------------------- */

static bool rdp_tls_selected(const struct rdp_state *st)
{
    return st->neg_rsp_seen && st->selected != RDP_PROTO_RDP;
}

static void rdp_on_tpkt(struct qw_pctx *ctx, struct rdp_state *st, enum qw_dir dir,
                        const uint8_t *tpkt, size_t n)
{
    struct rdp_side *sd = &st->side[dir];
    struct qw_cotp cotp;
    if (!qw_cotp_parse(tpkt + QW_TPKT_HDR, n - QW_TPKT_HDR, &cotp)) {
        qw_emit_anomaly(ctx, "rdp.invalid_tpdu", NULL);
        return;
    }
    if (cotp.type == QW_COTP_CR || cotp.type == QW_COTP_CC) {
        /* The fixed part is 7 bytes from the LI on (qw_cotp_parse checked LI >= 6); the RDP
         * data runs from there to the TPKT's end. */
        const uint8_t *rest = tpkt + QW_TPKT_HDR + 7;
        size_t rest_len = n - QW_TPKT_HDR - 7;
        if (cotp.type == QW_COTP_CR && dir == QW_DIR_TO_SERVER && !st->cr_seen) {
            rdp_on_cr(ctx, st, rest, rest_len);
        } else if (cotp.type == QW_COTP_CC && dir == QW_DIR_TO_CLIENT && !st->cc_seen) {
            rdp_on_cc(ctx, st, rest, rest_len);
            /* TLS starts right after the CC: from here on both sides are counted. */
            if (rdp_tls_selected(st)) {
                st->side[0].phase = RDP_PH_COUNT;
                st->side[1].phase = RDP_PH_COUNT;
            }
        }
        return;
    }
    if (cotp.type != QW_COTP_DT) return;
    /* Standard RDP security: the side's MCS connect PDU is its last clear one. */
    bool found = rdp_on_mcs(ctx, st, dir, cotp.data, cotp.data_len);
    if (found || ++sd->dt_seen >= RDP_DT_LOOK) sd->phase = RDP_PH_COUNT;
}

static size_t rdp_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct rdp_state *st = state;
    struct rdp_side *sd = &st->side[dir];
    if (!sd->seen) {
        sd->seen = true;
        sd->first_ns = qw_pctx_time(ctx);
    }
    size_t off = 0;
    while (off < len) {
        /* Counted: TLS after an enhanced-security CC, RC4-encrypted PDUs after the MCS
         * connect PDUs, or a "fast-path" PDU ([RDP] s.2.2.9.1.2: not a TPKT, whose first byte
         * is 3) once the connection request is by. */
        if (sd->phase == RDP_PH_X224 && st->cr_seen && data[off] != 3) sd->phase = RDP_PH_COUNT;
        if (sd->phase == RDP_PH_COUNT) {
            sd->counted_bytes += len - off;
            return len;
        }
        size_t tl = 0;
        enum qw_tpkt_status s = qw_tpkt_frame(data + off, len - off, &tl);
        if (s == QW_TPKT_NEED_MORE) return off;
        if (s == QW_TPKT_BAD) {
            qw_emit_anomaly(ctx, "rdp.invalid_tpkt", NULL);
            sd->phase = RDP_PH_COUNT;
            sd->lost = true;
            continue;
        }
        rdp_on_tpkt(ctx, st, dir, data + off, tl);
        off += tl;
    }
    return off;
}

static void rdp_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct rdp_state *st = state;
    struct rdp_side *sd = &st->side[dir];
    if (sd->phase != RDP_PH_COUNT) sd->lost = true;
    sd->phase = RDP_PH_COUNT;
}

static enum qw_probe_result rdp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    struct qw_cotp cotp;
    enum qw_tpkt_status s = qw_tpkt_cotp_probe(data, len, &cotp);
    if (s == QW_TPKT_BAD) return QW_PROBE_NO;
    /* TPKT(4) LI(1) code(1) DST-REF(2) SRC-REF(2) class(1): the RDP part starts at 11. */
    size_t at = QW_TPKT_HDR + 7;
    uint8_t want = dir == QW_DIR_TO_SERVER ? QW_COTP_CR : QW_COTP_CC;
    if (len > QW_TPKT_HDR + 1 && (data[QW_TPKT_HDR + 1] & 0xF0) != want) return QW_PROBE_NO;
    if (s == QW_TPKT_NEED_MORE) {
        /* Decide on what is visible when it already contradicts. */
        if (len > at && dir == QW_DIR_TO_SERVER) {
            size_t k = len - at < 7 ? len - at : 7;
            bool cookie = memcmp(data + at, "Cookie:", k) == 0;
            if (!cookie && data[at] != RDP_NEG_REQ) return QW_PROBE_NO;
        }
        return QW_PROBE_NEED_MORE;
    }
    size_t tl = (size_t)data[2] << 8 | data[3];
    if (tl < at) return QW_PROBE_NO;
    const uint8_t *r = data + at;
    size_t rl = tl - at;
    if (dir == QW_DIR_TO_SERVER) {
        if (rl >= 7 && memcmp(r, "Cookie:", 7) == 0) return QW_PROBE_MATCH;
        return rdp_neg_req_ok(r, rl) ? QW_PROBE_MATCH : QW_PROBE_NO;
    }
    /* A CC carrying RDP_NEG_RSP or RDP_NEG_FAILURE (the client's CR was not seen). */
    if (rl == RDP_NEG_LEN && (r[0] == RDP_NEG_RSP || r[0] == RDP_NEG_FAILURE) &&
        (r[2] | r[3] << 8) == RDP_NEG_LEN)
        return QW_PROBE_MATCH;
    return QW_PROBE_NO;
}

/* ---- Record -------------------------------------------------------------------------------- */

static void rdp_write_json(struct qw_json *j, const void *arg)
{
    const struct rdp_state *st = arg;
    char b[24];
    if (st->cr_seen) {
        qw_json_obj_begin(j, "request");
        if (st->is_cookie) {
            if (strncmp(st->cookie, "mstshash=", 9) == 0) {
                qw_json_str(j, "cookie", st->cookie);
                size_t ul = strlen(st->cookie + 9);
                while (ul && st->cookie[9 + ul - 1] == ' ') ul--;
                qw_json_strn(j, "user", st->cookie + 9, ul);
            } else {
                qw_json_str(j, "routing_token", st->cookie);
            }
        }
        if (st->neg_req_seen) {
            rdp_json_bits(j, "requested_protocols", st->requested, rdp_protocols,
                          sizeof rdp_protocols / sizeof rdp_protocols[0]);
            qw_json_u64(j, "requested_protocols_value", st->requested);
            if (st->req_flags)
                rdp_json_bits(j, "flags", st->req_flags, rdp_req_flags,
                              sizeof rdp_req_flags / sizeof rdp_req_flags[0]);
        }
        if (st->cs_core_seen) {
            qw_json_obj_begin(j, "client_core");
            qw_json_str(j, "client_name", st->client_name);
            qw_json_u64(j, "client_build", st->client_build);
            rdp_json_version(j, st->client_version);
            snprintf(b, sizeof b, "0x%08x", st->keyboard_layout);
            qw_json_str(j, "keyboard_layout", b);
            qw_json_u64(j, "desktop_width", st->desktop_w);
            qw_json_u64(j, "desktop_height", st->desktop_h);
            qw_json_obj_end(j);
        }
        qw_json_obj_end(j);
    }
    if (st->cc_seen) {
        qw_json_obj_begin(j, "response");
        if (st->neg_rsp_seen) {
            qw_json_str(j, "selected_protocol", rdp_protocol_name(st->selected));
            qw_json_u64(j, "selected_protocol_value", st->selected);
            if (st->rsp_flags)
                rdp_json_bits(j, "flags", st->rsp_flags, rdp_rsp_flags,
                              sizeof rdp_rsp_flags / sizeof rdp_rsp_flags[0]);
        } else if (st->neg_failure_seen) {
            qw_json_u64(j, "failure_code", st->failure);
            const char *fn = st->failure < sizeof rdp_failures / sizeof rdp_failures[0]
                                 ? rdp_failures[st->failure] : NULL;
            qw_json_str(j, "failure_name", fn ? fn : "unknown");
        }
        if (st->sc_core_seen) rdp_json_version(j, st->server_version);
        if (st->sc_sec_seen) {
            rdp_json_bits(j, "encryption_method", st->enc_method, rdp_enc_methods,
                          sizeof rdp_enc_methods / sizeof rdp_enc_methods[0]);
            const char *ln = st->enc_level < sizeof rdp_enc_levels / sizeof rdp_enc_levels[0]
                                 ? rdp_enc_levels[st->enc_level] : "unknown";
            qw_json_str(j, "encryption_level", ln);
        }
        qw_json_obj_end(j);
    }
    const char *sec = !st->cc_seen ? "unknown"
                      : st->neg_failure_seen ? "none"
                      : !st->neg_rsp_seen ? "rdp"
                      : rdp_protocol_name(st->selected);
    qw_json_str(j, "security", sec);
    qw_json_u64(j, "counted_bytes_toserver", st->side[0].counted_bytes);
    qw_json_u64(j, "counted_bytes_toclient", st->side[1].counted_bytes);
    if (st->side[0].lost || st->side[1].lost) qw_json_bool(j, "framing_lost", true);
}

static void rdp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct rdp_state *st = state;
    if (st->emitted || (!st->cr_seen && !st->cc_seen)) return;
    st->emitted = true;
    struct qw_txn t = {0};
    t.has_request = st->cr_seen;
    t.has_response = st->cc_seen;
    t.function = QW_COTP_CR;
    t.function_name = "session";
    t.ops = QW_OP_SESSION;
    t.error = st->neg_failure_seen;
    t.request_ns = st->cr_seen ? (st->side[0].first_ns ? st->side[0].first_ns : 1) : 0;
    t.response_ns = st->cc_seen ? (st->side[1].first_ns ? st->side[1].first_ns : 1) : 0;
    t.write_json = rdp_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
}

const struct qw_proto qw_proto_rdp = {
    .name = "rdp",
    .transports = QW_TRANSPORT_TCP,
    .ports = {RDP_PORT, 0},
    .probe = rdp_probe,
    .state_size = sizeof(struct rdp_state),
    .parse = rdp_parse,
    .gap = rdp_gap,
    .flow_end = rdp_flow_end,
};
