#!/usr/bin/env bash
# Differential test: S7comm PDUs, quaywatch's event log vs tshark's S7comm dissector.
#
# For every corpus capture that tshark finds S7comm in ($QW_CORPUS/pcaps/s7comm/, the
# mixed-plant captures, and the S7comm-plus folder, whose icsnpp capture also carries classic
# S7comm on one connection):
#   ours:   `quaywatch analyze --events`; each "s7comm" record's "request" and "response" object
#           is one S7 PDU.
#   tshark: `tshark -T json --no-duplicate-keys -J s7comm`; each s7comm layer of a frame is one
#           PDU (a frame holding two PDUs lists two layers, so fields stay aligned per PDU).
# Compared per capture, all of which must agree exactly (or as listed in KNOWN with the reason):
#   - PDUs per ROSCTR (job, ack, ack_data, userdata);
#   - job/ack_data PDUs per parameter function (s7comm.param.func);
#   - userdata PDUs per (type, function group, subfunction) (s7comm.param.userdata.*; the
#     mode-transition group puts its subfunction in s7comm.param.modetrans.subfunc);
#   - SZL ids per userdata type (s7comm.data.userdata.szl_id). tshark shows the SZL id of a
#     fragmented answer on its last fragment (after reassembly), we on its first (where it is on
#     the wire); each fragmented answer has one of each, so the counts agree;
#   - identity: the distinct order numbers, firmware versions (SZL 0x0011 index 7: "V" Ausbg-low
#     . Ausbe-high . Ausbe-low) and SZL 0x001C strings (PLC name, module name, plant id,
#     copyright, serial, module type name, memory card serial) that tshark decodes, against the
#     values of our "asset" records with source s7comm.
# tshark runs with its default TCP settings (in-order reassembly only). Most ITI captures
# (step7_*, tia_*, wincc_*) were cut to the S7 frames: the handshake and pure ACKs are gone and
# every segment follows a "previous segment not captured" hole. With
# tcp.reassemble_out_of_order tshark would hold every segment behind the first hole and decode
# almost nothing (tia_s300_downloadOb1.pcap: 2 PDUs instead of 106); by default it decodes each
# frame on its own, as we do after skipping each gap.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN), 1 otherwise, 77
# (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff s7comm

files=("$QW_CORPUS"/pcaps/s7comm/*.pcap*)
# and the mixed-plant and S7comm-plus captures in which tshark finds S7comm (lib.sh corpus_with)
mapfile -t more < <(corpus_with s7comm | grep -E '^(mixed-plant|s7comm-plus)/')
add_corpus_files "${more[@]}"

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    tshark -r "$f" -Y s7comm -T json --no-duplicate-keys -J s7comm >"$work/tshark.json" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.json" <<'EOF' || status=1
import collections, json, sys

name, events, tshark = sys.argv[1:4]

# Captures whose counts may differ, each with the exact reason and the exact expected difference
# (ours - tshark) per counter key; every other capture must agree exactly.
KNOWN = {
}

def up(v):
    return v if isinstance(v, list) else [v]

def walk(obj, out):
    """Collect every leaf value of one PDU's tree, by field name."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                walk(v, out)
            else:
                out[k].append(v)
    elif isinstance(obj, list):
        for v in obj:
            walk(v, out)

def count_pdu(c, rosctr, func, ud, szl):
    c[("rosctr", rosctr)] += 1
    if func is not None:
        c[("function", rosctr, func)] += 1
    if ud is not None:
        c[("userdata", ud)] += 1
    if szl is not None:
        c[("szl_id", szl)] += 1

theirs = collections.Counter()
t_ident = set()
with open(tshark, encoding="utf-8", errors="replace") as fh:
    text = fh.read()
frames = json.loads(text) if text.strip() else []
for fr in frames:
    layers = fr["_source"]["layers"]
    for pdu in up(layers.get("s7comm", [])):
        v = collections.defaultdict(list)
        walk(pdu, v)
        rosctr = int(v["s7comm.header.rosctr"][0])
        func = int(v["s7comm.param.func"][0], 0) if v.get("s7comm.param.func") else None
        ud = szl = None
        if rosctr == 7:
            t = int(v["s7comm.param.userdata.type"][0])
            g = int(v["s7comm.param.userdata.funcgroup"][0])
            s = v.get("s7comm.param.userdata.subfunc") or v.get("s7comm.param.modetrans.subfunc")
            ud = (t, g, int(s[0]) if s else None)
            if v.get("s7comm.data.userdata.szl_id"):
                szl = (t, int(v["s7comm.data.userdata.szl_id"][0], 0))
        count_pdu(theirs, rosctr, func, ud, szl)
        # identity as tshark decodes it: the order number of the module record (SZL 0x0011
        # index 1), the firmware (index 7: "V" in Ausbg's high byte, then Ausbg's low byte and
        # Ausbe's two bytes) and the SZL 0x001C strings
        idx = v.get("s7comm.szl.xy11.0001.index", [])
        anz = v.get("s7comm.szl.xy11.0001.anz", [])
        ausbg = v.get("s7comm.szl.xy11.0001.ausbg", [])
        ausbe = v.get("s7comm.szl.xy11.0001.ausbe", [])
        for i, a, g, e in zip(idx, anz, ausbg, ausbe):
            i, g, e = int(i, 0), int(g, 0), int(e, 0)
            if i == 1 and a.strip(" \x00"):
                t_ident.add(a.strip(" \x00"))
            if i == 7 and g >> 8 == ord("V"):
                t_ident.add(f"V{g & 0xff}.{e >> 8}.{e & 0xff}")
        for key in ("s7comm.szl.001c.0001.name", "s7comm.szl.001c.0002.name",
                    "s7comm.szl.001c.0003.tag", "s7comm.szl.001c.0004.copyright",
                    "s7comm.szl.001c.0005.serialn", "s7comm.szl.001c.0007.cputypname",
                    "s7comm.szl.001c.0008.snmcmmc"):
            for val in v.get(key, []):
                if val.strip(" \x00"):
                    t_ident.add(val.strip(" \x00"))

ours = collections.Counter()
o_ident = set()
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        et = rec.get("event_type")
        if et == "asset" and rec["asset"]["source"] == "s7comm":
            if rec["asset"]["attribute"] not in ("hardware", "vendor_id", "location"):
                o_ident.add(rec["asset"]["value"])
            continue
        if et != "s7comm":
            continue
        for side in ("request", "response"):
            p = rec["s7comm"].get(side)
            if p is None:
                continue
            rosctr = p["rosctr"]
            func = p.get("function") if rosctr in (1, 2, 3) else None
            ud = szl = None
            if rosctr == 7:
                ud = (p["type"], p["function_group"], p["subfunction"])
                if "szl_id" in p:
                    szl = (p["type"], p["szl_id"])
            count_pdu(ours, rosctr, func, ud, szl)

# Identity: the same distinct values both ways (our hardware version, vendor id and location
# have no tshark counterpart in these captures and are not compared).
missing = sorted(t_ident - o_ident)
extra = sorted(o_ident - t_ident)

diff = {k: (ours[k], theirs[k]) for k in sorted(set(ours) | set(theirs), key=str)
        if ours[k] != theirs[k]}
total = (sum(v for k, v in ours.items() if k[0] == "rosctr"),
         sum(v for k, v in theirs.items() if k[0] == "rosctr"))
if not diff and not missing and not extra:
    print(f"ok   {name}: {total[0]} PDUs, "
          f"{len([k for k in ours if k[0] == 'function'])} functions, "
          f"{len([k for k in ours if k[0] == 'userdata'])} userdata kinds, "
          f"{sum(v for k, v in ours.items() if k[0] == 'szl_id')} SZL ids, "
          f"{len(o_ident)} identity values")
    sys.exit(0)
reason, expected = KNOWN.get(name, (None, {}))
delta = {str(k): a - b for k, (a, b) in diff.items()}
known = (reason is not None and (expected is None or delta == expected) and not missing
         and not extra)
print(f"{'known' if known else 'FAIL '} {name}: ours {total[0]} PDUs, tshark {total[1]}")
if reason is not None:
    print(f"     documented: {reason}; expected difference: {'any' if expected is None else expected}")
if missing:
    print(f"     identity values only tshark shows: {missing}")
if extra:
    print(f"     identity values only we show: {extra}")
print("     key                                   ours  tshark")
for k, (a, b) in diff.items():
    print(f"     {str(k):36s} {a:7d} {b:7d}")
sys.exit(0 if known else 1)
EOF
done
exit $status
