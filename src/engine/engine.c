#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "engine/pctx.h"
#include "engine/stream.h"
#include "util/timefmt.h"

enum app_status {
    APP_UNDECIDED = 0,
    APP_ON,      /* a parser matched; f->app/f->app_state are set */
    APP_UNKNOWN, /* no parser matched within the probe budget */
};

/* ---- emission sink: parsers -> event log + analysis ---------------------------------------- */

/* The envelope: the flow's addresses, or a link-layer frame's. */
static void begin_record(struct qw_eventlog *el, uint64_t ts, const char *type,
                         const struct qw_pctx *ctx)
{
    if (ctx->flow || !ctx->pkt)
        qw_eventlog_begin(el, ts, type, ctx->flow);
    else
        qw_eventlog_begin_frame(el, ts, type, ctx->pkt);
}

static void sink_txn(void *user, struct qw_pctx *ctx, const struct qw_txn *t)
{
    struct qw_engine *e = user;
    struct qw_flow *f = ctx->flow;
    e->stats.records++;
    if (f) {
        f->ops |= t->ops;
        if (t->ops) {
            uint64_t at = t->has_request && t->request_ns ? t->request_ns : t->response_ns;
            qw_obs_ops(&e->obs, f, t->ops, at ? at : ctx->ts_ns);
            qw_detect_txn(&e->detect, f, ctx->proto, t, at ? at : ctx->ts_ns);
        }
    } else if (t->ops && ctx->pkt) {
        /* a link-layer transaction (PROFINET DCP Set): no flow, the frame says who did it */
        uint64_t at = t->has_request && t->request_ns ? t->request_ns : t->response_ns;
        qw_detect_frame_txn(&e->detect, ctx->pkt, ctx->proto, t, at ? at : ctx->ts_ns);
    }
    struct qw_eventlog *el = e->cfg.events;
    if (!el) return;
    uint64_t ts = t->has_request && t->request_ns ? t->request_ns : t->response_ns;
    begin_record(el, ts ? ts : ctx->ts_ns, ctx->proto->name, ctx);
    struct qw_json *j = &el->j;
    qw_json_obj_begin(j, ctx->proto->name);
    if (t->write_json) t->write_json(j, t->arg);
    if (t->ops) {
        qw_json_arr_begin(j, "ops");
        for (unsigned b = 0; b < sizeof qw_op_names / sizeof qw_op_names[0]; b++)
            if (t->ops & (1u << b)) qw_json_str(j, NULL, qw_op_names[b]);
        qw_json_arr_end(j);
    }
    if (t->has_request && t->has_response && t->response_ns >= t->request_ns)
        qw_json_u64(j, "latency_us", (t->response_ns - t->request_ns) / 1000);
    qw_json_obj_end(j);
    qw_eventlog_end(el);
}

static void sink_anomaly(void *user, struct qw_pctx *ctx, const char *name, const char *detail,
                         bool about_client)
{
    struct qw_engine *e = user;
    e->stats.anomalies++;
    if (ctx->flow) ctx->flow->anomalies++;
    qw_obs_anomaly(&e->obs, name, ctx->ts_ns);
    qw_detect_anomaly(&e->detect, ctx->flow, ctx->pkt, name, detail, about_client, ctx->ts_ns);
    struct qw_eventlog *el = e->cfg.events;
    if (!el) return;
    begin_record(el, ctx->ts_ns, "anomaly", ctx);
    qw_json_obj_begin(&el->j, "anomaly");
    qw_json_str(&el->j, "type", "applayer");
    qw_json_str(&el->j, "event", name);
    if (detail) qw_json_str(&el->j, "detail", detail);
    qw_json_str(&el->j, "layer", ctx->proto ? ctx->proto->name : "stream");
    if (about_client) qw_json_str(&el->j, "about", "client");
    qw_json_obj_end(&el->j);
    qw_eventlog_end(el);
}

static void sink_identity(void *user, struct qw_pctx *ctx, bool server, const char *attr,
                          const char *value, size_t len)
{
    struct qw_engine *e = user;
    struct qw_flow *f = ctx->flow;
    const struct qw_packet *p = ctx->pkt;
    if (f)
        qw_obs_identity(&e->obs, f, server, attr, value, len, ctx->ts_ns);
    else if (p && p->has_mac)
        qw_obs_identity_mac(&e->obs, p, server, attr, value, len, ctx->proto, ctx->ts_ns);
    else
        return;
    struct qw_eventlog *el = e->cfg.events;
    if (!el) return;
    begin_record(el, ctx->ts_ns, "asset", ctx);
    qw_json_obj_begin(&el->j, "asset");
    if (f) {
        char a[46];
        qw_json_str(&el->j, "ip", qw_addr_str(server ? qw_flow_srv_ip(f) : qw_flow_cli_ip(f), a));
    } else {
        char m[18];
        qw_json_str(&el->j, "mac", qw_mac_str(server ? p->dst_mac : p->src_mac, m));
    }
    qw_json_str(&el->j, "attribute", attr);
    qw_json_strn(&el->j, "value", value, len);
    qw_json_str(&el->j, "source", ctx->proto ? ctx->proto->name : "unknown");
    qw_json_obj_end(&el->j);
    qw_eventlog_end(el);
}

/* A fact about an address the message names (emit.h): analysis, and an asset record. */
static void sink_identity_addr(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                               const uint8_t *mac, const char *attr, const char *value,
                               size_t len)
{
    struct qw_engine *e = user;
    qw_obs_identity_addr(&e->obs, ctx->flow, ctx->pkt, ip, mac, attr, value, len, ctx->proto,
                         ctx->ts_ns);
    struct qw_eventlog *el = e->cfg.events;
    if (!el || (!ctx->flow && !ctx->pkt)) return;
    char a[46];
    begin_record(el, ctx->ts_ns, "asset", ctx);
    qw_json_obj_begin(&el->j, "asset");
    qw_json_str(&el->j, ip ? "ip" : "mac", ip ? qw_addr_str(ip, a) : qw_mac_str(mac, a));
    qw_json_str(&el->j, "attribute", attr);
    qw_json_strn(&el->j, "value", value, len);
    qw_json_str(&el->j, "source", ctx->proto ? ctx->proto->name : "unknown");
    qw_json_obj_end(&el->j);
    qw_eventlog_end(el);
}

/* Who the client names behind the session: kept by the detector for the ledger (a parser's own
 * record already carries it for the event log). */
static void sink_session_user(void *user, struct qw_pctx *ctx, const char *source,
                              const char *value, size_t len)
{
    struct qw_engine *e = user;
    if (ctx->flow) qw_detect_session_user(&e->detect, ctx->flow, source, value, len);
}

/* Who uses an address: kept by the detector for the store, where the ledger looks it up. */
static void sink_address_user(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                              const char *source, const char *value, size_t len, bool ended)
{
    struct qw_engine *e = user;
    qw_detect_address_user(&e->detect, ip, source, value, len, ended, ctx->ts_ns);
}

/* What a device reports happened to itself: a finding about it (the parser's own record
 * already carries the report for the event log). */
static void sink_device_report(void *user, struct qw_pctx *ctx, const struct qw_device_report *c)
{
    struct qw_engine *e = user;
    if (!ctx->flow) return;
    struct qw_device_report r = *c;
    /* an answer on the wire: the attempt came from the end that did not answer */
    if (r.from_peer) r.from = c->server ? qw_flow_cli_ip(ctx->flow) : qw_flow_srv_ip(ctx->flow);
    qw_detect_device_report(&e->detect, ctx->flow, ctx->proto, &r, ctx->ts_ns);
}

/* buffers lent to parsers (after the parser-state pools they share) */
static void *sink_loan_take(void *user);
static void sink_loan_return(void *user, void *buf);

static const struct qw_emit_sink engine_sink = {
    sink_txn,          sink_anomaly,      sink_identity,   sink_identity_addr,
    sink_session_user, sink_address_user, sink_loan_take,  sink_loan_return,
    sink_device_report};

static void pctx_for(struct qw_engine *e, struct qw_pctx *ctx, struct qw_flow *f, uint64_t ts)
{
    ctx->sink = &engine_sink;
    ctx->user = e;
    ctx->flow = f;
    /* the current packet belongs to this flow only; flows ended by expiry or eviction get none */
    ctx->pkt = e->cur_flow == f ? e->cur_pkt : NULL;
    ctx->proto = f->app;
    ctx->ts_ns = ts;
}

/* ---- application detection and delivery --------------------------------------------------- */

/* Whether any parser names `port` as a hint. */
static bool port_is_service(const struct qw_engine *e, uint16_t port)
{
    return e->probe_ix->port_slot[port] != 0;
}

/* Registry indexes of the parsers that name `port` as a hint (a bit each). */
static uint64_t hinted_mask(const struct qw_engine *e, uint16_t port)
{
    return e->probe_ix->slot_mask[e->probe_ix->port_slot[port]];
}

/* Build the probe index: per transport, the parsers in registry order; per hinted port, the
 * parsers hinting it. Its arrays hold every parser and every hint (QW_PROTOCOLS_MAX is checked
 * when the registry is compiled), so only memory can be short. */
static bool probe_index_init(struct qw_engine *e)
{
    struct qw_probe_index *x = calloc(1, sizeof *x);
    if (!x) return false;
    for (size_t i = 0; i < qw_protocol_count; i++) {
        const struct qw_proto *p = qw_protocols[i];
        if (p->transports & QW_TRANSPORT_TCP) x->tcp[x->ntcp++] = (uint8_t)i;
        if (p->transports & QW_TRANSPORT_UDP) x->udp[x->nudp++] = (uint8_t)i;
        if (p->transports & QW_TRANSPORT_IP) x->ip[x->nip++] = (uint8_t)i;
        for (int k = 0; (p->transports & QW_TRANSPORT_IP) && k < QW_PROTO_MAX_IPPROTOS &&
                        p->ipprotos[k]; k++)
            x->ipproto_served[p->ipprotos[k] >> 6] |= 1ull << (p->ipprotos[k] & 63);
        for (int k = 0; k < QW_PROTO_MAX_PORTS && p->ports[k]; k++) {
            uint16_t port = p->ports[k];
            if (!x->port_slot[port]) x->port_slot[port] = ++x->nslots;
            x->slot_mask[x->port_slot[port]] |= 1ull << i;
        }
    }
    e->probe_ix = x;
    return true;
}

static bool lists_ipproto(const struct qw_proto *p, uint8_t proto)
{
    for (int k = 0; k < QW_PROTO_MAX_IPPROTOS && p->ipprotos[k]; k++)
        if (p->ipprotos[k] == proto) return true;
    return false;
}

/* Does some parser take payloads of IP protocol `proto` (neither TCP nor UDP)? */
static bool ipproto_served(const struct qw_engine *e, uint8_t proto)
{
    return e->probe_ix->ipproto_served[proto >> 6] >> (proto & 63) & 1;
}

/* Probe candidates: parsers hinted by either port first, then every other parser for the
 * transport (for another IP protocol, those that list its number), each group in registry
 * order. Returns the matching parser (its registry index in *ix), or NULL with *need_more
 * telling whether any parser wants more bytes. */
static const struct qw_proto *probe(const struct qw_engine *e, const struct qw_flow *f,
                                    enum qw_dir dir, const uint8_t *data, size_t len,
                                    bool *need_more, size_t *ix, bool *from_server)
{
    uint8_t proto = f->key.proto;
    *need_more = false;
    *from_server = false;
    const struct qw_probe_index *x = e->probe_ix;
    uint64_t hint = hinted_mask(e, qw_flow_srv_port(f)) | hinted_mask(e, qw_flow_cli_port(f));
    const uint8_t *list = proto == 6 ? x->tcp : proto == 17 ? x->udp : x->ip;
    size_t n = proto == 6 ? x->ntcp : proto == 17 ? x->nudp : x->nip;
    for (int pass = hint ? 0 : 1; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            if ((bool)(hint >> list[k] & 1) != (pass == 0)) continue;
            const struct qw_proto *p = qw_protocols[list[k]];
            if (list == x->ip && !lists_ipproto(p, proto)) continue;
            enum qw_probe_result r = p->probe(data, len, dir);
            if (r == QW_PROBE_MATCH || r == QW_PROBE_MATCH_FROM_SERVER) {
                *ix = list[k];
                *from_server = r == QW_PROBE_MATCH_FROM_SERVER;
                return p;
            }
            if (r == QW_PROBE_NEED_MORE) *need_more = true;
        }
    }
    return NULL;
}

/* Parser states of ended flows are kept per parser for the next flow (most flows are short:
 * a state is freed and another of the same size allocated many times a second), and buffers
 * given back by parsers (qw_loan_take) in one more pool, LOAN_POOL, up to QW_APP_STATE_KEEP
 * bytes in all. What comes out of a pool is not zeroed: app_start zeroes a state. */
struct app_free {
    struct app_free *next;
};

#define LOAN_POOL qw_protocol_count /* after the parsers' own */

static void *state_get(struct qw_engine *e, size_t ix, size_t size)
{
    struct app_free *s = e->app_free ? e->app_free[ix] : NULL;
    if (!s) return malloc(size);
    e->app_free[ix] = s->next;
    e->app_free_bytes -= size;
    return s;
}

static void state_put(struct qw_engine *e, size_t ix, void *state, size_t size)
{
    if (!e->app_free && !(e->app_free = calloc(qw_protocol_count + 1, sizeof *e->app_free))) {
        free(state);
        return;
    }
    if (size < sizeof(struct app_free) || e->app_free_bytes + size > QW_APP_STATE_KEEP) {
        free(state);
        return;
    }
    struct app_free *s = state;
    s->next = e->app_free[ix];
    e->app_free[ix] = s;
    e->app_free_bytes += size;
}

static void states_release(struct qw_engine *e)
{
    for (size_t i = 0; e->app_free && i <= LOAN_POOL; i++) {
        while (e->app_free[i]) {
            struct app_free *s = e->app_free[i];
            e->app_free[i] = s->next;
            free(s);
        }
    }
    free(e->app_free);
    e->app_free = NULL;
    e->app_free_bytes = 0;
}

/* `size` bytes of parser memory from pool `ix`, counted against app_memcap; NULL past it or out
 * of memory. */
static void *app_mem_take(struct qw_engine *e, size_t ix, size_t size)
{
    if (e->stats.app_mem + size > e->cfg.app_memcap) return NULL;
    void *m = state_get(e, ix, size);
    if (!m) return NULL;
    e->stats.app_mem += size;
    if (e->stats.app_mem > e->stats.app_mem_peak) e->stats.app_mem_peak = e->stats.app_mem;
    return m;
}

static void app_mem_give(struct qw_engine *e, size_t ix, void *m, size_t size)
{
    e->stats.app_mem -= size;
    state_put(e, ix, m, size);
}

static void *sink_loan_take(void *user)
{
    struct qw_engine *e = user;
    void *b = app_mem_take(e, LOAN_POOL, QW_LOAN_BYTES);
    if (!b) e->stats.loans_refused++;
    return b;
}

static void sink_loan_return(void *user, void *buf)
{
    app_mem_give(user, LOAN_POOL, buf, QW_LOAN_BYTES);
}

/* Start parser `p` on the flow: its state counts against app_memcap; past it, or out of
 * memory, the flow goes without a parser (counted). */
static bool app_start(struct qw_engine *e, struct qw_flow *f, const struct qw_proto *p,
                      size_t ix)
{
    if (p->state_size) {
        f->app_state = app_mem_take(e, ix, p->state_size);
        if (!f->app_state) {
            e->stats.app_refused++;
            return false;
        }
        memset(f->app_state, 0, p->state_size);
    }
    f->app = p;
    f->app_slot = (uint8_t)(ix + 1);
    f->app_status = APP_ON;
    return true;
}

static void app_stop(struct qw_engine *e, struct qw_flow *f)
{
    if (f->app_state)
        app_mem_give(e, (size_t)(f->app_slot - 1), f->app_state, f->app->state_size);
    f->app_state = NULL;
}

/* The pending tail of a direction: the flow's own when it has out-of-line TCP state, else the
 * engine's spare (empty) one, which pending_keep moves into the flow if bytes stay in it. */
static struct qw_pending *pending_of(struct qw_engine *e, struct qw_flow *f, enum qw_dir dir)
{
    return f->tcp ? &f->tcp[dir].pending : &e->spare_pending;
}

/* After a delivery: an emptied buffer is freed (an idle flow holds no memory for it); bytes left
 * in the spare move into the flow. */
static void pending_keep(struct qw_engine *e, struct qw_flow *f, enum qw_dir dir,
                         struct qw_pending *pend)
{
    if (pend->len == 0) {
        if (pend->cap) qw_pending_free(pend);
        return;
    }
    if (pend != &e->spare_pending) return;
    struct qw_tcp_dir *t = qw_reasm_dirs(f);
    if (!t) {
        qw_pending_free(pend); /* out of memory: the tail is lost */
        return;
    }
    t[dir].pending = *pend;
    *pend = (struct qw_pending){0};
}

/* In-order TCP bytes of one direction. */
static void on_stream_data(void *user, struct qw_flow *f, enum qw_dir dir, const uint8_t *data,
                           size_t len, uint64_t ts)
{
    struct qw_engine *e = user;
    if (f->app_status == APP_UNKNOWN || len == 0) return;
    struct qw_pending *pend = pending_of(e, f, dir);
    if (f->app_status == APP_UNDECIDED) {
        const uint8_t *pdata = data;
        size_t plen = len;
        if (pend->len) {
            qw_pending_append(pend, data, len, QW_PROBE_MAX_BYTES);
            pdata = pend->buf;
            plen = pend->len;
        }
        bool more, from_server; /* TCP: the handshake, not the payload, says who is client */
        size_t ix = 0;
        const struct qw_proto *p = probe(e, f, dir, pdata, plen, &more, &ix, &from_server);
        if (!p) {
            if (more && plen < QW_PROBE_MAX_BYTES) {
                if (!pend->len) qw_pending_append(pend, data, len, QW_PROBE_MAX_BYTES);
                pending_keep(e, f, dir, pend);
                return;
            }
            qw_pending_reset(pend);
            pending_keep(e, f, dir, pend);
            if (++f->probe_tries >= QW_PROBE_MAX_TRIES) {
                f->app_status = APP_UNKNOWN;
                if (f->tcp) qw_pending_free(&f->tcp[dir ^ 1].pending);
            }
            return;
        }
        if (!app_start(e, f, p, ix)) {
            f->app_status = APP_UNKNOWN;
            qw_pending_free(pend);
            return;
        }
        if (pdata == pend->buf) { /* the bytes are already pending: parse them as they are */
            data = NULL;
            len = 0;
        }
    }
    struct qw_pctx ctx;
    pctx_for(e, &ctx, f, ts);
    qw_stream_deliver(&ctx, f->app, f->app_state, dir, pend, data, len);
    pending_keep(e, f, dir, pend);
}

static void on_stream_gap(void *user, struct qw_flow *f, enum qw_dir dir, uint64_t bytes,
                          uint64_t ts)
{
    struct qw_engine *e = user;
    if (f->tcp) qw_pending_free(&f->tcp[dir].pending);
    if (f->app_status != APP_ON) return;
    struct qw_pctx ctx;
    pctx_for(e, &ctx, f, ts);
    if (f->app->gap) f->app->gap(&ctx, f->app_state, dir);
}

/* Swap the two halves of a two-element array of `size` bytes in all. */
static void swap_pair(void *pair, size_t size)
{
    uint8_t *a = pair, *b = a + size / 2;
    for (size_t i = 0; i < size / 2; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* Turn a flow round: its server becomes its client. Everything kept per direction or per end
 * (the [2] arrays of struct qw_flow) changes places; the key, and so the flow's id and shard,
 * stay. */
static void flow_swap_ends(struct qw_flow *f)
{
    f->client_is_a = !f->client_is_a;
    swap_pair(f->pkts, sizeof f->pkts);
    swap_pair(f->bytes, sizeof f->bytes);
    swap_pair(f->seq, sizeof f->seq);
    swap_pair(f->dir_vlan, sizeof f->dir_vlan);
    swap_pair(f->flags_seen, sizeof f->flags_seen);
    swap_pair(f->has_mac, sizeof f->has_mac);
    swap_pair(f->mac, sizeof f->mac);
    swap_pair(f->dst_mac, sizeof f->dst_mac);
}

/* A UDP datagram's payload, or the IP payload of another protocol (VRRP...), handled alike. A
 * flow of a protocol no parser lists is settled at once (ICMP, ESP, GRE keys aside). */
static void on_datagram(struct qw_engine *e, struct qw_flow *f, enum qw_dir dir,
                        const uint8_t *data, size_t len, uint64_t ts)
{
    if (f->app_status == APP_UNKNOWN || len == 0) return;
    if (f->app_status == APP_UNDECIDED && f->key.proto != 17 && !ipproto_served(e, f->key.proto)) {
        f->app_status = APP_UNKNOWN;
        return;
    }
    if (f->app_status == APP_UNDECIDED) {
        bool more, from_server;
        size_t ix = 0;
        const struct qw_proto *p = probe(e, f, dir, data, len, &more, &ix, &from_server);
        if (!p) {
            if (++f->probe_tries >= QW_PROBE_MAX_TRIES) f->app_status = APP_UNKNOWN;
            return;
        }
        /* The parser says the sender answers; while only the sender has spoken, the guess that
         * made it the client is the only thing that says otherwise. */
        if (from_server && dir == QW_DIR_TO_SERVER && f->pkts[QW_DIR_TO_CLIENT] == 0) {
            flow_swap_ends(f);
            dir = QW_DIR_TO_CLIENT;
        }
        if (!app_start(e, f, p, ix)) {
            f->app_status = APP_UNKNOWN;
            return;
        }
    }
    if (!f->app->datagram) return;
    struct qw_pctx ctx;
    pctx_for(e, &ctx, f, ts);
    f->app->datagram(&ctx, f->app_state, dir, data, len);
}

/* A link-layer frame: every parser registered for its ethertype sees it. Their state is one per
 * engine, allocated on first use. */
static void on_frame(struct qw_engine *e, const struct qw_packet *p)
{
    if (!p->ethertype || !p->payload) return;
    for (size_t i = 0; i < qw_protocol_count; i++) {
        const struct qw_proto *pr = qw_protocols[i];
        if (!(pr->transports & QW_TRANSPORT_ETHER) || !pr->frame) continue;
        bool match = false;
        for (int k = 0; k < QW_PROTO_MAX_ETHERTYPES && pr->ethertypes[k]; k++)
            if (pr->ethertypes[k] == p->ethertype) match = true;
        if (!match) continue;
        if (!e->frame_state) {
            e->frame_state = calloc(qw_protocol_count, sizeof *e->frame_state);
            if (!e->frame_state) return;
        }
        if (pr->state_size && !e->frame_state[i]) {
            e->frame_state[i] = calloc(1, pr->state_size);
            if (!e->frame_state[i]) continue;
        }
        struct qw_pctx ctx = {&engine_sink, e, NULL, p, pr, p->ts_ns};
        pr->frame(&ctx, e->frame_state[i], p->ethertype, p->payload, p->payload_len);
    }
}

/* ---- flows -------------------------------------------------------------------------------- */

/* The flow record: one per flow, the record written most, so composed directly (the same text
 * the member writers would give; docs/events.md lists the fields). */
static void write_flow_record(struct qw_engine *e, const struct qw_flow *f)
{
    struct qw_eventlog *el = e->cfg.events;
    if (!el) return;
    struct qw_json *j = &el->j;
    qw_eventlog_begin(el, f->last_ns, "flow", f);
    char *p = qw_json_room(j, 512);
    if (!p) return;
    p = QW_JSON_PUT_LIT(p, ",\"flow\":{\"pkts_toserver\":");
    p = qw_json_put_u64(p, f->pkts[0]);
    p = QW_JSON_PUT_LIT(p, ",\"pkts_toclient\":");
    p = qw_json_put_u64(p, f->pkts[1]);
    p = QW_JSON_PUT_LIT(p, ",\"bytes_toserver\":");
    p = qw_json_put_u64(p, f->bytes[0]);
    p = QW_JSON_PUT_LIT(p, ",\"bytes_toclient\":");
    p = qw_json_put_u64(p, f->bytes[1]);
    p = QW_JSON_PUT_LIT(p, ",\"start\":\"");
    p += qw_time_rfc3339(f->first_ns, p);
    p = QW_JSON_PUT_LIT(p, "\",\"end\":\"");
    p += qw_time_rfc3339(f->last_ns, p);
    p = QW_JSON_PUT_LIT(p, "\",\"duration\":");
    p += qw_fmt_seconds(p, f->last_ns - f->first_ns);
    const char *reason = qw_flow_end_name(f->end_reason);
    p = QW_JSON_PUT_LIT(p, ",\"reason\":");
    p = qw_json_put_str(p, reason, strlen(reason));
    if (f->key.proto == 6) {
        const char *state = qw_tcp_state_name(f->tcp_state);
        p = QW_JSON_PUT_LIT(p, ",\"tcp_state\":");
        p = qw_json_put_str(p, state, strlen(state));
        p = QW_JSON_PUT_LIT(p, ",\"tcp_flags_ts\":");
        p = qw_json_put_u64(p, f->flags_seen[0]);
        p = QW_JSON_PUT_LIT(p, ",\"tcp_flags_tc\":");
        p = qw_json_put_u64(p, f->flags_seen[1]);
        uint64_t gaps, gap_bytes;
        if (qw_reasm_gaps(f, &gaps, &gap_bytes)) {
            p = QW_JSON_PUT_LIT(p, ",\"gaps\":");
            p = qw_json_put_u64(p, gaps);
            p = QW_JSON_PUT_LIT(p, ",\"gap_bytes\":");
            p = qw_json_put_u64(p, gap_bytes);
        }
    }
    if (f->anomalies) {
        p = QW_JSON_PUT_LIT(p, ",\"anomalies\":");
        p = qw_json_put_u64(p, f->anomalies);
    }
    *p++ = '}';
    qw_json_done(j, p);
    qw_eventlog_end(el);
}

static void flow_end(struct qw_engine *e, struct qw_flow *f, uint8_t reason)
{
    f->end_reason = reason;
    if (f->key.proto == 6) qw_reasm_flush(&e->reasm, f, f->last_ns);
    if (f->app_status == APP_ON && f->app->flow_end) {
        struct qw_pctx ctx;
        pctx_for(e, &ctx, f, f->last_ns);
        f->app->flow_end(&ctx, f->app_state);
    }
    write_flow_record(e, f);
    qw_obs_flow_end(&e->obs, f);
    qw_detect_flow_end(&e->detect, f);
    app_stop(e, f);
    qw_reasm_free(&e->reasm, f);
    switch (reason) {
    case QW_END_TIMEOUT: e->flows.stats.timed_out++; break;
    case QW_END_EVICTED: e->flows.stats.evicted++; break;
    case QW_END_REUSED: e->flows.stats.reused++; break;
    default: break;
    }
    qw_flow_remove(&e->flows, f);
}

/* Which end is the client when the handshake was not seen: a port some parser serves, else a
 * well-known port (< 1024) facing an ephemeral one, else the sender of the first packet. */
static bool guess_src_is_client(const struct qw_engine *e, const struct qw_packet *p)
{
    if (p->l4_proto == 6 && (p->tcp_flags & (QW_TCP_SYN | QW_TCP_ACK)) == QW_TCP_SYN) return true;
    if (p->l4_proto == 6 && (p->tcp_flags & (QW_TCP_SYN | QW_TCP_ACK)) ==
                                (QW_TCP_SYN | QW_TCP_ACK))
        return false;
    bool ss = port_is_service(e, p->sport), ds = port_is_service(e, p->dport);
    if (ss != ds) return ds;
    if ((p->sport < 1024) != (p->dport < 1024)) return p->dport < 1024;
    return true;
}

static uint8_t tclass_of(const struct qw_flow *f)
{
    if (f->key.proto == 17) return QW_TCLASS_UDP;
    if (f->key.proto != 6) return QW_TCLASS_OTHER;
    switch (f->tcp_state) {
    case QW_TCP_ESTABLISHED:
    case QW_TCP_MIDSTREAM:
    case QW_TCP_FIN_WAIT: return QW_TCLASS_TCP_ESTABLISHED;
    case QW_TCP_CLOSED:
    case QW_TCP_RESET: return QW_TCLASS_TCP_CLOSED;
    default: return QW_TCLASS_TCP_NEW;
    }
}

static void tcp_track(struct qw_flow *f, enum qw_dir dir, uint8_t fl)
{
    f->flags_seen[dir] |= fl;
    if (fl & QW_TCP_RST) {
        f->tcp_state = QW_TCP_RESET;
        return;
    }
    switch (f->tcp_state) {
    case QW_TCP_NONE:
        if ((fl & (QW_TCP_SYN | QW_TCP_ACK)) == QW_TCP_SYN)
            f->tcp_state = QW_TCP_SYN_SENT;
        else if (fl & QW_TCP_SYN)
            f->tcp_state = QW_TCP_SYN_RECV;
        else
            f->tcp_state = QW_TCP_MIDSTREAM;
        break;
    case QW_TCP_SYN_SENT:
        if ((fl & (QW_TCP_SYN | QW_TCP_ACK)) == (QW_TCP_SYN | QW_TCP_ACK))
            f->tcp_state = QW_TCP_SYN_RECV;
        break;
    case QW_TCP_SYN_RECV:
        if ((fl & QW_TCP_ACK) && !(fl & QW_TCP_SYN) && dir == QW_DIR_TO_SERVER)
            f->tcp_state = QW_TCP_ESTABLISHED;
        break;
    default:
        break;
    }
    if ((f->flags_seen[0] & QW_TCP_FIN) && (f->flags_seen[1] & QW_TCP_FIN))
        f->tcp_state = QW_TCP_CLOSED;
    else if ((fl & QW_TCP_FIN) && f->tcp_state != QW_TCP_RESET)
        f->tcp_state = QW_TCP_FIN_WAIT;
}

/* A SYN that opens a new connection on ports an earlier one used. As in Wireshark's TCP
 * analysis, a bare SYN starts a new conversation when its sequence number differs from the first
 * one seen in that direction; a SYN retransmitted after a RST (same ISN) stays in the old one. */
static bool is_port_reuse(const struct qw_flow *f, const struct qw_packet *p, bool from_a)
{
    if ((p->tcp_flags & (QW_TCP_SYN | QW_TCP_ACK)) != QW_TCP_SYN) return false;
    const struct qw_tcp_seq *d = &f->seq[qw_flow_dir(f, from_a)];
    return d->seq_known && d->isn != p->seq;
}

static struct qw_flow *flow_create(struct qw_engine *e, const struct qw_flow_key *k,
                                   struct qw_flow_hash hv, const struct qw_packet *p, bool from_a)
{
    struct qw_flow *f = qw_flow_insert_hashed(&e->flows, k, hv);
    if (!f) {
        struct qw_flow *victim = qw_flow_oldest(&e->flows);
        if (!victim) return NULL;
        flow_end(e, victim, QW_END_EVICTED);
        f = qw_flow_insert_hashed(&e->flows, k, hv);
        if (!f) return NULL;
    }
    bool src_client = guess_src_is_client(e, p);
    f->client_is_a = src_client == from_a;
    f->first_ns = f->last_ns = p->ts_ns;
    f->idle_ns = e->now_ns;
    struct {
        struct qw_flow_key k;
        uint64_t t;
    } idk;
    memset(&idk, 0, sizeof idk); /* padding too: the id must depend on the key and time only */
    idk.k = *k;
    idk.t = p->ts_ns;
    /* 51 bits: exact in every JSON reader (IEEE doubles hold 53). */
    f->id = qw_siphash(&e->flow_id_key, &idk, sizeof idk) & ((1ull << 51) - 1);
    return f;
}

static void flow_packet(struct qw_engine *e, const struct qw_packet *p)
{
    struct qw_flow_key k;
    bool from_a;
    qw_flow_key_from_packet(p, &k, &from_a);
    struct qw_flow_hash hv = {0, 0};
    bool hashed = false;
    struct qw_flow *f = qw_flow_recent(&e->flows, &k);
    if (!f) {
        hv = qw_flow_hash_key(&e->flows, &k);
        hashed = true;
        f = qw_flow_lookup_hashed(&e->flows, &k, hv);
    }
    uint16_t vlan = p->nvlan ? p->vlan[p->nvlan - 1] : 0;
    if (!f && p->nvlan && !(p->l4_proto == 6 && (p->tcp_flags & (QW_TCP_SYN | QW_TCP_ACK)) ==
                                                   QW_TCP_SYN)) {
        /* Routed traffic on a mirrored trunk: the reply may carry the other zone's VLAN. Join
         * the conversation if this direction is new to it or was seen on this VLAN; a bare SYN
         * always opens its own flow, so equal addresses in separate VLANs stay apart. */
        struct qw_flow *g = qw_flow_lookup_any_vlan_hashed(&e->flows, &k, hv);
        if (g) {
            enum qw_dir gd = qw_flow_dir(g, from_a);
            if (g->pkts[gd] == 0 || g->dir_vlan[gd] == vlan) f = g;
        }
    }
    /* Expiry ends at most QW_EXPIRE_STEP flows a packet, so an idle flow may still be in the
     * table when its next packet comes: it is over all the same. Ending it here makes where a
     * flow ends depend on its own packets only, not on how many others share the engine. */
    if (f && qw_flow_is_expired(&e->flows, f, e->now_ns)) {
        flow_end(e, f, QW_END_TIMEOUT);
        f = NULL;
    }
    if (f && p->l4_proto == 6 && is_port_reuse(f, p, from_a)) {
        flow_end(e, f, QW_END_REUSED);
        f = NULL;
    }
    if (!f) {
        if (!hashed) hv = qw_flow_hash_key(&e->flows, &k);
        f = flow_create(e, &k, hv, p, from_a);
        if (!f) {
            e->stats.no_flow++;
            return;
        }
    }
    enum qw_dir dir = qw_flow_dir(f, from_a);
    e->cur_flow = f;
    if (f->pkts[dir] == 0) f->dir_vlan[dir] = vlan;
    f->pkts[dir]++;
    f->bytes[dir] += p->wirelen;
    if (p->has_mac && !f->has_mac[dir]) {
        memcpy(f->mac[dir], p->src_mac, 6);
        memcpy(f->dst_mac[dir], p->dst_mac, 6);
        f->has_mac[dir] = true;
    }
    if (p->l4_proto == 6) {
        tcp_track(f, dir, p->tcp_flags);
        qw_reasm_packet(&e->reasm, f, dir, p);
    } else if (p->l4_proto == 17 || p->l3 == QW_L3_IPV4 || p->l3 == QW_L3_IPV6) {
        on_datagram(e, f, dir, p->payload, p->payload_len, p->ts_ns); /* UDP, other IP */
    }
    if (p->ts_ns > f->last_ns) f->last_ns = p->ts_ns;
    qw_flow_touch(&e->flows, f, e->now_ns, tclass_of(f));
}

/* ---- engine ------------------------------------------------------------------------------- */

bool qw_engine_init(struct qw_engine *e, const struct qw_engine_config *cfg)
{
    memset(e, 0, sizeof *e);
    if (cfg) e->cfg = *cfg;
    for (int i = 0; i < QW_TCLASS_COUNT; i++) /* classes left at 0 take the default */
        if (!e->cfg.timeouts.sec[i]) e->cfg.timeouts.sec[i] = qw_flow_timeouts_default.sec[i];
    /* A fixed key: flow ids must not change between runs over the same capture. */
    e->flow_id_key.k0 = 0x7177617977617463ull; /* "qwaywatc" */
    e->flow_id_key.k1 = 0x68666c6f7769642aull; /* "hflowid*" */
    if (!e->cfg.app_memcap) e->cfg.app_memcap = QW_APP_MEMCAP_DEFAULT;
    if (!e->cfg.frag_cap) e->cfg.frag_cap = QW_FRAG_SLOTS;
    static const struct qw_reasm_ops ops = {on_stream_data, on_stream_gap};
    qw_reasm_init(&e->reasm, &ops, e, e->cfg.reasm_memcap);
    if (e->cfg.reasm_flow_cap) e->reasm.flow_cap = e->cfg.reasm_flow_cap;
    if (!probe_index_init(e) || !qw_flow_table_init(&e->flows, e->cfg.flow_cap, &e->cfg.timeouts))
        return false;
    struct qw_detect_config dc = {.site = e->cfg.site, .events = e->cfg.events,
                                  .syslog = e->cfg.syslog};
    struct qw_obs_caps oc = {.hosts = e->cfg.asset_cap, .edges = e->cfg.edge_cap};
    return qw_obs_init(&e->obs, &oc) && qw_detect_init(&e->detect, &dc);
}

void qw_engine_free(struct qw_engine *e)
{
    if (e->frame_state) {
        for (size_t i = 0; i < qw_protocol_count; i++) free(e->frame_state[i]);
        free(e->frame_state);
        e->frame_state = NULL;
    }
    qw_flow_table_free(&e->flows);
    qw_reasm_release(&e->reasm);
    qw_pending_free(&e->spare_pending);
    free(e->probe_ix);
    e->probe_ix = NULL;
    states_release(e);
    qw_obs_free(&e->obs);
    qw_detect_free(&e->detect);
}

void qw_engine_packet(struct qw_engine *e, struct qw_decoder *d, const uint8_t *frame,
                      uint32_t caplen, uint32_t wirelen, uint64_t ts_ns)
{
    e->stats.packets++;
    e->stats.bytes += wirelen;
    if (!e->stats.first_ns || ts_ns < e->stats.first_ns) e->stats.first_ns = ts_ns;
    if (ts_ns > e->stats.last_ns) e->stats.last_ns = ts_ns;
    if (ts_ns > e->now_ns) e->now_ns = ts_ns;
    if (e->now_ns >= e->next_settle_ns) { /* folded flow ends into hosts and edges */
        if (e->next_settle_ns) qw_obs_settle(&e->obs);
        e->next_settle_ns = e->now_ns + QW_OBS_SETTLE_NS;
    }

    for (unsigned i = 0; i < QW_EXPIRE_STEP; i++) {
        struct qw_flow *f = qw_flow_next_expired(&e->flows, e->now_ns);
        if (!f) break;
        flow_end(e, f, QW_END_TIMEOUT);
    }

    uint64_t evicted = d->frag.stats.evicted, refused = d->frag.stats.refused;
    struct qw_packet p;
    qw_decode(d, frame, caplen, wirelen, ts_ns, &p);
    e->stats.frag_evicted += d->frag.stats.evicted - evicted;
    e->stats.frag_refused += d->frag.stats.refused - refused;
    if (p.l3 == QW_L3_ARP || p.l3 == QW_L3_OTHER) {
        qw_obs_packet_l2(&e->obs, &p);
        on_frame(e, &p);
        return;
    }
    if (p.l3 != QW_L3_IPV4 && p.l3 != QW_L3_IPV6) return;
    bool ported = p.l4_proto == 6 || p.l4_proto == 17;
    if (p.ip_fragment_held || (ported && !p.l4_ok)) {
        e->stats.no_flow++;
        return;
    }
    e->cur_pkt = &p;
    flow_packet(e, &p);
    e->cur_pkt = NULL;
    e->cur_flow = NULL;
}

static int cmp_flow_age(const void *a, const void *b)
{
    const struct qw_flow *x = *(struct qw_flow *const *)a, *y = *(struct qw_flow *const *)b;
    if (x->first_ns != y->first_ns) return x->first_ns < y->first_ns ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

/* Link-layer parsers keep engine-wide state (GOOSE control blocks, DCP requests): at the end
 * of a capture they flush it like a flow's parser does at flow end. */
static void frames_finish(struct qw_engine *e)
{
    for (size_t i = 0; e->frame_state && i < qw_protocol_count; i++) {
        const struct qw_proto *pr = qw_protocols[i];
        if (!(pr->transports & QW_TRANSPORT_ETHER) || !pr->flow_end || !e->frame_state[i])
            continue;
        struct qw_pctx ctx = {&engine_sink, e, NULL, NULL, pr, e->now_ns};
        pr->flow_end(&ctx, e->frame_state[i]);
    }
}

void qw_engine_clock(struct qw_engine *e, uint64_t now_ns)
{
    if (now_ns > e->now_ns) e->now_ns = now_ns;
}

void qw_engine_setup_decoder(const struct qw_engine *e, struct qw_decoder *d)
{
    qw_frag_set_cap(&d->frag, e->cfg.frag_cap);
    d->verify_l4 = e->cfg.verify_checksums;
}

void qw_engine_attach_thread(struct qw_engine *e)
{
    qw_stream_mem.cap = e->reasm.memcap;
    qw_stream_mem.refused = 0;
    qw_stream_mem.peak = 0;
}

static void end_all_flows(struct qw_engine *e)
{
    /* Deterministic order: by start time then id, never by hash-table layout. */
    size_t n = (size_t)e->flows.stats.active, i = 0;
    if (n == 0) return; /* e.g. a capture of ARP, CDP or GOOSE only */
    struct qw_flow **all = malloc(n * sizeof *all);
    if (!all) { /* out of memory: still end them all, in list order */
        struct qw_flow *f;
        while ((f = qw_flow_oldest(&e->flows))) flow_end(e, f, QW_END_CAPTURE);
        return;
    }
    for (int c = 0; c < QW_TCLASS_COUNT; c++)
        for (struct qw_flow *f = e->flows.lists_head[c]; f && i < n; f = f->lnext) all[i++] = f;
    qsort(all, i, sizeof *all, cmp_flow_age);
    for (size_t k = 0; k < i; k++) flow_end(e, all[k], QW_END_CAPTURE);
    free(all);
}

void qw_engine_finish(struct qw_engine *e)
{
    /* flows already past their timeout end as timed out, whatever the per-packet expiry step
     * had time for */
    struct qw_flow *x;
    while ((x = qw_flow_next_expired(&e->flows, e->now_ns))) flow_end(e, x, QW_END_TIMEOUT);
    frames_finish(e);
    end_all_flows(e);
    qw_obs_settle(&e->obs);
    e->stats.stream_refused = qw_stream_mem.refused; /* on the engine's own thread */
}

void qw_engine_limits(const struct qw_engine *e, struct qw_engine_limits *out)
{
    memset(out, 0, sizeof *out);
    out->flows_evicted = e->flows.stats.evicted;
    out->reasm_refused = e->reasm.stats.memcap_hits;
    out->reasm_flow_refused = e->reasm.stats.flow_cap_hits;
    out->stream_refused = e->stats.stream_refused;
    out->frag_evicted = e->stats.frag_evicted;
    out->app_refused = e->stats.app_refused;
    out->loans_refused = e->stats.loans_refused;
    out->assets_refused = qw_obs_hosts_refused(&e->obs);
    out->edges_refused = qw_obs_edges_refused(&e->obs);
    out->detections_refused = e->detect.dropped;
}
