#!/usr/bin/env bash
# Differential test: SMB1/SMB2 commands per version and direction, NTSTATUS codes, tree paths and
# NTLMSSP identity facts,
# quaywatch's event log vs tshark.
#
# For every capture that holds the protocol, run `quaywatch analyze --events` and let
# tests/e2e/remote_tshark_compare.py run tshark (-o tcp.reassemble_out_of_order:TRUE) on the
# same capture, reduce both to the same facts and compare them exactly. Differences verified by
# hand are listed with their reason in that script's KNOWN table; any other difference fails.
# The corpus has SMB1 over NetBIOS (TCP 139) only, in the four captures below (found once with
# `tshark -Y 'smb || smb2'` over the whole corpus; the UDP 138 browser datagrams elsewhere are not
# the session protocol). SMB2/3 comes from tests/data/smb/gen_smb2_pcap.py, a capture built byte
# by byte from MS-SMB2/MS-NLMP and validated by tshark here: NTLM in SPNEGO, compounding, an
# async interim response, a 70000-byte READ, encrypted transform messages, a multi-protocol
# negotiate.
#
# Exit 0 when every capture agrees (or differs only as documented), 1 otherwise, 77 (skip)
# without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

add_corpus_files enip/quickdraw_CL5000EIP-IPAddressChangeAttempt.pcap \
                 enip/quickdraw_CL5000EIP-RemoteModeChangeAttempt.pcap \
                 iec61850/iti_Sample_File_MMS_and_GOOSE.pcap \
                 mixed-plant/plant1_mb2_modbus_s7_enip_dcp_lldp.pcap
# The SMB2/3 capture built from the specifications.
if python3 "$QW_SRC/tests/data/smb/gen_smb2_pcap.py" "$work/smb2_session.pcap"; then
    files+=("$work/smb2_session.pcap")
else
    echo "FAIL: tests/data/smb/gen_smb2_pcap.py failed"
    exit 1
fi
compare_remote smb
