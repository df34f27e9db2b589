/* PROFINET DCP (Discovery and basic Configuration Protocol) link-layer parser.
 *
 * Specifications:
 *   [6-10] IEC 61158-6-10:2014, Application layer protocol specification, Type 10 elements
 *          (PROFINET IO): 4.3 DCP syntax (DCP-UC/MC header, blocks, BlockInfo, BlockQualifier,
 *          BlockError, the option and suboption codes), 4.3.1.3 ResponseDelay, and the RT
 *          FrameID ranges (4.2: 0xFEFC Hello, 0xFEFD Get/Set, 0xFEFE Identify request,
 *          0xFEFF Identify response).
 *   [5-10] IEC 61158-5-10, the DCP services (Identify, Get, Set, Hello) and their semantics.
 *
 * Frame after the Ethertype 0x8892 (PROFINET RT):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    2 FrameID: 0xFEFC..0xFEFF are DCP; the rest is cyclic RT data, alarms or PTCP
 *        2    1 ServiceID: 3 Get, 4 Set, 5 Identify, 6 Hello
 *        3    1 ServiceType: bit 0 response, bit 2 "request not supported" (value 5)
 *        4    4 Xid: chosen by the requester, echoed by each responder
 *        8    2 ResponseDelay (Identify request: factor of 10 ms) / reserved
 *       10    2 DCPDataLength: octets of blocks that follow
 *       12    n blocks, each padded to an even length:
 *                Get request:       Option(1) Suboption(1)                 (no length)
 *                Identify request:  Option(1) Suboption(1) Length(2) value (a filter)
 *                Set request:       Option Suboption Length BlockQualifier(2) value
 *                Identify/Get response, Hello:  Option Suboption Length BlockInfo(2) value
 *                Set/Get response errors: Control/Response block: Option Suboption BlockError
 *
 * Records: one per DCP PDU, each with its own frame's envelope (MACs, VLAN). DCP is mostly
 * multicast and one Identify request draws any number of answers, so a request is written as a
 * request-only record when it is seen, and each answer as a response-only record; answers are
 * paired with their request by (Xid, service, requester MAC) through a bounded table and then
 * carry `latency_us` and `responder_number` (1 for the first device that answered, 2 for the
 * next...). A request that nobody answers still has its record at its own time. Link-layer
 * parsers get no end-of-capture callback, so this keeps every PDU on record without holding
 * any. Frames with other FrameIDs (cyclic RT data, alarms, PTCP) are not DCP and are left to
 * the engine's per-Ethertype counters.
 *
 * Identity facts come from Identify and Get responses and from Hello, about the frame's source:
 * name (NameOfStation), model (TypeOfStation), vendor_id and device_id (hex as in GSDML files),
 * vendor (from the table below), device_role, ip. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/profinet_vendors.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define DCP_ETHERTYPE 0x8892u    /* PROFINET RT ([6-10] 4.2) */
#define DCP_FRAME_HELLO 0xFEFCu
#define DCP_FRAME_GETSET 0xFEFDu
#define DCP_FRAME_IDENT_REQ 0xFEFEu
#define DCP_FRAME_IDENT_RSP 0xFEFFu
#define DCP_HDR_LEN 12           /* FrameID .. DCPDataLength */
#define DCP_BLOCK_HDR 4          /* Option, Suboption, DCPBlockLength */

#define DCP_SVC_GET 3
#define DCP_SVC_SET 4
#define DCP_SVC_IDENTIFY 5
#define DCP_SVC_HELLO 6
#define DCP_TYPE_RESPONSE 0x01u     /* ServiceType bit 0 */
#define DCP_TYPE_UNSUPPORTED 0x04u  /* ServiceType bit 2: "request not supported" */

#define DCP_OPT_IP 1
#define DCP_OPT_DEVICE 2
#define DCP_OPT_DHCP 3
#define DCP_OPT_CONTROL 5
#define DCP_OPT_INITIATIVE 6
#define DCP_OPT_ALL 0xFF
#define DCP_OPT_MANUF_FIRST 0x80  /* 0x80..0xFE manufacturer specific */

/* Blocks kept per PDU: a 1500-byte frame holds at most a few dozen; records list the first 24
 * (the count is exact). */
#define DCP_BLOCKS_MAX 24
/* Device options listed per DeviceOptions block. */
#define DCP_OPTIONS_MAX 32
/* Opaque block values shown as hex up to this many bytes. */
#define DCP_HEX_MAX 32
/* Outstanding requests (Identify is answered by many devices, Get/Set by one). A controller
 * rarely has more than a handful in flight; past this the oldest is forgotten. */
#define DCP_PENDING_MAX 64
/* How long answers are paired with a request: Identify responders wait up to ResponseDelay x
 * 10 ms ([6-10] 4.3.1.3) and Get/Set answer at once; one second on top covers slow stacks. */
#define DCP_RESPONSE_DELAY_UNIT_NS 10000000ull
#define DCP_WINDOW_SLACK_NS 1000000000ull

/* ---- Protocol fact tables ------------------------------------------------------------------ */

struct dcp_service {
    const char *name;
    uint32_t ops; /* of the request; Set takes its ops from its blocks */
};

static const struct dcp_service dcp_services[] = {
    [1] = {"manufacturer_specific", 0},
    [2] = {"manufacturer_specific", 0},
    [DCP_SVC_GET] = {"get", QW_OP_READ},
    [DCP_SVC_SET] = {"set", 0},
    [DCP_SVC_IDENTIFY] = {"identify", QW_OP_IDENTIFY},
    /* Hello is a device announcing itself after power-up: nobody asks anything. */
    [DCP_SVC_HELLO] = {"hello", 0},
};

static const char *dcp_service_name(uint8_t id)
{
    const char *n = NULL;
    if (id < sizeof dcp_services / sizeof dcp_services[0]) n = dcp_services[id].name;
    return n ? n : "unknown";
}

static const char *const dcp_option_names[] = {
    [DCP_OPT_IP] = "ip",           [DCP_OPT_DEVICE] = "device_properties",
    [DCP_OPT_DHCP] = "dhcp",       [4] = "reserved",
    [DCP_OPT_CONTROL] = "control", [DCP_OPT_INITIATIVE] = "device_initiative",
};

/* How a block's value is laid out. */
enum dcp_kind {
    K_HEX = 0,   /* opaque */
    K_MAC,       /* 6 octets */
    K_IP,        /* IP, netmask, gateway (3 x 4) */
    K_IPSUITE,   /* IP, netmask, gateway, 4 DNS servers (7 x 4) */
    K_STRING,    /* octets of text */
    K_DEVICE_ID, /* VendorID(2) DeviceID(2) */
    K_ROLE,      /* DeviceRoleDetails(1) reserved(1) */
    K_OPTIONS,   /* (Option, Suboption) pairs */
    K_INSTANCE,  /* DeviceInstanceHigh(1) DeviceInstanceLow(1) */
    K_OEM_ID,    /* OEM VendorID(2) OEM DeviceID(2) */
    K_U16,       /* one unsigned 16-bit value */
    K_U8,        /* one octet */
    K_SIGNAL,    /* SignalValue(2) after the qualifier */
    K_RESPONSE,  /* Option(1) Suboption(1) BlockError(1) */
    K_NONE,      /* nothing after the qualifier/info */
};

struct dcp_subopt {
    uint8_t option, suboption;
    const char *name;
    uint8_t kind;     /* dcp_kind */
    uint32_t set_ops; /* what a Set of this block does */
};

/* [6-10] 4.3: options and suboptions. Setting an address, a name or DHCP behaviour
 * reconfigures the device; the two resets wipe its configuration and restart it; Signal
 * flashes an LED so a technician can find the device. */
static const struct dcp_subopt dcp_subopts[] = {
    {DCP_OPT_IP, 1, "mac_address", K_MAC, QW_OP_CONFIG},
    {DCP_OPT_IP, 2, "ip_parameter", K_IP, QW_OP_CONFIG},
    {DCP_OPT_IP, 3, "full_ip_suite", K_IPSUITE, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 1, "type_of_station", K_STRING, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 2, "name_of_station", K_STRING, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 3, "device_id", K_DEVICE_ID, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 4, "device_role", K_ROLE, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 5, "device_options", K_OPTIONS, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 6, "alias_name", K_STRING, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 7, "device_instance", K_INSTANCE, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 8, "oem_device_id", K_OEM_ID, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 9, "standard_gateway", K_U8, QW_OP_CONFIG},
    {DCP_OPT_DEVICE, 10, "rsi_properties", K_U16, QW_OP_CONFIG},
    {DCP_OPT_CONTROL, 1, "start_transaction", K_NONE, 0},
    {DCP_OPT_CONTROL, 2, "end_transaction", K_NONE, 0},
    {DCP_OPT_CONTROL, 3, "signal", K_SIGNAL, QW_OP_DIAGNOSTIC},
    {DCP_OPT_CONTROL, 4, "response", K_RESPONSE, 0},
    {DCP_OPT_CONTROL, 5, "factory_reset", K_NONE, QW_OP_CONFIG | QW_OP_RESTART},
    {DCP_OPT_CONTROL, 6, "reset_to_factory", K_NONE, QW_OP_CONFIG | QW_OP_RESTART},
    {DCP_OPT_INITIATIVE, 1, "device_initiative", K_U16, QW_OP_CONFIG},
    {DCP_OPT_ALL, 0xFF, "all_selector", K_NONE, 0},
};

/* DHCP suboptions are DHCP option codes (RFC 2132, RFC 4361, RFC 4702, RFC 4578); 255 is DCP's
 * own "control DHCP for address resolution". */
static const struct {
    uint8_t code;
    const char *name;
} dcp_dhcp_names[] = {
    {12, "host_name"},       {43, "vendor_specific"},   {54, "server_identifier"},
    {55, "parameter_request_list"}, {60, "class_identifier"}, {61, "client_identifier"},
    {81, "fqdn"},            {97, "uuid_client_identifier"}, {255, "control_dhcp"},
};

/* BlockError of a Control/Response block ([6-10] 4.3). */
static const char *const dcp_block_errors[] = {
    [0] = "ok",
    [1] = "option_unsupported",
    [2] = "suboption_unsupported",
    [3] = "suboption_not_set",
    [4] = "resource_error",
    [5] = "set_not_possible_local_reasons",
    [6] = "set_not_possible_in_operation",
};

/* DeviceRoleDetails bits ([6-10] 4.3). */
static const char *const dcp_roles[] = {"io_device", "io_controller", "io_multidevice",
                                         "io_supervisor"};

/* BlockQualifier of ResetToFactory: bits 1..15 select what is reset. */
static const char *const dcp_reset_modes[] = {
    [1] = "application_data", [2] = "communication_parameter", [3] = "engineering_parameter",
    [4] = "all_stored_data",  [8] = "device",                  [9] = "reset_and_restore",
};

static const struct dcp_subopt *dcp_subopt_find(uint8_t opt, uint8_t sub)
{
    for (size_t i = 0; i < sizeof dcp_subopts / sizeof dcp_subopts[0]; i++)
        if (dcp_subopts[i].option == opt && dcp_subopts[i].suboption == sub)
            return &dcp_subopts[i];
    return NULL;
}

static const char *dcp_dhcp_name(uint8_t code)
{
    for (size_t i = 0; i < sizeof dcp_dhcp_names / sizeof dcp_dhcp_names[0]; i++)
        if (dcp_dhcp_names[i].code == code) return dcp_dhcp_names[i].name;
    return "unknown";
}

/* Name of a block: the suboption's, "dhcp", "manufacturer_specific" or "unknown". */
static const char *dcp_block_name(uint8_t opt, uint8_t sub)
{
    const struct dcp_subopt *s = dcp_subopt_find(opt, sub);
    if (s) return s->name;
    if (opt == DCP_OPT_DHCP) return "dhcp";
    if (opt >= DCP_OPT_MANUF_FIRST && opt != DCP_OPT_ALL) return "manufacturer_specific";
    return "unknown";
}

static const char *dcp_option_name(uint8_t opt)
{
    if (opt < sizeof dcp_option_names / sizeof dcp_option_names[0] && dcp_option_names[opt])
        return dcp_option_names[opt];
    if (opt == DCP_OPT_ALL) return "all_selector";
    if (opt >= DCP_OPT_MANUF_FIRST) return "manufacturer_specific";
    return "unknown";
}

/* ---- Decoded PDU --------------------------------------------------------------------------- */

enum dcp_layout {
    L_BARE,      /* Get request: option and suboption only */
    L_FILTER,    /* Identify request: no BlockInfo/Qualifier */
    L_QUALIFIER, /* Set request: BlockQualifier first */
    L_INFO,      /* Identify/Get responses, Hello: BlockInfo first (not on Control blocks) */
};

struct dcp_block {
    uint8_t option, suboption;
    uint8_t layout;        /* dcp_layout */
    bool has_word;         /* BlockInfo or BlockQualifier present */
    bool cut;              /* the value ended before its declared length */
    uint16_t length;       /* DCPBlockLength as sent */
    uint16_t word;         /* BlockInfo or BlockQualifier */
    const uint8_t *val;    /* value after the word, in the frame */
    uint16_t vlen;
};

struct dcp_pdu {
    uint16_t frame_id;
    uint8_t service_id, service_type;
    uint32_t xid;
    uint16_t delay;        /* ResponseDelay (Identify request) or reserved */
    uint16_t data_length;
    bool response;
    bool truncated;        /* the frame ended before DCPDataLength did */
    uint32_t ops;
    bool error;            /* "request not supported", or a BlockError other than ok */
    uint16_t nblocks;      /* present in the PDU */
    uint8_t nkept;
    struct dcp_block blocks[DCP_BLOCKS_MAX];
};

struct dcp_pending {
    bool used, has_mac;
    uint8_t service;
    uint8_t mac[6];        /* the requester */
    uint16_t responses;
    uint32_t xid;
    uint32_t ops;
    uint64_t ts_ns, until_ns;
};

struct dcp_state {
    struct dcp_pending pending[DCP_PENDING_MAX];
    struct dcp_pdu pdu; /* scratch for the frame being parsed */
    struct dcp_view {
        const struct dcp_pdu *pdu;
        bool paired;
        uint16_t responder_number;
        uint64_t latency_us;
    } view;
};

/* ---- Decoding ------------------------------------------------------------------------------ */

/* Ops of a Set: the union of its blocks' (a Set of anything not in the table reconfigures the
 * device too). A Set response's Control/Response blocks name the blocks that were set. */
static uint32_t dcp_block_ops(uint8_t opt, uint8_t sub)
{
    const struct dcp_subopt *s = dcp_subopt_find(opt, sub);
    if (s) return s->set_ops;
    return QW_OP_CONFIG;
}

static void dcp_block_add(struct dcp_pdu *p, const struct dcp_block *b)
{
    p->nblocks++;
    if (p->nkept < DCP_BLOCKS_MAX) p->blocks[p->nkept++] = *b;
}

static enum dcp_layout dcp_layout_of(const struct dcp_pdu *p)
{
    if (p->service_id == DCP_SVC_GET && !p->response) return L_BARE;
    if (p->service_id == DCP_SVC_IDENTIFY && !p->response) return L_FILTER;
    if (p->service_id == DCP_SVC_SET && !p->response) return L_QUALIFIER;
    return L_INFO;
}

/* Walk the blocks. Anomalies go to ctx (NULL: silent). */
static void dcp_blocks(struct qw_pctx *ctx, struct dcp_pdu *p, struct qw_cursor *c)
{
    enum dcp_layout layout = dcp_layout_of(p);
    while (qw_cur_left(c)) {
        struct dcp_block b = {0};
        b.layout = (uint8_t)layout;
        b.option = qw_cur_u8(c);
        b.suboption = qw_cur_u8(c);
        if (c->err) {
            p->truncated = true;
            return;
        }
        if (layout == L_BARE) {
            dcp_block_add(p, &b);
            continue;
        }
        b.length = qw_cur_be16(c);
        if (c->err) {
            p->truncated = true;
            return;
        }
        bool short_val;
        struct qw_cursor v = qw_cur_sub(c, b.length, &short_val);
        b.cut = short_val;
        /* The Control/Response block carries Option, Suboption, BlockError, no BlockInfo. */
        bool word = (layout == L_QUALIFIER) ||
                    (layout == L_INFO &&
                     !(b.option == DCP_OPT_CONTROL && b.suboption == 4));
        if (word && b.length >= 2) {
            b.has_word = true;
            b.word = qw_cur_be16(&v);
        } else if (word && b.length != 0 && ctx) {
            qw_emit_anomaly(ctx, "profinet_dcp.invalid_block_length", NULL);
        }
        b.val = qw_cur_ptr(&v);
        b.vlen = (uint16_t)qw_cur_left(&v);
        if (b.vlen == 0) b.val = NULL;
        dcp_block_add(p, &b);
        if (short_val) {
            if (ctx) qw_emit_anomaly(ctx, "profinet_dcp.invalid_block_length", NULL);
            p->truncated = true;
            return;
        }
        /* Padding to an even length; a last block may go without it (the failed skip then
         * just ends the walk). */
        if (b.length & 1u) qw_cur_skip(c, 1);
    }
}

/* Ops, error flag from the decoded blocks. */
static void dcp_classify(struct dcp_pdu *p)
{
    const struct dcp_service *s = NULL;
    if (p->service_id < sizeof dcp_services / sizeof dcp_services[0])
        s = &dcp_services[p->service_id];
    p->ops = s && s->name ? s->ops : 0;
    if (p->response && (p->service_type & DCP_TYPE_UNSUPPORTED)) p->error = true;
    for (unsigned i = 0; i < p->nkept; i++) {
        const struct dcp_block *b = &p->blocks[i];
        bool rsp_block = b->option == DCP_OPT_CONTROL && b->suboption == 4;
        if (p->service_id == DCP_SVC_SET && !p->response)
            p->ops |= dcp_block_ops(b->option, b->suboption);
        if (rsp_block && b->vlen >= 3) {
            if (b->val[2] != 0) p->error = true;
            if (p->service_id == DCP_SVC_SET && p->response)
                p->ops |= dcp_block_ops(b->val[0], b->val[1]);
        }
    }
}

enum dcp_result { DCP_OK, DCP_NOT_DCP, DCP_BAD };

static enum dcp_result dcp_decode(struct qw_pctx *ctx, struct dcp_pdu *p, const uint8_t *data,
                                  size_t len)
{
    memset(p, 0, offsetof(struct dcp_pdu, blocks));
    struct qw_cursor c = qw_cursor_make(data, len);
    p->frame_id = qw_cur_be16(&c);
    if (c.err) return DCP_NOT_DCP;
    if (p->frame_id < DCP_FRAME_HELLO || p->frame_id > DCP_FRAME_IDENT_RSP) return DCP_NOT_DCP;
    p->service_id = qw_cur_u8(&c);
    p->service_type = qw_cur_u8(&c);
    p->xid = qw_cur_be32(&c);
    p->delay = qw_cur_be16(&c);
    p->data_length = qw_cur_be16(&c);
    if (c.err) {
        qw_emit_anomaly(ctx, "profinet_dcp.truncated", "header");
        return DCP_BAD;
    }
    p->response = (p->service_type & DCP_TYPE_RESPONSE) != 0;
    bool short_data;
    struct qw_cursor blocks = qw_cur_sub(&c, p->data_length, &short_data);
    if (short_data) p->truncated = true;
    dcp_blocks(ctx, p, &blocks);
    if (p->truncated) qw_emit_anomaly(ctx, "profinet_dcp.truncated", "blocks");
    if (p->service_id < DCP_SVC_GET || p->service_id > DCP_SVC_HELLO)
        qw_emit_anomaly(ctx, "profinet_dcp.unknown_service", NULL);
    dcp_classify(p);
    return DCP_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void dcp_json_ip4(struct qw_json *j, const char *key, const uint8_t *p)
{
    char s[16];
    snprintf(s, sizeof s, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    qw_json_str(j, key, s);
}

static void dcp_json_hex16(struct qw_json *j, const char *key, uint16_t v)
{
    char s[8];
    snprintf(s, sizeof s, "0x%04x", v);
    qw_json_str(j, key, s);
}

static uint16_t dcp_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static void dcp_json_value(struct qw_json *j, const struct dcp_block *b, uint8_t kind)
{
    const uint8_t *v = b->val;
    size_t n = b->vlen;
    switch (kind) {
    case K_MAC:
        if (n >= 6) {
            char m[18];
            snprintf(m, sizeof m, "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1], v[2], v[3], v[4],
                     v[5]);
            qw_json_str(j, "mac", m);
        }
        break;
    case K_IP:
    case K_IPSUITE:
        if (n >= 12) {
            dcp_json_ip4(j, "ip", v);
            dcp_json_ip4(j, "netmask", v + 4);
            dcp_json_ip4(j, "gateway", v + 8);
        }
        if (kind == K_IPSUITE && n >= 16) {
            qw_json_arr_begin(j, "dns");
            for (size_t k = 12; k + 4 <= n && k < 28; k += 4) dcp_json_ip4(j, NULL, v + k);
            qw_json_arr_end(j);
        }
        break;
    case K_STRING:
        qw_json_strn(j, "value", v, n);
        break;
    case K_DEVICE_ID:
        if (n >= 4) {
            uint16_t vid = dcp_be16(v);
            const char *vn = qw_profinet_vendor_name(vid);
            dcp_json_hex16(j, "vendor_id", vid);
            dcp_json_hex16(j, "device_id", dcp_be16(v + 2));
            if (vn) qw_json_str(j, "vendor", vn);
        }
        break;
    case K_ROLE:
        if (n >= 1) {
            qw_json_u64(j, "role", v[0]);
            qw_json_arr_begin(j, "roles");
            for (unsigned k = 0; k < 4; k++)
                if (v[0] & (1u << k)) qw_json_str(j, NULL, dcp_roles[k]);
            qw_json_arr_end(j);
        }
        break;
    case K_OPTIONS:
        qw_json_arr_begin(j, "options");
        for (size_t k = 0; k + 2 <= n && k < 2 * DCP_OPTIONS_MAX; k += 2) {
            qw_json_obj_begin(j, NULL);
            qw_json_u64(j, "option", v[k]);
            qw_json_u64(j, "suboption", v[k + 1]);
            qw_json_str(j, "name", dcp_block_name(v[k], v[k + 1]));
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        if (n > 2 * DCP_OPTIONS_MAX) qw_json_bool(j, "options_truncated", true);
        break;
    case K_INSTANCE:
        if (n >= 2) {
            qw_json_u64(j, "instance_high", v[0]);
            qw_json_u64(j, "instance_low", v[1]);
        }
        break;
    case K_OEM_ID:
        if (n >= 4) {
            dcp_json_hex16(j, "oem_vendor_id", dcp_be16(v));
            dcp_json_hex16(j, "oem_device_id", dcp_be16(v + 2));
        }
        break;
    case K_U16:
        if (n >= 2) qw_json_u64(j, "value", dcp_be16(v));
        break;
    case K_U8:
        if (n >= 1) qw_json_u64(j, "value", v[0]);
        break;
    case K_SIGNAL:
        if (n >= 2) qw_json_u64(j, "signal_value", dcp_be16(v));
        break;
    case K_RESPONSE:
        if (n >= 3) {
            const char *en = v[2] < sizeof dcp_block_errors / sizeof dcp_block_errors[0]
                                 ? dcp_block_errors[v[2]]
                                 : NULL;
            qw_json_u64(j, "response_option", v[0]);
            qw_json_u64(j, "response_suboption", v[1]);
            qw_json_str(j, "response_name", dcp_block_name(v[0], v[1]));
            qw_json_u64(j, "block_error", v[2]);
            qw_json_str(j, "block_error_name", en ? en : "unknown");
        }
        break;
    case K_NONE:
        break;
    default:
        if (n) {
            qw_json_hex(j, "data", v, n < DCP_HEX_MAX ? n : DCP_HEX_MAX);
            if (n > DCP_HEX_MAX) qw_json_bool(j, "data_truncated", true);
        }
        break;
    }
}

static void dcp_json_block(struct qw_json *j, const struct dcp_block *b)
{
    const struct dcp_subopt *s = dcp_subopt_find(b->option, b->suboption);
    bool rsp = b->option == DCP_OPT_CONTROL && b->suboption == 4;
    qw_json_obj_begin(j, NULL);
    qw_json_u64(j, "option", b->option);
    qw_json_u64(j, "suboption", b->suboption);
    qw_json_str(j, "option_name", dcp_option_name(b->option));
    qw_json_str(j, "name", dcp_block_name(b->option, b->suboption));
    if (b->layout != L_BARE) qw_json_u64(j, "length", b->length);
    if (b->option == DCP_OPT_DHCP) {
        qw_json_str(j, "dhcp_option_name", dcp_dhcp_name(b->suboption));
    }
    if (b->has_word && b->layout == L_QUALIFIER) {
        qw_json_u64(j, "qualifier", b->word);
        if (s && s->option == DCP_OPT_CONTROL && s->suboption == 6) {
            unsigned mode = b->word >> 1;
            const char *mn = mode < sizeof dcp_reset_modes / sizeof dcp_reset_modes[0]
                                 ? dcp_reset_modes[mode]
                                 : NULL;
            qw_json_str(j, "reset_mode", mn ? mn : "reserved");
        } else if (b->option != DCP_OPT_CONTROL) {
            qw_json_bool(j, "permanent", (b->word & 1u) != 0); /* 0 temporary, 1 save */
        }
    } else if (b->has_word) {
        qw_json_u64(j, "block_info", b->word);
        if (b->option == DCP_OPT_IP && (b->suboption == 2 || b->suboption == 3)) {
            static const char *const ip_states[] = {"not_set", "set", "set_by_dhcp", "reserved"};
            qw_json_str(j, "ip_status", ip_states[b->word & 3u]);
            if (b->word & 0x80u) qw_json_bool(j, "ip_conflict", true);
        }
    }
    if (b->layout != L_BARE) dcp_json_value(j, b, rsp ? K_RESPONSE : s ? s->kind : K_HEX);
    if (b->cut) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static const char *dcp_type_name(uint8_t t)
{
    if (!(t & DCP_TYPE_RESPONSE)) return t == 0 ? "request" : "unknown";
    return (t & DCP_TYPE_UNSUPPORTED) ? "response_unsupported" : "response_success";
}

static void dcp_json_pdu(struct qw_json *j, const struct dcp_pdu *p)
{
    qw_json_obj_begin(j, p->response ? "response" : "request");
    qw_json_u64(j, "frame_id", p->frame_id);
    qw_json_u64(j, "function", p->service_id);
    qw_json_str(j, "function_name", dcp_service_name(p->service_id));
    qw_json_u64(j, "service_type", p->service_type);
    qw_json_str(j, "service_type_name", dcp_type_name(p->service_type));
    qw_json_u64(j, "xid", p->xid);
    if (p->service_id == DCP_SVC_IDENTIFY && !p->response)
        qw_json_u64(j, "response_delay", p->delay);
    else if (p->delay)
        qw_json_u64(j, "reserved", p->delay);
    qw_json_u64(j, "data_length", p->data_length);
    qw_json_u64(j, "block_count", p->nblocks);
    qw_json_arr_begin(j, "blocks");
    for (unsigned i = 0; i < p->nkept; i++) dcp_json_block(j, &p->blocks[i]);
    qw_json_arr_end(j);
    if (p->nblocks > p->nkept) qw_json_bool(j, "blocks_truncated", true);
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void dcp_write_json(struct qw_json *j, const void *arg)
{
    const struct dcp_view *v = arg;
    dcp_json_pdu(j, v->pdu);
    if (v->paired) {
        qw_json_u64(j, "latency_us", v->latency_us);
        qw_json_u64(j, "responder_number", v->responder_number);
    }
}

/* ---- Identity ------------------------------------------------------------------------------ */

static void dcp_identity(struct qw_pctx *ctx, const struct dcp_pdu *p)
{
    for (unsigned i = 0; i < p->nkept; i++) {
        const struct dcp_block *b = &p->blocks[i];
        const uint8_t *v = b->val;
        size_t n = b->vlen;
        if (!v) continue;
        char s[64];
        if (b->option == DCP_OPT_DEVICE) {
            switch (b->suboption) {
            case 1: qw_emit_identity(ctx, false, "model", (const char *)v, n); break;
            case 2: qw_emit_identity(ctx, false, "name", (const char *)v, n); break;
            case 3:
                if (n >= 4) {
                    uint16_t vid = dcp_be16(v);
                    const char *vn = qw_profinet_vendor_name(vid);
                    snprintf(s, sizeof s, "0x%04x", vid);
                    qw_emit_identity(ctx, false, "vendor_id", s, strlen(s));
                    snprintf(s, sizeof s, "0x%04x", dcp_be16(v + 2));
                    qw_emit_identity(ctx, false, "device_id", s, strlen(s));
                    if (vn) qw_emit_identity(ctx, false, "vendor", vn, strlen(vn));
                }
                break;
            case 4:
                if (n >= 1 && (v[0] & 0x0Fu)) {
                    size_t at = 0;
                    for (unsigned k = 0; k < 4; k++) {
                        if (!(v[0] & (1u << k))) continue;
                        int w = snprintf(s + at, sizeof s - at, "%s%s", at ? "," : "",
                                         dcp_roles[k]);
                        if (w > 0) at += (size_t)w;
                    }
                    qw_emit_identity(ctx, false, "device_role", s, at);
                }
                break;
            default: break;
            }
        } else if (b->option == DCP_OPT_IP && (b->suboption == 2 || b->suboption == 3) &&
                   n >= 4 && (v[0] | v[1] | v[2] | v[3])) {
            snprintf(s, sizeof s, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
            qw_emit_identity(ctx, false, "ip", s, strlen(s));
        }
    }
}

/* ---- Pairing ------------------------------------------------------------------------------- */

static void dcp_expire(struct dcp_state *st, uint64_t now)
{
    for (size_t i = 0; i < DCP_PENDING_MAX; i++)
        if (st->pending[i].used && now > st->pending[i].until_ns) st->pending[i].used = false;
}

static void dcp_on_request(struct dcp_state *st, const struct dcp_pdu *p,
                           const struct qw_packet *pkt, uint64_t now)
{
    if (p->service_id == DCP_SVC_HELLO) return; /* nobody answers a Hello */
    struct dcp_pending *slot = NULL;
    for (size_t i = 0; i < DCP_PENDING_MAX && !slot; i++)
        if (!st->pending[i].used) slot = &st->pending[i];
    if (!slot) {
        slot = &st->pending[0];
        for (size_t i = 1; i < DCP_PENDING_MAX; i++)
            if (st->pending[i].ts_ns < slot->ts_ns) slot = &st->pending[i];
    }
    memset(slot, 0, sizeof *slot);
    slot->used = true;
    slot->service = p->service_id;
    slot->xid = p->xid;
    slot->ops = p->ops;
    slot->ts_ns = now;
    uint64_t wait = p->service_id == DCP_SVC_IDENTIFY ? p->delay * DCP_RESPONSE_DELAY_UNIT_NS : 0;
    slot->until_ns = now + wait + DCP_WINDOW_SLACK_NS;
    if (pkt && pkt->has_mac) {
        memcpy(slot->mac, pkt->src_mac, 6);
        slot->has_mac = true;
    }
}

/* The request an answer belongs to: same Xid and service, sent by the answer's destination
 * (when both MACs are known). */
static struct dcp_pending *dcp_match(struct dcp_state *st, const struct dcp_pdu *p,
                                     const struct qw_packet *pkt)
{
    struct dcp_pending *best = NULL;
    for (size_t i = 0; i < DCP_PENDING_MAX; i++) {
        struct dcp_pending *r = &st->pending[i];
        if (!r->used || r->xid != p->xid || r->service != p->service_id) continue;
        if (r->has_mac && pkt && pkt->has_mac && memcmp(r->mac, pkt->dst_mac, 6) != 0) continue;
        if (!best || r->ts_ns > best->ts_ns) best = r;
    }
    return best;
}

static void dcp_frame(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                      size_t len)
{
    struct dcp_state *st = state;
    struct dcp_pdu *p = &st->pdu;
    if (ethertype != DCP_ETHERTYPE) return;
    if (dcp_decode(ctx, p, data, len) != DCP_OK) return;
    const struct qw_packet *pkt = qw_pctx_packet(ctx);
    uint64_t now = qw_pctx_time(ctx);
    dcp_expire(st, now);

    memset(&st->view, 0, sizeof st->view);
    st->view.pdu = p;
    struct qw_txn t = {0};
    t.function = p->service_id;
    t.function_name = dcp_service_name(p->service_id);
    t.write_json = dcp_write_json;
    t.arg = &st->view;
    if (!p->response) {
        dcp_on_request(st, p, pkt, now);
        t.has_request = true;
        t.request_ns = now;
    } else {
        struct dcp_pending *r = dcp_match(st, p, pkt);
        if (r) {
            st->view.paired = true;
            st->view.responder_number = ++r->responses;
            st->view.latency_us = now >= r->ts_ns ? (now - r->ts_ns) / 1000 : 0;
            /* the request's blocks say what a Set did; the answer may list fewer */
            p->ops |= r->ops;
            if (r->service != DCP_SVC_IDENTIFY) r->used = false; /* Get/Set: one answer */
        }
        t.has_response = true;
        t.response_ns = now;
        t.error = p->error;
    }
    t.ops = p->ops;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
    bool informs = p->service_id == DCP_SVC_HELLO ||
                   (p->response && !(p->service_type & DCP_TYPE_UNSUPPORTED) &&
                    (p->service_id == DCP_SVC_IDENTIFY || p->service_id == DCP_SVC_GET));
    if (informs) dcp_identity(ctx, p);
}

const struct qw_proto qw_proto_profinet_dcp = {
    .name = "profinet_dcp",
    .transports = QW_TRANSPORT_ETHER,
    .ethertypes = {DCP_ETHERTYPE, 0},
    .state_size = sizeof(struct dcp_state),
    .frame = dcp_frame,
};
