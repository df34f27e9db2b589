#!/usr/bin/env bash
# Differential test: DNP3 application fragments (function codes, object headers, IIN) in
# quaywatch's event log vs tshark, for every capture in $QW_CORPUS/pcaps/dnp3/. The comparison
# and the list of verified known differences are in dnp3_tshark.py beside this script.
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff dnp3
here=$QW_SRC/tests/e2e
python3 "$here/dnp3_tshark.py" "$QW_BIN" "$QW_CORPUS" "$work"
