/* Beckhoff ADS/AMS fact tables (see ads_tables.h).
 *
 * Sources: Beckhoff Information System, "TwinCAT ADS" (ADS specification: AMS/TCP header, AMS
 * header, the ten ADS commands and their data, ADS states, transmission modes), "ADS Return
 * Codes", "Index groups" (PLC and reserved groups) and "AMS port numbers"; the system service's
 * index groups as Beckhoff's TcAdsDef.h and its public ADS library name them (file, registry,
 * route services). */
#include "proto/ads_tables.h"

#include <stddef.h>

#include "engine/emit.h"

#define ANY 0xFFFFFFFFu /* no exact size: at least the minimum */

/* Data sizes ([ADS spec], the request and response of each command). A DeviceNotification
 * is a request with no response. */
const struct ads_cmd_info ads_cmds[ADS_CMD_COUNT] = {
    [ADS_CMD_INVALID] = {"invalid", 0, 0, ANY, 0, ANY},
    [ADS_CMD_READ_DEVICE_INFO] = {"read_device_info", QW_OP_IDENTIFY, 0, 0, 24, 24},
    [ADS_CMD_READ] = {"read", QW_OP_READ, 12, 12, 8, ANY},
    [ADS_CMD_WRITE] = {"write", QW_OP_WRITE, 12, ANY, 4, 4},
    [ADS_CMD_READ_STATE] = {"read_state", QW_OP_READ, 0, 0, 8, 8},
    [ADS_CMD_WRITE_CONTROL] = {"write_control", QW_OP_CONTROL, 8, ANY, 4, 4},
    [ADS_CMD_ADD_NOTIFICATION] = {"add_device_notification", QW_OP_READ, 40, 40, 8, 8},
    [ADS_CMD_DELETE_NOTIFICATION] = {"delete_device_notification", QW_OP_SESSION, 4, 4, 4, 4},
    [ADS_CMD_NOTIFICATION] = {"device_notification", 0, 8, ANY, 0, ANY},
    [ADS_CMD_READ_WRITE] = {"read_write", QW_OP_READ, 16, ANY, 8, ANY},
};

static const char *const ads_states[] = {
    "invalid", "idle",     "reset",        "init",         "start",    "run",
    "stop",    "savecfg",  "loadcfg",      "powerfailure", "powergood", "error",
    "shutdown", "suspend", "resume",       "config",       "reconfig", "stopping",
    "incompatible", "exception",
};

const char *ads_state_name(uint16_t state)
{
    return state < sizeof ads_states / sizeof ads_states[0] ? ads_states[state] : NULL;
}

static const char *const ads_transmodes[] = {
    "no_transmission", "client_cycle",  "client_on_change", "server_cycle",
    "server_on_change", "server_cycle2", "server_on_change2",
};

const char *ads_transmode_name(uint32_t mode)
{
    if (mode == 10) return "client_1_request";
    return mode < sizeof ads_transmodes / sizeof ads_transmodes[0] ? ads_transmodes[mode] : NULL;
}

struct ads_code {
    uint32_t code;
    const char *name;
};

/* Return codes ("ADS Return Codes"): global (0x00-0x1E), router (0x500-0x50D), ADS device
 * (0x700-0x72F) and ADS client (0x740-0x756) errors. Sorted by code. */
static const struct ads_code ads_errors[] = {
    {0x000, "no_error"},
    {0x001, "internal_error"},
    {0x002, "no_realtime"},
    {0x003, "allocation_locked_memory_error"},
    {0x004, "mailbox_full"},
    {0x005, "wrong_receive_hmsg"},
    {0x006, "target_port_not_found"},
    {0x007, "target_machine_not_found"},
    {0x008, "unknown_command_id"},
    {0x009, "bad_task_id"},
    {0x00A, "no_io"},
    {0x00B, "unknown_ams_command"},
    {0x00C, "win32_error"},
    {0x00D, "port_not_connected"},
    {0x00E, "invalid_ams_length"},
    {0x00F, "invalid_ams_net_id"},
    {0x010, "installation_level_too_low"},
    {0x011, "no_debugging_available"},
    {0x012, "port_disabled"},
    {0x013, "port_already_connected"},
    {0x014, "ams_sync_win32_error"},
    {0x015, "ams_sync_timeout"},
    {0x016, "ams_sync_ams_error"},
    {0x017, "ams_sync_no_index_map"},
    {0x018, "invalid_ams_port"},
    {0x019, "no_memory"},
    {0x01A, "tcp_send_error"},
    {0x01B, "host_unreachable"},
    {0x01C, "invalid_ams_fragment"},
    {0x01D, "tls_send_error"},
    {0x01E, "access_denied"},
    {0x500, "router_no_locked_memory"},
    {0x501, "router_resize_memory"},
    {0x502, "router_mailbox_full"},
    {0x503, "router_debug_box_full"},
    {0x504, "router_unknown_port_type"},
    {0x505, "router_not_initialized"},
    {0x506, "router_port_already_in_use"},
    {0x507, "router_port_not_registered"},
    {0x508, "router_no_more_queues"},
    {0x509, "router_invalid_port"},
    {0x50A, "router_not_activated"},
    {0x50B, "router_fragment_box_full"},
    {0x50C, "router_fragment_timeout"},
    {0x50D, "router_to_be_removed"},
    {0x700, "device_error"},
    {0x701, "service_not_supported"},
    {0x702, "invalid_index_group"},
    {0x703, "invalid_index_offset"},
    {0x704, "invalid_access"},
    {0x705, "invalid_size"},
    {0x706, "invalid_data"},
    {0x707, "device_not_ready"},
    {0x708, "device_busy"},
    {0x709, "invalid_context"},
    {0x70A, "out_of_memory"},
    {0x70B, "invalid_parameter"},
    {0x70C, "not_found"},
    {0x70D, "syntax_error"},
    {0x70E, "incompatible"},
    {0x70F, "already_exists"},
    {0x710, "symbol_not_found"},
    {0x711, "symbol_version_invalid"},
    {0x712, "invalid_state"},
    {0x713, "transmission_mode_not_supported"},
    {0x714, "notification_handle_invalid"},
    {0x715, "client_unknown"},
    {0x716, "no_more_handles"},
    {0x717, "invalid_watch_size"},
    {0x718, "not_initialized"},
    {0x719, "device_timeout"},
    {0x71A, "no_interface"},
    {0x71B, "invalid_interface"},
    {0x71C, "invalid_class_id"},
    {0x71D, "invalid_object_id"},
    {0x71E, "request_pending"},
    {0x71F, "request_aborted"},
    {0x720, "signal_warning"},
    {0x721, "invalid_array_index"},
    {0x722, "symbol_not_active"},
    {0x723, "access_denied"},
    {0x724, "license_not_found"},
    {0x725, "license_expired"},
    {0x726, "license_exceeded"},
    {0x727, "license_invalid"},
    {0x728, "license_system_id"},
    {0x729, "license_no_time_limit"},
    {0x72A, "license_future_issue"},
    {0x72B, "license_time_too_long"},
    {0x72C, "device_exception"},
    {0x72D, "license_duplicated"},
    {0x72E, "signature_invalid"},
    {0x72F, "certificate_invalid"},
    {0x740, "client_error"},
    {0x741, "client_invalid_parameter"},
    {0x742, "client_list_empty"},
    {0x743, "client_variable_in_use"},
    {0x744, "client_duplicate_invoke_id"},
    {0x745, "client_sync_timeout"},
    {0x746, "client_win32_error"},
    {0x747, "client_invalid_timeout"},
    {0x748, "client_port_not_open"},
    {0x749, "client_no_ams_address"},
    {0x750, "client_sync_internal"},
    {0x751, "client_hash_overflow"},
    {0x752, "client_key_not_found"},
    {0x753, "client_no_more_symbols"},
    {0x754, "client_invalid_response"},
    {0x755, "client_sync_port_locked"},
};

const char *ads_error_name(uint32_t code)
{
    size_t lo = 0, hi = sizeof ads_errors / sizeof ads_errors[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ads_errors[mid].code == code) return ads_errors[mid].name;
        if (ads_errors[mid].code < code) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

#define RD QW_OP_READ
#define WR QW_OP_WRITE
#define FILE_RD (QW_OP_FILE | QW_OP_READ)
#define FILE_WR QW_OP_FILE

/* Reserved index groups every ADS server may serve ("Index groups": 0xF000-0xF0FF symbol and
 * I/O image services, sum commands 0xF080-0xF086, device data 0xF100) and the PLC's own
 * process image and memory groups (0x4020-0x4045). Sorted by group. Releasing a handle
 * (0xF006) writes no process data: it ends the client's use of a handle. */
static const struct ads_igrp ads_reserved[] = {
    {0x4020, "plc_memory", RD, WR, ADS_TEXT_NONE},
    {0x4021, "plc_memory_bit", RD, WR, ADS_TEXT_NONE},
    {0x4025, "plc_memory_size", RD, WR, ADS_TEXT_NONE},
    {0x4030, "plc_retain", RD, WR, ADS_TEXT_NONE},
    {0x4035, "plc_retain_size", RD, WR, ADS_TEXT_NONE},
    {0x4040, "plc_data", RD, WR, ADS_TEXT_NONE},
    {0x4045, "plc_data_size", RD, WR, ADS_TEXT_NONE},
    {0xF000, "symbol_table", RD, WR, ADS_TEXT_NONE},
    {0xF001, "symbol_name", RD, WR, ADS_TEXT_NONE},
    {0xF002, "symbol_value", RD, WR, ADS_TEXT_NONE},
    {0xF003, "symbol_handle_by_name", RD, QW_OP_SESSION, ADS_TEXT_SYMBOL},
    {0xF004, "symbol_value_by_name", RD, WR, ADS_TEXT_SYMBOL},
    {0xF005, "symbol_value_by_handle", RD, WR, ADS_TEXT_NONE},
    {0xF006, "symbol_release_handle", QW_OP_SESSION, QW_OP_SESSION, ADS_TEXT_NONE},
    {0xF007, "symbol_info_by_name", RD, RD, ADS_TEXT_SYMBOL},
    {0xF008, "symbol_version", RD, RD, ADS_TEXT_NONE},
    {0xF009, "symbol_info_by_name_ex", RD, RD, ADS_TEXT_SYMBOL},
    {0xF00A, "symbol_download", RD, WR, ADS_TEXT_NONE},
    {0xF00B, "symbol_upload", RD, RD, ADS_TEXT_NONE},
    {0xF00C, "symbol_upload_info", RD, RD, ADS_TEXT_NONE},
    {0xF00D, "symbol_download2", RD, WR, ADS_TEXT_NONE},
    {0xF00E, "data_type_upload", RD, RD, ADS_TEXT_NONE},
    {0xF00F, "symbol_upload_info2", RD, RD, ADS_TEXT_NONE},
    {0xF010, "symbol_notification", RD, RD, ADS_TEXT_NONE},
    {0xF020, "io_input_bytes", RD, WR, ADS_TEXT_NONE},
    {0xF021, "io_input_bit", RD, WR, ADS_TEXT_NONE},
    {0xF025, "io_input_size", RD, RD, ADS_TEXT_NONE},
    {0xF030, "io_output_bytes", RD, WR, ADS_TEXT_NONE},
    {0xF031, "io_output_bit", RD, WR, ADS_TEXT_NONE},
    {0xF035, "io_output_size", RD, RD, ADS_TEXT_NONE},
    {0xF040, "io_clear_inputs", WR, WR, ADS_TEXT_NONE},
    {0xF050, "io_clear_outputs", WR, WR, ADS_TEXT_NONE},
    {0xF060, "io_read_inputs_write_outputs", RD | WR, RD | WR, ADS_TEXT_NONE},
    {0xF080, "sum_read", RD, RD, ADS_TEXT_NONE},
    {0xF081, "sum_write", WR, WR, ADS_TEXT_NONE},
    {0xF082, "sum_read_write", RD, RD, ADS_TEXT_NONE},
    {0xF083, "sum_read_ex", RD, RD, ADS_TEXT_NONE},
    {0xF084, "sum_read_ex2", RD, RD, ADS_TEXT_NONE},
    {0xF085, "sum_add_notification", RD, RD, ADS_TEXT_NONE},
    {0xF086, "sum_delete_notification", QW_OP_SESSION, QW_OP_SESSION, ADS_TEXT_NONE},
    {0xF100, "device_data", RD, WR, ADS_TEXT_NONE},
};

/* The system service's groups (AMS port 10000): file services 100-139, registry 200-208,
 * e-mail 300, time 400, starting a process 500, the AMS NetId 600, system information and
 * the IP helper 700-702, static routes 801-803. Sorted by group. Writing a file or deleting
 * one is a file operation; whether it is the boot project (a program) is decided from the
 * fopen's path and mode (ads.c). Starting a process runs a program on the controller's
 * operating system: control. Adding or removing a route changes who may talk ADS to the
 * controller: config. */
static const struct ads_igrp ads_system[] = {
    {100, "file_open_create", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {101, "file_open_read", FILE_RD, FILE_RD, ADS_TEXT_PATH},
    {102, "file_open_write", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {110, "file_create", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {111, "file_close_handle", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_NONE},
    {120, "file_fopen", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_PATH},
    {121, "file_fclose", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_NONE},
    {122, "file_fread", FILE_RD, FILE_RD, ADS_TEXT_NONE},
    {123, "file_fwrite", FILE_WR, FILE_WR, ADS_TEXT_NONE},
    {124, "file_fseek", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_NONE},
    {125, "file_ftell", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_NONE},
    {126, "file_fgets", FILE_RD, FILE_RD, ADS_TEXT_NONE},
    {127, "file_fputs", FILE_WR, FILE_WR, ADS_TEXT_NONE},
    {128, "file_fscanf", FILE_RD, FILE_RD, ADS_TEXT_NONE},
    {129, "file_fprintf", FILE_WR, FILE_WR, ADS_TEXT_NONE},
    {130, "file_feof", QW_OP_FILE, QW_OP_FILE, ADS_TEXT_NONE},
    {131, "file_delete", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {132, "file_rename", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {133, "file_find", FILE_RD, FILE_RD, ADS_TEXT_PATH},
    {138, "file_mkdir", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {139, "file_rmdir", FILE_WR, FILE_WR, ADS_TEXT_PATH},
    {141, "broadcast_search", RD, RD, ADS_TEXT_NONE},
    {200, "registry_hklm", RD, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {201, "registry_hkcu", RD, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {202, "registry_hkcr", RD, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {206, "registry_delete_hklm", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {207, "registry_delete_hkcu", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {208, "registry_delete_hkcr", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_REGISTRY_KEY},
    {300, "send_email", QW_OP_CONTROL, QW_OP_CONTROL, ADS_TEXT_NONE},
    {400, "time_services", QW_OP_TIMESYNC, QW_OP_TIMESYNC, ADS_TEXT_NONE},
    {500, "start_process", QW_OP_CONTROL, QW_OP_CONTROL, ADS_TEXT_PATH},
    {600, "change_net_id", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_NONE},
    {700, "system_info", QW_OP_IDENTIFY, QW_OP_IDENTIFY, ADS_TEXT_NONE},
    {701, "ip_helper", RD, RD, ADS_TEXT_NONE},
    {702, "ip_host_name", RD, RD, ADS_TEXT_NONE},
    {801, "add_route", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_NONE},
    {802, "delete_route", QW_OP_CONFIG, QW_OP_CONFIG, ADS_TEXT_NONE},
    {803, "enumerate_routes", RD, RD, ADS_TEXT_NONE},
};

static const struct ads_igrp *igrp_find(const struct ads_igrp *t, size_t n, uint32_t group)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].group == group) return &t[mid];
        if (t[mid].group < group) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const struct ads_igrp *ads_igrp_of(uint16_t port, uint32_t group)
{
    if (port == ADS_PORT_SYSTEM_SERVICE && group < 0x1000)
        return igrp_find(ads_system, sizeof ads_system / sizeof ads_system[0], group);
    return igrp_find(ads_reserved, sizeof ads_reserved / sizeof ads_reserved[0], group);
}

bool ads_port_is_plc(uint16_t port)
{
    return port >= 800 && port <= 899;
}

struct ads_port {
    uint16_t port;
    const char *name;
};

/* "AMS port numbers"; the PLC runtimes (800-899) are named by ads_port_is_plc. */
static const struct ads_port ads_ports[] = {
    {1, "router"},        {30, "license_server"}, {100, "logger"},   {110, "event_log"},
    {200, "realtime"},    {290, "trace"},         {300, "io"},       {400, "sps"},
    {500, "nc"},          {550, "isg"},           {600, "pcs"},      {10000, "system_service"},
};

const char *ads_port_name(uint16_t port)
{
    if (ads_port_is_plc(port)) return "plc";
    for (size_t i = 0; i < sizeof ads_ports / sizeof ads_ports[0]; i++)
        if (ads_ports[i].port == port) return ads_ports[i].name;
    return NULL;
}
