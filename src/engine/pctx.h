/* The parse context behind `struct qw_pctx`, and the sink it reports to.
 *
 * Parsers only see the opaque pointer and the functions of emit.h. The engine fills a context
 * per delivery with its own sink (event log, analysis); tests use the recording sink
 * (record_sink.h) to check what a parser emits, without an engine. */
#ifndef QW_ENGINE_PCTX_H
#define QW_ENGINE_PCTX_H

#include "decode/packet.h"
#include "engine/emit.h"

struct qw_flow;

struct qw_emit_sink {
    void (*txn)(void *user, struct qw_pctx *ctx, const struct qw_txn *txn);
    void (*anomaly)(void *user, struct qw_pctx *ctx, const char *name, const char *detail,
                    bool about_client);
    void (*identity)(void *user, struct qw_pctx *ctx, bool server, const char *attr,
                     const char *value, size_t value_len);
    /* a fact about the address `ip` or `mac` (one is NULL) named in the message */
    void (*identity_addr)(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                          const uint8_t *mac, const char *attr, const char *value,
                          size_t value_len);
    /* who the client names behind the session (qw_emit_session_user); may be NULL */
    void (*session_user)(void *user, struct qw_pctx *ctx, const char *source, const char *value,
                         size_t value_len);
    /* who uses an address from now on, or no more (qw_emit_address_user); may be NULL */
    void (*address_user)(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                         const char *source, const char *value, size_t value_len, bool ended);
    /* buffers lent while a message spans packets (qw_loan_take); may be NULL: nothing lent */
    void *(*loan_take)(void *user);
    void (*loan_return)(void *user, void *buf);
    /* what a device reports happened to itself (qw_emit_device_report); may be NULL */
    void (*device_report)(void *user, struct qw_pctx *ctx, const struct qw_device_report *c);
};

struct qw_pctx {
    const struct qw_emit_sink *sink;
    void *user;
    struct qw_flow *flow; /* NULL outside the engine and for link-layer frames */
    const struct qw_packet *pkt; /* the packet being parsed; NULL in most unit tests */
    const struct qw_proto *proto;
    uint64_t ts_ns;
};

#endif
