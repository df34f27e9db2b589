/* Unit tests for the HTTP/1.x parser (src/proto/http.c).
 *
 * Messages are written as text ([MSG] RFC 9112) and fed through qw_stream_deliver as in the
 * engine, into a recording sink; the records are checked field by field. */
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

extern const struct qw_proto qw_proto_http;

#define PROTO qw_proto_http
#define FX_TS_STEP 1000000u /* 1 ms per delivery */

#include "parser_fixture.h"

/* ---- A device web UI ----------------------------------------------------------------------- */

static const char get_req[] =
    "GET /Portal/Portal.mwsl?PriNav=Ident HTTP/1.1\r\n"
    "Host: plc-crane-07.terminal.example\r\n"
    "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0\r\n"
    "Accept: text/html\r\n"
    "\r\n";

#define PAGE_BODY                                                                                  \
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<TITLE lang=\"en\">\n"                 \
    "  SIMATIC   S7-1500\n  crane-07 </TITLE></head><body>Identification</body></html>\n"

static const char page_rsp[] = "HTTP/1.1 200 OK\r\n"
                               "Server: Siemens S7 Webserver\r\n"
                               "Content-Type: text/html; charset=utf-8\r\n"
                               "Content-Length: 150\r\n"
                               "\r\n" PAGE_BODY;

static void check_page(const struct fx *f)
{
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_true(t->has_request && t->has_response);
    assert_int_equal(t->function, 1);
    assert_string_equal(t->function_name, "GET");
    assert_int_equal(t->ops, 0);
    assert_false(t->error);
    JSON_HAS(f, 0, "{\"request\":{\"function\":1,\"function_name\":\"GET\",\"method\":\"GET\","
                   "\"uri\":\"/Portal/Portal.mwsl?PriNav=Ident\",\"version\":\"HTTP/1.1\","
                   "\"host\":\"plc-crane-07.terminal.example\","
                   "\"user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0\"},"
                   "\"response\":{\"function\":200,\"function_name\":\"ok\",\"status\":200,"
                   "\"reason\":\"OK\",\"version\":\"HTTP/1.1\","
                   "\"server\":\"Siemens S7 Webserver\","
                   "\"content_type\":\"text/html; charset=utf-8\",\"content_length\":150,"
                   "\"title\":\"SIMATIC S7-1500 crane-07\"}}");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_page_with_title(void **ts)
{
    struct fx *f = *ts;
    assert_int_equal(strlen(PAGE_BODY), 150);
    feed_str(f, C2S, get_req);
    assert_int_equal(f->rec.ntxns, 0);
    feed_str(f, S2C, page_rsp);
    check_page(f);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_int_equal(t->response_ns - t->request_ns, 1000000);
    assert_string_equal(qw_record_identity(&f->rec, false, "user_agent"),
                        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0");
    assert_string_equal(qw_record_identity(&f->rec, true, "hostname"),
                        "plc-crane-07.terminal.example");
    assert_string_equal(qw_record_identity(&f->rec, true, "http_server"), "Siemens S7 Webserver");
    assert_string_equal(qw_record_identity(&f->rec, true, "http_title"),
                        "SIMATIC S7-1500 crane-07");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
}

static void test_every_split(void **ts)
{
    struct fx *f = *ts;
    const struct msg conv[] = {{C2S, (const uint8_t *)get_req, sizeof get_req - 1},
                               {S2C, (const uint8_t *)page_rsp, sizeof page_rsp - 1}};
    check_every_split_with(f, conv, 2, check_page);
}

/* Three pipelined requests in one segment; answers by length, chunks and HEAD (no body). */
static void test_pipelining(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "GET /a HTTP/1.1\r\nHost: hmi-3\r\n\r\n"
                     "HEAD /b HTTP/1.1\r\nHost: hmi-3\r\n\r\n"
                     "POST /c HTTP/1.1\r\nHost: hmi-3\r\nContent-Type: application/json\r\n"
                     "Content-Length: 14\r\n\r\n{\"setpoint\":4}"
                     "\r\n" /* a stray CRLF between requests is ignored ([MSG] s.2.2) */
                     "GET /d HTTP/1.1\r\nHost: hmi-3\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 0);
    feed_str(f, S2C,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
             "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
             "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
             "Content-Type: text/plain\r\n\r\n"
             "4\r\nok\r\n\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n"
             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 4);
    static const char *const methods[] = {"GET", "HEAD", "POST", "GET"};
    static const unsigned status[] = {200, 200, 201, 404};
    for (size_t i = 0; i < 4; i++) {
        const struct qw_txn *t = &f->rec.txns[i].txn;
        assert_true(t->has_request && t->has_response);
        assert_string_equal(t->function_name, methods[i]);
        char s[32];
        snprintf(s, sizeof s, "\"status\":%u", status[i]);
        JSON_HAS(f, i, s);
        assert_int_equal(t->error, status[i] >= 400);
    }
    JSON_HAS(f, 1, "\"content_length\":5000");
    JSON_LACKS(f, 1, "title"); /* HEAD: no body was sent */
    JSON_HAS(f, 2, "\"content_type\":\"application/json\",\"content_length\":14}");
    JSON_HAS(f, 2, "\"chunked\":true");
    assert_int_equal(f->rec.nanomalies, 0);
    /* One hostname fact for the whole connection. */
    assert_int_equal(count_identity(f, "hostname"), 1);
}

/* A chunked HTML page whose title crosses chunk boundaries. */
static void test_chunked_title(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: 10.30.0.21\r\n\r\n");
    feed_str(f, S2C,
             "HTTP/1.1 200 OK\r\nServer: Hikvision-Webs\r\nTransfer-Encoding: chunked\r\n\r\n"
             "8\r\n<html><t\r\n"
             "5\r\nitle>\r\n"
             "3\r\nHik\r\n");
    assert_int_equal(f->rec.ntxns, 0); /* the title is not finished */
    feed_str(f, S2C, "7\r\nvision<\r\n");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"title\":\"Hikvision\"");
    JSON_HAS(f, 0, "\"chunked\":true");
    JSON_LACKS(f, 0, "content_type");
    feed_str(f, S2C,
             "9\r\n/title>..\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
    feed_str(f, C2S, "GET /x HTTP/1.1\r\nHost: 10.30.0.21\r\n\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    assert_false(f->rec.txns[1].txn.has_request); /* the 304 arrived before its request */
    assert_false(f->rec.txns[2].txn.has_response);
    assert_null(qw_record_identity(&f->rec, true, "hostname")); /* Host is an IP address */
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_expect_continue(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "PUT /config/recipe.xml HTTP/1.1\r\nHost: plc\r\nExpect: 100-continue\r\n"
                     "Content-Length: 10\r\n\r\n");
    feed_str(f, S2C, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 0);
    feed_str(f, C2S, "0123456789");
    feed_str(f, S2C, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
    feed_str(f, C2S, "GET / HTTP/1.0\r\n\r\n");
    feed_str(f, S2C,
             "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>Moxa EDS-408A");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"expect_continue\":true");
    JSON_HAS(f, 0, "\"status\":204");
    JSON_HAS(f, 0, "\"interim\":[100]");
    feed_str(f, S2C, "</title>");
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 1, "\"version\":\"HTTP/1.0\"");
    JSON_HAS(f, 1, "\"title\":\"Moxa EDS-408A\"");
    feed_str(f, S2C, "rest of a body that runs until the connection closes");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* The body ends (connection close) before a title is complete: what was read is the title. */
static void test_title_at_close_and_cut(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n");
    feed_str(f, S2C, "HTTP/1.0 200 OK\r\n\r\n<title>  RTU  560 ");
    assert_int_equal(f->rec.ntxns, 0);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"title\":\"RTU 560\"}");

    fx_reset(f);
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n");
    char rsp[600];
    int n = snprintf(rsp, sizeof rsp, "HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n<title>");
    for (int i = 0; i < 300; i++) rsp[n++] = (char)('a' + i % 26);
    feed(f, S2C, rsp, (size_t)n);
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"title_cut\":true");

    /* An error page's title is recorded but names no device. */
    fx_reset(f);
    feed_str(f, C2S, "GET /x HTTP/1.1\r\nHost: gw\r\n\r\n");
    feed_str(f, S2C,
             "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 33\r\n\r\n"
             "<title>404 Not Found</title>....");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"title\":\"404 Not Found\"");
    assert_null(qw_record_identity(&f->rec, true, "http_title"));

    /* Compressed and non-HTML bodies are not searched. */
    fx_reset(f);
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n");
    feed_str(f, S2C, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\n"
                     "Content-Length: 20\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 1);
    JSON_HAS(f, 0, "\"content_encoding\":\"gzip\"");
    feed_str(f, S2C, "<title>zipped</title");
    JSON_LACKS(f, 0, "zipped");
}

static void test_basic_auth(void **ts)
{
    struct fx *f = *ts;
    /* "operator:s3cr:et" in base64: the password holds a colon. */
    feed_str(f, C2S, "GET /cgi-bin/setup HTTP/1.1\r\nHost: cam-12.terminal.example\r\n"
                     "Authorization: Basic b3BlcmF0b3I6czNjcjpldA==\r\n\r\n");
    feed_str(f, S2C,
             "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Hikvision \\\"DS\\\"\", "
             "charset=\"UTF-8\"\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 1);
    const struct qw_txn *t = &f->rec.txns[0].txn;
    assert_int_equal(t->ops, QW_OP_AUTH);
    assert_true(t->error);
    JSON_HAS(f, 0, "\"authorization\":\"Basic\",\"auth_basic\":true,\"auth_user\":\"operator\"");
    JSON_HAS(f, 0, "\"www_authenticate\":\"Basic\",\"realm\":\"Hikvision \\\"DS\\\"\"");
    JSON_HAS(f, 0, "\"function_name\":\"unauthorized\"");
    JSON_LACKS(f, 0, "s3cr");
    JSON_LACKS(f, 0, "b3BlcmF0b3I6");
    JSON_HAS(f, 0, "\"realm\":\"Hikvision \\\"DS\\\"\",\"login_failed\":true");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.cleartext_basic_auth"), 1);
    /* Credentials offered and refused: one failed login, named by the Basic user. */
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_int_equal(f->rec.device_report.kind, QW_REPORT_LOGIN_FAILED);
    assert_true(f->rec.device_report.server);
    assert_string_equal(f->rec.device_report.message_id, "http 401");
    assert_string_equal(f->rec.device_report.user, "operator");
    for (size_t i = 0; i < f->rec.nidentities; i++)
        assert_null(strstr(f->rec.identities[i].value, "s3cr"));

    /* Digest sends no password in clear: auth, but no anomaly. */
    fx_reset(f);
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Digest username=\"op\", "
                     "realm=\"r\", nonce=\"n\", uri=\"/\", response=\"0\"\r\n\r\n");
    flow_end(f);
    assert_int_equal(f->rec.txns[0].txn.ops, QW_OP_AUTH);
    JSON_HAS(f, 0, "\"authorization\":\"Digest\",\"auth_basic\":false}");
    assert_int_equal(f->rec.nanomalies, 0);
}

/* A request with the given extra field lines, answered by `status`. */
static void exchange(struct fx *f, const char *fields, const char *status)
{
    char req[512], rsp[256];
    snprintf(req, sizeof req, "GET /admin HTTP/1.1\r\nHost: plc\r\n%s\r\n", fields);
    snprintf(rsp, sizeof rsp, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);
    feed_str(f, C2S, req);
    feed_str(f, S2C, rsp);
}

static void test_refused_logins(void **ts)
{
    struct fx *f = *ts;
    /* admin:1234, then root:root: two guesses on one connection, two failures. */
    exchange(f, "Authorization: Basic YWRtaW46MTIzNA==\r\n", "401 Unauthorized");
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_string_equal(f->rec.device_report.user, "admin");
    assert_true(f->rec.device_report.from_peer); /* the requester: the engine names it */
    assert_true(f->rec.device_report.server);
    exchange(f, "Authorization: Basic cm9vdDpyb290\r\n", "401 Unauthorized");
    assert_int_equal(f->rec.ndevice_reports, 2);
    assert_string_equal(f->rec.device_report.user, "root");
    /* None of these is a refused login to the device: the first challenge (no credentials),
     * accepted credentials, a proxy's 407, proxy credentials answered by 401, Digest, and a
     * 403 to Basic credentials (known user, no access). */
    exchange(f, "", "401 Unauthorized");
    exchange(f, "Authorization: Basic cm9vdDpyb290\r\n", "200 OK");
    exchange(f, "Proxy-Authorization: Basic cm9vdDpyb290\r\n", "407 Proxy Authentication Required");
    exchange(f, "Proxy-Authorization: Basic cm9vdDpyb290\r\n", "401 Unauthorized");
    exchange(f, "Authorization: Digest username=\"op\", response=\"0\"\r\n", "401 Unauthorized");
    exchange(f, "Authorization: Basic cm9vdDpyb290\r\n", "403 Forbidden");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 8);
    assert_int_equal(f->rec.ndevice_reports, 2);
    JSON_HAS(f, 1, "\"login_failed\":true");
    JSON_LACKS(f, 2, "login_failed");
    /* Both headers: the user refused is the device's, not the proxy's. */
    fx_reset(f);
    exchange(f,
             "Authorization: Basic YWRtaW46MTIzNA==\r\n"
             "Proxy-Authorization: Basic cm9vdDpyb290\r\n",
             "401 Unauthorized");
    assert_int_equal(f->rec.ndevice_reports, 1);
    assert_string_equal(f->rec.device_report.user, ""); /* the user field holds the proxy's */
    fx_reset(f);
    exchange(f,
             "Proxy-Authorization: Basic cm9vdDpyb290\r\n"
             "Authorization: Basic YWRtaW46MTIzNA==\r\n",
             "401 Unauthorized");
    assert_string_equal(f->rec.device_report.user, "admin");
}

static void test_hostname_rules(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: hmi.local.:8080\r\n\r\n");
    assert_string_equal(qw_record_identity(&f->rec, true, "hostname"), "hmi.local");
    fx_reset(f);
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: [fe80::1]:80\r\n\r\n");
    feed_str(f, C2S, "GET http://historian.example/ HTTP/1.1\r\nHost: historian.example\r\n\r\n");
    feed_str(f, C2S, "CONNECT tos.example:443 HTTP/1.1\r\nHost: tos.example:443\r\n\r\n");
    assert_null(qw_record_identity(&f->rec, true, "hostname"));
    /* CONNECT's 200 turns the connection into a tunnel: TLS bytes are not parsed. */
    feed_str(f, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    feed_str(f, S2C, "HTTP/1.1 200 Connection established\r\n\r\n");
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};
    feed(f, C2S, tls, sizeof tls);
    feed(f, S2C, tls, sizeof tls);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 3);
    JSON_HAS(f, 2, "\"function_name\":\"CONNECT\"");
    JSON_HAS(f, 2, "\"reason\":\"Connection established\"");
    assert_int_equal(f->rec.nanomalies, 0);
}

static void test_malformed(void **ts)
{
    struct fx *f = *ts;
    feed_str(f, C2S,
             "\x01\x02garbage\r\nGET /ok HTTP/1.1\r\nHost: a\r\nBad Header: x\r\nNoColon\r\n"
             "Content-Length: 12a\r\n\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.malformed_request_line"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.malformed_header"), 1);
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.invalid_content_length"), 1);
    feed_str(f, C2S, "POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n0\r\n\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.content_length_with_transfer_encoding"),
                     1);
    feed_str(f, S2C, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.invalid_chunk"), 1);
    feed_str(f, S2C, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    feed_str(f, S2C, "HTTP/9.9 600 Odd\r\n\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.malformed_status_line"), 1);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"uri\":\"/ok\"");
    JSON_HAS(f, 0, "\"malformed\":true");
    JSON_HAS(f, 1, "\"uri\":\"/s\"");
    JSON_HAS(f, 1, "\"status\":404");
}

static void test_oversized_header(void **ts)
{
    struct fx *f = *ts;
    static char big[40000];
    /* The body length comes before the cut, so the framing survives it. */
    size_t n = (size_t)snprintf(big, sizeof big,
                                "GET /big HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n");
    while (n < 20000) n += (size_t)snprintf(big + n, sizeof big - n, "X-Filler: %0100d\r\n", 7);
    n += (size_t)snprintf(big + n, sizeof big - n, "\r\nhi");
    n += (size_t)snprintf(big + n, sizeof big - n, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    /* In 1000-byte segments, then in one: the same outcome. */
    for (int pass = 0; pass < 2; pass++) {
        fx_reset(f);
        if (pass == 0)
            for (size_t k = 0; k < n; k += 1000) feed(f, C2S, big + k, n - k < 1000 ? n - k : 1000);
        else
            feed(f, C2S, big, n);
        flow_end(f);
        assert_int_equal(qw_record_count_anomaly(&f->rec, "http.oversized_header"), 1);
        assert_int_equal(f->rec.ntxns, 2);
        JSON_HAS(f, 0, "\"uri\":\"/big\"");
        JSON_HAS(f, 0, "\"headers_oversized\":true");
        JSON_HAS(f, 1, "\"uri\":\"/next\"");
        assert_int_equal(f->rec.nanomalies, 1);
    }
}

static void test_queue_full_and_gap(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 10; i++) feed_str(f, C2S, "GET /poll HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(qw_record_count_anomaly(&f->rec, "http.request_queue_full"), 1);
    assert_int_equal(f->rec.ntxns, 2);
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 10);

    /* A segment lost inside a response body: the response is written, the next one found. */
    fx_reset(f);
    feed_str(f, C2S, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    feed_str(f, S2C,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc");
    qw_pending_reset(&f->pend[1]);
    qw_proto_http.gap(&f->ctx, f->state, S2C);
    feed_str(f, S2C,
             "tail of the body\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    flow_end(f);
    assert_int_equal(f->rec.ntxns, 2);
    JSON_HAS(f, 0, "\"uri\":\"/1\"");
    JSON_HAS(f, 1, "\"uri\":\"/2\"");
    JSON_HAS(f, 1, "\"status\":500");
    assert_true(f->rec.txns[1].txn.error);
    assert_int_equal(f->rec.nanomalies, 0);
}

/* Keep-alive: identities are written once per value. */
static void test_identity_once(void **ts)
{
    struct fx *f = *ts;
    for (int i = 0; i < 3; i++) {
        feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: tos\r\nUser-Agent: TOSClient/4.2\r\n\r\n");
        feed_str(f, S2C, "HTTP/1.1 200 OK\r\nServer: tos-api\r\nContent-Type: application/json\r\n"
                         "Content-Length: 2\r\n\r\n{}");
    }
    feed_str(f, C2S, "GET / HTTP/1.1\r\nHost: tos\r\nUser-Agent: TOSClient/4.3\r\n\r\n");
    assert_int_equal(f->rec.ntxns, 3);
    assert_int_equal(count_identity(f, "user_agent"), 2);
    assert_int_equal(count_identity(f, "http_server"), 1);
    assert_int_equal(count_identity(f, "hostname"), 1);
}

static void test_probe(void **ts)
{
    (void)ts;
    static const char *const yes[] = {
        "GET / HTTP/1.1\r\n", "POST /write?db=x HTTP/1.0\n", "PROPFIND /dav HTTP/1.1\r\n",
        "HTTP/1.1 200 OK\r\n", "HTTP/1.0 404\r\n", "OPTIONS * HTTP/1.1\r\n",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        size_t n = strlen(yes[i]);
        assert_int_equal(qw_proto_http.probe((const uint8_t *)yes[i], n, QW_DIR_TO_SERVER),
                         QW_PROBE_MATCH);
        for (size_t k = 0; k + 1 < n && k < 12; k++) /* every short prefix is "maybe" */
            assert_int_equal(qw_proto_http.probe((const uint8_t *)yes[i], k, QW_DIR_TO_SERVER),
                             QW_PROBE_NEED_MORE);
    }
    static const char *const no[] = {
        "OPTIONS rtsp://cam/stream RTSP/1.0\r\n", /* RTSP: camera streams */
        "INVITE sip:ops@pbx SIP/2.0\r\n",         /* SIP */
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",        /* HTTP/2 preface */
        "get / HTTP/1.1\r\n",                     /* methods are case-sensitive */
        "GETX / HTTP/1.1\r\n",
        "GET  / HTTP/1.1\r\n",
        "GET / HTTP/1.2\r\n",
        "GET / HTTP/1.1 \r\n",
        "HTTP/2 200\r\n",
        "HTTP/1.1 20x OK\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(qw_proto_http.probe((const uint8_t *)no[i],
                                             strlen(no[i]) ? strlen(no[i]) : 12, QW_DIR_TO_SERVER),
                         QW_PROBE_NO);
    /* A very long request-target is accepted before its end. */
    static char longuri[1300] = "GET /";
    memset(longuri + 5, 'a', sizeof longuri - 6);
    assert_int_equal(qw_proto_http.probe((const uint8_t *)longuri, sizeof longuri - 1,
                                         QW_DIR_TO_SERVER),
                     QW_PROBE_MATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_logins, fx_setup, fx_teardown),
        cmocka_unit_test(test_probe),
        cmocka_unit_test_setup_teardown(test_page_with_title, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_every_split, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pipelining, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_chunked_title, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_title_at_close_and_cut, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_basic_auth, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostname_rules, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_header, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_and_gap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identity_once, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
