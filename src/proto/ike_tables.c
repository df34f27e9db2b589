/* Code tables of the IKE parser; see ike_tables.h.
 *
 * Sources (names are ours, lower case, after the registries' names):
 *   [2407] RFC 2407 IPsec DOI: protocol ids, ID types (s.4.6.2.1), DOI notify types.
 *   [2408] RFC 2408 ISAKMP: payload types (s.3.1), exchange types, notify types (s.3.14.1).
 *   [2409] RFC 2409 IKEv1: Quick Mode / New Group Mode exchange numbers, Appendix A attribute
 *          classes and values (encryption, hash, authentication method, groups, life type).
 *   [7296] RFC 7296 IKEv2: exchange types (s.3.1), payload types (s.3.2), transform types and
 *          ids (s.3.3.2), ID types (s.3.5), notify types (s.3.10.1).
 *   IANA "IPSEC/ISAKMP" (isakmp-registry) and "IKEv2 Parameters" (ikev2-parameters)
 *          registries for the codes later RFCs added (cited on the line).
 *   Verdicts: [8247] RFC 8247 (IKEv2 algorithms: MUST NOT / SHOULD NOT), [8221] RFC 8221 (ESP
 *          algorithms), [9395] RFC 9395 (IKEv1 deprecated). docs/events/ike.md has the table. */
#include "proto/ike_tables.h"

#include <stdbool.h>
#include <string.h>

#define T(arr) {arr, sizeof arr / sizeof arr[0]}

const char *ike_code_name(struct ike_table t, uint32_t code)
{
    for (size_t i = 0; i < t.n; i++)
        if (t.v[i].code == code) return t.v[i].name;
    return NULL;
}

const struct ike_algo *ike_algo_find(struct ike_algo_table t, uint32_t code)
{
    for (size_t i = 0; i < t.n; i++)
        if (t.v[i].code == code) return &t.v[i];
    return NULL;
}

/* ---- Exchanges ----------------------------------------------------------------------------- */

static const struct ike_code v1_exch[] = {
    {1, "base"},            {2, "identity_protection"}, {3, "authentication_only"},
    {4, "aggressive"},      {5, "informational"},
    {6, "transaction"},     /* ISAKMP mode-config draft (IANA isakmp-registry) */
    {32, "quick_mode"},     {33, "new_group_mode"},     /* [2409] s.5.5, s.5.6 */
};
const struct ike_table ike_v1_exchanges = T(v1_exch);

static const struct ike_code v2_exch[] = {
    {34, "ike_sa_init"},        {35, "ike_auth"},           {36, "create_child_sa"},
    {37, "informational_v2"},   {38, "ike_session_resume"}, /* RFC 5723 */
    {39, "gsa_auth"},           {40, "gsa_registration"},   {41, "gsa_rekey"}, /* G-IKEv2 */
    {43, "ike_intermediate"},   /* RFC 9242 */
    {44, "ike_followup_ke"},    /* RFC 9370 */
};
const struct ike_table ike_v2_exchanges = T(v2_exch);

/* ---- Payloads ------------------------------------------------------------------------------ */

static const struct ike_code v1_pl[] = {
    {1, "sa"},        {2, "proposal"},  {3, "transform"}, {4, "ke"},        {5, "id"},
    {6, "cert"},      {7, "certreq"},   {8, "hash"},      {9, "signature"}, {10, "nonce"},
    {11, "notify"},   {12, "delete"},   {13, "vendor_id"},
    {14, "attributes"},                                    /* mode-config draft */
    {15, "sak"},      {16, "sat"},      {17, "key_download"}, {18, "sequence"},
    {19, "proof_of_possession"},                           /* RFC 3547 (GDOI) */
    {20, "nat_d"},    {21, "nat_oa"},                      /* RFC 3947 */
    {22, "gap"},                                           /* RFC 6407 */
    {130, "nat_d_draft"}, {131, "nat_oa_draft"},           /* NAT-T drafts' private numbers */
    {132, "fragment"},                                     /* IANA: IKE fragmentation */
};
const struct ike_table ike_v1_payloads = T(v1_pl);

static const struct ike_code v2_pl[] = {
    {33, "sa"},       {34, "ke"},          {35, "idi"},       {36, "idr"},
    {37, "cert"},     {38, "certreq"},     {39, "auth"},      {40, "nonce"},
    {41, "notify"},   {42, "delete"},      {43, "vendor_id"}, {44, "tsi"},
    {45, "tsr"},      {46, "encrypted"},   {47, "configuration"}, {48, "eap"},
    {49, "gspm"},                                          /* RFC 6467 */
    {50, "idg"},      {51, "gsa"},         {52, "kd"},     /* G-IKEv2 */
    {53, "encrypted_fragment"},                            /* RFC 7383 */
    {54, "puzzle_solution"},                               /* RFC 8019 */
};
const struct ike_table ike_v2_payloads = T(v2_pl);

/* ---- Notify types -------------------------------------------------------------------------- */

static const struct ike_code v1_notify[] = {
    {1, "invalid_payload_type"},     {2, "doi_not_supported"},
    {3, "situation_not_supported"},  {4, "invalid_cookie"},
    {5, "invalid_major_version"},    {6, "invalid_minor_version"},
    {7, "invalid_exchange_type"},    {8, "invalid_flags"},
    {9, "invalid_message_id"},       {10, "invalid_protocol_id"},
    {11, "invalid_spi"},             {12, "invalid_transform_id"},
    {13, "attributes_not_supported"}, {14, "no_proposal_chosen"},
    {15, "bad_proposal_syntax"},     {16, "payload_malformed"},
    {17, "invalid_key_information"}, {18, "invalid_id_information"},
    {19, "invalid_cert_encoding"},   {20, "invalid_certificate"},
    {21, "cert_type_unsupported"},   {22, "invalid_cert_authority"},
    {23, "invalid_hash_information"}, {24, "authentication_failed"},
    {25, "invalid_signature"},       {26, "address_notification"},
    {27, "notify_sa_lifetime"},      {28, "certificate_unavailable"},
    {29, "unsupported_exchange_type"}, {30, "unequal_payload_lengths"},
    {16384, "connected"},
    {24576, "responder_lifetime"},   {24577, "replay_status"},
    {24578, "initial_contact"},      /* [2407] s.4.6.3 */
    {36136, "r_u_there"},            {36137, "r_u_there_ack"}, /* RFC 3706 */
};
const struct ike_table ike_v1_notifies = T(v1_notify);

static const struct ike_code v2_notify[] = {
    {1, "unsupported_critical_payload"}, {4, "invalid_ike_spi"},
    {5, "invalid_major_version"},     {7, "invalid_syntax"},
    {9, "invalid_message_id"},        {11, "invalid_spi"},
    {14, "no_proposal_chosen"},       {17, "invalid_ke_payload"},
    {24, "authentication_failed"},    {34, "single_pair_required"},
    {35, "no_additional_sas"},        {36, "internal_address_failure"},
    {37, "failed_cp_required"},       {38, "ts_unacceptable"},
    {39, "invalid_selectors"},        {40, "unacceptable_addresses"},   /* RFC 4555 */
    {41, "unexpected_nat_detected"},  {42, "use_assigned_hoa"},         /* RFC 5026 */
    {43, "temporary_failure"},        {44, "child_sa_not_found"},       /* [7296] */
    {45, "invalid_group_id"},         {46, "authorization_failed"},     /* G-IKEv2 */
    {47, "state_not_found"},                                            /* RFC 9242 */
    {16384, "initial_contact"},       {16385, "set_window_size"},
    {16386, "additional_ts_possible"}, {16387, "ipcomp_supported"},
    {16388, "nat_detection_source_ip"}, {16389, "nat_detection_destination_ip"},
    {16390, "cookie"},                {16391, "use_transport_mode"},
    {16392, "http_cert_lookup_supported"}, {16393, "rekey_sa"},
    {16394, "esp_tfc_padding_not_supported"}, {16395, "non_first_fragments_also"},
    {16396, "mobike_supported"},      {16397, "additional_ip4_address"},  /* RFC 4555 */
    {16398, "additional_ip6_address"}, {16399, "no_additional_addresses"},
    {16400, "update_sa_addresses"},   {16401, "cookie2"},
    {16402, "no_nats_allowed"},       {16403, "auth_lifetime"},           /* RFC 4478 */
    {16404, "multiple_auth_supported"}, {16405, "another_auth_follows"},  /* RFC 4739 */
    {16406, "redirect_supported"},    {16407, "redirect"},
    {16408, "redirected_from"},                                           /* RFC 5685 */
    {16409, "ticket_lt_opaque"},      {16410, "ticket_request"},
    {16411, "ticket_ack"},            {16412, "ticket_nack"},
    {16413, "ticket_opaque"},                                             /* RFC 5723 */
    {16414, "link_id"},               {16415, "use_wesp_mode"},
    {16416, "rohc_supported"},        {16417, "eap_only_authentication"},
    {16418, "childless_ikev2_supported"}, {16419, "quick_crash_detection"},
    {16420, "ikev2_message_id_sync_supported"},
    {16421, "ipsec_replay_counter_sync_supported"},
    {16422, "ikev2_message_id_sync"}, {16423, "ipsec_replay_counter_sync"},
    {16424, "secure_password_methods"}, {16425, "psk_persist"},
    {16426, "psk_confirm"},           {16427, "erx_supported"},
    {16428, "ifom_capability"},       {16429, "sender_request_id"},
    {16430, "ikev2_fragmentation_supported"},                             /* RFC 7383 */
    {16431, "signature_hash_algorithms"},                                 /* RFC 7427 */
    {16432, "clone_ike_sa_supported"}, {16433, "clone_ike_sa"},
    {16434, "puzzle"},                                                    /* RFC 8019 */
    {16435, "use_ppk"},               {16436, "ppk_identity"},
    {16437, "no_ppk_auth"},                                               /* RFC 8784 */
    {16438, "intermediate_exchange_supported"},                           /* RFC 9242 */
    {16439, "ip4_allowed"},           {16440, "ip6_allowed"},             /* RFC 8983 */
    {16441, "additional_key_exchange"},                                   /* RFC 9370 */
    {16442, "use_aggfrag"},                                               /* RFC 9347 */
};
const struct ike_table ike_v2_notifies = T(v2_notify);

/* ---- SA contents --------------------------------------------------------------------------- */

static const struct ike_code v2_ttypes[] = {
    {1, "encr"}, {2, "prf"}, {3, "integ"}, {4, "dh"}, {5, "esn"},
    {6, "addke1"}, {7, "addke2"}, {8, "addke3"}, {9, "addke4"}, {10, "addke5"},
    {11, "addke6"}, {12, "addke7"}, /* RFC 9370 */
};
const struct ike_table ike_v2_transform_types = T(v2_ttypes);

/* Protocol ids of proposals: [2407] s.4.4.1 (v1; 1 is ISAKMP), [7296] s.3.3.1 (v2; 1 is IKE). */
static const struct ike_code protos[] = {
    {1, "ike"}, {2, "ah"}, {3, "esp"}, {4, "ipcomp"},
};
const struct ike_table ike_protocols = T(protos);

static const struct ike_code v1_ids[] = {
    {1, "ipv4_addr"},       {2, "fqdn"},              {3, "user_fqdn"},
    {4, "ipv4_addr_subnet"}, {5, "ipv6_addr"},         {6, "ipv6_addr_subnet"},
    {7, "ipv4_addr_range"}, {8, "ipv6_addr_range"},   {9, "der_asn1_dn"},
    {10, "der_asn1_gn"},    {11, "key_id"},
};
const struct ike_table ike_v1_id_types = T(v1_ids);

static const struct ike_code v2_ids[] = {
    {1, "ipv4_addr"}, {2, "fqdn"},   {3, "rfc822_addr"}, {5, "ipv6_addr"},
    {9, "der_asn1_dn"}, {10, "der_asn1_gn"}, {11, "key_id"},
    {12, "fc_name"},  /* RFC 4595 */
    {13, "null"},     /* RFC 7619 */
};
const struct ike_table ike_v2_id_types = T(v2_ids);

/* [2409] App. A; 9-11 ECDSA (RFC 4754); 64221-65010 hybrid and XAUTH modes
 * (draft-ietf-ipsec-isakmp-hybrid-auth, draft-beaulieu-ike-xauth, IANA isakmp-registry). */
static const struct ike_code v1_auth[] = {
    {1, "pre_shared_key"},     {2, "dss_signatures"},       {3, "rsa_signatures"},
    {4, "rsa_encryption"},     {5, "rsa_revised_encryption"},
    {9, "ecdsa_sha256_p256"},  {10, "ecdsa_sha384_p384"},   {11, "ecdsa_sha512_p521"},
    {64221, "hybrid_init_rsa"}, {64222, "hybrid_resp_rsa"},
    {64223, "hybrid_init_dss"}, {64224, "hybrid_resp_dss"},
    {65001, "xauth_init_pre_shared"}, {65002, "xauth_resp_pre_shared"},
    {65003, "xauth_init_dss"},  {65004, "xauth_resp_dss"},
    {65005, "xauth_init_rsa"},  {65006, "xauth_resp_rsa"},
    {65007, "xauth_init_rsa_encryption"}, {65008, "xauth_resp_rsa_encryption"},
    {65009, "xauth_init_rsa_revised_encryption"},
    {65010, "xauth_resp_rsa_revised_encryption"},
};
const struct ike_table ike_v1_auth_methods = T(v1_auth);

int ike_v1_auth_is_psk(uint16_t method)
{
    return method == 1 || method == 65001 || method == 65002;
}

static const struct ike_code v1_life[] = {{1, "seconds"}, {2, "kilobytes"}};
const struct ike_table ike_v1_life_types = T(v1_life);

/* ---- Algorithms and verdicts --------------------------------------------------------------- */

/* Verdict texts. RFC 8247 covers IKEv2 SAs; IKEv1 has no current algorithm RFC (RFC 9395 made it
 * historic), so its algorithms are judged by the IKEv2 verdict of the same algorithm. 3DES: RFC
 * 8247 keeps ENCR_3DES at MAY but expects to lower it (64-bit block, Sweet32), and RFC 8221 puts
 * it at SHOULD NOT for ESP; we flag it, as the stricter of the two. */
#define MUST_NOT "RFC 8247 MUST NOT"
#define SHOULD_NOT "RFC 8247 SHOULD NOT"
#define TDES "RFC 8221 SHOULD NOT, 64-bit block"

static const struct ike_algo v1_encr[] = {
    {1, "des_cbc", MUST_NOT},     {2, "idea_cbc", MUST_NOT},   {3, "blowfish_cbc", MUST_NOT},
    {4, "rc5_r16_b64_cbc", MUST_NOT}, {5, "3des_cbc", TDES},   {6, "cast_cbc", MUST_NOT},
    {7, "aes_cbc", NULL},         /* RFC 3602 */
    {8, "camellia_cbc", NULL},    /* RFC 4312 */
};
const struct ike_algo_table ike_v1_encr = T(v1_encr);

static const struct ike_algo v1_hash[] = {
    {1, "md5", MUST_NOT}, /* as PRF_HMAC_MD5 / AUTH_HMAC_MD5_96 */
    {2, "sha1", NULL},    {3, "tiger", NULL},
    {4, "sha2_256", NULL}, {5, "sha2_384", NULL}, {6, "sha2_512", NULL}, /* RFC 4868 */
};
const struct ike_algo_table ike_v1_hash = T(v1_hash);

static const struct ike_algo v2_encr[] = {
    {1, "des_iv64", MUST_NOT},  {2, "des", MUST_NOT},       {3, "3des", TDES},
    {4, "rc5", MUST_NOT},       {5, "idea", MUST_NOT},      {6, "cast", MUST_NOT},
    {7, "blowfish", MUST_NOT},  {8, "3idea", MUST_NOT},     {9, "des_iv32", MUST_NOT},
    {11, "null", MUST_NOT},     /* no confidentiality for the IKE SA */
    {12, "aes_cbc", NULL},      {13, "aes_ctr", NULL},
    {14, "aes_ccm_8", NULL},    {15, "aes_ccm_12", NULL},   {16, "aes_ccm_16", NULL},
    {18, "aes_gcm_8", NULL},    {19, "aes_gcm_12", NULL},   {20, "aes_gcm_16", NULL},
    {21, "null_auth_aes_gmac", NULL},
    {23, "camellia_cbc", NULL}, {24, "camellia_ctr", NULL},
    {25, "camellia_ccm_8", NULL}, {26, "camellia_ccm_12", NULL}, {27, "camellia_ccm_16", NULL},
    {28, "chacha20_poly1305", NULL}, /* RFC 7634 */
    {29, "aes_ccm_8_iiv", NULL}, {30, "aes_gcm_16_iiv", NULL},
    {31, "chacha20_poly1305_iiv", NULL}, /* RFC 8750 */
    {32, "kuznyechik_mgm_ktree", NULL}, {33, "magma_mgm_ktree", NULL},
    {34, "kuznyechik_mgm_mac_ktree", NULL}, {35, "magma_mgm_mac_ktree", NULL}, /* RFC 9227 */
};
const struct ike_algo_table ike_v2_encr = T(v2_encr);

static const struct ike_algo v2_prf[] = {
    {1, "hmac_md5", MUST_NOT},  {2, "hmac_sha1", NULL},     {3, "hmac_tiger", NULL},
    {4, "aes128_xcbc", NULL},   {5, "hmac_sha2_256", NULL}, {6, "hmac_sha2_384", NULL},
    {7, "hmac_sha2_512", NULL}, {8, "aes128_cmac", NULL},   {9, "hmac_streebog_512", NULL},
};
const struct ike_algo_table ike_v2_prf = T(v2_prf);

static const struct ike_algo v2_integ[] = {
    {0, "none", NULL},
    {1, "hmac_md5_96", MUST_NOT}, {2, "hmac_sha1_96", NULL},  {3, "des_mac", MUST_NOT},
    {4, "kpdk_md5", MUST_NOT},    {5, "aes_xcbc_96", NULL},
    {6, "hmac_md5_128", MUST_NOT}, /* MD5, as hmac_md5_96 (RFC 4595) */
    {7, "hmac_sha1_160", NULL},   {8, "aes_cmac_96", NULL},
    {9, "aes_128_gmac", NULL},    {10, "aes_192_gmac", NULL}, {11, "aes_256_gmac", NULL},
    {12, "hmac_sha2_256_128", NULL}, {13, "hmac_sha2_384_192", NULL},
    {14, "hmac_sha2_512_256", NULL},
};
const struct ike_algo_table ike_v2_integ = T(v2_integ);

/* IKEv1 Group Description ([2409] App. A) and IKEv2 transform type 4 share the numbers; 3 and 4
 * exist only in IKEv1 ([2409] s.6.3, s.6.4: 155- and 185-bit binary curves). */
static const struct ike_algo dh[] = {
    {0, "none", NULL},
    {1, "modp_768", MUST_NOT},   {2, "modp_1024", SHOULD_NOT},
    {3, "ec2n_155", "155-bit binary curve (RFC 2409 s.6.3)"},
    {4, "ec2n_185", "185-bit binary curve (RFC 2409 s.6.4)"},
    {5, "modp_1536", SHOULD_NOT},
    {14, "modp_2048", NULL},     {15, "modp_3072", NULL},   {16, "modp_4096", NULL},
    {17, "modp_6144", NULL},     {18, "modp_8192", NULL},   /* RFC 3526 */
    {19, "ecp_256", NULL},       {20, "ecp_384", NULL},     {21, "ecp_521", NULL}, /* RFC 5903 */
    {22, "modp_1024_s160", SHOULD_NOT},
    {23, "modp_2048_s224", SHOULD_NOT}, {24, "modp_2048_s256", SHOULD_NOT},
    {25, "ecp_192", NULL},       {26, "ecp_224", NULL},     /* RFC 5114 */
    {27, "brainpool_p224r1", NULL}, {28, "brainpool_p256r1", NULL},
    {29, "brainpool_p384r1", NULL}, {30, "brainpool_p512r1", NULL}, /* RFC 6954 */
    {31, "curve25519", NULL},    {32, "curve448", NULL},    /* RFC 8031 */
    {33, "gost3410_2012_256", NULL}, {34, "gost3410_2012_512", NULL}, /* RFC 9385 */
    {35, "ml_kem_512", NULL},    {36, "ml_kem_768", NULL},  {37, "ml_kem_1024", NULL},
};
const struct ike_algo_table ike_dh_groups = T(dh);

/* ---- Vendor ids ---------------------------------------------------------------------------- */

/* Only ids a public specification defines. Each NAT-T draft (draft-ietf-ipsec-nat-t-ike-00 to
 * -08, s.3) and RFC 3947 (s.3.1) define their id as the MD5 hash of their own name (for -02 both
 * with and without a trailing newline were sent); the values below are those hashes, computed.
 * RFC 3706 s.5.1 gives the DPD id, whose last two bytes are its version (matched on the first
 * 14). The XAUTH draft (draft-ietf-ipsra-isakmp-xauth-06) defines its id as the first 8 bytes of
 * the MD5 of its file name. */
struct ike_vid {
    uint8_t len;  /* bytes compared */
    uint8_t id[16];
    const char *name;
};

static const struct ike_vid vids[] = {
    {16, {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95,
          0x45, 0x2f}, "rfc3947_nat_t"},
    {14, {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57},
     "rfc3706_dpd"},
    {16, {0x44, 0x85, 0x15, 0x2d, 0x18, 0xb6, 0xbb, 0xcd, 0x0b, 0xe8, 0xa8, 0x46, 0x95, 0x79,
          0xdd, 0xcc}, "draft_ietf_ipsec_nat_t_ike_00"},
    {16, {0x16, 0xf6, 0xca, 0x16, 0xe4, 0xa4, 0x06, 0x6d, 0x83, 0x82, 0x1a, 0x0f, 0x0a, 0xea,
          0xa8, 0x62}, "draft_ietf_ipsec_nat_t_ike_01"},
    {16, {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8, 0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6,
          0xa4, 0x48}, "draft_ietf_ipsec_nat_t_ike_02"},
    {16, {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e, 0x08, 0x63, 0x81, 0xb5, 0xec, 0x42,
          0x7b, 0x1f}, "draft_ietf_ipsec_nat_t_ike_02_newline"},
    {16, {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f, 0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52,
          0x9d, 0x56}, "draft_ietf_ipsec_nat_t_ike_03"},
    {16, {0x99, 0x09, 0xb6, 0x4e, 0xed, 0x93, 0x7c, 0x65, 0x73, 0xde, 0x52, 0xac, 0xe9, 0x52,
          0xfa, 0x6b}, "draft_ietf_ipsec_nat_t_ike_04"},
    {16, {0x80, 0xd0, 0xbb, 0x3d, 0xef, 0x54, 0x56, 0x5e, 0xe8, 0x46, 0x45, 0xd4, 0xc8, 0x5c,
          0xe3, 0xee}, "draft_ietf_ipsec_nat_t_ike_05"},
    {16, {0x4d, 0x1e, 0x0e, 0x13, 0x6d, 0xea, 0xfa, 0x34, 0xc4, 0xf3, 0xea, 0x9f, 0x02, 0xec,
          0x72, 0x85}, "draft_ietf_ipsec_nat_t_ike_06"},
    {16, {0x43, 0x9b, 0x59, 0xf8, 0xba, 0x67, 0x6c, 0x4c, 0x77, 0x37, 0xae, 0x22, 0xea, 0xb8,
          0xf5, 0x82}, "draft_ietf_ipsec_nat_t_ike_07"},
    {16, {0x8f, 0x8d, 0x83, 0x82, 0x6d, 0x24, 0x6b, 0x6f, 0xc7, 0xa8, 0xa6, 0xa4, 0x28, 0xc1,
          0x1d, 0xe8}, "draft_ietf_ipsec_nat_t_ike_08"},
    {8, {0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12}, "draft_ietf_ipsra_isakmp_xauth_06"},
};

const char *ike_vendor_name(const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < sizeof vids / sizeof vids[0]; i++) {
        size_t want = vids[i].len;
        size_t whole = want == 14 ? 16 : want; /* the DPD id: 14 bytes and a 2-byte version */
        if (len != whole) continue;
        if (memcmp(id, vids[i].id, want) == 0) return vids[i].name;
    }
    return NULL;
}
