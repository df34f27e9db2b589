/* SMB2/3 (and SMB1) over NetBIOS session service or direct TCP, with NTLMSSP identities.
 *
 * Specifications:
 *   [NBSS]  RFC 1002 s.4.3 session service: a 4-byte header (type, flags, length); types 0x00
 *           session message, 0x81 session request (called and calling names, RFC 1001 s.14.1
 *           first-level encoding), 0x82 positive and 0x83 negative response, 0x84 retarget,
 *           0x85 keepalive. On TCP 445 the header is a zero byte and a 24-bit length
 *           ([SMB2] s.2.1).
 *   [SMB2]  MS-SMB2 (v20240423): s.2.2.1 SMB2 packet header (sync and async forms; Flags
 *           SERVER_TO_REDIR 0x1, ASYNC_COMMAND 0x2; NextCommand for compounded requests,
 *           s.3.2.4.1.4), s.2.2.3/2.2.4 NEGOTIATE (dialects 0x0202 .. 0x0311, SecurityMode
 *           signing enabled 0x1 / required 0x2, ServerGuid), s.2.2.5/2.2.6 SESSION_SETUP
 *           (security buffer, SessionFlags), s.2.2.9/2.2.10 TREE_CONNECT (path, ShareType),
 *           s.2.2.13/2.2.14 CREATE (DesiredAccess, CreateDisposition, CreateOptions, name;
 *           CreateAction, FileId), s.2.2.15 CLOSE, s.2.2.19-2.2.22 READ/WRITE (Length, Offset,
 *           FileId; DataLength, Count), s.2.2.31 IOCTL (CtlCode), s.2.2.33 QUERY_DIRECTORY,
 *           s.2.2.37/2.2.39 QUERY_INFO/SET_INFO (InfoType, FileInfoClass), s.2.2.41 transform
 *           header (0xFD 'S' 'M' 'B': encrypted), s.2.2.42 compression transform (0xFC).
 *   [CIFS]  MS-CIFS s.2.2.3.1 SMB1 header (0xFF 'S' 'M' 'B', Command, Status, Flags reply bit
 *           0x80, Flags2 unicode 0x8000 and extended security 0x0800, TID, PID, UID, MID),
 *           s.2.2.4.52 NEGOTIATE (dialect strings; the NT LM 0.12 response with
 *           SecurityMode, Capabilities, ServerGUID or challenge and names), s.2.2.4.53
 *           SESSION_SETUP_ANDX (security blob, NativeOS, NativeLanMan; or account name and
 *           domain), s.2.2.4.55 TREE_CONNECT_ANDX (path), s.2.2.4.64 NT_CREATE_ANDX (name).
 *           MS-SMB s.2.2.4.5/2.2.4.6 for the extended-security forms.
 *   [ERREF] MS-ERREF s.2.3.1 NTSTATUS values.
 *   NTLMSSP and SPNEGO: src/proto/ntlmssp.c.
 *
 * Requests pair with responses by MessageId (SMB2) or PID+MID (SMB1) through a bounded queue.
 * An SMB2 interim response (STATUS_PENDING with ASYNC_COMMAND) keeps the request waiting for
 * the final one. Decoded requests are kept compactly in the queue (numbers and up to 128 bytes
 * of names), so nothing is allocated. The server's NTLM CHALLENGE gives its NetBIOS and DNS
 * names and Windows version; the client's AUTHENTICATE its user, domain and workstation (never
 * the challenge responses). File names from CREATE are remembered by FileId so later READ,
 * WRITE and CLOSE records name their file.
 *
 * Messages up to SMB_INLINE_MAX are parsed whole. Longer ones (READ responses, WRITE requests)
 * are decoded from their first SMB_PREFIX bytes, which hold every header field, and the data
 * streams past uncopied. Encrypted SMB3 messages are counted only. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/ntlmssp.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define SMB_PORT 445           /* IANA "microsoft-ds" */
#define NBSS_PORT 139          /* IANA "netbios-ssn" */
#define NBSS_HDR 4
#define SMB2_HDR 64            /* [SMB2] s.2.2.1 */
#define SMB1_HDR 32            /* [CIFS] s.2.2.3.1 */
#define SMB_TRANSFORM_HDR 52   /* [SMB2] s.2.2.41 */
/* Parsed whole up to this size: every message but bulk READ/WRITE data. */
#define SMB_INLINE_MAX (32u * 1024u)
#define SMB_PREFIX 2048u       /* decoded from a longer message: headers and fixed parts */
/* Outstanding requests. A client may have as many in flight as it holds credits; Windows
 * grants tens but keeps a handful outstanding on a control link. Past this the oldest is
 * reported unanswered (smb.request_queue_full, once per flow). Each slot is ~190 bytes. */
#define SMB_QUEUE_MAX 16
#define SMB_FILES_MAX 16       /* open FileIds remembered with their names */
#define SMB_TEXT_MAX 128       /* names kept per request (path, file name, user...) */
#define SMB_FILE_NAME_MAX 64
#define SMB_DIALECTS_MAX 12
#define SMB_STR_MAX 64         /* NativeOS / NativeLanMan kept */

#define SMB2_FLAG_RESPONSE 0x00000001u
#define SMB2_FLAG_ASYNC 0x00000002u
#define SMB1_FLAG_REPLY 0x80u
#define SMB1_FLAGS2_UNICODE 0x8000u
#define SMB1_CAP_EXTENDED_SECURITY 0x80000000u
#define SMB1_SECMODE_ENCRYPT_PASSWORDS 0x02u

#define STATUS_SUCCESS 0x00000000u
#define STATUS_PENDING 0x00000103u
#define STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

/* ---- Protocol fact tables ------------------------------------------------------------------ */

struct smb_cmd {
    const char *name;
    uint32_t ops;
};

/* SMB2 commands ([SMB2] s.2.2.1.2). CREATE gains `write` when it creates, overwrites or asks
 * for write or delete access (smb_create_ops). */
static const struct smb_cmd smb2_cmds[] = {
    [0x00] = {"negotiate", QW_OP_SESSION},
    [0x01] = {"session_setup", QW_OP_AUTH | QW_OP_SESSION},
    [0x02] = {"logoff", QW_OP_SESSION},
    [0x03] = {"tree_connect", QW_OP_SESSION},
    [0x04] = {"tree_disconnect", QW_OP_SESSION},
    [0x05] = {"create", QW_OP_FILE},
    [0x06] = {"close", QW_OP_FILE},
    [0x07] = {"flush", QW_OP_FILE | QW_OP_WRITE},
    [0x08] = {"read", QW_OP_FILE | QW_OP_READ},
    [0x09] = {"write", QW_OP_FILE | QW_OP_WRITE},
    [0x0A] = {"lock", QW_OP_FILE},
    [0x0B] = {"ioctl", 0},
    [0x0C] = {"cancel", 0},
    [0x0D] = {"echo", 0},
    [0x0E] = {"query_directory", QW_OP_FILE},
    [0x0F] = {"change_notify", QW_OP_FILE},
    [0x10] = {"query_info", QW_OP_FILE | QW_OP_READ},
    [0x11] = {"set_info", QW_OP_FILE | QW_OP_WRITE},
    [0x12] = {"oplock_break", QW_OP_FILE},
    [0x13] = {"server_to_client_notification", 0},
};
#define SMB2_NCMDS (sizeof smb2_cmds / sizeof smb2_cmds[0])

/* SMB1 commands ([CIFS] s.2.2.2.1), reported as function 0x100 + code. */
static const struct smb_cmd smb1_cmds[256] = {
    [0x00] = {"smb1_create_directory", QW_OP_FILE | QW_OP_WRITE},
    [0x01] = {"smb1_delete_directory", QW_OP_FILE | QW_OP_WRITE},
    [0x02] = {"smb1_open", QW_OP_FILE},
    [0x03] = {"smb1_create", QW_OP_FILE | QW_OP_WRITE},
    [0x04] = {"smb1_close", QW_OP_FILE},
    [0x05] = {"smb1_flush", QW_OP_FILE | QW_OP_WRITE},
    [0x06] = {"smb1_delete", QW_OP_FILE | QW_OP_WRITE},
    [0x07] = {"smb1_rename", QW_OP_FILE | QW_OP_WRITE},
    [0x08] = {"smb1_query_information", QW_OP_FILE | QW_OP_READ},
    [0x09] = {"smb1_set_information", QW_OP_FILE | QW_OP_WRITE},
    [0x0A] = {"smb1_read", QW_OP_FILE | QW_OP_READ},
    [0x0B] = {"smb1_write", QW_OP_FILE | QW_OP_WRITE},
    [0x10] = {"smb1_check_directory", QW_OP_FILE},
    [0x24] = {"smb1_locking_andx", QW_OP_FILE},
    [0x25] = {"smb1_transaction", 0},
    [0x26] = {"smb1_transaction_secondary", 0},
    [0x2B] = {"smb1_echo", 0},
    [0x2D] = {"smb1_open_andx", QW_OP_FILE},
    [0x2E] = {"smb1_read_andx", QW_OP_FILE | QW_OP_READ},
    [0x2F] = {"smb1_write_andx", QW_OP_FILE | QW_OP_WRITE},
    [0x32] = {"smb1_transaction2", 0},
    [0x33] = {"smb1_transaction2_secondary", 0},
    [0x34] = {"smb1_find_close2", QW_OP_FILE},
    [0x70] = {"smb1_tree_connect", QW_OP_SESSION},
    [0x71] = {"smb1_tree_disconnect", QW_OP_SESSION},
    [0x72] = {"smb1_negotiate", QW_OP_SESSION},
    [0x73] = {"smb1_session_setup_andx", QW_OP_AUTH | QW_OP_SESSION},
    [0x74] = {"smb1_logoff_andx", QW_OP_SESSION},
    [0x75] = {"smb1_tree_connect_andx", QW_OP_SESSION},
    [0x80] = {"smb1_query_information_disk", QW_OP_FILE},
    [0x81] = {"smb1_search", QW_OP_FILE},
    [0xA0] = {"smb1_nt_transact", 0},
    [0xA1] = {"smb1_nt_transact_secondary", 0},
    [0xA2] = {"smb1_nt_create_andx", QW_OP_FILE},
    [0xA4] = {"smb1_nt_cancel", 0},
    [0xA5] = {"smb1_nt_rename", QW_OP_FILE | QW_OP_WRITE},
};

/* Common NTSTATUS values ([ERREF] s.2.3.1). */
struct smb_status {
    uint32_t code;
    const char *name;
};
static const struct smb_status smb_statuses[] = {
    {0x00000000, "STATUS_SUCCESS"},
    {0x00000103, "STATUS_PENDING"},
    {0x0000010B, "STATUS_NOTIFY_CLEANUP"},
    {0x0000010C, "STATUS_NOTIFY_ENUM_DIR"},
    {0x80000005, "STATUS_BUFFER_OVERFLOW"},
    {0x80000006, "STATUS_NO_MORE_FILES"},
    {0xC0000001, "STATUS_UNSUCCESSFUL"},
    {0xC0000002, "STATUS_NOT_IMPLEMENTED"},
    {0xC0000008, "STATUS_INVALID_HANDLE"},
    {0xC000000D, "STATUS_INVALID_PARAMETER"},
    {0xC000000F, "STATUS_NO_SUCH_FILE"},
    {0xC0000010, "STATUS_INVALID_DEVICE_REQUEST"},
    {0xC0000011, "STATUS_END_OF_FILE"},
    {0xC0000016, "STATUS_MORE_PROCESSING_REQUIRED"},
    {0xC0000022, "STATUS_ACCESS_DENIED"},
    {0xC0000023, "STATUS_BUFFER_TOO_SMALL"},
    {0xC0000033, "STATUS_OBJECT_NAME_INVALID"},
    {0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND"},
    {0xC0000035, "STATUS_OBJECT_NAME_COLLISION"},
    {0xC000003A, "STATUS_OBJECT_PATH_NOT_FOUND"},
    {0xC0000043, "STATUS_SHARING_VIOLATION"},
    {0xC0000056, "STATUS_DELETE_PENDING"},
    {0xC0000064, "STATUS_NO_SUCH_USER"},
    {0xC000006A, "STATUS_WRONG_PASSWORD"},
    {0xC000006D, "STATUS_LOGON_FAILURE"},
    {0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},
    {0xC000006F, "STATUS_INVALID_LOGON_HOURS"},
    {0xC0000070, "STATUS_INVALID_WORKSTATION"},
    {0xC0000071, "STATUS_PASSWORD_EXPIRED"},
    {0xC0000072, "STATUS_ACCOUNT_DISABLED"},
    {0xC000007F, "STATUS_DISK_FULL"},
    {0xC000009A, "STATUS_INSUFFICIENT_RESOURCES"},
    {0xC00000BA, "STATUS_FILE_IS_A_DIRECTORY"},
    {0xC00000BB, "STATUS_NOT_SUPPORTED"},
    {0xC00000C9, "STATUS_NETWORK_NAME_DELETED"},
    {0xC00000CC, "STATUS_BAD_NETWORK_NAME"},
    {0xC0000101, "STATUS_DIRECTORY_NOT_EMPTY"},
    {0xC0000103, "STATUS_NOT_A_DIRECTORY"},
    {0xC0000120, "STATUS_CANCELLED"},
    {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
    {0xC0000184, "STATUS_INVALID_DEVICE_STATE"},
    {0xC0000203, "STATUS_USER_SESSION_DELETED"},
    {0xC000020C, "STATUS_CONNECTION_DISCONNECTED"},
    {0xC0000225, "STATUS_NOT_FOUND"},
    {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
    {0xC0000257, "STATUS_PATH_NOT_COVERED"},
    {0xC000035C, "STATUS_NETWORK_SESSION_EXPIRED"},
};

/* SESSION_SETUP answers that refuse the credentials offered ([ERREF] s.2.3.1): each is one
 * failed login. MORE_PROCESSING_REQUIRED (the NTLM challenge leg) and the account's other
 * restrictions (disabled, expired, logon hours), which a correct password also gets, are not. */
static const uint32_t smb_logon_refusals[] = {
    0xC000006D, /* STATUS_LOGON_FAILURE */
    0xC000006A, /* STATUS_WRONG_PASSWORD */
    0xC0000064, /* STATUS_NO_SUCH_USER */
    0xC0000234, /* STATUS_ACCOUNT_LOCKED_OUT */
};

static const char *smb_status_name(uint32_t s)
{
    for (size_t i = 0; i < sizeof smb_statuses / sizeof smb_statuses[0]; i++)
        if (smb_statuses[i].code == s) return smb_statuses[i].name;
    return "unknown";
}

/* An error: severity "error" (top bits 11), except the normal "more processing" of a
 * multi-leg authentication ([SMB2] s.3.3.5.5.3). */
static bool smb_status_error(uint32_t s)
{
    return (s >> 30) == 3u && s != STATUS_MORE_PROCESSING_REQUIRED;
}

static const char *const smb_share_types[] = {[1] = "disk", [2] = "pipe", [3] = "print"};
static const char *const smb_dispositions[] = {"supersede", "open", "create", "open_if",
                                               "overwrite", "overwrite_if"};
static const char *const smb_create_actions[] = {"superseded", "opened", "created", "overwritten"};

/* DesiredAccess bits that modify ([SMB2] s.2.2.13.1.1): FILE_WRITE_DATA, FILE_APPEND_DATA,
 * FILE_WRITE_EA, FILE_WRITE_ATTRIBUTES, DELETE, WRITE_DAC, WRITE_OWNER, GENERIC_ALL,
 * GENERIC_WRITE. */
#define SMB_ACCESS_MODIFY 0x500D0116u
#define SMB_CREATE_DELETE_ON_CLOSE 0x00001000u

/* ---- State --------------------------------------------------------------------------------- */

enum smb_field {
    SF_DIALECTS = 1u << 0, SF_NAME = 1u << 1, SF_CREATE = 1u << 2, SF_LENGTH = 1u << 3,
    SF_OFFSET = 1u << 4, SF_AUTH = 1u << 5, SF_CTL = 1u << 6, SF_INFO = 1u << 7,
    SF_ACCOUNT = 1u << 8, SF_NBSS = 1u << 9, SF_FILE = 1u << 10,
};

/* A request as kept until its response. */
struct smb_req {
    bool used;
    uint8_t version;       /* 1, 2; 0 for a NetBIOS session request */
    uint8_t mech, ntlm_type, ver_major, ver_minor;
    bool prefix_only;
    uint16_t cmd;
    uint16_t ver_build, nt_len;
    uint32_t seq, fields, ops;
    uint64_t key, session_id;
    uint32_t tree_id;
    uint64_t ts;
    uint32_t a, b, c;      /* create: access, disposition, options; read/write: length;
                              ioctl: ctl code; info: type, class */
    uint64_t offset;
    uint8_t ndialects;
    uint16_t dialects[SMB_DIALECTS_MAX];
    uint8_t t1, t2, t3;    /* string lengths in text: name/path/user, domain, workstation */
    char text[SMB_TEXT_MAX];
};

/* A decoded response (scratch: emitted at once). */
struct smb_rsp {
    uint8_t version;
    uint16_t cmd;
    uint32_t status, fields;
    uint64_t key, session_id;
    uint32_t tree_id;
    uint64_t ts;
    bool prefix_only;
    /* negotiate */
    bool neg;
    uint16_t dialect, security_mode;
    uint32_t capabilities;
    bool has_guid;
    uint8_t guid[16];
    /* session setup */
    bool sess;
    uint16_t session_flags;
    uint8_t mech;
    bool has_ntlm;
    struct qw_ntlm ntlm;
    uint8_t os_len, lanman_len, domain_len;
    char native_os[SMB_STR_MAX], native_lanman[SMB_STR_MAX], primary_domain[SMB_STR_MAX];
    /* tree connect, create, read, write */
    uint8_t share_type;
    bool created;
    uint32_t create_action;
    uint64_t end_of_file;
    uint8_t file_id[16];
    uint32_t count;
    /* NetBIOS session response */
    uint8_t nbss_type, nbss_error;
};

struct smb_file {
    bool used;
    uint8_t id[16];
    uint32_t seq;
    uint8_t name_len;
    char name[SMB_FILE_NAME_MAX];
};

struct smb_dir {
    uint32_t skip_left;    /* bytes of a long message still streaming past */
    bool lost;
    uint64_t enc_msgs, enc_bytes, comp_msgs;
};

struct smb_state {
    struct smb_dir dir[2];
    uint32_t next_seq;
    bool smb1_reported, queue_full_reported, ntlmv1_reported, emitted_enc;
    bool smb1_secmode_seen;
    uint8_t smb1_secmode;
    uint64_t first_enc_ns;
    struct smb_req queue[SMB_QUEUE_MAX];
    struct smb_file files[SMB_FILES_MAX];
    struct smb_req scratch_req; /* a request decoded, before it is queued */
    struct smb_rsp rsp;
    /* write_json arguments */
    const struct smb_req *v_req;
    const struct smb_rsp *v_rsp;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static const char *smb_cmd_name(uint8_t version, uint16_t cmd)
{
    if (version == 0) return cmd == 0x81 ? "netbios_session_request" : "netbios_session";
    if (version == 1)
        return smb1_cmds[cmd & 0xFF].name ? smb1_cmds[cmd & 0xFF].name : "smb1_unknown";
    return cmd < SMB2_NCMDS && smb2_cmds[cmd].name ? smb2_cmds[cmd].name : "unknown";
}

static uint32_t smb_cmd_ops(uint8_t version, uint16_t cmd)
{
    if (version == 0) return QW_OP_SESSION;
    if (version == 1) return smb1_cmds[cmd & 0xFF].ops;
    return cmd < SMB2_NCMDS ? smb2_cmds[cmd].ops : 0;
}

/* Append a string to the request's text pool; returns its stored length. */
static uint8_t smb_text_add(struct smb_req *r, const char *s, size_t n)
{
    size_t used = (size_t)r->t1 + r->t2 + r->t3;
    size_t room = SMB_TEXT_MAX - used;
    if (n > room) n = room;
    memcpy(r->text + used, s, n);
    return (uint8_t)n;
}

static uint8_t smb_text_utf16(struct smb_req *r, const uint8_t *s, size_t n)
{
    char tmp[SMB_TEXT_MAX + 1];
    size_t k = qw_utf16le_to_utf8(s, n, tmp, sizeof tmp);
    return smb_text_add(r, tmp, k);
}

static void smb_guid_str(const uint8_t g[16], char out[37])
{
    /* Data1-3 are little-endian ([MS-DTYP] s.2.3.4.2). */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
             g[13], g[14], g[15]);
}

static const char *smb_dialect_name(uint16_t d)
{
    switch (d) {
    case 0x0202: return "2.0.2";
    case 0x0210: return "2.1";
    case 0x0222: return "2.2.2";
    case 0x0224: return "2.2.4";
    case 0x0300: return "3.0";
    case 0x0302: return "3.0.2";
    case 0x0310: return "3.1.0";
    case 0x0311: return "3.1.1";
    case 0x02FF: return "2.???";
    default: return "unknown";
    }
}

/* ---- File names by FileId ------------------------------------------------------------------ */

static struct smb_file *smb_file_find(struct smb_state *st, const uint8_t id[16])
{
    for (size_t i = 0; i < SMB_FILES_MAX; i++)
        if (st->files[i].used && memcmp(st->files[i].id, id, 16) == 0) return &st->files[i];
    return NULL;
}

static void smb_file_add(struct smb_state *st, const uint8_t id[16], const char *name, size_t n)
{
    struct smb_file *f = smb_file_find(st, id);
    for (size_t i = 0; i < SMB_FILES_MAX && !f; i++)
        if (!st->files[i].used) f = &st->files[i];
    if (!f) { /* replace the oldest */
        f = &st->files[0];
        for (size_t i = 1; i < SMB_FILES_MAX; i++)
            if ((int32_t)(st->files[i].seq - f->seq) < 0) f = &st->files[i];
    }
    f->used = true;
    memcpy(f->id, id, 16);
    f->seq = st->next_seq++;
    if (n > sizeof f->name) n = sizeof f->name;
    memcpy(f->name, name, n);
    f->name_len = (uint8_t)n;
}

/* The name of the file a request's FileId refers to, into the request's text. */
static void smb_req_file(struct smb_state *st, struct smb_req *r, const uint8_t *id)
{
    if (!id) return;
    struct smb_file *f = smb_file_find(st, id);
    if (!f) return;
    r->t1 = smb_text_add(r, f->name, f->name_len);
    r->fields |= SF_FILE;
}

/* ---- Security blobs ------------------------------------------------------------------------ */

static void smb_req_auth(struct qw_pctx *ctx, struct smb_state *st, struct smb_req *r,
                         const uint8_t *blob, size_t n)
{
    const uint8_t *tok;
    size_t tl;
    r->fields |= SF_AUTH;
    r->mech = (uint8_t)qw_auth_find(blob, n, &tok, &tl);
    if (r->mech != QW_MECH_NTLMSSP) return;
    struct qw_ntlm m;
    if (!qw_ntlm_decode(tok, tl, &m)) return;
    r->ntlm_type = m.type;
    r->ver_major = m.has_version ? m.ver_major : 0;
    r->ver_minor = m.ver_minor;
    r->ver_build = m.ver_build;
    r->nt_len = m.nt_len;
    if (m.malformed) qw_emit_anomaly(ctx, "smb.malformed_ntlmssp", qw_ntlm_type_name(m.type));
    if (m.type == QW_NTLM_AUTHENTICATE) {
        r->t1 = smb_text_add(r, m.user.s, m.user.len);
        r->t2 = smb_text_add(r, m.domain.s, m.domain.len);
        r->t3 = smb_text_add(r, m.workstation.s, m.workstation.len);
        qw_ntlm_emit_identity(ctx, &m, false, "smb_user");
        if (m.nt_len == 24 && !st->ntlmv1_reported) {
            st->ntlmv1_reported = true;
            qw_emit_anomaly(ctx, "smb.ntlmv1", "24-byte NT challenge response");
        }
    } else if (m.has_version) {
        char b[48];
        if (qw_ntlm_os_version(&m, b, sizeof b))
            qw_emit_identity(ctx, false, "os_version", b, strlen(b));
    }
}

static void smb_rsp_auth(struct qw_pctx *ctx, struct smb_rsp *p, const uint8_t *blob, size_t n)
{
    const uint8_t *tok;
    size_t tl;
    p->sess = true;
    p->mech = (uint8_t)qw_auth_find(blob, n, &tok, &tl);
    if (p->mech != QW_MECH_NTLMSSP) return;
    if (!qw_ntlm_decode(tok, tl, &p->ntlm)) return;
    p->has_ntlm = true;
    if (p->ntlm.malformed)
        qw_emit_anomaly(ctx, "smb.malformed_ntlmssp", qw_ntlm_type_name(p->ntlm.type));
    if (p->ntlm.type == QW_NTLM_CHALLENGE) qw_ntlm_emit_identity(ctx, &p->ntlm, true, "smb_user");
}

/* ---- Record -------------------------------------------------------------------------------- */

static void smb_json_hex32(struct qw_json *j, const char *k, uint32_t v)
{
    char b[12];
    snprintf(b, sizeof b, "0x%08x", v);
    qw_json_str(j, k, b);
}

static void smb_json_common(struct qw_json *j, uint8_t version, uint16_t cmd, uint64_t key,
                            uint64_t session_id, uint32_t tree_id)
{
    qw_json_u64(j, "version", version);
    qw_json_u64(j, "command", version == 1 ? cmd & 0xFFu : cmd);
    qw_json_str(j, "command_name", smb_cmd_name(version, cmd));
    if (version == 2) {
        qw_json_u64(j, "message_id", key);
        if (session_id) {
            char b[20];
            snprintf(b, sizeof b, "0x%016llx", (unsigned long long)session_id);
            qw_json_str(j, "session_id", b);
        }
        if (tree_id) qw_json_u64(j, "tree_id", tree_id);
    } else if (version == 1) {
        qw_json_u64(j, "pid", key >> 16);
        qw_json_u64(j, "mid", key & 0xFFFF);
        if (session_id) qw_json_u64(j, "uid", session_id);
        if (tree_id) qw_json_u64(j, "tid", tree_id);
    }
}

static void smb_json_req(struct qw_json *j, const struct smb_req *r)
{
    qw_json_obj_begin(j, "request");
    if (r->version == 0) {
        qw_json_strn(j, "called_name", r->text, r->t1);
        qw_json_strn(j, "calling_name", r->text + r->t1, r->t2);
        qw_json_obj_end(j);
        return;
    }
    smb_json_common(j, r->version, r->cmd, r->key, r->session_id, r->tree_id);
    const char *t = r->text;
    if (r->fields & SF_DIALECTS) {
        qw_json_arr_begin(j, "dialects");
        if (r->version == 2) {
            for (unsigned i = 0; i < r->ndialects; i++)
                qw_json_str(j, NULL, smb_dialect_name(r->dialects[i]));
        } else {
            /* SMB1 dialect strings, NUL-separated in the text pool. */
            size_t at = 0;
            for (unsigned i = 0; i < r->ndialects && at < r->t1; i++) {
                size_t l = strnlen(t + at, r->t1 - at);
                qw_json_strn(j, NULL, t + at, l);
                at += l + 1;
            }
        }
        qw_json_arr_end(j);
        if (r->version == 1 && r->a > r->ndialects) qw_json_u64(j, "dialect_count", r->a);
    }
    if (r->fields & SF_AUTH) {
        qw_json_str(j, "auth_mechanism", qw_auth_mech_name((enum qw_auth_mech)r->mech));
        if (r->ntlm_type) qw_json_str(j, "ntlm_message", qw_ntlm_type_name(r->ntlm_type));
        if (r->ntlm_type == QW_NTLM_AUTHENTICATE) {
            qw_json_strn(j, "user", t, r->t1);
            qw_json_strn(j, "domain", t + r->t1, r->t2);
            if (r->t3) qw_json_strn(j, "workstation", t + r->t1 + r->t2, r->t3);
            qw_json_bool(j, "anonymous", r->t1 == 0 && r->nt_len == 0);
            if (r->nt_len) qw_json_str(j, "ntlm_version", r->nt_len == 24 ? "v1" : "v2");
        }
        if (r->ver_major) {
            char b[48];
            snprintf(b, sizeof b, "Windows %u.%u build %u", r->ver_major, r->ver_minor,
                     r->ver_build);
            qw_json_str(j, "os_version", b);
        }
    }
    if (r->fields & SF_ACCOUNT) {
        qw_json_strn(j, "user", t, r->t1);
        qw_json_strn(j, "domain", t + r->t1, r->t2);
    }
    if (r->fields & (SF_NAME | SF_FILE)) {
        bool tree = (r->version == 2 && r->cmd == 0x03) || (r->version == 1 && r->cmd == 0x75);
        bool pattern = r->version == 2 && r->cmd == 0x0E && !(r->fields & SF_FILE);
        qw_json_strn(j, tree ? "path" : pattern ? "pattern" : "file_name", t, r->t1);
    }
    if (r->fields & SF_CREATE) {
        smb_json_hex32(j, "desired_access", r->a);
        qw_json_str(j, "disposition", r->b < 6 ? smb_dispositions[r->b] : "unknown");
        smb_json_hex32(j, "create_options", r->c);
    }
    if (r->fields & SF_LENGTH) qw_json_u64(j, "length", r->a);
    if (r->fields & SF_OFFSET) qw_json_u64(j, "offset", r->offset);
    if (r->fields & SF_CTL) smb_json_hex32(j, "ctl_code", r->a);
    if (r->fields & SF_INFO) {
        qw_json_u64(j, "info_type", r->a);
        qw_json_u64(j, "info_class", r->b);
    }
    if (r->prefix_only) qw_json_bool(j, "data_not_parsed", true);
    qw_json_obj_end(j);
}

static void smb_json_rsp(struct qw_json *j, const struct smb_rsp *p)
{
    char b[48];
    qw_json_obj_begin(j, "response");
    if (p->version == 0) {
        static const char *const nb[] = {[0x82] = "positive_response", [0x83] = "negative_response",
                                         [0x84] = "retarget_response"};
        bool known = p->nbss_type >= 0x82 && p->nbss_type <= 0x84;
        qw_json_str(j, "nbss_type", known ? nb[p->nbss_type] : "unknown");
        if (p->nbss_type == 0x83) qw_json_u64(j, "error_code", p->nbss_error);
        qw_json_obj_end(j);
        return;
    }
    smb_json_common(j, p->version, p->cmd, p->key, p->session_id, p->tree_id);
    smb_json_hex32(j, "status", p->status);
    qw_json_str(j, "status_name", smb_status_name(p->status));
    if (p->neg) {
        if (p->version == 2) {
            qw_json_str(j, "dialect", smb_dialect_name(p->dialect));
        } else {
            qw_json_u64(j, "dialect_index", p->dialect);
        }
        qw_json_bool(j, "signing_enabled", p->version == 2 ? (p->security_mode & 1) != 0
                                                            : (p->security_mode & 0x04) != 0);
        qw_json_bool(j, "signing_required", p->version == 2 ? (p->security_mode & 2) != 0
                                                             : (p->security_mode & 0x08) != 0);
        smb_json_hex32(j, "capabilities", p->capabilities);
        if (p->has_guid) {
            smb_guid_str(p->guid, b);
            qw_json_str(j, "server_guid", b);
        }
    }
    if (p->sess) {
        qw_json_str(j, "auth_mechanism", qw_auth_mech_name((enum qw_auth_mech)p->mech));
        if (p->has_ntlm) qw_ntlm_json(j, &p->ntlm);
        if (p->version == 2 && p->session_flags) {
            qw_json_bool(j, "guest", (p->session_flags & 1) != 0);
            qw_json_bool(j, "null_session", (p->session_flags & 2) != 0);
            qw_json_bool(j, "encrypt_data", (p->session_flags & 4) != 0);
        }
    }
    if (p->os_len) qw_json_strn(j, "native_os", p->native_os, p->os_len);
    if (p->lanman_len) qw_json_strn(j, "native_lanman", p->native_lanman, p->lanman_len);
    if (p->domain_len) qw_json_strn(j, "primary_domain", p->primary_domain, p->domain_len);
    if (p->share_type)
        qw_json_str(j, "share_type",
                    p->share_type < 4 ? smb_share_types[p->share_type] : "unknown");
    if (p->created) {
        qw_json_str(j, "create_action",
                    p->create_action < 4 ? smb_create_actions[p->create_action] : "unknown");
        qw_json_u64(j, "end_of_file", p->end_of_file);
    }
    if (p->fields & SF_LENGTH) qw_json_u64(j, "data_length", p->count);
    if (p->prefix_only) qw_json_bool(j, "data_not_parsed", true);
    qw_json_obj_end(j);
}

static void smb_write_json(struct qw_json *j, const void *arg)
{
    const struct smb_state *st = arg;
    if (st->v_req) smb_json_req(j, st->v_req);
    if (st->v_rsp) smb_json_rsp(j, st->v_rsp);
}

static void smb_emit(struct qw_pctx *ctx, struct smb_state *st, const struct smb_req *r,
                     const struct smb_rsp *p)
{
    struct qw_txn t = {0};
    uint8_t version = r ? r->version : p->version;
    uint16_t cmd = r ? r->cmd : p->cmd;
    t.has_request = r != NULL;
    t.has_response = p != NULL;
    t.function = version == 1 ? 0x100u + cmd : cmd;
    t.function_name = smb_cmd_name(version, cmd);
    t.ops = r ? r->ops : smb_cmd_ops(version, cmd);
    t.error = p && (version == 0 ? p->nbss_type == 0x83 : smb_status_error(p->status));
    t.request_ns = r ? (r->ts ? r->ts : 1) : 0;
    t.response_ns = p ? (p->ts ? p->ts : 1) : 0;
    st->v_req = r;
    st->v_rsp = p;
    t.write_json = smb_write_json;
    t.arg = st;
    qw_emit_txn(ctx, &t);
    st->v_req = NULL;
    st->v_rsp = NULL;
}

/* ---- Queue --------------------------------------------------------------------------------- */

static struct smb_req *smb_oldest(struct smb_state *st)
{
    struct smb_req *best = NULL;
    for (size_t i = 0; i < SMB_QUEUE_MAX; i++) {
        struct smb_req *q = &st->queue[i];
        if (q->used && (!best || (int32_t)(q->seq - best->seq) < 0)) best = q;
    }
    return best;
}

static struct smb_req *smb_find(struct smb_state *st, uint8_t version, uint64_t key)
{
    for (size_t i = 0; i < SMB_QUEUE_MAX; i++) {
        struct smb_req *q = &st->queue[i];
        if (q->used && q->version == version && q->key == key) return q;
    }
    return NULL;
}

static void smb_queue(struct qw_pctx *ctx, struct smb_state *st, const struct smb_req *r)
{
    struct smb_req *slot = NULL;
    for (size_t i = 0; i < SMB_QUEUE_MAX && !slot; i++)
        if (!st->queue[i].used) slot = &st->queue[i];
    if (!slot) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "smb.request_queue_full", NULL);
        st->queue_full_reported = true;
        slot = smb_oldest(st);
        smb_emit(ctx, st, slot, NULL);
    }
    *slot = *r;
    slot->used = true;
    slot->seq = st->next_seq++;
}

/* The request a response answers. An SMB2 NEGOTIATE response may answer the client's SMB1
 * multi-protocol NEGOTIATE that offered "SMB 2.002" / "SMB 2.???" ([SMB2] s.3.3.5.3.1). */
static struct smb_req *smb_match(struct smb_state *st, const struct smb_rsp *p)
{
    struct smb_req *r = smb_find(st, p->version, p->key);
    if (!r && p->version == 2 && p->cmd == 0x00) {
        for (size_t i = 0; i < SMB_QUEUE_MAX && !r; i++) {
            struct smb_req *q = &st->queue[i];
            if (q->used && q->version == 1 && q->cmd == 0x72) r = q;
        }
    }
    return r;
}

/* ---- Failed logins ------------------------------------------------------------------------- */

static bool smb_is_session_setup(uint8_t version, uint16_t cmd)
{
    return (version == 2 && cmd == 0x01) || (version == 1 && cmd == 0x73);
}

static bool smb_is_logon_refusal(uint32_t status)
{
    for (size_t i = 0; i < sizeof smb_logon_refusals / sizeof smb_logon_refusals[0]; i++)
        if (smb_logon_refusals[i] == status) return true;
    return false;
}

/* A SESSION_SETUP refused for its credentials: one failed login, named by the NTLM
 * AUTHENTICATE's user (or SMB1's account name) of the request it answers. An anonymous
 * AUTHENTICATE (no user, no response) offered no credentials and is not a guess. */
static void smb_check_refused(struct qw_pctx *ctx, const struct smb_req *r,
                              const struct smb_rsp *p)
{
    if (!smb_is_session_setup(p->version, p->cmd) || !smb_is_logon_refusal(p->status)) return;
    bool ntlm = r && r->ntlm_type == QW_NTLM_AUTHENTICATE;
    if (ntlm && r->t1 == 0 && r->nt_len == 0) return;
    bool named = r && r->t1 && (ntlm || (r->fields & SF_ACCOUNT));
    qw_emit_login_refused(ctx, true, "smb logon failure", named ? r->text : NULL,
                          named ? r->t1 : 0);
}

static void smb_on_response(struct qw_pctx *ctx, struct smb_state *st, const struct smb_rsp *p)
{
    struct smb_req *r = smb_match(st, p);
    smb_check_refused(ctx, r, p);
    smb_emit(ctx, st, r, p);
    if (r) r->used = false;
}

/* ---- SMB2 ---------------------------------------------------------------------------------- */

/* A buffer given by (offset from the header, length): NULL when it is outside the message. */
static const uint8_t *smb2_buf(const uint8_t *hdr, size_t hlen, uint32_t off, uint32_t len)
{
    if (len == 0 || off > hlen || len > hlen - off) return NULL;
    return hdr + off;
}

static uint32_t smb_create_ops(uint32_t access, uint32_t disposition, uint32_t options)
{
    uint32_t ops = QW_OP_FILE;
    /* SUPERSEDE, CREATE, OVERWRITE, OVERWRITE_IF create or replace ([SMB2] s.2.2.13). */
    if (disposition == 0 || disposition == 2 || disposition == 4 || disposition == 5 ||
        (access & SMB_ACCESS_MODIFY) || (options & SMB_CREATE_DELETE_ON_CLOSE))
        ops |= QW_OP_WRITE;
    return ops;
}

static void smb2_request(struct qw_pctx *ctx, struct smb_state *st, struct smb_req *r,
                         const uint8_t *hdr, size_t hlen)
{
    struct qw_cursor c = qw_cursor_make(hdr + SMB2_HDR, hlen - SMB2_HDR);
    qw_cur_skip(&c, 2); /* StructureSize */
    switch (r->cmd) {
    case 0x00: { /* NEGOTIATE: DialectCount(2) SecurityMode(2) Reserved(2) Capabilities(4)
                    ClientGuid(16) ContextOffset/StartTime(8) Dialects */
        uint16_t cnt = qw_cur_le16(&c);
        qw_cur_skip(&c, 2 + 2 + 4 + 16 + 8);
        for (unsigned i = 0; i < cnt && !c.err; i++) {
            uint16_t d = qw_cur_le16(&c);
            if (!c.err && r->ndialects < SMB_DIALECTS_MAX) r->dialects[r->ndialects++] = d;
        }
        r->fields |= SF_DIALECTS;
        break;
    }
    case 0x01: { /* SESSION_SETUP: Flags(1) SecurityMode(1) Capabilities(4) Channel(4)
                    SecurityBufferOffset(2) SecurityBufferLength(2) PreviousSessionId(8) */
        qw_cur_skip(&c, 1 + 1 + 4 + 4);
        uint16_t off = qw_cur_le16(&c), len = qw_cur_le16(&c);
        const uint8_t *b = smb2_buf(hdr, hlen, off, len);
        if (!c.err) smb_req_auth(ctx, st, r, b ? b : hdr, b ? len : 0);
        break;
    }
    case 0x03: { /* TREE_CONNECT: Flags(2) PathOffset(2) PathLength(2) */
        qw_cur_skip(&c, 2);
        uint16_t off = qw_cur_le16(&c), len = qw_cur_le16(&c);
        const uint8_t *b = smb2_buf(hdr, hlen, off, len);
        if (b) {
            r->t1 = smb_text_utf16(r, b, len);
            r->fields |= SF_NAME;
        }
        break;
    }
    case 0x05: { /* CREATE ([SMB2] s.2.2.13) */
        qw_cur_skip(&c, 1 + 1 + 4 + 8 + 8);
        r->a = qw_cur_le32(&c); /* DesiredAccess */
        qw_cur_skip(&c, 4 + 4); /* FileAttributes, ShareAccess */
        r->b = qw_cur_le32(&c); /* CreateDisposition */
        r->c = qw_cur_le32(&c); /* CreateOptions */
        uint16_t off = qw_cur_le16(&c), len = qw_cur_le16(&c);
        if (c.err) break;
        r->fields |= SF_CREATE;
        r->ops = smb_create_ops(r->a, r->b, r->c);
        const uint8_t *b = smb2_buf(hdr, hlen, off, len);
        r->fields |= SF_NAME;
        if (b) r->t1 = smb_text_utf16(r, b, len);
        break;
    }
    case 0x06:   /* CLOSE: Flags(2) Reserved(4) FileId(16) */
    case 0x07:   /* FLUSH: Reserved1(2) Reserved2(4) FileId(16) */
    case 0x0A:   /* LOCK: LockCount(2) LockSequence(4) FileId(16) */
    case 0x0F: { /* CHANGE_NOTIFY: Flags(2) OutputBufferLength(4) FileId(16) */
        qw_cur_skip(&c, 6);
        smb_req_file(st, r, qw_cur_take(&c, 16));
        break;
    }
    case 0x08:   /* READ: Padding(1) Flags(1) Length(4) Offset(8) FileId(16) */
    case 0x09: { /* WRITE: DataOffset(2) Length(4) Offset(8) FileId(16) */
        qw_cur_skip(&c, 2);
        r->a = qw_cur_le32(&c);
        r->offset = qw_cur_le64(&c);
        const uint8_t *id = qw_cur_take(&c, 16);
        if (c.err) break;
        r->fields |= SF_LENGTH | SF_OFFSET;
        smb_req_file(st, r, id);
        break;
    }
    case 0x0B: { /* IOCTL: Reserved(2) CtlCode(4) FileId(16) */
        qw_cur_skip(&c, 2);
        r->a = qw_cur_le32(&c);
        const uint8_t *id = qw_cur_take(&c, 16);
        if (c.err) break;
        r->fields |= SF_CTL;
        smb_req_file(st, r, id);
        break;
    }
    case 0x0E: { /* QUERY_DIRECTORY: class(1) flags(1) index(4) FileId(16) NameOffset(2)
                    NameLength(2) */
        qw_cur_skip(&c, 6);
        const uint8_t *id = qw_cur_take(&c, 16);
        uint16_t off = qw_cur_le16(&c), len = qw_cur_le16(&c);
        if (c.err) break;
        smb_req_file(st, r, id);
        if (!(r->fields & SF_FILE)) {
            const uint8_t *b = smb2_buf(hdr, hlen, off, len);
            if (b) {
                r->t1 = smb_text_utf16(r, b, len);
                r->fields |= SF_NAME;
            }
        }
        break;
    }
    case 0x10:   /* QUERY_INFO: InfoType(1) FileInfoClass(1) ... FileId at 24 */
    case 0x11: { /* SET_INFO: InfoType(1) FileInfoClass(1) ... FileId at 16 */
        r->a = qw_cur_u8(&c);
        r->b = qw_cur_u8(&c);
        qw_cur_skip(&c, r->cmd == 0x10 ? 20 : 12);
        const uint8_t *id = qw_cur_take(&c, 16);
        if (c.err) break;
        r->fields |= SF_INFO;
        smb_req_file(st, r, id);
        break;
    }
    default: break;
    }
}

static void smb2_response(struct qw_pctx *ctx, struct smb_state *st, struct smb_rsp *p,
                          const uint8_t *hdr, size_t hlen)
{
    struct qw_cursor c = qw_cursor_make(hdr + SMB2_HDR, hlen - SMB2_HDR);
    qw_cur_skip(&c, 2); /* StructureSize */
    /* An error response has its own body ([SMB2] s.2.2.2): nothing of the command's. */
    if (smb_status_error(p->status)) return;
    switch (p->cmd) {
    case 0x00: { /* NEGOTIATE response ([SMB2] s.2.2.4) */
        p->security_mode = qw_cur_le16(&c);
        p->dialect = qw_cur_le16(&c);
        qw_cur_skip(&c, 2);
        if (!qw_cur_bytes(&c, p->guid, 16)) break;
        p->capabilities = qw_cur_le32(&c);
        p->neg = p->has_guid = !c.err;
        break;
    }
    case 0x01: { /* SESSION_SETUP response: SessionFlags(2) Offset(2) Length(2) */
        p->session_flags = qw_cur_le16(&c);
        uint16_t off = qw_cur_le16(&c), len = qw_cur_le16(&c);
        if (c.err) break;
        const uint8_t *b = smb2_buf(hdr, hlen, off, len);
        smb_rsp_auth(ctx, p, b ? b : hdr, b ? len : 0);
        break;
    }
    case 0x03: /* TREE_CONNECT response: ShareType(1) */
        p->share_type = qw_cur_u8(&c);
        if (c.err) p->share_type = 0;
        break;
    case 0x05: { /* CREATE response: OplockLevel(1) Flags(1) CreateAction(4) times(32)
                    AllocationSize(8) EndofFile(8) FileAttributes(4) Reserved2(4) FileId(16) */
        qw_cur_skip(&c, 2);
        p->create_action = qw_cur_le32(&c);
        qw_cur_skip(&c, 32 + 8);
        p->end_of_file = qw_cur_le64(&c);
        qw_cur_skip(&c, 8);
        if (!qw_cur_bytes(&c, p->file_id, 16)) break;
        p->created = true;
        break;
    }
    case 0x08: { /* READ response: DataOffset(1) Reserved(1) DataLength(4) */
        qw_cur_skip(&c, 2);
        p->count = qw_cur_le32(&c);
        if (!c.err) p->fields |= SF_LENGTH;
        break;
    }
    case 0x09: { /* WRITE response: Reserved(2) Count(4) */
        qw_cur_skip(&c, 2);
        p->count = qw_cur_le32(&c);
        if (!c.err) p->fields |= SF_LENGTH;
        break;
    }
    default: break;
    }
    (void)st;
}

/* One SMB2 command (header + body) of a possibly compounded message. */
static void smb2_command(struct qw_pctx *ctx, struct smb_state *st, const uint8_t *hdr,
                         size_t hlen, bool prefix_only)
{
    struct qw_cursor c = qw_cursor_make(hdr, hlen);
    qw_cur_skip(&c, 4);
    uint16_t ssize = qw_cur_le16(&c);
    qw_cur_skip(&c, 2);
    uint32_t status = qw_cur_le32(&c);
    uint16_t cmd = qw_cur_le16(&c);
    qw_cur_skip(&c, 2);
    uint32_t flags = qw_cur_le32(&c);
    qw_cur_skip(&c, 4);
    uint64_t msg_id = qw_cur_le64(&c);
    uint32_t tree_id = 0;
    if (flags & SMB2_FLAG_ASYNC) {
        qw_cur_skip(&c, 8);
    } else {
        qw_cur_skip(&c, 4);
        tree_id = qw_cur_le32(&c);
    }
    uint64_t session_id = qw_cur_le64(&c);
    if (c.err || ssize != SMB2_HDR) {
        qw_emit_anomaly(ctx, "smb.invalid_header", "SMB2 StructureSize");
        return;
    }
    if (flags & SMB2_FLAG_RESPONSE) {
        /* Interim response: the final one follows ([SMB2] s.3.3.4.2). */
        if (status == STATUS_PENDING && (flags & SMB2_FLAG_ASYNC)) return;
        struct smb_rsp *p = &st->rsp;
        memset(p, 0, sizeof *p);
        p->version = 2;
        p->cmd = cmd;
        p->status = status;
        p->key = msg_id;
        p->session_id = session_id;
        p->tree_id = tree_id;
        p->ts = qw_pctx_time(ctx);
        p->prefix_only = prefix_only;
        smb2_response(ctx, st, p, hdr, hlen);
        struct smb_req *r = smb_find(st, 2, msg_id);
        /* Remember the new FileId under the name its CREATE asked for. */
        if (p->created && r && (r->fields & SF_NAME) && r->cmd == 0x05)
            smb_file_add(st, p->file_id, r->text, r->t1);
        smb_on_response(ctx, st, p);
        return;
    }
    struct smb_req *r = &st->scratch_req;
    memset(r, 0, sizeof *r);
    r->version = 2;
    r->cmd = cmd;
    r->key = msg_id;
    r->session_id = session_id;
    r->tree_id = tree_id;
    r->ts = qw_pctx_time(ctx);
    r->ops = smb_cmd_ops(2, cmd);
    r->prefix_only = prefix_only;
    smb2_request(ctx, st, r, hdr, hlen);
    /* CANCEL has no response of its own ([SMB2] s.3.2.4.24). */
    if (cmd == 0x0C) smb_emit(ctx, st, r, NULL);
    else smb_queue(ctx, st, r);
}

static void smb2_message(struct qw_pctx *ctx, struct smb_state *st, const uint8_t *m, size_t n,
                         bool prefix_only)
{
    size_t off = 0;
    for (unsigned guard = 0; guard < 64 && off + SMB2_HDR <= n; guard++) {
        const uint8_t *h = m + off;
        if (memcmp(h, "\xFESMB", 4) != 0) {
            qw_emit_anomaly(ctx, "smb.invalid_header", "compound");
            return;
        }
        struct qw_cursor c = qw_cursor_make(h + 20, n - off - 20);
        uint32_t next = qw_cur_le32(&c);
        /* NextCommand: the next header's offset from this one, 8-byte aligned. */
        size_t len = next ? next : n - off;
        if (next && (next < SMB2_HDR || next % 8 || next > n - off)) {
            qw_emit_anomaly(ctx, "smb.invalid_header", "NextCommand");
            len = n - off;
            next = 0;
        }
        smb2_command(ctx, st, h, len, prefix_only);
        if (!next) return;
        off += next;
    }
}

/* ---- SMB1 ---------------------------------------------------------------------------------- */

/* A string in the SMB1 byte section: Unicode (aligned to 2 from the header start) or OEM,
 * NUL-terminated. Advances the cursor past it. */
static size_t smb1_string(struct qw_cursor *c, const uint8_t *hdr, bool unicode, char *out,
                          size_t cap)
{
    if (qw_cur_left(c) == 0) {
        out[0] = '\0';
        return 0;
    }
    const uint8_t *p = qw_cur_ptr(c);
    if (unicode) {
        if ((size_t)(p - hdr) % 2) {
            qw_cur_skip(c, 1);
            p++;
        }
        size_t left = qw_cur_left(c), k = 0;
        while (k + 1 < left && (p[k] || p[k + 1])) k += 2;
        size_t w = qw_utf16le_to_utf8(p, k, out, cap);
        qw_cur_skip(c, k + 2 <= left ? k + 2 : left);
        return w;
    }
    size_t left = qw_cur_left(c), k = 0;
    while (k < left && p[k]) k++;
    size_t w = k < cap - 1 ? k : cap - 1;
    memcpy(out, p, w);
    out[w] = '\0';
    qw_cur_skip(c, k + 1 <= left ? k + 1 : left);
    return w;
}

struct smb1_msg {
    const uint8_t *hdr;
    uint8_t cmd, flags, wc;
    uint16_t flags2, bc;
    uint32_t status;
    struct qw_cursor words, bytes;
};

static void smb1_request(struct qw_pctx *ctx, struct smb_state *st, struct smb_req *r,
                         struct smb1_msg *m)
{
    bool uni = (m->flags2 & SMB1_FLAGS2_UNICODE) != 0;
    char tmp[SMB_TEXT_MAX];
    switch (m->cmd) {
    case 0x72: { /* NEGOTIATE: 0x02 "dialect\0" ... ([CIFS] s.2.2.4.52.1) */
        struct qw_cursor *b = &m->bytes;
        while (qw_cur_left(b) > 1) {
            if (qw_cur_u8(b) != 0x02) break;
            size_t k = smb1_string(b, m->hdr, false, tmp, sizeof tmp);
            r->a++; /* dialects offered */
            /* Kept NUL-separated in the text pool while they fit. */
            if ((size_t)r->t1 + k + 1 > SMB_TEXT_MAX) continue;
            memcpy(r->text + r->t1, tmp, k);
            r->text[r->t1 + k] = '\0';
            r->t1 = (uint8_t)(r->t1 + k + 1);
            r->ndialects++;
        }
        r->fields |= SF_DIALECTS;
        break;
    }
    case 0x73: { /* SESSION_SETUP_ANDX */
        struct qw_cursor w = m->words;
        if (m->wc == 12) { /* extended security: SecurityBlobLength at word byte 14 */
            qw_cur_skip(&w, 14);
            uint16_t bl = qw_cur_le16(&w);
            const uint8_t *blob = qw_cur_take(&m->bytes, bl);
            if (blob) smb_req_auth(ctx, st, r, blob, bl);
        } else if (m->wc == 13 || m->wc == 10) {
            /* NT LM 0.12 (13 words) or LANMAN (10 words): passwords, then account and
             * domain. The passwords are skipped unread. */
            uint16_t oem = 0, ucs = 0;
            if (m->wc == 13) {
                qw_cur_skip(&w, 14);
                oem = qw_cur_le16(&w);
                ucs = qw_cur_le16(&w);
            } else {
                qw_cur_skip(&w, 14);
                oem = qw_cur_le16(&w);
            }
            qw_cur_skip(&m->bytes, (size_t)oem + ucs);
            size_t k = smb1_string(&m->bytes, m->hdr, uni, tmp, sizeof tmp);
            r->t1 = smb_text_add(r, tmp, k);
            k = smb1_string(&m->bytes, m->hdr, uni, tmp, sizeof tmp);
            r->t2 = smb_text_add(r, tmp, k);
            r->fields |= SF_ACCOUNT;
            if (r->t1) {
                char u[SMB_TEXT_MAX + 2];
                int ul = r->t2 ? snprintf(u, sizeof u, "%.*s\\%.*s", (int)r->t2, r->text + r->t1,
                                          (int)r->t1, r->text)
                               : snprintf(u, sizeof u, "%.*s", (int)r->t1, r->text);
                if (ul > 0) qw_emit_identity(ctx, false, "smb_user", u, strlen(u));
            }
            /* Without "encrypt passwords" in the server's SecurityMode the password travels
             * in clear ([CIFS] s.3.2.4.2.4). */
            if ((oem || ucs) && st->smb1_secmode_seen &&
                !(st->smb1_secmode & SMB1_SECMODE_ENCRYPT_PASSWORDS)) {
                char d[SMB_TEXT_MAX + 8];
                snprintf(d, sizeof d, "user %.*s", (int)r->t1, r->text);
                qw_emit_anomaly(ctx, "smb.cleartext_credentials", d);
            }
        }
        break;
    }
    case 0x75: { /* TREE_CONNECT_ANDX: PasswordLength at word byte 6; password, path */
        struct qw_cursor w = m->words;
        qw_cur_skip(&w, 6);
        uint16_t pl = qw_cur_le16(&w);
        if (w.err) break;
        qw_cur_skip(&m->bytes, pl);
        size_t k = smb1_string(&m->bytes, m->hdr, uni, tmp, sizeof tmp);
        r->t1 = smb_text_add(r, tmp, k);
        r->fields |= SF_NAME;
        break;
    }
    case 0x04:   /* CLOSE: FID(2) LastTimeModified(4) */
    case 0x2E:   /* READ_ANDX: AndX(4) FID(2) Offset(4) MaxCountOfBytesToReturn(2) ... */
    case 0x2F: { /* WRITE_ANDX: AndX(4) FID(2) Offset(4) Timeout(4) WriteMode(2) Remaining(2)
                    DataLengthHigh(2) DataLength(2) ... ([CIFS] s.2.2.4.42-43) */
        struct qw_cursor w = m->words;
        if (m->cmd != 0x04) qw_cur_skip(&w, 4);
        uint16_t fid = qw_cur_le16(&w);
        if (w.err) break;
        uint8_t id[16] = {(uint8_t)fid, (uint8_t)(fid >> 8)};
        if (m->cmd != 0x04) {
            r->offset = qw_cur_le32(&w);
            if (m->cmd == 0x2E) {
                r->a = qw_cur_le16(&w);
            } else {
                qw_cur_skip(&w, 8);
                uint32_t hi = qw_cur_le16(&w);
                r->a = hi << 16 | qw_cur_le16(&w);
            }
            if (!w.err) r->fields |= SF_LENGTH | SF_OFFSET;
        }
        smb_req_file(st, r, id);
        break;
    }
    case 0xA2: { /* NT_CREATE_ANDX: DesiredAccess at 15, disposition 35, options 39 */
        struct qw_cursor w = m->words;
        qw_cur_skip(&w, 15);
        r->a = qw_cur_le32(&w);
        qw_cur_skip(&w, 16);
        r->b = qw_cur_le32(&w);
        r->c = qw_cur_le32(&w);
        if (w.err) break;
        /* NT dispositions count from 0 = supersede like SMB2's ([CIFS] s.2.2.4.64.1). */
        r->fields |= SF_CREATE | SF_NAME;
        r->ops = smb_create_ops(r->a, r->b, r->c);
        size_t k = smb1_string(&m->bytes, m->hdr, uni, tmp, sizeof tmp);
        r->t1 = smb_text_add(r, tmp, k);
        break;
    }
    default: break;
    }
}

static void smb1_response(struct qw_pctx *ctx, struct smb_state *st, struct smb_rsp *p,
                          struct smb1_msg *m)
{
    bool uni = (m->flags2 & SMB1_FLAGS2_UNICODE) != 0;
    if (m->wc == 0) return; /* error responses carry no words */
    struct qw_cursor w = m->words;
    switch (m->cmd) {
    case 0x72: { /* NEGOTIATE response, NT LM 0.12 form (17 words) */
        p->dialect = qw_cur_le16(&w);
        if (m->wc != 17) {
            p->neg = !w.err;
            break;
        }
        uint8_t secmode = qw_cur_u8(&w);
        qw_cur_skip(&w, 16);
        p->capabilities = qw_cur_le32(&w);
        qw_cur_skip(&w, 10);
        uint8_t chal_len = qw_cur_u8(&w);
        if (w.err) break;
        p->neg = true;
        p->security_mode = secmode;
        st->smb1_secmode_seen = true;
        st->smb1_secmode = secmode;
        if (p->capabilities & SMB1_CAP_EXTENDED_SECURITY) {
            p->has_guid = qw_cur_bytes(&m->bytes, p->guid, 16);
        } else {
            /* Challenge, then the server's domain and name ([CIFS] s.2.2.4.52.2). */
            qw_cur_skip(&m->bytes, chal_len);
            p->domain_len = (uint8_t)smb1_string(&m->bytes, m->hdr, uni, p->primary_domain,
                                                 sizeof p->primary_domain);
            char name[SMB_STR_MAX];
            size_t nl = smb1_string(&m->bytes, m->hdr, uni, name, sizeof name);
            if (p->domain_len)
                qw_emit_identity(ctx, true, "netbios_domain", p->primary_domain, p->domain_len);
            if (nl) qw_emit_identity(ctx, true, "netbios_name", name, nl);
        }
        break;
    }
    case 0x73: { /* SESSION_SETUP_ANDX response */
        p->sess = true;
        if (m->wc == 4) {
            qw_cur_skip(&w, 6);
            uint16_t bl = qw_cur_le16(&w);
            const uint8_t *blob = qw_cur_take(&m->bytes, bl);
            if (blob) smb_rsp_auth(ctx, p, blob, bl);
        } else {
            p->mech = QW_MECH_NONE;
        }
        p->os_len = (uint8_t)smb1_string(&m->bytes, m->hdr, uni, p->native_os, sizeof p->native_os);
        p->lanman_len = (uint8_t)smb1_string(&m->bytes, m->hdr, uni, p->native_lanman,
                                             sizeof p->native_lanman);
        if (m->wc == 3)
            p->domain_len = (uint8_t)smb1_string(&m->bytes, m->hdr, uni, p->primary_domain,
                                                 sizeof p->primary_domain);
        break;
    }
    case 0x2E: { /* READ_ANDX response: AndX(4) Available(2) Compaction(2) Reserved(2)
                    DataLength(2) DataOffset(2) DataLengthHigh(4) */
        qw_cur_skip(&w, 10);
        uint32_t lo = qw_cur_le16(&w);
        qw_cur_skip(&w, 2);
        uint32_t hi = qw_cur_le32(&w);
        p->count = (hi & 0xFFFFu) << 16 | lo;
        if (!w.err) p->fields |= SF_LENGTH;
        break;
    }
    case 0x2F: { /* WRITE_ANDX response: AndX(4) Count(2) Available(2) CountHigh(2) */
        qw_cur_skip(&w, 4);
        uint32_t lo = qw_cur_le16(&w);
        qw_cur_skip(&w, 2);
        uint32_t hi = qw_cur_le16(&w);
        p->count = hi << 16 | lo;
        if (!w.err) p->fields |= SF_LENGTH;
        break;
    }
    case 0xA2: { /* NT_CREATE_ANDX response: AndX(4) OplockLevel(1) FID(2) CreateAction(4) */
        qw_cur_skip(&w, 5);
        uint16_t fid = qw_cur_le16(&w);
        p->create_action = qw_cur_le32(&w);
        if (w.err) break;
        memset(p->file_id, 0, 16);
        p->file_id[0] = (uint8_t)fid;
        p->file_id[1] = (uint8_t)(fid >> 8);
        p->created = true;
        break;
    }
    default: break;
    }
}

static void smb1_message(struct qw_pctx *ctx, struct smb_state *st, enum qw_dir dir,
                         const uint8_t *b, size_t n, bool prefix_only)
{
    struct smb1_msg m;
    memset(&m, 0, sizeof m);
    m.hdr = b;
    struct qw_cursor c = qw_cursor_make(b, n);
    qw_cur_skip(&c, 4);
    m.cmd = qw_cur_u8(&c);
    m.status = qw_cur_le32(&c);
    m.flags = qw_cur_u8(&c);
    m.flags2 = qw_cur_le16(&c);
    qw_cur_skip(&c, 12);
    uint16_t tid = qw_cur_le16(&c);
    uint16_t pid = qw_cur_le16(&c);
    uint16_t uid = qw_cur_le16(&c);
    uint16_t mid = qw_cur_le16(&c);
    m.wc = qw_cur_u8(&c);
    m.words = qw_cur_sub(&c, 2u * m.wc, NULL);
    m.bc = qw_cur_le16(&c);
    m.bytes = qw_cur_sub(&c, m.bc, NULL);
    /* A section cut away entirely (the header already ran past the message) is an empty
     * cursor over valid memory, so that zero-length reads from it stay defined. */
    if (!m.words.base) m.words = qw_cursor_make(b, 0);
    if (!m.bytes.base) m.bytes = qw_cursor_make(b, 0);
    if (c.err && !prefix_only) {
        qw_emit_anomaly(ctx, "smb.invalid_header", "SMB1 words or bytes past the message");
        if (n < SMB1_HDR + 1) return;
    }
    bool reply = (m.flags & SMB1_FLAG_REPLY) != 0;
    /* SMB1 is deprecated and disabled by default since Windows 10 1709 (MS-SMB2 s.1.7): a
     * server answering in SMB1, or a client using it beyond the first multi-protocol
     * NEGOTIATE, is a weakness to report once. */
    if (!st->smb1_reported && (reply || m.cmd != 0x72)) {
        st->smb1_reported = true;
        char d[64];
        snprintf(d, sizeof d, "%s %s", reply ? "server answered" : "client sent",
                 smb_cmd_name(1, m.cmd));
        qw_emit_anomaly(ctx, "smb.smb1", d);
    }
    uint64_t key = (uint64_t)pid << 16 | mid;
    if (reply) {
        struct smb_rsp *p = &st->rsp;
        memset(p, 0, sizeof *p);
        p->version = 1;
        p->cmd = m.cmd;
        p->status = m.status;
        p->key = key;
        p->session_id = uid;
        p->tree_id = tid;
        p->ts = qw_pctx_time(ctx);
        p->prefix_only = prefix_only;
        smb1_response(ctx, st, p, &m);
        struct smb_req *r = smb_find(st, 1, key);
        if (p->created && r && (r->fields & SF_NAME)) smb_file_add(st, p->file_id, r->text, r->t1);
        smb_on_response(ctx, st, p);
        return;
    }
    (void)dir;
    struct smb_req *r = &st->scratch_req;
    memset(r, 0, sizeof *r);
    r->version = 1;
    r->cmd = m.cmd;
    r->key = key;
    r->session_id = uid;
    r->tree_id = tid;
    r->ts = qw_pctx_time(ctx);
    r->ops = smb_cmd_ops(1, m.cmd);
    r->prefix_only = prefix_only;
    smb1_request(ctx, st, r, &m);
    /* NT_CANCEL is never answered ([CIFS] s.2.2.4.65). */
    if (m.cmd == 0xA4) smb_emit(ctx, st, r, NULL);
    else smb_queue(ctx, st, r);
}

/* ---- NetBIOS session service --------------------------------------------------------------- */

/* A first-level encoded NetBIOS name (RFC 1001 s.14.1): length 32, 32 letters 'A'..'P' (two
 * per byte), then the scope labels. Returns the 15-character name without its padding. */
static size_t nbss_name(struct qw_cursor *c, char *out, size_t cap, uint8_t *suffix)
{
    uint8_t l = qw_cur_u8(c);
    const uint8_t *e = qw_cur_take(c, l);
    if (!e || l != 32) return 0;
    /* skip scope labels up to the terminating zero */
    for (unsigned guard = 0; guard < 64; guard++) {
        uint8_t sl = qw_cur_u8(c);
        if (c->err || sl == 0) break;
        qw_cur_skip(c, sl);
    }
    char name[16];
    for (int i = 0; i < 16; i++) {
        uint8_t hi = (uint8_t)(e[2 * i] - 'A'), lo = (uint8_t)(e[2 * i + 1] - 'A');
        if (hi > 15 || lo > 15) return 0;
        name[i] = (char)(hi << 4 | lo);
    }
    *suffix = (uint8_t)name[15];
    size_t n = 15;
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == 0)) n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, name, n);
    out[n] = '\0';
    return n;
}

static void nbss_request(struct qw_pctx *ctx, struct smb_state *st, const uint8_t *p, size_t n)
{
    struct qw_cursor c = qw_cursor_make(p, n);
    char called[16], calling[16];
    uint8_t s1 = 0, s2 = 0;
    size_t l1 = nbss_name(&c, called, sizeof called, &s1);
    size_t l2 = nbss_name(&c, calling, sizeof calling, &s2);
    struct smb_req *r = &st->scratch_req;
    memset(r, 0, sizeof *r);
    r->version = 0;
    r->cmd = 0x81;
    r->key = 0x81;
    r->ts = qw_pctx_time(ctx);
    r->ops = QW_OP_SESSION;
    r->t1 = smb_text_add(r, called, l1);
    r->t2 = smb_text_add(r, calling, l2);
    r->fields |= SF_NBSS;
    /* "*SMBSERVER" is the wildcard a client uses when it does not know the server's name. */
    if (l1 && called[0] != '*') qw_emit_identity(ctx, true, "netbios_name", called, l1);
    if (l2 && calling[0] != '*') qw_emit_identity(ctx, false, "netbios_name", calling, l2);
    smb_queue(ctx, st, r);
}

static void nbss_response(struct qw_pctx *ctx, struct smb_state *st, uint8_t type,
                          const uint8_t *p, size_t n)
{
    struct smb_rsp *q = &st->rsp;
    memset(q, 0, sizeof *q);
    q->version = 0;
    q->cmd = 0x81;
    q->key = 0x81;
    q->ts = qw_pctx_time(ctx);
    q->nbss_type = type;
    if (type == 0x83 && n >= 1) q->nbss_error = p[0];
    smb_on_response(ctx, st, q);
}

/* ---- Framing ------------------------------------------------------------------------------- */

static void smb_on_message(struct qw_pctx *ctx, struct smb_state *st, enum qw_dir dir,
                           const uint8_t *m, size_t n, size_t total, bool prefix_only)
{
    struct smb_dir *sd = &st->dir[dir];
    if (n < 4) {
        qw_emit_anomaly(ctx, "smb.invalid_header", "short message");
        return;
    }
    if (memcmp(m, "\xFESMB", 4) == 0) {
        if (n < SMB2_HDR) {
            qw_emit_anomaly(ctx, "smb.invalid_header", "short SMB2 header");
            return;
        }
        smb2_message(ctx, st, m, n, prefix_only);
    } else if (memcmp(m, "\xFFSMB", 4) == 0) {
        if (n < SMB1_HDR) {
            qw_emit_anomaly(ctx, "smb.invalid_header", "short SMB1 header");
            return;
        }
        smb1_message(ctx, st, dir, m, n, prefix_only);
    } else if (memcmp(m, "\xFDSMB", 4) == 0) {
        if (!sd->enc_msgs && !st->dir[dir ^ 1].enc_msgs) st->first_enc_ns = qw_pctx_time(ctx);
        sd->enc_msgs++;
        sd->enc_bytes += total;
    } else if (memcmp(m, "\xFCSMB", 4) == 0) {
        sd->comp_msgs++;
    } else {
        qw_emit_anomaly(ctx, "smb.invalid_header", "unknown protocol id");
    }
}

static size_t smb_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct smb_state *st = state;
    struct smb_dir *sd = &st->dir[dir];
    size_t off = 0;
    if (sd->skip_left) {
        size_t k = len < sd->skip_left ? len : sd->skip_left;
        sd->skip_left -= (uint32_t)k;
        off = k;
    }
    while (off < len) {
        if (sd->lost) return len;
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        uint8_t type = qw_cur_u8(&c);
        uint32_t mlen = qw_cur_be24(&c);
        if (c.err) return off;
        const uint8_t *body = data + off + NBSS_HDR;
        size_t avail = len - off - NBSS_HDR;
        switch (type) {
        case 0x00: break;
        case 0x81: case 0x82: case 0x83: case 0x84: case 0x85:
            /* Session service control messages are small ([NBSS] s.4.3.2-4.3.7). */
            if (mlen > 1024) goto bad;
            if (avail < mlen) return off;
            if (type == 0x81 && dir == QW_DIR_TO_SERVER) nbss_request(ctx, st, body, mlen);
            else if (type >= 0x82 && type <= 0x84 && dir == QW_DIR_TO_CLIENT)
                nbss_response(ctx, st, type, body, mlen);
            off += NBSS_HDR + mlen;
            continue;
        default: goto bad;
        }
        if (mlen <= SMB_INLINE_MAX) {
            if (avail < mlen) return off;
            smb_on_message(ctx, st, dir, body, mlen, mlen, false);
            off += NBSS_HDR + mlen;
            continue;
        }
        /* A long message: decode its prefix once it is here, skip the rest as it comes. */
        size_t pre = SMB_PREFIX;
        if (avail < pre) return off;
        smb_on_message(ctx, st, dir, body, pre, mlen, true);
        size_t have = avail < mlen ? avail : mlen;
        off += NBSS_HDR + have;
        sd->skip_left = (uint32_t)(mlen - have);
        continue;
    bad:
        qw_emit_anomaly(ctx, "smb.invalid_nbss", NULL);
        sd->lost = true;
        return len;
    }
    return off;
}

static void smb_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct smb_state *st = state;
    /* Message boundaries cannot be found again after a hole: stop parsing that side. */
    st->dir[dir].lost = true;
    st->dir[dir].skip_left = 0;
}

static void smb_enc_json(struct qw_json *j, const void *arg)
{
    const struct smb_state *st = arg;
    qw_json_obj_begin(j, "encrypted");
    qw_json_u64(j, "messages_toserver", st->dir[0].enc_msgs);
    qw_json_u64(j, "bytes_toserver", st->dir[0].enc_bytes);
    qw_json_u64(j, "messages_toclient", st->dir[1].enc_msgs);
    qw_json_u64(j, "bytes_toclient", st->dir[1].enc_bytes);
    qw_json_obj_end(j);
}

static void smb_flow_end(struct qw_pctx *ctx, void *state)
{
    struct smb_state *st = state;
    struct smb_req *r;
    while ((r = smb_oldest(st)) != NULL) {
        smb_emit(ctx, st, r, NULL);
        r->used = false;
    }
    if ((st->dir[0].enc_msgs || st->dir[1].enc_msgs) && !st->emitted_enc) {
        st->emitted_enc = true;
        struct qw_txn t = {0};
        t.has_request = true;
        t.function = 0xFD; /* the transform header's protocol id byte */
        t.function_name = "encrypted";
        t.request_ns = st->first_enc_ns ? st->first_enc_ns : 1;
        t.write_json = smb_enc_json;
        t.arg = st;
        qw_emit_txn(ctx, &t);
    }
}

/* ---- Probe --------------------------------------------------------------------------------- */

static bool nbss_name_ok(const uint8_t *p, size_t n)
{
    if (n < 34 || p[0] != 32) return false;
    for (size_t i = 1; i <= 32; i++)
        if (p[i] < 'A' || p[i] > 'P') return false;
    return true;
}

/* One NBSS message at `d`: MATCH when it is SMB (or a session request), NO when it is not,
 * NEED_MORE when too few bytes tell. *skip is set for the session service's own short
 * responses and keepalives, which a capture may show before the first SMB message. */
static enum qw_probe_result smb_probe_one(const uint8_t *data, size_t len, enum qw_dir dir,
                                          size_t *skip)
{
    *skip = 0;
    if (len < 1) return QW_PROBE_NEED_MORE;
    uint8_t type = data[0];
    uint32_t l = len >= NBSS_HDR ? (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3] : 0;
    if (type == 0x81) {
        /* Session request: two encoded names of 34 bytes and their terminators. */
        if (dir != QW_DIR_TO_SERVER) return QW_PROBE_NO;
        if (len < NBSS_HDR + 34) return QW_PROBE_NEED_MORE;
        if (l < 68 || l > 1024 || !nbss_name_ok(data + 4, len - 4)) return QW_PROBE_NO;
        return QW_PROBE_MATCH;
    }
    if (type >= 0x82 && type <= 0x85) {
        /* Positive response and keepalive are empty, a negative response carries one error
         * byte, a retarget 6 bytes ([NBSS] s.4.3.4-4.3.7). */
        static const uint8_t lens[4] = {0, 1, 6, 0};
        if (len > 1 && data[1] != 0) return QW_PROBE_NO;
        if (len < NBSS_HDR) return QW_PROBE_NEED_MORE;
        if (l != lens[type - 0x82]) return QW_PROBE_NO;
        if (type != 0x85 && dir != QW_DIR_TO_CLIENT) return QW_PROBE_NO;
        *skip = NBSS_HDR + l;
        return QW_PROBE_NEED_MORE;
    }
    if (type != 0x00) return QW_PROBE_NO;
    if (len < 8) {
        if (len > 4 && data[4] != 0xFE && data[4] != 0xFF && data[4] != 0xFD && data[4] != 0xFC)
            return QW_PROBE_NO;
        for (size_t i = 5; i < len; i++)
            if (data[i] != (uint8_t)"SMB"[i - 5]) return QW_PROBE_NO;
        return QW_PROBE_NEED_MORE;
    }
    const uint8_t *m = data + 4;
    if (memcmp(m + 1, "SMB", 3) != 0) return QW_PROBE_NO;
    switch (m[0]) {
    case 0xFE: return l >= SMB2_HDR ? QW_PROBE_MATCH : QW_PROBE_NO;
    case 0xFF: return l >= SMB1_HDR + 3 ? QW_PROBE_MATCH : QW_PROBE_NO;
    case 0xFD: return l >= SMB_TRANSFORM_HDR ? QW_PROBE_MATCH : QW_PROBE_NO;
    case 0xFC: return l >= 16 ? QW_PROBE_MATCH : QW_PROBE_NO;
    default: return QW_PROBE_NO;
    }
}

static enum qw_probe_result smb_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    size_t off = 0;
    for (int k = 0; k < 4; k++) {
        size_t skip = 0;
        enum qw_probe_result r = smb_probe_one(data + off, len - off, dir, &skip);
        if (!skip || r != QW_PROBE_NEED_MORE) return r;
        off += skip;
        if (off >= len) return QW_PROBE_NEED_MORE;
    }
    return QW_PROBE_NO;
}

const struct qw_proto qw_proto_smb = {
    .name = "smb",
    .transports = QW_TRANSPORT_TCP,
    .ports = {SMB_PORT, NBSS_PORT, 0},
    .probe = smb_probe,
    .state_size = sizeof(struct smb_state),
    .parse = smb_parse,
    .gap = smb_gap,
    .flow_end = smb_flow_end,
};
