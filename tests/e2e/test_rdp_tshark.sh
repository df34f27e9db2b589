#!/usr/bin/env bash
# Differential test: RDP X.224 negotiation (cookie, requested/selected protocols, failure), client
# core data and server security data,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# modbus/zeek_modbus-and-non-modbus-p502.pcap holds a scanner's RDP connection request sent to
# port 502 ("Cookie: mstshash=admin"), decoded by tshark with -d tcp.port==502,tpkt. The rdp/
# capture of RDP-UDP (zeek_rdpeudp-handshake-success.pcap) has no TCP RDP: 0 records both ways.
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

add_corpus_dirs rdp
add_corpus_files modbus/zeek_modbus-and-non-modbus-p502.pcap
compare_remote rdp
