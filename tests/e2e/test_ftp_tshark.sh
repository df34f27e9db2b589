#!/usr/bin/env bash
# Differential test: FTP commands per verb, reply codes (preliminary replies included) and server
# greetings,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# Other corpus captures hold no FTP control connection (checked once with `tshark -Y ftp`; the
# one port-21 capture under telnet/ is telnet, see test_telnet_tshark.sh).
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

add_corpus_dirs ftp
compare_remote ftp
