/* One spelling per vendor. The same maker reaches us as "SIEMENS AG" (an OUI), "Siemens" (a
 * Modbus device identification), "Siemens Industry, Inc." (LLDP) or vendor id 42 (CIP); the
 * inventory must show one name, so that conflicts it reports are real ones.
 *
 * Normalising trims and collapses whitespace, drops legal-form suffixes (Inc., GmbH, Co., Ltd.,
 * AG, ...) and maps known aliases to a canonical name with the table in vendor.c. Names not in
 * the table keep their own words, minus the legal form. */
#ifndef QW_ANALYSIS_VENDOR_H
#define QW_ANALYSIS_VENDOR_H

#include <stddef.h>

/* Writes the normalised name of `in` (n bytes) to out (NUL-terminated, truncated to cap);
 * returns its length (0 for an empty or blank name). */
size_t qw_vendor_normalize(const char *in, size_t n, char *out, size_t cap);

#endif
