#!/usr/bin/env bash
# The site rules (docs/detections.md, "Policy" and "Remote access") end to end, each on a
# capture built for it with tests/e2e/pcapbuild.py and a small site file: policy.unknown_zone
# (an unzoned host reaching a zoned PLC, and a zoned PLC reaching an unzoned host),
# policy.unowned_asset (medium in an OT zone, low elsewhere, announced once), a write over a
# read-only conduit (policy.conduit_violation), remote.access from the jump host into a target
# zone, remote.vpn_session (WireGuard, also on UDP 443, OpenVPN, IKE, ESP; the ledger's protocol
# and the gateway's vpn_gateway role), remote.unsanctioned_vpn (a box in the cranes dialling
# OpenVPN over TCP 443 to the internet), each with owner, actor, zone and severity; and their
# near misses: two unzoned hosts, a device owned by declaration in an ownerless zone, a read
# inside the read-only conduit, SSH inside a zone or into a zone that is not a remote-access
# target, text on WireGuard's port, VPNs to the gateway in the DMZ and ESP to a declared
# vpn_gateway inside the cranes; TeamViewer dialling its relay from a crane workstation
# (remote.access and remote.bypass_jump_host into it) and, as a near miss, from the scada zone.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (policy and remote access)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
  - {id: itpartner, name: IT partner}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
  - {id: dmz, cidrs: [10.50.0.0/24], owner: itpartner, security_level: 2}
  - {id: vendor-vpn, cidrs: [10.50.8.0/24], owner: vendor, security_level: 1}
  - {id: yard, cidrs: [10.70.0.0/16], security_level: 2}
  - {id: guest, cidrs: [10.80.0.0/16], security_level: 1}
conduits:
  - {from: scada, to: cranes, allow: [modbus/502], operations: [read]}
  - {from: vendor-vpn, to: dmz, allow: [ssh/22]}
  - {from: dmz, to: cranes, allow: [ssh/22]}
  - {from: yard, to: scada, allow: [tcp/8080]}
assets:
  - {match: {ip: 10.50.0.10}, name: jump01, role: jump_host}
  - {match: {ip: 10.70.0.5}, name: yard-gw, owner: operator}
  - {match: {ip: 10.30.0.2}, name: crane-vpngw, role: vpn_gateway}
remote_access:
  jump_hosts: [jump01]
  vpn_pools: [10.50.8.0/24]
  windows: [{days: [mon, tue, wed, thu, fri], start: "07:00", end: "18:00"}]
  parties: [vendor]
  zones: [cranes]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

# Friday 2026-11-20 10:00 UTC: inside the remote-access window.
python3 - "$work/site.pcap" "$work/again.pcap" <<'PY' || fail "building the captures"
import struct, sys
import pcapbuild as pb

stranger = pb.Host("02:00:00:99:00:05", "192.168.99.5")
stranger2 = pb.Host("02:00:00:99:00:06", "192.168.99.6")
outside = pb.Host("02:00:00:99:00:07", "198.51.100.7")
hmi = pb.Host("02:00:00:20:00:20", "10.20.0.20")
hmi2 = pb.Host("02:00:00:20:00:21", "10.20.0.21")
historian = pb.Host("02:00:00:20:00:30", "10.20.0.30")
ews = pb.Host("02:00:00:30:00:50", "10.30.0.50")
plc1 = pb.Host("02:00:00:30:01:11", "10.30.1.11")
jump = pb.Host("02:00:00:50:00:10", "10.50.0.10")
vpngw = pb.Host("02:00:00:50:00:02", "10.50.0.2")
vpncli = pb.Host("02:00:00:50:08:23", "10.50.8.23")
yard_gw = pb.Host("02:00:00:70:00:05", "10.70.0.5")
yard_pc = pb.Host("02:00:00:70:00:09", "10.70.0.9")
guest = pb.Host("02:00:00:80:00:07", "10.80.0.7")
guest2 = pb.Host("02:00:00:80:00:08", "10.80.0.8")
laptop = pb.Host("02:00:00:ee:00:01", "203.0.113.7")
rsb = pb.Host("02:00:00:30:00:20", "10.30.0.20")
relay = pb.Host("02:00:00:99:00:40", "198.51.100.40")
crane_vpngw = pb.Host("02:00:00:30:00:02", "10.30.0.2")
tv_relay = pb.Host("02:00:00:99:00:50", "198.51.100.50")
READ = (pb.mbap(1, 1, struct.pack("!BHH", 3, 0, 2)), pb.mbap(1, 1, struct.pack("!BBHH", 3, 4, 7, 8)))
WRITE = (pb.mbap(2, 1, struct.pack("!BHH", 6, 9, 1)), pb.mbap(2, 1, struct.pack("!BHH", 6, 9, 1)))


def tcp(w, cli, srv, port, *exchanges):
    c = pb.Tcp(w, cli, srv, port)
    for req, rsp in exchanges:
        c.exchange(req, rsp)
    c.close()


def ssh(w, cli, srv):
    tcp(w, cli, srv, 22, (b"SSH-2.0-OpenSSH_9.2p1\r\n", b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n"))


with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # policy.unknown_zone: an unzoned host reads plc1; plc1 opens a connection to another
    tcp(w, stranger, plc1, 502, READ)
    tcp(w, plc1, outside, 443, (b"\x16\x03\x01\x00\x00", b""))
    # near miss: two unzoned hosts
    tcp(w, stranger, stranger2, 80, (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"))
    # policy.unowned_asset: the yard zone has no owner (SL 2), nor has the guest zone (SL 1);
    # near miss: yard-gw is owned by declaration
    tcp(w, yard_pc, yard_gw, 8080, (b"GET /status HTTP/1.1\r\nHost: gw\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"))
    tcp(w, guest, guest2, 8080,
        (b"GET / HTTP/1.1\r\nHost: g\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"))
    # the read-only conduit: a read is fine, a write is not
    tcp(w, hmi, plc1, 502, READ)
    tcp(w, hmi2, plc1, 502, WRITE)
    # remote access: the vendor's VPN client to the jump host (dmz is no target), the jump host
    # into the cranes (remote.access, through the jump host, inside the window); near misses:
    # SSH inside the cranes, SSH inside scada
    ssh(w, vpncli, jump)
    ssh(w, jump, plc1)
    ssh(w, ews, plc1)
    ssh(w, hmi, historian)
    # VPN sessions from a laptop on the internet to the VPN gateway: WireGuard handshake
    # initiation (type 1, 148 bytes) and response (type 2, 92 bytes) ...
    w.write(pb.udp(laptop, vpngw, 40001, 51820, struct.pack("<I", 1) + bytes(range(144))))
    w.write(pb.udp(vpngw, laptop, 51820, 40001, struct.pack("<I", 2) + bytes(88)))
    # ... OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key 0), session id, no ack, id 0
    w.write(pb.udp(laptop, vpngw, 40002, 1194, b"\x38" + bytes(range(1, 9)) + b"\0" + bytes(4)))
    # ... IKEv2 IKE_SA_INIT (version 2.0, exchange 34, initiator) offering one proposal: IKE,
    # one transform, D-H group 19 (RFC 7296 s.3.1, 3.3)
    xform = struct.pack("!BBHBBH", 0, 0, 8, 4, 0, 19)
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(xform), 1, 1, 0, 1) + xform
    sa = struct.pack("!BBH", 0, 0, 4 + len(prop)) + prop
    w.write(pb.udp(laptop, vpngw, 500, 500, bytes(range(1, 9)) + bytes(8) +
                   struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(sa)) + sa))
    # ... and ESP (IP protocol 50): SPI, sequence number, encrypted bytes
    w.write(pb.ip_frame(laptop, vpngw, 50, struct.pack("!II", 0x1000, 1) + bytes(32)))
    # ... WireGuard on UDP 443, where only its packets tell what it is: an initiation, then
    # transport data (type 4, receiver index, counter, 16-byte tag)
    w.write(pb.udp(laptop, vpngw, 40004, 443, struct.pack("<I", 1) + bytes(range(7, 151))))
    w.write(pb.udp(laptop, vpngw, 40004, 443, struct.pack("<IIQ", 4, 0x1234, 0) + bytes(range(1, 17))))
    # near miss: WireGuard's port carrying something else (a 148-byte datagram of text)
    w.write(pb.udp(laptop, vpngw, 40003, 51820, b"not a wireguard handshake " * 5 + bytes(18)))
    # remote.unsanctioned_vpn: a remote-service box in the cranes dials OpenVPN over TCP 443 to
    # a relay on the internet (each packet after a 2-byte length): the client's hard reset
    # (opcode 7), the server's (opcode 8) acking the client's packet id 0 for its session
    cli_reset = b"\x38" + bytes(range(1, 9)) + b"\0" + bytes(4)
    srv_reset = b"\x40" + bytes(range(9, 17)) + b"\x01" + bytes(4) + bytes(range(1, 9)) + bytes(4)
    tcp(w, rsb, relay, 443, (struct.pack("!H", len(cli_reset)) + cli_reset,
                             struct.pack("!H", len(srv_reset)) + srv_reset))
    # remote.access and remote.bypass_jump_host: TeamViewer on a crane workstation dials its
    # relay (TCP 5938); near miss: the same from the scada zone, which is no target
    tcp(w, ews, tv_relay, 5938, (b"\x17\x24\x0a\x20" + bytes(12), b"\x17\x24\x0b\x20" + bytes(12)))
    tcp(w, historian, tv_relay, 5938, (b"\x17\x24\x0a\x20" + bytes(12), b"\x17\x24\x0b\x20" + bytes(12)))
    # near miss: ESP to a VPN gateway the site declares inside the cranes
    w.write(pb.ip_frame(laptop, crane_vpngw, 50, struct.pack("!II", 0x2000, 1) + bytes(32)))

# A second run: the same yard traffic an hour later
with pb.Writer(sys.argv[2], start="2026-11-20T11:00:00Z") as w:
    tcp(w, yard_pc, yard_gw, 8080, (b"GET /status HTTP/1.1\r\nHost: gw\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"))
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/site.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" <<'PY' || fail "findings are wrong"
import sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
al, one, rules_of = F.alerts, F.one, F.rules_of

# policy.unknown_zone: the unzoned host is the subject whichever end opened the flow, the
# owner is the zoned PLC's (the zone's owner), the PLC's zone is the peer zone
u = one("policy.unknown_zone", "192.168.99.5", "10.30.1.11", severity="low", owner="vendor",
        peer_zone="cranes", documented=False)
assert "zone" not in u and u["evidence"]["reason"] == "unzoned", u
one("policy.unknown_zone", "198.51.100.7", "10.30.1.11", severity="low", owner="vendor",
    peer_zone="cranes")
# (the VPN laptop on the internet is unzoned too: one finding for its six flows)
one("policy.unknown_zone", "203.0.113.7", "10.50.0.2", owner="itpartner", peer_zone="dmz", count=6)
one("policy.unknown_zone", "198.51.100.40", "10.30.0.20", owner="vendor", peer_zone="cranes")
one("policy.unknown_zone", "203.0.113.7", "10.30.0.2", owner="vendor", peer_zone="cranes")
one("policy.unknown_zone", "198.51.100.50", "10.30.0.50", owner="vendor", peer_zone="cranes")
one("policy.unknown_zone", "198.51.100.50", "10.20.0.30", owner="operator", peer_zone="scada")
uz = sorted((a["asset"], a["peer"]) for a in al if a["rule"] == "policy.unknown_zone")
assert len(uz) == 7 and not [p for p in uz if "192.168.99.6" in p], ("two unzoned hosts", uz)

# policy.unowned_asset: medium in the SL-2 yard, low in the SL-1 guest zone, low with no zone
y = one("policy.unowned_asset", "mac:02:00:00:70:00:09", None, severity="medium", owner=None,
        zone="yard", documented=False)
assert y["evidence"] == {"owner_rule": "none"}, y
one("policy.unowned_asset", "mac:02:00:00:80:00:07", None, severity="low", zone="guest")
s = one("policy.unowned_asset", "mac:02:00:00:99:00:05", None, severity="low")
assert "zone" not in s, s
owned = [a for a in al if a["rule"] == "policy.unowned_asset" and
         a["asset"] in ("mac:02:00:00:70:00:05", "mac:02:00:00:30:01:11", "mac:02:00:00:50:00:10")]
assert not owned, owned

# the read-only conduit
c = one("policy.conduit_violation", "10.30.1.11", "10.20.0.21", severity="high", owner="vendor",
        zone="cranes", peer_zone="scada", documented=False)
assert c["evidence"]["reason"] == "operation_not_allowed" and "write" in c["evidence"]["ops"], c
assert rules_of(peer="10.20.0.20") == [], rules_of(peer="10.20.0.20")

# remote.access from the jump host: the actor is the jump host's owner (its zone's)
r = one("remote.access", "10.30.1.11", "10.50.0.10", severity="medium", owner="vendor",
        actor="itpartner", zone="cranes", peer_zone="dmz", documented=False)
assert r["evidence"]["reason"] == "ssh" and r["evidence"]["app_proto"] == "ssh", r
# remote.unsanctioned_vpn: the box in the cranes that opened the tunnel is the asset, its
# owner the actor; not the VPN gateway in the DMZ, nor the one declared inside the cranes
v = one("remote.unsanctioned_vpn", "10.30.0.20", "198.51.100.40", severity="high",
        owner="vendor", actor="vendor", zone="cranes", documented=False)
assert v["evidence"]["reason"] == "vpn" and v["evidence"]["app_proto"] == "openvpn", v
assert "OpenVPN tunnel 10.30.0.20 -> 198.51.100.40 ends inside cranes" in v["message"], v
# TeamViewer dialling out of the cranes: a session into the workstation, past the jump host;
# the party behind the relay is unknown
t = one("remote.access", "10.30.0.50", "198.51.100.50", severity="medium", owner="vendor",
        zone="cranes", documented=False)
assert "actor" not in t and t["evidence"]["reason"] == "teamviewer", t
assert "keeps a line to its relay" in t["message"], t
one("remote.bypass_jump_host", "10.30.0.50", "198.51.100.50", severity="high", zone="cranes")
remote = sorted((a["rule"], a["asset"], a.get("peer")) for a in al if a["rule"].startswith("remote.")
                and a["rule"] != "remote.vpn_session")
assert remote == [("remote.access", "10.30.0.50", "198.51.100.50"),
                  ("remote.access", "10.30.1.11", "10.50.0.10"),
                  ("remote.bypass_jump_host", "10.30.0.50", "198.51.100.50"),
                  ("remote.unsanctioned_vpn", "10.30.0.20", "198.51.100.40")], remote

# remote.vpn_session: informational, owned by the gateway's zone owner
m = {(a["asset"], a["peer"]): a for a in al if a["rule"] == "remote.vpn_session"}
assert sorted(m) == [("10.30.0.2", "203.0.113.7"), ("10.50.0.2", "203.0.113.7"),
                     ("198.51.100.40", "10.30.0.20")], sorted(m)
g = m[("10.50.0.2", "203.0.113.7")]
assert g["severity"] == "info" and g["owner"] == "itpartner" and g["zone"] == "dmz", g
assert g["count"] == 5 and g["evidence"]["reason"] == "vpn", ("one finding per pair, counted", g)
assert all(a["severity"] == "info" for a in m.values()), m
# the VPN packets above are well-formed: no protocol finding about the gateway
assert rules_of(asset="10.50.0.2", peer="203.0.113.7") == ["remote.vpn_session"], \
    rules_of(asset="10.50.0.2", peer="203.0.113.7")
print(len(al), "findings")
PY
# the ledger names each VPN session by what its packets say (WireGuard on 443 too; ESP by its
# IP protocol), and not the text on WireGuard's port
"$qw" sessions --db "$work/s.db" --format json >"$work/sessions.json" || fail "sessions"
python3 - "$work/sessions.json" <<'PY' || fail "VPN sessions in the ledger are wrong"
import json, sys
vpn = sorted(x["proto"] for x in json.load(open(sys.argv[1])) if x["source"] == "203.0.113.7")
assert vpn == ["esp", "esp", "ike", "openvpn", "wireguard", "wireguard"], vpn
PY
# ... and the inventory makes the gateway a VPN gateway from what it served, firmly
"$qw" inventory --db "$work/s.db" --format json >"$work/inv.json" || fail "inventory"
python3 - "$work/inv.json" <<'PY' || fail "the VPN gateway's role is wrong"
import json, sys
gw = [a for a in json.load(open(sys.argv[1])) if "10.50.0.2" in [i["ip"] for i in a["ips"]]]
roles = {r["role"]: r["confidence"] for r in gw[0]["roles"]} if len(gw) == 1 else gw
assert roles.get("vpn_gateway") == "high", roles
PY
pass "policy.unknown_zone, policy.unowned_asset, conduit write vs read, remote.access, remote.vpn_session (by payload on any port), remote.unsanctioned_vpn; none on the near misses"

# Unowned assets are a state of the store: the second run does not announce them again.
"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev2.json" \
    "$work/again.pcap" || fail "second analyze"
n=$(grep -c '"rule":"policy.unowned_asset"' "$work/ev2.json" || true)
[ "$n" -eq 0 ] || fail "$n policy.unowned_asset alert records on the second run"
[ "$(sql "$work/s.db" "SELECT count FROM findings WHERE rule = 'policy.unowned_asset' AND asset = 'mac:02:00:00:70:00:09'")" = 1 ] ||
    fail "the unowned asset's count grew run after run"
pass "policy.unowned_asset is announced once"
