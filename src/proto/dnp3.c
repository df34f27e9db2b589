/* DNP3 application parser (over TCP and UDP).
 *
 * Specification: IEEE Std 1815-2012, "IEEE Standard for Electric Power Systems Communications -
 * Distributed Network Protocol (DNP3)" (sections are named rather than numbered below):
 *   clause 9   data link layer: frame format, control octet, function codes, CRC, addresses
 *   clause 8   transport function: the one-octet header, FIR/FIN/SEQ, reassembly rules
 *   clause 4   application layer: fragment header, application control, function codes,
 *              internal indications (IIN), object headers (qualifier: prefix and range codes)
 *   clause 7   Secure Authentication (function codes 32, 33, 131; objects of group 120)
 *   Annex A    the object library: sizes and layouts per group and variation (the tables are
 *              in dnp3_tables.c)
 *   IP networking: DNP3 frames carried unchanged over TCP or UDP, port 20000.
 *
 * Link frame (data link layer, frame format), little-endian addresses:
 *
 *   offset size meaning
 *   ------ ---- --------------------------------------------------------------------------
 *        0    2 start octets 0x05 0x64
 *        2    1 LEN: octets of CTRL + DEST + SRC + user data, without CRCs (5..255)
 *        3    1 CTRL: DIR(7) PRM(6) FCB(5) FCV/DFC(4) function code(3..0)
 *        4    2 destination address
 *        6    2 source address
 *        8    2 CRC of octets 0..7
 *       10  ... user data (LEN - 5 octets) in blocks of 16 octets, each followed by its CRC;
 *               the last block holds the remaining 1..16 octets and its CRC
 *
 * The frame's first user-data octet is the transport header: FIN(7) FIR(6) SEQ(5..0).
 * Segments of one message are reassembled in a bounded buffer per direction; a segment out of
 * sequence, a frame lost to a bad CRC or a TCP gap discards the partial message (anomaly).
 *
 * Application fragment: application control FIR(7) FIN(6) CON(5) UNS(4) SEQ(3..0),
 * function code, then (responses 129/130/131 only) two IIN octets, then object headers: group,
 * variation, qualifier (prefix code bits 6..4, range code bits 3..0), range, and the objects.
 * Requests that only name points (read, freeze, assign class...) carry headers and index prefixes
 * without object data; writes, controls, file and authentication requests and all responses carry
 * data. Object sizes come from the object library table; an object whose size is not known stops
 * the header walk, and the record says so (`objects_complete` false) rather than guessing.
 *
 * Pairing (application control, sequence numbers): a solicited response carries the sequence
 * number of the request it answers, and goes from the request's destination address back to its
 * source; requests wait in a small queue per flow keyed by (sequence, master, outstation). A
 * master has at most one request outstanding per outstation, so a new request to the same
 * outstation reports the older one unanswered. Unsolicited responses (130) and continuation
 * fragments (FIR clear) of a multi-fragment response are transactions of their own without a
 * request; confirmations, "no ack" requests and broadcasts expect no response and are emitted at
 * once. Requests and responses are told apart by function code, not by TCP direction:
 * outstations may open the connection ("dual endpoint"), which makes them the flow's client.
 *
 * Outcomes are kept apart (DESIGN.md, practice 3): a frame with a bad CRC, a broken transport
 * sequence or a malformed object header is an anomaly; a fragment cut short or over-long is
 * still reported (`truncated`); an unknown function code or object is reported as such. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/dnp3_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits and wire constants, each with its source --------------------------------------- */

#define D3_PORT 20000          /* IANA "dnp", the standard's IP port */
#define D3_START_0 0x05        /* link frame start octets */
#define D3_START_1 0x64
#define D3_HDR_LEN 10          /* start(2) LEN(1) CTRL(1) DEST(2) SRC(2) CRC(2) */
#define D3_HDR_CRC_LEN 8       /* the header octets the header CRC covers */
#define D3_LEN_MIN 5           /* CTRL + DEST + SRC, no user data */
#define D3_BLOCK 16            /* user-data octets per CRC block */
#define D3_CRC_LEN 2
#define D3_USER_MAX (255 - D3_LEN_MIN) /* 250: one transport octet + 249 application octets */

/* Largest application fragment reassembled: 2048 octets, the application layer's maximum
 * fragment size (outstations advertise their own, smaller or equal, in g0v240/241). Longer
 * messages are still followed to their last segment and reported as truncated with
 * `dnp3.fragment_too_long`, so a write of many points is not invisible. One buffer per
 * direction: 4 KiB of the per-flow state. */
#define D3_FRAGMENT_MAX 2048

/* Outstanding requests per flow: one per outstation behind this connection (a master keeps at
 * most one request outstanding per outstation). Four covers a gateway polling a few devices;
 * past it the oldest is reported unanswered. Each slot is one decoded request (~1 KiB). */
#define D3_QUEUE_MAX 4

/* What one record keeps of a fragment (the counts say how many there were in all). */
#define D3_OBJ_MAX 32        /* object headers listed (18 seen in one opendnp3 response) */
#define D3_POINTS_MAX 8      /* CROB (g12) and analog output (g41) objects listed */
#define D3_FILES_MAX 4       /* g70 file objects */
#define D3_AUTH_MAX 4        /* g120 authentication objects */
#define D3_FILE_NAME_MAX 64  /* file name bytes kept */

/* Link control octet; bits 5-4 (FCB/FCV, DFC) only matter to the link's own
 * retries and flow control. */
#define D3_LC_DIR 0x80u      /* 1: sent by a master */
#define D3_LC_PRM 0x40u      /* 1: primary (initiating) frame */
#define D3_LC_FUNC 0x0Fu
#define D3_LINK_CONFIRMED_DATA 3
#define D3_LINK_UNCONFIRMED_DATA 4

/* Transport header. */
#define D3_TH_FIN 0x80u
#define D3_TH_FIR 0x40u
#define D3_TH_SEQ 0x3Fu

/* Application control octet. */
#define D3_AC_FIR 0x80u
#define D3_AC_FIN 0x40u
#define D3_AC_CON 0x20u
#define D3_AC_UNS 0x10u
#define D3_AC_SEQ 0x0Fu

#define D3_FC_WRITE 2
#define D3_FC_UNSOLICITED 130

/* Destinations 0xFFFD-0xFFFF are broadcast addresses: outstations do not answer them. */
#define D3_ADDR_BROADCAST_MIN 0xFFFDu

/* IIN bits (IIN1 in the high octet, as sent first) that say this request failed: IIN2.0 no
 * function code support, IIN2.1 object unknown, IIN2.2 parameter error, IIN2.4 already
 * executing. The others report device state, not the outcome of the request. */
#define D3_IIN_ERROR_MASK 0x0017u

/* Object groups with values decoded into the record. */
#define D3_G_ATTRIBUTE 0
#define D3_G_CROB 12
#define D3_G_DEADBAND 34
#define D3_G_ANALOG_OUTPUT 41
#define D3_G_TIME 50
#define D3_G_TIME_DELAY 52
#define D3_G_FILE 70
#define D3_G_AUTH 120

/* g0 attribute data type codes (Annex A, group 0): visible string, and the list type whose length
 * counts two-octet entries. */
#define D3_ATTR_VSTR 1
#define D3_ATTR_LIST 254

/* ---- Decoded fragment ---------------------------------------------------------------------- */

enum d3_range_kind { D3_RANGE_START_STOP, D3_RANGE_COUNT, D3_RANGE_ALL, D3_RANGE_INVALID };

struct d3_objhdr {
    uint8_t group, variation, qualifier;
    uint8_t kind; /* d3_range_kind */
    uint32_t start, stop; /* start/stop, or stop = count */
};

/* Why the object header walk ended before the end of the fragment. */
enum d3_walk {
    D3_WALK_COMPLETE = 0,
    D3_WALK_UNKNOWN_SIZE,     /* an object whose size the library table does not give */
    D3_WALK_MALFORMED,        /* a header or object that breaks the encoding (anomaly) */
    D3_WALK_TRUNCATED,        /* the fragment was cut at D3_FRAGMENT_MAX */
    D3_WALK_UNKNOWN_FUNCTION, /* no defined function: its objects are not interpreted */
};

static const char *const d3_walk_names[] = {
    [D3_WALK_COMPLETE] = "complete",
    [D3_WALK_UNKNOWN_SIZE] = "unknown_object_size",
    [D3_WALK_MALFORMED] = "malformed",
    [D3_WALK_TRUNCATED] = "fragment_truncated",
    [D3_WALK_UNKNOWN_FUNCTION] = "unknown_function",
};

/* One control relay output block (g12v1/v2) or analog output block (g41). */
struct d3_point {
    uint8_t group, variation;
    bool has_index;
    bool is_float;
    uint32_t index;
    uint8_t code, count, status;
    uint32_t on_ms, off_ms;
    int64_t ival;
    double fval;
};

enum d3_file_field {
    D3_FF_NAME = 1u << 0, D3_FF_MODE = 1u << 1, D3_FF_HANDLE = 1u << 2, D3_FF_STATUS = 1u << 3,
    D3_FF_BLOCK = 1u << 4, D3_FF_SIZE = 1u << 5, D3_FF_REQUEST_ID = 1u << 6,
};

struct d3_file {
    uint8_t variation;
    uint8_t fields; /* d3_file_field */
    uint8_t status;
    bool last_block;
    uint16_t mode, request_id;
    uint32_t handle, block, size;
    uint8_t name_len;
    char name[D3_FILE_NAME_MAX];
};

enum d3_auth_field {
    D3_AF_CSQ = 1u << 0, D3_AF_KSQ = 1u << 1, D3_AF_USER = 1u << 2, D3_AF_ERROR = 1u << 3,
    D3_AF_KEY_STATUS = 1u << 4, D3_AF_MAC_ALG = 1u << 5, D3_AF_REASON = 1u << 6,
    D3_AF_ASSOC = 1u << 7,
};

struct d3_auth {
    uint8_t variation;
    uint8_t fields; /* d3_auth_field */
    uint8_t code;   /* error code (v7), key status (v5) */
    uint8_t mac_alg, reason;
    uint16_t user, assoc;
    uint32_t seq;   /* challenge (CSQ) or key change (KSQ) sequence number */
};

struct d3_apdu {
    bool valid;          /* at least the application control and function code were present */
    bool response;
    bool truncated;      /* fragment cut: over D3_FRAGMENT_MAX, or shorter than its header */
    bool error;
    uint8_t link_ctrl;
    uint16_t src, dst;
    uint16_t segments;
    uint32_t length;     /* fragment octets as sent (may exceed what was kept) */
    uint8_t ac, fc;
    bool has_iin;
    uint16_t iin;        /* IIN1 << 8 | IIN2 */
    uint8_t walk;        /* d3_walk */
    uint8_t nobj;
    uint16_t nobj_total;
    uint8_t npoints, nfiles, nauth;
    uint16_t npoints_total;
    bool has_time, has_delay;
    uint64_t time_ms;    /* g50: milliseconds since 1970-01-01 UTC */
    uint32_t delay_ms;   /* g52 */
    uint32_t ops;
    uint64_t ts_ns;
    struct d3_objhdr obj[D3_OBJ_MAX];
    struct d3_point points[D3_POINTS_MAX];
    struct d3_file files[D3_FILES_MAX];
    struct d3_auth auth[D3_AUTH_MAX];
};

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct d3_reasm {
    bool active;
    bool overflow;       /* more octets than D3_FRAGMENT_MAX: only the first ones are kept */
    uint8_t seq;         /* transport sequence of the last accepted segment */
    uint8_t link_ctrl;
    uint16_t src, dst;
    uint16_t segments;
    uint16_t len;
    uint32_t total;
    uint64_t ts_ns;      /* time of the first segment */
    uint8_t buf[D3_FRAGMENT_MAX];
};

struct d3_slot {
    bool used;
    uint32_t order;
    struct d3_apdu req;
};

struct d3_view {
    const struct d3_apdu *req, *rsp;
};

/* The last confirmed-user-data frame of a direction, to recognise a link-layer retry: the
 * same frame sent again because its link ACK was lost (data link layer, frame count bit: a
 * secondary ignores a confirmed frame whose FCB did not toggle, and an identical frame has the
 * same FCB). */
struct d3_last_frame {
    bool valid;
    uint8_t ctrl;
    uint16_t src, dst;
    uint16_t user_len;
    uint16_t user_crc;
};

struct d3_state {
    bool resync[2];      /* per direction: skipping bytes to the next valid link header */
    struct d3_last_frame last_confirmed[2];
    bool queue_full_reported;
    uint32_t next_order;
    struct d3_reasm rx[2];
    struct d3_slot queue[D3_QUEUE_MAX];
    struct d3_apdu scratch; /* the fragment being decoded */
    struct d3_view view;
};

static unsigned d3_dir_index(enum qw_dir dir)
{
    return dir == QW_DIR_TO_CLIENT ? 1u : 0u;
}

/* ---- Link layer ---------------------------------------------------------------------------- */

enum d3_hdr { D3_HDR_OK, D3_HDR_SHORT, D3_HDR_BAD_START, D3_HDR_BAD_LENGTH, D3_HDR_BAD_CRC };

static const char *d3_link_name(uint8_t ctrl)
{
    uint8_t fn = ctrl & D3_LC_FUNC;
    return (ctrl & D3_LC_PRM) ? qw_dnp3_link_primary[fn] : qw_dnp3_link_secondary[fn];
}

/* Frame octets on the wire for a LEN octet of `len` (>= 5). */
static size_t d3_frame_size(uint8_t len)
{
    size_t user = (size_t)len - D3_LEN_MIN;
    return D3_HDR_LEN + user + D3_CRC_LEN * ((user + D3_BLOCK - 1) / D3_BLOCK);
}

/* Check the link header at `b`. SHORT only while the octets so far are a valid prefix. */
static enum d3_hdr d3_header(const uint8_t *b, size_t n)
{
    if (n >= 1 && b[0] != D3_START_0) return D3_HDR_BAD_START;
    if (n >= 2 && b[1] != D3_START_1) return D3_HDR_BAD_START;
    if (n >= 3 && b[2] < D3_LEN_MIN) return D3_HDR_BAD_LENGTH;
    if (n < D3_HDR_LEN) return D3_HDR_SHORT;
    struct qw_cursor c = qw_cursor_make(b + D3_HDR_CRC_LEN, D3_CRC_LEN);
    uint16_t crc = qw_cur_le16(&c);
    if (crc != qw_dnp3_crc(b, D3_HDR_CRC_LEN)) return D3_HDR_BAD_CRC;
    return D3_HDR_OK;
}

struct d3_frame {
    uint8_t ctrl;
    uint16_t dst, src;
    size_t user_len;
    uint8_t user[D3_USER_MAX];
};

/* Copy a complete frame's user data out of its CRC blocks. `b` holds the whole frame (its size
 * from d3_frame_size). Returns false when a block's CRC is wrong. */
static bool d3_frame_read(const uint8_t *b, size_t n, struct d3_frame *f)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    qw_cur_skip(&c, 2);
    uint8_t len = qw_cur_u8(&c);
    f->ctrl = qw_cur_u8(&c);
    f->dst = qw_cur_le16(&c);
    f->src = qw_cur_le16(&c);
    qw_cur_skip(&c, D3_CRC_LEN);
    f->user_len = 0;
    size_t user = len >= D3_LEN_MIN ? (size_t)len - D3_LEN_MIN : 0;
    while (user > 0 && !c.err) {
        size_t k = user < D3_BLOCK ? user : D3_BLOCK;
        const uint8_t *blk = qw_cur_take(&c, k);
        uint16_t crc = qw_cur_le16(&c);
        if (c.err) return false;
        if (crc != qw_dnp3_crc(blk, k)) return false;
        memcpy(f->user + f->user_len, blk, k);
        f->user_len += k;
        user -= k;
    }
    return !c.err;
}

/* ---- Object decoding ----------------------------------------------------------------------- */

struct d3_dec {
    struct qw_cursor c;
    struct d3_apdu *a;
    struct qw_pctx *ctx;
    bool server;  /* the sender is the flow's server end (for identity facts) */
    bool data;    /* objects carry data, not only headers and index prefixes */
};

/* End the walk: the header or object at the cursor cannot be used. */
static bool d3_stop(struct d3_dec *d, enum d3_walk why, const char *anomaly, const char *detail)
{
    d->a->walk = (uint8_t)why;
    if (anomaly && d->ctx) qw_emit_anomaly(d->ctx, anomaly, detail);
    return false;
}

/* End the walk because the fragment ended inside a header or object. When we cut the fragment
 * (over D3_FRAGMENT_MAX) that is our bound, not the sender's error. */
static bool d3_stop_short(struct d3_dec *d, const char *what)
{
    if (d->a->length > D3_FRAGMENT_MAX) return d3_stop(d, D3_WALK_TRUNCATED, NULL, NULL);
    return d3_stop(d, D3_WALK_MALFORMED, "dnp3.truncated_object", what);
}

static uint32_t d3_read_uint(struct qw_cursor *c, unsigned width)
{
    switch (width) {
    case 1: return qw_cur_u8(c);
    case 2: return qw_cur_le16(c);
    default: return qw_cur_le32(c);
    }
}

/* The 48-bit DNP3 time of the object library: milliseconds since 1970-01-01 00:00 UTC. */
static uint64_t d3_time48(struct qw_cursor *c)
{
    uint64_t lo = qw_cur_le32(c);
    uint64_t hi = qw_cur_le16(c);
    return hi << 32 | lo;
}

static struct d3_point *d3_new_point(struct d3_apdu *a)
{
    a->npoints_total++;
    if (a->npoints >= D3_POINTS_MAX) return NULL;
    struct d3_point *p = &a->points[a->npoints++];
    memset(p, 0, sizeof *p);
    return p;
}

/* g12v1/v2 CROB (Annex A, group 12): control code, count, on-time, off-time (ms), status. */
static void d3_value_crob(struct d3_apdu *a, uint8_t v, bool has_index, uint32_t index,
                          struct qw_cursor *c)
{
    struct d3_point *p = d3_new_point(a);
    if (!p) return;
    p->group = D3_G_CROB;
    p->variation = v;
    p->has_index = has_index;
    p->index = index;
    p->code = qw_cur_u8(c);
    p->count = qw_cur_u8(c);
    p->on_ms = qw_cur_le32(c);
    p->off_ms = qw_cur_le32(c);
    p->status = qw_cur_u8(c) & 0x7Fu; /* bit 7 reserved */
}

/* g41 analog output block (Annex A, group 41): value (int32, int16, float32 or float64) then
 * status. */
static void d3_value_aob(struct d3_apdu *a, uint8_t v, bool has_index, uint32_t index,
                         struct qw_cursor *c)
{
    struct d3_point *p = d3_new_point(a);
    if (!p) return;
    p->group = D3_G_ANALOG_OUTPUT;
    p->variation = v;
    p->has_index = has_index;
    p->index = index;
    switch (v) {
    case 1: p->ival = (int32_t)qw_cur_le32(c); break;
    case 2: p->ival = (int16_t)qw_cur_le16(c); break;
    case 3: {
        uint32_t bits = qw_cur_le32(c);
        float f;
        memcpy(&f, &bits, sizeof f);
        p->is_float = true;
        p->fval = f;
        break;
    }
    default: {
        uint64_t bits = qw_cur_le64(c);
        memcpy(&p->fval, &bits, sizeof p->fval);
        p->is_float = true;
        break;
    }
    }
    p->status = qw_cur_u8(c) & 0x7Fu;
}

/* Copy a file name (bounded) out of `c` at `off` (from the object start) for `n` octets. */
static void d3_file_name(struct d3_file *f, const uint8_t *obj, size_t size, size_t off,
                         size_t n)
{
    if (off > size || n > size - off) return; /* the name lies outside the object */
    if (n > sizeof f->name) n = sizeof f->name;
    memcpy(f->name, obj + off, n);
    f->name_len = (uint8_t)n;
    f->fields |= D3_FF_NAME;
}

/* g70 file-control objects (Annex A, group 70). Offsets inside the object are from its first
 * octet. */
static void d3_value_file(struct d3_apdu *a, uint8_t v, const uint8_t *obj, size_t size)
{
    if (a->nfiles >= D3_FILES_MAX) return;
    struct d3_file *f = &a->files[a->nfiles];
    memset(f, 0, sizeof *f);
    f->variation = v;
    struct qw_cursor c = qw_cursor_make(obj, size);
    switch (v) {
    case 3: { /* file command: name offset, name size, created, permissions, auth key, size,
               * mode, max block size, request id, name */
        uint16_t noff = qw_cur_le16(&c), nlen = qw_cur_le16(&c);
        qw_cur_skip(&c, 6 + 2 + 4);
        f->size = qw_cur_le32(&c);
        f->mode = qw_cur_le16(&c);
        qw_cur_skip(&c, 2);
        f->request_id = qw_cur_le16(&c);
        if (!c.err) f->fields |= D3_FF_SIZE | D3_FF_MODE | D3_FF_REQUEST_ID;
        d3_file_name(f, obj, size, noff, nlen);
        break;
    }
    case 4: /* file command status: handle, size, max block size, request id, status */
        f->handle = qw_cur_le32(&c);
        f->size = qw_cur_le32(&c);
        qw_cur_skip(&c, 2);
        f->request_id = qw_cur_le16(&c);
        f->status = qw_cur_u8(&c);
        if (!c.err) f->fields |= D3_FF_HANDLE | D3_FF_SIZE | D3_FF_REQUEST_ID | D3_FF_STATUS;
        break;
    case 5: { /* file transport: handle, block number (bit 31: last block), data */
        f->handle = qw_cur_le32(&c);
        uint32_t blk = qw_cur_le32(&c);
        f->block = blk & 0x7FFFFFFFu;
        f->last_block = (blk & 0x80000000u) != 0;
        if (!c.err) f->fields |= D3_FF_HANDLE | D3_FF_BLOCK;
        break;
    }
    case 6: { /* file transport status: handle, block number, status */
        f->handle = qw_cur_le32(&c);
        uint32_t blk = qw_cur_le32(&c);
        f->block = blk & 0x7FFFFFFFu;
        f->last_block = (blk & 0x80000000u) != 0;
        f->status = qw_cur_u8(&c);
        if (!c.err) f->fields |= D3_FF_HANDLE | D3_FF_BLOCK | D3_FF_STATUS;
        break;
    }
    case 7: { /* file descriptor: name offset, name size, type, size, created, perms, request
               * id, name */
        uint16_t noff = qw_cur_le16(&c), nlen = qw_cur_le16(&c);
        qw_cur_skip(&c, 2);
        f->size = qw_cur_le32(&c);
        qw_cur_skip(&c, 6 + 2);
        f->request_id = qw_cur_le16(&c);
        if (!c.err) f->fields |= D3_FF_SIZE | D3_FF_REQUEST_ID;
        d3_file_name(f, obj, size, noff, nlen);
        break;
    }
    case 8: /* file specification string: the whole object is the name */
        d3_file_name(f, obj, size, 0, size);
        break;
    default: break;
    }
    a->nfiles++;
}

/* g120 Secure Authentication objects (clause 7, Annex A group 120): the identifying fields of
 * each. */
static void d3_value_auth(struct d3_apdu *a, uint8_t v, const uint8_t *obj, size_t size)
{
    if (a->nauth >= D3_AUTH_MAX) return;
    struct d3_auth *x = &a->auth[a->nauth++];
    memset(x, 0, sizeof *x);
    x->variation = v;
    struct qw_cursor c = qw_cursor_make(obj, size);
    switch (v) {
    case 1: /* challenge: CSQ, user, MAC algorithm, reason, challenge data */
        x->seq = qw_cur_le32(&c);
        x->user = qw_cur_le16(&c);
        x->mac_alg = qw_cur_u8(&c);
        x->reason = qw_cur_u8(&c);
        if (!c.err) x->fields = D3_AF_CSQ | D3_AF_USER | D3_AF_MAC_ALG | D3_AF_REASON;
        break;
    case 2: /* reply: CSQ, user, MAC */
    case 3: /* aggressive mode request: CSQ, user */
        x->seq = qw_cur_le32(&c);
        x->user = qw_cur_le16(&c);
        if (!c.err) x->fields = D3_AF_CSQ | D3_AF_USER;
        break;
    case 4: /* session key status request: user */
        x->user = qw_cur_le16(&c);
        if (!c.err) x->fields = D3_AF_USER;
        break;
    case 5: /* session key status: KSQ, user, key wrap algorithm, key status, MAC algorithm */
        x->seq = qw_cur_le32(&c);
        x->user = qw_cur_le16(&c);
        qw_cur_skip(&c, 1);
        x->code = qw_cur_u8(&c);
        x->mac_alg = qw_cur_u8(&c);
        if (!c.err) x->fields = D3_AF_KSQ | D3_AF_USER | D3_AF_KEY_STATUS | D3_AF_MAC_ALG;
        break;
    case 6: /* session key change: KSQ, user, wrapped keys */
        x->seq = qw_cur_le32(&c);
        x->user = qw_cur_le16(&c);
        if (!c.err) x->fields = D3_AF_KSQ | D3_AF_USER;
        break;
    case 7: /* error: CSQ, user, association id, error code, time, text */
        x->seq = qw_cur_le32(&c);
        x->user = qw_cur_le16(&c);
        x->assoc = qw_cur_le16(&c);
        x->code = qw_cur_u8(&c);
        if (!c.err) x->fields = D3_AF_CSQ | D3_AF_USER | D3_AF_ASSOC | D3_AF_ERROR;
        break;
    default: break; /* certificates, MACs and update-key objects: the variation says enough */
    }
}

/* g0 device attribute in a response: a visible string attribute that names the device is an
 * identity fact about its sender (Annex A, group 0). */
static void d3_value_attribute(struct d3_dec *d, uint8_t v, uint8_t type, const uint8_t *val,
                               size_t n)
{
    if (!d->ctx || !d->a->response || type != D3_ATTR_VSTR || n == 0) return;
    const char *attr = qw_dnp3_attribute_identity(v);
    if (!attr) return;
    while (n > 0 && (val[n - 1] == 0 || val[n - 1] == ' ')) n--; /* trim padding */
    if (n > 0) qw_emit_identity(d->ctx, d->server, attr, (const char *)val, n);
}

/* One object's value, for the groups the record shows: `obj` holds exactly its `size` octets. */
static void d3_value(struct d3_dec *d, uint8_t g, uint8_t v, bool has_index, uint32_t index,
                     const uint8_t *obj, size_t size)
{
    struct d3_apdu *a = d->a;
    struct qw_cursor c = qw_cursor_make(obj, size);
    switch (g) {
    case D3_G_CROB:
        if (v == 1 || v == 2) d3_value_crob(a, v, has_index, index, &c);
        break;
    case D3_G_ANALOG_OUTPUT:
        if (v >= 1 && v <= 4) d3_value_aob(a, v, has_index, index, &c);
        break;
    case D3_G_TIME:
        if (v >= 1 && v <= 4 && !a->has_time) {
            a->time_ms = d3_time48(&c);
            a->has_time = !c.err;
        }
        break;
    case D3_G_TIME_DELAY:
        if (!a->has_delay) {
            uint16_t t = qw_cur_le16(&c);
            a->delay_ms = v == 1 ? (uint32_t)t * 1000u : t; /* v1 coarse (s), v2 fine (ms) */
            a->has_delay = !c.err;
        }
        break;
    case D3_G_FILE: d3_value_file(a, v, obj, size); break;
    case D3_G_AUTH: d3_value_auth(a, v, obj, size); break;
    default: break;
    }
}

static void d3_add_header(struct d3_apdu *a, const struct d3_objhdr *h)
{
    if (a->nobj_total < UINT16_MAX) a->nobj_total++;
    if (a->nobj < D3_OBJ_MAX) a->obj[a->nobj++] = *h;
}

/* Walk one object header and its objects. Returns false when the walk must stop. */
static bool d3_object(struct d3_dec *d)
{
    struct qw_cursor *c = &d->c;
    struct d3_apdu *a = d->a;
    if (!qw_cur_has(c, 3))
        return d3_stop_short(d, "object header");
    struct d3_objhdr h = {0};
    h.group = qw_cur_u8(c);
    h.variation = qw_cur_u8(c);
    h.qualifier = qw_cur_u8(c);
    unsigned prefix = (h.qualifier >> 4) & 0x7u, range = h.qualifier & 0x0Fu;
    uint64_t count = 0;
    bool indexed_range = false;
    if (range <= 5) {
        /* 0-2: start/stop of 1, 2 or 4 octets; 3-5: the same as virtual addresses (obsolete) */
        unsigned width = 1u << (range % 3);
        h.kind = D3_RANGE_START_STOP;
        h.start = d3_read_uint(c, width);
        h.stop = d3_read_uint(c, width);
        indexed_range = true;
    } else if (range == 6) {
        h.kind = D3_RANGE_ALL;
    } else if (range >= 7 && range <= 9) {
        h.kind = D3_RANGE_COUNT;
        h.stop = d3_read_uint(c, 1u << (range - 7));
    } else if (range == 0xB) {
        /* one-octet count of objects each preceded by a size or index prefix */
        h.kind = D3_RANGE_COUNT;
        h.stop = qw_cur_u8(c);
    } else {
        h.kind = D3_RANGE_INVALID;
    }
    if (c->err) {
        h.kind = D3_RANGE_INVALID;
        d3_add_header(a, &h);
        return d3_stop_short(d, "range field");
    }
    d3_add_header(a, &h);
    if (h.kind == D3_RANGE_INVALID || (h.qualifier & 0x80u) || prefix == 7)
        return d3_stop(d, D3_WALK_MALFORMED, "dnp3.invalid_qualifier", NULL);
    if (h.kind == D3_RANGE_ALL) return true; /* "all points": nothing follows the header */
    if (h.kind == D3_RANGE_START_STOP) {
        if (h.stop < h.start) return d3_stop(d, D3_WALK_MALFORMED, "dnp3.invalid_range", NULL);
        count = (uint64_t)h.stop - h.start + 1;
    } else {
        count = h.stop;
    }
    if (count == 0) return true;

    uint8_t size = qw_dnp3_object_size(h.group, h.variation);
    if (size == QW_DNP3_SZ_NONE) return true;
    bool size_prefixed = prefix >= 4 && prefix <= 6;
    unsigned prefix_width = prefix == 0 ? 0 : 1u << ((prefix - 1) % 3);
    /* Variation 0 ("any variation") only names points (object headers): never object data, even in
     * a function whose other objects carry data (freeze at time: g50v2, then g20v0 ranges). */
    if ((!d->data || h.variation == 0) && !size_prefixed) {
        /* Headers only: what follows is the index prefixes, if any. */
        uint64_t skip = count * prefix_width;
        if (skip > qw_cur_left(c))
            return d3_stop_short(d, "index prefixes");
        qw_cur_skip(c, (size_t)skip);
        return true;
    }
    if (size == QW_DNP3_SZ_BITS1 || size == QW_DNP3_SZ_BITS2) {
        /* Packed points: one block of bits for the whole range, never prefixed. */
        if (prefix != 0) return d3_stop(d, D3_WALK_UNKNOWN_SIZE, NULL, NULL);
        uint64_t bits = count * (size == QW_DNP3_SZ_BITS1 ? 1u : 2u);
        uint64_t bytes = (bits + 7) / 8;
        if (bytes > qw_cur_left(c))
            return d3_stop_short(d, "packed points");
        qw_cur_skip(c, (size_t)bytes);
        return true;
    }
    if (!size_prefixed && size == QW_DNP3_SZ_UNKNOWN)
        return d3_stop(d, D3_WALK_UNKNOWN_SIZE, NULL, NULL);

    /* Every object below consumes at least one octet (a prefix, a type octet or a fixed size
     * of one or more), so the loop ends with the fragment whatever `count` claims. */
    for (uint64_t i = 0; i < count; i++) {
        if (qw_cur_left(c) == 0)
            return d3_stop_short(d, "fewer objects");
        bool has_index = indexed_range;
        uint32_t index = indexed_range ? (uint32_t)(h.start + i) : (uint32_t)i;
        if (prefix >= 1 && prefix <= 3) {
            index = d3_read_uint(c, prefix_width);
            has_index = true;
        }
        size_t osz;
        uint8_t attr_type = 0;
        if (size_prefixed) {
            osz = d3_read_uint(c, prefix_width);
        } else if (size == QW_DNP3_SZ_ATTRIBUTE) {
            attr_type = qw_cur_u8(c);
            osz = qw_cur_u8(c);
            if (attr_type == D3_ATTR_LIST) osz *= 2;
        } else if (size == QW_DNP3_SZ_VARIATION) {
            osz = h.variation;
        } else {
            osz = size;
        }
        if (c->err || osz > qw_cur_left(c))
            return d3_stop_short(d, "object data");
        const uint8_t *obj = qw_cur_take(c, osz);
        if (!obj) obj = (const uint8_t *)""; /* osz == 0 */
        if (h.group == D3_G_ATTRIBUTE) {
            d3_value_attribute(d, h.variation, attr_type, obj, osz);
        } else {
            d3_value(d, h.group, h.variation, has_index, index, obj, osz);
        }
    }
    return true;
}

/* ---- Application layer --------------------------------------------------------------------- */

static const char *d3_function_name(uint8_t fc)
{
    const char *n = qw_dnp3_funcs[fc].name;
    return n ? n : "unknown";
}

/* Operation classes of a fragment: its function's, plus what its objects say (see the function
 * table in dnp3_tables.c): file-control objects (g70) make a read or write a file transfer, and
 * a write of time (g50) sets the clock, of deadbands (g34) or device attributes (g0) changes
 * configuration. Responses take their class from the request. */
static uint32_t d3_ops(const struct d3_apdu *a)
{
    uint32_t ops = qw_dnp3_funcs[a->fc].ops;
    if (a->response) return ops;
    for (unsigned i = 0; i < a->nobj; i++) {
        uint8_t g = a->obj[i].group;
        if (g == D3_G_FILE) ops |= QW_OP_FILE;
        if (a->fc != D3_FC_WRITE) continue;
        if (g == D3_G_TIME) ops |= QW_OP_TIMESYNC;
        if (g == D3_G_DEADBAND || g == D3_G_ATTRIBUTE) ops |= QW_OP_CONFIG;
    }
    return ops;
}

/* Does this response report that its request failed? IIN error bits, a control that was not
 * executed, a file operation or an authentication that failed. */
static bool d3_failed(const struct d3_apdu *a)
{
    if (!a->response) return false;
    if (a->has_iin && (a->iin & D3_IIN_ERROR_MASK)) return true;
    for (unsigned i = 0; i < a->npoints; i++)
        if (a->points[i].status != 0) return true;
    for (unsigned i = 0; i < a->nfiles; i++)
        if ((a->files[i].fields & D3_FF_STATUS) && a->files[i].status != 0) return true;
    for (unsigned i = 0; i < a->nauth; i++)
        if (a->auth[i].fields & D3_AF_ERROR) return true;
    return false;
}

/* Decode a reassembled fragment into `a`; anomalies and identity facts go to `ctx`. */
static void d3_decode(struct qw_pctx *ctx, struct d3_apdu *a, const struct d3_reasm *r,
                      enum qw_dir dir)
{
    memset(a, 0, sizeof *a);
    a->link_ctrl = r->link_ctrl;
    a->src = r->src;
    a->dst = r->dst;
    a->segments = r->segments;
    a->length = r->total;
    a->ts_ns = r->ts_ns;
    struct d3_dec d = {qw_cursor_make(r->buf, r->len), a, ctx, dir == QW_DIR_TO_CLIENT, false};
    a->ac = qw_cur_u8(&d.c);
    a->fc = qw_cur_u8(&d.c);
    if (d.c.err) {
        qw_emit_anomaly(ctx, "dnp3.fragment_too_short", NULL);
        return;
    }
    a->valid = true;
    const struct qw_dnp3_func *fn = &qw_dnp3_funcs[a->fc];
    a->response = (fn->flags & QW_DNP3_FN_RESPONSE) != 0;
    if (r->overflow) {
        a->truncated = true;
        qw_emit_anomaly(ctx, "dnp3.fragment_too_long", NULL);
    }
    if (a->response) {
        a->iin = qw_cur_be16(&d.c);
        if (d.c.err) {
            a->truncated = true;
            qw_emit_anomaly(ctx, "dnp3.fragment_too_short", d3_function_name(a->fc));
        } else {
            a->has_iin = true;
        }
    }
    if (!fn->name) {
        if (qw_cur_left(&d.c) > 0) a->walk = D3_WALK_UNKNOWN_FUNCTION;
    } else {
        d.data = a->response || (fn->flags & QW_DNP3_FN_DATA);
        while (qw_cur_left(&d.c) > 0 && d3_object(&d)) {
        }
    }
    a->ops = d3_ops(a);
    a->error = d3_failed(a);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void d3_json_objects(struct qw_json *j, const struct d3_apdu *a)
{
    qw_json_arr_begin(j, "objects");
    for (unsigned i = 0; i < a->nobj; i++) {
        const struct d3_objhdr *h = &a->obj[i];
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "group", h->group);
        qw_json_u64(j, "variation", h->variation);
        const char *gn = qw_dnp3_groups[h->group].name;
        qw_json_str(j, "name", gn ? gn : "unknown");
        qw_json_u64(j, "qualifier", h->qualifier);
        switch (h->kind) {
        case D3_RANGE_START_STOP:
            qw_json_u64(j, "start", h->start);
            qw_json_u64(j, "stop", h->stop);
            break;
        case D3_RANGE_COUNT: qw_json_u64(j, "count", h->stop); break;
        case D3_RANGE_ALL: qw_json_bool(j, "all", true); break;
        default: break;
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void d3_json_points(struct qw_json *j, const struct d3_apdu *a, uint8_t group,
                           const char *key)
{
    bool open = false;
    for (unsigned i = 0; i < a->npoints; i++) {
        const struct d3_point *p = &a->points[i];
        if (p->group != group) continue;
        if (!open) qw_json_arr_begin(j, key);
        open = true;
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "variation", p->variation);
        if (p->has_index) qw_json_u64(j, "index", p->index);
        if (group == D3_G_CROB) {
            const char *op = qw_dnp3_crob_op_names[p->code & 0x0Fu];
            qw_json_u64(j, "code", p->code);
            qw_json_str(j, "op_type", op ? op : "unknown");
            qw_json_str(j, "tcc", qw_dnp3_crob_tcc_names[p->code >> 6]);
            qw_json_bool(j, "clear", (p->code & 0x20u) != 0);
            qw_json_bool(j, "queue", (p->code & 0x10u) != 0);
            qw_json_u64(j, "count", p->count);
            qw_json_u64(j, "on_time_ms", p->on_ms);
            qw_json_u64(j, "off_time_ms", p->off_ms);
        } else if (p->is_float) {
            qw_json_double(j, "value", p->fval);
        } else {
            qw_json_i64(j, "value", p->ival);
        }
        qw_json_u64(j, "status", p->status);
        qw_json_str(j, "status_name", qw_dnp3_control_status_name(p->status));
        qw_json_obj_end(j);
    }
    if (open) qw_json_arr_end(j);
}

static void d3_json_files(struct qw_json *j, const struct d3_apdu *a)
{
    qw_json_arr_begin(j, "files");
    for (unsigned i = 0; i < a->nfiles; i++) {
        const struct d3_file *f = &a->files[i];
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "variation", f->variation);
        if (f->fields & D3_FF_NAME) qw_json_strn(j, "name", f->name, f->name_len);
        if (f->fields & D3_FF_MODE) {
            qw_json_u64(j, "mode", f->mode);
            qw_json_str(j, "mode_name", f->mode < 4 ? qw_dnp3_file_mode_names[f->mode]
                                                    : "unknown");
        }
        if (f->fields & D3_FF_HANDLE) qw_json_u64(j, "handle", f->handle);
        if (f->fields & D3_FF_SIZE) qw_json_u64(j, "size", f->size);
        if (f->fields & D3_FF_BLOCK) {
            qw_json_u64(j, "block", f->block);
            qw_json_bool(j, "last_block", f->last_block);
        }
        if (f->fields & D3_FF_REQUEST_ID) qw_json_u64(j, "request_id", f->request_id);
        if (f->fields & D3_FF_STATUS) {
            qw_json_u64(j, "status", f->status);
            qw_json_str(j, "status_name", qw_dnp3_file_status_name(f->status));
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void d3_json_auth(struct qw_json *j, const struct d3_apdu *a)
{
    qw_json_arr_begin(j, "auth");
    for (unsigned i = 0; i < a->nauth; i++) {
        const struct d3_auth *x = &a->auth[i];
        const char *vn = x->variation < 16 ? qw_dnp3_auth_var_names[x->variation] : NULL;
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "variation", x->variation);
        qw_json_str(j, "name", vn ? vn : "unknown");
        if (x->fields & D3_AF_CSQ) qw_json_u64(j, "csq", x->seq);
        if (x->fields & D3_AF_KSQ) qw_json_u64(j, "ksq", x->seq);
        if (x->fields & D3_AF_USER) qw_json_u64(j, "user", x->user);
        if (x->fields & D3_AF_ASSOC) qw_json_u64(j, "association_id", x->assoc);
        if (x->fields & D3_AF_MAC_ALG) qw_json_u64(j, "mac_algorithm", x->mac_alg);
        if (x->fields & D3_AF_REASON) qw_json_u64(j, "reason", x->reason);
        if (x->fields & D3_AF_KEY_STATUS) {
            const char *ks = x->code < 5 ? qw_dnp3_key_status_names[x->code] : NULL;
            qw_json_u64(j, "key_status", x->code);
            qw_json_str(j, "key_status_name", ks ? ks : "unknown");
        }
        if (x->fields & D3_AF_ERROR) {
            qw_json_u64(j, "error_code", x->code);
            qw_json_str(j, "error_name", qw_dnp3_auth_error_name(x->code));
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void d3_json_side(struct qw_json *j, const char *key, const struct d3_apdu *a)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", a->fc);
    qw_json_str(j, "function_name", d3_function_name(a->fc));
    qw_json_u64(j, "seq", a->ac & D3_AC_SEQ);
    qw_json_bool(j, "fir", (a->ac & D3_AC_FIR) != 0);
    qw_json_bool(j, "fin", (a->ac & D3_AC_FIN) != 0);
    qw_json_bool(j, "con", (a->ac & D3_AC_CON) != 0);
    qw_json_bool(j, "uns", (a->ac & D3_AC_UNS) != 0);
    qw_json_u64(j, "src", a->src);
    qw_json_u64(j, "dst", a->dst);
    const char *ln = d3_link_name(a->link_ctrl);
    qw_json_u64(j, "link_function", a->link_ctrl & D3_LC_FUNC);
    qw_json_str(j, "link_function_name", ln ? ln : "unknown");
    qw_json_bool(j, "from_master", (a->link_ctrl & D3_LC_DIR) != 0);
    qw_json_bool(j, "primary", (a->link_ctrl & D3_LC_PRM) != 0);
    qw_json_u64(j, "segments", a->segments);
    qw_json_u64(j, "length", a->length);
    if (a->has_iin) {
        qw_json_u64(j, "iin", a->iin);
        qw_json_arr_begin(j, "iin_flags");
        for (unsigned b = 0; b < 16; b++) {
            /* index b: IIN1.b for b < 8 (high octet), IIN2.(b-8) (low octet) */
            unsigned bit = b < 8 ? 8 + b : b - 8;
            if (a->iin & (1u << bit)) qw_json_str(j, NULL, qw_dnp3_iin_names[b]);
        }
        qw_json_arr_end(j);
    }
    if (a->nobj_total) {
        qw_json_u64(j, "object_count", a->nobj_total);
        d3_json_objects(j, a);
    }
    if (a->walk != D3_WALK_COMPLETE) {
        qw_json_bool(j, "objects_complete", false);
        qw_json_str(j, "objects_stop", d3_walk_names[a->walk]);
    }
    if (a->npoints_total) qw_json_u64(j, "point_count", a->npoints_total);
    d3_json_points(j, a, D3_G_CROB, "controls");
    d3_json_points(j, a, D3_G_ANALOG_OUTPUT, "analog_outputs");
    if (a->has_time) qw_json_u64(j, "time_ms", a->time_ms);
    if (a->has_delay) qw_json_u64(j, "time_delay_ms", a->delay_ms);
    if (a->nfiles) d3_json_files(j, a);
    if (a->nauth) d3_json_auth(j, a);
    if (a->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void d3_write_json(struct qw_json *j, const void *arg)
{
    const struct d3_view *v = arg;
    if (v->req) d3_json_side(j, "request", v->req);
    if (v->rsp) d3_json_side(j, "response", v->rsp);
}

/* ---- Transactions -------------------------------------------------------------------------- */

static void d3_emit(struct qw_pctx *ctx, struct d3_state *st, const struct d3_apdu *req,
                    const struct d3_apdu *rsp)
{
    const struct d3_apdu *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->fc;
    t.function_name = d3_function_name(key->fc);
    t.ops = (req ? req->ops : 0) | (rsp ? rsp->ops : 0);
    t.error = rsp && rsp->error;
    t.request_ns = req ? req->ts_ns : 0;
    t.response_ns = rsp ? rsp->ts_ns : 0;
    t.write_json = d3_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static void d3_flush_slot(struct qw_pctx *ctx, struct d3_state *st, struct d3_slot *s)
{
    d3_emit(ctx, st, &s->req, NULL);
    s->used = false;
}

static struct d3_slot *d3_oldest(struct d3_state *st)
{
    struct d3_slot *best = NULL;
    for (size_t i = 0; i < D3_QUEUE_MAX; i++) {
        struct d3_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
    }
    return best;
}

static void d3_on_request(struct qw_pctx *ctx, struct d3_state *st, const struct d3_apdu *a)
{
    if ((qw_dnp3_funcs[a->fc].flags & QW_DNP3_FN_NO_RESPONSE) || a->dst >= D3_ADDR_BROADCAST_MIN) {
        d3_emit(ctx, st, a, NULL);
        return;
    }
    /* A master waits for each answer (one outstanding request per outstation): an older request to
     * the same outstation was given up on. */
    for (size_t i = 0; i < D3_QUEUE_MAX; i++) {
        struct d3_slot *s = &st->queue[i];
        if (s->used && s->req.src == a->src && s->req.dst == a->dst) d3_flush_slot(ctx, st, s);
    }
    struct d3_slot *free_slot = NULL;
    for (size_t i = 0; i < D3_QUEUE_MAX && !free_slot; i++)
        if (!st->queue[i].used) free_slot = &st->queue[i];
    if (!free_slot) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "dnp3.request_queue_full", NULL);
        st->queue_full_reported = true;
        free_slot = d3_oldest(st);
        d3_flush_slot(ctx, st, free_slot);
    }
    free_slot->used = true;
    free_slot->order = st->next_order++;
    free_slot->req = *a;
}

static void d3_on_response(struct qw_pctx *ctx, struct d3_state *st, const struct d3_apdu *a)
{
    struct d3_slot *match = NULL;
    /* Only the first fragment of a solicited response answers a request; later fragments carry
     * the following sequence numbers. */
    if (a->fc != D3_FC_UNSOLICITED && (a->ac & D3_AC_FIR)) {
        for (size_t i = 0; i < D3_QUEUE_MAX && !match; i++) {
            struct d3_slot *s = &st->queue[i];
            if (s->used && (s->req.ac & D3_AC_SEQ) == (a->ac & D3_AC_SEQ) &&
                s->req.src == a->dst && s->req.dst == a->src)
                match = s;
        }
    }
    d3_emit(ctx, st, match ? &match->req : NULL, a);
    if (match) match->used = false;
}

static void d3_on_fragment(struct qw_pctx *ctx, struct d3_state *st, enum qw_dir dir,
                           const struct d3_reasm *r)
{
    struct d3_apdu *a = &st->scratch;
    d3_decode(ctx, a, r, dir);
    if (!a->valid) return;
    if (a->response) d3_on_response(ctx, st, a);
    else d3_on_request(ctx, st, a);
}

/* ---- Transport function -------------------------------------------------------------------- */

static void d3_reasm_discard(struct qw_pctx *ctx, struct d3_reasm *r, const char *why)
{
    if (r->active) qw_emit_anomaly(ctx, "dnp3.transport_incomplete", why);
    r->active = false;
}

static void d3_transport(struct qw_pctx *ctx, struct d3_state *st, enum qw_dir dir,
                         const struct d3_frame *f)
{
    struct d3_reasm *r = &st->rx[d3_dir_index(dir)];
    uint8_t th = f->user[0];
    const uint8_t *p = f->user + 1;
    size_t n = f->user_len - 1;
    uint8_t seq = th & D3_TH_SEQ;
    if (th & D3_TH_FIR) {
        d3_reasm_discard(ctx, r, "new first segment");
        r->active = true;
        r->overflow = false;
        r->len = 0;
        r->total = 0;
        r->segments = 0;
        r->src = f->src;
        r->dst = f->dst;
        r->link_ctrl = f->ctrl;
        r->ts_ns = qw_pctx_time(ctx);
    } else if (!r->active) {
        qw_emit_anomaly(ctx, "dnp3.transport_out_of_sequence", "no first segment");
        return;
    } else if (f->src != r->src || f->dst != r->dst) {
        qw_emit_anomaly(ctx, "dnp3.transport_out_of_sequence", "other addresses");
        r->active = false;
        return;
    } else if (seq != ((r->seq + 1) & D3_TH_SEQ)) {
        qw_emit_anomaly(ctx, "dnp3.transport_out_of_sequence", "sequence");
        r->active = false;
        return;
    }
    r->seq = seq;
    if (r->segments < UINT16_MAX) r->segments++;
    size_t room = D3_FRAGMENT_MAX - r->len;
    size_t keep = n < room ? n : room;
    memcpy(r->buf + r->len, p, keep);
    r->len = (uint16_t)(r->len + keep);
    if (keep < n) r->overflow = true;
    if (r->total <= UINT32_MAX - n) r->total += (uint32_t)n;
    if (th & D3_TH_FIN) {
        r->active = false;
        d3_on_fragment(ctx, st, dir, r);
    }
}

/* ---- Link frames --------------------------------------------------------------------------- */

static void d3_on_frame(struct qw_pctx *ctx, struct d3_state *st, enum qw_dir dir,
                        const struct d3_frame *f)
{
    uint8_t fn = f->ctrl & D3_LC_FUNC;
    if (!d3_link_name(f->ctrl)) qw_emit_anomaly(ctx, "dnp3.unknown_link_function", NULL);
    bool user_data = (f->ctrl & D3_LC_PRM) &&
                     (fn == D3_LINK_CONFIRMED_DATA || fn == D3_LINK_UNCONFIRMED_DATA);
    if (!user_data) {
        /* Link service frames (reset, test, status, ack) carry no user data. */
        if (f->user_len) qw_emit_anomaly(ctx, "dnp3.unexpected_link_data", d3_link_name(f->ctrl));
        return;
    }
    if (f->user_len == 0) {
        qw_emit_anomaly(ctx, "dnp3.empty_user_data", NULL);
        return;
    }
    if (fn == D3_LINK_CONFIRMED_DATA) {
        struct d3_last_frame *last = &st->last_confirmed[d3_dir_index(dir)];
        struct d3_last_frame cur = {true, f->ctrl, f->src, f->dst, (uint16_t)f->user_len,
                                    qw_dnp3_crc(f->user, f->user_len)};
        if (last->valid && last->ctrl == cur.ctrl && last->src == cur.src &&
            last->dst == cur.dst && last->user_len == cur.user_len &&
            last->user_crc == cur.user_crc)
            return; /* a link-layer retry of the frame already taken */
        *last = cur;
    }
    d3_transport(ctx, st, dir, f);
}

static const char *const d3_hdr_anomaly[] = {
    [D3_HDR_BAD_START] = "dnp3.bad_start",
    [D3_HDR_BAD_LENGTH] = "dnp3.bad_length",
    [D3_HDR_BAD_CRC] = "dnp3.bad_header_crc",
};

/* Parse link frames from `data`; returns the octets consumed (a trailing partial frame is left
 * for the next call). A bad header is reported once, then skipped octet by octet to the next
 * header whose CRC is right. */
static size_t d3_frames(struct qw_pctx *ctx, struct d3_state *st, enum qw_dir dir,
                        const uint8_t *data, size_t len)
{
    unsigned d = d3_dir_index(dir);
    size_t off = 0;
    while (off < len) {
        const uint8_t *b = data + off;
        size_t n = len - off;
        enum d3_hdr h = d3_header(b, n);
        if (h == D3_HDR_SHORT) break;
        if (h != D3_HDR_OK) {
            if (!st->resync[d]) qw_emit_anomaly(ctx, d3_hdr_anomaly[h], NULL);
            st->resync[d] = true;
            const uint8_t *next = memchr(b + 1, D3_START_0, n - 1);
            off = next ? (size_t)(next - data) : len;
            continue;
        }
        size_t fsize = d3_frame_size(b[2]);
        if (n < fsize) break;
        st->resync[d] = false;
        off += fsize;
        struct d3_frame f;
        if (!d3_frame_read(b, fsize, &f)) {
            qw_emit_anomaly(ctx, "dnp3.bad_data_crc", NULL);
            continue;
        }
        d3_on_frame(ctx, st, dir, &f);
    }
    return off;
}

/* ---- Descriptor callbacks ------------------------------------------------------------------ */

static enum qw_probe_result d3_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* masters and outstations both open connections (see the banner) */
    enum d3_hdr h = d3_header(data, len);
    if (h == D3_HDR_SHORT) {
        if (len >= 4 && !d3_link_name(data[3])) return QW_PROBE_NO;
        return QW_PROBE_NEED_MORE;
    }
    if (h != D3_HDR_OK || !d3_link_name(data[3])) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

static size_t d3_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    return d3_frames(ctx, state, dir, data, len);
}

/* DNP3 over UDP: each datagram holds whole link frames (Annex C); a frame cut by the end of
 * the datagram is lost. */
static void d3_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct d3_state *st = state;
    size_t used = d3_frames(ctx, st, dir, data, len);
    if (used < len && !st->resync[d3_dir_index(dir)])
        qw_emit_anomaly(ctx, "dnp3.truncated_frame", NULL);
    st->resync[d3_dir_index(dir)] = false; /* the next datagram starts afresh */
}

static void d3_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    struct d3_state *st = state;
    unsigned d = d3_dir_index(dir);
    d3_reasm_discard(ctx, &st->rx[d], "gap in the stream");
    st->resync[d] = true;
}

static void d3_flow_end(struct qw_pctx *ctx, void *state)
{
    struct d3_state *st = state;
    d3_reasm_discard(ctx, &st->rx[0], "end of flow");
    d3_reasm_discard(ctx, &st->rx[1], "end of flow");
    struct d3_slot *s;
    while ((s = d3_oldest(st)) != NULL) d3_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_dnp3 = {
    .name = "dnp3",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {D3_PORT, 0},
    .probe = d3_probe,
    .state_size = sizeof(struct d3_state),
    .parse = d3_parse,
    .datagram = d3_datagram,
    .gap = d3_gap,
    .flow_end = d3_flow_end,
};
