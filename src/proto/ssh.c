/* SSH transport layer: identification strings, algorithm negotiation, then byte counts.
 *
 * Specifications:
 *   [ARCH]  RFC 4251, SSH Protocol Architecture: s.5 data types (uint32, string, name-list).
 *   [TRANS] RFC 4253, SSH Transport Layer Protocol: s.4.2 protocol version exchange (the
 *           identification string "SSH-protoversion-softwareversion SP comments CR LF", at
 *           most 255 characters with CR LF; a server may send other lines first), s.5.1
 *           compatibility version "1.99", s.6 binary packet protocol (uint32 packet_length,
 *           byte padding_length, payload, padding of 4..255 bytes, MAC; packets of at least
 *           35000 bytes must be accepted, s.6.1), s.7.1 KEXINIT and the negotiation rule (the
 *           first algorithm of the client's list that the server also lists), s.7.3 NEWKEYS,
 *           s.8 Diffie-Hellman KEXDH_INIT/KEXDH_REPLY, s.11.1 DISCONNECT, s.12 message numbers.
 *   [GEX]   RFC 4419, Diffie-Hellman Group Exchange: message numbers 30-34.
 *   [ECDH]  RFC 5656 s.4 (KEX_ECDH_INIT 30 / KEX_ECDH_REPLY 31), also used by curve25519
 *           (RFC 8731).
 *   [WEAK]  RFC 9142 s.3.1 and s.4 (diffie-hellman-group1-sha1, diffie-hellman-group-exchange-
 *           sha1, rsa1024-sha1: SHOULD NOT / MUST NOT), RFC 8758 (arcfour: MUST NOT), RFC 4253
 *           s.6.3 and s.6.4 ("none" cipher and MAC: NOT RECOMMENDED), RFC 8332 and OpenSSH 7.0
 *           release notes (ssh-dss disabled by default).
 *   [SSH1]  T. Ylonen, "The SSH (Secure Shell) Remote Login Protocol", draft-ylonen-ssh-
 *           protocol-00 (1995): binary packet, SSH_SMSG_PUBLIC_KEY (2), SSH_CMSG_SESSION_KEY (3)
 *           with its cipher_type (0 none, 1 IDEA, 2 DES, 3 3DES, 5 ARCFOUR, 6 Blowfish).
 *   [HASSH] Salesforce's HASSH fingerprint: MD5 over "kex;encryption;mac;compression" of a
 *           KEXINIT (the client-to-server lists for the client, server-to-client lists for the
 *           server), as Wireshark's ssh.kex.hassh / hasshserver show it.
 *
 * Binary packet before NEWKEYS (no MAC, no encryption) [TRANS] s.6:
 *
 *   offset size meaning
 *   ------ ---- ---------------------------------------------------------------------------
 *        0    4 packet_length: bytes that follow, MAC excluded
 *        4    1 padding_length (4..255)
 *        5    n payload (n = packet_length - padding_length - 1); payload[0] = message number
 *      5+n    p random padding
 *
 * Per direction the parser reads the identification line, then clear packets, until that side
 * sends NEWKEYS: from then on its bytes are encrypted and only counted. With the "none" cipher
 * the packets would stay readable, but every real implementation disables it. SSH-1 (a client
 * that answers "SSH-1.x" other than 1.99) has another packet format: each side's first packet
 * (the server's public key, the client's session key with the chosen cipher) is read, the rest
 * is encrypted and counted.
 *
 * One transaction per connection, emitted when the flow ends: the "request" is the client's
 * side (identification, KEXINIT), the "response" the server's; the negotiated algorithms sit
 * beside them. The identification strings become identity facts as soon as they are read. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <nettle/md5.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/digits.h"
#include "util/json.h"
#include "util/str.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define SSH_PORT 22            /* IANA "ssh" */
#define SSH_IDENT_MAX 255      /* identification line with CR LF ([TRANS] s.4.2) */
/* Lines a server may send before its identification ([TRANS] s.4.2 bounds neither their number
 * nor length; real servers send a short notice, if anything). Past these, the side is given up. */
#define SSH_PRELINE_MAX 1024
#define SSH_PRELINES_MAX 32
/* Clear packets: [TRANS] s.6.1 requires 35000 bytes; a KEXINIT is 1-2 KB and the largest clear
 * message (a GEX group with a 8192-bit prime, a post-quantum KEX reply) a few KB. Bigger than
 * this before NEWKEYS is not SSH framing. */
#define SSH_PACKET_MAX 35000u
#define SSH_PACKET_MIN 5u      /* padding_length byte + at least 4 bytes of padding... */
#define SSH_PAD_MIN 4u         /* [TRANS] s.6 */
#define SSH_BLOCK_CLEAR 8u     /* block size before keys are in use ([TRANS] s.6) */
/* KEXINIT name-lists kept per side, raw, for the record and the negotiation: OpenSSH 9 sends
 * about 1.7 KB. A longer KEXINIT is still fingerprinted in full; only what is kept is shown. */
#define SSH_KEX_KEEP 2048u
#define SSH_NAMES_SHOWN 6      /* names listed per algorithm list in the record */
#define SSH_MSGS_KEPT 16       /* clear messages listed per side in the record */
#define SSH_TEXT_MAX 128       /* disconnect description and host key type kept */
/* SSH-1 packet: uint32 length (type + data + CRC), 1-8 bytes of padding to a multiple of 8,
 * type, data, CRC32 ([SSH1] s."The binary packet protocol"); at most 256 KB. */
#define SSH1_PACKET_MAX (256u * 1024u)
#define SSH1_CMSG_SESSION_KEY 3

/* Message numbers ([TRANS] s.12, [GEX], [ECDH]). */
enum {
    SSH_MSG_DISCONNECT = 1,
    SSH_MSG_KEXINIT = 20,
    SSH_MSG_NEWKEYS = 21,
    SSH_MSG_KEXDH_REPLY = 31,     /* also KEX_ECDH_REPLY; KEX_DH_GEX_GROUP under GEX */
    SSH_MSG_KEX_DH_GEX_REPLY = 33,
};

/* The ten name-lists of KEXINIT, in wire order ([TRANS] s.7.1). */
enum ssh_list {
    SSH_L_KEX, SSH_L_HOSTKEY, SSH_L_ENC_CS, SSH_L_ENC_SC, SSH_L_MAC_CS, SSH_L_MAC_SC,
    SSH_L_COMP_CS, SSH_L_COMP_SC, SSH_L_LANG_CS, SSH_L_LANG_SC, SSH_L_COUNT
};

/* The negotiated algorithms reported ([TRANS] s.7.1): languages are not negotiated. */
#define SSH_NEG_COUNT 8
static const char *const ssh_neg_keys[SSH_NEG_COUNT] = {
    "kex_algorithm", "host_key_algorithm", "encryption_client_to_server",
    "encryption_server_to_client", "mac_client_to_server", "mac_server_to_client",
    "compression_client_to_server", "compression_server_to_client",
};

/* Message names by number. 30-34 depend on the key exchange method, named after the
 * negotiation (ssh_msg_name). */
static const char *const ssh_msg_names[256] = {
    [1] = "disconnect", [2] = "ignore", [3] = "unimplemented", [4] = "debug",
    [5] = "service_request", [6] = "service_accept", [7] = "ext_info", [8] = "newcompress",
    [20] = "kexinit", [21] = "newkeys",
    [50] = "userauth_request", [51] = "userauth_failure", [52] = "userauth_success",
    [53] = "userauth_banner", [80] = "global_request", [81] = "request_success",
    [82] = "request_failure", [90] = "channel_open", [91] = "channel_open_confirmation",
    [92] = "channel_open_failure", [93] = "channel_window_adjust", [94] = "channel_data",
    [95] = "channel_extended_data", [96] = "channel_eof", [97] = "channel_close",
    [98] = "channel_request", [99] = "channel_success", [100] = "channel_failure",
};
static const char *const ssh_msg_dh[] = {"kexdh_init", "kexdh_reply"};
static const char *const ssh_msg_ecdh[] = {"kex_ecdh_init", "kex_ecdh_reply"};
static const char *const ssh_msg_gex[] = {"kex_dh_gex_request_old", "kex_dh_gex_group",
                                          "kex_dh_gex_init", "kex_dh_gex_reply",
                                          "kex_dh_gex_request"};

/* Algorithms that weaken a session when negotiated ([WEAK]). */
struct ssh_weak {
    uint8_t list; /* ssh_list of the kind; the _CS list stands for both directions */
    const char *name;
};
static const struct ssh_weak ssh_weak_algs[] = {
    {SSH_L_KEX, "diffie-hellman-group1-sha1"},
    {SSH_L_KEX, "diffie-hellman-group-exchange-sha1"},
    {SSH_L_KEX, "rsa1024-sha1"},
    {SSH_L_HOSTKEY, "ssh-dss"},
    {SSH_L_ENC_CS, "none"},
    {SSH_L_ENC_CS, "des-cbc"},
    {SSH_L_ENC_CS, "3des-cbc"},
    {SSH_L_ENC_CS, "blowfish-cbc"},
    {SSH_L_ENC_CS, "cast128-cbc"},
    {SSH_L_ENC_CS, "arcfour"},
    {SSH_L_ENC_CS, "arcfour128"},
    {SSH_L_ENC_CS, "arcfour256"},
    {SSH_L_MAC_CS, "none"},
    {SSH_L_MAC_CS, "hmac-md5"},
    {SSH_L_MAC_CS, "hmac-md5-96"},
    {SSH_L_MAC_CS, "hmac-sha1-96"},
    {SSH_L_MAC_CS, "hmac-md5-etm@openssh.com"},
    {SSH_L_MAC_CS, "hmac-md5-96-etm@openssh.com"},
    {SSH_L_MAC_CS, "hmac-sha1-96-etm@openssh.com"},
};

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum ssh_phase {
    SSH_PH_IDENT = 0, /* reading lines up to the identification string */
    SSH_PH_CLEAR,     /* clear binary packets */
    SSH_PH_SSH1,      /* SSH-1: the side's one clear packet (PUBLIC_KEY / SESSION_KEY) */
    SSH_PH_COUNT,     /* after NEWKEYS or the SSH-1 key exchange, or lost framing: counted */
};

struct ssh_side {
    uint8_t phase;
    bool ident_seen, kexinit_seen, newkeys, lost, kex_cut;
    uint8_t proto_len, soft_len, comm_len;
    uint16_t prelines;
    char proto[16];            /* "2.0" */
    char soft[SSH_IDENT_MAX];  /* "OpenSSH_7.4p1" */
    char comments[SSH_IDENT_MAX];
    uint64_t ident_ns;
    uint32_t clear_packets;
    uint8_t nmsgs;
    uint8_t msgs[SSH_MSGS_KEPT];
    uint64_t enc_bytes, enc_segments;
    char hassh[33];
    /* Raw name-lists: list i is kex[off[i] .. off[i]+len[i]). */
    uint16_t list_off[SSH_L_COUNT], list_len[SSH_L_COUNT];
    uint8_t kex[SSH_KEX_KEEP];
};

struct ssh_state {
    struct ssh_side side[2]; /* [0] client, [1] server (indexed by qw_dir) */
    bool negotiated, emitted, ssh1;
    uint8_t disc_len, hk_len;
    uint32_t disc_reason;
    bool disc_seen, disc_from_server;
    char disc_text[SSH_TEXT_MAX];
    char host_key_type[SSH_TEXT_MAX];
    bool ssh1_cipher_seen;
    uint8_t ssh1_cipher;          /* SSH_CMSG_SESSION_KEY cipher_type */
    /* Negotiated algorithm i: index into the client's raw kex buffer, or len 0 when none. */
    uint16_t neg_off[SSH_NEG_COUNT], neg_len[SSH_NEG_COUNT];
    bool neg_none[SSH_NEG_COUNT]; /* both sides listed the kind but share no algorithm */
    bool mac_implicit;            /* an AEAD cipher: the MAC lists are not used */
};

/* ---- Name-lists ---------------------------------------------------------------------------- */

/* The next comma-separated name of `list` from *pos; false at the end. */
static bool ssh_next_name(const uint8_t *list, size_t len, size_t *pos, size_t *start,
                          size_t *nlen)
{
    if (*pos >= len) return false;
    size_t s = *pos, e = s;
    while (e < len && list[e] != ',') e++;
    *start = s;
    *nlen = e - s;
    *pos = e < len ? e + 1 : e;
    return true;
}

static bool ssh_list_has(const uint8_t *list, size_t len, const uint8_t *name, size_t nlen)
{
    size_t pos = 0, s, n;
    while (ssh_next_name(list, len, &pos, &s, &n))
        if (n == nlen && memcmp(list + s, name, n) == 0) return true;
    return false;
}

static bool ssh_name_is(const uint8_t *name, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(name, lit, n) == 0;
}

static bool ssh_name_has(const uint8_t *name, size_t n, const char *sub)
{
    size_t k = strlen(sub);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(name + i, sub, k) == 0) return true;
    return false;
}

/* ---- Identification ------------------------------------------------------------------------ */

/* Copy at most cap-1 bytes as a C string. */
static uint8_t ssh_copy(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    n = qw_copy_bytes(dst, cap, src, n);
    return (uint8_t)(n > 255 ? 255 : n);
}

/* "SSH-protoversion-softwareversion[ SP comments]" without CR LF ([TRANS] s.4.2). */
static void ssh_on_ident(struct qw_pctx *ctx, struct ssh_state *st, enum qw_dir dir,
                         const uint8_t *line, size_t n)
{
    struct ssh_side *sd = &st->side[dir];
    bool server = dir == QW_DIR_TO_CLIENT;
    sd->ident_seen = true;
    sd->ident_ns = qw_pctx_time(ctx);
    const uint8_t *p = line + 4, *end = line + n; /* after "SSH-" */
    const uint8_t *dash = memchr(p, '-', (size_t)(end - p));
    if (!dash) {
        qw_emit_anomaly(ctx, "ssh.invalid_banner", server ? "server" : "client");
        sd->proto_len = ssh_copy(sd->proto, sizeof sd->proto, p, (size_t)(end - p));
        sd->phase = SSH_PH_COUNT;
        return;
    }
    sd->proto_len = ssh_copy(sd->proto, sizeof sd->proto, p, (size_t)(dash - p));
    const uint8_t *soft = dash + 1;
    const uint8_t *sp = memchr(soft, ' ', (size_t)(end - soft));
    const uint8_t *soft_end = sp ? sp : end;
    sd->soft_len = ssh_copy(sd->soft, sizeof sd->soft, soft, (size_t)(soft_end - soft));
    if (sp) sd->comm_len = ssh_copy(sd->comments, sizeof sd->comments, sp + 1,
                                    (size_t)(end - sp - 1));
    /* The software version with its comments (the distribution's package revision, e.g.
     * "Debian-10+deb9u3") is what identifies the build. */
    size_t idlen = (size_t)(end - soft);
    if (idlen > 0)
        qw_emit_identity(ctx, server, server ? "ssh_banner" : "ssh_client", (const char *)soft,
                         idlen);
    if (sd->proto[0] == '1') {
        char d[48];
        snprintf(d, sizeof d, "%s SSH-%s", server ? "server" : "client", sd->proto);
        qw_emit_anomaly(ctx, "ssh.old_protocol", d);
        /* A client answering 1.x (not 1.99) runs the SSH-1 packet protocol ([TRANS] s.5.1). */
        if (!server && strcmp(sd->proto, "1.99") != 0) st->ssh1 = true;
    }
    if (st->ssh1) {
        /* Both sides now speak SSH-1: each sends one clear packet, then encrypts. */
        for (unsigned d = 0; d < 2; d++)
            if (st->side[d].phase == SSH_PH_CLEAR) st->side[d].phase = SSH_PH_SSH1;
        sd->phase = SSH_PH_SSH1;
    } else {
        sd->phase = SSH_PH_CLEAR;
    }
}

/* Read lines until the identification string. Returns bytes consumed; *wait when the line
 * is not complete yet. */
static size_t ssh_ident(struct qw_pctx *ctx, struct ssh_state *st, enum qw_dir dir,
                        const uint8_t *data, size_t len, bool *wait)
{
    struct ssh_side *sd = &st->side[dir];
    size_t limit = len < SSH_PRELINE_MAX ? len : SSH_PRELINE_MAX;
    const uint8_t *lf = memchr(data, '\n', limit);
    bool is_ident = len >= 4 && memcmp(data, "SSH-", 4) == 0;
    if (!lf) {
        size_t max = is_ident || len < 4 ? SSH_IDENT_MAX : SSH_PRELINE_MAX;
        if (len < max) {
            *wait = true;
            return 0;
        }
        qw_emit_anomaly(ctx, "ssh.invalid_banner", "line too long");
        sd->phase = SSH_PH_COUNT;
        sd->lost = true;
        return 0;
    }
    size_t n = (size_t)(lf - data);
    size_t used = n + 1;
    if (n > 0 && data[n - 1] == '\r') n--;
    if (is_ident) {
        if (used > SSH_IDENT_MAX) qw_emit_anomaly(ctx, "ssh.invalid_banner", "longer than 255");
        ssh_on_ident(ctx, st, dir, data, n);
        return used;
    }
    /* Only a server may send other lines first ([TRANS] s.4.2). */
    if (dir == QW_DIR_TO_SERVER || ++sd->prelines > SSH_PRELINES_MAX) {
        qw_emit_anomaly(ctx, "ssh.invalid_banner", dir == QW_DIR_TO_SERVER ? "client" : "server");
        sd->phase = SSH_PH_COUNT;
        sd->lost = true;
        return 0;
    }
    return used;
}

/* ---- KEXINIT and negotiation --------------------------------------------------------------- */

static void ssh_negotiate(struct qw_pctx *ctx, struct ssh_state *st)
{
    const struct ssh_side *c = &st->side[QW_DIR_TO_SERVER], *s = &st->side[QW_DIR_TO_CLIENT];
    st->negotiated = true;
    for (unsigned k = 0; k < SSH_NEG_COUNT; k++) {
        const uint8_t *cl = c->kex + c->list_off[k], *sl = s->kex + s->list_off[k];
        size_t pos = 0, at, n;
        bool found = false;
        while (!found && ssh_next_name(cl, c->list_len[k], &pos, &at, &n)) {
            if (n == 0 || !ssh_list_has(sl, s->list_len[k], cl + at, n)) continue;
            st->neg_off[k] = (uint16_t)(c->list_off[k] + at);
            st->neg_len[k] = (uint16_t)n;
            found = true;
        }
        st->neg_none[k] = !found && c->list_len[k] > 0 && s->list_len[k] > 0;
    }
    /* AEAD ciphers carry their own integrity; the MAC lists are then ignored. */
    for (unsigned k = SSH_L_ENC_CS; k <= SSH_L_ENC_SC; k++) {
        const uint8_t *nm = c->kex + st->neg_off[k];
        if (st->neg_len[k] && (ssh_name_has(nm, st->neg_len[k], "-gcm@openssh.com") ||
                               ssh_name_has(nm, st->neg_len[k], "chacha20-poly1305")))
            st->mac_implicit = true;
    }
    for (size_t w = 0; w < sizeof ssh_weak_algs / sizeof ssh_weak_algs[0]; w++) {
        const struct ssh_weak *wk = &ssh_weak_algs[w];
        bool pair = wk->list == SSH_L_ENC_CS || wk->list == SSH_L_MAC_CS;
        if (wk->list == SSH_L_MAC_CS && st->mac_implicit) continue;
        for (unsigned k = wk->list; k <= wk->list + (pair ? 1u : 0u); k++) {
            if (!st->neg_len[k] || !ssh_name_is(c->kex + st->neg_off[k], st->neg_len[k],
                                                wk->name))
                continue;
            char d[96];
            snprintf(d, sizeof d, "%.40s %.50s", ssh_neg_keys[k], wk->name);
            qw_emit_anomaly(ctx, "ssh.weak_algorithm", d);
            break; /* once for a pair of directions */
        }
    }
    for (unsigned k = 0; k < SSH_NEG_COUNT; k++)
        if (st->neg_none[k] && !(st->mac_implicit && (k == SSH_L_MAC_CS || k == SSH_L_MAC_SC)))
            qw_emit_anomaly(ctx, "ssh.no_common_algorithm", ssh_neg_keys[k]);
}

/* KEXINIT payload after the message number ([TRANS] s.7.1): byte[16] cookie, ten name-lists,
 * boolean first_kex_packet_follows, uint32 0. */
static void ssh_on_kexinit(struct qw_pctx *ctx, struct ssh_state *st, enum qw_dir dir,
                           struct qw_cursor *c)
{
    struct ssh_side *sd = &st->side[dir];
    qw_cur_skip(c, 16);
    struct md5_ctx md5;
    md5_init(&md5);
    static const uint8_t hassh_lists[2][4] = {
        {SSH_L_KEX, SSH_L_ENC_CS, SSH_L_MAC_CS, SSH_L_COMP_CS},
        {SSH_L_KEX, SSH_L_ENC_SC, SSH_L_MAC_SC, SSH_L_COMP_SC},
    };
    const uint8_t *lists[SSH_L_COUNT] = {0};
    uint32_t lens[SSH_L_COUNT] = {0};
    for (unsigned i = 0; i < SSH_L_COUNT; i++) {
        lens[i] = qw_cur_be32(c);
        lists[i] = qw_cur_take(c, lens[i]);
        if (c->err) {
            qw_emit_anomaly(ctx, "ssh.malformed_kexinit", NULL);
            return;
        }
    }
    for (unsigned h = 0; h < 4; h++) {
        unsigned i = hassh_lists[dir][h];
        if (h) md5_update(&md5, 1, (const uint8_t *)";");
        md5_update(&md5, lens[i], lists[i]);
    }
    uint8_t digest[MD5_DIGEST_SIZE];
    md5_digest(&md5, sizeof digest, digest);
    qw_hex_encode(sd->hassh, digest, sizeof digest);
    /* Keep the raw lists, each cut at a name boundary when the buffer runs out. */
    size_t used = 0;
    for (unsigned i = 0; i < SSH_L_COUNT; i++) {
        size_t n = lens[i];
        if (n > SSH_KEX_KEEP - used) {
            n = SSH_KEX_KEEP - used;
            while (n > 0 && lists[i][n] != ',') n--;
            sd->kex_cut = true;
        }
        memcpy(sd->kex + used, lists[i], n);
        sd->list_off[i] = (uint16_t)used;
        sd->list_len[i] = (uint16_t)n;
        used += n;
    }
    bool again = sd->kexinit_seen;
    sd->kexinit_seen = true;
    /* Negotiate once, on the first pair (later KEXINITs are encrypted re-keys anyway). */
    if (!again && !st->negotiated && st->side[0].kexinit_seen && st->side[1].kexinit_seen)
        ssh_negotiate(ctx, st);
}

static bool ssh_kex_is_gex(const struct ssh_state *st)
{
    const struct ssh_side *c = &st->side[QW_DIR_TO_SERVER];
    return st->neg_len[SSH_L_KEX] &&
           ssh_name_has(c->kex + st->neg_off[SSH_L_KEX], st->neg_len[SSH_L_KEX], "group-exchange");
}

static bool ssh_kex_is_ecdh(const struct ssh_state *st)
{
    const struct ssh_side *c = &st->side[QW_DIR_TO_SERVER];
    const uint8_t *n = c->kex + st->neg_off[SSH_L_KEX];
    size_t l = st->neg_len[SSH_L_KEX];
    return l && (ssh_name_has(n, l, "ecdh-") || ssh_name_has(n, l, "curve25519") ||
                 ssh_name_has(n, l, "curve448") || ssh_name_has(n, l, "sntrup") ||
                 ssh_name_has(n, l, "mlkem"));
}

static const char *ssh_msg_name(const struct ssh_state *st, uint8_t code)
{
    if (code >= 30 && code <= 34) {
        if (ssh_kex_is_gex(st)) return ssh_msg_gex[code - 30];
        if (code <= 31)
            return ssh_kex_is_ecdh(st) ? ssh_msg_ecdh[code - 30] : ssh_msg_dh[code - 30];
    }
    return ssh_msg_names[code];
}

/* The server host key's type from KEXDH_REPLY / KEX_ECDH_REPLY / KEX_DH_GEX_REPLY: the first
 * field is string K_S, whose first field is the key type ([TRANS] s.6.6, s.8). */
static void ssh_on_kex_reply(struct ssh_state *st, struct qw_cursor *c)
{
    uint32_t kslen = qw_cur_be32(c);
    struct qw_cursor ks = qw_cur_sub(c, kslen, NULL);
    uint32_t tlen = qw_cur_be32(&ks);
    const uint8_t *t = qw_cur_take(&ks, tlen);
    if (ks.err || !t || tlen == 0) return;
    st->hk_len = ssh_copy(st->host_key_type, sizeof st->host_key_type, t, tlen);
}

static void ssh_on_packet(struct qw_pctx *ctx, struct ssh_state *st, enum qw_dir dir,
                          const uint8_t *payload, size_t n)
{
    struct ssh_side *sd = &st->side[dir];
    struct qw_cursor c = qw_cursor_make(payload, n);
    uint8_t code = qw_cur_u8(&c);
    if (c.err) return;
    sd->clear_packets++;
    if (sd->nmsgs < SSH_MSGS_KEPT) sd->msgs[sd->nmsgs++] = code;
    switch (code) {
    case SSH_MSG_KEXINIT: ssh_on_kexinit(ctx, st, dir, &c); break;
    case SSH_MSG_NEWKEYS:
        sd->newkeys = true;
        sd->phase = SSH_PH_COUNT;
        break;
    case SSH_MSG_DISCONNECT: {
        st->disc_seen = true;
        st->disc_from_server = dir == QW_DIR_TO_CLIENT;
        st->disc_reason = qw_cur_be32(&c);
        uint32_t dl = qw_cur_be32(&c);
        const uint8_t *d = qw_cur_take(&c, dl);
        if (d) st->disc_len = ssh_copy(st->disc_text, sizeof st->disc_text, d, dl);
        break;
    }
    case SSH_MSG_KEXDH_REPLY:
    case SSH_MSG_KEX_DH_GEX_REPLY:
        if (dir == QW_DIR_TO_CLIENT && st->negotiated &&
            (code == SSH_MSG_KEX_DH_GEX_REPLY) == ssh_kex_is_gex(st))
            ssh_on_kex_reply(st, &c);
        break;
    default: break;
    }
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* The one clear SSH-1 packet of a side. False while it is incomplete. */
static bool ssh1_packet(struct qw_pctx *ctx, struct ssh_state *st, enum qw_dir dir,
                        const uint8_t *d, size_t n, size_t *used)
{
    struct ssh_side *sd = &st->side[dir];
    struct qw_cursor c = qw_cursor_make(d, n);
    uint32_t plen = qw_cur_be32(&c);
    if (c.err) return false;
    if (plen < 5 || plen > SSH1_PACKET_MAX) {
        qw_emit_anomaly(ctx, "ssh.invalid_packet", "SSH-1 length");
        sd->phase = SSH_PH_COUNT;
        sd->lost = true;
        *used = 0;
        return true;
    }
    size_t pad = 8 - plen % 8;
    if (n - 4 < pad + plen) return false;
    qw_cur_skip(&c, pad);
    uint8_t type = qw_cur_u8(&c);
    sd->clear_packets++;
    if (sd->nmsgs < SSH_MSGS_KEPT) sd->msgs[sd->nmsgs++] = type;
    if (type == SSH1_CMSG_SESSION_KEY && dir == QW_DIR_TO_SERVER) {
        st->ssh1_cipher = qw_cur_u8(&c);
        st->ssh1_cipher_seen = !c.err;
    }
    sd->phase = SSH_PH_COUNT;
    *used = 4 + pad + plen;
    return true;
}

static size_t ssh_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct ssh_state *st = state;
    struct ssh_side *sd = &st->side[dir];
    size_t off = 0;
    while (off < len) {
        if (sd->phase == SSH_PH_COUNT) {
            /* Encrypted (or unframed) bytes: counted, per delivery and in all. */
            sd->enc_bytes += len - off;
            sd->enc_segments++;
            return len;
        }
        if (sd->phase == SSH_PH_IDENT) {
            bool wait = false;
            size_t used = ssh_ident(ctx, st, dir, data + off, len - off, &wait);
            if (wait) return off;
            off += used;
            continue;
        }
        if (sd->phase == SSH_PH_SSH1) {
            size_t used = 0;
            if (!ssh1_packet(ctx, st, dir, data + off, len - off, &used)) return off;
            off += used;
            continue;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        uint32_t plen = qw_cur_be32(&c);
        uint8_t padlen = qw_cur_u8(&c);
        if (c.err) return off;
        if (plen < SSH_PACKET_MIN || plen > SSH_PACKET_MAX || padlen < SSH_PAD_MIN ||
            padlen >= plen) {
            char d[64];
            snprintf(d, sizeof d, "packet_length %u padding_length %u", plen, padlen);
            qw_emit_anomaly(ctx, "ssh.invalid_packet", d);
            sd->phase = SSH_PH_COUNT;
            sd->lost = true;
            continue;
        }
        if ((plen + 4u) % SSH_BLOCK_CLEAR != 0)
            qw_emit_anomaly(ctx, "ssh.invalid_padding", "length not a multiple of 8");
        if (len - off < 4u + plen) return off; /* the engine keeps the partial packet */
        ssh_on_packet(ctx, st, dir, data + off + 5, plen - 1u - padlen);
        off += 4u + plen;
    }
    return off;
}

static void ssh_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct ssh_state *st = state;
    struct ssh_side *sd = &st->side[dir];
    /* Encrypted bytes carry no framing to lose; clear framing cannot be found again. */
    if (sd->phase != SSH_PH_COUNT) sd->lost = true;
    sd->phase = SSH_PH_COUNT;
}

static enum qw_probe_result ssh_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    static const char magic[] = "SSH-";
    size_t n = len < 4 ? len : 4;
    if (memcmp(data, magic, n) != 0) return QW_PROBE_NO;
    if (len < 6) return QW_PROBE_NEED_MORE;
    /* protoversion: digits '.' digits ([TRANS] s.4.2: "2.0", or "1.99", "1.5") */
    if (data[4] < '1' || data[4] > '2' || data[5] != '.') return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

/* ---- Record -------------------------------------------------------------------------------- */

static void ssh_json_names(struct qw_json *j, const char *key, const struct ssh_side *sd,
                           unsigned list)
{
    const uint8_t *l = sd->kex + sd->list_off[list];
    size_t pos = 0, s, n;
    unsigned shown = 0;
    qw_json_arr_begin(j, key);
    while (shown < SSH_NAMES_SHOWN && ssh_next_name(l, sd->list_len[list], &pos, &s, &n)) {
        qw_json_strn(j, NULL, l + s, n);
        shown++;
    }
    qw_json_arr_end(j);
    size_t total = 0;
    pos = 0;
    while (ssh_next_name(l, sd->list_len[list], &pos, &s, &n)) total++;
    if (total > shown) {
        char k[48];
        snprintf(k, sizeof k, "%s_count", key);
        qw_json_u64(j, k, total);
    }
}

static void ssh_json_side(struct qw_json *j, const char *key, const struct ssh_state *st,
                          enum qw_dir dir)
{
    const struct ssh_side *sd = &st->side[dir];
    bool server = dir == QW_DIR_TO_CLIENT;
    qw_json_obj_begin(j, key);
    if (sd->ident_seen) {
        qw_json_str(j, "protocol_version", sd->proto);
        qw_json_str(j, "software_version", sd->soft);
        if (sd->comm_len) qw_json_str(j, "comments", sd->comments);
    }
    if (sd->prelines) qw_json_u64(j, "lines_before_banner", sd->prelines);
    if (sd->kexinit_seen) {
        qw_json_str(j, server ? "hassh_server" : "hassh", sd->hassh);
        ssh_json_names(j, "kex_algorithms", sd, SSH_L_KEX);
        ssh_json_names(j, "host_key_algorithms", sd, SSH_L_HOSTKEY);
        ssh_json_names(j, "encryption_algorithms", sd, server ? SSH_L_ENC_SC : SSH_L_ENC_CS);
        ssh_json_names(j, "mac_algorithms", sd, server ? SSH_L_MAC_SC : SSH_L_MAC_CS);
        ssh_json_names(j, "compression_algorithms", sd, server ? SSH_L_COMP_SC : SSH_L_COMP_CS);
        if (sd->kex_cut) qw_json_bool(j, "algorithms_truncated", true);
    }
    if (sd->nmsgs) {
        qw_json_arr_begin(j, "messages");
        for (unsigned i = 0; i < sd->nmsgs; i++) {
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "code", sd->msgs[i]);
            const char *nm = st->ssh1 ? (sd->msgs[i] == 2   ? "smsg_public_key"
                                         : sd->msgs[i] == 3 ? "cmsg_session_key"
                                                            : NULL)
                                      : ssh_msg_name(st, sd->msgs[i]);
            qw_json_str(j, "name", nm ? nm : "unknown");
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    qw_json_u64(j, "clear_packets", sd->clear_packets);
    qw_json_bool(j, "newkeys", sd->newkeys);
    if (sd->lost) qw_json_bool(j, "framing_lost", true);
    qw_json_u64(j, "encrypted_bytes", sd->enc_bytes);
    qw_json_u64(j, "encrypted_segments", sd->enc_segments);
    qw_json_obj_end(j);
}

static void ssh_write_json(struct qw_json *j, const void *arg)
{
    const struct ssh_state *st = arg;
    const struct ssh_side *c = &st->side[QW_DIR_TO_SERVER];
    if (c->ident_seen || c->clear_packets || c->enc_bytes) ssh_json_side(j, "request", st, 0);
    const struct ssh_side *s = &st->side[QW_DIR_TO_CLIENT];
    if (s->ident_seen || s->clear_packets || s->enc_bytes) ssh_json_side(j, "response", st, 1);
    if (st->ssh1) qw_json_bool(j, "ssh1", true);
    if (st->ssh1_cipher_seen) {
        static const char *const ciphers[] = {"none", "idea", "des", "3des", "tss", "arcfour",
                                              "blowfish"};
        qw_json_str(j, "ssh1_cipher", st->ssh1_cipher < 7 ? ciphers[st->ssh1_cipher] : "unknown");
    }
    if (st->negotiated) {
        for (unsigned k = 0; k < SSH_NEG_COUNT; k++) {
            bool mac = k == SSH_L_MAC_CS || k == SSH_L_MAC_SC;
            if (mac && st->mac_implicit) qw_json_str(j, ssh_neg_keys[k], "<implicit>");
            else if (st->neg_len[k])
                qw_json_strn(j, ssh_neg_keys[k], c->kex + st->neg_off[k], st->neg_len[k]);
        }
    }
    if (st->hk_len) qw_json_str(j, "host_key_type", st->host_key_type);
    if (st->disc_seen) {
        qw_json_obj_begin(j, "disconnect");
        qw_json_str(j, "from", st->disc_from_server ? "server" : "client");
        qw_json_u64(j, "reason", st->disc_reason);
        qw_json_str(j, "description", st->disc_text);
        qw_json_obj_end(j);
    }
}

static void ssh_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ssh_state *st = state;
    const struct ssh_side *c = &st->side[QW_DIR_TO_SERVER], *s = &st->side[QW_DIR_TO_CLIENT];
    if (st->emitted) return;
    if (!c->ident_seen && !s->ident_seen && !c->enc_bytes && !s->enc_bytes) return;
    st->emitted = true;
    struct qw_txn t = {0};
    t.has_request = c->ident_seen;
    t.has_response = s->ident_seen;
    if (!t.has_request && !t.has_response) t.has_request = true; /* counted bytes only */
    t.function = 0;
    t.function_name = "session";
    t.ops = QW_OP_SESSION;
    t.error = st->disc_seen && !(c->newkeys && s->newkeys);
    t.request_ns = t.has_request ? (c->ident_ns ? c->ident_ns : qw_pctx_time(ctx)) : 0;
    t.response_ns = t.has_response ? s->ident_ns : 0;
    t.write_json = ssh_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
}

const struct qw_proto qw_proto_ssh = {
    .name = "ssh",
    .transports = QW_TRANSPORT_TCP,
    .ports = {SSH_PORT, 0},
    .probe = ssh_probe,
    .state_size = sizeof(struct ssh_state),
    .parse = ssh_parse,
    .gap = ssh_gap,
    .flow_end = ssh_flow_end,
};
