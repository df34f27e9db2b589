/* Common Industrial Protocol (CIP) message layer, shared by the EtherNet/IP parser (enip.c).
 *
 * Specifications:
 *   [CIP1] The CIP Networks Library, Volume 1: Common Industrial Protocol (ODVA, PUB00001):
 *          s.2-4 message router request/response format, Appendix A services (A-4 common service
 *          codes), Appendix B general status codes, Appendix C data management (C-1 EPATH
 *          segments), s.3-5 Connection Manager (Forward Open/Close, Unconnected Send),
 *          s.5A Identity, Message Router (Multiple Service Packet), File object, s.6 device types.
 *   [CIP2] Volume 2: EtherNet/IP Adaptation of CIP (PUB00002): s.2-6 Common Packet Format,
 *          s.3-2 class 0/1 and class 3 connected data (sequence counts), s.5-3/5-4 TCP/IP
 *          Interface and Ethernet Link objects.
 *   [LGX]  Rockwell Automation, "Logix 5000 Controllers Data Access" (1756-PM020): Read Tag 0x4C,
 *          Write Tag 0x4D, Read Modify Write Tag 0x4E, Read/Write Tag Fragmented 0x52/0x53,
 *          Get Instance Attribute List 0x55 on the Symbol class 0x6B; Template class 0x6C.
 *   [DF1]  Rockwell Automation, "DF1 Protocol and Command Set Reference Manual" (1770-6.5.16):
 *          PCCC command/status/transaction layout (ch.6-7), command codes and function codes.
 *
 * A CIP message router request is (little-endian, [CIP1] s.2-4.1):
 *
 *   offset size meaning
 *   ------ ---- --------------------------------------------------------------------
 *        0    1 service code; bit 7 (0x80) is clear in a request
 *        1    1 request path size, in 16-bit words
 *        2  2*n request path (EPATH, padded segments, [CIP1] Appendix C-1)
 *        .    . request data, per service
 *
 * and a response is ([CIP1] s.2-4.2):
 *
 *        0    1 reply service: the request's service | 0x80
 *        1    1 reserved (0)
 *        2    1 general status ([CIP1] Appendix B)
 *        3    1 size of the additional (extended) status, in 16-bit words
 *        4  2*n additional status words
 *        .    . response data
 *
 * Decoding keeps offsets into the caller's bytes (nothing is copied): a decoded side (`struct
 * cip_side`) is valid while those bytes live. Embedded messages (Multiple Service Packet members,
 * the request inside an Unconnected Send) are further entries of the same side's message array,
 * linked to their parent, so the whole tree is bounded by CIP_MSGS_MAX. */
#ifndef QW_PROTO_CIP_H
#define QW_PROTO_CIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/json.h"

struct qw_pctx;

/* Messages kept per decoded side: the root, the request inside an Unconnected Send, and the
 * members of a Multiple Service Packet. Logix clients pack up to ~30 tag reads into one packet
 * (corpus: ndpi_ethernetIP.pcap, plant1_EthernetIP-CIP_141.81.x.pcap); members past the cap are
 * counted (`msgs_dropped`) but not described. */
#define CIP_MSGS_MAX 48
/* Nesting of embedded messages: Unconnected Send -> Multiple Service Packet -> member is the
 * deepest real pattern; a deeper nest is reported and not descended. */
#define CIP_DEPTH_MAX 4
#define CIP_NONE 0xFFu

#define CIP_REPLY_BIT 0x80u

/* Service codes that change how the rest of a message is read ([CIP1] A-4, s.3-5.6). */
#define CIP_SVC_GET_ATTRIBUTES_ALL 0x01u
#define CIP_SVC_MULTIPLE_SERVICE 0x0Au
#define CIP_SVC_EXECUTE_PCCC 0x4Bu
#define CIP_SVC_FORWARD_CLOSE 0x4Eu
#define CIP_SVC_UNCONNECTED_SEND 0x52u
#define CIP_SVC_FORWARD_OPEN 0x54u
#define CIP_SVC_LARGE_FORWARD_OPEN 0x5Bu

/* Class ids the decoder needs ([CIP1] s.5, [LGX]). */
#define CIP_CLASS_IDENTITY 0x01u
#define CIP_CLASS_MESSAGE_ROUTER 0x02u
#define CIP_CLASS_CONNECTION_MANAGER 0x06u
#define CIP_CLASS_PCCC 0x67u
#define CIP_CLASS_SYMBOL 0x6Bu

/* General status 0x00 success and 0x06 partial transfer (more fragments follow) are not errors. */
#define CIP_STATUS_SUCCESS 0x00u
#define CIP_STATUS_PARTIAL 0x06u

enum cip_kind {
    CIP_K_PLAIN = 0,
    CIP_K_MSP,        /* Multiple Service Packet: children are the members */
    CIP_K_UCSEND,     /* Unconnected Send: the child is the embedded request */
    CIP_K_FWD_OPEN,   /* Forward Open or Large Forward Open */
    CIP_K_FWD_CLOSE,
    CIP_K_PCCC,       /* Execute PCCC on the PCCC object */
};

/* What a request path held (first occurrence of each logical segment). */
enum cip_path_has {
    CIP_P_CLASS = 1u << 0,
    CIP_P_INSTANCE = 1u << 1,
    CIP_P_ATTRIBUTE = 1u << 2,
    CIP_P_MEMBER = 1u << 3,
    CIP_P_CONNPT = 1u << 4,
    CIP_P_SYMBOL = 1u << 5,   /* ANSI extended symbol (tag name) or symbolic segment */
    CIP_P_PORT = 1u << 6,
    CIP_P_KEY = 1u << 7,      /* electronic key */
    CIP_P_OTHER = 1u << 8,    /* network, data or other segments */
    CIP_P_BAD = 1u << 9,      /* a segment we could not read (reserved type or cut short) */
    CIP_P_COMPLEX = 1u << 10, /* more than one class segment, or ports: list every segment */
};

struct cip_path {
    uint32_t class_id, instance, attribute, member, conn_point;
    uint16_t has;      /* cip_path_has bits */
    uint16_t off, len; /* the EPATH bytes in the side's buffer */
};

enum cip_msg_flag {
    CIP_M_REPLY = 1u << 0,
    CIP_M_TRUNCATED = 1u << 1, /* a field was cut by the end of the message */
    CIP_M_PATH = 1u << 2,      /* `path` is valid (own path, or the paired request's) */
};

struct cip_msg {
    uint16_t off, len;           /* the whole message in the side's buffer */
    uint16_t data_off, data_len; /* request data after the path / response data after status */
    struct cip_path path;
    uint16_t ext_off;            /* first additional status word (response) */
    uint8_t service;             /* without the reply bit */
    uint8_t status, ext_words;   /* response */
    uint8_t kind;                /* cip_kind */
    uint8_t flags;               /* cip_msg_flag */
    uint8_t parent, first_child, nchildren;
    uint16_t count_declared;     /* MSP: number of services the packet says it holds */
    uint32_t ops;                /* qw_op bits of this message alone */
    const char *name;            /* service name in this message's class context */
};

/* Forward Open / Large Forward Open / Forward Close fields ([CIP1] s.3-5.6.1, 3-5.6.2). */
struct cip_fwd {
    bool large, close, reply, failed;
    uint8_t tick, timeout_ticks, multiplier, trigger;
    uint32_t ot_id, to_id;
    uint16_t serial, vendor;
    uint32_t orig_serial;
    uint32_t ot_rpi, to_rpi, ot_params, to_params; /* params 16 or 32 bits */
    uint32_t ot_api, to_api;
    uint8_t remaining_path, app_reply_words;
    uint16_t cpath_off, cpath_len; /* connection path (request) */
    bool has_ids, has_serial, has_rpi, has_api, has_remaining;
};

/* Unconnected Send fields ([CIP1] s.3-5.6.3). */
struct cip_ucsend {
    uint8_t tick, timeout_ticks;
    uint16_t msg_size;
    uint16_t route_off, route_len;
    uint8_t remaining_path;
    bool has_route, has_remaining;
};

/* A PCCC command carried by Execute PCCC ([DF1] ch.7). */
struct cip_pccc {
    bool reply;
    uint8_t id_len;
    uint16_t vendor;
    uint32_t serial;
    uint8_t cmd, sts, ext_sts, fnc, mode;
    uint16_t tns;
    bool has_cmd, has_fnc, has_ext, has_mode;
    const char *name;
    uint32_t ops;
};

/* Identity object instance attributes 1-7 (and 8 when sent), as Get_Attributes_All returns them
 * and as the ListIdentity CIP Identity item carries them ([CIP1] s.5A-2, [CIP2] s.2-4.3). */
struct cip_identity {
    uint16_t vendor, device_type, product_code;
    uint8_t major, minor;
    uint16_t status;
    uint32_t serial;
    uint16_t name_off; /* product name bytes in the buffer the identity was read from */
    uint8_t name_len;
    uint8_t state;
    bool has_state;
};

/* One decoded side (request or response) of a CIP exchange. */
struct cip_side {
    const uint8_t *buf;
    uint16_t len;
    uint8_t nmsgs;
    uint16_t msgs_dropped;
    uint8_t fwd_msg, uc_msg, pccc_msg, id_msg; /* CIP_NONE when absent */
    bool routed;  /* request: went through an Unconnected Send route to another device */
    struct cip_fwd fwd;
    struct cip_ucsend uc;
    struct cip_pccc pccc;
    struct cip_identity id;
    struct cip_msg msgs[CIP_MSGS_MAX];
};

/* Decode a request. Anomalies ("enip.*") go to `ctx` unless it is NULL (a silent re-decode). */
void cip_decode_request(struct cip_side *s, const uint8_t *buf, size_t len, struct qw_pctx *ctx);
/* Decode a response; `req` is the paired request side, or NULL. */
void cip_decode_response(struct cip_side *s, const uint8_t *buf, size_t len,
                         const struct cip_side *req, struct qw_pctx *ctx);
/* The message a transaction is about: the request inside Unconnected Send(s), else the root.
 * CIP_NONE when the side has no message. */
uint8_t cip_effective(const struct cip_side *s);
/* qw_op bits of message `i` including its embedded messages. */
uint32_t cip_ops(const struct cip_side *s, uint8_t i);
/* True when the side reports an error (general status other than success/partial). */
bool cip_error(const struct cip_side *s);
/* Write the side as the JSON object `key`. */
void cip_write_json(struct qw_json *j, const char *key, const struct cip_side *s);
/* Write identity fields (used for Get_Attributes_All replies and ListIdentity items). */
void cip_write_identity_json(struct qw_json *j, const struct cip_identity *id,
                             const uint8_t *name_base);
/* Read the identity layout ([CIP1] s.5A-2.2 attributes 1-7, then optional state) from `c`.
 * Returns false when the fixed part was cut short. `base` is the buffer `name_off` refers to. */
struct qw_cursor;
bool cip_read_identity(struct qw_cursor *c, const uint8_t *base, struct cip_identity *id,
                       bool with_state);
/* Emit identity facts for `id` about one end of the flow; `ip` (network order bytes) may be
 * NULL. */
void cip_emit_identity(struct qw_pctx *ctx, bool server, const struct cip_identity *id,
                       const uint8_t *name_base, const uint8_t *ip);

/* ---- Tables (cip_tables.c) ----------------------------------------------------------------- */

struct cip_service_info {
    const char *name;
    uint32_t ops;
};

/* Name and operation bits of `service` addressed to `class_id` (`has_class` false when the path
 * named no class; `symbolic` true when it named a tag). */
struct cip_service_info cip_service_lookup(uint8_t service, bool has_class, uint32_t class_id,
                                           bool symbolic);
/* The class-specific service table is in the order the lookup's binary search needs. */
bool cip_class_services_sorted(void);
const char *cip_class_name(uint32_t class_id);        /* NULL when unknown */
const char *cip_status_name(uint8_t status);          /* NULL when unknown */
const char *cip_cm_ext_status_name(uint16_t ext);     /* Connection Manager, NULL when unknown */
const char *cip_vendor_name(uint16_t vendor);         /* NULL when not in the table */
const char *cip_device_type_name(uint16_t type);      /* NULL when unknown */
size_t cip_vendor_count(void);
/* PCCC command (and function) name and ops; `mode` is the change-mode byte when has_mode. */
struct cip_service_info cip_pccc_lookup(uint8_t cmd, bool has_fnc, uint8_t fnc, bool has_mode,
                                        uint8_t mode);
bool cip_pccc_has_fnc(uint8_t cmd); /* does this command carry a function code byte? */

#endif
