#!/usr/bin/env bash
# End-to-end test of the ATG (Veeder-Root TLS-350 serial protocol over TCP) parser.
#
# The corpus has no ATG capture and tshark has no dissector for the protocol, so the oracle is
# atg_gen.py beside this script: it writes a capture of a client and a console (TCP handshake,
# display- and computer-format inquiries, a tank inventory of three tanks, a product-label set
# command, a clock set, an answer with a corrupted checksum, the 9999 "unrecognised" answer, a
# command split over two segments, a security-code prefix, an answer spanning several segments)
# and a JSON file of the values it put on the wire. quaywatch's event log must match those
# values (function codes, formats, tank numbers, the inventory floats, checksum verdicts, ops,
# latencies, the one bad-checksum anomaly, the identity facts), not its own earlier output.
# When the build has the fuzz replay driver, the generated capture is also replayed through the
# ATG harness (with its mutations), so the sanitizer build sees ATG traffic.
#
# Exit 0 on agreement, 1 otherwise, 77 (skip) without python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
here=$QW_SRC/tests/e2e
mkdir -p "$work/pcaps/atg"

python3 "$here/atg_gen.py" gen "$work/pcaps/atg/atg_synthetic.pcap" "$work/expected.json" || {
    echo "FAIL: the generator failed"; exit 1; }
"$QW_BIN" analyze --db "$work/x.db" --events "$work/ev.json" "$work/pcaps/atg/atg_synthetic.pcap" \
    >"$work/out.txt" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: quaywatch analyze exited $rc"
    sed 's/^/    /' "$work/out.txt" | tail -5
    exit 1
fi
status=0
python3 "$here/atg_gen.py" check "$work/expected.json" "$work/ev.json" || status=1

if [ -n "${QW_BUILD:-}" ] && [ -x "$QW_BUILD/fuzz_atg_replay" ]; then
    if "$QW_BUILD/fuzz_atg_replay" "$work/pcaps" >"$work/replay.txt" 2>&1; then
        echo "ok   fuzz replay: $(tail -1 "$work/replay.txt")"
    else
        echo "FAIL: fuzz_atg_replay on the synthetic capture"
        tail -20 "$work/replay.txt"
        status=1
    fi
fi
exit $status
