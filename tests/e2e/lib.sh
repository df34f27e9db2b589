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
# tests/e2e/remote_tshark_compare.py; exits 0 when all agree, 1 otherwise, 77 without files
compare_remote() {
    [ ${#files[@]} -gt 0 ] || { echo "SKIP: no $1 captures in the corpus"; exit 77; }
    local f status=0
    for f in "${files[@]}"; do
        analyze_events "$f" || { status=1; continue; }
        python3 "$QW_SRC/tests/e2e/remote_tshark_compare.py" "$1" "$f" "$work/ev.json" || status=1
    done
    exit $status
}
