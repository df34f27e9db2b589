/* DNP3 (IEEE 1815-2012) protocol facts used by src/proto/dnp3.c: the link-layer CRC, function
 * codes with their operation classes, link-layer function names, the object library's data sizes
 * per (group, variation), and the names of IIN bits, control and file status codes, Secure
 * Authentication error codes and device attributes. Kept apart so the parser reads as framing
 * and decoding, and every fact sits in one table (DESIGN.md, practice 4). */
#ifndef QW_PROTO_DNP3_TABLES_H
#define QW_PROTO_DNP3_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* ---- Link layer CRC (IEEE 1815-2012 clause 9) ----------------------------------------------- */

/* CRC-16/DNP over `n` bytes: polynomial 0x3D65 (reflected 0xA6BC), initial value 0, result
 * complemented; sent low byte first. */
uint16_t qw_dnp3_crc(const uint8_t *p, size_t n);

/* ---- Application function codes (IEEE 1815-2012 clause 4) ------------------------------------ */

enum {
    QW_DNP3_FN_DATA = 1u << 0,        /* request objects carry data (not just headers) */
    QW_DNP3_FN_NO_RESPONSE = 1u << 1, /* the outstation sends no response to this request */
    QW_DNP3_FN_RESPONSE = 1u << 2,    /* a response function: IIN follows the function code */
};

struct qw_dnp3_func {
    const char *name; /* NULL: not defined by the standard */
    uint32_t ops;     /* qw_op bits */
    uint8_t flags;    /* QW_DNP3_FN_* */
};

extern const struct qw_dnp3_func qw_dnp3_funcs[256];

/* ---- Link layer function codes (IEEE 1815-2012 clause 9) ------------------------------------- */

extern const char *const qw_dnp3_link_primary[16];
extern const char *const qw_dnp3_link_secondary[16];

/* ---- Object library (IEEE 1815-2012 Annex A) ------------------------------------------------ */

/* Per-object data size codes. 1..QW_DNP3_SZ_FIXED_MAX are bytes per object. */
enum {
    QW_DNP3_SZ_UNKNOWN = 0,     /* not known: a header walk must stop here */
    QW_DNP3_SZ_FIXED_MAX = 32,
    QW_DNP3_SZ_BITS1 = 0x81,    /* packed, one bit per point (g1v1, g10v1, g12v3, g80v1) */
    QW_DNP3_SZ_BITS2 = 0x82,    /* packed, two bits per point (g3v1) */
    QW_DNP3_SZ_ATTRIBUTE = 0xF0, /* g0: data type, length, value */
    QW_DNP3_SZ_VARIATION = 0xF1, /* g110-g113: the variation is the length in bytes */
    QW_DNP3_SZ_NONE = 0xFE,     /* never carries data (g60 class objects) */
};

struct qw_dnp3_group {
    const char *name;     /* NULL: group not in the object library */
    uint8_t nvar;         /* entries in size[] */
    const uint8_t *size;  /* size code per variation, indexed by variation */
    uint8_t any_size;     /* code for every variation when size is NULL (g0, g110-g113) */
};

extern const struct qw_dnp3_group qw_dnp3_groups[256];

/* Size code for (group, variation). */
uint8_t qw_dnp3_object_size(uint8_t group, uint8_t variation);

/* ---- Names ---------------------------------------------------------------------------------- */

/* IIN bits: index 0-7 = IIN1.0-IIN1.7, 8-15 = IIN2.0-IIN2.7. */
extern const char *const qw_dnp3_iin_names[16];

/* Control status codes of g12, shared by g41 (Annex A). */
const char *qw_dnp3_control_status_name(uint8_t status);

/* CROB operation type (control code bits 0-3) and trip-close code (bits 6-7), Annex A g12. */
extern const char *const qw_dnp3_crob_op_names[16];
extern const char *const qw_dnp3_crob_tcc_names[4];

/* g70 file command status codes and file modes (Annex A, group 70). */
const char *qw_dnp3_file_status_name(uint8_t status);
extern const char *const qw_dnp3_file_mode_names[4];

/* g120 Secure Authentication: variation names, error codes (g120v7), key status (g120v5). */
extern const char *const qw_dnp3_auth_var_names[16];
const char *qw_dnp3_auth_error_name(uint8_t code);
extern const char *const qw_dnp3_key_status_names[5];

/* g0 device attributes that are identity facts: variation -> emit.h attribute, or NULL. */
const char *qw_dnp3_attribute_identity(uint8_t variation);

#endif
