#!/usr/bin/env bash
# The inventory against the synthetic terminal's ground truth (`quaywatch synth --truth`):
# every device is exactly one asset (the core router's five VLAN interfaces share one MAC and
# are one device; the VPN clients behind the VPN gateway are assets of their own, not part of
# it), no asset holds two devices, each asset names the right vendor, and its roles are ones
# the traffic supports (the truth file lists them per kind).
set -u
[ -x "${QW_BIN:-}" ] || { echo "FAIL: QW_BIN (${QW_BIN:-unset}) is not an executable"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$QW_BIN" synth --minutes 10 --seed 3 --truth "$tmp/truth.json" -o "$tmp/t.pcap" 2>/dev/null ||
    { echo "FAIL: synth"; exit 1; }
"$QW_BIN" analyze --db "$tmp/t.db" "$tmp/t.pcap" >/dev/null 2>&1 || { echo "FAIL: analyze"; exit 1; }
"$QW_BIN" inventory --db "$tmp/t.db" --format json >"$tmp/inv.json" || { echo "FAIL: inventory"; exit 1; }
python3 "$QW_SRC/tests/e2e/inventory_vs_truth.py" "$tmp/truth.json" "$tmp/inv.json"
