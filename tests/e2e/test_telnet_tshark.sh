#!/usr/bin/env bash
# Differential test: Telnet IAC commands per direction and connection,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# zeek_telnet-auth-missing-name.pcap runs telnet on port 21: the comparator makes tshark decode
# every server port where we found telnet as telnet (-d tcp.port==P,telnet).
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

add_corpus_dirs telnet
compare_remote telnet
