/* Unit tests for the SMB parser (src/proto/smb.c) and NTLMSSP (src/proto/ntlmssp.c).
 *
 * Messages are built from MS-SMB2 s.2.2 and MS-CIFS s.2.2 layouts, NTLMSSP tokens from
 * MS-NLMP s.2.2.1 wrapped in SPNEGO (RFC 4178), NetBIOS session messages from RFC 1002 s.4.3.
 * The builders write little-endian fields byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "engine/pctx.h"
#include "engine/record_sink.h"
#include "engine/stream.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_smb;
#define PROTO qw_proto_smb
#define FX_BUF_MAX 65536

#include "parser_fixture.h"

/* ---- PDU builders -------------------------------------------------------------------------- */

static void put_utf16(struct buf *b, const char *s)
{
    for (; *s; s++) le16(b, (uint8_t)*s);
}

static void zeros(struct buf *b, size_t n)
{
    memset(b->b + b->n, 0, n);
    b->n += n;
}

/* DER TLV with a short or one/two-byte long length. */
static void der(struct buf *out, uint8_t tag, const struct buf *body)
{
    u8(out, tag);
    if (body->n < 0x80) {
        u8(out, (uint8_t)body->n);
    } else if (body->n < 0x100) {
        u8(out, 0x81);
        u8(out, (uint8_t)body->n);
    } else {
        u8(out, 0x82);
        u8(out, (uint8_t)(body->n >> 8));
        u8(out, (uint8_t)body->n);
    }
    put(out, body->b, body->n);
}

static void wrap(struct buf *b, uint8_t tag)
{
    struct buf *t = buf_new();
    der(t, tag, b);
    b->n = 0;
    put(b, t->b, t->n);
    free(t);
}

static const uint8_t oid_spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlm[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01,
                                   0x82, 0x37, 0x02, 0x02, 0x0a};

/* SPNEGO NegTokenInit (RFC 4178 s.4.2.1) around an NTLMSSP token. */
static void spnego_init(struct buf *out, const struct buf *tok)
{
    struct buf *mech = buf_new(), *seq = buf_new(), *b = buf_new();
    put(mech, oid_ntlm, sizeof oid_ntlm);
    wrap(mech, 0x30);
    wrap(mech, 0xA0);
    put(b, tok->b, tok->n);
    wrap(b, 0x04);
    wrap(b, 0xA2);
    put(seq, mech->b, mech->n);
    put(seq, b->b, b->n);
    wrap(seq, 0x30);
    wrap(seq, 0xA0);
    struct buf *all = buf_new();
    put(all, oid_spnego, sizeof oid_spnego);
    put(all, seq->b, seq->n);
    wrap(all, 0x60);
    put(out, all->b, all->n);
    free(mech), free(seq), free(b), free(all);
}

/* SPNEGO NegTokenResp (RFC 4178 s.4.2.2) with a responseToken. */
static void spnego_resp(struct buf *out, const struct buf *tok)
{
    struct buf *b = buf_new();
    put(b, tok->b, tok->n);
    wrap(b, 0x04);
    wrap(b, 0xA2);
    wrap(b, 0x30);
    wrap(b, 0xA1);
    put(out, b->b, b->n);
    free(b);
}

#define NTLM_FLAGS 0xE2898235u /* unicode, NTLM, target info, version, 128, key exchange... */

static void ntlm_version(struct buf *b, uint8_t major, uint8_t minor, uint16_t build)
{
    u8(b, major);
    u8(b, minor);
    le16(b, build);
    zeros(b, 3);
    u8(b, 15);
}

static void ntlm_negotiate(struct buf *b)
{
    put(b, "NTLMSSP\0", 8);
    le32(b, 1);
    le32(b, NTLM_FLAGS);
    le16(b, 0), le16(b, 0), le32(b, 40);
    le16(b, 0), le16(b, 0), le32(b, 40);
    ntlm_version(b, 10, 0, 19041);
}

static void av(struct buf *b, uint16_t id, const char *s)
{
    le16(b, id);
    le16(b, (uint16_t)(2 * strlen(s)));
    put_utf16(b, s);
}

/* CHALLENGE_MESSAGE ([NLMP] s.2.2.1.2) with target name and info. */
static void ntlm_challenge(struct buf *b, const char *nbname, const char *nbdom,
                           const char *dnsname, const char *dnsdom)
{
    struct buf *info = buf_new();
    av(info, 2, nbdom);
    av(info, 1, nbname);
    av(info, 4, dnsdom);
    av(info, 3, dnsname);
    av(info, 5, dnsdom);
    le16(info, 0), le16(info, 0);
    size_t tl = 2 * strlen(nbdom);
    put(b, "NTLMSSP\0", 8);
    le32(b, 2);
    le16(b, (uint16_t)tl), le16(b, (uint16_t)tl), le32(b, 56);
    le32(b, NTLM_FLAGS);
    put(b, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    zeros(b, 8);
    le16(b, (uint16_t)info->n), le16(b, (uint16_t)info->n), le32(b, (uint32_t)(56 + tl));
    ntlm_version(b, 10, 0, 17763);
    put_utf16(b, nbdom);
    put(b, info->b, info->n);
    free(info);
}

/* AUTHENTICATE_MESSAGE ([NLMP] s.2.2.1.3). */
static void ntlm_authenticate(struct buf *b, const char *dom, const char *user, const char *ws,
                              size_t nt_len)
{
    struct buf *payload = buf_new();
    size_t off = 88;
    size_t lens[6] = {24, nt_len, 2 * strlen(dom), 2 * strlen(user), 2 * strlen(ws), 16};
    zeros(payload, 24);
    for (size_t i = 0; i < nt_len; i++) u8(payload, (uint8_t)i);
    put_utf16(payload, dom);
    put_utf16(payload, user);
    put_utf16(payload, ws);
    zeros(payload, 16);
    put(b, "NTLMSSP\0", 8);
    le32(b, 3);
    size_t at = off;
    for (int i = 0; i < 6; i++) {
        le16(b, (uint16_t)lens[i]), le16(b, (uint16_t)lens[i]), le32(b, (uint32_t)at);
        at += lens[i];
    }
    le32(b, NTLM_FLAGS);
    ntlm_version(b, 10, 0, 19041);
    zeros(b, 16);
    put(b, payload->b, payload->n);
    free(payload);
}

#define SESSION 0x0000100000000041ull

/* SMB2 sync header ([SMB2] s.2.2.1.2). */
static void smb2_hdr(struct buf *b, uint16_t cmd, uint64_t msg_id, uint32_t status, bool rsp,
                     uint32_t tree)
{
    put(b, "\xfeSMB", 4);
    le16(b, 64);
    le16(b, 1);
    le32(b, status);
    le16(b, cmd);
    le16(b, 1);
    le32(b, rsp ? 1 : 0);
    le32(b, 0);
    le64(b, msg_id);
    le32(b, 0xFEFF);
    le32(b, tree);
    le64(b, cmd == 0 ? 0 : SESSION);
    zeros(b, 16);
}

/* NBSS session message around `m`. */
static void nbss(struct buf *out, const struct buf *m)
{
    u8(out, 0);
    u8(out, (uint8_t)(m->n >> 16));
    u8(out, (uint8_t)(m->n >> 8));
    u8(out, (uint8_t)m->n);
    put(out, m->b, m->n);
}

static void negotiate_req(struct buf *o)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 0, 0, 0, false, 0);
    le16(m, 36), le16(m, 3), le16(m, 1), le16(m, 0), le32(m, 0x7f);
    zeros(m, 16 + 8);
    le16(m, 0x0202), le16(m, 0x0300), le16(m, 0x0302);
    nbss(o, m);
    free(m);
}

static void negotiate_rsp(struct buf *o, uint16_t secmode)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 0, 0, 0, true, 0);
    le16(m, 65), le16(m, secmode), le16(m, 0x0302), le16(m, 0);
    for (int i = 0; i < 16; i++) u8(m, (uint8_t)(0xA0 + i));
    le32(m, 0x2f), le32(m, 65536), le32(m, 65536), le32(m, 65536);
    le64(m, 0), le64(m, 0);
    le16(m, 128), le16(m, 0), le32(m, 0);
    u8(m, 0);
    nbss(o, m);
    free(m);
}

static void session_req(struct buf *o, uint64_t id, const struct buf *blob)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 1, id, 0, false, 0);
    le16(m, 25), u8(m, 0), u8(m, 1), le32(m, 1), le32(m, 0);
    le16(m, 88), le16(m, (uint16_t)blob->n), le64(m, 0);
    put(m, blob->b, blob->n);
    nbss(o, m);
    free(m);
}

static void session_rsp(struct buf *o, uint64_t id, uint32_t status, const struct buf *blob)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 1, id, status, true, 0);
    le16(m, 9), le16(m, 0), le16(m, 72), le16(m, (uint16_t)blob->n);
    put(m, blob->b, blob->n);
    nbss(o, m);
    free(m);
}

static void tree_req(struct buf *o, uint64_t id, const char *path)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 3, id, 0, false, 0);
    le16(m, 9), le16(m, 0), le16(m, 72), le16(m, (uint16_t)(2 * strlen(path)));
    put_utf16(m, path);
    nbss(o, m);
    free(m);
}

static void tree_rsp(struct buf *o, uint64_t id)
{
    struct buf *m = buf_new();
    smb2_hdr(m, 3, id, 0, true, 5);
    le16(m, 16), u8(m, 1), u8(m, 0), le32(m, 0), le32(m, 0), le32(m, 0x1f01ff);
    nbss(o, m);
    free(m);
}

static const uint8_t file_id[16] = {0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void create_req(struct buf *m, uint64_t id, const char *name, uint32_t disp, uint32_t access)
{
    smb2_hdr(m, 5, id, 0, false, 5);
    le16(m, 57), u8(m, 0), u8(m, 0), le32(m, 2), le64(m, 0), le64(m, 0);
    le32(m, access), le32(m, 0x80), le32(m, 7), le32(m, disp), le32(m, 0x40);
    le16(m, 120), le16(m, (uint16_t)(2 * strlen(name))), le32(m, 0), le32(m, 0);
    put_utf16(m, name);
}

static void create_rsp(struct buf *m, uint64_t id, uint32_t status)
{
    smb2_hdr(m, 5, id, status, true, 5);
    if (status) {
        le16(m, 9), u8(m, 0), u8(m, 0), le32(m, 0), u8(m, 0);
        return;
    }
    le16(m, 89), u8(m, 0), u8(m, 0), le32(m, 2);
    zeros(m, 32);
    le64(m, 4096), le64(m, 1234), le32(m, 0x80), le32(m, 0);
    put(m, file_id, 16);
    le32(m, 0), le32(m, 0);
}

static void rw_req(struct buf *o, uint16_t cmd, uint64_t id, uint32_t len, const uint8_t *data)
{
    struct buf *m = buf_new();
    smb2_hdr(m, cmd, id, 0, false, 5);
    le16(m, 49);
    if (cmd == 9) le16(m, 112);
    else u8(m, 0x50), u8(m, 0);
    le32(m, len), le64(m, 4096);
    put(m, file_id, 16);
    zeros(m, 16);
    if (cmd == 9) put(m, data, len);
    else u8(m, 0);
    nbss(o, m);
    free(m);
}

static void rw_rsp(struct buf *o, uint16_t cmd, uint64_t id, uint32_t len)
{
    struct buf *m = buf_new();
    smb2_hdr(m, cmd, id, 0, true, 5);
    le16(m, 17);
    if (cmd == 8) {
        u8(m, 80), u8(m, 0), le32(m, len), le32(m, 0), le32(m, 0);
        for (uint32_t i = 0; i < len; i++) u8(m, (uint8_t)i);
    } else {
        le16(m, 0), le32(m, len), le32(m, 0), le16(m, 0), le16(m, 0);
    }
    nbss(o, m);
    free(m);
}

static void simple(struct buf *o, uint16_t cmd, uint64_t id, bool rsp, uint32_t status)
{
    struct buf *m = buf_new();
    smb2_hdr(m, cmd, id, status, rsp, 5);
    le16(m, 4), le16(m, 0);
    nbss(o, m);
    free(m);
}

/* A whole NTLM-authenticated session, one buffer per message direction switch. */
struct conv {
    struct buf *c[6], *s[6];
};

static void build_session(struct conv *v)
{
    for (int i = 0; i < 6; i++) v->c[i] = buf_new(), v->s[i] = buf_new();
    negotiate_req(v->c[0]);
    negotiate_rsp(v->s[0], 1);
    struct buf *tok = buf_new(), *blob = buf_new();
    ntlm_negotiate(tok);
    spnego_init(blob, tok);
    session_req(v->c[1], 1, blob);
    tok->n = blob->n = 0;
    ntlm_challenge(tok, "SCADA01", "PORTOPS", "scada01.portops.local", "portops.local");
    spnego_resp(blob, tok);
    session_rsp(v->s[1], 1, 0xC0000016, blob);
    tok->n = blob->n = 0;
    ntlm_authenticate(tok, "PORTOPS", "crane.eng", "HMI-07", 48);
    spnego_resp(blob, tok);
    session_req(v->c[2], 2, blob);
    blob->n = 0;
    session_rsp(v->s[2], 2, 0, blob);
    tree_req(v->c[3], 3, "\\\\SCADA01\\recipes");
    tree_rsp(v->s[3], 3);
    struct buf *m = buf_new();
    create_req(m, 4, "crane7\\setpoints.csv", 5, 0x0012019F);
    nbss(v->c[4], m);
    m->n = 0;
    create_rsp(m, 4, 0);
    nbss(v->s[4], m);
    static const uint8_t data[20] = {1, 2, 3};
    rw_req(v->c[5], 9, 5, sizeof data, data);
    rw_req(v->c[5], 8, 6, 100, NULL); /* two requests in one chunk */
    rw_rsp(v->s[5], 9, 5, sizeof data);
    rw_rsp(v->s[5], 8, 6, 100);
    simple(v->s[5], 4, 7, true, 0); /* an answer without its request */
    free(tok), free(blob), free(m);
}

static void free_session(struct conv *v)
{
    for (int i = 0; i < 6; i++) free(v->c[i]), free(v->s[i]);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_smb2_ntlm_session(void **ts)
{
    struct fx *f = *ts;
    struct conv v;
    build_session(&v);
    for (int i = 0; i < 6; i++) {
        feed(f, C2S, v.c[i]->b, v.c[i]->n);
        feed(f, S2C, v.s[i]->b, v.s[i]->n);
    }
    flow_end(f);
    free_session(&v);
    assert_int_equal(f->rec.ntxns, 8);
    assert_string_equal(f->rec.txns[0].txn.function_name, "negotiate");
    JSON_HAS(f, 0, "\"request\":{\"version\":2,\"command\":0,\"command_name\":\"negotiate\","
                   "\"message_id\":0,\"dialects\":[\"2.0.2\",\"3.0\",\"3.0.2\"]}");
    JSON_HAS(f, 0, "\"dialect\":\"3.0.2\",\"signing_enabled\":true,\"signing_required\":false,"
                   "\"capabilities\":\"0x0000002f\",\"server_guid\":"
                   "\"a3a2a1a0-a5a4-a7a6-a8a9-aaabacadaeaf\"");
    assert_int_equal(f->rec.txns[1].txn.ops, QW_OP_AUTH | QW_OP_SESSION);
    assert_false(f->rec.txns[1].txn.error); /* MORE_PROCESSING_REQUIRED is not an error */
    JSON_HAS(f, 1, "\"ntlm_message\":\"challenge\",\"ntlm_flags\":\"0xe2898235\",\"os_version\":"
                   "\"Windows 10.0 build 17763\",\"target_name\":\"PORTOPS\",\"netbios_computer\":"
                   "\"SCADA01\",\"netbios_domain\":\"PORTOPS\",\"dns_computer\":"
                   "\"scada01.portops.local\",\"dns_domain\":\"portops.local\",\"dns_tree\":"
                   "\"portops.local\"");
    JSON_HAS(f, 2, "\"ntlm_message\":\"authenticate\",\"user\":\"crane.eng\",\"domain\":"
                   "\"PORTOPS\",\"workstation\":\"HMI-07\",\"anonymous\":false,\"ntlm_version\":"
                   "\"v2\"");
    JSON_HAS(f, 3, "\"path\":\"\\\\\\\\SCADA01\\\\recipes\"");
    JSON_HAS(f, 3, "\"tree_id\":5,\"status\":\"0x00000000\",\"status_name\":\"STATUS_SUCCESS\","
                   "\"share_type\":\"disk\"");
    assert_int_equal(f->rec.txns[4].txn.ops, QW_OP_FILE | QW_OP_WRITE);
    JSON_HAS(f, 4, "\"file_name\":\"crane7\\\\setpoints.csv\",\"desired_access\":\"0x0012019f\","
                   "\"disposition\":\"overwrite_if\",\"create_options\":\"0x00000040\"");
    JSON_HAS(f, 4, "\"create_action\":\"created\",\"end_of_file\":1234");
    /* WRITE and READ name the file the CREATE opened. */
    JSON_HAS(f, 5, "\"command_name\":\"write\",\"message_id\":5,\"session_id\":"
                   "\"0x0000100000000041\",\"tree_id\":5,\"file_name\":\"crane7\\\\setpoints.csv\","
                   "\"length\":20,\"offset\":4096}");
    assert_int_equal(f->rec.txns[5].txn.ops, QW_OP_FILE | QW_OP_WRITE);
    JSON_HAS(f, 6, "\"data_length\":100");
    assert_int_equal(f->rec.txns[6].txn.ops, QW_OP_FILE | QW_OP_READ);
    assert_false(f->rec.txns[7].txn.has_request);
    assert_string_equal(qw_record_identity(&f->rec, true, "netbios_name"), "SCADA01");
    assert_string_equal(qw_record_identity(&f->rec, true, "netbios_domain"), "PORTOPS");
    assert_string_equal(qw_record_identity(&f->rec, true, "hostname"), "scada01.portops.local");
    assert_string_equal(qw_record_identity(&f->rec, true, "domain"), "portops.local");
    assert_string_equal(qw_record_identity(&f->rec, true, "os_version"),
                        "Windows 10.0 build 17763");
    assert_string_equal(qw_record_identity(&f->rec, false, "os_version"),
                        "Windows 10.0 build 19041");
    assert_string_equal(qw_record_identity(&f->rec, false, "smb_user"), "PORTOPS\\crane.eng");
    assert_string_equal(f->rec.session_user, "PORTOPS\\crane.eng");
    assert_string_equal(f->rec.session_user_source, "ntlm");
    assert_int_equal(f->rec.nsession_users, 1); /* the server's CHALLENGE names nobody */
    assert_string_equal(qw_record_identity(&f->rec, false, "netbios_name"), "HMI-07");
    assert_int_equal(f->rec.nanomalies, 0);
    /* The challenge leg (MORE_PROCESSING_REQUIRED) and a login that worked: no failure. */
    assert_int_equal(f->rec.ndevice_reports, 0);
}

/* One SMB2 NTLM login attempt (message ids from `id`): NEGOTIATE, CHALLENGE, then the
 * AUTHENTICATE of `user` (anonymous when "" with no NT response) answered by `status`. */
static void ntlm_attempt(struct fx *f, uint64_t id, const char *user, uint32_t status)
{
    struct buf *o = buf_new(), *tok = buf_new(), *blob = buf_new();
    ntlm_negotiate(tok);
    spnego_init(blob, tok);
    session_req(o, id, blob);
    feed(f, C2S, o->b, o->n);
    o->n = tok->n = blob->n = 0;
    ntlm_challenge(tok, "SCADA01", "PORTOPS", "scada01.portops.local", "portops.local");
    spnego_resp(blob, tok);
    session_rsp(o, id, 0xC0000016, blob);
    feed(f, S2C, o->b, o->n);
    o->n = tok->n = blob->n = 0;
    ntlm_authenticate(tok, user[0] ? "PORTOPS" : "", user, "HMI-07", user[0] ? 48 : 0);
    spnego_resp(blob, tok);
    session_req(o, id + 1, blob);
    feed(f, C2S, o->b, o->n);
    o->n = blob->n = 0;
    session_rsp(o, id + 1, status, blob);
    feed(f, S2C, o->b, o->n);
    free(o), free(tok), free(blob);
}

static void test_smb2_logon_failures(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new();
    negotiate_req(o);
    feed(f, C2S, o->b, o->n);
    o->n = 0;
    negotiate_rsp(o, 1);
    feed(f, S2C, o->b, o->n);
    free(o);
    ntlm_attempt(f, 1, "crane.eng", 0xC000006D); /* STATUS_LOGON_FAILURE */
    assert_int_equal(f->rec.ndevice_reports, 1);
    const struct qw_rec_device_report *r = &f->rec.device_report;
    assert_int_equal(r->kind, QW_REPORT_LOGIN_FAILED);
    assert_true(r->server);
    assert_string_equal(r->message_id, "smb logon failure");
    assert_string_equal(r->user, "crane.eng");
    assert_true(r->from_peer); /* the engine names the client */
    JSON_HAS(f, 2, "\"status_name\":\"STATUS_LOGON_FAILURE\"");
    ntlm_attempt(f, 3, "administrator", 0xC000006A); /* STATUS_WRONG_PASSWORD */
    assert_int_equal(f->rec.ndevice_reports, 2);
    assert_string_equal(f->rec.device_report.user, "administrator");
    ntlm_attempt(f, 5, "admin", 0xC0000234); /* STATUS_ACCOUNT_LOCKED_OUT */
    ntlm_attempt(f, 7, "guest", 0xC0000064); /* STATUS_NO_SUCH_USER */
    assert_int_equal(f->rec.ndevice_reports, 4);
    assert_string_equal(f->rec.device_report.user, "guest");
    /* Not guesses: an anonymous login refused (no credentials offered), an account that may
     * not log on (disabled: the password was right), a success. */
    ntlm_attempt(f, 9, "", 0xC000006D);
    ntlm_attempt(f, 11, "operator", 0xC0000072); /* STATUS_ACCOUNT_DISABLED */
    ntlm_attempt(f, 13, "operator", 0);
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 4);
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    struct conv v;
    build_session(&v);
    struct msg conv[12];
    for (int i = 0; i < 6; i++) {
        conv[2 * i] = (struct msg){C2S, v.c[i]->b, v.c[i]->n};
        conv[2 * i + 1] = (struct msg){S2C, v.s[i]->b, v.s[i]->n};
    }
    check_every_split(f, conv, 12);
    free_session(&v);
    assert_int_equal(f->rec.ntxns, 8);
}

static void test_interim_and_compound(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    /* CHANGE_NOTIFY, then an async STATUS_PENDING interim answer, then the final one. */
    smb2_hdr(m, 15, 9, 0, false, 5);
    le16(m, 32), le16(m, 0), le32(m, 4096);
    put(m, file_id, 16);
    le32(m, 0x17), le32(m, 0);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    o->n = m->n = 0;
    put(m, "\xfeSMB", 4), le16(m, 64), le16(m, 1), le32(m, 0x103), le16(m, 15), le16(m, 1);
    le32(m, 3), le32(m, 0), le64(m, 9), le64(m, 0x77), le64(m, SESSION);
    zeros(m, 16);
    le16(m, 9), le16(m, 0), le32(m, 0), u8(m, 0);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    assert_int_equal(f->rec.ntxns, 0);
    m->b[8] = 0x20, m->b[9] = 0x01, m->b[10] = 0, m->b[11] = 0xC0; /* STATUS_CANCELLED */
    o->n = 0;
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    assert_int_equal(f->rec.ntxns, 1);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"status\":\"0xc0000120\",\"status_name\":\"STATUS_CANCELLED\"");
    /* A compound: CREATE (NextCommand 8-aligned) + CLOSE in one transport message. */
    o->n = m->n = 0;
    create_req(m, 20, "a.txt", 1, 0x80);
    while (m->n % 8) u8(m, 0);
    uint32_t next = (uint32_t)m->n;
    memcpy(m->b + 20, &next, 4); /* little-endian host assumed by the test */
    smb2_hdr(m, 6, 21, 0, false, 5);
    le16(m, 24), le16(m, 0), le32(m, 0);
    put(m, file_id, 16);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_string_equal(f->rec.txns[1].txn.function_name, "create");
    JSON_HAS(f, 1, "\"file_name\":\"a.txt\",\"desired_access\":\"0x00000080\","
                   "\"disposition\":\"open\"");
    assert_int_equal(f->rec.txns[1].txn.ops, QW_OP_FILE);
    assert_string_equal(f->rec.txns[2].txn.function_name, "close");
    free(o), free(m);
}

static void test_long_read_streams_past(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new();
    rw_req(o, 8, 6, 40000, NULL);
    feed(f, C2S, o->b, o->n);
    o->n = 0;
    rw_rsp(o, 8, 6, 40000);
    simple(o, 13, 7, true, 0); /* an ECHO answer right behind the data */
    for (size_t at = 0; at < o->n; at += 1460) {
        size_t k = o->n - at < 1460 ? o->n - at : 1460;
        feed(f, S2C, o->b + at, k);
    }
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"data_length\":40000,\"data_not_parsed\":true");
    assert_string_equal(f->rec.txns[1].txn.function_name, "echo");
    assert_int_equal(f->rec.nanomalies, 0);
    free(o);
}

/* SMB1 header ([CIFS] s.2.2.3.1). */
static void smb1_hdr(struct buf *b, uint8_t cmd, uint32_t status, bool reply, uint16_t mid)
{
    put(b, "\xffSMB", 4);
    u8(b, cmd);
    le32(b, status);
    u8(b, reply ? 0x98 : 0x18);
    le16(b, 0xC803); /* unicode, NT status, extended security, long names */
    le16(b, 0);
    zeros(b, 8);
    le16(b, 0);
    le16(b, 0);      /* tid */
    le16(b, 0xFEFF); /* pid */
    le16(b, 0);      /* uid */
    le16(b, mid);
}

static void nb_name(struct buf *b, const char *name, uint8_t suffix)
{
    char pad[16];
    memset(pad, ' ', 15);
    memcpy(pad, name, strlen(name));
    pad[15] = (char)suffix;
    u8(b, 32);
    for (int i = 0; i < 16; i++) {
        u8(b, (uint8_t)('A' + (((uint8_t)pad[i]) >> 4)));
        u8(b, (uint8_t)('A' + (pad[i] & 15)));
    }
    u8(b, 0);
}

static void test_smb1_over_netbios(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    /* Session request to IAS01<20> from PANELPC02<00> ([NBSS] s.4.3.2). */
    u8(o, 0x81), u8(o, 0), u8(o, 0), u8(o, 68);
    nb_name(o, "IAS01", 0x20);
    nb_name(o, "PANELPC02", 0);
    feed(f, C2S, o->b, o->n);
    static const uint8_t pos[] = {0x82, 0, 0, 0};
    feed(f, S2C, pos, sizeof pos);
    /* NEGOTIATE: one dialect */
    o->n = 0;
    smb1_hdr(m, 0x72, 0, false, 1);
    u8(m, 0);
    le16(m, 12);
    put(m, "\x02NT LM 0.12", 12);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    /* NT LM 0.12 response with extended security ([CIFS] s.2.2.4.52.2) */
    o->n = m->n = 0;
    smb1_hdr(m, 0x72, 0, true, 1);
    u8(m, 17);
    le16(m, 0);       /* dialect index */
    u8(m, 0x03);     /* user level, encrypt passwords */
    le16(m, 50), le16(m, 1), le32(m, 16644), le32(m, 65536), le32(m, 0);
    le32(m, 0x8001e3fc);
    le64(m, 0), le16(m, 0), u8(m, 0);
    le16(m, 16);
    for (int i = 0; i < 16; i++) u8(m, (uint8_t)i);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    /* SESSION_SETUP_ANDX with an NTLMv1 AUTHENTICATE ([MS-SMB] s.2.2.4.6.1) */
    o->n = m->n = 0;
    struct buf *tok = buf_new(), *blob = buf_new();
    ntlm_authenticate(tok, "PANELPC02", "Administrator", "PANELPC02", 24);
    spnego_resp(blob, tok);
    smb1_hdr(m, 0x73, 0, false, 2);
    u8(m, 12);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    le16(m, 4356), le16(m, 10), le16(m, 0), le32(m, 0);
    le16(m, (uint16_t)blob->n), le32(m, 0), le32(m, 0x800000d4);
    le16(m, (uint16_t)(blob->n + 1));
    put(m, blob->b, blob->n);
    u8(m, 0);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    /* Response: no words beyond AndX, NativeOS and NativeLanMan */
    o->n = m->n = 0;
    smb1_hdr(m, 0x73, 0, true, 2);
    u8(m, 4);
    u8(m, 0xff), u8(m, 0), le16(m, 0), le16(m, 0), le16(m, 0);
    struct buf *bytes = buf_new();
    u8(bytes, 0); /* pad to an even offset from the header */
    put_utf16(bytes, "Windows Server 2003 3790 Service Pack 2");
    le16(bytes, 0);
    put_utf16(bytes, "Windows Server 2003 5.2");
    le16(bytes, 0);
    le16(m, (uint16_t)bytes->n);
    put(m, bytes->b, bytes->n);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 0, "\"request\":{\"called_name\":\"IAS01\",\"calling_name\":\"PANELPC02\"},"
                   "\"response\":{\"nbss_type\":\"positive_response\"}");
    assert_string_equal(f->rec.txns[1].txn.function_name, "smb1_negotiate");
    assert_int_equal(f->rec.txns[1].txn.function, 0x172);
    JSON_HAS(f, 1, "\"dialects\":[\"NT LM 0.12\"]");
    JSON_HAS(f, 1, "\"dialect_index\":0,\"signing_enabled\":false,\"signing_required\":false");
    JSON_HAS(f, 2, "\"user\":\"Administrator\",\"domain\":\"PANELPC02\",\"workstation\":"
                   "\"PANELPC02\",\"anonymous\":false,\"ntlm_version\":\"v1\"");
    JSON_HAS(f, 2, "\"native_os\":\"Windows Server 2003 3790 Service Pack 2\",\"native_lanman\":"
                   "\"Windows Server 2003 5.2\"");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.smb1"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "server answered smb1_negotiate");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.ntlmv1"), 1);
    assert_string_equal(qw_record_identity(&f->rec, true, "netbios_name"), "IAS01");
    assert_string_equal(qw_record_identity(&f->rec, false, "smb_user"), "PANELPC02\\Administrator");
    free(o), free(m), free(tok), free(blob), free(bytes);
}

static void test_smb1_file_ops(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    /* NT_CREATE_ANDX ([CIFS] s.2.2.4.64.1): 24 words, then the (unicode, aligned) name. */
    smb1_hdr(m, 0xA2, 0, false, 5);
    u8(m, 24);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    u8(m, 0);
    le16(m, 2 * 9);
    le32(m, 0), le32(m, 0);
    le32(m, 0x40000000); /* GENERIC_WRITE */
    le64(m, 0), le32(m, 0x80), le32(m, 7);
    le32(m, 5), le32(m, 0x40), le32(m, 2), u8(m, 0);
    le16(m, 1 + 2 * 9);
    u8(m, 0);
    put_utf16(m, "recipe.db");
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    o->n = m->n = 0;
    smb1_hdr(m, 0xA2, 0, true, 5);
    u8(m, 34);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    u8(m, 0), le16(m, 0x4001), le32(m, 2);
    zeros(m, 68 - 11);
    le16(m, 0);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    /* WRITE_ANDX of 70000 bytes announced (DataLengthHigh 1), its data not included here. */
    o->n = m->n = 0;
    smb1_hdr(m, 0x2F, 0, false, 6);
    u8(m, 14);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    le16(m, 0x4001), le32(m, 512), le32(m, 0), le16(m, 0), le16(m, 0);
    le16(m, 1), le16(m, 70000 - 65536), le16(m, 64), le32(m, 0);
    le16(m, 0);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    o->n = m->n = 0;
    smb1_hdr(m, 0x2F, 0, true, 6);
    u8(m, 6);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    le16(m, 70000 - 65536), le16(m, 0), le16(m, 1), le16(m, 0);
    le16(m, 0);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.txns[0].txn.function, 0x1A2);
    assert_int_equal(f->rec.txns[0].txn.ops, QW_OP_FILE | QW_OP_WRITE);
    JSON_HAS(f, 0, "\"file_name\":\"recipe.db\",\"desired_access\":\"0x40000000\","
                   "\"disposition\":\"overwrite_if\"");
    JSON_HAS(f, 0, "\"create_action\":\"created\"");
    JSON_HAS(f, 1, "\"file_name\":\"recipe.db\",\"length\":70000,\"offset\":512}");
    JSON_HAS(f, 1, "\"data_length\":70000");
    assert_int_equal(f->rec.txns[1].txn.ops, QW_OP_FILE | QW_OP_WRITE);
    free(o), free(m);
}

static void test_smb1_plaintext_password(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    smb1_hdr(m, 0x72, 0, true, 1);
    u8(m, 17);
    le16(m, 0);
    u8(m, 0x01); /* user level, passwords NOT encrypted */
    le16(m, 50), le16(m, 1), le32(m, 4356), le32(m, 65536), le32(m, 0);
    le32(m, 0x0000e3fc); /* no extended security */
    le64(m, 0), le16(m, 0), u8(m, 0);
    le16(m, 0);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    o->n = m->n = 0;
    smb1_hdr(m, 0x73, 0, false, 2);
    m->b[10] = 0x01; /* flags2 without unicode: OEM strings */
    m->b[11] = 0x00;
    u8(m, 13);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    le16(m, 4356), le16(m, 10), le16(m, 0), le32(m, 0);
    le16(m, 7), le16(m, 0), le32(m, 0), le32(m, 0);
    le16(m, 7 + 4 + 5);
    put(m, "secret\0", 7);
    put(m, "bob\0", 4);
    put(m, "PORT\0", 5);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.cleartext_credentials"), 1);
    bool found = false;
    for (size_t i = 0; i < f->rec.nanomalies; i++)
        found = found || strcmp(f->rec.anomalies[i].detail, "user bob") == 0;
    assert_true(found);
    assert_string_equal(qw_record_identity(&f->rec, false, "smb_user"), "PORT\\bob");
    for (size_t i = 0; i < f->rec.ntxns; i++) assert_null(strstr(f->rec.txns[i].json, "secret"));
    free(o), free(m);
}

static void test_smb1_logon_failure(void **ts)
{
    struct fx *f = *ts;
    /* SESSION_SETUP_ANDX with an account name (NT LM 0.12, 13 words), refused. */
    struct buf *o = buf_new(), *m = buf_new();
    smb1_hdr(m, 0x73, 0, false, 2);
    m->b[10] = 0x41; /* flags2: NT status, no unicode (OEM strings) */
    m->b[11] = 0x40;
    u8(m, 13);
    u8(m, 0xff), u8(m, 0), le16(m, 0);
    le16(m, 4356), le16(m, 10), le16(m, 0), le32(m, 0);
    le16(m, 24), le16(m, 0), le32(m, 0), le32(m, 0);
    le16(m, 24 + 4 + 5);
    zeros(m, 24);
    put(m, "bob\0", 4);
    put(m, "PORT\0", 5);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    o->n = m->n = 0;
    smb1_hdr(m, 0x73, 0xC000006D, true, 2);
    u8(m, 0);
    le16(m, 0);
    nbss(o, m);
    feed(f, S2C, o->b, o->n);
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_int_equal(f->rec.device_report.kind, QW_REPORT_LOGIN_FAILED);
    assert_string_equal(f->rec.device_report.message_id, "smb logon failure");
    assert_string_equal(f->rec.device_report.user, "bob");
    free(o), free(m);
}

static void test_encrypted_counted(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    put(m, "\xfdSMB", 4);
    zeros(m, 32);
    le32(m, 40), le16(m, 0), le16(m, 1), le64(m, SESSION);
    zeros(m, 40);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    feed(f, C2S, o->b, o->n);
    feed(f, S2C, o->b, o->n);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "encrypted");
    JSON_HAS(f, 0, "\"encrypted\":{\"messages_toserver\":2,\"bytes_toserver\":184,"
                   "\"messages_toclient\":1,\"bytes_toclient\":92}");
    free(o), free(m);
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new(), *m = buf_new();
    smb2_hdr(m, 1, 1, 0, false, 0);
    m->b[4] = 60; /* StructureSize must be 64 */
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.invalid_header"), 1);
    /* An NTLMSSP CHALLENGE whose target info points past the message. */
    o->n = m->n = 0;
    struct buf *tok = buf_new(), *blob = buf_new();
    ntlm_challenge(tok, "A", "B", "c", "d");
    tok->b[44] = 0xff, tok->b[45] = 0x7f; /* TargetInfo offset far away */
    spnego_resp(blob, tok);
    session_rsp(o, 1, 0xC0000016, blob);
    feed(f, S2C, o->b, o->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.malformed_ntlmssp"), 1);
    /* Bad NextCommand (not 8-aligned) */
    o->n = m->n = 0;
    smb2_hdr(m, 13, 2, 0, false, 0);
    m->b[20] = 65;
    le16(m, 4), le16(m, 0);
    nbss(o, m);
    feed(f, C2S, o->b, o->n);
    /* NBSS type that does not exist: the side stops being parsed */
    static const uint8_t bad[] = {0x42, 0, 0, 4, 1, 2, 3, 4};
    feed(f, C2S, bad, sizeof bad);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.invalid_header"), 2);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.invalid_nbss"), 1);
    free(o), free(m), free(tok), free(blob);
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    struct buf *o = buf_new();
    for (uint64_t i = 0; i < 20; i++) simple(o, 13, 100 + i, false, 0);
    feed(f, C2S, o->b, o->n);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 4);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 20);
    free(o);
}

/* Fuzzer find (fuzz_smb, UBSan "applying zero offset to null pointer"): an SMB1
 * SESSION_SETUP_ANDX whose 12 words run past its 40-byte message, so the byte section is cut
 * away entirely and a zero-length security blob was read from a null cursor. */
static void test_regression_smb1_words_past_message(void **ts)
{
    struct fx *f = *ts;
    static const uint8_t msg[] = {
        0x00, 0x00, 0x00, 0x28, 0xff, 0x53, 0x4d, 0x42, 0x73, 0x00, 0x00, 0x00, 0x00, 0x18, 0x07,
        0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xfe, 0x00, 0x00, 0x00, 0x01, 0x0c, 0xff, 0x00, 0xec, 0x00, 0x04, 0x41, 0x32,
    };
    feed(f, C2S, msg, sizeof msg);
    feed(f, S2C, msg, sizeof msg);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "smb.invalid_header"), 2);
    assert_int_equal(f->rec.ntxns, 2);
}

static void test_probe(void **ts)
{
    (void)ts;
    struct buf *o = buf_new();
    negotiate_req(o);
    assert_int_equal(PROTO.probe(o->b, o->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROTO.probe(o->b, 6, C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROTO.probe(o->b, 3, C2S), QW_PROBE_NEED_MORE);
    o->n = 0;
    u8(o, 0x81), u8(o, 0), u8(o, 0), u8(o, 68);
    nb_name(o, "PLC", 0x20);
    nb_name(o, "HMI", 0);
    assert_int_equal(PROTO.probe(o->b, o->n, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROTO.probe(o->b, o->n, S2C), QW_PROBE_NO);
    o->b[5] = 'z';
    assert_int_equal(PROTO.probe(o->b, o->n, C2S), QW_PROBE_NO);
    o->n = 0;
    static const uint8_t pos[] = {0x82, 0, 0, 0};
    put(o, pos, 4);
    assert_int_equal(PROTO.probe(o->b, o->n, S2C), QW_PROBE_NEED_MORE);
    negotiate_rsp(o, 1);
    assert_int_equal(PROTO.probe(o->b, o->n, S2C), QW_PROBE_MATCH);
    static const uint8_t keep[] = {0x85, 0, 0, 0};
    assert_int_equal(PROTO.probe(keep, 4, C2S), QW_PROBE_NEED_MORE);
    static const uint8_t notsmb[] = {0, 0, 0, 0x40, 0xfe, 'S', 'M', 'X'};
    assert_int_equal(PROTO.probe(notsmb, sizeof notsmb, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"\x16\x03\x01\x00\x10", 5, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"\x03\x00\x00\x13\x0e\xe0", 6, C2S), QW_PROBE_NO);
    assert_int_equal(PROTO.probe((const uint8_t *)"\x00\x01\x00\x00\x00\x06\x01\x03", 8, C2S),
                     QW_PROBE_NO); /* Modbus */
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_smb2_ntlm_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_interim_and_compound, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_long_read_streams_past, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_smb1_over_netbios, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_smb1_file_ops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_smb1_plaintext_password, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_counted, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_regression_smb1_words_past_message, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_smb2_logon_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_smb1_logon_failure, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
