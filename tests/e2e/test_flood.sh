#!/usr/bin/env bash
# A scan of a /16 (65,536 SYNs to distinct hosts) and a SYN flood from spoofed sources against
# one PLC, with a small flow cap: the sensor keeps running, never tracks more flows than the
# cap, counts every eviction in its summary, stores the run, and reports the sweep as one
# recon.scan finding (not 65,536). Memory figures live in bench/, not here.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
python3 - "$work/flood.pcap" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, 0x02, 1024, 0, 0)
    ph = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x00\x11\x00\x00\x00\x01" + b"\x10\xc5\x95\x33\x73\x27" + b"\x08\x00" + ip + tcp
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    t = 1795210200 * 1000000
    scanner = bytes([10, 40, 200, 100])
    for i in range(65536):  # sweep 10.41.0.0/16 on port 502
        dst = bytes([10, 41, i >> 8, i & 255])
        p = syn(scanner, dst, 40000 + (i % 20000), 502, i * 7919)
        t += 20
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(p), len(p)) + p)
    for i in range(40000):  # flood 10.30.1.11:502 from spoofed sources
        src = bytes([172, 16 + (i >> 16) % 16, (i >> 8) & 255, i & 255])
        p = syn(src, bytes([10, 30, 1, 11]), 1024 + i % 60000, 502, i)
        t += 10
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(p), len(p)) + p)
PY
flood_run() { # workers: the cap bounds the whole sensor, whatever the number of engines
    "$QW_BIN" analyze --db "$work/f$1.db" --flow-cap 4096 --workers "$1" "$work/flood.pcap" >"$work/out$1.txt" 2>&1 ||
        fail "analyze exited $?: $(tail -3 "$work/out$1.txt")"
    line=$(grep '^Flows:' "$work/out$1.txt")
    python3 - "$line" <<'PY' || fail "flow cap or eviction counts wrong: $line"
import re, sys
m = re.search(r"Flows: (\d+) \(timed out (\d+), evicted (\d+), port reuse \d+, peak (\d+) at once\)", sys.argv[1])
created, timed_out, evicted, peak = map(int, m.groups())
assert created == 65536 + 40000, created
assert peak <= 4096, peak
assert evicted >= created - 4096 - timed_out, (evicted, created, timed_out)
PY
    n=$(sql "$work/f$1.db" "SELECT count(*) FROM findings WHERE rule = 'recon.scan'")
    [ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "recon.scan findings: $n (want the sweep as one finding)"
    [ "$(sql "$work/f$1.db" "SELECT status FROM runs")" = "ok" ] || fail "run not stored as ok"
    pass "($1 worker(s)) 105,536 flows through a 4,096-flow cap: peak within the cap, evictions counted, the sweep is one finding"
}
flood_run 1
flood_run 2

# The asset cap: a batch holds at most --asset-cap hosts per engine; the rest is refused and
# counted in the summary, and the run is still stored.
"$QW_BIN" analyze --db "$work/cap.db" --asset-cap 1024 "$work/flood.pcap" >"$work/cap.txt" 2>&1 ||
    fail "analyze --asset-cap exited $?: $(tail -3 "$work/cap.txt")"
hosts=$(sql "$work/cap.db" "SELECT count(*) FROM hosts")
[ "$hosts" -le 1024 ] && [ "$hosts" -ge 1000 ] || fail "asset cap 1024: $hosts hosts stored"
refused=$(sed -n 's/.*host updates refused \([0-9]*\),.*/\1/p' "$work/cap.txt")
[ "${refused:-0}" -gt 0 ] || fail "asset cap: no refusals reported: $(grep '^Caps' "$work/cap.txt")"
pass "--asset-cap 1024: $hosts hosts stored, $refused host updates refused and reported"
