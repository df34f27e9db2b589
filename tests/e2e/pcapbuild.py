"""A small builder of classic pcap files for the end-to-end tests (Python 3 standard library).

Frames are built from their layers with correct lengths and checksums: Ethernet II with optional
802.1Q tags, IPv4, TCP conversations (three-way handshake, data in both directions with
consecutive sequence numbers and acknowledgements, FIN exchange), UDP datagrams, ARP and raw
frames of any ethertype. The writer is the classic pcap format (microseconds, link type 1), one
record per frame, with a clock that the caller advances.

    import pcapbuild as pb
    hmi = pb.Host("02:00:00:00:20:14", "10.20.0.20")
    plc = pb.Host("02:00:00:00:30:11", "10.30.1.11")
    with pb.Writer("out.pcap", start="2026-11-20T21:30:00Z") as w:
        c = pb.Tcp(w, hmi, plc, 502)            # handshake written here
        c.send(modbus_request)                  # client -> server
        c.reply(modbus_response)                # server -> client
        c.close()                               # FIN, FIN-ACK, ACK
        w.write(pb.udp(hmi, pb.BROADCAST_HOST, 47808, 47808, payload))
        w.write(pb.arp_reply(plc, hmi))

Every builder function returns the frame's bytes; Writer.write() appends one with the current
time and then advances the clock by `gap` seconds (default Writer.step).
"""
import calendar
import struct
import time

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ETH_IPV4, ETH_ARP, ETH_VLAN = 0x0800, 0x0806, 0x8100


def mac_bytes(m):
    """'02:00:5e:00:00:01' (or '-' separated) -> 6 bytes."""
    b = bytes(int(x, 16) for x in m.replace("-", ":").split(":"))
    if len(b) != 6:
        raise ValueError("not a MAC address: %r" % m)
    return b


def ip_bytes(a):
    b = bytes(int(x) for x in a.split("."))
    if len(b) != 4:
        raise ValueError("not an IPv4 address: %r" % a)
    return b


def checksum(data):
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Host:
    """One end of a conversation: its MAC, IPv4 address and, optionally, the VLAN its frames
    carry (802.1Q tag)."""

    def __init__(self, mac, ip, vlan=None):
        self.mac, self.ip, self.vlan = mac, ip, vlan

    def __repr__(self):
        return "Host(%s, %s, vlan=%s)" % (self.mac, self.ip, self.vlan)


BROADCAST_HOST = Host(BROADCAST_MAC, "255.255.255.255")


def ether(dst_mac, src_mac, ethertype, payload, vlan=None, pad=True):
    """An Ethernet II frame; `vlan` is a VLAN id or a list of them (outermost first, QinQ
    tags as 0x8100 too). Padded to the 60-byte minimum unless pad is False."""
    head = mac_bytes(dst_mac) + mac_bytes(src_mac)
    vlans = [] if vlan is None else (list(vlan) if isinstance(vlan, (list, tuple)) else [vlan])
    for v in vlans:
        head += struct.pack("!HH", ETH_VLAN, v & 0x0FFF)
    f = head + struct.pack("!H", ethertype) + payload
    if pad and len(f) < 60:
        f += b"\0" * (60 - len(f))
    return f


_ip_ident = [0x1000]


def ipv4(src, dst, proto, payload, ttl=64, ident=None, flags_df=True):
    """An IPv4 header (no options) with its checksum, followed by `payload`."""
    if ident is None:
        _ip_ident[0] = (_ip_ident[0] + 1) & 0xFFFF
        ident = _ip_ident[0]
    frag = 0x4000 if flags_df else 0
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, ttl, proto, 0,
                    ip_bytes(src), ip_bytes(dst))
    h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return h + payload


def _l4_checksum(src, dst, proto, seg):
    pseudo = struct.pack("!4s4sBBH", ip_bytes(src), ip_bytes(dst), 0, proto, len(seg))
    return checksum(pseudo + seg)


def udp_datagram(src_ip, dst_ip, sport, dport, payload):
    """A UDP header with its checksum (over the IPv4 pseudo-header) and the payload."""
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = _l4_checksum(src_ip, dst_ip, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp_segment(src_ip, dst_ip, sport, dport, seq, ack, flags, payload=b"", window=8192):
    """A TCP header (no options) with its checksum and the payload. flags: a string of the
    letters S A F R P U, or an int."""
    if isinstance(flags, str):
        bits = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}
        flags = sum(bits[c] for c in flags)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50,
                      flags, window, 0, 0) + payload
    c = _l4_checksum(src_ip, dst_ip, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload, dst_mac=None, ttl=64):
    """A whole Ethernet frame: src Host -> dst Host, UDP. The VLAN is the sender's."""
    ip = ipv4(src.ip, dst.ip, 17, udp_datagram(src.ip, dst.ip, sport, dport, payload), ttl=ttl)
    return ether(dst_mac or dst.mac, src.mac, ETH_IPV4, ip, vlan=src.vlan)


def ip_frame(src, dst, proto, payload, dst_mac=None):
    """A whole Ethernet frame carrying an IPv4 packet of any protocol number (ESP is 50)."""
    return ether(dst_mac or dst.mac, src.mac, ETH_IPV4, ipv4(src.ip, dst.ip, proto, payload),
                 vlan=src.vlan)


def arp(op, sender_mac, sender_ip, target_mac, target_ip, src_mac=None, dst_mac=None,
        vlan=None):
    """An ARP frame (op 1 request, 2 reply). The Ethernet source is the sender's MAC unless
    src_mac says otherwise (spoofed replies); requests go to broadcast by default."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, mac_bytes(sender_mac),
                       ip_bytes(sender_ip), mac_bytes(target_mac), ip_bytes(target_ip))
    if dst_mac is None:
        dst_mac = BROADCAST_MAC if op == 1 else target_mac
    return ether(dst_mac, src_mac or sender_mac, ETH_ARP, body, vlan=vlan)


def arp_request(asker, target_ip):
    """Who has target_ip? Tell asker (a Host)."""
    return arp(1, asker.mac, asker.ip, "00:00:00:00:00:00", target_ip, vlan=asker.vlan)


def arp_reply(owner, to, claimed_ip=None):
    """`owner` (a Host) tells `to` that claimed_ip (default its own) is at its MAC."""
    return arp(2, owner.mac, claimed_ip or owner.ip, to.mac, to.ip, vlan=owner.vlan)


def raw(dst_mac, src_mac, ethertype, payload, vlan=None):
    """A frame of any ethertype (PROFINET 0x8892, GOOSE 0x88b8, LLDP 0x88cc...)."""
    return ether(dst_mac, src_mac, ethertype, payload, vlan=vlan)


def parse_time(t):
    """Seconds since the epoch from a number or an RFC 3339 UTC time 'YYYY-MM-DDTHH:MM:SSZ'."""
    if isinstance(t, (int, float)):
        return float(t)
    return float(calendar.timegm(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ")))


class Writer:
    """A classic pcap file (magic a1b2c3d4, microseconds, Ethernet). Times are kept as integer
    microseconds so that records never drift."""

    def __init__(self, path, start="2026-11-20T21:30:00Z", step=0.001, snaplen=65535):
        self.f = open(path, "wb")
        self.us = int(round(parse_time(start) * 1e6))
        self.step = step
        self.count = 0
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))

    def write(self, frame, gap=None):
        """Append one frame at the current time, then advance the clock."""
        self.f.write(struct.pack("<IIII", self.us // 1000000, self.us % 1000000, len(frame),
                                 len(frame)) + frame)
        self.count += 1
        self.advance(self.step if gap is None else gap)

    def advance(self, seconds):
        self.us += int(round(seconds * 1e6))

    def at(self, t):
        """Move the clock to an absolute time (number or RFC 3339 UTC), never backwards."""
        us = int(round(parse_time(t) * 1e6))
        if us < self.us:
            raise ValueError("the clock cannot go back")
        self.us = us

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_next_port = [49152]


def ephemeral_port():
    _next_port[0] = 49152 + (_next_port[0] - 49152 + 1) % 16000
    return _next_port[0]


class Tcp:
    """One TCP connection, written to `w` as it goes: the handshake when created (unless
    handshake=False, which starts mid-stream), send()/reply() for data with the peer's ACK,
    close() for FIN, FIN-ACK, ACK, reset() for an RST from either side."""

    def __init__(self, w, client, server, dport, sport=None, handshake=True, isn=1000,
                 server_isn=5000, refuse=False):
        self.w, self.cli, self.srv = w, client, server
        self.sport = sport or ephemeral_port()
        self.dport = dport
        self.seq = {True: isn, False: server_isn}  # True: the client's next sequence number
        if handshake:
            self._seg(True, "S")
            self.seq[True] += 1
            if refuse:  # a closed port: RST-ACK, no connection
                self._seg(False, "RA", ack=self.seq[True])
                return
            self._seg(False, "SA")
            self.seq[False] += 1
            self._seg(True, "A")

    def _seg(self, from_client, flags, payload=b"", ack=None):
        src, dst = (self.cli, self.srv) if from_client else (self.srv, self.cli)
        sp, dp = (self.sport, self.dport) if from_client else (self.dport, self.sport)
        if ack is None:
            ack = self.seq[not from_client] if "A" in flags else 0
        seg = tcp_segment(src.ip, dst.ip, sp, dp, self.seq[from_client], ack, flags, payload)
        self.w.write(ether(dst.mac, src.mac, ETH_IPV4, ipv4(src.ip, dst.ip, 6, seg),
                           vlan=src.vlan))

    def _data(self, from_client, data, ack=True, mss=1400):
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            self._seg(from_client, "PA", chunk)
            self.seq[from_client] += len(chunk)
        if ack:
            self._seg(not from_client, "A")

    def send(self, data, ack=False):
        """Client -> server data (acknowledged by the server's next segment, or now)."""
        self._data(True, data, ack)

    def reply(self, data, ack=False):
        """Server -> client data."""
        self._data(False, data, ack)

    def exchange(self, request, response):
        """A request and its response."""
        self.send(request)
        self.reply(response)

    def close(self, by_client=True):
        self._seg(by_client, "FA")
        self.seq[by_client] += 1
        self._seg(not by_client, "FA")
        self.seq[not by_client] += 1
        self._seg(by_client, "A")

    def reset(self, by_client=True):
        self._seg(by_client, "RA")


# ---- Application payloads that more than one test needs --------------------------------------

def mbap(tid, unit, pdu):
    """A Modbus/TCP ADU: MBAP header (protocol 0, length = unit + PDU) and the PDU."""
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def tpkt_cotp_dt(payload):
    """TPKT (RFC 1006) + COTP DT (class 0, last data unit) around an S7comm PDU."""
    cotp = b"\x02\xf0\x80"
    return struct.pack("!BBH", 3, 0, 4 + len(cotp) + len(payload)) + cotp + payload


def cotp_cr(src_ref=0x0001, tsap_src=b"\x01\x00", tsap_dst=b"\x01\x02"):
    """TPKT + COTP connection request with source and destination TSAPs (S7: rack/slot)."""
    params = b"\xc0\x01\x0a" + b"\xc1\x02" + tsap_src + b"\xc2\x02" + tsap_dst
    cotp = struct.pack("!BBHHB", 6 + len(params), 0xE0, 0, src_ref, 0) + params
    return struct.pack("!BBH", 3, 0, 4 + len(cotp)) + cotp


def cotp_cc(dst_ref=0x0001, src_ref=0x0044, tsap_src=b"\x01\x00", tsap_dst=b"\x01\x02"):
    params = b"\xc0\x01\x0a" + b"\xc1\x02" + tsap_src + b"\xc2\x02" + tsap_dst
    cotp = struct.pack("!BBHHB", 6 + len(params), 0xD0, dst_ref, src_ref, 0) + params
    return struct.pack("!BBH", 3, 0, 4 + len(cotp)) + cotp


def s7_header(rosctr, pdu_ref, param, data=b"", err=None):
    """An S7comm header (protocol id 0x32): ROSCTR 1 job, 3 ack-data (with error class/code)."""
    h = struct.pack("!BBHHHH", 0x32, rosctr, 0, pdu_ref, len(param), len(data))
    if rosctr in (2, 3):
        h += struct.pack("!BB", *(err or (0, 0)))
    return h + param + data


def s7_setup_comm(pdu_ref=1, rosctr=1):
    """Setup communication (function 0xF0): max AMQ 1/1, PDU 480."""
    return s7_header(rosctr, pdu_ref, struct.pack("!BBHHH", 0xF0, 0, 1, 1, 480))


# ---- TLS with certificates (RFC 5246, RFC 5280): enough for the parsers, not for a peer -------

def der(tag, body):
    """One DER TLV (definite length, short or long form)."""
    n = len(body)
    if n < 0x80:
        return bytes([tag]) + bytes([n]) + body
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + body


def _oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return der(0x06, out)


def _name(cn, o=None):
    rdns = [("2.5.4.3", cn)] + ([("2.5.4.10", o)] if o else [])
    return der(0x30, b"".join(der(0x31, der(0x30, _oid(k) + der(0x0C, v.encode())))
                              for k, v in rdns))


def x509_cert(subject_cn, issuer_cn, not_before, not_after, subject_o=None, issuer_o=None,
              serial=1):
    """A DER X.509 v3 certificate; times are UTCTime text ("YYMMDDhhmmssZ"). The key and the
    signature are filler bytes: nobody verifies them."""
    sha256_rsa = der(0x30, _oid("1.2.840.113549.1.1.11") + b"\x05\x00")
    rsa_key = der(0x30, der(0x02, b"\x00" + b"\xc3" * 128) + der(0x02, b"\x01\x00\x01"))
    spki = der(0x30, der(0x30, _oid("1.2.840.113549.1.1.1") + b"\x05\x00") +
               der(0x03, b"\x00" + rsa_key))
    tbs = der(0x30, der(0xA0, der(0x02, b"\x02")) + der(0x02, bytes([serial])) + sha256_rsa +
              _name(issuer_cn, issuer_o) +
              der(0x30, der(0x17, not_before.encode()) + der(0x17, not_after.encode())) +
              _name(subject_cn, subject_o) + spki)
    return der(0x30, tbs + sha256_rsa + der(0x03, b"\x00" + b"\x5a" * 128))


def tls_record(content_type, body, version=0x0303):
    return struct.pack("!BHH", content_type, version, len(body)) + body


def tls_handshake(msg_type, body):
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def tls_client_hello(suites=(0xC02F, 0xC030)):
    body = struct.pack("!H", 0x0303) + bytes(32) + b"\x00"
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00" + struct.pack("!H", 0)  # no compression, no extensions
    return tls_record(22, tls_handshake(1, body), version=0x0301)


def tls_server_hello(suite=0xC02F, request_cert=True):
    body = struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" + struct.pack("!HB", suite, 0)
    msgs = tls_handshake(2, body)
    if request_cert:  # CertificateRequest: RSA signing, no algorithms, no CAs
        msgs += tls_handshake(13, b"\x01\x01" + struct.pack("!HH", 0, 0))
    return tls_record(22, msgs + tls_handshake(14, b""))


def tls_certificate(*certs):
    """A Certificate message of the DER certificates given, leaf first, in one record."""
    chain = b"".join(len(c).to_bytes(3, "big") + c for c in certs)
    return tls_record(22, tls_handshake(11, len(chain).to_bytes(3, "big") + chain))
