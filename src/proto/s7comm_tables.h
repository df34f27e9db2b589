/* Protocol fact tables of S7comm (src/proto/s7comm_tables.c): code -> name -> operation bits.
 * Kept apart from the parser so the tables read as data (DESIGN.md, "Tables, not switch
 * forests"). Sources are cited in s7comm_tables.c. */
#ifndef QW_PROTO_S7COMM_TABLES_H
#define QW_PROTO_S7COMM_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct s7_name_ops {
    const char *name;
    uint32_t ops; /* qw_op bits */
};

/* ROSCTR (PDU type), header byte 1. */
const char *s7_rosctr_name(uint8_t rosctr);
/* Job / Ack_Data parameter function (first parameter byte). NULL when unknown. */
const struct s7_name_ops *s7_function(uint8_t code);
/* Userdata function group (low nibble of the type/group byte) and its subfunctions. */
const char *s7_ud_group_name(uint8_t group);
const struct s7_name_ops *s7_ud_subfunction(uint8_t group, uint8_t subfunc);
/* Userdata type (high nibble of the type/group byte): push, request, response, NC variants. */
const char *s7_ud_type_name(uint8_t type);
/* Header error class (ack/ack_data byte 10). */
const char *s7_error_class_name(uint8_t cls);
/* Item return code (read/write var data items, userdata data). */
const char *s7_return_code_name(uint8_t rc);
/* Item addressing: syntax id, transport size (parameter), memory area. */
const char *s7_syntax_name(uint8_t syntax);
const char *s7_transport_size_name(uint8_t ts);
const char *s7_data_transport_size_name(uint8_t ts);
const char *s7_area_name(uint8_t area);
/* Block type from its two ASCII characters ("08" OB, "0A" DB, ...). NULL when unknown. */
const char *s7_block_type_name(const uint8_t two[2]);
/* SZL partial list (low byte of the SZL id): name and the operation class of reading it. */
const struct s7_name_ops *s7_szl_list(uint8_t number);

/* PI (program invocation) services by name. `action` names what the service does; `ops` its
 * operation bits. For P_PROGRAM the argument decides between start and cold restart
 * (s7_pi_program_action). */
struct s7_pi_service {
    const char *service; /* exactly as on the wire, e.g. "_INSE" */
    const char *action;
    uint32_t ops;
    int block_list; /* 1: the parameter block is a block list (count, reserved, 8 chars each) */
};
const struct s7_pi_service *s7_pi_lookup(const uint8_t *name, size_t len);
/* P_PROGRAM argument: empty = start (warm/hot restart as the CPU is set up), "C " = cold
 * restart. Sets *ops. */
const char *s7_pi_program_action(const uint8_t *arg, size_t len, uint32_t *ops);

#endif
