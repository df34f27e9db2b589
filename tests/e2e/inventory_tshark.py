#!/usr/bin/env python3
"""The asset inventory's identity against tshark (docs/inventory.md, "How identity is verified").

Usage: inventory_tshark.py QW_BIN CORPUS_PCAPS SRC_DIR TMP_DIR [EXTRA.pcap...]
                                                                (tests/e2e/test_inventory_tshark.sh)
       inventory_tshark.py --scan QW_BIN CORPUS_PCAPS TMP_DIR   (prints CAPTURES again)

For every corpus capture that carries identity fields (CAPTURES: found once with the cheap
SCAN_FILTER over the whole corpus, plus any capture whose inventory holds a fact of a compared
source), this runs `quaywatch analyze` and `quaywatch inventory --format json`, and reads the
same identity independently with one tshark pass (`-T json`, the layers in LAYERS). Each tshark
value is tied to the address of the device it is about, the address to the inventory asset that
holds it; then, per asset, per source protocol and per kind of fact, both sides must give the
same set of values (facts only one side has fail either way):

  source  tshark's fields (the device they are about)          kinds compared
  modbus  43/14 objects 0, 1, 2, 4, 5 (response source IP)     vendor, product_code, firmware,
                                                               model (object 5, else 4)
  enip    List Identity items; Get Attributes All / Attribute  vendor_id, vendor, product_code,
          List of the Identity object (response source IP),    firmware, serial, model
          not through a route or connection path
  s7comm  SZL 0x0011 index 1 (order number), 7 (firmware);     model, firmware, serial,
          SZL 0x001C indexes 1, 2, 5, 7, 9 (response source)   hostname (PLC name),
                                                               system_name, vendor_id
  bacnet  I-Am; Device-object properties 70, 44, 372, 77, 75,  device_instance, vendor_id,
          120, 121 in (RPM) ACKs (the sender, or the original  vendor, model, firmware, serial,
          source a BBMD forwarded; not when SNET is set)       hostname (object name)
  lldp    chassis id, system name and description, management  chassis_id, hostname,
          addresses (frame source MAC)                         description, management_ip
  cdp     device id, platform, software version, management   vendor (Cisco), hostname, model,
          address (frame source MAC)                           firmware, management_ip
  dhcp    options 12 (else 81) and 60 of a client's request,   hostname, dhcp_vendor_class
          12 of an ACK or BOOTP reply (the client: ciaddr, or
          chaddr's MAC when the frame comes from chaddr, or
          yiaddr of the ACK that answers a relayed request)
  snmp    sysDescr, sysObjectID (and its enterprise), sysName  description, sys_object_id,
          of a GetResponse without error (response source IP) vendor, hostname
  http    Server header; <title> of a 2xx HTML response that   http_server, http_title
          is not content-encoded (response source IP)
  ssh     identification string (ssh.direction: server or      ssh_banner, ssh_client
          client end)

EXTRA captures (the wrapper adds a two-minute synthetic terminal, `quaywatch synth`, whose PLCs
answer Modbus 43/14, which no public capture does) are compared the same way.

Besides these sets, an asset's current vendor, model, firmware and serial must be the value the
inventory's rule picks from what tshark shows (src/inventory/build.c current_values: the newest
fact of the first attribute of the kind any protocol stated, model before product_name; facts of
sources not compared here count with the inventory's own times), and every host name tshark
shows must be in `hostnames`.

Values are compared after the normalisation the inventory documents: surrounding whitespace and
NULs trimmed, at most 119 bytes (QW_OBS_VALUE_MAX - 1, the store's cut); vendor names through
the rules of src/analysis/vendor.c (its alias and legal-form tables are read from the source,
so the test follows them); numeric vendor ids named through tshark's own value tables
(`tshark -G values`); SNMP enterprise numbers through Wireshark's copy of the IANA registry
(enterprises.tsv).

Every difference must be listed in KNOWN with its verified reason; a KNOWN entry that no longer
occurs fails too. Exit 0 when all agree, 1 otherwise.
"""
import concurrent.futures
import datetime
import json
import os
import re
import subprocess
import sys

# Corpus captures with identity fields, as `--scan` printed them (about three minutes).
CAPTURES = [
    "bacnet/BACnet-BBMD-on-same-subnet.pcap",
    "bacnet/BACnetARRAY-element-0.pcap",
    "bacnet/BACnetARRAY-elements.pcap",
    "bacnet/BACnetIP-MSTP-Mix.pcap",
    "bacnet/bacnet-ethernet-device_non-ip.pcap",
    "bacnet/bacnet-ip.pcap",
    "bacnet/bacnet-properties.pcap",
    "bacnet/bacnet-stack-services.pcap",
    "bacnet/icsnpp_bacnet_error_reject_abort.pcap",
    "bacnet/icsnpp_bacnet_segmented_data.pcap",
    "bacnet/icsnpp_bacnet_services.pcap",
    "bacnet/iti_bacnet_test.pcap",
    "cdp/cdp_v2.pcap",
    "cdp/tcpdump_3560_CDP.pcap",
    "cdp/zeek_cdp-v1.pcap",
    "dhcp/suricata_dhcp-eve-extended-option-60.pcap",
    "dhcp/suricata_dhcp-option-52-overload.pcap",
    "dhcp/tcpdump_dhcp-mud.pcap",
    "dhcp/zeek_dhcp_discover_param_req_and_client_id.pcap",
    "dhcp/zeek_dhcp_time_and_nameserver.pcap",
    "enip/icsnpp_enip_cip_example_listidentity.pcap",
    "enip/iti_enip_test_listidentity.pcap",
    "enip/quickdraw_CL5000EIP-ChangeDateAttempt.pcap",
    "enip/quickdraw_CL5000EIP-IPAddressChangeAttempt.pcap",
    "enip/quickdraw_CL5000EIP-RebootorRestart.pcap",
    "enip/quickdraw_CL5000EIP-RemoteModeChangeAttempt.pcap",
    "enip/quickdraw_CL5000EIP-SoftwareDownloadFailure.pcap",
    "enip/quickdraw_CL5000EIP-SoftwareUpload.pcap",
    "enip/suricata_enip_test1.pcap",
    "http/ndpi_http.pcapng",
    "http/zeek_http_basic-auth-with-colon.pcap",
    "http/zeek_http_get-gzip.pcap",
    "http/zeek_http_get.pcap",
    "http/zeek_http_post.pcap",
    "http/zeek_http_proxy.pcap",
    "iec61850/iti_Sample_File_MMS_and_GOOSE.pcap",
    "lldp/lldp.detailed.pcap",
    "lldp/lldpmed_civicloc.pcap",
    "lldp/tcpdump_lldp-app-priority.pcap",
    "lldp/tcpdump_lldp_8021_linkagg.pcap",
    "lldp/tcpdump_lldp_mudurl.pcap",
    "lldp/zeek_lldp.pcap",
    "mixed-plant/plant1_mb2_modbus_s7_enip_dcp_lldp.pcap",
    "modbus/digitalbond_modbus_test_data_part1.pcap",
    "modbus/modbus-encapsulated-transport_fc43.pcap",
    "other-ics/bsap-ip_example.pcap",
    "profinet/icsnpp_profinet_io_cm_mixed_2_dcp_dhcp.pcapng",
    "profinet/iti_Profinet_Failed.pcap",
    "s7comm/snap7_s300_everything_szl.pcap",
    "s7comm/tia_s300_goOnline_szl.pcap",
    "s7comm/wireshark_s7comm_program_blocklist_onlineview.pcap",
    "s7comm/wireshark_s7comm_reading_plc_status_szl.pcap",
    "s7comm/wireshark_s7comm_reading_setting_plc_time.pcap",
    "snmp/ndpi_snmp.pcapng",
    "snmp/snmp_usm_sysdescr.pcap",
    "snmp/suricata_wiresharkwiki_snmpv1-trap.pcap",
    "snmp/zeek_snmpv1_get.pcap",
    "snmp/zeek_snmpv1_trap.pcap",
    "snmp/zeek_snmpv2_get_bulk.pcap",
    "snmp/zeek_snmpv3_get_next.pcap",
    "ssh/tcpdump_ssh.pcap",
    "ssh/zeek_ssh.pcap",
    "ssh/zeek_ssh1-ssh2-fingerprints.pcap",
    "ssh/zeek_ssh_kex_curve25519.pcap",
    "ssh/zeek_ssh_single-conn.pcap",
    "ssh/zeek_sshguess.pcap",
]

# tshark finds protocols by port; quaywatch by payload. Where a capture runs a compared protocol
# on another port, tshark is told (verified by hand: the payload is that protocol).
DECODE_AS = {
    # frames 203-205: an SSH server on tcp/2200 (paramiko_1.15.2); frames 46-51: one on
    # tcp/41644 (128.2.6.88 answers the SYN of 10.0.0.18:40184)
    "ssh/zeek_ssh.pcap": ["tcp.port==2200,ssh", "tcp.port==41644,ssh"],
    # frames 36-38: an SSH-1.5 server on tcp/2222
    "ssh/zeek_ssh1-ssh2-fingerprints.pcap": ["tcp.port==2222,ssh"],
}

# Frames that carry an identity field of a compared source (used by --scan only).
SCAN_FILTER = (
    "(modbus.mei == 14 && modbus.object_id) || enip.lir.vendor || cip.id.vendor_id"
    " || s7comm.szl.xy11.0001.anz || s7comm.szl.001c.000x.index || bacapp.vendor_identifier"
    " || bacapp.unconfirmed_service == 0 || (bacapp.type == 3 && bacapp.objectType == 8)"
    " || lldp || cdp || dhcp.option.hostname || dhcp.option.vendor_class_id || snmp.name"
    " || http.server || ssh.protocol"
)
# The frames each tshark pass prints (a superset of SCAN_FILTER's), and the layers it keeps.
# (every DHCP frame: a relayed ACK without options of its own gives a request's facts an address)
FRAME_FILTER = SCAN_FILTER + " || (http.response && http.file_data) || dhcp"
LAYERS = ("frame eth vlan ip ipv6 bvlc bacnet bacapp modbus enip cip cipcm s7comm lldp cdp dhcp"
          " snmp http ssh")

VALUE_MAX = 119  # QW_OBS_VALUE_MAX - 1 (src/analysis/observe.h): longer values are cut

# What the inventory reads as its current values (src/inventory/build.c current_values) and
# the attributes compared one to one.
GROUPS = {
    "vendor": ("vendor", "vendor_name"),
    "model": ("model", "product_name", "model_name"),
    "firmware": ("firmware", "revision"),
    "serial": ("serial",),
    "hostname": ("hostname", "name", "user_application_name"),
}
SINGLE = ("vendor_id", "product_code", "device_instance", "chassis_id", "management_ip",
          "description", "system_name", "sys_object_id", "dhcp_vendor_class", "http_server",
          "http_title", "ssh_banner", "ssh_client")
GROUP_OF = {a: g for g, attrs in GROUPS.items() for a in attrs}
GROUP_OF.update({a: a for a in SINGLE})

# Which groups each source is compared on: the attributes its parser emits and tshark shows.
COMPARED = {
    "modbus": {"vendor", "model", "firmware", "product_code"},
    "enip": {"vendor", "vendor_id", "model", "firmware", "serial", "product_code"},
    "s7comm": {"model", "firmware", "serial", "hostname", "system_name", "vendor_id"},
    "bacnet": {"vendor", "vendor_id", "device_instance", "model", "firmware", "serial", "hostname"},
    "lldp": {"chassis_id", "hostname", "description", "management_ip"},
    "cdp": {"vendor", "hostname", "model", "firmware", "management_ip"},
    "dhcp": {"hostname", "dhcp_vendor_class"},
    "snmp": {"description", "sys_object_id", "vendor", "hostname"},
    "http": {"http_server", "http_title"},
    "ssh": {"ssh_banner", "ssh_client"},
}

# Differences verified by hand: (capture, source, address, group) -> reason. The address is the
# one tshark ties the value to; both sides' values are printed when the test runs.
KNOWN = {
    # BACnet outside IP: quaywatch decodes BACnet/IP (UDP) only (docs/protocols.md), so a device
    # that speaks BACnet only over Ethernet has no identity, and no asset when it sends nothing
    # else. tshark: I-Am device 123, vendor 18 (frames 1, 4, 14, ...: eth:llc:bacnet) and
    # device 111 read over ISO 8802-2 (frames 2, 3, 5, ...); inventory: no asset.
    ("bacnet/bacnet-ethernet-device_non-ip.pcap", "*", "00:0c:6e:b0:3c:15", "asset"):
        "BACnet/Ethernet (ISO 8802-2 LLC) is not decoded; the device sends nothing over IP",
    ("bacnet/bacnet-properties.pcap", "*", "00:0c:6e:b0:3c:15", "asset"):
        "BACnet/Ethernet (ISO 8802-2 LLC) is not decoded; the device sends nothing over IP",
    # frames 860, 1170: I-Am device 86114 from MS/TP station 114, tunnelled in Cimetrics'
    # LLC/SNAP encapsulation (OUI 00:10:90, PID 1) with the pseudo-MAC 00:00:00:00:00:72.
    ("bacnet/BACnetIP-MSTP-Mix.pcap", "*", "00:00:00:00:00:72", "asset"):
        "BACnet MS/TP tunnelled over LLC/SNAP is not decoded; the station has no Ethernet "
        "interface of its own",
    # frame 29: I-Am device 101 from 10.10.10.10, vendor id 1337 ("Xxter bv" in tshark). The
    # vendor table (bacnet_tables.c) names common building-automation vendors, not all ~1,450
    # ASHRAE ids; the inventory keeps vendor_id 1337 as evidence and names no vendor.
    ("bacnet/icsnpp_bacnet_error_reject_abort.pcap", "bacnet", "10.10.10.10", "vendor"):
        "vendor id 1337 is not in the parser's vendor table (vendor_id 1337 is kept)",
    ("bacnet/icsnpp_bacnet_error_reject_abort.pcap", "current", "10.10.10.10", "vendor"):
        "vendor id 1337 is not in the parser's vendor table, so no protocol names a vendor",
    # Three BACnet stacks share 192.168.0.255 (UDP ports 47808, 57861, 60877; devices 126, 111,
    # 4194303) with vendors 42 (Acuity Brands) and 24 (Automated Logic). Each fact is stated
    # once per flow (src/proto/bacnet.c), so the repeats of vendor 24 on 57861 (frames 417,
    # 544) do not move its last time past frame 506 (vendor 42, port 60877, a new flow): the
    # inventory's current vendor is Acuity Brands, tshark's last statement is frame 544's.
    # Both vendors are in the evidence (the set comparison passes).
    ("bacnet/icsnpp_bacnet_services.pcap", "current", "192.168.0.255", "vendor"):
        "one address, several BACnet devices; a fact repeated within a flow keeps its time",
    # frames 20, 22, 26: get-responses (sysLocation, sysName) from 250.58.112.87, an address in
    # 240.0.0.0/4 (reserved; nDPI's capture is anonymised). The inventory keeps no asset for
    # addresses in 224.0.0.0/3 (multicast and reserved: docs/inventory.md rule 4).
    ("snmp/ndpi_snmp.pcapng", "*", "250.58.112.87", "asset"):
        "reserved address 240.0.0.0/4: no asset (docs/inventory.md)",
}


def trim(v):
    return v.strip(" \t\r\n\0")[:VALUE_MAX] if isinstance(v, str) else v


def cut(v):
    """At most VALUE_MAX bytes of UTF-8, as the store keeps them (a cut character is dropped)."""
    b = v.encode("utf-8", "surrogateescape")
    if len(b) <= VALUE_MAX:
        return v
    return b[:VALUE_MAX].decode("utf-8", "ignore")


# ---- vendor normalisation, from src/analysis/vendor.c -------------------------------------

class VendorNorm:
    def __init__(self, src):
        text = open(os.path.join(src, "src/analysis/vendor.c"), encoding="utf-8").read()
        al = re.search(r"aliases\[\]\s*=\s*\{(.*?)\n\};", text, re.S).group(1)
        self.aliases = re.findall(r'\{"([^"]*)",\s*"([^"]*)"\}', al)
        sf = re.search(r"suffixes\[\]\s*=\s*\{(.*?)\n\};", text, re.S).group(1)
        self.suffixes = {s.lower() for s in re.findall(r'"([^"]*)"', sf)}
        if len(self.aliases) < 10 or len(self.suffixes) < 10:
            raise SystemExit("FAIL: could not read the vendor tables of src/analysis/vendor.c")

    def __call__(self, v):
        out = " ".join(re.split(r"[\s\0]+", v)).strip()
        while True:
            out = out.rstrip(", ")
            w = len(out)
            while w and out[w - 1] not in " ,":
                w -= 1
            if w == 0 or out[w:].lower() not in self.suffixes:
                break
            out = out[:w]
        low = out.lower()
        for prefix, canonical in self.aliases:
            n = len(prefix)
            if low.startswith(prefix) and (n == len(out) or not out[n].isascii() or
                                           not out[n].isalnum()):
                return canonical
        return out


# ---- tshark -----------------------------------------------------------------------------------

class Obj(list):
    """A JSON object as its (key, value) pairs in order: tshark repeats keys."""


def leaves(node):
    """(key, value) in document order; a subtree yields (key, None) before its content."""
    for k, v in node:
        if isinstance(v, Obj):
            yield k, None
            yield from leaves(v)
        else:
            yield k, v


def tshark_frames(path, rel):
    args = ["tshark", "-r", path, "-Y", FRAME_FILTER, "-T", "json", "-J", LAYERS]
    for d in DECODE_AS.get(rel, []):
        args += ["-d", d]
    r = subprocess.run(args, capture_output=True, text=True, errors="surrogateescape")
    pk = json.loads(r.stdout or "[]", object_pairs_hook=Obj)
    for p in pk:
        layers = dict(dict(p)["_source"])["layers"]
        yield Frame(layers)


class Frame:
    def __init__(self, layers):
        self.layers = layers  # Obj of (layer name, Obj)
        self.meta = {}
        for name, tree in layers:
            if name in ("frame", "eth", "ip", "ipv6", "vlan"):
                for k, v in leaves(tree):
                    if v is None:
                        continue
                    if k == "vlan.id":
                        self.meta.setdefault("vlan", []).append(v)
                    elif k in ("frame.number", "frame.time_epoch", "eth.src", "eth.dst", "ip.src",
                               "ip.dst", "ipv6.src", "ipv6.dst"):
                        self.meta[k] = v  # tunnels: the innermost header wins
        self.no = int(self.meta.get("frame.number", "0"))
        self.t = float(self.meta.get("frame.time_epoch", "0"))
        self.src = self.meta.get("ip.src") or self.meta.get("ipv6.src")
        self.smac = self.meta.get("eth.src")

    def layer(self, name):
        return [list(leaves(t)) for n, t in self.layers if n == name and isinstance(t, Obj)]


def hexstr(v):
    """An FT_BYTES value ("4c:69:6e") as text."""
    if not v:
        return ""
    if re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2})*", v):
        return bytes.fromhex(v.replace(":", "")).decode("utf-8", "surrogateescape")
    return v


class Facts:
    """What tshark says: (kind, address) -> source -> attribute -> {value: (first frame, last
    time)}."""

    def __init__(self):
        self.d = {}
        self.skipped = {}
        self.relayed = {}  # ex_dhcp: relayed requests waiting for their ACK

    def add(self, kind, addr, source, attr, value, fr, norm=trim):
        if value is None:
            return
        value = cut(norm(value))
        if value == "":
            return
        slot = self.d.setdefault((kind, addr.lower() if kind == "mac" else addr), {}) \
                     .setdefault(source, {}).setdefault(attr, {})
        first, last = slot.get(value, (fr.no, fr.t))
        slot[value] = (min(first, fr.no), max(last, fr.t))

    def skip(self, why):
        self.skipped[why] = self.skipped.get(why, 0) + 1


class Names:
    """tshark's value strings for vendor ids, and the IANA enterprise numbers."""

    def __init__(self):
        out = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True,
                             errors="replace").stdout
        self.v = {}
        for line in out.splitlines():
            p = line.split("\t")
            if len(p) == 4 and p[0] == "V" and p[1] in ("cip.id.vendor_id",
                                                         "bacapp.vendor_identifier"):
                self.v[(p[1], int(p[2]))] = p[3]
        self.pen = {}
        for d in ("/usr/share/wireshark", "/usr/local/share/wireshark"):
            f = os.path.join(d, "enterprises.tsv")
            if os.path.exists(f):
                for line in open(f, encoding="utf-8", errors="replace"):
                    p = line.rstrip("\n").split("\t")
                    if len(p) >= 2 and p[0].isdigit():
                        self.pen[int(p[0])] = p[1]
                break


def first(lv):
    """Leaf values by key, the first occurrence of each (option 61 repeats dhcp.hw.mac_addr)."""
    d = {}
    for k, v in lv:
        if v is not None:
            d.setdefault(k, v)
    return d


def num(v):
    return int(v, 0) if v else None


def extract(frames, names):
    facts = Facts()
    for fr in frames:
        ip = fr.src
        for lv in fr.layer("modbus"):
            ex_modbus(facts, fr, ip, lv)
        ex_enip(facts, fr, ip, fr.layer("enip"), names)
        # a connected message goes where its Forward Open's connection path led (tshark
        # repeats that path in the enip layer's "Connection Information")
        connected_routed = any(k == "cip.port" for lv in fr.layer("enip") for k, _ in lv)
        for name in ("cip", "cipcm"):
            for lv in fr.layer(name):
                routed = connected_routed or (name == "cipcm" and
                                              any(k == "cip.port" for k, _ in lv))
                ex_cip(facts, fr, ip, lv, names, routed)
        for lv in fr.layer("s7comm"):
            ex_s7(facts, fr, ip, lv)
        ex_bacnet(facts, fr, names)
        for lv in fr.layer("lldp"):
            ex_lldp(facts, fr, lv)
        for lv in fr.layer("cdp"):
            ex_cdp(facts, fr, lv)
        for lv in fr.layer("dhcp"):
            ex_dhcp(facts, fr, lv)
        for lv in fr.layer("snmp"):
            ex_snmp(facts, fr, ip, lv, names)
        for lv in fr.layer("http"):
            ex_http(facts, fr, ip, lv)
        for lv in fr.layer("ssh"):
            ex_ssh(facts, fr, ip, lv)
    for _ in facts.relayed:
        facts.skip("dhcp: relayed request of a client without an address, no ACK on its flow")
    return facts


def ex_modbus(facts, fr, ip, lv):
    """43/14 response objects ([Modbus APP] s.6.21): 0 vendor, 1 product code, 2 revision,
    4 product name, 5 model name (the model, else the product name)."""
    d = dict((k, v) for k, v in lv if v is not None)
    if d.get("modbus.mei") != "14" or "modbus.request_frame" not in d:
        return
    objs, cur = {}, None
    for k, v in lv:
        if k == "modbus.object_id":
            cur = int(v)
        elif k == "modbus.object_str_value" and cur is not None:
            objs[cur] = v
    for oid, attr in ((0, "vendor"), (1, "product_code"), (2, "firmware"), (4, "product_name")):
        if oid in objs:
            facts.add("ip", ip, "modbus", attr, objs[oid], fr)
    if 5 in objs or 4 in objs:
        facts.add("ip", ip, "modbus", "model", objs.get(5, objs.get(4)), fr)


def cip_identity(facts, fr, ip, rec, names, vendor_field):
    vid = num(rec.get("vendor"))
    if vid is None:
        return
    facts.add("ip", ip, "enip", "vendor_id", str(vid), fr)
    facts.add("ip", ip, "enip", "vendor", names.v.get((vendor_field, vid)), fr)
    if rec.get("product_code"):
        facts.add("ip", ip, "enip", "product_code", str(num(rec["product_code"])), fr)
    if rec.get("major") is not None:
        facts.add("ip", ip, "enip", "firmware", f"{rec['major']}.{rec['minor']}", fr)
    if rec.get("serial"):
        facts.add("ip", ip, "enip", "serial", "0x%08x" % num(rec["serial"]), fr)
    if rec.get("name"):
        facts.add("ip", ip, "enip", "model", rec["name"], fr)
        facts.add("ip", ip, "enip", "product_name", rec["name"], fr)


def ex_enip(facts, fr, ip, layers, names):
    """List Identity replies: one identity per CIP Identity item ([CIP Vol 2] 2-4.3). tshark
    reads the revision as one 16-bit number, major revision in the high byte."""
    for lv in layers:
        rec = None
        for k, v in lv + [("end", "")]:
            if k in ("enip.lir.vendor", "end") and rec:
                cip_identity(facts, fr, ip, rec, names, "cip.id.vendor_id")
                rec = None
            if k == "enip.lir.vendor":
                rec = {"vendor": v}
            elif rec is not None and k == "enip.lir.prodcode":
                rec["product_code"] = v
            elif rec is not None and k == "enip.lir.revision":
                rec["major"], rec["minor"] = num(v) >> 8, num(v) & 0xFF
            elif rec is not None and k == "enip.lir.serial":
                rec["serial"] = v
            elif rec is not None and k == "enip.lir.name":
                rec["name"] = v


def ex_cip(facts, fr, ip, lv, names, routed):
    """Get Attributes All (or Get Attribute List) of the Identity object (class 1). Inside an
    Unconnected Send with a route path (tshark's cipcm layer), or on a connection whose Forward
    Open path leads through a port, the answer comes from the module at the end of that path (a
    backplane slot), not from the device that owns the IP address: not compared (the parser
    emits nothing for it either)."""
    rec = {}
    for k, v in lv:
        if k == "cip.id.vendor_id":
            rec["vendor"] = v
        elif k == "cip.id.product_code":
            rec["product_code"] = v
        elif k == "cip.id.major_rev":
            rec["major"] = num(v)
        elif k == "cip.id.minor_rev":
            rec["minor"] = num(v)
        elif k == "cip.id.serial_number":
            rec["serial"] = v
        elif k == "cip.id.product_name":
            rec["name"] = v
    if "serial" not in rec and "name" not in rec:
        return  # electronic keys of Forward Open carry vendor ids too: not an identity
    if routed:
        facts.skip("enip: identity of a module reached through a route path (backplane slot)")
        return
    rec.setdefault("minor", 0)
    cip_identity(facts, fr, ip, rec, names, "cip.id.vendor_id")


def ex_s7(facts, fr, ip, lv):
    """SZL 0x0011 (module identification) and 0x001C (component identification) answers."""
    idx = None
    rec11 = {}
    for k, v in lv:
        if k in ("s7comm.szl.xy11.0001.index", "s7comm.szl.001c.000x.index"):
            idx = num(v)
            if k.startswith("s7comm.szl.xy11"):
                rec11[idx] = {}
        elif k.startswith("s7comm.szl.xy11.0001.") and idx in rec11:
            rec11[idx][k.rsplit(".", 1)[1]] = v
        elif k == "s7comm.szl.001c.0001.name":
            facts.add("ip", ip, "s7comm", "system_name", v, fr)
        elif k == "s7comm.szl.001c.0002.name":
            facts.add("ip", ip, "s7comm", "name", v, fr)
        elif k == "s7comm.szl.001c.0005.serialn":
            facts.add("ip", ip, "s7comm", "serial", v, fr)
        elif k == "s7comm.szl.001c.0007.cputypname":
            facts.add("ip", ip, "s7comm", "product_name", v, fr)
        elif k == "s7comm.szl.001c.0009.manufacturer_id":
            facts.add("ip", ip, "s7comm", "vendor_id", str(num(v)), fr)
    if 1 in rec11:
        facts.add("ip", ip, "s7comm", "model", rec11[1].get("anz"), fr)
    fw = rec11.get(7, {})
    if fw.get("ausbg") and num(fw["ausbg"]) >> 8 == ord("V"):
        # Ausbg = 'V' and the first number, Ausbe = the two others (SZL-ID W#16#xy11)
        g, e = num(fw["ausbg"]), num(fw["ausbe"])
        facts.add("ip", ip, "s7comm", "firmware", f"V{g & 0xFF}.{e >> 8}.{e & 0xFF}", fr)


BACNET_TEXT_PROPS = {121: "vendor", 70: "model", 44: "firmware", 372: "serial", 77: "name"}


def ex_bacnet(facts, fr, names):
    """I-Am and the Device object's identifying properties in ReadProperty(Multiple) ACKs.
    The device is the sender; a BBMD's Forwarded-NPDU names the originator (bvlc.fwd_ip); a
    message routed from another BACnet network (NPDU SNET) comes from a device with no IP
    address of its own: not compared."""
    apps = fr.layer("bacapp")
    if not apps:
        return
    npdu = dict((k, v) for lv in fr.layer("bacnet") for k, v in lv if v is not None)
    bvlc = dict((k, v) for lv in fr.layer("bvlc") for k, v in lv if v is not None)
    if "bacnet.snet" in npdu:
        facts.skip("bacnet: sent from another BACnet network through a router (SNET)")
        return
    if "bvlc.fwd_ip" in bvlc:
        kind, addr = "ip", bvlc["bvlc.fwd_ip"]
    elif fr.src:
        kind, addr = "ip", fr.src
    else:
        kind, addr = "mac", fr.smac
    for lv in apps:
        d = dict((k, v) for k, v in lv if v is not None)
        if d.get("bacapp.type") == "1" and d.get("bacapp.unconfirmed_service") == "0":
            inst, otype = num(d.get("bacapp.instance_number")), d.get("bacapp.objectType")
            if otype == "8" and inst is not None and inst != 0x3FFFFF:
                facts.add(kind, addr, "bacnet", "device_instance", str(inst), fr)
            vid = num(d.get("bacapp.vendor_identifier"))
            if vid is not None and otype == "8":
                facts.add(kind, addr, "bacnet", "vendor_id", str(vid), fr)
                facts.add(kind, addr, "bacnet", "vendor",
                          names.v.get(("bacapp.vendor_identifier", vid)), fr)
            continue
        if d.get("bacapp.type") != "3" or d.get("bacapp.confirmed_service") not in ("12", "14"):
            continue
        # The object read, then per property its identifier and, one constructed-tag level
        # deeper (named tags 6 open, 7 close), its value; tshark shows a character string only
        # in the value item's label ("vendor-name: ISO 10646 UCS-2 'JCI'").
        otype, prop, depth, prop_depth, vtype = None, None, 0, 0, None
        for k, v in lv:
            if k == "bacapp.named_tag":
                depth += 1 if v == "6" else -1 if v == "7" else 0
            elif k == "bacapp.property_identifier":
                prop, prop_depth = num(v), depth
            elif k == "bacapp.objectType":
                if prop is not None and depth > prop_depth:
                    vtype = v
                else:
                    otype, prop = v, None
            elif otype != "8" or prop is None or depth <= prop_depth:
                continue
            elif k == "bacapp.instance_number" and prop == 75:
                if vtype == "8" and num(v) != 0x3FFFFF:
                    facts.add(kind, addr, "bacnet", "device_instance", str(num(v)), fr)
            elif k == "bacapp.object_name" and prop == 77:
                facts.add(kind, addr, "bacnet", "name", v, fr)
            elif v is None and prop in BACNET_TEXT_PROPS and prop != 77:
                m = re.fullmatch(r"[\w-]+: [A-Z][^']* '(.*)'", k, re.S)
                if m:
                    facts.add(kind, addr, "bacnet", BACNET_TEXT_PROPS[prop], m.group(1), fr)
            elif v is None and prop == 120:
                m = re.fullmatch(r"vendor-identifier: \(Unsigned\) (\d+)", k)
                if m:
                    vid = int(m.group(1))
                    facts.add(kind, addr, "bacnet", "vendor_id", str(vid), fr)
                    facts.add(kind, addr, "bacnet", "vendor",
                              names.v.get(("bacapp.vendor_identifier", vid)), fr)


def ex_lldp(facts, fr, lv):
    d = {}
    mgmt = []
    for k, v in lv:
        if v is None:
            continue
        if k in ("lldp.mgn.addr.ip4", "lldp.mgn.addr.ip6"):
            mgmt.append(v)
        d.setdefault(k, v)
    sub = num(d.get("lldp.chassis.subtype"))
    if sub is None:
        # no chassis id first: refused by the parser (IEEE 802.1AB s.8.4, test_lldp_cdp_tshark)
        facts.skip("lldp: no chassis id TLV first, refused")
        return
    if sub == 4:
        cid = d.get("lldp.chassis.id.mac")
    elif sub == 5:
        cid = d.get("lldp.chassis.id.ip4") or d.get("lldp.chassis.id.ip6")
    else:
        cid = hexstr(d.get("lldp.chassis.id", ""))
    mac = fr.smac
    facts.add("mac", mac, "lldp", "chassis_id", cid, fr)
    facts.add("mac", mac, "lldp", "hostname", d.get("lldp.tlv.system.name"), fr)
    facts.add("mac", mac, "lldp", "description", d.get("lldp.tlv.system.desc"), fr)
    for a in mgmt:
        facts.add("mac", mac, "lldp", "management_ip", a, fr)


def ex_cdp(facts, fr, lv):
    d, sw, addrs = {}, [], []
    for k, v in lv:
        if v is None:
            continue
        if k == "cdp.software_version":
            sw.append(v)
        d.setdefault(k, v)
    mac = fr.smac
    # CDP is Cisco's protocol (tshark: "Cisco Discovery Protocol"): its sender is a Cisco device
    facts.add("mac", mac, "cdp", "vendor", "Cisco", fr)
    facts.add("mac", mac, "cdp", "hostname", d.get("cdp.deviceid"), fr)
    facts.add("mac", mac, "cdp", "model", d.get("cdp.platform"), fr)
    lines = [x.strip() for x in sw if x.strip()]
    fw = next((x for x in lines if "Version" in x), lines[0] if lines else None)
    facts.add("mac", mac, "cdp", "firmware", fw, fr)
    # the management address TLV's addresses, else the first of the addresses TLV (the
    # parser's rule, docs/events/cdp.md); tshark names both TLVs' addresses alike, under a
    # "Management Addresses" or "Addresses" item
    tlv, addrs = None, {"Addresses": [], "Management Addresses": []}
    for k, v in lv:
        if v is None and k in addrs:
            tlv = k
        elif tlv and k in ("cdp.nrgyz.ip_address", "cdp.nrgyz.ipv6_address"):
            addrs[tlv].append(v)
    for a in addrs["Management Addresses"] or addrs["Addresses"][:1]:
        facts.add("mac", mac, "cdp", "management_ip", a, fr)


def ex_dhcp(facts, fr, lv):
    """The client's options 12 (else the name of 81) and 60, and the host name of an ACK or
    BOOTP reply. The client is ciaddr when it has an address, else chaddr (an Ethernet client's
    MAC) when the frame comes from chaddr itself. A request relayed without ciaddr names a
    client on another segment by MAC only: its facts wait for the ACK (BOOTP reply) that
    answers it on the same relay-server pair (same xid and chaddr) and go to yiaddr, as does
    the host name of any reply sent to a relay agent; an OFFER or a NAK gives nothing."""
    d = first(lv)
    mac = d.get("dhcp.hw.mac_addr")
    ether = d.get("dhcp.hw.type") in ("0x01", "1") and d.get("dhcp.hw.len") == "6"
    ciaddr, giaddr = d.get("dhcp.ip.client", "0.0.0.0"), d.get("dhcp.ip.relay", "0.0.0.0")
    yiaddr, dst = d.get("dhcp.ip.your", "0.0.0.0"), fr.meta.get("ip.dst")
    name = d.get("dhcp.option.hostname")
    if d.get("dhcp.type") == "1":
        if name is None and d.get("dhcp.fqdn.name"):
            name = d["dhcp.fqdn.name"].rstrip(".")
        said = (name, d.get("dhcp.option.vendor_class_id"))
        if ciaddr != "0.0.0.0":
            kind, addr = "ip", ciaddr
        elif ether and mac and fr.smac == mac:
            kind, addr = "mac", mac
        else:
            # an ACK answers a REQUEST, a BOOTP reply a BOOTP request; anything else left here
            # is counted as not compared once the capture is read (extract)
            key = (frozenset((fr.src, dst)), d.get("dhcp.id"), mac,
                   d.get("dhcp.option.dhcp", "bootp"))
            facts.relayed[key] = said
            return
        facts.add(kind, addr, "dhcp", "hostname", said[0], fr)
        facts.add(kind, addr, "dhcp", "dhcp_vendor_class", said[1], fr)
    elif (d.get("dhcp.type") == "2" and d.get("dhcp.option.dhcp", "5") == "5" and
          yiaddr != "0.0.0.0"):
        if dst == yiaddr:
            kind, addr = "ip", yiaddr
        elif giaddr != "0.0.0.0" and dst == giaddr:
            kind, addr = "ip", yiaddr
            said = facts.relayed.pop((frozenset((fr.src, dst)), d.get("dhcp.id"), mac,
                                      "3" if "dhcp.option.dhcp" in d else "bootp"), None)
            if said:
                facts.add(kind, addr, "dhcp", "hostname", said[0], fr)
                facts.add(kind, addr, "dhcp", "dhcp_vendor_class", said[1], fr)
        elif ether and mac:
            kind, addr = "mac", mac
        else:
            return
        facts.add(kind, addr, "dhcp", "hostname", name, fr)


SNMP_SYS = {"1.3.6.1.2.1.1.1.0": "description", "1.3.6.1.2.1.1.2.0": "sys_object_id",
            "1.3.6.1.2.1.1.5.0": "hostname"}


def ex_snmp(facts, fr, ip, lv, names):
    """sysDescr, sysObjectID (and the enterprise it names), sysName of a GetResponse without
    error: the responder is the agent."""
    inside, status, name = False, None, None
    for k, v in lv:
        if k == "snmp.get_response_element":
            inside = True
        elif k.endswith("_element") and k.startswith("snmp."):
            inside = False
        elif inside and k == "snmp.error_status":
            status = v
        elif inside and status == "0" and k == "snmp.name":
            name = v
        elif inside and status == "0" and name and k.startswith("snmp.value.") and v is not None:
            attr = SNMP_SYS.get(name)
            if attr == "sys_object_id" and k == "snmp.value.oid":
                facts.add("ip", ip, "snmp", attr, v, fr)
                m = re.match(r"1\.3\.6\.1\.4\.1\.(\d+)", v)
                if m:
                    facts.add("ip", ip, "snmp", "vendor", names.pen.get(int(m.group(1))), fr)
            elif attr and attr != "sys_object_id" and k == "snmp.value.octets":
                facts.add("ip", ip, "snmp", attr, hexstr(v).rstrip("\0 \r\n"), fr)
            name = None


def html_title(body):
    """The <title> text as the HTTP parser reads it (src/proto/http.c title_feed): the element
    name case-insensitive, its text to the next '<', whitespace runs as one space, at most
    128 bytes, within the first 16 KiB of the body."""
    body = body[:16384]
    m = re.search(r"<title(?:[\s/][^>]*)?>([^<]*)", body, re.I)
    if not m:
        return None
    t = " ".join(m.group(1).split())
    return t.encode("utf-8", "surrogateescape")[:128].decode("utf-8", "ignore")


def ex_http(facts, fr, ip, lv):
    d = dict((k, v) for k, v in lv if v is not None)
    if d.get("http.response") is None and "http.response.code" not in d:
        return
    facts.add("ip", ip, "http", "http_server", d.get("http.server"), fr)
    code = num(d.get("http.response.code", "0"))
    ctype = d.get("http.content_type", "")
    if 200 <= code < 300 and "http.file_data" in d and "http.content_encoding" not in d and \
            (not ctype or "html" in ctype.lower()):
        facts.add("ip", ip, "http", "http_title", html_title(d["http.file_data"]), fr)


def ex_ssh(facts, fr, ip, lv):
    for k, v in lv:
        if k == "ssh.protocol" and v and v.startswith("SSH-"):
            server = dict((a, b) for a, b in lv if b is not None).get("ssh.direction") == "1"
            soft = v.split("-", 2)[2] if v.count("-") >= 2 else ""
            facts.add("ip", ip, "ssh", "ssh_banner" if server else "ssh_client", soft, fr)


# ---- quaywatch ---------------------------------------------------------------------------------

def quaywatch(qw, path, tmp):
    base = os.path.join(tmp, re.sub(r"[^\w.-]", "_", os.path.abspath(path)))
    db = base + ".db"
    if os.path.exists(db):
        os.remove(db)
    r = subprocess.run([qw, "analyze", "--db", db, path], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        return None, f"analyze exited {r.returncode}: {r.stderr.strip()[:200]}"
    r = subprocess.run([qw, "inventory", "--db", db, "--format", "json"], capture_output=True,
                       text=True, errors="surrogateescape")
    if r.returncode != 0:
        return None, f"inventory exited {r.returncode}"
    return json.loads(r.stdout), None


def us(ts):
    """RFC 3339 with microseconds -> microseconds since the epoch."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return round(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6)


def compare(rel, facts, inv, vnorm):
    """Problems as (key for KNOWN, text), and the number of (asset, source, kind) sets equal.
    Per asset: what tshark says about any of its addresses against its evidence, for every
    compared source, so that facts only one side has are found both ways."""
    problems = []
    by_ip, by_mac = {}, {}
    for a in inv:
        for i in a["ips"]:
            by_ip.setdefault(i["ip"], []).append(a)
        for m in a["macs"]:
            by_mac.setdefault(m["mac"].lower(), []).append(a)

    def norm(g, v):
        return vnorm(v) if g == "vendor" else trim(v)

    told = {}  # asset id -> source -> attribute -> {value: (frame, time)}
    label = {}  # asset id -> the address tshark named it by
    for (kind, addr), per_source in sorted(facts.d.items()):
        assets = (by_ip if kind == "ip" else by_mac).get(addr, [])
        if len(assets) != 1:
            problems.append(((rel, "*", addr, "asset"),
                             f"{kind} {addr}: {len(assets)} assets hold it, tshark has "
                             f"identity for it ({sorted(per_source)})"))
            continue
        aid = assets[0]["id"]
        label.setdefault(aid, addr)
        for source, attrs in per_source.items():
            for attr, vals in attrs.items():
                slot = told.setdefault(aid, {}).setdefault(source, {}).setdefault(attr, {})
                for v, (f, t) in vals.items():
                    f0, t0 = slot.get(v, (f, t))
                    slot[v] = (min(f, f0), max(t, t0))

    checked = 0
    for a in inv:
        per_source = told.get(a["id"], {})
        where = f"{a['id']} ({label.get(a['id'], 'no tshark address')})"
        addr = label.get(a["id"], a["id"])
        ev = a["evidence"]
        for source in sorted(COMPARED):
            attrs = per_source.get(source, {})
            for g in sorted(COMPARED[source]):
                vals = {v: ft for at, vs in attrs.items() if GROUP_OF[at] == g
                        for v, ft in vs.items()}
                t_set = {norm(g, v) for v in vals}
                o_set = {norm(g, e["value"]) for e in ev
                         if e["source"] == source and GROUP_OF.get(e["attribute"]) == g}
                if not t_set and not o_set:
                    continue
                checked += 1
                if t_set != o_set:
                    frames = sorted(f for f, _ in vals.values())
                    problems.append(((rel, source, addr, g),
                                     f"{where} {source} {g}: tshark {sorted(t_set)} (frames "
                                     f"{frames[:5]}), inventory {sorted(o_set)}"))
        # The current values (build.c current_values): the newest fact of the first attribute
        # of the kind that any protocol stated; facts of sources not compared here count with
        # the inventory's own times.
        for g in ("vendor", "model", "firmware", "serial"):
            if not any(g in COMPARED[src] and GROUP_OF[at] == g
                       for src, attrs in per_source.items() for at in attrs):
                continue
            best = None
            for attr in GROUPS[g]:
                cands = [(round(t * 1e6), v) for src, attrs in per_source.items()
                         if g in COMPARED[src] for v, (_, t) in attrs.get(attr, {}).items()]
                cands += [(us(e["last_seen"]), e["value"]) for e in ev
                          if e["attribute"] == attr and e["source"] not in COMPARED and
                          e["source"] != "oui"]
                if cands:
                    top = max(t for t, _ in cands)
                    best = {norm(g, v) for t, v in cands if t == top}
                    break
            have = a.get(g)
            if best is not None and (norm(g, have) if have else have) not in best:
                problems.append(((rel, "current", addr, g),
                                 f"{where} current {g}: inventory {have!r}, newest statement "
                                 f"{sorted(best)}"))
        want = {v for attrs in per_source.values() for at, vals in attrs.items()
                if GROUP_OF[at] == "hostname" for v in vals}
        missing = want - set(a["hostnames"])
        if missing:
            problems.append(((rel, "hostnames", addr, "hostname"),
                             f"{where} hostnames {a['hostnames']} lack {sorted(missing)}"))
    return problems, checked


# ---- main ----------------------------------------------------------------------------------

def run_one(qw, corpus, tmp, rel, names, vnorm):
    path = rel if os.path.isabs(rel) else os.path.join(corpus, rel)
    if not os.path.exists(path):
        return rel, None, f"note {rel}: not in the corpus, not compared", 0, {}
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(quaywatch, qw, path, tmp)
        facts = extract(tshark_frames(path, rel), names)
        inv, err = fut.result()
    if err:
        return rel, [((rel, "*", "*", "run"), err)], None, 0, facts.skipped
    problems, checked = compare(rel, facts, inv, vnorm)
    nvals = sum(len(v) for s in facts.d.values() for a in s.values() for v in a.values())
    return rel, problems, (len(facts.d), nvals), checked, facts.skipped


def scan(qw, corpus, tmp):
    """The capture list: every capture in which tshark finds a frame of SCAN_FILTER, or whose
    inventory holds a fact of a compared source (quaywatch finds protocols by payload, tshark
    by port). Prints CAPTURES; takes a few minutes."""
    found = []
    for root, _, files in sorted(os.walk(corpus)):
        for f in sorted(files):
            if not f.endswith((".pcap", ".pcapng")):
                continue
            p = os.path.join(root, f)
            # (no -c: tshark counts packets read, not packets shown)
            r = subprocess.run(["tshark", "-r", p, "-Y", SCAN_FILTER, "-T", "fields",
                                "-e", "frame.number"], capture_output=True, text=True)
            hit = bool(r.stdout.strip())
            if not hit:
                inv, _ = quaywatch(qw, p, tmp)
                hit = any(e["source"] in COMPARED and GROUP_OF.get(e["attribute"]) in
                          COMPARED[e["source"]] for a in inv or [] for e in a["evidence"])
            if hit:
                found.append(os.path.relpath(p, corpus))
    for f in found:
        print(f'    "{f}",')


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--scan":
        scan(*sys.argv[2:5])
        return 0
    qw, corpus, src, tmp = sys.argv[1:5]
    captures = CAPTURES + [os.path.abspath(p) for p in sys.argv[5:]]
    vnorm = VendorNorm(src)
    names = Names()
    if not names.v:
        print("FAIL: tshark -G values gave no vendor names")
        return 1
    status, seen_known, nknown, compared = 0, set(), 0, set()
    total = [0, 0, 0]
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        futs = [ex.submit(run_one, qw, corpus, tmp, rel, names, vnorm) for rel in captures]
        for fut in futs:
            rel, problems, counts, checked, skipped = fut.result()
            name = os.path.basename(rel) if os.path.isabs(rel) else rel
            if problems is None:
                print(counts)
                continue
            compared.add(rel)
            bad = []
            for key, text in problems:
                if key in KNOWN:
                    seen_known.add(key)
                    nknown += 1
                    print(f"known {name}: {text}\n      reason: {KNOWN[key]}")
                else:
                    bad.append(text)
            extra = "".join(f"; {n} not compared ({why})" for why, n in sorted(skipped.items()))
            if bad:
                status = 1
                print(f"FAIL {name}:")
                for t in bad:
                    print(f"     {t}")
            elif counts:
                total[0] += 1
                total[1] += counts[0]
                total[2] += checked
                print(f"ok   {name}: "
                      f"{counts[0]} addresses, {counts[1]} tshark values, {checked} sets "
                      f"equal{extra}")
    for key in sorted(k for k in set(KNOWN) - seen_known if k[0] in compared):
        status = 1
        print(f"FAIL known difference no longer seen (remove it from KNOWN): {key}")
    print(f"{total[0]} of {len(captures)} captures agree ({nknown} known differences): "
          f"{total[1]} device addresses, {total[2]} (asset, source, kind) sets compared")
    return status


if __name__ == "__main__":
    sys.exit(main())
