#!/usr/bin/env python3
"""Writes mms_services.pcap: one TCP connection to port 102 carrying MMS services that the
public corpus lacks (program invocation control, domain and file services, named variable
lists, IEC 61850 control writes, cancel, reject, conclude), each PDU in TPKT / COTP DT / session
GIVE TOKENS + DATA TRANSFER / presentation fully-encoded data (context 3), built after
ISO 9506-2. tests/e2e/test_mms_tshark.sh compares our reading of it with tshark's.
Run it to regenerate the file: python3 make_mms_services.py"""
import os, struct, sys

def ln(n):
    if n < 0x80: return bytes([n])
    if n < 0x100: return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xff])

def tlv(cls_pc, tag, content=b""):
    if tag < 31: ident = bytes([cls_pc | tag])
    else: ident = bytes([cls_pc | 0x1f]) + (bytes([0x80 | (tag >> 7)]) if tag >= 128 else b"") + bytes([tag & 0x7f])
    return ident + ln(len(content)) + content

CTX, CTXC, UNIV, UNIVC = 0x80, 0xa0, 0x00, 0x20

def integer(v, cls=UNIV, tag=2):
    b = v.to_bytes(4, "big", signed=True)
    while len(b) > 1 and ((b[0] == 0 and b[1] < 0x80) or (b[0] == 0xff and b[1] >= 0x80)):
        b = b[1:]
    return tlv(cls, tag, b)

def vstr(s, cls=UNIV, tag=26): return tlv(cls, tag, s.encode())
def dom_name(d, i): return tlv(CTXC, 1, vstr(d) + vstr(i))
def var_list(names):
    items = b"".join(tlv(UNIVC, 16, tlv(CTXC, 0, dom_name(*n.split("/", 1)))) for n in names)
    return tlv(CTXC, 0, items)
def filename(*parts): return b"".join(vstr(p, UNIV, 25) for p in parts)
def req(inv, svc): return tlv(CTXC, 0, integer(inv) + svc)
def rsp(inv, svc): return tlv(CTXC, 1, integer(inv) + svc)

pdus = [
    ("c", req(1, tlv(CTXC, 1, tlv(CTXC, 0, tlv(CTX, 0, b"\x09")) + tlv(CTXC, 1, tlv(CTX, 0))))),
    ("s", rsp(1, tlv(CTXC, 1, tlv(CTXC, 0, vstr("LD0") + vstr("PROT")) + tlv(CTX, 1, b"\x00")))),
    ("c", req(2, tlv(CTXC, 1, tlv(CTXC, 0, tlv(CTX, 0, b"\x00")) + tlv(CTXC, 1, vstr("LD0", CTX, 1))))),
    ("s", rsp(2, tlv(CTXC, 1, tlv(CTXC, 0, vstr("LLN0") + vstr("XCBR1")) + tlv(CTX, 1, b"\xff")))),
    ("c", req(3, tlv(CTXC, 4, tlv(CTXC, 1, var_list(["LD0/XCBR1$ST$Pos$stVal", "LD0/LLN0$ST$Mod$stVal"]))))),
    ("s", rsp(3, tlv(CTXC, 4, tlv(CTXC, 1, tlv(CTX, 9, b"\x02\x80") + tlv(CTX, 0, b"\x0a"))))),
    ("c", req(4, tlv(CTXC, 5, var_list(["LD0/CSWI1$CO$Pos$Oper"]) +
                     tlv(CTXC, 0, tlv(CTXC, 2, tlv(CTX, 3, b"\x01") + tlv(CTX, 3, b"\x00")))))),
    ("s", rsp(4, tlv(CTXC, 5, tlv(CTX, 1)))),
    ("c", req(5, tlv(CTXC, 40, vstr("PLCPROG", CTX, 0)))),
    ("s", rsp(5, tlv(CTX, 40))),
    ("c", req(6, tlv(CTXC, 41, vstr("PLCPROG", CTX, 0)))),
    ("s", rsp(6, tlv(CTX, 41))),
    ("c", req(7, tlv(CTXC, 42, vstr("PLCPROG", CTX, 0)))),
    ("c", req(8, tlv(CTXC, 43, vstr("PLCPROG", CTX, 0)))),
    ("c", req(9, tlv(CTXC, 44, vstr("PLCPROG", CTX, 0)))),
    ("s", tlv(CTXC, 2, integer(9, CTX, 0) + tlv(CTXC, 2, tlv(CTXC, 0, integer(2, CTX, 0)) +
                                             vstr("not running", CTX, 2)))),
    ("c", req(10, vstr("RECIPE", CTX, 36))),
    ("c", req(11, tlv(CTXC, 26, vstr("RECIPE", CTX, 0) + tlv(CTXC, 1) + tlv(CTX, 2, b"\x00")))),
    ("s", rsp(11, tlv(CTX, 26))),
    ("c", req(12, tlv(CTXC, 72, tlv(CTXC, 0, filename("COMTRADE", "fault1.cfg")) + integer(0, CTX, 1)))),
    ("s", rsp(12, tlv(CTXC, 72, integer(17, CTX, 0) + tlv(CTXC, 1, integer(1024, CTX, 0))))),
    ("c", req(13, integer(17, CTX, 73))),
    ("c", req(14, integer(17, CTX, 74))),
    ("c", req(15, tlv(CTXC, 77, tlv(CTXC, 0, filename("COMTRADE"))))),
    # listOfDirectoryEntry [0] is an explicit tag around the SEQUENCE OF DirectoryEntry
    ("s", rsp(15, tlv(CTXC, 77, tlv(CTXC, 0, tlv(UNIVC, 16, tlv(UNIVC, 16,
                                     tlv(CTXC, 0, filename("fault1.cfg")) +
                                     tlv(CTXC, 1, integer(1024, CTX, 0)))))
                                 + tlv(CTX, 1, b"\x00")))),
    ("c", req(16, tlv(CTXC, 76, filename("COMTRADE", "old.dat")))),
    ("c", req(17, tlv(CTXC, 75, tlv(CTXC, 0, filename("a.txt")) + tlv(CTXC, 1, filename("b.txt"))))),
    ("c", req(18, tlv(CTXC, 46, tlv(CTXC, 1, filename("src.bin")) + tlv(CTXC, 2, filename("dst.bin"))))),
    ("c", req(19, tlv(CTXC, 11, dom_name("LD0", "LLN0$DS9") +
                      tlv(CTXC, 0, tlv(UNIVC, 16, tlv(CTXC, 0, dom_name("LD0", "MMXU1$MX$TotW"))))))),
    ("s", rsp(19, tlv(CTX, 11))),
    ("c", req(20, tlv(CTXC, 12, dom_name("LD0", "LLN0$DS9")))),
    ("s", rsp(20, tlv(CTXC, 12, tlv(CTX, 0, b"\xff") +
                      tlv(CTXC, 1, tlv(UNIVC, 16, tlv(CTXC, 0, dom_name("LD0", "MMXU1$MX$TotW"))))))),
    ("c", req(21, tlv(CTXC, 13, tlv(CTXC, 1, dom_name("LD0", "LLN0$DS9"))))),
    ("s", rsp(21, tlv(CTXC, 13, integer(1, CTX, 0) + integer(1, CTX, 1)))),
    ("c", req(22, tlv(CTX, 0, b"\x00"))),
    ("s", rsp(22, tlv(CTXC, 0, integer(0, CTX, 0) + integer(1, CTX, 1)))),
    ("c", req(23, tlv(CTX, 2))),
    ("s", rsp(23, tlv(CTXC, 2, vstr("Example IED Co", CTX, 0) + vstr("Relay 7", CTX, 1) + vstr("4.2", CTX, 2)))),
    ("c", req(24, tlv(CTX, 2))),
    ("s", tlv(CTXC, 4, integer(24, CTX, 0) + integer(1, CTX, 1))),
    ("c", req(25, tlv(CTXC, 4, tlv(CTXC, 1, var_list(["LD0/LLN0$ST$Mod$stVal"]))))),
    ("c", integer(25, CTX, 5)),
    ("s", integer(25, CTX, 6)),
    ("s", tlv(CTXC, 3, tlv(CTXC, 0, tlv(CTXC, 1, vstr("RPT", CTX, 0)) +
                             tlv(CTXC, 0, vstr("LD0/LLN0$BR$brcb01", CTX, 10) + tlv(CTX, 3, b"\x01"))))),
    ("c", tlv(CTX, 11)),
    ("s", tlv(CTX, 12)),
]

def tpdu(mms):
    pdv = tlv(UNIVC, 16, integer(3) + tlv(CTXC, 0, mms))
    tsdu = b"\x01\x00\x01\x00" + tlv(0x60, 1, pdv)
    return struct.pack(">BBH", 3, 0, 7 + len(tsdu)) + b"\x02\xf0\x80" + tsdu

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

C_IP, S_IP = bytes([10, 30, 0, 5]), bytes([10, 30, 0, 9])
C_MAC, S_MAC = bytes.fromhex("0011223344aa"), bytes.fromhex("00000023aabb")
seq = {"c": 1000, "s": 5000}

def segment(frm, flags, payload=b""):
    src, dst = (C_IP, S_IP) if frm == "c" else (S_IP, C_IP)
    sp, dp = (40001, 102) if frm == "c" else (102, 40001)
    other = "s" if frm == "c" else "c"
    tcp = struct.pack(">HHIIBBHHH", sp, dp, seq[frm], seq[other], 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack(">BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack(">H", c) + tcp[18:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack(">H", csum(ip)) + ip[12:]
    eth = (S_MAC + C_MAC if frm == "c" else C_MAC + S_MAC) + b"\x08\x00"
    seq[frm] = (seq[frm] + len(payload) + (1 if flags & 0x03 else 0)) & 0xffffffff
    return eth + ip + tcp + payload

frames = [segment("c", 0x02)]
seq["s"] -= 0
frames.append(segment("s", 0x12))
frames.append(segment("c", 0x10))
for frm, mms in pdus:
    frames.append(segment(frm, 0x18, tpdu(mms)))
frames.append(segment("c", 0x11))
frames.append(segment("s", 0x11))
frames.append(segment("c", 0x10))

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "mms_services.pcap")
with open(out, "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        fh.write(struct.pack("<IIII", 1700000000, i * 2000, len(fr), len(fr)))
        fh.write(fr)
print(out)
