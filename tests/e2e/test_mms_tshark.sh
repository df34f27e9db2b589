#!/usr/bin/env bash
# Differential test: MMS PDUs, quaywatch's event log vs tshark.
#
# For every capture in $QW_CORPUS/pcaps/iec61850/, the mixed-plant captures (captures without MMS
# must give no MMS records either) and a capture written by tests/data/mms/make_mms_services.py (services the
# public captures lack: program invocation control, domain and file services, named variable
# lists, cancel, reject; written by make_mms_services.py there):
#   ours:   `quaywatch analyze --events`; each "mms" record's "request" and "response" object is
#           one PDU with its "pdu_type" (confirmed_request, ..., conclude_error) and, for
#           confirmed and unconfirmed PDUs, its "service" tag.
#   tshark: one "1" per PDU in the mms.<type>_element fields (14 PDU types), and the service
#           tags in mms.confirmedServiceRequest / confirmedServiceResponse / unconfirmedService
#           (comma-separated when a frame holds several PDUs).
# Compared: PDUs per type, confirmed requests and responses per service, unconfirmed PDUs per
# service, and the identify answers' vendorName/modelName/revision (multisets).
#
# tshark options:
#   -o tcp.reassemble_out_of_order:TRUE  rebuild each stream as the receiver did.
#   -o uat:pres_context_list:"3","1.0.9506.2.1"  tshark picks the MMS dissector from the
#       presentation context list of the CP PPDU; for a connection whose start the capture
#       missed (iti_Sample_File_MMS_and_GOOSE.pcap: ports 1069, 1072, 1083, 1089) it would show
#       bare session DATA. This entry maps presentation context 3 (what every corpus connection
#       uses for MMS) to the MMS abstract syntax. We decide by the tag class instead
#       (src/proto/iso_session.c), so both then see the same 28 information reports.
#
# Only flows with port 102 on one side are counted on our side (tshark decodes by port).
# Exit 0 when every capture agrees (or differs only as documented in KNOWN), 1 otherwise, 77
# (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff iec61850

# the generated capture is written here, never kept in the repository
python3 "${QW_SRC:-.}"/tests/data/mms/make_mms_services.py "$work/mms_services.pcap" >/dev/null ||
    { echo "FAIL: make_mms_services.py"; exit 1; }
files=("$QW_CORPUS"/pcaps/iec61850/*.pcap* "$QW_CORPUS"/pcaps/mixed-plant/*.pcap*
       "$work/mms_services.pcap")

kinds="confirmed_RequestPDU confirmed_ResponsePDU confirmed_ErrorPDU unconfirmed_PDU rejectPDU"
kinds="$kinds cancel_RequestPDU cancel_ResponsePDU cancel_ErrorPDU initiate_RequestPDU"
kinds="$kinds initiate_ResponsePDU initiate_ErrorPDU conclude_RequestPDU conclude_ResponsePDU"
kinds="$kinds conclude_ErrorPDU"
fields=()
for k in $kinds; do
    case $k in
        cancel_RequestPDU|cancel_ResponsePDU) fields+=(-e "mms.$k") ;;  # INTEGER, not _element
        *) fields+=(-e "mms.${k}_element") ;;
    esac
done
fields+=(-e mms.confirmedServiceRequest -e mms.confirmedServiceResponse -e mms.unconfirmedService)
fields+=(-e mms.vendorName -e mms.modelName -e mms.revision)

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE \
        -o 'uat:pres_context_list:"3","1.0.9506.2.1"' -Y mms -T fields -E separator=/t \
        -E occurrence=a -E aggregator=, "${fields[@]}" >"$work/tshark.txt" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.txt" <<'EOF' || status=1
import collections, json, sys

name, events, tshark = sys.argv[1:4]

KINDS = ["confirmed_request", "confirmed_response", "confirmed_error", "unconfirmed", "reject",
         "cancel_request", "cancel_response", "cancel_error", "initiate_request",
         "initiate_response", "initiate_error", "conclude_request", "conclude_response",
         "conclude_error"]

# Captures whose counts may differ, with the exact reason and the exact expected difference
# (ours - tshark) per compared key; every other capture must agree exactly.
KNOWN = {
    # Test-tool captures with MMS straight on COTP (no session or presentation layer). Their
    # last client TPDU (frame 20; frame 16 in killRequest) is 03 00 00 09 02 f0 80 8b 00: a conclude-Request
    # ([11] IMPLICIT NULL). tshark's MMS-over-COTP heuristic leaves this two-octet PDU alone
    # and shows a bare "DT TPDU (0) EOT"; the requests before it are found by both.
    name: ("bare conclude-Request 8b 00 on COTP not taken by tshark's MMS heuristic",
           {("pdu", "conclude_request"): 1})
    for name in ("iti_mms-initiateDownloadSequence.pcap", "iti_mms-killRequest.pcap",
                 "iti_mms-stopRequest.pcap")
}

ours = collections.Counter()
ours_ident = collections.Counter()
other_ports = 0
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        if rec.get("event_type") != "mms":
            continue
        if 102 not in (rec.get("src_port"), rec.get("dest_port")):
            other_ports += 1
            continue
        for side in ("request", "response"):
            pdu = rec["mms"].get(side)
            if pdu is None:
                continue
            kind = pdu["pdu_type"]
            ours[("pdu", kind)] += 1
            if "service" in pdu and kind in ("confirmed_request", "confirmed_response",
                                             "unconfirmed"):
                ours[(kind, pdu["service"])] += 1
            for key in ("vendor_name", "model_name", "revision"):
                if key in pdu:
                    ours_ident[(key, pdu[key])] += 1

theirs = collections.Counter()
theirs_ident = collections.Counter()
with open(tshark, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        cols = (line.rstrip("\n").split("\t") + [""] * 20)[:20]
        for i, kind in enumerate(KINDS):
            if cols[i]:
                theirs[("pdu", kind)] += len(cols[i].split(","))
        for i, kind in ((14, "confirmed_request"), (15, "confirmed_response"),
                        (16, "unconfirmed")):
            for code in cols[i].split(",") if cols[i] else []:
                theirs[(kind, int(code))] += 1
        for i, key in ((17, "vendor_name"), (18, "model_name"), (19, "revision")):
            for v in cols[i].split(",") if cols[i] else []:
                theirs_ident[(key, v)] += 1

diff = {k: ours[k] - theirs[k] for k in set(ours) | set(theirs) if ours[k] != theirs[k]}
total = sum(v for k, v in ours.items() if k[0] == "pdu")
extra = f"; {other_ports} records on other ports" if other_ports else ""
if not diff and ours_ident == theirs_ident:
    print(f"ok   {name}: {total} PDUs, "
          f"{len([k for k in ours if k[0] != 'pdu'])} services, "
          f"{sum(ours_ident.values())} identify strings{extra}")
    sys.exit(0)
reason, expected = KNOWN.get(name, (None, {}))
known = reason is not None and diff == expected and ours_ident == theirs_ident
print(f"{'known' if known else 'FAIL '} {name}: ours {total} PDUs, "
      f"tshark {sum(v for k, v in theirs.items() if k[0] == 'pdu')}{extra}")
if reason is not None:
    print(f"     documented: {reason}; expected difference: {expected}")
for k in sorted(diff, key=str):
    print(f"     {k}: ours {ours[k]}, tshark {theirs[k]}")
if ours_ident != theirs_ident:
    print(f"     identify: ours {dict(ours_ident)}, tshark {dict(theirs_ident)}")
sys.exit(0 if known else 1)
EOF
done
exit $status
