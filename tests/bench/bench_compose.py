#!/usr/bin/env python3
"""Save-to-served under devwatch for a compose project (issue 13): the
website sample written as a compose.yaml (build ., a free host port,
develop.watch: sync ./site -> /www, rebuild on ./httpd.conf), run with
`devwatch up` finding compose.yaml itself. From write() returning to the
first HTTP GET that returns the new content, over N edits (default 200);
p50/p95/p99. Beside it: docker compose watch's fixed 500 ms quiet period
(docker/compose pkg/watch/debounce.go, QuietPeriod), the floor under which
compose cannot serve an edit, whatever its copy costs.

Usage: bench_compose.py DEVWATCH SRC_DIR [--edits N]
"""
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEVWATCH, SRC = sys.argv[1], sys.argv[2]
EDITS = int(sys.argv[sys.argv.index("--edits") + 1]) if "--edits" in sys.argv else 200
NAME = "dwcbench%d" % os.getpid()
COMPOSE_QUIET_MS = 500

COMPOSE = """name: %s
services:
  web:
    build: .
    ports: ["80"]
    develop:
      watch:
        - action: rebuild
          path: ./httpd.conf
        - action: sync
          path: ./site
          target: /www
"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def get(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body
    except OSError:
        return b""


def main():
    tmp = tempfile.mkdtemp(prefix="dwcbench-")
    d = os.path.join(tmp, "website")
    p = None
    try:
        shutil.copytree(os.path.join(SRC, "samples/website"), d,
                        ignore=shutil.ignore_patterns(".devwatch", "devwatch.json"))
        with open(os.path.join(d, "compose.yaml"), "w") as f:
            f.write(COMPOSE % NAME)
        log = open(os.path.join(tmp, "up.log"), "w+")
        p = subprocess.Popen([DEVWATCH, "up"], cwd=d, stdout=log, stderr=subprocess.STDOUT)
        t = time.time()
        while "ready in" not in open(log.name).read():
            if p.poll() is not None or time.time() - t > 300:
                raise SystemExit("up failed:\n" + open(log.name).read())
            time.sleep(0.05)
        out = subprocess.run([DEVWATCH, "status", "--json"], cwd=d, capture_output=True, text=True)
        st = json.loads(out.stdout)
        if not st:
            raise SystemExit("status lists nothing: %s%s\n%s" % (out.stdout, out.stderr, open(log.name).read()))
        port = int(st[0]["ports"]["80"])
        page = os.path.join(d, "site/index.html")
        lat = []
        for i in range(EDITS):
            body = ("<p>compose edit %d %f</p>\n" % (i, random.random())).encode()
            with open(page, "wb") as f:
                f.write(body)
            t0 = time.perf_counter()
            while get(port, "/index.html") != body:
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("edit %d not served within 10 s" % i)
            lat.append((time.perf_counter() - t0) * 1000)
        print("machine: %d cores, kernel %s" % (os.cpu_count(), os.uname().release))
        print("devwatch on compose.yaml  p50 %6.1f ms   p95 %6.1f ms   p99 %6.1f ms   mean %6.1f ms   (%d edits)"
              % (pct(lat, 50), pct(lat, 95), pct(lat, 99), statistics.mean(lat), len(lat)))
        print("compose watch floor       %6d ms quiet period before any copy starts (%.0fx devwatch's p50)"
              % (COMPOSE_QUIET_MS, COMPOSE_QUIET_MS / pct(lat, 50)))
    finally:
        if p is not None:
            p.terminate()
            p.wait()
        subprocess.run(["bash", "-c", "docker ps -aq --filter label=dev.devwatch.project=%s | xargs -r docker rm -f; "
                        "docker images --format '{{.Repository}}:{{.Tag}}' 'devwatch/%s-*' | xargs -r docker rmi" % (NAME, NAME)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
