#!/usr/bin/env bash
# Differential test: Beckhoff ADS/AMS packets, quaywatch's event log vs tshark 4.0 ("ams").
#
# For every corpus capture whose protocol hierarchy holds "ams" (corpus_with), plus the file
# list below:
#   ours:   `quaywatch analyze --events`; each "ads" record's "request" and "response" object is
#           one AMS packet.
#   tshark: `tshark -Y ams -T json` with the AMS header fields (ams.targetnetid, targetport,
#           sendernetid, senderport, cmdid, stateflags, cbdata, errorcode, invokeid) and the ADS
#           data fields (ams.ads_indexgroup, ads_indexoffset, ads_cblength, ads_cbreadlength,
#           ads_cbwritelength, adsresult, ads_state, ads_devicestate, ads_devicename,
#           ads_versionversion/revision/build, ads_notificationhandle, ads_transmode,
#           ads_maxdelay, ads_cycletime, ads_noteblocksstamps).
# Compared per capture: the multiset of packets, each as its header tuple plus every decoded
# value both sides give; and the identity facts: ams_netid of every sender, and vendor, model
# and firmware of the sender of each successful ReadDeviceInfo response from a PLC runtime port
# (800-899) (vendor alone from other ports).
#
# Known differences (each corrected for below, with its reason):
#   - tshark 4.0 decodes no result and no length in a ReadWrite response (packet-ams.c stops
#     after the AMS header for command 9 answers); ours are left out of the comparison there.
#   - tshark names the AddDeviceNotification response's handle but not the Read response's
#     length (ams.ads_cblength is the request's); only request lengths are compared for Read.
#
# Exit 0 when every capture agrees, 1 otherwise, 77 (skip) without the corpus, tshark or python3.
set -u
. "$QW_SRC/tests/e2e/lib.sh"
need_tshark_diff

mapfile -t found < <(corpus_with ams)
python3 - "$QW_BIN" "$QW_CORPUS/pcaps" "$work" "${found[@]}" <<'EOF'
import collections, json, subprocess, sys
from qw_analyze import analysed

qw, corpus, tmp = sys.argv[1:4]
FILES = sorted(set(sys.argv[4:]) | {"other-ics/beckhoff_ads.pcapng"})

FIELDS = ["ip.src", "ipv6.src", "ams.targetnetid", "ams.targetport", "ams.sendernetid",
          "ams.senderport", "ams.cmdid", "ams.stateflags", "ams.cbdata", "ams.errorcode",
          "ams.invokeid", "ams.ads_indexgroup", "ams.ads_indexoffset", "ams.ads_cblength",
          "ams.ads_cbreadlength", "ams.ads_cbwritelength", "ams.adsresult", "ams.ads_state",
          "ams.ads_devicestate", "ams.ads_devicename", "ams.ads_versionversion",
          "ams.ads_versionrevision", "ams.ads_versionbuild", "ams.ads_notificationhandle",
          "ams.ads_transmode", "ams.ads_maxdelay", "ams.ads_cycletime",
          "ams.ads_noteblocksstamps"]


def num(v):
    return int(v, 0) if isinstance(v, str) else int(v)


def tshark_packets(path):
    """One dict per AMS packet (tshark shows several per frame as repeated fields)."""
    args = ["tshark", "-r", path, "-Y", "ams", "-T", "json"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    pkts = []
    for p in json.loads(out or "[]"):
        L = p["_source"]["layers"]
        src = (L.get("ip.src") or L.get("ipv6.src") or [""])[0]
        n = len(L.get("ams.cmdid", []))
        if n != 1:
            # several AMS packets in one frame: their ADS fields cannot be told apart by
            # position, so only the header fields (one per packet) are taken
            for i in range(n):
                pkts.append((src, {k: L[k][i] for k in FIELDS[2:11] if k in L}, True))
            continue
        pkts.append((src, {k: v[0] for k, v in L.items()}, False))
    return pkts


def tshark_tuple(f, header_only):
    flags = num(f["ams.stateflags"])
    cmd, rsp = num(f["ams.cmdid"]), bool(flags & 1)
    key = [f["ams.targetnetid"], num(f["ams.targetport"]), f["ams.sendernetid"],
           num(f["ams.senderport"]), cmd, flags, num(f["ams.cbdata"]), num(f["ams.errorcode"]),
           num(f["ams.invokeid"])]
    vals = {}
    if not header_only:
        for k, name in (("ams.ads_indexgroup", "index_group"),
                        ("ams.ads_indexoffset", "index_offset"),
                        ("ams.ads_cbreadlength", "read_length"),
                        ("ams.ads_cbwritelength", "write_length"),
                        ("ams.ads_state", "ads_state"), ("ams.ads_devicestate", "device_state"),
                        ("ams.ads_notificationhandle", "handle"),
                        ("ams.ads_transmode", "transmission_mode"),
                        ("ams.ads_maxdelay", "max_delay"), ("ams.ads_cycletime", "cycle_time"),
                        ("ams.ads_versionversion", "major_version"),
                        ("ams.ads_versionrevision", "minor_version"),
                        ("ams.ads_versionbuild", "version_build"),
                        ("ams.ads_noteblocksstamps", "stamps")):
            if k in f:
                vals[name] = num(f[k])
        if "ams.adsresult" in f:
            vals["result"] = num(f["ams.adsresult"])
        if "ams.ads_cblength" in f and not rsp:
            vals["length"] = num(f["ams.ads_cblength"])
        if "ams.ads_devicename" in f:
            vals["device_name"] = f["ams.ads_devicename"]
    return tuple(key), tuple(sorted(vals.items()))


COMPARED = {"index_group", "index_offset", "read_length", "write_length", "ads_state",
            "device_state", "handle", "transmission_mode", "max_delay", "cycle_time",
            "major_version", "minor_version", "version_build", "stamps", "result", "length",
            "device_name"}


def our_tuple(m, header_only):
    key = [m["target_net_id"], m["target_port"], m["source_net_id"], m["source_port"],
           m["function"], m["state_flags"], m["data_length"], m.get("error_code", 0),
           m["invoke_id"]]
    vals = {}
    if not header_only:
        rsp = m["response"]
        for k in COMPARED:
            if k not in m:
                continue
            if k == "length" and rsp:
                continue  # tshark shows no response length (see the header)
            if m["function"] == 9 and rsp:
                continue  # tshark 4.0 decodes nothing of a ReadWrite response
            vals[k] = m[k]
    return tuple(key), tuple(sorted(vals.items()))


def idents_tshark(pkts):
    out = set()
    for src, f, header_only in pkts:
        out.add((src, "ams_netid", f["ams.sendernetid"]))
        if header_only or num(f["ams.cmdid"]) != 1 or not num(f["ams.stateflags"]) & 1:
            continue
        if (num(f["ams.errorcode"]) or num(f.get("ams.adsresult", "1")) or
                "ams.ads_devicename" not in f):
            continue
        out.add((src, "vendor", "Beckhoff"))
        if 800 <= num(f["ams.senderport"]) <= 899:
            name = f["ams.ads_devicename"]
            ver = "%d.%d.%d" % (num(f["ams.ads_versionversion"]), num(f["ams.ads_versionrevision"]),
                                num(f["ams.ads_versionbuild"]))
            if name:
                out.add((src, "model", name))
            out.add((src, "firmware", ("TwinCAT " if "twincat" in name.lower() else "") + ver))
    return out


status = 0
for name, path, ev in analysed(qw, corpus, FILES, tmp):
    if ev is None:
        status = 1
        continue
    pkts = tshark_packets(path)
    multi = any(h for _, _, h in pkts)
    theirs = collections.Counter(tshark_tuple(f, h) for _, f, h in pkts)
    ours_full, ours_ident = [], set()
    with open(ev, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("event_type") == "asset" and rec["asset"]["source"] == "ads":
                a = rec["asset"]
                ours_ident.add((a["ip"], a["attribute"], a["value"]))
            if rec.get("event_type") != "ads":
                continue
            for side in ("request", "response"):
                if side in rec["ads"]:
                    ours_full.append(rec["ads"][side])
    # packets that tshark saw only as header fields are compared by header only on our side too
    header_keys = {k for (k, v) in theirs if not v} if multi else set()
    ours = collections.Counter()
    for m in ours_full:
        k, v = our_tuple(m, False)
        ours[(k, ()) if k in header_keys and (k, ()) in theirs else (k, v)] += 1
    t_ident = idents_tshark(pkts)
    problems = []
    if ours != theirs:
        only_o = list((ours - theirs).elements())[:5]
        only_t = list((theirs - ours).elements())[:5]
        problems.append(f"packets: ours-only {only_o}\n     tshark-only {only_t}")
    if ours_ident != t_ident:
        problems.append(f"identity: ours-only {sorted(ours_ident - t_ident)}, "
                        f"tshark-only {sorted(t_ident - ours_ident)}")
    if problems:
        status = 1
        print(f"FAIL {name}: ours {sum(ours.values())} packets, tshark {sum(theirs.values())}")
        for p in problems:
            print(f"     {p}")
    else:
        cmds = collections.Counter(k[4] for k, _ in ours.elements())
        print(f"ok   {name}: {sum(ours.values())} AMS packets, "
              f"commands {dict(sorted(cmds.items()))}, "
              f"{len(ours_ident)} identity facts")
sys.exit(status)
EOF
