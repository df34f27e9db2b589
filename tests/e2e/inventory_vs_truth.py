"""Compare `quaywatch inventory --format json` with `quaywatch synth --truth` (see
test_inventory_synth.sh). Prints every mismatch; exit 1 if there is any."""
import collections
import json
import sys

truth = json.load(open(sys.argv[1]))
inv = json.load(open(sys.argv[2]))

# Physical devices: truth rows sharing a MAC are interfaces of one box.
devices = collections.OrderedDict()
for d in truth:
    key = d["mac"] or "ip:" + d["ip"]
    dev = devices.setdefault(key, {"names": [], "ips": set(), "mac": d["mac"],
                                   "vendor": d["vendor"], "roles": d["roles"]})
    dev["names"].append(d["name"])
    dev["ips"].add(d["ip"])

asset_of_ip = {}
for a in inv:
    for ip in a["ips"]:
        asset_of_ip.setdefault(ip["ip"], set()).add(a["id"])
by_id = {a["id"]: a for a in inv}

errors = []
owner = {}
for key, dev in devices.items():
    name = dev["names"][0]
    ids = set()
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
    if extra:
        errors.append(f"{name}: unexpected roles {sorted(extra)} (fair: {sorted(fair)})")

unexplained = [a["id"] for a in inv if a["id"] not in owner]
for aid in unexplained:
    errors.append(f"asset {aid} is no device of the terminal")

for e in errors:
    print("MISMATCH", e)
print(f"{len(devices)} devices, {len(inv)} assets, {len(errors)} mismatches")
sys.exit(1 if errors else 0)
