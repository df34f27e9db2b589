#!/usr/bin/env bash
# Differential test: WireGuard messages, quaywatch's event log vs tshark.
#
# The captures: every corpus capture that carries WireGuard (a tshark scan of the whole corpus,
# `tshark -r F -Y wg`, finds it in the three of wireguard/ only): sessions on 51820, on 51194
# (malcolm_WireGuard) and on 5060 (ndpi_mullvad_wireguard, transport data only), and one whose
# capture starts with the server's packets (ndpi_wireguard).
#
# tshark 4.0 has no port for WireGuard at all (with its heuristic off it dissects nothing, not
# even 51820): it finds it by the UDP heuristic `wg` alone, which is on by default and dissects
# any port. The script turns it on explicitly (--enable-heuristic wg), so a profile that turned
# it off does not empty the oracle, and needs no `-d udp.port==N,wg`.
#
#   ours:   `quaywatch analyze --events`; each "wireguard" record gives its messages: a handshake
#           record an initiation from the initiator's end (the envelope's src for "client",
#           dest for "server") and, when answered, a response from the other end; a response
#           alone the response; a cookie reply its message from "sender"; a transport summary
#           the packets, bytes, keepalives and receiver indices of each direction.
#   tshark: `tshark -Y wg` with wg.type, wg.sender, wg.receiver, wg.keepalive, wg.response_to
#           (the initiation a response answers) and udp.length.
# Compared per capture: messages per type and sending end; the handshakes as (initiating end,
# initiation's sender index, response's sender and receiver indices, or none when unanswered),
# pairs taken from tshark's wg.response_to; responses that answer nothing; cookie replies'
# receiver indices; and per sending end, transport packets, bytes (UDP payload), keepalives and
# the receiver indices seen. No anomaly is expected on these captures (real peers).
#
# Known differences: none on these captures. A transport message that is the very first of a
# flow and not a multiple of 16 long (a full-MTU packet) is not claimed by the probe and so is
# not counted (docs/events/wireguard.md); none of these flows starts so.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff wireguard

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, json, os, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = [
    "wireguard/malcolm_WireGuard.pcap",
    "wireguard/ndpi_mullvad_wireguard.pcap",
    "wireguard/ndpi_wireguard.pcapng",
]
TYPES = {"handshake_initiation": 1, "handshake_response": 2, "cookie_reply": 3,
         "transport_data": 4}


def tshark_view(path):
    fields = ["frame.number", "ip.src", "ipv6.src", "udp.srcport", "udp.length", "wg.type",
              "wg.sender", "wg.receiver", "wg.keepalive", "wg.response_to"]
    cmd = ["tshark", "--enable-heuristic", "wg", "-r", path, "-Y", "wg", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    msgs = collections.Counter()
    inits, responses = {}, []
    cookies = collections.Counter()
    tr = collections.defaultdict(lambda: {"packets": 0, "bytes": 0, "keepalives": 0,
                                          "receivers": set()})
    for line in out.splitlines():
        frame, ip4, ip6, sport, ulen, typ, sender, receiver, keep, resp_to = line.split("\t")
        end = f"{ip4 or ip6}:{sport}"
        typ = int(typ)
        msgs[(typ, end)] += 1
        if typ == 1:
            inits[frame] = (end, sender)
        elif typ == 2:
            responses.append((resp_to, sender, receiver, end))
        elif typ == 3:
            cookies[(end, receiver)] += 1
        elif typ == 4:
            t = tr[end]
            t["packets"] += 1
            t["bytes"] += int(ulen) - 8
            t["keepalives"] += 1 if keep else 0
            t["receivers"].add(receiver)
    hs, alone = collections.Counter(), collections.Counter()
    answered = set()
    for resp_to, sender, receiver, end in responses:
        if resp_to in inits:
            answered.add(resp_to)
            ie, isender = inits[resp_to]
            hs[(ie, isender, sender, receiver)] += 1
        else:
            alone[(end, sender, receiver)] += 1
    for frame, (ie, isender) in inits.items():
        if frame not in answered:
            hs[(ie, isender, None, None)] += 1
    return msgs, hs, alone, cookies, tr


def our_view(ev):
    msgs = collections.Counter()
    hs, alone, cookies = collections.Counter(), collections.Counter(), collections.Counter()
    tr = collections.defaultdict(lambda: {"packets": 0, "bytes": 0, "keepalives": 0,
                                          "receivers": set()})
    anomalies = collections.Counter()
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "anomaly" and rec["anomaly"]["event"].startswith("wireguard."):
                anomalies[rec["anomaly"].get("detail", "")] += 1
            if et != "wireguard":
                continue
            cli = f"{rec['src_ip']}:{rec['src_port']}"
            srv = f"{rec['dest_ip']}:{rec['dest_port']}"
            end_of = {"client": cli, "server": srv}
            other = {"client": srv, "server": cli}
            w = rec["wireguard"]
            kind = TYPES[w["message"]]
            if kind in (1, 2):
                ie, re_ = end_of[w["initiator"]], other[w["initiator"]]
                i, r = w.get("initiation"), w.get("response")
                if i:
                    msgs[(1, ie)] += 1
                if r:
                    msgs[(2, re_)] += 1
                if i:
                    hs[(ie, i["sender"], r["sender"] if r else None,
                        r["receiver"] if r else None)] += 1
                else:
                    alone[(re_, r["sender"], r["receiver"])] += 1
            elif kind == 3:
                msgs[(3, end_of[w["sender"]])] += 1
                cookies[(end_of[w["sender"]], w["receiver"])] += 1
            else:
                for key, end in (("to_server", cli), ("to_client", srv)):
                    d = w[key]
                    if d["packets"]:
                        msgs[(4, end)] += d["packets"]
                    t = tr[end]
                    for k in ("packets", "bytes", "keepalives"):
                        t[k] += d[k]
                    t["receivers"].update(d["receivers"])
                    if d.get("receivers_more"):
                        t["receivers"].add("(more)")
    tr = {k: v for k, v in tr.items() if v["packets"]}
    return msgs, hs, alone, cookies, tr, anomalies


def show(tr):
    return {k: {**v, "receivers": sorted(v["receivers"])} for k, v in sorted(tr.items())}


status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    t_msgs, t_hs, t_alone, t_cookies, t_tr = tshark_view(path)
    o_msgs, o_hs, o_alone, o_cookies, o_tr, anomalies = our_view(ev)
    problems = []
    for what, o, t in (("messages per (type, sender)", o_msgs, t_msgs),
                       ("handshakes", o_hs, t_hs), ("responses alone", o_alone, t_alone),
                       ("cookie replies", o_cookies, t_cookies)):
        if o != t:
            problems.append(f"{what}: ours-only {dict(o - t)}, tshark-only {dict(t - o)}")
    if show(o_tr) != show(t_tr):
        problems.append(f"transport: ours {show(o_tr)}, tshark {show(t_tr)}")
    if anomalies:
        problems.append(f"anomalies on real traffic: {dict(anomalies)}")
    if not t_msgs:
        problems.append("tshark sees no WireGuard: is its wg heuristic missing?")
    if problems:
        status = 1
        print(f"FAIL {name}: ours {sum(o_msgs.values())} messages, tshark {sum(t_msgs.values())}")
        for p in problems:
            print(f"     {p}")
    else:
        per_type = collections.Counter()
        for (typ, _), n in o_msgs.items():
            per_type[typ] += n
        answered = sum(n for k, n in o_hs.items() if k[2] is not None)
        print(f"ok   {name}: {sum(o_msgs.values())} messages, per type {dict(sorted(per_type.items()))}, "
              f"{answered} handshakes answered of {sum(o_hs.values())}, "
              f"transport per sender {[(e, v['packets']) for e, v in sorted(o_tr.items())]}")
sys.exit(status)
EOF
