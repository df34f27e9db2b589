#!/usr/bin/env bash
# Differential test: DNS, mDNS, LLMNR and NetBIOS name service messages, quaywatch vs tshark.
#
# Captures: every corpus capture in which quaywatch's flow decoder sees a flow on port 53 (UDP
# or TCP) or a UDP flow on 5353, 5355 or 137 (the ports tshark's dissectors are registered on;
# the flow decoder itself is compared with tshark's conversations by test_flows_vs_tshark.sh,
# and asking tshark about each of the ~280 captures would take minutes), plus a 2-minute
# synthetic terminal capture (`quaywatch synth`: DNS lookups).
#
# Compared per capture, as multisets over all messages (a record holds a query, a response, or
# both; each is one message):
#   dns, mdns, llmnr: (protocol; ID; QR; opcode; RCODE of responses, header bits only; the four
#       section counts; question names and types in order; the A and AAAA addresses of every
#       section, sorted)
#       tshark -Y "dns or mdns or llmnr": frame.protocols (the last of dns/mdns/llmnr), dns.id,
#       dns.flags.response, dns.flags.opcode, dns.flags.rcode, dns.count.queries,
#       dns.count.answers, dns.count.auth_rr, dns.count.add_rr, dns.qry.name, dns.qry.type,
#       dns.a, dns.aaaa. tshark writes the root name as "<Root>"; we write ".".
#   nbns: (ID; R; opcode; RCODE of responses; the four counts; every name as NAME<suffix> in
#       message order; NB addresses in order)
#       tshark -Y nbns: nbns.id, nbns.flags.response, nbns.flags.opcode, nbns.flags.rcode,
#       nbns.count.*, nbns.name (its " (Workstation/Redirector)"-style comment removed),
#       nbns.addr.
# Identity facts: every `asset` record these parsers write must carry a name tshark shows in
# that capture (record owner names, PTR targets, SRV owners for services; NetBIOS names), and
# captures listed in FACTS must give exactly those facts.
# One tshark row is one message: DNS over TCP frames holding several messages would be counted
# as one (the corpus has no DNS over TCP; the unit tests cover it). Only records on the
# protocol's own port are compared (tshark decodes by port, we by payload): records elsewhere
# are printed, not compared.
#
# Exit 0 when every capture agrees (or disagrees only as documented in KNOWN), 1 otherwise, 77
# (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

extra=()
if "$QW_BIN" synth --minutes 2 --seed 1 -o "$work/synth_terminal.pcap" >/dev/null 2>&1; then
    extra+=("$work/synth_terminal.pcap")
else
    echo "note: 'quaywatch synth' failed; the synthetic capture is not compared"
fi

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" "${extra[@]}" <<'EOF'
import collections, json, os, re, subprocess, sys

qw, corpus, tmp = sys.argv[1:4]
extra = sys.argv[4:]
PORT = {"dns": 53, "mdns": 5353, "llmnr": 5355, "nbns": 137}

# Captures whose messages may differ: the exact reason and the exact number of messages only
# tshark / only we report. Every other capture must agree exactly.
KNOWN = {
}

# Exact identity facts (ip, attribute, value), checked by hand against tshark's decode.
FACTS = {
    "zeek_mdns.pcap": {
        # frames 3/20/24 (IPv6) and 4/19/23 (IPv4): announcements whose AAAA / A record and
        # reverse PTR carry the sender's own address
        ("fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4", "hostname",
         "johanna-QEMU-Virtual-Machine.local"),
        ("10.0.2.7", "hostname", "johanna-QEMU-Virtual-Machine.local"),
    },
    "icsnpp_open62541_discover_getendpoints_discover_urls.pcapng": {
        # frame 1: A records for Maui-16714 and for the LDS service instance; one of the five
        # addresses is the sender's
        ("192.168.224.105", "hostname", "Maui-16714"),
        ("192.168.224.105", "mdns_service", "LDS-Maui-16714._opcua-tcp._tcp.local"),
    },
    "icsnpp_profinet_io_cm_mixed_2_dcp_dhcp.pcapng": {
        # NBNS registrations from 192.168.1.1 (NB address = sender): KW-VLIPC<00>/<20> unique,
        # WORKGROUP<00> group. LLMNR: queries only.
        ("192.168.1.1", "netbios_name", "KW-VLIPC"),
        ("192.168.1.1", "hostname", "KW-VLIPC"),
        ("192.168.1.1", "netbios_domain", "WORKGROUP"),
    },
    "quickdraw_CL5000EIP-IPAddressChangeAttempt.pcap": {
        # three positive name query responses from the name's owner
        ("192.168.10.105", "netbios_name", "DBLICENSESERVER"),
        ("192.168.10.105", "hostname", "DBLICENSESERVER"),
    },
    "quickdraw_CL5000EIP-RemoteModeChangeAttempt.pcap": {
        ("192.168.10.21", "netbios_name", "WIN2K3LAB021"),
        ("192.168.10.21", "hostname", "WIN2K3LAB021"),
    },
    # answers about third-party addresses only
    "zeek_dns53.pcap": set(),
    "zeek_modbusSmall.pcap": set(),
    "zeek_NTP_sync.pcap": set(),
    # queries only
    "malcolm_Telnet.pcap": set(),
    "iti_Profinet_Failed.pcap": set(),
    "bsap-ip_example.pcap": set(),
}


def analyze(path):
    ev = os.path.join(tmp, "cap.json")
    db = os.path.join(tmp, "cap.db")
    r = subprocess.run([qw, "analyze", "--db", db, "--events", ev, path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    if r.returncode not in (0, 3):
        return None, r.stderr.strip()[-300:]
    with open(ev, encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    os.remove(ev)
    return recs, None


def port_of(rec, proto):
    return PORT[proto] in (rec.get("src_port"), rec.get("dest_port"))


def watched(rec):
    if rec.get("proto") == "TCP":
        return port_of(rec, "dns")
    return rec.get("proto") == "UDP" and any(port_of(rec, p) for p in PORT)


def tshark(path, flt, fields):
    cmd = ["tshark", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=/t",
           "-E", "aggregator=\x1f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace").stdout
    rows = []
    for line in out.splitlines():
        cols = (line.split("\t") + [""] * len(fields))[:len(fields)]
        rows.append([c.split("\x1f") if c else [] for c in cols])
    return rows


def first(v):
    return v[0] if v else ""


DNS_F = ["frame.protocols", "dns.id", "dns.flags.response", "dns.flags.opcode", "dns.flags.rcode",
         "dns.count.queries", "dns.count.answers", "dns.count.auth_rr", "dns.count.add_rr",
         "dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa", "dns.resp.name",
         "dns.ptr.domain_name"]
NBNS_F = ["nbns.id", "nbns.flags.response", "nbns.flags.opcode", "nbns.flags.rcode",
          "nbns.count.queries", "nbns.count.answers", "nbns.count.auth_rr", "nbns.count.add_rr",
          "nbns.name", "nbns.addr"]


def dns_ours(proto, side):
    qr = side["qr"]
    recs = side.get("answers", []) + side.get("authorities", []) + side.get("additionals", [])
    names = tuple("<Root>" if q["name"] == "." else q["name"] for q in side.get("questions", []))
    return (proto, side["id"], int(qr), side["function"], side["flags"] & 0xF if qr else None,
            side["questions_count"], side["answers_count"], side["authorities_count"],
            side["additionals_count"], names, tuple(q["type"] for q in side.get("questions", [])),
            tuple(sorted(r["data"] for r in recs if r["type"] == 1 and "data" in r)),
            tuple(sorted(r["data"] for r in recs if r["type"] == 28 and "data" in r)))


def nb_name(o):
    n = f"{o.get('name', '')}<{o.get('suffix', 0):02x}>"
    return n + "." + o["scope"] if "scope" in o else n


def nbns_ours(side):
    recs = side.get("answers", []) + side.get("authorities", []) + side.get("additionals", [])
    names = tuple(nb_name(o) for o in side.get("questions", []) + recs)
    addrs = tuple(a["address"] for r in recs for a in r.get("addresses", []))
    counts = [len(side.get(k, [])) for k in ("questions", "answers", "authorities",
                                               "additionals")]
    return (side["id"], int(side["response"]), side["function"],
            side["flags"] & 0xF if side["response"] else None, *counts, names, addrs)


files = []
for root, _, names in os.walk(corpus):
    for n in names:
        if ".pcap" in n:
            files.append(os.path.join(root, n))
files.sort()
files += extra

status = 0
compared = 0
for path in files:
    name = os.path.basename(path)
    recs, err = analyze(path)
    if recs is None:
        print(f"FAIL {name}: quaywatch analyze failed: {err}")
        status = 1
        continue
    if not any(r.get("event_type") == "flow" and watched(r) for r in recs):
        continue
    compared += 1
    ours = collections.Counter()
    other_ports = collections.Counter()
    facts = set()
    for r in recs:
        t = r.get("event_type")
        if t in PORT:
            if not port_of(r, t) or (t != "dns" and r.get("proto") != "UDP"):
                other_ports[t] += 1
                continue
            for key in ("request", "response"):
                side = r[t].get(key)
                if side is not None:
                    ours[nbns_ours(side) if t == "nbns" else dns_ours(t, side)] += 1
        elif t == "asset" and r["asset"]["source"] in PORT:
            a = r["asset"]
            facts.add((a["ip"], a["attribute"], a["value"]))

    theirs = collections.Counter()
    seen = set()
    # One tshark run for both filters: a frame is in "dns or mdns or llmnr" when one of those
    # protocol fields is in its tree (-e PROTO prints its item's label), in "nbns" when nbns is.
    rows = tshark(path, "dns or mdns or llmnr or nbns", ["dns", "mdns", "llmnr", "nbns"] + DNS_F + NBNS_F)
    dns_rows = [r[4:4 + len(DNS_F)] for r in rows if r[0] or r[1] or r[2]]
    nbns_rows = [r[4 + len(DNS_F):] for r in rows if r[3]]
    for row in dns_rows:
        layers = first(row[0]).split(":")
        proto = [p for p in layers if p in ("dns", "mdns", "llmnr")][-1]
        qr = int(first(row[2]))
        theirs[(proto, int(first(row[1]), 16), qr, int(first(row[3])),
                int(first(row[4])) if qr else None,
                int(first(row[5])), int(first(row[6])), int(first(row[7])), int(first(row[8])),
                tuple(row[9]), tuple(int(x) for x in row[10]), tuple(sorted(row[11])),
                tuple(sorted(row[12])))] += 1
        seen.update(row[13] + row[14])
    for row in nbns_rows:
        qr = int(first(row[1]))
        names = tuple(re.sub(r" \(.*\)$", "", n) for n in row[8])
        theirs[(int(first(row[0]), 16), qr, int(first(row[2])), int(first(row[3])) if qr else None,
                int(first(row[4])), int(first(row[5])), int(first(row[6])), int(first(row[7])),
                names, tuple(row[9]))] += 1
        seen.update(re.sub(r"<..>.*$", "", n) for n in names)

    problems = []
    only_ours, only_theirs = ours - theirs, theirs - ours
    if only_ours or only_theirs:
        problems.append(f"messages: ours {sum(ours.values())}, tshark {sum(theirs.values())}")
        for k, v in list(only_ours.items())[:5]:
            problems.append(f"  only ours   x{v}: {k}")
        for k, v in list(only_theirs.items())[:5]:
            problems.append(f"  only tshark x{v}: {k}")
    for ip, attr, value in sorted(facts):
        if value not in seen:
            problems.append(f"fact {attr}={value!r} on {ip}: no such name in tshark's decode")
    if name in FACTS and facts != FACTS[name]:
        problems.append(f"facts: ours {sorted(facts)}, expected {sorted(FACTS[name])}")

    by_proto = collections.Counter(k[0] if isinstance(k[0], str) else "nbns" for k in ours.elements())
    note = f"; elsewhere: {dict(other_ports)}" if other_ports else ""
    if not problems:
        print(f"ok   {name}: {sum(ours.values())} messages {dict(by_proto)}, "
              f"{len(facts)} identity facts{note}")
        continue
    reason, expected = KNOWN.get(name, (None, None))
    known = (reason is not None and not any(p.startswith("fact") for p in problems) and
             expected == {"only_tshark": sum(only_theirs.values()),
                          "only_ours": sum(only_ours.values())})
    print(f"{'known' if known else 'FAIL '} {name}{note}")
    if reason:
        print(f"     documented: {reason}; expected: {expected}")
    for p in problems:
        print(f"     {p}")
    if not known:
        status = 1

print(f"{compared} captures compared")
sys.exit(status if compared else 1)
EOF
