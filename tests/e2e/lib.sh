# Shared helpers for the end-to-end tests (sourced).
set -u
fail() { echo "FAIL: $*"; exit 1; }
passes=0
pass() { passes=$((passes + 1)); echo "ok: $*"; }
need_corpus() { [ -d "${QW_CORPUS:-}/pcaps" ] || { echo "SKIP: corpus not found at ${QW_CORPUS:-unset}"; exit 77; }; }
need_tool() { command -v "$1" >/dev/null || { echo "SKIP: $1 not installed (scripts/setup-deps.sh test)"; exit 77; }; }
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
