/* PROFINET IO context management (PNIO CM): DCE/RPC connectionless over UDP, port 34964.
 *
 * Specifications:
 *   [C706]  The Open Group C706, DCE 1.1 Remote Procedure Call: 12.5 the connectionless PDU
 *           header (80 octets), packet types, flags, fragments; 14.2 NDR data representation
 *           (drep: integer byte order in the high nibble of its first octet).
 *   [6-10]  IEC 61158-6-10 (PROFINET IO application layer protocol): the CM interfaces
 *           (IO device DEA00001-6C97-11D1-8271-00A02442DF7D, controller ...02, supervisor ...03,
 *           parameter server ...04), the operations (0 Connect, 1 Release, 2 Read, 3 Write,
 *           4 Control, 5 Read Implicit), the NDR arguments (ArgsMaximum or PNIOStatus,
 *           ArgsLength, the conformant varying array header), the blocks (BlockType,
 *           BlockLength counting from the version, BlockVersionHigh/Low, always big-endian),
 *           ARBlockReq/Res, IOCRBlockReq/Res, AlarmCRBlockReq/Res, ExpectedSubmoduleBlockReq,
 *           ModuleDiffBlock, the control blocks (ControlCommand bits PrmEnd, ApplicationReady,
 *           Release, Done, ReadyForCompanion, ReadyForRT_CLASS_3, PrmBegin), the record
 *           headers IODReadReq/ResHeader and IODWriteReq/ResHeader (64 octets with padding),
 *           MultipleWrite (0xE040: write headers and their data, each padded to 4 octets),
 *           MultipleBlockHeader, PNIOStatus, and the I&M0 record (index 0xAFF0).
 *   Wireshark's packet-dcerpc.c and packet-dcerpc-pn-io.c were read to check field order;
 *   no code is taken from them.
 *
 * Header (80 octets; integers in the byte order drep names, UUIDs as three integers in that
 * order and eight octets as they are):
 *
 *   offset size meaning
 *        0    1 RPC version, 4
 *        1    1 packet type (0 request, 1 ping, 2 response, 3 fault, 4 working, 5 nocall,
 *               6 reject, 7 ack, 8 cl_cancel, 9 fack, 10 cancel_ack)
 *        2    1 flags1 (0x02 last fragment, 0x04 fragment, 0x08 no fack, 0x10 maybe,
 *               0x20 idempotent, 0x40 broadcast), 3 flags2 (0x02 cancel pending)
 *        4    3 drep, 7 serial high
 *        8   16 object UUID (PNIO: DEA00000-6C97-11D1-8271- instance, device id, vendor id)
 *       24   16 interface UUID, 40 16 activity UUID
 *       56    4 server boot time, 60 4 interface version, 64 4 sequence number
 *       68    2 opnum, 70 2 interface hint, 72 2 activity hint, 74 2 body length,
 *       76    2 fragment number, 78 1 authentication protocol, 79 1 serial low
 *       80    n body: request: ArgsMaximum, ArgsLength, MaximumCount, Offset, ActualCount,
 *               then ActualCount octets of blocks; response: PNIOStatus, ArgsLength, the array
 *               header and the blocks; fault and reject: a 4-octet status
 *
 * Calls and flows: a call is a request and its response with the same activity UUID and
 * sequence number. An IO controller sends its first request from its port to the device's
 * 34964 and the device answers from another port, which the later requests go to: the
 * Connect (and sometimes the Control and Release) requests and their responses travel in two
 * UDP flows. Requests wait per flow in a queue of PN_QUEUE_MAX; a response whose request is in
 * another flow is a record with its response only (it carries the same opnum and its own
 * blocks), and a request whose response went to another flow is reported unanswered at the
 * flow's end. The probe answers QW_PROBE_MATCH_FROM_SERVER for a response, so a flow that
 * starts with one has the responder as its server.
 *
 * Fragments: a PDU longer than a datagram comes in fragments (flag 0x04, numbers from 0, the
 * last with 0x02). The blocks are decoded as far as the first fragment reaches; the others are
 * counted and checked (numbers in order, none after the last). A fragmented response is held
 * until its last fragment.
 *
 * Records: one per call, `function` = opnum. Operation classes: Read and Read Implicit READ
 * (with IDENTIFY for the identification records, I&M among them, and DIAGNOSTIC for diagnosis
 * records), Write CONFIG, Connect, Release and Control SESSION. The transaction's error is a
 * negative PNIOStatus (of the response or of a MultipleWrite part) or a fault or reject PDU.
 * Other PDUs of a call (ping, working, ack...) are counted in its record; alone, they are a
 * record of their own with no operation class.
 *
 * Identity, about the end that answered a read of I&M0 (the device): vendor_id and vendor
 * (src/proto/profinet_vendors.h), model (OrderID), serial (IM_Serial_Number), firmware
 * (IM_Software_Revision as "V2.3.1"), hardware (IM_Hardware_Revision).
 *
 * Anomalies (malformed data only; PNIO CM has no security to be weak about before PROFINET
 * security classes 2 and 3): pnio_cm.truncated (shorter than the header or the NDR
 * arguments), pnio_cm.invalid_header (version, packet type, data representation),
 * pnio_cm.invalid_length (body length against the datagram, array count against the body),
 * pnio_cm.block_overrun (a block longer than what holds it), pnio_cm.invalid_block_length
 * (a block shorter than its fixed fields), pnio_cm.record_overrun (RecordDataLength beyond the
 * PDU), pnio_cm.invalid_fragment (numbers out of order, after the last, or without the flag). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/pnio_cm_tables.h"
#include "proto/profinet_vendors.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define PN_PORT 34964           /* [6-10] the CM server port (0x8894) */
#define PN_HDR_LEN 80           /* [C706] 12.5.1 */
#define PN_NDR_LEN 20           /* five 32-bit NDR integers before the blocks */
#define PN_BLOCK_HDR 6          /* BlockType, BlockLength, BlockVersionHigh/Low */
#define PN_IOD_HDR_LEN 64       /* the record headers are padded to 64 octets */
#define PN_STATION_MAX 240      /* [6-10] NameOfStation */
/* A controller runs one call at a time per activity ([C706] 12.3), and one activity per AR plus
 * a few implicit reads: four outstanding calls per flow are plenty. */
#define PN_QUEUE_MAX 4
/* Blocks summarised per PDU (a Connect holds one ExpectedSubmoduleBlockReq per API and slot
 * group; the count is exact). */
#define PN_BLOCKS_MAX 16
/* A request repeated within this time is a retransmission of the waiting call; later, it is a
 * new call (a client that restarted with the same activity): CL RPC retransmits within seconds
 * and PNIO CM gives up on a call after its RPC timeout (CMInitiatorActivityTimeoutFactor, at
 * most 1000 x 100 ms). */
#define PN_RETRANSMIT_NS (100ull * 1000000000ull)
#define PN_DEPTH_MAX 3          /* record data in a MultipleWrite in a MultipleBlockHeader */

#define PN_F1_LASTFRAG 0x02u
#define PN_F1_FRAG 0x04u
#define PN_F1_MAYBE 0x10u

#define PN_BT_IOD_WRITE_REQ 0x0008u
#define PN_BT_IOD_READ_REQ 0x0009u
#define PN_BT_IOD_WRITE_RES 0x8008u
#define PN_BT_IOD_READ_RES 0x8009u
#define PN_BT_IM0 0x0020u
#define PN_BT_MULTIPLE 0x0400u
#define PN_INDEX_MULTIPLE_WRITE 0xE040u
#define PN_INDEX_IM0 0xAFF0u

enum {
    PN_PT_REQUEST = 0, PN_PT_PING = 1, PN_PT_RESPONSE = 2, PN_PT_FAULT = 3, PN_PT_WORKING = 4,
    PN_PT_NOCALL = 5, PN_PT_REJECT = 6, PN_PT_ACK = 7, PN_PT_CANCEL = 8, PN_PT_FACK = 9,
    PN_PT_CANCEL_ACK = 10,
};

/* The CM operations ([6-10]). */
static const struct {
    const char *name;
    uint32_t ops;
} pn_opnums[] = {
    {"connect", QW_OP_SESSION}, {"release", QW_OP_SESSION}, {"read", QW_OP_READ},
    {"write", QW_OP_CONFIG},    {"control", QW_OP_SESSION}, {"read_implicit", QW_OP_READ},
};
#define PN_OPNUMS (sizeof pn_opnums / sizeof pn_opnums[0])

/* The endpoint mapper's operations ([C706] appendix O), for the lookups a PNIO device answers
 * on 34964. */
static const char *const pn_epm_ops[] = {"ept_insert", "ept_delete", "ept_lookup", "ept_map",
                                         "ept_lookup_handle_free", "ept_inq_object",
                                         "ept_mgmt_delete"};

/* ControlCommand bits ([6-10]), bit 0 first. */
static const char *const pn_commands[] = {"prm_end", "application_ready", "release", "done",
                                          "ready_for_companion", "ready_for_rt_class_3",
                                          "prm_begin"};

static const char *const pn_flag1_names[8] = {NULL, "last_fragment", "fragment", "no_fack",
                                              "maybe", "idempotent", "broadcast", NULL};

/* ---- Decoded PDU --------------------------------------------------------------------------- */

struct pn_hdr {
    uint8_t version, ptype, flags1, flags2, drep[3], auth_proto;
    bool le; /* NDR little-endian integers */
    uint8_t object[16], iface_uuid[16], activity[16]; /* canonical (big-endian) order */
    uint32_t boot, if_vers, seq;
    uint16_t opnum, body_len, frag_num;
    enum pn_iface iface;
};

struct pn_iod {
    uint16_t seq, slot, subslot, index, add1, add2;
    uint32_t api, length, status;
    uint8_t ar_uuid[16];
};

struct pn_block {
    uint16_t type, length;
    uint8_t vhigh, vlow;
    bool cut;   /* its length reaches past what holds it */
    bool short_body; /* its length is shorter than its fixed fields */
    union {
        struct pn_iod iod;
        struct {
            uint16_t type, session, port, timeout;
            uint32_t props;
            uint8_t uuid[16], mac[6];
        } ar;
        struct {
            uint16_t type, ref, frame_id, data_len, send_clock, reduction, watchdog;
        } iocr;
        struct {
            uint16_t type, ref, max_data, timeout, retries;
        } alarm;
        struct {
            uint32_t apis, slots, submodules;
        } count;
        struct {
            uint16_t session, alarm_seq, command, props;
            uint8_t uuid[16];
        } ctl;
        struct {
            uint32_t api;
            uint16_t slot, subslot;
        } multi;
    } u;
};

struct pn_im0 {
    uint16_t vendor, hw_rev, rev_counter, profile_id, profile_type, supported;
    uint8_t sw_prefix, sw[3], im_major, im_minor;
    char order[21], serial[17];
};

struct pn_msg {
    struct pn_hdr h;
    enum qw_dir dir;
    bool pnio;            /* the NDR arguments were read */
    bool partial;         /* a first fragment: blocks may go on in the next ones */
    bool truncated;       /* the body is shorter than its own lengths say */
    uint32_t args_max, args_len, arr_max, arr_off, arr_count, status;
    bool has_fault;
    uint32_t fault_status;
    uint8_t nblocks;
    uint16_t blocks_total;
    struct pn_block blocks[PN_BLOCKS_MAX];
    bool has_station, has_im0;
    union {
        struct {
            uint8_t len;
            char name[PN_STATION_MAX + 1];
        } station;
        struct pn_im0 im0;
    } x;
    /* Fragments after the first, and the other PDUs of the call. */
    uint16_t nfrags, next_frag, first_frag;
    bool complete, frag_gap;
    uint8_t retransmissions;
    uint8_t others[PN_PTYPE_MAX + 1];
};

/* ---- Integers, UUIDs ----------------------------------------------------------------------- */

static uint16_t pn_u16(struct qw_cursor *c, bool le)
{
    return le ? qw_cur_le16(c) : qw_cur_be16(c);
}

static uint32_t pn_u32(struct qw_cursor *c, bool le)
{
    return le ? qw_cur_le32(c) : qw_cur_be32(c);
}

/* A UUID as NDR lays it out: time_low, time_mid, time_hi in the drep's order, then eight
 * octets; kept in canonical (big-endian) order. */
static void pn_ndr_uuid(struct qw_cursor *c, bool le, uint8_t out[16])
{
    uint32_t a = pn_u32(c, le);
    uint16_t b = pn_u16(c, le), d = pn_u16(c, le);
    out[0] = (uint8_t)(a >> 24);
    out[1] = (uint8_t)(a >> 16);
    out[2] = (uint8_t)(a >> 8);
    out[3] = (uint8_t)a;
    out[4] = (uint8_t)(b >> 8);
    out[5] = (uint8_t)b;
    out[6] = (uint8_t)(d >> 8);
    out[7] = (uint8_t)d;
    qw_cur_bytes(c, out + 8, 8);
}

static void pn_uuid_text(const uint8_t u[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[u[i] >> 4];
        out[o++] = hex[u[i] & 15];
    }
    out[o] = '\0';
}

/* ---- Header -------------------------------------------------------------------------------- */

static bool pn_hdr_decode(const uint8_t *d, size_t n, struct pn_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (n < PN_HDR_LEN) return false;
    struct qw_cursor c = qw_cursor_make(d, n);
    h->version = qw_cur_u8(&c);
    h->ptype = qw_cur_u8(&c);
    h->flags1 = qw_cur_u8(&c);
    h->flags2 = qw_cur_u8(&c);
    qw_cur_bytes(&c, h->drep, 3);
    h->le = (h->drep[0] >> 4) == 1;
    qw_cur_skip(&c, 1); /* serial high */
    pn_ndr_uuid(&c, h->le, h->object);
    pn_ndr_uuid(&c, h->le, h->iface_uuid);
    pn_ndr_uuid(&c, h->le, h->activity);
    h->boot = pn_u32(&c, h->le);
    h->if_vers = pn_u32(&c, h->le);
    h->seq = pn_u32(&c, h->le);
    h->opnum = pn_u16(&c, h->le);
    qw_cur_skip(&c, 4); /* interface and activity hints */
    h->body_len = pn_u16(&c, h->le);
    h->frag_num = pn_u16(&c, h->le);
    h->auth_proto = qw_cur_u8(&c);
    h->iface = pn_iface_of(h->iface_uuid);
    return !c.err;
}

/* Version 4, a known packet type, and a data representation [C706] 14.2 defines: integers
 * big or little endian, characters ASCII or EBCDIC, floats IEEE, VAX, Cray or IBM, the third
 * octet reserved (0). */
static bool pn_hdr_sane(const struct pn_hdr *h)
{
    return h->version == 4 && h->ptype <= PN_PTYPE_MAX && (h->drep[0] >> 4) <= 1 &&
           (h->drep[0] & 0x0Fu) <= 1 && h->drep[1] <= 3 && h->drep[2] == 0;
}

/* ---- Blocks -------------------------------------------------------------------------------- */

/* What decoding a PDU's body needs besides the cursor. */
struct pn_walk {
    struct qw_pctx *ctx; /* NULL: no anomalies (never the case outside tests of the decoder) */
    struct pn_msg *m;
    bool request;
};

static void pn_anomaly(struct pn_walk *w, const char *name, const char *detail)
{
    if (w->ctx) qw_emit_anomaly(w->ctx, name, detail);
}

static void pn_read_iod(struct qw_cursor *c, struct pn_block *b)
{
    struct pn_iod *r = &b->u.iod;
    r->seq = qw_cur_be16(c);
    qw_cur_bytes(c, r->ar_uuid, 16);
    r->api = qw_cur_be32(c);
    r->slot = qw_cur_be16(c);
    r->subslot = qw_cur_be16(c);
    qw_cur_skip(c, 2);
    r->index = qw_cur_be16(c);
    r->length = qw_cur_be32(c);
    if (b->type == PN_BT_IOD_WRITE_RES || b->type == PN_BT_IOD_READ_RES) {
        r->add1 = qw_cur_be16(c);
        r->add2 = qw_cur_be16(c);
    }
    if (b->type == PN_BT_IOD_WRITE_RES) r->status = qw_cur_be32(c);
}

static void pn_read_ar(struct pn_walk *w, struct qw_cursor *c, struct pn_block *b)
{
    b->u.ar.type = qw_cur_be16(c);
    qw_cur_bytes(c, b->u.ar.uuid, 16);
    b->u.ar.session = qw_cur_be16(c);
    qw_cur_bytes(c, b->u.ar.mac, 6);
    if (b->type == 0x8101u) {
        b->u.ar.port = qw_cur_be16(c);
        return;
    }
    qw_cur_skip(c, 16); /* CMInitiatorObjectUUID */
    b->u.ar.props = qw_cur_be32(c);
    b->u.ar.timeout = qw_cur_be16(c);
    b->u.ar.port = qw_cur_be16(c);
    uint16_t n = qw_cur_be16(c);
    const uint8_t *name = qw_cur_take(c, n);
    if (!name || w->m->has_im0) return;
    size_t keep = n < PN_STATION_MAX ? n : PN_STATION_MAX;
    memcpy(w->m->x.station.name, name, keep);
    w->m->x.station.name[keep] = '\0';
    w->m->x.station.len = (uint8_t)keep;
    w->m->has_station = true;
}

static void pn_read_iocr(struct qw_cursor *c, struct pn_block *b)
{
    b->u.iocr.type = qw_cur_be16(c);
    b->u.iocr.ref = qw_cur_be16(c);
    if (b->type == 0x8102u) {
        b->u.iocr.frame_id = qw_cur_be16(c);
        return;
    }
    qw_cur_skip(c, 2 + 4); /* LT, IOCRProperties */
    b->u.iocr.data_len = qw_cur_be16(c);
    b->u.iocr.frame_id = qw_cur_be16(c);
    b->u.iocr.send_clock = qw_cur_be16(c);
    b->u.iocr.reduction = qw_cur_be16(c);
    qw_cur_skip(c, 2 + 2 + 4); /* Phase, Sequence, FrameSendOffset */
    b->u.iocr.watchdog = qw_cur_be16(c);
}

static void pn_read_alarm(struct qw_cursor *c, struct pn_block *b)
{
    b->u.alarm.type = qw_cur_be16(c);
    if (b->type == 0x8103u) {
        b->u.alarm.ref = qw_cur_be16(c);
        b->u.alarm.max_data = qw_cur_be16(c);
        return;
    }
    qw_cur_skip(c, 2 + 4); /* LT, AlarmCRProperties */
    b->u.alarm.timeout = qw_cur_be16(c);
    b->u.alarm.retries = qw_cur_be16(c);
    b->u.alarm.ref = qw_cur_be16(c);
    b->u.alarm.max_data = qw_cur_be16(c);
}

/* ExpectedSubmoduleBlockReq: per API entry an API, a slot and its submodules, each with one or
 * two data descriptions (two for a submodule with inputs and outputs). */
static void pn_read_expected(struct qw_cursor *c, struct pn_block *b)
{
    uint16_t napis = qw_cur_be16(c);
    for (uint16_t i = 0; i < napis && !c->err; i++) {
        qw_cur_skip(c, 4 + 2 + 4 + 2); /* API, SlotNumber, ModuleIdentNumber, properties */
        uint16_t nsub = qw_cur_be16(c);
        if (c->err) break;
        b->u.count.apis++;
        for (uint16_t k = 0; k < nsub && !c->err; k++) {
            qw_cur_skip(c, 2 + 4); /* SubslotNumber, SubmoduleIdentNumber */
            uint16_t props = qw_cur_be16(c);
            qw_cur_skip(c, (props & 3u) == 3u ? 12u : 6u);
            if (!c->err) b->u.count.submodules++;
        }
    }
    b->u.count.slots = b->u.count.apis;
}

/* ModuleDiffBlock: APIs, their modules (slots), their submodules. */
static void pn_read_module_diff(struct qw_cursor *c, struct pn_block *b)
{
    uint16_t napis = qw_cur_be16(c);
    for (uint16_t i = 0; i < napis && !c->err; i++) {
        qw_cur_skip(c, 4);
        uint16_t nmod = qw_cur_be16(c);
        if (c->err) break;
        b->u.count.apis++;
        for (uint16_t k = 0; k < nmod && !c->err; k++) {
            qw_cur_skip(c, 2 + 4 + 2);
            uint16_t nsub = qw_cur_be16(c);
            if (c->err) break;
            b->u.count.slots++;
            for (uint16_t s = 0; s < nsub && qw_cur_skip(c, 2 + 4 + 2); s++)
                b->u.count.submodules++;
        }
    }
}

static void pn_read_control(struct qw_cursor *c, struct pn_block *b)
{
    qw_cur_skip(c, 2);
    qw_cur_bytes(c, b->u.ctl.uuid, 16);
    b->u.ctl.session = qw_cur_be16(c);
    b->u.ctl.alarm_seq = qw_cur_be16(c);
    b->u.ctl.command = qw_cur_be16(c);
    b->u.ctl.props = qw_cur_be16(c);
}

/* Text fields of I&M are visible strings padded with blanks: the trailing blanks and NULs go. */
static void pn_im_text(struct qw_cursor *c, char *out, size_t n)
{
    qw_cur_bytes(c, out, n);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0')) out[--n] = '\0';
}

static void pn_read_im0(struct pn_walk *w, struct qw_cursor *c)
{
    struct pn_im0 im;
    memset(&im, 0, sizeof im);
    im.vendor = qw_cur_be16(c);
    pn_im_text(c, im.order, 20);
    pn_im_text(c, im.serial, 16);
    im.hw_rev = qw_cur_be16(c);
    im.sw_prefix = qw_cur_u8(c);
    qw_cur_bytes(c, im.sw, 3);
    im.rev_counter = qw_cur_be16(c);
    im.profile_id = qw_cur_be16(c);
    im.profile_type = qw_cur_be16(c);
    im.im_major = qw_cur_u8(c);
    im.im_minor = qw_cur_u8(c);
    im.supported = qw_cur_be16(c);
    if (c->err || w->request || w->m->has_station) return;
    w->m->x.im0 = im;
    w->m->has_im0 = true;
}

static bool pn_is_control(uint16_t t)
{
    uint16_t base = t & 0x7FFFu; /* request and response differ in bit 15 */
    return base >= 0x0110u && base <= 0x0118u && base != 0x0115u;
}

static void pn_walk_blocks(struct pn_walk *w, struct qw_cursor *c, unsigned depth,
                           bool partial);

/* The fixed fields of one block, from its body (after the version octets). */
static void pn_block_body(struct pn_walk *w, struct pn_block *b, struct qw_cursor *body,
                          unsigned depth, bool partial)
{
    switch (b->type) {
    case PN_BT_IOD_WRITE_REQ:
    case PN_BT_IOD_READ_REQ:
    case PN_BT_IOD_WRITE_RES:
    case PN_BT_IOD_READ_RES: pn_read_iod(body, b); break;
    case 0x0101u:
    case 0x8101u: pn_read_ar(w, body, b); break;
    case 0x0102u:
    case 0x8102u: pn_read_iocr(body, b); break;
    case 0x0103u:
    case 0x8103u: pn_read_alarm(body, b); break;
    case 0x0104u: pn_read_expected(body, b); break;
    case 0x8104u: pn_read_module_diff(body, b); break;
    case PN_BT_IM0: pn_read_im0(w, body); break;
    case PN_BT_MULTIPLE:
        qw_cur_skip(body, 2);
        b->u.multi.api = qw_cur_be32(body);
        b->u.multi.slot = qw_cur_be16(body);
        b->u.multi.subslot = qw_cur_be16(body);
        if (!body->err && depth < PN_DEPTH_MAX) pn_walk_blocks(w, body, depth + 1, partial);
        return;
    default:
        if (pn_is_control(b->type)) pn_read_control(body, b);
        return;
    }
}

/* The next block of `c` into *b (a slot of the message, or a scratch one once they are all
 * used); false when there is none, or when what follows cannot be one (then reported). */
static bool pn_next_block(struct pn_walk *w, struct qw_cursor *c, struct pn_block *b,
                          unsigned depth, bool partial)
{
    memset(b, 0, sizeof *b);
    if (qw_cur_left(c) == 0) return false;
    if (!qw_cur_has(c, PN_BLOCK_HDR)) {
        if (!partial) pn_anomaly(w, "pnio_cm.block_overrun", "bytes after the last block");
        qw_cur_skip(c, qw_cur_left(c));
        return false;
    }
    b->type = qw_cur_be16(c);
    b->length = qw_cur_be16(c);
    if (b->length < 2) {
        pn_anomaly(w, "pnio_cm.invalid_block_length", pn_block_name(b->type));
        qw_cur_skip(c, qw_cur_left(c));
        return false;
    }
    struct qw_cursor body = qw_cur_sub(c, b->length, &b->cut);
    if (b->cut && !partial) pn_anomaly(w, "pnio_cm.block_overrun", pn_block_name(b->type));
    b->vhigh = qw_cur_u8(&body);
    b->vlow = qw_cur_u8(&body);
    pn_block_body(w, b, &body, depth, partial && b->cut);
    if (body.err && !b->cut) {
        b->short_body = true;
        pn_anomaly(w, "pnio_cm.invalid_block_length", pn_block_name(b->type));
    }
    return true;
}

/* Keeps the block's summary when there is room; counts it either way. */
static struct pn_block *pn_block_slot(struct pn_msg *m, struct pn_block *scratch)
{
    if (m->blocks_total < UINT16_MAX) m->blocks_total++;
    return m->nblocks < PN_BLOCKS_MAX ? &m->blocks[m->nblocks++] : scratch;
}

static void pn_record_data(struct pn_walk *w, const struct pn_block *b, struct qw_cursor *c,
                           unsigned depth, bool partial);

/* A MultipleWrite's record data: write headers with their data, each padded to 4 octets from
 * the start of the record. */
static void pn_multiple_write(struct pn_walk *w, struct qw_cursor *rec, unsigned depth,
                              bool partial)
{
    size_t start = rec->off;
    struct pn_block scratch;
    while (qw_cur_left(rec) > 0) {
        size_t pad = (4u - (rec->off - start) % 4u) % 4u;
        if (!qw_cur_skip(rec, pad) || qw_cur_left(rec) == 0) break;
        struct pn_block *b = pn_block_slot(w->m, &scratch);
        if (!pn_next_block(w, rec, b, depth, partial)) {
            w->m->blocks_total--;
            if (b != &scratch) w->m->nblocks--;
            break;
        }
        if (b->type != PN_BT_IOD_WRITE_REQ) {
            pn_anomaly(w, "pnio_cm.invalid_block_length", "MultipleWrite part not a write");
            break;
        }
        pn_record_data(w, b, rec, depth, partial);
    }
}

/* The record data after a write request header or a read response header. */
static void pn_record_data(struct pn_walk *w, const struct pn_block *b, struct qw_cursor *c,
                           unsigned depth, bool partial)
{
    if (b->type != PN_BT_IOD_WRITE_REQ && b->type != PN_BT_IOD_READ_RES) return;
    if (b->short_body || b->cut) return;
    bool cut;
    struct qw_cursor rec = qw_cur_sub(c, b->u.iod.length, &cut);
    if (cut && !partial) pn_anomaly(w, "pnio_cm.record_overrun", pn_block_name(b->type));
    if (depth >= PN_DEPTH_MAX) return;
    if (b->type == PN_BT_IOD_WRITE_REQ && b->u.iod.index == PN_INDEX_MULTIPLE_WRITE) {
        if (depth == 0) pn_multiple_write(w, &rec, depth + 1, partial && cut);
        return;
    }
    if (pn_index_has_blocks(b->u.iod.index)) pn_walk_blocks(w, &rec, depth + 1, partial && cut);
}

static void pn_walk_blocks(struct pn_walk *w, struct qw_cursor *c, unsigned depth, bool partial)
{
    struct pn_block scratch;
    for (;;) {
        struct pn_block *b = pn_block_slot(w->m, &scratch);
        if (!pn_next_block(w, c, b, depth, partial)) {
            w->m->blocks_total--;
            if (b != &scratch) w->m->nblocks--;
            return;
        }
        pn_record_data(w, b, c, depth, partial);
    }
}

/* ---- Body ---------------------------------------------------------------------------------- */

/* The NDR arguments and the blocks of a request or response of a PNIO interface. */
static void pn_decode_pnio(struct pn_walk *w, struct qw_cursor *c)
{
    struct pn_msg *m = w->m;
    bool le = m->h.le;
    if (!qw_cur_has(c, PN_NDR_LEN)) {
        if (!m->partial || qw_cur_left(c) < PN_NDR_LEN) {
            m->truncated = true;
            pn_anomaly(w, "pnio_cm.truncated", "NDR arguments");
        }
        return;
    }
    if (w->request) m->args_max = pn_u32(c, le);
    else m->status = pn_u32(c, le);
    m->args_len = pn_u32(c, le);
    m->arr_max = pn_u32(c, le);
    m->arr_off = pn_u32(c, le);
    m->arr_count = pn_u32(c, le);
    m->pnio = true;
    bool cut;
    struct qw_cursor arr = qw_cur_sub(c, m->arr_count, &cut);
    if (cut && !m->partial) {
        m->truncated = true;
        pn_anomaly(w, "pnio_cm.invalid_length", "array count beyond the body");
    }
    pn_walk_blocks(w, &arr, 0, m->partial);
}

/* Decode the body of PDU m (its header decoded): PNIO arguments and blocks for requests and
 * responses of the PNIO interfaces, the status of a fault or reject. `cut`: the datagram ends
 * before the body length. */
static void pn_decode_body(struct qw_pctx *ctx, struct pn_msg *m, const uint8_t *body, size_t n,
                           bool cut)
{
    struct qw_cursor c = qw_cursor_make(body, n);
    struct pn_walk w = {ctx, m, m->h.ptype == PN_PT_REQUEST};
    m->partial = (m->h.flags1 & PN_F1_FRAG) && !(m->h.flags1 & PN_F1_LASTFRAG);
    /* A body cut by the datagram was reported once: what it cuts is not reported again. */
    m->truncated = cut;
    m->partial |= cut;
    switch (m->h.ptype) {
    case PN_PT_REQUEST:
    case PN_PT_RESPONSE:
        if (pn_iface_is_pnio(m->h.iface)) pn_decode_pnio(&w, &c);
        return;
    case PN_PT_FAULT:
    case PN_PT_REJECT:
        m->fault_status = pn_u32(&c, m->h.le);
        m->has_fault = !c.err;
        return;
    default: return;
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void pn_json_uuid(struct qw_json *j, const char *key, const uint8_t u[16])
{
    char s[37];
    pn_uuid_text(u, s);
    qw_json_str(j, key, s);
}

static void pn_json_mac(struct qw_json *j, const char *key, const uint8_t m[6])
{
    char s[18];
    snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    qw_json_str(j, key, s);
}

static void pn_json_status(struct qw_json *j, const char *key, uint32_t st)
{
    uint8_t code = (uint8_t)(st >> 24), decode = (uint8_t)(st >> 16);
    uint8_t code1 = (uint8_t)(st >> 8), code2 = (uint8_t)st;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "error_code", code);
    qw_json_u64(j, "error_decode", decode);
    qw_json_u64(j, "error_code1", code1);
    qw_json_u64(j, "error_code2", code2);
    if (st != 0) {
        const char *n = pn_error_code_name(code);
        if (n) qw_json_str(j, "error_code_name", n);
        n = pn_error_decode_name(decode);
        if (n) qw_json_str(j, "error_decode_name", n);
        n = decode == 0x80 ? pn_pniorw_code1_name(code1) : NULL;
        if (n) qw_json_str(j, "error_code1_name", n);
    }
    qw_json_obj_end(j);
}

static void pn_json_iod(struct qw_json *j, const struct pn_block *b)
{
    const struct pn_iod *r = &b->u.iod;
    struct pn_index_info ix = pn_index_info(r->index);
    qw_json_u64(j, "seq_number", r->seq);
    pn_json_uuid(j, "ar_uuid", r->ar_uuid);
    qw_json_u64(j, "api", r->api);
    qw_json_u64(j, "slot", r->slot);
    qw_json_u64(j, "subslot", r->subslot);
    qw_json_u64(j, "index", r->index);
    if (ix.name) qw_json_str(j, "index_name", ix.name);
    qw_json_u64(j, "record_data_length", r->length);
    if (b->type == PN_BT_IOD_WRITE_RES || b->type == PN_BT_IOD_READ_RES) {
        qw_json_u64(j, "additional_value1", r->add1);
        qw_json_u64(j, "additional_value2", r->add2);
    }
    if (b->type == PN_BT_IOD_WRITE_RES) pn_json_status(j, "status", r->status);
}

static void pn_json_control(struct qw_json *j, const struct pn_block *b)
{
    pn_json_uuid(j, "ar_uuid", b->u.ctl.uuid);
    qw_json_u64(j, "session_key", b->u.ctl.session);
    if ((b->type & 0x7FFFu) == 0x0111u || (b->type & 0x7FFFu) == 0x0113u)
        qw_json_u64(j, "alarm_sequence_number", b->u.ctl.alarm_seq);
    qw_json_u64(j, "control_command", b->u.ctl.command);
    qw_json_arr_begin(j, "commands");
    for (unsigned i = 0; i < sizeof pn_commands / sizeof pn_commands[0]; i++)
        if (b->u.ctl.command >> i & 1u) qw_json_str(j, NULL, pn_commands[i]);
    qw_json_arr_end(j);
    qw_json_u64(j, "control_block_properties", b->u.ctl.props);
}

static void pn_json_ar(struct qw_json *j, const struct pn_block *b, const struct pn_msg *m)
{
    const char *n = pn_ar_type_name(b->u.ar.type);
    qw_json_u64(j, "ar_type", b->u.ar.type);
    if (n) qw_json_str(j, "ar_type_name", n);
    pn_json_uuid(j, "ar_uuid", b->u.ar.uuid);
    qw_json_u64(j, "session_key", b->u.ar.session);
    if (b->type == 0x8101u) {
        pn_json_mac(j, "cm_responder_mac", b->u.ar.mac);
        qw_json_u64(j, "udp_rt_port", b->u.ar.port);
        return;
    }
    pn_json_mac(j, "cm_initiator_mac", b->u.ar.mac);
    qw_json_u64(j, "ar_properties", b->u.ar.props);
    qw_json_u64(j, "activity_timeout_factor", b->u.ar.timeout);
    qw_json_u64(j, "udp_rt_port", b->u.ar.port);
    if (m->has_station) qw_json_strn(j, "station_name", m->x.station.name, m->x.station.len);
}

static void pn_json_cr(struct qw_json *j, const struct pn_block *b)
{
    if ((b->type & 0x7FFFu) == 0x0102u) {
        const char *n = pn_iocr_type_name(b->u.iocr.type);
        qw_json_u64(j, "iocr_type", b->u.iocr.type);
        if (n) qw_json_str(j, "iocr_type_name", n);
        qw_json_u64(j, "iocr_reference", b->u.iocr.ref);
        qw_json_u64(j, "frame_id", b->u.iocr.frame_id);
        if (b->type == 0x8102u) return;
        qw_json_u64(j, "data_length", b->u.iocr.data_len);
        qw_json_u64(j, "send_clock_factor", b->u.iocr.send_clock);
        qw_json_u64(j, "reduction_ratio", b->u.iocr.reduction);
        qw_json_u64(j, "watchdog_factor", b->u.iocr.watchdog);
        return;
    }
    qw_json_u64(j, "alarmcr_type", b->u.alarm.type);
    qw_json_u64(j, "local_alarm_reference", b->u.alarm.ref);
    qw_json_u64(j, "max_alarm_data_length", b->u.alarm.max_data);
    if (b->type == 0x8103u) return;
    qw_json_u64(j, "rta_timeout_factor", b->u.alarm.timeout);
    qw_json_u64(j, "rta_retries", b->u.alarm.retries);
}

static void pn_json_block(struct qw_json *j, const struct pn_block *b, const struct pn_msg *m)
{
    const char *name = pn_block_name(b->type);
    qw_json_obj_begin(j, NULL);
    qw_json_u64(j, "type", b->type);
    if (name) qw_json_str(j, "name", name);
    qw_json_u64(j, "length", b->length);
    char v[8];
    snprintf(v, sizeof v, "%u.%u", b->vhigh, b->vlow);
    qw_json_str(j, "version", v);
    if (b->cut) qw_json_bool(j, "truncated", true);
    if (!b->short_body && !b->cut) {
        switch (b->type) {
        case PN_BT_IOD_WRITE_REQ:
        case PN_BT_IOD_READ_REQ:
        case PN_BT_IOD_WRITE_RES:
        case PN_BT_IOD_READ_RES: pn_json_iod(j, b); break;
        case 0x0101u:
        case 0x8101u: pn_json_ar(j, b, m); break;
        case 0x0102u:
        case 0x8102u:
        case 0x0103u:
        case 0x8103u: pn_json_cr(j, b); break;
        case 0x0104u:
        case 0x8104u:
            qw_json_u64(j, "apis", b->u.count.apis);
            qw_json_u64(j, b->type == 0x0104u ? "slots" : "modules", b->u.count.slots);
            qw_json_u64(j, "submodules", b->u.count.submodules);
            break;
        case PN_BT_MULTIPLE:
            qw_json_u64(j, "api", b->u.multi.api);
            qw_json_u64(j, "slot", b->u.multi.slot);
            qw_json_u64(j, "subslot", b->u.multi.subslot);
            break;
        default:
            if (pn_is_control(b->type)) pn_json_control(j, b);
            break;
        }
    }
    qw_json_obj_end(j);
}

static void pn_json_im0(struct qw_json *j, const struct pn_im0 *im)
{
    char s[24];
    qw_json_obj_begin(j, "im0");
    qw_json_u64(j, "vendor_id", im->vendor);
    const char *vn = qw_profinet_vendor_name(im->vendor);
    if (vn) qw_json_str(j, "vendor", vn);
    qw_json_str(j, "order_id", im->order);
    qw_json_str(j, "serial_number", im->serial);
    qw_json_u64(j, "hardware_revision", im->hw_rev);
    snprintf(s, sizeof s, "%c%u.%u.%u", im->sw_prefix >= 0x20 && im->sw_prefix < 0x7F ?
             im->sw_prefix : '?', im->sw[0], im->sw[1], im->sw[2]);
    qw_json_str(j, "software_revision", s);
    qw_json_u64(j, "revision_counter", im->rev_counter);
    qw_json_u64(j, "profile_id", im->profile_id);
    qw_json_u64(j, "profile_specific_type", im->profile_type);
    snprintf(s, sizeof s, "%u.%u", im->im_major, im->im_minor);
    qw_json_str(j, "im_version", s);
    qw_json_u64(j, "im_supported", im->supported);
    qw_json_obj_end(j);
}

static void pn_json_fragments(struct qw_json *j, const struct pn_msg *m)
{
    if (m->first_frag) qw_json_u64(j, "first_fragment", m->first_frag);
    if ((m->h.flags1 & PN_F1_FRAG) || m->nfrags > 1) qw_json_u64(j, "fragments", m->nfrags);
    if (!m->complete) qw_json_bool(j, "incomplete", true);
    if (m->retransmissions) qw_json_u64(j, "retransmissions", m->retransmissions);
    bool any = false;
    for (unsigned t = 0; t <= PN_PTYPE_MAX; t++) any |= m->others[t] != 0;
    if (!any) return;
    qw_json_obj_begin(j, "other_pdus");
    for (unsigned t = 0; t <= PN_PTYPE_MAX; t++)
        if (m->others[t]) qw_json_u64_k(j, qw_json_key_of(pn_ptype_name((uint8_t)t), 0),
                                        m->others[t]);
    qw_json_obj_end(j);
}

static void pn_json_side(struct qw_json *j, const char *key, const struct pn_msg *m)
{
    qw_json_obj_begin(j, key);
    qw_json_str(j, "packet_type", pn_ptype_name(m->h.ptype));
    qw_json_arr_begin(j, "flags");
    for (unsigned i = 0; i < 8; i++)
        if ((m->h.flags1 >> i & 1u) && pn_flag1_names[i]) qw_json_str(j, NULL, pn_flag1_names[i]);
    if (m->h.flags2 & 0x02u) qw_json_str(j, NULL, "cancel_pending");
    qw_json_arr_end(j);
    qw_json_str(j, "byte_order", m->h.le ? "little_endian" : "big_endian");
    if (m->h.auth_proto) qw_json_u64(j, "auth_protocol", m->h.auth_proto);
    pn_json_fragments(j, m);
    if (m->has_fault) {
        char s[12];
        snprintf(s, sizeof s, "0x%08x", (unsigned)m->fault_status);
        qw_json_str(j, "fault_status", s);
    }
    if (m->pnio) {
        if (m->h.ptype == PN_PT_REQUEST) qw_json_u64(j, "args_maximum", m->args_max);
        else pn_json_status(j, "status", m->status);
        qw_json_u64(j, "args_length", m->args_len);
        qw_json_arr_begin(j, "blocks");
        for (unsigned i = 0; i < m->nblocks; i++) pn_json_block(j, &m->blocks[i], m);
        qw_json_arr_end(j);
        if (m->blocks_total > m->nblocks) qw_json_u64(j, "blocks_total", m->blocks_total);
    }
    if (m->has_im0) pn_json_im0(j, &m->x.im0);
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

/* The first record header (read or write) of a PDU, or NULL. */
static const struct pn_block *pn_first_iod(const struct pn_msg *m)
{
    for (unsigned i = 0; m && i < m->nblocks; i++) {
        uint16_t t = m->blocks[i].type & 0x7FFFu;
        if ((t == PN_BT_IOD_WRITE_REQ || t == PN_BT_IOD_READ_REQ) && !m->blocks[i].short_body &&
            !m->blocks[i].cut)
            return &m->blocks[i];
    }
    return NULL;
}

static const char *pn_function_name(const struct pn_hdr *h)
{
    if (h->iface == PN_IF_EPM)
        return h->opnum < sizeof pn_epm_ops / sizeof pn_epm_ops[0] ? pn_epm_ops[h->opnum]
                                                                    : "unknown";
    if (pn_iface_is_pnio(h->iface) && h->opnum < PN_OPNUMS) return pn_opnums[h->opnum].name;
    return "unknown";
}

struct pn_view {
    const struct pn_msg *req, *rsp;
};

static void pn_write_json(struct qw_json *j, const void *arg)
{
    const struct pn_view *v = arg;
    const struct pn_msg *key = v->req ? v->req : v->rsp;
    qw_json_u64(j, "opnum", key->h.opnum);
    qw_json_str(j, "operation", pn_function_name(&key->h));
    qw_json_str(j, "interface", pn_iface_name(key->h.iface));
    if (key->h.iface == PN_IF_UNKNOWN) pn_json_uuid(j, "interface_uuid", key->h.iface_uuid);
    pn_json_uuid(j, "object_uuid", key->h.object);
    pn_json_uuid(j, "activity", key->h.activity);
    qw_json_u64(j, "sequence", key->h.seq);
    const struct pn_block *io = pn_first_iod(v->req);
    if (!io) io = pn_first_iod(v->rsp);
    if (io) {
        struct pn_index_info ix = pn_index_info(io->u.iod.index);
        qw_json_u64(j, "api", io->u.iod.api);
        qw_json_u64(j, "slot", io->u.iod.slot);
        qw_json_u64(j, "subslot", io->u.iod.subslot);
        qw_json_u64(j, "index", io->u.iod.index);
        if (ix.name) qw_json_str(j, "index_name", ix.name);
    }
    if (v->req) pn_json_side(j, "request", v->req);
    if (v->rsp) pn_json_side(j, "response", v->rsp);
}

/* ---- Transactions -------------------------------------------------------------------------- */

static bool pn_is_call_pdu(uint8_t ptype)
{
    return ptype == PN_PT_REQUEST || ptype == PN_PT_RESPONSE || ptype == PN_PT_FAULT ||
           ptype == PN_PT_REJECT;
}

static uint32_t pn_ops(const struct pn_msg *key, const struct pn_msg *req,
                       const struct pn_msg *rsp)
{
    if (!pn_is_call_pdu(key->h.ptype) || !pn_iface_is_pnio(key->h.iface)) return 0;
    if (key->h.opnum >= PN_OPNUMS) return 0;
    uint32_t ops = pn_opnums[key->h.opnum].ops;
    if (ops & QW_OP_READ) {
        const struct pn_block *io = pn_first_iod(req);
        if (!io) io = pn_first_iod(rsp);
        if (io) ops |= pn_index_info(io->u.iod.index).read_ops;
    }
    return ops;
}

static bool pn_error(const struct pn_msg *rsp)
{
    if (!rsp) return false;
    if (rsp->h.ptype == PN_PT_FAULT || rsp->h.ptype == PN_PT_REJECT) return true;
    if (rsp->pnio && rsp->status != 0) return true;
    for (unsigned i = 0; i < rsp->nblocks; i++)
        if (rsp->blocks[i].type == PN_BT_IOD_WRITE_RES && !rsp->blocks[i].short_body &&
            !rsp->blocks[i].cut && rsp->blocks[i].u.iod.status != 0)
            return true;
    return false;
}

struct pn_slot {
    bool used;
    uint32_t order;
    uint64_t ts;
    struct pn_msg msg;
};

struct pn_state {
    struct pn_slot q[PN_QUEUE_MAX];
    uint32_t next_order;
    /* A fragmented response waiting for its last fragment. */
    bool rsp_used;
    uint64_t rsp_ts;
    struct pn_msg rsp;
    struct pn_msg scratch; /* the PDU being decoded */
    uint32_t im0_hash;     /* the I&M0 facts last given, so a repeat gives none */
    struct pn_view view;
};

static void pn_emit(struct qw_pctx *ctx, struct pn_state *st, const struct pn_msg *req,
                    uint64_t req_ns, const struct pn_msg *rsp, uint64_t rsp_ns)
{
    const struct pn_msg *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->h.opnum;
    t.function_name = pn_function_name(&key->h);
    t.ops = pn_ops(key, req, rsp);
    t.error = pn_error(rsp);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = pn_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static bool pn_same_call(const struct pn_hdr *a, const struct pn_hdr *b)
{
    return a->seq == b->seq && memcmp(a->activity, b->activity, 16) == 0;
}

static struct pn_slot *pn_find(struct pn_state *st, const struct pn_hdr *h)
{
    for (size_t i = 0; i < PN_QUEUE_MAX; i++)
        if (st->q[i].used && pn_same_call(&st->q[i].msg.h, h)) return &st->q[i];
    return NULL;
}

static struct pn_slot *pn_oldest(struct pn_state *st)
{
    struct pn_slot *best = NULL;
    for (size_t i = 0; i < PN_QUEUE_MAX; i++)
        if (st->q[i].used && (!best || (int32_t)(st->q[i].order - best->order) < 0))
            best = &st->q[i];
    return best;
}

static void pn_flush_slot(struct qw_pctx *ctx, struct pn_state *st, struct pn_slot *s)
{
    pn_emit(ctx, st, &s->msg, s->ts, NULL, 0);
    s->used = false;
}

/* A free slot for a new request: the oldest waiting one is reported unanswered for it. */
static struct pn_slot *pn_slot_new(struct qw_pctx *ctx, struct pn_state *st)
{
    for (size_t i = 0; i < PN_QUEUE_MAX; i++)
        if (!st->q[i].used) return &st->q[i];
    struct pn_slot *s = pn_oldest(st);
    pn_flush_slot(ctx, st, s);
    return s;
}

/* The held response with its request (if this flow has it). */
static void pn_flush_rsp(struct qw_pctx *ctx, struct pn_state *st)
{
    if (!st->rsp_used) return;
    struct pn_slot *s = pn_find(st, &st->rsp.h);
    st->rsp_used = false;
    pn_emit(ctx, st, s ? &s->msg : NULL, s ? s->ts : 0, &st->rsp, st->rsp_ts);
    if (s) s->used = false;
}

/* A fragment after the first of PDU `held`. */
static void pn_fragment(struct qw_pctx *ctx, struct pn_msg *held, const struct pn_hdr *h)
{
    if (held->complete) {
        qw_emit_anomaly(ctx, "pnio_cm.invalid_fragment", "after the last fragment");
        return;
    }
    if (h->frag_num < held->next_frag) {
        if (held->retransmissions < UINT8_MAX) held->retransmissions++;
        return;
    }
    if (h->frag_num > held->next_frag) {
        held->frag_gap = true;
        qw_emit_anomaly(ctx, "pnio_cm.invalid_fragment", "fragment number gap");
    }
    held->next_frag = (uint16_t)(h->frag_num + 1u);
    if (held->nfrags < UINT16_MAX) held->nfrags++;
    if (h->flags1 & PN_F1_LASTFRAG) held->complete = true;
}

/* A new message from a PDU with fragment number 0 (or the first this flow saw). */
static void pn_msg_start(struct pn_msg *m)
{
    m->nfrags = 1;
    m->next_frag = (uint16_t)(m->h.frag_num + 1u);
    m->first_frag = m->h.frag_num;
    m->complete = !(m->h.flags1 & PN_F1_FRAG) || (m->h.flags1 & PN_F1_LASTFRAG);
}

static void pn_count_other(struct pn_msg *m, uint8_t ptype)
{
    if (m->others[ptype] < UINT8_MAX) m->others[ptype]++;
}

/* ---- Identity ------------------------------------------------------------------------------ */

static uint32_t pn_fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* The I&M0 facts of the device that answered (the sender of the response). */
static void pn_identity(struct qw_pctx *ctx, struct pn_state *st, const struct pn_im0 *im,
                        enum qw_dir dir)
{
    uint32_t h = pn_fnv(2166136261u, im, sizeof *im);
    h = pn_fnv(h, &dir, sizeof dir);
    if (h == st->im0_hash) return;
    st->im0_hash = h;
    bool server = dir == QW_DIR_TO_CLIENT;
    char s[32];
    int n = snprintf(s, sizeof s, "0x%04x", im->vendor);
    qw_emit_identity(ctx, server, "vendor_id", s, (size_t)n);
    const char *vn = qw_profinet_vendor_name(im->vendor);
    if (vn) qw_emit_identity(ctx, server, "vendor", vn, strlen(vn));
    if (im->order[0]) qw_emit_identity(ctx, server, "model", im->order, strlen(im->order));
    if (im->serial[0]) qw_emit_identity(ctx, server, "serial", im->serial, strlen(im->serial));
    if (im->sw_prefix >= 0x21 && im->sw_prefix < 0x7F) {
        n = snprintf(s, sizeof s, "%c%u.%u.%u", im->sw_prefix, im->sw[0], im->sw[1], im->sw[2]);
        qw_emit_identity(ctx, server, "firmware", s, (size_t)n);
    }
    n = snprintf(s, sizeof s, "%u", im->hw_rev);
    qw_emit_identity(ctx, server, "hardware", s, (size_t)n);
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void pn_on_request(struct qw_pctx *ctx, struct pn_state *st, const struct pn_hdr *h,
                          enum qw_dir dir, const uint8_t *body, size_t n, bool cut)
{
    struct pn_slot *s = pn_find(st, h);
    if (s && qw_pctx_time(ctx) - s->ts <= PN_RETRANSMIT_NS) {
        /* the same call again: a retransmission ([C706] 12.3) */
        if (s->msg.retransmissions < UINT8_MAX) s->msg.retransmissions++;
        return;
    }
    if (s) pn_flush_slot(ctx, st, s); /* long after: a new call that reuses the numbers */
    s = pn_slot_new(ctx, st);
    memset(&s->msg, 0, sizeof s->msg);
    s->msg.h = *h;
    s->msg.dir = dir;
    pn_msg_start(&s->msg);
    pn_decode_body(ctx, &s->msg, body, n, cut);
    s->used = true;
    s->order = st->next_order++;
    s->ts = qw_pctx_time(ctx);
    /* A "maybe" call asks for no response. */
    if ((h->flags1 & PN_F1_MAYBE) && s->msg.complete) pn_flush_slot(ctx, st, s);
}

static void pn_on_response(struct qw_pctx *ctx, struct pn_state *st, const struct pn_hdr *h,
                           enum qw_dir dir, const uint8_t *body, size_t n, bool cut)
{
    if (st->rsp_used && pn_same_call(&st->rsp.h, h)) { /* its first fragment again */
        if (st->rsp.retransmissions < UINT8_MAX) st->rsp.retransmissions++;
        return;
    }
    struct pn_msg *m = &st->scratch;
    memset(m, 0, sizeof *m);
    m->h = *h;
    m->dir = dir;
    pn_msg_start(m);
    pn_decode_body(ctx, m, body, n, cut);
    if (m->has_im0) pn_identity(ctx, st, &m->x.im0, dir);
    if (!m->complete) {
        pn_flush_rsp(ctx, st);
        st->rsp = *m;
        st->rsp_used = true;
        st->rsp_ts = qw_pctx_time(ctx);
        return;
    }
    struct pn_slot *s = pn_find(st, h);
    pn_emit(ctx, st, s ? &s->msg : NULL, s ? s->ts : 0, m, qw_pctx_time(ctx));
    if (s) s->used = false;
}

/* A fragment numbered above 0: it continues a request waiting here or the held response;
 * else its first fragment was not seen, and it is a record of its own. */
static void pn_on_continuation(struct qw_pctx *ctx, struct pn_state *st,
                               const struct pn_hdr *h, enum qw_dir dir)
{
    if (h->ptype == PN_PT_REQUEST) {
        struct pn_slot *s = pn_find(st, h);
        if (s) {
            pn_fragment(ctx, &s->msg, h);
            return;
        }
    } else if (st->rsp_used && pn_same_call(&st->rsp.h, h)) {
        pn_fragment(ctx, &st->rsp, h);
        if (st->rsp.complete) pn_flush_rsp(ctx, st);
        return;
    }
    struct pn_msg *m = &st->scratch;
    memset(m, 0, sizeof *m);
    m->h = *h;
    m->dir = dir;
    pn_msg_start(m);
    uint64_t now = qw_pctx_time(ctx);
    if (h->ptype == PN_PT_REQUEST) pn_emit(ctx, st, m, now, NULL, 0);
    else pn_emit(ctx, st, NULL, 0, m, now);
}

/* Ping, working, nocall, ack, cancel, fack, cancel_ack: counted on their call when it waits
 * here; else a record of its own, on the side its direction says. */
static void pn_on_other(struct qw_pctx *ctx, struct pn_state *st, const struct pn_hdr *h,
                        enum qw_dir dir)
{
    struct pn_slot *s = pn_find(st, h);
    if (s) {
        pn_count_other(&s->msg, h->ptype);
        return;
    }
    if (st->rsp_used && pn_same_call(&st->rsp.h, h)) {
        pn_count_other(&st->rsp, h->ptype);
        return;
    }
    struct pn_msg *m = &st->scratch;
    memset(m, 0, sizeof *m);
    m->h = *h;
    m->dir = dir;
    pn_msg_start(m);
    uint64_t now = qw_pctx_time(ctx);
    if (dir == QW_DIR_TO_SERVER) pn_emit(ctx, st, m, now, NULL, 0);
    else pn_emit(ctx, st, NULL, 0, m, now);
}

static void pn_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct pn_state *st = state;
    struct pn_hdr h;
    if (!pn_hdr_decode(data, len, &h)) {
        qw_emit_anomaly(ctx, "pnio_cm.truncated", "header");
        return;
    }
    if (!pn_hdr_sane(&h)) {
        qw_emit_anomaly(ctx, "pnio_cm.invalid_header", h.version != 4 ? "version" :
                        h.ptype > PN_PTYPE_MAX ? "packet type" : "data representation");
        return;
    }
    size_t body = len - PN_HDR_LEN;
    bool cut = h.body_len > body;
    if (cut) {
        qw_emit_anomaly(ctx, "pnio_cm.invalid_length", "body length beyond the datagram");
    } else {
        if (h.body_len < body && h.auth_proto == 0)
            qw_emit_anomaly(ctx, "pnio_cm.invalid_length", "bytes after the body");
        body = h.body_len;
    }
    const uint8_t *b = data + PN_HDR_LEN;
    if (h.frag_num > 0 && !(h.flags1 & PN_F1_FRAG))
        qw_emit_anomaly(ctx, "pnio_cm.invalid_fragment", "fragment number without the flag");
    if (h.frag_num > 0 && pn_is_call_pdu(h.ptype)) {
        pn_on_continuation(ctx, st, &h, dir);
        return;
    }
    switch (h.ptype) {
    case PN_PT_REQUEST: pn_on_request(ctx, st, &h, dir, b, body, cut); return;
    case PN_PT_RESPONSE:
    case PN_PT_FAULT:
    case PN_PT_REJECT: pn_on_response(ctx, st, &h, dir, b, body, cut); return;
    default: pn_on_other(ctx, st, &h, dir); return;
    }
}

static void pn_flow_end(struct qw_pctx *ctx, void *state)
{
    struct pn_state *st = state;
    pn_flush_rsp(ctx, st);
    struct pn_slot *s;
    while ((s = pn_oldest(st)) != NULL) pn_flush_slot(ctx, st, s);
}

/* Payload alone decides ([C706] 12.5, [6-10]): a connectionless header of version 4 with a
 * known packet type and data representation, the interface UUID of one of the four PNIO CM
 * interfaces, a body length equal to what follows the header (at least it, when an
 * authentication trailer follows), and a fragment number only on a fragment. Another DCE/RPC
 * service (the Windows endpoint mapper on 135, DCOM...) names another interface. A response,
 * fault, reject, working, nocall or cancel_ack comes from the server of the call: a flow that
 * starts with one is turned round. */
static enum qw_probe_result pn_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    struct pn_hdr h;
    if (!pn_hdr_decode(data, len, &h) || !pn_hdr_sane(&h)) return QW_PROBE_NO;
    if (!pn_iface_is_pnio(h.iface) || (h.flags2 & 0xFCu)) return QW_PROBE_NO;
    size_t body = len - PN_HDR_LEN;
    if (h.auth_proto == 0 ? body != h.body_len : body < h.body_len) return QW_PROBE_NO;
    if (h.frag_num > 0 && !(h.flags1 & PN_F1_FRAG)) return QW_PROBE_NO;
    switch (h.ptype) {
    case PN_PT_RESPONSE:
    case PN_PT_FAULT:
    case PN_PT_WORKING:
    case PN_PT_NOCALL:
    case PN_PT_REJECT:
    case PN_PT_CANCEL_ACK: return QW_PROBE_MATCH_FROM_SERVER;
    default: return QW_PROBE_MATCH;
    }
}

const struct qw_proto qw_proto_pnio_cm = {
    .name = "pnio_cm",
    .transports = QW_TRANSPORT_UDP,
    .ports = {PN_PORT, 0},
    .probe = pn_probe,
    .state_size = sizeof(struct pn_state),
    .datagram = pn_datagram,
    .flow_end = pn_flow_end,
};
