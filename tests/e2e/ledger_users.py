#!/usr/bin/env python3
"""The remote-access ledger's users against the sessions' own records (stdlib only).

Usage: ledger_users.py QUAYWATCH STORE EVENTS.json

`quaywatch sessions` names, beside each session, the user its client named on the wire. Each
session is joined by flow id to the records of its flow in the same analysis's event log, which
the differential tests compare with tshark, and must carry the user those records name:
  - rdp: the request's cookie user (source rdp_cookie);
  - telnet: the login typed (telnet_login), else the environment's USER (telnet_environment);
  - openvpn: the subject CN of the certificate the client sent in the control channel's TLS
    (client_certificate; the last one when the tunnel renegotiated);
  - every other protocol (ssh, vnc, ...): nobody.
A session whose records name nobody must have no user. Users the ledger takes from outside
the session (the target's own login message, `device_log`; RADIUS accounting) are not predicted
here: the corpus captures this runs on carry neither next to a remote session, so one showing
up is reported as a difference to look at (test_rules_device_changes.sh and
test_ledger_radius.sh check those on captures built for them). The remote-access alerts of the flow
(remote.*) carry the same user in their evidence. Prints "ok: N sessions, K with a user"
or every difference; exit 1 on a difference. Also importable: check() returns the problems.
"""
import collections
import json
import subprocess
import sys


def expected_users(events_path):
    """flow id -> (user, source) that the flow's records name, the last one in file order;
    flow id -> [(rule, evidence user, evidence user source)] of its remote.* alerts."""
    named, alerts = {}, collections.defaultdict(list)
    with open(events_path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            kind, fid = r.get("event_type"), r.get("flow_id")
            if kind == "alert" and r["alert"]["rule"].startswith("remote."):
                ev = r["alert"].get("evidence") or {}
                alerts[fid].append((r["alert"]["rule"], ev.get("user"), ev.get("user_source")))
            elif kind == "rdp":
                user = r["rdp"].get("request", {}).get("user")
                if user:
                    named[fid] = (user, "rdp_cookie")
            elif kind == "telnet":
                t = r["telnet"]
                if t.get("user"):
                    named[fid] = (t["user"], "telnet_login")
                elif t.get("request", {}).get("environment_user"):
                    named[fid] = (t["request"]["environment_user"], "telnet_environment")
            elif kind == "openvpn":
                cert = r["openvpn"].get("tls", {}).get("request", {}).get("certificate", {})
                if cert.get("subject_cn"):
                    named[fid] = (cert["subject_cn"], "client_certificate")
    return named, alerts


def check(qw, store, events_path):
    """(problems, sessions, sessions with a user)"""
    out = subprocess.run([qw, "sessions", "--db", store, "--format", "json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return [f"quaywatch sessions exited {out.returncode}: {out.stderr.strip()}"], 0, 0
    sessions = json.loads(out.stdout)
    named, alerts = expected_users(events_path)
    problems = []
    with_user = 0
    for s in sessions:
        want = named.get(s["flow_id"], (None, None))
        got = (s["user"], s.get("user_source"))
        if got != want:
            problems.append(f"{s['proto']} {s['source']} -> {s['target']} (flow {s['flow_id']}):"
                            f" ledger says {got}, its records {want}")
        with_user += s["user"] is not None
        for rule, user, source in alerts.get(s["flow_id"], []):
            if (user, source) != want:
                problems.append(f"{rule} alert of flow {s['flow_id']}: evidence says "
                                f"{(user, source)}, the records {want}")
    ledgered = {s["flow_id"] for s in sessions}
    counts = collections.Counter(src for fid, (_, src) in named.items() if fid not in ledgered)
    for src, n in sorted(counts.items()):
        problems.append(f"{n} flow(s) naming a user ({src}) are not in the ledger")
    return problems, len(sessions), with_user


def main():
    qw, store, events = sys.argv[1:4]
    problems, n, with_user = check(qw, store, events)
    for p in problems:
        print(f"     ledger: {p}")
    if not problems:
        print(f"ok: ledger users: {n} sessions, {with_user} with a user")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
