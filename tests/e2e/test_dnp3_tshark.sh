#!/usr/bin/env bash
# Differential test: DNP3 application fragments (function codes, object headers, IIN) in
# quaywatch's event log vs tshark, for every capture in $QW_CORPUS/pcaps/dnp3/. The comparison
# and the list of verified known differences are in dnp3_tshark.py beside this script.
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
[ -d "${QW_CORPUS:-}/pcaps/dnp3" ] || {
    echo "SKIP: DNP3 corpus not found at ${QW_CORPUS:-unset}/pcaps/dnp3"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -x "${QW_BIN:-}" ] || { echo "FAIL: QW_BIN (${QW_BIN:-unset}) is not an executable"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/dnp3_tshark.py" "$QW_BIN" "$QW_CORPUS" "$tmp"
