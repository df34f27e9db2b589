"""Walking JSON trees (tshark's -T json output, event log records), for the differential tests."""


def dicts(o):
    """Every dictionary in a JSON tree, o first, in document order."""
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from dicts(v)
    elif isinstance(o, list):
        for v in o:
            yield from dicts(v)
