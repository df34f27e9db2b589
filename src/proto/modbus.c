/* Modbus/TCP (and Modbus/UDP) application parser.
 *
 * Specifications:
 *   [APP] MODBUS Application Protocol Specification V1.1b3 (modbus.org, 2012):
 *         s.4.1 PDU size (at most 253 bytes), s.5 function code categories, s.6 function codes,
 *         s.7 exception responses, s.6.8.1 diagnostics sub-functions, s.6.19-6.21 MEI transport.
 *   [TCP] MODBUS Messaging on TCP/IP Implementation Guide V1.0b (modbus.org, 2006):
 *         s.3.1.3 the MBAP header, s.3.1.2 ADU size (at most 260 bytes), s.4.4.1.2 the
 *         transaction identifier used to pair a response with its request.
 *   [UMAS] Function code 90 (0x5A) is Schneider Electric's UMAS (Unity) engineering protocol,
 *         not public. Its sub-function numbers follow public analyses: Kaspersky ICS CERT,
 *         "The secrets of Schneider Electric's UMAS protocol" (2022), and the UMAS support in
 *         Wireshark's Modbus dissector (epan/dissectors/packet-mbtcp.h).
 *
 * Modbus/TCP ADU = MBAP header + PDU, big-endian ([TCP] s.3.1.3):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 transaction identifier: chosen by the client, echoed by the server
 *        2    2 protocol identifier: 0 = Modbus
 *        4    2 length: bytes that follow, i.e. unit identifier + PDU (2..254)
 *        6    1 unit identifier: the serial slave behind a gateway (0xFF or 0 when unused)
 *        7    1 PDU function code (1..127); a response with bit 0x80 set is an exception
 *        8  0..252 PDU data, laid out per function code ([APP] s.6)
 *
 * An exception response PDU is the function code | 0x80 and one exception code byte
 * ([APP] s.7). Requests and responses are told apart by direction: the client sends requests.
 * Function codes 128..255 never name a request, so one arriving from the client is still read as
 * a response (some PLCs open the TCP connection themselves, which makes them the flow's client).
 *
 * Requests are paired with responses by (transaction id, unit id) through a bounded queue of
 * outstanding requests in the per-flow state ([TCP] s.4.4.1.2 lets a client pipeline several
 * requests on one connection). The queue keeps the raw request PDU; both sides are decoded into
 * fixed scratch records when the transaction is emitted, so nothing is allocated per packet.
 *
 * Outcomes are kept apart (DESIGN.md, practice 3): a header that breaks the spec is malformed
 * (anomaly, then resynchronisation on the next plausible header); a PDU shorter than its
 * fields within a valid length is truncated (anomaly, the ADU is still reported); a function or
 * sub-function we do not know is reported with function_name "unknown", not as an anomaly. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define MB_PORT 502          /* IANA "mbap" ([TCP] s.3.1.1) */
#define MB_MBAP_LEN 6        /* MBAP bytes before the length-counted part ([TCP] s.3.1.3) */
#define MB_HDR_LEN 8         /* MBAP (7) + function code: the least that identifies an ADU */
#define MB_LEN_MIN 2         /* unit id + function code */
#define MB_LEN_MAX 254       /* unit id + 253-byte PDU ([APP] s.4.1, [TCP] s.3.1.2) */
/* Real Schneider M340 UMAS traffic carries length 255 (corpus: iti_modicon_test.pcap), and
 * Wireshark decodes it. Lengths up to the whole-ADU bound of 260 are therefore parsed and flagged
 * `modbus.oversized_adu`; beyond that a length is treated as broken. */
#define MB_LEN_LENIENT 260
#define MB_PDU_MAX (MB_LEN_LENIENT - 1)
#define MB_EXCEPTION_LEN 3   /* unit id + function code + exception code ([APP] s.7) */
#define MB_EXCEPTION_BIT 0x80u

/* Outstanding requests per flow. A Modbus client normally waits for each answer; pipelining
 * clients keep a handful in flight. Past this the oldest is reported unanswered; the
 * `modbus.request_queue_full` anomaly is raised once per flow, since a monitor that sees only
 * one direction (asymmetric routing, a one-way SPAN) would otherwise raise it on every request.
 * Each slot holds a raw PDU, so the per-flow state is about 11 KiB. */
#define MB_QUEUE_MAX 32
/* Decoded values kept per PDU: the largest register count of a read ([APP] s.6.3), also applied
 * to coil bits so a record stays small. */
#define MB_VALUES_MAX 125
/* FC 20/21 sub-requests: byte count at most 0xF5 at 7 bytes each ([APP] s.6.14). */
#define MB_FILE_REFS_MAX 35
/* FC 43/14 objects kept: a 253-byte PDU holds at most (253 - 7) / 2 empty objects; 64 covers
 * every standard and a generous number of private objects. */
#define MB_OBJECTS_MAX 64
/* Opaque data (diagnostic data, UMAS payloads, unknown functions) is shown as hex up to this
 * many bytes; the record says when it was cut. */
#define MB_HEX_MAX 64

/* Quantity bounds ([APP] s.6.1-6.4, 6.11, 6.12, 6.17, 6.18). */
#define MB_READ_BITS_MAX 2000    /* 0x07D0 */
#define MB_READ_REGS_MAX 125     /* 0x007D */
#define MB_WRITE_BITS_MAX 1968   /* 0x07B0 */
#define MB_WRITE_REGS_MAX 123    /* 0x007B */
#define MB_RW_WRITE_REGS_MAX 121 /* 0x0079 */
#define MB_FIFO_MAX 31
#define MB_COIL_ON 0xFF00u       /* FC 5 output value ([APP] s.6.5) */
#define MB_COIL_OFF 0x0000u
#define MB_FILE_REF_TYPE 6       /* FC 20/21 reference type ([APP] s.6.14) */

/* FC 43 MEI types ([APP] s.6.19-6.21). */
#define MB_MEI_CANOPEN 13
#define MB_MEI_DEVICE_ID 14

/* UMAS response status byte (the byte after the session key). */
#define MB_UMAS_OK 0xFE
#define MB_UMAS_ERROR 0xFD

#define MB_FC_UMAS 90
#define MB_FC_DIAGNOSTICS 8
#define MB_FC_MEI 43

/* ---- Protocol fact tables ------------------------------------------------------------------ */

/* Exception codes ([APP] s.7). */
static const char *const mb_exception_names[] = {
    [1] = "illegal_function",
    [2] = "illegal_data_address",
    [3] = "illegal_data_value",
    [4] = "server_device_failure",
    [5] = "acknowledge",
    [6] = "server_device_busy",
    [8] = "memory_parity_error",
    [10] = "gateway_path_unavailable",
    [11] = "gateway_target_device_failed_to_respond",
};

struct mb_sub {
    const char *name;
    uint32_t ops;
};

/* FC 8 diagnostics sub-functions ([APP] s.6.8.1); 5-9 and 19 are reserved. */
static const struct mb_sub mb_diag_subs[] = {
    [0] = {"return_query_data", QW_OP_DIAGNOSTIC},
    [1] = {"restart_communications_option", QW_OP_DIAGNOSTIC | QW_OP_RESTART},
    [2] = {"return_diagnostic_register", QW_OP_DIAGNOSTIC},
    [3] = {"change_ascii_input_delimiter", QW_OP_DIAGNOSTIC | QW_OP_CONFIG},
    [4] = {"force_listen_only_mode", QW_OP_DIAGNOSTIC | QW_OP_CONFIG},
    [10] = {"clear_counters_and_diagnostic_register", QW_OP_DIAGNOSTIC},
    [11] = {"return_bus_message_count", QW_OP_DIAGNOSTIC},
    [12] = {"return_bus_communication_error_count", QW_OP_DIAGNOSTIC},
    [13] = {"return_bus_exception_error_count", QW_OP_DIAGNOSTIC},
    [14] = {"return_server_message_count", QW_OP_DIAGNOSTIC},
    [15] = {"return_server_no_response_count", QW_OP_DIAGNOSTIC},
    [16] = {"return_server_nak_count", QW_OP_DIAGNOSTIC},
    [17] = {"return_server_busy_count", QW_OP_DIAGNOSTIC},
    [18] = {"return_bus_character_overrun_count", QW_OP_DIAGNOSTIC},
    [20] = {"clear_overrun_counter_and_flag", QW_OP_DIAGNOSTIC},
};

/* FC 43 MEI types. CANopen general reference tunnels object-dictionary reads and writes, so it
 * is marked as both. */
static const struct mb_sub mb_mei_types[] = {
    [MB_MEI_CANOPEN] = {"canopen_general_reference", QW_OP_READ | QW_OP_WRITE},
    [MB_MEI_DEVICE_ID] = {"read_device_identification", QW_OP_IDENTIFY},
};

/* FC 43/14 object ids 0..6 ([APP] s.6.21, table of basic and regular objects). */
static const char *const mb_object_names[] = {
    [0] = "vendor_name",      [1] = "product_code", [2] = "major_minor_revision",
    [3] = "vendor_url",       [4] = "product_name", [5] = "model_name",
    [6] = "user_application_name",
};

/* UMAS sub-functions (the byte after the session key), see [UMAS]. Uploads read the program
 * out of the controller and downloads replace it: both are program operations. */
static const struct mb_sub mb_umas_subs[256] = {
    [0x01] = {"init_comm", QW_OP_SESSION},
    [0x02] = {"read_id", QW_OP_IDENTIFY},
    [0x03] = {"read_project_info", QW_OP_READ},
    [0x04] = {"read_plc_info", QW_OP_DIAGNOSTIC},
    [0x06] = {"read_card_info", QW_OP_DIAGNOSTIC},
    [0x0A] = {"repeat", QW_OP_DIAGNOSTIC},
    [0x10] = {"take_plc_reservation", QW_OP_SESSION},
    [0x11] = {"release_plc_reservation", QW_OP_SESSION},
    [0x12] = {"keep_alive", QW_OP_SESSION},
    [0x20] = {"read_memory_block", QW_OP_READ},
    [0x22] = {"read_variables", QW_OP_READ},
    [0x23] = {"write_variables", QW_OP_WRITE},
    [0x24] = {"read_coils_registers", QW_OP_READ},
    [0x25] = {"write_coils_registers", QW_OP_WRITE},
    [0x26] = {"data_dictionary", QW_OP_READ},
    [0x30] = {"initialize_upload", QW_OP_PROGRAM},
    [0x31] = {"upload_block", QW_OP_PROGRAM},
    [0x32] = {"end_strategy_upload", QW_OP_PROGRAM},
    [0x33] = {"initialize_download", QW_OP_PROGRAM},
    [0x34] = {"download_block", QW_OP_PROGRAM},
    [0x35] = {"end_download", QW_OP_PROGRAM},
    [0x39] = {"read_ethernet_master_data", QW_OP_READ},
    [0x40] = {"start_plc", QW_OP_START},
    [0x41] = {"stop_plc", QW_OP_STOP},
    [0x50] = {"monitor_plc", QW_OP_READ},
    [0x58] = {"check_plc", QW_OP_DIAGNOSTIC},
    [0x70] = {"read_io_object", QW_OP_READ},
    [0x71] = {"write_io_object", QW_OP_WRITE},
    [0x73] = {"get_status_module", QW_OP_DIAGNOSTIC},
};

/* ---- Decoded PDU --------------------------------------------------------------------------- */

enum mb_field {
    MB_F_ADDRESS = 1u << 0,
    MB_F_QUANTITY = 1u << 1,
    MB_F_BYTE_COUNT = 1u << 2,
    MB_F_REGS = 1u << 3,       /* values[] are register numbers */
    MB_F_BITS = 1u << 4,       /* values[] are coil/input bits */
    MB_F_SUB = 1u << 5,        /* FC 8 / FC 90 sub-function */
    MB_F_MASKS = 1u << 6,
    MB_F_RW = 1u << 7,         /* FC 23 read and write ranges */
    MB_F_MEI = 1u << 8,
    MB_F_DEVID_REQ = 1u << 9,  /* FC 43/14 request fields */
    MB_F_DEVID_RSP = 1u << 10, /* FC 43/14 response fields and objects */
    MB_F_DATA = 1u << 11,      /* opaque bytes shown as hex */
    MB_F_STATUS = 1u << 12,
    MB_F_EVENT_COUNT = 1u << 13,
    MB_F_MESSAGE_COUNT = 1u << 14,
    MB_F_EVENTS = 1u << 15,
    MB_F_FIFO_COUNT = 1u << 16,
    MB_F_FILE_REFS = 1u << 17, /* records[] with file and record numbers */
    MB_F_FILE_LENS = 1u << 18, /* records[] with lengths only (FC 20 response) */
    MB_F_UMAS_KEY = 1u << 19,
    MB_F_UMAS_STATUS = 1u << 20,
    MB_F_RAW_VALUE = 1u << 21, /* FC 5 value that is neither on nor off */
    MB_F_DEVID_CODE = 1u << 22, /* FC 43/14 read device id code */
    MB_F_EXC_CODE = 1u << 23,
};

struct mb_object {
    uint8_t id;
    uint8_t len;
    uint16_t off; /* offset of the value in the PDU */
};

struct mb_file_ref {
    uint16_t file_number, record_number, record_length;
};

struct mb_pdu {
    const uint8_t *pdu; /* function code onwards; lives until the txn is emitted */
    size_t pdu_len;
    uint16_t tid;
    uint8_t unit;
    uint8_t fc;         /* without the exception bit */
    bool response;
    bool exception;
    bool error;         /* exception, or UMAS error status */
    bool truncated;
    uint8_t exc_code;
    uint32_t fields;    /* mb_field bits */
    uint32_t ops;
    uint16_t address, quantity, byte_count, raw_value;
    uint16_t read_address, read_quantity, write_address, write_quantity;
    uint16_t and_mask, or_mask;
    uint16_t subfunction;
    const char *subfunction_name;
    uint8_t mei_type;
    uint8_t devid_code, object_id, conformity, next_object_id, nobjects_declared;
    bool more_follows;
    uint16_t status, event_count, message_count, fifo_count;
    uint8_t umas_key, umas_status;
    uint16_t data_off, data_len; /* MB_F_DATA / MB_F_EVENTS bytes in the PDU */
    uint8_t nobjects, nrecords, nvalues;
    /* The arrays come last and are valid up to their counts only: mb_decode clears what is
     * above them (about 80 bytes) instead of the whole record (over 800) for every PDU. */
    struct mb_object objects[MB_OBJECTS_MAX];
    struct mb_file_ref records[MB_FILE_REFS_MAX];
    uint16_t values[MB_VALUES_MAX];
};

/* Decoding context for one PDU. */
struct mb_dec {
    struct qw_cursor c;          /* over the PDU data after the function code */
    struct mb_pdu *p;
    const struct mb_pdu *req;    /* the paired request when decoding a response, or NULL */
    struct qw_pctx *ctx;         /* NULL: a silent re-decode (anomalies already reported) */
};

typedef void (*mb_decode_fn)(struct mb_dec *d);

struct mb_func {
    const char *name;
    uint32_t ops;
    uint16_t qty_max; /* request quantity bound, 0 when the function has none */
    mb_decode_fn req, rsp;
};

/* ---- Decoder helpers ----------------------------------------------------------------------- */

/* Mark `field` as decoded if every read so far succeeded; a field cut by the end of the PDU is
 * left out of the record rather than shown as zero. */
static bool got(struct mb_dec *d, uint32_t field)
{
    if (d->c.err) return false;
    d->p->fields |= field;
    return true;
}

static void dec_anomaly(struct mb_dec *d, const char *name, const char *detail)
{
    if (d->ctx) qw_emit_anomaly(d->ctx, name, detail);
}

static size_t dec_pos(const struct mb_dec *d)
{
    return 1 + d->c.off; /* PDU offset: the cursor starts after the function code */
}

/* Keep the rest of the PDU (up to `n` bytes) as opaque data. */
static void dec_data(struct mb_dec *d, size_t n, uint32_t field)
{
    size_t left = qw_cur_left(&d->c);
    if (n > left) n = left;
    d->p->fields |= field;
    d->p->data_off = (uint16_t)dec_pos(d);
    d->p->data_len = (uint16_t)n;
    qw_cur_skip(&d->c, n);
}

static void dec_rest(struct mb_dec *d)
{
    if (qw_cur_left(&d->c) > 0) dec_data(d, qw_cur_left(&d->c), MB_F_DATA);
}

static void dec_quantity_check(struct mb_dec *d, uint16_t q, uint16_t max)
{
    if (!d->c.err && (q == 0 || q > max)) dec_anomaly(d, "modbus.invalid_quantity", NULL);
}

/* `n` big-endian words from `c` into values[] (capped: words past the cap are read and
 * dropped); stops at the end of `c`. */
static void read_words(struct qw_cursor *c, struct mb_pdu *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v = qw_cur_be16(c);
        if (c->err) break;
        if (p->nvalues < MB_VALUES_MAX) p->values[p->nvalues++] = v;
    }
}

/* `n` registers into values[] (capped); the bytes past the cap are skipped. */
static void dec_regs(struct mb_dec *d, size_t n)
{
    d->p->fields |= MB_F_REGS;
    read_words(&d->c, d->p, n);
}

/* `nbits` bits packed LSB-first in `nbytes` bytes ([APP] s.6.1). */
static void dec_bits(struct mb_dec *d, size_t nbytes, size_t nbits)
{
    struct mb_pdu *p = d->p;
    p->fields |= MB_F_BITS;
    for (size_t i = 0; i < nbytes && !d->c.err; i++) {
        uint8_t b = qw_cur_u8(&d->c);
        if (d->c.err) break;
        for (unsigned k = 0; k < 8; k++) {
            size_t bit = i * 8 + k;
            if (bit >= nbits || p->nvalues >= MB_VALUES_MAX) break;
            p->values[p->nvalues++] = (uint16_t)((b >> k) & 1u);
        }
    }
}

/* ---- Per-function decoders ([APP] s.6) ----------------------------------------------------- */

static void dec_none(struct mb_dec *d)
{
    (void)d;
}

/* FC 1-4 requests, FC 15/16 responses: starting address and quantity. */
static void dec_addr_qty(struct mb_dec *d)
{
    d->p->address = qw_cur_be16(&d->c);
    got(d, MB_F_ADDRESS);
    d->p->quantity = qw_cur_be16(&d->c);
    got(d, MB_F_QUANTITY);
}

static void dec_read_req(struct mb_dec *d);

/* FC 1/2 responses: byte count, then coil/input bits. */
static void dec_read_bits_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    size_t nbits = (size_t)p->byte_count * 8;
    if (d->req && !d->req->exception && (d->req->fields & MB_F_QUANTITY)) {
        if (p->byte_count != (d->req->quantity + 7u) / 8u)
            dec_anomaly(d, "modbus.invalid_byte_count", NULL);
        if (d->req->quantity < nbits) nbits = d->req->quantity;
    }
    dec_bits(d, p->byte_count, nbits);
}

/* FC 3/4/23 responses: byte count, then registers. */
static void dec_read_regs_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    uint16_t want = 0;
    if (d->req && (d->req->fields & MB_F_QUANTITY)) want = d->req->quantity;
    if (d->req && (d->req->fields & MB_F_RW)) want = d->req->read_quantity;
    if ((p->byte_count & 1u) || (want && p->byte_count != 2u * want))
        dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    dec_regs(d, p->byte_count / 2u);
    if (p->byte_count & 1u) qw_cur_skip(&d->c, 1);
}

/* FC 5 request and response: output address and value (0xFF00 on, 0x0000 off). */
static void dec_single_coil(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->address = qw_cur_be16(&d->c);
    got(d, MB_F_ADDRESS);
    uint16_t v = qw_cur_be16(&d->c);
    if (d->c.err) return;
    p->quantity = 1;
    p->fields |= MB_F_QUANTITY;
    if (v == MB_COIL_ON || v == MB_COIL_OFF) {
        p->fields |= MB_F_BITS;
        p->values[0] = v == MB_COIL_ON;
        p->nvalues = 1;
    } else {
        p->raw_value = v;
        p->fields |= MB_F_RAW_VALUE;
        dec_anomaly(d, "modbus.invalid_coil_value", NULL);
    }
}

/* FC 6 request and response: register address and value. */
static void dec_single_reg(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->address = qw_cur_be16(&d->c);
    got(d, MB_F_ADDRESS);
    uint16_t v = qw_cur_be16(&d->c);
    if (d->c.err) return;
    p->quantity = 1;
    p->values[0] = v;
    p->nvalues = 1;
    p->fields |= MB_F_QUANTITY | MB_F_REGS;
}

/* FC 7 response: the eight exception-status outputs as one byte. */
static void dec_exception_status_rsp(struct mb_dec *d)
{
    d->p->status = qw_cur_u8(&d->c);
    got(d, MB_F_STATUS);
}

/* FC 8 request and response: sub-function, then its data (echoed or a counter). */
static void dec_diag(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->subfunction = qw_cur_be16(&d->c);
    if (d->c.err) return;
    p->fields |= MB_F_SUB;
    size_t n = sizeof mb_diag_subs / sizeof mb_diag_subs[0];
    if (p->subfunction < n && mb_diag_subs[p->subfunction].name) {
        p->subfunction_name = mb_diag_subs[p->subfunction].name;
        p->ops = mb_diag_subs[p->subfunction].ops;
    } else {
        p->subfunction_name = "unknown";
    }
    dec_rest(d);
}

/* FC 11 response: status word and event count. */
static void dec_event_counter_rsp(struct mb_dec *d)
{
    d->p->status = qw_cur_be16(&d->c);
    got(d, MB_F_STATUS);
    d->p->event_count = qw_cur_be16(&d->c);
    got(d, MB_F_EVENT_COUNT);
}

/* FC 12 response: byte count, status, event count, message count, event bytes. */
static void dec_event_log_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    got(d, MB_F_BYTE_COUNT);
    p->status = qw_cur_be16(&d->c);
    got(d, MB_F_STATUS);
    p->event_count = qw_cur_be16(&d->c);
    got(d, MB_F_EVENT_COUNT);
    p->message_count = qw_cur_be16(&d->c);
    if (!got(d, MB_F_MESSAGE_COUNT)) return;
    if (p->byte_count < 6) {
        dec_anomaly(d, "modbus.invalid_byte_count", NULL);
        return;
    }
    size_t n = p->byte_count - 6u;
    bool cut = qw_cur_left(&d->c) < n; /* declared events cut short */
    dec_data(d, n, MB_F_EVENTS);
    if (cut) d->c.err = true;
}

/* FC 15 request: address, quantity, byte count, packed coil values. */
static void dec_write_bits_req(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    dec_addr_qty(d);
    dec_quantity_check(d, p->quantity, MB_WRITE_BITS_MAX);
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    if (p->byte_count != (p->quantity + 7u) / 8u)
        dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    size_t nbits = p->quantity;
    if ((size_t)p->byte_count * 8 < nbits) nbits = (size_t)p->byte_count * 8;
    dec_bits(d, p->byte_count, nbits);
}

/* FC 16 request: address, quantity, byte count, register values. */
static void dec_write_regs_req(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    dec_addr_qty(d);
    dec_quantity_check(d, p->quantity, MB_WRITE_REGS_MAX);
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    if (p->byte_count != 2u * p->quantity) dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    dec_regs(d, p->byte_count / 2u);
    if (p->byte_count & 1u) qw_cur_skip(&d->c, 1);
}

/* FC 17 response: byte count and device-specific server id, run indicator, extra data. */
static void dec_report_id_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    bool cut = qw_cur_left(&d->c) < p->byte_count;
    dec_data(d, p->byte_count, MB_F_DATA);
    if (cut) d->c.err = true;
}

/* A file record reference as FC 20 and 21 sub-requests carry it: reference type (must be 6),
 * file number, record number, record length ([APP] s.6.14, 6.15). */
static void read_file_ref(struct mb_dec *d, struct qw_cursor *sub, struct mb_file_ref *r)
{
    uint8_t type = qw_cur_u8(sub);
    r->file_number = qw_cur_be16(sub);
    r->record_number = qw_cur_be16(sub);
    r->record_length = qw_cur_be16(sub);
    if (!sub->err && type != MB_FILE_REF_TYPE)
        dec_anomaly(d, "modbus.invalid_reference_type", NULL);
}

/* FC 20 request: byte count, then 7-byte sub-requests (type, file, record, length). */
static void dec_file_read_req(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT | MB_F_FILE_REFS)) return;
    if (p->byte_count % 7u != 0) dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    bool cut = false;
    struct qw_cursor sub = qw_cur_sub(&d->c, p->byte_count, &cut);
    while (qw_cur_left(&sub) >= 7) {
        struct mb_file_ref r;
        read_file_ref(d, &sub, &r);
        if (p->nrecords < MB_FILE_REFS_MAX) p->records[p->nrecords++] = r;
    }
    if (cut) d->c.err = true;
}

/* FC 20 response: data length, then sub-responses (length, type, record words). */
static void dec_file_read_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT | MB_F_FILE_LENS | MB_F_REGS)) return;
    bool cut = false;
    struct qw_cursor sub = qw_cur_sub(&d->c, p->byte_count, &cut);
    while (qw_cur_left(&sub) > 0) {
        uint8_t flen = qw_cur_u8(&sub); /* type byte + record data */
        uint8_t type = qw_cur_u8(&sub);
        if (sub.err) {
            cut = true;
            break;
        }
        if (type != MB_FILE_REF_TYPE) dec_anomaly(d, "modbus.invalid_reference_type", NULL);
        size_t words = flen > 0 ? (flen - 1u) / 2u : 0;
        struct mb_file_ref r = {0, 0, (uint16_t)words};
        if (p->nrecords < MB_FILE_REFS_MAX) p->records[p->nrecords++] = r;
        read_words(&sub, p, words);
        if (flen > 0 && ((flen - 1u) & 1u)) qw_cur_skip(&sub, 1);
        if (sub.err) {
            cut = true;
            break;
        }
    }
    if (cut) d->c.err = true;
}

/* FC 21 request and response (an echo): data length, then sub-requests with record data. */
static void dec_file_write(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT | MB_F_FILE_REFS | MB_F_REGS)) return;
    bool cut = false;
    struct qw_cursor sub = qw_cur_sub(&d->c, p->byte_count, &cut);
    while (qw_cur_left(&sub) > 0) {
        struct mb_file_ref r;
        read_file_ref(d, &sub, &r);
        if (sub.err) {
            cut = true;
            break;
        }
        if (p->nrecords < MB_FILE_REFS_MAX) p->records[p->nrecords++] = r;
        read_words(&sub, p, r.record_length);
        if (sub.err) {
            cut = true;
            break;
        }
    }
    if (cut) d->c.err = true;
}

/* FC 22 request and response: address, AND mask, OR mask. */
static void dec_mask_write(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->address = qw_cur_be16(&d->c);
    got(d, MB_F_ADDRESS);
    p->and_mask = qw_cur_be16(&d->c);
    p->or_mask = qw_cur_be16(&d->c);
    got(d, MB_F_MASKS);
}

/* FC 23 request: read range, write range, byte count, values to write. */
static void dec_rw_regs_req(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->read_address = qw_cur_be16(&d->c);
    p->read_quantity = qw_cur_be16(&d->c);
    p->write_address = qw_cur_be16(&d->c);
    p->write_quantity = qw_cur_be16(&d->c);
    got(d, MB_F_RW);
    dec_quantity_check(d, p->read_quantity, MB_READ_REGS_MAX);
    dec_quantity_check(d, p->write_quantity, MB_RW_WRITE_REGS_MAX);
    p->byte_count = qw_cur_u8(&d->c);
    if (!got(d, MB_F_BYTE_COUNT)) return;
    if (p->byte_count != 2u * p->write_quantity)
        dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    dec_regs(d, p->byte_count / 2u);
    if (p->byte_count & 1u) qw_cur_skip(&d->c, 1);
}

/* FC 24 request: FIFO pointer address. */
static void dec_fifo_req(struct mb_dec *d)
{
    d->p->address = qw_cur_be16(&d->c);
    got(d, MB_F_ADDRESS);
}

/* FC 24 response: byte count (2 bytes), FIFO count, FIFO registers. */
static void dec_fifo_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->byte_count = qw_cur_be16(&d->c);
    got(d, MB_F_BYTE_COUNT);
    p->fifo_count = qw_cur_be16(&d->c);
    if (!got(d, MB_F_FIFO_COUNT)) return;
    if (p->fifo_count > MB_FIFO_MAX) dec_anomaly(d, "modbus.invalid_quantity", NULL);
    if (p->byte_count != 2u + 2u * p->fifo_count)
        dec_anomaly(d, "modbus.invalid_byte_count", NULL);
    dec_regs(d, p->fifo_count);
}

/* FC 43/14 response objects: id, length, value ([APP] s.6.21). */
static void dec_devid_objects(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    for (unsigned i = 0; i < p->nobjects_declared; i++) {
        uint8_t id = qw_cur_u8(&d->c);
        uint8_t len = qw_cur_u8(&d->c);
        size_t off = dec_pos(d);
        if (!qw_cur_skip(&d->c, len)) return;
        if (p->nobjects < MB_OBJECTS_MAX) {
            struct mb_object *o = &p->objects[p->nobjects++];
            o->id = id;
            o->len = len;
            o->off = (uint16_t)off;
        }
    }
}

/* FC 43 request and response: MEI type, then per-type data ([APP] s.6.19-6.21). */
static void dec_mei(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->mei_type = qw_cur_u8(&d->c);
    if (d->c.err) return;
    p->fields |= MB_F_MEI;
    if (p->mei_type < sizeof mb_mei_types / sizeof mb_mei_types[0] &&
        mb_mei_types[p->mei_type].name)
        p->ops = mb_mei_types[p->mei_type].ops;
    if (p->mei_type != MB_MEI_DEVICE_ID) {
        dec_rest(d);
        return;
    }
    p->devid_code = qw_cur_u8(&d->c);
    got(d, MB_F_DEVID_CODE);
    if (!p->response) {
        p->object_id = qw_cur_u8(&d->c);
        got(d, MB_F_DEVID_REQ);
        return;
    }
    /* Response: code, conformity level, more follows, next object id, count, objects. */
    p->conformity = qw_cur_u8(&d->c);
    p->more_follows = qw_cur_u8(&d->c) == 0xFF;
    p->next_object_id = qw_cur_u8(&d->c);
    p->nobjects_declared = qw_cur_u8(&d->c);
    if (got(d, MB_F_DEVID_RSP)) dec_devid_objects(d);
}

/* FC 90 (UMAS) request: session key, UMAS function, payload. */
static void dec_umas_req(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->umas_key = qw_cur_u8(&d->c);
    p->subfunction = qw_cur_u8(&d->c);
    if (d->c.err) return;
    p->fields |= MB_F_UMAS_KEY | MB_F_SUB;
    const struct mb_sub *s = &mb_umas_subs[p->subfunction];
    p->subfunction_name = s->name ? s->name : "unknown";
    if (s->name) p->ops = s->ops;
    dec_rest(d);
}

/* FC 90 (UMAS) response: session key, status (0xFE ok, 0xFD error), payload. */
static void dec_umas_rsp(struct mb_dec *d)
{
    struct mb_pdu *p = d->p;
    p->umas_key = qw_cur_u8(&d->c);
    p->umas_status = qw_cur_u8(&d->c);
    if (d->c.err) return;
    p->fields |= MB_F_UMAS_KEY | MB_F_UMAS_STATUS;
    if (p->umas_status == MB_UMAS_ERROR) p->error = true;
    dec_rest(d);
}

/* Public function codes ([APP] s.5.1 and s.6), plus 90 (UMAS). */
static const struct mb_func mb_funcs[128] = {
    [1] = {"read_coils", QW_OP_READ, MB_READ_BITS_MAX, dec_read_req, dec_read_bits_rsp},
    [2] = {"read_discrete_inputs", QW_OP_READ, MB_READ_BITS_MAX, dec_read_req,
           dec_read_bits_rsp},
    [3] = {"read_holding_registers", QW_OP_READ, MB_READ_REGS_MAX, dec_read_req,
           dec_read_regs_rsp},
    [4] = {"read_input_registers", QW_OP_READ, MB_READ_REGS_MAX, dec_read_req,
           dec_read_regs_rsp},
    [5] = {"write_single_coil", QW_OP_WRITE, 0, dec_single_coil, dec_single_coil},
    [6] = {"write_single_register", QW_OP_WRITE, 0, dec_single_reg, dec_single_reg},
    [7] = {"read_exception_status", QW_OP_DIAGNOSTIC, 0, dec_none, dec_exception_status_rsp},
    [8] = {"diagnostics", QW_OP_DIAGNOSTIC, 0, dec_diag, dec_diag},
    [11] = {"get_comm_event_counter", QW_OP_DIAGNOSTIC, 0, dec_none, dec_event_counter_rsp},
    [12] = {"get_comm_event_log", QW_OP_DIAGNOSTIC, 0, dec_none, dec_event_log_rsp},
    [15] = {"write_multiple_coils", QW_OP_WRITE, MB_WRITE_BITS_MAX, dec_write_bits_req,
            dec_addr_qty},
    [16] = {"write_multiple_registers", QW_OP_WRITE, MB_WRITE_REGS_MAX, dec_write_regs_req,
            dec_addr_qty},
    [17] = {"report_server_id", QW_OP_IDENTIFY, 0, dec_none, dec_report_id_rsp},
    [20] = {"read_file_record", QW_OP_READ | QW_OP_FILE, 0, dec_file_read_req,
            dec_file_read_rsp},
    [21] = {"write_file_record", QW_OP_WRITE | QW_OP_FILE, 0, dec_file_write, dec_file_write},
    [22] = {"mask_write_register", QW_OP_WRITE, 0, dec_mask_write, dec_mask_write},
    [23] = {"read_write_multiple_registers", QW_OP_READ | QW_OP_WRITE, 0, dec_rw_regs_req,
            dec_read_regs_rsp},
    [24] = {"read_fifo_queue", QW_OP_READ, 0, dec_fifo_req, dec_fifo_rsp},
    [43] = {"encapsulated_interface_transport", 0, 0, dec_mei, dec_mei},
    [90] = {"umas", 0, 0, dec_umas_req, dec_umas_rsp},
};

/* FC 1-4 requests: address and quantity within the function's bound. */
static void dec_read_req(struct mb_dec *d)
{
    dec_addr_qty(d);
    dec_quantity_check(d, d->p->quantity, mb_funcs[d->p->fc].qty_max);
}

static const char *mb_function_name(uint8_t fc)
{
    const char *n = fc < 128 ? mb_funcs[fc].name : NULL;
    return n ? n : "unknown";
}

/* Decode one PDU (function code onwards). `unit`/`tid` come from the MBAP header. Anomalies go
 * to `ctx` unless it is NULL. */
static void mb_decode(struct mb_pdu *p, struct qw_pctx *ctx, const struct mb_pdu *req,
                      bool response, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t len)
{
    memset(p, 0, offsetof(struct mb_pdu, objects));
    p->pdu = pdu;
    p->pdu_len = len;
    p->tid = tid;
    p->unit = unit;

    struct qw_cursor all = qw_cursor_make(pdu, len);
    uint8_t raw_fc = qw_cur_u8(&all);
    struct mb_dec d = {qw_cur_sub(&all, qw_cur_left(&all), NULL), p, req, ctx};
    p->fc = raw_fc & 0x7Fu;
    p->exception = (raw_fc & MB_EXCEPTION_BIT) != 0;
    p->response = response || p->exception;
    const struct mb_func *f = &mb_funcs[p->fc];
    p->ops = f->ops;

    if (p->exception) {
        p->error = true;
        p->exc_code = qw_cur_u8(&d.c);
        got(&d, MB_F_EXC_CODE);
    } else {
        mb_decode_fn fn = p->response ? f->rsp : f->req;
        if (fn) fn(&d);
        else dec_rest(&d); /* unknown function: valid, undecoded */
    }
    if (d.c.err) {
        p->truncated = true;
        dec_anomaly(&d, "modbus.truncated_pdu", mb_function_name(p->fc));
    } else if (qw_cur_left(&d.c) > 0) {
        dec_anomaly(&d, "modbus.trailing_data", mb_function_name(p->fc));
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct mb_view {
    const struct mb_pdu *req, *rsp;
};

static void mb_json_hex(struct qw_json *j, const char *key, const struct mb_pdu *p)
{
    size_t n = p->data_len;
    bool cut = n > MB_HEX_MAX;
    qw_json_hex(j, key, p->pdu + p->data_off, cut ? MB_HEX_MAX : n);
    if (cut) qw_json_bool(j, "data_truncated", true);
}

static void mb_json_objects(struct qw_json *j, const struct mb_pdu *p)
{
    qw_json_arr_begin(j, "objects");
    for (unsigned i = 0; i < p->nobjects; i++) {
        const struct mb_object *o = &p->objects[i];
        qw_json_obj_begin(j, NULL);
        qw_json_u64(j, "id", o->id);
        if (o->id < sizeof mb_object_names / sizeof mb_object_names[0])
            qw_json_str(j, "name", mb_object_names[o->id]);
        else
            qw_json_str(j, "name", o->id < 0x80 ? "reserved" : "private");
        qw_json_strn(j, "value", p->pdu + o->off, o->len);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void mb_json_records(struct qw_json *j, const struct mb_pdu *p)
{
    qw_json_arr_begin(j, "records");
    for (unsigned i = 0; i < p->nrecords; i++) {
        const struct mb_file_ref *r = &p->records[i];
        qw_json_obj_begin(j, NULL);
        if (p->fields & MB_F_FILE_REFS) {
            qw_json_u64(j, "file_number", r->file_number);
            qw_json_u64(j, "record_number", r->record_number);
        }
        qw_json_u64(j, "record_length", r->record_length);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void mb_json_side(struct qw_json *j, const char *key, const struct mb_pdu *p)
{
    uint32_t f = p->fields;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "transaction_id", p->tid);
    qw_json_u64(j, "unit_id", p->unit);
    qw_json_u64(j, "function", p->fc);
    qw_json_str(j, "function_name", mb_function_name(p->fc));
    if (f & MB_F_EXC_CODE) {
        qw_json_u64(j, "exception_code", p->exc_code);
        const char *en = NULL;
        if (p->exc_code < sizeof mb_exception_names / sizeof mb_exception_names[0])
            en = mb_exception_names[p->exc_code];
        qw_json_str(j, "exception_name", en ? en : "unknown");
    }
    if (f & MB_F_UMAS_KEY) qw_json_u64(j, "umas_session_key", p->umas_key);
    if (f & MB_F_SUB) {
        qw_json_u64(j, "subfunction", p->subfunction);
        qw_json_str(j, "subfunction_name", p->subfunction_name);
    }
    if (f & MB_F_UMAS_STATUS) {
        qw_json_u64(j, "umas_status", p->umas_status);
        qw_json_str(j, "umas_status_name", p->umas_status == MB_UMAS_OK      ? "ok"
                                           : p->umas_status == MB_UMAS_ERROR ? "error"
                                                                             : "unknown");
    }
    if (f & MB_F_MEI) {
        qw_json_u64(j, "mei_type", p->mei_type);
        const char *mn = NULL;
        if (p->mei_type < sizeof mb_mei_types / sizeof mb_mei_types[0])
            mn = mb_mei_types[p->mei_type].name;
        qw_json_str(j, "mei_name", mn ? mn : "unknown");
    }
    if (f & MB_F_DEVID_CODE) qw_json_u64(j, "read_device_id_code", p->devid_code);
    if (f & MB_F_DEVID_REQ) qw_json_u64(j, "object_id", p->object_id);
    if (f & MB_F_DEVID_RSP) {
        qw_json_u64(j, "conformity_level", p->conformity);
        qw_json_bool(j, "more_follows", p->more_follows);
        qw_json_u64(j, "next_object_id", p->next_object_id);
        qw_json_u64(j, "number_of_objects", p->nobjects_declared);
        mb_json_objects(j, p);
    }
    if (f & MB_F_ADDRESS) qw_json_u64(j, "address", p->address);
    if (f & MB_F_QUANTITY) qw_json_u64(j, "quantity", p->quantity);
    if (f & MB_F_RW) {
        qw_json_u64(j, "read_address", p->read_address);
        qw_json_u64(j, "read_quantity", p->read_quantity);
        qw_json_u64(j, "write_address", p->write_address);
        qw_json_u64(j, "write_quantity", p->write_quantity);
    }
    if (f & MB_F_MASKS) {
        qw_json_u64(j, "and_mask", p->and_mask);
        qw_json_u64(j, "or_mask", p->or_mask);
    }
    if (f & MB_F_STATUS) qw_json_u64(j, "status", p->status);
    if (f & MB_F_EVENT_COUNT) qw_json_u64(j, "event_count", p->event_count);
    if (f & MB_F_MESSAGE_COUNT) qw_json_u64(j, "message_count", p->message_count);
    if (f & MB_F_BYTE_COUNT) qw_json_u64(j, "byte_count", p->byte_count);
    if (f & MB_F_FIFO_COUNT) qw_json_u64(j, "fifo_count", p->fifo_count);
    if (f & (MB_F_FILE_REFS | MB_F_FILE_LENS)) mb_json_records(j, p);
    if (f & MB_F_RAW_VALUE) qw_json_u64(j, "raw_value", p->raw_value);
    if (f & (MB_F_REGS | MB_F_BITS)) {
        qw_json_u16s(j, "values", p->values, p->nvalues, (f & MB_F_BITS) != 0);
    }
    if (f & MB_F_EVENTS) mb_json_hex(j, "events", p);
    if (f & MB_F_DATA) mb_json_hex(j, "data", p);
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void mb_write_json(struct qw_json *j, const void *arg)
{
    const struct mb_view *v = arg;
    if (v->req) mb_json_side(j, "request", v->req);
    if (v->rsp) mb_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct mb_slot {
    bool used;
    uint8_t unit;
    uint16_t tid;
    uint16_t pdu_len;
    uint32_t seq; /* arrival order */
    uint64_t ts_ns;
    uint8_t pdu[MB_PDU_MAX];
};

struct mb_state {
    bool resync[2];   /* per direction: looking for the next plausible ADU header */
    bool queue_full_reported;
    uint32_t next_seq;
    uint8_t nqueued;
    struct mb_slot queue[MB_QUEUE_MAX];
    struct mb_pdu req, rsp; /* scratch records for the transaction being emitted */
    struct mb_view view;    /* the write_json argument: points at req/rsp above */
};

static void mb_emit(struct qw_pctx *ctx, struct mb_state *st, const struct mb_pdu *req,
                    uint64_t req_ns, const struct mb_pdu *rsp, uint64_t rsp_ns)
{
    const struct mb_pdu *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->fc;
    t.function_name = mb_function_name(key->fc);
    t.ops = key->ops;
    t.error = rsp && rsp->error;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = mb_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

/* Emit a queued request as unanswered and free its slot. */
static void mb_flush_slot(struct qw_pctx *ctx, struct mb_state *st, struct mb_slot *s)
{
    mb_decode(&st->req, NULL, NULL, false, s->tid, s->unit, s->pdu, s->pdu_len);
    mb_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
    s->used = false;
    st->nqueued--;
}

static struct mb_slot *mb_oldest(struct mb_state *st)
{
    struct mb_slot *best = NULL;
    for (size_t i = 0; i < MB_QUEUE_MAX; i++) {
        struct mb_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct mb_slot *mb_find(struct mb_state *st, uint16_t tid, uint8_t unit)
{
    struct mb_slot *best = NULL;
    for (size_t i = 0; i < MB_QUEUE_MAX; i++) {
        struct mb_slot *s = &st->queue[i];
        if (!s->used || s->tid != tid || s->unit != unit) continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static void mb_on_request(struct qw_pctx *ctx, struct mb_state *st, uint16_t tid, uint8_t unit,
                          const uint8_t *pdu, size_t len)
{
    struct mb_slot *old = st->nqueued >= MB_QUEUE_MAX ? mb_oldest(st) : NULL;
    if (old) {
        if (!st->queue_full_reported)
            qw_emit_anomaly(ctx, "modbus.request_queue_full", NULL);
        st->queue_full_reported = true;
        mb_flush_slot(ctx, st, old);
    }
    /* Decode now for the anomalies; the record itself is rebuilt from the slot when emitted. */
    mb_decode(&st->req, ctx, NULL, false, tid, unit, pdu, len);
    struct mb_slot *s = NULL;
    for (size_t i = 0; i < MB_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) return; /* unreachable: a slot was freed above */
    if (len > sizeof s->pdu) len = sizeof s->pdu;
    s->used = true;
    s->tid = tid;
    s->unit = unit;
    s->pdu_len = (uint16_t)len;
    memcpy(s->pdu, pdu, len);
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    st->nqueued++;
}

/* Identity facts from a Read Device Identification response ([APP] s.6.21). */
static void mb_emit_identity(struct qw_pctx *ctx, const struct mb_pdu *p, bool server)
{
    const struct mb_object *model = NULL, *name = NULL;
    for (unsigned i = 0; i < p->nobjects; i++) {
        const struct mb_object *o = &p->objects[i];
        const char *v = (const char *)p->pdu + o->off;
        if (o->len == 0) continue;
        switch (o->id) {
        case 0: qw_emit_identity(ctx, server, "vendor", v, o->len); break;
        case 1: qw_emit_identity(ctx, server, "product_code", v, o->len); break;
        case 2: qw_emit_identity(ctx, server, "firmware", v, o->len); break;
        case 4: name = o; break;
        case 5: model = o; break;
        default: break;
        }
    }
    if (name) qw_emit_identity(ctx, server, "product_name", (const char *)p->pdu + name->off,
                               name->len);
    if (!model) model = name;
    if (model)
        qw_emit_identity(ctx, server, "model", (const char *)p->pdu + model->off, model->len);
}

static void mb_on_response(struct qw_pctx *ctx, struct mb_state *st, enum qw_dir dir,
                           uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t len)
{
    struct mb_slot *s = mb_find(st, tid, unit);
    const struct mb_pdu *req = NULL;
    if (s) {
        mb_decode(&st->req, NULL, NULL, false, s->tid, s->unit, s->pdu, s->pdu_len);
        req = &st->req;
    }
    mb_decode(&st->rsp, ctx, req, true, tid, unit, pdu, len);
    if (req && req->fc != st->rsp.fc)
        qw_emit_anomaly(ctx, "modbus.function_mismatch", mb_function_name(st->rsp.fc));
    mb_emit(ctx, st, req, s ? s->ts_ns : 0, &st->rsp, qw_pctx_time(ctx));
    if (s) {
        s->used = false;
        st->nqueued--;
    }
    if ((st->rsp.fields & MB_F_DEVID_RSP) && !st->rsp.exception)
        mb_emit_identity(ctx, &st->rsp, dir == QW_DIR_TO_CLIENT);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* The MBAP length check shared by probe, parse and resync. */
static bool mb_len_ok(uint16_t len)
{
    return len >= MB_LEN_MIN && len <= MB_LEN_LENIENT;
}

/* A plausible ADU start for resynchronisation: protocol id 0, a sane length, and a function
 * code that names a request or an exception with room for its code. Exceptions longer than the
 * 3 bytes of the spec occur (corpus: digitalbond_modbus_test_data_part1.pcap pads them with a
 * zero byte), so only the lower bound is checked. Needs MB_HDR_LEN bytes. */
static bool mb_plausible(const uint8_t *b, size_t n)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    qw_cur_skip(&c, 2);
    uint16_t pid = qw_cur_be16(&c);
    uint16_t len = qw_cur_be16(&c);
    qw_cur_skip(&c, 1);
    uint8_t fc = qw_cur_u8(&c);
    if (c.err || pid != 0 || !mb_len_ok(len)) return false;
    if (fc & MB_EXCEPTION_BIT) return len >= MB_EXCEPTION_LEN && (fc & 0x7Fu) != 0;
    return fc != 0;
}

/* Does what follows an ADU ending at `end` look like another header (or nothing)? */
static bool mb_chain_ok(const uint8_t *b, size_t n, size_t end)
{
    if (end >= n) return true;
    struct qw_cursor c = qw_cursor_make(b + end, n - end);
    qw_cur_skip(&c, 2);
    uint16_t pid = qw_cur_be16(&c);
    if (c.err) return true; /* too few bytes to tell */
    if (pid != 0) return false;
    uint16_t len = qw_cur_be16(&c);
    return c.err || mb_len_ok(len);
}

enum mb_sync { MB_SYNC_FOUND, MB_SYNC_WAIT };

/* Search forward for the next ADU boundary: a plausible header whose complete ADU is followed by
 * the end of the data or by another header. `*skip` receives the bytes to drop. WAIT means no
 * boundary is provable yet: keep the bytes from `*skip` on and look again with more data. */
static enum mb_sync mb_resync(const uint8_t *b, size_t n, size_t *skip)
{
    size_t i = 0;
    for (; n - i >= MB_HDR_LEN; i++) {
        if (!mb_plausible(b + i, n - i)) continue;
        struct qw_cursor c = qw_cursor_make(b + i, n - i);
        qw_cur_skip(&c, 4);
        size_t end = i + MB_MBAP_LEN + qw_cur_be16(&c);
        if (end > n) break; /* incomplete: wait for the rest before deciding */
        if (mb_chain_ok(b, n, end)) {
            *skip = i;
            return MB_SYNC_FOUND;
        }
    }
    *skip = i;
    return MB_SYNC_WAIT;
}

static enum qw_probe_result mb_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* exceptions are accepted both ways: see the banner */
    struct qw_cursor c = qw_cursor_make(data, len);
    qw_cur_skip(&c, 2);
    uint16_t pid = qw_cur_be16(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (pid != 0) return QW_PROBE_NO;
    uint16_t alen = qw_cur_be16(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if (!mb_len_ok(alen)) return QW_PROBE_NO;
    qw_cur_skip(&c, 1);
    uint8_t fc = qw_cur_u8(&c);
    if (c.err) return QW_PROBE_NEED_MORE;
    if ((fc & MB_EXCEPTION_BIT) && alen < MB_EXCEPTION_LEN) return QW_PROBE_NO;
    size_t end = MB_MBAP_LEN + (size_t)alen;
    if (end < len && !mb_chain_ok(data, len, end)) return QW_PROBE_NO;
    /* Function code 0 is not valid ([APP] s.5.1), yet scanners open with it (corpus:
     * digitalbond_modbus_test_data_part2.pcap): accept it only once the whole ADU is seen. */
    if ((fc & 0x7Fu) == 0 && end > len) return QW_PROBE_NEED_MORE;
    return QW_PROBE_MATCH;
}

static void mb_on_adu(struct qw_pctx *ctx, struct mb_state *st, enum qw_dir dir,
                      const uint8_t *adu, size_t n)
{
    struct qw_cursor c = qw_cursor_make(adu, n);
    uint16_t tid = qw_cur_be16(&c);
    qw_cur_skip(&c, 4);
    uint8_t unit = qw_cur_u8(&c);
    if (c.err) return;
    const uint8_t *pdu = qw_cur_ptr(&c);
    size_t plen = qw_cur_left(&c);
    struct qw_cursor fcc = qw_cursor_make(pdu, plen);
    uint8_t fc = qw_cur_u8(&fcc);
    if (fcc.err) return;
    if (dir == QW_DIR_TO_CLIENT || (fc & MB_EXCEPTION_BIT))
        mb_on_response(ctx, st, dir, tid, unit, pdu, plen);
    else
        mb_on_request(ctx, st, tid, unit, pdu, plen);
}

static size_t mb_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                       size_t len)
{
    struct mb_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            size_t skip = 0;
            enum mb_sync r = mb_resync(data + off, len - off, &skip);
            off += skip;
            if (r == MB_SYNC_WAIT) return off;
            st->resync[d] = false;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        qw_cur_skip(&c, 2);
        uint16_t pid = qw_cur_be16(&c);
        uint16_t alen = qw_cur_be16(&c);
        if (c.err) return off; /* header not complete yet */
        if (pid != 0 || !mb_len_ok(alen)) {
            qw_emit_anomaly(ctx, pid != 0 ? "modbus.invalid_protocol_id" : "modbus.invalid_length",
                            NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t adu_len = MB_MBAP_LEN + (size_t)alen;
        if (len - off < adu_len) return off; /* partial ADU: the engine keeps it */
        if (alen > MB_LEN_MAX) qw_emit_anomaly(ctx, "modbus.oversized_adu", NULL);
        mb_on_adu(ctx, st, dir, data + off, adu_len);
        off += adu_len;
    }
    return off;
}

static void mb_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct mb_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void mb_flow_end(struct qw_pctx *ctx, void *state)
{
    struct mb_state *st = state;
    struct mb_slot *s;
    while ((s = mb_oldest(st)) != NULL) mb_flush_slot(ctx, st, s);
}

/* Modbus/UDP carries the same MBAP-framed ADUs, one or more per datagram. */
static void mb_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    (void)mb_parse(ctx, state, dir, data, len);
}

const struct qw_proto qw_proto_modbus = {
    .name = "modbus",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {MB_PORT, 0},
    .probe = mb_probe,
    .state_size = sizeof(struct mb_state),
    .parse = mb_parse,
    .datagram = mb_datagram,
    .gap = mb_gap,
    .flow_end = mb_flow_end,
};
