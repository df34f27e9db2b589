/* What parsers hand to the engine: typed observations.
 *
 * A transaction carries the facts analysis needs (function code, operation classes, error) and a
 * callback that writes the protocol's own JSON object; the engine writes the shared envelope
 * (DESIGN.md "Interface contract") and only calls the callback when an event log is open, so
 * parsing costs no formatting when nobody reads the log. */
#ifndef QW_ENGINE_EMIT_H
#define QW_ENGINE_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/json.h"

struct qw_addr;

/* What an operation does to a device. Parsers set these from their function tables; analysis
 * (site policy, ICS rules) reads them. A function may set several bits. */
enum qw_op {
    QW_OP_READ = 1u << 0,       /* reads process data or configuration */
    QW_OP_WRITE = 1u << 1,      /* writes process data (registers, coils, tags, points) */
    QW_OP_PROGRAM = 1u << 2,    /* uploads, downloads or changes logic/blocks/programs */
    QW_OP_STOP = 1u << 3,       /* puts a controller in stop / program mode */
    QW_OP_START = 1u << 4,      /* puts a controller in run mode */
    QW_OP_RESTART = 1u << 5,    /* cold/warm restart, reset, reinitialise */
    QW_OP_FIRMWARE = 1u << 6,   /* firmware update */
    QW_OP_CONFIG = 1u << 7,     /* changes device configuration (addresses, comms, names) */
    QW_OP_DIAGNOSTIC = 1u << 8, /* diagnostics, counters, event logs */
    QW_OP_IDENTIFY = 1u << 9,   /* asks a device who it is (identity, SZL, device id) */
    QW_OP_TIMESYNC = 1u << 10,  /* sets or reads the clock */
    QW_OP_FILE = 1u << 11,      /* file transfer or file operations */
    QW_OP_AUTH = 1u << 12,      /* authentication, session security */
    QW_OP_SESSION = 1u << 13,   /* connection/session management */
    QW_OP_CONTROL = 1u << 14,   /* operates an output (select/operate, commands) */
};

/* Names of the bits above, for JSON (`ops` array) and docs; index = bit number. */
extern const char *const qw_op_names[15];

struct qw_txn {
    bool has_request, has_response;
    uint32_t function;          /* the protocol's own numeric code */
    const char *function_name;  /* static string from the parser's table; NULL if unknown */
    uint32_t ops;               /* qw_op bits */
    bool error;                 /* exception response / error status */
    uint64_t request_ns, response_ns; /* packet times; 0 when that side is missing */
    /* Writes the members of the protocol object (the engine opens and closes it). */
    void (*write_json)(struct qw_json *j, const void *arg);
    const void *arg;
};

/* One transaction: a request, its response, or both. */
void qw_emit_txn(struct qw_pctx *ctx, const struct qw_txn *txn);

/* A named, counted protocol anomaly, e.g. "modbus.invalid_length" (malformed, not truncated).
 * `detail` may be NULL. */
void qw_emit_anomaly(struct qw_pctx *ctx, const char *name, const char *detail);
/* An anomaly of what the flow's client itself sent, that its findings should name it for (the
 * certificate a TLS client authenticated with: expired, self-signed). qw_emit_anomaly's are
 * about the server, the device that offers the protocol. */
void qw_emit_anomaly_client(struct qw_pctx *ctx, const char *name, const char *detail);

/* An identity fact about one end of the flow: `server` true means the flow's server end (the
 * side the QW_DIR_TO_CLIENT bytes come from), false the client end, whoever answered whom.
 * `attr` is one of "vendor", "model", "firmware", "serial", "hostname", "product_code", ... */
void qw_emit_identity(struct qw_pctx *ctx, bool server, const char *attr, const char *value,
                      size_t value_len);

/* An identity fact about a third address that the message names, neither end of the flow nor
 * of the frame: a DHCP client known by its chaddr MAC (its request comes from 0.0.0.0) or by
 * ciaddr (renewing through a relay agent), the originator of a BACnet message a BBMD forwarded.
 * `ip` or `mac` (6 bytes) names it, the other is NULL; the fact lands on that address on the
 * packet's VLAN. */
void qw_emit_identity_addr(struct qw_pctx *ctx, const struct qw_addr *ip, const char *attr,
                           const char *value, size_t value_len);
void qw_emit_identity_mac(struct qw_pctx *ctx, const uint8_t mac[6], const char *attr,
                          const char *value, size_t value_len);

/* Who the flow's client says is behind the session, in the protocol's own words: an RDP
 * cookie's user name, a Telnet login, the subject of the certificate the client presented, an
 * IKE initiator's identity, an NTLM user. `source` names which ("rdp_cookie", "telnet_login",
 * "client_certificate", "ike_id", "ntlm"). Not a fact about a device: the remote-access ledger
 * shows it beside the session (the last one a flow gives), so a vendor's session says who
 * opened it. */
void qw_emit_session_user(struct qw_pctx *ctx, const char *source, const char *value,
                          size_t value_len);

/* Who uses an address, as the network's own bookkeeping says: a RADIUS accounting Start or
 * Interim-Update (or an Access-Accept) gives a user the address `ip` (a VPN or dial-in pool
 * address, Framed-IP-Address); `ended` true when that use stops (accounting Stop). Not about
 * the flow's ends: the ledger names this user for sessions that address opens while it holds
 * it (docs/detections.md, "Remote-access ledger"). `source` says which message
 * ("radius_accounting", "radius_access"). */
void qw_emit_address_user(struct qw_pctx *ctx, const struct qw_addr *ip, const char *source,
                          const char *value, size_t value_len, bool ended);

/* What a device says happened to itself, in a message it sent to its log collector (a
 * router's "Configured from console by admin on vty0 (10.1.1.5)"), or in its answer on the
 * wire (an FTP server's 530 to a PASS): its configuration was changed, it is restarting,
 * someone logged in to it, or someone failed to. Not an operation on the flow's server: the
 * detector raises a change or a restart on the device that sent the report (docs/detections.md
 * "Changes devices report"), keeps a login for the remote-access ledger, which names the user
 * of the session from that address into the device, and counts failed logins per device and
 * source address (cred.guessing). */
enum qw_device_report_kind {
    QW_REPORT_CONFIG = 0,       /* running configuration changed (a command, a commit, an edit) */
    QW_REPORT_RESTART = 1,      /* a reload was requested, or the device reports it restarted */
    QW_REPORT_LOGIN = 2,        /* a user logged in to the device (successfully) */
    QW_REPORT_LOGIN_FAILED = 3, /* a login to the device was refused (wrong user or password) */
};
/* "config", "restart", "login", "login_failed" */
extern const char *const qw_device_report_names[4];

/* A parser that reads the device's answer on the wire (not a log message) sets `server` to the
 * end that answered and `from_peer` instead of `from`: the attempt came from the flow's other
 * end, which the engine knows (parsers see no addresses); message_id names the answer ("ftp
 * 530", "http 401"). */
struct qw_device_report {
    enum qw_device_report_kind kind;
    bool server;            /* the flow end that sent the message (as qw_emit_identity) */
    const char *message_id; /* static: the vendor's name for the message, "cisco SYS-5-CONFIG_I" */
    const char *user;       /* who the message says did it; NULL when it names nobody */
    size_t user_len;
    const struct qw_addr *from; /* the address it says it came from; NULL when none */
    bool from_peer;             /* it came from the flow's other end (`from` unused) */
};
void qw_emit_device_report(struct qw_pctx *ctx, const struct qw_device_report *report);
/* The device refused a login in its answer on the wire (an FTP 530, an HTTP 401 to Basic
 * credentials): a QW_REPORT_LOGIN_FAILED report from the end `server` names, the attempt from
 * the flow's other end (from_peer); `user` NULL when the protocol names none in clear. */
void qw_emit_login_refused(struct qw_pctx *ctx, bool server, const char *message_id,
                           const char *user, size_t user_len);

/* A buffer a parser borrows from the engine while one message spans packets (the TLS handshake
 * message being put together), so that no flow carries one for its whole life. */
#define QW_LOAN_BYTES 8192u
/* Borrow a QW_LOAN_BYTES buffer. It counts against the parser memory cap (--app-cap): NULL past
 * it (counted), and the parser does without (the message is counted, not decoded). */
void *qw_loan_take(struct qw_pctx *ctx);
/* Give it back: as soon as the message is done, and at the latest in the parser's flow_end (the
 * engine frees the flow's state right after). */
void qw_loan_return(struct qw_pctx *ctx, void *buf);

/* Packet time (ns since the epoch) of the data being parsed. */
uint64_t qw_pctx_time(const struct qw_pctx *ctx);

/* The packet being parsed (addresses, VLAN tags), or NULL when there is none (some unit tests).
 * Link-layer parsers use it for the frame's MACs; for them an identity with `server` false is
 * about the frame's source, true about its destination. */
const struct qw_packet *qw_pctx_packet(const struct qw_pctx *ctx);

#endif
