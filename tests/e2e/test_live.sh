#!/usr/bin/env bash
# Live capture: replay a corpus capture with tcpreplay into a veth pair inside a private network
# namespace while `quaywatch run -i` listens on the other end (as root, dropping to nobody); the
# TCP and UDP flows it records must match the offline analysis of the same file, and its end-of-run
# counts must show every packet received and analysed, none dropped (the replay is paced, far
# below the sensor's speed: a correctness check, not a timing one). Touches no real network: the
# namespace and its veth pair exist only for this test.
. "$(dirname "$0")/lib.sh"
need_corpus; need_tool tcpreplay; need_tool ip
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: live capture needs root (network namespaces, raw capture)"; exit 77; fi
ns=qwtest$$
if ! ip netns add "$ns" 2>/dev/null; then echo "SKIP: cannot create a network namespace here"; exit 77; fi
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
chmod 755 "$work"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add qwtx type veth peer name qwrx || fail "veth pair"
in_ns ip link set qwtx up; in_ns ip link set qwrx up; in_ns ip link set lo up

flows_of() { python3 - "$1" <<'PY'
import json, sys
n = {"TCP": 0, "UDP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] == "flow" and r["proto"] in n:
        n[r["proto"]] += 1
print(n["TCP"], n["UDP"])
PY
}
cap=$QW_CORPUS/pcaps/mixed-plant/$(ls "$QW_CORPUS/pcaps/mixed-plant" | head -1)
"$QW_BIN" analyze --quiet --db "$work/off.db" --events "$work/off.json" "$cap" || fail "offline analysis"
want=$(flows_of "$work/off.json")

live_run() { # workers
    ip netns exec "$ns" "$QW_BIN" run -i qwrx --user nobody --db "$work/live$1.db" --events "$work/live$1.json" \
        --flush 1 --workers "$1" > "$work/run.out" 2> "$work/run.err" &
    pid=$!
    for _ in $(seq 50); do grep -q "listening on" "$work/run.err" && break; sleep 0.1; done
    grep -q "listening on" "$work/run.err" || fail "run did not start: $(cat "$work/run.err")"
    in_ns tcpreplay -q -i qwtx --pps 10000 "$cap" > "$work/replay.out" 2>&1 || fail "tcpreplay: $(cat "$work/replay.out")"
    sleep 2
    kill -INT "$pid"; wait "$pid"; rc=$?
    [ $rc -eq 0 ] || fail "run exited $rc: $(cat "$work/run.err")"
    grep -q "dropped by the kernel" "$work/run.err" || fail "no kernel drop counts at exit"
    grep -q "listening on qwrx (TPACKET_V" "$work/run.err" || fail "no ring version: $(cat "$work/run.err")"
    live=$(sed -n 's/.*live: received=\([0-9]*\) dropped=\([0-9]*\) ifdropped=\([0-9]*\) analysed=\([0-9]*\)$/\1 \2 \3 \4/p' "$work/run.err")
    [ -n "$live" ] || fail "no 'live: received=...' line at exit: $(cat "$work/run.err")"
    read -r received dropped ifdropped analysed <<< "$live"
    sent=$(sql "$work/off.db" "SELECT packets FROM runs")
    [ "$dropped" = 0 ] && [ "$ifdropped" = 0 ] || fail "paced replay: $dropped dropped by the kernel, $ifdropped by the interface"
    [ "$received" = "$analysed" ] || fail "received $received, analysed $analysed"
    [ "$analysed" = "$sent" ] || fail "analysed $analysed live, $sent in the capture"
    grep -Eq "Traffic by protocol" "$work/run.out" || fail "no summary at exit"
    got=$(flows_of "$work/live$1.json")
    [ "$got" = "$want" ] || fail "live flows (tcp udp) = $got, offline = $want; $(cat "$work/run.err")"
    [ "$(stat -c %U "$work/live$1.db")" = nobody ] || fail "store not handed to the unprivileged user"
    batches=$(sql "$work/live$1.db" "SELECT status FROM runs")
    [ "$batches" = interrupted ] || fail "run row status '$batches', want interrupted"
    # the run row keeps the capture counts printed at the stop
    stored=$(sql "$work/live$1.db" "SELECT received || ' ' || dropped || ' ' || ifdropped || ' ' || packets FROM runs")
    [ "$stored" = "$received $dropped $ifdropped $analysed" ] ||
        fail "run row counts '$stored', printed '$received $dropped $ifdropped $analysed'"
    offcounts=$(sql "$work/off.db" "SELECT coalesce(received, 'null') FROM runs")
    [ "$offcounts" = null ] || fail "a file's run row has capture counts: $offcounts"
    pass "live capture ($1 worker(s)) of $(basename "$cap"): $analysed of $sent packets received and analysed, none dropped; flows tcp/udp $got equal offline; root dropped to nobody"
}
live_run 1
live_run 2
echo "2 passed, 0 failed"
