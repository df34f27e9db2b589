#!/usr/bin/env bash
# Differential test: S7comm-plus PDUs, quaywatch's event log vs the capture bytes.
#
# tshark 4.0 has NO S7comm-plus dissector (the protocol is only in T. Wiens' out-of-tree
# plugin), so there are no s7comm-plus fields to compare against. What tshark does provide is
# the transport: TCP reassembly, TPKT framing and COTP reassembly. Its COTP hands each complete
# TSDU to the "data" dissector, so `-e data.data` lists, per frame, the user data of every TSDU
# that ends in it (several per frame comma-separated). The S7comm-plus layer is then read by
# hand, here, in python, independently of the C parser:
#   - a TSDU starting with 0x72 is an S7comm-plus frame: version, data length, then data, and a
#     trailer 72 <version> 00 00 only on the last fragment of a PDU; a TSDU of exactly 4 + data
#     length bytes is a fragment with more to follow, and the next TSDU of that direction
#     continues it (it has a header but no opcode);
#   - V3 data starts with a digest length byte and the digest, which are skipped;
#   - the opcode follows (0x31 request, 0x32 response, 0x33 notification, 0x02 response2), and
#     for requests and responses the function code at data offset 3..4.
# For every capture with S7comm-plus (see the list below), compared:
#   - PDUs per (version, opcode, function): ours are the "request"/"response" objects of the
#     "s7comm_plus" records (notifications, system events and keep-alives carry no function);
#   - PDUs that were fragmented;
#   - identity: every "<n>;<order number>;<version>" string found by a byte search for element
#     319 (VLQ 82 3f, flags 00, WString 15, length) in the server's CreateObject answers must
#     give the model and firmware of our "asset" records with source s7comm_plus, and nothing
#     else may be there.
# Every capture must agree exactly or be listed in KNOWN with the reason.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN), 1 otherwise, 77
# (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff s7comm-plus

# Besides the s7comm-plus folder: zeek_modbusBig.pcap carries an S7comm-plus session too (found
# by scanning every corpus capture for 0x72 TSDUs once; the scan takes minutes, too long to
# repeat here), and any mixed-plant capture that has one.
files=("$QW_CORPUS"/pcaps/s7comm-plus/*.pcap* "$QW_CORPUS"/pcaps/modbus/zeek_modbusBig.pcap)
for f in "$QW_CORPUS"/pcaps/mixed-plant/*.pcap*; do
    [ -e "$f" ] || continue
    if tshark -r "$f" -Y cotp -T fields -e data.data 2>/dev/null | grep -q '^72\|,72'; then
        files+=("$f")
    fi
done

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    tshark -r "$f" -Y cotp -T fields -E separator=/t -e tcp.stream -e tcp.srcport -e data.data \
        >"$work/tsdu.txt" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tsdu.txt" <<'EOF' || status=1
import collections, json, re, sys

name, events, tsdus = sys.argv[1:4]

# Captures whose counts may differ, each with the exact reason and the exact expected difference
# (ours - by hand) per key; every other capture must agree exactly.
KNOWN = {
}

theirs = collections.Counter()
t_ident = set()
in_frag = collections.defaultdict(bool)
with open(tsdus, encoding="utf-8") as fh:
    for line in fh:
        cols = (line.rstrip("\n").split("\t") + ["", "", ""])[:3]
        if not cols[2]:
            continue
        direction = (cols[0], cols[1])
        for h in cols[2].split(","):
            b = bytes.fromhex(h)
            if len(b) < 4 or b[0] != 0x72:
                continue
            ver, dlen = b[1], b[2] << 8 | b[3]
            trailer = len(b) == 8 + dlen and b[-4:] == bytes([0x72, ver, 0, 0])
            more = not trailer and len(b) == 4 + dlen
            if in_frag[direction]:
                in_frag[direction] = more
                continue
            in_frag[direction] = more
            d = b[4:4 + dlen]
            if ver == 3 and d:
                d = d[1 + d[0]:]  # digest length, digest
            if ver in (0xFE, 0xFF) or not d:
                theirs[("pdu", ver, None, None)] += 1
            elif d[0] in (0x31, 0x32, 0x02) and len(d) >= 5:
                theirs[("pdu", ver, d[0], d[3] << 8 | d[4])] += 1
            else:
                theirs[("pdu", ver, d[0], None)] += 1
            if more:
                theirs[("fragmented",)] += 1
            # server session version: element 319 (82 3f) WString (00 15), one-byte VLQ length
            if d and d[0] == 0x32 and len(d) >= 5 and (d[3] << 8 | d[4]) == 0x04CA:
                for m in re.finditer(rb"\x82\x3f\x00\x15([\x00-\x7f])", d):
                    s = d[m.end():m.end() + m.group(1)[0]].decode("utf-8", "replace")
                    parts = s.split(";")
                    if len(parts) >= 3:
                        t_ident.add(("model", parts[1].strip()))
                        t_ident.add(("firmware", parts[2].strip()))

ours = collections.Counter()
o_ident = set()
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        et = rec.get("event_type")
        if et == "asset" and rec["asset"]["source"] == "s7comm_plus":
            if rec["asset"]["attribute"] in ("model", "firmware"):
                o_ident.add((rec["asset"]["attribute"], rec["asset"]["value"]))
            continue
        if et != "s7comm_plus":
            continue
        for side in ("request", "response"):
            p = rec["s7comm_plus"].get(side)
            if p is None:
                continue
            ours[("pdu", p["version"], p.get("opcode"), p.get("function"))] += 1
            if p.get("fragmented"):
                ours[("fragmented",)] += 1

diff = {k: (ours[k], theirs[k]) for k in sorted(set(ours) | set(theirs), key=str)
        if ours[k] != theirs[k]}
total = (sum(v for k, v in ours.items() if k[0] == "pdu"),
         sum(v for k, v in theirs.items() if k[0] == "pdu"))
if not diff and o_ident == t_ident:
    print(f"ok   {name}: {total[0]} PDUs, {len([k for k in ours if k[0] == 'pdu'])} "
          f"(version, opcode, function) kinds, {ours[('fragmented',)]} fragmented, "
          f"identity {sorted(v for _, v in o_ident)}")
    sys.exit(0)
reason, expected = KNOWN.get(name, (None, {}))
delta = {str(k): a - b for k, (a, b) in diff.items()}
known = reason is not None and (expected is None or delta == expected) and o_ident == t_ident
print(f"{'known' if known else 'FAIL '} {name}: ours {total[0]} PDUs, by hand {total[1]}")
if reason is not None:
    print(f"     documented: {reason}; expected difference: {'any' if expected is None else expected}")
if o_ident != t_ident:
    print(f"     identity: ours {sorted(o_ident)}, by hand {sorted(t_ident)}")
print("     key                                   ours  by hand")
for k, (a, b) in diff.items():
    print(f"     {str(k):36s} {a:7d} {b:7d}")
sys.exit(0 if known else 1)
EOF
done
exit $status
