/* Fuzz harness for the syslog parser (src/proto/syslog.c; not quaywatch's syslog output); see
 * tests/fuzz/fuzz.h.
 *
 * The input is given twice, each time to a fresh flow: as UDP datagrams (fz_datagram_cuts:
 * probed, whole each way, then cut as its first byte says; one message per datagram), and as
 * TCP streams (fz_stream: cut into segments, with gaps in one mode), where octet counting and
 * LF framing decide the messages. Invariants on every record: a request only, the severity
 * (0-7) as the function with its name, no operation bits, a whole JSON object; anomalies under
 * "syslog.", at most four per flow; identity facts only "hostname", non-empty, and none that
 * is an address literal or NILVALUE; a reported change or login (syslog_reports.c) comes with a
 * message record, names its vendor message, and a user of at most 64 bytes; a login names its
 * user and address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_syslog;
#define FZ_PROTO qw_proto_syslog

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "syslog";

static const char *const syslog_attrs[] = {"hostname", NULL};
static const char *const severities[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !t->has_request || t->has_response) abort();
        if (t->function > 7 || strcmp(t->function_name, severities[t->function]) != 0) abort();
        if (t->ops != 0 || t->error) abort();
        if (!fz_json_whole(&rec.txns[i])) abort();
    }
    if (!fz_anomalies_prefixed("syslog.") || rec.nanomalies > 4) abort();
    if (!fz_identities_in(syslog_attrs)) abort();
    for (size_t i = 0; i < rec.nidentities; i++) {
        const char *v = rec.identities[i].value;
        if (!v[0] || strcmp(v, "-") == 0 || strspn(v, "0123456789.") == strlen(v) ||
            strchr(v, ':'))
            abort();
    }
    if (rec.ndevice_reports) {
        const struct qw_rec_device_report *c = &rec.device_report;
        if (!rec.ntxns || !c->message_id[0] || c->kind < QW_REPORT_CONFIG ||
            c->kind > QW_REPORT_LOGIN_FAILED || strlen(c->user) > 64)
            abort();
        /* a login names both, a failed one its source */
        if (c->kind == QW_REPORT_LOGIN && (!c->user[0] || !c->from[0])) abort();
        if (c->kind == QW_REPORT_LOGIN_FAILED && !c->from[0]) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
