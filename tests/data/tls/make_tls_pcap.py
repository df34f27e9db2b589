#!/usr/bin/env python3
"""Write a capture of real TLS handshakes for the TLS differential test.

Python's ssl module (OpenSSL) runs client and server over memory BIOs; the bytes each side
writes become the TCP payload of a real connection (handshake, sequence numbers, checksums) in
a pcap. Certificates are made with the openssl command. The conversations cover what the
public corpus lacks: TLS on the OT ports (OPC UA 4843, MQTT 8883), self-signed, CA-issued and
expired certificates, a client certificate, TLS 1.0 to 1.3, ALPN, and handshake messages
fragmented over many records and records cut over many TCP segments (the capture re-frames the
plaintext handshake records, which TLS allows, RFC 5246 s.6.2.1).

Usage: make_tls_pcap.py OUTDIR -> OUTDIR/tls_cases.pcap (stdlib and the openssl command only).
Exit 77 when the openssl command or the ssl module is missing.
"""
import os
import ssl
import struct
import subprocess
import sys
import time
import warnings


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    def __init__(self, path, t):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = t
        self.ip_id = 1

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), self.ip_id, 0x4000, 64, 6,
                         0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        pkt = b"\x02\x00" + dst + b"\x02\x00" + src + b"\x08\x00" + ip + tcp + payload
        self.t += 0.0005
        sec = int(self.t)
        self.f.write(struct.pack("<IIII", sec, int(round((self.t - sec) * 1e6)), len(pkt), len(pkt)))
        self.f.write(pkt)


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


class Conn:
    def __init__(self, cap, cli, srv, cport, sport):
        self.cap = cap
        self.ip = [bytes(map(int, cli.split("."))), bytes(map(int, srv.split(".")))]
        self.port = [cport, sport]
        self.seq = [7000, 900000]
        cap.frame(self.ip[0], self.ip[1], cport, sport, self.seq[0], 0, SYN)
        self.seq[0] += 1
        cap.frame(self.ip[1], self.ip[0], sport, cport, self.seq[1], self.seq[0], SYN | ACK)
        self.seq[1] += 1
        cap.frame(self.ip[0], self.ip[1], cport, sport, self.seq[0], self.seq[1], ACK)

    def send(self, side, data, seg):
        o = 1 - side
        for i in range(0, len(data), seg):
            chunk = data[i:i + seg]
            self.cap.frame(self.ip[side], self.ip[o], self.port[side], self.port[o],
                           self.seq[side], self.seq[o], PSH | ACK, chunk)
            self.seq[side] += len(chunk)
        self.cap.frame(self.ip[o], self.ip[side], self.port[o], self.port[side],
                       self.seq[o], self.seq[side], ACK)

    def close(self):
        for side in (0, 1):
            o = 1 - side
            self.cap.frame(self.ip[side], self.ip[o], self.port[side], self.port[o],
                           self.seq[side], self.seq[o], FIN | ACK)
            self.seq[side] += 1
        self.cap.frame(self.ip[0], self.ip[1], self.port[0], self.port[1],
                       self.seq[0], self.seq[1], ACK)


def refragment(data, size, state):
    """Cut the plaintext handshake records of one direction's bytes into records of at most
    `size` bytes. `state["plain"]` turns false at the first ChangeCipherSpec or application
    data record; records after that are copied as they are."""
    out, i = b"", 0
    while i + 5 <= len(data):
        ctype, ver, n = data[i], data[i + 1:i + 3], struct.unpack("!H", data[i + 3:i + 5])[0]
        body = data[i + 5:i + 5 + n]
        i += 5 + n
        if ctype in (20, 23):
            state["plain"] = False
        if ctype == 22 and state["plain"]:
            for k in range(0, len(body), size):
                part = body[k:k + size]
                out += bytes([22]) + ver + struct.pack("!H", len(part)) + part
        else:
            out += bytes([ctype]) + ver + struct.pack("!H", n) + body
    return out + data[i:]


def run(conn, cctx, sctx, sni, seg=1400, frag=None):
    """Handshake, one request and one answer, close_notify both ways."""
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(cin, cout, server_side=False, server_hostname=sni)
    s = sctx.wrap_bio(sin, sout, server_side=True)
    states = [{"plain": True}, {"plain": True}]

    def pump():
        moved = False
        for side, bio, peer in ((0, cout, sin), (1, sout, cin)):
            data = bio.read()
            if data:
                peer.write(data)
                if frag:
                    data = refragment(data, frag, states[side])
                conn.send(side, data, seg)
                moved = True
        return moved

    done = [False, False]
    for _ in range(50):
        for i, o in enumerate((c, s)):
            if not done[i]:
                try:
                    o.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        if not pump() and all(done):
            break
    c.write(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    pump()
    try:
        s.read(4096)
    except ssl.SSLWantReadError:
        pass
    s.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pump()
    try:
        c.read(4096)
    except ssl.SSLWantReadError:
        pass
    for o in (c, s):
        try:
            o.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        pump()
    conn.close()


def openssl(*args):
    subprocess.run(("openssl",) + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certs(d):
    p = lambda n: os.path.join(d, n)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    # A self-signed OPC UA server certificate (RSA, as OPC UA security policies use).
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
            "-subj", "/C=DE/O=Terminal Automation/CN=opcua-server.crane-07",
            "-keyout", p("opcua.key"), "-out", p("opcua.pem"))
    # A plant CA and a broker certificate it issued.
    openssl("req", "-x509", *ec, "-days", "3650", "-subj", "/C=DE/O=Port Authority/CN=Terminal OT CA",
            "-keyout", p("ca.key"), "-out", p("ca.pem"))
    for name, subj in (("broker", "/C=DE/O=Terminal IT/CN=broker.terminal.example"),
                       ("client", "/C=DE/O=Crane Vendor/CN=sts-crane-07"),
                       ("short", "/O=Legacy HMI/CN=hmi-2.terminal.example")):
        openssl("req", "-new", *ec, "-subj", subj, "-keyout", p(name + ".key"), "-out", p(name + ".csr"))
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                "-set_serial", "0x" + name.encode().hex(), "-days", "30" if name == "short" else "825",
                "-sha256", "-out", p(name + ".pem"))


def main(outdir):
    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 is wanted here
    try:
        subprocess.run(("openssl", "version"), check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        print("SKIP: the openssl command is missing")
        return 77
    d = os.path.join(outdir, "certs")
    os.makedirs(d, exist_ok=True)
    make_certs(d)
    p = lambda n: os.path.join(d, n)
    cap = Pcap(os.path.join(outdir, "tls_cases.pcap"), time.time())

    def client(minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.TLSv1_3, alpn=None, cert=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version, ctx.maximum_version = minv, maxv
        if minv < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if cert:
            ctx.load_cert_chain(p(cert + ".pem"), p(cert + ".key"))
        return ctx

    def server(cert, minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.TLSv1_3, alpn=None,
               want_client=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(p(cert + ".pem"), p(cert + ".key"))
        ctx.minimum_version, ctx.maximum_version = minv, maxv
        if minv < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if want_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(p("ca.pem"))
        return ctx

    v12, v13, v10 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1
    # OPC UA over TLS, TLS 1.2, self-signed server certificate, small TCP segments.
    run(Conn(cap, "10.10.1.30", "10.30.7.20", 51001, 4843), client(), server("opcua", maxv=v12),
        "opcua.crane-07.terminal.example", seg=90)
    # MQTT over TLS 1.3 with ALPN: the certificate is encrypted.
    run(Conn(cap, "10.30.7.21", "10.20.0.40", 51002, 8883), client(alpn=["mqtt"]),
        server("broker", alpn=["mqtt"]), "broker.terminal.example")
    # TLS 1.2 with a client certificate, every plaintext handshake message cut into 100-byte
    # records and the records cut into 60-byte segments.
    run(Conn(cap, "10.30.7.22", "10.20.0.40", 51003, 443),
        client(maxv=v12, cert="client", alpn=["h2", "http/1.1"]),
        server("broker", maxv=v12, want_client=True, alpn=["http/1.1"]),
        "broker.terminal.example", seg=60, frag=100)
    # A legacy HMI that still speaks TLS 1.0.
    try:
        run(Conn(cap, "10.10.1.31", "10.30.9.5", 51004, 443), client(minv=v10, maxv=v10),
            server("short", minv=v10, maxv=v10), "hmi-2.terminal.example")
    except ssl.SSLError:
        pass  # an OpenSSL build without TLS 1.0: the case is simply absent
    # The same HMI a year later: its 30-day certificate has expired.
    cap.t += 365 * 86400
    run(Conn(cap, "10.10.1.31", "10.30.9.5", 51005, 443), client(maxv=v12),
        server("short", maxv=v12), "hmi-2.terminal.example")
    cap.f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
