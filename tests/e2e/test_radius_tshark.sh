#!/usr/bin/env bash
# Differential test: RADIUS messages, quaywatch's event log vs tshark.
#
# Captures: every corpus capture in whose protocol hierarchy tshark finds RADIUS (corpus_with;
# today pcaps/radius/zeek_radius.pcap alone, 4 messages), and a synthetic capture written at
# test time by tests/data/radius/radius_pcap.py (access with PAP, CHAP and EAP, a reject, a
# retransmission, Status-Server, accounting Start/Interim/Stop with Framed-IP-Address and
# gigawords, an IPv6 session, a padded message, Disconnect and CoA).
#
#   ours:   `quaywatch analyze --events`; each "radius" record's "request" and "response"
#           object is one message (a request with "retransmissions": N is N + 1 messages).
#   tshark: `tshark -Y radius -T json` with radius.code, radius.id, radius.length, the
#           attribute fields (radius.User_Name, radius.NAS_IP_Address, radius.Framed-IP-Address
#           (tshark 4.0 fills this hyphenated field for attribute 8, not radius.Framed_IP_Address),
#           radius.Acct_Status_Type, ... see FIELDS), radius.avp.type and radius.avp.vendor_id,
#           eap.code and eap.type, radius.reqframe (pairing) and radius.dup (retransmissions).
# Compared per capture, message by message (as a multiset of canonical messages): code,
# identifier, length and every decoded attribute; the request/response pairs (request code,
# identifier, response code); the hostname facts (NAS-Identifier of Access- and
# Accounting-Requests, about their sender); the radius.weak_no_message_authenticator anomalies
# (per flow and kind) against what tshark's attributes say; and no radius.invalid_message.
#
# Known differences, allowed here:
#   - Status-Server (12): we pair it with the Access-Accept or Accounting-Response that answers
#     it ([5997] s.3); tshark 4.0 leaves both unpaired. Our Status-Server pairs are left out of
#     the pair comparison (the messages themselves are compared).
#   - Acct-Input/Output-Octets: we add the gigawords ([2869] s.5.1) into one 64-bit count;
#     tshark shows the two attributes apart. tshark's values are combined before comparing.
#   - Reply-Message: several are joined into one string by us, listed apart by tshark; joined.
#   - Text values are kept to 64 bytes (Reply-Message 128), the attribute list to 48 types and
#     the vendor ids to 6 distinct: tshark's are cut the same way before comparing (no capture
#     here reaches those bounds).
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff radius

mapfile -t caps < <(corpus_with radius)
[ ${#caps[@]} -gt 0 ] || fail "no corpus capture with RADIUS (expected radius/zeek_radius.pcap)"
python3 "$QW_SRC/tests/data/radius/radius_pcap.py" "$work/synthetic_radius.pcap" ||
    fail "the synthetic capture could not be written"

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" "${caps[@]}" <<'EOF'
import collections, ipaddress, json, os, subprocess, sys
from qw_analyze import analyze_events

qw, corpus, tmp = sys.argv[1:4]
captures = [os.path.join(corpus, rel) for rel in sys.argv[4:]]
captures.append(os.path.join(tmp, "synthetic_radius.pcap"))
# The synthetic capture must show every part of the parser at least this often.
SYNTH_MIN = {"messages": 28, "pairs": 12, "hostname": 2, "weak": 3}

# (tshark field, our member, kind)
FIELDS = [
    ("radius.User_Name", "user_name", "text"),
    ("radius.NAS_IP_Address", "nas_ip", "str"),
    ("radius.NAS_IPv6_Address", "nas_ipv6", "str"),
    ("radius.NAS_Identifier", "nas_identifier", "text"),
    ("radius.NAS_Port", "nas_port", "int"),
    ("radius.NAS_Port_Type", "nas_port_type", "int"),
    ("radius.Service_Type", "service_type", "int"),
    ("radius.Framed-IP-Address", "framed_ip", "str"),
    ("radius.Framed_IPv6_Prefix", "framed_ipv6_prefix", "prefix"),
    ("radius.Calling_Station_Id", "calling_station_id", "text"),
    ("radius.Called_Station_Id", "called_station_id", "text"),
    ("radius.Acct_Status_Type", "acct_status_type", "int"),
    ("radius.Acct_Session_Id", "acct_session_id", "text"),
    ("radius.Acct_Session_Time", "acct_session_time", "int"),
    ("radius.Acct_Input_Packets", "acct_input_packets", "int"),
    ("radius.Acct_Output_Packets", "acct_output_packets", "int"),
    ("radius.Acct_Terminate_Cause", "acct_terminate_cause", "int"),
    ("radius.Error_Cause", "error_cause", "int"),
]
EXTRA = ["radius.code", "radius.id", "radius.length", "radius.avp.type", "radius.avp.vendor_id",
         "radius.Acct_Input_Octets", "radius.Acct_Output_Octets", "radius.Acct_Input_Gigawords",
         "radius.Acct_Output_Gigawords", "radius.Reply_Message", "radius.Message_Authenticator",
         "radius.User_Password", "radius.CHAP_Password", "eap.code",
         "eap.type", "radius.reqframe", "radius.dup", "frame.number", "ip.src", "ipv6.src",
         "ip.dst", "ipv6.dst", "udp.srcport", "udp.dstport"]
REQUESTS = {1, 4, 12, 40, 43}


def last(L, k):
    v = L.get(k)
    return v[-1] if v else None


def prefix_text(hexval):
    """tshark's Framed-IPv6-Prefix bytes (reserved, length, prefix) as we write them."""
    b = bytes.fromhex(hexval.replace(":", ""))
    addr = b[2:] + bytes(16 - len(b[2:]))
    return f"{ipaddress.IPv6Address(addr).compressed}/{b[1]}"


def tshark_message(L):
    m = {"code": int(L["radius.code"][0]), "identifier": int(L["radius.id"][0]),
         "length": int(L["radius.length"][0])}
    for field, key, kind in FIELDS:
        v = last(L, field)
        if v is None:
            continue
        if kind == "int":
            m[key] = int(v)
        elif kind == "text":
            m[key] = v[:64]
        elif kind == "prefix":
            m[key] = prefix_text(v)
        else:
            m[key] = v
    for d in ("Input", "Output"):
        octets, giga = last(L, f"radius.Acct_{d}_Octets"), last(L, f"radius.Acct_{d}_Gigawords")
        if octets is not None:
            m[f"acct_{d.lower()}_octets"] = int(octets) + (int(giga) << 32 if giga else 0)
    reply = "".join(L.get("radius.Reply_Message", []))
    if reply:
        m["reply_message"] = reply[:128]
    if L.get("eap.code"):
        m["eap_code"] = int(L["eap.code"][0])
        if m["eap_code"] in (1, 2) and L.get("eap.type"):
            m["eap_type"] = int(L["eap.type"][0])
    m["message_authenticator"] = bool(L.get("radius.Message_Authenticator"))
    types = [int(t) for t in L.get("radius.avp.type", [])]
    m["attribute_count"] = len(types)
    m["attributes"] = types[:48]
    vendors = []
    for v in L.get("radius.avp.vendor_id", []):
        if int(v) not in vendors:
            vendors.append(int(v))
    if vendors:
        m["vendor_ids"] = vendors[:6]
    return m


def our_message(o):
    m = {k: o[k] for k in ("code", "identifier", "length", "message_authenticator",
                           "attribute_count")}
    m["attributes"] = o.get("attributes", [])
    for _, key, kind in FIELDS:
        if key in o:
            m[key] = o[key]
    for key in ("acct_input_octets", "acct_output_octets", "reply_message", "vendor_ids"):
        if key in o:
            m[key] = o[key]
    if "eap" in o:
        m["eap_code"] = o["eap"]["code"]
        if "type" in o["eap"]:
            m["eap_type"] = o["eap"]["type"]
    return m


def canon(m):
    return json.dumps(m, sort_keys=True)


def weak_kind(m, L):
    """The weak_no_message_authenticator kind tshark's attributes call for, or None."""
    if m["message_authenticator"]:
        return None
    if m["code"] == 1 and (L.get("radius.User_Password") or L.get("radius.CHAP_Password")
                           or L.get("eap.code")):
        return "access_request"
    return {2: "access_accept", 3: "access_reject", 11: "access_challenge"}.get(m["code"])


def printable(s):
    return s and all(0x21 <= ord(c) < 0x7F for c in s)


status = 0
for path in captures:
    name = os.path.basename(path)
    ev = analyze_events(qw, path, tmp)
    if ev is None:
        status = 1
        continue
    cmd = ["tshark", "-r", path, "-Y", "radius", "-T", "json"]
    for f in [f for f, _, _ in FIELDS] + EXTRA:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    pkts = [p["_source"]["layers"] for p in json.loads(out or "[]")]
    t_msgs, t_pairs, t_ident, t_weak = collections.Counter(), collections.Counter(), set(), set()
    by_frame = {}
    for L in pkts:
        m = tshark_message(L)
        t_msgs[canon(m)] += 1
        by_frame[L["frame.number"][0]] = m
        src = last(L, "ip.src") or last(L, "ipv6.src")
        dst = last(L, "ip.dst") or last(L, "ipv6.dst")
        flow = frozenset([(src, last(L, "udp.srcport")), (dst, last(L, "udp.dstport"))])
        if m["code"] in (1, 4) and printable(m.get("nas_identifier", "")):
            t_ident.add((src, "hostname", m["nas_identifier"]))
        kind = weak_kind(m, L)
        if kind:
            t_weak.add((flow, kind))
    for L in pkts:
        rq = last(L, "radius.reqframe")
        if rq and rq in by_frame and int(L["radius.code"][0]) not in REQUESTS:
            q = by_frame[rq]
            t_pairs[(q["code"], q["identifier"], int(L["radius.code"][0]))] += 1
    t_dups = sum(1 for L in pkts if L.get("radius.dup"))

    o_msgs, o_pairs, o_ident = collections.Counter(), collections.Counter(), set()
    o_weak, o_invalid, o_dups = collections.Counter(), [], 0
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "asset" and rec["asset"]["source"] == "radius":
                a = rec["asset"]
                o_ident.add((a["ip"], a["attribute"], a["value"]))
            if et == "anomaly" and rec["anomaly"]["event"].startswith("radius."):
                a = rec["anomaly"]
                if a["event"] == "radius.weak_no_message_authenticator":
                    o_weak[a["detail"].split(" ")[0]] += 1
                else:
                    o_invalid.append(f"{a['event']}: {a.get('detail')}")
            if et != "radius":
                continue
            r = rec["radius"]
            req, rsp = r.get("request"), r.get("response")
            if req:
                n = 1 + req.get("retransmissions", 0)
                o_dups += n - 1
                o_msgs[canon(our_message(req))] += n
            if rsp:
                o_msgs[canon(our_message(rsp))] += 1
            if req and rsp and req["code"] != 12:  # tshark does not pair Status-Server
                o_pairs[(req["code"], req["identifier"], rsp["code"])] += 1
    problems = []
    if o_msgs != t_msgs:
        for k in sorted(set(o_msgs) | set(t_msgs)):
            if o_msgs[k] != t_msgs[k]:
                problems.append(f"message x{o_msgs[k]} ours, x{t_msgs[k]} tshark: {k}")
    if o_pairs != t_pairs:
        problems.append(f"pairs: ours {dict(o_pairs)}, tshark {dict(t_pairs)}")
    if o_dups != t_dups:
        problems.append(f"retransmissions: ours {o_dups}, tshark {t_dups}")
    if o_ident != t_ident:
        problems.append(f"hostname facts: ours-only {sorted(o_ident - t_ident)}, "
                        f"tshark-only {sorted(t_ident - o_ident)}")
    t_weak_kinds = collections.Counter(k for _, k in t_weak)
    if o_weak != t_weak_kinds:
        problems.append(f"weak_no_message_authenticator: ours {dict(o_weak)}, "
                        f"expected from tshark {dict(t_weak_kinds)}")
    if o_invalid:
        problems.append(f"unexpected anomalies: {o_invalid}")
    if name == "synthetic_radius.pcap":
        got = {"messages": sum(t_msgs.values()), "pairs": sum(t_pairs.values()),
               "hostname": len(t_ident), "weak": len(t_weak)}
        problems += [f"synthetic capture has {got[k]} {k}, expected at least {v}"
                     for k, v in SYNTH_MIN.items() if got[k] < v]
    nmsg = sum(o_msgs.values())
    if problems:
        status = 1
        print(f"FAIL {name}: ours {nmsg} messages, tshark {sum(t_msgs.values())}")
        for p in problems:
            print(f"     {p}")
    else:
        print(f"ok   {name}: {nmsg} messages, codes "
              f"{dict(sorted(collections.Counter(json.loads(k)['code'] for k in o_msgs.elements()).items()))}, "
              f"{sum(o_pairs.values())} pairs, {o_dups} retransmissions, {len(o_ident)} hostname "
              f"facts, weak {dict(o_weak)}")
sys.exit(status)
EOF
