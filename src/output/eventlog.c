#include "output/eventlog.h"

#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

bool qw_eventlog_open(struct qw_eventlog *el, const char *path)
{
    memset(el, 0, sizeof *el);
    if (strcmp(path, "-") == 0) {
        el->fp = stdout;
    } else {
        el->fp = fopen(path, "w");
        if (!el->fp) return false;
        el->owns_fp = true;
    }
    el->buf = malloc(QW_EVENTLOG_BUF);
    if (!el->buf) {
        if (el->owns_fp) fclose(el->fp);
        return false;
    }
    qw_json_init(&el->j, el->buf, QW_EVENTLOG_BUF, el->fp);
    return true;
}

bool qw_eventlog_open_shared(struct qw_eventlog *el, const struct qw_eventlog *main)
{
    memset(el, 0, sizeof *el);
    el->fp = main->fp;
    el->owns_fp = false;
    el->buf = malloc(QW_EVENTLOG_BUF);
    if (!el->buf) return false;
    qw_json_init(&el->j, el->buf, QW_EVENTLOG_BUF, el->fp);
    el->j.shared_out = true;
    return true;
}

bool qw_eventlog_close(struct qw_eventlog *el)
{
    if (!el->fp) return true;
    qw_json_flush(&el->j);
    bool ok = !el->j.io_err && fflush(el->fp) == 0;
    if (el->owns_fp && fclose(el->fp) != 0) ok = false;
    /* a shared writer leaves the file to its main writer */
    el->fp = NULL;
    free(el->buf);
    el->buf = NULL;
    return ok;
}

const char *qw_ip_proto_name(uint8_t proto, char buf[8])
{
    switch (proto) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    case 47: return "GRE";
    case 50: return "ESP";
    default: snprintf(buf, 8, "%u", proto); return buf;
    }
}

/* A flow's records repeat its envelope: the rendered text of recently used flows is kept,
 * keyed by everything the text is made of (so a hit is always the text the flow would get).
 * Per thread, so concurrent writers never share it. */
#define ENV_SLOTS 128
#define ENV_TEXT 384

struct env_slot {
    uint64_t id;
    const struct qw_proto *app;
    struct qw_flow_key key;
    uint8_t mac[2][6];
    uint16_t len;
    bool client_is_a, used;
    bool has_mac[2];
    char text[ENV_TEXT];
};

static _Thread_local struct env_slot env_cache[ENV_SLOTS];

static bool env_matches(const struct env_slot *c, const struct qw_flow *f)
{
    return c->used && c->id == f->id && c->app == f->app && c->client_is_a == f->client_is_a &&
           c->has_mac[0] == f->has_mac[0] && c->has_mac[1] == f->has_mac[1] &&
           memcmp(&c->key, &f->key, sizeof c->key) == 0 &&
           memcmp(c->mac, f->mac, sizeof c->mac) == 0;
}

/* The flow envelope (flow_id .. ether) as JSON members, without the leading comma, composed
 * into `p` (at most ENV_TEXT bytes: IP and MAC text, numbers and parser names need no
 * escaping, QW_PROTO_NAME_MAX); returns the end. */
static char *compose_envelope(char *p, const struct qw_flow *f)
{
    const char *app = f->app ? f->app->name : NULL;
    size_t alen = app ? strnlen(app, QW_PROTO_NAME_MAX) : 0;
    char a[46], pb[8];
    p = QW_JSON_PUT_LIT(p, "\"flow_id\":");
    p = qw_json_put_u64(p, f->id);
    p = QW_JSON_PUT_LIT(p, ",\"src_ip\":\"");
    qw_addr_str(qw_flow_cli_ip(f), a);
    p = qw_json_put(p, a, strlen(a));
    p = QW_JSON_PUT_LIT(p, "\",\"src_port\":");
    p = qw_json_put_u64(p, qw_flow_cli_port(f));
    p = QW_JSON_PUT_LIT(p, ",\"dest_ip\":\"");
    qw_addr_str(qw_flow_srv_ip(f), a);
    p = qw_json_put(p, a, strlen(a));
    p = QW_JSON_PUT_LIT(p, "\",\"dest_port\":");
    p = qw_json_put_u64(p, qw_flow_srv_port(f));
    const char *proto = qw_ip_proto_name(f->key.proto, pb);
    p = QW_JSON_PUT_LIT(p, ",\"proto\":\"");
    p = qw_json_put(p, proto, strlen(proto));
    *p++ = '"';
    if (app) {
        p = QW_JSON_PUT_LIT(p, ",\"app_proto\":\"");
        p = qw_json_put(p, app, alen);
        *p++ = '"';
    }
    if (f->key.vlan[0]) {
        p = QW_JSON_PUT_LIT(p, ",\"vlan\":[");
        p = qw_json_put_u64(p, f->key.vlan[0]);
        if (f->key.vlan[1]) {
            *p++ = ',';
            p = qw_json_put_u64(p, f->key.vlan[1]);
        }
        *p++ = ']';
    }
    if (f->has_mac[0] || f->has_mac[1]) {
        p = QW_JSON_PUT_LIT(p, ",\"ether\":{");
        if (f->has_mac[0]) {
            p = QW_JSON_PUT_LIT(p, "\"src_mac\":\"");
            qw_mac_str(f->mac[0], p);
            p += 17;
            *p++ = '"';
        }
        if (f->has_mac[1]) {
            p = f->has_mac[0] ? QW_JSON_PUT_LIT(p, ",\"dest_mac\":\"")
                              : QW_JSON_PUT_LIT(p, "\"dest_mac\":\"");
            qw_mac_str(f->mac[1], p);
            p += 17;
            *p++ = '"';
        }
        *p++ = '}';
    }
    return p;
}

/* The envelope text of `f`, from the cache (composed on a miss). */
static const struct env_slot *envelope(const struct qw_flow *f)
{
    struct env_slot *c = &env_cache[(f->id ^ f->id >> 17) % ENV_SLOTS];
    if (env_matches(c, f)) return c;
    char *end = compose_envelope(c->text, f);
    c->used = true;
    c->id = f->id;
    c->key = f->key;
    c->app = f->app;
    c->client_is_a = f->client_is_a;
    memcpy(c->has_mac, f->has_mac, sizeof c->has_mac);
    memcpy(c->mac, f->mac, sizeof c->mac);
    c->len = (uint16_t)(end - c->text);
    return c;
}

void qw_eventlog_begin(struct qw_eventlog *el, uint64_t ts_ns, const char *event_type,
                       const struct qw_flow *f)
{
    struct qw_json *j = &el->j;
    j->in_record = true; /* see flush_midway (json.c) */
    size_t tlen = strlen(event_type);
    const struct env_slot *env = f ? envelope(f) : NULL;
    qw_json_obj_begin(j, NULL);
    /* {"timestamp":"...","event_type":"...","schema_version":1[,envelope] */
    char *p = qw_json_room(j, 128 + 6 * tlen + ENV_TEXT);
    if (!p) return;
    p = QW_JSON_PUT_LIT(p, "\"timestamp\":\"");
    p += qw_time_rfc3339(ts_ns, p);
    p = QW_JSON_PUT_LIT(p, "\",\"event_type\":");
    p = qw_json_put_str(p, event_type, tlen);
    p = QW_JSON_PUT_LIT(p, ",\"schema_version\":");
    p = qw_json_put_u64(p, QW_SCHEMA_VERSION);
    if (env) {
        *p++ = ',';
        p = qw_json_put(p, env->text, env->len);
    }
    qw_json_done(j, p);
}

void qw_eventlog_begin_frame(struct qw_eventlog *el, uint64_t ts_ns, const char *event_type,
                             const struct qw_packet *p)
{
    struct qw_json *j = &el->j;
    qw_eventlog_begin(el, ts_ns, event_type, NULL);
    if (p->nvlan) {
        qw_json_arr_begin(j, "vlan");
        for (unsigned i = 0; i < p->nvlan; i++) qw_json_u64(j, NULL, p->vlan[i]);
        qw_json_arr_end(j);
    }
    if (p->has_mac) {
        char m[18];
        qw_json_obj_begin(j, "ether");
        qw_json_str(j, "src_mac", qw_mac_str(p->src_mac, m));
        qw_json_str(j, "dest_mac", qw_mac_str(p->dst_mac, m));
        qw_json_u64(j, "ether_type", p->ethertype);
        qw_json_obj_end(j);
    }
}

void qw_eventlog_end(struct qw_eventlog *el)
{
    struct qw_json *j = &el->j;
    qw_json_obj_end(j);
    qw_json_newline(j);
    el->records++;
    j->in_record = false;
    if (j->out_locked) { /* this record outgrew the buffer: its end goes out under the lock */
        qw_json_flush(j);
        funlockfile(j->out);
        j->out_locked = false;
    } else if (j->shared_out && j->len >= j->cap / 2) {
        qw_json_flush(j); /* whole records only: one fwrite, which holds the FILE's lock */
    }
}
