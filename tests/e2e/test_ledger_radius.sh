#!/usr/bin/env bash
# The remote-access ledger names the user behind a VPN pool address from RADIUS accounting
# (docs/detections.md, "Remote-access ledger"): the VPN gateway accounts a Start for
# vendor-eng7 on 10.50.8.23, which then opens SSH and VNC (no user on the wire) into the cranes;
# an RDP session from the same address keeps the cookie's name; a Start five seconds after
# 10.50.8.28's session still names its user, as does the address an Access-Accept gives
# 10.50.8.29. Near misses: 10.50.8.24's use was accounted a Stop before its session (no user),
# 10.50.8.25 was never accounted, and a Start for 10.50.8.26 comes two minutes after its session
# (too late). A rejected login without Message-Authenticators (BlastRADIUS) is a medium
# proto.weak_security of the gateway (its request) and of the RADIUS server (its answer). A second address's Start in a
# later run, for a session stored by an earlier one, names the user all the same; and two
# workers give the same ledger as one (the accounting and the sessions land on different
# engines).
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch ledger users from RADIUS accounting
timezone: UTC
parties:
  - {id: vendor, name: Crane automation vendor}
  - {id: itpartner, name: IT partner}
zones:
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
  - {id: dmz, cidrs: [10.50.0.0/24], owner: itpartner, security_level: 2}
  - {id: vendor-vpn, cidrs: [10.50.8.0/24], owner: vendor, security_level: 1}
assets:
  - {match: {ip: 10.50.0.2}, name: vpngw, role: vpn_gateway}
remote_access:
  vpn_pools: [10.50.8.0/24]
  windows: [{days: [mon, tue, wed, thu, fri], start: "07:00", end: "18:00"}]
  parties: [vendor]
  zones: [cranes]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/one.pcap" "$work/two.pcap" <<'PY' || fail "building the captures"
import struct, sys
import pcapbuild as pb

vpngw = pb.Host("02:00:00:50:00:02", "10.50.0.2")
radius = pb.Host("02:00:00:50:00:05", "10.50.0.5")
pool = {n: pb.Host("02:00:00:50:08:%02x" % n, "10.50.8.%d" % n) for n in range(23, 30)}
plc = pb.Host("02:00:00:30:01:11", "10.30.1.11")
hmi = pb.Host("02:00:00:30:00:40", "10.30.0.40")
ident = [0]


def attr(t, v):
    return struct.pack("!BB", t, 2 + len(v)) + v


def accounting(w, user, ip, status):
    """An Accounting-Request (4) from the gateway and the server's Accounting-Response (5)."""
    ident[0] += 1
    body = (attr(1, user.encode()) + attr(4, bytes([10, 50, 0, 2])) + attr(8, pb.ip_bytes(ip)) +
            attr(40, struct.pack("!I", status)) + attr(44, b"sess-%d" % ident[0]))
    req = struct.pack("!BBH", 4, ident[0], 20 + len(body)) + bytes(16) + body
    w.write(pb.udp(vpngw, radius, 40000 + ident[0], 1813, req))
    w.write(pb.udp(radius, vpngw, 1813, 40000 + ident[0],
                   struct.pack("!BBH", 5, ident[0], 20) + bytes(16)))


def access(w, user, ip):
    """An Access-Request (1) with a Message-Authenticator, and the Access-Accept (2) that gives
    the user an address (Framed-IP-Address)."""
    ident[0] += 1
    body = attr(1, user.encode()) + attr(4, bytes([10, 50, 0, 2])) + attr(80, bytes(16))
    w.write(pb.udp(vpngw, radius, 40000 + ident[0], 1812,
                   struct.pack("!BBH", 1, ident[0], 20 + len(body)) + bytes(16) + body))
    body = attr(8, pb.ip_bytes(ip)) + attr(80, bytes(16))
    w.write(pb.udp(radius, vpngw, 1812, 40000 + ident[0],
                   struct.pack("!BBH", 2, ident[0], 20 + len(body)) + bytes(16) + body))


def blast(w, user):
    """BlastRADIUS: an Access-Request with a User-Password and an Access-Reject, neither with a
    Message-Authenticator."""
    ident[0] += 1
    body = attr(1, user.encode()) + attr(2, bytes(16)) + attr(4, bytes([10, 50, 0, 2]))
    w.write(pb.udp(vpngw, radius, 40000 + ident[0], 1812,
                   struct.pack("!BBH", 1, ident[0], 20 + len(body)) + bytes(16) + body))
    w.write(pb.udp(radius, vpngw, 1812, 40000 + ident[0],
                   struct.pack("!BBH", 3, ident[0], 20) + bytes(16)))


def tcp(w, cli, srv, port, req, rsp):
    c = pb.Tcp(w, cli, srv, port)
    c.exchange(req, rsp)
    c.close()


SSH = (b"SSH-2.0-OpenSSH_9.2p1\r\n", b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n")
VNC = (b"RFB 003.008\n", b"RFB 003.008\n")
# an X.224 connection request with the cookie mstshash=svc-rdp, and its confirm
cookie = b"Cookie: mstshash=svc-rdp\r\n"
x224 = struct.pack("!BBHHB", 6 + len(cookie), 0xE0, 0, 0, 0) + cookie
RDP = (struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224,
       struct.pack("!BBHBBHHB", 3, 0, 11, 6, 0xD0, 0, 0x1234, 0))

# Friday 2026-11-20, inside the window
with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    accounting(w, "vendor-eng7", "10.50.8.23", 1)          # Start
    tcp(w, pool[23], plc, 22, *SSH)
    c = pb.Tcp(w, pool[23], hmi, 5900)                     # VNC: the server speaks first
    c.reply(VNC[1])
    c.send(VNC[0])
    c.close()
    tcp(w, pool[23], hmi, 3389, *RDP)                      # the cookie's name wins
    accounting(w, "vendor-eng8", "10.50.8.24", 1)
    accounting(w, "vendor-eng8", "10.50.8.24", 2)          # Stop before the session
    tcp(w, pool[24], plc, 22, *SSH)
    tcp(w, pool[25], plc, 22, *SSH)                         # never accounted
    tcp(w, pool[26], plc, 22, *SSH)
    tcp(w, pool[28], plc, 22, *SSH)
    w.advance(5)
    accounting(w, "vendor-eng11", "10.50.8.28", 1)         # a few seconds late: still its own
    access(w, "vendor-eng12", "10.50.8.29")                # the address the Accept gives
    blast(w, "vendor-eng13")                               # rejected: no address, a weakness
    tcp(w, pool[29], plc, 22, *SSH)
    w.advance(115)
    accounting(w, "vendor-eng9", "10.50.8.26", 1)          # two minutes late
    tcp(w, pool[27], plc, 22, *SSH)                         # accounted in the next run

with pb.Writer(sys.argv[2], start="2026-11-20T10:02:30Z") as w:
    accounting(w, "vendor-eng10", "10.50.8.27", 3)         # Interim-Update: in use already
PY

check() { # DB: the ledger's users by source address and protocol
    "$qw" sessions --db "$1" --format json >"$work/sessions.json" || fail "sessions"
    python3 - "$work/sessions.json" "$2" <<'PY'
import json, sys
got = sorted((s["source"], s["proto"], s["user"], s.get("user_source"))
             for s in json.load(open(sys.argv[1])))
want = sorted(tuple(x.split(":")) if x.count(":") == 3 else None for x in sys.argv[2].split())
want = [tuple(None if v == "-" else v for v in x) for x in want]
assert got == want, "\n got %s\nwant %s" % (got, want)
PY
}

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/a.db" "$work/one.pcap" ||
    fail "analyze exited $?"
want1="10.50.8.23:ssh:vendor-eng7:radius_accounting 10.50.8.23:vnc:vendor-eng7:radius_accounting
10.50.8.23:rdp:svc-rdp:rdp_cookie 10.50.8.24:ssh:-:- 10.50.8.25:ssh:-:- 10.50.8.26:ssh:-:-
10.50.8.27:ssh:-:- 10.50.8.28:ssh:vendor-eng11:radius_accounting
10.50.8.29:ssh:vendor-eng12:radius_access"
check "$work/a.db" "$want1" || fail "the ledger's users from RADIUS accounting are wrong"
[ "$(sql "$work/a.db" "SELECT count(*) FROM address_users WHERE source = 'radius_accounting'")" = 5 ] ||
    fail "the store does not hold the five accounting messages"
[ "$(sql "$work/a.db" "SELECT ended FROM address_users WHERE user = 'vendor-eng8' ORDER BY ts_ns DESC")" = 1 ] ||
    fail "the Stop is not stored as the end of a use"
# BlastRADIUS: the request without a Message-Authenticator is the gateway's weakness, the
# answer without one the RADIUS server's; medium, not the low of an unlisted *.weak_*
"$qw" alerts --db "$work/a.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" <<'PY' || fail "the BlastRADIUS weaknesses are wrong"
import json, sys
got = sorted((a["asset"], a["peer"], a["severity"], a["evidence"]["detail"])
             for a in json.load(open(sys.argv[1]))
             if a["rule"] == "proto.weak_security" and a["evidence"]["anomaly"].startswith("radius."))
assert got == [("10.50.0.2", "10.50.0.5", "medium", "access_request with user_password"),
               ("10.50.0.5", "10.50.0.2", "medium", "access_reject")], got
PY
pass "SSH and VNC from a pool address take the accounted user (a Start seconds after the session too, or an Access-Accept's address); the cookie's name wins; a stopped use, no accounting, a Start two minutes late and a rejected login name nobody; BlastRADIUS is a medium weakness of each side"

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/a.db" "$work/two.pcap" ||
    fail "second analyze exited $?"
want2="${want1/10.50.8.27:ssh:-:-/10.50.8.27:ssh:vendor-eng10:radius_accounting}"
check "$work/a.db" "$want2" || fail "accounting stored by a later run does not name the session"
pass "accounting read in a later run names a session stored by an earlier one"

"$qw" analyze --quiet --workers 2 --site "$work/site.yaml" --db "$work/b.db" "$work/one.pcap" ||
    fail "analyze --workers 2 exited $?"
check "$work/b.db" "$want1" || fail "two workers give another ledger"
pass "two workers give the same ledger"
