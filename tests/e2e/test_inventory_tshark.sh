#!/usr/bin/env bash
# Differential test: the asset inventory's identity (vendor, model, firmware, serial, host names
# and the identity evidence behind them) against tshark, on every corpus capture that carries
# identity fields (Modbus 43/14, CIP identity, S7 SZL, BACnet, LLDP, CDP, DHCP, SNMP, HTTP, SSH).
#
# For each capture: `quaywatch analyze` + `quaywatch inventory --format json`, and one tshark
# pass (-T json) read independently; every tshark value is tied to the device address it is
# about and to the asset holding that address, and per asset, source and attribute both sides
# must give the same values (after the documented normalisation), the current values must be the
# newest statement, and tshark's host names must be in `hostnames`. What is compared, the
# normalisation and the known differences (each with its frames and reason) are in
# tests/e2e/inventory_tshark.py; docs/inventory.md explains the method.
#
# Exit 0 when every capture agrees (or differs only as listed), 1 otherwise, 77 (skip) without
# the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff
src=$QW_SRC

# The synthetic terminal's PLCs answer Modbus Read Device Identification (43/14), which no public
# capture does; it is compared like the corpus captures.
extra=()
if "$QW_BIN" synth --minutes 2 --seed 1 -o "$work/synth_terminal.pcap" >/dev/null 2>&1; then
    extra+=("$work/synth_terminal.pcap")
else
    echo "note: 'quaywatch synth' failed; the synthetic capture is not compared"
fi

# DHCP through a relay agent that sends from its giaddr, with host names (the corpus has it
# without): a relayed client's facts reach the address its ACK gives.
python3 "$src/tests/data/dhcp/make_relay_pcap.py" "$work" || { echo "FAIL: make_relay_pcap.py"; exit 1; }
extra+=("$work/dhcp_relay.pcap")

python3 "$src/tests/e2e/inventory_tshark.py" "$QW_BIN" "$QW_CORPUS/pcaps" "$src" "$work" "${extra[@]}"
