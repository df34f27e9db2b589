#!/usr/bin/env bash
# Differential test: OpenVPN packets, quaywatch's event log vs tshark.
#
# For every corpus capture that holds OpenVPN (the list below: a tshark scan of the whole
# corpus finds OpenVPN only in openvpn/, and so does a quaywatch scan):
#   ours:   `quaywatch analyze --events`; the flow's summary record gives packets per opcode
#           and direction ("client" = the envelope's src, "server" = its dest) and the key ids;
#           the hard reset records give the session ids of the resets and the flow's mode.
#           The tls_handshake records give the TLS read from the control channel: the first
#           certificate each side sent and the server's version and cipher suite.
#   tshark: `tshark -Y openvpn -T json -J "ip ipv6 udp tcp openvpn tls"`, every OpenVPN PDU
#           (several per TCP segment) and the TLS tshark dissects inside the control channel,
#           in the one run, with decode-as for the ports tshark does not dissect by default:
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
# TLS in the control channel, per direction of each flow (sender and receiver address and port):
# the first certificate of each Certificate message (subject CN and O, issuer CN and O, serial,
# notBefore, notAfter; tshark's x509af/x509if/x509sat fields) and each ServerHello's version
# (supported_versions' when present) and cipher suite. tshark puts the TLS bytes of the control
# channel back together by a guess (it ends a message when a fragment is shorter than the one
# before), which fails on several of these flows; ours orders them by message packet id. So:
# everything tshark dissected must be ours exactly; what only ours has is a known difference
# when tshark dissected no Certificate (no ServerHello) at all in that direction, and, for a
# certificate, its subject CN's bytes are in that direction's UDP or TCP payloads.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff openvpn

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, json, os, subprocess, sys
from qw_analyze import analysed
from json_tree import dicts
import ledger_users

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
                          "-J", "ip ipv6 udp tcp openvpn tls"], capture_output=True,
                         text=True).stdout
    ops, keys, resets, modes = collections.Counter(), collections.defaultdict(set), set(), {}
    tls = {"cert": collections.Counter(), "hello": collections.Counter(), "cert_dirs": set(),
           "hello_dirs": set(), "payload": collections.defaultdict(bytearray)}
    for pkt in json.loads(out or "[]", object_pairs_hook=multi):
        L = pkt["_source"]["layers"]
        ipl = L.get("ip") or L.get("ipv6")
        src = ipl.get("ip.src") or ipl.get("ipv6.src")
        dst = ipl.get("ip.dst") or ipl.get("ipv6.dst")
        tl = L.get("udp") or L.get("tcp")
        sport = int(tl.get("udp.srcport") or tl.get("tcp.srcport"))
        dport = int(tl.get("udp.dstport") or tl.get("tcp.dstport"))
        flow = frozenset([(src, sport), (dst, dport)])
        way = ((src, sport), (dst, dport))
        tls["payload"][way] += bytes.fromhex(
            (tl.get("udp.payload") or tl.get("tcp.payload") or "").replace(":", ""))
        tshark_tls(L.get("tls", {}), way, tls)
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
    return ops, keys, resets, modes, tls


def x509_name(tree):
    """The first commonName and organizationName of tshark's Name tree."""
    found = {}
    for d in dicts(tree):
        oid = d.get("x509if.oid")
        if oid in ("2.5.4.3", "2.5.4.10") and oid not in found:
            ds = d.get("x509sat.DirectoryString_tree", {})
            found[oid] = next((v for v in ds.values() if isinstance(v, str)), None)
    return found.get("2.5.4.3"), found.get("2.5.4.10")


def x509_time(t):
    """tshark's "2016-06-30 00:21:50 (UTC)" as ours, 2016-06-30T00:21:50Z."""
    v = t.get("x509af.utcTime") or t.get("x509af.generalizedTime")
    return f"{v[:10]}T{v[11:19]}Z" if v else None


def tshark_tls(layer, way, tls):
    """Certificates and ServerHellos of one frame's TLS layers, sent in direction `way`."""
    for hs in dicts(layer):
        if "tls.handshake.type" not in hs:
            continue
        kind = int(as_list(hs["tls.handshake.type"])[0])
        if kind == 11 and hs.get("tls.handshake.certificates"):
            tree = as_list(hs["tls.handshake.certificates"]["tls.handshake.certificate_tree"])[0]
            sc = tree["x509af.signedCertificate_element"]
            val = sc.get("x509af.validity_element", {})
            tls["cert"][(way, *x509_name(sc.get("x509af.subject_tree", {})),
                         *x509_name(sc.get("x509af.issuer_tree", {})),
                         int(sc["x509af.serialNumber"], 16),
                         x509_time(val.get("x509af.notBefore_tree", {})),
                         x509_time(val.get("x509af.notAfter_tree", {})))] += 1
            tls["cert_dirs"].add(way)
        elif kind == 2:
            sel = [d["tls.handshake.extensions.supported_version"] for d in dicts(hs)
                   if "tls.handshake.extensions.supported_version" in d]
            ver = as_list(sel[0])[0] if sel else hs["tls.handshake.version"]
            tls["hello"][(way, int(ver, 16), int(hs["tls.handshake.ciphersuite"], 16))] += 1
            tls["hello_dirs"].add(way)


def our_view(ev):
    ops, keys, resets, modes, hmac = collections.Counter(), {}, set(), {}, {}
    tls = {"cert": collections.Counter(), "hello": collections.Counter(), "cn": {}}
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("event_type") != "openvpn":
                continue
            o = rec["openvpn"]
            cli, srv = (rec["src_ip"], rec["src_port"]), (rec["dest_ip"], rec["dest_port"])
            if "tls" in o:  # a TLS handshake (or alert) of the control channel
                for side, way in (("request", (cli, srv)), ("response", (srv, cli))):
                    m = o["tls"].get(side, {})
                    c = m.get("certificate")
                    if c and c.get("chain_length"):
                        key = (way, c.get("subject_cn"), c.get("subject_o"), c.get("issuer_cn"),
                               c.get("issuer_o"), int(c.get("serial", "0"), 16),
                               c.get("not_before"), c.get("not_after"))
                        tls["cert"][key] += 1
                        tls["cn"][key] = c.get("subject_cn")
                    if side == "response" and "cipher_suite" in m:
                        tls["hello"][(way, m["version"], m["cipher_suite"])] += 1
                continue
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
    return ops, keys, resets, modes, hmac, tls


def compare_tls(ours, theirs, problems, known):
    """Certificates and ServerHellos: tshark's must be ours; ours alone only where tshark
    dissected none in that direction (and a certificate's CN is in that direction's bytes)."""
    for what, dirs in (("cert", "cert_dirs"), ("hello", "hello_dirs")):
        a, b = ours[what], theirs[what]
        for k in sorted(set(b) - set(a) | {k for k in a if k in b and a[k] < b[k]}, key=str):
            problems.append(f"{what} {k}: tshark {b[k]}, ours {a.get(k, 0)}")
        for k in sorted(set(a), key=str):
            extra = a[k] - b.get(k, 0)
            if extra <= 0:
                continue
            way = k[0]
            if way in theirs[dirs]:
                problems.append(f"{what} {k}: ours {a[k]}, tshark {b.get(k, 0)}")
            elif what == "cert" and ours["cn"][k].encode() not in theirs["payload"][way]:
                problems.append(f"cert {k}: ours only, and its CN is not in the packets")
            else:
                (src, sport), (dst, dport) = way
                known.append(f"{'certificate CN=' + str(k[1]) if what == 'cert' else 'ServerHello'}"
                             f" {src}:{sport} -> {dst}:{dport}: ours only, tshark did not put "
                             f"that TLS together")


status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    t_ops, t_keys, t_resets, t_modes, t_tls = tshark_view(path)
    o_ops, o_keys, o_resets, o_modes, o_hmac, o_tls = our_view(ev)
    problems, known = [], []
    compare_tls(o_tls, t_tls, problems, known)
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
    # the ledger names each tunnel's user by the client certificate its TLS records show
    ledger_problems, _, ledger_named = ledger_users.check(qw, os.path.join(tmp, "x.db"), ev)
    problems += [f"ledger: {p}" for p in ledger_problems]
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
          f"{len(o_resets)} hard resets, {len(o_keys)} flows, modes {mode_list}, "
          f"{sum(o_tls['cert'].values())} certificates ({sum(t_tls['cert'].values())} in "
          f"tshark), {sum(o_tls['hello'].values())} ServerHellos "
          f"({sum(t_tls['hello'].values())} in tshark), {ledger_named} ledger sessions "
          f"with a user")
    for k in known:
        print(f"     known difference: {k}")
sys.exit(status)
EOF
