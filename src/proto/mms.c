/* MMS (Manufacturing Message Specification, ISO 9506) over the OSI stack on TCP port 102:
 * TPKT / COTP (src/proto/cotp.h), ISO session and presentation, ACSE (src/proto/iso_session.h),
 * then the MMS PDU. IEC 61850 client/server traffic and ICCP / TASE.2 (IEC 60870-6) use it.
 *
 * Specifications:
 *   [MMS]  ISO 9506-2:2003, Manufacturing Message Specification, Part 2: Protocol
 *          specification: s.7 MMSpdu (confirmed-RequestPDU [0] .. conclude-ErrorPDU [13]),
 *          s.7.1 Confirmed-RequestPDU / ResponsePDU / ErrorPDU and the ConfirmedServiceRequest
 *          choice tags [0] status .. [77] fileDirectory, s.7.3 RejectPDU, s.7.5 ServiceError
 *          (errorClass [0]..[12]), s.8 Initiate, s.10 getNameList / identify / rename, s.11
 *          domain management, s.12 program invocations, s.14 variable access (ObjectName,
 *          VariableAccessSpecification, Read, Write, InformationReport, DataAccessError,
 *          named variable lists), s.19 journals, ISO 9506-2 Annex D file access (obtainFile,
 *          fileOpen/Read/Close/Rename/Delete/Directory).
 *   [61850] IEC 61850-8-1:2011 s.8.1.3.2 / s.9: how ObjectReferences map to MMS domain-specific
 *          names ("LD/LN$FC$DO$DA": the logical device is the domain, the rest the item) and
 *          the functional constraints (CO control, SP/SG/SE settings, CF configuration).
 *   [RFC1006] TPKT; ISO 8073 COTP (through cotp.h); ISO 8327-1, ISO 8823-1, ISO 8650-1 (through
 *          iso_session.c).
 *
 * One record per MMS transaction: a confirmed request and its response or error are paired by
 * invokeID (per requesting direction: ICCP peers send requests both ways); initiate and
 * conclude pair with their answer, cancel by the invokeID it names, a reject with the request
 * it rejects (originalInvokeID). Unconfirmed PDUs (informationReport, ...) are one record each.
 * The request is kept decoded in a bounded queue in the flow state (a compact summary: names,
 * counts), so nothing is allocated per PDU.
 *
 * A TSDU that a sender split over several COTP DT TPDUs is reassembled in a per-direction
 * buffer (MMS_TSDU_MAX). A larger TSDU (big read responses, file and domain transfers) keeps
 * its first MMS_TSDU_MAX octets: the headers, invokeID, service and the first names are there,
 * so it is still counted and paired, with `truncated` set.
 *
 * Outcomes are kept apart (DESIGN.md, practice 3): broken TPKT/COTP/session/presentation/BER is
 * malformed (an anomaly; framing resynchronises on the next TPKT header), a PDU cut by the
 * buffer is truncated, and a service we do not break down is reported by name without fields. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/cotp.h"
#include "proto/iso_session.h"
#include "proto/proto.h"
#include "util/ber.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define MMS_PORT 102 /* ISO-TSAP (RFC 1006) */
/* TSDU reassembly buffer per direction. IEC 61850 stacks negotiate MMS PDU sizes of a few KiB
 * (localDetailCalling, often 8000-32000 octets) and COTP TPDU sizes of 1024-8192, so requests
 * fit; larger responses keep this much of their start (see the banner). Two of these make up
 * most of the flow state (about 16 KiB in all). */
#define MMS_TSDU_MAX 4096
/* Outstanding confirmed requests per flow. MMS negotiates maxServOutstanding (typically 1-10
 * each way); past this the oldest is reported unanswered (anomaly `mms.request_queue_full`,
 * once per flow). */
#define MMS_QUEUE_MAX 16
/* Names kept per PDU (variables, domains, files, identifiers...) and the text they share. An
 * MMS Identifier is at most 32 characters ([MMS] s.7.5.2 / CBB), an IEC 61850 item id up to
 * 129; a read of 100 variables lists the first MMS_STRS_MAX with an exact count. */
#define MMS_STRS_MAX 10
#define MMS_TEXT_MAX 400
#define MMS_STR_MAX 129
/* DataAccessError codes listed for read/write results. */
#define MMS_FAILS_MAX 8
/* Octets of initiate bit strings kept (servicesSupported is 11 octets, parameterCBB 2). */
#define MMS_BITS_MAX 12
/* Nesting of Data walked to count entries: IEC 61850 nests structures a few levels. */
#define MMS_NEST_MAX 8

/* MMSpdu choice tags ([MMS] s.7). */
enum mms_kind {
    K_CONF_REQ = 0, K_CONF_RSP = 1, K_CONF_ERR = 2, K_UNCONF = 3, K_REJECT = 4,
    K_CANCEL_REQ = 5, K_CANCEL_RSP = 6, K_CANCEL_ERR = 7, K_INIT_REQ = 8, K_INIT_RSP = 9,
    K_INIT_ERR = 10, K_CONCL_REQ = 11, K_CONCL_RSP = 12, K_CONCL_ERR = 13, K_COUNT = 14,
};

static const char *const mms_kind_names[K_COUNT] = {
    "confirmed_request", "confirmed_response", "confirmed_error", "unconfirmed", "reject",
    "cancel_request",    "cancel_response",    "cancel_error",    "initiate_request",
    "initiate_response", "initiate_error",     "conclude_request", "conclude_response",
    "conclude_error",
};

/* txn.function: the confirmed service tag (0..81) for confirmed services; MMS_FN_PDU | kind
 * for the PDUs without a service (initiate, conclude, cancel, reject, an error with no request
 * seen); MMS_FN_UNCONFIRMED | tag for unconfirmed services. */
#define MMS_FN_PDU 0x100u
#define MMS_FN_UNCONFIRMED 0x200u

/* ---- Protocol fact tables ------------------------------------------------------------------ */

/* How the request and response of a service are broken down. */
enum mms_req_dec {
    RQ_NONE = 0,
    RQ_GETNAMELIST,
    RQ_READ,
    RQ_WRITE,
    RQ_VAR_ATTR,      /* CHOICE { name [0] ObjectName, address [1] } */
    RQ_OBJNAME,       /* the service is an ObjectName */
    RQ_TAG0_OBJNAME,  /* SEQUENCE { [0] ObjectName, ... } */
    RQ_DEFINE_NVL,    /* SEQUENCE { ObjectName, [0] listOfVariable } */
    RQ_DELETE_LIST,   /* SEQUENCE { [0] scope, [1] SEQUENCE OF ObjectName, [2] domainName } */
    RQ_RENAME,
    RQ_DOMAIN_ID,     /* the service is a domain Identifier */
    RQ_DOMAIN_SEQ,    /* SEQUENCE { [0] domainName, ... fileName at `file_tag` } */
    RQ_PI_ID,         /* the service is a program invocation Identifier */
    RQ_PI_SEQ,        /* SEQUENCE { [0] programInvocationName, [1] listOfDomainName? ... } */
    RQ_FILE_SEQ,      /* SEQUENCE of FileNames at context tags */
    RQ_FILE_NAME,     /* the service is a FileName */
    RQ_INTEGER,       /* an Integer32 handle (ULSM id, FRSM id) */
};

enum mms_rsp_dec {
    RS_NONE = 0,
    RS_READ,
    RS_WRITE,
    RS_GETNAMELIST,
    RS_IDENTIFY,
    RS_STATUS,
    RS_NVL_ATTR,
    RS_DIRECTORY,
    RS_FILE_OPEN,
};

struct mms_service {
    const char *name;
    uint32_t ops;
    uint8_t req, rsp;  /* mms_req_dec, mms_rsp_dec */
    uint8_t file_tag;  /* RQ_DOMAIN_SEQ: context tag of fileName; 0 none */
};

#define R QW_OP_READ
#define W QW_OP_WRITE
#define P QW_OP_PROGRAM
#define CFG QW_OP_CONFIG
#define DIAG QW_OP_DIAGNOSTIC
#define F QW_OP_FILE
#define CTL QW_OP_CONTROL

/* ConfirmedServiceRequest tags ([MMS] s.7.1.4). Domain downloads and uploads move programs and
 * configuration into or out of a device, so they are program operations; deleting a domain or
 * a program invocation changes what runs. Semaphores (takeControl/relinquishControl) arbitrate
 * access to a resource; event and journal definitions change what the device records. */
static const struct mms_service mms_services[] = {
    [0] = {"status", DIAG, RQ_NONE, RS_STATUS, 0},
    [1] = {"get_name_list", R, RQ_GETNAMELIST, RS_GETNAMELIST, 0},
    [2] = {"identify", QW_OP_IDENTIFY, RQ_NONE, RS_IDENTIFY, 0},
    [3] = {"rename", CFG, RQ_RENAME, RS_NONE, 0},
    [4] = {"read", R, RQ_READ, RS_READ, 0},
    [5] = {"write", W, RQ_WRITE, RS_WRITE, 0},
    [6] = {"get_variable_access_attributes", R, RQ_VAR_ATTR, RS_NONE, 0},
    [7] = {"define_named_variable", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [8] = {"define_scattered_access", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [9] = {"get_scattered_access_attributes", R, RQ_OBJNAME, RS_NONE, 0},
    [10] = {"delete_variable_access", CFG, RQ_DELETE_LIST, RS_NONE, 0},
    [11] = {"define_named_variable_list", CFG, RQ_DEFINE_NVL, RS_NONE, 0},
    [12] = {"get_named_variable_list_attributes", R, RQ_OBJNAME, RS_NVL_ATTR, 0},
    [13] = {"delete_named_variable_list", CFG, RQ_DELETE_LIST, RS_NONE, 0},
    [14] = {"define_named_type", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [15] = {"get_named_type_attributes", R, RQ_OBJNAME, RS_NONE, 0},
    [16] = {"delete_named_type", CFG, RQ_DELETE_LIST, RS_NONE, 0},
    [17] = {"input", R, RQ_NONE, RS_NONE, 0},
    [18] = {"output", W, RQ_NONE, RS_NONE, 0},
    [19] = {"take_control", CTL, RQ_NONE, RS_NONE, 0},
    [20] = {"relinquish_control", CTL, RQ_NONE, RS_NONE, 0},
    [21] = {"define_semaphore", CFG, RQ_NONE, RS_NONE, 0},
    [22] = {"delete_semaphore", CFG, RQ_NONE, RS_NONE, 0},
    [23] = {"report_semaphore_status", DIAG, RQ_NONE, RS_NONE, 0},
    [24] = {"report_pool_semaphore_status", DIAG, RQ_NONE, RS_NONE, 0},
    [25] = {"report_semaphore_entry_status", DIAG, RQ_NONE, RS_NONE, 0},
    [26] = {"initiate_download_sequence", P, RQ_DOMAIN_SEQ, RS_NONE, 0},
    [27] = {"download_segment", P, RQ_DOMAIN_ID, RS_NONE, 0},
    [28] = {"terminate_download_sequence", P, RQ_DOMAIN_SEQ, RS_NONE, 0},
    [29] = {"initiate_upload_sequence", P, RQ_DOMAIN_ID, RS_NONE, 0},
    [30] = {"upload_segment", P, RQ_INTEGER, RS_NONE, 0},
    [31] = {"terminate_upload_sequence", P, RQ_INTEGER, RS_NONE, 0},
    [32] = {"request_domain_download", P, RQ_DOMAIN_SEQ, RS_NONE, 4},
    [33] = {"request_domain_upload", P, RQ_DOMAIN_SEQ, RS_NONE, 1},
    [34] = {"load_domain_content", P, RQ_DOMAIN_SEQ, RS_NONE, 4},
    [35] = {"store_domain_content", P, RQ_DOMAIN_SEQ, RS_NONE, 1},
    [36] = {"delete_domain", P, RQ_DOMAIN_ID, RS_NONE, 0},
    [37] = {"get_domain_attributes", R, RQ_DOMAIN_ID, RS_NONE, 0},
    [38] = {"create_program_invocation", P, RQ_PI_SEQ, RS_NONE, 0},
    [39] = {"delete_program_invocation", P, RQ_PI_ID, RS_NONE, 0},
    [40] = {"start", QW_OP_START, RQ_PI_SEQ, RS_NONE, 0},
    [41] = {"stop", QW_OP_STOP, RQ_PI_SEQ, RS_NONE, 0},
    [42] = {"resume", QW_OP_START, RQ_PI_SEQ, RS_NONE, 0},
    [43] = {"reset", QW_OP_RESTART, RQ_PI_SEQ, RS_NONE, 0},
    [44] = {"kill", QW_OP_RESTART, RQ_PI_SEQ, RS_NONE, 0},
    [45] = {"get_program_invocation_attributes", R, RQ_PI_ID, RS_NONE, 0},
    [46] = {"obtain_file", F, RQ_FILE_SEQ, RS_NONE, 0},
    [47] = {"define_event_condition", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [48] = {"delete_event_condition", CFG, RQ_NONE, RS_NONE, 0},
    [49] = {"get_event_condition_attributes", R, RQ_OBJNAME, RS_NONE, 0},
    [50] = {"report_event_condition_status", DIAG, RQ_OBJNAME, RS_NONE, 0},
    [51] = {"alter_event_condition_monitoring", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [52] = {"trigger_event", CTL, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [53] = {"define_event_action", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [54] = {"delete_event_action", CFG, RQ_NONE, RS_NONE, 0},
    [55] = {"get_event_action_attributes", R, RQ_OBJNAME, RS_NONE, 0},
    [56] = {"report_event_action_status", DIAG, RQ_OBJNAME, RS_NONE, 0},
    [57] = {"define_event_enrollment", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [58] = {"delete_event_enrollment", CFG, RQ_NONE, RS_NONE, 0},
    [59] = {"alter_event_enrollment", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [60] = {"report_event_enrollment_status", DIAG, RQ_OBJNAME, RS_NONE, 0},
    [61] = {"get_event_enrollment_attributes", R, RQ_NONE, RS_NONE, 0},
    [62] = {"acknowledge_event_notification", CTL, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [63] = {"get_alarm_summary", R, RQ_NONE, RS_NONE, 0},
    [64] = {"get_alarm_enrollment_summary", R, RQ_NONE, RS_NONE, 0},
    [65] = {"read_journal", R, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [66] = {"write_journal", W, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [67] = {"initialize_journal", W, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [68] = {"report_journal_status", DIAG, RQ_OBJNAME, RS_NONE, 0},
    [69] = {"create_journal", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [70] = {"delete_journal", CFG, RQ_TAG0_OBJNAME, RS_NONE, 0},
    [71] = {"get_capability_list", R, RQ_NONE, RS_NONE, 0},
    [72] = {"file_open", F, RQ_FILE_SEQ, RS_FILE_OPEN, 0},
    [73] = {"file_read", F, RQ_INTEGER, RS_NONE, 0},
    [74] = {"file_close", F, RQ_INTEGER, RS_NONE, 0},
    [75] = {"file_rename", F, RQ_FILE_SEQ, RS_NONE, 0},
    [76] = {"file_delete", F, RQ_FILE_NAME, RS_NONE, 0},
    [77] = {"file_directory", F, RQ_FILE_SEQ, RS_DIRECTORY, 0},
    /* [78] is unused; [79] is service-ext outside the choice */
    [80] = {"additional_service", 0, RQ_NONE, RS_NONE, 0},
    [82] = {"get_data_exchange_attributes", R, RQ_NONE, RS_NONE, 0},
};

#undef R
#undef W
#undef P
#undef CFG
#undef DIAG
#undef F
#undef CTL

#define MMS_NSERVICES (sizeof mms_services / sizeof mms_services[0])

static const struct mms_service *mms_service(uint32_t tag)
{
    if (tag < MMS_NSERVICES && mms_services[tag].name) return &mms_services[tag];
    return NULL;
}

/* UnconfirmedService ([MMS] s.7.2). */
static const char *const mms_unconfirmed_names[] = {"information_report", "unsolicited_status",
                                                    "event_notification"};

/* ServiceError errorClass choices ([MMS] s.7.5.1). */
static const char *const mms_error_classes[] = {
    "vmd_state", "application_reference", "definition", "resource", "service",
    "service_preempt", "time_resolution", "access", "initiate", "conclude", "cancel", "file",
    "others",
};

/* DataAccessError ([MMS] s.14.4.2). */
static const char *const mms_access_errors[] = {
    "object_invalidated",     "hardware_fault",          "temporarily_unavailable",
    "object_access_denied",   "object_undefined",        "invalid_address",
    "type_unsupported",       "type_inconsistent",       "object_attribute_inconsistent",
    "object_access_unsupported", "object_non_existent",  "object_value_invalid",
};

/* RejectPDU rejectReason choices ([MMS] s.7.3). */
static const char *const mms_reject_types[] = {
    NULL,              "confirmed_request", "confirmed_response", "confirmed_error",
    "unconfirmed",     "pdu_error",         "cancel_request",     "cancel_response",
    "cancel_error",    "conclude_request",  "conclude_response",  "conclude_error",
};

/* getNameList basicObjectClass ([MMS] s.10.5.1 ObjectClass). */
static const char *const mms_object_classes[] = {
    "named_variable", "scattered_access", "named_variable_list", "named_type", "semaphore",
    "event_condition", "event_action", "event_enrollment", "journal", "domain",
    "program_invocation", "operator_station", "data_exchange", "access_control_list",
};

static const char *const mms_scopes[] = {"vmd_specific", "domain_specific", "aa_specific"};

#define NAME_OF(table, i)                                                                   \
    ((size_t)(i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] : "unknown")

/* ---- Decoded PDU --------------------------------------------------------------------------- */

/* What a kept string is. */
enum mms_role {
    MR_VARIABLE, MR_LIST, MR_DOMAIN, MR_DOMAINS, MR_PI, MR_FILE, MR_JOURNAL, MR_IDENTIFIER,
    MR_VENDOR, MR_MODEL, MR_REVISION, MR_CONTINUE, MR_NEW_NAME, MR_REPORT_ID, MR_DESCRIPTION,
    MR_OBJECT, MR_COUNT,
};

/* JSON member of each role; arrays for the roles that list. */
static const struct {
    const char *key;
    bool array;
} mms_roles[MR_COUNT] = {
    [MR_VARIABLE] = {"variables", true},      [MR_LIST] = {"variable_lists", true},
    [MR_DOMAIN] = {"domain", false},          [MR_DOMAINS] = {"domains", true},
    [MR_PI] = {"program_invocation", false},  [MR_FILE] = {"files", true},
    [MR_JOURNAL] = {"journal", false},        [MR_IDENTIFIER] = {"identifiers", true},
    [MR_VENDOR] = {"vendor_name", false},     [MR_MODEL] = {"model_name", false},
    [MR_REVISION] = {"revision", false},      [MR_CONTINUE] = {"continue_after", false},
    [MR_NEW_NAME] = {"new_name", false},      [MR_REPORT_ID] = {"report_id", false},
    [MR_DESCRIPTION] = {"additional_description", false},
    [MR_OBJECT] = {"object_name", false},
};

struct mms_str {
    uint8_t role;
    bool cut;      /* shown in part (MMS_STR_MAX or the text buffer) */
    uint16_t off, len;
};

enum mms_field {
    MF_SERVICE = 1u << 0,
    MF_INVOKE = 1u << 1,
    MF_ERROR = 1u << 2,        /* error_class/error_code */
    MF_ADD_CODE = 1u << 3,
    MF_REJECT = 1u << 4,
    MF_OBJECT_CLASS = 1u << 5,
    MF_SCOPE = 1u << 6,
    MF_MORE_FOLLOWS = 1u << 7,
    MF_RESULTS = 1u << 8,      /* results/failures of read, write, information report */
    MF_DATA_COUNT = 1u << 9,   /* Data elements of a write */
    MF_LOCAL_DETAIL = 1u << 10,
    MF_MAX_CALLING = 1u << 11,
    MF_MAX_CALLED = 1u << 12,
    MF_NESTING = 1u << 13,
    MF_VERSION = 1u << 14,
    MF_CBB = 1u << 15,
    MF_SERVICES = 1u << 16,
    MF_STATUS = 1u << 17,
    MF_HANDLE = 1u << 18,
    MF_SPEC_RESULT = 1u << 19,
    MF_ORIG_INVOKE = 1u << 20,
};

struct mms_pdu {
    uint8_t kind;          /* mms_kind */
    bool truncated;        /* cut by the reassembly buffer, or ended inside a member */
    bool malformed;        /* a BER error inside: fields up to it are kept */
    bool error;            /* an error PDU, a reject, or a DataAccessError result */
    bool more_follows;
    bool spec_with_result;
    uint32_t fields;       /* mms_field bits */
    uint32_t service;      /* confirmed / unconfirmed service tag */
    uint32_t invoke_id;
    uint32_t ops;
    uint8_t error_class;
    int64_t error_code, additional_code;
    uint8_t reject_type;
    int64_t reject_code;
    int64_t object_class;
    uint8_t scope;
    uint32_t results, failures, data_count, name_total;
    uint8_t nfail;
    uint8_t fail_codes[MMS_FAILS_MAX];
    int64_t local_detail, max_calling, max_called, nesting, version, handle;
    int64_t logical_status, physical_status;
    uint8_t cbb_len, services_len;
    uint8_t cbb[MMS_BITS_MAX], services_bits[MMS_BITS_MAX];
    uint8_t nstrs;
    uint16_t text_len;
    struct mms_str strs[MMS_STRS_MAX];
    char text[MMS_TEXT_MAX];
};

/* Decoding context for one PDU (where malformed/truncated findings go). */
struct mms_dec {
    struct mms_pdu *p;
};

/* ---- String store -------------------------------------------------------------------------- */

/* Keep `a` (and `sep`+`b` when b is set) as one string of `role`. Counted always; kept while
 * there is room. */
static void str_add2(struct mms_pdu *p, uint8_t role, const uint8_t *a, size_t an, char sep,
                     const uint8_t *b, size_t bn)
{
    if (role == MR_VARIABLE || role == MR_IDENTIFIER || role == MR_FILE) p->name_total++;
    if (p->nstrs >= MMS_STRS_MAX) return;
    size_t want = an + (b ? 1 + bn : 0);
    size_t room = MMS_TEXT_MAX - p->text_len;
    size_t n = want;
    if (n > MMS_STR_MAX) n = MMS_STR_MAX;
    if (n > room) n = room;
    if (n == 0 && want) return;
    struct mms_str *s = &p->strs[p->nstrs++];
    s->role = role;
    s->off = p->text_len;
    s->cut = n < want;
    char *out = p->text + p->text_len;
    size_t k = an < n ? an : n;
    if (k) memcpy(out, a, k);
    if (b && k < n) {
        out[k++] = sep;
        size_t r = n - k < bn ? n - k : bn;
        if (r) memcpy(out + k, b, r);
        k += r;
    }
    s->len = (uint16_t)k;
    p->text_len = (uint16_t)(p->text_len + k);
}

static void str_add(struct mms_pdu *p, uint8_t role, const uint8_t *a, size_t an)
{
    str_add2(p, role, a, an, 0, NULL, 0);
}

/* ---- BER helpers --------------------------------------------------------------------------- */

/* Next member of a constructed value; false at its end or on an error (recorded in the PDU:
 * a member cut where the PDU itself was cut is truncation, otherwise it is malformed). */
static bool next(struct mms_dec *d, struct qw_cursor *c, bool parent_cut, struct qw_ber_tlv *t,
                 struct qw_cursor *contents, bool *cut)
{
    if (!qw_cur_left(c)) return false;
    if (!qw_iso_tlv(c, t, contents, cut)) {
        if (parent_cut) d->p->truncated = true;
        else d->p->malformed = true;
        c->off = c->len;
        return false;
    }
    if (*cut) {
        if (parent_cut) d->p->truncated = true;
        else {
            d->p->malformed = true;
            return false;
        }
    }
    return true;
}

static bool ber_i64(const struct qw_ber_tlv *t, int64_t *v)
{
    return !t->constructed && qw_ber_int(t, v);
}

static bool ctx_tag(const struct qw_ber_tlv *t, uint32_t tag)
{
    return t->cls == QW_BER_CONTEXT && t->tag == tag;
}

/* ---- Names --------------------------------------------------------------------------------- */

/* ObjectName ([MMS] s.7.5.2): vmd-specific [0] Identifier, domain-specific [1] SEQUENCE
 * {domainId, itemId}, aa-specific [2] Identifier. Domain-specific names print as
 * "domain/item", the IEC 61850 ObjectReference form ([61850] s.8.1.3.2). */
static void objname(struct mms_dec *d, const struct qw_ber_tlv *t, struct qw_cursor c, bool cut,
                    uint8_t role)
{
    if (t->cls != QW_BER_CONTEXT) return;
    if ((t->tag == 0 || t->tag == 2) && !t->constructed) {
        str_add(d->p, role, qw_cur_left(&c) ? qw_cur_ptr(&c) : NULL, qw_cur_left(&c));
        return;
    }
    if (t->tag != 1 || !t->constructed) return;
    struct qw_ber_tlv dom, item;
    struct qw_cursor dc, ic;
    bool dcut, icut;
    if (!next(d, &c, cut, &dom, &dc, &dcut)) return;
    if (!next(d, &c, cut, &item, &ic, &icut)) {
        str_add(d->p, role, qw_cur_left(&dc) ? qw_cur_ptr(&dc) : NULL, qw_cur_left(&dc));
        return;
    }
    str_add2(d->p, role, qw_cur_left(&dc) ? qw_cur_ptr(&dc) : NULL, qw_cur_left(&dc), '/',
             qw_cur_left(&ic) ? qw_cur_ptr(&ic) : NULL, qw_cur_left(&ic));
}

/* An ObjectName inside an explicit tag wrapper (a CHOICE under a context tag). */
static void objname_wrapped(struct mms_dec *d, struct qw_cursor c, bool cut, uint8_t role)
{
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    if (next(d, &c, cut, &t, &tc, &tcut)) objname(d, &t, tc, tcut, role);
}

/* A primitive string (Identifier, VisibleString). */
static void ident(struct mms_dec *d, const struct qw_ber_tlv *t, struct qw_cursor c, uint8_t role)
{
    if (t->constructed) return;
    str_add(d->p, role, qw_cur_left(&c) ? qw_cur_ptr(&c) : NULL, qw_cur_left(&c));
}

/* FileName ::= SEQUENCE OF GraphicString ([MMS] Annex D): the parts joined with '/'. */
static void filename(struct mms_dec *d, struct qw_cursor c, bool cut)
{
    uint8_t buf[MMS_STR_MAX];
    size_t n = 0;
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    while (next(d, &c, cut, &t, &tc, &tcut)) {
        if (t.constructed) continue;
        if (n && n < sizeof buf) buf[n++] = '/';
        size_t k = qw_cur_left(&tc);
        if (k > sizeof buf - n) k = sizeof buf - n;
        if (k) memcpy(buf + n, qw_cur_ptr(&tc), k);
        n += k;
    }
    str_add(d->p, MR_FILE, n ? buf : NULL, n);
}

/* VariableAccessSpecification ([MMS] s.14.1): listOfVariable [0] SEQUENCE OF SEQUENCE
 * {variableSpecification, alternateAccess [5] OPTIONAL} | variableListName [1] ObjectName. */
static void var_access_spec(struct mms_dec *d, const struct qw_ber_tlv *t, struct qw_cursor c,
                            bool cut)
{
    if (ctx_tag(t, 1)) {
        objname_wrapped(d, c, cut, MR_LIST);
        return;
    }
    if (!ctx_tag(t, 0)) return;
    struct qw_ber_tlv item;
    struct qw_cursor ic;
    bool icut;
    while (next(d, &c, cut, &item, &ic, &icut)) {
        struct qw_ber_tlv spec;
        struct qw_cursor sc;
        bool scut;
        if (!next(d, &ic, icut, &spec, &sc, &scut)) continue;
        /* VariableSpecification: name [0] ObjectName; address, description... not named */
        if (ctx_tag(&spec, 0)) objname_wrapped(d, sc, scut, MR_VARIABLE);
    }
}

/* ---- Data ---------------------------------------------------------------------------------- */

static void add_failure(struct mms_pdu *p, int64_t code)
{
    p->failures++;
    p->error = true;
    if (p->nfail < MMS_FAILS_MAX)
        p->fail_codes[p->nfail++] = (uint8_t)(code < 0 || code > 255 ? 255 : code);
}

/* listOfAccessResult: each a failure [0] DataAccessError or a Data value ([MMS] s.14.4). */
static void access_results(struct mms_dec *d, struct qw_cursor c, bool cut, bool report)
{
    struct mms_pdu *p = d->p;
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    p->fields |= MF_RESULTS;
    while (next(d, &c, cut, &t, &tc, &tcut)) {
        p->results++;
        int64_t code;
        if (ctx_tag(&t, 0) && !t.constructed) {
            add_failure(p, ber_i64(&t, &code) ? code : 255);
            continue;
        }
        /* IEC 61850 reports start with the RptID, a visible-string [10] ([61850] s.17.2) */
        if (report && p->results == 1 && ctx_tag(&t, 10) && !t.constructed)
            ident(d, &t, tc, MR_REPORT_ID);
    }
}

/* ---- Requests ------------------------------------------------------------------------------ */

static void req_getnamelist(struct mms_dec *d, struct qw_cursor c, bool cut)
{
    struct mms_pdu *p = d->p;
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    while (next(d, &c, cut, &t, &tc, &tcut)) {
        if (ctx_tag(&t, 0)) { /* objectClass: basicObjectClass [0] INTEGER */
            struct qw_ber_tlv oc;
            struct qw_cursor occ;
            bool occut;
            if (next(d, &tc, tcut, &oc, &occ, &occut) && ctx_tag(&oc, 0) &&
                ber_i64(&oc, &p->object_class))
                p->fields |= MF_OBJECT_CLASS;
        } else if (ctx_tag(&t, 1)) { /* objectScope */
            struct qw_ber_tlv sc;
            struct qw_cursor scc;
            bool sccut;
            if (next(d, &tc, tcut, &sc, &scc, &sccut) && sc.cls == QW_BER_CONTEXT &&
                sc.tag <= 2) {
                p->scope = (uint8_t)sc.tag;
                p->fields |= MF_SCOPE;
                if (sc.tag == 1) ident(d, &sc, scc, MR_DOMAIN);
            }
        } else if (ctx_tag(&t, 2)) {
            ident(d, &t, tc, MR_CONTINUE);
        }
    }
}

/* Members of a SEQUENCE whose context tags hold names, per service. */
static void req_members(struct mms_dec *d, const struct mms_service *s, uint32_t svc,
                        struct qw_cursor c, bool cut)
{
    struct mms_pdu *p = d->p;
    struct qw_ber_tlv t;
    struct qw_cursor tc;
    bool tcut;
    bool first = true;
    while (next(d, &c, cut, &t, &tc, &tcut)) {
        switch (s->req) {
        case RQ_READ:
            if (ctx_tag(&t, 0) && !t.constructed && tc.len == 1) {
                p->spec_with_result = qw_cur_ptr(&tc)[0] != 0;
                p->fields |= MF_SPEC_RESULT;
            } else if (ctx_tag(&t, 1)) {
                struct qw_ber_tlv v;
                struct qw_cursor vc;
                bool vcut;
                if (next(d, &tc, tcut, &v, &vc, &vcut)) var_access_spec(d, &v, vc, vcut);
            }
            break;
        case RQ_WRITE:
            if (first) {
                var_access_spec(d, &t, tc, tcut);
            } else if (ctx_tag(&t, 0)) { /* listOfData */
                struct qw_ber_tlv v;
                struct qw_cursor vc;
                bool vcut;
                p->fields |= MF_DATA_COUNT;
                while (next(d, &tc, tcut, &v, &vc, &vcut)) p->data_count++;
            }
            break;
        case RQ_TAG0_OBJNAME:
            if (ctx_tag(&t, 0))
                objname_wrapped(d, tc, tcut, svc >= 65 && svc <= 70 ? MR_JOURNAL : MR_OBJECT);
            break;
        case RQ_DEFINE_NVL:
            if (first) objname(d, &t, tc, tcut, MR_LIST);
            else if (ctx_tag(&t, 0) && t.constructed) {
                struct qw_ber_tlv lv;
                lv.cls = QW_BER_CONTEXT;
                lv.tag = 0;
                var_access_spec(d, &lv, tc, tcut);
            }
            break;
        case RQ_DELETE_LIST:
            if (ctx_tag(&t, 1)) {
                struct qw_ber_tlv n;
                struct qw_cursor nc;
                bool ncut;
                while (next(d, &tc, tcut, &n, &nc, &ncut))
                    objname(d, &n, nc, ncut, svc == 13 ? MR_LIST : svc == 10 ? MR_VARIABLE
                                                                             : MR_OBJECT);
            } else if (ctx_tag(&t, 2)) {
                ident(d, &t, tc, MR_DOMAIN);
            }
            break;
        case RQ_RENAME:
            if (ctx_tag(&t, 1)) objname_wrapped(d, tc, tcut, MR_OBJECT);
            else if (ctx_tag(&t, 2)) ident(d, &t, tc, MR_NEW_NAME);
            break;
        case RQ_DOMAIN_SEQ:
            if (ctx_tag(&t, 0)) ident(d, &t, tc, MR_DOMAIN);
            else if (s->file_tag && ctx_tag(&t, s->file_tag)) filename(d, tc, tcut);
            break;
        case RQ_PI_SEQ:
            if (ctx_tag(&t, 0)) ident(d, &t, tc, MR_PI);
            else if (svc == 38 && ctx_tag(&t, 1)) { /* createProgramInvocation domains */
                struct qw_ber_tlv n;
                struct qw_cursor nc;
                bool ncut;
                while (next(d, &tc, tcut, &n, &nc, &ncut)) ident(d, &n, nc, MR_DOMAINS);
            }
            break;
        case RQ_FILE_SEQ:
            /* obtainFile [1] source [2] destination; fileOpen [0]; fileRename [0] [1];
             * fileDirectory [0] specification [1] continueAfter */
            if (t.cls == QW_BER_CONTEXT && t.constructed && t.tag <= 2 &&
                !(svc == 46 && t.tag == 0))
                filename(d, tc, tcut);
            else if (svc == 72 && ctx_tag(&t, 1) && ber_i64(&t, &p->handle))
                p->fields |= MF_HANDLE; /* initialPosition */
            break;
        default:
            return;
        }
        first = false;
    }
}

static void decode_request(struct mms_dec *d, uint32_t svc, const struct qw_ber_tlv *t,
                           struct qw_cursor c, bool cut)
{
    const struct mms_service *s = mms_service(svc);
    struct mms_pdu *p = d->p;
    if (!s) return;
    switch (s->req) {
    case RQ_GETNAMELIST: req_getnamelist(d, c, cut); break;
    case RQ_VAR_ATTR: {
        struct qw_ber_tlv v;
        struct qw_cursor vc;
        bool vcut;
        if (next(d, &c, cut, &v, &vc, &vcut) && ctx_tag(&v, 0))
            objname_wrapped(d, vc, vcut, MR_VARIABLE);
        break;
    }
    case RQ_OBJNAME: {
        struct qw_ber_tlv v;
        struct qw_cursor vc;
        bool vcut;
        if (next(d, &c, cut, &v, &vc, &vcut))
            objname(d, &v, vc, vcut, svc == 12 ? MR_LIST : svc == 68 ? MR_JOURNAL : MR_OBJECT);
        break;
    }
    case RQ_DOMAIN_ID: ident(d, t, c, MR_DOMAIN); break;
    case RQ_PI_ID: ident(d, t, c, MR_PI); break;
    case RQ_FILE_NAME: filename(d, c, cut); break;
    case RQ_INTEGER:
        if (ber_i64(t, &p->handle)) p->fields |= MF_HANDLE;
        break;
    case RQ_NONE: break;
    default: req_members(d, s, svc, c, cut); break;
    }
}

/* ---- Responses ----------------------------------------------------------------------------- */

static void decode_response(struct mms_dec *d, uint32_t svc, struct qw_cursor c, bool cut)
{
    const struct mms_service *s = mms_service(svc);
    struct mms_pdu *p = d->p;
    if (!s) return;
    struct qw_ber_tlv m;
    struct qw_cursor mc;
    bool mcut;
    switch (s->rsp) {
    case RS_READ:
        while (next(d, &c, cut, &m, &mc, &mcut))
            if (ctx_tag(&m, 1)) access_results(d, mc, mcut, false);
        break;
    case RS_WRITE:
        /* SEQUENCE OF CHOICE { failure [0] DataAccessError, success [1] NULL } */
        p->fields |= MF_RESULTS;
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            int64_t code;
            p->results++;
            if (ctx_tag(&m, 0)) add_failure(p, ber_i64(&m, &code) ? code : 255);
        }
        break;
    case RS_GETNAMELIST:
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 0)) {
                struct qw_ber_tlv n;
                struct qw_cursor nc;
                bool ncut;
                while (next(d, &mc, mcut, &n, &nc, &ncut)) ident(d, &n, nc, MR_IDENTIFIER);
            } else if (ctx_tag(&m, 1) && mc.len == 1) {
                p->more_follows = qw_cur_ptr(&mc)[0] != 0;
                p->fields |= MF_MORE_FOLLOWS;
            }
        }
        if (!(p->fields & MF_MORE_FOLLOWS) && !p->truncated) {
            p->more_follows = true; /* DEFAULT TRUE ([MMS] s.10.5.2) */
            p->fields |= MF_MORE_FOLLOWS;
        }
        break;
    case RS_IDENTIFY:
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 0)) ident(d, &m, mc, MR_VENDOR);
            else if (ctx_tag(&m, 1)) ident(d, &m, mc, MR_MODEL);
            else if (ctx_tag(&m, 2)) ident(d, &m, mc, MR_REVISION);
        }
        break;
    case RS_STATUS:
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 0) && ber_i64(&m, &p->logical_status)) p->fields |= MF_STATUS;
            else if (ctx_tag(&m, 1)) (void)ber_i64(&m, &p->physical_status);
        }
        break;
    case RS_NVL_ATTR:
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            if (!ctx_tag(&m, 1)) continue;
            struct qw_ber_tlv lv;
            lv.cls = QW_BER_CONTEXT;
            lv.tag = 0;
            var_access_spec(d, &lv, mc, mcut);
        }
        break;
    case RS_DIRECTORY:
        /* SEQUENCE { listOfDirectoryEntry [0] SEQUENCE OF DirectoryEntry (explicit: the module's
         * default tagging), moreFollows [1] }; DirectoryEntry ::= SEQUENCE { fileName [0]
         * IMPLICIT FileName, fileAttributes [1] } */
        while (next(d, &c, cut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 1) && mc.len == 1) {
                p->more_follows = qw_cur_ptr(&mc)[0] != 0;
                p->fields |= MF_MORE_FOLLOWS;
            }
            if (!ctx_tag(&m, 0)) continue;
            struct qw_ber_tlv l;
            struct qw_cursor lc;
            bool lcut;
            if (!next(d, &mc, mcut, &l, &lc, &lcut)) continue;
            struct qw_ber_tlv e;
            struct qw_cursor ec;
            bool ecut;
            while (next(d, &lc, lcut, &e, &ec, &ecut)) {
                struct qw_ber_tlv fl;
                struct qw_cursor fc;
                bool fcut;
                if (next(d, &ec, ecut, &fl, &fc, &fcut) && ctx_tag(&fl, 0)) filename(d, fc, fcut);
            }
        }
        break;
    case RS_FILE_OPEN:
        if (next(d, &c, cut, &m, &mc, &mcut) && ctx_tag(&m, 0) && ber_i64(&m, &p->handle))
            p->fields |= MF_HANDLE; /* frsmID */
        break;
    default:
        break;
    }
}

/* ServiceError ([MMS] s.7.5.1): errorClass [0] CHOICE {[n] INTEGER}, additionalCode [1],
 * additionalDescription [2], serviceSpecificInformation [3]. */
static void service_error(struct mms_dec *d, struct qw_cursor c, bool cut)
{
    struct mms_pdu *p = d->p;
    struct qw_ber_tlv m;
    struct qw_cursor mc;
    bool mcut;
    p->error = true;
    while (next(d, &c, cut, &m, &mc, &mcut)) {
        if (ctx_tag(&m, 0)) {
            struct qw_ber_tlv e;
            struct qw_cursor ec;
            bool ecut;
            if (next(d, &mc, mcut, &e, &ec, &ecut) && e.cls == QW_BER_CONTEXT && e.tag <= 12 &&
                ber_i64(&e, &p->error_code)) {
                p->error_class = (uint8_t)e.tag;
                p->fields |= MF_ERROR;
            }
        } else if (ctx_tag(&m, 1) && ber_i64(&m, &p->additional_code)) {
            p->fields |= MF_ADD_CODE;
        } else if (ctx_tag(&m, 2)) {
            ident(d, &m, mc, MR_DESCRIPTION);
        }
    }
}

/* Initiate-RequestPDU / ResponsePDU ([MMS] s.8.2): localDetail [0], maxServOutstanding
 * calling [1] / called [2], dataStructureNestingLevel [3], init detail [4] {version [0],
 * parameterCBB [1], servicesSupported [2]}. */
static void initiate(struct mms_dec *d, struct qw_cursor c, bool cut)
{
    struct mms_pdu *p = d->p;
    struct qw_ber_tlv m;
    struct qw_cursor mc;
    bool mcut;
    while (next(d, &c, cut, &m, &mc, &mcut)) {
        if (m.cls != QW_BER_CONTEXT) continue;
        switch (m.tag) {
        case 0: if (ber_i64(&m, &p->local_detail)) p->fields |= MF_LOCAL_DETAIL; break;
        case 1: if (ber_i64(&m, &p->max_calling)) p->fields |= MF_MAX_CALLING; break;
        case 2: if (ber_i64(&m, &p->max_called)) p->fields |= MF_MAX_CALLED; break;
        case 3: if (ber_i64(&m, &p->nesting)) p->fields |= MF_NESTING; break;
        case 4: {
            struct qw_ber_tlv e;
            struct qw_cursor ec;
            bool ecut;
            while (next(d, &mc, mcut, &e, &ec, &ecut)) {
                if (ctx_tag(&e, 0) && ber_i64(&e, &p->version)) {
                    p->fields |= MF_VERSION;
                } else if ((ctx_tag(&e, 1) || ctx_tag(&e, 2)) && !e.constructed) {
                    /* BIT STRINGs kept as sent: the unused-bits octet, then the bits */
                    size_t n = qw_cur_left(&ec) < MMS_BITS_MAX ? qw_cur_left(&ec) : MMS_BITS_MAX;
                    uint8_t *dst = e.tag == 1 ? p->cbb : p->services_bits;
                    if (n) memcpy(dst, qw_cur_ptr(&ec), n);
                    if (e.tag == 1) {
                        p->cbb_len = (uint8_t)n;
                        p->fields |= MF_CBB;
                    } else {
                        p->services_len = (uint8_t)n;
                        p->fields |= MF_SERVICES;
                    }
                }
            }
            break;
        }
        default: break;
        }
    }
}

/* IEC 61850 functional constraints in written names ([61850] s.8.1.3.2, IEC 61850-7-2
 * table 18): CO operates a control (select, operate, cancel), SP/SG/SE change settings and CF
 * configuration. */
static uint32_t iec61850_write_ops(const struct mms_pdu *p)
{
    uint32_t ops = 0;
    for (unsigned i = 0; i < p->nstrs; i++) {
        const struct mms_str *s = &p->strs[i];
        if (s->role != MR_VARIABLE) continue;
        const char *t = p->text + s->off;
        for (size_t k = 0; k + 4 <= s->len; k++) {
            if (t[k] != '$' || t[k + 3] != '$') continue;
            char a = t[k + 1], b = t[k + 2];
            if (a == 'C' && b == 'O') ops |= QW_OP_CONTROL;
            if ((a == 'S' && (b == 'P' || b == 'G' || b == 'E')) || (a == 'C' && b == 'F'))
                ops |= QW_OP_CONFIG;
        }
    }
    return ops;
}

/* The service choice inside a confirmed request or response. */
static bool service_choice(struct mms_dec *d, struct qw_cursor *c, bool cut, struct qw_ber_tlv *t,
                           struct qw_cursor *tc, bool *tcut)
{
    while (next(d, c, cut, t, tc, tcut)) {
        if (t->cls == QW_BER_UNIVERSAL) continue; /* listOfModifier SEQUENCE */
        if (t->cls != QW_BER_CONTEXT) return false;
        if (t->tag == 79) continue;               /* service-ext */
        return true;
    }
    return false;
}

static void decode_pdu(struct mms_pdu *p, const uint8_t *b, size_t n, bool cut)
{
    memset(p, 0, offsetof(struct mms_pdu, strs));
    p->object_class = -1;
    struct mms_dec d = {p};
    struct qw_cursor top = qw_cursor_make(b, n);
    struct qw_ber_tlv t;
    struct qw_cursor c;
    bool tcut;
    if (!qw_iso_tlv(&top, &t, &c, &tcut) || (tcut && !cut) || t.cls != QW_BER_CONTEXT ||
        t.tag >= K_COUNT) {
        p->malformed = true;
        p->kind = K_COUNT;
        return;
    }
    if (tcut) p->truncated = true;
    p->kind = (uint8_t)t.tag;
    struct qw_ber_tlv m;
    struct qw_cursor mc;
    bool mcut;
    int64_t v;
    switch (p->kind) {
    case K_CONF_REQ:
    case K_CONF_RSP:
        if (!next(&d, &c, tcut, &m, &mc, &mcut)) break;
        if (m.cls != QW_BER_UNIVERSAL || m.tag != 2 || !ber_i64(&m, &v) || v < 0 ||
            v > UINT32_MAX) {
            p->malformed = true;
            break;
        }
        p->invoke_id = (uint32_t)v;
        p->fields |= MF_INVOKE;
        if (!service_choice(&d, &c, tcut, &m, &mc, &mcut)) {
            if (!p->truncated) p->malformed = true; /* the service is not OPTIONAL */
            break;
        }
        p->service = m.tag;
        p->fields |= MF_SERVICE;
        if (p->kind == K_CONF_REQ) decode_request(&d, m.tag, &m, mc, mcut);
        else decode_response(&d, m.tag, mc, mcut);
        break;
    case K_CONF_ERR:
    case K_CANCEL_ERR:
        while (next(&d, &c, tcut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 0) && ber_i64(&m, &v) && v >= 0 && v <= UINT32_MAX) {
                p->invoke_id = (uint32_t)v;
                p->fields |= MF_INVOKE;
            } else if (ctx_tag(&m, p->kind == K_CONF_ERR ? 2 : 1)) {
                service_error(&d, mc, mcut);
            }
        }
        p->error = true;
        break;
    case K_UNCONF:
        if (!next(&d, &c, tcut, &m, &mc, &mcut) || m.cls != QW_BER_CONTEXT) break;
        p->service = m.tag;
        p->fields |= MF_SERVICE;
        if (m.tag == 0) { /* informationReport: VariableAccessSpecification, results [0] */
            struct qw_ber_tlv e;
            struct qw_cursor ec;
            bool ecut;
            bool first = true;
            while (next(&d, &mc, mcut, &e, &ec, &ecut)) {
                if (first) var_access_spec(&d, &e, ec, ecut);
                else if (ctx_tag(&e, 0)) access_results(&d, ec, ecut, true);
                first = false;
            }
        }
        break;
    case K_REJECT:
        while (next(&d, &c, tcut, &m, &mc, &mcut)) {
            if (ctx_tag(&m, 0) && ber_i64(&m, &v) && v >= 0 && v <= UINT32_MAX) {
                p->invoke_id = (uint32_t)v;
                p->fields |= MF_ORIG_INVOKE;
            } else if (m.cls == QW_BER_CONTEXT && m.tag >= 1 && m.tag <= 11 &&
                       ber_i64(&m, &p->reject_code)) {
                p->reject_type = (uint8_t)m.tag;
                p->fields |= MF_REJECT;
            }
        }
        p->error = true;
        break;
    case K_CANCEL_REQ:
    case K_CANCEL_RSP:
        /* [5]/[6] IMPLICIT Unsigned32: the invokeID of the request to cancel */
        if (ber_i64(&t, &v) && v >= 0 && v <= UINT32_MAX) {
            p->invoke_id = (uint32_t)v;
            p->fields |= MF_INVOKE;
        }
        break;
    case K_INIT_REQ:
    case K_INIT_RSP: initiate(&d, c, tcut); break;
    case K_INIT_ERR:
    case K_CONCL_ERR: service_error(&d, c, tcut); break;
    default: break; /* conclude request/response: NULL */
    }
    /* ops: what the PDU does */
    if (p->kind == K_CONF_REQ || p->kind == K_CONF_RSP) {
        const struct mms_service *s = (p->fields & MF_SERVICE) ? mms_service(p->service) : NULL;
        if (s) p->ops = s->ops;
        if (p->kind == K_CONF_REQ && p->service == 5) p->ops |= iec61850_write_ops(p);
    } else if (p->kind >= K_CANCEL_REQ && p->kind != K_REJECT) {
        p->ops = QW_OP_SESSION; /* initiate, conclude, cancel */
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static uint32_t mms_function(const struct mms_pdu *p)
{
    /* Service tags are BER tag numbers and may be large; the codes keep their ranges apart, so
     * a tag past them is reported as the PDU type (the `service` member shows the tag). */
    if ((p->kind == K_CONF_REQ || p->kind == K_CONF_RSP) && (p->fields & MF_SERVICE) &&
        p->service < MMS_FN_PDU)
        return p->service;
    if (p->kind == K_UNCONF && (p->fields & MF_SERVICE))
        return MMS_FN_UNCONFIRMED | (p->service < 0xFFu ? p->service : 0xFFu);
    /* the request/answer pairs without a service share the request's code */
    switch (p->kind) {
    case K_CANCEL_RSP:
    case K_CANCEL_ERR: return MMS_FN_PDU | K_CANCEL_REQ;
    case K_INIT_RSP:
    case K_INIT_ERR: return MMS_FN_PDU | K_INIT_REQ;
    case K_CONCL_RSP:
    case K_CONCL_ERR: return MMS_FN_PDU | K_CONCL_REQ;
    default: return MMS_FN_PDU | p->kind;
    }
}

static const char *mms_function_name(uint32_t fn)
{
    if (fn < MMS_FN_PDU) {
        const struct mms_service *s = mms_service(fn);
        return s ? s->name : "unknown";
    }
    if (fn & MMS_FN_UNCONFIRMED) return NAME_OF(mms_unconfirmed_names, fn & 0xFFu);
    switch (fn & 0xFFu) {
    case K_CONF_REQ: return "confirmed_request"; /* no service decoded */
    case K_CONF_RSP: return "confirmed_response";
    case K_CONF_ERR: return "confirmed_error";
    case K_REJECT: return "reject";
    case K_CANCEL_REQ: return "cancel";
    case K_INIT_REQ: return "initiate";
    case K_CONCL_REQ: return "conclude";
    default: return "unknown";
    }
}

static void json_strs(struct qw_json *j, const struct mms_pdu *p)
{
    for (unsigned r = 0; r < MR_COUNT; r++) {
        bool open = false;
        for (unsigned i = 0; i < p->nstrs; i++) {
            const struct mms_str *s = &p->strs[i];
            if (s->role != r) continue;
            if (!mms_roles[r].array) {
                qw_json_strn(j, mms_roles[r].key, p->text + s->off, s->len);
                break;
            }
            if (!open) qw_json_arr_begin(j, mms_roles[r].key);
            open = true;
            qw_json_strn(j, NULL, p->text + s->off, s->len);
        }
        if (open) qw_json_arr_end(j);
    }
}

static void json_side(struct qw_json *j, const char *key, const struct mms_pdu *p, uint32_t fn)
{
    uint32_t f = p->fields;
    qw_json_obj_begin(j, key);
    qw_json_str(j, "pdu_type", p->kind < K_COUNT ? mms_kind_names[p->kind] : "unknown");
    if (f & MF_INVOKE) qw_json_u64(j, "invoke_id", p->invoke_id);
    if (f & MF_ORIG_INVOKE) qw_json_u64(j, "original_invoke_id", p->invoke_id);
    qw_json_u64(j, "function", fn);
    qw_json_str(j, "function_name", mms_function_name(fn));
    if (f & MF_SERVICE) qw_json_u64(j, "service", p->service);
    if (f & MF_ERROR) {
        qw_json_u64(j, "error_class", p->error_class);
        qw_json_str(j, "error_class_name", NAME_OF(mms_error_classes, p->error_class));
        qw_json_i64(j, "error_code", p->error_code);
    }
    if (f & MF_ADD_CODE) qw_json_i64(j, "additional_code", p->additional_code);
    if (f & MF_REJECT) {
        qw_json_str(j, "reject_type", NAME_OF(mms_reject_types, p->reject_type));
        qw_json_i64(j, "reject_code", p->reject_code);
    }
    if (f & MF_OBJECT_CLASS) {
        qw_json_i64(j, "object_class", p->object_class);
        qw_json_str(j, "object_class_name", p->object_class >= 0
                                                ? NAME_OF(mms_object_classes, p->object_class)
                                                : "unknown");
    }
    if (f & MF_SCOPE) qw_json_str(j, "object_scope", mms_scopes[p->scope]);
    if (f & MF_SPEC_RESULT) qw_json_bool(j, "specification_with_result", p->spec_with_result);
    json_strs(j, p);
    if (p->name_total > p->nstrs && p->name_total) qw_json_u64(j, "name_count", p->name_total);
    if (f & MF_MORE_FOLLOWS) qw_json_bool(j, "more_follows", p->more_follows);
    if (f & MF_DATA_COUNT) qw_json_u64(j, "data_count", p->data_count);
    if (f & MF_RESULTS) {
        qw_json_u64(j, "result_count", p->results);
        qw_json_u64(j, "failure_count", p->failures);
        if (p->nfail) {
            qw_json_arr_begin(j, "failures");
            for (unsigned i = 0; i < p->nfail; i++)
                qw_json_str(j, NULL, NAME_OF(mms_access_errors, p->fail_codes[i]));
            qw_json_arr_end(j);
        }
    }
    if (f & MF_STATUS) {
        qw_json_i64(j, "vmd_logical_status", p->logical_status);
        qw_json_i64(j, "vmd_physical_status", p->physical_status);
    }
    if (f & MF_HANDLE) qw_json_i64(j, "handle", p->handle);
    if (f & MF_LOCAL_DETAIL) qw_json_i64(j, "local_detail", p->local_detail);
    if (f & MF_MAX_CALLING) qw_json_i64(j, "max_serv_outstanding_calling", p->max_calling);
    if (f & MF_MAX_CALLED) qw_json_i64(j, "max_serv_outstanding_called", p->max_called);
    if (f & MF_NESTING) qw_json_i64(j, "data_structure_nesting_level", p->nesting);
    if (f & MF_VERSION) qw_json_i64(j, "version", p->version);
    if (f & MF_CBB) qw_json_hex(j, "parameter_cbb", p->cbb, p->cbb_len);
    if (f & MF_SERVICES) qw_json_hex(j, "services_supported", p->services_bits, p->services_len);
    if (p->truncated) qw_json_bool(j, "truncated", true);
    if (p->malformed) qw_json_bool(j, "malformed", true);
    qw_json_obj_end(j);
}

struct mms_view {
    const struct mms_pdu *req, *rsp;
    uint32_t fn;
};

static void mms_write_json(struct qw_json *j, const void *arg)
{
    const struct mms_view *v = arg;
    if (v->req) json_side(j, "request", v->req, v->fn);
    if (v->rsp) json_side(j, "response", v->rsp, v->fn);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

/* Requests pair with answers within a group: confirmed services (and their errors and
 * rejects) by invokeID, cancel by the invokeID it names, initiate and conclude alone. */
enum mms_group { G_CONFIRMED, G_CANCEL, G_INITIATE, G_CONCLUDE, G_NONE };

struct mms_slot {
    bool used;
    uint8_t dir;    /* direction the request went */
    uint8_t group;
    uint32_t seq;
    uint64_t ts_ns;
    struct mms_pdu pdu;
};

struct mms_dir {
    bool resync;
    struct qw_cotp_asm asm_;
    uint32_t head_len; /* octets of an overflowing TSDU kept in buf */
    uint8_t buf[MMS_TSDU_MAX];
};

struct mms_state {
    struct mms_dir dirs[2];
    bool queue_full_reported, duplicate_reported;
    uint32_t next_seq;
    struct mms_slot queue[MMS_QUEUE_MAX];
    struct mms_pdu cur;   /* scratch: the PDU being handled */
    struct mms_view view;
};

static uint8_t group_of(uint8_t kind, bool *request)
{
    *request = false;
    switch (kind) {
    case K_CONF_REQ: *request = true; return G_CONFIRMED;
    case K_CONF_RSP:
    case K_CONF_ERR:
    case K_REJECT: return G_CONFIRMED;
    case K_CANCEL_REQ: *request = true; return G_CANCEL;
    case K_CANCEL_RSP:
    case K_CANCEL_ERR: return G_CANCEL;
    case K_INIT_REQ: *request = true; return G_INITIATE;
    case K_INIT_RSP:
    case K_INIT_ERR: return G_INITIATE;
    case K_CONCL_REQ: *request = true; return G_CONCLUDE;
    case K_CONCL_RSP:
    case K_CONCL_ERR: return G_CONCLUDE;
    default: return G_NONE;
    }
}

static void mms_emit(struct qw_pctx *ctx, struct mms_state *st, const struct mms_pdu *req,
                     uint64_t req_ns, const struct mms_pdu *rsp, uint64_t rsp_ns)
{
    const struct mms_pdu *key = req ? req : rsp;
    uint32_t fn = mms_function(key);
    /* an error or reject answered a request we saw: it is that request's function */
    st->view.req = req;
    st->view.rsp = rsp;
    st->view.fn = fn;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = fn;
    t.function_name = mms_function_name(fn);
    t.ops = req ? req->ops : rsp->ops;
    t.error = rsp && rsp->error;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = mms_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
}

static void flush_slot(struct qw_pctx *ctx, struct mms_state *st, struct mms_slot *s)
{
    mms_emit(ctx, st, &s->pdu, s->ts_ns, NULL, 0);
    s->used = false;
}

static struct mms_slot *oldest_slot(struct mms_state *st)
{
    struct mms_slot *best = NULL;
    for (size_t i = 0; i < MMS_QUEUE_MAX; i++) {
        struct mms_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

static struct mms_slot *find_slot(struct mms_state *st, uint8_t dir, uint8_t group,
                                  bool by_invoke, uint32_t invoke)
{
    struct mms_slot *best = NULL;
    for (size_t i = 0; i < MMS_QUEUE_MAX; i++) {
        struct mms_slot *s = &st->queue[i];
        if (!s->used || s->dir != dir || s->group != group) continue;
        if (by_invoke && s->pdu.invoke_id != invoke) continue;
        if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
    }
    return best;
}

static void on_request(struct qw_pctx *ctx, struct mms_state *st, enum qw_dir dir, uint8_t group)
{
    const struct mms_pdu *p = &st->cur;
    bool by_invoke = group == G_CONFIRMED || group == G_CANCEL;
    struct mms_slot *dup = find_slot(st, (uint8_t)dir, group, by_invoke, p->invoke_id);
    if (dup && (by_invoke || group == G_INITIATE || group == G_CONCLUDE)) {
        /* the same invokeID again before an answer (or a second initiate): the first is
         * reported unanswered */
        if (by_invoke && !st->duplicate_reported) {
            qw_emit_anomaly(ctx, "mms.duplicate_invoke_id", NULL);
            st->duplicate_reported = true;
        }
        flush_slot(ctx, st, dup);
    }
    struct mms_slot *s = NULL;
    for (size_t i = 0; i < MMS_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "mms.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = oldest_slot(st);
        flush_slot(ctx, st, s);
    }
    s->used = true;
    s->dir = (uint8_t)dir;
    s->group = group;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    s->pdu = *p;
}

static void emit_identity(struct qw_pctx *ctx, const struct mms_pdu *p, bool server)
{
    static const struct {
        uint8_t role;
        const char *attr;
    } map[] = {{MR_VENDOR, "vendor"}, {MR_MODEL, "model"}, {MR_REVISION, "firmware"}};
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        for (unsigned i = 0; i < p->nstrs; i++) {
            const struct mms_str *s = &p->strs[i];
            if (s->role != map[k].role) continue;
            /* trim the padding some servers leave after the text */
            size_t n = s->len;
            while (n && (p->text[s->off + n - 1] == ' ' || p->text[s->off + n - 1] == '\0')) n--;
            if (n) qw_emit_identity(ctx, server, map[k].attr, p->text + s->off, n);
            break;
        }
    }
}

static void on_answer(struct qw_pctx *ctx, struct mms_state *st, enum qw_dir dir, uint8_t group)
{
    const struct mms_pdu *p = &st->cur;
    uint8_t req_dir = dir == QW_DIR_TO_CLIENT ? QW_DIR_TO_SERVER : QW_DIR_TO_CLIENT;
    bool by_invoke = (group == G_CONFIRMED || group == G_CANCEL) &&
                     (p->fields & (MF_INVOKE | MF_ORIG_INVOKE));
    struct mms_slot *s = NULL;
    if (by_invoke || group == G_INITIATE || group == G_CONCLUDE)
        s = find_slot(st, req_dir, group, by_invoke, p->invoke_id);
    uint64_t now = qw_pctx_time(ctx);
    if (s) {
        if (p->kind == K_CONF_RSP && (p->fields & MF_SERVICE) && (s->pdu.fields & MF_SERVICE) &&
            p->service != s->pdu.service)
            qw_emit_anomaly(ctx, "mms.service_mismatch", mms_function_name(p->service));
        mms_emit(ctx, st, &s->pdu, s->ts_ns, p, now);
        s->used = false;
    } else {
        mms_emit(ctx, st, NULL, 0, p, now);
    }
    if (p->kind == K_CONF_RSP && p->service == 2 && (p->fields & MF_SERVICE))
        emit_identity(ctx, p, dir == QW_DIR_TO_CLIENT);
}

/* One MMS PDU from direction `dir`. */
static void on_pdu(struct qw_pctx *ctx, struct mms_state *st, enum qw_dir dir, const uint8_t *b,
                   size_t n, bool cut)
{
    struct mms_pdu *p = &st->cur;
    decode_pdu(p, b, n, cut);
    if (p->kind >= K_COUNT) {
        qw_emit_anomaly(ctx, "mms.invalid_pdu", NULL);
        return;
    }
    if (p->malformed) qw_emit_anomaly(ctx, "mms.malformed_pdu", mms_kind_names[p->kind]);
    bool request;
    uint8_t group = group_of(p->kind, &request);
    if (group == G_NONE) { /* unconfirmed */
        mms_emit(ctx, st, p, qw_pctx_time(ctx), NULL, 0);
        return;
    }
    if (request) on_request(ctx, st, dir, group);
    else on_answer(ctx, st, dir, group);
}

/* ---- Framing ------------------------------------------------------------------------------- */

static void on_tsdu(struct qw_pctx *ctx, struct mms_state *st, enum qw_dir dir, const uint8_t *b,
                    size_t n, bool cut)
{
    struct qw_iso_result r;
    enum qw_iso_status s = qw_iso_tsdu(b, n, cut, &r);
    if (r.lenient_user_data) qw_emit_anomaly(ctx, "mms.session_user_data_length", NULL);
    switch (s) {
    case QW_ISO_OK: on_pdu(ctx, st, dir, r.mms, r.mms_len, r.cut); break;
    case QW_ISO_BAD_SPDU: qw_emit_anomaly(ctx, "mms.invalid_spdu", NULL); break;
    case QW_ISO_BAD_PPDU: qw_emit_anomaly(ctx, "mms.invalid_ppdu", NULL); break;
    case QW_ISO_BAD_ACSE: qw_emit_anomaly(ctx, "mms.invalid_acse", NULL); break;
    default: break; /* no MMS inside (release, abort, lone tokens) or not decoded */
    }
}

static void on_dt(struct qw_pctx *ctx, struct mms_state *st, enum qw_dir dir,
                  const struct qw_cotp *dt)
{
    struct mms_dir *d = &st->dirs[dir == QW_DIR_TO_CLIENT ? 1 : 0];
    bool was_over = d->asm_.overflow;
    uint32_t before = d->asm_.len;
    size_t n = 0;
    bool overflowed = false;
    const uint8_t *tsdu = qw_cotp_assemble(&d->asm_, d->buf, sizeof d->buf, dt, &n, &overflowed);
    bool cut = false;
    if (!was_over && (d->asm_.overflow || overflowed)) {
        /* The TSDU passed the buffer with this TPDU: keep its start. When this was the first
         * TPDU, nothing was copied yet, so copy what fits. */
        d->head_len = before;
        if (before == 0) {
            size_t k = dt->data_len < sizeof d->buf ? dt->data_len : sizeof d->buf;
            memcpy(d->buf, dt->data, k);
            d->head_len = (uint32_t)k;
        }
    }
    if (!tsdu && overflowed) {
        tsdu = d->buf;
        n = d->head_len;
        cut = true;
        d->head_len = 0;
    }
    if (tsdu && n) on_tsdu(ctx, st, dir, tsdu, n, cut);
}

/* A plausible TPKT start for resynchronisation: version 3, reserved 0, a length that holds a
 * COTP header, and a COTP length indicator and type that fit. Needs 6 octets. */
static bool tpkt_plausible(const uint8_t *b, size_t n)
{
    if (n < 6 || b[0] != 3 || b[1] != 0) return false;
    size_t len = (size_t)b[2] << 8 | b[3];
    if (len < QW_TPKT_HDR + 3 || b[4] + 1u > len - QW_TPKT_HDR) return false;
    uint8_t type = b[5] & 0xF0u;
    return type == QW_COTP_DT || type == QW_COTP_CR || type == QW_COTP_CC ||
           type == QW_COTP_DR || type == QW_COTP_DC || type == QW_COTP_ED ||
           type == QW_COTP_AK || type == QW_COTP_ER;
}

static size_t mms_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct mms_state *st = state;
    struct mms_dir *d = &st->dirs[dir == QW_DIR_TO_CLIENT ? 1 : 0];
    size_t off = 0;
    while (off < len) {
        if (d->resync) {
            while (len - off >= 6 && !tpkt_plausible(data + off, len - off)) off++;
            if (len - off < 6) return off;
            d->resync = false;
        }
        size_t n = 0;
        enum qw_tpkt_status s = qw_tpkt_frame(data + off, len - off, &n);
        if (s == QW_TPKT_NEED_MORE) return off;
        if (s == QW_TPKT_BAD) {
            qw_emit_anomaly(ctx, "mms.invalid_tpkt", NULL);
            d->resync = true;
            memset(&d->asm_, 0, sizeof d->asm_);
            off++;
            continue;
        }
        struct qw_cotp c;
        if (!qw_cotp_parse(data + off + QW_TPKT_HDR, n - QW_TPKT_HDR, &c))
            qw_emit_anomaly(ctx, "mms.invalid_cotp", NULL);
        else if (c.type == QW_COTP_DT)
            on_dt(ctx, st, dir, &c);
        off += n;
    }
    return off;
}

static void mms_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct mms_state *st = state;
    struct mms_dir *d = &st->dirs[dir == QW_DIR_TO_CLIENT ? 1 : 0];
    d->resync = true;
    d->head_len = 0;
    memset(&d->asm_, 0, sizeof d->asm_);
}

static void mms_flow_end(struct qw_pctx *ctx, void *state)
{
    struct mms_state *st = state;
    struct mms_slot *s;
    while ((s = oldest_slot(st)) != NULL) flush_slot(ctx, st, s);
}

/* Port 102 carries S7comm, S7comm-plus and MMS over the same TPKT/COTP, and all three see the
 * COTP CR/CC first. Walk the complete TPKTs, skip CR and CC, and decide on the first DT's
 * data: an ISO session SPDU (CONNECT, ACCEPT, GIVE TOKENS + DATA TRANSFER) or a bare MMS PDU
 * is MMS; anything else (S7comm's 0x32, S7comm-plus's 0x72) is not. */
static enum qw_probe_result mms_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    size_t off = 0;
    while (off < len) {
        struct qw_cotp c;
        enum qw_tpkt_status s = qw_tpkt_cotp_probe(data + off, len - off, &c);
        if (s == QW_TPKT_BAD) return QW_PROBE_NO;
        if (s == QW_TPKT_NEED_MORE) {
            /* a DT whose first data octets are here already may decide now */
            if (len - off >= QW_TPKT_HDR + 3 && (data[off + QW_TPKT_HDR + 1] & 0xF0u) ==
                QW_COTP_DT && data[off + QW_TPKT_HDR] == 2) {
                const uint8_t *p = data + off + QW_TPKT_HDR + 3;
                int r = qw_iso_probe_tsdu(p, len - off - QW_TPKT_HDR - 3, false);
                if (r < 0) return QW_PROBE_NO;
                if (r > 0) return QW_PROBE_MATCH;
            }
            return QW_PROBE_NEED_MORE;
        }
        size_t n = 0;
        (void)qw_tpkt_frame(data + off, len - off, &n);
        off += n;
        if (c.type == QW_COTP_CR || c.type == QW_COTP_CC) continue;
        if (c.type != QW_COTP_DT) return QW_PROBE_NO;
        if (c.data_len == 0) continue;
        int r = qw_iso_probe_tsdu(c.data, c.data_len, c.eot);
        if (r > 0) return QW_PROBE_MATCH;
        if (r < 0) return QW_PROBE_NO;
        return QW_PROBE_NEED_MORE;
    }
    return QW_PROBE_NEED_MORE;
}

const struct qw_proto qw_proto_mms = {
    .name = "mms",
    .transports = QW_TRANSPORT_TCP,
    .ports = {MMS_PORT, 0},
    .probe = mms_probe,
    .state_size = sizeof(struct mms_state),
    .parse = mms_parse,
    .gap = mms_gap,
    .flow_end = mms_flow_end,
};
