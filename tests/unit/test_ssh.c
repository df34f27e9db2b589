/* Unit tests for the SSH parser (src/proto/ssh.c).
 *
 * Streams go through qw_stream_deliver as in the engine, into a recording sink. Packets are
 * built with the RFC 4253 s.6 layout (uint32 packet_length, byte padding_length, payload,
 * padding to a multiple of 8); name-lists and HASSH values were computed independently
 * (Python hashlib.md5 over "kex;enc;mac;comp"). */
#include <setjmp.h>
#include <stdarg.h>
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

extern const struct qw_proto qw_proto_ssh;
#define PROTO qw_proto_ssh
#define FX_BUF_MAX 4096

#include "parser_fixture.h"

/* ---- Packet builders ----------------------------------------------------------------------- */

static void put_str(struct buf *b, const char *s)
{
    u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}

/* Wrap `payload` into a binary packet appended to `out` (RFC 4253 s.6, block size 8). */
static void packet(struct buf *out, const uint8_t *payload, size_t n)
{
    size_t pad = 8 - (5 + n) % 8;
    if (pad < 4) pad += 8;
    u32(out, (uint32_t)(1 + n + pad));
    u8(out, (uint8_t)pad);
    put(out, payload, n);
    memset(out->b + out->n, 0xAB, pad);
    out->n += pad;
}

static void kexinit(struct buf *out, const char *const lists[10])
{
    struct buf p = {{0}, 0};
    p.b[p.n++] = 20;
    memset(p.b + p.n, 0x11, 16); /* cookie */
    p.n += 16;
    for (int i = 0; i < 10; i++) put_str(&p, lists[i]);
    u8(&p, 0);  /* first_kex_packet_follows */
    u32(&p, 0); /* reserved */
    packet(out, p.b, p.n);
}

static void simple(struct buf *out, uint8_t code)
{
    packet(out, &code, 1);
}

/* KEX_ECDH_REPLY: string K_S (string "ssh-ed25519", string key), string Q_S, string sig. */
static void ecdh_reply(struct buf *out, const char *keytype)
{
    struct buf ks = {{0}, 0};
    put_str(&ks, keytype);
    put_str(&ks, "0123456789abcdef0123456789abcdef");
    struct buf p = {{0}, 0};
    p.b[p.n++] = 31;
    u32(&p, (uint32_t)ks.n);
    memcpy(p.b + p.n, ks.b, ks.n);
    p.n += ks.n;
    put_str(&p, "QSQSQSQSQSQSQSQSQSQSQSQSQSQSQSQS");
    put_str(&p, "signature");
    packet(out, p.b, p.n);
}

static const char *const client_lists[10] = {
    "curve25519-sha256,diffie-hellman-group14-sha256,ext-info-c",
    "ssh-ed25519,rsa-sha2-512",
    "aes128-ctr,chacha20-poly1305@openssh.com",
    "aes128-ctr,chacha20-poly1305@openssh.com",
    "hmac-sha2-256,hmac-sha1",
    "hmac-sha2-256,hmac-sha1",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
};
static const char *const server_lists[10] = {
    "curve25519-sha256,diffie-hellman-group1-sha1",
    "rsa-sha2-512,ssh-ed25519",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "hmac-sha1,hmac-sha2-256",
    "hmac-sha1,hmac-sha2-256",
    "none",
    "none",
    "",
    "",
};

static const char client_ident[] = "SSH-2.0-PuTTY_Release_0.78\r\n";
static const char server_ident[] = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n";

struct session {
    struct buf cli, srv;
};

static void build_session(struct session *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->cli.b, client_ident, strlen(client_ident));
    s->cli.n = strlen(client_ident);
    memcpy(s->srv.b, server_ident, strlen(server_ident));
    s->srv.n = strlen(server_ident);
    kexinit(&s->cli, client_lists);
    kexinit(&s->srv, server_lists);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_full_handshake(void **ts)
{
    struct fx *f = *ts;
    struct session s;
    build_session(&s);
    struct buf ci = s.cli, si = s.srv;
    struct buf c2 = {{0}, 0}, s2 = {{0}, 0};
    simple(&c2, 30); /* KEX_ECDH_INIT (the Q_C string is not read) */
    ecdh_reply(&s2, "ssh-ed25519");
    simple(&s2, 21);
    simple(&c2, 21);
    feed(f, S2C, si.b, si.n);
    feed(f, C2S, ci.b, ci.n);
    feed(f, C2S, c2.b, c2.n);
    feed(f, S2C, s2.b, s2.n);
    /* encrypted from here: counted only */
    static const uint8_t enc[100] = {1, 2, 3};
    feed(f, C2S, enc, sizeof enc);
    feed(f, S2C, enc, 60);
    assert_int_equal(f->rec.ntxns, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_string_equal(t->function_name, "session");
    assert_int_equal(t->ops, QW_OP_SESSION);
    assert_true(t->has_request && t->has_response);
    assert_false(t->error);
    JSON_HAS(f, 0, "\"request\":{\"protocol_version\":\"2.0\",\"software_version\":"
                   "\"PuTTY_Release_0.78\",\"hassh\":\"237b8d3bcf5cbf9a59463bd7961e74d5\"");
    JSON_HAS(f, 0, "\"kex_algorithms\":[\"curve25519-sha256\",\"diffie-hellman-group14-sha256\","
                   "\"ext-info-c\"]");
    JSON_HAS(f, 0, "\"messages\":[{\"code\":20,\"name\":\"kexinit\"},{\"code\":30,\"name\":"
                   "\"kex_ecdh_init\"},{\"code\":21,\"name\":\"newkeys\"}],\"clear_packets\":3,"
                   "\"newkeys\":true,\"encrypted_bytes\":100,\"encrypted_segments\":1}");
    JSON_HAS(f, 0, "\"response\":{\"protocol_version\":\"2.0\",\"software_version\":"
                   "\"OpenSSH_8.9p1\",\"comments\":\"Ubuntu-3ubuntu0.1\",\"hassh_server\":"
                   "\"7593f6ce10d4f9936303fd1c20c386ba\"");
    /* The client's order decides ([TRANS] s.7.1). */
    JSON_HAS(f, 0, "\"kex_algorithm\":\"curve25519-sha256\",\"host_key_algorithm\":"
                   "\"ssh-ed25519\",\"encryption_client_to_server\":\"aes128-ctr\","
                   "\"encryption_server_to_client\":\"aes128-ctr\",\"mac_client_to_server\":"
                   "\"hmac-sha2-256\",\"mac_server_to_client\":\"hmac-sha2-256\","
                   "\"compression_client_to_server\":\"none\","
                   "\"compression_server_to_client\":\"none\",\"host_key_type\":\"ssh-ed25519\"");
    JSON_HAS(f, 0, "\"encrypted_bytes\":60,");
    assert_string_equal(qw_record_identity(&f->rec, true, "ssh_banner"),
                        "OpenSSH_8.9p1 Ubuntu-3ubuntu0.1");
    assert_string_equal(qw_record_identity(&f->rec, false, "ssh_client"), "PuTTY_Release_0.78");
    /* diffie-hellman-group1-sha1 is offered by the server but not chosen: no anomaly. */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    struct session s;
    build_session(&s);
    struct buf c2 = {{0}, 0}, s2 = {{0}, 0};
    simple(&c2, 30);
    simple(&c2, 21);
    ecdh_reply(&s2, "ssh-rsa");
    simple(&s2, 21);
    const struct msg conv[] = {
        {S2C, s.srv.b, s.srv.n}, {C2S, s.cli.b, s.cli.n}, {C2S, c2.b, c2.n}, {S2C, s2.b, s2.n},
    };
    check_every_split(f, conv, sizeof conv / sizeof conv[0]);
    JSON_HAS(f, 0, "\"host_key_type\":\"ssh-rsa\"");
}

static void test_weak_algorithms_chosen(void **ts)
{
    struct fx *f = *ts;
    static const char *const weak[10] = {
        "diffie-hellman-group1-sha1", "ssh-dss", "3des-cbc,aes128-cbc", "3des-cbc",
        "hmac-md5,hmac-sha1", "hmac-md5", "none", "none", "", "",
    };
    struct buf c = {{0}, 0}, s = {{0}, 0};
    memcpy(c.b, "SSH-2.0-OldClient\r\n", 19);
    c.n = 19;
    memcpy(s.b, "SSH-1.99-OldServer\r\n", 20);
    s.n = 20;
    kexinit(&c, weak);
    kexinit(&s, weak);
    feed(f, S2C, s.b, s.n);
    feed(f, C2S, c.b, c.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.old_protocol"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "server SSH-1.99");
    /* kex, host key, encryption (both directions: reported once), mac (once) */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.weak_algorithm"), 4);
    bool kex = false, enc = false, mac = false, hk = false;
    for (size_t i = 0; i < f->rec.nanomalies; i++) {
        const char *d = f->rec.anomalies[i].detail;
        kex = kex || strcmp(d, "kex_algorithm diffie-hellman-group1-sha1") == 0;
        hk = hk || strcmp(d, "host_key_algorithm ssh-dss") == 0;
        enc = enc || strcmp(d, "encryption_client_to_server 3des-cbc") == 0;
        mac = mac || strcmp(d, "mac_client_to_server hmac-md5") == 0;
    }
    assert_true(kex && enc && mac && hk);
    /* SSH-1.99 is an SSH-2 server that still accepts SSH-1: the session is SSH-2. */
    assert_null(strstr(f->rec.txns[0].json, "\"ssh1\""));
}

static void test_aead_ignores_mac(void **ts)
{
    struct fx *f = *ts;
    static const char *const aead[10] = {
        "curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com", "hmac-md5", "hmac-md5", "none", "none", "", "",
    };
    struct buf c = {{0}, 0}, s = {{0}, 0};
    memcpy(c.b, "SSH-2.0-A\r\n", 11);
    c.n = 11;
    memcpy(s.b, "SSH-2.0-B\r\n", 11);
    s.n = 11;
    kexinit(&c, aead);
    kexinit(&s, aead);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.weak_algorithm"), 0);
    JSON_HAS(f, 0, "\"mac_client_to_server\":\"<implicit>\"");
}

static void test_no_common_algorithm(void **ts)
{
    struct fx *f = *ts;
    static const char *const a[10] = {"curve25519-sha256", "ssh-ed25519", "aes128-ctr",
                                      "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none",
                                      "none", "", ""};
    static const char *const b[10] = {"diffie-hellman-group14-sha256", "ssh-ed25519",
                                      "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
                                      "hmac-sha2-256", "none", "none", "", ""};
    struct buf c = {{0}, 0}, s = {{0}, 0};
    memcpy(c.b, "SSH-2.0-A\r\n", 11);
    c.n = 11;
    memcpy(s.b, "SSH-2.0-B\r\n", 11);
    s.n = 11;
    kexinit(&c, a);
    kexinit(&s, b);
    feed(f, C2S, c.b, c.n);
    feed(f, S2C, s.b, s.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.no_common_algorithm"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "kex_algorithm");
}

static void test_ssh1_session(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "SSH-1.99-OpenSSH_6.6\n");
    feed_str(f, C2S, "SSH-1.5-OpenSSH_5.3\n");
    /* SSH_SMSG_PUBLIC_KEY: length 9 -> 7 bytes of padding, type 2, 8 bytes data... */
    static const uint8_t pk[] = {0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 9, 9, 9, 9};
    /* SSH_CMSG_SESSION_KEY: length 10 -> 6 bytes of padding, type 3, cipher 3 (3DES) ... */
    static const uint8_t sk[] = {0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 3, 3, 7, 7, 7, 7, 7, 9, 9, 9};
    feed(f, S2C, pk, sizeof pk);
    feed(f, C2S, sk, sizeof sk);
    static const uint8_t enc[32] = {0};
    feed(f, C2S, enc, sizeof enc);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.old_protocol"), 2);
    JSON_HAS(f, 0, "\"messages\":[{\"code\":3,\"name\":\"cmsg_session_key\"}]");
    JSON_HAS(f, 0, "\"messages\":[{\"code\":2,\"name\":\"smsg_public_key\"}]");
    JSON_HAS(f, 0, "\"ssh1\":true,\"ssh1_cipher\":\"3des\"");
    JSON_HAS(f, 0, "\"encrypted_bytes\":32");
}

static void test_lines_before_banner(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C,
             "Authorised users only\r\nUnit 7 crane PLC gateway\r\nSSH-2.0-dropbear_2019.78\r\n");
    feed_str(f, C2S, "SSH-2.0-libssh2_1.10.0\r\n");
    flow_end(f);
    JSON_HAS(f, 0, "\"software_version\":\"dropbear_2019.78\",\"lines_before_banner\":2");
    assert_string_equal(qw_record_identity(&f->rec, true, "ssh_banner"), "dropbear_2019.78");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_client_junk_before_banner(void **ts)
{
    struct fx *f = *ts;
    /* Only the server may send other lines first ([TRANS] s.4.2). */
    feed_str(f, S2C, "SSH-2.0-x\r\n");
    feed_str(f, C2S, "hello\r\n");
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.invalid_banner"), 1);
    JSON_HAS(f, 0, "\"framing_lost\":true");
}

static void test_banner_without_newline(void **ts)
{
    struct fx *f = *ts;
    char line[300];
    memcpy(line, "SSH-2.0-", 8);
    memset(line + 8, 'A', sizeof line - 8);
    feed(f, C2S, line, 200);
    assert_int_equal(f->rec.nanomalies, 0); /* still a valid prefix */
    feed(f, C2S, line + 200, sizeof line - 200);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.invalid_banner"), 1);
    flow_end(f);
}

static void test_oversized_packet_length(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "SSH-2.0-x\r\n");
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0x04, 20, 0, 0};
    feed(f, C2S, huge, sizeof huge);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.invalid_packet"), 1);
    static const uint8_t more[50] = {0};
    feed(f, C2S, more, sizeof more);
    flow_end(f);
    JSON_HAS(f, 0, "\"framing_lost\":true");
    JSON_HAS(f, 0, "\"encrypted_bytes\":58");
}

static void test_truncated_kexinit(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "SSH-2.0-x\r\n");
    /* A KEXINIT whose first name-list claims 1000 bytes inside a 24-byte packet. */
    uint8_t p[20] = {20};
    memset(p + 1, 0x22, 16);
    p[17] = 0;
    p[18] = 0;
    p[19] = 0x03;
    struct buf b = {{0}, 0};
    packet(&b, p, sizeof p);
    feed(f, C2S, b.b, b.n);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ssh.malformed_kexinit"), 1);
    JSON_HAS(f, 0, "\"clear_packets\":1");
}

static void test_gap_before_newkeys(void **ts)
{
    struct fx *f = *ts;
    struct session s;
    build_session(&s);
    feed(f, C2S, s.cli.b, 20);
    PROTO.gap(&f->ctx, f->state, C2S);
    qw_pending_reset(&f->pend[C2S]);
    feed(f, C2S, s.cli.b + 40, 30);
    flow_end(f);
    JSON_HAS(f, 0, "\"framing_lost\":true");
}

static void test_disconnect_before_keys(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "SSH-2.0-srv\r\n");
    feed_str(f, C2S, "SSH-2.0-cli\r\n");
    struct buf b = {{0}, 0};
    uint8_t p[64];
    size_t n = 0;
    p[n++] = 1;
    p[n++] = 0, p[n++] = 0, p[n++] = 0, p[n++] = 2; /* protocol error */
    static const char txt[] = "Too many authentication failures";
    p[n++] = 0, p[n++] = 0, p[n++] = 0, p[n++] = (uint8_t)strlen(txt);
    memcpy(p + n, txt, strlen(txt));
    n += strlen(txt);
    p[n++] = 0, p[n++] = 0, p[n++] = 0, p[n++] = 0;
    packet(&b, p, n);
    feed(f, S2C, b.b, b.n);
    flow_end(f);
    assert_true(f->rec.txns[0].txn.error);
    JSON_HAS(f, 0, "\"disconnect\":{\"from\":\"server\",\"reason\":2,\"description\":"
                   "\"Too many authentication failures\"}");
}

static void test_probe(void **ts)
{
    (void)ts;
    const struct {
        const char *s;
        size_t n;
        enum qw_probe_result r;
    } cases[] = {
        {"SSH-2.0-OpenSSH_9.0\r\n", 21, QW_PROBE_MATCH},
        {"SSH-1.99-Cisco-1.25\r\n", 21, QW_PROBE_MATCH},
        {"SSH-", 4, QW_PROBE_NEED_MORE},
        {"SS", 2, QW_PROBE_NEED_MORE},
        {"SSH-3.0-x\r\n", 11, QW_PROBE_NO},
        {"SSH-2x", 6, QW_PROBE_NO},
        {"GET / HTTP/1.1\r\n", 16, QW_PROBE_NO},
        {"\x16\x03\x01\x02\x00\x01", 6, QW_PROBE_NO},
        {"220 FTP ready\r\n", 15, QW_PROBE_NO},
        {"\x03\x00\x00\x13\x0e\xe0", 6, QW_PROBE_NO},
        {"RFB 003.008\n", 12, QW_PROBE_NO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int d = 0; d < 2; d++) {
            enum qw_probe_result r = PROTO.probe((const uint8_t *)cases[i].s, cases[i].n,
                                                 (enum qw_dir)d);
            if (r != cases[i].r) {
                print_error("case %zu dir %d: got %d want %d\n", i, d, r, cases[i].r);
                fail();
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_handshake, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_weak_algorithms_chosen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_aead_ignores_mac, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_common_algorithm, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ssh1_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lines_before_banner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_client_junk_before_banner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_banner_without_newline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_packet_length, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_kexinit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gap_before_newkeys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_before_keys, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
