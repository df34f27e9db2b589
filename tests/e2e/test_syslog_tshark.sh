#!/usr/bin/env bash
# Differential test: syslog messages, quaywatch's event log ("syslog" records, from
# src/proto/syslog.c; not quaywatch's own syslog output, which test_syslog.sh tests) vs tshark.
#
# Captures: every corpus capture that carries syslog, from a scan of the whole corpus for TCP
# and UDP payloads that start with `<PRI>` or `LEN <PRI>` (tshark itself only looks at UDP 514):
# syslog/ndpi_syslog.pcap (UDP 514, some in PPPoE and VLANs, and one RFC 5424 message on TCP
# 52173) and syslog/zeek_tcp-syslog.pcap (TCP 514, which tshark calls rsh: RFC 6587 syslog,
# octet counting and LF framing mixed). No other capture carries any.
#
#   ours:   `quaywatch analyze --events`: each "syslog" record is one message; "asset" records
#           from syslog are the hostname facts.
#   tshark: `tshark -Y syslog -T json` with syslog.facility, syslog.level, syslog.version,
#           syslog.timestamp, syslog.timestamp_rfc3164, syslog.hostname, syslog.appname,
#           syslog.procid, syslog.msgid and syslog.msg; every TCP port our records name is
#           decoded as syslog (`-d tcp.port==P,syslog`), as tshark 4.0 has no TCP default.
# Messages are matched per sender address in capture order. Compared per message: facility
# and severity; with an RFC 5424 header (tshark gives syslog.version): the format, version,
# timestamp (as an instant), hostname, app name, procid and msgid; with an RFC 3164 header
# tshark parsed (syslog.timestamp_rfc3164): the timestamp, hostname, the tag, the pid; and the
# message text, which must be the end of tshark's syslog.msg (cut to 256 bytes); the change
# the sender reports (docs/events/syslog.md) exactly when tshark's text carries one of the Cisco
# SYS mnemonics that report one, plainly or in Cisco's XML form (the corpus has eight). Hostname
# facts: every host name tshark decodes that is a name (not an address literal or "-") is a
# fact of ours about the sender.
#
# Known differences, counted and printed, not failures:
#   - tshark 4.0 has no RFC 6587 octet counting: a TCP segment that starts `LEN <PRI>` has no
#     facility in tshark ("(unknown)"); ours decode it (zeek_tcp-syslog.pcap: 2 of 4).
#   - tshark 4.0 puts everything after PROCID into syslog.msgid (RFC 5424) and everything after
#     the tag into it (RFC 3164, where the tag lands in syslog.procid): ours split MSGID,
#     structured data and MSG, and keep the tag as app_name and the pid as procid; compared
#     as such.
#   - tshark parses an RFC 3164 header only when a BSD timestamp comes first: Cisco sequence
#     numbers, `*` clocks, ISO dates, tags without a timestamp are header fields of ours
#     only; so are the host names (`logging origin-id`) of Cisco messages, which are facts of
#     ours that tshark has no field for.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff syslog

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF'
import collections, datetime, json, re, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = ["syslog/ndpi_syslog.pcap", "syslog/zeek_tcp-syslog.pcap"]
FIELDS = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "syslog.facility", "syslog.level",
          "syslog.version", "syslog.timestamp", "syslog.timestamp_rfc3164", "syslog.hostname",
          "syslog.appname", "syslog.procid", "syslog.msgid", "syslog.msg"]
HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CISCO_CHANGE = re.compile(r"(?:^|\s)%SYS-5-(CONFIG_I|CONFIG_P|RELOAD|RESTART):")
CISCO_XML_CHANGE = re.compile(r"<facility>SYS</facility><severity>5</severity>"
                              r"<msg-id>(CONFIG_I|CONFIG_P|RELOAD|RESTART)</msg-id>")


def f1(L, k, d=None):
    v = L.get(k)
    return v[0] if v else d


def real_hostname(h):
    """src/proto/syslog.c sl_real_hostname: a name worth a fact."""
    if not h or h == "-" or not HOST.match(h) or len(h) > 255:
        return False
    if not re.search(r"[A-Za-z]", h):
        return False
    return not all(c.isdigit() or c == "." for c in h)


def instant_5424(ts):
    """An RFC 5424 TIMESTAMP as seconds since the epoch, or None for NILVALUE."""
    if ts == "-":
        return None
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def instant_tshark(s):
    """tshark's syslog.timestamp text ("Mar  2, 2022 13:39:47.689392000 UTC")."""
    date, frac = s.replace(" UTC", "").rsplit(".", 1)
    t = datetime.datetime.strptime(" ".join(date.split()), "%b %d, %Y %H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + int(frac) / 1e9


def tshark_messages(path, tcp_ports):
    args = ["tshark", "-r", path, "-Y", "syslog", "-T", "json"]
    for p in sorted(tcp_ports):
        args += ["-d", f"tcp.port=={p},syslog"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return [p["_source"]["layers"] for p in json.loads(out or "[]")]


def compare(o, L):
    """Problems between our record `o` and tshark's layers `L` for one message."""
    bad = []
    def want(what, ours, theirs):
        if ours != theirs:
            bad.append(f"{what}: ours {ours!r}, tshark {theirs!r}")
    want("facility", o["facility"], int(f1(L, "syslog.facility")))
    want("severity", o["severity"], int(f1(L, "syslog.level")))
    if f1(L, "syslog.version") is not None:
        want("format", o["format"], "rfc5424")
        want("version", o.get("version"), int(f1(L, "syslog.version")))
        for k, t in (("hostname", "syslog.hostname"), ("app_name", "syslog.appname"),
                     ("procid", "syslog.procid")):
            want(k, o.get(k), f1(L, t))
        want("msgid", o.get("msgid"), (f1(L, "syslog.msgid") or "").split(" ")[0])
        ts, tts = o.get("timestamp"), f1(L, "syslog.timestamp")
        if tts is not None and (ts is None or abs(instant_5424(ts) - instant_tshark(tts)) > 1e-6):
            bad.append(f"timestamp: ours {ts!r}, tshark {tts!r}")
    elif f1(L, "syslog.timestamp_rfc3164") is not None:
        want("format", o["format"], "rfc3164")
        want("timestamp", o.get("timestamp"), f1(L, "syslog.timestamp_rfc3164"))
        want("hostname", o.get("hostname"), f1(L, "syslog.hostname"))
        want("tag", o.get("app_name"), f1(L, "syslog.procid"))
        rest = f1(L, "syslog.msgid") or ""
        if o.get("procid") is not None and not rest.startswith(f"[{o['procid']}]"):
            bad.append(f"pid: ours {o['procid']!r}, tshark's rest {rest[:20]!r}")
    msg, tmsg = o.get("message"), (f1(L, "syslog.msg") or "").rstrip("\r\n\0")
    # a change the sender reports: a Cisco SYS mnemonic of the table in tshark's text, plain
    # or in the XML form, and a record of ours that says which
    m = CISCO_CHANGE.search(tmsg) or CISCO_XML_CHANGE.search(tmsg)
    want("change", (o.get("change") or {}).get("message_id"),
         f"cisco SYS-5-{m.group(1)}" if m else None)
    if msg is not None:
        whole = not o.get("message_cut")
        if (whole and not tmsg.endswith(msg)) or (not whole and msg not in tmsg):
            bad.append(f"message: ours {msg[:40]!r}, tshark {tmsg[:60]!r}")
    return bad


status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    ours = collections.defaultdict(list)
    facts = set()
    tcp_ports = set()
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "asset" and rec["asset"]["source"] == "syslog":
                facts.add((rec["asset"]["ip"], rec["asset"]["attribute"], rec["asset"]["value"]))
            if et == "syslog":
                o = rec["syslog"]
                if rec["proto"] == "TCP":
                    tcp_ports.add(rec["dest_port"])
                # a flow's records, by its address pair (the sender may be its server end)
                ours[tuple(sorted((rec["src_ip"], rec["dest_ip"])))].append(o)
    pkts = tshark_messages(path, tcp_ports)
    theirs = collections.defaultdict(list)
    counted = 0
    for L in pkts:
        if f1(L, "syslog.facility") is None:
            counted += 1  # octet counting: tshark has no framing for it
            continue
        # the innermost addresses (6in4 and GRE tunnels): of the IPv4 and IPv6 pairs, the
        # one whose flow we know
        cands = [(L.get(s, [None])[-1], L.get(d, [None])[-1])
                 for s, d in (("ipv6.src", "ipv6.dst"), ("ip.src", "ip.dst")) if L.get(s)]
        src, dst = next((c for c in cands if tuple(sorted(c)) in ours), cands[0])
        L["_src"] = src
        theirs[tuple(sorted((src, dst)))].append(L)
    problems, matched, extra = [], 0, 0
    t_facts = set()
    for pair, Ls in theirs.items():
        Os_lf = ours.get(pair, [])
        if len(Os_lf) < len(Ls):
            problems.append(f"{pair}: ours {len(Os_lf)} messages, tshark {len(Ls)}")
            continue
        # pair each tshark message with the next of ours that agrees on PRI, in order
        k = 0
        for L in Ls:
            while k < len(Os_lf) and (Os_lf[k]["facility"], Os_lf[k]["severity"]) != (
                    int(f1(L, "syslog.facility")), int(f1(L, "syslog.level"))):
                k += 1
                extra += 1
            if k == len(Os_lf):
                problems.append(f"{pair}: frame {f1(L, 'frame.number')} has no message of ours")
                break
            bad = compare(Os_lf[k], L)
            if bad:
                problems.append(f"{pair} frame {f1(L, 'frame.number')}: " + "; ".join(bad))
            matched += 1
            k += 1
            h = f1(L, "syslog.hostname")
            if real_hostname(h):
                t_facts.add((L["_src"], "hostname", h))
        extra += len(Os_lf) - k
    for pair, Os in ours.items():
        if pair not in theirs:
            extra += len(Os)
    missing = t_facts - facts
    if missing:
        problems.append(f"hostname facts tshark's names give that ours lack: {sorted(missing)}")
    n_ours = sum(len(v) for v in ours.values())
    changes = sum(1 for v in ours.values() for o in v if "change" in o)
    if counted > extra:
        problems.append(f"tshark has {counted} unframed TCP messages, ours only {extra} extra")
    if problems:
        status = 1
        print(f"FAIL {name}: ours {n_ours} messages, tshark {len(pkts)}")
        for p in problems:
            print(f"     {p}")
    else:
        print(f"ok   {name}: {matched} messages agree with tshark; {extra} of ours tshark does not "
              f"frame or port ({counted} octet-counted); {len(facts)} hostname facts "
              f"({len(t_facts)} from names tshark decodes); {changes} reported changes")
sys.exit(status)
EOF
