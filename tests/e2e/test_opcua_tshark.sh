#!/usr/bin/env bash
# Differential test: OPC UA binary messages, quaywatch's event log vs tshark.
#
# For every capture in $QW_CORPUS/pcaps/opcua/ (and any mixed-plant capture tshark finds OPC UA
# in):
#   ours:   `quaywatch analyze --events`; each "opcua" record's "request" and "response" object
#           is one message; a message of N chunks counts N times (its "chunks" member).
#   tshark: `-T fields -e opcua.transport.type -e opcua.servicenodeid.numeric ...`; a frame
#           carrying several chunks lists one value per chunk, comma-separated.
# Compared exactly: chunks per message type (HEL ACK ERR RHE OPN MSG CLO), messages per service
# encoding id (our "function" where it is not 0, tshark's opcua.servicenodeid.numeric), ERR
# codes, and the sets of ApplicationUri, ProductUri and EndpointUrl strings both sides decoded
# (HEL endpoint, GetEndpoints/CreateSession/FindServers fields; tshark's opcua.EndpointUrl and
# opcua.transport.endpoint).
# We detect OPC UA by payload on any port; tshark only on 4840. The ports of every flow we
# recognised are handed to tshark with `-d tcp.port==P,opcua` so both decode the same flows.
# Encrypted chunks: tshark decodes their ciphertext as a sequence header but finds no service
# node id in it (checked on icsnpp_open62541_client-server_encrypted.pcapng: 8 MSG and 1 CLO
# chunks with random sequence numbers and no servicenodeid); we report them `encrypted` with
# function 0, so both sides count the same ids.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN below), 1 otherwise,
# 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff opcua

files=("$QW_CORPUS"/pcaps/opcua/*.pcap*)
# and the mixed-plant captures in which tshark finds OPC UA (lib.sh corpus_with)
mapfile -t more < <(corpus_with opcua | grep '^mixed-plant/')
add_corpus_files "${more[@]}"

status=0
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    # Server ports of the flows we decoded, for tshark's decode-as.
    decode_as=()
    for p in $(python3 -c '
import json, sys
ports = set()
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("event_type") == "opcua" and r.get("dest_port") != 4840:
        ports.add(r["dest_port"])
print(" ".join(str(p) for p in sorted(ports)))' "$work/ev.json"); do
        decode_as+=(-d "tcp.port==$p,opcua")
    done
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "${decode_as[@]}" -Y opcua -T fields \
        -E separator=/t -E occurrence=a -E aggregator=$'\x1e' \
        -e opcua.transport.type -e opcua.servicenodeid.numeric -e opcua.transport.error \
        -e opcua.ApplicationUri -e opcua.ProductUri -e opcua.EndpointUrl \
        -e opcua.transport.endpoint >"$work/tshark.txt" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.txt" <<'PYEOF' || status=1
import collections, json, sys

name, events, tshark = sys.argv[1:4]

# Captures whose counts may differ, each with the exact reason, and the expected difference
# (ours - tshark) per key, or None for any. Every other capture must agree exactly.
KNOWN = {}

ours_type = collections.Counter()
ours_svc = collections.Counter()
ours_err = collections.Counter()
ours_str = {"app": set(), "product": set(), "url": set()}

def add_app(d):
    if "application_uri" in d:
        ours_str["app"].add(d["application_uri"])
    if "product_uri" in d:
        ours_str["product"].add(d["product_uri"])

with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        if rec.get("event_type") != "opcua":
            continue
        for side in ("request", "response"):
            m = rec["opcua"].get(side)
            if m is None:
                continue
            ours_type[m["message_type"]] += m.get("chunks", 1)
            if m["function"]:
                ours_svc[m["function"]] += 1
            if m["message_type"] == "ERR" and "error" in m:
                ours_err[m["error"]] += 1
            if "endpoint_url" in m:
                ours_str["url"].add(m["endpoint_url"])
            if "client_description" in m:
                add_app(m["client_description"])
            for e in m.get("endpoints", []):
                add_app(e)
                if "endpoint_url" in e:
                    ours_str["url"].add(e["endpoint_url"])
            for s in m.get("servers", []):
                add_app(s)

SEP = "\x1e"  # tshark's aggregator for several values of one field in a frame
theirs_type = collections.Counter()
theirs_svc = collections.Counter()
theirs_err = collections.Counter()
theirs_str = {"app": set(), "product": set(), "url": set()}
with open(tshark, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        cols = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
        for v in cols[0].split(SEP):
            if v:
                theirs_type[v] += 1
        for v in cols[1].split(SEP):
            if v:
                theirs_svc[int(v, 0)] += 1
        for v in cols[2].split(SEP):
            if v:
                theirs_err[int(v, 0)] += 1
        for key, col in (("app", 3), ("product", 4), ("url", 5), ("url", 6)):
            for v in cols[col].split(SEP):
                if v:
                    theirs_str[key].add(v)

problems = []
for label, a, b in (("message types", ours_type, theirs_type),
                    ("service ids", ours_svc, theirs_svc),
                    ("ERR codes", ours_err, theirs_err)):
    d = {k: (a[k], b[k]) for k in sorted(set(a) | set(b), key=str) if a[k] != b[k]}
    if d:
        problems.append((label, d))
for key in ("app", "product", "url"):
    mo, mt = ours_str[key] - theirs_str[key], theirs_str[key] - ours_str[key]
    if mo or mt:
        problems.append((key + " strings", {"only ours": sorted(mo), "only tshark": sorted(mt)}))

if not problems:
    print(f"ok   {name}: {sum(ours_type.values())} chunks "
          f"({', '.join(f'{k} {v}' for k, v in sorted(ours_type.items()))}), "
          f"{sum(ours_svc.values())} service messages in {len(ours_svc)} ids, "
          f"{len(ours_str['app'])} application URIs, {len(ours_str['url'])} endpoint URLs")
    sys.exit(0)
reason, expected = KNOWN.get(name, (None, {}))
known = reason is not None and expected is None
print(f"{'known' if known else 'FAIL '} {name}")
if reason is not None:
    print(f"     documented: {reason}")
for label, d in problems:
    print(f"     {label}: {d}")
sys.exit(0 if known else 1)
PYEOF
done
exit $status
