#!/usr/bin/env bash
# Findings to a SIEM: `analyze --syslog 127.0.0.1:PORT` against a real receiver on loopback, over
# UDP and TCP (octet-counting framing, RFC 6587), in JSON and CEF. Each message must parse as
# RFC 5424 (PRI, version 1, timestamp, hostname, app-name quaywatch, procid, msgid = rule, no
# structured data), carry one alert per finding of the run, and in CEF the rule, owner,
# documented flag and severity.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN
site=$QW_SRC/examples/terminal.yaml
"$qw" synth --minutes 10 --seed 1 --incidents -o "$work/t.pcap" 2>/dev/null || fail "synth"

cat >"$work/recv.py" <<'PY'
import re, socket, sys, time
proto, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
if proto == "tcp":
    s.listen(1)
print(s.getsockname()[1], flush=True)
msgs = []
s.settimeout(20)
try:
    if proto == "udp":
        while True:
            data, _ = s.recvfrom(65535)
            msgs.append(data.decode())
            s.settimeout(3)
    else:
        c, _ = s.accept()
        c.settimeout(5)
        buf = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
        while buf:  # octet counting: "LEN SP MSG"
            sp = buf.index(b" ")
            n = int(buf[:sp])
            msgs.append(buf[sp + 1:sp + 1 + n].decode())
            buf = buf[sp + 1 + n:]
except socket.timeout:
    pass
open(out, "w").write("\n".join(msgs) + ("\n" if msgs else ""))
PY

check() { # proto format
    local proto=$1 fmt=$2
    rm -f "$work/port" "$work/msgs"
    python3 "$work/recv.py" "$proto" "$work/msgs" >"$work/port" &
    local pid=$!
    for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
    local port; port=$(head -1 "$work/port")
    rm -f "$work/s.db"*
    "$qw" analyze --quiet --db "$work/s.db" --site "$site" --syslog "127.0.0.1:$port" \
        --syslog-proto "$proto" --syslog-format "$fmt" "$work/t.pcap" || fail "analyze --syslog $proto $fmt"
    wait $pid
    python3 - "$work/msgs" "$fmt" "$work/s.db" <<'PY' || fail "syslog $proto $fmt messages are wrong"
import json, re, sqlite3, sys
lines = [l for l in open(sys.argv[1]).read().split("\n") if l]
fmt = sys.argv[2]
rx = re.compile(r"^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z) (\S+) quaywatch (\d+) (\S+) - (.*)$")
db = sqlite3.connect(sys.argv[3])
n_findings = db.execute("SELECT count(*) FROM findings").fetchone()[0]
assert lines and len(lines) == n_findings, (len(lines), n_findings)
rules = set()
for l in lines:
    m = rx.match(l)
    assert m, l[:120]
    pri, msgid, body = int(m.group(1)), m.group(6), m.group(7)
    assert pri // 8 == 16 and 2 <= pri % 8 <= 6, pri
    rules.add(msgid)
    if fmt == "json":
        rec = json.loads(body)
        assert rec["event_type"] == "alert" and rec["alert"]["rule"] == msgid, rec
    else:
        assert body.startswith("CEF:0|quaywatch|quaywatch|"), body[:60]
        head = body.split("|")
        assert head[4].isdigit() and head[5].startswith(msgid + ":"), head[:6]
        ext = "|".join(head[7:])
        assert f"cs1Label=rule cs1={msgid}" in ext and "cn1Label=documented" in ext, ext
        assert int(head[6]) in (1, 3, 5, 8, 10)
assert "policy.conduit_violation" in rules, rules
print(f"ok: {len(lines)} messages, rules {sorted(rules)}")
PY
}
check udp json
pass "syslog over UDP, JSON bodies: one RFC 5424 message per finding"
check tcp cef
pass "syslog over TCP (octet counting), CEF bodies"
"$qw" analyze --quiet --db "$work/x.db" --syslog "no-port" "$work/t.pcap" 2>/dev/null; [ $? -eq 1 ] || fail "bad --syslog target: want exit 1"
"$qw" analyze --quiet --db "$work/x.db" --syslog-proto sctp "$work/t.pcap" 2>/dev/null; [ $? -eq 2 ] || fail "bad --syslog-proto: want 2"
pass "bad syslog options are refused"
