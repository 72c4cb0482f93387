#!/usr/bin/env python3
"""`devwatch up` overhead (issue 2): the time up spends before the first
container is ready, beyond the engine's own build time.

With the image already built (so the engine builds nothing), it times
`devwatch up` from exec to its "ready" line (input hashing, the tag check,
create, start, port read-back and the readiness probe), side by side with
the same work done by hand with the docker CLI: `docker run -d -P IMAGE`
then polling the published port until HTTP answers. It also reports the
first, building run: total, and the engine's build time as devwatch saw it
(first to last build line), so total minus build is devwatch's share.

Usage: bench_up.py DEVWATCH SRC_DIR [--runs N]
"""
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEVWATCH, SRC = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
NAME = "dwbenchup%d" % os.getpid()


def answers(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/")
        ok = c.getresponse().status < 400
        c.close()
        return ok
    except OSError:
        return False


def up_once(proj, log):
    t0 = time.perf_counter()
    stamps = []
    p = subprocess.Popen([DEVWATCH, "up", "--no-watch", "-f", proj], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    ready = None
    for line in p.stdout:
        now = time.perf_counter() - t0
        log.append((now, line.rstrip()))
        if " ready " in line or line.rstrip().endswith(" ready"):
            ready = now
            break
        if "Step " in line or "Successfully tagged" in line:
            stamps.append(now)
    p.terminate()
    p.wait()
    return ready, stamps


def by_hand(image):
    t0 = time.perf_counter()
    cid = subprocess.run(["docker", "run", "-d", "-P", image], capture_output=True, text=True,
                         check=True).stdout.strip()
    port = int(subprocess.run(["docker", "port", cid, "80"], capture_output=True, text=True)
               .stdout.splitlines()[0].rsplit(":", 1)[1])
    while not answers(port):
        time.sleep(0.01)
    t = time.perf_counter() - t0
    subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL)
    return t


def main():
    tmp = tempfile.mkdtemp(prefix="dwbench-")
    d = os.path.join(tmp, "website")
    shutil.copytree(os.path.join(SRC, "samples/website"), d, ignore=shutil.ignore_patterns(".devwatch"))
    cfg = open(os.path.join(d, "devwatch.json")).read()
    cfg = cfg.replace('"name": "website"', '"name": "%s"' % NAME)
    cfg = re.sub(r'"host": [0-9]+', '"host": 0', cfg)
    open(os.path.join(d, "devwatch.json"), "w").write(cfg)
    proj = os.path.join(d, "devwatch.json")
    try:
        log = []
        first, stamps = up_once(proj, log)
        build = (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0
        print("first up (builds): ready after %.0f ms, engine build %.0f ms, the rest %.0f ms"
              % (first * 1000, build * 1000, (first - build) * 1000))
        image = [l for _, l in log if "image devwatch/" in l][0].split()[2]
        dw, hand = [], []
        for _ in range(RUNS):
            r, _ = up_once(proj, [])
            dw.append(r)
            hand.append(by_hand(image))
        print("cached image: devwatch up to ready %.0f ms; docker run + poll by hand %.0f ms;"
              " ratio %.2f (median of %d)"
              % (statistics.median(dw) * 1000, statistics.median(hand) * 1000,
                 statistics.median(dw) / statistics.median(hand), RUNS))
    finally:
        subprocess.run(["bash", "-c", "docker ps -aq --filter label=dev.devwatch.project=%s | xargs -r docker rm -f;"
                        " docker images --format '{{.Repository}}:{{.Tag}}' 'devwatch/%s-*' | xargs -r docker rmi" % (NAME, NAME)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
