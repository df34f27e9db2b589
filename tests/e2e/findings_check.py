"""A run's findings read back for the per-rule tests (test_rules_*.sh): the store's, from
`quaywatch alerts --format json`, and the event log's alert records, which must say the same."""
import json


class Findings:
    RECORD_FIELDS = ("owner", "actor", "zone", "peer_zone", "documented", "change_id")

    def __init__(self, alerts_path, events_path):
        self.alerts = json.load(open(alerts_path))
        self.records = [json.loads(line)["alert"] for line in open(events_path)
                        if '"event_type":"alert"' in line]

    def one(self, rule, asset, peer, **want):
        """The one finding of `rule` about (asset, peer), with the fields `want` names, and one
        alert record in the event log that agrees with it; returned."""
        m = [a for a in self.alerts
             if a["rule"] == rule and a["asset"] == asset and a.get("peer") == peer]
        assert len(m) == 1, (rule, asset, peer, m,
                             [(a["asset"], a.get("peer")) for a in self.alerts if a["rule"] == rule])
        a = m[0]
        for k, v in want.items():
            assert a.get(k) == v, (rule, asset, k, a.get(k), v)
        r = [x for x in self.records
             if x["rule"] == rule and x["asset"] == asset and x.get("peer") == peer]
        assert len(r) == 1, ("alert records", rule, asset, r)
        for k in self.RECORD_FIELDS:
            assert r[0].get(k) == a.get(k), ("alert record", rule, k, r[0].get(k), a.get(k))
        assert r[0]["severity_name"] == a["severity"], (rule, r[0])
        return a

    def none_for(self, asset=None, peer=None, rules=None):
        """No finding about asset/peer (either may be left open), of any of `rules`."""
        m = [a for a in self.alerts if (asset is None or a["asset"] == asset) and
             (peer is None or a.get("peer") == peer) and (rules is None or a["rule"] in rules)]
        assert not m, ("unexpected", asset, peer, m)

    def rules_of(self, **fields):
        """The rules of the findings whose fields are as given, sorted."""
        return sorted(a["rule"] for a in self.alerts
                      if all(a.get(k) == v for k, v in fields.items()))
