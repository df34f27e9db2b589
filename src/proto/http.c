/* HTTP/1.0 and HTTP/1.1 parser.
 *
 * Specifications:
 *   [SEM]   RFC 9110 HTTP Semantics: s.5.6.2 tokens, s.7.2 Host, s.8.3 Content-Type, s.8.4
 *           Content-Encoding, s.8.6 Content-Length, s.9 methods (s.9.3.2 HEAD, s.9.3.6
 *           CONNECT), s.10.1.1 Expect: 100-continue, s.10.1.5 User-Agent, s.10.2.4 Server,
 *           s.11.6.1 WWW-Authenticate, s.11.6.2 Authorization, s.11.5 the realm parameter,
 *           s.15 status codes.
 *   [MSG]   RFC 9112 HTTP/1.1: s.2.2 message parsing (bare LF accepted, empty lines before a
 *           request ignored), s.3 request line and s.3.2 request-target forms, s.4 status line,
 *           s.5 field lines (s.5.1: no whitespace between name and colon; s.5.2 obs-fold),
 *           s.6.1 Transfer-Encoding, s.6.3 message body length, s.7.1 chunked coding and
 *           s.7.1.2 trailers, s.9.3.2 pipelining.
 *   [WEBDAV] RFC 4918 s.9 (PROPFIND .. UNLOCK) and RFC 5789 (PATCH): the other methods known.
 *   [BASIC] RFC 7617 s.2: Basic credentials are base64 ([B64] RFC 4648 s.4) of
 *           user-id ":" password, and a user-id cannot contain ':'.
 *   [HTML]  WHATWG HTML s.4.2.2, the title element: device web UIs name themselves there.
 *
 * Message head ([MSG] s.2.1):
 *
 *   start-line   request: method SP request-target SP HTTP/1.x CRLF
 *                response: HTTP/1.x SP 3DIGIT SP reason-phrase CRLF
 *   field lines  name ":" OWS value OWS CRLF, any number
 *   CRLF         the empty line that ends the head, then the body if any
 *
 * Body length ([MSG] s.6.3, in this order): responses to HEAD, 1xx, 204 and 304 have none; a 2xx
 * to CONNECT and a 101 switch the connection to another protocol (both directions are then only
 * counted); Transfer-Encoding ending in chunked means chunks; Content-Length gives the length;
 * otherwise a request has no body and a response runs until the connection closes.
 *
 * Pairing: responses answer requests in order ([MSG] s.9.3.2); requests wait in a bounded
 * queue. A 1xx other than 101 is interim: its request waits for the final response, and the
 * transaction lists the interim codes. A response is written once its head is read and, for an
 * HTML body, once its <title> is found or the first HTTP_TITLE_SCAN body bytes have passed.
 *
 * Which side is which is read from the start lines, not assumed from the direction. Credentials:
 * for Basic authentication only the user name is decoded (the decoder stops at the colon); the
 * password is never decoded, copied or logged.
 *
 * Failed logins: a 401 answering a request that offered Basic credentials in Authorization
 * ([SEM] s.15.5.2: "the authorization has been refused for those credentials") is the device
 * refusing a login, reported once (qw_emit_device_report, "http 401") with the Basic user. A
 * 401 to a request without credentials is the normal challenge, and a 407 is about a proxy, not
 * the device: neither is reported. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its reason ---------------------------------------------------------- */

/* Start line plus field lines. Servers refuse heads past 8-16 KiB (Apache's LimitRequestLine
 * and LimitRequestFieldSize are 8190, nginx's large_client_header_buffers 4 x 8 KiB); a longer
 * one is decoded from its first HTTP_HEAD_MAX bytes and flagged. */
#define HTTP_HEAD_MAX (16u * 1024u)
#define HTTP_CHUNK_LINE_MAX 1024u   /* chunk size plus chunk extensions, one line */
#define HTTP_QUEUE_MAX 8            /* pipelined requests awaiting responses */
#define HTTP_TITLE_SCAN (16u * 1024u) /* body bytes searched for <title> */
#define HTTP_INTERIM_MAX 4          /* 1xx codes listed per transaction */
/* A request line longer than this is accepted by the probe before its end is seen. */
#define HTTP_PROBE_TARGET_MATCH 1024u
#define HTTP_CLEN_DIGITS_MAX 18     /* Content-Length values up to 10^18 - 1 */

/* Kept bytes of each text field; the record flags a cut value. */
#define HTTP_METHOD_KEEP 24
#define HTTP_URI_KEEP 256
#define HTTP_HOST_KEEP 128
#define HTTP_UA_KEEP 192
#define HTTP_SCHEME_KEEP 24
#define HTTP_USER_KEEP 64
#define HTTP_CTYPE_KEEP 96
#define HTTP_REASON_KEEP 64
#define HTTP_SERVER_KEEP 128
#define HTTP_REALM_KEEP 96
#define HTTP_CODING_KEEP 24
#define HTTP_TITLE_KEEP 128

/* ---- Protocol fact tables ------------------------------------------------------------------ */

struct http_method {
    const char *name;
    uint8_t len;
};

/* Method codes are this table's indices; 0 is an unknown (but well-formed) method. Methods are
 * case-sensitive ([SEM] s.9.1). */
static const struct http_method http_methods[] = {
    [0] = {"unknown", 7},
    [1] = {"GET", 3},        [2] = {"HEAD", 4},       [3] = {"POST", 4},
    [4] = {"PUT", 3},        [5] = {"DELETE", 6},     [6] = {"CONNECT", 7},
    [7] = {"OPTIONS", 7},    [8] = {"TRACE", 5},      [9] = {"PATCH", 5},
    [10] = {"PROPFIND", 8},  [11] = {"PROPPATCH", 9}, [12] = {"MKCOL", 5},
    [13] = {"COPY", 4},      [14] = {"MOVE", 4},      [15] = {"LOCK", 4},
    [16] = {"UNLOCK", 6},
};
#define HTTP_NMETHODS (sizeof http_methods / sizeof http_methods[0])
#define HTTP_M_HEAD 2
#define HTTP_M_CONNECT 6

/* Status codes ([SEM] s.15; 207 [WEBDAV] s.11.1; 428, 429, 431, 511 RFC 6585). */
static const char *http_status_name(unsigned s)
{
    switch (s) {
    case 100: return "continue";
    case 101: return "switching_protocols";
    case 103: return "early_hints";
    case 200: return "ok";
    case 201: return "created";
    case 202: return "accepted";
    case 203: return "non_authoritative_information";
    case 204: return "no_content";
    case 205: return "reset_content";
    case 206: return "partial_content";
    case 207: return "multi_status";
    case 300: return "multiple_choices";
    case 301: return "moved_permanently";
    case 302: return "found";
    case 303: return "see_other";
    case 304: return "not_modified";
    case 305: return "use_proxy";
    case 307: return "temporary_redirect";
    case 308: return "permanent_redirect";
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 402: return "payment_required";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 406: return "not_acceptable";
    case 407: return "proxy_authentication_required";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 410: return "gone";
    case 411: return "length_required";
    case 412: return "precondition_failed";
    case 413: return "content_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 417: return "expectation_failed";
    case 421: return "misdirected_request";
    case 422: return "unprocessable_content";
    case 426: return "upgrade_required";
    case 428: return "precondition_required";
    case 429: return "too_many_requests";
    case 431: return "request_header_fields_too_large";
    case 500: return "internal_server_error";
    case 501: return "not_implemented";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    case 505: return "http_version_not_supported";
    case 511: return "network_authentication_required";
    default: return "unknown";
    }
}

/* ---- Records ------------------------------------------------------------------------------- */

struct http_text {
    uint16_t len;
    bool cut;
};

struct http_req {
    uint64_t ts;
    uint8_t method_code;
    uint8_t minor;            /* HTTP/1.minor */
    bool absolute_form;       /* request-target is an absolute URI: a proxy request */
    bool oversized, malformed;
    bool has_clen, chunked, expect_continue;
    bool auth, proxy_auth, basic;
    bool origin_basic;        /* Authorization (not Proxy-) carried Basic credentials */
    bool user_from_proxy;     /* `user` was last decoded from Proxy-Authorization */
    uint64_t clen;
    uint8_t ninterim;
    uint16_t interim[HTTP_INTERIM_MAX];
    struct http_text method_t, uri_t, host_t, ua_t, scheme_t, user_t, ctype_t;
    char method[HTTP_METHOD_KEEP];
    char uri[HTTP_URI_KEEP];
    char host[HTTP_HOST_KEEP];
    char ua[HTTP_UA_KEEP];
    char scheme[HTTP_SCHEME_KEEP];
    char user[HTTP_USER_KEEP];
    char ctype[HTTP_CTYPE_KEEP];
};

enum http_title_state { T_OFF = 0, T_SEARCH, T_NAME_END, T_TAG, T_TEXT, T_DONE };

struct http_rsp {
    bool active;              /* read, not yet written */
    bool from_server_end;     /* sent by the flow's server end (identity facts) */
    uint64_t ts;
    uint16_t status;
    uint8_t minor;
    bool oversized, malformed;
    bool has_clen, chunked, no_body;
    bool login_failed;        /* a 401 refusing Basic credentials (see the banner) */
    uint64_t clen;
    struct http_text reason_t, server_t, ctype_t, realm_t, scheme_t, coding_t, title_t;
    char reason[HTTP_REASON_KEEP];
    char server[HTTP_SERVER_KEEP];
    char ctype[HTTP_CTYPE_KEEP];
    char realm[HTTP_REALM_KEEP];
    char scheme[HTTP_SCHEME_KEEP];  /* of WWW-Authenticate */
    char coding[HTTP_CODING_KEEP];  /* Content-Encoding */
    char title[HTTP_TITLE_KEEP];
    /* <title> scanner over the body */
    uint8_t t_state, t_match;
    bool t_space;
    uint32_t t_scanned;
};

enum http_phase {
    PH_HEAD = 0,      /* reading a start line and field lines */
    PH_BODY_LENGTH,   /* `remaining` body bytes */
    PH_BODY_CLOSE,    /* body until the connection closes */
    PH_CHUNK_SIZE,
    PH_CHUNK_DATA,
    PH_CHUNK_END,     /* the CRLF after chunk data */
    PH_TRAILERS,      /* field lines after the last chunk, up to an empty line */
    PH_SKIP_HEAD,     /* the rest of an oversized head */
    PH_RESYNC,        /* looking for the next start line */
    PH_TUNNEL,        /* after CONNECT or a protocol switch: not HTTP any more */
};

struct http_dir {
    uint8_t phase;
    bool response;    /* the message being read is a response */
    bool bol;         /* PH_RESYNC: the data starts at the beginning of a line */
    uint8_t eol;      /* PH_SKIP_HEAD/PH_TRAILERS: 0 inside a line, 1 after LF, 2 after LF CR */
    uint8_t after_skip; /* PH_SKIP_HEAD: the phase the oversized head's fields chose */
    uint32_t scanned; /* PH_HEAD: bytes of the pending head already searched for its end */
    uint64_t remaining;
};

struct http_view {
    const struct http_req *req;
    const struct http_rsp *rsp;
};

struct http_state {
    struct http_dir d[2];
    bool queue_full_reported;
    uint8_t qhead, qcount;
    struct http_req queue[HTTP_QUEUE_MAX];
    struct http_rsp rsp;
    struct http_view view;
    uint32_t seen_hash[4]; /* last identity value written per attribute (see id_once) */
};

/* ---- Small text helpers -------------------------------------------------------------------- */

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool ieq(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    if (n != k) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != (uint8_t)s[i]) return false;
    return true;
}

static bool icontains(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (ieq((const uint8_t *)p + i, k, s)) return true;
    return false;
}

static bool is_tchar(uint8_t c) /* [SEM] s.5.6.2 */
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static void keep(char *dst, size_t cap, struct http_text *t, const uint8_t *p, size_t n)
{
    size_t k = n < cap ? n : cap;
    memcpy(dst, p, k);
    t->len = (uint16_t)k;
    t->cut = k < n;
}

/* Trim optional whitespace at both ends ([SEM] s.5.6.3 OWS). */
static void trim(const uint8_t **p, size_t *n)
{
    while (*n && is_ws((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_ws((*p)[*n - 1])) (*n)--;
}

/* ---- Probe and start-line recognition ------------------------------------------------------ */

/* Known method followed by SP at `p`: its code; 0 and *more when `p` is a strict prefix of one;
 * 0 otherwise. */
static uint8_t method_at(const uint8_t *p, size_t n, bool *more)
{
    *more = false;
    for (uint8_t m = 1; m < HTTP_NMETHODS; m++) {
        size_t k = http_methods[m].len;
        size_t c = n < k ? n : k;
        if (memcmp(p, http_methods[m].name, c) != 0) continue;
        if (n <= k) {
            *more = true;
            continue;
        }
        if (p[k] == ' ') return m;
    }
    return 0;
}

/* "HTTP/1.x " then three digits then SP, CR or LF ([MSG] s.4). */
static enum qw_probe_result status_line_at(const uint8_t *p, size_t n)
{
    static const char v[] = "HTTP/1.";
    for (size_t i = 0; i < sizeof v - 1; i++) {
        if (i >= n) return QW_PROBE_NEED_MORE;
        if (p[i] != (uint8_t)v[i]) return QW_PROBE_NO;
    }
    if (n < 8) return QW_PROBE_NEED_MORE;
    if (p[7] != '0' && p[7] != '1') return QW_PROBE_NO;
    if (n < 9) return QW_PROBE_NEED_MORE;
    if (p[8] != ' ') return QW_PROBE_NO;
    for (size_t i = 9; i < 12; i++) {
        if (i >= n) return QW_PROBE_NEED_MORE;
        if (p[i] < '0' || p[i] > '9') return QW_PROBE_NO;
    }
    if (p[9] < '1' || p[9] > '5') return QW_PROBE_NO;
    if (n < 13) return QW_PROBE_NEED_MORE;
    return p[12] == ' ' || p[12] == '\r' || p[12] == '\n' ? QW_PROBE_MATCH : QW_PROBE_NO;
}

/* A request line with a known method and version HTTP/1.0 or HTTP/1.1 ([MSG] s.3). */
static enum qw_probe_result request_line_at(const uint8_t *p, size_t n)
{
    bool more;
    uint8_t m = method_at(p, n, &more);
    if (!m) return more ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
    size_t i = http_methods[m].len + 1, t = i;
    while (i < n && p[i] > ' ' && p[i] != 0x7F) i++; /* request-target: no CTL, no SP */
    if (i == n) return i - t >= HTTP_PROBE_TARGET_MATCH ? QW_PROBE_MATCH : QW_PROBE_NEED_MORE;
    if (i == t || p[i] != ' ') return QW_PROBE_NO;
    static const char v[] = "HTTP/1.";
    i++;
    for (size_t k = 0; k < sizeof v - 1; k++, i++) {
        if (i >= n) return QW_PROBE_NEED_MORE;
        if (p[i] != (uint8_t)v[k]) return QW_PROBE_NO;
    }
    if (i >= n) return QW_PROBE_NEED_MORE;
    if (p[i] != '0' && p[i] != '1') return QW_PROBE_NO;
    if (++i >= n) return QW_PROBE_NEED_MORE;
    if (p[i] == '\n') return QW_PROBE_MATCH;
    if (p[i] != '\r') return QW_PROBE_NO;
    if (++i >= n) return QW_PROBE_NEED_MORE;
    return p[i] == '\n' ? QW_PROBE_MATCH : QW_PROBE_NO;
}

static enum qw_probe_result http_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* the start line says which side is which */
    if (len == 0) return QW_PROBE_NEED_MORE;
    if (data[0] == 'H') {
        enum qw_probe_result r = status_line_at(data, len);
        if (r != QW_PROBE_NO) return r;
    }
    return request_line_at(data, len);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_text(struct qw_json *j, const char *key, const char *cut_key, const char *s,
                      const struct http_text *t)
{
    if (!t->len) return;
    qw_json_strn(j, key, s, t->len);
    if (t->cut && cut_key) qw_json_bool(j, cut_key, true);
}

static void json_version(struct qw_json *j, uint8_t minor)
{
    char v[9] = "HTTP/1.0";
    v[7] = (char)('0' + minor % 10);
    qw_json_str(j, "version", v);
}

static void json_request(struct qw_json *j, const struct http_req *r)
{
    qw_json_obj_begin(j, "request");
    qw_json_u64(j, "function", r->method_code);
    qw_json_str(j, "function_name", http_methods[r->method_code].name);
    json_text(j, "method", NULL, r->method, &r->method_t);
    json_text(j, "uri", "uri_cut", r->uri, &r->uri_t);
    json_version(j, r->minor);
    json_text(j, "host", NULL, r->host, &r->host_t);
    json_text(j, "user_agent", NULL, r->ua, &r->ua_t);
    if (r->auth || r->proxy_auth) {
        json_text(j, "authorization", NULL, r->scheme, &r->scheme_t);
        if (r->proxy_auth) qw_json_bool(j, "proxy_authorization", true);
        qw_json_bool(j, "auth_basic", r->basic);
        json_text(j, "auth_user", NULL, r->user, &r->user_t);
    }
    json_text(j, "content_type", NULL, r->ctype, &r->ctype_t);
    if (r->has_clen) qw_json_u64(j, "content_length", r->clen);
    if (r->chunked) qw_json_bool(j, "chunked", true);
    if (r->expect_continue) qw_json_bool(j, "expect_continue", true);
    if (r->oversized) qw_json_bool(j, "headers_oversized", true);
    if (r->malformed) qw_json_bool(j, "malformed", true);
    qw_json_obj_end(j);
}

static void json_response(struct qw_json *j, const struct http_rsp *r)
{
    qw_json_obj_begin(j, "response");
    qw_json_u64(j, "function", r->status);
    qw_json_str(j, "function_name", http_status_name(r->status));
    qw_json_u64(j, "status", r->status);
    json_text(j, "reason", NULL, r->reason, &r->reason_t);
    json_version(j, r->minor);
    json_text(j, "server", NULL, r->server, &r->server_t);
    json_text(j, "content_type", NULL, r->ctype, &r->ctype_t);
    if (r->has_clen) qw_json_u64(j, "content_length", r->clen);
    if (r->chunked) qw_json_bool(j, "chunked", true);
    json_text(j, "content_encoding", NULL, r->coding, &r->coding_t);
    json_text(j, "www_authenticate", NULL, r->scheme, &r->scheme_t);
    json_text(j, "realm", NULL, r->realm, &r->realm_t);
    json_text(j, "title", "title_cut", r->title, &r->title_t);
    if (r->login_failed) qw_json_bool(j, "login_failed", true);
    if (r->oversized) qw_json_bool(j, "headers_oversized", true);
    if (r->malformed) qw_json_bool(j, "malformed", true);
    qw_json_obj_end(j);
}

static void http_write_json(struct qw_json *j, const void *arg)
{
    const struct http_view *v = arg;
    if (v->req) json_request(j, v->req);
    if (v->rsp) json_response(j, v->rsp);
    if (v->req && v->req->ninterim) {
        qw_json_arr_begin(j, "interim");
        for (unsigned i = 0; i < v->req->ninterim; i++) qw_json_u64(j, NULL, v->req->interim[i]);
        qw_json_arr_end(j);
    }
}

/* ---- Emission ------------------------------------------------------------------------------ */

static void http_emit(struct qw_pctx *ctx, struct http_state *st, const struct http_req *req,
                      const struct http_rsp *rsp)
{
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = req ? req->method_code : 0;
    t.function_name = http_methods[t.function].name;
    /* Plain web is not an industrial protocol: no operation class, except that sending
     * credentials is authentication. */
    t.ops = req && (req->auth || req->proxy_auth) ? QW_OP_AUTH : 0;
    t.error = rsp && rsp->status >= 400;
    t.request_ns = req ? (req->ts ? req->ts : 1) : 0;
    t.response_ns = rsp ? (rsp->ts ? rsp->ts : 1) : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = http_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = NULL;
    st->view.rsp = NULL;
}

static struct http_req *queue_head(struct http_state *st)
{
    return st->qcount ? &st->queue[st->qhead] : NULL;
}

static void queue_pop(struct http_state *st)
{
    if (!st->qcount) return;
    st->qhead = (uint8_t)((st->qhead + 1) % HTTP_QUEUE_MAX);
    st->qcount--;
}

enum http_id { ID_SERVER, ID_UA, ID_TITLE, ID_HOST };
static void id_once(struct qw_pctx *ctx, struct http_state *st, enum http_id which, bool server,
                    const char *attr, const char *v, size_t n);

/* Write the response being read (paired with the oldest request) and forget both. */
static void finish_response(struct qw_pctx *ctx, struct http_state *st)
{
    if (!st->rsp.active) return;
    struct http_rsp *r = &st->rsp;
    /* Only a successful page names the device: "404 Not Found" or "301 Moved" would not. */
    if (r->title_t.len && r->status / 100 == 2)
        id_once(ctx, st, ID_TITLE, r->from_server_end, "http_title", r->title, r->title_t.len);
    http_emit(ctx, st, queue_head(st), r);
    queue_pop(st);
    r->active = false;
}

/* A short FNV-1a of an identity value, to write each attribute only when its value changes
 * within the flow (a keep-alive connection repeats User-Agent and Server on every message). */
static uint32_t fnv1a(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h | 1u; /* never 0, the "nothing written yet" value */
}

static void id_once(struct qw_pctx *ctx, struct http_state *st, enum http_id which, bool server,
                    const char *attr, const char *v, size_t n)
{
    if (!n) return;
    uint32_t h = fnv1a(v, n);
    if (st->seen_hash[which] == h) return;
    st->seen_hash[which] = h;
    qw_emit_identity(ctx, server, attr, v, n);
}

/* ---- Field values -------------------------------------------------------------------------- */

/* Content-Length: digits, or a list of identical digit runs ([MSG] s.6.3 item 5). */
static bool parse_clen(const uint8_t *p, size_t n, uint64_t *out)
{
    bool have = false;
    uint64_t first = 0;
    size_t i = 0;
    while (i <= n) {
        size_t s = i;
        while (i < n && p[i] != ',') i++;
        const uint8_t *e = p + s;
        size_t el = i - s;
        trim(&e, &el);
        if (el == 0 || el > HTTP_CLEN_DIGITS_MAX) return false;
        uint64_t v = 0;
        for (size_t k = 0; k < el; k++) {
            if (e[k] < '0' || e[k] > '9') return false;
            v = v * 10 + (uint64_t)(e[k] - '0');
        }
        if (have && v != first) return false;
        first = v;
        have = true;
        i++; /* past the comma (or the end) */
    }
    *out = first;
    return have;
}

/* Is the last transfer coding "chunked" ([MSG] s.6.1)? */
static bool last_coding_chunked(const uint8_t *p, size_t n)
{
    size_t s = n;
    while (s > 0 && p[s - 1] != ',') s--;
    const uint8_t *e = p + s;
    size_t el = n - s;
    trim(&e, &el);
    size_t k = 0;
    while (k < el && e[k] != ';' && !is_ws(e[k])) k++; /* transfer parameters are ignored */
    return ieq(e, k, "chunked");
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64 credentials only up to the first ':' ([BASIC] s.2): the user name. Decoding
 * stops at the colon: at most the few bits of the password that share its base64 group are
 * ever decoded, into a local that is then dropped. */
static void basic_user(const uint8_t *p, size_t n, struct http_req *r)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t ulen = 0;
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(p[i]);
        if (v < 0) break; /* '=' padding or the end of the token */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t b = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1u;
            if (b == ':') break;
            if (ulen < sizeof r->user) r->user[ulen++] = (char)b;
            else cut = true;
        }
    }
    r->user_t.len = (uint16_t)ulen;
    r->user_t.cut = cut;
}

/* The realm of the first challenge ([SEM] s.11.5): realm=token or realm="quoted-string". */
static void parse_challenge(const uint8_t *p, size_t n, struct http_rsp *r)
{
    size_t i = 0;
    while (i < n && is_tchar(p[i])) i++;
    keep(r->scheme, sizeof r->scheme, &r->scheme_t, p, i);
    for (; i + 6 <= n; i++) {
        if (!ieq(p + i, 5, "realm")) continue;
        if (i > 0 && is_tchar(p[i - 1])) continue;
        size_t k = i + 5;
        while (k < n && is_ws(p[k])) k++;
        if (k >= n || p[k] != '=') continue;
        k++;
        while (k < n && is_ws(p[k])) k++;
        size_t out = 0;
        bool cut = false;
        if (k < n && p[k] == '"') {
            for (k++; k < n && p[k] != '"'; k++) {
                if (p[k] == '\\' && k + 1 < n) k++; /* quoted-pair */
                if (out < sizeof r->realm) r->realm[out++] = (char)p[k];
                else cut = true;
            }
        } else {
            for (; k < n && is_tchar(p[k]); k++) {
                if (out < sizeof r->realm) r->realm[out++] = (char)p[k];
                else cut = true;
            }
        }
        r->realm_t.len = (uint16_t)out;
        r->realm_t.cut = cut;
        return;
    }
}

/* The name part of Host (no port, no brackets), if it is a DNS name and not an IP literal. */
static bool host_name(const char *h, size_t n, size_t *name_len)
{
    if (n == 0 || h[0] == '[') return false; /* IPv6 literal ([MSG] s.3.2.2, RFC 3986) */
    size_t k = 0;
    while (k < n && h[k] != ':') k++;
    while (k > 0 && h[k - 1] == '.') k--; /* a trailing root dot */
    bool letter = false;
    for (size_t i = 0; i < k; i++) {
        char c = h[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (alpha || c == '-' || c == '_') letter = true;
        else if (!(c >= '0' && c <= '9') && c != '.') return false;
    }
    *name_len = k;
    return k > 0 && letter; /* all digits and dots: an IPv4 literal */
}

/* ---- Head parsing -------------------------------------------------------------------------- */

struct lines {
    const uint8_t *p;
    size_t n, off;
};

/* Next line without its CR LF (or bare LF); false at the end. */
static bool next_line(struct lines *l, const uint8_t **s, size_t *len)
{
    if (l->off >= l->n) return false;
    const uint8_t *p = l->p + l->off;
    size_t left = l->n - l->off;
    const uint8_t *lf = memchr(p, '\n', left);
    size_t k = lf ? (size_t)(lf - p) : left;
    l->off += lf ? k + 1 : k;
    if (k && p[k - 1] == '\r') k--;
    *s = p;
    *len = k;
    return true;
}

/* One field line: name and trimmed value; false when malformed ([MSG] s.5, s.5.1). */
static bool field_split(const uint8_t *s, size_t n, const uint8_t **name, size_t *nlen,
                        const uint8_t **val, size_t *vlen)
{
    const uint8_t *colon = memchr(s, ':', n);
    if (!colon || colon == s) return false;
    size_t k = (size_t)(colon - s);
    for (size_t i = 0; i < k; i++)
        if (!is_tchar(s[i])) return false;
    *name = s;
    *nlen = k;
    *val = colon + 1;
    *vlen = n - k - 1;
    trim(val, vlen);
    return true;
}

enum http_clen_state { CLEN_NONE, CLEN_OK, CLEN_BAD };

struct head_common {
    bool te_seen, te_chunked;
    uint8_t clen_state;
    uint64_t clen;
    bool bad_field;
};

/* Fields shared by requests and responses. Returns true when the field was one of them. */
static bool common_field(struct head_common *hc, const uint8_t *name, size_t nlen,
                         const uint8_t *v, size_t vlen)
{
    if (ieq(name, nlen, "content-length")) {
        uint64_t x;
        if (!parse_clen(v, vlen, &x) || (hc->clen_state == CLEN_OK && x != hc->clen))
            hc->clen_state = CLEN_BAD;
        else if (hc->clen_state != CLEN_BAD) {
            hc->clen_state = CLEN_OK;
            hc->clen = x;
        }
        return true;
    }
    if (ieq(name, nlen, "transfer-encoding")) {
        hc->te_seen = true;
        hc->te_chunked = last_coding_chunked(v, vlen);
        return true;
    }
    return false;
}

/* Walk the field lines after the start line; `on` gets each well-formed one. */
static void walk_fields(struct lines *l, struct head_common *hc,
                        void (*on)(void *rec, const uint8_t *name, size_t nlen,
                                   const uint8_t *v, size_t vlen),
                        void *rec)
{
    const uint8_t *s;
    size_t n;
    while (next_line(l, &s, &n)) {
        if (n == 0) break; /* the empty line (not part of the span, but be safe) */
        if (is_ws(s[0])) continue; /* obs-fold continuation ([MSG] s.5.2): ignored */
        const uint8_t *name, *v;
        size_t nlen, vlen;
        if (!field_split(s, n, &name, &nlen, &v, &vlen)) {
            hc->bad_field = true;
            continue;
        }
        if (common_field(hc, name, nlen, v, vlen)) continue;
        on(rec, name, nlen, v, vlen);
    }
}

static void request_field(void *rec, const uint8_t *name, size_t nlen, const uint8_t *v,
                          size_t vlen)
{
    struct http_req *r = rec;
    if (ieq(name, nlen, "host")) {
        if (!r->host_t.len) keep(r->host, sizeof r->host, &r->host_t, v, vlen);
    } else if (ieq(name, nlen, "user-agent")) {
        keep(r->ua, sizeof r->ua, &r->ua_t, v, vlen);
    } else if (ieq(name, nlen, "content-type")) {
        keep(r->ctype, sizeof r->ctype, &r->ctype_t, v, vlen);
    } else if (ieq(name, nlen, "expect")) {
        r->expect_continue = ieq(v, vlen, "100-continue");
    } else if (ieq(name, nlen, "authorization") || ieq(name, nlen, "proxy-authorization")) {
        bool proxy = nlen > 13;
        if (proxy) r->proxy_auth = true;
        else r->auth = true;
        size_t k = 0;
        while (k < vlen && is_tchar(v[k])) k++;
        keep(r->scheme, sizeof r->scheme, &r->scheme_t, v, k);
        if (ieq(v, k, "basic")) {
            r->basic = true;
            if (!proxy) r->origin_basic = true;
            r->user_from_proxy = proxy;
            const uint8_t *cred = v + k;
            size_t cl = vlen - k;
            trim(&cred, &cl);
            basic_user(cred, cl, r);
        }
    }
}

static void response_field(void *rec, const uint8_t *name, size_t nlen, const uint8_t *v,
                           size_t vlen)
{
    struct http_rsp *r = rec;
    if (ieq(name, nlen, "server")) {
        keep(r->server, sizeof r->server, &r->server_t, v, vlen);
    } else if (ieq(name, nlen, "content-type")) {
        keep(r->ctype, sizeof r->ctype, &r->ctype_t, v, vlen);
    } else if (ieq(name, nlen, "content-encoding")) {
        keep(r->coding, sizeof r->coding, &r->coding_t, v, vlen);
    } else if (ieq(name, nlen, "www-authenticate")) {
        if (!r->scheme_t.len) parse_challenge(v, vlen, r);
    }
}

/* Request line ([MSG] s.3): method SP request-target SP HTTP/1.x. */
static bool parse_request_line(const uint8_t *s, size_t n, struct http_req *r)
{
    size_t i = 0;
    while (i < n && is_tchar(s[i])) i++;
    if (i == 0 || i >= n || s[i] != ' ') return false;
    keep(r->method, sizeof r->method, &r->method_t, s, i);
    r->method_code = 0;
    for (uint8_t m = 1; m < HTTP_NMETHODS; m++)
        if (i == http_methods[m].len && memcmp(s, http_methods[m].name, i) == 0) r->method_code = m;
    size_t t = ++i;
    while (i < n && s[i] > ' ' && s[i] != 0x7F) i++;
    if (i == t || i + 9 != n || s[i] != ' ') return false;
    keep(r->uri, sizeof r->uri, &r->uri_t, s + t, i - t);
    /* absolute-form ([MSG] s.3.2.2): scheme "://", sent to proxies */
    for (size_t k = t; k < i && k < t + 16; k++) {
        if (s[k] == ':') {
            r->absolute_form = k > t && k + 2 < i && s[k + 1] == '/' && s[k + 2] == '/';
            break;
        }
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
              (s[k] >= '0' && s[k] <= '9') || s[k] == '+' || s[k] == '-' || s[k] == '.'))
            break;
    }
    if (memcmp(s + i + 1, "HTTP/1.", 7) != 0 || s[i + 8] < '0' || s[i + 8] > '9') return false;
    r->minor = (uint8_t)(s[i + 8] - '0');
    return true;
}

/* Status line ([MSG] s.4): HTTP/1.x SP 3DIGIT [SP reason-phrase]. */
static bool parse_status_line(const uint8_t *s, size_t n, struct http_rsp *r)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return false;
    for (size_t i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    if (n > 12 && s[12] != ' ') return false;
    r->minor = (uint8_t)(s[7] - '0');
    r->status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
    if (r->status < 100) return false;
    if (n > 13) keep(r->reason, sizeof r->reason, &r->reason_t, s + 13, n - 13);
    return true;
}

/* ---- Body handling ------------------------------------------------------------------------- */

static bool title_deciding(const struct http_rsp *r)
{
    return r->t_state != T_OFF && r->t_state != T_DONE;
}

/* Stream body bytes through the <title> scanner ([HTML] s.4.2.2). The element name is matched
 * case-insensitively; its text runs to the next '<'; runs of whitespace become one space. */
static void title_feed(struct http_rsp *r, const uint8_t *p, size_t n)
{
    static const char tag[] = "<title";
    for (size_t i = 0; i < n && title_deciding(r); i++) {
        if (r->t_scanned >= HTTP_TITLE_SCAN) {
            r->t_state = T_DONE;
            break;
        }
        r->t_scanned++;
        uint8_t c = p[i];
        switch (r->t_state) {
        case T_SEARCH:
            if (lower(c) == (uint8_t)tag[r->t_match]) {
                if (++r->t_match == sizeof tag - 1) r->t_state = T_NAME_END;
            } else {
                r->t_match = c == '<' ? 1 : 0;
            }
            break;
        case T_NAME_END: /* "<title" must end the element name */
            if (c == '>') r->t_state = T_TEXT;
            else if (is_ws(c) || c == '\r' || c == '\n' || c == '/') r->t_state = T_TAG;
            else {
                r->t_state = T_SEARCH;
                r->t_match = c == '<' ? 1 : 0;
            }
            break;
        case T_TAG:
            if (c == '>') r->t_state = T_TEXT;
            break;
        case T_TEXT:
            if (c == '<') {
                r->t_state = T_DONE;
            } else if (is_ws(c) || c == '\r' || c == '\n') {
                r->t_space = r->title_t.len > 0;
            } else {
                size_t need = r->t_space ? 2 : 1;
                if (r->title_t.len + need > sizeof r->title) {
                    r->title_t.cut = true;
                    r->t_state = T_DONE;
                    break;
                }
                if (r->t_space) r->title[r->title_t.len++] = ' ';
                r->t_space = false;
                r->title[r->title_t.len++] = (char)c;
            }
            break;
        default: break;
        }
    }
}

/* Body bytes of the message being read in direction d. */
static void body_bytes(struct qw_pctx *ctx, struct http_state *st, unsigned d, const uint8_t *p,
                       size_t n)
{
    struct http_rsp *r = &st->rsp;
    if (!st->d[d].response || !r->active || !title_deciding(r)) return;
    title_feed(r, p, n);
    if (!title_deciding(r)) finish_response(ctx, st);
}

/* The message being read in direction d has ended. */
static void message_end(struct qw_pctx *ctx, struct http_state *st, unsigned d)
{
    struct http_dir *dd = &st->d[d];
    if (dd->response && st->rsp.active) finish_response(ctx, st);
    dd->phase = PH_HEAD;
    dd->scanned = 0;
}

static void start_body(struct qw_pctx *ctx, struct http_state *st, unsigned d,
                       const struct head_common *hc, bool until_close_allowed)
{
    struct http_dir *dd = &st->d[d];
    if (hc->te_seen && hc->te_chunked) {
        dd->phase = PH_CHUNK_SIZE;
    } else if (hc->te_seen) {
        /* A coding other than chunked last: a response runs until close; a request cannot be
         * framed ([MSG] s.6.3 item 4). */
        if (until_close_allowed) dd->phase = PH_BODY_CLOSE;
        else {
            qw_emit_anomaly(ctx, "http.invalid_transfer_encoding", NULL);
            message_end(ctx, st, d);
        }
    } else if (hc->clen_state == CLEN_OK) {
        dd->remaining = hc->clen;
        if (dd->remaining) dd->phase = PH_BODY_LENGTH;
        else message_end(ctx, st, d);
    } else if (until_close_allowed) {
        dd->phase = PH_BODY_CLOSE;
    } else {
        message_end(ctx, st, d);
    }
}

static void head_anomalies(struct qw_pctx *ctx, const struct head_common *hc)
{
    if (hc->bad_field) qw_emit_anomaly(ctx, "http.malformed_header", NULL);
    if (hc->clen_state == CLEN_BAD) qw_emit_anomaly(ctx, "http.invalid_content_length", NULL);
    /* [MSG] s.6.3 item 3: both is a request-smuggling sign, to be treated as an error */
    if (hc->te_seen && hc->clen_state != CLEN_NONE)
        qw_emit_anomaly(ctx, "http.content_length_with_transfer_encoding", NULL);
}

static void tunnel(struct http_state *st)
{
    st->d[0].phase = st->d[1].phase = PH_TUNNEL;
}

/* A request head (start line first) of `n` bytes without the empty line. */
static void on_request(struct qw_pctx *ctx, struct http_state *st, unsigned d, const uint8_t *p,
                       size_t n, bool oversized)
{
    if (st->qcount == HTTP_QUEUE_MAX) { /* the oldest request leaves unanswered (or answered) */
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "http.request_queue_full", NULL);
        st->queue_full_reported = true;
        if (st->rsp.active) finish_response(ctx, st);
        else {
            http_emit(ctx, st, queue_head(st), NULL);
            queue_pop(st);
        }
    }
    struct http_req *r = &st->queue[(st->qhead + st->qcount) % HTTP_QUEUE_MAX];
    memset(r, 0, sizeof *r);
    r->ts = qw_pctx_time(ctx);
    r->oversized = oversized;
    struct lines l = {p, n, 0};
    const uint8_t *s = NULL;
    size_t sl = 0;
    next_line(&l, &s, &sl);
    if (!parse_request_line(s, sl, r)) {
        qw_emit_anomaly(ctx, "http.malformed_request_line", NULL);
        st->d[d].phase = PH_RESYNC;
        st->d[d].bol = false;
        return;
    }
    struct head_common hc = {0};
    walk_fields(&l, &hc, request_field, r);
    head_anomalies(ctx, &hc);
    r->malformed = hc.bad_field || hc.clen_state == CLEN_BAD;
    r->has_clen = hc.clen_state == CLEN_OK;
    r->clen = hc.clen;
    r->chunked = hc.te_seen && hc.te_chunked;
    st->qcount++;
    if (r->basic) qw_emit_anomaly(ctx, "http.cleartext_basic_auth", r->proxy_auth ? "proxy" : NULL);
    id_once(ctx, st, ID_UA, d == 1, "user_agent", r->ua, r->ua_t.len);
    size_t hn;
    /* The Host of a proxy request (absolute-form) or of CONNECT names another server. */
    if (!r->absolute_form && r->method_code != HTTP_M_CONNECT && !r->host_t.cut &&
        host_name(r->host, r->host_t.len, &hn))
        id_once(ctx, st, ID_HOST, d == 0, "hostname", r->host, hn);
    st->d[d].response = false;
    start_body(ctx, st, d, &hc, false);
}

/* ---- Failed logins ------------------------------------------------------------------------- */

#define HTTP_UNAUTHORIZED 401 /* [SEM] s.15.5.2; 407 is the proxy's and left out */

/* A 401 to a request that offered Basic credentials: one refused login, named by its user. */
static void check_refused(struct qw_pctx *ctx, struct http_rsp *r, const struct http_req *req)
{
    if (!req || !req->origin_basic || r->status != HTTP_UNAUTHORIZED) return;
    r->login_failed = true;
    /* A later Proxy-Authorization Basic overwrote the user: name nobody rather than it. */
    bool named = req->user_t.len && !req->user_from_proxy;
    qw_emit_login_refused(ctx, r->from_server_end, "http 401", req->user,
                          named ? req->user_t.len : 0);
}

/* A response head of `n` bytes without the empty line. */
static void on_response(struct qw_pctx *ctx, struct http_state *st, unsigned d, const uint8_t *p,
                        size_t n, bool oversized)
{
    struct http_rsp *r = &st->rsp;
    if (r->active) finish_response(ctx, st); /* cannot happen in order; be safe */
    memset(r, 0, sizeof *r);
    r->ts = qw_pctx_time(ctx);
    r->oversized = oversized;
    r->from_server_end = d == 1;
    struct lines l = {p, n, 0};
    const uint8_t *s = NULL;
    size_t sl = 0;
    next_line(&l, &s, &sl);
    if (!parse_status_line(s, sl, r)) {
        qw_emit_anomaly(ctx, "http.malformed_status_line", NULL);
        st->d[d].phase = PH_RESYNC;
        st->d[d].bol = false;
        return;
    }
    struct head_common hc = {0};
    walk_fields(&l, &hc, response_field, r);
    head_anomalies(ctx, &hc);
    r->malformed = hc.bad_field || hc.clen_state == CLEN_BAD;
    r->has_clen = hc.clen_state == CLEN_OK;
    r->clen = hc.clen;
    r->chunked = hc.te_seen && hc.te_chunked;
    id_once(ctx, st, ID_SERVER, d == 1, "http_server", r->server, r->server_t.len);
    st->d[d].response = true;

    struct http_req *req = queue_head(st);
    if (r->status < 200 && r->status != 101) { /* interim ([SEM] s.15.2) */
        if (req) {
            if (req->ninterim < HTTP_INTERIM_MAX) req->interim[req->ninterim++] = r->status;
        } else {
            http_emit(ctx, st, NULL, r);
        }
        message_end(ctx, st, d);
        return;
    }
    r->active = true;
    check_refused(ctx, r, req);
    bool connect_ok = req && req->method_code == HTTP_M_CONNECT && r->status / 100 == 2;
    if (r->status == 101 || connect_ok) {
        finish_response(ctx, st);
        tunnel(st);
        return;
    }
    r->no_body = (req && req->method_code == HTTP_M_HEAD) || r->status == 204 || r->status == 304;
    if (r->no_body) {
        message_end(ctx, st, d);
        return;
    }
    /* Look for a title in HTML bodies (and untyped ones: embedded servers omit the type) that
     * are not compressed. */
    bool html = !r->ctype_t.len || icontains(r->ctype, r->ctype_t.len, "html");
    bool plain = !r->coding_t.len || ieq((const uint8_t *)r->coding, r->coding_t.len, "identity");
    if (html && plain) r->t_state = T_SEARCH;
    else finish_response(ctx, st);
    start_body(ctx, st, d, &hc, true);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* End of the head starting at `p`: the offset just past its empty line, 0 when not yet seen.
 * The search resumes at `*scanned` (a line feed found before it was already judged). */
static size_t head_end(const uint8_t *p, size_t n, uint32_t *scanned)
{
    size_t i = *scanned;
    for (; i < n; i++) {
        if (p[i] != '\n') continue;
        if (i + 1 >= n) break;
        if (p[i + 1] == '\n') return i + 2;
        if (p[i + 1] == '\r') {
            if (i + 2 >= n) break;
            if (p[i + 2] == '\n') return i + 3;
        }
    }
    *scanned = (uint32_t)(i < n ? i : n);
    return 0;
}

static enum qw_probe_result prefix_at(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    size_t c = n < k ? n : k;
    if (memcmp(p, s, c) != 0) return QW_PROBE_NO;
    return n < k ? QW_PROBE_NEED_MORE : QW_PROBE_MATCH;
}

/* Does a start line begin at `p` (for resynchronisation: "HTTP/1." or a known method and SP)?
 * MATCH, NO, or NEED_MORE when `p` is a valid prefix of one. */
static enum qw_probe_result start_at(const uint8_t *p, size_t n)
{
    enum qw_probe_result r = prefix_at(p, n, "HTTP/1.");
    if (r == QW_PROBE_MATCH) return r;
    bool more;
    if (method_at(p, n, &more)) return QW_PROBE_MATCH;
    return r == QW_PROBE_NEED_MORE || more ? QW_PROBE_NEED_MORE : QW_PROBE_NO;
}

/* Can a head start at `p` at all: "HTTP/" or a token (any method, [MSG] s.3.1) and SP within
 * HTTP_METHOD_KEEP bytes? Lets the parser give up on garbage without waiting for 16 KiB. */
static enum qw_probe_result head_start_ok(const uint8_t *p, size_t n)
{
    if (prefix_at(p, n, "HTTP/") != QW_PROBE_NO) return QW_PROBE_MATCH;
    for (size_t i = 0; i < n && i <= HTTP_METHOD_KEEP; i++) {
        if (p[i] == ' ') return i ? QW_PROBE_MATCH : QW_PROBE_NO;
        if (!is_tchar(p[i])) return QW_PROBE_NO;
    }
    return n > HTTP_METHOD_KEEP ? QW_PROBE_NO : QW_PROBE_NEED_MORE;
}

/* PH_RESYNC: skip to a line that starts like a request or status line. Returns bytes to
 * consume; *found tells whether the next byte starts a message. */
static size_t resync(struct http_dir *dd, const uint8_t *p, size_t n, bool *found)
{
    *found = false;
    for (size_t i = 0; i < n; i++) {
        bool bol = i == 0 ? dd->bol : p[i - 1] == '\n';
        if (!bol) continue;
        enum qw_probe_result r = start_at(p + i, n - i);
        if (r == QW_PROBE_NO) continue;
        dd->bol = true;
        *found = r == QW_PROBE_MATCH;
        return i;
    }
    dd->bol = n > 0 && p[n - 1] == '\n';
    return n;
}

/* PH_SKIP_HEAD / PH_TRAILERS: consume up to and including an empty line. */
static size_t skip_to_empty_line(struct http_dir *dd, const uint8_t *p, size_t n, bool *done)
{
    *done = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '\n') {
            if (dd->eol) {
                *done = true;
                return i + 1;
            }
            dd->eol = 1;
        } else if (c == '\r' && dd->eol == 1) {
            dd->eol = 2;
        } else if (c != '\r') {
            dd->eol = 0;
        }
    }
    return n;
}

/* PH_CHUNK_SIZE: hex size, optional extensions, line end ([MSG] s.7.1). Returns the line
 * length, 0 when incomplete, SIZE_MAX when malformed. */
static size_t chunk_size_line(const uint8_t *p, size_t n, uint64_t *size)
{
    size_t lim = n < HTTP_CHUNK_LINE_MAX ? n : HTTP_CHUNK_LINE_MAX;
    const uint8_t *lf = memchr(p, '\n', lim);
    if (!lf) return n >= HTTP_CHUNK_LINE_MAX ? SIZE_MAX : 0;
    size_t len = (size_t)(lf - p) + 1, i = 0;
    uint64_t v = 0;
    while (i < len - 1) {
        uint8_t c = p[i];
        int h = c >= '0' && c <= '9' ? c - '0'
              : lower(c) >= 'a' && lower(c) <= 'f' ? lower(c) - 'a' + 10
                                                   : -1;
        if (h < 0) break;
        if (v >> 59) return SIZE_MAX; /* past 2^63: not a real length */
        v = v << 4 | (uint64_t)h;
        i++;
    }
    if (i == 0) return SIZE_MAX;
    size_t rest = i;
    while (rest < len - 1 && is_ws(p[rest])) rest++;
    if (rest < len - 1 && p[rest] != ';' && !(p[rest] == '\r' && rest == len - 2)) return SIZE_MAX;
    *size = v;
    return len;
}

static void go_resync(struct http_state *st, unsigned d)
{
    st->d[d].phase = PH_RESYNC;
    st->d[d].bol = false;
    st->d[d].scanned = 0;
}

static size_t http_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct http_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1u : 0u;
    struct http_dir *dd = &st->d[d];
    size_t off = 0;
    while (off < len) {
        const uint8_t *p = data + off;
        size_t n = len - off;
        switch (dd->phase) {
        case PH_HEAD: {
            if (dd->scanned == 0 && (p[0] == '\r' || p[0] == '\n')) { /* [MSG] s.2.2 */
                off++;
                continue;
            }
            if (dd->scanned == 0) {
                enum qw_probe_result ok = head_start_ok(p, n);
                if (ok == QW_PROBE_NEED_MORE) return off;
                if (ok == QW_PROBE_NO) {
                    qw_emit_anomaly(ctx, d == 0 ? "http.malformed_request_line"
                                                : "http.malformed_status_line",
                                    NULL);
                    go_resync(st, d);
                    off += 1;
                    continue;
                }
            }
            size_t end = head_end(p, n, &dd->scanned);
            bool oversized = false;
            size_t used = end, span = end;
            if (!end && n < HTTP_HEAD_MAX) return off; /* the engine keeps the partial head */
            if (!end || end > HTTP_HEAD_MAX) {
                /* Oversized: decode the complete lines of the first HTTP_HEAD_MAX bytes, however
                 * the head was segmented, and skip the rest. */
                const uint8_t *last = NULL;
                for (size_t i = HTTP_HEAD_MAX; i > 0; i--)
                    if (p[i - 1] == '\n') {
                        last = p + i - 1;
                        break;
                    }
                qw_emit_anomaly(ctx, "http.oversized_header", NULL);
                if (!last) { /* not even the start line fits */
                    go_resync(st, d);
                    off += 1;
                    continue;
                }
                oversized = true;
                used = span = (size_t)(last - p) + 1;
            }
            dd->scanned = 0;
            if (prefix_at(p, n, "HTTP/") == QW_PROBE_MATCH)
                on_response(ctx, st, d, p, span, oversized);
            else on_request(ctx, st, d, p, span, oversized);
            if (dd->phase == PH_RESYNC) { /* bad start line: look again from the next byte */
                off += 1;
                continue;
            }
            off += used;
            if (oversized) {
                /* The rest of the head is skipped first; then the body framing the fields
                 * read chose applies. */
                dd->after_skip = dd->phase;
                dd->eol = 1;
                dd->phase = PH_SKIP_HEAD;
            }
            break;
        }
        case PH_SKIP_HEAD: {
            bool done;
            off += skip_to_empty_line(dd, p, n, &done);
            if (done) dd->phase = dd->after_skip;
            break;
        }
        case PH_BODY_LENGTH: {
            size_t k = dd->remaining < n ? (size_t)dd->remaining : n;
            body_bytes(ctx, st, d, p, k);
            dd->remaining -= k;
            off += k;
            if (!dd->remaining) message_end(ctx, st, d);
            break;
        }
        case PH_BODY_CLOSE:
            body_bytes(ctx, st, d, p, n);
            off = len;
            break;
        case PH_CHUNK_SIZE: {
            uint64_t size = 0;
            size_t l = chunk_size_line(p, n, &size);
            if (l == 0) return off;
            if (l == SIZE_MAX) {
                qw_emit_anomaly(ctx, "http.invalid_chunk", NULL);
                message_end(ctx, st, d);
                go_resync(st, d);
                break;
            }
            off += l;
            if (size == 0) {
                dd->phase = PH_TRAILERS;
                dd->eol = 1;
            } else {
                dd->remaining = size;
                dd->phase = PH_CHUNK_DATA;
            }
            break;
        }
        case PH_CHUNK_DATA: {
            size_t k = dd->remaining < n ? (size_t)dd->remaining : n;
            body_bytes(ctx, st, d, p, k);
            dd->remaining -= k;
            off += k;
            if (!dd->remaining) dd->phase = PH_CHUNK_END;
            break;
        }
        case PH_CHUNK_END:
            if (p[0] == '\n') {
                off += 1;
                dd->phase = PH_CHUNK_SIZE;
            } else if (p[0] == '\r') {
                if (n < 2) return off;
                if (p[1] != '\n') goto bad_chunk;
                off += 2;
                dd->phase = PH_CHUNK_SIZE;
            } else {
            bad_chunk:
                qw_emit_anomaly(ctx, "http.invalid_chunk", NULL);
                message_end(ctx, st, d);
                go_resync(st, d);
            }
            break;
        case PH_TRAILERS: {
            bool done;
            off += skip_to_empty_line(dd, p, n, &done);
            if (done) message_end(ctx, st, d);
            break;
        }
        case PH_RESYNC: {
            bool found;
            off += resync(dd, p, n, &found);
            if (found) {
                dd->phase = PH_HEAD;
                dd->scanned = 0;
            } else if (off < len) {
                return off; /* a possible start line is cut: wait for more */
            }
            break;
        }
        case PH_TUNNEL:
        default:
            off = len;
            break;
        }
    }
    return off;
}

static void http_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    struct http_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1u : 0u;
    struct http_dir *dd = &st->d[d];
    if (dd->phase == PH_TUNNEL) return;
    if (dd->phase == PH_BODY_CLOSE)
        return; /* the body just lost some bytes; it still ends at close */
    if (dd->response && st->rsp.active) finish_response(ctx, st);
    go_resync(st, d);
}

static void http_flow_end(struct qw_pctx *ctx, void *state)
{
    struct http_state *st = state;
    finish_response(ctx, st);
    while (st->qcount) {
        http_emit(ctx, st, queue_head(st), NULL);
        queue_pop(st);
    }
}

const struct qw_proto qw_proto_http = {
    .name = "http",
    .transports = QW_TRANSPORT_TCP,
    .ports = {80, 8080, 8000, 8008, 8081, 8888, 0}, /* IANA http, http-alt and common variants */
    .probe = http_probe,
    .state_size = sizeof(struct http_state),
    .parse = http_parse,
    .gap = http_gap,
    .flow_end = http_flow_end,
};
