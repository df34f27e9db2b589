#!/usr/bin/env bash
# The site file from the command line (docs/site-file.md):
#   - `site check` on the example terminal: exit 0 and one line of counts;
#   - `site check` on a file with many mistakes: exit 2 and exactly the expected
#     FILE:LINE:COL messages, in file order (tests/data/site/bad_many.expected);
#   - usage errors exit 2;
#   - `analyze --site BAD` and `run --site BAD` exit 2 before anything is written or opened;
#   - `site draft` from a store built from `quaywatch synth --minutes 2 --seed 1` + `analyze`:
#     the draft fails `site check` on its TODO placeholders only, passes once they are filled
#     in, and a capture analysed with it works; it never overwrites a file; a missing or
#     foreign store exits 3.
# Needs QW_BIN and QW_SRC; no corpus and no tshark.
. "$(dirname "$0")/lib.sh"
qw=$QW_BIN
data=$QW_SRC/tests/data/site
example=$QW_SRC/examples/terminal.yaml
passed=0
ok() { pass "$*"; passed=$((passed + 1)); }

# 1. The example site file of the demo terminal.
out=$("$qw" site check "$example" 2> "$work/err"); rc=$?
[ $rc -eq 0 ] || fail "example: exit $rc: $(cat "$work/err")"
[ "$out" = "$example: ok: 4 parties, 7 zones, 9 conduits, 12 assets, 8 modules, 1 change" ] ||
  fail "example: summary '$out'"
[ ! -s "$work/err" ] || fail "example: stderr not empty: $(cat "$work/err")"
ok "site check on examples/terminal.yaml: exit 0, one line of counts"

# 2. Every mistake of a bad file, in order, with its position.
(cd "$data" && "$qw" site check bad_many.yaml) > "$work/out" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] || fail "bad_many: exit $rc, want 2"
[ ! -s "$work/out" ] || fail "bad_many: stdout not empty"
diff -u "$data/bad_many.expected" "$work/err" || fail "bad_many: messages differ (above)"
ok "site check on bad_many.yaml: exit 2, $(($(wc -l < "$work/err") - 1)) messages as expected"

printf 'site: x\nzones:\n  - {id: a, cidrs: [10.0.0.0/8]\n' > "$work/syntax.yaml"
"$qw" site check "$work/syntax.yaml" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^$work/syntax.yaml:4:1: YAML syntax error: " "$work/err" ||
  fail "syntax error: exit $rc, '$(cat "$work/err")'"
"$qw" site check "$work/missing.yaml" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^$work/missing.yaml: cannot read: No such file or directory" "$work/err" ||
  fail "missing file: exit $rc, '$(cat "$work/err")'"
ok "syntax error and missing file: exit 2 with the file named"

# 3. Usage.
"$qw" site 2>/dev/null; [ $? -eq 2 ] || fail "site without action: want 2"
"$qw" site check 2>/dev/null; [ $? -eq 2 ] || fail "site check without file: want 2"
"$qw" site check a b 2>/dev/null; [ $? -eq 2 ] || fail "site check with two files: want 2"
"$qw" site frob 2>/dev/null; [ $? -eq 2 ] || fail "unknown action: want 2"
"$qw" site draft --bogus 2>/dev/null; [ $? -eq 2 ] || fail "draft bad option: want 2"
"$qw" site --help | grep -q "usage: quaywatch site check FILE" || fail "site --help"
"$qw" --help | grep -q "^  site " || fail "site missing from quaywatch --help"
ok "usage errors exit 2; --help"

# 4. An invalid site file stops analyze and run before anything is written or opened.
"$qw" synth --minutes 2 --seed 1 --incidents -o "$work/x.pcap" 2>/dev/null || fail "synth failed"
"$qw" analyze --db "$work/bad.db" --events "$work/bad.json" --site "$data/bad_many.yaml" \
  "$work/x.pcap" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] || fail "analyze --site bad: exit $rc, want 2"
[ ! -e "$work/bad.db" ] && [ ! -e "$work/bad.json" ] || fail "analyze --site bad wrote output"
grep -q "bad_many.yaml:8:10: duplicate party id 'vendor' (first at line 7)" "$work/err" ||
  fail "analyze --site bad: messages missing: $(head -3 "$work/err")"
"$qw" run -i qw-no-such-if0 --db "$work/run.db" --site "$data/bad_many.yaml" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] || fail "run --site bad: exit $rc, want 2 ($(tail -1 "$work/err"))"
[ ! -e "$work/run.db" ] || fail "run --site bad wrote a store"
ok "analyze and run with an invalid site file: exit 2, nothing written"

# 5. site draft from a store of the synthetic terminal.
"$qw" analyze --quiet --db "$work/x.db" --site "$example" "$work/x.pcap" || fail "analyze with the example site: exit $?"
"$qw" site draft --db "$work/x.db" -o "$work/draft.yaml" 2> "$work/err" || fail "draft: exit $?: $(cat "$work/err")"
"$qw" site draft --db "$work/x.db" > "$work/draft2.yaml" || fail "draft to stdout: exit $?"
cmp -s "$work/draft.yaml" "$work/draft2.yaml" || fail "draft to a file and to stdout differ"
"$qw" site draft --db "$work/x.db" -o "$work/draft.yaml" 2> "$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "exists" "$work/err" || fail "draft over an existing file: exit $rc, want 1"
grep -q "^  - id: vlan-30$" "$work/draft.yaml" || fail "draft: no zone for VLAN 30"
grep -q "cidrs: \[10.30.0.0/24, 10.30.1.0/24, 10.30.40.0/24\]" "$work/draft.yaml" ||
  fail "draft: VLAN 30 subnets"
grep -q "allow: \[modbus/502\]" "$work/draft.yaml" || fail "draft: no modbus conduit"
grep -q "operations: \[read, write\]" "$work/draft.yaml" || fail "draft: no operation classes"
# unfilled: check fails on the placeholders, and on nothing else
"$qw" site check "$work/draft.yaml" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] || fail "unfilled draft: exit $rc, want 2"
todo=$(grep -c ": placeholder TODO left in " "$work/err")
total=$(($(wc -l < "$work/err") - 1))
[ "$todo" -gt 10 ] && [ "$todo" -eq "$total" ] || fail "unfilled draft: $todo placeholders of $total errors: $(head -5 "$work/err")"
# filled by replacing the marker
sed -e 's/security_level: TODO/security_level: 2/' -e 's/TODO/operator/g' "$work/draft.yaml" > "$work/filled.yaml"
out=$("$qw" site check "$work/filled.yaml" 2> "$work/err") || fail "filled draft: exit $?: $(cat "$work/err")"
[ "$out" = "$work/filled.yaml: ok: 1 party, 6 zones, 8 conduits, 0 assets, 0 modules, 0 changes" ] ||
  fail "filled draft: '$out'"
"$qw" analyze --quiet --db "$work/y.db" --site "$work/filled.yaml" "$work/x.pcap" || fail "analyze with the filled draft: exit $?"
ok "site draft: $total TODO placeholders, passes site check once filled (6 zones, 8 conduits)"

# 6. Stores that are not.
"$qw" site draft --db "$work/none.db" 2> "$work/err"; rc=$?
[ $rc -eq 3 ] && [ ! -e "$work/none.db" ] || fail "draft from a missing store: exit $rc, want 3"
echo "not sqlite" > "$work/junk.db"
"$qw" site draft --db "$work/junk.db" > /dev/null 2> "$work/err"; rc=$?
[ $rc -eq 3 ] || fail "draft from a foreign file: exit $rc, want 3 ($(cat "$work/err"))"
ok "site draft from a missing or foreign store: exit 3"

echo "$passed passed, 0 failed"
