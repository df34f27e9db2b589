/* NTLMSSP messages (MS-NLMP) found inside SPNEGO / GSS-API security blobs.
 *
 * Used by the SMB parser (SESSION_SETUP security buffers); written so that HTTP, LDAP or RPC
 * parsers carrying NTLM can reuse it. Decoding copies the few identity strings into the caller's
 * struct (UTF-16LE converted to UTF-8, bounded); challenge and response bytes are never copied,
 * only their lengths are kept. Nothing is allocated. */
#ifndef QW_PROTO_NTLMSSP_H
#define QW_PROTO_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/json.h"

struct qw_pctx;

#define QW_NTLM_NAME_MAX 64 /* bytes of UTF-8 kept per name (Windows names are <= 15/63 chars) */

enum qw_ntlm_type {
    QW_NTLM_NEGOTIATE = 1,
    QW_NTLM_CHALLENGE = 2,
    QW_NTLM_AUTHENTICATE = 3,
};

/* Which mechanism a security blob carries. */
enum qw_auth_mech {
    QW_MECH_NONE = 0,   /* empty blob */
    QW_MECH_NTLMSSP,
    QW_MECH_KERBEROS,   /* a Kerberos AP-REQ/AP-REP inside SPNEGO (or bare) */
    QW_MECH_SPNEGO,     /* SPNEGO without an inner token we recognise (mechList only...) */
    QW_MECH_UNKNOWN,
};

struct qw_ntlm_str {
    uint8_t len; /* bytes of UTF-8 in s */
    char s[QW_NTLM_NAME_MAX];
};

struct qw_ntlm {
    uint8_t type;          /* qw_ntlm_type, 0 when none */
    bool malformed;        /* a field pointed outside the message */
    uint32_t flags;        /* NegotiateFlags */
    bool has_version;
    uint8_t ver_major, ver_minor, ver_revision;
    uint16_t ver_build;
    /* CHALLENGE: TargetName and the target info AV pairs (MS-NLMP s.2.2.2.1). */
    struct qw_ntlm_str target_name, nb_computer, nb_domain, dns_computer, dns_domain, dns_tree;
    bool has_timestamp;
    /* AUTHENTICATE: names, and the response lengths (never the responses). */
    struct qw_ntlm_str user, domain, workstation;
    uint16_t lm_len, nt_len;
};

/* Decode an NTLMSSP message that starts at `p` ("NTLMSSP\0"). False when it is not one. */
bool qw_ntlm_decode(const uint8_t *p, size_t n, struct qw_ntlm *out);

/* Find the mechanism token in a security blob: a bare NTLMSSP message, or one inside SPNEGO
 * (RFC 4178 NegTokenInit mechToken / NegTokenResp responseToken). On QW_MECH_NTLMSSP, *tok and
 * *tok_len point at the NTLMSSP message. */
enum qw_auth_mech qw_auth_find(const uint8_t *blob, size_t n, const uint8_t **tok, size_t *tok_len);

const char *qw_auth_mech_name(enum qw_auth_mech m);
const char *qw_ntlm_type_name(uint8_t type);

/* "Windows 10.0 build 19041" from the VERSION field; false when absent. */
bool qw_ntlm_os_version(const struct qw_ntlm *m, char *out, size_t cap);

/* Members describing the message, written into the current JSON object. */
void qw_ntlm_json(struct qw_json *j, const struct qw_ntlm *m);

/* Identity facts: a CHALLENGE describes its sender (netbios_name, netbios_domain, hostname,
 * domain, os_version), an AUTHENTICATE its sender's user (`user_attr`, "DOMAIN\user"),
 * workstation (netbios_name) and os_version. `sender_is_server` tells which end sent it. A
 * client's AUTHENTICATE also names the session's user (qw_emit_session_user, "ntlm"). */
void qw_ntlm_emit_identity(struct qw_pctx *ctx, const struct qw_ntlm *m, bool sender_is_server,
                           const char *user_attr);

/* UTF-16LE to UTF-8 (surrogate pairs joined; lone surrogates become U+FFFD), stopping at NUL
 * or at `cap` - 1 bytes. Returns the bytes written; out is NUL-terminated. */
size_t qw_utf16le_to_utf8(const uint8_t *s, size_t n, char *out, size_t cap);

#endif
