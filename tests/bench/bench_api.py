#!/usr/bin/env python3
"""Control API and dashboard benchmarks (issue 12), on the website sample
run by `devwatch up` (copied with host port 0 and a unique project name),
each beside a baseline measured in the same run.

  status   GET /api/status under 100 concurrent connections: `wrk -t2 -c100
           -d10s --latency`, p50 and p99 (wrk's own percentiles). Baselines:
           the same JSON body, saved to a file, served by `busybox httpd` and
           by `python3 -m http.server` (neither keeps a connection alive:
           devwatch is also measured with `Connection: close` beside them),
           and by python's ThreadingHTTPServer speaking HTTP/1.1, which
           does (beside devwatch's keep-alive row). wrk times a request
           from its write, after the connect: a server slow to accept
           hides its queue from p50 (and shows it as p99's 1 s SYN
           retries), so req/s is the fairer figure without keep-alive.
  sse      a save to its "update" event on /api/events: N edits (default
           100) of site/index.html, each timed from write() returning to the
           event's arrival on one open SSE stream. Beside it, for the same
           edit, the time until the container serves the new content (GET
           polled), and devwatch's own first-event-to-applied time
           (total_ms in the event).
  paint    the dashboard's first-contentful-paint in headless Chromium
           (Debian's /usr/bin/chromium through playwright-core from
           tests/browser/node_modules; bench_paint.mjs), N loads (default
           20), each in a fresh browser context. Baselines: a page of one
           line of text from `python3 -m http.server`, Chromium's floor,
           and the dashboard's own files from that server (the page's cost
           apart from devwatch's).

Usage: bench_api.py DEVWATCH SRC_DIR [status] [sse] [paint]
                    [--edits N] [--loads N] [--seconds S]
With no part named, all three run.
"""
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DEVWATCH, SRC = sys.argv[1], sys.argv[2]


def opt(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


EDITS = opt("--edits", 100)
LOADS = opt("--loads", 20)
SECONDS = opt("--seconds", 10)
PARTS = [a for a in sys.argv[3:] if a in ("status", "sse", "paint")] or ["status", "sse", "paint"]
NAME = "dwabench%d" % os.getpid()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what):
    end = time.time() + 30
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("%s exited %d" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s does not accept connections on %d" % (what, port))


def get(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body
    except OSError:
        return b""


# ---- wrk ----

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk(url, extra=()):
    """wrk's p50, p99 (ms), requests/s and non-2xx/socket errors."""
    out = subprocess.run(["wrk", "-t2", "-c100", "-d%ds" % SECONDS, "--latency", *extra, url],
                         capture_output=True, text=True, check=True).stdout

    def ms(label):
        m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % label, out, re.M)
        if m is None:
            raise SystemExit("no %s%% in wrk's output:\n%s" % (label, out))
        return float(m.group(1)) * UNITS[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    nerr = (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0)
    return {"p50": ms("50"), "p99": ms("99"), "rps": rps, "errors": nerr}


# A static file server that keeps connections alive: the standard
# library's, speaking HTTP/1.1 (its default is 1.0, one request a connection).
KEEPALIVE = """
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])),
                                functools.partial(H, directory=sys.argv[1])).serve_forever()
"""


def bench_status(api_port, tmp):
    body = get(api_port, "/api/status")
    json.loads(body)
    static = os.path.join(tmp, "static")
    os.makedirs(static, exist_ok=True)
    with open(os.path.join(static, "status.json"), "wb") as f:
        f.write(body)
    rows = [("devwatch /api/status (keep-alive)", wrk("http://127.0.0.1:%d/api/status" % api_port)),
            ("devwatch /api/status (Connection: close)",
             wrk("http://127.0.0.1:%d/api/status" % api_port, ["-H", "Connection: close"]))]
    for what, argv in (("python3 HTTP/1.1 (keep-alive), the same body as a file",
                        [sys.executable, "-c", KEEPALIVE, static, "{port}"]),
                       ("busybox httpd, the same body as a file",
                        ["busybox", "httpd", "-f", "-p", "127.0.0.1:{port}", "-h", static]),
                       ("python3 -m http.server, the same body as a file",
                        [sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", static, "{port}"])):
        port = free_port()
        p = subprocess.Popen([a.replace("{port}", str(port)) for a in argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, p, argv[0])
            rows.append((what, wrk("http://127.0.0.1:%d/status.json" % port)))
        finally:
            p.terminate()
            p.wait()
    keep, like = rows[0][1], rows[1][1]
    print("GET /api/status, %d-byte body: wrk -t2 -c100 -d%ds --latency" % (len(body), SECONDS))
    for what, r in rows:
        print("  %-56s p50 %7.2f ms  p99 %7.2f ms  %8.0f req/s  errors %d"
              % (what, r["p50"], r["p99"], r["rps"], r["errors"]))
    for mine, label, (what, r) in [(keep, "keep-alive", rows[2])] + [(like, "Connection: close", x) for x in rows[3:]]:
        print("  devwatch (%s) vs %s: p50 %.2fx, p99 %.2fx (below 1 is faster), req/s %.2fx"
              % (label, what.split(",")[0], mine["p50"] / r["p50"], mine["p99"] / r["p99"], mine["rps"] / r["rps"]))


# ---- save to SSE event ----

class Events(threading.Thread):
    """One /api/events?kinds=update stream; each event's id, data and
    arrival time (perf_counter) go to self.seen."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"GET /api/events?kinds=update HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          b"Accept: text/event-stream\r\n\r\n" % port)
        self.seen = []
        self.cond = threading.Condition()

    def run(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            t = time.perf_counter()
            buf += data
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        with self.cond:
                            self.seen.append((t, json.loads(line[6:])))
                            self.cond.notify_all()

    def wait(self, after, pred, timeout=10):
        end = time.time() + timeout
        with self.cond:
            while True:
                for t, ev in self.seen:
                    if ev["id"] > after and pred(ev):
                        return t, ev
                if time.time() > end:
                    return None, None
                self.cond.wait(0.1)


def bench_sse(api_port, web_port, d):
    es = Events(api_port)
    es.start()
    page = os.path.join(d, "site/index.html")
    last = 0
    sse, served, own = [], [], []
    for i in range(EDITS):
        body = ("<p>sse edit %d %f</p>\n" % (i, time.time())).encode()
        with open(page, "wb") as f:
            f.write(body)
        t0 = time.perf_counter()
        while get(web_port, "/index.html") != body:
            if time.perf_counter() - t0 > 10:
                raise SystemExit("edit %d not served within 10 s" % i)
        t_served = time.perf_counter()
        t_ev, ev = es.wait(last, lambda e: "site/index.html" in e["fields"].get("files", []))
        if ev is None:
            raise SystemExit("no update event for edit %d" % i)
        last = ev["id"]
        sse.append((t_ev - t0) * 1000)
        served.append((t_served - t0) * 1000)
        own.append(ev["fields"]["total_ms"])
    es.sock.shutdown(socket.SHUT_RDWR)
    es.join()
    es.sock.close()
    print("a save to its SSE update event, %d edits of site/index.html" % EDITS)
    for what, xs in (("save -> SSE update event", sse), ("save -> served by the container (same edits)", served),
                     ("devwatch's own total_ms (first event -> applied)", own)):
        print("  %-56s p50 %7.1f ms  p95 %7.1f ms  p99 %7.1f ms  mean %7.1f ms"
              % (what, pct(xs, 50), pct(xs, 95), pct(xs, 99), statistics.mean(xs)))
    print("  SSE event vs served: p50 %.2fx, p99 %.2fx" % (pct(sse, 50) / pct(served, 50), pct(sse, 99) / pct(served, 99)))


# ---- first paint ----

def paint(url, *extra):
    out = subprocess.run(["node", os.path.join(SRC, "tests/bench/bench_paint.mjs"), url, str(LOADS), *extra],
                         capture_output=True, text=True, env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    if out.returncode != 0:
        raise SystemExit("bench_paint.mjs failed:\n" + out.stdout + out.stderr)
    return json.loads(out.stdout)


def static_paint(folder):
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", folder, str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, p, "python3 -m http.server")
        return paint("http://127.0.0.1:%d/" % port)
    finally:
        p.terminate()
        p.wait()


def bench_paint(api_port, tmp):
    floor_dir = os.path.join(tmp, "floor")
    os.makedirs(floor_dir, exist_ok=True)
    with open(os.path.join(floor_dir, "index.html"), "w") as f:
        f.write("<!doctype html><title>floor</title><p>one line of text</p>\n")
    # The dashboard's own files from a static server: the page's cost
    # apart from devwatch's (its script finds no /api/status there).
    copy_dir = os.path.join(tmp, "copy")
    assets = os.path.join(SRC, "src/api/dashboard")
    os.makedirs(os.path.join(copy_dir, "dashboard"))
    for name in os.listdir(assets):
        shutil.copy(os.path.join(assets, name),
                    os.path.join(copy_dir, name if name == "index.html" else "dashboard/" + name))
    floor = static_paint(floor_dir)
    copy = static_paint(copy_dir)
    dash = paint("http://127.0.0.1:%d/" % api_port, "--card")
    print("first-contentful-paint in headless Chromium, %d loads each, a fresh context per load" % LOADS)
    for what, xs in (("the dashboard", dash["fcp"]),
                     ("the dashboard's files from python3 -m http.server", copy["fcp"]),
                     ("one line of text (python3 -m http.server)", floor["fcp"])):
        print("  %-56s p50 %7.1f ms  p95 %7.1f ms  min %7.1f ms  max %7.1f ms"
              % (what, pct(xs, 50), pct(xs, 95), min(xs), max(xs)))
    print("  the dashboard's first container card in the DOM (from /api/status): p50 %.1f ms" % pct(dash["card"], 50))
    print("  dashboard vs the floor: p50 %.2fx; vs its own files from python: p50 %.2fx"
          % (pct(dash["fcp"], 50) / pct(floor["fcp"], 50), pct(dash["fcp"], 50) / pct(copy["fcp"], 50)))


def main():
    tmp = tempfile.mkdtemp(prefix="dwabench-")
    d = os.path.join(tmp, "website")
    p = None
    try:
        shutil.copytree(os.path.join(SRC, "samples/website"), d, ignore=shutil.ignore_patterns(".devwatch"))
        conf = os.path.join(d, "devwatch.json")
        text = open(conf).read()
        new = text.replace('"host": 8080', '"host": 0').replace('"name": "website"', '"name": "%s"' % NAME)
        if new.count('"host": 0') != 1 or NAME not in new:
            raise SystemExit("could not move the sample to port 0 and project %s" % NAME)
        with open(conf, "w") as f:
            f.write(new)
        log = open(os.path.join(tmp, "up.log"), "w+")
        p = subprocess.Popen([DEVWATCH, "up", "-f", conf], stdout=log, stderr=subprocess.STDOUT)
        t = time.time()
        while "ready in" not in open(log.name).read():
            if p.poll() is not None or time.time() - t > 300:
                raise SystemExit("up failed:\n" + open(log.name).read())
            time.sleep(0.05)
        api_port = int(open(os.path.join(d, ".devwatch/api")).read().split()[0])
        st = json.loads(get(api_port, "/api/status"))
        web_port = int(st["containers"][0]["replicas"][0]["ports"]["80"])
        print("machine: %d cores, kernel %s, load average %s (before)"
              % (os.cpu_count(), os.uname().release, " ".join("%.2f" % x for x in os.getloadavg())))
        if "status" in PARTS:
            bench_status(api_port, tmp)
        if "sse" in PARTS:
            bench_sse(api_port, web_port, d)
        if "paint" in PARTS:
            bench_paint(api_port, tmp)
        print("load average %s (after)" % " ".join("%.2f" % x for x in os.getloadavg()))
        if p.poll() is not None:
            raise SystemExit("devwatch up exited during the run:\n" + open(log.name).read())
    finally:
        if p is not None:
            p.terminate()
            p.wait()
        subprocess.run(["bash", "-c", "docker ps -aq --filter label=dev.devwatch.project=%s | xargs -r docker rm -f; "
                        "docker images --format '{{.Repository}}:{{.Tag}}' 'devwatch/%s-*' | xargs -r docker rmi" % (NAME, NAME)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
