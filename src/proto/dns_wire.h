/* The DNS message format, shared by the naming parsers, and the few helpers they all need.
 *
 * Users: dns.c (unicast DNS, RFC 1035), mdns.c (mDNS, RFC 6762, and LLMNR, RFC 4795: both use
 * the DNS message format), nbns.c (NetBIOS name service, RFC 1002 s.4.2: the same header and
 * resource-record layout with its own names), dhcp.c and dhcpv6.c (domain names in options,
 * RFC 4702 s.2.3 and RFC 8415 s.10, in DNS wire form without compression).
 *
 * Specifications:
 *   [1035] RFC 1035 Domain names - implementation and specification: s.3.1 name space
 *          definitions (labels of at most 63 octets, names of at most 255), s.4.1 message
 *          format (header, question, resource record), s.4.1.4 message compression.
 *   [6891] RFC 6891 EDNS(0): s.6.1 the OPT pseudo-record (requestor's UDP payload size in the
 *          class field; extended RCODE, version and the DO bit in the TTL field), s.6.1.3.
 *   [2136] RFC 2136 DNS UPDATE (opcode 5); [1996] RFC 1996 NOTIFY (opcode 4);
 *   [8490] RFC 8490 DNS stateful operations (opcode 6); [6895] RFC 6895 s.2.3 RCODE registry.
 *   [3596] RFC 3596 AAAA; [2782] RFC 2782 SRV; [1035] s.3.3 CNAME, MX, NS, PTR, SOA, TXT.
 *
 * Header ([1035] s.4.1.1), big-endian:
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 ID: chosen by the querier, copied into the response
 *        2    2 flags: QR(15) OPCODE(14-11) AA(10) TC(9) RD(8) RA(7) Z(6) AD(5) CD(4) RCODE(3-0)
 *        4    2 QDCOUNT: questions
 *        6    2 ANCOUNT: answer records
 *        8    2 NSCOUNT: authority records
 *       10    2 ARCOUNT: additional records
 *
 * A name is a sequence of labels (a length octet 0..63 and that many octets) ending with the
 * zero-length root label, or ending with a pointer: two octets 11xxxxxx xxxxxxxx giving the
 * offset of the rest of the name in the message ([1035] s.4.1.4). Length octets 01xxxxxx and
 * 10xxxxxx are the extended label types RFC 6891 s.5 retired: malformed. Pointers are followed
 * wherever they point inside the message (some encoders point forward), with loop protection:
 * a pointer target seen twice in one name, or more than DNSW_JUMPS_MAX pointers, is a loop.
 *
 * Nothing here allocates; every read is bounds-checked against the message length. */
#ifndef QW_PROTO_DNS_WIRE_H
#define QW_PROTO_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "util/json.h"

#define DNSW_HDR_LEN 12         /* [1035] s.4.1.1 */
#define DNSW_NAME_WIRE_MAX 255  /* octets of a name, length octets and root label included, s.3.1 */
#define DNSW_LABEL_MAX 63       /* s.3.1 */
/* Text of a name: at most 253 characters (255 wire octets less the first length octet and the
 * root label), a NUL, and room for the "." written for the root name. */
#define DNSW_NAME_TEXT_MAX 256
/* Pointers followed in one name. A legitimate encoder needs one per name (a pointer to an
 * earlier suffix, which may itself end in a pointer); 32 chained pointers is already absurd. */
#define DNSW_JUMPS_MAX 32
/* Records kept per message for the event record. A unicast DNS answer rarely holds more than a
 * dozen; mDNS queries from macOS carry 80 questions (corpus: iti_Profinet_Failed.pcap), and a
 * 9000-byte mDNS packet holds at most ~800 of the smallest records. Past these, records are
 * still parsed and counted (`*_omitted`) but not listed. */
#define DNSW_Q_MAX 128
#define DNSW_RR_MAX 128
/* TXT strings shown per record, and their total bytes: TXT records of service discovery hold
 * key=value pairs, dozens of them; the record shows the first ones. */
#define DNSW_TXT_STRINGS_MAX 16
#define DNSW_TXT_BYTES_MAX 512
/* Opaque RDATA of types we do not decode is shown as hex up to this many bytes. */
#define DNSW_RDATA_HEX_MAX 64

/* Header flag bits ([1035] s.4.1.1; AD and CD from RFC 4035 s.3.2). */
#define DNSW_F_QR 0x8000u
#define DNSW_F_AA 0x0400u
#define DNSW_F_TC 0x0200u
#define DNSW_F_RD 0x0100u
#define DNSW_F_RA 0x0080u
#define DNSW_F_Z 0x0040u
#define DNSW_F_AD 0x0020u
#define DNSW_F_CD 0x0010u
#define DNSW_OPCODE(flags) ((unsigned)((flags) >> 11) & 0xFu)
#define DNSW_RCODE(flags) ((unsigned)(flags) & 0xFu)

/* Opcodes ([1035] s.4.1.1, [1996], [2136], [8490]). */
#define DNSW_OP_QUERY 0u
#define DNSW_OP_IQUERY 1u
#define DNSW_OP_STATUS 2u
#define DNSW_OP_NOTIFY 4u
#define DNSW_OP_UPDATE 5u
#define DNSW_OP_DSO 6u

/* Resource-record types used in the code (IANA "Resource Record (RR) TYPEs"). */
#define DNSW_T_A 1u
#define DNSW_T_NS 2u
#define DNSW_T_CNAME 5u
#define DNSW_T_SOA 6u
#define DNSW_T_PTR 12u
#define DNSW_T_MX 15u
#define DNSW_T_TXT 16u
#define DNSW_T_AAAA 28u
#define DNSW_T_SRV 33u
#define DNSW_T_DNAME 39u
#define DNSW_T_OPT 41u

#define DNSW_C_IN 1u
#define DNSW_C_CH 3u
#define DNSW_C_HS 4u
#define DNSW_C_NONE 254u /* [2136] s.1.3 */
#define DNSW_C_ANY 255u
/* mDNS reuses the top bit of the class: QU (unicast response wanted) in a question, cache
 * flush in a record (RFC 6762 s.5.4 and s.10.2). */
#define DNSW_C_MDNS_BIT 0x8000u

enum dnsw_status {
    DNSW_OK = 0,
    DNSW_TRUNCATED,   /* the message ends before what its counts or lengths declare */
    DNSW_BAD_LABEL,   /* extended label type 01/10 */
    DNSW_BAD_POINTER, /* a compression pointer outside the message, or where none is allowed */
    DNSW_TOO_LONG,    /* a name longer than 255 octets */
    DNSW_LOOP,        /* compression pointers that loop */
    DNSW_BAD_RDATA,   /* RDATA that does not match its type's layout */
};

/* Short text for anomaly details. */
const char *dnsw_status_text(enum dnsw_status s);

/* dnsw_name() flags. */
#define DNSW_NAME_NO_POINTERS 1u /* names inside DHCP options: compression is not allowed */
#define DNSW_NAME_PARTIAL_OK 2u  /* the name may end with the buffer (RFC 4702 s.2.3.1 and
                                    RFC 8415 s.10: a partial name has no root label) */

/* Read the name at *off. On success *off moves past the name as it lies in place (after its
 * first pointer, if any), and `out` (DNSW_NAME_TEXT_MAX bytes, or NULL) receives the labels
 * joined with dots, NUL-terminated, "" for the root; *out_len (optional) its length. Label
 * bytes are copied as they are (the JSON writer escapes them). On failure *off is unchanged. */
enum dnsw_status dnsw_name(const uint8_t *msg, size_t len, size_t *off, unsigned flags, char *out,
                           size_t *out_len);

struct dnsw_header {
    uint16_t id, flags, qd, an, ns, ar;
};

/* False when fewer than DNSW_HDR_LEN bytes. */
bool dnsw_header(const uint8_t *b, size_t len, struct dnsw_header *h);

enum dnsw_section {
    DNSW_SEC_ANSWER = 0,
    DNSW_SEC_AUTHORITY = 1,
    DNSW_SEC_ADDITIONAL = 2,
};

struct dnsw_q {
    uint16_t name_off, type, klass;
};

struct dnsw_rr {
    uint16_t name_off, type, klass, rdlen, rdata_off;
    uint8_t section; /* enum dnsw_section */
    bool rdata_bad;  /* the RDATA does not match its type's layout */
    uint32_t ttl;
};

/* A decoded message: offsets into the bytes it was decoded from, which must outlive it. */
struct dnsw_msg {
    const uint8_t *b;
    size_t len;
    struct dnsw_header h;
    uint16_t nq, nrr;              /* kept in q[] and rr[] */
    uint32_t q_parsed, rr_parsed;  /* parsed (kept or not), OPT excluded from rr_parsed */
    struct dnsw_q q[DNSW_Q_MAX];
    struct dnsw_rr rr[DNSW_RR_MAX]; /* in message order, answers first */
    bool has_opt;                  /* an EDNS OPT record in the additional section */
    uint16_t edns_udp_size;
    uint8_t edns_ext_rcode, edns_version;
    bool edns_do;
    uint16_t edns_options;         /* options in the OPT RDATA */
    enum dnsw_status status;       /* the first problem found, DNSW_OK for a clean message */
    size_t end;                    /* offset after the last whole record parsed */
    /* Set by the pairing queue for a query kept in short form (header and first question
     * only): the counts in h are the original message's, the records are not available. */
    bool short_form;
};

/* Decode `len` bytes as one DNS message. Parsing stops at the first structural error (records
 * after it cannot be located); a record whose RDATA alone is wrong is kept, flagged, and parsing
 * goes on, since RDLENGTH still says where the next record starts. Returns false only when the
 * header itself is missing. */
bool dnsw_decode(const uint8_t *b, size_t len, struct dnsw_msg *m);
/* The same with `check_rdata` false: RDATA is opaque (NBNS gives types 0x20/0x21 layouts of its
 * own, where DNS has NIMLOC and SRV). */
bool dnsw_decode_ex(const uint8_t *b, size_t len, struct dnsw_msg *m, bool check_rdata);

/* The full response code: header RCODE plus the EDNS extended bits ([6891] s.6.1.3). */
unsigned dnsw_rcode(const struct dnsw_msg *m);

const char *dnsw_type_name(uint16_t type);    /* "A", "AAAA", ... or NULL */
const char *dnsw_rcode_name(unsigned rcode);  /* "noerror", "nxdomain", ... or "unknown" */
const char *dnsw_opcode_name(unsigned opcode); /* "query", "update", ... or "unknown" */

/* Case-insensitive (ASCII, [1035] s.2.3.3) equality of two names given by offset. */
bool dnsw_name_equal(const uint8_t *b1, size_t len1, size_t off1, const uint8_t *b2, size_t len2,
                     size_t off2);

/* How the header flags and classes of a message are read. */
enum dnsw_style {
    DNSW_STYLE_DNS,   /* [1035] flags */
    DNSW_STYLE_MDNS,  /* top class bit is QU / cache-flush ([6762] s.5.4, s.10.2) */
    DNSW_STYLE_LLMNR, /* flags QR OPCODE C TC T Z(4) RCODE (RFC 4795 s.2.1.1) */
};

/* Event-record writer: the object `key` ("request", "response") for message m. Names are
 * decoded here, so nothing is formatted unless an event log is open. */
void dnsw_json_msg(struct qw_json *j, const char *key, const struct dnsw_msg *m,
                   enum dnsw_style style);

/* The address of an A (4 bytes) or AAAA (16 bytes) record. */
bool dnsw_rr_addr(const struct dnsw_msg *m, const struct dnsw_rr *rr, struct qw_addr *a);
/* The address named by a reverse-mapping name: "d.c.b.a.in-addr.arpa" (RFC 1035 s.3.5) or 32
 * nibbles then "ip6.arpa" (RFC 3596 s.2.5). Case-insensitive. */
bool dnsw_reverse_addr(const char *name, size_t n, struct qw_addr *a);

/* ---- Helpers shared by the naming and addressing parsers ----------------------------------- */

/* The packet's source and destination addresses (NULL without a packet, e.g. in unit tests). */
const struct qw_addr *dnsw_pkt_src(const struct qw_pctx *ctx);
const struct qw_addr *dnsw_pkt_dst(const struct qw_pctx *ctx);
/* The packet went to a group: an IPv4 multicast or limited-broadcast address, an IPv6
 * multicast address, or a multicast/broadcast MAC (which also covers subnet broadcasts, whose
 * IP address alone does not say so). Such a request is never answered inside its own flow: the
 * answer comes from another address, hence another flow. */
bool dnsw_dst_is_group(const struct qw_pctx *ctx);
bool dnsw_addr_is_unspecified(const struct qw_addr *a);
bool dnsw_addr_equal(const struct qw_addr *a, const struct qw_addr *b);

/* Identity facts already emitted in this flow, so that announcements repeated every few
 * seconds give one asset record per flow rather than hundreds. A small ring of hashes: a
 * forgotten fact is simply emitted again. */
#define DNSW_MEMO_MAX 16
struct dnsw_memo {
    uint32_t h[DNSW_MEMO_MAX];
    uint8_t next, n;
};

/* qw_emit_identity() once per (end, attribute, value) per flow. Empty values are dropped. */
void dnsw_emit_identity_once(struct qw_pctx *ctx, struct dnsw_memo *memo, bool server,
                             const char *attr, const char *value, size_t len);

/* Length of v without trailing NULs and spaces (padding of fixed-width fields). */
size_t dnsw_trim(const char *v, size_t n);

/* Pairing of requests with responses through a bounded queue of raw requests, shared by the
 * parsers whose requests are small (DNS-family queries, NBNS). Each slot keeps the request's
 * first DNSW_SLOT_RAW_MAX bytes, the direction it travelled and its time. */
#define DNSW_SLOT_RAW_MAX (DNSW_HDR_LEN + DNSW_NAME_WIRE_MAX + 4 + 1)
#define DNSW_QUEUE_MAX 8

struct dnsw_slot {
    bool used;
    uint8_t dir;
    uint16_t id;
    uint16_t raw_len;
    uint32_t seq;
    uint64_t ts_ns;
    struct dnsw_header orig; /* the counts of the message as sent */
    bool has_opt, edns_do;
    uint16_t edns_udp_size;
    uint8_t edns_version;
    uint8_t raw[DNSW_SLOT_RAW_MAX];
};

struct dnsw_queue {
    struct dnsw_slot slot[DNSW_QUEUE_MAX];
    uint32_t next_seq;
    uint8_t n;
    bool full_reported;
};

/* The oldest used slot, or NULL. */
struct dnsw_slot *dnsw_queue_oldest(struct dnsw_queue *q);
/* A free slot, with the next arrival number. The caller fills it, sets `used` and counts it in
 * `n` (dnsw_queue_release undoes both). NULL when the queue is full: the caller flushes the
 * oldest first. */
struct dnsw_slot *dnsw_queue_free_slot(struct dnsw_queue *q);
void dnsw_queue_release(struct dnsw_queue *q, struct dnsw_slot *s);

/* Keep message m (a DNS-format query, decoded from its bytes) in slot s: the whole message when
 * it fits, else the header and first question with the counts rewritten (short form). */
void dnsw_slot_store(struct dnsw_slot *s, const struct dnsw_msg *m, enum qw_dir dir, uint64_t ts);
/* Decode a stored query back, restoring the original counts and EDNS values. */
void dnsw_slot_decode(const struct dnsw_slot *s, struct dnsw_msg *m);

/* ---- The DNS family: DNS, mDNS and LLMNR messages (implemented in dns.c) ------------------- */

enum dnsf_kind { DNSF_DNS, DNSF_MDNS, DNSF_LLMNR };

struct dnsf_state;

/* What differs between the three parsers. */
struct dnsf_proto {
    enum dnsf_kind kind;
    enum dnsw_style style;
    const char *anomaly_malformed;   /* "<name>.malformed" */
    const char *anomaly_loop;        /* "<name>.compression_loop" */
    const char *anomaly_queue_full;  /* "<name>.request_queue_full" */
    /* Identity facts from a response (NULL: none). */
    void (*identity)(struct qw_pctx *ctx, struct dnsf_state *st, enum qw_dir dir,
                     const struct dnsw_msg *m);
};

/* Per-flow state of the three parsers. */
struct dnsf_state {
    struct dnsw_queue queue; /* queries waiting for their response */
    struct dnsw_memo memo;   /* identity facts already emitted */
    bool resync[2];          /* DNS over TCP: looking for a message boundary after a gap */
};

/* Probe one whole message (a UDP payload): header flags sane for `kind`, counts that fit the
 * length, every question and record parsed, nothing left over. */
enum qw_probe_result dnsf_probe_message(const uint8_t *b, size_t len, enum dnsf_kind kind);
/* One message: decoded, paired, emitted; anomalies for malformed parts. */
void dnsf_message(struct qw_pctx *ctx, struct dnsf_state *st, const struct dnsf_proto *p,
                  enum qw_dir dir, const uint8_t *b, size_t len);
/* Flush the queries still waiting, as unanswered. */
void dnsf_flush(struct qw_pctx *ctx, struct dnsf_state *st, const struct dnsf_proto *p);

#endif
