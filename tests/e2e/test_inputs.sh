#!/usr/bin/env bash
# Capture inputs and the store: damaged and wrong files, site-file errors, atomic batches,
# re-runs that add, deterministic output, several files merged in time order, nanosecond files,
# the inventory listing, the event log on stdout and checksum verification.
. "$(dirname "$0")/lib.sh"
need_corpus; need_tool editcap; need_qw_python
qw=$QW_BIN
good=$QW_CORPUS/pcaps/modbus/digitalbond_modbus_test_data_part2.pcap
other=$QW_CORPUS/pcaps/dnp3/zeek_dnp3.pcap

# 1. A truncated capture: cut in the middle of a packet record.
size=$(stat -c %s "$good")
head -c $((size / 2 + 7)) "$good" > "$work/cut.pcap"
"$qw" analyze --quiet --db "$work/cut.db" --events "$work/cut.json" "$work/cut.pcap" 2> "$work/err"
rc=$?
[ $rc -eq 3 ] || fail "truncated capture: exit $rc, want 3"
grep -q "cut.pcap: offset [0-9]" "$work/err" || fail "truncated capture: message lacks file and offset: $(cat "$work/err")"
[ "$(wc -l < "$work/err")" -eq 1 ] || fail "truncated capture: want one message, got: $(cat "$work/err")"
# the offset is the end of the last whole record (counted for classic pcap, not asked of the file)
want_off=$(python3 - "$work/cut.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
o = 24
while o + 16 <= len(d):
    cl = struct.unpack('<I', d[o + 8:o + 12])[0]
    if o + 16 + cl > len(d):
        break
    o += 16 + cl
print(o)
PY
)
grep -q "cut.pcap: offset $want_off:" "$work/err" || fail "truncated capture: want offset $want_off: $(cat "$work/err")"
stored=$(sql "$work/cut.db" "SELECT packets FROM runs")
[ "$stored" -gt 100 ] || fail "truncated capture: packets before the damage not stored ($stored)"
[ "$(sql "$work/cut.db" "SELECT status FROM runs")" = input_error ] || fail "run status not input_error"
[ "$(count_events "$work/cut.json" modbus)" -gt 0 ] || fail "truncated capture: no modbus records before the damage"
pass "truncated capture: exit 3, one message with offset, $stored packets stored"
# The same cut file as pcap version 2.3, which quaywatch leaves to libpcap to read: the same one
# message with the same offset, and the same packets stored.
python3 - "$work/cut.pcap" "$work/cut23.pcap" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
order = 'little' if d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else 'big'
assert int.from_bytes(d[4:6], order) == 2 and int.from_bytes(d[6:8], order) == 4
d[6:8] = (3).to_bytes(2, order)
open(sys.argv[2], 'wb').write(d)
PY
"$qw" analyze --quiet --db "$work/cut23.db" "$work/cut23.pcap" 2> "$work/err23"
rc=$?
[ $rc -eq 3 ] || fail "truncated pcap 2.3: exit $rc, want 3"
[ "$(wc -l < "$work/err23")" -eq 1 ] || fail "truncated pcap 2.3: want one message, got: $(cat "$work/err23")"
grep -q "cut23.pcap: offset $want_off: damaged or truncated" "$work/err23" ||
    fail "truncated pcap 2.3: want offset $want_off: $(cat "$work/err23")"
[ "$(sql "$work/cut23.db" "SELECT packets FROM runs")" = "$stored" ] ||
    fail "truncated pcap 2.3: $(sql "$work/cut23.db" "SELECT packets FROM runs") packets stored, want $stored"
pass "truncated pcap 2.3 (read by libpcap): the same message, offset and packets"

# 2. Garbage header, empty file, directory, missing file: exit 3, one clear message, no store.
head -c 200 /dev/urandom > "$work/garbage.pcap"; printf 'GARBAGE!' | dd of="$work/garbage.pcap" conv=notrunc 2>/dev/null
: > "$work/empty.pcap"
mkdir "$work/dir.pcap"
for bad in garbage.pcap:"not a pcap or pcapng" empty.pcap:"empty file" dir.pcap:"is a directory" missing.pcap:"No such file"; do
  f=${bad%%:*}; want=${bad#*:}
  "$qw" analyze --db "$work/bad.db" "$work/$f" 2> "$work/err"; rc=$?
  [ $rc -eq 3 ] || fail "$f: exit $rc, want 3"
  grep -q "$f: .*$want" "$work/err" || fail "$f: message '$(cat "$work/err")' lacks '$want'"
  [ ! -e "$work/bad.db" ] || fail "$f: a store was created for unreadable input"
done
pass "garbage header, empty file, directory, missing file: exit 3 with the file named, no store"

# 3. A bad input alongside a good one changes nothing in an existing store.
"$qw" analyze --quiet --db "$work/keep.db" "$good" || fail "good capture: exit $?"
before=$(sha256sum < "$work/keep.db")
"$qw" analyze --quiet --db "$work/keep.db" "$other" "$work/garbage.pcap" 2>/dev/null; rc=$?
[ $rc -eq 3 ] || fail "good+garbage: exit $rc, want 3"
[ "$(sha256sum < "$work/keep.db")" = "$before" ] || fail "store changed although an input was unreadable"
pass "unreadable input leaves the store as it was"

# 4. Site file errors: FILE:LINE:COL, exit 2, nothing written.
printf 'site: x\nzones:\n  - {id: a, cidrs: [10.0.0.0/8]\n' > "$work/bad.yaml"
"$qw" analyze --db "$work/site.db" --site "$work/bad.yaml" "$good" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] || fail "bad site file: exit $rc, want 2"
grep -Eq "bad.yaml:[0-9]+:[0-9]+: " "$work/err" || fail "bad site file: no FILE:LINE:COL in '$(cat "$work/err")'"
[ ! -e "$work/site.db" ] || fail "bad site file: store written"
printf -- '- just\n- a list\n' > "$work/list.yaml"
"$qw" analyze --db "$work/site.db" --site "$work/list.yaml" "$good" 2> "$work/err"; rc=$?
[ $rc -eq 2 ] && grep -q "list.yaml:1:1: " "$work/err" || fail "list site file: exit $rc, '$(cat "$work/err")'"
"$qw" analyze --quiet --db "$work/site.db" --site "$QW_SRC/examples/terminal.yaml" "$good" || fail "example site file rejected"
pass "site-file syntax errors: exit 2 with FILE:LINE:COL, nothing written"

# 5. Re-running adds to the store; the schema is versioned.
"$qw" analyze --quiet --db "$work/keep.db" "$other" || fail "second run: exit $?"
[ "$(sql "$work/keep.db" "SELECT count(*) FROM runs")" -eq 2 ] || fail "second run not recorded"
[ "$(sql "$work/keep.db" "PRAGMA user_version")" -ge 1 ] || fail "schema version not set"
[ "$(sql "$work/keep.db" "PRAGMA journal_mode")" = wal ] || fail "store not in WAL mode"
hosts=$(sql "$work/keep.db" "SELECT count(*) FROM hosts")
[ "$hosts" -ge 4 ] || fail "hosts of both runs not kept ($hosts)"
edges=$(sql "$work/keep.db" "SELECT count(*) FROM edges WHERE app_proto = 'modbus' AND server_port = 502")
[ "$edges" -ge 1 ] || fail "modbus edge missing"
"$qw" analyze --quiet --db "$work/keep.db" "$good" || fail "third run: exit $?"
flows=$(sql "$work/keep.db" "SELECT flows FROM edges WHERE app_proto = 'modbus' AND server_port = 502")
[ "$flows" -eq 2 ] || fail "re-analysing the same capture should add its flow again (got $flows)"
pass "re-runs add to the store (runs, hosts, edges), WAL, schema version"

# 6. Deterministic: same input, byte-identical event log.
"$qw" analyze --quiet --db "$work/d1.db" --events "$work/d1.json" "$good" "$other"
"$qw" analyze --quiet --db "$work/d2.db" --events "$work/d2.json" "$good" "$other"
cmp -s "$work/d1.json" "$work/d2.json" || fail "two runs gave different event logs"
pass "event log is deterministic"

# 7. Several files merge in time order: a capture split in two, given in reverse order, gives
#    the same records as the whole file.
whole=$QW_CORPUS/pcaps/modbus/zeek_modbusBig.pcap
n=$(capinfos -c -M "$whole" | awk '/Number of packets/ {print $NF}')
editcap -r "$whole" "$work/a.pcap" 1-$((n / 2)) >/dev/null
editcap -r "$whole" "$work/b.pcap" $((n / 2 + 1))-$n >/dev/null
"$qw" analyze --quiet --db "$work/w.db" --events "$work/w.json" "$whole"
"$qw" analyze --quiet --db "$work/s.db" --events "$work/s.json" "$work/b.pcap" "$work/a.pcap"
cmp -s "$work/w.json" "$work/s.json" || fail "split capture in reverse order differs from the whole"
pass "two files merged in time order equal the whole capture ($(wc -l < "$work/w.json") records)"

# 8. Nanosecond pcap and pcapng give the same records as the microsecond original.
editcap -F nsecpcap "$good" "$work/ns.pcap" >/dev/null
editcap -F pcapng "$good" "$work/ng.pcapng" >/dev/null
"$qw" analyze --quiet --db "$work/u.db" --events "$work/u.json" "$good"
"$qw" analyze --quiet --db "$work/n.db" --events "$work/n.json" "$work/ns.pcap"
"$qw" analyze --quiet --db "$work/g.db" --events "$work/g.json" "$work/ng.pcapng"
cmp -s "$work/u.json" "$work/n.json" || fail "nanosecond pcap differs"
cmp -s "$work/u.json" "$work/g.json" || fail "pcapng differs"
pass "nanosecond pcap and pcapng read identically"

# 9. Usage errors: exit 2.
"$qw" analyze 2>/dev/null; [ $? -eq 2 ] || fail "no file: want exit 2"
"$qw" analyze --bogus x 2>/dev/null; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$qw" analyze --flow-timeout udp=abc "$good" 2>/dev/null; [ $? -eq 2 ] || fail "bad timeout: want exit 2"
"$qw" nosuchcommand 2>/dev/null; [ $? -eq 2 ] || fail "unknown command: want exit 2"
for c in analyze run inventory synth; do "$qw" $c --help | grep -q "usage: quaywatch $c" || fail "$c --help"; done
pass "usage errors exit 2; every subcommand has --help"
# 10. inventory: every host address of the store in exactly one asset, in each format; errors
#     exit 2 / 3. (Grouping itself is checked against ground truth in test_inventory_synth.sh.)
python3 -c 'import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT DISTINCT ip FROM hosts")]' "$work/keep.db" | grep -vE '^(0\.0\.0\.0|255\.255\.255\.255|2(2[4-9]|[3-5][0-9])\.|ff)' | sort >"$work/host_ips"
hosts=$(wc -l <"$work/host_ips")
"$qw" inventory --db "$work/keep.db" --format json > "$work/inv.json" || fail "inventory json: exit $?"
python3 - "$work/inv.json" "$work/host_ips" <<'PY' || fail "inventory json does not hold the store's hosts"
import json, sys
inv = json.load(open(sys.argv[1]))
want = [l.strip() for l in open(sys.argv[2]) if l.strip()]
seen = [ip["ip"] for a in inv for ip in a["ips"]]
assert sorted(set(seen)) == sorted(want), (len(set(seen)), len(want))
assert len(seen) == len(set(seen)), "an address in two assets"
assert "166.161.16.230" in seen and "192.168.66.235" in seen
assert all(a["first_seen"].endswith("Z") and a["bytes_sent"] + a["bytes_recv"] > 0 for a in inv if a["ips"])
assert all(a["roles"] and a["id"] for a in inv)
PY
assets=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$work/inv.json")
[ "$("$qw" inventory --db "$work/keep.db" --format csv | wc -l)" -eq $((assets + 1)) ] || fail "inventory csv rows"
"$qw" inventory --db "$work/keep.db" | grep -q " 166.161.16.230 " || fail "inventory table lacks a host"
"$qw" inventory --db "$work/keep.db" --format xml 2>/dev/null; [ $? -eq 2 ] || fail "inventory bad format: want 2"
"$qw" inventory --db "$work/nonexistent.db" 2>/dev/null; [ $? -eq 3 ] || fail "inventory missing store: want 3"
pass "inventory holds the $hosts host addresses in $assets assets, as table, json and csv"

# 11. --events - : the event log alone on stdout (every line JSON), the summary on stderr.
"$qw" analyze --db "$work/o.db" --events - "$good" > "$work/out" 2> "$work/err" || fail "events to stdout: exit $?"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/out" || fail "stdout is not pure JSON lines"
[ "$(count_events "$work/out" flow)" -eq 1 ] || fail "no flow record on stdout"
grep -q "Traffic by protocol" "$work/err" || fail "summary not on stderr"
pass "--events - keeps stdout for JSON lines, the summary goes to stderr"

# 12. Checksums: a Modbus request whose TCP checksum is wrong and a UDP datagram whose checksum
#     is wrong are analysed either way; only --verify-checksums counts them.
python3 - "$work/csum.pcap" <<'PY' || fail "building the checksum capture"
import struct, sys
import pcapbuild as pb

hmi = pb.Host("02:00:00:00:00:0a", "10.1.0.10")
plc = pb.Host("02:00:00:00:00:0b", "10.1.0.11")


def spoil(frame, at):
    """The frame with the 16-bit word at offset `at` changed (a checksum no longer right)."""
    return frame[:at] + struct.pack("!H", struct.unpack("!H", frame[at:at + 2])[0] ^ 0x5a5a) + frame[at + 2:]


def tcp(src, dst, sp, dp, seq, ack, flags, payload=b""):
    seg = pb.tcp_segment(src.ip, dst.ip, sp, dp, seq, ack, flags, payload)
    return pb.ether(dst.mac, src.mac, 0x0800, pb.ipv4(src.ip, dst.ip, 6, seg))


req = bytes.fromhex("000100000006" "01" "03006b0003")        # read 3 holding registers at 107
rsp = bytes.fromhex("000100000009" "01" "0306022b00000064")
with pb.Writer(sys.argv[1]) as w:
    w.write(tcp(hmi, plc, 40001, 502, 100, 0, "S"))
    w.write(tcp(plc, hmi, 502, 40001, 500, 101, "SA"))
    w.write(tcp(hmi, plc, 40001, 502, 101, 501, "A"))
    w.write(spoil(tcp(hmi, plc, 40001, 502, 101, 501, "PA", req), 14 + 20 + 16))  # TCP checksum
    w.write(tcp(plc, hmi, 502, 40001, 501, 101 + len(req), "PA", rsp))
    w.write(spoil(pb.udp(hmi, plc, 40002, 161, b"\x30\x00"), 14 + 20 + 6))       # UDP checksum
PY
"$qw" analyze --db "$work/csum1.db" --events "$work/csum1.json" "$work/csum.pcap" > "$work/csum1.out" || fail "analyze exited $?"
"$qw" analyze --verify-checksums --db "$work/csum2.db" --events "$work/csum2.json" "$work/csum.pcap" > "$work/csum2.out" || fail "analyze --verify-checksums exited $?"
grep -q "bad checksums ip 0 (tcp and udp not verified: --verify-checksums);" "$work/csum1.out" || fail "default: want checksums not verified: $(grep Decode "$work/csum1.out")"
grep -q "bad checksums ip 0 tcp 1 udp 1;" "$work/csum2.out" || fail "--verify-checksums: want tcp 1 udp 1: $(grep Decode "$work/csum2.out")"
for n in 1 2; do
    grep '"event_type":"modbus"' "$work/csum$n.json" | grep -q '"values":\[555,0,100\]' || fail "run $n: the Modbus transaction with the bad checksum was not analysed"
done
pass "TCP/UDP checksums counted only with --verify-checksums; such segments are analysed either way"
echo "$passes passed, 0 failed"
