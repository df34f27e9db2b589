#!/usr/bin/env bash
# Vulnerability matching end to end (docs/vulnerabilities.md) on real data: three corpus
# captures whose devices state their model and firmware (an S7-300 CPU 315-2 PN/DP at V3.2.7
# over S7comm, an S7-1500 CPU 1511-1 PN at V1.0 over S7comm-plus, an Omron CP1L-EL20DR-D over
# FINS) against CISA's CSAF advisories in the corpus.
#   - `advisories import` of the whole folder takes every CSAF document (counted here by
#     Python) and skips the NVD records; imported again, nothing doubles.
#   - `advisories match` finds the advisories a plain Python reading of the same files says
#     name each device by order number, and no others; a candidate it leaves out must have
#     versions that exclude the device's firmware. Spot checks: ICSA-23-222-09 (fixed in
#     V3.2.19) on the S7-300 at V3.2.7, and ICSA-23-073-01 naming the Omron by its product
#     name with placeholders.
#   - `analyze` then raises vuln.affected / vuln.possibly_affected findings with the owner the
#     site file gives, once per device and advisory.
#   - A broken file (bad JSON, or CSAF with a wrong member) is refused with its position or
#     member, and nothing of the import lands.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_corpus
need_qw_python
adv="$QW_CORPUS/advisories/csaf"
[ -d "$adv" ] || { echo "SKIP: no advisories in the corpus ($adv)"; exit 77; }
qw=$QW_BIN
caps=("$QW_CORPUS/pcaps/s7comm/snap7_s300_everything_szl.pcap"
      "$QW_CORPUS/pcaps/s7comm-plus/S7-1511-opc-request-all-types.pcap"
      "$QW_CORPUS/pcaps/other-ics/omron_fins.pcapng")
for c in "${caps[@]}"; do [ -f "$c" ] || { echo "SKIP: $c missing"; exit 77; }; done

cat >"$work/site.yaml" <<'YAML'
site: quaywatch advisories test
timezone: UTC
parties:
  - {id: operator, name: Terminal operator}
  - {id: vendor, name: Crane automation vendor}
default_owner: vendor
YAML
"$qw" site check "$work/site.yaml" >/dev/null || fail "the test's site file does not check"

db="$work/a.db"
"$qw" analyze --quiet --db "$db" "${caps[@]}" || fail "analyze exited $?"

# --- import ----------------------------------------------------------------------------------
"$qw" advisories import --db "$db" "$QW_CORPUS/advisories" >"$work/import.txt" 2>&1 \
    || { cat "$work/import.txt"; fail "import exited $?"; }
expected=$(python3 - "$QW_CORPUS/advisories" <<'PY'
import json, os, sys
csaf = other = 0
for root, _, names in os.walk(sys.argv[1]):
    for n in names:
        if not n.endswith(".json"):
            continue
        d = json.load(open(os.path.join(root, n)))
        if isinstance(d.get("document"), dict) and "csaf_version" in d["document"]:
            csaf += 1
        else:
            other += 1
print(csaf, other)
PY
)
read -r ncsaf nother <<<"$expected"
grep -q "^imported $ncsaf advisories" "$work/import.txt" || { cat "$work/import.txt"; fail "expected $ncsaf advisories imported"; }
grep -q "skipped $nother JSON files that are not CSAF" "$work/import.txt" || fail "expected $nother skipped"
[ "$(sql "$db" "SELECT count(*) FROM advisories")" = "$ncsaf" ] || fail "advisories rows"
pass "import: $ncsaf CSAF documents, $nother others skipped"
before=$(sql "$db" "SELECT (SELECT count(*) FROM advisory_products) || '/' || (SELECT count(*) FROM advisory_status) || '/' || (SELECT count(*) FROM advisory_remediations)")
"$qw" advisories import --db "$db" "$adv" >/dev/null || fail "second import"
after=$(sql "$db" "SELECT (SELECT count(*) FROM advisory_products) || '/' || (SELECT count(*) FROM advisory_status) || '/' || (SELECT count(*) FROM advisory_remediations)")
[ "$before" = "$after" ] || fail "imported again, the rows changed: $before -> $after"
pass "imported again, an advisory replaces itself ($after products/statuses/remediations)"

# --- match -----------------------------------------------------------------------------------
"$qw" inventory --db "$db" --format json >"$work/inv.json" || fail "inventory"
"$qw" advisories match --db "$db" --site "$work/site.yaml" --format json >"$work/match.json" \
    || fail "match exited $?"
python3 - "$work/inv.json" "$work/match.json" "$adv" <<'PY' || fail "match differs from the advisories"
import json, os, re, sys
inv = {a["id"]: a for a in json.load(open(sys.argv[1]))}
hits = json.load(open(sys.argv[2]))
by = {(h["asset"], h["advisory"]): h for h in hits}
assert len(by) == len(hits), "one hit per asset and advisory"

def norm(s):
    return re.sub(r"\s+", "", s).upper()

def vnum(v):
    return [int(x) for x in re.findall(r"\d+", v)]

# What a plain reading of the files says: advisories with a leaf whose model number is the
# device's order number and that some vulnerability marks known_affected
cands = {}
for root, _, names in os.walk(sys.argv[3]):
    for n in names:
        d = json.load(open(os.path.join(root, n)))
        if "product_tree" not in d:
            continue
        aid = d["document"]["tracking"]["id"]
        affected = set()
        for v in d.get("vulnerabilities", []):
            for k in ("known_affected", "first_affected", "last_affected"):
                affected.update(v.get("product_status", {}).get(k, []))
        def walk(b, vendor, version):
            for x in b.get("branches", []):
                vd = x["name"] if x["category"] == "vendor" else vendor
                vs = x["name"] if x["category"] in ("product_version_range", "product_version") else version
                p = x.get("product")
                if p and p["product_id"] in affected:
                    for m in p.get("product_identification_helper", {}).get("model_numbers", []):
                        yield vd, norm(m), vs
                yield from walk(x, vd, vs)
        for vd, m, vs in walk(d["product_tree"], None, None):
            cands.setdefault((m, aid), []).append(vs)

checked = 0
for aid_asset, a in inv.items():
    if not a.get("model") or a.get("vendor") != "Siemens":
        continue
    m = norm(a["model"])
    for (cm, aid), sets in cands.items():
        if cm != m:
            continue
        checked += 1
        h = by.get((aid_asset, aid))
        if h:
            assert h["match"] == "model_number", h
            continue
        # left out: every version set must exclude the firmware
        fw = a.get("firmware")
        for vs in sets:
            mm = re.fullmatch(r"vers:all/<(V[\d.]+)", vs or "")
            assert fw and mm and vnum(fw) >= vnum(mm.group(1)), (aid_asset, aid, vs, fw)
# and nothing matched by order number that the files do not name
for h in hits:
    if h["match"] == "model_number":
        assert (norm(h["model"]), h["advisory"]) in cands, h
assert checked >= 5, checked

s300 = by.get(("mac:00:0e:8c:d0:f9:cb", "ICSA-23-222-09"))
assert s300 and s300["verdict"] == "affected" and s300["firmware"] == "V3.2.7", s300
assert "CVE-2022-4304" in s300["cves"] and s300["cvss"] == 5.9 and s300["severity"] == "medium", s300
assert s300["versions"] == "vers:all/<V3.2.19" and s300["owner"] == "vendor", s300
assert "V3.2.19" in s300["fix"], s300
omron = [h for h in hits if h["advisory"] == "ICSA-23-073-01"]
assert len(omron) == 1 and omron[0]["model"] == "CP1L-EL20DR-D", omron
assert omron[0]["match"] == "product_name" and "CVE-2023-0811" in omron[0]["cves"], omron
# devices that state no model an advisory names get nothing
named = {h["asset"] for h in hits}
for aid_asset, a in inv.items():
    if aid_asset in named:
        assert a.get("model"), a
print(f"{len(hits)} hits, {checked} order-number candidates checked")
PY
pass "match: order-number hits agree with the advisories; S7-300 V3.2.7 affected by ICSA-23-222-09; Omron by product name"

# --- findings --------------------------------------------------------------------------------
"$qw" analyze --quiet --db "$db" --site "$work/site.yaml" --events "$work/ev.json" "${caps[0]}" \
    || fail "second analyze exited $?"
"$qw" alerts --db "$db" --format json >"$work/alerts.json" || fail "alerts"
python3 - "$work/alerts.json" "$work/match.json" "$work/ev.json" <<'PY' || fail "findings differ from the matches"
import json, sys
alerts = json.load(open(sys.argv[1]))
hits = json.load(open(sys.argv[2]))
vuln = [a for a in alerts if a["rule"].startswith("vuln.")]
got = {(a["asset"], a["evidence"]["advisory"], a["rule"]) for a in vuln}
want = {(h["asset"], h["advisory"], "vuln.affected" if h["verdict"] == "affected" else "vuln.possibly_affected") for h in hits}
assert got == want, (sorted(got ^ want))
for a in vuln:
    assert a["owner"] == "vendor", a
s300 = [a for a in vuln if a["asset"] == "mac:00:0e:8c:d0:f9:cb" and a["evidence"]["advisory"] == "ICSA-23-222-09"]
assert len(s300) == 1 and s300[0]["severity"] == "medium" and s300[0]["rule"] == "vuln.affected", s300
ev = [json.loads(l) for l in open(sys.argv[3]) if '"vuln.' in l]
assert ev and all(e["alert"]["category"] == "vulnerability" for e in ev), ev[:1]
print(len(vuln), "findings")
PY
pass "analyze raises one vuln.* finding per device and advisory, owned by the site's party"

# --- bad input -------------------------------------------------------------------------------
n0=$(sql "$db" "SELECT count(*) FROM advisories")
mkdir -p "$work/bad"
printf '{"document": {"csaf_version": "2.0",\n  "tracking": {"id": "BAD-1"}\n  "title": "x"}}\n' >"$work/bad/broken.json"
"$qw" advisories import --db "$db" "$work/bad/broken.json" >"$work/err.txt" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "broken JSON: exit $rc, expected 3"
grep -q "broken.json:3:" "$work/err.txt" || { cat "$work/err.txt"; fail "no FILE:LINE in the message"; }
printf '{"document": {"csaf_version": "2.0", "tracking": {"id": "BAD-2"}},\n "product_tree": {"branches": []},\n "vulnerabilities": [{"cve": "CVE-1", "product_status": {"known_affected": "P1"}}]}\n' >"$work/bad/wrong.json"
cp "$adv/cisa-ot/2023/icsa-23-222-09.json" "$work/bad/a-good.json"
"$qw" advisories import --db "$db" "$work/bad/a-good.json" "$work/bad/wrong.json" >"$work/err.txt" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "wrong member: exit $rc, expected 3"
grep -q "wrong.json: BAD-2: vulnerabilities\[0\].product_status: known_affected is not an array" "$work/err.txt" \
    || { cat "$work/err.txt"; fail "the message does not name the member"; }
grep -q "nothing imported" "$work/err.txt" || fail "no 'nothing imported'"
[ "$(sql "$db" "SELECT count(*) FROM advisories")" = "$n0" ] || fail "a refused import changed the store"
[ "$(sql "$db" "SELECT count(*) FROM advisories WHERE id LIKE 'BAD-%'")" = "0" ] || fail "BAD-2 landed"
mkfifo "$work/bad/fifo.json"
timeout 20 "$qw" advisories import --db "$db" "$work/bad/fifo.json" >"$work/err.txt" 2>&1
rc=$?
[ "$rc" -eq 3 ] && grep -q "fifo.json: not a regular file" "$work/err.txt" \
    || { cat "$work/err.txt"; fail "a FIFO named on the command line: exit $rc"; }
pass "bad files: exit 3 with position or member, and the store as it was"
echo "all $passes passed"
