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

void qw_eventlog_begin(struct qw_eventlog *el, uint64_t ts_ns, const char *event_type,
                       const struct qw_flow *f)
{
    struct qw_json *j = &el->j;
    j->in_record = true;
    char tbuf[QW_TIME_STR_MAX];
    size_t n = qw_time_rfc3339(ts_ns, tbuf);
    qw_json_obj_begin(j, NULL);
    qw_json_strn(j, "timestamp", tbuf, n);
    qw_json_str(j, "event_type", event_type);
    qw_json_u64(j, "schema_version", QW_SCHEMA_VERSION);
    if (!f) return;
    char a[46], pb[8];
    qw_json_u64(j, "flow_id", f->id);
    qw_json_str(j, "src_ip", qw_addr_str(qw_flow_cli_ip(f), a));
    qw_json_u64(j, "src_port", qw_flow_cli_port(f));
    qw_json_str(j, "dest_ip", qw_addr_str(qw_flow_srv_ip(f), a));
    qw_json_u64(j, "dest_port", qw_flow_srv_port(f));
    qw_json_str(j, "proto", qw_ip_proto_name(f->key.proto, pb));
    if (f->app) qw_json_str(j, "app_proto", f->app->name);
    if (f->key.vlan[0]) {
        qw_json_arr_begin(j, "vlan");
        qw_json_u64(j, NULL, f->key.vlan[0]);
        if (f->key.vlan[1]) qw_json_u64(j, NULL, f->key.vlan[1]);
        qw_json_arr_end(j);
    }
    if (f->has_mac[0] || f->has_mac[1]) {
        char m[18];
        qw_json_obj_begin(j, "ether");
        if (f->has_mac[0]) {
            qw_mac_str(f->mac[0], m);
            qw_json_str(j, "src_mac", m);
        }
        if (f->has_mac[1]) {
            qw_mac_str(f->mac[1], m);
            qw_json_str(j, "dest_mac", m);
        }
        qw_json_obj_end(j);
    }
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
