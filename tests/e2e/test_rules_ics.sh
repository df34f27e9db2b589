#!/usr/bin/env bash
# The per-transaction rules (docs/detections.md, "Operations on industrial devices" and
# "Reconnaissance") end to end, each on a capture built for it with tests/e2e/pcapbuild.py and a
# small site file: ics.write, ics.program (undocumented, and documented by a change record),
# ics.cpu_state inside a maintenance window, ics.restart, ics.config (BACnet
# DeviceCommunicationControl, PROFINET DCP Set, tank-gauge set command), recon.ics_discovery
# (CIP List Identity to the broadcast address), with owner, actor, zone, severity and the
# documented state; and their near misses: a Modbus read, an S7 read, a tank-gauge inquiry, a
# BACnet I-Am broadcast, an SNMP set and an FTP upload raise none of them. Then, with a
# baseline: the learnt writer and identity reader stay quiet, a new one is reported.
# ics.firmware has no test: no parser sets the firmware operation class yet.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (operations on industrial devices)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
  - {id: integrator, name: Systems integrator}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], vlans: [20], owner: operator, security_level: 2}
  - id: cranes
    cidrs: [10.30.0.0/16]
    vlans: [30]
    owner: vendor
    security_level: 3
    maintenance_windows: [{days: [sun], start: "02:00", end: "06:00"}]
conduits:
  - {from: scada, to: cranes, allow: [modbus/502], operations: [read, write]}
assets:
  - {match: {ip: 10.30.1.12}, name: plc2, role: plc}
changes:
  - id: CHG-7
    by: integrator
    title: Logic change on plc2
    window: {start: "2026-11-20T09:00:00Z", end: "2026-11-20T11:00:00Z"}
    scope: [asset:plc2]
    expect: [comm.new_edge]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

# One capture: Friday 2026-11-20 10:00 UTC (inside CHG-7, outside the maintenance window), then
# Sunday 03:00 (inside the cranes' maintenance window).
python3 - "$work/ops.pcap" <<'PY' || fail "building the capture"
import struct, sys
import pcapbuild as pb

hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
hmi2 = pb.Host("02:00:00:20:00:21", "10.20.0.21")
gauge = pb.Host("02:00:00:20:00:40", "10.20.0.40")
ews = pb.Host("02:00:00:30:00:50", "10.30.0.50")
switch = pb.Host("02:00:00:30:00:02", "10.30.0.2")
ftpd = pb.Host("02:00:00:30:00:03", "10.30.0.3")
plc1 = pb.Host("02:00:00:30:01:11", "10.30.1.11")
plc2 = pb.Host("02:00:00:30:01:12", "10.30.1.12")
plc3 = pb.Host("02:00:00:30:01:13", "10.30.1.13")
bms = pb.Host("02:00:00:30:02:10", "10.30.2.10")
bdev = pb.Host("02:00:00:30:02:20", "10.30.2.20")
pnio = pb.Host("02:00:00:30:03:30", "10.30.3.30", vlan=30)
SOH, ETX = b"\x01", b"\x03"


def s7_session(w, cli, srv, jobs):
    """COTP connect, setup communication, then each (parameter, ack parameter, data)."""
    c = pb.Tcp(w, cli, srv, 102)
    c.exchange(pb.cotp_cr(), pb.cotp_cc())
    c.exchange(pb.tpkt_cotp_dt(pb.s7_setup_comm(1)),
               pb.tpkt_cotp_dt(pb.s7_setup_comm(1, rosctr=3)))
    for ref, (par, ack, data, ack_data) in enumerate(jobs, start=2):
        c.exchange(pb.tpkt_cotp_dt(pb.s7_header(1, ref, par, data)),
                   pb.tpkt_cotp_dt(pb.s7_header(3, ref, ack, ack_data)))
    c.close()


# S7comm request download (function 0x1a) of DB1: status, 6 bytes, file name "_0A00001P"
# (block type 0A, number 00001, passive), then "1" + load-memory and MC7 lengths.
fname, lengths = b"_0A00001P", b"1000200000100"
DOWNLOAD = (b"\x1a\x00\x01\x00\x00\x00\x00\x00" + bytes([len(fname)]) + fname +
            bytes([len(lengths)]) + lengths, b"\x1a", b"", b"")
# PLC stop (0x29): five unused bytes, then the PI service name.
STOP = (b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM", b"\x29", b"", b"")
# Read var (0x04) of DB1.DBW0: one S7ANY item; the answer: success, word length, two bytes.
READ = (b"\x04\x01\x12\x0a\x10\x02\x00\x01\x00\x01\x84\x00\x00\x00", b"\x04\x01",
        b"", b"\xff\x04\x00\x10\x12\x34")


def bvlc(npdu_apdu, broadcast=False):
    return struct.pack("!BBH", 0x81, 0x0B if broadcast else 0x0A, 4 + len(npdu_apdu)) + npdu_apdu


def ber(tag, body):
    n = len(body)
    return bytes([tag]) + (bytes([n]) if n < 128 else bytes([0x81, n])) + body


def ber_int(v):
    return ber(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big"))


with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # ics.write: the HMI writes a holding register of plc1 (FC 6) ...
    c = pb.Tcp(w, hmi, plc1, 502)
    c.exchange(pb.mbap(1, 1, struct.pack("!BHH", 6, 99, 1234)),
               pb.mbap(1, 1, struct.pack("!BHH", 6, 99, 1234)))
    c.close()
    # ... near miss: another HMI only reads (FC 3)
    c = pb.Tcp(w, hmi2, plc1, 502)
    c.exchange(pb.mbap(1, 1, struct.pack("!BHH", 3, 0, 2)),
               pb.mbap(1, 1, struct.pack("!BBHH", 3, 4, 7, 8)))
    c.close()
    # ics.program: a download into plc1 (undocumented) and into plc2 (inside CHG-7);
    # near miss: the same workstation only reads plc3
    s7_session(w, ews, plc1, [DOWNLOAD])
    s7_session(w, ews, plc2, [DOWNLOAD])
    s7_session(w, ews, plc3, [READ])
    # ics.config and ics.restart over BACnet/IP: DeviceCommunicationControl (service 17,
    # enable-disable = disable) and ReinitializeDevice (20, warmstart), each simple-ACKed
    w.write(pb.udp(bms, bdev, 47808, 47808, bvlc(b"\x01\x04\x00\x05\x11\x11\x19\x01")))
    w.write(pb.udp(bdev, bms, 47808, 47808, bvlc(b"\x01\x00\x20\x11\x11")))
    w.write(pb.udp(bms, bdev, 47808, 47808, bvlc(b"\x01\x04\x00\x05\x12\x14\x09\x01")))
    w.write(pb.udp(bdev, bms, 47808, 47808, bvlc(b"\x01\x00\x20\x12\x14")))
    # near miss: the device's I-Am to the subnet broadcast (an announcement, not a question)
    iam = (b"\x10\x00\xc4" + struct.pack("!I", (8 << 22) | 1201) + b"\x22\x05\xc4\x91\x03"
           b"\x21\x24")
    bcast30 = pb.Host(pb.BROADCAST_MAC, "10.30.255.255")
    w.write(pb.udp(bdev, bcast30, 47808, 47808, bvlc(b"\x01\x00" + iam, broadcast=True)))
    # ics.config over PROFINET DCP (tagged VLAN 30, the cranes' zone: the frames carry no IP
    # address): Set NameOfStation, permanent; its answer
    name = b"crane-io-3"
    blk = struct.pack("!BBHH", 2, 2, 2 + len(name), 1) + name
    w.write(pb.raw(pnio.mac, ews.mac, 0x8892,
                   struct.pack("!HBBIHH", 0xFEFD, 4, 0, 0x1234, 0, len(blk)) + blk, vlan=30))
    rsp = struct.pack("!BBHBBB", 5, 4, 3, 2, 2, 0) + b"\0"
    w.write(pb.raw(ews.mac, pnio.mac, 0x8892,
                   struct.pack("!HBBIHH", 0xFEFD, 4, 1, 0x1234, 0, len(rsp)) + rsp, vlan=30))
    # ics.config on a tank gauge: set the product label of tank 1 (display format) ...
    c = pb.Tcp(w, hmi, gauge, 10001)
    c.exchange(SOH + b"S60201SUPER UNLEADED\r\n",
               SOH + b"\r\nS60201\r\nTANK PRODUCT LABEL\r\n  1 SUPER UNLEADED\r\n" + ETX)
    c.close()
    # ... near miss: another HMI only asks for the inventory report
    c = pb.Tcp(w, hmi2, gauge, 10001)
    c.exchange(SOH + b"I20100\r\n",
               SOH + b"\r\nI20100\r\nNOV 20, 2026 10:00 AM\r\n\r\nIN-TANK INVENTORY\r\n" + ETX)
    c.close()
    # recon.ics_discovery: CIP List Identity (command 0x63) to the broadcast address
    w.write(pb.udp(hmi2, pb.BROADCAST_HOST, 50000, 44818,
                   struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0)))
    # near misses over IT protocols: an SNMP v2c set of sysName on a switch, an FTP upload
    oid = b"\x06\x08\x2b\x06\x01\x02\x01\x01\x05\x00"
    varbind = ber(0x30, ber(0x30, oid + ber(0x04, b"crane-sw1")))
    pdu = ber(0xA3, ber_int(4242) + ber_int(0) + ber_int(0) + varbind)
    w.write(pb.udp(hmi, switch, 50161, 161, ber(0x30, ber_int(1) + ber(0x04, b"private") + pdu)))
    rsp = ber(0xA2, ber_int(4242) + ber_int(0) + ber_int(0) + varbind)
    w.write(pb.udp(switch, hmi, 161, 50161, ber(0x30, ber_int(1) + ber(0x04, b"private") + rsp)))
    c = pb.Tcp(w, ews, ftpd, 21)
    c.reply(b"220 ready\r\n")
    for cmd, ans in ((b"USER ops\r\n", b"331 password\r\n"), (b"PASS Hunter2x\r\n", b"230 in\r\n"),
                     (b"PORT 10,30,0,50,200,10\r\n", b"200 ok\r\n"),
                     (b"STOR crane.cfg\r\n", b"150 go\r\n226 stored\r\n"),
                     (b"QUIT\r\n", b"221 bye\r\n")):
        c.exchange(cmd, ans)
    c.close()

    # Sunday 03:00: plc1 stopped by the workstation inside the maintenance window
    w.at("2026-11-22T03:00:00Z")
    s7_session(w, ews, plc1, [STOP])
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/ops.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" <<'PY' || fail "findings are wrong"
import json, sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
al, recs, one, none_for = F.alerts, F.records, F.one, F.none_for

ICS = {"ics.write", "ics.program", "ics.cpu_state", "ics.restart", "ics.firmware",
       "ics.config", "recon.ics_discovery"}
w = one("ics.write", "10.30.1.11", "10.20.0.20", severity="medium", owner="vendor",
        zone="cranes", peer_zone="scada", documented=False)
assert "actor" not in w and "change_id" not in w, w
assert w["evidence"]["app_proto"] == "modbus" and w["evidence"]["function"] == 6, w
assert w["evidence"]["ops"] == ["write"], w
none_for(peer="10.20.0.21", asset="10.30.1.11")  # the read: nothing, not even a conduit finding

p = one("ics.program", "10.30.1.11", "10.30.0.50", severity="high", owner="vendor",
        zone="cranes", peer_zone="cranes", documented=False)
assert p["evidence"]["function_name"] == "request_download" and "program" in p["evidence"]["ops"]
d = one("ics.program", "10.30.1.12", "10.30.0.50", severity="low", owner="vendor",
        zone="cranes", documented=True, change_id="CHG-7", actor="integrator")
none_for(asset="10.30.1.13")  # an S7 read

st = one("ics.cpu_state", "10.30.1.11", "10.30.0.50", severity="high", owner="vendor",
         zone="cranes", documented=False, maintenance_window=True)
assert st["evidence"]["function_name"] == "plc_stop" and st["evidence"]["ops"] == ["stop"], st

c = one("ics.config", "10.30.2.20", "10.30.2.10", severity="high", owner="vendor",
        zone="cranes", documented=False)
assert c["evidence"]["function_name"] == "device_communication_control", c
r = one("ics.restart", "10.30.2.20", "10.30.2.10", severity="high", owner="vendor")
assert r["evidence"]["function_name"] == "reinitialize_device", r
dcp = one("ics.config", "mac:02:00:00:30:03:30", "mac:02:00:00:30:00:50", severity="high",
          owner="vendor", zone="cranes", peer_zone="cranes", documented=False)
assert dcp["evidence"]["app_proto"] == "profinet_dcp" and dcp["evidence"]["function_name"] == "set"
g = one("ics.config", "10.20.0.40", "10.20.0.20", severity="high", owner="operator",
        zone="scada", peer_zone="scada", documented=False)
assert g["evidence"]["app_proto"] == "atg", g
none_for(asset="10.20.0.40", peer="10.20.0.21")  # the inventory inquiry

disc = one("recon.ics_discovery", "255.255.255.255", "10.20.0.21", severity="medium",
           peer_zone="scada", documented=False)
assert disc["evidence"]["app_proto"] == "enip" and disc["evidence"]["function_name"] == "list_identity"
none_for(peer="10.30.2.20", rules=ICS)  # the I-Am broadcast
assert len([a for a in al if a["rule"] == "recon.ics_discovery"]) == 1, al

# IT protocols: the SNMP set and the FTP upload were parsed (their clear-text credentials are
# reported) but are no operations on an industrial device
for it in ("10.30.0.2", "10.30.0.3"):
    none_for(asset=it, rules=ICS)
    assert [a for a in al if a["asset"] == it and a["rule"] == "cred.plaintext"], (it, al)
print(len(al), "findings")
PY
pass "ics.write, ics.program (undocumented and CHG-7), ics.cpu_state (maintenance), ics.restart, ics.config (BACnet, DCP, ATG), recon.ics_discovery; no finding on the near misses"

# With a baseline: learn the HMI writing and asking plc1's identity (FC 43/14); then the same
# again is quiet, a new writer and a new asker are reported.
python3 - "$work/learn.pcap" "$work/after.pcap" <<'PY' || fail "building the baseline captures"
import struct, sys
import pcapbuild as pb
hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
laptop = pb.Host("02:00:00:20:00:99", "10.20.0.99")
plc1 = pb.Host("02:00:00:30:01:11", "10.30.1.11")
WRITE = (pb.mbap(1, 1, struct.pack("!BHH", 6, 99, 1234)),
         pb.mbap(1, 1, struct.pack("!BHH", 6, 99, 1234)))
objs = b"".join(bytes([i, len(v)]) + v for i, v in enumerate((b"Acme", b"PLC-9", b"V2.1")))
IDENT = (pb.mbap(2, 1, b"\x2b\x0e\x01\x00"),
         pb.mbap(2, 1, b"\x2b\x0e\x01\x01\x00\x00\x03" + objs))
for path, start, clients in ((sys.argv[1], "2026-11-20T08:00:00Z", [hmi]),
                             (sys.argv[2], "2026-11-20T10:00:00Z", [hmi, laptop])):
    with pb.Writer(path, start=start) as w:
        for cli in clients:
            c = pb.Tcp(w, cli, plc1, 502)
            c.exchange(*WRITE)
            c.exchange(*IDENT)
            c.close()
PY
"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/b.db" --learn "$work/learn.pcap" ||
    fail "learn"
"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/b.db" --events "$work/ev2.json" \
    "$work/after.pcap" || fail "analyze after learning"
python3 - "$work/ev2.json" <<'PY' || fail "baseline-aware ics.write / recon.ics_discovery are wrong"
import json, sys
recs = [json.loads(l)["alert"] for l in open(sys.argv[1]) if '"event_type":"alert"' in l]
got = sorted((r["rule"], r["asset"], r.get("peer")) for r in recs
             if r["rule"] in ("ics.write", "recon.ics_discovery"))
want = [("ics.write", "10.30.1.11", "10.20.0.99"),
        ("recon.ics_discovery", "10.30.1.11", "10.20.0.99")]
assert got == want, got
for r in recs:
    if r["rule"] in ("ics.write", "recon.ics_discovery"):
        assert r["owner"] == "vendor" and r["zone"] == "cranes" and r["peer_zone"] == "scada", r
        assert r["severity_name"] == "medium" and not r["documented"], r
PY
pass "with a baseline: the learnt writer and identity reader are quiet, the new host is reported"
