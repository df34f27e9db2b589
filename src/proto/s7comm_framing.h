/* TPKT/COTP stream walking shared by the S7comm and S7comm-plus parsers (TCP port 102).
 *
 * Both protocols ride on ISO transport over TCP (RFC 1006 TPKT + ISO 8073 class 0 COTP), and a
 * parser sees the stream of one direction from its first byte (the COTP connection request
 * included). This module does what is identical for both, on top of src/proto/cotp.h:
 *
 *   - frames TPKTs out of the byte stream (several per call, one cut across calls),
 *   - hands control TPDUs (CR, CC, DR, ...) to an optional callback and otherwise skips them,
 *   - reassembles a TSDU that the sender split over several DT TPDUs (EOT clear) in a buffer
 *     the parser owns, and hands each complete TSDU to the parser,
 *   - after a broken TPKT header or a lost segment (gap), skips forward to the next plausible
 *     TPKT header.
 *
 * The probe helper answers the question every port-102 probe has: what is the first byte of
 * user data of the first DT TPDU of this direction? */
#ifndef QW_PROTO_S7COMM_FRAMING_H
#define QW_PROTO_S7COMM_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cotp.h"
#include "proto/proto.h"

/* Per-direction framing state; zeroed state is a fresh stream. */
struct qw_iso_stream {
    struct qw_cotp_asm tsdu; /* the TSDU being reassembled from DT TPDUs */
    bool resync;             /* looking for the next plausible TPKT header */
};

struct qw_iso_ops {
    /* Anomaly names (the parser's own prefix), raised through qw_emit_anomaly. */
    const char *invalid_tpkt;   /* TPKT version not 3 or length below 7: resynchronise */
    const char *invalid_cotp;   /* a complete TPKT whose COTP header is broken: skipped */
    const char *oversized_tsdu; /* a TSDU longer than the parser's buffer: dropped */
    /* One complete TSDU: the user data of one or more DT TPDUs, in order. */
    void (*tsdu)(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *p, size_t n);
    /* Optional: a TPDU other than DT (CR, CC, DR, DC, ER, AK, ...). */
    void (*control)(struct qw_pctx *ctx, void *state, enum qw_dir dir, const struct qw_cotp *c);
};

/* Walk the TPKTs in `data`; return the bytes consumed (a cut TPKT is left for the next call).
 * `buf`/`cap` is the parser's TSDU reassembly buffer for this direction. */
size_t qw_iso_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, struct qw_iso_stream *s,
                    uint8_t *buf, size_t cap, const struct qw_iso_ops *ops, const uint8_t *data,
                    size_t len);

/* Bytes of this direction were lost: drop the partial TSDU and resynchronise. */
void qw_iso_gap(struct qw_iso_stream *s);

/* Probe helper. Walks the complete TPKTs at the start of a direction, skipping control TPDUs
 * and empty DTs, up to the first DT with user data. On QW_PROBE_MATCH, *user points at that
 * DT's user data (*user_len bytes, possibly fewer than the TPKT declares when it is not all
 * here yet) and *eot tells whether the DT ends its TSDU; *complete tells whether the whole TPKT
 * is present. QW_PROBE_NEED_MORE: a valid prefix without such a DT yet. QW_PROBE_NO: not
 * TPKT/COTP. The caller then decides on the user data. */
enum qw_probe_result qw_iso_probe_first_dt(const uint8_t *d, size_t len, const uint8_t **user,
                                           size_t *user_len, bool *eot, bool *complete);

#endif
