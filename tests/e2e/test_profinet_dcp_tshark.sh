#!/usr/bin/env bash
# Differential test: PROFINET DCP, quaywatch's event log vs tshark.
#
# The DCP parser writes one record per DCP PDU (a request-only record for a request, a
# response-only record for each answer; docs/events/profinet_dcp.md). For every capture in
# $QW_CORPUS/pcaps/profinet/, the mixed-plant captures, and $QW_SRC/tests/data/profinet_dcp/
# dcp_services.pcap (Get, Set, Hello and the control blocks, which the public captures lack;
# written by make_dcp_services.py there):
#   ours:   the "profinet_dcp" records of `quaywatch analyze --events`;
#   tshark: `-Y pn_dcp`, one line per DCP PDU.
# Compared: the number of PDUs; PDUs per (ServiceID, ServiceType); the multiset of
# (ServiceID, ServiceType, Xid); the options of all blocks (tshark's pn_dcp.option lists each
# block's option and, for a DeviceOptions block, the options it lists, so ours are counted the
# same way); and the values of NameOfStation, TypeOfStation (DeviceVendorValue), VendorID,
# DeviceID and the IP address of IP parameter blocks (multisets).
# Exit 0 when every capture agrees (or differs only as documented in KNOWN), 1 otherwise, 77
# (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff profinet

status=0
# the generated capture is written here, never kept in the repository
python3 "${QW_SRC:-.}"/tests/data/profinet_dcp/make_dcp_services.py "$work/dcp_services.pcap" >/dev/null ||
    { echo "FAIL: make_dcp_services.py"; exit 1; }
for f in "$QW_CORPUS"/pcaps/profinet/*.pcap* "$QW_CORPUS"/pcaps/mixed-plant/*.pcap* \
         "$work/dcp_services.pcap"; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    analyze_events "$f" || { status=1; continue; }
    tshark -r "$f" -Y pn_dcp -T fields -E separator=/t -E occurrence=a -E aggregator='|' \
        -e pn_dcp.service_id -e pn_dcp.service_type -e pn_dcp.xid -e pn_dcp.option \
        -e pn_dcp.suboption_device_nameofstation -e pn_dcp.suboption_device_devicevendorvalue \
        -e pn_dcp.suboption_vendor_id -e pn_dcp.suboption_device_id -e pn_dcp.suboption_ip_ip \
        >"$work/tshark.txt" 2>/dev/null
    python3 - "$name" "$work/ev.json" "$work/tshark.txt" <<'EOF' || status=1
import collections, json, sys

name, events, tshark = sys.argv[1:4]

# Captures whose comparison may differ: name -> (verified reason, exact expected differences
# ours - tshark). Every other capture must agree exactly.
KNOWN = {
    # Frame 8 sets a Full IP suite (IP, netmask, gateway, then 4 DNS servers). tshark 4.0
    # dissects the DNS servers with the same IPaddress/Subnetmask/StandardGateway fields
    # (tshark -V shows "IPaddress: 10.0.0.53" after the gateway), so pn_dcp.suboption_ip_ip
    # holds the first DNS server too; we list it under "dns".
    "dcp_services.pcap": ("tshark reports the first DNS server of a Full IP suite as an "
                          "IPaddress", {("ip", "10.0.0.53"): -1}),
}

ours = collections.Counter()
with open(events, encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        if rec.get("event_type") != "profinet_dcp":
            continue
        for side in ("request", "response"):
            p = rec["profinet_dcp"].get(side)
            if p is None:
                continue
            ours["pdus"] += 1
            ours[("service", p["function"], p["service_type"])] += 1
            ours[("xid", p["function"], p["service_type"], p["xid"])] += 1
            for b in p["blocks"]:
                ours[("option", b["option"])] += 1
                for o in b.get("options", []):
                    ours[("option", o["option"])] += 1
                if "value" in b and b["name"] == "name_of_station":
                    ours[("name_of_station", b["value"])] += 1
                if "value" in b and b["name"] == "type_of_station":
                    ours[("type_of_station", b["value"])] += 1
                if "vendor_id" in b:
                    ours[("vendor_id", int(b["vendor_id"], 16))] += 1
                    ours[("device_id", int(b["device_id"], 16))] += 1
                if "ip" in b:
                    ours[("ip", b["ip"])] += 1

theirs = collections.Counter()
with open(tshark, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        c = (line.rstrip("\n").split("\t") + [""] * 9)[:9]
        sid, stype, xid = int(c[0]), int(c[1]), int(c[2], 16)
        theirs["pdus"] += 1
        theirs[("service", sid, stype)] += 1
        theirs[("xid", sid, stype, xid)] += 1
        for o in c[3].split("|") if c[3] else []:
            theirs[("option", int(o))] += 1
        for key, col, conv in (("name_of_station", 4, str), ("type_of_station", 5, str),
                               ("vendor_id", 6, lambda v: int(v, 16)),
                               ("device_id", 7, lambda v: int(v, 16)), ("ip", 8, str)):
            for v in c[col].split("|") if c[col] else []:
                theirs[(key, conv(v))] += 1

diff = {k: ours[k] - theirs[k] for k in set(ours) | set(theirs) if ours[k] != theirs[k]}
if not diff:
    print(f"ok   {name}: {ours['pdus']} DCP PDUs, "
          f"{len([k for k in ours if k[0] == 'service'])} service/type pairs, "
          f"{sum(v for k, v in ours.items() if k[0] in ('name_of_station', 'vendor_id', 'ip'))}"
          f" identity values")
    sys.exit(0)
reason, expected = KNOWN.get(name, (None, None))
known = reason is not None and diff == expected
print(f"{'known' if known else 'FAIL '} {name}: ours {ours['pdus']} PDUs, tshark {theirs['pdus']}")
if reason:
    print(f"     documented: {reason}")
for k in sorted(diff, key=str):
    print(f"     {k}: ours {ours[k]}, tshark {theirs[k]}")
sys.exit(0 if known else 1)
EOF
done
exit $status
