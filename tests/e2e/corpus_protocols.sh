#!/usr/bin/env bash
# CTest fixture (tests/tests.cmake): writes QW_PROTOCOLS, the protocols tshark finds in each corpus
# capture whose MANIFEST.tsv row lists only its top 10 (lib.sh protocol_table), once per ctest run
# for every test that asks lib.sh's corpus_with; the fixture's cleanup deletes it when they are
# done. Nothing is kept between runs. Without the corpus or tshark it writes nothing and passes:
# the tests that need them skip on their own.
. "$(dirname "$0")/lib.sh"
[ -n "${QW_PROTOCOLS:-}" ] || fail "QW_PROTOCOLS is not set"
rm -f "$QW_PROTOCOLS"
[ -f "${QW_CORPUS:-}/MANIFEST.tsv" ] || { echo "note: no corpus at ${QW_CORPUS:-unset}: nothing to list"; exit 0; }
command -v tshark >/dev/null || { echo "note: tshark not installed: nothing to list"; exit 0; }
protocol_table "$QW_PROTOCOLS"
cut -c1-200 "$QW_PROTOCOLS"
