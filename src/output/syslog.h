/* Findings to a SIEM as they happen: syslog (RFC 5424) over UDP (RFC 5426) or TCP with
 * octet-counting framing (RFC 6587 s.3.4.1), each message carrying the alert either as the
 * event log's JSON record or as ArcSight CEF. Sending never blocks the packet path for long:
 * UDP is fire-and-forget; TCP has a short send timeout and reconnects after a failure. */
#ifndef QW_OUTPUT_SYSLOG_H
#define QW_OUTPUT_SYSLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qw_syslog_format { QW_SYSLOG_JSON, QW_SYSLOG_CEF };

struct qw_syslog {
    int fd;
    bool tcp;
    enum qw_syslog_format format;
    char host[256], port[16];
    char hostname[64]; /* HOSTNAME field: this sensor */
    uint64_t sent, failed;
    pthread_mutex_t lock; /* engines of several workers send through one connection */
};

/* Parse "HOST:PORT" ("[v6]:PORT" for IPv6), resolve and connect. False with a message. */
bool qw_syslog_open(struct qw_syslog *s, const char *target, bool tcp,
                    enum qw_syslog_format format, char *err, size_t errlen);
void qw_syslog_close(struct qw_syslog *s);

/* One alert. `severity` is enum qw_severity; `msgid` the rule name; `json` the alert record
 * (event log line) and `cef` the CEF text: the configured format picks one. */
void qw_syslog_send(struct qw_syslog *s, uint64_t ts_ns, int severity, const char *msgid,
                    const char *json, size_t json_len, const char *cef, size_t cef_len);

#endif
