#!/usr/bin/env bash
# Every corpus capture: TCP and UDP flows in the event log == tshark's conversations (read through
# sharkd where it agrees: tests/e2e/flows_vs_tshark.py).
set -u
[ -d "${QW_CORPUS:-}/pcaps" ] || { echo "SKIP: corpus not found at ${QW_CORPUS:-unset}"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed (scripts/setup-deps.sh test)"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# (not exec: the trap must still remove $work and the stores left in it)
[ -n "${QW_PYTHON:-}" ] && [ -x "$QW_PYTHON" ] || QW_PYTHON=python3
"$QW_PYTHON" "$(dirname "$0")/flows_vs_tshark.py" "$QW_BIN" "$QW_CORPUS" "$work"
