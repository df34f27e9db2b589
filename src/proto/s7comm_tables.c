/* S7comm protocol fact tables.
 *
 * S7comm (Siemens S7 communication, protocol id 0x32) has no public specification. The codes
 * below follow:
 *   [SZL]  Siemens, "System Software for S7-300/400, System and Standard Functions", Volume 2,
 *          chapter "System Status Lists (SSL)": SSL ids and their partial lists, the module
 *          identification (W#16#xy11) and component identification (W#16#xy1C) records.
 *   [S7P]  Siemens, "S7-300 Programmable Controller, CPU data" and the STEP 7 online help on
 *          operating modes (STOP, warm/hot/cold restart, HOLD) and block types.
 *   [WS]   The field value names of Wireshark's S7comm dissector (`tshark -G values`, field
 *          s7comm.*), by T. Wiens, used as the public reference for codes Siemens does not
 *          document: ROSCTR, parameter functions, userdata groups and subfunctions, syntax ids,
 *          transport sizes, areas, return codes, error classes.
 *   [SNAP7] D. Nardella, Snap7 documentation (snap7.sourceforge.net), "S7 protocol": PI service
 *          names and arguments (P_PROGRAM, "C " cold start, _INSE, _DELE, _MODU, _GARB).
 * Names are our own snake_case renderings. Operation bits are set only where the function
 * really does that (emit.h enum qw_op). */
#include "proto/s7comm_tables.h"

#include <string.h>

#include "engine/emit.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const rosctr_names[8] = {
    [1] = "job",      /* request */
    [2] = "ack",      /* acknowledgement without data */
    [3] = "ack_data", /* response with data */
    [7] = "userdata", /* request, response or push of the userdata services */
};

const char *s7_rosctr_name(uint8_t rosctr)
{
    const char *n = rosctr < N_OF(rosctr_names) ? rosctr_names[rosctr] : NULL;
    return n ? n : "unknown";
}

/* Job / Ack_Data functions [WS]. Uploads read a block out of the PLC and downloads write one
 * into it: both are program operations (as UMAS uploads are in modbus.c). PI services get their
 * bits from the service name (s7_pi_lookup). CPU services (0x00) do nothing we can name. */
static const struct s7_name_ops functions[256] = {
    [0x00] = {"cpu_services", 0},
    [0x04] = {"read_var", QW_OP_READ},
    [0x05] = {"write_var", QW_OP_WRITE},
    [0x1a] = {"request_download", QW_OP_PROGRAM},
    [0x1b] = {"download_block", QW_OP_PROGRAM},
    [0x1c] = {"download_ended", QW_OP_PROGRAM},
    [0x1d] = {"start_upload", QW_OP_PROGRAM},
    [0x1e] = {"upload", QW_OP_PROGRAM},
    [0x1f] = {"end_upload", QW_OP_PROGRAM},
    [0x28] = {"pi_service", 0},
    [0x29] = {"plc_stop", QW_OP_STOP},
    [0xf0] = {"setup_communication", QW_OP_SESSION},
};

const struct s7_name_ops *s7_function(uint8_t code)
{
    return functions[code].name ? &functions[code] : NULL;
}

static const char *const group_names[16] = {
    [0x0] = "mode_transition",     [0x1] = "programmer_commands", [0x2] = "cyclic_data",
    [0x3] = "block_functions",     [0x4] = "cpu_functions",       [0x5] = "security",
    [0x6] = "pbc_bsend_brecv",     [0x7] = "time_functions",      [0xf] = "nc_programming",
};

const char *s7_ud_group_name(uint8_t group)
{
    const char *n = group < N_OF(group_names) ? group_names[group] : NULL;
    return n ? n : "unknown";
}

/* Group 0: the CPU pushes its new operating mode [S7P]. A notification, not an operation. */
static const struct s7_name_ops sub_mode[] = {
    [0x00] = {"mode_stop", 0},
    [0x01] = {"mode_warm_restart", 0},
    [0x02] = {"mode_run", 0},
    [0x03] = {"mode_hot_restart", 0},
    [0x04] = {"mode_hold", 0},
    [0x06] = {"mode_cold_restart", 0},
    [0x09] = {"mode_run_redundant", 0},
    [0x0b] = {"mode_link_up", 0},
    [0x0c] = {"mode_update", 0},
};

/* Group 1: programmer commands, i.e. the test and commissioning ("TIS") jobs of STEP 7 [WS].
 * Monitoring jobs are diagnostics; modify and force write process values (force also overrides
 * the outputs the program computes); breakpoints and exit-HOLD drive program execution; memory
 * reset erases the user program; flash LED makes a module identify itself. */
static const struct s7_name_ops sub_prog[] = {
    [0x01] = {"block_status", QW_OP_DIAGNOSTIC},
    [0x02] = {"variable_status", QW_OP_READ},
    [0x03] = {"output_istack", QW_OP_DIAGNOSTIC},
    [0x04] = {"output_bstack", QW_OP_DIAGNOSTIC},
    [0x05] = {"output_lstack", QW_OP_DIAGNOSTIC},
    [0x06] = {"time_measurement", QW_OP_DIAGNOSTIC},
    [0x07] = {"force_selection", QW_OP_DIAGNOSTIC},
    [0x08] = {"modify_variable", QW_OP_WRITE},
    [0x09] = {"force", QW_OP_WRITE | QW_OP_CONTROL},
    [0x0a] = {"breakpoint", QW_OP_CONTROL},
    [0x0b] = {"exit_hold", QW_OP_CONTROL},
    [0x0c] = {"memory_reset", QW_OP_PROGRAM | QW_OP_RESTART},
    [0x0d] = {"disable_job", QW_OP_DIAGNOSTIC},
    [0x0e] = {"enable_job", QW_OP_DIAGNOSTIC},
    [0x0f] = {"delete_job", QW_OP_DIAGNOSTIC},
    [0x10] = {"read_job_list", QW_OP_DIAGNOSTIC},
    [0x11] = {"read_job", QW_OP_DIAGNOSTIC},
    [0x12] = {"replace_job", QW_OP_DIAGNOSTIC},
    [0x13] = {"block_status_v2", QW_OP_DIAGNOSTIC},
    [0x16] = {"flash_led", QW_OP_IDENTIFY},
};

/* Group 2: cyclic reads of memory areas, pushed by the CPU [WS]. */
static const struct s7_name_ops sub_cyclic[] = {
    [0x01] = {"cyclic_transfer", QW_OP_READ},
    [0x04] = {"unsubscribe", QW_OP_READ},
    [0x05] = {"change_driven_transfer", QW_OP_READ},
    [0x07] = {"change_driven_transfer_modify", QW_OP_READ},
    [0x08] = {"read_data_record", QW_OP_READ},
};

/* Group 3: block directory and block header reads [WS]. */
static const struct s7_name_ops sub_block[] = {
    [0x01] = {"list_blocks", QW_OP_READ},
    [0x02] = {"list_blocks_of_type", QW_OP_READ},
    [0x03] = {"get_block_info", QW_OP_READ},
};

/* Group 4: CPU functions [WS]. SZL reads are refined per SZL list (s7_szl_list); the message
 * service subscribes to alarms; lock/unlock change which alarms the CPU reports; an alarm
 * acknowledgement is an operator action on the process. */
static const struct s7_name_ops sub_cpu[] = {
    [0x01] = {"read_szl", QW_OP_DIAGNOSTIC},
    [0x02] = {"message_service", QW_OP_DIAGNOSTIC},
    [0x03] = {"diagnostic_message", QW_OP_DIAGNOSTIC},
    [0x05] = {"alarm8_indication", QW_OP_DIAGNOSTIC},
    [0x06] = {"notify_indication", QW_OP_DIAGNOSTIC},
    [0x07] = {"alarm8_lock", QW_OP_CONFIG},
    [0x08] = {"alarm8_unlock", QW_OP_CONFIG},
    [0x09] = {"scan_indication", QW_OP_DIAGNOSTIC},
    [0x0b] = {"alarm_ack", QW_OP_CONTROL},
    [0x0c] = {"alarm_ack_indication", QW_OP_DIAGNOSTIC},
    [0x0d] = {"alarm_lock_indication", QW_OP_DIAGNOSTIC},
    [0x0e] = {"alarm_unlock_indication", QW_OP_DIAGNOSTIC},
    [0x11] = {"alarm_sq_indication", QW_OP_DIAGNOSTIC},
    [0x12] = {"alarm_s_indication", QW_OP_DIAGNOSTIC},
    [0x13] = {"alarm_query", QW_OP_DIAGNOSTIC},
    [0x16] = {"notify8_indication", QW_OP_DIAGNOSTIC},
};

/* Group 5: the protection-level password [WS]; 2 withdraws it (ends the legitimation). */
static const struct s7_name_ops sub_security[] = {
    [0x01] = {"plc_password", QW_OP_AUTH},
    [0x02] = {"clear_password", QW_OP_AUTH},
};

/* Group 6: BSEND/BRECV program-to-program block transfer: user data between two programs,
 * nothing an engineer does to the PLC, so no operation bits. */
static const struct s7_name_ops sub_pbc[] = {
    [0x01] = {"bsend_brecv", 0},
};

/* Group 7: the CPU clock [WS]. */
static const struct s7_name_ops sub_time[] = {
    [0x01] = {"read_clock", QW_OP_TIMESYNC},
    [0x02] = {"set_clock", QW_OP_TIMESYNC},
    [0x03] = {"read_clock_following", QW_OP_TIMESYNC},
    [0x04] = {"set_clock_2", QW_OP_TIMESYNC},
};

/* Group 15: NC (SINUMERIK) program file transfer [WS]. */
static const struct s7_name_ops sub_nc[] = {
    [0x01] = {"nc_request_download", QW_OP_PROGRAM | QW_OP_FILE},
    [0x02] = {"nc_download_block", QW_OP_PROGRAM | QW_OP_FILE},
    [0x03] = {"nc_continue_download", QW_OP_PROGRAM | QW_OP_FILE},
    [0x04] = {"nc_download_ended", QW_OP_PROGRAM | QW_OP_FILE},
    [0x06] = {"nc_start_upload", QW_OP_PROGRAM | QW_OP_FILE},
    [0x07] = {"nc_upload", QW_OP_PROGRAM | QW_OP_FILE},
    [0x08] = {"nc_continue_upload", QW_OP_PROGRAM | QW_OP_FILE},
};

struct sub_table {
    const struct s7_name_ops *rows;
    size_t n;
};

static const struct sub_table subs[16] = {
    [0x0] = {sub_mode, N_OF(sub_mode)},         [0x1] = {sub_prog, N_OF(sub_prog)},
    [0x2] = {sub_cyclic, N_OF(sub_cyclic)},     [0x3] = {sub_block, N_OF(sub_block)},
    [0x4] = {sub_cpu, N_OF(sub_cpu)},           [0x5] = {sub_security, N_OF(sub_security)},
    [0x6] = {sub_pbc, N_OF(sub_pbc)},           [0x7] = {sub_time, N_OF(sub_time)},
    [0xf] = {sub_nc, N_OF(sub_nc)},
};

const struct s7_name_ops *s7_ud_subfunction(uint8_t group, uint8_t subfunc)
{
    if (group >= N_OF(subs) || !subs[group].rows || subfunc >= subs[group].n) return NULL;
    const struct s7_name_ops *r = &subs[group].rows[subfunc];
    return r->name ? r : NULL;
}

static const char *const ud_type_names[16] = {
    [0x0] = "push",    [0x3] = "nc_push",    [0x4] = "request",
    [0x7] = "nc_request", [0x8] = "response", [0xb] = "nc_response",
};

const char *s7_ud_type_name(uint8_t type)
{
    const char *n = type < N_OF(ud_type_names) ? ud_type_names[type] : NULL;
    return n ? n : "unknown";
}

const char *s7_error_class_name(uint8_t cls)
{
    switch (cls) {
    case 0x00: return "no_error";
    case 0x81: return "application_relationship";
    case 0x82: return "object_definition";
    case 0x83: return "no_resources_available";
    case 0x84: return "error_on_service_processing";
    case 0x85: return "error_on_supplies";
    case 0x87: return "access_error";
    default: return "unknown";
    }
}

const char *s7_return_code_name(uint8_t rc)
{
    switch (rc) {
    case 0x00: return "reserved";
    case 0x01: return "hardware_fault";
    case 0x03: return "access_denied";
    case 0x05: return "address_out_of_range";
    case 0x06: return "data_type_not_supported";
    case 0x07: return "data_type_inconsistent";
    case 0x0a: return "object_does_not_exist";
    case 0xff: return "success";
    default: return "unknown";
    }
}

const char *s7_syntax_name(uint8_t syntax)
{
    switch (syntax) {
    case 0x10: return "s7any";
    case 0x13: return "pbc_r_id";
    case 0x15: return "alarm_lockfree";
    case 0x16: return "alarm_ind";
    case 0x19: return "alarm_ack";
    case 0x1a: return "alarm_queryreq";
    case 0x1c: return "notify_ind";
    case 0x82: return "nck";
    case 0x83: return "nck_m";
    case 0x84: return "nck_i";
    case 0xa2: return "drive_es_any";
    case 0xb0: return "dbread";
    case 0xb2: return "s7_1200_symbolic";
    default: return "unknown";
    }
}

static const char *const transport_sizes[33] = {
    [1] = "bit",        [2] = "byte",   [3] = "char",         [4] = "word",
    [5] = "int",        [6] = "dword",  [7] = "dint",         [8] = "real",
    [9] = "date",       [10] = "tod",   [11] = "time",        [12] = "s5time",
    [15] = "date_and_time", [28] = "counter", [29] = "timer", [30] = "iec_timer",
    [31] = "iec_counter", [32] = "hs_counter",
};

const char *s7_transport_size_name(uint8_t ts)
{
    const char *n = ts < N_OF(transport_sizes) ? transport_sizes[ts] : NULL;
    return n ? n : "unknown";
}

const char *s7_data_transport_size_name(uint8_t ts)
{
    switch (ts) {
    case 0x00: return "null";
    case 0x03: return "bit";
    case 0x04: return "byte_word_dword";
    case 0x05: return "integer";
    case 0x06: return "dinteger";
    case 0x07: return "real";
    case 0x09: return "octet_string";
    case 0x11: return "nck_address1";
    case 0x12: return "nck_address2";
    default: return "unknown";
    }
}

const char *s7_area_name(uint8_t area)
{
    switch (area) {
    case 0x01: return "data_record";
    case 0x03: return "s7_200_system_info";
    case 0x05: return "s7_200_system_flags";
    case 0x06: return "s7_200_analog_inputs";
    case 0x07: return "s7_200_analog_outputs";
    case 0x1c: return "counters";
    case 0x1d: return "timers";
    case 0x1e: return "s7_200_iec_counters";
    case 0x1f: return "s7_200_iec_timers";
    case 0x80: return "peripheral";
    case 0x81: return "inputs";
    case 0x82: return "outputs";
    case 0x83: return "flags";
    case 0x84: return "data_blocks";
    case 0x85: return "instance_data_blocks";
    case 0x86: return "local_data";
    case 0x87: return "previous_local_data";
    default: return "unknown";
    }
}

/* Block types as their two ASCII hex digits in file names and block lists [S7P], [WS]. */
const char *s7_block_type_name(const uint8_t two[2])
{
    if (two[0] != '0') return NULL;
    switch (two[1]) {
    case '8': return "OB";
    case 'A': return "DB";
    case 'B': return "SDB";
    case 'C': return "FC";
    case 'D': return "SFC";
    case 'E': return "FB";
    case 'F': return "SFB";
    default: return NULL;
    }
}

/* SZL partial list numbers [SZL]. Identification and capability lists are identity reads;
 * state, LED, diagnostic buffer and module status lists are diagnostics. */
static const struct s7_name_ops szl_lists[256] = {
    [0x00] = {"szl_list", QW_OP_IDENTIFY},
    [0x11] = {"module_identification", QW_OP_IDENTIFY},
    [0x12] = {"cpu_characteristics", QW_OP_IDENTIFY},
    [0x13] = {"user_memory_areas", QW_OP_IDENTIFY},
    [0x14] = {"system_areas", QW_OP_IDENTIFY},
    [0x15] = {"block_types", QW_OP_IDENTIFY},
    [0x19] = {"module_led_status", QW_OP_DIAGNOSTIC},
    [0x1c] = {"component_identification", QW_OP_IDENTIFY},
    [0x22] = {"interrupt_status", QW_OP_DIAGNOSTIC},
    [0x24] = {"operating_mode", QW_OP_DIAGNOSTIC},
    [0x25] = {"process_image_partitions", QW_OP_DIAGNOSTIC},
    [0x31] = {"communication_capabilities", QW_OP_IDENTIFY},
    [0x32] = {"communication_status", QW_OP_DIAGNOSTIC},
    [0x37] = {"ethernet_details", QW_OP_IDENTIFY},
    [0x74] = {"led_status", QW_OP_DIAGNOSTIC},
    [0x90] = {"dp_master_system", QW_OP_DIAGNOSTIC},
    [0x91] = {"module_status", QW_OP_DIAGNOSTIC},
    [0x92] = {"rack_station_status", QW_OP_DIAGNOSTIC},
    [0x94] = {"rack_station_status_pn", QW_OP_DIAGNOSTIC},
    [0x95] = {"dp_master_system_extended", QW_OP_DIAGNOSTIC},
    [0x96] = {"module_status_pn", QW_OP_DIAGNOSTIC},
    [0x9c] = {"tool_changer", QW_OP_DIAGNOSTIC},
    [0xa0] = {"diagnostic_buffer", QW_OP_DIAGNOSTIC},
    [0xb1] = {"module_diagnostic_data", QW_OP_DIAGNOSTIC},
    [0xb2] = {"module_diagnostic_data_by_slot", QW_OP_DIAGNOSTIC},
    [0xb3] = {"module_diagnostic_data_by_address", QW_OP_DIAGNOSTIC},
    [0xb4] = {"dp_slave_diagnostic_data", QW_OP_DIAGNOSTIC},
};

const struct s7_name_ops *s7_szl_list(uint8_t number)
{
    return szl_lists[number].name ? &szl_lists[number] : NULL;
}

/* PI services [SNAP7], [WS]. P_PROGRAM is resolved by its argument. _INSE activates blocks
 * just downloaded, _DELE deletes blocks, _MODU copies RAM to ROM (the program in the load
 * memory), _GARB compresses (reorganises) the program memory: all change what program the PLC
 * holds. The _N_ services belong to SINUMERIK NC controllers: log in/out, file operations. */
static const struct s7_pi_service pi_services[] = {
    {"P_PROGRAM", "start", QW_OP_START, 0},
    {"_INSE", "insert_blocks", QW_OP_PROGRAM, 1},
    {"_DELE", "delete_blocks", QW_OP_PROGRAM, 1},
    {"_MODU", "copy_ram_to_rom", QW_OP_PROGRAM, 0},
    {"_GARB", "compress_memory", QW_OP_PROGRAM, 0},
    {"_N_LOGIN_", "nc_login", QW_OP_AUTH, 0},
    {"_N_LOGOUT", "nc_logout", QW_OP_AUTH, 0},
    {"_N_CANCEL", "nc_cancel", QW_OP_CONTROL, 0},
    {"_N_SELECT", "nc_select_program", QW_OP_PROGRAM, 0},
    {"_N_F_DELE", "nc_delete_file", QW_OP_FILE, 0},
    {"_N_F_COPY", "nc_copy_file", QW_OP_FILE, 0},
    {"_N_F_PROT", "nc_protect_file", QW_OP_FILE, 0},
    {"_N_F_RENA", "nc_rename_file", QW_OP_FILE, 0},
    {"_N_F_XFER", "nc_transfer_file", QW_OP_FILE, 0},
    {"_N_F_OPEN", "nc_open_file", QW_OP_FILE, 0},
    {"_N_F_CLOS", "nc_close_file", QW_OP_FILE, 0},
};

const struct s7_pi_service *s7_pi_lookup(const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < N_OF(pi_services); i++) {
        const char *s = pi_services[i].service;
        if (strlen(s) == len && memcmp(s, name, len) == 0) return &pi_services[i];
    }
    return NULL;
}

const char *s7_pi_program_action(const uint8_t *arg, size_t len, uint32_t *ops)
{
    if (len >= 1 && arg[0] == 'C') {
        *ops = QW_OP_START | QW_OP_RESTART;
        return "cold_restart";
    }
    *ops = QW_OP_START;
    return "start";
}
