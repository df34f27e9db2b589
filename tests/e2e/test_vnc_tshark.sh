#!/usr/bin/env bash
# Differential test: RFB versions, security types offered/selected, security result, shared flag,
# desktop name and client message types,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# Other corpus captures hold no RFB (checked once with `tshark -Y vnc`).
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
proto=vnc
[ -d "${QW_CORPUS:-}/pcaps" ] || { echo "SKIP: corpus not found at ${QW_CORPUS:-unset}/pcaps"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -x "${QW_BIN:-}" ] || { echo "FAIL: QW_BIN (${QW_BIN:-unset}) is not an executable"; exit 1; }
src=${QW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=()
for d in vnc; do
    for f in "$QW_CORPUS/pcaps/$d"/*.pcap*; do [ -e "$f" ] && files+=("$f"); done
done
[ ${#files[@]} -gt 0 ] || { echo "SKIP: no $proto captures in the corpus"; exit 77; }

status=0
for f in "${files[@]}"; do
    name=$(basename "$f")
    rm -f "$tmp/x.db" "$tmp/ev.json"
    "$QW_BIN" analyze --db "$tmp/x.db" --events "$tmp/ev.json" "$f" >"$tmp/out.txt" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        echo "FAIL $name: quaywatch analyze exited $rc"
        sed 's/^/    /' "$tmp/out.txt" | tail -5
        status=1
        continue
    fi
    python3 "$src/tests/e2e/remote_tshark_compare.py" "$proto" "$f" "$tmp/ev.json" || status=1
done
exit $status
