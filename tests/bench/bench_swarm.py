#!/usr/bin/env python3
"""Swarm benchmark (issue 14): from a save to the last of 3 replicas
serving it, each on its own node of a real 3-node swarm
(tests/system/swarmlib.sh: docker-in-docker nodes, a registry on node 1).

A busybox httpd service with 3 replicas runs under `devwatch up --swarm`;
each edit rewrites one page, and the time is from write() returning to
the moment all three tasks (polled over HTTP at their nodes' host-mode
ports, one after another, until each serves the new page) have it. Beside
it, devwatch's own figure: from the first inotify event to the last
task's channel answering ("synced ... to 3 of 3 tasks · ..., X ms from
the save"). Also the time to ready (build, push, service create, 3 tasks
caught up) and one rolling rebuild (build, push, service update, 3 new
tasks caught up).

Usage: bench_swarm.py DEVWATCH SRC_DIR [--edits N]
Without SWARM_MANAGER in the environment it brings the swarm up itself
(swarmlib.sh run) and removes it at the end.
"""
import http.client
import os
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DEVWATCH, SRC = sys.argv[1], sys.argv[2]
EDITS = int(sys.argv[sys.argv.index("--edits") + 1]) if "--edits" in sys.argv else 100

if "SWARM_MANAGER" not in os.environ:
    lib = os.path.join(SRC, "tests/system/swarmlib.sh")
    os.execvp("bash", ["bash", lib, "run", sys.executable] + sys.argv)

NAME = "dwbenchswarm%d" % os.getpid()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def get(host, port, path):
    try:
        c = http.client.HTTPConnection(host, port, timeout=2)
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body
    except OSError:
        return b""


def main():
    d = tempfile.mkdtemp(prefix="dwbench-swarm.")
    os.makedirs(os.path.join(d, "site"))
    with open(os.path.join(d, "site/index.html"), "w") as f:
        f.write("start\n")
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write('FROM busybox:1.36\nCOPY site /www\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n')
    with open(os.path.join(d, "devwatch.json"), "w") as f:
        f.write("""{ "name": "%s", "publish": { "registry": "%s/bench" },
  "containers": { "web": { "build": ".", "replicas": 3, "ports": ["0:80"], "stop_grace": "1s",
    "live_update": [ { "sync": { "from": "site", "to": "/www" } } ] } } }
""" % (NAME, os.environ["SWARM_REGISTRY"]))
    env = dict(os.environ, DOCKER_HOST=os.environ["SWARM_MANAGER"])
    t_start = time.perf_counter()
    up = subprocess.Popen([DEVWATCH, "up", "--swarm", "-f", os.path.join(d, "devwatch.json")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    lines = queue.Queue()
    log = []

    def reader():
        for line in up.stdout:
            log.append(line)
            lines.put(line)
    threading.Thread(target=reader, daemon=True).start()

    def wait_line(pattern, secs):
        end = time.time() + secs
        while time.time() < end:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if up.poll() is not None:
                    break
                continue
            m = re.search(pattern, line)
            if m:
                return m
        sys.exit("bench_swarm: no line matching %r; log:\n%s" % (pattern, "".join(log[-30:])))

    def urls():
        last = {}
        for line in log:
            m = re.match(r"web\.(\d+) +task \S+ on (\S+) .* http://([^:/]+):(\d+)/", line)
            if m:
                last[m.group(1)] = (m.group(2), m.group(3), int(m.group(4)))
        return last

    try:
        ready = wait_line(r"ready in (\d+) ms", 300)
        ready_ms = int(ready.group(1))
        tasks = urls()
        nodes = sorted(t[0] for t in tasks.values())
        if len(tasks) != 3 or len(set(nodes)) != 3:
            sys.exit("bench_swarm: expected one task on each of 3 nodes: %r" % tasks)
        page = os.path.join(d, "site/index.html")
        served, reported = [], []
        for i in range(EDITS):
            body = ("<p>swarm edit %d %f</p>\n" % (i, random.random())).encode()
            with open(page, "wb") as f:
                f.write(body)
            t0 = time.perf_counter()
            for host, port in ((t[1], t[2]) for t in tasks.values()):
                while get(host, port, "/index.html") != body:
                    if time.perf_counter() - t0 > 10:
                        sys.exit("bench_swarm: edit %d never reached %s:%d" % (i, host, port))
            served.append((time.perf_counter() - t0) * 1000)
            m = wait_line(r"synced 1 file to 3 of 3 tasks .*, ([\d.]+) ms from the save", 10)
            reported.append(float(m.group(1)))
            time.sleep(0.05 + random.random() * 0.05)  # not in lock-step with the settle
        with open(os.path.join(d, "Dockerfile"), "a") as f:
            f.write("ENV REV=2\n")
        roll = wait_line(r"rolled out \S+ to 3 tasks in ([\d.]+) s", 300)
        roll_s = float(roll.group(1))
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
        subprocess.run(["rm", "-rf", d])
    print("swarm: 3 nodes, 3 replicas, %d edits of one page" % EDITS)
    print("  save to served on all 3 tasks  p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms" %
          (pct(served, 50), pct(served, 95), max(served)))
    print("  devwatch: event to 3rd task applied  p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms" %
          (pct(reported, 50), pct(reported, 95), max(reported)))
    print("  ready (build, push, service, 3 tasks caught up): %d ms" % ready_ms)
    print("  rolling rebuild (build, push, update, 3 new tasks caught up): %.1f s" % roll_s)
    print("  (mean save to served %.1f ms; total %.0f s)" %
          (statistics.mean(served), time.perf_counter() - t_start))


main()
