/* BACnet enumeration tables shared by the BACnet/IP parser (bacnet.c) and its tests.
 *
 * Names are the standard's identifiers ([135] clause 21, the ASN.1 productions) written in
 * snake_case ("present-value" becomes "present_value"), so they read the same as the other
 * parsers' names in the event log. Every lookup returns NULL for a code without a name: the caller
 * decides between "unknown", "reserved" and "proprietary". */
#ifndef QW_PROTO_BACNET_TABLES_H
#define QW_PROTO_BACNET_TABLES_H

#include <stdint.h>

/* BACnetObjectType ([135] clause 21); 128-1023 are proprietary. */
const char *bn_object_type_name(uint32_t type);
/* BACnetPropertyIdentifier ([135] clause 21); 512-4194303 are proprietary. */
const char *bn_property_name(uint32_t prop);
/* Error class and code (BACnetErrorClass, BACnetErrorCode, [135] clause 18 and 21). */
const char *bn_error_class_name(uint32_t cls);
const char *bn_error_code_name(uint32_t code);
/* BACnetRejectReason and BACnetAbortReason ([135] clause 18.8, 18.9, 21); 64-255 proprietary. */
const char *bn_reject_reason_name(uint32_t reason);
const char *bn_abort_reason_name(uint32_t reason);
/* The organisation behind a BACnet vendor identifier (ASHRAE's registry), for the common
 * building-automation vendors only. */
const char *bn_vendor_name(uint32_t vendor_id);

#endif
