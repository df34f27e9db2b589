/* Unit tests for the syslog parser (src/proto/syslog.c; not quaywatch's own syslog output):
 * RFC 5424 messages (NILVALUEs, structured data with escapes, BOM, missing fields), RFC 3164
 * and its variants (no hostname, no timestamp, Cisco IOS sequence numbers, origin names and
 * mnemonics, ISO dates), PRI edge values, the hostname fact, TCP octet counting and LF
 * framing cut at every byte, long messages, gaps, and the probe. */
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
#include "proto/proto.h"

extern const struct qw_proto qw_proto_syslog;

#define PROTO qw_proto_syslog

#include "parser_fixture.h"

static void dgram(struct fx *f, const char *s)
{
    fx_datagram(f, C2S, s, strlen(s));
}

#define PROBE(s, dir) qw_proto_syslog.probe((const uint8_t *)(s), sizeof(s) - 1, (dir))

/* ---- RFC 5424 ------------------------------------------------------------------------------ */

static void test_rfc5424_full(void **ts)
{
    struct fx *f = *ts;
    /* [5424] s.6.5 example 1 */
    dgram(f, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
             "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    const struct qw_txn *t = txn_at(f, 0);
    assert_true(t->has_request);
    assert_false(t->has_response);
    assert_int_equal(t->function, 2);
    assert_string_equal(t->function_name, "crit");
    assert_int_equal(t->ops, 0);
    JSON_HAS(f, 0, "{\"format\":\"rfc5424\",\"facility\":4,\"facility_name\":\"auth\","
                   "\"severity\":2,\"severity_name\":\"crit\",\"version\":1,"
                   "\"timestamp\":\"2003-10-11T22:14:15.003Z\","
                   "\"hostname\":\"mymachine.example.com\",\"app_name\":\"su\","
                   "\"procid\":\"-\",\"msgid\":\"ID47\",\"bom\":true,"
                   "\"message\":\"'su root' failed for lonvick on /dev/pts/8\","
                   "\"message_length\":42}");
    identity_is(f, false, "hostname", "mymachine.example.com");
}

static void test_rfc5424_structured_data(void **ts)
{
    struct fx *f = *ts;
    /* [5424] s.6.5 example 4, with an escaped ']' and '"' in a value, and no MSG */
    dgram(f, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
             "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]li\\\"cation\" eventID=\"1011\"]"
             "[examplePriority@32473 class=\"high\"]");
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"facility\":20,\"facility_name\":\"local4\",\"severity\":5,"
                   "\"severity_name\":\"notice\"");
    JSON_HAS(f, 0, "\"sd_ids\":[\"exampleSDID@32473\",\"examplePriority@32473\"]}");
    JSON_LACKS(f, 0, "\"message\"");
    /* with a message after the elements */
    dgram(f, "<165>1 - host app 1234 - [a b=\"]\\]\"] text here");
    JSON_HAS(f, 1, "\"timestamp\":\"-\",\"hostname\":\"host\",\"app_name\":\"app\","
                   "\"procid\":\"1234\",\"msgid\":\"-\",\"sd_ids\":[\"a\"],"
                   "\"message\":\"text here\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_rfc5424_many_sd_ids_bounded(void **ts)
{
    struct fx *f = *ts;
    char b[512] = "<14>1 - h a - - ";
    for (int i = 0; i < 12; i++) snprintf(b + strlen(b), sizeof b - strlen(b), "[id%d]", i);
    strcat(b, " m");
    dgram(f, b);
    JSON_HAS(f, 0, "\"sd_ids\":[\"id0\",\"id1\",\"id2\",\"id3\",\"id4\",\"id5\",\"id6\",\"id7\"],"
                   "\"sd_ids_cut\":true,\"message\":\"m\"");
}

static void test_rfc5424_nilvalues_no_fact(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<13>1 - - - - - -");
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"timestamp\":\"-\",\"hostname\":\"-\",\"app_name\":\"-\",\"procid\":\"-\","
                   "\"msgid\":\"-\"}");
    assert_int_equal(f->rec.nidentities, 0);
}

static void test_rfc5424_missing_fields(void **ts)
{
    struct fx *f = *ts;
    static const struct {
        const char *msg, *detail, *json;
    } cases[] = {
        {"<13>1 ", "rfc5424 header: timestamp missing", "\"header_invalid\":\"timestamp\""},
        {"<13>1 - host", "rfc5424 header: app_name missing", "\"header_invalid\":\"app_name\""},
        {"<13>1 - host app", "rfc5424 header: procid missing", "\"header_invalid\":\"procid\""},
        {"<13>1 - host app 12 ID", "rfc5424 header: structured data missing or malformed",
         "\"msgid\":\"ID\",\"header_invalid\":\"structured_data\""},
        {"<13>1 - host app 12 ID [x a=\"unterminated] msg",
         "rfc5424 header: structured data missing or malformed", "\"header_invalid\""},
        {"<13>1 - host app 12 ID -x", "rfc5424 header: structured data missing or malformed",
         "\"header_invalid\""},
        {"<13>1 - host  app 12 ID - m", "rfc5424 header: app_name missing", "\"hostname\":\"host\""},
        {"<13>1 - host app 12 ID_LONGER_THAN_THIRTY_TWO_CHARS_XX - m",
         "rfc5424 header: msgid missing", "\"procid\":\"12\",\"header_invalid\":\"msgid\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_clear(f);
        dgram(f, cases[i].msg);
        assert_int_equal(f->rec.ntxns, 1);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "syslog.invalid_message"), 1);
        assert_string_equal(f->rec.anomalies[0].detail, cases[i].detail);
        JSON_HAS(f, 0, cases[i].json);
        JSON_HAS(f, 0, "\"format\":\"rfc5424\"");
    }
}

/* ---- RFC 3164 and variants ----------------------------------------------------------------- */

static void test_rfc3164_classic(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "{\"format\":\"rfc3164\",\"facility\":4,\"facility_name\":\"auth\","
                   "\"severity\":2,\"severity_name\":\"crit\",\"timestamp\":\"Oct 11 22:14:15\","
                   "\"hostname\":\"mymachine\",\"app_name\":\"su\","
                   "\"message\":\"'su root' failed for lonvick on /dev/pts/8\","
                   "\"message_length\":42}");
    JSON_LACKS(f, 0, "\"version\"");
    identity_is(f, false, "hostname", "mymachine");
    /* single-digit day, pid, no trailing LF */
    dgram(f, "<30>Jan  2 10:09:52 nb6 chillispot[4222]: C:192.168.2.83");
    JSON_HAS(f, 1, "\"timestamp\":\"Jan  2 10:09:52\",\"hostname\":\"nb6\","
                   "\"app_name\":\"chillispot\",\"procid\":\"4222\",\"message\":\"C:192.168.2.83\"");
}

static void test_rfc3164_no_hostname_no_timestamp(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<13>Oct 11 22:14:15 su: 'su root' failed");
    JSON_HAS(f, 0, "\"timestamp\":\"Oct 11 22:14:15\",\"app_name\":\"su\",\"message\"");
    JSON_LACKS(f, 0, "\"hostname\"");
    dgram(f, "<30>snmpd[6956]: Connection from UDP: [127.0.0.1]:21311 \n");
    JSON_HAS(f, 1, "\"severity_name\":\"info\",\"app_name\":\"snmpd\",\"procid\":\"6956\","
                   "\"message\":\"Connection from UDP: [127.0.0.1]:21311 \"");
    dgram(f, "<189>date=2021-12-09 time=16:29:06 devname=\"FW-1\" type=\"traffic\"");
    JSON_HAS(f, 2, "\"severity_name\":\"notice\",\"message\":\"date=2021-12-09");
    JSON_LACKS(f, 2, "\"app_name\"");
    JSON_LACKS(f, 2, "\"hostname\"");
    assert_int_equal(f->rec.nidentities, 0);
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_rfc3164_iso_date_and_year(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<134> 2021-04-18 15:12:38+04:00 10.126.20.68 Log, 65934,0/3/0/0");
    JSON_HAS(f, 0, "\"timestamp\":\"2021-04-18 15:12:38+04:00\",\"hostname\":\"10.126.20.68\","
                   "\"message\":\"Log, 65934,0/3/0/0\"");
    assert_int_equal(f->rec.nidentities, 0); /* an address names no host */
    dgram(f, "<14>2024-01-31T08:00:00.123Z plc-gw01 tagd: x");
    JSON_HAS(f, 1, "\"timestamp\":\"2024-01-31T08:00:00.123Z\",\"hostname\":\"plc-gw01\","
                   "\"app_name\":\"tagd\"");
    dgram(f, "<14>Mar  1 2024 00:01:02 rtu7 app: y");
    JSON_HAS(f, 2, "\"timestamp\":\"Mar  1 2024 00:01:02\",\"hostname\":\"rtu7\"");
}

static void test_cisco(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<189>123: *Mar  1 00:01:02.345: %SYS-5-CONFIG_I: Configured from console by vty0");
    assert_int_equal(txn_at(f, 0)->function, 5);
    JSON_HAS(f, 0, "\"facility\":23,\"facility_name\":\"local7\",\"severity\":5,"
                   "\"severity_name\":\"notice\",\"sequence\":\"123\","
                   "\"timestamp\":\"*Mar  1 00:01:02.345\","
                   "\"cisco\":{\"facility\":\"SYS\",\"severity\":\"5\",\"mnemonic\":\"CONFIG_I\"},"
                   "\"message\":\"%SYS-5-CONFIG_I: Configured from console by vty0\"");
    JSON_LACKS(f, 0, "\"hostname\"");
    /* logging origin-id and the sequence element */
    dgram(f, "<187>38: R1: [syslog@9 s_sn=\"1\"]: .Sep 22 13:39:11.250 UTC: "
             "%LINK-3-UPDOWN: Interface Ethernet0/2, changed state to up");
    JSON_HAS(f, 1, "\"sequence\":\"38\",\"timestamp\":\".Sep 22 13:39:11.250 UTC\","
                   "\"hostname\":\"R1\",\"sd_ids\":[\"syslog@9\"],\"cisco\":{\"facility\":\"LINK\","
                   "\"severity\":\"3\",\"mnemonic\":\"UPDOWN\"}");
    identity_is(f, false, "hostname", "R1");
    /* ASA: numeric mnemonic after a host and timestamp */
    dgram(f, "<166>Jan 05 2024 10:00:00 fw01 : %ASA-6-302013: Built inbound TCP connection");
    JSON_HAS(f, 2, "\"cisco\":{\"facility\":\"ASA\",\"severity\":\"6\",\"mnemonic\":\"302013\"}");
    /* a word with % that is no mnemonic */
    dgram(f, "<14>Jan  1 00:00:00 h app: disk 95%-full-now: x");
    JSON_LACKS(f, 3, "\"cisco\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Changes devices report (syslog_reports.c) --------------------------------------------- */

/* The last report is (kind, id, user, from), and it is the n-th; the record says the same. */
static void change_is(struct fx *f, size_t n, int kind, const char *id, const char *user,
                      const char *from)
{
    const struct qw_rec_device_report *c = &f->rec.device_report;
    assert_int_equal(f->rec.ndevice_reports, n);
    assert_int_equal(c->kind, kind);
    assert_string_equal(c->message_id, id);
    assert_string_equal(c->user, user);
    assert_string_equal(c->from, from);
    assert_false(c->server);
    char want[256];
    char head[64];
    if (kind == QW_REPORT_LOGIN) snprintf(head, sizeof head, "\"login\":{\"failed\":false,");
    else if (kind == QW_REPORT_LOGIN_FAILED)
        snprintf(head, sizeof head, "\"login\":{\"failed\":true,");
    else snprintf(head, sizeof head, "\"change\":{\"kind\":\"%s\",", qw_device_report_names[kind]);
    snprintf(want, sizeof want, "%s\"message_id\":\"%s\"%s%s%s%s%s%s}", head, id,
             user[0] ? ",\"user\":\"" : "", user, user[0] ? "\"" : "",
             from[0] ? ",\"from\":\"" : "", from, from[0] ? "\"" : "");
    JSON_HAS(f, f->rec.ntxns - 1, want);
}

static void test_changes_cisco(void **ts)
{
    struct fx *f = *ts;
    /* IOS without AAA: a line, not a user; with the address of the vty session */
    dgram(f, "<189>30: *Sep 22 13:34:49.195: %SYS-5-CONFIG_I: Configured from console by console");
    change_is(f, 1, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "", "");
    dgram(f, "<189>18:47:02: %SYS-5-CONFIG_I: Configured from console by vty2 (10.34.195.36)");
    change_is(f, 2, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "", "10.34.195.36");
    /* with AAA: the user, the line, the address */
    dgram(f, "<189>41: R7: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console "
             "by jdoe.vendor on vty0 (10.40.0.15)");
    change_is(f, 3, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "jdoe.vendor", "10.40.0.15");
    dgram(f, "<189>42: %SYS-5-CONFIG_I: Configured from console by admin on vty1 (2001:db8::7)");
    change_is(f, 4, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "admin", "2001:db8::7");
    /* NX-OS names the address where IOS names the line */
    dgram(f, "<189>2024 Jan  5 10:00:00 sw1 %VSHD-5-VSHD_SYSLOG_CONFIG_I: Configured from vty "
             "by netops on 10.1.1.9@pts/0");
    change_is(f, 5, QW_REPORT_CONFIG, "cisco VSHD-5-VSHD_SYSLOG_CONFIG_I", "netops", "10.1.1.9");
    /* the configuration change logger, and IOS-XE's programmatic change */
    dgram(f, "<189>77: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:interface Gi0/1");
    change_is(f, 6, QW_REPORT_CONFIG, "cisco PARSER-5-CFGLOG_LOGGEDCMD", "admin", "");
    dgram(f, "<189>78: %SYS-5-CONFIG_P: Configured programmatically by process SEP_webui_wsma_http");
    change_is(f, 7, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_P", "", "");
    /* ASA 111010 */
    dgram(f, "<165>Jan 05 2024 10:00:00 fw01 : %ASA-5-111010: User 'ops', running 'CLI' from IP "
             "10.20.0.9, executed 'access-list OT permit ip any any'");
    change_is(f, 8, QW_REPORT_CONFIG, "cisco ASA-5-111010", "ops", "10.20.0.9");
    /* restarts */
    dgram(f, "<189>90: %SYS-5-RELOAD: Reload requested by admin on vty0 (10.40.0.15). Reload "
             "Reason: Reload Command.");
    change_is(f, 9, QW_REPORT_RESTART, "cisco SYS-5-RELOAD", "admin", "10.40.0.15");
    dgram(f, "<189>1: %SYS-5-RESTART: System restarted --");
    change_is(f, 10, QW_REPORT_RESTART, "cisco SYS-5-RESTART", "", "");
    /* Cisco's XML form (syslog/ndpi_syslog.pcap): mnemonic from the tags, <arg id="1"> is who */
    dgram(f, "<189>92: R1: <ios-log-msg><facility>SYS</facility><severity>5</severity>"
             "<msg-id>CONFIG_I</msg-id><time>*Sep 22 13:48:33.978</time><args><arg id=\"0\">"
             "console</arg><arg id=\"1\">admin on vty0 (10.40.0.16)</arg></args></ios-log-msg>");
    change_is(f, 11, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "admin", "10.40.0.16");
    JSON_HAS(f, 10, "\"cisco\":{\"facility\":\"SYS\",\"severity\":\"5\",\"mnemonic\":\"CONFIG_I\"}");
    /* near misses: another mnemonic, the words without the mnemonic, the mnemonic in a
     * message's text but not in Cisco's place, a broken XML form */
    dgram(f, "<187>38: *Sep 22 13:39:11.250: %LINK-3-UPDOWN: Interface Ethernet0/2, changed "
             "state to up");
    dgram(f, "<14>Jan  1 00:00:00 h app: Configured from console by admin on vty0 (10.1.1.1)");
    dgram(f, "<14>Jan  1 00:00:00 h app: a line that quotes SYS-5-CONFIG_I somewhere later on "
             "in its text after the first ninety-six bytes of it %SYS-5-CONFIG_I: Configured");
    dgram(f, "<189>92: <ios-log-msg><facility>SYS</facility><severity>9</severity><msg-id>"
             "CONFIG_I</msg-id></ios-log-msg>");
    dgram(f, "<189>92: <ios-log-msg><facility>SYS</facility><severity>5</severity><msg-id>"
             "CONFIG_I");
    assert_int_equal(f->rec.ndevice_reports, 11);
    assert_int_equal(f->rec.ntxns, 16);
    JSON_LACKS(f, 15, "\"change\"");
    /* a user name longer than any is no user; an address that is none is no address */
    dgram(f, "<189>1: %SYS-5-CONFIG_I: Configured from console by "
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa on vty0 (10.1.1.x)");
    change_is(f, 12, QW_REPORT_CONFIG, "cisco SYS-5-CONFIG_I", "", "");
}

static void test_changes_other_vendors(void **ts)
{
    struct fx *f = *ts;
    /* Junos, BSD form with the tag, and RFC 5424 with the MSGID */
    dgram(f, "<189>Jan  5 10:00:00 mx1 mgd[4321]: UI_COMMIT: User 'vendor1' requested 'commit' "
             "operation (comment: none)");
    change_is(f, 1, QW_REPORT_CONFIG, "junos UI_COMMIT", "vendor1", "");
    dgram(f, "<189>1 2024-01-05T10:00:00Z mx1 mgd 4321 UI_COMMIT [junos@2636.1.1.1.2.18 "
             "username=\"root\"] User 'root' requested 'commit synchronize' operation");
    change_is(f, 2, QW_REPORT_CONFIG, "junos UI_COMMIT", "root", "");
    /* near miss: a commit check validates and changes nothing; a later message id */
    dgram(f, "<189>Jan  5 10:00:01 mx1 mgd[4321]: UI_COMMIT: User 'vendor1' requested 'commit "
             "check' operation");
    dgram(f, "<189>Jan  5 10:00:02 mx1 mgd[4321]: UI_COMMIT_COMPLETED: commit complete");
    assert_int_equal(f->rec.ndevice_reports, 2);
    /* FortiOS: the two configuration log ids, quoted or not */
    dgram(f, "<189>date=2025-04-10 time=05:01:53 devname=\"fgt-ot\" logid=\"0100044547\" "
             "type=\"event\" subtype=\"system\" level=\"information\" vd=\"root\" "
             "logdesc=\"Object attribute configured\" user=\"admin\" ui=\"GUI(10.32.22.115)\" "
             "action=\"Add\" cfgpath=\"firewall.policy\" cfgobj=\"8\" msg=\"Add firewall.policy 8\"");
    change_is(f, 3, QW_REPORT_CONFIG, "fortios 0100044547", "admin", "10.32.22.115");
    dgram(f, "<189>date=2025-04-10 time=05:02:00 logid=0100044546 type=event user=ops "
             "ui=ssh(10.20.0.9) action=Edit cfgpath=system.interface");
    change_is(f, 4, QW_REPORT_CONFIG, "fortios 0100044546", "ops", "10.20.0.9");
    /* an administrator's login is a login, not a change */
    dgram(f, "<189>date=2025-04-10 logid=\"0100032001\" logdesc=\"Admin login successful\" "
             "user=\"admin\" ui=\"https(10.32.22.115)\"");
    change_is(f, 5, QW_REPORT_LOGIN, "fortios 0100032001", "admin", "10.32.22.115");
    /* near misses: another log id, a key that only ends in "logid", an unclosed quote */
    dgram(f, "<189>date=2025-04-10 logid=\"0100032003\" logdesc=\"Admin logout successful\" "
             "user=\"admin\" ui=\"https(10.32.22.115)\"");
    dgram(f, "<189>date=2025-04-10 xlogid=\"0100044547\" user=\"admin\"");
    dgram(f, "<189>date=2025-04-10 logid=\"0100044547");
    assert_int_equal(f->rec.ndevice_reports, 5);
    /* PAN-OS CONFIG logs: succeeded only */
    dgram(f, "<14>Jan  5 10:00:00 pa-ot 1,2024/01/05 10:00:00,012801000001,CONFIG,0,0,"
             "2024/01/05 10:00:00,10.20.0.7,vsys1,edit,vendor2,Web,Succeeded, "
             "vsys vsys1 rulebase security rules allow-ot,1234,0x0,0,0,0,0,,pa-ot");
    change_is(f, 6, QW_REPORT_CONFIG, "pan-os CONFIG", "vendor2", "10.20.0.7");
    dgram(f, "<14>Jan  5 10:00:00 pa-ot 1,2024/01/05 10:00:00,012801000001,CONFIG,0,0,"
             "2024/01/05 10:00:00,10.20.0.7,vsys1,commit,vendor2,Web,Failed,,1235");
    dgram(f, "<14>Jan  5 10:00:00 pa-ot 1,2024/01/05 10:00:00,012801000001,SYSTEM,general,0,"
             "2024/01/05 10:00:00,,general,,0,0,general,informational,x");
    dgram(f, "<14>Jan  5 10:00:00 h app: 1,a,b,CONFIG,0,0,c,10.1.1.1,v,edit,u,Web,Succeeded");
    assert_int_equal(f->rec.ndevice_reports, 6);
    /* the sender is whichever end sent it */
    fx_datagram(f, S2C, "<189>1: %SYS-5-RESTART: System restarted --", 44);
    assert_int_equal(f->rec.ndevice_reports, 7);
    assert_true(f->rec.device_report.server);
}

static void test_logins(void **ts)
{
    struct fx *f = *ts;
    /* Cisco IOS login enhancements */
    dgram(f, "<189>51: crane-sw1: *Nov 20 10:00:01.100 UTC: %SEC_LOGIN-5-LOGIN_SUCCESS: Login "
             "Success [user: jdoe] [Source: 10.20.0.77] [localport: 22] at 10:00:01 UTC Fri Nov "
             "20 2026");
    change_is(f, 1, QW_REPORT_LOGIN, "cisco SEC_LOGIN-5-LOGIN_SUCCESS", "jdoe", "10.20.0.77");
    /* OpenSSH, BSD form and RFC 5424 form; IPv6 */
    dgram(f, "<86>Nov 20 10:00:02 jump01 sshd[2211]: Accepted publickey for vendor1 from "
             "10.50.8.21 port 51234 ssh2: ED25519 SHA256:abc");
    change_is(f, 2, QW_REPORT_LOGIN, "openssh Accepted", "vendor1", "10.50.8.21");
    dgram(f, "<86>1 2026-11-20T10:00:03Z hmi01 sshd 2212 - - Accepted password for operator "
             "from 2001:db8::21 port 40022 ssh2");
    change_is(f, 3, QW_REPORT_LOGIN, "openssh Accepted", "operator", "2001:db8::21");
    /* near misses: the words from another program, a login naming no address */
    dgram(f, "<86>Nov 20 10:00:05 jump01 notsshd[1]: Accepted publickey for x from 10.1.1.1 port 1");
    dgram(f, "<86>Nov 20 10:00:06 jump01 sshd[2214]: Accepted publickey for x");
    dgram(f, "<86>Nov 20 10:00:06 jump01 sshd[2214]: Accepted publickey for x from host.example "
             "port 1");
    dgram(f, "<189>53: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: jdoe] [localport: 22]");
    assert_int_equal(f->rec.ndevice_reports, 3);
    assert_int_equal(f->rec.ntxns, 7);
    JSON_LACKS(f, 6, "\"login\"");
}

static void test_failed_logins(void **ts)
{
    struct fx *f = *ts;
    /* OpenSSH: a known user, an unknown one (the user is still the name tried), IPv6 */
    dgram(f, "<86>Nov 20 10:00:04 jump01 sshd[2213]: Failed password for root from 10.50.8.21 "
             "port 51240 ssh2");
    change_is(f, 1, QW_REPORT_LOGIN_FAILED, "openssh Failed", "root", "10.50.8.21");
    dgram(f, "<86>Nov 20 10:00:05 jump01 sshd[2213]: Failed password for invalid user admin from "
             "10.50.8.21 port 51241 ssh2");
    change_is(f, 2, QW_REPORT_LOGIN_FAILED, "openssh Failed", "admin", "10.50.8.21");
    dgram(f, "<86>1 2026-11-20T10:00:06Z hmi01 sshd 2212 - - Failed keyboard-interactive/pam for "
             "operator from 2001:db8::21 port 40022 ssh2");
    change_is(f, 3, QW_REPORT_LOGIN_FAILED, "openssh Failed", "operator", "2001:db8::21");
    /* Cisco IOS */
    dgram(f, "<188>52: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: root] [Source: 10.20.0.66] "
             "[localport: 22] [Reason: Login Authentication Failed] at 10:00:07 UTC");
    change_is(f, 4, QW_REPORT_LOGIN_FAILED, "cisco SEC_LOGIN-4-LOGIN_FAILED", "root",
              "10.20.0.66");
    /* FortiOS */
    dgram(f, "<185>date=2026-11-20 time=10:00:08 logid=\"0100032002\" type=\"event\" "
             "subtype=\"system\" level=\"alert\" user=\"admin\" ui=\"ssh(10.32.22.115)\" "
             "action=\"login\" status=\"failed\" reason=\"passwd_invalid\"");
    change_is(f, 5, QW_REPORT_LOGIN_FAILED, "fortios 0100032002", "admin", "10.32.22.115");
    /* Junos, as the RFC 5424 MSGID and as the start of a BSD message's text */
    dgram(f, "<37>1 2026-11-20T10:00:09Z mx1 sshd 4711 SSHD_LOGIN_FAILED - Login failed for user "
             "'lab' from host '10.60.1.9'");
    change_is(f, 6, QW_REPORT_LOGIN_FAILED, "junos SSHD_LOGIN_FAILED", "lab", "10.60.1.9");
    dgram(f, "<37>Nov 20 10:00:10 mx1 sshd[4712]: SSHD_LOGIN_FAILED: Login failed for user "
             "'root' from host '10.60.1.9'");
    change_is(f, 7, QW_REPORT_LOGIN_FAILED, "junos SSHD_LOGIN_FAILED", "root", "10.60.1.9");
    /* ASA */
    dgram(f, "<166>Jan 05 2024 10:00:11 fw01 : %ASA-6-605004: Login denied from 10.20.0.9/51515 "
             "to inside:10.20.0.1/ssh for user \"enable_15\"");
    change_is(f, 8, QW_REPORT_LOGIN_FAILED, "cisco ASA-6-605004", "enable_15", "10.20.0.9");
    /* near misses: OpenSSH's "none" probe, a failure naming no address, another program's
     * words, Cisco's success, a FortiOS failure from the console */
    dgram(f, "<86>Nov 20 10:00:12 jump01 sshd[2215]: Failed none for invalid user x from "
             "10.50.8.21 port 51250 ssh2");
    dgram(f, "<188>54: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: root] [localport: 22]");
    dgram(f, "<86>Nov 20 10:00:13 jump01 nginx[1]: Failed password for root from 10.1.1.1 port 1");
    dgram(f, "<185>logid=\"0100032002\" user=\"admin\" ui=\"console\" status=\"failed\"");
    assert_int_equal(f->rec.ndevice_reports, 8);
    assert_int_equal(f->rec.ntxns, 12);
}

/* Every recognised message cut at every length: never read past the end, and a report is
 * either whole or absent. */
static void test_changes_cut_every_length(void **ts)
{
    struct fx *f = *ts;
    static const char *msgs[] = {
        "<189>1: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.40.0.15)",
        "<189>1: %VSHD-5-VSHD_SYSLOG_CONFIG_I: Configured from vty by a on 10.1.1.9@pts/0",
        ("<189>92: <ios-log-msg><facility>SYS</facility><severity>5</severity><msg-id>CONFIG_I"
         "</msg-id><args><arg id=\"1\">admin on vty0 (10.40.0.16)</arg></args></ios-log-msg>"),
        "<189>logid=\"0100044547\" user=\"admin\" ui=\"GUI(10.32.22.115)\"",
        "<14>x 1,2024/01/05 10:00:00,0128,CONFIG,0,0,2024/01/05,10.20.0.7,v,edit,u,Web,Succeeded",
        "<165>%ASA-5-111010: User 'ops', running 'CLI' from IP 10.20.0.9, executed 'x'",
        "<189>%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: jdoe] [Source: 10.20.0.77]",
        "<86>Nov 20 10:00:02 jump01 sshd[2211]: Accepted publickey for v from 10.50.8.21 port",
        "<86>Nov 20 10:00:02 jump01 sshd[2211]: Failed password for invalid user v from 10.5.8.2 ",
        "<37>1 2026-11-20T10:00:09Z mx1 sshd 1 SSHD_LOGIN_FAILED - for user 'l' from host '10.6.1.9'",
        "<166>%ASA-6-605004: Login denied from 10.20.0.9/5 to inside:10.20.0.1/ssh for user \"e\"",
    };
    for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        size_t n = strlen(msgs[k]);
        for (size_t cut = 0; cut <= n; cut++) {
            fx_clear(f);
            uint8_t *b = malloc(cut ? cut : 1);
            memcpy(b, msgs[k], cut);
            fx_datagram(f, C2S, b, cut);
            free(b);
            if (cut == n) assert_int_equal(f->rec.ndevice_reports, 1);
            if (f->rec.ndevice_reports) assert_true(f->rec.device_report.message_id[0]);
        }
    }
}

/* ---- PRI ----------------------------------------------------------------------------------- */

static void test_pri_edges(void **ts)
{
    struct fx *f = *ts;
    dgram(f, "<0>Jan  1 00:00:00 h k: panic");
    JSON_HAS(f, 0, "\"facility\":0,\"facility_name\":\"kern\",\"severity\":0,"
                   "\"severity_name\":\"emerg\"");
    dgram(f, "<191>Jan  1 00:00:00 h k: dbg");
    JSON_HAS(f, 1, "\"facility\":23,\"facility_name\":\"local7\",\"severity\":7,"
                   "\"severity_name\":\"debug\"");
    dgram(f, "<96>Jan  1 00:00:00 h k: x");
    JSON_HAS(f, 2, "\"facility\":12,\"facility_name\":\"ntp\"");
    assert_int_equal(f->rec.nanomalies, 0);
    /* after the flow matched: PRI 192, no digits, four digits, no '>' */
    dgram(f, "<192>Jan  1 00:00:00 h k: x");
    dgram(f, "<>Jan  1 00:00:00 h k: x");
    dgram(f, "<0013>x");
    dgram(f, "<13 x");
    dgram(f, "plain text");
    assert_int_equal(f->rec.ntxns, 3);
    /* counted a few times per flow, not per message */
    assert_int_equal(qw_record_count_anomaly(&f->rec, "syslog.invalid_message"), 4);
    assert_string_equal(f->rec.anomalies[0].detail, "pri: no digits or above 191");
    assert_int_equal(PROBE("<192>Jan  1 00:00:00 h", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<191>Jan  1 00:00:00 h", C2S), QW_PROBE_MATCH);
}

/* ---- Text ---------------------------------------------------------------------------------- */

static void test_nonprintable_and_long_text(void **ts)
{
    struct fx *f = *ts;
    char b[1200];
    int n = snprintf(b, sizeof b, "<14>Jan  1 00:00:00 h app: ");
    memset(b + n, 'A', 1000);
    b[n + 1000] = '\0';
    dgram(f, b);
    JSON_HAS(f, 0, "\"message_length\":1000,\"message_cut\":true");
    const char *j = json_of(f, 0);
    const char *m = strstr(j, "\"message\":\"");
    assert_non_null(m);
    assert_int_equal(strspn(m + 11, "A"), 256); /* cut at 256 bytes */
    /* control bytes and invalid UTF-8 are escaped: the record stays valid JSON */
    static const uint8_t bin[] = "<14>Jan  1 00:00:00 h app: a\x01\x1b[0m\xff\"\\b";
    fx_datagram(f, C2S, bin, sizeof bin - 1);
    JSON_HAS(f, 1, "\"message\":\"a\\u0001\\u001b[0m\\ufffd\\\"\\\\b\"");
    /* a host name with bytes that no host name has: recorded, no fact */
    fx_clear(f);
    dgram(f, "<14>1 - iPhone7,2 app - - - x");
    JSON_HAS(f, 0, "\"hostname\":\"iPhone7,2\"");
    assert_int_equal(f->rec.nidentities, 0);
    dgram(f, "<14>1 - 2001:db8::1 app - - - x");
    dgram(f, "<14>1 - 192.0.2.7 app - - - x");
    dgram(f, "<14>1 - 12345 app - - - x");
    assert_int_equal(f->rec.nidentities, 0);
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void test_hostname_fact_once_and_on_change(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 5; i++) dgram(f, "<14>Jan  1 00:00:00 crane-plc3 app: x");
    assert_int_equal(f->rec.ntxns, 5);
    assert_int_equal(count_identity(f, "hostname"), 1);
    assert_true(has_fact(f, false, "hostname", "crane-plc3"));
    dgram(f, "<14>Jan  1 00:00:01 crane-plc3b app: x");
    assert_int_equal(count_identity(f, "hostname"), 2);
    /* a message the flow's server sends names the server end */
    fx_datagram(f, S2C, "<14>1 - collector01 app - - -", 29);
    assert_true(has_fact(f, true, "hostname", "collector01"));
    assert_int_equal(count_identity(f, "vendor"), 0);
}

/* ---- TCP ----------------------------------------------------------------------------------- */

static const char octet1[] = "51 <13>Oct 11 22:14:15 mymachine su: 'su root' failed ";
static const char lf1[] = "<14>Oct 11 22:14:16 mymachine su: 'su root' failed\n";
static const char octet2[] = "50 <15>Oct 11 22:14:17 mymachine su: 'su bob' failed ";
static const char lf2[] = "<16>Oct 11 22:14:18 mymachine su: 'su bob' failed\r\n";

static void check_zeek_stream(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 4);
    assert_int_equal(f->rec.nanomalies, 0);
    assert_int_equal(f->rec.txns[0].txn.function, 5);
    assert_int_equal(f->rec.txns[1].txn.function, 6);
    assert_int_equal(f->rec.txns[2].txn.function, 7);
    assert_int_equal(f->rec.txns[3].txn.function, 0);
    assert_non_null(strstr(f->rec.txns[0].json, "\"message\":\"'su root' failed \""));
    assert_non_null(strstr(f->rec.txns[3].json, "\"facility\":2,\"facility_name\":\"mail\""));
    assert_non_null(strstr(f->rec.txns[3].json, "\"message\":\"'su bob' failed\""));
}

static void test_tcp_mixed_framing_every_split(void **ts)
{
    struct fx *f = *ts;
    assert_int_equal(PROBE(octet1, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE(octet1, S2C), QW_PROBE_NO); /* the sender opens the connection */
    assert_int_equal(PROBE(lf1, C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE(lf1, S2C), QW_PROBE_MATCH);
    struct msg conv[] = {
        {C2S, (const uint8_t *)octet1, sizeof octet1 - 1},
        {C2S, (const uint8_t *)lf1, sizeof lf1 - 1},
        {C2S, (const uint8_t *)octet2, sizeof octet2 - 1},
        {C2S, (const uint8_t *)lf2, sizeof lf2 - 1},
    };
    check_every_split_with(f, conv, 4, check_zeek_stream);
    /* all four in one segment */
    char all[512];
    snprintf(all, sizeof all, "%s%s%s%s", octet1, lf1, octet2, lf2);
    fx_reset(f);
    feed_str(f, C2S, all);
    check_zeek_stream(f);
    identity_is(f, false, "hostname", "mymachine");
    assert_int_equal(count_identity(f, "hostname"), 1);
}

static void test_tcp_rfc5424_octet_counting_split(void **ts)
{
    struct fx *f = *ts;
    static const char a[] = "99 <165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                            "%% It's time to make the do-nuts.";
    static const char b[] = "37 <14>1 - scada-hmi2 hmi - EVT [x@1] ok";
    struct msg conv[] = {
        {C2S, (const uint8_t *)a, sizeof a - 1},
        {C2S, (const uint8_t *)b, sizeof b - 1},
    };
    check_every_split(f, conv, 2);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    JSON_HAS(f, 0, "\"hostname\":\"192.0.2.1\",\"app_name\":\"myproc\",\"procid\":\"8710\","
                   "\"msgid\":\"-\",\"message\":\"%% It's time to make the do-nuts.\"");
    JSON_HAS(f, 1, "\"msgid\":\"EVT\",\"sd_ids\":[\"x@1\"],\"message\":\"ok\"");
    identity_is(f, false, "hostname", "scada-hmi2");
}

static void test_tcp_invalid_counts(void **ts)
{
    struct fx *f = *ts;
    /* a count with a letter, then one past the bound: each skips to the next LF */
    feed_str(f, C2S, "12x <13>bad\n");
    feed_str(f, C2S, "99999999 <13>too long\n");
    feed_str(f, C2S, "2000000 <13>above bound\n");
    feed_str(f, C2S, "junk line\n");
    feed_str(f, C2S, lf1);
    assert_int_equal(f->rec.ntxns, 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "syslog.invalid_message"), 4);
    assert_string_equal(f->rec.anomalies[0].detail,
                        "octet count: not a number or above 1048576");
    assert_string_equal(f->rec.anomalies[3].detail, "framing: bytes that start no message");
    /* bounded per flow */
    for (int i = 0; i < 10; i++) feed_str(f, C2S, "x\n");
    assert_int_equal(f->rec.nanomalies, 4);
}

static void test_tcp_long_messages(void **ts)
{
    struct fx *f = *ts;
    /* an octet-counted message of 5000 bytes: decoded from its start, the rest skipped */
    size_t body = 5000;
    char *b = malloc(body + 32);
    int h = snprintf(b, 32, "%zu ", body);
    int p = snprintf(b + h, 32, "<14>1 - big app - - - ");
    memset(b + h + p, 'B', body - (size_t)p);
    feed(f, C2S, b, (size_t)h + 1000);
    assert_int_equal(f->rec.ntxns, 0); /* waits for more */
    feed(f, C2S, b + h + 1000, 2000);
    assert_int_equal(f->rec.ntxns, 1); /* 3000 bytes held: decoded from its first 2048 */
    JSON_HAS(f, 0, "\"hostname\":\"big\"");
    JSON_HAS(f, 0, "\"message_length\":2026,\"message_cut\":true");
    feed(f, C2S, b + h + 3000, body - 3000);
    assert_int_equal(f->rec.ntxns, 1);
    feed_str(f, C2S, lf1);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    /* an LF-framed line of 5000 bytes */
    fx_reset(f);
    memcpy(b, "<14>Jan  1 00:00:00 h app: ", 27);
    memset(b + 27, 'C', body - 27);
    b[body - 1] = '\n';
    feed(f, C2S, b, 3000);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"message_length\":2021,\"message_cut\":true");
    feed(f, C2S, b + 3000, body - 3000);
    feed_str(f, C2S, lf2);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
    free(b);
}

static void test_tcp_gap_resync(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, octet1);
    qw_proto_syslog.gap(&f->ctx, f->state, C2S);
    qw_pending_reset(&f->pend[C2S]);
    feed_str(f, C2S, "oken tail of a lost message 50 <15>Oct 11 22:14:17 mymachine su: 'su bob' failed ");
    feed_str(f, C2S, octet2);
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(f->rec.nanomalies, 0);
    /* LF framing: resynchronise on the next <PRI> */
    fx_reset(f);
    feed_str(f, C2S, lf1);
    qw_proto_syslog.gap(&f->ctx, f->state, C2S);
    feed_str(f, C2S, "st line\n");
    feed_str(f, C2S, lf2);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* ---- Probe --------------------------------------------------------------------------------- */

static void test_probe(void **ts)
{
    (void)ts;
    assert_int_equal(PROBE("<34>1 2003-10-11T22:14:15.003Z h su - ID47 -", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("<13>1 - - - - - -", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("<189>123: *Mar  1 00:01:02.345: %SYS-5-CONFIG_I:", C2S),
                     QW_PROBE_MATCH);
    assert_int_equal(PROBE("<13>ab\n", S2C), QW_PROBE_MATCH);
    /* too few bytes to tell */
    assert_int_equal(PROBE("", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("<", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("<123", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("<13>", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("<13>1", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("51", C2S), QW_PROBE_NEED_MORE);
    assert_int_equal(PROBE("51 ", C2S), QW_PROBE_NEED_MORE);
    /* others */
    assert_int_equal(PROBE("<1234>x", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<?xml version=\"1.0\"?>", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<html><body>", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<13>1 x", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<13>\x01\x02\x03\x04\x05", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<13>Jan\x00\x01\x02\x03\x04", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("<13>(abc", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("GET / HTTP/1.1\r\n", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("220 ftp.example.com ready\r\n", S2C), QW_PROBE_NO);
    assert_int_equal(PROBE("220 <13>Jan  1", S2C), QW_PROBE_NO); /* a count from the server */
    assert_int_equal(PROBE("3 <13>Jan  1", C2S), QW_PROBE_NO);    /* shorter than a PRI */
    assert_int_equal(PROBE("<13>ab\n<14>cd\n", C2S), QW_PROBE_MATCH);
    assert_int_equal(PROBE("<13>ab\n\x01\x02", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("0 <13>Jan", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("12345678 <13>Jan", C2S), QW_PROBE_NO);
    assert_int_equal(PROBE("SSH-2.0-OpenSSH_9.0\r\n", C2S), QW_PROBE_NO);
    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
    assert_int_equal(qw_proto_syslog.probe(dns, sizeof dns, C2S), QW_PROBE_NO);
}

/* Every prefix of a message is decoded without reading past it. */
static void test_truncated_every_length(void **ts)
{
    struct fx *f = *ts;
    static const char *msgs[] = {
        ("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
         "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]lication\"] \xEF\xBB\xBFmsg"),
        "<187>38: R1: [syslog@9 s_sn=\"1\"]: *Sep 22 13:39:11.250 UTC: %LINK-3-UPDOWN: x",
        "<134> 2021-04-18 15:12:38+04:00 10.126.20.68 Log, x",
        "<30>Jan  2 10:09:52 nb6 chillispot[4222]: C",
    };
    for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        size_t n = strlen(msgs[k]);
        for (size_t cut = 0; cut <= n; cut++) {
            fx_clear(f);
            uint8_t *b = malloc(cut ? cut : 1);
            memcpy(b, msgs[k], cut);
            (void)qw_proto_syslog.probe(b, cut, C2S);
            fx_datagram(f, C2S, b, cut);
            free(b);
            assert_int_equal(f->rec.ntxns + f->rec.nanomalies >= 1, 1);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_rfc5424_full),
        FX_TEST(test_rfc5424_structured_data),
        FX_TEST(test_rfc5424_many_sd_ids_bounded),
        FX_TEST(test_rfc5424_nilvalues_no_fact),
        FX_TEST(test_rfc5424_missing_fields),
        FX_TEST(test_rfc3164_classic),
        FX_TEST(test_rfc3164_no_hostname_no_timestamp),
        FX_TEST(test_rfc3164_iso_date_and_year),
        FX_TEST(test_cisco),
        FX_TEST(test_pri_edges),
        FX_TEST(test_nonprintable_and_long_text),
        FX_TEST(test_hostname_fact_once_and_on_change),
        FX_TEST(test_tcp_mixed_framing_every_split),
        FX_TEST(test_tcp_rfc5424_octet_counting_split),
        FX_TEST(test_tcp_invalid_counts),
        FX_TEST(test_tcp_long_messages),
        FX_TEST(test_tcp_gap_resync),
        FX_TEST(test_probe),
        FX_TEST(test_truncated_every_length),
        FX_TEST(test_changes_cisco),
        FX_TEST(test_changes_other_vendors),
        FX_TEST(test_logins),
        FX_TEST(test_failed_logins),
        FX_TEST(test_changes_cut_every_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
