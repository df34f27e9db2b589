/* Code tables of PROFINET IO context management (see pnio_cm_tables.h).
 *
 * Sources:
 *   [C706]  The Open Group C706, DCE 1.1: Remote Procedure Call, 12.5 connectionless PDUs
 *           (packet types) and 14.3 NDR (data representation).
 *   [6-10]  IEC 61158-6-10 (PROFINET IO application layer protocol): the interface UUIDs of the
 *           CM services, the BlockType coding, the Index coding of records (user specific
 *           below 0x8000; subslot, slot, AR, API and device records; I&M0..I&M15 at
 *           0xAFF0..0xAFFF), the PNIOStatus coding (ErrorCode, ErrorDecode, ErrorCode1 with its
 *           PNIORW classes application/access/resource), ARType and IOCRType.
 *   Wireshark's packet-dcerpc-pn-io.c was read to check the values (no text is copied), and
 *   tshark 4.0 names every block type and index of the corpus captures the same way. */
#include "proto/pnio_cm_tables.h"

#include <stddef.h>
#include <string.h>

#include "engine/emit.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pn_ptypes[PN_PTYPE_MAX + 1] = {
    "request", "ping", "response", "fault", "working", "nocall",
    "reject",  "ack",  "cl_cancel", "fack", "cancel_ack",
};

const char *pn_ptype_name(uint8_t ptype)
{
    return ptype <= PN_PTYPE_MAX ? pn_ptypes[ptype] : NULL;
}

/* ---- Interfaces ---------------------------------------------------------------------------- */

/* The PNIO interfaces share all but the first octet's low byte: DEA0000x-6C97-11D1-8271-
 * 00A02442DF7D. */
static const uint8_t pn_if_tail[12] = {0x6C, 0x97, 0x11, 0xD1, 0x82, 0x71,
                                       0x00, 0xA0, 0x24, 0x42, 0xDF, 0x7D};
static const uint8_t pn_epm_uuid[16] = {0xE1, 0xAF, 0x83, 0x08, 0x5D, 0x1F, 0x11, 0xC9,
                                        0x91, 0xA4, 0x08, 0x00, 0x2B, 0x14, 0xA0, 0xFA};

enum pn_iface pn_iface_of(const uint8_t uuid[16])
{
    if (uuid[0] == 0xDE && uuid[1] == 0xA0 && uuid[2] == 0x00 && uuid[3] >= 1 && uuid[3] <= 4 &&
        memcmp(uuid + 4, pn_if_tail, sizeof pn_if_tail) == 0)
        return (enum pn_iface)(PN_IF_DEVICE + (uuid[3] - 1));
    if (memcmp(uuid, pn_epm_uuid, 16) == 0) return PN_IF_EPM;
    return PN_IF_UNKNOWN;
}

const char *pn_iface_name(enum pn_iface i)
{
    static const char *const names[] = {"unknown",    "device",          "controller",
                                        "supervisor", "parameter_server", "endpoint_mapper"};
    return (size_t)i < N_OF(names) ? names[i] : "unknown";
}

int pn_iface_is_pnio(enum pn_iface i)
{
    return i >= PN_IF_DEVICE && i <= PN_IF_PARAMSERVER;
}

/* ---- Block types ([6-10] BlockType) -------------------------------------------------------- */

struct pn_named {
    uint16_t code;
    const char *name;
};

/* Sorted by code. */
static const struct pn_named pn_blocks[] = {
    {0x0001, "AlarmNotificationHigh"},
    {0x0002, "AlarmNotificationLow"},
    {0x0008, "IODWriteReqHeader"},
    {0x0009, "IODReadReqHeader"},
    {0x0010, "DiagnosisData"},
    {0x0012, "ExpectedIdentificationData"},
    {0x0013, "RealIdentificationData"},
    {0x0014, "SubstituteValue"},
    {0x0015, "RecordInputDataObjectElement"},
    {0x0016, "RecordOutputDataObjectElement"},
    {0x0018, "ARData"},
    {0x0019, "LogData"},
    {0x001A, "APIData"},
    {0x001B, "SRLData"},
    {0x0020, "I&M0"},
    {0x0021, "I&M1"},
    {0x0022, "I&M2"},
    {0x0023, "I&M3"},
    {0x0024, "I&M4"},
    {0x0030, "I&M0FilterDataSubmodule"},
    {0x0031, "I&M0FilterDataModule"},
    {0x0032, "I&M0FilterDataDevice"},
    {0x0034, "I&M5Data"},
    {0x0035, "AssetManagementData"},
    {0x0101, "ARBlockReq"},
    {0x0102, "IOCRBlockReq"},
    {0x0103, "AlarmCRBlockReq"},
    {0x0104, "ExpectedSubmoduleBlockReq"},
    {0x0105, "PrmServerBlockReq"},
    {0x0106, "MCRBlockReq"},
    {0x0107, "ARRPCBlockReq"},
    {0x0108, "ARVendorBlockReq"},
    {0x0109, "IRInfoBlock"},
    {0x010A, "SRInfoBlock"},
    {0x010B, "ARFSUBlock"},
    {0x010C, "RSInfoBlock"},
    {0x0110, "IODControlReq_PrmEnd"},
    {0x0111, "IODControlReq_PlugPrmEnd"},
    {0x0112, "IOXBlockReq_ApplicationReady"},
    {0x0113, "IOXBlockReq_PlugApplicationReady"},
    {0x0114, "IODReleaseReq"},
    {0x0116, "IOXControlReq_ReadyForCompanion"},
    {0x0117, "IOXControlReq_ReadyForRTClass3"},
    {0x0118, "PrmBeginReq"},
    {0x0119, "SubmoduleListBlock"},
    {0x0200, "PDPortDataCheck"},
    {0x0201, "PDevData"},
    {0x0202, "PDPortDataAdjust"},
    {0x0203, "PDSyncData"},
    {0x0204, "IsochronousModeData"},
    {0x0205, "PDIRData"},
    {0x0206, "PDIRGlobalData"},
    {0x0207, "PDIRFrameData"},
    {0x0208, "PDIRBeginEndData"},
    {0x0209, "AdjustDomainBoundary"},
    {0x020A, "CheckPeers"},
    {0x020B, "CheckLineDelay"},
    {0x020C, "CheckMAUType"},
    {0x020E, "AdjustMAUType"},
    {0x020F, "PDPortDataReal"},
    {0x0210, "AdjustMulticastBoundary"},
    {0x0211, "PDInterfaceMrpDataAdjust"},
    {0x0212, "PDInterfaceMrpDataReal"},
    {0x0213, "PDInterfaceMrpDataCheck"},
    {0x0214, "PDPortMrpDataAdjust"},
    {0x0215, "PDPortMrpDataReal"},
    {0x021B, "AdjustLinkState"},
    {0x021C, "CheckLinkState"},
    {0x0220, "PDPortFODataReal"},
    {0x0222, "PDPortFODataAdjust"},
    {0x0223, "PDPortFODataCheck"},
    {0x0224, "AdjustPeerToPeerBoundary"},
    {0x0225, "AdjustDCPBoundary"},
    {0x0226, "AdjustPreambleLength"},
    {0x022A, "PDIRSubframeData"},
    {0x022C, "PDPortDataRealExtended"},
    {0x022D, "PDTimeData"},
    {0x0230, "PDNCDataCheck"},
    {0x0240, "PDInterfaceDataReal"},
    {0x0250, "PDInterfaceAdjust"},
    {0x0251, "PDPortStatistic"},
    {0x0400, "MultipleBlockHeader"},
    {0x0401, "COContainerContent"},
    {0x0500, "RecordDataReadQuery"},
    {0x0600, "FSHelloBlock"},
    {0x0601, "FSParameterBlock"},
    {0x0608, "PDInterfaceFSUDataAdjust"},
    {0x0609, "ARFSUDataAdjust"},
    {0x0700, "AutoConfiguration"},
    {0x0F00, "MaintenanceItem"},
    {0x8001, "AlarmAckHigh"},
    {0x8002, "AlarmAckLow"},
    {0x8008, "IODWriteResHeader"},
    {0x8009, "IODReadResHeader"},
    {0x8101, "ARBlockRes"},
    {0x8102, "IOCRBlockRes"},
    {0x8103, "AlarmCRBlockRes"},
    {0x8104, "ModuleDiffBlock"},
    {0x8105, "PrmServerBlockRes"},
    {0x8106, "ARServerBlockRes"},
    {0x8107, "ARRPCBlockRes"},
    {0x8108, "ARVendorBlockRes"},
    {0x8110, "IODControlRes_PrmEnd"},
    {0x8111, "IODControlRes_PlugPrmEnd"},
    {0x8112, "IOXBlockRes_ApplicationReady"},
    {0x8113, "IOXBlockRes_PlugApplicationReady"},
    {0x8114, "IODReleaseRes"},
    {0x8116, "IOXControlRes_ReadyForCompanion"},
    {0x8117, "IOXControlRes_ReadyForRTClass3"},
    {0x8118, "PrmBeginRes"},
};

static const char *pn_lookup(const struct pn_named *t, size_t n, uint16_t code)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].code == code) return t[mid].name;
        if (t[mid].code < code) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *pn_block_name(uint16_t type)
{
    return pn_lookup(pn_blocks, N_OF(pn_blocks), type);
}

/* ---- Record indexes ([6-10] Index) --------------------------------------------------------- */

struct pn_index_row {
    uint16_t index;
    const char *name;
    uint32_t read_ops;
};

#define ID QW_OP_IDENTIFY
#define DG QW_OP_DIAGNOSTIC

/* Sorted by index; I&M0..I&M15 (0xAFF0..0xAFFF) are computed. */
static const struct pn_index_row pn_indexes[] = {
    {0x8000, "ExpectedIdentificationData (subslot)", ID},
    {0x8001, "RealIdentificationData (subslot)", ID},
    {0x800A, "Diagnosis channel coding (subslot)", DG},
    {0x800B, "Diagnosis all codings (subslot)", DG},
    {0x800C, "Diagnosis, maintenance, qualified and status (subslot)", DG},
    {0x8010, "Maintenance required channel coding (subslot)", DG},
    {0x8011, "Maintenance demanded channel coding (subslot)", DG},
    {0x8012, "Maintenance required all codings (subslot)", DG},
    {0x8013, "Maintenance demanded all codings (subslot)", DG},
    {0x801E, "SubstituteValues (subslot)", 0},
    {0x8020, "PDIRSubframeData (subslot)", 0},
    {0x8027, "PDPortDataRealExtended (subslot)", 0},
    {0x8028, "RecordInputDataObjectElement (subslot)", 0},
    {0x8029, "RecordOutputDataObjectElement (subslot)", 0},
    {0x802A, "PDPortDataReal (subslot)", 0},
    {0x802B, "PDPortDataCheck (subslot)", 0},
    {0x802C, "PDIRData (subslot)", 0},
    {0x802D, "PDSyncData (subslot)", 0},
    {0x802F, "PDPortDataAdjust (subslot)", 0},
    {0x8030, "IsochronousModeData (subslot)", 0},
    {0x8031, "PDTimeData (subslot)", 0},
    {0x8050, "PDInterfaceMrpDataReal (subslot)", 0},
    {0x8051, "PDInterfaceMrpDataCheck (subslot)", 0},
    {0x8052, "PDInterfaceMrpDataAdjust (subslot)", 0},
    {0x8053, "PDPortMrpDataAdjust (subslot)", 0},
    {0x8054, "PDPortMrpDataReal (subslot)", 0},
    {0x8060, "PDPortFODataReal (subslot)", 0},
    {0x8061, "PDPortFODataCheck (subslot)", 0},
    {0x8062, "PDPortFODataAdjust (subslot)", 0},
    {0x8070, "PDNCDataCheck (subslot)", 0},
    {0x8071, "PDInterfaceAdjust (subslot)", 0},
    {0x8072, "PDPortStatistic (subslot)", DG},
    {0x8080, "PDInterfaceDataReal", 0},
    {0x8090, "PDInterfaceFSUDataAdjust", 0},
    {0xC000, "ExpectedIdentificationData (slot)", ID},
    {0xC001, "RealIdentificationData (slot)", ID},
    {0xC00A, "Diagnosis channel coding (slot)", DG},
    {0xC00B, "Diagnosis all codings (slot)", DG},
    {0xC00C, "Diagnosis, maintenance, qualified and status (slot)", DG},
    {0xE000, "ExpectedIdentificationData (AR)", ID},
    {0xE001, "RealIdentificationData (AR)", ID},
    {0xE002, "ModuleDiffBlock (AR)", ID},
    {0xE00A, "Diagnosis channel coding (AR)", DG},
    {0xE00B, "Diagnosis all codings (AR)", DG},
    {0xE00C, "Diagnosis, maintenance, qualified and status (AR)", DG},
    {0xE040, "MultipleWrite", 0},
    {0xE041, "ApplicationReadyBlock", 0},
    {0xE050, "ARFSUDataAdjust (AR)", 0},
    {0xF000, "RealIdentificationData (API)", ID},
    {0xF00A, "Diagnosis channel coding (API)", DG},
    {0xF00B, "Diagnosis all codings (API)", DG},
    {0xF00C, "Diagnosis, maintenance, qualified and status (API)", DG},
    {0xF020, "ARData (API)", DG},
    {0xF80C, "Diagnosis, maintenance, qualified and status (device)", DG},
    {0xF820, "ARData", DG},
    {0xF821, "APIData", DG},
    {0xF830, "LogData", DG},
    {0xF831, "PDevData", 0},
    {0xF840, "I&M0FilterData", ID},
    {0xF841, "PDRealData", 0},
    {0xF842, "PDExpectedData", 0},
    {0xF850, "AutoConfiguration", 0},
    {0xF880, "AssetManagementData", ID},
};

#undef ID
#undef DG

static const char *const pn_im_names[16] = {
    "I&M0", "I&M1", "I&M2",  "I&M3",  "I&M4",  "I&M5",  "I&M6",  "I&M7",
    "I&M8", "I&M9", "I&M10", "I&M11", "I&M12", "I&M13", "I&M14", "I&M15",
};

struct pn_index_info pn_index_info(uint16_t index)
{
    struct pn_index_info r = {NULL, 0};
    if (index >= 0xAFF0) {
        if (index <= 0xAFFF) {
            r.name = pn_im_names[index - 0xAFF0];
            r.read_ops = QW_OP_IDENTIFY;
        }
        if (index < 0xB000) return r;
    }
    if (index < 0x8000) {
        r.name = "user specific";
        return r;
    }
    size_t lo = 0, hi = N_OF(pn_indexes);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pn_indexes[mid].index == index) {
            r.name = pn_indexes[mid].name;
            r.read_ops = pn_indexes[mid].read_ops;
            return r;
        }
        if (pn_indexes[mid].index < index) lo = mid + 1;
        else hi = mid;
    }
    if (index >= 0xB000 && index <= 0xBFFF) r.name = "profile specific";
    else if (index >= 0xFC00) r.name = "profile specific";
    return r;
}

/* Standard records: subslot 0x8000..0xAFFF (with I&M), slot 0xC000..0xCFFF, AR 0xE000..0xEBFF,
 * API 0xF000..0xF3FF and device 0xF800..0xFBFF are blocks; 0xB000..0xBFFF, 0xD000..0xDFFF and
 * 0xFC00..0xFFFF belong to profiles, and below 0x8000 to the device's maker. */
int pn_index_has_blocks(uint16_t index)
{
    return (index >= 0x8000 && index <= 0xAFFF) || (index >= 0xC000 && index <= 0xCFFF) ||
           (index >= 0xE000 && index <= 0xEBFF) || (index >= 0xF000 && index <= 0xF3FF) ||
           (index >= 0xF800 && index <= 0xFBFF);
}

/* ---- PNIOStatus ---------------------------------------------------------------------------- */

static const struct pn_named pn_error_codes[] = {
    {0x00, "ok"},           {0x81, "pnio"},          {0xCF, "rta_error"},
    {0xDA, "alarm_ack"},    {0xDB, "connect"},       {0xDC, "release"},
    {0xDD, "control"},      {0xDE, "read"},          {0xDF, "write"},
};

const char *pn_error_code_name(uint8_t code)
{
    return pn_lookup(pn_error_codes, N_OF(pn_error_codes), code);
}

const char *pn_error_decode_name(uint8_t decode)
{
    switch (decode) {
    case 0x00: return "ok";
    case 0x80: return "pniorw";
    case 0x81: return "pnio";
    case 0x82: return "manufacturer_specific";
    default: return NULL;
    }
}

/* PNIORW ErrorCode1: class in the high nibble (0xA application, 0xB access, 0xC resource,
 * 0xD..0xF user specific), code in the low nibble. */
static const char *const pn_rw_application[16] = {
    "application: read error", "application: write error", "application: module failure",
    NULL, NULL, NULL, NULL, "application: busy", "application: version conflict",
    "application: feature not supported",
};
static const char *const pn_rw_access[16] = {
    "access: invalid index",     "access: write length error", "access: invalid slot/subslot",
    "access: type conflict",     "access: invalid area",       "access: state conflict",
    "access: access denied",     "access: invalid range",      "access: invalid parameter",
    "access: invalid type",      "access: backup",
};
static const char *const pn_rw_resource[16] = {
    "resource: read constrain conflict", "resource: write constrain conflict",
    "resource: resource busy",           "resource: resource unavailable",
};

const char *pn_pniorw_code1_name(uint8_t code1)
{
    unsigned lo = code1 & 0x0Fu;
    switch (code1 >> 4) {
    case 0xA: return pn_rw_application[lo] ? pn_rw_application[lo] : "application";
    case 0xB: return pn_rw_access[lo] ? pn_rw_access[lo] : "access";
    case 0xC: return pn_rw_resource[lo] ? pn_rw_resource[lo] : "resource";
    case 0xD:
    case 0xE:
    case 0xF: return "user specific";
    default: return NULL;
    }
}

/* ---- AR and IOCR types --------------------------------------------------------------------- */

const char *pn_ar_type_name(uint16_t t)
{
    switch (t) {
    case 0x0001: return "io_controller";
    case 0x0003: return "io_controller_cir";
    case 0x0006: return "io_supervisor";
    case 0x0010: return "io_controller_rt_class_3";
    case 0x0020: return "io_controller_sysred";
    default: return NULL;
    }
}

const char *pn_iocr_type_name(uint16_t t)
{
    switch (t) {
    case 1: return "input";
    case 2: return "output";
    case 3: return "multicast_provider";
    case 4: return "multicast_consumer";
    default: return NULL;
    }
}
