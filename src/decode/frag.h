/* IPv4 and IPv6 fragment reassembly, bounded in memory and time.
 *
 * Fragments are keyed by (address family, source, destination, identification, protocol). Each
 * datagram in progress holds a buffer from a fixed pool; coverage is tracked in 8-byte blocks
 * (the fragment offset unit, RFC 791 / RFC 8200). Overlaps keep the bytes that arrived first and
 * are counted: never trusting a later fragment to rewrite earlier data defeats the classic
 * overlap evasions. Limits: `cap` datagrams at once (default QW_FRAG_SLOTS; the oldest is evicted,
 * counted), QW_FRAG_TIMEOUT_NS of packet time without completion (expired), QW_FRAG_MAX_DATAGRAM
 * bytes per datagram. Memory: a slot's buffer (QW_FRAG_SLOT_BYTES) is allocated when the slot is
 * first used and kept for reuse, so the table never holds more than cap * QW_FRAG_SLOT_BYTES. */
#ifndef QW_DECODE_FRAG_H
#define QW_DECODE_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/packet.h"

#define QW_FRAG_SLOTS 64                        /* default cap: datagrams in reassembly at once */
#define QW_FRAG_MAX_SLOTS 65536u                /* largest cap accepted */
#define QW_FRAG_MAX_DATAGRAM 65535u             /* largest IP payload (16-bit total length) */
#define QW_FRAG_TIMEOUT_NS (30ull * 1000000000ull) /* RFC 791 suggests 15 s; Linux uses 30 s */

struct qw_frag_slot {
    bool used;
    bool have_last;      /* the fragment with MF=0 arrived, so the total length is known */
    uint8_t family;      /* 4 or 6 */
    uint8_t proto;
    uint32_t id;
    struct qw_addr src, dst;
    uint32_t total;      /* payload length once have_last */
    uint64_t first_ns;
    uint8_t *data;       /* QW_FRAG_MAX_DATAGRAM bytes, allocated on first use of the slot */
    uint8_t *covered;    /* one bit per 8-byte block */
};

/* Bytes one slot holds once used: the datagram buffer and its coverage bitmap. */
#define QW_FRAG_SLOT_BYTES (QW_FRAG_MAX_DATAGRAM + QW_FRAG_MAX_DATAGRAM / 64 + 2)

struct qw_frag_stats {
    uint64_t fragments, reassembled, overlaps, expired, evicted, too_big;
    uint64_t refused; /* fragments dropped because memory for a slot could not be had */
};

struct qw_frag_table {
    struct qw_frag_slot *slots; /* `cap` slots, allocated with the first fragment */
    uint32_t cap;
    struct qw_frag_stats stats;
    uint8_t out[QW_FRAG_MAX_DATAGRAM]; /* last completed datagram, valid until the next one */
};

struct qw_frag_in {
    uint8_t family, proto;
    uint32_t id;
    const struct qw_addr *src, *dst;
    uint32_t offset;     /* in bytes */
    bool more;           /* MF flag */
    const uint8_t *data; /* fragment payload */
    uint32_t len;
    uint64_t ts_ns;
};

void qw_frag_init(struct qw_frag_table *t);
void qw_frag_free(struct qw_frag_table *t);
/* Change the cap (0: QW_FRAG_SLOTS; at most QW_FRAG_MAX_SLOTS). Datagrams in progress are
 * dropped (counted as evicted) when the table already holds some. */
void qw_frag_set_cap(struct qw_frag_table *t, uint32_t cap);
/* Add a fragment. Returns the length of the completed payload (now in t->out) or 0. */
uint32_t qw_frag_add(struct qw_frag_table *t, const struct qw_frag_in *in);

#endif
