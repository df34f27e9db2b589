#!/usr/bin/env python3
"""Write a small SMB2/3 capture for the SMB parser's tshark differential (stdlib only).

The public corpus has SMB1 only, so this builds two TCP/445 connections byte by byte from
MS-SMB2 (v20240423) and MS-NLMP layouts:

  1. A Windows-style session: NEGOTIATE (3.0.2), SESSION_SETUP with SPNEGO-wrapped NTLMSSP
     NEGOTIATE / CHALLENGE (target info names, version 10.0.17763) / AUTHENTICATE (PORTOPS\\
     crane.eng from HMI-07, NTLMv2-sized response), TREE_CONNECT \\\\SCADA01\\recipes, CREATE
     with OVERWRITE_IF, WRITE, a 70000-byte READ (longer than the parser's inline limit), a
     compounded CREATE+CLOSE failing with STATUS_OBJECT_NAME_NOT_FOUND, CHANGE_NOTIFY answered
     first by an async STATUS_PENDING interim response, then CANCEL and STATUS_CANCELLED,
     CLOSE, one encrypted (transform header) message each way, TREE_DISCONNECT, LOGOFF.
  2. A multi-protocol negotiate: an SMB1 NEGOTIATE offering "SMB 2.002" and "SMB 2.???"
     answered by an SMB2 NEGOTIATE response with the wildcard dialect 0x02FF.

Segments are cut at the MSS, one message is split inside its SMB2 header, and one segment
carries two messages. Checksums are correct. Usage: gen_smb2_pcap.py OUT.pcap
"""
import struct
import sys

MSS = 1448
CLIENT_MAC = bytes.fromhex("00155d0a0f07")
SERVER_MAC = bytes.fromhex("00155d0a0005")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Conn:
    def __init__(self, out, cip, cport, sip, sport):
        self.out, self.cip, self.cport, self.sip, self.sport = out, cip, cport, sip, sport
        self.seq = [1000, 50000]  # client, server
        self.ipid = 1

    def frame(self, from_client, flags, payload=b""):
        src, dst = (self.cip, self.sip) if from_client else (self.sip, self.cip)
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        d = 0 if from_client else 1
        seq, ack = self.seq[d], self.seq[1 - d]
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack if flags & 0x10 else 0, 5 << 4, flags,
                          64240, 0, 0)
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        c = csum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.ipid, 0x4000,
                         128, 6, 0, ip4(src), ip4(dst))
        self.ipid += 1
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = (SERVER_MAC + CLIENT_MAC if from_client else CLIENT_MAC + SERVER_MAC) + b"\x08\x00"
        self.out.append(eth + ip + tcp + payload)
        self.seq[d] += len(payload) + (1 if flags & 0x03 else 0)

    def handshake(self):
        self.frame(True, 0x02)
        self.frame(False, 0x12)
        self.frame(True, 0x10)

    def send(self, from_client, data, cuts=None):
        """Send bytes, cut at the MSS or at the given offsets."""
        points = sorted(set((cuts or []) + list(range(MSS, len(data), MSS))))
        start = 0
        for p in points + [len(data)]:
            if p > start:
                self.frame(from_client, 0x18, data[start:p])
                start = p

    def close(self):
        self.frame(True, 0x11)
        self.frame(False, 0x11)
        self.frame(True, 0x10)


def nbss(msg):
    return struct.pack("!I", len(msg)) + msg


def utf16(s):
    return s.encode("utf-16-le")


# ---- DER / SPNEGO ----

def der(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + ln + body


OID_SPNEGO = der(0x06, bytes.fromhex("2b0601050502"))
OID_NTLM = der(0x06, bytes.fromhex("2b0601040182370202 0a".replace(" ", "")))


def neg_token_init(token=None):
    body = der(0xA0, der(0x30, OID_NTLM))
    if token is not None:
        body += der(0xA2, der(0x04, token))
    return der(0x60, OID_SPNEGO + der(0xA0, der(0x30, body)))


def neg_token_resp(state=None, token=None, mech=False):
    body = b""
    if state is not None:
        body += der(0xA0, der(0x0A, bytes([state])))
    if mech:
        body += der(0xA1, OID_NTLM)
    if token is not None:
        body += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, body))


# ---- NTLMSSP ----

VERSION_CLIENT = struct.pack("<BBH3xB", 10, 0, 19041, 15)
VERSION_SERVER = struct.pack("<BBH3xB", 10, 0, 17763, 15)
FLAGS = 0xE2898235  # UNICODE, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, TARGET_INFO,
#                     VERSION, 128, KEY_EXCH, 56 ...


def ntlm_negotiate():
    return b"NTLMSSP\0" + struct.pack("<II", 1, FLAGS) + struct.pack("<HHI", 0, 0, 40) * 2 + \
        VERSION_CLIENT


def av(i, v):
    return struct.pack("<HH", i, len(v)) + v


def ntlm_challenge():
    target = utf16("PORTOPS")
    info = (av(2, utf16("PORTOPS")) + av(1, utf16("SCADA01")) + av(4, utf16("portops.local")) +
            av(3, utf16("scada01.portops.local")) + av(5, utf16("portops.local")) +
            av(7, struct.pack("<Q", 0x01D9F00000000000)) + av(0, b""))
    off = 56
    hdr = b"NTLMSSP\0" + struct.pack("<I", 2) + struct.pack("<HHI", len(target), len(target), off)
    hdr += struct.pack("<I", FLAGS) + bytes.fromhex("0123456789abcdef") + b"\0" * 8
    hdr += struct.pack("<HHI", len(info), len(info), off + len(target)) + VERSION_SERVER
    return hdr + target + info


def ntlm_authenticate():
    lm = b"\0" * 24
    # NTLMv2 response (MS-NLMP s.2.2.2.8): NTProofStr, then NTLMv2_CLIENT_CHALLENGE with
    # RespType 1, HiRespType 1, timestamp, client challenge and an empty AV pair list.
    nt = (bytes(range(16)) + b"\x01\x01" + b"\0" * 6 + struct.pack("<Q", 0x01D9F00000000000) +
          bytes(range(8)) + b"\0" * 4 + av(0, b""))
    dom, user, ws = utf16("PORTOPS"), utf16("crane.eng"), utf16("HMI-07")
    key = bytes(range(100, 116))
    off = 88
    fields = b""
    payload = b""
    for item in (lm, nt, dom, user, ws, key):
        fields += struct.pack("<HHI", len(item), len(item), off + len(payload))
        payload += item
    hdr = b"NTLMSSP\0" + struct.pack("<I", 3) + fields + struct.pack("<I", FLAGS) + \
        VERSION_CLIENT + b"\0" * 16
    assert len(hdr) == off
    return hdr + payload


# ---- SMB2 ----

SESSION = 0x0000100000000041


def hdr(cmd, msg_id, status=0, response=False, tree=0, session=0, next_cmd=0, async_id=None,
        related=False):
    flags = (1 if response else 0) | (2 if async_id is not None else 0) | (4 if related else 0)
    if async_id is not None:
        return struct.pack("<4sHHIHHIIQQQ16s", b"\xfeSMB", 64, 1, status, cmd, 1, flags, next_cmd,
                           msg_id, async_id, session, b"\0" * 16)
    return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, cmd, 1, flags, next_cmd,
                       msg_id, 0xFEFF, tree, session, b"\0" * 16)


def error_body():
    return struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"


def negotiate_req(msg_id, dialects):
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0x7F, bytes(range(16)), 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    return hdr(0, msg_id) + body


def negotiate_rsp(msg_id, dialect):
    blob = neg_token_init()
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, dialect, 0, bytes(range(0xA0, 0xB0)), 0x2F,
                       8388608, 8388608, 8388608, 0x01D9F00000000000, 0, 128, len(blob), 0)
    return hdr(0, msg_id, response=True) + body + blob


def session_req(msg_id, blob, session=0):
    body = struct.pack("<HBBIIHHQ", 25, 0, 1, 1, 0, 88, len(blob), 0)
    return hdr(1, msg_id, session=session) + body + blob


def session_rsp(msg_id, status, blob):
    body = struct.pack("<HHHH", 9, 0, 72, len(blob))
    return hdr(1, msg_id, status=status, response=True, session=SESSION) + body + blob


def tree_req(msg_id, path):
    p = utf16(path)
    return hdr(3, msg_id, session=SESSION) + struct.pack("<HHHH", 9, 0, 72, len(p)) + p


def tree_rsp(msg_id, tree):
    return hdr(3, msg_id, response=True, tree=tree, session=SESSION) + \
        struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x001F01FF)


def create_req(msg_id, tree, name, disposition, access, options, next_cmd=0, related=False):
    n = utf16(name)
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 7, disposition,
                       options, 120, len(n), 0, 0)
    msg = hdr(5, msg_id, tree=tree, session=SESSION, next_cmd=next_cmd, related=related) + body + n
    return msg


def create_rsp(msg_id, tree, file_id, action, eof):
    body = struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, action, 1, 2, 3, 4, 4096, eof, 0x80, 0,
                       file_id, 0, 0)
    return hdr(5, msg_id, response=True, tree=tree, session=SESSION) + body


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


FILE_ID = bytes.fromhex("11223344556677880102030405060708")


def build():
    frames = []
    c = Conn(frames, "10.20.0.15", 49731, "10.20.0.5", 445)
    c.handshake()
    tree = 5
    # NEGOTIATE, split inside the SMB2 header of the request
    c.send(True, nbss(negotiate_req(0, [0x0202, 0x0210, 0x0300, 0x0302])), cuts=[20])
    c.send(False, nbss(negotiate_rsp(0, 0x0302)))
    # SESSION_SETUP, three legs of NTLM
    c.send(True, nbss(session_req(1, neg_token_init(ntlm_negotiate()))))
    c.send(False, nbss(session_rsp(1, 0xC0000016, neg_token_resp(1, ntlm_challenge(), True))))
    c.send(True, nbss(session_req(2, neg_token_resp(None, ntlm_authenticate()), SESSION)))
    c.send(False, nbss(session_rsp(2, 0, neg_token_resp(0))))
    # TREE_CONNECT
    c.send(True, nbss(tree_req(3, "\\\\SCADA01\\recipes")))
    c.send(False, nbss(tree_rsp(3, tree)))
    # CREATE (OVERWRITE_IF, read/write), WRITE, READ
    c.send(True, nbss(create_req(4, tree, "crane7\\setpoints.csv", 5, 0x0012019F, 0x44)))
    c.send(False, nbss(create_rsp(4, tree, FILE_ID, 3, 0)))
    data = bytes(i & 0xFF for i in range(100))
    write = hdr(9, 5, tree=tree, session=SESSION) + \
        struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), 0, FILE_ID, 0, 0, 0, 0, 0) + data
    c.send(True, nbss(write))
    c.send(False, nbss(hdr(9, 5, response=True, tree=tree, session=SESSION) +
                       struct.pack("<HHIIHH", 17, 0, len(data), 0, 0, 0)))
    big = 70000
    c.send(True, nbss(hdr(8, 6, tree=tree, session=SESSION) +
                      struct.pack("<HBBIQ16sIIIHH", 49, 0x50, 0, big, 0, FILE_ID, 0, 0, 0, 0, 0) +
                      b"\0"))
    c.send(False, nbss(hdr(8, 6, response=True, tree=tree, session=SESSION) +
                       struct.pack("<HBBIII", 17, 80, 0, big, 0, 0) +
                       bytes((i * 7) & 0xFF for i in range(big))))
    # Compounded CREATE + related CLOSE on a missing file; both answers in one message
    first = pad8(create_req(7, tree, "missing.txt", 1, 0x00120089, 0x40))
    first = first[:20] + struct.pack("<I", len(first)) + first[24:]
    close = hdr(6, 8, tree=tree, session=SESSION, related=True) + \
        struct.pack("<HHI16s", 24, 0, 0, b"\xff" * 16)
    c.send(True, nbss(first + close))
    r1 = pad8(hdr(5, 7, status=0xC0000034, response=True, tree=tree, session=SESSION) +
              error_body())
    r1 = r1[:20] + struct.pack("<I", len(r1)) + r1[24:]
    r2 = hdr(6, 8, status=0xC0000034, response=True, tree=tree, session=SESSION) + error_body()
    c.send(False, nbss(r1 + r2))
    # CHANGE_NOTIFY: interim STATUS_PENDING, CANCEL, final STATUS_CANCELLED
    c.send(True, nbss(hdr(15, 9, tree=tree, session=SESSION) +
                      struct.pack("<HHI16sII", 32, 0, 4096, FILE_ID, 0x17, 0)))
    interim = hdr(15, 9, status=0x103, response=True, session=SESSION, async_id=0x77) + \
        error_body()
    c.send(False, nbss(interim))
    c.send(True, nbss(hdr(12, 10, session=SESSION, async_id=0x77) + struct.pack("<HH", 4, 0)))
    final = hdr(15, 9, status=0xC0000120, response=True, session=SESSION, async_id=0x77) + \
        error_body()
    # CLOSE request follows; the final notify answer and the close answer share a segment
    c.send(True, nbss(hdr(6, 11, tree=tree, session=SESSION) +
                      struct.pack("<HHI16s", 24, 0, 0, FILE_ID)))
    close_rsp = hdr(6, 11, response=True, tree=tree, session=SESSION) + \
        struct.pack("<HHIQQQQQQI", 60, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    c.send(False, nbss(final) + nbss(close_rsp))
    # One encrypted message each way (SMB 3 transform header; the ciphertext is filler)
    for from_client in (True, False):
        enc = bytes((i * 13) & 0xFF for i in range(80))
        c.send(from_client, nbss(struct.pack("<4s16s16sIHHQ", b"\xfdSMB", b"\x5a" * 16,
                                             b"\xa5" * 16, len(enc), 0, 1, SESSION) + enc))
    # TREE_DISCONNECT, LOGOFF
    c.send(True, nbss(hdr(4, 12, tree=tree, session=SESSION) + struct.pack("<HH", 4, 0)))
    c.send(False, nbss(hdr(4, 12, response=True, tree=tree, session=SESSION) +
                       struct.pack("<HH", 4, 0)))
    c.send(True, nbss(hdr(2, 13, session=SESSION) + struct.pack("<HH", 4, 0)))
    c.send(False, nbss(hdr(2, 13, response=True, session=SESSION) + struct.pack("<HH", 4, 0)))
    c.close()

    # Connection 2: SMB1 multi-protocol NEGOTIATE answered in SMB2
    d = Conn(frames, "10.20.0.15", 49732, "10.20.0.5", 445)
    d.handshake()
    dialects = b"".join(b"\x02" + n + b"\0" for n in (b"NT LM 0.12", b"SMB 2.002", b"SMB 2.???"))
    smb1 = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", 0x72, 0, 0x18, 0xC853, 0, b"\0" * 8, 0, 0,
                       0xFEFF, 0, 0) + b"\0" + struct.pack("<H", len(dialects)) + dialects
    d.send(True, nbss(smb1))
    d.send(False, nbss(negotiate_rsp(0, 0x02FF)))
    d.close()
    return frames


def main():
    frames = build()
    with open(sys.argv[1], "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1767225600  # 2026-01-01T00:00:00Z
        for i, f in enumerate(frames):
            us = i * 1000
            fh.write(struct.pack("<IIII", t + us // 1000000, us % 1000000, len(f), len(f)))
            fh.write(f)


if __name__ == "__main__":
    main()
