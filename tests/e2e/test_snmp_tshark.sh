#!/usr/bin/env bash
# Differential test: SNMP PDUs, quaywatch's event log vs tshark.
#
# For every corpus capture that holds SNMP (the list below, from a tshark scan of the corpus):
#   ours:   `quaywatch analyze --events`; each "snmp" record's "request" and "response" object
#           is one message, keyed by "function" (the PDU tag 0..8, or 256 for an encrypted v3
#           PDU).
#   tshark: `tshark -Y "snmp && !icmp"` (SNMP quoted inside ICMP errors is not a message) with
#           snmp.data (the PDU tag), snmp.encryptedPDU, snmp.name (varbind OIDs),
#           snmp.error_status and snmp.community.
# Compared per capture: messages per PDU type, encrypted v3 messages, the number of varbinds
# (records list the first 16 of a PDU and count them all: the listed OIDs must be tshark's),
# non-zero error-status counts, identity facts (sysDescr/sysName/sysLocation/sysContact string
# values of responses, from tshark's full dissection), and the cleartext-credentials anomaly:
# one per flow whose messages carry a community, saying its length and naming it only when it
# is a well-known default. The community itself is never printed by this script.
#
# Known differences (each verified):
#   - suricata_wiresharkwiki_snmpv1-trap.pcap frames 8-12: the PDU tag is 0xBF 0x12 (context
#     class, tag 18, not an SNMP PDU); tshark shows no snmp.data, we raise snmp.malformed and
#     write no record. Rule: tshark messages without snmp.data and without an encrypted PDU
#     must each match one snmp.malformed anomaly.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff snmp

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, json, os, re, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = [
    "snmp/ndpi_snmp.pcapng", "snmp/snmp_usm_sysdescr.pcap",
    "snmp/suricata_wiresharkwiki_snmpv1-trap.pcap", "snmp/zeek_snmpv1_get.pcap",
    "snmp/zeek_snmpv1_trap.pcap", "snmp/zeek_snmpv2_get_bulk.pcap",
    "snmp/zeek_snmpv3_get_next.pcap", "iec61850/iti_Sample_File_MMS_and_GOOSE.pcap",
]
DEFAULTS = {"public", "private", "admin", "cisco", "manager", "community", "snmp", "snmpd",
            "secret", "write", "read", "monitor", "default", "password", "test", "all", "ILMI",
            "system"}
SYS = {"1.3.6.1.2.1.1.1.0": "description", "1.3.6.1.2.1.1.4.0": "contact",
       "1.3.6.1.2.1.1.5.0": "hostname", "1.3.6.1.2.1.1.6.0": "location"}

def varbinds(node, out):
    """Every dict holding snmp.name in tshark's JSON tree is one varbind."""
    if isinstance(node, dict):
        if "snmp.name" in node:
            out.append(node)
        for v in node.values():
            varbinds(v, out)
    elif isinstance(node, list):
        for v in node:
            varbinds(v, out)

status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    out = subprocess.run(["tshark", "-r", path, "-Y", "snmp && !icmp", "-T", "json"],
                         capture_output=True, text=True).stdout
    pkts = [p["_source"]["layers"] for p in json.loads(out or "[]")]

    t_types, t_oids, t_err, t_ident = collections.Counter(), collections.Counter(), collections.Counter(), set()
    t_comm = {}  # flow -> community (kept in memory only)
    t_bad = 0
    for L in pkts:
        s = L["snmp"]
        ip = L.get("ip") or L.get("ipv6") or {}
        src = ip.get("ip.src") or ip.get("ipv6.src")
        dst = ip.get("ip.dst") or ip.get("ipv6.dst")
        sp, dp = L["udp"]["udp.srcport"], L["udp"]["udp.dstport"]
        flow = tuple(sorted([(src, sp), (dst, dp)]))
        if "snmp.community" in s:
            t_comm.setdefault(flow, s["snmp.community"])
        flat = json.dumps(s)
        m = re.search(r'"snmp\.data": "(\d+)"', flat)
        if m:
            t_types[int(m.group(1))] += 1
        elif '"snmp.encryptedPDU"' in flat:
            t_types[256] += 1
        else:
            t_bad += 1
        for e in re.findall(r'"snmp\.error_status": "(\d+)"', flat):
            if int(e):
                t_err[int(e)] += 1
        vbs = []
        varbinds(s, vbs)
        for vb in vbs:
            t_oids[vb["snmp.name"]] += 1
            if m and m.group(1) == "2" and vb["snmp.name"] in SYS and "snmp.value.octets" in vb:
                raw = vb["snmp.value.octets"].replace(":", "")
                try:
                    val = bytes.fromhex(raw).decode("utf-8", "replace")
                except ValueError:
                    val = vb["snmp.value.octets"]
                val = val.rstrip("\0 \r\n")
                if val:
                    t_ident.add((src, SYS[vb["snmp.name"]], val))

    o_types, o_oids, o_err, o_ident, o_comm = collections.Counter(), collections.Counter(), collections.Counter(), set(), {}
    o_bad = o_nvb = 0
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            flow = tuple(sorted([(rec.get("src_ip"), str(rec.get("src_port"))),
                                 (rec.get("dest_ip"), str(rec.get("dest_port")))]))
            if et == "anomaly" and rec["anomaly"]["event"] == "snmp.cleartext_credentials":
                o_comm[flow] = rec["anomaly"]["detail"]
            if et == "anomaly" and rec["anomaly"]["event"] == "snmp.malformed":
                o_bad += 1
            if et == "asset" and rec["asset"]["source"] == "snmp" and rec["asset"]["attribute"] in SYS.values():
                o_ident.add((rec["asset"]["ip"], rec["asset"]["attribute"], rec["asset"]["value"]))
            if et != "snmp":
                continue
            for side in ("request", "response"):
                m = rec["snmp"].get(side)
                if not m:
                    continue
                o_types[m["function"]] += 1
                if m.get("error_status"):
                    o_err[m["error_status"]] += 1
                o_nvb += m.get("varbind_count", 0)
                for vb in m.get("varbinds", []):
                    o_oids[vb.get("oid")] += 1

    problems = []
    if o_types != t_types:
        problems.append(f"PDU types: ours {dict(o_types)}, tshark {dict(t_types)}")
    # Records list the first 16 varbinds of a PDU (SNMP_VB_MAX) and count them all.
    if o_oids - t_oids or o_nvb != sum(t_oids.values()):
        problems.append(f"varbinds: ours {o_nvb} ({dict(o_oids - t_oids)} not in tshark), tshark {sum(t_oids.values())}")
    if o_err != t_err:
        problems.append(f"error status: ours {dict(o_err)}, tshark {dict(t_err)}")
    if o_ident != t_ident:
        problems.append(f"identity: ours-only {sorted(o_ident - t_ident)}, tshark-only {sorted(t_ident - o_ident)}")
    if o_bad != t_bad:
        problems.append(f"malformed: ours {o_bad}, tshark messages without a PDU type {t_bad}")
    for flow, comm in t_comm.items():
        want = f"community of {len(comm.encode())} characters"
        if comm in DEFAULTS:
            want += f', default community "{comm}"'
        if o_comm.get(flow) != want:
            problems.append(f"cleartext credentials of flow {flow}: ours {o_comm.get(flow)!r} differs (community not shown)")
    for flow, detail in o_comm.items():
        if flow not in t_comm:
            problems.append(f"cleartext credentials on {flow} without a community in tshark")
    if problems:
        status = 1
        print(f"FAIL {name}: ours {sum(o_types.values())} messages, tshark {sum(t_types.values())}")
        for p in problems:
            print(f"     {p}")
    else:
        extra = f", {o_bad} malformed (not SNMP PDU tags)" if o_bad else ""
        print(f"ok   {name}: {sum(o_types.values())} messages {dict(sorted(o_types.items()))}, "
              f"{sum(o_oids.values())} varbinds, {len(o_ident)} identity facts, "
              f"{len(o_comm)} flows with a community{extra}")
sys.exit(status)
EOF
