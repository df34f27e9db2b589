/* Everyday IT traffic around the OT: DNS lookups (RFC 1035), NTP time sync with the domain
 * controller (RFC 5905), workstations' HTTP requests to the TOS web servers and the HMI's
 * keep-alive HTTP posts to the historian (RFC 9110/9112). */
#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/tcp.h"
#include "synth/text.h"

#define TEXT_CAP 1400 /* below the 1460-byte MSS: every text message is one segment */

static uint64_t unix_us(const struct sy *sy)
{
    return sy->out.epoch_s * SY_SEC + sy->now;
}

/* ---- DNS ---- */

struct dns_actor {
    struct sy_actor a;
    struct sy_dev *c, *srv;
    const struct sy_dns_name *names;
    unsigned nnames, cur;
    uint16_t id, sport;
    bool answer;
    uint64_t gap_lo, gap_hi;
};

static void dns_fire(struct sy *sy, struct sy_actor *a)
{
    struct dns_actor *x = (struct dns_actor *)a;
    const struct sy_dns_name *nm = &x->names[x->cur];
    if (!x->answer) {
        x->id = (uint16_t)sy_rand(&sy->rng);
        x->sport = (uint16_t)sy_range(&sy->rng, 49152, 65535);
        size_t n = sy_dns_query(sy_udp_pl(sy), x->id, nm->name, SY_DNS_A);
        sy_udp_dev(sy, x->c, x->srv, x->sport, 53, n);
        x->answer = true;
        a->next = sy->now + sy_jit(sy, 300, 3 * SY_MS);
    } else {
        size_t n = sy_dns_response(sy_udp_pl(sy), x->id, nm->name, SY_DNS_A, nm->addr, 3600);
        sy_udp_dev(sy, x->srv, x->c, 53, x->sport, n);
        x->answer = false;
        x->cur = (unsigned)sy_range(&sy->rng, 0, x->nnames - 1u);
        a->next = sy->now + sy_jit(sy, x->gap_lo, x->gap_hi);
    }
}

struct sy_actor *sy_dns_actor(struct sy *sy, struct sy_dev *c, const struct sy_dns_name *names,
                              unsigned nnames, uint64_t gap_lo, uint64_t gap_hi, uint64_t start)
{
    if (nnames == 0) return NULL;
    struct dns_actor *x = sy_actor_new(sy, sizeof *x, dns_fire, start);
    if (!x) return NULL;
    x->c = c;
    x->srv = sy_dev_of(&sy->m, SY_K_DNS, 0);
    x->names = names;
    x->nnames = nnames;
    x->cur = (unsigned)sy_range(&sy->rng, 0, nnames - 1u);
    x->gap_lo = gap_lo;
    x->gap_hi = gap_hi;
    return &x->a;
}

/* ---- NTP ---- */

struct ntp_actor {
    struct sy_actor a;
    struct sy_dev *c, *srv;
    bool answer;
    uint64_t sent_us;
};

static void ntp_fire(struct sy *sy, struct sy_actor *a)
{
    struct ntp_actor *x = (struct ntp_actor *)a;
    if (!x->answer) {
        x->sent_us = unix_us(sy);
        sy_udp_dev(sy, x->c, x->srv, SY_NTP_PORT, SY_NTP_PORT,
                   sy_ntp_request(sy_udp_pl(sy), x->sent_us));
        x->answer = true;
        a->next = sy->now + sy_jit(sy, 200, 1500);
    } else {
        uint64_t now = unix_us(sy);
        size_t n = sy_ntp_reply(sy_udp_pl(sy), x->sent_us, now - 40, now, 0x0a0a0001);
        sy_udp_dev(sy, x->srv, x->c, SY_NTP_PORT, SY_NTP_PORT, n);
        x->answer = false;
        a->next = sy->now + sy_jit(sy, 64 * SY_SEC, 256 * SY_SEC); /* poll 2^6 .. 2^8 s */
    }
}

struct sy_actor *sy_ntp_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *srv, uint64_t start)
{
    struct ntp_actor *x = sy_actor_new(sy, sizeof *x, ntp_fire, start);
    if (!x) return NULL;
    x->c = c;
    x->srv = srv;
    return &x->a;
}

/* ---- Workstation -> TOS web application ---- */

enum { H_SYN, H_SYNACK, H_ACK, H_GET, H_RSP, H_CFIN, H_SFIN, H_CACK };

struct http_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c;
    int step;
    unsigned path;
};

static const char *const tos_paths[] = {
    "/api/v1/vessels?status=alongside",
    "/api/v1/berths/3/schedule",
    "/api/v1/yard/blocks/A4/moves",
    "/api/v1/gate/transactions?window=15m",
    "/api/v1/cranes/status",
    "/api/v1/reefers/alarms",
};
#define NPATHS (sizeof tos_paths / sizeof tos_paths[0])

static size_t http_request(struct sy *sy, struct http_actor *x)
{
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t,
                "GET %s HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n"
                "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) TOSClient/4.2\r\n"
                "Accept: application/json\r\nConnection: close\r\n\r\n",
                tos_paths[x->path]);
    return t.len;
}

static size_t http_response(struct sy *sy, struct http_actor *x)
{
    char body[256];
    struct sy_text b = sy_text_make((uint8_t *)body, sizeof body - 1);
    sy_text_add(&b, "{\"path\":\"%s\",\"count\":%u,\"updated\":%llu}", tos_paths[x->path],
                (unsigned)sy_range(&sy->rng, 0, 120),
                (unsigned long long)(unix_us(sy) / SY_SEC));
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t, "HTTP/1.1 200 OK\r\nDate: ");
    sy_text_date(&t, unix_us(sy) / SY_SEC);
    sy_text_add(&t,
                "\r\nServer: tos-api\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
                b.len, (int)b.len, body);
    return t.len;
}

static void http_fire(struct sy *sy, struct sy_actor *a)
{
    struct http_actor *x = (struct http_actor *)a;
    struct sy_tcp *t = &x->t;
    uint64_t d = sy_jit(sy, 150, 900);
    switch (x->step) {
    case H_SYN: {
        size_t napps = sy->m.kind[SY_K_TOS_APP].n;
        struct sy_dev *s = sy_dev_of(&sy->m, SY_K_TOS_APP, sy_range(&sy->rng, 0, napps - 1));
        sy_tcp_init(sy, t, x->c, s, 8080);
        x->path = (unsigned)sy_range(&sy->rng, 0, NPATHS - 1);
        sy_tcp_syn(sy, t);
        break;
    }
    case H_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case H_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 100, 400);
        break;
    case H_GET:
        sy_tcp_data(sy, t, SY_C2S, http_request(sy, x));
        d = sy_jit(sy, 2 * SY_MS, 25 * SY_MS); /* application time */
        break;
    case H_RSP:
        sy_tcp_data(sy, t, SY_S2C, http_response(sy, x));
        break;
    case H_CFIN:
        sy_tcp_fin(sy, t, SY_C2S);
        break;
    case H_SFIN:
        sy_tcp_fin(sy, t, SY_S2C);
        break;
    default:
        sy_tcp_ack(sy, t, SY_C2S);
        x->step = H_SYN;
        a->next = sy->now + sy_jit(sy, 30 * SY_SEC, 120 * SY_SEC);
        return;
    }
    x->step++;
    a->next = sy->now + d;
}

struct sy_actor *sy_http_actor(struct sy *sy, struct sy_dev *c, uint64_t start)
{
    struct http_actor *x = sy_actor_new(sy, sizeof *x, http_fire, start);
    if (!x) return NULL;
    x->c = c;
    return &x->a;
}

/* ---- HMI -> historian, HTTP keep-alive ---- */

enum { K_SYN, K_SYNACK, K_ACK, K_POST, K_RSP, K_PACK };

struct hist_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    int step;
    size_t next_dev; /* rotating position over the controllers, so batches stay small */
};

static size_t hist_post(struct sy *sy, struct hist_actor *x)
{
    char body[1000];
    struct sy_text b = sy_text_make((uint8_t *)body, sizeof body - 1);
    uint64_t ts_ns = unix_us(sy) * 1000;
    static const uint8_t kinds[] = {SY_K_CRANE_PLC, SY_K_STRADDLE, SY_K_TANK_PLC, SY_K_GAUGE};
    size_t total = 0;
    for (size_t k = 0; k < sizeof kinds; k++) total += sy->m.kind[kinds[k]].n;
    for (int line = 0; line < 8 && total; line++) {
        size_t i = x->next_dev++ % total;
        const struct sy_dev *d = NULL;
        for (size_t k = 0; k < sizeof kinds && !d; k++) {
            if (i < sy->m.kind[kinds[k]].n) d = sy_dev_of(&sy->m, kinds[k], i);
            else i -= sy->m.kind[kinds[k]].n;
        }
        sy_text_add(&b, "plc,device=%s,ip=%u.%u.%u.%u value=%ui,quality=192i %llu\n", d->name,
                    d->ip >> 24, (d->ip >> 16) & 255, (d->ip >> 8) & 255, d->ip & 255,
                    (unsigned)sy_range(&sy->rng, 0, 20000), (unsigned long long)ts_ns);
    }
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t,
                "POST /write?db=terminal&precision=ns HTTP/1.1\r\n"
                "Host: historian.tos.terminal.example:8080\r\nContent-Type: text/plain\r\n"
                "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%.*s",
                b.len, (int)b.len, body);
    return t.len;
}

static size_t hist_rsp(struct sy *sy)
{
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t, "HTTP/1.1 204 No Content\r\nDate: ");
    sy_text_date(&t, unix_us(sy) / SY_SEC);
    sy_text_add(&t, "\r\nX-Request-Id: %08llx\r\n\r\n",
                (unsigned long long)(sy_rand(&sy->rng) >> 32));
    return t.len;
}

static void hist_fire(struct sy *sy, struct sy_actor *a)
{
    struct hist_actor *x = (struct hist_actor *)a;
    struct sy_tcp *t = &x->t;
    switch (x->step) {
    case K_SYN:
        sy_tcp_init(sy, t, x->c, x->s, 8080);
        sy_tcp_syn(sy, t);
        x->step = K_SYNACK;
        a->next = sy->now + sy_jit(sy, 150, 700);
        return;
    case K_SYNACK:
        sy_tcp_synack(sy, t);
        x->step = K_ACK;
        a->next = sy->now + sy_jit(sy, 100, 500);
        return;
    case K_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->step = K_POST;
        a->next = sy->now + sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
        return;
    case K_POST:
        sy_tcp_data(sy, t, SY_C2S, hist_post(sy, x));
        x->step = K_RSP;
        a->next = sy->now + sy_jit(sy, 1 * SY_MS, 8 * SY_MS);
        return;
    case K_RSP:
        sy_tcp_data(sy, t, SY_S2C, hist_rsp(sy));
        x->step = K_PACK;
        a->next = sy->now + 200 * SY_MS; /* Windows delayed ACK */
        return;
    default:
        sy_tcp_ack(sy, t, SY_C2S);
        x->step = K_POST;
        a->next = sy->now + sy_jit(sy, 4800 * SY_MS, 5200 * SY_MS);
        return;
    }
}

struct sy_actor *sy_historian_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *hist,
                                    uint64_t start)
{
    struct hist_actor *x = sy_actor_new(sy, sizeof *x, hist_fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = hist;
    return &x->a;
}
