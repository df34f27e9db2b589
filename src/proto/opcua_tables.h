/* OPC UA protocol facts shared by src/proto/opcua.c and its tests: the service encoding ids
 * (OPC 10000-4 services, binary encoding NodeIds of namespace 0 from the OPC Foundation's
 * Opc.Ua.NodeIds.Services.csv) and the StatusCode names (OPC 10000-6 Annex A / StatusCode.csv). */
#ifndef QW_PROTO_OPCUA_TABLES_H
#define QW_PROTO_OPCUA_TABLES_H

#include <stddef.h>
#include <stdint.h>

enum ua_svc_kind {
    UA_SVC_REQUEST = 1,
    UA_SVC_RESPONSE = 2, /* includes ServiceFault, the generic error response */
};

struct ua_service {
    uint32_t id;          /* numeric id of the DataTypeEncoding node (DefaultBinary), ns 0 */
    const char *type;     /* encoded type name, e.g. "ReadRequest" */
    const char *service;  /* the service both halves belong to, e.g. "Read" */
    uint32_t ops;         /* qw_op bits (emit.h) */
    uint8_t kind;         /* ua_svc_kind */
};

/* Row for a binary encoding id of namespace 0, or NULL when it names no service message. */
const struct ua_service *ua_service_by_id(uint32_t id);

/* Name of a StatusCode (its code bits, the top 16; the info bits are ignored), or NULL. */
const char *ua_status_name(uint32_t code);

/* Number of rows, for tests that walk the tables. */
size_t ua_service_count(void);
const struct ua_service *ua_service_at(size_t i);

/* Encoding ids (DefaultBinary) decoded beyond their headers. */
enum {
    UA_ID_SERVICE_FAULT = 397,
    UA_ID_FIND_SERVERS_REQ = 422,
    UA_ID_FIND_SERVERS_RSP = 425,
    UA_ID_GET_ENDPOINTS_REQ = 428,
    UA_ID_GET_ENDPOINTS_RSP = 431,
    UA_ID_OPN_REQ = 446,
    UA_ID_OPN_RSP = 449,
    UA_ID_CLO_REQ = 452,
    UA_ID_CREATE_SESSION_REQ = 461,
    UA_ID_CREATE_SESSION_RSP = 464,
    UA_ID_ACTIVATE_SESSION_REQ = 467,
    UA_ID_ACTIVATE_SESSION_RSP = 470,
    UA_ID_READ_REQ = 631,
    UA_ID_WRITE_REQ = 673,
    UA_ID_BROWSE_REQ = 527,
    UA_ID_CALL_REQ = 712,
    /* UserIdentityToken subtypes carried in ActivateSession (ExtensionObject type ids). */
    UA_ID_ANONYMOUS_TOKEN = 321,
    UA_ID_USERNAME_TOKEN = 324,
    UA_ID_X509_TOKEN = 327,
    UA_ID_ISSUED_TOKEN = 940,
};

#endif
