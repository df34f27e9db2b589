/* Code tables of the IKE parser (src/proto/ike.c): exchange types, payload types, transform,
 * attribute and notify codes of ISAKMP/IKEv1 and IKEv2, the weakness verdicts of the algorithms
 * a responder may select, and the vendor ids that public specifications define. The values and
 * their sources are in ike_tables.c. */
#ifndef QW_PROTO_IKE_TABLES_H
#define QW_PROTO_IKE_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct ike_code {
    uint16_t code;
    const char *name;
};

/* Why an algorithm is flagged: NULL when it is not weak, else the anomaly's detail prefix. */
struct ike_algo {
    uint16_t code;
    const char *name;
    const char *weak; /* the source of the verdict, e.g. "RFC 8247 MUST NOT" */
};

/* A table and its length. */
struct ike_table {
    const struct ike_code *v;
    size_t n;
};
struct ike_algo_table {
    const struct ike_algo *v;
    size_t n;
};

const char *ike_code_name(struct ike_table t, uint32_t code); /* NULL when unknown */
const struct ike_algo *ike_algo_find(struct ike_algo_table t, uint32_t code);

extern const struct ike_table ike_v1_exchanges, ike_v2_exchanges;
extern const struct ike_table ike_v1_payloads, ike_v2_payloads;
extern const struct ike_table ike_v1_notifies, ike_v2_notifies;
extern const struct ike_table ike_v2_transform_types, ike_protocols, ike_v1_id_types,
    ike_v2_id_types, ike_v1_auth_methods, ike_v1_life_types;
/* Algorithms with their verdicts. */
extern const struct ike_algo_table ike_v1_encr, ike_v1_hash, ike_v2_encr, ike_v2_prf,
    ike_v2_integ, ike_dh_groups;

/* A vendor id a public specification defines (its hash is given in, or computed as, the
 * specification says); NULL when not in the table. Matches on the id's first bytes for the ids
 * whose last bytes carry a version. */
const char *ike_vendor_name(const uint8_t *id, size_t len);

/* IKEv1 authentication methods that rest on a pre-shared key (RFC 2409 App. A, XAUTH draft). */
int ike_v1_auth_is_psk(uint16_t method);

#endif
