/* The event log: one JSON object per line, Suricata EVE's top-level names (DESIGN.md, "Interface
 * contract"; every field is documented in docs/events.md). This file writes the shared envelope;
 * each record type writes only its own object between begin and end. */
#ifndef QW_OUTPUT_EVENTLOG_H
#define QW_OUTPUT_EVENTLOG_H

#include <stdbool.h>
#include <stdio.h>

#include "flow/flow.h"
#include "util/json.h"

#define QW_SCHEMA_VERSION 1
#define QW_EVENTLOG_BUF (256u * 1024u)

struct qw_eventlog {
    FILE *fp;
    bool owns_fp;
    struct qw_json j;
    uint64_t records;
    char *buf;
};

/* Open `path` for writing ("-" is stdout). Returns false with errno set. */
bool qw_eventlog_open(struct qw_eventlog *el, const char *path);
/* A second writer onto `main`'s file, with its own buffer, for one worker's engine: whole
 * records reach the file at once, so writers on several threads never interleave inside a line.
 * Close it (qw_eventlog_close flushes it and leaves the file open) before `main`. */
bool qw_eventlog_open_shared(struct qw_eventlog *el, const struct qw_eventlog *main);
/* Flush and close; false if any write failed. */
bool qw_eventlog_close(struct qw_eventlog *el);

/* Start a record: timestamp, event_type, and the flow envelope when `f` is given. The caller
 * then writes its object (named after the event type) and calls qw_eventlog_end. */
/* The envelope of a record about a link-layer frame (no flow): vlan and ether addresses. */
void qw_eventlog_begin_frame(struct qw_eventlog *el, uint64_t ts_ns, const char *event_type,
                             const struct qw_packet *p);
void qw_eventlog_begin(struct qw_eventlog *el, uint64_t ts_ns, const char *event_type,
                       const struct qw_flow *f);
void qw_eventlog_end(struct qw_eventlog *el);

/* EVE-style protocol name of an IP protocol number ("TCP", "UDP", "ICMP", "IPv6-ICMP", ...). */
const char *qw_ip_proto_name(uint8_t proto, char buf[8]);

#endif
