/* Omron FINS parser: FINS over UDP and FINS/TCP (port 9600 is a hint only).
 *
 * Specifications (Omron, public manuals):
 *   [W342] Communications Commands Reference Manual (CS/CJ/CP/NSJ): s.3 the FINS frame (ICF,
 *          RSV, GCT, destination and source network/node/unit, SID, command code, end code),
 *          s.5 the commands and their parameters, s.5-2-2 memory area designations, s.8 end
 *          codes (main code, sub code, the network relay error bit 15 and the CPU error bits 6
 *          and 7 of the sub code).
 *   [W227] FINS Commands Reference Manual (CV series): CV-mode area codes and the commands
 *          tables in fins_tables.c cite.
 *   [W421] Ethernet Units Construction of Networks: s.7 FINS/TCP: the header and the node
 *          address exchange.
 *
 * FINS frame (big-endian):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 ICF: bit 7 gateway used, bit 6 response (0 command), bits 1-5 reserved (0),
 *               bit 0 response not required
 *        1    1 RSV (0)
 *        2    1 GCT gateway count (permissible bridges, 0-7; 2 in practice)
 *        3    3 DNA, DA1, DA2: destination network (0 local, 1-127), node, unit
 *        6    3 SNA, SA1, SA2: source network, node, unit
 *        9    1 SID: service id, chosen by the sender of a command and echoed in its response
 *       10    2 MRC, SRC: the command code
 *       12    2 end code (responses only): main code (bit 7 relay error), sub code
 *       ..   .. parameters and data
 *
 * FINS/TCP [W421]: "FINS" (4), length (4: the bytes after it), command (4: 0 client node
 * address send, 1 server node address send, 2 frame send, 3 frame send error notification,
 * 6 connection confirmation), error code (4), then the data: the client's node address (0),
 * the client's and the server's node addresses (1), or a FINS frame (2).
 *
 * A command waits, keyed by its SID and command code, for the response from the other side
 * carrying both; a command that asks for no response is a record at once. The queue keeps up
 * to FINS_QUEUE_MAX commands as raw bytes (cut to FINS_KEEP_MAX, which holds every parameter
 * decoded) and both sides are decoded again when the transaction is emitted, so nothing is
 * allocated per packet. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/fins_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/digits.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define FINS_PORT 9600     /* Omron's default FINS UDP and FINS/TCP port [W421] */
#define FINS_HDR_LEN 10
#define FINS_CMD_MIN 12    /* header + MRC, SRC */
#define FINS_RSP_MIN 14    /* + end code */
/* [W342] s.3: at most 2000 bytes of data after the command (and end code); a frame of more
 * than 2048 bytes is not one a unit sends. */
#define FINS_FRAME_MAX 2048
#define FINS_TCP_HDR 16    /* magic, length, command, error code */
#define FINS_TCP_LEN_MIN 8 /* command + error code */
#define FINS_GCT_MAX 7     /* [W342]: up to 8 network levels, so 7 bridges */
#define FINS_NET_MAX 0x7F  /* network addresses 0 (local) and 1-127 */
/* Outstanding commands per flow: a tool waits for each response; a PLC's SEND/RECV and an
 * HMI may have a few in flight. */
#define FINS_QUEUE_MAX 16
#define FINS_KEEP_MAX 96   /* header + the longest parameter block decoded (220C: 28 bytes) */
#define FINS_LIST_MAX 16   /* items listed for 0104 and 2301 */
#define FINS_HEX_MAX 32    /* data shown as hex */
#define FINS_TEXT_LEN 20   /* model and version in a controller data read response */
#define FINS_FILE_LEN 12   /* file names: 8 + '.' + 3 */
#define FINS_NAME_MAX 16   /* name set / name read */

static const uint8_t fins_magic[4] = {'F', 'I', 'N', 'S'};

enum fins_tcp_cmd { FT_NODE_CLIENT = 0, FT_NODE_SERVER = 1, FT_FRAME = 2, FT_FRAME_ERROR = 3,
                    FT_CONFIRM = 6 };

/* Fields present in a decoded message (fins_msg.fields). */
enum {
    F_MEM = 1u << 0,        /* memory_area, address, bit */
    F_ITEMS = 1u << 1,      /* items */
    F_DST = 1u << 2,        /* 0105: the destination area */
    F_PARAM = 1u << 3,      /* parameter area, beginning word, words */
    F_PROGRAM = 1u << 4,    /* program number */
    F_PROTECT = 1u << 5,    /* protect code, beginning and last word, password */
    F_RANGE32 = 1u << 6,    /* program area beginning word + bytes (0306/0307) */
    F_CLEAR = 1u << 7,      /* clear code */
    F_MODE = 1u << 8,       /* RUN mode */
    F_DATA_CODE = 1u << 9,  /* 0501 request */
    F_MODEL = 1u << 10,     /* 0501 response */
    F_STATUS = 1u << 11,    /* 0601 response */
    F_CYCLE = 1u << 12,     /* 0620 response */
    F_CLOCK = 1u << 13,     /* 0701 response, 0702 request */
    F_DISK = 1u << 14,
    F_FILE = 1u << 15,
    F_POSITION = 1u << 16,  /* file position + data length */
    F_PCODE = 1u << 17,     /* parameter code (file writes, transfers) */
    F_FILES = 1u << 18,
    F_RECORDS = 1u << 19,   /* error log read */
    F_UNIT = 1u << 20,      /* 0502 request */
    F_LIST = 1u << 21,      /* 0104 items, 2301 forced bits */
    F_NAME = 1u << 22,
    F_HEX = 1u << 23,       /* written or read data as hex */
    F_PARAMETER = 1u << 24, /* 0620 request's parameter */
    F_WORDS32 = 1u << 25,   /* 220C words */
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct fins_item {
    uint16_t spec; /* 2301 only */
    uint8_t area, bit;
    uint16_t address;
};

struct fins_msg {
    uint8_t icf, rsv, gct, sid;
    uint8_t dna, da1, da2, sna, sa1, sa2;
    uint16_t cmd;
    bool response;
    uint16_t end_code;
    size_t data_len;        /* parameter bytes after the command (and end code), as sent */
    uint32_t fields;
    bool truncated;         /* the parameters ended before their fields */
    bool trailing;          /* bytes after the counted parameter blocks */
    struct fins_item mem, dst;
    uint16_t items, param_area, begin16, words16, program, disk, pcode, files, rec_begin, recs;
    uint8_t protect_code, clear_code, mode, data_code, parameter, unit, units;
    uint32_t begin32, last32, bytes32, position;
    uint16_t length;
    uint8_t cpu_status, cpu_mode;
    uint16_t fatal, non_fatal;
    uint32_t cycle[3];      /* average, max, min in 0.1 ms */
    uint8_t clock[7];
    uint8_t nclock;
    char model[FINS_TEXT_LEN + 1], version[FINS_TEXT_LEN + 1];
    char file[FINS_FILE_LEN + 1];
    char name[FINS_NAME_MAX + 1];
    unsigned nlist, list_total;
    struct fins_item list[FINS_LIST_MAX];
    const uint8_t *hex;
    size_t hex_len;
};

static uint8_t end_main(uint16_t ec)
{
    return (uint8_t)((ec >> 8) & 0x7Fu); /* bit 15: network relay error */
}

static uint8_t end_sub(uint16_t ec)
{
    return (uint8_t)(ec & 0x3Fu); /* bits 6, 7: non-fatal and fatal CPU unit error */
}

/* An end code that reports a failure: any main code, or 0001 (service cancelled). */
static bool end_failed(uint16_t ec)
{
    return end_main(ec) != 0 || end_sub(ec) != 0;
}

/* Text up to the first NUL, trailing spaces dropped ([W342] model and version fields are
 * space- or NUL-padded). */
static void copy_text(char *out, const uint8_t *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k] != 0) k++;
    while (k > 0 && p[k - 1] == ' ') k--;
    memcpy(out, p, k);
    out[k] = '\0';
}

/* A field of printable ASCII padded with NULs or spaces, starting with a printable byte: how a
 * controller data read answer that carries the model looks, unlike one with area data only. */
static bool looks_text(const uint8_t *p, size_t n)
{
    if (n == 0 || p[0] <= 0x20 || p[0] >= 0x7F) return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0 && (p[i] < 0x20 || p[i] >= 0x7F)) return false;
    return true;
}

static void take_mem(struct qw_cursor *c, struct fins_item *it)
{
    it->area = qw_cur_u8(c);
    it->address = qw_cur_be16(c);
    it->bit = qw_cur_u8(c);
}

static void take_file(struct qw_cursor *c, struct fins_msg *m)
{
    const uint8_t *p = qw_cur_take(c, FINS_FILE_LEN);
    if (!p) return;
    copy_text(m->file, p, FINS_FILE_LEN);
    m->fields |= F_FILE;
}

static void take_hex(struct qw_cursor *c, struct fins_msg *m)
{
    size_t n = qw_cur_left(c);
    if (n == 0) return;
    m->hex = qw_cur_ptr(c);
    m->hex_len = n;
    m->fields |= F_HEX;
}

/* Memory area commands' requests ([W342] s.5-3-1 to 5-3-5). */
static void dec_mem_request(struct qw_cursor *c, struct fins_msg *m)
{
    switch (m->cmd) {
    case 0x0101:
    case 0x0102:
    case 0x0103:
        take_mem(c, &m->mem);
        m->items = qw_cur_be16(c);
        if (!c->err) m->fields |= F_MEM | F_ITEMS;
        if (m->cmd != 0x0101) take_hex(c, m);
        return;
    case 0x0104:
        while (qw_cur_left(c) >= 4) {
            struct fins_item it;
            take_mem(c, &it);
            if (m->nlist < FINS_LIST_MAX) m->list[m->nlist++] = it;
            m->list_total++;
        }
        if (qw_cur_left(c) != 0 || m->list_total == 0) m->truncated = true;
        m->fields |= F_LIST;
        return;
    default: /* 0105 */
        take_mem(c, &m->mem);
        take_mem(c, &m->dst);
        m->items = qw_cur_be16(c);
        if (!c->err) m->fields |= F_MEM | F_DST | F_ITEMS;
        return;
    }
}

static void dec_param_block(struct qw_cursor *c, struct fins_msg *m)
{
    m->param_area = qw_cur_be16(c);
    m->begin16 = qw_cur_be16(c);
    m->words16 = qw_cur_be16(c);
    if (!c->err) m->fields |= F_PARAM;
}

static void dec_program_range(struct qw_cursor *c, struct fins_msg *m)
{
    m->program = qw_cur_be16(c);
    m->begin32 = qw_cur_be32(c);
    m->bytes32 = qw_cur_be16(c);
    if (!c->err) m->fields |= F_PROGRAM | F_RANGE32;
}

static void dec_clock(struct qw_cursor *c, struct fins_msg *m, size_t min)
{
    size_t n = qw_cur_left(c);
    if (n < min) {
        m->truncated = true;
        return;
    }
    m->nclock = (uint8_t)(n > 7 ? 7 : n);
    qw_cur_bytes(c, m->clock, m->nclock);
    m->fields |= F_CLOCK;
}

/* File memory commands ([W342] s.5-3-22 to 5-3-33). */
static void dec_file_request(struct qw_cursor *c, struct fins_msg *m)
{
    switch (m->cmd) {
    case 0x2201:
        m->disk = qw_cur_be16(c);
        m->position = qw_cur_be16(c);
        m->files = qw_cur_be16(c);
        if (!c->err) m->fields |= F_DISK | F_FILES;
        return;
    case 0x2202:
    case 0x2203:
        m->disk = qw_cur_be16(c);
        if (m->cmd == 0x2203) m->pcode = qw_cur_be16(c);
        take_file(c, m);
        m->position = qw_cur_be32(c);
        m->length = qw_cur_be16(c);
        if (!c->err) m->fields |= F_DISK | F_POSITION | (m->cmd == 0x2203 ? F_PCODE : 0);
        return;
    case 0x2204:
        m->disk = qw_cur_be16(c);
        if (!c->err) m->fields |= F_DISK;
        return;
    case 0x2205:
        m->disk = qw_cur_be16(c);
        m->files = qw_cur_be16(c);
        if (!c->err) m->fields |= F_DISK | F_FILES;
        take_file(c, m); /* the first name */
        return;
    case 0x220A:
        m->pcode = qw_cur_be16(c);
        take_mem(c, &m->mem);
        m->items = qw_cur_be16(c);
        m->disk = qw_cur_be16(c);
        if (!c->err) m->fields |= F_PCODE | F_MEM | F_ITEMS | F_DISK;
        take_file(c, m);
        return;
    case 0x220B:
        m->pcode = qw_cur_be16(c);
        dec_param_block(c, m);
        m->disk = qw_cur_be16(c);
        if (!c->err) m->fields |= F_PCODE | F_DISK;
        take_file(c, m);
        return;
    case 0x220C:
        m->pcode = qw_cur_be16(c);
        m->program = qw_cur_be16(c);
        m->begin32 = qw_cur_be32(c);
        m->bytes32 = qw_cur_be32(c);
        m->disk = qw_cur_be16(c);
        if (!c->err) m->fields |= F_PCODE | F_PROGRAM | F_WORDS32 | F_DISK;
        take_file(c, m);
        return;
    default: return; /* the others are not broken down */
    }
}

static void dec_force(struct qw_cursor *c, struct fins_msg *m)
{
    uint16_t n = qw_cur_be16(c);
    for (unsigned i = 0; i < n && !c->err; i++) {
        struct fins_item it;
        it.spec = qw_cur_be16(c);
        take_mem(c, &it);
        if (c->err) break;
        if (m->nlist < FINS_LIST_MAX) m->list[m->nlist++] = it;
    }
    m->list_total = n;
    m->fields |= F_LIST;
    if (!c->err && qw_cur_left(c) != 0) m->trailing = true;
}

static void dec_request(struct qw_cursor *c, struct fins_msg *m)
{
    size_t n = qw_cur_left(c);
    switch (m->cmd) {
    case 0x0101: case 0x0102: case 0x0103: case 0x0104: case 0x0105:
        dec_mem_request(c, m);
        break;
    case 0x0201: case 0x0202: case 0x0203:
        dec_param_block(c, m);
        break;
    case 0x0304: case 0x0305:
        m->program = qw_cur_be16(c);
        m->protect_code = qw_cur_u8(c);
        m->begin32 = qw_cur_be32(c);
        m->last32 = qw_cur_be32(c);
        qw_cur_skip(c, 4); /* the password: never logged */
        if (!c->err) m->fields |= F_PROGRAM | F_PROTECT;
        break;
    case 0x0306: case 0x0307:
        dec_program_range(c, m);
        if (m->cmd == 0x0307) take_hex(c, m);
        break;
    case 0x0308:
        m->program = qw_cur_be16(c);
        m->clear_code = qw_cur_u8(c);
        if (!c->err) m->fields |= F_PROGRAM | F_CLEAR;
        break;
    case 0x0401: /* program number and mode are optional: RUN alone starts in monitor mode */
        if (n >= 2) m->program = qw_cur_be16(c), m->fields |= F_PROGRAM;
        if (n >= 3) m->mode = qw_cur_u8(c), m->fields |= F_MODE;
        return;
    case 0x0402: case 0x0C01: case 0x0C02: case 0x0C03:
        if (n >= 2) m->program = qw_cur_be16(c), m->fields |= F_PROGRAM;
        return;
    case 0x0501:
        if (n >= 1) m->data_code = qw_cur_u8(c), m->fields |= F_DATA_CODE;
        return;
    case 0x0502:
        if (n >= 1) m->unit = qw_cur_u8(c), m->fields |= F_UNIT; /* the count may be left out */
        if (n >= 2) m->units = qw_cur_u8(c);
        return;
    case 0x0620:
        if (n >= 1) m->parameter = qw_cur_u8(c), m->fields |= F_PARAMETER;
        return;
    case 0x0702:
        dec_clock(c, m, 5); /* year, month, day, hour, minute [, second [, day of week]] */
        return;
    case 0x2102:
        m->rec_begin = qw_cur_be16(c);
        m->recs = qw_cur_be16(c);
        if (!c->err) m->fields |= F_RECORDS;
        break;
    case 0x2301:
        dec_force(c, m);
        break;
    case 0x2601:
        if (n) {
            copy_text(m->name, qw_cur_ptr(c), n > FINS_NAME_MAX ? FINS_NAME_MAX : n);
            m->fields |= F_NAME;
        }
        return;
    default:
        if ((m->cmd >> 8) == 0x22) dec_file_request(c, m);
        return;
    }
    if (c->err) m->truncated = true;
}

static void dec_response(struct qw_cursor *c, struct fins_msg *m)
{
    size_t n = qw_cur_left(c);
    switch (m->cmd) {
    case 0x0101:
        take_hex(c, m);
        return;
    case 0x0201:
        dec_param_block(c, m);
        take_hex(c, m);
        break;
    case 0x0306: case 0x0307:
        dec_program_range(c, m);
        if (m->cmd == 0x0306) take_hex(c, m);
        break;
    case 0x0501: { /* model and version lead the answer when the request asked for them */
        const uint8_t *p = qw_cur_ptr(c);
        if (n >= 2 * FINS_TEXT_LEN && looks_text(p, FINS_TEXT_LEN)) {
            copy_text(m->model, p, FINS_TEXT_LEN);
            copy_text(m->version, p + FINS_TEXT_LEN, FINS_TEXT_LEN);
            m->fields |= F_MODEL;
        }
        return;
    }
    case 0x0601:
        m->cpu_status = qw_cur_u8(c);
        m->cpu_mode = qw_cur_u8(c);
        m->fatal = qw_cur_be16(c);
        m->non_fatal = qw_cur_be16(c);
        if (!c->err) m->fields |= F_STATUS;
        break;
    case 0x0620: /* parameter 01 (read) answers average, maximum, minimum; 00 (init) nothing */
        if (n >= 12) {
            for (int i = 0; i < 3; i++) m->cycle[i] = qw_cur_be32(c);
            m->fields |= F_CYCLE;
        }
        return;
    case 0x0701:
        dec_clock(c, m, 6);
        return;
    case 0x2603:
        if (n) {
            copy_text(m->name, qw_cur_ptr(c), n > FINS_NAME_MAX ? FINS_NAME_MAX : n);
            m->fields |= F_NAME;
        }
        return;
    default: return;
    }
    if (c->err) m->truncated = true;
}

/* Decode a frame of `full` bytes of which `n` are here (a queued command is kept cut). */
static bool fins_decode(struct fins_msg *m, const uint8_t *b, size_t n, size_t full)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(b, n);
    m->icf = qw_cur_u8(&c);
    m->rsv = qw_cur_u8(&c);
    m->gct = qw_cur_u8(&c);
    m->dna = qw_cur_u8(&c);
    m->da1 = qw_cur_u8(&c);
    m->da2 = qw_cur_u8(&c);
    m->sna = qw_cur_u8(&c);
    m->sa1 = qw_cur_u8(&c);
    m->sa2 = qw_cur_u8(&c);
    m->sid = qw_cur_u8(&c);
    m->cmd = qw_cur_be16(&c);
    m->response = (m->icf & 0x40u) != 0;
    if (m->response) m->end_code = qw_cur_be16(&c);
    if (c.err) return false;
    m->data_len = full - c.off;
    /* A response that failed carries no parameters worth decoding. */
    if (m->response && end_failed(m->end_code)) return true;
    if (m->response) dec_response(&c, m);
    else dec_request(&c, m);
    if (n < full) m->truncated = false; /* cut by the queue, not by the sender */
    return true;
}

/* The header's fixed bits ([W342] s.3): reserved ICF bits and RSV zero, a gateway count that
 * fits the 8 network levels. NULL when good, else what is wrong. */
static const char *header_fault(const uint8_t *b)
{
    if (b[0] & 0x3Eu) return "icf";
    if (b[1] != 0) return "rsv";
    if (b[2] > FINS_GCT_MAX) return "gct";
    return NULL;
}

/* ---- Operation classes --------------------------------------------------------------------- */

static bool program_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".OBJ") == 0 || strcmp(dot, ".obj") == 0);
}

/* The table's classes, and what the parameters add: a transfer from file memory into the
 * controller writes data (220A), settings (220B) or the program (220C); a program file
 * written to file memory (2203) is one the controller may boot (AUTOEXEC.OBJ). */
static uint32_t fins_ops(const struct fins_msg *m)
{
    const struct fins_command *k = fins_command_of(m->cmd);
    uint32_t ops = k ? k->ops : 0;
    if (m->response) return ops;
    bool into = (m->fields & F_PCODE) && m->pcode == 1;
    if (m->cmd == 0x220A && into) ops |= QW_OP_WRITE;
    if (m->cmd == 0x220B && into) ops |= QW_OP_CONFIG;
    if (m->cmd == 0x220C && into) ops |= QW_OP_PROGRAM;
    if (m->cmd == 0x2203 && (m->fields & F_FILE) && program_file(m->file)) ops |= QW_OP_PROGRAM;
    return ops;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_area(struct qw_json *j, const char *code_key, const char *name_key,
                      const char *unit_key, uint8_t code)
{
    const struct fins_area *a = fins_area_of(code);
    qw_json_u64(j, code_key, code);
    qw_json_str(j, name_key, a ? a->area : "unknown");
    if (a && unit_key) qw_json_str(j, unit_key, a->unit);
}

static void json_item(struct qw_json *j, const struct fins_item *it, bool spec)
{
    qw_json_obj_begin(j, NULL);
    if (spec) {
        const char *s = fins_force_spec_name(it->spec);
        qw_json_u64(j, "specification", it->spec);
        qw_json_str(j, "specification_name", s ? s : "unknown");
    }
    json_area(j, "memory_area", "memory_area_name", "memory_unit", it->area);
    qw_json_u64(j, "address", it->address);
    qw_json_u64(j, "bit", it->bit);
    qw_json_obj_end(j);
}

/* The clock as ISO 8601 local time: BCD year (2 digits: 98-99 are 1998-1999, [W342] s.5-3-14),
 * month, day, hour, minute, second; raw hex when a digit is not decimal. */
static void json_clock(struct qw_json *j, const struct fins_msg *m)
{
    for (unsigned i = 0; i < m->nclock; i++)
        if (!qw_bcd_valid(m->clock[i])) {
            qw_json_hex(j, "clock_raw", m->clock, m->nclock);
            return;
        }
    unsigned y = qw_bcd_value(m->clock[0]);
    char t[32];
    int w = snprintf(t, sizeof t, "%04u-%02u-%02uT%02u:%02u:%02u", y < 70 ? 2000 + y : 1900 + y,
                     qw_bcd_value(m->clock[1]), qw_bcd_value(m->clock[2]),
                     qw_bcd_value(m->clock[3]), qw_bcd_value(m->clock[4]),
                     m->nclock > 5 ? qw_bcd_value(m->clock[5]) : 0u);
    qw_json_strn(j, "clock", t, (size_t)w);
    if (m->nclock > 6) qw_json_u64(j, "day_of_week", qw_bcd_value(m->clock[6]));
}

static void json_end_code(struct qw_json *j, const struct fins_msg *m)
{
    const char *name = fins_main_code_name(end_main(m->end_code));
    qw_json_u64(j, "end_code", m->end_code);
    qw_json_u64(j, "main_code", end_main(m->end_code));
    qw_json_u64(j, "sub_code", end_sub(m->end_code));
    qw_json_str(j, "end_code_name", name ? name : "unknown");
    if (m->end_code & 0x8000u) qw_json_bool(j, "relay_error", true);
    if (m->end_code & 0x0080u) qw_json_bool(j, "fatal_cpu_error", true);
    if (m->end_code & 0x0040u) qw_json_bool(j, "non_fatal_cpu_error", true);
}

static void json_header(struct qw_json *j, const struct fins_msg *m)
{
    const struct fins_command *k = fins_command_of(m->cmd);
    qw_json_u64(j, "icf", m->icf);
    qw_json_bool(j, "response_required", !(m->icf & 0x01u));
    qw_json_bool(j, "gateway", (m->icf & 0x80u) != 0);
    qw_json_u64(j, "gateway_count", m->gct);
    qw_json_u64(j, "destination_network", m->dna);
    qw_json_u64(j, "destination_node", m->da1);
    qw_json_u64(j, "destination_unit", m->da2);
    qw_json_u64(j, "source_network", m->sna);
    qw_json_u64(j, "source_node", m->sa1);
    qw_json_u64(j, "source_unit", m->sa2);
    qw_json_u64(j, "service_id", m->sid);
    qw_json_u64(j, "function", m->cmd);
    qw_json_str(j, "function_name", k ? k->name : "unknown");
    if (m->response) json_end_code(j, m);
    qw_json_u64(j, "data_length", m->data_len);
}

static void json_memory(struct qw_json *j, const struct fins_msg *m)
{
    uint32_t f = m->fields;
    if (f & F_MEM) {
        json_area(j, "memory_area", "memory_area_name", "memory_unit", m->mem.area);
        qw_json_u64(j, "address", m->mem.address);
        qw_json_u64(j, "bit", m->mem.bit);
    }
    if (f & F_DST) {
        json_area(j, "destination_memory_area", "destination_memory_area_name", NULL, m->dst.area);
        qw_json_u64(j, "destination_address", m->dst.address);
        qw_json_u64(j, "destination_bit", m->dst.bit);
    }
    if (f & F_ITEMS) qw_json_u64(j, "items", m->items);
    if (f & F_LIST) {
        qw_json_arr_begin(j, m->cmd == 0x2301 ? "forced" : "areas");
        for (unsigned i = 0; i < m->nlist; i++) json_item(j, &m->list[i], m->cmd == 0x2301);
        qw_json_arr_end(j);
        qw_json_u64(j, "items_total", m->list_total);
    }
    if (f & F_PARAM) {
        const char *pa = fins_param_area_name(m->param_area);
        qw_json_u64(j, "parameter_area", m->param_area);
        qw_json_str(j, "parameter_area_name", pa ? pa : "unknown");
        qw_json_u64(j, "beginning_word", m->begin16);
        qw_json_u64(j, "words", m->words16 & 0x7FFFu); /* bit 15 marks the last block */
    }
}

static void json_program(struct qw_json *j, const struct fins_msg *m)
{
    uint32_t f = m->fields;
    if (f & F_PROGRAM) qw_json_u64(j, "program_number", m->program);
    if (f & F_PROTECT) {
        qw_json_u64(j, "protect_code", m->protect_code);
        qw_json_u64(j, "beginning_word", m->begin32);
        qw_json_u64(j, "last_word", m->last32);
        qw_json_bool(j, "password_redacted", true);
    }
    if (f & F_RANGE32) {
        qw_json_u64(j, "beginning_word", m->begin32);
        qw_json_u64(j, "bytes", m->bytes32 & 0x7FFFu); /* bit 15 marks the last block */
        if (m->bytes32 & 0x8000u) qw_json_bool(j, "last_block", true);
    }
    if (f & F_WORDS32) {
        qw_json_u64(j, "beginning_word", m->begin32);
        qw_json_u64(j, "words", m->bytes32);
    }
    if (f & F_CLEAR) qw_json_u64(j, "clear_code", m->clear_code);
    if (f & F_MODE) {
        const char *mn = fins_run_mode_name(m->mode);
        qw_json_u64(j, "mode", m->mode);
        qw_json_str(j, "mode_name", mn ? mn : "unknown");
    }
}

static void json_controller(struct qw_json *j, const struct fins_msg *m)
{
    uint32_t f = m->fields;
    if (f & F_DATA_CODE) qw_json_u64(j, "data_code", m->data_code);
    if (f & F_MODEL) {
        qw_json_str(j, "model", m->model);
        qw_json_str(j, "version", m->version);
    }
    if (f & F_UNIT) {
        qw_json_u64(j, "unit_address", m->unit);
        qw_json_u64(j, "units", m->units);
    }
    if (f & F_STATUS) {
        const char *sn = fins_cpu_status_name(m->cpu_status), *mn = fins_run_mode_name(m->cpu_mode);
        qw_json_u64(j, "cpu_status", m->cpu_status);
        qw_json_str(j, "cpu_status_name", sn ? sn : "unknown");
        qw_json_u64(j, "mode", m->cpu_mode);
        qw_json_str(j, "mode_name", mn ? mn : "unknown");
        qw_json_u64(j, "fatal_error_data", m->fatal);
        qw_json_u64(j, "non_fatal_error_data", m->non_fatal);
    }
    if (f & F_PARAMETER) qw_json_u64(j, "parameter", m->parameter);
    if (f & F_CYCLE) { /* 0.1 ms units */
        qw_json_double(j, "average_cycle_time_ms", m->cycle[0] / 10.0);
        qw_json_double(j, "max_cycle_time_ms", m->cycle[1] / 10.0);
        qw_json_double(j, "min_cycle_time_ms", m->cycle[2] / 10.0);
    }
    if (f & F_CLOCK) json_clock(j, m);
    if (f & F_RECORDS) {
        qw_json_u64(j, "beginning_record", m->rec_begin);
        qw_json_u64(j, "records", m->recs);
    }
    if (f & F_NAME) qw_json_str(j, "name", m->name);
}

static void json_file(struct qw_json *j, const struct fins_msg *m)
{
    uint32_t f = m->fields;
    if (f & F_PCODE) {
        const char *pn = (m->cmd >> 8) == 0x22 && m->cmd >= 0x220A ? fins_transfer_name(m->pcode)
                                                                   : NULL;
        qw_json_u64(j, "parameter_code", m->pcode);
        if (pn) qw_json_str(j, "transfer", pn);
    }
    if (f & F_DISK) qw_json_u64(j, "disk", m->disk);
    if (f & F_FILE) qw_json_str(j, "file_name", m->file);
    if (f & F_FILES) {
        if (m->cmd == 0x2201) qw_json_u64(j, "beginning_file_position", m->position);
        qw_json_u64(j, "files", m->files);
    }
    if (f & F_POSITION) {
        qw_json_u64(j, "file_position", m->position);
        qw_json_u64(j, "length", m->length);
    }
}

static void json_msg(struct qw_json *j, const char *key, const struct fins_msg *m)
{
    qw_json_obj_begin(j, key);
    json_header(j, m);
    json_memory(j, m);
    json_program(j, m);
    json_controller(j, m);
    json_file(j, m);
    if (m->fields & F_HEX) {
        size_t n = m->hex_len > FINS_HEX_MAX ? FINS_HEX_MAX : m->hex_len;
        qw_json_hex(j, "data", m->hex, n);
        if (m->hex_len > n) qw_json_bool(j, "data_truncated", true);
    }
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

/* The node address exchange of FINS/TCP (commands 0 and 1). */
struct fins_node {
    bool has_req, has_rsp;
    uint32_t client_req;             /* the node the client asks for; 0: the server picks */
    uint32_t client, server, error;  /* the server's answer */
};

struct fins_view {
    const struct fins_msg *req, *rsp;
    const struct fins_node *node;
};

static void json_node(struct qw_json *j, const struct fins_node *n)
{
    if (n->has_req) {
        qw_json_obj_begin(j, "request");
        qw_json_u64(j, "tcp_command", FT_NODE_CLIENT);
        qw_json_str(j, "tcp_command_name", fins_tcp_command_name(FT_NODE_CLIENT));
        qw_json_u64(j, "client_node", n->client_req);
        qw_json_obj_end(j);
    }
    if (n->has_rsp) {
        const char *e = fins_tcp_error_name(n->error);
        qw_json_obj_begin(j, "response");
        qw_json_u64(j, "tcp_command", FT_NODE_SERVER);
        qw_json_str(j, "tcp_command_name", fins_tcp_command_name(FT_NODE_SERVER));
        qw_json_u64(j, "tcp_error_code", n->error);
        qw_json_str(j, "tcp_error_name", e ? e : "unknown");
        qw_json_u64(j, "client_node", n->client);
        qw_json_u64(j, "server_node", n->server);
        qw_json_obj_end(j);
    }
}

static void fins_write_json(struct qw_json *j, const void *arg)
{
    const struct fins_view *v = arg;
    if (v->node) {
        json_node(j, v->node);
        return;
    }
    if (v->req) json_msg(j, "request", v->req);
    if (v->rsp) json_msg(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct fins_slot {
    bool used;
    uint8_t dir, sid;
    uint16_t cmd;
    uint16_t keep, full;
    uint32_t order;
    uint64_t ts_ns;
    uint8_t raw[FINS_KEEP_MAX];
};

struct fins_state {
    bool resync[2];
    bool queue_full_reported, password_reported, ident_sent[2];
    uint32_t next_order;
    struct fins_node node;
    uint64_t node_ts;
    struct fins_slot queue[FINS_QUEUE_MAX];
    struct fins_msg req, rsp; /* scratch for the transaction being emitted */
    struct fins_view view;
};

static void fins_emit(struct qw_pctx *ctx, struct fins_state *st, const struct fins_msg *req,
                      uint64_t req_ns, const struct fins_msg *rsp, uint64_t rsp_ns)
{
    const struct fins_msg *key = req ? req : rsp;
    const struct fins_command *k = fins_command_of(key->cmd);
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->cmd;
    t.function_name = k ? k->name : "unknown";
    t.ops = fins_ops(key);
    t.error = rsp && end_failed(rsp->end_code);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view = (struct fins_view){req, rsp, NULL};
    t.write_json = fins_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view = (struct fins_view){NULL, NULL, NULL};
}

static void fins_emit_node(struct qw_pctx *ctx, struct fins_state *st, uint64_t rsp_ns)
{
    struct qw_txn t = {0};
    t.has_request = st->node.has_req;
    t.has_response = st->node.has_rsp;
    t.function = 0; /* not a FINS command: the FINS/TCP session's setup */
    t.function_name = "node_address_exchange";
    t.ops = QW_OP_SESSION;
    t.error = st->node.has_rsp && st->node.error != 0;
    t.request_ns = st->node.has_req ? st->node_ts : 0;
    t.response_ns = st->node.has_rsp ? rsp_ns : 0;
    st->view = (struct fins_view){NULL, NULL, &st->node};
    t.write_json = fins_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view = (struct fins_view){NULL, NULL, NULL};
    memset(&st->node, 0, sizeof st->node);
}

static struct fins_slot *fins_oldest(struct fins_state *st)
{
    struct fins_slot *best = NULL;
    for (size_t i = 0; i < FINS_QUEUE_MAX; i++) {
        struct fins_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
    }
    return best;
}

static void fins_flush_slot(struct qw_pctx *ctx, struct fins_state *st, struct fins_slot *s)
{
    fins_decode(&st->req, s->raw, s->keep, s->full);
    s->used = false;
    fins_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
}

static void fins_queue(struct qw_pctx *ctx, struct fins_state *st, enum qw_dir dir,
                       const struct fins_msg *m, const uint8_t *b, size_t n)
{
    struct fins_slot *s = NULL;
    for (size_t i = 0; i < FINS_QUEUE_MAX; i++) { /* a reused SID: the earlier went unanswered */
        struct fins_slot *q = &st->queue[i];
        if (q->used && q->dir == dir && q->sid == m->sid && q->cmd == m->cmd)
            fins_flush_slot(ctx, st, q);
    }
    for (size_t i = 0; i < FINS_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "fins.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = fins_oldest(st);
        fins_flush_slot(ctx, st, s);
    }
    size_t keep = n > FINS_KEEP_MAX ? FINS_KEEP_MAX : n;
    s->used = true;
    s->dir = (uint8_t)dir;
    s->sid = m->sid;
    s->cmd = m->cmd;
    s->keep = (uint16_t)keep;
    s->full = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
    s->order = st->next_order++;
    s->ts_ns = qw_pctx_time(ctx);
    memcpy(s->raw, b, keep);
}

static struct fins_slot *fins_match(struct fins_state *st, enum qw_dir dir,
                                    const struct fins_msg *m)
{
    for (size_t i = 0; i < FINS_QUEUE_MAX; i++) {
        struct fins_slot *q = &st->queue[i];
        if (q->used && q->dir != dir && q->sid == m->sid && q->cmd == m->cmd) return q;
    }
    return NULL;
}

/* Identity from a controller data read answer ([W342] s.5-3-10): the CPU unit's model and
 * version, about the end that answered. */
static void fins_identity(struct qw_pctx *ctx, struct fins_state *st, const struct fins_msg *m,
                          enum qw_dir dir)
{
    bool server = dir == QW_DIR_TO_CLIENT;
    if (m->cmd != 0x0501 || !(m->fields & F_MODEL) || end_failed(m->end_code)) return;
    if (st->ident_sent[server] || !m->model[0]) return;
    st->ident_sent[server] = true;
    qw_emit_identity(ctx, server, "vendor", "Omron", 5);
    qw_emit_identity(ctx, server, "model", m->model, strlen(m->model));
    if (m->version[0]) qw_emit_identity(ctx, server, "firmware", m->version, strlen(m->version));
}

/* Anomalies of a command as sent: parameters cut short, the protect password in clear. */
static void fins_request_anomalies(struct qw_pctx *ctx, struct fins_state *st,
                                   const struct fins_msg *m)
{
    const struct fins_command *k = fins_command_of(m->cmd);
    if (m->truncated) qw_emit_anomaly(ctx, "fins.truncated", k ? k->name : NULL);
    if (m->trailing) qw_emit_anomaly(ctx, "fins.trailing_data", k ? k->name : NULL);
    /* [W342] s.5-3-7/8: the program area protect password travels as 4 clear bytes. */
    if ((m->cmd == 0x0304 || m->cmd == 0x0305) && !st->password_reported) {
        st->password_reported = true;
        qw_emit_anomaly(ctx, "fins.cleartext_password", k->name);
    }
}

static void fins_on_frame(struct qw_pctx *ctx, struct fins_state *st, enum qw_dir dir,
                          const uint8_t *b, size_t n)
{
    if (n < FINS_CMD_MIN || ((b[0] & 0x40u) && n < FINS_RSP_MIN)) {
        qw_emit_anomaly(ctx, "fins.invalid_length", "frame");
        return;
    }
    const char *fault = header_fault(b);
    if (fault) {
        qw_emit_anomaly(ctx, "fins.bad_header", fault);
        return;
    }
    if (n > FINS_FRAME_MAX) qw_emit_anomaly(ctx, "fins.invalid_length", "oversized");
    struct fins_msg *m = &st->rsp;
    fins_decode(m, b, n, n);
    if (!fins_command_of(m->cmd)) {
        char code[8];
        int w = snprintf(code, sizeof code, "%04x", m->cmd);
        qw_emit_anomaly(ctx, "fins.unknown_command", w > 0 ? code : NULL);
    }
    uint64_t now = qw_pctx_time(ctx);
    if (!m->response) {
        fins_request_anomalies(ctx, st, m);
        if (m->icf & 0x01u) fins_emit(ctx, st, m, now, NULL, 0); /* no response will come */
        else fins_queue(ctx, st, dir, m, b, n);
        return;
    }
    if (m->truncated) qw_emit_anomaly(ctx, "fins.truncated", NULL);
    struct fins_slot *s = fins_match(st, dir, m);
    const struct fins_msg *req = NULL;
    uint64_t req_ns = 0;
    if (s) {
        fins_decode(&st->req, s->raw, s->keep, s->full);
        req = &st->req;
        req_ns = s->ts_ns;
        s->used = false;
        /* 2602 is "incorrect password" ([W342] s.8-3) to a protect clear: a refused login. */
        if (req->cmd == 0x0305 && (m->end_code & 0x7F3Fu) == 0x2602)
            qw_emit_login_refused(ctx, dir == QW_DIR_TO_CLIENT, "fins 2602", NULL, 0);
    }
    fins_emit(ctx, st, req, req_ns, m, now);
    fins_identity(ctx, st, m, dir);
}

/* ---- FINS/TCP ------------------------------------------------------------------------------ */

static void fins_tcp_error(struct qw_pctx *ctx, uint32_t err)
{
    const char *name = fins_tcp_error_name(err);
    char buf[16];
    if (!name) {
        snprintf(buf, sizeof buf, "%u", (unsigned)err);
        name = buf;
    }
    qw_emit_anomaly(ctx, "fins.tcp_error", name);
}

static void fins_on_tcp(struct qw_pctx *ctx, struct fins_state *st, enum qw_dir dir,
                        uint32_t cmd, uint32_t err, const uint8_t *body, size_t n)
{
    struct qw_cursor c = qw_cursor_make(body, n);
    if (err != 0) fins_tcp_error(ctx, err);
    switch (cmd) {
    case FT_NODE_CLIENT:
        if (st->node.has_req) fins_emit_node(ctx, st, 0); /* the earlier went unanswered */
        st->node.has_req = true;
        st->node.client_req = qw_cur_be32(&c);
        st->node_ts = qw_pctx_time(ctx);
        if (c.err) qw_emit_anomaly(ctx, "fins.invalid_length", "node_address");
        return;
    case FT_NODE_SERVER:
        st->node.has_rsp = true;
        st->node.client = qw_cur_be32(&c);
        st->node.server = qw_cur_be32(&c);
        st->node.error = err;
        if (c.err && err == 0) qw_emit_anomaly(ctx, "fins.invalid_length", "node_address");
        fins_emit_node(ctx, st, qw_pctx_time(ctx));
        return;
    case FT_FRAME:
        if (err == 0) fins_on_frame(ctx, st, dir, body, n);
        return;
    case FT_FRAME_ERROR: /* the node could not deliver a frame it was sent */
        if (err == 0) qw_emit_anomaly(ctx, "fins.tcp_error", "frame_send_error");
        return;
    case FT_CONFIRM: return;
    default: qw_emit_anomaly(ctx, "fins.bad_header", "tcp_command");
    }
}

static bool fins_tcp_len_ok(uint32_t len)
{
    return len >= FINS_TCP_LEN_MIN && len <= FINS_TCP_LEN_MIN + FINS_FRAME_MAX;
}

/* The next "FINS" magic at or after `from`, or where a partial one may start. */
static size_t fins_find_magic(const uint8_t *b, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++) {
        size_t k = 0;
        while (k < 4 && i + k < n && b[i + k] == fins_magic[k]) k++;
        if (k == 4 || i + k == n) return i;
    }
    return n;
}

static size_t fins_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct fins_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            off = fins_find_magic(data, len, off);
            if (len - off < 4) return off;
            st->resync[d] = false;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        const uint8_t *magic = qw_cur_take(&c, 4);
        uint32_t length = qw_cur_be32(&c), cmd = qw_cur_be32(&c), err = qw_cur_be32(&c);
        if (magic && memcmp(magic, fins_magic, 4) != 0) {
            qw_emit_anomaly(ctx, "fins.bad_header", "magic");
            st->resync[d] = true;
            off += 1;
            continue;
        }
        if (c.err) return off; /* header not complete yet */
        if (!fins_tcp_len_ok(length)) {
            qw_emit_anomaly(ctx, "fins.invalid_length", "tcp_length");
            st->resync[d] = true;
            off += 4;
            continue;
        }
        if (len - off < 8u + length) return off; /* partial: the engine keeps it */
        fins_on_tcp(ctx, st, dir, cmd, err, data + off + FINS_TCP_HDR, length - FINS_TCP_LEN_MIN);
        off += 8u + length;
    }
    return off;
}

/* UDP: one FINS frame per datagram, or (rarely) FINS/TCP framing carried in one. */
static void fins_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct fins_state *st = state;
    if (len >= 4 && memcmp(data, fins_magic, 4) == 0) {
        st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = false;
        if (fins_parse(ctx, state, dir, data, len) < len)
            qw_emit_anomaly(ctx, "fins.invalid_length", "datagram");
        return;
    }
    fins_on_frame(ctx, st, dir, data, len);
}

static void fins_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct fins_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void fins_flow_end(struct qw_pctx *ctx, void *state)
{
    struct fins_state *st = state;
    if (st->node.has_req) fins_emit_node(ctx, st, 0);
    struct fins_slot *s;
    while ((s = fins_oldest(st)) != NULL) fins_flush_slot(ctx, st, s);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* A whole FINS frame as UDP carries it: reserved bits clear, RSV 0, a gateway count of at most
 * 7, network addresses 0-127, a command in the table, a known main code in a response. */
static enum qw_probe_result fins_probe_frame(const uint8_t *b, size_t n)
{
    if (n < FINS_CMD_MIN || n > FINS_FRAME_MAX || header_fault(b)) return QW_PROBE_NO;
    if (b[3] > FINS_NET_MAX || b[6] > FINS_NET_MAX) return QW_PROBE_NO;
    if (!fins_command_of((uint16_t)(b[10] << 8 | b[11]))) return QW_PROBE_NO;
    if (!(b[0] & 0x40u)) return QW_PROBE_MATCH;
    if (n < FINS_RSP_MIN || !fins_main_code_name((uint8_t)(b[12] & 0x7Fu))) return QW_PROBE_NO;
    /* A response first: its sender is the node that serves (the engine turns the flow round). */
    return QW_PROBE_MATCH_FROM_SERVER;
}

/* FINS/TCP: the magic, a length that fits a frame, a header command and error code W421
 * defines; the node address commands' fixed lengths; a frame send's FINS header. */
static enum qw_probe_result fins_probe_tcp(const uint8_t *b, size_t n)
{
    if (n < FINS_TCP_HDR) return QW_PROBE_NEED_MORE;
    uint32_t length = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    uint32_t cmd = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    uint32_t err = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
    if (!fins_tcp_len_ok(length) || !fins_tcp_command_name(cmd) || !fins_tcp_error_name(err))
        return QW_PROBE_NO;
    if (cmd == FT_NODE_CLIENT) return length == 12 ? QW_PROBE_MATCH : QW_PROBE_NO;
    if (cmd == FT_NODE_SERVER) return length == 16 ? QW_PROBE_MATCH : QW_PROBE_NO;
    if (cmd != FT_FRAME) return QW_PROBE_MATCH;
    if (length < FINS_TCP_LEN_MIN + FINS_CMD_MIN) return QW_PROBE_NO;
    if (n < FINS_TCP_HDR + FINS_CMD_MIN) return QW_PROBE_NEED_MORE;
    size_t have = n - FINS_TCP_HDR, frame = length - FINS_TCP_LEN_MIN;
    enum qw_probe_result r = fins_probe_frame(b + FINS_TCP_HDR, have < frame ? have : frame);
    if (r == QW_PROBE_NO && have < FINS_RSP_MIN && (b[FINS_TCP_HDR] & 0x40u))
        return QW_PROBE_NEED_MORE; /* a response's end code is not here yet */
    return r == QW_PROBE_NO ? QW_PROBE_NO : QW_PROBE_MATCH;
}

static enum qw_probe_result fins_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    if (len == 0) return QW_PROBE_NO;
    if (data[0] == 'F') { /* 0x46 has reserved ICF bits set: it can only be the magic */
        size_t k = len < 4 ? len : 4;
        if (memcmp(data, fins_magic, k) != 0) return QW_PROBE_NO;
        return fins_probe_tcp(data, len);
    }
    return fins_probe_frame(data, len);
}

const struct qw_proto qw_proto_fins = {
    .name = "fins",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {FINS_PORT, 0},
    .probe = fins_probe,
    .state_size = sizeof(struct fins_state),
    .parse = fins_parse,
    .datagram = fins_datagram,
    .gap = fins_gap,
    .flow_end = fins_flow_end,
};
