/* VNC / RFB: protocol version, security handshake, initialisation, client input counts.
 *
 * Specifications:
 *   [RFB]  RFC 6143, The Remote Framebuffer Protocol: s.7.1.1 ProtocolVersion ("RFB xxx.yyy\n",
 *          12 bytes; 3.3, 3.7 and 3.8 are defined, a server reads any other minor as 3.3),
 *          s.7.1.2 Security handshake (3.7+: u8 count and u8 types, the client answers one u8;
 *          3.3: the server decides, u32; a count or type of 0 is followed by a u32-length
 *          reason string), s.7.1.3 SecurityResult (u32: 0 OK, 1 failed; 3.8 adds a reason
 *          string on failure; before 3.8 type None has no SecurityResult), s.7.2.1 None,
 *          s.7.2.2 VNC Authentication (16-byte challenge, 16-byte DES response), s.7.3.1
 *          ClientInit (u8 shared-flag), s.7.3.2 ServerInit (u16 width, u16 height, 16-byte
 *          PIXEL_FORMAT, u32 name-length, name), s.7.5 client-to-server messages
 *          (SetPixelFormat 0, SetEncodings 2, FramebufferUpdateRequest 3, KeyEvent 4,
 *          PointerEvent 5, ClientCutText 6), s.8.1.2 security type registry.
 *   [ARD]  Apple Remote Desktop authentication, security type 30: the server sends a u16
 *          generator, u16 key length and the Diffie-Hellman prime and public key of that
 *          length; the client answers 128 bytes of encrypted credentials and its public key
 *          (public descriptions of Apple's Screen Sharing, as decoded by Wireshark's VNC
 *          dissector).
 *   [EXT]  The community RFB extensions registry (rfbproto.rst): client messages
 *          EnableContinuousUpdates 150, ClientFence 248, xvp 250.
 *
 * The handshake is a sequence of fixed or length-prefixed fields, read in order per direction
 * (a field cut by a segment waits in the engine's pending tail). After ServerInit the server
 * sends framebuffer updates whose size depends on every rectangle's encoding: they are counted
 * only. The client's messages stay framed (fixed sizes, two length-prefixed) and are counted by
 * type, so a record shows keyboard and pointer activity and clipboard transfers (never their
 * contents). A security type whose exchange is not decoded here (Tight, VeNCrypt's TLS, RA2...)
 * ends the parse of both sides: their bytes are counted.
 *
 * One transaction per connection, emitted when the flow ends. Identity about the server:
 * `rfb_version` (its version string) and `vnc_desktop` (the ServerInit name). Anomaly
 * vnc.no_authentication when the server offers or selects security type None.
 *
 * A SecurityResult "failed" after a security type that asked for a secret (VNC Authentication,
 * Apple's) is the server refusing a login: reported once (qw_emit_device_report, "rfb
 * SecurityResult failed"; RFB carries no user name) so the detector can count guesses. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits and codes ---------------------------------------------------------------------- */

#define VNC_PORT_FIRST 5900    /* display :0 ([RFB] s.1: 5900 + display number) */
#define VNC_VERSION_LEN 12     /* "RFB 003.008\n" */
#define VNC_TYPES_MAX 32       /* security types kept as offered */
#define VNC_NAME_KEEP 128      /* desktop name / reason text kept */
/* Reason strings and desktop names are short; a length past this is not RFB. */
#define VNC_STRING_MAX 4096u
#define VNC_CHALLENGE_LEN 16
#define VNC_ARD_CRED_LEN 128
#define VNC_ARD_KEY_MAX 1024u  /* DH key length in bytes: Apple uses 128 */
#define VNC_SERVERINIT_FIXED 24
#define VNC_ENCODINGS_MAX 1024u /* SetEncodings count: real clients send 10-40 */
#define VNC_CUTTEXT_MAX (16u * 1024u * 1024u) /* a clipboard length past this breaks framing */
#define VNC_MSG_TYPES 8        /* counted client message types below */
/* Client messages longer than this (clipboard texts) are counted from their header and their
 * body is skipped as it streams past, instead of waiting for it whole. */
#define VNC_INLINE_MAX 4096u

/* Security types ([RFB] s.8.1.2). */
enum {
    VNC_SEC_INVALID = 0, VNC_SEC_NONE = 1, VNC_SEC_VNC = 2, VNC_SEC_TIGHT = 16,
    VNC_SEC_VENCRYPT = 19, VNC_SEC_ARD = 30,
};

static const char *const vnc_sec_names[256] = {
    [0] = "invalid", [1] = "none", [2] = "vnc_authentication", [5] = "ra2", [6] = "ra2ne",
    [16] = "tight", [17] = "ultra", [18] = "tls", [19] = "vencrypt", [20] = "gtk_vnc_sasl",
    [21] = "md5_hash", [22] = "colin_dean_xvp", [23] = "secure_tunnel",
    [24] = "integrated_ssh", [30] = "apple_remote_desktop", [35] = "apple_35",
    [113] = "ultravnc_mslogon_ii", [129] = "unix_logon",
};

/* Client messages ([RFB] s.7.5, [EXT]): counted under these names. */
static const char *const vnc_msg_names[VNC_MSG_TYPES] = {
    "set_pixel_format", "fix_colour_map_entries", "set_encodings", "framebuffer_update_request",
    "key_event", "pointer_event", "client_cut_text", "other",
};

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum vnc_srv {
    VS_VERSION = 0, VS_SECURITY, VS_REASON, VS_CHALLENGE, VS_ARD, VS_RESULT, VS_RESULT_REASON,
    VS_SERVERINIT, VS_COUNT,
};

enum vnc_cli {
    VC_VERSION = 0, VC_SELECT, VC_AUTH, VC_ARD, VC_CLIENTINIT, VC_MESSAGES, VC_COUNT,
};

struct vnc_state {
    uint8_t srv, cli;             /* vnc_srv, vnc_cli */
    bool srv_seen, cli_seen, emitted;
    uint64_t srv_ns, cli_ns;
    char srv_version[VNC_VERSION_LEN], cli_version[VNC_VERSION_LEN]; /* "003.008" */
    uint8_t minor;                /* negotiated behaviour: 3, 7 or 8 */
    uint8_t ntypes;
    uint8_t types[VNC_TYPES_MAX];
    bool types_listed;            /* 3.7+: offered list; 3.3: server-chosen type */
    bool selected_seen;
    uint8_t selected;
    bool undecoded_security;      /* a security type whose exchange is not parsed */
    bool result_seen;
    uint32_t result;
    uint16_t ard_keylen;
    uint8_t reason_len;
    char reason[VNC_NAME_KEEP];
    bool connection_failed;       /* the server refused before security (count 0 / type 0) */
    bool client_init_seen, shared;
    bool server_init_seen;
    uint16_t width, height;
    uint8_t bpp, depth;
    uint8_t name_len;
    char name[VNC_NAME_KEEP];
    uint32_t msg_counts[VNC_MSG_TYPES];
    uint64_t cut_text_bytes;
    uint64_t counted[2];
    uint32_t skip_left;           /* client message body still to skip */
    bool lost;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static bool vnc_version_ok(const uint8_t *p)
{
    if (memcmp(p, "RFB ", 4) != 0 || p[7] != '.' || p[11] != '\n') return false;
    for (int i = 4; i < 11; i++)
        if (i != 7 && (p[i] < '0' || p[i] > '9')) return false;
    return true;
}

static unsigned vnc_num(const uint8_t *p)
{
    return (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
}

/* The behaviour a version string asks for ([RFB] s.7.1.1): 3.3, 3.7 or 3.8 (Apple's 3.889 and
 * later minors behave as 3.8; other unknown minors as 3.3). */
static uint8_t vnc_minor_of(const char *v)
{
    unsigned major = vnc_num((const uint8_t *)v), minor = vnc_num((const uint8_t *)v + 4);
    if (major > 3) return 8;
    if (major < 3) return 3;
    if (minor >= 8) return 8;
    if (minor == 7) return 7;
    return 3;
}

static uint8_t vnc_copy(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    if (n > cap) n = cap;
    memcpy(dst, src, n);
    return (uint8_t)n;
}

static void vnc_on_selected(struct qw_pctx *ctx, struct vnc_state *st, uint8_t type, bool chosen)
{
    st->selected_seen = true;
    st->selected = type;
    if (type == VNC_SEC_NONE && chosen)
        qw_emit_anomaly(ctx, "vnc.no_authentication", "security type None selected");
    if (type != VNC_SEC_NONE && type != VNC_SEC_VNC && type != VNC_SEC_ARD &&
        type != VNC_SEC_INVALID) {
        st->undecoded_security = true;
        st->srv = VS_COUNT;
        st->cli = VC_COUNT;
    }
}

/* ---- Failed logins ([RFB] s.7.1.3) --------------------------------------------------------- */

#define VNC_RESULT_FAILED 1u

/* Whether a security type checks a secret the client gives: every type but None (and the
 * "invalid" 0, which is no type). Only such a refusal is a failed login. */
static bool vnc_sec_asks_secret(uint8_t type)
{
    return type != VNC_SEC_NONE && type != VNC_SEC_INVALID;
}

static void vnc_check_refused(struct qw_pctx *ctx, const struct vnc_state *st)
{
    if (st->result != VNC_RESULT_FAILED || !vnc_sec_asks_secret(st->selected)) return;
    qw_emit_login_refused(ctx, true, "rfb SecurityResult failed", NULL, 0); /* RFB names nobody */
}

/* ---- Server to client ---------------------------------------------------------------------- */

/* Read one server field; returns bytes used, 0 when more bytes are needed. */
static size_t vnc_server_step(struct qw_pctx *ctx, struct vnc_state *st, const uint8_t *d,
                              size_t n)
{
    struct qw_cursor c = qw_cursor_make(d, n);
    switch (st->srv) {
    case VS_VERSION:
        if (n < VNC_VERSION_LEN) return 0;
        if (!vnc_version_ok(d)) {
            qw_emit_anomaly(ctx, "vnc.invalid_version", "server");
            st->srv = VS_COUNT;
            return VNC_VERSION_LEN;
        }
        memcpy(st->srv_version, d + 4, 7);
        qw_emit_identity(ctx, true, "rfb_version", (const char *)d, 11);
        if (!st->minor) st->minor = vnc_minor_of(st->srv_version);
        st->srv = VS_SECURITY;
        return VNC_VERSION_LEN;
    case VS_SECURITY:
        if (st->minor < 7) {
            /* 3.3: the server chooses ([RFB] s.7.1.2, last paragraph). */
            uint32_t t = qw_cur_be32(&c);
            if (c.err) return 0;
            st->types_listed = false;
            st->ntypes = 1;
            st->types[0] = (uint8_t)(t > 255 ? 255 : t);
            if (t == VNC_SEC_INVALID) {
                st->connection_failed = true;
                st->srv = VS_REASON;
            } else {
                if (t > 255) qw_emit_anomaly(ctx, "vnc.invalid_security_type", NULL);
                vnc_on_selected(ctx, st, (uint8_t)t, true);
                if (st->srv == VS_COUNT) return 4;
                st->srv = t == VNC_SEC_VNC ? VS_CHALLENGE : VS_SERVERINIT;
                st->cli = t == VNC_SEC_VNC ? VC_AUTH : VC_CLIENTINIT;
            }
            return 4;
        } else {
            uint8_t cnt = qw_cur_u8(&c);
            const uint8_t *list = qw_cur_take(&c, cnt);
            if (c.err) return 0;
            st->types_listed = true;
            if (cnt == 0) {
                st->connection_failed = true;
                st->srv = VS_REASON;
                return 1;
            }
            bool none = false;
            for (unsigned i = 0; i < cnt; i++) {
                if (st->ntypes < VNC_TYPES_MAX) st->types[st->ntypes++] = list[i];
                none = none || list[i] == VNC_SEC_NONE;
            }
            if (none) qw_emit_anomaly(ctx, "vnc.no_authentication", "security type None offered");
            st->srv = VS_RESULT; /* refined when the client's choice arrives */
            if (st->cli == VC_VERSION || st->cli == VC_SELECT) st->cli = VC_SELECT;
            return 1u + cnt;
        }
    case VS_REASON:
    case VS_RESULT_REASON: {
        uint32_t l = qw_cur_be32(&c);
        if (c.err) return 0;
        if (l > VNC_STRING_MAX) {
            qw_emit_anomaly(ctx, "vnc.invalid_length", "reason");
            st->srv = VS_COUNT;
            return 4;
        }
        const uint8_t *r = qw_cur_take(&c, l);
        if (!r) return 0;
        st->reason_len = vnc_copy(st->reason, sizeof st->reason, r, l);
        st->srv = VS_COUNT;
        return 4u + l;
    }
    case VS_CHALLENGE:
        if (n < VNC_CHALLENGE_LEN) return 0;
        st->srv = VS_RESULT;
        return VNC_CHALLENGE_LEN;
    case VS_ARD: {
        qw_cur_skip(&c, 2); /* generator */
        uint16_t kl = qw_cur_be16(&c);
        if (c.err) return 0;
        if (kl == 0 || kl > VNC_ARD_KEY_MAX) {
            qw_emit_anomaly(ctx, "vnc.invalid_length", "ard key");
            st->srv = VS_COUNT;
            st->cli = VC_COUNT;
            return 4;
        }
        if (!qw_cur_skip(&c, 2u * kl)) return 0;
        st->ard_keylen = kl;
        st->srv = VS_RESULT;
        return 4u + 2u * kl;
    }
    case VS_RESULT: {
        /* Before the client chose, the server has nothing to say: wait. */
        if (!st->selected_seen) return 0;
        uint32_t r = qw_cur_be32(&c);
        if (c.err) return 0;
        st->result_seen = true;
        st->result = r;
        vnc_check_refused(ctx, st);
        if (r != 0) {
            /* 3.8 sends a reason ([RFB] s.7.1.3); earlier versions close. */
            st->srv = st->minor >= 8 ? VS_RESULT_REASON : VS_COUNT;
            st->cli = VC_COUNT;
        } else {
            st->srv = VS_SERVERINIT;
        }
        return 4;
    }
    case VS_SERVERINIT: {
        uint16_t w = qw_cur_be16(&c), h = qw_cur_be16(&c);
        uint8_t bpp = qw_cur_u8(&c), depth = qw_cur_u8(&c);
        qw_cur_skip(&c, 14); /* rest of PIXEL_FORMAT */
        uint32_t nl = qw_cur_be32(&c);
        if (c.err) return 0;
        if (nl > VNC_STRING_MAX) {
            qw_emit_anomaly(ctx, "vnc.invalid_length", "desktop name");
            st->srv = VS_COUNT;
            return VNC_SERVERINIT_FIXED;
        }
        const uint8_t *name = qw_cur_take(&c, nl);
        if (!name) return 0;
        st->server_init_seen = true;
        st->width = w;
        st->height = h;
        st->bpp = bpp;
        st->depth = depth;
        st->name_len = vnc_copy(st->name, sizeof st->name, name, nl);
        /* The identity is the text after any binary prefix (Apple's Screen Sharing puts
         * 22 bytes of flags before the name), without trailing NULs or spaces. */
        size_t il = nl, is = 0;
        while (il && (name[il - 1] == 0 || name[il - 1] == ' ')) il--;
        for (size_t i = 0; i < il; i++)
            if (name[i] < 0x20) is = i + 1;
        if (il > is) {
            size_t k = il - is < VNC_NAME_KEEP ? il - is : VNC_NAME_KEEP;
            qw_emit_identity(ctx, true, "vnc_desktop", (const char *)name + is, k);
        }
        st->srv = VS_COUNT;
        return VNC_SERVERINIT_FIXED + nl;
    }
    default: return 0;
    }
}

/* ---- Client to server ---------------------------------------------------------------------- */

/* Size of the client message at `d`, 0 when more bytes are needed, SIZE_MAX when the type is
 * not one whose size is known. */
static size_t vnc_client_msg_size(struct qw_pctx *ctx, struct vnc_state *st, const uint8_t *d,
                                  size_t n, unsigned *slot)
{
    struct qw_cursor c = qw_cursor_make(d, n);
    uint8_t type = qw_cur_u8(&c);
    if (c.err) return 0;
    *slot = type < 7 ? type : 7;
    switch (type) {
    case 0: return 20;  /* SetPixelFormat: type, 3 padding, PIXEL_FORMAT */
    case 2: {           /* SetEncodings: type, padding, u16 count, s32 each */
        qw_cur_skip(&c, 1);
        uint16_t cnt = qw_cur_be16(&c);
        if (c.err) return 0;
        if (cnt > VNC_ENCODINGS_MAX) {
            qw_emit_anomaly(ctx, "vnc.invalid_length", "encodings");
            return SIZE_MAX;
        }
        return 4u + 4u * cnt;
    }
    case 3: return 10;  /* FramebufferUpdateRequest */
    case 4: return 8;   /* KeyEvent */
    case 5: return 6;   /* PointerEvent */
    case 6: {           /* ClientCutText: type, 3 padding, u32 length, text */
        qw_cur_skip(&c, 3);
        uint32_t l = qw_cur_be32(&c);
        if (c.err) return 0;
        if (l > VNC_CUTTEXT_MAX) {
            qw_emit_anomaly(ctx, "vnc.invalid_length", "cut text");
            return SIZE_MAX;
        }
        return 8u + l;
    }
    case 150: return 10; /* EnableContinuousUpdates ([EXT]) */
    case 248: {          /* ClientFence: type, 3 padding, u32 flags, u8 length, payload */
        qw_cur_skip(&c, 7);
        uint8_t l = qw_cur_u8(&c);
        if (c.err) return 0;
        return 9u + l;
    }
    case 250: return 4;  /* xvp */
    default: return SIZE_MAX;
    }
}

static size_t vnc_client_step(struct qw_pctx *ctx, struct vnc_state *st, const uint8_t *d,
                              size_t n)
{
    switch (st->cli) {
    case VC_VERSION:
        if (n < VNC_VERSION_LEN) return 0;
        if (!vnc_version_ok(d)) {
            qw_emit_anomaly(ctx, "vnc.invalid_version", "client");
            st->cli = VC_COUNT;
            return VNC_VERSION_LEN;
        }
        memcpy(st->cli_version, d + 4, 7);
        /* The client's answer sets the version used ([RFB] s.7.1.1). */
        st->minor = vnc_minor_of(st->cli_version);
        st->cli = st->minor >= 7 ? VC_SELECT : VC_CLIENTINIT;
        return VNC_VERSION_LEN;
    case VC_SELECT: {
        /* 3.7+: the server's list comes first; a client byte before it is not a choice. */
        if (!st->types_listed) return 0;
        uint8_t t = d[0];
        vnc_on_selected(ctx, st, t, true);
        if (st->cli == VC_COUNT) return 1;
        if (t == VNC_SEC_VNC) {
            st->srv = VS_CHALLENGE;
            st->cli = VC_AUTH;
        } else if (t == VNC_SEC_ARD) {
            st->srv = VS_ARD;
            st->cli = VC_ARD;
        } else if (t == VNC_SEC_NONE) {
            /* Only 3.8 answers None with a SecurityResult ([RFB] s.7.1.3). */
            st->srv = st->minor >= 8 ? VS_RESULT : VS_SERVERINIT;
            st->cli = VC_CLIENTINIT;
        } else {
            st->cli = VC_CLIENTINIT;
        }
        return 1;
    }
    case VC_AUTH:
        if (n < VNC_CHALLENGE_LEN) return 0;
        st->cli = VC_CLIENTINIT;
        return VNC_CHALLENGE_LEN;
    case VC_ARD: {
        if (!st->ard_keylen) return 0; /* the key length comes from the server */
        size_t need = VNC_ARD_CRED_LEN + (size_t)st->ard_keylen;
        if (n < need) return 0;
        st->cli = VC_CLIENTINIT;
        return need;
    }
    case VC_CLIENTINIT:
        st->client_init_seen = true;
        st->shared = d[0] != 0;
        st->cli = VC_MESSAGES;
        return 1;
    case VC_MESSAGES: {
        unsigned slot = 7;
        size_t sz = vnc_client_msg_size(ctx, st, d, n, &slot);
        if (sz == SIZE_MAX) {
            st->msg_counts[7]++;
            st->cli = VC_COUNT;
            return 0;
        }
        if (sz == 0) return 0;
        bool whole = n >= sz;
        /* A long message is counted now and the rest of its body skipped as it arrives. */
        if (!whole && sz <= VNC_INLINE_MAX) return 0;
        st->msg_counts[slot]++;
        if (slot == 6) st->cut_text_bytes += sz - 8; /* ClientCutText: the text's length */
        if (whole) return sz;
        st->skip_left = (uint32_t)(sz - n);
        return n;
    }
    default: return 0;
    }
}

/* ---- Framing ------------------------------------------------------------------------------- */

static size_t vnc_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct vnc_state *st = state;
    bool server = dir == QW_DIR_TO_CLIENT;
    if (server && !st->srv_seen) {
        st->srv_seen = true;
        st->srv_ns = qw_pctx_time(ctx);
    } else if (!server && !st->cli_seen) {
        st->cli_seen = true;
        st->cli_ns = qw_pctx_time(ctx);
    }
    size_t off = 0;
    if (!server && st->skip_left) {
        size_t k = len < st->skip_left ? len : st->skip_left;
        st->skip_left -= (uint32_t)k;
        off = k;
    }
    while (off < len) {
        bool counting = server ? st->srv == VS_COUNT : st->cli == VC_COUNT;
        if (counting) {
            st->counted[dir] += len - off;
            return len;
        }
        uint8_t before = server ? st->srv : st->cli;
        size_t used = server ? vnc_server_step(ctx, st, data + off, len - off)
                             : vnc_client_step(ctx, st, data + off, len - off);
        off += used;
        uint8_t after = server ? st->srv : st->cli;
        /* A field cut by the segment: the engine keeps it (every field waited for is
         * bounded well below its 66 KiB pending limit). */
        if (used == 0 && after == before) return off;
    }
    return off;
}

static void vnc_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct vnc_state *st = state;
    if (dir == QW_DIR_TO_SERVER) st->skip_left = 0;
    /* Handshake fields cannot be found again after a hole; client messages neither. */
    if (dir == QW_DIR_TO_CLIENT) {
        if (st->srv != VS_COUNT) st->lost = true;
        st->srv = VS_COUNT;
    } else {
        if (st->cli != VC_COUNT) st->lost = true;
        st->cli = VC_COUNT;
    }
}

static enum qw_probe_result vnc_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    static const uint8_t tmpl[VNC_VERSION_LEN] = "RFB 000.000\n";
    size_t n = len < VNC_VERSION_LEN ? len : VNC_VERSION_LEN;
    for (size_t i = 0; i < n; i++) {
        bool digit = tmpl[i] == '0';
        if (digit ? (data[i] < '0' || data[i] > '9') : data[i] != tmpl[i]) return QW_PROBE_NO;
    }
    return len < VNC_VERSION_LEN ? QW_PROBE_NEED_MORE : QW_PROBE_MATCH;
}

/* ---- Record -------------------------------------------------------------------------------- */

static const char *vnc_sec_name(uint8_t t)
{
    return vnc_sec_names[t] ? vnc_sec_names[t] : "unknown";
}

static void vnc_write_json(struct qw_json *j, const void *arg)
{
    const struct vnc_state *st = arg;
    if (st->cli_seen) {
        qw_json_obj_begin(j, "request");
        if (st->cli_version[0]) qw_json_strn(j, "version", st->cli_version, 7);
        if (st->selected_seen && st->types_listed) {
            qw_json_u64(j, "security_type", st->selected);
            qw_json_str(j, "security_type_name", vnc_sec_name(st->selected));
        }
        if (st->client_init_seen) qw_json_bool(j, "shared", st->shared);
        bool any = false;
        for (unsigned i = 0; i < VNC_MSG_TYPES; i++) any = any || st->msg_counts[i];
        if (any) {
            qw_json_obj_begin(j, "messages");
            for (unsigned i = 0; i < VNC_MSG_TYPES; i++)
                if (st->msg_counts[i]) qw_json_u64(j, vnc_msg_names[i], st->msg_counts[i]);
            qw_json_obj_end(j);
        }
        if (st->cut_text_bytes) qw_json_u64(j, "cut_text_bytes", st->cut_text_bytes);
        qw_json_u64(j, "counted_bytes", st->counted[QW_DIR_TO_SERVER]);
        qw_json_obj_end(j);
    }
    if (st->srv_seen) {
        qw_json_obj_begin(j, "response");
        if (st->srv_version[0]) qw_json_strn(j, "version", st->srv_version, 7);
        if (st->ntypes) {
            qw_json_arr_begin(j, st->types_listed ? "security_types" : "security_type_chosen");
            for (unsigned i = 0; i < st->ntypes; i++) {
                qw_json_obj_begin(j, NULL);
                qw_json_u64(j, "type", st->types[i]);
                qw_json_str(j, "name", vnc_sec_name(st->types[i]));
                qw_json_obj_end(j);
            }
            qw_json_arr_end(j);
        }
        if (st->result_seen) {
            qw_json_u64(j, "security_result", st->result);
            qw_json_str(j, "security_result_name", st->result == 0 ? "ok" : "failed");
        }
        if (st->reason_len) qw_json_strn(j, "reason", st->reason, st->reason_len);
        if (st->server_init_seen) {
            qw_json_u64(j, "width", st->width);
            qw_json_u64(j, "height", st->height);
            qw_json_u64(j, "bits_per_pixel", st->bpp);
            qw_json_u64(j, "depth", st->depth);
            qw_json_strn(j, "desktop_name", st->name, st->name_len);
        }
        qw_json_u64(j, "counted_bytes", st->counted[QW_DIR_TO_CLIENT]);
        qw_json_obj_end(j);
    }
    if (st->selected_seen) {
        qw_json_str(j, "authentication", vnc_sec_name(st->selected));
        if (st->undecoded_security) qw_json_bool(j, "security_not_decoded", true);
    }
    if (st->connection_failed) qw_json_bool(j, "connection_failed", true);
    if (st->lost) qw_json_bool(j, "framing_lost", true);
}

static void vnc_flow_end(struct qw_pctx *ctx, void *state)
{
    struct vnc_state *st = state;
    if (st->emitted || (!st->srv_seen && !st->cli_seen)) return;
    st->emitted = true;
    struct qw_txn t = {0};
    t.has_request = st->cli_seen;
    t.has_response = st->srv_seen;
    t.function = 0;
    t.function_name = "session";
    t.ops = QW_OP_SESSION;
    if (st->selected_seen && st->selected != VNC_SEC_NONE) t.ops |= QW_OP_AUTH;
    t.error = st->connection_failed || (st->result_seen && st->result != 0);
    t.request_ns = st->cli_seen ? (st->cli_ns ? st->cli_ns : 1) : 0;
    t.response_ns = st->srv_seen ? (st->srv_ns ? st->srv_ns : 1) : 0;
    t.write_json = vnc_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
}

const struct qw_proto qw_proto_vnc = {
    .name = "vnc",
    .transports = QW_TRANSPORT_TCP,
    .ports = {VNC_PORT_FIRST, VNC_PORT_FIRST + 1, VNC_PORT_FIRST + 2, VNC_PORT_FIRST + 3,
              VNC_PORT_FIRST + 10, 0},
    .probe = vnc_probe,
    .state_size = sizeof(struct vnc_state),
    .parse = vnc_parse,
    .gap = vnc_gap,
    .flow_end = vnc_flow_end,
};
