#!/usr/bin/env bash
# The demo: synthesise an example port terminal, learn its normal traffic, then analyse a
# capture with scripted incidents against the example site file, and show what an operator
# would read: the summary (findings grouped by the party that owns them), the inventory, the
# findings, the remote-access ledger and the change verification.
set -euo pipefail
qw=${1:-build/quaywatch}
root=$(cd "$(dirname "$0")/.." && pwd)
site=$root/examples/terminal.yaml
out=${QW_DEMO_DIR:-$root/build/demo}
mkdir -p "$out"
rm -f "$out"/terminal.db "$out"/terminal.db-wal "$out"/terminal.db-shm "$out"/events.json

if "$qw" synth --help | grep -q -- "--incidents"; then
    echo "== quaywatch synth: a normal day at the terminal (10 minutes), then one with incidents"
    # the normal day ends before the day with incidents starts (21:30): what the baseline learnt
    # is older than everything it is compared with, as in real use
    "$qw" synth --minutes 10 --seed 2 --start 2026-11-20T21:10:00Z -o "$out/normal.pcap"
    "$qw" synth --minutes 10 --seed 1 --incidents -o "$out/terminal.pcap"
    echo
    echo "== quaywatch analyze --learn (the baseline: what normal looks like)"
    "$qw" analyze --quiet --learn --site "$site" --db "$out/terminal.db" "$out/normal.pcap"
else
    echo "== quaywatch synth: ten minutes of an example container and liquid-bulk terminal"
    "$qw" synth --minutes 10 --seed 1 -o "$out/terminal.pcap"
fi
echo
echo "== quaywatch advisories import examples/advisories (a made-up example, not a real advisory)"
"$qw" advisories import --db "$out/terminal.db" "$root/examples/advisories"
echo
echo "== quaywatch analyze --site examples/terminal.yaml"
"$qw" analyze --site "$site" --db "$out/terminal.db" --events "$out/events.json" "$out/terminal.pcap"
echo
echo "== quaywatch inventory --site examples/terminal.yaml (first 20 assets)"
"$qw" inventory --db "$out/terminal.db" --site "$site" >"$out/inventory.txt"
head -21 "$out/inventory.txt"   # (a file, not a pipe: head must not cut the writer short)
echo
echo "== quaywatch alerts (high and critical first)"
"$qw" alerts --db "$out/terminal.db" >"$out/alerts.txt"
head -16 "$out/alerts.txt"
echo
echo "== quaywatch advisories match (the devices the imported advisories name)"
"$qw" advisories match --db "$out/terminal.db" --site "$site"
echo
echo "== quaywatch sessions (the remote-access ledger)"
"$qw" sessions --db "$out/terminal.db"
echo
echo "== quaywatch changes --site examples/terminal.yaml (first lines)"
"$qw" changes --db "$out/terminal.db" --site "$site" >"$out/changes.txt"
head -14 "$out/changes.txt"
echo
echo "Store: $out/terminal.db   Event log: $out/events.json"
echo "More: $qw map --db $out/terminal.db | dot -Tsvg > map.svg;  $qw alerts --help"
