#!/usr/bin/env bash
# Detections end to end on the synthetic terminal and its site file: learn on the first 110 s
# with `analyze --learn`, then analyse the whole run and check the findings the scripted events
# must raise (docs/synth.md, docs/detections.md), with owner, actor, zone, severity and the
# documented/undocumented state (among them the laptop's password guessing on the core router:
# cred.guessing from the router's own log, with the truth's count, users and span); the alert
# records in the event log; that nothing fires on normal traffic once learnt; the ledger
# (the guesses are sessions with no user); and the alerts command (filters, ack, resolve).
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
need_tool editcap
qw=$QW_BIN
site=$QW_SRC/examples/terminal.yaml
inc=""
"$qw" synth --help 2>&1 | grep -q -- "--incidents" && inc="--incidents"

"$qw" synth --minutes 10 --seed 1 $inc --truth "$work/truth.json" -o "$work/full.pcap" 2>/dev/null ||
    fail "synth"
editcap -B "2026-11-20 21:31:50" "$work/full.pcap" "$work/clean.pcap" || fail "editcap"
"$qw" analyze --quiet --db "$work/s.db" --site "$site" --learn "$work/clean.pcap" || fail "learn"
"$qw" analyze --quiet --db "$work/s.db" --site "$site" --events "$work/ev.json" "$work/full.pcap" ||
    fail "analyze"
"$qw" alerts --db "$work/s.db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/ev.json" "$work/truth.json" <<'PY' || fail "findings do not match the scripted events"
import json, sys
al = json.load(open(sys.argv[1]))
truth = {e["id"]: e for e in json.load(open(sys.argv[3]))["events"]}
def one(rule, **kw):
    m = [a for a in al if a["rule"] == rule and all(a.get(k) == v for k, v in kw.items())]
    assert len(m) == 1, (rule, kw, len(m), [(a["asset"], a.get("peer")) for a in al if a["rule"] == rule])
    return m[0]
# 85%: tank-ews01 writes sts-crane01: tank farm -> cranes has no conduit
w = one("policy.conduit_violation", asset="10.30.1.11", peer="10.40.0.50")
assert w["severity"] == "high" and w["owner"] == "vendor" and w["zone"] == "cranes", w
assert w["peer_zone"] == "tankfarm" and not w["documented"], w
assert w["evidence"]["app_proto"] == "modbus" and "write" in w["evidence"]["ops"], w
# 75%: vendor-vpn-23 straight to sts-crane03: bypasses the jump host, no conduit
b = one("remote.bypass_jump_host", asset="10.30.1.13", peer="10.50.8.23")
assert b["severity"] == "high" and b["owner"] == "vendor" and b["peer_zone"] == "vendor-vpn", b
one("policy.conduit_violation", asset="10.30.1.13", peer="10.50.8.23")
# 77%: crane-rsb01, a remote-service box nobody declared, dials OpenVPN over TCP 443 to its relay
# on the internet: the tunnel ends inside the cranes, not at the VPN gateway
v = one("remote.unsanctioned_vpn", asset="10.30.0.20", peer="198.51.100.40")
assert v["severity"] == "high" and v["owner"] == "vendor" and v["zone"] == "cranes", v
assert v["actor"] == "vendor" and not v["documented"] and "peer_zone" not in v, v
assert v["evidence"]["app_proto"] == "openvpn" and v["evidence"]["server_port"] == 443, v
box = one("asset.new", asset="mac:00:30:11:63:72:96")
assert box["severity"] == "high" and box["owner"] == "vendor" and box["zone"] == "cranes", box
one("policy.unknown_zone", asset="198.51.100.40", peer="10.30.0.20")
# 62%: the unknown laptop: new, undocumented, high in a security-level-3 zone, owned by the zone
l = one("asset.new", asset="mac:10:c5:95:33:73:27")
assert l["severity"] == "high" and l["owner"] == "tankfarm-vendor" and not l["documented"], l
# from 34%: sts-crane02's firmware: documented by CHG-1042, the vendor acted, severity info
fw = one("asset.identity_changed", asset="mac:00:11:00:0a:9d:e1")
assert fw["documented"] and fw["change_id"] == "CHG-1042" and fw["actor"] == "vendor", fw
assert fw["severity"] == "info" and fw["evidence"]["new"] == "v3.30", fw
# 53%: the IT partner reconfigures the core router over SSH with no change record; the router's
# own log to historian01 says so. Asset, peer, user and message id as the truth file has them;
# the router's address on the TOS VLAN sent it (zone tos, owner operator), the workstation it
# names is the IT partner's (corporate: operator-it acts)
if "core_router_config" in truth:
    cfg = truth["core_router_config"]
    lg = cfg["syslog"]
    assert "net.config_changed" in cfg["findings"] and cfg["documented_by"] is None, cfg
    c = one("net.config_changed", asset=lg["sender"]["ip"], peer=lg["from"])
    assert c["severity"] == "high" and c["owner"] == "operator" and c["zone"] == "tos", c
    assert c["actor"] == "operator-it" and c["peer_zone"] == "corporate", c
    assert not c["documented"] and not c.get("change_id"), c
    ev = c["evidence"]
    assert (ev["app_proto"], ev["change"], ev["message_id"], ev["user"], ev["from"]) == \
        ("syslog", "config", lg["message_id"], lg["user"], lg["from"]), ev
    assert lg["from"] == cfg["source"]["ip"], cfg
    # the session that made the change: a new edge from the workstation to the router
    assert "comm.new_edge" in cfg["findings"], cfg
    e = one("comm.new_edge", asset="mac:" + cfg["target"]["mac"], peer="mac:" + cfg["source"]["mac"])
    assert e["evidence"]["detail"].startswith("ssh/tcp/22") and not e["documented"], e
# 64%: the unknown laptop tries default passwords on the core router's SSH server, one
# connection each; the router's log to historian01 says each one failed. cred.guessing on the
# address that sent the log (tos, owner operator), peer the laptop the messages name (tankfarm:
# its owner, tankfarm-vendor, answers for it), high, undocumented; counted for the fifth failure
# and again for each later one; the evidence's users and span as the truth has them
guess = sorted((a["asset"], a["peer"]) for a in al if a["rule"] == "cred.guessing")
if "router_password_guessing" in truth:
    gs = truth["router_password_guessing"]
    gl = gs["syslog"]
    assert "cred.guessing" in gs["findings"] and gs["documented_by"] is None, gs
    assert gl["from"] == gs["source"]["ip"] and gl["failures"] == len(gl["logins"]) >= 5, gs
    g = one("cred.guessing", asset=gl["sender"]["ip"], peer=gl["from"])
    assert g["severity"] == "high" and g["owner"] == "operator" and g["zone"] == "tos", g
    assert g["actor"] == "tankfarm-vendor" and g["peer_zone"] == "tankfarm", g
    assert not g["documented"] and not g.get("change_id"), g
    assert g["count"] == gl["count"] == gl["failures"] - 4, (g, gl)
    ev = g["evidence"]
    assert (ev["app_proto"], ev["message_id"], ev["from_log"], ev["failures"], ev["users"],
            ev["within_s"]) == ("syslog", gl["message_id"], True, 5, gl["users"],
                                gl["within_s"]), (ev, gl)
    # the attempts themselves: a new edge from the laptop to the router (SSH), besides the
    # DHCP relay's, which the laptop's arrival raised
    assert "comm.new_edge" in gs["findings"], gs
    e = [a for a in al if a["rule"] == "comm.new_edge" and a["asset"] == "mac:" + gs["target"]["mac"]
         and a["peer"] == "mac:" + gs["source"]["mac"] and a["evidence"]["detail"].startswith("ssh/tcp/22")]
    assert len(e) == 1 and not e[0]["documented"] and e[0]["severity"] == "low", e
    assert guess == [(gl["sender"]["ip"], gl["from"])], guess
else:
    assert guess == [], guess
# the core router logs all the time (act_syslog.c): that one message is the only change any
# device reported, the routine ones none
dev = sorted((a["rule"], a["asset"]) for a in al if a["rule"] in ("net.config_changed", "net.device_restarted"))
assert dev == ([("net.config_changed", "10.20.0.1")] if "core_router_config" in truth else []), dev
# every finding has an owner in this site (zones all have one) and a known severity
assert all(a["owner"] for a in al), [a for a in al if not a["owner"]]
assert all(a["severity"] in ("info", "low", "medium", "high", "critical") for a in al)
# the event log carries one alert record per finding raised this run, EVE-shaped
recs = [json.loads(l) for l in open(sys.argv[2]) if '"event_type":"alert"' in l]
assert recs, "no alert records"
keys = {(r["alert"]["rule"], r["alert"]["asset"], r["alert"].get("peer", "")) for r in recs}
assert ("policy.conduit_violation", "10.30.1.11", "10.40.0.50") in keys
for r in recs:
    a = r["alert"]
    assert a["action"] == "allowed" and a["gid"] == 1 and a["signature_id"] > 9100000
    assert a["severity"] in (1, 2, 3) and a["signature"].startswith(a["rule"] + ":")
    assert "documented" in a and "owner" in a and r["schema_version"] == 1
print(f"ok: {len(al)} findings, {len(recs)} alert records")
PY
pass "scripted events raise the right findings with owner, actor, zone, severity and documented state"

# Normal traffic after learning: a second pass over the clean capture raises nothing new.
"$qw" analyze --quiet --db "$work/c.db" --site "$site" --learn "$work/clean.pcap" || fail "learn 2"
"$qw" analyze --quiet --db "$work/c.db" --site "$site" --events "$work/ev2.json" "$work/clean.pcap" || fail "clean again"
n=$(count_events "$work/ev2.json" alert)
[ "$n" -eq 0 ] || fail "$n alerts on normal traffic after learning: $(grep '"alert"' "$work/ev2.json" | head -3)"
# ... though the core router logged to historian01 all the while: syslog read, no change in it
python3 - "$work/ev2.json" <<'PY' || fail "the core router's routine log is not in the clean run"
import json, sys
logs = [json.loads(l) for l in open(sys.argv[1]) if '"event_type":"syslog"' in l]
assert len(logs) >= 2, len(logs)
assert all((r["src_ip"], r["dest_ip"], r["dest_port"]) == ("10.20.0.1", "10.20.0.30", 514) for r in logs), logs[0]
assert not any("change" in r["syslog"] for r in logs), [r for r in logs if "change" in r["syslog"]]
PY
pass "no rule fires on the learnt, normal terminal (with the core router's routine log)"

# The alerts command: filters, ack, resolve, reopening.
"$qw" alerts --db "$work/s.db" --owner vendor --format json |
    python3 -c 'import json,sys; a=json.load(sys.stdin); assert a and all(x["owner"]=="vendor" for x in a)' ||
    fail "--owner filter"
"$qw" alerts --db "$work/s.db" --rule remote.bypass_jump_host --format json |
    python3 -c 'import json,sys; a=json.load(sys.stdin); assert len(a)==1' || fail "--rule filter"
"$qw" alerts --db "$work/s.db" --rule no.such.rule >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown rule: want 2"
id=$("$qw" alerts --db "$work/s.db" --rule remote.bypass_jump_host --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$qw" alerts ack "$id" --db "$work/s.db" >/dev/null || fail "ack"
"$qw" alerts --db "$work/s.db" --state acknowledged --format json | grep -q "\"id\":$id" || fail "acknowledged state"
"$qw" alerts resolve "$id" --db "$work/s.db" >/dev/null || fail "resolve"
"$qw" alerts --db "$work/s.db" --format json | grep -q "\"id\":$id," && fail "a resolved finding is still listed as active"
"$qw" alerts resolve 999999 --db "$work/s.db" >/dev/null 2>&1; [ $? -eq 2 ] || fail "resolve a missing id: want 2"
pass "alerts: --owner, --rule, ack, resolve"

# The remote-access ledger: the vendor's SSH session to the jump host (approved path, with the
# jump host's Modbus reads of sts-crane02 while it lasted), the VPN client's direct session
# to sts-crane03 and the remote-service box's OpenVPN tunnel to its relay.
"$qw" sessions --db "$work/s.db" --format json >"$work/sessions.json" || fail "sessions"
n_others=$(python3 - "$work/sessions.json" "$work/truth.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ssh = [x for x in s if x["proto"] == "ssh" and x["source"] == "10.50.8.21"]
assert len(ssh) == 1 and ssh[0]["target"] == "10.50.0.10" and ssh[0]["path"] == "to jump host", ssh
assert ssh[0]["party"] == "vendor" and ssh[0]["in_window"], ssh
assert any(a["device"] == "10.30.1.12" and a["app_proto"] == "modbus" for a in ssh[0]["activity"]), ssh
d = [x for x in s if x["source"] == "10.50.8.23"]
assert len(d) == 1 and d[0]["path"] == "direct" and d[0]["target"] == "10.30.1.13", d
assert d[0]["into_target_zone"] and d[0]["target_zone"] == "cranes", d
v = [x for x in s if x["source"] == "10.30.0.20"]
assert len(v) == 1 and v[0]["proto"] == "openvpn" and v[0]["target"] == "198.51.100.40", v
assert v[0]["party"] == "vendor" and v[0]["path"] == "direct" and v[0]["packets"] > 20, v
# who opened the tunnel: the box's client certificate; SSH names nobody in clear
assert v[0]["user"] == "crane-rsb01" and v[0]["user_source"] == "client_certificate", v
assert ssh[0]["user"] is None, ssh
# the IT partner's session to the core router (core_router_config): in the corporate zone, no
# remote-access target
r = [x for x in s if x["proto"] == "ssh" and x["source"] == "10.10.1.13"]
assert len(r) == 1 and r[0]["target"] == "10.10.0.1" and r[0]["party"] == "operator-it", r
assert not r[0]["into_target_zone"] and r[0]["path"] == "direct", r
# ... and its user from the router's own login message, which it logs from its TOS address
# (another address its MAC answers ARP for) to historian01
lg = {e["id"]: e for e in json.load(open(sys.argv[2]))["events"]}["core_router_config"]["syslog"]
assert (r[0]["user"], r[0]["user_source"]) == (lg["user"], "device_log"), r
assert lg["sender"]["ip"] != r[0]["target"], lg
# activity is the source's industrial operations only: the workstation's and the router's own
# NTP are no part of the session (they were listed before)
assert r[0]["activity"] == [], r
assert all(a["app_proto"] == "modbus" for x in (ssh[0], d[0]) for a in x["activity"]), (ssh, d)
# the laptop's password guessing: each attempt an SSH session of its own to the router's address
# on VLAN 40 (tankfarm, whose owner answers for the laptop), and no user: the router's log
# names only failures, and a failed login is nobody's session
ev = {e["id"]: e for e in json.load(open(sys.argv[2]))["events"]}
lap = [x for x in s if x["source"] == "10.40.200.100"]
if "router_password_guessing" in ev:
    gs = ev["router_password_guessing"]
    assert len(lap) == gs["syslog"]["failures"], lap
    assert all((x["proto"], x["target"], x["party"], x["user"]) ==
               ("ssh", gs["target"]["ip"], "tankfarm-vendor", None) for x in lap), lap
else:
    assert lap == [], lap
# the ledger's own sessions besides the laptop's attempts
print(len(s) - len(lap))
PY
) || fail "ledger is wrong"
n_all=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/sessions.json")
case "$n_others" in 4|5) ;; *) fail "sessions besides the laptop's attempts: $n_others, want 4 or 5" ;; esac
"$qw" sessions --db "$work/s.db" | grep -Eq "^$n_all sessions" || fail "sessions table: $("$qw" sessions --db "$work/s.db" | tail -1), want $n_all"
pass "remote-access ledger: jump-host session with its activity, direct VPN session, the tunnel's user from its client certificate, the IT partner's session to the core router, the laptop's password guesses (no user)"

# With --incidents (docs/synth.md), the operations a controller must never see unannounced:
# the laptop's S7 PLC STOP (critical), the DNP3 cold restart, the port scan as one finding.
if [ -n "$inc" ]; then
    "$qw" alerts --db "$work/s.db" --format json >"$work/a2.json" || fail "alerts"
    python3 - "$work/a2.json" <<'PY' || fail "incident findings are wrong"
import json, sys
al = json.load(open(sys.argv[1]))
def rule(r): return [a for a in al if a["rule"] == r]
stop = rule("ics.cpu_state")
assert len(stop) == 1 and stop[0]["severity"] == "critical" and stop[0]["peer"] == "10.40.200.100", stop
assert stop[0]["evidence"]["app_proto"] == "s7comm" and "stop" in stop[0]["evidence"]["ops"], stop
rs = rule("ics.restart")
assert len(rs) == 1 and rs[0]["evidence"]["app_proto"] == "dnp3" and rs[0]["asset"] == "10.40.0.60", rs
sc = rule("recon.scan")
assert len(sc) == 1 and sc[0]["asset"] == "10.40.200.100", sc
cr = rule("cred.plaintext")
assert len(cr) == 1 and cr[0]["asset"] == "10.40.40.11" and cr[0]["severity"] == "high", cr
# the user name is named, the password (synth's "Rosemount2410") never is
assert "user service" in cr[0]["message"] and "Rosemount2410" not in json.dumps(cr[0]), cr
mc = rule("asset.mac_changed")
assert len(mc) == 1 and mc[0]["owner"] and mc[0]["zone"] == "cranes", mc
PY
    pass "incidents: PLC stop (critical), DNP3 cold restart, one scan finding, Telnet credentials in clear, router swap"
fi

# At night (docs/synth.md: --start 2026-11-21T07:30:00Z is 23:30 in Vancouver, outside the
# remote-access window): the VPN client's direct session to sts-crane03 is also
# remote.outside_window; the session to the jump host is not into a target zone, so it is not.
if [ -n "$inc" ] && "$qw" synth --help 2>&1 | grep -q -- "--start"; then
    "$qw" synth --minutes 10 --seed 1 --incidents --start 2026-11-21T07:30:00Z -o "$work/night.pcap" 2>/dev/null ||
        fail "synth at night"
    "$qw" analyze --quiet --db "$work/n.db" --site "$site" "$work/night.pcap" || fail "analyze night"
    "$qw" alerts --db "$work/n.db" --rule remote.outside_window --format json >"$work/ow.json" || fail "alerts"
    python3 - "$work/ow.json" <<'PY' || fail "remote.outside_window is wrong"
import json, sys
ow = json.load(open(sys.argv[1]))
assert len(ow) == 1, ow
o = ow[0]
assert o["asset"] == "10.30.1.13" and o["peer"] == "10.50.8.23" and o["severity"] == "high", o
assert o["owner"] == "vendor" and o["zone"] == "cranes" and not o["documented"], o
PY
    pass "remote access at night: remote.outside_window on the direct session only"
fi
# ... nor anywhere in the store or the event log of the run
if [ -n "$inc" ]; then
    grep -q "Rosemount2410" "$work/ev.json" && fail "the Telnet password is in the event log"
    python3 -c 'import sys; sys.exit(b"Rosemount2410" in open(sys.argv[1], "rb").read())' "$work/s.db" ||
        fail "the Telnet password is in the store"
    pass "the clear-text password is kept nowhere"
fi
