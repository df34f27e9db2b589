/* Beckhoff ADS/AMS fact tables (src/proto/ads_tables.c): command ids, ADS states, return codes,
 * index groups, AMS ports. The parser (src/proto/ads.c) reads names and operation classes from
 * here; the sources of each table are named beside it. */
#ifndef QW_PROTO_ADS_TABLES_H
#define QW_PROTO_ADS_TABLES_H

#include <stdbool.h>
#include <stdint.h>

enum ads_cmd {
    ADS_CMD_INVALID = 0,
    ADS_CMD_READ_DEVICE_INFO = 1,
    ADS_CMD_READ = 2,
    ADS_CMD_WRITE = 3,
    ADS_CMD_READ_STATE = 4,
    ADS_CMD_WRITE_CONTROL = 5,
    ADS_CMD_ADD_NOTIFICATION = 6,
    ADS_CMD_DELETE_NOTIFICATION = 7,
    ADS_CMD_NOTIFICATION = 8,
    ADS_CMD_READ_WRITE = 9,
    ADS_CMD_COUNT = 10,
};

/* ADS states (AdsState / ADSSTATE_*). */
enum ads_state_code {
    ADS_STATE_RESET = 2,
    ADS_STATE_START = 4,
    ADS_STATE_RUN = 5,
    ADS_STATE_STOP = 6,
    ADS_STATE_SAVECFG = 7,
    ADS_STATE_LOADCFG = 8,
    ADS_STATE_SHUTDOWN = 12,
    ADS_STATE_CONFIG = 15,
    ADS_STATE_RECONFIG = 16,
};

/* AMS ports whose meaning the operation classes depend on. */
#define ADS_PORT_SYSTEM_SERVICE 10000

/* How a command's data must be sized, for the probe and the length check: `exact` bytes, or at
 * least `min` when `exact` is 0xFFFFFFFF. */
struct ads_cmd_info {
    const char *name;
    uint32_t ops;          /* default operation classes of a request */
    uint32_t req_min, req_exact;
    uint32_t rsp_min, rsp_exact;
};

/* Indexed by command id (0..9). */
extern const struct ads_cmd_info ads_cmds[ADS_CMD_COUNT];

/* "run", "stop", ...; NULL for a state outside the table. */
const char *ads_state_name(uint16_t state);
/* The name of an AMS/ADS return code ("target_port_not_found"); NULL when not in the table. */
const char *ads_error_name(uint32_t code);
/* ADS transmission modes of an AddDeviceNotification ("server_on_change"); NULL if unknown. */
const char *ads_transmode_name(uint32_t mode);

/* What is carried in the write data of a request to an index group. */
enum ads_text_kind {
    ADS_TEXT_NONE = 0,
    ADS_TEXT_SYMBOL,       /* a PLC symbol name (handle / value / info by name) */
    ADS_TEXT_PATH,         /* a file name (system service file open) */
    ADS_TEXT_REGISTRY_KEY, /* a registry key (system service registry) */
};

/* A well-known index group: its name, what reading it (Read, ReadWrite, AddNotification) and
 * writing it (Write) do, and what its write data names. */
struct ads_igrp {
    uint32_t group;
    const char *name;
    uint32_t read_ops, write_ops;
    enum ads_text_kind text;
};

/* The index group `group` as served on AMS port `port` (the system service's groups below
 * 0x1000 only there); NULL when not in the tables. */
const struct ads_igrp *ads_igrp_of(uint16_t port, uint32_t group);

/* Index groups the parser decides on itself. */
#define ADS_IG_SYS_FOPEN 120u      /* system service: fopen, index offset = path | mode */
#define ADS_IG_SUM_FIRST 0xF080u   /* sum commands: index offset = number of sub-commands */
#define ADS_IG_SUM_LAST 0xF086u

/* A PLC runtime port: TwinCAT 2 (800 the PLC server, 801/811/821/831 runtimes 1-4) and
 * TwinCAT 3 (851 onwards, one per PLC project). */
bool ads_port_is_plc(uint16_t port);
/* A short name of an AMS port ("plc", "system_service", "io"); NULL for other ports. */
const char *ads_port_name(uint16_t port);

#endif
