"""A small synthetic TFTP capture for tests/e2e/test_tftp_tshark.sh, written at test time.

    python3 gen_tftp.py OUT.pcap

Four exchanges between an engineering station and three devices, each request to UDP 69 and
its transfer on a port the server picks ([RFC 1350] s.4):
  1. a write with options: WRQ blksize 1428 tsize 3000, OACK, three blocks (1428, 1428, 144);
  2. a read of a file that is an exact multiple of the block size: four 512-byte blocks, then
     an empty DATA 5, each acknowledged;
  3. a read of a missing file: ERROR 1 (file not found) from the server's new port;
  4. a read sent twice without answer, then ERROR 2 (access violation) from port 69 itself.
Frames are built with tests/e2e/pcapbuild.py (PYTHONPATH must name tests/e2e).
"""
import struct
import sys

import pcapbuild as pb


def cstr(s):
    return s.encode() + b"\0"


def request(op, name, mode, opts=()):
    return struct.pack("!H", op) + cstr(name) + cstr(mode) + b"".join(cstr(k) + cstr(v) for k, v in opts)


def data(block, payload):
    return struct.pack("!HH", 3, block) + payload


def ack(block):
    return struct.pack("!HH", 4, block)


def error(code, msg):
    return struct.pack("!HH", 5, code) + cstr(msg)


def oack(opts):
    return struct.pack("!H", 6) + b"".join(cstr(k) + cstr(v) for k, v in opts)


def body(n, seed):
    return bytes((i * 31 + seed) & 0xFF for i in range(n))


def main(out):
    ews = pb.Host("02:00:00:00:20:14", "10.20.0.20")
    plc = pb.Host("02:00:00:00:30:11", "10.30.1.11")
    rtu = pb.Host("02:00:00:00:30:12", "10.30.1.12")
    sw = pb.Host("02:00:00:00:30:01", "10.30.1.1")
    with pb.Writer(out, start="2026-11-20T21:30:00Z", step=0.002) as w:
        # 1. write with OACK
        opts = [("blksize", "1428"), ("tsize", "3000")]
        w.write(pb.udp(ews, plc, 50001, 69, request(2, "crane1/config.bin", "octet", opts)))
        w.write(pb.udp(plc, ews, 61001, 50001, oack(opts)))
        sizes = [1428, 1428, 144]
        for blk, n in enumerate(sizes, 1):
            w.write(pb.udp(ews, plc, 50001, 61001, data(blk, body(n, blk))))
            w.write(pb.udp(plc, ews, 61001, 50001, ack(blk)))
        w.advance(1)
        # 2. read of an exact multiple of 512: ends with an empty block
        w.write(pb.udp(ews, rtu, 50002, 69, request(1, "firmware/rtu.img", "octet")))
        for blk in range(1, 6):
            w.write(pb.udp(rtu, ews, 61002, 50002, data(blk, body(512 if blk < 5 else 0, blk))))
            w.write(pb.udp(ews, rtu, 50002, 61002, ack(blk)))
        w.advance(1)
        # 3. file not found, from the new port
        w.write(pb.udp(ews, sw, 50003, 69, request(1, "missing.cfg", "netascii")))
        w.write(pb.udp(sw, ews, 61003, 50003, error(1, "File not found")))
        w.advance(1)
        # 4. a retried request answered from port 69
        w.write(pb.udp(ews, sw, 50004, 69, request(1, "locked.bin", "octet")))
        w.write(pb.udp(ews, sw, 50004, 69, request(1, "locked.bin", "octet")), gap=0.5)
        w.write(pb.udp(sw, ews, 69, 50004, error(2, "Access violation")))


if __name__ == "__main__":
    main(sys.argv[1])
