/* Dispatch of parser observations to the context's sink (see pctx.h). */
#include "engine/emit.h"

#include "engine/pctx.h"

const char *const qw_op_names[15] = {
    "read",   "write",      "program",  "stop",     "start", "restart", "firmware", "config",
    "diagnostic", "identify", "timesync", "file",   "auth",  "session", "control",
};

void qw_emit_txn(struct qw_pctx *ctx, const struct qw_txn *txn)
{
    if (ctx->sink && ctx->sink->txn) ctx->sink->txn(ctx->user, ctx, txn);
}

void qw_emit_anomaly(struct qw_pctx *ctx, const char *name, const char *detail)
{
    if (ctx->sink && ctx->sink->anomaly) ctx->sink->anomaly(ctx->user, ctx, name, detail, false);
}

void qw_emit_anomaly_client(struct qw_pctx *ctx, const char *name, const char *detail)
{
    if (ctx->sink && ctx->sink->anomaly) ctx->sink->anomaly(ctx->user, ctx, name, detail, true);
}

void qw_emit_identity(struct qw_pctx *ctx, bool server, const char *attr, const char *value,
                      size_t value_len)
{
    if (ctx->sink && ctx->sink->identity)
        ctx->sink->identity(ctx->user, ctx, server, attr, value, value_len);
}

void qw_emit_identity_addr(struct qw_pctx *ctx, const struct qw_addr *ip, const char *attr,
                           const char *value, size_t value_len)
{
    if (ctx->sink && ctx->sink->identity_addr)
        ctx->sink->identity_addr(ctx->user, ctx, ip, NULL, attr, value, value_len);
}

void qw_emit_identity_mac(struct qw_pctx *ctx, const uint8_t mac[6], const char *attr,
                          const char *value, size_t value_len)
{
    if (ctx->sink && ctx->sink->identity_addr)
        ctx->sink->identity_addr(ctx->user, ctx, NULL, mac, attr, value, value_len);
}

void qw_emit_session_user(struct qw_pctx *ctx, const char *source, const char *value,
                          size_t value_len)
{
    if (value_len && ctx->sink && ctx->sink->session_user)
        ctx->sink->session_user(ctx->user, ctx, source, value, value_len);
}

void qw_emit_address_user(struct qw_pctx *ctx, const struct qw_addr *ip, const char *source,
                          const char *value, size_t value_len, bool ended)
{
    if (ip && value_len && ctx->sink && ctx->sink->address_user)
        ctx->sink->address_user(ctx->user, ctx, ip, source, value, value_len, ended);
}

const char *const qw_device_report_names[4] = {"config", "restart", "login", "login_failed"};

void qw_emit_device_report(struct qw_pctx *ctx, const struct qw_device_report *report)
{
    if (ctx->sink && ctx->sink->device_report) ctx->sink->device_report(ctx->user, ctx, report);
}

void qw_emit_login_refused(struct qw_pctx *ctx, bool server, const char *message_id,
                           const char *user, size_t user_len)
{
    struct qw_device_report r = {.kind = QW_REPORT_LOGIN_FAILED,
                                 .server = server,
                                 .message_id = message_id,
                                 .user = user_len ? user : NULL,
                                 .user_len = user ? user_len : 0,
                                 .from_peer = true};
    qw_emit_device_report(ctx, &r);
}

void *qw_loan_take(struct qw_pctx *ctx)
{
    return ctx->sink && ctx->sink->loan_take ? ctx->sink->loan_take(ctx->user) : NULL;
}

void qw_loan_return(struct qw_pctx *ctx, void *buf)
{
    if (buf && ctx->sink && ctx->sink->loan_return) ctx->sink->loan_return(ctx->user, buf);
}

uint64_t qw_pctx_time(const struct qw_pctx *ctx)
{
    return ctx->ts_ns;
}

const struct qw_packet *qw_pctx_packet(const struct qw_pctx *ctx)
{
    return ctx->pkt;
}
