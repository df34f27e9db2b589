"""One quaywatch analysis with its event log, for the differential tests written in Python: the
counterpart of lib.sh's analyze_events."""
import os
import subprocess


def analyze_events(qw, capture, tmp):
    """`quaywatch analyze` of `capture` into a fresh store and event log in the directory `tmp`;
    the event log's path, or None, after printing the capture's name and the exit code, when
    quaywatch exits with anything but 0 or 3 (a damaged input is analysed up to the damage)."""
    db, ev = os.path.join(tmp, "x.db"), os.path.join(tmp, "ev.json")
    for f in (db, db + "-wal", db + "-shm", ev):
        if os.path.exists(f):
            os.remove(f)
    r = subprocess.run([qw, "analyze", "--db", db, "--events", ev, capture], capture_output=True)
    if r.returncode not in (0, 3):
        print(f"FAIL {os.path.basename(capture)}: quaywatch analyze exited {r.returncode}")
        return None
    return ev


def analysed(qw, corpus, files, tmp):
    """For each of `files` (paths under the corpus's pcaps directory `corpus`) that the corpus
    holds, in turn: (name, path, event log path or None when the analysis failed, said so).
    A file the corpus lacks is noted and left out."""
    for rel in files:
        path = os.path.join(corpus, rel)
        if not os.path.exists(path):
            print(f"note {rel}: not in the corpus, not compared")
            continue
        yield os.path.basename(path), path, analyze_events(qw, path, tmp)
