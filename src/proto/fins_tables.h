/* Omron FINS fact tables shared by the parser (fins.c) and its tests.
 *
 * Sources: Omron W342 "Communications Commands Reference Manual" (CS/CJ/CP/NSJ series: FINS
 * command list s.5-1, memory area designations s.5-2-2, end codes s.8), W227 (CV series: the
 * C-mode compatible area codes 0x00-0x9C and commands 0220, 0403, 080x, 220F-2211, 230A) and
 * W421 (CJ/CS Ethernet units: FINS/TCP header commands and error codes). Names are the manuals'
 * command names in snake_case; every lookup returns NULL for a code without a name. */
#ifndef QW_PROTO_FINS_TABLES_H
#define QW_PROTO_FINS_TABLES_H

#include <stdint.h>

struct fins_command {
    uint16_t code; /* MRC << 8 | SRC */
    const char *name;
    uint32_t ops;  /* qw_op bits */
};

/* The command with this MRC/SRC pair, or NULL. */
const struct fins_command *fins_command_of(uint16_t code);

/* Memory area codes (W342 s.5-2-2, W227 for the CV-mode codes): `area` the area's short name
 * ("CIO", "WR", "HR", "AR", "DM", "EM0".."EMC", "EM" for the current bank, "TIM_CNT", ...),
 * `unit` what an item is ("bit", "word", "bit_forced", "word_forced", "flag", "pv", "status",
 * "register"), `bytes` the size of one item in write data and read answers. */
struct fins_area {
    const char *area;
    const char *unit;
    uint8_t bytes;
};
const struct fins_area *fins_area_of(uint8_t code);

/* End code main codes (W342 s.8-3; bits 7 of the main code and 6-7 of the sub code masked). */
const char *fins_main_code_name(uint8_t main_code);

/* Parameter area codes of commands 0201-0203 and 220B (W342 s.5-3-6). */
const char *fins_param_area_name(uint16_t code);

/* FINS/TCP header commands and error codes (W421 s.7). */
const char *fins_tcp_command_name(uint32_t cmd);
const char *fins_tcp_error_name(uint32_t err);

/* RUN (0401) mode codes, controller status (0601) status and mode codes. */
const char *fins_run_mode_name(uint8_t mode);
const char *fins_cpu_status_name(uint8_t status);

/* Forced set/reset specifications (2301). */
const char *fins_force_spec_name(uint16_t spec);

/* Transfer parameter codes of 220A-220C: which way the data goes. */
const char *fins_transfer_name(uint16_t code);

#endif
