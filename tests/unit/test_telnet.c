/* Unit tests for the Telnet parser (src/proto/telnet.c).
 *
 * Streams go through qw_stream_deliver as in the engine, into a recording sink; commands follow
 * RFC 854/855, options RFC 1091 (terminal type), RFC 1073 (NAWS), RFC 1572 (NEW-ENVIRON) and
 * RFC 2946 (ENCRYPT). The login dialogues mimic switches and Unix hosts. */
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

extern const struct qw_proto qw_proto_telnet;
#define PROTO qw_proto_telnet

#include "parser_fixture.h"

/* ---- Tests --------------------------------------------------------------------------------- */

#define IAC "\xff"
#define WILL "\xfb"
#define WONT "\xfc"
#define DO "\xfd"
#define DONT "\xfe"
#define SB "\xfa"
#define SE "\xf0"

/* Type a line one character at a time, the server echoing each (character mode). */
static void type_echoed(struct fx *f, const char *line)
{
    for (const char *p = line; *p; p++) {
        feed(f, C2S, p, 1);
        if (*p != '\r' && *p != '\n') feed(f, S2C, p, 1);
    }
}

static void negotiate(struct fx *f)
{
    FEED_LIT(f, S2C, IAC DO "\x18" IAC DO "\x1f" IAC WILL "\x01" IAC WILL "\x03");
    FEED_LIT(f, C2S, IAC WILL "\x18" IAC WILL "\x1f" IAC DO "\x01" IAC DO "\x03");
    FEED_LIT(f, S2C, IAC SB "\x18\x01" IAC SE);
    FEED_LIT(f, C2S, IAC SB "\x18\x00" "VT100" IAC SE IAC SB "\x1f\x00\x50\x00\x18" IAC SE);
}

static void test_switch_login_session(void **ts)
{
    struct fx *f = *ts;
    negotiate(f);
    feed_str(f, S2C, "\r\n\r\nMoxa EDS-408A\r\nFirmware 3.8\r\n\r\nlogin: ");
    type_echoed(f, "admin\r\n");
    feed_str(f, S2C, "\r\nPassword: ");
    feed_str(f, C2S, "m"); /* no echo for the password */
    feed_str(f, C2S, "oxa\r\n");
    feed_str(f, S2C, "\r\nEDS-408A# ");
    type_echoed(f, "show version\r\n");
    feed_str(f, S2C, "\r\nVersion 3.8\r\nEDS-408A# ");
    type_echoed(f, "reload\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_string_equal(t->function_name, "session");
    assert_int_equal(t->ops, QW_OP_SESSION | QW_OP_AUTH);
    assert_false(t->error);
    assert_string_equal(qw_record_identity(&f->rec, true, "telnet_banner"), "Moxa EDS-408A");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "telnet.cleartext_credentials"), 1);
    assert_string_equal(f->rec.anomalies[0].detail, "user admin");
    JSON_HAS(f, 0, "\"request\":{\"options\":{\"will\":[\"terminal_type\",\"naws\"],\"do\":"
                   "[\"echo\",\"suppress_go_ahead\"]},\"iac_counts\":{\"se\":2,\"sb\":2,"
                   "\"will\":2,\"do\":2},\"terminal_type\":\"VT100\",\"window_size\":{\"width\":80,"
                   "\"height\":24}");
    JSON_HAS(f, 0, "\"response\":{\"options\":{\"will\":[\"echo\",\"suppress_go_ahead\"],\"do\":"
                   "[\"terminal_type\",\"naws\"]},\"iac_counts\":{\"se\":1,\"sb\":1,\"will\":2,"
                   "\"do\":2},\"banner\":\"Moxa EDS-408A\"");
    JSON_HAS(f, 0, "\"login_prompts\":1,\"password_prompts\":1,\"user\":\"admin\","
                   "\"passwords_sent\":1,\"failed_logins\":0,\"logged_in\":true,\"commands\":2");
    assert_null(strstr(f->rec.txns[0].json, "moxa"));
    assert_int_equal(f->rec.ndevice_reports, 0); /* a login that worked is no failure */
}

static void test_failed_then_ok(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "Ubuntu 22.04 LTS\r\nhmi01 login: ");
    feed_str(f, C2S, "operator\r\n");
    feed_str(f, S2C, "Password: ");
    feed_str(f, C2S, "wrong\r\n");
    feed_str(f, S2C, "\r\nLogin incorrect\r\nhmi01 login: ");
    feed_str(f, C2S, "root\r\n");
    feed_str(f, S2C, "Password: ");
    feed_str(f, C2S, "right\r\n");
    feed_str(f, S2C, "Welcome\r\nroot@hmi01:~# ");
    flow_end(f);
    assert_string_equal(f->rec.session_user, "root"); /* the last login typed */
    assert_string_equal(f->rec.session_user_source, "telnet_login");
    JSON_HAS(f, 0, "\"login_prompts\":2,\"password_prompts\":2,\"user\":\"root\","
                   "\"passwords_sent\":2,\"failed_logins\":1,\"logged_in\":true,\"commands\":0");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "telnet.cleartext_credentials"), 2);
    assert_false(f->rec.txns[0].txn.error);
    assert_string_equal(qw_record_identity(&f->rec, true, "telnet_banner"), "Ubuntu 22.04 LTS");
    /* "Login incorrect" refused operator's password: one failure, named for operator. */
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_int_equal(f->rec.device_report.kind, QW_REPORT_LOGIN_FAILED);
    assert_string_equal(f->rec.device_report.user, "operator");
}

static void test_only_failures(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "login: ");
    feed_str(f, C2S, "guest\r\n");
    feed_str(f, S2C, "Password: ");
    feed_str(f, C2S, "guest\r\n");
    feed_str(f, S2C, "\r\nlogin: ");
    flow_end(f);
    JSON_HAS(f, 0, "\"failed_logins\":1,\"logged_in\":false");
    assert_true(f->rec.txns[0].txn.error);
    /* The prompt came first: there is no banner. */
    assert_null(qw_record_identity(&f->rec, true, "telnet_banner"));
    /* The login prompt again after the password: one refused login. */
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_string_equal(f->rec.device_report.user, "guest");
}

static void test_refused_logins_are_reported(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "plc-gw login: ");
    feed_str(f, C2S, "admin\r\n");
    feed_str(f, S2C, "Password: ");
    feed_str(f, C2S, "admin\r\n");
    feed_str(f, S2C, "\r\nLogin incorrect\r\nplc-gw login: ");
    assert_int_equal(f->rec.ndevice_reports, 1);
    const struct qw_rec_device_report *r = &f->rec.device_report;
    assert_int_equal(r->kind, QW_REPORT_LOGIN_FAILED);
    assert_true(r->server);
    assert_string_equal(r->message_id, "telnet login failed");
    assert_string_equal(r->user, "admin");
    assert_true(r->from_peer); /* the engine names the client */
    /* The second guess on the same connection, refused by a new prompt alone. */
    feed_str(f, C2S, "root\r\n");
    feed_str(f, S2C, "Password: ");
    feed_str(f, C2S, "1234\r\n");
    feed_str(f, S2C, "\r\nplc-gw login: ");
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 2);
    assert_string_equal(f->rec.device_report.user, "root");
    JSON_HAS(f, 0, "\"failed_logins\":2,\"logged_in\":false");
}

static void test_password_only_refused(void **ts)
{
    struct fx *f = *ts;
    /* A device that asks for a password alone: a refusal names no user. */
    feed_str(f, S2C, "\r\nUser Access Verification\r\n\r\nPassword: ");
    feed_str(f, C2S, "cisco\r\n");
    feed_str(f, S2C, "\r\n% Bad passwords\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_string_equal(f->rec.device_report.message_id, "telnet login failed");
    assert_string_equal(f->rec.device_report.user, "");
}

static void test_password_only_device(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, S2C, "\r\n\r\nUser Access Verification\r\n\r\nPassword: ");
    feed_str(f, C2S, "cisco\r\n");
    feed_str(f, S2C, "\r\nrouter1>");
    feed_str(f, C2S, "show ip int brief\r\n");
    flow_end(f);
    assert_string_equal(f->rec.anomalies[0].detail, "password only");
    JSON_HAS(f, 0, "\"passwords_sent\":1,\"failed_logins\":0,\"logged_in\":true,\"commands\":1");
    assert_string_equal(qw_record_identity(&f->rec, true, "telnet_banner"),
                        "User Access Verification");
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    static const char s1[] = IAC DO "\x18" IAC WILL "\x01" IAC SB "\x18\x01" IAC SE
                             "\r\nSiemens SCALANCE X308-2\r\n\r\nlogin: ";
    static const char c1[] = IAC WILL "\x18" IAC SB "\x18\x00" "xterm" IAC SE "eng\r\n";
    static const char s2[] = "eng\r\nPassword: ";
    static const char c2[] = "pw\r\n";
    static const char s3[] = "\r\nX308# ";
    static const char c3[] = "sh ver\r\n" IAC "\xf4"; /* and an interrupt */
    static const char s4[] = "ver " IAC IAC " 1.0\r\nX308# ";
    const struct msg conv[] = {
        {S2C, (const uint8_t *)s1, sizeof s1 - 1}, {C2S, (const uint8_t *)c1, sizeof c1 - 1},
        {S2C, (const uint8_t *)s2, sizeof s2 - 1}, {C2S, (const uint8_t *)c2, sizeof c2 - 1},
        {S2C, (const uint8_t *)s3, sizeof s3 - 1}, {C2S, (const uint8_t *)c3, sizeof c3 - 1},
        {S2C, (const uint8_t *)s4, sizeof s4 - 1},
    };
    check_every_split(f, conv, sizeof conv / sizeof conv[0]);
    JSON_HAS(f, 0, "\"terminal_type\":\"xterm\"");
    JSON_HAS(f, 0, "\"iac_counts\":{\"se\":1,\"ip\":1,\"sb\":1,\"will\":1}");
    JSON_HAS(f, 0, "\"user\":\"eng\",\"passwords_sent\":1,\"failed_logins\":0,\"logged_in\":true,"
                   "\"commands\":1");
    assert_string_equal(qw_record_identity(&f->rec, true, "telnet_banner"),
                        "Siemens SCALANCE X308-2");
}

static void test_environment_user_injection(void **ts)
{
    struct fx *f = *ts;
    /* NEW-ENVIRON IS VAR "USER" VALUE "-froot" (RFC 1572), the Solaris -f bypass. */
    FEED_LIT(f, C2S, IAC SB "\x27\x00\x00USER\x01-froot" IAC SE);
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "telnet.suspicious_environment"), 1);
    JSON_HAS(f, 0, "\"environment_user\":\"-froot\"");
    assert_string_equal(f->rec.session_user, "-froot");
    assert_string_equal(f->rec.session_user_source, "telnet_environment");
}

static void test_unterminated_subnegotiation(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, IAC SB "\x18\x00" "vt100" IAC WILL "\x1f" "abc");
    FEED_LIT(f, C2S, IAC SB "\x18\x00" "x" IAC DO "\x01");
    flow_end(f);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "telnet.unterminated_subnegotiation"), 1);
    JSON_HAS(f, 0, "\"will\":[\"naws\"]");
    JSON_HAS(f, 0, "\"terminal_type\":\"x\"");
}

static void test_oversized_subnegotiation(void **ts)
{
    struct fx *f = *ts;
    char sb[300];
    size_t n = 0;
    memcpy(sb, IAC SB "\x18\x00", 4);
    n = 4;
    memset(sb + n, 'T', 280);
    n += 280;
    memcpy(sb + n, IAC SE, 2);
    n += 2;
    feed(f, C2S, sb, n);
    flow_end(f);
    /* Kept to 40 characters (RFC 1091 s.3), no overflow. */
    JSON_HAS(f, 0, "\"terminal_type\":\"TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT\"");
}

static void test_encryption_start(void **ts)
{
    struct fx *f = *ts;
    FEED_LIT(f, C2S, IAC SB "\x26\x03\x01" IAC SE "\x01\x02\x03\x04");
    feed_str(f, C2S, "more secret bytes");
    flow_end(f);
    JSON_HAS(f, 0, "\"encrypted_bytes\":21");
}

static void test_probe(void **ts)
{
    (void)ts;
    const struct {
        enum qw_dir dir;
        const char *s;
        size_t n;
        enum qw_probe_result r;
    } cases[] = {
        {S2C, IAC DO "\x18", 3, QW_PROBE_MATCH},
        {C2S, IAC WILL "\x18" IAC DO "\x01", 6, QW_PROBE_MATCH},
        {S2C, IAC SB "\x25\x02\x02" IAC SE, 7, QW_PROBE_MATCH},
        {S2C, IAC SB "\x25\x02", 4, QW_PROBE_NEED_MORE},
        {S2C, IAC, 1, QW_PROBE_NEED_MORE},
        {S2C, IAC DO, 2, QW_PROBE_NEED_MORE},
        {S2C, IAC "A", 2, QW_PROBE_NO},
        {S2C, IAC DO "\x18" IAC "\x10", 5, QW_PROBE_NO},
        {S2C, "\r\nUsername: ", 12, QW_PROBE_MATCH},
        {S2C, "Welcome to the gateway\r\n", 24, QW_PROBE_NEED_MORE},
        {C2S, "admin\r\n", 7, QW_PROBE_NO},
        {S2C, "HTTP/1.1 200 OK\r\n", 17, QW_PROBE_NEED_MORE},
        {C2S, "GET / HTTP/1.1\r\n", 16, QW_PROBE_NO},
        {C2S, "\x16\x03\x01\x00\x10", 5, QW_PROBE_NO},
        {S2C, "\x16\x03\x01\x00\x10", 5, QW_PROBE_NO},
        {S2C, "\x00\x00\x00\x55\xffSMB", 8, QW_PROBE_NO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum qw_probe_result r = PROTO.probe((const uint8_t *)cases[i].s, cases[i].n, cases[i].dir);
        if (r != cases[i].r) {
            print_error("case %zu: got %d want %d\n", i, r, cases[i].r);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_switch_login_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_then_ok, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_only_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_password_only_device, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_environment_user_injection, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_subnegotiation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_subnegotiation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_encryption_start, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refused_logins_are_reported, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_password_only_refused, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
