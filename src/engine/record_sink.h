/* A sink that records what a parser emits, for unit tests and fuzz harnesses.
 *
 * Each transaction is kept with its summary fields and its protocol object rendered to JSON
 * text, so a test can assert decoded values both ways. Storage is fixed: past the capacity,
 * records are counted in `dropped` and not kept. */
#ifndef QW_ENGINE_RECORD_SINK_H
#define QW_ENGINE_RECORD_SINK_H

#include <stddef.h>

#include "engine/pctx.h"

#define QW_REC_MAX 256
#define QW_REC_LOANS 4 /* buffers the sink can lend at once (qw_loan_take) */
#define QW_REC_JSON_MAX 4096

struct qw_rec_txn {
    struct qw_txn txn;           /* write_json/arg are cleared after rendering */
    char json[QW_REC_JSON_MAX];  /* the protocol object, e.g. {"request":{...}} */
    bool json_overflow;          /* the object did not fit: json holds its first part only */
};

struct qw_rec_anomaly {
    char name[64];
    char detail[128];
    bool about_client; /* qw_emit_anomaly_client */
};

struct qw_rec_identity {
    bool server;
    char attr[32];
    char value[256];
};

/* A fact about an address the message names (qw_emit_identity_addr/_mac), kept apart from
 * the facts about the flow's ends. */
struct qw_rec_identity_addr {
    char addr[46]; /* IP address or MAC, as text */
    char attr[32];
    char value[256];
};

struct qw_record_sink {
    struct qw_rec_txn txns[QW_REC_MAX];
    size_t ntxns;
    struct qw_rec_anomaly anomalies[QW_REC_MAX];
    size_t nanomalies;
    struct qw_rec_identity identities[QW_REC_MAX];
    size_t nidentities;
    struct qw_rec_identity_addr addr_identities[QW_REC_MAX];
    size_t naddr_identities;
    char session_user_source[24]; /* the last qw_emit_session_user, "" when none */
    char session_user[128];
    size_t nsession_users;
    /* the last qw_emit_address_user */
    char address_user_ip[46];
    char address_user_source[24];
    char address_user[128];
    bool address_user_ended;
    size_t naddress_users;
    /* the last qw_emit_device_report */
    struct qw_rec_device_report {
        int kind;
        bool server;
        char message_id[48];
        char user[64];
        char from[46]; /* "" when the message named no address */
        bool from_peer; /* the flow's other end, as on the wire (from is "") */
    } device_report;
    size_t ndevice_reports;
    /* qw_loan_take: a fixed pool, so a test that stops mid-message leaks nothing */
    unsigned char loan_pool[QW_REC_LOANS][QW_LOAN_BYTES];
    bool loan_used[QW_REC_LOANS];
    size_t loans_out;   /* lent and not given back */
    size_t loans_taken; /* every loan since init */
    size_t dropped;
};

/* Prepare `ctx` to report into `rec` (both zeroed here), as parser `proto`. */
void qw_record_sink_init(struct qw_record_sink *rec, struct qw_pctx *ctx,
                         const struct qw_proto *proto);
/* Count of recorded anomalies with this name. */
size_t qw_record_count_anomaly(const struct qw_record_sink *rec, const char *name);
/* First recorded identity value for attr (server side when server is true), or NULL. */
const char *qw_record_identity(const struct qw_record_sink *rec, bool server, const char *attr);
/* First recorded value of attr about the named address `addr` (text form), or NULL. */
const char *qw_record_identity_at(const struct qw_record_sink *rec, const char *addr,
                                  const char *attr);

#endif
