#!/usr/bin/env bash
# The demo: synthesise ten minutes of an example port terminal, analyse it with the example site
# file, and show the summary and a few records of the event log.
set -euo pipefail
qw=${1:-build/quaywatch}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${QW_DEMO_DIR:-$root/build/demo}
mkdir -p "$out"
rm -f "$out"/terminal.db "$out"/terminal.db-wal "$out"/terminal.db-shm

echo "== quaywatch synth: ten minutes of an example container and liquid-bulk terminal"
"$qw" synth --minutes 10 --seed 1 -o "$out/terminal.pcap"
echo
echo "== quaywatch analyze --site examples/terminal.yaml"
"$qw" analyze --site "$root/examples/terminal.yaml" --db "$out/terminal.db" \
    --events "$out/events.json" "$out/terminal.pcap"
echo
echo "== first Modbus transactions in the event log ($out/events.json)"
grep '"event_type":"modbus"' "$out/events.json" | head -3
echo
echo "Store: $out/terminal.db   Event log: $out/events.json"
echo "Next: $qw inventory --db $out/terminal.db"
