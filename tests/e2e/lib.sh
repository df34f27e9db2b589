# Shared helpers for the end-to-end tests (sourced).
set -u
fail() { echo "FAIL: $*"; exit 1; }
passes=0
pass() { passes=$((passes + 1)); echo "ok: $*"; }
# need_corpus [DIR]: skip without the corpus's pcaps (or its pcaps/DIR)
need_corpus() {
    local d="${QW_CORPUS:-}/pcaps${1:+/$1}"
    [ -n "${QW_CORPUS:-}" ] || { echo "SKIP: QW_CORPUS is not set"; exit 77; }
    [ -d "$d" ] || { echo "SKIP: corpus not found at $d"; exit 77; }
}
need_tool() { command -v "$1" >/dev/null || { echo "SKIP: $1 not installed (scripts/setup-deps.sh test)"; exit 77; }; }
# python3 is the interpreter QW_PYTHON names (tests/tests.cmake: what `python3` resolved to at
# configure time) when it is set and executable, else whatever PATH finds. A version manager's
# shim first on PATH (pyenv's runs several shell scripts per call) costs as much as Python's own
# start, and these tests start python3 hundreds of times.
if [ -n "${QW_PYTHON:-}" ] && [ -x "$QW_PYTHON" ]; then
    python3() { "$QW_PYTHON" "$@"; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# sql DB QUERY: first column of the first row
sql() { python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$1" "$2"; }
# count_events FILE TYPE
count_events() { grep -c "\"event_type\":\"$2\"" "$1" || true; }
# The built binary (QW_BIN) must exist; python3 with tests/e2e on its path (pcapbuild.py,
# findings_check.py and friends), writing no __pycache__ into the tree.
need_qw_python() {
    [ -x "${QW_BIN:-}" ] || fail "QW_BIN (${QW_BIN:-unset}) is not an executable"
    need_tool python3
    export PYTHONPATH="$QW_SRC/tests/e2e${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
}
# need_tshark_diff [DIR]: what a differential test against tshark needs: the corpus (or its
# pcaps/DIR), tshark, python3 and the built binary
need_tshark_diff() {
    need_corpus "$@"
    need_tool tshark
    need_qw_python
}
# analyze_events CAPTURE: `quaywatch analyze` of CAPTURE with its event log in $work/ev.json
# (the store $work/x.db is replaced on each call); returns 1, after printing the capture's name
# and the end of quaywatch's output, when it exits with anything but 0 or 3 (a damaged input
# is analysed up to the damage)
analyze_events() {
    rm -f "$work/x.db" "$work/x.db-wal" "$work/x.db-shm" "$work/ev.json"
    "$QW_BIN" analyze --db "$work/x.db" --events "$work/ev.json" "$1" >"$work/out.txt" 2>&1
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        echo "FAIL $(basename "$1"): quaywatch analyze exited $rc"
        sed 's/^/    /' "$work/out.txt" | tail -5
        return 1
    fi
}
# Captures for a differential test collect in the array `files`:
# add_corpus_dirs DIR... every capture in pcaps/DIR; add_corpus_files PATH... those of the
# paths (relative to pcaps/) the corpus holds
files=()
add_corpus_dirs() {
    local d f
    for d in "$@"; do
        for f in "$QW_CORPUS/pcaps/$d"/*.pcap*; do [ -e "$f" ] && files+=("$f"); done
    done
}
add_corpus_files() {
    local f
    for f in "$@"; do [ -e "$QW_CORPUS/pcaps/$f" ] && files+=("$QW_CORPUS/pcaps/$f"); done
}
# compare_remote PROTO: for each of `files`, quaywatch's event log against tshark through
# tests/e2e/remote_tshark_compare.py, and the remote-access ledger's users against that event
# log (tests/e2e/ledger_users.py); exits 0 when all agree, 1 otherwise, 77 without files
compare_remote() {
    [ ${#files[@]} -gt 0 ] || { echo "SKIP: no $1 captures in the corpus"; exit 77; }
    local f status=0
    for f in "${files[@]}"; do
        analyze_events "$f" || { status=1; continue; }
        python3 "$QW_SRC/tests/e2e/remote_tshark_compare.py" "$1" "$f" "$work/ev.json" || status=1
        python3 "$QW_SRC/tests/e2e/ledger_users.py" "$QW_BIN" "$work/x.db" "$work/ev.json" || status=1
    done
    exit $status
}
# Which corpus captures hold a protocol. MANIFEST.tsv's last column lists the protocols of each
# capture's hierarchy (`tshark -qz io,phs`, eth, ip, ipv6, tcp and udp left out) with their
# frame counts, but only the top 10: where a row is cut (or a capture has none), the whole list
# is tshark's, run once per ctest run for all the tests that ask by the fixture
# tests/e2e/corpus_protocols.sh into QW_PROTOCOLS (tests/tests.cmake), or here, into $work, by a
# test run outside ctest. (A probe `tshark -Y PROTO -c 1` would not do: with a display filter,
# tshark 4.0 stops after the first frame read, matching or not.)
# phs_protocols CAPTURE: name:frames,... of every protocol in CAPTURE's hierarchy, most frames
# first, as MANIFEST.tsv writes them (frames summed over the hierarchy's lines; deep lines,
# which tshark starts with "...", count for their protocol)
phs_protocols() {
    tshark -r "$1" -qz io,phs 2>/dev/null |
        awk '$2 ~ /^frames:[0-9]+$/ { sub(/^\.+/, "", $1); n[$1] += substr($2, 8) }
             END { for (p in n) if (p !~ /^(eth|ip|ipv6|tcp|udp)$/) print n[p] "\t" p }' |
        sort -k1,1nr -k2,2 | awk -F'\t' '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 } END { print "" }'
}
# protocol_table OUT: "pcaps/REL<TAB>list" for every capture whose MANIFEST.tsv row is cut at 10
# protocols or missing, read by tshark (phs_protocols), nproc captures at a time
protocol_table() {
    local dir rel i=0 jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    dir=$(mktemp -d)
    while IFS= read -r rel; do
        i=$((i + 1))
        printf '%s\t%s\n' "$rel" "$(phs_protocols "$QW_CORPUS/$rel")" >"$dir/$i" &
        [ $((i % jobs)) -ne 0 ] || wait
    done < <(cd "$QW_CORPUS" && find pcaps -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort |
             awk -F'\t' 'FNR == NR { if (FNR > 1 && split($8, p, ",") < 10) whole[$1] = 1; next }
                         !($0 in whole)' MANIFEST.tsv -)
    wait
    for ((; i > 0; i--)); do cat "$dir/$i"; done | sort >"$1.tmp" && mv "$1.tmp" "$1"
    rm -rf "$dir"
}
# corpus_with PROTO...: the captures (relative to pcaps/) in whose hierarchy tshark finds any of
# the PROTOs, one a line
corpus_with() {
    local table=${QW_PROTOCOLS:-}
    if [ -z "$table" ] || [ ! -f "$table" ]; then
        table=$work/protocols.tsv
        [ -f "$table" ] || protocol_table "$table"
    fi
    awk -F'\t' -v want="$*" '
        BEGIN { for (i = split(want, w, " "); i > 0; i--) wanted[w[i]] = 1 }
        function holds(list,   n, i, e) {
            n = split(list, e, ",")
            for (i = 1; i <= n; i++) if (substr(e[i], 1, index(e[i], ":") - 1) in wanted) return 1
            return 0
        }
        FILENAME == ARGV[1] { full[$1] = $2; next }
        FNR > 1 { list[$1] = ($1 in full) ? full[$1] : $8; delete full[$1] }
        END {
            for (f in full) list[f] = full[f]
            for (f in list) if (holds(list[f])) print substr(f, 7)
        }' "$table" "$QW_CORPUS/MANIFEST.tsv" | sort
}
