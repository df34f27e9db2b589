#!/usr/bin/env bash
# Differential test: IEC 60870-5-104 APDUs, quaywatch's event log vs tshark.
#
# For every capture in $QW_CORPUS/pcaps/iec104/ and every mixed-plant capture that carries
# IEC 104, compares (iec104_tshark_compare.py beside this script does the counting):
#   - APDUs by format (I, S, U): ours counts each "request", "response" and "termination"
#     object of the "iec104" records; tshark lists one iec60870_104.type per APDU.
#   - U-format functions (STARTDT/STOPDT/TESTFR act/con) against iec60870_104.utype;
#   - ASDU type ids, causes of transmission, common addresses, and the multiset of information
#     object addresses against iec60870_asdu.typeid / .causetx / .addr / .ioa.
# tshark decodes IEC 104 by port (2404); we detect it by payload, so only flows with port 2404
# on one side are compared (APDUs found elsewhere are printed, not compared). tshark runs with
# tcp.reassemble_out_of_order so that both sides rebuild the streams as the receiver did.
#
# Exit 0 when every capture agrees (or differs only as documented in KNOWN in the python
# script), 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff iec104
here=$QW_SRC/tests/e2e

files=("$QW_CORPUS"/pcaps/iec104/*.pcap*)
# and the mixed-plant captures in which tshark finds IEC 104 (lib.sh corpus_with)
mapfile -t more < <(corpus_with iec60870_104 | grep '^mixed-plant/')
add_corpus_files "${more[@]}"

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE -Y iec60870_104 -T fields \
        -E separator=/t -e frame.number -e iec60870_104.type -e iec60870_104.utype \
        -e iec60870_asdu.typeid -e iec60870_asdu.causetx -e iec60870_asdu.addr \
        -e iec60870_asdu.ioa >"$work/tshark.txt" 2>/dev/null
    python3 "$here/iec104_tshark_compare.py" "$name" "$work/ev.json" "$work/tshark.txt" || status=1
done
exit $status
