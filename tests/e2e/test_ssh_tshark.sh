#!/usr/bin/env bash
# Differential test: SSH identification strings, KEXINIT fingerprints (HASSH), clear message codes
# and host key type per connection,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# Other corpus captures hold no SSH (checked once with `tshark -Y ssh` over the whole corpus);
# the synthetic terminal from `quaywatch synth` has SSH sessions to a jump host and is added.
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

add_corpus_dirs ssh
# The synthetic terminal's jump-host SSH sessions (skipped if synth is unavailable).
if "$QW_BIN" synth --minutes 2 --seed 1 -o "$work/synth_terminal.pcap" >/dev/null 2>&1; then
    files+=("$work/synth_terminal.pcap")
else
    echo "note: 'quaywatch synth' failed; the synthetic capture is not compared"
fi
compare_remote ssh
