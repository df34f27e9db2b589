#!/usr/bin/env bash
# Change verification and responsibility on the synthetic terminal with its site file
# (examples/terminal.yaml): learn with `analyze --learn` on the first 110 seconds, analyse the
# whole run, then check that
#   - `baseline diff --site` marks sts-crane02's firmware update documented by CHG-1042 (actor
#     vendor) and the unknown laptop undocumented, owned by the tank-farm vendor (its zone);
#   - `changes --site` reports CHG-1042's expected-and-seen changes (the firmware update), and
#     lists the laptop among the undocumented ones;
#   - `inventory --site` gives every asset an owner with the rule that decided and every device
#     of the terminal a zone (the remote-service box's relay on the internet has none), and
#     --zone/--owner filter by them;
#   - the analyze summary counts assets per party.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
need_tool editcap
qw=$QW_BIN
site=$QW_SRC/examples/terminal.yaml
inc=""
"$qw" synth --help 2>&1 | grep -q -- "--incidents" && inc="--incidents"

"$qw" synth --minutes 10 --seed 1 $inc -o "$work/full.pcap" 2>/dev/null || fail "synth"
editcap -B "2026-11-20 21:31:50" "$work/full.pcap" "$work/clean.pcap" || fail "editcap"
"$qw" analyze --db "$work/s.db" --site "$site" --learn "$work/clean.pcap" >"$work/sum1.txt" || fail "analyze --learn"
grep -q "baseline: learnt [0-9]* assets (--learn)" "$work/sum1.txt" || fail "summary lacks the learning line"
grep -Eq "by party \(.*\): operator [0-9]+, operator-it [0-9]+, vendor [0-9]+, tankfarm-vendor [0-9]+, nobody 0" "$work/sum1.txt" ||
    fail "summary lacks per-party counts: $(grep -A2 'Assets in' "$work/sum1.txt")"
"$qw" baseline diff --db "$work/s.db" | grep -q "^0 changes" || fail "--learn left changes"
pass "analyze --learn learns; the summary counts assets per party"

"$qw" analyze --quiet --db "$work/s.db" --site "$site" "$work/full.pcap" || fail "analyze full"
"$qw" baseline diff --db "$work/s.db" --site "$site" --format json >"$work/diff.json" || fail "diff --site"
python3 - "$work/diff.json" <<'PY' || fail "documented/undocumented marks are wrong"
import json, sys
ch = json.load(open(sys.argv[1]))
fw = [c for c in ch if c["type"] == "asset.identity_changed" and c.get("attribute") == "firmware"
      and c["asset"] == "mac:00:11:00:0a:9d:e1"]
assert len(fw) == 1 and fw[0]["documented"] and fw[0]["change_id"] == "CHG-1042", fw
assert fw[0]["actor"] == "vendor" and fw[0]["owner"] == "vendor" and fw[0]["zone"] == "cranes", fw
if any(c["type"] == "asset.mac_changed" for c in ch):  # synth --incidents
    sw = [c for c in ch if c["type"] == "asset.mac_changed"]
    assert len(sw) == 1 and sw[0]["ip"] == "10.30.0.1" and not sw[0]["documented"], sw
    assert sw[0]["zone"] == "cranes" and sw[0]["owner"], sw
    fw2 = [c for c in ch if c["type"] == "asset.identity_changed" and c.get("new") == "22.011"]
    assert len(fw2) == 1 and not fw2[0]["documented"] and fw2[0]["owner"] == "tankfarm-vendor", fw2
lap = [c for c in ch if c["type"] == "asset.new" and c["asset"] == "mac:10:c5:95:33:73:27"]
assert len(lap) == 1 and not lap[0]["documented"] and "change_id" not in lap[0], lap
assert lap[0]["owner"] == "tankfarm-vendor" and lap[0]["zone"] == "tankfarm", lap
# nothing outside CHG-1042's window and scope (sts-crane02, jump01) is documented by it
scope = {"mac:00:11:00:0a:9d:e1", "mac:00:50:56:41:26:cc"}
for c in ch:
    if c["documented"]:
        assert "2026-11-20T21:32:00" <= c["time"] <= "2026-11-20T21:35:00.000000Z", c
        assert c["asset"] in scope or c.get("peer") in scope, c
        assert c["type"] in ("asset.identity_changed", "comm.new_edge"), c
PY
pass "baseline diff --site: firmware update documented by CHG-1042 (actor vendor), laptop undocumented (owner tankfarm-vendor)"

"$qw" changes --db "$work/s.db" --site "$site" --format json >"$work/changes.json" || fail "changes"
python3 - "$work/changes.json" <<'PY' || fail "changes report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
rec = {x["id"]: x for x in r["records"]}["CHG-1042"]
assert "asset.identity_changed" in rec["expected"], rec["expected"]
seen = [c for c in rec["seen"] if c["type"] == "asset.identity_changed"]
assert len(seen) == 1 and seen[0]["new"] == "v3.30", rec["seen"]
assert "asset.identity_changed" not in rec["missing"], rec["missing"]
assert all(c["type"] not in rec["expected"] for c in rec["unexpected"]), rec["unexpected"]
und = r["undocumented"]
assert any(c["asset"] == "mac:10:c5:95:33:73:27" and c["type"] == "asset.new" for c in und)
assert all("owner" in c for c in und)
PY
"$qw" changes --db "$work/s.db" >/dev/null 2>&1; [ $? -eq 2 ] || fail "changes without --site: want 2"
pass "changes: CHG-1042 expected and seen, missing and unexpected reported; laptop undocumented"

"$qw" inventory --db "$work/s.db" --site "$site" --format json >"$work/inv.json" || fail "inventory --site"
python3 - "$work/inv.json" <<'PY' || fail "inventory zones/owners are wrong"
import json, sys
inv = {a["id"]: a for a in json.load(open(sys.argv[1]))}
assert all(a["owner"] and a["owner_rule"] in ("asset", "module", "zone", "default")
           for a in inv.values()), [a["id"] for a in inv.values() if not a["owner"]]
# every device of the terminal is in a zone; the remote-service box's relay on the internet,
# seen on the crane VLAN through the router, is in none and falls to the site's default owner
relay = "ip:198.51.100.40"
assert all(a["zone"] for i, a in inv.items() if i != relay), [i for i, a in inv.items() if not a["zone"]]
assert inv[relay]["zone"] is None and inv[relay]["owner_rule"] == "default", inv[relay]
plc = inv["mac:00:11:00:0a:9d:e1"]
assert plc["zone"] == "cranes" and plc["owner"] == "vendor" and plc["function"], plc
assert inv["ip:10.50.8.21"]["zone"] == "vendor-vpn", inv["ip:10.50.8.21"]
PY
n=$("$qw" inventory --db "$work/s.db" --site "$site" --zone cranes --format csv | tail -n +2 | wc -l)
[ "$n" -ge 9 ] || fail "--zone cranes: $n assets"
"$qw" inventory --db "$work/s.db" --site "$site" --owner vendor --format json |
    python3 -c 'import json,sys; a=json.load(sys.stdin); assert a and all(x["owner"] == "vendor" for x in a)' ||
    fail "--owner vendor lets others through"
"$qw" inventory --db "$work/s.db" --zone cranes >/dev/null 2>&1; [ $? -eq 2 ] || fail "--zone without --site: want 2"
pass "inventory --site: zone, owner and rule for every asset; --zone and --owner filter"
