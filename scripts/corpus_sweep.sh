#!/usr/bin/env bash
# The detection sweep over the capture corpus (docs/detections.md, "On the real captures of the
# corpus"): analyse every capture under CORPUS/pcaps on its own, into its own store (no baseline,
# so only the rules that need none run), and print which rules fire on which capture folder.
#
#   scripts/corpus_sweep.sh [-b QUAYWATCH] [-s SITE] [-d] [-k DIR] [CORPUS]
#
#   -b  the binary (default build/quaywatch)
#   -s  a site file to analyse with (e.g. examples/terminal.yaml); default none
#   -d  details: one line per finding (capture, rule, asset, peer, count, flow id, first
#       packet time, message), to look at the frames with tshark
#   -k  keep the stores and event logs in DIR (default: a temporary directory, removed)
#   CORPUS defaults to ../shared/corpus next to the checkout.
#
# Output: a Markdown table `folder | rule | captures | findings | occurrences`, findings being
# rows of the store's `findings` table and occurrences the sum of their counts. Not part of
# `make check`: it takes about 20 s (a few minutes with the sanitizers) and judges nothing by
# itself: docs/detections.md has the verdicts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
qw=$root/build/quaywatch
site=""
details=0
keep=""
while getopts "b:s:dk:" o; do
    case $o in
    b) qw=$OPTARG ;;
    s) site=$OPTARG ;;
    d) details=1 ;;
    k) keep=$OPTARG ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
corpus=${1:-$root/../shared/corpus}
[ -d "$corpus/pcaps" ] || { echo "no captures at $corpus/pcaps" >&2; exit 2; }
[ -x "$qw" ] || { echo "$qw is not an executable (build first)" >&2; exit 2; }
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    out=$keep
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
siteopt=()
[ -n "$site" ] && siteopt=(--site "$site")

n=0
failed=0
: >"$out/index.tsv"
while IFS= read -r -d '' cap; do
    rel=${cap#"$corpus/pcaps/"}
    n=$((n + 1))
    db=$out/$n.db
    rm -f "$db" "$db"-wal "$db"-shm
    rc=0
    "$qw" analyze --quiet "${siteopt[@]}" --db "$db" --events "$out/$n.json" "$cap" \
        >"$out/$n.log" 2>&1 || rc=$?
    # 3: damaged part way; what came before the damage is stored and counts
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        failed=$((failed + 1))
        echo "analyze exited $rc on $rel: $(tail -1 "$out/$n.log")" >&2
    fi
    printf '%s\t%s\n' "$n" "$rel" >>"$out/index.tsv"
done < <(find "$corpus/pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) \
             -print0 | sort -z)

python3 - "$out" "$details" "$n" "$failed" <<'PY'
import collections, os, sqlite3, sys, datetime
out, details, n, failed = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
caps = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "index.tsv"))]
agg = collections.defaultdict(lambda: [set(), 0, 0])
rows = []
for idx, rel in caps:
    db = os.path.join(out, idx + ".db")
    if not os.path.exists(db):
        continue
    con = sqlite3.connect(db)
    try:
        q = con.execute("SELECT rule, asset, peer, count, flow_id, first_seen, message"
                        " FROM findings ORDER BY rule, asset, peer").fetchall()
    except sqlite3.Error:
        q = []
    con.close()
    folder = rel.split("/", 1)[0]
    for rule, asset, peer, count, flow, first, msg in q:
        a = agg[(folder, rule)]
        a[0].add(rel)
        a[1] += 1
        a[2] += count
        rows.append((rel, rule, asset, peer, count, flow, first, msg))
print(f"{n} captures analysed, {failed} failed, {len(rows)} findings\n")
print("| folder | rule | captures | findings | occurrences |")
print("|---|---|---|---|---|")
for (folder, rule), (c, f, o) in sorted(agg.items()):
    print(f"| {folder} | `{rule}` | {len(c)} | {f} | {o} |")
if details:
    print()
    for rel, rule, asset, peer, count, flow, first, msg in rows:
        t = datetime.datetime.fromtimestamp((first or 0) / 1e9, datetime.timezone.utc)
        print(f"{rel}\t{rule}\t{asset}\t{peer}\tx{count}\tflow {flow}\t"
              f"{t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\t{msg}")
PY
