#!/usr/bin/env python3
"""Writes dcp_services.pcap: PROFINET DCP exchanges the public corpus lacks (Get, Set, Hello,
the control blocks, error answers), built after IEC 61158-6-10 s.4.3 with the same bytes as
tests/unit/test_profinet_dcp.c. tests/e2e/test_profinet_dcp_tshark.sh compares our reading of
it with tshark's. Run it to regenerate the file: python3 make_dcp_services.py"""
import struct, sys, os

MC = bytes.fromhex("010ecf000000")
CTRL = bytes.fromhex("00a0456dd343")
DEV1 = bytes.fromhex("00099143e067")
DEV2 = bytes.fromhex("001b1b029ac3")

def dcp(frame_id, sid, stype, xid, delay, blocks):
    return struct.pack(">HBBIHH", frame_id, sid, stype, xid, delay, len(blocks)) + blocks

def blk(opt, sub, value, word=None):
    v = (struct.pack(">H", word) if word is not None else b"") + value
    b = struct.pack(">BBH", opt, sub, len(v)) + v
    return b + (b"\0" if len(v) % 2 else b"")

def rsp(opt, sub, err):
    return blk(5, 4, bytes([opt, sub, err]))

frames = [
    # Set: start, NameOfStation (permanent), IP (temporary), end; and its answer
    (CTRL, DEV1, dcp(0xFEFD, 4, 0, 0x1234, 0,
                     blk(5, 1, b"", 0) + blk(2, 2, b"plc-7", 1) +
                     blk(1, 2, bytes([10, 0, 0, 7, 255, 255, 255, 0, 10, 0, 0, 1]), 0) +
                     blk(5, 2, b"", 0))),
    (DEV1, CTRL, dcp(0xFEFD, 4, 1, 0x1234, 0,
                     rsp(5, 1, 0) + rsp(2, 2, 0) + rsp(1, 2, 0) + rsp(5, 2, 0))),
    # Signal, factory reset, reset to factory (communication parameters)
    (CTRL, DEV1, dcp(0xFEFD, 4, 0, 1, 0, blk(5, 3, b"\x01\x00", 0))),
    (DEV1, CTRL, dcp(0xFEFD, 4, 1, 1, 0, rsp(5, 3, 0))),
    (CTRL, DEV1, dcp(0xFEFD, 4, 0, 2, 0, blk(5, 5, b"", 0))),
    (DEV1, CTRL, dcp(0xFEFD, 4, 1, 2, 0, rsp(5, 5, 1))),
    (CTRL, DEV1, dcp(0xFEFD, 4, 0, 3, 0, blk(5, 6, b"", 4))),
    # Full IP suite set refused in operation
    (CTRL, DEV1, dcp(0xFEFD, 4, 0, 9, 0,
                     blk(1, 3, bytes([10, 0, 0, 8, 255, 255, 0, 0, 10, 0, 0, 1,
                                      10, 0, 0, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1))),
    (DEV1, CTRL, dcp(0xFEFD, 4, 1, 9, 0, rsp(1, 3, 6))),
    # Get NameOfStation, IP parameter, DeviceID; the answer
    (CTRL, DEV1, dcp(0xFEFD, 3, 0, 7, 0, bytes([2, 2, 1, 2, 2, 3]))),
    (DEV1, CTRL, dcp(0xFEFD, 3, 1, 7, 0,
                     blk(2, 2, b"io-1x", 0) +
                     blk(1, 2, bytes([192, 168, 0, 9, 255, 255, 255, 0, 0, 0, 0, 0]), 1) +
                     blk(2, 3, bytes([0x00, 0x2a, 0x03, 0x13]), 0))),
    # Get of an unsupported option, answered "request not supported"
    (CTRL, DEV2, dcp(0xFEFD, 3, 0, 8, 0, bytes([0x80, 0x01]))),
    (DEV2, CTRL, dcp(0xFEFD, 3, 5, 8, 0, b"")),
    # Identify all, answered by a Siemens device with alias, instance and OEM id
    (CTRL, MC, dcp(0xFEFE, 5, 0, 0x77, 400, blk(0xFF, 0xFF, b""))),
    (DEV2, CTRL, dcp(0xFEFF, 5, 1, 0x77, 0,
                     blk(2, 2, b"et200sp-1", 0) + blk(2, 1, b"ET200SP", 0) +
                     blk(2, 3, bytes([0x00, 0x2a, 0x03, 0x13]), 0) +
                     blk(2, 4, bytes([0x01, 0x00]), 0) +
                     blk(2, 6, b"port-001.et200sp-1", 0) + blk(2, 7, bytes([0, 1]), 0) +
                     blk(2, 8, bytes([0x00, 0x2a, 0x01, 0x02]), 0) +
                     blk(1, 2, bytes([192, 168, 0, 10, 255, 255, 255, 0, 192, 168, 0, 1]), 1))),
    # Hello from a device after power-up
    (DEV2, MC, dcp(0xFEFC, 6, 0, 0x42, 0,
                   blk(2, 2, b"abc", 0) + blk(2, 3, bytes([0x00, 0x2a, 0x03, 0x13]), 0) +
                   blk(2, 4, bytes([0x02, 0x00]), 0) +
                   blk(1, 2, bytes([192, 168, 0, 11, 255, 255, 255, 0, 0, 0, 0, 0]), 2))),
]

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcp_services.pcap")
with open(out, "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1700000000
    for i, (src, dst, payload) in enumerate(frames):
        frame = dst + src + b"\x88\x92" + payload
        frame += b"\0" * max(0, 60 - len(frame))
        fh.write(struct.pack("<IIII", t, i * 1000, len(frame), len(frame)))
        fh.write(frame)
print(out)
