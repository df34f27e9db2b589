"""Writes a small synthetic RADIUS capture for tests/e2e/test_radius_tshark.sh (run at test time
into a temporary directory; the pcap is not kept in the tree).

    python3 radius_pcap.py OUT.pcap

A port's VPN concentrator (NAS `vpn-gw01`, 10.20.0.5) and an 802.1X switch (`sw-crane-01`,
10.20.0.6) ask the RADIUS server (10.10.0.10):
  - access on 1812: PAP with a Message-Authenticator and its Accept (Framed-IP-Address), a PAP
    request and a Reject without one (BlastRADIUS-weak), an EAP round (Challenge, Accept), a
    CHAP request answered by an Accept without Message-Authenticator, a retransmission, a
    Status-Server, an unanswered request;
  - accounting on 1813: Start, Interim-Update and Stop of the vendor engineer's VPN session
    (Framed-IP-Address, Acct-Session-Id, octet counters with gigawords, Terminate-Cause), an
    IPv6 session (NAS-IPv6-Address, Framed-IPv6-Prefix), Vendor-Specific attributes, a padded
    message;
  - dynamic authorization on 3799 (server -> NAS): a Disconnect-Request and its ACK, a
    CoA-Request and its NAK (Error-Cause).
Authenticators and Message-Authenticators are filler bytes: nobody checks them without the
shared secret.
"""
import struct
import sys

import pcapbuild as pb

NAS = pb.Host("02:00:00:00:20:05", "10.20.0.5")
SWITCH = pb.Host("02:00:00:00:20:06", "10.20.0.6")
SERVER = pb.Host("02:00:00:00:10:10", "10.10.0.10")


def attr(t, v):
    if isinstance(v, str):
        v = v.encode()
    return bytes([t, len(v) + 2]) + v


def u32(t, v):
    return attr(t, struct.pack("!I", v))


def ip4(t, a):
    return attr(t, pb.ip_bytes(a))


def msg_auth():
    return attr(80, bytes(range(16)))


def vsa(vendor, sub_type, value):
    return attr(26, struct.pack("!I", vendor) + bytes([sub_type, len(value) + 2]) + value)


_auth = [0]


def radius(code, ident, attrs, padding=b""):
    _auth[0] += 1
    body = b"".join(attrs)
    return struct.pack("!BBH", code, ident, 20 + len(body)) + bytes([_auth[0] & 0xFF] * 16) + \
        body + padding


def main(out):
    with pb.Writer(out, start="2026-03-02T06:00:00Z", step=0.01) as w:
        def req(src, dst, sport, dport, payload):
            w.write(pb.udp(src, dst, sport, dport, payload))

        pap = attr(2, bytes([0x3C] * 16))
        # Access, PAP with a Message-Authenticator, accepted with an address from the pool.
        req(NAS, SERVER, 40001, 1812, radius(1, 1, [
            ip4(4, NAS.ip), attr(32, "vpn-gw01"), attr(1, "crane.vendor"), pap, u32(5, 17),
            u32(61, 5), u32(6, 2), attr(31, "198.51.100.23"), attr(30, "10.20.0.5"), msg_auth()]))
        req(SERVER, NAS, 1812, 40001, radius(2, 1, [
            u32(6, 2), ip4(8, "172.16.50.10"), attr(18, "Welcome"), u32(27, 28800),
            vsa(9, 1, b"shell:priv-lvl=1"), msg_auth()]))
        # PAP without a Message-Authenticator, rejected without one.
        req(NAS, SERVER, 40001, 1812, radius(1, 2, [
            ip4(4, NAS.ip), attr(32, "vpn-gw01"), attr(1, "admin"), pap, u32(61, 5)]))
        req(SERVER, NAS, 1812, 40001, radius(3, 2, [attr(18, "Access denied")]))
        # EAP from the switch (802.1X): identity, MD5 challenge, success.
        req(SWITCH, SERVER, 40002, 1812, radius(1, 7, [
            attr(32, "sw-crane-01"), attr(1, "crane-plc-07"), u32(5, 50012), u32(61, 15),
            attr(31, "00-1D-9C-11-22-33"), attr(30, "02-00-00-00-20-06"),
            attr(79, b"\x02\x00\x00\x11\x01crane-plc-07"), msg_auth()]))
        req(SERVER, SWITCH, 1812, 40002, radius(11, 7, [
            attr(79, b"\x01\x01\x00\x16\x04\x10" + bytes(16)), attr(24, b"\x00\x11state"),
            msg_auth()]))
        req(SWITCH, SERVER, 40002, 1812, radius(1, 8, [
            attr(32, "sw-crane-01"), attr(1, "crane-plc-07"), u32(61, 15),
            attr(24, b"\x00\x11state"), attr(79, b"\x02\x01\x00\x16\x04\x10" + bytes(16)),
            msg_auth()]))
        req(SERVER, SWITCH, 1812, 40002, radius(2, 8, [
            attr(79, b"\x03\x01\x00\x04"), u32(64, 13), u32(65, 6), attr(81, "110"),
            msg_auth()]))
        # CHAP, answered without a Message-Authenticator.
        req(NAS, SERVER, 40001, 1812, radius(1, 3, [
            ip4(4, NAS.ip), attr(1, "ops"), attr(3, bytes(17)), attr(60, bytes(16))]))
        req(SERVER, NAS, 1812, 40001, radius(2, 3, [u32(6, 6)]))
        # A retransmission (same identifier and authenticator), then the answer.
        again = radius(1, 4, [ip4(4, NAS.ip), attr(1, "crane.vendor"), pap, msg_auth()])
        req(NAS, SERVER, 40001, 1812, again)
        req(NAS, SERVER, 40001, 1812, again)
        req(SERVER, NAS, 1812, 40001, radius(3, 4, [msg_auth()]))
        # Status-Server, answered by an Access-Accept.
        req(NAS, SERVER, 40001, 1812, radius(12, 5, [msg_auth()]))
        req(SERVER, NAS, 1812, 40001, radius(2, 5, [msg_auth()]))
        # Never answered.
        req(NAS, SERVER, 40001, 1812, radius(1, 6, [
            ip4(4, NAS.ip), attr(1, "late.user"), pap, msg_auth()]))

        # Accounting: the vendor engineer's VPN session.
        acct = [ip4(4, NAS.ip), attr(32, "vpn-gw01"), attr(1, "crane.vendor"),
                ip4(8, "172.16.50.10"), attr(44, "81A00023"), u32(61, 5),
                attr(31, "198.51.100.23")]
        req(NAS, SERVER, 40003, 1813, radius(4, 20, [u32(40, 1)] + acct + [u32(41, 0)]))
        req(SERVER, NAS, 1813, 40003, radius(5, 20, []))
        req(NAS, SERVER, 40003, 1813, radius(4, 21, [u32(40, 3)] + acct + [
            u32(46, 600), u32(42, 123456), u32(43, 654321), u32(47, 900), u32(48, 1100)]))
        req(SERVER, NAS, 1813, 40003, radius(5, 21, []))
        req(NAS, SERVER, 40003, 1813, radius(4, 22, [u32(40, 2)] + acct + [
            u32(46, 5400), u32(42, 7000), u32(52, 1), u32(43, 42), u32(53, 3),
            u32(47, 81000), u32(48, 99000), u32(49, 1),
            vsa(311, 12, b"\x00\x01"), vsa(14988, 1, b"grp"), vsa(9, 1, b"x=1")]))
        req(SERVER, NAS, 1813, 40003, radius(5, 22, []))
        # An IPv6 session, its Start padded past Length.
        req(NAS, SERVER, 40003, 1813, radius(4, 23, [
            u32(40, 1), attr(95, bytes.fromhex("20010db8000000000000000000000005")),
            attr(1, "v6.user"), attr(97, bytes.fromhex("0040") + bytes.fromhex("20010db8abcd0001")),
            attr(44, "81A00024")], padding=b"\0" * 6))
        req(SERVER, NAS, 1813, 40003, radius(5, 23, []))

        # Dynamic authorization: the server ends the session, then changes another.
        req(SERVER, NAS, 40004, 3799, radius(40, 30, [
            attr(1, "crane.vendor"), attr(44, "81A00023"), ip4(8, "172.16.50.10"),
            attr(32, "vpn-gw01"), msg_auth()]))
        req(NAS, SERVER, 3799, 40004, radius(41, 30, [msg_auth()]))
        req(SERVER, NAS, 40004, 3799, radius(43, 31, [attr(44, "81A00099"), u32(27, 60)]))
        req(NAS, SERVER, 3799, 40004, radius(45, 31, [u32(101, 503)]))


if __name__ == "__main__":
    main(sys.argv[1])
