#!/usr/bin/env bash
# --workers: the demo terminal (a learnt normal day, then a day with incidents) analysed with 1,
# 2 and 3 workers gives the same inventory, communication map, findings, remote-access ledger,
# baseline and the same set of event-log records; so do corpus captures of every kind
# (fragments, tunnels, VLANs, link types, pcapng), which checks that every packet one engine
# needs reaches the same worker. Speed lives in bench/, not here.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN
site=$QW_SRC/examples/terminal.yaml
"$qw" synth --minutes 10 --seed 2 -o "$work/normal.pcap" 2>/dev/null || fail "synth normal"
"$qw" synth --minutes 10 --seed 1 --incidents -o "$work/incidents.pcap" 2>/dev/null ||
    fail "synth incidents"

# Everything a user can read back, in a form where only the store's own row ids could differ.
views() { # db out-prefix
    "$qw" inventory --db "$1" --site "$site" --format json >"$2.inventory" || fail "inventory $1"
    "$qw" map --db "$1" --format json >"$2.map" || fail "map $1"
    "$qw" alerts --db "$1" --format json >"$2.alerts" || fail "alerts $1"
    "$qw" sessions --db "$1" --format json >"$2.sessions" || fail "sessions $1"
    "$qw" baseline show --db "$1" --format json >"$2.baseline" || fail "baseline $1"
}

for n in 1 2 3; do
    "$qw" analyze --quiet --workers $n --learn --site "$site" --db "$work/t$n.db" \
        --events "$work/learn$n.json" "$work/normal.pcap" || fail "learn with $n workers"
    "$qw" analyze --workers $n --site "$site" --db "$work/t$n.db" --events "$work/ev$n.json" \
        "$work/incidents.pcap" >"$work/summary$n.txt" || fail "analyze with $n workers"
    views "$work/t$n.db" "$work/v$n"
    sort "$work/learn$n.json" "$work/ev$n.json" >"$work/ev$n.sorted"
done
for n in 2 3; do
    for v in inventory map alerts sessions baseline; do
        cmp -s "$work/v1.$v" "$work/v$n.$v" ||
            fail "$v differs between 1 and $n workers: $(diff "$work/v1.$v" "$work/v$n.$v" | head -5)"
    done
    cmp -s "$work/ev1.sorted" "$work/ev$n.sorted" ||
        fail "event log differs between 1 and $n workers: $(diff "$work/ev1.sorted" "$work/ev$n.sorted" | head -4)"
done
grep -q "; 2 workers" "$work/summary2.txt" || fail "summary does not say 2 workers"
# not a comparison of two empty outputs: the incidents are there
python3 - "$work/v1.alerts" "$work/v1.inventory" "$work/ev1.sorted" <<'PY' || fail "demo content"
import json, sys
alerts = json.load(open(sys.argv[1]))
rules = {a["rule"] for a in (alerts if isinstance(alerts, list) else alerts["findings"])}
need = {"recon.scan", "ics.cpu_state", "ics.restart", "cred.plaintext", "remote.bypass_jump_host"}
missing = need - rules
assert not missing, f"findings missing: {missing}"
inv = json.load(open(sys.argv[2]))
assets = inv if isinstance(inv, list) else inv["assets"]
assert len(assets) >= 20, f"only {len(assets)} assets"
n = sum(1 for _ in open(sys.argv[3]))
assert n > 10000, f"only {n} event records"
PY
pass "demo terminal: 1, 2 and 3 workers give the same inventory, map, findings, ledger, baseline and event log"

# Corpus captures: fragments, tunnels, VLAN trunks, pcapng and cooked captures. Each folder's
# captures are analysed together (merged in time order, one engine per worker over them all).
compared=0
if [ -d "${QW_CORPUS:-}/pcaps" ]; then
    for d in "$QW_CORPUS"/pcaps/*/; do
        files=$(find "$d" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
        [ -n "$files" ] || continue
        for n in 1 2; do
            rm -f "$work/c$n.db" "$work/c$n.db-wal" "$work/c$n.db-shm"
            # shellcheck disable=SC2086 # one argument per capture file
            "$qw" analyze --quiet --workers $n --db "$work/c$n.db" --events "$work/c$n.json" \
                $files 2>/dev/null
            echo $? >"$work/c$n.rc"
            sort "$work/c$n.json" >"$work/c$n.sorted"
            "$qw" inventory --db "$work/c$n.db" --format json >"$work/c$n.inv" 2>/dev/null
            "$qw" alerts --db "$work/c$n.db" --format json >"$work/c$n.alerts" 2>/dev/null
        done
        for x in rc sorted inv alerts; do
            cmp -s "$work/c1.$x" "$work/c2.$x" || fail "$(basename "$d"): $x differs between 1 and 2 workers: $(diff "$work/c1.$x" "$work/c2.$x" | head -4)"
        done
        compared=$((compared + $(echo "$files" | wc -l)))
    done
    [ "$compared" -gt 200 ] || fail "only $compared corpus captures compared"
    pass "$compared corpus captures (by folder): 1 and 2 workers give the same event log, inventory and findings"
fi
