#!/usr/bin/env bash
# Differential test: OpenVPN packets, quaywatch's event log vs tshark.
#
# For every corpus capture that holds OpenVPN (the list below: a tshark scan of the whole
# corpus finds OpenVPN only in openvpn/, and so does a quaywatch scan):
#   ours:   `quaywatch analyze --events`; the flow's summary record gives packets per opcode
#           and direction ("client" = the envelope's src, "server" = its dest) and the key ids;
#           the hard reset records give the session ids of the resets and the flow's mode.
#   tshark: `tshark -Y openvpn -T json -J "ip ipv6 udp tcp openvpn"`, every OpenVPN PDU (several
#           per TCP segment), with decode-as for the ports tshark does not dissect by default:
#           -d tcp.port==443,openvpn -d udp.port==443,openvpn -d udp.port==13680,openvpn
#           -d udp.port==1234,openvpn (OpenVPN on TCP 443, UDP 443, 13680 and 1234 in
#           ndpi_openvpn.pcapng; tshark 4.0 dissects only 1194 on its own).
# Compared per capture: packets per (sender address, sender port, opcode); key ids per flow;
# the set of (opcode, session id) of hard resets (1, 2, 7, 8, 10); the mode of each reset's
# session. tshark decides the mode per packet: tls-auth when the byte after the session id is
# not zero and at most one of the 4 bytes from there is zero (the HMAC size comes from its
# preferences, 20 by default, so it cannot tell 20 from 64), tls-crypt only for opcodes 10 and
# 11. Known differences, each checked to be exactly that:
#   - a tls-crypt reset with opcode 7 or 8: tshark says plain (the byte after the session id is
#     the replay packet id's high byte, 0); ours reads the 32-byte tag and the encrypted rest
#     (127.0.0.1:36138 <-> :443 in ndpi_openvpn.pcapng, the server reset of
#     ndpi_openvpn-tlscrypt.pcap);
#   - tls-auth HMAC sizes: tshark's mode has no size; ours says 20 or 64, compared as tls_auth.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff openvpn

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, json, os, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = [
    "openvpn/ndpi_openvpn-tlscrypt.pcap", "openvpn/ndpi_openvpn.pcapng",
    "openvpn/ndpi_openvpn_nohmac.pcapng", "openvpn/ndpi_openvpn_nohmac_tcp.pcapng",
]
DECODE_AS = ["-d", "tcp.port==443,openvpn", "-d", "udp.port==443,openvpn",
             "-d", "udp.port==13680,openvpn", "-d", "udp.port==1234,openvpn"]
RESETS = {1, 2, 7, 8, 10}
NAMES = {1: "hard_reset_client_v1", 2: "hard_reset_server_v1", 3: "soft_reset_v1",
         4: "control_v1", 5: "ack_v1", 6: "data_v1", 7: "hard_reset_client_v2",
         8: "hard_reset_server_v2", 9: "data_v2", 10: "hard_reset_client_v3",
         11: "control_wkc_v1"}
CODES = {v: k for k, v in NAMES.items()}


def multi(pairs):
    """tshark's JSON repeats a key for each PDU of a frame: keep them all, as a list."""
    d, many = {}, set()
    for k, v in pairs:
        if k in d:
            if k not in many:
                d[k], many = [d[k]], many | {k}
            d[k].append(v)
        else:
            d[k] = v
    return d


def as_list(v):
    return v if isinstance(v, list) else [v]


def tshark_view(path):
    out = subprocess.run(["tshark", "-r", path, *DECODE_AS, "-Y", "openvpn", "-T", "json",
                          "-J", "ip ipv6 udp tcp openvpn"], capture_output=True, text=True).stdout
    ops, keys, resets, modes = collections.Counter(), collections.defaultdict(set), set(), {}
    for pkt in json.loads(out or "[]", object_pairs_hook=multi):
        L = pkt["_source"]["layers"]
        ipl = L.get("ip") or L.get("ipv6")
        src = ipl.get("ip.src") or ipl.get("ipv6.src")
        dst = ipl.get("ip.dst") or ipl.get("ipv6.dst")
        tl = L.get("udp") or L.get("tcp")
        sport = int(tl.get("udp.srcport") or tl.get("tcp.srcport"))
        dport = int(tl.get("udp.dstport") or tl.get("tcp.dstport"))
        flow = frozenset([(src, sport), (dst, dport)])
        for o in as_list(L["openvpn"]):
            tt = o["openvpn.type_tree"]
            op, key = int(tt["openvpn.opcode"], 16), int(tt["openvpn.keyid"])
            ops[(src, sport, op)] += 1
            keys[flow].add(key)
            if op in RESETS:
                sid = "%016x" % int(o["openvpn.sessionid"])
                resets.add((op, sid))
                modes[sid] = ("tls_crypt" if op in (10, 11) else
                              "tls_auth" if "openvpn.hmac" in o else "plain")
    return ops, keys, resets, modes


def our_view(ev):
    ops, keys, resets, modes, hmac = collections.Counter(), {}, set(), {}, {}
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("event_type") != "openvpn":
                continue
            o = rec["openvpn"]
            cli, srv = (rec["src_ip"], rec["src_port"]), (rec["dest_ip"], rec["dest_port"])
            if "sessions" in o:  # the summary
                for side, ep in (("client", cli), ("server", srv)):
                    for k, v in o[side].items():
                        if k in CODES:
                            ops[(ep[0], ep[1], CODES[k])] += v
                keys[frozenset([cli, srv])] = set(o["key_ids"])
                continue
            for side in ("request", "response"):
                m = o.get(side)
                if m and m["opcode"] in RESETS:
                    resets.add((m["opcode"], m["session_id"]))
                    modes[m["session_id"]] = o["mode"]
                    hmac[m["session_id"]] = o.get("hmac_length")
    return ops, keys, resets, modes, hmac


status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    t_ops, t_keys, t_resets, t_modes = tshark_view(path)
    o_ops, o_keys, o_resets, o_modes, o_hmac = our_view(ev)
    problems, known = [], []
    if o_ops != t_ops:
        diff = {k: (o_ops.get(k, 0), t_ops.get(k, 0)) for k in set(o_ops) | set(t_ops)
                if o_ops.get(k, 0) != t_ops.get(k, 0)}
        problems.append(f"packets per (sender, port, opcode) differ (ours, tshark): {diff}")
    if o_keys != dict(t_keys):
        problems.append(f"key ids per flow: ours {o_keys}, tshark {dict(t_keys)}")
    if o_resets != t_resets:
        problems.append(f"hard reset session ids: ours-only {sorted(o_resets - t_resets)}, "
                        f"tshark-only {sorted(t_resets - o_resets)}")
    for sid in sorted(set(o_modes) | set(t_modes)):
        ours, theirs = o_modes.get(sid), t_modes.get(sid)
        if ours == theirs:
            continue
        if ours == "tls_crypt" and theirs == "plain":
            known.append(f"{sid}: tls_crypt, tshark plain (opcode 7/8 tls-crypt)")
            continue
        problems.append(f"mode of session {sid}: ours {ours}, tshark {theirs}")
    if not o_ops:
        problems.append("no OpenVPN records")
    if problems:
        status = 1
        print(f"FAIL {name}")
        for p in problems:
            print(f"     {p}")
        continue
    per_op = collections.Counter()
    for (_, _, op), n in o_ops.items():
        per_op[NAMES[op]] += n
    mode_list = sorted({(o_modes[s], o_hmac.get(s)) for s in o_modes}, key=str)
    print(f"ok   {name}: {sum(o_ops.values())} packets {dict(sorted(per_op.items()))}, "
          f"{len(o_resets)} hard resets, {len(o_keys)} flows, modes {mode_list}")
    for k in known:
        print(f"     known difference: {k}")
sys.exit(status)
EOF
