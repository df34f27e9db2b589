#!/usr/bin/env bash
# The per-transaction rules on Beckhoff ADS end to end (docs/events/ads.md, "Operations"): on a
# capture built with tests/e2e/pcapbuild.py and a small site file, an engineering host stops the
# PLC runtime (WriteControl STOP to AMS port 851) and writes a variable by handle (Write to index
# group 0xF005), each answered with result 0: ics.cpu_state (critical) and ics.write, about the
# controller with the engineering host as peer. The near miss, an HMI that only reads (Read of
# %M, ReadState, ReadDeviceInfo, a handle by name), raises none of the operation rules. The
# inventory shows the controller as Beckhoff, with the model and TwinCAT version its PLC
# runtime's ReadDeviceInfo gave, and both ends' AMS NetIds.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (ADS)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
assets:
  - {match: {ip: 10.30.1.21}, name: sts3-plc, role: plc}
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/ads.pcap" <<'PY' || fail "building the capture"
import struct, sys
import pcapbuild as pb

ews = pb.Host("02:00:00:30:00:50", "10.30.0.50")
hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
plc = pb.Host("02:00:00:30:01:21", "10.30.1.21")
PLC_ID, EWS_ID, HMI_ID = bytes([10, 30, 1, 21, 1, 1]), bytes([10, 30, 0, 50, 1, 1]), \
    bytes([10, 20, 0, 20, 1, 1])


def ams(target, tport, source, sport, cmd, flags, invoke, data=b"", err=0):
    """One AMS/TCP packet (Beckhoff InfoSys "ADS specification"), little-endian."""
    hdr = target + struct.pack("<H", tport) + source + struct.pack("<H", sport)
    hdr += struct.pack("<HHIII", cmd, flags, len(data), err, invoke)
    return struct.pack("<HI", 0, len(hdr) + len(data)) + hdr + data


def exchange(c, me, port, cmd, invoke, req, rsp):
    c.exchange(ams(PLC_ID, port, me, 32905, cmd, 0x0004, invoke, req),
               ams(me, 32905, PLC_ID, port, cmd, 0x0005, invoke, rsp))


OK = struct.pack("<I", 0)
name = b"Plc30 App".ljust(16, b"\0")
DEVINFO = OK + struct.pack("<BBH", 3, 1, 4024) + name

with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # the engineering host: a handle by name (a read), a write by that handle, then STOP
    c = pb.Tcp(w, ews, plc, 48898)
    sym = b"MAIN.bHoistEnable\0"
    exchange(c, EWS_ID, 851, 9, 1, struct.pack("<IIII", 0xF003, 0, 4, len(sym)) + sym,
             OK + struct.pack("<I", 4) + struct.pack("<I", 0x1234))
    exchange(c, EWS_ID, 851, 3, 2, struct.pack("<III", 0xF005, 0x1234, 1) + b"\x00", OK)
    exchange(c, EWS_ID, 851, 5, 3, struct.pack("<HHI", 6, 0, 0), OK)
    c.close()
    # the HMI: reads only
    c = pb.Tcp(w, hmi, plc, 48898)
    exchange(c, HMI_ID, 851, 1, 10, b"", DEVINFO)
    exchange(c, HMI_ID, 851, 4, 11, b"", OK + struct.pack("<HH", 5, 0))
    exchange(c, HMI_ID, 851, 2, 12, struct.pack("<III", 0x4020, 0, 4),
             OK + struct.pack("<I", 4) + b"\1\2\3\4")
    exchange(c, HMI_ID, 851, 9, 13, struct.pack("<IIII", 0xF003, 0, 4, len(sym)) + sym,
             OK + struct.pack("<I", 4) + struct.pack("<I", 0x1235))
    c.close()
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/ads.pcap" || fail "analyze exited $?"
[ "$(count_events "$work/ev.json" ads)" -eq 7 ] || fail "expected 7 ads records"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
"$qw" inventory --db "$work/s.db" --site "$work/site.yaml" --format json >"$work/inv.json" ||
    fail "inventory"
python3 - "$work/alerts.json" "$work/ev.json" "$work/inv.json" <<'PY' ||
    fail "findings or inventory are wrong"
import json, sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
ICS = {"ics.write", "ics.program", "ics.cpu_state", "ics.restart", "ics.firmware",
       "ics.config", "recon.ics_discovery"}

st = F.one("ics.cpu_state", "10.30.1.21", "10.30.0.50", severity="critical", owner="vendor",
           zone="cranes", peer_zone="cranes", documented=False)
ev = st["evidence"]
assert ev["app_proto"] == "ads" and ev["function"] == 5, st
assert ev["function_name"] == "write_control" and ev["ops"] == ["stop"], st
w = F.one("ics.write", "10.30.1.21", "10.30.0.50", owner="vendor", zone="cranes")
assert w["evidence"]["function_name"] == "write" and w["evidence"]["ops"] == ["write"], w
assert F.rules_of(asset="10.30.1.21", peer="10.30.0.50").count("ics.write") == 1
F.none_for(peer="10.20.0.20", rules=ICS)  # the HMI only read
assert not [a for a in F.alerts if a["rule"] in ICS and a["rule"] not in
            ("ics.cpu_state", "ics.write")], F.alerts

inv = {ip["ip"]: a for a in json.load(open(sys.argv[3])) for ip in a["ips"]}
plc = inv["10.30.1.21"]
assert plc["vendor"] == "Beckhoff", plc
assert "plc" in [r["role"] for r in plc["roles"]], plc  # it serves ADS (src/inventory/roles.c)
assert plc["model"] == "Plc30 App" and plc["firmware"] == "3.1.4024", plc
facts = {(e["attribute"], e["value"]) for e in plc["evidence"] if e["source"] == "ads"}
assert ("ams_netid", "10.30.1.21.1.1") in facts, facts
hmi_facts = {(e["attribute"], e["value"]) for e in inv["10.20.0.20"]["evidence"]}
assert ("ams_netid", "10.20.0.20.1.1") in hmi_facts, hmi_facts
print(len(F.alerts), "findings")
PY
pass "ADS: ics.cpu_state (critical) for STOP to port 851, ics.write for a write by handle;" \
    "nothing of the reading HMI; inventory Beckhoff, Plc30 App, 3.1.4024"
