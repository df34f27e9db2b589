#!/usr/bin/env bash
# The baseline-change rules that the synthetic terminal does not script (docs/detections.md,
# "Baseline changes"), end to end on two captures built with tests/e2e/pcapbuild.py: learn the
# first with `analyze --learn`, analyse the second, and check comm.new_protocol (a known pair
# starts speaking S7comm), comm.new_operation (the first write on a read-only pair, undocumented;
# the same on another PLC inside a change record that expects it: documented, info, actor),
# asset.vendor_changed (a PLC answers Modbus device identification with another vendor) and
# asset.role_changed (the HMI starts downloading logic: an engineering workstation now), with owner,
# actor, zone, severity and the change record; and the near misses: the learnt reads and the
# unchanged identity raise nothing, and nothing is announced twice.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (baseline changes)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
  - {id: integrator, name: Systems integrator}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
assets:
  - {match: {ip: 10.30.1.12}, name: plc2, role: plc}
changes:
  - id: CHG-9
    by: integrator
    title: New setpoint writes to plc2
    window: {start: "2026-11-20T09:00:00Z", end: "2026-11-20T11:00:00Z"}
    scope: [asset:plc2]
    expect: [comm.new_operation]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/learn.pcap" "$work/after.pcap" <<'PY' || fail "building the captures"
import struct, sys
import pcapbuild as pb
hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
plc1 = pb.Host("02:00:00:30:01:11", "10.30.1.11")
plc2 = pb.Host("02:00:00:30:01:12", "10.30.1.12")
plc3 = pb.Host("02:00:00:30:01:13", "10.30.1.13")
READ = (pb.mbap(1, 1, struct.pack("!BHH", 3, 0, 2)), pb.mbap(1, 1, struct.pack("!BBHH", 3, 4, 7, 8)))
WRITE = (pb.mbap(2, 1, struct.pack("!BHH", 6, 9, 1)), pb.mbap(2, 1, struct.pack("!BHH", 6, 9, 1)))


def ident(vendor):
    """FC 43/14 read device identification (basic) and its answer: vendor, product code,
    revision."""
    objs = b"".join(bytes([i, len(v)]) + v for i, v in enumerate((vendor, b"PLC-9", b"V2.1")))
    return (pb.mbap(3, 1, b"\x2b\x0e\x01\x00"),
            pb.mbap(3, 1, b"\x2b\x0e\x01\x01\x00\x00\x03" + objs))


def modbus(w, cli, srv, *exchanges):
    c = pb.Tcp(w, cli, srv, 502)
    for x in exchanges:
        c.exchange(*x)
    c.close()


def s7(w, cli, srv, par, ack):
    c = pb.Tcp(w, cli, srv, 102)
    c.exchange(pb.cotp_cr(), pb.cotp_cc())
    c.exchange(pb.tpkt_cotp_dt(pb.s7_setup_comm(1)), pb.tpkt_cotp_dt(pb.s7_setup_comm(1, rosctr=3)))
    c.exchange(pb.tpkt_cotp_dt(pb.s7_header(1, 2, par)), pb.tpkt_cotp_dt(pb.s7_header(3, 2, ack)))
    c.close()


S7_READ = (b"\x04\x01\x12\x0a\x10\x02\x00\x01\x00\x01\x84\x00\x00\x00", b"\x04\x01")
fname, lengths = b"_0A00001P", b"1000200000100"
S7_DOWNLOAD = (b"\x1a\x00\x01\x00\x00\x00\x00\x00" + bytes([len(fname)]) + fname +
               bytes([len(lengths)]) + lengths, b"\x1a")

# learnt: the HMI reads plc1 (and its identity) and plc2, over Modbus only
with pb.Writer(sys.argv[1], start="2026-11-20T08:00:00Z") as w:
    modbus(w, hmi, plc1, READ, ident(b"Acme Automation"))
    modbus(w, hmi, plc2, READ)
# two hours later
with pb.Writer(sys.argv[2], start="2026-11-20T10:00:00Z") as w:
    modbus(w, hmi, plc1, READ, WRITE, ident(b"Other Controls"))   # new operation, new vendor
    s7(w, hmi, plc1, *S7_READ)                                     # new protocol
    modbus(w, hmi, plc2, READ, WRITE)                              # new operation, in CHG-9
    s7(w, hmi, plc3, *S7_DOWNLOAD)                                 # the HMI programs a PLC
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --learn "$work/learn.pcap" ||
    fail "learn"
"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/after.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" <<'PY' || fail "findings are wrong"
import sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
al, one = F.alerts, F.one
HMI, PLC1, PLC2, PLC3 = ("mac:02:00:00:20:00:20", "mac:02:00:00:30:01:11",
                         "mac:02:00:00:30:01:12", "mac:02:00:00:30:01:13")


def of(rule):
    return sorted((a["asset"], a.get("peer"), a["evidence"].get("detail") or a["evidence"].get("new"))
                  for a in al if a["rule"] == rule)


p = one("comm.new_protocol", PLC1, HMI, severity="low", owner="vendor", zone="cranes",
        peer_zone="scada", documented=False)
assert p["evidence"]["detail"].startswith("s7comm/tcp/102"), p
assert of("comm.new_protocol") == [(PLC1, HMI, p["evidence"]["detail"])], of("comm.new_protocol")

o = one("comm.new_operation", PLC1, HMI, severity="medium", owner="vendor", zone="cranes",
        peer_zone="scada", documented=False)
assert o["evidence"]["new"] == "write" and o["evidence"]["detail"] == "modbus/tcp/502 op write", o
d = one("comm.new_operation", PLC2, HMI, severity="info", owner="vendor", zone="cranes",
        documented=True, change_id="CHG-9", actor="integrator")
assert d["evidence"]["new"] == "write", d
# only the writes are new operations: the learnt reads are not
assert of("comm.new_operation") == [(PLC1, HMI, "modbus/tcp/502 op write"),
                                    (PLC2, HMI, "modbus/tcp/502 op write")], of("comm.new_operation")

v = one("asset.vendor_changed", PLC1, None, severity="high", owner="vendor", zone="cranes",
        documented=False)
assert v["evidence"]["old"] == "Acme Automation" and v["evidence"]["new"] == "Other Controls", v
assert v["message"] == PLC1 + " vendor: Acme Automation -> Other Controls", v
assert len(of("asset.vendor_changed")) == 1, of("asset.vendor_changed")
# the model and the firmware did not change
assert not [a for a in al if a["rule"] == "asset.identity_changed"], of("asset.identity_changed")

r = one("asset.role_changed", HMI, None, severity="low", owner="operator", zone="scada",
        documented=False)
assert r["evidence"]["old"] == "hmi" and r["evidence"]["new"] == "engineering_workstation", r
assert r["message"] == HMI + " roles: hmi -> engineering_workstation", r
assert len(of("asset.role_changed")) == 1, of("asset.role_changed")
# plc3 is a new device, the HMI's connection to it a new edge (docs/baseline.md)
assert of("comm.new_edge")[0][:2] == (PLC3, HMI), of("comm.new_edge")
print(len(al), "findings")
PY
pass "comm.new_protocol, comm.new_operation (undocumented and CHG-9), asset.vendor_changed, asset.role_changed; none for the learnt reads"

# The same changes are states of the store: a second run over the same capture announces none
# of them again.
"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev2.json" \
    "$work/after.pcap" || fail "second analyze"
n=$(grep -cE '"rule":"(comm\.new_protocol|comm\.new_operation|asset\.vendor_changed|asset\.role_changed)"' "$work/ev2.json" || true)
[ "$n" -eq 0 ] || fail "$n baseline-change alert records announced again"
[ "$(sql "$work/s.db" "SELECT count FROM findings WHERE rule = 'asset.vendor_changed'")" = 1 ] ||
    fail "asset.vendor_changed count grew run after run"
pass "baseline changes are announced once"
