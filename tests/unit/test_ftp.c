/* Unit tests for the FTP parser (src/proto/ftp.c).
 *
 * Streams go through qw_stream_deliver as in the engine, into a recording sink; command and
 * reply lines follow RFC 959 s.4 and s.5 (and RFC 2428 for EPRT/EPSV). */
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

extern const struct qw_proto qw_proto_ftp;
#define PROTO qw_proto_ftp

#include "parser_fixture.h"

/* ---- Tests --------------------------------------------------------------------------------- */

static const char greeting[] = "220 Moxa NPort FTP server ready.\r\n";

static void test_login_and_transfer(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "USER operator\r\n");
    feed_str(f, S2C, "331 Password required for operator.\r\n");
    feed_str(f, C2S, "PASS s3cret!\r\n");
    feed_str(f, S2C, "230 User operator logged in.\r\n");
    feed_str(f, C2S, "PASV\r\n");
    feed_str(f, S2C, "227 Entering Passive Mode (10,1,2,3,4,1).\r\n");
    feed_str(f, C2S, "RETR config.bak\r\n");
    feed_str(f, S2C, "150 Opening BINARY mode data connection.\r\n");
    feed_str(f, S2C, "226 Transfer complete.\r\n");
    feed_str(f, C2S, "STOR firmware.bin\r\n");
    feed_str(f, S2C, "150 Ok to send data.\r\n226 Transfer complete.\r\n");
    feed_str(f, C2S, "QUIT\r\n");
    feed_str(f, S2C, "221 Goodbye.\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 6);
    assert_string_equal(qw_record_identity(&f->rec, true, "ftp_banner"),
                        "Moxa NPort FTP server ready.");
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_string_equal(t->function_name, "USER");
    assert_int_equal(t->ops, QW_OP_AUTH);
    JSON_HAS(f, 0, "\"request\":{\"command\":\"USER\",\"argument\":\"operator\"},\"response\":"
                   "{\"code\":331,\"text\":\"Password required for operator.\"}");
    JSON_HAS(f, 1, "\"request\":{\"command\":\"PASS\",\"argument_present\":true}");
    assert_null(strstr(f->rec.txns[1].json, "s3cret"));
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ftp.cleartext_credentials"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "user operator");
    JSON_HAS(f, 2, "\"data_connection\":{\"ip\":\"10.1.2.3\",\"port\":1025}");
    assert_string_equal(f->rec.txns[3].txn.function_name, "RETR");
    assert_int_equal(f->rec.txns[3].txn.ops, QW_OP_FILE);
    JSON_HAS(f, 3, "\"argument\":\"config.bak\",\"preliminary_replies\":[150]},\"response\":"
                   "{\"code\":226");
    assert_int_equal(f->rec.txns[4].txn.ops, QW_OP_FILE | QW_OP_WRITE);
    assert_string_equal(f->rec.txns[5].txn.function_name, "QUIT");
    for (size_t i = 0; i < f->rec.ntxns; i++) assert_false(f->rec.txns[i].txn.error);
    assert_int_equal(f->rec.nanomalies, 1);
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    static const char s1[] = "220-Welcome\r\n220 Ready\r\n";
    static const char c1[] = "USER anonymous\r\nPASS guest@\r\n";
    static const char s2[] = "331 Guest login ok\r\n230-Hello\r\n  more text\r\n230 Done\r\n";
    static const char c2[] = "EPSV\r\nLIST\r\n";
    static const char s3[] =
        "229 Entering Extended Passive Mode (|||6446|)\r\n150 Here\r\n226 OK\r\n";
    static const char c3[] = "DELE old.log\r\nQUIT\r\n";
    static const char s4[] = "550 Permission denied.\r\n221 Bye\r\n";
    const struct msg conv[] = {
        {S2C, (const uint8_t *)s1, sizeof s1 - 1}, {C2S, (const uint8_t *)c1, sizeof c1 - 1},
        {S2C, (const uint8_t *)s2, sizeof s2 - 1}, {C2S, (const uint8_t *)c2, sizeof c2 - 1},
        {S2C, (const uint8_t *)s3, sizeof s3 - 1}, {C2S, (const uint8_t *)c3, sizeof c3 - 1},
        {S2C, (const uint8_t *)s4, sizeof s4 - 1},
    };
    check_every_split(f, conv, sizeof conv / sizeof conv[0]);
    assert_int_equal(f->rec.ntxns, 6);
    assert_string_equal(qw_record_identity(&f->rec, true, "ftp_banner"), "Welcome");
    JSON_HAS(f, 1, "\"response\":{\"code\":230,\"text\":\"Hello\",\"lines\":3}");
    JSON_HAS(f, 2, "\"data_connection\":{\"port\":6446}");
    assert_string_equal(f->rec.txns[4].txn.function_name, "DELE");
    assert_true(f->rec.txns[4].txn.error);
    assert_int_equal(f->rec.txns[4].txn.ops, QW_OP_FILE | QW_OP_WRITE);
}

static void test_reply_before_command(void **ts)
{
    struct fx *f = *ts;
    /* The engine may deliver the server's answer before the command it answers (the command
     * waited in the probe buffer of the other direction): the replies are held. */
    feed_str(f, S2C, "220 host ready\r\n331 Password required\r\n");
    assert_int_equal(f->rec.ntxns, 0);
    feed_str(f, C2S, "USER plc\r\nPASS x\r\n");
    feed_str(f, S2C, "230 ok\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"command\":\"USER\",\"argument\":\"plc\"},\"response\":{\"code\":331");
    JSON_HAS(f, 1, "\"command\":\"PASS\",\"argument_present\":true},\"response\":{\"code\":230");
}

static void test_port_and_eprt(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "PORT 192,168,5,7,19,137\r\nEPRT |2|fe80::1|5282|\r\nPORT 300,1,1,1,1,1\r\n");
    feed_str(f, S2C, "200 ok\r\n200 ok\r\n501 bad\r\n");
    flow_end(f);
    JSON_HAS(f, 0, "\"data_connection\":{\"ip\":\"192.168.5.7\",\"port\":5001}");
    JSON_HAS(f, 1, "\"data_connection\":{\"ip\":\"fe80::1\",\"port\":5282}");
    assert_null(strstr(f->rec.txns[2].json, "data_connection"));
    assert_true(f->rec.txns[2].txn.error);
}

static void test_auth_tls(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "AUTH TLS\r\n");
    feed_str(f, S2C, "234 AUTH TLS OK.\r\n");
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, '\r', '\n'};
    feed(f, C2S, hello, sizeof hello);
    feed(f, S2C, hello, sizeof hello);
    feed_str(f, C2S, "USER hidden\r\n"); /* inside TLS in reality: never parsed */
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "AUTH");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_client_hello_right_after_auth(void **ts)
{
    struct fx *f = *ts;
    /* The ClientHello may be delivered before the 234 it follows. */
    feed_str(f, C2S, "AUTH TLS\r\n");
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x02, 0xff, 0xfe};
    feed(f, C2S, hello, sizeof hello);
    feed_str(f, S2C, "234 Proceed\r\n");
    flow_end(f);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, S2C, "hello there\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ftp.invalid_reply"), 1);
    feed_str(f, C2S, "X1Y2 arg\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ftp.invalid_command"), 1);
    char big[5000];
    memset(big, 'A', sizeof big);
    feed(f, C2S, big, sizeof big);
    feed_str(f, C2S, "\r\nNOOP\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ftp.line_too_long"), 1);
    feed_str(f, S2C, "200 NOOP ok\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    assert_string_equal(f->rec.txns[0].txn.function_name, "NOOP");
}

static void test_unknown_verb_and_iac(void **ts)
{
    struct fx *f = *ts;
    /* ABOR after Telnet IP and Synch ([FTP] s.4.1.3), and a verb not in the table. */
    static const uint8_t abor[] = {0xff, 0xf4, 0xff, 0xf2, 'A', 'B', 'O', 'R', '\r', '\n'};
    feed(f, C2S, abor, sizeof abor);
    feed_str(f, C2S, "XYZW 1\r\n");
    feed_str(f, S2C, "226 aborted\r\n502 not implemented\r\n");
    flow_end(f);
    assert_string_equal(f->rec.txns[0].txn.function_name, "ABOR");
    assert_string_equal(f->rec.txns[1].txn.function_name, "unknown");
    JSON_HAS(f, 1, "\"command\":\"XYZW\"");
}

static void test_queue_full(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 10; i++) feed_str(f, C2S, "NOOP\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "ftp.command_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 10);
    assert_false(f->rec.txns[9].txn.has_response);
}

static void test_gap_resyncs_on_lines(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "CWD /a\r\n");
    feed_str(f, S2C, "250-first\r\n");
    PROTO.gap(&f->ctx, f->state, S2C);
    qw_pending_reset(&f->pend[S2C]);
    feed_str(f, S2C, "tail of a lost line\r\n250 CWD ok\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"code\":250,\"text\":\"CWD ok\"");
}

/* ---- Failed logins ([FTP] s.4.2.2 530, s.5.4) ---------------------------------------------- */

/* The attempt came from the flow's client: the engine names it (from_peer), not the parser. */
static void assert_login_failed(const struct fx *f, const char *user)
{
    const struct qw_rec_device_report *r = &f->rec.device_report;
    assert_int_equal(r->kind, QW_REPORT_LOGIN_FAILED);
    assert_true(r->server);
    assert_string_equal(r->message_id, "ftp 530");
    assert_string_equal(r->user, user);
    assert_true(r->from_peer);
    assert_string_equal(r->from, "");
}

static void test_pass_refused(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "USER operator\r\n");
    feed_str(f, S2C, "331 Password required for operator.\r\n");
    feed_str(f, C2S, "PASS guess1\r\n");
    feed_str(f, S2C, "530 Login incorrect.\r\n");
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_login_failed(f, "operator");
    JSON_HAS(f, 1, "\"response\":{\"code\":530,\"text\":\"Login incorrect.\","
                   "\"login_failed\":true}");
    /* A second attempt on the same connection is a second failure. */
    feed_str(f, C2S, "USER admin\r\n");
    feed_str(f, S2C, "331 Password required for admin.\r\n");
    feed_str(f, C2S, "PASS guess2\r\n");
    feed_str(f, S2C, "530 Login incorrect.\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 2);
    assert_login_failed(f, "admin");
    assert_null(strstr(f->rec.txns[0].json, "login_failed"));
}

static void test_user_refused(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "USER root\r\n");
    feed_str(f, S2C, "530 User root access denied.\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_login_failed(f, "root");
}

static void test_pipelined_logins_name_their_user(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "USER alice\r\nPASS a\r\nUSER bob\r\nPASS b\r\n");
    feed_str(f, S2C, "331 Password required.\r\n530 Login incorrect.\r\n");
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_login_failed(f, "alice");
    feed_str(f, S2C, "331 Password required.\r\n230 Logged in.\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 1);
}

static void test_no_refusal_no_report(void **ts)
{
    struct fx *f = *ts;
    /* A successful login, a 530 to a command that is not a login, a PASS the server answers
     * with 421 (closing), and a PASS left unanswered: none is a refused login. */
    feed_str(f, S2C, greeting);
    feed_str(f, C2S, "LIST\r\n");
    feed_str(f, S2C, "530 Please login with USER and PASS.\r\n");
    feed_str(f, C2S, "USER anonymous\r\n");
    feed_str(f, S2C, "331 Guest login ok.\r\n");
    feed_str(f, C2S, "PASS guest@\r\n");
    feed_str(f, S2C, "230 Guest logged in.\r\n");
    feed_str(f, C2S, "USER operator\r\n");
    feed_str(f, S2C, "331 Password required.\r\n");
    feed_str(f, C2S, "PASS x\r\n");
    feed_str(f, S2C, "421 Service not available, closing control connection.\r\n");
    feed_str(f, C2S, "USER operator\r\n");
    feed_str(f, S2C, "331 Password required.\r\n");
    feed_str(f, C2S, "PASS y\r\n");
    /* Anonymous FTP (RFC 1635) turned away: a guest, not a guessed password. */
    feed_str(f, S2C, "421 Bye.\r\n");
    feed_str(f, C2S, "USER Anonymous\r\n");
    feed_str(f, S2C, "331 Send e-mail as password.\r\n");
    feed_str(f, C2S, "PASS me@example.com\r\n");
    feed_str(f, S2C, "530 Login incorrect.\r\n");
    feed_str(f, C2S, "USER ftp\r\n");
    feed_str(f, S2C, "530 Anonymous access denied.\r\n");
    feed_str(f, C2S, "USER operator\r\nPASS z\r\n");
    feed_str(f, S2C, "331 Password required.\r\n"); /* PASS z is never answered */
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 0);
}

static void test_probe(void **ts)
{
    (void)ts;
    const struct {
        enum qw_dir dir;
        const char *s;
        enum qw_probe_result r;
    } cases[] = {
        {S2C, "220 ProFTPD 1.3.5 Server (FTP) ready\r\n", QW_PROBE_MATCH},
        {S2C, "220-Microsoft FTP Service\r\n", QW_PROBE_MATCH},
        {S2C, "220 mail.example.com ESMTP Postfix\r\n", QW_PROBE_NO},
        {S2C, "220 plc.local ready\r\n", QW_PROBE_NEED_MORE},
        {S2C, "220 plc.local ready\r\n331 Password required\r\n", QW_PROBE_MATCH},
        {S2C, "22", QW_PROBE_NEED_MORE},
        {S2C, "+OK POP3 ready\r\n", QW_PROBE_NO},
        {S2C, "HTTP/1.1 200 OK\r\n", QW_PROBE_NO},
        {S2C, "SSH-2.0-OpenSSH\r\n", QW_PROBE_NO},
        {S2C, "RFB 003.008\n", QW_PROBE_NO},
        {C2S, "FEAT\r\n", QW_PROBE_MATCH},
        {C2S, "AUTH TLS\r\n", QW_PROBE_MATCH},
        {C2S, "AUTH LOGIN\r\n", QW_PROBE_NO},
        {C2S, "USER bob\r\n", QW_PROBE_NEED_MORE},
        {C2S, "US", QW_PROBE_NEED_MORE},
        {C2S, "EHLO client\r\n", QW_PROBE_NO},
        {C2S, "GET / HTTP/1.1\r\n", QW_PROBE_NO},
        {C2S, "\x16\x03\x01\x00\x10", QW_PROBE_NO},
        {C2S, "\x03\x00\x00\x13\x0e\xe0", QW_PROBE_NO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum qw_probe_result r = PROTO.probe((const uint8_t *)cases[i].s, strlen(cases[i].s),
                                             cases[i].dir);
        if (r != cases[i].r) {
            print_error("case %zu (%s): got %d want %d\n", i, cases[i].s, r, cases[i].r);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_and_transfer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reply_before_command, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_port_and_eprt, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_auth_tls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_client_hello_right_after_auth, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_verb_and_iac, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gap_resyncs_on_lines, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pass_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_user_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_logins_name_their_user, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_refusal_no_report, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
