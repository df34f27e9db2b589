#!/usr/bin/env bash
# Results that must depend on the packets only, never on how many other packets share an engine
# (and so on --workers): each case here once gave a different inventory or flow log on the 1 GB
# benchmark capture with 1 and with 2 workers.
# 1. A flow idle past its timeout is over when its next packet comes, even when the expiry step
#    (64 flows a packet) has not reached it: 100 UDP flows go quiet together, one of them speaks
#    again after the timeout, and that is two flows.
# 2. One fact learnt by two parsers (an address from ARP and from a DHCP ACK, about one MAC) is
#    two facts, one per source, as the store keeps them: not one whose source is whichever
#    parser spoke last.
# 3. The same capture with 1, 2 and 3 workers gives the same flow log and inventory.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_qw_python
qw=$QW_BIN

python3 - "$work/c.pcap" <<'PY' || fail "building the capture"
import struct, sys
import pcapbuild as pb

server = pb.Host("02:00:00:10:00:01", "10.10.0.1")
clients = [pb.Host("02:00:00:10:%02x:%02x" % (i // 200, i % 200), "10.10.%d.%d" % (1 + i // 200, 1 + i % 200))
           for i in range(100)]
laptop = pb.Host("02:00:00:33:00:07", "10.10.9.7")
dhcp_server = pb.Host("02:00:00:10:00:02", "10.10.0.2")


def dhcp_ack(yiaddr, chaddr):
    """A DHCP ACK (RFC 2131) broadcast to a client that cannot take unicast yet."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 0x1234, 0, 0x8000,
                        bytes(4), pb.ip_bytes(yiaddr), bytes(4), bytes(4),
                        pb.mac_bytes(chaddr) + bytes(10), bytes(64), bytes(128))
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x05" + b"\x36\x04" + pb.ip_bytes(dhcp_server.ip) + b"\xff"
    bcast = pb.Host("ff:ff:ff:ff:ff:ff", "255.255.255.255")
    return pb.udp(dhcp_server, bcast, 67, 68, bootp + options)


with pb.Writer(sys.argv[1], start="2026-11-20T10:00:00Z") as w:
    # case 1: a hundred flows, each one request; the last one speaks again after 200 s (the UDP
    # timeout is 180 s), when the other 99 are still waiting to be expired
    for c in clients:
        w.write(pb.udp(c, server, 40000, 5000, b"poll"), gap=0.01)
    w.advance(200)
    w.write(pb.udp(clients[-1], server, 40000, 5000, b"poll again"))
    # case 2: the laptop announces its address by ARP, then the DHCP server's ACK names it
    w.write(pb.arp(1, laptop.mac, laptop.ip, "00:00:00:00:00:00", laptop.ip), gap=1)
    w.write(dhcp_ack(laptop.ip, laptop.mac), gap=1)
PY

for n in 1 2 3; do
    "$qw" analyze --quiet --workers $n --db "$work/t$n.db" --events "$work/ev$n.json" \
        "$work/c.pcap" || fail "analyze with $n workers exited $?"
    "$qw" inventory --db "$work/t$n.db" --format json >"$work/inv$n.json" || fail "inventory"
    grep '"event_type":"flow"' "$work/ev$n.json" | sort >"$work/flows$n.sorted"
done

python3 - "$work/flows1.sorted" "$work/inv1.json" <<'PY' || fail "flows or facts are wrong"
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
last = [f for f in flows if f["src_ip"] == "10.10.1.100" or f["dest_ip"] == "10.10.1.100"]
assert len(last) == 2, ("the flow that spoke again after its timeout", last)
assert sorted(f["flow"]["pkts_toserver"] for f in last) == [1, 1], last
assert sorted(f["flow"]["reason"] for f in last) == ["capture_end", "timeout"], last
others = [f for f in flows if f["dest_port"] == 5000 and f not in last]
assert len(others) == 99, len(others)

inv = json.load(open(sys.argv[2]))
assets = inv if isinstance(inv, list) else inv["assets"]
facts = [f for a in assets for f in a["evidence"]
         if f.get("attribute") == "ip" and f.get("value") == "10.10.9.7"]
sources = sorted(f["source"] for f in facts)
assert sources == ["arp", "dhcp"], ("the laptop's address, by source", facts)
PY
pass "an idle flow ends at its timeout whatever the expiry backlog; a fact keeps one row per source"

for n in 2 3; do
    cmp -s "$work/flows1.sorted" "$work/flows$n.sorted" ||
        fail "flow log differs between 1 and $n workers: $(diff "$work/flows1.sorted" "$work/flows$n.sorted" | head -4)"
    cmp -s "$work/inv1.json" "$work/inv$n.json" ||
        fail "inventory differs between 1 and $n workers: $(diff "$work/inv1.json" "$work/inv$n.json" | head -4)"
done
pass "1, 2 and 3 workers give the same flow log and inventory"
