#!/usr/bin/env bash
# The per-transaction rules on Omron FINS (src/proto/fins.c) end to end, on a capture built with
# tests/e2e/pcapbuild.py and a small site file: an engineering workstation puts an Omron PLC
# into STOP (0402), writes its program area (0307) and writes a DM word (0102), each answered
# with end code 0000, over FINS/UDP port 9600: ics.cpu_state (critical), ics.program (high)
# and ics.write fire with the PLC as asset and the workstation as peer. The near miss, an HMI
# that only reads (0101) and asks the controller data (0501), raises none of them. The
# inventory shows the PLC as an Omron with the model and version of the 0501 answer.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (Omron FINS)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Conveyor automation vendor}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: conveyors, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
conduits:
  - {from: scada, to: conveyors, allow: [fins/9600], operations: [read]}
assets:
  - {match: {ip: 10.30.1.21}, name: conveyor-plc, role: plc}
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/fins.pcap" <<'PY' || fail "building the capture"
import struct, sys
import pcapbuild as pb

ews = pb.Host("02:00:00:30:00:50", "10.30.0.50")
hmi = pb.Host("02:00:00:20:00:21", "10.20.0.21")
plc = pb.Host("02:00:00:30:01:21", "10.30.1.21")


def header(response, sid, cmd, src_node, dst_node):
    """A FINS header (W342 s.3): ICF (gateway, command or response), RSV, GCT 2, destination
    and source network/node/unit, SID, command code."""
    icf = 0xC0 if response else 0x80
    return struct.pack("!BBBBBBBBBBH", icf, 0, 2, 0, dst_node, 0, 0, src_node, 0, sid, cmd)


def exchange(w, cli, node, sid, cmd, params, answer=b""):
    """A command from `cli` (FINS node `node`) to the PLC (node 21), answered with end code 0."""
    w.write(pb.udp(cli, plc, 9600, 9600, header(False, sid, cmd, node, 21) + params))
    w.write(pb.udp(plc, cli, 9600, 9600, header(True, sid, cmd, 21, node) + b"\x00\x00" + answer))


def text(s, width=20):
    return s.encode() + b"\x00" * (width - len(s))


with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # the near miss: the HMI reads D100 (2 words) and the controller data
    exchange(w, hmi, 1, 1, 0x0101, b"\x82\x00\x64\x00\x00\x02", b"\x12\x34\x56\x78")
    exchange(w, hmi, 1, 2, 0x0501, b"\x00", text("CJ2M-CPU33") + text("02.01") + bytes(52))
    # the engineering workstation: STOP, a program area write, a DM write
    exchange(w, ews, 50, 1, 0x0402, b"\xff\xff")
    exchange(w, ews, 50, 2, 0x0307, b"\xff\xff\x00\x00\x01\x00\x80\x04\xde\xad\xbe\xef",
             b"\xff\xff\x00\x00\x01\x00\x80\x04")
    exchange(w, ews, 50, 3, 0x0102, b"\x82\x00\x0a\x00\x00\x01\x00\x2a")
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/fins.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
"$qw" inventory --site "$work/site.yaml" --db "$work/s.db" --format json >"$work/inv.json" ||
    fail "inventory"
python3 - "$work/alerts.json" "$work/ev.json" "$work/inv.json" <<'PY' || fail "findings are wrong"
import json, sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
one, none_for = F.one, F.none_for
ICS = {"ics.write", "ics.program", "ics.cpu_state", "ics.restart", "ics.firmware",
       "ics.config", "recon.ics_discovery"}
PLC, EWS, HMI = "10.30.1.21", "10.30.0.50", "10.20.0.21"

st = one("ics.cpu_state", PLC, EWS, severity="critical", owner="vendor", zone="conveyors",
         documented=False)
assert st["evidence"]["app_proto"] == "fins" and st["evidence"]["function"] == 0x0402, st
assert st["evidence"]["function_name"] == "stop" and st["evidence"]["ops"] == ["stop"], st
p = one("ics.program", PLC, EWS, severity="high", owner="vendor", documented=False)
assert p["evidence"]["function_name"] == "program_area_write", p
assert p["evidence"]["ops"] == ["program"], p
wr = one("ics.write", PLC, EWS, owner="vendor", documented=False)
assert wr["evidence"]["function_name"] == "memory_area_write", wr
assert wr["evidence"]["ops"] == ["write"], wr
none_for(peer=HMI, rules=ICS)  # reads and the controller data read
assert not [a for a in F.alerts if a["rule"] == "ics.write" and a["asset"] != PLC], F.alerts

# the paired transactions, as the event log has them
recs = [json.loads(l)["fins"] for l in open(sys.argv[2]) if '"event_type":"fins"' in l]
assert len(recs) == 5 and all("request" in r and "response" in r for r in recs), recs
assert recs[1]["response"]["model"] == "CJ2M-CPU33", recs[1]

devs = json.load(open(sys.argv[3]))
devs = devs.get("assets", devs) if isinstance(devs, dict) else devs
plc = [d for d in devs if PLC in json.dumps(d)]
assert len(plc) == 1, devs
plc = plc[0]
assert plc["vendor"] == "Omron" and plc["model"] == "CJ2M-CPU33", plc
assert plc["firmware"] == "02.01", plc
assert "plc" in [r["role"] for r in plc["roles"]], plc  # it serves FINS (src/inventory/roles.c)
print(len(F.alerts), "findings")
PY
pass "FINS STOP, program area write and memory write raise ics.cpu_state, ics.program, ics.write; the reader raises none; the inventory names the Omron model"
