/* HART-IP application parser (HART over TCP and UDP, port 5094).
 *
 * Specifications (FieldComm Group, formerly HART Communication Foundation):
 *   [085] HCF_SPEC-085 HART-IP Specification: the 8-octet message header (version, message
 *         type, message id, status, sequence number, byte count), session initiate (host type,
 *         inactivity close timer), session close, keep alive, the token-passing PDU message,
 *         the direct PDU message and read audit log added by HART-IP 2.
 *   [081] HCF_SPEC-081 Token-Passing Data Link Layer: the frame carried by token-passing PDUs:
 *         delimiter (frame type STX/ACK/BACK, address type, expansion octets), polling or
 *         unique (5-octet) address, command, byte count, response code and field device status
 *         in slave frames, data, longitudinal parity (XOR) check byte.
 *   [127] HCF_SPEC-127 Universal Command Specification: commands 0-22, 38, 48, 31 (extended
 *         16-bit command numbers); the command 0 identity block (expanded device type, revisions,
 *         device id, manufacturer id); packed ASCII (four 6-bit characters in three octets).
 *   [151] HCF_SPEC-151 Common Practice Command Specification: commands 33-121 and the 16-bit
 *         commands 512+ (HART-IP server configuration 538-547).
 *   [307] HCF_SPEC-307 Command Summary Specification: response code classes (0 success, bit 7
 *         a communication error, the warning codes listed in hip_rc_warning()).
 *
 * HART-IP message ([085]):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 version (1; 2 for HART-IP 2)
 *        1    1 message type: 0 request, 1 response, 2 publish (notification), 3 error, 15 NAK
 *        2    1 message id: 0 session initiate, 1 session close, 2 keep alive,
 *                           3 token-passing PDU, 4 direct PDU, 5 read audit log
 *        3    1 status (0 in requests; a HART-IP response code in answers)
 *        4    2 sequence number: chosen by the client, echoed in the response (big-endian)
 *        6    2 byte count: the whole message, header included (big-endian)
 *        8    .. body
 *
 * Requests pair with their answer (response, error or NAK) by sequence number through a bounded
 * queue of outstanding requests; publish messages (burst data) are records on their own. The
 * queue keeps raw messages; both sides are decoded again when the transaction is emitted, so
 * nothing is allocated per packet. Identity facts come from command 0/11/21 answers (the
 * identity block) and command 13/20 answers (tag, long tag). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define HIP_PORT 5094          /* IANA "hart-ip" (TCP and UDP) */
#define HIP_HDR_LEN 8          /* [085] message header */
/* The largest message accepted. [085] puts no small bound on the byte count; the largest seen
 * in practice are read-audit-log answers of about 1 KiB (corpus: icsnpp_hart-ip_all_messageIDs,
 * 1016 octets). A byte count past this is taken as broken framing. */
#define HIP_MSG_MAX 8192
/* Outstanding requests per flow. A HART-IP client normally waits for each answer; a few may
 * be pipelined. Each slot keeps the request up to HIP_KEEP_MAX octets (a token-passing request
 * is at most 8 + 267), so the state is about 4.5 KiB. */
#define HIP_QUEUE_MAX 8
#define HIP_KEEP_MAX 512
#define HIP_CMDS_MAX 16        /* commands listed per direct PDU; more are counted, not listed */
#define HIP_HEX_MAX 64         /* opaque data shown as hex up to this many octets */
#define HIP_TP_MIN 5           /* delimiter, short address, command, byte count, check byte */
#define HIP_SESSION_INIT_LEN 13 /* header + host type (1) + inactivity close timer (4) */
#define HIP_AUDIT_REQ_LEN 10   /* header + start record (1) + number of records (1) */
#define HIP_CMD_EXTENDED 31    /* [127] command 31: the real number is in the first 2 octets */

enum hip_msg_type { HIP_REQUEST = 0, HIP_RESPONSE = 1, HIP_PUBLISH = 2, HIP_ERROR = 3,
                    HIP_NAK = 15 };
enum hip_msg_id { HIP_SESSION_INITIATE = 0, HIP_SESSION_CLOSE = 1, HIP_KEEP_ALIVE = 2,
                  HIP_TOKEN_PASSING = 3, HIP_DIRECT_PDU = 4, HIP_READ_AUDIT_LOG = 5 };

/* ---- Protocol fact tables ------------------------------------------------------------------ */

static const char *hip_type_name(uint8_t t)
{
    switch (t) {
    case HIP_REQUEST: return "request";
    case HIP_RESPONSE: return "response";
    case HIP_PUBLISH: return "publish";
    case HIP_ERROR: return "error";
    case HIP_NAK: return "nak";
    default: return NULL;
    }
}

struct hip_msgid {
    const char *name;
    uint32_t ops;
};

/* Message ids ([085]); the ops of PDU messages come from the HART commands they carry. */
static const struct hip_msgid hip_msgids[6] = {
    [HIP_SESSION_INITIATE] = {"session_initiate", QW_OP_SESSION},
    [HIP_SESSION_CLOSE] = {"session_close", QW_OP_SESSION},
    [HIP_KEEP_ALIVE] = {"keep_alive", QW_OP_SESSION},
    [HIP_TOKEN_PASSING] = {"token_passing_pdu", 0},
    [HIP_DIRECT_PDU] = {"direct_pdu", 0},
    [HIP_READ_AUDIT_LOG] = {"read_audit_log", QW_OP_DIAGNOSTIC},
};

static const char *hip_msgid_name(uint8_t id)
{
    return id < 6 ? hip_msgids[id].name : "unknown";
}

#define RD QW_OP_READ
#define WRC (QW_OP_WRITE | QW_OP_CONFIG)
#define CFG QW_OP_CONFIG
#define SECRET (QW_OP_AUTH | QW_OP_CONFIG)

struct hip_command {
    uint16_t number;
    const char *name;
    uint32_t ops;
};

/* HART commands ([127] universal, [151] common practice), sorted by number. Writes of
 * configuration (tags, ranges, units, addresses) are write+config; trims and burst setup are
 * config; 40/66 force an output (control); 42 resets the device. */
static const struct hip_command hip_commands[] = {
    {0, "read_unique_identifier", QW_OP_IDENTIFY},
    {1, "read_primary_variable", RD},
    {2, "read_loop_current_and_percent_of_range", RD},
    {3, "read_dynamic_variables_and_loop_current", RD},
    {6, "write_polling_address", WRC},
    {7, "read_loop_configuration", RD},
    {8, "read_dynamic_variable_classifications", RD},
    {9, "read_device_variables_with_status", RD},
    {11, "read_unique_identifier_associated_with_tag", QW_OP_IDENTIFY},
    {12, "read_message", RD},
    {13, "read_tag_descriptor_date", RD},
    {14, "read_primary_variable_transducer_information", RD},
    {15, "read_device_information", RD},
    {16, "read_final_assembly_number", RD},
    {17, "write_message", WRC},
    {18, "write_tag_descriptor_date", WRC},
    {19, "write_final_assembly_number", WRC},
    {20, "read_long_tag", RD},
    {21, "read_unique_identifier_associated_with_long_tag", QW_OP_IDENTIFY},
    {22, "write_long_tag", WRC},
    {31, "extended_command", 0},
    {33, "read_device_variables", RD},
    {34, "write_primary_variable_damping_value", WRC},
    {35, "write_primary_variable_range_values", WRC},
    {36, "set_primary_variable_upper_range_value", WRC},
    {37, "set_primary_variable_lower_range_value", WRC},
    {38, "reset_configuration_changed_flag", QW_OP_WRITE},
    {39, "eeprom_control", CFG},
    {40, "enter_exit_fixed_current_mode", QW_OP_CONTROL},
    {41, "perform_self_test", QW_OP_DIAGNOSTIC},
    {42, "perform_device_reset", QW_OP_RESTART},
    {43, "set_primary_variable_zero", CFG},
    {44, "write_primary_variable_units", WRC},
    {45, "trim_loop_current_zero", CFG},
    {46, "trim_loop_current_gain", CFG},
    {47, "write_primary_variable_transfer_function", WRC},
    {48, "read_additional_device_status", RD},
    {49, "write_primary_variable_transducer_serial_number", WRC},
    {50, "read_dynamic_variable_assignments", RD},
    {51, "write_dynamic_variable_assignments", WRC},
    {52, "set_device_variable_zero", CFG},
    {53, "write_device_variable_units", WRC},
    {54, "read_device_variable_information", RD},
    {55, "write_device_variable_damping_value", WRC},
    {56, "write_device_variable_transducer_serial_number", WRC},
    {57, "read_unit_tag_descriptor_date", RD},
    {58, "write_unit_tag_descriptor_date", WRC},
    {59, "write_number_of_response_preambles", CFG},
    {60, "read_analog_channel_and_percent_of_range", RD},
    {61, "read_dynamic_variables_and_primary_variable_analog_channel", RD},
    {62, "read_analog_channels", RD},
    {63, "read_analog_channel_information", RD},
    {64, "write_analog_channel_additional_damping_value", WRC},
    {65, "write_analog_channel_range_values", WRC},
    {66, "enter_exit_fixed_analog_channel_mode", QW_OP_CONTROL},
    {67, "trim_analog_channel_zero", CFG},
    {68, "trim_analog_channel_gain", CFG},
    {69, "write_analog_channel_transfer_function", WRC},
    {70, "read_analog_channel_endpoint_values", RD},
    {71, "lock_device", CFG},
    {72, "squawk", QW_OP_DIAGNOSTIC},
    {73, "find_device", QW_OP_IDENTIFY},
    {74, "read_io_system_capabilities", RD},
    {75, "poll_sub_device", QW_OP_IDENTIFY},
    {76, "read_lock_device_state", RD},
    {77, "send_command_to_sub_device", 0}, /* the ops are those of the embedded command */
    {78, "read_aggregated_commands", RD},
    {79, "write_device_variable", QW_OP_WRITE},
    {80, "read_device_variable_trim_points", RD},
    {81, "read_device_variable_trim_guidelines", RD},
    {82, "write_device_variable_trim_point", CFG},
    {83, "reset_device_variable_trim", CFG},
    {84, "read_sub_device_identity_summary", QW_OP_IDENTIFY},
    {85, "read_io_channel_statistics", QW_OP_DIAGNOSTIC},
    {86, "read_sub_device_statistics", QW_OP_DIAGNOSTIC},
    {87, "write_io_system_master_mode", CFG},
    {88, "write_io_system_retry_count", CFG},
    {89, "set_real_time_clock", QW_OP_TIMESYNC},
    {90, "read_real_time_clock", QW_OP_TIMESYNC},
    {91, "read_trend_configuration", RD},
    {92, "write_trend_configuration", CFG},
    {93, "read_trend", RD},
    {101, "read_sub_device_to_burst_message_map", RD},
    {102, "map_sub_device_to_burst_message", CFG},
    {103, "write_burst_period", CFG},
    {104, "write_burst_trigger", CFG},
    {105, "read_burst_mode_configuration", RD},
    {106, "flush_delayed_responses", QW_OP_SESSION},
    {107, "write_burst_device_variables", CFG},
    {108, "write_burst_mode_command_number", CFG},
    {109, "burst_mode_control", CFG},
    {115, "read_event_notification_summary", RD},
    {116, "write_event_notification_bit_mask", CFG},
    {117, "write_event_notification_timing", CFG},
    {118, "event_notification_control", CFG},
    {119, "acknowledge_event_notification", QW_OP_WRITE},
    {512, "read_country_code", RD},
    {513, "write_country_code", CFG},
    {520, "read_process_unit_tag", RD},
    {521, "write_process_unit_tag", WRC},
    {532, "read_client_subscription_summary", RD},
    {533, "write_client_subscription_flags", QW_OP_SESSION}, /* what the session is sent */
    {538, "read_hart_ip_server_ports", RD},
    {539, "write_hart_ip_udp_port", CFG},
    {540, "write_hart_ip_tcp_port", CFG},
    {541, "write_client_pake_password", SECRET},
    {542, "write_client_pre_shared_key", SECRET},
    {543, "read_syslog_server_hostname_and_port", RD},
    {544, "write_syslog_port", CFG},
    {545, "write_syslog_server_hostname", CFG},
    {546, "write_syslog_server_pre_shared_key", SECRET},
    {547, "write_syslog_server_pake_password", SECRET},
    {774, "read_network_id", RD},
    {779, "report_device_health", QW_OP_DIAGNOSTIC},
    {780, "report_neighbor_health_list", QW_OP_DIAGNOSTIC},
    {787, "report_neighbor_signal_levels", QW_OP_DIAGNOSTIC},
    {833, "read_device_neighbor_health", QW_OP_DIAGNOSTIC},
    {834, "read_network_topology_information", RD},
};

static const struct hip_command *hip_command_of(uint16_t n)
{
    size_t lo = 0, hi = sizeof hip_commands / sizeof hip_commands[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (hip_commands[mid].number == n) return &hip_commands[mid];
        if (hip_commands[mid].number < n) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Response codes that are warnings, not errors ([307]): 8 (update failure / set to nearest
 * possible value), 14 (span too small / new LRV pushed URV), 24-27, 30-31, and 96-111
 * (device-specific warnings). */
static bool hip_rc_warning(uint8_t rc)
{
    return rc == 8 || rc == 14 || (rc >= 24 && rc <= 27) || rc == 30 || rc == 31 ||
           (rc >= 96 && rc <= 111);
}

static const char *hip_rc_class(uint8_t rc)
{
    if (rc & 0x80u) return "communication_error"; /* [081]: bit 7 flags a comm error summary */
    if (rc == 0) return "success";
    return hip_rc_warning(rc) ? "warning" : "error";
}

/* Field device status bits ([081], [127] s.7). */
static const char *const hip_status_bits[8] = {
    "primary_variable_out_of_limits", "non_primary_variable_out_of_limits",
    "loop_current_saturated",         "loop_current_fixed",
    "more_status_available",          "cold_start",
    "configuration_changed",          "device_malfunction",
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct hip_cmd {
    uint16_t number;       /* the 16-bit number for extended commands */
    bool extended;         /* carried by command 31 */
    uint8_t byte_count;
    bool has_rc;           /* an answer: response code (+ device status in token-passing) */
    uint8_t rc;
    bool has_status;
    uint8_t status;
    bool truncated;        /* the byte count passes the end of the message */
    const uint8_t *data;   /* command data after rc/status and the extended number */
    size_t data_len;
};

struct hip_msg {
    const uint8_t *raw;
    size_t len;
    uint8_t version, type, id, status;
    uint16_t seq, byte_count;
    bool truncated;        /* body shorter than its fields */
    /* session initiate */
    bool has_session;
    uint8_t host_type;
    uint32_t inactivity_timer_ms;
    /* audit log */
    bool has_audit;
    uint8_t audit_start, audit_count;
    /* token-passing frame */
    bool has_frame;
    uint8_t delimiter, nexp;
    bool long_addr;
    uint8_t addr[5];
    bool checksum_ok;
    /* direct PDU */
    bool has_direct;
    uint8_t dev_status, ext_status;
    unsigned ncmds_total;
    unsigned ncmds;
    struct hip_cmd cmds[HIP_CMDS_MAX];
};

static void anomaly(struct qw_pctx *ctx, const char *name, const char *detail)
{
    if (ctx) qw_emit_anomaly(ctx, name, detail);
}

static bool hip_is_answer(uint8_t type)
{
    return type == HIP_RESPONSE || type == HIP_ERROR || type == HIP_NAK;
}

/* The token-passing frame ([081]): delimiter, address, expansion, command, byte count,
 * [response code, device status], data, check byte. */
static void dec_frame(struct hip_msg *m, struct qw_pctx *ctx, struct qw_cursor *c)
{
    const uint8_t *start = qw_cur_ptr(c);
    size_t avail = qw_cur_left(c);
    m->delimiter = qw_cur_u8(c);
    if (c->err) return;
    m->long_addr = (m->delimiter & 0x80u) != 0;
    m->nexp = (m->delimiter >> 5) & 3u;
    qw_cur_bytes(c, m->addr, m->long_addr ? 5 : 1);
    qw_cur_skip(c, m->nexp);
    uint8_t cmd8 = qw_cur_u8(c);
    uint8_t bc = qw_cur_u8(c);
    if (c->err) {
        m->truncated = true;
        anomaly(ctx, "hart_ip.truncated_pdu", NULL);
        return;
    }
    m->has_frame = true;
    unsigned ftype = m->delimiter & 7u;
    if (ftype != 1 && ftype != 2 && ftype != 6)
        anomaly(ctx, "hart_ip.invalid_delimiter", NULL);
    struct hip_cmd *k = &m->cmds[0];
    memset(k, 0, sizeof *k);
    m->ncmds = m->ncmds_total = 1;
    k->number = cmd8;
    k->byte_count = bc;
    bool cut = false;
    struct qw_cursor d = qw_cur_sub(c, bc, &cut);
    bool slave = ftype == 1 || ftype == 6; /* BACK and ACK frames carry rc + status */
    if (slave) {
        k->rc = qw_cur_u8(&d);
        k->status = qw_cur_u8(&d);
        k->has_rc = k->has_status = !d.err;
    }
    /* A communication error answer holds no command data ([081]). */
    if (cmd8 == HIP_CMD_EXTENDED && !(k->has_rc && (k->rc & 0x80u)) && qw_cur_left(&d) >= 2) {
        k->number = qw_cur_be16(&d);
        k->extended = true;
    }
    k->data = qw_cur_ptr(&d);
    k->data_len = qw_cur_left(&d);
    uint8_t chk = qw_cur_u8(c);
    if (cut || c->err) {
        k->truncated = m->truncated = true;
        anomaly(ctx, "hart_ip.truncated_pdu", NULL);
        return;
    }
    uint8_t x = 0;
    size_t n = (size_t)(qw_cur_ptr(c) - start) - 1; /* every octet before the check byte */
    for (size_t i = 0; i < n && i < avail; i++) x ^= start[i];
    m->checksum_ok = x == chk;
    if (!m->checksum_ok) anomaly(ctx, "hart_ip.bad_checksum", NULL);
}

/* Direct PDU ([085], HART-IP 2): device status, extended device status, then commands of
 * number (2), byte count (1), [response code], data. */
static void dec_direct(struct hip_msg *m, struct qw_pctx *ctx, struct qw_cursor *c)
{
    m->dev_status = qw_cur_u8(c);
    m->ext_status = qw_cur_u8(c);
    if (c->err) {
        m->truncated = true;
        anomaly(ctx, "hart_ip.truncated_pdu", NULL);
        return;
    }
    m->has_direct = true;
    bool answer = hip_is_answer(m->type) || m->type == HIP_PUBLISH;
    while (qw_cur_left(c) > 0) {
        uint16_t num = qw_cur_be16(c);
        uint8_t bc = qw_cur_u8(c);
        if (c->err) {
            m->truncated = true;
            anomaly(ctx, "hart_ip.truncated_pdu", NULL);
            return;
        }
        bool cut = false;
        struct qw_cursor d = qw_cur_sub(c, bc, &cut);
        m->ncmds_total++;
        if (m->ncmds >= HIP_CMDS_MAX) continue;
        struct hip_cmd *k = &m->cmds[m->ncmds++];
        memset(k, 0, sizeof *k);
        k->number = num;
        k->byte_count = bc;
        if (answer) {
            k->rc = qw_cur_u8(&d);
            k->has_rc = !d.err;
        }
        k->data = qw_cur_ptr(&d);
        k->data_len = qw_cur_left(&d);
        if (cut) {
            k->truncated = m->truncated = true;
            anomaly(ctx, "hart_ip.truncated_pdu", NULL);
            return;
        }
    }
}

/* Decode one whole message. Anomalies go to `ctx` unless it is NULL (a silent re-decode). */
static void hip_decode(struct hip_msg *m, struct qw_pctx *ctx, const uint8_t *b, size_t n)
{
    memset(m, 0, offsetof(struct hip_msg, cmds));
    m->raw = b;
    m->len = n;
    struct qw_cursor c = qw_cursor_make(b, n);
    m->version = qw_cur_u8(&c);
    m->type = qw_cur_u8(&c);
    m->id = qw_cur_u8(&c);
    m->status = qw_cur_u8(&c);
    m->seq = qw_cur_be16(&c);
    m->byte_count = qw_cur_be16(&c);
    if (c.err) return; /* framing guarantees the header */
    bool answer = hip_is_answer(m->type);
    switch (m->id) {
    case HIP_SESSION_INITIATE:
        if (qw_cur_left(&c) == 0 && answer) break; /* an error answer may carry no body */
        m->host_type = qw_cur_u8(&c);
        m->inactivity_timer_ms = qw_cur_be32(&c);
        if (c.err) {
            m->truncated = true;
            anomaly(ctx, "hart_ip.truncated_message", hip_msgid_name(m->id));
        } else {
            m->has_session = true;
        }
        break;
    case HIP_SESSION_CLOSE:
    case HIP_KEEP_ALIVE: break;
    case HIP_TOKEN_PASSING:
        if (qw_cur_left(&c) == 0 && answer) break;
        dec_frame(m, ctx, &c);
        break;
    case HIP_DIRECT_PDU:
        if (qw_cur_left(&c) == 0 && answer) break;
        dec_direct(m, ctx, &c);
        break;
    case HIP_READ_AUDIT_LOG:
        if (qw_cur_left(&c) == 0 && answer) break;
        m->audit_start = qw_cur_u8(&c);
        m->audit_count = qw_cur_u8(&c);
        if (c.err) {
            m->truncated = true;
            anomaly(ctx, "hart_ip.truncated_message", hip_msgid_name(m->id));
        } else {
            m->has_audit = true;
        }
        qw_cur_skip(&c, qw_cur_left(&c)); /* the log records are not broken down */
        break;
    default: qw_cur_skip(&c, qw_cur_left(&c)); break;
    }
    if (!c.err && qw_cur_left(&c) > 0)
        anomaly(ctx, "hart_ip.trailing_data", hip_msgid_name(m->id));
}

static uint32_t hip_msg_ops(const struct hip_msg *m)
{
    if (m->id < 6 && m->id != HIP_TOKEN_PASSING && m->id != HIP_DIRECT_PDU)
        return hip_msgids[m->id].ops;
    uint32_t ops = 0;
    for (unsigned i = 0; i < m->ncmds; i++) {
        const struct hip_command *hc = hip_command_of(m->cmds[i].number);
        if (hc) ops |= hc->ops;
    }
    return ops;
}

static bool hip_msg_error(const struct hip_msg *m)
{
    if (m->type == HIP_ERROR || m->type == HIP_NAK) return true;
    if (m->status != 0 && !hip_rc_warning(m->status)) return true;
    for (unsigned i = 0; i < m->ncmds; i++) {
        const struct hip_cmd *k = &m->cmds[i];
        if (k->has_rc && k->rc != 0 && ((k->rc & 0x80u) || !hip_rc_warning(k->rc))) return true;
    }
    return false;
}

/* A single-precision value as JSON with 7 significant digits (what an IEEE single holds);
 * qw_json_double's 6 would turn 11049.25 into 11049.2. Not-a-number and infinities are null. */
static void json_float(struct qw_json *j, const char *key, double v)
{
    if (!isfinite(v)) {
        qw_json_null(j, key);
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.7g", v);
    qw_json_raw(j, key, buf, (size_t)n);
}

/* ---- Command data ([127], [151]) ------------------------------------------------------------ */

/* Packed ASCII ([127]): four 6-bit characters in three octets; a 6-bit value v is the character
 * v with bit 6 set to the complement of bit 5. Trailing spaces are dropped. */
static size_t unpack_ascii(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        for (int s = 18; s >= 0; s -= 6) {
            uint8_t v = (uint8_t)((w >> s) & 0x3Fu);
            if (k + 1 < cap) out[k++] = (char)(v | ((~v & 0x20u) << 1));
        }
    }
    while (k > 0 && out[k - 1] == ' ') k--;
    if (cap) out[k] = '\0';
    return k;
}

/* Latin-1 text padded with NULs or spaces: the length without the padding. */
static size_t text_len(const uint8_t *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k] != 0) k++;
    while (k > 0 && p[k - 1] == ' ') k--;
    return k;
}

static float be_float(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    float f;
    memcpy(&f, &u, sizeof f); /* HART floats are IEEE 754 single precision, big-endian */
    return f;
}

/* The identity block of command 0/11/21 answers ([127] command 0). */
struct hip_ident {
    uint16_t device_type;   /* expanded device type (HART 7), or the 1-octet type (HART 5/6) */
    uint16_t manufacturer;
    bool has_manufacturer;
    uint32_t device_id;
    uint8_t univ_rev, dev_rev, sw_rev, hw_rev, signaling, flags;
    bool has_cfg_counter;
    uint16_t cfg_counter;
    bool has_private_label;
    uint16_t private_label;
    bool has_profile;
    uint8_t profile;
};

static bool hip_read_ident(const struct hip_cmd *k, struct hip_ident *id)
{
    const uint8_t *d = k->data;
    if (k->data_len < 12 || d[0] != 254) return false; /* 254: the fixed expansion octet */
    memset(id, 0, sizeof *id);
    id->univ_rev = d[4];
    id->dev_rev = d[5];
    id->sw_rev = d[6];
    id->hw_rev = d[7] >> 3;
    id->signaling = d[7] & 7u;
    id->flags = d[8];
    id->device_id = (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
    if (id->univ_rev >= 7) { /* HART 7: 16-bit expanded device type; manufacturer at 17-18 */
        id->device_type = (uint16_t)(d[1] << 8 | d[2]);
        if (k->data_len >= 19) {
            id->manufacturer = (uint16_t)(d[17] << 8 | d[18]);
            id->has_manufacturer = true;
        }
    } else { /* HART 5/6: manufacturer id, then device type */
        id->manufacturer = d[1];
        id->has_manufacturer = true;
        id->device_type = d[2];
    }
    if (k->data_len >= 16) {
        id->cfg_counter = (uint16_t)(d[14] << 8 | d[15]);
        id->has_cfg_counter = true;
    }
    if (k->data_len >= 21) {
        id->private_label = (uint16_t)(d[19] << 8 | d[20]);
        id->has_private_label = true;
    }
    if (k->data_len >= 22) {
        id->profile = d[21];
        id->has_profile = true;
    }
    return true;
}

/* A HART date ([127] command 13): day, month, year - 1900. Out-of-range octets are shown as
 * hex instead. */
static void json_date(struct qw_json *j, const uint8_t *d)
{
    if (d[0] == 0 || d[0] > 31 || d[1] == 0 || d[1] > 12) {
        qw_json_hex(j, "date_raw", d, 3);
        return;
    }
    char buf[16];
    snprintf(buf, sizeof buf, "%04u-%02u-%02u", 1900u + d[2], d[1], d[0]);
    qw_json_str(j, "date", buf);
}

static void json_packed(struct qw_json *j, const char *key, const uint8_t *p, size_t n)
{
    char buf[64];
    size_t k = unpack_ascii(p, n, buf, sizeof buf);
    qw_json_strn(j, key, buf, k);
}

static void json_hex_data(struct qw_json *j, const struct hip_cmd *k)
{
    if (k->data_len == 0) return;
    bool cut = k->data_len > HIP_HEX_MAX;
    qw_json_hex(j, "data", k->data, cut ? HIP_HEX_MAX : k->data_len);
    if (cut) qw_json_bool(j, "data_truncated", true);
}

/* Fields of the commands that say who a device is or what was written to it; others show
 * their data as hex. `answer` tells a response from a request. */
static void json_cmd_data(struct qw_json *j, const struct hip_cmd *k, bool answer)
{
    const uint8_t *d = k->data;
    size_t n = k->data_len;
    const struct hip_command *hc = hip_command_of(k->number);
    if (hc && (hc->ops & QW_OP_AUTH)) { /* passwords and keys stay out of the log */
        if (n) qw_json_bool(j, "data_redacted", true);
        return;
    }
    struct hip_ident id;
    if (answer && (k->number == 0 || k->number == 11 || k->number == 21) &&
        hip_read_ident(k, &id)) {
        qw_json_u64(j, "expanded_device_type", id.device_type);
        if (id.has_manufacturer) qw_json_u64(j, "manufacturer_id", id.manufacturer);
        if (id.has_private_label) qw_json_u64(j, "private_label", id.private_label);
        char dev[8];
        snprintf(dev, sizeof dev, "%06x", (unsigned)id.device_id);
        qw_json_str(j, "device_id", dev);
        qw_json_u64(j, "universal_revision", id.univ_rev);
        qw_json_u64(j, "device_revision", id.dev_rev);
        qw_json_u64(j, "software_revision", id.sw_rev);
        qw_json_u64(j, "hardware_revision", id.hw_rev);
        qw_json_u64(j, "physical_signaling", id.signaling);
        qw_json_u64(j, "flags", id.flags);
        if (id.has_cfg_counter) qw_json_u64(j, "configuration_change_counter", id.cfg_counter);
        if (id.has_profile) qw_json_u64(j, "device_profile", id.profile);
        return;
    }
    bool tagdate = (answer && k->number == 13) || (!answer && k->number == 18);
    if (tagdate && n >= 21) { /* tag 6, descriptor 12, date 3 */
        json_packed(j, "tag", d, 6);
        json_packed(j, "descriptor", d + 6, 12);
        json_date(j, d + 18);
        return;
    }
    bool longtag = (answer && k->number == 20) || (!answer && (k->number == 22 ||
                                                              k->number == 21));
    if (longtag && n >= 32) {
        qw_json_strn(j, "long_tag", d, text_len(d, 32));
        return;
    }
    if (!answer && k->number == 11 && n >= 6) {
        json_packed(j, "tag", d, 6);
        return;
    }
    bool message = (answer && k->number == 12) || (!answer && k->number == 17);
    if (message && n >= 24) {
        json_packed(j, "message", d, 24);
        return;
    }
    if (k->number == 6 && n >= 1) { /* request and its echo */
        qw_json_u64(j, "polling_address", d[0]);
        if (n >= 2) qw_json_u64(j, "loop_current_mode", d[1]);
        return;
    }
    if (answer && k->number == 1 && n >= 5) {
        qw_json_u64(j, "pv_units", d[0]);
        json_float(j, "pv", be_float(d + 1));
        return;
    }
    if (answer && k->number == 2 && n >= 8) {
        json_float(j, "loop_current_ma", be_float(d));
        json_float(j, "percent_of_range", be_float(d + 4));
        return;
    }
    if (answer && k->number == 3 && n >= 4) { /* loop current, then up to 4 units + value */
        json_float(j, "loop_current_ma", be_float(d));
        static const char *const names[4][2] = {{"pv_units", "pv"}, {"sv_units", "sv"},
                                                {"tv_units", "tv"}, {"qv_units", "qv"}};
        for (size_t v = 0; v < 4 && 4 + v * 5 + 5 <= n; v++) {
            qw_json_u64(j, names[v][0], d[4 + v * 5]);
            json_float(j, names[v][1], be_float(d + 5 + v * 5));
        }
        return;
    }
    json_hex_data(j, k);
}

static void json_cmd(struct qw_json *j, const struct hip_cmd *k, bool answer)
{
    const struct hip_command *hc = hip_command_of(k->number);
    qw_json_u64(j, "command", k->number);
    qw_json_str(j, "command_name", hc ? hc->name : "unknown");
    if (k->extended) qw_json_bool(j, "extended_command", true);
    qw_json_u64(j, "command_byte_count", k->byte_count);
    if (k->has_rc) {
        qw_json_u64(j, "response_code", k->rc);
        qw_json_str(j, "response_class", hip_rc_class(k->rc));
    }
    if (k->has_status) {
        qw_json_u64(j, "device_status", k->status);
        if (k->status && !(k->rc & 0x80u)) {
            qw_json_arr_begin(j, "device_status_flags");
            for (unsigned b = 0; b < 8; b++)
                if (k->status & (1u << b)) qw_json_str(j, NULL, hip_status_bits[b]);
            qw_json_arr_end(j);
        }
    }
    if (!(k->has_rc && (k->rc & 0x80u))) json_cmd_data(j, k, answer);
    if (k->truncated) qw_json_bool(j, "truncated", true);
}

static void json_msg(struct qw_json *j, const char *key, const struct hip_msg *m)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "version", m->version);
    qw_json_u64(j, "message_type", m->type);
    const char *tn = hip_type_name(m->type);
    qw_json_str(j, "message_type_name", tn ? tn : "unknown");
    qw_json_u64(j, "function", m->id);
    qw_json_str(j, "function_name", hip_msgid_name(m->id));
    qw_json_u64(j, "status", m->status);
    qw_json_u64(j, "sequence_number", m->seq);
    qw_json_u64(j, "byte_count", m->byte_count);
    bool answer = m->type != HIP_REQUEST;
    if (m->has_session) {
        qw_json_u64(j, "host_type", m->host_type);
        qw_json_str(j, "host_type_name", m->host_type == 1   ? "primary"
                                         : m->host_type == 0 ? "secondary"
                                                             : "unknown");
        qw_json_u64(j, "inactivity_close_timer_ms", m->inactivity_timer_ms);
    }
    if (m->has_audit) {
        qw_json_u64(j, "start_record", m->audit_start);
        qw_json_u64(j, "number_of_records", m->audit_count);
    }
    if (m->has_frame) {
        qw_json_u64(j, "delimiter", m->delimiter);
        unsigned ft = m->delimiter & 7u;
        qw_json_str(j, "frame_type", ft == 1 ? "BACK" : ft == 2 ? "STX" : ft == 6 ? "ACK"
                                                                                  : "unknown");
        if (m->long_addr) {
            uint8_t a[5];
            memcpy(a, m->addr, 5);
            a[0] &= 0x3Fu; /* the master and burst bits are not part of the unique id */
            qw_json_hex(j, "address", a, 5);
        } else {
            qw_json_u64(j, "polling_address", m->addr[0] & 0x3Fu);
        }
        qw_json_bool(j, "primary_master", (m->addr[0] & 0x80u) != 0);
        qw_json_bool(j, "burst_mode", (m->addr[0] & 0x40u) != 0);
        if (m->nexp) qw_json_u64(j, "expansion_bytes", m->nexp);
        if (m->ncmds) json_cmd(j, &m->cmds[0], answer);
        if (!m->truncated) qw_json_bool(j, "checksum_valid", m->checksum_ok);
    }
    if (m->has_direct) {
        qw_json_u64(j, "device_status", m->dev_status);
        qw_json_u64(j, "extended_device_status", m->ext_status);
        qw_json_arr_begin(j, "commands");
        for (unsigned i = 0; i < m->ncmds; i++) {
            qw_json_obj_begin(j, NULL);
            json_cmd(j, &m->cmds[i], answer);
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
        if (m->ncmds_total > m->ncmds) qw_json_u64(j, "commands_total", m->ncmds_total);
    }
    if (m->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

struct hip_view {
    const struct hip_msg *req, *rsp;
};

static void hip_write_json(struct qw_json *j, const void *arg)
{
    const struct hip_view *v = arg;
    if (v->req) json_msg(j, "request", v->req);
    if (v->rsp) json_msg(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct hip_slot {
    bool used;
    uint8_t id;
    uint16_t seq;
    uint16_t len;
    uint32_t order;
    uint64_t ts_ns;
    uint8_t raw[HIP_KEEP_MAX];
};

struct hip_state {
    bool resync[2];
    bool queue_full_reported;
    uint32_t next_order;
    struct hip_slot queue[HIP_QUEUE_MAX];
    struct hip_msg req, rsp; /* scratch records for the transaction being emitted */
    struct hip_view view;
};

static void hip_emit(struct qw_pctx *ctx, struct hip_state *st, const struct hip_msg *req,
                     uint64_t req_ns, const struct hip_msg *rsp, uint64_t rsp_ns)
{
    const struct hip_msg *key = req ? req : rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->id;
    t.function_name = hip_msgid_name(key->id);
    /* A publish changes nothing: it reports burst data. */
    t.ops = key->type == HIP_PUBLISH ? 0 : hip_msg_ops(key);
    /* A PDU request kept cut (HIP_KEEP_MAX) may have lost its commands: its answer has them. */
    if (req && rsp && req->id == rsp->id && rsp->ncmds && !req->ncmds) t.ops = hip_msg_ops(rsp);
    t.error = rsp && hip_msg_error(rsp);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    t.write_json = hip_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static void hip_flush_slot(struct qw_pctx *ctx, struct hip_state *st, struct hip_slot *s)
{
    hip_decode(&st->req, NULL, s->raw, s->len);
    s->used = false;
    hip_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
}

static struct hip_slot *hip_oldest(struct hip_state *st)
{
    struct hip_slot *best = NULL;
    for (size_t i = 0; i < HIP_QUEUE_MAX; i++) {
        struct hip_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->order - best->order) < 0)) best = s;
    }
    return best;
}

/* Identity facts of the device that answered ([127] commands 0, 11, 21, 13, 20). */
static void hip_identity(struct qw_pctx *ctx, const struct hip_msg *m, bool server)
{
    char buf[64];
    for (unsigned i = 0; i < m->ncmds; i++) {
        const struct hip_cmd *k = &m->cmds[i];
        if (!k->has_rc || k->rc != 0) continue; /* only successful answers */
        struct hip_ident id;
        int w;
        if ((k->number == 0 || k->number == 11 || k->number == 21) && hip_read_ident(k, &id)) {
            if (id.has_manufacturer) {
                w = snprintf(buf, sizeof buf, "%u", id.manufacturer);
                qw_emit_identity(ctx, server, "vendor_id", buf, (size_t)w);
            }
            w = snprintf(buf, sizeof buf, "%u", id.device_type);
            qw_emit_identity(ctx, server, "device_type", buf, (size_t)w);
            w = snprintf(buf, sizeof buf, "%u", (unsigned)id.device_id);
            qw_emit_identity(ctx, server, "serial", buf, (size_t)w);
            w = snprintf(buf, sizeof buf, "%u", id.sw_rev);
            qw_emit_identity(ctx, server, "firmware", buf, (size_t)w);
            w = snprintf(buf, sizeof buf, "%u", id.hw_rev);
            qw_emit_identity(ctx, server, "hardware", buf, (size_t)w);
        } else if (k->number == 13 && k->data_len >= 6) {
            size_t n = unpack_ascii(k->data, 6, buf, sizeof buf);
            if (n) qw_emit_identity(ctx, server, "name", buf, n);
        } else if (k->number == 20 && k->data_len >= 32) {
            size_t n = text_len(k->data, 32);
            if (n) qw_emit_identity(ctx, server, "name", (const char *)k->data, n);
        }
    }
}

static void hip_on_message(struct qw_pctx *ctx, struct hip_state *st, enum qw_dir dir,
                           const uint8_t *b, size_t n)
{
    uint64_t now = qw_pctx_time(ctx);
    hip_decode(&st->rsp, ctx, b, n); /* anomalies once, here */
    struct hip_msg *m = &st->rsp;
    if (m->type == HIP_REQUEST) {
        struct hip_slot *s = NULL;
        for (size_t i = 0; i < HIP_QUEUE_MAX; i++) { /* a reused number: the old one is done */
            struct hip_slot *q = &st->queue[i];
            if (q->used && q->seq == m->seq) hip_flush_slot(ctx, st, q);
        }
        for (size_t i = 0; i < HIP_QUEUE_MAX && !s; i++)
            if (!st->queue[i].used) s = &st->queue[i];
        if (!s) {
            if (!st->queue_full_reported)
                qw_emit_anomaly(ctx, "hart_ip.request_queue_full", NULL);
            st->queue_full_reported = true;
            s = hip_oldest(st);
            hip_flush_slot(ctx, st, s);
        }
        size_t keep = n > HIP_KEEP_MAX ? HIP_KEEP_MAX : n;
        s->used = true;
        s->id = m->id;
        s->seq = m->seq;
        s->len = (uint16_t)keep;
        s->order = st->next_order++;
        s->ts_ns = now;
        memcpy(s->raw, b, keep);
        return;
    }
    struct hip_slot *s = NULL;
    if (hip_is_answer(m->type))
        for (size_t i = 0; i < HIP_QUEUE_MAX && !s; i++)
            if (st->queue[i].used && st->queue[i].seq == m->seq) s = &st->queue[i];
    const struct hip_msg *req = NULL;
    uint64_t req_ns = 0;
    if (s) {
        hip_decode(&st->req, NULL, s->raw, s->len);
        req = &st->req;
        req_ns = s->ts_ns;
        s->used = false;
        if (req->id != m->id) qw_emit_anomaly(ctx, "hart_ip.message_id_mismatch", NULL);
    }
    hip_emit(ctx, st, req, req_ns, m, now);
    if (m->type == HIP_RESPONSE || m->type == HIP_PUBLISH)
        hip_identity(ctx, m, dir == QW_DIR_TO_CLIENT);
}

/* ---- Framing ------------------------------------------------------------------------------- */

enum hip_check { HIP_NO, HIP_MORE, HIP_YES };

/* A token-passing frame at f (m octets of it here) that fills a message of `bc` octets exactly
 * ([081]): a frame type that fits the message type (STX in requests, ACK in answers, BACK or
 * ACK in publish messages), and delimiter + address + expansion + command + byte count + data +
 * check byte adding up to the message. */
static enum hip_check hip_frame_fits(uint8_t type, const uint8_t *f, size_t m, size_t bc)
{
    if (m < 1) return HIP_MORE;
    unsigned ft = f[0] & 7u;
    bool ok = type == HIP_REQUEST ? ft == 2 : type == HIP_PUBLISH ? (ft == 1 || ft == 6)
                                                                   : ft == 6;
    if (!ok) return HIP_NO;
    size_t at = 1 + ((f[0] & 0x80u) ? 5u : 1u) + ((f[0] >> 5) & 3u) + 1; /* the byte count */
    if (m <= at) return HIP_MORE;
    return HIP_HDR_LEN + at + 1 + (size_t)f[at] + 1 == bc ? HIP_YES : HIP_NO;
}

/* Direct-PDU commands (number, byte count, data) that end exactly at the message's end. */
static bool hip_direct_fits(const uint8_t *p, size_t n)
{
    struct qw_cursor c = qw_cursor_make(p, n);
    qw_cur_skip(&c, 2); /* device status, extended device status */
    while (qw_cur_left(&c) >= 3) {
        qw_cur_skip(&c, 2);
        uint8_t count = qw_cur_u8(&c);
        if (!qw_cur_skip(&c, count)) return false;
    }
    return !c.err && qw_cur_left(&c) == 0;
}

/* A plausible message header at `b` ([085]): version 1 or 2, a known type and id, and a byte
 * count that fits the id: session initiate 13, close and keep alive 8, read audit log requests
 * 10; an answer of 8 octets (no body) only for an error, a NAK or a non-zero status. Token-
 * passing messages must hold a frame that fills them, direct PDUs commands that do. Answers
 * are checked as strictly as requests: their header alone is a weak signature (an MS-SQL TDS
 * batch starts 01 01 .. like a HART-IP response). */
static enum hip_check hip_plausible(const uint8_t *b, size_t n)
{
    if (n >= 1 && (b[0] < 1 || b[0] > 2)) return HIP_NO;
    if (n >= 2 && !hip_type_name(b[1])) return HIP_NO;
    if (n >= 3 && b[2] > HIP_READ_AUDIT_LOG) return HIP_NO;
    if (n >= 4 && b[1] == HIP_REQUEST && b[3] != 0) return HIP_NO;
    if (n < HIP_HDR_LEN) return HIP_MORE;
    uint8_t type = b[1], id = b[2], status = b[3];
    size_t bc = (size_t)(b[6] << 8 | b[7]);
    if (bc < HIP_HDR_LEN || bc > HIP_MSG_MAX) return HIP_NO;
    bool request = type == HIP_REQUEST;
    bool bare_answer = !request && (type == HIP_ERROR || type == HIP_NAK || status != 0);
    if (bc == HIP_HDR_LEN && id != HIP_SESSION_CLOSE && id != HIP_KEEP_ALIVE)
        return bare_answer ? HIP_YES : HIP_NO;
    const uint8_t *body = b + HIP_HDR_LEN;
    size_t have = n - HIP_HDR_LEN;
    switch (id) {
    case HIP_SESSION_INITIATE:
        if (bc != HIP_SESSION_INIT_LEN) return HIP_NO;
        if (have < 1) return HIP_MORE;
        return body[0] <= 1 ? HIP_YES : HIP_NO; /* host type: 0 secondary, 1 primary */
    case HIP_SESSION_CLOSE:
    case HIP_KEEP_ALIVE: return bc == HIP_HDR_LEN ? HIP_YES : HIP_NO;
    case HIP_TOKEN_PASSING:
        if (bc < HIP_HDR_LEN + HIP_TP_MIN) return HIP_NO;
        return hip_frame_fits(type, body, have, bc);
    case HIP_DIRECT_PDU:
        if (bc < HIP_HDR_LEN + 2) return HIP_NO;
        if (have < bc - HIP_HDR_LEN) return HIP_YES; /* decided once it is all here */
        return hip_direct_fits(body, bc - HIP_HDR_LEN) ? HIP_YES : HIP_NO;
    default: /* read audit log */
        if (request) return bc == HIP_AUDIT_REQ_LEN ? HIP_YES : HIP_NO;
        return bc >= HIP_AUDIT_REQ_LEN ? HIP_YES : HIP_NO;
    }
}

static bool hip_chain_ok(const uint8_t *b, size_t n, size_t end)
{
    return end >= n || hip_plausible(b + end, n - end) != HIP_NO;
}

static enum qw_probe_result hip_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* a HART-IP device may publish before it is asked anything */
    enum hip_check r = hip_plausible(data, len);
    if (r == HIP_NO) return QW_PROBE_NO;
    if (r == HIP_MORE) return QW_PROBE_NEED_MORE;
    size_t end = (size_t)(data[6] << 8 | data[7]);
    if (end < len && !hip_chain_ok(data, len, end)) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

enum hip_sync { HIP_SYNC_FOUND, HIP_SYNC_WAIT };

/* Search forward for the next message boundary: a plausible header whose whole message is
 * here and is followed by the end of the data or another plausible header. A candidate whose
 * message is not complete yet does not stop the search (answer headers are loosely constrained
 * and a byte count of garbage can ask for kilobytes); if nothing better is found, the bytes are
 * kept from the first such candidate and the search resumes with more data. */
static enum hip_sync hip_resync(const uint8_t *b, size_t n, size_t *skip)
{
    size_t wait_at = n;
    for (size_t i = 0; i < n; i++) {
        enum hip_check r = hip_plausible(b + i, n - i);
        if (r == HIP_NO) continue;
        if (r == HIP_MORE) {
            if (wait_at == n) wait_at = i;
            break; /* fewer than 8 octets left: nothing later can be complete */
        }
        size_t end = i + (size_t)(b[i + 6] << 8 | b[i + 7]);
        if (end > n) {
            if (wait_at == n) wait_at = i;
            continue;
        }
        if (hip_chain_ok(b, n, end)) {
            *skip = i;
            return HIP_SYNC_FOUND;
        }
    }
    *skip = wait_at;
    return HIP_SYNC_WAIT;
}

static size_t hip_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct hip_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            size_t skip = 0;
            enum hip_sync r = hip_resync(data + off, len - off, &skip);
            off += skip;
            if (r == HIP_SYNC_WAIT) return off;
            st->resync[d] = false;
        }
        struct qw_cursor c = qw_cursor_make(data + off, len - off);
        uint8_t ver = qw_cur_u8(&c), type = qw_cur_u8(&c), id = qw_cur_u8(&c);
        qw_cur_skip(&c, 3);
        uint16_t bc = qw_cur_be16(&c);
        if (c.err) return off; /* header not complete yet */
        if (ver < 1 || ver > 2 || !hip_type_name(type) || id > HIP_READ_AUDIT_LOG ||
            bc < HIP_HDR_LEN || bc > HIP_MSG_MAX) {
            bool header_ok = ver >= 1 && ver <= 2 && hip_type_name(type) &&
                             id <= HIP_READ_AUDIT_LOG;
            qw_emit_anomaly(ctx, header_ok ? "hart_ip.invalid_length" : "hart_ip.invalid_header",
                            NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        if (len - off < bc) return off; /* partial message: the engine keeps it */
        hip_on_message(ctx, st, dir, data + off, bc);
        off += bc;
    }
    return off;
}

/* UDP: each datagram holds whole messages. */
static void hip_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct hip_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = false;
    size_t used = hip_parse(ctx, state, dir, data, len);
    /* Nothing is kept between datagrams: a message cut by the end of one is lost. */
    if (used < len && !st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0])
        qw_emit_anomaly(ctx, "hart_ip.truncated_message", "datagram");
}

static void hip_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct hip_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

static void hip_flow_end(struct qw_pctx *ctx, void *state)
{
    struct hip_state *st = state;
    struct hip_slot *s;
    while ((s = hip_oldest(st)) != NULL) hip_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_hart_ip = {
    .name = "hart_ip",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {HIP_PORT, 0},
    .probe = hip_probe,
    .state_size = sizeof(struct hip_state),
    .parse = hip_parse,
    .datagram = hip_datagram,
    .gap = hip_gap,
    .flow_end = hip_flow_end,
};
