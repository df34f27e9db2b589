#!/usr/bin/env bash
# Differential test: HART-IP messages, quaywatch's event log vs tshark.
#
# For every capture in $QW_CORPUS/pcaps/hart-ip/ (and every mixed-plant capture that carries
# HART-IP), hart_ip_tshark_compare.py beside this script compares, per capture:
#   - messages by (message type, message id), header status codes and sequence numbers: ours
#     counts each "request"/"response" object of the "hart_ip" records; tshark lists
#     hart_ip.message_type / .message_id / .status / .transaction_id per message;
#   - token-passing commands (hart_ip.pt.command; an extended command counts as 31 there, as on
#     the wire) and the identity fields of command 0 and 20 answers
#     (hart_ip.pt.rsp.expanded_device_type, .device_id, .manufacturer_Id, .tag).
# tshark 4.0 has no dissector for message ids 4 (direct PDU) and 5 (read audit log), which
# HART-IP 2 added: it shows those frames as bare TCP data. For them the script reads the
# header, the direct-PDU command list and the command 0 identity block from tcp.payload itself
# (its own decoder, written from HCF_SPEC-085), so they are still compared, not skipped.
# tshark decodes HART-IP by port (5094); only flows with that port are compared.
#
# Exit 0 when every capture agrees (or differs only as documented in KNOWN in the python
# script), 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff hart-ip
here=$QW_SRC/tests/e2e

files=("$QW_CORPUS"/pcaps/hart-ip/*.pcap*)
# and the mixed-plant captures in which tshark finds HART-IP (lib.sh corpus_with)
mapfile -t more < <(corpus_with hart_ip | grep '^mixed-plant/')
add_corpus_files "${more[@]}"

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    # Dissected messages, one frame per line (lists are comma-separated).
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE -Y hart_ip -T fields -E separator=/t \
        -e frame.number -e hart_ip.message_type -e hart_ip.message_id -e hart_ip.status \
        -e hart_ip.transaction_id -e hart_ip.pt.command -e hart_ip.pt.rsp.expanded_device_type \
        -e hart_ip.pt.rsp.device_id -e hart_ip.pt.rsp.manufacturer_Id -e hart_ip.pt.rsp.tag \
        >"$work/tshark.txt" 2>/dev/null
    # Frames on port 5094 that tshark did not dissect: their raw payload.
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE \
        -Y '(tcp.port==5094 || udp.port==5094) && !hart_ip && (tcp.len>0 || udp.length>8)' \
        -T fields -e frame.number -e tcp.payload -e udp.payload >"$work/raw.txt" 2>/dev/null
    python3 "$here/hart_ip_tshark_compare.py" "$name" "$work/ev.json" "$work/tshark.txt" \
        "$work/raw.txt" || status=1
done
exit $status
