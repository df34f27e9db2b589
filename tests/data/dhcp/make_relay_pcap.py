#!/usr/bin/env python3
"""Writes dhcp_relay.pcap into DIR: DHCP through a relay agent as seen on the server's segment
only, the case the public corpus shows without host names (tcpdump_dhcp-rfc4388.pcap). The
relay sends from its giaddr, so each request and its answer share one flow.

  - a tank-farm HMI boots through the relay 10.40.0.1: DISCOVER/OFFER, then REQUEST/ACK giving
    it 10.40.1.20, then it queries the DNS server through the router, as does a camera: the
    HMI's host name, vendor class, client id and parameter list are about 10.40.1.20 once the
    ACK names it;
  - a gauge asks for its old address and is refused (REQUEST/NAK): nothing about anyone;
  - a BOOTP-only controller (no option 53, a host name in option 12) gets 10.40.1.30: its
    name is about that address.

Messages follow RFC 2131 s.2 (fixed part, magic cookie) and RFC 2132 (options); the relay
sets hops and giaddr (RFC 1542 s.4.1). Usage: make_relay_pcap.py DIR"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
import pcapbuild as pb  # noqa: E402

RELAY = pb.Host("00:1c:7f:40:00:01", "10.40.0.1")    # router interface, giaddr and source
SERVER = pb.Host("6c:2b:59:10:00:0a", "10.10.0.10")
DNS = pb.Host("6c:2b:59:10:00:0b", "10.10.0.11")
HMI_MAC, GAUGE_MAC, PLC_MAC = "00:0e:8c:12:34:56", "00:a0:45:aa:bb:01", "00:80:f4:00:00:07"


def bootp(op, xid, chaddr, yiaddr="0.0.0.0", ciaddr="0.0.0.0"):
    # op htype hlen hops xid secs flags, ciaddr yiaddr siaddr giaddr, chaddr (16), sname (64),
    # file (128), magic cookie
    return (struct.pack("!BBBBIHH", op, 1, 6, 1, xid, 0, 0)
            + b"".join(pb.ip_bytes(a) for a in (ciaddr, yiaddr, "0.0.0.0", RELAY.ip))
            + pb.mac_bytes(chaddr).ljust(16, b"\0") + b"\0" * (64 + 128)
            + bytes([99, 130, 83, 99]))


def opt(code, data):
    return bytes([code, len(data)]) + data


def done(msg):
    msg += b"\xff"
    return msg + b"\0" * max(0, 300 - len(msg))


def client(kind, xid, chaddr, name=None, vendor=None, requested=None):
    m = bootp(1, xid, chaddr)
    if kind is not None:
        m += opt(53, bytes([kind]))
    m += opt(61, b"\x01" + pb.mac_bytes(chaddr))
    if requested:
        m += opt(50, pb.ip_bytes(requested))
    if name:
        m += opt(12, name.encode())
    if vendor:
        m += opt(60, vendor.encode())
    m += opt(55, bytes([1, 3, 6, 15, 42]))
    return done(m)


def server(kind, xid, chaddr, yiaddr="0.0.0.0"):
    m = bootp(2, xid, chaddr, yiaddr)
    if kind is not None:
        m += opt(53, bytes([kind]))
        m += opt(54, pb.ip_bytes(SERVER.ip)) + opt(51, struct.pack("!I", 86400))
    m += opt(1, pb.ip_bytes("255.255.0.0")) + opt(3, pb.ip_bytes(RELAY.ip))
    return done(m)


def dns_query(name, ident):
    q = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def main():
    out = os.path.join(sys.argv[1], "dhcp_relay.pcap")
    with pb.Writer(out, start="2026-11-20T06:00:00Z", step=0.002) as w:
        def relay_up(payload):
            w.write(pb.udp(RELAY, SERVER, 67, 67, payload))

        def server_down(payload):
            w.write(pb.udp(SERVER, RELAY, 67, 67, payload))

        hmi = ("TANK-HMI-02", "SIMATIC HMI Panel")
        relay_up(client(1, 0x1001, HMI_MAC, *hmi))
        server_down(server(2, 0x1001, HMI_MAC, "10.40.1.20"))
        relay_up(client(3, 0x1001, HMI_MAC, *hmi, requested="10.40.1.20"))
        server_down(server(5, 0x1001, HMI_MAC, "10.40.1.20"))
        w.advance(1.0)
        # the router claims its own address and forwards for the tank-farm hosts: the HMI, now
        # 10.40.1.20, and a camera, whose frames on this segment carry the router's MAC (what
        # makes the inventory see a gateway there, not a host with three addresses)
        w.write(pb.arp_reply(RELAY, SERVER))
        hmi_ip = pb.Host(RELAY.mac, "10.40.1.20")
        camera = pb.Host(RELAY.mac, "10.40.1.21")
        w.write(pb.udp(hmi_ip, DNS, 49152, 53, dns_query("tos.terminal.example", 7)))
        w.write(pb.udp(camera, DNS, 49153, 53, dns_query("ntp.terminal.example", 8)))

        relay_up(client(3, 0x2002, GAUGE_MAC, "GAUGE-07", "gauge fw 2.1",
                        requested="10.40.9.9"))
        server_down(server(6, 0x2002, GAUGE_MAC))

        relay_up(client(None, 0x3003, PLC_MAC, "rtu-pump-3"))
        server_down(server(None, 0x3003, PLC_MAC, "10.40.1.30"))


if __name__ == "__main__":
    main()
