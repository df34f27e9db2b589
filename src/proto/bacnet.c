/* BACnet/IP application parser: BVLL, NPDU and APDU.
 *
 * Specification: [135] ANSI/ASHRAE Standard 135, BACnet - A Data Communication Protocol for
 * Building Automation and Control Networks; enumerations as of 135-2020, clause numbers as in
 * 135-2012 (the encodings below have not changed since):
 *   Annex J    BACnet/IP: J.1 (UDP port X'BAC0' = 47808), J.2 BVLL messages (J.2.1 BVLC-Result
 *              .. J.2.12 Original-Broadcast-NPDU, J.2.13 Secure-BVLL of network security).
 *   Clause 6   network layer: 6.2 NPDU (6.2.1 version, 6.2.2 control octet, 6.2.3 DNET/DADR,
 *              SNET/SADR and hop count, 6.2.4 message type), 6.4 network layer messages.
 *   Clause 5.2 segmentation (sequence numbers, windows, SegmentACK).
 *   Clause 20  encoding: 20.1.2-20.1.9 the eight APDU types, 20.2 tagged data (20.2.1 tags,
 *              20.2.3-20.2.14 primitive values), 20.1.2.4/20.1.2.5 max segments and max APDU.
 *   Clauses 13-17 the services: 13.5 AcknowledgeAlarm, 13.6/13.7 COV notifications, 13.8/13.9
 *              event notifications, 13.12 GetEventInformation, 13.13 LifeSafetyOperation,
 *              13.14 SubscribeCOV, 13.15 SubscribeCOVProperty, 14.1 AtomicReadFile, 14.2
 *              AtomicWriteFile, 15.1/15.2 Add/RemoveListElement, 15.3 CreateObject, 15.4
 *              DeleteObject, 15.5 ReadProperty, 15.7 ReadPropertyMultiple, 15.8 ReadRange,
 *              15.9 WriteProperty, 15.10 WritePropertyMultiple, 15.11 WriteGroup, 16.1
 *              DeviceCommunicationControl, 16.2/16.3 private transfer, 16.4
 *              ReinitializeDevice, 16.7/16.8 (UTC)TimeSynchronization, 16.9 Who-Has/I-Have,
 *              16.10 Who-Is/I-Am.
 *   Clause 18  errors, rejects and aborts; clause 21 the ASN.1 productions and enumerations
 *              (names in bacnet_tables.c).
 *
 * One UDP datagram carries one BVLL message ([135] J.2):
 *
 *   offset size meaning
 *   ------ ---- --------------------------------------------------------------------------
 *        0    1 BVLC type: X'81' = BACnet/IP (X'82' is BACnet/IPv6, Annex U, not decoded here)
 *        1    1 BVLC function (J.2.1-J.2.12)
 *        2    2 BVLC length: the whole message, these 4 octets included
 *        4    6 Forwarded-NPDU only: B/IP address (IPv4 + UDP port) of the original source
 *      4/10   . NPDU (functions 4, 9, 10, 11) or the function's own fields
 *
 * NPDU ([135] 6.2): version (1), control, [DNET(2) DLEN(1) DADR(DLEN)], [SNET(2) SLEN(1)
 * SADR(SLEN)], [hop count(1) when DNET], then a network layer message type (+ vendor id for
 * types X'80'-X'FF') and its data, or an APDU. APDU ([135] 20.1): type in the high nibble of the
 * first octet, then per type: invoke id, sequence number and window for segments, service choice
 * and the service's tagged parameters.
 *
 * Transactions. A confirmed request is paired with its SimpleACK, ComplexACK, Error, Reject or
 * Abort by invoke id, direction and the request's network addresses ([135] 5.4: the invoke id is
 * unique per requesting device and peer; a router fronts many devices, so the DNET/DADR of the
 * request and the SNET/SADR of its answer are part of the key). Outstanding requests sit in a
 * bounded queue in the per-flow state. Segments ([135] 5.2) and SegmentACKs are counted into
 * their transaction; one segmented message per flow at a time is reassembled into a bounded
 * buffer (BN_REASM_MAX) so that a segmented ReadPropertyMultiple-ACK still yields the device's
 * identity; a concurrent one is decoded from its first segment only. Unconfirmed requests,
 * network layer messages and BVLL control messages are transactions of their own (BVLL
 * requests to a BBMD are paired with the BVLC-Result or table ACK that follows).
 *
 * Every record's `function` is a number in one space: 0-255 confirmed service choice, 256 +
 * unconfirmed service choice, 512 + network layer message type, 768 + BVLC function (BVLL
 * messages without an NPDU), 1024 + APDU type (a Reject, Abort or SegmentACK whose request was not
 * seen, or a reserved APDU type). The JSON carries the raw codes beside it.
 *
 * Identity facts come from I-Am (device instance, vendor id) and from ReadProperty and
 * ReadPropertyMultiple ACKs about a Device object (vendor-name, model-name, firmware-revision,
 * application-software-version, object-name, location, description, serial-number,
 * vendor-identifier), for the device that sent them: the end that sent them, or for a
 * Forwarded-NPDU the original source whose B/IP address the BBMD put in the BVLL header
 * (qw_emit_identity_addr, [135] J.2.5). An NPDU with SNET came through a router from another
 * BACnet network (MS/TP, another B/IP subnet): its source has no IP address the facts could be
 * pinned on, so they are left out. Each fact is emitted once per flow and address (devices
 * repeat I-Am every few minutes).
 *
 * Outcomes are kept apart (DESIGN.md, practice 3): a header that breaks the spec is an anomaly
 * (malformed), parameters cut short within a valid header are truncated (anomaly, the record is
 * still written), a code without a name is reported as "unknown" without an anomaly. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode/packet.h"
#include "engine/emit.h"
#include "proto/bacnet_tables.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define BN_PORT 47808 /* X'BAC0' ([135] J.1) */
#define BN_BVLC_TYPE_IP 0x81u /* BACnet/IP ([135] J.2) */
#define BN_BVLC_HDR 4u /* type, function, length ([135] J.2) */
#define BN_BIP_ADDR_LEN 6u /* IPv4 address + UDP port ([135] J.1.2) */
#define BN_BDT_ENTRY_LEN 10u /* B/IP address + broadcast distribution mask ([135] J.2.2) */
#define BN_FDT_ENTRY_LEN 10u /* B/IP address + TTL + time remaining ([135] J.2.8) */
#define BN_NPDU_VERSION 1u /* [135] 6.2.1 */
#define BN_DEVICE_TYPE 8u /* BACnetObjectType device */
/* The largest Device instance, which a request uses to mean "the device receiving this" */
#define BN_WILDCARD_INSTANCE 4194303u

/* Outstanding confirmed requests kept per flow. A client normally waits for each answer from a
 * device, but one flow to a router carries the requests to every device behind it; 16 covers
 * that while keeping the state small. Past it the oldest is reported unanswered (anomaly
 * `bacnet.request_queue_full`, once per flow). */
#define BN_QUEUE_MAX 16
/* Segmented message reassembly: one buffer per flow, about three 1476-octet segments (the
 * largest B/IP APDU, [135] 20.1.2.5), enough for a Device object's properties read with
 * ReadPropertyMultiple. A longer message is decoded from its first BN_REASM_MAX octets. */
#define BN_REASM_MAX 4096
/* A rendered value (WriteProperty value, ReadProperty-ACK value, object names) keeps this many
 * octets of UTF-8; the record says when it was cut. */
#define BN_VALUE_MAX 64
/* NPDU addresses: DLEN/SLEN is one octet, but every data link in [135] uses at most 7 octets
 * (Ethernet 6, B/IP 6, MS/TP 1, LonTalk 2 or 7); longer ones are shown cut to 8. */
#define BN_ADDR_MAX 8
/* Networks listed from network layer messages and BDT/FDT entries shown from BVLL tables. */
#define BN_NETS_MAX 16
#define BN_ENTRIES_MAX 8
/* Nesting of constructed values skipped over (opening/closing tags). Real data nests a few
 * levels; deeper input is treated as malformed rather than recursed into. */
#define BN_NEST_MAX 32
/* Identity facts remembered per flow to emit each only once. */
#define BN_IDENT_SEEN_MAX 24

/* The numbering of `function` (see the banner). */
#define BN_FN_UNCONFIRMED 0x100u
#define BN_FN_NETWORK 0x200u
#define BN_FN_BVLL 0x300u
#define BN_FN_APDU 0x400u

/* APDU types ([135] 20.1). */
enum bn_apdu_type {
    BN_CONFIRMED_REQUEST = 0,
    BN_UNCONFIRMED_REQUEST = 1,
    BN_SIMPLE_ACK = 2,
    BN_COMPLEX_ACK = 3,
    BN_SEGMENT_ACK = 4,
    BN_ERROR = 5,
    BN_REJECT = 6,
    BN_ABORT = 7,
};

/* Application tag numbers ([135] 20.2.1.4). */
enum bn_app_tag {
    BN_APP_NULL = 0,
    BN_APP_BOOLEAN = 1,
    BN_APP_UNSIGNED = 2,
    BN_APP_SIGNED = 3,
    BN_APP_REAL = 4,
    BN_APP_DOUBLE = 5,
    BN_APP_OCTET_STRING = 6,
    BN_APP_CHARACTER_STRING = 7,
    BN_APP_BIT_STRING = 8,
    BN_APP_ENUMERATED = 9,
    BN_APP_DATE = 10,
    BN_APP_TIME = 11,
    BN_APP_OBJECT_ID = 12,
};

/* Property identifiers the parser acts on ([135] clause 21). */
enum {
    BN_PROP_APPLICATION_SOFTWARE_VERSION = 12,
    BN_PROP_DESCRIPTION = 28,
    BN_PROP_FIRMWARE_REVISION = 44,
    BN_PROP_LOCATION = 58,
    BN_PROP_MODEL_NAME = 70,
    BN_PROP_OBJECT_IDENTIFIER = 75,
    BN_PROP_OBJECT_NAME = 77,
    BN_PROP_VENDOR_IDENTIFIER = 120,
    BN_PROP_VENDOR_NAME = 121,
    BN_PROP_SERIAL_NUMBER = 372,
};

/* ---- Protocol fact tables ------------------------------------------------------------------ */

static const char *const apdu_type_names[16] = {
    [BN_CONFIRMED_REQUEST] = "confirmed_request",
    [BN_UNCONFIRMED_REQUEST] = "unconfirmed_request",
    [BN_SIMPLE_ACK] = "simple_ack",
    [BN_COMPLEX_ACK] = "complex_ack",
    [BN_SEGMENT_ACK] = "segment_ack",
    [BN_ERROR] = "error",
    [BN_REJECT] = "reject",
    [BN_ABORT] = "abort",
};

static const char *const app_tag_names[13] = {
    [BN_APP_NULL] = "null",
    [BN_APP_BOOLEAN] = "boolean",
    [BN_APP_UNSIGNED] = "unsigned",
    [BN_APP_SIGNED] = "signed",
    [BN_APP_REAL] = "real",
    [BN_APP_DOUBLE] = "double",
    [BN_APP_OCTET_STRING] = "octet_string",
    [BN_APP_CHARACTER_STRING] = "character_string",
    [BN_APP_BIT_STRING] = "bit_string",
    [BN_APP_ENUMERATED] = "enumerated",
    [BN_APP_DATE] = "date",
    [BN_APP_TIME] = "time",
    [BN_APP_OBJECT_ID] = "object_identifier",
};

/* NPDU network priority, control bits 1-0 ([135] 6.2.2). */
static const char *const priority_names[4] = {"normal", "urgent", "critical_equipment",
                                              "life_safety"};

/* Max segments accepted, bits 6-4 of the second octet of a confirmed request ([135]
 * 20.1.2.4): 0 unspecified; 7 is "more than 64", written as 65. */
static const uint8_t max_segments_values[8] = {0, 2, 4, 8, 16, 32, 64, 65};
/* Max APDU length accepted, bits 3-0 ([135] 20.1.2.5); codes 6-15 are reserved (0). */
static const uint16_t max_apdu_values[16] = {50, 128, 206, 480, 1024, 1476};

/* BACnetSegmentation ([135] clause 21). */
static const char *const segmentation_names[4] = {"segmented_both", "segmented_transmit",
                                                  "segmented_receive", "no_segmentation"};

/* DeviceCommunicationControl enable-disable ([135] 16.1). */
static const char *const dcc_names[3] = {"enable", "disable", "disable_initiation"};

struct bn_reinit {
    const char *name;
    uint32_t ops;
};

/* ReinitializeDevice reinitializedStateOfDevice ([135] 16.4). Cold and warm starts
 * restart the device; the backup states open and close the reading of its configuration files
 * ([135] 19.1), the restore states the writing of them; activate-changes applies pending
 * configuration (network port changes) and may restart the device. */
static const struct bn_reinit reinit_states[8] = {
    [0] = {"coldstart", QW_OP_RESTART},
    [1] = {"warmstart", QW_OP_RESTART},
    [2] = {"startbackup", QW_OP_FILE | QW_OP_READ},
    [3] = {"endbackup", QW_OP_FILE | QW_OP_READ},
    [4] = {"startrestore", QW_OP_FILE | QW_OP_CONFIG},
    [5] = {"endrestore", QW_OP_FILE | QW_OP_CONFIG},
    [6] = {"abortrestore", QW_OP_FILE | QW_OP_CONFIG},
    [7] = {"activate_changes", QW_OP_CONFIG | QW_OP_RESTART},
};

/* Reject-Message-To-Network reasons ([135] 6.4.4). */
static const char *const net_reject_names[7] = {
    "other",          "unknown_network",  "router_busy", "unknown_message_type", "message_too_long",
    "security_error", "addressing_error",
};

/* BVLC-Result codes ([135] J.2.1): one NAK per BVLL request. */
struct bn_result {
    uint16_t code;
    const char *name;
    uint8_t function; /* the BVLL request it answers */
};
static const struct bn_result bvlc_results[] = {
    {0x0000, "successful_completion", 0},
    {0x0010, "write_broadcast_distribution_table_nak", 0x01},
    {0x0020, "read_broadcast_distribution_table_nak", 0x02},
    {0x0030, "register_foreign_device_nak", 0x05},
    {0x0040, "read_foreign_device_table_nak", 0x06},
    {0x0050, "delete_foreign_device_table_entry_nak", 0x08},
    {0x0060, "distribute_broadcast_to_network_nak", 0x09},
};

/* What a BVLL message is. */
enum bn_bvll_kind {
    BN_BVLL_REQUEST = 1, /* control request to a BBMD, answered by a result or table ACK */
    BN_BVLL_RESPONSE, /* BVLC-Result, Read-BDT-Ack, Read-FDT-Ack */
    BN_BVLL_NPDU, /* carries an NPDU */
    BN_BVLL_FORWARDED, /* carries the original source's B/IP address and an NPDU */
    BN_BVLL_OPAQUE, /* Secure-BVLL: not decoded */
};

struct bn_bvll {
    const char *name;
    uint32_t ops;
    uint8_t kind;
    uint16_t fixed_len; /* exact BVLC length, 0 when variable */
    uint16_t entry_len; /* variable part made of entries of this size, 0 when none */
};

/* BVLC functions ([135] J.2). Reading a BBMD's tables reads its configuration; writing the BDT
 * or deleting an FDT entry changes it; registering as a foreign device opens a subscription to
 * the network's broadcasts for the TTL. */
static const struct bn_bvll bvll_funcs[13] = {
    [0x00] = {"bvlc_result", 0, BN_BVLL_RESPONSE, 6, 0},
    [0x01] = {"write_broadcast_distribution_table", QW_OP_CONFIG, BN_BVLL_REQUEST, 0,
              BN_BDT_ENTRY_LEN},
    [0x02] = {"read_broadcast_distribution_table", QW_OP_READ, BN_BVLL_REQUEST, 4, 0},
    [0x03] = {"read_broadcast_distribution_table_ack", 0, BN_BVLL_RESPONSE, 0, BN_BDT_ENTRY_LEN},
    [0x04] = {"forwarded_npdu", 0, BN_BVLL_FORWARDED, 0, 0},
    [0x05] = {"register_foreign_device", QW_OP_SESSION, BN_BVLL_REQUEST, 6, 0},
    [0x06] = {"read_foreign_device_table", QW_OP_READ, BN_BVLL_REQUEST, 4, 0},
    [0x07] = {"read_foreign_device_table_ack", 0, BN_BVLL_RESPONSE, 0, BN_FDT_ENTRY_LEN},
    [0x08] = {"delete_foreign_device_table_entry", QW_OP_CONFIG, BN_BVLL_REQUEST, 10, 0},
    [0x09] = {"distribute_broadcast_to_network", 0, BN_BVLL_NPDU, 0, 0},
    [0x0A] = {"original_unicast_npdu", 0, BN_BVLL_NPDU, 0, 0},
    [0x0B] = {"original_broadcast_npdu", 0, BN_BVLL_NPDU, 0, 0},
    [0x0C] = {"secure_bvll", 0, BN_BVLL_OPAQUE, 0, 0},
};

struct bn_netmsg {
    const char *name;
    uint32_t ops;
};

/* Network layer message types ([135] 6.2.4, 6.4; the security messages of clause 24).
 * Initialize-Routing-Table with ports rewrites a router's table (config; without ports it only
 * asks for the table, see bn_dec_netmsg). Establish/Disconnect-Connection set up and tear down
 * PTP half-routers' links. The network security messages carry keys and challenges. */
static const struct bn_netmsg net_msgs[0x14] = {
    [0x00] = {"who_is_router_to_network", 0},
    [0x01] = {"i_am_router_to_network", 0},
    [0x02] = {"i_could_be_router_to_network", 0},
    [0x03] = {"reject_message_to_network", 0},
    [0x04] = {"router_busy_to_network", 0},
    [0x05] = {"router_available_to_network", 0},
    [0x06] = {"initialize_routing_table", QW_OP_CONFIG},
    [0x07] = {"initialize_routing_table_ack", 0},
    [0x08] = {"establish_connection_to_network", QW_OP_SESSION},
    [0x09] = {"disconnect_connection_to_network", QW_OP_SESSION},
    [0x0A] = {"challenge_request", QW_OP_AUTH},
    [0x0B] = {"security_payload", QW_OP_AUTH},
    [0x0C] = {"security_response", QW_OP_AUTH},
    [0x0D] = {"request_key_update", QW_OP_AUTH},
    [0x0E] = {"update_key_set", QW_OP_AUTH | QW_OP_CONFIG},
    [0x0F] = {"update_distribution_key", QW_OP_AUTH | QW_OP_CONFIG},
    [0x10] = {"request_master_key", QW_OP_AUTH},
    [0x11] = {"set_master_key", QW_OP_AUTH | QW_OP_CONFIG},
    [0x12] = {"what_is_network_number", 0},
    [0x13] = {"network_number_is", 0},
};

/* ---- Decoded PDU --------------------------------------------------------------------------- */

/* Which members of struct bn_pdu hold a value. */
enum bn_field {
    BN_F_BVLC_RESULT = 1ull << 0,
    BN_F_TTL = 1ull << 1,
    BN_F_BIP = 1ull << 2, /* bip: Forwarded-NPDU source or FDT entry to delete */
    BN_F_ENTRIES = 1ull << 3, /* BDT / FDT entries */
    BN_F_NPDU = 1ull << 4,
    BN_F_DNET = 1ull << 5,
    BN_F_SNET = 1ull << 6,
    BN_F_NETMSG = 1ull << 7,
    BN_F_NET_VENDOR = 1ull << 8,
    BN_F_NETS = 1ull << 9,
    BN_F_NET_REJECT = 1ull << 10,
    BN_F_PERF = 1ull << 11,
    BN_F_NETNUM = 1ull << 12,
    BN_F_TERM_TIME = 1ull << 13,
    BN_F_APDU = 1ull << 14,
    BN_F_SERVICE = 1ull << 15,
    BN_F_OBJECT = 1ull << 16,
    BN_F_PROPERTY = 1ull << 17,
    BN_F_INDEX = 1ull << 18,
    BN_F_VALUE = 1ull << 19,
    BN_F_PRIORITY = 1ull << 20,
    BN_F_COUNTS = 1ull << 21, /* objects / properties (RPM, WPM requests) */
    BN_F_RESULTS = 1ull << 22, /* results / errors (RPM-ACK) */
    BN_F_DEVICE = 1ull << 23,
    BN_F_IAM = 1ull << 24, /* max APDU, segmentation (I-Am) */
    BN_F_VENDOR = 1ull << 25,
    BN_F_RANGE = 1ull << 26, /* Who-Is / Who-Has limits */
    BN_F_OBJECT_NAME = 1ull << 27, /* value holds an object name (Who-Has, I-Have) */
    BN_F_PROCESS = 1ull << 28,
    BN_F_LIFETIME = 1ull << 29,
    BN_F_ISSUE = 1ull << 30,
    BN_F_DCC = 1ull << 31,
    BN_F_DURATION = 1ull << 32,
    BN_F_PASSWORD = 1ull << 33,
    BN_F_REINIT = 1ull << 34,
    BN_F_SERVICE_NUMBER = 1ull << 35,
    BN_F_FILE = 1ull << 36,
    BN_F_FILE_COUNT = 1ull << 37,
    BN_F_EOF = 1ull << 38,
    BN_F_ERROR = 1ull << 39,
    BN_F_REASON = 1ull << 40, /* reject / abort reason */
    BN_F_SEG_INFO = 1ull << 41, /* sequence number and window */
    BN_F_ITEMS = 1ull << 42, /* value count (list of values, ReadRange items, ...) */
    BN_F_TIME = 1ull << 43, /* value holds a date and time (time synchronisation) */
    BN_F_GROUP = 1ull << 44,
    BN_F_TIME_REMAINING = 1ull << 45,
    BN_F_EVENT_STATE = 1ull << 46,
    BN_F_LIFE_SAFETY = 1ull << 47,
};

struct bn_addr {
    uint16_t net;
    uint8_t len; /* as sent (0 = broadcast on DNET) */
    uint8_t mac[BN_ADDR_MAX];
};

/* One PDU, summarised into fixed storage: no pointer into the packet survives the decode, so a
 * queued request or a segmented response can be written long after its datagram is gone. */
struct bn_pdu {
    uint64_t f; /* bn_field bits */
    uint32_t ops;
    /* BVLL */
    uint8_t bvlc_function;
    uint16_t bvlc_length;
    uint16_t bvlc_result;
    uint16_t ttl;
    uint8_t bip[BN_BIP_ADDR_LEN];
    uint16_t nentries;
    uint16_t nnets; /* networks in a network layer message; at most BN_NETS_MAX kept */
    union { /* a BVLL table is never in the same message as a network layer message */
        uint8_t entries[BN_ENTRIES_MAX][BN_BDT_ENTRY_LEN];
        uint16_t nets[BN_NETS_MAX];
    };
    /* NPDU */
    uint8_t control;
    struct bn_addr dst, src;
    uint8_t hop_count;
    uint8_t net_msg;
    uint16_t net_vendor;
    uint8_t net_reject, perf_index, netnum_flag, term_time;
    uint16_t netnum;
    /* APDU header */
    uint8_t apdu_type;
    uint8_t invoke_id;
    uint8_t seq, window;
    uint8_t max_segs, max_apdu;
    uint8_t service;
    bool seg, more, sa, srv, nak;
    uint8_t reason;
    bool service_from_request; /* a Reject/Abort/SegmentACK named after its request's service */
    /* service parameters: from `object` to `file_count` (cleared together, see
     * clear_service_fields) */
    uint32_t object; /* type << 22 | instance */
    uint32_t property;
    uint32_t array_index;
    uint8_t priority;
    uint8_t value_type; /* application tag of the value, 0xFF: constructed */
    uint8_t value_len;
    bool value_cut;
    char value[BN_VALUE_MAX];
    uint16_t nobjects, nproperties, nresults, nerrors, nitems;
    uint32_t device;
    uint32_t max_apdu_accepted, segmentation;
    uint32_t vendor_id, service_number;
    uint32_t low, high;
    uint32_t process_id, lifetime, duration, time_remaining;
    uint32_t state; /* DCC enable-disable, reinitialised state, event state, life safety op */
    uint32_t group, error_class, error_code;
    bool issue_confirmed, password, eof, record_access;
    int64_t file_start;
    uint64_t file_count;
    /* end of the service parameters */
    /* transaction bookkeeping written with the PDU */
    uint16_t segments; /* segments of this message seen (segmented only) */
    uint8_t reassembly; /* enum bn_reasm_status */
    bool truncated;
};

enum bn_reasm_status {
    BN_REASM_NONE = 0, /* not segmented */
    BN_REASM_COMPLETE, /* every segment in order, within BN_REASM_MAX */
    BN_REASM_PARTIAL, /* a prefix: a segment missing, or longer than BN_REASM_MAX */
    BN_REASM_FIRST_ONLY, /* decoded from the first segment: the buffer was busy */
    BN_REASM_NOT_DECODED, /* not decoded: first segment missing, or an answer while busy */
};

static const char *const reasm_names[8] = {"none", "complete", "partial", "first_segment_only",
                                           "not_decoded"};

/* ---- Per-flow state ------------------------------------------------------------------------ */

/* A confirmed transaction in flight: its request (or only its response when the request was not
 * seen and the response is segmented), and the counters of its segments and SegmentACKs. */
struct bn_slot {
    bool used;
    bool has_req;
    bool await_final_ack; /* response complete; its last SegmentACK may still come */
    uint8_t req_dir;
    uint8_t invoke_id;
    struct bn_addr peer, self; /* the request's DNET/DADR and SNET/SADR, when it had them */
    bool has_peer, has_self;
    uint8_t service;
    uint8_t rsp_last_seq;
    uint8_t req_next_seq, rsp_next_seq;
    bool rsp_started;
    uint8_t rsp_bvlc, rsp_control; /* the segmented answer's BVLL function and NPDU control */
    uint16_t rsp_segments;
    uint16_t segment_acks, segment_naks;
    uint32_t seq;
    uint64_t req_ns, rsp_ns;
    struct bn_pdu req;
};

/* The one reassembly buffer of a flow. */
struct bn_reasm {
    bool active;
    bool response; /* reassembling the slot's response (else its request) */
    bool broken; /* a segment was missed: the buffer holds a prefix */
    bool overflow; /* the message is longer than the buffer */
    uint8_t slot; /* owner */
    uint16_t len;
    uint8_t buf[BN_REASM_MAX];
};

/* The pending BVLL control request (to a BBMD) waiting for its result. */
struct bn_bvll_pending {
    bool used;
    uint8_t dir;
    uint64_t ts_ns;
    struct bn_pdu pdu;
};

struct bn_view {
    const struct bn_pdu *req, *rsp;
    uint16_t segment_acks, segment_naks;
    uint16_t partial_segments; /* ComplexACK segments seen before an Abort/Error/Reject ended it */
};

struct bn_state {
    bool queue_full_reported;
    uint8_t nqueued;
    uint32_t next_seq;
    struct bn_slot slots[BN_QUEUE_MAX];
    struct bn_reasm reasm;
    struct bn_pdu seg_rsp; /* the reassembled response's summary (owner: reasm.slot) */
    struct bn_bvll_pending bvll;
    struct bn_view view;
    uint8_t nident;
    uint32_t ident_seen[BN_IDENT_SEEN_MAX];
};

/* ---- Decoding context ---------------------------------------------------------------------- */

struct bn_dec {
    struct qw_cursor c;
    struct bn_pdu *p;
    struct qw_pctx *ctx; /* NULL: a silent re-decode (anomalies already reported) */
    struct bn_state *st; /* for identity facts; NULL: none */
    bool identity; /* the sender of this PDU is the device itself (see the banner) */
    bool identity_server; /* ... and it is the flow's server end */
    bool partial; /* decoding a prefix of the parameters: running out is expected */
    bool invalid; /* a malformed tag was met */
};

static void dec_anomaly(struct bn_dec *d, const char *name, const char *detail)
{
    if (d->ctx) qw_emit_anomaly(d->ctx, name, detail);
}

/* FNV-1a over an identity fact and the end it is about, for the per-flow "already emitted" set. */
static uint32_t ident_hash(bool server, const char *attr, const char *v, size_t n)
{
    uint32_t h = 2166136261u;
    h = (h ^ (server ? 1u : 2u)) * 16777619u;
    for (const char *a = attr; *a; a++) h = (h ^ (uint8_t)*a) * 16777619u;
    h = (h ^ 0xFFu) * 16777619u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)v[i]) * 16777619u;
    return h;
}

static void emit_identity(struct bn_dec *d, const char *attr, const char *v, size_t n)
{
    if (!d->identity || !d->ctx || !d->st || n == 0) return;
    struct bn_state *st = d->st;
    /* a BBMD's Forwarded-NPDU: the original source's IPv4 address (the port is left out) */
    bool forwarded = d->p && d->p->bvlc_function == 0x04 && (d->p->f & BN_F_BIP);
    uint32_t h = ident_hash(d->identity_server, attr, v, n);
    if (forwarded)
        for (unsigned i = 0; i < 4; i++) h = (h ^ d->p->bip[i]) * 16777619u;
    for (unsigned i = 0; i < st->nident; i++)
        if (st->ident_seen[i] == h) return;
    if (st->nident < BN_IDENT_SEEN_MAX) st->ident_seen[st->nident++] = h;
    if (forwarded) {
        struct qw_addr a;
        qw_addr_from_v4(&a, d->p->bip);
        qw_emit_identity_addr(d->ctx, &a, attr, v, n);
    } else {
        qw_emit_identity(d->ctx, d->identity_server, attr, v, n);
    }
}

static void emit_identity_u32(struct bn_dec *d, const char *attr, uint32_t v)
{
    char b[16];
    int n = snprintf(b, sizeof b, "%" PRIu32, v);
    emit_identity(d, attr, b, (size_t)n);
}

/* ---- Tagged data ([135] 20.2.1) ------------------------------------------------------------ */

enum bn_tag_kind { BN_TAG_APP, BN_TAG_CTX, BN_TAG_OPEN, BN_TAG_CLOSE };

struct bn_tag {
    uint8_t kind;
    uint8_t number;
    uint8_t lvt; /* for application booleans: the value */
    uint32_t len; /* content octets */
    const uint8_t *data; /* the content (len octets) */
};

/* Read one tag and its content. Returns false at the end of the data or on a broken tag; a
 * broken tag (an application tag with LVT 6/7, a length past the data) also sets d->invalid
 * or the cursor's error. */
static bool tag_read(struct bn_dec *d, struct qw_cursor *c, struct bn_tag *t)
{
    if (qw_cur_left(c) == 0) return false;
    uint8_t b = qw_cur_u8(c);
    t->number = b >> 4;
    t->lvt = b & 7u;
    t->len = 0;
    t->data = NULL;
    bool context = (b & 8u) != 0;
    if (t->number == 15) {
        t->number = qw_cur_u8(c); /* extended tag number, [135] 20.2.1.2 */
        if (c->err) return false;
    }
    if (context && (t->lvt == 6 || t->lvt == 7)) {
        t->kind = t->lvt == 6 ? BN_TAG_OPEN : BN_TAG_CLOSE;
        return true;
    }
    t->kind = context ? BN_TAG_CTX : BN_TAG_APP;
    if (!context && t->number == BN_APP_BOOLEAN) return true; /* value in LVT, [135] 20.2.3 */
    if (!context && t->lvt > 5) {
        d->invalid = true;
        c->err = true;
        return false;
    }
    uint32_t len = t->lvt;
    if (t->lvt == 5) { /* extended length, [135] 20.2.1.3.1 */
        len = qw_cur_u8(c);
        if (len == 254)
            len = qw_cur_be16(c);
        else if (len == 255)
            len = qw_cur_be32(c);
    }
    t->len = len;
    t->data = qw_cur_take(c, len);
    if (!t->data && len) return false;
    return !c->err;
}

/* Peek at the next tag without consuming it. A broken tag found by a peek is where the data
 * stands, so it marks the decode invalid all the same. */
static bool tag_peek(struct bn_dec *d, struct bn_tag *t)
{
    struct qw_cursor c = d->c;
    bool ok = tag_read(d, &c, t);
    /* no tag where bytes remain: the data is cut inside a tag, and decoding stops there */
    if (!ok && qw_cur_left(&d->c) > 0) d->c.err = true;
    return ok;
}

/* Consume the next tag if it is `kind` with `number` (any number when number < 0). */
static bool tag_take(struct bn_dec *d, uint8_t kind, int number, struct bn_tag *t)
{
    struct bn_tag tmp;
    if (!t) t = &tmp;
    if (!tag_peek(d, t) || t->kind != kind || (number >= 0 && t->number != number)) return false;
    return tag_read(d, &d->c, t);
}

/* Unsigned content (Unsigned, Enumerated, object identifier), big-endian; longer than 8 octets
 * is malformed. */
static uint64_t tag_uint(struct bn_dec *d, const struct bn_tag *t)
{
    if (t->len > 8) {
        d->invalid = true;
        return UINT64_MAX;
    }
    uint64_t v = 0;
    for (uint32_t i = 0; i < t->len; i++) v = v << 8 | t->data[i];
    return v;
}

static uint32_t tag_u32(struct bn_dec *d, const struct bn_tag *t)
{
    uint64_t v = tag_uint(d, t);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Signed content, two's complement ([135] 20.2.5). */
static int64_t tag_sint(struct bn_dec *d, const struct bn_tag *t)
{
    if (t->len == 0) return 0;
    if (t->len > 8) {
        d->invalid = true;
        return 0;
    }
    uint64_t v = (t->data[0] & 0x80u) ? UINT64_MAX : 0;
    for (uint32_t i = 0; i < t->len; i++) v = v << 8 | t->data[i];
    return (int64_t)v;
}

/* A context-tagged primitive number: true and *v when the next tag is [number]. */
static bool ctx_u32(struct bn_dec *d, int number, uint32_t *v)
{
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_CTX, number, &t)) return false;
    *v = tag_u32(d, &t);
    return true;
}

static bool app_u32(struct bn_dec *d, uint8_t app, uint32_t *v)
{
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_APP, app, &t)) return false;
    *v = tag_u32(d, &t);
    return true;
}

/* Skip tags up to and including the closing tag that matches an opening tag already read. */
static bool skip_constructed(struct bn_dec *d)
{
    unsigned depth = 1;
    struct bn_tag t;
    while (depth > 0) {
        if (!tag_read(d, &d->c, &t)) return false;
        if (t.kind == BN_TAG_OPEN) {
            if (++depth > BN_NEST_MAX) {
                d->invalid = true;
                d->c.err = true;
                return false;
            }
        } else if (t.kind == BN_TAG_CLOSE) {
            depth--;
        }
    }
    return true;
}

/* Skip one element: a primitive tag, or an opening tag and everything up to its closing tag. */
static bool skip_element(struct bn_dec *d)
{
    struct bn_tag t;
    if (!tag_read(d, &d->c, &t)) return false;
    if (t.kind == BN_TAG_CLOSE) {
        d->invalid = true; /* a closing tag where an element should start */
        return false;
    }
    return t.kind == BN_TAG_OPEN ? skip_constructed(d) : true;
}

/* Skip elements up to the closing tag [number] (consumed); false if the data ends first. */
static bool skip_to_close(struct bn_dec *d, int number)
{
    struct bn_tag t;
    while (tag_peek(d, &t)) {
        if (t.kind == BN_TAG_CLOSE) {
            tag_read(d, &d->c, &t);
            if (t.number != number) d->invalid = true;
            return t.number == number;
        }
        if (!skip_element(d)) return false;
    }
    return false;
}

/* ---- Value rendering ----------------------------------------------------------------------- */

/* Append to a bounded text buffer. */
struct bn_text {
    char *buf;
    size_t len, cap;
    bool cut;
};

static void text_put(struct bn_text *t, const char *s, size_t n)
{
    if (t->len + n > t->cap) {
        n = t->cap - t->len;
        t->cut = true;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void text_printf(struct bn_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(struct bn_text *t, const char *fmt, ...)
{
    char tmp[48];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    text_put(t, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* One code point as UTF-8; when it does not fit whole, nothing is written (no split
 * sequences). */
static void text_utf8(struct bn_text *t, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (t->len + n > t->cap) {
        t->cut = true;
        t->len = t->cap; /* nothing more fits after a dropped character */
        return;
    }
    memcpy(t->buf + t->len, u, n);
    t->len += n;
}

/* Character sets of a CharacterString ([135] 20.2.9). */
enum {
    BN_CHARSET_UTF8 = 0,
    BN_CHARSET_DBCS = 1, /* followed by a 2-octet code page */
    BN_CHARSET_JIS = 2,
    BN_CHARSET_UCS4 = 3,
    BN_CHARSET_UCS2 = 4,
    BN_CHARSET_LATIN1 = 5,
};

/* A CharacterString as UTF-8: UCS-2, UCS-4 and ISO 8859-1 are converted; DBCS and JIS X 0208
 * bytes are kept as sent (the JSON writer replaces what is not UTF-8). Trailing NULs and spaces
 * (padding) are trimmed. */
static void text_charstring(struct bn_text *t, const uint8_t *s, uint32_t n)
{
    if (n == 0) return;
    uint8_t set = s[0];
    s++;
    n--;
    if (set == BN_CHARSET_DBCS) {
        uint32_t skip = n < 2 ? n : 2;
        s += skip;
        n -= skip;
    }
    size_t start = t->len;
    switch (set) {
    case BN_CHARSET_UCS2:
        for (uint32_t i = 0; i + 1 < n && !t->cut; i += 2)
            text_utf8(t, (uint32_t)s[i] << 8 | s[i + 1]);
        break;
    case BN_CHARSET_UCS4:
        for (uint32_t i = 0; i + 3 < n && !t->cut; i += 4)
            text_utf8(t, (uint32_t)s[i] << 24 | (uint32_t)s[i + 1] << 16 | (uint32_t)s[i + 2] << 8 |
                             s[i + 3]);
        break;
    case BN_CHARSET_LATIN1:
        for (uint32_t i = 0; i < n && !t->cut; i++) text_utf8(t, s[i]);
        break;
    default: {
        /* UTF-8 (and DBCS/JIS as sent): cut at a character boundary. */
        size_t room = t->cap - t->len;
        size_t take = n;
        if (take > room) {
            take = room;
            while (take > 0 && (s[take] & 0xC0u) == 0x80u) take--;
            t->cut = true;
        }
        memcpy(t->buf + t->len, s, take);
        t->len += take;
        break;
    }
    }
    while (t->len > start && (t->buf[t->len - 1] == '\0' || t->buf[t->len - 1] == ' ')) t->len--;
}

static void text_objid(struct bn_text *t, uint32_t id)
{
    uint32_t type = id >> 22, inst = id & 0x3FFFFFu;
    const char *name = bn_object_type_name(type);
    if (name)
        text_printf(t, "%s:%" PRIu32, name, inst);
    else
        text_printf(t, "%" PRIu32 ":%" PRIu32, type, inst);
}

/* Date ([135] 20.2.12): year-1900, month, day, day of week; X'FF' is "any". */
static void text_date(struct bn_text *t, const uint8_t *b)
{
    if (b[0] == 0xFF)
        text_put(t, "*", 1);
    else
        text_printf(t, "%u", 1900u + b[0]);
    if (b[1] == 0xFF)
        text_put(t, "-*", 2);
    else
        text_printf(t, "-%02u", b[1]);
    if (b[2] == 0xFF)
        text_put(t, "-*", 2);
    else
        text_printf(t, "-%02u", b[2]);
}

/* Time ([135] 20.2.13): hour, minute, second, hundredths; X'FF' is "any". */
static void text_time(struct bn_text *t, const uint8_t *b)
{
    for (int i = 0; i < 4; i++) {
        static const char sep[4] = {0, ':', ':', '.'};
        if (sep[i]) text_put(t, &sep[i], 1);
        if (b[i] == 0xFF)
            text_put(t, "*", 1);
        else
            text_printf(t, "%02u", b[i]);
    }
}

/* Render one application-tagged value ([135] 20.2.2-20.2.14). */
static void text_app_value(struct bn_dec *d, struct bn_text *t, const struct bn_tag *g)
{
    switch (g->number) {
    case BN_APP_NULL: text_put(t, "null", 4); break;
    case BN_APP_BOOLEAN:
        if (g->lvt)
            text_put(t, "true", 4);
        else
            text_put(t, "false", 5);
        break;
    case BN_APP_UNSIGNED:
    case BN_APP_ENUMERATED: text_printf(t, "%" PRIu64, tag_uint(d, g)); break;
    case BN_APP_SIGNED: text_printf(t, "%" PRId64, tag_sint(d, g)); break;
    case BN_APP_REAL:
        if (g->len == 4) {
            uint32_t u = (uint32_t)tag_uint(d, g);
            float f;
            memcpy(&f, &u, sizeof f);
            text_printf(t, "%.7g", (double)f);
        } else {
            d->invalid = true;
        }
        break;
    case BN_APP_DOUBLE:
        if (g->len == 8) {
            uint64_t u = tag_uint(d, g);
            double v;
            memcpy(&v, &u, sizeof v);
            text_printf(t, "%.15g", v);
        } else {
            d->invalid = true;
        }
        break;
    case BN_APP_OCTET_STRING:
        for (uint32_t i = 0; i < g->len && !t->cut; i++) text_printf(t, "%02x", g->data[i]);
        break;
    case BN_APP_CHARACTER_STRING: text_charstring(t, g->data, g->len); break;
    case BN_APP_BIT_STRING:
        /* first octet: unused bits in the last octet ([135] 20.2.10) */
        if (g->len >= 1) {
            uint32_t bits = (g->len - 1) * 8;
            uint8_t unused = g->data[0] & 7u;
            bits = bits >= unused ? bits - unused : 0;
            for (uint32_t i = 0; i < bits && !t->cut; i++)
                text_put(t, (g->data[1 + i / 8] >> (7 - i % 8)) & 1u ? "1" : "0", 1);
        }
        break;
    case BN_APP_DATE:
        if (g->len == 4)
            text_date(t, g->data);
        else
            d->invalid = true;
        break;
    case BN_APP_TIME:
        if (g->len == 4)
            text_time(t, g->data);
        else
            d->invalid = true;
        break;
    case BN_APP_OBJECT_ID:
        if (g->len == 4)
            text_objid(t, (uint32_t)tag_uint(d, g));
        else
            d->invalid = true;
        break;
    default: /* reserved application tags 13-15: shown as hex */
        for (uint32_t i = 0; i < g->len && !t->cut; i++) text_printf(t, "%02x", g->data[i]);
        break;
    }
}

/* Property values that identify a Device object, and the identity attribute each feeds. */
struct bn_ident_prop {
    uint32_t property;
    const char *attr;
};
static const struct bn_ident_prop ident_props[] = {
    {BN_PROP_VENDOR_NAME, "vendor"},
    {BN_PROP_MODEL_NAME, "model"},
    {BN_PROP_FIRMWARE_REVISION, "firmware"},
    {BN_PROP_APPLICATION_SOFTWARE_VERSION, "software_version"},
    {BN_PROP_OBJECT_NAME, "name"},
    {BN_PROP_LOCATION, "location"},
    {BN_PROP_DESCRIPTION, "description"},
    {BN_PROP_SERIAL_NUMBER, "serial"},
};

/* Identity from one property value of a Device object (`g` its first element). */
static void ident_from_property(struct bn_dec *d, uint32_t object, uint32_t prop,
                                const struct bn_tag *g)
{
    if (!d->identity || (object >> 22) != BN_DEVICE_TYPE || g->kind != BN_TAG_APP) return;
    if (prop == BN_PROP_VENDOR_IDENTIFIER && g->number == BN_APP_UNSIGNED) {
        uint32_t vid = tag_u32(d, g);
        emit_identity_u32(d, "vendor_id", vid);
        const char *vn = bn_vendor_name(vid);
        if (vn) emit_identity(d, "vendor", vn, strlen(vn));
        return;
    }
    if (prop == BN_PROP_OBJECT_IDENTIFIER && g->number == BN_APP_OBJECT_ID && g->len == 4) {
        uint32_t id = (uint32_t)tag_uint(d, g);
        if ((id >> 22) == BN_DEVICE_TYPE && (id & 0x3FFFFFu) != BN_WILDCARD_INSTANCE)
            emit_identity_u32(d, "device_instance", id & 0x3FFFFFu);
        return;
    }
    if (g->number != BN_APP_CHARACTER_STRING) return;
    for (size_t i = 0; i < sizeof ident_props / sizeof ident_props[0]; i++) {
        if (ident_props[i].property != prop) continue;
        char buf[256];
        struct bn_text t = {buf, 0, sizeof buf, false};
        text_charstring(&t, g->data, g->len);
        /* an identity is text: it ends at a NUL (a UCS-2 string sent as UTF-8 would otherwise
         * give an empty-looking value) */
        emit_identity(d, ident_props[i].attr, buf, strnlen(buf, t.len));
        return;
    }
}

/* The value of a property: the elements up to closing tag [close] (the opening tag is read).
 * The first element is rendered into p->value when `keep`; p->nitems counts the elements. */
static void dec_property_value(struct bn_dec *d, int close, bool keep, uint32_t object,
                               uint32_t prop)
{
    struct bn_pdu *p = d->p;
    struct bn_tag g;
    uint16_t n = 0;
    while (tag_peek(d, &g)) {
        if (g.kind == BN_TAG_CLOSE) {
            tag_read(d, &d->c, &g);
            if (g.number != close) d->invalid = true;
            break;
        }
        if (n == 0) {
            ident_from_property(d, object, prop, &g);
            if (keep) {
                struct bn_text t = {p->value, 0, sizeof p->value, false};
                if (g.kind == BN_TAG_APP) {
                    p->value_type = g.number;
                    text_app_value(d, &t, &g);
                } else {
                    p->value_type = 0xFF; /* constructed or context-tagged */
                }
                p->value_len = (uint8_t)t.len;
                p->value_cut = t.cut;
                p->f |= BN_F_VALUE;
            }
        }
        if (!skip_element(d)) return;
        if (n < UINT16_MAX) n++;
    }
    if (keep && n > 1) {
        p->nitems = n;
        p->f |= BN_F_ITEMS;
    }
}

/* ---- Service decoders ([135] clauses 13-16) ------------------------------------------------- */

/* A service decoder: false when it stopped on missing or malformed parameters. */
typedef bool (*bn_decode_fn)(struct bn_dec *d);

static void set_object(struct bn_pdu *p, uint32_t id)
{
    p->object = id;
    p->f |= BN_F_OBJECT;
}

static bool ctx_object(struct bn_dec *d, int number)
{
    uint32_t v;
    if (!ctx_u32(d, number, &v)) return false;
    set_object(d->p, v);
    return true;
}

static bool app_object(struct bn_dec *d)
{
    uint32_t v;
    if (!app_u32(d, BN_APP_OBJECT_ID, &v)) return false;
    set_object(d->p, v);
    return true;
}

static bool ctx_property(struct bn_dec *d, int number)
{
    if (!ctx_u32(d, number, &d->p->property)) return false;
    d->p->f |= BN_F_PROPERTY;
    return true;
}

static void ctx_index(struct bn_dec *d, int number)
{
    if (ctx_u32(d, number, &d->p->array_index)) d->p->f |= BN_F_INDEX;
}

/* A required element is missing (or malformed): stop decoding this PDU. */
static bool missing(struct bn_dec *d)
{
    d->c.err = true;
    return false;
}

/* Skip whatever parameters remain (services decoded only in part). */
static bool dec_rest(struct bn_dec *d)
{
    qw_cur_skip(&d->c, qw_cur_left(&d->c));
    return !d->c.err;
}

/* ReadProperty request ([135] 15.5); also the head of ReadRange, Add/RemoveListElement. */
static bool dec_object_property(struct bn_dec *d)
{
    if (!ctx_object(d, 0) || !ctx_property(d, 1)) return missing(d);
    ctx_index(d, 2);
    return !d->c.err;
}

static bool dec_read_property_req(struct bn_dec *d)
{
    dec_object_property(d);
    return !d->c.err;
}

/* ReadProperty-ACK ([135] 15.5): object, property, [index], value in [3]. */
static bool dec_read_property_ack(struct bn_dec *d)
{
    dec_object_property(d);
    if (d->c.err) return !d->c.err;
    if (!tag_take(d, BN_TAG_OPEN, 3, NULL)) return missing(d);
    /* one element of an array is not the property's identity value */
    uint32_t prop = (d->p->f & BN_F_INDEX) ? UINT32_MAX : d->p->property;
    dec_property_value(d, 3, true, d->p->object, prop);
    return !d->c.err;
}

/* WriteProperty request ([135] 15.9): object, property, [index], value in [3], [priority]. */
static bool dec_write_property_req(struct bn_dec *d)
{
    dec_object_property(d);
    if (d->c.err) return !d->c.err;
    if (!tag_take(d, BN_TAG_OPEN, 3, NULL)) return missing(d);
    dec_property_value(d, 3, true, 0, 0);
    uint32_t prio;
    if (ctx_u32(d, 4, &prio)) {
        d->p->priority = prio > 255 ? 255 : (uint8_t)prio;
        d->p->f |= BN_F_PRIORITY;
    }
    return !d->c.err;
}

static void count_u16(uint16_t *n)
{
    if (*n < UINT16_MAX) (*n)++;
}

/* ReadPropertyMultiple request ([135] 15.7): ReadAccessSpecifications, each an object and
 * its property references ([0] property, [1] index) in [1]. The first one is shown. */
static bool dec_rpm_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    p->f |= BN_F_COUNTS;
    while (qw_cur_left(&d->c) > 0) {
        uint32_t obj;
        if (!ctx_u32(d, 0, &obj)) return missing(d);
        if (p->nobjects == 0) set_object(p, obj);
        count_u16(&p->nobjects);
        if (!tag_take(d, BN_TAG_OPEN, 1, NULL)) return missing(d);
        struct bn_tag t;
        while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
            uint32_t prop, idx;
            if (!ctx_u32(d, 0, &prop)) return missing(d);
            bool has_idx = ctx_u32(d, 1, &idx);
            if (p->nproperties == 0) {
                p->property = prop;
                p->f |= BN_F_PROPERTY;
                if (has_idx) {
                    p->array_index = idx;
                    p->f |= BN_F_INDEX;
                }
            }
            count_u16(&p->nproperties);
        }
        if (!tag_take(d, BN_TAG_CLOSE, 1, NULL)) return missing(d);
    }
    return !d->c.err;
}

/* ReadPropertyMultiple-ACK ([135] 15.7): ReadAccessResults, each an object and in [1] its
 * results: [2] property, [3] index, then [4] value or [5] error (class, code). */
static bool dec_rpm_ack(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    p->f |= BN_F_RESULTS;
    while (qw_cur_left(&d->c) > 0) {
        uint32_t obj;
        if (!ctx_u32(d, 0, &obj)) return missing(d);
        if (p->nobjects == 0) set_object(p, obj);
        count_u16(&p->nobjects);
        if (!tag_take(d, BN_TAG_OPEN, 1, NULL)) return missing(d);
        struct bn_tag t;
        while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
            uint32_t prop, idx;
            if (!ctx_u32(d, 2, &prop)) return missing(d);
            bool has_idx = ctx_u32(d, 3, &idx);
            bool first = p->nresults == 0;
            if (first) {
                p->property = prop;
                p->f |= BN_F_PROPERTY;
                if (has_idx) {
                    p->array_index = idx;
                    p->f |= BN_F_INDEX;
                }
            }
            count_u16(&p->nresults);
            if (tag_take(d, BN_TAG_OPEN, 4, NULL)) {
                dec_property_value(d, 4, first, obj, has_idx ? UINT32_MAX : prop);
            } else if (tag_take(d, BN_TAG_OPEN, 5, NULL)) {
                count_u16(&p->nerrors);
                uint32_t cls, code;
                if (app_u32(d, BN_APP_ENUMERATED, &cls) && app_u32(d, BN_APP_ENUMERATED, &code) &&
                    first) {
                    p->error_class = cls;
                    p->error_code = code;
                    p->f |= BN_F_ERROR;
                }
                if (!skip_to_close(d, 5)) return missing(d);
            } else {
                return missing(d);
            }
            if (d->c.err) return !d->c.err;
        }
        if (!tag_take(d, BN_TAG_CLOSE, 1, NULL)) return missing(d);
    }
    return !d->c.err;
}

/* WritePropertyMultiple request ([135] 15.10): WriteAccessSpecifications, each an object
 * and in [1] its property values: [0] property, [1] index, [2] value, [3] priority. */
static bool dec_wpm_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    p->f |= BN_F_COUNTS;
    while (qw_cur_left(&d->c) > 0) {
        uint32_t obj;
        if (!ctx_u32(d, 0, &obj)) return missing(d);
        if (p->nobjects == 0) set_object(p, obj);
        count_u16(&p->nobjects);
        if (!tag_take(d, BN_TAG_OPEN, 1, NULL)) return missing(d);
        struct bn_tag t;
        while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
            uint32_t prop, idx, prio;
            if (!ctx_u32(d, 0, &prop)) return missing(d);
            bool has_idx = ctx_u32(d, 1, &idx);
            bool first = p->nproperties == 0;
            if (first) {
                p->property = prop;
                p->f |= BN_F_PROPERTY;
                if (has_idx) {
                    p->array_index = idx;
                    p->f |= BN_F_INDEX;
                }
            }
            count_u16(&p->nproperties);
            if (!tag_take(d, BN_TAG_OPEN, 2, NULL)) return missing(d);
            dec_property_value(d, 2, first, 0, 0);
            if (ctx_u32(d, 3, &prio) && first) {
                p->priority = prio > 255 ? 255 : (uint8_t)prio;
                p->f |= BN_F_PRIORITY;
            }
            if (d->c.err) return !d->c.err;
        }
        if (!tag_take(d, BN_TAG_CLOSE, 1, NULL)) return missing(d);
    }
    return !d->c.err;
}

/* WritePropertyMultiple-Error ([135] 15.10) and the other complex errors carry the error
 * in [0] before their own fields; see dec_error. */

/* ReadRange request ([135] 15.8): object, property, [index], then the range. */
static bool dec_read_range_req(struct bn_dec *d)
{
    dec_object_property(d);
    if (!d->c.err) dec_rest(d);
    return !d->c.err;
}

/* ReadRange-ACK ([135] 15.8): object, property, [index], [3] result flags, [4] item
 * count, [5] items, [6] first sequence number. */
static bool dec_read_range_ack(struct bn_dec *d)
{
    dec_object_property(d);
    if (d->c.err) return !d->c.err;
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_CTX, 3, &t)) return missing(d);
    uint32_t items;
    if (!ctx_u32(d, 4, &items)) return missing(d);
    d->p->nitems = items > UINT16_MAX ? UINT16_MAX : (uint16_t)items;
    d->p->f |= BN_F_ITEMS;
    dec_rest(d);
    return !d->c.err;
}

/* SubscribeCOV ([135] 13.14): [0] process id, [1] object, [2] issue confirmed, [3]
 * lifetime. Without [2] and [3] it is a cancellation. */
static bool dec_subscribe_cov(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!ctx_u32(d, 0, &p->process_id)) return missing(d);
    p->f |= BN_F_PROCESS;
    if (!ctx_object(d, 1)) return missing(d);
    uint32_t issue;
    if (ctx_u32(d, 2, &issue)) {
        p->issue_confirmed = issue != 0;
        p->f |= BN_F_ISSUE;
    }
    if (ctx_u32(d, 3, &p->lifetime)) p->f |= BN_F_LIFETIME;
    return !d->c.err;
}

/* SubscribeCOVProperty ([135] 13.15): as SubscribeCOV, then [4] the property reference
 * ([0] property, [1] index) and [5] COV increment. */
static bool dec_subscribe_cov_property(struct bn_dec *d)
{
    dec_subscribe_cov(d);
    if (d->c.err) return !d->c.err;
    if (!tag_take(d, BN_TAG_OPEN, 4, NULL)) return missing(d);
    if (!ctx_property(d, 0)) return missing(d);
    ctx_index(d, 1);
    if (!tag_take(d, BN_TAG_CLOSE, 4, NULL)) return missing(d);
    dec_rest(d);
    return !d->c.err;
}

/* AtomicReadFile request ([135] 14.1): file object, then [0] stream access (start
 * position, octet count) or [1] record access (start record, record count). */
static bool dec_atomic_read_file_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!app_object(d)) return missing(d);
    struct bn_tag t, s;
    if (!tag_take(d, BN_TAG_OPEN, -1, &t) || t.number > 1) return missing(d);
    p->record_access = t.number == 1;
    if (!tag_take(d, BN_TAG_APP, BN_APP_SIGNED, &s)) return missing(d);
    p->file_start = tag_sint(d, &s);
    p->f |= BN_F_FILE;
    uint32_t count;
    if (!app_u32(d, BN_APP_UNSIGNED, &count)) return missing(d);
    p->file_count = count;
    p->f |= BN_F_FILE_COUNT;
    if (!tag_take(d, BN_TAG_CLOSE, t.number, NULL)) return missing(d);
    return !d->c.err;
}

/* AtomicReadFile-ACK ([135] 14.1): end-of-file, then [0] (start position, file data) or
 * [1] (start record, record count, records). file_count is the octets (or records) returned. */
static bool dec_atomic_read_file_ack(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct bn_tag t, s;
    if (!tag_take(d, BN_TAG_APP, BN_APP_BOOLEAN, &t)) return missing(d);
    p->eof = t.lvt != 0;
    p->f |= BN_F_EOF;
    if (!tag_take(d, BN_TAG_OPEN, -1, &t) || t.number > 1) return missing(d);
    p->record_access = t.number == 1;
    if (!tag_take(d, BN_TAG_APP, BN_APP_SIGNED, &s)) return missing(d);
    p->file_start = tag_sint(d, &s);
    p->f |= BN_F_FILE;
    if (t.number == 0) {
        if (!tag_take(d, BN_TAG_APP, BN_APP_OCTET_STRING, &s)) return missing(d);
        p->file_count = s.len;
    } else {
        uint32_t count;
        if (!app_u32(d, BN_APP_UNSIGNED, &count)) return missing(d);
        p->file_count = count;
    }
    p->f |= BN_F_FILE_COUNT;
    if (!skip_to_close(d, t.number)) return missing(d);
    return !d->c.err;
}

/* AtomicWriteFile request ([135] 14.2): file object, then [0] (start position, file data)
 * or [1] (start record, record count, records). */
static bool dec_atomic_write_file_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!app_object(d)) return missing(d);
    struct bn_tag t, s;
    if (!tag_take(d, BN_TAG_OPEN, -1, &t) || t.number > 1) return missing(d);
    p->record_access = t.number == 1;
    if (!tag_take(d, BN_TAG_APP, BN_APP_SIGNED, &s)) return missing(d);
    p->file_start = tag_sint(d, &s);
    p->f |= BN_F_FILE;
    if (t.number == 0) {
        if (!tag_take(d, BN_TAG_APP, BN_APP_OCTET_STRING, &s)) return missing(d);
        p->file_count = s.len;
    } else {
        uint32_t count;
        if (!app_u32(d, BN_APP_UNSIGNED, &count)) return missing(d);
        p->file_count = count;
    }
    p->f |= BN_F_FILE_COUNT;
    if (!skip_to_close(d, t.number)) return missing(d);
    return !d->c.err;
}

/* AtomicWriteFile-ACK ([135] 14.2): [0] start position or [1] start record. */
static bool dec_atomic_write_file_ack(struct bn_dec *d)
{
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_CTX, -1, &t) || t.number > 1) return missing(d);
    d->p->record_access = t.number == 1;
    d->p->file_start = tag_sint(d, &t);
    d->p->f |= BN_F_FILE;
    return !d->c.err;
}

/* Add/RemoveListElement ([135] 15.1, 15.2.1.1): object, property, [index], [3] elements. */
static bool dec_list_element(struct bn_dec *d)
{
    dec_object_property(d);
    if (d->c.err) return !d->c.err;
    if (!tag_take(d, BN_TAG_OPEN, 3, NULL)) return missing(d);
    dec_property_value(d, 3, true, 0, 0);
    return !d->c.err;
}

/* CreateObject request ([135] 15.3): [0] object specifier ([0] type or [1] identifier),
 * [1] initial values. */
static bool dec_create_object_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!tag_take(d, BN_TAG_OPEN, 0, NULL)) return missing(d);
    uint32_t v;
    if (ctx_u32(d, 0, &v)) {
        /* only the type: the device picks the instance; shown with instance 0x3FFFFF */
        set_object(p, (v > 1023 ? 1023u : v) << 22 | 0x3FFFFFu);
    } else if (!ctx_object(d, 1)) {
        return missing(d);
    }
    if (!tag_take(d, BN_TAG_CLOSE, 0, NULL)) return missing(d);
    p->nobjects = 1;
    p->f |= BN_F_COUNTS;
    if (tag_take(d, BN_TAG_OPEN, 1, NULL)) {
        struct bn_tag t;
        while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
            if (!skip_element(d)) return missing(d);
            /* property values: [0] property, [1] index, [2] value, [3] priority */
            if (t.kind == BN_TAG_CTX && t.number == 0) count_u16(&p->nproperties);
        }
        if (!tag_take(d, BN_TAG_CLOSE, 1, NULL)) return missing(d);
        p->f |= BN_F_COUNTS;
    }
    return !d->c.err;
}

/* CreateObject-ACK ([135] 15.3), DeleteObject request ([135] 15.4): the object. */
static bool dec_app_object(struct bn_dec *d)
{
    if (!app_object(d)) missing(d);
    return !d->c.err;
}

/* DeviceCommunicationControl ([135] 16.1): [0] duration in minutes, [1] enable-disable,
 * [2] password (its presence only is recorded). */
static bool dec_dcc_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (ctx_u32(d, 0, &p->duration)) p->f |= BN_F_DURATION;
    if (!ctx_u32(d, 1, &p->state)) return missing(d);
    p->f |= BN_F_DCC | BN_F_PASSWORD;
    p->password = tag_take(d, BN_TAG_CTX, 2, NULL);
    return !d->c.err;
}

/* ReinitializeDevice ([135] 16.4): [0] state, [1] password (presence only). */
static bool dec_reinit_req(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!ctx_u32(d, 0, &p->state)) return missing(d);
    p->f |= BN_F_REINIT | BN_F_PASSWORD;
    p->password = tag_take(d, BN_TAG_CTX, 1, NULL);
    if (p->state < sizeof reinit_states / sizeof reinit_states[0])
        p->ops = reinit_states[p->state].ops;
    return !d->c.err;
}

/* Confirmed/UnconfirmedPrivateTransfer request and ACK ([135] 16.2, 16.3.1): [0] vendor id,
 * [1] service number, [2] parameters (or the result block). */
static bool dec_private_transfer(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!ctx_u32(d, 0, &p->vendor_id)) return missing(d);
    p->f |= BN_F_VENDOR;
    if (!ctx_u32(d, 1, &p->service_number)) return missing(d);
    p->f |= BN_F_SERVICE_NUMBER;
    dec_rest(d);
    return !d->c.err;
}

/* AcknowledgeAlarm ([135] 13.5): [0] process id, [1] event object, [2] event state
 * acknowledged, then time stamps and the source. */
static bool dec_acknowledge_alarm(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!ctx_u32(d, 0, &p->process_id)) return missing(d);
    p->f |= BN_F_PROCESS;
    if (!ctx_object(d, 1)) return missing(d);
    if (ctx_u32(d, 2, &p->state)) p->f |= BN_F_EVENT_STATE;
    dec_rest(d);
    return !d->c.err;
}

/* (Un)ConfirmedCOVNotification ([135] 13.6, 13.7.1): [0] process id, [1] initiating device,
 * [2] monitored object, [3] time remaining, [4] values ([0] property, [1] index, [2] value,
 * [3] priority); the first value is shown. */
static bool dec_cov_notification(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    uint32_t dev;
    if (!ctx_u32(d, 0, &p->process_id)) return missing(d);
    p->f |= BN_F_PROCESS;
    if (!ctx_u32(d, 1, &dev)) return missing(d);
    p->device = dev & 0x3FFFFFu;
    p->f |= BN_F_DEVICE;
    if (!ctx_object(d, 2)) return missing(d);
    if (!ctx_u32(d, 3, &p->time_remaining)) return missing(d);
    p->f |= BN_F_TIME_REMAINING;
    if (!tag_take(d, BN_TAG_OPEN, 4, NULL)) return missing(d);
    struct bn_tag t;
    uint16_t n = 0;
    while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
        uint32_t prop, idx, prio;
        if (!ctx_u32(d, 0, &prop)) return missing(d);
        bool has_idx = ctx_u32(d, 1, &idx);
        if (n == 0) {
            p->property = prop;
            p->f |= BN_F_PROPERTY;
            if (has_idx) {
                p->array_index = idx;
                p->f |= BN_F_INDEX;
            }
        }
        if (!tag_take(d, BN_TAG_OPEN, 2, NULL)) return missing(d);
        uint16_t keep_items = p->nitems;
        dec_property_value(d, 2, n == 0, 0, 0);
        p->nitems = keep_items;
        ctx_u32(d, 3, &prio);
        count_u16(&n);
        if (d->c.err) return !d->c.err;
    }
    if (!tag_take(d, BN_TAG_CLOSE, 4, NULL)) return missing(d);
    p->nitems = n;
    p->f |= BN_F_ITEMS;
    return !d->c.err;
}

/* (Un)ConfirmedEventNotification ([135] 13.8, 13.9.1): [0] process id, [1] initiating
 * device, [2] event object, then time stamp, class, priority, type, texts and values. */
static bool dec_event_notification(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    uint32_t dev;
    if (!ctx_u32(d, 0, &p->process_id)) return missing(d);
    p->f |= BN_F_PROCESS;
    if (!ctx_u32(d, 1, &dev)) return missing(d);
    p->device = dev & 0x3FFFFFu;
    p->f |= BN_F_DEVICE;
    if (!ctx_object(d, 2)) return missing(d);
    dec_rest(d);
    return !d->c.err;
}

/* GetEventInformation request ([135] 13.12): [0] last received object, optional. */
static bool dec_get_event_information_req(struct bn_dec *d)
{
    ctx_object(d, 0);
    return !d->c.err;
}

/* LifeSafetyOperation ([135] 13.13): [0] process id, [1] requesting source, [2] request,
 * [3] object (absent: every object of the device). */
static bool dec_life_safety_operation(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct bn_tag t;
    if (!ctx_u32(d, 0, &p->process_id)) return missing(d);
    p->f |= BN_F_PROCESS;
    if (!tag_take(d, BN_TAG_CTX, 1, &t)) return missing(d);
    if (!ctx_u32(d, 2, &p->state)) return missing(d);
    p->f |= BN_F_LIFE_SAFETY;
    ctx_object(d, 3);
    return !d->c.err;
}

/* Decoders that read nothing: the service has no parameters worth a field, or none at all. */
static bool dec_skip(struct bn_dec *d)
{
    dec_rest(d);
    return !d->c.err;
}

/* I-Am ([135] 16.10): device, max APDU length accepted, segmentation supported, vendor id. */
static bool dec_i_am(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    uint32_t dev;
    if (!app_u32(d, BN_APP_OBJECT_ID, &dev)) return missing(d);
    set_object(p, dev);
    p->device = dev & 0x3FFFFFu;
    p->f |= BN_F_DEVICE;
    if (!app_u32(d, BN_APP_UNSIGNED, &p->max_apdu_accepted)) return missing(d);
    if (!app_u32(d, BN_APP_ENUMERATED, &p->segmentation)) return missing(d);
    p->f |= BN_F_IAM;
    if (!app_u32(d, BN_APP_UNSIGNED, &p->vendor_id)) return missing(d);
    p->f |= BN_F_VENDOR;
    if ((dev >> 22) != BN_DEVICE_TYPE) return !d->c.err;
    /* an unconfigured device announces itself with the wildcard instance: not an identity */
    if (p->device != BN_WILDCARD_INSTANCE) emit_identity_u32(d, "device_instance", p->device);
    emit_identity_u32(d, "vendor_id", p->vendor_id);
    const char *vn = bn_vendor_name(p->vendor_id);
    if (vn) emit_identity(d, "vendor", vn, strlen(vn));
    return !d->c.err;
}

/* A CharacterString into the value field as an object name. */
static bool app_name(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_APP, BN_APP_CHARACTER_STRING, &t)) return false;
    struct bn_text x = {p->value, 0, sizeof p->value, false};
    text_charstring(&x, t.data, t.len);
    p->value_len = (uint8_t)x.len;
    p->value_cut = x.cut;
    p->f |= BN_F_OBJECT_NAME;
    return true;
}

/* I-Have ([135] 16.9): device, object, object name. */
static bool dec_i_have(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    uint32_t dev;
    if (!app_u32(d, BN_APP_OBJECT_ID, &dev)) return missing(d);
    p->device = dev & 0x3FFFFFu;
    p->f |= BN_F_DEVICE;
    if (!app_object(d)) return missing(d);
    if (!app_name(d)) return missing(d);
    return !d->c.err;
}

/* Who-Is ([135] 16.10): [0] low and [1] high device instance limits, both or neither. */
static bool dec_who_is(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (!ctx_u32(d, 0, &p->low)) return !d->c.err;
    if (!ctx_u32(d, 1, &p->high)) return missing(d);
    p->f |= BN_F_RANGE;
    return !d->c.err;
}

/* Who-Has ([135] 16.9): [0] low, [1] high limits, then [2] object or [3] object name. */
static bool dec_who_has(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    if (ctx_u32(d, 0, &p->low)) {
        if (!ctx_u32(d, 1, &p->high)) return missing(d);
        p->f |= BN_F_RANGE;
    }
    if (ctx_object(d, 2)) return !d->c.err;
    struct bn_tag t;
    if (!tag_take(d, BN_TAG_CTX, 3, &t)) return missing(d);
    struct bn_text x = {p->value, 0, sizeof p->value, false};
    text_charstring(&x, t.data, t.len);
    p->value_len = (uint8_t)x.len;
    p->value_cut = x.cut;
    p->f |= BN_F_OBJECT_NAME;
    return !d->c.err;
}

/* TimeSynchronization and UTCTimeSynchronization ([135] 16.7, 16.8.1): a Date and a Time,
 * shown as "date time" in the value field. */
static bool dec_time_sync(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct bn_tag date, time;
    if (!tag_take(d, BN_TAG_APP, BN_APP_DATE, &date)) return missing(d);
    if (!tag_take(d, BN_TAG_APP, BN_APP_TIME, &time)) return missing(d);
    if (date.len != 4 || time.len != 4) {
        d->invalid = true;
        return !d->c.err;
    }
    struct bn_text x = {p->value, 0, sizeof p->value, false};
    text_date(&x, date.data);
    text_put(&x, " ", 1);
    text_time(&x, time.data);
    p->value_len = (uint8_t)x.len;
    p->f |= BN_F_TIME;
    return !d->c.err;
}

/* WriteGroup ([135] 15.11): [0] group number, [1] write priority, [2] change list, [3]
 * inhibit delay. */
static bool dec_write_group(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    uint32_t prio;
    if (!ctx_u32(d, 0, &p->group)) return missing(d);
    p->f |= BN_F_GROUP;
    if (!ctx_u32(d, 1, &prio)) return missing(d);
    p->priority = prio > 255 ? 255 : (uint8_t)prio;
    p->f |= BN_F_PRIORITY;
    if (!tag_take(d, BN_TAG_OPEN, 2, NULL)) return missing(d);
    struct bn_tag t;
    uint16_t n = 0;
    while (tag_peek(d, &t) && t.kind != BN_TAG_CLOSE) {
        if (!skip_element(d)) return missing(d);
        /* a channel value: [0] channel, then the value and an optional override priority; one
         * change starts at each [0] */
        if (t.kind == BN_TAG_CTX && t.number == 0) count_u16(&n);
    }
    if (!tag_take(d, BN_TAG_CLOSE, 2, NULL)) return missing(d);
    p->nitems = n;
    p->f |= BN_F_ITEMS;
    dec_rest(d);
    return !d->c.err;
}

struct bn_service {
    const char *name;
    uint32_t ops;
    bn_decode_fn req, ack; /* ack: ComplexACK decoder (confirmed services only) */
};

/* Confirmed services ([135] clause 21, BACnetConfirmedServiceChoice) with what they do.
 * Notifications report values to a subscriber and change nothing: no operation bit. Alarm
 * acknowledgement and list element changes write to the device; object creation and deletion,
 * communication control change its configuration; ReinitializeDevice takes its bits from the
 * state requested (reinit_states). 13 (ReadPropertyConditional), 24 (Authenticate) and 25
 * (RequestKey) were removed from the standard but may still be seen. */
static const struct bn_service confirmed_services[] = {
    [0] = {"acknowledge_alarm", QW_OP_WRITE, dec_acknowledge_alarm, NULL},
    [1] = {"confirmed_cov_notification", 0, dec_cov_notification, NULL},
    [2] = {"confirmed_event_notification", 0, dec_event_notification, NULL},
    [3] = {"get_alarm_summary", QW_OP_READ, dec_skip, dec_skip},
    [4] = {"get_enrollment_summary", QW_OP_READ, dec_skip, dec_skip},
    [5] = {"subscribe_cov", QW_OP_READ, dec_subscribe_cov, NULL},
    [6] = {"atomic_read_file", QW_OP_FILE | QW_OP_READ, dec_atomic_read_file_req,
           dec_atomic_read_file_ack},
    [7] = {"atomic_write_file", QW_OP_FILE | QW_OP_WRITE, dec_atomic_write_file_req,
           dec_atomic_write_file_ack},
    [8] = {"add_list_element", QW_OP_WRITE, dec_list_element, NULL},
    [9] = {"remove_list_element", QW_OP_WRITE, dec_list_element, NULL},
    [10] = {"create_object", QW_OP_CONFIG, dec_create_object_req, dec_app_object},
    [11] = {"delete_object", QW_OP_CONFIG, dec_app_object, NULL},
    [12] = {"read_property", QW_OP_READ, dec_read_property_req, dec_read_property_ack},
    [13] = {"read_property_conditional", QW_OP_READ, dec_skip, dec_skip},
    [14] = {"read_property_multiple", QW_OP_READ, dec_rpm_req, dec_rpm_ack},
    [15] = {"write_property", QW_OP_WRITE, dec_write_property_req, NULL},
    [16] = {"write_property_multiple", QW_OP_WRITE, dec_wpm_req, NULL},
    [17] = {"device_communication_control", QW_OP_CONFIG, dec_dcc_req, NULL},
    [18] = {"confirmed_private_transfer", 0, dec_private_transfer, dec_private_transfer},
    [19] = {"confirmed_text_message", 0, dec_skip, NULL},
    [20] = {"reinitialize_device", QW_OP_RESTART, dec_reinit_req, NULL},
    [21] = {"vt_open", QW_OP_SESSION, dec_skip, dec_skip},
    [22] = {"vt_close", QW_OP_SESSION, dec_skip, NULL},
    [23] = {"vt_data", QW_OP_SESSION, dec_skip, dec_skip},
    [24] = {"authenticate", QW_OP_AUTH, dec_skip, dec_skip},
    [25] = {"request_key", QW_OP_AUTH, dec_skip, NULL},
    [26] = {"read_range", QW_OP_READ, dec_read_range_req, dec_read_range_ack},
    [27] = {"life_safety_operation", QW_OP_CONTROL, dec_life_safety_operation, NULL},
    [28] = {"subscribe_cov_property", QW_OP_READ, dec_subscribe_cov_property, NULL},
    [29] = {"get_event_information", QW_OP_READ, dec_get_event_information_req, dec_skip},
    [30] = {"subscribe_cov_property_multiple", QW_OP_READ, dec_skip, NULL},
    [31] = {"confirmed_cov_notification_multiple", 0, dec_skip, NULL},
    [32] = {"confirmed_audit_notification", 0, dec_skip, NULL},
    [33] = {"audit_log_query", QW_OP_READ, dec_skip, dec_skip},
};

/* Unconfirmed services ([135] clause 21, BACnetUnconfirmedServiceChoice). Who-Is/Who-Has ask
 * devices to identify themselves, I-Am/I-Have are the answers; a time synchronisation sets the
 * clock; WriteGroup writes channel values; You-Are assigns a device its identity and address. */
static const struct bn_service unconfirmed_services[] = {
    [0] = {"i_am", QW_OP_IDENTIFY, dec_i_am, NULL},
    [1] = {"i_have", QW_OP_IDENTIFY, dec_i_have, NULL},
    [2] = {"unconfirmed_cov_notification", 0, dec_cov_notification, NULL},
    [3] = {"unconfirmed_event_notification", 0, dec_event_notification, NULL},
    [4] = {"unconfirmed_private_transfer", 0, dec_private_transfer, NULL},
    [5] = {"unconfirmed_text_message", 0, dec_skip, NULL},
    [6] = {"time_synchronization", QW_OP_TIMESYNC, dec_time_sync, NULL},
    [7] = {"who_has", QW_OP_IDENTIFY, dec_who_has, NULL},
    [8] = {"who_is", QW_OP_IDENTIFY, dec_who_is, NULL},
    [9] = {"utc_time_synchronization", QW_OP_TIMESYNC, dec_time_sync, NULL},
    [10] = {"write_group", QW_OP_WRITE, dec_write_group, NULL},
    [11] = {"unconfirmed_cov_notification_multiple", 0, dec_skip, NULL},
    [12] = {"unconfirmed_audit_notification", 0, dec_skip, NULL},
    [13] = {"who_am_i", QW_OP_IDENTIFY, dec_skip, NULL},
    [14] = {"you_are", QW_OP_CONFIG, dec_skip, NULL},
};

#define BN_NCONFIRMED (sizeof confirmed_services / sizeof confirmed_services[0])
#define BN_NUNCONFIRMED (sizeof unconfirmed_services / sizeof unconfirmed_services[0])

static const struct bn_service *confirmed_service(uint8_t s)
{
    return s < BN_NCONFIRMED && confirmed_services[s].name ? &confirmed_services[s] : NULL;
}

static const struct bn_service *unconfirmed_service(uint8_t s)
{
    return s < BN_NUNCONFIRMED && unconfirmed_services[s].name ? &unconfirmed_services[s] : NULL;
}

static const char *confirmed_name(uint8_t s)
{
    const struct bn_service *sv = confirmed_service(s);
    return sv ? sv->name : "unknown";
}

/* Error PDU parameters ([135] 20.1.7, 21 BACnet-Error): class and code as application
 * enumerations, or, for the services with a complex error (CreateObject, WritePropertyMultiple,
 * Add/RemoveListElement, private transfer, VT-Close, SubscribeCOVPropertyMultiple), inside [0]
 * followed by the service's own fields. */
static bool dec_error(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    bool wrapped = tag_take(d, BN_TAG_OPEN, 0, NULL);
    if (!app_u32(d, BN_APP_ENUMERATED, &p->error_class)) return missing(d);
    if (!app_u32(d, BN_APP_ENUMERATED, &p->error_code)) return missing(d);
    p->f |= BN_F_ERROR;
    if (wrapped) {
        if (!tag_take(d, BN_TAG_CLOSE, 0, NULL)) return missing(d);
        dec_rest(d);
    }
    return !d->c.err;
}

/* ---- APDU ---------------------------------------------------------------------------------- */

/* The APDU header ([135] 20.1.2-20.1.9). Leaves d->c on the service parameters. Returns false
 * when the header itself is cut short. */
static bool dec_apdu_header(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct qw_cursor *c = &d->c;
    uint8_t b0 = qw_cur_u8(c);
    if (c->err) return false;
    p->apdu_type = b0 >> 4;
    p->f |= BN_F_APDU;
    switch (p->apdu_type) {
    case BN_CONFIRMED_REQUEST: {
        p->seg = (b0 & 0x08u) != 0;
        p->more = (b0 & 0x04u) != 0;
        p->sa = (b0 & 0x02u) != 0;
        uint8_t b1 = qw_cur_u8(c);
        p->max_segs = (b1 >> 4) & 7u;
        p->max_apdu = b1 & 0x0Fu;
        p->invoke_id = qw_cur_u8(c);
        if (p->seg) {
            p->seq = qw_cur_u8(c);
            p->window = qw_cur_u8(c);
            p->f |= BN_F_SEG_INFO;
        }
        p->service = qw_cur_u8(c);
        p->f |= BN_F_SERVICE;
        break;
    }
    case BN_UNCONFIRMED_REQUEST:
        p->service = qw_cur_u8(c);
        p->f |= BN_F_SERVICE;
        break;
    case BN_SIMPLE_ACK:
        p->invoke_id = qw_cur_u8(c);
        p->service = qw_cur_u8(c);
        p->f |= BN_F_SERVICE;
        break;
    case BN_COMPLEX_ACK:
        p->seg = (b0 & 0x08u) != 0;
        p->more = (b0 & 0x04u) != 0;
        p->invoke_id = qw_cur_u8(c);
        if (p->seg) {
            p->seq = qw_cur_u8(c);
            p->window = qw_cur_u8(c);
            p->f |= BN_F_SEG_INFO;
        }
        p->service = qw_cur_u8(c);
        p->f |= BN_F_SERVICE;
        break;
    case BN_SEGMENT_ACK:
        p->nak = (b0 & 0x02u) != 0;
        p->srv = (b0 & 0x01u) != 0;
        p->invoke_id = qw_cur_u8(c);
        p->seq = qw_cur_u8(c);
        p->window = qw_cur_u8(c);
        p->f |= BN_F_SEG_INFO;
        break;
    case BN_ERROR:
        p->invoke_id = qw_cur_u8(c);
        p->service = qw_cur_u8(c);
        p->f |= BN_F_SERVICE;
        break;
    case BN_REJECT:
        p->invoke_id = qw_cur_u8(c);
        p->reason = qw_cur_u8(c);
        p->f |= BN_F_REASON;
        break;
    case BN_ABORT:
        p->srv = (b0 & 0x01u) != 0;
        p->invoke_id = qw_cur_u8(c);
        p->reason = qw_cur_u8(c);
        p->f |= BN_F_REASON;
        break;
    default: /* types 8-15 are reserved: nothing more is known of them */ break;
    }
    if (c->err) {
        p->f &= ~(uint64_t)(BN_F_SERVICE | BN_F_REASON | BN_F_SEG_INFO);
        return false;
    }
    return true;
}

/* The service parameter decoder for this APDU, or NULL when there is none to run. */
static bn_decode_fn service_decoder(const struct bn_pdu *p)
{
    const struct bn_service *sv;
    switch (p->apdu_type) {
    case BN_CONFIRMED_REQUEST: sv = confirmed_service(p->service); return sv ? sv->req : NULL;
    case BN_UNCONFIRMED_REQUEST: sv = unconfirmed_service(p->service); return sv ? sv->req : NULL;
    case BN_COMPLEX_ACK: sv = confirmed_service(p->service); return sv ? sv->ack : NULL;
    case BN_ERROR: return dec_error;
    default: return NULL;
    }
}

static const char *apdu_service_name(const struct bn_pdu *p)
{
    if (p->apdu_type == BN_UNCONFIRMED_REQUEST) {
        const struct bn_service *sv = unconfirmed_service(p->service);
        return sv ? sv->name : "unknown";
    }
    return confirmed_name(p->service);
}

/* Run the service decoder over the cursor (the parameters, whole or a prefix) and report what
 * is wrong with them. */
static void dec_service(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    bn_decode_fn fn = service_decoder(p);
    if (fn)
        fn(d);
    else
        dec_rest(d); /* unknown service or no parameters defined: valid, undecoded */
    if (d->partial) return;
    if (d->invalid) {
        dec_anomaly(d, "bacnet.invalid_tag", apdu_service_name(p));
        p->truncated = true;
    } else if (d->c.err) {
        p->truncated = true;
        dec_anomaly(d, "bacnet.truncated_apdu", apdu_service_name(p));
    } else if (qw_cur_left(&d->c) > 0) {
        dec_anomaly(d, "bacnet.trailing_data", apdu_service_name(p));
    }
}

/* ---- NPDU and network layer messages ([135] 6.2, 6.4) -------------------------------------- */

static void read_addr(struct qw_cursor *c, struct bn_addr *a)
{
    a->net = qw_cur_be16(c);
    a->len = qw_cur_u8(c);
    const uint8_t *mac = qw_cur_take(c, a->len);
    if (mac) memcpy(a->mac, mac, a->len < BN_ADDR_MAX ? a->len : BN_ADDR_MAX);
}

/* The NPDU header. Leaves d->c on the message data or the APDU. Returns false when the header is
 * unusable (cut short, wrong version). */
static bool dec_npdu(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct qw_cursor *c = &d->c;
    uint8_t version = qw_cur_u8(c);
    p->control = qw_cur_u8(c);
    if (c->err) {
        dec_anomaly(d, "bacnet.truncated_npdu", NULL);
        return false;
    }
    if (version != BN_NPDU_VERSION) {
        dec_anomaly(d, "bacnet.invalid_npdu_version", NULL);
        return false;
    }
    p->f |= BN_F_NPDU;
    if (p->control & 0x50u) dec_anomaly(d, "bacnet.npdu_reserved_bits", NULL);
    if (p->control & 0x20u) {
        read_addr(c, &p->dst);
        p->f |= BN_F_DNET;
    }
    if (p->control & 0x08u) {
        read_addr(c, &p->src);
        p->f |= BN_F_SNET;
        /* SNET X'FFFF' and SLEN 0 are not allowed ([135] 6.2.2) */
        if (!c->err && (p->src.net == 0xFFFFu || p->src.len == 0))
            dec_anomaly(d, "bacnet.invalid_npdu_address", "snet");
    }
    if (p->control & 0x20u) p->hop_count = qw_cur_u8(c);
    if (!c->err && (p->f & BN_F_DNET) && p->dst.net == 0)
        dec_anomaly(d, "bacnet.invalid_npdu_address", "dnet");
    if (p->control & 0x80u) {
        p->net_msg = qw_cur_u8(c);
        if (!c->err && p->net_msg >= 0x80u) {
            p->net_vendor = qw_cur_be16(c);
            if (!c->err) p->f |= BN_F_NET_VENDOR;
        }
        if (!c->err) p->f |= BN_F_NETMSG;
    }
    if (c->err) {
        p->f &= ~(uint64_t)(BN_F_DNET | BN_F_SNET | BN_F_NETMSG | BN_F_NET_VENDOR);
        dec_anomaly(d, "bacnet.truncated_npdu", NULL);
        return false;
    }
    return true;
}

static void add_net(struct bn_pdu *p, uint16_t net)
{
    if (p->nnets < BN_NETS_MAX) p->nets[p->nnets] = net;
    if (p->nnets < UINT16_MAX) p->nnets++;
    p->f |= BN_F_NETS;
}

static const char *netmsg_name(uint8_t t)
{
    if (t < sizeof net_msgs / sizeof net_msgs[0]) return net_msgs[t].name;
    return t >= 0x80u ? "proprietary" : "reserved";
}

/* Network layer message data ([135] 6.4.1-6.4.22). */
static void dec_netmsg(struct bn_dec *d)
{
    struct bn_pdu *p = d->p;
    struct qw_cursor *c = &d->c;
    if (p->net_msg < sizeof net_msgs / sizeof net_msgs[0]) p->ops = net_msgs[p->net_msg].ops;
    switch (p->net_msg) {
    case 0x00: /* Who-Is-Router-To-Network: optional DNET */
        if (qw_cur_left(c) >= 2) add_net(p, qw_cur_be16(c));
        break;
    case 0x01: /* I-Am-Router-To-Network, Router-Busy, Router-Available: DNETs */
    case 0x04:
    case 0x05:
        while (qw_cur_left(c) >= 2) add_net(p, qw_cur_be16(c));
        break;
    case 0x02: /* I-Could-Be-Router-To-Network: DNET, performance index */
        add_net(p, qw_cur_be16(c));
        p->perf_index = qw_cur_u8(c);
        if (!c->err) p->f |= BN_F_PERF;
        break;
    case 0x03: /* Reject-Message-To-Network: reason, DNET */
        p->net_reject = qw_cur_u8(c);
        if (!c->err) p->f |= BN_F_NET_REJECT;
        add_net(p, qw_cur_be16(c));
        break;
    case 0x06: /* Initialize-Routing-Table(-Ack): ports, each DNET, port id, info */
    case 0x07: {
        uint8_t nports = qw_cur_u8(c);
        if (c->err) break;
        if (p->net_msg == 0x06 && nports == 0) p->ops = QW_OP_READ; /* a query ([135] 6.4.7) */
        p->f |= BN_F_NETS;
        for (unsigned i = 0; i < nports && !c->err; i++) {
            uint16_t net = qw_cur_be16(c);
            qw_cur_skip(c, 1);
            uint8_t info = qw_cur_u8(c);
            qw_cur_skip(c, info);
            if (!c->err) add_net(p, net);
        }
        break;
    }
    case 0x08: /* Establish-Connection-To-Network: DNET, termination time */
        add_net(p, qw_cur_be16(c));
        p->term_time = qw_cur_u8(c);
        if (!c->err) p->f |= BN_F_TERM_TIME;
        break;
    case 0x09: /* Disconnect-Connection-To-Network: DNET */ add_net(p, qw_cur_be16(c)); break;
    case 0x12: /* What-Is-Network-Number: no data */ break;
    case 0x13: /* Network-Number-Is: network number, flag (1 configured, 0 learned) */
        p->netnum = qw_cur_be16(c);
        p->netnum_flag = qw_cur_u8(c);
        if (!c->err) p->f |= BN_F_NETNUM;
        break;
    default: /* security, reserved and proprietary messages: not decoded */
        qw_cur_skip(c, qw_cur_left(c));
        break;
    }
    if (c->err) {
        p->truncated = true;
        dec_anomaly(d, "bacnet.truncated_npdu", netmsg_name(p->net_msg));
    } else if (qw_cur_left(c) > 0) {
        dec_anomaly(d, "bacnet.trailing_data", netmsg_name(p->net_msg));
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static uint32_t pdu_function(const struct bn_pdu *p)
{
    if (p->f & BN_F_NETMSG) return BN_FN_NETWORK + p->net_msg;
    if (!(p->f & BN_F_APDU)) return BN_FN_BVLL + p->bvlc_function;
    if (p->apdu_type == BN_UNCONFIRMED_REQUEST && (p->f & BN_F_SERVICE))
        return BN_FN_UNCONFIRMED + p->service;
    if ((p->f & BN_F_SERVICE) || p->service_from_request) return p->service;
    return BN_FN_APDU + p->apdu_type;
}

static const char *bvll_name(uint8_t f)
{
    return f < sizeof bvll_funcs / sizeof bvll_funcs[0] ? bvll_funcs[f].name : "unknown";
}

static const char *function_name(uint32_t fn)
{
    if (fn < BN_FN_UNCONFIRMED) return confirmed_name((uint8_t)fn);
    if (fn < BN_FN_NETWORK) {
        const struct bn_service *sv = unconfirmed_service((uint8_t)(fn - BN_FN_UNCONFIRMED));
        return sv ? sv->name : "unknown";
    }
    if (fn < BN_FN_BVLL) return netmsg_name((uint8_t)(fn - BN_FN_NETWORK));
    if (fn < BN_FN_APDU) return bvll_name((uint8_t)(fn - BN_FN_BVLL));
    const char *n = apdu_type_names[(fn - BN_FN_APDU) & 15u];
    return n ? n : "reserved_apdu_type";
}

static void json_addr(struct qw_json *j, const char *net_key, const char *adr_key,
                      const struct bn_addr *a)
{
    qw_json_u64(j, net_key, a->net);
    qw_json_hex(j, adr_key, a->mac, a->len < BN_ADDR_MAX ? a->len : BN_ADDR_MAX);
}

static void json_bip(struct qw_json *j, const char *key, const uint8_t *b)
{
    char s[24];
    snprintf(s, sizeof s, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], (unsigned)(b[4] << 8 | b[5]));
    qw_json_str(j, key, s);
}

static void json_object(struct qw_json *j, uint32_t id)
{
    uint32_t type = id >> 22;
    const char *n = bn_object_type_name(type);
    qw_json_u64(j, "object_type", type);
    qw_json_str(j, "object_type_name", n ? n : type >= 128 ? "proprietary" : "unknown");
    qw_json_u64(j, "object_instance", id & 0x3FFFFFu);
}

static void json_named(struct qw_json *j, const char *key, const char *name_key, uint32_t v,
                       const char *name, uint32_t proprietary_from)
{
    qw_json_u64(j, key, v);
    qw_json_str(j, name_key, name ? name : v >= proprietary_from ? "proprietary" : "unknown");
}

static void json_entries(struct qw_json *j, const struct bn_pdu *p)
{
    bool fdt = p->bvlc_function == 0x07;
    qw_json_u64(j, "entries", p->nentries);
    qw_json_arr_begin(j, fdt ? "fdt" : "bdt");
    for (unsigned i = 0; i < p->nentries && i < BN_ENTRIES_MAX; i++) {
        const uint8_t *e = p->entries[i];
        qw_json_obj_begin(j, NULL);
        json_bip(j, "address", e);
        if (fdt) {
            qw_json_u64(j, "ttl", (unsigned)(e[6] << 8 | e[7]));
            qw_json_u64(j, "remaining", (unsigned)(e[8] << 8 | e[9]));
        } else {
            char m[16];
            snprintf(m, sizeof m, "%u.%u.%u.%u", e[6], e[7], e[8], e[9]);
            qw_json_str(j, "mask", m);
        }
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void json_bvll(struct qw_json *j, const struct bn_pdu *p)
{
    uint64_t f = p->f;
    qw_json_u64(j, "bvlc_function", p->bvlc_function);
    qw_json_str(j, "bvlc_function_name", bvll_name(p->bvlc_function));
    if (f & BN_F_BIP) json_bip(j, p->bvlc_function == 0x04 ? "forwarded_from" : "address", p->bip);
    if (f & BN_F_BVLC_RESULT) {
        const char *rn = NULL;
        for (size_t i = 0; i < sizeof bvlc_results / sizeof bvlc_results[0]; i++)
            if (bvlc_results[i].code == p->bvlc_result) rn = bvlc_results[i].name;
        qw_json_u64(j, "result", p->bvlc_result);
        qw_json_str(j, "result_name", rn ? rn : "unknown");
    }
    if (f & BN_F_TTL) qw_json_u64(j, "ttl", p->ttl);
    if (f & BN_F_ENTRIES) json_entries(j, p);
}

static void json_npdu(struct qw_json *j, const struct bn_pdu *p)
{
    uint64_t f = p->f;
    if (!(f & BN_F_NPDU)) return;
    qw_json_u64(j, "npdu_control", p->control);
    qw_json_str(j, "network_priority", priority_names[p->control & 3u]);
    qw_json_bool(j, "expecting_reply", (p->control & 0x04u) != 0);
    if (f & BN_F_DNET) {
        json_addr(j, "dnet", "dadr", &p->dst);
        qw_json_u64(j, "hop_count", p->hop_count);
    }
    if (f & BN_F_SNET) json_addr(j, "snet", "sadr", &p->src);
    if (!(f & BN_F_NETMSG)) return;
    qw_json_u64(j, "network_message", p->net_msg);
    qw_json_str(j, "network_message_name", netmsg_name(p->net_msg));
    if (f & BN_F_NET_VENDOR) qw_json_u64(j, "network_vendor_id", p->net_vendor);
    if (f & BN_F_NETS) {
        qw_json_arr_begin(j, "networks");
        for (unsigned i = 0; i < p->nnets && i < BN_NETS_MAX; i++) qw_json_u64(j, NULL, p->nets[i]);
        qw_json_arr_end(j);
        if (p->nnets > BN_NETS_MAX) qw_json_u64(j, "network_count", p->nnets);
    }
    if (f & BN_F_NET_REJECT)
        json_named(j, "reject_reason", "reject_reason_name", p->net_reject,
                   p->net_reject < 7 ? net_reject_names[p->net_reject] : NULL, 256);
    if (f & BN_F_PERF) qw_json_u64(j, "performance_index", p->perf_index);
    if (f & BN_F_TERM_TIME) qw_json_u64(j, "termination_time", p->term_time);
    if (f & BN_F_NETNUM) {
        qw_json_u64(j, "network_number", p->netnum);
        qw_json_bool(j, "network_number_configured", p->netnum_flag == 1);
    }
}

static void json_value(struct qw_json *j, const struct bn_pdu *p)
{
    const char *tn = p->value_type < 13 ? app_tag_names[p->value_type] : "constructed";
    qw_json_str(j, "value_type", tn);
    if (p->value_type != 0xFF) qw_json_strn(j, "value", p->value, p->value_len);
    if (p->value_cut) qw_json_bool(j, "value_truncated", true);
}

static void json_apdu_header(struct qw_json *j, const struct bn_pdu *p)
{
    uint64_t f = p->f;
    qw_json_u64(j, "apdu_type", p->apdu_type);
    qw_json_str(j, "apdu_type_name",
                apdu_type_names[p->apdu_type] ? apdu_type_names[p->apdu_type] : "reserved");
    if (p->apdu_type != BN_UNCONFIRMED_REQUEST && p->apdu_type <= BN_ABORT)
        qw_json_u64(j, "invoke_id", p->invoke_id);
    if (f & BN_F_SERVICE) qw_json_u64(j, "service", p->service);
    if (p->apdu_type == BN_CONFIRMED_REQUEST || p->apdu_type == BN_COMPLEX_ACK) {
        qw_json_bool(j, "segmented", p->seg);
        if (p->seg) qw_json_bool(j, "more_follows", p->more);
    }
    if (p->apdu_type == BN_CONFIRMED_REQUEST) {
        qw_json_bool(j, "segmented_response_accepted", p->sa);
        qw_json_u64(j, "max_segments", max_segments_values[p->max_segs & 7u]);
        qw_json_u64(j, "max_apdu", max_apdu_values[p->max_apdu & 15u]);
    }
    if (p->apdu_type == BN_SEGMENT_ACK) {
        qw_json_u64(j, "sequence_number", p->seq);
        qw_json_u64(j, "window_size", p->window);
        qw_json_bool(j, "nak", p->nak);
        qw_json_bool(j, "sent_by_server", p->srv);
    }
    if (f & BN_F_REASON) {
        if (p->apdu_type == BN_REJECT)
            json_named(j, "reject_reason", "reject_reason_name", p->reason,
                       bn_reject_reason_name(p->reason), 64);
        else
            json_named(j, "abort_reason", "abort_reason_name", p->reason,
                       bn_abort_reason_name(p->reason), 64);
        if (p->apdu_type == BN_ABORT) qw_json_bool(j, "sent_by_server", p->srv);
    }
    if (p->segments) {
        qw_json_u64(j, "segments", p->segments);
        qw_json_str(j, "reassembly", reasm_names[p->reassembly & 7u]);
    }
}

static void json_service(struct qw_json *j, const struct bn_pdu *p)
{
    uint64_t f = p->f;
    if (f & BN_F_DEVICE) qw_json_u64(j, "device_instance", p->device);
    if (f & BN_F_OBJECT) json_object(j, p->object);
    if (f & BN_F_OBJECT_NAME) {
        qw_json_strn(j, "object_name", p->value, p->value_len);
        if (p->value_cut) qw_json_bool(j, "value_truncated", true);
    }
    if (f & BN_F_PROPERTY)
        json_named(j, "property", "property_name", p->property, bn_property_name(p->property), 512);
    if (f & BN_F_INDEX) qw_json_u64(j, "array_index", p->array_index);
    if (f & BN_F_VALUE) json_value(j, p);
    if (f & BN_F_ITEMS) qw_json_u64(j, "value_count", p->nitems);
    if (f & BN_F_PRIORITY) qw_json_u64(j, "priority", p->priority);
    if (f & BN_F_COUNTS) {
        qw_json_u64(j, "objects", p->nobjects);
        qw_json_u64(j, "properties", p->nproperties);
    }
    if (f & BN_F_RESULTS) {
        qw_json_u64(j, "objects", p->nobjects);
        qw_json_u64(j, "results", p->nresults);
        qw_json_u64(j, "errors", p->nerrors);
    }
    if (f & BN_F_IAM) {
        qw_json_u64(j, "max_apdu_accepted", p->max_apdu_accepted);
        json_named(j, "segmentation_supported", "segmentation_supported_name", p->segmentation,
                   p->segmentation < 4 ? segmentation_names[p->segmentation] : NULL, 256);
    }
    if (f & BN_F_VENDOR) {
        const char *vn = bn_vendor_name(p->vendor_id);
        qw_json_u64(j, "vendor_id", p->vendor_id);
        if (vn) qw_json_str(j, "vendor_name", vn);
    }
    if (f & BN_F_SERVICE_NUMBER) qw_json_u64(j, "service_number", p->service_number);
    if (f & BN_F_RANGE) {
        qw_json_u64(j, "device_instance_low", p->low);
        qw_json_u64(j, "device_instance_high", p->high);
    }
    if (f & BN_F_TIME) qw_json_strn(j, "time", p->value, p->value_len);
    if (f & BN_F_PROCESS) qw_json_u64(j, "process_id", p->process_id);
    if (f & BN_F_ISSUE) qw_json_bool(j, "issue_confirmed_notifications", p->issue_confirmed);
    if (f & BN_F_LIFETIME) qw_json_u64(j, "lifetime", p->lifetime);
    if (f & BN_F_TIME_REMAINING) qw_json_u64(j, "time_remaining", p->time_remaining);
    if (f & BN_F_EVENT_STATE) qw_json_u64(j, "event_state_acknowledged", p->state);
    if (f & BN_F_LIFE_SAFETY) qw_json_u64(j, "life_safety_request", p->state);
    if (f & BN_F_DCC)
        json_named(j, "enable_disable", "enable_disable_name", p->state,
                   p->state < 3 ? dcc_names[p->state] : NULL, UINT32_MAX);
    if (f & BN_F_DURATION) qw_json_u64(j, "duration_minutes", p->duration);
    if (f & BN_F_REINIT)
        json_named(j, "reinitialized_state", "reinitialized_state_name", p->state,
                   p->state < 8 ? reinit_states[p->state].name : NULL, 64);
    if (f & BN_F_PASSWORD) qw_json_bool(j, "password_present", p->password);
    if (f & BN_F_EOF) qw_json_bool(j, "end_of_file", p->eof);
    if (f & BN_F_FILE) {
        qw_json_str(j, "file_access", p->record_access ? "record" : "stream");
        qw_json_i64(j, p->record_access ? "file_start_record" : "file_start_position",
                    p->file_start);
    }
    if (f & BN_F_FILE_COUNT)
        qw_json_u64(j, p->record_access ? "record_count" : "octet_count", p->file_count);
    if (f & BN_F_GROUP) qw_json_u64(j, "group_number", p->group);
    if (f & BN_F_ERROR) {
        json_named(j, "error_class", "error_class_name", p->error_class,
                   bn_error_class_name(p->error_class), 64);
        json_named(j, "error_code", "error_code_name", p->error_code,
                   bn_error_code_name(p->error_code), 256);
    }
}

static void json_side(struct qw_json *j, const char *key, const struct bn_pdu *p)
{
    uint32_t fn = pdu_function(p);
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "function", fn);
    qw_json_str(j, "function_name", function_name(fn));
    json_bvll(j, p);
    json_npdu(j, p);
    if (p->f & BN_F_APDU) {
        json_apdu_header(j, p);
        json_service(j, p);
    }
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void bn_write_json(struct qw_json *j, const void *arg)
{
    const struct bn_view *v = arg;
    if (v->req) json_side(j, "request", v->req);
    if (v->rsp) json_side(j, "response", v->rsp);
    if (v->segment_acks) qw_json_u64(j, "segment_acks", v->segment_acks);
    if (v->segment_naks) qw_json_u64(j, "segment_naks", v->segment_naks);
    if (v->partial_segments) qw_json_u64(j, "partial_response_segments", v->partial_segments);
}

/* ---- Transactions -------------------------------------------------------------------------- */

static bool pdu_error(const struct bn_pdu *p)
{
    if (!p || !(p->f & BN_F_APDU)) {
        /* a BVLC-Result other than success, a network Reject-Message-To-Network */
        if (p && (p->f & BN_F_BVLC_RESULT) && p->bvlc_result != 0) return true;
        return p && (p->f & BN_F_NETMSG) && p->net_msg == 0x03;
    }
    return p->apdu_type == BN_ERROR || p->apdu_type == BN_REJECT || p->apdu_type == BN_ABORT;
}

static void bn_emit(struct qw_pctx *ctx, struct bn_state *st, const struct bn_pdu *req,
                    uint64_t req_ns, const struct bn_pdu *rsp, uint64_t rsp_ns,
                    const struct bn_slot *s)
{
    const struct bn_pdu *key = req ? req : rsp;
    st->view.req = req;
    st->view.rsp = rsp;
    st->view.segment_acks = s ? s->segment_acks : 0;
    st->view.segment_naks = s ? s->segment_naks : 0;
    /* an answer other than the segmented ComplexACK under way ended the transaction */
    st->view.partial_segments =
        s && s->rsp_started && rsp && rsp->segments == 0 ? s->rsp_segments : 0;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = pdu_function(key);
    t.function_name = function_name(t.function);
    t.ops = key->ops;
    t.error = pdu_error(key == req && rsp ? rsp : key);
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = bn_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static bool addr_eq(const struct bn_addr *a, bool ha, const struct bn_pdu *p, bool src)
{
    bool hb = (p->f & (src ? BN_F_SNET : BN_F_DNET)) != 0;
    if (ha != hb) return false;
    if (!ha) return true;
    const struct bn_addr *b = src ? &p->src : &p->dst;
    size_t n = a->len < BN_ADDR_MAX ? a->len : BN_ADDR_MAX;
    return a->net == b->net && a->len == b->len && memcmp(a->mac, b->mac, n) == 0;
}

/* The slot of the transaction a PDU belongs to: the request was sent in direction `req_dir`
 * with `invoke`; `p` travels in `pdu_dir`. A PDU from the requester carries the request's
 * addresses as they are; one from the responder carries them swapped. */
static struct bn_slot *slot_find(struct bn_state *st, uint8_t req_dir, uint8_t pdu_dir,
                                 uint8_t invoke, const struct bn_pdu *p)
{
    bool from_requester = req_dir == pdu_dir;
    struct bn_slot *best = NULL;
    for (size_t i = 0; i < BN_QUEUE_MAX; i++) {
        struct bn_slot *s = &st->slots[i];
        if (!s->used || s->req_dir != req_dir || s->invoke_id != invoke) continue;
        bool ok = from_requester ? addr_eq(&s->peer, s->has_peer, p, false) &&
                                       addr_eq(&s->self, s->has_self, p, true)
                                 : addr_eq(&s->peer, s->has_peer, p, true) &&
                                       addr_eq(&s->self, s->has_self, p, false);
        if (!ok) continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static struct bn_slot *slot_oldest(struct bn_state *st)
{
    struct bn_slot *best = NULL;
    for (size_t i = 0; i < BN_QUEUE_MAX; i++) {
        struct bn_slot *s = &st->slots[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static uint8_t slot_index(const struct bn_state *st, const struct bn_slot *s)
{
    return (uint8_t)(s - st->slots);
}

static bool reasm_owned_by(const struct bn_state *st, const struct bn_slot *s, bool response)
{
    return st->reasm.active && st->reasm.slot == slot_index(st, s) &&
           st->reasm.response == response;
}

static void slot_free(struct bn_state *st, struct bn_slot *s)
{
    if (st->reasm.active && st->reasm.slot == slot_index(st, s)) st->reasm.active = false;
    s->used = false;
    st->nqueued--;
}

/* Emit a slot's transaction with the response `rsp` (NULL: unanswered) and free it. */
static void slot_emit(struct qw_pctx *ctx, struct bn_state *st, struct bn_slot *s,
                      const struct bn_pdu *rsp, uint64_t rsp_ns)
{
    bn_emit(ctx, st, s->has_req ? &s->req : NULL, s->req_ns, rsp, rsp_ns, s);
    slot_free(st, s);
}

/* A slot whose segmented response is complete (or a response-only slot) carries its response
 * in st->seg_rsp when it owned the reassembly, else a header-only summary is rebuilt. */
static void slot_flush(struct qw_pctx *ctx, struct bn_state *st, struct bn_slot *s)
{
    if (s->rsp_started) {
        struct bn_pdu rsp_buf;
        struct bn_pdu *rsp = &rsp_buf;
        if (s->await_final_ack || reasm_owned_by(st, s, true)) {
            *rsp = st->seg_rsp;
        } else {
            memset(rsp, 0, sizeof *rsp);
            rsp->f = BN_F_APDU | BN_F_SERVICE | BN_F_NPDU;
            rsp->bvlc_function = s->rsp_bvlc;
            rsp->control = s->rsp_control;
            rsp->apdu_type = BN_COMPLEX_ACK;
            rsp->invoke_id = s->invoke_id;
            rsp->service = s->service;
            rsp->seg = true;
            rsp->reassembly = BN_REASM_NOT_DECODED;
        }
        rsp->segments = s->rsp_segments;
        slot_emit(ctx, st, s, rsp, s->rsp_ns);
        return;
    }
    slot_emit(ctx, st, s, NULL, 0);
}

/* Emit transactions whose response is complete but which were kept for a last SegmentACK. */
static void flush_awaiting(struct qw_pctx *ctx, struct bn_state *st)
{
    for (size_t i = 0; i < BN_QUEUE_MAX; i++) {
        struct bn_slot *s = &st->slots[i];
        if (s->used && s->await_final_ack) slot_flush(ctx, st, s);
    }
}

static struct bn_slot *slot_new(struct qw_pctx *ctx, struct bn_state *st, uint8_t req_dir,
                                uint8_t invoke, const struct bn_pdu *key_pdu, bool from_requester)
{
    if (st->nqueued >= BN_QUEUE_MAX) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "bacnet.request_queue_full", NULL);
        st->queue_full_reported = true;
        struct bn_slot *old = slot_oldest(st);
        if (old) slot_flush(ctx, st, old);
    }
    struct bn_slot *s = NULL;
    for (size_t i = 0; i < BN_QUEUE_MAX && !s; i++)
        if (!st->slots[i].used) s = &st->slots[i];
    if (!s) return NULL; /* unreachable: a slot was freed above */
    memset(s, 0, sizeof *s);
    s->used = true;
    s->req_dir = req_dir;
    s->invoke_id = invoke;
    s->service = key_pdu->service;
    /* the request's own addresses: as carried by the requester, swapped from the responder */
    const struct bn_addr *peer = from_requester ? &key_pdu->dst : &key_pdu->src;
    const struct bn_addr *self = from_requester ? &key_pdu->src : &key_pdu->dst;
    s->has_peer = (key_pdu->f & (from_requester ? BN_F_DNET : BN_F_SNET)) != 0;
    s->has_self = (key_pdu->f & (from_requester ? BN_F_SNET : BN_F_DNET)) != 0;
    if (s->has_peer) s->peer = *peer;
    if (s->has_self) s->self = *self;
    s->seq = st->next_seq++;
    st->nqueued++;
    return s;
}

/* Start reassembling a segmented message into the flow's buffer, if it is free. */
static bool reasm_start(struct bn_state *st, struct bn_slot *s, bool response, const uint8_t *b,
                        size_t n)
{
    struct bn_reasm *r = &st->reasm;
    if (r->active) return false;
    r->active = true;
    r->response = response;
    r->broken = false;
    r->overflow = n > BN_REASM_MAX;
    r->slot = slot_index(st, s);
    r->len = (uint16_t)(n > BN_REASM_MAX ? BN_REASM_MAX : n);
    memcpy(r->buf, b, r->len);
    return true;
}

static void reasm_append(struct bn_state *st, const uint8_t *b, size_t n)
{
    struct bn_reasm *r = &st->reasm;
    if (r->broken || r->overflow) return;
    size_t room = BN_REASM_MAX - r->len;
    if (n > room) {
        n = room;
        r->overflow = true;
    }
    memcpy(r->buf + r->len, b, n);
    r->len = (uint16_t)(r->len + n);
}

/* Forget what a decode of the service parameters set, keeping the BVLL, NPDU and APDU header. */
static void clear_service_fields(struct bn_pdu *p)
{
    uint64_t keep = BN_F_BVLC_RESULT | BN_F_TTL | BN_F_BIP | BN_F_ENTRIES | BN_F_NPDU | BN_F_DNET |
                    BN_F_SNET | BN_F_NETMSG | BN_F_NET_VENDOR | BN_F_APDU | BN_F_SERVICE |
                    BN_F_REASON | BN_F_SEG_INFO;
    p->f &= keep;
    size_t from = offsetof(struct bn_pdu, object);
    size_t to = offsetof(struct bn_pdu, file_count) + sizeof p->file_count;
    memset((char *)p + from, 0, to - from);
}

/* Decode the reassembled parameters of the owner's message into `p` (whose header fields are
 * already set), emitting anomalies only when the message is complete. */
static void reasm_decode(struct qw_pctx *ctx, struct bn_state *st, struct bn_pdu *p, bool identity,
                         bool identity_server)
{
    struct bn_reasm *r = &st->reasm;
    bool complete = !r->broken && !r->overflow;
    struct bn_dec d = {
        qw_cursor_make(r->buf, r->len), p, ctx, st, identity, identity_server, !complete, false};
    clear_service_fields(p); /* rebuilt from the whole message */
    dec_service(&d);
    p->reassembly = complete ? BN_REASM_COMPLETE : BN_REASM_PARTIAL;
}

/* ---- PDU handlers -------------------------------------------------------------------------- */

/* What the datagram handler knows about the PDU being handled. */
struct bn_in {
    struct qw_pctx *ctx;
    struct bn_state *st;
    uint8_t dir;
    uint64_t ts;
    struct bn_pdu *p; /* BVLL, NPDU and APDU header decoded */
    const uint8_t *params; /* the service parameters of this PDU */
    size_t nparams;
    bool identity; /* the sender, or the original source forwarded by a BBMD, is the device
                    * (no SNET) */
};

static void decode_params(const struct bn_in *in, struct bn_pdu *p, struct qw_pctx *ctx,
                          bool partial, bool identity)
{
    struct bn_dec d = {qw_cursor_make(in->params, in->nparams),
                       p,
                       ctx,
                       in->st,
                       identity,
                       in->dir == QW_DIR_TO_CLIENT,
                       partial,
                       false};
    dec_service(&d);
}

/* The operation bits of a PDU's service, from the service tables. */
static uint32_t service_ops(const struct bn_pdu *p)
{
    const struct bn_service *sv = NULL;
    if (!(p->f & BN_F_SERVICE)) return 0;
    if (p->apdu_type == BN_UNCONFIRMED_REQUEST)
        sv = unconfirmed_service(p->service);
    else
        sv = confirmed_service(p->service);
    return sv ? sv->ops : 0;
}

static void init_ops(struct bn_pdu *p)
{
    p->ops = service_ops(p);
}

static void on_confirmed_request(const struct bn_in *in)
{
    struct bn_state *st = in->st;
    struct bn_pdu *p = in->p;
    uint8_t dir = in->dir;
    init_ops(p);
    if (p->seg && p->seq != 0) {
        /* a later segment of a request in progress */
        struct bn_slot *s = slot_find(st, dir, dir, p->invoke_id, p);
        if (!s) {
            /* its first segment was not seen: track it from here, header only */
            s = slot_new(in->ctx, st, dir, p->invoke_id, p, true);
            if (!s) return;
            s->has_req = true;
            s->req = *p;
            s->req.reassembly = BN_REASM_NOT_DECODED;
            s->req_ns = in->ts;
            s->req.segments = 1;
            s->req_next_seq = (uint8_t)(p->seq + 1);
            qw_emit_anomaly(in->ctx, "bacnet.missing_segment", confirmed_name(p->service));
            return;
        }
        if (s->req.segments < UINT16_MAX) s->req.segments++;
        bool in_order = p->seq == s->req_next_seq;
        if (in_order) s->req_next_seq++;
        bool owned = reasm_owned_by(st, s, false);
        if (owned) {
            if (in_order)
                reasm_append(st, in->params, in->nparams);
            else if (p->seq != (uint8_t)(s->req_next_seq - 1))
                st->reasm.broken = true;
        }
        if (!in_order && p->seq != (uint8_t)(s->req_next_seq - 1))
            qw_emit_anomaly(in->ctx, "bacnet.missing_segment", confirmed_name(p->service));
        if (p->more) return;
        s->req.more = false;
        if (owned) {
            reasm_decode(in->ctx, st, &s->req, false, false);
            st->reasm.active = false;
        }
        return;
    }
    /* a new request (or the first segment of one); a request reusing the key of one still
     * outstanding means the old one went unanswered (a retry after the APDU timeout) */
    struct bn_slot *old = slot_find(st, dir, dir, p->invoke_id, p);
    if (old) slot_flush(in->ctx, st, old);
    struct bn_slot *s = slot_new(in->ctx, st, dir, p->invoke_id, p, true);
    if (!s) return;
    s->has_req = true;
    s->req_ns = in->ts;
    s->req = *p;
    if (p->seg) {
        s->req.segments = 1;
        s->req_next_seq = 1;
        /* the first segment's fields, quietly: the rest of the parameters is still to come */
        decode_params(in, &s->req, NULL, true, false);
        if (reasm_start(st, s, false, in->params, in->nparams)) {
            s->req.reassembly = BN_REASM_PARTIAL;
        } else {
            s->req.reassembly = BN_REASM_FIRST_ONLY;
        }
        if (!p->more) { /* a single segment marked segmented: complete already */
            if (reasm_owned_by(st, s, false)) {
                reasm_decode(in->ctx, st, &s->req, false, false);
                st->reasm.active = false;
            }
        }
        return;
    }
    decode_params(in, &s->req, in->ctx, false, false);
}

/* A SimpleACK, unsegmented ComplexACK, Error, Reject or Abort that ends a transaction. */
static void on_final_response(const struct bn_in *in, uint8_t req_dir)
{
    struct bn_state *st = in->st;
    struct bn_pdu *p = in->p;
    struct bn_slot *s = slot_find(st, req_dir, in->dir, p->invoke_id, p);
    if (s && (p->f & BN_F_SERVICE) && p->service != s->service)
        qw_emit_anomaly(in->ctx, "bacnet.service_mismatch", confirmed_name(p->service));
    struct bn_pdu rsp_buf = *p;
    struct bn_pdu *rsp = &rsp_buf;
    /* A reject or abort names no service: it takes its request's. */
    if (s && !(rsp->f & BN_F_SERVICE)) {
        rsp->service = s->service;
        rsp->service_from_request = true;
    }
    decode_params(in, rsp, in->ctx, false, in->identity);
    if (s) {
        rsp->ops = s->req.ops;
        if (s->rsp_started && reasm_owned_by(st, s, true)) st->reasm.active = false;
        slot_emit(in->ctx, st, s, rsp, in->ts);
        return;
    }
    rsp->ops = service_ops(rsp);
    bn_emit(in->ctx, st, NULL, 0, rsp, in->ts, NULL);
}

static void on_complex_ack_segment(const struct bn_in *in)
{
    struct bn_state *st = in->st;
    struct bn_pdu *p = in->p;
    uint8_t req_dir = in->dir ^ 1u;
    struct bn_slot *s = slot_find(st, req_dir, in->dir, p->invoke_id, p);
    if (!s || !s->rsp_started) {
        if (!s) {
            s = slot_new(in->ctx, st, req_dir, p->invoke_id, p, false);
            if (!s) return;
        }
        if (s->has_req && p->service != s->service)
            qw_emit_anomaly(in->ctx, "bacnet.service_mismatch", confirmed_name(p->service));
        if (p->seq != 0)
            qw_emit_anomaly(in->ctx, "bacnet.missing_segment", confirmed_name(p->service));
        s->rsp_started = true;
        s->rsp_bvlc = p->bvlc_function;
        s->rsp_control = p->control;
        s->rsp_segments = 1;
        s->rsp_next_seq = (uint8_t)(p->seq + 1);
        s->rsp_last_seq = p->seq;
        s->rsp_ns = in->ts; /* latency runs to the first segment of the answer */
        if (p->seq == 0 && reasm_start(st, s, true, in->params, in->nparams)) {
            st->seg_rsp = *p;
            st->seg_rsp.ops = s->has_req ? s->req.ops : service_ops(p);
            decode_params(in, &st->seg_rsp, NULL, true, false);
            st->seg_rsp.reassembly = BN_REASM_PARTIAL;
        }
    } else {
        if (s->rsp_segments < UINT16_MAX) s->rsp_segments++;
        bool in_order = p->seq == s->rsp_next_seq;
        bool dup = p->seq == (uint8_t)(s->rsp_next_seq - 1);
        if (in_order) {
            s->rsp_next_seq++;
            s->rsp_last_seq = p->seq;
        }
        if (reasm_owned_by(st, s, true)) {
            if (in_order)
                reasm_append(st, in->params, in->nparams);
            else if (!dup)
                st->reasm.broken = true;
        }
        if (!in_order && !dup)
            qw_emit_anomaly(in->ctx, "bacnet.missing_segment", confirmed_name(p->service));
    }
    if (p->more) return;
    /* the last segment: decode what was gathered, then wait for the final SegmentACK */
    if (reasm_owned_by(st, s, true)) {
        st->seg_rsp.more = false;
        reasm_decode(in->ctx, st, &st->seg_rsp, in->identity, in->dir == QW_DIR_TO_CLIENT);
        st->reasm.active = false;
        s->await_final_ack = true; /* on_apdu flushed any other: one waits on seg_rsp at most */
        return;
    }
    slot_flush(in->ctx, st, s);
}

static void on_segment_ack(const struct bn_in *in)
{
    struct bn_state *st = in->st;
    struct bn_pdu *p = in->p;
    /* SRV set: sent by the server, acknowledging request segments ([135] 20.1.6) */
    uint8_t req_dir = p->srv ? in->dir ^ 1u : in->dir;
    struct bn_slot *s = slot_find(st, req_dir, in->dir, p->invoke_id, p);
    if (!s) {
        struct bn_pdu rsp = *p;
        rsp.ops = 0;
        bn_emit(in->ctx, st, NULL, 0, &rsp, in->ts, NULL);
        return;
    }
    if (s->segment_acks < UINT16_MAX) s->segment_acks++;
    if (p->nak && s->segment_naks < UINT16_MAX) s->segment_naks++;
    if (s->await_final_ack && !p->srv && p->seq == s->rsp_last_seq) slot_flush(in->ctx, st, s);
}

static void on_apdu(const struct bn_in *in)
{
    struct bn_state *st = in->st;
    struct bn_pdu *p = in->p;
    if (p->apdu_type != BN_SEGMENT_ACK) flush_awaiting(in->ctx, st);
    switch (p->apdu_type) {
    case BN_CONFIRMED_REQUEST: on_confirmed_request(in); return;
    case BN_UNCONFIRMED_REQUEST: {
        init_ops(p);
        decode_params(in, p, in->ctx, false, in->identity);
        bn_emit(in->ctx, st, p, in->ts, NULL, 0, NULL);
        return;
    }
    case BN_COMPLEX_ACK:
        if (p->seg) {
            on_complex_ack_segment(in);
            return;
        }
        on_final_response(in, in->dir ^ 1u);
        return;
    case BN_SIMPLE_ACK:
    case BN_ERROR:
    case BN_REJECT: on_final_response(in, in->dir ^ 1u); return;
    case BN_ABORT: on_final_response(in, p->srv ? in->dir ^ 1u : in->dir); return;
    case BN_SEGMENT_ACK: on_segment_ack(in); return;
    default:
        qw_emit_anomaly(in->ctx, "bacnet.invalid_apdu_type", NULL);
        p->ops = 0;
        bn_emit(in->ctx, st, NULL, 0, p, in->ts, NULL);
        return;
    }
}

/* ---- BVLL ([135] J.2) ---------------------------------------------------------------------- */

static void bvll_pending_flush(struct qw_pctx *ctx, struct bn_state *st)
{
    if (!st->bvll.used) return;
    st->bvll.used = false;
    bn_emit(ctx, st, &st->bvll.pdu, st->bvll.ts_ns, NULL, 0, NULL);
}

/* The fields of the BVLL messages without an NPDU. */
static void dec_bvll_fields(struct bn_pdu *p, struct qw_cursor *c)
{
    switch (p->bvlc_function) {
    case 0x00:
        p->bvlc_result = qw_cur_be16(c);
        if (!c->err) p->f |= BN_F_BVLC_RESULT;
        break;
    case 0x05:
        p->ttl = qw_cur_be16(c);
        if (!c->err) p->f |= BN_F_TTL;
        break;
    case 0x08:
        if (qw_cur_bytes(c, p->bip, BN_BIP_ADDR_LEN)) p->f |= BN_F_BIP;
        break;
    case 0x01:
    case 0x03:
    case 0x07:
        p->f |= BN_F_ENTRIES;
        while (qw_cur_left(c) >= BN_BDT_ENTRY_LEN) {
            if (p->nentries < BN_ENTRIES_MAX)
                qw_cur_bytes(c, p->entries[p->nentries], BN_BDT_ENTRY_LEN);
            else
                qw_cur_skip(c, BN_BDT_ENTRY_LEN);
            if (p->nentries < UINT16_MAX) p->nentries++;
        }
        break;
    default: break;
    }
}

static void on_bvll_control(struct qw_pctx *ctx, struct bn_state *st, uint8_t dir, struct bn_pdu *p,
                            const struct bn_bvll *fn)
{
    uint64_t ts = qw_pctx_time(ctx);
    p->ops = fn->ops;
    if (fn->kind == BN_BVLL_REQUEST) {
        bvll_pending_flush(ctx, st);
        st->bvll.used = true;
        st->bvll.dir = dir;
        st->bvll.ts_ns = ts;
        st->bvll.pdu = *p;
        return;
    }
    /* a result or table ACK: answers the pending request from the other side, if it fits */
    bool fits = st->bvll.used && st->bvll.dir != dir;
    if (fits && p->bvlc_function == 0x03) fits = st->bvll.pdu.bvlc_function == 0x02;
    if (fits && p->bvlc_function == 0x07) fits = st->bvll.pdu.bvlc_function == 0x06;
    if (fits && (p->f & BN_F_BVLC_RESULT) && p->bvlc_result != 0) {
        for (size_t i = 0; i < sizeof bvlc_results / sizeof bvlc_results[0]; i++)
            if (bvlc_results[i].code == p->bvlc_result)
                fits = bvlc_results[i].function == st->bvll.pdu.bvlc_function;
    }
    if (fits) {
        st->bvll.used = false;
        p->ops = st->bvll.pdu.ops;
        bn_emit(ctx, st, &st->bvll.pdu, st->bvll.ts_ns, p, ts, NULL);
        return;
    }
    bn_emit(ctx, st, NULL, 0, p, ts, NULL);
}

static void bn_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct bn_state *st = state;
    /* The PDU being handled lives on the stack: it is summarised into the state (a queued
     * request) or emitted before this returns. */
    struct bn_pdu pdu;
    struct bn_pdu *p = &pdu;
    memset(p, 0, sizeof *p);
    struct qw_cursor c = qw_cursor_make(data, len);
    uint8_t type = qw_cur_u8(&c);
    p->bvlc_function = qw_cur_u8(&c);
    p->bvlc_length = qw_cur_be16(&c);
    if (c.err) {
        qw_emit_anomaly(ctx, "bacnet.truncated_bvll", NULL);
        return;
    }
    if (type != BN_BVLC_TYPE_IP) {
        qw_emit_anomaly(ctx, "bacnet.invalid_bvlc_type", NULL);
        return;
    }
    if (p->bvlc_length < BN_BVLC_HDR) {
        qw_emit_anomaly(ctx, "bacnet.invalid_bvlc_length", NULL);
        return;
    }
    size_t n = len;
    if (p->bvlc_length > len) {
        qw_emit_anomaly(ctx, "bacnet.truncated_bvll", bvll_name(p->bvlc_function));
        p->truncated = true;
    } else if (p->bvlc_length < len) {
        qw_emit_anomaly(ctx, "bacnet.trailing_data", "bvll");
        n = p->bvlc_length;
    }
    c = qw_cursor_make(data + BN_BVLC_HDR, n - BN_BVLC_HDR);
    const struct bn_bvll *fn = p->bvlc_function < sizeof bvll_funcs / sizeof bvll_funcs[0]
                                   ? &bvll_funcs[p->bvlc_function]
                                   : NULL;
    if (!fn || fn->kind == BN_BVLL_OPAQUE) {
        /* an unknown function (valid, not decoded) or Secure-BVLL */
        flush_awaiting(ctx, st);
        bn_emit(ctx, st, p, qw_pctx_time(ctx), NULL, 0, NULL);
        return;
    }
    if (fn->kind == BN_BVLL_REQUEST || fn->kind == BN_BVLL_RESPONSE) {
        if ((fn->fixed_len && p->bvlc_length != fn->fixed_len) ||
            (fn->entry_len && (p->bvlc_length - BN_BVLC_HDR) % fn->entry_len != 0))
            qw_emit_anomaly(ctx, "bacnet.invalid_bvlc_length", fn->name);
        dec_bvll_fields(p, &c);
        if (c.err) p->truncated = true;
        on_bvll_control(ctx, st, dir, p, fn);
        return;
    }
    bool forwarded = fn->kind == BN_BVLL_FORWARDED;
    if (forwarded) {
        if (!qw_cur_bytes(&c, p->bip, BN_BIP_ADDR_LEN)) {
            qw_emit_anomaly(ctx, "bacnet.truncated_bvll", fn->name);
            return;
        }
        p->f |= BN_F_BIP;
    }
    struct bn_dec d = {c, p, ctx, st, false, false, false, false};
    if (!dec_npdu(&d)) {
        /* the BVLL message still happened: recorded at that level, marked truncated */
        flush_awaiting(ctx, st);
        p->truncated = true;
        bn_emit(ctx, st, p, qw_pctx_time(ctx), NULL, 0, NULL);
        return;
    }
    if (p->f & BN_F_NETMSG) {
        flush_awaiting(ctx, st);
        dec_netmsg(&d);
        bn_emit(ctx, st, p, qw_pctx_time(ctx), NULL, 0, NULL);
        return;
    }
    const uint8_t *apdu = qw_cur_ptr(&d.c);
    size_t napdu = qw_cur_left(&d.c);
    struct bn_dec a = {qw_cursor_make(apdu, napdu), p, ctx, st, false, false, false, false};
    if (!dec_apdu_header(&a)) {
        /* an NPDU without its APDU, or an APDU header cut short: recorded on its own */
        qw_emit_anomaly(ctx, "bacnet.truncated_apdu", napdu ? "header" : "empty");
        flush_awaiting(ctx, st);
        p->truncated = true;
        p->ops = 0;
        uint64_t ts = qw_pctx_time(ctx);
        if (p->apdu_type <= BN_UNCONFIRMED_REQUEST)
            bn_emit(ctx, st, p, ts, NULL, 0, NULL);
        else
            bn_emit(ctx, st, NULL, 0, p, ts, NULL);
        return;
    }
    struct bn_in in = {ctx,
                       st,
                       (uint8_t)dir,
                       qw_pctx_time(ctx),
                       p,
                       qw_cur_ptr(&a.c),
                       qw_cur_left(&a.c),
                       !(p->f & BN_F_SNET)};
    on_apdu(&in);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* Does an NPDU start here that this parser can read: version 1, its addresses within the
 * message, and a known network message type or APDU type after them? */
static bool npdu_plausible(const uint8_t *b, size_t n)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    uint8_t version = qw_cur_u8(&c);
    uint8_t control = qw_cur_u8(&c);
    if (c.err || version != BN_NPDU_VERSION || (control & 0x50u)) return false;
    if (control & 0x20u) {
        qw_cur_skip(&c, 2);
        qw_cur_skip(&c, qw_cur_u8(&c));
    }
    if (control & 0x08u) {
        qw_cur_skip(&c, 2);
        uint8_t slen = qw_cur_u8(&c);
        if (slen == 0) return false;
        qw_cur_skip(&c, slen);
    }
    if (control & 0x20u) qw_cur_skip(&c, 1);
    uint8_t next = qw_cur_u8(&c);
    if (c.err) return false;
    if (control & 0x80u) return next < sizeof net_msgs / sizeof net_msgs[0] || next >= 0x80u;
    return (next >> 4) <= BN_ABORT;
}

static enum qw_probe_result bn_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* BACnet peers talk both ways: any datagram may open the flow */
    struct qw_cursor c = qw_cursor_make(data, len);
    uint8_t type = qw_cur_u8(&c);
    uint8_t func = qw_cur_u8(&c);
    uint16_t blen = qw_cur_be16(&c);
    /* A datagram is whole: too short is not a valid prefix of anything. */
    if (c.err || type != BN_BVLC_TYPE_IP || blen != len) return QW_PROBE_NO;
    if (func >= sizeof bvll_funcs / sizeof bvll_funcs[0]) return QW_PROBE_NO;
    const struct bn_bvll *fn = &bvll_funcs[func];
    switch (fn->kind) {
    case BN_BVLL_REQUEST:
    case BN_BVLL_RESPONSE:
        if (fn->fixed_len) return blen == fn->fixed_len ? QW_PROBE_MATCH : QW_PROBE_NO;
        return (blen - BN_BVLC_HDR) % fn->entry_len == 0 ? QW_PROBE_MATCH : QW_PROBE_NO;
    case BN_BVLL_NPDU:
        return npdu_plausible(data + BN_BVLC_HDR, len - BN_BVLC_HDR) ? QW_PROBE_MATCH : QW_PROBE_NO;
    case BN_BVLL_FORWARDED:
        if (len < BN_BVLC_HDR + BN_BIP_ADDR_LEN) return QW_PROBE_NO;
        return npdu_plausible(data + BN_BVLC_HDR + BN_BIP_ADDR_LEN,
                              len - BN_BVLC_HDR - BN_BIP_ADDR_LEN)
                   ? QW_PROBE_MATCH
                   : QW_PROBE_NO;
    default: /* Secure-BVLL: nothing further to check, so not enough to claim a flow */
        return QW_PROBE_NO;
    }
}

static void bn_flow_end(struct qw_pctx *ctx, void *state)
{
    struct bn_state *st = state;
    bvll_pending_flush(ctx, st);
    struct bn_slot *s;
    while ((s = slot_oldest(st)) != NULL) slot_flush(ctx, st, s);
}

const struct qw_proto qw_proto_bacnet = {
    .name = "bacnet",
    .transports = QW_TRANSPORT_UDP,
    /* X'BAC0' and the next ports, which sites use for further B/IP networks on one subnet */
    .ports = {BN_PORT, BN_PORT + 1, BN_PORT + 2, BN_PORT + 3, BN_PORT + 4, BN_PORT + 5, BN_PORT + 6,
              0},
    .probe = bn_probe,
    .state_size = sizeof(struct bn_state),
    .datagram = bn_datagram,
    .flow_end = bn_flow_end,
};
