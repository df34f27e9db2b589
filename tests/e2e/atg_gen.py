"""Synthetic Veeder-Root TLS-350 (ATG) conversation: a pcap and the oracle of what it holds.

There is no public ATG capture in the corpus and no tshark dissector for the protocol, so this
script is the independent oracle for tests/e2e/test_atg.sh: it writes the conversation from the
Veeder-Root Serial Interface Manual (576013-635: s.5 command format, s.6.1 computer format with
its "&&" + 4-hex-digit checksum, s.6.2 display format, s.6.3 hex IEEE floats, function 201
layout) and records, in a JSON file, the values it put on the wire. `check` then compares
quaywatch's event log with those values, not with quaywatch's own output.

  atg_gen.py gen OUT.pcap EXPECTED.json
  atg_gen.py check EXPECTED.json EVENTS.json

Python 3 standard library only.
"""
import json
import math
import struct
import sys

SOH, ETX = b"\x01", b"\x03"
CLIENT, SERVER = ("10.20.30.50", 40001), ("10.20.30.20", 10001)
MSS = 1460


def checksum(msg):
    """[VR] s.6.1: the 16-bit two's complement of the sum of every octet through '&&'."""
    return (-sum(msg)) & 0xFFFF


def computer(body):
    """A computer-format answer: SOH + body + && + checksum + ETX."""
    head = SOH + body + b"&&"
    return head + b"%04X" % checksum(head) + ETX


def hexfloat(v):
    return b"%08X" % struct.unpack(">I", struct.pack(">f", v))[0]


# ---- The conversation ---------------------------------------------------------------------

STAMP = b"2403151041"  # YYMMDDHHmm
TANKS = [
    # tank, product, status, volume, tc_volume, ullage, height, water, temperature, water_vol
    (1, "1", 0x0000, [8123.5, 8050.25, 3876.5, 56.75, 0.5, 61.25, 12.0]),
    (2, "2", 0x0001, [4200.0, 4188.5, 7800.0, 33.125, 0.0, 58.5, 0.0]),
    (3, "3", 0x0004, [950.75, 947.0, 11049.25, 9.5, 1.25, 59.0, 25.5]),
]
STATION = [b"ACME FUEL DEPOT 7   ", b"1 HARBOUR ROAD      ", b"BERTH 4             ",
           b"                    "]


def inventory_body(tanks, code=b"i20100"):
    out = code + STAMP
    for tank, product, status, vals in tanks:
        out += b"%02d" % tank + product.encode() + b"%04X" % status + b"%02X" % len(vals)
        out += b"".join(hexfloat(v) for v in vals)
    return out


def exchanges():
    """(command segments, answer octets, expectation) per transaction, in order."""
    x = []
    # 1. Display-format inventory (what a person at a terminal types).
    text = (b"\r\nI20100\r\nMAR 15, 2024 10:41 AM\r\n\r\nACME FUEL DEPOT 7\r\n\r\n"
            b"IN-TANK INVENTORY\r\n\r\nTANK PRODUCT             GALLONS  INCHES   WATER  DEG F\r\n"
            b"  1  REGULAR UNLEADED     8123   56.75    0.50  61.25\r\n")
    x.append(([SOH + b"I20100\r\n"], SOH + text + ETX, {
        "request": {"format": "display", "command_type": "inquiry", "function_code": "201",
                    "function_name": "in_tank_inventory_report", "tank": 0},
        "response": {"format": "display", "function_code": "201", "tank": 0,
                     "text_contains": "IN-TANK INVENTORY"},
        "ops": ["read"]}))
    # 2. Computer-format inventory of three tanks.
    x.append(([SOH + b"i20100"], computer(inventory_body(TANKS)), {
        "request": {"format": "computer", "command_type": "inquiry", "function_code": "201",
                    "tank": 0},
        "response": {"format": "computer", "function_code": "201", "checksum_valid": True,
                     "datetime": "2024-03-15T10:41",
                     "tanks": [{"tank": t, "product": p, "status": s,
                                "values": dict(zip(["volume", "tc_volume", "ullage", "height",
                                                    "water", "temperature", "water_volume"],
                                                   v))} for t, p, s, v in TANKS]},
        "ops": ["read"]}))
    # 3. Active alarms: the station header names the site.
    x.append(([SOH + b"i11300"],
              computer(b"i11300" + STAMP + b"".join(STATION) + b"0201010124031509300304" +
                       b"0124031510"), {
        "request": {"function_code": "113", "command_type": "inquiry"},
        "response": {"function_code": "113", "checksum_valid": True},
        "ops": ["read"]}))
    # 4. System revision level: the console's software.
    x.append(([SOH + b"i90200"],
              computer(b"i90200" + STAMP + b"SOFTWARE# 346330-100-BCREATED - 20.01.15.10.30"), {
        "request": {"function_code": "902"},
        "response": {"function_code": "902", "checksum_valid": True},
        "ops": ["read", "identify"]}))
    # 5. Set a tank product label (display format): a configuration change.
    x.append(([SOH + b"S60201SUPER UNLEADED\r\n"],
              SOH + b"\r\nS60201\r\nTANK PRODUCT LABEL\r\n  1 SUPER UNLEADED\r\n" + ETX, {
        "request": {"format": "display", "command_type": "set", "function_code": "602",
                    "function_name": "tank_product_label", "tank": 1,
                    "data": "SUPER UNLEADED"},
        "response": {"format": "display", "function_code": "602", "tank": 1},
        "ops": ["config"]}))
    # 6. Set the clock (computer format).
    x.append(([SOH + b"s501002403151200"], computer(b"s50100" + b"2403151200"), {
        "request": {"format": "computer", "command_type": "set", "function_code": "501",
                    "data": "2403151200"},
        "response": {"function_code": "501", "checksum_valid": True},
        "ops": ["timesync"]}))
    # 7. Delivery report with a corrupted checksum (one octet changed after summing).
    good = computer(b"i20200" + STAMP + b"0100")
    bad = good[:-5] + (b"0" if good[-5:-4] != b"0" else b"1") + good[-4:]
    x.append(([SOH + b"i20200"], bad, {
        "request": {"function_code": "202"},
        "response": {"function_code": "202", "checksum_valid": False},
        "ops": ["read"], "anomaly": "atg.bad_checksum"}))
    # 8. An unknown function: the console answers 9999 ([VR] s.5).
    x.append(([SOH + b"i99900"], SOH + b"9999FF1B" + ETX, {
        "request": {"function_code": "999", "function_name": "unknown"},
        "response": {"unrecognized": True, "checksum_valid": True},
        "ops": ["diagnostic"]}))  # an unknown 9xx inquiry counts as a diagnostic report
    # 9. A command split over two segments, for tank 2 only.
    x.append(([SOH + b"i20", b"102"], computer(inventory_body(TANKS[1:2], b"i20102")), {
        "request": {"function_code": "201", "tank": 2},
        "response": {"function_code": "201", "tank": 2, "checksum_valid": True,
                     "tanks": [{"tank": 2, "product": "2", "status": 1,
                                "values": {"volume": 4200.0, "height": 33.125}}]},
        "ops": ["read"]}))
    # 10. A command behind an RS-232 security code ([VR] s.5); a long display answer that
    #     spans several TCP segments.
    lines = b"".join(b"  %d  PRODUCT %02d   STATUS NORMAL   NO ALARMS PRESENT%s\r\n" %
                     (i % 9 + 1, i, b" " * 40) for i in range(60))
    x.append(([SOH + b"SECRET" + b"I20500"],
              SOH + b"\r\nI20500\r\nIN-TANK STATUS REPORT\r\n" + lines + ETX, {
        "request": {"function_code": "205", "security_code": True,
                    "function_name": "in_tank_status_report"},
        "response": {"function_code": "205", "text_contains": "IN-TANK STATUS REPORT"},
        "ops": ["read"]}))
    return x


IDENTITIES = {("name", "ACME FUEL DEPOT 7"), ("firmware", "346330-100-B")}


# ---- pcap writing ---------------------------------------------------------------------------

def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(p) for p in a.split("."))


def frame(src, dst, seq, ack, flags, payload=b""):
    sip, dip = ip4(src[0]), ip4(dst[0])
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 64240, 0, 0)
    pseudo = sip + dip + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    ck = ip_checksum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", ck) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0x1234, 0x4000, 64,
                     6, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    if src == CLIENT:
        eth = bytes.fromhex("020000000020" "020000000050") + b"\x08\x00"
    else:
        eth = bytes.fromhex("020000000050" "020000000020") + b"\x08\x00"
    return eth + ip + tcp + payload


def gen(out_pcap, out_json):
    t = 1710499260.0  # 2024-03-15T10:41:00Z
    recs = []
    cseq, sseq = 1000, 50000
    FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16

    def add(ts, f):
        recs.append((ts, f))

    add(t, frame(CLIENT, SERVER, cseq, 0, SYN))
    add(t + 0.001, frame(SERVER, CLIENT, sseq, cseq + 1, SYN | ACK))
    cseq += 1
    sseq += 1
    add(t + 0.002, frame(CLIENT, SERVER, cseq, sseq, ACK))
    t += 1
    expect = []
    for segs, answer, exp in exchanges():
        for s in segs:
            add(t, frame(CLIENT, SERVER, cseq, sseq, PSH | ACK, s))
            cseq += len(s)
            t += 0.05
        t += 0.25  # the console's think time: the latency
        for i in range(0, len(answer), MSS):
            chunk = answer[i:i + MSS]
            add(t, frame(SERVER, CLIENT, sseq, cseq, PSH | ACK, chunk))
            sseq += len(chunk)
            t += 0.001
        add(t + 0.01, frame(CLIENT, SERVER, cseq, sseq, ACK))
        expect.append(exp)
        t += 2
    add(t, frame(CLIENT, SERVER, cseq, sseq, FIN | ACK))
    add(t + 0.001, frame(SERVER, CLIENT, sseq, cseq + 1, FIN | ACK))
    add(t + 0.002, frame(CLIENT, SERVER, cseq + 1, sseq + 1, ACK))
    with open(out_pcap, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, f in recs:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            fh.write(struct.pack("<IIII", sec, usec, len(f), len(f)) + f)
    with open(out_json, "w", encoding="utf-8") as fh:
        json.dump({"transactions": expect,
                   "identities": sorted(list(i) for i in IDENTITIES),
                   "server_ip": SERVER[0]}, fh, indent=1)


# ---- checking -------------------------------------------------------------------------------

def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)


def check(expected_json, events_json):
    with open(expected_json, encoding="utf-8") as fh:
        exp = json.load(fh)
    records, anomalies, identities = [], [], set()
    with open(events_json, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r.get("event_type") == "atg":
                records.append(r)
            elif r.get("event_type") == "anomaly":
                anomalies.append(r["anomaly"]["event"])
            elif r.get("event_type") == "asset" and r["asset"].get("source") == "atg":
                if r["asset"]["ip"] != exp["server_ip"]:
                    print(f"FAIL identity about {r['asset']['ip']}, not the console")
                    return 1
                identities.add((r["asset"]["attribute"], r["asset"]["value"]))
    fails = []
    want = exp["transactions"]
    if len(records) != len(want):
        fails.append(f"{len(records)} atg records, the generator wrote {len(want)} exchanges")
    for i, (r, w) in enumerate(zip(records, want)):
        a = r["atg"]
        where = f"transaction {i + 1} ({w['request'].get('function_code')})"
        for side in ("request", "response"):
            if side not in a:
                fails.append(f"{where}: no {side}")
                continue
            got = a[side]
            for k, v in w[side].items():
                if k == "text_contains":
                    if v not in got.get("text", ""):
                        fails.append(f"{where}: {side}.text lacks {v!r}")
                elif k == "tanks":
                    tanks = got.get("tanks", [])
                    if len(tanks) != len(v):
                        fails.append(f"{where}: {len(tanks)} tanks, wrote {len(v)}")
                        continue
                    for gt, wt in zip(tanks, v):
                        for tk in ("tank", "product", "status"):
                            if gt.get(tk) != wt[tk]:
                                fails.append(f"{where}: tank {wt['tank']} {tk} "
                                             f"{gt.get(tk)!r} != {wt[tk]!r}")
                        for fk, fv in wt["values"].items():
                            if fk not in gt or not close(gt[fk], fv):
                                fails.append(f"{where}: tank {wt['tank']} {fk} "
                                             f"{gt.get(fk)!r} != {fv!r}")
                elif got.get(k) != v:
                    fails.append(f"{where}: {side}.{k} = {got.get(k)!r}, wrote {v!r}")
        if sorted(a.get("ops", [])) != sorted(w.get("ops", [])):
            fails.append(f"{where}: ops {a.get('ops')} != {w.get('ops', [])}")
        if "latency_us" not in a or not 250000 <= a["latency_us"] <= 400000:
            fails.append(f"{where}: latency_us {a.get('latency_us')} (0.25-0.4 s written)")
        if "SECRET" in json.dumps(r):
            fails.append(f"{where}: the security code is in the log")
    want_anom = sorted(w["anomaly"] for w in want if "anomaly" in w)
    if sorted(anomalies) != want_anom:
        fails.append(f"anomalies {sorted(anomalies)} != {want_anom}")
    want_ids = {tuple(i) for i in exp["identities"]}
    if identities != want_ids:
        fails.append(f"identities {sorted(identities)} != {sorted(want_ids)}")
    for f in fails:
        print("FAIL", f)
    if not fails:
        print(f"ok   synthetic ATG capture: {len(records)} transactions, "
              f"{len(identities)} identity facts, anomalies {anomalies} as written")
    return 1 if fails else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
