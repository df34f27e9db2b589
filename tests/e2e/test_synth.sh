#!/usr/bin/env bash
# End-to-end test of `quaywatch synth` (docs/synth.md), with tshark as the oracle:
#   - the default run writes a capture; the same seed gives byte-identical files, another seed
#     a different one;
#   - tshark, with IP/TCP/UDP checksum validation on, finds no malformed frame, no expert error
#     or warning and no TCP analysis flag (no gaps, retransmissions, unseen ACKs);
#   - Modbus function codes 1, 3, 6, 16 and 43 are all present, with at least one exception;
#   - VLAN ids are exactly 10 20 30 40 50 60;
#   - distinct IPv4 addresses (IP and ARP): 44 at scale 1, 24 more per extra unit of scale;
#   - bad arguments exit 2, an unwritable output exits 1 and leaves no file behind.
# Needs QW_BIN (the built quaywatch); exits 77 (skip) without tshark.
set -u
command -v tshark >/dev/null || { echo "SKIP: tshark not installed (scripts/setup-deps.sh test)"; exit 77; }
[ -x "${QW_BIN:-}" ] || { echo "FAIL: QW_BIN (${QW_BIN:-unset}) is not an executable"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
pass() { echo "ok: $*"; }
# tshark with the checksum checks that are off by default, quiet about running as root
ts() { tshark -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE "$@" 2>/dev/null; }

# --- generation and determinism -------------------------------------------------------------
"$QW_BIN" synth -o "$work/a.pcap" 2>"$work/a.err" || fail "default run exited $?: $(cat "$work/a.err")"
[ -s "$work/a.pcap" ] && pass "default run wrote $(stat -c %s "$work/a.pcap") bytes" || fail "no capture written"
"$QW_BIN" synth --minutes 10 --scale 1 --seed 1 -o "$work/b.pcap" 2>/dev/null || fail "second run failed"
"$QW_BIN" synth --seed 2 -o "$work/c.pcap" 2>/dev/null || fail "seed 2 run failed"
ha=$(sha256sum <"$work/a.pcap" | cut -d' ' -f1)
hb=$(sha256sum <"$work/b.pcap" | cut -d' ' -f1)
hc=$(sha256sum <"$work/c.pcap" | cut -d' ' -f1)
[ "$ha" = "$hb" ] && pass "same seed, same bytes ($ha)" || fail "same arguments gave different files"
[ "$ha" != "$hc" ] && pass "different seed, different bytes" || fail "seed 2 gave the same file as seed 1"
left=$(ls -A "$work" | grep '^\.' || true)
[ -z "$left" ] || fail "temporary file left behind: $left"

# --- validity according to tshark ------------------------------------------------------------
bad=$(ts -r "$work/a.pcap" -Y '_ws.malformed || _ws.expert.severity == "Error"' | wc -l)
[ "$bad" -eq 0 ] && pass "no malformed frame or expert error" || fail "$bad malformed/error frames"
warn=$(ts -r "$work/a.pcap" -Y '_ws.expert.severity == "Warning" || tcp.analysis.flags' | wc -l)
[ "$warn" -eq 0 ] && pass "no expert warning or TCP analysis flag" || {
    fail "$warn frames with warnings or TCP analysis flags"
    ts -r "$work/a.pcap" -qz expert | sed -n '1,20p'
}

# One pass for the field checks: VLAN id, Modbus function and exception code.
ts -r "$work/a.pcap" -T fields -E separator=/t -e vlan.id -e modbus.func_code -e modbus.exception_code \
    >"$work/fields.tsv"
for fc in 1 3 6 16 43; do
    n=$(awk -F'\t' -v fc="$fc" '$2 == fc' "$work/fields.tsv" | wc -l)
    [ "$n" -gt 0 ] && pass "Modbus function $fc: $n PDUs" || fail "no Modbus PDU with function $fc"
done
nex=$(awk -F'\t' '$3 != ""' "$work/fields.tsv" | wc -l)
[ "$nex" -ge 1 ] && pass "Modbus exception responses: $nex" || fail "no Modbus exception response"
vlans=$(cut -f1 "$work/fields.tsv" | sort -n -u | tr '\n' ' ')
[ "$vlans" = "10 20 30 40 50 60 " ] && pass "VLAN ids: $vlans" || fail "VLAN ids are '$vlans', want '10 20 30 40 50 60'"

# --- scale -------------------------------------------------------------------------------------
count_ips() {
    ts -r "$1" -T fields -E separator=/t -e ip.src -e ip.dst -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 |
        tr '\t' '\n' | grep -v -e '^$' -e '^0\.0\.0\.0$' -e '^255\.255\.255\.255$' | sort -u | wc -l
}
for k in 1 2; do
    "$QW_BIN" synth --minutes 2 --scale "$k" -o "$work/s$k.pcap" 2>/dev/null || fail "scale $k run failed"
    n=$(count_ips "$work/s$k.pcap")
    want=$((44 + 24 * (k - 1)))
    [ "$n" -eq "$want" ] && pass "scale $k: $n distinct IPv4 addresses" || fail "scale $k: $n distinct IPv4 addresses, want $want"
done

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
expect_exit 2 "missing -o" --minutes 1
expect_exit 2 "unknown option" --bogus -o "$work/x.pcap"
[ -e "$work/x.pcap" ] && fail "a usage error wrote a file"
expect_exit 0 "--help" --help
for opt in --minutes --scale --seed -o; do
    grep -q -- "$opt" "$work/out" || fail "--help does not explain $opt"
done
expect_exit 1 "output in a missing directory" --minutes 1 -o "$work/no/such/dir/x.pcap"
[ -e "$work/no" ] && fail "failed run created $work/no"
mkdir "$work/adir"
expect_exit 1 "output is a directory" --minutes 1 -o "$work/adir"
left=$(ls -A "$work" | grep '^\.' || true)
[ -z "$left" ] && pass "no temporary file left after failures" || fail "left behind: $left"
[ -z "$(ls -A "$work/adir")" ] || fail "directory target was modified"

exit $status
