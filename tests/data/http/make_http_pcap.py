#!/usr/bin/env python3
"""Write small captures of HTTP/1.x conversations for the HTTP differential test.

Each conversation is a real TCP connection (handshake, sequence numbers, checksums, FIN) so
tshark reassembles it as it would live traffic. They cover what the public corpus lacks:
device web UIs with <title> (chunked and until-close bodies), pipelining, HEAD, 100-continue,
Basic authentication with a 401 challenge, 204/304 without bodies, a chunked request body and a
compressed page. Usage: make_http_pcap.py OUTDIR (stdlib only, deterministic output); it
writes OUTDIR/http_cases.pcap and OUTDIR/http_pipelined_head.pcap, the latter kept apart
because tshark 4.0 mis-frames it (see test_http_tshark.sh).
"""
import os
import gzip
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1795000000.0  # 2026-11-18, packet time only
        self.ip_id = 1

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp) + len(payload))
        c = checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ip_id, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        mac = lambda a: b"\x02\x00" + a  # locally administered, from the IP
        eth = mac(dst) + mac(src) + b"\x08\x00"
        pkt = eth + ip + tcp + payload
        self.t += 0.0005
        sec = int(self.t)
        usec = int(round((self.t - sec) * 1e6))
        self.f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)))
        self.f.write(pkt)

    def close(self):
        self.f.close()


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


class Conn:
    def __init__(self, cap, cli, srv, cport, sport):
        self.cap = cap
        self.ip = [bytes(map(int, cli.split("."))), bytes(map(int, srv.split(".")))]
        self.port = [cport, sport]
        self.seq = [1000, 500000]
        self.cap.frame(self.ip[0], self.ip[1], cport, sport, self.seq[0], 0, SYN)
        self.seq[0] += 1
        self.cap.frame(self.ip[1], self.ip[0], sport, cport, self.seq[1], self.seq[0], SYN | ACK)
        self.seq[1] += 1
        self.cap.frame(self.ip[0], self.ip[1], cport, sport, self.seq[0], self.seq[1], ACK)

    def send(self, side, data, seg=1400):
        """side 0: client to server, 1: server to client."""
        if isinstance(data, str):
            data = data.encode()
        o = 1 - side
        for i in range(0, len(data), seg):
            chunk = data[i:i + seg]
            self.cap.frame(self.ip[side], self.ip[o], self.port[side], self.port[o],
                           self.seq[side], self.seq[o], PSH | ACK, chunk)
            self.seq[side] += len(chunk)
        self.cap.frame(self.ip[o], self.ip[side], self.port[o], self.port[side],
                       self.seq[o], self.seq[side], ACK)

    def close(self, side=0):
        o = 1 - side
        self.cap.frame(self.ip[side], self.ip[o], self.port[side], self.port[o],
                       self.seq[side], self.seq[o], FIN | ACK)
        self.seq[side] += 1
        self.cap.frame(self.ip[o], self.ip[side], self.port[o], self.port[side],
                       self.seq[o], self.seq[side], FIN | ACK)
        self.seq[o] += 1
        self.cap.frame(self.ip[side], self.ip[o], self.port[side], self.port[o],
                       self.seq[side], self.seq[o], ACK)


def chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def pipelined(cap, port, head):
    """GET, (HEAD,) POST and GET in one segment; their answers in one segment."""
    c = Conn(cap, "10.10.1.20", "10.20.0.10", port, 8080)
    body = b'{"setpoint":42}'
    c.send(0, b"GET /api/v1/cranes/status HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n"
              b"User-Agent: TOSClient/4.2\r\n\r\n" +
              (b"HEAD /api/v1/yard HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n\r\n"
               if head else b"") +
              b"POST /api/v1/berths/3 HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
              b"GET /missing HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n\r\n")
    c.send(1, b"HTTP/1.1 200 OK\r\nServer: tos-api\r\nContent-Type: application/json\r\n"
              b"Content-Length: 2\r\n\r\n{}" +
              (b"HTTP/1.1 200 OK\r\nServer: tos-api\r\nContent-Type: text/html\r\n"
               b"Content-Length: 5000\r\n\r\n" if head else b"") +
              b"HTTP/1.1 201 Created\r\nServer: tos-api\r\nContent-Type: text/plain\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"stored berth 3 schedule", 8) +
              b"HTTP/1.1 404 Not Found\r\nServer: tos-api\r\nContent-Length: 0\r\n\r\n")
    c.close()


def main(outdir):
    cap = Pcap(os.path.join(outdir, "http_cases.pcap"))
    UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0"

    # A PLC's web UI: chunked page, the title spread over chunks and TCP segments.
    page = (b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>\n  SIMATIC S7-1500"
            b"   crane-07\n</title></head><body>" + b"x" * 3000 + b"</body></html>\n")
    c = Conn(cap, "10.10.1.14", "10.30.7.10", 50001, 80)
    c.send(0, "GET /Portal/Portal.mwsl?PriNav=Ident HTTP/1.1\r\nHost: plc-crane-07.terminal.example"
              "\r\nUser-Agent: " + UA + "\r\nAccept: text/html\r\n\r\n")
    c.send(1, b"HTTP/1.1 200 OK\r\nServer: Siemens S7 Webserver\r\nContent-Type: text/html; "
              b"charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(page, 37), seg=97)
    c.close()

    # Pipelining on a keep-alive connection: requests in one segment, answers in another.
    pipelined(cap, 50002, head=False)

    # HEAD alone: the answer's Content-Length describes a body that is not sent.
    c = Conn(cap, "10.10.1.20", "10.20.0.10", 50008, 8080)
    c.send(0, "HEAD /api/v1/yard HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n\r\n")
    c.send(1, "HTTP/1.1 200 OK\r\nServer: tos-api\r\nContent-Type: text/html\r\n"
              "Content-Length: 5000\r\n\r\n")
    c.send(0, "GET /api/v1/yard/free HTTP/1.1\r\nHost: tos.terminal.example:8080\r\n\r\n")
    c.send(1, "HTTP/1.1 200 OK\r\nServer: tos-api\r\nContent-Type: application/json\r\n"
              "Content-Length: 4\r\n\r\n[17]")
    c.close()

    # Expect: 100-continue on a recipe upload.
    c = Conn(cap, "10.10.1.21", "10.40.0.5", 50003, 80)
    recipe = b"<recipe tank='T4'>" + b"p" * 600 + b"</recipe>"
    c.send(0, b"PUT /config/recipe.xml HTTP/1.1\r\nHost: tank-plc-4\r\nUser-Agent: curl/8.5.0\r\n"
              b"Expect: 100-continue\r\nContent-Type: application/xml\r\n"
              b"Content-Length: %d\r\n\r\n" % len(recipe))
    c.send(1, "HTTP/1.1 100 Continue\r\n\r\n")
    c.send(0, recipe, seg=256)
    c.send(1, "HTTP/1.1 204 No Content\r\nServer: lighttpd/1.4.59\r\n\r\n")
    c.close()

    # A camera: 401 challenge, then Basic credentials whose password holds a colon.
    c = Conn(cap, "10.10.1.22", "10.50.2.12", 50004, 80)
    c.send(0, "GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: cam-12.terminal.example\r\n"
              "User-Agent: python-requests/2.31.0\r\n\r\n")
    denied = "<html><title>401 - Unauthorized</title></html>\r\n"
    c.send(1, "HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\nWWW-Authenticate: Basic "
              "realm=\"Hikvision\"\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
              % (len(denied), denied))
    c.send(0, "GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: cam-12.terminal.example\r\n"
              "User-Agent: python-requests/2.31.0\r\nAuthorization: Basic YWRtaW46MTI6MzQ=\r\n\r\n")
    home = "<html><head><title>Hikvision Digital Technology</title></head>\n"
    c.send(1, "HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: text/html\r\n"
              "Content-Length: %d\r\n\r\n%s" % (len(home), home))
    c.close()

    # HTTP/1.0 and a body that ends with the connection.
    c = Conn(cap, "10.10.1.23", "10.30.9.2", 50005, 8000)
    c.send(0, "GET / HTTP/1.0\r\nUser-Agent: Wget/1.21\r\n\r\n")
    c.send(1, "HTTP/1.0 200 OK\r\nServer: MoxaHttp/2.2\r\nContent-Type: text/html\r\n\r\n"
              "<HTML><HEAD><TITLE>Moxa EDS-408A</TITLE></HEAD><BODY>switch</BODY></HTML>")
    c.close(side=1)

    # Conditional GET and a 204, both with no body; a chunked request body.
    c = Conn(cap, "10.10.1.24", "10.20.0.30", 50006, 80)
    c.send(0, "GET /trend.png HTTP/1.1\r\nHost: historian\r\nIf-None-Match: \"a1\"\r\n\r\n")
    c.send(1, "HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\nContent-Length: 1024\r\n\r\n")
    c.send(0, b"POST /write?db=terminal HTTP/1.1\r\nHost: historian\r\nTransfer-Encoding: chunked"
              b"\r\nContent-Type: text/plain\r\n\r\n" + chunked(b"plc,device=sts-01 value=12i\n" * 9, 50))
    c.send(1, "HTTP/1.1 204 No Content\r\nServer: nginx/1.22.1\r\n\r\n")
    c.close()

    # A compressed page: its title is not searched.
    c = Conn(cap, "10.10.1.25", "10.30.3.3", 50007, 8081)
    z = gzip.compress(b"<html><title>Schneider M580</title></html>", mtime=0)
    c.send(0, "GET / HTTP/1.1\r\nHost: m580-3\r\nAccept-Encoding: gzip\r\n\r\n")
    c.send(1, b"HTTP/1.1 200 OK\r\nServer: Schneider-WEB/V2.1.4\r\nContent-Type: text/html\r\n"
              b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(z) + z)
    c.close()
    cap.close()

    cap = Pcap(os.path.join(outdir, "http_pipelined_head.pcap"))
    pipelined(cap, 50012, head=True)
    cap.close()


if __name__ == "__main__":
    main(sys.argv[1])
