#!/usr/bin/env bash
# Differential test: TLS handshakes, quaywatch's event log vs tshark (and openssl).
#
# Captures: every capture in $QW_CORPUS/pcaps/tls/, every other corpus capture in which tshark
# finds TLS, and the real handshakes written by tests/data/tls/make_tls_pcap.py (OpenSSL through
# Python's ssl module: TLS 1.0-1.3 on 443/4843/8883, self-signed, CA-issued, expired and client
# certificates, handshake messages fragmented over records and segments).
#   ours:   `quaywatch analyze --events`; the "messages" lists of each "tls" record's "request"
#           and "response", its ClientHello/ServerHello fields and certificates, its alert
#           records, and the tls.* anomalies.
#   tshark: `-T json --no-duplicate-keys -J "frame tls"`; every dictionary holding
#           tls.handshake.type is one handshake message (SSL 2.0 ones included).
# Compared exactly, as multisets: handshake messages per type; SNI values; JA3 and JA3S, both
# the text and the MD5 (tshark 4.0 computes them: an independent implementation); plaintext
# alerts (level, description); for each message carrying certificates, the first one's subject
# and issuer CN and O, serial, notBefore and notAfter, read by `openssl x509` from the DER bytes
# tshark extracted; and the anomalies tls.weak_version (negotiated version from tshark's
# ServerHello), tls.self_signed_certificate (openssl's subject equals its issuer),
# tls.expired_certificate and tls.certificate_not_yet_valid (openssl's dates against the frame
# time). JA4 is not compared (tshark 4.0 has no JA4): tests/unit/test_tls.c checks it on the
# examples of the FoxIO specification.
# The ports of every flow we decoded are handed to tshark with `-d tcp.port==P,tls`.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN below), 1 otherwise,
# 77 (skip) without the corpus, tshark, python3 or openssl.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_corpus tls
need_tool tshark
need_tool openssl
need_qw_python

# Other captures holding TLS: tshark's protocol hierarchy says which (lib.sh corpus_with).
files=("$QW_CORPUS"/pcaps/tls/*.pcap*)
mapfile -t more < <(corpus_with tls ssl | grep -v '^tls/')
add_corpus_files "${more[@]}"
# A capture tshark lists as TPKT only: after RDP's X.224 negotiation the connection carries a TLS
# handshake, which quaywatch decodes while no parser claims the RDP negotiation (tshark shows it
# with the decode-as below). With an RDP parser the flow is RDP's and both sides see no TLS.
[ -e "$QW_CORPUS/pcaps/rdp/ndpi_rdp.pcap" ] && files+=("$QW_CORPUS/pcaps/rdp/ndpi_rdp.pcap")
python3 "$QW_SRC/tests/data/tls/make_tls_pcap.py" "$work"
rc=$?
if [ "$rc" -eq 0 ]; then files+=("$work/tls_cases.pcap")
elif [ "$rc" -ne 77 ]; then echo "FAIL: make_tls_pcap.py exited $rc"; exit 1
fi

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    decode_as=()
    for p in $(python3 -c '
import json, sys
ports = set()
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("event_type") == "tls":
        ports.add(r["dest_port"])
print(" ".join(str(p) for p in sorted(ports)))' "$work/ev.json"); do
        decode_as+=(-d "tcp.port==$p,tls")
    done
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "${decode_as[@]}" -Y tls \
        -T json --no-duplicate-keys -J "frame tls" >"$work/tshark.json" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.json" <<'PYEOF' || status=1
import calendar, collections, json, subprocess, sys, time
from json_tree import dicts

name, events, tshark = sys.argv[1:4]

# Captures whose counts may differ, each with the exact reason (verified by reading the frames).
# Every other capture must agree exactly.
KNOWN = {
    "ndpi_openvpn.pcapng":
        "every TLS handshake tshark shows is inside OpenVPN control packets (frame.protocols "
        "eth:ip:tcp:openvpn:tls and eth:ip:udp:openvpn:tls): the TCP streams start with "
        "OpenVPN's 2-byte packet length and opcode, not a TLS record, so no TLS stream exists "
        "to detect; TLS tunnelled in OpenVPN is the OpenVPN parser's to report",
    "ndpi_openvpn_nohmac.pcapng":
        "as ndpi_openvpn.pcapng: the handshake is inside OpenVPN control packets over UDP",
    "ndpi_openvpn_nohmac_tcp.pcapng":
        "as ndpi_openvpn.pcapng: the handshake is inside OpenVPN control packets over TCP",
}

C = collections.Counter
KEYS = ("type", "sni", "ja3", "ja3_full", "ja3s", "ja3s_full", "alert", "cert", "anomaly")
MSG = {"hello_request": 0, "client_hello": 1, "server_hello": 2, "hello_verify_request": 3,
       "new_session_ticket": 4, "end_of_early_data": 5, "hello_retry_request": 6,
       "encrypted_extensions": 8, "certificate": 11, "server_key_exchange": 12,
       "certificate_request": 13, "server_hello_done": 14, "certificate_verify": 15,
       "client_key_exchange": 16, "finished": 20, "certificate_url": 21,
       "certificate_status": 22, "supplemental_data": 23, "key_update": 24,
       "compressed_certificate": 25, "message_hash": 254, "sslv2_error": 0,
       "sslv2_client_hello": 1, "sslv2_client_master_key": 2, "sslv2_client_finished": 3,
       "sslv2_server_hello": 4, "sslv2_server_verify": 5, "sslv2_server_finished": 6,
       "sslv2_request_certificate": 7, "sslv2_client_certificate": 8}
CHECKED = ("tls.weak_version", "tls.self_signed_certificate", "tls.expired_certificate",
           "tls.certificate_not_yet_valid")

ours = {k: C() for k in KEYS}
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        et = rec.get("event_type")
        if et == "anomaly" and rec["anomaly"]["event"] in CHECKED:
            ours["anomaly"][rec["anomaly"]["event"]] += 1
        if et != "tls":
            continue
        for side in ("request", "response"):
            p = rec["tls"].get(side)
            if not p:
                continue
            if p["function"] == 21:
                ours["alert"][(p["level"], p["description"])] += 1
                continue
            for m in p.get("messages", []):
                ours["type"][MSG.get(m, m)] += 1
            for k, o in (("sni", "sni"), ("ja3", "ja3"), ("ja3_string", "ja3_full"),
                         ("ja3s", "ja3s"), ("ja3s_string", "ja3s_full")):
                if k in p:
                    ours[o][p[k]] += 1
            c = p.get("certificate")
            if c and c.get("chain_length"):
                ours["cert"][(c.get("subject_cn"), c.get("subject_o"), c.get("issuer_cn"),
                              c.get("issuer_o"), int(c["serial"], 16) if "serial" in c else None,
                              c.get("not_before"), c.get("not_after"))] += 1

def values(o, key):
    return [d[key] for d in dicts(o) if key in d and not isinstance(d[key], (dict, list))]

def first_value(o, key):
    v = values(o, key)
    if v:
        return v[0]
    lists = [d[key] for d in dicts(o) if isinstance(d.get(key), list)]
    return lists[0][0] if lists and lists[0] and not isinstance(lists[0][0], (dict, list)) else None

def iso(s):
    t = calendar.timegm(time.strptime(s, "%b %d %H:%M:%S %Y GMT"))
    return t, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

def x509(hexbytes):
    der = bytes.fromhex(hexbytes.replace(":", ""))
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer",
                          "-serial", "-startdate", "-enddate", "-nameopt",
                          "sep_multiline,utf8,-esc_msb,sname"],
                         input=der, capture_output=True).stdout.decode("utf-8", "replace")
    info, cur = {"subject": {}, "issuer": {}}, None
    for line in out.splitlines():
        if line in ("subject=", "issuer="):
            cur = line[:-1]
        elif line.startswith("    ") and cur and "=" in line:
            k, v = line.strip().split("=", 1)
            info[cur].setdefault(k, v)
        elif "=" in line:
            k, v = line.split("=", 1)
            info[k] = v
            cur = None
    return info

theirs = {k: C() for k in KEYS}
HRR = "cf:21:ad:74:e5:9a:61:11:be:1d:8c:02:1e:65:b8:91:c2:a2:11:16:7a:bb:8c:5e:07:9e:09:e2:c8:a8:33:9c"
with open(tshark, encoding="utf-8", errors="replace") as fh:
    frames = json.load(fh)
for fr in frames:
    layers = fr["_source"]["layers"]
    t = float(first_value(layers.get("frame", {}), "frame.time_epoch") or 0)
    tls = layers.get("tls")
    if tls is None:
        continue
    for k, o in (("tls.handshake.extensions_server_name", "sni"), ("tls.handshake.ja3", "ja3"),
                 ("tls.handshake.ja3_full", "ja3_full"), ("tls.handshake.ja3s", "ja3s"),
                 ("tls.handshake.ja3s_full", "ja3s_full")):
        for v in values(tls, k):
            theirs[o][v] += 1
    for d in dicts(tls):
        if "tls.alert_message.level" in d and "tls.alert_message.desc" in d:
            theirs["alert"][(int(d["tls.alert_message.level"]), int(d["tls.alert_message.desc"]))] += 1
        if "tls.handshake.type" not in d:
            continue
        ht = int(d["tls.handshake.type"])
        theirs["type"][ht] += 1
        v2 = str(d.get("tls.record.version", "")).lower() == "0x0002"
        if ht == 2 or (v2 and ht == 4):
            ver = first_value(d, "tls.handshake.extensions.supported_version") \
                or first_value(d, "tls.handshake.version")
            if ver is not None and str(first_value(d, "tls.handshake.random")).lower() != HRR \
                    and int(ver, 16) in (0x0002, 0x0300, 0x0301, 0x0302):
                theirs["anomaly"]["tls.weak_version"] += 1
        der = first_value(d, "tls.handshake.certificate")
        if der is None:
            continue
        x = x509(der)
        nb, nbs = iso(x["notBefore"])
        na, nas = iso(x["notAfter"])
        theirs["cert"][(x["subject"].get("CN"), x["subject"].get("O"), x["issuer"].get("CN"),
                        x["issuer"].get("O"), int(x["serial"], 16), nbs, nas)] += 1
        if x["subject"] == x["issuer"]:
            theirs["anomaly"]["tls.self_signed_certificate"] += 1
        if na < int(t):
            theirs["anomaly"]["tls.expired_certificate"] += 1
        elif nb > int(t):
            theirs["anomaly"]["tls.certificate_not_yet_valid"] += 1

problems = []
for k in KEYS:
    a, b = ours[k], theirs[k]
    d = {x: (a[x], b[x]) for x in sorted(set(a) | set(b), key=str) if a[x] != b[x]}
    if d:
        problems.append((k, d))
summary = (f"{sum(ours['type'].values())} handshake messages in {len(ours['type'])} types, "
           f"{sum(ours['ja3'].values())} JA3, {sum(ours['cert'].values())} certificates, "
           f"{sum(ours['alert'].values())} alerts, {sum(ours['anomaly'].values())} anomalies")
if not problems:
    print(f"ok   {name}: {summary}")
    sys.exit(0)
reason = KNOWN.get(name)
print(f"{'known' if reason else 'FAIL '} {name}: {summary}")
if reason:
    print(f"     documented: {reason}")
for k, d in problems:
    print(f"     {k} (ours, tshark): {d}")
sys.exit(0 if reason else 1)
PYEOF
done
exit $status
