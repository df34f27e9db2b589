/* The fixed vocabularies of the site file (docs/site-file.md lists them all): terminal
 * functions, operation classes, change kinds, days, criticality, and the protocol names an
 * allow entry may use. One table each. */
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "site/internal.h"

/* What a zone or an asset does at a port or terminal. */
const char *const qw_site_function_names[] = {
    "corporate",            /* office IT */
    "tos",                  /* terminal operating system servers */
    "scada",                /* supervisory control, HMI servers */
    "historian",            /* process data historians */
    "engineering",          /* engineering workstations, PLC programming */
    "terminal_automation",  /* mixed automation of the quay and yard */
    "crane_plcs",           /* ship-to-shore, yard and rail-mounted crane controllers */
    "straddle_carriers",    /* straddle-carrier and shuttle-carrier controllers */
    "agv",                  /* automated guided vehicles and their fleet control */
    "gate_automation",      /* gate OCR, truck appointment, lanes */
    "reefer_monitoring",    /* refrigerated container monitoring */
    "tank_farm",            /* tank-farm PLCs and control */
    "tank_gauges",          /* tank level and temperature gauging */
    "loading_arms",         /* marine loading arms, truck and rail loading */
    "pipeline",             /* transfer pipelines, pumps, valves */
    "esd",                  /* emergency shutdown and safety instrumented systems */
    "fire_and_gas",         /* fire and gas detection */
    "power_distribution",   /* substations, switchgear, shore power */
    "building_management",  /* HVAC, lighting, building automation */
    "access_control",       /* badge readers, barriers, turnstiles */
    "cctv",                 /* cameras and video recorders */
    "vessel_traffic",       /* VTS, AIS, radar */
    "network_infrastructure", /* routers, switches, firewalls, wireless controllers */
    "remote_access_dmz",    /* VPN gateways, jump hosts */
    "ot_dmz",               /* the demilitarised zone between IT and OT */
    "wireless",             /* wireless access networks of mobile equipment */
    "iot",                  /* sensors and other connected devices */
};
const size_t qw_site_function_count =
    sizeof qw_site_function_names / sizeof qw_site_function_names[0];

const char *const qw_site_opclass_names[QW_OPC_COUNT] = {
    "read", "write", "program", "control", "config", "diagnostic",
};

/* enum qw_op bit -> class. Session and authentication steps (QW_OP_SESSION, QW_OP_AUTH) are
 * part of any conversation and belong to no class. */
static const uint32_t op_class[15] = {
    [0] = QW_OPC_READ,        /* QW_OP_READ */
    [1] = QW_OPC_WRITE,       /* QW_OP_WRITE */
    [2] = QW_OPC_PROGRAM,     /* QW_OP_PROGRAM */
    [3] = QW_OPC_CONTROL,     /* QW_OP_STOP */
    [4] = QW_OPC_CONTROL,     /* QW_OP_START */
    [5] = QW_OPC_CONTROL,     /* QW_OP_RESTART */
    [6] = QW_OPC_PROGRAM,     /* QW_OP_FIRMWARE */
    [7] = QW_OPC_CONFIG,      /* QW_OP_CONFIG */
    [8] = QW_OPC_DIAGNOSTIC,  /* QW_OP_DIAGNOSTIC */
    [9] = QW_OPC_DIAGNOSTIC,  /* QW_OP_IDENTIFY */
    [10] = QW_OPC_CONFIG,     /* QW_OP_TIMESYNC */
    [11] = QW_OPC_PROGRAM,    /* QW_OP_FILE */
    [12] = 0,                 /* QW_OP_AUTH */
    [13] = 0,                 /* QW_OP_SESSION */
    [14] = QW_OPC_CONTROL,    /* QW_OP_CONTROL */
};
_Static_assert(QW_OP_CONTROL == 1u << 14, "op_class[] follows enum qw_op");

uint32_t qw_site_opclasses_of(uint32_t ops)
{
    uint32_t c = 0;
    for (unsigned b = 0; b < 15; b++)
        if (ops & (1u << b)) c |= op_class[b];
    return c;
}

const char *const qw_site_change_kind_names[QW_CHG_COUNT] = {
    "asset.new",          "asset.gone",          "asset.mac_changed",
    "asset.vendor_changed", "asset.identity_changed", "asset.role_changed",
    "comm.new_edge",      "comm.new_protocol",   "comm.new_operation",
};

const char *const qw_site_criticality_names[5] = {NULL, "low", "medium", "high", "critical"};

const char *const qw_site_day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int qw_vocab_find(const char *word, const char *const *names, size_t n, struct qw_suggest *sg)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(word, names[i]) == 0) return (int)i;
    if (sg) {
        qw_suggest_init(sg, word);
        for (size_t i = 0; i < n; i++) qw_suggest_try(sg, names[i]);
    }
    return -1;
}

/* ---- protocols ---------------------------------------------------------------------------- */

struct proto_name {
    const char *name;
    unsigned transports; /* QW_PT_* */
    bool industrial;     /* has operation classes: `operations` applies to it */
};

/* Application protocols an allow entry may name, whether or not quaywatch parses them yet; every
 * registered parser (proto/registry.c) is accepted as well. */
static const struct proto_name protos[] = {
    /* industrial */
    {"modbus", QW_PT_TCP | QW_PT_UDP, true},
    {"dnp3", QW_PT_TCP | QW_PT_UDP, true},
    {"s7comm", QW_PT_TCP, true},
    {"s7comm_plus", QW_PT_TCP, true},
    {"enip", QW_PT_TCP | QW_PT_UDP, true},
    {"iec104", QW_PT_TCP, true},
    {"mms", QW_PT_TCP, true},
    {"bacnet", QW_PT_UDP, true},
    {"opcua", QW_PT_TCP, true},
    {"profinet", QW_PT_UDP, true},
    {"fins", QW_PT_TCP | QW_PT_UDP, true},
    {"melsec", QW_PT_TCP | QW_PT_UDP, true},
    {"srtp", QW_PT_TCP, true},
    {"hartip", QW_PT_TCP | QW_PT_UDP, true},
    {"codesys", QW_PT_TCP | QW_PT_UDP, true},
    {"mqtt", QW_PT_TCP, true},
    /* IT and infrastructure */
    {"http", QW_PT_TCP, false},
    {"tls", QW_PT_TCP, false},
    {"dns", QW_PT_TCP | QW_PT_UDP, false},
    {"mdns", QW_PT_UDP, false},
    {"dhcp", QW_PT_UDP, false},
    {"dhcpv6", QW_PT_UDP, false},
    {"llmnr", QW_PT_UDP, false},
    {"nbns", QW_PT_UDP, false},
    {"arp", 0, false},  /* link layer: named so that detections know them for IT */
    {"lldp", 0, false},
    {"cdp", 0, false},
    {"ntp", QW_PT_UDP, false},
    {"ssh", QW_PT_TCP, false},
    {"telnet", QW_PT_TCP, false},
    {"rdp", QW_PT_TCP | QW_PT_UDP, false},
    {"vnc", QW_PT_TCP, false},
    {"smb", QW_PT_TCP, false},
    {"netbios", QW_PT_TCP | QW_PT_UDP, false},
    {"ldap", QW_PT_TCP | QW_PT_UDP, false},
    {"kerberos", QW_PT_TCP | QW_PT_UDP, false},
    {"radius", QW_PT_UDP, false},
    {"snmp", QW_PT_UDP, false},
    {"syslog", QW_PT_TCP | QW_PT_UDP, false},
    {"ftp", QW_PT_TCP, false},
    {"tftp", QW_PT_UDP, false},
    {"smtp", QW_PT_TCP, false},
    {"rtsp", QW_PT_TCP, false},
    {"rtp", QW_PT_UDP, false},
    {"sip", QW_PT_TCP | QW_PT_UDP, false},
    {"ike", QW_PT_UDP, false},
    {"openvpn", QW_PT_TCP | QW_PT_UDP, false},
};
#define NPROTOS (sizeof protos / sizeof protos[0])


/* Index space: 0..NPROTOS-1 the table above, then NPROTOS + registry index for parsers whose
 * name the table lacks. */
int qw_site_proto_find(const char *name)
{
    for (size_t i = 0; i < NPROTOS; i++)
        if (strcmp(protos[i].name, name) == 0) return (int)i;
    for (size_t i = 0; i < qw_protocol_count; i++)
        if (strcmp(qw_protocols[i]->name, name) == 0) return (int)(NPROTOS + i);
    return -1;
}

const char *qw_site_proto_name(int i)
{
    if (i < 0) return NULL;
    if ((size_t)i < NPROTOS) return protos[i].name;
    if ((size_t)i - NPROTOS < qw_protocol_count) return qw_protocols[(size_t)i - NPROTOS]->name;
    return NULL;
}

unsigned qw_site_proto_transports(int i)
{
    if (i < 0) return 0;
    if ((size_t)i < NPROTOS) return protos[i].transports;
    if ((size_t)i - NPROTOS >= qw_protocol_count) return 0;
    unsigned t = qw_protocols[(size_t)i - NPROTOS]->transports;
    return (t & QW_TRANSPORT_TCP ? QW_PT_TCP : 0) | (t & QW_TRANSPORT_UDP ? QW_PT_UDP : 0);
}

bool qw_site_proto_industrial(int i)
{
    if (i < 0) return false;
    if ((size_t)i < NPROTOS) return protos[i].industrial;
    return (size_t)i - NPROTOS < qw_protocol_count; /* parsers are for industrial protocols */
}

void qw_site_proto_suggest(struct qw_suggest *sg)
{
    static const char *const transports[] = {"tcp", "udp", "icmp", "ip", "any"};
    for (size_t i = 0; i < 5; i++) qw_suggest_try(sg, transports[i]);
    for (size_t i = 0; i < NPROTOS; i++) qw_suggest_try(sg, protos[i].name);
    for (size_t i = 0; i < qw_protocol_count; i++) qw_suggest_try(sg, qw_protocols[i]->name);
}
