#!/usr/bin/env bash
# The inventory against the synthetic terminal's ground truth (`quaywatch synth --truth`), for
# the run with the scripted events (--incidents) and for the clean terminal: every device
# present is exactly one asset (the core router's five VLAN interfaces share one MAC and are one
# device; the VPN clients behind the VPN gateway are assets of their own, not part of it; the
# crane router replaced during the run is an asset of its own, its address now held by the new
# box), no asset holds two devices, each asset names the right vendor, and its roles are ones
# the traffic supports (the truth file lists them per kind).
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python

"$QW_BIN" synth --minutes 10 --seed 3 --incidents --truth "$work/truth.json" -o "$work/t.pcap" 2>/dev/null ||
    { echo "FAIL: synth"; exit 1; }
"$QW_BIN" analyze --db "$work/t.db" "$work/t.pcap" >/dev/null 2>&1 || { echo "FAIL: analyze"; exit 1; }
"$QW_BIN" inventory --db "$work/t.db" --format json >"$work/inv.json" || { echo "FAIL: inventory"; exit 1; }
python3 "$QW_SRC/tests/e2e/inventory_vs_truth.py" "$work/truth.json" "$work/inv.json" || exit 1

# Assets come in numeric order of their first address (IPv4 as IPv4-mapped IPv6, as the store
# compares them), ties by id, and the assets known only by MAC after them, by id.
python3 - "$work/inv.json" <<'PY' || exit 1
import ipaddress, json, sys
inv = json.load(open(sys.argv[1]))
def key(a):
    if not a["ips"]:
        return (1, b"", a["id"])
    ip = ipaddress.ip_address(a["ips"][0]["ip"])
    if ip.version == 4:
        ip = ipaddress.IPv6Address("::ffff:" + str(ip))
    return (0, ip.packed, a["id"])
keys = [key(a) for a in inv]
assert keys == sorted(keys), [a["id"] for a in inv]
assert any(k[0] == 1 for k in keys) and any(k[0] == 0 for k in keys)
print(f"ok: {len(inv)} assets in address order, MAC-only ones last")
PY

# The clean terminal: no laptop, no VPN client, no second crane router.
"$QW_BIN" synth --minutes 10 --seed 3 --truth "$work/clean.json" -o "$work/c.pcap" 2>/dev/null ||
    { echo "FAIL: synth clean"; exit 1; }
"$QW_BIN" analyze --db "$work/c.db" "$work/c.pcap" >/dev/null 2>&1 || { echo "FAIL: analyze clean"; exit 1; }
"$QW_BIN" inventory --db "$work/c.db" --format json >"$work/cinv.json" || { echo "FAIL: inventory clean"; exit 1; }
python3 "$QW_SRC/tests/e2e/inventory_vs_truth.py" "$work/clean.json" "$work/cinv.json" || exit 1

# The communication map over the same store: asset-level edges with their operations; the
# engineering workstation's write to sts-crane01 (docs/synth.md, 85%) is there with "write",
# and the dot rendering is valid Graphviz when Graphviz is installed.
"$QW_BIN" map --db "$work/t.db" --format json >"$work/map.json" || { echo "FAIL: map json"; exit 1; }
python3 - "$work/map.json" "$work/truth.json" <<'PY' || exit 1
import json, sys
m = json.load(open(sys.argv[1]))["edges"]
truth = json.load(open(sys.argv[2]))["devices"]
mac = {d["name"]: d["mac"] for d in truth}
controllers = {"mac:" + d["mac"] for d in truth
               if d["kind"] in ("crane_plc", "straddle_carrier", "tank_plc", "tank_gauge")}
w = [e for e in m if e["client"] == "mac:" + mac["tank-ews01"]
     and e["server"] == "mac:" + mac["sts-crane01"] and e["app_proto"] == "modbus"]
assert len(w) == 1 and "write" in w[0]["ops"] and w[0]["port"] == 502, w
polls = [e for e in m if e["client"] == "mac:" + mac["scada01"] and e["app_proto"] == "modbus"]
assert {e["server"] for e in polls} == controllers, len(polls)  # the HMI polls every controller
assert all(e["packets"] > 0 and e["first_seen"] <= e["last_seen"] for e in m)
print(f"ok: map has {len(m)} asset edges; HMI polls {len(polls)} controllers; EWS write found")
PY
"$QW_BIN" map --db "$work/t.db" --format dot >"$work/map.dot" || { echo "FAIL: map dot"; exit 1; }
grep -q "cluster_vlan30" "$work/map.dot" || { echo "FAIL: no crane VLAN cluster in dot"; exit 1; }
if command -v dot >/dev/null; then
    dot -Tsvg "$work/map.dot" >"$work/map.svg" || { echo "FAIL: Graphviz rejects the dot output"; exit 1; }
    grep -q "<svg" "$work/map.svg" || { echo "FAIL: no svg"; exit 1; }
    echo "ok: dot renders to SVG"
fi
