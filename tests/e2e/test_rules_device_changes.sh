#!/usr/bin/env bash
# Changes devices report in their own logs (docs/detections.md, "Changes devices report") end
# to end: syslog messages from network devices to the SCADA log server, on a capture built with
# tests/e2e/pcapbuild.py and a small site file. net.config_changed for a crane router's
# "Configured from console by jdoe on vty0 (10.20.0.77)" (the device is the asset, the
# administrator's machine the peer, whoever answers for that machine the actor) and for a
# console change that names nobody; documented by a change record on the other router (a
# FortiGate configuration log: low, the record's party the actor); net.device_restarted for a
# reload; and near misses that raise nothing: a link going up, a Junos commit check, a PAN-OS
# change that failed, the words of a change without the vendor's message id. The ledger names
# the user of an SSH session (none on the wire) from the target's own login message: a Cisco
# router's and a Linux jump host's (OpenSSH), and a router's that logs from another of its
# addresses (one its MAC answers ARP for); not from a login of another source, one logged two
# minutes after the session began, or one another device logged.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (changes devices report)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
  - {id: integrator, name: Systems integrator}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
conduits:
  - {from: cranes, to: scada, allow: [syslog/514]}
assets:
  - {match: {ip: 10.30.0.1}, name: crane-rtr1, role: router}
  - {match: {ip: 10.30.0.2}, name: crane-fw2, role: firewall}
changes:
  - id: CHG-31
    by: integrator
    title: Firewall rule for the new crane
    window: {start: "2026-11-20T09:00:00Z", end: "2026-11-20T11:00:00Z"}
    scope: [asset:crane-fw2]
    expect: [comm.new_edge]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/logs.pcap" <<'PY' || fail "building the capture"
import sys
import pcapbuild as pb
collector = pb.Host("02:00:00:20:00:50", "10.20.0.50")
rtr1 = pb.Host("02:00:00:30:00:01", "10.30.0.1")
fw2 = pb.Host("02:00:00:30:00:02", "10.30.0.2")
sw3 = pb.Host("02:00:00:30:00:03", "10.30.0.3")
mx4 = pb.Host("02:00:00:30:00:04", "10.30.0.4")
pa5 = pb.Host("02:00:00:30:00:05", "10.30.0.5")
srv6 = pb.Host("02:00:00:30:00:06", "10.30.0.6")

def log(w, dev, text, gap=1):
    w.write(pb.udp(dev, collector, 514, 514, text.encode()), gap=gap)

with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # net.config_changed, twice from the same session: one finding, count 2
    for seq in (41, 42):
        log(w, rtr1, "<189>%d: crane-rtr1: *Nov 20 10:00:0%d.100 UTC: %%SYS-5-CONFIG_I: "
                     "Configured from console by jdoe on vty0 (10.20.0.77)" % (seq, seq - 40))
    # a change at the console: nobody named, no address
    log(w, rtr1, "<189>43: %SYS-5-CONFIG_I: Configured from console by console")
    # documented by CHG-31: a FortiGate configuration log from the vendor's laptop
    log(w, fw2, '<189>date=2026-11-20 time=10:05:00 devname="crane-fw2" logid="0100044547" '
                'type="event" subtype="system" level="information" vd="root" '
                'logdesc="Object attribute configured" user="vendor1" ui="GUI(10.30.5.5)" '
                'action="Add" cfgpath="firewall.policy" cfgobj="12" msg="Add firewall.policy 12"')
    # net.device_restarted
    log(w, rtr1, "<189>44: %SYS-5-RELOAD: Reload requested by jdoe on vty0 (10.20.0.77). "
                 "Reload Reason: Reload Command.")
    # near misses
    log(w, sw3, "<187>12: %LINK-3-UPDOWN: Interface GigabitEthernet1/3, changed state to up")
    log(w, mx4, "<189>Nov 20 10:06:00 mx4 mgd[4321]: UI_COMMIT: User 'vendor1' requested "
                "'commit check' operation (comment: none)")
    log(w, pa5, "<14>Nov 20 10:07:00 pa5 1,2026/11/20 10:07:00,012801000001,CONFIG,0,0,"
                "2026/11/20 10:07:00,10.30.5.5,vsys1,commit,vendor1,Web,Failed,,1235")
    log(w, srv6, "<14>Nov 20 10:08:00 srv6 notes: Configured from console by jdoe on vty0 "
                 "(10.20.0.77)")

    # The ledger's users from the targets' own logs of the logins (SSH carries none in clear)
    def ssh(client, server, login=None, delay=2, log_from=None):
        c = pb.Tcp(w, client, server, 22)
        c.reply(b"SSH-2.0-Cisco-1.25\r\n")
        c.send(b"SSH-2.0-OpenSSH_9.2\r\n")
        if login:
            w.advance(delay)
            log(w, log_from or server, login)
        c.send(bytes(64))
        c.reply(bytes(64))
        c.close()
    admin = pb.Host("02:00:00:20:00:77", "10.20.0.77")
    other = pb.Host("02:00:00:20:00:66", "10.20.0.66")
    late = pb.Host("02:00:00:20:00:78", "10.20.0.78")
    vendor = pb.Host("02:00:00:20:00:80", "10.20.0.80")
    jump = pb.Host("02:00:00:30:00:09", "10.30.0.9")
    w.advance(60)
    # named: the router's own login message for this source, two seconds in
    ssh(admin, rtr1, "<189>51: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: jdoe] "
                     "[Source: 10.20.0.77] [localport: 22] at 10:09:02 UTC Fri Nov 20 2026")
    w.advance(60)
    # named: OpenSSH on a Linux jump host
    ssh(vendor, jump, "<86>Nov 20 10:10:05 jump01 sshd[2211]: Accepted publickey for vendor1 "
                      "from 10.20.0.80 port 51234 ssh2: ED25519 SHA256:abc")
    w.advance(60)
    # near misses: the login the router logs is another source's; a login logged two minutes
    # after the session began
    ssh(other, rtr1, "<189>52: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: mallory] "
                     "[Source: 10.20.0.99] [localport: 22] at 10:11:07 UTC Fri Nov 20 2026")
    w.advance(60)
    ssh(late, fw2, '<189>date=2026-11-20 time=10:14:10 logid="0100032001" type="event" '
                   'user="late1" ui="ssh(10.20.0.78)" action="login" status="success"', delay=120)
    # a router logs from one of its addresses: the session went to its other one, which its MAC
    # answers ARP for too (named); near miss: the login rtr1 logs names the source of a
    # session to fw2, another MAC
    rtr1b = pb.Host(rtr1.mac, "10.20.0.1")
    w.write(pb.arp_reply(rtr1, collector))
    w.write(pb.arp_reply(rtr1b, collector))
    w.write(pb.arp_reply(fw2, collector))
    w.advance(60)
    ssh(pb.Host("02:00:00:20:00:79", "10.20.0.79"), rtr1b,
        "<189>54: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: ops2] [Source: 10.20.0.79] "
        "[localport: 22] at 10:16:02 UTC Fri Nov 20 2026", log_from=rtr1)
    w.advance(60)
    ssh(pb.Host("02:00:00:20:00:81", "10.20.0.81"), fw2,
        "<189>55: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: ops3] [Source: 10.20.0.81] "
        "[localport: 22] at 10:17:02 UTC Fri Nov 20 2026", log_from=rtr1)
PY

"$qw" analyze --quiet --site "$work/site.yaml" --db "$work/s.db" --events "$work/ev.json" \
    "$work/logs.pcap" || fail "analyze exited $?"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" <<'PY' || fail "findings are wrong"
import sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])
al, one = F.alerts, F.one

a = one("net.config_changed", "10.30.0.1", "10.20.0.77", severity="high", owner="vendor",
        zone="cranes", peer_zone="scada", actor="operator", documented=False)
assert a["count"] == 2, a
ev = a["evidence"]
assert (ev["app_proto"], ev["change"], ev["message_id"], ev["user"], ev["from"]) == \
    ("syslog", "config", "cisco SYS-5-CONFIG_I", "jdoe", "10.20.0.77"), ev
assert a["message"] == ("10.30.0.1 reported a configuration change (cisco SYS-5-CONFIG_I) "
                        "by jdoe from 10.20.0.77"), a["message"]

c = one("net.config_changed", "10.30.0.1", None, severity="high", owner="vendor",
        zone="cranes", documented=False)
assert c.get("peer_zone") in (None, "") and c.get("actor") in (None, ""), c
assert "user" not in c["evidence"] and "from" not in c["evidence"], c

d = one("net.config_changed", "10.30.0.2", "10.30.5.5", severity="low", owner="vendor",
        zone="cranes", peer_zone="cranes", documented=True, change_id="CHG-31",
        actor="integrator")
assert (d["evidence"]["message_id"], d["evidence"]["user"]) == ("fortios 0100044547", "vendor1")

r = one("net.device_restarted", "10.30.0.1", "10.20.0.77", severity="medium", owner="vendor",
        zone="cranes", actor="operator", documented=False)
assert r["evidence"]["message_id"] == "cisco SYS-5-RELOAD", r

mine = sorted((x["rule"], x["asset"], x.get("peer") or "") for x in al
              if x["rule"] in ("net.config_changed", "net.device_restarted"))
assert mine == [("net.config_changed", "10.30.0.1", ""),
                ("net.config_changed", "10.30.0.1", "10.20.0.77"),
                ("net.config_changed", "10.30.0.2", "10.30.5.5"),
                ("net.device_restarted", "10.30.0.1", "10.20.0.77")], mine
for quiet in ("10.30.0.3", "10.30.0.4", "10.30.0.5", "10.30.0.6", "10.20.0.50"):
    F.none_for(asset=quiet, rules=("net.config_changed", "net.device_restarted"))
print(len(al), "findings")
PY
# the ledger names the users the targets' logs name
"$qw" sessions --db "$work/s.db" --format json >"$work/sessions.json" || fail "sessions"
python3 - "$work/sessions.json" <<'PY' || fail "the ledger's users are wrong"
import json, sys
got = sorted((s["source"], s["target"], s["user"], s.get("user_source"))
             for s in json.load(open(sys.argv[1])))
want = [("10.20.0.66", "10.30.0.1", None, None),
        ("10.20.0.77", "10.30.0.1", "jdoe", "device_log"),
        ("10.20.0.78", "10.30.0.2", None, None),
        ("10.20.0.79", "10.20.0.1", "ops2", "device_log"),
        ("10.20.0.80", "10.30.0.9", "vendor1", "device_log"),
        ("10.20.0.81", "10.30.0.2", None, None)]
assert got == want, got
PY
# the inventory places the router whose MAC answers for 10.20.0.1 (scada) and 10.30.0.1 (the
# declared crane-rtr1) as the declared asset, as its findings about 10.30.0.1 are, though
# 10.20.0.1 sorts first
"$qw" inventory --db "$work/s.db" --site "$work/site.yaml" --format json >"$work/inv.json" ||
    fail "inventory --site"
python3 - "$work/inv.json" <<'PY' || fail "the inventory places the two-address router wrongly"
import json, sys
inv = {a["id"]: a for a in json.load(open(sys.argv[1]))}
r = inv["mac:02:00:00:30:00:01"]
assert [i["ip"] for i in r["ips"]] == ["10.20.0.1", "10.30.0.1"], r["ips"]
assert (r.get("declared_name"), r["zone"], r["owner"], r["owner_rule"]) == \
    ("crane-rtr1", "cranes", "vendor", "zone"), r
PY
# the syslog records carry what was recognised
grep -c '"change":{"kind":"config","message_id":"cisco SYS-5-CONFIG_I","user":"jdoe","from":"10.20.0.77"}' \
    "$work/ev.json" | grep -qx 2 || fail "the syslog records do not carry the two reports"
grep -c '"login":{"failed":false,"message_id":"cisco SEC_LOGIN-5-LOGIN_SUCCESS","user":"jdoe","from":"10.20.0.77"}' \
    "$work/ev.json" | grep -qx 1 || fail "the syslog record does not carry the login"
pass "net.config_changed (a router's CLI change with its user and address, a console change, a documented FortiGate change), net.device_restarted; none for a link up, a commit check, a failed PAN-OS change, the words without the message id; the ledger's users from a router's and a jump host's own login messages (also from the router's other address), none for another source's login, one logged two minutes late or by another device"
