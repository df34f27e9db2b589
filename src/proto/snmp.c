/* SNMP v1, v2c (and v3 recognition) parser, UDP 161 (agents) and 162 (trap receivers).
 *
 * Specifications:
 *   [1157] RFC 1157 SNMPv1: s.4 message (version 0, community, PDU), s.4.1.6 Trap-PDU.
 *   [1901] RFC 1901 community-based SNMPv2 (version 1).
 *   [3416] RFC 3416 SNMPv2 PDUs: s.3 PDU types [0]..[8], error-status values, GetBulk
 *          non-repeaters / max-repetitions.
 *   [2578] RFC 2578 SMIv2 application types (IpAddress [APPLICATION 0], Counter32 [1],
 *          Gauge32 [2], TimeTicks [3], Opaque [4], Counter64 [6]); [3416] s.3 noSuchObject
 *          [0], noSuchInstance [1], endOfMibView [2] (context, primitive).
 *   [3412] RFC 3412 SNMPv3 message: s.6 msgGlobalData (msgID, msgMaxSize, msgFlags,
 *          msgSecurityModel), msgSecurityParameters, msgData (plaintext ScopedPDU or
 *          encryptedPDU OCTET STRING).
 *   [1213] RFC 1213 / RFC 3418 system group: sysDescr 1.3.6.1.2.1.1.1, sysObjectID .2,
 *          sysContact .4, sysName .5, sysLocation .6.
 *   [PEN]  IANA Private Enterprise Numbers (1.3.6.1.4.1.N) for the vendor of sysObjectID.
 *   BER per ITU-T X.690 through src/util/ber.h.
 *
 * Message (v1/v2c): SEQUENCE { version INTEGER (0 = v1, 1 = v2c), community OCTET STRING,
 * PDU }. The PDU is context-specific constructed [n]: 0 get, 1 getnext, 2 response, 3 set,
 * 4 trap (v1), 5 getbulk, 6 inform, 7 trap (v2), 8 report. Except the v1 trap every PDU is
 * SEQUENCE-shaped { request-id, error-status (getbulk: non-repeaters), error-index (getbulk:
 * max-repetitions), variable-bindings SEQUENCE OF { name OID, value } }.
 *
 * Pairing: requests (get, getnext, getbulk, set, inform) wait in a bounded per-flow queue and
 * pair with the response (or report) carrying the same request-id; for v3 with an encrypted
 * PDU, by msgID. Traps are records of their own.
 *
 * Credentials: a v1/v2c community string is a clear-text password. It is compared in memory
 * with a list of well-known defaults and never copied into a record, an anomaly or the store:
 * `snmp.cleartext_credentials` is raised once per flow with "community of N characters" and,
 * only for a default (which is no secret), `default community "public"`. SNMPv3 is recognised
 * (version, msgID, flags, security model, encrypted or not) and counted; the user name and
 * security parameters are not read. Values that carry secrets (the community table of
 * SNMP-COMMUNITY-MIB, the key columns of the USM user table) are never shown, and string values
 * of SET requests are shown by length only.
 *
 * Identity (about the agent, i.e. the sender of the response): sysDescr.0 -> description,
 * sysObjectID.0 -> sys_object_id and vendor (for the enterprise numbers in snmp_enterprises),
 * sysName.0 -> hostname, sysLocation.0 -> location, sysContact.0 -> contact. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/ber.h"
#include "util/cursor.h"
#include "util/json.h"

/* ---- Limits -------------------------------------------------------------------------------- */

#define SNMP_PORT 161
#define SNMP_TRAP_PORT 162
#define SNMP_VB_MAX 16       /* varbinds listed per PDU (the count says how many there were) */
#define SNMP_OID_TEXT 160    /* dotted OID text kept */
#define SNMP_VALUE_MAX 128   /* string values shown up to this many bytes */
/* Outstanding requests per flow: managers poll one request at a time per agent, bulk walkers
 * keep a few in flight. Each slot keeps the request message (up to SNMP_KEEP bytes; a longer
 * one is decoded from that prefix and marked cut), so the state is about 11 KiB per flow. */
#define SNMP_QUEUE_MAX 8
#define SNMP_KEEP 1280
#define SNMP_FN_ENCRYPTED 256 /* function code of an encrypted v3 PDU (no PDU type visible) */
#define SNMP_FN_NONE 257      /* no PDU could be read (a damaged or cut message) */

enum {
    SNMP_GET = 0, SNMP_GETNEXT = 1, SNMP_RESPONSE = 2, SNMP_SET = 3, SNMP_TRAP = 4,
    SNMP_GETBULK = 5, SNMP_INFORM = 6, SNMP_TRAP2 = 7, SNMP_REPORT = 8,
};

struct snmp_pdu_info {
    const char *name;
    uint32_t ops;
    bool request;  /* waits for a response */
};

static const struct snmp_pdu_info snmp_pdus[9] = {
    [SNMP_GET] = {"get", QW_OP_READ, true},
    [SNMP_GETNEXT] = {"getnext", QW_OP_READ, true},
    [SNMP_RESPONSE] = {"response", 0, false},
    [SNMP_SET] = {"set", QW_OP_WRITE | QW_OP_CONFIG, true},
    [SNMP_TRAP] = {"trap", 0, false},
    [SNMP_GETBULK] = {"getbulk", QW_OP_READ, true},
    [SNMP_INFORM] = {"inform", 0, true},
    [SNMP_TRAP2] = {"trap_v2", 0, false},
    [SNMP_REPORT] = {"report", 0, false},
};

static const char *snmp_pdu_name(uint32_t t)
{
    if (t == SNMP_FN_ENCRYPTED) return "encrypted";
    if (t == SNMP_FN_NONE) return "no PDU";
    return t < 9 ? snmp_pdus[t].name : "unknown";
}

/* error-status ([3416] s.3, [1157] s.4.1.1). */
static const char *const snmp_errors[] = {
    "noError",    "tooBig",     "noSuchName",       "badValue",       "readOnly",
    "genErr",     "noAccess",   "wrongType",        "wrongLength",    "wrongEncoding",
    "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
    "undoFailed", "authorizationError", "notWritable", "inconsistentName",
};

/* generic-trap ([1157] s.4.1.6). */
static const char *const snmp_generic_traps[] = {
    "coldStart", "warmStart", "linkDown", "linkUp", "authenticationFailure", "egpNeighborLoss",
    "enterpriseSpecific",
};

/* Communities that ship as defaults on common agents and printers: not secrets, named when
 * seen. Compared exactly (communities are case-sensitive). */
static const char *const snmp_default_communities[] = {
    "public", "private", "admin", "cisco", "manager", "community", "snmp", "snmpd", "secret",
    "write", "read", "monitor", "default", "password", "test", "all", "ILMI", "system",
};

/* IANA Private Enterprise Numbers, checked one by one against the registry
 * (iana.org/assignments/enterprise-numbers). Only vendors whose number was verified there. */
static const struct {
    uint32_t pen;
    const char *vendor;
} snmp_enterprises[] = {
    {2, "IBM"},
    {9, "Cisco"},
    {11, "Hewlett-Packard"},
    {43, "3Com"},
    {63, "Apple"},
    {95, "Rockwell Automation"},
    {171, "D-Link"},
    {207, "Allied Telesis"},
    {248, "Hirschmann"},
    {311, "Microsoft"},
    {318, "APC"},
    {339, "Siemens"},
    {343, "Intel"},
    {368, "Axis Communications"},
    {409, "Mitsubishi Electric"},
    {2001, "Oki Data"},
    {2620, "Check Point"},
    {2636, "Juniper Networks"},
    {2910, "General Electric"},
    {3833, "Schneider Electric"},
    {3955, "Linksys"},
    {4131, "Tridium"},
    {4196, "Siemens"},
    {4329, "Siemens"},
    {4346, "Phoenix Contact"},
    {4399, "Johnson Controls"},
    {4473, "Opto 22"},
};

/* OIDs under which values are secrets: SNMP-COMMUNITY-MIB snmpCommunityTable (RFC 3584 s.5)
 * and SNMP-USER-BASED-SM-MIB usmUserTable (RFC 3414 s.5, the key-change columns). */
static const char *const snmp_secret_prefixes[] = {
    "1.3.6.1.6.3.18.1.1.",
    "1.3.6.1.6.3.15.1.2.2.",
};

/* ---- Decoded message ----------------------------------------------------------------------- */

struct snmp_vb {
    struct qw_ber_tlv name;
    struct qw_ber_tlv value;
};

struct snmp_msg {
    int64_t version;
    const uint8_t *community; /* in memory only: never written anywhere */
    size_t community_len;
    /* v3 */
    bool v3, encrypted;
    int64_t msg_id, msg_max_size, security_model;
    uint8_t msg_flags;
    /* PDU */
    bool has_pdu;
    uint32_t pdu_type;
    int64_t request_id, error_status, error_index;
    bool has_ids;
    /* v1 trap */
    struct qw_ber_tlv enterprise;
    uint8_t agent_addr[4];
    int64_t generic_trap, specific_trap;
    uint64_t time_stamp;
    bool has_trap;
    uint32_t nvb, nvb_total;
    struct snmp_vb vb[SNMP_VB_MAX];
    bool malformed, cut;
};

/* Read the next TLV, expecting (class, tag); false (and m->malformed) otherwise. */
static bool snmp_expect(struct qw_cursor *c, struct snmp_msg *m, uint8_t cls, uint32_t tag,
                        struct qw_ber_tlv *t)
{
    enum qw_ber_status s = qw_ber_next(c, t);
    if (s == QW_BER_TRUNCATED) {
        m->cut = true;
        return false;
    }
    if (s != QW_BER_OK || t->cls != cls || t->tag != tag) {
        m->malformed = true;
        return false;
    }
    return true;
}

static bool snmp_int(struct qw_cursor *c, struct snmp_msg *m, int64_t *out)
{
    struct qw_ber_tlv t;
    if (!snmp_expect(c, m, QW_BER_UNIVERSAL, 2, &t)) return false;
    if (!qw_ber_int(&t, out)) {
        m->malformed = true;
        return false;
    }
    return true;
}

static void snmp_varbinds(struct qw_cursor *c, struct snmp_msg *m)
{
    struct qw_ber_tlv list;
    if (!snmp_expect(c, m, QW_BER_UNIVERSAL, 16, &list)) return;
    struct qw_cursor lc = qw_ber_contents(&list);
    while (qw_cur_left(&lc) > 0) {
        struct qw_ber_tlv vb;
        if (!snmp_expect(&lc, m, QW_BER_UNIVERSAL, 16, &vb)) return;
        struct qw_cursor vc = qw_ber_contents(&vb);
        struct snmp_vb v;
        if (!snmp_expect(&vc, m, QW_BER_UNIVERSAL, 6, &v.name)) return;
        if (qw_ber_next(&vc, &v.value) != QW_BER_OK) {
            m->malformed = true;
            return;
        }
        m->nvb_total++;
        if (m->nvb < SNMP_VB_MAX) m->vb[m->nvb++] = v;
    }
}

/* The PDU at the cursor: a context-specific constructed tag 0..8. */
static void snmp_pdu(struct qw_cursor *c, struct snmp_msg *m)
{
    struct qw_ber_tlv pdu;
    enum qw_ber_status s = qw_ber_next(c, &pdu);
    if (s == QW_BER_TRUNCATED) {
        m->cut = true;
        return;
    }
    if (s != QW_BER_OK || pdu.cls != QW_BER_CONTEXT || !pdu.constructed || pdu.tag > 8) {
        m->malformed = true;
        return;
    }
    m->has_pdu = true;
    m->pdu_type = pdu.tag;
    struct qw_cursor pc = qw_ber_contents(&pdu);
    if (pdu.tag == SNMP_TRAP) {
        struct qw_ber_tlv addr, ts;
        if (!snmp_expect(&pc, m, QW_BER_UNIVERSAL, 6, &m->enterprise)) return;
        if (!snmp_expect(&pc, m, QW_BER_APPLICATION, 0, &addr)) return;
        if (addr.len == 4) memcpy(m->agent_addr, addr.val, 4);
        if (!snmp_int(&pc, m, &m->generic_trap) || !snmp_int(&pc, m, &m->specific_trap)) return;
        if (!snmp_expect(&pc, m, QW_BER_APPLICATION, 3, &ts)) return;
        if (!qw_ber_uint(&ts, &m->time_stamp)) m->time_stamp = 0;
        m->has_trap = true;
    } else {
        if (!snmp_int(&pc, m, &m->request_id) || !snmp_int(&pc, m, &m->error_status) ||
            !snmp_int(&pc, m, &m->error_index))
            return;
        m->has_ids = true;
    }
    snmp_varbinds(&pc, m);
}

/* Decode a message. False when it is not SNMP at all (no SEQUENCE + version). */
static bool snmp_decode(const uint8_t *d, size_t n, struct snmp_msg *m)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor top = qw_cursor_make(d, n);
    struct qw_ber_tlv seq;
    enum qw_ber_status s = qw_ber_next(&top, &seq);
    if (s != QW_BER_OK) {
        /* A message cut by the capture (or a short keep buffer): read what is there. */
        if (s != QW_BER_TRUNCATED || n < 2 || d[0] != 0x30) return false;
        m->cut = true;
        seq.val = d + 2 + ((d[1] & 0x80) ? (d[1] & 0x7F) : 0);
        if (seq.val > d + n) return false;
        seq.len = (size_t)(d + n - seq.val);
        seq.cls = QW_BER_UNIVERSAL;
        seq.tag = 16;
        seq.constructed = true;
    }
    if (seq.cls != QW_BER_UNIVERSAL || seq.tag != 16 || !seq.constructed) return false;
    struct qw_cursor c = qw_ber_contents(&seq);
    if (!snmp_int(&c, m, &m->version)) return false;
    if (m->version == 0 || m->version == 1) {
        struct qw_ber_tlv comm;
        if (!snmp_expect(&c, m, QW_BER_UNIVERSAL, 4, &comm)) return true;
        m->community = comm.val;
        m->community_len = comm.len;
        snmp_pdu(&c, m);
        return true;
    }
    if (m->version != 3) return true;
    m->v3 = true;
    struct qw_ber_tlv gd, flags, secp, data;
    if (!snmp_expect(&c, m, QW_BER_UNIVERSAL, 16, &gd)) return true;
    struct qw_cursor gc = qw_ber_contents(&gd);
    if (!snmp_int(&gc, m, &m->msg_id) || !snmp_int(&gc, m, &m->msg_max_size)) return true;
    if (!snmp_expect(&gc, m, QW_BER_UNIVERSAL, 4, &flags)) return true;
    if (flags.len == 1) m->msg_flags = flags.val[0];
    if (!snmp_int(&gc, m, &m->security_model)) return true;
    if (!snmp_expect(&c, m, QW_BER_UNIVERSAL, 4, &secp)) return true; /* not read: see banner */
    enum qw_ber_status ds = qw_ber_next(&c, &data);
    if (ds == QW_BER_TRUNCATED) {
        m->cut = true;
        return true;
    }
    if (ds != QW_BER_OK) {
        m->malformed = true;
        return true;
    }
    if (data.cls == QW_BER_UNIVERSAL && data.tag == 4) {
        m->encrypted = true;
        return true;
    }
    if (data.cls != QW_BER_UNIVERSAL || data.tag != 16) {
        m->malformed = true;
        return true;
    }
    /* ScopedPDU: contextEngineID, contextName, PDU. */
    struct qw_cursor sc = qw_ber_contents(&data);
    struct qw_ber_tlv eid, cname;
    if (!snmp_expect(&sc, m, QW_BER_UNIVERSAL, 4, &eid)) return true;
    if (!snmp_expect(&sc, m, QW_BER_UNIVERSAL, 4, &cname)) return true;
    snmp_pdu(&sc, m);
    return true;
}

/* The function code of a message: its PDU type, or SNMP_FN_ENCRYPTED. */
static uint32_t snmp_function(const struct snmp_msg *m)
{
    return m->has_pdu ? m->pdu_type : m->encrypted ? SNMP_FN_ENCRYPTED : SNMP_FN_NONE;
}

/* Pairing key: the request-id when the PDU is visible, else the v3 msgID. */
static bool snmp_key(const struct snmp_msg *m, int64_t *key)
{
    if (m->has_ids) {
        *key = m->request_id;
        return true;
    }
    if (m->v3) {
        *key = m->msg_id;
        return true;
    }
    return false;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static bool snmp_printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == '\t' || b == '\n' || b == '\r') continue;
        if (b < 0x20 || b == 0x7F) return i == n - 1 && b == 0; /* a trailing NUL is padding */
    }
    return true;
}

static const char *snmp_type_name(const struct qw_ber_tlv *v)
{
    if (v->cls == QW_BER_UNIVERSAL) {
        switch (v->tag) {
        case 2: return "integer";
        case 4: return "octet_string";
        case 5: return "null";
        case 6: return "oid";
        default: return "unknown";
        }
    }
    if (v->cls == QW_BER_APPLICATION) {
        static const char *const app[] = {"ip_address", "counter32", "gauge32", "timeticks",
                                          "opaque", "nsap_address", "counter64", "uinteger32"};
        return v->tag < 8 ? app[v->tag] : "unknown";
    }
    if (v->cls == QW_BER_CONTEXT && !v->constructed) {
        static const char *const ex[] = {"no_such_object", "no_such_instance", "end_of_mib_view"};
        return v->tag < 3 ? ex[v->tag] : "unknown";
    }
    return "unknown";
}

static void snmp_json_value(struct qw_json *j, const struct qw_ber_tlv *v, bool strings_by_len)
{
    int64_t i;
    uint64_t u;
    char buf[SNMP_OID_TEXT];
    if (v->cls == QW_BER_UNIVERSAL && v->tag == 2 && qw_ber_int(v, &i)) {
        qw_json_i64(j, "value", i);
    } else if (v->cls == QW_BER_UNIVERSAL && v->tag == 6 && qw_ber_oid_str(v, buf, sizeof buf)) {
        qw_json_str(j, "value", buf);
    } else if (v->cls == QW_BER_APPLICATION && v->tag == 0 && v->len == 4) {
        snprintf(buf, sizeof buf, "%u.%u.%u.%u", v->val[0], v->val[1], v->val[2], v->val[3]);
        qw_json_str(j, "value", buf);
    } else if (v->cls == QW_BER_APPLICATION && (v->tag == 1 || v->tag == 2 || v->tag == 3 ||
                                                v->tag == 6 || v->tag == 7) &&
               qw_ber_uint(v, &u)) {
        qw_json_u64(j, "value", u);
    } else if ((v->cls == QW_BER_UNIVERSAL && v->tag == 4) ||
               (v->cls == QW_BER_APPLICATION && v->tag == 4)) {
        if (strings_by_len) {
            qw_json_u64(j, "value_length", v->len);
        } else {
            size_t n = v->len > SNMP_VALUE_MAX ? SNMP_VALUE_MAX : v->len;
            if (v->tag == 4 && v->cls == QW_BER_UNIVERSAL && snmp_printable(v->val, v->len)) {
                while (n > 0 && v->val[n - 1] == 0) n--;
                qw_json_strn(j, "value", v->val, n);
            } else {
                qw_json_hex(j, "value_hex", v->val, n);
            }
            if (v->len > SNMP_VALUE_MAX) qw_json_bool(j, "value_cut", true);
        }
    }
}

static bool snmp_oid_secret(const char *oid)
{
    for (size_t k = 0; k < sizeof snmp_secret_prefixes / sizeof snmp_secret_prefixes[0]; k++)
        if (strncmp(oid, snmp_secret_prefixes[k], strlen(snmp_secret_prefixes[k])) == 0)
            return true;
    return false;
}

static void snmp_json_side(struct qw_json *j, const char *key, const struct snmp_msg *m)
{
    char oid[SNMP_OID_TEXT];
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "version", m->v3 ? 3 : (uint64_t)m->version + 1);
    qw_json_u64(j, "function", snmp_function(m));
    qw_json_str(j, "function_name", snmp_pdu_name(snmp_function(m)));
    if (m->v3) {
        qw_json_i64(j, "msg_id", m->msg_id);
        qw_json_i64(j, "msg_max_size", m->msg_max_size);
        qw_json_bool(j, "auth", m->msg_flags & 1);
        qw_json_bool(j, "priv", (m->msg_flags >> 1) & 1);
        qw_json_bool(j, "reportable", (m->msg_flags >> 2) & 1);
        qw_json_i64(j, "security_model", m->security_model);
        if (m->encrypted) qw_json_bool(j, "encrypted", true);
    }
    if (m->has_ids) {
        qw_json_i64(j, "request_id", m->request_id);
        if (m->pdu_type == SNMP_GETBULK) {
            qw_json_i64(j, "non_repeaters", m->error_status);
            qw_json_i64(j, "max_repetitions", m->error_index);
        } else if (m->pdu_type == SNMP_RESPONSE || m->pdu_type == SNMP_REPORT ||
                   m->error_status || m->error_index) {
            qw_json_i64(j, "error_status", m->error_status);
            const char *en = m->error_status >= 0 &&
                                     m->error_status < (int64_t)(sizeof snmp_errors / sizeof snmp_errors[0])
                                 ? snmp_errors[m->error_status]
                                 : "unknown";
            qw_json_str(j, "error_status_name", en);
            qw_json_i64(j, "error_index", m->error_index);
        }
    }
    if (m->has_trap) {
        if (qw_ber_oid_str(&m->enterprise, oid, sizeof oid)) qw_json_str(j, "enterprise", oid);
        snprintf(oid, sizeof oid, "%u.%u.%u.%u", m->agent_addr[0], m->agent_addr[1],
                 m->agent_addr[2], m->agent_addr[3]);
        qw_json_str(j, "agent_address", oid);
        qw_json_i64(j, "generic_trap", m->generic_trap);
        qw_json_str(j, "generic_trap_name",
                    m->generic_trap >= 0 && m->generic_trap < 7 ? snmp_generic_traps[m->generic_trap]
                                                                 : "unknown");
        qw_json_i64(j, "specific_trap", m->specific_trap);
        qw_json_u64(j, "time_stamp", m->time_stamp);
    }
    if (m->has_pdu) {
        /* Values of requests other than SET are NULL by definition; SET strings by length. */
        bool values = m->pdu_type != SNMP_GET && m->pdu_type != SNMP_GETNEXT &&
                      m->pdu_type != SNMP_GETBULK;
        qw_json_u64(j, "varbind_count", m->nvb_total);
        qw_json_arr_begin(j, "varbinds");
        for (unsigned i = 0; i < m->nvb; i++) {
            const struct snmp_vb *v = &m->vb[i];
            qw_json_obj_begin(j, NULL);
            bool ok = qw_ber_oid_str(&v->name, oid, sizeof oid);
            if (ok) qw_json_str(j, "oid", oid);
            else qw_json_hex(j, "oid_hex", v->name.val, v->name.len > 32 ? 32 : v->name.len);
            if (values) {
                qw_json_str(j, "type", snmp_type_name(&v->value));
                if (ok && snmp_oid_secret(oid)) qw_json_bool(j, "value_redacted", true);
                else snmp_json_value(j, &v->value, m->pdu_type == SNMP_SET);
            }
            qw_json_obj_end(j);
        }
        qw_json_arr_end(j);
    }
    if (m->cut) qw_json_bool(j, "truncated", true);
    if (m->malformed) qw_json_bool(j, "malformed", true);
    qw_json_obj_end(j);
}

struct snmp_view {
    const struct snmp_msg *req, *rsp;
};

static void snmp_write_json(struct qw_json *j, const void *arg)
{
    const struct snmp_view *v = arg;
    if (v->req) snmp_json_side(j, "request", v->req);
    if (v->rsp) snmp_json_side(j, "response", v->rsp);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

struct snmp_slot {
    bool used;
    int64_t key;
    uint32_t seq;
    uint64_t ts_ns;
    uint16_t len;
    uint8_t msg[SNMP_KEEP];
};

struct snmp_state {
    bool community_reported, queue_full_reported;
    uint32_t next_seq;
    struct snmp_slot q[SNMP_QUEUE_MAX];
    struct snmp_msg req, rsp;
    struct snmp_view view;
};

static void snmp_emit(struct qw_pctx *ctx, struct snmp_state *st, const struct snmp_msg *req,
                      uint64_t req_ns, const struct snmp_msg *rsp, uint64_t rsp_ns)
{
    const struct snmp_msg *key = req ? req : rsp;
    uint32_t fn = snmp_function(key);
    st->view.req = req;
    st->view.rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = fn;
    t.function_name = snmp_pdu_name(fn);
    t.ops = req && req->has_pdu && req->pdu_type < 9 ? snmp_pdus[req->pdu_type].ops : 0;
    t.error = rsp && rsp->has_ids && rsp->error_status != 0;
    t.request_ns = req ? req_ns : 0;
    t.response_ns = rsp ? rsp_ns : 0;
    t.write_json = snmp_write_json;
    t.arg = &st->view;
    qw_emit_txn(ctx, &t);
    st->view.req = st->view.rsp = NULL;
}

static struct snmp_slot *snmp_oldest(struct snmp_state *st)
{
    struct snmp_slot *best = NULL;
    for (size_t i = 0; i < SNMP_QUEUE_MAX; i++)
        if (st->q[i].used && (!best || (int32_t)(st->q[i].seq - best->seq) < 0)) best = &st->q[i];
    return best;
}

static void snmp_flush(struct qw_pctx *ctx, struct snmp_state *st, struct snmp_slot *s)
{
    snmp_decode(s->msg, s->len, &st->req);
    snmp_emit(ctx, st, &st->req, s->ts_ns, NULL, 0);
    s->used = false;
}

static void snmp_queue(struct qw_pctx *ctx, struct snmp_state *st, int64_t key,
                       const uint8_t *d, size_t n)
{
    struct snmp_slot *s = NULL;
    for (size_t i = 0; i < SNMP_QUEUE_MAX; i++) {
        if (st->q[i].used && st->q[i].key == key) { /* a retry: the earlier went unanswered */
            snmp_flush(ctx, st, &st->q[i]);
        }
    }
    for (size_t i = 0; i < SNMP_QUEUE_MAX && !s; i++)
        if (!st->q[i].used) s = &st->q[i];
    if (!s) {
        if (!st->queue_full_reported) qw_emit_anomaly(ctx, "snmp.request_queue_full", NULL);
        st->queue_full_reported = true;
        s = snmp_oldest(st);
        snmp_flush(ctx, st, s);
    }
    s->used = true;
    s->key = key;
    s->seq = st->next_seq++;
    s->ts_ns = qw_pctx_time(ctx);
    s->len = (uint16_t)(n > SNMP_KEEP ? SNMP_KEEP : n);
    memcpy(s->msg, d, s->len);
}

/* ---- Credentials and identity -------------------------------------------------------------- */

static void snmp_check_community(struct qw_pctx *ctx, struct snmp_state *st,
                                 const struct snmp_msg *m)
{
    if (st->community_reported || m->v3 || !m->community) return;
    st->community_reported = true;
    char detail[96];
    const char *def = NULL;
    for (size_t i = 0; i < sizeof snmp_default_communities / sizeof snmp_default_communities[0];
         i++) {
        const char *d = snmp_default_communities[i];
        if (strlen(d) == m->community_len && memcmp(d, m->community, m->community_len) == 0)
            def = d;
    }
    if (def)
        snprintf(detail, sizeof detail, "community of %zu characters, default community \"%s\"",
                 m->community_len, def);
    else
        snprintf(detail, sizeof detail, "community of %zu characters", m->community_len);
    qw_emit_anomaly(ctx, "snmp.cleartext_credentials", detail);
}

/* The first dotted arc of `s` as a number (0 when it does not fit 32 bits). */
static unsigned long snmp_first_arc(const char *s)
{
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 0xFFFFFFFFul) return 0;
    }
    return v;
}

static void snmp_identity(struct qw_pctx *ctx, const struct snmp_msg *m, bool server)
{
    static const struct {
        const char *oid, *attr;
    } sys[] = {
        {"1.3.6.1.2.1.1.1.0", "description"}, {"1.3.6.1.2.1.1.2.0", "sys_object_id"},
        {"1.3.6.1.2.1.1.4.0", "contact"},     {"1.3.6.1.2.1.1.5.0", "hostname"},
        {"1.3.6.1.2.1.1.6.0", "location"},
    };
    char oid[SNMP_OID_TEXT], val[SNMP_OID_TEXT];
    for (unsigned i = 0; i < m->nvb; i++) {
        const struct snmp_vb *v = &m->vb[i];
        if (!qw_ber_oid_str(&v->name, oid, sizeof oid)) continue;
        for (size_t k = 0; k < sizeof sys / sizeof sys[0]; k++) {
            if (strcmp(oid, sys[k].oid) != 0) continue;
            if (k == 1) {
                if (v->value.cls != QW_BER_UNIVERSAL || v->value.tag != 6 ||
                    !qw_ber_oid_str(&v->value, val, sizeof val))
                    break;
                qw_emit_identity(ctx, server, "sys_object_id", val, strlen(val));
                static const char ent[] = "1.3.6.1.4.1.";
                if (strncmp(val, ent, sizeof ent - 1) != 0) break;
                unsigned long pen = snmp_first_arc(val + sizeof ent - 1);
                for (size_t e = 0; e < sizeof snmp_enterprises / sizeof snmp_enterprises[0]; e++)
                    if (snmp_enterprises[e].pen == pen)
                        qw_emit_identity(ctx, server, "vendor", snmp_enterprises[e].vendor,
                                         strlen(snmp_enterprises[e].vendor));
                break;
            }
            if (v->value.cls != QW_BER_UNIVERSAL || v->value.tag != 4) break;
            size_t n = v->value.len;
            while (n > 0 && (v->value.val[n - 1] == 0 || v->value.val[n - 1] == ' ' ||
                             v->value.val[n - 1] == '\n' || v->value.val[n - 1] == '\r'))
                n--;
            if (n) qw_emit_identity(ctx, server, sys[k].attr, (const char *)v->value.val, n);
            break;
        }
    }
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void snmp_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    struct snmp_state *st = state;
    struct snmp_msg *m = &st->rsp; /* decoded into the response scratch; moved if a request */
    if (!snmp_decode(data, len, m)) {
        qw_emit_anomaly(ctx, "snmp.malformed", "not an SNMP message");
        return;
    }
    if (m->malformed) qw_emit_anomaly(ctx, "snmp.malformed", snmp_pdu_name(snmp_function(m)));
    else if (m->cut) qw_emit_anomaly(ctx, "snmp.truncated", snmp_pdu_name(snmp_function(m)));
    if (!m->v3 && m->version != 0 && m->version != 1) {
        qw_emit_anomaly(ctx, "snmp.unsupported_version", NULL);
        return;
    }
    snmp_check_community(ctx, st, m);
    if (!m->has_pdu && !m->encrypted) return; /* nothing to record: anomaly raised above */
    uint64_t now = qw_pctx_time(ctx);
    int64_t key = 0;
    bool keyed = snmp_key(m, &key);
    bool is_request;
    if (m->has_pdu) {
        is_request = m->pdu_type < 9 && snmp_pdus[m->pdu_type].request;
        if (m->pdu_type == SNMP_TRAP || m->pdu_type == SNMP_TRAP2) {
            snmp_emit(ctx, st, m, now, NULL, 0); /* notifications expect no answer */
            return;
        }
    } else {
        /* An encrypted v3 PDU: the manager's side (to the agent's port) asks. */
        is_request = dir == QW_DIR_TO_SERVER;
    }
    if (is_request) {
        if (!keyed) {
            snmp_emit(ctx, st, m, now, NULL, 0);
            return;
        }
        snmp_queue(ctx, st, key, data, len);
        return;
    }
    /* A response or report: pair it with the request of the same key. */
    struct snmp_slot *s = NULL;
    for (size_t i = 0; keyed && i < SNMP_QUEUE_MAX && !s; i++)
        if (st->q[i].used && st->q[i].key == key) s = &st->q[i];
    if (!s && m->v3 && m->has_ids) { /* a report to an encrypted request pairs by msgID */
        for (size_t i = 0; i < SNMP_QUEUE_MAX && !s; i++)
            if (st->q[i].used && st->q[i].key == m->msg_id) s = &st->q[i];
    }
    const struct snmp_msg *req = NULL;
    if (s) {
        snmp_decode(s->msg, s->len, &st->req);
        req = &st->req;
    }
    snmp_emit(ctx, st, req, s ? s->ts_ns : 0, m, now);
    if (s) s->used = false;
    if (m->has_pdu && m->pdu_type == SNMP_RESPONSE && m->error_status == 0)
        snmp_identity(ctx, m, dir == QW_DIR_TO_CLIENT);
}

static void snmp_flow_end(struct qw_pctx *ctx, void *state)
{
    struct snmp_state *st = state;
    struct snmp_slot *s;
    while ((s = snmp_oldest(st)) != NULL) snmp_flush(ctx, st, s);
}

/* SEQUENCE { INTEGER version (0, 1 or 3), then for v1/v2c an OCTET STRING community and a PDU
 * tag [0]..[8], for v3 a SEQUENCE (msgGlobalData) }. A datagram arrives whole, so anything
 * short of that is no. */
static enum qw_probe_result snmp_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    struct qw_cursor top = qw_cursor_make(data, len);
    struct qw_ber_tlv seq, ver, next;
    if (qw_ber_next(&top, &seq) != QW_BER_OK || seq.cls != QW_BER_UNIVERSAL || seq.tag != 16 ||
        !seq.constructed || qw_cur_left(&top) != 0)
        return QW_PROBE_NO;
    struct qw_cursor c = qw_ber_contents(&seq);
    int64_t v;
    if (qw_ber_next(&c, &ver) != QW_BER_OK || ver.cls != QW_BER_UNIVERSAL || ver.tag != 2 ||
        ver.len != 1 || !qw_ber_int(&ver, &v))
        return QW_PROBE_NO;
    if (qw_ber_next(&c, &next) != QW_BER_OK) return QW_PROBE_NO;
    if (v == 0 || v == 1) {
        struct qw_ber_tlv pdu;
        if (next.cls != QW_BER_UNIVERSAL || next.tag != 4 || next.constructed) return QW_PROBE_NO;
        if (qw_ber_next(&c, &pdu) != QW_BER_OK || pdu.cls != QW_BER_CONTEXT || !pdu.constructed ||
            pdu.tag > 8)
            return QW_PROBE_NO;
        return QW_PROBE_MATCH;
    }
    if (v == 3)
        return next.cls == QW_BER_UNIVERSAL && next.tag == 16 && next.constructed
                   ? QW_PROBE_MATCH
                   : QW_PROBE_NO;
    return QW_PROBE_NO;
}

const struct qw_proto qw_proto_snmp = {
    .name = "snmp",
    .transports = QW_TRANSPORT_UDP,
    .ports = {SNMP_PORT, SNMP_TRAP_PORT, 0},
    .probe = snmp_probe,
    .state_size = sizeof(struct snmp_state),
    .datagram = snmp_datagram,
    .flow_end = snmp_flow_end,
};
