#include "engine/record_sink.h"

#include <stdio.h>
#include <string.h>

#include "util/str.h"

static void rec_txn(void *user, struct qw_pctx *ctx, const struct qw_txn *txn)
{
    struct qw_record_sink *rec = user;
    if (rec->ntxns >= QW_REC_MAX) {
        rec->dropped++;
        return;
    }
    struct qw_rec_txn *r = &rec->txns[rec->ntxns++];
    r->txn = *txn;
    struct qw_json j;
    qw_json_mem(&j, r->json, sizeof r->json - 1);
    qw_json_obj_begin(&j, NULL);
    if (txn->write_json) txn->write_json(&j, txn->arg);
    qw_json_obj_end(&j);
    r->json[j.len] = '\0'; /* j.len never passes cap, which left room for the NUL */
    r->json_overflow = j.overflow;
    r->txn.write_json = NULL;
    r->txn.arg = NULL;
}

static void rec_anomaly(void *user, struct qw_pctx *ctx, const char *name, const char *detail,
                        bool about_client)
{
    struct qw_record_sink *rec = user;
    if (rec->nanomalies >= QW_REC_MAX) {
        rec->dropped++;
        return;
    }
    struct qw_rec_anomaly *a = &rec->anomalies[rec->nanomalies++];
    qw_copy_str(a->name, sizeof a->name, name);
    a->about_client = about_client;
    if (detail) qw_copy_str(a->detail, sizeof a->detail, detail);
}

static void rec_identity(void *user, struct qw_pctx *ctx, bool server, const char *attr,
                         const char *value, size_t value_len)
{
    struct qw_record_sink *rec = user;
    if (rec->nidentities >= QW_REC_MAX) {
        rec->dropped++;
        return;
    }
    struct qw_rec_identity *id = &rec->identities[rec->nidentities++];
    id->server = server;
    qw_copy_str(id->attr, sizeof id->attr, attr);
    qw_copy_bytes(id->value, sizeof id->value, value, value_len);
}

static void rec_identity_addr(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                              const uint8_t *mac, const char *attr, const char *value,
                              size_t value_len)
{
    struct qw_record_sink *rec = user;
    if (rec->naddr_identities >= QW_REC_MAX) {
        rec->dropped++;
        return;
    }
    struct qw_rec_identity_addr *id = &rec->addr_identities[rec->naddr_identities++];
    char a[46];
    const char *text = ip ? qw_addr_str(ip, a) : qw_mac_str(mac, a);
    qw_copy_str(id->addr, sizeof id->addr, text);
    qw_copy_str(id->attr, sizeof id->attr, attr);
    qw_copy_bytes(id->value, sizeof id->value, value, value_len);
}

static void rec_session_user(void *user, struct qw_pctx *ctx, const char *source,
                             const char *value, size_t value_len)
{
    struct qw_record_sink *rec = user;
    qw_copy_str(rec->session_user_source, sizeof rec->session_user_source, source);
    qw_copy_bytes(rec->session_user, sizeof rec->session_user, value, value_len);
    rec->nsession_users++;
}

static void rec_address_user(void *user, struct qw_pctx *ctx, const struct qw_addr *ip,
                             const char *source, const char *value, size_t value_len, bool ended)
{
    struct qw_record_sink *rec = user;
    char a[46];
    qw_copy_str(rec->address_user_ip, sizeof rec->address_user_ip, qw_addr_str(ip, a));
    qw_copy_str(rec->address_user_source, sizeof rec->address_user_source, source);
    qw_copy_bytes(rec->address_user, sizeof rec->address_user, value, value_len);
    rec->address_user_ended = ended;
    rec->naddress_users++;
}

static void *rec_loan_take(void *user)
{
    struct qw_record_sink *rec = user;
    for (size_t i = 0; i < QW_REC_LOANS; i++) {
        if (rec->loan_used[i]) continue;
        rec->loan_used[i] = true;
        rec->loans_out++;
        rec->loans_taken++;
        memset(rec->loan_pool[i], 0xA5, QW_LOAN_BYTES); /* nothing may rely on its content */
        return rec->loan_pool[i];
    }
    return NULL;
}

static void rec_loan_return(void *user, void *buf)
{
    struct qw_record_sink *rec = user;
    for (size_t i = 0; i < QW_REC_LOANS; i++) {
        if (buf != rec->loan_pool[i]) continue;
        if (rec->loan_used[i]) rec->loans_out--;
        rec->loan_used[i] = false;
        memset(rec->loan_pool[i], 0x5A, QW_LOAN_BYTES); /* a use after return reads garbage */
    }
}

static void rec_device_report(void *user, struct qw_pctx *ctx, const struct qw_device_report *c)
{
    struct qw_record_sink *rec = user;
    struct qw_rec_device_report *r = &rec->device_report;
    memset(r, 0, sizeof *r);
    r->kind = (int)c->kind;
    r->server = c->server;
    qw_copy_str(r->message_id, sizeof r->message_id, c->message_id);
    if (c->user) qw_copy_bytes(r->user, sizeof r->user, c->user, c->user_len);
    char a[46];
    if (c->from) qw_copy_str(r->from, sizeof r->from, qw_addr_str(c->from, a));
    r->from_peer = c->from_peer;
    rec->ndevice_reports++;
}

static const struct qw_emit_sink record_sink = {
    rec_txn,          rec_anomaly,      rec_identity,  rec_identity_addr,
    rec_session_user, rec_address_user, rec_loan_take, rec_loan_return,
    rec_device_report};

void qw_record_sink_init(struct qw_record_sink *rec, struct qw_pctx *ctx,
                         const struct qw_proto *proto)
{
    memset(rec, 0, sizeof *rec);
    memset(ctx, 0, sizeof *ctx);
    ctx->sink = &record_sink;
    ctx->user = rec;
    ctx->proto = proto;
}

size_t qw_record_count_anomaly(const struct qw_record_sink *rec, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->nanomalies; i++)
        if (strcmp(rec->anomalies[i].name, name) == 0) n++;
    return n;
}

const char *qw_record_identity(const struct qw_record_sink *rec, bool server, const char *attr)
{
    for (size_t i = 0; i < rec->nidentities; i++)
        if (rec->identities[i].server == server && strcmp(rec->identities[i].attr, attr) == 0)
            return rec->identities[i].value;
    return NULL;
}

const char *qw_record_identity_at(const struct qw_record_sink *rec, const char *addr,
                                  const char *attr)
{
    for (size_t i = 0; i < rec->naddr_identities; i++)
        if (strcmp(rec->addr_identities[i].addr, addr) == 0 &&
            strcmp(rec->addr_identities[i].attr, attr) == 0)
            return rec->addr_identities[i].value;
    return NULL;
}
