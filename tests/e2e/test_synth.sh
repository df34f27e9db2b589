#!/usr/bin/env bash
# End-to-end test of `quaywatch synth` (docs/synth.md), with tshark as the oracle:
#   - determinism: the same arguments give byte-identical files, with and without --incidents
#     (and the same truth file whether or not the capture is written); another seed, another
#     file;
#   - the clean capture: tshark, with IP/TCP/UDP checksum validation on, finds no malformed
#     frame, no expert error or warning and no TCP analysis flag; Modbus function codes 1, 3, 6,
#     16 and 43; S7comm setup communication, SZL 0x0011 and 0x001C reads and read variable on
#     TCP 102 after a COTP connection; DNP3 class 0/1/2/3 polls and responses with correct link
#     CRCs; and none of the scripted events (no laptop, VPN client, second router MAC, PLC stop,
#     restart, write to the RTU, Telnet, scan, RST, Modbus exception, SSH, new firmware);
#   - the 10-minute --incidents capture (TCP 443 read as OpenVPN): no malformed frame and no
#     expert error (the only warnings: RSTs and the swapped router's duplicate-address ARP);
#     the remote-service box's OpenVPN tunnel: its control channel's message packet ids count
#     from 0 on each side and every one is acked once, by a later packet of the peer; the TLS
#     handshake inside, as quaywatch's event log (`analyze --events`, the tls_handshake record)
#     and tshark read it, has the truth file's version, cipher suite and certificates (subject
#     and issuer CN and O, validity; the serials agree), and no SNI; exactly one S7 PLC STOP job
#     and its ack-data; exactly one DNP3 cold restart and its time-delay answer, the restart bit
#     cleared by a write; Telnet with its option negotiation, login and password prompts; a SYN
#     to each of the 1024 scanned ports; the crane router's gratuitous ARP from the TP-Link MAC
#     and no frame from the Moxa MAC after it; the Modbus exception; DNP3 CRCs recomputed here
#     from IEEE 1815's definition match every block;
#   - the core router's log to historian01 (both captures): RFC 3164 over UDP from 10.20.0.1,
#     one source port, facility local7 and the severity the Cisco message id names, sequence
#     numbers one apart, the text's timestamp the frame's own time; routine messages 60-120 s
#     apart (a link's line protocol a second after it), none of them a change the router
#     reports; with --incidents exactly one SYS-5-CONFIG_I, the truth's text at the truth's
#     time, inside an SSH session from the workstation it names to the router (Cisco's server);
#     and one SEC_LOGIN-4-LOGIN_FAILED per password the unknown laptop tries (6 or 7), each with
#     the truth's user and time, naming the address the laptop's DHCP ACK gave it, inside an
#     SSH connection of its own from the laptop to the router (Cisco's server) that the router
#     closes; the truth's cred.guessing count, users and span follow from them (none in the
#     clean capture);
#   - the truth file: every scripted event once, at its planned fraction, with its findings;
#     --start at night in Vancouver makes both remote sessions outside the window;
#   - VLAN ids are exactly 10 20 30 40 50 60;
#   - distinct IPv4 addresses (IP and ARP): 42 clean / 45 with incidents at scale 1, 24 more per
#     extra unit of scale;
#   - bad arguments exit 2, an unwritable output exits 1 and leaves no file behind.
# Needs QW_BIN (the built quaywatch); exits 77 (skip) without tshark or python3.
set -u
command -v tshark >/dev/null || { echo "SKIP: tshark not installed (scripts/setup-deps.sh test)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
# the interpreter itself rather than a version manager's shim (tests/e2e/lib.sh)
if [ -n "${QW_PYTHON:-}" ] && [ -x "$QW_PYTHON" ]; then python3() { "$QW_PYTHON" "$@"; }; fi
[ -x "${QW_BIN:-}" ] || { echo "FAIL: QW_BIN (${QW_BIN:-unset}) is not an executable"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
pass() { echo "ok: $*"; }
# tshark with the checksum checks that are off by default, quiet about running as root; TCP 443
# is the remote-service box's OpenVPN tunnel (tshark 4.0 reads only 1194 as OpenVPN by itself)
ts() { tshark -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -d tcp.port==443,openvpn "$@" 2>/dev/null; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# --- generation and determinism -------------------------------------------------------------
"$QW_BIN" synth -o "$work/a.pcap" 2>"$work/a.err" || fail "default run exited $?: $(cat "$work/a.err")"
[ -s "$work/a.pcap" ] && pass "default (clean) run wrote $(stat -c %s "$work/a.pcap") bytes" || fail "no capture written"
"$QW_BIN" synth --minutes 10 --scale 1 --seed 1 --start 2026-11-20T21:30:00Z -o "$work/b.pcap" 2>/dev/null || fail "second run failed"
"$QW_BIN" synth --seed 2 -o "$work/c.pcap" 2>/dev/null || fail "seed 2 run failed"
"$QW_BIN" synth --incidents --truth "$work/i.json" -o "$work/i.pcap" 2>/dev/null || fail "--incidents run failed"
"$QW_BIN" synth --incidents --seed 1 --minutes 10 --truth "$work/i2.json" -o "$work/i2.pcap" 2>/dev/null || fail "second --incidents run failed"
"$QW_BIN" synth --incidents --truth "$work/i3.json" 2>/dev/null || fail "--truth without -o failed"
[ "$(sha "$work/a.pcap")" = "$(sha "$work/b.pcap")" ] && pass "clean: same arguments, same bytes ($(sha "$work/a.pcap"))" || fail "clean: same arguments gave different files"
[ "$(sha "$work/i.pcap")" = "$(sha "$work/i2.pcap")" ] && pass "--incidents: same arguments, same bytes" || fail "--incidents: same arguments gave different files"
cmp -s "$work/i.json" "$work/i2.json" && cmp -s "$work/i.json" "$work/i3.json" && pass "truth: identical, with or without -o" || fail "truth files differ"
[ "$(sha "$work/a.pcap")" != "$(sha "$work/c.pcap")" ] && pass "different seed, different bytes" || fail "seed 2 gave the same file as seed 1"
[ "$(sha "$work/a.pcap")" != "$(sha "$work/i.pcap")" ] || fail "--incidents changed nothing"
left=$(ls -A "$work" | grep '^\.' || true)
[ -z "$left" ] || fail "temporary file left behind: $left"

# --- validity according to tshark ------------------------------------------------------------
# Expert summary: sections "Errors", "Warns", ... each with "count group protocol summary" rows.
# (A pass of its own: with -q tshark builds no protocol tree, and some dissectors add expert
# items only to a tree, so the summary of a pass printing fields can hold more.)
expert() { ts -r "$1" -q -z expert | awk '/^(Errors|Warns|Notes|Chats) \(/ {sec=$1} sec && /^ +[0-9]+ / {print sec "\t" $0}'; }
expert "$work/a.pcap" >"$work/a.expert"
expert "$work/i.pcap" >"$work/i.expert"

# One more pass per capture for every other check (reading 65000 frames costs more than starting
# tshark): the field rows, then the frame's malformed-packet and TCP analysis flag items (a field
# of either is a frame the filter "_ws.malformed || tcp.analysis.flags" shows), and the DNP3 and
# Telnet protocol items (-e PROTO prints the item's label: a frame "-Y PROTO" shows) with the
# TCP payload (DNP3 link frames as hex, for the CRC check below) and the Telnet data.
fields=(frame.time_epoch vlan.id eth.src eth.dst ip.src ip.dst tcp.srcport tcp.dstport tcp.flags
        modbus.func_code modbus.exception_code modbus.object_str_value
        cotp.type cotp.dst-tsap s7comm.header.rosctr s7comm.param.func s7comm.data.userdata.szl_id
        dnp3.al.func dnp3.al.obj dnp3.hdr.CRC.incorrect dnp3.data_chunk.CRC.incorrect
        telnet.cmd telnet.subcmd arp.opcode arp.src.hw_mac arp.src.proto_ipv4 arp.dst.proto_ipv4 ssh.protocol
        openvpn.opcode openvpn.mpid openvpn.mpidarrayelement tls.handshake.type tls.handshake.version
        tls.handshake.ciphersuite tls.handshake.extensions_server_name x509if.oid x509sat.uTF8String
        x509af.serialNumber x509af.utcTime syslog.facility syslog.level syslog.msg tcp.stream udp.srcport
        udp.dstport dhcp.option.dhcp dhcp.hw.mac_addr dhcp.ip.your)
nf=${#fields[@]}
args=()
for f in "${fields[@]}" _ws.malformed tcp.analysis.flags dnp3 tcp.payload telnet telnet.data; do
    args+=(-e "$f")
done
for c in a i; do
    ts -r "$work/$c.pcap" -T fields -E separator=/t -E occurrence=a -E aggregator=, "${args[@]}" |
        awk -F'\t' -v OFS='\t' -v nf="$nf" -v w="$work/$c" '{
            line = $1; for (i = 2; i <= nf; i++) line = line OFS $i; print line >(w ".tsv")
            if ($(nf + 1) != "" || $(nf + 2) != "") print $1 >(w ".flagged")
            if ($(nf + 3) != "") print $(nf + 4) >(w ".dnp3")
            if ($(nf + 5) != "") print $5, $(nf + 6) >(w ".telnet")
        }'
    touch "$work/$c.tsv" "$work/$c.flagged" "$work/$c.dnp3" "$work/$c.telnet"
done
bad=$(grep -c -E '^(Errors|Warns)' "$work/a.expert")
[ "$bad" -eq 0 ] && pass "clean: no expert error or warning" || { fail "clean: expert errors/warnings"; grep -E '^(Errors|Warns)' "$work/a.expert" | head; }
n=$(wc -l <"$work/a.flagged")
[ "$n" -eq 0 ] && pass "clean: no malformed frame, no TCP analysis flag" || fail "clean: $n malformed or TCP-flagged frames"
nerr=$(grep -c '^Errors' "$work/i.expert")
[ "$nerr" -eq 0 ] && pass "--incidents: no expert error" || { fail "--incidents: expert errors"; grep '^Errors' "$work/i.expert" | head; }
other=$(grep '^Warns' "$work/i.expert" | grep -v -e 'Connection reset (RST)' -e 'Duplicate IP address configured (10.30.0.1)' || true)
[ -z "$other" ] && pass "--incidents: warnings only for RSTs and the swapped router's address" || fail "--incidents: unexpected warnings: $other"
n=$(wc -l <"$work/i.flagged")
[ "$n" -eq 0 ] && pass "--incidents: no malformed frame, no TCP analysis flag" || fail "--incidents: $n malformed or TCP-flagged frames"

# quaywatch's reading of the tunnel's TLS, for the checks below
"$QW_BIN" analyze --quiet --db "$work/q.db" --events "$work/q.json" "$work/i.pcap" ||
    fail "analyze of the --incidents capture exited $?"

python3 - "$work" "${fields[@]}" <<'PY' || status=1
import calendar, json, re, sys, time
work, names = sys.argv[1], sys.argv[2:]
errors = []
def check(ok, msg):
    print(("ok: " if ok else "FAIL: ") + msg)
    if not ok:
        errors.append(msg)

def rows(c):
    for line in open(f"{work}/{c}.tsv"):
        v = line.rstrip("\n").split("\t")
        v += [""] * (len(names) - len(v))
        yield dict(zip(names, v))

def dnp3_crc(b):  # IEEE 1815-2012 9.2.7: 0x3D65 reflected, init 0, complemented
    crc = 0
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return (~crc) & 0xFFFF

def dnp3_frames_ok(c):
    n = bad = 0
    for line in open(f"{work}/{c}.dnp3"):
        p = bytes.fromhex(line.strip().replace(":", ""))
        while len(p) >= 10 and p[0] == 0x05 and p[1] == 0x64:
            n += 1
            ln = p[2] - 5  # user data octets
            blocks = [(0, 8)]
            at, left = 10, ln
            while left > 0:
                k = min(16, left)
                blocks.append((at, k))
                at += k + 2
                left -= k
            for off, k in blocks:
                crc = p[off + k] | p[off + k + 1] << 8
                bad += crc != dnp3_crc(p[off:off + k])
            p = p[at:]
    return n, bad

LAPTOP, VPN = "10.40.200.100", {"10.50.8.21", "10.50.8.23"}
OLD_RTR, NEW_RTR = "00:90:e8:da:25:fe", "d0:37:45:71:8d:02"
for c, name in (("a", "clean"), ("i", "--incidents")):
    R = list(rows(c))
    fc = {}
    for r in R:
        for x in r["modbus.func_code"].split(","):
            if x:
                fc[int(x)] = fc.get(int(x), 0) + 1
    check(all(fc.get(k) for k in (1, 3, 6, 16, 43)),
          f"{name}: Modbus function codes 1, 3, 6, 16, 43: {sorted(fc.items())}")
    vl = sorted({int(r["vlan.id"]) for r in R if r["vlan.id"]})
    check(vl == [10, 20, 30, 40, 50, 60], f"{name}: VLAN ids {vl}")
    # S7comm: COTP connect, setup communication, SZL reads, read variable
    cr = sum(r["cotp.type"] == "0x0e" for r in R)
    cc = sum(r["cotp.type"] == "0x0d" for r in R)
    setup = sum(r["s7comm.param.func"] == "0xf0" for r in R)
    szl = {r["s7comm.data.userdata.szl_id"] for r in R if r["s7comm.data.userdata.szl_id"]}
    rv = sum(r["s7comm.param.func"] == "0x04" for r in R)
    check(cr > 0 and cr == cc and setup == 2 * cr and {"0x0011", "0x001c"} <= szl and rv > 0,
          f"{name}: S7comm: {cr} COTP CR/CC, {setup} setup job/ack, SZL {sorted(szl)}, {rv} read var")
    # DNP3: polls of classes 0-3, responses, CRCs
    objs = {o for r in R if r["dnp3.al.func"] for o in r["dnp3.al.obj"].split(",") if o}
    dfunc = {}
    for r in R:
        for x in r["dnp3.al.func"].split(","):
            if x:
                dfunc[int(x)] = dfunc.get(int(x), 0) + 1
    crcbad = sum(bool(r["dnp3.hdr.CRC.incorrect"] or r["dnp3.data_chunk.CRC.incorrect"]) for r in R)
    check({"0x3c01", "0x3c02", "0x3c03", "0x3c04", "0x0102", "0x1e02"} <= objs and dfunc.get(1)
          and dfunc.get(129) and crcbad == 0,
          f"{name}: DNP3 function codes {sorted(dfunc.items())}, objects {sorted(objs)}, {crcbad} CRC errors")
    n, bad = dnp3_frames_ok(c)
    check(n > 0 and bad == 0, f"{name}: DNP3 link CRCs recomputed: {n} frames, {bad} bad blocks")

    ips = {r[k] for r in R for k in ("ip.src", "ip.dst")}
    macs = {r[k] for r in R for k in ("eth.src", "eth.dst")}
    stops = [r for r in R if r["s7comm.param.func"] == "0x29"]
    rst = sum(int(r["tcp.flags"] or "0", 16) & 4 != 0 for r in R)
    scan = {r["tcp.dstport"] for r in R if r["ip.src"] == LAPTOP and r["ip.dst"] == "10.40.1.13"
            and r["tcp.flags"] == "0x0002"}
    telnet = sum(1 for _ in open(f"{work}/{c}.telnet"))
    exc = sum(bool(r["modbus.exception_code"]) for r in R)
    ssh = sum(bool(r["ssh.protocol"]) for r in R)
    revs = {s for r in R for s in r["modbus.object_str_value"].split(",")}
    # the core router's log (act_syslog.c)
    logs = [r for r in R if r["syslog.msg"]]
    parsed = [re.fullmatch(r"(\d+): (\w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3}) UTC: "
                           r"%([A-Z_]+)-(\d)-([A-Z_]+): (.*)", r["syslog.msg"]) for r in logs]
    check(len(logs) >= 5 and all(parsed), f"{name}: {len(logs)} Cisco syslog messages, all of "
          f"the form SEQ: TIMESTAMP UTC: %FAC-SEV-MNEMONIC: text")
    parsed = [p for p in parsed if p]
    ends = {(r["vlan.id"], r["eth.src"], r["ip.src"], r["ip.dst"], r["udp.dstport"]) for r in logs}
    ports = {r["udp.srcport"] for r in logs}
    check(ends == {("20", "f4:bd:9e:5b:da:93", "10.20.0.1", "10.20.0.30", "514")} and len(ports) == 1,
          f"{name}: the log goes from the core router's TOS address to historian01:514, one source port: {ends} {ports}")
    check(all(r["syslog.facility"] == "23" and r["syslog.level"] == p.group(4) for r, p in zip(logs, parsed)),
          f"{name}: facility local7, severity as the message id says")
    seqs = [int(p.group(1)) for p in parsed]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False,
          f"{name}: sequence numbers one apart ({seqs[:1]}..{seqs[-1:]})")
    stamps = [time.strftime("%b %e %H:%M:%S", time.gmtime(int(float(r["frame.time_epoch"])))) +
              ".%03d" % (int(r["frame.time_epoch"].split(".")[1][:3])) for r in logs]
    check([p.group(2) for p in parsed] == stamps, f"{name}: syslog timestamps are the capture's clock")
    CHANGE_IDS = {("SYS", "CONFIG_I"), ("SYS", "CONFIG_P"), ("PARSER", "CFGLOG_LOGGEDCMD"),
                  ("SYS", "RELOAD"), ("SYS", "RESTART"), ("VSHD", "VSHD_SYSLOG_CONFIG_I")}
    changes = [(r, p) for r, p in zip(logs, parsed) if (p.group(3), p.group(5)) in CHANGE_IDS]
    routine = [float(r["frame.time_epoch"]) for r, p in zip(logs, parsed)
               if p.group(3) not in ("LINEPROTO", "SEC_LOGIN", "SYS")]
    gaps = [b - a for a, b in zip(routine, routine[1:])]
    check(gaps and all(60 <= g <= 120.01 for g in gaps), f"{name}: routine messages 60-120 s apart: "
          f"{[round(g) for g in gaps]}")
    failed = [(r, p) for r, p in zip(logs, parsed) if (p.group(3), p.group(5)) == ("SEC_LOGIN", "LOGIN_FAILED")]
    if c == "i":
        RI, FAILED = R, failed
    if c == "a":
        found = {"laptop": LAPTOP in ips, "VPN clients": bool(VPN & ips), "TP-Link router": NEW_RTR in macs,
                 "PLC stop": bool(stops), "DNP3 restart": bool(dfunc.get(13)),
                 "DNP3 write": bool(dfunc.get(2)), "Telnet": telnet > 0, "RST": rst > 0,
                 "Modbus exception": exc > 0, "SSH": ssh > 0,
                 "new firmware": bool({"v3.30", "22.011"} & revs),
                 "configuration change in the log": bool(changes),
                 "failed login in the log": bool(failed)}
        check(not any(found.values()), "clean: none of the scripted events: "
              + ", ".join(f"{k} {'PRESENT' if v else 'absent'}" for k, v in found.items()))
        continue
    # --incidents: each new protocol decodes as intended
    jobs = [r for r in stops if r["s7comm.header.rosctr"] == "1"]
    acks = [r for r in stops if r["s7comm.header.rosctr"] == "3"]
    check(len(jobs) == 1 and len(acks) == 1 and jobs[0]["ip.src"] == LAPTOP
          and jobs[0]["ip.dst"] == "10.30.40.12",
          f"S7 PLC STOP: {len(jobs)} job from the laptop to straddle02, {len(acks)} ack-data")
    pg = [r for r in R if r["cotp.type"] == "0x0e" and r["ip.src"] == LAPTOP]
    check(len(pg) == 1 and pg[0]["cotp.dst-tsap"] == "0x0101", f"laptop's COTP connect to a PG TSAP: {[r['cotp.dst-tsap'] for r in pg]}")
    check(dfunc.get(13) == 1 and "0x3402" in objs and dfunc.get(2) == 1 and "0x5001" in objs,
          f"DNP3: {dfunc.get(13)} cold restart answered with g52v2, {dfunc.get(2)} write of g80v1 (IIN1.7)")
    check(len(scan) == 1024 and {str(p) for p in range(1, 1025)} == scan,
          f"SYN scan: SYNs from the laptop to {len(scan)} ports of tank-plc03")
    check(exc == 1, f"Modbus exceptions: {exc}")
    check(ssh > 0, "SSH to the jump host")
    check({"v3.30", "22.011"} <= revs, "new firmware revisions reported (v3.30, 22.011)")
    CFG = changes
    garp = [r for r in R if r["arp.opcode"] == "1" and r["arp.src.hw_mac"] == NEW_RTR
            and r["arp.src.proto_ipv4"] == "10.30.0.1" and r["arp.dst.proto_ipv4"] == "10.30.0.1"]
    t_swap = float(garp[0]["frame.time_epoch"]) if garp else 0
    after_old = [r for r in R if float(r["frame.time_epoch"]) >= t_swap and OLD_RTR in (r["eth.src"], r["eth.dst"])]
    before_new = [r for r in R if float(r["frame.time_epoch"]) < t_swap and NEW_RTR in (r["eth.src"], r["eth.dst"])]
    via_new = sum(r["eth.dst"] == NEW_RTR and r["vlan.id"] == "30" for r in R)
    check(len(garp) == 2 and not after_old and not before_new and via_new > 1000,
          f"router swap: {len(garp)} gratuitous ARPs from {NEW_RTR}, {len(after_old)} frames of the "
          f"old MAC after, {via_new} crane frames to the new gateway")
    tl = open(f"{work}/i.telnet").read()
    cmds = {x for r in R for x in r["telnet.cmd"].split(",") if x}
    check(telnet > 40 and {"251", "253", "250", "240"} <= cmds and "login: " in tl and "Password: " in tl,
          f"Telnet: {telnet} segments, option commands {sorted(cmds)}, login and password prompts")

# the truth file
t = json.load(open(f"{work}/i.json"))
ev = {e["id"]: e for e in t["events"]}
want = ["vendor_ssh", "vendor_maintenance", "firmware_sts_crane02", "modbus_exception", "router_swap",
        "firmware_tank_plc02", "unknown_laptop", "port_scan", "plc_stop", "vendor_direct", "service_box_vpn",
        "telnet_login", "cross_zone_write", "dnp3_cold_restart", "dnp3_restart_ack", "core_router_config",
        "router_password_guessing"]
check(sorted(ev) == sorted(want) and len(t["events"]) == len(want), f"truth: {len(t['events'])} events")
check([e["time"] for e in t["events"]] == sorted(e["time"] for e in t["events"]), "truth: events in time order")
check(all(e["start"] <= e["time"] <= e["end"] and e["frames"] > 0 for e in t["events"]), "truth: start <= time <= end")
check(ev["firmware_sts_crane02"]["documented_by"] == "CHG-1042" and ev["firmware_tank_plc02"]["documented_by"] is None,
      "truth: CHG-1042 documents sts-crane02's update only")
check("asset.mac_changed" in ev["router_swap"]["findings"] and "ics.cpu_state" in ev["plc_stop"]["findings"]
      and "ics.restart" in ev["dnp3_cold_restart"]["findings"] and "recon.scan" in ev["port_scan"]["findings"]
      and "cred.plaintext" in ev["telnet_login"]["findings"]
      and "remote.bypass_jump_host" in ev["vendor_direct"]["findings"], "truth: findings")
check(ev["vendor_direct"]["remote_window"] == "inside" and "remote.outside_window" not in ev["vendor_direct"]["findings"],
      "truth: default start is inside the remote-access window")
# the core router's reconfiguration: the truth's message, at the truth's time, inside the SSH
# session the workstation it names opened to the router, whose server is Cisco's
cfg = ev["core_router_config"]
lg = cfg["syslog"]
check(cfg["documented_by"] is None and "net.config_changed" in cfg["findings"]
      and lg["from"] == cfg["source"]["ip"] and lg["user"] and lg["sender"]["ip"] == "10.20.0.1",
      f"truth: core_router_config, undocumented, net.config_changed, {lg['user']} from {lg['from']}")
one = len(CFG) == 1
r, p = CFG[0] if one else ({}, None)
t_cfg = float(r.get("frame.time_epoch", 0))
check(one and r["syslog.msg"].endswith(": " + lg["message"]) and r["ip.src"] == lg["sender"]["ip"]
      and r["ip.dst"] == lg["collector"]["ip"]
      and abs(t_cfg - calendar.timegm(time.strptime(cfg["time"][:19], "%Y-%m-%dT%H:%M:%S"))
              - float("0." + cfg["time"][20:-1])) < 1e-6,
      f"--incidents: one SYS-5-CONFIG_I, the truth's message at the truth's time: "
      f"{[x['syslog.msg'] for x, _ in CFG]}")
sess = [x for x in RI if {x["ip.src"], x["ip.dst"]} == {cfg["source"]["ip"], cfg["target"]["ip"]}
        and "22" in (x["tcp.srcport"], x["tcp.dstport"])]
times = [float(x["frame.time_epoch"]) for x in sess]
banners = {x["ssh.protocol"] for x in sess if x["ssh.protocol"]}
check(len({x["tcp.stream"] for x in sess}) == 1 and times and times[0] < t_cfg < times[-1]
      and "SSH-2.0-Cisco-1.25" in banners,
      f"--incidents: one SSH session {cfg['source']['ip']} -> {cfg['target']['ip']}:22 around the "
      f"change ({len(sess)} frames, banners {sorted(banners)})")
# the laptop's password guessing: one LOGIN_FAILED per attempt from the router's TOS address to
# historian01, each with the truth's user at the truth's time and the laptop's address (the one
# its DHCP ACK gave it), inside an SSH connection of its own from the laptop to the router's
# address on VLAN 40 (Cisco's server) that the router closes; the truth's finding, count, users
# and span follow from those messages
gs = ev["router_password_guessing"]
gl = gs["syslog"]
def epoch(rfc3339):
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + rfc3339[20:-1])
acks = {x["dhcp.ip.your"] for x in RI if x["dhcp.option.dhcp"] == "5" and x["dhcp.hw.mac_addr"] == gs["source"]["mac"]}
check(gs["source"]["ip"] == gl["from"] == LAPTOP and acks == {LAPTOP} and gs["target"]["ip"] == "10.40.0.1"
      and (gl["sender"]["ip"], gl["collector"]["ip"]) == ("10.20.0.1", "10.20.0.30")
      and gl["message_id"] == "cisco SEC_LOGIN-4-LOGIN_FAILED" and gs["documented_by"] is None,
      f"truth: router_password_guessing from {gl['from']} (DHCP gave the laptop {sorted(acks)}) to {gs['target']['ip']}")
want_text = [f"Login failed [user: {x['user']}] [Source: {gl['from']}] [localport: 22] [Reason: Login "
             f"Authentication Failed] at {time.strftime('%H:%M:%S UTC %a %b %-d %Y', time.gmtime(int(epoch(x['time']))))}"
             for x in gl["logins"]]
check(6 <= gl["failures"] == len(gl["logins"]) == len(FAILED) <= 7
      and [p.group(6) for _, p in FAILED] == want_text
      and all(p.group(4) == "4" and r["ip.src"] == gl["sender"]["ip"] and r["ip.dst"] == gl["collector"]["ip"]
              for r, p in FAILED)
      and all(abs(float(r["frame.time_epoch"]) - epoch(x["time"])) < 1e-6 for (r, _), x in zip(FAILED, gl["logins"])),
      f"--incidents: {len(FAILED)} SEC_LOGIN-4-LOGIN_FAILED, the truth's {gl['failures']} users, address and times: "
      f"{[x['user'] for x in gl['logins']]}")
conns = {}
for x in RI:
    if {x["ip.src"], x["ip.dst"]} == {LAPTOP, gs["target"]["ip"]} and "22" in (x["tcp.srcport"], x["tcp.dstport"]):
        conns.setdefault(x["tcp.stream"], []).append(x)
def closed_by_router(rows):
    fins = [x for x in rows if int(x["tcp.flags"] or "0", 16) & 1]
    return bool(fins) and fins[0]["ip.src"] == gs["target"]["ip"]
spans = sorted((float(v[0]["frame.time_epoch"]), float(v[-1]["frame.time_epoch"])) for v in conns.values())
check(len(conns) == len(FAILED) and all("SSH-2.0-Cisco-1.25" in {x["ssh.protocol"] for x in v} and closed_by_router(v)
                                          for v in conns.values())
      and all(a < float(r["frame.time_epoch"]) < b for (a, b), (r, _) in zip(spans, FAILED))
      and gs["frames"] == sum(map(len, conns.values())) + len(FAILED),
      f"--incidents: {len(conns)} SSH connections laptop -> {gs['target']['ip']}:22, Cisco's server, each "
      f"closed by the router around its failure; the event's {gs['frames']} frames are theirs and the log's")
users = []
for x in gl["logins"][:5]:
    if x["user"] not in users:
        users.append(x["user"])
check("cred.guessing" in gs["findings"] and gl["count"] == gl["failures"] - 4 and gl["users"] == ", ".join(users)
      and gl["within_s"] == int(epoch(gl["logins"][4]["time"]) - epoch(gl["logins"][0]["time"]))
      and gs["time"] == gl["logins"][4]["time"],
      f"truth: cred.guessing at the fifth failure, count {gl['count']}, users {gl['users']}, within {gl['within_s']} s")
sw = [d for d in t["devices"] if d["ip"] == "10.30.0.1"]
check(len(sw) == 2 and sw[0]["mac"] == OLD_RTR and sw[0]["replaced_by"] == "crane-rtr2"
      and sw[1]["previous_mac"] == OLD_RTR and sw[1]["mac"] == NEW_RTR, "truth: both crane routers, with the swap")
check(any(d["name"] == "power-rtu01" and d["ip"] == "10.40.0.60" for d in t["devices"]), "truth: the RTU")

# the remote-service box's tunnel: the control channel's reliability layer, then its TLS as the
# truth says, quaywatch reads (tls_handshake record) and tshark reads
BOX, RELAY = "10.30.0.20", "198.51.100.40"
tun = [r for r in RI if {r["ip.src"], r["ip.dst"]} == {BOX, RELAY} and r["openvpn.opcode"]]
sent, acked, late = {BOX: [], RELAY: []}, {BOX: [], RELAY: []}, []
for r in tun:
    me = r["ip.src"]
    peer = RELAY if me == BOX else BOX
    for a in (int(x) for x in r["openvpn.mpidarrayelement"].split(",") if x):
        if a not in sent[peer] or a in acked[me]:
            late.append((me, a))
        acked[me].append(a)
    if r["openvpn.opcode"] in ("0x07", "0x08", "0x04"):  # resets and control packets
        sent[me].append(int(r["openvpn.mpid"]))
check(len(sent[BOX]) >= 5 and all(sent[h] == list(range(len(sent[h]))) and sorted(acked[h]) == sent[
          RELAY if h == BOX else BOX] for h in sent) and not late,
      f"OpenVPN control channel: message packet ids {sent}, each acked once by a later packet of "
      f"the peer (out of place: {late})")

want = ev["service_box_vpn"]["tls"]
CERT_KEYS = ("subject_cn", "subject_o", "issuer_cn", "issuer_o", "not_before", "not_after")
qw = [json.loads(line) for line in open(f"{work}/q.json")]
hs = [r for r in qw if r.get("event_type") == "openvpn" and "tls" in r["openvpn"]]
check(len(hs) == 1 and hs[0]["src_ip"] == BOX and hs[0]["dest_ip"] == RELAY,
      f"quaywatch: one tls_handshake record on the tunnel ({len(hs)})")
tls = hs[0]["openvpn"]["tls"] if hs else {"request": {}, "response": {}}
req, rsp = tls["request"], tls["response"]
ours = {"server": rsp.get("certificate", {}), "client": req.get("certificate", {})}
for side in ours:
    cert = {k: ours[side].get(k) for k in CERT_KEYS}
    check(cert == want[f"{side}_certificate"] and ours[side].get("x509_version") == 3,
          f"quaywatch: the {side} certificate is the truth's: {cert}")
check(rsp.get("version_name") == want["version"] and rsp.get("cipher_suite") == want["cipher_suite"]
      and rsp.get("cipher_suite_name") == want["cipher_suite_name"] and "sni" not in req
      and tls.get("encrypted") is True,
      f"quaywatch: {rsp.get('version_name')}, {rsp.get('cipher_suite_name')}, no SNI, encrypted")

def tshark_cert(host):
    """(names, validity, serial) of the first certificate in a Certificate from host."""
    for r in tun:
        if r["ip.src"] == host and "11" in r["tls.handshake.type"].split(","):
            rdns = list(zip(r["x509if.oid"].split(","), r["x509sat.uTF8String"].split(",")))
            name = lambda pairs: {("cn" if oid == "2.5.4.3" else "o"): v for oid, v in pairs}
            issuer, subject = name(rdns[0:2]), name(rdns[2:4])
            return ({"subject_cn": subject.get("cn"), "subject_o": subject.get("o"),
                     "issuer_cn": issuer.get("cn"), "issuer_o": issuer.get("o")},
                    r["x509af.utcTime"].split(",")[0:2], r["x509af.serialNumber"].split(",")[0])
    return {}, [], ""

def as_tshark_time(rfc3339):  # 2025-11-20T21:30:00Z -> 2025-11-20 21:30:00 (UTC)
    return rfc3339.replace("T", " ").replace("Z", " (UTC)")

for side, host in (("server", RELAY), ("client", BOX)):
    names, validity, serial = tshark_cert(host)
    w = want[f"{side}_certificate"]
    check(names == {k: w[k] for k in names} and len(names) == 4
          and validity == [as_tshark_time(w["not_before"]), as_tshark_time(w["not_after"])]
          and serial == ours[side].get("serial"),
          f"tshark: the {side} certificate is the truth's: {names}, {validity}, serial {serial}")
hello = [r for r in tun if r["ip.src"] == RELAY and "2" in r["tls.handshake.type"].split(",")]
check(len(hello) == 1 and hello[0]["tls.handshake.ciphersuite"] == "0x%04x" % want["cipher_suite"]
      and hello[0]["tls.handshake.version"] == "0x0303",
      f"tshark: one ServerHello, {[(r['tls.handshake.version'], r['tls.handshake.ciphersuite']) for r in hello]}")
ch = [r for r in tun if r["ip.src"] == BOX and "1" in r["tls.handshake.type"].split(",")]
check(len(ch) == 1 and not ch[0]["tls.handshake.extensions_server_name"], "tshark: one ClientHello, no SNI")
sys.exit(1 if errors else 0)
PY

# --- the remote-access window depends on --start --------------------------------------------
"$QW_BIN" synth --incidents --minutes 2 --start 2026-11-21T07:30:00Z --truth "$work/n.json" 2>/dev/null || fail "night run"
python3 - "$work/n.json" <<'PY' || fail "night run: truth"
import json, sys
t = json.load(open(sys.argv[1]))
ev = {e["id"]: e for e in t["events"]}
for k in ("vendor_ssh", "vendor_direct"):
    assert ev[k]["remote_window"] == "outside" and "remote.outside_window" in ev[k]["findings"], ev[k]
assert "remote.bypass_jump_host" in ev["vendor_direct"]["findings"]
assert ev["firmware_sts_crane02"]["documented_by"] is None  # outside CHG-1042's absolute window
assert t["events"][0]["time"].startswith("2026-11-21T07:3"), t["events"][0]["time"]
PY
[ $? -eq 0 ] && pass "--start 2026-11-21T07:30:00Z (23:30 in Vancouver): both remote sessions outside the window"

# --- scale -------------------------------------------------------------------------------------
count_ips() {
    ts -r "$1" -T fields -E separator=/t -e ip.src -e ip.dst -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 |
        tr '\t' '\n' | grep -v -e '^$' -e '^0\.0\.0\.0$' -e '^255\.255\.255\.255$' | sort -u | wc -l
}
for k in 1 2; do
    "$QW_BIN" synth --minutes 2 --scale "$k" -o "$work/s$k.pcap" 2>/dev/null || fail "scale $k run failed"
    "$QW_BIN" synth --minutes 2 --scale "$k" --incidents -o "$work/si$k.pcap" 2>/dev/null || fail "scale $k --incidents run failed"
    n=$(count_ips "$work/s$k.pcap")
    want=$((42 + 24 * (k - 1)))
    [ "$n" -eq "$want" ] && pass "scale $k clean: $n distinct IPv4 addresses" || fail "scale $k clean: $n distinct IPv4 addresses, want $want"
    n=$(count_ips "$work/si$k.pcap")
    # the laptop, two VPN clients, the remote-service box and its relay on the internet
    want=$((47 + 24 * (k - 1)))
    [ "$n" -eq "$want" ] && pass "scale $k --incidents: $n distinct IPv4 addresses" || fail "scale $k --incidents: $n, want $want"
done
n=$(ts -r "$work/si2.pcap" -Y 's7comm.param.func == 0x29 && s7comm.header.rosctr == 1' | wc -l)
m=$(ts -r "$work/si2.pcap" -Y 'dnp3.al.func == 13' | wc -l)
[ "$n" -eq 1 ] && [ "$m" -eq 1 ] && pass "scale 2: still one PLC stop and one cold restart" || fail "scale 2: $n PLC stops, $m cold restarts"

# --- arguments and failures ------------------------------------------------------------------
expect_exit() { # CODE DESCRIPTION ARGS...
    local want=$1 what=$2
    shift 2
    "$QW_BIN" synth "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        pass "$what: exit $got ($(head -c 120 "$work/err" | head -1))"
    else
        fail "$what: exit $got, want $want"
    fi
}
expect_exit 2 "--minutes 0" --minutes 0 -o "$work/x.pcap"
expect_exit 2 "--minutes -5" --minutes -5 -o "$work/x.pcap"
expect_exit 2 "--scale abc" --scale abc -o "$work/x.pcap"
expect_exit 2 "--scale 100000" --scale 100000 -o "$work/x.pcap"
expect_exit 2 "--seed 1x" --seed 1x -o "$work/x.pcap"
expect_exit 2 "--start without offset" --start 2026-11-20T21:30:00 -o "$work/x.pcap"
expect_exit 2 "--start 31 November" --start 2026-11-31T21:30:00Z -o "$work/x.pcap"
expect_exit 2 "--start in 2150" --start 2150-01-01T00:00:00Z -o "$work/x.pcap"
expect_exit 2 "--start with fraction" --start 2026-11-20T21:30:00.5Z -o "$work/x.pcap"
expect_exit 2 "--incidents with a value" --incidents=yes -o "$work/x.pcap"
expect_exit 2 "missing -o" --minutes 1
expect_exit 2 "unknown option" --bogus -o "$work/x.pcap"
[ -e "$work/x.pcap" ] && fail "a usage error wrote a file"
expect_exit 0 "--help" --help
for opt in --minutes --scale --seed --incidents --start --truth -o; do
    grep -q -- "$opt" "$work/out" || fail "--help does not explain $opt"
done
expect_exit 1 "output in a missing directory" --minutes 1 -o "$work/no/such/dir/x.pcap"
[ -e "$work/no" ] && fail "failed run created $work/no"
mkdir "$work/adir"
expect_exit 1 "output is a directory" --minutes 1 -o "$work/adir"
expect_exit 1 "truth in a missing directory" --minutes 1 --truth "$work/no/t.json" -o "$work/y.pcap"
[ -e "$work/y.pcap" ] && fail "a failed truth left the capture behind"
left=$(ls -A "$work" | grep '^\.' || true)
[ -z "$left" ] && pass "no temporary file left after failures" || fail "left behind: $left"
[ -z "$(ls -A "$work/adir")" ] || fail "directory target was modified"

exit $status
