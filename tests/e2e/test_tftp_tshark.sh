#!/usr/bin/env bash
# Differential test: TFTP requests and transfers, quaywatch's event log vs tshark.
#
# Captures: every corpus capture in which tshark finds TFTP (corpus_with tftp: only
# tftp/ndpi_tftp.pcapng today); a time-sorted copy of each (reordercap, into the temp dir: the
# nDPI capture is several captures merged, its clock jumps back 4272 s, and flows are aged by
# the capture's clock, not their own packet times: both orders must agree); and a
# synthetic capture written by tests/data/tftp/gen_tftp.py (a write with OACK blksize 1428 +
# tsize, a read of an exact multiple of 512 bytes ending with an empty block, ERROR 1 from the
# server's new port, a retried request answered by ERROR 2 from port 69).
#   ours:   `quaywatch analyze --events`: "tftp" records with "request" (one per distinct
#           request, `retries` repeats) or "transfer" (one per transfer flow); "flow" records.
#   tshark: `tshark -Y tftp` (tshark follows a transfer's new ports by conversation) with
#           tftp.opcode, tftp.source_file / tftp.destination_file, tftp.type, tftp.option.*,
#           tftp.block, tftp.error.code and the UDP length (data bytes = udp.length - 12).
# Compared per capture:
#   requests: the multiset of (requester, opcode, file, mode, options, error code of an ERROR
#             sent back from port 69), ours counted 1 + retries times;
#   transfers: per conversation, the TFTP server's end (the end that did not send a request),
#             direction (who sends DATA, else who ACKs), distinct DATA blocks, their data
#             bytes, the ERROR code;
#   flows:    every flow quaywatch gave to tftp on a transfer's conversation has the TFTP
#             server (its address and new port) as its server (dest_ip/dest_port).
# Known differences (asserted as they are, so a change shows):
#   ndpi_tftp.pcapng frames 1-2: read requests with an empty file name (one with a run of NULs
#     before the mode). tshark decodes them; the probe refuses them (RFC 1350 requires a name,
#     and a NUL run is no request to trust), so those flows stay unclassified.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff
need_tool reordercap

caps=()
while IFS= read -r rel; do
    [ -n "$rel" ] || continue
    caps+=("$rel=$QW_CORPUS/pcaps/$rel")
    sorted="$work/sorted_$(basename "$rel")"
    reordercap "$QW_CORPUS/pcaps/$rel" "$sorted" >/dev/null 2>&1 || fail "reordercap $rel"
    caps+=("sorted:$rel=$sorted")
done < <(corpus_with tftp)
python3 "$QW_SRC/tests/data/tftp/gen_tftp.py" "$work/synthetic_tftp.pcap" || fail "gen_tftp.py"
caps+=("synthetic=$work/synthetic_tftp.pcap")

python3 - "$QW_BIN" "$work" "${caps[@]}" <<'EOF'
import collections, json, subprocess, sys
from qw_analyze import analyze_events

qw, tmp, caps = sys.argv[1], sys.argv[2], sys.argv[3:]
KNOWN_OPTS = {"blksize", "tsize", "timeout", "windowsize"}


def ep(ip, port):
    return f"{ip}:{port}"


def conv(a, b):
    return tuple(sorted((a, b)))


# The known differences of the corpus as it is (see the header): per capture, the tshark-only
# requests by requester.
KNOWN = {
    "tftp/ndpi_tftp.pcapng": {
        "requests": {ep("172.28.4.53", 54626), ep("172.28.4.53", 54632)},
    },
}


def opts_key(pairs):
    out = []
    for name, value in pairs:
        n = name.lower()
        out.append((n, int(value)) if n in KNOWN_OPTS else (name, None))
    return tuple(sorted(out, key=str))


def tshark_view(path):
    fields = ["ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
              "udp.length", "tftp.opcode", "tftp.source_file", "tftp.destination_file",
              "tftp.type", "tftp.option.name", "tftp.option.value", "tftp.block",
              "tftp.error.code"]
    cmd = ["tshark", "-r", path, "-Y", "tftp", "-T", "json"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    pkts = []
    for p in json.loads(out or "[]"):
        L = p["_source"]["layers"]
        g = lambda k, d="": (L.get(k) or [d])[0]
        src = ep(g("ip.src") or g("ipv6.src"), g("udp.srcport"))
        dst = ep(g("ip.dst") or g("ipv6.dst"), g("udp.dstport"))
        pkts.append({"src": src, "dst": dst, "sport": int(g("udp.srcport", "0")),
                     "op": int(g("tftp.opcode", "0")), "len": int(g("udp.length", "0")) - 12,
                     "file": g("tftp.source_file") or g("tftp.destination_file"),
                     "mode": g("tftp.type"), "block": int(g("tftp.block", "0")),
                     "opts": list(zip(L.get("tftp.option.name", []), L.get("tftp.option.value", []))),
                     "err": int(g("tftp.error.code", "0"))})
    requesters = {p["src"] for p in pkts if p["op"] in (1, 2)}
    req_err, convs = {}, collections.OrderedDict()
    for p in pkts:
        if p["op"] in (1, 2):
            continue
        c = conv(p["src"], p["dst"])
        if p["op"] == 5 and p["sport"] == 69 and p["dst"] in requesters and c not in convs:
            req_err.setdefault(p["dst"], p["err"])  # answers the request on its own flow
            continue
        convs.setdefault(c, []).append(p)
    requests = collections.Counter()
    empty = set()
    for p in pkts:
        if p["op"] not in (1, 2):
            continue
        if not p["file"]:
            empty.add(p["src"])
            continue
        requests[(p["src"], p["op"], p["file"], p["mode"].lower(), opts_key(p["opts"]),
                  req_err.get(p["src"]))] += 1
    transfers = {}
    for c, ps in convs.items():
        ends = [e for e in c if e not in requesters]
        server = ends[0] if len(ends) == 1 else ps[0]["src"]
        requester = c[0] if c[1] == server else c[1]
        blocks = {}
        direction = "unknown"
        for p in ps:
            if p["op"] == 3:
                blocks.setdefault(p["block"], p["len"])
                direction = "read" if p["src"] == server else "write"
        if direction == "unknown":
            for p in ps:
                if p["op"] == 4:
                    direction = "read" if p["src"] == requester else "write"
                    break
        errs = [p["err"] for p in ps if p["op"] == 5]
        transfers[c] = {"server": server, "direction": direction, "blocks": len(blocks),
                        "bytes": sum(blocks.values()), "error": errs[0] if errs else None}
    return requests, transfers, empty


def our_view(ev):
    requests, transfers, flows = collections.Counter(), {}, collections.defaultdict(list)
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            et = r.get("event_type")
            if et == "flow" and r.get("app_proto") == "tftp":
                a, b = ep(r["src_ip"], r["src_port"]), ep(r["dest_ip"], r["dest_port"])
                flows[conv(a, b)].append(b)
            if et != "tftp":
                continue
            t = r["tftp"]
            cli, srv = ep(r["src_ip"], r["src_port"]), ep(r["dest_ip"], r["dest_port"])
            if "request" in t:
                q = t["request"]
                pairs = list(q.get("options", {}).items()) + [(n, None) for n in q.get("unknown_options", [])]
                key = (cli, q["opcode"], q["filename"], q["mode"],
                       tuple(sorted(((k, v) for k, v in pairs), key=str)),
                       t.get("response", {}).get("error_code"))
                requests[key] += 1 + q["retries"]
            if "transfer" in t:
                x = t["transfer"]
                transfers[conv(cli, srv)] = {"server": srv, "direction": x["direction"],
                                             "blocks": x["blocks"], "bytes": x["bytes"],
                                             "error": x.get("error_code")}
    return requests, transfers, flows


status = 0
for item in caps:
    name, path = item.split("=", 1)
    ev = analyze_events(qw, path, tmp)
    if ev is None:
        status = 1
        continue
    t_req, t_xfer, t_empty = tshark_view(path)
    o_req, o_xfer, o_flows = our_view(ev)
    known = KNOWN.get(name[7:] if name.startswith("sorted:") else name, {})
    notes, problems = [], []
    if t_empty != known.get("requests", set()):
        problems.append(f"requests with an empty file name: {sorted(t_empty)}, known {sorted(known.get('requests', set()))}")
    elif t_empty:
        notes.append(f"{len(t_empty)} empty-name requests refused (known)")
    if o_req != t_req:
        problems.append(f"requests: ours-only {dict(o_req - t_req)}, tshark-only {dict(t_req - o_req)}")
    if o_xfer != t_xfer:
        for c in sorted(set(o_xfer) | set(t_xfer)):
            if o_xfer.get(c) != t_xfer.get(c):
                problems.append(f"transfer {c}: ours {o_xfer.get(c)}, tshark {t_xfer.get(c)}")
    for c, v in t_xfer.items():
        servers = o_flows.get(c, [])
        if not servers or any(s != v["server"] for s in servers):
            problems.append(f"flows of {c}: servers {servers}, want {v['server']}")
    if problems:
        status = 1
        print(f"FAIL {name}")
        for p in problems:
            print(f"     {p}")
    else:
        blocks = sum(v["blocks"] for v in o_xfer.values())
        print(f"ok   {name}: {sum(o_req.values())} requests, {len(o_xfer)} transfers, "
              f"{blocks} blocks, transfer flows served by the TFTP server"
              + (f"; {'; '.join(notes)}" if notes else ""))
sys.exit(status)
EOF
