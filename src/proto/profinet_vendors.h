/* PROFINET vendor ids (the VendorID of a device's GSDML file, assigned by PROFIBUS & PROFINET
 * International), shared by the parsers that carry one: DCP's DeviceID option and the I&M0
 * record of IO context management. */
#ifndef QW_PROTO_PROFINET_VENDORS_H
#define QW_PROTO_PROFINET_VENDORS_H

#include <stdint.h>

/* The vendor's name, or NULL when the id is not in the table (profinet_vendors.c lists only ids
 * checked against public evidence). */
const char *qw_profinet_vendor_name(uint16_t id);

#endif
