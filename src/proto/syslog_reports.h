/* What a device reports about itself in its syslog messages: its configuration was changed,
 * it is restarting, someone logged in to it, or someone failed to. Used by src/proto/syslog.c, which hands each
 * decoded message here and emits what is recognised (emit.h qw_emit_device_report).
 *
 * Recognised by the vendor's own message identifier, never by free wording, from a table in
 * syslog_reports.c (docs/events/syslog.md lists it): Cisco IOS, IOS-XE, NX-OS and ASA
 * mnemonics, Junos UI_COMMIT, FortiGate configuration and login log ids, PAN-OS CONFIG logs,
 * OpenSSH's "Accepted ... for USER from ADDRESS" and "Failed ...", Junos SSHD_LOGIN_FAILED,
 * ASA 605004. */
#ifndef QW_PROTO_SYSLOG_REPORTS_H
#define QW_PROTO_SYSLOG_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"
#include "engine/emit.h"

/* A piece of the message; p NULL when absent (the syslog parser's spans are these too). */
struct qw_log_span {
    const uint8_t *p;
    size_t n;
};

/* What the syslog parser decoded of one message. */
struct qw_log_parts {
    struct qw_log_span cisco_fac, cisco_mnem; /* %FAC-SEV-MNEMONIC, or Cisco's XML form */
    bool cisco_xml;                           /* ... the XML form (qw_log_cisco_xml) */
    struct qw_log_span msgid;                 /* RFC 5424 MSGID */
    struct qw_log_span app;                   /* RFC 5424 APP-NAME, RFC 3164 TAG */
    struct qw_log_span text;                  /* the text after the header */
};

/* A recognised report. user and from point into the message (valid while it is). */
struct qw_log_report {
    enum qw_device_report_kind kind;
    const char *message_id; /* static, e.g. "cisco SYS-5-CONFIG_I" */
    struct qw_log_span user; /* p NULL when the message names nobody */
    bool has_from;
    struct qw_addr from;     /* the address the message says the change came from */
};

/* True when the message reports a change of its sender or a login to it (filled into *out). */
bool qw_log_report_find(const struct qw_log_parts *m, struct qw_log_report *out);

/* Cisco's XML message form (`logging ... xml`): `<ios-log-msg><facility>SYS</facility>
 * <severity>5</severity><msg-id>CONFIG_I</msg-id>...`: the facility, severity and mnemonic
 * found in `text`, or false. */
bool qw_log_cisco_xml(struct qw_log_span text, struct qw_log_span *fac, struct qw_log_span *sev,
                      struct qw_log_span *mnem);

#endif
