/* The TLS handshake decoder of tls.c, run by another parser over a byte stream it extracted
 * itself (OpenVPN's control channel: TLS records cut into reliable control packets).
 *
 * The embedding parser keeps a `struct tls_embed` in its own per-flow state and hands it the
 * bytes of each direction in stream order. The decoder does what it does on TCP: it reads the
 * ClientHello, ServerHello and the first certificate of each Certificate message, emits the same
 * identity facts (tls_sni, ja3, ja4, ja3s, tls_cert_subject, tls_cert_issuer,
 * tls_cert_not_after, tls_self_signed) and the same anomalies (tls.weak_version,
 * tls.expired_certificate, tls.self_signed_certificate, tls.malformed_*...) through the
 * embedding parser's context, so they land on the flow's ends as for TLS over TCP. What differs:
 *
 *   - Transactions (a handshake, a plaintext alert) are not emitted as `tls` records: they go to
 *     the `txn` callback, which writes them inside the embedding parser's own record (the flow's
 *     app_proto is the embedding parser's; one event per handshake, not two). The callback gets
 *     the transaction tls.c would have emitted; its write_json writes the members of a `tls`
 *     object (docs/events/tls.md) and is valid only during the call.
 *   - Handshake records are decoded as their bytes arrive, without waiting for the whole record
 *     (a 16 KiB record need not be held): the embedding keeps at most TLS_EMBED_CARRY bytes per
 *     direction (a record header cut between two deliveries, a short alert or ChangeCipherSpec
 *     record). Longer alert or application records are counted and skipped; an SSL 2.0 record
 *     longer than the carry is lost (a gap). OpenVPN never uses SSL 2.0.
 *   - After a gap, the direction resynchronises on the next plausible record header, without
 *     waiting to see the record that follows it (the record may run past what is at hand).
 *
 * State: sizeof(struct tls_embed), 3 728 bytes on x86-64, plus the 8 KiB buffer tls.c borrows
 * from the engine (qw_loan_take) while a handshake message spans deliveries: the embedding
 * parser must call tls_embed_finish before its state goes (its flow_end). The embedding must
 * not move the structure between calls (the decoder keeps no pointer into it, but the
 * callback's `arg` usually points at the embedding state). */
#ifndef QW_PROTO_TLS_EMBED_H
#define QW_PROTO_TLS_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/emit.h"
#include "proto/proto.h"

/* Room for tls.c's struct tls_state (tls.c checks that it fits, and is aligned). */
#define TLS_EMBED_STATE_SIZE 3584u
/* Bytes a direction may leave undecoded between two deliveries: a record header and a short
 * alert or ChangeCipherSpec record. */
#define TLS_EMBED_CARRY 64u

/* Receives what the decoder would have emitted as a `tls` transaction. */
typedef void tls_embed_txn_fn(struct qw_pctx *ctx, void *arg, const struct qw_txn *tls_txn);

struct tls_embed {
    union {
        max_align_t align;
        unsigned char bytes[TLS_EMBED_STATE_SIZE];
    } state; /* tls.c's struct tls_state */
    uint8_t carry_len[2];
    uint8_t carry[2][TLS_EMBED_CARRY];
};

/* Start a fresh TLS session (forgets everything of the previous one: call tls_embed_finish
 * first to write what it has). `txn` receives the session's transactions, with `arg`. */
void tls_embed_init(struct tls_embed *e, tls_embed_txn_fn *txn, void *arg);

/* The next `len` bytes of direction `dir`'s stream (QW_DIR_TO_SERVER: from the flow's client). */
void tls_embed_feed(struct qw_pctx *ctx, struct tls_embed *e, enum qw_dir dir,
                    const uint8_t *data, size_t len);

/* Bytes of direction `dir` were lost: drop its partial record and message, resynchronise on the
 * next record header. */
void tls_embed_gap(struct tls_embed *e, enum qw_dir dir);

/* The session ends (the flow ends, or a new session replaces it): write the handshake still
 * outstanding, if any, through the callback. */
void tls_embed_finish(struct qw_pctx *ctx, struct tls_embed *e);

/* What the decoder counted in direction `dir` since init: records of any content type, and of
 * those the encrypted ones (after ChangeCipherSpec, application data) with their bytes. */
struct tls_embed_counts {
    uint64_t records, encrypted_records, encrypted_bytes;
};
void tls_embed_counts(const struct tls_embed *e, enum qw_dir dir, struct tls_embed_counts *out);

#endif
