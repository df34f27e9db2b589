#!/usr/bin/env bash
# Differential test: NTP packets, quaywatch's event log vs tshark.
#
# For every corpus capture that holds NTP (the list below, from a tshark scan of the corpus):
#   ours:   `quaywatch analyze --events`; each "ntp" record's "request" and "response" object
#           is one packet, keyed by "mode".
#   tshark: `tshark -Y "ntp && !icmp"` with ntp.flags.mode, ntp.flags.vn, ntp.stratum,
#           ntp.refid, ntp.ctrl.flags2.opcode (mode 6) and ntp.priv.reqcode (mode 7).
# Compared per capture: packets per mode, per version, mode 6 opcodes, mode 7 request codes,
# the multiset of (stratum, reference id) of modes 1-5, and the identity facts (ntp_stratum,
# ntp_refid) of the servers (senders of modes 2, 4 and 5) against tshark's values.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff ntp

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, json, os, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = [
    "ntp/ndpi_NTPv4.pcap", "ntp/tcpdump_ntp-control.pcap", "ntp/zeek_NTP-digest.pcap",
    "ntp/zeek_NTP_sync.pcap", "ntp/zeek_ntp.pcap", "ntp/zeek_ntpmode67.pcap",
    "iec104/iti_JavaRMI_and_IEC_Misc.pcap", "iec61850/iti_Sample_File_MMS_and_GOOSE.pcap",
]

def f1(L, k, d=""):
    v = L.get(k)
    return v[0] if v else d

def refid_text(stratum, hexid):
    """quaywatch's rendering of a reference id (src/proto/ntp.c ntp_refid_text)."""
    b = bytes.fromhex(hexid.replace(":", "")) if hexid else b"\0\0\0\0"
    if stratum <= 1:
        n = 0
        while n < 4 and 0x20 <= b[n] < 0x7F:
            n += 1
        return b[:n].decode() if all(x == 0 for x in b[n:]) else b.hex()
    return ".".join(str(x) for x in b)

status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    out = subprocess.run(["tshark", "-r", path, "-Y", "ntp && !icmp", "-T", "json",
                          "-e", "ip.src", "-e", "ipv6.src", "-e", "ntp.flags.mode", "-e", "ntp.flags.vn",
                          "-e", "ntp.stratum", "-e", "ntp.refid", "-e", "ntp.ctrl.flags2.opcode",
                          "-e", "ntp.priv.reqcode"], capture_output=True, text=True).stdout
    pkts = [p["_source"]["layers"] for p in json.loads(out or "[]")]
    t = {k: collections.Counter() for k in ("mode", "vn", "op6", "req7", "ref")}
    t_ident = set()
    for L in pkts:
        mode = int(f1(L, "ntp.flags.mode", "0"))
        t["mode"][mode] += 1
        t["vn"][int(f1(L, "ntp.flags.vn", "0"))] += 1
        if mode == 6:
            t["op6"][int(f1(L, "ntp.ctrl.flags2.opcode", "0"))] += 1
        if mode == 7:
            t["req7"][int(f1(L, "ntp.priv.reqcode", "0"))] += 1
        if 1 <= mode <= 5:
            st = int(f1(L, "ntp.stratum", "0"))
            ref = refid_text(st, f1(L, "ntp.refid"))
            t["ref"][(st, ref)] += 1
            if mode in (2, 4, 5) and st != 0:
                src = f1(L, "ip.src") or f1(L, "ipv6.src")
                t_ident.add((src, "ntp_stratum", str(st)))
                if ref:
                    t_ident.add((src, "ntp_refid", ref))
    o = {k: collections.Counter() for k in ("mode", "vn", "op6", "req7", "ref")}
    o_ident = set()
    mode67 = collections.Counter()
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "asset" and rec["asset"]["source"] == "ntp":
                o_ident.add((rec["asset"]["ip"], rec["asset"]["attribute"], rec["asset"]["value"]))
            if et == "anomaly" and rec["anomaly"]["event"] in ("ntp.mode6_request", "ntp.mode7_request"):
                mode67[rec["anomaly"]["event"]] += 1
            if et != "ntp":
                continue
            for side in ("request", "response"):
                m = rec["ntp"].get(side)
                if not m:
                    continue
                o["mode"][m["mode"]] += 1
                o["vn"][m["version"]] += 1
                if m["mode"] == 6:
                    o["op6"][m["opcode"]] += 1
                if m["mode"] == 7:
                    o["req7"][m["request_code"]] += 1
                if 1 <= m["mode"] <= 5:
                    o["ref"][(m["stratum"], m["reference_id"])] += 1
    problems = [f"{k}: ours {dict(o[k])}, tshark {dict(t[k])}" for k in o if o[k] != t[k]]
    if o_ident != t_ident:
        problems.append(f"identity: ours-only {sorted(o_ident - t_ident)}, tshark-only {sorted(t_ident - o_ident)}")
    if problems:
        status = 1
        print(f"FAIL {name}: ours {sum(o['mode'].values())} packets, tshark {sum(t['mode'].values())}")
        for p in problems:
            print(f"     {p}")
    else:
        extra = f", anomalies {dict(mode67)}" if mode67 else ""
        print(f"ok   {name}: {sum(o['mode'].values())} packets, modes {dict(sorted(o['mode'].items()))}, "
              f"{len(o_ident)} identity facts{extra}")
sys.exit(status)
EOF
