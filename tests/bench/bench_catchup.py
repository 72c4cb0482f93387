#!/usr/bin/env python3
"""The catch-up sync on a 10,000-file tree with 10 files changed (issue 10).

A registry-image container (busybox:1.36) syncs a 10,000-file folder. After
`devwatch up` has caught it up once, devwatch is killed with -9, 10 files
are edited while it is down, and `up` is started again: it adopts the
running container and catches it up. Timed: the catch-up itself (from its
own "caught up ... N ms" line, listing and comparing the container plus
writing what differs) and `up` from exec to "ready". Side by side, in the
same run, the baseline that copies everything the way an initial sync
without comparison does (`docker cp` of the whole folder into the
container), and the container is checked equal to the tree afterwards.

Usage: bench_catchup.py DEVWATCH [--runs N] [--files N]
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

DEVWATCH = sys.argv[1]
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
FILES = int(sys.argv[sys.argv.index("--files") + 1]) if "--files" in sys.argv else 10000
NAME = "dwbenchcu%d" % os.getpid()
HERE = os.path.dirname(os.path.abspath(__file__))

PROJECT = """{
  "name": "%s",
  "containers": {
    "app": {
      "image": "busybox:1.36", "pull": "never",
      "cmd": ["sh", "-c", "mkdir -p /data && exec tail -f /dev/null"],
      "readiness": {"cmd": ["true"]},
      "live_update": [{"sync": {"from": "data", "to": "/data"}}]
    }
  }
}
"""


def make_tree(root):
    per = 100
    for d in range(FILES // per):
        sub = os.path.join(root, "data", "d%03d" % d)
        os.makedirs(sub)
        for f in range(per):
            with open(os.path.join(sub, "f%03d.txt" % f), "w") as fh:
                fh.write(("%d-%d " % (d, f)) * (50 + f))


def up(proj):
    """Start up; return (process, seconds to ready, catch-up ms)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([DEVWATCH, "up", "-f", proj], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    caught = None
    for line in p.stdout:
        m = re.search(r"caught up: .* · (\d+) ms", line)
        if m:
            caught = int(m.group(1))
        if "ready in" in line:
            return p, time.perf_counter() - t0, caught
    raise SystemExit("up ended before ready")


def equal(cid, root):
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "system", "treecmp.py"),
                        cid, "/data", os.path.join(root, "data")], capture_output=True, text=True)
    return r.returncode == 0


def main():
    tmp = tempfile.mkdtemp(prefix="dwbench-catchup.")
    proj = os.path.join(tmp, "devwatch.json")
    cname = "%s-app-1" % NAME
    catch, ready, copy = [], [], []
    p = None
    try:
        with open(proj, "w") as f:
            f.write(PROJECT % NAME)
        make_tree(tmp)
        p, _, first = up(proj)
        print("first catch-up (writes all %d files): %s ms" % (FILES, first))
        for run in range(RUNS):
            p.send_signal(signal.SIGKILL)
            p.wait()
            for i in range(10):
                with open(os.path.join(tmp, "data", "d%03d" % (i * 7), "f%03d.txt" % run), "a") as fh:
                    fh.write("edited offline %d\n" % run)
            p, t, ms = up(proj)
            if not equal(cname, tmp):
                raise SystemExit("the container differs from the tree after the catch-up")
            catch.append(ms)
            ready.append(t)
            t0 = time.perf_counter()
            subprocess.run(["docker", "cp", os.path.join(tmp, "data") + "/.", cname + ":/data"],
                           check=True)
            copy.append(time.perf_counter() - t0)
        c50, r50, b50 = statistics.median(catch), statistics.median(ready), statistics.median(copy)
        print("catch-up, %d files, 10 changed: median %.0f ms (runs: %s)" %
              (FILES, c50, ", ".join("%d" % c for c in catch)))
        print("up to ready after kill -9 (adopt + catch-up): median %.0f ms" % (r50 * 1000))
        print("baseline, copy everything (docker cp): median %.0f ms" % (b50 * 1000))
        print("ratio: copy everything / catch-up = %.1fx" % (b50 * 1000 / c50))
    finally:
        if p is not None:
            p.send_signal(signal.SIGKILL)
            p.wait()
        subprocess.run(["docker", "rm", "-f", cname], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
