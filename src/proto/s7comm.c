/* S7comm (Siemens S7 communication, protocol id 0x32) over ISO-on-TCP, TCP port 102.
 *
 * Specifications and references (S7comm itself has no public specification):
 *   [RFC1006] TPKT, s.6; [X224] ISO 8073 / ITU-T X.224 COTP, s.13 (framing: s7comm_framing.c).
 *   [SZL]  Siemens, "System Software for S7-300/400, System and Standard Functions", Vol. 2,
 *          "System Status Lists": SSL-ID/index, the partial-list header (LENTHDR, N_DR), the
 *          W#16#xy11 module identification record (index, MlfB, BGTyp, Ausbg, Ausbe) and the
 *          W#16#xy1C component identification record (index + 32-character string).
 *   [S7P]  Siemens S7-300/400 manuals: operating modes, block types, DATE_AND_TIME (BCD).
 *   [WS]   Wireshark's S7comm dissector field and value names (tshark -G fields / values), the
 *          de-facto public description of the header, parameter and userdata layouts.
 *   [SNAP7] Snap7 documentation, "S7 Protocol": PDU negotiation, block transfer, PI services.
 *   Tables with the codes and their sources: s7comm_tables.c.
 *
 * S7 PDU header (big-endian) [WS]:
 *
 *   offset size meaning
 *   ------ ---- -----------------------------------------------------------------------------
 *        0    1 protocol id 0x32
 *        1    1 ROSCTR: 1 job (request), 2 ack, 3 ack_data (response), 7 userdata
 *        2    2 redundancy identification, reserved (0)
 *        4    2 PDU reference: chosen by the requester, echoed in the answer
 *        6    2 parameter length
 *        8    2 data length
 *       10    2 ack and ack_data only: error class, error code
 *   10/12  ...  parameter (first byte: the function for job/ack_data), then data
 *
 * Job / ack_data parameters per function:
 *   0xF0 setup communication: func, reserved, max AmQ calling(2), max AmQ called(2), PDU size(2)
 *   0x04/0x05 read/write var: func, item count, items of {0x12, spec length, syntax id, spec}
 *            S7ANY spec (length 10): transport size, length(2), DB(2), area, address(3) =
 *            byte << 3 | bit. Data (read response / write request) per item: return code,
 *            transport size, length(2) in bits for sizes 3, 4 and 5 else in bytes, value, and a
 *            fill byte after an odd-length value that is not the last. Write responses: one
 *            return code per item.
 *   0x1A-0x1F download/upload: func, status, 2 bytes, 4-byte id (upload id for 0x1D-0x1F), and
 *            for 0x1A-0x1D a file name "_" + block type (2 ASCII hex) + number (5 digits) +
 *            file system ('P' passive, 'A' active, 'B' both); the start-upload answer carries the
 *            block length as ASCII digits, download/upload answers the block bytes as data.
 *   0x28 PI service: func, 7 bytes, parameter block length(2) + block, name length(1) + name.
 *   0x29 PLC stop: func, 5 bytes, name length(1) + name ("P_PROGRAM").
 *
 * Userdata parameter: 00 01 12, length (4 or 8), method (0x11 request, 0x12 response), type
 * (high nibble: 0 push, 4 request, 8 response, 3/7/11 NC) | function group (low nibble),
 * subfunction, sequence number; with length 8 also data unit reference, last data unit (0 yes,
 * 1 more follows) and error code(2). Userdata data: return code, transport size, length(2),
 * payload. SZL reads carry SZL id(2) + index(2) in the request and the partial list (id, index,
 * record length, record count, records) in the response; a response longer than one PDU comes in
 * fragments (last data unit = 1), each fetched with a continuation request.
 *
 * Pairing: a job and its ack/ack_data, and a userdata request and its response, carry the same
 * PDU reference (the userdata sequence number is assigned by the responder and only links the
 * fragments of one answer, so it cannot pair). Jobs travel both ways: during a download the PLC
 * sends the "download block" jobs to the programming device. Outstanding requests wait in a
 * bounded queue keyed by (direction, PDU reference, userdata or not); their raw bytes live in a
 * small byte pool in the flow state, and the transaction record is decoded from them when the
 * answer arrives (or the flow ends).
 *
 * Identity: SZL 0x0011 / 0x0111 (module identification) gives the order number (model), the
 * module hardware version and the firmware version; SZL 0x001C (component identification) the
 * PLC and module names, plant designation, serial numbers, module type name and copyright.
 * Fragmented SZL answers of these lists are reassembled (S7_SZL_BUF bytes).
 *
 * Outcomes are kept apart (DESIGN.md, practice 3): broken framing or header is malformed
 * (anomaly, resynchronisation); a PDU shorter than its fields is truncated (anomaly, reported
 * with `truncated`); an unknown function or subfunction is reported as "unknown". */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/cotp.h"
#include "proto/proto.h"
#include "proto/s7comm_framing.h"
#include "proto/s7comm_tables.h"
#include "util/cursor.h"
#include "util/digits.h"
#include "util/json.h"

/* ---- Limits, each with its reason ---------------------------------------------------------- */

#define S7_PORT 102       /* ISO-TSAP over TCP, RFC 1006 s.7 */
#define S7_PROTO_ID 0x32
#define S7_HDR_LEN 10     /* job, userdata */
#define S7_ACK_HDR_LEN 12 /* ack, ack_data: + error class and code */
/* Largest TSDU (S7 PDU) reassembled per direction. The PDU size is negotiated by setup
 * communication: S7-300/400 CPUs confirm at most 960 bytes, S7-1200/1500 and clients ask for up
 * to 1920 (corpus: requests of 240, 480, 1920; confirmations of 240 and 480). 2048 covers 1920
 * with room; a longer TSDU is reported (s7comm.oversized_tsdu) and dropped. */
#define S7_TSDU_MAX 2048
/* Outstanding requests per flow. The parallel jobs each side allows ("max AmQ") are 1-3 in
 * practice (corpus: 1 or 2), plus userdata requests; past this the oldest is reported
 * unanswered (s7comm.request_queue_full, once per flow). */
#define S7_QUEUE_MAX 8
/* Raw bytes of the outstanding requests: two maximum-size PDUs. Requests are small (a read of
 * 20 variables is 250 bytes); when the pool is full the oldest request is reported unanswered. */
#define S7_POOL_BYTES (2 * S7_TSDU_MAX)
/* Reassembly of a fragmented SZL answer, for the identity lists only: SZL 0x001C holds at most
 * 11 records of 34 bytes and 0x0011 at most 5 of 28, with an 8-byte header: 1024 is ample. */
#define S7_SZL_BUF 1024
/* Identity facts already emitted on this flow (hash of attribute and value), so a client that
 * polls the SZL every few seconds does not repeat them. Past this, facts are emitted again. */
#define S7_IDENT_SEEN 24
/* Values shown per item (hex) and opaque data shown per PDU. */
#define S7_VALUE_HEX_MAX 16
#define S7_DATA_HEX_MAX 64

#define S7_ROSCTR_JOB 1
#define S7_ROSCTR_ACK 2
#define S7_ROSCTR_ACK_DATA 3
#define S7_ROSCTR_USERDATA 7

#define S7_FN_SETUP 0xf0
#define S7_FN_READ 0x04
#define S7_FN_WRITE 0x05
#define S7_FN_REQ_DOWNLOAD 0x1a
#define S7_FN_DOWNLOAD_BLOCK 0x1b
#define S7_FN_DOWNLOAD_ENDED 0x1c
#define S7_FN_START_UPLOAD 0x1d
#define S7_FN_UPLOAD 0x1e
#define S7_FN_END_UPLOAD 0x1f
#define S7_FN_PI 0x28
#define S7_FN_STOP 0x29

#define S7_VAR_SPEC 0x12  /* variable specification item type */
#define S7_SYNTAX_S7ANY 0x10
#define S7_SYNTAX_DBREAD 0xb0
#define S7_S7ANY_LEN 10   /* spec length of an S7ANY item */
#define S7_RC_SUCCESS 0xff
#define S7_RC_NO_DATA 0x0a /* userdata continuation request, error answers */

#define S7_UD_TYPE_PUSH 0x0
#define S7_UD_TYPE_REQ 0x4
#define S7_UD_TYPE_RSP 0x8
#define S7_UD_TYPE_NC_PUSH 0x3
#define S7_UD_TYPE_NC_REQ 0x7
#define S7_UD_TYPE_NC_RSP 0xb
#define S7_UD_GROUP_CPU 0x4
#define S7_UD_GROUP_SECURITY 0x5
#define S7_UD_GROUP_TIME 0x7
#define S7_UD_GROUP_BLOCK 0x3
#define S7_UD_SUB_SZL 0x01
#define S7_UD_PARAM_SHORT 4 /* userdata parameter length byte: no data-unit fields */

#define S7_SZL_MODULE_ID 0x11
#define S7_SZL_COMPONENT_ID 0x1c
#define S7_SZL11_RECORD 28 /* index(2) MlfB(20) BGTyp(2) Ausbg(2) Ausbe(2) */
#define S7_SZL1C_RECORD 34 /* index(2) text(32) */
#define S7_CLOCK_LEN 10    /* reserved, year high, then the 8-byte DATE_AND_TIME */
#define S7_FILENAME_LEN 9  /* "_" type(2) number(5) file system(1) */

/* ---- Decoded PDU --------------------------------------------------------------------------- */

/* Present-field bits, so a field cut by the end of the PDU is left out rather than shown as 0. */
enum s7_field {
    F_ERROR_HDR = 1u << 0,
    F_FUNCTION = 1u << 1,
    F_ITEMS = 1u << 2,      /* item count and item specs in the parameter */
    F_DATA_ITEMS = 1u << 3, /* data items (read answer, write request) */
    F_RC_ITEMS = 1u << 4,   /* one return code per item (write answer) */
    F_SETUP = 1u << 5,
    F_FUNC_STATUS = 1u << 6,
    F_FILENAME = 1u << 7,
    F_UPLOAD_ID = 1u << 8,
    F_BLOCK_LEN = 1u << 9,  /* ASCII block length (start upload answer) */
    F_DL_LENGTHS = 1u << 10, /* request download: load memory and MC7 lengths */
    F_BLOCK_DATA = 1u << 11,
    F_ERROR_CODE = 1u << 12, /* download ended / end upload error code */
    F_PI = 1u << 13,
    F_UD = 1u << 14,
    F_UD_EXT = 1u << 15,
    F_UD_DATA = 1u << 16,
    F_SZL = 1u << 17,
    F_SZL_HDR = 1u << 18,
    F_CLOCK = 1u << 19,
    F_BLOCK_REF = 1u << 20, /* userdata block functions: type, number, file system */
    F_PASSWORD = 1u << 21,
    F_OPAQUE = 1u << 22,
};

struct s7_pdu {
    const uint8_t *raw; /* the S7 PDU, header on; lives until the transaction is emitted */
    size_t len;
    uint32_t fields;
    uint32_t ops;
    bool response;     /* ack, ack_data, userdata response or push */
    bool error;
    bool truncated;
    bool continuation; /* userdata answer fragment that continues a previous one */
    uint8_t rosctr;
    uint16_t pdu_ref, param_len, data_len;
    uint8_t err_class, err_code;
    uint16_t param_off, param_avail; /* parameter bytes present (<= param_len) */
    uint16_t data_off, data_avail;
    uint8_t function;
    uint8_t item_count;
    uint8_t func_status;
    uint16_t amq_calling, amq_called, pdu_size;
    uint16_t name_off;  /* file name (download/upload) or PI service name */
    uint8_t name_len;
    uint32_t upload_id;
    uint16_t str_off;   /* ASCII length string (upload answer, request download part 2) */
    uint8_t str_len;
    uint32_t load_len, mc7_len;
    uint16_t block_data_len;
    uint16_t error_code16;
    uint16_t arg_off, arg_len; /* PI parameter block */
    const struct s7_pi_service *pi;
    const char *pi_action;
    /* userdata */
    uint8_t ud_method, ud_type, ud_group, ud_subfunc, ud_seq;
    uint8_t ud_dur, ud_last;
    uint16_t ud_err;
    uint8_t ud_rc, ud_tsize;
    uint16_t ud_dlen;
    uint16_t ud_payload_off, ud_payload_len; /* userdata payload present in the PDU */
    uint16_t szl_id, szl_index, szl_reclen, szl_count;
    uint16_t opaque_off, opaque_len;
    uint16_t ref_off; /* block reference in a userdata block-function request */
    uint8_t ref_len;
};

/* txn.function of a userdata PDU: 0x1000 | group << 8 | subfunction, so it never collides with
 * the job functions (0x00-0xff). */
static uint32_t s7_ud_function(const struct s7_pdu *p)
{
    return 0x1000u | (uint32_t)p->ud_group << 8 | p->ud_subfunc;
}

static const char *s7_pdu_function_name(const struct s7_pdu *p)
{
    if (p->fields & F_UD) {
        const struct s7_name_ops *s = s7_ud_subfunction(p->ud_group, p->ud_subfunc);
        return s ? s->name : "unknown";
    }
    if (p->fields & F_FUNCTION) {
        const struct s7_name_ops *f = s7_function(p->function);
        return f ? f->name : "unknown";
    }
    return NULL;
}

/* ---- Decoding ------------------------------------------------------------------------------ */

struct s7_dec {
    struct s7_pdu *p;
    struct qw_pctx *ctx; /* NULL: a silent re-decode (anomalies were reported at arrival) */
};

static void dec_anomaly(struct s7_dec *d, const char *name, const char *detail)
{
    if (d->ctx) qw_emit_anomaly(d->ctx, name, detail);
}

static uint16_t off_of(const struct s7_pdu *p, const struct qw_cursor *c)
{
    return (uint16_t)(qw_cur_ptr(c) - p->raw);
}

static bool is_digits(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return n > 0;
}

static uint32_t parse_digits(const uint8_t *s, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n && i < 9; i++) v = v * 10 + (uint32_t)(s[i] - '0');
    return v;
}

/* Read/write var items in the parameter: validate each spec (anomaly on a broken one). */
static void dec_param_items(struct s7_dec *d, struct qw_cursor *c)
{
    struct s7_pdu *p = d->p;
    p->item_count = qw_cur_u8(c);
    if (c->err) return;
    p->fields |= F_ITEMS;
    if (p->response) return; /* ack_data: function and count only */
    for (unsigned i = 0; i < p->item_count; i++) {
        uint8_t type = qw_cur_u8(c);
        uint8_t slen = qw_cur_u8(c);
        if (c->err) return;
        if (type != S7_VAR_SPEC) dec_anomaly(d, "s7comm.invalid_item", "variable spec type");
        const uint8_t *spec = qw_cur_take(c, slen);
        if (!spec) return;
        if (slen >= 1 && spec[0] == S7_SYNTAX_S7ANY && slen != S7_S7ANY_LEN)
            dec_anomaly(d, "s7comm.invalid_item", "s7any spec length");
    }
}

/* Byte length of a data item's value from its transport size and length field. */
static size_t data_item_bytes(uint8_t tsize, uint16_t len)
{
    if (tsize == 0x03 || tsize == 0x04 || tsize == 0x05) return (len + 7u) / 8u; /* in bits */
    return len;
}

/* Data items: read answers and write requests. */
static void dec_data_items(struct s7_dec *d, struct qw_cursor *c, unsigned count)
{
    struct s7_pdu *p = d->p;
    p->fields |= F_DATA_ITEMS;
    for (unsigned i = 0; i < count; i++) {
        uint8_t rc = qw_cur_u8(c);
        uint8_t tsize = qw_cur_u8(c);
        uint16_t len = qw_cur_be16(c);
        if (c->err) return;
        if (p->response && rc != S7_RC_SUCCESS) p->error = true; /* per-item failure */
        size_t n = data_item_bytes(tsize, len);
        if (!qw_cur_skip(c, n)) return;
        if ((n & 1u) && i + 1 < count) qw_cur_skip(c, 1); /* fill byte, not after the last */
        if (c->err) return;
    }
}

static void dec_filename(struct s7_dec *d, struct qw_cursor *c)
{
    struct s7_pdu *p = d->p;
    uint8_t n = qw_cur_u8(c);
    uint16_t at = c->err ? 0 : off_of(p, c);
    if (!qw_cur_skip(c, n)) return;
    p->name_off = at;
    p->name_len = n;
    p->fields |= F_FILENAME;
}

static void dec_setup(struct s7_dec *d, struct qw_cursor *c)
{
    struct s7_pdu *p = d->p;
    qw_cur_u8(c); /* reserved */
    p->amq_calling = qw_cur_be16(c);
    p->amq_called = qw_cur_be16(c);
    p->pdu_size = qw_cur_be16(c);
    if (!c->err) p->fields |= F_SETUP;
}

/* 0x1A-0x1F: status, 2 unknown bytes (or the error code), a 4-byte id, then per function. */
static void dec_block_transfer(struct s7_dec *d, struct qw_cursor *c, struct qw_cursor *data)
{
    struct s7_pdu *p = d->p;
    uint8_t fn = p->function;
    if (qw_cur_left(c) == 0) return; /* answers of 0x1A, 0x1C, 0x1F: the function byte only */
    p->func_status = qw_cur_u8(c);
    p->fields |= F_FUNC_STATUS;
    if (qw_cur_left(c) == 0) {
        /* answers to request download, download ended, end upload; download block and upload
         * answers: the block bytes are in the data part */
        if (p->response && (fn == S7_FN_DOWNLOAD_BLOCK || fn == S7_FN_UPLOAD)) {
            p->block_data_len = qw_cur_be16(data);
            qw_cur_u8(data);
            qw_cur_u8(data);
            if (!data->err) {
                p->fields |= F_BLOCK_DATA;
                qw_cur_skip(data, qw_cur_left(data) < p->block_data_len ? qw_cur_left(data)
                                                                         : p->block_data_len);
            }
        }
        return;
    }
    uint16_t w = qw_cur_be16(c);
    uint32_t id = qw_cur_be32(c);
    if (c->err) return;
    if (fn == S7_FN_DOWNLOAD_ENDED || fn == S7_FN_END_UPLOAD) {
        p->error_code16 = w;
        p->fields |= F_ERROR_CODE;
    }
    if (fn == S7_FN_START_UPLOAD || fn == S7_FN_UPLOAD || fn == S7_FN_END_UPLOAD) {
        p->upload_id = id;
        p->fields |= F_UPLOAD_ID;
    }
    if (fn == S7_FN_START_UPLOAD && p->response) {
        uint8_t n = qw_cur_u8(c);
        uint16_t at = c->err ? 0 : off_of(p, c);
        if (qw_cur_skip(c, n)) {
            p->str_off = at;
            p->str_len = n;
            p->fields |= F_BLOCK_LEN;
        }
        return;
    }
    if (fn == S7_FN_UPLOAD || fn == S7_FN_END_UPLOAD) return;
    dec_filename(d, c);
    if (fn != S7_FN_REQ_DOWNLOAD || c->err) return;
    /* request download part 2: length, '1', load memory length (6 digits), MC7 length (6) */
    uint8_t n = qw_cur_u8(c);
    const uint8_t *s = qw_cur_take(c, n);
    if (!s) return;
    if (n == 13 && is_digits(s + 1, 12)) {
        p->load_len = parse_digits(s + 1, 6);
        p->mc7_len = parse_digits(s + 7, 6);
        p->fields |= F_DL_LENGTHS;
    }
}

static void dec_pi(struct s7_dec *d, struct qw_cursor *c, bool stop)
{
    struct s7_pdu *p = d->p;
    if (p->response) return; /* the answer is the function byte only */
    qw_cur_skip(c, stop ? 5 : 7);
    if (!stop) {
        uint16_t alen = qw_cur_be16(c);
        uint16_t at = c->err ? 0 : off_of(p, c);
        if (!qw_cur_skip(c, alen)) return;
        p->arg_off = at;
        p->arg_len = alen;
    }
    uint8_t n = qw_cur_u8(c);
    uint16_t at = c->err ? 0 : off_of(p, c);
    const uint8_t *name = qw_cur_take(c, n);
    if (!name) return;
    p->name_off = at;
    p->name_len = n;
    p->fields |= F_PI;
    if (stop) return; /* PLC stop: ops from the function table */
    p->pi = s7_pi_lookup(name, n);
    if (!p->pi) {
        p->pi_action = "unknown";
        p->ops = 0;
    } else if (strcmp(p->pi->service, "P_PROGRAM") == 0) {
        p->pi_action = s7_pi_program_action(p->raw + p->arg_off, p->arg_len, &p->ops);
    } else {
        p->pi_action = p->pi->action;
        p->ops = p->pi->ops;
    }
}

static void dec_job(struct s7_dec *d, struct qw_cursor *par, struct qw_cursor *data)
{
    struct s7_pdu *p = d->p;
    p->function = qw_cur_u8(par);
    if (par->err) return;
    p->fields |= F_FUNCTION;
    const struct s7_name_ops *f = s7_function(p->function);
    p->ops = f ? f->ops : 0;
    switch (p->function) {
    case S7_FN_SETUP: dec_setup(d, par); break;
    case S7_FN_READ:
        dec_param_items(d, par);
        if (p->response && !par->err) dec_data_items(d, data, p->item_count);
        break;
    case S7_FN_WRITE:
        dec_param_items(d, par);
        if (par->err) break;
        if (!p->response) {
            dec_data_items(d, data, p->item_count);
        } else {
            p->fields |= F_RC_ITEMS;
            for (unsigned i = 0; i < p->item_count; i++) {
                uint8_t rc = qw_cur_u8(data);
                if (data->err) break;
                if (rc != S7_RC_SUCCESS) p->error = true;
            }
        }
        break;
    case S7_FN_REQ_DOWNLOAD:
    case S7_FN_DOWNLOAD_BLOCK:
    case S7_FN_DOWNLOAD_ENDED:
    case S7_FN_START_UPLOAD:
    case S7_FN_UPLOAD:
    case S7_FN_END_UPLOAD: dec_block_transfer(d, par, data); break;
    case S7_FN_PI: dec_pi(d, par, false); break;
    case S7_FN_STOP: dec_pi(d, par, true); break;
    default:
        /* unknown or CPU services: keep the parameter bytes as opaque data */
        qw_cur_skip(par, qw_cur_left(par));
        break;
    }
}

/* Userdata data part: return code, transport size, length, payload; then per group. */
static void dec_ud_data(struct s7_dec *d, struct qw_cursor *data)
{
    struct s7_pdu *p = d->p;
    if (qw_cur_left(data) == 0) return;
    p->ud_rc = qw_cur_u8(data);
    p->ud_tsize = qw_cur_u8(data);
    p->ud_dlen = qw_cur_be16(data);
    if (data->err) return;
    p->fields |= F_UD_DATA;
    bool cut = false;
    struct qw_cursor pay = qw_cur_sub(data, p->ud_dlen, &cut);
    if (cut) data->err = true; /* declared payload passes the PDU: truncated */
    p->ud_payload_off = pay.len ? off_of(p, &pay) : 0;
    p->ud_payload_len = (uint16_t)pay.len;
    bool req = p->ud_type == S7_UD_TYPE_REQ || p->ud_type == S7_UD_TYPE_NC_REQ;
    if (p->ud_rc != S7_RC_SUCCESS || pay.len == 0) return;

    if (p->ud_group == S7_UD_GROUP_CPU && p->ud_subfunc == S7_UD_SUB_SZL && !p->continuation) {
        p->szl_id = qw_cur_be16(&pay);
        p->szl_index = qw_cur_be16(&pay);
        if (pay.err) return;
        p->fields |= F_SZL;
        const struct s7_name_ops *l = s7_szl_list((uint8_t)(p->szl_id & 0xff));
        p->ops = l ? l->ops : QW_OP_DIAGNOSTIC;
        if (req) return;
        p->szl_reclen = qw_cur_be16(&pay);
        p->szl_count = qw_cur_be16(&pay);
        if (!pay.err) p->fields |= F_SZL_HDR;
        return;
    }
    if (p->ud_group == S7_UD_GROUP_SECURITY) {
        /* the password (8 bytes, trivially obfuscated): its presence only, never its bytes */
        p->fields |= F_PASSWORD;
        return;
    }
    if (p->ud_group == S7_UD_GROUP_TIME && pay.len == S7_CLOCK_LEN) {
        p->fields |= F_CLOCK;
        return;
    }
    if (p->ud_group == S7_UD_GROUP_BLOCK && req && (p->ud_subfunc == 2 || p->ud_subfunc == 3)) {
        /* list blocks of type: type (2 chars); get block info: type, number, file system */
        p->ref_off = p->ud_payload_off;
        p->ref_len = (uint8_t)(pay.len > 8 ? 8 : pay.len);
        p->fields |= F_BLOCK_REF;
        return;
    }
    p->opaque_off = p->ud_payload_off;
    p->opaque_len = p->ud_payload_len;
    p->fields |= F_OPAQUE;
}

static void dec_userdata(struct s7_dec *d, struct qw_cursor *par, struct qw_cursor *data)
{
    struct s7_pdu *p = d->p;
    qw_cur_skip(par, 3); /* 00 01 12 (00 01 00 on mode-transition pushes) */
    uint8_t plen = qw_cur_u8(par);
    p->ud_method = qw_cur_u8(par);
    uint8_t tg = qw_cur_u8(par);
    p->ud_subfunc = qw_cur_u8(par);
    p->ud_seq = qw_cur_u8(par);
    if (par->err) return;
    p->fields |= F_UD;
    p->ud_type = tg >> 4;
    p->ud_group = tg & 0x0f;
    p->response = !(p->ud_type == S7_UD_TYPE_REQ || p->ud_type == S7_UD_TYPE_NC_REQ);
    const struct s7_name_ops *s = s7_ud_subfunction(p->ud_group, p->ud_subfunc);
    p->ops = s ? s->ops : 0;
    if (plen > S7_UD_PARAM_SHORT && qw_cur_left(par) >= 4) {
        p->ud_dur = qw_cur_u8(par);
        p->ud_last = qw_cur_u8(par);
        p->ud_err = qw_cur_be16(par);
        p->fields |= F_UD_EXT;
        if (p->ud_err != 0) p->error = true;
    }
    qw_cur_skip(par, qw_cur_left(par));
    dec_ud_data(d, data);
}

/* Decode one S7 PDU. `continuation` says that a userdata answer continues a fragmented one (the
 * caller keeps that state). Returns false when the header is not S7comm. */
static bool s7_decode(struct s7_pdu *p, struct qw_pctx *ctx, const uint8_t *raw, size_t len,
                      bool continuation)
{
    memset(p, 0, sizeof *p);
    p->raw = raw;
    p->len = len;
    p->continuation = continuation;
    struct s7_dec d = {p, ctx};
    struct qw_cursor c = qw_cursor_make(raw, len);
    uint8_t id = qw_cur_u8(&c);
    p->rosctr = qw_cur_u8(&c);
    qw_cur_skip(&c, 2);
    p->pdu_ref = qw_cur_be16(&c);
    p->param_len = qw_cur_be16(&c);
    p->data_len = qw_cur_be16(&c);
    if (c.err || id != S7_PROTO_ID) return false;
    if (p->rosctr == S7_ROSCTR_ACK || p->rosctr == S7_ROSCTR_ACK_DATA) {
        p->response = true;
        p->err_class = qw_cur_u8(&c);
        p->err_code = qw_cur_u8(&c);
        if (c.err) return false;
        p->fields |= F_ERROR_HDR;
        if (p->err_class || p->err_code) p->error = true;
    }
    bool cut_par = false, cut_data = false;
    struct qw_cursor par = qw_cur_sub(&c, p->param_len, &cut_par);
    struct qw_cursor data = qw_cur_sub(&c, p->data_len, &cut_data);
    p->param_off = par.len ? off_of(p, &par) : 0;
    p->param_avail = (uint16_t)par.len;
    p->data_off = data.len ? off_of(p, &data) : 0;
    p->data_avail = (uint16_t)data.len;

    if (p->rosctr == S7_ROSCTR_USERDATA) {
        dec_userdata(&d, &par, &data);
    } else if (p->param_len > 0) {
        dec_job(&d, &par, &data);
    }
    if (par.err || data.err || cut_par || cut_data) {
        p->truncated = true;
        const char *fn = s7_pdu_function_name(p);
        dec_anomaly(&d, "s7comm.truncated_pdu", fn ? fn : s7_rosctr_name(p->rosctr));
    } else if (qw_cur_left(&c) > 0) {
        dec_anomaly(&d, "s7comm.trailing_data", s7_rosctr_name(p->rosctr));
    }
    return true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct s7_view {
    const struct s7_pdu *req, *rsp;
};

static void json_hex_bounded(struct qw_json *j, const char *key, const uint8_t *b, size_t n,
                             size_t max, const char *cut_key)
{
    qw_json_hex(j, key, b, n > max ? max : n);
    if (n > max) qw_json_bool(j, cut_key, true);
}

/* Printable ASCII as a string, anything else as hex. */
static void json_text_or_hex(struct qw_json *j, const char *key, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] < 0x20 || b[i] > 0x7e) {
            json_hex_bounded(j, key, b, n, S7_DATA_HEX_MAX, "data_truncated");
            return;
        }
    }
    qw_json_strn(j, key, b, n);
}

/* "_0A00001P" -> block_type DB, block_number 1, filesystem P. */
static void json_block_name(struct qw_json *j, const uint8_t *s, size_t n)
{
    if (n < 8) return;
    const char *t = s7_block_type_name(s);
    qw_json_str(j, "block_type", t ? t : "unknown");
    qw_json_strn(j, "block_type_code", s, 2);
    if (is_digits(s + 2, 5)) qw_json_u64(j, "block_number", parse_digits(s + 2, 5));
    qw_json_strn(j, "filesystem", s + 7, 1);
}

static void json_param_items(struct qw_json *j, const struct s7_pdu *p)
{
    struct qw_cursor c = qw_cursor_make(p->raw + p->param_off, p->param_avail);
    qw_cur_skip(&c, 2); /* function, count */
    qw_json_arr_begin(j, "items");
    for (unsigned i = 0; i < p->item_count; i++) {
        qw_cur_u8(&c);
        uint8_t slen = qw_cur_u8(&c);
        const uint8_t *spec = qw_cur_take(&c, slen);
        if (!spec || slen == 0) break;
        struct qw_cursor s = qw_cursor_make(spec, slen);
        uint8_t syntax = qw_cur_u8(&s);
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "syntax_id", syntax);
        qw_json_str(j, "syntax_name", s7_syntax_name(syntax));
        if (syntax == S7_SYNTAX_S7ANY && slen == S7_S7ANY_LEN) {
            uint8_t ts = qw_cur_u8(&s);
            uint16_t len = qw_cur_be16(&s);
            uint16_t db = qw_cur_be16(&s);
            uint8_t area = qw_cur_u8(&s);
            uint32_t addr = qw_cur_be24(&s);
            qw_json_u64(j, "transport_size", ts);
            qw_json_str(j, "transport_size_name", s7_transport_size_name(ts));
            qw_json_u64(j, "length", len);
            qw_json_u64(j, "db", db);
            qw_json_u64(j, "area", area);
            qw_json_str(j, "area_name", s7_area_name(area));
            qw_json_u64(j, "byte_address", addr >> 3);
            qw_json_u64(j, "bit_address", addr & 7u);
        } else if (syntax == S7_SYNTAX_DBREAD) {
            uint8_t nareas = qw_cur_u8(&s);
            qw_json_arr_begin(j, "areas");
            for (unsigned k = 0; k < nareas; k++) {
                uint8_t len = qw_cur_u8(&s);
                uint16_t db = qw_cur_be16(&s);
                uint16_t start = qw_cur_be16(&s);
                if (s.err) break;
                qw_json_obj_begin(j, NULL);
                qw_json_u64(j, "length", len);
                qw_json_u64(j, "db", db);
                qw_json_u64(j, "start", start);
                qw_json_obj_end(j);
            }
            qw_json_arr_end(j);
        } else {
            qw_json_hex(j, "spec", spec + 1, slen - 1u);
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void json_data_items(struct qw_json *j, const struct s7_pdu *p)
{
    struct qw_cursor c = qw_cursor_make(p->raw + p->data_off, p->data_avail);
    qw_json_arr_begin(j, p->response ? "results" : "values");
    for (unsigned i = 0; i < p->item_count; i++) {
        uint8_t rc = qw_cur_u8(&c);
        uint8_t ts = qw_cur_u8(&c);
        uint16_t len = qw_cur_be16(&c);
        if (c.err) break;
        size_t n = data_item_bytes(ts, len);
        size_t have = qw_cur_left(&c) < n ? qw_cur_left(&c) : n;
        const uint8_t *v = qw_cur_ptr(&c);
        qw_json_obj_begin(j, NULL);
        if (p->response) {
            qw_json_u64(j, "return_code", rc);
            qw_json_str(j, "return_name", s7_return_code_name(rc));
        }
        qw_json_u64(j, "transport_size", ts);
        qw_json_str(j, "transport_size_name", s7_data_transport_size_name(ts));
        qw_json_u64(j, "length", len);
        if (have) json_hex_bounded(j, "value", v, have, S7_VALUE_HEX_MAX, "value_truncated");
        qw_json_obj_end(j);
        if (!qw_cur_skip(&c, n)) break;
        if ((n & 1u) && i + 1 < p->item_count) qw_cur_skip(&c, 1);
    }
    qw_json_arr_end(j);
}

static void json_rc_items(struct qw_json *j, const struct s7_pdu *p)
{
    qw_json_arr_begin(j, "results");
    for (unsigned i = 0; i < p->item_count && i < p->data_avail; i++) {
        uint8_t rc = p->raw[p->data_off + i];
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "return_code", rc);
        qw_json_str(j, "return_name", s7_return_code_name(rc));
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

/* Clock payload: reserved, year high (ignored: DATE_AND_TIME derives the century from the
 * year), year, month, day, hour, minute, second (BCD), milliseconds (3 BCD digits) and the day
 * of the week in the last nibble [S7P]. */
static void json_clock(struct qw_json *j, const uint8_t *b)
{
    for (int i = 2; i < 9; i++) {
        if (!qw_bcd_valid(b[i])) {
            qw_json_hex(j, "clock_raw", b, S7_CLOCK_LEN);
            return;
        }
    }
    if ((b[9] >> 4) > 9) {
        qw_json_hex(j, "clock_raw", b, S7_CLOCK_LEN);
        return;
    }
    unsigned yy = qw_bcd_value(b[2]);
    unsigned year = yy >= 90 ? 1900 + yy : 2000 + yy;
    unsigned ms = qw_bcd_value(b[8]) * 10u + (b[9] >> 4);
    char s[40];
    snprintf(s, sizeof s, "%04u-%02u-%02uT%02u:%02u:%02u.%03u", year, qw_bcd_value(b[3]),
             qw_bcd_value(b[4]), qw_bcd_value(b[5]), qw_bcd_value(b[6]), qw_bcd_value(b[7]), ms);
    qw_json_str(j, "clock", s);
}

static void json_userdata(struct qw_json *j, const struct s7_pdu *p)
{
    uint32_t f = p->fields;
    qw_json_u64(j, "method", p->ud_method);
    qw_json_u64(j, "type", p->ud_type);
    qw_json_str(j, "type_name", s7_ud_type_name(p->ud_type));
    qw_json_u64(j, "function_group", p->ud_group);
    qw_json_str(j, "function_group_name", s7_ud_group_name(p->ud_group));
    qw_json_u64(j, "subfunction", p->ud_subfunc);
    qw_json_str(j, "subfunction_name", s7_pdu_function_name(p));
    qw_json_u64(j, "sequence_number", p->ud_seq);
    if (f & F_UD_EXT) {
        qw_json_u64(j, "data_unit_reference", p->ud_dur);
        qw_json_bool(j, "last_data_unit", p->ud_last == 0);
        qw_json_u64(j, "error_code", p->ud_err);
    }
    if (p->continuation) qw_json_bool(j, "continuation", true);
    if (f & F_UD_DATA) {
        qw_json_u64(j, "return_code", p->ud_rc);
        /* 0x0a in a request, or in an answer without error code, only says "no data follows"
         * (a continuation request, the answer to a password or set-clock request) */
        bool no_data = p->ud_rc == S7_RC_NO_DATA && (!p->response || p->ud_err == 0);
        qw_json_str(j, "return_name", no_data ? "no_data" : s7_return_code_name(p->ud_rc));
        qw_json_u64(j, "transport_size", p->ud_tsize);
        qw_json_u64(j, "payload_length", p->ud_dlen);
    }
    if (f & F_SZL) {
        qw_json_u64(j, "szl_id", p->szl_id);
        qw_json_u64(j, "szl_index", p->szl_index);
        const struct s7_name_ops *l = s7_szl_list((uint8_t)(p->szl_id & 0xff));
        qw_json_str(j, "szl_list_name", l ? l->name : "unknown");
    }
    if (f & F_SZL_HDR) {
        qw_json_u64(j, "szl_record_length", p->szl_reclen);
        qw_json_u64(j, "szl_record_count", p->szl_count);
    }
    if (f & F_PASSWORD) qw_json_bool(j, "password_present", true);
    if (f & F_CLOCK) json_clock(j, p->raw + p->ud_payload_off);
    if (f & F_BLOCK_REF) {
        const uint8_t *r = p->raw + p->ref_off;
        if (p->ref_len >= 2) {
            const char *t = s7_block_type_name(r);
            qw_json_str(j, "block_type", t ? t : "unknown");
            qw_json_strn(j, "block_type_code", r, 2);
        }
        if (p->ref_len >= 7 && is_digits(r + 2, 5))
            qw_json_u64(j, "block_number", parse_digits(r + 2, 5));
        if (p->ref_len >= 8) qw_json_strn(j, "filesystem", r + 7, 1);
    }
    if (f & F_OPAQUE)
        json_hex_bounded(j, "data", p->raw + p->opaque_off, p->opaque_len, S7_DATA_HEX_MAX,
                         "data_truncated");
}

static void json_side(struct qw_json *j, const char *key, const struct s7_pdu *p)
{
    uint32_t f = p->fields;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "rosctr", p->rosctr);
    qw_json_str(j, "rosctr_name", s7_rosctr_name(p->rosctr));
    qw_json_u64(j, "pdu_reference", p->pdu_ref);
    qw_json_u64(j, "parameter_length", p->param_len);
    qw_json_u64(j, "data_length", p->data_len);
    if (f & F_ERROR_HDR) {
        qw_json_u64(j, "error_class", p->err_class);
        qw_json_str(j, "error_class_name", s7_error_class_name(p->err_class));
        qw_json_u64(j, "error_code", p->err_code);
    }
    if (f & F_UD) {
        qw_json_u64(j, "function", s7_ud_function(p));
        qw_json_str(j, "function_name", s7_pdu_function_name(p));
        json_userdata(j, p);
    } else if (f & F_FUNCTION) {
        qw_json_u64(j, "function", p->function);
        qw_json_str(j, "function_name", s7_pdu_function_name(p));
    }
    if (f & F_SETUP) {
        qw_json_u64(j, "max_amq_calling", p->amq_calling);
        qw_json_u64(j, "max_amq_called", p->amq_called);
        qw_json_u64(j, "pdu_size", p->pdu_size);
    }
    if (f & F_ITEMS) {
        qw_json_u64(j, "item_count", p->item_count);
        if (!p->response) json_param_items(j, p);
    }
    if (f & F_DATA_ITEMS) json_data_items(j, p);
    if (f & F_RC_ITEMS) json_rc_items(j, p);
    if (f & F_FUNC_STATUS) {
        qw_json_u64(j, "function_status", p->func_status);
        if (f & F_BLOCK_DATA) qw_json_bool(j, "more_data", (p->func_status & 1u) != 0);
    }
    if (f & F_ERROR_CODE) qw_json_u64(j, "transfer_error_code", p->error_code16);
    if (f & F_UPLOAD_ID) qw_json_u64(j, "upload_id", p->upload_id);
    if (f & F_FILENAME) {
        const uint8_t *s = p->raw + p->name_off;
        json_text_or_hex(j, "filename", s, p->name_len);
        if (p->name_len == S7_FILENAME_LEN && s[0] == '_') json_block_name(j, s + 1, 8);
    }
    if (f & F_DL_LENGTHS) {
        qw_json_u64(j, "load_memory_length", p->load_len);
        qw_json_u64(j, "mc7_length", p->mc7_len);
    }
    if (f & F_BLOCK_LEN) {
        const uint8_t *s = p->raw + p->str_off;
        if (is_digits(s, p->str_len)) qw_json_u64(j, "block_length", parse_digits(s, p->str_len));
        else json_text_or_hex(j, "block_length_text", s, p->str_len);
    }
    if (f & F_BLOCK_DATA) qw_json_u64(j, "block_data_length", p->block_data_len);
    if (f & F_PI) {
        json_text_or_hex(j, "pi_service", p->raw + p->name_off, p->name_len);
        if (p->pi_action) qw_json_str(j, "pi_action", p->pi_action);
        if (p->arg_len) {
            const uint8_t *a = p->raw + p->arg_off;
            if (p->pi && p->pi->block_list && p->arg_len >= 2) {
                qw_json_arr_begin(j, "blocks");
                for (size_t k = 0; k < a[0] && 2 + 8 * (k + 1) <= p->arg_len; k++) {
                    qw_json_obj_begin(j, NULL);
                    json_block_name(j, a + 2 + 8 * k, 8);
                    qw_json_obj_end(j);
                }
                qw_json_arr_end(j);
            } else {
                json_text_or_hex(j, "pi_parameter", a, p->arg_len);
            }
        }
    }
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void s7_write_json(struct qw_json *j, const void *arg)
{
    const struct s7_view *v = arg;
    if (v->req) json_side(j, "request", v->req);
    if (v->rsp) json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct s7_slot {
    bool used;
    bool userdata;
    uint8_t dir;
    uint16_t pdu_ref;
    uint16_t off, len; /* raw request in the pool */
    uint32_t seq;      /* arrival order */
    uint64_t ts_ns;
};

struct s7_szl_asm {
    bool expect_more;  /* the last SZL answer said "more data units follow" */
    bool collecting;   /* ... and it is an identity list: its bytes are kept in buf */
    bool overflow;
    uint8_t dir;
    uint16_t len;
    uint8_t buf[S7_SZL_BUF];
};

struct s7_state {
    struct qw_iso_stream iso[2];
    uint8_t tsdu[2][S7_TSDU_MAX];
    uint8_t pool[S7_POOL_BYTES];
    uint16_t pool_used;
    struct s7_slot queue[S7_QUEUE_MAX];
    uint8_t nqueued;
    bool queue_full_reported;
    uint32_t next_seq;
    struct s7_szl_asm szl;
    uint32_t ident_seen[S7_IDENT_SEEN];
    uint8_t nident;
    struct s7_pdu req, rsp; /* scratch records for the transaction being emitted */
    struct s7_view view;
};

static void s7_emit(struct qw_pctx *ctx, struct s7_state *st, const struct s7_pdu *req,
                    uint64_t req_ns, const struct s7_pdu *rsp, uint64_t rsp_ns)
{
    const struct s7_pdu *key = req ? req : rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    if (key->fields & F_UD) {
        t.function = s7_ud_function(key);
    } else if (key->fields & F_FUNCTION) {
        t.function = key->function;
    } else {
        /* an ack (or error ack_data) without parameter and without its job */
        t.function = 0x100u | key->rosctr;
    }
    const char *fn = s7_pdu_function_name(key);
    t.function_name = fn ? fn : s7_rosctr_name(key->rosctr);
    t.ops = key->ops;
    t.error = rsp && rsp->error;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = s7_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static void pool_free(struct s7_state *st, struct s7_slot *s)
{
    uint16_t end = (uint16_t)(s->off + s->len);
    memmove(st->pool + s->off, st->pool + end, (size_t)(st->pool_used - end));
    for (size_t i = 0; i < S7_QUEUE_MAX; i++) {
        struct s7_slot *o = &st->queue[i];
        if (o->used && o != s && o->off > s->off) o->off = (uint16_t)(o->off - s->len);
    }
    st->pool_used = (uint16_t)(st->pool_used - s->len);
    s->used = false;
    st->nqueued--;
}

static void s7_flush_slot(struct qw_pctx *ctx, struct s7_state *st, struct s7_slot *s)
{
    s7_decode(&st->req, NULL, st->pool + s->off, s->len, false);
    s7_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
    pool_free(st, s);
}

static struct s7_slot *s7_oldest(struct s7_state *st)
{
    struct s7_slot *best = NULL;
    for (size_t i = 0; i < S7_QUEUE_MAX; i++) {
        struct s7_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct s7_slot *s7_find(struct s7_state *st, enum qw_dir rsp_dir, uint16_t ref,
                               bool userdata)
{
    struct s7_slot *best = NULL;
    for (size_t i = 0; i < S7_QUEUE_MAX; i++) {
        struct s7_slot *s = &st->queue[i];
        if (!s->used || s->dir == (uint8_t)rsp_dir || s->pdu_ref != ref || s->userdata != userdata)
            continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static void s7_queue_full(struct qw_pctx *ctx, struct s7_state *st)
{
    if (!st->queue_full_reported) qw_emit_anomaly(ctx, "s7comm.request_queue_full", NULL);
    st->queue_full_reported = true;
    struct s7_slot *old = s7_oldest(st);
    if (old) s7_flush_slot(ctx, st, old);
}

static void s7_on_request(struct qw_pctx *ctx, struct s7_state *st, enum qw_dir dir,
                          const uint8_t *raw, size_t len, bool userdata)
{
    /* decoded now for the anomalies; the record is rebuilt from the pool when emitted */
    s7_decode(&st->req, ctx, raw, len, false);
    uint16_t ref = st->req.pdu_ref; /* st->req is reused by the flushes below */
    if (len > S7_POOL_BYTES) len = S7_POOL_BYTES; /* unreachable: TSDUs are <= S7_TSDU_MAX */
    while (st->nqueued >= S7_QUEUE_MAX || (size_t)st->pool_used + len > S7_POOL_BYTES)
        s7_queue_full(ctx, st);
    struct s7_slot *s = NULL;
    for (size_t i = 0; i < S7_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return;
    s->used = true;
    s->userdata = userdata;
    s->dir = (uint8_t)dir;
    s->pdu_ref = ref;
    s->off = st->pool_used;
    s->len = (uint16_t)len;
    memcpy(st->pool + s->off, raw, len);
    st->pool_used = (uint16_t)(st->pool_used + len);
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    st->nqueued++;
}

/* ---- Identity (SZL 0x0011, 0x001C) --------------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

/* Trim padding (spaces, NULs) and emit, once per flow per (attribute, value). */
static void s7_identity(struct qw_pctx *ctx, struct s7_state *st, bool server, const char *attr,
                        const uint8_t *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == 0)) n--;
    while (n > 0 && (v[0] == ' ' || v[0] == 0)) {
        v++;
        n--;
    }
    if (n == 0) return;
    uint32_t h = fnv1a(fnv1a(2166136261u, attr, strlen(attr) + 1), v, n);
    h = fnv1a(h, &server, sizeof server);
    for (unsigned i = 0; i < st->nident; i++)
        if (st->ident_seen[i] == h) return;
    if (st->nident < S7_IDENT_SEEN) st->ident_seen[st->nident++] = h;
    qw_emit_identity(ctx, server, attr, (const char *)v, n);
}

/* The records of a complete SZL partial list: id(2), index(2), record length(2), count(2). */
static void s7_szl_identity(struct qw_pctx *ctx, struct s7_state *st, bool server,
                            const uint8_t *b, size_t n)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    uint16_t id = qw_cur_be16(&c);
    qw_cur_be16(&c);
    uint16_t reclen = qw_cur_be16(&c);
    uint16_t count = qw_cur_be16(&c);
    if (c.err || reclen < 2) return;
    uint8_t list = (uint8_t)(id & 0xff);
    const uint8_t *fw = NULL, *hw_basic = NULL, *hw_module = NULL;
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *r = qw_cur_take(&c, reclen);
        if (!r) break;
        uint16_t index = (uint16_t)(r[0] << 8 | r[1]);
        if (list == S7_SZL_MODULE_ID && reclen >= S7_SZL11_RECORD) {
            /* index 1: the module, 6: basic hardware, 7: basic firmware [SZL] */
            if (index == 0x0001) {
                s7_identity(ctx, st, server, "model", r + 2, 20);
                hw_module = r;
            } else if (index == 0x0006) {
                hw_basic = r;
            } else if (index == 0x0007) {
                fw = r;
            }
        } else if (list == S7_SZL_COMPONENT_ID && reclen >= S7_SZL1C_RECORD) {
            static const char *const attrs[] = {
                [1] = "system_name", [2] = "name",          [3] = "plant_id",
                [4] = "copyright",   [5] = "serial",        [7] = "product_name",
                [8] = "memory_card_serial", [11] = "location",
            };
            if (index < sizeof attrs / sizeof attrs[0] && attrs[index])
                s7_identity(ctx, st, server, attrs[index], r + 2, 32);
            if (index == 0x0009) {
                /* manufacturer id (PROFIBUS/PROFINET vendor id), profile id, profile type */
                char s[8];
                int k = snprintf(s, sizeof s, "%u", (unsigned)(r[2] << 8 | r[3]));
                s7_identity(ctx, st, server, "vendor_id", (const uint8_t *)s, (size_t)k);
            }
        }
    }
    if (fw && fw[24] == 'V') {
        /* Ausbg = 'V' and the first number, Ausbe = the two others [SZL] */
        char s[16];
        int k = snprintf(s, sizeof s, "V%u.%u.%u", fw[25], fw[26], fw[27]);
        s7_identity(ctx, st, server, "firmware", (const uint8_t *)s, (size_t)k);
    }
    const uint8_t *hw = hw_basic ? hw_basic : hw_module;
    if (hw) {
        /* Ausbg of the module/basic hardware record: its hardware product version */
        char s[8];
        int k = snprintf(s, sizeof s, "%u", (unsigned)(hw[24] << 8 | hw[25]));
        s7_identity(ctx, st, server, "hardware", (const uint8_t *)s, (size_t)k);
    }
}

static bool szl_identity_list(uint16_t szl_id)
{
    uint8_t list = (uint8_t)(szl_id & 0xff);
    return list == S7_SZL_MODULE_ID || list == S7_SZL_COMPONENT_ID;
}

/* An SZL answer (already decoded into st->rsp): collect fragments of the identity lists and
 * read the identity from each complete list. */
static void s7_on_szl_answer(struct qw_pctx *ctx, struct s7_state *st, enum qw_dir dir)
{
    const struct s7_pdu *p = &st->rsp;
    struct s7_szl_asm *a = &st->szl;
    bool server = dir == QW_DIR_TO_CLIENT;
    bool last = !(p->fields & F_UD_EXT) || p->ud_last == 0;
    const uint8_t *pay = p->raw + p->ud_payload_off;
    size_t n = p->ud_payload_len;
    if (!(p->fields & F_UD_DATA) || p->ud_rc != S7_RC_SUCCESS || p->error) {
        a->expect_more = a->collecting = false;
        return;
    }
    if (p->continuation) {
        if (a->collecting) {
            if (n > sizeof a->buf - a->len) {
                a->overflow = true;
            } else {
                memcpy(a->buf + a->len, pay, n);
                a->len = (uint16_t)(a->len + n);
            }
            if (last && !a->overflow) s7_szl_identity(ctx, st, server, a->buf, a->len);
        }
        if (last) a->expect_more = a->collecting = false;
        return;
    }
    if (last) {
        a->expect_more = a->collecting = false;
        if (szl_identity_list(p->szl_id)) s7_szl_identity(ctx, st, server, pay, n);
        return;
    }
    a->expect_more = true;
    a->dir = (uint8_t)dir;
    a->collecting = szl_identity_list(p->szl_id) && n <= sizeof a->buf;
    a->overflow = false;
    a->len = 0;
    if (a->collecting) {
        memcpy(a->buf, pay, n);
        a->len = (uint16_t)n;
    }
}

/* ---- PDU dispatch -------------------------------------------------------------------------- */

static void s7_on_response(struct qw_pctx *ctx, struct s7_state *st, enum qw_dir dir,
                           const uint8_t *raw, size_t len, bool userdata, bool continuation)
{
    s7_decode(&st->rsp, ctx, raw, len, continuation);
    struct s7_slot *s = s7_find(st, dir, st->rsp.pdu_ref, userdata);
    const struct s7_pdu *req = NULL;
    if (s) {
        s7_decode(&st->req, NULL, st->pool + s->off, s->len, false);
        req = &st->req;
        if (!userdata && (st->rsp.fields & F_FUNCTION) && (req->fields & F_FUNCTION) &&
            req->function != st->rsp.function)
            qw_emit_anomaly(ctx, "s7comm.function_mismatch", s7_pdu_function_name(&st->rsp));
        if (userdata &&
            (req->ud_group != st->rsp.ud_group || req->ud_subfunc != st->rsp.ud_subfunc))
            qw_emit_anomaly(ctx, "s7comm.function_mismatch", s7_pdu_function_name(&st->rsp));
    }
    s7_emit(ctx, st, req, s ? s->ts_ns : 0, &st->rsp, qw_pctx_time(ctx));
    if (s) pool_free(st, s);
    if (userdata && st->rsp.ud_group == S7_UD_GROUP_CPU && st->rsp.ud_subfunc == S7_UD_SUB_SZL)
        s7_on_szl_answer(ctx, st, dir);
}

static void s7_on_tsdu(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *p,
                       size_t n)
{
    struct s7_state *st = state;
    struct qw_cursor c = qw_cursor_make(p, n);
    uint8_t id = qw_cur_u8(&c);
    uint8_t rosctr = qw_cur_u8(&c);
    if (c.err) return;
    if (id != S7_PROTO_ID) {
        qw_emit_anomaly(ctx, "s7comm.invalid_protocol_id", NULL);
        return;
    }
    size_t hdr = rosctr == S7_ROSCTR_ACK || rosctr == S7_ROSCTR_ACK_DATA ? S7_ACK_HDR_LEN
                                                                          : S7_HDR_LEN;
    if (n < hdr) {
        qw_emit_anomaly(ctx, "s7comm.truncated_pdu", "header");
        return;
    }
    switch (rosctr) {
    case S7_ROSCTR_JOB: s7_on_request(ctx, st, dir, p, n, false); break;
    case S7_ROSCTR_ACK:
    case S7_ROSCTR_ACK_DATA: s7_on_response(ctx, st, dir, p, n, false, false); break;
    case S7_ROSCTR_USERDATA: {
        /* type nibble: byte 5 of the userdata parameter, right after the header */
        if (n < S7_HDR_LEN + 6) {
            qw_emit_anomaly(ctx, "s7comm.truncated_pdu", "userdata");
            return;
        }
        uint8_t type = p[S7_HDR_LEN + 5] >> 4;
        uint8_t group = p[S7_HDR_LEN + 5] & 0x0f;
        uint8_t sub = n > S7_HDR_LEN + 6 ? p[S7_HDR_LEN + 6] : 0;
        if (type == S7_UD_TYPE_REQ || type == S7_UD_TYPE_NC_REQ) {
            s7_on_request(ctx, st, dir, p, n, true);
        } else {
            bool cont = group == S7_UD_GROUP_CPU && sub == S7_UD_SUB_SZL &&
                        st->szl.expect_more && st->szl.dir == (uint8_t)dir;
            if (type == S7_UD_TYPE_RSP || type == S7_UD_TYPE_NC_RSP)
                s7_on_response(ctx, st, dir, p, n, true, cont);
            else {
                /* push (alarms, cyclic data, mode transitions): unsolicited, no request */
                s7_decode(&st->rsp, ctx, p, n, false);
                s7_emit(ctx, st, NULL, 0, &st->rsp, qw_pctx_time(ctx));
            }
        }
        break;
    }
    default: qw_emit_anomaly(ctx, "s7comm.invalid_rosctr", NULL); break;
    }
}

static const struct qw_iso_ops s7_iso_ops = {
    .invalid_tpkt = "s7comm.invalid_tpkt",
    .invalid_cotp = "s7comm.invalid_cotp",
    .oversized_tsdu = "s7comm.oversized_tsdu",
    .tsdu = s7_on_tsdu,
    .control = NULL,
};

/* ---- Descriptor callbacks ------------------------------------------------------------------ */

/* The first DT of the direction must start an S7 header: protocol id 0x32, a known ROSCTR, the
 * reserved redundancy id 0, and (when the whole TSDU is in this DT) parameter and data lengths
 * that add up to it. MMS over the same transport starts with an ISO session SPDU (0x0d, 0x0e,
 * 0x01, ...), S7comm-plus with 0x72. */
static enum qw_probe_result s7_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* jobs travel both ways (the PLC sends download-block jobs) */
    const uint8_t *u = NULL;
    size_t n = 0;
    bool eot = false, complete = false;
    enum qw_probe_result r = qw_iso_probe_first_dt(data, len, &u, &n, &eot, &complete);
    if (r != QW_PROBE_MATCH) return r;
    if (u[0] != S7_PROTO_ID) return QW_PROBE_NO;
    if (n < 2) return QW_PROBE_NEED_MORE;
    uint8_t rosctr = u[1];
    if (rosctr != S7_ROSCTR_JOB && rosctr != S7_ROSCTR_ACK && rosctr != S7_ROSCTR_ACK_DATA &&
        rosctr != S7_ROSCTR_USERDATA)
        return QW_PROBE_NO;
    size_t hdr = rosctr == S7_ROSCTR_ACK || rosctr == S7_ROSCTR_ACK_DATA ? S7_ACK_HDR_LEN
                                                                          : S7_HDR_LEN;
    if (n < hdr) return complete ? QW_PROBE_NO : QW_PROBE_NEED_MORE;
    if (u[2] != 0 || u[3] != 0) return QW_PROBE_NO;
    size_t total = hdr + ((size_t)u[6] << 8 | u[7]) + ((size_t)u[8] << 8 | u[9]);
    if (complete && eot && total != n) return QW_PROBE_NO;
    if (total < n) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

static size_t s7_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct s7_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    return qw_iso_parse(ctx, st, dir, &st->iso[d], st->tsdu[d], sizeof st->tsdu[d], &s7_iso_ops,
                        data, len);
}

static void s7_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct s7_state *st = state;
    qw_iso_gap(&st->iso[dir == QW_DIR_TO_CLIENT ? 1 : 0]);
    if (st->szl.dir == (uint8_t)dir) st->szl.expect_more = st->szl.collecting = false;
}

static void s7_flow_end(struct qw_pctx *ctx, void *state)
{
    struct s7_state *st = state;
    struct s7_slot *s;
    while ((s = s7_oldest(st)) != NULL) s7_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_s7comm = {
    .name = "s7comm",
    .transports = QW_TRANSPORT_TCP,
    .ports = {S7_PORT, 0},
    .probe = s7_probe,
    .state_size = sizeof(struct s7_state),
    .parse = s7_parse,
    .gap = s7_gap,
    .flow_end = s7_flow_end,
};
