#!/usr/bin/env bash
# The network and protocol-health rules (docs/detections.md, "Credentials and protocol
# health") end to end on a capture built with tests/e2e/pcapbuild.py and a small site file:
# net.arp_conflict for an address claimed by a second MAC within a minute and for an ARP reply
# whose sender is not the frame's source, proto.malformed for a Modbus request with a quantity
# out of range, proto.weak_security for an HMI whose VNC server lets anyone in (security type
# None: high, from rules.c's weakness table, where malformed data is low), each with owner,
# zone and severity; and their near misses: a device repeating its own gratuitous ARP, an
# address answered by another MAC after more than a minute (a swapped device, which the
# baseline reports as asset.mac_changed), a well-formed read of the largest allowed quantity,
# a VNC server that asks for a password. A client's expired self-signed TLS certificate is a
# weakness of the client: its finding names the laptop, not the server that checked it.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (network and protocol health)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
conduits:
  - {from: scada, to: cranes, allow: [modbus/502, vnc/5900], operations: [read, write]}
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/net.pcap" <<'PY' || fail "building the capture"
import struct, sys
import pcapbuild as pb
hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
hmi2 = pb.Host("02:00:00:20:00:21", "10.20.0.21")
plc1 = pb.Host("02:00:00:30:01:11", "10.30.1.11")
rogue = pb.Host("02:00:00:66:66:66", "10.30.1.11")        # claims plc1's address
plc2 = pb.Host("02:00:00:30:01:12", "10.30.1.12")
plc3 = pb.Host("02:00:00:30:01:13", "10.30.1.13")
plc4 = pb.Host("02:00:00:30:01:14", "10.30.1.14")
plc4_new = pb.Host("02:00:00:30:01:41", "10.30.1.14")     # plc4 replaced, 5 minutes later

with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # net.arp_conflict (arp.ip_conflict): plc1 answers for 10.30.1.11, ten seconds later
    # another MAC does
    w.write(pb.arp_request(hmi, plc1.ip))
    w.write(pb.arp_reply(plc1, hmi), gap=10)
    w.write(pb.arp_reply(rogue, hmi), gap=1)
    # net.arp_conflict (arp.reply_mac_mismatch): a reply for 10.30.1.13 whose sender hardware
    # address is not the frame's Ethernet source
    w.write(pb.arp(2, "02:00:00:30:01:99", plc3.ip, hmi.mac, hmi.ip, src_mac=plc3.mac), gap=1)
    # near miss: plc2 repeats its gratuitous ARP
    for _ in range(3):
        w.write(pb.arp(1, plc2.mac, plc2.ip, "00:00:00:00:00:00", plc2.ip), gap=20)
    # near miss: plc4 answers, then five minutes later its replacement does
    w.write(pb.arp_reply(plc4, hmi), gap=300)
    w.write(pb.arp_reply(plc4_new, hmi), gap=1)
    # proto.malformed: read 200 holding registers (FC 3 allows 1-125), answered with
    # exception 3 (illegal data value)
    c = pb.Tcp(w, hmi, plc1, 502)
    c.exchange(pb.mbap(1, 1, struct.pack("!BHH", 3, 0, 200)), pb.mbap(1, 1, b"\x83\x03"))
    c.close()
    # near miss: the largest read FC 3 allows
    c = pb.Tcp(w, hmi2, plc1, 502)
    c.exchange(pb.mbap(1, 1, struct.pack("!BHH", 3, 0, 125)),
               pb.mbap(1, 1, struct.pack("!BB", 3, 250) + bytes(250)))
    c.close()
    # proto.weak_security: the crane HMI's VNC server (RFB 3.8) offers and accepts security
    # type None (1); near miss: the next one offers only VNC authentication (2)
    for panel, sec in ((plc2, 1), (plc3, 2)):
        c = pb.Tcp(w, hmi, panel, 5900)
        c.reply(b"RFB 003.008\n")
        c.send(b"RFB 003.008\n")
        c.reply(bytes([1, sec]))
        c.send(bytes([sec]))
        if sec == 2:
            c.reply(bytes(range(16)))
            c.send(bytes(range(16, 32)))
        c.reply(struct.pack("!I", 0))
        c.close()
    # proto.weak_security about a client: a vendor laptop in the cranes authenticates to the
    # SCADA server with an expired self-signed certificate; the laptop is the asset, not the
    # server (near miss: the server's own certificate is valid)
    laptop = pb.Host("02:00:00:30:01:20", "10.30.1.20")
    server = pb.Host("02:00:00:20:00:30", "10.20.0.30")
    c = pb.Tcp(w, laptop, server, 443)
    c.send(pb.tls_client_hello())
    c.reply(pb.tls_server_hello() + pb.tls_certificate(
        pb.x509_cert("scada01.terminal.example", "Terminal CA", "250101000000Z",
                     "351231235959Z")))
    c.send(pb.tls_certificate(pb.x509_cert("vendor-laptop-3", "vendor-laptop-3",
                                           "150101000000Z", "201231235959Z",
                                           subject_o="Crane Vendor", issuer_o="Crane Vendor")))
    c.close()
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/net.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" <<'PY' || fail "findings are wrong"
import sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
al, one = F.alerts, F.one

# the second claimant is the subject; owner and zone from the address it claims
c = one("net.arp_conflict", "mac:02:00:00:66:66:66", None, severity="medium", owner="vendor",
        zone="cranes", documented=False)
assert c["evidence"]["anomaly"] == "arp.ip_conflict", c
assert "10.30.1.11" in c["evidence"]["detail"] and "02:00:00:30:01:11" in c["evidence"]["detail"], c
m = one("net.arp_conflict", "mac:02:00:00:30:01:13", None, severity="medium", owner="vendor",
        zone="cranes")
assert m["evidence"]["anomaly"] == "arp.reply_mac_mismatch", m
arp = [a["asset"] for a in al if a["rule"] == "net.arp_conflict"]
assert sorted(arp) == ["mac:02:00:00:30:01:13", "mac:02:00:00:66:66:66"], arp

p = one("proto.malformed", "10.30.1.11", "10.20.0.20", severity="low", owner="vendor",
        zone="cranes", peer_zone="scada", documented=False)
assert p["evidence"]["anomaly"] == "modbus.invalid_quantity", p
mal = [(a["asset"], a.get("peer")) for a in al if a["rule"] == "proto.malformed"]
assert mal == [("10.30.1.11", "10.20.0.20")], mal

w = one("proto.weak_security", "10.30.1.12", "10.20.0.20", severity="high", owner="vendor",
        zone="cranes", peer_zone="scada", documented=False)
assert w["evidence"]["anomaly"] == "vnc.no_authentication", w
for anomaly in ("tls.expired_certificate", "tls.self_signed_certificate"):
    t = [a for a in al if a["rule"] == "proto.weak_security" and a["evidence"]["anomaly"] == anomaly]
    assert len(t) == 1 and t[0]["asset"] == "10.30.1.20" and t[0]["peer"] == "10.20.0.30", t
    assert t[0]["owner"] == "vendor" and t[0]["zone"] == "cranes", t[0]
    assert t[0]["peer_zone"] == "scada" and t[0]["evidence"]["anomaly"] == anomaly, t[0]
weak = sorted((a["asset"], a.get("peer")) for a in al if a["rule"] == "proto.weak_security")
assert weak == [("10.30.1.12", "10.20.0.20")] + [("10.30.1.20", "10.20.0.30")] * 2, weak
print(len(al), "findings")
PY
pass "net.arp_conflict (second claimant, spoofed reply), proto.malformed, proto.weak_security (a VNC server; a client's certificate, on the client); none on gratuitous ARP, a swap, a valid read, VNC with a password"
