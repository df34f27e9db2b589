#!/usr/bin/env bash
# Differential test: VRRP advertisements, quaywatch's event log and inventory vs tshark.
#
# The captures: every corpus capture that carries VRRP (a tshark scan of the whole corpus,
# `-Y 'ip.proto == 112 or ipv6.nxt == 112'`, finds it in l2-misc/tcpdump_vrrp.pcap only: seven
# routers advertising three virtual routers each, version 2 with and without simple text
# authentication and version 3, over IPv4 and over IPv6).
#
#   ours:   `quaywatch analyze --events`: each "vrrp" record stands for its advertisement and
#           `repeated` identical ones before it (docs/events/vrrp.md); the anomalies; then
#           `quaywatch inventory --format json`.
#   tshark: `tshark -Y vrrp` with the sender, version, VRID, priority, addresses,
#           authentication type, interval, checksum status and TTL of every advertisement.
# Compared per sender and virtual router (version, VRID): how many advertisements (tshark's
# frames against the sum over our records of 1 + repeated), and the set of distinct
# advertisements (priority, addresses, authentication type, interval); every checksum good;
# `vrrp.cleartext_password` for exactly the virtual routers whose advertisements carry simple
# text authentication, and no other anomaly (every TTL is 255). The inventory: every sender
# an asset of its own with the role router, though they all send from one virtual MAC.
#
# Known differences: none on this capture.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff l2-misc

python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" <<'EOF2'
import collections, json, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = ["l2-misc/tcpdump_vrrp.pcap"]


def tshark_view(path):
    fields = ["ip.src", "ipv6.src", "vrrp.version", "vrrp.virt_rtr_id", "vrrp.prio",
              "vrrp.auth_type", "vrrp.adver_int", "vrrp.short_adver_int", "vrrp.ip_addr",
              "vrrp.ipv6_addr", "vrrp.checksum.status", "ip.ttl", "ipv6.hlim"]
    cmd = ["tshark", "-r", path, "-Y", "vrrp", "-T", "fields", "-E", "separator=\t",
           "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    count, contents, passwords, ttl_other, bad_sum = (collections.Counter(),
                                                       collections.defaultdict(set), set(), 0, 0)
    for line in out.splitlines():
        (ip4, ip6, ver, vrid, prio, auth, ival, sival, a4, a6, csum, ttl,
         hlim) = line.split("\t")
        key = (ip4 or ip6, int(ver), int(vrid))
        count[key] += 1
        addrs = tuple((a4 or a6).split(",")) if (a4 or a6) else ()
        interval = int(ival) if ver == "2" else int(sival)
        contents[key].add((int(prio), addrs, int(auth) if ver == "2" else None, interval))
        if ver == "2" and auth == "1":
            passwords.add(key)
        if int(ttl or hlim) != 255:
            ttl_other += 1
        if csum != "1":  # 1: good (0 bad, 2 unverified)
            bad_sum += 1
    return count, contents, passwords, ttl_other, bad_sum


def our_view(ev):
    count, contents, passwords = collections.Counter(), collections.defaultdict(set), set()
    anomalies, bad_sum = collections.Counter(), 0
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            et = rec.get("event_type")
            if et == "anomaly" and rec["anomaly"]["event"].startswith("vrrp."):
                a = rec["anomaly"]
                anomalies[a["event"]] += 1
                if a["event"] == "vrrp.cleartext_password":
                    vrid = int(a["detail"].rsplit(" ", 1)[1])
                    passwords.add((rec["src_ip"], 2, vrid))
            if et != "vrrp":
                continue
            v = rec["vrrp"]
            key = (rec["src_ip"], v["version"], v["vrid"])
            count[key] += 1 + v["repeated"]
            interval = v.get("advertisement_interval_s", v.get("max_advertisement_interval_cs"))
            contents[key].add((v["priority"], tuple(v["addresses"]), v.get("auth_type"),
                               interval))
            if not v.get("checksum_valid", False):
                bad_sum += 1
    return count, contents, passwords, anomalies, bad_sum


failed = False
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        failed = True
        continue
    t_count, t_contents, t_pw, t_ttl, t_bad = tshark_view(path)
    o_count, o_contents, o_pw, o_anom, o_bad = our_view(ev)
    problems = []
    if not t_count:
        problems.append("tshark saw no VRRP")
    if t_count != o_count:
        problems.append(f"advertisements per sender and group: tshark {sorted(t_count.items())}"
                        f" ours {sorted(o_count.items())}")
    if t_contents != o_contents:
        for k in sorted(set(t_contents) | set(o_contents)):
            if t_contents.get(k) != o_contents.get(k):
                problems.append(f"{k}: tshark {t_contents.get(k)} ours {o_contents.get(k)}")
    if t_pw != o_pw:
        problems.append(f"clear-text passwords: tshark {sorted(t_pw)} ours {sorted(o_pw)}")
    if t_ttl or t_bad or o_bad:
        problems.append(f"TTL other than 255 {t_ttl}, bad checksums tshark {t_bad} ours {o_bad}")
    other = {k: n for k, n in o_anom.items() if k != "vrrp.cleartext_password"}
    if other:
        problems.append(f"unexpected anomalies {other}")
    inv = json.loads(subprocess.run([qw, "inventory", "--db", f"{tmp}/x.db", "--format", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    senders = {k[0] for k in t_count}
    routers = set()
    for a in inv["assets"] if isinstance(inv, dict) else inv:
        ips = [i["ip"] if isinstance(i, dict) else i for i in a.get("ips", [])]
        roles = [r["role"] if isinstance(r, dict) else r for r in a.get("roles", [])]
        if len(ips) == 1 and ips[0] in senders and "router" in roles:
            routers.add(ips[0])
    if routers != senders:
        problems.append(f"senders not each a router of their own: {sorted(senders - routers)}")
    if problems:
        failed = True
        print(f"FAIL {name}")
        for p in problems:
            print(f"    {p}")
    else:
        groups = len(t_count)
        print(f"ok   {name}: {sum(t_count.values())} advertisements of {groups} virtual routers"
              f" from {len(senders)} senders, {sum(len(c) for c in t_contents.values())}"
              f" distinct, {len(t_pw)} with a clear-text password; {len(senders)} routers")
sys.exit(1 if failed else 0)
EOF2
