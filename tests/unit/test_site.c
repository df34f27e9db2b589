/* Unit tests of the site file (src/site): one test per kind of mistake, each asserting the exact
 * FILE:LINE:COL: message (the positions were computed from the texts, not typed); the example
 * site file of the demo terminal; the lookups analysis uses (zone of an address and VLAN, owner
 * resolution order, conduit decisions with operation classes, change records, windows across
 * time zones and DST changes); the time-zone reader against glibc; calendar arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "engine/emit.h"
#include "site/civil.h"
#include "site/draft.h"
#include "site/internal.h"
#include "site/model.h"
#include "site/tz.h"

static struct qw_site_errors errs;

static struct qw_site *load(const char *yaml)
{
    return qw_site_load_buffer("t.yaml", yaml, strlen(yaml), NULL, &errs);
}

static const char *error_text(size_t i)
{
    static char buf[QW_SITE_ERR_MSG + 128];
    qw_site_error_format(&errs, i, buf, sizeof buf);
    return buf;
}

static void print_errors(void)
{
    for (size_t i = 0; i < errs.n; i++) printf("  got: %s\n", error_text(i));
}

/* ---- one test per kind of mistake --------------------------------------------------------- */

struct mistake {
    const char *name, *yaml, *want;
};

static const struct mistake mistakes[] = {
    {"syntax_error",
     "site: s\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.0.0.0/8]\n",
     "t.yaml:4:1: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 3)"},
    {"empty_file",
     "\n"
     "# nothing\n",
     "t.yaml:1:1: the site file is empty"},
    {"top_is_list",
     "- site\n",
     "t.yaml:1:1: the site file must be a mapping (key: value) at the top"},
    {"unknown_top_key",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduit: []\n",
     "t.yaml:8:1: unknown key 'conduit' in the site file (did you mean 'conduits'?)"},
    {"unknown_key_no_hint",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT, colour: red}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n",
     "t.yaml:4:24: unknown key 'colour' in a party"},
    {"missing_key",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - {id: c, cidrs: [10.3.0.0/16]}\n",
     "t.yaml:8:5: missing key 'security_level' in a zone (the IEC 62443 target security level, 1 to 4)"},
    {"scalar_for_list",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: 10.2.0.0/16, vlans: [20], security_level: 3}\n",
     "t.yaml:7:20: 'cidrs' must be a list, not a single value"},
    {"list_for_mapping",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - [c, 10.3.0.0/16]\n",
     "t.yaml:8:5: a zone must be a mapping (key: value), not a list"},
    {"mapping_for_scalar",
     "site: {name: s}\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n",
     "t.yaml:1:7: 'site' must be a single value, not a mapping"},
    {"cidr_host_bits",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.3.4/16], vlans: [20], security_level: 3}\n",
     "t.yaml:7:21: '10.2.3.4/16' has host bits set (the network is 10.2.0.0/16)"},
    {"cidr_prefix",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/40], vlans: [20], security_level: 3}\n",
     "t.yaml:7:21: '10.2.0.0/40': the prefix length must be 0..32"},
    {"cidr_no_prefix",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.9], vlans: [20], security_level: 3}\n",
     "t.yaml:7:21: '10.2.0.9' has no prefix length (write 10.2.0.9/32 for one host)"},
    {"cidr_bad_address",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.256/24], vlans: [20], security_level: 3}\n",
     "t.yaml:7:21: '10.2.0.256/24': '10.2.0.256' is not an IPv4 or IPv6 address"},
    {"bad_mac",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "assets:\n"
     "  - {match: {mac: '00:11:22:33:44'}, name: x}\n",
     "t.yaml:9:19: '00:11:22:33:44' is not a MAC address (six hex pairs: 00:1a:2b:3c:4d:5e)"},
    {"bad_ip",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "assets:\n"
     "  - {match: {ip: 10.1.2.300}, name: x}\n",
     "t.yaml:9:18: '10.1.2.300' is not an IPv4 or IPv6 address"},
    {"match_two_keys",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "assets:\n"
     "  - {match: {ip: 10.1.2.3, name: plc1}, name: x}\n",
     "t.yaml:9:13: 'match' takes exactly one of ip, mac or name, not several"},
    {"vlan_range",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [4095], security_level: 3}\n",
     "t.yaml:7:43: VLAN id '4095' is not in 1..4094"},
    {"vlan_zero",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [0], security_level: 3}\n",
     "t.yaml:7:43: VLAN id '0' is not in 1..4094"},
    {"overlap_cidr",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - {id: c, cidrs: [10.1.128.0/17], security_level: 1}\n",
     "t.yaml:8:21: CIDR 10.1.128.0/17 overlaps 10.1.0.0/16 of zone 'a' (line 6): zones must not overlap"},
    {"overlap_vlan",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - {id: c, vlans: [10], security_level: 1}\n",
     "t.yaml:8:21: VLAN 10 is already in zone 'a' (line 6)"},
    {"unknown_party",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3, owner: opp}\n",
     "t.yaml:7:74: unknown party 'opp' in 'owner' (did you mean 'op'?)"},
    {"unknown_zone",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: c, allow: [tcp/443]}\n",
     "t.yaml:9:19: unknown zone 'c' in 'to'"},
    {"unknown_asset",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "modules:\n"
     "  - {name: m, owner: op, runs_on: [asset:plc9]}\n",
     "t.yaml:9:36: unknown asset 'plc9' in 'runs_on' (the file declares no assets)"},
    {"window_backwards",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "remote_access:\n"
     "  windows: [{start: \"18:00\", end: \"07:00\"}]\n",
     "t.yaml:9:35: the window ends (07:00) before it starts (18:00): write a window that crosses midnight as two"},
    {"window_empty",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "remote_access:\n"
     "  windows: [{start: \"08:00\", end: \"08:00\"}]\n",
     "t.yaml:9:35: the window ends when it starts (08:00)"},
    {"window_bad_time",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "remote_access:\n"
     "  windows: [{start: \"8:00\", end: \"18:00\"}]\n",
     "t.yaml:9:21: 'start' must be a time of day HH:MM (00:00 to 23:59), not '8:00'"},
    {"change_backwards",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "changes:\n"
     "  - {id: C1, by: op, scope: [zone:a], expect: [asset.new],\n"
     "     window: {start: \"2026-11-20T22:00:00Z\", end: \"2026-11-20T23:00:00+02:00\"}}\n",
     "t.yaml:10:51: the change window ends (2026-11-20T21:00:00Z) before it starts (2026-11-20T22:00:00Z)"},
    {"change_no_offset",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "changes:\n"
     "  - {id: C1, by: op, scope: [zone:a], expect: [asset.new],\n"
     "     window: {start: 2026-11-20T22:00:00, end: 2026-11-20T23:00:00Z}}\n",
     "t.yaml:10:22: '2026-11-20T22:00:00' has no UTC offset: end it with Z or +HH:MM"},
    {"unknown_tz",
     "site: s\n"
     "timezone: Europe/Amsterdan\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n",
     "t.yaml:2:11: unknown time zone 'Europe/Amsterdan' (did you mean 'Europe/Amsterdam'?)"},
    {"unknown_day",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "remote_access:\n"
     "  windows: [{days: [mon, thurs], start: \"08:00\", end: \"17:00\"}]\n",
     "t.yaml:9:26: unknown day 'thurs' (did you mean 'thu'?)"},
    {"unknown_opclass",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [modbus/502], operations: [read, writes]}\n",
     "t.yaml:9:62: unknown operation class 'writes' (did you mean 'write'?)"},
    {"unknown_change_kind",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "changes:\n"
     "  - {id: C1, by: op, scope: [zone:a], expect: [asset.firmware],\n"
     "     window: {start: \"2026-11-20T22:00:00Z\", end: \"2026-11-20T23:00:00Z\"}}\n",
     "t.yaml:9:48: unknown change kind 'asset.firmware' (one of: asset.new, asset.gone, asset.mac_changed, asset.vendor_changed, asset.identity_changed, asset.role_changed, comm.new_edge, comm.new_protocol, comm.new_operation)"},
    {"unknown_protocol",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [modbsu/502]}\n",
     "t.yaml:9:30: unknown protocol 'modbsu' in 'modbsu/502' (did you mean 'modbus'?)"},
    {"bad_port",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [tcp/70000]}\n",
     "t.yaml:9:30: bad port '70000' in 'tcp/70000' (ports are 1..65535, a range is LOW-HIGH)"},
    {"port_range_backwards",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [udp/200-100]}\n",
     "t.yaml:9:30: the port range in 'udp/200-100' ends before it starts"},
    {"port_on_any",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [any/80]}\n",
     "t.yaml:9:30: 'any' takes no port: write 'any' alone"},
    {"operations_not_industrial",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: b, allow: [http/80], operations: [read]}\n",
     "t.yaml:9:52: 'operations' restricts industrial protocols, and 'allow' lists none"},
    {"conduit_to_itself",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "conduits:\n"
     "  - {from: a, to: a, allow: [any]}\n",
     "t.yaml:9:19: a conduit joins two different zones, not 'a' to itself (traffic inside a zone needs no conduit)"},
    {"dup_party",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: op, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n",
     "t.yaml:4:10: duplicate party id 'op' (first at line 3)"},
    {"dup_zone",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - {id: a, vlans: [30], security_level: 1}\n",
     "t.yaml:8:10: duplicate zone id 'a' (first at line 6)"},
    {"dup_asset",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "assets:\n"
     "  - {match: {ip: 10.1.0.5}, name: plc}\n"
     "  - {match: {ip: 10.1.0.6}, name: plc}\n",
     "t.yaml:10:35: duplicate asset name 'plc' (first at line 9)"},
    {"dup_asset_match",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "assets:\n"
     "  - {match: {ip: 10.1.0.5}, name: plc1}\n"
     "  - {match: {ip: 10.1.0.5}, name: plc2}\n",
     "t.yaml:10:35: ip 10.1.0.5 is already matched by asset 'plc1' (line 9)"},
    {"dup_change",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "changes:\n"
     "  - {id: C1, by: op, scope: [zone:a], expect: [asset.new], window: {start: \"2026-11-20T22:00:00Z\", end: \"2026-11-20T23:00:00Z\"}}\n"
     "  - {id: C1, by: it, scope: [zone:b], expect: [asset.new], window: {start: \"2026-11-21T22:00:00Z\", end: \"2026-11-21T23:00:00Z\"}}\n",
     "t.yaml:10:10: duplicate change id 'C1' (first at line 9)"},
    {"dup_module",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "modules:\n"
     "  - {name: m, owner: op, runs_on: [zone:a]}\n"
     "  - {name: m, owner: it, runs_on: [zone:b]}\n",
     "t.yaml:10:12: duplicate module name 'm' (first at line 9)"},
    {"dup_key",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3, vlans: [21]}\n",
     "t.yaml:7:67: duplicate key 'vlans' (first at line 7)"},
    {"placeholder",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: TODO}\n",
     "t.yaml:7:64: placeholder TODO left in 'security_level': write the IEC 62443 target security level, 1 to 4"},
    {"security_level_range",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 5}\n",
     "t.yaml:7:64: 'security_level' must be 1, 2, 3 or 4 (the IEC 62443 target level), not '5'"},
    {"no_cidrs_no_vlans",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "  - {id: c, security_level: 1}\n",
     "t.yaml:8:5: a zone needs 'cidrs', 'vlans' or both"},
    {"scope_role",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "changes:\n"
     "  - {id: C1, by: op, scope: [role:plc], expect: [asset.new],\n"
     "     window: {start: \"2026-11-20T22:00:00Z\", end: \"2026-11-20T23:00:00Z\"}}\n",
     "t.yaml:9:30: 'role:plc' cannot be in 'scope': write zone:ZONE or asset:NAME"},
    {"jump_host_unknown",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "remote_access:\n"
     "  jump_hosts: [jump9]\n",
     "t.yaml:9:16: jump host 'jump9' is neither an IP address nor a declared asset's name"},
    {"second_document",
     "site: s\n"
     "parties:\n"
     "  - {id: op, name: Op}\n"
     "  - {id: it, name: IT}\n"
     "zones:\n"
     "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"
     "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"
     "---\n"
     "site: t\n",
     "t.yaml:9:1: a second YAML document: a site file holds one"},
};

/* Every mistake gives exactly its one message, and no model. */
static void each_mistake_gives_its_message(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof mistakes / sizeof mistakes[0]; i++) {
        struct qw_site *s = load(mistakes[i].yaml);
        bool ok = !s && errs.n == 1 && strcmp(error_text(0), mistakes[i].want) == 0;
        if (!ok) {
            printf("mistake '%s': want %s\n", mistakes[i].name, mistakes[i].want);
            print_errors();
            bad++;
        }
        qw_site_free(s);
    }
    assert_int_equal(bad, 0);
}

#define BASE                                                                                       \
    "site: s\n"                                                                                    \
    "parties:\n"                                                                                   \
    "  - {id: op, name: Op}\n"                                                                     \
    "  - {id: it, name: IT}\n"                                                                     \
    "zones:\n"                                                                                     \
    "  - {id: a, cidrs: [10.1.0.0/16], vlans: [10], security_level: 2}\n"                          \
    "  - {id: b, cidrs: [10.2.0.0/16], vlans: [20], security_level: 3}\n"

/* The base text of the mistakes is itself valid. */
static void base_is_valid(void **state)
{
    (void)state;
    struct qw_site *s = load(BASE);
    if (!s) print_errors();
    assert_non_null(s);
    assert_int_equal(s->nparties, 2);
    assert_int_equal(s->nzones, 2);
    qw_site_free(s);
}

/* All errors are reported, in file order, not only the first. */
static void reports_every_error_in_order(void **state)
{
    (void)state;
    struct qw_site *s = load(BASE "  - {id: c, ciders: [10.3.0.0/16], security_level: 9}\n"
                                  "conduits:\n"
                                  "  - {from: a, to: x, allow: [tcp/0]}\n");
    assert_null(s);
    if (errs.n != 5) print_errors();
    assert_int_equal(errs.n, 5);
    assert_string_equal(error_text(0), "t.yaml:8:5: a zone needs 'cidrs', 'vlans' or both");
    assert_string_equal(error_text(1),
                        "t.yaml:8:13: unknown key 'ciders' in a zone (did you mean 'cidrs'?)");
    assert_string_equal(error_text(2),
                        "t.yaml:8:52: 'security_level' must be 1, 2, 3 or 4 (the IEC 62443 target "
                        "level), not '9'");
    assert_string_equal(error_text(3), "t.yaml:10:19: unknown zone 'x' in 'to'");
    assert_string_equal(error_text(4),
                        "t.yaml:10:30: bad port '0' in 'tcp/0' (ports are 1..65535, a range is "
                        "LOW-HIGH)");
}

/* Past QW_SITE_MAX_ERRORS the checker stops and says so. */
static void stops_after_the_error_limit(void **state)
{
    (void)state;
    char *text = malloc(64 * 1024);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, 64 * 1024, "site: s\nzones:\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, 64 * 1024 - n, "  - {id: z%d, vlans: [9999], security_level: 1}\n", i);
    struct qw_site *s = load(text);
    assert_null(s);
    assert_int_equal(errs.n, QW_SITE_MAX_ERRORS);
    assert_true(errs.truncated);
    free(text);
}

/* A file that cannot be read gives a message without a position. */
static void unreadable_file(void **state)
{
    (void)state;
    struct qw_site *s = qw_site_load_file("/nonexistent/site.yaml", NULL, &errs);
    assert_null(s);
    assert_int_equal(errs.n, 1);
    assert_string_equal(error_text(0), "/nonexistent/site.yaml: cannot read: No such file or directory");
}

/* Aliases are fine; a self-referencing one is just the wrong type, and the walk ends. */
static void anchors_and_aliases(void **state)
{
    (void)state;
    struct qw_site *s = load(BASE "  - {id: c, cidrs: [10.3.0.0/16], security_level: 1,\n"
                                  "     maintenance_windows: &w [{start: \"01:00\", end: \"02:00\"}]}\n"
                                  "  - {id: d, cidrs: [10.4.0.0/16], security_level: 1, maintenance_windows: *w}\n");
    if (!s) print_errors();
    assert_non_null(s);
    assert_int_equal(s->zones[3].nmaintenance, 1);
    qw_site_free(s);
    s = load("site: s\nzones: &z [*z]\n");
    assert_null(s);
    assert_int_equal(errs.n, 1);
    assert_string_equal(error_text(0), "t.yaml:2:8: a zone must be a mapping (key: value), not a list");
}

/* ---- the demo terminal -------------------------------------------------------------------- */

static struct qw_site *demo;

static int load_demo(void **state)
{
    (void)state;
    const char *src = getenv("QW_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/terminal.yaml", src ? src : ".");
    demo = qw_site_load_file(path, NULL, &errs);
    if (!demo) print_errors();
    return demo ? 0 : -1;
}

static int free_demo(void **state)
{
    (void)state;
    qw_site_free(demo);
    demo = NULL;
    return 0;
}

static struct qw_addr ip(const char *s)
{
    struct qw_addr a;
    assert_true(qw_addr_parse(s, &a));
    return a;
}

static uint64_t at(const char *rfc3339)
{
    int64_t ns;
    char why[200];
    assert_true(qw_parse_rfc3339(rfc3339, &ns, why, sizeof why));
    return (uint64_t)ns;
}

static void demo_site_loads(void **state)
{
    (void)state;
    assert_int_equal(demo->nparties, 4);
    assert_int_equal(demo->nzones, 7);
    assert_int_equal(demo->nconduits, 9);
    assert_int_equal(demo->nassets, 12);
    assert_int_equal(demo->nmodules, 8);
    assert_int_equal(demo->nchanges, 1);
    assert_string_equal(demo->default_owner->id, "operator");
    assert_string_equal(qw_tz_name(demo->timezone), "America/Vancouver");
}

/* CIDR first, VLAN only for site-local addresses in no zone's CIDRs. */
static void zone_of_ip_and_vlan(void **state)
{
    (void)state;
    enum qw_site_zone_rule rule;
    struct qw_addr a = ip("10.30.1.12");
    const struct qw_site_zone *z = qw_site_zone_of(demo, &a, 30, &rule);
    assert_string_equal(z->id, "cranes");
    assert_int_equal(rule, QW_ZONE_BY_CIDR);
    /* seen on the HMI's VLAN (a routed packet): the address still decides */
    z = qw_site_zone_of(demo, &a, 20, &rule);
    assert_string_equal(z->id, "cranes");
    /* the VPN pool is routed onto VLAN 50, but its CIDR is a zone of its own */
    a = ip("10.50.8.21");
    z = qw_site_zone_of(demo, &a, 50, &rule);
    assert_string_equal(z->id, "vendor-vpn");
    assert_int_equal(rule, QW_ZONE_BY_CIDR);
    /* an address in no zone on a zone's VLAN: the VLAN decides */
    a = ip("192.168.7.7");
    z = qw_site_zone_of(demo, &a, 60, &rule);
    assert_string_equal(z->id, "cctv");
    assert_int_equal(rule, QW_ZONE_BY_VLAN);
    z = qw_site_zone_of(demo, NULL, 40, &rule);
    assert_string_equal(z->id, "tankfarm");
    /* ... but not for a global address: a host on the internet seen on the crane VLAN through
     * the crane router is in no zone (an IPv6 one neither); a link-local one is on the VLAN */
    a = ip("198.51.100.40");
    assert_null(qw_site_zone_of(demo, &a, 30, &rule));
    assert_int_equal(rule, QW_ZONE_NONE);
    a = ip("2001:db8::40");
    assert_null(qw_site_zone_of(demo, &a, 30, NULL));
    a = ip("169.254.10.3");
    assert_string_equal(qw_site_zone_of(demo, &a, 30, NULL)->id, "cranes");
    a = ip("fd00:30::7");
    assert_string_equal(qw_site_zone_of(demo, &a, 30, NULL)->id, "cranes");
    /* the edges of a block */
    a = ip("10.50.0.255");
    assert_string_equal(qw_site_zone_of(demo, &a, 0, NULL)->id, "remote-access");
    a = ip("10.50.1.0");
    assert_null(qw_site_zone_of(demo, &a, 0, &rule));
    assert_int_equal(rule, QW_ZONE_NONE);
    a = ip("2001:db8::1");
    assert_null(qw_site_zone_of(demo, &a, 4000, NULL));
    assert_string_equal(qw_site_zone_by_id(demo, "tos")->id, "tos");
    assert_null(qw_site_zone_by_id(demo, "nope"));
}

static void assets_by_ip_mac_name(void **state)
{
    (void)state;
    struct qw_addr a = ip("10.50.0.10");
    assert_string_equal(qw_site_asset_by_ip(demo, &a)->name, "jump01");
    static const uint8_t mac[6] = {0x44, 0x47, 0xcc, 0x4e, 0xe1, 0x54};
    assert_string_equal(qw_site_asset_by_mac(demo, mac)->name, "nvr01");
    assert_string_equal(qw_site_asset_by_hostname(demo, "corp-ws001")->name, "corp-ws001");
    assert_string_equal(qw_site_asset_by_name(demo, "sts-crane02")->name, "sts-crane02");
    assert_null(qw_site_asset_by_name(demo, "sts-crane09"));
    /* the host as analysis sees it: IP first, then MAC, then host name */
    struct qw_addr other = ip("10.60.0.99");
    struct qw_site_host h = {.ip = &other, .mac = mac};
    assert_string_equal(qw_site_asset_of(demo, &h)->name, "nvr01");
    h = (struct qw_site_host){.ip = &other, .hostname = "CORP-WS001"};
    assert_string_equal(qw_site_asset_of(demo, &h)->name, "corp-ws001");
    h = (struct qw_site_host){.ip = &other};
    assert_null(qw_site_asset_of(demo, &h));
}

/* Declared asset, then the most specific module, then the zone, then the default. */
static void owner_resolution_order(void **state)
{
    (void)state;
    /* jump01: declared with an owner */
    struct qw_addr a = ip("10.50.0.10");
    struct qw_site_host h = {.ip = &a, .vlan = 50};
    struct qw_site_owner o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_ASSET);
    assert_string_equal(o.party->id, "operator-it");
    /* sts-crane02: declared without owner, role plc in zone cranes -> module crane-control */
    a = ip("10.30.1.12");
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_MODULE);
    assert_string_equal(o.module->name, "crane-control");
    assert_string_equal(o.party->id, "vendor");
    /* scada01: module by asset */
    a = ip("10.20.0.20");
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_MODULE);
    assert_string_equal(o.module->name, "scada-hmi");
    assert_string_equal(o.party->id, "operator");
    /* a tank PLC: role inferred from traffic, zone tankfarm */
    static const char *const plc[] = {"plc"};
    a = ip("10.40.1.11");
    h.roles = plc;
    h.nroles = 1;
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_MODULE);
    assert_string_equal(o.module->name, "tank-control");
    assert_string_equal(o.party->id, "tankfarm-vendor");
    /* a PLC role in the tos zone matches no module (both kinds must hold): the zone decides */
    a = ip("10.20.0.99");
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_ZONE);
    assert_string_equal(o.party->id, "operator");
    assert_string_equal(o.zone->id, "tos");
    /* a camera: module video-recording (zone:cctv) */
    h.roles = NULL;
    h.nroles = 0;
    a = ip("10.60.1.11");
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_MODULE);
    assert_string_equal(o.party->id, "operator-it");
    /* a straddle carrier without roles: the zone's owner */
    a = ip("10.30.40.11");
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_ZONE);
    assert_string_equal(o.party->id, "vendor");
    /* outside every zone: the default owner */
    a = ip("172.16.0.1");
    h.vlan = 0;
    o = qw_site_owner_of(demo, &h);
    assert_int_equal(o.rule, QW_OWNER_DEFAULT);
    assert_string_equal(o.party->id, "operator");
    assert_string_equal(qw_site_owner_rule_name(o.rule), "default");
}

/* A module naming an asset beats one naming a role and a zone, whatever the file order; no
 * default owner gives QW_OWNER_NONE. */
static void module_specificity_and_no_owner(void **state)
{
    (void)state;
    struct qw_site *s = load(BASE "assets:\n  - {match: {ip: 10.1.0.5}, name: plc1, role: plc}\n"
                                  "modules:\n"
                                  "  - {name: generic, owner: op, runs_on: [role:plc, zone:a]}\n"
                                  "  - {name: special, owner: it, runs_on: [asset:plc1]}\n");
    if (!s) print_errors();
    assert_non_null(s);
    struct qw_addr a = ip("10.1.0.5");
    struct qw_site_host h = {.ip = &a};
    struct qw_site_owner o = qw_site_owner_of(s, &h);
    assert_int_equal(o.rule, QW_OWNER_MODULE);
    assert_string_equal(o.module->name, "special");
    a = ip("10.9.9.9");
    o = qw_site_owner_of(s, &h);
    assert_int_equal(o.rule, QW_OWNER_NONE);
    assert_null(o.party);
    qw_site_free(s);
}

static struct qw_site_decision check(const char *from, const char *to, uint8_t ipproto,
                                     uint16_t port, const char *app, uint32_t ops)
{
    struct qw_site_flow f = {qw_site_zone_by_id(demo, from), qw_site_zone_by_id(demo, to),
                             ipproto, port, app, ops};
    return qw_site_conduit_check(demo, &f);
}

static void conduit_decisions(void **state)
{
    (void)state;
    struct qw_site_decision d = check("tos", "cranes", 6, 502, "modbus", QW_OP_READ | QW_OP_WRITE);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    assert_string_equal(d.entry->text, "modbus/502");
    assert_false(d.app_unverified);
    /* session steps belong to no class */
    d = check("tos", "cranes", 6, 502, "modbus", QW_OP_READ | QW_OP_SESSION);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    /* the jump host's conduit is read-only (read, diagnostic) */
    d = check("remote-access", "cranes", 6, 502, "modbus", QW_OP_READ | QW_OP_IDENTIFY);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    d = check("remote-access", "cranes", 6, 502, "modbus", QW_OP_READ | QW_OP_WRITE | QW_OP_STOP);
    assert_int_equal(d.verdict, QW_CONDUIT_OPERATION);
    assert_int_equal(d.denied, QW_OPC_WRITE | QW_OPC_CONTROL);
    assert_string_equal(d.conduit->description, "vendor maintenance from the jump host");
    /* the scripted bad flows of the demo */
    assert_int_equal(check("tankfarm", "cranes", 6, 502, "modbus", QW_OP_WRITE).verdict,
                     QW_CONDUIT_NO_CONDUIT);
    assert_int_equal(check("vendor-vpn", "cranes", 6, 502, "modbus", QW_OP_READ).verdict,
                     QW_CONDUIT_NO_CONDUIT);
    /* the reverse direction is another conduit */
    assert_int_equal(check("cranes", "tos", 6, 502, "modbus", QW_OP_READ).verdict,
                     QW_CONDUIT_NO_CONDUIT);
    /* the right zones, the wrong port or protocol */
    d = check("tos", "cranes", 6, 503, "modbus", QW_OP_READ);
    assert_int_equal(d.verdict, QW_CONDUIT_PROTOCOL);
    assert_string_equal(d.conduit->from->id, "tos");
    assert_int_equal(check("tos", "cranes", 1, 0, NULL, 0).verdict, QW_CONDUIT_PROTOCOL);
    /* an application entry matches an unidentified flow on its port, and says so */
    d = check("corporate", "tos", 6, 8080, NULL, 0);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    assert_true(d.app_unverified);
    /* but not a flow identified as another protocol */
    assert_int_equal(check("corporate", "tos", 6, 8080, "modbus", QW_OP_READ).verdict,
                     QW_CONDUIT_PROTOCOL);
    /* a port range */
    assert_int_equal(check("corporate", "tankfarm", 17, 68, NULL, 0).verdict, QW_CONDUIT_ALLOWED);
    assert_int_equal(check("corporate", "tankfarm", 17, 69, NULL, 0).verdict, QW_CONDUIT_PROTOCOL);
    assert_int_equal(check("cranes", "cranes", 6, 502, "modbus", QW_OP_PROGRAM).verdict,
                     QW_CONDUIT_SAME_ZONE);
    struct qw_site_flow f = {NULL, qw_site_zone_by_id(demo, "tos"), 6, 80, NULL, 0};
    assert_int_equal(qw_site_conduit_check(demo, &f).verdict, QW_CONDUIT_UNZONED);
    assert_string_equal(qw_site_verdict_name(QW_CONDUIT_OPERATION), "operation_not_allowed");
}

/* Operation classes of several conduits between the same zones add up; any, tcp, icmp, ip/N. */
static void conduit_union_and_transports(void **state)
{
    (void)state;
    struct qw_site *s = load(BASE "conduits:\n"
                                  "  - {from: a, to: b, allow: [modbus/502], operations: [read]}\n"
                                  "  - {from: a, to: b, allow: [tcp/502], operations: [write]}\n"
                                  "  - {from: b, to: a, allow: [icmp, ip/47, tcp/1024-2048]}\n"
                                  "  - {from: b, to: a, allow: [any], operations: [diagnostic]}\n");
    if (!s) print_errors();
    assert_non_null(s);
    const struct qw_site_zone *za = qw_site_zone_by_id(s, "a"), *zb = qw_site_zone_by_id(s, "b");
    struct qw_site_flow f = {za, zb, 6, 502, "modbus", QW_OP_READ | QW_OP_WRITE};
    struct qw_site_decision d = qw_site_conduit_check(s, &f);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    assert_int_equal(d.conduit->index, 0);
    f.ops = QW_OP_PROGRAM;
    d = qw_site_conduit_check(s, &f);
    assert_int_equal(d.verdict, QW_CONDUIT_OPERATION);
    assert_int_equal(d.denied, QW_OPC_PROGRAM);
    f = (struct qw_site_flow){zb, za, 58, 0, NULL, 0};
    d = qw_site_conduit_check(s, &f);
    assert_int_equal(d.verdict, QW_CONDUIT_ALLOWED);
    assert_string_equal(d.entry->text, "icmp");
    f = (struct qw_site_flow){zb, za, 47, 0, NULL, 0};
    assert_string_equal(qw_site_conduit_check(s, &f).entry->text, "ip/47");
    f = (struct qw_site_flow){zb, za, 6, 1500, NULL, 0};
    assert_string_equal(qw_site_conduit_check(s, &f).entry->text, "tcp/1024-2048");
    /* `any` carries everything, but its conduit's operations still bind... */
    f = (struct qw_site_flow){zb, za, 6, 502, "modbus", QW_OP_WRITE | QW_OP_IDENTIFY};
    d = qw_site_conduit_check(s, &f);
    assert_int_equal(d.verdict, QW_CONDUIT_OPERATION);
    assert_int_equal(d.denied, QW_OPC_WRITE);
    /* ...while on a port of the other conduit, which has no `operations`, every class passes */
    f.port = 1500;
    assert_int_equal(qw_site_conduit_check(s, &f).verdict, QW_CONDUIT_ALLOWED);
    f = (struct qw_site_flow){zb, za, 6, 80, NULL, 0};
    assert_string_equal(qw_site_conduit_check(s, &f).entry->text, "any");
    qw_site_free(s);
}

static void operation_classes_of_ops(void **state)
{
    (void)state;
    assert_int_equal(qw_site_opclasses_of(QW_OP_READ), QW_OPC_READ);
    assert_int_equal(qw_site_opclasses_of(QW_OP_FIRMWARE | QW_OP_FILE), QW_OPC_PROGRAM);
    assert_int_equal(qw_site_opclasses_of(QW_OP_STOP | QW_OP_START | QW_OP_RESTART), QW_OPC_CONTROL);
    assert_int_equal(qw_site_opclasses_of(QW_OP_IDENTIFY), QW_OPC_DIAGNOSTIC);
    assert_int_equal(qw_site_opclasses_of(QW_OP_TIMESYNC), QW_OPC_CONFIG);
    assert_int_equal(qw_site_opclasses_of(QW_OP_AUTH | QW_OP_SESSION), 0);
}

static void change_records_active(void **state)
{
    (void)state;
    const struct qw_site_asset *crane = qw_site_asset_by_name(demo, "sts-crane02");
    const struct qw_site_asset *jump = qw_site_asset_by_name(demo, "jump01");
    const struct qw_site_zone *cranes = qw_site_zone_by_id(demo, "cranes");
    const struct qw_site_zone *ra = qw_site_zone_by_id(demo, "remote-access");
    const struct qw_site_change *out[4];
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:31Z"), cranes, crane, 0, out, 4), 1);
    assert_string_equal(out[0]->id, "CHG-1042");
    assert_string_equal(out[0]->by->id, "vendor");
    /* the window includes its ends */
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:32:00Z"), NULL, crane, 0, out, 4), 1);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:35:00Z"), NULL, crane, 0, out, 4), 1);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:35:00.000001Z"), NULL, crane, 0, out, 4), 0);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:31:59Z"), NULL, crane, 0, out, 4), 0);
    /* scope: the two assets, not their zones as a whole */
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), cranes, NULL, 0, out, 4), 0);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), ra, NULL, 0, out, 4), 0);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), ra, jump, 0, out, 4), 1);
    /* kinds */
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), NULL, crane,
                                            QW_CHG_ASSET_IDENTITY_CHANGED, out, 4), 1);
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), NULL, crane,
                                            QW_CHG_ASSET_MAC_CHANGED, out, 4), 0);
    /* count without room */
    assert_int_equal(qw_site_changes_active(demo, at("2026-11-20T21:33:00Z"), NULL, crane, 0, NULL, 0), 1);
}

static void remote_access_rules(void **state)
{
    (void)state;
    struct qw_addr j = ip("10.50.0.10"), v = ip("10.50.8.23"), p = ip("10.30.1.13");
    struct qw_site_host h = {.ip = &j};
    assert_true(qw_site_is_jump_host(demo, &h));
    h.ip = &v;
    assert_false(qw_site_is_jump_host(demo, &h));
    assert_true(qw_site_in_vpn_pool(demo, &v));
    assert_false(qw_site_in_vpn_pool(demo, &p));
    assert_true(qw_site_remote_target(demo, qw_site_zone_by_id(demo, "cranes")));
    assert_false(qw_site_remote_target(demo, qw_site_zone_by_id(demo, "tos")));
    assert_true(qw_site_remote_party(demo, qw_site_party_by_id(demo, "vendor")));
    assert_false(qw_site_remote_party(demo, qw_site_party_by_id(demo, "operator-it")));
    /* the capture's start: Friday 13:30 in Vancouver, inside the window */
    assert_true(qw_site_remote_window_open(demo, at("2026-11-20T21:32:02Z")));
    /* 18:00 local is the end: closed */
    assert_false(qw_site_remote_window_open(demo, at("2026-11-21T02:00:00Z")));
    assert_true(qw_site_remote_window_open(demo, at("2026-11-21T01:59:59Z")));
    /* Saturday */
    assert_false(qw_site_remote_window_open(demo, at("2026-11-21T18:00:00Z")));
    /* maintenance of the cranes zone: weekends 02:00-06:00 local */
    const struct qw_site_zone *cranes = qw_site_zone_by_id(demo, "cranes");
    assert_true(qw_site_in_maintenance(cranes, at("2026-11-21T11:00:00Z")));  /* Sat 03:00 PST */
    assert_false(qw_site_in_maintenance(cranes, at("2026-11-21T15:00:00Z"))); /* Sat 07:00 */
    assert_false(qw_site_in_maintenance(qw_site_zone_by_id(demo, "tos"), at("2026-11-21T11:00:00Z")));
    /* the tank farm's window crosses midnight as two: Tuesday 22:00 to Wednesday 02:00 */
    const struct qw_site_zone *tf = qw_site_zone_by_id(demo, "tankfarm");
    assert_true(qw_site_in_maintenance(tf, at("2026-11-25T06:30:00Z")));  /* Tue 22:30 PST */
    assert_true(qw_site_in_maintenance(tf, at("2026-11-25T09:30:00Z")));  /* Wed 01:30 */
    assert_false(qw_site_in_maintenance(tf, at("2026-11-25T10:30:00Z"))); /* Wed 02:30 */
}

/* Windows follow the local clock through DST changes. */
static void windows_across_dst(void **state)
{
    (void)state;
    struct qw_site *s = load("site: s\ntimezone: America/Vancouver\n"
                             "remote_access:\n  windows:\n"
                             "    - {days: [mon, tue, wed, thu, fri], start: \"07:00\", end: \"18:00\"}\n"
                             "zones:\n"
                             "  - {id: a, vlans: [1], security_level: 1, maintenance_windows:\n"
                             "      [{days: [sun], start: \"01:00\", end: \"03:00\"}]}\n"
                             "  - {id: b, vlans: [2], security_level: 1, maintenance_windows:\n"
                             "      [{days: [mon], start: \"08:00\", end: \"09:00\", tz: Europe/Berlin}]}\n"
                             "  - {id: c, vlans: [3], security_level: 1, maintenance_windows:\n"
                             "      [{start: \"23:00\", end: \"24:00\", tz: Australia/Sydney}]}\n");
    if (!s) print_errors();
    assert_non_null(s);
    /* Vancouver, DST from Sunday 2026-03-08 02:00 PST (10:00Z) */
    assert_true(qw_site_remote_window_open(s, at("2026-03-06T15:30:00Z")));  /* Fri 07:30 PST */
    assert_false(qw_site_remote_window_open(s, at("2026-03-06T14:30:00Z"))); /* Fri 06:30 PST */
    assert_true(qw_site_remote_window_open(s, at("2026-03-09T14:30:00Z")));  /* Mon 07:30 PDT */
    assert_false(qw_site_remote_window_open(s, at("2026-03-09T13:30:00Z"))); /* Mon 06:30 PDT */
    const struct qw_site_zone *a = qw_site_zone_by_id(s, "a");
    assert_true(qw_site_in_maintenance(a, at("2026-03-08T09:59:59Z")));  /* 01:59:59 PST */
    assert_false(qw_site_in_maintenance(a, at("2026-03-08T10:00:00Z"))); /* 03:00:00 PDT */
    /* back to PST on 2026-11-01 09:00Z: 01:30 happens twice, both inside */
    assert_true(qw_site_in_maintenance(a, at("2026-11-01T08:30:00Z"))); /* 01:30 PDT */
    assert_true(qw_site_in_maintenance(a, at("2026-11-01T09:30:00Z"))); /* 01:30 PST */
    assert_true(qw_site_in_maintenance(a, at("2026-11-01T10:30:00Z"))); /* 02:30 PST */
    assert_false(qw_site_in_maintenance(a, at("2026-11-01T11:00:00Z"))); /* 03:00 PST */
    /* Berlin: 08:00 local is 07:00Z in winter, 06:00Z in summer (DST from 2026-03-29) */
    const struct qw_site_zone *b = qw_site_zone_by_id(s, "b");
    assert_true(qw_site_in_maintenance(b, at("2026-03-23T07:30:00Z")));
    assert_false(qw_site_in_maintenance(b, at("2026-03-30T07:30:00Z")));
    assert_true(qw_site_in_maintenance(b, at("2026-03-30T06:30:00Z")));
    /* Sydney, every day 23:00-24:00: 12:00Z in summer (AEDT +11), 13:00Z in winter (AEST +10) */
    const struct qw_site_zone *c = qw_site_zone_by_id(s, "c");
    assert_true(qw_site_in_maintenance(c, at("2026-01-15T12:30:00Z")));
    assert_false(qw_site_in_maintenance(c, at("2026-01-15T13:30:00Z")));
    assert_true(qw_site_in_maintenance(c, at("2026-07-15T13:30:00Z")));
    assert_false(qw_site_in_maintenance(c, at("2026-07-15T12:30:00Z")));
    qw_site_free(s);
}

/* The tz reader agrees with glibc's localtime_r (which reads the same files) from 1970 to 2100:
 * transitions up to 2037, then the POSIX rule of the footer. Southern hemisphere, negative DST
 * (Dublin), half and quarter hours, no DST. */
static void tz_offsets_match_glibc(void **state)
{
    (void)state;
    static const char *const zones[] = {"America/Vancouver", "Europe/Berlin", "Australia/Sydney",
                                        "Europe/Dublin", "Asia/Kolkata", "Pacific/Chatham",
                                        "America/St_Johns", "America/Sao_Paulo", "Asia/Tokyo",
                                        "Africa/Casablanca", "UTC"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char why[256];
        struct qw_tz *tz = qw_tz_load(NULL, zones[z], why, sizeof why);
        if (!tz) printf("%s: %s\n", zones[z], why);
        assert_non_null(tz);
        setenv("TZ", zones[z], 1);
        tzset();
        int bad = 0;
        for (int64_t t = 0; t < 4102444800; t += 7 * 3600 + 13 * 60 + 7) {
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            if (tm.tm_gmtoff != qw_tz_offset(tz, t) && bad++ < 3)
                printf("%s at %lld: glibc %ld, ours %d\n", zones[z], (long long)t, tm.tm_gmtoff,
                       qw_tz_offset(tz, t));
        }
        assert_int_equal(bad, 0);
        qw_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
}

static void tz_names(void **state)
{
    (void)state;
    char why[256], buf[128];
    assert_null(qw_tz_load(NULL, "../etc/passwd", why, sizeof why));
    assert_null(qw_tz_load(NULL, "zone.tab", why, sizeof why)); /* a file, but not TZif */
    assert_null(qw_tz_load(NULL, "Europe", why, sizeof why));   /* a directory */
    assert_string_equal(qw_tz_suggest(NULL, "America/Vancover", buf, sizeof buf), "America/Vancouver");
    assert_null(qw_tz_suggest(NULL, "Nowhere/At_All_Really", buf, sizeof buf));
    assert_string_equal(qw_tz_name(qw_tz_utc()), "UTC");
    assert_int_equal(qw_tz_offset(qw_tz_utc(), 1800000000), 0);
}

static void calendar_and_rfc3339(void **state)
{
    (void)state;
    for (int64_t d = -800000; d < 800000; d += 13) {
        int64_t y;
        unsigned m, day;
        qw_civil_from_days(d, &y, &m, &day);
        assert_int_equal(qw_civil_days(y, m, day), d);
    }
    assert_int_equal(qw_civil_days(1970, 1, 1), 0);
    assert_int_equal(qw_civil_days(2000, 3, 1), 11017);
    assert_int_equal(qw_civil_weekday(qw_civil_days(2026, 11, 20)), 5); /* a Friday */
    int64_t ns;
    char why[200];
    assert_true(qw_parse_rfc3339("2026-11-20T13:32:00-08:00", &ns, why, sizeof why));
    assert_int_equal(ns, at("2026-11-20T21:32:00Z"));
    assert_true(qw_parse_rfc3339("2026-11-20t21:32:00.5z", &ns, why, sizeof why));
    assert_int_equal(ns % 1000000000, 500000000);
    assert_false(qw_parse_rfc3339("2026-02-29T00:00:00Z", &ns, why, sizeof why));
    assert_string_equal(why, "'2026-02-29T00:00:00Z' is not a valid date and time");
    assert_true(qw_parse_rfc3339("2028-02-29T00:00:00Z", &ns, why, sizeof why));
    assert_false(qw_parse_rfc3339("2026-11-20T21:32:00+1:00", &ns, why, sizeof why));
    assert_false(qw_parse_rfc3339("2026-11-20", &ns, why, sizeof why));
    assert_false(qw_parse_rfc3339("9999-01-01T00:00:00Z", &ns, why, sizeof why));
    uint16_t min;
    assert_true(qw_parse_hhmm("24:00", true, &min));
    assert_int_equal(min, 1440);
    assert_false(qw_parse_hhmm("24:00", false, &min));
    assert_false(qw_parse_hhmm("12:60", false, &min));
}

static void values(void **state)
{
    (void)state;
    struct qw_site_cidr c;
    char why[200];
    assert_true(qw_parse_cidr("2001:db8::/32", &c, why, sizeof why));
    assert_false(c.v4);
    assert_false(qw_parse_cidr("2001:db8::1/64", &c, why, sizeof why));
    assert_string_equal(why, "'2001:db8::1/64' has host bits set (the network is 2001:db8::/64)");
    assert_true(qw_parse_cidr("0.0.0.0/0", &c, why, sizeof why));
    struct qw_addr a = ip("255.255.255.255");
    assert_true(qw_addr_in_cidr(&a, &c));
    a = ip("::1");
    assert_false(qw_addr_in_cidr(&a, &c)); /* IPv4 blocks hold only IPv4 addresses */
    uint8_t mac[6];
    assert_true(qw_parse_mac("00-1A-2b-3c-4d-5e", mac));
    assert_int_equal(mac[1], 0x1a);
    assert_false(qw_parse_mac("00:1A-2b:3c:4d:5e", mac));
    struct qw_site_allow al;
    assert_true(qw_parse_allow("modbus", &al, why, sizeof why));
    assert_int_equal(al.port_lo, 0);
    assert_int_equal(al.port_hi, 65535);
    assert_false(qw_parse_allow("ip", &al, why, sizeof why));
    assert_string_equal(why, "'ip': 'ip' takes an IP protocol number, ip/N with N 0..255");
    assert_true(qw_parse_id("CHG-1042", why, sizeof why));
    assert_false(qw_parse_id("-x", why, sizeof why));
    assert_int_equal(qw_edit_distance("ciders", "cidrs"), 1);
}

/* ---- draft -------------------------------------------------------------------------------- */

/* A missing or foreign store is reported as such. */
static void draft_bad_store(void **state)
{
    (void)state;
    char err[600];
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(qw_site_draft("/nonexistent/x.db", out, err, sizeof err), QW_DRAFT_BAD_STORE);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_mistake_gives_its_message),
        cmocka_unit_test(base_is_valid),
        cmocka_unit_test(reports_every_error_in_order),
        cmocka_unit_test(stops_after_the_error_limit),
        cmocka_unit_test(unreadable_file),
        cmocka_unit_test(anchors_and_aliases),
        cmocka_unit_test_setup_teardown(demo_site_loads, load_demo, free_demo),
        cmocka_unit_test_setup_teardown(zone_of_ip_and_vlan, load_demo, free_demo),
        cmocka_unit_test_setup_teardown(assets_by_ip_mac_name, load_demo, free_demo),
        cmocka_unit_test_setup_teardown(owner_resolution_order, load_demo, free_demo),
        cmocka_unit_test(module_specificity_and_no_owner),
        cmocka_unit_test_setup_teardown(conduit_decisions, load_demo, free_demo),
        cmocka_unit_test(conduit_union_and_transports),
        cmocka_unit_test(operation_classes_of_ops),
        cmocka_unit_test_setup_teardown(change_records_active, load_demo, free_demo),
        cmocka_unit_test_setup_teardown(remote_access_rules, load_demo, free_demo),
        cmocka_unit_test(windows_across_dst),
        cmocka_unit_test(tz_offsets_match_glibc),
        cmocka_unit_test(tz_names),
        cmocka_unit_test(calendar_and_rfc3339),
        cmocka_unit_test(values),
        cmocka_unit_test(draft_bad_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
