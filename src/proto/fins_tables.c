/* Omron FINS fact tables: see fins_tables.h for the sources. */
#include "proto/fins_tables.h"

#include <stddef.h>

#include "engine/emit.h"

#define RD QW_OP_READ
#define WR QW_OP_WRITE
#define CFG QW_OP_CONFIG
#define DIAG QW_OP_DIAGNOSTIC
#define FILEOP QW_OP_FILE

/* Commands, sorted by code. Why some classes are what they are:
 *   - a program area read (0306) is an upload of the logic, a write (0307) a download, a clear
 *     (0308) erases it: all three are program operations, as uploads are for S7 and UMAS;
 *   - program area protect and its clear (0304, 0305) carry the protect password: auth + config;
 *   - a clock write (0702) sets the time and changes the controller's state: timesync + config;
 *   - error clear (2101) acts on the controller (it releases a fault so it may run on): control;
 *     error log clear (2103) erases the record of faults: config;
 *   - forced set/reset (2301, 2302) overrides I/O whatever the program says: write + control;
 *   - the transfers between file memory and the controller (220A-220C) add write, config or
 *     program when the data goes into the controller (fins.c, by the parameter code), a single
 *     file write (2203) adds program for a program file (.OBJ). */
static const struct fins_command commands[] = {
    {0x0101, "memory_area_read", RD},
    {0x0102, "memory_area_write", WR},
    {0x0103, "memory_area_fill", WR},
    {0x0104, "multiple_memory_area_read", RD},
    {0x0105, "memory_area_transfer", WR},
    {0x0201, "parameter_area_read", RD},
    {0x0202, "parameter_area_write", CFG},
    {0x0203, "parameter_area_clear", CFG},
    {0x0220, "data_link_table_read", RD},
    {0x0221, "data_link_table_write", CFG},
    {0x0304, "program_area_protect", QW_OP_AUTH | CFG},
    {0x0305, "program_area_protect_clear", QW_OP_AUTH | CFG},
    {0x0306, "program_area_read", QW_OP_PROGRAM},
    {0x0307, "program_area_write", QW_OP_PROGRAM},
    {0x0308, "program_area_clear", QW_OP_PROGRAM},
    {0x0401, "run", QW_OP_START},
    {0x0402, "stop", QW_OP_STOP},
    {0x0403, "reset", QW_OP_RESTART},
    {0x0501, "controller_data_read", QW_OP_IDENTIFY},
    {0x0502, "connection_data_read", QW_OP_IDENTIFY},
    {0x0601, "controller_status_read", DIAG},
    {0x0602, "network_status_read", DIAG},
    {0x0603, "data_link_status_read", DIAG},
    {0x0620, "cycle_time_read", DIAG},
    {0x0701, "clock_read", QW_OP_TIMESYNC},
    {0x0702, "clock_write", QW_OP_TIMESYNC | CFG},
    {0x0801, "loopback_test", DIAG},
    {0x0802, "broadcast_test_results_read", DIAG},
    {0x0803, "broadcast_test_data_send", DIAG},
    {0x0920, "message_read_clear", DIAG},
    {0x0C01, "access_right_acquire", QW_OP_SESSION},
    {0x0C02, "access_right_forced_acquire", QW_OP_SESSION},
    {0x0C03, "access_right_release", QW_OP_SESSION},
    {0x2101, "error_clear", DIAG | QW_OP_CONTROL},
    {0x2102, "error_log_read", DIAG},
    {0x2103, "error_log_clear", DIAG | CFG},
    {0x2201, "file_name_read", FILEOP},
    {0x2202, "single_file_read", FILEOP},
    {0x2203, "single_file_write", FILEOP},
    {0x2204, "file_memory_format", FILEOP | CFG},
    {0x2205, "file_delete", FILEOP},
    {0x2206, "volume_label_create_delete", FILEOP},
    {0x2207, "file_copy", FILEOP},
    {0x2208, "file_name_change", FILEOP},
    {0x2209, "file_data_check", FILEOP},
    {0x220A, "memory_area_file_transfer", FILEOP},
    {0x220B, "parameter_area_file_transfer", FILEOP},
    {0x220C, "program_area_file_transfer", FILEOP},
    {0x220F, "file_memory_index_read", FILEOP},
    {0x2210, "file_memory_read", FILEOP},
    {0x2211, "file_memory_write", FILEOP},
    {0x2215, "directory_create_delete", FILEOP},
    {0x2301, "forced_set_reset", WR | QW_OP_CONTROL},
    {0x2302, "forced_set_reset_cancel", WR | QW_OP_CONTROL},
    {0x230A, "multiple_forced_status_read", RD},
    {0x2601, "name_set", CFG},
    {0x2602, "name_delete", CFG},
    {0x2603, "name_read", RD},
};

const struct fins_command *fins_command_of(uint16_t code)
{
    size_t lo = 0, hi = sizeof commands / sizeof commands[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (commands[mid].code == code) return &commands[mid];
        if (commands[mid].code < code) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Memory areas by code. CS/CJ mode (W342): 0x30-0x33 bit, 0xB0-0xB3 word (CIO, WR, HR, AR),
 * 0x70-0x72 / 0xF0-0xF2 the same with forced status, 0x09/0x49/0x89 timers and counters, 0x02
 * / 0x82 DM, 0x20-0x2C / 0xA0-0xAC EM banks 0-C, 0x0A / 0x98 the current EM bank, 0x06 / 0x46
 * task flags, 0x07 clock pulses and condition flags, 0xDC index registers (4 bytes), 0xBC
 * data registers. CV mode (W227): 0x00/0x40/0x80/0xC0 CIO, 0x01/0x41/0x81 timers and counters,
 * 0x03/0x43 transitions, 0x04/0x44/0x84 steps, 0x05/0x85 forced status, 0x90-0x97 EM banks
 * 0-7, 0x9C the current EM bank number, 0x1B action flags, 0xDD interrupt status. */
#define BIT(a) {(a), "bit", 1}
#define WORD(a) {(a), "word", 2}
static const struct fins_area areas[256] = {
    [0x00] = BIT("CIO"),
    [0x40] = {"CIO", "bit_forced", 1},
    [0x80] = WORD("CIO"),
    [0xC0] = {"CIO", "word_forced", 4},
    [0x01] = {"TIM_CNT", "flag", 1},
    [0x41] = {"TIM_CNT", "flag_forced", 1},
    [0x81] = {"TIM_CNT", "pv", 2},
    [0x03] = {"TN", "flag", 1},
    [0x43] = {"TN", "flag_forced", 1},
    [0x04] = {"ST", "flag", 1},
    [0x44] = {"ST", "status", 1},
    [0x84] = {"ST", "pv", 2},
    [0x05] = {"FORCED", "bit", 1},
    [0x85] = {"FORCED", "word", 2},
    [0x1B] = {"AC", "flag", 1},
    [0xDD] = {"INTERRUPT", "register", 4},
    [0x9C] = {"EM_BANK", "register", 2},
    [0x30] = BIT("CIO"),
    [0x31] = BIT("WR"),
    [0x32] = BIT("HR"),
    [0x33] = BIT("AR"),
    [0x70] = {"CIO", "bit_forced", 1},
    [0x71] = {"WR", "bit_forced", 1},
    [0x72] = {"HR", "bit_forced", 1},
    [0xB0] = WORD("CIO"),
    [0xB1] = WORD("WR"),
    [0xB2] = WORD("HR"),
    [0xB3] = WORD("AR"),
    [0xF0] = {"CIO", "word_forced", 4},
    [0xF1] = {"WR", "word_forced", 4},
    [0xF2] = {"HR", "word_forced", 4},
    [0x09] = {"TIM_CNT", "flag", 1},
    [0x49] = {"TIM_CNT", "flag_forced", 1},
    [0x89] = {"TIM_CNT", "pv", 2},
    [0x02] = BIT("DM"),
    [0x82] = WORD("DM"),
    [0x20] = BIT("EM0"), [0x21] = BIT("EM1"), [0x22] = BIT("EM2"), [0x23] = BIT("EM3"),
    [0x24] = BIT("EM4"), [0x25] = BIT("EM5"), [0x26] = BIT("EM6"), [0x27] = BIT("EM7"),
    [0x28] = BIT("EM8"), [0x29] = BIT("EM9"), [0x2A] = BIT("EMA"), [0x2B] = BIT("EMB"),
    [0x2C] = BIT("EMC"),
    [0xA0] = WORD("EM0"), [0xA1] = WORD("EM1"), [0xA2] = WORD("EM2"), [0xA3] = WORD("EM3"),
    [0xA4] = WORD("EM4"), [0xA5] = WORD("EM5"), [0xA6] = WORD("EM6"), [0xA7] = WORD("EM7"),
    [0xA8] = WORD("EM8"), [0xA9] = WORD("EM9"), [0xAA] = WORD("EMA"), [0xAB] = WORD("EMB"),
    [0xAC] = WORD("EMC"),
    [0x90] = WORD("EM0"), [0x91] = WORD("EM1"), [0x92] = WORD("EM2"), [0x93] = WORD("EM3"),
    [0x94] = WORD("EM4"), [0x95] = WORD("EM5"), [0x96] = WORD("EM6"), [0x97] = WORD("EM7"),
    [0x0A] = BIT("EM"),
    [0x98] = WORD("EM"),
    [0x06] = {"TK", "flag", 1},
    [0x46] = {"TK", "status", 1},
    [0x07] = {"CLOCK_PULSES", "bit", 1},
    [0xDC] = {"IR", "register", 4},
    [0xBC] = {"DR", "register", 2},
};

const struct fins_area *fins_area_of(uint8_t code)
{
    return areas[code].area ? &areas[code] : NULL;
}

static const char *const main_codes[0x41] = {
    [0x00] = "normal_completion",
    [0x01] = "local_node_error",
    [0x02] = "destination_node_error",
    [0x03] = "controller_error",
    [0x04] = "service_unsupported",
    [0x05] = "routing_table_error",
    [0x10] = "command_format_error",
    [0x11] = "parameter_error",
    [0x20] = "read_not_possible",
    [0x21] = "write_not_possible",
    [0x22] = "not_executable_in_current_mode",
    [0x23] = "no_such_device",
    [0x24] = "cannot_start_stop",
    [0x25] = "unit_error",
    [0x26] = "command_error",
    [0x30] = "access_right_error",
    [0x40] = "abort",
};

const char *fins_main_code_name(uint8_t main_code)
{
    return main_code < sizeof main_codes / sizeof main_codes[0] ? main_codes[main_code] : NULL;
}

const char *fins_param_area_name(uint16_t code)
{
    switch (code) {
    case 0x8010: return "pc_setup";
    case 0x8011: return "peripheral_device_settings";
    case 0x8012: return "io_table";
    case 0x8013: return "routing_tables";
    case 0x8002: return "cpu_bus_unit_settings";
    default: return NULL;
    }
}

const char *fins_tcp_command_name(uint32_t cmd)
{
    switch (cmd) {
    case 0: return "node_address_data_send_client";
    case 1: return "node_address_data_send_server";
    case 2: return "frame_send";
    case 3: return "frame_send_error_notification";
    case 6: return "connection_confirmation";
    default: return NULL;
    }
}

const char *fins_tcp_error_name(uint32_t err)
{
    switch (err) {
    case 0x00: return "normal";
    case 0x01: return "header_not_fins";
    case 0x02: return "data_length_too_long";
    case 0x03: return "command_not_supported";
    case 0x20: return "all_connections_in_use";
    case 0x21: return "node_already_connected";
    case 0x22: return "protected_node_unspecified_ip";
    case 0x23: return "client_node_out_of_range";
    case 0x24: return "same_node_as_server";
    case 0x25: return "no_node_address_available";
    default: return NULL;
    }
}

const char *fins_run_mode_name(uint8_t mode)
{
    switch (mode) {
    case 0x00: return "program";
    case 0x01: return "debug";
    case 0x02: return "monitor";
    case 0x04: return "run";
    default: return NULL;
    }
}

const char *fins_cpu_status_name(uint8_t status)
{
    switch (status) {
    case 0x00: return "stop";
    case 0x01: return "run";
    case 0x80: return "standby";
    default: return NULL;
    }
}

const char *fins_force_spec_name(uint16_t spec)
{
    switch (spec) {
    case 0x0000: return "force_reset";
    case 0x0001: return "force_set";
    case 0x8000: return "release_off";
    case 0x8001: return "release_on";
    case 0xFFFF: return "release";
    default: return NULL;
    }
}

const char *fins_transfer_name(uint16_t code)
{
    switch (code) {
    case 0: return "to_file";
    case 1: return "from_file";
    case 2: return "compare";
    default: return NULL;
    }
}
