/* Code tables of PROFINET IO context management (src/proto/pnio_cm.c): DCE/RPC connectionless
 * packet types, the PNIO interfaces, block types, record indexes with their operation classes,
 * and the names of the PNIO status fields. Sources are named in pnio_cm_tables.c. */
#ifndef QW_PROTO_PNIO_CM_TABLES_H
#define QW_PROTO_PNIO_CM_TABLES_H

#include <stdint.h>

/* DCE/RPC connectionless packet types (C706 12.5.3.1): 0..10. */
#define PN_PTYPE_MAX 10
/* "request", "ping", ...; NULL above PN_PTYPE_MAX. */
const char *pn_ptype_name(uint8_t ptype);

/* The interfaces a PNIO flow carries, by their interface UUID (canonical byte order). */
enum pn_iface {
    PN_IF_UNKNOWN = 0,
    PN_IF_DEVICE,     /* DEA00001-6C97-11D1-8271-00A02442DF7D: the IO device's CM server */
    PN_IF_CONTROLLER, /* DEA00002-...: the IO controller's (ApplicationReady comes to it) */
    PN_IF_SUPERVISOR, /* DEA00003-...: an IO supervisor's */
    PN_IF_PARAMSERVER, /* DEA00004-...: a parameter server's */
    PN_IF_EPM,        /* E1AF8308-5D1F-11C9-91A4-08002B14A0FA: the DCE endpoint mapper */
};
enum pn_iface pn_iface_of(const uint8_t uuid[16]);
const char *pn_iface_name(enum pn_iface i); /* "device", "controller", ..., "unknown" */
/* Whether the interface is one of the four PNIO CM ones (whose stub is NDR + PNIO blocks). */
int pn_iface_is_pnio(enum pn_iface i);

/* Block type name ("ARBlockReq", ...) or NULL when not in the table. */
const char *pn_block_name(uint16_t type);

/* A record index: its name (NULL when unknown) and the operation classes a read of it adds to
 * READ (IDENTIFY for the identification records, DIAGNOSTIC for diagnosis). */
struct pn_index_info {
    const char *name;
    uint32_t read_ops;
};
struct pn_index_info pn_index_info(uint16_t index);
/* Whether the record data of this index is a sequence of blocks (the standard records), not
 * user-specific bytes. */
int pn_index_has_blocks(uint16_t index);

/* PNIO status fields (the four octets of PNIOStatus). NULL when unknown. */
const char *pn_error_code_name(uint8_t code);
const char *pn_error_decode_name(uint8_t decode);
/* ErrorCode1 under ErrorDecode PNIORW (record read/write): "access: invalid index", ... */
const char *pn_pniorw_code1_name(uint8_t code1);

/* ARType and IOCRType names, NULL when reserved. */
const char *pn_ar_type_name(uint16_t t);
const char *pn_iocr_type_name(uint16_t t);

#endif
