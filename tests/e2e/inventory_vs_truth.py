"""Compare `quaywatch inventory --format json` with `quaywatch synth --truth` (see
test_inventory_synth.sh). Prints every mismatch; exit 1 if there is any.

The truth file is an object whose "devices" array lists the devices present in the capture
(docs/synth.md, "Ground truth"). A device replaced during the run (the crane router of the
scripted swap, "replaced_by") no longer holds its address at the end: its MAC must still be an
asset of its own, and the address belongs to its successor.

Known limitation, reported and not counted: the inventory takes a port the scripted SYN scan
probed and the target refused (RST) for a service it serves, so the scanned PLC gets roles
from closed ports (camera for 554, printer for 631...). Such roles are printed as KNOWN."""
import collections
import json
import re
import sys

doc = json.load(open(sys.argv[1]))
truth = doc["devices"]
inv = json.load(open(sys.argv[2]))

# ports each scan target was probed on: {ip: (first, last)}
scanned = {e["target"]["ip"]: (e["first_port"], e["last_port"])
           for e in doc.get("events", []) if e["id"] == "port_scan"}


def from_scan(ip_set, role_entries, role):
    """True when every piece of evidence for `role` is a refused port of a scan of the device."""
    ranges = [scanned[ip] for ip in ip_set if ip in scanned]
    if not ranges:
        return False
    ev = [r["evidence"] for r in role_entries if r["role"] == role]
    for e in ev:
        m = re.fullmatch(r"serves port \(tcp/(\d+)\) to 1 peer", e)
        if not m or not any(lo <= int(m.group(1)) <= hi for lo, hi in ranges):
            return False
    return bool(ev)

# Physical devices: truth rows sharing a MAC are interfaces of one box.
devices = collections.OrderedDict()
for d in truth:
    key = d["mac"] or "ip:" + d["ip"]
    dev = devices.setdefault(key, {"names": [], "ips": set(), "mac": d["mac"],
                                   "vendor": d["vendor"], "roles": d["roles"],
                                   "replaced": "replaced_by" in d})
    dev["names"].append(d["name"])
    dev["ips"].add(d["ip"])

asset_of_ip = {}
asset_of_mac = {}
for a in inv:
    for ip in a["ips"]:
        asset_of_ip.setdefault(ip["ip"], set()).add(a["id"])
    for m in a["macs"]:
        asset_of_mac.setdefault(m["mac"], set()).add(a["id"])
by_id = {a["id"]: a for a in inv}

errors = []
owner = {}
for key, dev in devices.items():
    name = dev["names"][0]
    ids = set()
    if dev["replaced"]:
        # its address moved to the new box; the old box is still an asset, found by its MAC
        ids = set(asset_of_mac.get(dev["mac"], set()))
        if len(ids) != 1:
            errors.append(f"{name}: replaced device's MAC {dev['mac']} is in {len(ids)} assets")
    else:
        for ip in dev["ips"]:
            found = asset_of_ip.get(ip, set())
            if len(found) != 1:
                errors.append(f"{name}: {ip} is in {len(found)} assets {sorted(found)}")
            ids |= found
    if len(ids) != 1:
        errors.append(f"{name}: split over assets {sorted(ids)}")
        continue
    aid = ids.pop()
    if aid in owner:
        errors.append(f"{name}: merged with {owner[aid]} in {aid}")
    owner[aid] = name
    a = by_id[aid]
    macs = [m["mac"] for m in a["macs"]]
    if dev["mac"] and dev["mac"] not in macs:
        errors.append(f"{name}: asset {aid} lacks MAC {dev['mac']} (has {macs})")
    if dev["mac"] is None and macs:
        errors.append(f"{name}: routed host given the MAC(s) {macs} of its gateway")
    want = dev["vendor"]
    got = a["vendor"]
    if want is None:
        if got is not None:
            errors.append(f"{name}: vendor {got!r}, expected none (behind a gateway)")
    elif got is None or got.lower().split()[0] not in want.lower():
        errors.append(f"{name}: vendor {got!r}, expected {want!r}")
    roles = {r["role"] for r in a["roles"]}
    fair = set(dev["roles"])
    if not roles & fair:
        errors.append(f"{name}: roles {sorted(roles)}, expected one of {sorted(fair)}")
    extra = roles - fair - {"server"}
    known = {r for r in extra if from_scan(dev["ips"], a["roles"], r)}
    if known:
        print(f"KNOWN {name}: roles {sorted(known)} only from ports the scan found closed")
        extra -= known
    if extra:
        errors.append(f"{name}: unexpected roles {sorted(extra)} (fair: {sorted(fair)})")

unexplained = [a["id"] for a in inv if a["id"] not in owner]
for aid in unexplained:
    errors.append(f"asset {aid} is no device of the terminal")

for e in errors:
    print("MISMATCH", e)
print(f"{len(devices)} devices, {len(inv)} assets, {len(errors)} mismatches")
sys.exit(1 if errors else 0)
