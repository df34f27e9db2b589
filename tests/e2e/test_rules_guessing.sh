#!/usr/bin/env bash
# cred.guessing (docs/detections.md, "Credentials and protocol health") end to end, on a capture
# built with tests/e2e/pcapbuild.py and a small site file: five failed logins from one address
# to one device within five minutes raise it on the device, with the source as peer and actor
# whoever answers for the source. From the devices' own logs: a crane router's Cisco
# LOGIN_FAILED messages (a sixth failure counts again; the users tried are listed) and a jump
# host's OpenSSH "Failed password" (documented by a change record: low, the record's party the
# actor). Near misses raise nothing: four failures, five spread over more than five minutes,
# OpenSSH's "Failed none" probes, a router's successful logins. On the wire: a crane PLC's FTP
# server refusing five logins (its 530 answers; the attempts came from the connection's
# client); near miss: five HTTP challenges to requests without credentials. With two workers
# the findings are the same.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

cat >"$work/site.yaml" <<'YAML'
site: quaywatch rules test (password guessing)
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
  - {id: pentester, name: Penetration testers}
zones:
  - {id: scada, cidrs: [10.20.0.0/16], owner: operator, security_level: 2}
  - {id: cranes, cidrs: [10.30.0.0/16], owner: vendor, security_level: 3}
conduits:
  - {from: cranes, to: scada, allow: [syslog/514]}
assets:
  - {match: {ip: 10.30.0.1}, name: crane-rtr1, role: router}
  - {match: {ip: 10.30.0.9}, name: jump01, role: jump_host}
changes:
  - id: CHG-77
    by: pentester
    title: Password audit of the jump host
    window: {start: "2026-11-20T09:00:00Z", end: "2026-11-20T11:00:00Z"}
    scope: [asset:jump01]
    expect: [comm.new_edge]
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

python3 - "$work/guess.pcap" <<'PY' || fail "building the capture"
import sys
import pcapbuild as pb
collector = pb.Host("02:00:00:20:00:50", "10.20.0.50")
rtr1 = pb.Host("02:00:00:30:00:01", "10.30.0.1")
rtr2 = pb.Host("02:00:00:30:00:02", "10.30.0.2")
jump = pb.Host("02:00:00:30:00:09", "10.30.0.9")

def log(w, dev, text, gap=1):
    w.write(pb.udp(dev, collector, 514, 514, text.encode()), gap=gap)

def cisco_failed(w, dev, user, src, gap=1):
    log(w, dev, "<188>61: %%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: %s] [Source: %s] "
                "[localport: 22] [Reason: Login Authentication Failed] at 10:00:00 UTC" %
                (user, src), gap=gap)

def ssh_failed(w, dev, user, src, gap=1, method="password"):
    log(w, dev, "<86>Nov 20 10:00:00 jump01 sshd[2213]: Failed %s for %s from %s port 51240 "
                "ssh2" % (method, user, src), gap=gap)

with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # six failures from 10.20.0.66 to the router in under a minute, three user names
    for user in ("admin", "cisco", "admin", "root", "admin", "cisco"):
        cisco_failed(w, rtr1, user, "10.20.0.66", gap=5)
    # near miss: four failures from another address
    for _ in range(4):
        cisco_failed(w, rtr1, "admin", "10.20.0.67", gap=5)
    # near miss: five failures, one every 80 s (the first and the fifth 320 s apart)
    for _ in range(5):
        cisco_failed(w, rtr2, "admin", "10.20.0.68", gap=80)
    # near miss: successful logins, and OpenSSH's "none" probes
    for _ in range(5):
        log(w, rtr2, "<189>51: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: ops] "
                     "[Source: 10.20.0.69] [localport: 22] at 10:09:02 UTC")
        ssh_failed(w, jump, "invalid user x", "10.20.0.70", method="none")
    # documented by CHG-77: the audit of the jump host
    for user in ("root", "vendor1", "invalid user test", "oracle", "root"):
        ssh_failed(w, jump, user, "10.20.0.71", gap=2)
    # on the wire: a crane PLC's FTP server refuses five logins on one connection
    plc = pb.Host("02:00:00:30:00:21", "10.30.0.21")
    laptop = pb.Host("02:00:00:20:00:72", "10.20.0.72")
    c = pb.Tcp(w, laptop, plc, 21)
    c.reply(b"220 PLC FTP server ready\r\n")
    for user in (b"admin", b"admin", b"root", b"plc", b"admin"):
        c.send(b"USER " + user + b"\r\n")
        c.reply(b"331 Password required\r\n")
        c.send(b"PASS guess\r\n")
        c.reply(b"530 Login incorrect.\r\n")
    c.close()
    # near miss: the PLC's web server challenges five requests that carry no credentials
    web = pb.Tcp(w, laptop, plc, 80)
    for _ in range(5):
        web.send(b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n")
        web.reply(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"plc\"\r\n"
                  b"Content-Length: 0\r\n\r\n")
    web.close()
PY

for workers in 1 2; do
    "$qw" analyze --quiet --workers $workers --site "$work/site.yaml" --db "$work/s$workers.db" \
        --events "$work/ev$workers.json" "$work/guess.pcap" || fail "analyze exited $?"
    "$qw" alerts --db "$work/s$workers.db" --format json >"$work/alerts$workers.json" ||
        fail "alerts"
    python3 - "$work/alerts$workers.json" "$work/ev$workers.json" <<'PY' ||
import sys
from findings_check import Findings
F = Findings(sys.argv[1], sys.argv[2])

a = F.one("cred.guessing", "10.30.0.1", "10.20.0.66", severity="high", owner="vendor",
          zone="cranes", peer_zone="scada", actor="operator", documented=False)
assert a["count"] == 2, a  # the fifth failure raised it, the sixth counted again
ev = a["evidence"]
assert (ev["message_id"], ev["from_log"], ev["failures"], ev["users"]) == \
    ("cisco SEC_LOGIN-4-LOGIN_FAILED", True, 5, "admin, cisco, root"), ev
assert ev["within_s"] == 20, ev
assert a["message"] == ("5 failed logins to 10.30.0.1 from 10.20.0.66 within 20 s (its log: "
                        "cisco SEC_LOGIN-4-LOGIN_FAILED), users admin, cisco, root"), a["message"]

j = F.one("cred.guessing", "10.30.0.9", "10.20.0.71", severity="low", documented=True,
          change_id="CHG-77", actor="pentester")
assert j["count"] == 1 and j["evidence"]["users"] == "root, vendor1, test, oracle", j

p = F.one("cred.guessing", "10.30.0.21", "10.20.0.72", severity="high", owner="vendor",
          zone="cranes", peer_zone="scada", actor="operator", documented=False)
ev = p["evidence"]
assert (p["count"], ev["message_id"], ev["from_log"], ev["users"], ev["app_proto"]) == \
    (1, "ftp 530", False, "admin, root, plc", "ftp"), p

mine = sorted((x["asset"], x.get("peer")) for x in F.alerts if x["rule"] == "cred.guessing")
assert mine == [("10.30.0.1", "10.20.0.66"), ("10.30.0.21", "10.20.0.72"),
                ("10.30.0.9", "10.20.0.71")], mine
PY
        fail "findings are wrong with $workers worker(s)"
done
grep -c '"login":{"failed":true,"message_id":"cisco SEC_LOGIN-4-LOGIN_FAILED","user":"admin","from":"10.20.0.66"}' \
    "$work/ev1.json" | grep -qx 3 || fail "the syslog records do not carry the failed logins"
pass "cred.guessing from a router's and a jump host's own logs (high, actor the source's owner; documented: low), counted again, and from a PLC's FTP refusals on the wire; none for four failures, five over more than five minutes, OpenSSH's none probes, successful logins or HTTP challenges without credentials; two workers alike"
