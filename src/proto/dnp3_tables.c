/* DNP3 protocol fact tables (see dnp3_tables.h). Sources, all IEEE Std 1815-2012 ("IEEE Standard
 * for Electric Power Systems Communications - Distributed Network Protocol (DNP3)"):
 *   clause 9 (data link layer): the CRC, primary and secondary link function codes;
 *   clause 4 (application layer): function codes and the standard's grouping of them (transfer,
 *            control, freeze, application control, configuration, time synchronization, file,
 *            security), internal indications;
 *   clause 7 (Secure Authentication, SAv5) and Annex A group 120: authentication objects,
 *            error codes and key status;
 *   Annex A (object library): sizes per group and variation; group 12 control code and the
 *            control status codes shared with group 41; group 70 file status codes and modes;
 *            group 0 device attributes (variations 242-252 used for identity facts). */
#include "proto/dnp3_tables.h"

#include "engine/emit.h"

/* ---- CRC ------------------------------------------------------------------------------------ */

/* Byte-wise lookup table for the reflected polynomial 0xA6BC: entry i is i shifted out through
 * the polynomial eight times (generated, not hand-typed). */
static const uint16_t crc_table[256] = {
    0x0000, 0x365E, 0x6CBC, 0x5AE2, 0xD978, 0xEF26, 0xB5C4, 0x839A,
    0xFF89, 0xC9D7, 0x9335, 0xA56B, 0x26F1, 0x10AF, 0x4A4D, 0x7C13,
    0xB26B, 0x8435, 0xDED7, 0xE889, 0x6B13, 0x5D4D, 0x07AF, 0x31F1,
    0x4DE2, 0x7BBC, 0x215E, 0x1700, 0x949A, 0xA2C4, 0xF826, 0xCE78,
    0x29AF, 0x1FF1, 0x4513, 0x734D, 0xF0D7, 0xC689, 0x9C6B, 0xAA35,
    0xD626, 0xE078, 0xBA9A, 0x8CC4, 0x0F5E, 0x3900, 0x63E2, 0x55BC,
    0x9BC4, 0xAD9A, 0xF778, 0xC126, 0x42BC, 0x74E2, 0x2E00, 0x185E,
    0x644D, 0x5213, 0x08F1, 0x3EAF, 0xBD35, 0x8B6B, 0xD189, 0xE7D7,
    0x535E, 0x6500, 0x3FE2, 0x09BC, 0x8A26, 0xBC78, 0xE69A, 0xD0C4,
    0xACD7, 0x9A89, 0xC06B, 0xF635, 0x75AF, 0x43F1, 0x1913, 0x2F4D,
    0xE135, 0xD76B, 0x8D89, 0xBBD7, 0x384D, 0x0E13, 0x54F1, 0x62AF,
    0x1EBC, 0x28E2, 0x7200, 0x445E, 0xC7C4, 0xF19A, 0xAB78, 0x9D26,
    0x7AF1, 0x4CAF, 0x164D, 0x2013, 0xA389, 0x95D7, 0xCF35, 0xF96B,
    0x8578, 0xB326, 0xE9C4, 0xDF9A, 0x5C00, 0x6A5E, 0x30BC, 0x06E2,
    0xC89A, 0xFEC4, 0xA426, 0x9278, 0x11E2, 0x27BC, 0x7D5E, 0x4B00,
    0x3713, 0x014D, 0x5BAF, 0x6DF1, 0xEE6B, 0xD835, 0x82D7, 0xB489,
    0xA6BC, 0x90E2, 0xCA00, 0xFC5E, 0x7FC4, 0x499A, 0x1378, 0x2526,
    0x5935, 0x6F6B, 0x3589, 0x03D7, 0x804D, 0xB613, 0xECF1, 0xDAAF,
    0x14D7, 0x2289, 0x786B, 0x4E35, 0xCDAF, 0xFBF1, 0xA113, 0x974D,
    0xEB5E, 0xDD00, 0x87E2, 0xB1BC, 0x3226, 0x0478, 0x5E9A, 0x68C4,
    0x8F13, 0xB94D, 0xE3AF, 0xD5F1, 0x566B, 0x6035, 0x3AD7, 0x0C89,
    0x709A, 0x46C4, 0x1C26, 0x2A78, 0xA9E2, 0x9FBC, 0xC55E, 0xF300,
    0x3D78, 0x0B26, 0x51C4, 0x679A, 0xE400, 0xD25E, 0x88BC, 0xBEE2,
    0xC2F1, 0xF4AF, 0xAE4D, 0x9813, 0x1B89, 0x2DD7, 0x7735, 0x416B,
    0xF5E2, 0xC3BC, 0x995E, 0xAF00, 0x2C9A, 0x1AC4, 0x4026, 0x7678,
    0x0A6B, 0x3C35, 0x66D7, 0x5089, 0xD313, 0xE54D, 0xBFAF, 0x89F1,
    0x4789, 0x71D7, 0x2B35, 0x1D6B, 0x9EF1, 0xA8AF, 0xF24D, 0xC413,
    0xB800, 0x8E5E, 0xD4BC, 0xE2E2, 0x6178, 0x5726, 0x0DC4, 0x3B9A,
    0xDC4D, 0xEA13, 0xB0F1, 0x86AF, 0x0535, 0x336B, 0x6989, 0x5FD7,
    0x23C4, 0x159A, 0x4F78, 0x7926, 0xFABC, 0xCCE2, 0x9600, 0xA05E,
    0x6E26, 0x5878, 0x029A, 0x34C4, 0xB75E, 0x8100, 0xDBE2, 0xEDBC,
    0x91AF, 0xA7F1, 0xFD13, 0xCB4D, 0x48D7, 0x7E89, 0x246B, 0x1235,
};

uint16_t qw_dnp3_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) crc = (uint16_t)((crc >> 8) ^ crc_table[(crc ^ p[i]) & 0xFFu]);
    return (uint16_t)~crc;
}

/* ---- Application function codes ------------------------------------------------------------ */

#define DATA QW_DNP3_FN_DATA
#define NORSP QW_DNP3_FN_NO_RESPONSE
#define RSP QW_DNP3_FN_RESPONSE

/* Operation classes, by the standard's own grouping of the codes:
 *  - transfer: read reads, write writes; a write of g50 (time) also sets the clock and a write
 *    of g34 (deadbands) or g0 (device attributes) is configuration, and a read or write of g70
 *    (file transport) is a file operation: dnp3.c adds those bits from the objects;
 *  - control (select, operate, direct operate): operate outputs;
 *  - freeze: copy counters into frozen-counter points, "and clear" also zeroes the counters:
 *    both change point values, so they are writes;
 *  - application control: restarts and initialize are restarts, start/stop application are
 *    start/stop;
 *  - configuration: save configuration, enable/disable unsolicited reporting, assign class,
 *    activate configuration change what and how the device reports: config;
 *  - time synchronization: delay measurement and record current time (LAN procedure);
 *  - file: every file function; security: authentication. */
const struct qw_dnp3_func qw_dnp3_funcs[256] = {
    [0] = {"confirm", 0, NORSP},
    [1] = {"read", QW_OP_READ, 0},
    [2] = {"write", QW_OP_WRITE, DATA},
    [3] = {"select", QW_OP_CONTROL, DATA},
    [4] = {"operate", QW_OP_CONTROL, DATA},
    [5] = {"direct_operate", QW_OP_CONTROL, DATA},
    [6] = {"direct_operate_no_ack", QW_OP_CONTROL, DATA | NORSP},
    [7] = {"immediate_freeze", QW_OP_WRITE, 0},
    [8] = {"immediate_freeze_no_ack", QW_OP_WRITE, NORSP},
    [9] = {"freeze_and_clear", QW_OP_WRITE, 0},
    [10] = {"freeze_and_clear_no_ack", QW_OP_WRITE, NORSP},
    [11] = {"freeze_at_time", QW_OP_WRITE, DATA},
    [12] = {"freeze_at_time_no_ack", QW_OP_WRITE, DATA | NORSP},
    [13] = {"cold_restart", QW_OP_RESTART, 0},
    [14] = {"warm_restart", QW_OP_RESTART, 0},
    [15] = {"initialize_data", QW_OP_RESTART, 0},
    [16] = {"initialize_application", QW_OP_RESTART, 0},
    [17] = {"start_application", QW_OP_START, 0},
    [18] = {"stop_application", QW_OP_STOP, 0},
    [19] = {"save_configuration", QW_OP_CONFIG, 0},
    /* which events the outstation pushes to this master, and in which class: the reporting of
     * the master's own session, set up by every master at start-up (docs/events/dnp3.md) */
    [20] = {"enable_unsolicited", QW_OP_SESSION, 0},
    [21] = {"disable_unsolicited", QW_OP_SESSION, 0},
    [22] = {"assign_class", QW_OP_SESSION, 0},
    [23] = {"delay_measure", QW_OP_TIMESYNC, 0},
    [24] = {"record_current_time", QW_OP_TIMESYNC, 0},
    [25] = {"open_file", QW_OP_FILE, DATA},
    [26] = {"close_file", QW_OP_FILE, DATA},
    [27] = {"delete_file", QW_OP_FILE, DATA},
    [28] = {"get_file_info", QW_OP_FILE, DATA},
    [29] = {"authenticate_file", QW_OP_FILE, DATA},
    [30] = {"abort_file", QW_OP_FILE, DATA},
    [31] = {"activate_config", QW_OP_CONFIG, DATA},
    [32] = {"authenticate_request", QW_OP_AUTH, DATA},
    [33] = {"authenticate_request_no_ack", QW_OP_AUTH, DATA | NORSP},
    [129] = {"response", 0, RSP},
    [130] = {"unsolicited_response", 0, RSP},
    [131] = {"authenticate_response", QW_OP_AUTH, RSP},
};

#undef DATA
#undef NORSP
#undef RSP

/* ---- Link layer function codes ------------------------------------------------------------- */

/* PRM = 1 (primary frames). 1 is obsolete in 1815-2012 but still named. */
const char *const qw_dnp3_link_primary[16] = {
    [0] = "reset_link_states",   [1] = "reset_user_process", [2] = "test_link_states",
    [3] = "confirmed_user_data", [4] = "unconfirmed_user_data", [9] = "request_link_status",
};

/* PRM = 0 (secondary frames). 14 is obsolete. */
const char *const qw_dnp3_link_secondary[16] = {
    [0] = "ack", [1] = "nack", [11] = "link_status", [14] = "link_not_functioning",
    [15] = "link_not_supported",
};

/* ---- Object library ------------------------------------------------------------------------ */

#define B1 QW_DNP3_SZ_BITS1
#define B2 QW_DNP3_SZ_BITS2
#define NONE QW_DNP3_SZ_NONE

/* Bytes per object for each variation (Annex A). Variations whose objects are variable-sized
 * and only travel with an object-size prefix (qualifier 0x5B: g70, g83, g85-g88, g90, most of
 * g120) are left 0: the prefix gives their size, and without one their size is unknown. */
static const uint8_t sz_g1[] = {[1] = B1, [2] = 1};
static const uint8_t sz_g2[] = {[1] = 1, [2] = 7, [3] = 3};
static const uint8_t sz_g3[] = {[1] = B2, [2] = 1};
static const uint8_t sz_g4[] = {[1] = 1, [2] = 7, [3] = 3};
static const uint8_t sz_g10[] = {[1] = B1, [2] = 1};
static const uint8_t sz_g11[] = {[1] = 1, [2] = 7};
static const uint8_t sz_g12[] = {[1] = 11, [2] = 11, [3] = B1};
static const uint8_t sz_g13[] = {[1] = 1, [2] = 7};
static const uint8_t sz_g20[] = {[1] = 5, [2] = 3, [3] = 5, [4] = 3,
                                 [5] = 4, [6] = 2, [7] = 4, [8] = 2};
static const uint8_t sz_g21[] = {[1] = 5,  [2] = 3, [3] = 5,  [4] = 3,  [5] = 11, [6] = 9,
                                 [7] = 11, [8] = 9, [9] = 4, [10] = 2, [11] = 4, [12] = 2};
static const uint8_t sz_g22[] = {[1] = 5,  [2] = 3, [3] = 5,  [4] = 3,
                                 [5] = 11, [6] = 9, [7] = 11, [8] = 9};
static const uint8_t sz_g30[] = {[1] = 5, [2] = 3, [3] = 4, [4] = 2, [5] = 5, [6] = 9};
static const uint8_t sz_g31[] = {[1] = 5, [2] = 3, [3] = 11, [4] = 9,
                                 [5] = 4, [6] = 2, [7] = 5,  [8] = 9};
static const uint8_t sz_g32[] = {[1] = 5, [2] = 3, [3] = 11, [4] = 9,
                                 [5] = 5, [6] = 9, [7] = 11, [8] = 15};
static const uint8_t sz_g34[] = {[1] = 2, [2] = 4, [3] = 4};
static const uint8_t sz_g40[] = {[1] = 5, [2] = 3, [3] = 5, [4] = 9};
static const uint8_t sz_g50[] = {[1] = 6, [2] = 10, [3] = 6, [4] = 11};
static const uint8_t sz_g51[] = {[1] = 6, [2] = 6};
static const uint8_t sz_g52[] = {[1] = 2, [2] = 2};
static const uint8_t sz_g60[] = {[0] = NONE, [1] = NONE, [2] = NONE, [3] = NONE, [4] = NONE};
static const uint8_t sz_g80[] = {[1] = B1};
static const uint8_t sz_g101[] = {[1] = 2, [2] = 4, [3] = 8};
static const uint8_t sz_g102[] = {[1] = 1};
static const uint8_t sz_g120[] = {[3] = 6, [4] = 2};
static const uint8_t sz_g121[] = {[1] = 7};
static const uint8_t sz_g122[] = {[1] = 7, [2] = 13};

#define G(name_, arr_) {name_, (uint8_t)(sizeof(arr_) / sizeof(arr_)[0]), arr_, 0}
#define GV(name_) {name_, 0, NULL, 0}

const struct qw_dnp3_group qw_dnp3_groups[256] = {
    [0] = {"device_attribute", 0, NULL, QW_DNP3_SZ_ATTRIBUTE},
    [1] = G("binary_input", sz_g1),
    [2] = G("binary_input_event", sz_g2),
    [3] = G("double_bit_binary_input", sz_g3),
    [4] = G("double_bit_binary_input_event", sz_g4),
    [10] = G("binary_output", sz_g10),
    [11] = G("binary_output_event", sz_g11),
    [12] = G("binary_output_command", sz_g12),
    [13] = G("binary_output_command_event", sz_g13),
    [20] = G("counter", sz_g20),
    [21] = G("frozen_counter", sz_g21),
    [22] = G("counter_event", sz_g22),
    [23] = G("frozen_counter_event", sz_g22), /* same layouts as g22 */
    [30] = G("analog_input", sz_g30),
    [31] = G("frozen_analog_input", sz_g31),
    [32] = G("analog_input_event", sz_g32),
    [33] = G("frozen_analog_input_event", sz_g32), /* same layouts as g32 */
    [34] = G("analog_input_deadband", sz_g34),
    [40] = G("analog_output_status", sz_g40),
    [41] = G("analog_output", sz_g40),         /* value + control status, same sizes as g40 */
    [42] = G("analog_output_event", sz_g32),   /* same layouts as g32 */
    [43] = G("analog_output_command_event", sz_g32),
    [50] = G("time_and_date", sz_g50),
    [51] = G("time_and_date_cto", sz_g51),
    [52] = G("time_delay", sz_g52),
    [60] = G("class_data", sz_g60),
    [70] = GV("file_control"),
    [80] = G("internal_indications", sz_g80),
    [81] = GV("device_storage"),
    [82] = GV("device_profile"),
    [83] = GV("private_registration"),
    [85] = GV("data_set_prototype"),
    [86] = GV("data_set_descriptor"),
    [87] = GV("data_set_present_value"),
    [88] = GV("data_set_snapshot"),
    [90] = GV("application_identifier"),
    [91] = GV("status_of_requested_operation"),
    [100] = GV("floating_point"),
    [101] = G("bcd_integer", sz_g101),
    [102] = G("unsigned_integer", sz_g102),
    [110] = {"octet_string", 0, NULL, QW_DNP3_SZ_VARIATION},
    [111] = {"octet_string_event", 0, NULL, QW_DNP3_SZ_VARIATION},
    [112] = {"virtual_terminal_output", 0, NULL, QW_DNP3_SZ_VARIATION},
    [113] = {"virtual_terminal_event", 0, NULL, QW_DNP3_SZ_VARIATION},
    [120] = G("authentication", sz_g120),
    [121] = G("security_statistic", sz_g121),
    [122] = G("security_statistic_event", sz_g122),
};

#undef G
#undef GV
#undef B1
#undef B2
#undef NONE

uint8_t qw_dnp3_object_size(uint8_t group, uint8_t variation)
{
    const struct qw_dnp3_group *g = &qw_dnp3_groups[group];
    if (!g->name) return QW_DNP3_SZ_UNKNOWN;
    if (!g->size) {
        /* g110-g113 variation 0 means "any length" and is only valid in a read request. */
        if (g->any_size == QW_DNP3_SZ_VARIATION && variation == 0) return QW_DNP3_SZ_UNKNOWN;
        return g->any_size;
    }
    return variation < g->nvar ? g->size[variation] : QW_DNP3_SZ_UNKNOWN;
}

/* ---- Names --------------------------------------------------------------------------------- */

const char *const qw_dnp3_iin_names[16] = {
    "broadcast",          "class_1_events",    "class_2_events",  "class_3_events",
    "need_time",          "local_control",     "device_trouble",  "device_restart",
    "no_func_code_support", "object_unknown",  "parameter_error", "event_buffer_overflow",
    "already_executing",  "config_corrupt",    "reserved_2",      "reserved_1",
};

static const char *const control_status_names[] = {
    [0] = "success",           [1] = "timeout",             [2] = "no_select",
    [3] = "format_error",      [4] = "not_supported",       [5] = "already_active",
    [6] = "hardware_error",    [7] = "local",               [8] = "too_many_objs",
    [9] = "not_authorized",    [10] = "automation_inhibit", [11] = "processing_limited",
    [12] = "out_of_range",     [13] = "downstream_local",   [14] = "already_complete",
    [15] = "blocked",          [16] = "canceled",           [17] = "blocked_other_master",
    [18] = "downstream_fail",
};

const char *qw_dnp3_control_status_name(uint8_t status)
{
    if (status < sizeof control_status_names / sizeof control_status_names[0] &&
        control_status_names[status])
        return control_status_names[status];
    if (status == 126) return "non_participating";
    if (status == 127) return "undefined";
    return "unknown";
}

const char *const qw_dnp3_crob_op_names[16] = {
    [0] = "nul", [1] = "pulse_on", [2] = "pulse_off", [3] = "latch_on", [4] = "latch_off",
};

const char *const qw_dnp3_crob_tcc_names[4] = {"nul", "close", "trip", "reserved"};

static const char *const file_status_names[] = {
    [0] = "success",         [1] = "permission_denied", [2] = "invalid_mode",
    [3] = "file_not_found",  [4] = "file_locked",       [5] = "too_many_open",
    [6] = "invalid_handle",  [7] = "write_block_size",  [8] = "comm_lost",
    [9] = "cannot_abort",    [16] = "not_opened",       [17] = "handle_expired",
    [18] = "buffer_overrun", [19] = "fatal",            [20] = "block_seq",
};

const char *qw_dnp3_file_status_name(uint8_t status)
{
    if (status < sizeof file_status_names / sizeof file_status_names[0] &&
        file_status_names[status])
        return file_status_names[status];
    if (status == 255) return "undefined";
    return "unknown";
}

const char *const qw_dnp3_file_mode_names[4] = {"null", "read", "write", "append"};

const char *const qw_dnp3_auth_var_names[16] = {
    [1] = "challenge",
    [2] = "reply",
    [3] = "aggressive_mode_request",
    [4] = "session_key_status_request",
    [5] = "session_key_status",
    [6] = "session_key_change",
    [7] = "error",
    [8] = "user_certificate",
    [9] = "mac",
    [10] = "user_status_change",
    [11] = "update_key_change_request",
    [12] = "update_key_change_reply",
    [13] = "update_key_change",
    [14] = "update_key_change_signature",
    [15] = "update_key_change_confirmation",
};

static const char *const auth_error_names[] = {
    [1] = "authentication_failed",
    [2] = "unexpected_response",
    [3] = "no_response",
    [4] = "aggressive_mode_not_supported",
    [5] = "mac_algorithm_not_supported",
    [6] = "key_wrap_algorithm_not_supported",
    [7] = "authorization_failed",
    [8] = "update_key_change_method_not_permitted",
    [9] = "invalid_signature",
    [10] = "invalid_certification_data",
    [11] = "unknown_user",
    [12] = "max_session_key_status_requests_exceeded",
};

const char *qw_dnp3_auth_error_name(uint8_t code)
{
    if (code < sizeof auth_error_names / sizeof auth_error_names[0] && auth_error_names[code])
        return auth_error_names[code];
    return "unknown";
}

const char *const qw_dnp3_key_status_names[5] = {
    [1] = "ok", [2] = "not_init", [3] = "comm_fail", [4] = "auth_fail",
};

/* g0 variations that name the device (Annex A, group 0), mapped to identity attributes (emit.h). */
static const char *const attribute_identity[256] = {
    [242] = "firmware", /* device manufacturer's software version */
    [243] = "hardware", /* device manufacturer's hardware version */
    [245] = "location", /* user-assigned location name */
    [246] = "user_id",  /* user-assigned ID code/number */
    [247] = "name",     /* user-assigned device name */
    [248] = "serial",   /* device serial number */
    [250] = "model",    /* device manufacturer's product name and model */
    [252] = "vendor",   /* device manufacturer's name */
};

const char *qw_dnp3_attribute_identity(uint8_t variation)
{
    return attribute_identity[variation];
}
