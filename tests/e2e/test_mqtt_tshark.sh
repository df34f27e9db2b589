#!/usr/bin/env bash
# Differential test: MQTT control packets, quaywatch's event log vs tshark.
#
# For every capture in $QW_CORPUS/pcaps/mqtt/ (and any mixed-plant capture tshark finds MQTT in):
#   ours:   `quaywatch analyze --events`; each "mqtt" record's "request", "response",
#           "release" (PUBREL) and "complete" (PUBCOMP) object is one control packet, keyed by
#           its "function" (the packet type).
#   tshark: `-T fields -e mqtt.msgtype ...`; a frame holding several packets lists one value per
#           packet (aggregated with a separator that never occurs in the values compared).
# Compared exactly: packets per type, the multiset of topics (PUBLISH topic names and
# SUBSCRIBE/UNSUBSCRIBE filters), of non-empty client ids, of CONNACK return/reason codes, of
# SUBACK codes and of packet identifiers.
# We detect MQTT by payload on any port, tshark on 1883; the ports of every flow we decoded are
# handed to tshark with `-d tcp.port==P,mqtt`.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN below), 1 otherwise,
# 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff mqtt

files=("$QW_CORPUS"/pcaps/mqtt/*.pcap*)
# and the mixed-plant captures in which tshark finds MQTT (lib.sh corpus_with)
mapfile -t more < <(corpus_with mqtt | grep '^mixed-plant/')
add_corpus_files "${more[@]}"

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
    if r.get("event_type") == "mqtt" and r.get("dest_port") != 1883:
        ports.add(r["dest_port"])
print(" ".join(str(p) for p in sorted(ports)))' "$work/ev.json"); do
        decode_as+=(-d "tcp.port==$p,mqtt")
    done
    tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "${decode_as[@]}" -Y mqtt -T fields \
        -E separator=/t -E occurrence=a -E aggregator=$'\x1e' \
        -e mqtt.msgtype -e mqtt.topic -e mqtt.clientid -e mqtt.conack.val \
        -e mqtt.connack.reason_code -e mqtt.suback.qos -e mqtt.suback.reason_code \
        -e mqtt.msgid >"$work/tshark.txt" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.txt" <<'PYEOF' || status=1
import collections, json, sys

name, events, tshark = sys.argv[1:4]

# Captures whose counts may differ, each with the exact reason; None accepts any difference.
# Every other capture must agree exactly.
KNOWN = {}

C = collections.Counter
ours = {k: C() for k in ("type", "topic", "client_id", "connack", "suback", "packet_id")}
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        if rec.get("event_type") != "mqtt":
            continue
        for side in ("request", "response", "release", "complete"):
            p = rec["mqtt"].get(side)
            if p is None:
                continue
            ours["type"][p["function"]] += 1
            if "topic" in p:
                ours["topic"][p["topic"]] += 1
            for flt in p.get("filters", []):
                ours["topic"][flt["topic"]] += 1
            if p.get("client_id"):
                ours["client_id"][p["client_id"]] += 1
            if p["function"] == 2 and "reason_code" in p:
                ours["connack"][p["reason_code"]] += 1
            if p["function"] == 9:
                for c in p.get("codes", []):
                    ours["suback"][c["code"]] += 1
            if "packet_id" in p:
                ours["packet_id"][p["packet_id"]] += 1

SEP = "\x1e"
theirs = {k: C() for k in ours}
def vals(col):
    return [v for v in col.split(SEP) if v != ""]
with open(tshark, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        cols = (line.rstrip("\n").split("\t") + [""] * 8)[:8]
        for v in vals(cols[0]):
            theirs["type"][int(v)] += 1
        for v in vals(cols[1]):
            theirs["topic"][v] += 1
        for v in vals(cols[2]):
            theirs["client_id"][v] += 1
        for v in vals(cols[3]) + vals(cols[4]):
            theirs["connack"][int(v, 0)] += 1
        for v in vals(cols[5]) + vals(cols[6]):
            theirs["suback"][int(v, 0)] += 1
        for v in vals(cols[7]):
            theirs["packet_id"][int(v)] += 1

problems = []
for k in ours:
    a, b = ours[k], theirs[k]
    d = {x: (a[x], b[x]) for x in sorted(set(a) | set(b), key=str) if a[x] != b[x]}
    if d:
        problems.append((k, d))
if not problems:
    print(f"ok   {name}: {sum(ours['type'].values())} packets in {len(ours['type'])} types, "
          f"{sum(ours['topic'].values())} topics, {sum(ours['client_id'].values())} client ids")
    sys.exit(0)
reason = KNOWN.get(name)
print(f"{'known' if reason else 'FAIL '} {name}")
if reason:
    print(f"     documented: {reason}")
for k, d in problems:
    print(f"     {k} (ours, tshark): {d}")
sys.exit(0 if reason else 1)
PYEOF
done
exit $status
