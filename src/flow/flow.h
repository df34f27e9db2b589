/* Bidirectional flow table: VLAN tags + IP protocol + both (address, port) ends.
 *
 * Flows come from a bounded pool (QW_FLOW_CAP_DEFAULT, configurable). Each flow sits on one idle
 * list per timeout class; a list is ordered by last activity because packet time only moves
 * forward, so expiry looks at list heads only. When the pool is full the least recently active
 * flow is evicted (counted). All time is packet time. */
#ifndef QW_FLOW_FLOW_H
#define QW_FLOW_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/counters.h"

#include "decode/packet.h"
#include "engine/stream.h"
#include "proto/proto.h"
#include "util/hash.h"

#define QW_FLOW_CAP_DEFAULT 1000000u /* flows tracked at once */

/* Idle timeouts (seconds of packet time) per class. OT links poll for days: an established TCP
 * session that stays quiet for an hour is still the same session to an operator. */
enum qw_tclass {
    QW_TCLASS_TCP_NEW,         /* handshake not complete */
    QW_TCLASS_TCP_ESTABLISHED,
    QW_TCLASS_TCP_CLOSED,      /* FIN both ways, or RST */
    QW_TCLASS_UDP,
    QW_TCLASS_OTHER,           /* ICMP and other IP protocols */
    QW_TCLASS_COUNT,
};

struct qw_flow_timeouts {
    uint32_t sec[QW_TCLASS_COUNT];
};
extern const struct qw_flow_timeouts qw_flow_timeouts_default;

enum qw_tcp_state {
    QW_TCP_NONE = 0,   /* not TCP */
    QW_TCP_SYN_SENT,
    QW_TCP_SYN_RECV,
    QW_TCP_ESTABLISHED,
    QW_TCP_MIDSTREAM,  /* picked up without seeing the handshake */
    QW_TCP_FIN_WAIT,   /* FIN seen in one direction */
    QW_TCP_CLOSED,     /* FIN seen in both directions */
    QW_TCP_RESET,
};
const char *qw_tcp_state_name(uint8_t state);

enum qw_flow_end {
    QW_END_TIMEOUT = 0, /* idle past its class timeout */
    QW_END_CAPTURE,     /* end of the capture or of the live run */
    QW_END_EVICTED,     /* pool full: least recently active flow pushed out */
    QW_END_REUSED,      /* a new connection reused the same ports (new SYN) */
};
const char *qw_flow_end_name(uint8_t reason);

struct qw_flow_key {
    struct qw_addr a, b; /* ordered so that (a, port_a) < (b, port_b) */
    uint16_t port_a, port_b;
    uint16_t vlan[QW_MAX_VLANS];
    uint8_t proto;
    uint8_t pad[3];
};

struct qw_seg; /* out-of-order TCP segment (reasm.c) */

/* Sequence state of one TCP direction: inline in the flow, every TCP flow with data needs it. */
struct qw_tcp_seq {
    uint32_t isn;       /* first sequence number seen (SYN or pickup point) */
    uint32_t next_seq;  /* next in-order byte expected */
    bool seq_known;     /* set by the first segment with data or SYN (reasm.c) */
    bool syn, fin, rst;
};

/* What a TCP direction holds only while it buffers bytes, or once it lost some: allocated on
 * demand (reasm.c) so that an idle flow costs its struct qw_flow alone. */
struct qw_tcp_dir {
    struct qw_seg *ooo; /* sorted by sequence number */
    uint32_t ooo_count;
    uint32_t ooo_bytes;
    struct qw_pending pending; /* unconsumed application bytes */
    uint32_t gaps;
    uint64_t gap_bytes;
};

/* One flow. Its size is a design bound (tests/unit/test_flow.c): at most 256 bytes, so that a
 * million idle flows fit in 256 MB besides their parsers' state. Everything a flow needs only
 * while it buffers data lives out of line (`tcp`). */
struct qw_flow {
    struct qw_flow *hnext;          /* hash chain (VLAN + 5-tuple) */
    struct qw_flow *hnext_any;      /* hash chain of the 5-tuple alone (any VLAN) */
    struct qw_flow *lprev, *lnext;  /* idle list of its timeout class */
    uint64_t id;
    uint64_t first_ns, last_ns;     /* its first and newest packet times */
    /* The capture's clock at its last packet, which idleness is counted from: when the
     * capture's clock goes back (capture hosts step their clocks; files are concatenated), the
     * flow's packet times lag the clock, and counting from them would end the flow at once. */
    uint64_t idle_ns;
    uint64_t pkts[2], bytes[2];     /* [QW_DIR_TO_SERVER], [QW_DIR_TO_CLIENT] */
    const struct qw_proto *app;
    void *app_state;
    struct qw_tcp_dir *tcp;         /* [2], allocated while a direction buffers or after a gap */
    struct qw_flow_key key;
    uint32_t hash, hash_any;        /* of the key, with and without VLAN tags (flow.c) */
    struct qw_tcp_seq seq[2];       /* TCP sequence state per direction */
    uint32_t anomalies;
    uint32_t ops;                   /* qw_op bits of every transaction seen */
    uint16_t dir_vlan[2];           /* innermost VLAN each direction was first seen on */
    bool client_is_a;               /* orientation: which key end opened the flow */
    uint8_t tcp_state;
    uint8_t tclass;
    uint8_t end_reason;
    uint8_t flags_seen[2];          /* TCP flags OR-ed per direction */
    bool has_mac[2];
    uint8_t mac[2][6];              /* [0] client side, [1] server side */
    uint8_t dst_mac[2][6];          /* destination MAC of each direction's first frame: the
                                     * peer itself on a segment, its gateway when routed */
    uint8_t app_status;             /* engine: detection state (engine.c) */
    uint8_t probe_tries;
    uint8_t app_slot;               /* registry index of `app` + 1; 0: not set (engine.c) */
};

struct qw_flow_stats {
    uint64_t created, ended, evicted, timed_out, reused, active, peak_active;
    uint64_t alloc_failed;
};
QW_COUNTERS_ONLY(struct qw_flow_stats, 8); /* summed over engines (qw_counters_add) */

#define QW_FLOW_BUCKETS_START 4096u /* bucket arrays' first size (32 KiB each) */

struct qw_flow_table {
    struct qw_flow **buckets;
    struct qw_flow **buckets_any; /* same flows, hashed without VLAN tags */
    uint32_t nbuckets; /* power of two; doubled as flows outnumber it, up to max_buckets */
    uint32_t max_buckets; /* the first power of two >= cap: a load factor of at most 1 */
    uint32_t cap;
    struct qw_flow *free_list;
    struct qw_flow *lists_head[QW_TCLASS_COUNT], *lists_tail[QW_TCLASS_COUNT];
    struct qw_flow_timeouts timeouts;
    /* No flow times out before this: a lower bound of the earliest expiry, lowered as flows are
     * appended to a list and raised when a look at the list heads finds none expired, so that
     * the per-packet expiry check is one comparison. */
    uint64_t expiry_floor_ns;
    /* The flow found or made last: the next packet is often of the same flow (a burst, a bulk
     * transfer), and then needs neither the hash nor the bucket walk (qw_flow_recent). */
    struct qw_flow *recent;
    struct qw_hkey key;
    struct qw_flow_stats stats;
    void **slabs;
    uint32_t nslabs, slab_cap;
};

bool qw_flow_table_init(struct qw_flow_table *t, uint32_t cap,
                        const struct qw_flow_timeouts *timeouts);
void qw_flow_table_free(struct qw_flow_table *t);

/* Build the table key for a packet; `*from_a` tells whether the packet's source is end a. */
void qw_flow_key_from_packet(const struct qw_packet *p, struct qw_flow_key *k, bool *from_a);

/* A key's hashes, computed once per packet and handed to the calls below. */
struct qw_flow_hash {
    uint32_t h;     /* VLAN tags + 5-tuple */
    uint32_t h_any; /* 5-tuple alone */
};
struct qw_flow_hash qw_flow_hash_key(const struct qw_flow_table *t, const struct qw_flow_key *k);

struct qw_flow *qw_flow_lookup_hashed(struct qw_flow_table *t, const struct qw_flow_key *k,
                                      struct qw_flow_hash hv);
/* The flow of key `k` when it is the one found or made last, else NULL (then hash and look up).
 * Keys are unique in the table and their padding is zero, so equal bytes mean the same flow. */
static inline struct qw_flow *qw_flow_recent(const struct qw_flow_table *t,
                                             const struct qw_flow_key *k)
{
    struct qw_flow *f = t->recent;
    return f && memcmp(&f->key, k, sizeof *k) == 0 ? f : NULL;
}
/* A flow with the same 5-tuple on any VLAN (a routed conversation whose directions a mirror
 * shows on different VLANs), or NULL. */
struct qw_flow *qw_flow_lookup_any_vlan_hashed(struct qw_flow_table *t,
                                               const struct qw_flow_key *k,
                                               struct qw_flow_hash hv);
/* Take a flow from the pool (NULL if the pool is full; the caller evicts and retries). */
struct qw_flow *qw_flow_insert_hashed(struct qw_flow_table *t, const struct qw_flow_key *k,
                                      struct qw_flow_hash hv);
/* The same, hashing the key themselves. */
struct qw_flow *qw_flow_lookup(struct qw_flow_table *t, const struct qw_flow_key *k);
struct qw_flow *qw_flow_lookup_any_vlan(struct qw_flow_table *t, const struct qw_flow_key *k);
struct qw_flow *qw_flow_insert(struct qw_flow_table *t, const struct qw_flow_key *k);
/* Unlink from the hash and the idle list, and return to the pool. State must be freed first. */
void qw_flow_remove(struct qw_flow_table *t, struct qw_flow *f);
/* Move to the tail of its (possibly new) class list after activity at the capture's clock
 * `now_ns` (idle_ns; the caller keeps last_ns, the packet's own time). */
void qw_flow_touch(struct qw_flow_table *t, struct qw_flow *f, uint64_t now_ns, uint8_t tclass);
/* The idle flow of any class whose timeout has passed at `now_ns`, or NULL. */
struct qw_flow *qw_flow_next_expired(struct qw_flow_table *t, uint64_t now_ns);
/* Whether `f` has been idle past its class's timeout at `now_ns`: such a flow is over even if
 * the expiry step has not reached it yet, so a late packet starts a new one. */
bool qw_flow_is_expired(const struct qw_flow_table *t, const struct qw_flow *f, uint64_t now_ns);
/* The least recently active flow (eviction victim), or NULL if empty. */
struct qw_flow *qw_flow_oldest(struct qw_flow_table *t);

/* Direction of a packet within its flow. */
static inline enum qw_dir qw_flow_dir(const struct qw_flow *f, bool from_a)
{
    return from_a == f->client_is_a ? QW_DIR_TO_SERVER : QW_DIR_TO_CLIENT;
}

/* Client/server ends of the flow. */
static inline const struct qw_addr *qw_flow_cli_ip(const struct qw_flow *f)
{
    return f->client_is_a ? &f->key.a : &f->key.b;
}
static inline const struct qw_addr *qw_flow_srv_ip(const struct qw_flow *f)
{
    return f->client_is_a ? &f->key.b : &f->key.a;
}
static inline uint16_t qw_flow_cli_port(const struct qw_flow *f)
{
    return f->client_is_a ? f->key.port_a : f->key.port_b;
}
static inline uint16_t qw_flow_srv_port(const struct qw_flow *f)
{
    return f->client_is_a ? f->key.port_b : f->key.port_a;
}

#endif
