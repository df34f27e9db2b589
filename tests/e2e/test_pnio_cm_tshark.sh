#!/usr/bin/env bash
# Differential test: PROFINET IO context management (DCE/RPC over UDP), quaywatch's event log
# vs tshark.
#
# For every corpus capture whose protocol hierarchy holds pn_io_device or pn_io_controller
# (tshark's names for PNIO CM PDUs of the device and controller interfaces):
#   ours:   `quaywatch analyze --events`; each "pnio_cm" record's "request" and "response"
#           object is one PDU (the captures hold no fragmented PDU: each is one datagram).
#   tshark: `tshark -Y dcerpc` with dcerpc.pkt_type, dcerpc.dg_if_id, dcerpc.opnum,
#           pn_io.block_type, pn_io.index, pn_io.error_code/error_decode/error_code1/
#           error_code2 and the I&M0 fields (pn_io.vendor_id_high/low, order_id,
#           im_serial_number, im_hardware_revision, the software revision's prefix and three
#           numbers), for the PDUs of the four PNIO interfaces.
# Compared per capture, as multisets of per-PDU tuples: (packet type, opnum, the block types
# in wire order, nested ones included, the record indexes of every read/write header, the
# PNIO statuses: the response's and each write response header's); and the I&M0 values of
# each read response against our "im0" object and the identity facts (vendor_id, model,
# serial, firmware, hardware) given about the responder.
#
# Known differences, none on the current corpus (each would be listed and skipped here):
#   - a PDU with more than 16 blocks: we summarise the first 16 ("blocks_total" gives the
#     count); such PDUs are compared on their first 16 block types only;
#   - fragmented PDUs: tshark reassembles them and dissects the whole stub, we decode the
#     first fragment's blocks only; they are compared on packet type and opnum only.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff profinet

mapfile -t caps < <(corpus_with pn_io_device pn_io_controller)
[ ${#caps[@]} -gt 0 ] || { echo "SKIP: no PNIO CM captures in the corpus"; exit 77; }

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" "${caps[@]}" <<'PY'
import collections, json, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
files = sys.argv[4:]
PNIO_IFACES = {"dea0000%d-6c97-11d1-8271-00a02442df7d" % i for i in (1, 2, 3, 4)}
PTYPES = ["request", "ping", "response", "fault", "working", "nocall", "reject", "ack",
          "cl_cancel", "fack", "cancel_ack"]
BLOCKS_MAX = 16
FIELDS = ["dcerpc.pkt_type", "dcerpc.dg_if_id", "dcerpc.opnum", "dcerpc.dg_flags1",
          "pn_io.block_type", "pn_io.index", "pn_io.error_code", "pn_io.error_decode",
          "pn_io.error_code1", "pn_io.error_code2", "pn_io.vendor_id_high", "pn_io.vendor_id_low",
          "pn_io.order_id", "pn_io.im_serial_number", "pn_io.im_hardware_revision",
          "pn_io.im_revision_prefix", "pn_io.im_sw_revision_functional_enhancement",
          "pn_io.im_revision_bugfix", "pn_io.im_sw_revision_internal_change", "ip.src"]


def num(v):
    return int(v, 0)


def tshark_pdus(path):
    cmd = ["tshark", "-r", path, "-Y", "dcerpc", "-T", "json"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    pdus, ims, notes = collections.Counter(), [], []
    for p in json.loads(out or "[]"):
        L = p["_source"]["layers"]
        if (L.get("dcerpc.dg_if_id") or [""])[0] not in PNIO_IFACES:
            continue
        ptype = num(L["dcerpc.pkt_type"][0])
        flags1 = num((L.get("dcerpc.dg_flags1") or ["0"])[0])
        opnum = num((L.get("dcerpc.opnum") or ["0"])[0])
        if flags1 & 0x04:
            notes.append("fragmented PDU compared on type and opnum")
            pdus[(PTYPES[ptype], opnum)] += 1
            continue
        blocks = tuple(num(x) for x in L.get("pn_io.block_type", []))[:BLOCKS_MAX]
        idx = tuple(num(x) for x in L.get("pn_io.index", []))
        st = tuple(zip(*(map(num, L.get("pn_io.error_" + k, [])) for k in
                         ("code", "decode", "code1", "code2"))))
        pdus[(PTYPES[ptype], opnum, blocks, idx, st)] += 1
        if "pn_io.order_id" in L and ptype == 2:
            hi, lo = num(L["pn_io.vendor_id_high"][0]), num(L["pn_io.vendor_id_low"][0])
            ims.append((L["ip.src"][0], hi << 8 | lo, L["pn_io.order_id"][0].rstrip(" "),
                        L["pn_io.im_serial_number"][0].rstrip(" "),
                        num(L["pn_io.im_hardware_revision"][0]),
                        "%s%d.%d.%d" % (L["pn_io.im_revision_prefix"][0][:1],
                                        num(L["pn_io.im_sw_revision_functional_enhancement"][0]),
                                        num(L["pn_io.im_revision_bugfix"][0]),
                                        num(L["pn_io.im_sw_revision_internal_change"][0]))))
    return pdus, ims, notes


def our_side(opnum, side):
    if side.get("fragments", 1) > 1 or "fragment" in side.get("flags", []):
        return (side["packet_type"], opnum)
    blocks = side.get("blocks", [])
    types = tuple(b["type"] for b in blocks)
    idx = tuple(b["index"] for b in blocks if b["type"] in (8, 9, 0x8008, 0x8009))
    st = []
    if "status" in side:
        st.append(side["status"])
    st += [b["status"] for b in blocks if "status" in b]
    st = tuple((s["error_code"], s["error_decode"], s["error_code1"], s["error_code2"])
               for s in st)
    return (side["packet_type"], opnum, types, idx, st)


def ours(ev):
    pdus, ims, facts = collections.Counter(), [], set()
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "asset" and rec["asset"]["source"] == "pnio_cm":
                a = rec["asset"]
                facts.add((a["ip"], a["attribute"], a["value"]))
            if et != "pnio_cm":
                continue
            r = rec["pnio_cm"]
            for key in ("request", "response"):
                side = r.get(key)
                if not side:
                    continue
                # a retransmission is one more PDU, the same as the first
                # each fragment was a frame
                n = side.get("fragments", 1) + side.get("retransmissions", 0)
                pdus[our_side(r["opnum"], side)] += n
                im = side.get("im0")
                if im:
                    ims.append((im["vendor_id"], im["order_id"], im["serial_number"],
                                im["hardware_revision"], im["software_revision"]))
    return pdus, ims, facts


status = 0
for rel in files:
    for name, path, ev in analysed(qw, corpus, [rel], tmp):
        if ev is None:
            status = 1
            continue
        t_pdus, t_ims, notes = tshark_pdus(path)
        o_pdus, o_ims, o_facts = ours(ev)
        problems = []
        if t_pdus != o_pdus:
            problems.append(f"pdus: ours-only {dict(o_pdus - t_pdus)}, "
                            f"tshark-only {dict(t_pdus - o_pdus)}")
        if sorted(o_ims) != sorted(i[1:] for i in t_ims):
            problems.append(f"I&M0: ours {o_ims}, tshark {t_ims}")
        want = set()
        for ip, vid, order, serial, hw, fw in t_ims:
            want |= {(ip, "vendor_id", "0x%04x" % vid), (ip, "model", order),
                     (ip, "serial", serial), (ip, "hardware", str(hw)), (ip, "firmware", fw)}
        got = {f for f in o_facts if f[1] != "vendor"}
        if got != want:
            problems.append(f"identity: ours-only {sorted(got - want)}, "
                            f"tshark-only {sorted(want - got)}")
        n = sum(t_pdus.values())
        if n == 0:
            problems.append("tshark shows no PNIO CM PDU")
        if problems:
            status = 1
            print(f"FAIL {name}: ours {sum(o_pdus.values())} PDUs, tshark {n}")
            for p in problems:
                print(f"     {p}")
        else:
            ops = collections.Counter((k[0], k[1]) for k in o_pdus.elements())
            extra = f" ({'; '.join(sorted(set(notes)))})" if notes else ""
            print(f"ok   {name}: {n} PDUs {dict(sorted(ops.items()))}, "
                  f"{len(t_ims)} I&M0 reads{extra}")
sys.exit(status)
PY
