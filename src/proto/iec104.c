/* IEC 60870-5-104 (telecontrol over TCP) application parser.
 *
 * Specifications:
 *   [104] IEC 60870-5-104:2006 Network access for IEC 60870-5-101 using standard transport
 *         profiles: s.5 APCI (start 0x68, length, four control octets), s.5.1 I-format,
 *         s.5.2 S-format, s.5.3 U-format (STARTDT, STOPDT, TESTFR), s.7.3 the ASDU types used on
 *         TCP (adds the CP56Time2a command types 58-64 and 107, file type 127), s.9 ASDU field
 *         sizes fixed for 104: cause of transmission 2 octets (with originator address), common
 *         address 2 octets, information object address 3 octets.
 *   [101] IEC 60870-5-101:2003 Companion standard for basic telecontrol tasks: s.7.2.1 type
 *         identification, s.7.2.2 variable structure qualifier, s.7.2.3 cause of transmission
 *         (table 14), s.7.2.6 information elements (SCO, DCO, RCO, QOS, QOI, QCC, QRP, QPM, QPA,
 *         COI, CP56Time2a, ...), s.7.3 the element layout of every type id.
 *   [5-4] IEC 60870-5-4 for the element encodings: NVA (normalised, F16), SVA (I16), IEEE 754
 *         short floating point (R32), BSI (32 bits), all little-endian.
 *
 * APDU layout ([104] s.5):
 *
 *   offset size meaning
 *   ------ ---- -------------------------------------------------------------------------
 *        0    1 start byte 0x68
 *        1    1 APDU length L: the bytes that follow (4..253)
 *        2    4 control field: I-format  bit0(oct1)=0: N(S)<<1 in oct1-2, N(R)<<1 in oct3-4
 *                              S-format  oct1=0x01, oct2=0: N(R)<<1 in oct3-4
 *                              U-format  oct1 bits0-1=11, exactly one function bit of 2..7
 *        6  L-4 ASDU (I-format only):
 *                 0 type id, 1 VSQ (bit7 SQ, bits0-6 number of objects),
 *                 2 COT (bits0-5 cause, bit6 P/N negative, bit7 T test), 3 originator address,
 *                 4-5 common address (little-endian), then the information objects:
 *                 SQ=0: N x (IOA 3 octets LE + element); SQ=1: IOA once, then N elements with
 *                 consecutive addresses.
 *
 * Transactions ([101] s.7.2.3, [104] s.5.3):
 *   - U-format: an "act" (STARTDT/STOPDT/TESTFR) pairs with the "con" of the same function from
 *     the other side; either side may send TESTFR.
 *   - Commands: an ASDU with cause activation (6) or deactivation (8) pairs with the
 *     confirmation (7/9) and, for interrogations and executed commands, the termination (10)
 *     of the same type id, common address and first information object address, sent back by
 *     the other side. A mirrored ASDU with cause 44-47 (unknown type / cause / common address /
 *     object address) or the negative bit answers it as an error. A read (C_RD_NA_1, cause 5
 *     "request") pairs with the monitor ASDU returned with cause 5 for the same address.
 *   - Everything else (spontaneous, periodic, interrogated data, S-format acknowledgements,
 *     end of initialisation) is one record on its own.
 * Outstanding commands sit in a bounded queue of raw APDUs; a command whose confirmation or
 * termination does not come within IEC_PENDING_TIMEOUT_NS of packet time is reported with what
 * was seen. ASDUs are decoded again into scratch records when the transaction is emitted, so
 * nothing is allocated per packet. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define IEC_PORT 2404          /* IANA "iec-104" ([104] s.10) */
#define IEC_START 0x68         /* [104] s.5 */
#define IEC_APCI_LEN 6         /* start, length, 4 control octets */
#define IEC_LEN_MIN 4          /* the control field alone ([104] s.5) */
#define IEC_LEN_MAX 253        /* APDU at most 255 octets ([104] s.5) */
#define IEC_APDU_MAX (IEC_LEN_MAX + 2)
#define IEC_ASDU_HDR 6         /* type, VSQ, COT, originator, common address (2) ([104] s.9) */
#define IEC_IOA_LEN 3          /* [104] s.9 */
#define IEC_OBJECTS_MAX 127    /* the 7-bit count of the VSQ ([101] s.7.2.2): every address of
                                * an ASDU fits, none is ever dropped */
#define IEC_SEQ_MOD 32768u     /* N(S)/N(R) are 15 bits ([104] s.5.1) */

/* Outstanding transactions per flow (commands, reads, U-format acts). A controlling station
 * normally has one or two commands and an interrogation in flight; 16 leaves room. Each slot
 * keeps the request and the confirmation APDU (2 x 255 octets), so the state is about 9 KiB. */
#define IEC_QUEUE_MAX 16
/* A confirmation or termination not seen within this packet time is given up: the request is
 * reported without it. [104] s.6.9 sets t1 (the acknowledgement timeout) to 15 s by default;
 * twice that covers slow command executions before the termination. */
#define IEC_PENDING_TIMEOUT_NS (30ull * 1000000000ull)

/* APCI-only frames carry no type id: they get function codes above the 8-bit type id range so
 * a count by function never mixes them with ASDU types. */
#define IEC_FN_S 256u
#define IEC_FN_STARTDT 257u
#define IEC_FN_STOPDT 258u
#define IEC_FN_TESTFR 259u
#define IEC_FN_U_INVALID 260u

/* Causes of transmission used for pairing ([101] table 14). */
#define IEC_COT_REQ 5
#define IEC_COT_ACT 6
#define IEC_COT_ACTCON 7
#define IEC_COT_DEACT 8
#define IEC_COT_DEACTCON 9
#define IEC_COT_ACTTERM 10
#define IEC_COT_UNKNOWN_TYPE 44
#define IEC_COT_UNKNOWN_IOA 47

#define IEC_TYPE_READ 102 /* C_RD_NA_1 */

/* ---- Protocol fact tables ------------------------------------------------------------------ */

/* Which station sends the type ([101] s.7.2.1: "process information in monitor direction",
 * "in control direction", system and parameter information, file transfer both ways). */
enum iec_class { IEC_MON = 1, IEC_CTL = 2, IEC_BOTH = 3 };

/* How the element of the first object is shown ([101] s.7.2.6). */
enum iec_val {
    V_NONE = 0,
    V_SCO,      /* single command: SCS, QU, S/E */
    V_DCO,      /* double command: DCS, QU, S/E */
    V_RCO,      /* regulating step: RCS, QU, S/E */
    V_NVA_QOS,  /* setpoint, normalised value + qualifier of set-point command */
    V_SVA_QOS,  /* setpoint, scaled value + QOS */
    V_FLT_QOS,  /* setpoint, short float + QOS */
    V_BSI,      /* bitstring of 32 bits */
    V_QOI,      /* qualifier of interrogation */
    V_QCC,      /* qualifier of counter interrogation */
    V_TIME,     /* CP56Time2a (clock synchronisation) */
    V_FBP,      /* fixed test bit pattern */
    V_QRP,      /* qualifier of reset process */
    V_CP16,     /* CP16Time2a (delay acquisition) */
    V_TSC_TIME, /* test sequence counter + CP56Time2a */
    V_NVA_QPM,  /* parameter, normalised value + qualifier of parameter of measured values */
    V_SVA_QPM,
    V_FLT_QPM,
    V_QPA,      /* qualifier of parameter activation */
    V_COI,      /* cause of initialisation */
};

struct iec_type {
    const char *name;
    uint8_t elem;      /* element octets after each IOA */
    uint8_t cls;       /* enum iec_class */
    uint8_t val;       /* enum iec_val */
    bool time56;       /* the element ends with a CP56Time2a ([104] s.7.3 types 58-64) */
    bool segment;      /* F_SG_NA_1: variable element (NOF, NOS, LOS, LOS octets) */
    uint32_t ops;
};

#define CTL_OPS QW_OP_CONTROL
#define SET_OPS (QW_OP_CONTROL | QW_OP_WRITE) /* setpoints and bitstrings write a value */

/* Every type id of [101] s.7.2.1 and [104] s.7.3. Element sizes from [101] s.7.3: SIQ/DIQ 1,
 * VTI 1, QDS 1, BSI 4, NVA/SVA 2, R32 4, BCR 5, CP24Time2a 3, CP56Time2a 7, CP16Time2a 2. */
static const struct iec_type iec_types[256] = {
    [1] = {"M_SP_NA_1", 1, IEC_MON, V_NONE, false, false, 0},   /* SIQ */
    [2] = {"M_SP_TA_1", 4, IEC_MON, V_NONE, false, false, 0},   /* SIQ + CP24 */
    [3] = {"M_DP_NA_1", 1, IEC_MON, V_NONE, false, false, 0},   /* DIQ */
    [4] = {"M_DP_TA_1", 4, IEC_MON, V_NONE, false, false, 0},
    [5] = {"M_ST_NA_1", 2, IEC_MON, V_NONE, false, false, 0},   /* VTI + QDS */
    [6] = {"M_ST_TA_1", 5, IEC_MON, V_NONE, false, false, 0},
    [7] = {"M_BO_NA_1", 5, IEC_MON, V_NONE, false, false, 0},   /* BSI + QDS */
    [8] = {"M_BO_TA_1", 8, IEC_MON, V_NONE, false, false, 0},
    [9] = {"M_ME_NA_1", 3, IEC_MON, V_NONE, false, false, 0},   /* NVA + QDS */
    [10] = {"M_ME_TA_1", 6, IEC_MON, V_NONE, false, false, 0},
    [11] = {"M_ME_NB_1", 3, IEC_MON, V_NONE, false, false, 0},  /* SVA + QDS */
    [12] = {"M_ME_TB_1", 6, IEC_MON, V_NONE, false, false, 0},
    [13] = {"M_ME_NC_1", 5, IEC_MON, V_NONE, false, false, 0},  /* R32 + QDS */
    [14] = {"M_ME_TC_1", 8, IEC_MON, V_NONE, false, false, 0},
    [15] = {"M_IT_NA_1", 5, IEC_MON, V_NONE, false, false, 0},  /* BCR */
    [16] = {"M_IT_TA_1", 8, IEC_MON, V_NONE, false, false, 0},
    [17] = {"M_EP_TA_1", 6, IEC_MON, V_NONE, false, false, 0},  /* SEP + CP16 + CP24 */
    [18] = {"M_EP_TB_1", 7, IEC_MON, V_NONE, false, false, 0},  /* SPE + QDP + CP16 + CP24 */
    [19] = {"M_EP_TC_1", 7, IEC_MON, V_NONE, false, false, 0},  /* OCI + QDP + CP16 + CP24 */
    [20] = {"M_PS_NA_1", 5, IEC_MON, V_NONE, false, false, 0},  /* SCD + QDS */
    [21] = {"M_ME_ND_1", 2, IEC_MON, V_NONE, false, false, 0},  /* NVA */
    [30] = {"M_SP_TB_1", 8, IEC_MON, V_NONE, false, false, 0},  /* + CP56 */
    [31] = {"M_DP_TB_1", 8, IEC_MON, V_NONE, false, false, 0},
    [32] = {"M_ST_TB_1", 9, IEC_MON, V_NONE, false, false, 0},
    [33] = {"M_BO_TB_1", 12, IEC_MON, V_NONE, false, false, 0},
    [34] = {"M_ME_TD_1", 10, IEC_MON, V_NONE, false, false, 0},
    [35] = {"M_ME_TE_1", 10, IEC_MON, V_NONE, false, false, 0},
    [36] = {"M_ME_TF_1", 12, IEC_MON, V_NONE, false, false, 0},
    [37] = {"M_IT_TB_1", 12, IEC_MON, V_NONE, false, false, 0},
    [38] = {"M_EP_TD_1", 10, IEC_MON, V_NONE, false, false, 0}, /* SEP + CP16 + CP56 */
    [39] = {"M_EP_TE_1", 11, IEC_MON, V_NONE, false, false, 0},
    [40] = {"M_EP_TF_1", 11, IEC_MON, V_NONE, false, false, 0},
    [45] = {"C_SC_NA_1", 1, IEC_CTL, V_SCO, false, false, CTL_OPS},
    [46] = {"C_DC_NA_1", 1, IEC_CTL, V_DCO, false, false, CTL_OPS},
    [47] = {"C_RC_NA_1", 1, IEC_CTL, V_RCO, false, false, CTL_OPS},
    [48] = {"C_SE_NA_1", 3, IEC_CTL, V_NVA_QOS, false, false, SET_OPS},
    [49] = {"C_SE_NB_1", 3, IEC_CTL, V_SVA_QOS, false, false, SET_OPS},
    [50] = {"C_SE_NC_1", 5, IEC_CTL, V_FLT_QOS, false, false, SET_OPS},
    [51] = {"C_BO_NA_1", 4, IEC_CTL, V_BSI, false, false, SET_OPS},
    [58] = {"C_SC_TA_1", 8, IEC_CTL, V_SCO, true, false, CTL_OPS},
    [59] = {"C_DC_TA_1", 8, IEC_CTL, V_DCO, true, false, CTL_OPS},
    [60] = {"C_RC_TA_1", 8, IEC_CTL, V_RCO, true, false, CTL_OPS},
    [61] = {"C_SE_TA_1", 10, IEC_CTL, V_NVA_QOS, true, false, SET_OPS},
    [62] = {"C_SE_TB_1", 10, IEC_CTL, V_SVA_QOS, true, false, SET_OPS},
    [63] = {"C_SE_TC_1", 12, IEC_CTL, V_FLT_QOS, true, false, SET_OPS},
    [64] = {"C_BO_TA_1", 11, IEC_CTL, V_BSI, true, false, SET_OPS},
    [70] = {"M_EI_NA_1", 1, IEC_MON, V_COI, false, false, 0},
    [100] = {"C_IC_NA_1", 1, IEC_CTL, V_QOI, false, false, QW_OP_READ},
    [101] = {"C_CI_NA_1", 1, IEC_CTL, V_QCC, false, false, QW_OP_READ},
    [102] = {"C_RD_NA_1", 0, IEC_CTL, V_NONE, false, false, QW_OP_READ},
    [103] = {"C_CS_NA_1", 7, IEC_CTL, V_TIME, false, false, QW_OP_TIMESYNC},
    [104] = {"C_TS_NA_1", 2, IEC_CTL, V_FBP, false, false, QW_OP_DIAGNOSTIC},
    [105] = {"C_RP_NA_1", 1, IEC_CTL, V_QRP, false, false, QW_OP_RESTART},
    [106] = {"C_CD_NA_1", 2, IEC_CTL, V_CP16, false, false, QW_OP_TIMESYNC},
    [107] = {"C_TS_TA_1", 9, IEC_CTL, V_TSC_TIME, false, false, QW_OP_DIAGNOSTIC},
    [110] = {"P_ME_NA_1", 3, IEC_CTL, V_NVA_QPM, false, false, QW_OP_CONFIG},
    [111] = {"P_ME_NB_1", 3, IEC_CTL, V_SVA_QPM, false, false, QW_OP_CONFIG},
    [112] = {"P_ME_NC_1", 5, IEC_CTL, V_FLT_QPM, false, false, QW_OP_CONFIG},
    [113] = {"P_AC_NA_1", 1, IEC_CTL, V_QPA, false, false, QW_OP_CONFIG},
    /* File transfer ([101] s.7.3.6, [104] s.7.3 for F_SC_NB_1): NOF 2, LOF 3, NOS 1, FRQ/SRQ/
     * SCQ/LSQ/AFQ 1, CHS 1, SOF 1. */
    [120] = {"F_FR_NA_1", 6, IEC_BOTH, V_NONE, false, false, QW_OP_FILE},
    [121] = {"F_SR_NA_1", 7, IEC_BOTH, V_NONE, false, false, QW_OP_FILE},
    [122] = {"F_SC_NA_1", 4, IEC_CTL, V_NONE, false, false, QW_OP_FILE},
    [123] = {"F_LS_NA_1", 5, IEC_BOTH, V_NONE, false, false, QW_OP_FILE},
    [124] = {"F_AF_NA_1", 4, IEC_BOTH, V_NONE, false, false, QW_OP_FILE},
    [125] = {"F_SG_NA_1", 0, IEC_BOTH, V_NONE, false, true, QW_OP_FILE},
    [126] = {"F_DR_TA_1", 13, IEC_MON, V_NONE, false, false, QW_OP_FILE},
    [127] = {"F_SC_NB_1", 16, IEC_CTL, V_NONE, false, false, QW_OP_FILE},
};

/* Causes of transmission, with the standard's own abbreviations ([101] table 14). */
static const char *const iec_cot_names[64] = {
    [0] = "not_used",   [1] = "percyc",    [2] = "back",      [3] = "spont",
    [4] = "init",       [5] = "req",       [6] = "act",       [7] = "actcon",
    [8] = "deact",      [9] = "deactcon",  [10] = "actterm",  [11] = "retrem",
    [12] = "retloc",    [13] = "file",     [20] = "inrogen",  [21] = "inro1",
    [22] = "inro2",     [23] = "inro3",    [24] = "inro4",    [25] = "inro5",
    [26] = "inro6",     [27] = "inro7",    [28] = "inro8",    [29] = "inro9",
    [30] = "inro10",    [31] = "inro11",   [32] = "inro12",   [33] = "inro13",
    [34] = "inro14",    [35] = "inro15",   [36] = "inro16",   [37] = "reqcogen",
    [38] = "reqco1",    [39] = "reqco2",   [40] = "reqco3",   [41] = "reqco4",
    [44] = "unknown_type_id",          [45] = "unknown_cause",
    [46] = "unknown_common_address",   [47] = "unknown_ioa",
};

static const char *iec_cot_name(uint8_t cot)
{
    if (cot >= 48) return "private"; /* 48-63: special use ([101] table 14) */
    const char *n = iec_cot_names[cot];
    return n ? n : "reserved";
}

/* U-format functions: the bit of control octet 1 ([104] s.5.3). */
struct iec_ufn {
    uint8_t bit;
    uint32_t fn;
    const char *name;
    bool act;
};

static const struct iec_ufn iec_ufns[6] = {
    {0x04, IEC_FN_STARTDT, "STARTDT_act", true}, {0x08, IEC_FN_STARTDT, "STARTDT_con", false},
    {0x10, IEC_FN_STOPDT, "STOPDT_act", true},   {0x20, IEC_FN_STOPDT, "STOPDT_con", false},
    {0x40, IEC_FN_TESTFR, "TESTFR_act", true},   {0x80, IEC_FN_TESTFR, "TESTFR_con", false},
};

static const struct iec_ufn *iec_ufn_of(uint8_t c1)
{
    for (size_t i = 0; i < sizeof iec_ufns / sizeof iec_ufns[0]; i++)
        if ((c1 & 0xFCu) == iec_ufns[i].bit) return &iec_ufns[i];
    return NULL; /* none or several function bits */
}

static const char *iec_function_name(uint32_t fn)
{
    switch (fn) {
    case IEC_FN_S: return "S_FRAME";
    case IEC_FN_STARTDT: return "STARTDT";
    case IEC_FN_STOPDT: return "STOPDT";
    case IEC_FN_TESTFR: return "TESTFR";
    case IEC_FN_U_INVALID: return "U_INVALID";
    default: break;
    }
    const char *n = fn < 256 ? iec_types[fn].name : NULL;
    return n ? n : "unknown";
}

/* Qualifier of interrogation ([101] s.7.2.6.22): 20 station, 21-36 groups 1-16. */
static const char *const iec_qoi_names[37] = {
    [20] = "station", [21] = "group_1",  [22] = "group_2",  [23] = "group_3",
    [24] = "group_4", [25] = "group_5",  [26] = "group_6",  [27] = "group_7",
    [28] = "group_8", [29] = "group_9",  [30] = "group_10", [31] = "group_11",
    [32] = "group_12", [33] = "group_13", [34] = "group_14", [35] = "group_15",
    [36] = "group_16",
};

/* ---- Decoded APDU -------------------------------------------------------------------------- */

enum iec_field {
    F_COMMAND = 1u << 0,   /* command_state, qualifier, select */
    F_SETPOINT = 1u << 1,  /* setpoint (+ qualifier, select) */
    F_BITSTRING = 1u << 2,
    F_TIME = 1u << 3,
    F_QOI = 1u << 4,
    F_QCC = 1u << 5,
    F_QRP = 1u << 6,
    F_FBP = 1u << 7,
    F_TSC = 1u << 8,
    F_CP16 = 1u << 9,
    F_PARAM = 1u << 10,    /* parameter value + QPM */
    F_QPA = 1u << 11,
    F_COI = 1u << 12,
    F_SETPOINT_INT = 1u << 13, /* the setpoint/parameter is an integer (scaled value) */
};

struct iec_apdu {
    char format;              /* 'I', 'S', 'U' */
    uint8_t apdu_len;         /* the length octet */
    uint16_t send_seq, recv_seq;
    const struct iec_ufn *ufn; /* U-format function, NULL when invalid */
    /* ASDU (I-format) */
    bool has_type;            /* the type id octet is present */
    bool has_header;          /* the whole 6-octet ASDU header is present */
    bool truncated;           /* objects cut short, or the header incomplete */
    bool undecoded;           /* a type we cannot walk: only the first address is listed */
    uint8_t type, nobj, cot, oa;
    bool sq, negative, test;
    uint16_t ca;
    uint8_t nioa;
    uint32_t ioa[IEC_OBJECTS_MAX];
    uint32_t fields;          /* enum iec_field */
    const char *command_state;
    uint8_t qualifier;
    bool select;
    double setpoint;
    int32_t setpoint_int;
    uint32_t bitstring;
    uint8_t qoi, qcc, qrp, qpm, qpa, coi;
    uint16_t fbp, tsc, cp16;
    uint8_t time[7];          /* CP56Time2a octets */
};

static uint32_t le24(struct qw_cursor *c)
{
    uint32_t lo = qw_cur_u8(c);
    uint32_t mid = qw_cur_u8(c);
    uint32_t hi = qw_cur_u8(c);
    return lo | mid << 8 | hi << 16;
}

static float le_float(struct qw_cursor *c)
{
    uint32_t u = qw_cur_le32(c);
    float f;
    memcpy(&f, &u, sizeof f); /* R32 is IEEE 754 single precision ([5-4] s.5.5) */
    return f;
}

/* Command qualifier octet (SCO/DCO/RCO, [101] s.7.2.6.15-17): state bits 0-1, QU bits 2-6,
 * S/E bit 7. */
static void dec_command(struct iec_apdu *p, struct qw_cursor *c)
{
    static const char *const sc[2] = {"off", "on"};
    static const char *const dc[4] = {"not_permitted", "off", "on", "not_permitted"};
    static const char *const rc[4] = {"not_permitted", "lower", "higher", "not_permitted"};
    uint8_t b = qw_cur_u8(c);
    if (c->err) return;
    const struct iec_type *t = &iec_types[p->type];
    p->command_state = t->val == V_SCO ? sc[b & 1u] : t->val == V_DCO ? dc[b & 3u] : rc[b & 3u];
    p->qualifier = (uint8_t)((b >> 2) & 0x1Fu);
    p->select = (b & 0x80u) != 0;
    p->fields |= F_COMMAND;
}

/* The element of the first information object, for the types that say what a command does. */
static void dec_element(struct iec_apdu *p, struct qw_cursor *c)
{
    const struct iec_type *t = &iec_types[p->type];
    uint8_t q;
    switch (t->val) {
    case V_SCO:
    case V_DCO:
    case V_RCO: dec_command(p, c); break;
    case V_NVA_QOS:
    case V_SVA_QOS:
    case V_FLT_QOS:
    case V_NVA_QPM:
    case V_SVA_QPM:
    case V_FLT_QPM: {
        bool qpm = t->val >= V_NVA_QPM;
        enum iec_val kind = qpm ? (enum iec_val)(t->val - V_NVA_QPM + V_NVA_QOS) : t->val;
        if (kind == V_FLT_QOS) {
            p->setpoint = le_float(c);
        } else {
            int16_t v = (int16_t)qw_cur_le16(c);
            if (kind == V_NVA_QOS) {
                p->setpoint = v / 32768.0; /* F16: -1 .. 1-2^-15 ([5-4] s.5.4.2) */
            } else {
                p->setpoint_int = v;
                p->fields |= F_SETPOINT_INT;
            }
        }
        q = qw_cur_u8(c);
        if (c->err) return;
        if (qpm) {
            p->qpm = q;
            p->fields |= F_PARAM;
        } else {
            p->qualifier = q & 0x7Fu; /* QL */
            p->select = (q & 0x80u) != 0;
            p->fields |= F_SETPOINT;
        }
        break;
    }
    case V_BSI:
        p->bitstring = qw_cur_le32(c);
        if (!c->err) p->fields |= F_BITSTRING;
        break;
    case V_QOI:
        p->qoi = qw_cur_u8(c);
        if (!c->err) p->fields |= F_QOI;
        break;
    case V_QCC:
        p->qcc = qw_cur_u8(c);
        if (!c->err) p->fields |= F_QCC;
        break;
    case V_TIME:
        if (qw_cur_bytes(c, p->time, sizeof p->time)) p->fields |= F_TIME;
        break;
    case V_FBP:
        p->fbp = qw_cur_le16(c);
        if (!c->err) p->fields |= F_FBP;
        break;
    case V_QRP:
        p->qrp = qw_cur_u8(c);
        if (!c->err) p->fields |= F_QRP;
        break;
    case V_CP16:
        p->cp16 = qw_cur_le16(c);
        if (!c->err) p->fields |= F_CP16;
        break;
    case V_TSC_TIME:
        p->tsc = qw_cur_le16(c);
        if (!c->err) p->fields |= F_TSC;
        if (qw_cur_bytes(c, p->time, sizeof p->time)) p->fields |= F_TIME;
        break;
    case V_QPA:
        p->qpa = qw_cur_u8(c);
        if (!c->err) p->fields |= F_QPA;
        break;
    case V_COI:
        p->coi = qw_cur_u8(c);
        if (!c->err) p->fields |= F_COI;
        break;
    default: break;
    }
    if (t->time56 && qw_cur_bytes(c, p->time, sizeof p->time)) p->fields |= F_TIME;
}

/* Skip one element of type `t` (the first object's element is decoded instead). */
static void skip_element(const struct iec_type *t, struct qw_cursor *c)
{
    if (!t->segment) {
        qw_cur_skip(c, t->elem);
        return;
    }
    qw_cur_skip(c, 3); /* NOF, NOS */
    uint8_t los = qw_cur_u8(c);
    qw_cur_skip(c, los);
}

static void anomaly(struct qw_pctx *ctx, const char *name, const char *detail)
{
    if (ctx) qw_emit_anomaly(ctx, name, detail);
}

/* The information objects ([101] s.7.2.2, s.7.3). */
static void dec_objects(struct iec_apdu *p, struct qw_pctx *ctx, struct qw_cursor *c)
{
    const struct iec_type *t = &iec_types[p->type];
    if (!t->name) {
        /* A reserved or private type: its element size is unknown, so only the first address
         * can be located (not an anomaly: a valid code we do not decode). */
        p->undecoded = true;
        if (p->nobj > 0 && qw_cur_left(c) >= IEC_IOA_LEN) p->ioa[p->nioa++] = le24(c);
        qw_cur_skip(c, qw_cur_left(c));
        return;
    }
    uint32_t base = 0;
    for (unsigned k = 0; k < p->nobj; k++) {
        uint32_t ioa;
        if (p->sq && k > 0) {
            ioa = (base + k) & 0xFFFFFFu;
        } else {
            ioa = le24(c);
            base = ioa;
        }
        if (c->err) break;
        if (k == 0) { /* decode the first element from a copy, then step over it */
            struct qw_cursor first = *c;
            dec_element(p, &first);
        }
        skip_element(t, c);
        if (c->err) break;
        p->ioa[p->nioa++] = ioa; /* nobj <= 127: always fits */
    }
    if (c->err) {
        p->truncated = true;
        anomaly(ctx, "iec104.truncated_asdu", t->name);
    } else if (qw_cur_left(c) > 0) {
        anomaly(ctx, "iec104.asdu_length_mismatch", t->name);
    }
}

/* Decode one whole APDU (start byte included). Anomalies go to `ctx` unless it is NULL (a
 * silent re-decode of an APDU reported when it arrived). */
static void iec_decode(struct iec_apdu *p, struct qw_pctx *ctx, const uint8_t *apdu, size_t n)
{
    /* The address list is not cleared: only its first nioa entries are ever read. */
    memset(p, 0, offsetof(struct iec_apdu, ioa));
    memset(&p->fields, 0, sizeof *p - offsetof(struct iec_apdu, fields));
    struct qw_cursor c = qw_cursor_make(apdu, n);
    qw_cur_skip(&c, 1);
    p->apdu_len = qw_cur_u8(&c);
    uint8_t c1 = qw_cur_u8(&c), c2 = qw_cur_u8(&c), c3 = qw_cur_u8(&c), c4 = qw_cur_u8(&c);
    if (c.err) return; /* framing guarantees the APCI; nothing to show otherwise */
    uint16_t recv = (uint16_t)((c3 | (unsigned)c4 << 8) >> 1);
    if ((c1 & 1u) == 0) {
        p->format = 'I';
        p->send_seq = (uint16_t)((c1 | (unsigned)c2 << 8) >> 1);
        p->recv_seq = recv;
        if (c3 & 1u) anomaly(ctx, "iec104.invalid_control", "I-format");
    } else if ((c1 & 3u) == 1) {
        p->format = 'S';
        p->recv_seq = recv;
        if (c1 != 0x01 || c2 != 0 || (c3 & 1u)) anomaly(ctx, "iec104.invalid_control", "S-format");
        if (p->apdu_len != IEC_LEN_MIN) anomaly(ctx, "iec104.invalid_apdu_length", "S-format");
        return;
    } else {
        p->format = 'U';
        p->ufn = iec_ufn_of(c1);
        if (!p->ufn || c2 || c3 || c4) anomaly(ctx, "iec104.invalid_control", "U-format");
        if (p->apdu_len != IEC_LEN_MIN) anomaly(ctx, "iec104.invalid_apdu_length", "U-format");
        return;
    }

    /* I-format: the ASDU ([104] s.9). */
    p->type = qw_cur_u8(&c);
    if (c.err) {
        p->truncated = true;
        anomaly(ctx, "iec104.short_asdu", NULL);
        return;
    }
    p->has_type = true;
    uint8_t vsq = qw_cur_u8(&c);
    uint8_t cot = qw_cur_u8(&c);
    p->oa = qw_cur_u8(&c);
    p->ca = qw_cur_le16(&c);
    if (c.err) {
        p->truncated = true;
        anomaly(ctx, "iec104.short_asdu", iec_function_name(p->type));
        return;
    }
    p->has_header = true;
    p->sq = (vsq & 0x80u) != 0;
    p->nobj = vsq & 0x7Fu;
    p->cot = cot & 0x3Fu;
    p->negative = (cot & 0x40u) != 0;
    p->test = (cot & 0x80u) != 0;
    if (p->cot == 0) anomaly(ctx, "iec104.invalid_cot", iec_function_name(p->type));
    dec_objects(p, ctx, &c);
}

/* A single-precision value as JSON with 7 significant digits (what an IEEE single holds);
 * qw_json_double's 6 would turn 11049.25 into 11049.2. Not-a-number and infinities are null. */
static void json_float(struct qw_json *j, const char *key, double v)
{
    if (!isfinite(v)) {
        qw_json_null(j, key);
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.7g", v);
    qw_json_raw(j, key, buf, (size_t)n);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

struct iec_view {
    const struct iec_apdu *req, *rsp, *term;
    uint64_t rsp_ns, term_ns, req_ns;
};

/* CP56Time2a ([101] s.7.2.6.18): ms 0-59999 (LE16), IV|minute, SU|hour, DOW|day, month,
 * year 0-99 (taken as 20YY). Fields out of their ranges (some stations send years since 1900)
 * make no date: the octets are shown as hex instead. */
static void json_time(struct qw_json *j, const uint8_t t[7])
{
    unsigned ms = t[0] | (unsigned)t[1] << 8;
    unsigned min = t[2] & 0x3Fu, hour = t[3] & 0x1Fu, day = t[4] & 0x1Fu, month = t[5] & 0x0Fu;
    unsigned year = t[6] & 0x7Fu;
    if (ms > 59999u || min > 59u || hour > 23u || day == 0 || month == 0 || month > 12u ||
        year > 99u) {
        qw_json_hex(j, "time_raw", t, 7);
    } else {
        char buf[40];
        snprintf(buf, sizeof buf, "20%02u-%02u-%02uT%02u:%02u:%02u.%03u", year, month, day,
                 hour, min, ms / 1000u, ms % 1000u);
        qw_json_str(j, "time", buf);
    }
    if (t[2] & 0x80u) qw_json_bool(j, "time_invalid", true);
    if (t[3] & 0x80u) qw_json_bool(j, "time_summer", true);
}

static void json_asdu(struct qw_json *j, const struct iec_apdu *p)
{
    uint32_t f = p->fields;
    qw_json_bool(j, "sq", p->sq);
    qw_json_u64(j, "num_objects", p->nobj);
    qw_json_u64(j, "cot", p->cot);
    qw_json_str(j, "cot_name", iec_cot_name(p->cot));
    qw_json_bool(j, "negative", p->negative);
    qw_json_bool(j, "test", p->test);
    qw_json_u64(j, "originator", p->oa);
    qw_json_u64(j, "common_address", p->ca);
    qw_json_arr_begin(j, "ioa");
    for (unsigned i = 0; i < p->nioa; i++) qw_json_u64(j, NULL, p->ioa[i]);
    qw_json_arr_end(j);
    if (f & F_COMMAND) {
        qw_json_str(j, "command", p->command_state);
        qw_json_u64(j, "qualifier", p->qualifier);
        qw_json_bool(j, "select", p->select);
    }
    if (f & F_SETPOINT) {
        if (f & F_SETPOINT_INT) qw_json_i64(j, "setpoint", p->setpoint_int);
        else json_float(j, "setpoint", p->setpoint);
        qw_json_u64(j, "qualifier", p->qualifier);
        qw_json_bool(j, "select", p->select);
    }
    if (f & F_PARAM) {
        if (f & F_SETPOINT_INT) qw_json_i64(j, "parameter", p->setpoint_int);
        else json_float(j, "parameter", p->setpoint);
        qw_json_u64(j, "kpa", p->qpm & 0x3Fu); /* kind of parameter ([101] s.7.2.6.24) */
        qw_json_bool(j, "lpc", (p->qpm & 0x40u) != 0);
        qw_json_bool(j, "pop", (p->qpm & 0x80u) != 0);
    }
    if (f & F_BITSTRING) qw_json_u64(j, "bitstring", p->bitstring);
    if (f & F_QOI) {
        qw_json_u64(j, "qoi", p->qoi);
        const char *n = p->qoi < 37 ? iec_qoi_names[p->qoi] : NULL;
        qw_json_str(j, "qoi_name", n ? n : p->qoi == 0 ? "not_used" : "reserved");
    }
    if (f & F_QCC) {
        qw_json_u64(j, "rqt", p->qcc & 0x3Fu);     /* 1-4 groups, 5 general ([101] 7.2.6.23) */
        qw_json_u64(j, "frz", p->qcc >> 6);        /* 0 read, 1 freeze, 2 freeze+reset, 3 reset */
    }
    if (f & F_QRP) {
        qw_json_u64(j, "qrp", p->qrp);
        qw_json_str(j, "qrp_name", p->qrp == 1   ? "general_reset"
                                   : p->qrp == 2 ? "reset_pending_time_tagged_events"
                                                 : "reserved");
    }
    if (f & F_FBP) qw_json_u64(j, "fbp", p->fbp);
    if (f & F_TSC) qw_json_u64(j, "tsc", p->tsc);
    if (f & F_CP16) qw_json_u64(j, "delay_ms", p->cp16);
    if (f & F_QPA) qw_json_u64(j, "qpa", p->qpa);
    if (f & F_COI) {
        uint8_t cause = p->coi & 0x7Fu;
        qw_json_u64(j, "coi", cause);
        qw_json_str(j, "coi_name", cause == 0   ? "local_power_on"
                                   : cause == 1 ? "local_manual_reset"
                                   : cause == 2 ? "remote_reset"
                                                : "reserved");
        qw_json_bool(j, "after_parameter_change", (p->coi & 0x80u) != 0);
    }
    if (f & F_TIME) json_time(j, p->time);
    if (p->undecoded) qw_json_bool(j, "objects_undecoded", true);
}

static void json_apdu(struct qw_json *j, const char *key, const struct iec_apdu *p)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "apdu_length", p->apdu_len);
    char fmt[2] = {p->format, '\0'};
    qw_json_str(j, "format", fmt);
    if (p->format == 'I') qw_json_u64(j, "send_seq", p->send_seq);
    if (p->format != 'U') qw_json_u64(j, "recv_seq", p->recv_seq);
    if (p->format == 'U') {
        uint32_t fn = p->ufn ? p->ufn->fn : IEC_FN_U_INVALID;
        qw_json_u64(j, "function", fn);
        qw_json_str(j, "function_name", iec_function_name(fn));
        qw_json_str(j, "u_function", p->ufn ? p->ufn->name : "invalid");
    } else if (p->format == 'S') {
        qw_json_u64(j, "function", IEC_FN_S);
        qw_json_str(j, "function_name", iec_function_name(IEC_FN_S));
    } else if (p->has_type) {
        qw_json_u64(j, "function", p->type);
        qw_json_str(j, "function_name", iec_function_name(p->type));
        if (p->has_header) json_asdu(j, p);
    }
    if (p->truncated) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

static void iec_write_json(struct qw_json *j, const void *arg)
{
    const struct iec_view *v = arg;
    if (v->req) json_apdu(j, "request", v->req);
    if (v->rsp) json_apdu(j, "response", v->rsp);
    if (v->term) {
        json_apdu(j, "termination", v->term);
        uint64_t from = v->req ? v->req_ns : 0;
        if (from && v->term_ns >= from)
            qw_json_u64(j, "termination_latency_us", (v->term_ns - from) / 1000u);
    }
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

enum iec_kind { K_ACT = 1, K_DEACT, K_READ, K_U };
enum iec_wait { W_CON = 1, W_TERM };

struct iec_slot {
    bool used;
    uint8_t kind;      /* enum iec_kind */
    uint8_t wait;      /* enum iec_wait */
    uint8_t dir;       /* direction the request came from */
    uint8_t type;      /* type id, or the U function index */
    uint16_t ca;
    uint32_t ioa;
    uint32_t seq;      /* arrival order */
    uint64_t req_ns, con_ns, last_ns;
    uint8_t req_len, con_len;
    uint8_t req[IEC_APDU_MAX];
    uint8_t con[IEC_APDU_MAX];
};

struct iec_state {
    bool resync[2];            /* per direction: looking for the next plausible APDU */
    bool seq_known[2];         /* per direction: an I-format N(S) was seen */
    bool queue_full_reported;
    uint16_t next_send[2];     /* expected N(S) of the next I-format APDU per direction */
    uint32_t next_seq;
    struct iec_slot queue[IEC_QUEUE_MAX];
    struct iec_apdu cur;       /* the APDU being parsed */
    struct iec_apdu dec[3];    /* scratch records of the transaction being emitted */
    struct iec_view view;
};

/* The summary of one transaction: function, ops and error from the request (the response when
 * alone). */
static void iec_emit(struct qw_pctx *ctx, struct iec_state *st, const struct iec_apdu *req,
                     uint64_t req_ns, const struct iec_apdu *rsp, uint64_t rsp_ns,
                     const struct iec_apdu *term, uint64_t term_ns)
{
    const struct iec_apdu *key = req ? req : rsp ? rsp : term;
    if (!key) return;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL || term != NULL;
    if (key->format == 'S') {
        t.function = IEC_FN_S;
    } else if (key->format == 'U') {
        t.function = key->ufn ? key->ufn->fn : IEC_FN_U_INVALID;
        t.ops = QW_OP_SESSION; /* STARTDT/STOPDT/TESTFR manage the link ([104] s.5.3) */
    } else {
        t.function = key->type;
        if (key->has_type) t.ops = iec_types[key->type].ops;
    }
    t.function_name = iec_function_name(t.function);
    const struct iec_apdu *ans[2] = {rsp, term};
    for (int i = 0; i < 2; i++)
        if (ans[i] && ans[i]->has_header &&
            (ans[i]->negative || (ans[i]->cot >= IEC_COT_UNKNOWN_TYPE &&
                                  ans[i]->cot <= IEC_COT_UNKNOWN_IOA)))
            t.error = true;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : term ? term_ns : 0;
    st->view.req = req;
    st->view.rsp = rsp;
    st->view.term = term;
    st->view.req_ns = req_ns;
    st->view.rsp_ns = rsp_ns;
    st->view.term_ns = term_ns;
    t.write_json = iec_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    memset(&st->view, 0, sizeof st->view);
}

/* Emit a slot with what it holds (the request, and the confirmation if one came). */
static void iec_flush_slot(struct qw_pctx *ctx, struct iec_state *st, struct iec_slot *s)
{
    iec_decode(&st->dec[0], NULL, s->req, s->req_len);
    const struct iec_apdu *con = NULL;
    if (s->con_len) {
        iec_decode(&st->dec[1], NULL, s->con, s->con_len);
        con = &st->dec[1];
    }
    s->used = false;
    iec_emit(ctx, st, &st->dec[0], s->req_ns, con, s->con_ns, NULL, 0);
}

static struct iec_slot *iec_oldest(struct iec_state *st)
{
    struct iec_slot *best = NULL;
    for (size_t i = 0; i < IEC_QUEUE_MAX; i++) {
        struct iec_slot *s = &st->queue[i];
        if (s->used && (!best || (int32_t)(s->seq - best->seq) < 0)) best = s;
    }
    return best;
}

/* Report outstanding requests whose answer is overdue (packet time), oldest first. */
static void iec_expire(struct qw_pctx *ctx, struct iec_state *st)
{
    uint64_t now = qw_pctx_time(ctx);
    for (;;) {
        struct iec_slot *best = NULL;
        for (size_t i = 0; i < IEC_QUEUE_MAX; i++) {
            struct iec_slot *s = &st->queue[i];
            if (!s->used || now < s->last_ns || now - s->last_ns <= IEC_PENDING_TIMEOUT_NS)
                continue;
            if (!best || (int32_t)(s->seq - best->seq) < 0) best = s;
        }
        if (!best) return;
        iec_flush_slot(ctx, st, best);
    }
}

/* A request of `kind` for (type, ca, ioa) from direction `dir`. */
static void iec_on_request(struct qw_pctx *ctx, struct iec_state *st, uint8_t kind, uint8_t dir,
                           uint8_t type, uint16_t ca, uint32_t ioa, const uint8_t *apdu,
                           size_t n)
{
    /* A new request for the same object (a repeat, an execute after its select, a
     * deactivation): the earlier one is finished with what it has. U-format acts keep their
     * function index in `type`, so they only meet each other. */
    for (size_t i = 0; i < IEC_QUEUE_MAX; i++) {
        struct iec_slot *s = &st->queue[i];
        if (s->used && s->dir == dir && s->type == type && s->ca == ca && s->ioa == ioa &&
            (s->kind == K_U) == (kind == K_U))
            iec_flush_slot(ctx, st, s);
    }
    struct iec_slot *s = NULL;
    for (size_t i = 0; i < IEC_QUEUE_MAX && !s; i++)
        if (!st->queue[i].used) s = &st->queue[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "iec104.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = iec_oldest(st);
        iec_flush_slot(ctx, st, s);
    }
    memset(s, 0, offsetof(struct iec_slot, req));
    s->used = true;
    s->kind = kind;
    s->wait = W_CON;
    s->dir = dir;
    s->type = type;
    s->ca = ca;
    s->ioa = ioa;
    s->seq = st->next_seq++;
    s->req_ns = s->last_ns = qw_pctx_time(ctx);
    s->req_len = (uint8_t)n; /* n <= 255 by framing */
    memcpy(s->req, apdu, n);
}

/* Does this command expect an activation termination after its confirmation? Interrogations
 * always do; commands when executed (S/E = 0) ([101] s.7.4.1, s.7.4.5). */
static bool iec_term_expected(const struct iec_apdu *req)
{
    if (req->type == 100 || req->type == 101) return true;
    if ((iec_types[req->type].ops & QW_OP_CONTROL) == 0) return false;
    if (req->fields & (F_COMMAND | F_SETPOINT)) return !req->select;
    return (req->fields & F_BITSTRING) != 0; /* bitstrings have no select */
}

/* A confirmation, termination or error answer. Returns true when it joined a request. */
static bool iec_on_answer(struct qw_pctx *ctx, struct iec_state *st, uint8_t dir,
                          const struct iec_apdu *p, const uint8_t *apdu, size_t n)
{
    uint32_t ioa0 = p->nioa ? p->ioa[0] : 0;
    bool term = p->cot == IEC_COT_ACTTERM;
    bool read_data = p->cot == IEC_COT_REQ;
    struct iec_slot *s = NULL;
    for (size_t i = 0; i < IEC_QUEUE_MAX; i++) {
        struct iec_slot *q = &st->queue[i];
        if (!q->used || q->dir == dir || q->kind == K_U || q->ca != p->ca || q->ioa != ioa0)
            continue;
        bool ok;
        if (read_data) ok = q->kind == K_READ && q->wait == W_CON; /* any monitor type */
        else if (q->type != p->type) ok = false;
        else if (term) ok = q->kind == K_ACT;
        else if (p->cot == IEC_COT_DEACTCON) ok = q->kind == K_DEACT && q->wait == W_CON;
        else if (p->cot == IEC_COT_ACTCON) ok = q->kind != K_DEACT && q->wait == W_CON;
        else ok = q->wait == W_CON; /* 44-47: an error answer to whatever was asked */
        if (ok && (!s || (int32_t)(q->seq - s->seq) < 0)) s = q;
    }
    if (!s) return false;
    uint64_t now = qw_pctx_time(ctx);
    iec_decode(&st->dec[0], NULL, s->req, s->req_len);
    const struct iec_apdu *req = &st->dec[0];
    if (term) {
        const struct iec_apdu *con = NULL;
        if (s->con_len) {
            iec_decode(&st->dec[1], NULL, s->con, s->con_len);
            con = &st->dec[1];
        }
        s->used = false;
        iec_emit(ctx, st, req, s->req_ns, con, s->con_ns, p, now);
        return true;
    }
    if (p->cot == IEC_COT_ACTCON && !p->negative && s->kind == K_ACT && iec_term_expected(req)) {
        s->wait = W_TERM; /* keep it for the termination */
        s->con_ns = s->last_ns = now;
        s->con_len = (uint8_t)n;
        memcpy(s->con, apdu, n);
        return true;
    }
    s->used = false;
    iec_emit(ctx, st, req, s->req_ns, p, now, NULL, 0);
    return true;
}

static void iec_on_u(struct qw_pctx *ctx, struct iec_state *st, uint8_t dir,
                     const struct iec_apdu *p, const uint8_t *apdu, size_t n)
{
    uint64_t now = qw_pctx_time(ctx);
    if (p->ufn && p->ufn->act) {
        iec_on_request(ctx, st, K_U, dir, (uint8_t)p->ufn->fn, 0, 0, apdu, n);
        return;
    }
    if (p->ufn) { /* a con: the act of the same function from the other side */
        struct iec_slot *s = NULL;
        for (size_t i = 0; i < IEC_QUEUE_MAX; i++) {
            struct iec_slot *q = &st->queue[i];
            if (q->used && q->kind == K_U && q->dir != dir && q->type == (uint8_t)p->ufn->fn &&
                (!s || (int32_t)(q->seq - s->seq) < 0))
                s = q;
        }
        if (s) {
            iec_decode(&st->dec[0], NULL, s->req, s->req_len);
            s->used = false;
            iec_emit(ctx, st, &st->dec[0], s->req_ns, p, now, NULL, 0);
            return;
        }
        iec_emit(ctx, st, NULL, 0, p, now, NULL, 0);
        return;
    }
    /* An invalid function: reported alone, by direction. */
    if (dir == QW_DIR_TO_SERVER) iec_emit(ctx, st, p, now, NULL, 0, NULL, 0);
    else iec_emit(ctx, st, NULL, 0, p, now, NULL, 0);
}

/* N(S) continuity per direction ([104] s.5.1): every I-format APDU increments it by one. */
static void iec_check_send_seq(struct qw_pctx *ctx, struct iec_state *st, unsigned d,
                               uint16_t ns)
{
    if (st->seq_known[d] && ns != st->next_send[d])
        qw_emit_anomaly(ctx, "iec104.unexpected_send_seq", NULL);
    st->seq_known[d] = true;
    st->next_send[d] = (uint16_t)((ns + 1u) % IEC_SEQ_MOD);
}

static void iec_on_apdu(struct qw_pctx *ctx, struct iec_state *st, enum qw_dir dir,
                        const uint8_t *apdu, size_t n)
{
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    struct iec_apdu *p = &st->cur;
    iec_decode(p, ctx, apdu, n); /* anomalies once, here; emission decodes again silently */
    uint64_t now = qw_pctx_time(ctx);
    if (p->format == 'U') {
        iec_on_u(ctx, st, (uint8_t)d, p, apdu, n);
        return;
    }
    if (p->format == 'S') {
        if (d == 0) iec_emit(ctx, st, p, now, NULL, 0, NULL, 0);
        else iec_emit(ctx, st, NULL, 0, p, now, NULL, 0);
        return;
    }
    iec_check_send_seq(ctx, st, d, p->send_seq);
    if (!p->has_header) { /* nothing to pair on: reported alone */
        if (d == 0) iec_emit(ctx, st, p, now, NULL, 0, NULL, 0);
        else iec_emit(ctx, st, NULL, 0, p, now, NULL, 0);
        return;
    }
    const struct iec_type *t = &iec_types[p->type];
    uint32_t ioa0 = p->nioa ? p->ioa[0] : 0;
    bool ctl = t->name && t->cls == IEC_CTL;
    uint8_t cot = p->cot;
    if (cot == IEC_COT_ACT || cot == IEC_COT_DEACT || (cot == IEC_COT_REQ && ctl)) {
        uint8_t kind = cot == IEC_COT_ACT ? K_ACT : cot == IEC_COT_DEACT ? K_DEACT : K_READ;
        iec_on_request(ctx, st, kind, (uint8_t)d, p->type, p->ca, ioa0, apdu, n);
        return;
    }
    bool answer = cot == IEC_COT_ACTCON || cot == IEC_COT_DEACTCON || cot == IEC_COT_ACTTERM ||
                  (cot >= IEC_COT_UNKNOWN_TYPE && cot <= IEC_COT_UNKNOWN_IOA) ||
                  cot == IEC_COT_REQ;
    if (answer && iec_on_answer(ctx, st, (uint8_t)d, p, apdu, n)) return;
    /* Alone: monitor data, an answer without its request, spontaneous file transfer... The
     * station that sends the type decides the side; for types both send, the direction. */
    bool as_request = t->name ? (t->cls == IEC_CTL || (t->cls == IEC_BOTH && d == 0)) : d == 0;
    if (answer) as_request = false;
    if (as_request) iec_emit(ctx, st, p, now, NULL, 0, NULL, 0);
    else iec_emit(ctx, st, NULL, 0, p, now, NULL, 0);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* A control field that is well formed for its format, with a length that fits it. */
static bool iec_control_ok(uint8_t len, uint8_t c1, uint8_t c2, uint8_t c3, uint8_t c4)
{
    if ((c1 & 1u) == 0) return (c3 & 1u) == 0 && len >= IEC_LEN_MIN + IEC_ASDU_HDR;
    if ((c1 & 3u) == 1) return c1 == 0x01 && c2 == 0 && (c3 & 1u) == 0 && len == IEC_LEN_MIN;
    return iec_ufn_of(c1) != NULL && c2 == 0 && c3 == 0 && c4 == 0 && len == IEC_LEN_MIN;
}

enum iec_check { IEC_NO, IEC_MORE, IEC_YES };

/* Is there a plausible APDU header at `b`? For an I-format APDU the type id must be one the
 * standard defines and the cause of transmission not 0. */
static enum iec_check iec_plausible(const uint8_t *b, size_t n)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    uint8_t start = qw_cur_u8(&c);
    if (c.err) return IEC_MORE;
    if (start != IEC_START) return IEC_NO;
    uint8_t len = qw_cur_u8(&c);
    if (c.err) return IEC_MORE;
    if (len < IEC_LEN_MIN || len > IEC_LEN_MAX) return IEC_NO;
    uint8_t c1 = qw_cur_u8(&c);
    if (c.err) return IEC_MORE;
    /* The first control octet already fixes the format: refuse early what cannot be one. */
    if ((c1 & 1u) && len != IEC_LEN_MIN) return IEC_NO;
    if ((c1 & 3u) == 1 && c1 != 0x01) return IEC_NO;
    if ((c1 & 3u) == 3 && !iec_ufn_of(c1)) return IEC_NO;
    if ((c1 & 1u) == 0 && len < IEC_LEN_MIN + IEC_ASDU_HDR) return IEC_NO;
    uint8_t c2 = qw_cur_u8(&c), c3 = qw_cur_u8(&c), c4 = qw_cur_u8(&c);
    if (c.err) return IEC_MORE;
    if (!iec_control_ok(len, c1, c2, c3, c4)) return IEC_NO;
    if (c1 & 1u) return IEC_YES;
    uint8_t type = qw_cur_u8(&c); /* decide on the type before waiting for the cause */
    if (c.err) return IEC_MORE;
    if (!iec_types[type].name) return IEC_NO;
    qw_cur_skip(&c, 1);
    uint8_t cot = qw_cur_u8(&c);
    if (c.err) return IEC_MORE;
    return (cot & 0x3Fu) == 0 ? IEC_NO : IEC_YES;
}

/* What follows an APDU ending at `end`: the end of the data, or another start byte. */
static bool iec_chain_ok(const uint8_t *b, size_t n, size_t end)
{
    return end >= n || b[end] == IEC_START;
}

enum iec_sync { IEC_SYNC_FOUND, IEC_SYNC_WAIT };

/* Search forward for the next APDU boundary: a plausible header whose whole APDU is followed by
 * the end of the data or another start byte. */
static enum iec_sync iec_resync(const uint8_t *b, size_t n, size_t *skip)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (b[i] != IEC_START) continue;
        enum iec_check r = iec_plausible(b + i, n - i);
        if (r == IEC_MORE) break; /* keep from here and look again with more data */
        if (r == IEC_NO) continue;
        size_t end = i + 2 + b[i + 1];
        if (end > n) break;
        if (iec_chain_ok(b, n, end)) {
            *skip = i;
            return IEC_SYNC_FOUND;
        }
    }
    *skip = i;
    return IEC_SYNC_WAIT;
}

static enum qw_probe_result iec_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir; /* TESTFR and monitor data flow both ways */
    enum iec_check r = iec_plausible(data, len);
    if (r == IEC_NO) return QW_PROBE_NO;
    if (r == IEC_MORE) return QW_PROBE_NEED_MORE;
    size_t end = 2 + (size_t)data[1];
    if (end < len && !iec_chain_ok(data, len, end)) return QW_PROBE_NO;
    /* Within a complete first APDU, a second one must be plausible too. */
    if (end < len && iec_plausible(data + end, len - end) == IEC_NO) return QW_PROBE_NO;
    return QW_PROBE_MATCH;
}

static size_t iec_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct iec_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    iec_expire(ctx, st);
    size_t off = 0;
    while (off < len) {
        if (st->resync[d]) {
            size_t skip = 0;
            enum iec_sync r = iec_resync(data + off, len - off, &skip);
            off += skip;
            if (r == IEC_SYNC_WAIT) return off;
            st->resync[d] = false;
        }
        if (data[off] != IEC_START) {
            qw_emit_anomaly(ctx, "iec104.invalid_start", NULL);
            st->resync[d] = true;
            continue;
        }
        if (len - off < 2) return off;
        uint8_t alen = data[off + 1];
        if (alen < IEC_LEN_MIN || alen > IEC_LEN_MAX) {
            qw_emit_anomaly(ctx, "iec104.invalid_length", NULL);
            st->resync[d] = true;
            off += 1;
            continue;
        }
        size_t n = 2 + (size_t)alen;
        if (len - off < n) return off; /* partial APDU: the engine keeps it */
        iec_on_apdu(ctx, st, dir, data + off, n);
        off += n;
    }
    return off;
}

static void iec_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct iec_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    st->resync[d] = true;
    st->seq_known[d] = false; /* APDUs were lost: N(S) restarts from the next one seen */
}

static void iec_flow_end(struct qw_pctx *ctx, void *state)
{
    struct iec_state *st = state;
    struct iec_slot *s;
    while ((s = iec_oldest(st)) != NULL) iec_flush_slot(ctx, st, s);
}

const struct qw_proto qw_proto_iec104 = {
    .name = "iec104",
    .transports = QW_TRANSPORT_TCP,
    .ports = {IEC_PORT, 0},
    .probe = iec_probe,
    .state_size = sizeof(struct iec_state),
    .parse = iec_parse,
    .gap = iec_gap,
    .flow_end = iec_flow_end,
};
