/* CIP fact tables: services, classes, status codes, vendors, device types, PCCC commands.
 *
 * Sources (see cip.h for the full references):
 *   services      [CIP1] Appendix A table A-3.1 (common services 0x01-0x1C); object-specific
 *                 services from each object's chapter: Connection Manager s.3-5.6, File
 *                 object (class 0x37), Modbus object (class 0x44); [LGX] for the Logix
 *                 Symbol/Template services; PCCC object services from Rockwell's EtherNet/IP
 *                 PCCC documentation.
 *   classes       [CIP1] s.5 object library (class codes 0x01-0x5F, 0xF0-0xF8); Rockwell classes
 *                 0x64 (program name), 0x67 (PCCC), 0x6B (symbol), 0x6C (template), 0x8B (wall
 *                 clock time) from Rockwell's public data-access documentation. Other class codes
 *                 0x64-0xC7 are vendor specific ([CIP1] s.4-4.1) and named as such.
 *   status        [CIP1] Appendix B table B-1.1 (general status) and s.3-5.6.4 table 3-5.33
 *                 (Connection Manager extended status).
 *   vendors       ODVA's published vendor id list: the vendors found in port and terminal
 *                 automation, written for this project (not copied from any dissector) and
 *                 checked one by one against the ODVA list.
 *   device types  [CIP1] s.6 device profiles (table 6-7.1).
 *   PCCC          [DF1] ch.7 command descriptions.
 *
 * Operation bits follow what the service does to the device (emit.h `enum qw_op`): reads are
 * read; a set on a communication or configuration object (TCP/IP Interface, Ethernet Link, Port,
 * QoS, DLR, Connection Configuration, ...) is config, elsewhere a write; a set of a clock is
 * timesync; Reset is restart; Start and Stop are start and stop. */
#include <stddef.h>
#include <stdint.h>

#include "engine/emit.h"
#include "proto/cip.h"

#define R QW_OP_READ
#define W QW_OP_WRITE

/* ---- Services ------------------------------------------------------------------------------ */

/* Common services ([CIP1] table ). The ops of the set services are refined by class. */
static const struct cip_service_info common_services[0x20] = {
    [0x01] = {"get_attributes_all", R},
    [0x02] = {"set_attributes_all", W},
    [0x03] = {"get_attribute_list", R},
    [0x04] = {"set_attribute_list", W},
    [0x05] = {"reset", QW_OP_RESTART},
    [0x06] = {"start", QW_OP_START},
    [0x07] = {"stop", QW_OP_STOP},
    [0x08] = {"create", QW_OP_CONFIG},
    [0x09] = {"delete", QW_OP_CONFIG},
    [0x0A] = {"multiple_service_packet", 0},
    [0x0D] = {"apply_attributes", QW_OP_CONFIG},
    [0x0E] = {"get_attribute_single", R},
    [0x10] = {"set_attribute_single", W},
    [0x11] = {"find_next_object_instance", R},
    [0x14] = {"error_response", 0},
    [0x15] = {"restore", QW_OP_CONFIG},
    [0x16] = {"save", QW_OP_CONFIG},
    [0x17] = {"no_operation", 0},
    [0x18] = {"get_member", R},
    [0x19] = {"set_member", W},
    [0x1A] = {"insert_member", W},
    [0x1B] = {"remove_member", W},
    [0x1C] = {"group_sync", 0},
};

struct class_service {
    uint32_t class_id;
    uint8_t service;
    struct cip_service_info info;
};

/* Object-specific services (0x4B-0x63) mean different things per class. A path that names a tag
 * (symbolic segment) with no class addresses the Logix Symbol object. Sorted by class, then
 * service: looked up by binary search for every request and reply (cip_class_services_sorted
 * lets the unit tests hold the order). */
static const struct class_service class_services[] = {
    /* Connection Manager ([CIP1] s.3-5.6) */
    {0x06, 0x4E, {"forward_close", QW_OP_SESSION}},
    {0x06, 0x52, {"unconnected_send", 0}},
    {0x06, 0x54, {"forward_open", QW_OP_SESSION}},
    {0x06, 0x56, {"get_connection_data", QW_OP_DIAGNOSTIC}},
    {0x06, 0x57, {"search_connection_data", QW_OP_DIAGNOSTIC}},
    {0x06, 0x5A, {"get_connection_owner", QW_OP_DIAGNOSTIC}},
    {0x06, 0x5B, {"large_forward_open", QW_OP_SESSION}},
    /* File object (class 0x37, [CIP1] chapter 5): a download replaces the file on the device. */
    {0x37, 0x4B, {"initiate_upload", QW_OP_FILE | R}},
    {0x37, 0x4C, {"initiate_download", QW_OP_FILE | QW_OP_PROGRAM}},
    {0x37, 0x4D, {"initiate_partial_read", QW_OP_FILE | R}},
    {0x37, 0x4E, {"initiate_partial_write", QW_OP_FILE | W}},
    {0x37, 0x4F, {"upload_transfer", QW_OP_FILE | R}},
    {0x37, 0x50, {"download_transfer", QW_OP_FILE | QW_OP_PROGRAM}},
    {0x37, 0x51, {"clear_file", QW_OP_FILE | W}},
    /* Modbus object (class 0x44, [CIP1] chapter 5) */
    {0x44, 0x4B, {"read_discrete_inputs", R}},
    {0x44, 0x4C, {"read_coils", R}},
    {0x44, 0x4D, {"read_input_registers", R}},
    {0x44, 0x4E, {"read_holding_registers", R}},
    {0x44, 0x4F, {"write_coils", W}},
    {0x44, 0x50, {"write_holding_registers", W}},
    {0x44, 0x51, {"modbus_passthrough", R | W}},
    /* PCCC object (Rockwell): the operation is the PCCC command's (cip_pccc_lookup). */
    {0x67, 0x4B, {"execute_pccc", 0}},
    {0x67, 0x4C, {"execute_dh_plus", 0}},
    {0x67, 0x4D, {"execute_local_pccc", 0}},
    /* Logix Symbol object ([LGX]) */
    {0x6B, 0x4C, {"read_tag", R}},
    {0x6B, 0x4D, {"write_tag", W}},
    {0x6B, 0x4E, {"read_modify_write_tag", W}},
    {0x6B, 0x52, {"read_tag_fragmented", R}},
    {0x6B, 0x53, {"write_tag_fragmented", W}},
    {0x6B, 0x55, {"get_instance_attribute_list", R}},
    /* Logix Template object ([LGX]) */
    {0x6C, 0x4C, {"read_template", R}},
    /* Ethernet Link ([CIP2] s.5-4.4) */
    {0xF6, 0x4C, {"get_and_clear", QW_OP_DIAGNOSTIC}},
};

/* Classes whose attributes configure communication or the device: a set there is config. */
static bool class_is_config(uint32_t c)
{
    switch (c) {
    case 0x01: /* Identity */
    case 0x02: /* Message Router */
    case 0x06: /* Connection Manager */
    case 0x47: /* Device Level Ring */
    case 0x48: /* QoS */
    case 0x52: /* SNMP */
    case 0x54: /* RSTP Bridge */
    case 0x55: /* RSTP Port */
    case 0x56: /* PRP */
    case 0x5D: /* CIP Security */
    case 0x5E: /* EtherNet/IP Security */
    case 0x5F: /* Certificate Management */
    case 0xF3: /* Connection Configuration */
    case 0xF4: /* Port */
    case 0xF5: /* TCP/IP Interface: an address change */
    case 0xF6: /* Ethernet Link */
        return true;
    default:
        return false;
    }
}

/* Classes that hold the time: a set is timesync, a get reads it. */
static bool class_is_clock(uint32_t c)
{
    return c == 0x43 /* Time Sync */ || c == 0x8B /* Rockwell Wall Clock Time */;
}

/* Logix program and tag database classes: creating or deleting there edits the program. */
static bool class_is_logix_program(uint32_t c)
{
    return c == 0x64 || c == 0x6B || c == 0x6C;
}

struct cip_service_info cip_service_lookup(uint8_t service, bool has_class, uint32_t class_id,
                                           bool symbolic)
{
    struct cip_service_info none = {NULL, 0};
    service &= 0x7Fu;
    if (!has_class && symbolic) {
        has_class = true;
        class_id = CIP_CLASS_SYMBOL;
    }
    if (service < 0x20) {
        struct cip_service_info s = common_services[service];
        if (!s.name) return none;
        if (has_class) {
            bool is_set = s.ops == W;
            bool is_get = s.ops == R;
            if (is_set && class_is_clock(class_id)) s.ops = QW_OP_TIMESYNC;
            else if (is_set && class_is_config(class_id)) s.ops = QW_OP_CONFIG;
            else if (is_set && class_id == 0x37) s.ops = QW_OP_FILE | W;
            else if (is_get && class_is_clock(class_id)) s.ops = R | QW_OP_TIMESYNC;
            else if (is_get && class_id == CIP_CLASS_IDENTITY) s.ops = R | QW_OP_IDENTIFY;
            else if ((service == 0x08 || service == 0x09) && class_is_logix_program(class_id))
                s.ops = QW_OP_PROGRAM;
        }
        return s;
    }
    if (!has_class) return none;
    uint64_t want = (uint64_t)class_id << 8 | service;
    size_t lo = 0, hi = sizeof class_services / sizeof class_services[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t at = (uint64_t)class_services[mid].class_id << 8 | class_services[mid].service;
        if (at == want) return class_services[mid].info;
        if (at < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return none;
}

bool cip_class_services_sorted(void)
{
    for (size_t i = 1; i < sizeof class_services / sizeof class_services[0]; i++) {
        const struct class_service *a = &class_services[i - 1], *b = &class_services[i];
        if (a->class_id > b->class_id || (a->class_id == b->class_id && a->service >= b->service))
            return false;
    }
    return true;
}

/* ---- Classes ([CIP1] s.5) ------------------------------------------------------------------ */

struct id_name {
    uint32_t id;
    const char *name;
};

static const struct id_name classes[] = {
    {0x01, "identity"},
    {0x02, "message_router"},
    {0x03, "devicenet"},
    {0x04, "assembly"},
    {0x05, "connection"},
    {0x06, "connection_manager"},
    {0x07, "register"},
    {0x08, "discrete_input_point"},
    {0x09, "discrete_output_point"},
    {0x0A, "analog_input_point"},
    {0x0B, "analog_output_point"},
    {0x0E, "presence_sensing"},
    {0x0F, "parameter"},
    {0x10, "parameter_group"},
    {0x12, "group"},
    {0x1D, "discrete_input_group"},
    {0x1E, "discrete_output_group"},
    {0x1F, "discrete_group"},
    {0x20, "analog_input_group"},
    {0x21, "analog_output_group"},
    {0x22, "analog_group"},
    {0x23, "position_sensor"},
    {0x24, "position_controller_supervisor"},
    {0x25, "position_controller"},
    {0x26, "block_sequencer"},
    {0x27, "command_block"},
    {0x28, "motor_data"},
    {0x29, "control_supervisor"},
    {0x2A, "ac_dc_drive"},
    {0x2B, "acknowledge_handler"},
    {0x2C, "overload"},
    {0x2D, "softstart"},
    {0x2E, "selection"},
    {0x30, "s_device_supervisor"},
    {0x31, "s_analog_sensor"},
    {0x32, "s_analog_actuator"},
    {0x33, "s_single_stage_controller"},
    {0x34, "s_gas_calibration"},
    {0x35, "trip_point"},
    {0x37, "file"},
    {0x38, "s_partial_pressure"},
    {0x39, "safety_supervisor"},
    {0x3A, "safety_validator"},
    {0x3B, "safety_discrete_output_point"},
    {0x3C, "safety_discrete_output_group"},
    {0x3D, "safety_discrete_input_point"},
    {0x3E, "safety_discrete_input_group"},
    {0x3F, "safety_dual_channel_output"},
    {0x40, "s_sensor_calibration"},
    {0x41, "event_log"},
    {0x42, "motion_axis"},
    {0x43, "time_sync"},
    {0x44, "modbus"},
    {0x45, "originator_connection_list"},
    {0x46, "modbus_serial_link"},
    {0x47, "device_level_ring"},
    {0x48, "qos"},
    {0x4E, "base_energy"},
    {0x4F, "electrical_energy"},
    {0x50, "non_electrical_energy"},
    {0x51, "base_switch"},
    {0x52, "snmp"},
    {0x53, "power_management"},
    {0x54, "rstp_bridge"},
    {0x55, "rstp_port"},
    {0x56, "prp"},
    {0x57, "prp_nodes_table"},
    {0x5D, "cip_security"},
    {0x5E, "ethernetip_security"},
    {0x5F, "certificate_management"},
    {0x64, "logix_program_name"},
    {0x67, "pccc"},
    {0x6B, "logix_symbol"},
    {0x6C, "logix_template"},
    {0x8B, "wall_clock_time"},
    {0xF0, "controlnet"},
    {0xF1, "controlnet_keeper"},
    {0xF2, "controlnet_scheduling"},
    {0xF3, "connection_configuration"},
    {0xF4, "port"},
    {0xF5, "tcpip_interface"},
    {0xF6, "ethernet_link"},
    {0xF7, "componet_link"},
    {0xF8, "componet_repeater"},
};

static const char *lookup(const struct id_name *t, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].id == id) return t[i].name;
    return NULL;
}

const char *cip_class_name(uint32_t class_id)
{
    const char *n = lookup(classes, sizeof classes / sizeof classes[0], class_id);
    if (n) return n;
    /* [CIP1] s.4-4.1: 0x64-0xC7 and 0x300-0x4FF are vendor specific. */
    if ((class_id >= 0x64 && class_id <= 0xC7) || (class_id >= 0x300 && class_id <= 0x4FF))
        return "vendor_specific";
    return NULL;
}

/* ---- Status ([CIP1] Appendix B, s.3-5.6.4) ------------------------------------------------- */

static const char *const general_status[] = {
    [0x00] = "success",
    [0x01] = "connection_failure",
    [0x02] = "resource_unavailable",
    [0x03] = "invalid_parameter_value",
    [0x04] = "path_segment_error",
    [0x05] = "path_destination_unknown",
    [0x06] = "partial_transfer",
    [0x07] = "connection_lost",
    [0x08] = "service_not_supported",
    [0x09] = "invalid_attribute_value",
    [0x0A] = "attribute_list_error",
    [0x0B] = "already_in_requested_mode",
    [0x0C] = "object_state_conflict",
    [0x0D] = "object_already_exists",
    [0x0E] = "attribute_not_settable",
    [0x0F] = "privilege_violation",
    [0x10] = "device_state_conflict",
    [0x11] = "reply_data_too_large",
    [0x12] = "fragmentation_of_a_primitive_value",
    [0x13] = "not_enough_data",
    [0x14] = "attribute_not_supported",
    [0x15] = "too_much_data",
    [0x16] = "object_does_not_exist",
    [0x17] = "service_fragmentation_sequence_not_in_progress",
    [0x18] = "no_stored_attribute_data",
    [0x19] = "store_operation_failure",
    [0x1A] = "routing_failure_request_too_large",
    [0x1B] = "routing_failure_response_too_large",
    [0x1C] = "missing_attribute_list_entry_data",
    [0x1D] = "invalid_attribute_value_list",
    [0x1E] = "embedded_service_error",
    [0x1F] = "vendor_specific_error",
    [0x20] = "invalid_parameter",
    [0x21] = "write_once_value_or_medium_already_written",
    [0x22] = "invalid_reply_received",
    [0x23] = "buffer_overflow",
    [0x24] = "message_format_error",
    [0x25] = "key_failure_in_path",
    [0x26] = "path_size_invalid",
    [0x27] = "unexpected_attribute_in_list",
    [0x28] = "invalid_member_id",
    [0x29] = "member_not_settable",
    [0x2A] = "group_2_only_server_general_failure",
    [0x2B] = "unknown_modbus_error",
    [0x2C] = "attribute_not_gettable",
};

const char *cip_status_name(uint8_t status)
{
    return status < sizeof general_status / sizeof general_status[0] ? general_status[status]
                                                                      : NULL;
}

static const struct id_name cm_ext_status[] = {
    {0x0100, "connection_in_use_or_duplicate_forward_open"},
    {0x0103, "transport_class_and_trigger_not_supported"},
    {0x0106, "ownership_conflict"},
    {0x0107, "target_connection_not_found"},
    {0x0108, "invalid_network_connection_parameter"},
    {0x0109, "invalid_connection_size"},
    {0x0110, "target_for_connection_not_configured"},
    {0x0111, "rpi_not_supported"},
    {0x0113, "out_of_connections"},
    {0x0114, "vendor_id_or_product_code_mismatch"},
    {0x0115, "device_type_mismatch"},
    {0x0116, "revision_mismatch"},
    {0x0117, "invalid_produced_or_consumed_application_path"},
    {0x0118, "invalid_or_inconsistent_configuration_application_path"},
    {0x0119, "non_listen_only_connection_not_opened"},
    {0x011A, "target_object_out_of_connections"},
    {0x011B, "rpi_smaller_than_production_inhibit_time"},
    {0x0203, "connection_timed_out"},
    {0x0204, "unconnected_request_timed_out"},
    {0x0205, "parameter_error_in_unconnected_request"},
    {0x0206, "message_too_large_for_unconnected_send"},
    {0x0207, "unconnected_acknowledge_without_reply"},
    {0x0301, "no_buffer_memory_available"},
    {0x0302, "network_bandwidth_not_available"},
    {0x0303, "no_consumed_connection_id_filter_available"},
    {0x0304, "not_configured_to_send_scheduled_priority_data"},
    {0x0305, "schedule_signature_mismatch"},
    {0x0306, "schedule_signature_validation_not_possible"},
    {0x0311, "port_not_available"},
    {0x0312, "link_address_not_valid"},
    {0x0315, "invalid_segment_in_connection_path"},
    {0x0316, "forward_close_connection_path_mismatch"},
    {0x0317, "scheduling_not_specified"},
    {0x0318, "link_address_to_self_invalid"},
    {0x0319, "secondary_resources_unavailable"},
    {0x031A, "rack_connection_already_established"},
    {0x031B, "module_connection_already_established"},
    {0x031C, "miscellaneous"},
    {0x031D, "redundant_connection_mismatch"},
    {0x0800, "network_link_offline"},
    {0x0810, "no_target_application_data_available"},
    {0x0811, "no_originator_application_data_available"},
    {0x0812, "node_address_changed_since_scheduled"},
    {0x0813, "not_configured_for_off_subnet_multicast"},
};

const char *cip_cm_ext_status_name(uint16_t ext)
{
    return lookup(cm_ext_status, sizeof cm_ext_status / sizeof cm_ext_status[0], ext);
}

/* ---- Vendors (ODVA vendor id list) ------------------------------------------------------- */

static const struct id_name vendors[] = {
    {1, "Rockwell Automation/Allen-Bradley"},
    {3, "Honeywell"},
    {4, "Parker Hannifin"},
    {5, "Rockwell Automation/Reliance Electric"},
    {7, "SMC Corporation"},
    {8, "Molex"},
    {12, "Banner Engineering"},
    {13, "Belden"},
    {26, "Festo"},
    {29, "Opto 22"},
    {40, "WAGO"},
    {43, "Balluff"},
    {44, "Yaskawa America"},
    {46, "ABB"},
    {47, "Omron"},
    {48, "Turck"},
    {50, "Real Time Automation"},
    {56, "Softing"},
    {57, "Pepperl+Fuchs"},
    {68, "Eaton Electrical"},
    {74, "Hitachi"},
    {75, "ABB Robotics"},
    {81, "IXXAT Automation"},
    {82, "Mitsubishi Electric Automation"},
    {90, "HMS Industrial Networks"},
    {94, "Advantech"},
    {95, "Square D"},
    {97, "Danfoss Drives"},
    {108, "Beckhoff Automation"},
    {109, "National Instruments"},
    {121, "KUKA"},
    {143, "GE Industrial Systems"},
    {145, "Siemens Energy & Automation"},
    {161, "Mitsubishi Electric"},
    {176, "Red Lion Controls"},
    {181, "Pilz"},
    {216, "Panasonic Industry"},
    {243, "Schneider Electric"},
    {248, "Eaton Industries (Moeller)"},
    {250, "Yokogawa Electric"},
    {255, "Bosch Rexroth"},
    {283, "Hilscher"},
    {309, "ProSoft Technology"},
    {315, "SEW-Eurodrive"},
    {319, "Fuji Electric"},
    {322, "ifm electronic"},
    {345, "Endress+Hauser"},
    {356, "FANUC Robotics America"},
    {367, "Keyence"},
    {445, "Lenze"},
    {452, "Kollmorgen"},
    {501, "Yaskawa Europe (VIPA)"},
    {524, "Leuze electronic"},
    {562, "Phoenix Contact"},
    {591, "FANUC"},
    {634, "Hirschmann (Belden)"},
    {640, "Murrelektronik"},
    {678, "Cognex"},
    {796, "Siemens Industry"},
    {799, "Delta Electronics"},
    {808, "SICK"},
    {887, "B&R Industrial Automation"},
    {939, "Cisco Systems"},
    {991, "Moxa"},
    {1006, "N-Tron (Red Lion)"},
};

const char *cip_vendor_name(uint16_t vendor)
{
    return lookup(vendors, sizeof vendors / sizeof vendors[0], vendor);
}

size_t cip_vendor_count(void)
{
    return sizeof vendors / sizeof vendors[0];
}

/* ---- Device types ([CIP1] s.6 table 6-7.1) ------------------------------------------------- */

static const struct id_name device_types[] = {
    {0x00, "generic_device"},
    {0x02, "ac_drive"},
    {0x03, "motor_overload"},
    {0x04, "limit_switch"},
    {0x05, "inductive_proximity_switch"},
    {0x06, "photoelectric_sensor"},
    {0x07, "general_purpose_discrete_io"},
    {0x09, "resolver"},
    {0x0C, "communications_adapter"},
    {0x0E, "programmable_logic_controller"},
    {0x10, "position_controller"},
    {0x13, "dc_drive"},
    {0x15, "contactor"},
    {0x16, "motor_starter"},
    {0x17, "soft_start"},
    {0x18, "human_machine_interface"},
    {0x1A, "mass_flow_controller"},
    {0x1B, "pneumatic_valve"},
    {0x1C, "vacuum_pressure_gauge"},
    {0x1D, "process_control_value"},
    {0x1E, "residual_gas_analyzer"},
    {0x1F, "dc_power_generator"},
    {0x20, "rf_power_generator"},
    {0x21, "turbomolecular_vacuum_pump"},
    {0x22, "encoder"},
    {0x23, "safety_discrete_io"},
    {0x24, "fluid_flow_controller"},
    {0x25, "cip_motion_drive"},
    {0x2B, "generic_device_keyable"},
    {0x2C, "managed_ethernet_switch"},
};

const char *cip_device_type_name(uint16_t type)
{
    return lookup(device_types, sizeof device_types / sizeof device_types[0], type);
}

/* ---- PCCC ([DF1] ch.7) --------------------------------------------------------------------- */

/* Commands without a function code byte (PLC-2 style). */
static const struct cip_service_info pccc_cmds[0x10] = {
    [0x00] = {"protected_write", W},
    [0x01] = {"unprotected_read", R},
    [0x02] = {"protected_bit_write", W},
    [0x05] = {"unprotected_bit_write", W},
    [0x08] = {"unprotected_write", W},
};

/* CMD 0x06: diagnostic functions. */
static const struct cip_service_info pccc_06[0x10] = {
    [0x00] = {"echo", QW_OP_DIAGNOSTIC},
    [0x01] = {"read_diagnostic_counters", QW_OP_DIAGNOSTIC},
    [0x02] = {"set_variables", QW_OP_CONFIG},
    [0x03] = {"diagnostic_status", QW_OP_DIAGNOSTIC},
    [0x04] = {"set_timeout", QW_OP_CONFIG},
    [0x05] = {"set_naks", QW_OP_CONFIG},
    [0x06] = {"set_enqs", QW_OP_CONFIG},
    [0x07] = {"reset_diagnostic_counters", QW_OP_DIAGNOSTIC},
};

/* CMD 0x0F: PLC-5 / SLC 500 / MicroLogix functions. */
static const struct cip_service_info pccc_0f[256] = {
    [0x00] = {"word_range_write", W},
    [0x01] = {"word_range_read", R},
    [0x02] = {"bit_write", W},
    [0x11] = {"get_edit_resource", QW_OP_PROGRAM},
    [0x12] = {"return_edit_resource", QW_OP_PROGRAM},
    [0x17] = {"read_bytes_physical", R},
    [0x18] = {"write_bytes_physical", W},
    [0x26] = {"read_modify_write", W},
    [0x29] = {"read_section_size", R},
    [0x3A] = {"set_cpu_mode", QW_OP_CONTROL},
    [0x41] = {"disable_forces", QW_OP_CONTROL},
    [0x67] = {"typed_write", W},
    [0x68] = {"typed_read", R},
    [0x80] = {"change_mode", QW_OP_CONTROL},
    [0xA1] = {"protected_typed_logical_read_2_address_fields", R},
    [0xA2] = {"protected_typed_logical_read_3_address_fields", R},
    [0xA9] = {"protected_typed_logical_write_2_address_fields", W},
    [0xAA] = {"protected_typed_logical_write_3_address_fields", W},
    [0xAB] = {"protected_typed_logical_masked_write_3_address_fields", W},
};

/* CMD 0x0F FNC 0x80 mode byte ([DF1] "change mode"): program stops the logic, run starts it. */
#define PCCC_MODE_REMOTE_PROGRAM 0x01u
#define PCCC_MODE_REMOTE_RUN 0x06u

bool cip_pccc_has_fnc(uint8_t cmd)
{
    return cmd == 0x06 || cmd == 0x07 || cmd == 0x0F;
}

struct cip_service_info cip_pccc_lookup(uint8_t cmd, bool has_fnc, uint8_t fnc, bool has_mode,
                                        uint8_t mode)
{
    struct cip_service_info none = {NULL, 0};
    if (!cip_pccc_has_fnc(cmd)) return cmd < 0x10 ? pccc_cmds[cmd] : none;
    if (!has_fnc) return none;
    if (cmd == 0x06) return fnc < 0x10 ? pccc_06[fnc] : none;
    if (cmd != 0x0F) return none;
    struct cip_service_info s = pccc_0f[fnc];
    if (fnc == 0x80 && has_mode) {
        if (mode == PCCC_MODE_REMOTE_PROGRAM) s.ops = QW_OP_STOP;
        else if (mode == PCCC_MODE_REMOTE_RUN) s.ops = QW_OP_START;
    }
    return s;
}
